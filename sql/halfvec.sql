-- The halfvec type: text and binary I/O, typmod, casts, operators, functions,
-- aggregates, btree ordering, errors.

-- text input and output (each element is rounded to the nearest half, ties to even,
-- and printed in the shortest form that reads back as the same value)
SELECT '[1,2,3]'::halfvec;
SELECT '[1.5, -2.25 , 3e-4]'::halfvec;
SELECT '  [ 1 ,2 ]  '::halfvec;
SELECT '[0.1,0.2,0.3]'::halfvec;
SELECT '[-0,6e-8,65504,-65504]'::halfvec;
-- 65519.99 rounds down to 65504; 2049 and 2051 are ties (to even: 2048, 2052)
SELECT '[65519.99,2049,2051,1e-9]'::halfvec;
SELECT '[0.1,0.2,0.3]'::halfvec::text::halfvec = '[0.1,0.2,0.3]'::halfvec AS round_trip;

-- malformed text
SELECT '1,2,3'::halfvec;
\echo :SQLSTATE
SELECT '[1,2,3'::halfvec;
\echo :SQLSTATE
SELECT '[1,2,]'::halfvec;
\echo :SQLSTATE
SELECT '[1,,2]'::halfvec;
\echo :SQLSTATE
SELECT '[1,2]x'::halfvec;
\echo :SQLSTATE
SELECT '[1 2]'::halfvec;
\echo :SQLSTATE
SELECT '[a,b]'::halfvec;
\echo :SQLSTATE
SELECT ''::halfvec;
\echo :SQLSTATE
\set VERBOSITY terse
SELECT '[]'::halfvec;
\echo :SQLSTATE
SELECT '[NaN]'::halfvec;
\echo :SQLSTATE
SELECT '[1,Infinity]'::halfvec;
\echo :SQLSTATE
SELECT '[-inf]'::halfvec;
\echo :SQLSTATE
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::halfvec;
\echo :SQLSTATE
\set VERBOSITY default
-- out of the half range: 22003 with the value
SELECT '[1,65520]'::halfvec;
\echo :SQLSTATE
SELECT '[-1e5]'::halfvec;
\echo :SQLSTATE
SELECT '[1e39]'::halfvec;
\echo :SQLSTATE
SELECT vector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::halfvec);

-- typmod
CREATE TABLE hv (id int, v halfvec(3));
INSERT INTO hv VALUES (1, '[1,2,3]'), (2, '[-1,0.5,4]'), (3, NULL);
INSERT INTO hv VALUES (4, '[1,2]');
\echo :SQLSTATE
SELECT '[1,2]'::halfvec(3);
\echo :SQLSTATE
SELECT '[1,2,3]'::halfvec(3);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'hv'::regclass AND attname = 'v';
\set VERBOSITY terse
SELECT '[1]'::halfvec(0);
\echo :SQLSTATE
SELECT '[1]'::halfvec(16001);
\echo :SQLSTATE
SELECT '[1]'::halfvec(1, 2);
\echo :SQLSTATE
\set VERBOSITY default
SELECT NULL::halfvec(16000) IS NULL AS max_typmod_accepted;

-- casts: vector <-> halfvec, arrays
SELECT '[1.5,0.1,-3]'::vector::halfvec;
SELECT '[1.5,0.1,-3]'::halfvec::vector;
SELECT '[0.1,-3e-6]'::halfvec::vector::halfvec = '[0.1,-3e-6]'::halfvec AS exact_back;
SELECT '[1,2]'::vector::halfvec(2);
SELECT '[1,2]'::vector::halfvec(3);
\echo :SQLSTATE
SELECT '[1,2]'::halfvec::vector(3);
\echo :SQLSTATE
SELECT '[1,70000,3]'::vector::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2.5]::real[]::halfvec,
	ARRAY[0.1,0.2]::double precision[]::halfvec, ARRAY[1.25,3]::numeric[]::halfvec;
-- a double is rounded to half once: 1 + 2^(-11) + 2^(-30) is just past the midpoint
-- between 1 and 1 + 2^(-10) (through float it would land on the midpoint and go to 1)
SELECT ARRAY[1 + 2^(-11) + 2^(-30), -(1 + 2^(-11) + 2^(-30)), 1 + 2^(-11), 1 + 3 * 2^(-11),
	65519.99999999]::double precision[]::halfvec;
SELECT halfvec_avg(ARRAY[2, 2, 2 + 2^(-10) + 2^(-29)]);
SELECT '[1,2.5]'::halfvec::real[];
SELECT ARRAY[1,70000]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,1e10]::double precision[]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,66000.5]::numeric[]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,'NaN']::real[]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,NULL]::real[]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[[1,2],[3,4]]::real[]::halfvec;
\echo :SQLSTATE
SELECT '{}'::real[]::halfvec;
\echo :SQLSTATE
SELECT ARRAY[1,2,3]::real[]::halfvec(2);
\echo :SQLSTATE
-- the cast contexts: vector -> halfvec is implicit (a halfvec column takes a vector)
CREATE TABLE hv2 (v halfvec(2), w vector(2), r real[]);
INSERT INTO hv2 (v) VALUES ('[1,2]'::vector);
INSERT INTO hv2 (w) SELECT v FROM hv2;
INSERT INTO hv2 (r) SELECT v FROM hv2 WHERE v IS NOT NULL;
SELECT * FROM hv2 ORDER BY v, w, r;
DROP TABLE hv2;

