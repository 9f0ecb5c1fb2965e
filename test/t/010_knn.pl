# vecsearch_knn against brute force computed independently in SQL, on seeded random
# data with duplicates (exact ties) and NULLs: every metric, k = 10, 20 queries, with one
# and two compute threads.  Two oracles: the distance operators ranked by (distance,
# ctid) must match exactly; a double-precision computation from the real[] elements
# (no vecsearch code at all) must agree up to float rounding, tie-aware.  Then a
# cancelled call (statement_timeout) must leave the session healthy.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vecsearch');

# 600 rows of 24 dims, 40 of them duplicates of earlier rows, 10 NULLs; 20 queries,
# half of them copies of table rows (distance 0), half fresh.
$node->safe_psql('postgres', q{
	SELECT setseed(0.17);
	CREATE TABLE items (id int, v vector(24));
	INSERT INTO items
		SELECT i, (SELECT array_agg(random() * 4 - 2)::real[] FROM generate_series(1, 24 + i * 0))::vector
		FROM generate_series(1, 550) i;
	INSERT INTO items SELECT 550 + id, v FROM items WHERE id <= 40 ORDER BY id;
	INSERT INTO items SELECT 590 + i, NULL FROM generate_series(1, 10) i;
	CREATE TABLE queries (qid int, v vector(24));
	INSERT INTO queries SELECT row_number() OVER (ORDER BY id), v FROM items WHERE id % 50 = 7 AND id < 500;
	INSERT INTO queries
		SELECT 10 + i, (SELECT array_agg(random() * 4 - 2)::real[] FROM generate_series(1, 24 + i * 0))::vector
		FROM generate_series(1, 10) i;
	CREATE TABLE elems AS
		SELECT id, ctid AS tid, ordinality AS j, x::float8 AS x
		FROM items, unnest(v::real[]) WITH ORDINALITY AS u(x) WHERE v IS NOT NULL;
	CREATE TABLE qelems AS
		SELECT qid, ordinality AS j, x::float8 AS x
		FROM queries, unnest(v::real[]) WITH ORDINALITY AS u(x);
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM queries'), '20', '20 queries');

my %op = (l2 => '<->', ip => '<#>', cosine => '<=>', l1 => '<+>');

# The independent distance in double precision, from the elements.
my %indep = (
	l2 => 'sqrt(sum((e.x - q.x) ^ 2))',
	ip => '-sum(e.x * q.x)',
	cosine => '1 - sum(e.x * q.x) / sqrt(sum(e.x * e.x) * sum(q.x * q.x))',
	l1 => 'sum(abs(e.x - q.x))');

for my $threads (1, 2)
{
	for my $metric (sort keys %op)
	{
		my $o = $op{$metric};
		my $knn = qq{
			CREATE TEMP TABLE knn AS
			SELECT * FROM vecsearch_knn('items', 'v',
				(SELECT array_agg(v ORDER BY qid) FROM queries), 10, '$metric')};
		$node->safe_psql('postgres', qq{
			SET vecsearch.exact_threads = $threads;
			$knn;
			CREATE TABLE knn_${metric}_$threads AS SELECT * FROM knn});

		# oracle 1: the operator, ranked by (distance, ctid), must match exactly
		my $diff = $node->safe_psql('postgres', qq{
			WITH sql AS (
				SELECT * FROM (
					SELECT q.qid AS query,
						row_number() OVER (PARTITION BY q.qid ORDER BY i.v $o q.v, i.ctid)::int AS rank,
						i.ctid AS row_tid, i.v $o q.v AS distance
					FROM queries q, items i WHERE i.v IS NOT NULL) s
				WHERE rank <= 10)
			SELECT count(*) FILTER (WHERE k.row_tid IS DISTINCT FROM s.row_tid
					OR k.distance IS DISTINCT FROM s.distance), count(*)
			FROM knn_${metric}_$threads k FULL JOIN sql s USING (query, rank)});
		is($diff, '0|200', "$metric, $threads thread(s): identical to ORDER BY $o, ctid");

		# oracle 2: double precision from the elements, tie-aware.  Each returned
		# distance matches the independent one to 1e-4 (relative to the scale of the
		# data), and no row left out is nearer than the 10th by more than that.
		my $indep = $indep{$metric};
		my $bad = $node->safe_psql('postgres', qq{
			WITH d AS (
				SELECT q.qid AS query, e.tid, $indep AS dist
				FROM elems e JOIN qelems q USING (j) GROUP BY q.qid, e.tid),
			k AS (SELECT k.*, d.dist FROM knn_${metric}_$threads k
				JOIN d ON d.query = k.query AND d.tid = k.row_tid),
			kth AS (SELECT query, max(dist) AS kth FROM k GROUP BY query)
			SELECT
				(SELECT count(*) FROM k WHERE abs(distance - dist) > 1e-4 * (1 + abs(dist))),
				(SELECT count(*) FROM d JOIN kth USING (query)
					WHERE d.dist < kth.kth - 1e-4 * (1 + abs(kth.kth))
					AND NOT EXISTS (SELECT 1 FROM k WHERE k.query = d.query AND k.row_tid = d.tid)),
				(SELECT count(*) FROM k k1 JOIN k k2 ON k1.query = k2.query AND k2.rank = k1.rank + 1
					WHERE k2.distance < k1.distance
					   OR (k2.distance = k1.distance AND k2.row_tid < k1.row_tid)),
				(SELECT count(DISTINCT query) FROM k)});
		is($bad, '0|0|0|20',
			"$metric, $threads thread(s): matches the independent double-precision brute force");
	}
}

# duplicates are exact ties at distance 0, broken by TID: a query copied from row 7
# (which has a duplicate, row 557) finds both, row 7 first
is($node->safe_psql('postgres', q{
	SELECT string_agg(i.id || ':' || k.distance, ' ' ORDER BY k.rank)
	FROM knn_l2_1 k JOIN items i ON i.ctid = k.row_tid WHERE k.query = 1 AND k.rank <= 2}),
	'7:0 557:0', 'duplicates: distance 0, ordered by TID');

# one and two threads give the same answer
for my $metric (sort keys %op)
{
	is($node->safe_psql('postgres', qq{
		SELECT count(*) FROM (SELECT * FROM knn_${metric}_1 EXCEPT SELECT * FROM knn_${metric}_2) x}),
		'0', "$metric: one and two threads agree");
}

# Cancellation while the compute threads run: the session survives and answers again.
$node->safe_psql('postgres', q{
	CREATE TABLE wide AS
		SELECT i AS id, (SELECT array_agg(random())::real[] FROM generate_series(1, 512 + i * 0))::vector AS v
		FROM generate_series(1, 20000) i});
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SET vecsearch.exact_threads = 2;
	SET statement_timeout = '100ms';
	SELECT count(*) FROM vecsearch_knn('wide', 'v',
		(SELECT array_agg(v) FROM (SELECT v FROM wide LIMIT 2000) s), 10);
	RESET statement_timeout;
	SELECT count(*) FROM vecsearch_knn('items', 'v', ARRAY[(SELECT v FROM items WHERE id = 1)], 10);},
	on_error_stop => 0);
like($stderr, qr/canceling statement due to statement timeout/, 'a long call is cancelled');
is($stdout, '10', 'the same session answers the next call');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server is up');

# The same during an all-pairs pass (LID of every row: pairs of row tiles shared by
# the threads) and during a sampled one (table mode).
for my $sample ('NULL', '3000')
{
	($ret, $stdout, $stderr) = $node->psql('postgres', qq{
		SET vecsearch.exact_threads = 2;
		SET statement_timeout = '200ms';
		SELECT * FROM vecsearch_lid_summary('wide', 'v', 50, $sample);
		RESET statement_timeout;
		SELECT rows_used FROM vecsearch_lid_summary('items', 'v', 10);},
		on_error_stop => 0);
	like($stderr, qr/canceling statement due to statement timeout/,
		"LID with sample $sample is cancelled");
	is($stdout, '590', "the same session computes LID again (sample $sample)");
}

$node->stop;
done_testing();
