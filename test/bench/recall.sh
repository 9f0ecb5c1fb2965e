#!/usr/bin/env bash
# test/bench/recall.sh: the recall research benchmark (issue 4 §2-3).
#
#  1. vecsearch_recall on Fashion-MNIST (60,000 x 784, L2, m = 16, ef_construction = 128,
#     the paper's setting): 1,000 held-out fmnist_test queries, ef_search 10..320, with
#     the wall time of the whole report (target <= 15 s).
#  2. vecsearch_recall_by_lid on the same index and queries (ef_search 10 and 40).
#  3. The insertion-order experiment (Elliott & Clark): recall@10 at ef_search 10 and 40
#     for build_order heap, random, lid_desc, lid_asc, with build times, on Fashion-MNIST
#     and on vecsearch_synthetic sets of a low and a high intrinsic dimension (held-out
#     queries: the last rows generated with the same seed, on the same subspace).
#     Builds are serial (max_parallel_maintenance_workers = 0): the order is then exact.
#
#   bash test/bench/recall.sh              scratch cluster (VS_SANDBOX honoured)
#   BENCH_REUSE=1                          use the cluster in $PGHOST as it is (data loaded)
#   BENCH_ORDERS="heap random"             orders to build (default all four)
#   BENCH_SYN_N=20000 BENCH_SYN_DIM=256 BENCH_SYN_ID="4 64"   synthetic sets ("" for none)
#   BENCH_SEEDS="42 1 2"                   level-generator seeds per order (default 42, the
#                                          index default; several show the noise between builds)
#   BENCH_ORDERS_ONLY=1                    skip the reports (parts 1 and 2)
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"
ORDERS=${BENCH_ORDERS:-"heap random lid_desc lid_asc"}
SYN_N=${BENCH_SYN_N:-20000}
SYN_DIM=${BENCH_SYN_DIM:-256}
SYN_ID=${BENCH_SYN_ID-"4 64"}
SEEDS=${BENCH_SEEDS:-42}
NQ=1000

if [ -z "${BENCH_REUSE:-}" ]; then
	vs_build_install
	vs_cluster_start
	vs_load_fmnist >/dev/null
fi

# timed SQL: run SQL in one session, print its wall time in ms (server clock)
timed() {
	local out
	out=$(vs_psql -At <<-EOF
		SET maintenance_work_mem = '${VS_MAINTENANCE_WORK_MEM}';
		SET max_parallel_maintenance_workers = 0;
		CREATE TEMP TABLE _t0 AS SELECT clock_timestamp() AS t;
		$1;
		SELECT round(extract(epoch FROM clock_timestamp() - t) * 1000) FROM _t0;
	EOF
	)
	echo "$out" | tail -n 1
}

echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -z "${BENCH_ORDERS_ONLY:-}" ]; then
echo "== Fashion-MNIST: index m = 16, ef_construction = 128 (heap order)"
vs_psql -c "DROP INDEX IF EXISTS fm_recall"
ms=$(timed "CREATE INDEX fm_recall ON fmnist_train USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 128)")
echo "build: $ms ms"

