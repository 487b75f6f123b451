#!/usr/bin/perl

# The whole handshake against a real redis-server: unix socket, AUTH with
# the password from password_file, SELECT db; the commands of requests
# land in that database.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;

use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1, no_start => 1, redis_down => 1);
my $sock = "$t->{dir}/redis/redis.sock";
$t->{redis_args} = ['--unixsocket', $sock, '--unixsocketperm', '777'];
$t->start_redis;

my $pass = 'pw-' . int(rand 1e9);
is($t->redis_cmd('CONFIG', 'SET', 'requirepass', $pass), '+OK',
   'requirepass set');
my $pwfile = $t->write_file('redis.pass', "$pass\n");

$t->{redis_directive} = "kefu_redis unix:$sock password_file=$pwfile db=5;";
$t->start_nginx;

my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 4),
   'whoami through unix socket + AUTH + SELECT');

my $dbsize = sub {
    my ($db) = @_;
    return FakeRedis::redis_auth_cmd($t, $pass, 'EVAL',
        "redis.call('SELECT', ARGV[1]) return redis.call('DBSIZE')",
        0, $db);
};

cmp_ok($dbsize->(5), '>=', 1, 'keys written to db 5');
is($dbsize->(0), 0, 'nothing in db 0');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
