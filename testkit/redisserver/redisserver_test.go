package redisserver_test

import (
	"testing"

	"github.com/cloudburst-demo/cloudburst/testkit/redisserver"
)

func TestStopRestart(t *testing.T) {
	s := redisserver.Start(t)
	if err := redisserver.Ping(s.Addr); err != nil {
		t.Fatalf("fresh server: %v", err)
	}
	s.Stop()
	if err := redisserver.Ping(s.Addr); err == nil {
		t.Fatal("server answers after Stop")
	}
	s.Restart()
	if err := redisserver.Ping(s.Addr); err != nil {
		t.Fatalf("restarted server: %v", err)
	}
}
