#!/usr/bin/env bash
# test/bench/hnsw.sh: the hnsw benchmark on Fashion-MNIST (60,000 x 784, L2, m = 16,
# ef_construction = 64), the setting of ../shared/ANCHORS.md.  Prints build time and
# backend CPU (0 and 2 parallel workers requested), index size, and for ef_search 10..320
# recall@10 (tie-aware, against vecsearch_knn)
# with QPS and p50/p99 latency from one pgbench client through SQL.
#
#   bash test/bench/hnsw.sh                 scratch cluster (VS_SANDBOX honoured)
#   BENCH_QUERIES=1000 BENCH_SECONDS=10     queries for recall, seconds per QPS run
#   BENCH_REUSE=1                           use the cluster in $PGHOST as it is (data loaded)
#   BENCH_SYNTH=0                           skip the synthetic sets
#
# The QPS query fetches the query vector by primary key inside the statement
# (SELECT id FROM fmnist_train ORDER BY embedding <-> (SELECT embedding FROM bench_q
# WHERE id = :q) LIMIT 10); that lookup costs about 0.02 ms and is included.
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"
NQ=${BENCH_QUERIES:-1000}
SECS=${BENCH_SECONDS:-10}
EFS=${BENCH_EF:-"10 20 40 80 160 320"}

if [ -z "${BENCH_REUSE:-}" ]; then
	vs_build_install
	vs_cluster_start
	vs_load_fmnist >/dev/null
fi
PGBENCH=$(vs_pgbin)/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$VS_PGVER/bin/pgbench

# timed SQL: run SQL in one session, print its wall time in ms (server clock)
timed() {
	local out
	out=$(vs_psql -At <<-EOF
		SET maintenance_work_mem = '${VS_MAINTENANCE_WORK_MEM}';
		CREATE TEMP TABLE _t0 AS SELECT clock_timestamp() AS t;
		$1;
		SELECT round(extract(epoch FROM clock_timestamp() - t) * 1000) FROM _t0;
	EOF
	)
	echo "$out" | tail -n 1
}

echo "== build (m = 16, ef_construction = 64, maintenance_work_mem = $VS_MAINTENANCE_WORK_MEM)"
for w in 0 2; do
	vs_psql -c "DROP INDEX IF EXISTS fm_hnsw" -c "ALTER TABLE fmnist_train SET (parallel_workers = $w)"
	ms=$(timed "SET max_parallel_maintenance_workers = $w; SET client_min_messages = debug1; CREATE INDEX fm_hnsw ON fmnist_train USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)")
	echo "workers requested $w: build $ms ms"
done
vs_psql -At -c "SELECT 'index size ' || pg_size_pretty(pg_relation_size('fm_hnsw')) || ' (' || pg_relation_size('fm_hnsw') || ' bytes)'"
vs_psql -At -c "SELECT 'checker problems ' || count(*) FROM vecsearch_index_check('fm_hnsw')"

echo "== ground truth: exact top-10 of $NQ queries (vecsearch_knn)"
# the queries live uncompressed in a table of their own (STORAGE PLAIN), so fetching one
# costs no decompression
vs_psql <<-EOF
	DROP TABLE IF EXISTS bench_gt, bench_q;
	CREATE TABLE bench_q (id int PRIMARY KEY, embedding vector(784));
	ALTER TABLE bench_q ALTER embedding SET STORAGE PLAIN;
	INSERT INTO bench_q SELECT id, embedding FROM fmnist_test WHERE id < $NQ;
	VACUUM ANALYZE bench_q;
	CREATE TABLE bench_gt AS
	SELECT k.query - 1 AS qid, max(k.distance) AS kth
	FROM vecsearch_knn('fmnist_train', 'embedding', (SELECT array_agg(embedding ORDER BY id) FROM bench_q), 10) k
	GROUP BY k.query;
EOF

