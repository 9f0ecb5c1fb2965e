# hnsw format 2: the walk measures 8-bit codes (codes = sq8; the default, auto, from 256
# dimensions) and the scan
# re-ranks with the vectors.  On seeded float data (vecsearch_synthetic: 6,000 rows of 48
# dims, intrinsic dimension 8, shifted so no value is an integer), for each of the four
# metrics, an index with codes and one without on the same rows:
#  - recall@10 at ef_search 40 against a sequential scan >= 0.95, and the codes' recall
#    within 0.02 of the vectors';
#  - every scan returns its rows in exact distance order (no row closer than the one
#    before it), which a walk on codes without the re-rank does not;
#  - the same after 1,000 rows inserted into the built index (aminsert writes codes),
#    and the checker clean (for ip: but for unreachable elements, with or without codes);
#  - exact mode (vecsearch.exact_scan) on an index with codes returns the sequential
#    scan's 20 nearest for every query;
#  - a damaged code (one byte inverted in the file) is named by the checker, the scan
#    still answers in exact order, and REINDEX clears it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('codes');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 0\nautovacuum = off");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	CREATE TABLE src (id int PRIMARY KEY, v vector(48));
	INSERT INTO src SELECT row_number() OVER (), (v::real[]::float8[])::vector
		FROM vecsearch_synthetic(7030, 48, 8, 11) v;
	UPDATE src SET v = (SELECT array_agg(x * 1.37 + 0.213 ORDER BY o)::real[]::vector
		FROM unnest(v::real[]) WITH ORDINALITY u(x, o));
	CREATE TABLE queries AS SELECT id - 7000 AS qid, v FROM src WHERE id > 7000;
	DELETE FROM src WHERE id > 6000;
});

my %ops = (l2 => '<->', cosine => '<=>', ip => '<#>', l1 => '<+>');

# recall@10 of table t through its index for operator op, and the number of rows a scan
# returned closer than the row before it (over all queries)
sub measure
{
	my ($t, $op) = @_;
	return $node->safe_psql('postgres', qq{
		SET enable_indexscan = off; SET enable_bitmapscan = off;
		CREATE TEMP TABLE exact AS
			SELECT q.qid, array(SELECT id FROM $t ORDER BY v $op q.v, id LIMIT 10) AS ids FROM queries q;
		RESET enable_indexscan; RESET enable_bitmapscan;
		SET enable_seqscan = off; SET hnsw.ef_search = 40;
		CREATE TEMP TABLE got AS
			SELECT q.qid, s.id, s.d, s.n FROM queries q, LATERAL (
				SELECT id, v $op q.v AS d, row_number() OVER () AS n
				FROM (SELECT id, v FROM $t ORDER BY v $op q.v LIMIT 10) x) s;
		SELECT round(avg(hit), 3) FROM (
			SELECT (SELECT count(*) FROM got g WHERE g.qid = e.qid AND g.id = ANY (e.ids)) / 10.0 AS hit
			FROM exact e) h;
		SELECT count(*) FROM got a JOIN got b ON a.qid = b.qid AND b.n = a.n + 1 WHERE b.d < a.d;
	});
}

for my $metric (sort keys %ops)
{
	my $op = $ops{$metric};
	my %recall;
	for my $codes ('sq8', 'none')
	{
		my $t = "t_${metric}_$codes";
		$node->safe_psql('postgres', qq{
			CREATE TABLE $t AS SELECT * FROM src WHERE id <= 5000;
			CREATE INDEX ${t}_idx ON $t USING hnsw (v vector_${metric}_ops) WITH (codes = $codes);
		});
		my ($r, $disorder) = split /\n/, measure($t, $op);
		$recall{$codes} = $r;
		cmp_ok($r, '>=', 0.95, "$metric, codes $codes: recall\@10 after the build ($r)");
		is($disorder, '0', "$metric, codes $codes: rows in exact distance order");
		$node->safe_psql('postgres', "INSERT INTO $t SELECT * FROM src WHERE id > 5000");
		($r, $disorder) = split /\n/, measure($t, $op);
		cmp_ok($r, '>=', 0.95, "$metric, codes $codes: recall\@10 after 1,000 inserts ($r)");
		is($disorder, '0', "$metric, codes $codes: rows in exact order after the inserts");
		# (an inner-product build leaves elements that no list keeps, with or without
		# codes: a known limit of the ip graph, not of the codes; the checker must find
		# nothing else there)
		my $where = $metric eq 'ip' ? "problem <> 'element is not reachable from the entry point'" : undef;
		is(index_problems($node, "${t}_idx", defined $where ? (where => $where) : ()), 'none',
			"$metric, codes $codes: checker clean");
	}
	# exact mode: the 20 nearest of every query equal the sequential scan's, with and
	# without codes
	for my $codes ('sq8', 'none')
	{
		my $t = "t_${metric}_$codes";
		my $q = qq{SELECT string_agg(ids, ' ' ORDER BY qid) FROM (SELECT q.qid,
			array(SELECT id FROM $t ORDER BY v $op q.v, id LIMIT 20)::text AS ids FROM queries q) s};
		my $seq = $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $q");
		my $ex = $node->safe_psql('postgres', "SET enable_seqscan = off; SET vecsearch.exact_scan = on; $q");
		is($ex, $seq, "$metric, codes $codes: exact mode gives the sequential scan's 20 nearest");
	}
	cmp_ok($recall{sq8}, '>=', $recall{none} - 0.02,
		"$metric: recall with codes ($recall{sq8}) within 0.02 of the vectors' ($recall{none})");
}

