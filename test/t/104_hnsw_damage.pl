# hnsw on damaged index files: seeded random damage (patched metapage fields, random bytes
# anywhere, targeted neighbour lists and element headers) to copies of indexes of several
# dimensions and metrics, then an ordered scan, an iterative scan, an exact-mode scan, an
# insert, a delete + VACUUM and the checker on each.  Asserted: the server never crashes
# (no "terminated by signal", no recovery), every statement succeeds or fails with an
# acceptable SQLSTATE (XX002 index corrupted, XX001 data corrupted from PostgreSQL's own
# page checks, 57014 if statement_timeout fires), backends never need more address space
# than the stated bound (prlimit on the postmaster; no "out of memory", no "invalid
# memory alloc request size"), no statement outlives the client's timeout (every loop
# can be cancelled), the checker never fails and reports every invalid metapage patch.
# VS_DAMAGE_SEED picks the seed; VS_DAMAGE_ROUNDS the rounds (default 80 under CI=true,
# else 200).  Each round damages all three indexes, one case each.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VecsearchTest;

my $seed = $ENV{VS_DAMAGE_SEED} // 20261202;
my $rounds = $ENV{VS_DAMAGE_ROUNDS} // (($ENV{CI} // '') eq 'true' ? 80 : 200);
srand($seed);
note "seed $seed, $rounds rounds";

# Address-space bound of every backend (shared memory and libraries included): a
# damaged id or count that sized an allocation by itself would ask for gigabytes.
my $as_limit = 1536 * 1024 * 1024;

my $node = PostgreSQL::Test::Cluster->new('damage');
$node->init;
my $pgdata = $node->data_dir;
my %files;		# relation name -> its file
my $clean = $node->basedir . '/clean';	# the clean copies
$node->append_conf('postgresql.conf', qq{
shared_buffers = 32MB
statement_timeout = '30s'
restart_after_crash = on
log_min_messages = warning
});
start_limited();

# Start, then bound the address space of the postmaster, which its backends inherit.
sub start_limited
{
	$node->start;
	my ($pid) = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	system('prlimit', "--pid=$pid", "--as=$as_limit:$as_limit") == 0 or die 'prlimit failed';
}

# Three tables and indexes: (name, dims, rows, opclass, operator, options).
my @idx = (
	[ 'd3',   3,   3000, 'vector_l2_ops',     '<->', 'm = 16, ef_construction = 40' ],
	[ 'd64',  64,  1500, 'vector_cosine_ops', '<=>', 'm = 8, ef_construction = 32' ],
	[ 'd784', 784, 300,  'vector_l2_ops',     '<->', 'm = 12, ef_construction = 32' ],
);

sub randvec
{
	my ($d) = @_;
	return '[' . join(',', map { sprintf('%.4f', rand() * 2 - 1) } 1 .. $d) . ']';
}

$node->safe_psql('postgres', 'CREATE EXTENSION vecsearch');
for my $x (@idx)
{
	my ($n, $d, $rows, $ops, $op, $with) = @$x;
	# the build writes most rows; later inserts give aminsert's own upper records,
	# deletes and VACUUM a free list, and reinserts reuse part of it
	$node->safe_psql('postgres', qq{
		SELECT setseed(0.$d);
		CREATE TABLE t_$n (id int, v vector($d));
		INSERT INTO t_$n SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $d + i * 0))::real[]::vector
			FROM generate_series(1, $rows * 4 / 5) i;
		CREATE INDEX i_$n ON t_$n USING hnsw (v $ops) WITH ($with);
		INSERT INTO t_$n SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $d + i * 0))::real[]::vector
			FROM generate_series($rows * 4 / 5 + 1, $rows) i;
		DELETE FROM t_$n WHERE id % 11 = 5;
		VACUUM t_$n;
		INSERT INTO t_$n SELECT i, (SELECT array_agg(random() * 2 - 1) FROM generate_series(1, $d + i * 0))::real[]::vector
			FROM generate_series($rows + 1, $rows + $rows / 50) i;
		VACUUM FREEZE t_$n;
	});
	is(index_problems($node, "i_$n"), 'none', "i_$n is healthy before any damage");
}

