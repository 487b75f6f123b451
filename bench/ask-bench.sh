#!/usr/bin/env bash
# /v1/ask with a 10k-FAQ knowledge base and a Redis session read + write
# per turn, against `return 200 '{"ok":true}'` on the same nginx in the
# same run (target >= 50 %), p99 latency at 50 connections (target
# <= 5 ms), and a 5-turn dialogue on one connection (target <= 5 ms total).
#
#   bench/ask-bench.sh                # 10k FAQs, wrk -t2 -c50 -d5s, 3 rounds
#   FAQS=1000 DURATION=10s ROUNDS=5 WORKERS=1 bench/ask-bench.sh
set -euo pipefail

. "$(dirname "$0")/setup.sh"
export FAQS=${FAQS:-10000}
bench_setup ask-bench

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perl "$top/bench/gen-kb.pl" "$FAQS" "$tmp/kb.json"
export KEFU_BENCH_KB=$tmp/kb.json

exec perl -I "$top/lua-free-tests/lib" -MKefuTest -e '
use strict;
use warnings;
use utf8;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time);

my $t = KefuTest->new(no_ssl => 1, workers => $ENV{WORKERS},
                      kb => $ENV{KEFU_BENCH_KB},
                      appendfsync => $ENV{APPENDFSYNC});
my $token = $t->token("bench-user");
$ENV{KEFU_TOKEN} = $token;

my $r = $t->post("/kefu/v1/ask", token => $token,
                 body => { question => "蚁花怎么开通" });
die "ask-bench: /v1/ask does not answer: $r->{status}\n"
    unless $r->{status} == 200;

# /ok, the 8 questions in rotation, and every question new (the search
# memo never has it: each turn is ranked), in alternation
my $res = $t->compare(
    ask => { path => "/kefu/v1/ask",
             args => ["-s", "'"$top"'/bench/ask.lua"] },
    new => { path => "/kefu/v1/ask",
             args => ["-s", "'"$top"'/bench/ask.lua"],
             env => { KEFU_DISTINCT => 1 } });

# 5-turn dialogues, turn after turn on one keep-alive connection; each
# request leaves in one write with TCP_NODELAY, as a mobile client sends it
my @turns = ("蚁花怎么开通", "那怎么关闭呢", "提现多久到账", "手续费呢",
             "我的手机丢了怎么办");
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
                              PeerPort => $t->{http_port}) or die $!;
setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1) or die $!;
my @totals;
for my $d (1 .. 200) {
    my $t0 = time;
    for my $q (@turns) {
        my $body = $KefuTest::JSON->encode({ question => $q,
                                             session_id => "d$d" });
        print $s "POST /kefu/v1/ask HTTP/1.1\r\nHost: b\r\n"
            . "Authorization: Bearer $token\r\n"
            . "Content-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n$body";
        my ($status, $len);
        while (my $line = <$s>) {
            $status //= $line =~ m{^HTTP/1.1 (\d+)} ? $1 : 0;
            $len = $1 if $line =~ /^Content-Length:\s*(\d+)/i;
            last if $line eq "\r\n";
        }
        read($s, my $resp, $len) == $len or die "ask-bench: short read\n";
        die "ask-bench: turn failed ($status)\n" unless $status == 200;
    }
    push @totals, (time - $t0) * 1000;
}
@totals = sort { $a <=> $b } @totals;

printf "%d FAQs, wrk -t%s -c%s -d%s, %s nginx workers, appendfsync %s,"
       . " medians of %d rounds\n", $ENV{FAQS},
       @ENV{qw(THREADS CONNS DURATION WORKERS APPENDFSYNC)},
       scalar @{ $res->{ok}{ratios} };
printf "  static  /ok       %9.0f req/s  p99 %5.2f ms\n", $res->{ok}{rps},
       $res->{ok}{p99};
for (["ask", "8 questions in rotation; target >= 50 %, p99 <= 5 ms"],
     ["new", "every question new: no memo"]) {
    my ($k, $what) = @$_;
    printf "  ask     /v1/ask   %9.0f req/s  p99 %5.2f ms  %5.1f %%  (%s;"
           . " rounds %s)\n", $res->{$k}{rps}, $res->{$k}{p99},
           100 * $res->{$k}{ratio}, $what,
           join(" ", map { sprintf "%.1f", 100 * $_ } @{ $res->{$k}{ratios} });
}
printf "  5-turn dialogue   median %.2f ms, p90 %.2f ms  (target <= 5 ms;"
       . " client included)\n", $totals[@totals / 2],
       $totals[int(@totals * 0.9)];
my $nbad = $res->{ok}{bad} + $res->{ask}{bad} + $res->{new}{bad};
printf "  non-2xx responses: %d\n", $nbad if $nbad;
my @bad = $t->bad_log_lines;
print "  error.log: $_\n" for @bad;
$t->{checked} = 1;      # checked here; no TAP line from the harness
exit(($nbad || @bad) ? 1 : 0);
'
