-- The hnsw access method: SQL surface, options and their bounds, GUCs, scans
-- compared with exact answers, inserts, VACUUM, NULLs, UNLOGGED, TRUNCATE,
-- large vectors, the checker, amvalidate.

-- own schema: table names do not collide with other tests in the same database
CREATE SCHEMA hnsw_test;
SET search_path = hnsw_test, public;

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- same_as_exact(table, column, op, query, k): true when the index scan returns
-- the same k ids as the sequential scan (distinct distances in the data).
CREATE FUNCTION pg_temp.same_as_exact(tab text, op text, q text, k int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
	a int[];
	b int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_indexscan = on;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s %L LIMIT %s) s', tab, op, q, k) INTO a;
	SET LOCAL enable_seqscan = on;
	SET LOCAL enable_indexscan = off;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s %L LIMIT %s) s', tab, op, q, k) INTO b;
	IF a IS DISTINCT FROM b THEN
		RAISE NOTICE 'index % exact %', a, b;
	END IF;
	RETURN a IS NOT DISTINCT FROM b;
END
$$;

-- 2,000 deterministic 3-dim points with distinct coordinates
CREATE TABLE pts (id int PRIMARY KEY, v vector(3));
INSERT INTO pts
SELECT i, ARRAY[sin(i * 0.37) * 10 + i * 1e-4, cos(i * 0.91) * 10, sin(i * 1.73 + 1) * 10]::real[]::vector
FROM generate_series(1, 2000) i;

-- one index per opclass
CREATE INDEX pts_l2 ON pts USING hnsw (v vector_l2_ops);
CREATE INDEX pts_ip ON pts USING hnsw (v vector_ip_ops);
CREATE INDEX pts_cos ON pts USING hnsw (v vector_cosine_ops);
CREATE INDEX pts_l1 ON pts USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 40, seed = 7);
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname LIKE 'pts\_%' ORDER BY 1;

-- the planner uses the index for ORDER BY distance LIMIT, never for plain filters
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY v <#> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY v <=> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY v <+> '[1,2,3]' LIMIT 5;
RESET enable_seqscan;
EXPLAIN (COSTS OFF) SELECT id FROM pts WHERE v = '[1,2,3]';
-- with every plan allowed, ORDER BY ... LIMIT picks the index too
EXPLAIN (COSTS OFF) SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 5;
-- but not on a table of three rows, where sorting them is cheaper
CREATE TABLE tiny (id int, v vector(2));
INSERT INTO tiny VALUES (1, '[1,1]'), (2, '[2,2]'), (3, '[3,3]');
CREATE INDEX ON tiny USING hnsw (v vector_l2_ops);
ANALYZE tiny;
EXPLAIN (COSTS OFF) SELECT id FROM tiny ORDER BY v <-> '[1,2]' LIMIT 2;
DROP TABLE tiny;

-- answers equal the exact ones on this small set (ef_search 100)
SET hnsw.ef_search = 100;
SELECT pg_temp.same_as_exact('pts', '<->', '[1,2,3]', 10) AS l2,
       pg_temp.same_as_exact('pts', '<#>', '[1,2,3]', 10) AS ip,
       pg_temp.same_as_exact('pts', '<=>', '[1,2,3]', 10) AS cosine,
       pg_temp.same_as_exact('pts', '<+>', '[1,2,3]', 10) AS l1;
SELECT count(*) FILTER (WHERE pg_temp.same_as_exact('pts', '<->', v::text, 10)) AS l2_same_of_50
FROM pts WHERE id % 40 = 0;
RESET hnsw.ef_search;

-- distances returned through the index are the operator's
SET enable_seqscan = off;
SELECT id, round((v <-> '[0,0,0]')::numeric, 4) AS dist FROM pts ORDER BY v <-> '[0,0,0]' LIMIT 3;
RESET enable_seqscan;

-- option bounds (22023) and the cross-option rule
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (m = 1);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (m = 101);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (ef_construction = 3);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (ef_construction = 1001);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (m = 40, ef_construction = 64);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (ef_search = 0);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (ef_search = 1001);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (seed = -1);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops) WITH (nosuch = 1);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (id);
\echo :SQLSTATE
CREATE INDEX ON pts USING hnsw (v vector_l2_ops, v vector_l2_ops);
\echo :SQLSTATE

