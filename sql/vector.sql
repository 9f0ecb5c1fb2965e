-- The vector type: text I/O, typmod, casts, operators, functions, aggregates, errors.

\i sql/helpers.psql

-- text input and output round-trip (shortest float4 form)
SELECT '[1,2,3]'::vector;
SELECT '[1.5, -2.25 , 3e-4]'::vector;
SELECT '  [ 1 ,2 ]  '::vector;
SELECT '[0.1,0.2,0.3]'::vector;
SELECT '[-0,1e-45,3.4028235e38]'::vector;
SELECT '[0.1,0.2,0.3]'::vector::text::vector = '[0.1,0.2,0.3]'::vector AS round_trip;
SELECT '[1.00000011920928955078125]'::vector::real[] = ARRAY[1.0000001::real] AS exact;

-- malformed text
SELECT pg_temp.err($q$SELECT '1,2,3'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2,3'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2,]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,,2]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[,1]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2]x'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1 2]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[a,b]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2]]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1e]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1;2]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,\0]'::vector$q$);
SELECT pg_temp.err($q$SELECT ''::vector$q$);
SELECT pg_temp.err($q$SELECT '['::vector$q$);
SELECT pg_temp.err($q$SELECT '[]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[NaN]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,Infinity]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[-inf]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1e39]'::vector$q$);
SELECT pg_temp.err($q$SELECT ('[' || repeat('9', 400) || ']')::vector$q$);
SELECT pg_temp.err($q$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::vector$q$);
SELECT pg_temp.err($q$SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector)$q$);

-- typmod
CREATE TABLE t_typmod (v vector(3));
INSERT INTO t_typmod VALUES ('[1,2,3]');
SELECT pg_temp.err($q$INSERT INTO t_typmod VALUES ('[1,2]')$q$);
SELECT pg_temp.err($q$INSERT INTO t_typmod VALUES ('[1,2,3,4]'::vector)$q$);
SELECT pg_temp.err($q$SELECT '[1,2]'::vector(3)$q$);
SELECT pg_temp.err($q$CREATE TABLE t_bad (v vector(0))$q$);
SELECT pg_temp.err($q$CREATE TABLE t_bad (v vector(16001))$q$);
SELECT pg_temp.err($q$CREATE TABLE t_bad (v vector(3, 2))$q$);
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
SELECT pg_temp.err($q$SELECT ARRAY[1,2,3]::vector(2)$q$);
SELECT pg_temp.err($q$SELECT ARRAY[]::integer[]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY[1,NULL,3]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY[[1,2],[3,4]]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY['NaN']::real[]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY['Infinity']::double precision[]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY[1e39]::double precision[]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY[1e39]::numeric[]::vector$q$);
SELECT pg_temp.err($q$SELECT ARRAY['NaN']::numeric[]::vector$q$);

-- distances
SELECT '[0,0]'::vector <-> '[3,4]'::vector AS l2;
SELECT l2_distance('[1,2,3]', '[4,6,3]');
SELECT vector_l2_squared_distance('[1,2,3]', '[4,6,3]');
SELECT '[1,2,3]'::vector <#> '[4,5,6]'::vector AS neg_ip;
SELECT inner_product('[1,2,3]', '[4,5,6]');
SELECT vector_negative_inner_product('[1,2,3]', '[4,5,6]');
SELECT '[1,0]'::vector <=> '[0,1]'::vector AS cos_orthogonal;
SELECT '[1,2]'::vector <=> '[2,4]'::vector AS cos_parallel;
SELECT '[1,2]'::vector <=> '[-1,-2]'::vector AS cos_opposite;
SELECT cosine_distance('[0,0]', '[1,1]') AS cos_zero_is_nan;
SELECT '[1,2,3]'::vector <+> '[0,4,-1]'::vector AS l1;
SELECT l1_distance('[1,2,3]', '[0,4,-1]');
SELECT pg_temp.err($q$SELECT '[1,2]'::vector <-> '[1,2,3]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2]'::vector <#> '[1,2,3]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2]'::vector <=> '[1,2,3]'::vector$q$);
SELECT pg_temp.err($q$SELECT '[1,2]'::vector <+> '[1,2,3]'::vector$q$);
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
SELECT vector_dims('[1,2,3]');
SELECT vector_norm('[3,4]');
SELECT l2_normalize('[3,4]');
SELECT l2_normalize('[0,0]');
SELECT subvector('[1,2,3,4,5]', 2, 3);
SELECT subvector('[1,2,3,4,5]', -1, 3);
SELECT subvector('[1,2,3,4,5]', 4, 10);
SELECT subvector('[1,2,3,4,5]', 1, 2147483647);
SELECT pg_temp.err($q$SELECT subvector('[1,2,3,4,5]', 6, 1)$q$);
SELECT pg_temp.err($q$SELECT subvector('[1,2,3,4,5]', 2147483647, 2147483647)$q$);
SELECT pg_temp.err($q$SELECT subvector('[1,2,3,4,5]', 3, 0)$q$);
SELECT pg_temp.err($q$SELECT subvector('[1,2,3,4,5]', 2, -5)$q$);
SELECT pg_temp.err($q$SELECT subvector('[1,2,3,4,5]', -2147483648, 2)$q$);

-- arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,2]'::vector || '[3]';
SELECT pg_temp.err($q$SELECT '[3e38]'::vector + '[3e38]'$q$);
SELECT pg_temp.err($q$SELECT '[-3e38]'::vector - '[3e38]'$q$);
SELECT pg_temp.err($q$SELECT '[1e30]'::vector * '[1e30]'$q$);
SELECT pg_temp.err($q$SELECT '[1e-30]'::vector * '[1e-30]'$q$);
SELECT pg_temp.err($q$SELECT '[1,2]'::vector + '[1,2,3]'$q$);
SELECT pg_temp.err($q$SELECT ('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::vector || '[1]'$q$);

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
SELECT pg_temp.err($q$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$q$);
SELECT pg_temp.err($q$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$q$);
SELECT pg_temp.err($q$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$q$);
-- parallel aggregation gives the serial answer
CREATE TABLE t_agg AS SELECT i, ARRAY[i % 7, i % 11, 1]::vector AS v FROM generate_series(1, 100000) i;
ANALYZE t_agg;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM t_agg;
SELECT avg(v), sum(v) FROM t_agg;
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
