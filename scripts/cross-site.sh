#!/usr/bin/env bash
# Services across sites, with real routers in three network namespaces
# (docs/scenario.md "Services across sites"; needs root and SKROUTERD):
#
#   host A (epx-a)  interior router A; edgeproxy (edge router, proxy-a) with
#                   its uplink to A and a listener 0.0.0.0:8080 → my-service:8080;
#                   the client
#   host B (epx-b)  interior router B, inter-router link to A; the workload
#                   (HTTP on 127.0.0.1:8080) and a tcpConnector for my-service:8080
#   host C (epx-c)  interior router C, inter-router link to A; a second copy of
#                   the workload, no tcpConnector yet
#
# A client loop on host A requests http://127.0.0.1:8080/ (the proxy) every
# INTERVAL seconds, one fresh connection each, and logs every attempt with its
# timestamp and which host answered. Then the workload moves: the tcpConnector
# is deleted on B and created on C over AMQP management (skmanage). The proxy
# is not touched: its router keeps its pid, name and address. The script prints
# the gap: from the last answer by B to the first by C, and the failed attempts.
#
# Environment: SKROUTERD (required, a real skrouterd), SKMANAGE (default
# /work/rt/install/bin/skmanage, run with Debian's /usr/bin/python3), ROUNDS
# (moves, B→C then C→B, ...; default 3), INTERVAL (default 0.02), KEEP=1 keeps
# the work folder. Everything (processes, namespaces, veths) is removed on every
# exit path.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${SKROUTERD:?SKROUTERD must name a real skrouterd (the fake has no inter-router links)}"
SKMANAGE=${SKMANAGE:-/work/rt/install/bin/skmanage}
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
INTERVAL=${INTERVAL:-0.02}
NS_A=epx-a NS_B=epx-b NS_C=epx-c
IP_AB_A=10.77.1.1 IP_AB_B=10.77.1.2 IP_AC_A=10.77.2.1 IP_AC_C=10.77.2.2
[ "$(id -u)" = 0 ] || { echo "cross-site.sh: needs root (network namespaces)" >&2; exit 1; }
[ -x "$SKROUTERD" ] || { echo "cross-site.sh: SKROUTERD=$SKROUTERD is not executable" >&2; exit 1; }

WORK=$(mktemp -d /tmp/epx-cross-site.XXXXXX)
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	for ns in $NS_A $NS_B $NS_C; do ip netns del "$ns" 2>/dev/null || true; done
	if [ "${KEEP:-}" = 1 ] || [ $rc != 0 ]; then echo "work folder (logs): $WORK" >&2; else rm -rf "$WORK"; fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n== %s\n' "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bg() { # bg NS LOG CMD...: start CMD in NS, log to LOG, remember its pid
	local ns=$1 log=$2; shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	pids+=($!)
}
skm() { local ns=$1; shift; in_ns "$ns" "$PY" "$SKMANAGE" -b 127.0.0.1:5672 "$@"; }

step "build edgeproxy"
make -s build
EP=$PWD/bin/edgeproxy

step "network namespaces $NS_A, $NS_B, $NS_C (veth A–B $IP_AB_A–$IP_AB_B, A–C $IP_AC_A–$IP_AC_C)"
for ns in $NS_A $NS_B $NS_C; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; in_ns "$ns" ip link set lo up; done
ip link add epx-ab type veth peer name epx-ba
ip link set epx-ab netns $NS_A; ip link set epx-ba netns $NS_B
ip link add epx-ac type veth peer name epx-ca
ip link set epx-ac netns $NS_A; ip link set epx-ca netns $NS_C
in_ns $NS_A ip addr add $IP_AB_A/24 dev epx-ab; in_ns $NS_A ip link set epx-ab up
in_ns $NS_B ip addr add $IP_AB_B/24 dev epx-ba; in_ns $NS_B ip link set epx-ba up
in_ns $NS_A ip addr add $IP_AC_A/24 dev epx-ac; in_ns $NS_A ip link set epx-ac up
in_ns $NS_C ip addr add $IP_AC_C/24 dev epx-ca; in_ns $NS_C ip link set epx-ca up

