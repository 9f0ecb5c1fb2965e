-- vecsearch: the one install source.  The build copies it to vecsearch--<version>.sql.
-- Sections: the vector type; operators and functions; aggregates; operator classes;
-- exact KNN; hnsw access method; recall research (LID, recall reports, synthetic data);
-- multi-vector retrieval (MUVERA).  Every object has a COMMENT.

\echo Use "CREATE EXTENSION vecsearch" to load this file. \quit

-- ===================================================================================
-- Section: the vector type
-- ===================================================================================

-- (end of section: the vector type)

-- ===================================================================================
-- Section: exact KNN
-- ===================================================================================

-- (end of section: exact KNN)

-- ===================================================================================
-- Section: hnsw access method
-- ===================================================================================

-- (end of section: hnsw access method)

-- ===================================================================================
-- Section: recall research (LID, recall reports, synthetic data)
-- ===================================================================================

-- (end of section: recall research)

-- ===================================================================================
-- Section: multi-vector retrieval (MUVERA)
-- ===================================================================================

CREATE FUNCTION max_sim(q vector[], d vector[]) RETURNS float8
	AS 'MODULE_PATHNAME', 'max_sim' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION max_sim(vector[], vector[]) IS
	'Chamfer (MaxSim) similarity: sum over the vectors of q of the largest inner product with a vector of d';

CREATE FUNCTION fde_query(vectors vector[], repetitions int DEFAULT 20,
		simhash_bits int DEFAULT 5, projection_dim int DEFAULT 16, seed int DEFAULT 42,
		final_dim int DEFAULT 0) RETURNS vector
	AS 'MODULE_PATHNAME', 'fde_query' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fde_query(vector[], int, int, int, int, int) IS
	'MUVERA fixed-dimensional encoding of a query vector set (blocks are sums); inner product with fde_document approximates max_sim';

CREATE FUNCTION fde_document(vectors vector[], repetitions int DEFAULT 20,
		simhash_bits int DEFAULT 5, projection_dim int DEFAULT 16, seed int DEFAULT 42,
		final_dim int DEFAULT 0, fill_empty boolean DEFAULT true) RETURNS vector
	AS 'MODULE_PATHNAME', 'fde_document' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION fde_document(vector[], int, int, int, int, int, boolean) IS
	'MUVERA fixed-dimensional encoding of a document vector set (blocks are means, empty blocks filled from the Hamming-nearest vector)';

-- (end of section: multi-vector retrieval)
