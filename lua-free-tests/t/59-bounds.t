# What one user (or all of them) can make the module keep in Redis is
# bounded: the day's unanswered and top-question sets (stats_top_max,
# unanswered_per_user), the agents and feedback streams (stream_max,
# never past what a consumer group has not acknowledged), the waiting
# tickets of a user (handoff_per_user).
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep time);
use KefuTest;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1,
    tenant_extra => "        stats_top_max 50;\n"
                    . "        unanswered_per_user 20;\n"
                    . "        stream_max 40;\n"
                    . "        handoff_per_user 3;\n");

my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
my $ukey = "kefu:{demo}:d:$day:u";

sub ask {
    my ($user, $q, $sid) = @_;
    my $r = $t->post('/kefu/v1/ask', token => $t->token($user),
                     body => { question => $q,
                               defined $sid ? (session_id => $sid) : () });
    return $r->{json};
}

# the sums reach Redis every kefu_stats_flush (10 ms here): wait for the
# day's asked counter to reach n
sub flushed {
    my ($n) = @_;
    my $t0 = time;
    while (time - $t0 < 20) {
        my $a = $t->redis_cmd('HGET', "kefu:{demo}:d:$day", 'asked') // 0;
        return 1 if $a >= $n;
        sleep 0.05;
    }
    return 0;
}

# --- one user: once per question, at most unanswered_per_user a day ------

my $asked = 0;
for my $i (1 .. 30) {
    my $j = ask('flood', "毫无关系的问题编号$i" . 'qz' x 2);
    $asked++;
    is($j->{type}, 'fallback', "question $i is not answered") if $i == 1;
}
for (1 .. 3) {
    ask('flood', '毫无关系的问题编号1qzqz');
    $asked++;
}
ok(flushed($asked), 'counters written');
is($t->redis_cmd('ZCARD', $ukey), 20,
   'one user added 20 of 31 distinct questions (unanswered_per_user)');
is($t->redis_cmd('ZSCORE', $ukey, '毫无关系的问题编号1qzqz'), 1,
   'and a question asked four times counts once');
is($t->redis_cmd('SCARD', "kefu:{demo:flood}:uq:$day"), 20,
   "the user's set of today's questions");
my $ttl = $t->redis_cmd('TTL', "kefu:{demo:flood}:uq:$day");
ok($ttl > 86400 && $ttl <= 172800, "which expires ($ttl s)");

# --- many users: the day's set keeps the stats_top_max highest ------------

for my $u (1 .. 6) {
    ask("u$u", '有人都问的问题xyz');
    $asked++;
    for my $i (1 .. 10) {
        ask("u$u", "用户${u}的问题$i" . 'wq' x 2);
        $asked++;
    }
}
ok(flushed($asked), 'counters written');
is($t->redis_cmd('ZCARD', $ukey), 50, 'the day keeps 50 questions');
is($t->redis_cmd('ZSCORE', $ukey, '有人都问的问题xyz'), 6,
   'the one six users asked stays, counted six times');

# --- tickets: handoff_per_user ----------------------------------------------

my @s = map { ask('tk', '今天天气怎么样')->{session_id} } 1 .. 4;
my @st = map {
    $t->post('/kefu/v1/handoff', token => $t->token('tk'),
             body => { session_id => $_ })->{status}
} @s;
is_deeply([@st[0 .. 2]], [201, 201, 201], 'three tickets');
my $r = $t->post('/kefu/v1/handoff', token => $t->token('tk'),
                 body => { session_id => $s[3] });
is($r->{status}, 429, 'a fourth waiting ticket: 429');
is($r->{json}{error}{code}, 'too_many_tickets', 'too_many_tickets');
is($t->post('/kefu/v1/handoff', token => $t->token('tk'),
            body => { session_id => $s[0] })->{status}, 200,
   'asking again for a waiting one still answers it');
