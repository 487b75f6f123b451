# The same Idempotency-Key from 20 clients at once (2 workers, separate
# connections, released together): exactly one report and one stream
# entry; one client hears 201, the others the replay (200) of the same
# report, or 409 had one arrived while the first was still being
# written.  A second round with 20 different bodies under one key: one
# report, the rest 200 (same body) or 422 (other body).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1, workers => 2);
my $tok = $t->token('racer');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
my $dir = tempdir('lr-race-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Each child connects, sends all but the last byte, waits for the start
# signal (a file), then sends the last byte: the requests reach nginx
# within a millisecond or so of each other.
sub race {
    my ($round, $body_of) = @_;
    my $go = "$dir/go-$round";
    my @pids;
    for my $c (1 .. 20) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $b = $body_of->($c);
            my $req = "POST /kefu/v1/loss-reports HTTP/1.1\r\nHost: x\r\n"
                . "Authorization: Bearer $tok\r\n"
                . "Content-Type: application/json\r\n"
                . "Idempotency-Key: same-key-$round\r\n"
                . "Connection: close\r\n"
                . "Content-Length: " . length($b) . "\r\n\r\n$b";
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $t->{http_port},
                                          Timeout => 10)
                or POSIX::_exit(2);
            syswrite $s, substr($req, 0, -1);
            for (1 .. 2000) { last if -e $go; sleep 0.002 }
            syswrite $s, substr($req, -1);
            local $/;
            my $resp = <$s> // '';
            my ($st) = $resp =~ m{^HTTP/1\.1 (\d+)};
            my ($id) = $resp =~ /"id":"([0-9a-f]+)"/;
            my $rep = $resp =~ /^Idempotent-Replayed: true/mi ? 1 : 0;
            open my $out, '>', "$dir/r-$round-$c" or POSIX::_exit(1);
            print $out join(' ', $st // 0, $id // '-', $rep), "\n";
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    sleep 0.3;
    open my $fh, '>', $go or die;
    close $fh;
    waitpid $_, 0 for @pids;
    my @res;
    for my $c (1 .. 20) {
        open my $in, '<', "$dir/r-$round-$c" or next;
        my $line = <$in>;
        push @res, [split ' ', $line];
    }
    return @res;
}

sub reports_in_redis {
    my $keys = $t->redis_cmd('KEYS', 'kefu:{demo#*}:lr:*');
    return grep { /:lr:\d\d[0-9a-f]{32}$/ } @$keys;
}

# --- round 1: 20 identical requests -----------------------------------

my @res = race(1, sub { '{"kind":"phone","reason":"stolen"}' });
is(scalar @res, 20, '20 answers');
my %st;
$st{ $_->[0] }++ for @res;
is($st{201}, 1, 'exactly one 201') or diag explain \%st;
is(($st{200} // 0) + ($st{409} // 0), 19, 'the others 200 or 409')
    or diag explain \%st;
my ($created) = map { $_->[1] } grep { $_->[0] == 201 } @res;
my @replays = grep { $_->[0] == 200 } @res;
is(scalar(grep { $_->[1] eq $created && $_->[2] } @replays),
   scalar @replays, 'every 200 is a marked replay of the same report');

my @lr = reports_in_redis();
is(scalar @lr, 1, 'one report in Redis');
is(scalar @{ $t->stream_all('demo', 'reports') }, 1,
   'one stream entry');
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'racer', 'frozen'),
                 'racer'), 1,
   'frozen counted once');

# --- round 2: 20 bodies, one key --------------------------------------

@res = race(2, sub {
    my ($c) = @_;
    return $c % 2 ? '{"kind":"account","reason":"fraud"}'
                  : '{"kind":"account","reason":"lost"}';
});
%st = ();
$st{ $_->[0] }++ for @res;
is($st{201}, 1, 'one 201') or diag explain \%st;
is(($st{200} // 0) + ($st{422} // 0) + ($st{409} // 0), 19,
   'the others 200 (same body) or 422 (other body)')
    or diag explain \%st;
ok(($st{422} // 0) >= 9, 'the other body is refused every time');
is(scalar(reports_in_redis()), 2, 'one more report in Redis');
is(scalar @{ $t->stream_all('demo', 'reports') }, 2,
   'one more stream entry');

done_testing();
