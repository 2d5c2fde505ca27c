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

// Classify reduces a measurement's error to its class, ErrNoData or
// ErrFailed, for what the status, the page and the events say: the full
// error names internal addresses and belongs in the log.
func Classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoData):
		return ErrNoData
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
}

// New returns the source cfg names and, when cfg says how to tell the
// destinations apart, the source of their traffic (else nil).
func New(cfg Config) (Source, DestinationSource, error) {
	switch cfg.Kind {
	case KindPrometheus:
		src, err := NewPrometheus(cfg.PrometheusURL, cfg.Query, cfg.Timeout)
		if err != nil || cfg.DestinationsQuery == "" {
			return src, nil, err
		}
		dst, err := NewPrometheusDestinations(cfg.PrometheusURL, cfg.DestinationsQuery, cfg.Timeout)
		return src, dst, err
	case KindScrape:
		src, err := NewScrape(cfg.ScrapeURL, cfg.ScrapeMetric, cfg.ScrapeLabels, cfg.ScrapeWindow, cfg.Timeout)
		if err != nil || cfg.ScrapeDestinationLabel == "" {
			return src, nil, err
		}
		// The same scrapes measure both: call Rate before Destinations.
		src, err = src.WithDestinations(cfg.ScrapeDestinationLabel, cfg.ScrapeCodeLabel)
		return src, src, err
	}
	return nil, nil, envconf.OneOf(&cfg.Kind, string(cfg.Kind), Kinds)
}
