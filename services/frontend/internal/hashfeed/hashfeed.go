// Package hashfeed is the frontend's one subscription to the channel the
// workers publish on, whatever the number of open pages. It classifies every
// message once, where it enters (hashmsg.Parse), counts it by cluster, and
// hands the parsed message on; malformed messages are counted and dropped.
package hashfeed

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

// Subscription settings. go-redis pings an idle subscription to notice a dead
// connection, then reconnects and resubscribes by itself; the buffer absorbs
// bursts while the receiver is busy.
const (
	healthCheck = 3 * time.Second
	buffer      = 4096
)

// malformed is the cluster label of messages that are not hash messages.
const malformed = "malformed"

// Feed reads one Redis channel.
type Feed struct {
	rdb      *redis.Client
	channel  string
	clusters hashmsg.Clusters
	messages *prometheus.CounterVec
}

// New returns a feed of channel, telling each message's cluster by
// clusters and counting messages on reg.
func New(rdb *redis.Client, channel string, clusters hashmsg.Clusters, reg prometheus.Registerer) *Feed {
	f := &Feed{
		rdb: rdb, channel: channel, clusters: clusters,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashfeed_messages_total",
			Help: "Messages received on the Redis channel, by cluster (primary, burst, and any other CLUSTER_PREFIXES names) or malformed.",
		}, []string{"cluster"}),
	}
	// The label values are a closed set (the prefix table's clusters),
	// created up front so every series exists at zero.
	for _, c := range clusters.Names() {
		f.messages.WithLabelValues(string(c))
	}
	f.messages.WithLabelValues(malformed)
	reg.MustRegister(f.messages)
	return f
}

// Run passes every well-formed message, as the hash the page shows with
// its cluster, to add until ctx is done. It survives Redis restarts.
func (f *Feed) Run(ctx context.Context, add func(pageapi.Hash)) error {
	ps := f.rdb.Subscribe(ctx, f.channel)
	defer ps.Close()
	msgs := ps.Channel(redis.WithChannelHealthCheckInterval(healthCheck), redis.WithChannelSize(buffer))
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return fmt.Errorf("subscription to %q closed", f.channel)
			}
			f.receive(m.Payload, add)
		}
	}
}

func (f *Feed) receive(payload string, add func(pageapi.Hash)) {
	m, err := hashmsg.Parse(payload)
	if err != nil {
		f.messages.WithLabelValues(malformed).Inc()
		return
	}
	c := f.clusters.Of(m.Prefix)
	f.messages.WithLabelValues(string(c)).Inc()
	add(pageapi.Hash{Text: payload, Cluster: c})
}
