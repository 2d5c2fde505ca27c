#!/usr/bin/env bash
# Two kind clusters joined by Istio multicluster (multi-primary, two
# networks), with a LoadBalancer implementation, shared mesh certificates,
# Prometheus and metrics-server. See docs/clusters.md for what each step does.
#
#   deploy/clusters.sh up     create and wire both clusters (idempotent)
#   deploy/clusters.sh down   delete both clusters
#   deploy/clusters.sh check TOOL...   stop with a message if a tool is missing
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/bin/clusters # certificates and the LoadBalancer's log
clusters=(primary burst)
metrics_server=https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.7.2/components.yaml

declare -A hint=(
	[docker]="install Docker (https://docs.docker.com/engine/install/) and start it"
	[kind]="go install sigs.k8s.io/kind@v0.27.0"
	[istioctl]="https://istio.io/latest/docs/setup/getting-started/#download (Istio 1.27 or later)"
	[kubectl]="https://kubernetes.io/docs/tasks/tools/"
	[skaffold]="https://skaffold.dev/docs/install/ (v2.16 or later)"
	[cloud-provider-kind]="go install sigs.k8s.io/cloud-provider-kind@v0.6.0 (on macOS run it with sudo yourself first)"
	[openssl]="your package manager's openssl"
)

check() {
	local missing=0
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "missing: $t — ${hint[$t]:-install it}" >&2
			missing=1
		fi
	done
	if [[ " $* " == *" docker "* ]] && command -v docker >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
		echo "docker is installed but its engine does not answer: start Docker" >&2
		missing=1
	fi
	[ $missing -eq 0 ] || exit 1
}

ctx() { echo "kind-$1"; }

# apiserver is the address the other cluster uses to reach this cluster's
# API server: its control-plane container on the kind Docker network. The
# kubeconfig's 127.0.0.1 address would point the other cluster at itself.
apiserver() {
	local ip
	ip=$(docker inspect -f '{{ (index .NetworkSettings.Networks "kind").IPAddress }}' "$1-control-plane")
	echo "https://$ip:6443"
}

up() {
	check docker kind kubectl istioctl cloud-provider-kind openssl
	mkdir -p "$state"
	for c in "${clusters[@]}"; do
		kind get clusters 2>/dev/null | grep -qx "$c" || kind create cluster --config "$root/deploy/kind/$c.yaml"
	done

	if ! pgrep -x cloud-provider-kind >/dev/null; then
		echo "starting cloud-provider-kind (LoadBalancer Services); log: $state/cloud-provider-kind.log"
		nohup cloud-provider-kind >"$state/cloud-provider-kind.log" 2>&1 &
	fi

	"$root/deploy/mesh/gen-certs.sh" "$state/certs" "${clusters[@]}"
	for c in "${clusters[@]}"; do
		kubectl --context "$(ctx "$c")" create namespace istio-system --dry-run=client -o yaml | kubectl --context "$(ctx "$c")" apply -f -
		kubectl --context "$(ctx "$c")" label namespace istio-system "topology.istio.io/network=network-$c" --overwrite
		kubectl --context "$(ctx "$c")" -n istio-system create secret generic cacerts \
			--from-file="$state/certs/$c/ca-cert.pem" --from-file="$state/certs/$c/ca-key.pem" \
			--from-file="$state/certs/$c/root-cert.pem" --from-file="$state/certs/$c/cert-chain.pem" \
			--dry-run=client -o yaml | kubectl --context "$(ctx "$c")" apply -f -
		istioctl install -y --context "$(ctx "$c")" -f "$root/deploy/mesh/$c.yaml"
		istioctl install -y --context "$(ctx "$c")" -f "$root/deploy/mesh/eastwest-$c.yaml"
		kubectl --context "$(ctx "$c")" apply -f "$root/deploy/mesh/expose-services.yaml"
	done

	for c in "${clusters[@]}"; do
		echo "waiting for the east-west gateway of $c to get an address"
		for _ in $(seq 60); do
			ip=$(kubectl --context "$(ctx "$c")" -n istio-system get svc istio-eastwestgateway -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
			[ -n "$ip" ] && break
			sleep 2
		done
		[ -n "$ip" ] || { echo "no LoadBalancer address for istio-eastwestgateway in $c: is cloud-provider-kind running?" >&2; exit 1; }
	done

	# Each istiod watches the other cluster's API server for endpoints.
	istioctl create-remote-secret --context "$(ctx burst)" --name burst --server "$(apiserver burst)" |
		kubectl --context "$(ctx primary)" apply -f -
	istioctl create-remote-secret --context "$(ctx primary)" --name primary --server "$(apiserver primary)" |
		kubectl --context "$(ctx burst)" apply -f -

	kubectl --context "$(ctx primary)" apply -k "$root/deploy/prometheus"
	# The burst cluster's HorizontalPodAutoscaler needs resource metrics;
	# kind's kubelets have self-signed certificates.
	kubectl --context "$(ctx burst)" apply -f "$metrics_server"
	kubectl --context "$(ctx burst)" -n kube-system patch deployment metrics-server --type=json \
		-p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]' || true

	echo
	echo "Both clusters are up and joined. Next: make deploy (or make dev)."
}

down() {
	check kind
	for c in "${clusters[@]}"; do kind delete cluster --name "$c"; done
	pkill -x cloud-provider-kind 2>/dev/null || true
}

case ${1:-} in
up) up ;;
down) down ;;
check) shift; check "$@" ;;
*) echo "usage: $0 up|down|check TOOL..." >&2; exit 2 ;;
esac
