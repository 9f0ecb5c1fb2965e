-- The sparsevec type: text I/O, typmod, casts, operators, functions, btree order,
-- errors, memory by nonzero elements.

\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/helpers.psql

-- text input and output: 1-based indices, sorted, zeros dropped, shortest float4 form
SELECT '{1:1.5,3:2}/5'::sparsevec;
SELECT '{1:-2,3:-4}/5'::sparsevec;
SELECT '  { 1 : 1.5 ,  3  :  3.5  } / 5  '::sparsevec;
SELECT '{3:3,1:1,2:2}/3'::sparsevec AS sorted;
SELECT '{1:0,2:1,3:-0}/3'::sparsevec AS zeros_dropped;
SELECT '{}/1'::sparsevec, '{ }/7'::sparsevec;
SELECT '{1:0.1,2:1e-45,3:3.4028235e38,4:+2}/4'::sparsevec;
SELECT '{1000000000:1}/1000000000'::sparsevec AS max_dims;
SELECT '{1:0.1,5:0.2}/5'::sparsevec::text::sparsevec = '{1:0.1,5:0.2}/5'::sparsevec AS round_trip;

-- malformed text
SELECT ''::sparsevec;
\echo :SQLSTATE
SELECT '1:1/2'::sparsevec;
\echo :SQLSTATE
SELECT '{'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1}'::sparsevec;
\echo :SQLSTATE
SELECT '{}'::sparsevec;
\echo :SQLSTATE
SELECT '{}/'::sparsevec;
\echo :SQLSTATE
SELECT '{}/1a'::sparsevec;
\echo :SQLSTATE
SELECT '{}/1/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{:1}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{1:}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{1a:1}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{1.5:1}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1a}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1,}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{,}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1 2:2}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:1;2:2}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:hello}/2'::sparsevec;
\echo :SQLSTATE
SELECT '[1,2]'::sparsevec;
\echo :SQLSTATE

-- values: NaN, infinity, beyond float4 (overflow and underflow)
\set VERBOSITY terse
SELECT '{1:NaN}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:Infinity}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{2:-inf}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:4e38}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{1:-1e-46}/2'::sparsevec;
\echo :SQLSTATE
\set VERBOSITY default

-- dimensions and indices
\set VERBOSITY terse
SELECT '{}/0'::sparsevec;
\echo :SQLSTATE
SELECT '{}/-1'::sparsevec;
\echo :SQLSTATE
SELECT '{}/1000000001'::sparsevec;
\echo :SQLSTATE
SELECT '{}/99999999999999999999999'::sparsevec;
\echo :SQLSTATE
\set VERBOSITY default
SELECT '{0:1}/1'::sparsevec;
\echo :SQLSTATE
SELECT '{3:1}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{-1:1}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{99999999999999999999999:1}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{3:0}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{+1:1, 0001:2}/2'::sparsevec;
\echo :SQLSTATE
SELECT '{2:1,1:1,2:0}/2'::sparsevec;
\echo :SQLSTATE

-- at most 16000 elements (index:value pairs, zeros included)
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/16000')::sparsevec)
FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec
FROM generate_series(1, 16001) i;
\echo :SQLSTATE
SELECT ('{' || string_agg(i || ':0', ',') || '}/20000')::sparsevec
FROM generate_series(1, 16001) i;
\echo :SQLSTATE

-- typmod
CREATE TABLE t_typmod (v sparsevec(3));
INSERT INTO t_typmod VALUES ('{1:1,3:3}/3');
\set VERBOSITY terse
INSERT INTO t_typmod VALUES ('{1:1}/2');
\echo :SQLSTATE
INSERT INTO t_typmod VALUES ('{1:1}/4'::sparsevec);
\echo :SQLSTATE
SELECT '{}/2'::sparsevec(3);
\echo :SQLSTATE
CREATE TABLE t_bad (v sparsevec(0));
\echo :SQLSTATE
CREATE TABLE t_bad (v sparsevec(1000000001));
\echo :SQLSTATE
CREATE TABLE t_bad (v sparsevec(3, 2));
\echo :SQLSTATE
\set VERBOSITY default
SELECT * FROM t_typmod;
SELECT '{}/1000000000'::sparsevec(1000000000);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 't_typmod'::regclass AND attname = 'v';
DROP TABLE t_typmod;

