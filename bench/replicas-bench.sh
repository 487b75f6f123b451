#!/usr/bin/env bash
# Loss reports/s with `kefu_report_replicas 1` and a live replica, of two
# module builds in the same run: OLD_MODULE (e.g. a build of an earlier
# commit) against KEFU_MODULE (this tree's), each on its own nginx, both
# on one Redis (appendfsync always) with one replica, in alternating
# rounds so that a slow or a fast spell of the shared machine falls on
# both sides of the ratio.
#
#   OLD_MODULE=/tmp/old.so bench/replicas-bench.sh     # 5 rounds of 10s
#   ROUNDS=3 DURATION=5s CONNS=100 OLD_MODULE=... bench/replicas-bench.sh
#
# Every request is a new report (a unique Idempotency-Key per request)
# of one of 40 users.
set -euo pipefail

export DURATION=${DURATION:-10s} ROUNDS=${ROUNDS:-5}
. "$(dirname "$0")/setup.sh"
bench_setup replicas-bench redis-server
[ -f "${OLD_MODULE:-}" ] \
    || { echo "replicas-bench: OLD_MODULE=path of the other build" >&2
         exit 1; }

export KEFU_BENCH_TOP=$top
exec perl -I "$top/lua-free-tests/lib" -I "$top/bench" -MKefuTest -MKefuBench \
    -e '
use strict;
use warnings;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);

my %common = (no_ssl => 1, workers => $ENV{WORKERS}, redis_timeout => "2s",
              appendfsync => "always",
              tenant_extra => "        loss_reports_per_day 100000;\n",
              http_extra => "    kefu_report_replicas 1 timeout=1s;\n");
my $old = KefuTest->new(%common, module => $ENV{OLD_MODULE});
my $new = KefuTest->new(%common, module => $ENV{KEFU_MODULE}, redis => 0,
                        redis_directive => "kefu_redis 127.0.0.1:"
                            . $old->{redis_port} . " timeout=2s;");

# the replica, in sync as the primary sees it
KefuBench::replica($old, appendfsync => undef);

# reports spread over users, each under the per-user daily limit; a
# new Idempotency-Key per request ("<side><round>-<thread>-<n>")
my $dir = tempdir("replicas-bench-XXXXXX", TMPDIR => 1, CLEANUP => 1);
$ENV{KEFU_TOKENS} = KefuBench::tokens_file($old, "$dir/tokens", 40,
                                           "bench-user-");
my $token = $old->token("bench-user-1", ttl => 3600);

sub waits {
    my $info = $old->redis_cmd("INFO", "commandstats") // "";
    return $info =~ /cmdstat_wait:calls=(\d+)/ ? $1 : 0;
}

# both connected, the durable connections open
for my $t ($old, $new) {
    my $ok;
    for my $i (1 .. 200) {
        my $r = $t->post("/kefu/v1/loss-reports", token => $token,
                         body => { kind => "phone", reason => "lost" },
                         headers => { "Idempotency-Key" => "warm-$i" });
        $ok = 1, last if $r->{status} == 201;
        sleep 0.05;
    }
    die "replicas-bench: no 201 from $t->{module}\n" unless $ok;
}

my (%rps, %per_wait, @ratios, $bad);
for my $round (1 .. $ENV{ROUNDS}) {
    for my $side (["old", $old], ["new", $new]) {
        my ($name, $t) = @$side;
        my $w = waits();
        local $ENV{KEFU_KEY_PREFIX} = "$name$round";
        my $r = $t->wrk("/kefu/v1/loss-reports", "-s",
                        "$ENV{KEFU_BENCH_TOP}/bench/loss-reports.lua");
        push @{ $rps{$name} }, $r->{rps};
        push @{ $per_wait{$name} }, $r->{n} / ((waits() - $w) || 1);
        $bad += $r->{bad};
    }
    push @ratios, $rps{new}[-1] / $rps{old}[-1];
}

printf "wrk -t%s -c%s -d%s, %s nginx workers each, kefu_report_replicas 1, "
    . "one replica, appendfsync always, %d rounds\n",
    @ENV{qw(THREADS CONNS DURATION WORKERS ROUNDS)};
for my $name (qw(old new)) {
    printf "  %s  %s req/s, reports per WAIT %s\n", $name,
        join(" ", map { sprintf "%.0f", $_ } @{ $rps{$name} }),
        join(" ", map { sprintf "%.1f", $_ } @{ $per_wait{$name} });
}
printf "  new/old: median %.2f (%s)\n", KefuTest::median(@ratios),
    join " ", map { sprintf "%.2f", $_ } @ratios;
print "  non-2xx: $bad\n" if $bad;
my @badlog = ($old->bad_log_lines, $new->bad_log_lines);
print "  error.log: $_\n" for @badlog;
exit(($bad || @badlog) ? 1 : 0);
'
