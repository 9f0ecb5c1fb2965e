# Space under churn: an hnsw index whose rows are deleted, vacuumed and inserted again,
# cycle after cycle, stays the same size (VACUUM's freed slots and upper-layer records
# are reused), answers with a recall floor against the exact answer, and the checker
# stays clean.  Workloads of 10 cycles: 3,000 rows of 24 dims, every row deleted and the
# same rows inserted again (pgvector's vacuum test, which allows 2% of growth after one
# cycle); the same rows, 30% deleted at random and as many new rows inserted; 2,000 rows
# of 4 dims with m = 2, whose upper records can span several slots, fully churned.  The
# size after cycle 10 must be within 5% of the size after cycle 1 (before the fix: +104%,
# +33% and +379%).  Then: an index of on-disk format 1 is refused with a REINDEX hint;
# slots are reused across crash recovery (under wal_consistency_checking); the exact scan is not sized by the count of inserts ever
# made; and VACUUM repairs, even without dead rows, what concurrent inserts can leave
# (made here by editing the index file): a link to a deleted element, an element without
# an incoming link, an element above the entry point.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $node = PostgreSQL::Test::Cluster->new('churn');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 64MB\nautovacuum = off\nmax_parallel_maintenance_workers = 0");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION vecsearch;
	SELECT setseed(0.31);
	CREATE TABLE src (id int PRIMARY KEY, v vector(24));
	INSERT INTO src SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + i * 0) d)::real[]::vector
		FROM generate_series(1, 3000) i;
	CREATE TABLE queries AS SELECT id AS qid, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 24 + id * 0) d)::real[]::vector AS v
		FROM generate_series(1, 40) id;
});

sub size { return $node->safe_psql('postgres', "SELECT pg_relation_size('$_[0]')"); }
sub problems { return index_problems($node, $_[0]); }
# recall@10 of the index (ef_search 40) against the exact order of a sequential scan
sub recall { return index_recall($node, exact => 'seqscan', table => $_[0], ef_search => 40, round => 3); }

# Run 10 cycles of $sql (which deletes, vacuums and inserts) and return the sizes.
sub cycles
{
	my ($index, $sql) = @_;
	my @sizes = (size($index));
	for my $c (1 .. 10)
	{
		my $s = $sql =~ s/CYCLE/$c/gr;
		$node->safe_psql('postgres', $s);
		push @sizes, size($index);
	}
	return @sizes;
}

# workload 1: delete every row, VACUUM, insert the same rows again
$node->safe_psql('postgres', q{
	CREATE TABLE full_churn (id int, v vector(24));
	INSERT INTO full_churn SELECT * FROM src;
	CREATE INDEX full_hnsw ON full_churn USING hnsw (v vector_l2_ops);
});
my @full = cycles('full_hnsw', 'DELETE FROM full_churn; VACUUM full_churn; INSERT INTO full_churn SELECT * FROM src');
note('full churn, index bytes after the build and each cycle: ' . join(' ', @full));
my $growth = sprintf('%.1f', 100 * ($full[10] - $full[1]) / $full[1]);
cmp_ok($full[10], '<=', $full[1] * 1.05, "full churn: size after cycle 10 within 5% of cycle 1 ($growth%; bytes: @full)");
cmp_ok($full[1], '<=', $full[0] * 1.02, "full churn: one cycle grows the built index by at most 2% ($full[0] -> $full[1] bytes)");
my $r = recall('full_churn');
cmp_ok($r, '>=', 0.9, "full churn: recall\@10 after 10 cycles ($r)");
is(problems('full_hnsw'), 'none', 'full churn: checker clean after 10 cycles');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET vecsearch.exact_scan = on;
	SELECT count(*) FROM (SELECT id FROM full_churn ORDER BY v <-> (SELECT v FROM src LIMIT 1) LIMIT 1000000) s}),
	'3000', 'full churn: the index holds every row once');

# workload 2: delete 30% of the rows at random, VACUUM, insert as many new rows
$node->safe_psql('postgres', q{
	CREATE TABLE part_churn (id int PRIMARY KEY, v vector(24));
	INSERT INTO part_churn SELECT * FROM src;
	CREATE INDEX part_hnsw ON part_churn USING hnsw (v vector_l2_ops);
	CREATE SEQUENCE part_ids START 100000;
});
my @part = cycles('part_hnsw', q{
	SELECT setseed(CYCLE / 100.0);
	DELETE FROM part_churn WHERE id IN (SELECT id FROM part_churn ORDER BY random() LIMIT 900);
	VACUUM part_churn;
	INSERT INTO part_churn SELECT nextval('part_ids'), (SELECT array_agg(random() ORDER BY d)
		FROM generate_series(1, 24 + i * 0) d)::real[]::vector FROM generate_series(1, 900) i});
