#!/usr/bin/env bash
# test/bench/halfvec.sh: the same vectors stored as vector and as halfvec: table sizes,
# the time of an exact scan through SQL, and how far the halfvec ranking is from the
# vector one.
#
# Seeded synthetic data (vecsearch_synthetic, intrinsic dimension 16): 20,000 rows of 768
# dimensions and 10,000 of 3,072, each table copied into a halfvec column.  Prints each
# table's heap and total size, the median of 5 runs of
# `ORDER BY v <-> (SELECT v FROM t WHERE id = k) LIMIT 10` with no parallel workers
# (EXPLAIN ANALYZE's execution time), and recall@10 of the halfvec ranking against the
# vector ranking over 20 queries.
# Usage: bash test/bench/halfvec.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vs_build_install
vs_cluster_start
vs_psql -c "CREATE EXTENSION vecsearch"
for d in 768 3072; do
	n=$((d == 768 ? 20000 : 10000))
	vs_psql -c "CREATE TABLE v$d AS SELECT i AS id, v FROM generate_series(1, $n) i, LATERAL vecsearch_synthetic(1, $d, 16, i) v" \
		-c "CREATE TABLE h$d AS SELECT id, v::halfvec($d) AS v FROM v$d" \
		-c "VACUUM ANALYZE v$d" -c "VACUUM ANALYZE h$d"
done
printf '%-6s %8s %8s %10s %12s\n' table heap total scan_ms recall@10
for t in v768 h768 v3072 h3072; do
	d=${t:1}
	sizes=$(vs_psql -At -F' ' -c "SELECT replace(pg_size_pretty(pg_relation_size('$t')), ' ', ''), replace(pg_size_pretty(pg_total_relation_size('$t')), ' ', '')")
	vs_psql -c "SELECT id FROM $t ORDER BY v <-> (SELECT v FROM $t WHERE id = 1) LIMIT 10" >/dev/null
	times=()
	for k in 2 3 4 5 6; do
		times+=("$(vs_psql -At -c "SET max_parallel_workers_per_gather = 0" \
			-c "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT id FROM $t ORDER BY v <-> (SELECT v FROM $t WHERE id = $k) LIMIT 10" |
			python3 -c "import json, sys; print(json.load(sys.stdin)[0]['Execution Time'])")")
	done
	median=$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)
	recall=-
	if [ "${t:0:1}" = h ]; then
		recall=$(vs_psql -At -c "SELECT round(avg(r), 3) FROM (
			SELECT (SELECT count(*) FROM (SELECT id FROM h$d ORDER BY v <-> q.v::halfvec LIMIT 10) a
				JOIN (SELECT id FROM v$d ORDER BY v <-> q.v LIMIT 10) b USING (id)) / 10.0 AS r
			FROM v$d q WHERE q.id <= 20) s")
	fi
	printf '%-6s %8s %8s %10.1f %12s\n' "$t" $sizes "$median" "$recall"
done
