# A session that ends while the exact engine's helper threads run never takes the server
# down: every threaded entry point (vecsearch_knn, the LID functions, the three recall
# reports, CREATE INDEX with build_order = lid_desc) is ended while its helpers run by
# pg_terminate_backend (several times each), pg_cancel_backend, a client that goes away
# while client_connection_check_interval is set, and once by pg_ctl stop -m fast.  The
# server log must never show a server process killed by a signal, a crash-recovery cycle
# or a start after an unclean shutdown.
#
# No fixed sleeps: each statement is started in its own psql, and the signal is sent once
# /proc shows the backend with its helper threads (more than one task), i.e. while the
# threads run.  vecsearch.max_exact_threads (the ceiling an ordinary user cannot raise) is
# checked the same way, by counting the backend's threads.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('session_end');
$node->init;
# restart_after_crash: on old code a crash is counted and the test goes on
$node->append_conf('postgresql.conf', "vecsearch.exact_threads = 2\nrestart_after_crash = on\n");
$node->start;

# 40,000 rows of 48 dimensions: each statement runs its helpers for about a second here
my $rows = $ENV{VS_SESSION_END_ROWS} // 40000;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION vecsearch;
	CREATE TABLE items AS SELECT i::int AS id, v::vector(48) AS v FROM vecsearch_synthetic($rows, 48, 24, 7) WITH ORDINALITY AS s(v, i);
	CREATE TABLE qs AS SELECT v FROM items WHERE id % 100 = 0;
	CREATE INDEX items_hnsw ON items USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 10);
	ANALYZE items;
	CREATE ROLE alice LOGIN;
	GRANT SELECT ON items, qs TO alice;
});

my %stmt = (
	vecsearch_knn => q{SELECT count(*) FROM vecsearch_knn('items', 'v', (SELECT array_agg(v) FROM qs), 10)},
	vecsearch_lid => q{SELECT count(*) FROM vecsearch_lid('items', 'v', 20)},
	vecsearch_lid_summary => q{SELECT rows_used FROM vecsearch_lid_summary('items', 'v', 20)},
	vecsearch_recall => q{SELECT count(*) FROM vecsearch_recall('items_hnsw', k => 100, queries => 400, ef_search => '{10}')},
	vecsearch_recall_by_lid => q{SELECT count(*) FROM vecsearch_recall_by_lid('items_hnsw', k => 100, queries => 400, ef_search => '{10}', lid_k => 20)},
	vecsearch_tune => q{SELECT count(*) FROM vecsearch_tune('items_hnsw', 0.5, k => 100, queries => 400)},
	create_index_lid_desc => q{CREATE INDEX items_lid ON items USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 10, build_order = lid_desc, lid_k = 20)},
);
my @entries = sort keys %stmt;

# Threads (tasks) of process $pid now; 0 once it is gone.
sub tasks
{
	my ($pid) = @_;
	opendir(my $d, "/proc/$pid/task") or return 0;
	my $n = grep { !/^\./ } readdir($d);
	closedir($d);
	return $n;
}

# Wait until backend $pid runs more than one thread (its helpers); false if it ended first
# or after 120 s.
sub wait_helpers
{
	my ($pid) = @_;
	for (my $i = 0; $i < 120_000; $i++)
	{
		my $n = tasks($pid);
		return 1 if $n > 1;
		return 0 if $n == 0;
		usleep(1000);
	}
	return 0;
}

# Start $sql in a new session (as $user) after $setup; returns the session and its
# backend's pid once the statement was sent.
sub start_statement
{
	my ($sql, $setup, $user) = @_;
	# after a crash (old code) the server is back once it accepts connections
	$node->poll_query_until('postgres', 'SELECT true');
	my $s = $node->background_psql('postgres', on_error_stop => 0,
		$user ? (extra_params => [ '-U', $user ]) : ());
	my $pid = $s->query_safe('SELECT pg_backend_pid()');
	$s->query_safe($setup) if $setup;
	$s->query_until(qr/started/, "\\echo started\n$sql;\n");
	return ($s, $pid);
}

# Close session $s whether or not its psql is still alive (quit on a psql that has
# exited fails with a broken pipe).
sub end_session
{
	my ($s) = @_;
	eval {
		$s->{run}->pump_nb();
		if ($s->{run}->pumpable())
		{
			$s->{stdin} .= "\\q\n";
		}
		$s->{run}->finish;
	};
	eval { $s->{run}->kill_kill } if $@;
	return;
}

sub backend_gone
{
	my ($pid) = @_;
	return $node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid");
}

my %count = (terminated => 0, cancelled => 0, disconnected => 0, stopped => 0, hit => 0);

# pg_terminate_backend while the helpers run: the session ends with the administrator's
# FATAL, and the server goes on.
sub round_terminate
{
	my ($name) = @_;
	my ($s, $pid) = start_statement($stmt{$name});
	$count{hit}++ if wait_helpers($pid);
	$node->psql('postgres', "SELECT pg_terminate_backend($pid, 60000)");
	end_session($s);
	like($s->{stderr}, qr/terminating connection due to administrator command/,
		"$name: terminated");
	$count{terminated}++;
}

