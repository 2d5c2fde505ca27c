// Package stream fans the hashes out to every open page. The Hub folds the
// messages it is given into one frame per tick, encodes it once and hands it
// to every websocket client. A client that cannot keep up is disconnected
// instead of slowing the others, and nothing the Hub holds grows with the
// message rate or the number of slow clients. What a page sends back is not
// the Hub's business: Serve hands it to the caller's handler.
package stream

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// Defaults for Config. 50 ms frames give a browser at most 20 updates a
// second, smooth to the eye and cheap to render; 50 hashes a frame is more
// than a person can read, while the counts cover every message.
const (
	DefaultFrameInterval     = 50 * time.Millisecond
	DefaultMaxHashesPerFrame = 50
	DefaultClientQueue       = 32 // frames, about 1.6 s behind at the default interval
	DefaultStatusInterval    = time.Second
	// DefaultMaxClients: a page costs about 28 KB on the server, so 1,000
	// pages are about 28 MB.
	DefaultMaxClients        = 1000
	DefaultCommandsPerSecond = 20
)

// Config configures a Hub.
type Config struct {
	FrameInterval     time.Duration
	MaxHashesPerFrame int
	ClientQueue       int // frames a client may lag before it is disconnected
	StatusInterval    time.Duration

	// Status returns what the page shows besides the hashes, such as the load
	// generator's figures. It is called once per StatusInterval and after
	// StatusChanged.
	Status func() pageapi.Status
	// MaxRPS is told to pages so the slider's range matches the server's.
	MaxRPS int
	// Clusters are every cluster a hash may come from (the prefix table's),
	// each named in the rates received, 0 included; default: primary and
	// burst.
	Clusters []hashmsg.Cluster
	// MaxClients bounds the pages connected at once (each costs a
	// goroutine pair and its queue); more are refused with close code 1013.
	MaxClients int
	// CommandsPerSecond bounds what one page may send, with a burst of as
	// many; a page that sends more is disconnected with close code 1008.
	// The page sends at most 10 a second while the slider moves.
	CommandsPerSecond int
}

func (c *Config) setDefaults() {
	if c.FrameInterval <= 0 {
		c.FrameInterval = DefaultFrameInterval
	}
	if c.MaxHashesPerFrame <= 0 {
		c.MaxHashesPerFrame = DefaultMaxHashesPerFrame
	}
	if c.ClientQueue <= 0 {
		c.ClientQueue = DefaultClientQueue
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = DefaultStatusInterval
	}
	if c.Status == nil {
		c.Status = func() pageapi.Status { return pageapi.Status{} }
	}
	if c.MaxClients <= 0 {
		c.MaxClients = DefaultMaxClients
	}
	if len(c.Clusters) == 0 {
		c.Clusters = hashmsg.DefaultClusters.Names()
	}
	if c.CommandsPerSecond <= 0 {
		c.CommandsPerSecond = DefaultCommandsPerSecond
	}
}

// Hub fans messages out to clients.
type Hub struct {
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	clients     map[*client]struct{}
	closed      bool
	recent      []pageapi.Hash // ring of the newest hashes, see Add
	counts      pageapi.Counts // since the last frame
	window      pageapi.Counts // since the last status
	windowStart time.Time
	statusDue   bool

	dropped prometheus.Counter
	refused prometheus.Counter
	frames  prometheus.Counter
}

// NewHub returns a Hub; call Run to start sending frames.
func NewHub(cfg Config, log *slog.Logger, reg prometheus.Registerer) *Hub {
	cfg.setDefaults()
	h := &Hub{
		cfg:         cfg,
		log:         log,
		clients:     map[*client]struct{}{},
		recent:      make([]pageapi.Hash, 0, 2*cfg.MaxHashesPerFrame),
		counts:      pageapi.Counts{},
		window:      pageapi.Counts{},
		windowStart: time.Now(),
		statusDue:   true,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_clients_dropped_total", Help: "Websocket clients disconnected for falling behind or sending too many commands.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_clients_refused_total", Help: "Websocket clients refused because MaxClients were connected.",
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_frames_total", Help: "Update frames broadcast.",
		}),
	}
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hub_clients", Help: "Connected websocket clients.",
	}, func() float64 { return float64(h.Clients()) })
	reg.MustRegister(h.dropped, h.refused, h.frames, clients)
	return h
}

