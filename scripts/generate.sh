#!/usr/bin/env bash
# Writes what controller-gen generates from the API types in api/: the
# deep-copy functions beside them, and the BurstPolicy CRD in k8s/base/crd.
# With a directory argument it writes them there instead (object/ and crd/),
# for the test that holds the committed files to the types.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
gen=${CONTROLLER_GEN:-$root/bin/tools/controller-gen}
if [ $# -gt 0 ]; then
	object=$1/object crd=$1/crd
else
	object=$root/api/v1alpha1 crd=$root/k8s/base/crd
fi
cd "$root/api"
"$gen" object crd:allowDangerousTypes=true paths=./v1alpha1/... \
	"output:object:dir=$object" "output:crd:dir=$crd"