# pg_cancel_backend: the statement fails, the session goes on and can run it again.
sub round_cancel
{
	my ($name) = @_;
	my ($s, $pid) = start_statement($stmt{$name});
	$count{hit}++ if wait_helpers($pid);
	$node->psql('postgres', "SELECT pg_cancel_backend($pid)");
	is($s->query('SELECT 1'), '1', "$name: the session goes on after a cancel");
	like($s->{stderr}, qr/canceling statement due to user request/, "$name: cancelled");
	end_session($s);
	$count{cancelled}++;
}

# The client goes away (psql killed) while client_connection_check_interval is set: the
# backend notices and ends with "connection to client lost".
sub round_disconnect
{
	my ($name) = @_;
	my ($s, $pid) = start_statement($stmt{$name}, "SET client_connection_check_interval = '10ms'");
	$count{hit}++ if wait_helpers($pid);
	$s->{run}->kill_kill;
	eval { $s->{run}->finish };
	ok(backend_gone($pid), "$name: the backend of a vanished client ends");
	$count{disconnected}++;
}

for my $name (@entries)
{
	round_terminate($name) for 1 .. 5;
	round_cancel($name) for 1 .. 2;
	round_disconnect($name) for 1 .. 2;
	$node->poll_query_until('postgres', 'SELECT true');
	$node->psql('postgres', 'DROP INDEX IF EXISTS items_lid');
}

# pg_ctl stop -m fast while the helpers of a vecsearch_knn, then of a vecsearch_lid run,
# then a restart: the shutdown is clean (no recovery at the next start).
for my $name ('vecsearch_knn', 'vecsearch_lid')
{
	my ($s, $pid) = start_statement($stmt{$name});
	$count{hit}++ if wait_helpers($pid);
	$node->stop('fast');
	end_session($s);
	$count{stopped}++;
	$node->start;
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), $rows,
		"$name: the server restarts after a fast stop during the statement");
}

# Every statement was ended while its helpers ran (the test tests what it says).
is($count{hit}, $count{terminated} + $count{cancelled} + $count{disconnected} + $count{stopped},
	'every session was ended while its helper threads ran');

# The server log: no server process killed by a signal, never a crash-recovery cycle.
my $crashes = () = server_log_deaths($node);
is($crashes, 0, 'no server process was terminated by a signal');
is(scalar(server_log_reinits($node)), 0, 'the postmaster never reinitialized');
is(scalar(server_log_recoveries($node)), 0, 'the server never ran crash recovery');
diag(sprintf('%d sessions terminated, %d cancelled, %d disconnected, %d fast stop; %d ended while helper threads ran; server processes terminated by a signal: %d',
	$count{terminated}, $count{cancelled}, $count{disconnected}, $count{stopped}, $count{hit}, $crashes));


# vecsearch.max_exact_threads: an ordinary user asking for 8 threads runs at most the
# ceiling (4 by default: the backend and three helpers) and cannot raise it; a superuser
# can.  (vecsearch_knn's 400 queries make enough tiles for 8 threads.)

# Most threads backend $pid of session $s runs, until it has $want or the statement
# ends (its output arrives).
sub most_tasks
{
	my ($s, $pid, $want) = @_;
	my $most = 0;
	for (my $i = 0; $i < 120_000; $i++)
	{
		my $n = tasks($pid);
		$most = $n if $n > $most;
		last if $most >= $want;
		$s->{run}->pump_nb();
		last if $s->{stdout} ne '';
		usleep(1000);
	}
	return $most;
}

sub threads_seen
{
	my ($setup, $user, $want) = @_;
	my ($s, $pid) = start_statement($stmt{vecsearch_knn}, $setup, $user);
	my $most = most_tasks($s, $pid, $want);
	$node->psql('postgres', "SELECT pg_terminate_backend($pid, 60000)");
	end_session($s);
	return $most;
}

# (a custom setting exists once the library is loaded: the cast loads it)
is($node->safe_psql('postgres', q{SELECT '[1]'::vector; SHOW vecsearch.max_exact_threads}), "[1]\n4",
	'the ceiling is 4 threads by default');
my $most = threads_seen('SET vecsearch.exact_threads = 8', 'alice', 8);
is($most, 4, 'an ordinary user asking for 8 threads runs 4 (the ceiling)');
$node->psql('postgres', q{SELECT '[1]'::vector; SET vecsearch.max_exact_threads = 8}, stderr => \my $err,
	extra_params => [ '-U', 'alice' ]);
like($err, qr/permission denied to set parameter "vecsearch.max_exact_threads"/,
	'an ordinary user cannot raise the ceiling');
$most = threads_seen('SET vecsearch.max_exact_threads = 6; SET vecsearch.exact_threads = 8', undef, 6);
is($most, 6, 'a superuser can raise the ceiling for a session');

$node->stop;

done_testing();