note('partial churn, index bytes after the build and each cycle: ' . join(' ', @part));
$growth = sprintf('%.1f', 100 * ($part[10] - $part[1]) / $part[1]);
cmp_ok($part[10], '<=', $part[1] * 1.05, "partial churn: size after cycle 10 within 5% of cycle 1 ($growth%; bytes: @part)");
$r = recall('part_churn');
cmp_ok($r, '>=', 0.9, "partial churn: recall\@10 after 10 cycles ($r)");
is(problems('part_hnsw'), 'none', 'partial churn: checker clean after 10 cycles');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET vecsearch.exact_scan = on;
	SELECT count(*) FROM (SELECT id FROM part_churn ORDER BY v <-> (SELECT v FROM src LIMIT 1) LIMIT 1000000) s}),
	'3000', 'partial churn: the index holds every live row once');

# An index of on-disk format 1 (vecsearch 0.1): emulated by setting the version field of
# full_hnsw's metapage to 1; every use is refused with 55000, naming the format and the
# REINDEX command.  The field set back, a full cycle with crash recovery in the middle
# (under wal_consistency_checking) must still reuse every slot.
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('full_hnsw')");
$node->stop;
open(my $fh, '+<:raw', $file) or die "open $file: $!";
sysseek($fh, 24 + 4, 0) or die;
syswrite($fh, pack('V', 1)) == 4 or die;
close($fh);
$node->start;
my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSET enable_seqscan = off; SELECT id FROM full_churn ORDER BY v <-> (SELECT v FROM src LIMIT 1) LIMIT 1");
like($err, qr/ERROR:  55000: hnsw index "full_hnsw" has on-disk format 1, and this version of vecsearch reads format 2\n.*\n?HINT:  REINDEX INDEX public\.full_hnsw;/,
	'format 1: a scan is refused with 55000, the index named and a REINDEX hint');
