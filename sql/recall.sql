-- Recall reports (recall.c): vecsearch_recall, vecsearch_recall_by_lid, vecsearch_tune.
-- Shapes and invariants of the reports, recall floors against the exact engine, exact
-- answers counted as recall 1 (ties included), held-out queries, settings restored,
-- the index under test used when the table has others, and every error with SQLSTATE.

-- own schema: table names do not collide with other tests in the same database
CREATE SCHEMA recall_test;
SET search_path = recall_test, public;

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

CREATE TABLE rt (id int, v vector(16));
INSERT INTO rt SELECT i, v FROM vecsearch_synthetic(3000, 16, 10, 21) WITH ORDINALITY AS s(v, i);
CREATE TABLE rt_q (qid int, v vector(16));
INSERT INTO rt_q SELECT i, v FROM vecsearch_synthetic(100, 16, 10, 22) WITH ORDINALITY AS s(v, i);
INSERT INTO rt_q VALUES (101, NULL);
CREATE INDEX rt_idx ON rt USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);

-- the default report: six ef_search values in order, consistent figures, recall
-- growing to a high floor, timings positive and speedup their ratio
SELECT ef_search,
	recall BETWEEN 0 AND 1 AS recall_in_range,
	recall_min <= recall_p05 AND recall_min <= recall AS min_is_lowest,
	index_ms > 0 AND exact_ms > 0 AS timed,
	abs(speedup - exact_ms / index_ms) < 1e-9 * speedup AS speedup_is_ratio
FROM vecsearch_recall('rt_idx');
SELECT (array_agg(recall ORDER BY ef_search))[6] >= (array_agg(recall ORDER BY ef_search))[1] AS more_ef_not_worse,
	max(recall) FILTER (WHERE ef_search = 320) >= 0.99 AS recall_at_320_ok,
	max(recall) FILTER (WHERE ef_search = 40) >= 0.9 AS recall_at_40_ok
FROM vecsearch_recall('rt_idx', queries => 300);

-- deterministic: the same seed gives the same queries and the same recall
SELECT a.recall = b.recall AS same_seed_same_recall
FROM vecsearch_recall('rt_idx', ef_search => '{10}', seed => 3) a,
	vecsearch_recall('rt_idx', ef_search => '{10}', seed => 3) b;

-- held-out queries (NULL rows skipped; queries above the table's size take every row)
SELECT ef_search, recall >= 0.95 AS recall_ok
FROM vecsearch_recall('rt_idx', queries => 1000, ef_search => '{100,200}', query_tbl => 'rt_q', query_col => 'v');

-- an index that answers exactly has recall 1 for every query, duplicates included
-- (tie-aware: with 4 copies of each vector the k-th exact distance is 0 for k = 3 and any
-- copy counts)
CREATE TABLE dup (id int, v vector(4));
INSERT INTO dup SELECT g * 10 + c, v FROM vecsearch_synthetic(40, 4, 4, 5) WITH ORDINALITY AS s(v, g), generate_series(1, 4) c;
CREATE INDEX dup_idx ON dup USING hnsw (v vector_l2_ops);
SELECT ef_search, recall, recall_min FROM vecsearch_recall('dup_idx', k => 3, queries => 160, ef_search => '{200}');
SELECT ef_search, recall, recall_min FROM vecsearch_recall('dup_idx', k => 10, queries => 160, ef_search => '{200}');

-- self-queries: the query row is left out of both answers, so k = rows - 1 works
SELECT recall FROM vecsearch_recall('dup_idx', k => 159, queries => 5, ef_search => '{1000}');

-- the metric comes from the opclass: cosine, inner product and l1 indexes
CREATE INDEX rt_cos ON rt USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 40);
CREATE INDEX rt_ip ON rt USING hnsw (v vector_ip_ops) WITH (m = 8, ef_construction = 40);
CREATE INDEX rt_l1 ON rt USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 40);
-- a second l2 index on the same column: each report measures its own index
CREATE INDEX rt_idx2 ON rt USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8);
SELECT i AS index, recall >= 0.9 AS recall_ok
FROM unnest(ARRAY['rt_idx', 'rt_idx2', 'rt_cos', 'rt_ip', 'rt_l1']::regclass[]) i,
	vecsearch_recall(i, ef_search => '{300}', queries => 100);
-- the weak graph (m = 4, ef_construction = 8) and the strong one differ at ef_search 10
SELECT (SELECT recall FROM vecsearch_recall('rt_idx2', ef_search => '{10}')) <
	(SELECT recall FROM vecsearch_recall('rt_idx', ef_search => '{10}')) AS weak_index_measured;

-- settings are restored, also an outer SET LOCAL, and after an error
BEGIN;
SET LOCAL hnsw.ef_search = 77;
SELECT count(*) FROM vecsearch_recall('rt_idx', ef_search => '{5,500}', queries => 10);
SHOW hnsw.ef_search;
SHOW enable_seqscan;
SHOW plan_cache_mode;
COMMIT;
SHOW hnsw.ef_search;
SELECT * FROM vecsearch_recall('rt_idx', ef_search => '{10,NULL}');
\echo :SQLSTATE
-- (an error while the index queries run restores them too: test/t/111_recall_cancel.pl
-- cancels a report that waits in that phase)

