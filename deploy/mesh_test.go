package deploy

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh"
	"github.com/cloudburst-demo/cloudburst/testkit/mesh/xds"
)

// The addresses the harness gives each cluster's pods and load balancers.
// Nothing ever connects to them: they only appear in what istiod sends.
var subnets = map[string][2]string{
	"primary": {"10.10.0", "172.18.10"},
	"burst":   {"10.20.0", "172.18.20"},
	"burst-2": {"10.30.0", "172.18.30"},
}

// startMesh brings up both clusters as `make clusters` and `make deploy`
// would leave them, with one way of splitting the traffic: each one's Istio
// install (rendered by the real istioctl from deploy/mesh), the Gateway
// API's CRDs, the certificates from deploy/mesh/gen-certs.sh, the network
// label, the remote secrets, and the rendered overlays; then one real
// istiod per cluster.
func startMesh(t testing.TB, api trafficAPI) *mesh.Mesh {
	t.Helper()
	return startMeshOf(t, clusters(t, api))
}

// startMeshOf is startMesh for the rendered clusters cs, each installed
// from its deploy/mesh files.
func startMeshOf(t testing.TB, cs []cluster) *mesh.Mesh {
	t.Helper()
	istioctl := component.Tool(t, "istioctl")
	component.Require(t, "apt-get install -y --no-install-recommends openssl", "openssl")
	certs := t.TempDir()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name
	}
	if out, err := exec.Command(filepath.Join(root, "deploy", "mesh", "gen-certs.sh"), append([]string{certs}, names...)...).CombinedOutput(); err != nil {
		t.Fatalf("gen-certs.sh: %v\n%s", err, out)
	}
	var specs []mesh.ClusterSpec
	for _, c := range cs {
		file := filepath.Join(root, "deploy", "mesh", c.name+".yaml")
		operator := kube.Objects(t, file)[0]
		name, _, _ := unstructured.NestedString(operator.Object, "spec", "values", "global", "multiCluster", "clusterName")
		network, _, _ := unstructured.NestedString(operator.Object, "spec", "values", "global", "network")
		if name != c.name || network == "" {
			t.Fatalf("%s: clusterName %q (want %q), network %q", file, name, c.name, network)
		}
		var install []*unstructured.Unstructured
		for _, f := range []string{c.name, "eastwest-" + c.name} {
			out, err := exec.Command(istioctl, "manifest", "generate", "-f", filepath.Join(root, "deploy", "mesh", f+".yaml")).Output()
			if err != nil {
				t.Fatalf("istioctl manifest generate %s: %v", f, err)
			}
			objs, err := kube.Decode(out)
			if err != nil {
				t.Fatalf("decoding the %s install: %v", f, err)
			}
			install = append(install, objs...)
		}
		var objs []*unstructured.Unstructured
		for _, o := range c.objs {
			if o.GetKind() == "Namespace" && o.GetName() == mesh.SystemNamespace {
				continue // the harness makes it, labelled, as make clusters does
			}
			objs = append(objs, o)
		}
		specs = append(specs, mesh.ClusterSpec{
			Name: name, Network: network, Install: install, Objects: objs,
			CACerts: filepath.Join(certs, c.name), PodSubnet: subnets[c.name][0], LoadBalancerSubnet: subnets[c.name][1],
		})
	}
	return mesh.Start(t, specs...)
}

// pushTimeout bounds how long istiod may take to send a change.
const pushTimeout = 30 * time.Second

// TestMesh asks the two real istiods what each proxy of a burst is told:
// the frontend's sidecar in primary, both east-west gateways, and the
// worker's sidecar in burst; once with the split as a VirtualService, once
// as an HTTPRoute. Then the negative controls break one piece of
// configuration at a time, see the matching check fail for that reason, and
// put it back.
func TestMesh(t *testing.T) { eachAPI(t, testMesh) }