-- GUC bounds
\set VERBOSITY terse
SET hnsw.ef_search = 0;
\echo :SQLSTATE
SET hnsw.ef_search = 1001;
\echo :SQLSTATE
\set VERBOSITY default
SET hnsw.iterative_scan = sideways;
\echo :SQLSTATE
SET hnsw.max_scan_tuples = 0;
\echo :SQLSTATE
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW vecsearch.exact_scan;

-- a scan returns at most ef_search rows without iterative scans; the index's
-- ef_search option is the default and the GUC, once set, wins
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100) s;
ALTER INDEX pts_l2 SET (ef_search = 5);
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100) s;
SET hnsw.ef_search = 7;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100) s;
RESET hnsw.ef_search;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100) s;
ALTER INDEX pts_l2 RESET (ef_search);

-- iterative scans: a selective filter still gets its 10 rows
SET hnsw.ef_search = 10;
SELECT count(*) FROM (SELECT id FROM pts WHERE id % 25 = 0 ORDER BY v <-> '[1,2,3]' LIMIT 10) s;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) FROM (SELECT id FROM pts WHERE id % 25 = 0 ORDER BY v <-> '[1,2,3]' LIMIT 10) s;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS n, bool_and(ordered) AS ordered FROM (
  SELECT d >= lag(d, 1, 0) OVER (ORDER BY rn) AS ordered FROM (
    SELECT row_number() OVER () AS rn, v <-> '[1,2,3]' AS d
    FROM (SELECT v FROM pts WHERE id % 25 = 0 ORDER BY v <-> '[1,2,3]' LIMIT 10) s) s2) s3;
-- the budget stops the walk
SET hnsw.max_scan_tuples = 30;
SELECT count(*) < 10 AS stopped_early FROM (SELECT id FROM pts WHERE id % 100 = 0 ORDER BY v <-> '[1,2,3]' LIMIT 10) s;
RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;
RESET hnsw.ef_search;

-- exact mode: every indexed row, in exact order
SET vecsearch.exact_scan = on;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 5000) s;
SELECT pg_temp.same_as_exact('pts', '<->', '[4,-2,0.5]', 50) AS l2_exact,
       pg_temp.same_as_exact('pts', '<+>', '[4,-2,0.5]', 50) AS l1_exact;
RESET vecsearch.exact_scan;
RESET enable_seqscan;

-- idx_scan statistics count index scans
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT pg_stat_get_xact_numscans('pts_l2'::regclass) AS before \gset
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 3) s;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[3,2,1]' LIMIT 3) s;
SELECT pg_stat_get_xact_numscans('pts_l2'::regclass) - :before AS idx_scans;
COMMIT;

-- query dimension mismatch (22000)
SET enable_seqscan = off;
SELECT id FROM pts ORDER BY v <-> '[1,2]' LIMIT 1;
\echo :SQLSTATE
RESET enable_seqscan;

-- inserts after the build, deletes and VACUUM; the checker stays clean
INSERT INTO pts
SELECT i, ARRAY[sin(i * 0.37) * 10 + i * 1e-4, cos(i * 0.91) * 10, sin(i * 1.73 + 1) * 10]::real[]::vector
FROM generate_series(2001, 3000) i;
SELECT * FROM vecsearch_index_check('pts_l2');
SELECT * FROM vecsearch_index_check('pts_cos');
SET hnsw.ef_search = 100;
SELECT count(*) FILTER (WHERE pg_temp.same_as_exact('pts', '<->', v::text, 10)) AS l2_same_of_75
FROM pts WHERE id % 40 = 0;
DELETE FROM pts WHERE id % 3 = 0;
VACUUM pts;
SELECT * FROM vecsearch_index_check('pts_l2');
SELECT * FROM vecsearch_index_check('pts_l1');
SELECT count(*) FILTER (WHERE pg_temp.same_as_exact('pts', '<->', v::text, 10)) AS l2_same_of_50
FROM pts WHERE id % 40 = 0;
SET enable_seqscan = off;
SELECT count(*) AS deleted_returned FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100) s WHERE id % 3 = 0;
RESET enable_seqscan;
RESET hnsw.ef_search;
-- reinsert into the vacuumed index: level-0 elements reuse the freed slots
-- (without reuse 500 rows would add about 10 pages)
SELECT pg_relation_size('pts_l2') AS size_before \gset
INSERT INTO pts
SELECT i + 10000, ARRAY[i, -i, i * 0.5]::real[]::vector FROM generate_series(1, 500) i;
SELECT pg_relation_size('pts_l2') - :size_before < 4 * 8192 AS freed_slots_reused;
SELECT * FROM vecsearch_index_check('pts_l2');
SET vecsearch.exact_scan = on;
SET enable_seqscan = off;
SELECT count(*) AS indexed_rows FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 100000) s;
RESET enable_seqscan;
RESET vecsearch.exact_scan;
SELECT count(*) AS table_rows FROM pts;
SET enable_seqscan = off;
SELECT id FROM pts ORDER BY v <-> '[25,-25,12.5]' LIMIT 1;
RESET enable_seqscan;

