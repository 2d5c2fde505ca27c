// Package source measures the worker's request rate. Every source tells
// apart three outcomes: a value, no data (ErrNoData: nothing measured yet, or
// the series is absent), and an error (the source could not be asked). The
// burster never reads either of the last two as zero load.
package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/envconf"
)

// ErrNoData means the source answered but has no value to give.
var ErrNoData = errors.New("no data")

// ErrFailed is the class of every other failed measurement (unreachable,
// refused, timed out, a bad query).
var ErrFailed = errors.New("the rate query failed")

// Classify reduces a measurement's error to its class, ErrNoData,
// ErrNoBucket or ErrFailed, for what the status, the page and the events say: the full
// error names internal addresses and belongs in the log.
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoData):
		return ErrNoData
	case errors.Is(err, ErrNoBucket):
		return ErrNoBucket
	}
	return ErrFailed
}

// Source returns the current request rate in requests per second.
type Source interface {
	Rate(ctx context.Context) (float64, error)
}

// Kind names a source.
type Kind string

// The sources.
const (
	KindPrometheus Kind = "prometheus" // a PromQL query (the cluster)
	KindScrape     Kind = "scrape"     // a counter scraped directly (the local demo)
)

// Kinds lists every source.
var Kinds = []Kind{KindPrometheus, KindScrape}

// UnmarshalText accepts only the names in Kinds.
func (k *Kind) UnmarshalText(b []byte) error { return envconf.OneOf(k, string(b), Kinds) }

// Config selects and configures a source.
type Config struct {
	Kind    Kind
	Timeout time.Duration // per query or scrape

	PrometheusURL, Query string // KindPrometheus
	DestinationsQuery    string // KindPrometheus; "": destinations not measured

	ScrapeURL, ScrapeMetric, ScrapeLabels   string        // KindScrape
	ScrapeWindow                            time.Duration // KindScrape
	ScrapeDestinationLabel, ScrapeCodeLabel string        // KindScrape; "": destinations not measured

	// The latency, for the slo strategy: measured when LatencyQuery
	// (KindPrometheus) or LatencyMetric (KindScrape, a histogram) is set.
	LatencyQuery  string        // KindPrometheus; "$window" is replaced by LatencyWindow
	LatencyMetric string        // KindScrape; needs the destination and code labels
	LatencyWindow time.Duration // the SLO window
	RecentWindow  time.Duration // a few scrapes: the window the slo strategy sees queueing in first
	Objective     float64       // ms: the bucket whose requests are within the objective
	Target        float64       // the share that must be good: the error budget is the rest
	BudgetQuery   string        // KindPrometheus, with LatencyQuery: burn rates by cluster and window

	SecurityQuery string // KindPrometheus; "": the connections' security not measured

	// Names are the destinations in spill order, as the latency's
	// destination label names them; nil: primary and burst. Beyond two,
	// the latency is measured for each, and the destinations' traffic and
	// error budget (primary and burst alone) are not.
	Names []string
}

// Sources are the measurements a Config sets up: the rate always, the
// destinations' traffic and the latency when configured (else nil).
type Sources struct {
	Rate         Source
	Destinations DestinationSource
	Latency      Latency
	Budget       BudgetSource
	Security     SecuritySource
}

// New returns the sources cfg names. With the scrape source, one scrape per
// Rate measures them all: call Rate before Destinations and Windows.
func New(cfg Config) (Sources, error) {
	switch cfg.Kind {
	case KindPrometheus:
		return newPrometheusSources(cfg)
	case KindScrape:
		return newScrapeSources(cfg)
	}
	return Sources{}, envconf.OneOf(&cfg.Kind, string(cfg.Kind), Kinds)
}

func newPrometheusSources(cfg Config) (Sources, error) {
	var out Sources
	var err error
	if out.Rate, err = NewPrometheus(cfg.PrometheusURL, cfg.Query, cfg.Timeout); err != nil {
		return Sources{}, err
	}
	if cfg.DestinationsQuery != "" {
		if out.Destinations, err = NewPrometheusDestinations(cfg.PrometheusURL, cfg.DestinationsQuery, cfg.Timeout); err != nil {
			return Sources{}, err
		}
	}
	if cfg.LatencyQuery != "" {
		lat, err := NewPrometheusLatency(cfg.PrometheusURL, cfg.LatencyQuery, cfg.LatencyWindow, cfg.RecentWindow, cfg.Objective, cfg.Timeout)
		if err != nil {
			return Sources{}, err
		}
		if lat.names, err = names(cfg.Names); err != nil {
			return Sources{}, err
		}
		out.Latency = lat
		if cfg.BudgetQuery != "" {
			if out.Budget, err = NewPrometheusBudget(cfg.PrometheusURL, cfg.BudgetQuery, cfg.Timeout); err != nil {
				return Sources{}, err
			}
		}
	}
	if cfg.SecurityQuery != "" {
		if out.Security, err = NewPrometheusSecurity(cfg.PrometheusURL, cfg.SecurityQuery, cfg.Timeout); err != nil {
			return Sources{}, err
		}
	}
	return out, nil
}

func newScrapeSources(cfg Config) (Sources, error) {
	src, err := NewScrape(cfg.ScrapeURL, cfg.ScrapeMetric, cfg.ScrapeLabels, cfg.ScrapeWindow, cfg.Timeout)
	if err != nil {
		return Sources{}, err
	}
	out := Sources{Rate: src}
	if src.names, err = names(cfg.Names); err != nil {
		return Sources{}, err
	}
	two := len(src.names) == 2
	if cfg.ScrapeDestinationLabel != "" {
		if src, err = src.WithDestinations(cfg.ScrapeDestinationLabel, cfg.ScrapeCodeLabel); err != nil {
			return Sources{}, err
		}
		if two {
			out.Destinations = src
		}
	}
	if cfg.LatencyMetric != "" {
		if src, err = src.WithLatency(cfg.LatencyMetric, cfg.LatencyWindow, cfg.RecentWindow, cfg.Objective); err != nil {
			return Sources{}, err
		}
		src.target = cfg.Target
		out.Latency = src
		if two {
			out.Budget = src
		}
	}
	return out, nil
}

// names are the destinations the latency is measured for: nil is primary
// and burst, which must come first.
func names(ns []string) ([]string, error) {
	if ns == nil {
		return []string{Primary, Burst}, nil
	}
	if len(ns) < 2 || len(ns) > split.Max || ns[0] != Primary || ns[1] != Burst {
		return nil, fmt.Errorf("the destinations %v: want %s, %s and up to %d more, in that order", ns, Primary, Burst, split.Max-2)
	}
	return ns, nil
}
