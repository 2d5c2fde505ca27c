#!/usr/bin/env bash
# Installs the real components the tests run against (redis-server,
# Prometheus, Chromium, a container registry for the image builds, openssl
# for the mesh certificates, shellcheck for the scripts, wrk for the worker's
# benchmark, and on Linux the node tests' container runtime and network:
# containerd, runc, the CNI plugins, iptables and conntrack for kube-proxy)
# when they are missing. On Debian or Ubuntu it uses apt, as root or through sudo when
# sudo needs no password; otherwise it says what to install, and the tests that
# need them skip (or fail with CI=true).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

need=()
have redis-server || need+=(redis-server)
have prometheus || need+=(prometheus)
have docker-registry || need+=(docker-registry)
have openssl || need+=(openssl)
have shellcheck || need+=(shellcheck)
have wrk || need+=(wrk)
have chromium || have chromium-browser || have google-chrome ||
	[ -x "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome" ] ||
	[ -x /Applications/Chromium.app/Contents/MacOS/Chromium ] || need+=(chromium)
# The node tests (testkit/kube/node) run a kubelet: Linux only.
if [ "$(uname -s)" = Linux ]; then
	# Root's programs, in sbin, which a user's PATH may lack.
	have_sbin() { have "$1" || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
	have containerd || need+=(containerd)
	have_sbin runc || need+=(runc)
	[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
	have_sbin iptables || need+=(iptables)
	have_sbin conntrack || need+=(conntrack)
fi
[ ${#need[@]} -eq 0 ] && exit 0

# macOS: Homebrew has most of them; nothing is installed for you, and make
# stops here with one message rather than in the middle of the tests.
if [ "$(uname -s)" = Darwin ]; then
	formulas=() other=()
	for n in "${need[@]}"; do
		case $n in
		redis-server) formulas+=(redis) ;;
		prometheus | shellcheck | wrk) formulas+=("$n") ;;
		openssl) formulas+=(openssl@3) ;;
		chromium) other+=("Chromium or Google Chrome (brew install --cask google-chrome; the tests find it in /Applications)") ;;
		docker-registry) other+=("docker-registry, the CNCF distribution registry (github.com/distribution/distribution, its cmd/registry) on PATH under that name") ;;
		esac
	done
	{
		echo "make test needs programs this Mac lacks: ${need[*]}"
		[ ${#formulas[@]} -eq 0 ] || echo "  brew install ${formulas[*]}"
		for o in "${other[@]}"; do echo "  and $o"; done
		echo "(make demo needs none of them: only Go)"
	} >&2
	exit 1
fi

# As root, or through sudo when it needs no password; never a prompt in the
# middle of a test run.
as_root=()
[ "$(id -u)" -eq 0 ] || { have sudo && sudo -n true 2>/dev/null && as_root=(sudo -n); }
if have apt-get && { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
	echo "installing with apt: ${need[*]}" >&2
	"${as_root[@]}" apt-get update -qq
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
	echo "missing: ${need[*]}; install with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
	echo "(tests that need them will skip; with CI=true they fail)" >&2
fi
