#!/usr/bin/env bash
# Builds the pinned deployment tools (skaffold, whose ko builder builds the
# images, and istioctl) from their wrapper modules in tools/ into bin/tools.
# A tool is rebuilt only when its go.mod or go.sum changed (a stamp beside
# the binary records their hash).
# The first build takes several minutes on 2 cores; later runs are instant.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bin/tools
mkdir -p "$out"

build() { # name package
	local name=$1 pkg=$2 dir=$root/tools/$1
	local sum
	sum=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -d' ' -f1)
	if [ -x "$out/$name" ] && [ "$(cat "$out/.$name.stamp" 2>/dev/null)" = "$sum" ]; then
		return
	fi
	echo "building $name into $out" >&2
	(cd "$dir" && GOWORK=off CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/$name" "$pkg")
	echo "$sum" >"$out/.$name.stamp"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(skaffold istioctl)
for t in "${tools[@]}"; do
	case $t in
	skaffold) build skaffold github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold ;;
	istioctl) build istioctl istio.io/istio/istioctl/cmd/istioctl ;;
	*) echo "unknown tool $t" >&2; exit 2 ;;
	esac
done
