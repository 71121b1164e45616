#!/usr/bin/env bash
# Restart and stop times of `edgeproxy run` over the router test harness (the
# fake skrouterd, or a real one with SKROUTERD=...): ROUNDS runs of
# TestRunWithRouterKillAndStop, each SIGKILLing the router once and then
# stopping edgeproxy with SIGTERM. Prints min / median / max per measure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
out=$(go test -count="$ROUNDS" -run '^TestRunWithRouterKillAndStop$' -v ./cmd/edgeproxy/)
summary() { # summary LABEL PATTERN: min / median / max of the durations after PATTERN
	echo "$out" | grep -oE "$2 [0-9.]+(ms|s|µs)" | awk '
		{ v=$NF; if (v ~ /µs$/) { sub(/µs$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else { sub(/s$/,"",v); v*=1000 }; print v+0 }' |
		sort -n | awk -v label="$1" '
		{ a[++n]=$1 }
		END { if (n==0) { print label ": no samples"; exit 1 }
		      printf "%-42s n=%d  min %.0f ms  median %.0f ms  max %.0f ms\n", label, n, a[1], a[int((n+1)/2)], a[n] }'
}
echo "router: ${SKROUTERD:-fake (internal/routertest/testdata/fake-skrouterd)}"
summary "SIGKILL → new router launched" "new router launched"
summary "SIGKILL → edge link up again" "edge link up"
summary "SIGKILL → traffic served again" "serving"
summary "SIGTERM → edgeproxy exited, router gone" "edgeproxy exited"
