# Concurrent inserts, scans, deletes and VACUUM on one hnsw index (pgbench, 4 clients):
# no errors or deadlocks, the checker stays clean, the index holds every live row, and
# rows inserted concurrently are found by the graph.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('conc');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\nautovacuum = off");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.9);
	CREATE SEQUENCE ids START 100000;
	CREATE TABLE items (id int PRIMARY KEY, v vector(16));
	INSERT INTO items SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 16 + i * 0) d)::real[]::vector
		FROM generate_series(1, 2000) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
});

$node->pgbench(
	'-n -c 4 -j 2 -T 8',
	0,
	[qr{actually processed}],
	[qr{^$}],
	'concurrent inserts, scans, deletes and VACUUM',
	{
		'103_insert@10' => q{
INSERT INTO items SELECT nextval('ids'), (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 16) d)::real[]::vector;
},
		'103_query@10' => q{
SET enable_seqscan = off;
SELECT id FROM items ORDER BY v <-> (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 16) d)::real[]::vector LIMIT 5;
},
		'103_delete@1' => q{
DELETE FROM items WHERE id IN (SELECT id FROM items ORDER BY random() LIMIT 5);
},
		'103_vacuum@1' => q{
VACUUM items;
}
	});

# inserts racing with VACUUM may link to an element being deleted (harmless: scans walk
# through deleted elements and never return them), and a backlink re-selected by the
# heuristic can, rarely, take away an element's only incoming link; the next VACUUM
# repairs both
is(index_problems($node, 'items_hnsw',
		where => "problem NOT LIKE '%is a deleted element' AND problem NOT LIKE '%not reachable%'"),
	'none', 'checker finds nothing but links to deleted elements after the concurrent run');
$node->safe_psql('postgres', 'VACUUM items');
is(index_problems($node, 'items_hnsw'), 'none', 'checker clean after a final VACUUM');
my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM items');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id >= 100000'), '>', 50, 'rows were inserted concurrently');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET vecsearch.exact_scan = on;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items LIMIT 1) LIMIT 1000000) s}),
	$n, 'the index holds every live row');
my $missed = $node->safe_psql('postgres', q{SET enable_seqscan = off; SET hnsw.ef_search = 40;
	SELECT count(*) FROM items q WHERE q.id >= 100000
	AND q.id <> (SELECT id FROM items ORDER BY v <-> q.v LIMIT 1)});
my $new = $node->safe_psql('postgres', 'SELECT count(*) FROM items WHERE id >= 100000');
cmp_ok($missed, '<=', $new / 100, "concurrently inserted rows find themselves ($missed of $new missed)");

$node->stop;
done_testing();
