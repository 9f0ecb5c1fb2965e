-- vecsearch: the one install source.  The build writes it to vecsearch--<version>.sql
-- (and, with VS_AS_VECTOR=1, to vector--<version>.sql), naming the extension in it.
--
-- Sections, in dependency order:
--   one name per database       refuse vecsearch next to "vector" and the reverse
--   vector type                 I/O and typmod functions, the type
--   vector support functions    planner support, operator implementations, btree
--                               comparison, avg(vector) steps, the typmod cast function
--   vector functions            distances, norm, normalisation, subvector
--   vector casts                to and from arrays, the vector(n) coercion, and the
--                               array casts' functions
--   vector aggregates           avg, sum
--   vector operators            distances, arithmetic, comparison
--   access method               hnsw and its handler
--   operator classes            btree ordering; hnsw per distance
--   table and index functions   exact KNN, index check
--   recall research             LID, recall reports, tuning, synthetic data
--   multi-vector retrieval      MUVERA encodings and max_sim
--   ==== new in 0.2.0           everything after this line is also the new part of
--                               the upgrade script from 0.1.0 (see the Makefile)
--   sparsevec                   the type, its functions, casts, operators and btree
--                               operator class (pgvector's surface)
--   halfvec, bit                the half-precision type (pgvector's surface); distance
--                               functions and binary_quantize for bit strings
--
-- Conventions: types are spelled as PostgreSQL prints them (integer, bigint, real,
-- double precision, boolean); every function states its volatility, its parallel label
-- and STRICT or CALLED ON NULL INPUT; every object made here is followed by its COMMENT.

\echo Use "CREATE EXTENSION @VS_EXTNAME@" to load this file. \quit

-- ===================================================================================
-- one name per database
-- ===================================================================================

-- vecsearch can also be installed under the extension name "vector" (make install
-- VS_AS_VECTOR=1; the build writes each script with its own name for @VS_EXTNAME@ and the
-- other for @VS_OTHERNAME@).  The two names, or vecsearch and pgvector, cannot share a
-- database: both define the type vector and the access method hnsw.
DO $$
DECLARE
	other_is_us boolean;
BEGIN
	IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = '@VS_OTHERNAME@') THEN
		SELECT coalesce(bool_or(p.probin LIKE '%vecsearch'), false) INTO other_is_us
		FROM pg_catalog.pg_am a JOIN pg_catalog.pg_proc p ON p.oid = a.amhandler
		WHERE a.amname = 'hnsw';
		RAISE EXCEPTION 'extension "@VS_EXTNAME@" cannot be created in a database that has extension "@VS_OTHERNAME@"'
			USING ERRCODE = 'duplicate_object',
				DETAIL = 'Both define the type vector, its operators and the access method hnsw.',
				HINT = CASE WHEN other_is_us
					THEN 'Extension "@VS_OTHERNAME@" is the same vecsearch under its other name: use it as it is.'
					ELSE 'Extension "@VS_OTHERNAME@" is another vector extension (pgvector): move its data over by dump and restore (README, "Migrating from pgvector"), or use another database.' END;
	END IF;
END
$$;

-- ===================================================================================
-- vector type
-- ===================================================================================

CREATE TYPE vector;

CREATE FUNCTION vector_in(cstring, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_in(cstring, oid, integer) IS 'text input of vector';

CREATE FUNCTION vector_out(vector) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_out(vector) IS 'text output of vector (shortest exact float4 form)';

CREATE FUNCTION vector_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_typmod_in(cstring[]) IS 'typmod of vector(n): its dimensions';

CREATE FUNCTION vector_recv(internal, oid, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_recv(internal, oid, integer) IS 'binary input of vector (pgvector wire format)';

CREATE FUNCTION vector_send(vector) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_send(vector) IS 'binary output of vector (pgvector wire format)';

-- A varlena of int4 alignment: the length word, dim and a reserved int16, then the float4
-- elements (struct Vector, src/vector.h).  STORAGE = main: vectors stay inline in the
-- heap row (no TOAST fetch per row in a sequential scan) up to the page size; larger
-- ones move out of line.  See README "Storage" for the measurement behind this choice.
CREATE TYPE vector (
	INPUT          = vector_in,
	OUTPUT         = vector_out,
	TYPMOD_IN      = vector_typmod_in,
	RECEIVE        = vector_recv,
	SEND           = vector_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT      = int4,
	STORAGE        = main
);
COMMENT ON TYPE vector IS 'float4 vector of 1 to 16000 dimensions, text form [1,2,3]';

-- ===================================================================================
-- vector support functions
-- ===================================================================================

-- planner support
-- vector_distance_support tells the planner what a call costs from the vectors'
-- dimensions (and the TOAST fetch of an out-of-line column); COST 10 applies when the
-- dimensions are unknown.  See README "Exact search".

CREATE FUNCTION vector_distance_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_distance_support(internal) IS 'planner support: the cost of a distance call from the vectors'' dimensions';

-- distances behind the operators and the hnsw operator classes

CREATE FUNCTION vector_l2_squared_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION vector_l2_squared_distance(vector, vector) IS 'squared L2 distance (used by the l2 operator classes)';

CREATE FUNCTION vector_negative_inner_product(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION vector_negative_inner_product(vector, vector) IS 'negative inner product, the <#> operator';

-- arithmetic behind the operators (vector_add is also the sum(vector) step)

CREATE FUNCTION vector_add(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_add(vector, vector) IS 'elementwise sum';

CREATE FUNCTION vector_sub(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_sub(vector, vector) IS 'elementwise difference';

CREATE FUNCTION vector_mul(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_mul(vector, vector) IS 'elementwise product';

CREATE FUNCTION vector_concat(vector, vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_concat(vector, vector) IS 'concatenation';

-- comparison behind the operators and the btree operator class

CREATE FUNCTION vector_lt(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_lt(vector, vector) IS 'less than (elementwise, then by dimensions)';

CREATE FUNCTION vector_le(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_le(vector, vector) IS 'less than or equal';

CREATE FUNCTION vector_eq(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_eq(vector, vector) IS 'equal';

CREATE FUNCTION vector_ne(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_ne(vector, vector) IS 'not equal';

CREATE FUNCTION vector_ge(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_ge(vector, vector) IS 'greater than or equal';

CREATE FUNCTION vector_gt(vector, vector) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_gt(vector, vector) IS 'greater than';

CREATE FUNCTION vector_cmp(vector, vector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_cmp(vector, vector) IS 'btree comparison support';

-- avg(vector): transition, combine and final functions

CREATE FUNCTION vector_accum(double precision[], vector) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_accum(double precision[], vector) IS 'avg(vector) transition: {count, sums}';

CREATE FUNCTION vector_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_combine(double precision[], double precision[]) IS 'avg(vector) combine function';

CREATE FUNCTION vector_avg(double precision[]) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_avg(double precision[]) IS 'avg(vector) final function';

-- the length coercion of vector(n)

CREATE FUNCTION vector(vector, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector(vector, integer, boolean) IS 'checks a vector against a vector(n) typmod';

-- ===================================================================================
-- vector functions
-- ===================================================================================

CREATE FUNCTION l2_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION l2_distance(vector, vector) IS 'Euclidean (L2) distance';

CREATE FUNCTION inner_product(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION inner_product(vector, vector) IS 'inner product';

CREATE FUNCTION cosine_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION cosine_distance(vector, vector) IS '1 - cosine similarity (NaN for a zero vector)';

CREATE FUNCTION l1_distance(vector, vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT vector_distance_support;
COMMENT ON FUNCTION l1_distance(vector, vector) IS 'taxicab (L1) distance';

CREATE FUNCTION vector_dims(vector) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_dims(vector) IS 'number of dimensions';

CREATE FUNCTION vector_norm(vector) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_norm(vector) IS 'Euclidean norm';

CREATE FUNCTION l2_normalize(vector) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_normalize(vector) IS 'unit vector in the same direction (a zero vector stays zero)';

CREATE FUNCTION subvector(vector, integer, integer) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION subvector(vector, integer, integer) IS 'subvector(v, start, count): count elements from 1-based start';

-- ===================================================================================
-- vector casts
-- ===================================================================================

CREATE FUNCTION array_to_vector(integer[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_vector(integer[], integer, boolean) IS 'cast integer[] to vector';

CREATE FUNCTION array_to_vector(real[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_vector(real[], integer, boolean) IS 'cast real[] to vector';

CREATE FUNCTION array_to_vector(double precision[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_vector(double precision[], integer, boolean) IS 'cast double precision[] to vector';

CREATE FUNCTION array_to_vector(numeric[], integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_vector(numeric[], integer, boolean) IS 'cast numeric[] to vector';

CREATE FUNCTION vector_to_float4(vector, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_to_float4(vector, integer, boolean) IS 'cast vector to real[]';

CREATE CAST (vector AS vector)
	WITH FUNCTION vector(vector, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (vector AS vector) IS 'length coercion to vector(n)';

CREATE CAST (vector AS real[])
	WITH FUNCTION vector_to_float4(vector, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (vector AS real[]) IS 'vector to real[] (implicit)';

CREATE CAST (integer[] AS vector)
	WITH FUNCTION array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (integer[] AS vector) IS 'integer[] to vector (on assignment)';

CREATE CAST (real[] AS vector)
	WITH FUNCTION array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (real[] AS vector) IS 'real[] to vector (on assignment)';

CREATE CAST (double precision[] AS vector)
	WITH FUNCTION array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (double precision[] AS vector) IS 'double precision[] to vector (on assignment)';

CREATE CAST (numeric[] AS vector)
	WITH FUNCTION array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (numeric[] AS vector) IS 'numeric[] to vector (on assignment)';

-- ===================================================================================
-- vector aggregates
-- ===================================================================================

CREATE AGGREGATE avg(vector) (
	SFUNC = vector_accum,
	STYPE = double precision[],
	FINALFUNC = vector_avg,
	COMBINEFUNC = vector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE avg(vector) IS 'elementwise mean (parallel)';

CREATE AGGREGATE sum(vector) (
	SFUNC = vector_add,
	STYPE = vector,
	COMBINEFUNC = vector_add,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE sum(vector) IS 'elementwise sum (parallel)';

-- ===================================================================================
-- vector operators
-- ===================================================================================

CREATE OPERATOR <-> (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = l2_distance,
	COMMUTATOR = '<->'
);
COMMENT ON OPERATOR <->(vector, vector) IS 'L2 distance';

CREATE OPERATOR <#> (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_negative_inner_product,
	COMMUTATOR = '<#>'
);
COMMENT ON OPERATOR <#>(vector, vector) IS 'negative inner product';

CREATE OPERATOR <=> (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = cosine_distance,
	COMMUTATOR = '<=>'
);
COMMENT ON OPERATOR <=>(vector, vector) IS 'cosine distance';

CREATE OPERATOR <+> (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = l1_distance,
	COMMUTATOR = '<+>'
);
COMMENT ON OPERATOR <+>(vector, vector) IS 'L1 distance';

CREATE OPERATOR + (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_add,
	COMMUTATOR = '+'
);
COMMENT ON OPERATOR +(vector, vector) IS 'elementwise sum';

CREATE OPERATOR - (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_sub
);
COMMENT ON OPERATOR -(vector, vector) IS 'elementwise difference';

CREATE OPERATOR * (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_mul,
	COMMUTATOR = '*'
);
COMMENT ON OPERATOR *(vector, vector) IS 'elementwise product';

CREATE OPERATOR || (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_concat
);
COMMENT ON OPERATOR ||(vector, vector) IS 'concatenation';

CREATE OPERATOR < (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_lt,
	COMMUTATOR = '>', NEGATOR = '>=',
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR <(vector, vector) IS 'less than';

CREATE OPERATOR <= (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_le,
	COMMUTATOR = '>=', NEGATOR = '>',
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR <=(vector, vector) IS 'less than or equal';

CREATE OPERATOR = (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_eq,
	COMMUTATOR = '=', NEGATOR = '<>',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR =(vector, vector) IS 'equal';

CREATE OPERATOR <> (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_ne,
	COMMUTATOR = '<>', NEGATOR = '=',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR <>(vector, vector) IS 'not equal';

CREATE OPERATOR >= (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_ge,
	COMMUTATOR = '<=', NEGATOR = '<',
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR >=(vector, vector) IS 'greater than or equal';

CREATE OPERATOR > (
	LEFTARG = vector, RIGHTARG = vector, FUNCTION = vector_gt,
	COMMUTATOR = '<', NEGATOR = '<=',
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR >(vector, vector) IS 'greater than';

-- ===================================================================================
-- access method
-- ===================================================================================

-- Labelled as PostgreSQL labels its own handlers (bthandler, brinhandler): the server
-- calls it directly, with no argument, to get the method's callbacks.
CREATE FUNCTION hnswhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hnswhandler(internal) IS 'handler of the hnsw index access method';

CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER hnswhandler;
COMMENT ON ACCESS METHOD hnsw IS 'hierarchical navigable small world graph index for approximate nearest-neighbour search';

-- ===================================================================================
-- operator classes
-- ===================================================================================

CREATE OPERATOR CLASS vector_ops
	DEFAULT FOR TYPE vector USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 vector_cmp(vector, vector);
COMMENT ON OPERATOR CLASS vector_ops USING btree IS 'btree ordering of vectors (elementwise, then by dimensions)';

-- hnsw: support function 1 is the distance the graph is built on; function 2 (the
-- norm) marks cosine: vectors are normalised and compared by inner product.

CREATE OPERATOR CLASS vector_l2_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector);
COMMENT ON OPERATOR CLASS vector_l2_ops USING hnsw IS 'hnsw on L2 distance (ORDER BY <->)';

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector);
COMMENT ON OPERATOR CLASS vector_ip_ops USING hnsw IS 'hnsw on negative inner product (ORDER BY <#>)';

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 2 vector_norm(vector);
COMMENT ON OPERATOR CLASS vector_cosine_ops USING hnsw IS 'hnsw on cosine distance (ORDER BY <=>); zero vectors are not indexed';

CREATE OPERATOR CLASS vector_l1_ops
	FOR TYPE vector USING hnsw AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 l1_distance(vector, vector);
COMMENT ON OPERATOR CLASS vector_l1_ops USING hnsw IS 'hnsw on L1 distance (ORDER BY <+>)';

-- ===================================================================================
-- table and index functions
-- ===================================================================================

-- These read a table or an index named at run time.  VOLATILE: they are whole scans,
-- which the planner must not run while estimating a plan (it evaluates STABLE calls for
-- that).  PARALLEL RESTRICTED: the relation may be temporary, and only the leader can
-- read those; nothing they do is forbidden in parallel mode (no write, no setting
-- changed).  CALLED ON NULL INPUT where a NULL argument has a meaning or its own error.

CREATE FUNCTION vecsearch_knn(tbl regclass, col name, queries vector[], k integer DEFAULT 10,
	metric text DEFAULT 'l2')
	RETURNS TABLE(query integer, rank integer, row_tid tid, distance double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;
COMMENT ON FUNCTION vecsearch_knn(regclass, name, vector[], integer, text) IS
	'exact k nearest rows of each query vector in one pass over the table; metric l2, ip, cosine or l1';

CREATE FUNCTION vecsearch_index_check(idx regclass, OUT slot bigint, OUT problem text)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION vecsearch_index_check(regclass) IS 'structural check of an hnsw index: one row per problem, none when healthy';

-- ===================================================================================
-- recall research
-- ===================================================================================

-- The LID functions read a table as vecsearch_knn does (same labels).  The recall
-- functions run index scans through SPI with hnsw settings of their own and time them:
-- VOLATILE, PARALLEL UNSAFE (a setting cannot change in parallel mode).
-- vecsearch_synthetic is a pure function of its arguments.

CREATE FUNCTION vecsearch_lid(tbl regclass, col name, k integer DEFAULT 100,
	sample integer DEFAULT NULL, metric text DEFAULT 'l2', seed integer DEFAULT 0)
	RETURNS TABLE(row_tid tid, lid double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;
COMMENT ON FUNCTION vecsearch_lid(regclass, name, integer, integer, text, integer) IS
	'pointwise local intrinsic dimensionality (MLE of Amsaleg et al.) of every row, or of a seeded sample, from its k exact nearest neighbours';

CREATE FUNCTION vecsearch_lid_of(tbl regclass, col name, v vector, k integer DEFAULT 100,
	metric text DEFAULT 'l2')
	RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;
COMMENT ON FUNCTION vecsearch_lid_of(regclass, name, vector, integer, text) IS
	'local intrinsic dimensionality of any vector from its k exact nearest rows of a table';

CREATE FUNCTION vecsearch_lid_summary(tbl regclass, col name, k integer DEFAULT 100,
	sample integer DEFAULT NULL, metric text DEFAULT 'l2', seed integer DEFAULT 0)
	RETURNS TABLE(rows_used bigint, k integer, lid_harmonic_mean double precision,
		lid_p10 double precision, lid_p50 double precision, lid_p90 double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL RESTRICTED;
COMMENT ON FUNCTION vecsearch_lid_summary(regclass, name, integer, integer, text, integer) IS
	'harmonic-mean LID and its 10th, 50th and 90th percentiles over the rows (or a seeded sample)';

CREATE FUNCTION vecsearch_synthetic(n integer, dim integer, intrinsic_dim integer,
	seed integer DEFAULT 0)
	RETURNS SETOF vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
	ROWS 1000;
COMMENT ON FUNCTION vecsearch_synthetic(integer, integer, integer, integer) IS
	'seeded random vectors on a random intrinsic_dim-dimensional linear subspace of dim dimensions';

CREATE FUNCTION vecsearch_recall(idx regclass, k integer DEFAULT 10, queries integer DEFAULT 200,
	ef_search integer[] DEFAULT '{10,20,40,80,160,320}', seed integer DEFAULT 0,
	query_tbl regclass DEFAULT NULL, query_col name DEFAULT NULL)
	RETURNS TABLE(ef_search integer, recall double precision, recall_min double precision,
		recall_p05 double precision, index_ms double precision, exact_ms double precision,
		speedup double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION vecsearch_recall(regclass, integer, integer, integer[], integer, regclass, name) IS
	'recall@k (tie-aware, against the exact scan) and latency of an hnsw index for each ef_search, on sampled or held-out queries';

CREATE FUNCTION vecsearch_recall_by_lid(idx regclass, k integer DEFAULT 10,
	queries integer DEFAULT 200, ef_search integer[] DEFAULT '{10,40}', seed integer DEFAULT 0,
	lid_k integer DEFAULT 100, query_tbl regclass DEFAULT NULL, query_col name DEFAULT NULL)
	RETURNS TABLE(ef_search integer, lid_quintile integer, lid_min double precision,
		lid_max double precision, queries integer, recall double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION vecsearch_recall_by_lid(regclass, integer, integer, integer[], integer, integer, regclass, name) IS
	'recall@k of an hnsw index for each ef_search and quintile of the queries'' local intrinsic dimensionality';

CREATE FUNCTION vecsearch_tune(idx regclass, target_recall double precision DEFAULT 0.95,
	k integer DEFAULT 10, queries integer DEFAULT 200, seed integer DEFAULT 0,
	query_tbl regclass DEFAULT NULL, query_col name DEFAULT NULL)
	RETURNS TABLE(ef_search integer, recall double precision, index_ms double precision)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;
COMMENT ON FUNCTION vecsearch_tune(regclass, double precision, integer, integer, integer, regclass, name) IS
	'smallest ef_search (1 to 1000) whose recall@k on the sample reaches target_recall, or the best found';

-- ===================================================================================
-- multi-vector retrieval
-- ===================================================================================

CREATE FUNCTION max_sim(q vector[], d vector[]) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION max_sim(vector[], vector[]) IS
	'Chamfer (MaxSim) similarity: sum over the vectors of q of the largest inner product with a vector of d';

CREATE FUNCTION fde_query(vectors vector[], repetitions integer DEFAULT 20,
	simhash_bits integer DEFAULT 5, projection_dim integer DEFAULT 16, seed integer DEFAULT 42,
	final_dim integer DEFAULT 0) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fde_query(vector[], integer, integer, integer, integer, integer) IS
	'MUVERA fixed-dimensional encoding of a query vector set (blocks are sums); inner product with fde_document approximates max_sim';

CREATE FUNCTION fde_document(vectors vector[], repetitions integer DEFAULT 20,
	simhash_bits integer DEFAULT 5, projection_dim integer DEFAULT 16, seed integer DEFAULT 42,
	final_dim integer DEFAULT 0, fill_empty boolean DEFAULT true) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fde_document(vector[], integer, integer, integer, integer, integer, boolean) IS
	'MUVERA fixed-dimensional encoding of a document vector set (blocks are means, empty blocks filled from the Hamming-nearest vector)';

-- ==== new in 0.2.0: the objects below are created by CREATE EXTENSION and by
-- ALTER EXTENSION vecsearch UPDATE from 0.1.0 alike.
-- ===================================================================================
-- sparsevec
-- ===================================================================================

-- The sparsevec type, with pgvector's names, argument types and casts so that pgvector
-- dumps restore unchanged.  Text form {1:1.5,3:2}/5 (1-based indices), binary form int32
-- dim, nnz, unused, then nnz 0-based int32 indices and nnz float4 values.  The hnsw
-- operator classes and the halfvec casts are not here yet.

CREATE TYPE sparsevec;

CREATE FUNCTION sparsevec_in(cstring, oid, integer) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_in(cstring, oid, integer) IS 'text input of sparsevec';

CREATE FUNCTION sparsevec_out(sparsevec) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_out(sparsevec) IS 'text output of sparsevec (shortest exact float4 form)';

CREATE FUNCTION sparsevec_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_typmod_in(cstring[]) IS 'typmod of sparsevec(n): its dimensions';

CREATE FUNCTION sparsevec_recv(internal, oid, integer) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_recv(internal, oid, integer) IS 'binary input of sparsevec (pgvector wire format)';

CREATE FUNCTION sparsevec_send(sparsevec) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_send(sparsevec) IS 'binary output of sparsevec (pgvector wire format)';

-- struct SparseVector (src/sparsevec.h): the length word, dim, nnz, a reserved int32,
-- then the indices and the values.  STORAGE = main, as for vector: values stay inline in
-- the heap row up to the page size (pgvector uses external, which moves every row over
-- 2 KB, about 250 elements, to the TOAST table).
CREATE TYPE sparsevec (
	INPUT          = sparsevec_in,
	OUTPUT         = sparsevec_out,
	TYPMOD_IN      = sparsevec_typmod_in,
	RECEIVE        = sparsevec_recv,
	SEND           = sparsevec_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT      = int4,
	STORAGE        = main
);
COMMENT ON TYPE sparsevec IS 'sparse float4 vector of 1 to 1000000000 dimensions and up to 16000 nonzero elements, text form {1:1.5,3:2}/5';

-- distances, norm and normalisation

CREATE FUNCTION l2_distance(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'sparsevec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_distance(sparsevec, sparsevec) IS 'Euclidean (L2) distance';

CREATE FUNCTION inner_product(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'sparsevec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION inner_product(sparsevec, sparsevec) IS 'inner product';

CREATE FUNCTION cosine_distance(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'sparsevec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cosine_distance(sparsevec, sparsevec) IS '1 - cosine similarity (NaN for a zero vector)';

CREATE FUNCTION l1_distance(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'sparsevec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l1_distance(sparsevec, sparsevec) IS 'taxicab (L1) distance';

CREATE FUNCTION l2_norm(sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'sparsevec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_norm(sparsevec) IS 'Euclidean norm';

CREATE FUNCTION l2_normalize(sparsevec) RETURNS sparsevec
	AS 'MODULE_PATHNAME', 'sparsevec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_normalize(sparsevec) IS 'unit vector in the same direction (a zero vector stays zero)';

-- behind the operators and the btree operator class

CREATE FUNCTION sparsevec_l2_squared_distance(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_l2_squared_distance(sparsevec, sparsevec) IS 'squared L2 distance';

CREATE FUNCTION sparsevec_negative_inner_product(sparsevec, sparsevec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_negative_inner_product(sparsevec, sparsevec) IS 'negative inner product, the <#> operator';

CREATE FUNCTION sparsevec_lt(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_lt(sparsevec, sparsevec) IS 'less than (as dense vectors: elementwise, then by dimensions)';

CREATE FUNCTION sparsevec_le(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_le(sparsevec, sparsevec) IS 'less than or equal';

CREATE FUNCTION sparsevec_eq(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_eq(sparsevec, sparsevec) IS 'equal';

CREATE FUNCTION sparsevec_ne(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_ne(sparsevec, sparsevec) IS 'not equal';

CREATE FUNCTION sparsevec_ge(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_ge(sparsevec, sparsevec) IS 'greater than or equal';

CREATE FUNCTION sparsevec_gt(sparsevec, sparsevec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_gt(sparsevec, sparsevec) IS 'greater than';

CREATE FUNCTION sparsevec_cmp(sparsevec, sparsevec) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_cmp(sparsevec, sparsevec) IS 'btree comparison support';

-- casts

CREATE FUNCTION sparsevec(sparsevec, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec(sparsevec, integer, boolean) IS 'checks a sparsevec against a sparsevec(n) typmod';

CREATE FUNCTION vector_to_sparsevec(vector, integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_to_sparsevec(vector, integer, boolean) IS 'cast vector to sparsevec';

CREATE FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) IS 'cast sparsevec to vector (at most 16000 dimensions)';

CREATE FUNCTION array_to_sparsevec(integer[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_sparsevec(integer[], integer, boolean) IS 'cast integer[] to sparsevec';

CREATE FUNCTION array_to_sparsevec(real[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_sparsevec(real[], integer, boolean) IS 'cast real[] to sparsevec';

CREATE FUNCTION array_to_sparsevec(double precision[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_sparsevec(double precision[], integer, boolean) IS 'cast double precision[] to sparsevec';

CREATE FUNCTION array_to_sparsevec(numeric[], integer, boolean) RETURNS sparsevec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_sparsevec(numeric[], integer, boolean) IS 'cast numeric[] to sparsevec';

CREATE CAST (sparsevec AS sparsevec)
	WITH FUNCTION sparsevec(sparsevec, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (sparsevec AS sparsevec) IS 'length coercion to sparsevec(n)';

CREATE CAST (sparsevec AS vector)
	WITH FUNCTION sparsevec_to_vector(sparsevec, integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (sparsevec AS vector) IS 'sparsevec to vector (on assignment)';

CREATE CAST (vector AS sparsevec)
	WITH FUNCTION vector_to_sparsevec(vector, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (vector AS sparsevec) IS 'vector to sparsevec (implicit)';

CREATE CAST (integer[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(integer[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (integer[] AS sparsevec) IS 'integer[] to sparsevec (on assignment)';

CREATE CAST (real[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(real[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (real[] AS sparsevec) IS 'real[] to sparsevec (on assignment)';

CREATE CAST (double precision[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(double precision[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (double precision[] AS sparsevec) IS 'double precision[] to sparsevec (on assignment)';

CREATE CAST (numeric[] AS sparsevec)
	WITH FUNCTION array_to_sparsevec(numeric[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (numeric[] AS sparsevec) IS 'numeric[] to sparsevec (on assignment)';

-- operators

CREATE OPERATOR <-> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = l2_distance,
	COMMUTATOR = '<->'
);
COMMENT ON OPERATOR <->(sparsevec, sparsevec) IS 'L2 distance';

CREATE OPERATOR <#> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_negative_inner_product,
	COMMUTATOR = '<#>'
);
COMMENT ON OPERATOR <#>(sparsevec, sparsevec) IS 'negative inner product';

CREATE OPERATOR <=> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = cosine_distance,
	COMMUTATOR = '<=>'
);
COMMENT ON OPERATOR <=>(sparsevec, sparsevec) IS 'cosine distance';

CREATE OPERATOR <+> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = l1_distance,
	COMMUTATOR = '<+>'
);
COMMENT ON OPERATOR <+>(sparsevec, sparsevec) IS 'L1 distance';

CREATE OPERATOR < (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_lt,
	COMMUTATOR = '>', NEGATOR = '>=',
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR <(sparsevec, sparsevec) IS 'less than';

CREATE OPERATOR <= (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_le,
	COMMUTATOR = '>=', NEGATOR = '>',
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR <=(sparsevec, sparsevec) IS 'less than or equal';

CREATE OPERATOR = (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_eq,
	COMMUTATOR = '=', NEGATOR = '<>',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR =(sparsevec, sparsevec) IS 'equal';

CREATE OPERATOR <> (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_ne,
	COMMUTATOR = '<>', NEGATOR = '=',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR <>(sparsevec, sparsevec) IS 'not equal';

CREATE OPERATOR >= (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_ge,
	COMMUTATOR = '<=', NEGATOR = '<',
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR >=(sparsevec, sparsevec) IS 'greater than or equal';

CREATE OPERATOR > (
	LEFTARG = sparsevec, RIGHTARG = sparsevec, FUNCTION = sparsevec_gt,
	COMMUTATOR = '<', NEGATOR = '<=',
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR >(sparsevec, sparsevec) IS 'greater than';

CREATE OPERATOR CLASS sparsevec_ops
	DEFAULT FOR TYPE sparsevec USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 sparsevec_cmp(sparsevec, sparsevec);
COMMENT ON OPERATOR CLASS sparsevec_ops USING btree IS 'btree ordering of sparse vectors (as dense vectors: elementwise, then by dimensions)';

-- ===================================================================================
-- halfvec
-- ===================================================================================

-- Half-precision vectors (IEEE 754 binary16 elements), pgvector's halfvec: the same
-- names, argument types, cast contexts and operators, so schemas and dumps that use it
-- restore unchanged.  See README "halfvec" and src/README "halfvec".

CREATE TYPE halfvec;

CREATE FUNCTION halfvec_in(cstring, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_in(cstring, oid, integer) IS 'text input of halfvec';

CREATE FUNCTION halfvec_out(halfvec) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_out(halfvec) IS 'text output of halfvec (shortest exact form of each element)';

CREATE FUNCTION halfvec_typmod_in(cstring[]) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_typmod_in(cstring[]) IS 'typmod of halfvec(n): its dimensions';

CREATE FUNCTION halfvec_recv(internal, oid, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_recv(internal, oid, integer) IS 'binary input of halfvec (pgvector wire format)';

CREATE FUNCTION halfvec_send(halfvec) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_send(halfvec) IS 'binary output of halfvec (pgvector wire format)';

-- struct HalfVector (src/halfvec.h): the length word, dim and a reserved int16, then
-- 2-byte elements.  STORAGE = main, as for vector (inline in the heap row up to the
-- page size: 4,000 dimensions stay inline where vector moves out of line past 2,000).
CREATE TYPE halfvec (
	INPUT          = halfvec_in,
	OUTPUT         = halfvec_out,
	TYPMOD_IN      = halfvec_typmod_in,
	RECEIVE        = halfvec_recv,
	SEND           = halfvec_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT      = int4,
	STORAGE        = main
);
COMMENT ON TYPE halfvec IS 'half-precision (float2) vector of 1 to 16000 dimensions, text form [1,2,3]';

-- planner support: vector_distance_support's pricing for 2-byte elements

CREATE FUNCTION halfvec_distance_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_distance_support(internal) IS 'planner support: the cost of a halfvec distance call from the dimensions';

-- distances behind the operators

CREATE FUNCTION halfvec_l2_squared_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION halfvec_l2_squared_distance(halfvec, halfvec) IS 'squared L2 distance';

CREATE FUNCTION halfvec_negative_inner_product(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION halfvec_negative_inner_product(halfvec, halfvec) IS 'negative inner product, the <#> operator';

-- arithmetic behind the operators (halfvec_add is also the sum(halfvec) step)

CREATE FUNCTION halfvec_add(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_add(halfvec, halfvec) IS 'elementwise sum';

CREATE FUNCTION halfvec_sub(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_sub(halfvec, halfvec) IS 'elementwise difference';

CREATE FUNCTION halfvec_mul(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_mul(halfvec, halfvec) IS 'elementwise product';

CREATE FUNCTION halfvec_concat(halfvec, halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_concat(halfvec, halfvec) IS 'concatenation';

-- comparison behind the operators and the btree operator class

CREATE FUNCTION halfvec_lt(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_lt(halfvec, halfvec) IS 'less than (elementwise, then by dimensions)';

CREATE FUNCTION halfvec_le(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_le(halfvec, halfvec) IS 'less than or equal';

CREATE FUNCTION halfvec_eq(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_eq(halfvec, halfvec) IS 'equal';

CREATE FUNCTION halfvec_ne(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_ne(halfvec, halfvec) IS 'not equal';

CREATE FUNCTION halfvec_ge(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_ge(halfvec, halfvec) IS 'greater than or equal';

CREATE FUNCTION halfvec_gt(halfvec, halfvec) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_gt(halfvec, halfvec) IS 'greater than';

CREATE FUNCTION halfvec_cmp(halfvec, halfvec) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_cmp(halfvec, halfvec) IS 'btree comparison support';

-- avg(halfvec): transition, combine and final functions (avg(vector)'s state)

CREATE FUNCTION halfvec_accum(double precision[], halfvec) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_accum(double precision[], halfvec) IS 'avg(halfvec) transition: {count, sums}';

CREATE FUNCTION halfvec_combine(double precision[], double precision[]) RETURNS double precision[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_combine(double precision[], double precision[]) IS 'avg(halfvec) combine function';

CREATE FUNCTION halfvec_avg(double precision[]) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_avg(double precision[]) IS 'avg(halfvec) final function';

-- functions

CREATE FUNCTION l2_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l2_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION l2_distance(halfvec, halfvec) IS 'Euclidean (L2) distance';

CREATE FUNCTION inner_product(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_inner_product' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION inner_product(halfvec, halfvec) IS 'inner product';

CREATE FUNCTION cosine_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_cosine_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION cosine_distance(halfvec, halfvec) IS '1 - cosine similarity (NaN for a zero vector)';

CREATE FUNCTION l1_distance(halfvec, halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l1_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10
	SUPPORT halfvec_distance_support;
COMMENT ON FUNCTION l1_distance(halfvec, halfvec) IS 'taxicab (L1) distance';

CREATE FUNCTION vector_dims(halfvec) RETURNS integer
	AS 'MODULE_PATHNAME', 'halfvec_vector_dims' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_dims(halfvec) IS 'number of dimensions';

CREATE FUNCTION l2_norm(halfvec) RETURNS double precision
	AS 'MODULE_PATHNAME', 'halfvec_l2_norm' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_norm(halfvec) IS 'Euclidean norm';

CREATE FUNCTION l2_normalize(halfvec) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_l2_normalize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION l2_normalize(halfvec) IS 'unit vector in the same direction (a zero vector stays zero)';

CREATE FUNCTION binary_quantize(halfvec) RETURNS bit
	AS 'MODULE_PATHNAME', 'halfvec_binary_quantize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION binary_quantize(halfvec) IS 'bit string with bit i set where element i is positive';

CREATE FUNCTION subvector(halfvec, integer, integer) RETURNS halfvec
	AS 'MODULE_PATHNAME', 'halfvec_subvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION subvector(halfvec, integer, integer) IS 'subvector(v, start, count): count elements from 1-based start';

-- casts (contexts as pgvector's: vector -> halfvec implicit, halfvec -> vector and
-- halfvec -> real[] on assignment, arrays -> halfvec on assignment)

CREATE FUNCTION halfvec(halfvec, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec(halfvec, integer, boolean) IS 'checks a halfvec against a halfvec(n) typmod';

CREATE FUNCTION halfvec_to_vector(halfvec, integer, boolean) RETURNS vector
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_to_vector(halfvec, integer, boolean) IS 'cast halfvec to vector (exact)';

CREATE FUNCTION vector_to_halfvec(vector, integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION vector_to_halfvec(vector, integer, boolean) IS 'cast vector to halfvec (nearest half; error beyond 65504)';

CREATE FUNCTION array_to_halfvec(integer[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_halfvec(integer[], integer, boolean) IS 'cast integer[] to halfvec';

CREATE FUNCTION array_to_halfvec(real[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_halfvec(real[], integer, boolean) IS 'cast real[] to halfvec';

CREATE FUNCTION array_to_halfvec(double precision[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_halfvec(double precision[], integer, boolean) IS 'cast double precision[] to halfvec';

CREATE FUNCTION array_to_halfvec(numeric[], integer, boolean) RETURNS halfvec
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION array_to_halfvec(numeric[], integer, boolean) IS 'cast numeric[] to halfvec';

CREATE FUNCTION halfvec_to_float4(halfvec, integer, boolean) RETURNS real[]
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION halfvec_to_float4(halfvec, integer, boolean) IS 'cast halfvec to real[]';

CREATE CAST (halfvec AS halfvec)
	WITH FUNCTION halfvec(halfvec, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (halfvec AS halfvec) IS 'length coercion to halfvec(n)';

CREATE CAST (halfvec AS vector)
	WITH FUNCTION halfvec_to_vector(halfvec, integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (halfvec AS vector) IS 'halfvec to vector (on assignment)';

CREATE CAST (vector AS halfvec)
	WITH FUNCTION vector_to_halfvec(vector, integer, boolean) AS IMPLICIT;
COMMENT ON CAST (vector AS halfvec) IS 'vector to halfvec (implicit)';

CREATE CAST (halfvec AS real[])
	WITH FUNCTION halfvec_to_float4(halfvec, integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (halfvec AS real[]) IS 'halfvec to real[] (on assignment)';

CREATE CAST (integer[] AS halfvec)
	WITH FUNCTION array_to_halfvec(integer[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (integer[] AS halfvec) IS 'integer[] to halfvec (on assignment)';

CREATE CAST (real[] AS halfvec)
	WITH FUNCTION array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (real[] AS halfvec) IS 'real[] to halfvec (on assignment)';

CREATE CAST (double precision[] AS halfvec)
	WITH FUNCTION array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (double precision[] AS halfvec) IS 'double precision[] to halfvec (on assignment)';

CREATE CAST (numeric[] AS halfvec)
	WITH FUNCTION array_to_halfvec(numeric[], integer, boolean) AS ASSIGNMENT;
COMMENT ON CAST (numeric[] AS halfvec) IS 'numeric[] to halfvec (on assignment)';

-- aggregates

CREATE AGGREGATE avg(halfvec) (
	SFUNC = halfvec_accum,
	STYPE = double precision[],
	FINALFUNC = halfvec_avg,
	COMBINEFUNC = halfvec_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE avg(halfvec) IS 'elementwise mean, summed in double precision (parallel)';

CREATE AGGREGATE sum(halfvec) (
	SFUNC = halfvec_add,
	STYPE = halfvec,
	COMBINEFUNC = halfvec_add,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE sum(halfvec) IS 'elementwise sum, rounded to half at each step (parallel)';

-- operators

CREATE OPERATOR <-> (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = l2_distance,
	COMMUTATOR = '<->'
);
COMMENT ON OPERATOR <->(halfvec, halfvec) IS 'L2 distance';

CREATE OPERATOR <#> (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_negative_inner_product,
	COMMUTATOR = '<#>'
);
COMMENT ON OPERATOR <#>(halfvec, halfvec) IS 'negative inner product';

CREATE OPERATOR <=> (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = cosine_distance,
	COMMUTATOR = '<=>'
);
COMMENT ON OPERATOR <=>(halfvec, halfvec) IS 'cosine distance';

CREATE OPERATOR <+> (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = l1_distance,
	COMMUTATOR = '<+>'
);
COMMENT ON OPERATOR <+>(halfvec, halfvec) IS 'L1 distance';

CREATE OPERATOR + (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_add,
	COMMUTATOR = '+'
);
COMMENT ON OPERATOR +(halfvec, halfvec) IS 'elementwise sum';

CREATE OPERATOR - (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_sub
);
COMMENT ON OPERATOR -(halfvec, halfvec) IS 'elementwise difference';

CREATE OPERATOR * (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_mul,
	COMMUTATOR = '*'
);
COMMENT ON OPERATOR *(halfvec, halfvec) IS 'elementwise product';

CREATE OPERATOR || (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_concat
);
COMMENT ON OPERATOR ||(halfvec, halfvec) IS 'concatenation';

CREATE OPERATOR < (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_lt,
	COMMUTATOR = '>', NEGATOR = '>=',
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
COMMENT ON OPERATOR <(halfvec, halfvec) IS 'less than';

CREATE OPERATOR <= (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_le,
	COMMUTATOR = '>=', NEGATOR = '>',
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
COMMENT ON OPERATOR <=(halfvec, halfvec) IS 'less than or equal';

CREATE OPERATOR = (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_eq,
	COMMUTATOR = '=', NEGATOR = '<>',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR =(halfvec, halfvec) IS 'equal';

CREATE OPERATOR <> (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_ne,
	COMMUTATOR = '<>', NEGATOR = '=',
	RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON OPERATOR <>(halfvec, halfvec) IS 'not equal';

CREATE OPERATOR >= (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_ge,
	COMMUTATOR = '<=', NEGATOR = '<',
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
COMMENT ON OPERATOR >=(halfvec, halfvec) IS 'greater than or equal';

CREATE OPERATOR > (
	LEFTARG = halfvec, RIGHTARG = halfvec, FUNCTION = halfvec_gt,
	COMMUTATOR = '<', NEGATOR = '<=',
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
COMMENT ON OPERATOR >(halfvec, halfvec) IS 'greater than';

-- btree ordering (hnsw operator classes for halfvec come with the next index format)

CREATE OPERATOR CLASS halfvec_ops
	DEFAULT FOR TYPE halfvec USING btree AS
	OPERATOR 1 < ,
	OPERATOR 2 <= ,
	OPERATOR 3 = ,
	OPERATOR 4 >= ,
	OPERATOR 5 > ,
	FUNCTION 1 halfvec_cmp(halfvec, halfvec);
COMMENT ON OPERATOR CLASS halfvec_ops USING btree IS 'ordering of halfvec (elementwise, then by dimensions)';

-- ===================================================================================
-- bit
-- ===================================================================================

-- Functions and operators on PostgreSQL's bit strings for binary-quantized search, as
-- pgvector has them.  See README "bit".

CREATE FUNCTION hamming_distance(bit, bit) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION hamming_distance(bit, bit) IS 'Hamming distance: the number of differing bits';

CREATE FUNCTION jaccard_distance(bit, bit) RETURNS double precision
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION jaccard_distance(bit, bit) IS 'Jaccard distance: 1 - |a AND b| / |a OR b| (1 when no bit is shared)';

CREATE FUNCTION binary_quantize(vector) RETURNS bit
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION binary_quantize(vector) IS 'bit string with bit i set where element i is positive';

CREATE OPERATOR <~> (
	LEFTARG = bit, RIGHTARG = bit, FUNCTION = hamming_distance,
	COMMUTATOR = '<~>'
);
COMMENT ON OPERATOR <~>(bit, bit) IS 'Hamming distance';

CREATE OPERATOR <%> (
	LEFTARG = bit, RIGHTARG = bit, FUNCTION = jaccard_distance,
	COMMUTATOR = '<%>'
);
COMMENT ON OPERATOR <%>(bit, bit) IS 'Jaccard distance';
