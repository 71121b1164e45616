#!/usr/bin/env bash
# bench-strategies.sh — the ingress strategies' data path side by side, in a
# lab of network namespaces (the compose scenario's topology without a
# container engine; see docs/performance.md). Needs root.
#
#   bench-strategies.sh [run]   measure (ROUNDS rounds, strategies interleaved)
#   bench-strategies.sh smoke   1 round of 2-second runs, netfilter and haproxy: traffic flows
#   bench-strategies.sh stop    remove a lab left behind (its namespaces, processes, cgroups)
#
# Environment:
#   SKROUTERD           a real skrouterd; without it router and edge are skipped and a
#                       socat forwarder stands in for the interior
#   STRATEGIES          default "direct router netfilter haproxy edge edge-private envoy"; edge:KEY=V,...
#                       runs edgeproxy with EDGEPROXY_KEY=V (e.g. edge:ROUTER__WORKER_THREADS=1)
#   ROUNDS (3)  DURATION (10 s)  CONNS ("1 10 50": wrk connection counts; "" skips wrk)
#   IPERF (1; 0 skips iperf3)
#   BENCH_CPU_WEIGHTS=1  every namespace's processes in a cgroup of equal CPU weight, as
#                        Docker does; BENCH_PROXY_SHARES (1024) is the proxies' cpu_shares
#   BENCH_HOG (0)        that many busy loops in a cgroup of their own: competing load
#   BENCH_OUT            results directory (default bench-results/strategies-<UTC time>)
#   BENCH_KEEP_LOGS=1    keep the processes' logs after a complete run (a failed run keeps them)
#   BENCH_PREFIX (epb-)  the prefix of every namespace and cgroup the lab creates
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
PREFIX=${BENCH_PREFIX:-epb-}
prog=bench-strategies

die() { echo "$prog: $*" >&2; exit 1; }
say() { echo "$prog: $*" >&2; }

# poll SECONDS WHAT CMD...: until CMD succeeds, or die naming WHAT.
poll() {
	local deadline=$((SECONDS + $1)) what=$2; shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "timed out after ${deadline}s waiting for $what"
		sleep 0.2
	done
}

# shellcheck source=lab.sh
. "$BENCH_DIR/lab.sh"
# shellcheck source=workloads.sh
. "$BENCH_DIR/workloads.sh"
# shellcheck source=strategies.sh
. "$BENCH_DIR/strategies.sh"
# shellcheck source=measure.sh
. "$BENCH_DIR/measure.sh"

