# Durability of loss reports (Redis with appendonly yes, appendfsync
# always): Redis is SIGKILLed and restarted from its AOF.
#
# 1. 50 reports one after the other, then the kill: every acknowledged
#    report, its frozen flag and its stream entry are back, and nothing
#    else.
# 2. Reports from 8 concurrent clients while Redis is killed mid-way:
#    every acknowledged report is back; a report Redis stored but could
#    not acknowledge is found again (200, the same id) when the client
#    retries with its key; no report exists twice and none without a
#    request.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes qw(sleep time);
use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1,
    # 5 users make hundreds of reports: far past the daily quota
    tenant_extra => "        loss_reports_per_day 100000;\n");

my %tok = map { $_ => $t->token($_) } map { "d$_" } 1 .. 5;

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok{d1}, 10, 4)
    // die 'Redis not connected';

sub report {
    my ($http, $user, $key) = @_;
    my $res = $http->post($t->url('/kefu/v1/loss-reports'), {
        headers => { Authorization => "Bearer $tok{$user}",
                     'Content-Type' => 'application/json',
                     'Idempotency-Key' => $key },
        content => '{"kind":"account","reason":"fraud",'
                   . '"police_report":' . ($key =~ /7$/ ? 'true' : 'false')
                   . '}' });
    my $j = eval { $KefuTest::JSON->decode($res->{content}) };
    return ($res->{status}, ref $j eq 'HASH' ? $j->{id} : undef);
}

# all reports in Redis: id -> record
sub stored {
    my %all;
    my $cursor = 0;
    do {
        my $r = $t->redis_cmd('SCAN', $cursor, 'MATCH',
                              'kefu:{demo#*}:lr:*', 'COUNT', 1000);
        $cursor = $r->[0];
        for my $k (@{ $r->[1] }) {
            next unless $k =~ /^kefu:\{demo#\d\d\}:lr:(\d\d[0-9a-f]{32})$/;
            $all{$1} = { @{ $t->redis_cmd('HGETALL', $k) } };
        }
    } while ($cursor ne '0');
    return \%all;
}

# the ids on every bucket's stream SUFFIX, with their counts
sub stream_ids {
    my ($suffix) = @_;
    my %n;
    for my $e (@{ $t->stream_all('demo', $suffix) }) {
        my %f = @{ $e->[1] };
        $n{ $f{id} }++;
    }
    return \%n;
}

# --- 1. acknowledged one by one, then SIGKILL -------------------------

my $http = HTTP::Tiny->new(timeout => 5, keep_alive => 1);
my (%acked, %user_of);
for my $i (1 .. 50) {
    my $user = 'd' . (1 + $i % 5);
    my ($st, $id) = report($http, $user, "seq-$i");
    if ($st == 201 && $id) {
        $acked{$id} = "seq-$i";
        $user_of{$id} = $user;
    }
}
is(scalar keys %acked, 50, '50 reports acknowledged');

FakeRedis::kill_redis($t);
$t->start_redis;
ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami',
                                      $tok{d1}, 10, 2),
   'the API serves again after the restart');