-- NULLs are not indexed; cosine skips zero vectors
CREATE TABLE nul (id int, v vector(2));
INSERT INTO nul VALUES (1, '[1,0]'), (2, NULL), (3, '[0,0]'), (4, '[0,1]'), (5, '[1,1]');
CREATE INDEX nul_l2 ON nul USING hnsw (v vector_l2_ops);
CREATE INDEX nul_cos ON nul USING hnsw (v vector_cosine_ops);
INSERT INTO nul VALUES (6, NULL), (7, '[0,0]'), (8, '[2,1]');
SET enable_seqscan = off;
SELECT array_agg(id ORDER BY id) AS l2 FROM (SELECT id FROM nul ORDER BY v <-> '[1,0]' LIMIT 10) s;
SELECT array_agg(id) AS cosine FROM (SELECT id FROM nul ORDER BY v <=> '[1,0]' LIMIT 10) s;
SELECT array_agg(id) AS l2_order FROM (SELECT id FROM nul ORDER BY v <-> '[0.9,0.2]' LIMIT 2) s;
RESET enable_seqscan;

-- the dimensions of an index come from its column's type (as in pgvector): a column
-- without them is refused (22023) even on an empty table, an index of a cast is not
CREATE TABLE emp (id int, v vector);
CREATE INDEX emp_l2 ON emp USING hnsw (v vector_l2_ops);
\echo :SQLSTATE
CREATE INDEX emp_l2 ON emp USING hnsw ((v::vector(4)) vector_l2_ops);
SELECT * FROM vecsearch_index_check('emp_l2');
INSERT INTO emp VALUES (1, '[1,2,3,4]'), (2, '[2,3,4,5]');
INSERT INTO emp VALUES (3, '[1,2,3]');
\echo :SQLSTATE
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM emp ORDER BY v::vector(4) <-> '[2,3,4,5.5]' LIMIT 1;
SELECT id FROM emp ORDER BY v::vector(4) <-> '[2,3,4,5.5]' LIMIT 1;
RESET enable_seqscan;
-- rows of other dimensions than the cast's are not indexed (22000)
CREATE TABLE mixed (id int, v vector);
INSERT INTO mixed VALUES (1, '[1,2]'), (2, '[1,2,3]');
CREATE INDEX ON mixed USING hnsw ((v::vector(2)) vector_l2_ops);
\echo :SQLSTATE

-- UNLOGGED and TRUNCATE
CREATE UNLOGGED TABLE unl (id int, v vector(3));
CREATE INDEX unl_l2 ON unl USING hnsw (v vector_l2_ops);
INSERT INTO unl SELECT i, ARRAY[i, i * 2, i * 3]::real[]::vector FROM generate_series(1, 100) i;
SET enable_seqscan = off;
SELECT id FROM unl ORDER BY v <-> '[10,20,30.5]' LIMIT 2;
TRUNCATE unl;
SELECT count(*) FROM (SELECT id FROM unl ORDER BY v <-> '[10,20,30.5]' LIMIT 2) s;
INSERT INTO unl VALUES (1, '[5,5,5]');
SELECT id FROM unl ORDER BY v <-> '[10,20,30.5]' LIMIT 2;
TRUNCATE pts;
SELECT count(*) FROM (SELECT id FROM pts ORDER BY v <-> '[1,2,3]' LIMIT 5) s;
SELECT * FROM vecsearch_index_check('pts_l2');
RESET enable_seqscan;

