# shellcheck shell=bash
# Sourced by envtest-bin.sh and tools-bin.sh: build_tool builds one pinned
# tool from its wrapper module in tools/ and puts it in bin/.
#
# A tool is built once per machine: the binary is kept in a cache outside the
# checkout, keyed by the hash of its go.mod and go.sum, the Go version and the
# build flags, so every clone and worktree on the machine (CI's fresh clone
# among them) links it in place instead of rebuilding it. Its compilation
# uses a Go build cache of its own, shared by the tools one script builds
# (kube-apiserver and etcd share gRPC, protobuf and the etcd client) and
# deleted when the script ends: the tools' compiled packages (gigabytes) are of
# no use once the binaries exist.

tools_cache=${CLOUDBURST_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudburst/tools}
tools_gocache=""
trap '[ -z "$tools_gocache" ] || rm -rf "$tools_gocache"' EXIT

# build_tool NAME WRAPPER_DIR PACKAGE OUT_DIR [LDFLAGS]
build_tool() {
	local name=$1 dir=$2 pkg=$3 out=$4 ldflags=${5:--s -w}
	local key cached
	key=$( { cat "$dir/go.mod" "$dir/go.sum"; go env GOVERSION; echo "$pkg $ldflags"; } | sha256sum | cut -c1-16)
	cached=$tools_cache/$name-$key
	if [ ! -x "$cached" ]; then
		local start
		mkdir -p "$tools_cache"
		[ -n "$tools_gocache" ] || tools_gocache=$(mktemp -d "$tools_cache/.gocache.XXXXXX")
		start=$(date +%s)
		echo "building $name (once per machine; see README: first run)" >&2
		if ! (cd "$dir" && GOWORK=off CGO_ENABLED=0 GOCACHE=$tools_gocache GOFLAGS=-modcacherw \
			go build -trimpath -ldflags "$ldflags" -o "$cached.tmp.$$" "$pkg"); then
			rm -f "$cached.tmp.$$"
			return 1
		fi
		mv "$cached.tmp.$$" "$cached"
		echo "built $name in $(($(date +%s) - start))s" >&2
	fi
	mkdir -p "$out"
	# A hard link costs no space; across file systems, a copy.
	ln -f "$cached" "$out/$name" 2>/dev/null || cp -f "$cached" "$out/$name"
}
