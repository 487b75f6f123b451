#!/usr/bin/perl

# Redis Cluster, failover under load (issue 11): a master is killed with
# SIGKILL while mixed traffic (ask, events, loss reports) runs from 6
# clients over 200 users.  Every answer is 2xx or a 503 JSON error; the
# service is back within 5 s of the replica's promotion, without a
# reload (the killed node is restarted at once, as a supervisor would,
# and rejoins as a replica; until it is in sync, the loss reports of
# the promoted master's slots are 503 not_replicated, and 2xx again
# within 5 s of the sync); every loss report acknowledged
# (kefu_report_replicas 1) before or after the kill can still be read
# afterwards.

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
use FakeRedis;

my $t = KefuTest->new(cluster => 1, no_ssl => 1,
                      tenant_extra => $KefuMixed::LIMITS,
                      http_extra => "    kefu_report_replicas 1 timeout=200ms;\n",
                      redis_timeout => '500ms');
my $c = $t->cluster;
my $tokens = KefuMixed::tokens($t, 200);
my @workers = FakeRedis::worker_pids($t->nginx_pid);

my $out = tempdir('failover-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $start = time;
my @pids = KefuMixed::start($t, $tokens, clients => 6, dir => $out,
                            stop_file => "$out/stop", until => $start + 90);

# traffic on every master before the kill
sleep 0.2 until grep({ $_->{status} == 201 } KefuMixed::results($out)) >= 50
                || time > $start + 30;

my ($victim) = $c->masters;
my $killed = time;
$c->kill_master($victim);
my ($new, $seen) = $c->wait_promotion($victim, 30);
ok(defined $new, "master $victim killed, replica promoted")
    and note(sprintf 'promotion of %s seen %.2f s after the kill',
                     $new, $seen);
my $promoted = $killed + ($seen // 0);
# the killed node restarted, as its supervisor would: it comes back as
# the new master's replica (until then the promoted master has none, and
# kefu_report_replicas 1 answers its reports with 503 not_replicated)
$c->start_node($victim);
ok($c->wait_ok(60), 'the killed node is back, as a replica in sync');
my $resynced = time;
note(sprintf 'replica in sync again %.2f s after the promotion',
             $resynced - $promoted);

# load on for 8 s after the promotion and the replica's resync
sleep 0.2 while time < $resynced + 8;
KefuMixed::stop($out, @pids);
my @r = KefuMixed::results($out);
note(KefuMixed::summary(@r));

my @odd = grep { $_->{status} !~ /^20[012]$/
                 && !($_->{status} == 503 && $_->{code} ne 'nojson') } @r;
is_deeply([map { $_->{line} } @odd], [],
          'every answer is 2xx or a 503 JSON error');
ok((grep { $_->{time} < $killed && $_->{status} =~ /^2/ } @r),
   '2xx before the kill');

# back within 5 s: nothing but 2xx from promotion + 5 s on, except
# loss reports of the promoted master's slots, which wait for its replica
# until the restarted node is in sync (cluster time, not the module's):
# 503 not_replicated
my @late = grep { $_->{time} > $promoted + 5 } @r;
cmp_ok(scalar @late, '>', 20, 'traffic after promotion + 5 s');
is_deeply([map { $_->{line} }
           grep { $_->{status} !~ /^2/
                  && !($_->{kind} eq 'report' && $_->{status} == 503) }
           @late], [],
          'only 2xx from 5 s after the promotion on (no reload)');
is_deeply([map { $_->{line} } grep { $_->{status} !~ /^2/ }
           grep { $_->{time} > $resynced + 5 } @r], [],
          'only 2xx from 5 s after the replica is in sync on');
# a report's script waits behind one WAIT at most (the reports before
# it share that WAIT), never past the Redis timeout: once the workers
# route to the promoted master, a report's 503 is not_replicated
is_deeply([map { $_->{line} }
           grep { $_->{kind} eq 'report' && $_->{status} == 503
                  && $_->{code} ne 'not_replicated' }
           grep { $_->{time} > $promoted + 1.5 } @r], [],
          'reports from 1.5 s after the promotion on: 503 only '
          . 'not_replicated');
# when each kind of non-2xx answer came, relative to the promotion
my %when;
for my $x (grep { $_->{status} !~ /^2/ } @r) {
    my $w = $when{"$x->{kind} $x->{status} $x->{code}"} //= [];
    push @$w, $x->{time} - $promoted;
}
note(sprintf '%s: %d, from %.2f s to %.2f s after the promotion', $_,
             scalar @{ $when{$_} }, $when{$_}[0], $when{$_}[-1])
    for sort keys %when;

# every acknowledged report is readable by its owner, and its key
# replays to it
my @acked = grep { $_->{kind} eq 'report' && $_->{status} == 201 } @r;
my @lost;
for my $a (@acked) {
    my $g = $t->get("/kefu/v1/loss-reports/$a->{id}",
                    token => $tokens->{ $a->{user} });
    push @lost, "$a->{id} ($a->{user}): GET $g->{status}"
        unless $g->{status} == 200 && ($g->{json}{id} // '') eq $a->{id};
}
cmp_ok(scalar @acked, '>', 50, scalar(@acked) . ' reports acknowledged');
is_deeply(\@lost, [], 'every acknowledged report is readable after the'
                      . ' failover');
my $replay = $acked[0];
my $rr = $t->post('/kefu/v1/loss-reports', token => $tokens->{ $replay->{user} },
                  headers => { 'Idempotency-Key' => $replay->{key} },
                  body => { kind => 'phone', reason => 'lost' });
is($rr->{status}, 200, 'the first report\'s key replays');
is($rr->{json}{id}, $replay->{id}, 'to the same report');

is_deeply([FakeRedis::worker_pids($t->nginx_pid)], \@workers,
          'same workers: none crashed');

done_testing;
