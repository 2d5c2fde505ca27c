#!/usr/bin/env bash
# Builds the control plane that integration tests run (envtest: kube-apiserver
# and etcd) from the pinned modules in tools/ into bin/envtest. No prebuilt
# binary is downloaded. Each is built once per machine (see build-tool.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bin/envtest
k8s_version=v1.33.13
# shellcheck source=build-tool.sh
. "$root/scripts/build-tool.sh"

minor=${k8s_version#v1.}; minor=${minor%%.*}
build_tool kube-apiserver "$root/tools/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$out" \
	"-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
"$out/kube-apiserver" --version | grep -qx "Kubernetes $k8s_version"
build_tool etcd "$root/tools/etcd" go.etcd.io/etcd/server/v3 "$out"

# envtest looks for kubectl beside the others; the machine's own will do.
if [ ! -e "$out/kubectl" ] && command -v kubectl >/dev/null; then
	ln -s "$(command -v kubectl)" "$out/kubectl"
fi
