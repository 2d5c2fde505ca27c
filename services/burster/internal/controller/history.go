package controller

import (
	"sync"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
)

// historySize bounds how many changes are kept for GET /api/changes.
const historySize = 50

// history is a bounded, newest-last list of changes.
type history struct {
	mu      sync.Mutex
	changes []bursterapi.Change
}

func (h *history) add(c bursterapi.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.changes) == historySize {
		copy(h.changes, h.changes[1:])
		h.changes = h.changes[:historySize-1]
	}
	h.changes = append(h.changes, c)
}

func (h *history) list() []bursterapi.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bursterapi.Change{}, h.changes...) // never nil: the API answers []
}