-- distances: the float kernels' values on the halves
SELECT l2_distance('[0,0]'::halfvec, '[3,4]'), '[0,0]'::halfvec <-> '[3,4]';
SELECT inner_product('[1,2]'::halfvec, '[3,4]'), '[1,2]'::halfvec <#> '[3,4]';
SELECT cosine_distance('[1,2]'::halfvec, '[2,4]'), cosine_distance('[1,1]'::halfvec, '[-1,-1]'),
	'[1,0]'::halfvec <=> '[0,1]';
SELECT cosine_distance('[0,0]'::halfvec, '[1,1]');
SELECT l1_distance('[0,0]'::halfvec, '[3,-4]'), '[0,0]'::halfvec <+> '[3,-4]';
SELECT halfvec_l2_squared_distance('[0,0]', '[3,4]');
-- the same value as vector's kernels on the converted values, for 1 to 300 dimensions
SELECT count(*) FILTER (WHERE abs((a::halfvec <-> b::halfvec) - (a <-> b)) > 1e-6 * (a <-> b)
		OR abs((a::halfvec <#> b::halfvec) - (a <#> b)) > 1e-6 * n
		OR abs((a::halfvec <+> b::halfvec) - (a <+> b)) > 1e-6 * (a <+> b)
		OR abs((a::halfvec <=> b::halfvec) - (a <=> b)) > 1e-6) AS mismatches,
	count(*) AS pairs
FROM (SELECT n,
		(SELECT array_agg(sin(i * 1.7 + n))::real[]::halfvec::vector FROM generate_series(1, n) i) AS a,
		(SELECT array_agg(cos(i * 0.3 - n))::real[]::halfvec::vector FROM generate_series(1, n) i) AS b
	FROM generate_series(1, 300) n) s;
-- planner support: a distance call is priced by the dimensions (and the TOAST fetch of
-- an out-of-line column), as for vector; without it each call would cost COST 10
CREATE TABLE hcost (v halfvec(6400));
INSERT INTO hcost SELECT array_fill(1, ARRAY[6400])::halfvec FROM generate_series(1, 100);
ANALYZE hcost;
CREATE FUNCTION pg_temp.plan_cost(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	j json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
	RETURN (j -> 0 -> 'Plan' ->> 'Total Cost')::float8;
END $$;
SELECT (pg_temp.plan_cost('SELECT v <-> v FROM hcost') - pg_temp.plan_cost('SELECT v = v FROM hcost'))
	/ 100 > 0.2 AS priced_by_dimensions,
	(pg_temp.plan_cost('SELECT l1_distance(v, v) FROM hcost') - pg_temp.plan_cost('SELECT v = v FROM hcost'))
	/ 100 > 0.2 AS function_priced_too;
DROP TABLE hcost;
\set VERBOSITY terse
SELECT '[1,2]'::halfvec <-> '[1,2,3]';
\echo :SQLSTATE
SELECT '[1,2]'::halfvec <#> '[1,2,3]';
\echo :SQLSTATE
SELECT '[1,2]'::halfvec <=> '[1,2,3]';
\echo :SQLSTATE
SELECT '[1,2]'::halfvec <+> '[1,2,3]';
\echo :SQLSTATE
\set VERBOSITY default

-- functions
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec);
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec), l2_normalize('[6e-8,0]'::halfvec);
SELECT binary_quantize('[1,-1,0,2,-0,0.001,-3,4,5]'::halfvec);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, -1, 3),
	subvector('[1,2,3,4,5]'::halfvec, 4, 2147483647);
SELECT subvector('[1,2,3]'::halfvec, 4, 1);
\echo :SQLSTATE
SELECT subvector('[1,2,3]'::halfvec, 1, 0);
\echo :SQLSTATE

-- arithmetic: computed in float, rounded once to half
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]';
SELECT '[2048]'::halfvec + '[1]' AS to_even, '[2048]'::halfvec + '[3]' AS up;
SELECT '[1,2]'::halfvec || '[3]';
\set VERBOSITY terse
SELECT '[60000]'::halfvec + '[60000]';
\echo :SQLSTATE
SELECT '[-60000]'::halfvec - '[60000]';
\echo :SQLSTATE
SELECT '[300]'::halfvec * '[300]';
\echo :SQLSTATE
SELECT '[1e-4]'::halfvec * '[1e-4]';
\echo :SQLSTATE
SELECT '[1,2]'::halfvec + '[1]';
\echo :SQLSTATE
SELECT array_fill(1, ARRAY[10000])::halfvec || array_fill(1, ARRAY[7000])::halfvec;
\echo :SQLSTATE
\set VERBOSITY default

