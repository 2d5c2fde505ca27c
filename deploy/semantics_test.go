package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func str(o map[string]any, path ...string) string {
	v, _, _ := unstructured.NestedString(o, path...)
	return v
}

func slice(o map[string]any, path ...string) []any {
	v, _, _ := unstructured.NestedSlice(o, path...)
	return v
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// num reads a decoded YAML number (float64) or an int64; absent is 0.
func num(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

// shortHost reduces worker, worker.cloudburst and the FQDN to worker.
func shortHost(h string) string { return strings.Split(h, ".")[0] }

// TestIstioSemantics checks what the CRD schemas do not: every destination
// host is a Service in that cluster, every subset exists in the host's
// DestinationRule, weights are whole percentages summing to 100, gateways
// exist, HTTPRoutes attach to and route to Services that exist, and
// policies name identities that exist.
func TestIstioSemantics(t *testing.T) { eachAPI(t, testIstioSemantics) }

func testIstioSemantics(t *testing.T, api trafficAPI) {
	for _, c := range clusters(t, api) {
		t.Run(c.name, func(t *testing.T) {
			services := map[string]bool{}
			for _, s := range find(c.objs, "Service", "") {
				services[s.GetName()] = true
			}
			subsets := map[string]map[string]bool{}
			for _, dr := range find(c.objs, "DestinationRule", "") {
				host := shortHost(str(dr.Object, "spec", "host"))
				if !services[host] {
					t.Errorf("DestinationRule %s: host %q is not a Service here", dr.GetName(), host)
				}
				subsets[host] = map[string]bool{}
				for _, s := range slice(dr.Object, "spec", "subsets") {
					subsets[host][str(obj(s), "name")] = true
					if len(obj(obj(s)["labels"])) == 0 {
						t.Errorf("DestinationRule %s: subset %s selects nothing", dr.GetName(), str(obj(s), "name"))
					}
				}
			}
			for _, vs := range find(c.objs, "VirtualService", "") {
				for _, g := range slice(vs.Object, "spec", "gateways") {
					if g != "mesh" && len(find(c.objs, "Gateway", g.(string))) == 0 {
						t.Errorf("VirtualService %s: gateway %q does not exist", vs.GetName(), g)
					}
				}
				for i, h := range slice(vs.Object, "spec", "http") {
					route := slice(obj(h), "route")
					sum := int64(0)
					for _, d := range route {
						dest := obj(obj(d)["destination"])
						host := shortHost(str(dest, "host"))
						if !services[host] {
							t.Errorf("VirtualService %s http[%d]: host %q is not a Service here", vs.GetName(), i, host)
						}
						if sub := str(dest, "subset"); sub != "" && !subsets[host][sub] {
							t.Errorf("VirtualService %s http[%d]: subset %q not in the DestinationRule of %s", vs.GetName(), i, sub, host)
						}
						w := num(obj(d)["weight"])
						if w < 0 || w > 100 {
							t.Errorf("VirtualService %s http[%d]: weight %d", vs.GetName(), i, w)
						}
						sum += w
					}
					if len(route) > 1 && sum != 100 {
						t.Errorf("VirtualService %s http[%d]: weights sum to %d", vs.GetName(), i, sum)
					}
				}
			}
			for _, hr := range find(c.objs, "HTTPRoute", "") {
				for _, p := range slice(hr.Object, "spec", "parentRefs") {
					if str(obj(p), "kind") != "Service" || !services[str(obj(p), "name")] {
						t.Errorf("HTTPRoute %s: parent %v is not a Service here", hr.GetName(), p)
					}
				}
				for i, r := range slice(hr.Object, "spec", "rules") {
					refs := slice(obj(r), "backendRefs")
					sum := int64(0)
					for _, ref := range refs {
						if !services[str(obj(ref), "name")] {
							t.Errorf("HTTPRoute %s rules[%d]: backend %q is not a Service here", hr.GetName(), i, str(obj(ref), "name"))
						}
						sum += num(obj(ref)["weight"])
					}
					// The burster writes percentages; the API takes any proportions.
					if len(refs) > 1 && sum != 100 {
						t.Errorf("HTTPRoute %s rules[%d]: weights sum to %d", hr.GetName(), i, sum)
					}
				}
			}
			accounts := map[string]bool{}
			for _, sa := range find(c.objs, "ServiceAccount", "") {
				accounts["cluster.local/ns/"+sa.GetNamespace()+"/sa/"+sa.GetName()] = true
			}
			for _, ap := range find(c.objs, "AuthorizationPolicy", "") {
				for _, r := range slice(ap.Object, "spec", "rules") {
					for _, f := range slice(obj(r), "from") {
						for _, p := range slice(obj(obj(f)["source"]), "principals") {
							p := p.(string)
							// Identities of the other cluster and of Istio's
							// own gateways are not in this set.
							if strings.Contains(p, "/ns/istio-system/") || !strings.Contains(p, "/ns/cloudburst/") {
								continue
							}
							if !accounts[p] && c.name == "primary" {
								t.Errorf("AuthorizationPolicy %s names %s, which no ServiceAccount here has", ap.GetName(), p)
							}
						}
					}
				}
			}
		})
	}
}

// TestConsistency checks the cross-references a typo would break.
func TestConsistency(t *testing.T) { eachAPI(t, testConsistency) }

func testConsistency(t *testing.T, api trafficAPI) {
	for _, c := range clusters(t, api) {
		t.Run(c.name, func(t *testing.T) {
			deployments := find(c.objs, "Deployment", "")
			for _, svc := range find(c.objs, "Service", "") {
				sel := obj(obj(svc.Object["spec"])["selector"])
				// The Gateway API's per-cluster Services select their
				// cluster's workers there and nothing in the other cluster.
				other := map[string]string{"primary": "worker-burst", "burst": "worker-primary"}[c.name]
				if perCluster := api.router == gatewayAPI.router && svc.GetName() == other; perCluster != (len(sel) == 0) {
					t.Errorf("Service %s in %s: selector %v", svc.GetName(), c.name, sel)
				}
				if len(sel) == 0 {
					continue
				}
				var match *unstructured.Unstructured
				for _, d := range deployments {
					labels := obj(obj(obj(obj(d.Object["spec"])["template"])["metadata"])["labels"])
					ok := true
					for k, v := range sel {
						ok = ok && labels[k] == v
					}
					if ok {
						match = d
					}
				}
				if match == nil {
					// By design: the burst cluster has Redis' Service alone.
					if !(c.name == "burst" && svc.GetName() == "redis") {
						t.Errorf("Service %s selects no pods in %s", svc.GetName(), c.name)
					}
					continue
				}
				ports := map[string]bool{}
				for _, ctr := range slice(match.Object, "spec", "template", "spec", "containers") {
					for _, p := range slice(obj(ctr), "ports") {
						ports[str(obj(p), "name")] = true
						ports[fmt.Sprint(obj(p)["containerPort"])] = true
					}
				}
				for _, p := range slice(svc.Object, "spec", "ports") {
					if tp := fmt.Sprint(obj(p)["targetPort"]); !ports[tp] {
						t.Errorf("Service %s targets port %s, which %s does not expose", svc.GetName(), tp, match.GetName())
					}
				}
			}
			for _, d := range deployments {
				// metrics-server is the upstream release, kept as released.
				if d.GetNamespace() != "kube-system" {
					checkPod(t, d)
				}
			}
		})
	}
}

// checkPod holds every Deployment to the project's pod security and
// resource rules, and its ServiceAccount to exist.
func checkPod(t *testing.T, d *unstructured.Unstructured) {
	t.Helper()
	pod := obj(obj(obj(d.Object["spec"])["template"])["spec"])
	sc := obj(pod["securityContext"])
	if sc["runAsNonRoot"] != true || str(sc, "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("Deployment %s: pod securityContext needs runAsNonRoot and seccomp RuntimeDefault", d.GetName())
	}
	for _, c := range slice(pod, "containers") {
		c := obj(c)
		csc := obj(c["securityContext"])
		drop := slice(csc, "capabilities", "drop")
		if csc["allowPrivilegeEscalation"] != false || csc["readOnlyRootFilesystem"] != true || !slices.Contains(drop, any("ALL")) {
			t.Errorf("Deployment %s/%s: container securityContext incomplete", d.GetName(), str(c, "name"))
		}
		for _, kind := range []string{"requests", "limits"} {
			r := obj(obj(c["resources"])[kind])
			if r["cpu"] == nil || r["memory"] == nil {
				t.Errorf("Deployment %s/%s: resources.%s need cpu and memory", d.GetName(), str(c, "name"), kind)
			}
		}
		if c["readinessProbe"] == nil || c["livenessProbe"] == nil {
			t.Errorf("Deployment %s/%s: needs readiness and liveness probes", d.GetName(), str(c, "name"))
		}
		if img := str(c, "image"); !strings.Contains(img, "/") {
			// Our images: the probes are the services' contract.
			if p := str(obj(c["readinessProbe"]), "httpGet", "path"); p != "/readyz" {
				t.Errorf("Deployment %s: readiness probe %q, want /readyz", d.GetName(), p)
			}
			if p := str(obj(c["livenessProbe"]), "httpGet", "path"); p != "/healthz" {
				t.Errorf("Deployment %s: liveness probe %q, want /healthz", d.GetName(), p)
			}
		}
	}
}

// TestBursterTargetsAgree: the route the worker's BurstPolicy names (a
// VirtualService or an HTTPRoute, by name) is the one the manifests ship,
// the burster's Role lets it read and move routes of that kind, the
// destinations are the subsets the DestinationRule defines or the backends
// the HTTPRoute weighs, and its query counts requests under the names the
// sidecars report them with.
func TestBursterTargetsAgree(t *testing.T) { eachAPI(t, testBursterTargetsAgree) }

func testBursterTargetsAgree(t *testing.T, api trafficAPI) {
	objs := clusters(t, api)[0].objs
	policy := workerPolicy(t, objs)
	route, ds := policy.Spec.Route, policy.Spec.Destinations
	var name string
	var targets []string
	switch {
	case api.router == gatewayAPI.router && route.HTTPRoute != nil:
		name, targets = route.HTTPRoute.Name, []string{ds[0].BackendRef, ds[1].BackendRef}
	case api.router != gatewayAPI.router && route.VirtualService != nil:
		name, targets = route.VirtualService.Name, []string{ds[0].Subset, ds[1].Subset}
	default:
		t.Fatalf("the worker's BurstPolicy names the route %+v, want a %s", route, api.kind)
	}
	moved := one(t, objs, api.kind, name)
	verbs := map[string]bool{}
	for _, r := range slice(one(t, objs, "Role", "burster").Object, "rules") {
		if slices.Contains(slice(obj(r), "resources"), any(api.gvr.Resource)) && len(slice(obj(r), "resourceNames")) == 0 {
			for _, v := range slice(obj(r), "verbs") {
				verbs[v.(string)] = true
			}
		}
	}
	for _, v := range []string{"get", "list", "watch", "update"} {
		if !verbs[v] {
			t.Fatalf("the burster's Role does not let it %s the namespace's %s", v, api.gvr.Resource)
		}
	}
	query := policy.Spec.Measurement.Prometheus.Query
	if api.router == gatewayAPI.router {
		refs := map[string]bool{}
		for _, r := range slice(moved.Object, "spec", "rules") {
			for _, ref := range slice(obj(r), "backendRefs") {
				refs[str(obj(ref), "name")] = true
			}
		}
		for _, want := range targets {
			if !refs[want] {
				t.Fatalf("HTTPRoute %s does not route to %s", name, want)
			}
			one(t, objs, "Service", want)
			// The sidecar reports requests under the backend's Service.
			if !strings.Contains(query, want) {
				t.Fatalf("the policy's query %q does not count requests to %s", query, want)
			}
		}
	} else {
		primary, _, err := api.pair(slice(moved.Object, api.rules...))
		if err != nil {
			t.Fatal(err)
		}
		host := shortHost(str(obj(primary["destination"]), "host"))
		var subsets []string
		for _, dr := range find(objs, "DestinationRule", "") {
			if shortHost(str(dr.Object, "spec", "host")) == host {
				for _, s := range slice(dr.Object, "spec", "subsets") {
					subsets = append(subsets, str(obj(s), "name"))
				}
			}
		}
		for _, want := range targets {
			if !slices.Contains(subsets, want) {
				t.Fatalf("no DestinationRule of %s defines subset %s (have %v)", host, want, subsets)
			}
		}
	}

	// The query's rate window holds at least four of Prometheus' scrapes.
	m := regexp.MustCompile(`\[(\d+[smh])\]`).FindStringSubmatch(query)
	if m == nil {
		t.Fatalf("the policy's query %q has no rate window", query)
	}
	window, _ := time.ParseDuration(m[1])
	var promCfg struct {
		Global struct {
			ScrapeInterval string `json:"scrape_interval"`
		} `json:"global"`
	}
	cm := find(objs, "ConfigMap", "")
	var raw string
	for _, c := range cm {
		if strings.HasPrefix(c.GetName(), "prometheus") {
			raw = str(c.Object, "data", "prometheus.yml")
		}
	}
	if err := yaml.Unmarshal([]byte(raw), &promCfg); err != nil {
		t.Fatal(err)
	}
	interval, err := time.ParseDuration(promCfg.Global.ScrapeInterval)
	if err != nil || window < 4*interval {
		t.Fatalf("rate window %s holds fewer than four scrapes of %q", window, promCfg.Global.ScrapeInterval)
	}
}
