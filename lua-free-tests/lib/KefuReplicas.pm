package KefuReplicas;

# What the kefu_report_replicas tests check alike on one Redis
# (57-loss-replicas.t) and on a cluster (87-cluster-group-wait.t).
#
#   my @req = KefuReplicas::reports(8, 'down');   # for $t->burst
#   KefuReplicas::replica_down($t, $tok, $id, 'other requests of the worker');

use strict;
use warnings;

use Test::More;

# N new loss reports (keys TAG-1 .. TAG-N) as $t->burst requests
sub reports {
    my ($n, $tag) = @_;
    return map { { method => 'POST', path => '/kefu/v1/loss-reports',
                   key => "$tag-$_",
                   body => '{"kind":"phone","reason":"lost"}' } } 1 .. $n;
}

# With the replica down: 8 concurrent reports all answer not_replicated
# within about two WAIT timeouts (they share WAITs; each waits behind one
# at most), while 3 reads of report ID, sent meanwhile, answer at once.
# Returns the burst's results.
sub replica_down {
    my ($t, $tok, $id, $others) = @_;
    my @reads = map { { method => 'GET', path => "/kefu/v1/loss-reports/$id",
                        delay => 0.2 * $_ } } 1 .. 3;
    my @res = $t->burst($tok, reports(8, 'down'), @reads);
    my @rep = @res[0 .. 7];
    my @other = @res[8 .. 10];
    is_deeply([map { "$_->[0] $_->[1]" } @rep],
              [('503 not_replicated') x 8],
              '8 concurrent reports without the replica: all not_replicated')
        or diag explain \@rep;
    my ($slowest) = sort { $b <=> $a } map { $_->[3] } @rep;
    cmp_ok($slowest, '<', 3, sprintf 'all within about 2 WAIT timeouts '
           . '(slowest %.2f s), not one after the other', $slowest);
    is_deeply([map { $_->[0] } @other], [200, 200, 200],
              "$others answered meanwhile")
        or diag explain \@other;
    my ($other_max) = sort { $b <=> $a } map { $_->[3] } @other;
    cmp_ok($other_max, '<', 0.5, sprintf 'without waiting for the WAITs '
           . '(slowest %.2f s)', $other_max);
    return @res;
}

1;
