-- The batched exact-KNN engine: vecsearch_knn() against ORDER BY <op> for every metric,
-- ties, NULLs, threads, privileges, and every error.

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- 40 small integer vectors with many exact ties, two NULLs, a zero vector.
CREATE TABLE items (id int, v vector(3));
INSERT INTO items
	SELECT i, ARRAY[(i * 7) % 5, (i * 3) % 4, i % 3]::real[]::vector
	FROM generate_series(1, 40) i;
INSERT INTO items VALUES (41, NULL), (42, NULL), (43, '[0,0,0]');
CREATE TABLE queries (qid int, v vector(3));
INSERT INTO queries VALUES (1, '[1,1,1]'), (2, '[0,0,0]'), (3, '[4,3,2]'), (4, '[-1,2,0.5]');

-- The first query's answer in full (ties ordered by TID).
SELECT query, rank, row_tid, distance, i.v
FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 6) k
JOIN items i ON i.ctid = k.row_tid
ORDER BY query, rank;

-- knn_vs_sql(metric, op, k): rows of vecsearch_knn that differ from the plain-SQL
-- answer ranked by (distance, ctid), and the number of rows compared.
CREATE FUNCTION pg_temp.knn_vs_sql(metric text, op text, k int,
	OUT compared bigint, OUT mismatches bigint) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($f$
		WITH knn AS (
			SELECT * FROM vecsearch_knn('items', 'v',
				(SELECT array_agg(v ORDER BY qid) FROM queries), %3$s, %1$L)),
		sql AS (
			SELECT * FROM (
				SELECT q.qid AS query,
					row_number() OVER (PARTITION BY q.qid ORDER BY i.v %2$s q.v, i.ctid)::int AS rank,
					i.ctid AS row_tid, i.v %2$s q.v AS distance
				FROM queries q, items i WHERE i.v IS NOT NULL) s
			WHERE rank <= %3$s)
		SELECT count(*),
			count(*) FILTER (WHERE knn.row_tid IS DISTINCT FROM sql.row_tid
				OR knn.distance IS DISTINCT FROM sql.distance)
		FROM knn FULL JOIN sql USING (query, rank)$f$, metric, op, k)
	INTO compared, mismatches;
END
$$;

SELECT m, k, (pg_temp.knn_vs_sql(m, op, k)).*
FROM (VALUES ('l2', '<->'), ('ip', '<#>'), ('cosine', '<=>'), ('l1', '<+>')) AS ms(m, op),
	(VALUES (1), (5), (41), (100)) AS ks(k)
ORDER BY m, k;

-- the defaults are k = 10 and l2
SELECT count(*), max(rank), bool_and(distance = l2_distance(i.v, '[1,1,1]'))
FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[]) k
JOIN items i ON i.ctid = k.row_tid;

-- cosine: a zero vector's distance is NaN, which sorts last (as in ORDER BY)
SELECT query, rank, row_tid, distance
FROM vecsearch_knn('items', 'v', ARRAY['[0,0,0]', '[1,0,0]']::vector[], 43, 'cosine')
WHERE rank <= 2 OR rank >= 40
ORDER BY query, rank;

-- a larger table with non-integer values: several blocks and tiles, one and two threads
CREATE TABLE big (id int, v vector(20));
INSERT INTO big
	SELECT i, (SELECT array_agg(sin(i * 0.37 + j * 1.91) * 10 + cos(i * j * 0.013))::real[]
			   FROM generate_series(1, 20) j)::vector
	FROM generate_series(1, 3000) i;
CREATE TABLE bigq AS SELECT id AS qid, v FROM big WHERE id % 75 = 0;
UPDATE bigq SET v = v + '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]';
CREATE FUNCTION pg_temp.big_vs_sql(metric text, op text, k int,
	OUT compared bigint, OUT mismatches bigint) LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($f$
		WITH knn AS (
			SELECT * FROM vecsearch_knn('big', 'v',
				(SELECT array_agg(v ORDER BY qid) FROM bigq), %3$s, %1$L)),
		sql AS (
			SELECT * FROM (
				SELECT q.qid / 75 AS query,
					row_number() OVER (PARTITION BY q.qid ORDER BY b.v %2$s q.v, b.ctid)::int AS rank,
					b.ctid AS row_tid, b.v %2$s q.v AS distance
				FROM bigq q, big b) s
			WHERE rank <= %3$s)
		SELECT count(*),
			count(*) FILTER (WHERE knn.row_tid IS DISTINCT FROM sql.row_tid
				OR knn.distance IS DISTINCT FROM sql.distance)
		FROM knn FULL JOIN sql USING (query, rank)$f$, metric, op, k)
	INTO compared, mismatches;
