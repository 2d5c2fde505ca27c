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
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