-- casts: vector <-> sparsevec (vector to sparsevec implicit, back on assignment)
SELECT '[0,1.5,0,-2]'::vector::sparsevec;
SELECT '[0,0]'::vector::sparsevec;
SELECT '{2:1.5,4:-2}/4'::sparsevec::vector;
SELECT '{}/3'::sparsevec::vector;
SELECT '[1,0,3]'::vector::sparsevec(3);
SELECT '{1:1}/3'::sparsevec::vector(3);
CREATE TABLE t_cast (s sparsevec, v vector);
INSERT INTO t_cast VALUES ('[1,0,2]'::vector, '{1:4,3:5}/3'::sparsevec);
SELECT * FROM t_cast;
DROP TABLE t_cast;
SELECT '[1,0,2]'::vector <-> '{1:1}/3'::sparsevec AS implicit_cast;
\set VERBOSITY terse
SELECT '[1,0]'::vector::sparsevec(3);
\echo :SQLSTATE
SELECT '{1:1}/3'::sparsevec::vector(2);
\echo :SQLSTATE
\set VERBOSITY default
-- the vector's limit is checked before anything is allocated by the dimensions
SELECT '{1:1}/16001'::sparsevec::vector;
\echo :SQLSTATE
SELECT '{1:1,1000000000:2}/1000000000'::sparsevec::vector;
\echo :SQLSTATE
SELECT vector_dims('{16000:1}/16000'::sparsevec::vector);

-- casts: arrays (on assignment)
SELECT ARRAY[0,1,0,-3]::sparsevec;
SELECT ARRAY[0,1.5,0]::real[]::sparsevec;
SELECT ARRAY[0,2.5,0]::double precision[]::sparsevec;
SELECT ARRAY[0,0.5,0]::numeric[]::sparsevec;
SELECT ARRAY[0,0,0]::sparsevec;
SELECT ARRAY[1,2]::sparsevec(2);
CREATE TABLE t_arr (s sparsevec(3));
INSERT INTO t_arr VALUES (ARRAY[1,0,3]);
SELECT * FROM t_arr;
DROP TABLE t_arr;
SELECT l2_norm(array_fill(0, ARRAY[1000000])::sparsevec) AS million_zeros;
SELECT ARRAY[1,NULL,3]::sparsevec;
\echo :SQLSTATE
\set VERBOSITY terse
SELECT ARRAY[[1,2],[3,4]]::sparsevec;
\echo :SQLSTATE
SELECT '{}'::real[]::sparsevec;
\echo :SQLSTATE
SELECT ARRAY[1,2]::sparsevec(3);
\echo :SQLSTATE
SELECT ARRAY['NaN'::real]::sparsevec;
\echo :SQLSTATE
SELECT ARRAY['-Infinity'::double precision]::sparsevec;
\echo :SQLSTATE
SELECT ARRAY[1e39::double precision]::sparsevec;
\echo :SQLSTATE
SELECT ARRAY[1e39::numeric]::sparsevec;
\echo :SQLSTATE
SELECT array_fill(1, ARRAY[16001])::sparsevec;
\echo :SQLSTATE
\set VERBOSITY default

-- distances, norm, normalisation on values exact in float
SELECT '{1:3,2:4}/3'::sparsevec <-> '{3:1}/3' AS l2,
	l2_distance('{1:3,2:4}/3'::sparsevec, '{3:1}/3') AS l2_fn,
	sparsevec_l2_squared_distance('{1:3,2:4}/3', '{2:1,3:1}/3') AS l2sq;
SELECT '{1:1,2:2,4:3}/4'::sparsevec <#> '{2:5,3:7,4:1}/4' AS neg_ip,
	inner_product('{1:1,2:2,4:3}/4'::sparsevec, '{2:5,3:7,4:1}/4') AS ip,
	sparsevec_negative_inner_product('{1:1}/4', '{2:1}/4') AS disjoint;
