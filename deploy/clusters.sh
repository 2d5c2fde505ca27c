#!/usr/bin/env bash
# Two kind clusters joined by Istio multicluster (multi-primary, one network
# each), with a LoadBalancer implementation, shared mesh certificates,
# Prometheus and metrics-server; three with CLUSTERS=3 (primary, burst,
# burst-2). See docs/clusters.md for what each step does.
#
#   deploy/clusters.sh up     create and wire the clusters (idempotent)
#   deploy/clusters.sh down   delete the clusters, stop cloud-provider-kind
#   deploy/clusters.sh skaffold ARGS...   run skaffold against the clusters
#                           (ROUTER=gatewayapi: the worker's split as an HTTPRoute;
#                           STRATEGY=slo: the burster on the latency objective;
#                           CLUSTERS=3: the three-cluster overlays, k8s/overlays/three)
#   deploy/clusters.sh check TOOL...   stop with a message if a tool is missing
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${CLUSTERS_STATE:-$root/bin/clusters} # certificates, kubeconfig, cloud-provider-kind's pid and log
case ${CLUSTERS:-2} in
2) clusters=(primary burst) ;;
3) clusters=(primary burst burst-2) ;;
*) echo "CLUSTERS=$CLUSTERS: want 2 (primary, burst) or 3 (and burst-2)" >&2; exit 2 ;;
esac
bursts=("${clusters[@]:1}") # the clusters the burster in primary spills to, in order
kind_version=v0.33.0 # deploy/kind/*.yaml pin a node image built for this release
# The Gateway API release the pinned Istio is built against; the tests install
# the same one (testkit/kube.GatewayAPIVersion).
gateway_api_version=v1.6.0
cpk_pid=$state/cloud-provider-kind.pid

