# kefu_report_replicas: a loss report is acknowledged only once a Redis
# replica has it (WAIT).  With the replica down the report is saved on
# the primary but answered 503 not_replicated; the retry with the same
# key, once the replica is back, finds that report (200, same id) and is
# acknowledged.  Concurrent reports share WAITs (fewer WAITs than
# reports) and, with the replica down, all answer within about two WAIT
# timeouts while the worker's other requests go on at once.  nginx -t
# refuses a WAIT timeout that the kefu_redis timeout would cut short.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use POSIX ();
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);
use KefuTest;
use KefuReplicas;

# a WAIT of a second: a replica in sync acknowledges well within it, even
# on a loaded machine (250 ms was not always enough there).  One worker:
# every request below shares its Redis connections.
my $t = KefuTest->new(no_ssl => 1, redis_timeout => '2s', workers => 1,
                      tenant_extra => "        loss_reports_per_day 1000;\n",
                      http_extra => "    kefu_report_replicas 1 timeout=1s;\n");
my $tok = $t->token('u1');
my $d = $t->{dir};
my $rport = KefuTest::free_port();

sub replica_cmd {
    my (@cmd) = @_;
    local $t->{redis_port} = $rport;
    return $t->redis_cmd(@cmd);
}

sub start_replica {
    mkdir "$d/replica";
    system('redis-server', '--port', $rport, '--bind', '127.0.0.1',
           '--dir', "$d/replica", '--daemonize', 'yes',
           '--pidfile', "$d/replica/redis.pid",
           '--logfile', "$d/replica/redis.log", '--save', '',
           '--appendonly', 'no',
           '--replicaof', '127.0.0.1', $t->{redis_port}) == 0
        or die 'replica failed';
    # in sync as the primary sees it: online, and acknowledging
    for (1 .. 400) {
        my $info = $t->redis_cmd('INFO', 'replication') // '';
        return 1 if $info =~ /slave0:.*state=online/
                    && $t->redis_cmd('WAIT', 1, 200) == 1;
        sleep 0.025;
    }
    die 'replica did not sync';
}

sub stop_replica {
    open my $fh, '<', "$d/replica/redis.pid" or return;
    my $pid = <$fh>;
    chomp $pid;
    kill 'KILL', $pid;
    for (1 .. 200) {
        last unless kill 0, $pid;
        sleep 0.025;
    }
    unlink "$d/replica/redis.pid";
}
END { stop_replica() if $d && -f "$d/replica/redis.pid" }

sub report {
    my ($key, $body) = @_;
    return $t->post('/kefu/v1/loss-reports', token => $tok,
                    body => $body || { kind => 'phone', reason => 'lost' },
                    headers => { 'Idempotency-Key' => $key });
}

start_replica();

# --- with the replica: acknowledged, and the replica has it --------------
my $r = report('k1');
is($r->{status}, 201, 'acknowledged once the replica has it')
    or diag($r->{content});
my $id = $r->{json}{id};
is(replica_cmd('HGET', KefuTest::id_key('demo', 'lr', $id), 'status'), 'received',
   'the replica has the report when the user hears 201');

# --- the replica down: saved, not acknowledged --------------------------
stop_replica();
my $t0 = time;
$r = report('k2', { kind => 'card', reason => 'stolen', card_last4 => '1234' });
my $took = time - $t0;
is($r->{status}, 503, 'no replica: 503');
is($r->{json}{error}{code}, 'not_replicated', 'not_replicated');
ok($r->{headers}{'retry-after'}, 'with Retry-After');
ok($took < 2, sprintf 'after the WAIT timeout, not longer (%.2f s)', $took);
my %idem = @{ $t->redis_cmd('HGETALL', KefuTest::okey('demo', 'lr:idem', 'u1', 'k2')) };
ok($idem{id}, 'the report is saved on the primary');

# other requests of the worker still go through while it waits
$r = $t->get('/kefu/v1/whoami', token => $tok);
is($r->{status}, 200, 'Redis still serves the worker');

# --- the replica back: the retry finds the report ------------------------
start_replica();
$r = report('k2', { kind => 'card', reason => 'stolen', card_last4 => '1234' });
is($r->{status}, 200, 'the retry with the same key: 200');
is($r->{json}{id}, $idem{id}, 'the same report');
is(replica_cmd('HGET', KefuTest::id_key('demo', 'lr', $idem{id}), 'kind'), 'card',
   'and the replica has it');