preflight() {
	((EUID == 0)) || die "needs root (network namespaces, iptables in them, cgroups)"
	lab_check_prefix
	local b missing=()
	for b in ip iptables nginx iperf3 wrk haproxy socat curl jq ss; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	((${#missing[@]} == 0)) || die "missing ${missing[*]}: run 'make bench-strategies-setup'"
	if [[ -n ${SKROUTERD:-} ]]; then
		[[ -x $SKROUTERD ]] || die "SKROUTERD=$SKROUTERD is not an executable"
		SKROUTERD=$(realpath "$SKROUTERD")
	fi
}

# hog_start N: N busy loops in the "hog" cgroup: competing load.
hog_start() {
	local i
	for ((i = 0; i < $1; i++)); do
		CG=hog nsrun host sh -c 'while :; do :; done' &
	done
}

# machine: the Markdown lines that say where and how this ran.
machine() {
	echo "- machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
	echo "- interior: $INTERIOR"
	[[ -z ${SKROUTERD:-} ]] || echo "- edge: $("$EDGEPROXY" version 2>/dev/null | head -1) with $SKROUTERD"
	local tools=()
	[[ -z $CONNS ]] || tools+=("wrk -t1 -c{${CONNS// /,}} -d${DURATION}s --latency")
	[[ $IPERF == 0 ]] || tools+=("iperf3 -t $DURATION")
	echo "- $(IFS=';'; echo "${tools[*]}" | sed 's/;/; /g'); $ROUNDS interleaved round(s)"
	if [[ ${BENCH_CPU_WEIGHTS:-0} == 1 ]]; then
		echo "- CPU weights: every namespace in its own cgroup (v$CG_V), cpu_shares 1024; proxies ${BENCH_PROXY_SHARES:-1024}; busy loops: ${BENCH_HOG:-0}"
	fi
}

run() {
	preflight
	local s why
	local -a run_list=()
	for s in $STRATEGIES; do
		why=$(strategy_skip "$s")
		if [[ -n $why ]]; then say "skipping $s: $why"; else run_list+=("$s"); fi
	done
	((${#run_list[@]} > 0)) || die "no strategy can run here"
	if [[ " ${run_list[*]} " == *" edge"* ]]; then  # edge, edge:..., edge-private
		make -C "$REPO" -s build >&2
		EDGEPROXY=$REPO/bin/edgeproxy
	fi

	OUT=${BENCH_OUT:-$REPO/bench-results/strategies-$(date -u +%Y%m%dT%H%M%SZ)}
	mkdir -p "$OUT"
	WORK=$(mktemp -d "/tmp/${PREFIX}bench.XXXXXX")
	chmod 755 "$WORK"
	RESULTS=$OUT/results.tsv
	printf 'round\tstrategy\tmetric\tvalue\n' >"$RESULTS"
	# Logs stay in $WORK after a failure; a complete run removes them.
	trap 'lab_down; say "logs in $WORK"' EXIT
	trap 'say "interrupted: cleaning up"; exit 130' INT
	trap 'say "terminated: cleaning up"; exit 143' TERM

	local extra=()
	[[ " ${run_list[*]} " != *" edge-private"* ]] || extra=(workload)
	lab_up "${extra[@]}"
	cg_init
	workloads_start host
	interior_start
	say "interior: $INTERIOR"
	((${BENCH_HOG:-0} == 0)) || hog_start "$BENCH_HOG"
	local load_before
	load_before=$(cut -d' ' -f1-3 /proc/loadavg)

	local http tcp
	for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
		for STRATEGY in "${run_list[@]}"; do
			say "round $ROUND/$ROUNDS: $STRATEGY"
			strategy_start "$STRATEGY"
			read -r http tcp < <(strategy_targets "$STRATEGY")
			poll 20 "$STRATEGY: HTTP through http://$http/" nsrun client curl -fsS -o /dev/null "http://$http/"
			measure_idle
			[[ -z $CONNS ]] || measure_http "http://$http/"
			[[ $IPERF == 0 ]] || measure_tcp "$tcp"
			strategy_stop "$STRATEGY"
		done
	done

	{
		echo "### Measured $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		machine
		echo "- load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
		local skipped=" ${STRATEGIES} " r
		for r in "${run_list[@]}"; do skipped=${skipped/ $r / }; done
		# shellcheck disable=SC2086
		[[ -z ${skipped// /} ]] || echo "- skipped here:" $skipped
		echo
		awk -v conns="$CONNS" -f "$BENCH_DIR/report.awk" "$RESULTS"
	} >"$OUT/results.md"
	cat "$OUT/results.md"
	say "results: $RESULTS and $OUT/results.md"
	trap - EXIT
	lab_down
	[[ ${BENCH_KEEP_LOGS:-0} == 1 ]] && say "logs in $WORK" || rm -rf "$WORK"
}

main() {
	case ${1:-run} in
	run)
		STRATEGIES=${STRATEGIES:-direct router netfilter haproxy edge edge-private envoy}
		ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNS=${CONNS-1 10 50} IPERF=${IPERF:-1}
		run
		;;
	smoke)
		# Keeps the harness working in CI: every step must move traffic; no speed is judged.
		STRATEGIES=${STRATEGIES:-netfilter haproxy} ROUNDS=1 DURATION=2 CONNS=${CONNS-10} IPERF=1
		run
		;;
	stop)
		((EUID == 0)) || die "needs root"
		lab_check_prefix
		lab_down
		say "lab ${PREFIX}* removed"
		;;
	*) die "usage: $prog [run|smoke|stop]" ;;
	esac
}

# One line: bash reads a script as it runs it, so an edit made meanwhile cannot change the run.
main "$@"; exit
