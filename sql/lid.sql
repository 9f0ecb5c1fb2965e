-- Local intrinsic dimensionality (vecsearch_lid, vecsearch_lid_of, vecsearch_lid_summary)
-- and synthetic data (vecsearch_synthetic): values against SQL, edge cases, errors.

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- 60 deterministic points in 4 dims, three exact duplicates, two NULLs.
CREATE TABLE pts (id int, v vector(4));
INSERT INTO pts
	SELECT i, ARRAY[sin(i * 1.3), cos(i * 0.7) * 2, (i % 7) * 0.25, sin(i * i * 0.01)]::real[]::vector
	FROM generate_series(1, 60) i;
INSERT INTO pts SELECT 60 + id, v FROM pts WHERE id IN (5, 6, 7);
INSERT INTO pts VALUES (64, NULL), (65, NULL);

-- lid_sql(k, op): the Amsaleg estimate computed in plain SQL from the operator's
-- distances: the k smallest positive distances to other rows, -k / sum(ln(r_i / r_k)).
CREATE FUNCTION pg_temp.lid_sql(k int, op text)
	RETURNS TABLE(row_tid tid, lid float8) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($f$
		WITH d AS (
			SELECT a.ctid AS tid, b.v %2$s a.v AS dist
			FROM pts a, pts b
			WHERE a.ctid <> b.ctid AND a.v IS NOT NULL AND b.v IS NOT NULL),
		r AS (
			SELECT tid, dist, row_number() OVER (PARTITION BY tid ORDER BY dist) AS rn
			FROM d WHERE dist > 0),
		kk AS (
			SELECT tid, array_agg(dist ORDER BY rn) AS ds FROM r WHERE rn <= %1$s GROUP BY tid)
		SELECT p.ctid, CASE WHEN cardinality(kk.ds) = %1$s THEN
			-%1$s / NULLIF((SELECT sum(ln(x / kk.ds[%1$s])) FROM unnest(kk.ds) x), 0) END
		FROM pts p LEFT JOIN kk ON kk.tid = p.ctid WHERE p.v IS NOT NULL$f$, k, op);
END
$$;

-- every row, every metric usable for LID, several k: identical to SQL up to rounding
SELECT m, k, count(*) AS rows,
	count(*) FILTER (WHERE c.lid IS NULL) AS undefined,
	count(*) FILTER (WHERE (c.lid IS NULL) <> (s.lid IS NULL)
		OR abs(c.lid - s.lid) > 1e-9 * s.lid) AS mismatches
FROM (VALUES ('l2', '<->'), ('cosine', '<=>'), ('l1', '<+>')) AS ms(m, op),
	(VALUES (2), (5), (20), (62)) AS ks(k),
	LATERAL (SELECT * FROM vecsearch_lid('pts', 'v', k, NULL, m)) c
	FULL JOIN LATERAL (SELECT * FROM pg_temp.lid_sql(k, op)) s USING (row_tid)
GROUP BY m, k ORDER BY m, k;

-- the same with one compute thread, and through a sample that covers every row
SET vecsearch.exact_threads = 1;
SELECT count(*) FILTER (WHERE abs(c.lid - s.lid) > 1e-9 * s.lid) AS mismatches, count(*)
FROM vecsearch_lid('pts', 'v', 10) c JOIN pg_temp.lid_sql(10, '<->') s USING (row_tid);
RESET vecsearch.exact_threads;
SELECT count(*) FILTER (WHERE abs(c.lid - s.lid) > 1e-9 * s.lid) AS mismatches, count(*)
FROM vecsearch_lid('pts', 'v', 10, 1000) c JOIN pg_temp.lid_sql(10, '<->') s USING (row_tid);

-- every row (one pass over pairs of row tiles, l2 rows sorted by norm, tile pairs far
-- apart in norm skipped) against a sample covering every row (one scan per query
-- block): the same LIDs, on data with shells of very different norms and duplicates
CREATE TABLE lid_shells AS
	SELECT v + array_fill(s::real, ARRAY[16])::vector AS v
	FROM (VALUES (0), (3), (-1)) ss(s), LATERAL vecsearch_synthetic(1200, 16, 6, s + 10) v;
INSERT INTO lid_shells SELECT v FROM lid_shells LIMIT 20;
SELECT m, k, count(*) AS rows, count(a.lid) AS defined,
	count(*) FILTER (WHERE a.lid IS DISTINCT FROM b.lid) AS mismatches
FROM (VALUES ('l2'), ('cosine'), ('l1')) ms(m), (VALUES (3), (50)) ks(k),
	LATERAL vecsearch_lid('lid_shells', 'v', k, NULL, m) a
	JOIN LATERAL vecsearch_lid('lid_shells', 'v', k, 100000, m) b USING (row_tid)
