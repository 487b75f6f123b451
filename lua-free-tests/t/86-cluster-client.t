#!/usr/bin/perl

# The Redis Cluster client on its own (issue 11): a 3-master cluster on
# loopback, no replicas.  Keys of different users land on their own
# masters; a slot moved by hand is followed: ASK while it migrates
# (CLUSTER SETSLOT MIGRATING/IMPORTING + MIGRATE), MOVED once it is
# assigned; both counted per node in the metrics; health shows the
# topology; quit leaves no alert.  (The 3+3 cluster tests with failover
# and resharding under load are 81-85.)

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(sleep time);


use KefuTest;
use FakeRedis;

my $t = KefuTest->new(redis => 0, no_ssl => 1, no_start => 1, workers => 1,
                      server_extra => "        location = /metrics"
                                      . " { kefu_metrics; }\n");
my $d = $t->{dir};
my @ports = map { KefuTest::free_port() } 1 .. 3;
my %pid;

sub rc {
    my ($port, @cmd) = @_;
    my $out = `redis-cli -p $port @{[ map { "'$_'" } @cmd ]} 2>&1`;
    chomp $out;
    return $out;
}

for my $p (@ports) {
    mkdir "$d/redis/$p";
    system('redis-server', '--port', $p, '--bind', '127.0.0.1',
           '--dir', "$d/redis/$p", '--daemonize', 'yes',
           '--pidfile', "$d/redis/$p/redis.pid",
           '--logfile', "$d/redis/$p/redis.log", '--save', '',
           '--appendonly', 'no', '--cluster-enabled', 'yes',
           '--cluster-config-file', "$d/redis/$p/nodes.conf",
           '--cluster-node-timeout', '1000') == 0
        or die 'redis-server failed';
}

END {
    for my $p (@ports) {
        my $f = "$d/redis/$p/redis.pid";
        next unless $d && -f $f;
        open my $fh, '<', $f or next;
        my $pid = <$fh>;
        chomp $pid;
        kill 'KILL', $pid if $pid;
    }
}

for (1 .. 200) {
    last if !grep { rc($_, 'PING') ne 'PONG' } @ports;
    sleep 0.05;
}

my $create = join(' ', 'redis-cli --cluster create',
                  map({ "127.0.0.1:$_" } @ports),
                  '--cluster-replicas 0 --cluster-yes 2>&1');
my $out = `$create`;
ok($? == 0, 'cluster created') or diag($out);

my $ok;
for (1 .. 400) {
    $ok = !grep { rc($_, 'CLUSTER', 'INFO') !~ /cluster_state:ok/ } @ports;
    last if $ok;
    sleep 0.05;
}
ok($ok, 'cluster_state:ok on every node');

# seeds: one node is enough
$t->{redis_directive} = "kefu_redis_cluster 127.0.0.1:$ports[0] timeout=2s"
                        . " max_pending=4;";
$t->start_nginx;

