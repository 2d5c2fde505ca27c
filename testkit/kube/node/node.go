//go:build linux

package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"

	"github.com/cloudburst-demo/cloudburst/pkg/poll"
	"github.com/cloudburst-demo/cloudburst/pkg/process"
	"github.com/cloudburst-demo/cloudburst/testkit/component"
	"github.com/cloudburst-demo/cloudburst/testkit/kube"
)

// The node's network, the same in every cluster (each has its own
// namespace): pods get addresses of podCIDR, and the node is NodeAddr,
// the bridge's address, where the API server and the cluster's DNS are
// forwarded.
const (
	NodeAddr = "10.88.0.1"
	podCIDR  = "10.88.0.0/16"
	// serviceIP is the `kubernetes` Service's cluster IP: the first of
	// envtest's service-cluster-ip-range, 10.0.0.0/24.
	serviceIP   = "10.0.0.1"
	serviceCIDR = "10.0.0.0/24"
	bridge      = "cni0"
)

// binDir is where `make envtest` puts the node's programs.
const binDir = "bin/node"

// Options describe a cluster.
type Options struct {
	// Name names the cluster and its node (NAME-node).
	Name string
	// Registry is the registry the node pulls from, 127.0.0.1:PORT on this
	// machine; it is forwarded into the node's network at the same address.
	Registry string
	// Sandbox is the pause image, in Registry (PodtoolImage).
	Sandbox string
	// Mirrors are registries (docker.io) whose images the node pulls from
	// Registry instead, as an air-gapped cluster's mirror serves them: a
	// manifest's image docker.io/library/redis:TAG is Registry's
	// library/redis:TAG. No pull leaves the machine.
	Mirrors []string
}

// Cluster is a running cluster of one node.
type Cluster struct {
	Name string
	// API is its API server.
	API *kube.Env
	// Node is the node's name.
	Node string
	// APIPort is the API server's port, on this machine's loopback and, for
	// the node and its pods, on NodeAddr.
	APIPort int

	dir      string
	ns       *netns
	cgroup   string // the kubelet's cgroupRoot
	procs    []*process.Process
	logs     map[string]*process.Log
	closers  []func()
	sockPath string
	network  string // the CNI network's name, unique to this cluster
}

// Start runs a cluster until the test ends. It skips the test (fails it
// with CI=true) when this machine cannot run one: not root, or a program
// missing.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	bins := require(t)
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := opts.Name + "-" + hex.EncodeToString(suffix)
	api := kube.StartWith(t, kube.Options{
		AdvertiseAddress: NodeAddr,
		ServingAddresses: []net.IP{net.ParseIP(serviceIP), net.ParseIP(NodeAddr)},
		Admission:        true,
	})
	u, err := url.Parse(api.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("the API server's address %s: %v", api.Config.Host, err)
	}
	c := &Cluster{
		Name: opts.Name, API: api, Node: opts.Name + "-node", APIPort: port,
		dir: t.TempDir(), cgroup: "/cloudburst-" + id, network: "cloudburst-" + id, logs: map[string]*process.Log{},
	}
	c.sockPath = filepath.Join(c.dir, "containerd.sock")
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs(t)
		}
		c.stop(t)
	})
	if err := c.start(t, id, bins, opts); err != nil {
		t.Fatalf("starting the %s cluster's node: %v", opts.Name, err)
	}
	return c
}

// require finds the programs a node runs, or skips the test.
func require(t testing.TB) map[string]string {
	t.Helper()
	if os.Geteuid() != 0 {
		component.Missing(t, "a node needs root (network namespaces, cgroups, mounts); run the tests as root")
	}
	bins := map[string]string{}
	root, err := component.WorkspaceRoot()
	if err != nil {
		component.Missing(t, "%v", err)
	}
	for _, b := range []string{"kubelet", "kube-proxy", "kube-controller-manager", "kube-scheduler"} {
		p := filepath.Join(root, binDir, b)
		if _, err := os.Stat(p); err != nil {
			component.Missing(t, "%s not found in %s; build it with: make envtest", b, binDir)
		}
		bins[b] = p
	}
	// Each program and the Debian package that has it (make deps installs
	// those the machine may lack).
	for _, b := range [][2]string{
		{"containerd", "containerd"}, {"runc", "runc"}, {"iptables", "iptables"}, {"conntrack", "conntrack"},
		{"nsenter", "util-linux"}, {"ip", "iproute2"},
	} {
		bins[b[0]] = component.Require(t, "apt-get install -y --no-install-recommends "+b[1], b[0])
	}
	if _, err := os.Stat(filepath.Join(cniBin, "bridge")); err != nil {
		component.Missing(t, "the CNI plugins are not in %s; install them with: apt-get install -y containernetworking-plugins", cniBin)
	}
	return bins
}

