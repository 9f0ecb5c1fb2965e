# Binary COPY of vectors round-trips between databases, and vector_recv rejects every
# malformed or inconsistent binary value with the right SQLSTATE and message.
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
	$node->safe_psql($db, 'CREATE TABLE items (id int, v vector(3), w vector)');
}

# Seeded values, including extremes of float4 and denormals.
$node->safe_psql('src', q{
	SELECT setseed(0.42);
	INSERT INTO items
	SELECT i, ARRAY[random() * 2 - 1, (random() - 0.5) * 1e30, i]::real[]::vector,
	       ARRAY[1e-45, -3.4028235e38, random(), 0]::real[]::vector
	FROM generate_series(1, 500) i;
	INSERT INTO items VALUES (501, NULL, '[1]');
});
my $file = $node->basedir . '/items.bin';
$node->safe_psql('src', "COPY items TO '$file' (FORMAT binary)");
$node->safe_psql('dst', "COPY items FROM '$file' (FORMAT binary)");
my $q = 'SELECT id, v::text, w::text FROM items ORDER BY id';
my $a = $node->safe_psql('src', $q);
my $b = $node->safe_psql('dst', $q);
is($node->safe_psql('dst', 'SELECT count(*) FROM items'), '501', 'all rows copied');
ok($a eq $b, 'binary COPY round-trips every vector exactly');
is($node->safe_psql('dst', q{
	SELECT count(*) FROM items d WHERE v = (SELECT v FROM items WHERE id = d.id)}),
	'500', 'copied vectors compare equal');

# Write a binary COPY file holding one row with one vector field of the given bytes.
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

$node->safe_psql('dst', 'CREATE TABLE one (v vector(2))');
my @bad = (
	[ 'unused field set', pack('n n f> f>', 2, 7, 1, 2), '22P03', 'expected unused to be 0, not 7' ],
	[ 'truncated data', pack('n n f>', 2, 0, 1), '22P03',
	  'invalid binary vector: 2 dimensions need 8 bytes of data, got 4' ],
	[ 'trailing bytes', pack('n n f> f> f>', 2, 0, 1, 2, 3), '22P03',
	  'invalid binary vector: 2 dimensions need 8 bytes of data, got 12' ],
	[ 'short header', pack('n', 2), '22P03', 'invalid binary vector: expected a 4-byte header, got 2 bytes' ],
	[ 'zero dimensions', pack('n n', 0, 0), '22000', 'vector must have at least 1 dimension' ],
	[ 'too many dimensions', pack('n n', 16001, 0), '54000',
	  'vector cannot have more than 16000 dimensions, not 16001' ],
	[ 'typmod mismatch', pack('n n f> f> f>', 3, 0, 1, 2, 3), '22000', 'expected 2 dimensions, not 3' ],
	[ 'NaN', pack('n n', 2, 0) . pack('N', 0x7fc00000) . pack('f>', 1), '22000', 'NaN not allowed in vector' ],
	[ 'infinity', pack('n n', 2, 0) . pack('N', 0x7f800000) . pack('f>', 1), '22000',
	  'infinite value not allowed in vector' ],
);
for my $case (@bad) {
	my ($what, $bytes, $state, $msg) = @$case;
	my $path = copy_file_with_field($what =~ s/\W/_/gr, $bytes);
	my ($ret, $out, $err) = $node->psql('dst',
		"\\set VERBOSITY verbose\nCOPY one FROM '$path' (FORMAT binary)");
	like($err, qr/ERROR:  $state: \Q$msg\E/, "binary input rejected: $what");
}
is($node->safe_psql('dst', 'SELECT count(*) FROM one'), '0', 'no malformed row was stored');

# A well-formed value is accepted.
my $good = copy_file_with_field('good', pack('n n f> f>', 2, 0, 1.5, -2));
$node->safe_psql('dst', "COPY one FROM '$good' (FORMAT binary)");
is($node->safe_psql('dst', 'SELECT v FROM one'), '[1.5,-2]', 'well-formed binary vector accepted');

$node->stop;
done_testing();
