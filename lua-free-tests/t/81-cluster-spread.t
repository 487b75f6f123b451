#!/usr/bin/perl

# Redis Cluster, spread (issue 11): 500 users of one tenant ask, send
# events and make a loss report; the tenant's keys are then counted on
# each master (SCAN): every master holds some, and none more than half.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);

use KefuTest;
use KefuMixed;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(cluster => 1, no_ssl => 1,
                      tenant_extra => $KefuMixed::LIMITS);
my $c = $t->cluster;
is(scalar(my @m = $c->masters), 3, 'three masters');

my $users = 500;
my $tokens = KefuMixed::tokens($t, $users);
my $out = tempdir('spread-XXXXXX', TMPDIR => 1, CLEANUP => 1);
# every user once: an answer, events, a loss report
my @pids = KefuMixed::start($t, $tokens, clients => 4, dir => $out,
                            until => time + 600, once => 1);
waitpid $_, 0 for @pids;
my @r = KefuMixed::results($out);
note(KefuMixed::summary(@r));
my @bad = grep { $_->{status} !~ /^20[012]$/ } @r;
is_deeply([map { $_->{line} } @bad], [], 'every request answered 2xx');
my %reported = map { $_->{user} => 1 }
               grep { $_->{kind} eq 'report' && $_->{status} == 201 } @r;
cmp_ok(scalar keys %reported, '>=', $users, "$users users reported");

my $per = $c->count_keys('kefu:{demo*');
my $total = 0;
$total += $_ for values %$per;
note('keys of tenant demo per master: '
     . join(', ', map { "$_: $per->{$_}" } sort keys %$per)
     . ", total $total");
cmp_ok($total, '>=', 3 * $users, 'the tenant has keys');
is(scalar(grep { $per->{$_} > 0 } keys %$per), 3,
   'every master holds some of the tenant\'s keys');

# (the loss-report records, idempotency records, frozen flags and the
# tenant's streams are under the user's bucket tag {demo#NN}, sixteen
# slots: with one {demo} tag they were all on one master)
my ($max) = sort { $b <=> $a } values %$per;
cmp_ok($max, '<=', $total / 2,
       'no master holds more than half of the tenant\'s keys');

done_testing;
