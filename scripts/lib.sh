# lib.sh — shell helpers shared by the scripts in scripts/ (sourced, from the
# repository's root).

# wait_for SECONDS CMD...: poll until CMD succeeds; 1 after SECONDS.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then echo "timed out waiting for: $*" >&2; return 1; fi
		sleep 0.1
	done
}