END
$$;
SET vecsearch.exact_threads = 1;
SELECT m, (pg_temp.big_vs_sql(m, op, 7)).*
FROM (VALUES ('l2', '<->'), ('ip', '<#>'), ('cosine', '<=>'), ('l1', '<+>')) AS ms(m, op)
ORDER BY m;
SET vecsearch.exact_threads = 2;
SELECT m, (pg_temp.big_vs_sql(m, op, 7)).*
FROM (VALUES ('l2', '<->'), ('ip', '<#>'), ('cosine', '<=>'), ('l1', '<+>')) AS ms(m, op)
ORDER BY m;
RESET vecsearch.exact_threads;

-- rows on three shells of very different norms and 12 queries: the l2 norm window skips
-- most of the other shells' rows (queries and blocks are sorted by norm); the answer
-- must not change
CREATE TABLE shells (id int, v vector(8));
INSERT INTO shells
	SELECT i, (SELECT array_agg((sin(i * 1.7 + j * 0.9) + 1.5) * (1 + 10 * (i % 3)) + i * 0)::real[]
			   FROM generate_series(1, 8) j)::vector
	FROM generate_series(1, 2500) i;
CREATE TABLE shellq AS SELECT id AS qid, v FROM shells WHERE id % 200 = 1;
SELECT count(*) FROM shellq;
-- one run of vecsearch_knn per thread count (a SET between two statements: within one
-- statement a function scan that does not depend on the setting would be reused)
CREATE TEMP TABLE shell_knn (th int, k int, query int, rank int, row_tid tid, distance float8);
SET vecsearch.exact_threads = 1;
INSERT INTO shell_knn SELECT 1, k, knn.* FROM (VALUES (3), (40)) ks(k),
	LATERAL vecsearch_knn('shells', 'v', (SELECT array_agg(v ORDER BY qid) FROM shellq), k) knn;
SET vecsearch.exact_threads = 2;
INSERT INTO shell_knn SELECT 2, k, knn.* FROM (VALUES (3), (40)) ks(k),
	LATERAL vecsearch_knn('shells', 'v', (SELECT array_agg(v ORDER BY qid) FROM shellq), k) knn;
RESET vecsearch.exact_threads;
SELECT th, k, count(*) AS compared,
	count(*) FILTER (WHERE knn.row_tid IS DISTINCT FROM sql.row_tid
		OR knn.distance IS DISTINCT FROM sql.distance) AS mismatches
FROM (VALUES (1), (2)) ts(th), (VALUES (3), (40)) ks(k),
	LATERAL (SELECT query, rank, row_tid, distance FROM shell_knn
			 WHERE shell_knn.th = ts.th AND shell_knn.k = ks.k) knn
	FULL JOIN LATERAL (
		SELECT * FROM (
			SELECT (q.qid + 199) / 200 AS query,
				row_number() OVER (PARTITION BY q.qid ORDER BY s.v <-> q.v, s.ctid)::int AS rank,
				s.ctid AS row_tid, s.v <-> q.v AS distance
			FROM shellq q, shells s) x
		WHERE rank <= k) sql USING (query, rank)
GROUP BY th, k ORDER BY th, k;

-- fewer rows than k, an empty table, a materialized view, a table with a domain column
SELECT count(*) FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 1000);
CREATE TABLE empty (v vector(3));
SELECT count(*) FROM vecsearch_knn('empty', 'v', ARRAY['[1,1,1]']::vector[], 5);
CREATE MATERIALIZED VIEW items_mv AS SELECT * FROM items WHERE id <= 10;
SELECT rank, row_tid, distance FROM vecsearch_knn('items_mv', 'v', ARRAY['[1,1,1]']::vector[], 3);
CREATE DOMAIN vec3 AS vector(3);
CREATE TABLE dom (v vec3);
INSERT INTO dom VALUES ('[1,2,3]'), ('[0,0,0]');
SELECT rank, row_tid, distance FROM vecsearch_knn('dom', 'v', ARRAY['[1,2,3]']::vector[], 3);
-- queries of the domain type, and the domain column's own values as queries
SELECT query, rank, row_tid, distance FROM vecsearch_knn('dom', 'v', ARRAY['[1,2,3]'::vec3], 3);
SELECT query, rank, row_tid, distance FROM vecsearch_knn('dom', 'v', (SELECT array_agg(v ORDER BY ctid) FROM dom), 1);

