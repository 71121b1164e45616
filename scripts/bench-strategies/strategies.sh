# strategies.sh — start and stop each strategy's service proxies, and where the
# client sends its traffic. Sourced by bench-strategies.sh.
#
#   direct      the client reaches the workloads (host:8888, host:4201): the upper bound
#   router      the client reaches the interior's tcpListeners (host:8080, host:5201)
#   netfilter   DNAT + MASQUERADE in each proxy namespace (images/netfilter/netfilter-proxy)
#   haproxy     HAProxy in TCP mode in each proxy namespace (images/haproxy/haproxy.cfg)
#   edge        edgeproxy (bin/edgeproxy) running skrouterd in edge mode in each proxy namespace,
#               configured through its environment; edge:KEY=V,KEY=V adds EDGEPROXY_KEY=V
#               (e.g. edge:ROUTER__WORKER_THREADS=1)
#   edge-private  edge, with the workloads behind a workload-side edgeproxy holding tcpConnectors
#               (namespace "workload", nginx and iperf3 on its loopback only: the client reaches
#               them through the routers alone) and an interior with only its edge listener
#   envoy       Envoy tcp_proxy (images/envoy/*/envoy.yaml), where an envoy binary exists
# The proxies forward to the interior's tcpListeners (host.docker.internal:8080 and :5201),
# as in docs/compose/*.

PROXIES=(my-service my-tcp-service)
declare -A PROXY_PORT=([my-service]=8080 [my-tcp-service]=5201)

# strategy_skip NAME: why NAME cannot run here (empty: it can).
strategy_skip() {
	case ${1%%:*} in
	direct | netfilter | haproxy) ;;
	router | edge | edge-private) [[ -n ${SKROUTERD:-} ]] || echo "needs a real skrouterd: set SKROUTERD=/path/to/skrouterd" ;;
	envoy) command -v envoy >/dev/null || echo "no envoy binary on PATH" ;;
	*) die "unknown strategy \"$1\" (want direct, router, netfilter, haproxy, edge[:KEY=V,...], edge-private[:KEY=V,...], envoy)" ;;
	esac
}

# strategy_targets NAME: "HTTP-HOST:PORT TCP-HOST:PORT" as the client dials them.
strategy_targets() {
	case ${1%%:*} in
	direct) echo "host:8888 host:4201" ;;
	router) echo "host:8080 host:5201" ;;
	*) echo "my-service:8080 my-tcp-service:5201" ;;
	esac
}

# strategy_has_proxies NAME: whether NAME runs processes in the proxy namespaces.
strategy_has_proxies() { [[ ${1%%:*} != direct && ${1%%:*} != router ]]; }

strategy_start() {
	local name=$1 role port dir
	[[ ${name%%:*} != edge-private ]] || private_start "$name"
	for role in "${PROXIES[@]}"; do
		port=${PROXY_PORT[$role]}
		dir=$WORK/$role/$(slug "$name")
		mkdir -p "$dir"
		case ${name%%:*} in
		direct | router) ;;
		netfilter)
			ip netns exec "$(ns "$role")" sysctl -qw net.ipv4.ip_forward=1
			FORWARD="$port=host.docker.internal:$port" \
				nsrun "$role" "$REPO/images/netfilter/netfilter-proxy" run >"$dir/proxy.log" 2>&1 &
			poll 10 "$role: netfilter rules" grep -q 'rules applied' "$dir/proxy.log"
			;;
		haproxy)
			LISTEN_PORT=$port TARGET=host.docker.internal:$port \
				nsrun "$role" haproxy -W -db -f "$REPO/images/haproxy/haproxy.cfg" >"$dir/proxy.log" 2>&1 &
			wait_listening "$role" "$port"
			;;
		edge | edge-private)
			edge_start "$name" "$role" "$dir" "EDGEPROXY_LISTENERS=$port=$role:$port"
			;;
		envoy)
			nsrun "$role" envoy -c "$REPO/images/envoy/$role/envoy.yaml" --log-path "$dir/envoy.log" >"$dir/proxy.log" 2>&1 &
			wait_listening "$role" "$port"
			;;
		esac
	done
}

# edge_start NAME ROLE DIR VAR=VALUE...: edgeproxy with the compose file's
# environment (docs/compose/edge-router/compose.yaml), the VAR=VALUEs and
# NAME's KEY=V settings.
edge_start() {
	local name=$1 role=$2 dir=$3 kv; shift 3
	local -a env=(
		# One id per router, as each container's host name is its own.
		"EDGEPROXY_ROUTER__ID=$role"
		"EDGEPROXY_ROUTER__BINARY=$SKROUTERD"
		"EDGEPROXY_ROUTER__CONFIG_FILE=$dir/skrouterd.json"
		"EDGEPROXY_UPLINK__HOST=host.docker.internal"
		"EDGEPROXY_UPLINK__PORT=45671"
		"EDGEPROXY_HEALTH__LISTEN=127.0.0.1:9090"
		"$@"
	)
	if [[ $name == *:* ]]; then
		IFS=, read -ra kvs <<<"${name#*:}"
		for kv in "${kvs[@]}"; do
			[[ $kv =~ ^[A-Z0-9_]+=.*$ ]] || die "strategy \"$name\": \"$kv\" is not KEY=VALUE (KEY as in EDGEPROXY_KEY)"
			env+=("EDGEPROXY_$kv")
		done
	fi
	(
		export "${env[@]}"
		nsrun "$role" "$EDGEPROXY" run >"$dir/proxy.log" 2>&1
	) &
	poll 30 "$role: edgeproxy ready (/readyz)" \
		ip netns exec "$(ns "$role")" curl -fsS -o /dev/null http://127.0.0.1:9090/readyz
}

# private_start NAME: edge-private's far side — the interior with only its
# edge listener, and in the workload namespace nginx, iperf3 and an edgeproxy
# whose tcpConnectors offer them as my-service:8080 and my-tcp-service:5201.
private_start() {
	local dir=$WORK/workload/$(slug "$1")
	mkdir -p "$dir"
	interior_stop
	cat >"$WORK/interior-private.json" <<'JSON'
[
    ["router", {"mode": "interior", "id": "interior"}],
    ["listener", {"name": "amqp", "host": "127.0.0.1", "port": "25672", "role": "normal"}],
    ["listener", {"name": "edge", "host": "0.0.0.0", "port": "45671", "role": "edge"}],
    ["log", {"module": "FLOW_LOG", "enable": "none"}]
]
JSON
	interior_start "$WORK/interior-private.json"
	workloads_start workload 127.0.0.1
	edge_start "$1" workload "$dir" "EDGEPROXY_CONNECTORS=my-service:8080=127.0.0.1:8888,my-tcp-service:5201=127.0.0.1:4201"
}

strategy_stop() {
	local role
	for role in "${PROXIES[@]}"; do lab_kill "$(ns "$role")"; done
	if [[ ${1%%:*} == edge-private ]]; then
		lab_kill "$(ns workload)"
		interior_stop
		interior_start
	fi
	# The namespaces stay; netfilter's rules go with a fresh nat table.
	for role in "${PROXIES[@]}"; do
		ip netns exec "$(ns "$role")" iptables -t nat -F
		ip netns exec "$(ns "$role")" iptables -t nat -X
	done
}

# slug NAME: NAME as a file name.
slug() { echo "$1" | tr -c 'A-Za-z0-9_.\n-' '_'; }
