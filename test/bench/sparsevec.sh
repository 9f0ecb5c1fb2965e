#!/usr/bin/env bash
# test/bench/sparsevec.sh: exact sparsevec search through SQL and the type's storage.
#
#   bash test/bench/sparsevec.sh              (about 2 minutes on 2 cores)
#   BENCH_ROWS=50000 BENCH_NNZ=200 bash ...   other table shapes
#
# Builds a SPLADE-like table (BENCH_ROWS rows, default 20,000, of BENCH_NNZ nonzero
# elements, default 400, at random indices of 30,522 dimensions: BERT's vocabulary) twice:
# with the type's storage (main) and with pgvector's (external, ALTER TABLE ... SET
# STORAGE).  Prints each table's heap and TOAST size and the time of an exact top-10
# query (ORDER BY s <#> q LIMIT 10, q of 30 elements, serial), the median of 5 runs after
# a warm-up, by wall time and by the backend's CPU time.
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"
ROWS=${BENCH_ROWS:-20000}
NNZ=${BENCH_NNZ:-400}

vs_build_install
vs_cluster_start
vs_psql -v rows="$ROWS" -v nnz="$NNZ" <<'SQL'
CREATE EXTENSION vecsearch;
SELECT setseed(0.5);
CREATE TABLE sv_main (id int, s sparsevec(30522));
INSERT INTO sv_main
SELECT id, ('{' || string_agg(i || ':' || round(random()::numeric, 3) + 0.001, ',') || '}/30522')::sparsevec
FROM generate_series(1, :rows) id,
	LATERAL (SELECT DISTINCT 1 + (random() * 30521)::int AS i
		FROM generate_series(1, :nnz) WHERE id > 0) x
GROUP BY id;
CREATE TABLE sv_external (id int, s sparsevec(30522));
ALTER TABLE sv_external ALTER s SET STORAGE external;
INSERT INTO sv_external SELECT * FROM sv_main;
VACUUM ANALYZE sv_main;
VACUUM ANALYZE sv_external;
CREATE TABLE q AS
SELECT ('{' || string_agg(i || ':1', ',') || '}/30522')::sparsevec AS s
FROM (SELECT DISTINCT 1 + (random() * 30521)::int AS i FROM generate_series(1, 30)) x;

CREATE FUNCTION backend_cpu_ms() RETURNS float8 LANGUAGE sql AS $$
	SELECT (split_part(s, ' ', 12)::float8 + split_part(s, ' ', 13)::float8) * 10
	FROM (SELECT split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2) AS s) x
$$;
-- median wall and CPU ms of 5 runs of the top-10 query on table t, after a warm-up
CREATE FUNCTION top10_ms(t regclass, OUT wall_ms float8, OUT cpu_ms float8) LANGUAGE plpgsql AS $$
DECLARE
	w float8[] := '{}';
	c float8[] := '{}';
	t0 timestamptz;
	c0 float8;
BEGIN
	EXECUTE format('SELECT count(*) FROM (SELECT id FROM %s ORDER BY s <#> (SELECT s FROM q) LIMIT 10) x', t);
	FOR r IN 1..5 LOOP
		t0 := clock_timestamp();
		c0 := backend_cpu_ms();
		EXECUTE format('SELECT count(*) FROM (SELECT id FROM %s ORDER BY s <#> (SELECT s FROM q) LIMIT 10) x', t);
		w := w || extract(epoch FROM clock_timestamp() - t0) * 1000;
		c := c || backend_cpu_ms() - c0;
	END LOOP;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO wall_ms FROM unnest(w) x;
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) INTO cpu_ms FROM unnest(c) x;
END $$;

SET max_parallel_workers_per_gather = 0;
\echo == sparsevec exact top-10 by storage
SELECT t AS storage, pg_size_pretty(pg_relation_size(t)) AS heap,
	pg_size_pretty(pg_total_relation_size(t) - pg_relation_size(t)) AS toast_and_fsm,
	round(m.wall_ms::numeric, 1) AS wall_ms, round(m.cpu_ms::numeric, 0) AS cpu_ms
FROM unnest('{sv_main,sv_external}'::regclass[]) t, LATERAL top10_ms(t) m;
SELECT (SELECT array_agg(id ORDER BY s <#> (SELECT s FROM q), id) FROM (SELECT * FROM sv_main ORDER BY s <#> (SELECT s FROM q), id LIMIT 10) a)
	= (SELECT array_agg(id ORDER BY s <#> (SELECT s FROM q), id) FROM (SELECT * FROM sv_external ORDER BY s <#> (SELECT s FROM q), id LIMIT 10) b)
	AS same_answer;
SQL
