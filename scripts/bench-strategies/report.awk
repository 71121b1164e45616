# report.awk — results TSV (round, strategy, metric, value) → a Markdown table
# of medians over the rounds, each throughput and latency figure also as a
# ratio to direct's median from the same run.
#   awk -v conns="1 10 50" -f report.awk results.tsv
BEGIN { FS = "\t" }
NR == 1 && $1 == "round" { next }
{
	if (!($2 in seen)) { seen[$2] = 1; order[++ns] = $2 }
	k = $2 SUBSEP $3
	vals[k, ++cnt[k]] = $4 + 0
	if ($1 > rounds) rounds = $1
}
function median(k,    n, i, j, t, a) {
	n = cnt[k]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = vals[k, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, m) {
	if (v == "") return "–"
	if (m ~ /^rps/) return sprintf("%d", v + 0.5)
	if (m ~ /gbps|ms|cpu_s/) return sprintf("%.2f", v)
	return sprintf("%.1f", v)
}
function cell(s, m, ratio,    v, d) {
	v = median(s SUBSEP m)
	if (v == "") return "–"
	if (!ratio) return fmt(v, m)
	d = median("direct" SUBSEP m)
	if (d == "" || d == 0 || s == "direct") return fmt(v, m)
	return sprintf("%s (%.2f×)", fmt(v, m), v / d)
}
END {
	nc = split(conns, c, " ")
	hdr = "| strategy"; sep = "|---"
	for (i = 1; i <= nc; i++) { hdr = hdr " | req/s c" c[i]; sep = sep "|---:" }
	for (i = 1; i <= nc; i++) { hdr = hdr " | p50 ms c" c[i] " | p99 ms c" c[i]; sep = sep "|---:|---:" }
	hdr = hdr " | Gbit/s | proxy CPU µs/req | proxy CPU s/GB | proxy RSS idle MiB | under load MiB |"
	sep = sep "|---:|---:|---:|---:|---:|"
	print hdr; print sep
	for (o = 1; o <= ns; o++) {
		s = order[o]; line = "| " s
		for (i = 1; i <= nc; i++) line = line " | " cell(s, "rps_c" c[i], 1)
		for (i = 1; i <= nc; i++) line = line " | " cell(s, "p50_ms_c" c[i], 1) " | " cell(s, "p99_ms_c" c[i], 1)
		line = line " | " cell(s, "gbps", 1) " | " cell(s, "cpu_us_per_req", 0) " | " cell(s, "cpu_s_per_gb", 0)
		line = line " | " cell(s, "rss_idle_mib", 0) " | " cell(s, "rss_load_mib", 0) " |"
		print line
	}
	printf "\nMedians of %d round(s); (n×) is the ratio to direct in the same run.\n", rounds
}
