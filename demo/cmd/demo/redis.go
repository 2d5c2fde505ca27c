package main

import (
	"context"
	"time"

	"github.com/cloudburst-demo/cloudburst/pkg/redisconn"
)

// redisReady checks that a Redis server answers PING.
func redisReady(addr string) func() error {
	return func() error {
		rdb, err := redisconn.Open(addr)
		if err != nil {
			return err
		}
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err()
	}
}
