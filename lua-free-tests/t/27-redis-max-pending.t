#!/usr/bin/perl

# max_pending: beyond the cap of commands in flight a request gets its
# 503 at once instead of queueing behind a slow Redis.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1, workers => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=5s max_pending=4;');
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';
my $out = tempdir('pending-XXXXXX', TMPDIR => 1, CLEANUP => 1);

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 2),
   'serving through the fake');

$fake->set_mode('delay', delay => 2);

my @pids;
for my $i (1 .. 10) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $r = FakeRedis::fresh_get($t, $path, token => $token);
        open my $fh, '>', "$out/$i";
        printf $fh "%d %.3f %d\n", $r->{status}, $r->{time},
            FakeRedis::is_redis_503($r) ? 1 : 0;
        close $fh;
        POSIX::_exit(0);
    }
    push @pids, $pid;
    sleep 0.02;
}
FakeRedis::wait_pids(@pids);

my ($ok, $rejected, $fast) = (0, 0, 0);
for my $i (1 .. 10) {
    open my $fh, '<', "$out/$i" or next;
    my ($st, $time, $json) = split ' ', <$fh>;
    $ok++ if $st == 200;
    if ($st == 503 && $json) {
        $rejected++;
        $fast++ if $time < 0.4;
    }
}

is($ok, 4, 'max_pending=4: four requests queued and answered');
is($rejected, 6, 'the others got 503 JSON');
is($fast, 6, 'at once, without waiting for Redis');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
