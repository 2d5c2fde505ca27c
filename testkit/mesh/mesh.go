// Package mesh runs Istio's multi-primary, multi-network control plane on
// loopback for tests: per cluster a real kube-apiserver and etcd with Istio's
// CRDs, and a real istiod (pilot-discovery) reading it and, through a remote
// secret, the other clusters' API servers. No kubelet runs: Pods (made ready,
// with an IP, injected by the real `istioctl kube-inject` where the namespace
// or template asks for a sidecar) and EndpointSlices stand for the running
// workloads, and LoadBalancer Services get an address in their status as a
// cloud's load balancer would give them. What istiod then sends each proxy is
// read with package xds.
package mesh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// ClusterSpec is one cluster: what is installed and deployed to it.
type ClusterSpec struct {
	// Name is the cluster ID istiod is given (values.global.multiCluster.clusterName).
	Name string
	// Network is the cluster's network: the label put on istio-system, as
	// `make clusters` does.
	Network string
	// Install is what `istioctl install` applies: the output of `istioctl
	// manifest generate` for the cluster's IstioOperator files. Its istiod
	// Deployment gives the istiod process its arguments and environment; its
	// webhook configurations are left out (the API server could not call
	// them) and its CRDs are added to those already installed.
	Install []*unstructured.Unstructured
	// Objects is what is deployed after installation: the overlay, the
	// exposed-services Gateway, Prometheus.
	Objects []*unstructured.Unstructured
	// CACerts is the directory holding the cluster's cacerts files
	// (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem).
	CACerts string
	// PodSubnet is the first three octets of the pods' addresses ("10.10.0");
	// LoadBalancerSubnet the same for LoadBalancer Services' addresses.
	PodSubnet          string
	LoadBalancerSubnet string
}

// Mesh is the running clusters.
type Mesh struct {
	Clusters []*Cluster
}

// Cluster is one running cluster and its istiod.
type Cluster struct {
	Spec ClusterSpec
	API  *kube.Env
	// XDS is istiod's plaintext xDS address; HTTP its debug and readiness address.
	XDS, HTTP string
	// Pods are the pods standing for the cluster's workloads.
	Pods []Pod

	istiod *process.Process
	logs   *process.Log
}

// Cluster returns the named cluster.
func (m *Mesh) Cluster(name string) *Cluster {
	for _, c := range m.Clusters {
		if c.Spec.Name == name {
			return c
		}
	}
	panic(fmt.Sprintf("mesh: no cluster %q", name))
}

// Start brings up every cluster and its istiod, joins them with remote
// secrets, and returns once each istiod is ready and has synced every other
// cluster. Everything stops when the test ends. The binaries come from
// `make envtest` and `make tools`; a missing one skips the test (fails it in
// CI).
func Start(t testing.TB, specs ...ClusterSpec) *Mesh {
	t.Helper()
	istiod := component.Tool(t, "pilot-discovery")
	istioctl := component.Tool(t, "istioctl")
	ctx := context.Background()

	m := &Mesh{}
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	for i, s := range specs {
		c := &Cluster{Spec: s, API: kube.Start(t), logs: &process.Log{Keep: 200}}
		m.Clusters = append(m.Clusters, c)
		wg.Go(func() { errs[i] = c.deploy(ctx, t, istioctl) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range m.Clusters {
		for _, other := range m.Clusters {
			if other != c {
				if err := c.AddRemoteSecret(ctx, t, other); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, c := range m.Clusters {
		if err := c.startIstiod(t, istiod); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range m.Clusters {
		var remotes []string
		for _, other := range m.Clusters {
			if other != c {
				remotes = append(remotes, other.Spec.Name)
			}
		}
		if err := c.WaitSynced(ctx, 60*time.Second, remotes...); err != nil {
			t.Fatalf("%v\nistiod %s said:\n%s", err, c.Spec.Name, c.logs.Tail(40))
		}
	}
	return m
}

// writeFile writes b to a file in a test's temporary directory.
func writeFile(t testing.TB, dir, name string, b []byte) (string, error) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, b, 0o600)
}
