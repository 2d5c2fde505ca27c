package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/bursterapi"
	"github.com/cloudburst-demo/cloudburst/pkg/contract/split"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/services/burster/internal/router"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// hangingServer accepts TCP connections and, until forward is set, reads
// nothing and answers nothing: an API server that is up but hung. Once
// forward is set, every new connection is relayed to target.
type hangingServer struct {
	ln      net.Listener
	target  string
	forward atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func startHangingServer(t *testing.T, target string) *hangingServer {
	t.Helper()
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		target = u.Host // an API server's URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingServer{ln: ln, target: target}
	go h.serve()
	t.Cleanup(h.close)
	return h
}

func (h *hangingServer) serve() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.mu.Unlock()
		if !h.forward.Load() {
			continue // held open, never read: the client waits until its own deadline
		}
		up, err := net.Dial("tcp", h.target)
		if err != nil {
			c.Close()
			continue
		}
		h.mu.Lock()
		h.conns = append(h.conns, up)
		h.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut makes the server hang again: every connection is closed, and new
// ones are held unanswered until forward is set again.
func (h *hangingServer) cut() {
	h.forward.Store(false)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
	h.conns = nil
}

// via is the burster's client configuration through the server.
func (h *hangingServer) via(c *cluster) *rest.Config {
	rc := rest.CopyConfig(c.sa)
	rc.Host = "https://" + h.ln.Addr().String() // the API server's certificate names 127.0.0.1 too
	return rc
}

func (h *hangingServer) close() {
	h.ln.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		c.Close()
	}
}

// buildBurster builds this package's binary, as the image ships it.
func buildBurster(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "burster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building the burster: %v\n%s", err, out)
	}
	return bin
}

