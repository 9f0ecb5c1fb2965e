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

-- (end of section: multi-vector retrieval)
