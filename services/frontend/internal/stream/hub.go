// Package stream carries the hashes published on Redis to every open page.
// One subscription feeds a Hub; the Hub folds messages into one frame per
// tick, encodes it once and hands it to every websocket client. A client that
// cannot keep up is disconnected instead of slowing the others, and nothing
// the Hub holds grows with the message rate or the number of slow clients.
package stream

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudburst-demo/cloudburst/pkg/hashmsg"
)

// Defaults for Config. 50 ms frames give a browser at most 20 updates a
// second, smooth to the eye and cheap to render; 50 hashes a frame is more
// than a person can read, while the counts cover every message.
const (
	DefaultFrameInterval     = 50 * time.Millisecond
	DefaultMaxHashesPerFrame = 50
	DefaultClientQueue       = 32 // frames, about 1.6 s behind at the default interval
	DefaultStatusInterval    = time.Second
)

// Config configures a Hub.
type Config struct {
	FrameInterval     time.Duration
	MaxHashesPerFrame int
	ClientQueue       int // frames a client may lag before it is disconnected
	StatusInterval    time.Duration

	// Status returns what the page shows besides the hashes, such as the load
	// generator's figures. It is called once per StatusInterval.
	Status func() any
	// SetRate applies a rate change asked for by a page.
	SetRate func(rps int) error
	// MaxRPS is told to pages so the slider's range matches the server's.
	MaxRPS int
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
		c.Status = func() any { return nil }
	}
}

// Counts is a number of hashes per cluster.
type Counts struct {
	Primary int `json:"primary"`
	Burst   int `json:"burst"`
}

// Rates is hashes received per second per cluster.
type Rates struct {
	Primary float64 `json:"primary"`
	Burst   float64 `json:"burst"`
}

// Frame is what a page receives. Type is "hello" once on connect, "update"
// at most once per FrameInterval, and "error" in answer to a bad command.
type Frame struct {
	Type     string   `json:"type"`
	Hashes   []string `json:"hashes,omitempty"` // the newest of this interval, oldest first
	Counts   *Counts  `json:"counts,omitempty"` // every hash received this interval
	Received *Rates   `json:"received,omitempty"`
	Status   any      `json:"status,omitempty"`
	At       int64    `json:"at,omitempty"` // server time of a status, Unix ms: pages chart on the server's clock
	MaxRPS   int      `json:"maxRps,omitempty"`
	Message  string   `json:"message,omitempty"`
}

// Hub fans messages out to clients.
type Hub struct {
	cfg Config
	log *slog.Logger

	mu          sync.Mutex
	clients     map[*client]struct{}
	closed      bool
	recent      []string // ring of the newest hashes, see add
	counts      Counts   // since the last frame
	window      Counts   // since the last status
	windowStart time.Time
	statusDue   bool

	messages *prometheus.CounterVec
	dropped  prometheus.Counter
	frames   prometheus.Counter
}

// NewHub returns a Hub; call Run to start sending frames.
func NewHub(cfg Config, log *slog.Logger, reg prometheus.Registerer) *Hub {
	cfg.setDefaults()
	h := &Hub{
		cfg:         cfg,
		log:         log,
		clients:     map[*client]struct{}{},
		recent:      make([]string, 0, 2*cfg.MaxHashesPerFrame),
		windowStart: time.Now(),
		statusDue:   true,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hub_messages_total", Help: "Messages received on the Redis channel, by cluster (primary, burst) or malformed.",
		}, []string{"cluster"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_clients_dropped_total", Help: "Websocket clients disconnected for falling behind.",
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hub_frames_total", Help: "Update frames broadcast.",
		}),
	}
	clients := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hub_clients", Help: "Connected websocket clients.",
	}, func() float64 { return float64(h.Clients()) })
	reg.MustRegister(h.messages, h.dropped, h.frames, clients)
	return h
}

// Add takes one message from the channel. It never blocks on clients.
func (h *Hub) Add(msg string) {
	m, err := hashmsg.Parse(msg)
	if err != nil {
		h.messages.WithLabelValues("malformed").Inc()
		return
	}
	cluster := "primary"
	if m.Burst() {
		cluster = "burst"
	}
	h.messages.WithLabelValues(cluster).Inc()

	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Burst() {
		h.counts.Burst++
	} else {
		h.counts.Primary++
	}
	// Keep only the newest MaxHashesPerFrame: compact the ring when full so
	// memory stays bounded and appends stay amortised O(1).
	if len(h.recent) == cap(h.recent) {
		n := copy(h.recent, h.recent[len(h.recent)-h.cfg.MaxHashesPerFrame+1:])
		h.recent = h.recent[:n]
	}
	h.recent = append(h.recent, msg)
}

// StatusChanged makes the next frame carry the status, e.g. after a rate
// change, so every page shows it without waiting for the next interval.
func (h *Hub) StatusChanged() {
	h.mu.Lock()
	h.statusDue = true
	h.mu.Unlock()
}

// SetRate applies a rate change and announces it to every page.
func (h *Hub) SetRate(rps int) error {
	if err := h.cfg.SetRate(rps); err != nil {
		return err
	}
	h.StatusChanged()
	return nil
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
	f := Frame{Type: "update"}
	if n := len(h.recent); n > 0 {
		keep := min(n, h.cfg.MaxHashesPerFrame)
		f.Hashes = append([]string(nil), h.recent[n-keep:]...)
		c := h.counts
		f.Counts = &c
	}
	h.window.Primary += h.counts.Primary
	h.window.Burst += h.counts.Burst
	h.recent, h.counts = h.recent[:0], Counts{}
	withStatus := h.statusDue
	if withStatus {
		h.statusDue = false
		if dt := now.Sub(h.windowStart).Seconds(); dt > 0 {
			f.Received = &Rates{Primary: float64(h.window.Primary) / dt, Burst: float64(h.window.Burst) / dt}
		}
		h.window, h.windowStart = Counts{}, now
	}
	h.mu.Unlock()

	if withStatus {
		f.Status, f.At = h.cfg.Status(), now.UnixMilli()
	}
	if f.Hashes == nil && !withStatus {
		return
	}
	b, err := json.Marshal(f)
	if err != nil {
		h.log.Error("encoding frame", "err", err)
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
	b, _ := json.Marshal(Frame{Type: "hello", MaxRPS: h.cfg.MaxRPS, Status: h.cfg.Status()})
	return b
}

// register adds c unless the hub is closed.
func (h *Hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	return true
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