func testMesh(t *testing.T, api trafficAPI) {
	m := startMesh(t, api)
	primary, burst := m.Cluster("primary"), m.Cluster("burst")
	ctx := context.Background()
	frontend := connect(t, primary, namespace, "frontend")
	burstWorker := connect(t, burst, namespace, "worker")
	burstGateway := connect(t, burst, mesh.SystemNamespace, "istio-eastwestgateway")
	primaryGateway := connect(t, primary, mesh.SystemNamespace, "istio-eastwestgateway")

	primaryWorkers := podAddresses(primary, "worker", 8080)
	burstWorkers := podAddresses(burst, "worker", 8080)
	burstGatewayAddr := loadBalancer(t, burst, mesh.SystemNamespace, "istio-eastwestgateway", eastWestPort)
	primaryGatewayAddr := loadBalancer(t, primary, mesh.SystemNamespace, "istio-eastwestgateway", eastWestPort)

	// Each check, as one function, so the negative controls reuse it.
	primarySubset := endpointsAre(api.sidecarCluster("primary"), primaryWorkers...)
	burstSubset := func(s xds.Snapshot) error {
		if err := endpointsAre(api.sidecarCluster("burst"), burstGatewayAddr)(s); err != nil {
			got, _ := endpoints(s, api.sidecarCluster("burst"))
			for _, a := range got {
				if slices.Contains(burstWorkers, a) {
					return fmt.Errorf("%w: %s is a pod of the burst cluster, unreachable from primary's network", err, a)
				}
				if slices.Contains(primaryWorkers, a) {
					return fmt.Errorf("%w: %s is a primary pod, the burst share would stay in primary", err, a)
				}
			}
			return err
		}
		return nil
	}
	// passesGateway: the SNI the caller's sidecar sends for cluster is one
	// the other cluster's gateway passes on, to a cluster whose endpoints
	// are the target pods.
	passesGateway := func(caller *xds.Client, cluster string, gateway *xds.Client, pods []string) func(xds.Snapshot) error {
		return func(gw xds.Snapshot) error {
			name, err := sni(caller.Snapshot(), cluster)
			if err != nil {
				return err
			}
			to, err := gatewayRoute(gw, name)
			if err != nil {
				return err
			}
			return endpointsAre(to, pods...)(gw)
		}
	}
	burstGatewayPasses := passesGateway(frontend, api.sidecarCluster("burst"), burstGateway, burstWorkers)
	redisBehindGateway := endpointsAre(redisCluster, primaryGatewayAddr)
	primaryGatewayPasses := passesGateway(burstWorker, redisCluster, primaryGateway, podAddresses(primary, "redis", 6379))
	admitsFrontend := admits(8080, frontendPrincipal, "spiffe://cluster.local/ns/"+namespace+"/sa/worker")

	t.Run("frontend route has the "+api.kind+"'s weights", func(t *testing.T) {
		eventually(t, frontend, "the shipped 100/0", routeIs(api.wantRoute(100, 0)))
		restore := api.changeWeights(t, primary, 30, 70)
		eventually(t, frontend, "30/70 after an update", routeIs(api.wantRoute(30, 70)))
		restore()
		eventually(t, frontend, "100/0 again", routeIs(api.wantRoute(100, 0)))
	})
	t.Run("primary share is the primary pods", func(t *testing.T) {
		eventually(t, frontend, "primary endpoints", primarySubset)
	})
	t.Run("burst share is burst's east-west gateway", func(t *testing.T) {
		eventually(t, frontend, "burst endpoints", burstSubset)
	})
	t.Run("burst gateway passes the burst share on", func(t *testing.T) {
		eventually(t, frontend, "the frontend's clusters", func(s xds.Snapshot) error { _, err := sni(s, api.sidecarCluster("burst")); return err })
		eventually(t, burstGateway, "burst gateway to the burst workers", burstGatewayPasses)
	})
	t.Run("burst worker reaches redis through primary's gateway", func(t *testing.T) {
		eventually(t, burstWorker, "redis endpoints in burst", redisBehindGateway)
		eventually(t, primaryGateway, "primary gateway to redis", primaryGatewayPasses)
	})
	t.Run("burst worker admits the frontend only", func(t *testing.T) {
		eventually(t, burstWorker, "inbound authorization", admitsFrontend)
	})
	t.Run("one root of trust", func(t *testing.T) {
		// Each istiod signs with its cluster's intermediate; both chain to
		// the same root, so a workload of one cluster trusts the other's.
		for _, c := range m.Clusters {
			verifyChain(t, c.Spec.CACerts, primary.Spec.CACerts)
		}
	})

	t.Run("the real burster bursts and returns at the sidecar", func(t *testing.T) {
		r := burstAtSidecar(t, api, primary, burst, frontend)
		t.Logf("rate step to push %s, %s write to push %s", r.StepToPush.Round(time.Millisecond), api.kind, r.WriteToPush.Round(time.Millisecond))
	})
	t.Run("the real burster never bursts into a cluster with no ready worker", func(t *testing.T) {
		burstNotReadyAtSidecar(t, api, primary, burst, frontend)
	})
	t.Run("the real burster on the SLO spills only the excess at the sidecar", func(t *testing.T) {
		sloAtSidecar(t, api, primary, burst, frontend)
	})
	if api.router == istioAPI.router {
		t.Run("the real burster on the SLO settles a load step within 45 s in the clusters' configuration", func(t *testing.T) {
			sloSettlesInClusters(t, api, primary, burst, frontend)
		})
	}

	// Negative controls: each breaks one thing, the check that depends on
	// it fails for that reason, and passes again once it is put back (also
	// when the control fails, so the next one starts from a sound mesh).
	control := func(name string, check func(xds.Snapshot) error, proxy *xds.Client, reason string, brk func(t *testing.T) (restore func())) {
		t.Run("control: "+name, func(t *testing.T) {
			restore := sync.OnceFunc(brk(t))
			t.Cleanup(restore)
			failsWith(t, proxy, reason, check)
			restore()
			eventually(t, proxy, "put back", check)
		})
	}
	switch api.router {
	case istioAPI.router:
		control("the VirtualService naming a subset the DestinationRule lacks", routeIs(api.wantRoute(100, 0)), frontend,
			"outbound|8080|primry|", func(t *testing.T) func() { return setSubset(t, primary, 0, "primry") })
		control("the primary subset selecting a cluster name that does not exist", primarySubset, frontend,
			"has endpoints []", func(t *testing.T) func() { return setSubsetCluster(t, primary, "primary", "primry") })
		control("a subset missing from primary's DestinationRule", burstSubset, frontend,
			"no cluster "+api.sidecarCluster("burst"), func(t *testing.T) func() { return dropSubset(t, primary, "burst") })
		control("a subset missing from burst's DestinationRule", burstGatewayPasses, burstGateway,
			"no filter chain for SNI outbound_.8080_.burst_", func(t *testing.T) func() { return dropSubset(t, burst, "burst") })
	case gatewayAPI.router:
		// The sidecar is sent a route to a cluster that does not exist:
		// Envoy would answer 503 to every request.
		control("the HTTPRoute naming a backend Service that does not exist", routeIs(api.wantRoute(100, 0)), frontend,
			"outbound|8080||worker-primry.", func(t *testing.T) func() { return setBackend(t, primary, 0, "worker-primry") })
		control("worker-burst selecting primary's workers in primary too", burstSubset, frontend,
			"is a primary pod", func(t *testing.T) func() {
				return setSelector(t, primary, "worker-burst", map[string]any{"app": "worker"})
			})
		// The gateway still knows the name (from primary's Service) but
		// has nowhere to pass the connection to.
		control("worker-burst missing from the burst cluster", burstGatewayPasses, burstGateway,
			"worker-burst."+namespace+".svc.cluster.local has endpoints []", func(t *testing.T) func() { return remove(t, burst, "worker-burst") })
	}
	// withoutRemoteSecret: c's istiod no longer reads other's API server.
	withoutRemoteSecret := func(c, other *mesh.Cluster) func(t *testing.T) func() {
		return func(t *testing.T) func() {
			if err := c.RemoveRemoteSecret(ctx, other.Spec.Name); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := c.AddRemoteSecret(ctx, t, other); err != nil {
					t.Error(err)
				}
			}
		}
	}
	control("no remote secret", burstSubset, frontend, "has endpoints []", withoutRemoteSecret(primary, burst))
	control("no remote secret in burst", redisBehindGateway, burstWorker, "has endpoints []", withoutRemoteSecret(burst, primary))
	control("the worker's AuthorizationPolicy naming another identity", admitsFrontend, burstWorker,
		"does not admit "+frontendPrincipal, func(t *testing.T) func() {
			return setPrincipals(t, burst, "worker", "cluster.local/ns/"+namespace+"/sa/someone-else")
		})
	control("burst's east-west gateway labelled with primary's network", burstSubset, frontend,
		"is a pod of the burst cluster", func(t *testing.T) func() {
			gw := "services/istio-eastwestgateway"
			setNetwork(t, burst, gw, primary.Spec.Network)
			return func() { setNetwork(t, burst, gw, burst.Spec.Network) }
		})
	control("burst's worker labelled with primary's network", burstSubset, frontend,
		"is a pod of the burst cluster", func(t *testing.T) func() {
			pod := "pods/" + burst.Pod(namespace, "worker").Name
			setNetwork(t, burst, pod, primary.Spec.Network)
			return func() { setNetwork(t, burst, pod, burst.Spec.Network) }
		})
}

