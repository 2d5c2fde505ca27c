package hashfeed

import (
	"crypto/sha256"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
)

func TestReceiveClassifiesOnce(t *testing.T) {
	f := New(nil, "calculation", prometheus.NewRegistry())
	var got []hashmsg.Message
	add := func(m hashmsg.Message) { got = append(got, m) }
	sum := sha256.Sum256([]byte("x"))
	for _, payload := range []string{
		hashmsg.Format("", sum), hashmsg.Format("bursty-", sum), hashmsg.Format("bursty-", sum), "not a hash message",
	} {
		f.receive(payload, add)
	}
	if len(got) != 3 || got[0].Cluster() != hashmsg.Primary || got[1].Cluster() != hashmsg.Burst {
		t.Fatalf("passed on %+v", got)
	}
	for cluster, want := range map[string]float64{"primary": 1, "burst": 2, "malformed": 1} {
		if n := testutil.ToFloat64(f.messages.WithLabelValues(cluster)); n != want {
			t.Errorf("hashfeed_messages_total{cluster=%q} = %v, want %v", cluster, n, want)
		}
	}
}