# ef_table TABLE QTABLE OP: recall@10 (tie-aware against the kth exact distance in
# bench_gt) and pgbench QPS / p50 / p99 for every ef_search in $EFS
ef_table() {
	local tab=$1 qtab=$2 op=$3 script logdir ef recall tps lat
	script=$(mktemp)
	echo "\\set q random(0, $((NQ - 1)))" >"$script"
	echo "SELECT id FROM $tab ORDER BY embedding $op (SELECT embedding FROM $qtab WHERE id = :q) LIMIT 10;" >>"$script"
	logdir=$(mktemp -d)
	chmod 777 "$logdir"
	printf '%-10s %-9s %-9s %-9s %-9s\n' ef_search recall QPS p50_ms p99_ms
	for ef in $EFS; do
		recall=$(vs_psql -At <<-EOF
			SET enable_seqscan = off;
			SET hnsw.ef_search = $ef;
			SELECT round(avg(r)::numeric, 4) FROM (
			  SELECT (SELECT count(*) FROM (SELECT t.embedding $op q.embedding AS d FROM $tab t
			                                ORDER BY t.embedding $op q.embedding LIMIT 10) s
			          WHERE s.d <= g.kth + 1e-6 * abs(g.kth)) / 10.0 AS r
			  FROM $qtab q JOIN bench_gt g ON g.qid = q.id) x;
		EOF
		)
		rm -f "$logdir"/pgbench_log.*
		tps=$(cd "$logdir" && PGOPTIONS="-c hnsw.ef_search=$ef -c enable_seqscan=off" \
			"$PGBENCH" -n -M prepared -c 1 -T "$SECS" -f "$script" -l "$VS_DB" 2>/dev/null |
			awk '/^tps/ {print int($3)}')
		lat=$(cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n |
			awk '{a[NR] = $1} END {printf "%.3f %.3f", a[int(NR * 0.5)] / 1000, a[int(NR * 0.99)] / 1000}')
		printf '%-10s %-9s %-9s %-9s %-9s\n' "$ef" "$recall" "$tps" $lat
	done
	rm -rf "$script" "$logdir"
}

ef_table fmnist_train bench_q '<->'

# Seeded synthetic sets (vecsearch_synthetic): 100,000 x 128, cosine, on a random linear
# subspace of 8 (low intrinsic dimension) and 128 (high) dimensions; the last 1,000
# generated vectors are the queries.  BENCH_SYNTH=0 skips them.
if [ "${BENCH_SYNTH:-1}" != 0 ]; then
	for idim in 8 128; do
		echo "== synthetic 100,000 x 128, intrinsic dimension $idim, cosine (m = 16, ef_construction = 64)"
		vs_psql -q <<-EOF
			DROP TABLE IF EXISTS syn, syn_q, bench_gt;
			CREATE TABLE syn (id int PRIMARY KEY, embedding vector(128));
			INSERT INTO syn SELECT row_number() OVER () - 1, v FROM vecsearch_synthetic(101000, 128, $idim, 7) v;
			CREATE TABLE syn_q AS SELECT id - 100000 AS id, embedding FROM syn WHERE id >= 100000;
			ALTER TABLE syn_q ADD PRIMARY KEY (id);
			DELETE FROM syn WHERE id >= 100000;
			VACUUM ANALYZE syn;
			VACUUM ANALYZE syn_q;
			CREATE TABLE bench_gt AS
			SELECT k.query - 1 AS qid, max(k.distance) AS kth
			FROM vecsearch_knn('syn', 'embedding', (SELECT array_agg(embedding ORDER BY id) FROM syn_q WHERE id < $NQ), 10, 'cosine') k
			GROUP BY k.query;
		EOF
		ms=$(timed "CREATE INDEX syn_hnsw ON syn USING hnsw (embedding vector_cosine_ops)")
		echo "build $ms ms (default workers)"
		ef_table syn syn_q '<=>'
	done
fi
