package hashfeed

import (
	"crypto/sha256"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/hashmsg"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
)

func TestReceiveClassifiesOnce(t *testing.T) {
	table, err := hashmsg.ParseClusters("burst=bursty-,burst-2=bursty2-")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		table  hashmsg.Clusters
		counts map[string]float64
		third  hashmsg.Cluster // the cluster of a bursty2- message
	}{
		{"default table: any prefix is burst", hashmsg.DefaultClusters, map[string]float64{"primary": 1, "burst": 3, "malformed": 1}, hashmsg.Burst},
		{"a table of three", table, map[string]float64{"primary": 1, "burst": 2, "burst-2": 1, "malformed": 1}, "burst-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New(nil, "calculation", tt.table, prometheus.NewRegistry())
			var got []pageapi.Hash
			add := func(h pageapi.Hash) { got = append(got, h) }
			sum := sha256.Sum256([]byte("x"))
			for _, payload := range []string{
				hashmsg.Format("", sum), hashmsg.Format("bursty-", sum), hashmsg.Format("bursty-", sum), hashmsg.Format("bursty2-", sum), "not a hash message",
			} {
				f.receive(payload, add)
			}
			if len(got) != 4 || got[0].Cluster != hashmsg.Primary || got[1].Cluster != hashmsg.Burst || got[3].Cluster != tt.third ||
				got[3].Text != hashmsg.Format("bursty2-", sum) {
				t.Fatalf("passed on %+v", got)
			}
			for cluster, want := range tt.counts {
				if n := testutil.ToFloat64(f.messages.WithLabelValues(cluster)); n != want {
					t.Errorf("hashfeed_messages_total{cluster=%q} = %v, want %v", cluster, n, want)
				}
			}
			if n := testutil.CollectAndCount(f.messages); n != len(tt.counts) {
				t.Errorf("%d series, want %d: one per cluster of the table and malformed", n, len(tt.counts))
			}
		})
	}
}
