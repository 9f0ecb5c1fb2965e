# Soak: pgbench clients insert, update, delete, run ordered and iterative filtered scans
# and VACUUM on one table with two hnsw indexes (l2 and cosine) for a while; a side table
# `truth` holds the id of every live row and whether its vector is NULL, changed in the
# same statement as the row.  Afterwards: no client error, no server process died, the
# checker finds nothing after a final VACUUM, every live row is found by a sequential
# exact scan, by vecsearch_knn and by each index's exact mode (no row lost, none come
# back), and recall@10 at ef_search 40 holds its floor (0.95, and within 0.03 of a fresh
# build of the same rows).
#
# VS_SOAK_SECONDS=N (default 40) and VS_SOAK_CLIENTS=N (default 4) for longer runs: see
# test/soak/run.  The duration bounds the run; nothing asserted depends on timing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;
use IPC::Run;

my $seconds = $ENV{VS_SOAK_SECONDS} || 40;
my $clients = $ENV{VS_SOAK_CLIENTS} || 4;
my $dims = 16;
my $cap = 9000;       # live rows at most (inserts stop there), so vecsearch_knn's k covers all
my $recall_floor = 0.95;

my $node = PostgreSQL::Test::Cluster->new('soak');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_buffers = 64MB
log_statement = none
log_line_prefix = '%m [%p] %e '
autovacuum_naptime = 5s
max_connections = 40
});
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION vecsearch;
CREATE FUNCTION rv() RETURNS vector LANGUAGE sql VOLATILE
	AS \$\$ SELECT array_agg(random()::real)::vector FROM generate_series(1, $dims) \$\$;
CREATE FUNCTION soak_fail(msg text) RETURNS int LANGUAGE plpgsql
	AS \$\$ BEGIN RAISE EXCEPTION 'soak check failed: %', msg; END \$\$;
CREATE SEQUENCE ids;
CREATE TABLE items (id bigint PRIMARY KEY, cat int NOT NULL, v vector($dims));
CREATE TABLE truth (id bigint PRIMARY KEY, has_v bool NOT NULL);
SELECT setseed(0.42);
WITH n AS (INSERT INTO items SELECT nextval('ids'), (random() * 9)::int,
		CASE WHEN random() < 0.05 THEN NULL ELSE rv() END FROM generate_series(1, 3000)
	RETURNING id, v IS NOT NULL AS has_v)
INSERT INTO truth SELECT * FROM n;
CREATE INDEX items_l2 ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX items_cos ON items USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
ANALYZE items;
ANALYZE truth;
});