# One large coordinate: 1000 in every row, the other 15 uniform in [0, 1).  Were it coded
# with the rest, they would get one or two of the 256 levels and the walk would be lost
# (recall@10 0.03 - 0.34 when no outlier is kept); exact mode answers exactly whatever
# the codes.
$node->safe_psql('postgres', q{
	SELECT setseed(0.77);
	CREATE TABLE coarse (id int, v vector(16));
	INSERT INTO coarse SELECT i, (ARRAY[1000] || ARRAY(SELECT random() FROM generate_series(1, 15 + i * 0)))::real[]::vector
		FROM generate_series(1, 2000) i;
	CREATE TABLE coarse_q AS SELECT i AS qid, (ARRAY[1000] || ARRAY(SELECT random() FROM generate_series(1, 15 + i * 0)))::real[]::vector AS v
		FROM generate_series(1, 20) i;
});
for my $m ([ 'l2', '<->' ], [ 'cosine', '<=>' ], [ 'ip', '<#>' ], [ 'l1', '<+>' ])
{
	my ($metric, $op) = @$m;
	$node->safe_psql('postgres', "CREATE INDEX coarse_$metric ON coarse USING hnsw (v vector_${metric}_ops) WITH (codes = sq8)");
	my $q = qq{SELECT string_agg(ids, ' ' ORDER BY qid) FROM (SELECT q.qid,
		array(SELECT id FROM coarse ORDER BY v $op q.v, id LIMIT 10)::text AS ids FROM coarse_q q) s};
	my $seq = $node->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $q");
	my $ex = $node->safe_psql('postgres', "SET enable_seqscan = off; SET vecsearch.exact_scan = on; $q");
	is($ex, $seq, "coarse codes, $metric: exact mode gives the sequential scan's 10 nearest");
	# and the walk: the large coordinate is an outlier kept exactly, so the others keep
	# their 256 levels; recall as with the vectors (cosine on these rows, all within
	# 0.001 radians, is at the limit of float4 with or without codes)
	my $coarse_recall = sub {
		return $node->safe_psql('postgres', qq{
			SET enable_indexscan = off; SET enable_bitmapscan = off;
			CREATE TEMP TABLE ce AS SELECT q.qid, array(SELECT id FROM coarse ORDER BY v $op q.v, id LIMIT 10) AS ids FROM coarse_q q;
			RESET enable_indexscan; RESET enable_bitmapscan; SET enable_seqscan = off; SET hnsw.ef_search = 40;
			SELECT round(avg((SELECT count(*) FROM unnest(array(SELECT id FROM coarse ORDER BY v $op q.v LIMIT 10)) x
				WHERE x = ANY (e.ids)) / 10.0), 3) FROM coarse_q q JOIN ce e USING (qid);});
	};
	my $r8 = $coarse_recall->();
	$node->safe_psql('postgres', "DROP INDEX coarse_$metric; CREATE INDEX coarse_$metric ON coarse USING hnsw (v vector_${metric}_ops) WITH (codes = none)");
	my $r0 = $coarse_recall->();
	cmp_ok($r8, '>=', ($metric eq 'cosine' ? $r0 - 0.05 : 0.95),
		"coarse codes, $metric: recall\@10 of the walk on codes ($r8; $r0 on the vectors)");
	$node->safe_psql('postgres', "DROP INDEX coarse_$metric");
}

