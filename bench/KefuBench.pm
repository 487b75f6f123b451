package KefuBench;

# What more than one bench sets up the same way.
#
#   KefuBench::trail($t, $token);   # the suggestions benches' trail

use strict;
use warnings;

use Time::HiRes qw(sleep);

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

1;
