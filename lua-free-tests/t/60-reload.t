# Knowledge-base updates under load: `nginx -s reload` several times while
# clients ask without pause: no request fails, the new answer shows after
# each reload, old workers exit; a broken KB is refused and the old one
# keeps serving.
use strict;
use warnings;
use utf8;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use KefuTest;

my $json = JSON::PP->new->utf8->canonical;
my $demo = do {
    open my $fh, '<', "$KefuTest::TOP/demo/kb.json" or die $!;
    local $/;
    $json->decode(<$fh>);
};

# the demo KB with a marker in the answer of repay-how and in the version
sub kb_version {
    my ($n) = @_;
    my %kb = %$demo;
    $kb{version} = "reload-$n";
    $kb{faqs} = [map {
        $_->{id} eq 'repay-how' ? { %$_, answer => "[v$n] $_->{answer}",
                                    answers => undef } : $_
    } @{ $demo->{faqs} }];
    delete $_->{answers} for grep { !defined $_->{answers} } @{ $kb{faqs} };
    return $json->encode(\%kb);
}

my $t = KefuTest->new(no_start => 1, workers => 2);
my $kb = $t->write_file('kb.json', kb_version(0));
$t->{kb} = $kb;
$t->start_nginx;
my $tok = $t->token('load');
my $master = $t->nginx_pid;

sub marker {
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 10)->request(
        'POST', $t->url('/kefu/v1/ask'),
        { headers => { Authorization => "Bearer $tok",
                       'Content-Type' => 'application/json' },
          content => '{"faq_id":"repay-how"}' });
    my $j = eval { $json->decode($res->{content}) } || {};
    return ($res->{status}, ($j->{text} // '') =~ /^\[v(\d+)\]/ ? $1 : -1);
}

is((marker())[1], 0, 'version 0 served');

# the load: clients on fresh connections until the stop file appears
my $stop = $t->dir . '/stop';
my @kids;
for my $c (1 .. 4) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($ok, $bad, %seen, @why) = (0, 0);
        my $deadline = time + 30;                   # bounded, whatever
        while (!-e $stop && time < $deadline) {
            my ($status, $v) = marker();
            if ($status == 200 && $v >= 0) {
                $ok++;
                $seen{$v}++;
            } else {
                $bad++;
                push @why, "status $status marker $v" if @why < 5;
            }
        }
        open my $fh, '>', $t->dir . "/client-$c" or exit 1;
        print $fh $json->encode({ ok => $ok, bad => $bad, seen => \%seen,
                                  why => \@why });
        close $fh;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}

sleep 0.5;

for my $n (1 .. 3) {
    $t->write_file('kb.json', kb_version($n));
    my ($rc, $out) = $t->nginx('-s', 'reload');
    is($rc, 0, "reload $n accepted") or diag $out;
    my $v = -1;
    for (1 .. 200) {
        (undef, $v) = marker();
        last if $v == $n;
        sleep 0.025;
    }
    is($v, $n, "answer of KB version $n visible after reload $n");
    sleep 0.4;
}

# a broken KB: the reload is refused and version 3 keeps being served
$t->write_file('kb.json', '{"version":"broken","faqs":[{"id":"x"');
my ($rc, $out) = $t->nginx('-s', 'reload');
isnt($rc, 0, 'nginx -s reload refuses a broken KB');
like($out, qr/\Q$kb\E/, 'the message names the KB file');

# the master itself, sent HUP, refuses the new configuration too
$t->allow_log(qr/\[emerg\].*\Q$kb\E/);
kill 'HUP', $master;
my $log = '';
for (1 .. 200) {
    $log = $t->error_log;
    last if $log =~ /\[emerg\].*\Q$kb\E/;
    sleep 0.025;
}
like($log, qr/\[emerg\].*\Q$kb\E/, 'master logs the broken KB file');
sleep 0.5;
is((marker())[1], 3, 'old configuration keeps serving');

open my $fh, '>', $stop or die $!;
close $fh;
my ($ok, $bad, %seen) = (0, 0);
waitpid($_, 0) for @kids;
for my $c (1 .. 4) {
    my $r = eval { $json->decode($t->read_file("client-$c")) }
        or do { fail("client $c reported"); next };
    $ok += $r->{ok};
    $bad += $r->{bad};
    $seen{$_} += $r->{seen}{$_} for keys %{ $r->{seen} };
    diag "client $c: @{ $r->{why} }" if $r->{bad};
}
cmp_ok($ok, '>', 50, "load ran ($ok requests)");
is($bad, 0, 'no failed request during the reloads');
is(scalar(grep { $seen{$_} } 0 .. 3), 4, 'clients saw every KB version')
    or diag explain \%seen;

# old workers exit: only the new generation is left
sub workers {
    my @w;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my $line = <$s> // next;
        my ($pid, $state, $ppid) = $line =~ /^(\d+) \(.*\) (\S) (\d+)/
            or next;
        next if $ppid != $master || $state eq 'Z';
        open my $c, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$c> // '';
        push @w, $cmd if $cmd =~ /worker process/;
    }
    return @w;
}
my @w;
for (1 .. 200) {
    @w = workers();
    last if @w == 2 && !grep { /shutting down/ } @w;
    sleep 0.05;
}
is(scalar @w, 2, 'old workers exited: two workers left') or diag "@w";
ok(!grep({ /shutting down/ } @w), 'none shutting down');
is($t->nginx_pid, $master, 'same master');

done_testing();
