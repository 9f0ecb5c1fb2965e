# pg_stat_progress_create_index during an hnsw build, watched from a second session: the
# phases come in order ("loading tuples", "building graph", "writing index") and each one's
# counters advance.  Loading counts the rows collected (tuples_done) over the table's
# blocks; the graph phase counts elements inserted of all (tuples_done of tuples_total)
# and moves blocks_done through the table's blocks in proportion, so pgvector's README
# query (blocks_done / blocks_total) no longer reads 100% during it; writing counts the
# index's blocks, blocks_total being the index's final size.  A build that outgrows
# maintenance_work_mem goes back to "loading tuples" at the table block it had reached.
#
# The watcher is one SQL function that samples the view every 2 ms (pg_stat_clear_snapshot
# between samples) and returns each distinct sample, so short phases are seen too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('build_progress');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 0\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.3);
	CREATE TABLE prog AS SELECT i AS id,
		(SELECT array_agg(random()) FROM generate_series(1, 64) WHERE i > 0)::real[]::vector(64) AS v
		FROM generate_series(1, 30000) i;
	CREATE TABLE spill AS SELECT * FROM prog WHERE id <= 6000;
	CREATE FUNCTION progress_samples(wait_s float8) RETURNS SETOF text LANGUAGE plpgsql AS $$
	DECLARE
		t0 timestamptz := clock_timestamp();
		seen bool := false;
		r record;
		last text := '';
		cur text;
	BEGIN
		LOOP
			PERFORM pg_stat_clear_snapshot();
			SELECT phase, tuples_done, tuples_total, blocks_done, blocks_total INTO r
			FROM pg_stat_progress_create_index WHERE command = 'CREATE INDEX' LIMIT 1;
			IF FOUND THEN
				seen := true;
				cur := concat_ws('|', r.phase, r.tuples_done, r.tuples_total, r.blocks_done, r.blocks_total);
				IF cur <> last THEN
					RETURN NEXT cur;
					last := cur;
				END IF;
			ELSIF seen OR clock_timestamp() - t0 > make_interval(secs => wait_s) THEN
				RETURN;
			END IF;
			PERFORM pg_sleep(0.002);
		END LOOP;
	END $$;
});

# Run $create while the watcher samples; the samples as [phase, tuples_done, tuples_total,
# blocks_done, blocks_total], the "building index: " prefix dropped.
sub watch
{
	my ($create) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', 'SELECT * FROM progress_samples(300)' ],
		'>', \$out, '2>', \$err);
	$node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'SELECT * FROM progress_samples%' AND state = 'active'")
	  or die 'the watcher did not start';
	$node->safe_psql('postgres', $create);
	$h->finish;
	die "watcher failed: $err" if $err ne '';
	my @s;
	for my $line (split /\n/, $out)
	{
		my @f = split /\|/, $line;
		$f[0] =~ s/^building index: //;
		push @s, \@f;
	}
	return @s;
}

# the phases in order of appearance, repeats collapsed
sub phases
{
	my @p;
	for my $s (@_)
	{
		push @p, $s->[0] if !@p || $p[-1] ne $s->[0];
	}
	return join(', ', grep { $_ ne 'initializing' } @p);
}

# true if column $c never decreases over the samples
sub monotonic
{
	my ($c, @s) = @_;
	for my $i (1 .. $#s)
	{
		return 0 if $s[$i][$c] < $s[$i - 1][$c];
	}
	return 1;
}

my $tblocks = $node->safe_psql('postgres', "SELECT pg_relation_size('prog') / 8192");

my @s = watch('CREATE INDEX prog_idx ON prog USING hnsw (v vector_l2_ops)');
note(scalar(@s) . ' distinct samples');
is(phases(@s), 'loading tuples, building graph, writing index', 'the phases, in order');

my @load = grep { $_->[0] eq 'loading tuples' } @s;
my @graph = grep { $_->[0] eq 'building graph' } @s;
my @write = grep { $_->[0] eq 'writing index' } @s;

cmp_ok(scalar(grep { $_->[1] > 0 } @load), '>=', 1, 'loading: tuples_done counts the rows collected');
ok(monotonic(1, @load) && monotonic(3, @load), 'loading: tuples_done and blocks_done never go back');
is($load[-1][4], $tblocks, 'loading: blocks_total is the table\'s blocks');

is((join ',', sort { $a <=> $b } keys %{ { map { $_->[2] => 1 } @graph } }), '30000',
	'graph: tuples_total is the number of rows');
cmp_ok(scalar(keys %{ { map { $_->[1] => 1 } @graph } }), '>=', 3, 'graph: tuples_done advances');
ok(monotonic(1, @graph) && monotonic(3, @graph), 'graph: tuples_done and blocks_done never go back');
cmp_ok(scalar(grep { $_->[3] < $_->[4] } @graph), '>=', 2,
	'graph: blocks_done / blocks_total is below 100% while elements are inserted');
is($graph[-1][3] . '/' . $graph[-1][4], "$tblocks/$tblocks", 'graph: 100% when every element is in');

my $iblocks = $node->safe_psql('postgres', "SELECT pg_relation_size('prog_idx') / 8192");
is($write[0][4], $iblocks, 'writing: blocks_total is the index\'s size in blocks');
ok(monotonic(3, @write), 'writing: blocks_done never goes back');
cmp_ok($write[-1][3], '<=', $iblocks, 'writing: blocks_done stays within blocks_total');

# a build that outgrows maintenance_work_mem: back to loading, where the scan was
my $sblocks = $node->safe_psql('postgres', "SELECT pg_relation_size('spill') / 8192");
@s = watch("SET maintenance_work_mem = '1MB'; SET client_min_messages = warning; "
	  . 'CREATE INDEX spill_idx ON spill USING hnsw (v vector_l2_ops)');
# (the first load and the write are too short here to be sampled reliably)
like(phases(@s), qr/building graph, (writing index, )?loading tuples$/,
	'spilled build: back to loading tuples after the graph')
  or diag(join("\n", map { join('|', @$_) } @s[ 0 .. ($#s < 40 ? $#s : 40) ]));
my @graph2 = grep { $_->[0] eq 'building graph' } @s;
# the first sample of the second load: after the graph (a sample of the first load, after
# an 'initializing' one, is not it)
my ($g) = grep { $s[$_][0] eq 'building graph' } 0 .. $#s;
$g //= 0;
my ($j) = grep { $_ > $g && $s[$_][0] eq 'loading tuples' } 0 .. $#s;
$j //= $#s;
cmp_ok($s[$j][1], '>=', $graph2[0][2], 'spilled build: tuples_done goes on from the rows in the graph');
is($s[$j][4], $sblocks, 'spilled build: blocks_total is the table\'s blocks again');
cmp_ok($s[$j][3], '>', 0, 'spilled build: blocks_done resumes where the scan was, not at 0');
ok(monotonic(1, @s[ $j .. $#s ]), 'spilled build: tuples_done keeps counting');

$node->stop;
done_testing();
