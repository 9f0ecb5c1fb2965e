# Binary COPY of sparsevec values round-trips between databases in pgvector's wire format
# (int32 dim, int32 nnz, int32 unused, nnz int32 0-based indices, nnz float4 values), and
# sparsevec_recv rejects every malformed or inconsistent binary value with the right
# SQLSTATE and message.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
for my $db ('src', 'dst') {
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION vecsearch');
	$node->safe_psql($db, 'CREATE TABLE items (id int, s sparsevec(1000), t sparsevec)');
}

# The bytes of one value are pgvector's format exactly.
$node->safe_psql('src', q{CREATE TABLE one_out AS SELECT '{2:1.5,5:-2}/7'::sparsevec AS s});
my $one = $node->basedir . '/one_out.bin';
$node->safe_psql('src', "COPY one_out TO '$one' (FORMAT binary)");
my $bytes = do { local $/; open(my $fh, '<:raw', $one) or die $!; <$fh> };
my $field = pack('N N N N N f> f>', 7, 2, 0, 1, 4, 1.5, -2);
my $expect = "PGCOPY\n\377\r\n\0" . pack('N N', 0, 0)
  . pack('n', 1) . pack('N', length $field) . $field . pack('n', 0xffff);
is(unpack('H*', $bytes), unpack('H*', $expect), 'binary form is int32 dim, nnz, unused, 0-based indices, float4 values');

# Seeded values: random supports, float4 extremes and denormals, empty values, the largest
# dimensions and a NULL.
$node->safe_psql('src', q{
	SELECT setseed(0.42);
	INSERT INTO items
	SELECT i, array_to_sparsevec(ARRAY(
			SELECT CASE WHEN random() < 0.02 THEN (random() - 0.5) * 1e30 ELSE 0 END
			FROM generate_series(1, 1000) WHERE i > 0), -1, false),
		('{1:1e-45,' || (i * 7919) || ':-3.4028235e38,999999999:' || random() || '}/1000000000')::sparsevec
	FROM generate_series(1, 500) i;
	INSERT INTO items VALUES (501, '{}/1000', '{}/1'), (502, NULL, '{1:1}/1');
});
my $file = $node->basedir . '/items.bin';
$node->safe_psql('src', "COPY items TO '$file' (FORMAT binary)");
$node->safe_psql('dst', "COPY items FROM '$file' (FORMAT binary)");
my $q = 'SELECT id, s::text, t::text FROM items ORDER BY id';
my $a = $node->safe_psql('src', $q);
my $b = $node->safe_psql('dst', $q);
is($node->safe_psql('dst', 'SELECT count(*) FROM items'), '502', 'all rows copied');
ok($a eq $b, 'binary COPY round-trips every sparsevec exactly');
is($node->safe_psql('src', 'SELECT count(DISTINCT s) FROM items'), '501', 'the values differ');

# Write a binary COPY file holding one row with one sparsevec field of the given bytes.
sub copy_file_with_field {
	my ($name, $f) = @_;
	my $path = $node->basedir . "/$name.bin";
	open(my $fh, '>:raw', $path) or die $!;
	print $fh "PGCOPY\n\377\r\n\0", pack('N N', 0, 0);
	print $fh pack('n', 1), pack('N', length $f), $f;
	print $fh pack('n', 0xffff);
	close $fh;
	return $path;
}