echo "== vecsearch_recall: $NQ held-out queries (fmnist_test), k = 10"
vs_psql -c "SELECT 1 FROM vecsearch_recall('fm_recall', queries => 10, ef_search => '{10}')" >/dev/null
ms=$(timed "CREATE TEMP TABLE _r AS SELECT * FROM vecsearch_recall('fm_recall', queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding')")
vs_psql <<-EOF
	\pset footer off
	SELECT * FROM vecsearch_recall('fm_recall', queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding');
EOF
echo "report wall time (a separate identical call before the table above, 6 ef_search values): $ms ms (target <= 15000)"

echo "== vecsearch_recall: $NQ queries sampled from the table (self-queries), k = 10"
vs_psql -c "\\pset footer off" -c "SELECT * FROM vecsearch_recall('fm_recall', queries => $NQ)"

echo "== vecsearch_recall_by_lid: $NQ held-out queries, lid_k = 100"
ms=$(timed "CREATE TEMP TABLE _r AS SELECT * FROM vecsearch_recall_by_lid('fm_recall', queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding')")
vs_psql -c "\\pset footer off" -c "SELECT ef_search, lid_quintile, round(lid_min::numeric, 1) AS lid_min, round(lid_max::numeric, 1) AS lid_max, queries, round(recall::numeric, 4) AS recall FROM vecsearch_recall_by_lid('fm_recall', queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding')"
echo "report wall time: $ms ms"

echo "== vecsearch_tune: target 0.95 and 0.99"
vs_psql -c "\\pset footer off" -c "SELECT 0.95 AS target, * FROM vecsearch_tune('fm_recall', 0.95, queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding') UNION ALL SELECT 0.99, * FROM vecsearch_tune('fm_recall', 0.99, queries => $NQ, query_tbl => 'fmnist_test', query_col => 'embedding')"
vs_psql -c "DROP INDEX fm_recall"
fi

# order_experiment TABLE COL QTABLE: one index per build order (m = 16,
# ef_construction = 128, serial), its build time and recall@10 at ef_search 10 and 40
order_experiment() {
	local tbl=$1 qtbl=$2 o ms seed
	echo "| build_order | seed | build ms | recall@10 ef 10 | recall@10 ef 40 |"
	echo "|---|---|---|---|---|"
	for o in $ORDERS; do
		for seed in $SEEDS; do
			vs_psql -q -c "SET client_min_messages = warning" -c "DROP INDEX IF EXISTS ${tbl}_order"
			ms=$(timed "CREATE INDEX ${tbl}_order ON $tbl USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 128, build_order = $o, seed = $seed)")
			vs_psql -At -F ' | ' -c "SELECT '| $o | $seed | $ms', round(max(recall) FILTER (WHERE ef_search = 10)::numeric, 4), round(max(recall) FILTER (WHERE ef_search = 40)::numeric, 4) || ' |' FROM vecsearch_recall('${tbl}_order', queries => $NQ, ef_search => '{10,40}', query_tbl => '$qtbl', query_col => 'embedding')"
		done
	done
	vs_psql -c "DROP INDEX IF EXISTS ${tbl}_order"
}

echo "== insertion order: Fashion-MNIST (60,000 x 784), $NQ held-out queries"
order_experiment fmnist_train fmnist_test

for id in $SYN_ID; do
	echo "== insertion order: vecsearch_synthetic($SYN_N, $SYN_DIM, intrinsic_dim $id), $NQ held-out queries"
	vs_psql <<-EOF
		DROP TABLE IF EXISTS syn_all, syn_train, syn_test;
		CREATE TABLE syn_all AS SELECT i, v AS embedding FROM vecsearch_synthetic($SYN_N + $NQ, $SYN_DIM, $id, 42) WITH ORDINALITY AS s(v, i);
		CREATE TABLE syn_train AS SELECT i AS id, embedding FROM syn_all WHERE i <= $SYN_N;
		CREATE TABLE syn_test AS SELECT i AS id, embedding FROM syn_all WHERE i > $SYN_N;
		DROP TABLE syn_all;
		VACUUM ANALYZE syn_train;
		VACUUM ANALYZE syn_test;
	EOF
	vs_psql -At -c "SELECT 'LID of 2,000 sampled rows (k = 100): harmonic mean ' || round(lid_harmonic_mean::numeric, 1) || ', p10/p50/p90 ' || round(lid_p10::numeric, 1) || '/' || round(lid_p50::numeric, 1) || '/' || round(lid_p90::numeric, 1) FROM vecsearch_lid_summary('syn_train', 'embedding', sample => 2000)"
	order_experiment syn_train syn_test
	vs_psql -c "DROP TABLE syn_train, syn_test"
done
