#!/usr/bin/env bash
# Bollard's demo, in one command on a fresh machine (make demo runs
# `make deps testcluster build`, builds bin/demo, then this script):
#
#   hack/demo.sh up     start a test cluster, the sample apps, and Bollard with
#                       a managed HAProxy on 127.0.0.1; show routing and a
#                       scale-up with no reload; leave it all running
#   hack/demo.sh down   stop everything up started (make demo-down)
#
# Everything lives in .state/demo (git-ignored): the cluster's state, the
# config Bollard writes, HAProxy's sockets, the logs and the recorded PIDs.
# Needs root (network namespaces). Settings: DEMO_STATE, DEMO_SUBNET,
# DEMO_HTTP_PORT, DEMO_HTTPS_PORT, DEMO_STATS_PORT, DEMO_HEALTH_PORT, and
# DEMO_KEEP=1 to leave a failed demo up for inspection.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
STATE=${DEMO_STATE:-$ROOT/.state/demo}
SUBNET=${DEMO_SUBNET:-198.18.1.0/24}
HTTP_PORT=${DEMO_HTTP_PORT:-18080}
HTTPS_PORT=${DEMO_HTTPS_PORT:-18443}
STATS_PORT=${DEMO_STATS_PORT:-18404}
HEALTH_PORT=${DEMO_HEALTH_PORT:-18254}
NS=demo
case "$STATE" in
/ | "" | "$ROOT" | "$HOME") echo "demo: refusing DEMO_STATE=$STATE (it gets deleted)" >&2 && exit 1 ;;
esac
KUBECONFIG_FILE=$STATE/cluster/kubeconfig
HEALTH=127.0.0.1:$HEALTH_PORT
HTTP=127.0.0.1:$HTTP_PORT
HTTPS=127.0.0.1:$HTTPS_PORT
MASTER_SOCK=$STATE/run/master.sock
CONFIG_DIR=$STATE/haproxy
STARTED=$(date +%s)

BOLD= PLAIN=
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; fi
step() { printf '\n%s==> [%ss] %s%s\n' "$BOLD" "$(($(date +%s) - STARTED))" "$*" "$PLAIN"; }
info() { printf '    %s\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}
k() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
demo() { "$BIN/demo" "$@"; }

# cmdline_has PID WORD...: the process runs and its command line holds every WORD.
cmdline_has() {
	local pid=$1 cmd
	shift
	[ -r "/proc/$pid/cmdline" ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	for w in "$@"; do
		case "$cmd" in *"$w"*) ;; *) return 1 ;; esac
	done
}

# stop_pid FILE NAME WORD...: stop the process recorded in FILE (SIGTERM, then
# SIGKILL after 20 s) if it still is the process we started.
stop_pid() {
	local file=$1 name=$2 pid
	shift 2
	[ -f "$file" ] || return 0
	pid=$(cat "$file")
	if [[ "$pid" =~ ^[0-9]+$ ]] && cmdline_has "$pid" "$@"; then
		info "stopping $name (PID $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 200); do
			cmdline_has "$pid" "$@" || break
			sleep 0.1
		done
		if cmdline_has "$pid" "$@"; then
			info "$name did not stop in 20 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$file"
}

down() {
	step "stopping the demo ($STATE)"
	# Bollard stops its managed HAProxy; the recorded master PID covers a
	# Bollard that died without doing so.
	stop_pid "$STATE/bollard.pid" "bollard controller" "$BIN/bollard" controller "$STATE"
	stop_pid "$STATE/haproxy.pid" "HAProxy" haproxy "$CONFIG_DIR/haproxy.cfg"
	if [ -x "$BIN/testcluster" ]; then
		"$BIN/testcluster" down --state "$STATE/cluster" --subnet "$SUBNET"
	elif [ -d "$STATE/cluster" ]; then
		die "bin/testcluster is missing: run make testcluster, then make demo-down"
	fi
	rm -rf "$STATE/run"
	info "stopped; logs are kept in $STATE"
}

