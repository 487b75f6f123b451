#!/usr/bin/perl

# Redis Cluster, resharding under load (issue 11): while mixed traffic
# (ask, events, loss reports) runs from 4 clients over 300 users, slots
# move between masters with `redis-cli --cluster reshard` (keys migrated
# slot by slot: MOVED and ASK on the way, TRYAGAIN for a script whose
# keys are half moved).  Zero non-2xx answers: redirects are handled
# inside the request.  Every acknowledged report is readable afterwards.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

use KefuTest;
use KefuMixed;

# about a minute or two on this machine: in `make test-cluster` only
plan skip_all => 'runs in make test-cluster (KEFU_TEST_REDIS=cluster)'
    unless $KefuTest::CLUSTER;

# the default timeout (300 ms) would be short for a request that waits
# out a TRYAGAIN on this loaded machine
my $t = KefuTest->new(cluster => 1, no_ssl => 1, redis_timeout => '2s',
                      tenant_extra => $KefuMixed::LIMITS,
                      server_extra => "        location = /metrics"
                                      . " { kefu_metrics; }\n");
my $c = $t->cluster;
my $tokens = KefuMixed::tokens($t, 300);

my $out = tempdir('reshard-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $start = time;
my @pids = KefuMixed::start($t, $tokens, clients => 4, dir => $out,
                            stop_file => "$out/stop", until => $start + 120);

# keys on every slot range first
sleep 0.2 until grep({ $_->{kind} eq 'report' } KefuMixed::results($out))
                    >= 300 || time > $start + 60;

# reshard moves a master's lowest slots: 2000 of them take some of the
# tenant's bucket tags along (the loss-report streams, idempotency
# records, queue: the busiest slots), not user slots only
my @buckets = map { sprintf '{demo#%02d}', $_ } 0 .. 15;
my %owner = map { $_ => $c->master_of($_) } @buckets;
# first from a master whose lowest 2000 slots hold a bucket's slot
my %lowest;
for my $n (grep { $_->{master} && @{ $_->{slots} } } @{ $c->nodes }) {
    my @s = sort { $a <=> $b } map { $_->[0] .. $_->[1] } @{ $n->{slots} };
    $lowest{ $n->{port} } = { map { $_ => 1 } @s[0 .. 1999] };
}
my ($first) = grep { my $p = $_;
                     grep { $lowest{$p}{ KefuCluster::slot($_) } } @buckets }
              sort keys %lowest;
my ($a, $b, $m3) = ($first, grep { $_ != ($first // 0) } $c->masters);
my $moved = 0;
for my $step ([$a, $b, 2000], [$b, $m3, 2000], [$m3, $a, 2000]) {
    my $t0 = time;
    my $ok = eval { $c->reshard(@$step); 1 };
    ok($ok, "reshard $step->[2] slots $step->[0] -> $step->[1]")
        or diag($@);
    note(sprintf 'took %.1f s', time - $t0);
    $moved += $step->[2] if $ok;
    if ($step->[0] == $a) {
        my @went = grep { $owner{$_} == $a
                          && ($c->master_of($_) // 0) == $b } @buckets;
        ok(@went >= 1, "bucket slots moved under load: @went");
    }
}
ok($c->wait_ok(30), 'cluster ok after the resharding');

# a little more traffic on the new map
my $after = time;
sleep 0.2 while time < $after + 3;
KefuMixed::stop($out, @pids);
my @r = KefuMixed::results($out);
note(KefuMixed::summary(@r));

cmp_ok(scalar(grep { $_->{time} > $after } @r), '>', 10,
       'traffic after the resharding');
# (a script whose slot is being migrated gets ASK from the source and
# may get TRYAGAIN from the target until the slot's last keys moved: the
# client waits and retries within the request's timeout)
my @bad = grep { $_->{status} !~ /^20[012]$/ } @r;
is_deeply([map { $_->{line} } @bad], [],
          "zero non-2xx answers while $moved slots moved");

my @lost;
for my $x (grep { $_->{kind} eq 'report' && $_->{status} == 201 } @r) {
    my $g = $t->get("/kefu/v1/loss-reports/$x->{id}",
                    token => $tokens->{ $x->{user} });
    push @lost, "$x->{id} ($x->{user}): GET $g->{status}"
        unless $g->{status} == 200;
}
is_deeply(\@lost, [], 'every acknowledged report readable after it');

# the workers followed redirects, and counted them (CLUSTER-DESIGN.md)
my $metrics = $t->get('/metrics')->{content} // '';
like($metrics, qr/^kefu_redis_cluster_redirects_total\{[^}]*\} [1-9]/m,
     'redirects counted in the metrics');
like($metrics, qr/^kefu_redis_cluster_refreshes_total [1-9]/m,
     'slot map refreshed');

done_testing;
