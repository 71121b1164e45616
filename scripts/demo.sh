#!/usr/bin/env bash
# edgeproxy's main job on one machine, without containers: an HTTP workload, an
# interior router with a tcpConnector for it, and `edgeproxy run` supervising an
# edge router whose tcpListener carries a loopback port over the edge link.
# The routers are the test harness's fake skrouterd, or a real one when
# SKROUTERD=/path/to/skrouterd. Everything listens on 127.0.0.1 only and is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUTER="${SKROUTERD:-$PWD/internal/routertest/testdata/fake-skrouterd}"
PY=/usr/bin/python3
WORK="$(mktemp -d /tmp/edgeproxy-demo.XXXXXX)"
BACKEND_PORT=${DEMO_BACKEND_PORT:-18888}
INTERIOR_MGMT=${DEMO_INTERIOR_MGMT:-25672}
EDGE_LINK=${DEMO_EDGE_LINK:-45671}
PROXY_PORT=${DEMO_PROXY_PORT:-18080}
HEALTH=127.0.0.1:${DEMO_HEALTH_PORT:-19090}
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

step "build edgeproxy"
make -s build
EP="$PWD/bin/edgeproxy"
"$EP" version

step "workload: an HTTP server on 127.0.0.1:$BACKEND_PORT"
mkdir -p "$WORK/www" && echo "hello from my-service, via the edge link" >"$WORK/www/index.html"
"$PY" -m http.server "$BACKEND_PORT" --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/backend.log" 2>&1 &
pids+=($!)

step "interior router ($ROUTER): edge listener 127.0.0.1:$EDGE_LINK, tcpConnector my-service:8080 → $BACKEND_PORT"
cat >"$WORK/interior.json" <<JSON
[
    ["router", {"mode": "interior", "id": "interior"}],
    ["listener", {"name": "amqp", "host": "127.0.0.1", "port": "$INTERIOR_MGMT", "role": "normal"}],
    ["listener", {"name": "edge", "host": "127.0.0.1", "port": "$EDGE_LINK", "role": "edge"}],
    ["tcpConnector", {"name": "my-service", "host": "127.0.0.1", "port": "$BACKEND_PORT", "address": "my-service:8080"}]
]
JSON
"$ROUTER" -c "$WORK/interior.json" 2>"$WORK/interior.log" &
pids+=($!)

step "edgeproxy run: 127.0.0.1:$PROXY_PORT → my-service:8080 over the edge link"
EDGEPROXY_ROUTER__BINARY="$ROUTER" \
EDGEPROXY_ROUTER__ID=demo-proxy \
EDGEPROXY_ROUTER__CONFIG_FILE="$WORK/edge/skrouterd.json" \
EDGEPROXY_ROUTER__MANAGEMENT=127.0.0.1:15672 \
EDGEPROXY_UPLINK__HOST=127.0.0.1 \
EDGEPROXY_UPLINK__PORT="$EDGE_LINK" \
EDGEPROXY_LISTENERS="127.0.0.1:$PROXY_PORT=my-service:8080" \
EDGEPROXY_HEALTH__LISTEN="$HEALTH" \
	"$EP" run 2>&1 | sed 's/^/  [edgeproxy] /' &
pids+=($!)
export EDGEPROXY_HEALTH__LISTEN="$HEALTH" EDGEPROXY_LISTENERS="127.0.0.1:$PROXY_PORT=my-service:8080"

wait_for 20 "$EP" healthcheck
step "edgeproxy healthcheck: ready"
"$EP" healthcheck && echo "exit code $?"

step "curl http://127.0.0.1:$PROXY_PORT/ (through the edge router and the interior)"
wait_for 10 curl -fsS "http://127.0.0.1:$PROXY_PORT/"
curl -fsS "http://127.0.0.1:$PROXY_PORT/"

step "GET /readyz?verbose and /status"
curl -sS "http://$HEALTH/readyz?verbose"
curl -sS "http://$HEALTH/status"; echo

step "stop the interior: the edge link goes down and the proxy turns not ready"
kill -TERM "${pids[1]}"
wait_for 10 bash -c "! '$EP' healthcheck"
curl -sS "http://$HEALTH/readyz?verbose" || true

step "SIGTERM to edgeproxy: graceful stop"
pkill -TERM -f "$EP run" || true
wait "${pids[2]}" 2>/dev/null || true
echo "done"
