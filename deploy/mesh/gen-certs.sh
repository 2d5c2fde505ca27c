#!/usr/bin/env bash
# Generates the mesh's certificates: one root CA shared by both clusters and an
# intermediate CA per cluster, signed by it. Workloads in either cluster then
# trust each other's identities. Writes OUT/root-cert.pem and, per cluster,
# OUT/<cluster>/{ca-cert,ca-key,root-cert,cert-chain}.pem: the four files of
# Istio's `cacerts` secret. Usage: gen-certs.sh OUT primary burst
set -euo pipefail

out=${1:?usage: gen-certs.sh OUT CLUSTER...}
shift
[ $# -gt 0 ] || { echo "name at least one cluster" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }
mkdir -p "$out"

if [ ! -f "$out/root-key.pem" ]; then
	openssl req -x509 -newkey rsa:4096 -sha256 -nodes -days 3650 \
		-keyout "$out/root-key.pem" -out "$out/root-cert.pem" \
		-subj "/O=cloudburst/CN=cloudburst root CA" \
		-addext "basicConstraints=critical,CA:true" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

for cluster in "$@"; do
	dir=$out/$cluster
	[ -f "$dir/ca-cert.pem" ] && continue
	mkdir -p "$dir"
	openssl req -newkey rsa:4096 -sha256 -nodes \
		-keyout "$dir/ca-key.pem" -out "$dir/ca.csr" \
		-subj "/O=cloudburst/CN=cloudburst intermediate CA $cluster" 2>/dev/null
	cat >"$dir/ext.cnf" <<CNF
basicConstraints=critical,CA:true,pathlen:0
keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign,cRLSign
subjectAltName=DNS:istiod.istio-system.svc
CNF
	openssl x509 -req -sha256 -days 730 -in "$dir/ca.csr" \
		-CA "$out/root-cert.pem" -CAkey "$out/root-key.pem" -CAcreateserial \
		-extfile "$dir/ext.cnf" -out "$dir/ca-cert.pem" 2>/dev/null
	cp "$out/root-cert.pem" "$dir/root-cert.pem"
	cat "$dir/ca-cert.pem" "$out/root-cert.pem" >"$dir/cert-chain.pem"
	rm -f "$dir/ca.csr" "$dir/ext.cnf"
done
