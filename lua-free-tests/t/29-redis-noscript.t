#!/usr/bin/perl

# EVALSHA falls back to EVAL transparently when Redis lost its script
# cache (SCRIPT FLUSH, or a restart the adapter did not notice): the
# loss-report script still runs, once.
# And Redis holds each script exactly as its file
# (ngx_kefu_module/lua/NAME.lua, embedded at build time): the SHA1 of the
# file is the SHA1 the module loaded.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Digest::SHA qw(sha1_hex);
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

my @lua = glob("$FindBin::Bin/../../ngx_kefu_module/lua/*.lua");
ok(@lua >= 13, scalar(@lua) . ' script files');
for my $f (@lua) {
    open my $fh, '<:raw', $f or die "$f: $!";
    my $text = do { local $/; <$fh> };
    close $fh;
    is_deeply($t->redis_cmd('SCRIPT', 'EXISTS', sha1_hex($text)), [1],
              "Redis has $f byte for byte");
}

is($t->redis_cmd('SCRIPT', 'FLUSH'), '+OK', 'script cache flushed');

my $r = report('k2');
is($r->{status}, 201, 'after SCRIPT FLUSH: NOSCRIPT -> EVAL, report created')
    or diag("$r->{status} $r->{content}");

$r = report('k2');
is($r->{status}, 200, 'same key again: the same report, not a second one');

is(report('k3')->{status}, 201, 'and EVALSHA works again');

done_testing;
