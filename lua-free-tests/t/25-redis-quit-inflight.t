#!/usr/bin/perl

# nginx -s reload and -s quit while commands are in flight (the fake
# Redis answers after 300 ms): the requests finish with 200, the old
# workers exit cleanly ("open socket left" would be an [alert]).

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX ();
use Time::HiRes qw(sleep time);

use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=2s;');
my $token = FakeRedis::token_for($t);
my $path = '/kefu/v1/whoami';
my $out = tempdir('quit-XXXXXX', TMPDIR => 1, CLEANUP => 1);

ok(defined FakeRedis::time_to_recover($t, $path, $token, 5, 4),
   'serving through the fake');

# $n clients, one request each, started now; returns their pids
sub clients {
    my ($tag, $n) = @_;
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my $r = HTTP::Tiny->new(timeout => 5)->get($t->url($path),
                { headers => { Authorization => "Bearer $token" } });
            open my $fh, '>', "$out/$tag.$i";
            print $fh "$r->{status}\n";
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub statuses {
    my ($tag, $n) = @_;
    my %s;
    for my $i (1 .. $n) {
        open my $fh, '<', "$out/$tag.$i" or do { $s{none}++; next };
        my $st = <$fh>;
        chomp $st;
        $s{$st}++;
    }
    return \%s;
}

$fake->set_mode('delay', delay => 0.3);

# --- reload ------------------------------------------------------------

my @pids = clients('reload', 20);
sleep 0.1;
my ($rc) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload with commands in flight');
FakeRedis::wait_pids(@pids);
is_deeply(statuses('reload', 20), { 200 => 20 },
          'reload: in-flight requests finished with 200');

# --- quit --------------------------------------------------------------

sleep 0.5;
my $master = $t->nginx_pid;
@pids = clients('quit', 20);
sleep 0.1;
($rc) = $t->nginx('-s', 'quit');
is($rc, 0, 'quit with commands in flight');
FakeRedis::wait_pids(@pids);
is_deeply(statuses('quit', 20), { 200 => 20 },
          'quit: in-flight requests finished with 200');

my $gone;
for (1 .. 200) {
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

my @bad = $t->bad_log_lines;
is_deeply(\@bad, [], 'no alerts, crashes or sanitizer reports');

done_testing;
