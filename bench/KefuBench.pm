package KefuBench;

# What more than one bench sets up the same way.
#
#   KefuBench::trail($t, $token);   # the suggestions benches' trail
#   KefuBench::replica($t);         # a replica of $t's Redis, in sync
#   KefuBench::tokens_file($t, $f, 40, "bench-user-");  # for KEFU_TOKENS

use strict;
use warnings;

use Time::HiRes qw(sleep);

use KefuMixed;

# A 200-event trail over the last 3 hours for the token's user, in two
# batches of /v1/events: 5 topics and events shared between them.  Waits
# for the workers to connect to Redis after start-up.
sub trail {
    my ($t, $token) = @_;
    my $now = time;
    my @shared = qw(transfer_failed bill_due payment_failed coupon_expiring
                    limit_reached app_crash refund_requested withdraw_pending);
    for my $b (0 .. 1) {
        my @ev;
        for my $i (0 .. 99) {
            my $k = $b * 100 + $i;
            my $type = $k % 4 == 0 ? $shared[$k % @shared]
                     : sprintf("t%03d_e%d", ($k * 13) % 5 * 17, $k % 4);
            push @ev, { type => $type, ts => $now - 10800 + $k * 54,
                        attrs => { amount => $k, channel => "app" } };
        }
        my $r;
        for (1 .. 400) {
            $r = $t->post("/kefu/v1/events", token => $token,
                          body => { events => \@ev });
            last if $r->{status} == 202;
            sleep 0.025;
        }
        die "bench: /v1/events: $r->{status} $r->{content}\n"
            unless $r->{status} == 202;
    }
}

# A replica of the harness's Redis, in sync as the primary sees it; gone
# with the process.  Its AOF as APPENDFSYNC says (appendfsync => undef:
# none).
my @replicas;
sub replica {
    my ($t, %o) = @_;
    my $fsync = exists $o{appendfsync} ? $o{appendfsync} : $ENV{APPENDFSYNC};
    my $port = KefuTest::free_port();
    my $dir = "$t->{dir}/replica";
    mkdir $dir;
    system("redis-server", "--port", $port, "--bind", "127.0.0.1",
           "--dir", $dir, "--daemonize", "yes",
           "--pidfile", "$dir/redis.pid", "--logfile", "$dir/redis.log",
           "--save", "",
           $fsync ? ("--appendonly", "yes", "--appendfsync", $fsync)
                  : ("--appendonly", "no"),
           "--replicaof", "127.0.0.1", $t->{redis_port}) == 0
        or die "bench: the replica did not start\n";
    push @replicas, "$dir/redis.pid";
    for (1 .. 400) {
        return $port
            if ($t->redis_cmd("INFO", "replication") // "")
               =~ /slave0:.*state=online/
               && $t->redis_cmd("WAIT", 1, 200) == 1;
        sleep 0.025;
    }
    die "bench: the replica did not sync\n";
}
END {
    for my $f (@replicas) {
        open my $fh, "<", $f or next;
        chomp(my $pid = <$fh> // "");
        kill "KILL", $pid if $pid;
    }
}

# N users' tokens of the first tenant (PREFIX1 ..), one a line in FILE,
# for KEFU_TOKENS
sub tokens_file {
    my ($t, $file, $n, $prefix) = @_;
    my $tok = KefuMixed::tokens($t, $n, $prefix);
    open my $fh, ">", $file or die "$file: $!";
    print $fh "$tok->{$_}\n" for sort keys %$tok;
    close $fh;
    return $file;
}

1;
