# shellcheck shell=bash
# engine.sh — a private Docker engine for the end-to-end run (sourced by e2e.sh).
#
# dockerd 20.10 (Debian's docker.io) runs inside a network namespace of its own
# (`ip netns add`), so every bridge, veth, iptables rule and published port it
# makes lives there and disappears with the namespace: the host's own iptables
# and ports are never touched, and the namespace has no route anywhere, so
# nothing a container does can leave the machine. "The host network" of the
# scenario (network_mode: host, the published ports 8888/4201, the interior
# router's 8080/5201/45671) is that namespace's network.
#
# State: the image store (--data-root) is kept under $E2E_CACHE between runs so
# base images are built once per machine; the runtime state (--exec-root, the
# socket, logs) lives under $E2E_RUN and is removed on stop.

E2E_CACHE=${E2E_CACHE:-/var/cache/edgeproxy-e2e}
E2E_RUN=${E2E_RUN:-/run/edgeproxy-e2e}
E2E_NETNS=${E2E_NETNS:-edgeproxy-e2e}
# Addresses only ever used inside the namespace.
E2E_BIP=${E2E_BIP:-10.213.0.1/24}
E2E_POOL=${E2E_POOL:-10.213.0.0/16}

DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
COMPOSE=${COMPOSE:-$(command -v docker-compose)}
export DOCKER_HOST="unix://$E2E_RUN/docker.sock"

log() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# in_ns runs a command in the engine's network namespace ("the host" of the scenario).
in_ns() { ip netns exec "$E2E_NETNS" "$@"; }

# engine_stop stops dockerd (and what it started), unmounts what it left and
# deletes the namespace. Safe to call at any time, repeatedly.
engine_stop() {
	local pid
	if [[ -f $E2E_RUN/dockerd.pid ]]; then
		pid=$(<"$E2E_RUN/dockerd.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			local i
			for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			kill -0 "$pid" 2>/dev/null && { log "dockerd did not stop: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
		fi
	fi
	# Shims or containerd left by a killed daemon: only those running from our exec-root.
	local p
	for p in $(pgrep -f -- "$E2E_RUN/exec" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	# Mounts left under our roots (overlay layers, netns files, shm).
	local m
	while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
		awk -v a="$E2E_RUN" -v b="$E2E_CACHE/docker" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/mounts | sort -r)
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
