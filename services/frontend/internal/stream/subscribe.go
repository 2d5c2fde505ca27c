package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Subscription settings. go-redis pings an idle subscription to notice a dead
// connection, then reconnects and resubscribes by itself; the buffer absorbs
// bursts while the hub takes its lock.
const (
	subscriptionHealthCheck = 3 * time.Second
	subscriptionBuffer      = 4096
)

// Subscribe feeds every message published on channel into the hub until ctx
// is done. It is the frontend's only subscription, whatever the number of
// pages, and it survives Redis restarts.
func Subscribe(ctx context.Context, rdb *redis.Client, channel string, h *Hub) error {
	ps := rdb.Subscribe(ctx, channel)
	defer ps.Close()
	msgs := ps.Channel(
		redis.WithChannelHealthCheckInterval(subscriptionHealthCheck),
		redis.WithChannelSize(subscriptionBuffer))
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return fmt.Errorf("subscription to %q closed", channel)
			}
			h.Add(m.Payload)
		}
	}
}
