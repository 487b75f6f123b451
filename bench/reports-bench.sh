#!/usr/bin/env bash
# Requests/s of the service flows against `return 200 '{"ok":true}'` on
# the same nginx in the same run, with Redis on appendfsync always and
# then (Redis restarted) everysec:
#
#   POST /v1/loss-reports   a new report per request (unique
#                           Idempotency-Key from a wrk Lua script): one
#                           EVALSHA writing record, frozen flag,
#                           idempotency record, two counters, stream entry
#   POST /v1/handoff        a new ticket per request (a fresh session each
#                           time): GET session + GET marker, then EVALSHA
#   POST /v1/feedback       a first verdict per request (a fresh session
#                           each time): GET session + HGET, then EVALSHA
#
#   bench/reports-bench.sh                # wrk -t2 -c50 -d10s, 2 workers
#   DURATION=30s CONNS=100 bench/reports-bench.sh
#
# Uses the test harness (lua-free-tests/lib/KefuTest.pm): a private
# redis-server and Debian's nginx on free loopback ports in a temp dir.
# The sessions for handoff and feedback are loaded into Redis before each
# round with redis-cli --pipe (SESSIONS per wrk thread, default 50000).
set -euo pipefail

export DURATION=${DURATION:-10s}
. "$(dirname "$0")/setup.sh"
export SESSIONS=${SESSIONS:-50000}
bench_setup reports-bench redis-cli

exec perl -I "$top/lua-free-tests/lib" -MKefuTest -MFakeRedis -e '
use strict;
use warnings;
use File::Temp qw(tempdir);

# one user a round makes its reports and tickets: the per-user limits
# lifted to their most (100000)
my $t = KefuTest->new(no_ssl => 1, workers => $ENV{WORKERS},
                      appendfsync => "always",
                      tenant_extra => "        loss_reports_per_day 100000;\n"
                          . "        handoff_per_user 100000;\n"
                          . "        unanswered_per_user 100000;\n");

my $token = $t->token("bench-user", ttl => 3600);
my ($user, $auth);
defined FakeRedis::time_to_recover($t, "/kefu/v1/whoami", $token, 5, 4)
    or die "reports-bench: /v1/whoami does not answer 200\n";

my $dir = tempdir("reports-bench-XXXXXX", TMPDIR => 1, CLEANUP => 1);

# wrk scripts: every thread numbers its requests; keys and sessions are
# "<round>-<thread>-<n>", so nothing repeats within or across rounds
sub lua {
    my ($name, $round, $body) = @_;
    my $f = "$dir/$name-$round.lua";
    open my $fh, ">", $f or die "$f: $!";
    print $fh <<"LUA";
local nthreads = 0
function setup(thread)
    nthreads = nthreads + 1
    thread:set("tid", nthreads)
end
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
    n = n + 1
    local id = "$round-" .. tid .. "-" .. ((n - 1) % $ENV{SESSIONS} + 1)
$body
end
LUA
    close $fh;
    return $f;
}

sub wrk {
    my ($path, $script, @h) = @_;
    return $t->wrk($path, (map { ("-H", $_) } @h),
                   ($script ? ("-s", $script) : ()));
}

# sessions as /v1/ask stores them, for handoff and feedback
sub load_sessions {
    my ($round) = @_;
    my $resp = "$dir/sessions-$round.resp";
    open my $fh, ">", $resp or die "$resp: $!";
    my $v = "{\"turn\":1,\"fb\":0,\"em\":0,\"ts\":" . time
        . ",\"topic\":\"paylater-open\",\"pending\":[],\"turns\":[{\"q\":"
        . "\"how to open paylater\",\"f\":\"paylater-open\",\"t\":\"a\"}]}";
    for my $tid (1 .. $ENV{THREADS}) {
        for my $n (1 .. $ENV{SESSIONS}) {
            my $k = "kefu:{demo:$user}:s:$round-$tid-$n";
            printf $fh "*5\r\n\$3\r\nSET\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n"
                . "\$2\r\nEX\r\n\$4\r\n3600\r\n", length $k, $k,
                length $v, $v;
        }
    }
    close $fh;
    system("redis-cli -p $t->{redis_port} --pipe < $resp > /dev/null") == 0
        or die "reports-bench: redis-cli --pipe failed\n";
    unlink $resp;
}

my @rows;

sub round {
    my ($mode, $round) = @_;
    $user = "bench-user-$round";
    $auth = "Authorization: Bearer " . $t->token($user, ttl => 3600);
    load_sessions($round);
    my $lr = lua("lr", $round,
        "    wrk.headers[\"Idempotency-Key\"] = \"lr-\" .. id\n"
        . "    return wrk.format(nil, nil, nil,\n"
        . "        \x27{\"kind\":\"phone\",\"reason\":\"lost\"}\x27)");
    my $ho = lua("ho", $round,
        "    return wrk.format(nil, nil, nil,\n"
        . "        \x27{\"session_id\":\"\x27 .. id .. \x27\"}\x27)");
    my $fb = lua("fb", $round,
        "    return wrk.format(nil, nil, nil,\n"
        . "        \x27{\"session_id\":\"\x27 .. id .. \x27\",\"turn\":1,"
        . "\"helpful\":false}\x27)");

    wrk("/ok");                                 # warm up
    my %r;
    $r{ok} = wrk("/ok");
    $r{lr} = wrk("/kefu/v1/loss-reports", $lr, $auth);
    $r{ho} = wrk("/kefu/v1/handoff", $ho, $auth);
    $r{fb} = wrk("/kefu/v1/feedback", $fb, $auth);
    for my $k (qw(ho fb)) {
        warn "reports-bench: $k made more requests than sessions; some "
            . "hit the existing ticket / verdict\n"
            if $r{$k}{n} > $ENV{THREADS} * $ENV{SESSIONS};
    }
    push @rows, [$mode, \%r];
}

round("always", "a");

# the same data, Redis restarted with everysec
$t->stop_redis;
$t->start_redis(appendfsync => "everysec");
defined FakeRedis::time_to_recover($t, "/kefu/v1/whoami", $token, 10, 4)
    or die "reports-bench: no Redis after the restart\n";
round("everysec", "e");

my $reports = $t->redis_cmd("XLEN", KefuTest::bkey("demo", $user, "reports"));

printf "wrk -t%s -c%s -d%s, %s nginx workers, Redis AOF\n",
    @ENV{qw(THREADS CONNS DURATION WORKERS)};
my $bad = 0;
for my $row (@rows) {
    my ($mode, $r) = @$row;
    printf "appendfsync %s:\n", $mode;
    for my $k (["ok", "static /ok"], ["lr", "POST /v1/loss-reports"],
               ["ho", "POST /v1/handoff"], ["fb", "POST /v1/feedback"]) {
        my $x = $r->{ $k->[0] };
        printf "  %-22s %9.0f req/s %6.1f %%  avg %-8s p99 %-8s%s\n",
            $k->[1], $x->{rps}, 100 * $x->{rps} / $r->{ok}{rps}, $x->{lat},
            $x->{p99}, $x->{bad} ? "  non-2xx $x->{bad}" : "";
        $bad += $x->{bad};
    }
}
printf "  (%d loss reports on the back-office stream)\n", $reports;
my @badlog = $t->bad_log_lines;
print "  error.log: $_\n" for @badlog;
exit(($bad || @badlog) ? 1 : 0);
'
