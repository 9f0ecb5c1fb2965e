# hnsw and WAL: a streaming standby with wal_consistency_checking = 'generic' replays the
# build, inserts, deletes and VACUUM and answers like the primary; crash recovery
# (stop('immediate') after a stream of inserts, and during a build) leaves a clean index
# that finds every row the exact scan finds; UNLOGGED indexes come back empty.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'\nshared_buffers = 64MB");
$primary->start;
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'");
$standby->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.3);
	CREATE TABLE items (id int PRIMARY KEY, v vector(24));
	INSERT INTO items SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + i * 0) d)::real[]::vector
		FROM generate_series(1, 1500) i;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
	INSERT INTO items SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + i * 0) d)::real[]::vector
		FROM generate_series(1501, 2500) i;
	DELETE FROM items WHERE id % 4 = 0;
	VACUUM items;
	INSERT INTO items SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + i * 0) d)::real[]::vector
		FROM generate_series(2501, 2800) i;
});
$primary->wait_for_catchup($standby);

my $answers = q{SET enable_seqscan = off; SET hnsw.ef_search = 30;
	SELECT string_agg(array(SELECT id FROM items ORDER BY v <-> q.v LIMIT 5)::text, ';' ORDER BY q.id)
	FROM items q WHERE q.id % 97 = 1};
is($standby->safe_psql('postgres', $answers), $primary->safe_psql('postgres', $answers),
	'standby answers like the primary after build, inserts, deletes, VACUUM');
is(index_problems($standby, 'items_hnsw'), 'none', 'checker clean on the standby');
my $exact_count = q{SET enable_seqscan = off; SET vecsearch.exact_scan = on;
	SELECT count(*) FROM (SELECT id FROM items ORDER BY v <-> (SELECT v FROM items WHERE id = 1) LIMIT 100000) s};
is($standby->safe_psql('postgres', $exact_count), $primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'the standby index holds every live row');
like(slurp_file($standby->logfile), qr/database system is ready to accept read-only connections/, 'standby ran');
unlike(slurp_file($standby->logfile), qr/inconsistent page found/, 'no WAL consistency failures on the standby');

# crash after a stream of inserts
$primary->safe_psql('postgres', q{
	SELECT setseed(0.31);
	INSERT INTO items SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + i * 0) d)::real[]::vector
		FROM generate_series(3001, 3600) i;
});
$primary->stop('immediate');
$primary->start;
is(index_problems($primary, 'items_hnsw'), 'none', 'checker clean after crash recovery');
is($primary->safe_psql('postgres', $exact_count), $primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
	'every row is in the index after crash recovery');
is($primary->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT count(*) FROM items q WHERE q.id > 3000 AND q.id % 50 = 0
	AND q.id <> (SELECT id FROM items ORDER BY v <-> q.v LIMIT 1)}), '0',
	'rows inserted before the crash are found by the graph');

# crash during a build: the half-built index is gone, a rebuild works
$primary->safe_psql('postgres', 'INSERT INTO items SELECT i, v FROM (SELECT i, (SELECT v FROM items WHERE id = 1 + i % 2000) AS v FROM generate_series(10001, 30000) i) s WHERE v IS NOT NULL');
# (1MB of maintenance_work_mem: the build spills to slow on-disk inserts, so it is
# still running when the server stops)
my $h = IPC::Run::start(['psql', '-X', '-d', $primary->connstr('postgres'), '-c',
	"SET maintenance_work_mem = '1MB'; CREATE INDEX items_hnsw2 ON items USING hnsw (v vector_l2_ops)"],
	'>', \my $o, '2>', \my $e);
$primary->poll_query_until('postgres', q{SELECT count(*) > 0 FROM pg_stat_progress_create_index});
sleep 1;
$primary->stop('immediate');
$h->finish;
$primary->start;
is($primary->safe_psql('postgres', q{SELECT count(*) FROM pg_class WHERE relname = 'items_hnsw2'}), '0',
	'an interrupted build leaves no index');
$primary->safe_psql('postgres', 'CREATE INDEX items_hnsw2 ON items USING hnsw (v vector_l2_ops)');
is(index_problems($primary, 'items_hnsw2'), 'none', 'rebuild after the crash is clean');

# UNLOGGED: after a crash the index is empty and usable
$primary->safe_psql('postgres', q{
	CREATE UNLOGGED TABLE u (id int, v vector(3));
	CREATE INDEX u_hnsw ON u USING hnsw (v vector_l2_ops);
	INSERT INTO u SELECT i, ARRAY[i, i, i]::real[]::vector FROM generate_series(1, 100) i;
	CHECKPOINT;
});
$primary->stop('immediate');
$primary->start;
$primary->safe_psql('postgres', q{INSERT INTO u VALUES (1, '[7,7,7]')});
is($primary->safe_psql('postgres', q{SET enable_seqscan = off; SELECT id FROM u ORDER BY v <-> '[7,7,7]' LIMIT 5}),
	'1', 'unlogged index reset to empty by crash recovery, then usable');

$standby->stop;
$primary->stop;
done_testing();