SELECT '{1:1,2:1}/3'::sparsevec <=> '{1:2,2:2}/3' AS same_direction,
	cosine_distance('{1:1}/3'::sparsevec, '{2:1}/3') AS orthogonal,
	'{1:1}/3'::sparsevec <=> '{1:-1}/3' AS opposite,
	'{}/3'::sparsevec <=> '{1:1}/3' AS zero;
SELECT '{1:1,2:-2}/4'::sparsevec <+> '{2:2,4:-3}/4' AS l1,
	l1_distance('{}/4'::sparsevec, '{3:-5}/4') AS l1_fn;
SELECT l2_norm('{1:3,5:-4}/5'::sparsevec), l2_norm('{}/5'::sparsevec);
SELECT l2_normalize('{1:3,5:-4}/5'::sparsevec), l2_normalize('{}/5'::sparsevec);
-- an element that underflows to 0 when normalised is dropped
SELECT l2_normalize('{1:1e-30,2:1e30}/2'::sparsevec);
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
\echo :SQLSTATE
SELECT inner_product('{1:1}/2'::sparsevec, '{1:1}/3');
\echo :SQLSTATE

-- the merges against the dense vector (the same values cast to vector), on seeded
-- vectors with overlapping, disjoint and empty index sets
SELECT setseed(0.25);
CREATE TABLE sv AS
SELECT id, array_to_sparsevec(ARRAY(
		SELECT CASE WHEN random() < 0.15 THEN round((random() * 20 - 10)::numeric, 2) ELSE 0 END
		FROM generate_series(1, 200) WHERE id > 0), -1, false) AS s
