package controller

import (
	"sync"
	"time"

	"github.com/cloudburst-demo/cloudburst/services/burster/internal/split"
)

// historySize bounds how many changes are kept for GET /api/changes.
const historySize = 50

// Change is one weight change, as reported to people and pages.
type Change struct {
	At     time.Time   `json:"at"`
	From   split.Split `json:"from"`
	To     split.Split `json:"to"`
	RPS    *float64    `json:"rps,omitempty"` // nil when no rate was measured
	Reason string      `json:"reason"`
	Kind   string      `json:"kind"` // WeightsChanged, DriftCorrected, FailSafe or DryRun
}

// history is a bounded, newest-last list of changes.
type history struct {
	mu      sync.Mutex
	changes []Change
}

func (h *history) add(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.changes) == historySize {
		copy(h.changes, h.changes[1:])
		h.changes = h.changes[:historySize-1]
	}
	h.changes = append(h.changes, c)
}

func (h *history) list() []Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Change(nil), h.changes...)
}