-- vectors larger than a page: 3,072 and 16,000 dimensions (elements span pages)
CREATE TABLE big (id int, v vector(3072));
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[3072])::vector FROM generate_series(1, 40) i;
CREATE INDEX big_l2 ON big USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[3072])::vector FROM generate_series(41, 60) i;
SELECT * FROM vecsearch_index_check('big_l2');
SET enable_seqscan = off;
SELECT id FROM big ORDER BY v <-> array_fill(33.2::real, ARRAY[3072])::vector LIMIT 3;
SELECT id FROM big ORDER BY v <-> array_fill(52.9::real, ARRAY[3072])::vector LIMIT 3;
RESET enable_seqscan;
CREATE TABLE huge (id int, v vector(16000));
ALTER TABLE huge ALTER COLUMN v SET STORAGE EXTERNAL;
CREATE INDEX huge_ip ON huge USING hnsw (v vector_ip_ops) WITH (m = 2, ef_construction = 4);
INSERT INTO huge SELECT i, array_fill((i * 0.5)::real, ARRAY[16000])::vector FROM generate_series(1, 12) i;
SELECT * FROM vecsearch_index_check('huge_ip');
SET enable_seqscan = off;
SELECT id FROM huge ORDER BY v <#> array_fill(1::real, ARRAY[16000])::vector LIMIT 2;
RESET enable_seqscan;

-- partitioned table: the index on the parent cascades
CREATE TABLE parted (id int, v vector(2)) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (100) TO (200);
INSERT INTO parted SELECT i, ARRAY[i, 200 - i]::real[]::vector FROM generate_series(0, 199) i;
CREATE INDEX parted_l2 ON parted USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT id FROM parted ORDER BY v <-> '[150,50]' LIMIT 2;
RESET enable_seqscan;

-- REINDEX and CREATE INDEX CONCURRENTLY
REINDEX INDEX nul_l2;
CREATE INDEX CONCURRENTLY nul_l1 ON nul USING hnsw (v vector_l1_ops);
SELECT * FROM vecsearch_index_check('nul_l1');
REINDEX INDEX CONCURRENTLY nul_l1;
SELECT * FROM vecsearch_index_check('nul_l1');
SET enable_seqscan = off;
SELECT array_agg(id) AS l1_after_reindex FROM (SELECT id FROM nul ORDER BY v <+> '[2,0.9]' LIMIT 2) s;
RESET enable_seqscan;

-- impossible stored vectors (sql/rawvec.psql: 0 dimensions, NaN), as builds whose
-- vector_avg did not check its input could store, never reach the graph: a build and an
-- insert refuse the row (22000, the row named in the context), a scan refuses the query
\i :abs_srcdir/sql/rawvec.psql
-- pg_temp.rawdims(table, n): declare the table's column v vector(n) (n = -1: vector) by
-- editing the catalog, without checking or coercing the stored values, so that an index
-- can be built over impossible values (an hnsw index needs a column with dimensions)
CREATE PROCEDURE pg_temp.rawdims(tbl regclass, n int)
LANGUAGE sql AS $$
	UPDATE pg_catalog.pg_attribute SET atttypmod = n WHERE attrelid = tbl AND attname = 'v'