# the desk takes one: room for one more
$t->pop_ticket('demo');
is($t->post('/kefu/v1/handoff', token => $t->token('tk'),
            body => { session_id => $s[3] })->{status}, 201,
   'once the desk took one, a new one');

# --- loss reports: loss_reports_per_day (10) per user -----------------------

sub report {
    my ($key) = @_;
    return $t->post('/kefu/v1/loss-reports', token => $t->token('lr'),
                    body => { kind => 'phone', reason => 'lost' },
                    headers => { 'Idempotency-Key' => $key });
}
my @lr = map { report("q$_")->{status} } 1 .. 10;
is_deeply(\@lr, [(201) x 10], 'ten reports a day');
$r = report('q11');
is($r->{status}, 429, 'the eleventh: 429');
is($r->{json}{error}{code}, 'too_many_reports', 'too_many_reports');
is(report('q3')->{status}, 200, 'a retry of one made is still answered');
is($t->redis_cmd('XLEN', KefuTest::bkey('demo', 'lr', 'reports')), 10,
   'ten on the stream');
$ttl = $t->redis_cmd('TTL', KefuTest::okey('demo', "lr:n:$day", 'lr'));
ok($ttl > 0 && $ttl <= 172800, "the day's count expires ($ttl s)");

# --- the agents stream: trimmed, never past a consumer group ---------------

# one bucket's stream: users of bucket 00 only
my $stream = 'kefu:{demo#00}:agents';
$t->redis_cmd('XGROUP', 'CREATE', $stream, 'desk', '0', 'MKSTREAM');

sub tickets {
    my ($n, $tag) = @_;
    my @users = grep { KefuTest::bucket($_) eq "00" }
                map { "$tag$_" } 1 .. 50 * $n;
    for my $u (@users[0 .. $n - 1]) {
        my $sid = ask($u, '今天天气怎么样')->{session_id};
        my $res = $t->post('/kefu/v1/handoff', token => $t->token($u),
                           body => { session_id => $sid });
        die "handoff: $res->{status}" unless $res->{status} == 201;
    }
}

tickets(30, 'a');
my $len0 = $t->redis_cmd('XLEN', $stream);
# the desk reads 20 and acknowledges 10 of them
my $read = $t->redis_cmd('XREADGROUP', 'GROUP', 'desk', 'w1', 'COUNT', '20',
                         'STREAMS', $stream, '>');
my @ids = map { $_->[0] } @{ $read->[0][1] };
is(scalar @ids, 20, 'the desk read 20 entries');
$t->redis_cmd('XACK', $stream, 'desk', @ids[0 .. 9]);

tickets(60, 'b');
my $all = $t->redis_cmd('XRANGE', $stream, '-', '+');
my %have = map { $_->[0] => 1 } @$all;
ok(!grep({ $have{$_} } @ids[0 .. 9]),
   'acknowledged entries left the stream past stream_max');
ok(!grep({ !$have{$_} } @ids[10 .. 19]), 'pending (unacknowledged) stay');
is(scalar @$all, $len0 + 60 - 10, 'unread entries all stay')
    or diag("length " . scalar @$all);

# every entry read and acknowledged: the stream goes back near its cap
$read = $t->redis_cmd('XREADGROUP', 'GROUP', 'desk', 'w1', 'COUNT', '1000',
                      'STREAMS', $stream, '>');
$t->redis_cmd('XACK', $stream, 'desk', @ids[10 .. 19],
              map { $_->[0] } @{ $read->[0][1] });
tickets(64, 'c');
cmp_ok($t->redis_cmd('XLEN', $stream), '<=', 40 + 64,
       'once acknowledged, they go');

# a stream without a consumer group is cut near stream_max
$t->redis_cmd('XGROUP', 'DESTROY', $stream, 'desk');
tickets(70, 'd');
cmp_ok($t->redis_cmd('XLEN', $stream), '<=', 40 + 64 + 100,
       'without a group: about stream_max (MAXLEN ~)');

done_testing();
