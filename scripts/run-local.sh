#!/usr/bin/env bash
# Runs Redis, the worker and the frontend on loopback and stops them all on
# Ctrl-C. Needs redis-server on PATH. Ports: FRONTEND_PORT (8080),
# WORKER_PORT (8081), REDIS_PORT (6379).
set -euo pipefail

bin=${BIN:-bin}
frontend_port=${FRONTEND_PORT:-8080}
worker_port=${WORKER_PORT:-8081}
redis_port=${REDIS_PORT:-6379}

command -v redis-server >/dev/null || { echo "redis-server not found: sudo apt-get install redis-server" >&2; exit 1; }

pids=()
cleanup() {
	trap - INT TERM EXIT
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# prefix labels every line of a process's output with its name.
prefix() { sed -u "s/^/[$1] /"; }

# Process substitution keeps $! the service's own PID, so cleanup signals it.
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no > >(prefix redis) 2>&1 &
pids+=($!)
HOST=127.0.0.1 PORT=$worker_port REDIS_URL=127.0.0.1:$redis_port DRAIN_DELAY=0s \
	"$bin/worker" > >(prefix worker) 2>&1 &
pids+=($!)
HOST=127.0.0.1 PORT=$frontend_port REDIS_URL=127.0.0.1:$redis_port DRAIN_DELAY=0s \
	PROCESSOR_URL=http://127.0.0.1:$worker_port/ "$bin/frontend" > >(prefix frontend) 2>&1 &
pids+=($!)

echo "open http://127.0.0.1:$frontend_port/  (Ctrl-C stops everything)"
wait -n "${pids[@]}"
