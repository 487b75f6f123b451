#!/usr/bin/env bash
# Requests/s of GET /v1/whoami (authenticated, one Redis INCR through the
# worker's async connection) against `return 200 '{"ok":true}'` on the
# same nginx in the same run; prints both and the ratio (target >= 60 %).
#
#   bench/redis-bench.sh            # wrk -t2 -c50 -d5s, 2 workers, 3 rounds
#   DURATION=30s CONNS=100 WORKERS=1 ROUNDS=5 bench/redis-bench.sh
#
# Uses the test harness (lua-free-tests/lib/KefuTest.pm): a private
# redis-server and Debian's nginx on free loopback ports in a temp dir.
set -euo pipefail

. "$(dirname "$0")/setup.sh"
bench_setup redis-bench

exec perl -I "$top/lua-free-tests/lib" -MKefuTest -MFakeRedis -e '
use strict;
use warnings;

my $t = KefuTest->new(no_ssl => 1, workers => $ENV{WORKERS},
                      appendfsync => $ENV{APPENDFSYNC});

my $token = $t->token("bench-user");
my $path = "/kefu/v1/whoami";
defined FakeRedis::time_to_recover($t, $path, $token, 5, 4)
    or die "redis-bench: /v1/whoami does not answer 200\n";

my $res = $t->compare(whoami => { path => $path,
                                   args => ["-H", "Authorization: Bearer $token"] });

printf "wrk -t%s -c%s -d%s, %s nginx workers, redis appendfsync %s,"
       . " medians of %d rounds\n",
    @ENV{qw(THREADS CONNS DURATION WORKERS APPENDFSYNC)},
    scalar @{ $res->{ok}{ratios} };
printf "  static  /ok          %10.0f req/s  p99 %5.2f ms\n",
    $res->{ok}{rps}, $res->{ok}{p99};
printf "  redis   /v1/whoami   %10.0f req/s  p99 %5.2f ms\n",
    $res->{whoami}{rps}, $res->{whoami}{p99};
printf "  ratio                %9.1f %%  (target >= 60 %%; rounds %s)\n",
    100 * $res->{whoami}{ratio},
    join(" ", map { sprintf "%.1f", 100 * $_ } @{ $res->{whoami}{ratios} });
my $nbad = $res->{ok}{bad} + $res->{whoami}{bad};
printf "  non-2xx responses: %d\n", $nbad if $nbad;
my @bad = $t->bad_log_lines;
print "  error.log: $_\n" for @bad;
# stop both now: at exit the temp dir (with the pid files) may go first
$t->{checked} = 1;      # checked here; no TAP line from the harness
$t->stop_nginx;
$t->stop_redis;
exit(($nbad || @bad) ? 1 : 0);
'