GROUP BY m, k ORDER BY m, k;

-- a sample: seeded, in TID order, the same values as the full run
SELECT count(*), count(DISTINCT row_tid),
	bool_and(s.lid = f.lid) AS same_values
FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7) s JOIN vecsearch_lid('pts', 'v', 10) f USING (row_tid);
SELECT (SELECT array_agg(row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7)) =
	(SELECT array_agg(row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7)) AS reproducible,
	(SELECT array_agg(row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7)) =
	(SELECT array_agg(row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 8)) AS same_for_another_seed,
	(SELECT array_agg(row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7)) =
	(SELECT array_agg(row_tid ORDER BY row_tid) FROM vecsearch_lid('pts', 'v', 10, 12, 'l2', 7)) AS tid_order;

-- vecsearch_lid_of: a row of the table gets its own LID (its zero distance is skipped)
SELECT count(*) FILTER (WHERE abs(vecsearch_lid_of('pts', 'v', p.v, 10) - l.lid) > 1e-12 * l.lid) AS mismatches,
	count(*)
FROM pts p JOIN vecsearch_lid('pts', 'v', 10) l ON l.row_tid = p.ctid;
SELECT round(vecsearch_lid_of('pts', 'v', '[0.5,0.5,0.5,0.5]', 10)::numeric, 4) AS lid_of_outside,
	round(vecsearch_lid_of('pts', 'v', '[0.5,0.5,0.5,0.5]', 10, 'cosine')::numeric, 4) AS cosine,
	round(vecsearch_lid_of('pts', 'v', '[0.5,0.5,0.5,0.5]', 10, 'l1')::numeric, 4) AS l1;

-- the summary: harmonic mean and percentile_cont over the defined values
SELECT s.rows_used = a.n AS rows_used, s.k,
	abs(s.lid_harmonic_mean - a.hm) < 1e-9 * a.hm AS hm,
	abs(s.lid_p10 - a.p10) < 1e-9 * a.p10 AS p10,
	abs(s.lid_p50 - a.p50) < 1e-9 * a.p50 AS p50,
	abs(s.lid_p90 - a.p90) < 1e-9 * a.p90 AS p90
FROM vecsearch_lid_summary('pts', 'v', 10) s,
	(SELECT count(lid) AS n, count(lid) / sum(1 / lid) AS hm,
		percentile_cont(0.1) WITHIN GROUP (ORDER BY lid) AS p10,
		percentile_cont(0.5) WITHIN GROUP (ORDER BY lid) AS p50,
		percentile_cont(0.9) WITHIN GROUP (ORDER BY lid) AS p90
	 FROM vecsearch_lid('pts', 'v', 10)) a;
SELECT rows_used, k FROM vecsearch_lid_summary('pts', 'v', 5, 20, 'l1', 3);

-- zero distances: copies of a point (rows 5, 65) skip each other; all-equal rows have
-- no positive distance and an undefined LID; equal positive distances give NULL too
CREATE TABLE same (v vector(2));
INSERT INTO same SELECT '[1,1]' FROM generate_series(1, 5);
SELECT row_tid, lid FROM vecsearch_lid('same', 'v', 2);
SELECT * FROM vecsearch_lid_summary('same', 'v', 2);
CREATE TABLE square (v vector(2));
INSERT INTO square VALUES ('[0,0]'), ('[1,0]'), ('[0,1]'), ('[1,1]');
SELECT row_tid, lid FROM vecsearch_lid('square', 'v', 2);
SELECT row_tid, round(lid::numeric, 6) AS lid FROM vecsearch_lid('square', 'v', 3);
-- by hand: distances 1, 1, sqrt(2): -3 / (2 ln(1 / sqrt(2))) = 3 / ln(2)
SELECT round((3 / ln(2))::numeric, 6) AS expected;
SELECT vecsearch_lid_of('square', 'v', '[0,0]', 2), round(vecsearch_lid_of('square', 'v', '[0,0]', 3)::numeric, 6);

-- the planner's row count is a guess, not a size: with reltuples as stale as can be
-- (1e15, as after a bulk DELETE, only more so) the loader's first buffer asked for
-- 60 PB; it now starts small and grows with the rows read
CREATE TABLE pts_stale AS SELECT * FROM pts;
UPDATE pg_class SET reltuples = 1e15 WHERE oid = 'pts_stale'::regclass;
SELECT s.rows_used, abs(s.lid_harmonic_mean - f.lid_harmonic_mean) < 1e-12 * f.lid_harmonic_mean AS same_lid
FROM vecsearch_lid_summary('pts_stale', 'v', 10) s, vecsearch_lid_summary('pts', 'v', 10) f;
SELECT count(*) FROM vecsearch_lid('pts_stale', 'v', 10, 20);
DROP TABLE pts_stale;

