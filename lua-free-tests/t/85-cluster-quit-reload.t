#!/usr/bin/perl

# Redis Cluster, reload and quit with commands in flight to several
# nodes (issue 11): every master is paused (CLIENT PAUSE 400 ms) while
# 30 requests of 30 users (keys on every master) wait on them; nginx -s
# reload, later nginx -s quit, meanwhile.  The requests finish with 2xx,
# the old workers exit, and error.log has no [alert] ("open socket left")
# nor crash.

use strict;
use warnings;
use utf8;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

use KefuTest;
use KefuCluster;

my $t = KefuTest->new(cluster => 1, no_ssl => 1, redis_timeout => '3s');
my $c = $t->cluster;
my %tok = map { ("u$_" => $t->token("u$_")) } 1 .. 30;
my $out = tempdir('cl-quit-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my %masters = map { $c->master_of("kefu:{demo:$_}:x") => 1 } keys %tok;
is(scalar keys %masters, 3, 'the users\' keys are on all three masters');

# one /v1/ask turn per user, in the user's session, all at once; returns
# the pids
sub clients {
    my ($tag) = @_;
    my @pids;
    for my $u (sort keys %tok) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $t0 = time;
            my $r = HTTP::Tiny->new(timeout => 10)->post(
                $t->url('/kefu/v1/ask'), { headers => {
                    Authorization => "Bearer $tok{$u}",
                    'Content-Type' => 'application/json' },
                content => JSON::PP->new->utf8->encode({
                    question => '蚁花怎么开通', session_id => 's1' }) });
            open my $fh, '>', "$out/$tag.$u";
            printf $fh "%d %.3f\n", $r->{status}, time - $t0;
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub statuses {
    my ($tag) = @_;
    my %s;
    for my $u (keys %tok) {
        open my $fh, '<', "$out/$tag.$u" or do { $s{none}++; next };
        my ($st, $took) = split ' ', <$fh> // 'none 0';
        $s{$st}++;
        $s{slowest} = $took if $took > ($s{slowest} // 0);
    }
    return \%s;
}

# every status 200, and the slowest waited on a paused master
sub served {
    my ($tag, $what) = @_;
    my $s = statuses($tag);
    my $slowest = delete $s->{slowest} // 0;
    is_deeply($s, { 200 => 30 }, "$what: in-flight requests finished"
                                 . ' with 200');
    cmp_ok($slowest, '>=', 0.3, "$what: they waited for the paused"
                                . ' masters');
}

sub pause_masters {
    $c->node_cmd($_, 'CLIENT', 'PAUSE', 400, 'ALL') for $c->masters;
}

# sessions exist (the turns below read and write them on every master)
waitpid $_, 0 for clients('warm');
is_deeply({ 200 => statuses('warm')->{200} }, { 200 => 30 },
          'served before');

# --- reload --------------------------------------------------------------

pause_masters();
my @pids = clients('reload');
sleep 0.15;
my ($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload with commands in flight on every master');
waitpid $_, 0 for @pids;
served('reload', 'reload');

# --- quit ----------------------------------------------------------------

sleep 0.5;
my $master = $t->nginx_pid;
pause_masters();
@pids = clients('quit');
sleep 0.15;
($rc) = $t->nginx('-s', 'quit');
is($rc, 0, 'quit with commands in flight on every master');
waitpid $_, 0 for @pids;
served('quit', 'quit');

my $gone;
for (1 .. 400) {
    if (!kill 0, $master) {
        $gone = 1;
        last;
    }
    sleep 0.025;
}
ok($gone, 'nginx exited after the in-flight requests');

my $log = $t->error_log;
like($log, qr/\[notice\].*: exit$/m, 'workers exited');
unlike($log, qr/open socket|\[alert\]/, 'no open socket left, no alert');

done_testing;