-- what SELECT would do, or a clear error: a materialized view never refreshed raises
-- SELECT's error (55000) instead of returning nothing
CREATE MATERIALIZED VIEW items_mv_unpopulated AS SELECT * FROM items WITH NO DATA;
SELECT * FROM items_mv_unpopulated;
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items_mv_unpopulated', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items_mv_unpopulated', 'v', ARRAY['[1,1,1]']::vector[]);
REFRESH MATERIALIZED VIEW items_mv_unpopulated;
SELECT count(*) FROM vecsearch_knn('items_mv_unpopulated', 'v', ARRAY['[1,1,1]']::vector[], 100);
-- an inheritance parent: SELECT reads its children too (50 of its 51 rows), but a
-- row_tid names a row only within one table, so the call is refused; a child table is
-- a table of its own
CREATE TABLE inh_parent (id int, v vector(3));
CREATE TABLE inh_child1 () INHERITS (inh_parent);
CREATE TABLE inh_child2 () INHERITS (inh_parent);
INSERT INTO inh_parent VALUES (0, '[0,0,0]');
INSERT INTO inh_child1 SELECT i, ARRAY[i, 0, 0]::real[]::vector FROM generate_series(1, 25) i;
INSERT INTO inh_child2 SELECT i, ARRAY[0, i, 0]::real[]::vector FROM generate_series(26, 50) i;
SELECT count(*) FROM inh_parent;
SELECT * FROM vecsearch_knn('inh_parent', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('inh_parent', 'v', ARRAY['[1,1,1]']::vector[]);
SELECT count(*) FROM vecsearch_knn('inh_child1', 'v', ARRAY['[1,1,1]']::vector[], 100);
-- a parent whose children are gone is a plain table again
DROP TABLE inh_child1, inh_child2;
SELECT count(*) FROM vecsearch_knn('inh_parent', 'v', ARRAY['[1,1,1]']::vector[], 100);
-- a partitioned table: its rows are in its partitions
CREATE TABLE knn_parted (id int, v vector(3)) PARTITION BY RANGE (id);
CREATE TABLE knn_parted_1 PARTITION OF knn_parted FOR VALUES FROM (0) TO (100);
INSERT INTO knn_parted VALUES (1, '[1,1,1]');
SELECT * FROM vecsearch_knn('knn_parted', 'v', ARRAY['[1,1,1]']::vector[]);
SELECT count(*) FROM vecsearch_knn('knn_parted_1', 'v', ARRAY['[1,1,1]']::vector[]);
DROP TABLE knn_parted;

-- Memory follows the rows read, not k.  A table of 20,000 rows after a DELETE of all
-- but 20 (no vacuum: its 100-odd pages stay), 10,000 queries and k = 10,000: the
-- answers were sized 10,000 x 10,000 x 16 bytes = 1.6 GB, twice for l2 from 256 queries
-- (a copy in norm order); now they grow with the rows read (20 per query), and the
-- norm-ordered run is put back in the queries' order in place.
CREATE TABLE sparse (id int, v vector(3)) WITH (autovacuum_enabled = off);
INSERT INTO sparse SELECT i, ARRAY[i % 11, i % 7, i % 5]::real[]::vector FROM generate_series(1, 20000) i;
DELETE FROM sparse WHERE id > 20;
\i :abs_srcdir/sql/vm_peak.psql
SELECT pg_temp.vm_peak_kb() AS peak_before \gset
SELECT count(*), count(DISTINCT query), max(rank)
FROM vecsearch_knn('sparse', 'v', array_fill('[1,1,1]'::vector, ARRAY[10000]), 10000);
SELECT pg_temp.vm_peak_kb() - :peak_before < 256 * 1024 AS peak_under_256mb;
-- 300 different l2 queries in no norm order (the norm-ordered path), k below and above
-- the 20 rows, against the SQL answer
SELECT k, count(*) AS compared,
	count(*) FILTER (WHERE knn.row_tid IS DISTINCT FROM sql.row_tid
		OR knn.distance IS DISTINCT FROM sql.distance) AS mismatches
FROM (VALUES (7), (25)) ks(k),
	LATERAL (SELECT * FROM vecsearch_knn('sparse', 'v',
		ARRAY(SELECT ARRAY[(q * 37) % 13, (q * 11) % 9, q % 4]::real[]::vector
			  FROM generate_series(1, 300) q ORDER BY q), k)) knn
	FULL JOIN LATERAL (
		SELECT * FROM (
			SELECT q.n AS query,
				row_number() OVER (PARTITION BY q.n ORDER BY s.v <-> q.v, s.ctid)::int AS rank,
				s.ctid AS row_tid, s.v <-> q.v AS distance
			FROM (SELECT q AS n, ARRAY[(q * 37) % 13, (q * 11) % 9, q % 4]::real[]::vector AS v
				  FROM generate_series(1, 300) q) q, sparse s) x
		WHERE rank <= k) sql USING (query, rank)
GROUP BY k ORDER BY k;
-- the refusal comes up front, from the most rows the table's pages can hold
SELECT * FROM vecsearch_knn('sparse', 'v', array_fill('[1,1,1]'::vector, ARRAY[10001]), 10000);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('sparse', 'v', array_fill('[1,1,1]'::vector, ARRAY[10001]), 10000);
-- quoted identifiers and a column without typmod holding mixed dimensions
CREATE TABLE "Mixed Case" ("My Vec" vector);
INSERT INTO "Mixed Case" VALUES ('[1,2]'), ('[3,4]');
SELECT rank, row_tid, distance FROM vecsearch_knn('"Mixed Case"', 'My Vec', ARRAY['[3,3]']::vector[], 2);
INSERT INTO "Mixed Case" VALUES ('[1,2,3]');

-- vectors too large for a page are stored out of line (TOAST) and detoasted per row
CREATE TABLE wide (id int, v vector(3000));
INSERT INTO wide SELECT i, (SELECT array_agg(sin(i * j * 0.001)) FROM generate_series(1, 3000 + i * 0) j)::real[]::vector
	FROM generate_series(1, 12) i;
SELECT pg_column_size(v) > 8000 AS out_of_line FROM wide LIMIT 1;
SELECT count(*) AS compared,
	count(*) FILTER (WHERE knn.row_tid IS DISTINCT FROM sql.row_tid
		OR knn.distance IS DISTINCT FROM sql.distance) AS mismatches
FROM vecsearch_knn('wide', 'v', ARRAY(SELECT v FROM wide WHERE id IN (3, 8) ORDER BY id), 5) knn
FULL JOIN (
	SELECT * FROM (
		SELECT q.n AS query,
			row_number() OVER (PARTITION BY q.n ORDER BY w.v <-> q.v, w.ctid)::int AS rank,
			w.ctid AS row_tid, w.v <-> q.v AS distance
		FROM (SELECT row_number() OVER (ORDER BY id)::int AS n, v FROM wide WHERE id IN (3, 8)) q, wide w) x
	WHERE rank <= 5) sql USING (query, rank);

-- errors
SELECT * FROM vecsearch_knn('"Mixed Case"', 'My Vec', ARRAY['[3,3]']::vector[], 5);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 5, 'hamming');
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 5, 'L2');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_knn('items', 'nope', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'id', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'ctid', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('no_such_table', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]', '[1,1]']::vector[]);
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], -3);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 10001);
\echo :SQLSTATE
\set VERBOSITY default
SELECT count(*) FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 10000);
-- k is capped by the rows read: 10,001 queries x 41 rows, not x 10,000
SELECT count(*) FROM vecsearch_knn('items', 'v', array_fill('[1,1,1]'::vector, ARRAY[10001]), 10000);
\set VERBOSITY terse
SELECT * FROM vecsearch_knn('items', 'v', NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', '{}');
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]', NULL]::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY[['[1,1,1]'], ['[1,1,1]']]::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn(NULL, 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', NULL, ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 5, NULL);
\echo :SQLSTATE
\set VERBOSITY default
CREATE VIEW items_view AS SELECT * FROM items;
SELECT * FROM vecsearch_knn('items_view', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
CREATE INDEX items_id ON items (id);
SELECT * FROM vecsearch_knn('items_id', 'id', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
CREATE TABLE parted (id int, v vector(3)) PARTITION BY RANGE (id);
SELECT * FROM vecsearch_knn('parted', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
\set VERBOSITY terse
SET vecsearch.exact_threads = 0;
\echo :SQLSTATE
SET vecsearch.exact_threads = 65;
\echo :SQLSTATE
\set VERBOSITY default
-- the ceiling on threads: 4 by default, 1..64, superusers only
SHOW vecsearch.max_exact_threads;
\set VERBOSITY terse
SET vecsearch.max_exact_threads = 0;
\echo :SQLSTATE
SET vecsearch.max_exact_threads = 65;
\echo :SQLSTATE
\set VERBOSITY default

-- privileges: the caller's, on the table or the column; no row-level security
CREATE ROLE regress_vecsearch_reader;
GRANT SELECT (id) ON items TO regress_vecsearch_reader;
GRANT SELECT ON big TO regress_vecsearch_reader;
SET ROLE regress_vecsearch_reader;
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[]);
\echo :SQLSTATE
SELECT count(*) FROM vecsearch_knn('big', 'v', ARRAY[(SELECT v FROM big WHERE id = 1)], 3);
SET vecsearch.max_exact_threads = 8;
\echo :SQLSTATE
-- asking for more is allowed: a call uses at most the ceiling (test/t/020_session_end.pl)
SET vecsearch.exact_threads = 8;
RESET vecsearch.exact_threads;
RESET ROLE;
GRANT SELECT (v) ON items TO regress_vecsearch_reader;
SET ROLE regress_vecsearch_reader;
SELECT count(*) FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 3);
RESET ROLE;
ALTER TABLE big ENABLE ROW LEVEL SECURITY;
CREATE POLICY big_some ON big FOR SELECT USING (id < 10);
SET ROLE regress_vecsearch_reader;
SELECT * FROM vecsearch_knn('big', 'v', ARRAY[(SELECT v FROM big WHERE id = 1)], 3);
\echo :SQLSTATE
RESET ROLE;
-- the owner is exempt from its own policies (without FORCE), so the scan is allowed
SELECT count(*) FROM vecsearch_knn('big', 'v', ARRAY[(SELECT v FROM big WHERE id = 1)], 3);
REVOKE ALL ON items, big FROM regress_vecsearch_reader;
DROP ROLE regress_vecsearch_reader;

-- the snapshot: rows inserted later in the same transaction are seen, deleted ones not
BEGIN;
DELETE FROM items WHERE id = 3;
INSERT INTO items VALUES (100, '[1,1,1]');
SELECT i.id, k.distance FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]']::vector[], 2) k
JOIN items i ON i.ctid = k.row_tid ORDER BY rank;
ROLLBACK;

