package controller

import (
	"sync"
)

// historySize bounds how many changes are kept for GET /api/changes.
const historySize = 50

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
	return append([]Change{}, h.changes...) // never nil: the API answers []
}
