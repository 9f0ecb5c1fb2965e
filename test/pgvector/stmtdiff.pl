#!/usr/bin/perl
# test/pgvector/stmtdiff.pl SQL EXPECTED RESULT: compare a pg_regress result with its
# expected output statement by statement, separating the statements about the vector
# type from those about halfvec, bit and sparsevec (not in vecsearch yet).  pgvector's
# files mix the types, so a whole-file diff says nothing about the vector part alone.
#
# pg_regress echoes every input line, so the output is cut at the echoed lines of SQL, in
# order; what follows an echoed line up to the next is that statement's output.  Blank
# lines are ignored.  A statement counts as "other" when it names halfvec, sparsevec,
# bit, binary_quantize, hamming, jaccard or ivfflat, or lies in a section whose "-- "
# header line names one.  A vector statement whose expected and actual outputs are both
# errors (differing in message text or detail only) counts as "wording".  Prints
# "vector N wording W other M" (the statements whose output differs; N counts behaviour,
# not wording), then each differing vector statement with both outputs.
use strict;
use warnings;

my ($sqlf, $expf, $resf) = @ARGV;
die "usage: stmtdiff.pl SQL EXPECTED RESULT\n" unless defined $resf;

sub lines
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return ();
	my @l = grep { /\S/ } map { s/\s+$//r } <$fh>;
	close $fh;
	return @l;
}

my @sql = lines($sqlf);
my $other_re = qr/halfvec|sparsevec|\bbit\b|bit\(|varbit|binary_quantize|hamming|jaccard|ivfflat/i;

# unit i: input line i, its class, the output after it
my (@class, $section_other);
my $stmt = '';
for my $i (0 .. $#sql)
{
	my $l = $sql[$i];
	if ($l =~ /^--/)
	{
		$section_other = $l =~ $other_re ? 1 : 0;
	}
	$stmt = '' if $stmt =~ /;\s*$/;
	$stmt .= "$l\n";
	$class[$i] = ($section_other || $stmt =~ $other_re) ? 'other' : 'vector';
}

sub cut
{
	my @out = lines(@_);
	my @res = ('') x @sql;
	my $next = 0;
	my $cur = -1;
	for my $l (@out)
	{
		if ($next < @sql && $l eq $sql[$next])
		{
			$cur = $next++;
			next;
		}
		$res[ $cur < 0 ? 0 : $cur ] .= "$l\n";
	}
	return @res;
}

my @exp = cut($expf);
my @got = cut($resf);
my %n = (vector => 0, wording => 0, other => 0);
my @show;
for my $i (0 .. $#sql)
{
	next if $exp[$i] eq $got[$i];
	my $c = $class[$i];
	$c = 'wording' if $c eq 'vector' && $exp[$i] =~ /^ERROR:/ && $got[$i] =~ /^ERROR:/;
	$n{$c}++;
	push @show, "  [$c] $sql[$i]\n    expected: " . ($exp[$i] =~ s/\n(?=.)/\n              /gr)
	  . "    got:      " . (($got[$i] eq '' ? "(nothing)\n" : $got[$i]) =~ s/\n(?=.)/\n              /gr)
	  if $c ne 'other';
}
print "vector $n{vector} wording $n{wording} other $n{other}\n";
print @show;
