#!/usr/bin/perl
# The local Redis Cluster of `make cluster` (lua-free-tests/lib/KefuCluster.pm):
#   tools/cluster.pl start DIR PORT   3 masters + 3 replicas on 127.0.0.1,
#                                     ports PORT..PORT+5 (bus ports +10000),
#                                     state in DIR/<port>/; a DIR that holds
#                                     a cluster already starts it again as
#                                     it was.  Prints the seeds, comma-
#                                     separated, once cluster_state is ok.
#   tools/cluster.pl stop DIR         stops every node of DIR
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lua-free-tests/lib";
use KefuCluster;

my ($what, $dir, $port) = @ARGV;
if (($what // '') eq 'start' && $dir && ($port // '') =~ /^\d+$/) {
    my $c = KefuCluster->new(dir => $dir, ports => [$port .. $port + 5],
                             appendfsync => 'always', keep => 1);
    print join(',', $c->seeds), "\n";
} elsif (($what // '') eq 'stop' && $dir) {
    KefuCluster->attach($dir)->stop;
} else {
    die "usage: $0 start DIR PORT | stop DIR\n";
}