-- a column of a domain over vector gives the LIDs of the vector column
CREATE DOMAIN vec4 AS vector(4);
CREATE TABLE pts_dom (id int, v vec4);
INSERT INTO pts_dom SELECT id, v FROM pts ORDER BY ctid;
SELECT count(*), count(*) FILTER (WHERE a.lid IS DISTINCT FROM b.lid) AS mismatches
FROM vecsearch_lid('pts_dom', 'v', 10) a JOIN vecsearch_lid('pts', 'v', 10) b USING (row_tid);
SELECT vecsearch_lid_of('pts_dom', 'v', '[0.5,0.5,0.5,0.5]'::vec4, 10) =
	vecsearch_lid_of('pts', 'v', '[0.5,0.5,0.5,0.5]', 10) AS same_lid_of,
	(SELECT lid_harmonic_mean FROM vecsearch_lid_summary('pts_dom', 'v', 10, 30, 'l1', 4)) =
	(SELECT lid_harmonic_mean FROM vecsearch_lid_summary('pts', 'v', 10, 30, 'l1', 4)) AS same_summary;
DROP TABLE pts_dom;
DROP DOMAIN vec4;

-- what SELECT would do, or a clear error: an inheritance parent (SELECT reads its
-- child's 63 rows) and a materialized view never refreshed
CREATE TABLE pts_parent (v vector(4));
CREATE TABLE pts_child () INHERITS (pts_parent);
INSERT INTO pts_child SELECT v FROM pts;
SELECT count(v) FROM pts_parent;
SELECT * FROM vecsearch_lid_summary('pts_parent', 'v', 10);
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts_parent', 'v', '[0.5,0.5,0.5,0.5]', 10);
\echo :SQLSTATE
SELECT count(*) FROM vecsearch_lid('pts_child', 'v', 10);
DROP TABLE pts_parent CASCADE;
CREATE MATERIALIZED VIEW pts_mv AS SELECT v FROM pts WITH NO DATA;
SELECT * FROM vecsearch_lid('pts_mv', 'v', 10);
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts_mv', 'v', '[0.5,0.5,0.5,0.5]', 10);
\echo :SQLSTATE
REFRESH MATERIALIZED VIEW pts_mv;
SELECT rows_used FROM vecsearch_lid_summary('pts_mv', 'v', 10);
DROP MATERIALIZED VIEW pts_mv;

-- errors
SELECT * FROM vecsearch_lid('pts', 'v', 1);
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_lid('pts', 'v', 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10001);
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM vecsearch_lid('pts', 'v', 63);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 63, 5);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid_summary('square', 'v', 4);
\echo :SQLSTATE
SELECT vecsearch_lid_of('square', 'v', '[0,0]', 5);
\echo :SQLSTATE
SELECT vecsearch_lid_of('square', 'v', '[0,0,0]', 2);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10, 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10, -5);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10, NULL, 'ip');
\echo :SQLSTATE
SELECT * FROM vecsearch_lid_summary('pts', 'v', 10, NULL, 'hamming');
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts', 'v', '[1,1,1,1]', 10, 'ip');
\echo :SQLSTATE
\set VERBOSITY terse
SELECT * FROM vecsearch_lid('pts', 'nope');
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'id');
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts', 'id', '[1,1,1,1]');
\echo :SQLSTATE
SELECT * FROM vecsearch_lid(NULL, 'v');
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10, NULL, NULL);
\echo :SQLSTATE
SELECT * FROM vecsearch_lid('pts', 'v', 10, NULL, 'l2', NULL);
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts', 'v', NULL);
\echo :SQLSTATE
\set VERBOSITY default
CREATE ROLE regress_vecsearch_lid;
SET ROLE regress_vecsearch_lid;
\set VERBOSITY terse
SELECT * FROM vecsearch_lid_summary('pts', 'v', 10);
\echo :SQLSTATE
SELECT vecsearch_lid_of('pts', 'v', '[1,1,1,1]', 10);
\echo :SQLSTATE
\set VERBOSITY default
RESET ROLE;
DROP ROLE regress_vecsearch_lid;

-- vecsearch_synthetic: reproducible, seeded, on a subspace of the chosen dimension
SELECT count(*), min(vector_dims(v)), max(vector_dims(v)) FROM vecsearch_synthetic(100, 16, 3) v;
SELECT (SELECT array_agg(v::text) FROM vecsearch_synthetic(20, 8, 2, 5) v) =
	(SELECT array_agg(v::text) FROM vecsearch_synthetic(20, 8, 2, 5) v) AS reproducible,
	(SELECT array_agg(v::text) FROM vecsearch_synthetic(20, 8, 2, 5) v) =
	(SELECT array_agg(v::text) FROM vecsearch_synthetic(20, 8, 2, 6) v) AS same_for_another_seed;
