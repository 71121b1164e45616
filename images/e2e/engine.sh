# shellcheck shell=bash
# engine.sh — a private container engine for the end-to-end run (sourced by e2e.sh).
#
# E2E_ENGINE selects it:
#   docker  (default) dockerd 20.10 (Debian's docker.io)
#   podman  `podman system service` (Debian's podman 4.3), its Docker-compatible
#           API driven by the same docker CLI and docker-compose; engine-podman.sh
#
# Either runs inside a network namespace of its own (`ip netns add`), so every
# bridge, veth, iptables rule and published port it makes lives there and
# disappears with the namespace: the host's own iptables and ports are never
# touched, and the namespace has no route anywhere, so nothing a container does
# can leave the machine. "The host network" of the scenario (network_mode: host,
# the published ports 8888/4201, the interior router's 8080/5201/45671) is that
# namespace's network.
#
# State: the image store is kept under $E2E_CACHE between runs so base images
# are built once per machine; the runtime state (the socket, logs, ...) lives
# under $E2E_RUN and is removed on stop. The two engines have separate caches,
# run directories, namespaces, sockets and subnets, so they can run at the same
# time (each run holds a lock on its own $E2E_CACHE/lock).

E2E_ENGINE=${E2E_ENGINE:-docker}
case $E2E_ENGINE in
docker)
	E2E_CACHE=${E2E_CACHE:-/var/cache/edgeproxy-e2e}
	E2E_RUN=${E2E_RUN:-/run/edgeproxy-e2e}
	E2E_NETNS=${E2E_NETNS:-edgeproxy-e2e}
	# Addresses only ever used inside the namespace.
	E2E_BIP=${E2E_BIP:-10.213.0.1/24}
	E2E_POOL=${E2E_POOL:-10.213.0.0/16}
	export DOCKER_HOST="unix://$E2E_RUN/docker.sock"
	;;
podman)
	E2E_CACHE=${E2E_CACHE:-/var/cache/edgeproxy-e2e-podman}
	# Not /run/edgeproxy-e2e-*: docker's cleanup in older checkouts unmounts
	# everything whose path starts with /run/edgeproxy-e2e.
	E2E_RUN=${E2E_RUN:-/run/edgeproxy-podman-e2e}
	E2E_NETNS=${E2E_NETNS:-edgeproxy-e2e-podman}
	# Addresses only ever used inside the namespace: the default network, the
	# pool `network create` takes from, and sample_sample1's fixed subnet (the
	# podman override, docs/compose/podman.override.yaml).
	E2E_BIP=${E2E_BIP:-10.214.0.1/24}
	E2E_POOL=${E2E_POOL:-10.214.0.0/16}
	E2E_SAMPLE1_SUBNET=${E2E_SAMPLE1_SUBNET:-10.214.10.0/24}
	E2E_SAMPLE1_GATEWAY=${E2E_SAMPLE1_GATEWAY:-10.214.10.1}
	export DOCKER_HOST="unix://$E2E_RUN/podman.sock"
	;;
*)
	printf 'e2e: E2E_ENGINE=%s: want docker or podman\n' "$E2E_ENGINE" >&2
	exit 2
	;;
esac

DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
COMPOSE=${COMPOSE:-$(command -v docker-compose)}

log() { printf '%s e2e[%s]: %s\n' "$(date -u +%H:%M:%S)" "$E2E_ENGINE" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# in_ns runs a command in the engine's network namespace ("the host" of the scenario).
in_ns() { ip netns exec "$E2E_NETNS" "$@"; }

# stop_pid PIDFILE NAME: SIGTERM the process, SIGKILL it after 20 s.
stop_pid() {
	local pid
	[[ -f $1 ]] || return 0
	pid=$(<"$1")
	if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		local i
		for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -0 "$pid" 2>/dev/null && { log "$2 did not stop: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
	fi
	rm -f "$1"
}

# umount_roots DIR...: unmount whatever is still mounted under the directories
# (overlay layers, netns files, shm), deepest first.
umount_roots() {
	local m
	while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
		awk -v roots="$*" 'BEGIN { n = split(roots, r, " ") }
			{ for (i = 1; i <= n; i++) if ($2 == r[i] || index($2, r[i] "/") == 1) { print $2; next } }' /proc/mounts | sort -r)
}

if [[ $E2E_ENGINE == podman ]]; then
	# shellcheck source=images/e2e/engine-podman.sh
	. "$(dirname "${BASH_SOURCE[0]}")/engine-podman.sh"
else

# engine_stop stops dockerd (and what it started), unmounts what it left and
# deletes the namespace. Safe to call at any time, repeatedly.
engine_stop() {
	stop_pid "$E2E_RUN/dockerd.pid" dockerd
	# Shims or containerd left by a killed daemon: only those running from our exec-root.
	local p
	for p in $(pgrep -f -- "$E2E_RUN/exec" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	umount_roots "$E2E_RUN" "$E2E_CACHE/docker"
	ip netns del "$E2E_NETNS" 2>/dev/null || true
	rm -rf "$E2E_RUN"
}

# engine_start starts dockerd in a fresh namespace and waits until it answers.
engine_start() {
	engine_stop
	mkdir -p "$E2E_RUN" "$E2E_CACHE/docker"
	ip netns add "$E2E_NETNS"
	ip -n "$E2E_NETNS" link set lo up
	printf '{}\n' >"$E2E_RUN/daemon.json"
	# nsenter (not `ip netns exec`) keeps the host's /sys, where the cgroup
	# hierarchies dockerd needs are mounted.
	nsenter --net="/run/netns/$E2E_NETNS" -- /usr/sbin/dockerd \
		--config-file "$E2E_RUN/daemon.json" \
		--data-root "$E2E_CACHE/docker" \
		--exec-root "$E2E_RUN/exec" \
		--pidfile "$E2E_RUN/dockerd.pid" \
		-H "$DOCKER_HOST" \
		--exec-opt native.cgroupdriver=cgroupfs \
		--storage-driver overlay2 \
		--bip "$E2E_BIP" \
		--default-address-pool "base=$E2E_POOL,size=24" \
		--log-level warn \
		>"$E2E_RUN/dockerd.log" 2>&1 &
	local i
	for ((i = 0; i < 150; i++)); do
		"$DOCKER" version >/dev/null 2>&1 && { log "dockerd up ($(in_ns ip -4 -br addr show docker0 | awk '{print $3}'))"; return 0; }
		sleep 0.2
	done
	tail -n 30 "$E2E_RUN/dockerd.log" >&2
	die "dockerd did not answer within 30 s"
}

fi
