#!/usr/bin/env bash
# Uplink failover times over the router test harness (the fake skrouterd, or a
# real one with SKROUTERD=...): BenchmarkUplinkFailover (an edge with two
# edge connectors; SIGTERM to the interior of the active one → HTTP answered
# again through the other, ROUNDS times), then ROUNDS runs of
# TestRunUplinkFailover (`edgeproxy run` with EDGEPROXY_UPLINKS: the same,
# with /readyz polled every 5 ms). Prints min / median / max and the load.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
echo "router: ${SKROUTERD:-fake (internal/routertest/testdata/fake-skrouterd)}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
go test -count=1 -run '^$' -bench '^BenchmarkUplinkFailover$' -benchtime "${ROUNDS}x" ./internal/routertest/ | grep Benchmark
out=$(go test -count="$ROUNDS" -run '^TestRunUplinkFailover$' -v ./cmd/edgeproxy/)
echo "$out" | grep -oE "serving again through \S+ after [0-9.]+(ms|s)" | awk '
	{ v=$NF; if (v ~ /ms$/) { sub(/ms$/,"",v) } else { sub(/s$/,"",v); v*=1000 }; print v+0 }' | sort -n | awk '
	{ a[++n]=$1 }
	END { if (n==0) { print "no samples"; exit 1 }
	      printf "edgeproxy run: SIGTERM to the active interior → served again  n=%d  min %.0f ms  median %.0f ms  max %.0f ms\n", n, a[1], a[int((n+1)/2)], a[n] }'
echo "$out" | grep -oE "[0-9]+ /readyz polls, [0-9]+ not 200" | awk '{ p+=$1; bad+=$4 } END { printf "/readyz during failover: %d polls, %d not 200\n", p, bad }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
