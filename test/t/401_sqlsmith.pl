# Random queries (sqlsmith) against a database with the extension: tables of vectors of 1,
# 3, 16, 128 and 2,100 dimensions with NULLs, zero vectors and duplicates, hnsw indexes of
# every operator class (a partial one, an expression one, an empty one), views that scan
# them in distance order, and scalar wrappers of the set-returning functions.  Several
# passes with different planner and scan settings.  Bounded by the number of queries
# (sqlsmith runs each under statement_timeout = 1s, and rolls back its DML).
#
# Asserted: no server process died (no "terminated by signal", no crash recovery), no
# broken connection, no internal error (SQLSTATE class XX: elog, corruption) and no
# "cannot scan hnsw index without order" (the planner must never pick an hnsw index for a
# scan without ORDER BY), and the indexes check clean afterwards.  Printed: queries run,
# ok / errors / timeouts, hnsw index scans and calls of vecsearch's functions.
#
# VS_SQLSMITH_QUERIES=N (queries per pass; default 4000, 500 and 800: the passes that
# force index scans run slower) and VS_SQLSMITH_SEED=S (seed of the first pass, default 1)
# for longer runs outside CI.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;
use IPC::Run;

my $seed = $ENV{VS_SQLSMITH_SEED} || 1;
my ($sqlsmith) = grep { -x $_ } map { "$_/sqlsmith" } split /:/, $ENV{PATH};
if (!defined $sqlsmith)
{
	fail('sqlsmith is installed (Debian package sqlsmith; scripts/install-deps installs it)');
	done_testing();
	exit;
}

my $node = PostgreSQL::Test::Cluster->new('sqlsmith');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_buffers = 64MB
log_statement = none
log_line_prefix = '%m [%p] %e '
track_functions = all
autovacuum_naptime = 1s
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE smith');
$node->safe_psql('smith', q{
CREATE EXTENSION vecsearch;
-- tables of vectors of several sizes, with NULLs, zero vectors and duplicates
CREATE TABLE v1 (id int PRIMARY KEY, v vector(1));
INSERT INTO v1 SELECT i, CASE WHEN i % 10 = 0 THEN NULL ELSE ARRAY[i % 17 - 8] END FROM generate_series(1, 400) i;
CREATE TABLE v3 (id int PRIMARY KEY, cat int, v vector(3));
INSERT INTO v3 SELECT i, i % 5, CASE WHEN i % 13 = 0 THEN NULL WHEN i % 29 = 0 THEN '{0,0,0}'
	ELSE ARRAY[(i * 7919) % 101, (i * 104729) % 97 - 48, i % 3] END FROM generate_series(1, 2000) i;
CREATE TABLE v16 (id int PRIMARY KEY, cat int, v vector);
INSERT INTO v16 SELECT i, i % 7, CASE WHEN i % 11 = 0 THEN NULL ELSE v END
	FROM generate_series(1, 1000) i, LATERAL (SELECT v FROM vecsearch_synthetic(1, 16, 4, i) v) s;
CREATE TABLE v128 (id int PRIMARY KEY, v vector(128), w real[]);
INSERT INTO v128 SELECT i, CASE WHEN i % 9 = 0 THEN NULL ELSE v END, CASE WHEN i % 2 = 0 THEN v::real[] END
	FROM generate_series(1, 600) i, LATERAL (SELECT v FROM vecsearch_synthetic(1, 128, 8, i) v) s;
CREATE TABLE v2100 (id int PRIMARY KEY, v vector(2100));
INSERT INTO v2100 SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE v END
	FROM generate_series(1, 40) i, LATERAL (SELECT v FROM vecsearch_synthetic(1, 2100, 4, i) v) s;
CREATE TABLE empty_vecs (id int, v vector(3));
CREATE INDEX ON v1 USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 4);
CREATE INDEX ON v3 USING hnsw (v vector_cosine_ops);
CREATE INDEX ON v3 USING hnsw (v vector_ip_ops) WHERE cat = 2;
CREATE INDEX ON v16 USING hnsw ((v::vector(16)) vector_l2_ops) WITH (ef_search = 5);
CREATE INDEX ON v128 USING hnsw (v vector_l1_ops);
CREATE INDEX ON v128 USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8, build_order = lid_desc, lid_k = 10);
CREATE INDEX ON v2100 USING hnsw (v vector_l2_ops);
CREATE INDEX ON empty_vecs USING hnsw (v vector_l2_ops);

