#!/usr/bin/perl

# The kefu_redis directive at configuration time (nginx -t): numeric
# addresses only, clear messages for every mistake.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;

use KefuTest;
use FakeRedis;

my $t = KefuTest->new(redis => 0, no_ssl => 1, no_start => 1);
my $pw = $t->write_file('pw', "pw-S3cr3t-x\n");
$t->write_file('empty', "\n");

sub check {
    my ($directive) = @_;
    $t->{redis_directive} = $directive;
    $t->write_file('nginx.conf', $t->conf);
    return $t->nginx('-t');
}

for my $ok ('kefu_redis 127.0.0.1:6379;',
            'kefu_redis 127.0.0.1;',
            'kefu_redis [::1]:6380 db=3 timeout=150ms connect_timeout=1s '
                . 'max_pending=100;',
            "kefu_redis unix:/run/redis.sock password_file=$pw;")
{
    my ($rc, $out) = check($ok);
    is($rc, 0, "accepted: $ok") or diag($out);
}

my @bad = (
    ['kefu_redis localhost:6379;', qr/not a numeric address/],
    ['kefu_redis redis.example.com;', qr/not a numeric address/],
    ['kefu_redis [::1:6379;', qr/invalid address/],
    ['kefu_redis 127.0.0.1:99999;', qr/invalid address/],
    ['kefu_redis unix:relative.sock;', qr/must be absolute/],
    ['kefu_redis unix:/' . ('d' x 120) . '.sock;', qr/is too long/],
    ['kefu_redis 127.0.0.1:6379 colour=blue;', qr/invalid parameter "colour/],
    ['kefu_redis 127.0.0.1:6379 timeout=soon;', qr/invalid parameter/],
    ['kefu_redis 127.0.0.1:6379 max_pending=0;', qr/invalid parameter/],
    ['kefu_redis 127.0.0.1:6379 db=-1;', qr/invalid parameter/],
    ['kefu_redis 127.0.0.1:6379 password_file=/nonexistent/pw;',
     qr/cannot open password_file/],
    ["kefu_redis 127.0.0.1:6379 password_file=$t->{dir}/empty;",
     qr/is empty/],
    ['kefu_redis 127.0.0.1:6379; kefu_redis 127.0.0.1:6380;',
     qr/is duplicate/],
);

for my $b (@bad) {
    my ($rc, $out) = check($b->[0]);
    isnt($rc, 0, "rejected: $b->[0]");
    like($out, $b->[1], 'with a clear message') or diag($out);
}

my ($rc, $out) = check("kefu_redis 127.0.0.1:6379 password_file=$pw;");
($rc, $out) = $t->nginx('-T');
unlike($out, qr/pw-S3cr3t-x/, 'the password is not in nginx -T');

done_testing;
