-- vecsearch 0.1.0 -> 0.2.0: what changes for an existing database.  The build appends
-- the objects new in 0.2.0 (the end of sql/vecsearch.sql) to make the upgrade script.
\echo Use "ALTER EXTENSION vecsearch UPDATE TO '0.2.0'" to load this file. \quit

-- hnsw indexes move to on-disk format 2 (codes for the graph walk).  An index built by
-- vecsearch 0.1 is refused until it is rebuilt; SQL cannot tell which library built an
-- index, so every hnsw index is named, with the command (as a WARNING: an extension
-- script runs with client_min_messages at least warning).
DO $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS idx
		FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		WHERE a.amname = 'hnsw' AND c.relkind = 'i'
		ORDER BY 1
	LOOP
		RAISE WARNING 'hnsw index % must be rebuilt if vecsearch 0.1 built it: REINDEX INDEX %;', r.idx, r.idx;
		n := n + 1;
	END LOOP;
	IF n > 0 THEN
		RAISE WARNING '% hnsw index(es): one built by vecsearch 0.1 fails with "has on-disk format 1" until it is rebuilt', n;
	END IF;
END
$$;