-- what the wrappers below are given: sqlsmith takes regclass, name and text values from here
CREATE TABLE targets (tbl regclass, col name, idx regclass, metric text, k int);
INSERT INTO targets SELECT c.oid::regclass, coalesce(a.attname, 'v'), i.indexrelid::regclass,
	CASE WHEN o.opcname LIKE '%cosine%' THEN 'cosine' WHEN o.opcname LIKE '%ip%' THEN 'ip'
		 WHEN o.opcname LIKE '%l1%' THEN 'l1' ELSE 'l2' END, 5
	FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
	JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'hnsw'
	JOIN pg_opclass o ON o.oid = i.indclass[0]
	LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0];

-- ordered index scans for sqlsmith to wrap in joins, filters and subqueries (it writes
-- no ORDER BY of its own)
CREATE VIEW near_v1 AS SELECT id, v FROM v1 ORDER BY v <-> '[0.5]' LIMIT 50;
CREATE VIEW near_v3 AS SELECT id, cat, v, v <=> '[1,2,3]' AS d FROM v3 ORDER BY v <=> '[1,2,3]' LIMIT 20;
CREATE VIEW near_v3_cat2 AS SELECT id, v FROM v3 WHERE cat = 2 ORDER BY v <#> '[1,0,-1]' LIMIT 30;
CREATE VIEW near_v16 AS SELECT id, cat, v FROM v16 ORDER BY v::vector(16) <-> (SELECT v FROM v16 WHERE id = 3) LIMIT 15;
CREATE VIEW near_v128 AS SELECT id, v, v <-> (SELECT v FROM v128 WHERE id = 7) AS d FROM v128
	ORDER BY v <-> (SELECT v FROM v128 WHERE id = 7) LIMIT 10;
CREATE VIEW near_v128_l1 AS SELECT id, w FROM v128 ORDER BY v <+> (SELECT v FROM v128 WHERE id = 8) LIMIT 10;
CREATE VIEW near_empty AS SELECT id, v FROM empty_vecs ORDER BY v <-> '[1,1,1]' LIMIT 5;

-- scalar wrappers of the set-returning functions (sqlsmith calls none itself)
CREATE FUNCTION knn_count(tbl regclass, col name, q vector, k int, metric text) RETURNS bigint
	LANGUAGE sql AS $$ SELECT count(*) FROM vecsearch_knn(tbl, col, ARRAY[q], k, metric) $$;
CREATE FUNCTION knn_many(tbl regclass, col name, q vector[], k int) RETURNS float8
	LANGUAGE sql AS $$ SELECT sum(distance) FROM vecsearch_knn(tbl, col, q, k) $$;
CREATE FUNCTION lid_mean(tbl regclass, col name, k int, sample int, metric text) RETURNS float8
	LANGUAGE sql AS $$ SELECT lid_harmonic_mean FROM vecsearch_lid_summary(tbl, col, k, sample, metric) $$;
CREATE FUNCTION lid_first(tbl regclass, col name, k int, sample int) RETURNS float8
	LANGUAGE sql AS $$ SELECT lid FROM vecsearch_lid(tbl, col, k, sample) LIMIT 1 $$;
CREATE FUNCTION index_problems(idx regclass) RETURNS bigint
	LANGUAGE sql AS $$ SELECT count(*) FROM vecsearch_index_check(idx) $$;
CREATE FUNCTION recall_at(idx regclass, k int, queries int, ef int) RETURNS float8
	LANGUAGE sql AS $$ SELECT recall FROM vecsearch_recall(idx, k, queries, ARRAY[ef]) $$;
CREATE FUNCTION tune_ef(idx regclass, target float8, queries int) RETURNS int
	LANGUAGE sql AS $$ SELECT ef_search FROM vecsearch_tune(idx, target, 5, queries) $$;
CREATE FUNCTION synthetic_first(n int, dim int, idim int, seed int) RETURNS vector
	LANGUAGE sql AS $$ SELECT v FROM vecsearch_synthetic(n, dim, idim, seed) v LIMIT 1 $$;