// cniBin is where Debian's containernetworking-plugins installs them.
const cniBin = "/usr/lib/cni"

func (c *Cluster) start(t testing.TB, id string, bins map[string]string, opts Options) error {
	ns, err := newNetns("cb-" + id)
	if err != nil {
		return err
	}
	c.ns = ns
	// The bridge the CNI plugin attaches pods to, made first so the node
	// has its address before the kubelet starts.
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", NodeAddr + "/16", "dev", bridge},
		{"link", "set", bridge, "up"},
		// Connections made on the node to a Service's cluster IP need a
		// route before kube-proxy's rules rewrite them (a real node has
		// a default route).
		{"route", "add", serviceCIDR, "dev", bridge, "src", NodeAddr},
	} {
		if err := ns.run("ip", args...); err != nil {
			return err
		}
	}
	if err := c.Forward(c.APIPort); err != nil {
		return err
	}
	_, regPort, err := net.SplitHostPort(opts.Registry)
	if err != nil {
		return fmt.Errorf("registry %q: %w", opts.Registry, err)
	}
	if p, _ := strconv.Atoi(regPort); p != c.APIPort {
		if err := c.Forward(p); err != nil {
			return err
		}
	}
	if err := c.serveDNS(t); err != nil {
		return err
	}
	if err := c.makeCgroup(); err != nil {
		return err
	}

	admin, err := kube.KubeconfigFor(c.Name, c.API.Config)
	if err != nil {
		return err
	}
	files := map[string]string{
		"admin.kubeconfig": string(admin),
		"containerd.toml":  c.containerdConfig(opts),
		"cni/10-bridge.conflist": fmt.Sprintf(cniConfig, c.network, bridge,
			filepath.Join(c.dir, "ipam"), podCIDR, NodeAddr),
		"certs.d/" + opts.Registry + "/hosts.toml": registryHosts(opts.Registry),
		"kubelet.yaml":    c.kubeletConfig(),
		"kube-proxy.yaml": c.proxyConfig(),
		"ca.crt":          string(c.API.CA()),
	}
	for _, m := range opts.Mirrors {
		files["certs.d/"+m+"/hosts.toml"] = registryHosts(opts.Registry)
	}
	for name, content := range files {
		p := filepath.Join(c.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			return err
		}
	}
	kubeconfig := filepath.Join(c.dir, "admin.kubeconfig")

	if err := c.run("containerd", bins["containerd"], []string{"--config", filepath.Join(c.dir, "containerd.toml")}, func() error {
		conn, err := net.Dial("unix", c.sockPath)
		if err == nil {
			_ = conn.Close()
		}
		return err
	}); err != nil {
		return err
	}
	if err := c.run("kubelet", bins["kubelet"], []string{
		"--config", filepath.Join(c.dir, "kubelet.yaml"), "--kubeconfig", kubeconfig,
		"--hostname-override", c.Node, "--node-ip", NodeAddr, "--root-dir", filepath.Join(c.dir, "kubelet"),
	}, nil); err != nil {
		return err
	}
	if err := c.run("kube-controller-manager", bins["kube-controller-manager"], []string{
		"--kubeconfig", kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--root-ca-file", filepath.Join(c.dir, "ca.crt"),
		"--service-account-private-key-file", filepath.Join(c.API.CertDir(), "sa-signer.key"),
		"--use-service-account-credentials=false", "--controllers=*",
		// The HPA acts within 2 s of a change, not 15.
		"--horizontal-pod-autoscaler-sync-period=2s",
	}, nil); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", bins["kube-scheduler"], []string{
		"--kubeconfig", kubeconfig, "--leader-elect=false", "--secure-port=0",
	}, nil); err != nil {
		return err
	}
	if err := c.run("kube-proxy", bins["kube-proxy"], []string{"--config", filepath.Join(c.dir, "kube-proxy.yaml")}, nil); err != nil {
		return err
	}
	return c.waitReady(t)
}

