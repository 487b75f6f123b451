#!/usr/bin/perl

# Redis with requirepass and a wrong password_file: one clear error line
# per worker (naming the problem, never the password), 503 for requests,
# and reconnects with backoff (few connections in 3 s, no busy loop).
# With the right password and a reload, requests succeed.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $right = 'right-pass-' . int(rand 1e9);
my $wrong = 'wrong-pass-' . int(rand 1e9);

my $t = KefuTest->new(no_ssl => 1, no_start => 1);
is($t->redis_cmd('CONFIG', 'SET', 'requirepass', $right), '+OK',
   'requirepass set');

my $pwfile = $t->write_file('redis.pass', "$wrong\n");
$t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} "
    . "password_file=$pwfile timeout=300ms;";
$t->start_nginx;

my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

sub connections {
    my $info = FakeRedis::redis_auth_cmd($t, $right, 'INFO', 'stats');
    my ($n) = $info =~ /total_connections_received:(\d+)/;
    return $n;
}

sleep 0.3;
my $before = connections();
ok(defined $before, 'INFO stats readable');

my $r = FakeRedis::fresh_get($t, $path, token => $token);
ok(FakeRedis::is_redis_503($r), 'wrong password: 503 JSON')
    or diag("$r->{status} $r->{content}");

sleep 3;
my $after = connections();
my $attempts = $after - $before - 1;
cmp_ok($attempts, '<=', 20, "few connection attempts in 3 s ($attempts): "
       . 'backoff, no busy loop');
cmp_ok($attempts, '>=', 2, 'but it keeps trying');

my $log = $t->error_log;
my @auth = grep { /\[error\].*kefu_redis.*authentication failed/ }
           split /\n/, $log;
ok(@auth >= 1 && @auth <= 2, 'one [error] line per worker names the problem')
    or diag(join "\n", @auth);
like($auth[0] // '', qr/password_file/, 'and says where to look');
unlike($log, qr/\Q$wrong\E|\Q$right\E/, 'no password in error.log');

my ($rc, $dump) = $t->nginx('-T');
unlike($dump, qr/\Q$wrong\E/, 'no password in nginx -T');

# the right password, reload: the new workers authenticate
$t->write_file('redis.pass', "$right\n");
($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload');

my $took = FakeRedis::time_to_recover($t, $path, $token, 10, 4);
ok(defined $took, 'right password: requests succeed');
is(FakeRedis::redis_auth_cmd($t, $right, 'PING'), '+PONG',
   'redis still fine');

# Redis wants a password, the configuration has none: the same clear
# error, once per worker, and 503
my $n = () = $t->error_log =~ /\[error\][^\n]*authentication failed/g;
$t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} "
    . "timeout=300ms;";
$t->write_file('nginx.conf', $t->conf);
($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload without password_file');
sleep 2;
my $r2 = FakeRedis::fresh_get($t, $path, token => $token);
ok(FakeRedis::is_redis_503($r2), 'no password: 503 JSON');
my $m = () = $t->error_log =~ /\[error\][^\n]*authentication failed/g;
ok($m - $n >= 1 && $m - $n <= 2, 'no password: one error line per worker')
    or diag($t->error_log);

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
