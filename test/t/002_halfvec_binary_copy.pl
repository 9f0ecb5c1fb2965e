# Binary COPY of halfvec values round-trips between databases bit for bit, the wire
# format is pgvector's (int16 dimensions, int16 unused, then each value's 16 bits, in
# network byte order), and halfvec_recv rejects every malformed or inconsistent binary
# value with the right SQLSTATE and message.
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
	$node->safe_psql($db, 'CREATE TABLE items (id int, v halfvec(3), w halfvec)');
}

# The wire format, byte by byte: 1 is 0x3c00, -2 is 0xc000, 65504 is 0x7bff, the
# smallest subnormal 2^-24 is 0x0001.
is($node->safe_psql('src', q{SELECT halfvec_send('[1,-2,65504,5.9604645e-08]')}),
	'\x000400003c00c0007bff0001', 'send: int16 dim, int16 unused, binary16 bits, big-endian');

# Seeded values over the whole range, subnormals and signed zeros included.
$node->safe_psql('src', q{
	SELECT setseed(0.42);
	INSERT INTO items
	SELECT i, ARRAY[random() * 2 - 1, (random() - 0.5) * 131000, i]::real[]::halfvec,
	       ARRAY[6e-8, -65504, random() * 1e-5, -0.0]::real[]::halfvec
	FROM generate_series(1, 500) i;
	INSERT INTO items VALUES (501, NULL, '[1]');
});
my $file = $node->basedir . '/items.bin';
$node->safe_psql('src', "COPY items TO '$file' (FORMAT binary)");
$node->safe_psql('dst', "COPY items FROM '$file' (FORMAT binary)");
my $q = 'SELECT id, halfvec_send(v), halfvec_send(w), v::text, w::text FROM items ORDER BY id';
is($node->safe_psql('dst', 'SELECT count(*) FROM items'), '501', 'all rows copied');
ok($node->safe_psql('src', $q) eq $node->safe_psql('dst', $q),
	'binary COPY round-trips every halfvec bit for bit');

# Write a binary COPY file holding one row with one field of the given bytes.
sub copy_file_with_field {
	my ($name, $field) = @_;
	my $path = $node->basedir . "/$name.bin";
	open(my $fh, '>:raw', $path) or die $!;
	print $fh "PGCOPY\n\377\r\n\0", pack('N N', 0, 0);
	print $fh pack('n', 1), pack('N', length $field), $field;
	print $fh pack('n', 0xffff);
	close $fh;
	return $path;
}

$node->safe_psql('dst', 'CREATE TABLE one (v halfvec(2))');
my @bad = (
	[ 'unused field set', pack('n n n n', 2, 7, 0x3c00, 0x4000), '22P03', 'expected unused to be 0, not 7' ],
	[ 'truncated data', pack('n n n', 2, 0, 0x3c00), '22P03',
	  'invalid binary halfvec: 2 dimensions need 4 bytes of data, got 2' ],
	[ 'trailing bytes', pack('n n n n n', 2, 0, 0x3c00, 0x4000, 0x4200), '22P03',
	  'invalid binary halfvec: 2 dimensions need 4 bytes of data, got 6' ],
	[ 'short header', pack('n', 2), '22P03', 'invalid binary halfvec: expected a 4-byte header, got 2 bytes' ],
	[ 'zero dimensions', pack('n n', 0, 0), '22000', 'halfvec must have at least 1 dimension' ],
	[ 'too many dimensions', pack('n n', 16001, 0), '54000',
	  'halfvec cannot have more than 16000 dimensions, not 16001' ],
	[ 'typmod mismatch', pack('n n n n n', 3, 0, 0x3c00, 0x4000, 0x4200), '22000', 'expected 2 dimensions, not 3' ],
	[ 'NaN', pack('n n n n', 2, 0, 0x7e00, 0x3c00), '22000', 'NaN not allowed in halfvec' ],
	[ 'infinity', pack('n n n n', 2, 0, 0x3c00, 0xfc00), '22000', 'infinite value not allowed in halfvec' ],
);
for my $case (@bad) {
	my ($what, $bytes, $state, $msg) = @$case;
	my $path = copy_file_with_field($what =~ s/\W/_/gr, $bytes);
	my ($ret, $out, $err) = $node->psql('dst',
		"\\set VERBOSITY verbose\nCOPY one FROM '$path' (FORMAT binary)");
	like($err, qr/ERROR:  $state: \Q$msg\E/, "binary input rejected: $what");
}
is($node->safe_psql('dst', 'SELECT count(*) FROM one'), '0', 'no malformed row was stored');

# A well-formed value is accepted: 1.5 is 0x3e00, -2 is 0xc000.
my $good = copy_file_with_field('good', pack('n n n n', 2, 0, 0x3e00, 0xc000));
$node->safe_psql('dst', "COPY one FROM '$good' (FORMAT binary)");
is($node->safe_psql('dst', 'SELECT v FROM one'), '[1.5,-2]', 'well-formed binary halfvec accepted');

$node->stop;
done_testing();
