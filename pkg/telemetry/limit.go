package telemetry

import (
	"sync"
	"time"
)

// Limit passes at most one log line per Every for a repeated event, and tells
// the line it passes how many it held back since the last one: a dependency
// that fails a thousand requests a second costs one line a second, which
// still says how many failed.
type Limit struct {
	Every time.Duration

	mu   sync.Mutex
	next time.Time
	held int
}

// Allow reports whether to log the event now, and how many events it held
// back before this one.
func (l *Limit) Allow() (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	l.next = now.Add(l.Every)
	held, l.held = l.held, 0
	return true, held
}