$$;
-- (pg_temp.rawdims declares the column vector(2) for each index build, as a column
-- holding such values would be, and undeclares it for the inserts of impossible values)
CREATE TABLE raw (id int, v vector);
INSERT INTO raw VALUES (1, '[1,2]'), (2, pg_temp.rawvec(0)), (3, '[3,4]');
CALL pg_temp.rawdims('raw', 2);
CREATE INDEX raw_l2 ON raw USING hnsw (v vector_l2_ops);
DELETE FROM raw WHERE id = 2;
CALL pg_temp.rawdims('raw', -1);
INSERT INTO raw VALUES (4, pg_temp.rawvec(0, array_fill(1, ARRAY[65536])));
CALL pg_temp.rawdims('raw', 2);
CREATE INDEX ON raw USING hnsw (v vector_l2_ops);
\echo :SQLSTATE
DELETE FROM raw WHERE id = 4;
CALL pg_temp.rawdims('raw', -1);
INSERT INTO raw VALUES (5, pg_temp.rawvec(2, '{NaN,0}'));
CALL pg_temp.rawdims('raw', 2);
CREATE INDEX ON raw USING hnsw (v vector_l2_ops);
\echo :SQLSTATE
CREATE INDEX raw_l1 ON raw USING hnsw (v vector_l1_ops);
DELETE FROM raw WHERE id = 5;
-- a table of 0-dimension rows only
CREATE TABLE raw0 (v vector);
INSERT INTO raw0 SELECT pg_temp.rawvec(0) FROM generate_series(1, 3);
CALL pg_temp.rawdims('raw0', 2);
CREATE INDEX ON raw0 USING hnsw (v vector_l2_ops);
\echo :SQLSTATE
-- inserts: into an empty index (it must not take 0 as its dimensions), then a full one
CREATE TABLE rawins (id int, v vector);
CALL pg_temp.rawdims('rawins', 2);
CREATE INDEX rawins_l2 ON rawins USING hnsw (v vector_l2_ops);
CALL pg_temp.rawdims('rawins', -1);
INSERT INTO rawins VALUES (1, pg_temp.rawvec(0));
INSERT INTO rawins VALUES (2, pg_temp.rawvec(2, '{1,Infinity}'));
\echo :SQLSTATE
INSERT INTO rawins VALUES (3, pg_temp.rawvec(16001, array_fill(1, ARRAY[16001])));
\echo :SQLSTATE
INSERT INTO rawins SELECT i, ARRAY[i, -i]::vector FROM generate_series(1, 20) i;
INSERT INTO rawins VALUES (4, pg_temp.rawvec(0));
\echo :SQLSTATE
INSERT INTO rawins VALUES (5, pg_temp.rawvec(2, '{NaN,NaN}'));
\echo :SQLSTATE
SELECT * FROM vecsearch_index_check('rawins_l2');
CREATE TABLE rawempty (v vector);
CALL pg_temp.rawdims('rawempty', 2);
CREATE INDEX rawempty_l2 ON rawempty USING hnsw (v vector_l2_ops);
CALL pg_temp.rawdims('rawempty', -1);
SET enable_seqscan = off;
SELECT array_agg(id) AS nearest FROM (SELECT id FROM rawins ORDER BY v <-> '[3,-3]' LIMIT 3) s;
-- scans: a 0-dimension or NaN query, also on an empty index
EXPLAIN (COSTS OFF) SELECT v FROM rawempty ORDER BY v <-> pg_temp.rawvec(2, '{1,NaN}') LIMIT 3;
SELECT id FROM rawins ORDER BY v <-> pg_temp.rawvec(0) LIMIT 3;
\echo :SQLSTATE
SELECT id FROM rawins ORDER BY v <-> pg_temp.rawvec(2, '{NaN,1}') LIMIT 3;
\echo :SQLSTATE
SELECT v FROM rawempty ORDER BY v <-> pg_temp.rawvec(0) LIMIT 3;
\echo :SQLSTATE
SELECT v FROM rawempty ORDER BY v <-> pg_temp.rawvec(2, '{1,NaN}') LIMIT 3;
\echo :SQLSTATE
RESET enable_seqscan;
DROP TABLE raw, raw0, rawins, rawempty;
\i :abs_srcdir/sql/rawvec_end.psql

-- the checker refuses other relations (42809)
\set VERBOSITY terse
SELECT * FROM vecsearch_index_check('nul');
\echo :SQLSTATE
SELECT * FROM vecsearch_index_check('pts_pkey');
\echo :SQLSTATE
\set VERBOSITY default

-- amvalidate over every hnsw opclass
SELECT opcname, amvalidate(c.oid)
FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE a.amname = 'hnsw' ORDER BY 1;
-- and a broken opclass is reported
CREATE FUNCTION bad_dist(vector, vector) RETURNS float4 AS 'SELECT 0::float4' LANGUAGE sql;
CREATE OPERATOR CLASS bad_ops FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 bad_dist(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'bad_ops';
DROP OPERATOR CLASS bad_ops USING hnsw;
DROP OPERATOR FAMILY bad_ops USING hnsw;
DROP FUNCTION bad_dist(vector, vector);

-- codes: what the walk measures (format 2; auto, the default, is none below 256
-- dimensions); frozen at build, answers re-ranked exactly
CREATE TABLE cod (id int, v vector(5));
INSERT INTO cod SELECT i, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7) * 2.5, i % 7 * 0.1 + 0.05, cos(i * 0.11)]::real[]::vector
	FROM generate_series(1, 500) i;