sub wait_health {
    my $h;
    for (1 .. 400) {
        $h = $t->get('/kefu/v1/health')->{json} || {};
        return $h if ($h->{redis} // '') eq 'up';
        sleep 0.025;
    }
    return $h;
}

my $h = wait_health();
is($h->{redis}, 'up', 'health: up');
is($h->{redis_cluster}{masters}, 3, 'health: 3 masters');

# every user's counter on the master of its slot
my %nodes;
for my $i (1 .. 30) {
    my $r = $t->get('/kefu/v1/whoami', token => $t->token("u$i"));
    is($r->{status}, 200, "whoami u$i") or diag($r->{content});
}
for my $i (1 .. 30) {
    my $key = "kefu:{demo:u$i}:calls";
    for my $p (@ports) {
        next unless rc($p, 'EXISTS', $key) eq '1';
        $nodes{$p}++;
    }
}
is(scalar(keys %nodes), 3, 'the users\' keys are on all three masters');
my $keys = 0;
$keys += $_ for values %nodes;
is($keys, 30, 'each key once');

# --- ASK and MOVED on one user's slot ------------------------------------

my $tok = $t->token('u1');
my $key = 'kefu:{demo:u1}:calls';
my $slot = rc($ports[0], 'CLUSTER', 'KEYSLOT', $key);
my ($src) = grep { rc($_, 'EXISTS', $key) eq '1' } @ports;
my ($dst) = grep { $_ != $src } @ports;
my $src_id = rc($src, 'CLUSTER', 'MYID');
my $dst_id = rc($dst, 'CLUSTER', 'MYID');

is(rc($dst, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $src_id), 'OK',
   'importing');
is(rc($src, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $dst_id), 'OK',
   'migrating');
is(rc($src, 'MIGRATE', '127.0.0.1', $dst, $key, 0, 5000), 'OK',
   'key migrated: the source answers ASK');

my $r = $t->get('/kefu/v1/whoami', token => $tok);
is($r->{status}, 200, 'whoami during the migration (ASK)')
    or diag($r->{content});
is(($r->{json} || {})->{calls}, 2, '... counted on the new node');

# slot maps that differed from the worker's last one
sub map_changes {
    my @l = ($t->error_log =~ /kefu_redis_cluster: slot map:/g);
    return scalar @l;
}

my $before = map_changes();

for my $p (@ports) {
    rc($p, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $dst_id);
}

# the workers still map the slot to the source: MOVED
for my $n (3 .. 6) {
    $r = $t->get('/kefu/v1/whoami', token => $tok);
    is($r->{status}, 200, "whoami after the move (MOVED) $n");
    is(($r->{json} || {})->{calls}, $n, "... call $n");
}
is(rc($dst, 'GET', $key), 6, 'the counter lives on the new master');

my $m;
my $redirects = 'kefu_redis_cluster_redirects_total'
                . "\\{node=\"127.0.0.1:$src\",kind";
for (1 .. 100) {
    $m = $t->get('/metrics')->{content} // '';
    last if $m =~ /^$redirects="moved"\} [1-9]/m;
    sleep 0.05;
}
like($m, qr/^$redirects="ask"\} [1-9]/m, 'ASK counted for the source node');
# a periodic refresh (every 5 s) may have learnt the move first on a
# slow machine: then no MOVED was needed
ok($m =~ /^$redirects="moved"\} [1-9]/m || map_changes() > $before,
   'the move was learnt: MOVED counted for the source node, or a new '
   . 'map read') or diag($m);
like($m, qr/^kefu_redis_cluster_nodes 3$/m, 'metrics: 3 masters');
like($m, qr/^kefu_redis_cluster_connections_up [1-9]/m,
     'metrics: connections up');
like($m, qr/^kefu_redis_cluster_refreshes_total [1-9]/m,
     'metrics: the map was read');

# --- a keyless reply path: loss report with its own connection ------------

$r = $t->post('/kefu/v1/loss-reports', token => $tok,
              headers => { 'Idempotency-Key' => 'k-86' },
              body => { kind => 'phone', reason => 'lost' });
is($r->{status}, 201, 'loss report on the cluster') or diag($r->{content});

# --- commands waiting for a lost master count towards max_pending ---------
# u1's master killed (no replica: its slots stay unserved): with
# max_pending=4 four requests wait for it until their timeout, the others
# are refused at once instead of piling up behind it
open my $pf, '<', "$d/redis/$dst/redis.pid" or die "pid of $dst: $!";
chomp(my $victim = <$pf> // '');
kill 'KILL', $victim;
sleep 0.05 while kill 0, $victim;
unlink "$d/redis/$dst/redis.pid";
my (%n, @seen);
for (FakeRedis::concurrent_gets($t, '/kefu/v1/whoami', $tok, 10, 0.02)) {
    my ($st, $secs, $json) = @$_;
    push @seen, "$st $secs";
    $n{json}++ if $st == 503 && $json;
    $n{fast}++ if $st == 503 && $json && $secs < 1;
    $n{waited}++ if $st == 503 && $json && $secs >= 1.5;
}
is($n{json}, 10, 'u1\'s master down: every request 503 JSON')
    or diag("@seen");
is($n{waited}, 4, 'four waited for it until their timeout (max_pending=4)')
    or diag("@seen");
is($n{fast}, 6, 'the others were refused at once') or diag("@seen");

$t->stop_nginx;
my $log = $t->error_log;
unlike($log, qr/\[alert\]|\[emerg\]/, 'no alert');
like($log, qr/kefu_redis_cluster: slot map: 3 masters, 16384 of 16384/,
     'the slot map is logged');
is_deeply([$t->bad_log_lines], [], 'no crash or sanitizer report');

done_testing;