// run starts a program of the node in its network namespace.
func (c *Cluster) run(name, path string, args []string, ready func() error) error {
	log := &process.Log{Keep: 300}
	c.logs[name] = log
	argv0, argv := c.ns.command(path, args...)
	p, err := process.Start(process.Spec{
		Name: name, Path: argv0, Args: argv, Lines: log.Add,
		Ready: ready, ReadyTimeout: 30 * time.Second, StopTimeout: 10 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("starting %s: %w\n%s", name, err, log.Tail(20))
	}
	c.procs = append(c.procs, p)
	return nil
}

// waitReady waits for the node to register and be Ready, and gives up at
// once when one of its programs exits.
func (c *Cluster) waitReady(t testing.TB) error {
	nodes := c.API.Clientset(t).CoreV1().Nodes()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	const timeout = 90 * time.Second
	err := poll.Until(ctx, timeout, 500*time.Millisecond, func() error {
		for _, p := range c.procs {
			select {
			case <-p.Done():
				err := fmt.Errorf("%s exited: %v\n%s", p.Name(), p.Err(), c.logs[p.Name()].Tail(20))
				cancel(err)
				return err
			default:
			}
		}
		n, err := nodes.Get(ctx, c.Node, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("not registered: %w", err)
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("%s: %s", cond.Reason, cond.Message)
			}
		}
		return errors.New("no Ready condition")
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready: %w\n%s", c.Node, err, c.logs["kubelet"].Tail(30))
	}
	return nil
}

// Forward makes port of this machine's loopback (a registry, another
// cluster's API server) reachable in the node's network, on every address
// of the node (NodeAddr and its loopback) at the same port.
func (c *Cluster) Forward(port int) error {
	target := "127.0.0.1:" + strconv.Itoa(port)
	return c.forward(":"+strconv.Itoa(port), func() (net.Conn, error) { return net.Dial("tcp", target) })
}

// ForwardFrom makes addr of another cluster's node network (a Service's
// cluster IP and port there) reachable on this node at NodeAddr:port: the
// path between the clusters' networks that, in the real clusters, the
// mesh's east-west gateways provide.
func (c *Cluster) ForwardFrom(port int, other *Cluster, addr string) error {
	return c.forward(NodeAddr+":"+strconv.Itoa(port), func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return other.ns.DialContext(ctx, "tcp", addr)
	})
}

// forward listens on addr in the node's network and joins each
// connection to one dial makes, until the cluster stops.
func (c *Cluster) forward(addr string, dial func() (net.Conn, error)) error {
	l, err := c.ns.listen(addr)
	if err != nil {
		return fmt.Errorf("listening on %s in %s: %w", addr, c.ns.name, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		forward(l, dial)
	}()
	c.closers = append(c.closers, func() {
		_ = l.Close()
		<-done
	})
	return nil
}

// serveDNS answers the cluster's names on NodeAddr:53, the kubelet's
// clusterDNS.
func (c *Cluster) serveDNS(t testing.TB) error {
	factory := informers.NewSharedInformerFactory(c.API.Clientset(t), 0)
	services := factory.Core().V1().Services()
	lister := services.Lister()
	stop := make(chan struct{})
	factory.Start(stop)
	factory.WaitForCacheSync(stop)
	h := &clusterDNS{services: lister}
	pc, err := c.ns.listenPacket(NodeAddr + ":53")
	if err != nil {
		close(stop)
		return err
	}
	l, err := c.ns.listen(NodeAddr + ":53")
	if err != nil {
		close(stop)
		_ = pc.Close()
		return err
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: l, Handler: h}
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	c.closers = append(c.closers, func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		close(stop)
		factory.Shutdown()
	})
	return nil
}

