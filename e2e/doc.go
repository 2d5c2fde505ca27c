// Package e2e runs the services as the real binaries on loopback, against a
// real redis-server, and drives the page in a real headless Chromium. It also
// holds the benchmarks that need the whole data path (make bench).
package e2e
