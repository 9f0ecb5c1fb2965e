#!/usr/bin/env bash
# test/bench/hnsw_opclass.sh: hnsw build time and recall@10 per opclass (l2, ip, cosine;
# m = 16, ef_construction = 64, serial build) on two seeded sets:
#   3d    10,000 x 3, each coordinate the product of two uniforms on [0,1) (the shape of
#         pgvector's recall test); 20 queries uniform in [0,1)^3, and, for ip, 20 queries
#         uniform in [-1,1)^3 ("3d mixed signs": many of their answers lie near the origin)
#   64d   20,000 x 64 vecsearch_synthetic (intrinsic dimension 64); 200 held-out queries
# Recall is vecsearch_recall's (tie-aware, against the exact scan) at ef_search 10, 40
# (pgvector's default) and 100, with its mean index time per query; build time is the
# server clock around CREATE INDEX; "unreachable" counts the checker's elements not
# reachable from the entry point.
#
#   bash test/bench/hnsw_opclass.sh        scratch cluster (VS_SANDBOX honoured)
#   BENCH_SKIP_BUILD=1                      measure the extension already installed (e.g.
#                                           an older build in another VS_SANDBOX)
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"

[ -n "${BENCH_SKIP_BUILD:-}" ] || vs_build_install
vs_cluster_start
vs_psql <<-'SQL'
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.42) \g /dev/null
	CREATE TABLE t3 (id int PRIMARY KEY, v vector(3));
	INSERT INTO t3 SELECT i, ARRAY[random() * random(), random() * random(), random() * random()]::real[]::vector
		FROM generate_series(1, 10000) i;
	CREATE TABLE q3 (qid int PRIMARY KEY, v vector(3));
	INSERT INTO q3 SELECT i, ARRAY[random(), random(), random()]::real[]::vector FROM generate_series(1, 20) i;
	CREATE TABLE q3m (qid int PRIMARY KEY, v vector(3));
	INSERT INTO q3m SELECT i, ARRAY[random() * 2 - 1, random() * 2 - 1, random() * 2 - 1]::real[]::vector
		FROM generate_series(1, 20) i;
	CREATE TABLE t64 (id int PRIMARY KEY, v vector(64));
	INSERT INTO t64 SELECT row_number() OVER (), v FROM vecsearch_synthetic(20200, 64, 64, 7) v;
	CREATE TABLE q64 AS SELECT id AS qid, v FROM t64 WHERE id > 20000;
	DELETE FROM t64 WHERE id > 20000;
	VACUUM ANALYZE t3, q3, q3m, t64, q64;
SQL
vs_psql <<-'SQL'
	SET max_parallel_maintenance_workers = 0;
	SET client_min_messages = warning;
	CREATE TEMP TABLE res (set text, op text, ms float8, ef int, recall float8, qms float8, unreachable bigint);
	DO $$
	DECLARE
		t0 timestamptz;
		ms float8;
		u bigint;
		s record;
		o text;
	BEGIN
		FOR s IN SELECT * FROM (VALUES ('3d', 't3', 'q3'), ('3d mixed signs', 't3', 'q3m'),
				('64d', 't64', 'q64')) x(name, tbl, qtbl) LOOP
			FOREACH o IN ARRAY ARRAY['l2', 'ip', 'cosine'] LOOP
				CONTINUE WHEN s.name = '3d mixed signs' AND o <> 'ip';
				EXECUTE 'DROP INDEX IF EXISTS bench_idx';
				t0 := clock_timestamp();
				EXECUTE format('CREATE INDEX bench_idx ON %I USING hnsw (v vector_%s_ops) WITH (m = 16, ef_construction = 64)', s.tbl, o);
				ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
				-- the checker lists at most 1,000 problems and then a count of the rest
				SELECT coalesce(sum(CASE WHEN problem LIKE '%not reachable%' THEN 1
					ELSE substring(problem FROM '^(\d+) more problems')::bigint END), 0) INTO u
				FROM vecsearch_index_check('bench_idx');
				INSERT INTO res SELECT s.name, o, ms, r.ef_search, r.recall, r.index_ms, u
					FROM vecsearch_recall('bench_idx', 10, 200, '{10,40,100}', 0, s.qtbl::regclass, 'v') r;
			END LOOP;
		END LOOP;
	END $$;
	\pset footer off
	SELECT set, op, round(ms) AS build_ms, unreachable,
		string_agg(round(recall::numeric, 3)::text, ' / ' ORDER BY ef) AS "recall@10 at ef 10 / 40 / 100",
		string_agg(round(qms::numeric, 3)::text, ' / ' ORDER BY ef) AS "ms per query"
	FROM res GROUP BY set, op, ms, unreachable ORDER BY set, op;
SQL
