# The tenants' counters of /v1/ask are summed per worker and written
# every kefu_stats_flush: with the default (1 s) they arrive in time and
# in far fewer script runs than turns; while Redis is down they wait for
# it; a graceful stop writes the last sums at once, even with a long
# interval; more distinct counters than the table holds are written
# early, none lost.
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep time);
use KefuTest;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];

sub asked {
    my ($t) = @_;
    return $t->redis_cmd('HGET', "kefu:{demo}:d:$day", 'asked') // 0;
}

# polls for at most $secs until asked reaches $n
sub asked_reaches {
    my ($t, $n, $secs) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) {
        return 1 if asked($t) == $n;
        sleep 0.05;
    }
    return 0;
}

sub evalsha_calls {
    my ($t) = @_;
    my $info = $t->redis_cmd('INFO', 'commandstats');
    return $info =~ /cmdstat_evalsha:calls=(\d+)/ ? $1 : 0;
}

# --- the default interval ------------------------------------------------
{
    my $t = KefuTest->new(no_ssl => 1, stats_flush => '');
    my $before = evalsha_calls($t);
    for my $i (1 .. 40) {
        my $r = $t->post('/kefu/v1/ask', token => $t->token("u$i"),
                         body => { question => '蚁花怎么开通' });
        die "ask: $r->{content}" unless $r->{status} == 200;
    }
    ok(asked_reaches($t, 40, 4), 'the 40 turns are counted within 4 s');
    my $runs = evalsha_calls($t) - $before;
    # 40 session writes, and a few sums: at most one per worker and second
    ok($runs >= 40 && $runs <= 40 + 10, "40 turns took $runs script runs");
    is($t->redis_cmd('ZSCORE', "kefu:{demo}:d:$day:q", 'paylater-open'), 40,
       'per-FAQ hits summed');
    my @hot = @{ $t->redis_cmd('KEYS', 'kefu:{demo}:hot:*') };
    is(scalar @hot, 1, 'hot key written');
    ok($t->redis_cmd('ZSCORE', $hot[0], 'paylater-open') > 0, 'hot score');
    my $ttl = $t->redis_cmd('TTL', "kefu:{demo}:d:$day");
    ok($ttl > 80 * 86400 && $ttl <= 90 * 86400, "day counters expire ($ttl)");

    # /v1/suggestions reads the hot list at that pace too: 20 requests on
    # one connection (one worker), one read of its two generations
    my $zr = sub {
        my $info = $t->redis_cmd('INFO', 'commandstats');
        return $info =~ /cmdstat_zrevrange:calls=(\d+)/ ? $1 : 0;
    };
    my $z0 = $zr->();
    my $tok = $t->token('u-sug');
    my $hot = 0;
    for (1 .. 20) {
        my $r = $t->get('/kefu/v1/suggestions', token => $tok);
        $hot++ if ($r->{json}{items}[0]{faq_id} // '') eq 'paylater-open';
    }
    is($hot, 20, 'the hot question first, every time');
    my $reads = $zr->() - $z0;
    ok($reads >= 2 && $reads <= 4,
       "hot list read once or twice for 20 requests ($reads ZREVRANGE)");
}

# --- Redis down: the sums wait -------------------------------------------
{
    my $t = KefuTest->new(no_ssl => 1, redis_down => 1);
    for my $q ('蚁花怎么开通', '今天天气怎么样', '提现多久到账') {
        my $r = $t->post('/kefu/v1/ask', token => $t->token('u1'),
                         body => { question => $q });
        is($r->{json}{session}, 'unavailable', "answered without Redis: $q");
    }
    sleep 0.3;
    $t->start_redis;
    ok(asked_reaches($t, 3, 5), 'counted once Redis is back');
    is($t->redis_cmd('HGET', "kefu:{demo}:d:$day", 'fallback'), 1,
       'the fallback too');
    # the per-user check of unanswered questions is in Redis: without
    # it the question is not added (bounded: unanswered_per_user)
    ok(!defined $t->redis_cmd('ZSCORE', "kefu:{demo}:d:$day:u",
                              '今天天气怎么样'),
       'but not its question');
}

# --- a graceful stop writes the last sums --------------------------------
{
    my $t = KefuTest->new(no_ssl => 1, stats_flush => '60s', workers => 1);
    for (1 .. 4) {
        $t->post('/kefu/v1/ask', token => $t->token('u1'),
                 body => { question => '提现多久到账' });
    }
    sleep 0.3;
    is(asked($t), 0, 'a 60 s interval has not written yet');
    my $t0 = time;
    $t->stop_nginx;
    my $took = time - $t0;
    is(asked($t), 4, 'the stop wrote the sums');
    ok($took < 3, sprintf 'and did not wait for the interval (%.2f s)', $took);
}

# --- more distinct counters than the table holds ------------------------
{
    my $t = KefuTest->new(no_ssl => 1, stats_flush => '60s', workers => 1,
        tenant_extra => "        unanswered_per_user 2000;\n"
                        . "        stats_top_max 2000;\n");
    my $tok = $t->token('u1');
    my $n = 1100;
    for my $i (1 .. $n) {
        my $r = $t->post('/kefu/v1/ask', token => $tok,
                         body => { question => "无关问题编号$i" . 'zq' x 3 });
        die "ask $i: $r->{content}" unless $r->{status} == 200;
    }
    ok(asked($t) > 0, 'a full table was written before the interval');
    $t->stop_nginx;
    is(asked($t), $n, "all $n turns counted");
    is($t->redis_cmd('ZCARD', "kefu:{demo}:d:$day:u"), $n,
       "$n distinct unanswered questions kept");
}

done_testing();