my $all = stored();
my $stream = stream_ids('reports');
is(scalar keys %$all, 50, 'exactly 50 reports after the restart');
my ($missing, $bad_frozen, $bad_stream) = (0, 0, 0);
for my $id (keys %acked) {
    my $rec = $all->{$id};
    $missing++ unless $rec && $rec->{user} eq $user_of{$id}
        && $rec->{idempotency_key} eq $acked{$id};
    $bad_stream++ unless ($stream->{$id} // 0) == 1;
}
is($missing, 0, 'every acknowledged report is back, as acknowledged');
is($bad_stream, 0, 'each has exactly one stream entry');
is(scalar keys %$stream, 50, 'and the stream holds nothing else');
for my $u (keys %tok) {
    my $n = grep { $user_of{$_} eq $u } keys %acked;
    my $f = $t->redis_cmd('HGET', KefuTest::bkey('demo', $u, 'frozen'), $u);
    $bad_frozen++ unless ($f // 0) == $n;
}
is($bad_frozen, 0, 'every frozen flag is back (one count per report)');
is(scalar keys %{ stream_ids('police') },
   scalar(grep { /7$/ } values %acked), 'police stream entries are back');

# a retry after the crash finds the report, does not double it
my ($st, $id) = report($http, 'd2', 'seq-1');
is($st, 200, 'retry of an acknowledged report after the crash: 200');
is($id, (grep { $acked{$_} eq 'seq-1' } keys %acked)[0], 'same id');

# --- 2. SIGKILL while 8 clients report --------------------------------

my $dir = tempdir('lr-kill-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my @pids;
my $until = time + 2.5;
for my $c (1 .. 8) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $h = HTTP::Tiny->new(timeout => 5, keep_alive => 1);
        open my $out, '>', "$dir/c$c" or POSIX::_exit(1);
        my $i = 0;
        # bounded: at most 400 reports per client
        while (time < $until && $i < 400) {
            $i++;
            my $user = 'd' . (1 + $c % 5);
            my ($s, $rid) = report($h, $user, "load-$c-$i");
            printf $out "%s %s %d %s\n", $user, "load-$c-$i", $s,
                $rid // '-';
        }
        close $out;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
sleep 0.8;
FakeRedis::kill_redis($t);
sleep 0.4;
$t->start_redis;
waitpid $_, 0 for @pids;
ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami',
                                      $tok{d1}, 10, 2),
   'serving again');

my (%ack2, @unacked, %odd);
for my $c (1 .. 8) {
    open my $fh, '<', "$dir/c$c" or next;
    while (<$fh>) {
        my ($user, $key, $s, $rid) = split;
        if ($s == 201) {
            $ack2{$rid} = [$user, $key];
        } elsif ($s == 503 || $s == 599) {
            push @unacked, [$user, $key];
        } else {
            $odd{$s}++;
        }
    }
}
note(sprintf '%d acknowledged, %d not acknowledged during the kill',
     scalar keys %ack2, scalar @unacked);
ok(keys %ack2 > 10, 'reports were acknowledged under load');
ok(@unacked > 0, 'some were refused while Redis was down');
is_deeply(\%odd, {}, 'every answer was 201 or 503 (or a dropped connection)');

$all = stored();
my $lost = grep { !$all->{$_} } keys %ack2;
is($lost, 0, 'every acknowledged report survived the kill');

# reports nobody heard about must belong to refused requests; the retry
# with the same key finds each of them instead of making a new one
my %by_key = map { $all->{$_}{idempotency_key} => $_ } keys %$all;
is(scalar keys %by_key, scalar keys %$all, 'no key has two reports');
my %known = map { $_->[1] => 1 } values %ack2;
$known{$_} = 1 for map { "seq-$_" } 1 .. 50;
my %refused = map { $_->[1] => $_->[0] } @unacked;
my @stray = grep { !$known{ $all->{$_}{idempotency_key} } } keys %$all;
my @foreign = grep { !exists $refused{ $all->{$_}{idempotency_key} } }
    @stray;
is(scalar @foreign, 0, 'no report exists without a request');
note(scalar(@stray) . ' stored but unacknowledged (lost in the kill)');

# every refused request whose report exists, and 20 others (bounded)
my @retry = grep { $by_key{ $_->[1] } } @unacked;
push @retry, (grep { !$by_key{ $_->[1] } } @unacked)[0 .. 19];
my ($retry_bad, $found, $new) = (0, 0, 0);
for my $u (grep { defined } @retry) {
    my ($s, $rid) = report($http, $u->[0], $u->[1]);
    my $had = $by_key{ $u->[1] };
    if ($had) {
        $found++;
        $retry_bad++ unless $s == 200 && $rid eq $had;
    } else {
        $new++;
        $retry_bad++ unless $s == 201;
    }
}
is($retry_bad, 0, "retries: $found found their report, $new created it");

$all = stored();
$stream = stream_ids('reports');
is(scalar(grep { $_ != 1 } values %$stream), 0,
   'no report has two stream entries');
is(scalar keys %$stream, scalar keys %$all,
   'one stream entry per report');
my %by_key2 = map { $all->{$_}{idempotency_key} => 1 } keys %$all;
is(scalar keys %by_key2, scalar keys %$all, 'still one report per key');

done_testing();
