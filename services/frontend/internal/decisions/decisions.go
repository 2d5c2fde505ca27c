// Package decisions follows one BurstPolicy as the burster serves it (GET
// /api/status?policy=NAME) so that the page can show the current split and
// the burster's recent decisions. It works the same against the burster
// Service in a cluster and against the local demo's burster. A burster it cannot read is not silence: the failure
// is classified once, here, counted, logged when it starts, changes or ends,
// and said on the page.
package decisions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

// maxStatusBytes bounds one status response.
const maxStatusBytes = 256 << 10

// repeatEvery is how often a failure that goes on is logged again: the
// first failure, a change of kind and the recovery are logged at once, so
// a burster down for an hour costs 120 lines, not 3,600.
const repeatEvery = 30 * time.Second

// Reason classifies a failed poll: the metric's label values, a fixed set.
type Reason string

// The reasons a poll fails.
const (
	Unreachable Reason = "unreachable" // no answer: not started yet, down, or too slow
	BadStatus   Reason = "status"      // answered with another code than 200
	Undecodable Reason = "decode"      // answered 200 with something that is not its status
)

var reasons = []Reason{Unreachable, BadStatus, Undecodable}

// leaderFresh is how long the leader's last answer is preferred to a
// standby's: a standby relays the status the leader last wrote, which
// may be seconds older, so the page flips between them only when the
// leader has not answered for a while.
const leaderFresh = 5 * time.Second

// Config configures a Poller.
type Config struct {
	URL      string        // the burster's base URL
	Policy   string        // the BurstPolicy followed; "": the burster's only one
	Interval time.Duration // between polls; also each poll's timeout
	OnChange func()        // called when the page should be told at once
	Log      *slog.Logger
	Metrics  prometheus.Registerer
}

// Poller fetches the burster's status every interval.
type Poller struct {
	url      string
	interval time.Duration
	client   *http.Client
	onChange func()
	log      *slog.Logger
	failures *prometheus.CounterVec

	mu         sync.Mutex
	latest     *v1alpha1.BurstPolicy // nil when the last poll failed
	problem    string                // what the page says when latest is nil
	fromLeader time.Time             // when latest last came from the leader

	lastReason Reason          // the loop's: of the failure going on, "" when none
	repeat     telemetry.Limit // the same failure is logged again at most every repeatEvery
}

// NewPoller returns a poller of the burster at cfg.URL.
func NewPoller(cfg Config) *Poller {
	u := strings.TrimSuffix(cfg.URL, "/") + bursterapi.StatusPath
	if cfg.Policy != "" {
		u += "?" + url.Values{bursterapi.PolicyParam: {cfg.Policy}}.Encode()
	}
	p := &Poller{
		url:      u,
		interval: cfg.Interval,
		client:   &http.Client{Timeout: cfg.Interval},
		onChange: cfg.OnChange,
		log:      cfg.Log,
		repeat:   telemetry.Limit{Every: repeatEvery},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "frontend_burster_poll_failures_total",
			Help: "Polls of the burster's status that failed, by reason: unreachable, status (not 200) or decode.",
		}, []string{"reason"}),
	}
	cfg.Metrics.MustRegister(p.failures)
	for _, r := range reasons {
		p.failures.WithLabelValues(string(r))
	}
	return p
}

// Latest is the policy as the burster last served it, its status
// preferably the leader's or, when the last poll failed, nil and what the
// page should say about it.
func (p *Poller) Latest() (*v1alpha1.BurstPolicy, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latest, p.problem
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		s, leader, err := p.fetch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.fail(err)
		} else {
			p.recovered()
			p.take(s, leader, time.Now())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// pollError is a failed poll: its reason, and the sentence for the page.
type pollError struct {
	reason Reason
	page   string
	err    error
}

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

// take keeps what a replica answered: the leader's always; a standby's
// (the status as the leader last wrote it) only once the leader has not
// answered for leaderFresh, or when nothing better is known.
func (p *Poller) take(s *v1alpha1.BurstPolicy, leader bool, now time.Time) {
	p.mu.Lock()
	prev := p.latest
	if !leader && prev != nil && now.Sub(p.fromLeader) < leaderFresh {
		p.mu.Unlock()
		return
	}
	p.latest, p.problem = s, ""
	if leader {
		p.fromLeader = now
	}
	p.mu.Unlock()
	if changed(prev, s) {
		p.onChange()
	}
}

func (p *Poller) fetch(ctx context.Context) (*v1alpha1.BurstPolicy, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, false, &pollError{Unreachable, "the burster's address is not usable", err}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, false, &pollError{Unreachable, "the burster does not answer (still starting, or down)", err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, &pollError{BadStatus, "the burster answered " + resp.Status, fmt.Errorf("GET %s: %s", p.url, resp.Status)}
	}
	var s v1alpha1.BurstPolicy
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatusBytes)).Decode(&s); err != nil {
		return nil, false, &pollError{Undecodable, "the burster's answer is not a BurstPolicy (another version?)", fmt.Errorf("reading %s: %w", p.url, err)}
	}
	if s.APIVersion != v1alpha1.GroupVersion.String() || s.Kind != v1alpha1.Kind {
		return nil, false, &pollError{Undecodable, "the burster serves " + s.Kind + " " + s.APIVersion + ", this frontend reads " +
			v1alpha1.Kind + " " + v1alpha1.GroupVersion.String(), fmt.Errorf("reading %s: apiVersion %q kind %q", p.url, s.APIVersion, s.Kind)}
	}
	return &s, resp.Header.Get(bursterapi.LeaderHeader) == "true", nil
}

// fail records a failed poll: counted, said on the page, logged when it
// starts or changes kind and then every repeatEvery while it goes on.
func (p *Poller) fail(err error) {
	var pe *pollError
	if !errors.As(err, &pe) {
		pe = &pollError{Unreachable, "the burster does not answer", err}
	}
	p.failures.WithLabelValues(string(pe.reason)).Inc()
	p.mu.Lock()
	prev, prevProblem := p.latest, p.problem
	p.latest, p.problem = nil, pe.page
	p.mu.Unlock()
	if prev != nil || prevProblem != pe.page {
		p.onChange()
	}
	changedKind := pe.reason != p.lastReason
	p.lastReason = pe.reason
	if ok, held := p.repeat.Allow(); ok || changedKind {
		p.log.Warn("the burster's status cannot be read", "reason", pe.reason, "heldBack", held, "err", err)
	}
}

// recovered logs the end of a failure.
func (p *Poller) recovered() {
	if p.lastReason == "" {
		return
	}
	p.log.Info("the burster's status can be read again")
	p.lastReason = ""
}

// changed reports a difference the page should show at once: the split,
// or a new change.
func changed(prev, cur *v1alpha1.BurstPolicy) bool {
	if prev == nil {
		return true
	}
	p, c := prev.Status, cur.Status
	if p.Split != c.Split || len(p.Changes) != len(c.Changes) {
		return true
	}
	return len(c.Changes) > 0 && !c.Changes[len(c.Changes)-1].Time.Equal(&p.Changes[len(p.Changes)-1].Time)
}