# A random live id (roughly uniform over the ids ever used; ids after a gap come up more).
my $pick = q{(SELECT id FROM truth WHERE id >= (SELECT (random() * max(id))::bigint FROM truth) ORDER BY id LIMIT 1)};
my %scripts = (
	# one row, its vector NULL one time in 20; no insert above the cap
	'insert@10' => qq{
WITH n AS (INSERT INTO items SELECT nextval('ids'), (random() * 9)::int,
		CASE WHEN random() < 0.05 THEN NULL ELSE rv() END
	WHERE (SELECT count(*) FROM truth) < $cap
	RETURNING id, v IS NOT NULL AS has_v)
INSERT INTO truth SELECT * FROM n;
},
	'update@5' => qq{
WITH u AS (UPDATE items SET v = CASE WHEN random() < 0.05 THEN NULL ELSE rv() END, cat = (random() * 9)::int
	WHERE id = $pick RETURNING id, v IS NOT NULL AS has_v)
UPDATE truth t SET has_v = u.has_v FROM u WHERE t.id = u.id;
},
	'delete@5' => qq{
WITH d AS (DELETE FROM items WHERE id IN ($pick, $pick) RETURNING id)
DELETE FROM truth WHERE id IN (SELECT id FROM d);
},
	# ordered scans through each index
	'query@10' => q{
SET enable_seqscan = off;
SET hnsw.iterative_scan = off;
SELECT id FROM items ORDER BY v <-> (SELECT rv()) LIMIT 10;
SELECT id FROM items ORDER BY v <=> (SELECT rv()) LIMIT 10;
RESET ALL;
},
	# an iterative scan with a filter that keeps one row in ten gets its 10 rows
	'filtered@10' => q{
SET enable_seqscan = off;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) AS n FROM (SELECT id FROM items WHERE cat = 3 ORDER BY v <-> (SELECT rv()) LIMIT 10) s \gset
\if :n != 10
SELECT soak_fail('relaxed iterative scan with cat = 3 returned ' || :n || ' rows, not 10');
\endif
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS n FROM (SELECT id FROM items WHERE cat = 5 ORDER BY v <=> (SELECT rv()) LIMIT 10) s \gset
\if :n != 10
SELECT soak_fail('strict iterative scan with cat = 5 returned ' || :n || ' rows, not 10');
\endif
RESET ALL;
},
	'vacuum@1' => q{
VACUUM items;
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my @files;
for my $name (sort keys %scripts)
{
	my ($base, $weight) = split /@/, $name;
	PostgreSQL::Test::Utils::append_to_file("$dir/$base.sql", $scripts{$name});
	push @files, '-f', "$dir/$base.sql\@$weight";
}
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ 'pgbench', '-n', '-c', $clients, '-j', 2, '-T', $seconds,
		'-h', $node->host, '-p', $node->port, @files, 'postgres' ],
	'>', \$out, '2>', \$err);
