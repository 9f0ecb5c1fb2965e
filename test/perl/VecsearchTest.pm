# VecsearchTest: what the TAP tests of vecsearch share.  See test/README.
#
#   index_problems($node, $index, where => SQL, dbname => DB)
#       the index checker's findings as "slot: problem; ..." ("-" for a finding about
#       the whole index), or "none"
#   index_recall($node, exact => 'knn' | 'seqscan', table => T, ef_search => N, round => D)
#       recall@10 of ORDER BY v <-> q.v LIMIT 10 through the index, over queries(qid, v)
#   server_log_deaths($node), server_log_reinits($node), server_log_recoveries($node),
#   server_log_failures($node)
#       lines of the node's server log showing a server process that died, the
#       postmaster reinitializing, crash recovery, or any of the three
#
# The functions return values; the tests make the assertions.  test/run and
# make prove_installcheck put test/perl on perl's include path.
package VecsearchTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Utils;

our @EXPORT = qw(index_problems index_recall server_log_deaths server_log_reinits
  server_log_recoveries server_log_failures);

sub index_problems
{
	my ($node, $index, %opt) = @_;
	my $where = defined $opt{where} ? " WHERE $opt{where}" : '';
	return $node->safe_psql($opt{dbname} // 'postgres',
		"SELECT coalesce(string_agg(coalesce(slot::text, '-') || ': ' || problem, '; '), 'none') "
		  . "FROM vecsearch_index_check('$index')$where");
}

# The exact answers come from vecsearch_knn ('knn') or from a sequential scan ordered by
# distance, then id ('seqscan'); the index answers with enable_seqscan off at ef_search.
# Unrounded unless round => digits.
sub index_recall
{
	my ($node, %opt) = @_;
	my $table = $opt{table} // 'items';
	my $ef = $opt{ef_search} or die 'index_recall: ef_search is required';
	my $exact;
	if (($opt{exact} // '') eq 'knn')
	{
		$exact = qq{
			CREATE TEMP TABLE exact AS
			SELECT q.qid, array_agg(t.id ORDER BY k.rank) AS ids
			FROM vecsearch_knn('$table', 'v', (SELECT array_agg(v ORDER BY qid) FROM queries), 10) k
			JOIN (SELECT qid, row_number() OVER (ORDER BY qid) AS pos FROM queries) q ON q.pos = k.query
			JOIN $table t ON t.ctid = k.row_tid
			GROUP BY q.qid;};
	}
	elsif (($opt{exact} // '') eq 'seqscan')
	{
		$exact = qq{
			SET enable_indexscan = off; SET enable_bitmapscan = off;
			CREATE TEMP TABLE exact AS SELECT q.qid, array(SELECT id FROM $table ORDER BY v <-> q.v, id LIMIT 10) AS ids FROM queries q;
			RESET enable_indexscan;};
	}
	else
	{
		die "index_recall: exact must be 'knn' or 'seqscan'";
	}
	my $avg = qq{avg((SELECT count(*) FROM unnest(array(
			SELECT id FROM $table ORDER BY v <-> q.v LIMIT 10)) x WHERE x = ANY (e.ids)) / 10.0)};
	$avg = "round($avg, $opt{round})" if defined $opt{round};
	return $node->safe_psql('postgres', qq{
		$exact
		SET enable_seqscan = off;
		SET hnsw.ef_search = $ef;
		SELECT $avg
		FROM queries q JOIN exact e USING (qid);
	});
}

sub server_log_lines
{
	my ($node, $re) = @_;
	return grep { /$re/ } split /\n/, slurp_file($node->logfile);
}

# a server process killed by a signal (or, on Windows, an exception), or a PANIC
sub server_log_deaths
{
	return server_log_lines($_[0], qr/terminated by signal|was terminated by exception|PANIC/);
}

sub server_log_reinits
{
	return server_log_lines($_[0], qr/all server processes terminated; reinitializing/);
}

sub server_log_recoveries
{
	return server_log_lines($_[0],
		qr/database system was not properly shut down|database system was interrupted|entered recovery|redo starts/);
}

sub server_log_failures
{
	my ($node) = @_;
	return (server_log_deaths($node), server_log_reinits($node), server_log_recoveries($node));
}

1;
