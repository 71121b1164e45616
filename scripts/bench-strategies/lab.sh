# lab.sh — the lab's network: namespaces, a bridge, veth pairs, name resolution,
# CPU-weight cgroups, and the one cleanup. Sourced by bench-strategies.sh.
#
# Everything lives in namespaces named $PREFIX*: the bridge sits in its own
# namespace ("${PREFIX}lan"), so no interface, route or iptables rule is ever
# created in the caller's namespace; cleanup touches only those namespaces, the
# processes inside them, /etc/netns/$PREFIX* and the cgroups named $PREFIX*.

# Roles → namespace and address. "host" holds the workloads and the interior.
LAB_ROLES=(host my-service my-tcp-service client)
declare -A LAB_ADDR=([host]=10.77.0.1 [my-service]=10.77.0.11 [my-tcp-service]=10.77.0.12
	[client]=10.77.0.100 [workload]=10.77.0.20)

ns() { echo "${PREFIX}$1"; } # ns ROLE: the namespace's name

lab_check_prefix() {
	[[ $PREFIX =~ ^[a-z][a-z0-9]{1,8}-$ ]] ||
		die "BENCH_PREFIX=\"$PREFIX\": want a short lower-case name ending in '-' (e.g. epb-)"
}

# lab_namespaces: our namespaces that exist now.
lab_namespaces() { ip netns list | awk -v p="$PREFIX" 'index($1, p) == 1 {print $1}'; }

# lab_up [ROLE...]: the bridge and one namespace per role, each with eth0 on
# 10.77.0.0/24 and an /etc/netns/<ns>/hosts that names every role.
lab_up() {
	[[ -z $(lab_namespaces) ]] ||
		die "namespaces $(lab_namespaces | tr '\n' ' ')exist: a run is going on, or run '$0 stop'"
	local lan role n i=0
	lan=$(ns lan)
	ip netns add "$lan"
	ip -n "$lan" link set lo up
	ip -n "$lan" link add br0 type bridge
	ip -n "$lan" link set br0 up
	for role in "${LAB_ROLES[@]}" "$@"; do
		n=$(ns "$role")
		ip netns add "$n"
		# Interface names are at most 15 bytes: the bridge ports are numbered.
		ip -n "$lan" link add "port$((++i))" type veth peer name eth0 netns "$n"
		ip -n "$lan" link set "port$i" master br0 up
		ip -n "$n" link set lo up
		ip -n "$n" addr add "${LAB_ADDR[$role]}/24" dev eth0
		ip -n "$n" link set eth0 up
		mkdir -p "/etc/netns/$n"
		lab_hosts >"/etc/netns/$n/hosts"
	done
}

# lab_hosts: the names the compose scenario uses, for every namespace.
lab_hosts() {
	echo "127.0.0.1 localhost"
	echo "${LAB_ADDR[host]} host host.docker.internal interior"
	echo "${LAB_ADDR[my-service]} my-service"
	echo "${LAB_ADDR[my-tcp-service]} my-tcp-service"
	echo "${LAB_ADDR[workload]} workload"
}

# nsrun ROLE CMD...: run CMD in ROLE's namespace (and its cgroup, when CPU
# weights are on), resolving names through /etc/netns/<ns>/hosts.
# The cgroup is joined before entering the namespace: `ip netns exec` mounts a
# fresh /sys, which hides /sys/fs/cgroup. In a subshell (`nsrun ... &`) the
# command replaces it, so $! is the command's pid.
nsrun() {
	local role=$1 procs; shift
	procs=$(cg_procs_file "${CG:-$role}")
	if ((BASHPID == $$)); then (nsexec "$role" "$procs" "$@"); else nsexec "$role" "$procs" "$@"; fi
}
nsexec() {
	local role=$1 procs=$2; shift 2
	[[ $procs == - ]] || echo "$BASHPID" >"$procs"
	exec ip netns exec "$(ns "$role")" "$@"
}

# lab_pids ROLE: the processes in ROLE's namespace.
lab_pids() { ip netns pids "$(ns "$1")" 2>/dev/null || true; }

