#!/usr/bin/perl
# fmnist2copy.pl IMAGES.gz LABELS.gz [LIMIT]: prints Fashion-MNIST (IDX format, gzipped) as
# COPY text rows "id<TAB>label<TAB>[p1,...,p784]" with raw pixel values 0..255.
use strict;
use warnings;

my ($images, $labels, $limit) = @ARGV;
die "usage: $0 IMAGES.gz LABELS.gz [LIMIT]\n" unless defined $labels;

sub slurp_gz {
	my ($path) = @_;
	open(my $fh, '-|', 'gzip', '-dc', $path) or die "cannot read $path: $!\n";
	binmode $fh;
	local $/;
	my $data = <$fh>;
	close $fh or die "gzip failed on $path\n";
	return $data;
}

my $img = slurp_gz($images);
my $lab = slurp_gz($labels);
my ($imagic, $n, $rows, $cols) = unpack('N4', $img);
my ($lmagic, $ln) = unpack('N2', $lab);
die "$images: not an IDX image file\n" unless $imagic == 2051;
die "$labels: not an IDX label file\n" unless $lmagic == 2049 && $ln == $n;
$n = $limit if defined $limit && $limit < $n;
my $dim = $rows * $cols;
for my $i (0 .. $n - 1) {
	my @px = unpack('C*', substr($img, 16 + $i * $dim, $dim));
	my $label = unpack('C', substr($lab, 8 + $i, 1));
	print $i, "\t", $label, "\t[", join(',', @px), "]\n";
}
