// Command bare is the ceiling the worker's throughput is measured against,
// for the benchmarks only: a net/http server that reads each request's body
// and answers 200 with a JSON body of the worker's size, doing nothing else.
// What the worker serves beside it, in the same run on the same cores, is
// the cost of its real work (decoding, hashing, publishing, metrics).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// answer is as long as the worker's {"message":"<base64 SHA-256>"}.
const answer = `{"message":"0123456789abcdefghijklmnopqrstuvwxyzABCDEF="}`

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bare: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	addr := net.JoinHostPort(os.Getenv("HOST"), os.Getenv("PORT"))
	srv := &http.Server{
		Addr:              addr,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answer)
		}),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Bound first, then said, as the services do: the harness starts it on
	// port 0 and reads the address from this line.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
