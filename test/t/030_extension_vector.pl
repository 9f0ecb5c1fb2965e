# vecsearch installed under the extension name "vector" (make install VS_AS_VECTOR=1), in
# a private copy of the PostgreSQL installation this test runs against, as a pgvector user
# would meet it:
#   - CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public (what every pg_dump of a
#     pgvector database says) makes vecsearch, at vecsearch's version; ALTER EXTENSION
#     vector UPDATE is a no-op;
#   - a table with an hnsw index (options, an index of a cast) dumps with pg_dump -Fc and
#     restores with pg_restore into an empty database, indexes working;
#   - a plain-format dump written as pg_dump writes a pgvector database (COMMENT ON
#     EXTENSION, public.vector(n) columns, hnsw and ivfflat indexes) restores with psql,
#     except the ivfflat index (42704), which is then made as hnsw;
#   - vecsearch and vector in one database are refused both ways (42710, named);
#   - the install refuses to overwrite a real pgvector (its vector.control, or a vector
#     module) and leaves it as it was.
# Needs the source tree (VS_SRC, set by test/run; the current directory under make
# prove_installcheck) with the extension built.
use strict;
use warnings;
use File::Copy;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $src = $ENV{VS_SRC} // '.';
plan skip_all => "no built source tree at $src (set VS_SRC)"
  unless -f "$src/Makefile" && -f "$src/vecsearch.so";

# The private copy keeps the installation's layout below the common prefix of its
# directories, so the copied binaries find the copied share and lib directories.
my %dir;
for my $k (qw(bindir sharedir pkglibdir))
{
	($dir{$k} = `pg_config --$k`) =~ s/\s+$//;
}
my $prefix = $dir{bindir};
$prefix =~ s{/[^/]*$}{} while grep { index($_ . '/', $prefix . '/') != 0 } values %dir;
my $copy = PostgreSQL::Test::Utils::tempdir('pginst');
for my $d (qw(sharedir pkglibdir))
{
	my $rel = substr($dir{$d}, length $prefix);
	make_path("$copy$rel");
	system('cp', '-a', "$dir{$d}/.", "$copy$rel/") == 0 or die "copying $dir{$d} failed";
}
my $bin_rel = substr($dir{bindir}, length $prefix);
make_path("$copy$bin_rel");
system('cp', '-a', "$dir{bindir}/.", "$copy$bin_rel/") == 0 or die "copying $dir{bindir} failed";
my $pg_config = "$copy$bin_rel/pg_config";
my $extdir = `$pg_config --sharedir`;
$extdir =~ s/\s+$//;
$extdir .= '/extension';
my $libdir = `$pg_config --pkglibdir`;
$libdir =~ s/\s+$//;

