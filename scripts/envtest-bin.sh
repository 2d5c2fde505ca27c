#!/usr/bin/env bash
# Builds the control plane that integration tests run (envtest: kube-apiserver,
# etcd, and kubectl beside them) from the pinned modules in tools/ into
# bin/envtest: the Kubernetes release the kind node images run
# (deploy/kind). A second kube-apiserver, of the oldest minor the README
# says is supported, goes into bin/envtest-oldest with the same etcd: the
# CRD is proven on both. On Linux, the node the node tests start (kubelet,
# kube-proxy, kube-controller-manager, kube-scheduler, of the same release
# as the API server) goes into bin/node. No prebuilt binary is downloaded. Each is built
# once per machine (see build-tool.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# testkit/kube's CurrentVersion and OldestVersion; deploy's TestVersionsAgree
# holds them, the wrapper modules and deploy/kind to one another.
k8s_version=v1.35.4
oldest_version=v1.33.13
# shellcheck source=build-tool.sh
. "$root/scripts/build-tool.sh"

# version_flags VERSION: the linker flags that make a binary report VERSION.
version_flags() {
	local minor=${1#v1.}
	minor=${minor%%.*}
	echo "-s -w -X k8s.io/component-base/version.gitVersion=$1 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
}

out=$root/bin/envtest
build_tool kube-apiserver "$root/tools/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$out" "$(version_flags $k8s_version)"
"$out/kube-apiserver" --version | grep -qx "Kubernetes $k8s_version"
# envtest looks for kubectl beside the others: one of the same release.
build_tool kubectl "$root/tools/kube-apiserver" k8s.io/kubernetes/cmd/kubectl "$out" "$(version_flags $k8s_version)"
build_tool etcd "$root/tools/etcd" go.etcd.io/etcd/server/v3 "$out"

oldest=$root/bin/envtest-oldest
build_tool kube-apiserver "$root/tools/kube-apiserver-oldest" k8s.io/kubernetes/cmd/kube-apiserver "$oldest" "$(version_flags $oldest_version)"
"$oldest/kube-apiserver" --version | grep -qx "Kubernetes $oldest_version"
ln -f "$out/etcd" "$oldest/etcd"

# The node runs on Linux only (network namespaces, cgroups); elsewhere its
# tests skip, and its programs are not built.
[ "$(uname -s)" = Linux ] || exit 0
node=$root/bin/node
for b in kubelet kube-proxy kube-controller-manager kube-scheduler; do
	build_tool "$b" "$root/tools/kube-node" "k8s.io/kubernetes/cmd/$b" "$node" "$(version_flags $k8s_version)"
	"$node/$b" --version | grep -qx "Kubernetes $k8s_version"
done
