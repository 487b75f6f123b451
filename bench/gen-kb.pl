#!/usr/bin/perl
# Writes a knowledge base of N FAQs for benchmarks: the demo KB's FAQs,
# then FAQs made at run time from the questions of ../shared/data (read
# here, never stored in the project), or from generated text without it.
#   bench/gen-kb.pl N OUT.json [DATA_DIR]
use strict;
use warnings;
use JSON::PP;

my ($n, $out, $data) = @ARGV;
die "usage: gen-kb.pl N OUT [DATA]\n" unless $n && $out;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
my $top = abs_path(dirname($0) . "/..");
$data //= "$top/../shared/data";

my $json = JSON::PP->new->utf8->canonical;
my $kb = $json->decode(do { local $/; open my $f, '<', "$top/demo/kb.json"
                              or die $!; <$f> });
my @faqs = @{ $kb->{faqs} };
my %seen = map { $_->{question} => 1 } @faqs;
my @events = qw(transfer_failed bill_due login_new_device payment_failed
                refund_delayed withdraw_pending loan_applied coupon_expiring);
my @scenes = qw(home transfer bill repay loan card security refund);

my @pool;
for my $f ("$data/lcqmc/dev.txt", "$data/afqmc/train.txt") {
    open my $fh, '<:utf8', $f or next;
    while (<$fh>) {
        chomp;
        my ($a, $b) = split /\t/;
        push @pool, grep { defined && length > 3 && !$seen{$_}++ } $a, $b;
        last if @pool > 3 * $n;
    }
}
if (@pool < $n) {
    # no data: synthesise questions from the demo KB's characters
    my @chars = map { split // } map { $_->{question} } @faqs;
    srand(7);
    while (@pool < 3 * $n) {
        my $q = join '', map { $chars[rand @chars] } 1 .. 6 + int rand 8;
        push @pool, $q unless $seen{$q}++;
    }
}

my $i = 0;
while (@faqs < $n && @pool >= 3) {
    my ($q, @sim) = splice @pool, 0, 3;
    push @faqs, {
        id => sprintf('gen-%05d', $i), question => $q, similar => \@sim,
        answer => "生成的基准测试答案 $i。",
        tags => ['gen' . ($i % 50)],
        triggers => [{ event => $events[$i % @events], weight => 1 + $i % 3 },
                     { scene => $scenes[$i % @scenes], weight => 1 }],
    };
    $i++;
}
$kb->{faqs} = \@faqs;
open my $fh, '>', $out or die "$out: $!";
print $fh $json->encode($kb);
close $fh;
printf STDERR "gen-kb: %d FAQs in %s\n", scalar @faqs, $out;
