package e2e

import (
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/cloudburst-demo/cloudburst/pkg/contract/pageapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
)

// TestDemoTopology drives the SLO demo's page to 25 req/s, over primary's
// 20, while the burst moves: #topology shows both worker edges with their
// rates, the burst edge's weight and observed share moving with the split,
// each hop as plaintext on loopback; the error-budget panel shows each
// cluster's SLI and the budget left since the demo started. The topology's
// rates (the local mesh's, through the burster) agree with the load
// generator's own counts per cluster within 10% over 10 s.
func TestDemoTopology(t *testing.T) {
	l := launch(t, "embedded", "-strategy=slo")
	ctx := l.openPage(t)
	bursterURL, frontendURL := l.url("burster"), l.url("frontend")
	if err := poll(ctx, `!document.getElementById("topology").hidden && `+
		`document.getElementById("edge-burst-detail").textContent.includes("weight 0%")`, 60*time.Second); err != nil {
		t.Fatalf("the topology with nothing on burst: %v (%q)", err, eval[string](t, ctx, `document.getElementById("topology").innerText`))
	}

	step := time.Now()
	press(t, ctx, kb.ArrowRight, 25)
	settled, _ := settle(t, bursterURL, step, func(w split.Split) bool { return w.Spilled() > 0 })

	// The page: both edges with their rates, burst's weight as set, how
	// each hop travels, the budget since the demo started.
	want := fmt.Sprintf("weight %d%%", settled.Spilled())
	err := poll(ctx, `document.getElementById("edge-burst-detail").textContent.includes(`+strconv.Quote(want)+`) && `+
		`/\d+\.\d req\/s/.test(document.getElementById("edge-primary-rate").textContent) && `+
		`/\d+\.\d req\/s/.test(document.getElementById("edge-burst-rate").textContent) && `+
		`document.getElementById("topology").textContent.split("plaintext on loopback (local mesh)").length === 3 && `+
		`!document.getElementById("budget").hidden && `+
		`document.getElementById("budget-source").textContent.includes("since the demo started") && `+
		`/%$/.test(document.getElementById("budget-primary-sli").textContent) && `+
		`document.getElementById("budget-burst-left").textContent !== "–"`, 30*time.Second)
	if err != nil {
		t.Fatalf("the topology and the budget at %v: %v\n%s\n%s", settled, err,
			eval[string](t, ctx, `document.getElementById("topology").innerText`), eval[string](t, ctx, `document.getElementById("budget").innerText`))
	}

	// The figures: the mesh's rates beside the load generator's own counts
	// over its 10 s window, from one status; the share observed beside the
	// weight set.
	var st pageapi.Status
	component.GetJSON(t, frontendURL+"/api/status", &st)
	topo, lat := st.Topology, st.Latency
	if topo == nil || lat == nil {
		t.Fatalf("status without topology or latency: %+v", st)
	}
	for _, c := range []struct {
		name  string
		edge  pageapi.Edge
		count uint64
	}{{"primary", topo.Edges[0], lat.Clusters[0].Requests}, {"burst", topo.Edges[1], lat.Clusters[1].Requests}} {
		own := float64(c.count) / float64(lat.WindowSeconds)
		if c.edge.RPS == nil || own == 0 || math.Abs(*c.edge.RPS-own) > 0.1*own {
			t.Errorf("%s: the topology says %v req/s, the load generator counted %.1f req/s", c.name, c.edge.RPS, own)
		}
		if c.edge.Share == nil || c.edge.Weight == nil || math.Abs(*c.edge.Share-float64(*c.edge.Weight)) > 10 {
			t.Errorf("%s: observed share %v%% beside the weight %v%%", c.name, c.edge.Share, c.edge.Weight)
		}
		if c.edge.SLI == nil || c.edge.BudgetLeft == nil || c.edge.Objective == pageapi.ObjectiveUnknown {
			t.Errorf("%s: SLI %v, budget left %v, objective %q", c.name, c.edge.SLI, c.edge.BudgetLeft, c.edge.Objective)
		}
	}
	t.Logf("at 25 req/s, settled at %v: topology primary %.1f req/s (load generator %.1f), burst %.1f req/s (%.1f); objective %s/%s; budget left %.1f%%/%.1f%% since the demo started",
		settled, *topo.Edges[0].RPS, float64(lat.Clusters[0].Requests)/float64(lat.WindowSeconds), *topo.Edges[1].RPS, float64(lat.Clusters[1].Requests)/float64(lat.WindowSeconds),
		topo.Edges[0].Objective, topo.Edges[1].Objective, 100**topo.Edges[0].BudgetLeft, 100**topo.Edges[1].BudgetLeft)
	shot(t, ctx, "demo-topology.png")
}
