#!/usr/bin/perl

# Redis Cluster, bad configuration (issue 11): nginx -t refuses db= with
# kefu_redis_cluster and kefu_redis together with it, with clear
# messages; with no reachable seed, or a seed that is a plain Redis (not
# in cluster mode), nginx runs, says so in error.log, and every request
# that needs Redis gets a 503 JSON error; no worker crashes.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

# --- nginx -t ---------------------------------------------------------

{
    my $t = KefuTest->new(redis => 0, no_ssl => 1, no_start => 1);
    my $check = sub {
        $t->{redis_directive} = $_[0];
        $t->write_file('nginx.conf', $t->conf);
        return $t->nginx('-t');
    };
    for my $ok ('kefu_redis_cluster 127.0.0.1:7000;',
                'kefu_redis_cluster 127.0.0.1:7000 127.0.0.1:7001 '
                    . '[::1]:7002 timeout=150ms connect_timeout=1s '
                    . 'max_pending=100;')
    {
        my ($rc, $out) = $check->($ok);
        is($rc, 0, "accepted: $ok") or diag($out);
    }
    for my $bad (
        ['kefu_redis_cluster 127.0.0.1:7000 db=1;',
         qr/"db=" is not supported by Redis Cluster/],
        ['kefu_redis_cluster 127.0.0.1:7000; kefu_redis 127.0.0.1:6379;',
         qr/kefu_redis/],
        ['kefu_redis 127.0.0.1:6379; kefu_redis_cluster 127.0.0.1:7000;',
         qr/kefu_redis/],
        ['kefu_redis_cluster localhost:7000;', qr/not a numeric address/],
        ['kefu_redis_cluster;', qr/invalid number of arguments/],
        ['kefu_redis_cluster 127.0.0.1:7000 colour=blue;',
         qr/invalid parameter "colour/])
    {
        my ($rc, $out) = $check->($bad->[0]);
        isnt($rc, 0, "rejected: $bad->[0]");
        like($out, $bad->[1], 'with a clear message') or diag($out);
        unlike($out, qr/signal|Sanitizer/, 'no crash');
    }
}

# --- running with seeds that do not lead to a cluster ------------------

# every Redis endpoint answers 503 JSON redis_unavailable, whoami too;
# $why: what error.log must say
sub unusable {
    my ($name, $t, $why) = @_;
    my $tok = $t->token('u1');
    my @workers = FakeRedis::worker_pids($t->nginx_pid);
    my $deadline = time + 3;
    my @odd;
    while (time < $deadline) {
        for my $r ($t->post('/kefu/v1/events', token => $tok,
                            body => { events => [{ type => 'x' }] }),
                   $t->post('/kefu/v1/loss-reports', token => $tok,
                            headers => { 'Idempotency-Key' => 'k1' },
                            body => { kind => 'phone', reason => 'lost' }),
                   FakeRedis::fresh_get($t, '/kefu/v1/whoami',
                                        token => $tok))
        {
            push @odd, "$r->{status} $r->{content}"
                unless FakeRedis::is_redis_503($r);
        }
        sleep 0.2;
    }
    is_deeply(\@odd, [], "$name: every request 503 redis_unavailable");
    my $ask = $t->post('/kefu/v1/ask', token => $tok,
                       body => { question => '蚁花怎么开通' });
    is($ask->{status}, 200, "$name: /v1/ask still answers without Redis");
    like($t->error_log, $why, "$name: error.log says why");
    is_deeply([FakeRedis::worker_pids($t->nginx_pid)], \@workers,
              "$name: no worker crashed");
}

{
    my $p1 = KefuTest::free_port();
    my $p2 = KefuTest::free_port();
    my $t = KefuTest->new(redis => 0, no_ssl => 1, redis_directive =>
        "kefu_redis_cluster 127.0.0.1:$p1 127.0.0.1:$p2 timeout=300ms;");
    unusable('no reachable seed', $t, qr/\b(?:$p1|$p2)\b.*(?:refused|connect)|(?:refused|connect).*\b(?:$p1|$p2)\b/i);
}

{
    # the harness's plain redis-server as the only seed
    my $t = KefuTest->new(cluster => 0, no_ssl => 1, no_start => 1);
    $t->{redis_directive} =
        "kefu_redis_cluster 127.0.0.1:$t->{redis_port} timeout=300ms;";
    $t->start_nginx;
    unusable('seed not in cluster mode', $t, qr/cluster support disabled|not in cluster mode|cluster mode/i);
}

done_testing;