need() {
	[ "$(id -u)" -eq 0 ] || die "the demo needs root (network namespaces): run sudo make demo"
	for b in testcluster kubectl bollard demo; do
		[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run make demo (it builds everything)"
	done
	command -v haproxy >/dev/null || die "haproxy is missing: run make deps"
	command -v openssl >/dev/null || die "openssl is missing: run make deps"
	command -v go >/dev/null || die "go is missing: the Gateway API CRDs come from Go's module cache"
	for port in "$HTTP_PORT" "$HTTPS_PORT" "$STATS_PORT" "$HEALTH_PORT"; do
		if ss -Hltn "sport = :$port" | grep -q .; then
			die "port $port is in use (ss -ltnp 'sport = :$port'); stop what uses it or set DEMO_*_PORT"
		fi
	done
}

on_error() {
	local rc=$? line=$1
	trap - ERR INT TERM
	echo >&2
	echo "demo: failed at hack/demo.sh line $line (exit $rc)" >&2
	if [ -f "$STATE/bollard.log" ]; then
		echo "demo: the end of $STATE/bollard.log:" >&2
		tail -n 20 "$STATE/bollard.log" | sed 's/^/    /' >&2
	fi
	if [ -n "${DEMO_KEEP:-}" ]; then
		echo "demo: DEMO_KEEP is set; left running. Stop it with make demo-down" >&2
	else
		down >&2 || true
	fi
	exit "$rc"
}

on_interrupt() {
	trap - ERR INT TERM
	echo "demo: interrupted; cleaning up" >&2
	down >&2 || true
	exit 130
}

up() {
	if [ -f "$STATE/bollard.pid" ] || [ -f "$STATE/cluster/state.json" ]; then
		info "a previous demo is still up; stopping it first"
		down
	fi
	need
	rm -rf "$STATE"
	mkdir -p "$STATE"
	trap 'on_error $LINENO' ERR
	trap on_interrupt INT TERM

	step "1/7 starting the test cluster (subnet $SUBNET, state $STATE/cluster)"
	"$BIN/testcluster" up --state "$STATE/cluster" --subnet "$SUBNET" --timeout 3m 2>&1 | grep -v '^export ' | sed 's/^/    /'

	step "2/7 applying the Gateway API CRDs, the IngressClass (deploy/base) and the sample apps (deploy/examples)"
	gateway_crds
	k apply -f "$ROOT/deploy/base/ingressclass.yaml" | sed 's/^/    /'
	k apply -k "$ROOT/deploy/examples" | sed 's/^/    /'

	step "3/7 generating the TLS Secret of secure.demo.test (openssl, self-signed)"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj /CN=secure.demo.test -addext subjectAltName=DNS:secure.demo.test \
		-keyout "$STATE/tls.key" -out "$STATE/tls.crt" 2>/dev/null
	k -n "$NS" create secret tls secure-demo-tls --cert "$STATE/tls.crt" --key "$STATE/tls.key" \
		--dry-run=client -o yaml | k apply -f - | sed 's/^/    /'
	k -n "$NS" wait --for=condition=Available deployment --all --timeout=90s | sed 's/^/    /'
	gateway_objects

	step "4/7 starting bollard controller (managed HAProxy on $HTTP and $HTTPS)"
	mkdir -p "$CONFIG_DIR" "$STATE/run"
	setsid "$BIN/bollard" controller --kubeconfig "$KUBECONFIG_FILE" --haproxy-mode managed \
		--config-dir "$CONFIG_DIR" --runtime-dir "$STATE/run" --bind-address 127.0.0.1 \
		--http-port "$HTTP_PORT" --https-port "$HTTPS_PORT" --stats-port "$STATS_PORT" \
		--health-address "$HEALTH" --metrics-address "$HEALTH" --publish-address 127.0.0.1 \
		--log-format text >"$STATE/bollard.log" 2>&1 </dev/null &
	echo $! >"$STATE/bollard.pid"
	info "PID $(cat "$STATE/bollard.pid"), log $STATE/bollard.log"
	demo wait --url "http://$HEALTH/readyz" --timeout 60s
	demo masterpid --master "$MASTER_SOCK" >"$STATE/haproxy.pid"
	info "ready: first config applied; HAProxy master PID $(cat "$STATE/haproxy.pid")"

	step "5/7 requests through HAProxy: host/path → the pod that answered"
	# Give the endpoints a moment to be pushed after the first config.
	demo spread --http "$HTTP" --n 4 --timeout 20s \
		--want "$(pods web)" http://web.demo.test/ >/dev/null
	demo routes --http "$HTTP" --https "$HTTPS" --ca "$STATE/tls.crt" \
		http://web.demo.test/ http://web.demo.test/ \
		http://web.demo.test/api/users http://web.demo.test/api/users \
		http://shop.demo.test/cart \
		https://secure.demo.test/account http://secure.demo.test/account \
		http://unknown.demo.test/ http://web.demo.test/apiv2
	info "web.demo.test/api goes to api (path split); http://secure... is redirected to HTTPS;"
	info "/apiv2 is not under the /api prefix (paths match element by element), so web serves it;"
	info "a host that no rule matches goes to the default backend (fallback)."
	demo routes --http "$HTTP" --https "$HTTPS" --ca "$STATE/tls.crt" \
		http://gw.demo.test/ http://gw.demo.test/shop/cart
	info "gw.demo.test is served by the HTTPRoute of Gateway demo (Gateway API), on the same"
	info "frontend as the Ingresses; its status, written by Bollard:"
	k -n "$NS" get gateway,httproute 2>&1 | sed 's/^/    /'

	step "6/7 scaling deployment/api from 2 to 4 replicas: new pods get traffic, no reload"
	local before after
	before=$(demo reloads --metrics "http://$HEALTH/metrics" --master "$MASTER_SOCK")
	info "before: $before"
	demo spread --http "$HTTP" --n 20 --timeout 10s --want "$(pods api)" http://web.demo.test/api
	k -n "$NS" scale deployment/api --replicas=4 | sed 's/^/    /'
	k -n "$NS" rollout status deployment/api --timeout=60s | sed 's/^/    /'
	demo spread --http "$HTTP" --n 40 --timeout 30s --want "$(pods api)" http://web.demo.test/api
	after=$(demo reloads --metrics "http://$HEALTH/metrics" --master "$MASTER_SOCK")
	info "after:  $after"
	if [ "${before%%;*}" = "${after%%;*}" ]; then
		info "no reload: Bollard put the new endpoints into spare server slots over HAProxy's runtime API"
	else
		info "UNEXPECTED: the reload counters moved; see $STATE/bollard.log"
	fi

	trap - ERR INT TERM
	step "7/7 the demo is running ($(($(date +%s) - STARTED)) s)"
	cat <<EOF
    Use the cluster:
      export KUBECONFIG=$KUBECONFIG_FILE
      bin/kubectl get ingress,gateway,httproute,pods -n $NS -o wide
      bin/kubectl -n $NS scale deployment/web --replicas=5
    Send requests (any Host header, to $HTTP or $HTTPS):
      bin/demo routes http://web.demo.test/ http://shop.demo.test/ https://secure.demo.test/
      curl -s -H 'Host: web.demo.test' http://$HTTP/api
    Look inside:
      Bollard log       $STATE/bollard.log
      Bollard metrics   http://$HEALTH/metrics   (bollard_reloads_total, bollard_runtime_updates_total)
      HAProxy stats     http://127.0.0.1:$STATS_PORT/stats
      rendered config   $CONFIG_DIR/haproxy.cfg and $CONFIG_DIR/maps/
    Stop everything:
      make demo-down
EOF
}

# gateway_crds: the standard-channel Gateway API CRDs of the module in go.mod,
# applied from Go's module cache (as e2e/framework does) and Established. The
# other files there (a ValidatingAdmissionPolicy) are applied when the API
# server takes them.
gateway_crds() {
	local dir f crds=() others=()
	dir=$(cd "$ROOT" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api)
	[ -n "$dir" ] || die "sigs.k8s.io/gateway-api is not in the module cache: run go mod download"
	for f in "$dir"/config/crd/standard/*.yaml; do
		if grep -q '^kind: CustomResourceDefinition' "$f"; then crds+=(-f "$f"); else others+=("$f"); fi
	done
	k apply --server-side --force-conflicts "${crds[@]}" >/dev/null
	for f in "${others[@]}"; do
		k apply --server-side --force-conflicts -f "$f" >/dev/null ||
			info "left out $(basename "$f"): this API server refused it"
	done
	k wait --for=condition=Established --timeout=60s "${crds[@]}" >/dev/null
	info "Gateway API CRDs from ${dir##*/}: $((${#crds[@]} / 2)) Established"
}

# gateway_objects: a GatewayClass of Bollard's, a Gateway whose HTTP listener
# is on the demo's HTTP port (so it shares the Ingress frontend) and an
# HTTPRoute for gw.demo.test with a path split.
gateway_objects() {
	k apply -f - <<YAML | sed 's/^/    /'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: bollard}
spec: {controllerName: bollard.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: demo, namespace: $NS}
spec:
  gatewayClassName: bollard
  listeners: [{name: http, port: $HTTP_PORT, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: gw, namespace: $NS}
spec:
  parentRefs: [{name: demo}]
  hostnames: [gw.demo.test]
  rules:
  - matches: [{path: {type: PathPrefix, value: /shop}}]
    backendRefs: [{name: shop, port: 80}]
  - backendRefs: [{name: web, port: 80}]
YAML
}

# pods APP: the names of the Running pods of an app, comma-separated.
pods() {
	k -n "$NS" get pods -l "app=$1" --field-selector=status.phase=Running \
		-o jsonpath='{range .items[*]}{.metadata.name}{","}{end}'
}

case "${1:-}" in
up) up ;;
down)
	[ "$(id -u)" -eq 0 ] || die "make demo-down needs root (network namespaces)"
	down
	;;
*)
	echo "usage: hack/demo.sh up|down" >&2
	exit 2
	;;
esac
