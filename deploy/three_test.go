package deploy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
)

// threeNames are the three clusters in spill order.
var threeNames = []string{"primary", "burst", "burst-2"}

// threeClusters renders the three-cluster overlays (k8s/overlays/three) as
// CLUSTERS=3 make clusters deploy leaves the clusters.
func threeClusters(t testing.TB) []cluster {
	t.Helper()
	return renderClusters(t, threeOverlays[istioAPI.router], threeNames...)
}

// TestThreeClustersRender: the real istioctl validates and analyzes each of
// the three clusters' objects, each cluster's API server accepts them, and
// the worker's policy spills across the three subsets the VirtualService
// routes to, each in every cluster's DestinationRule.
func TestThreeClustersRender(t *testing.T) {
	istioctl := component.Tool(t, "istioctl")
	cs := threeClusters(t)
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			istioctlAccepts(t, istioctl, c.objs)
			apply(t, c)
			var subsets []string
			dr, _, _ := unstructured.NestedSlice(one(t, c.objs, "DestinationRule", "worker").Object, "spec", "subsets")
			for _, s := range dr {
				subsets = append(subsets, s.(map[string]any)["name"].(string))
			}
			if strings.Join(subsets, ",") != strings.Join(threeNames, ",") {
				t.Fatalf("the worker's DestinationRule has the subsets %v, want %v", subsets, threeNames)
			}
		})
	}
	p := workerPolicy(t, cs[0].objs)
	if errs := p.Validate(); len(errs) > 0 {
		t.Fatalf("the three-cluster policy is invalid: %v", errs.ToAggregate())
	}
	var names, subsets []string
	for _, d := range p.Spec.Destinations {
		names, subsets = append(names, d.Name), append(subsets, d.Subset)
	}
	if strings.Join(names, ",") != strings.Join(threeNames, ",") || strings.Join(subsets, ",") != strings.Join(threeNames, ",") {
		t.Fatalf("the policy spills to %v (subsets %v), want %v", names, subsets, threeNames)
	}
	var routed []string
	http, _, _ := unstructured.NestedSlice(one(t, cs[0].objs, "VirtualService", "worker").Object, "spec", "http")
	for _, d := range http[0].(map[string]any)["route"].([]any) {
		routed = append(routed, istioAPI.target(d.(map[string]any)))
	}
	if strings.Join(routed, ",") != strings.Join(threeNames, ",") {
		t.Fatalf("the worker's VirtualService routes to %v, want %v", routed, threeNames)
	}
	prefixes := map[string]string{}
	for _, c := range cs {
		prefixes[c.name] = plainEnv(podSpec(t, one(t, c.objs, "Deployment", "worker")))["PREFIX"]
	}
	if prefixes["primary"] != "" || prefixes["burst"] != "bursty-" || prefixes["burst-2"] != "bursty2-" {
		t.Fatalf("the workers' PREFIX by cluster: %v", prefixes)
	}
	// The frontend tells each cluster's hashes by the workers' prefixes.
	if got := plainEnv(podSpec(t, one(t, cs[0].objs, "Deployment", "frontend")))["CLUSTER_PREFIXES"]; got != "burst="+prefixes["burst"]+",burst-2="+prefixes["burst-2"] {
		t.Errorf("the frontend's CLUSTER_PREFIXES %q, want the workers' prefixes %v", got, prefixes)
	}
}

// TestThreeClustersSLORender: the primary cluster of three on the SLO
// (k8s/overlays/three/slo, STRATEGY=slo CLUSTERS=3 make deploy): the real
// istioctl validates and analyzes its objects and its API server accepts
// them; the policy is slo across the three subsets, each burst cluster
// carrying its ready workers × capacityPerEndpointRps, with none of the
// measurements that know two clusters alone (the latency query left to the
// default, which names each cluster by destination_cluster).
func TestThreeClustersSLORender(t *testing.T) {
	istioctl := component.Tool(t, "istioctl")
	c := renderClusters(t, "k8s/overlays/three/slo", "primary")[0]
	istioctlAccepts(t, istioctl, c.objs)
	apply(t, c)
	p := workerPolicy(t, c.objs)
	if errs := p.Validate(); len(errs) > 0 {
		t.Fatalf("the policy is invalid: %v", errs.ToAggregate())
	}
	var subsets []string
	for _, d := range p.Spec.Destinations {
		subsets = append(subsets, d.Subset)
	}
	st, m := p.Spec.Strategy, p.Spec.Measurement.Prometheus
	switch {
	case st.Type != v1alpha1.StrategySLO || st.CapacityPerEndpointRPS != 15:
		t.Errorf("the strategy %+v, want slo with capacityPerEndpointRps 15", st)
	case strings.Join(subsets, ",") != strings.Join(threeNames, ","):
		t.Errorf("the policy spills to the subsets %v, want %v", subsets, threeNames)
	case m == nil || m.LatencyQuery != "" || m.SecurityQuery != "" || m.BudgetQuery != "" || m.DestinationsQuery != "":
		t.Errorf("the measurement %+v, want the rate and the default latency query alone", m)
	}
}

