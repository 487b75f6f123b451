# The service flows without Redis: down from the start, then stalled
# (SIGSTOP) with requests in flight.  Every answer is a 503 JSON error
# with Retry-After; a report the stalled Redis wrote anyway is complete
# (record, frozen flag, idempotency record, stream entry) and a retry
# with the same key returns it instead of making a second one.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use KefuTest;
use FakeRedis;

sub is_503 {
    my ($res, $name) = @_;
    ok(FakeRedis::is_redis_503($res), "$name: 503 redis_unavailable with "
       . 'Retry-After') or diag("$res->{status} $res->{content}");
}

my $id0 = '00' . ('a' x 32);

# --- Redis down from the start ----------------------------------------

{
    my $t = KefuTest->new(no_ssl => 1, redis_down => 1);
    my $tok = $t->token('u1');
    my $adm = $t->token('ops', scope => 'admin');

    is_503($t->post('/kefu/v1/loss-reports', token => $tok,
                    body => { kind => 'phone', reason => 'lost' },
                    headers => { 'Idempotency-Key' => 'k1' }),
           'loss report');
    is_503($t->get("/kefu/v1/loss-reports/$id0", token => $tok),
           'read a report');
    is_503($t->post("/kefu/v1/admin/loss-reports/$id0", token => $adm,
                    body => { status => 'closed' }), 'change a report');
    is_503($t->post('/kefu/v1/handoff', token => $tok,
                    body => { session_id => 's1' }), 'handoff');
    is_503($t->post('/kefu/v1/feedback', token => $tok,
                    body => { session_id => 's1', turn => 1,
                              helpful => JSON::PP::true }), 'feedback');
    is_503($t->get('/kefu/v1/admin/stats', token => $adm), 'stats');

    # bad input is still refused as such, before any Redis call
    my $r = $t->post('/kefu/v1/loss-reports', token => $tok,
                     body => { kind => 'phone', reason => 'lost' });
    is($r->{status}, 400, 'no key: 400 even without Redis');
}

# --- Redis stalls with requests in flight -----------------------------

my $t = KefuTest->new(no_ssl => 1);
my $tok = $t->token('u1');
my $adm = $t->token('ops', scope => 'admin');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
my $ask = $t->post('/kefu/v1/ask', token => $tok,
                   body => { question => '蚁花怎么开通' })->{json};
ok($ask->{session_id}, 'a session before the stall');

sub report {
    my ($key) = @_;
    return $t->post('/kefu/v1/loss-reports', token => $tok,
                    body => { kind => 'account', reason => 'stolen' },
                    headers => { 'Idempotency-Key' => $key });
}

my $pid = $t->redis_pid;
kill 'STOP', $pid;
my $t0 = time;
is_503(report('stall-1'), 'loss report while Redis stalls');
my $took = time - $t0;
ok($took < 2, sprintf 'answered within the timeout (%.2f s)', $took);
is_503($t->post('/kefu/v1/handoff', token => $tok,
                body => { session_id => $ask->{session_id} }),
       'handoff while Redis stalls');
is_503($t->post('/kefu/v1/feedback', token => $tok,
                body => { session_id => $ask->{session_id}, turn => 1,
                          helpful => JSON::PP::true }),
       'feedback while Redis stalls');
is_503($t->get('/kefu/v1/admin/stats', token => $adm),
       'stats while Redis stalls');
kill 'CONT', $pid;

ok(defined FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 2),
   'serving again after the stall');

# whatever Redis did with the stalled script, it did all of it or none
my $keys = $t->redis_cmd('KEYS', 'kefu:{demo#*}:lr:*');
my @reports = grep { /:lr:\d\d[0-9a-f]{32}$/ } @$keys;
ok(@reports <= 1, 'at most one report for the stalled request');
my $stream = $t->stream_all('demo', 'reports');
is(scalar @$stream, scalar @reports, 'a stream entry per stored report');
is(scalar(grep { /:lr:idem:/ } @$keys), scalar @reports,
   'an idempotency record per stored report');
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1') // 0,
   scalar @reports, 'a frozen count per stored report');
note(@reports ? 'the stalled report was written after all'
              : 'the stalled report was not written');

my $r = report('stall-1');
ok($r->{status} == 201 || $r->{status} == 200,
   'the retry with the same key succeeds');
if (@reports) {
    is($r->{status}, 200, 'as the replay of the stored report');
    like($reports[0], qr/$r->{json}{id}$/, 'the same id');
}
$keys = $t->redis_cmd('KEYS', 'kefu:{demo#*}:lr:*');
is(scalar(grep { /:lr:\d\d[0-9a-f]{32}$/ } @$keys), 1,
   'exactly one report for the key');
is(scalar @{ $t->stream_all('demo', 'reports') }, 1,
   'exactly one stream entry');

# the flows work again
$r = $t->post('/kefu/v1/handoff', token => $tok,
              body => { session_id => $ask->{session_id} });
is($r->{status}, 201, 'handoff after the stall');
$r = $t->post('/kefu/v1/feedback', token => $tok,
              body => { session_id => $ask->{session_id}, turn => 1,
                        helpful => JSON::PP::true });
is($r->{status}, 204, 'feedback after the stall');
is($t->get('/kefu/v1/admin/stats', token => $adm)->{status}, 200,
   'stats after the stall');

done_testing();
