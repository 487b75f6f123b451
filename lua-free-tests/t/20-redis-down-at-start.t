#!/usr/bin/perl

# Redis is down when nginx starts: /v1/whoami answers 503 JSON with
# Retry-After at once; when Redis comes up, requests succeed again
# within about a second, without restarting nginx.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $t = KefuTest->new(redis_down => 1, no_ssl => 1);
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

for (1 .. 4) {
    my $r = FakeRedis::fresh_get($t, $path, token => $token);
    ok(FakeRedis::is_redis_503($r), "503 redis_unavailable while down")
        or diag("$r->{status} $r->{content}");
    cmp_ok($r->{time}, '<', 0.5, 'answered at once, not after a timeout');
}

my $h = FakeRedis::fresh_get($t, '/kefu/v1/health');
is($h->{status}, 200, 'health answers while Redis is down');
like($h->{content}, qr/"redis":"down"/, 'health says redis down');

# long enough for the reconnect backoff to reach its cap
sleep 2.5;

$t->start_redis;
my $took = FakeRedis::time_to_recover($t, $path, $token, 5);
ok(defined $took, 'requests succeed again after Redis started');
cmp_ok($took // 99, '<', 1.3, 'recovered within about 1 s')
    and note(sprintf 'recovered in %.3f s', $took);

my $r = FakeRedis::fresh_get($t, $path, token => $token);
is($r->{status}, 200, 'whoami 200');
like($r->{content}, qr/"calls":\d+/, 'counted in Redis');

# each worker reconnects on its own backoff: poll (bounded) until a
# fresh connection, whichever worker takes it, sees Redis up
my $until = time + 1.5;
do {
    $h = FakeRedis::fresh_get($t, '/kefu/v1/health');
} while ($h->{content} !~ /"redis":"up"/ && time < $until
         && select(undef, undef, undef, 0.05) >= 0);
like($h->{content}, qr/"redis":"up"/, 'health says redis up');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

my $log = $t->error_log;
my @err = $log =~ /\[error\][^\n]*kefu_redis[^\n]*connect failed/g;
cmp_ok(scalar @err, '<=', 2 * 2, 'refused connects logged once per worker '
       . '(repeats at info level)');

done_testing;