-- index scans with a query vector from sqlsmith (sequential scans and sorts off)
CREATE FUNCTION nearest_v3(q vector, k int) RETURNS int[] LANGUAGE sql
	SET enable_seqscan = off SET enable_sort = off
	AS $$ SELECT array_agg(id) FROM (SELECT id FROM v3 ORDER BY v <=> q LIMIT k) s $$;
CREATE FUNCTION nearest_v3_cat(q vector, c int, k int) RETURNS int[] LANGUAGE sql
	SET enable_seqscan = off SET enable_sort = off SET hnsw.iterative_scan = relaxed_order
	AS $$ SELECT array_agg(id) FROM (SELECT id FROM v3 WHERE cat = c ORDER BY v <#> q LIMIT k) s $$;
CREATE FUNCTION nearest_v128(q vector, k int, ef int) RETURNS int[] LANGUAGE plpgsql
	SET enable_seqscan = off SET enable_sort = off SET hnsw.iterative_scan = strict_order
	AS $$ BEGIN PERFORM set_config('hnsw.ef_search', ef::text, true);
		RETURN (SELECT array_agg(id) FROM (SELECT id FROM v128 ORDER BY v <+> q LIMIT k) s); END $$;
CREATE FUNCTION nearest_v16(q vector, k int) RETURNS int[] LANGUAGE sql
	SET enable_seqscan = off SET enable_sort = off SET vecsearch.exact_scan = on
	AS $$ SELECT array_agg(id) FROM (SELECT id FROM v16 ORDER BY v::vector(16) <-> q LIMIT k) s $$;
CREATE FUNCTION nearest_v2100(q vector, k int) RETURNS int[] LANGUAGE sql
	SET enable_seqscan = off SET enable_sort = off
	AS $$ SELECT array_agg(id) FROM (SELECT id FROM v2100 ORDER BY v <-> q LIMIT k) s $$;
ANALYZE;

-- sqlsmith reads pg_proc without a schema name: a view ahead of pg_catalog in the role's
-- search_path limits the functions it calls to vecsearch's, the wrappers above and a few
-- built-ins (the operators, read from pg_catalog.pg_operator, are all there)
CREATE SCHEMA smithcat;
CREATE VIEW smithcat.pg_proc AS
	SELECT p.oid, p.proname, p.pronamespace, p.prorettype, p.proretset, p.prokind, p.proargtypes
	FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'public'::regnamespace
	   OR p.proname IN ('count', 'min', 'max', 'sum', 'avg', 'abs', 'sqrt', 'random', 'array_length',
		'cardinality', 'array_agg', 'array_append', 'array_cat', 'array_fill', 'float4', 'float8',
		'int4', 'numeric', 'greatest', 'least');
CREATE ROLE smith LOGIN;
GRANT USAGE ON SCHEMA smithcat TO smith;
GRANT SELECT ON ALL TABLES IN SCHEMA smithcat TO smith;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO smith;
ALTER ROLE smith SET search_path = smithcat, pg_catalog, public;
});
my $nfuncs = $node->safe_psql('smith', 'SELECT count(*) FROM smithcat.pg_proc');
note("sqlsmith sees $nfuncs functions and aggregates");

# (name, queries, extra settings of the pass's sessions)
my @passes = (
	[ 'default settings', 4000, '' ],
	[ 'index scans forced, relaxed iterative scans, ef_search 10', 500,
	  '-c enable_seqscan=off -c enable_sort=off -c hnsw.iterative_scan=relaxed_order -c hnsw.ef_search=10' ],
	[ 'exact index scans, strict iterative scans, no parallel plans', 800,
	  '-c enable_seqscan=off -c vecsearch.exact_scan=on -c hnsw.iterative_scan=strict_order -c max_parallel_workers_per_gather=0' ],
);

