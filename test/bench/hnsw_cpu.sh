#!/usr/bin/env bash
# test/bench/hnsw_cpu.sh: backend CPU time of hnsw scans and builds on Fashion-MNIST, the
# figures that stay comparable on a shared, loaded machine (wall-clock QPS does not: it moved
# 20% between runs here).  Same data and index as test/bench/hnsw.sh (60,000 x 784, L2,
# m = 16, ef_construction = 64, 1,000 test queries).
#
# Scans: one session runs every query BENCH_PASSES times in a PL/pgSQL loop (no client round
# trips) and reads its own CPU time from /proc/self/schedstat (nanoseconds on CPU) before and
# after; prints microseconds of backend CPU per query and recall@10 (tie-aware) for every
# ef_search in BENCH_EF.  Builds: CPU time of the backend that runs CREATE INDEX (the leader
# only, for a parallel build) and wall time, BENCH_BUILDS times per setting.
#
#   bash test/bench/hnsw_cpu.sh             scratch cluster (VS_SANDBOX honoured)
#   BENCH_REUSE=1                           use the cluster in $PGHOST as it is (data loaded)
#   BENCH_EF="10 40"  BENCH_PASSES=3  BENCH_BUILDS=1  BENCH_WORKERS="0 2"
#   BENCH_WITH="codes = none"              more index options
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"
EFS=${BENCH_EF:-"10 20 40 80"}
PASSES=${BENCH_PASSES:-3}
BUILDS=${BENCH_BUILDS:-1}
WORKERS=${BENCH_WORKERS:-"0 2"}

if [ -z "${BENCH_REUSE:-}" ]; then
	vs_build_install
	vs_cluster_start
	vs_load_fmnist >/dev/null
fi

echo "== build (m = 16, ef_construction = 64, maintenance_work_mem = $VS_MAINTENANCE_WORK_MEM)"
for w in $WORKERS; do
	for i in $(seq "$BUILDS"); do
		vs_psql -At <<-EOF
			DROP INDEX IF EXISTS fm_hnsw;
			ALTER TABLE fmnist_train SET (parallel_workers = $w);
			SET maintenance_work_mem = '$VS_MAINTENANCE_WORK_MEM';
			SET max_parallel_maintenance_workers = $w;
			CREATE TEMP TABLE _t0 AS SELECT clock_timestamp() AS t,
				split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint AS cpu;
			CREATE INDEX fm_hnsw ON fmnist_train USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64${BENCH_WITH:+, $BENCH_WITH});
			SELECT 'workers requested $w: build ' || round(extract(epoch FROM clock_timestamp() - t) * 1000) ||
				' ms wall, ' || (split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - cpu) / 1000000 ||
				' ms backend CPU' FROM _t0;
		EOF
	done
done

vs_psql -q <<-EOF
	SET client_min_messages = warning;
	CREATE TABLE IF NOT EXISTS bench_q (id int PRIMARY KEY, embedding vector(784));
	ALTER TABLE bench_q ALTER embedding SET STORAGE PLAIN;
	INSERT INTO bench_q SELECT id, embedding FROM fmnist_test WHERE id < 1000 ON CONFLICT DO NOTHING;
	DROP TABLE IF EXISTS bench_gt;
	CREATE TABLE bench_gt AS
	SELECT k.query - 1 AS qid, max(k.distance) AS kth
	FROM vecsearch_knn('fmnist_train', 'embedding', (SELECT array_agg(embedding ORDER BY id) FROM bench_q), 10) k
	GROUP BY k.query;
EOF

echo "== scans: backend CPU per query ($PASSES passes over 1,000 queries, no client round trip)"
printf '%-10s %-9s %-12s\n' ef_search recall cpu_us/query
for ef in $EFS; do
	vs_psql -At -F ' ' <<-EOF
		CREATE FUNCTION pg_temp.cpu_per_query(ef int, passes int, OUT us float8, OUT recall float8)
		LANGUAGE plpgsql AS \$\$
		DECLARE t0 bigint; r record; hits bigint := 0; h int;
		BEGIN
			PERFORM set_config('hnsw.ef_search', ef::text, true);
			PERFORM set_config('enable_seqscan', 'off', true);
			t0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
			FOR p IN 1..passes LOOP
				FOR r IN SELECT q.embedding, g.kth FROM bench_q q JOIN bench_gt g ON g.qid = q.id LOOP
					SELECT count(*) FILTER (WHERE d <= r.kth + 1e-6 * abs(r.kth)) INTO h
					FROM (SELECT t.embedding <-> r.embedding AS d FROM fmnist_train t
						  ORDER BY t.embedding <-> r.embedding LIMIT 10) s;
					hits := hits + h;
				END LOOP;
			END LOOP;
			us := round((split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - t0) / 1000.0
						/ (passes * 1000), 1);
			recall := round(hits / (passes * 10000.0), 4);
		END \$\$;
		SELECT $ef, recall, us FROM pg_temp.cpu_per_query($ef, $PASSES);
	EOF
done | awk '{printf "%-10s %-9s %-12s\n", $1, $2, $3}'
