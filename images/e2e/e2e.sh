#!/bin/bash
# e2e.sh — the scenario under a real container engine (`make e2e`: docker, then podman).
#
#   images/e2e/e2e.sh [STRATEGY...]     default: netfilter haproxy edge-router edge-router-private
#   E2E_ENGINE=podman images/e2e/e2e.sh the same under podman's Docker-compatible API
#
# Needs root and Debian's docker.io, docker-compose, debootstrap, iproute2 and
# Go (for `go mod vendor`); podman, netavark and aardvark-dns for E2E_ENGINE=podman.
# It starts a private engine in a network namespace of its own (engine.sh:
# dockerd, or `podman system service`), builds the local images (images.sh),
# then for each strategy brings up docs/compose/<strategy>/compose.yaml as
# project `sample` with docker-compose, plus the podman override
# (docs/compose/podman.override.yaml) under podman, plus a CI override
# (images/e2e/<strategy>.override.yaml), and checks it from a client container on
# sample_sample1. The checks are the same on both engines (the docker CLI and
# docker-compose talk to either). Everything is removed on every exit path.
#
# Environment:
#   E2E_ENGINE        docker (default) or podman
#   E2E_ROUTER_IMAGE  a local real skupper-router image: the edgeproxy image's base
#                     and the interior router of every strategy (default: the fake,
#                     edgeproxy-e2e/router:test, as edge-router's interior; a socat
#                     TCP forwarder as the tcpListeners of netfilter and haproxy)
#   E2E_LOAD_SECONDS  length of each iperf3 and wrk run of the data-path check (default 3;
#                     10 for the numbers in docs/scenario.md)
#   E2E_KEEP=1        leave the engine and the last scenario running (debugging;
#                     `[E2E_ENGINE=podman] images/e2e/e2e.sh stop` ends them)
#   E2E_CACHE, E2E_RUN, E2E_NETNS, E2E_BIP, E2E_POOL, E2E_MIRROR, E2E_BASE_FROM,
#   E2E_SAMPLE1_SUBNET, E2E_SAMPLE1_GATEWAY  see engine.sh / images.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_DIR=$REPO/images/e2e
# shellcheck source=images/e2e/engine.sh
. "$E2E_DIR/engine.sh"
# shellcheck source=images/e2e/images.sh
. "$E2E_DIR/images.sh"

E2E_LOGS=${E2E_LOGS:-$REPO/bin/e2e-logs/$E2E_ENGINE}
PROJECT=sample
NETWORK=sample_sample1
CURRENT=""      # the strategy whose containers are up
PASSED=()

# compose runs docker-compose on the current strategy's file, the podman
# override under podman, and the CI override. With a real router
# (E2E_ROUTER_IMAGE), netfilter and haproxy run as documented, the real
# interior in place of the TCP forwarder.
compose() {
	local files=(-f "$REPO/docs/compose/$CURRENT/compose.yaml")
	[[ $E2E_ENGINE == podman ]] && files+=(-f "$REPO/docs/compose/podman.override.yaml")
	if [[ -z ${E2E_ROUTER_IMAGE:-} || $CURRENT == edge-router* ]]; then
		files+=(-f "$E2E_DIR/$CURRENT.override.yaml")
	fi
	"$COMPOSE" --ansi never -p "$PROJECT" "${files[@]}" "$@"
}

# --- cleanup on every exit path -------------------------------------------------

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ $rc != 0 && -n $CURRENT ]]; then
		log "logs of $CURRENT (also in $E2E_LOGS)"
		compose ps >&2 2>/dev/null || true
		compose logs --no-color --tail=40 >"$E2E_LOGS/$CURRENT-compose.log" 2>&1 || true
		tail -n 60 "$E2E_LOGS/$CURRENT-compose.log" >&2 || true
	fi
	if [[ ${E2E_KEEP:-} == 1 ]]; then
		log "E2E_KEEP=1: engine left running (DOCKER_HOST=$DOCKER_HOST; stop: E2E_ENGINE=$E2E_ENGINE $0 stop)"
		exit "$rc"
	fi
	[[ -n $CURRENT ]] && scenario_down
	engine_stop
	exec 9>&- || true
	if ((rc == 0)); then log "PASS: ${PASSED[*]} on $E2E_ENGINE in $((SECONDS))s"; else log "FAIL on $E2E_ENGINE after $((SECONDS))s"; fi
	exit "$rc"
}

scenario_down() {
	compose down -v --remove-orphans -t 20 >>"$E2E_LOGS/compose.log" 2>&1 || true
	CURRENT=""
}

