#!/usr/bin/env bash
# Builds the control plane that integration tests run (envtest: kube-apiserver
# and etcd) from the pinned modules in tools/ into bin/envtest. No prebuilt
# binary is downloaded. A binary whose --version already matches is kept, so
# only the first run pays the build (about 3 minutes on 2 cores).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bin/envtest
k8s_version=v1.33.13
etcd_version=3.5.21
mkdir -p "$out"

if ! "$out/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $k8s_version"; then
	echo "building kube-apiserver $k8s_version into $out" >&2
	minor=${k8s_version#v1.}; minor=${minor%%.*}
	(cd "$root/tools/kube-apiserver" && GOWORK=off CGO_ENABLED=0 go build -trimpath -o "$out/kube-apiserver" \
		-ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
		k8s.io/kubernetes/cmd/kube-apiserver)
fi

if ! "$out/etcd" --version 2>/dev/null | grep -q "etcd Version: $etcd_version"; then
	echo "building etcd $etcd_version into $out" >&2
	(cd "$root/tools/etcd" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
fi

# envtest looks for kubectl beside the others; the machine's own will do.
if [ ! -e "$out/kubectl" ] && command -v kubectl >/dev/null; then
	ln -s "$(command -v kubectl)" "$out/kubectl"
fi
