#!/usr/bin/env bash
# test/bench/storage.sh: the exact scan through SQL on Fashion-MNIST under each storage
# choice for the vector column, and the planner's use of parallel workers.
#
# For each layout of the 60,000 x 784 training vectors (the type's default STORAGE main,
# which compresses these pixel vectors; main with toast_tuple_target = 8160, which keeps
# them inline and uncompressed; external, pgvector's choice, out of line; plain), prints
# the table size and the QPS of `ORDER BY embedding <-> q LIMIT 10` from one pgbench
# client (query vectors: the first 1,000 test images) with 0 and 2 parallel workers.
# Usage: bash test/bench/storage.sh [SECONDS per measurement, default 10]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
secs=${1:-10}
vs_build_install
vs_cluster_start
vs_load_fmnist >/dev/null
# a compressed copy of the queries too: the query vector reaches the operator compressed
vs_psql -c "CREATE TABLE q_main (id int PRIMARY KEY, embedding vector(784))" \
	-c "INSERT INTO q_main SELECT id, embedding::real[]::vector FROM fmnist_test WHERE id < 1000"

layouts="main main_inline external plain"
printf '%-12s %10s %10s %12s %12s %14s\n' layout heap total qps_w0 qps_w2 plan_w2
for l in $layouts; do
	case $l in
		main_inline) opts="WITH (toast_tuple_target = 8160)"; storage="" ;;
		main) opts=""; storage="" ;;
		*) opts=""; storage="ALTER TABLE s_$l ALTER embedding SET STORAGE $l" ;;
	esac
	vs_psql -c "CREATE TABLE s_$l (id int, embedding vector(784)) $opts" ${storage:+-c "$storage"} \
		-c "INSERT INTO s_$l SELECT id, embedding::real[]::vector FROM fmnist_train" \
		-c "VACUUM ANALYZE s_$l"
	sizes=$(vs_psql -At -F' ' -c "SELECT replace(pg_size_pretty(pg_relation_size('s_$l')), ' ', ''), replace(pg_size_pretty(pg_total_relation_size('s_$l')), ' ', '')")
	script=$(mktemp)
	echo "\\set qid random(0, 999)" >"$script"
	echo "SELECT id FROM s_$l ORDER BY embedding <-> (SELECT embedding FROM q_main WHERE id = :qid) LIMIT 10;" >>"$script"
	qps=()
	for w in 0 2; do
		vs_psql -c "ALTER DATABASE $VS_DB SET max_parallel_workers_per_gather = $w"
		# warm the cache, then measure
		pgbench -n -f "$script" -T 2 "$VS_DB" >/dev/null 2>&1
		qps+=("$(pgbench -n -f "$script" -T "$secs" "$VS_DB" 2>/dev/null | awk '/^tps/ {printf "%.1f", $3}')")
	done
	plan=$(vs_psql -At -c "EXPLAIN SELECT id FROM s_$l ORDER BY embedding <-> (SELECT embedding FROM q_main WHERE id = 1) LIMIT 10" |
		grep -oE 'Workers Planned: [0-9]+' || echo "serial")
	vs_psql -c "ALTER DATABASE $VS_DB RESET max_parallel_workers_per_gather"
	printf '%-12s %10s %10s %12s %12s %14s\n' "$l" $sizes "${qps[0]}" "${qps[1]}" "${plan#Workers Planned: }"
	rm -f "$script"
done
