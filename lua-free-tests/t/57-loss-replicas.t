# kefu_report_replicas: a loss report is acknowledged only once a Redis
# replica has it (WAIT).  With the replica down the report is saved on
# the primary but answered 503 not_replicated; the retry with the same
# key, once the replica is back, finds that report (200, same id) and is
# acknowledged.  nginx -t refuses a WAIT timeout that the kefu_redis
# timeout would cut short.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use KefuTest;

# a WAIT of a second: a replica in sync acknowledges well within it, even
# on a loaded machine (250 ms was not always enough there)
my $t = KefuTest->new(no_ssl => 1, redis_timeout => '2s',
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