my $nan = pack('N', 0x7fc00000);
my $inf = pack('N', 0x7f800000);
$node->safe_psql('dst', 'CREATE TABLE one (s sparsevec(5))');
my @bad = (
	[ 'short header', pack('N N', 5, 0), '22P03',
	  'invalid binary sparsevec: expected a 12-byte header, got 8 bytes' ],
	[ 'zero dimensions', pack('N N N', 0, 0, 0), '22000', 'sparsevec must have at least 1 dimension, not 0' ],
	[ 'negative dimensions', pack('l> N N', -5, 0, 0), '22000', 'sparsevec must have at least 1 dimension, not -5' ],
	[ 'too many dimensions', pack('N N N', 1000000001, 0, 0), '54000',
	  'sparsevec cannot have more than 1000000000 dimensions, not 1000000001' ],
	[ 'negative element count', pack('N l> N', 5, -1, 0), '22000',
	  'sparsevec cannot have negative number of elements, not -1' ],
	[ 'too many elements', pack('N N N', 100000, 16001, 0), '54000',
	  'sparsevec cannot have more than 16000 non-zero elements, not 16001' ],
	[ 'more elements than dimensions', pack('N N N N N N f> f> f>', 2, 3, 0, 0, 1, 2, 1, 1, 1), '54000',
	  'sparsevec cannot have more elements than dimensions' ],
	[ 'typmod mismatch', pack('N N N N f>', 6, 1, 0, 0, 1), '22000', 'expected 5 dimensions, not 6' ],
	[ 'unused field set', pack('N N N N f>', 5, 1, 7, 0, 1), '22000', 'expected unused to be 0, not 7' ],
	[ 'truncated data', pack('N N N N', 5, 1, 0, 0), '22P03',
	  'invalid binary sparsevec: 1 elements need 8 bytes of data, got 4' ],
	[ 'trailing bytes', pack('N N N N f> f>', 5, 1, 0, 0, 1, 2), '22P03',
	  'invalid binary sparsevec: 1 elements need 8 bytes of data, got 12' ],
	[ 'index past the dimensions', pack('N N N N f>', 5, 1, 0, 5, 1), '22000', 'sparsevec index 5 is out of bounds' ],
	[ 'negative index', pack('N N N l> f>', 5, 1, 0, -1, 1), '22000', 'sparsevec index -1 is out of bounds' ],
	[ 'indices out of order', pack('N N N N N f> f>', 5, 2, 0, 3, 1, 1, 1), '22000',
	  'sparsevec indices must be in ascending order' ],
	[ 'duplicate index', pack('N N N N N f> f>', 5, 2, 0, 1, 1, 1, 1), '22000',
	  'sparsevec indices must not contain duplicates' ],
	[ 'NaN', pack('N N N N', 5, 1, 0, 0) . $nan, '22000', 'NaN not allowed in sparsevec' ],
	[ 'infinity', pack('N N N N', 5, 1, 0, 0) . $inf, '22000', 'infinite value not allowed in sparsevec' ],
	[ 'zero value', pack('N N N N N f> f>', 5, 2, 0, 0, 3, 1, 0), '22000',
	  'binary representation of sparsevec cannot contain zero values' ],
);
for my $case (@bad) {
	my ($what, $f, $state, $msg) = @$case;
	my $path = copy_file_with_field($what =~ s/\W/_/gr, $f);
	my ($ret, $out, $err) = $node->psql('dst',
		"\\set VERBOSITY verbose\nCOPY one FROM '$path' (FORMAT binary)");
	like($err, qr/ERROR:  $state: \Q$msg\E/, "binary input rejected: $what");
}
is($node->safe_psql('dst', 'SELECT count(*) FROM one'), '0', 'no malformed row was stored');

# Well-formed values are accepted: elements, none, all dimensions set.
for my $good ([ pack('N N N N N f> f>', 5, 2, 0, 0, 4, 1.5, -2), '{1:1.5,5:-2}/5' ],
			  [ pack('N N N', 5, 0, 0), '{}/5' ],
			  [ pack('N N N N N N N N f> f> f> f> f>', 5, 5, 0, 0, 1, 2, 3, 4, 1, 2, 3, 4, 5),
				'{1:1,2:2,3:3,4:4,5:5}/5' ]) {
	my ($f, $text) = @$good;
	$node->safe_psql('dst', 'TRUNCATE one');
	$node->safe_psql('dst', "COPY one FROM '" . copy_file_with_field('good', $f) . "' (FORMAT binary)");
	is($node->safe_psql('dst', 'SELECT s FROM one'), $text, "well-formed binary sparsevec accepted: $text");
}

$node->stop;
done_testing();
