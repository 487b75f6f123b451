# kefu_report_replicas on a Redis Cluster: concurrent loss reports of one
# user (one bucket, one master) share WAITs on the master's durable
# connection (fewer WAITs than reports, every acknowledged report on the
# master's replica); with that replica down they all answer 503
# not_replicated within about two WAIT timeouts, while the worker's other
# requests to the same master answer at once.  57 does the same with one
# Redis.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use KefuTest;
use KefuReplicas;

my $t = KefuTest->new(cluster => 1, no_ssl => 1, workers => 1,
                      redis_timeout => '2s',
                      tenant_extra => "        loss_reports_per_day 1000;\n",
                      http_extra => "    kefu_report_replicas 1 timeout=1s;\n");
my $c = $t->cluster;
my $tok = $t->token('u1');
my $master = $c->master_of(KefuTest::bkey('demo', 'u1', 'x'));
my ($replica) = $c->replicas_of($master);
ok($master && $replica, "the user's bucket: master $master, replica "
   . ($replica // '?'));

# a replica serves reads after READONLY on the same connection
sub on_replica {
    my ($key) = @_;
    my $s = KefuCluster::connect_node($replica) or return '';
    KefuCluster::send_cmd($s, 'READONLY');
    KefuCluster::read_resp($s);
    KefuCluster::send_cmd($s, 'HGET', $key, 'status');
    my $v = KefuCluster::read_resp($s);
    close $s;
    return $v // '';
}

sub wait_calls {
    my $info = $c->node_cmd($master, 'INFO', 'commandstats') // '';
    return $info =~ /cmdstat_wait:calls=(\d+)/ ? $1 : 0;
}

# the first report opens the durable connection
my $r = $t->post('/kefu/v1/loss-reports', token => $tok,
                 body => { kind => 'phone', reason => 'lost' },
                 headers => { 'Idempotency-Key' => 'first' });
is($r->{status}, 201, 'a report, acknowledged') or diag($r->{content});
my $id = $r->{json}{id};

$c->node_cmd($master, 'CONFIG', 'RESETSTAT');
my @res = $t->burst($tok, KefuReplicas::reports(12, 'up'));
is_deeply([map { $_->[0] } @res], [(201) x 12],
          '12 concurrent reports, all acknowledged')
    or diag explain \@res;
my $waits = wait_calls();
cmp_ok($waits, '<', 12, "fewer WAITs than reports ($waits)");
is_deeply([grep { on_replica(KefuTest::id_key('demo', 'lr', $_))
                  ne 'received' } map { $_->[2] } @res], [],
          'the replica has every acknowledged report');

# the replica down (no failover: it is no master)
$c->kill_node($replica);
KefuReplicas::replica_down($t, $tok, $id,
                           'reads from the same master');

done_testing();
