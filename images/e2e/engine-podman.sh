# shellcheck shell=bash
# engine-podman.sh — the podman engine of the end-to-end run (E2E_ENGINE=podman;
# sourced by engine.sh, which sets E2E_CACHE, E2E_RUN, E2E_NETNS and the subnets).
#
# Debian's podman 4.3 serves its Docker-compatible API (`podman system service
# --time=0 unix://$E2E_RUN/podman.sock`) inside the namespace, and the run drives
# it exactly as it drives dockerd: the docker CLI and docker-compose 1.29 with
# DOCKER_HOST pointing at that socket. Everything of this podman is private:
#
#   $E2E_RUN/containers.conf   CONTAINERS_CONF: default_ulimits (podman's defaults
#                              make runc fail here: "error setting rlimit type 6:
#                              operation not permitted"), cgroupfs, events to a
#                              file, runc, file locks, its own tmp_dir, the
#                              network config dir and the subnets
#   $E2E_RUN/storage.conf      CONTAINERS_STORAGE_CONF: graphroot under $E2E_CACHE
#                              (kept: the images), runroot under $E2E_RUN
#
# Nothing of the host's podman (/etc/containers, /var/lib/containers, /run/libpod,
# /run/containers, the shm lock /dev/shm/libpod_lock) is read or written. File
# locks, not the shm segment: a podman that finds its tmp_dir empty (every run
# here) frees every lock in its lock manager, which in a shared segment would
# include a host podman's.
#
# Healthchecks: podman runs a container's healthcheck only from a systemd timer
# it creates per container (`systemd-run ... podman healthcheck run ID`). Without
# systemd as PID 1 it makes none ("unable to get systemd connection to add
# healthchecks") and every container stays "starting". With systemd it would make
# them on the host's systemd, and there they would not find this private store:
# podman 4.3 (and 5.x) starts the timer's podman with neither this store's
# --root/--runroot nor CONTAINERS_CONF. So the service runs with
# DISABLE_HC_SYSTEMD=true (no timers, nothing on the host's systemd) and
# health_loop below is the timer: it runs each running container's healthcheck
# (the libpod API's /containers/ID/healthcheck, which counts retries and honours
# the start period like a timer's `podman healthcheck run`) every interval.

E2E_PODMAN_SOCK=$E2E_RUN/podman.sock

# podman_conf writes the private containers.conf and storage.conf.
podman_conf() {
	mkdir -p "$E2E_RUN" "$E2E_CACHE/storage"
	cat >"$E2E_RUN/containers.conf" <<EOF
# The e2e run's private podman (images/e2e/engine-podman.sh); rewritten on every run.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_backend = "netavark"
network_config_dir = "$E2E_RUN/networks"
default_subnet = "$(ipcalc_net "$E2E_BIP")"
default_subnet_pools = [{"base" = "$E2E_POOL", "size" = 24}]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
lock_type = "file"
tmp_dir = "$E2E_RUN/libpod"
EOF
	cat >"$E2E_RUN/storage.conf" <<EOF
# The e2e run's private podman store (images/e2e/engine-podman.sh).
[storage]
driver = "overlay"
graphroot = "$E2E_CACHE/storage"
runroot = "$E2E_RUN/storage"
EOF
	export CONTAINERS_CONF=$E2E_RUN/containers.conf CONTAINERS_STORAGE_CONF=$E2E_RUN/storage.conf
}

# ipcalc_net 10.214.0.1/24 → 10.214.0.0/24 (a /24 or wider on a byte boundary).
ipcalc_net() {
	local ip=${1%/*} len=${1#*/} a b c d
	IFS=. read -r a b c d <<<"$ip"
	case $len in
	8) echo "$a.0.0.0/8" ;;
	16) echo "$a.$b.0.0/16" ;;
	24) echo "$a.$b.$c.0/24" ;;
	*) die "E2E_BIP=$1: want a /8, /16 or /24" ;;
	esac
}

# The rootful netavark of podman 4.3 keeps its IPAM database and aardvark-dns
# state in /run/containers/networks, a path no setting moves ("the network
# namespace is shared for all libpod instances"): a host podman would share
# them with this one. So the service, and every podman command of the run, runs
# in a mount namespace of its own in which $E2E_RUN/netavark is mounted there
# (the host keeps an empty mount point, made and removed by the run when it had
# none). Container mounts live in that namespace too, not the host's.
podman_ns=(nsenter --net="/run/netns/$E2E_NETNS" -- unshare --mount --propagation private --
	/bin/sh -c 'mount --bind "$0" /run/containers/networks && exec "$@"' "$E2E_RUN/netavark")