// HTTPClient is a client whose connections start in the node's network:
// it reaches pods' addresses, and Services' cluster IPs through the node's
// kube-proxy, as a pod on the node would.
func (c *Cluster) HTTPClient() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DialContext: c.ns.DialContext, DisableKeepAlives: true},
	}
}

// PodLogs is what a pod's containers wrote, as the kubelet keeps it (for
// a test's failure message: the API server cannot reach the kubelet).
func (c *Cluster) PodLogs(namespace, pod string) string {
	dirs, _ := filepath.Glob(filepath.Join(c.dir, "pod-logs", namespace+"_"+pod+"_*", "*"))
	var b strings.Builder
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.log"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			fmt.Fprintf(&b, "--- %s/%s:\n%s\n", filepath.Base(d), filepath.Base(f), strings.Join(lines[max(0, len(lines)-20):], "\n"))
		}
	}
	return b.String()
}

// dumpLogs logs the tail of each program's output.
func (c *Cluster) dumpLogs(t testing.TB) {
	for _, name := range []string{"containerd", "kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		if l := c.logs[name]; l != nil {
			t.Logf("%s cluster, %s (last lines):\n%s", c.Name, name, l.Tail(25))
		}
	}
}

// stop stops the node and removes everything it left on the machine: the
// containers (they outlive containerd), mounts, cgroups and the network.
func (c *Cluster) stop(t testing.TB) {
	for i := len(c.procs) - 1; i >= 0; i-- {
		if c.procs[i].Name() == "containerd" {
			// The containers first: containerd's shims keep them running.
			c.killCgroup()
		}
		_ = c.procs[i].Stop()
	}
	c.killCgroup()
	killShims(c.sockPath)
	if err := unmountUnder(c.dir); err != nil {
		t.Logf("unmounting the %s node's mounts: %v", c.Name, err)
	}
	if err := c.removeCgroup(); err != nil {
		t.Logf("removing the %s node's cgroups: %v", c.Name, err)
	}
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	if c.ns != nil {
		if err := c.ns.delete(); err != nil {
			t.Logf("%v", err)
		}
	}
	removeLinksInto("/var/log/containers", c.dir)
	// The CNI plugins' cache of the pods' networks, which a pod's
	// teardown would have removed.
	results, _ := filepath.Glob(filepath.Join(cniCache, c.network+"-*"))
	for _, r := range results {
		_ = os.Remove(r)
	}
}

// cniCache is where libcni (in containerd) caches each pod's network.
const cniCache = "/var/lib/cni/results"

// Proc is a process of a pod on the node, as the machine sees it.
type Proc struct {
	PID int
	// UID is its effective user.
	UID int
	// Cmd is its command line.
	Cmd []string
	// ReadOnlyRoot is whether its root file system is mounted read-only.
	ReadOnlyRoot bool
}

// Processes are the processes of the node's pods (sandboxes included).
// One that ends while they are read is left out.
func (c *Cluster) Processes() []Proc {
	var out []Proc
	for _, pid := range c.pids() {
		if pr, err := readProc(pid); err == nil {
			out = append(out, pr)
		}
	}
	return out
}

// readProc reads a process' user, command line and root mount from /proc.
func readProc(pid int) (Proc, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Proc{}, err
	}
	pr := Proc{PID: pid, UID: -1}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Uid:"); ok {
			// real, effective, saved, file system
			if f := strings.Fields(v); len(f) > 1 {
				pr.UID, _ = strconv.Atoi(f[1])
			}
		}
	}
	cmd, err := os.ReadFile(filepath.Join(dir, "cmdline"))
	if err != nil {
		return Proc{}, err
	}
	pr.Cmd = strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
	mountinfo, err := os.ReadFile(filepath.Join(dir, "mountinfo"))
	if err != nil {
		return Proc{}, err
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ...
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			pr.ReadOnlyRoot = slices.Contains(strings.Split(f[5], ","), "ro")
		}
	}
	return pr, nil
}

// cgroupMounts are the mount points of the cgroup hierarchies (v1, and v2
// when the machine is hybrid).
func cgroupMounts() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) >= 5 && len(g) >= 1 && (g[0] == "cgroup" || g[0] == "cgroup2") {
			out = append(out, f[4])
		}
	}
	return out, nil
}

