#!/usr/bin/perl
# Redis commands per /v1/ask turn, from Redis' own INFO commandstats:
# 200 turns of one session (answers, clarifies, fallbacks, and taps of
# a clarify choice when TAPS=1), with the counter sums held back
# (kefu_stats_flush 60s) so that only the turns' commands are counted.
#   KEFU_MODULE=build/nginx-asan/ngx_http_kefu_module.so \
#       perl bench/ask-commands.pl
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../lua-free-tests/lib";
use KefuTest;
use FakeRedis;

binmode STDOUT, ':utf8';

my $t = KefuTest->new(no_ssl => 1, stats_flush => '60s');
my $tok = $t->token('m1');
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';

sub ask {
    return $t->post('/kefu/v1/ask', token => $tok, body => $_[0])->{json};
}

my $sid = ask({ question => '蚁花怎么开通' })->{session_id};
$t->redis_cmd('CONFIG', 'RESETSTAT');

my (%types, $n);
my @q = ('蚁花怎么开通', '提现多久到账', '怎么提升额度', '今天天气怎么样');
for my $i (1 .. 200) {
    my $j = ask({ question => $q[$i % 4], session_id => $sid });
    $types{ $j->{type} }++;
    $n++;
    if ($ENV{TAPS} && $j->{type} eq 'clarify') {
        ask({ choice => $j->{choices}[0]{faq_id}, session_id => $sid });
        $types{tap}++;
        $n++;
    }
}

print "turns $n: ", join(', ', map { "$_ $types{$_}" } sort keys %types),
      "\n";
print "$_\n" for grep { /^cmdstat_/ } split /\r?\n/,
                 $t->redis_cmd('INFO', 'commandstats');
$t->final_check;