FROM generate_series(1, 60) id;
INSERT INTO sv VALUES (0, '{}/200');
WITH p AS (
	SELECT a.s AS sa, b.s AS sb, a.s::vector AS va, b.s::vector AS vb
	FROM sv a, sv b
)
SELECT count(*) AS pairs,
	count(*) FILTER (WHERE abs((sa <-> sb) - (va <-> vb)) > 1e-5 * (1 + (va <-> vb))) AS l2_off,
	count(*) FILTER (WHERE abs(sparsevec_l2_squared_distance(sa, sb) - vector_l2_squared_distance(va, vb))
		> 1e-5 * (1 + vector_l2_squared_distance(va, vb))) AS l2sq_off,
	count(*) FILTER (WHERE abs((sa <#> sb) - (va <#> vb)) > 1e-5 * (1 + abs(va <#> vb))) AS ip_off,
	count(*) FILTER (WHERE abs((sa <+> sb) - (va <+> vb)) > 1e-5 * (1 + (va <+> vb))) AS l1_off,
	count(*) FILTER (WHERE (sa <=> sb) IS DISTINCT FROM (va <=> vb)
		AND NOT abs((sa <=> sb) - (va <=> vb)) <= 1e-5) AS cos_off,
	count(*) FILTER (WHERE sign(sparsevec_cmp(sa, sb)) <> sign(vector_cmp(va, vb))) AS cmp_off,
	count(*) FILTER (WHERE (sa = sb) <> (va = vb)) AS eq_off
FROM p;
SELECT count(DISTINCT s) AS values, min(l2_norm(s)) AS min_norm, max(l2_norm(s)) > 30 AS dense_enough,
	count(*) FILTER (WHERE abs(l2_norm(s) - vector_norm(s::vector)) > 1e-5 * (1 + l2_norm(s))) AS norm_off,
	count(*) FILTER (WHERE (l2_normalize(s)::vector <-> l2_normalize(s::vector)) > 1e-6) AS normalize_off,
	count(*) FILTER (WHERE s::vector::sparsevec <> s) AS round_trip_off
FROM sv;

-- the same for the order of values of different dimensions (prefixes of the rows, which
-- tie over their common dimensions with the longer prefixes of the same row)
WITH c AS (
	SELECT subvector(s::vector, 1, len)::sparsevec AS s
	FROM sv, (VALUES (120), (160), (200)) l(len)
)
SELECT count(*) AS pairs,
	count(*) FILTER (WHERE sign(sparsevec_cmp(a.s, b.s)) <> sign(vector_cmp(a.s::vector, b.s::vector))) AS cmp_off
FROM c a, c b;

-- comparison: as dense vectors (elementwise, then by dimensions), and a btree index
SELECT '{1:1,2:2}/2'::sparsevec < '{1:1,2:2}/3' AS shorter_first,
	'{2:1}/3'::sparsevec < '{1:1}/3' AS lt_zero_first,
	'{1:-1}/3'::sparsevec < '{2:1}/3' AS negative_first,
	'{3:5}/3'::sparsevec < '{2:1}/2' AS dense_order,
	'{3:-5}/3'::sparsevec > '{}/2' AS past_common_dims,
	'{1:1}/2'::sparsevec = '{1:1}/2' AS eq,
	'{1:1}/2'::sparsevec <> '{1:1}/3' AS ne,
	'{1:1}/2'::sparsevec <= '{1:1}/2' AS le,
	'{1:2}/2'::sparsevec >= '{1:1}/2' AS ge;
SELECT sparsevec_cmp('{1:1}/2', '{1:1}/2'), sparsevec_cmp('{}/2', '{2:-1}/2'),
	sparsevec_cmp('{}/2', '{2:1}/2');
ANALYZE sv;
SELECT null_frac, n_distinct FROM pg_stats WHERE tablename = 'sv' AND attname = 's';
CREATE INDEX sv_btree ON sv (s);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM sv WHERE s = '{}/200';
SELECT id FROM sv WHERE s = '{}/200';
RESET enable_seqscan;
SELECT count(*) AS misordered FROM (
	SELECT s, lag(s) OVER (ORDER BY s) AS prev FROM sv
) o WHERE prev::vector > s::vector;
-- no hnsw operator class for sparsevec yet: an hnsw index on one is refused
\set VERBOSITY terse
CREATE INDEX ON sv USING hnsw (s);
\echo :SQLSTATE
CREATE INDEX ON sv USING hnsw (s vector_l2_ops);
\echo :SQLSTATE
\set VERBOSITY default
DROP TABLE sv;

-- send: pgvector's wire format (int32 dim, nnz, unused, 0-based indices, float4 values)
SELECT sparsevec_send('{1:1.5,3:2}/5');
SELECT sparsevec_send('{}/1000000000');

-- a value of 10^9 dimensions costs its elements, never its dimensions
\i :abs_srcdir/sql/vm_peak.psql
SELECT pg_temp.vm_peak_kb() AS peak_before \gset
SELECT l2_distance(a, b), inner_product(a, b), cosine_distance(a, b), l1_distance(a, b),
	l2_norm(a), l2_normalize(b), a < b AS lt, sparsevec_send(a) IS NOT NULL AS sent
FROM (SELECT '{1:3,999999999:4}/1000000000'::sparsevec AS a,
	'{2:1,1000000000:1}/1000000000'::sparsevec AS b) v;
SELECT pg_temp.vm_peak_kb() - :peak_before < 16 * 1024 AS peak_under_16mb;

-- a stored value whose header does not match its size (only a damaged file could hold
-- one) is refused by every reader, through binary-coercible casts from bytea
CREATE CAST (bytea AS sparsevec) WITHOUT FUNCTION;
CREATE CAST (sparsevec AS bytea) WITHOUT FUNCTION;
-- (little-endian: the byte offsets below are those of x86-64 and arm64)
SELECT '{1:1}/3'::sparsevec::bytea AS bytes;
SELECT l2_norm(set_byte('{1:1}/3'::sparsevec::bytea, 4, 2)::sparsevec);
\echo :SQLSTATE
SELECT set_byte('{1:1}/3'::sparsevec::bytea, 0, 0)::sparsevec;
\echo :SQLSTATE
SELECT substr('{1:1}/3'::sparsevec::bytea, 1, 2)::sparsevec;
\echo :SQLSTATE
SELECT set_byte('{1:1}/3'::sparsevec::bytea, 12, 7)::sparsevec::vector;
\echo :SQLSTATE
DROP CAST (bytea AS sparsevec);
DROP CAST (sparsevec AS bytea);
