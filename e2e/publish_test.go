package e2e

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

// publishMarker publishes one recognisable hash on the stack's channel, as
// the worker would, and returns it.
func publishMarker(t testing.TB, s *stack) string {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.redis.Addr})
	defer rdb.Close()
	msg := hashmsg.Format("bursty-", sha256.Sum256([]byte(strconv.FormatInt(time.Now().UnixNano(), 10))))
	if err := rdb.Publish(context.Background(), hashmsg.DefaultChannel, msg).Err(); err != nil {
		t.Fatalf("publishing marker: %v", err)
	}
	return msg
}