-- by LID quintile: five groups per ef_search, all queries counted, groups in LID order
SELECT ef_search, count(*) AS groups, sum(queries) AS queries,
	bool_and(lid_min <= lid_max) AS ranges_ok, bool_and(recall BETWEEN 0 AND 1) AS recall_in_range
FROM vecsearch_recall_by_lid('rt_idx', queries => 200) GROUP BY ef_search ORDER BY ef_search;
SELECT bool_and(a.lid_max <= b.lid_min) AS quintiles_ascend
FROM vecsearch_recall_by_lid('rt_idx', queries => 200, ef_search => '{10}') a
JOIN vecsearch_recall_by_lid('rt_idx', queries => 200, ef_search => '{10}') b
	ON b.lid_quintile = a.lid_quintile + 1;
-- the quintile recalls average to the report's recall (equal groups of 40)
SELECT abs(avg(l.recall) - r.recall) < 1e-9 AS consistent
FROM vecsearch_recall_by_lid('rt_idx', queries => 200, ef_search => '{10}') l,
	vecsearch_recall('rt_idx', queries => 200, ef_search => '{10}') r
GROUP BY r.recall;
SELECT ef_search, count(*) AS groups, sum(queries) AS queries
FROM vecsearch_recall_by_lid('rt_idx', queries => 7, ef_search => '{40}', lid_k => 20, query_tbl => 'rt_q', query_col => 'v')
GROUP BY ef_search;
-- undefined LIDs (all neighbours at one distance) are left out with a notice
SELECT count(*) AS groups FROM vecsearch_recall_by_lid('dup_idx', k => 3, queries => 20, lid_k => 2);

-- tune: the smallest ef_search meeting the target; the one below it misses
SELECT t.ef_search >= 1 AND t.recall >= 0.95 AS meets_target,
	t.recall = r.recall AS recall_matches_report,
	t.ef_search = 1 OR (SELECT recall FROM vecsearch_recall('rt_idx', ef_search => ARRAY[t.ef_search - 1])) < 0.95 AS smallest
FROM vecsearch_tune('rt_idx', 0.95) t,
	LATERAL vecsearch_recall('rt_idx', ef_search => ARRAY[t.ef_search]) r;
SELECT ef_search, recall FROM vecsearch_tune('dup_idx', 1.0, k => 3, queries => 50);
-- unreachable: self-queries with k = 1000 get at most 999 other rows from ef_search 1000
CREATE TABLE big (v vector(2));
INSERT INTO big SELECT v FROM vecsearch_synthetic(1100, 2, 2, 1) v;
CREATE INDEX big_idx ON big USING hnsw (v vector_l2_ops);
SELECT ef_search, recall FROM vecsearch_tune('big_idx', 1.0, k => 1000, queries => 3);

-- a column of a domain over vector: the reports read it as vector, as vecsearch_knn and
-- the LID functions do
CREATE DOMAIN rt_vec16 AS vector(16);
CREATE TABLE rt_dom (id int, v rt_vec16);
INSERT INTO rt_dom SELECT id, v FROM rt WHERE id <= 1000 ORDER BY id;
CREATE INDEX rt_dom_idx ON rt_dom USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
SELECT ef_search, recall >= 0.95 AS recall_ok
FROM vecsearch_recall('rt_dom_idx', ef_search => '{200}', queries => 50);
SELECT ef_search, recall >= 0.95 AS recall_ok
FROM vecsearch_recall('rt_dom_idx', ef_search => '{200}', queries => 50, query_tbl => 'rt_q', query_col => 'v');
SELECT ef_search, recall >= 0.95 AS recall_ok
FROM vecsearch_recall('rt_idx', ef_search => '{200}', queries => 50, query_tbl => 'rt_dom', query_col => 'v');
SELECT count(*) AS groups, sum(queries) AS queries
FROM vecsearch_recall_by_lid('rt_dom_idx', queries => 50, ef_search => '{40}', lid_k => 10);
SELECT ef_search >= 1 AND recall >= 0.9 AS meets_target FROM vecsearch_tune('rt_dom_idx', 0.9, queries => 20);
DROP TABLE rt_dom;
DROP DOMAIN rt_vec16;

