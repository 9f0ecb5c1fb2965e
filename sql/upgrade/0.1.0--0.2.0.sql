-- vecsearch 0.1.0 -> 0.2.0: what changes for an existing database.  The build appends
-- the objects new in 0.2.0 (the end of sql/vecsearch.sql) to make the upgrade script.
\echo Use "ALTER EXTENSION vecsearch UPDATE TO '0.2.0'" to load this file. \quit

-- hnsw indexes move to on-disk format 2 (codes for the graph walk).  An index built
-- by 0.1.0 is refused until it is rebuilt: name every one, with the command.
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
		RAISE NOTICE 'hnsw index % has on-disk format 1: run REINDEX INDEX %;', r.idx, r.idx;
		n := n + 1;
	END LOOP;
	IF n > 0 THEN
		RAISE NOTICE '% hnsw index(es) must be rebuilt with REINDEX before they can be used', n;
	END IF;
END
$$;
