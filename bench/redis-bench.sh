#!/usr/bin/env bash
# Requests/s of GET /v1/whoami (authenticated, one Redis INCR through the
# worker's async connection) against `return 200 '{"ok":true}'` on the
# same nginx in the same run; prints both and the ratio (target >= 60 %).
#
#   bench/redis-bench.sh            # wrk -t2 -c50 -d10s, 2 workers
#   DURATION=30s CONNS=100 WORKERS=1 bench/redis-bench.sh
#
# Uses the test harness (lua-free-tests/lib/KefuTest.pm): a private
# redis-server and Debian's nginx on free loopback ports in a temp dir.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export KEFU_MODULE=${KEFU_MODULE:-$top/build/nginx/ngx_http_kefu_module.so}
export DURATION=${DURATION:-10s} CONNS=${CONNS:-50} THREADS=${THREADS:-2}
export WORKERS=${WORKERS:-2} APPENDFSYNC=${APPENDFSYNC:-everysec}

command -v wrk >/dev/null || { echo "redis-bench: wrk missing" >&2; exit 1; }
[ -f "$KEFU_MODULE" ] || make -C "$top" --no-print-directory module
[ -x "$top/build/tools/kefu_token" ] \
    || make -C "$top" --no-print-directory tools

exec perl -I "$top/lua-free-tests/lib" -MKefuTest -MFakeRedis -e '
use strict;
use warnings;

my $t = KefuTest->new(no_ssl => 1, workers => $ENV{WORKERS},
                      redis_down => 1, no_start => 1);
$t->start_redis(appendfsync => $ENV{APPENDFSYNC});
$t->start_nginx;

my $token = $t->token("bench-user");
my $path = "/kefu/v1/whoami";
defined FakeRedis::time_to_recover($t, $path, $token, 5, 4)
    or die "redis-bench: /v1/whoami does not answer 200\n";

sub wrk {
    my ($path, @h) = @_;
    my $r = $t->wrk($path, map { ("-H", $_) } @h);
    return ($r->{rps}, $r->{bad}, $r->{lat});
}

# warm up both paths, then measure one after the other
wrk("/ok");
my ($ok, $ok_bad, $ok_lat) = wrk("/ok");
my ($rd, $rd_bad, $rd_lat) = wrk($path, "Authorization: Bearer $token");

printf "wrk -t%s -c%s -d%s, %s nginx workers, redis appendfsync %s\n",
    @ENV{qw(THREADS CONNS DURATION WORKERS APPENDFSYNC)};
printf "  static  /ok          %10.0f req/s  (avg latency %s)\n",
    $ok, $ok_lat;
printf "  redis   /v1/whoami   %10.0f req/s  (avg latency %s)\n",
    $rd, $rd_lat;
printf "  ratio                %9.1f %%  (target >= 60 %%)\n",
    100 * $rd / $ok;
printf "  non-2xx: /ok %d, /v1/whoami %d\n", $ok_bad, $rd_bad
    if $ok_bad || $rd_bad;
my @bad = $t->bad_log_lines;
print "  error.log: $_\n" for @bad;
# stop both now: at exit the temp dir (with the pid files) may go first
$t->stop_nginx;
$t->stop_redis;
exit(($rd_bad || @bad) ? 1 : 0);
'
