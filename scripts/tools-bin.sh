#!/usr/bin/env bash
# Builds the pinned tools (skaffold, whose ko builder builds the images;
# istioctl; istiod, pilot-discovery, from the same istio.io/istio; and
# controller-gen, which writes the BurstPolicy CRD from its types) from
# their wrapper modules in tools/ into bin/tools.
# Each is built once per machine (see build-tool.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=build-tool.sh
. "$root/scripts/build-tool.sh"

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(skaffold istioctl pilot-discovery controller-gen)
for t in "${tools[@]}"; do
	case $t in
	skaffold) build_tool skaffold "$root/tools/skaffold" github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold "$root/bin/tools" ;;
	istioctl) build_tool istioctl "$root/tools/istio" istio.io/istio/istioctl/cmd/istioctl "$root/bin/tools" ;;
	pilot-discovery) build_tool pilot-discovery "$root/tools/istio" istio.io/istio/pilot/cmd/pilot-discovery "$root/bin/tools" ;;
	controller-gen) build_tool controller-gen "$root/tools/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen "$root/bin/tools" ;;
	*) echo "unknown tool $t" >&2; exit 2 ;;
	esac
done