is(scalar @{ $t->redis_cmd('KEYS', 'kefu:{demo#*}:lr:idem:*') }, 2,
   'two reports in all');

# --- concurrent reports ---------------------------------------------------
sub wait_calls {
    my $info = $t->redis_cmd('INFO', 'commandstats') // '';
    return $info =~ /cmdstat_wait:calls=(\d+)/ ? $1 : 0;
}

# the replica up: one WAIT covers the reports whose scripts went before it
$t->redis_cmd('CONFIG', 'RESETSTAT');
my @res = $t->burst($tok, KefuReplicas::reports(12, 'up'));
is_deeply([map { $_->[0] } @res], [(201) x 12],
          '12 concurrent reports, all acknowledged')
    or diag explain \@res;
my $waits = wait_calls();
cmp_ok($waits, '<', 12, "fewer WAITs than reports ($waits)");
is_deeply([grep { (replica_cmd('HGET', KefuTest::id_key('demo', 'lr', $_),
                               'status') // '') ne 'received' }
           map { $_->[2] } @res], [],
          'the replica has every acknowledged report');

# the replica down: the reports share WAITs, each waits for one WAIT at
# most behind it and its own, and the worker's other requests never
# wait behind them (they used to: the same connection, WAIT after WAIT)
stop_replica();
$t->redis_cmd('CONFIG', 'RESETSTAT');
KefuReplicas::replica_down($t, $tok, $id,
                           'other requests of the worker');
note('WAITs for the 8 reports: ' . wait_calls());

# until a client of Redis is blocked (flag b) in a WAIT
sub wait_blocked {
    for (1 .. 2000) {
        return 1 if grep { /\bflags=\w*b/ && /\bcmd=wait\b/ }
                    split /\n/, $t->redis_cmd('CLIENT', 'LIST') // '';
        sleep 0.005;
    }
    return 0;
}

# clients that go away (reset) while their reports wait for the WAIT:
# its answer never reaches their requests (ASan), the others get theirs
my @conns = map {
    my $b = '{"kind":"phone","reason":"lost"}';
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{http_port}, Timeout => 10)
        or die "connect: $!";
    print $s "POST /kefu/v1/loss-reports HTTP/1.1\r\nHost: x\r\n"
        . "Authorization: Bearer $tok\r\nIdempotency-Key: gone-$_\r\n"
        . "Content-Type: application/json\r\nConnection: close\r\n"
        . "Content-Length: " . length($b) . "\r\n\r\n$b";
    $s } 1 .. 6;
ok(wait_blocked(), 'reports waiting for a WAIT');
for my $i (0, 2, 4) {
    setsockopt($conns[$i], SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $conns[$i];
}
is_deeply([map { local $/; my $resp = readline($conns[$_]) // '';
                 $resp =~ m{^HTTP/1\.1 (\d+).*"code":"(\w+)"}s
                     ? "$1 $2" : $resp } 1, 3, 5],
          [('503 not_replicated') x 3], 'the clients that stayed answered');

# a graceful quit while reports wait for their WAIT: they are answered,
# and the worker exits with its connections closed (no "open socket
# left": the harness's last check reads error.log)
my $master = $t->nginx_pid;
my $quitter = fork // die "fork: $!";
if ($quitter == 0) {
    wait_blocked();
    kill 'QUIT', $master;
    POSIX::_exit(0);
}
@res = $t->burst($tok, KefuReplicas::reports(4, 'quit'));
waitpid $quitter, 0;
is_deeply([map { "$_->[0] $_->[1]" } @res], [('503 not_replicated') x 4],
          'reports waiting for their WAIT at a graceful quit: answered');
for (1 .. 400) { last if KefuTest::gone($master); sleep 0.025 }
ok(KefuTest::gone($master), 'and nginx exited');

# --- configuration ------------------------------------------------------
for my $c (['kefu_report_replicas 1 timeout=2s;', qr/shorter than the/],
           ['kefu_report_replicas 0;', qr/1 to 16 replicas/],
           ['kefu_report_replicas 1 wait=5;', qr/timeout=T/]) {
    my ($line, $re) = @$c;
    local $t->{http_extra} = "    $line\n";
    $t->write_file('test.conf', $t->conf);
    my ($rc, $out) = $t->nginx('-t', '-c', "$d/test.conf");
    isnt($rc, 0, "nginx -t refuses: $line");
    like($out, $re, 'and says why');
}

done_testing();