// TestHungAPIServer: the burster binary whose Kubernetes API accepts
// connections and never answers fails each call within QUERY_TIMEOUT, says
// so in its log and its status (which keeps answering), and controls the
// weights once the API server answers again, without a restart.
func TestHungAPIServer(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	hung := startHangingServer(t, c.sa.Host)
	kc, err := kube.KubeconfigFor("hung", hung.via(c))
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &process.Log{}
	env := map[string]string{
		"KUBECONFIG": kubeconfig, "NAMESPACE": c.ns, "ROUTER": "istio", "LEADER_ELECT": "false",
		"INTERVAL": "200ms", "QUERY_TIMEOUT": "500ms", "MIN_DWELL": "1s", "HOST": "127.0.0.1", "PORT": "0",
		"DRAIN_DELAY": "0s", "LOG_LEVEL": "info",
	}
	for k, v := range scrapeEnv(load) {
		env[k] = v
	}
	p, err := process.Start(process.Spec{Name: "burster", Path: buildBurster(t), Env: env, Lines: logs.Add,
		Ready: func() error { _, err := component.ListenAddr(logs.Lines()); return err }})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	t.Cleanup(func() { _ = p.Stop() })
	addr, _ := component.ListenAddr(logs.Lines())
	status := func() (v1alpha1.BurstPolicyStatus, error) {
		var p v1alpha1.BurstPolicy
		client := &http.Client{Timeout: time.Second}
		resp, err := client.Get("http://" + addr + bursterapi.StatusPath)
		if err != nil {
			return p.Status, err
		}
		defer resp.Body.Close()
		return p.Status, json.NewDecoder(resp.Body).Decode(&p)
	}
	// timedOut: the status says the route's API timed out.
	timedOut := func(s v1alpha1.BurstPolicyStatus) bool {
		c := s.Condition(v1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == string(v1alpha1.ReasonRouterUnreachable) &&
			strings.HasSuffix(c.Message, ": timed out")
	}

	// Unbounded, the first read would never return: no failure would be
	// logged and the status would never say why nothing is controlled.
	failures := func() int { return strings.Count(logs.String(), `"msg":"reading the current weights"`) }
	component.EventuallyNil(t, 15*time.Second, "three bounded failures, said in the status", func() error {
		s, err := status()
		switch {
		case err != nil:
			return fmt.Errorf("the status does not answer: %w", err)
		case !timedOut(s):
			return fmt.Errorf("status conditions %+v, want Ready False RouterUnreachable, timed out", s.Conditions)
		case failures() < 3:
			return fmt.Errorf("%d failures logged", failures())
		}
		return nil
	})
	if !strings.Contains(logs.String(), "context deadline exceeded") {
		t.Fatalf("the failures do not say they timed out:\n%s", logs.Tail(10))
	}

	hung.forward.Store(true)
	component.EventuallyNil(t, 20*time.Second, "the weights controlled again", func() error {
		if w := c.weights(t); w != split.AllBurst {
			return fmt.Errorf("weights %v; log:\n%s", w, logs.Tail(6))
		}
		s, err := status()
		if err != nil || !s.Has(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReconciled) {
			return fmt.Errorf("status conditions %+v, %v", s.Conditions, err)
		}
		return nil
	})

	// The server hangs again: the watch is cut, and its new list or watch is
	// never answered. Bounded, that is reported, and the routes are read
	// back every interval, so drift made once the server answers again is
	// put back even before the watch reports.
	hung.cut()
	component.Eventually(t, 20*time.Second, "the watch reported down", func() bool {
		return strings.Contains(logs.String(), "the watch of the routes is down")
	})
	hung.forward.Store(true)
	admin := router.NewIstio(c.env.Dynamic(t), c.ns, "worker", router.TwoTargets("primary", "burst"))
	if _, err := admin.Set(context.Background(), split.WithBurst(50)); err != nil {
		t.Fatal(err)
	}
	component.Eventually(t, 30*time.Second, "drift put back", func() bool { return c.weights(t) == split.AllBurst })
}

// TestPolicyHungAPIServer: the burster on BurstPolicies whose Kubernetes
// API accepts connections and never answers keeps serving: its probes
// answer, and its status API says within its bound that the policy cannot
// be read (503), instead of hanging. Once the API server answers, it leads
// and controls the weights, without a restart.
func TestPolicyHungAPIServer(t *testing.T) {
	c := newCluster(t)
	load := newLoadExporter(t, 30)
	c.createPolicy(t, switchPolicy("worker", "worker", load, "1s"))
	hung := startHangingServer(t, c.sa.Host)
	r := c.startPoliciesVia(t, "replica", hung.via(c), nil)

	client := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/healthz", bursterapi.StatusPath + "?policy=worker"} {
		start := time.Now()
		resp, err := client.Get(r.base + path)
		if err != nil {
			t.Fatalf("GET %s with the API server hung: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusOK
		if path != "/healthz" {
			want = http.StatusServiceUnavailable
		}
		if resp.StatusCode != want {
			t.Fatalf("GET %s with the API server hung: %s %s, want %d", path, resp.Status, body, want)
		}
		t.Logf("GET %s with the API server hung: %s in %s: %s", path, resp.Status, time.Since(start).Round(10*time.Millisecond), strings.TrimSpace(string(body)))
	}
	if c.vsWeights(t, "worker") != split.AllPrimary {
		t.Fatal("the weights moved while the API server was hung")
	}

	answered := time.Now()
	hung.forward.Store(true)
	component.Eventually(t, 60*time.Second, "leading once the API server answers", r.leader)
	component.Eventually(t, 30*time.Second, "the weights controlled", func() bool { return c.vsWeights(t, "worker") == split.AllBurst })
	t.Logf("burst %s after the API server answered again", time.Since(answered).Round(100*time.Millisecond))
	// A turn writes the route, then publishes what it did: a read between
	// the two still sees the old split.
	component.EventuallyNil(t, 5*time.Second, "the status saying 0/100", func() error {
		code, _, p := getPolicy(t, r.base+bursterapi.StatusPath+"?policy=worker")
		if code != http.StatusOK || p.Status.Split != "0/100" {
			return fmt.Errorf("the status once it answers: %d, split %q", code, p.Status.Split)
		}
		return nil
	})
}
