# A recall report that fails while its index queries run (the phase with the report's
# settings pushed and its planner hook installed) leaves the session as it was: every
# setting the report changes back at the session's own value, the hook gone.
#
# The failure is made to land in that phase deterministically, not by timing: a second
# session holds REINDEX INDEX on another index of the table (AccessExclusiveLock on the
# index, ShareLock on the table) in an open transaction.  The report's setup and exact
# phase only need AccessShareLock on the table and on the index under test, which do
# not conflict; planning the index query opens every index of the table (the planner
# lists them before the hook drops the others), so the report waits for the lock there
# and nowhere else.  Then (1) lock_timeout ends the wait: the error can only come from a
# lock wait; (2) pg_cancel_backend ends it, after pg_locks shows the report waiting for
# that index.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('recall_cancel');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	CREATE TABLE items AS SELECT i::int AS id, v::vector(16) AS v FROM vecsearch_synthetic(2000, 16, 8, 5) WITH ORDINALITY AS s(v, i);
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
	CREATE INDEX items_id ON items (id);
	ANALYZE items;
});

# The settings the report changes, set in the session to values other than the report's.
my %session = (
	enable_seqscan => 'on',
	enable_bitmapscan => 'on',
	enable_indexscan => 'off',
	enable_sort => 'on',
	max_parallel_workers_per_gather => '3',
	plan_cache_mode => 'force_custom_plan',
	'hnsw.iterative_scan' => 'relaxed_order',
	'vecsearch.exact_scan' => 'on',
	'hnsw.ef_search' => '77');
my @gucs = sort keys %session;
my $expected = join(',', map { $session{$_} } @gucs);
my $show = 'SELECT ' . join(" || ',' || ", map { "current_setting('$_')" } @gucs);
my $report = q{SELECT count(*) FROM vecsearch_recall('items_hnsw', queries => 20, ef_search => '{10,20}')};

my $a = $node->background_psql('postgres', on_error_stop => 0);
$a->query_safe(join('', map { "SET $_ = '$session{$_}'; " } @gucs));
is($a->query_safe($show), $expected, 'the session settings before the reports');
my $apid = $a->query_safe('SELECT pg_backend_pid()');

my $b = $node->background_psql('postgres');

# reports in the session: the answer, and the settings after a successful one
is($a->query_safe($report), '2', 'a report runs');
is($a->query_safe($show), $expected, 'settings restored after a report');

# (1) lock_timeout while the index query is planned
$b->query_safe('BEGIN; REINDEX INDEX items_id;');
$a->query_safe("SET lock_timeout = '200ms'");
my ($out, $ret) = $a->query($report);
like($a->{stderr}, qr/canceling statement due to lock timeout/,
	'the report fails waiting for a lock, which only planning its index query takes');
$a->{stderr} = '';
$a->query_safe('RESET lock_timeout');
is($a->query_safe($show), $expected, 'settings restored after the failure (lock_timeout)');
$b->query_safe('ROLLBACK');
like($a->query_safe('EXPLAIN (COSTS OFF) SELECT id FROM items WHERE id = 5'), qr/items_id/,
	'the planner sees all indexes again (hook removed)');

# (2) a cancel while the report waits in the index-query phase
$b->query_safe('BEGIN; REINDEX INDEX items_id;');
$a->query_until(qr/started/, "\\echo started\n$report;\n");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_locks
	WHERE pid = $apid AND NOT granted AND relation = 'items_id'::regclass}),
	'the report waits for the lock on the other index of its table');
is($node->safe_psql('postgres', qq{SELECT wait_event_type FROM pg_stat_activity WHERE pid = $apid}),
	'Lock', 'the report is in a lock wait');
is($node->safe_psql('postgres', "SELECT pg_cancel_backend($apid)"), 't', 'cancel sent');
is($a->query($show), $expected, 'settings restored after the failure (cancel)');
like($a->{stderr}, qr/canceling statement due to user request/, 'the report was cancelled');
$a->{stderr} = '';
$b->query_safe('ROLLBACK');
like($a->query_safe('EXPLAIN (COSTS OFF) SELECT id FROM items WHERE id = 5'), qr/items_id/,
	'the planner sees all indexes again after the cancel');
is($a->query_safe($report), '2', 'the same session runs a report again');
is($a->query_safe($show), $expected, 'and its settings are still the session\'s');

$a->quit;
$b->quit;
$node->stop;
done_testing();
