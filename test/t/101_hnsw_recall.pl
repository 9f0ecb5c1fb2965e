# hnsw recall floors against the exact answer (vecsearch_knn) after a build, after
# inserts through aminsert, and after deleting 20% of the rows and VACUUM; the index
# checker stays clean; a serial build is reproducible from its seed; a build that does
# not fit in maintenance_work_mem finishes on disk with a NOTICE and the same recall; a
# parallel build launches its workers and reaches the same recall.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('recall');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 128MB\nmax_parallel_maintenance_workers = 0");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecsearch');

# Seeded data: 4,000 rows of 32 dims, uniform in a cube shifted per cluster (20 clusters,
# wide spread, so the set is hard: recall at ef_search 20 is well below 1); 50 queries.
$node->safe_psql('postgres', q{
	SELECT setseed(0.17);
	CREATE TABLE centres AS SELECT c, array_agg(random() * 2 ORDER BY d) AS x
		FROM generate_series(1, 20) c, generate_series(1, 32) d GROUP BY c;
	CREATE TABLE items (id int PRIMARY KEY, v vector(32));
	INSERT INTO items SELECT i, (SELECT array_agg(x[d] + random() * 4 ORDER BY d)
		FROM centres, generate_series(1, 32) d WHERE c = 1 + i % 20)::real[]::vector
		FROM generate_series(1, 4000) i;
	CREATE TABLE queries AS SELECT id AS qid, v FROM items WHERE id % 80 = 0;
	UPDATE queries SET v = (SELECT array_agg(x + 0.3 ORDER BY o) FROM unnest(v::real[]) WITH ORDINALITY u(x, o))::vector;
});

# recall@10 over the queries: index (ef_search 20) against the exact answer (vecsearch_knn).
sub recall { return index_recall($node, exact => 'knn', ef_search => 20, round => 3); }
sub problems { return index_problems($node, $_[0]); }

$node->safe_psql('postgres', 'CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops)');
my $r = recall('items_hnsw');
cmp_ok($r, '>=', 0.95, "recall\@10 after build ($r)");
is(problems('items_hnsw'), 'none', 'checker clean after build');

# reproducible build: same rows, order and seed give the same answers at ef_search 10
$node->safe_psql('postgres', 'CREATE INDEX items_hnsw2 ON items USING hnsw (v vector_l2_ops)');
my $fp = q{SET enable_seqscan = off; SET hnsw.ef_search = 10;
	SELECT md5(string_agg(array(SELECT id FROM items ORDER BY v <-> q.v LIMIT 10)::text, ';' ORDER BY qid)) FROM queries q};
my $a = $node->safe_psql('postgres', $fp);
$node->safe_psql('postgres', 'DROP INDEX items_hnsw');
my $b = $node->safe_psql('postgres', $fp);
is($a, $b, 'two serial builds with the same seed answer identically');
is($node->safe_psql('postgres', q{SELECT pg_relation_size('items_hnsw2') > 0}), 't', 'second index built');
$node->safe_psql('postgres', 'ALTER INDEX items_hnsw2 RENAME TO items_hnsw');

# 2,000 more rows through aminsert
$node->safe_psql('postgres', q{
	SELECT setseed(0.5);
	INSERT INTO items SELECT i, (SELECT array_agg(x[d] + random() * 4 ORDER BY d)
		FROM centres, generate_series(1, 32) d WHERE c = 1 + i % 20)::real[]::vector
		FROM generate_series(4001, 6000) i;
});
$r = recall('items_hnsw');
cmp_ok($r, '>=', 0.92, "recall\@10 after inserts ($r)");
is(problems('items_hnsw'), 'none', 'checker clean after inserts');

# delete 20%, VACUUM: recall within 1 point of a fresh build on the remaining rows
# (measured: 0.972 after VACUUM, 0.964 fresh)
$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 5 = 2');
$node->safe_psql('postgres', 'VACUUM items');
my $after = recall('items_hnsw');
is(problems('items_hnsw'), 'none', 'checker clean after VACUUM');
$node->safe_psql('postgres', 'CREATE INDEX items_fresh ON items USING hnsw (v vector_l2_ops)');
$node->safe_psql('postgres', 'DROP INDEX items_hnsw');
my $fresh = recall('items_fresh');
cmp_ok($after, '>=', $fresh - 0.01, "recall after VACUUM $after vs fresh build $fresh");