my %total = (queries => 0, ok => 0, error => 0, broken => 0);
for my $i (0 .. $#passes)
{
	my ($name, $per_pass, $opts) = @{ $passes[$i] };
	$per_pass = $ENV{VS_SQLSMITH_QUERIES} if $ENV{VS_SQLSMITH_QUERIES};
	my $conn = 'host=' . $node->host . ' port=' . $node->port . ' dbname=smith user=smith';
	$conn .= " options='$opts'" if $opts ne '';
	my ($out, $err) = ('', '');
	my $s = $seed + $i;
	# the timer only ends a sqlsmith that hangs; the pass is bounded by its query count
	my $ok = IPC::Run::run([ $sqlsmith, "--target=$conn", '--exclude-catalog', '--verbose',
			"--max-queries=$per_pass", "--seed=$s" ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(1800));
	PostgreSQL::Test::Utils::append_to_file(
		"$PostgreSQL::Test::Utils::log_path/sqlsmith_pass" . ($i + 1) . '.log', $err);
	# progress: one character per query ('.' ok, 'e' error, 't' timeout, 's' syntax
	# error, 'C' or 'c' broken connection) on lines of their own
	my %n = (ok => 0, error => 0, broken => 0);
	for my $line (split /\n/, $err)
	{
		next unless $line =~ /^[.etscC]+$/;
		$n{ok} += ($line =~ tr/.//);
		$n{error} += ($line =~ tr/est//);
		$n{broken} += ($line =~ tr/cC//);
	}
	my ($queries) = $err =~ /.*^queries: (\d+)$/ms;
	$queries //= 0;
	ok($ok, "pass " . ($i + 1) . " ($name, seed $s): sqlsmith ran to the end");
	is($queries, $per_pass, "pass " . ($i + 1) . ": $per_pass queries generated");
	is($n{broken}, 0, "pass " . ($i + 1) . ": no broken connection");
	note("pass " . ($i + 1) . ": $queries queries: $n{ok} ok, $n{error} errors, $n{broken} broken connections");
	if (!$ok || $n{broken})
	{
		diag(substr($err, -3000));
	}
	$total{$_} += $n{$_} for qw(ok error broken);
	$total{queries} += $queries;
}

my $log = slurp_file($node->logfile);
my @dead = server_log_failures($node);
is(scalar(@dead), 0, 'no server process died and the server never ran crash recovery');
if (@dead)
{
	my @what = grep { /Failed process was running/ } split /\n/, $log;
	diag(join("\n", @dead[ 0 .. ($#dead < 20 ? $#dead : 19) ], @what[ 0 .. ($#what < 5 ? $#what : 4) ]));
}
my @internal = grep { /^\S+ \S+ \S+ \[\d+\] XX\d\d\d / } split /\n/, $log;
is(scalar(@internal), 0, 'no internal error (SQLSTATE class XX) in the server log');
diag(join("\n", @internal[ 0 .. ($#internal < 20 ? $#internal : 19) ])) if @internal;
my $timeouts = () = $log =~ /ERROR:  canceling statement due to statement timeout/g;
my $noorder = () = $log =~ /cannot scan hnsw index without order/g;
is($noorder, 0, 'the planner never chose an hnsw index for a scan without ORDER BY');

# Damage: none, ever.  Elements no list links to (left by inserts whose neighbours pruned
# them, and by the removal of sqlsmith's rolled-back inserts) are a loss of recall, not
# damage: counted as they are, and gone after a VACUUM, which relinks them.
is($node->safe_psql('smith', q{SELECT string_agg(t.idx::text || ': ' || c.problem, '; ')
	FROM targets t, vecsearch_index_check(t.idx) c WHERE c.problem NOT LIKE '%not reachable%'}),
	'', 'the checker finds no damage in any hnsw index afterwards');
my $unreachable = $node->safe_psql('smith', q{SELECT count(*) FROM targets t, vecsearch_index_check(t.idx) c});
$node->safe_psql('smith', 'VACUUM');
is($node->safe_psql('smith', q{SELECT string_agg(t.idx::text || ': ' || c.problem, '; ')
	FROM targets t, vecsearch_index_check(t.idx) c}),
	'', 'after a VACUUM the checker finds nothing: every live element is reachable again');

my $scans = $node->safe_psql('smith', q{SELECT sum(s.idx_scan) FROM pg_stat_user_indexes s
	JOIN pg_class c ON c.oid = s.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'hnsw'});
my $calls = $node->safe_psql('smith', q{SELECT count(*) || ' functions, ' || sum(calls) || ' calls'
	FROM pg_stat_user_functions});
note("sqlsmith total: $total{queries} queries: $total{ok} ok, $total{error} errors ($timeouts statement timeouts), "
	. "$total{broken} broken connections; $scans hnsw index scans; $unreachable elements unreachable before the final VACUUM; vecsearch and wrapper functions: $calls");

$node->stop;
done_testing();