# make install VS_AS_VECTOR=1 into the copy; returns (exit status, output)
sub install
{
	my @extra = @_;
	my $out = `make -s -C '$src' install VS_AS_VECTOR=1 PG_CONFIG='$pg_config' @extra 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = install();
is($rc, 0, 'make install VS_AS_VECTOR=1 succeeds') or diag($out);
ok(-f "$extdir/vector.control" && -f "$extdir/vector--" . version() . '.sql',
	'vector.control and its script are installed');

sub version
{
	my ($v) = grep { /^default_version/ } split /\n/, slurp_file("$src/vecsearch.control");
	$v =~ s/.*'(.*)'.*/$1/;
	return $v;
}

(my $inst = "$copy$bin_rel") =~ s{/bin$}{};
my $node = PostgreSQL::Test::Cluster->new('vector_name', install_path => $inst);
$node->init;
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
	CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3), raw vector);
	INSERT INTO items (embedding, raw)
		SELECT ARRAY[i % 17, i % 13, i % 7]::real[], ARRAY[i, 0, 1]::real[] FROM generate_series(1, 500) i;
	CREATE INDEX items_emb ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 32);
	CREATE INDEX items_raw ON items USING hnsw ((raw::vector(3)) vector_cosine_ops);
});
is($node->safe_psql('app', "SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
	version(), 'extension vector reports vecsearch\'s version');
is($node->safe_psql('app', "SELECT count(*) FROM pg_extension WHERE extname = 'vecsearch'"),
	'0', 'and no extension vecsearch is made');
my ($ret, $stdout, $stderr) = $node->psql('app', 'ALTER EXTENSION vector UPDATE');
like($stderr, qr/version "[^"]*" of extension "vector" is already installed/,
	'ALTER EXTENSION vector UPDATE: already at the newest version');

my $q = q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> '[3,4,5]' LIMIT 5) s;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY raw::vector(3) <=> '[40,0,1]' LIMIT 3) s;};
my $before = $node->safe_psql('app', $q);

# pg_dump -Fc / pg_restore into an empty database
my $dump = $node->basedir . '/app.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
	'pg_restore into an empty database');
is($node->safe_psql('restored', $q), $before, 'the restored indexes answer as the originals');
like($node->safe_psql('restored', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[3,4,5]' LIMIT 5"),
	qr/Index Scan using items_emb/, 'the restored hnsw index is used');
is($node->safe_psql('restored', "SELECT reloptions::text FROM pg_class WHERE relname = 'items_emb'"),
	'{m=8,ef_construction=32}', 'the index options came through');

# a plain dump of a pgvector database, as pg_dump writes one
my $pgvector_dump = q{
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
COMMENT ON EXTENSION vector IS 'vector data type and ivfflat and hnsw access methods';
CREATE TABLE public.docs (
    id bigint NOT NULL,
    embedding public.vector(3)
);
COPY public.docs (id, embedding) FROM stdin;
1	[1,2,3]
2	[4,5,6]
3	[7,8,9]
4	[1,0,0]
\.
ALTER TABLE ONLY public.docs ADD CONSTRAINT docs_pkey PRIMARY KEY (id);
CREATE INDEX docs_embedding_idx ON public.docs USING hnsw (embedding public.vector_cosine_ops) WITH (m='16', ef_construction='64');
CREATE INDEX docs_embedding_idx1 ON public.docs USING ivfflat (embedding public.vector_l2_ops) WITH (lists='100');
};
$node->safe_psql('postgres', 'CREATE DATABASE frompgvector');
($ret, $stdout, $stderr) = $node->psql('frompgvector', $pgvector_dump);
like($stderr, qr/ERROR:  access method "ivfflat" does not exist/, 'restoring a pgvector dump: the ivfflat index fails');
is((() = $stderr =~ /ERROR/g), 1, 'and nothing else does');
is($node->safe_psql('frompgvector', q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY embedding <=> '[1,2,3.1]' LIMIT 2) s}),
	'1,2', 'the restored hnsw index answers');
$node->safe_psql('frompgvector', 'CREATE INDEX docs_embedding_idx1 ON public.docs USING hnsw (embedding public.vector_l2_ops)');
is($node->safe_psql('frompgvector', q{SET enable_seqscan = off;
	SELECT string_agg(id::text, ',') FROM (SELECT id FROM docs ORDER BY embedding <-> '[1,0,0.1]' LIMIT 2) s}),
	'4,1', 'the ivfflat index, made again as hnsw, answers');

# both names in one database
($ret, $stdout, $stderr) = $node->psql('app', 'CREATE EXTENSION vecsearch', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($stderr, qr/ERROR:  42710: extension "vecsearch" cannot be created in a database that has extension "vector"/,
	'CREATE EXTENSION vecsearch next to vector: 42710, both named');
like($stderr, qr/HINT:  Extension "vector" is the same vecsearch/, 'with a hint saying vector is vecsearch');
$node->safe_psql('postgres', 'CREATE DATABASE other; ');
$node->safe_psql('other', 'CREATE EXTENSION vecsearch');
($ret, $stdout, $stderr) = $node->psql('other', 'CREATE EXTENSION vector', extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($stderr, qr/ERROR:  42710: extension "vector" cannot be created in a database that has extension "vecsearch"/,
	'CREATE EXTENSION vector next to vecsearch: 42710, both named');
is($node->safe_psql('other', "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
	'plpgsql,vecsearch', 'and the database is as it was');

$node->stop;

# a real pgvector is never overwritten
my $fake = "comment = 'vector data type and ivfflat and hnsw access methods'\n"
  . "default_version = '0.8.0'\nmodule_pathname = '\$libdir/vector'\nrelocatable = true\n";
open(my $fh, '>', "$extdir/vector.control") or die $!;
print $fh $fake;
close $fh;
($rc, $out) = install();
isnt($rc, 0, 'make install VS_AS_VECTOR=1 fails over a pgvector vector.control');
like($out, qr/vector\.control belongs to another extension \(pgvector\): refusing to overwrite it/,
	'saying why');
is(slurp_file("$extdir/vector.control"), $fake, 'and pgvector\'s control file is untouched');
unlink "$extdir/vector.control";
open($fh, '>', "$libdir/vector.so") or die $!;
close $fh;
($rc, $out) = install();
isnt($rc, 0, 'make install VS_AS_VECTOR=1 fails when a vector module is installed');
like($out, qr/vector\.so is installed \(pgvector\): refusing/, 'saying why');
ok(!-e "$extdir/vector.control", 'and installs no vector.control');

done_testing();
