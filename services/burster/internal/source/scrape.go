package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/policy"
)

// maxScrapeBytes bounds one scrape; an exporter's page is far smaller.
const maxScrapeBytes = 16 << 20

// Scrape reads a counter from a Prometheus-format endpoint and computes its
// rate itself, over a sliding window, the way rate() does in Prometheus. It
// needs no Prometheus server: the local demo uses it. Told which labels name
// the destination and the response code (WithDestinations), it also measures
// each destination's traffic from the same scrapes.
type Scrape struct {
	url       string
	metric    string
	labels    map[string]string
	window    time.Duration
	client    *http.Client
	now       func() time.Time
	destLabel string // "": destinations not measured
	codeLabel string
	latency   string        // the latency histogram; "": latency not measured
	sloWindow time.Duration // the window of the latency
	recent    time.Duration // the recent window of the latency; 0: not measured
	objective float64       // ms: the bucket counted good
	target    float64       // the share that must be good, for the budget
	names     []string      // the destinations the latency is counted for, in spill order

	mu      sync.Mutex
	samples []sample // oldest first, spanning at most the longer window
	failed  error    // the last scrape's error; nil after a good one
}

// sample is one scrape: the selected series' sum, and per destination
// (primary, burst) the requests and the failed ones.
type sample struct {
	at    time.Time
	value float64
	dest  counts
	lat   latCounts // per destination from the latency histogram
	// bucket: a latency series had the objective's bucket; seen: any
	// latency series of ours was there.
	bucket, seen bool
}

// counts are per-destination counter values: [destination][all, failed].
type counts [2][2]float64

// latCounts are per-destination latency counts, in spill order:
// [destination][all, good, served].
type latCounts [split.Max][3]float64

// WithDestinations makes s measure each destination's traffic from the
// series it scrapes: dest is the label whose value is primary or burst, code
// the label holding the response code.
func (s *Scrape) WithDestinations(dest, code string) (*Scrape, error) {
	if dest == "" || code == "" || dest == code {
		return nil, fmt.Errorf("the destination and code labels must be set and different, got %q and %q", dest, code)
	}
	s.destLabel, s.codeLabel = dest, code
	return s, nil
}

// WithLatency makes s measure each destination's latency from the histogram
// metric (labelled by the destination and code labels of WithDestinations,
// which must come first): over window, and over recent (0: not measured),
// its requests, those answered without failing, and those of them within
// the bucket whose upper bound is objective (ms).
func (s *Scrape) WithLatency(metric string, window, recent time.Duration, objective float64) (*Scrape, error) {
	switch {
	case s.destLabel == "":
		return nil, errors.New("the latency needs the destination and code labels")
	case metric == "":
		return nil, errors.New("the latency needs a histogram metric")
	case window <= 0:
		return nil, fmt.Errorf("the latency window must be positive, got %s", window)
	}
	s.latency, s.sloWindow, s.recent, s.objective = metric, window, recent, objective
	return s, nil
}

// NewScrape returns a source for the sum of metric's series whose labels
// include every pair in labels ("k=v,k2=v2"; empty for all series), over
// window.
func NewScrape(url, metric, labels string, window, timeout time.Duration) (*Scrape, error) {
	if metric == "" {
		return nil, fmt.Errorf("scrape source needs a metric name")
	}
	if window <= 0 {
		return nil, fmt.Errorf("scrape window must be positive, got %s", window)
	}
	m, err := ParseLabels(labels)
	if err != nil {
		return nil, err
	}
	return &Scrape{url: url, metric: metric, labels: m, window: window, client: &http.Client{Timeout: timeout}, now: time.Now,
		names: []string{Primary, Burst}}, nil
}