# engine_stop removes every container of the private store, stops the service,
# the healthcheck loop and what they left (conmon, aardvark-dns, mounts), and
# deletes the namespace. Safe to call at any time, repeatedly; after a killed
# run too (the store and $E2E_RUN say what is left).
engine_stop() {
	stop_pid "$E2E_RUN/health-loop.pid" "the healthcheck loop"
	if [[ -S $E2E_PODMAN_SOCK ]] && timeout 5 "$DOCKER" version >/dev/null 2>&1; then
		local ids
		ids=$(timeout 30 "$DOCKER" ps -aq 2>/dev/null) || true
		[[ -z $ids ]] || timeout 120 "$DOCKER" rm -f -v $ids >/dev/null 2>&1 || log "docker rm -f of the containers left failed"
	fi
	stop_pid "$E2E_RUN/podman.pid" "podman system service"
	if [[ -e $E2E_CACHE/storage/libpod/bolt_state.db ]]; then
		# What a killed run left: the podman CLI on the store, in the namespaces
		# (netavark tears networks down there, never on the host).
		podman_conf
		ip netns add "$E2E_NETNS" 2>/dev/null || true
		netavark_mountpoint
		timeout 120 "${podman_ns[@]}" podman rm -af -t 5 >>"$E2E_RUN/podman-rm.log" 2>&1 ||
			log "podman rm -af failed: $(tail -n 3 "$E2E_RUN/podman-rm.log" 2>/dev/null)"
	fi
	# Whatever still runs in the namespace (conmon, aardvark-dns, a host-network
	# container), and conmon or cleanup processes naming our store or run directory.
	local p
	for p in $(ip netns pids "$E2E_NETNS" 2>/dev/null) $(pgrep -f -- "$E2E_CACHE/storage/|$E2E_RUN/" 2>/dev/null); do
		[[ $p == "$$" || $p == "$BASHPID" ]] || kill -KILL "$p" 2>/dev/null || true
	done
	umount_roots "$E2E_RUN" "$E2E_CACHE/storage"
	ip netns del "$E2E_NETNS" 2>/dev/null || true
	if [[ -f $E2E_RUN/made-mountpoint ]]; then
		while read -r p; do rmdir "$p" 2>/dev/null || true; done <"$E2E_RUN/made-mountpoint"
	fi
	rm -rf "$E2E_RUN"
}

# netavark_mountpoint makes $E2E_RUN/netavark and, if the host has none, the
# empty /run/containers/networks to mount it on (noted for engine_stop).
netavark_mountpoint() {
	mkdir -p "$E2E_RUN/netavark"
	local d
	for d in /run/containers/networks /run/containers; do
		[[ -d $d ]] || printf '%s\n' "$d" >>"$E2E_RUN/made-mountpoint"
	done
	mkdir -p /run/containers/networks
}

# engine_start starts the podman service in a fresh namespace, waits until it
# answers and starts the healthcheck loop.
engine_start() {
	command -v podman >/dev/null || die "podman is missing (apt-get install podman netavark aardvark-dns)"
	engine_stop
	podman_conf
	# podman's database (graphroot/libpod) records runroot and tmp_dir and wins
	# over the configuration: one made for another E2E_RUN would put this run's
	# state there. It holds no container between runs; the images stay.
	if [[ -e $E2E_CACHE/storage/libpod && $(cat "$E2E_CACHE/run-dir" 2>/dev/null) != "$E2E_RUN" ]]; then
		log "the podman database under $E2E_CACHE/storage/libpod was made for another E2E_RUN: removed"
		rm -rf "$E2E_CACHE/storage/libpod"
	fi
	printf '%s\n' "$E2E_RUN" >"$E2E_CACHE/run-dir"
	ip netns add "$E2E_NETNS"
	ip -n "$E2E_NETNS" link set lo up
	netavark_mountpoint
	# nsenter (not `ip netns exec`) keeps the host's /sys (cgroups). nsenter,
	# unshare, sh and env exec, so $! is podman's PID.
	"${podman_ns[@]}" env DISABLE_HC_SYSTEMD=true \
		podman --log-level warn system service --time=0 "unix://$E2E_PODMAN_SOCK" \
		>"$E2E_RUN/podman.log" 2>&1 &
	echo $! >"$E2E_RUN/podman.pid"
	local i
	for ((i = 0; i < 150; i++)); do
		if "$DOCKER" version >/dev/null 2>&1; then
			log "$(podman --version) service up ($E2E_PODMAN_SOCK, store $E2E_CACHE/storage)"
			health_loop_start
			return 0
		fi
		kill -0 "$(<"$E2E_RUN/podman.pid")" 2>/dev/null || break
		sleep 0.2
	done
	tail -n 30 "$E2E_RUN/podman.log" >&2
	die "podman system service did not answer within 30 s"
}

health_loop_start() {
	local init
	init=$(cat /proc/1/comm 2>/dev/null || echo '?')
	if [[ $init == systemd ]]; then
		log "healthchecks: PID 1 is systemd, but podman's timers would not see this private store: the e2e healthcheck loop runs them"
	else
		log "healthchecks: PID 1 is $init, not systemd: podman makes no healthcheck timers; the e2e healthcheck loop runs them"
	fi
	health_loop >>"$E2E_RUN/health-loop.log" 2>&1 &
	echo $! >"$E2E_RUN/health-loop.pid"
}

# health_loop: every second, each running container with a healthcheck whose
# interval has passed since its last check (the first one interval after it is
# first seen, as docker does) gets one, unless its previous one still runs.
health_loop() {
	local -A every due busy
	local id ids ms now
	trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM INT
	while :; do
		ids=$("$DOCKER" ps -q --no-trunc 2>/dev/null) || { sleep 1; continue; }
		now=$(($(date +%s%N) / 1000000))
		for id in $ids; do
			if [[ -z ${every[$id]:-} ]]; then
				ms=$("$DOCKER" inspect -f '{{if .Config.Healthcheck}}{{.Config.Healthcheck.Interval.Milliseconds}}{{end}}' "$id" 2>/dev/null) || continue
				every[$id]=${ms:-0}
				((every[$id] > 0)) || every[$id]=-1
				due[$id]=$((now + every[$id]))
			fi
			((every[$id] > 0 && now >= due[$id])) || continue
			[[ -n ${busy[$id]:-} ]] && kill -0 "${busy[$id]}" 2>/dev/null && continue
			curl -sS --max-time 60 --unix-socket "$E2E_PODMAN_SOCK" -o /dev/null \
				"http://d/v4.0.0/libpod/containers/$id/healthcheck" &
			busy[$id]=$!
			due[$id]=$((now + every[$id]))
		done
		sleep 1
	done
}
