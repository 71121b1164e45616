# workloads.sh — what the "host" namespace runs in every strategy: nginx on
# 8888 and an iperf3 server on 4201 (the compose scenario's published ports),
# and the interior router with docs/compose/shared/interior.json (tcpListeners
# 8080 and 5201, tcpConnectors to the workloads, edge listener 45671) — or,
# without SKROUTERD, a plain forwarder (socat) on 8080 and 5201 in its place.
# Sourced by bench-strategies.sh.

# workloads_start ROLE [ADDRESS]: nginx and the iperf3 server in ROLE's
# namespace, listening on ADDRESS (default: all).
workloads_start() {
	local role=$1 addr=${2:-} dir=$WORK/$1
	mkdir -p "$dir/www" "$dir/tmp"
	# nginx's default page (615 bytes), the body every request returns.
	head -c 615 /dev/zero | tr '\0' x >"$dir/www/index.html"
	cat >"$dir/nginx.conf" <<NGINX
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server { listen ${addr:+$addr:}8888; root $dir/www; index index.html; }
}
NGINX
	CG=nginx nsrun "$role" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/nginx.log" 2>&1 &
	CG=iperf3 nsrun "$role" iperf3 -s -p 4201 ${addr:+-B "$addr"} >"$dir/iperf3-server.log" 2>&1 &
	wait_listening "$role" 8888 4201
}

# interior_start [CONFIG]: the real interior router (with CONFIG, default
# docs/compose/shared/interior.json), or the stand-in forwarder.
interior_start() {
	local dir=$WORK/host config=${1:-$REPO/docs/compose/shared/interior.json}
	if [[ -n ${SKROUTERD:-} ]]; then
		CG=interior nsrun host "$SKROUTERD" -c "$config" >>"$dir/interior.log" 2>&1 &
		INTERIOR_PID=$!
		INTERIOR="skrouterd $("$SKROUTERD" --version 2>/dev/null | head -1) (docs/compose/shared/interior.json)"
		if [[ $config == */interior.json ]]; then wait_listening host 8080 5201 45671; else wait_listening host 45671; fi
	else
		CG=interior nsrun host socat TCP-LISTEN:8080,fork,reuseaddr,backlog=1024 TCP:127.0.0.1:8888 >"$dir/fwd-8080.log" 2>&1 &
		CG=interior nsrun host socat TCP-LISTEN:5201,fork,reuseaddr TCP:127.0.0.1:4201 >"$dir/fwd-5201.log" 2>&1 &
		INTERIOR="socat forwarder standing in for the interior router (SKROUTERD unset)"
		wait_listening host 8080 5201
	fi
}

# interior_stop: the real interior router gone (edge-private runs its own).
interior_stop() {
	kill -TERM "$INTERIOR_PID" 2>/dev/null || true
	wait "$INTERIOR_PID" 2>/dev/null || true
	poll 10 "the interior's edge listener closed" \
		bash -c "! ip netns exec $(ns host) ss -Hltn 'sport = :45671' | grep -q ."
}

# wait_listening ROLE PORT...: until every PORT has a TCP listener in ROLE's namespace.
wait_listening() {
	local role=$1 port; shift
	for port in "$@"; do
		poll 20 "$role listening on $port" \
			bash -c "ip netns exec $(ns "$role") ss -Hltn 'sport = :$port' | grep -q ."
	done
}