// makeCgroup creates the kubelet's cgroupRoot in every hierarchy, with the
// machine's CPUs and memory nodes in cpuset's.
func (c *Cluster) makeCgroup() error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		d := filepath.Join(m, c.cgroup)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if v, err := os.ReadFile(filepath.Join(m, f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(d, f), err)
				}
			}
		}
	}
	return nil
}

// killCgroup kills every process in the node's cgroups (the pods'), until
// none is left or 5 s have passed.
func (c *Cluster) killCgroup() {
	_ = poll.Until(context.Background(), 5*time.Second, 100*time.Millisecond, func() error {
		pids := c.pids()
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) > 0 {
			return fmt.Errorf("%d processes left", len(pids))
		}
		return nil
	})
}

// pids are the processes in the node's cgroups, in every hierarchy.
func (c *Cluster) pids() []int {
	mounts, _ := cgroupMounts()
	seen := map[int]bool{}
	var out []int
	for _, m := range mounts {
		_ = filepath.WalkDir(filepath.Join(m, c.cgroup), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !seen[pid] {
					seen[pid] = true
					out = append(out, pid)
				}
			}
			return nil
		})
	}
	return out
}

// removeCgroup removes the node's cgroups, deepest first.
func (c *Cluster) removeCgroup() error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(m, c.cgroup), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("%s: %w", dirs[i], err))
			}
		}
	}
	return errors.Join(errs...)
}

// killShims kills containerd's shims for the containerd at socket: they
// are not its children, and outlive it.
func killShims(socket string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "containerd-shim") {
			continue
		}
		if i := slices.Index(args, "-address"); i >= 0 && i+1 < len(args) && args[i+1] == socket {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// unmountUnder unmounts every mount point under dir, deepest first.
func unmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// removeLinksInto removes the symbolic links in dir that point under
// target (the kubelet's links to its pods' logs).
func removeLinksInto(dir, target string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if to, err := os.Readlink(p); err == nil && strings.HasPrefix(to, target+"/") {
			_ = os.Remove(p)
		}
	}
}

// Command runs a program (ip, iptables) in the node's network and returns
// its output, for a test's diagnostics.
func (c *Cluster) Command(name string, args ...string) (string, error) {
	argv0, argv := c.ns.command(name, args...)
	out, err := exec.Command(argv0, argv...).CombinedOutput()
	return string(out), err
}

// Unready describes each pod in namespace that is not Ready, one line
// each: its phase, each container's state and readiness probe, and the
// last warnings the kubelet recorded about it (a failing probe's answer).
func (c *Cluster) Unready(ctx context.Context, t testing.TB, namespace string) ([]string, error) {
	cs := c.API.Clientset(t)
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	events, err := cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods.Items {
		if podReady(&p) || p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s/%s on %q: %s", namespace, p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, cond := range p.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Reason != "" {
				fmt.Fprintf(&b, "; %s: %s %s", cond.Type, cond.Reason, cond.Message)
			}
		}
		for _, s := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, "; container %s ready=%t", s.Name, s.Ready)
			switch {
			case s.State.Waiting != nil:
				fmt.Fprintf(&b, " waiting %s %s", s.State.Waiting.Reason, s.State.Waiting.Message)
			case s.State.Terminated != nil:
				fmt.Fprintf(&b, " terminated %s (exit %d)", s.State.Terminated.Reason, s.State.Terminated.ExitCode)
			}
		}
		for _, ctr := range p.Spec.Containers {
			if pr := ctr.ReadinessProbe; pr != nil && pr.HTTPGet != nil {
				fmt.Fprintf(&b, "; %s's readiness probe GET %s on port %s", ctr.Name, pr.HTTPGet.Path, pr.HTTPGet.Port.String())
			}
		}
		var warnings []string
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == p.Name && e.Type == corev1.EventTypeWarning {
				warnings = append(warnings, fmt.Sprintf("%s (x%d): %s", e.Reason, max(e.Count, 1), e.Message))
			}
		}
		if len(warnings) > 0 {
			fmt.Fprintf(&b, "; warnings: %s", strings.Join(warnings[max(0, len(warnings)-3):], " | "))
		}
		out = append(out, b.String())
	}
	return out, nil
}

// podReady is the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
