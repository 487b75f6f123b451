#!/usr/bin/perl

# Clients that go away while their Redis command is in flight (the fake
# Redis delays every reply): the reply must never touch the dead request.
# Run under ASan (make integration) this catches use-after-free.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=1s;');
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 4),
   'serving through the fake');

my @workers = FakeRedis::worker_pids($t->nginx_pid);

my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Authorization: Bearer $token\r\n\r\n";

sub open_req {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{http_port})
        or die "connect: $!";
    print $s $req;
    return $s;
}

# the ways a client goes: close, reset, half-close
sub abort {
    my ($s, $how) = @_;
    if ($how == 1) {
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    } elsif ($how == 2) {
        shutdown($s, 1);
        sleep 0.005;
    }
    close $s;
}

$fake->set_mode('delay', delay => 0.2);
my $sent = () = grep { /^INCR/ } $fake->commands;

for my $i (1 .. 150) {
    my $s = open_req();
    sleep rand 0.1;
    abort($s, $i % 3);
}

# bursts: many requests in flight at once, all abandoned
for my $round (1 .. 5) {
    my @s = map { open_req() } 1 .. 40;
    sleep 0.05 + rand 0.1;
    abort($s[$_], $_ % 3) for 0 .. $#s;
}

# let the delayed replies arrive for the dead requests
sleep 0.5;

my $now = () = grep { /^INCR/ } $fake->commands;
cmp_ok($now - $sent, '>=', 200, 'commands were in flight when clients left')
    or diag("sent " . ($now - $sent));

# mixed: some clients stay, some go
my @keep = map { open_req() } 1 .. 10;
my @gone = map { open_req() } 1 .. 10;
sleep 0.05;
abort($_, 1) for @gone;
my $answered = 0;
for my $s (@keep) {
    local $/;
    my $resp = <$s> // '';
    $answered++ if $resp =~ m{^HTTP/1\.1 200 };
}
is($answered, 10, 'the clients that stayed got their answers');

$fake->set_mode('ok');
my $r = FakeRedis::fresh_get($t, $path, token => $token);
is($r->{status}, 200, 'still serving');

is_deeply([FakeRedis::worker_pids($t->nginx_pid)], \@workers,
          'same workers: none crashed');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
