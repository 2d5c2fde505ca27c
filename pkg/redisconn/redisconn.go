// Package redisconn opens Redis clients from the REDIS_URL every service
// accepts: the codelab's bare "host:port" or a redis:// or rediss:// URL.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"

	"github.com/cloudburst-demo/cloudburst/pkg/telemetry"
)

// Timeouts are short on purpose: the worker must answer 503 within about a
// second when Redis is gone, and readiness probes must not hang.
const (
	dialTimeout = 500 * time.Millisecond
	ioTimeout   = 500 * time.Millisecond
	poolTimeout = time.Second
)

// Options parses a Redis address. "host:port" and "host" (port 6379) are read
// as plain TCP; anything with a scheme is handed to redis.ParseURL.
func Options(addr string) (*redis.Options, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return nil, fmt.Errorf("redis address is empty")
	}
	var opt *redis.Options
	if strings.Contains(addr, "://") {
		o, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("parsing redis URL: %w", err)
		}
		opt = o
	} else {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			// A bare host, as in REDIS_URL=redis.
			host, port = addr, "6379"
			if strings.ContainsAny(addr, ":/") {
				return nil, fmt.Errorf("parsing redis address %q: %w", addr, err)
			}
		}
		if host == "" {
			return nil, fmt.Errorf("redis address %q has no host", addr)
		}
		opt = &redis.Options{Addr: net.JoinHostPort(host, port)}
	}
	opt.DialTimeout = dialTimeout
	opt.ReadTimeout = ioTimeout
	opt.WriteTimeout = ioTimeout
	opt.PoolTimeout = poolTimeout
	opt.ContextTimeoutEnabled = true
	// RESP2 unless the URL asks otherwise (?protocol=3): the services use
	// nothing of RESP3, and go-redis checks a RESP3 connection for push
	// notifications before every reply, which costs the worker's publish
	// pipelines CPU on every batch.
	if opt.Protocol == 0 {
		opt.Protocol = 2
	}
	return opt, nil
}

// Open returns a client for addr, instrumented for tracing when tracing is
// on (the instrumentation costs CPU on every command even when nothing
// records). It does not connect: callers learn about an absent Redis from
// their first command, and readiness reports it.
func Open(addr string) (*redis.Client, error) {
	opt, err := Options(addr)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	if !telemetry.TracingEnabled() {
		return rdb, nil
	}
	if err := redisotel.InstrumentTracing(rdb); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("instrumenting redis client: %w", err)
	}
	return rdb, nil
}

// Ping is a readiness check: it fails unless Redis answers PING.
func Ping(rdb redis.UniversalClient) func(context.Context) error {
	return func(ctx context.Context) error {
		return rdb.Ping(ctx).Err()
	}
}

// Redact returns addr with any password replaced, for logging.
func Redact(addr string) string {
	if opt, err := Options(addr); err == nil && opt.Password != "" {
		return strings.Replace(addr, opt.Password, "xxxxx", 1)
	}
	return addr
}

// SetLogger sends go-redis' own messages (a failed dial, a bad connection
// dropped from the pool) to log as structured warnings, at most one a
// second with the number held back, instead of go-redis' default of one
// unstructured line on stderr per event. It applies to every client of the
// process (go-redis has one logger).
func SetLogger(log *slog.Logger) {
	redis.SetLogger(&redisLog{log: log, limit: &telemetry.Limit{Every: time.Second}})
}

type redisLog struct {
	log   *slog.Logger
	limit *telemetry.Limit
}

func (l *redisLog) Printf(ctx context.Context, format string, v ...any) {
	if ok, held := l.limit.Allow(); ok {
		l.log.WarnContext(ctx, "redis client", "msg", fmt.Sprintf(format, v...), "heldBack", held)
	}
}
