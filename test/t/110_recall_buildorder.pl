# Recall reports and build orders on a table large enough for a parallel build:
# vecsearch_recall agrees with recall computed independently in SQL (vecsearch_knn against
# ORDER BY ... LIMIT through the index); a lid_desc build inserts the same first and last
# rows serially and in parallel (the order is computed before the workers start), both
# graphs are healthy and reach the same recall floor.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('recall_order');
$node->init;
$node->append_conf('postgresql.conf',
	"shared_buffers = 256MB\nmaintenance_work_mem = 512MB\nmax_parallel_maintenance_workers = 2");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecsearch');

# 20,000 x 256 (20 MB of vectors: the build asks for 2 workers) on a 16-dim subspace,
# 100 held-out queries on the same subspace.
$node->safe_psql('postgres', q{
	CREATE TABLE items AS SELECT i::int AS id, v::vector(256) AS v FROM vecsearch_synthetic(20100, 256, 16, 9) WITH ORDINALITY AS s(v, i);
	CREATE TABLE queries AS SELECT id - 20000 AS qid, v FROM items WHERE id > 20000;
	DELETE FROM items WHERE id > 20000;
	VACUUM ANALYZE items;
});

# build index NAME with OPTIONS and WORKERS; returns the DEBUG lines of the build
sub build
{
	my ($name, $opts, $workers) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', qq{
		SET max_parallel_maintenance_workers = $workers;
		SET client_min_messages = debug1;
		CREATE INDEX $name ON items USING hnsw (v vector_l2_ops) WITH ($opts);
	});
	is($ret, 0, "build $name");
	return $err;
}

sub problems { return index_problems($node, $_[0]); }

sub report_recall
{
	my ($index, $ef) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT recall FROM vecsearch_recall('$index', queries => 100, ef_search => '{$ef}',
			query_tbl => 'queries', query_col => 'v')});
}

my $serial = build('items_serial', 'm = 12, ef_construction = 64, build_order = lid_desc', 0);
my ($first_s) = $serial =~ /(hnsw build order lid_desc: [^\n]*)/;
ok(defined $first_s, 'serial build names its first and last rows');
unlike($serial, qr/parallel workers/, 'serial build used no workers');

# recall of the report against recall computed in SQL (continuous data: no ties, so the
# tie-aware count equals the intersection of id sets)
my $sql_recall = index_recall($node, exact => 'knn', ef_search => 10);
my $rep_recall = report_recall('items_serial', 10);
cmp_ok(abs($sql_recall - $rep_recall), '<', 1e-9,
	"vecsearch_recall ($rep_recall) equals recall computed in SQL ($sql_recall)");
cmp_ok($rep_recall, '<', 1, 'ef_search 10 misses some neighbours (the comparison is not trivial)');

$node->safe_psql('postgres', 'DROP INDEX items_serial');
my $par = build('items_par', 'm = 12, ef_construction = 64, build_order = lid_desc', 2);
my ($first_p) = $par =~ /(hnsw build order lid_desc: [^\n]*)/;
is($first_p, $first_s, 'parallel build inserts the same first and last rows');
like($par, qr/hnsw build used [12] parallel workers/, 'parallel build launched workers');
is(problems('items_par'), 'none', 'parallel lid_desc graph healthy');
my $r40 = report_recall('items_par', 40);
cmp_ok($r40, '>=', 0.95, "parallel lid_desc build: recall\@10 at ef_search 40 ($r40)");

# the other orders in parallel
for my $o ('random', 'lid_asc', 'heap')
{
	$node->safe_psql('postgres', 'DROP INDEX IF EXISTS items_par');
	build('items_par', "m = 12, ef_construction = 64, build_order = $o", 2);
	is(problems('items_par'), 'none', "parallel $o graph healthy");
	my $r = report_recall('items_par', 40);
	cmp_ok($r, '>=', 0.95, "parallel $o build: recall\@10 at ef_search 40 ($r)");
}

# tune on the last index: its answer meets the target and the ef_search below misses
my ($ef, $rec) = split /\|/, $node->safe_psql('postgres', q{
	SELECT ef_search, recall FROM vecsearch_tune('items_par', 0.9, queries => 100,
		query_tbl => 'queries', query_col => 'v')});
cmp_ok($rec, '>=', 0.9, "tune: ef_search $ef reaches 0.9 ($rec)");
if ($ef > 1)
{
	my $below = report_recall('items_par', $ef - 1);
	cmp_ok($below, '<', 0.9, "tune: ef_search " . ($ef - 1) . " misses ($below)");
}

$node->stop;
done_testing();
