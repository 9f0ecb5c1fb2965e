# ALTER EXTENSION vecsearch UPDATE from 0.1.0: the upgrade script gives a database what
# CREATE EXTENSION of the new version gives (the same member objects, described by
# pg_describe_object), names every hnsw index that has to be rebuilt, and data in vector
# columns survives; an index REINDEXed afterwards answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $members = q{SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n' ORDER BY 1)
	FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
	AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vecsearch')};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION vecsearch');
my $want = $node->safe_psql('fresh', $members);
my $version = $node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'vecsearch'");
is($version, '0.2.0', 'CREATE EXTENSION installs 0.2.0');

$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch VERSION '0.1.0';
	CREATE TABLE items (id int PRIMARY KEY, v vector(3));
	INSERT INTO items SELECT i, ARRAY[i, i % 5, i % 3]::real[]::vector FROM generate_series(1, 300) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops);
});
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'vecsearch'"), '0.1.0',
	'CREATE EXTENSION ... VERSION installs 0.1.0 (its frozen script)');
my ($rc, $out, $err) = $node->psql('postgres', 'ALTER EXTENSION vecsearch UPDATE');
is($rc, 0, 'ALTER EXTENSION vecsearch UPDATE succeeds');
like($err, qr/WARNING:  hnsw index items_hnsw must be rebuilt if vecsearch 0\.1 built it: REINDEX INDEX items_hnsw;/,
	'the update names the hnsw index and the command');
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'vecsearch'"), '0.2.0',
	'the extension is at 0.2.0');
is($node->safe_psql('postgres', $members), $want, 'its member objects are those of a fresh 0.2.0');
$node->safe_psql('postgres', 'REINDEX INDEX items_hnsw');
my $exact = $node->safe_psql('postgres', q{SET enable_indexscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '[10,0,1]', id LIMIT 3) s});
is($node->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY v <-> '[10,0,1]' LIMIT 3) s}),
	$exact, "the rebuilt index answers over the kept rows ($exact)");

$node->stop;
done_testing();