-- what SELECT would do, or a clear error.  An index on an inheritance parent covers the
-- parent's own rows, while the index query (SELECT from the parent) reads the children
-- too: the two sides would measure different rows, so the report is refused; so is a
-- parent as the query table.
CREATE TABLE rt_parent (id int, v vector(16));
CREATE TABLE rt_child () INHERITS (rt_parent);
INSERT INTO rt_parent SELECT id, v FROM rt WHERE id <= 300;
INSERT INTO rt_child SELECT id, v FROM rt WHERE id > 300 AND id <= 600;
CREATE INDEX rt_parent_idx ON rt_parent USING hnsw (v vector_l2_ops);
SELECT * FROM vecsearch_recall('rt_parent_idx', queries => 20);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rt_parent', query_col => 'v');
\echo :SQLSTATE
DROP TABLE rt_parent CASCADE;
-- a materialized view never refreshed: SELECT's error, not "0 rows"
CREATE MATERIALIZED VIEW rt_mv AS SELECT id, v FROM rt WHERE id <= 300 WITH NO DATA;
CREATE INDEX rt_mv_idx ON rt_mv USING hnsw (v vector_l2_ops);
SELECT * FROM vecsearch_recall('rt_mv_idx');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rt_mv', query_col => 'v');
\echo :SQLSTATE
REFRESH MATERIALIZED VIEW rt_mv;
SELECT ef_search, recall >= 0.95 AS recall_ok FROM vecsearch_recall('rt_mv_idx', ef_search => '{200}', queries => 20);
DROP MATERIALIZED VIEW rt_mv;

-- errors
CREATE TABLE plain (id int PRIMARY KEY, v vector(16), w vector(4));
CREATE INDEX plain_btree ON plain (id);
CREATE TABLE empty (v vector(16));
CREATE INDEX empty_idx ON empty USING hnsw (v vector_l2_ops);
CREATE INDEX rt_expr ON rt USING hnsw (((v + v)::vector(16)) vector_l2_ops);
CREATE INDEX rt_part ON rt USING hnsw (v vector_l2_ops) WHERE id > 10;
\set VERBOSITY terse
SELECT * FROM vecsearch_recall('plain_btree');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('plain');
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM vecsearch_recall('rt_expr');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_part');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_recall(NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', k => NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', k => 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', k => 1001);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', queries => 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', queries => 100001);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', ef_search => '{}');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', ef_search => NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', ef_search => '{10,0}');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', ef_search => '{1001}');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', ef_search => '{{10},{20}}');
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rt_q');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', query_col => 'v');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rt_q', query_col => 'nope');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'plain', query_col => 'id');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'plain', query_col => 'v');
\echo :SQLSTATE
\set VERBOSITY default
INSERT INTO plain VALUES (1, NULL, '[1,2,3,4]');
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'plain', query_col => 'w');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('empty_idx');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('empty_idx', query_tbl => 'rt_q', query_col => 'v');
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('dup_idx', k => 160);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall('dup_idx', k => 161, query_tbl => 'dup', query_col => 'v');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_recall_by_lid('rt_idx', lid_k => 1);
\echo :SQLSTATE
SELECT * FROM vecsearch_recall_by_lid('rt_idx', lid_k => NULL);
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM vecsearch_recall_by_lid('dup_idx', lid_k => 160);
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_recall_by_lid('rt_idx', ef_search => '{}');
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('rt_idx', 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('rt_idx', 1.5);
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('rt_idx', 'NaN');
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('rt_idx', NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('plain_btree');
\echo :SQLSTATE
\set VERBOSITY default
-- impossible held-out queries (sql/rawvec.psql: 0 dimensions, NaN), the row named
\i :abs_srcdir/sql/rawvec.psql
CREATE TABLE rawq (v vector);
INSERT INTO rawq SELECT v FROM rt_q WHERE qid <= 3;
INSERT INTO rawq VALUES (pg_temp.rawvec(0));
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rawq', query_col => 'v');
UPDATE rawq SET v = pg_temp.rawvec(16, array_fill('NaN'::real, ARRAY[16])) WHERE vector_dims(v) = 0;
SELECT * FROM vecsearch_recall_by_lid('rt_idx', query_tbl => 'rawq', query_col => 'v');
\echo :SQLSTATE
SELECT * FROM vecsearch_tune('rt_idx', query_tbl => 'rawq', query_col => 'v');
\echo :SQLSTATE
DROP TABLE rawq;
\i :abs_srcdir/sql/rawvec_end.psql
-- privileges: the caller's, on the indexed table and on the query table
CREATE ROLE regress_recall_reader;
GRANT USAGE ON SCHEMA recall_test TO regress_recall_reader;
GRANT SELECT ON rt_q TO regress_recall_reader;
SET ROLE regress_recall_reader;
SELECT * FROM vecsearch_recall('rt_idx');
\echo :SQLSTATE
RESET ROLE;
GRANT SELECT ON rt TO regress_recall_reader;
REVOKE SELECT ON rt_q FROM regress_recall_reader;
SET ROLE regress_recall_reader;
SELECT * FROM vecsearch_recall('rt_idx', query_tbl => 'rt_q', query_col => 'v');
\echo :SQLSTATE
SELECT count(*) FROM vecsearch_recall('rt_idx', queries => 5);
RESET ROLE;
REVOKE ALL ON rt FROM regress_recall_reader;
REVOKE ALL ON SCHEMA recall_test FROM regress_recall_reader;
DROP ROLE regress_recall_reader;

DROP TABLE rt, rt_q, dup, big, plain, empty;
RESET search_path;
DROP SCHEMA recall_test;