// ParseLabels reads label matchers written name=value,... (SCRAPE_LABELS).
func ParseLabels(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("label matcher %q is not name=value", pair)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

// Rate scrapes once and returns the counter's rate over the window. The
// first scrape only records a sample: it is ErrNoData, as is an absent
// counter. A counter that went down was reset; its samples start over.
func (s *Scrape) Rate(ctx context.Context) (float64, error) {
	cur, err := s.scrape(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = err
	if err != nil {
		return 0, err
	}
	now := s.now()
	cur.at = now

	if n := len(s.samples); n > 0 && s.samples[n-1].resetBy(cur) {
		s.samples = s.samples[:0]
	}
	s.samples = append(s.samples, cur)
	// Keep the newest sample at or before the longer window's start, so
	// each rate spans its whole window once there is enough history.
	cut := s.start(max(s.window, s.sloWindow))
	if cut > 0 {
		s.samples = append(s.samples[:0], s.samples[cut:]...)
	}
	first, last, dt, err := s.span(s.window)
	if err != nil {
		return 0, err
	}
	return (last.value - first.value) / dt, nil
}

// start is the index of the newest sample at or before window ago (0 when
// none is that old).
func (s *Scrape) start(window time.Duration) int {
	newest := s.samples[len(s.samples)-1].at
	cut := sort.Search(len(s.samples), func(i int) bool { return s.samples[i].at.After(newest.Add(-window)) })
	return max(cut-1, 0)
}

// span is the first and last sample of window, and the seconds between
// them; ErrNoData until two samples are apart.
func (s *Scrape) span(window time.Duration) (first, last sample, dt float64, err error) {
	if len(s.samples) < 2 {
		return first, last, 0, fmt.Errorf("%w: first sample of %s recorded", ErrNoData, s.metric)
	}
	first, last = s.samples[s.start(window)], s.samples[len(s.samples)-1]
	if dt = last.at.Sub(first.at).Seconds(); dt <= 0 {
		return first, last, 0, fmt.Errorf("%w: samples too close together", ErrNoData)
	}
	return first, last, dt, nil
}

// resetBy reports whether any counter went down from s to next: a restart
// of the exporter, after which the samples start over.
func (s sample) resetBy(next sample) bool {
	if next.value < s.value {
		return true
	}
	for d := range s.dest {
		for k := range s.dest[d] {
			if next.dest[d][k] < s.dest[d][k] {
				return true
			}
		}
	}
	for d := range s.lat {
		for k := range s.lat[d] {
			if next.lat[d][k] < s.lat[d][k] {
				return true
			}
		}
	}
	return false
}

// Destinations is each destination's traffic over the window of the
// samples Rate recorded: it scrapes nothing itself, so call it after Rate.
// After a failed scrape it fails too: the samples it holds are of a window
// that has passed, not the current traffic.
func (s *Scrape) Destinations(context.Context) (Destinations, error) {
	if s.destLabel == "" {
		return Destinations{}, fmt.Errorf("%w: no destination label configured", ErrNoData)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return Destinations{}, fmt.Errorf("the last scrape failed: %w", s.failed)
	}
	first, last, dt, err := s.span(s.window)
	if err != nil {
		return Destinations{}, err
	}
	rate := func(d, k int) float64 { return (last.dest[d][k] - first.dest[d][k]) / dt }
	return Destinations{
		Primary: Traffic{RPS: rate(0, 0), FailedRPS: rate(0, 1)},
		Burst:   Traffic{RPS: rate(1, 0), FailedRPS: rate(1, 1)},
	}, nil
}

// Windows is each destination's requests, the good and the served ones,
// over the SLO window of the samples Rate recorded, and over the recent
// window: like Destinations, call it after Rate. Until the samples span the
// whole window it is ErrNoData: a shorter span would be judged against the
// full window's minimum of requests. Each window says the time its samples
// really span, longer than the window after a failed scrape.
func (s *Scrape) Windows(context.Context) (policy.SLIs, error) {
	if s.latency == "" {
		return policy.SLIs{}, fmt.Errorf("%w: no latency histogram configured", ErrNoData)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return policy.SLIs{}, fmt.Errorf("the last scrape failed: %w", s.failed)
	}
	first, last, _, err := s.span(s.sloWindow)
	if err != nil {
		return policy.SLIs{}, err
	}
	switch {
	case !last.seen:
		return policy.SLIs{}, fmt.Errorf("%w: %s has no series of primary or burst", ErrNoData, s.latency)
	case !last.bucket:
		return policy.SLIs{}, fmt.Errorf("%w: %s has no bucket le=%g", ErrNoBucket, s.latency, s.objective)
	case last.at.Sub(first.at) < s.sloWindow-s.sloWindow/10:
		return policy.SLIs{}, fmt.Errorf("%w: the samples span %s of the %s window", ErrNoData, last.at.Sub(first.at).Round(time.Millisecond), s.sloWindow)
	}
	out := windowsBetween(first, last, len(s.names))
	if s.recent > 0 {
		from, _, _, _ := s.span(s.recent)
		recent := windowsBetween(from, last, len(s.names))
		out.Recent = &recent
	}
	return out, nil
}

// windowsBetween is the counts of each of n destinations from first to
// last.
func windowsBetween(first, last sample, n int) policy.SLIs {
	sec := last.at.Sub(first.at).Seconds()
	out := policy.SLIs{}
	if n > 2 {
		out.Further = make([]policy.Window, n-2)
	}
	for d := range n {
		*out.At(d) = policy.Window{Requests: last.lat[d][0] - first.lat[d][0], Good: last.lat[d][1] - first.lat[d][1],
			Served: last.lat[d][2] - first.lat[d][2], Seconds: sec}
	}
	return out
}

// Budget is each destination's error budget since the counters started
// (the local mesh's: since the demo started), and the burn over the SLO
// window, from the samples Rate recorded.
func (s *Scrape) Budget(ctx context.Context) (Budget, error) {
	w, err := s.Windows(ctx)
	if err != nil {
		return Budget{}, err
	}
	s.mu.Lock()
	last := s.samples[len(s.samples)-1]
	s.mu.Unlock()
	out := Budget{Period: SinceStart}
	for i, dst := range []*BudgetOf{&out.Primary, &out.Burst} {
		win := [2]policy.Window{w.Primary, w.Burst}[i]
		if win.Requests > 0 {
			dst.Burns = []Burn{{Window: model.Duration(s.sloWindow).String(), Rate: burnOf(win.Requests, win.Good, s.target)}}
		}
		if total := last.lat[i][0]; total > 0 {
			left := 1 - burnOf(total, last.lat[i][1], s.target)
			dst.Left = &left
		}
	}
	return out, nil
}

// scrape returns the current sum of the selected series and, when
// configured, each destination's counts.
func (s *Scrape) scrape(ctx context.Context) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return sample{}, fmt.Errorf("building scrape request: %w", err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.client.Do(req)
	if err != nil {
		return sample{}, fmt.Errorf("scraping %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sample{}, fmt.Errorf("scraping %s: %s", s.url, resp.Status)
	}
	var out sample
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, maxScrapeBytes))
	if err != nil {
		return sample{}, fmt.Errorf("parsing scrape of %s: %w", s.url, err)
	}
	if s.latency != "" {
		if h, ok := families[s.latency]; ok {
			s.countLatency(&out, h)
		}
	}
	fam, ok := families[s.metric]
	if !ok {
		return sample{}, fmt.Errorf("%w: %s has no metric %s", ErrNoData, s.url, s.metric)
	}
	var matched bool
	for _, m := range fam.GetMetric() {
		if !s.matches(m.GetLabel()) {
			continue
		}
		matched = true
		var v float64
		switch {
		case m.GetCounter() != nil:
			v = m.GetCounter().GetValue()
		case m.GetUntyped() != nil:
			v = m.GetUntyped().GetValue()
		default:
			return sample{}, fmt.Errorf("%s is a %s, want a counter", s.metric, fam.GetType())
		}
		out.value += v
		s.count(&out.dest, m.GetLabel(), v)
	}
	if !matched {
		return sample{}, fmt.Errorf("%w: no series of %s matches %v", ErrNoData, s.metric, s.labels)
	}
	return out, nil
}

// countLatency adds the histogram's series of primary and burst to out:
// each series' requests and, unless it is a 5xx, its count within the
// objective's bucket.
func (s *Scrape) countLatency(out *sample, fam *dto.MetricFamily) {
	for _, m := range fam.GetMetric() {
		h := m.GetHistogram()
		dest, code := s.destAndCode(m.GetLabel())
		i := slices.Index(s.names, dest)
		if h == nil || i < 0 {
			continue
		}
		out.seen = true
		out.lat[i][0] += float64(h.GetSampleCount())
		if !failed(code) {
			out.lat[i][2] += float64(h.GetSampleCount())
		}
		for _, b := range h.GetBucket() {
			if b.GetUpperBound() == s.objective {
				out.bucket = true
				if !failed(code) {
					out.lat[i][1] += float64(b.GetCumulativeCount())
				}
			}
		}
	}
}

// destAndCode reads the destination and code labels.
func (s *Scrape) destAndCode(labels []*dto.LabelPair) (dest, code string) {
	for _, l := range labels {
		switch l.GetName() {
		case s.destLabel:
			dest = l.GetValue()
		case s.codeLabel:
			code = l.GetValue()
		}
	}
	return dest, code
}

// count adds a series' value to its destination's counts.
func (s *Scrape) count(c *counts, labels []*dto.LabelPair, v float64) {
	if s.destLabel == "" {
		return
	}
	dest, code := s.destAndCode(labels)
	i := index(dest)
	if i < 0 {
		return
	}
	c[i][0] += v
	if failed(code) {
		c[i][1] += v
	}
}

func (s *Scrape) matches(labels []*dto.LabelPair) bool {
	found := 0
	for _, l := range labels {
		if v, ok := s.labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(s.labels)
}