// TestThreeClustersGatewayAPIRender: the three clusters with the worker's
// split as an HTTPRoute (k8s/overlays/three/gatewayapi), as ROUTER=gatewayapi
// CLUSTERS=3 make deploy leaves them. The real istioctl validates and
// analyzes each cluster's objects and its API server accepts them; each
// cluster has the three clusters' worker Services, only its own with a
// selector; the route has a backendRef per cluster in spill order and no
// VirtualService is left; the policy spills across those backends, reading
// the rate alone.
func TestThreeClustersGatewayAPIRender(t *testing.T) {
	istioctl := component.Tool(t, "istioctl")
	backends := []string{"worker-primary", "worker-burst", "worker-burst-2"}
	cs := renderClusters(t, "k8s/overlays/three/gatewayapi", threeNames...)
	for i, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			istioctlAccepts(t, istioctl, c.objs)
			apply(t, c)
			for j, b := range backends {
				_, selects, _ := unstructured.NestedMap(one(t, c.objs, "Service", b).Object, "spec", "selector")
				if selects != (i == j) {
					t.Errorf("Service %s has a selector: %v; want one in %s alone", b, selects, threeNames[j])
				}
			}
		})
	}
	primary := cs[0].objs
	if vs := find(primary, "VirtualService", "worker"); len(vs) != 0 {
		t.Fatal("the worker's VirtualService is left beside the HTTPRoute")
	}
	rules, _, _ := unstructured.NestedSlice(one(t, primary, "HTTPRoute", "worker").Object, "spec", "rules")
	var refs []string
	for _, r := range rules[0].(map[string]any)["backendRefs"].([]any) {
		ref := r.(map[string]any)
		refs = append(refs, fmt.Sprintf("%s=%v", ref["name"], ref["weight"]))
	}
	if want := "worker-primary=100,worker-burst=0,worker-burst-2=0"; strings.Join(refs, ",") != want {
		t.Fatalf("the HTTPRoute's backendRefs %v, want %s", refs, want)
	}
	p := workerPolicy(t, primary)
	if errs := p.Validate(); len(errs) > 0 {
		t.Fatalf("the policy is invalid: %v", errs.ToAggregate())
	}
	var names, refsOf []string
	for _, d := range p.Spec.Destinations {
		names, refsOf = append(names, d.Name), append(refsOf, d.BackendRef)
	}
	m := p.Spec.Measurement.Prometheus
	switch {
	case p.Spec.Route.HTTPRoute == nil || p.Spec.Route.HTTPRoute.Name != "worker" || p.Spec.Route.VirtualService != nil:
		t.Errorf("the policy's route %+v, want the HTTPRoute worker", p.Spec.Route)
	case strings.Join(names, ",") != strings.Join(threeNames, ",") || strings.Join(refsOf, ",") != strings.Join(backends, ","):
		t.Errorf("the policy spills to %v (backends %v), want %v on %v", names, refsOf, threeNames, backends)
	case m == nil || m.DestinationsQuery != "" || m.LatencyQuery != "" || m.SecurityQuery != "" || !strings.Contains(m.Query, "worker-burst-2"):
		t.Errorf("the policy's measurement %+v, want the rate over the three backends alone", m)
	}
}

// TestMeshThreeClusters asks three real istiods, one per cluster on its own
// network, what the proxies are told once the real burster has spilled
// across the three: the frontend's sidecar in primary has the three weights
// it wrote, each burst cluster's share goes to that cluster's east-west
// gateway, and each gateway passes it on to its own workers. Then what
// burst-2's gateway builds its filter chain from is removed by hand (the
// third subset of its DestinationRule; with the HTTPRoute, the worker-burst-2
// Service): its gateway's check fails, naming the third cluster's SNI. For
// both ways of splitting the traffic.
func TestMeshThreeClusters(t *testing.T) { eachAPI(t, testMeshThreeClusters) }

// threeOverlays are the three-cluster overlays of each way of splitting.
var threeOverlays = map[string]string{istioAPI.router: "k8s/overlays/three", gatewayAPI.router: "k8s/overlays/three/gatewayapi"}

