// Package server builds the echo instance every service uses (JSON errors,
// request metrics, tracing, health and metrics routes) and runs it with the
// project's graceful shutdown: not ready, drain, finish in-flight requests.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/cloudburst-demo/cloudburst/pkg/health"
	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

// Server timeouts. Header and body reads are bounded against slow clients
// (a request that trickles its body in holds a connection and a goroutine);
// idle keep-alive connections live long enough for a load generator to
// reuse them.
const (
	readHeaderTimeout = 5 * time.Second
	// DefaultBodyReadTimeout is Server.BodyReadTimeout's default: far above
	// what any client of ours needs for its bodies.
	DefaultBodyReadTimeout = 10 * time.Second
	idleTimeout            = 120 * time.Second
)

// Config is the part of every service's configuration that concerns serving.
// It is embedded in each service's envconfig struct.
type Config struct {
	Host string `envconfig:"HOST" default:"" desc:"interface to listen on; empty means all"`
	Port int    `envconfig:"PORT" default:"8080" desc:"TCP port to listen on"`
	// DrainDelay must be longer than the readiness probe period so that the
	// load balancer sees the 503 before the listener closes.
	DrainDelay      time.Duration `envconfig:"DRAIN_DELAY" default:"5s" desc:"time between turning not-ready and closing the listener"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"time allowed for in-flight requests after draining"`
}

// Addr is the host:port to listen on.
func (c Config) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Server is an echo instance with the project's middleware and routes.
type Server struct {
	Echo     *echo.Echo
	Registry *prometheus.Registry
	Health   *health.Health
	// Propagate keeps the tracing middleware when tracing is off, so the
	// trace context of a request reaches the calls the service makes for it
	// (a mesh's tracing needs the headers passed on). A service that calls
	// no one for its requests sets it false and saves the middleware's cost.
	Propagate bool
	// BodyReadTimeout bounds reading a request's body, from the handler's
	// start: a body not in by then fails the request and its connection
	// is closed.
	BodyReadTimeout time.Duration

	cfg        Config
	service    string
	log        *slog.Logger
	onShutdown []func()
	metrics    atomic.Pointer[http.Handler] // /metrics: Registry, and what AlsoGather adds
}

// New returns a Server with /healthz, /readyz and /metrics registered, JSON
// error rendering, and per-route request metrics.
func New(service string, cfg Config, log *slog.Logger, h *health.Health) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log)
	s := &Server{Echo: e, Registry: reg, Health: h, Propagate: true, BodyReadTimeout: DefaultBodyReadTimeout,
		cfg: cfg, service: service, log: log}
	e.Use(requestMetrics(reg))

	h.Register(e)
	s.AlsoGather()
	e.GET("/metrics", func(c echo.Context) error {
		(*s.metrics.Load()).ServeHTTP(c.Response(), c.Request())
		return nil
	})
	return s
}

// AlsoGather serves on /metrics what gs gather beside Registry: a library's
// own registry (controller-runtime's).
func (s *Server) AlsoGather(gs ...prometheus.Gatherer) {
	var h http.Handler = promhttp.HandlerFor(append(prometheus.Gatherers{s.Registry}, gs...), promhttp.HandlerOpts{Registry: s.Registry})
	s.metrics.Store(&h)
}

// Handler is the server's full HTTP handler, with the tracing middleware
// when tracing is on or the service propagates. Tests serve it with
// httptest.
func (s *Server) Handler() http.Handler {
	h := BodyDeadline(common(s.Echo), s.BodyReadTimeout)
	if !s.Propagate && !telemetry.TracingEnabled() {
		return h
	}
	return otelhttp.NewHandler(h, s.service,
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + r.URL.Path
		}))
}

// OnShutdown registers fn to run when shutdown starts, for connections the
// HTTP server does not track itself, such as hijacked websockets.
func (s *Server) OnShutdown(fn func()) { s.onShutdown = append(s.onShutdown, fn) }

// Run listens on the configured address and serves until ctx is done, then
// marks the service not ready, waits DrainDelay, and shuts down gracefully.
// A taken port is reported at once.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Addr(), err)
	}
	srv := HTTPServer(s.Handler(), s.log)
	for _, fn := range s.onShutdown {
		srv.RegisterOnShutdown(fn)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	s.Health.SetDraining()
	s.log.Info("draining", "delay", s.cfg.DrainDelay.String())
	time.Sleep(s.cfg.DrainDelay)

	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	s.log.Info("stopped")
	return nil
}

// The headers every answer carries, in canonical form and allocated once:
// no content sniffing, and no framing by another site (the page's slider
// could be clickjacked).
var (
	nosniff     = []string{"nosniff"}
	denyFrames  = []string{"DENY"}
	frameCSP    = []string{"frame-ancestors 'none'"}
	headerNames = [...]string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"}
)

// common does what every request gets before echo routes it: HEAD is
// served as GET, as HTTP asks (the same status and headers; net/http sends
// no body for it), and the answer carries the security headers. It wraps
// echo rather than being its middleware because echo builds its middleware
// chain anew for every request, a closure per middleware.
func common(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r.Method = http.MethodGet
		}
		hdr := w.Header()
		hdr[headerNames[0]], hdr[headerNames[1]], hdr[headerNames[2]] = nosniff, denyFrames, frameCSP
		h.ServeHTTP(w, r)
	})
}

// HTTPServer is the net/http server every listener of the project uses:
// header reads cut after 5 s, idle connections closed after 120 s, its own
// complaints logged as warnings. Run uses it; so does a plain handler
// outside echo, such as the local mesh's proxy (wrap it in BodyDeadline).
func HTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// readDeadliner is what net/http's ResponseWriter offers for a deadline.
type readDeadliner interface{ SetReadDeadline(time.Time) error }

// BodyDeadline sets the connection's read deadline for a request that has
// a body, so that reading it ends within d. Requests without one (a
// websocket upgrade among them) keep their connection's deadlines.
func BodyDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			deadline := time.Now().Add(d)
			// net/http's own writer takes it directly; a wrapped one
			// (tracing's) through a controller, which unwraps it. An
			// error means the connection cannot take deadlines (not the
			// case for net/http's TCP connections).
			if rd, ok := w.(readDeadliner); ok {
				_ = rd.SetReadDeadline(deadline)
			} else {
				_ = http.NewResponseController(w).SetReadDeadline(deadline)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// errorHandler renders every error as {"error": "..."} with its status code
// and logs server-side failures here, where they leave the service: at most
// one line a second, with the number of failures held back since the last.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	// A failing dependency fails every request: one line a second says so.
	limit := &telemetry.Limit{Every: time.Second}
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError)
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code, msg = he.Code, fmt.Sprint(he.Message)
		}
		if code >= http.StatusInternalServerError {
			if ok, held := limit.Allow(); ok {
				log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "status", code,
					"err", err, "heldBack", held)
			}
		}
		// For HEAD (served as GET) net/http sends no body.
		if err := c.JSON(code, map[string]string{"error": msg}); err != nil {
			log.Warn("writing error response", "err", err)
		}
	}
}
