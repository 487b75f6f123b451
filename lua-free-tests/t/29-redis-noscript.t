#!/usr/bin/perl

# EVALSHA falls back to EVAL transparently when Redis lost its script
# cache (SCRIPT FLUSH, or a restart the adapter did not notice): the
# loss-report script still runs, once.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;

use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1, workers => 1);
my $token = FakeRedis::token_for($t);

ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $token, 5, 2),
   'serving');

sub report {
    my ($key) = @_;
    return $t->post('/kefu/v1/loss-reports', token => $token,
                    headers => { 'Idempotency-Key' => $key },
                    body => { kind => 'phone', reason => 'lost' });
}

is(report('k1')->{status}, 201, 'loss report with the cached script');

is($t->redis_cmd('SCRIPT', 'FLUSH'), '+OK', 'script cache flushed');

my $r = report('k2');
is($r->{status}, 201, 'after SCRIPT FLUSH: NOSCRIPT -> EVAL, report created')
    or diag("$r->{status} $r->{content}");

$r = report('k2');
is($r->{status}, 200, 'same key again: the same report, not a second one');

is(report('k3')->{status}, 201, 'and EVALSHA works again');

done_testing;
