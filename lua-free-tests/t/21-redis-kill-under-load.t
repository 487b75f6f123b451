#!/usr/bin/perl

# Redis is SIGKILLed under load (20 concurrent clients) and restarted on
# the same port: every answer is 200 or a 503 JSON error with
# Retry-After, every client is served again within about a second of
# the restart, and no worker dies.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1);
my $token = FakeRedis::token_for($t);
my $url = $t->url('/kefu/v1/whoami');

ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $token, 5),
   'serving before the kill');

my @workers = FakeRedis::worker_pids($t->nginx_pid);
cmp_ok(scalar @workers, '>=', 2, 'workers running');

my $out = tempdir('kill-load-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $start = time;
my @pids = FakeRedis::load_clients(clients => 20, url => $url,
                                   token => $token, dir => $out,
                                   stop_file => "$out/stop",
                                   until => $start + 30);

sleep 1;
FakeRedis::kill_redis($t);
my $killed = time;
sleep 0.5;
$t->start_redis;
my $restarted = time;
note(sprintf 'killed at +%.3f s, restarted at +%.3f s', $killed - $start,
             $restarted - $start);

# keep the load on for a while after the restart, however long the
# kill and the restart took on a busy machine
sleep 2.5;
$t->write_file("$out/stop", '');
FakeRedis::wait_pids(@pids);

my (%status, @odd, %first_ok, $total);
for my $i (1 .. 20) {
    open my $fh, '<', "$out/client.$i" or next;
    while (<$fh>) {
        my ($when, $st, $code) = split;
        $total++;
        $status{$st}++;
        if ($st == 200) {
            $first_ok{$i} //= $when if $when > $restarted;
        } elsif (!($st == 503 && $code eq 'redis_unavailable+retry')) {
            push @odd, $_;
        }
    }
}

note('answers: ' . join ', ', map { "$_ x $status{$_}" } sort keys %status);
cmp_ok($total, '>', 100, 'load ran');
ok($status{503}, 'some 503 while Redis was down');
is_deeply(\@odd, [], 'only 200 or 503 JSON redis_unavailable + Retry-After')
    or diag(join '', @odd[0 .. ($#odd > 9 ? 9 : $#odd)]);

is(scalar keys %first_ok, 20, 'every client got a 200 after the restart');
my $worst = 0;
for (values %first_ok) {
    $worst = $_ - $restarted if $_ - $restarted > $worst;
}
cmp_ok($worst, '<', 1.2, 'all clients served within ~1 s of the restart')
    and note(sprintf 'slowest client recovered after %.3f s', $worst);

is_deeply([FakeRedis::worker_pids($t->nginx_pid)], \@workers,
          'same workers: none crashed');

my @bad = grep { /signal|exited on/ } split /\n/, $t->error_log;
push @bad, $t->bad_log_lines;
is_deeply(\@bad, [], 'no signal, crash, alert or sanitizer lines');

done_testing;