CREATE INDEX ON cod USING hnsw (v vector_l2_ops) WITH (codes = pq);
\echo :SQLSTATE
CREATE INDEX ON cod USING hnsw (v vector_l2_ops) WITH (codes = '');
\echo :SQLSTATE
CREATE INDEX cod_auto ON cod USING hnsw (v vector_l2_ops);
CREATE INDEX cod_none ON cod USING hnsw (v vector_cosine_ops) WITH (codes = none);
SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname IN ('cod_auto', 'cod_none') ORDER BY 1;
SET enable_seqscan = off;
-- the nearest 8 by each index, with their distances, equal the exact answer
SELECT array_agg(id) AS auto_ids FROM (SELECT id FROM cod ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5]' LIMIT 8) s;
SELECT array_agg(id) AS none_ids FROM (SELECT id FROM cod ORDER BY v <=> '[0.5,0.5,0.5,0.5,0.5]' LIMIT 8) s;
RESET enable_seqscan;
SELECT array_agg(id) AS exact_l2 FROM (SELECT id FROM cod ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5]', id LIMIT 8) s;
SELECT array_agg(id) AS exact_cos FROM (SELECT id FROM cod ORDER BY v <=> '[0.5,0.5,0.5,0.5,0.5]', id LIMIT 8) s;
SELECT * FROM vecsearch_index_check('cod_auto');
SELECT * FROM vecsearch_index_check('cod_none');
DROP TABLE cod;

DROP TABLE pts, nul, emp, mixed, unl, big, huge, parted;
RESET search_path;
DROP SCHEMA hnsw_test;

-- pgvector's hnsw.* settings are all accepted: hnsw.scan_mem_multiplier (1..1000,
-- default 1) bounds the candidate lists of an iterative scan at that multiple of work_mem
SHOW hnsw.scan_mem_multiplier;
SET hnsw.scan_mem_multiplier = 2;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.scan_mem_multiplier = 1000;
SHOW hnsw.scan_mem_multiplier;
SET hnsw.scan_mem_multiplier = 0.5;
\echo :SQLSTATE
SET hnsw.scan_mem_multiplier = 1001;
\echo :SQLSTATE
SET hnsw.scan_mem_multiplier = 'lots';
\echo :SQLSTATE
RESET hnsw.scan_mem_multiplier;
-- ivfflat.* settings (no ivfflat here) stay placeholders: SET works, nothing reads them
SET ivfflat.probes = 10;
SHOW ivfflat.probes;
RESET ivfflat.probes;
-- an iterative scan asked for every row of 20,000: at work_mem 64kB its candidate lists
-- outgrow 1 x work_mem and it returns only what it has evaluated; at 10 x it gets all
SELECT setseed(0.25);
CREATE TABLE memscan (id int, v vector(16));
INSERT INTO memscan SELECT i, (SELECT array_agg(random()) FROM generate_series(1, 16) WHERE i > 0)::real[]
FROM generate_series(1, 20000) i;
CREATE INDEX memscan_l2 ON memscan USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 1000000;
SET work_mem = '64kB';
SELECT count(*) BETWEEN 1000 AND 19000 AS bounded
FROM (SELECT id FROM memscan ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20000) s;
SET hnsw.scan_mem_multiplier = 10;
SELECT count(*) AS every_row
FROM (SELECT id FROM memscan ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20000) s;
-- strict order: the same bound, rows still in order of distance
SET hnsw.iterative_scan = strict_order;
RESET hnsw.scan_mem_multiplier;
SELECT count(*) BETWEEN 1000 AND 19000 AS bounded, bool_and(d >= prev) AS ordered
FROM (SELECT d, lag(d, 1, 0::float8) OVER (ORDER BY n) AS prev
	FROM (SELECT row_number() OVER () AS n, v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d
		FROM (SELECT v FROM memscan ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 20000) s) t) u;
RESET work_mem;
RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;
RESET enable_seqscan;
DROP TABLE memscan;

-- an index on a domain over vector(n) takes the domain's dimensions
CREATE DOMAIN hnsw_dom3 AS vector(3);
CREATE TABLE domv (id int, v hnsw_dom3);
INSERT INTO domv VALUES (1, '[1,1,1]'), (2, '[2,2,2]');
CREATE INDEX domv_l2 ON domv USING hnsw (v vector_l2_ops);
INSERT INTO domv VALUES (3, '[3,3]');
\echo :SQLSTATE
DROP TABLE domv;
DROP DOMAIN hnsw_dom3;
-- and an expression without dimensions is refused like a column without them
CREATE TABLE exprv (id int, v vector(3));
CREATE INDEX ON exprv USING hnsw ((v + v) vector_l2_ops);
\echo :SQLSTATE
CREATE INDEX ON exprv USING hnsw (((v + v)::vector(3)) vector_l2_ops);
DROP TABLE exprv;