sub restore
{
	for my $rel (sort keys %files)
	{
		for my $fork ('', '_fsm', '_vm')
		{
			if (-e "$clean/$rel$fork")
			{
				copy("$clean/$rel$fork", "$files{$rel}$fork") or die "restore $rel$fork: $!";
			}
			elsif (-e "$files{$rel}$fork")
			{
				unlink "$files{$rel}$fork";
			}
		}
	}
}

# The metapage: HnswMetaPageData at byte 24 of block 0 (src/hnsw.h).
my @mfields = (
	[ 'magic', 0, 'L' ], [ 'version', 4, 'L' ], [ 'dims', 8, 'L' ], [ 'm', 12, 'S' ],
	[ 'ef_construction', 14, 'S' ], [ 'metric', 16, 'L' ], [ 'seed', 20, 'L' ],
	[ 'slot_size', 24, 'L' ], [ 'next_slot', 28, 'L' ], [ 'entry_id', 32, 'L' ],
	[ 'entry_level', 36, 'l' ], [ 'nelements', 40, 'L' ], [ 'packed_start', 44, 'L' ],
	[ 'packed_end', 48, 'L' ], [ 'free_head', 52, 'L' ], [ 'codes', 160, 'L' ],
	[ 'code_bytes', 164, 'L' ]);
my $META = 24;
my $PAGE_DATA = 8160;

