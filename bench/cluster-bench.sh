#!/usr/bin/env bash
# Redis Cluster against one Redis (issue 11, target >= 85 %): the same
# module and configuration on two nginx, one with `kefu_redis` on a
# private redis-server, one with `kefu_redis_cluster` on a local
# 3-master + 3-replica cluster (lua-free-tests/lib/KefuCluster.pm), all
# Redis with the same AOF setting, in one run:
#   ask          POST /v1/ask, 10k-FAQ KB, continued sessions of USERS
#                users (bench/ask.lua)
#   suggestions  GET /v1/suggestions?limit=5&scene=bill, 200-event trail,
#                10k-FAQ KB (bench/suggest-kb.pl)
#   reports      POST /v1/loss-reports, a new report per request, USERS
#                users in turn
# Each round runs every endpoint on both, alternating which goes first;
# the cluster's ratio of each round is against the single Redis run next
# to it; medians over ROUNDS (3).  The single Redis has a replica, as
# each cluster master has (SINGLE_REPLICA=0: none): on one machine the
# replicas take the same CPU as nginx, and with a replica on both sides
# each write is replicated once on both.  No kefu_report_replicas.
#
#   bench/cluster-bench.sh                 # wrk -t2 -c50 -d5s, 2 workers
#   ROUNDS=5 DURATION=10s bench/cluster-bench.sh
#   SINGLE_REPLICA=0 USERS=1 bench/cluster-bench.sh
set -euo pipefail

. "$(dirname "$0")/setup.sh"
export FAQS=${FAQS:-10000} USERS=${USERS:-200}
export SINGLE_REPLICA=${SINGLE_REPLICA:-1}
bench_setup cluster-bench redis-cli redis-server

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perl "$top/bench/gen-kb.pl" "$FAQS" "$tmp/ask-kb.json"
perl "$top/bench/suggest-kb.pl" "$FAQS" > "$tmp/sug-kb.json"
export KEFU_BENCH_TMP=$tmp KEFU_BENCH_ASK=$top/bench/ask.lua \
       KEFU_BENCH_LR=$top/bench/loss-reports.lua

exec perl -I "$top/lua-free-tests/lib" -I "$top/bench" -MKefuTest -MKefuMixed \
    -MKefuBench -e '
use strict;
use warnings;
use Time::HiRes qw(sleep);

my $tmp = $ENV{KEFU_BENCH_TMP};
my @modes = qw(single cluster);
my (%t, %tok);
for my $mode (@modes) {
    my $t = $t{$mode} = KefuTest->new(
        no_ssl => 1, workers => $ENV{WORKERS},
        cluster => $mode eq "cluster" ? 1 : 0,
        tenants => [qw(demo other)],
        kb => { demo => "$tmp/ask-kb.json", other => "$tmp/sug-kb.json" },
        appendfsync => $ENV{APPENDFSYNC},
        tenant_extra => "        loss_reports_per_day 100000;\n");
    $tok{$mode} = { ask => users($t, $mode, "ask"),
                    sug => $t->token("bench-sug", tenant => "other") };
    KefuBench::trail($t, $tok{$mode}{sug});
}
KefuBench::replica($t{single}) if $ENV{SINGLE_REPLICA};

# USERS users of tenant demo (a tenant'"'"'s load is many users)
sub users {
    my ($t, $mode, $what) = @_;
    return KefuBench::tokens_file($t, "$tmp/tokens-$mode-$what",
                                  $ENV{USERS}, "bench-$what-");
}

my $sugpath = "/kefu/v1/suggestions?limit=5&scene=bill";
my %run = (
    ask => sub {
        my ($m) = @_;
        local $ENV{KEFU_TOKENS} = $tok{$m}{ask};
        return $t{$m}->wrk("/kefu/v1/ask", "-s", $ENV{KEFU_BENCH_ASK});
    },
    suggestions => sub {
        my ($m) = @_;
        return $t{$m}->wrk($sugpath, "-H",
                           "Authorization: Bearer $tok{$m}{sug}");
    },
    reports => sub {
        my ($m, $round) = @_;
        # users of their own per run: under the 100,000 reports a day
        # of one user
        local $ENV{KEFU_TOKENS} = users($t{$m}, $m, "lr-$round");
        local $ENV{KEFU_KEY_PREFIX} = "lr-$m-$round";
        return $t{$m}->wrk("/kefu/v1/loss-reports",
                           "-s", $ENV{KEFU_BENCH_LR});
    });
my @names = qw(ask suggestions reports);

{
    local $ENV{DURATION} = "1s";        # warm up, every path on both
    for my $m (@modes) {
        $run{$_}->($m, "warm") for @names;
    }
}

my $rounds = $ENV{ROUNDS} || 3;
my (%rps, %p99, %ratio, $bad, @badruns);
for my $round (1 .. $rounds) {
    for my $name (@names) {
        my @order = $round % 2 ? @modes : reverse @modes;
        my %r = map { ($_ => $run{$name}->($_, $round)) } @order;
        for my $m (@modes) {
            push @{ $rps{$name}{$m} }, $r{$m}{rps};
            push @{ $p99{$name}{$m} }, KefuTest::ms($r{$m}{p99});
            $bad += $r{$m}{bad};
            push @badruns, "$name $m round $round: $r{$m}{bad}"
                if $r{$m}{bad};
        }
        push @{ $ratio{$name} }, $r{cluster}{rps} / $r{single}{rps};
    }
}

printf "%d FAQs, %d users, wrk -t%s -c%s -d%s, %s nginx workers,"
       . " appendfsync %s, medians of %d rounds; single: 1 Redis%s;"
       . " cluster: 3 masters + 3 replicas\n",
    @ENV{qw(FAQS USERS THREADS CONNS DURATION WORKERS APPENDFSYNC)},
    $rounds, $ENV{SINGLE_REPLICA} ? " + 1 replica" : " (no replica)";
for my $name (@names) {
    my $med = sub { KefuTest::median(@{ $_[0] }) };
    printf "  %-12s single %8.0f req/s p99 %6.2f ms | cluster %8.0f req/s"
           . " p99 %6.2f ms | %5.1f %% (target >= 85 %%; rounds %s)\n",
        $name, $med->($rps{$name}{single}), $med->($p99{$name}{single}),
        $med->($rps{$name}{cluster}), $med->($p99{$name}{cluster}),
        100 * $med->($ratio{$name}),
        join(" ", map { sprintf "%.1f", 100 * $_ } @{ $ratio{$name} });
}
printf "  non-2xx responses: %d (%s)\n", $bad, join(", ", @badruns)
    if $bad;
# what the server said of them (a 503 is logged with its cause)
for my $m (@modes) {
    my @e = grep { /\[(error|crit)\]/ } split /\n/, $t{$m}->error_log;
    printf "  %s error.log: %d [error] lines%s\n", $m, scalar @e,
        @e ? ", the first: $e[0]" : "" if @e;
}
my @badlog = map { $_->bad_log_lines } values %t;
print "  error.log: $_\n" for @badlog;
$_->{checked} = 1 for values %t;    # checked here; no TAP line
exit(($bad || @badlog) ? 1 : 0);
'
