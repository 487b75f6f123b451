# The counter sums of /v1/ask when their table is full and Redis refuses
# the write (connected, but max_pending commands already in flight): a
# request may not grow the worker's memory.  Each new counter used to
# build the whole write in the long-lived pool and leave it there.
use strict;
use warnings;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);
use KefuTest;
use FakeRedis;

my $fake = FakeRedis->new(mode => 'ok');
my $t = KefuTest->new(redis => 0, no_ssl => 1, workers => 1,
    stats_flush => '60s', tenants => [qw(demo other)],
    # freed memory reused at once: RSS shows what the worker keeps
    asan_options => 'quarantine_size_mb=0',
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=5s max_pending=2;');
my %tok;
$tok{$_} = $t->token('u1', tenant => $_) for qw(demo other);
ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok{demo},
                                      5, 2),
   'serving through the fake');

my $kb = JSON::PP->new->decode($t->read_file("$KefuTest::TOP/demo/kb.json"));
my @faqs = map { $_->{id} } @{ $kb->{faqs} };
cmp_ok(2 * 2 * @faqs, '>', 1024, 'more counters than the table holds');

# two commands that Redis holds: max_pending is reached, Redis stays
# connected (its watchdog waits 3 x 5 s)
$fake->set_mode('delay', delay => 60);
my @kids;
for (1 .. 2) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        FakeRedis::fresh_get($t, '/kefu/v1/whoami', token => $tok{demo});
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
sleep 0.5;
my $t0 = time;

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 1);
sub ask {
    my ($tenant, $faq) = @_;
    my $r = $http->request('POST', $t->url('/kefu/v1/ask'),
        { headers => { Authorization => "Bearer $tok{$tenant}",
                       'Content-Type' => 'application/json' },
          content => encode_json({ faq_id => $faq }) });
    return $r->{status};
}

# every FAQ answered once in both tenants: the table fills
my $ok = 0;
for my $tn (qw(demo other)) {
    $ok += ask($tn, $_) == 200 for @faqs;
}
is($ok, 2 * @faqs, 'answered without Redis (session unavailable)');

my ($w) = FakeRedis::worker_pids($t->nginx_pid);
my $rss = sub {
    open my $fh, '<', "/proc/$w/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
};
# a round to warm up (the memo, the pools), then the reference
ask('other', $_) for @faqs;
my $before = $rss->();

# now every answer of the other tenant's FAQs is a counter the full
# table has no room for: each one tried the write and kept its arguments
my $n = 0;
for my $round (1 .. 4) {
    for my $f (@faqs) {
        $n++ if ask('other', $f) == 200;
    }
}
my $after = $rss->();
my $took = time - $t0;
note("worker RSS $before KiB before, $after KiB after $n answers "
     . sprintf('(%.1f s with Redis refusing)', $took));
ok($took < 14, 'all while Redis was connected and full') or diag $took;
cmp_ok($after - $before, '<', 16 * 1024,
       'a full table with Redis refusing does not grow the worker');

$fake->set_mode('ok');
kill 'TERM', @kids;
waitpid($_, 0) for @kids;
$t->allow_log(qr/kefu_redis/);

done_testing();