sub readfile
{
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or die "$f: $!";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

sub writeat
{
	my ($f, $off, $bytes) = @_;
	open(my $fh, '+<:raw', $f) or die "$f: $!";
	seek($fh, $off, 0);
	print $fh $bytes;
	close $fh;
}

sub meta_of
{
	my ($img) = @_;
	my %m;
	for my $fl (@mfields)
	{
		$m{ $fl->[0] } = unpack($fl->[2], substr($img, $META + $fl->[1], $fl->[2] =~ /S/ ? 2 : 4));
	}
	return \%m;
}

# File offset of byte k of slot id (slots straddle pages: one byte at a time).
sub slot_byte
{
	my ($meta, $id, $k) = @_;
	my $o = $id * $meta->{slot_size} + $k;
	return (int($o / $PAGE_DATA) + 1) * 8192 + 24 + $o % $PAGE_DATA;
}

sub put_slot_bytes
{
	my ($f, $meta, $id, $k, $bytes) = @_;
	for my $i (0 .. length($bytes) - 1)
	{
		writeat($f, slot_byte($meta, $id, $k + $i), substr($bytes, $i, 1));
	}
}

sub pick { return $_[ int(rand(@_)) ]; }

# Invalid values of each metapage field (each one must be reported by the checker).
sub bad_value
{
	my ($meta, $field, $nblocks) = @_;
	my $room = int(($nblocks - 1) * $PAGE_DATA / $meta->{slot_size});
	return pick(0, 1, 101, 300, 65535) if $field eq 'm';
	return pick(0, 3, 1001, 65535) if $field eq 'ef_construction';
	return pick(0, 5, 0xFFFFFFFF) if $field eq 'metric';
	return pick(16001, 65535, 0xFFFFFFFF, $meta->{dims} + 1, $meta->{dims} * 2) if $field eq 'dims';
	return pick(0, 4, $meta->{slot_size} - 4, $meta->{slot_size} + 4, 0xFFFFFFFF, 1) if $field eq 'slot_size';
	return pick($room + 1, 0xFFFFFFFE, 0x7FFFFFFF, $room * 3) if $field eq 'next_slot';
	return pick($meta->{next_slot}, 0xFFFFFFF0, 0x7FFFFFFF, $meta->{packed_start}) if $field eq 'entry_id';
	return pick(25, 255, 1000000, 0x7FFFFFFF, -2) if $field eq 'entry_level';
	return pick($meta->{next_slot} + 1, 0xFFFFFFF0) if $field eq 'packed_end';
	return pick($meta->{next_slot}, 0x7FFFFFFF, $meta->{packed_start}) if $field eq 'free_head';
	return pick(0x12345678, 0) if $field eq 'magic';
	return pick(3, 0xFFFFFFFF) if $field eq 'version';
	return pick(2, 255, $meta->{codes} ? 0 : 1) if $field eq 'codes';
	return pick(0, 4, $meta->{code_bytes} + 4, 0xFFFFFFFF) if $field eq 'code_bytes';
	die $field;
}

# Apply one damage case to index $n; returns (description, must_be_detected).
sub damage
{
	my ($n) = @_;
	my $f = $files{"i_$n"};
	my $img = readfile($f);
	my $nblocks = length($img) / 8192;
	my $meta = meta_of($img);
	my $kind = pick(qw(patch patch patch meta_bytes file_bytes list list header header
		count vector code upper freelink));
	if ($kind eq 'patch')
	{
		my $field = pick(qw(m m ef_construction metric dims slot_size slot_size next_slot
			entry_id entry_level entry_level packed_end free_head magic version codes code_bytes));
		return if $field eq 'entry_id' && $meta->{packed_start} == $meta->{packed_end};
		my ($fl) = grep { $_->[0] eq $field } @mfields;
		my $val = bad_value($meta, $field, $nblocks);
		writeat($f, $META + $fl->[1], pack($fl->[2], $val));
		return ("metapage $field $meta->{$field} -> $val", 1);
	}
	if ($kind eq 'count')
	{
		# nelements is not validated (it counts insertions) but must size nothing
		my $val = pick(0, 0xFFFFFFFF, 0x7FFFFFFF);
		writeat($f, $META + 40, pack('L', $val));
		return ("metapage nelements -> $val", 0);
	}
	if ($kind eq 'meta_bytes')
	{
		my @d;
		for (1 .. 1 + int(rand(4)))
		{
			my $o = $META + int(rand(64));
			my $b = int(rand(256));
			writeat($f, $o, chr($b));
			push @d, "$o=$b";
		}
		return ("metapage bytes @d", 0);
	}
	if ($kind eq 'file_bytes')
	{
		my @d;
		for (1 .. 1 + int(rand(16)))
		{
			my $o = int(rand(length($img)));
			my $b = int(rand(256));
			writeat($f, $o, chr($b));
			push @d, "$o=$b";
		}
		return ("file bytes @d", 0);
	}
	if ($kind eq 'upper')
	{
		# a word of the build's packed upper records (lists of layers >= 1)
		return if $meta->{packed_end} == $meta->{packed_start};
		my $span = ($meta->{packed_end} - $meta->{packed_start}) * $meta->{slot_size};
		my $at = $meta->{packed_start} * $meta->{slot_size} + 4 * int(rand($span / 4));
		my $val = pick(0xFFFFFFFE, $meta->{next_slot} + 7, int(rand(2**32)), 0, 255);
		put_slot_bytes($f, $meta, 0, $at, pack('L', $val));
		return ("packed upper area byte $at -> $val", 0);
	}
	if ($kind eq 'freelink')
	{
		# the next-free link (block half of the heap TID) of the free list's head
		return if $meta->{free_head} == 0xFFFFFFFF;
		my $val = pick($meta->{next_slot} + 5, 0x7FFFFFFF, $meta->{packed_start}, $meta->{free_head});
		put_slot_bytes($f, $meta, $meta->{free_head}, 0, pack('SS', $val >> 16, $val & 0xFFFF));
		return ("free slot $meta->{free_head} link -> $val", 0);
	}
	# targeted slot damage: an element of the build (ids below packed_start)
	my $id = int(rand($meta->{packed_start} || 1));
	if ($kind eq 'vector')
	{
		my $i = int(rand($meta->{dims}));
		my $val = pick('7fc00000', '7f800000', 'ff800000', '7f7fffff');
		# the vector ends the slot (src/hnsw.h)
		put_slot_bytes($f, $meta, $id, $meta->{slot_size} - 4 * $meta->{dims} + 4 * $i, pack('V', hex($val)));
		return ("slot $id vector element $i -> 0x$val", 0);
	}
	if ($kind eq 'code')
	{
		# any byte of the code (header, outliers, one byte per dimension), inverted:
		# the walk goes astray, answers stay exact, and the checker sees the mismatch
		return unless $meta->{code_bytes} > 0 && $meta->{packed_start} > 0;
		my $k = int(rand($meta->{code_bytes}));
		my $at = 16 + 8 * $meta->{m} + $k;
		my $old = ord(substr(readfile($f), slot_byte($meta, $id, $at), 1));
		put_slot_bytes($f, $meta, $id, $at, chr($old ^ 0xFF));
		return ("slot $id code byte $k", 0);
	}
	if ($kind eq 'list')
	{
		my $i = int(rand(2 * $meta->{m}));
		my $val = pick(0xFFFFFFFE, 0x7FFFFFFF, $meta->{next_slot}, $meta->{next_slot} + 1000,
			int(rand(2**32)), $id, 0);
		put_slot_bytes($f, $meta, $id, 16 + 4 * $i, pack('L', $val));
		return ("slot $id layer-0 entry $i -> $val", 0);
	}
	# header: kind, level, upper slot, upper offset, heap TID
	my $what = pick(qw(kind level level upper upper_off tid));
	my %at = (kind => [ 6, 'C', pick(0, 1, 2, 3, 200) ], level => [ 7, 'C', pick(1, 24, 25, 255) ],
		upper => [ 8, 'L', pick(0, $meta->{next_slot}, 0xFFFFFFF0, int(rand(2**32))) ],
		upper_off => [ 12, 'S', pick(65535, $meta->{slot_size}, 4) ],
		tid => [ 0, 'L', int(rand(2**32)) ]);
	my ($k, $fmt, $val) = @{ $at{$what} };
	put_slot_bytes($f, $meta, $id, $k, pack($fmt, $val));
	return ("slot $id header $what -> $val", 0);
}

# One statement in a new session; returns 'ok', a SQLSTATE, 'hung' or 'lost' (connection).
my %count;
my $statements = 0;
sub run
{
	my ($sql) = @_;
	my ($out, $err, $timed_out);
	$statements++;
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err,
		timeout => 240, timed_out => \$timed_out);
	my $res;
	if ($timed_out) { $res = 'hung'; }
	elsif ($err =~ /(?:ERROR|FATAL|PANIC):  ([0-9A-Z]{5}):/) { $res = $1; }
	elsif ($err =~ /server closed the connection|connection to server .* failed|terminat/) { $res = 'lost'; }
	else { $res = 'ok'; }
	$count{$res}++;
	return ($res, $out // '', $err // '');
}

# A known case first: the message and hint, the checker's row, REINDEX as the remedy.
{
	my $f = "$pgdata/" . $node->safe_psql('postgres', "SELECT pg_relation_filepath('i_d3')");
	my $scan = "SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM t_d3 ORDER BY v <-> '[1,2,3]' LIMIT 5) s;";
	$node->stop('fast');
	writeat($f, $META + 12, pack('S', 300));
	start_limited();
	my ($res, $out, $err) = run($scan);
	is($res, 'XX002', 'a scan of an index whose metapage says m = 300 fails with XX002');
	like($err, qr/ERROR:  XX002: index "i_d3" is corrupted: metapage m is 300, expected 2 to 100\n(.*\n)?HINT:  REINDEX the index\./,
		'... naming the index, the field, its value and its limits, with a hint to REINDEX');
	is($node->safe_psql('postgres', "SELECT coalesce(slot::text, '-') || ': ' || problem FROM vecsearch_index_check('i_d3')"),
		'-: metapage m is 300, expected 2 to 100', 'the checker reports it as a row');
	$node->safe_psql('postgres', 'REINDEX INDEX i_d3');
	is(index_problems($node, 'i_d3'), 'none', 'REINDEX rebuilds it');
	is((run($scan))[1], '5', 'and it answers again');
	%count = ();
	$statements = 0;
}

# Files of every table and index, and their clean copies (taken stopped).
for my $x (@idx)
{
	my $n = $x->[0];
	for my $rel ("t_$n", "i_$n")
	{
		$files{$rel} = "$pgdata/" . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
	}
}
$node->stop('fast');
mkdir $clean;
for my $rel (sort keys %files)
{
	for my $fork ('', '_fsm', '_vm')
	{
		copy("$files{$rel}$fork", "$clean/$rel$fork") or die "copy $rel$fork: $!"
		  if -e "$files{$rel}$fork";
	}
}

my %acceptable = map { $_ => 1 } qw(ok XX002 XX001 57014);
my @bad;
my $undetected = 0;
my $checker_failed = 0;

for my $round (1 .. $rounds)
{
	$node->stop('fast') if $round > 1;
	restore();
	my %case;
	for my $x (@idx)
	{
		my ($desc, $must);
		do { ($desc, $must) = damage($x->[0]) } until defined $desc;
		$case{ $x->[0] } = [ $desc, $must ];
	}
	start_limited();
	for my $x (@idx)
	{
		my ($n, $d, $rows, $ops, $op, $with) = @$x;
		my ($desc, $must) = @{ $case{$n} };
		my $q = randvec($d);
		my @stmts = (
			[ scan => "SET enable_seqscan = off; SELECT count(*) FROM (SELECT id FROM t_$n ORDER BY v $op '$q' LIMIT 10) s;" ],
			[ iterative => "SET enable_seqscan = off; SET hnsw.iterative_scan = relaxed_order; SET hnsw.ef_search = 10;
				SELECT count(*) FROM (SELECT id FROM t_$n WHERE id % 3 = 0 ORDER BY v $op '$q' LIMIT 50) s;" ],
			[ exact => "SET enable_seqscan = off; SET vecsearch.exact_scan = on;
				SELECT count(*) FROM (SELECT id FROM t_$n ORDER BY v $op '$q' LIMIT 1000000) s;" ],
			[ insert => "INSERT INTO t_$n VALUES " . join(', ', map { "(-$_, '" . randvec($d) . "')" } 1 .. 8) . ';' ],
			[ vacuum => "DELETE FROM t_$n WHERE id % 7 = 3;\nVACUUM (INDEX_CLEANUP on) t_$n;" ],
			[ check => "SELECT count(*) FROM vecsearch_index_check('i_$n');" ]);
		for my $s (@stmts)
		{
			my ($res, $out, $err) = run($s->[1]);
			push @bad, "round $round i_$n ($desc): $s->[0]: $res: $err" unless $acceptable{$res};
			if ($s->[0] eq 'check')
			{
				if ($res ne 'ok')
				{
					$checker_failed++;
					push @bad, "round $round i_$n ($desc): checker failed: $res: $err"
					  if $acceptable{$res};
				}
				elsif ($must && $out eq '0')
				{
					$undetected++;
					push @bad, "round $round i_$n ($desc): the checker reports nothing";
				}
			}
		}
	}
}

my $log = slurp_file($node->logfile);
my $crashes = () = server_log_deaths($node);
my $recoveries = () = (server_log_reinits($node), server_log_recoveries($node));
my $oom = () = $log =~ /out of memory|invalid memory alloc request size/g;
my $cases = 3 * $rounds;
note "$cases damage cases, $statements statements; results: "
  . join(', ', map { "$_ $count{$_}" } sort keys %count);
note "crashes $crashes, recoveries $recoveries, allocation failures $oom, checker failures $checker_failed, undetected metapage patches $undetected";
diag($_) for @bad[ 0 .. ($#bad < 20 ? $#bad : 19) ];

is($crashes, 0, 'no backend crashed on a damaged index');
is($recoveries, 0, 'the server never entered crash recovery');
is($oom, 0, 'no allocation failed or was refused as too large');
is($count{hung} // 0, 0, 'every statement ended within the client timeout');
is($count{lost} // 0, 0, 'no session lost its connection');
is(scalar(grep { !/checker reports nothing/ } @bad), 0,
	'every statement succeeded or failed with XX002, XX001 or 57014');
is($checker_failed, 0, 'the checker reports damage as rows, never as an error');
is($undetected, 0, 'the checker reports every invalid metapage field');
cmp_ok($count{XX002} // 0, '>', 0, 'damage was reported as index corruption (XX002)');

$node->stop('fast');
done_testing();
