# The harness' own guard: error.log lines that fail a test are found, and
# only expected ones can be let through.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep);
use KefuTest;

my $t = KefuTest->new(workers => 1);
is_deeply([$t->bad_log_lines], [], 'fresh server: clean');

open my $fh, '>>', $t->dir . '/logs/error.log' or die $!;
print $fh "2030/01/01 00:00:00 [alert] 1#1: injected by 62-harness.t\n";
close $fh;
is(scalar(grep { /injected/ } $t->bad_log_lines), 1, '[alert] is bad');

# a worker killed by a signal is noticed
my @before = $t->bad_log_lines;
my $master = $t->nginx_pid;
my $worker;
for my $stat (glob '/proc/[0-9]*/stat') {
    open my $s, '<', $stat or next;
    my ($pid, $ppid) = (<$s> // '') =~ /^(\d+) \(.*\) \S (\d+)/ or next;
    $worker = $pid if $ppid == $master;
}
ok($worker, 'found the worker');
kill 'KILL', $worker;
my @bad;
for (1 .. 200) {
    @bad = grep { /exited on signal 9/ } $t->bad_log_lines;
    last if @bad;
    sleep 0.025;
}
is(scalar @bad, 1, 'worker exit by signal is bad');

$t->allow_log(qr/injected by 62-harness/, qr/exited on signal 9/);
is_deeply([$t->bad_log_lines], [], 'expected lines let through');
is($t->get('/kefu/v1/health')->{status}, 200, 'respawned worker serves');

done_testing();
