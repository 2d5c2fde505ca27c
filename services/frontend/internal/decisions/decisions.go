// Package decisions follows the burster's status (GET /api/status) so that
// the page can show the current split and the burster's recent decisions. It
// works the same against the burster Service in a cluster and against the
// local demo's burster.
package decisions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
)

// maxStatusBytes bounds one status response.
const maxStatusBytes = 256 << 10

// Poller fetches the burster's status every interval.
type Poller struct {
	url      string
	interval time.Duration
	client   *http.Client
	onChange func()
	latest   atomic.Pointer[bursterapi.Status]
}

// NewPoller returns a poller of the burster at baseURL. onChange is called
// when the weights or the decisions change, so pages can be told at once.
func NewPoller(baseURL string, interval time.Duration, onChange func()) *Poller {
	return &Poller{
		url:      strings.TrimSuffix(baseURL, "/") + bursterapi.StatusPath,
		interval: interval,
		client:   &http.Client{Timeout: interval},
		onChange: onChange,
	}
}

// Latest is the last status from the leading burster, or nil when it could
// not be read last time.
func (p *Poller) Latest() *bursterapi.Status { return p.latest.Load() }

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		s, err := p.fetch(ctx)
		switch {
		case err != nil:
			if p.latest.Swap(nil) != nil {
				p.onChange()
			}
		case !s.Leader:
			// A standby replica answered through the Service: it knows
			// nothing current. Keep the leader's last word.
		default:
			if prev := p.latest.Swap(s); changed(prev, s) {
				p.onChange()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Poller) fetch(ctx context.Context) (*bursterapi.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", p.url, resp.Status)
	}
	var s bursterapi.Status
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatusBytes)).Decode(&s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", p.url, err)
	}
	return &s, nil
}

// changed reports a difference the page should show at once.
func changed(prev, cur *bursterapi.Status) bool {
	if prev == nil || prev.Weights == nil || cur.Weights == nil {
		return prev == nil || (prev.Weights == nil) != (cur.Weights == nil)
	}
	return *prev.Weights != *cur.Weights || len(prev.Changes) != len(cur.Changes) ||
		(len(cur.Changes) > 0 && !cur.Changes[len(cur.Changes)-1].At.Equal(prev.Changes[len(prev.Changes)-1].At))
}