# lab_kill ROLE: SIGTERM every process in ROLE's namespace, SIGKILL after 5 s.
lab_kill() {
	local n=$1 pids i
	for i in $(seq 50); do
		pids=$(ip netns pids "$n" 2>/dev/null) || return 0
		[[ -n $pids ]] || return 0
		# shellcheck disable=SC2086
		if ((i == 1)); then kill -TERM $pids 2>/dev/null || true; fi
		# shellcheck disable=SC2086
		if ((i == 50)); then kill -KILL $pids 2>/dev/null || true; fi
		sleep 0.1
	done
}

# lab_down: stop everything in our namespaces and delete them (iptables rules,
# interfaces and the bridge go with them), then our hosts files and cgroups.
lab_down() {
	local n
	for n in $(lab_namespaces); do lab_kill "$n"; done
	for n in $(lab_namespaces); do
		ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
		ip netns delete "$n" 2>/dev/null || true
	done
	for n in /etc/netns/"$PREFIX"*; do [[ -d $n ]] && rm -rf "$n"; done
	cg_down
}

# --- CPU weights --------------------------------------------------------------
# BENCH_CPU_WEIGHTS=1 puts each program (nginx, iperf3, interior, each proxy,
# the client, the busy loops) in a cgroup of its own with an equal weight, as
# Docker does for containers (cpu_shares 1024); BENCH_PROXY_SHARES gives the
# proxies' cgroups another weight (Docker's cpu_shares, e.g. 8192). cgroup v2
# (cpu.weight) where its cpu controller can be enabled, else v1 (cpu.shares).
CG_ROOT=""
cg_init() {
	[[ ${BENCH_CPU_WEIGHTS:-0} == 1 ]] || return 0
	# The lab as a whole gets the largest weight, so what else runs on the
	# machine takes about as much from it as without cgroups; inside it, the
	# programs share by their weights.
	if grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		CG_ROOT=/sys/fs/cgroup/${PREFIX}lab CG_V=2
		mkdir -p "$CG_ROOT"
		echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
		echo +cpu >"$CG_ROOT/cgroup.subtree_control"
		echo 10000 >"$CG_ROOT/cpu.weight"
	elif [[ -f /sys/fs/cgroup/cpu/cpu.shares ]]; then
		CG_ROOT=/sys/fs/cgroup/cpu/${PREFIX}lab CG_V=1
		mkdir -p "$CG_ROOT"
		echo 262144 >"$CG_ROOT/cpu.shares"
	else
		die "BENCH_CPU_WEIGHTS=1: no cgroup cpu controller found (v2 cpu.weight or v1 cpu.shares)"
	fi
}

# cg_procs_file GROUP: the cgroup.procs file a new process of GROUP joins,
# the cgroup made on first use ("-": CPU weights are off).
cg_procs_file() {
	[[ -n $CG_ROOT ]] || { echo -; return; }
	local g=$CG_ROOT/$1 shares=1024
	if [[ ! -d $g ]]; then
		[[ $1 == my-service || $1 == my-tcp-service ]] && shares=${BENCH_PROXY_SHARES:-1024}
		mkdir -p "$g" # -p: programs started together may race here
		if [[ $CG_V == 2 ]]; then
			# runc's mapping from cpu_shares to cpu.weight.
			echo $((1 + ((shares - 2) * 9999) / 262142)) >"$g/cpu.weight"
		else
			echo "$shares" >"$g/cpu.shares"
		fi
	fi
	echo "$g/cgroup.procs"
}

cg_down() {
	local root d
	for root in /sys/fs/cgroup/"${PREFIX}"lab /sys/fs/cgroup/cpu/"${PREFIX}"lab; do
		[[ -d $root ]] || continue
		for d in "$root"/*/; do
			[[ -d $d ]] || continue
			# Anything left (a process that outlived its namespace) goes back to the parent.
			while read -r p; do echo "$p" >"$root/../cgroup.procs" 2>/dev/null || true; done <"$d/cgroup.procs"
			rmdir "$d" 2>/dev/null || true
		done
		rmdir "$root" 2>/dev/null || true
	done
}