// connect opens the xDS stream a Deployment's proxy would, closed when the
// test ends.
func connect(t *testing.T, c *mesh.Cluster, ns, deployment string) *xds.Client {
	t.Helper()
	cl, err := c.Connect(context.Background(), ns, deployment)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// eventually waits until what the proxy was told passes check.
func eventually(t *testing.T, c *xds.Client, what string, check func(xds.Snapshot) error) {
	t.Helper()
	if err := c.Wait(context.Background(), pushTimeout, check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// failsWith waits until check fails with an error containing reason.
func failsWith(t *testing.T, c *xds.Client, reason string, check func(xds.Snapshot) error) {
	t.Helper()
	err := c.Wait(context.Background(), pushTimeout, func(s xds.Snapshot) error {
		err := check(s)
		if err != nil && strings.Contains(err.Error(), reason) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("the check still passes")
		}
		return fmt.Errorf("the check fails for another reason: %w", err)
	})
	if err != nil {
		t.Fatalf("want the check to fail with %q: %v", reason, err)
	}
}

// podAddresses are the addresses of a Deployment's pods on a port.
func podAddresses(c *mesh.Cluster, deployment string, port int) []string {
	var out []string
	for _, p := range c.Pods {
		if p.Deployment == deployment {
			out = append(out, fmt.Sprintf("%s:%d", p.IP(), port))
		}
	}
	return out
}

// loadBalancer is the address a LoadBalancer Service was given, on a port.
func loadBalancer(t *testing.T, c *mesh.Cluster, ns, name string, port int) string {
	t.Helper()
	svc, err := c.API.Clientset(t).CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || len(svc.Status.LoadBalancer.Ingress) == 0 {
		t.Fatalf("%s/%s in %s has no load balancer address", ns, name, c.Spec.Name)
	}
	return fmt.Sprintf("%s:%d", svc.Status.LoadBalancer.Ingress[0].IP, port)
}

// change updates one object with mutate (strict field validation) and
// returns the function that writes it back as it was.
func change(t *testing.T, ri dynamic.ResourceInterface, name string, mutate func(o map[string]any)) (restore func()) {
	t.Helper()
	ctx := context.Background()
	orig, err := ri.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := orig.DeepCopy()
	mutate(changed.Object)
	if _, err := ri.Update(ctx, changed, metav1.UpdateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		cur, err := ri.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		back := orig.DeepCopy()
		back.SetResourceVersion(cur.GetResourceVersion())
		if _, err := ri.Update(ctx, back, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	services              = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	destinationRules      = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
	authorizationPolicies = schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: "authorizationpolicies"}
)

func workerObject(t *testing.T, c *mesh.Cluster, gvr schema.GroupVersionResource) dynamic.ResourceInterface {
	return c.API.Dynamic(t).Resource(gvr).Namespace(namespace)
}

// setBackend changes the Service of one backendRef of the worker
// HTTPRoute's first rule.
func setBackend(t *testing.T, c *mesh.Cluster, ref int, service string) func() {
	return change(t, workerObject(t, c, httpRoutes), "worker", func(o map[string]any) {
		rules, _, _ := unstructured.NestedSlice(o, "spec", "rules")
		rules[0].(map[string]any)["backendRefs"].([]any)[ref].(map[string]any)["name"] = service
		_ = unstructured.SetNestedSlice(o, rules, "spec", "rules")
	})
}

// setSelector gives a Service another selector and publishes its endpoints
// as the EndpointSlice controller would.
func setSelector(t *testing.T, c *mesh.Cluster, service string, selector map[string]any) func() {
	t.Helper()
	ctx := context.Background()
	restore := change(t, c.API.Dynamic(t).Resource(services).Namespace(namespace), service, func(o map[string]any) {
		_ = unstructured.SetNestedMap(o, selector, "spec", "selector")
	})
	if err := c.Publish(ctx, namespace, service); err != nil {
		t.Fatal(err)
	}
	return func() {
		restore()
		if err := c.Publish(ctx, namespace, service); err != nil {
			t.Error(err)
		}
	}
}

// remove deletes a Service and returns the function that creates it again.
func remove(t *testing.T, c *mesh.Cluster, service string) func() {
	t.Helper()
	return removeObject(t, c, services, service)
}

// removeObject deletes an object of the namespace and returns the function
// that creates it again.
func removeObject(t *testing.T, c *mesh.Cluster, gvr schema.GroupVersionResource, service string) func() {
	t.Helper()
	ctx := context.Background()
	ri := c.API.Dynamic(t).Resource(gvr).Namespace(namespace)
	orig, err := ri.Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ri.Delete(ctx, service, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() {
		back := orig.DeepCopy()
		back.SetResourceVersion("")
		back.SetUID("")
		if _, err := ri.Create(ctx, back, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
	}
}

// setSubset changes the subset of one destination of the worker
// VirtualService.
func setSubset(t *testing.T, c *mesh.Cluster, destination int, subset string) func() {
	return change(t, workerObject(t, c, virtualServices), "worker", func(o map[string]any) {
		http, _, _ := unstructured.NestedSlice(o, "spec", "http")
		route := http[0].(map[string]any)["route"].([]any)
		route[destination].(map[string]any)["destination"].(map[string]any)["subset"] = subset
		_ = unstructured.SetNestedSlice(o, http, "spec", "http")
	})
}

// setSubsetCluster makes a subset of the worker's DestinationRule select
// the endpoints of another cluster name.
func setSubsetCluster(t *testing.T, c *mesh.Cluster, subset, cluster string) func() {
	return change(t, workerObject(t, c, destinationRules), "worker", func(o map[string]any) {
		subsets, _, _ := unstructured.NestedSlice(o, "spec", "subsets")
		for _, s := range subsets {
			if s.(map[string]any)["name"] == subset {
				s.(map[string]any)["labels"] = map[string]any{"topology.istio.io/cluster": cluster}
			}
		}
		_ = unstructured.SetNestedSlice(o, subsets, "spec", "subsets")
	})
}

// dropSubset removes a subset from the worker's DestinationRule.
func dropSubset(t *testing.T, c *mesh.Cluster, subset string) func() {
	return change(t, workerObject(t, c, destinationRules), "worker", func(o map[string]any) {
		subsets, _, _ := unstructured.NestedSlice(o, "spec", "subsets")
		subsets = slices.DeleteFunc(subsets, func(s any) bool { return s.(map[string]any)["name"] == subset })
		_ = unstructured.SetNestedSlice(o, subsets, "spec", "subsets")
	})
}

// setPrincipals makes an AuthorizationPolicy admit only the given principal.
func setPrincipals(t *testing.T, c *mesh.Cluster, name, principal string) func() {
	return change(t, workerObject(t, c, authorizationPolicies), name, func(o map[string]any) {
		rules := []any{map[string]any{"from": []any{map[string]any{"source": map[string]any{"principals": []any{principal}}}}}}
		_ = unstructured.SetNestedSlice(o, rules, "spec", "rules")
	})
}

// setNetwork sets the network label of a Service or Pod ("services/NAME",
// "pods/NAME") in its namespace: the gateway's Service in istio-system, the
// worker's pod in the application namespace.
func setNetwork(t *testing.T, c *mesh.Cluster, object, network string) {
	t.Helper()
	kind, name, _ := strings.Cut(object, "/")
	ns := namespace
	if kind == "services" {
		ns = mesh.SystemNamespace
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, mesh.NetworkLabel, network)
	err := c.API.Clientset(t).CoreV1().RESTClient().Patch(types.MergePatchType).
		Namespace(ns).Resource(kind).Name(name).Body([]byte(patch)).Do(context.Background()).Error()
	if err != nil {
		t.Fatalf("%s: labelling %s: %v", c.Spec.Name, object, err)
	}
}

// verifyChain checks that a cluster's intermediate CA chains to the root in
// another cluster's cacerts.
func verifyChain(t *testing.T, dir, rootDir string) {
	t.Helper()
	cert := func(path string) *x509.Certificate {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		if block == nil {
			t.Fatalf("%s: no PEM", path)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert(filepath.Join(rootDir, "root-cert.pem")))
	ca := cert(filepath.Join(dir, "ca-cert.pem"))
	if !ca.IsCA {
		t.Fatalf("%s/ca-cert.pem is not a CA", dir)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("%s/ca-cert.pem does not chain to the shared root: %v", dir, err)
	}
}
