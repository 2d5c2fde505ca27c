// Package publisher publishes the worker's hashes on a Redis channel.
package publisher

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis publishes each message with PUBLISH and reports success only once
// Redis has answered.
type Redis struct {
	rdb     redis.UniversalClient
	channel string
	timeout time.Duration
}

// NewRedis returns a publisher on channel. timeout bounds one PUBLISH,
// including the dial when the connection must be re-established.
func NewRedis(rdb redis.UniversalClient, channel string, timeout time.Duration) *Redis {
	return &Redis{rdb: rdb, channel: channel, timeout: timeout}
}

// Publish sends msg on the channel. A nil error means Redis accepted it.
func (r *Redis) Publish(ctx context.Context, msg string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.rdb.Publish(ctx, r.channel, msg).Err(); err != nil {
		return fmt.Errorf("publishing on %q: %w", r.channel, err)
	}
	return nil
}