declare -A hint=(
	[docker]="install Docker (https://docs.docker.com/engine/install/) and start it"
	[kind]="go install sigs.k8s.io/kind@$kind_version"
	[istioctl]="https://istio.io/latest/docs/setup/getting-started/#download (Istio 1.31)"
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

# cloud_provider_kind starts cloud-provider-kind unless one runs already,
# and records the pid of the one it starts. (Its name is longer than the 15
# characters Linux keeps as a process name, so pgrep -x never finds it; the
# full command line does, also as "sudo cloud-provider-kind" on macOS.)
cloud_provider_kind() {
	if [ -f "$cpk_pid" ] && ours "$(cat "$cpk_pid")"; then
		return
	fi
	if pgrep -f '(^|[/ ])cloud-provider-kind( |$)' >/dev/null; then
		echo "cloud-provider-kind is already running (started outside make clusters; it is left alone)"
		return
	fi
	echo "starting cloud-provider-kind (LoadBalancer Services); log: $state/cloud-provider-kind.log"
	nohup cloud-provider-kind >"$state/cloud-provider-kind.log" 2>&1 &
	echo $! >"$cpk_pid"
}

# ours: the pid is alive and is cloud-provider-kind (not a reused pid).
ours() {
	ps -p "$1" -o command= 2>/dev/null | grep -Eq '(^|[/ ])cloud-provider-kind( |$)'
}

# wait_synced waits until the cluster's istiod reports another cluster
# synced: it reads the other API server through the remote secret.
wait_synced() {
	local c=$1 other=$2 status=""
	for _ in $(seq 60); do
		status=$(istioctl remote-clusters --context "$(ctx "$c")" 2>/dev/null | awk -v o="$other" '$1 == o { print $3 }')
		[ "$status" = synced ] && return
		sleep 2
	done
	echo "istiod in $c has not synced $other (status: ${status:-not listed}). See: istioctl remote-clusters --context $(ctx "$c")" >&2
	exit 1
}

up() {
	check docker kind kubectl istioctl cloud-provider-kind openssl
	if ! kind version | grep -q "^kind $kind_version "; then
		echo "warning: $(kind version); the node image in deploy/kind is built for kind $kind_version" >&2
	fi
	mkdir -p "$state"
	for c in "${clusters[@]}"; do
		kind get clusters 2>/dev/null | grep -qx "$c" || kind create cluster --config "$root/deploy/kind/$c.yaml"
	done

	cloud_provider_kind

	"$root/deploy/mesh/gen-certs.sh" "$state/certs" "${clusters[@]}"
	for c in "${clusters[@]}"; do
		kubectl --context "$(ctx "$c")" create namespace istio-system --dry-run=client -o yaml | kubectl --context "$(ctx "$c")" apply -f -
		kubectl --context "$(ctx "$c")" label namespace istio-system "topology.istio.io/network=network-$c" --overwrite
		kubectl --context "$(ctx "$c")" -n istio-system create secret generic cacerts \
			--from-file="$state/certs/$c/ca-cert.pem" --from-file="$state/certs/$c/ca-key.pem" \
			--from-file="$state/certs/$c/root-cert.pem" --from-file="$state/certs/$c/cert-chain.pem" \
			--dry-run=client -o yaml | kubectl --context "$(ctx "$c")" apply -f -
		# Before Istio, so istiod serves HTTPRoutes from its start
		# (ROUTER=gatewayapi). Server-side: the CRDs are too large for the
		# last-applied annotation.
		kubectl --context "$(ctx "$c")" apply --server-side -f \
			"https://github.com/kubernetes-sigs/gateway-api/releases/download/$gateway_api_version/standard-install.yaml"
		istioctl install -y --context "$(ctx "$c")" -f "$root/deploy/mesh/$c.yaml"
		istioctl install -y --context "$(ctx "$c")" -f "$root/deploy/mesh/eastwest-$c.yaml"
		kubectl --context "$(ctx "$c")" apply -f "$root/deploy/mesh/expose-services.yaml"
	done

	for c in "${clusters[@]}"; do
		echo "waiting for the east-west gateway of $c to get an address"
		ip=""
		for _ in $(seq 60); do
			ip=$(kubectl --context "$(ctx "$c")" -n istio-system get svc istio-eastwestgateway -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
			[ -n "$ip" ] && break
			sleep 2
		done
		[ -n "$ip" ] || { echo "no LoadBalancer address for istio-eastwestgateway in $c: is cloud-provider-kind running? See $state/cloud-provider-kind.log" >&2; exit 1; }
	done

	# Each istiod watches every other cluster's API server for endpoints.
	for c in "${clusters[@]}"; do
		for other in "${clusters[@]}"; do
			[ "$other" = "$c" ] && continue
			istioctl create-remote-secret --context "$(ctx "$other")" --name "$other" --server "$(apiserver "$other")" |
				kubectl --context "$(ctx "$c")" apply -f -
		done
	done
	echo "waiting for each istiod to sync the other clusters"
	for c in "${clusters[@]}"; do
		for other in "${clusters[@]}"; do
			[ "$other" = "$c" ] || wait_synced "$c" "$other"
		done
	done

	burster_kubeconfig

	# The BurstPolicy CRD, before make deploy applies the worker's policy
	# (kubectl cannot apply a CRD and its first object in one go).
	kubectl --context "$(ctx primary)" apply --server-side -k "$root/k8s/base/crd"
	kubectl --context "$(ctx primary)" apply -k "$root/deploy/prometheus"
	# The burst clusters' HorizontalPodAutoscalers need resource metrics.
	for c in "${bursts[@]}"; do
		kubectl --context "$(ctx "$c")" apply -k "$root/deploy/metrics-server"
	done

	echo
	echo "${#clusters[@]} clusters are up (${clusters[*]}), and each istiod has synced the others. Next: make deploy (or make dev)${CLUSTERS:+ with CLUSTERS=$CLUSTERS}."
}

# burster_kubeconfig gives the burster in primary a kubeconfig for each
# burst cluster, so that no weight goes there while it has no ready worker:
# a token of burster-remote there (its Role, in
# k8s/overlays/burst/burster-remote.yaml, may list EndpointSlices and get and
# patch the worker HPA; make deploy applies it), in the Secret the worker's
# BurstPolicy names (readiness.kubeconfigSecret: burster-burst-kubeconfig,
# burster-burst-2-kubeconfig) and the burster's Role lets it read.
burster_kubeconfig() {
	local ns=cloudburst c
	for c in "${clusters[@]}"; do
		kubectl --context "$(ctx "$c")" create namespace "$ns" --dry-run=client -o yaml | kubectl --context "$(ctx "$c")" apply -f -
	done
	for c in "${bursts[@]}"; do
		remote_kubeconfig "$c" "$ns"
	done
}

# remote_kubeconfig stores burster-remote's kubeconfig for cluster $1 in
# primary's Secret burster-$1-kubeconfig, in namespace $2.
remote_kubeconfig() {
	local c=$1 ns=$2 token ca kubeconfig
	kubectl --context "$(ctx "$c")" -n "$ns" create serviceaccount burster-remote --dry-run=client -o yaml |
		kubectl --context "$(ctx "$c")" apply -f -
	kubectl --context "$(ctx "$c")" -n "$ns" apply -f - <<-EOF
		apiVersion: v1
		kind: Secret
		metadata:
		  name: burster-remote-token
		  annotations:
		    kubernetes.io/service-account.name: burster-remote
		type: kubernetes.io/service-account-token
	EOF
	token=""
	for _ in $(seq 30); do
		token=$(kubectl --context "$(ctx "$c")" -n "$ns" get secret burster-remote-token -o jsonpath='{.data.token}')
		[ -n "$token" ] && break
		sleep 1
	done
	[ -n "$token" ] || { echo "no token for burster-remote in $c" >&2; exit 1; }
	ca=$(kubectl --context "$(ctx "$c")" -n "$ns" get secret burster-remote-token -o jsonpath='{.data.ca\.crt}')
	kubeconfig=$(mktemp)
	cat >"$kubeconfig" <<-EOF
		apiVersion: v1
		kind: Config
		clusters:
		  - name: $c
		    cluster:
		      server: $(apiserver "$c")
		      certificate-authority-data: $ca
		users:
		  - name: burster-remote
		    user:
		      token: $(echo "$token" | base64 -d)
		contexts:
		  - name: $c
		    context: {cluster: $c, user: burster-remote, namespace: $ns}
		current-context: $c
	EOF
	kubectl --context "$(ctx primary)" -n "$ns" create secret generic "burster-$c-kubeconfig" \
		--from-file=kubeconfig="$kubeconfig" --dry-run=client -o yaml | kubectl --context "$(ctx primary)" apply -f -
	rm -f "$kubeconfig"
}

# run_skaffold runs skaffold against the clusters whatever kube context is
# selected: with a kubeconfig holding only the kind clusters, whose
# current context is kind-primary (skaffold decides from the current context
# whether to load images into kind), and with the nodes' platform (skaffold
# does not detect it when configs deploy to different contexts; ko would
# build linux/amd64, wrong on Apple Silicon). ROUTER=gatewayapi selects
# skaffold's profile gatewayapi: the overlays in k8s/overlays/gatewayapi;
# STRATEGY=slo the profile slo (gatewayapi-slo with both): k8s/overlays/slo;
# CLUSTERS=3 the profile three (gatewayapi-three with ROUTER=gatewayapi,
# slo-three with STRATEGY=slo) and the config burst-2: k8s/overlays/three.
# Unless ARGS name configs (-m), skaffold runs those of the clusters.
run_skaffold() {
	local name="" profile=() modules=()
	case ${ROUTER:-istio} in
	istio) ;;
	gatewayapi) name=gatewayapi ;;
	*) echo "ROUTER=$ROUTER: want istio (a VirtualService) or gatewayapi (an HTTPRoute)" >&2; exit 2 ;;
	esac
	case ${STRATEGY:-switch} in
	switch) ;;
	slo) name=${name:+$name-}slo ;;
	*) echo "STRATEGY=$STRATEGY: want switch (the codelab's thresholds) or slo (primary held at its latency objective)" >&2; exit 2 ;;
	esac
	if [ ${#clusters[@]} -eq 3 ]; then
		case $name in
		"") name=three ;;
		gatewayapi) name=gatewayapi-three ;;
		slo) name=slo-three ;;
		*) echo "CLUSTERS=3 with STRATEGY=slo splits over a VirtualService: leave ROUTER unset" >&2; exit 2 ;;
		esac
	fi
	if [ -n "$name" ]; then profile=(--profile "$name"); fi
	case " $* " in
	*" -m "* | *" -m="* | *" --module "* | *" --module="*) ;;
	*) modules=(-m "$(
		IFS=,
		echo "${clusters[*]}"
	)") ;;
	esac
	check docker kind kubectl skaffold
	mkdir -p "$state"
	local kubeconfig=$state/kubeconfig arch
	for c in "${bursts[@]}" primary; do # primary last: it becomes the current context
		kind get clusters 2>/dev/null | grep -qx "$c" || { echo "no kind cluster $c: run ${CLUSTERS:+CLUSTERS=$CLUSTERS }make clusters first" >&2; exit 1; }
		kind export kubeconfig --name "$c" --kubeconfig "$kubeconfig" >/dev/null
	done
	arch=$(kubectl --kubeconfig "$kubeconfig" --context "$(ctx primary)" get nodes -o jsonpath='{.items[0].status.nodeInfo.architecture}')
	KUBECONFIG=$kubeconfig SKAFFOLD_UPDATE_CHECK=false exec skaffold "$@" "${modules[@]}" "${profile[@]}" --platform "linux/$arch"
}

down() {
	check kind
	# Every cluster make clusters may have made, whatever CLUSTERS says now.
	for c in primary burst burst-2; do
		if [ "$c" = burst-2 ] && ! kind get clusters 2>/dev/null | grep -qx "$c"; then continue; fi
		kind delete cluster --name "$c"
	done
	if [ -f "$cpk_pid" ]; then
		pid=$(cat "$cpk_pid")
		if ours "$pid"; then
			echo "stopping cloud-provider-kind ($pid)"
			kill "$pid"
		fi
		rm -f "$cpk_pid"
	fi
}

case ${1:-} in
up) up ;;
down) down ;;
skaffold) shift; run_skaffold "$@" ;;
check) shift; check "$@" ;;
*) echo "usage: $0 up|down|skaffold ARGS...|check TOOL..." >&2; exit 2 ;;
esac