interior() { # interior NAME [CONNECT_TO_IP]: the interior's config file
	local f=$WORK/interior-$1.json
	{
		echo '['
		echo "  [\"router\", {\"mode\": \"interior\", \"id\": \"interior-$1\"}],"
		echo '  ["listener", {"name": "amqp", "host": "0.0.0.0", "port": "5672", "role": "normal"}],'
		echo '  ["listener", {"name": "edge", "host": "0.0.0.0", "port": "45671", "role": "edge"}],'
		if [ -n "${2:-}" ]; then
			echo "  [\"connector\", {\"name\": \"to-a\", \"host\": \"$2\", \"port\": \"55671\", \"role\": \"inter-router\"}],"
		else
			echo '  ["listener", {"name": "inter-router", "host": "0.0.0.0", "port": "55671", "role": "inter-router"}],'
		fi
		echo '  ["log", {"module": "DEFAULT", "enable": "info+"}]'
		echo ']'
	} >"$f"
	echo "$f"
}

step "interior routers: A (inter-router listener), B and C (linked to A)"
bg $NS_A "$WORK/interior-a.log" "$SKROUTERD" -c "$(interior a)"
bg $NS_B "$WORK/interior-b.log" "$SKROUTERD" -c "$(interior b $IP_AB_A)"
bg $NS_C "$WORK/interior-c.log" "$SKROUTERD" -c "$(interior c $IP_AC_A)"
nodes() { skm $NS_A query --type router.node id | grep -c '"interior-[bc]"'; }
linked() { [ "$(nodes)" = 2 ]; }
wait_for 30 linked
skm $NS_A query --type router.node id | tr -d ' \n'; echo

step "the workload on B and on C (the same service; each answers with its host)"
for h in b c; do
	ns=epx-$h
	bg "$ns" "$WORK/workload-$h.log" "$PY" -c "
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'hello from my-service on host $h\n'
        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', 8080), H).serve_forever()"
done
connector() { skm "$1" "$2" --type tcpConnector --name my-service "${@:3}"; }
mgmt_of() { case $1 in b) echo $IP_AB_B:5672 ;; c) echo $IP_AC_C:5672 ;; esac; } # from host A
connector $NS_B create host=127.0.0.1 port=8080 address=my-service:8080 >/dev/null

step "edgeproxy on host A: an edge router linked to interior A, listener 0.0.0.0:8080 → my-service:8080"
bg $NS_A "$WORK/edgeproxy.log" env -i PATH="$PATH" HOME=/root \
	EDGEPROXY_ROUTER__BINARY="$SKROUTERD" EDGEPROXY_ROUTER__ID=proxy-a \
	EDGEPROXY_ROUTER__CONFIG_FILE="$WORK/proxy-a/skrouterd.json" EDGEPROXY_ROUTER__MANAGEMENT=127.0.0.1:5673 \
	EDGEPROXY_UPLINK__HOST=127.0.0.1 EDGEPROXY_UPLINK__PORT=45671 \
	EDGEPROXY_LISTENERS=8080=my-service:8080 EDGEPROXY_HEALTH__LISTEN=127.0.0.1:9090 "$EP" run
