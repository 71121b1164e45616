# measure.sh — one strategy's figures: wrk (req/s, p50, p99) at each
# connection count, iperf3 (Gbit/s), the proxies' CPU per request and per GB
# (from /proc/<pid>/stat of the processes in the proxy namespaces) and their
# resident memory idle and under load. Appends "round strategy metric value"
# rows to $RESULTS. Sourced by bench-strategies.sh.

CLK_TCK=$(getconf CLK_TCK)

# cpu_seconds ROLE: CPU time (user + system, with reaped children) of the
# processes in ROLE's namespace.
cpu_seconds() {
	local pid sum=0 f
	for pid in $(lab_pids "$1"); do
		# Fields after the command name (which may hold spaces): utime is the 14th field overall.
		f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		sum=$((sum + $(awk '{print $12 + $13 + $14 + $15}' <<<"$f")))
	done
	awk -v t="$sum" -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", t / hz}'
}

# rss_mib ROLE: resident memory of the processes in ROLE's namespace.
rss_mib() {
	local pid kib=0 v
	for pid in $(lab_pids "$1"); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
		kib=$((kib + ${v:-0}))
	done
	awk -v k="$kib" 'BEGIN {printf "%.1f", k / 1024}'
}

record() { printf '%s\t%s\t%s\t%s\n' "$ROUND" "$STRATEGY" "$1" "$2" >>"$RESULTS"; }

# wrk_run CONNS URL OUT: one wrk run from the client namespace; waits in the
# background so a signal stops the run at once.
wrk_run() {
	nsrun client wrk -t1 -c"$1" -d"${DURATION}s" --latency "$2" >"$3" 2>&1 &
	wait $!
}

# wrk_parse FILE: "req/s p50-ms p99-ms requests errors".
wrk_parse() {
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
		/requests in/ { n = $1 }
		/Non-2xx/ { err += $NF }
		/Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		/^Requests\/sec/ { rps = $2 }
		END { printf "%s %.3f %.3f %d %d\n", rps + 0, p50, p99, n, err + 0 }' "$1"
}

# measure_http URL: wrk at each of $CONNS, with the proxy's CPU during c10
# (or the only count) and its memory under the largest count.
measure_http() {
	local url=$1 c out rps p50 p99 n err cpu0 cpu1 sampler="" dir=$WORK/client/$(slug "$STRATEGY")
	mkdir -p "$dir"
	for c in $CONNS; do
		out=$dir/wrk-c$c-r$ROUND.txt
		cpu0=$(cpu_seconds my-service)
		if [[ $c == "${CONNS##* }" ]]; then
			(sleep $((DURATION / 2)).5 && rss_mib my-service >"$dir/rss-load") &
			sampler=$!
		fi
		wrk_run "$c" "$url" "$out"
		cpu1=$(cpu_seconds my-service)
		read -r rps p50 p99 n err < <(wrk_parse "$out")
		((n > 0)) || die "$STRATEGY: no HTTP request got through at $c connections ($out)"
		((err == 0)) || die "$STRATEGY: $err HTTP errors at $c connections ($out)"
		record "rps_c$c" "$rps"
		record "p50_ms_c$c" "$p50"
		record "p99_ms_c$c" "$p99"
		if [[ $c == 10 || $CONNS == "$c" ]] && strategy_has_proxies "$STRATEGY"; then
			record cpu_us_per_req "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) * 1e6 / n}')"
		fi
	done
	[[ -z $sampler ]] || wait "$sampler"
	if strategy_has_proxies "$STRATEGY" && [[ -s $dir/rss-load ]]; then record rss_load_mib "$(cat "$dir/rss-load")"; fi
}

# measure_tcp HOST:PORT: iperf3 for $DURATION seconds, with the proxy's CPU per GB.
measure_tcp() {
	local hp=$1 out cpu0 cpu1 bps bytes dir=$WORK/client/$(slug "$STRATEGY")
	mkdir -p "$dir"
	out=$dir/iperf3-r$ROUND.json
	cpu0=$(cpu_seconds my-tcp-service)
	nsrun client iperf3 -J -c "${hp%:*}" -p "${hp#*:}" -t "$DURATION" >"$out" 2>&1 &
	wait $!
	cpu1=$(cpu_seconds my-tcp-service)
	read -r bps bytes < <(jq -r '"\(.end.sum_received.bits_per_second // 0) \(.end.sum_received.bytes // 0)"' "$out")
	awk -v b="$bytes" 'BEGIN {exit !(b > 0)}' || die "$STRATEGY: iperf3 moved no bytes ($out)"
	record gbps "$(awk -v b="$bps" 'BEGIN {printf "%.3f", b / 1e9}')"
	if strategy_has_proxies "$STRATEGY"; then
		record cpu_s_per_gb "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$bytes" 'BEGIN {printf "%.3f", (b - a) * 1e9 / n}')"
	fi
}

# measure_idle: the proxies' resident memory before any traffic of this round.
measure_idle() {
	strategy_has_proxies "$STRATEGY" || return 0
	record rss_idle_mib "$(rss_mib my-service)"
}
