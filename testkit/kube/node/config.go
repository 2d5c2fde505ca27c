//go:build linux

package node

import (
	"fmt"
	"path/filepath"
)

// containerdConfig is containerd's configuration: everything of its own
// (root, state, socket, the pods' network namespaces) under the node's
// directory, the CRI plugin with runc under cgroupfs, and pulls from the
// registry over plain HTTP.
func (c *Cluster) containerdConfig(opts Options) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[4]q
  # Root here lacks CAP_SYS_RESOURCE: the kubelet's negative
  # oom_score_adj for a sandbox would make runc fail every one.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[5]q
    conf_dir = %[6]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[7]q
`, filepath.Join(c.dir, "containerd", "root"), filepath.Join(c.dir, "containerd", "state"), c.sockPath,
		opts.Sandbox, cniBin, filepath.Join(c.dir, "cni"), filepath.Join(c.dir, "certs.d"))
}

// cniConfig is the pods' network: a bridge whose address is the node's,
// addresses from host-local (its leases under the node's directory), and a
// default route through the node. Arguments: the network's name, the
// bridge, the leases' directory, the subnet, the gateway.
const cniConfig = `{
  "cniVersion": "1.0.0",
  "name": %q,
  "plugins": [{
    "type": "bridge",
    "bridge": %q,
    "isGateway": true,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": %q,
      "ranges": [[{"subnet": %q, "gateway": %q}]],
      "routes": [{"dst": "0.0.0.0/0"}]
    }
  }]
}
`

// kubeletConfig is the kubelet's configuration: cgroupfs under a cgroup
// of its own, containerd's socket, the cluster's DNS on the node, and no
// eviction but for memory (this machine's disk is shared).
func (c *Cluster) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: %[1]s
failCgroupV1: false
failSwapOn: false
enforceNodeAllocatable: []
containerRuntimeEndpoint: unix://%[2]s
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
clusterDNS: [%[3]s]
clusterDomain: cluster.local
resolvConf: ""
podLogsDir: %[4]s
evictionHard:
  memory.available: 1Mi
serializeImagePulls: false
nodeStatusUpdateFrequency: 2s
syncFrequency: 5s
maxPods: 40
`, c.cgroup, c.sockPath, NodeAddr, filepath.Join(c.dir, "pod-logs"))
}

// proxyConfig is kube-proxy's: iptables, in the node's network only, and
// no change to the machine's conntrack table size.
func (c *Cluster) proxyConfig() string {
	return fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: %[1]s
mode: iptables
hostnameOverride: %[2]s
clusterCIDR: %[3]s
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
conntrack:
  maxPerCore: 0
  min: 0
`, filepath.Join(c.dir, "admin.kubeconfig"), c.Node, podCIDR)
}

// registryHosts is containerd's hosts.toml that sends a registry's pulls
// to registry, over plain HTTP, and nowhere else.
func registryHosts(registry string) string {
	return fmt.Sprintf(`server = "http://%[1]s"

[host."http://%[1]s"]
  capabilities = ["pull", "resolve"]
`, registry)
}