# --- helpers --------------------------------------------------------------------

# eventually TIMEOUT_S WHAT CMD...: poll CMD (a command or function) every 0.5 s until it succeeds.
eventually() {
	local timeout=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "$what: not within ${timeout}s"
		sleep 0.5
	done
	log "ok: $what"
}

# cid SERVICE: the container of SERVICE in the current project (docker ps is much
# faster than `docker-compose ps`, which matters in pollers).
cid() {
	"$DOCKER" ps -aq --filter "label=com.docker.compose.project=$PROJECT" \
		--filter "label=com.docker.compose.service=$1" | head -n 1
}
health() { "$DOCKER" inspect -f '{{.State.Health.Status}}' "$(cid "$1")"; }
health_is() { [[ $(health "$1") == "$2" ]]; }
health_checks() { "$DOCKER" inspect -f '{{len .State.Health.Log}}' "$(cid "$1")"; }
proxies_are() { health_is my-service "$1" && health_is my-tcp-service "$1"; }
proxies_probed() { (($(health_checks my-service) >= $1 && $(health_checks my-tcp-service) >= $1)); }
container_ip() { "$DOCKER" inspect -f "{{(index .NetworkSettings.Networks \"$NETWORK\").IPAddress}}" "$(cid "$1")"; }

# client runs a shell command in a throwaway container on sample_sample1. The
# timeout keeps an engine that never reports the container's end from hanging
# the run, and its cleanup: a trap waits for the command in the foreground, and
# docker run passes SIGTERM on to the container instead of exiting.
# The command's exit status travels in its output: podman 4.3's Docker API
# reports 0 for every `run --rm` (`bash -c 'exit 3'` gives 0), which made
# every status check vacuous there. 125: no status came back (the container
# did not run the command, or the command exited before reporting).
client() {
	local out status
	out=$(timeout -k 5 300 "$DOCKER" run --rm --network "$NETWORK" "$BASE_IMAGE" \
		bash -c "$1"$'\n''echo "client-exit=$?"') || true
	status=${out##*client-exit=}
	if [[ $out != *client-exit=* || ! $status =~ ^[0-9]+$ ]]; then
		[[ -n $out ]] && printf '%s\n' "$out"
		return 125
	fi
	printf '%s' "${out%client-exit=*}"
	return "$status"
}

# check_dns: the service names resolve to the proxies.
check_dns() {
	local svc ip got
	got=$(client 'for s in my-service my-tcp-service; do echo "$s $(getent hosts "$s" | awk "{print \$1}")"; done')
	for svc in my-service my-tcp-service; do
		ip=$(container_ip "$svc")
		[[ $(awk -v s="$svc" '$1 == s {print $2}' <<<"$got") == "$ip" ]] ||
			die "$svc does not resolve to its proxy $ip: $got"
		log "ok: $svc resolves to its proxy ($ip)"
	done
}

# check_data_path [HOSTPORT]: nginx's page through my-service, E2E_LOAD_SECONDS of
# iperf3 through my-tcp-service and of wrk through my-service; and nginx through
# the host's port HOSTPORT when given.
check_data_path() {
	local out secs=${E2E_LOAD_SECONDS:-3} hostport=${1:-}
	out=$(client 'curl -sS --max-time 5 http://my-service:8080/') || die "curl http://my-service:8080 failed"
	grep -q 'Welcome to nginx' <<<"$out" || die "curl http://my-service:8080: not nginx's page: ${out:0:200}"
	log "ok: curl http://my-service:8080 returns nginx's page"
	local try
	for try in 1 2; do
		out=$(client "iperf3 -c my-tcp-service -p 5201 -t $secs -f m" 2>&1) || { echo "$out" >&2; die "iperf3 -c my-tcp-service failed"; }
		printf '%s\n' "$out" >"$E2E_LOGS/$CURRENT-iperf3-$try.log"
		grep -q receiver <<<"$out" && break
		# Seen once under podman on a loaded machine: exit 0, no summary.
		((try == 1)) && log "iperf3 exited 0 without a receiver summary (log: $E2E_LOGS/$CURRENT-iperf3-1.log): once more"
	done
	grep -q receiver <<<"$out" || { echo "$out" >&2; die "iperf3 -c my-tcp-service: no receiver summary, twice"; }
	log "ok: iperf3 -t $secs through my-tcp-service: $(grep -E 'receiver' <<<"$out" | awk '{print $7, $8}')"
	out=$(client "wrk -t1 -c10 -d${secs}s --latency http://my-service:8080/" 2>&1) || { echo "$out" >&2; die "wrk failed"; }
	printf '%s\n' "$out" >"$E2E_LOGS/$CURRENT-wrk.log"
	log "ok: wrk -t1 -c10 -d${secs}s: $(grep -E 'Requests/sec' <<<"$out" | awk '{print $2}') req/s, p50 $(awk '$1 == "50%" {print $2}' <<<"$out"), p99 $(awk '$1 == "99%" {print $2}' <<<"$out")"
	[[ -n $hostport ]] || return 0
	# The same through the host ports (the engine's namespace is "the host").
	in_ns curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$hostport/" || die "curl via host port $hostport failed"
	log "ok: curl via the host port $hostport"
}

# readyz_verbose SERVICE: the proxy's /readyz?verbose body, read inside its
# container with bash's /dev/tcp (the image has no HTTP client but edgeproxy's).
readyz_verbose() {
	"$DOCKER" exec "$(cid "$1")" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9090 &&
		printf "GET /readyz?verbose HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3'
}
# verbose_has SERVICE TEXT: a line of its /readyz?verbose contains TEXT;
# verbose_line SERVICE LINE: one is exactly LINE.
verbose_has() { readyz_verbose "$1" | grep -qF -- "$2"; }
verbose_line() { readyz_verbose "$1" | tr -d '\r' | grep -qxF -- "$2"; }

# check_no_host_ports: nothing on the host (the engine's network namespace)
# listens on the services' or the workloads' ports; the listening sockets go
# to the log and into docs/scenario.md.
check_no_host_ports() {
	local out socks
	out=$(in_ns ss -Hltn)
	printf '%s\n' "$out" >"$E2E_LOGS/$CURRENT-host-listening.txt"
	socks=$(awk '{print $4}' <<<"$out" | sort -u | tr '\n' ' ')
	if awk '{print $4}' <<<"$out" | grep -qE ':(8080|8888|5201|4201)$'; then
		echo "$out" >&2
		die "the host listens on a service or workload port: $socks"
	fi
	log "ok: the host listens on none of 8080, 8888, 5201, 4201 (its listening sockets: $socks)"
}

# proxy_starts: each edgeproxy container's restart count and start time.
proxy_starts() {
	local svc
	for svc in workloads my-service my-tcp-service; do
		"$DOCKER" inspect -f "$svc {{.RestartCount}} {{.State.StartedAt}}" "$(cid "$svc")"
	done
}
# curl_fails: curl ran and failed (a client that could not run proves nothing).
curl_fails() {
	local status=0
	client 'curl -sS --max-time 5 -o /dev/null http://my-service:8080/' || status=$?
	((status != 0 && status != 125))
}
curl_serves() { client 'curl -sS --max-time 5 http://my-service:8080/' | grep -q 'Welcome to nginx'; }
# checked_since SERVICE EPOCH N: its healthcheck ran at least N times since EPOCH.
checked_since() {
	local n=0 start
	while read -r start; do
		[[ -n $start ]] && ((start >= $2)) && n=$((n + 1))
	done < <("$DOCKER" inspect -f '{{range .State.Health.Log}}{{.Start.Unix}}{{"\n"}}{{end}}' "$(cid "$1")")
	((n >= $3))
}
private_healthy() { proxies_are healthy && health_is workloads healthy; }

# check_stop SERVICE: docker stop ends it with exit code 0 well inside the grace period.
check_stop() {
	local svc=$1 c start took code
	c=$(cid "$svc")
	start=$(date +%s%N)
	"$DOCKER" stop -t 15 "$c" >/dev/null
	took=$((($(date +%s%N) - start) / 1000000))
	code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$c")
	[[ $code == 0 ]] || die "docker stop $svc: exit code $code, want 0"
	((took < 5000)) || die "docker stop $svc took ${took} ms: not well inside the 15 s grace period"
	log "ok: docker stop $svc: exit code 0 in ${took} ms"
}

# check_no_zombie SERVICE: no process in state Z inside the container (read
# from /proc, so it works in images without ps).
check_no_zombie() {
	local out
	out=$("$DOCKER" exec "$(cid "$1")" bash -c 'for f in /proc/[0-9]*/stat; do read -r l < "$f" 2>/dev/null && echo "$l"; done')
	awk '{ sub(/.*\) /, ""); print $1 }' <<<"$out" | grep -q Z && { echo "$out" >&2; die "$1 has a zombie"; }
	log "ok: no zombie in $1 ($(wc -l <<<"$out") processes)"
}

# parent_is_init CONTAINER PID: PID's parent inside the container is PID 1.
parent_is_init() {
	[[ $("$DOCKER" exec "$1" bash -c "read -r l < /proc/$2/stat && l=\${l##*) } && set -- \$l && echo \$2") == 1 ]]
}

# check_orphan_reaped SERVICE: an orphan inside the container is reaped by
# edgeproxy (PID 1), not left a zombie. With the fake router, its own orphan
# (FAKE_SKROUTERD_ORPHAN in the override) is checked; with any router, a
# `sleep 2` whose parent (a docker exec'd shell) exits at once: the kernel
# hands it to the namespace's init, edgeproxy.
check_orphan_reaped() {
	local rec pid c
	c=$(cid "$1")
	if rec=$("$DOCKER" exec "$c" cat /tmp/fake-skrouterd.jsonl 2>/dev/null); then
		pid=$(grep -oE '"orphan_pid": *[0-9]+' <<<"$rec" | grep -oE '[0-9]+$' | head -n 1)
		[[ -n $pid ]] || die "$1: the fake recorded no orphan (is FAKE_SKROUTERD_ORPHAN set?): $rec"
		eventually 10 "$1: the fake router's orphan $pid reaped by edgeproxy" \
			"$DOCKER" exec "$c" bash -c "! test -e /proc/$pid"
	fi
	pid=$("$DOCKER" exec "$c" bash -c 'sleep 2 >/dev/null 2>&1 & echo $!')
	[[ $pid =~ ^[0-9]+$ ]] || die "$1: could not start an orphan: $pid"
	eventually 5 "$1: orphan $pid re-parented to PID 1" parent_is_init "$c" "$pid"
	eventually 10 "$1: orphan $pid reaped by edgeproxy" "$DOCKER" exec "$c" bash -c "! test -e /proc/$pid"
}

# --- scenarios ------------------------------------------------------------------

scenario_up() {
	CURRENT=$1
	log "=== $CURRENT"
	compose down -v --remove-orphans -t 5 >>"$E2E_LOGS/compose.log" 2>&1 || true
	compose up -d --no-build "${@:2}" >>"$E2E_LOGS/compose.log" 2>&1 || die "compose up $CURRENT failed (log: $E2E_LOGS/compose.log)"
}

# netfilter and haproxy: the interior's tcpListeners are a TCP forwarder here.
scenario_forwarding() {
	scenario_up "$1"
	eventually 90 "$1 proxies healthy" proxies_are healthy
	check_dns
	check_data_path 8888
	check_stop my-service
	scenario_down
	PASSED+=("$1")
}

scenario_edge_router() {
	CURRENT=edge-router
	# 1. Without the interior: the proxies run, but must not turn healthy.
	scenario_up edge-router nginx iperf3 my-service my-tcp-service
	eventually 40 "edge proxies probed at least twice without an interior" proxies_probed 2
	for svc in my-service my-tcp-service; do
		health_is "$svc" healthy && die "$svc is healthy with no interior router"
	done
	log "ok: edge proxies not healthy without the interior ($(health my-service))"
	# 2. The interior comes: the edge links come up, the proxies turn healthy.
	compose up -d --no-build interior >>"$E2E_LOGS/compose.log" 2>&1
	eventually 60 "edge proxies healthy once the edge link is up" proxies_are healthy
	check_dns
	check_data_path 8888
	check_no_zombie my-service
	check_orphan_reaped my-service
	# 3. The uplink goes away: unhealthy.
	compose stop -t 5 interior >>"$E2E_LOGS/compose.log" 2>&1
	eventually 60 "edge proxies unhealthy once the uplink is gone" proxies_are unhealthy
	# 4. It comes back: healthy again, without a restart of the proxies.
	compose start interior >>"$E2E_LOGS/compose.log" 2>&1
	eventually 60 "edge proxies healthy again once the interior is back" proxies_are healthy
	check_no_zombie my-service
	check_no_zombie my-tcp-service
	# 5. docker stop: exit code 0, fast.
	check_stop my-service
	check_stop my-tcp-service
	scenario_down
	PASSED+=(edge-router)
}

# The private scenario: the workloads publish nothing, a workload-side proxy holds
# the tcpConnectors, the interior has only its edge listener.
scenario_edge_router_private() {
	scenario_up edge-router-private
	eventually 90 "private: service and workload-side proxies healthy" private_healthy
	check_dns
	check_data_path
	check_no_host_ports
	eventually 30 "workloads: connector/my-service-8080 green" verbose_line workloads "[+]connector/my-service-8080 ok"
	local before after
	before=$(proxy_starts)
	# The workload stops: the workload-side proxy's connector check turns red
	# (not required: the proxy stays healthy), its tcpConnector is withdrawn, and
	# the service proxy's listener goes down (its socket closes: curl is refused).
	compose stop -t 5 nginx >>"$E2E_LOGS/compose.log" 2>&1
	local stopped
	stopped=$(date +%s)
	eventually 30 "workloads: connector/my-service-8080 red once nginx is stopped" verbose_has workloads \
		"[+]connector/my-service-8080 ok: target nginx:8080 of my-service:8080 does not accept connections"
	eventually 30 "my-service: listener down once the connector is withdrawn" verbose_has my-service \
		"[+]listener/my-service-8080 ok: operStatus down"
	eventually 30 "curl http://my-service:8080 fails with nginx stopped" curl_fails
	eventually 30 "workloads healthchecked twice since nginx stopped" checked_since workloads "$stopped" 2
	health_is workloads healthy || die "workloads is $(health workloads) with nginx stopped: a workload down must not fail its healthcheck"
	log "ok: workloads stays healthy with nginx stopped"
	# It starts again: traffic is back, and no proxy restarted.
	compose start nginx >>"$E2E_LOGS/compose.log" 2>&1
	eventually 60 "curl http://my-service:8080 serves nginx again" curl_serves
	eventually 30 "workloads: connector/my-service-8080 green again" verbose_line workloads "[+]connector/my-service-8080 ok"
	after=$(proxy_starts)
	[[ $before == "$after" ]] || die "a proxy restarted: before: $before; after: $after"
	log "ok: no proxy restarted ($(tr '\n' ';' <<<"$after"))"
	check_data_path
	check_no_zombie workloads
	check_stop workloads
	check_stop my-service
	check_stop my-tcp-service
	scenario_down
	PASSED+=(edge-router-private)
}

main() {
	[[ $(id -u) == 0 ]] || die "run as root (it starts its own $E2E_ENGINE engine)"
	if [[ ${1:-} == stop ]]; then
		engine_stop
		return
	fi
	local strategies=("$@")
	((${#strategies[@]})) || strategies=(netfilter haproxy edge-router edge-router-private)
	local tool
	local tools=("$DOCKER" "$COMPOSE" debootstrap ip nsenter go)
	[[ $E2E_ENGINE == podman ]] && tools+=(podman netavark aardvark-dns curl)
	for tool in "${tools[@]}"; do
		command -v "$tool" >/dev/null || [[ -x /usr/lib/podman/$tool ]] ||
			die "$tool is missing (apt-get install docker.io docker-compose debootstrap iproute2; for podman: podman netavark aardvark-dns curl)"
	done
	mkdir -p "$E2E_CACHE" "$E2E_LOGS"
	: >"$E2E_LOGS/compose.log"
	exec 9>"$E2E_CACHE/lock"
	flock -n 9 || die "another e2e run holds $E2E_CACHE/lock"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	engine_start
	# What earlier runs left in the kept image store: stopped containers, images
	# their rebuilds untagged.
	"$DOCKER" container prune -f >/dev/null
	"$DOCKER" image prune -f >/dev/null
	build_images
	export NGINX_IMAGE=$BASE_IMAGE IPERF3_IMAGE=$BASE_IMAGE HAPROXY_IMAGE=$BASE_IMAGE
	# The podman override's fixed subnet of sample_sample1, and its gateway as host.docker.internal.
	# HOST_GATEWAY: the same for the private scenario's workload-side proxy.
	if [[ $E2E_ENGINE == podman ]]; then
		export SAMPLE1_SUBNET=$E2E_SAMPLE1_SUBNET SAMPLE1_GATEWAY=$E2E_SAMPLE1_GATEWAY HOST_GATEWAY=$E2E_SAMPLE1_GATEWAY
	fi
	log "images ready after ${SECONDS}s"
	local s
	for s in "${strategies[@]}"; do
		case $s in
		netfilter | haproxy) scenario_forwarding "$s" ;;
		edge-router) scenario_edge_router ;;
		edge-router-private) scenario_edge_router_private ;;
		*) die "unknown strategy $s (netfilter, haproxy, edge-router, edge-router-private)" ;;
		esac
	done
}

main "$@"; exit $?  # on one line: bash never reads past it, so editing this file mid-run is safe
