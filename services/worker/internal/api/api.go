// Package api is the worker's HTTP contract: POST / with {"str": "..."} hashes
// the string, publishes PREFIX + hash on Redis and answers 200 only once the
// publish succeeded.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/hasher"
)

// DefaultMaxBodyBytes is the default request body limit: far above any string
// the frontend sends, small enough that a request cannot pin much memory.
const DefaultMaxBodyBytes = 64 << 10

// Publisher delivers a message to the channel readers. A nil error means it
// was delivered.
type Publisher interface {
	Publish(ctx context.Context, msg string) error
}

// Config configures the handler.
type Config struct {
	Prefix       string    // prepended to every hash; "" in primary, "bursty-" in burst
	Publisher    Publisher // where hashes go
	MaxBodyBytes int64     // larger bodies get 413
}

// Request is the body of POST /.
type Request struct {
	Str *string `json:"str"`
}

// Response is the body of a 200 answer: the exact message that was published.
type Response struct {
	Message string `json:"message"`
}

type handler struct {
	cfg       Config
	published prometheus.Counter
	failed    prometheus.Counter
	latency   prometheus.Histogram
}

// Register adds the worker's routes to e and its metrics to reg.
func Register(e *echo.Echo, reg prometheus.Registerer, cfg Config) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &handler{
		cfg: cfg,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_hashes_published_total", Help: "Hashes published on Redis.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "worker_publish_errors_total", Help: "Publishes that failed; each was answered 503.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "worker_publish_duration_seconds",
			Help:    "Time for Redis to acknowledge a PUBLISH.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	reg.MustRegister(h.published, h.failed, h.latency)
	e.POST("/", h.hash)
	e.GET("/", h.info)
}

func (h *handler) info(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"service": "worker", "prefix": h.cfg.Prefix})
}

func (h *handler) hash(c echo.Context) error {
	str, err := h.decode(c.Request())
	if err != nil {
		return err
	}
	msg := hashmsg.Format(h.cfg.Prefix, hasher.Sum(str))

	start := time.Now()
	err = h.cfg.Publisher.Publish(c.Request().Context(), msg)
	h.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		h.failed.Inc()
		return echo.NewHTTPError(http.StatusServiceUnavailable, "redis unavailable: hash not published").SetInternal(err)
	}
	h.published.Inc()
	return c.JSON(http.StatusOK, Response{Message: msg})
}

// decode reads {"str": "..."} and nothing else, enforcing the body limit.
func (h *handler) decode(r *http.Request) (string, error) {
	tooLarge := echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body is larger than %d bytes", h.cfg.MaxBodyBytes))
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return "", tooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, h.cfg.MaxBodyBytes))
	var req Request
	err := dec.Decode(&req)
	if err == nil {
		// Exactly one JSON value: anything after it is malformed input.
		if extra := dec.Decode(&struct{}{}); extra != io.EOF {
			err = errors.Join(errors.New("unexpected data after the JSON object"), extra)
		}
	}
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return "", tooLarge
	case errors.As(err, &typeErr) && typeErr.Field == "str":
		return "", badRequest(`"str" must be a string`)
	case err != nil:
		return "", badRequest(`request body must be the JSON object {"str": "<text>"}`)
	case req.Str == nil:
		return "", badRequest(`"str" is required`)
	}
	return *req.Str, nil
}

func badRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }
