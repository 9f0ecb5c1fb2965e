-- The vector type: text I/O, typmod, casts, operators, functions, aggregates, errors.

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- text input and output round-trip (shortest float4 form)
SELECT '[1,2,3]'::vector;
SELECT '[1.5, -2.25 , 3e-4]'::vector;
SELECT '  [ 1 ,2 ]  '::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[-0,1e-45,3.4028235e38]'::vector;
SELECT '[0.1,0.2,0.3]'::vector::text::vector = '[0.1,0.2,0.3]'::vector AS round_trip;
SELECT '[1.00000011920928955078125]'::vector::real[] = ARRAY[1.0000001::real] AS exact;

-- malformed text
SELECT '1,2,3'::vector;
\echo :SQLSTATE
SELECT '[1,2,3'::vector;
\echo :SQLSTATE
SELECT '[1,2,]'::vector;
\echo :SQLSTATE
SELECT '[1,,2]'::vector;
\echo :SQLSTATE
SELECT '[,1]'::vector;
\echo :SQLSTATE
SELECT '[1,2]x'::vector;
\echo :SQLSTATE
SELECT '[1 2]'::vector;
\echo :SQLSTATE
SELECT '[a,b]'::vector;
\echo :SQLSTATE
SELECT '[1,2]]'::vector;
\echo :SQLSTATE
SELECT '[1e]'::vector;
\echo :SQLSTATE
SELECT '[1;2]'::vector;
\echo :SQLSTATE
SELECT '[1,\0]'::vector;
\echo :SQLSTATE
SELECT ''::vector;
\echo :SQLSTATE
SELECT '['::vector;
\echo :SQLSTATE
\set VERBOSITY terse
SELECT '[]'::vector;
\echo :SQLSTATE
SELECT '[NaN]'::vector;
\echo :SQLSTATE
SELECT '[1,Infinity]'::vector;
\echo :SQLSTATE
SELECT '[-inf]'::vector;
\echo :SQLSTATE
SELECT '[1e39]'::vector;
\echo :SQLSTATE
SELECT ('[' || repeat('9', 400) || ']')::vector;
\echo :SQLSTATE
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector;
\echo :SQLSTATE
\set VERBOSITY default
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector);

-- typmod
CREATE TABLE t_typmod (v vector(3));
INSERT INTO t_typmod VALUES ('[1,2,3]');
\set VERBOSITY terse
INSERT INTO t_typmod VALUES ('[1,2]');
\echo :SQLSTATE
INSERT INTO t_typmod VALUES ('[1,2,3,4]'::vector);
\echo :SQLSTATE
SELECT '[1,2]'::vector(3);
\echo :SQLSTATE
CREATE TABLE t_bad (v vector(0));
\echo :SQLSTATE
CREATE TABLE t_bad (v vector(16001));
\echo :SQLSTATE
CREATE TABLE t_bad (v vector(3, 2));
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM t_typmod;
SELECT '[1,2,3]'::vector(3);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 't_typmod'::regclass AND attname = 'v';
DROP TABLE t_typmod;

-- casts
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2,3]::real[]::vector;
SELECT ARRAY[1.5,2,3]::double precision[]::vector;
SELECT ARRAY[1.5,2,3]::numeric[]::vector;
SELECT '[1,2,3]'::vector::real[];
SELECT ARRAY[1,2,3]::vector(3);
\set VERBOSITY terse
SELECT ARRAY[1,2,3]::vector(2);
\echo :SQLSTATE
SELECT ARRAY[]::integer[]::vector;
\echo :SQLSTATE
\set VERBOSITY default
SELECT ARRAY[1,NULL,3]::vector;
\echo :SQLSTATE
\set VERBOSITY terse
SELECT ARRAY[[1,2],[3,4]]::vector;
\echo :SQLSTATE
SELECT ARRAY['NaN']::real[]::vector;
\echo :SQLSTATE
SELECT ARRAY['Infinity']::double precision[]::vector;
\echo :SQLSTATE
SELECT ARRAY[1e39]::double precision[]::vector;
\echo :SQLSTATE
SELECT ARRAY[1e39]::numeric[]::vector;
\echo :SQLSTATE
SELECT ARRAY['NaN']::numeric[]::vector;
\echo :SQLSTATE
\set VERBOSITY default

-- distances
SELECT '[0,0]'::vector <-> '[3,4]'::vector AS l2;
SELECT l2_distance('[1,2,3]'::vector, '[4,6,3]');
SELECT vector_l2_squared_distance('[1,2,3]', '[4,6,3]');
SELECT '[1,2,3]'::vector <#> '[4,5,6]'::vector AS neg_ip;
SELECT inner_product('[1,2,3]'::vector, '[4,5,6]');
SELECT vector_negative_inner_product('[1,2,3]', '[4,5,6]');
SELECT '[1,0]'::vector <=> '[0,1]'::vector AS cos_orthogonal;
SELECT '[1,2]'::vector <=> '[2,4]'::vector AS cos_parallel;
SELECT '[1,2]'::vector <=> '[-1,-2]'::vector AS cos_opposite;
SELECT cosine_distance('[0,0]'::vector, '[1,1]') AS cos_zero_is_nan;
SELECT '[1,2,3]'::vector <+> '[0,4,-1]'::vector AS l1;
SELECT l1_distance('[1,2,3]'::vector, '[0,4,-1]');
\set VERBOSITY terse
SELECT '[1,2]'::vector <-> '[1,2,3]'::vector;
\echo :SQLSTATE
SELECT '[1,2]'::vector <#> '[1,2,3]'::vector;
\echo :SQLSTATE
SELECT '[1,2]'::vector <=> '[1,2,3]'::vector;
\echo :SQLSTATE
SELECT '[1,2]'::vector <+> '[1,2,3]'::vector;
\echo :SQLSTATE
\set VERBOSITY default
-- large vectors: same answer as a double-precision computation in SQL
WITH v AS (
	SELECT array_agg(sin(i)::real ORDER BY i) AS a, array_agg(cos(i * 0.7)::real ORDER BY i) AS b
	FROM generate_series(1, 1000) i
)
SELECT abs((a::vector <-> b::vector) -
		   sqrt((SELECT sum((x - y)::float8 ^ 2) FROM unnest(a, b) AS u(x, y)))) < 1e-4 AS l2_ok,
	   abs((a::vector <#> b::vector) +
		   (SELECT sum(x::float8 * y) FROM unnest(a, b) AS u(x, y))) < 1e-3 AS ip_ok,
	   abs((a::vector <+> b::vector) -
		   (SELECT sum(abs(x::float8 - y)) FROM unnest(a, b) AS u(x, y))) < 1e-2 AS l1_ok
FROM v;

-- functions
SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_norm('[3,4]');
SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 4, 10);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 2147483647);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
\echo :SQLSTATE
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 2147483647);
\echo :SQLSTATE
SELECT subvector('[1,2,3,4,5]'::vector, 3, 0);
\echo :SQLSTATE
SELECT subvector('[1,2,3,4,5]'::vector, 2, -5);
\echo :SQLSTATE
SELECT subvector('[1,2,3,4,5]'::vector, -2147483648, 2);
\echo :SQLSTATE

-- arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,2]'::vector || '[3]';
\set VERBOSITY terse
SELECT '[3e38]'::vector + '[3e38]';
\echo :SQLSTATE
SELECT '[-3e38]'::vector - '[3e38]';
\echo :SQLSTATE
SELECT '[1e30]'::vector * '[1e30]';
\echo :SQLSTATE
SELECT '[1e-30]'::vector * '[1e-30]';
\echo :SQLSTATE
SELECT '[1,2]'::vector + '[1,2,3]';
\echo :SQLSTATE
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector || '[1]';
\echo :SQLSTATE
\set VERBOSITY default

-- comparison and btree
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector < '[1,2,0]', '[1,2]'::vector = '[1,2]',
	   '[1,2]'::vector <> '[1,2]', '[2]'::vector >= '[1,9]', '[2]'::vector > '[2]';
SELECT vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,3]', '[1,2]'), vector_cmp('[1]', '[1,2]');
CREATE TABLE t_btree (v vector);
INSERT INTO t_btree VALUES ('[3,1]'), ('[1,2]'), ('[1,2,0]'), ('[1]'), (NULL), ('[2]');
CREATE INDEX ON t_btree (v);
SET enable_seqscan = off;
SELECT v FROM t_btree WHERE v >= '[1,2]' ORDER BY v;
SELECT v FROM t_btree ORDER BY v;
RESET enable_seqscan;
SELECT DISTINCT v FROM (VALUES ('[1,2]'::vector), ('[1,2]'), ('[2,1]')) t(v) ORDER BY v;
DROP TABLE t_btree;

-- aggregates
SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (VALUES (NULL::vector)) t(v);
SELECT avg(v) FROM (SELECT '[1,2]'::vector AS v WHERE false) t;
\set VERBOSITY terse
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
\echo :SQLSTATE
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
\echo :SQLSTATE
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);
\echo :SQLSTATE
\set VERBOSITY default
-- the support functions are callable directly: a state is input like any other (the
-- count, then the sums), checked whole; results pass vector_in's checks
SELECT vector_avg('{2,2,4,6}'), vector_avg('{0}') IS NULL AS no_rows,
	vector_avg('{0,0,0}') IS NULL AS sized_no_rows;
SELECT vector_accum('{0}', '[1,2,3]'), vector_accum('{0,0,0,0}', '[1,2,3]'),
	vector_accum('{2,1,1,1}', '[1,2,3]');
SELECT vector_combine('{1,2}', '{3,4}'), vector_combine('{0}', '{2,4,6}'),
	vector_combine('{2,4,6}', '{0}'), vector_combine('{0}', '{0}');
SELECT vector_avg('{1,NaN,2}');
\echo :SQLSTATE
SELECT vector_avg('{1,Infinity}');
\echo :SQLSTATE
SELECT vector_avg('{1,2,-Infinity}');
\echo :SQLSTATE
SELECT vector_avg('{1}');
\echo :SQLSTATE
SELECT vector_avg('{3}');
\echo :SQLSTATE
SELECT vector_avg('{}');
\echo :SQLSTATE
SELECT vector_avg('{{1,2},{3,4}}');
\echo :SQLSTATE
SELECT vector_avg('{NULL,2}');
\echo :SQLSTATE
SELECT vector_avg('{1,2,NULL}');
\echo :SQLSTATE
SELECT vector_avg('{NaN,2}');
\echo :SQLSTATE
SELECT vector_avg('{Infinity,2}');
\echo :SQLSTATE
SELECT vector_avg('{-1,2}');
\echo :SQLSTATE
SELECT vector_avg('{1.5,2}');
\echo :SQLSTATE
SELECT vector_avg('{9007199254740992,2}');
\echo :SQLSTATE
SELECT vector_avg('{0,2}');
\echo :SQLSTATE
SELECT vector_avg('{1,1e300}');
\echo :SQLSTATE
SELECT vector_avg(array_agg(n)) FROM generate_series(1, 16002) n;
\echo :SQLSTATE
SELECT vector_dims(vector_avg(array_agg(n))) FROM generate_series(1, 16001) n;
-- 65,537 elements: 65,536 sums, which an int16 dimension field would wrap to 0
SELECT vector_avg(array_fill(1, ARRAY[65537]));
\echo :SQLSTATE
SELECT vector_accum('{1,NaN}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{1,Infinity}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{1}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{{0}}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{NULL}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{0,0}', '[1,2,3]');
\echo :SQLSTATE
SELECT vector_accum('{0.5,1}', '[1]');
\echo :SQLSTATE
SELECT vector_accum('{9007199254740991,1}', '[1]');
\echo :SQLSTATE
SELECT vector_accum(array_fill(0, ARRAY[16002]), '[1]');
\echo :SQLSTATE
SELECT vector_combine('{1,NaN}', '{1,2}');
\echo :SQLSTATE
SELECT vector_combine('{1,2}', '{1,-Infinity}');
\echo :SQLSTATE
SELECT vector_combine('{0}', '{1,NaN}');
\echo :SQLSTATE
SELECT vector_combine('{1}', '{0}');
\echo :SQLSTATE
SELECT vector_combine('{}', '{0}');
\echo :SQLSTATE
SELECT vector_combine('{0}', '{}');
\echo :SQLSTATE
SELECT vector_combine('{{1,2}}', '{3,4}');
\echo :SQLSTATE
SELECT vector_combine('{1,2}', '{3,NULL}');
\echo :SQLSTATE
SELECT vector_combine('{1,2}', '{1,2,3}');
\echo :SQLSTATE
SELECT vector_combine('{-2,2}', '{1,2}');
\echo :SQLSTATE
SELECT vector_combine('{9007199254740991,2}', '{1,2}');
\echo :SQLSTATE
SELECT vector_combine('{1,1e308}', '{1,1e308}');
\echo :SQLSTATE
SELECT vector_combine('{0}', (SELECT array_agg(n) FROM generate_series(1, 16002) n));
\echo :SQLSTATE
SELECT vector_combine((SELECT array_agg(n) FROM generate_series(1, 16002) n), '{0}');
\echo :SQLSTATE
-- an aggregate of one's own with a bad INITCOND meets the same checks
CREATE AGGREGATE pg_temp.my_avg(vector) (SFUNC = vector_accum, STYPE = double precision[],
	FINALFUNC = vector_avg, INITCOND = '{1,NaN}');
SELECT pg_temp.my_avg(v) FROM (VALUES ('[1]'::vector)) t(v);
\echo :SQLSTATE
DROP AGGREGATE pg_temp.my_avg(vector);
-- parallel aggregation gives the serial answer
CREATE TABLE t_agg AS SELECT i, ARRAY[i % 7, i % 11, 1]::vector AS v FROM generate_series(1, 100000) i;
ANALYZE t_agg;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM t_agg;
SELECT avg(v), sum(v) FROM t_agg;
-- workers that find no rows hand in the empty state '{0}', which the leader combines
-- with its own '{0}': no rows at all is NULL, one row is that row
EXPLAIN (COSTS OFF) SELECT avg(v) FROM t_agg WHERE v <-> '[0,0,1]' < 0.5;
SELECT avg(v) IS NULL AS no_rows FROM t_agg WHERE v <-> '[-9,-9,1]' < 0.5;
SELECT avg(v) AS one_row FROM t_agg WHERE v <-> '[1,2,1]' < 0.5 AND i < 100;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE t_agg;

-- the exact scan: ORDER BY distance LIMIT k with no index
CREATE TABLE t_knn (id int, v vector(2));
INSERT INTO t_knn SELECT i, ARRAY[i % 10, i / 10]::vector FROM generate_series(0, 99) i;
INSERT INTO t_knn VALUES (100, NULL);
SELECT id, v <-> '[3,3]' AS d FROM t_knn ORDER BY v <-> '[3,3]', id LIMIT 5;
SELECT id FROM t_knn ORDER BY v <+> '[3,3]', id LIMIT 5;
SELECT id FROM t_knn ORDER BY v <#> '[1,1]', id LIMIT 3;
SELECT id FROM t_knn WHERE id > 0 ORDER BY v <=> '[1,1]', id LIMIT 3;
DROP TABLE t_knn;

-- compressed vectors (rows over the TOAST threshold compress under STORAGE main): a
-- repeated compressed argument is detoasted once per query, and two values are never
-- confused (same compressed size, different contents)
CREATE TABLE t_comp (id int, v vector);
INSERT INTO t_comp SELECT i, array_cat(array_fill(0, ARRAY[1500]), ARRAY[i])::vector
FROM generate_series(1, 6) i;
SELECT count(*) AS compressed FROM t_comp WHERE pg_column_compression(v) IS NOT NULL;
SELECT count(*) AS pairs,
	   bool_and(a.v <-> b.v = abs(a.id - b.id)) AS l2_ok,
	   bool_and(vector_l2_squared_distance(a.v, b.v) = (a.id - b.id) ^ 2) AS l2sq_ok,
	   bool_and(a.v <+> b.v = abs(a.id - b.id)) AS l1_ok,
	   bool_and(a.v <#> b.v = -(a.id * b.id)) AS ip_ok,
	   bool_and(inner_product(a.v, b.v) = a.id * b.id) AS ip2_ok,
	   bool_and(a.v <=> b.v = 0) AS cos_ok
FROM t_comp a, t_comp b;
SELECT id FROM t_comp ORDER BY v <-> (SELECT v FROM t_comp WHERE id = 4), id LIMIT 3;
DROP TABLE t_comp;

-- the distance functions are parallel safe, so large exact scans use workers
SELECT proname, provolatile, proparallel FROM pg_proc
WHERE proname IN ('l2_distance', 'cosine_distance', 'l1_distance', 'vector_negative_inner_product')
	AND proargtypes[0] = 'vector'::regtype
ORDER BY proname;

-- an exact scan can run in parallel and gives the serial answer
CREATE TABLE t_big (id int, v vector(16));
INSERT INTO t_big SELECT i, array_fill((i % 97)::real, ARRAY[16])::vector FROM generate_series(1, 5000) i;
ANALYZE t_big;
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT id FROM t_big ORDER BY v <-> (SELECT v FROM t_big WHERE id = 3), id LIMIT 5;
SELECT id FROM t_big ORDER BY v <-> (SELECT v FROM t_big WHERE id = 3), id LIMIT 5;
RESET parallel_setup_cost;
RESET min_parallel_table_scan_size;
DROP TABLE t_big;

-- storage: vectors stay inline (see README "Storage")
SELECT typstorage FROM pg_type WHERE typname = 'vector';

-- binary output is pgvector's wire format: uint16 dim, uint16 unused, float4s (big-endian)
SELECT vector_send('[1,-2,0.5]');

-- impossible vectors (sql/rawvec.psql): no function makes one, and every reader refuses
-- one (22000 "invalid vector ...") instead of computing with it; vector_dims alone reads
-- the header, to find such values
\i :abs_srcdir/sql/rawvec.psql
CREATE TABLE t_raw (id int, v vector);
INSERT INTO t_raw VALUES (1, '[1,2]'), (2, pg_temp.rawvec(0)), (3, pg_temp.rawvec(0, array_fill(1, ARRAY[65536]))),
	(4, pg_temp.rawvec(16001, array_fill(1, ARRAY[16001]))), (5, pg_temp.rawvec(-3)),
	(6, pg_temp.rawvec(3, '{1,2}')), (7, pg_temp.rawvec(2, '{NaN,1}')), (8, pg_temp.rawvec(2, '{1,-Infinity}'));
SELECT id, vector_dims(v) FROM t_raw WHERE vector_dims(v) NOT BETWEEN 1 AND 16000 ORDER BY id;
-- (every reader of every row: a table of the errors, readers with the same error grouped)
CREATE FUNCTION pg_temp.error_of(q text, OUT code text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	code := '00000';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;
SELECT r.id, string_agg(f.reader, ', ' ORDER BY f.ord) AS readers, e.code, e.message, e.detail, e.hint
FROM t_raw r,
	(VALUES (1, 'text_out', $q$SELECT v::text FROM t_raw WHERE id = %s$q$),
		(2, 'l2', $q$SELECT v <-> '[1,2]' FROM t_raw WHERE id = %s$q$),
		(3, 'add', $q$SELECT v + '[1,2]' FROM t_raw WHERE id = %s$q$),
		(4, 'normalize', $q$SELECT l2_normalize(v) FROM t_raw WHERE id = %s$q$),
		(5, 'subvector', $q$SELECT subvector(v, 1, 1) FROM t_raw WHERE id = %s$q$),
		(6, 'concat', $q$SELECT v || '[1]' FROM t_raw WHERE id = %s$q$)) AS f(ord, reader, q),
	LATERAL pg_temp.error_of(format(f.q, r.id)) AS e
GROUP BY r.id, e.code, e.message, e.detail, e.hint
ORDER BY r.id, min(f.ord);
SELECT vector_norm(v) FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT v::real[] FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT vector_send(v) FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT v::vector(2) FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT v < '[1]' FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT v <=> v FROM t_raw WHERE id = 3;
\echo :SQLSTATE
SELECT '\x0100'::bytea::vector <+> '[1]';
\echo :SQLSTATE
SELECT vector_dims('\x01'::bytea::vector);
\echo :SQLSTATE
-- the aggregates: a 0-dimension or NaN row is an error, not a 0-dimension or NaN result
SELECT avg(v) FROM t_raw WHERE id IN (2, 2);
\echo :SQLSTATE
SELECT sum(v) FROM t_raw WHERE id IN (1, 2);
\echo :SQLSTATE
-- (one row is passed through unread, and refused where it is read)
SELECT sum(v)::text FROM t_raw WHERE id = 2;
\echo :SQLSTATE
SELECT avg(v) FROM t_raw WHERE id IN (1, 7);
\echo :SQLSTATE
SELECT sum(v) FROM t_raw WHERE id IN (1, 7);
\echo :SQLSTATE
SELECT avg(v) FROM t_raw WHERE id IN (1, 8);
\echo :SQLSTATE
-- a DELETE by vector_dims removes the impossible dimensions
DELETE FROM t_raw WHERE vector_dims(v) NOT BETWEEN 1 AND 16000;
SELECT id FROM t_raw ORDER BY id;
DROP TABLE t_raw;
\i :abs_srcdir/sql/rawvec_end.psql