($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nINSERT INTO full_churn SELECT * FROM src LIMIT 1");
like($err, qr/ERROR:  55000: hnsw index "full_hnsw" has on-disk format 1/, 'format 1: an insert is refused the same way');
$node->stop;
open($fh, '+<:raw', $file) or die "open $file: $!";
sysseek($fh, 24 + 4, 0) or die;
syswrite($fh, pack('V', 2)) == 4 or die;
# and the count of inserts ever made (nelements) as after 200 million inserts of churn (8 bytes each were allocated)
sysseek($fh, 24 + 40, 0) or die;
syswrite($fh, pack('V', 200_000_000)) == 4 or die;
close($fh);
$node->append_conf('postgresql.conf', "wal_consistency_checking = 'generic'");
$node->start;
my $before = size('full_hnsw');
$node->safe_psql('postgres', 'DELETE FROM full_churn; VACUUM full_churn');
$node->stop('immediate');
$node->start;
$node->safe_psql('postgres', 'INSERT INTO full_churn SELECT * FROM src');
is(size('full_hnsw'), $before, 'a full cycle across crash recovery reuses every slot');
is(problems('full_hnsw'), 'none', 'after crash recovery: checker clean');
is($node->safe_psql('postgres', q{SET enable_seqscan = off; SET vecsearch.exact_scan = on;
	SELECT count(*) FROM (SELECT id FROM full_churn ORDER BY v <-> (SELECT v FROM src LIMIT 1) LIMIT 1000000) s}),
	'3000', 'exact scan after 200 million inserts of churn: memory by the slots, every row');
unlike(slurp_file($node->logfile), qr/inconsistent page found/, 'no WAL consistency failures in recovery');

# What inserts racing with VACUUM can leave (a link to an element that VACUUM was
# deleting, an element whose only incoming link a re-selected list dropped) is repaired
# by the next VACUUM even when it finds no dead rows and never calls ambulkdelete (the
# flaky "checker clean after a final VACUUM" of 103_hnsw_concurrent.pl).  Made here by
# editing the slot stream of a stopped cluster: one live element gets a link to a
# deleted slot, another loses every incoming link.
# The index is also a third churn workload: m = 2 and 4 dimensions make 48-byte slots, so
# the upper records of elements of level 6 and above span two slots or more.
$node->safe_psql('postgres', q{
	SELECT setseed(0.52);
	CREATE TABLE rep_src (id int, v vector(4));
	INSERT INTO rep_src SELECT i, (SELECT array_agg(random() ORDER BY d) FROM generate_series(1, 4 + i * 0) d)::real[]::vector
		FROM generate_series(1, 2000) i;
	CREATE TABLE rep AS SELECT * FROM rep_src;
	CREATE INDEX rep_hnsw ON rep USING hnsw (v vector_l2_ops) WITH (m = 2, ef_construction = 16);
});
my @tiny = cycles('rep_hnsw', 'DELETE FROM rep; VACUUM rep; INSERT INTO rep SELECT * FROM rep_src');
cmp_ok($tiny[10], '<=', $tiny[1] * 1.05, "tiny slots (multi-slot upper records): size after cycle 10 within 5% of cycle 1 (bytes: @tiny)");
# with 4 links per element on layer 0 the inserts' re-selected lists leave dozens of
# elements without an incoming link (reported as unreachable); a VACUUM relinks them
$node->safe_psql('postgres', 'VACUUM rep');
is(problems('rep_hnsw'), 'none', 'tiny slots: checker clean after 10 cycles and a VACUUM');
$node->safe_psql('postgres', q{
	DELETE FROM rep WHERE id % 10 = 0;
	VACUUM rep;
});
$file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('rep_hnsw')");
$node->stop;
my $page_data = 8192 - 24 - 8;
sub stream_io
{
	my ($fh, $off, $len, $bytes) = @_;
	my $out = '';
	while ($len > 0)
	{
		my $blk = 1 + int($off / $page_data);
		my $in = $off % $page_data;
		my $chunk = $len < $page_data - $in ? $len : $page_data - $in;
		sysseek($fh, $blk * 8192 + 24 + $in, 0) or die;
		if (defined $bytes) { syswrite($fh, substr($bytes, length($out), $chunk)) == $chunk or die; $out .= substr($bytes, length($out), $chunk); }
		else { my $b; sysread($fh, $b, $chunk) == $chunk or die; $out .= $b; }
		$off += $chunk;
		$len -= $chunk;
	}
	return $out;
}
open($fh, '+<:raw', $file) or die "open $file: $!";
my $meta;
sysseek($fh, 24, 0) or die;
sysread($fh, $meta, 64) == 64 or die;
my ($m, $slot_size, $next_slot, $entry, $pstart, $pend) = (unpack('v', substr($meta, 12, 2)), unpack('V', substr($meta, 24, 4)),
	unpack('V', substr($meta, 28, 4)), unpack('V', substr($meta, 32, 4)), unpack('V', substr($meta, 44, 4)), unpack('V', substr($meta, 48, 4)));
my (%kind, %level, %list);
for my $id (0 .. $next_slot - 1)
{
	next if $id >= $pstart && $id < $pend;
	my $rec = stream_io($fh, $id * $slot_size, 16 + 8 * $m);
	($kind{$id}, $level{$id}) = unpack('CC', substr($rec, 6, 2));
	$list{$id} = [ grep { $_ != 0xFFFFFFFF } unpack('V*', substr($rec, 16, 8 * $m)) ] if $kind{$id} == 1 || $kind{$id} == 3;
}
my ($deleted) = grep { $kind{$_} == 3 } sort { $a <=> $b } keys %kind;
my ($linker) = grep { $kind{$_} == 1 && $_ != $entry && @{ $list{$_} } < 2 * $m && !grep { $_ == $deleted } @{ $list{$_} } } sort { $a <=> $b } keys %list;
my ($orphan) = grep { $kind{$_} == 1 && $level{$_} == 0 && $_ != $entry && $_ != $linker } sort { $b <=> $a } keys %list;
sub write_list
{
	my ($id, @l) = @_;
	stream_io($fh, $id * $slot_size + 16, 8 * $m, pack('V*', @l, (0xFFFFFFFF) x (2 * $m - @l)));
}
write_list($linker, @{ $list{$linker} }, $deleted);
for my $id (keys %list)
{
	write_list($id, grep { $_ != $orphan } @{ $list{$id} }) if grep { $_ == $orphan } @{ $list{$id} };
}
close($fh);
$node->start;
is($node->safe_psql('postgres', "SELECT string_agg(slot || ': ' || problem, '; ' ORDER BY problem) FROM vecsearch_index_check('rep_hnsw')"),
	"$orphan: element is not reachable from the entry point; $linker: layer 0 neighbour $deleted is a deleted element",
	'edited index: a link to a deleted element and an unreachable element');
$node->safe_psql('postgres', 'VACUUM rep');
is(problems('rep_hnsw'), 'none', 'a VACUUM that finds no dead rows repairs both');

# An insert racing with VACUUM's move of the entry point can leave an element above the
# new entry point; VACUUM moves it up, even when the entry point did not die.  Made by
# pointing the metapage at a live element of level 0.
$node->stop;
open($fh, '+<:raw', $file) or die "open $file: $!";
my ($low) = grep { $kind{$_} == 1 && $level{$_} == 0 && $_ != $orphan && $_ != $linker } sort { $a <=> $b } keys %list;
my $hdr = stream_io($fh, $low * $slot_size, 6);
my ($bhi, $blo, $posid) = unpack('vvv', $hdr);
sysseek($fh, 24 + 32, 0) or die;
syswrite($fh, pack('Vl', $low, 0)) == 8 or die;
close($fh);
$node->start;
like($node->safe_psql('postgres', "SELECT string_agg(problem, '; ') FROM vecsearch_index_check('rep_hnsw') WHERE slot IS NULL"),
	qr/^an element has level \d+, above the entry point's 0$/, 'edited index: an element above the entry point');
my $tid = '(' . ($bhi * 65536 + $blo) . ",$posid)";
$node->safe_psql('postgres', "DELETE FROM rep WHERE ctid = (SELECT min(ctid) FROM rep WHERE ctid <> '$tid'); VACUUM rep");
is(problems('rep_hnsw'), 'none', 'VACUUM moves the entry point to the highest level');

$node->stop;
done_testing();