-- comparison and btree: elementwise by value, then by dimensions; -0 = 0
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec < '[1,2,0]', '[-0]'::halfvec = '[0]',
	'[1,2]'::halfvec <> '[1,2]', '[2]'::halfvec >= '[1,9]', '[1]'::halfvec > '[1]',
	'[1]'::halfvec <= '[1]', halfvec_cmp('[1,2]', '[1]');
CREATE INDEX ON hv (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hv WHERE v = '[1,2,3]';
SELECT id FROM hv WHERE v = '[1,2,3]';
RESET enable_seqscan;
SELECT id, v FROM hv ORDER BY v;
SELECT DISTINCT v FROM (VALUES ('[1,2]'::halfvec), ('[1,2.0001]'), ('[-0,1]'), ('[0,1]')) t(v) ORDER BY v;

-- aggregates
SELECT avg(v), sum(v) FROM hv;
SELECT avg(v) FROM hv WHERE false;
SELECT avg(v) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) t(v);
SELECT sum(v) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) t(v);
\echo :SQLSTATE
SELECT avg(v) FROM (VALUES ('[1,2]'::halfvec), ('[1]')) t(v);
\echo :SQLSTATE
-- parallel: the combine function merges the workers' states
CREATE TABLE hvp AS SELECT i, ARRAY[i % 7, -(i % 5), 1]::real[]::halfvec AS v
FROM generate_series(1, 30000) i;
ANALYZE hvp;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM hvp;
-- (sums of small whole numbers: exact in half in any order)
SELECT avg(v), sum(v) FILTER (WHERE i <= 100) FROM hvp;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT halfvec_combine('{0}', '{2,2,4}'), halfvec_combine('{1,1,2}', '{2,2,4}');
SELECT halfvec_avg(halfvec_accum('{0}', '[1,2]'));
\set VERBOSITY terse
SELECT halfvec_combine('{1,1}', '{1,1,2}');
\echo :SQLSTATE
SELECT halfvec_avg('{1,70000}');
\echo :SQLSTATE
SELECT halfvec_avg('{-1,1}');
\echo :SQLSTATE
SELECT halfvec_accum('{1,NaN}', '[1]');
\echo :SQLSTATE
\set VERBOSITY default

-- the exact engine reads a halfvec column as vectors: the same answers as on a vector
-- column holding the same values
CREATE TABLE hknn AS SELECT i AS id, v::halfvec(8) AS h, v::halfvec(8)::vector(8) AS v
FROM generate_series(1, 500) i, LATERAL vecsearch_synthetic(1, 8, 3, i) v;
SELECT count(*) AS rows, count(*) FILTER (WHERE a.row_tid = b.row_tid AND a.distance = b.distance) AS same
FROM vecsearch_knn('hknn', 'h', ARRAY(SELECT v FROM hknn WHERE id <= 5 ORDER BY id), 10, 'cosine') a
JOIN vecsearch_knn('hknn', 'v', ARRAY(SELECT v FROM hknn WHERE id <= 5 ORDER BY id), 10, 'cosine') b
	USING (query, rank);
SELECT round(vecsearch_lid_of('hknn', 'h', (SELECT v FROM hknn WHERE id = 1), 20)::numeric, 6) =
	round(vecsearch_lid_of('hknn', 'v', (SELECT v FROM hknn WHERE id = 1), 20)::numeric, 6) AS same_lid;
SELECT count(*) FROM vecsearch_knn('hknn', 'h', ARRAY['[1,2]'::vector], 1);
\echo :SQLSTATE
DROP TABLE hknn;

-- impossible values a reader may meet (raw bytes through a binary-coercible cast, in
-- little-endian order): refused with 22000, never read past their end
SET client_min_messages = warning;
DROP CAST IF EXISTS (bytea AS halfvec);
RESET client_min_messages;
CREATE CAST (bytea AS halfvec) WITHOUT FUNCTION;
\set VERBOSITY terse
SELECT '\x0200000000003c'::bytea::halfvec <-> '[1,2]';
\echo :SQLSTATE
SELECT '\x00000000'::bytea::halfvec::text;
\echo :SQLSTATE
SELECT '\x0100'::bytea::halfvec::text;
\echo :SQLSTATE
SELECT vector_dims('\x0300000000003c'::bytea::halfvec);
SELECT '\x01000000007e'::bytea::halfvec + '[1]';
\echo :SQLSTATE
SELECT '\x01000000007c'::bytea::halfvec::vector;
\echo :SQLSTATE
SELECT '\x01000000007e'::bytea::halfvec || '[1]';
\echo :SQLSTATE
SELECT avg(v) FROM (VALUES ('\x01000000007c'::bytea::halfvec)) t(v);
\echo :SQLSTATE
\set VERBOSITY default
CREATE TABLE hbad (h halfvec);
INSERT INTO hbad VALUES ('[1]'), ('\x01000000007e'::bytea::halfvec);
SELECT count(*) FROM vecsearch_knn('hbad', 'h', ARRAY['[1]'::vector], 1);
\echo :SQLSTATE
DROP TABLE hbad;
\set VERBOSITY terse
\set VERBOSITY default
DROP CAST (bytea AS halfvec);

DROP TABLE hv, hvp;
