#!/usr/bin/perl

# Redis with requirepass and a wrong password_file: one clear error line
# per worker (naming the problem, never the password), 503 for requests,
# and reconnects with backoff (few connections in 3 s, no busy loop).
# With the right password and a reload, requests succeed.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use JSON::PP ();
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

# --- an ACL user (Redis 6) with only what the module needs, exactly as
# README "Redis ACL" gives it: every endpoint works, nothing refused ------
my $acl_pass = 'acl-pass-' . int(rand 1e9);
my @acl = ('ACL', 'SETUSER', 'kefu', 'reset', 'on', ">$acl_pass",
           '~kefu:*', 'resetchannels', '-@all', '+@read', '+@write',
           '+@scripting', '+@connection', '+cluster|slots');
is(FakeRedis::redis_auth_cmd($t, $right, @acl), '+OK', 'ACL user kefu');
my $acl_file = $t->write_file('kefu.pass', "$acl_pass\n");
$t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} user=kefu "
    . "password_file=$acl_file timeout=300ms;";
$t->write_file('nginx.conf', $t->conf);
($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload with user=kefu');
ok(defined FakeRedis::time_to_recover($t, $path, $token, 10, 4),
   'the ACL user authenticates');

my $adm = $t->token('trainer', scope => 'admin');
my $ask = $t->post('/kefu/v1/ask', token => $token,
                   body => { question => '蚁花怎么开通' });
my $lr = $t->post('/kefu/v1/loss-reports', token => $token,
                  headers => { 'Idempotency-Key' => 'acl-1' },
                  body => { kind => 'phone', reason => 'lost' });
my @calls = (
    ['ask', $ask],
    ['events', $t->post('/kefu/v1/events', token => $token,
                        body => { events => [{ type => 'bill_due' }] })],
    ['suggestions', $t->get('/kefu/v1/suggestions', token => $token)],
    ['loss report', $lr],
    ['loss report read',
     $t->get('/kefu/v1/loss-reports/' . ($lr->{json}{id} // 'x'),
             token => $token)],
    ['feedback', $t->post('/kefu/v1/feedback', token => $token,
                          body => { session_id => $ask->{json}{session_id},
                                    turn => 1,
                                    helpful => JSON::PP::true })],
    ['handoff', $t->post('/kefu/v1/handoff', token => $token,
                         body => { session_id =>
                                   $ask->{json}{session_id} })],
    ['admin loss reports', $t->get('/kefu/v1/admin/loss-reports',
                                   token => $adm)],
    ['admin tickets', $t->get('/kefu/v1/admin/tickets', token => $adm)],
    ['admin stats', $t->get('/kefu/v1/admin/stats', token => $adm)],
    ['admin kb suggestions', $t->get('/kefu/v1/admin/kb/suggestions',
                                     token => $adm)],
    ['learned question', $t->post('/kefu/v1/admin/kb/similar',
                                  token => $adm,
                                  body => { faq_id => 'paylater-open',
                                            question => '蚁花入口在哪里找得到' })]);
for my $c (@calls) {
    like($c->[1]{status}, qr/^2/, "ACL user: $c->[0] $c->[1]{status}")
        or diag($c->[1]{content});
}
unlike($t->error_log, qr/NOPERM|no permissions/, 'nothing refused');

# a wrong user name: the same clear error
$t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} user=nobody "
    . "password_file=$acl_file timeout=300ms;";
$t->write_file('nginx.conf', $t->conf);
($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload with user=nobody');
my $bad_user;
for (1 .. 200) {
    last if ($bad_user) = $t->error_log
        =~ /(\[error\][^\n]*authentication failed \(check user= [^\n]*)/;
    sleep 0.025;
}
ok($bad_user, 'a wrong user: "authentication failed", naming user=');
unlike($t->error_log, qr/\Q$acl_pass\E/, 'no password in error.log');

# user= alone, without a password: nginx -t says so
$t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} user=kefu;";
$t->write_file('test.conf', $t->conf);
my ($trc, $tout) = $t->nginx('-t', '-c', $t->dir . '/test.conf');
isnt($trc, 0, 'nginx -t refuses user= without password_file=');
like($tout, qr/"user=" wants a "password_file="/, 'and says why');

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