PostgreSQL::Test::Utils::append_to_file("$PostgreSQL::Test::Utils::log_path/pgbench.log", "$out\n$err");
ok($ok, "pgbench: $clients clients for $seconds s, no client aborted (an error or a failed scan check aborts it)");
unlike($err, qr/ERROR|aborted/, 'no error reported by pgbench');
diag(substr($err, 0, 3000)) if !$ok || $err =~ /ERROR|aborted/;
my ($xacts) = $out =~ /number of transactions actually processed: (\d+)/;
$xacts //= 0;
my %by_script;
while ($out =~ /SQL script \d+: \S+\/(\w+)\.sql\n - weight: \d+ \([^)]*\)\n - (\d+) transactions/g)
{
	$by_script{$1} = $2;
}
note("pgbench: $xacts transactions: " . join(', ', map { "$_ $by_script{$_}" } sort keys %by_script));
cmp_ok($by_script{insert} // 0, '>', 0, 'rows were inserted during the run');
cmp_ok($by_script{filtered} // 0, '>', 0, 'filtered iterative scans ran');

# the checker, before and after a final VACUUM; before it, only links to elements that
# VACUUM has not finished removing and elements whose last incoming link went with them
my $check = q{SELECT string_agg(i || ' slot ' || c.slot || ': ' || c.problem, '; ')
	FROM unnest(ARRAY['items_l2', 'items_cos']) i, vecsearch_index_check(i::regclass) c};
my $before = $node->safe_psql('postgres', "$check WHERE c.problem NOT LIKE '%is a deleted element' AND c.problem NOT LIKE '%not reachable%'");
is($before, '', 'checker: nothing but pending deletions before the final VACUUM');
$node->safe_psql('postgres', 'VACUUM items');
is($node->safe_psql('postgres', $check), '', 'checker clean after a final VACUUM');

# no row lost: every id of `truth` is in the table, and every live vector is found by a
# sequential exact scan, by vecsearch_knn and by each index's exact mode; none extra
my $live = $node->safe_psql('postgres', q{SELECT count(*) || ' / ' || count(*) FILTER (WHERE has_v) FROM truth});
note("after the run: rows / rows with a vector: $live");
my ($nrows, $nvec) = split m{ / }, $live;
# $settings; then the ids $q returns against the live ids with a vector
my $diff = sub {
	my ($settings, $q, $what) = @_;
	my $r = $node->safe_psql('postgres', qq{$settings
		WITH found AS ($q), want AS (SELECT id FROM truth WHERE has_v)
		SELECT (SELECT count(*) FROM found) || ' found, missing '
			|| coalesce((SELECT string_agg(id::text, ',') FROM (SELECT id FROM want EXCEPT SELECT id FROM found) m), '-')
			|| ', extra '
			|| coalesce((SELECT string_agg(id::text, ',') FROM (SELECT id FROM found EXCEPT SELECT id FROM want) x), '-')});
	is($r, "$nvec found, missing -, extra -", "no row lost: $what finds every live vector");
};
my $noindex = 'SET enable_indexscan = off; SET enable_bitmapscan = off;';
is($node->safe_psql('postgres', qq{$noindex
	SELECT (SELECT count(*) FROM (SELECT id FROM items EXCEPT SELECT id FROM truth) a) || ' '
		|| (SELECT count(*) FROM (SELECT id FROM truth EXCEPT SELECT id FROM items) b)}),
	'0 0', 'the table and the side table hold the same ids');
$diff->($noindex, q{SELECT id FROM items WHERE v IS NOT NULL}, 'a sequential scan');
my $q = "(SELECT v FROM items WHERE v IS NOT NULL ORDER BY id LIMIT 1)";
$diff->('', qq{SELECT i.id FROM vecsearch_knn('items', 'v', ARRAY[$q], 10000) k JOIN items i ON i.ctid = k.row_tid},
	'vecsearch_knn (k = 10000)');
$diff->($noindex, qq{SELECT id FROM items WHERE v IS NOT NULL ORDER BY v <-> $q}, 'an exact ORDER BY <-> without index');
my $exact = 'SET enable_seqscan = off; SET vecsearch.exact_scan = on;';
for my $op ('<->', '<=>')
{
	my $idx = $op eq '<->' ? 'items_l2' : 'items_cos';
	like($node->safe_psql('postgres', "$exact EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v $op $q"),
		qr/Index Scan using $idx/, "the exact-mode query scans $idx");
	$diff->($exact, qq{SELECT id FROM items ORDER BY v $op $q}, "$idx in exact mode");
}

# recall@10 at ef_search 40 (self-queries, 200 of them) of the churned indexes, and of a
# fresh build of the same rows for comparison
my %recall;
for my $idx ('items_l2', 'items_cos')
{
	$recall{$idx} = $node->safe_psql('postgres', "SELECT round(recall::numeric, 4) FROM vecsearch_recall('$idx', queries => 200, ef_search => '{40}')");
	cmp_ok($recall{$idx}, '>=', $recall_floor, "recall\@10 of $idx after the run is at least $recall_floor ($recall{$idx})");
}
$node->safe_psql('postgres', 'REINDEX TABLE items');
my %fresh;
for my $idx ('items_l2', 'items_cos')
{
	$fresh{$idx} = $node->safe_psql('postgres', "SELECT round(recall::numeric, 4) FROM vecsearch_recall('$idx', queries => 200, ef_search => '{40}')");
	cmp_ok($recall{$idx}, '>=', $fresh{$idx} - 0.03, "recall\@10 of $idx after the run is within 0.03 of a fresh build's ($fresh{$idx})");
}
note("recall\@10 at ef_search 40: after the run items_l2 $recall{items_l2}, items_cos $recall{items_cos}; rebuilt: items_l2 $fresh{items_l2}, items_cos $fresh{items_cos}");

my $log = slurp_file($node->logfile);
my @dead = server_log_failures($node);
is(scalar(@dead), 0, 'no server process died and the server never ran crash recovery');
diag(join("\n", @dead[ 0 .. ($#dead < 20 ? $#dead : 19) ])) if @dead;
my @internal = grep { /^\S+ \S+ \S+ \[\d+\] XX\d\d\d / } split /\n/, $log;
is(scalar(@internal), 0, 'no internal error (SQLSTATE class XX) in the server log');
note("soak: $seconds s, $clients clients, $xacts transactions, crashes " . scalar(@dead) . ', rows lost 0 unless reported above');

$node->stop;
done_testing();