func testMeshThreeClusters(t *testing.T, api trafficAPI) {
	m := startMeshOf(t, renderClusters(t, threeOverlays[api.router], threeNames...))
	primary, burst, burst2 := m.Cluster("primary"), m.Cluster("burst"), m.Cluster("burst-2")
	frontend := connect(t, primary, namespace, "frontend")
	gateways := map[string]*xds.Client{}
	for _, c := range []*mesh.Cluster{burst, burst2} {
		gateways[c.Spec.Name] = connect(t, c, mesh.SystemNamespace, "istio-eastwestgateway")
	}
	eventually(t, frontend, "the shipped 100/0/0", routeIs(map[string]uint32{api.sidecarCluster("primary"): 100}))

	// The real burster, with the rendered Deployment and policy: each
	// cluster carries its ready workers × capacityPerEndpointRps. At 300
	// req/s, each worker is 5% of it.
	perEndpoint := workerPolicy(t, primary.Spec.Objects).Spec.Strategy.CapacityPerEndpointRPS
	if perEndpoint != 15 {
		t.Fatalf("the three-cluster policy's capacityPerEndpointRps is %g: the weights below assume 15", perEndpoint)
	}
	workers := map[string]int{}
	for _, c := range m.Clusters {
		workers[c.Spec.Name] = len(podAddresses(c, "worker", 8080))
	}
	// The policy's query sums the requests to the route's destinations.
	reported := map[string]string{istioAPI.router: "worker", gatewayAPI.router: "worker-primary"}[api.router]
	load := promserver.NewLoad(t, fmt.Sprintf(`istio_requests_total{reporter="source",source_workload="frontend",destination_service_name=%q,response_code="200"}`, reported), 300)
	prom := promserver.Start(t, load.Host())
	kubeconfig, err := burst2.Kubeconfig(t, namespace, "burster-remote")
	if err != nil {
		t.Fatal(err)
	}
	putKubeconfigSecret(t, primary, workerPolicy(t, primary.Spec.Objects).Spec.Destinations[2].Readiness.KubeconfigSecret, kubeconfig)
	startBurster(t, primary, burst, prom.URL)
	home, next := 5*workers["primary"], 5*workers["burst"]
	want := map[string]uint32{}
	for name, w := range map[string]int{"primary": home, "burst": next, "burst-2": 100 - home - next} {
		if w > 0 {
			want[api.sidecarCluster(name)] = uint32(w)
		}
	}
	if len(want) != 3 {
		t.Fatalf("workers %v: 300 req/s does not spill across all three", workers)
	}
	started := time.Now()
	eventually(t, frontend, fmt.Sprintf("the burster's %d/%d/%d (workers %v)", home, next, 100-home-next, workers), routeIs(want))
	got, _ := routeWeights(frontend.Snapshot())
	t.Logf("workers %v: the frontend's sidecar routes %v, %s after the burster started", workers, got, time.Since(started).Round(time.Millisecond))

	checks := map[string]func(xds.Snapshot) error{}
	for _, c := range []*mesh.Cluster{burst, burst2} {
		name := c.Spec.Name
		gatewayAddr := loadBalancer(t, c, mesh.SystemNamespace, "istio-eastwestgateway", eastWestPort)
		pods := podAddresses(c, "worker", 8080)
		t.Run(name+"'s share goes to its east-west gateway", func(t *testing.T) {
			eventually(t, frontend, name+" endpoints", endpointsAre(api.sidecarCluster(name), gatewayAddr))
		})
		checks[name] = func(gw xds.Snapshot) error {
			sniName, err := sni(frontend.Snapshot(), api.sidecarCluster(name))
			if err != nil {
				return err
			}
			to, err := gatewayRoute(gw, sniName)
			if err != nil {
				return err
			}
			return endpointsAre(to, pods...)(gw)
		}
		t.Run(name+"'s gateway passes its share to its workers", func(t *testing.T) {
			eventually(t, gateways[name], name+" gateway to its workers", checks[name])
		})
	}

	// What burst-2's gateway builds the third share's filter chain from.
	removed, gvr, name, reason := "DestinationRule", destinationRules, "worker", "no filter chain for SNI outbound_.8080_.burst-2_"
	if api.router == gatewayAPI.router {
		removed, gvr, name, reason = "worker-burst-2 Service", services, "worker-burst-2", "worker-burst-2."+namespace+".svc.cluster.local has endpoints []"
	}
	t.Run("control: the third cluster's "+removed+" removed", func(t *testing.T) {
		restore := sync.OnceFunc(removeObject(t, burst2, gvr, name))
		t.Cleanup(restore)
		failsWith(t, gateways["burst-2"], reason, checks["burst-2"])
		restore()
		eventually(t, gateways["burst-2"], "put back", checks["burst-2"])
	})
}
