-- Insertion order of hnsw builds: the build_order and lid_k reloptions (buildorder.c).
-- Each order builds a healthy index with correct answers; random is reproducible from
-- the seed; the LID orders insert the highest (lowest) LID row first, as vecsearch_lid
-- ranks them; option bounds.

-- own schema: table names do not collide with other tests in the same database
CREATE SCHEMA buildorder_test;
SET search_path = buildorder_test, public;

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- answers(index, ef): the ids of the 10 nearest rows of 40 queries through the index
-- (the table has several indexes: the others are dropped first by the caller).
CREATE FUNCTION pg_temp.answers(ef int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text := '';
	a int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	EXECUTE format('SET LOCAL hnsw.ef_search = %s', ef);
	FOR i IN 1..40 LOOP
		SELECT array_agg(id) INTO a FROM (SELECT id FROM bo ORDER BY v <-> (SELECT v FROM bo_q WHERE qid = i) LIMIT 10) s;
		r := r || a::text;
	END LOOP;
	RETURN md5(r);
END
$$;

CREATE TABLE bo (id int, v vector(16));
INSERT INTO bo SELECT i, v FROM vecsearch_synthetic(3000, 16, 8, 11) WITH ORDINALITY AS s(v, i);
CREATE TABLE bo_q (qid int, v vector(16));
INSERT INTO bo_q SELECT i, v FROM vecsearch_synthetic(40, 16, 8, 12) WITH ORDINALITY AS s(v, i);

-- option surface and bounds
CREATE INDEX bad ON bo USING hnsw (v vector_l2_ops) WITH (build_order = 'shuffled');
\echo :SQLSTATE
CREATE INDEX bad ON bo USING hnsw (v vector_l2_ops) WITH (lid_k = 1);
\echo :SQLSTATE
CREATE INDEX bad ON bo USING hnsw (v vector_l2_ops) WITH (lid_k = 1001);
\echo :SQLSTATE
CREATE INDEX bad ON bo USING hnsw (v vector_l2_ops) WITH (seed = -1);
\echo :SQLSTATE

-- every order: a healthy graph and recall@10 against the exact scan above a floor
CREATE INDEX bo_heap ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64);
CREATE INDEX bo_random ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64, build_order = random, seed = 7);
CREATE INDEX bo_lid_desc ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64, build_order = lid_desc);
CREATE INDEX bo_lid_asc ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64, build_order = lid_asc, lid_k = 20);
SELECT c.relname, c.reloptions,
	(SELECT count(*) FROM vecsearch_index_check(c.oid)) AS problems,
	(SELECT min(recall) >= 0.95 FROM vecsearch_recall(c.oid, k => 10, queries => 200, ef_search => '{100}',
		query_tbl => 'bo_q', query_col => 'v')) AS recall_ok
FROM pg_class c WHERE c.relname LIKE 'bo\_%' AND c.relkind = 'i' ORDER BY c.relname;

-- random is reproducible: the same seed gives the same graph (same answers at a small
-- ef_search), another seed another graph
DROP INDEX bo_heap, bo_lid_desc, bo_lid_asc;
SELECT pg_temp.answers(10) AS random_seed7 \gset
DROP INDEX bo_random;
CREATE INDEX bo_random ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64, build_order = random, seed = 7);
SELECT pg_temp.answers(10) = :'random_seed7' AS same_seed_same_answers;
DROP INDEX bo_random;
CREATE INDEX bo_random ON bo USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 64, build_order = random, seed = 8);
SELECT pg_temp.answers(10) = :'random_seed7' AS other_seed_same_answers;
DROP INDEX bo_random;

-- the LID orders: the first row inserted is the one vecsearch_lid ranks highest
-- (lid_desc) or lowest (lid_asc) with the same k, the last the other way round; the
-- DEBUG1 line of the build names them (250 rows: one tile pair of the exact engine,
-- whose DEBUG1 line is deterministic)
CREATE TABLE bs (id int, v vector(16));
INSERT INTO bs SELECT i, v FROM vecsearch_synthetic(250, 16, 8, 13) WITH ORDINALITY AS s(v, i);
SELECT (SELECT row_tid FROM vecsearch_lid('bs', 'v', k => 20) ORDER BY lid DESC, row_tid LIMIT 1) AS highest_lid,
	(SELECT row_tid FROM vecsearch_lid('bs', 'v', k => 20) ORDER BY lid, row_tid LIMIT 1) AS lowest_lid;