# The default, codes = auto: none below 256 dimensions, sq8 from 256 (the index sizes of
# auto and of the explicit choice are equal), also for an index built empty and filled by
# inserts.
$node->safe_psql('postgres', q{
	CREATE TABLE a48 AS SELECT * FROM src WHERE id <= 500;
	CREATE INDEX a48_auto ON a48 USING hnsw (v vector_l2_ops);
	CREATE INDEX a48_none ON a48 USING hnsw (v vector_l2_ops) WITH (codes = none);
	CREATE TABLE a256 (id int, v vector(256));
	INSERT INTO a256 SELECT i, (SELECT array_agg(sin(i * 0.37 + d)) FROM generate_series(1, 256 + i * 0) d)::real[]::vector
		FROM generate_series(1, 500) i;
	CREATE INDEX a256_auto ON a256 USING hnsw (v vector_l2_ops);
	CREATE INDEX a256_sq8 ON a256 USING hnsw (v vector_l2_ops) WITH (codes = sq8);
	CREATE INDEX a256_none ON a256 USING hnsw (v vector_l2_ops) WITH (codes = none);
	CREATE TABLE aempty (id int, v vector);
	CREATE INDEX aempty_auto ON aempty USING hnsw ((v::vector(256)) vector_l2_ops);
	INSERT INTO aempty SELECT * FROM a256;
});
my %sz = map { $_ => $node->safe_psql('postgres', "SELECT pg_relation_size('$_')") }
	qw(a48_auto a48_none a256_auto a256_sq8 a256_none aempty_auto);
is($sz{a48_auto}, $sz{a48_none}, "auto on 48 dimensions: no codes ($sz{a48_auto} bytes)");
is($sz{a256_auto}, $sz{a256_sq8}, "auto on 256 dimensions: sq8 ($sz{a256_auto} bytes; none $sz{a256_none})");
cmp_ok($sz{a256_auto}, '>', $sz{a256_none}, 'sq8 makes the 256-dimension index larger');
is(index_problems($node, 'aempty_auto'), 'none', 'auto on an index built empty, then filled by inserts: checker clean');
cmp_ok($sz{aempty_auto}, '>=', $sz{a256_sq8} * 0.9, "... and it has codes ($sz{aempty_auto} bytes)");

# Codes are recorded in the metapage: the sq8 index is larger by one code per slot.
my ($s8, $s0) = split /\|/, $node->safe_psql('postgres', q{
	SELECT pg_relation_size('t_l2_sq8_idx'), pg_relation_size('t_l2_none_idx')});
cmp_ok($s8, '>', $s0, "an index with codes is larger ($s8 against $s0 bytes)");

# A damaged code: invert byte 20 of the code of slot 7 (16 + 8m + 20 into the slot).
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('t_l2_sq8_idx')");
$node->stop;
open(my $fh, '+<:raw', $file) or die "open $file: $!";
my $meta;
sysseek($fh, 24, 0) or die;
sysread($fh, $meta, 168) == 168 or die;
my $m = unpack('v', substr($meta, 12, 2));
my $slot_size = unpack('V', substr($meta, 24, 4));
my ($codes, $code_bytes) = unpack('VV', substr($meta, 160, 8));
is("$codes $code_bytes", "1 96", "metapage: sq8 codes of 12 + 6 x 6 outlier + 48 bytes");
my $o = 7 * $slot_size + 16 + 8 * $m + 20;
my $at = (int($o / 8160) + 1) * 8192 + 24 + $o % 8160;
my $b;
sysseek($fh, $at, 0) or die;
sysread($fh, $b, 1) == 1 or die;
sysseek($fh, $at, 0) or die;
syswrite($fh, chr(ord($b) ^ 0xFF)) == 1 or die;
close($fh);
$node->start;
is(index_problems($node, 't_l2_sq8_idx'), "7: sq8 code differs from the code of its vector at byte 20 of 96",
	'the checker names the damaged code, its slot and byte');
my ($r, $disorder) = split /\n/, measure('t_l2_sq8', '<->');
is($disorder, '0', 'with a damaged code the rows still come in exact order');
$node->safe_psql('postgres', 'REINDEX INDEX t_l2_sq8_idx');
is(index_problems($node, 't_l2_sq8_idx'), 'none', 'REINDEX rebuilds the codes');

$node->stop;
done_testing();