SELECT count(*) FROM vecsearch_synthetic(0, 8, 2);
SELECT ARRAY(SELECT round(x::numeric, 4) FROM unnest(v::real[]) x) AS first_vector
FROM vecsearch_synthetic(1, 6, 2, 42) v;
-- the coefficients are standard normal on an orthonormal basis: E |v|^2 = intrinsic_dim
SELECT d, abs(avg(vector_norm(v) ^ 2) / d - 1) < 0.1 AS mean_square_norm_is_d
FROM (VALUES (1), (3), (10)) ds(d), LATERAL vecsearch_synthetic(3000, 32, d, 1) v
GROUP BY d ORDER BY d;
-- intrinsic_dim 1: every vector is a multiple of one direction (cosine distance 0 or 2);
-- intrinsic_dim 2: not so
SELECT d, max(least(cosine_distance(v, w), 2 - cosine_distance(v, w))) < 1e-5 AS collinear
FROM (VALUES (1), (2)) ds(d), LATERAL vecsearch_synthetic(50, 10, d, 9) v,
	LATERAL (SELECT w FROM vecsearch_synthetic(1, 10, d, 9) w) x
GROUP BY d ORDER BY d;
-- in 64 dims, the LID estimate tracks the intrinsic dimension
CREATE TABLE syn AS
	SELECT d, v FROM (VALUES (2), (4), (8)) ds(d), LATERAL vecsearch_synthetic(2000, 64, d, 11) v;
CREATE TABLE syn2 AS SELECT v FROM syn WHERE d = 2;
CREATE TABLE syn4 AS SELECT v FROM syn WHERE d = 4;
CREATE TABLE syn8 AS SELECT v FROM syn WHERE d = 8;
SELECT d, round(s.lid_harmonic_mean::numeric, 1) AS lid,
	s.lid_harmonic_mean BETWEEN 0.8 * d AND 1.2 * d AS close_to_d
FROM (VALUES (2, 'syn2'), (4, 'syn4'), (8, 'syn8')) t(d, tbl),
	LATERAL vecsearch_lid_summary(tbl::regclass, 'v', 20) s
ORDER BY d;

-- impossible vectors (sql/rawvec.psql: 0 dimensions, NaN): refused as the vector of
-- vecsearch_lid_of and as rows (the row named), never a LID of a row that is not there
\i :abs_srcdir/sql/rawvec.psql
CREATE TABLE rawlid (v vector);
INSERT INTO rawlid SELECT v FROM vecsearch_synthetic(30, 4, 2, 3) v;
SELECT vecsearch_lid_of('rawlid', 'v', pg_temp.rawvec(0), 5);
\echo :SQLSTATE
SELECT vecsearch_lid_of('rawlid', 'v', pg_temp.rawvec(4, '{1,NaN,0,0}'), 5);
\echo :SQLSTATE
INSERT INTO rawlid VALUES (pg_temp.rawvec(0));
SELECT count(*) FROM vecsearch_lid('rawlid', 'v', 5);
SELECT * FROM vecsearch_lid_summary('rawlid', 'v', 5, 10);
\echo :SQLSTATE
SELECT vecsearch_lid_of('rawlid', 'v', '[1,0,0,0]', 5);
\echo :SQLSTATE
DELETE FROM rawlid WHERE vector_dims(v) = 0;
INSERT INTO rawlid VALUES (pg_temp.rawvec(4, '{0,0,-Infinity,0}'));
SELECT * FROM vecsearch_lid_summary('rawlid', 'v', 5);
\echo :SQLSTATE
DROP TABLE rawlid;
\i :abs_srcdir/sql/rawvec_end.psql

\set VERBOSITY terse
SELECT * FROM vecsearch_synthetic(-1, 8, 2);
\echo :SQLSTATE
SELECT * FROM vecsearch_synthetic(10, 0, 1);
\echo :SQLSTATE
SELECT * FROM vecsearch_synthetic(10, 16001, 1);
\echo :SQLSTATE
SELECT * FROM vecsearch_synthetic(10, 8, 0);
\echo :SQLSTATE
SELECT * FROM vecsearch_synthetic(10, 8, 9);
\echo :SQLSTATE
SELECT * FROM vecsearch_synthetic(10, 16000, 1001);
\echo :SQLSTATE
\set VERBOSITY default
SELECT count(*) FROM vecsearch_synthetic(NULL, 8, 2);
