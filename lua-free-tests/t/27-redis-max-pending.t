#!/usr/bin/perl

# max_pending: beyond the cap of commands in flight a request gets its
# 503 at once instead of queueing behind a slow Redis.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use HTTP::Tiny;

use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1, workers => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=5s max_pending=4;');
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 2),
   'serving through the fake');

$fake->set_mode('delay', delay => 2);

my ($ok, $rejected, $fast) = (0, 0, 0);
for (FakeRedis::concurrent_gets($t, $path, $token, 10, 0.02)) {
    my ($st, $time, $json) = @$_;
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
