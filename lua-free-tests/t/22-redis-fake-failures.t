#!/usr/bin/perl

# The adapter against a misbehaving Redis (FakeRedis.pm): a stalled
# server (503 within the command timeout, then the watchdog reconnects),
# a 200 KiB reply (read completely: the connection stays usable), and
# garbage, partial replies and resets (503, reconnect, no crash).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1, workers => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=300ms connect_timeout=500ms;');
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

sub get { FakeRedis::fresh_get($t, $path, token => $token) }

sub recovers {
    my ($what) = @_;
    $fake->set_mode('ok');
    my $took = FakeRedis::time_to_recover($t, $path, $token, 5, 3);
    ok(defined $took && $took < 1.5, "$what: serving again within ~1 s")
        and note(sprintf '%s: recovered in %.3f s', $what, $took);
}

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 3),
   'serving through the fake');

# --- stall -------------------------------------------------------------

$fake->set_mode('stall');
my $conns = $fake->connections;

for (1 .. 3) {
    my $r = get();
    ok(FakeRedis::is_redis_503($r), 'stalled Redis: 503 JSON')
        or diag("$r->{status} $r->{content}");
    ok($r->{time} >= 0.25 && $r->{time} < 0.8,
       sprintf('stalled Redis: answered after the 300 ms timeout (%.3f s)',
               $r->{time}));
}

# the oldest command is overdue by 2 x timeout: the watchdog reconnects
sleep 1.5;
cmp_ok($fake->connections, '>', $conns, 'stalled connection was replaced');
like($t->error_log, qr/\[error\].*kefu_redis.*no reply for too long/,
     'stall logged');

recovers('stall');

# --- huge reply --------------------------------------------------------

$fake->set_mode('huge');
$conns = $fake->connections;
my $timeouts = () = $t->error_log =~ /timed out/g;

for (1 .. 3) {
    my $r = get();
    ok(($r->{status} == 200 || $r->{status} >= 500) && ref $r->{json},
       "200 KiB reply: clean JSON answer ($r->{status})");
    cmp_ok($r->{time}, '<', 0.28, '200 KiB reply: read without stalling');
}

$fake->set_mode('ok');
my $r = get();
is($r->{status}, 200, 'after the big replies: next command answered');
is($fake->connections, $conns, 'same connection: the reply was consumed');
is(scalar(() = $t->error_log =~ /timed out/g), $timeouts,
   'no timeouts on big replies');

# --- garbage, partial, reset -------------------------------------------

for my $mode (qw(garbage partial reset)) {
    $fake->set_mode($mode);
    $conns = $fake->connections;

    my $r = get();
    ok(FakeRedis::is_redis_503($r), "$mode: 503 JSON")
        or diag("$r->{status} $r->{content}");
    cmp_ok($r->{time}, '<', 0.28, "$mode: failed at once, not by timeout");

    recovers($mode);
    cmp_ok($fake->connections, '>', $conns, "$mode: reconnected");
}

# --- a reply no command waits for (hiredis 0.14 would assert) ----------

$fake->set_mode('extra');
$conns = $fake->connections;
my $res = get();
ok($res->{status} == 200 || FakeRedis::is_redis_503($res),
   'extra reply: the request is answered (200 or 503)')
    or diag("$res->{status} $res->{content}");
recovers('extra');
cmp_ok($fake->connections, '>', $conns,
       'extra reply: the connection was dropped and made again');
like($t->error_log, qr/a reply no command waits for/,
     'extra reply: logged');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
