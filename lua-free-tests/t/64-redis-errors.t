# Redis errors that say what happened: a reply that retrying cannot fix
# (a key of the wrong type, a script error, a redirect without cluster
# support) is 500 internal_error and an [error] line naming the script
# and the key's prefix; one that passes by itself (OOM, LOADING, BUSY,
# TRYAGAIN...) is 503 + Retry-After.  A real Redis where it can produce
# the reply, FakeRedis where it cannot.
use strict;
use warnings;
use Test::More;
use KefuTest;
use FakeRedis;

my $t = KefuTest->new(no_ssl => 1);
my $tok = $t->token('u1');
my $adm = $t->token('ops', scope => 'admin');

FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
$t->redis_cmd('FLUSHALL');

sub is_500 {
    my ($r, $name) = @_;
    is($r->{status}, 500, "$name: 500");
    is(($r->{json} || {})->{error}{code}, 'internal_error',
       "$name: internal_error") or diag($r->{content});
    ok(!defined $r->{headers}{'retry-after'}, "$name: no Retry-After");
}

sub report {
    my ($key) = @_;
    return $t->post('/kefu/v1/loss-reports', token => $tok,
                    body => { kind => 'phone', reason => 'lost' },
                    headers => { 'Idempotency-Key' => $key });
}

# --- WRONGTYPE from a real Redis ----------------------------------------

$t->redis_cmd('HSET', 'kefu:{demo:u1}:calls', 'x', '1');
is_500($t->get('/kefu/v1/whoami', token => $tok), 'whoami, calls a hash');
like($t->error_log,
     qr/\[error\].*kefu: INCR of calls on "kefu:\{demo:\.\.\.\}:calls" failed, not retryable.*WRONGTYPE/,
     'logged with the command and the key prefix, no user id');
$t->redis_cmd('DEL', 'kefu:{demo:u1}:calls');
is($t->get('/kefu/v1/whoami', token => $tok)->{status}, 200,
   'whoami again once the key is right');
# the counter of a user's calls does not live forever
my $ttl;
for (1 .. 100) {
    $ttl = $t->redis_cmd('TTL', 'kefu:{demo:u1}:calls');
    last if $ttl > 0;
    select undef, undef, undef, 0.05;
}
ok($ttl > 29 * 86400 && $ttl <= 30 * 86400, "calls counter TTL 30 days ($ttl)");

# the script's first command fails: nothing is written
$t->redis_cmd('SET', KefuTest::okey('demo', 'lr:idem', 'u1', 'wt-1'),
              'not a hash');
is_500(report('wt-1'), 'loss report, idempotency record a string');
like($t->error_log,
     qr/\[error\].*script loss_report_create on "kefu:\{demo#\d\d\}:lr" failed.*WRONGTYPE/,
     'logged with the script name');
is($t->redis_cmd('EXISTS', KefuTest::bkey('demo', 'u1', 'reports')), 0,
   'no stream entry');

my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
$t->redis_cmd('SET', "kefu:{demo}:d:$day", 'x');
is_500($t->get('/kefu/v1/admin/stats?days=1', token => $adm),
       'stats, a day hash a string');
$t->redis_cmd('DEL', "kefu:{demo}:d:$day");

# /v1/ask answers without its session, and says why in the log
$t->redis_cmd('HSET', 'kefu:{demo:u1}:s:wrongtype', 'x', '1');
my $a = $t->post('/kefu/v1/ask', token => $tok,
                 body => { question => '怎么还款', session_id => 'wrongtype' });
is($a->{status}, 200, 'ask with a session key of the wrong type: 200');
is($a->{json}{session}, 'unavailable', 'single-turn');
like($t->error_log,
     qr/\[error\].*reading a session on "kefu:\{demo:\.\.\.\}:s" failed, not retryable.*WRONGTYPE/,
     'and the error is logged');

# --- OOM from a real Redis: 503, the report can be retried --------------

$t->redis_cmd('CONFIG', 'SET', 'maxmemory', '1');
my $r = report('oom-1');
ok(FakeRedis::is_redis_503($r), 'over maxmemory: 503 + Retry-After')
    or diag("$r->{status} $r->{content}");
$t->redis_cmd('CONFIG', 'SET', 'maxmemory', '0');
is(report('oom-1')->{status}, 201, 'the retry makes the report');

# --- replies a single Redis does not send: FakeRedis ---------------------

my $fake = FakeRedis->new(mode => 'ok');
my $f = KefuTest->new(redis => 0, no_ssl => 1, workers => 1,
    redis_directive => 'kefu_redis 127.0.0.1:' . $fake->port
                       . ' timeout=300ms;');
my $ftok = FakeRedis::token_for($f);
ok(defined FakeRedis::time_to_recover($f, '/kefu/v1/whoami', $ftok, 5, 2),
   'serving through the fake');

my %expect = (
    'MOVED 3999 127.0.0.1:6381' => 500,
    'ASK 3999 127.0.0.1:6381' => 500,
    'ERR Error running script (call to f_0123): @user_script:1: bug' => 500,
    'WRONGTYPE Operation against a key holding the wrong kind of value'
        => 500,
    'NOPERM this user has no permissions' => 500,
    'LOADING Redis is loading the dataset in memory' => 503,
    'BUSY Redis is busy running a script.' => 503,
    'TRYAGAIN Multiple keys request during rehashing of slot' => 503,
    'CLUSTERDOWN The cluster is down' => 503,
    'MASTERDOWN Link with MASTER is down' => 503,
    'READONLY You can\'t write against a read only replica.' => 503,
    'OOM command not allowed when used memory > \'maxmemory\'.' => 503,
    'NOSCRIPT No matching script.' => 503,
    'LOADINGX not a known prefix' => 500,
);
for my $e (sort keys %expect) {
    $fake->set_mode('error', error => $e);
    my $res = FakeRedis::fresh_get($f, '/kefu/v1/whoami', token => $ftok);
    my ($word) = $e =~ /^(\S+)/;
    if ($expect{$e} == 503) {
        ok(FakeRedis::is_redis_503($res), "$word: 503 + Retry-After")
            or diag("$res->{status} $res->{content}");
    } else {
        is_500($res, $word);
    }
}
like($f->error_log, qr/\[error\].*INCR of calls.*not retryable.*MOVED 3999/,
     'MOVED logged as an error');
like($f->error_log, qr/\[warn\].*INCR of calls failed, Redis is busy.*LOADING/,
     'LOADING logged as a warning');
$fake->set_mode('ok');

done_testing();
