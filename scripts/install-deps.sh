#!/usr/bin/env bash
# Installs the real components the tests run against (redis-server,
# Prometheus, Chromium, a container registry for the image builds) when they
# are missing. As root on Debian or Ubuntu it uses apt; otherwise it
# says what to install, and the tests that need them skip (or fail with CI=true).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

need=()
have redis-server || need+=(redis-server)
have prometheus || need+=(prometheus)
have docker-registry || need+=(docker-registry)
have chromium || have chromium-browser || have google-chrome || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && have apt-get; then
	echo "installing ${need[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
	echo "missing: ${need[*]}; install with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
	echo "(tests that need them will skip; with CI=true they fail)" >&2
fi
