// Package api is the worker's HTTP contract: POST / with {"str": "..."} hashes
// the string, publishes PREFIX + hash on Redis and answers 200 only once the
// publish succeeded.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/hasher"
	"github.com/cloudburst-demo/cloudburst/services/worker/internal/publisher"
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
	cfg      Config
	tooLarge error
	// answerHead starts every 200's body: {"message": and the prefix as a
	// JSON string without its closing quote. The hash after it is base64,
	// which JSON needs no escaping for.
	answerHead string
	published  prometheus.Counter
	failed     prometheus.Counter
	latency    prometheus.Histogram
}

// Register adds the worker's routes to e and its metrics to reg.
func Register(e *echo.Echo, reg prometheus.Registerer, cfg Config) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	prefix, err := json.Marshal(cfg.Prefix)
	if err != nil {
		panic(fmt.Sprintf("a string always encodes: %v", err))
	}
	h := &handler{
		cfg:        cfg,
		answerHead: `{"message":` + strings.TrimSuffix(string(prefix), `"`),
		tooLarge: echo.NewHTTPError(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is larger than %d bytes", cfg.MaxBodyBytes)),
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
	// One pooled buffer holds the request's body, then the answer's.
	buf := buffers.Get().(*bytes.Buffer)
	defer release(buf)
	str, err := h.decode(c.Request(), buf)
	if err != nil {
		return err
	}
	msg := hashmsg.Format(h.cfg.Prefix, hasher.Sum(str))

	start := time.Now()
	err = h.cfg.Publisher.Publish(c.Request().Context(), msg)
	h.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		h.failed.Inc()
		msg := "redis unavailable: hash not published"
		if errors.Is(err, publisher.ErrQueueFull) {
			msg = "too many publishes waiting: hash not published"
		}
		return echo.NewHTTPError(http.StatusServiceUnavailable, msg).SetInternal(err)
	}
	h.published.Inc()
	buf.Reset()
	buf.WriteString(h.answerHead)
	buf.WriteString(msg[len(h.cfg.Prefix):])
	buf.WriteString(`"}`)
	res := c.Response()
	res.Header()[echo.HeaderContentType] = jsonType
	res.WriteHeader(http.StatusOK)
	_, err = res.Write(buf.Bytes())
	return err
}

// jsonType is the Content-Type of every answer, allocated once.
var jsonType = []string{echo.MIMEApplicationJSON}

// buffers holds the buffers request bodies and answers are written to; one
// that grew past maxPooled for a large body is left to the garbage
// collector.
var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 4 << 10

func release(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooled {
		buf.Reset()
		buffers.Put(buf)
	}
}

// decode reads {"str": "..."} and nothing else into buf, enforcing the
// body limit.
func (h *handler) decode(r *http.Request, buf *bytes.Buffer) (string, error) {
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return "", h.tooLarge
	}
	// net/http ends a body with a Content-Length there, and that length
	// was checked above; only a chunked one needs the limit enforced.
	var body io.Reader = r.Body
	if r.ContentLength < 0 {
		body = http.MaxBytesReader(nil, r.Body, h.cfg.MaxBodyBytes)
	}
	_, err := buf.ReadFrom(body)
	// Read to its end: closed now, net/http has nothing left to discard.
	_ = r.Body.Close()
	if err == nil {
		if str, ok := plainRequest(buf.Bytes()); ok {
			return str, nil
		}
	}
	var req Request
	if err == nil {
		// Exactly one JSON value: Unmarshal refuses anything after it.
		err = json.Unmarshal(buf.Bytes(), &req)
	}
	switch {
	case err != nil:
		return "", h.decodeError(err)
	case req.Str == nil:
		return "", badRequest(`"str" is required`)
	}
	return *req.Str, nil
}

// plainRequest returns s for a body that is exactly {"str":"<s>"}, with s
// valid UTF-8 and free of escapes and control characters: the bodies the
// frontend sends. For those encoding/json returns s as it stands
// (FuzzPlainRequestAgreesWithJSON holds the two to it), so they skip its
// reflection; any other body goes through it.
func plainRequest(body []byte) (string, bool) {
	const head, tail = `{"str":"`, `"}`
	if len(body) < len(head)+len(tail) || string(body[:len(head)]) != head || string(body[len(body)-len(tail):]) != tail {
		return "", false
	}
	s := body[len(head) : len(body)-len(tail)]
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// decodeError is the answer to a body that could not be read or decoded.
func (h *handler) decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return h.tooLarge
	case errors.As(err, &typeErr) && typeErr.Field == "str":
		return badRequest(`"str" must be a string`)
	default:
		return badRequest(`request body must be the JSON object {"str": "<text>"}`)
	}
}

func badRequest(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg) }