# a build over maintenance_work_mem switches to on-disk inserts with a NOTICE
my ($ret, $out, $err) = $node->psql('postgres',
	"SET maintenance_work_mem = '1MB'; CREATE INDEX items_small ON items USING hnsw (v vector_l2_ops)");
is($ret, 0, 'low-memory build succeeds');
like($err, qr/hnsw graph no longer fits into maintenance_work_mem after \d+ tuples/, 'NOTICE names the cliff');
$node->safe_psql('postgres', 'DROP INDEX items_fresh');
$r = recall('items_small');
cmp_ok($r, '>=', 0.92, "recall\@10 of the low-memory build ($r)");
is(problems('items_small'), 'none', 'checker clean after the low-memory build');

# parallel build: workers forced by the table's parallel_workers option
$node->safe_psql('postgres', 'DROP INDEX items_small');
$node->safe_psql('postgres', 'ALTER TABLE items SET (parallel_workers = 2)');
($ret, $out, $err) = $node->psql('postgres',
	"SET max_parallel_maintenance_workers = 2; SET client_min_messages = debug1; CREATE INDEX items_par ON items USING hnsw (v vector_l2_ops)");
is($ret, 0, 'parallel build succeeds');
like($err, qr/hnsw build used [12] parallel workers, vectors read from private copies/,
	'parallel build launched workers, each reading its own copy of the vectors');
$r = recall('items_par');
cmp_ok($r, '>=', 0.92, "recall\@10 of the parallel build ($r)");
is(problems('items_par'), 'none', 'checker clean after the parallel build');

# with too little maintenance_work_mem for a copy per process (512 KB of vectors, 4 copies
# with the shared one; the graph itself still fits) the processes read the shared vectors
$node->safe_psql('postgres', 'DROP INDEX items_par');
($ret, $out, $err) = $node->psql('postgres',
	"SET maintenance_work_mem = '1800kB'; SET max_parallel_maintenance_workers = 2; SET client_min_messages = debug1; CREATE INDEX items_par ON items USING hnsw (v vector_l2_ops)");
is($ret, 0, 'parallel build on shared vectors succeeds');
like($err, qr/hnsw build used [12] parallel workers, vectors read from shared memory/,
	'parallel build reads the shared vectors when copies do not fit');
unlike($err, qr/no longer fits/, 'the graph fit in maintenance_work_mem');
$r = recall('items_par');
cmp_ok($r, '>=', 0.92, "recall\@10 of the parallel build on shared vectors ($r)");
is(problems('items_par'), 'none', 'checker clean after the parallel build on shared vectors');

# pg_dump / restore keeps the options, and the restored (serial) build, fed the rows in the
# same order with the same seed, answers exactly like the original
$node->safe_psql('postgres', 'DROP INDEX items_par');
$node->safe_psql('postgres', 'ALTER TABLE items RESET (parallel_workers)');
$node->safe_psql('postgres',
	'CREATE INDEX items_opt ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 20, ef_search = 33, seed = 5)');
my $dump = $node->basedir . '/items.sql';
$node->command_ok(['pg_dump', '-d', $node->connstr('postgres'), '-t', 'items', '-t', 'queries', '-f', $dump],
	'pg_dump of a table with an hnsw index');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->safe_psql('restored', 'CREATE EXTENSION vecsearch');
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'), '-f', $dump],
	'restore');
is($node->safe_psql('restored', q{SELECT reloptions FROM pg_class WHERE relname = 'items_opt'}),
	'{m=8,ef_construction=20,ef_search=33,seed=5}', 'options survive dump and restore');
is($node->safe_psql('restored', $fp), $node->safe_psql('postgres', $fp),
	'the restored index answers like the original');

$node->stop;
done_testing();
