//go:build linux

package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/cloudburst-demo/cloudburst/api/v1alpha1"
	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
	"github.com/cloudburst-demo/cloudburst/testkit/kube/node"
	"github.com/cloudburst-demo/cloudburst/testkit/promserver"
	"github.com/cloudburst-demo/cloudburst/testkit/registry"
)

// TestNodes deploys both overlays as make clusters and make deploy do
// (skaffold build, then skaffold deploy to each kube context) to two
// clusters of one real kubelet each, without Istio's sidecars (there is
// no Envoy here), and checks what only running pods show: every pod
// becomes Ready; each service runs as its user on a read-only root; the
// burster's replicas elect one leader with their own service-account
// tokens; the burster counts the burst cluster's ready workers from its
// real EndpointSlices; a worker answers on its Service from another pod;
// the frontend's load reaches the workers; pre-scaling raises the burst
// HPA's minimum, the HPA controller scales the burst workers to it and
// the burster's gate sees them ready. A worker with a wrong readiness
// probe path stays unready, and the test's report says which pod and
// which probe.
func TestNodes(t *testing.T) {
	skaffold := component.Tool(t, "skaffold")
	repo := registry.Start(t)
	sandbox, err := node.PodtoolImage(repo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The Redis image the manifests name, as Docker Hub's mirror here
	// serves it: assembled from Debian's Redis.
	redisRef := one(t, render(t, "k8s/overlays/primary"), "Deployment", "redis").Object
	redis := redisImage(t, repo, podSpecImage(t, redisRef))
	nodes := node.Options{Registry: repo, Sandbox: sandbox, Mirrors: []string{"docker.io"}}
	nodes.Name = "primary"
	primary := node.Start(t, nodes)
	nodes.Name = "burst"
	burst := node.Start(t, nodes)
	t.Logf("Redis as %s", redis)

	// make deploy's steps: the images built and pushed once, then each
	// config deployed to its kube context (skaffold deploy -m CONFIG, the
	// manifests as they are: Docker Hub's Redis comes from the mirror).
	artifacts, _ := skaffoldBuild(t, skaffold, repo)
	kubeconfig := contexts(t, map[string]*node.Cluster{"kind-primary": primary, "kind-burst": burst})
	burstKubeconfigSecret(t, primary, burst)
	start := time.Now()
	skaffoldDeploy(t, skaffold, "primary", artifacts, kubeconfig)
	redisAcross(t, primary, burst)
	skaffoldDeploy(t, skaffold, "burst", artifacts, kubeconfig)
	allReady(t, primary, burst)
	t.Logf("every pod of both overlays Ready %s after the first deploy began", time.Since(start).Round(time.Second))

	t.Run("processes", func(t *testing.T) {
		asSpecified(t, primary, map[string]int{"/ko-app/frontend": 1, "/ko-app/worker": 2, "/ko-app/burster": 2, "redis-server": 1})
		asSpecified(t, burst, map[string]int{"/ko-app/worker": 1})
	})
	t.Run("leader", func(t *testing.T) { oneLeader(t, primary) })
	t.Run("service", func(t *testing.T) {
		for _, c := range []struct {
			cluster *node.Cluster
			prefix  string
		}{{primary, `"prefix":""`}, {burst, `"prefix":"bursty-"`}} {
			out := runClient(t, c.cluster, sandbox, "http://worker:8080/")
			if !strings.Contains(out, "200 OK") || !strings.Contains(out, c.prefix) {
				t.Errorf("the %s cluster's worker Service answered a pod:\n%s\nwant 200 with %s", c.cluster.Name, out, c.prefix)
			}
		}
	})
	t.Run("readiness gate", func(t *testing.T) {
		component.EventuallyNil(t, 60*time.Second, "the burster counting the burst cluster's one ready worker", func() error {
			return burstEndpoints(t, primary, 1)
		})
	})
	t.Run("prescale", func(t *testing.T) { prescaleOnNodes(t, primary, burst) })
	t.Run("wrong probe", func(t *testing.T) { wrongProbe(t, primary) })
}

// burstKubeconfigSecret does what make clusters does before make deploy
// (deploy/clusters.sh, burster_kubeconfig): the namespace in both
// clusters, burster-remote's long-lived token from a Secret that
// kube-controller-manager fills, and a kubeconfig of it in primary's
// Secret burster-burst-kubeconfig; its server is where the burst API
// server is forwarded into primary's node.
func burstKubeconfigSecret(t *testing.T, primary, burst *node.Cluster) {
	t.Helper()
	ctx := context.Background()
	for _, c := range []*node.Cluster{primary, burst} {
		if _, err := c.API.Clientset(t).CoreV1().Namespaces().Create(ctx,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	core := burst.API.Clientset(t).CoreV1()
	if _, err := core.ServiceAccounts(namespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "burster-remote"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Secrets(namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "burster-remote-token",
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "burster-remote"}},
		Type: corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var token *corev1.Secret
	component.EventuallyNil(t, 30*time.Second, "kube-controller-manager filling burster-remote's token", func() error {
		s, err := core.Secrets(namespace).Get(ctx, "burster-remote-token", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(s.Data[corev1.ServiceAccountTokenKey]) == 0 || len(s.Data[corev1.ServiceAccountRootCAKey]) == 0 {
			return fmt.Errorf("the Secret holds %d token bytes", len(s.Data[corev1.ServiceAccountTokenKey]))
		}
		token = s
		return nil
	})
	if err := primary.Forward(burst.APIPort); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := kube.KubeconfigFor("burst", &rest.Config{
		Host:            fmt.Sprintf("https://%s:%d", node.NodeAddr, burst.APIPort),
		BearerToken:     string(token.Data[corev1.ServiceAccountTokenKey]),
		TLSClientConfig: rest.TLSClientConfig{CAData: token.Data[corev1.ServiceAccountRootCAKey]},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := primary.API.Clientset(t).CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "burster-burst-kubeconfig"},
		Data:       map[string][]byte{v1alpha1.DefaultKubeconfigKey: kubeconfig},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// redisAcross gives the burst cluster's Redis Service (a name with no
// pods there) an endpoint that reaches the primary cluster's Redis: in the
// real clusters the mesh carries these connections through the east-west
// gateways; here, with no Envoy, a forward between the two nodes'
// networks does, and an EndpointSlice of the Service's points at it.
func redisAcross(t *testing.T, primary, burst *node.Cluster) {
	t.Helper()
	ctx := context.Background()
	svc, err := primary.API.Clientset(t).CoreV1().Services(namespace).Get(ctx, "redis", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const port = 6379
	if err := burst.ForwardFrom(port, primary, fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, port)); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "redis-primary", Labels: map[string]string{
			discoveryv1.LabelServiceName: "redis", discoveryv1.LabelManagedBy: "cloudburst-node-test",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{node.NodeAddr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("tcp-redis"), Port: ptr.To[int32](port)}},
	}
	if _, err := burst.API.Clientset(t).DiscoveryV1().EndpointSlices(namespace).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// contexts writes a kubeconfig whose contexts, named as the keys, are the
// clusters' API servers (as their admin), and returns its path.
func contexts(t *testing.T, clusters map[string]*node.Cluster) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for name, c := range clusters {
		cfg := c.API.Config
		kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
		kc.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
		kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// skaffoldDeploy deploys one config of skaffold.yaml with the images
// skaffold built, to its kube context in kubeconfig, with kubectl of the
// API servers' release, and waits as skaffold does for its Deployments.
func skaffoldDeploy(t *testing.T, skaffold, config, artifacts, kubeconfig string) {
	t.Helper()
	kubectl, err := filepath.Abs(filepath.Join(root, "bin", "envtest"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(skaffold, "deploy", "-m", config, "--build-artifacts", artifacts, "--kubeconfig", kubeconfig,
		"--status-check=true")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "SKAFFOLD_UPDATE_CHECK=false", "PATH="+kubectl+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("skaffold deploy -m %s: %v\n%s", config, err, out)
	}
}

// redisImage pushes an image of Debian's redis-server and redis-cli, the
// programs the Redis Deployment runs and probes with, to repo under the
// name and tag of image (docker.io/library/redis:TAG: library/redis:TAG).
func redisImage(t *testing.T, repo, image string) string {
	t.Helper()
	server := component.Require(t, "apt-get install -y --no-install-recommends redis-server", "redis-server")
	cli := component.Require(t, "apt-get install -y --no-install-recommends redis-server", "redis-cli")
	files, err := node.Binaries(map[string]string{"redis-server": server, "redis-cli": cli})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(image)
	if err != nil {
		t.Fatalf("the Redis image %q: %v", image, err)
	}
	ref, err := node.Push(repo, tag.RepositoryStr(), tag.TagStr(), node.Image{Files: files, Entrypoint: []string{"redis-server"}})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// podSpecImage is the image of a Deployment's first container.
func podSpecImage(t *testing.T, deployment map[string]any) string {
	t.Helper()
	image, _, err := unstructured.NestedString(obj(slice(deployment, "spec", "template", "spec", "containers")[0]), "image")
	if err != nil || image == "" {
		t.Fatalf("no image in %v: %v", deployment, err)
	}
	return image
}

// allReady waits until every Deployment of both clusters has all its
// replicas Ready, and fails naming each pod that is not.
func allReady(t *testing.T, clusters ...*node.Cluster) {
	t.Helper()
	ctx := context.Background()
	err := poll.Until(ctx, 3*time.Minute, time.Second, func() error {
		var waiting []string
		for _, c := range clusters {
			deps, err := c.API.Clientset(t).AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(deps.Items) == 0 {
				waiting = append(waiting, c.Name+": no Deployment")
			}
			for _, d := range deps.Items {
				if want := *d.Spec.Replicas; d.Status.ReadyReplicas != want || d.Status.UpdatedReplicas != want {
					waiting = append(waiting, fmt.Sprintf("%s: %s %d/%d ready", c.Name, d.Name, d.Status.ReadyReplicas, want))
				}
			}
		}
		if len(waiting) > 0 {
			return errors.New(strings.Join(waiting, ", "))
		}
		return nil
	})
	if err == nil {
		return
	}
	var report []string
	for _, c := range clusters {
		unready, uerr := c.Unready(ctx, t, namespace)
		if uerr != nil {
			report = append(report, uerr.Error())
		}
		for _, u := range unready {
			report = append(report, u+"\n"+c.PodLogs(namespace, podName(u)))
		}
	}
	t.Fatalf("%v\n%s", err, strings.Join(report, "\n"))
}

// asSpecified checks the pods' processes on a node, as the machine sees
// them: want of each program (its command's first word) run, none as
// root, each service's as the user its pod spec names (65532 for ko's
// images, 999 for Redis) on a read-only root file system.
func asSpecified(t *testing.T, c *node.Cluster, want map[string]int) {
	t.Helper()
	procs := c.Processes()
	got := map[string]int{}
	for _, p := range procs {
		program := strings.Fields(p.Cmd[0] + " ")[0]
		if p.UID == 0 {
			t.Errorf("%s cluster: %v (pid %d) runs as root", c.Name, p.Cmd, p.PID)
		}
		uid := 65532
		switch {
		case program == "/podtool":
			continue // the sandboxes
		case program == "redis-cli":
			continue // the exec probe
		case program == "redis-server":
			uid = 999
		}
		got[program]++
		if p.UID != uid {
			t.Errorf("%s cluster: %s runs as user %d, want %d", c.Name, program, p.UID, uid)
		}
		if !p.ReadOnlyRoot {
			t.Errorf("%s cluster: %s's root file system is writable", c.Name, program)
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s cluster runs %v, want %v", c.Name, got, want)
	}
}

// podName is the pod's name in a line of Unready.
func podName(line string) string {
	_, rest, _ := strings.Cut(line, "/")
	name, _, _ := strings.Cut(rest, " ")
	return name
}

// oneLeader checks that the burster's two replicas are Ready and that the
// Lease names one of them: a replica elected itself through the API with
// the token of its service account, the only credential the pod has.
func oneLeader(t *testing.T, primary *node.Cluster) {
	ctx := context.Background()
	cs := primary.API.Clientset(t)
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=burster"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
		if p.Spec.ServiceAccountName != "burster" || !slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool {
			return v.Projected != nil && strings.HasPrefix(v.Name, "kube-api-access-")
		}) {
			t.Errorf("pod %s has no token of the burster service account: %s, volumes %v", p.Name, p.Spec.ServiceAccountName, p.Spec.Volumes)
		}
	}
	if len(names) != 2 {
		t.Fatalf("burster pods %v, want 2", names)
	}
	// The identity is the pod's host name, its name, and a suffix that is
	// new each time it runs (controller-runtime's).
	var holder string
	component.EventuallyNil(t, 30*time.Second, "a burster pod holding the Lease", func() error {
		l, err := cs.CoordinationV1().Leases(namespace).Get(ctx, "burster", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil {
			return fmt.Errorf("the Lease has no holder")
		}
		for _, n := range names {
			if strings.HasPrefix(*l.Spec.HolderIdentity, n+"_") {
				holder = n
				return nil
			}
		}
		return fmt.Errorf("the Lease is held by %q, not one of %v", *l.Spec.HolderIdentity, names)
	})
	// Each replica says whether it leads: exactly one does, the holder.
	client := primary.HTTPClient()
	leaders := map[string]string{}
	for _, p := range pods.Items {
		resp, err := client.Get("http://" + p.Status.PodIP + ":8080/api/status?policy=worker")
		if err != nil {
			t.Fatalf("asking %s: %v", p.Name, err)
		}
		_ = resp.Body.Close()
		leaders[p.Name] = resp.Header.Get("Burster-Leader")
	}
	for pod, leads := range leaders {
		if want := fmt.Sprint(pod == holder); leads != want {
			t.Errorf("replica %s answers Burster-Leader %q, want %s (the Lease holder is %s)", pod, leads, want, holder)
		}
	}
	t.Logf("leader %s; replicas say %v", holder, leaders)
}

// runClient runs a pod of podtool (image) that GETs url once and returns
// what it printed.
func runClient(t *testing.T, c *node.Cluster, image, url string) string {
	t.Helper()
	ctx := context.Background()
	pods := c.API.Clientset(t).CoreV1().Pods(namespace)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "client-"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "get", Image: image, Command: []string{"/podtool", "get", url},
			}},
		},
	}
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var phase corev1.PodPhase
	component.Eventually(t, 60*time.Second, "the client pod "+created.Name+" finishing", func() bool {
		p, err := pods.Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed
	})
	out := c.PodLogs(namespace, created.Name)
	if phase != corev1.PodSucceeded {
		t.Errorf("client pod %s: %s\n%s", created.Name, phase, out)
	}
	return out
}

// burstEndpoints checks the burster's status: the burst destination's
// ready workers, counted from the burst cluster's EndpointSlices.
func burstEndpoints(t *testing.T, primary *node.Cluster, want int32) error {
	p := policy(t, primary)
	for _, d := range p.Status.Destinations {
		if d.Name == "burst" {
			if d.ReadyEndpoints == nil || *d.ReadyEndpoints != want {
				return fmt.Errorf("the burst destination's ready endpoints are %v, want %d (conditions %v)", d.ReadyEndpoints, want, p.Status.Conditions)
			}
			return nil
		}
	}
	return fmt.Errorf("no burst destination in the status %+v", p.Status)
}

// policy reads the worker's BurstPolicy.
func policy(t *testing.T, primary *node.Cluster) *v1alpha1.BurstPolicy {
	t.Helper()
	u, err := primary.API.Dynamic(t).Resource(v1alpha1.GroupVersion.WithResource("burstpolicies")).Namespace(namespace).
		Get(context.Background(), "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var p v1alpha1.BurstPolicy
	b, err := u.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// prescaleOnNodes drives 20 req/s through the frontend (the page's
// slider) with the policy pre-scaling the burst cluster's HPA at 8 req/s
// by 15 req/s per worker (2 workers for any rate measured between 15 and
// 30), and follows the chain: the burster raises the
// HPA's minimum to 2, kube-controller-manager's HPA controller scales the
// burst Deployment to 2, the new pod becomes Ready on the burst node, the
// burster counts 2 ready workers and moves the weights to burst.
func prescaleOnNodes(t *testing.T, primary, burst *node.Cluster) {
	ctx := context.Background()
	patch := `{"spec":{
		"measurement":{"prometheus":null,"scrape":{"url":"http://frontend:8080/metrics","metric":"loadgen_requests_total","labels":{"result":"ok"}}},
		"strategy":{"capacityPerEndpointRps":15},
		"destinations":[{"name":"primary","subset":"primary"},
			{"name":"burst","subset":"burst","readiness":{"service":"worker","kubeconfigSecret":{"name":"burster-burst-kubeconfig"}},
			 "prescale":{"hpa":"worker","warmRps":8,"cooldown":"5m","wait":"120s"}}]}}`
	if _, err := primary.API.Dynamic(t).Resource(v1alpha1.GroupVersion.WithResource("burstpolicies")).Namespace(namespace).
		Patch(ctx, "worker", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patching the policy: %v", err)
	}

	client := primary.HTTPClient()
	frontend := serviceURL(t, primary, "frontend")
	req, err := http.NewRequest(http.MethodPut, frontend+"/api/rate", strings.NewReader(`{"type":"setRate","rps":20}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("setting the frontend's rate: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /api/rate: %s %s", resp.Status, body)
	}
	t.Cleanup(func() {
		req, _ := http.NewRequest(http.MethodPut, frontend+"/api/rate", strings.NewReader(`{"type":"setRate","rps":0}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	})
	start := time.Now()
	component.EventuallyNil(t, 30*time.Second, "the frontend's requests answered by the workers", func() error {
		ok, err := promserver.SampleWith(client, frontend+"/metrics", `loadgen_requests_total{result="ok"}`)
		if err != nil || ok < 40 {
			return fmt.Errorf("%v ok requests (%v)", ok, err)
		}
		return nil
	})

	hpas := burst.API.Clientset(t).AutoscalingV2().HorizontalPodAutoscalers(namespace)
	deployments := burst.API.Clientset(t).AppsV1().Deployments(namespace)
	component.EventuallyNil(t, 60*time.Second, "the burst HPA's minimum raised to 2", func() error {
		h, err := hpas.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 2 {
			return fmt.Errorf("minReplicas %v (policy status %+v)", h.Spec.MinReplicas, policy(t, primary).Status.Conditions)
		}
		return nil
	})
	raised := time.Since(start)
	component.EventuallyNil(t, 60*time.Second, "the HPA controller scaling the burst workers to 2, both Ready", func() error {
		d, err := deployments.Get(ctx, "worker", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != 2 || d.Status.ReadyReplicas != 2 {
			return fmt.Errorf("replicas %d, ready %d", *d.Spec.Replicas, d.Status.ReadyReplicas)
		}
		return nil
	})
	scaled := time.Since(start)
	d, err := deployments.Get(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(d.ManagedFields, func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == "kube-controller-manager" && f.Subresource == "scale"
	}) {
		t.Errorf("the burst workers were not scaled through their scale subresource by kube-controller-manager: %+v", d.ManagedFields)
	}
	h, err := hpas.Get(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Status.DesiredReplicas != 2 {
		t.Errorf("the HPA's status wants %d replicas, not the 2 it scaled to", h.Status.DesiredReplicas)
	}
	component.EventuallyNil(t, 30*time.Second, "the burster counting 2 ready burst workers", func() error {
		return burstEndpoints(t, primary, 2)
	})
	component.EventuallyNil(t, 30*time.Second, "the weights on burst", func() error {
		s := policy(t, primary).Status
		if s.Split != "0/100" {
			return fmt.Errorf("split %q", s.Split)
		}
		return nil
	})
	t.Logf("20 req/s: minReplicas raised after %s, 2 burst workers Ready after %s, weights moved after %s",
		raised.Round(100*time.Millisecond), scaled.Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
}

// serviceURL is http://CLUSTER-IP:8080 of a Service of the namespace.
func serviceURL(t *testing.T, c *node.Cluster, service string) string {
	t.Helper()
	s, err := c.API.Clientset(t).CoreV1().Services(namespace).Get(context.Background(), service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://%s:8080", s.Spec.ClusterIP)
}

// wrongProbe is the negative control: the worker's Deployment under
// another name and labels, with its readiness probe on a path the worker
// does not serve, runs but never becomes Ready, and the report says which
// pod and which probe.
func wrongProbe(t *testing.T, primary *node.Cluster) {
	ctx := context.Background()
	deployments := primary.API.Clientset(t).AppsV1().Deployments(namespace)
	d, err := deployments.Get(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wrong := d.DeepCopy()
	wrong.ObjectMeta = metav1.ObjectMeta{Name: "worker-wrong-probe", Namespace: namespace}
	labels := map[string]string{"app": "worker-wrong-probe"}
	wrong.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
	wrong.Spec.Template.Labels = labels
	one := int32(1)
	wrong.Spec.Replicas = &one
	wrong.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path = "/wrong"
	if _, err := deployments.Create(ctx, wrong, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var report []string
	component.EventuallyNil(t, 60*time.Second, "the wrong probe reported as failing", func() error {
		unready, err := primary.Unready(ctx, t, namespace)
		if err != nil {
			return err
		}
		report = unready
		for _, u := range unready {
			// Running, and refused by three probes or more.
			if strings.Contains(u, "/worker-wrong-probe-") && strings.Contains(u, ": Running;") && strings.Contains(u, "GET /wrong") &&
				strings.Contains(u, "Readiness probe failed: HTTP probe failed with statuscode: 404") && !strings.Contains(u, "(x1)") && !strings.Contains(u, "(x2)") {
				return nil
			}
		}
		return fmt.Errorf("%v", unready)
	})
	pods, err := primary.API.Clientset(t).CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=worker-wrong-probe"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running == nil {
				t.Errorf("%s's container is not running (%+v): the probe, not the start, must be what fails", p.Name, s.State)
			}
		}
	}
	t.Logf("reported: %s", strings.Join(report, "\n"))
}
