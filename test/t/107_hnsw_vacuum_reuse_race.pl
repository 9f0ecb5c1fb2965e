# A VACUUM and an insert race for a slot on a free list: the VACUUM's first pass reads the
# slot as deleted, then an insert reuses it as the first element (the entry point) of the
# emptied graph.  The VACUUM must not take that entry point for a dead one: before the
# fix it moved the entry to "no element", and every index scan returned nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('reuse_race');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.3);
	CREATE TABLE t (id int, v vector(3));
	INSERT INTO t SELECT i, ARRAY[random(), random(), random()]::real[]::vector
		FROM generate_series(1, 5000) i;
	CREATE INDEX t_hnsw ON t USING hnsw (v vector_l2_ops) WITH (m = 16);
	DELETE FROM t;
	VACUUM t;
});
is(index_problems($node, 't_hnsw'), 'none', 'emptied and vacuumed: the checker is clean');

# A slow VACUUM (cost-based delay on every page it reads) of the empty table: its
# cleanup repairs the graph and reads every slot, the freed ones as deleted.
my ($out, $err) = ('', '');
my $vac = IPC::Run::start(['psql', '-X', '-d', $node->connstr('postgres'),
	'-c', 'SET vacuum_cost_delay = 20', '-c', 'SET vacuum_cost_limit = 1', '-c', 'VACUUM t'],
	'>', \$out, '2>', \$err);
# wait until it is in the index cleanup, then let its first pass read the first pages
my $phase = '';
for (my $i = 0; $i < 6000 && $phase ne 'cleaning up indexes'; $i++)
{
	$phase = $node->safe_psql('postgres', q{SELECT coalesce(max(phase), '') FROM pg_stat_progress_vacuum});
	usleep(10_000);
}
is($phase, 'cleaning up indexes', 'the VACUUM reached the index cleanup');
usleep(300_000);

# inserts reuse the freed slots from the lowest ids up, the first as the entry point
$node->safe_psql('postgres', q{
	INSERT INTO t SELECT i, ARRAY[random(), random(), random()]::real[]::vector
		FROM generate_series(1, 20) i;
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_progress_vacuum}), '1',
	'the VACUUM was still running when the rows were inserted (the race happened)');
$vac->finish;
is($err, '', 'the VACUUM finished without error');

my $found = $node->safe_psql('postgres', q{SET enable_seqscan = off;
	SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '[0.5,0.5,0.5]' LIMIT 10) s});
is($found, '10', 'an index scan returns 10 of the 20 rows');
is(index_problems($node, 't_hnsw'), 'none', 'the checker is clean (an entry point, every element reachable)');
$node->safe_psql('postgres', 'VACUUM t');
is(index_problems($node, 't_hnsw'), 'none', 'and after one more VACUUM');

$node->stop;
done_testing();
