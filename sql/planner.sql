-- The planner's cost of a distance call (vector_distance_support): it grows with the
-- dimensions, and a column of out-of-line vectors pays a TOAST fetch per row, so an hnsw
-- index is preferred to sorting a table of large vectors, while a tiny table of small
-- vectors is still sorted.

-- 600 vectors of 3,000 dimensions (12 KB each: stored out of line)
CREATE TABLE big_vecs (id int, v vector(3000));
INSERT INTO big_vecs SELECT i, v FROM generate_series(1, 600) i,
	LATERAL (SELECT v FROM vecsearch_synthetic(1, 3000, 4, i) v) s;
CREATE INDEX big_vecs_idx ON big_vecs USING hnsw (v vector_l2_ops);
ANALYZE big_vecs;
SELECT pg_relation_size('big_vecs') < 200000 AS heap_is_small,
	   pg_total_relation_size('big_vecs') > 6000000 AS vectors_are_out_of_line;
EXPLAIN (COSTS OFF) SELECT id FROM big_vecs ORDER BY v <-> (SELECT v FROM big_vecs WHERE id = 7) LIMIT 10;
SELECT id FROM big_vecs ORDER BY v <-> (SELECT v FROM big_vecs WHERE id = 7) LIMIT 1;

-- the same rows as a function call and with a typmod-less column
CREATE TABLE big_any (id int, v vector);
INSERT INTO big_any SELECT * FROM big_vecs;
CREATE INDEX ON big_any USING hnsw ((v::vector(3000)) vector_l2_ops);
ANALYZE big_any;
EXPLAIN (COSTS OFF) SELECT id FROM big_any ORDER BY v::vector(3000) <-> (SELECT v FROM big_vecs WHERE id = 7) LIMIT 10;

-- a tiny table of small vectors is still sorted, not scanned through its index
CREATE TABLE small_vecs (id int, v vector(3));
INSERT INTO small_vecs VALUES (1, '[1,2,3]'), (2, '[3,2,1]'), (3, '[0,0,1]');
CREATE INDEX ON small_vecs USING hnsw (v vector_l2_ops);
ANALYZE small_vecs;
EXPLAIN (COSTS OFF) SELECT id FROM small_vecs ORDER BY v <-> '[1,1,1]' LIMIT 2;

-- an hnsw index cannot be scanned without an ORDER BY distance: the planner never picks it
-- for such a scan, not even with sequential scans disabled (count(*) needs no column, so an
-- index-only scan of any index qualifies; a partial index matches a WHERE on its predicate)
CREATE TABLE plain_scan (id int, cat int, v vector(3));
INSERT INTO plain_scan SELECT i, i % 10, ARRAY[i % 7, i % 11, i % 13] FROM generate_series(1, 5000) i;
INSERT INTO plain_scan VALUES (0, 3, NULL);
CREATE INDEX plain_scan_v ON plain_scan USING hnsw (v vector_l2_ops);
CREATE INDEX plain_scan_cat3 ON plain_scan USING hnsw (v vector_cosine_ops) WHERE cat = 3;
ANALYZE plain_scan;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM plain_scan;
SELECT count(*) FROM plain_scan;
EXPLAIN (COSTS OFF) SELECT count(*) FROM plain_scan WHERE cat = 3;
SELECT count(*) FROM plain_scan WHERE cat = 3;
SELECT count(*) FROM plain_scan WHERE cat = 3 AND v IS NULL;
-- with an ORDER BY distance the index is still used
EXPLAIN (COSTS OFF) SELECT id FROM plain_scan WHERE cat = 3 ORDER BY v <=> '[1,2,3]' LIMIT 3;
RESET enable_seqscan;

DROP TABLE big_vecs, big_any, small_vecs, plain_scan;
