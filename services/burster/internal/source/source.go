// Package source measures the worker's request rate. Every source tells
// apart three outcomes: a value, no data (ErrNoData: nothing measured yet, or
// the series is absent), and an error (the source could not be asked). The
// burster never reads either of the last two as zero load.
package source

import (
	"context"
	"errors"
	"time"

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
		if out.Latency, err = NewPrometheusLatency(cfg.PrometheusURL, cfg.LatencyQuery, cfg.LatencyWindow, cfg.RecentWindow, cfg.Objective, cfg.Timeout); err != nil {
			return Sources{}, err
		}
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
	if cfg.ScrapeDestinationLabel != "" {
		if src, err = src.WithDestinations(cfg.ScrapeDestinationLabel, cfg.ScrapeCodeLabel); err != nil {
			return Sources{}, err
		}
		out.Destinations = src
	}
	if cfg.LatencyMetric != "" {
		if src, err = src.WithLatency(cfg.LatencyMetric, cfg.LatencyWindow, cfg.RecentWindow, cfg.Objective); err != nil {
			return Sources{}, err
		}
		src.target = cfg.Target
		out.Latency, out.Budget = src, src
	}
	return out, nil
}