SET client_min_messages = debug1;
CREATE INDEX bs_desc ON bs USING hnsw (v vector_l2_ops) WITH (build_order = lid_desc, lid_k = 20);
CREATE INDEX bs_asc ON bs USING hnsw (v vector_l2_ops) WITH (build_order = lid_asc, lid_k = 20);
CREATE INDEX bs_random ON bs USING hnsw (v vector_l2_ops) WITH (build_order = random);
RESET client_min_messages;
SELECT c.relname, (SELECT count(*) FROM vecsearch_index_check(c.oid)) AS problems
FROM pg_class c WHERE c.relname LIKE 'bs\_%' AND c.relkind = 'i' ORDER BY c.relname;

-- cosine and l1 indexes order by the LID of their own geometry and stay correct
DROP INDEX bs_desc, bs_asc, bs_random;
CREATE INDEX bs_cos ON bs USING hnsw (v vector_cosine_ops) WITH (build_order = lid_desc, lid_k = 20);
CREATE INDEX bs_l1 ON bs USING hnsw (v vector_l1_ops) WITH (build_order = lid_asc, lid_k = 20);
SELECT c.relname, (SELECT count(*) FROM vecsearch_index_check(c.oid)) AS problems,
	(SELECT min(recall) >= 0.99 FROM vecsearch_recall(c.oid, queries => 50, ef_search => '{200}')) AS recall_ok
FROM pg_class c WHERE c.relname LIKE 'bs\_%' AND c.relkind = 'i' ORDER BY c.relname;

-- tiny tables: lid_k above the row count is lowered; 1 and 2 rows keep table order;
-- duplicates (undefined LID) go last and the build still succeeds
CREATE TABLE tiny (id int, v vector(2));
INSERT INTO tiny VALUES (1, '[0,0]');
CREATE INDEX tiny_idx ON tiny USING hnsw (v vector_l2_ops) WITH (build_order = lid_desc);
INSERT INTO tiny VALUES (2, '[1,0]'), (3, '[0,2]'), (4, '[3,3]'), (5, '[3,3]'), (6, '[3,3]');
REINDEX INDEX tiny_idx;
SELECT count(*) AS problems FROM vecsearch_index_check('tiny_idx');
SET enable_seqscan = off;
SELECT id FROM tiny ORDER BY v <-> '[0.1,0]', id LIMIT 3;
RESET enable_seqscan;

-- an impossible stored vector (sql/rawvec.psql) stops the build before the LID order
-- is computed over it, the row named
\i :abs_srcdir/sql/rawvec.psql
-- pg_temp.rawdims(table, n): declare the table's column v vector(n) (n = -1: vector) by
-- editing the catalog, without checking or coercing the stored values, so that an index
-- can be built over impossible values (an hnsw index needs a column with dimensions)
CREATE PROCEDURE pg_temp.rawdims(tbl regclass, n int)
LANGUAGE sql AS $$
	UPDATE pg_catalog.pg_attribute SET atttypmod = n WHERE attrelid = tbl AND attname = 'v'
$$;
CREATE TABLE boraw (id int, v vector);
INSERT INTO boraw SELECT * FROM tiny;
INSERT INTO boraw VALUES (7, pg_temp.rawvec(2, '{NaN,1}'));
CALL pg_temp.rawdims('boraw', 2);
CREATE INDEX ON boraw USING hnsw (v vector_l2_ops) WITH (build_order = lid_desc);
CALL pg_temp.rawdims('boraw', -1);
UPDATE boraw SET v = pg_temp.rawvec(0) WHERE id = 7;
CALL pg_temp.rawdims('boraw', 2);
CREATE INDEX ON boraw USING hnsw (v vector_l2_ops) WITH (build_order = lid_asc);
\echo :SQLSTATE
DROP TABLE boraw;
\i :abs_srcdir/sql/rawvec_end.psql

DROP TABLE bo, bo_q, bs, tiny;
RESET search_path;
DROP SCHEMA buildorder_test;