-- impossible vectors (sql/rawvec.psql: 0 dimensions, NaN, as builds whose vector_avg did
-- not check its input could store): refused as queries and as rows (the row named)
\i :abs_srcdir/sql/rawvec.psql
SELECT * FROM vecsearch_knn('items', 'v', ARRAY[pg_temp.rawvec(0)]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]', pg_temp.rawvec(0)]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY[pg_temp.rawvec(16001, array_fill(1, ARRAY[16001]))]);
\echo :SQLSTATE
SELECT * FROM vecsearch_knn('items', 'v', ARRAY['[1,1,1]', pg_temp.rawvec(3, '{1,NaN,1}')]);
CREATE TABLE rawrows (id int, v vector);
INSERT INTO rawrows VALUES (1, '[1,1]'), (2, '[2,2]'), (3, pg_temp.rawvec(0));
SELECT * FROM vecsearch_knn('rawrows', 'v', ARRAY['[1,1]']::vector[], 3);
UPDATE rawrows SET v = pg_temp.rawvec(0, array_fill(1, ARRAY[65536])) WHERE id = 3;
SELECT * FROM vecsearch_knn('rawrows', 'v', ARRAY['[1,1]']::vector[], 3);
\echo :SQLSTATE
UPDATE rawrows SET v = pg_temp.rawvec(2, '{1,Infinity}') WHERE id = 3;
SELECT * FROM vecsearch_knn('rawrows', 'v', ARRAY['[1,1]']::vector[], 3);
\echo :SQLSTATE
DELETE FROM rawrows WHERE id = 3;
SELECT rank, row_tid, distance FROM vecsearch_knn('rawrows', 'v', ARRAY['[1,1]']::vector[], 3);
DROP TABLE rawrows;
\i :abs_srcdir/sql/rawvec_end.psql