// Add takes one hash from the channel, its cluster told. It never blocks
// on clients.
func (h *Hub) Add(hash pageapi.Hash) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[hash.Cluster]++
	// Keep only the newest MaxHashesPerFrame: compact the ring when full so
	// memory stays bounded and appends stay amortised O(1).
	if len(h.recent) == cap(h.recent) {
		n := copy(h.recent, h.recent[len(h.recent)-h.cfg.MaxHashesPerFrame+1:])
		h.recent = h.recent[:n]
	}
	h.recent = append(h.recent, hash)
}

// StatusChanged makes the next frame carry the status, e.g. after a rate
// change, so every page shows it without waiting for the next interval.
func (h *Hub) StatusChanged() {
	h.mu.Lock()
	h.statusDue = true
	h.mu.Unlock()
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Run broadcasts a frame every FrameInterval until ctx is done.
func (h *Hub) Run(ctx context.Context) error {
	frames := time.NewTicker(h.cfg.FrameInterval)
	defer frames.Stop()
	status := time.NewTicker(h.cfg.StatusInterval)
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-status.C:
			h.StatusChanged()
		case <-frames.C:
			h.broadcast(time.Now())
		}
	}
}

// broadcast cuts the frame for this interval and queues it for every client.
func (h *Hub) broadcast(now time.Time) {
	h.mu.Lock()
	f := pageapi.Frame{Type: pageapi.Update}
	if n := len(h.recent); n > 0 {
		keep := min(n, h.cfg.MaxHashesPerFrame)
		f.Hashes = append([]pageapi.Hash(nil), h.recent[n-keep:]...)
		f.Counts = maps.Clone(h.counts)
	}
	for c, n := range h.counts {
		h.window[c] += n
	}
	h.recent = h.recent[:0]
	clear(h.counts)
	withStatus := h.statusDue
	if withStatus {
		h.statusDue = false
		if dt := now.Sub(h.windowStart).Seconds(); dt > 0 {
			f.Received = make(pageapi.Rates, len(h.cfg.Clusters))
			for _, c := range h.cfg.Clusters {
				f.Received[c] = float64(h.window[c]) / dt
			}
		}
		clear(h.window)
		h.windowStart = now
	}
	h.mu.Unlock()

	if withStatus {
		st := h.cfg.Status()
		f.Status, f.At = &st, now.UnixMilli()
	}
	if f.Hashes == nil && !withStatus {
		return
	}
	b := h.encode(f)
	if b == nil {
		return
	}
	h.frames.Inc()

	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if !c.queue(b) {
			h.dropped.Inc()
			h.removeLocked(c)
			h.log.Warn("dropping slow websocket client", "remote", c.remote, "queue", h.cfg.ClientQueue)
		}
	}
}

// hello is the first frame a client gets: the slider's range and the status.
func (h *Hub) hello() []byte {
	st := h.cfg.Status()
	return h.encode(pageapi.Frame{Type: pageapi.Hello, MaxRPS: h.cfg.MaxRPS, Status: &st})
}

// encode marshals a frame, or logs why it cannot (a NaN among the figures)
// and returns nil.
func (h *Hub) encode(f pageapi.Frame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("encoding frame", "type", f.Type, "err", err)
		return nil
	}
	return b
}

// Why register refused a client.
var (
	errClosed = errors.New("server shutting down")
	errFull   = errors.New("too many pages connected; try again later")
)

// register adds c unless the hub is closed or full.
func (h *Hub) register(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return errClosed
	case len(h.clients) >= h.cfg.MaxClients:
		h.refused.Inc()
		return errFull
	}
	h.clients[c] = struct{}{}
	return nil
}

func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(c)
}

func (h *Hub) removeLocked(c *client) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		c.close()
	}
}

// Close disconnects every client and refuses new ones; the HTTP server calls
// it on shutdown because it does not track hijacked connections.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		h.removeLocked(c)
	}
}