ready() { in_ns $NS_A curl -fsS -m 1 http://127.0.0.1:9090/readyz; }
answers() { in_ns $NS_A curl -fsS -m 1 http://127.0.0.1:8080/ | grep -q "host $1"; }
wait_for 30 ready
wait_for 30 answers b
router_pid() { in_ns $NS_A curl -fsS -m 1 http://127.0.0.1:9090/status | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["router"]["pid"])'; }
pid_before=$(router_pid)
echo "proxy ready, my-service answers from host b; proxy router pid $pid_before"

step "client loop on host A (every ${INTERVAL}s, one connection each) while the workload moves $ROUNDS times"
CLIENT_LOG=$WORK/client.log
bg $NS_A "$CLIENT_LOG" "$PY" -u -c "
import socket, time, sys
interval = float(sys.argv[1])
while True:
    t = time.time()
    try:
        s = socket.create_connection(('127.0.0.1', 8080), timeout=1)
        s.settimeout(1)
        s.sendall(b'GET / HTTP/1.0\r\nHost: my-service\r\n\r\n')
        data = b''
        while True:
            b = s.recv(4096)
            if not b: break
            data += b
        s.close()
        who = data.rsplit(b'host ', 1)[-1].strip().decode() if b'hello' in data else 'empty'
        print('%.6f %.6f ok %s' % (t, time.time(), who))
    except OSError as e:
        print('%.6f %.6f fail %s' % (t, time.time(), type(e).__name__))
    time.sleep(interval)
" "$INTERVAL"
sleep 1
from=b to=c
cat >"$WORK/move.py" <<'EOF'
# move.py ROUND FROM FROM_MGMT TO TO_MGMT: DELETE tcpConnector my-service at
# FROM, CREATE it at TO; prints "ROUND FROM TO t_start t_deleted t_created".
import sys, time, uuid
from proton import Message
from proton.utils import BlockingConnection
rnd, src_name, src_addr, dst_name, dst_addr = sys.argv[1:6]
def client(addr):
    c = BlockingConnection("amqp://" + addr, timeout=10)
    conns.append(c)
    r = c.create_receiver(None, dynamic=True)
    return c.create_sender("$management"), r
conns = []
def call(side, props, body):
    snd, rcv = side
    snd.send(Message(properties=props, body=body, reply_to=rcv.remote_source.address,
                     correlation_id=str(uuid.uuid4())))
    m = rcv.receive(timeout=10)
    code = m.properties["statusCode"]
    if code not in (201, 204):
        sys.exit("%s: %s %s" % (props["operation"], code, m.properties.get("statusDescription")))
src, dst = client(src_addr), client(dst_addr)
t0 = time.time()
call(src, {"operation": "DELETE", "type": "io.skupper.router.tcpConnector", "name": "my-service"}, {})
t1 = time.time()
call(dst, {"operation": "CREATE", "type": "io.skupper.router.tcpConnector", "name": "my-service"},
     {"host": "127.0.0.1", "port": "8080", "address": "my-service:8080"})
t2 = time.time()
print("%s %s %s %.6f %.6f %.6f" % (rnd, src_name, dst_name, t0, t1, t2))
for c in conns:
    c.close()
EOF
MOVES=$WORK/moves.log
: >"$MOVES"
for round in $(seq 1 "$ROUNDS"); do
	# One process opens both management connections (over the veths) first,
	# then deletes and creates back to back, timing each: skmanage alone takes
	# seconds to start on a loaded machine.
	in_ns $NS_A "$PY" "$WORK/move.py" "$round" "$from" "$(mgmt_of "$from")" "$to" "$(mgmt_of "$to")" >>"$MOVES"
	wait_for 30 answers "$to"
	sleep 2
	tmp=$from from=$to to=$tmp
done
sleep 0.5
pid_after=$(router_pid)

step "result"
"$PY" - "$CLIENT_LOG" "$MOVES" "$pid_before" "$pid_after" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
moves = [l.split() for l in open(sys.argv[2]) if l.strip()]
print("client attempts: %d" % len(rows))
for rnd, src, dst, t0, t1, t2 in moves:
    t0, t1, t2 = float(t0), float(t1), float(t2)
    after = [r for r in rows if r[2] == "ok" and r[3] == dst and float(r[0]) >= t0]
    if not after:
        print("move %s: %s -> %s: no answer from %s" % (rnd, src, dst, dst)); continue
    first_dst = min(float(r[1]) for r in after)
    before = [float(r[1]) for r in rows if r[2] == "ok" and r[3] == src and float(r[0]) < first_dst]
    last_src = max(before) if before else t0
    failed = [r for r in rows if r[2] != "ok" and last_src < float(r[0]) < first_dst]
    print("move %s: %s -> %s: DELETE answered in %.1f ms, CREATE %.1f ms later; last answer from %s %+.0f ms, "
          "first from %s %+.0f ms after the DELETE was sent (%.0f ms after the CREATE was answered): "
          "gap %.0f ms, %d failed attempts (%s)"
          % (rnd, src, dst, (t1 - t0) * 1e3, (t2 - t1) * 1e3, src, (last_src - t0) * 1e3, dst, (first_dst - t0) * 1e3,
             (first_dst - t2) * 1e3, (first_dst - last_src) * 1e3, len(failed), ", ".join(sorted(set(r[3] for r in failed))) or "-"))
print("proxy router pid %s before, %s after: %s" % (sys.argv[3], sys.argv[4],
      "the proxy was not restarted" if sys.argv[3] == sys.argv[4] else "RESTARTED"))
EOF
[ "$pid_before" = "$pid_after" ]
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
