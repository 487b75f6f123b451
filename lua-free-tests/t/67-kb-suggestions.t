# The trainer's suggestions (active learning): proposals for the period's
# unanswered and clarified questions ranked as /v1/admin/search ranks
# them; implicit feedback (a clarify choice or a related question tapped
# right after a question) proposed first once enough distinct users made
# the same tap; dismiss; tenants isolated; admin only; bad input; Redis
# down.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1);
my $adm = $t->token('trainer', scope => 'admin');
my $tok = $t->token('u0');

FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';

my @d = gmtime;
my $today = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];

sub ask {
    my ($user, $body) = @_;
    my $r = $t->post('/kefu/v1/ask', token => $t->token($user),
                     body => $body);
    die "ask: $r->{content}" unless $r->{status} == 200;
    return $r->{json};
}

sub sugg {
    my ($q, %o) = @_;
    return $t->get('/kefu/v1/admin/kb/suggestions' . ($q // ''),
                   token => $o{token} || $adm);
}

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

# wait (generously) until the workers' sums reached Redis
sub until_ok {
    my ($what, $cond) = @_;
    for (1 .. 100) {
        my $r = sugg('?days=1&top=50');
        return $r if $r->{status} == 200 && $cond->($r->{json});
        sleep 0.1;
    }
    fail("in time: $what");
    return sugg('?days=1&top=50');
}

sub item_of {
    my ($j, $q) = @_;
    my @i = grep { $_->{question} eq $q } @{ $j->{items} };
    return $i[0];
}

my $r = sugg('?days=1');
is($r->{status}, 200, 'an empty tenant');
is_deeply($r->{json}{items}, [], 'nothing to propose');
is($r->{json}{min_users}, 3, 'learn_min_users defaults to 3');

# --- unanswered: proposals ranked as /v1/admin/search ranks them ------

my $uq = '我的蚁花怎么突然用不了了呢啊';
my $j = ask('u1', { question => $uq });
SKIP: {
    skip "\"$uq\" is answered by this KB", 1 if $j->{type} eq 'fallback';
    $uq = '今天天气怎么样';
    ask('u1', { question => $uq });
}
ask('u2', { question => $uq });
ask('u2', { question => $uq });      # the same user: counted once a day

$r = until_ok('the unanswered question', sub { item_of($_[0], $uq) });
my $it = item_of($r->{json}, $uq);
is($it->{source}, 'unanswered', 'an unanswered question');
is($it->{users}, 2, 'asked by two users (once each a day)');
my $s = $t->post('/kefu/v1/admin/search', token => $adm,
                 body => { question => $uq, k => 3 });
is($s->{status}, 200, 'search');
is(scalar @{ $it->{faqs} }, scalar @{ $s->{json}{items} },
   'as many proposals as search finds (at most 3)');
for my $k (0 .. $#{ $s->{json}{items} }) {
    is($it->{faqs}[$k]{faq_id}, $s->{json}{items}[$k]{faq_id},
       "proposal $k is search's hit $k");
    ok(abs($it->{faqs}[$k]{score} - $s->{json}{items}[$k]{score}) < 1e-3,
       "with its score");
    is($it->{faqs}[$k]{implicit}, JSON::PP::false, 'not from taps');
}

# --- implicit feedback: clarify taps ----------------------------------

my ($cq, $clar);
for my $q ('额度', '怎么提升额度', '还款', '密码') {
    $clar = ask('c0', { question => $q });
    if ($clar->{type} eq 'clarify') { $cq = $q; last }
}
BAIL_OUT('no question clarifies on the demo KB') unless $cq;
my $pick = $clar->{choices}[1]{faq_id};
my $other = $clar->{choices}[0]{faq_id};

$r = until_ok('the clarified question', sub { item_of($_[0], $cq) });
is(item_of($r->{json}, $cq)->{source}, 'clarified', 'a clarified question');
ok(scalar @{ item_of($r->{json}, $cq)->{faqs} } >= 2,
   'with the FAQs it may mean');

# one user tapping the other choice three times, in three sessions
for (1 .. 3) {
    my $c = ask('solo', { question => $cq });
    is($c->{type}, 'clarify', 'clarify again');
    my $a = ask('solo', { choice => $other, session_id => $c->{session_id} });
    is($a->{faq_id}, $other, 'tapped');
}

# two users tap the same choice: not enough yet
for my $u ('tap1', 'tap2') {
    my $c = ask($u, { question => $cq });
    ask($u, { choice => $pick, session_id => $c->{session_id} });
}
$t->settle;
my $pkey = "kefu:{demo}:d:$today:p";
for (1 .. 100) {
    last if ($t->redis_cmd('ZSCORE', $pkey, "$pick\t" . $cq) // 0) == 2;
    sleep 0.1;
}
is($t->redis_cmd('ZSCORE', $pkey, "$pick\t$cq"), 2,
   'two distinct users counted for the pair');
is($t->redis_cmd('ZSCORE', $pkey, "$other\t$cq"), 1,
   'one user tapping three times counts once');
$r = sugg('?days=1&top=50');
ok(!grep({ $_->{source} eq 'implicit' } @{ $r->{json}{items} }),
   'two users are not enough (learn_min_users 3)');

# the third user
my $c3 = ask('tap3', { question => $cq });
ask('tap3', { choice => $pick, session_id => $c3->{session_id} });
$r = until_ok('the tapped pair', sub {
    ($_[0]{items}[0] || {})->{source} eq 'implicit' });
$it = $r->{json}{items}[0];
is($it->{question}, $cq, 'the tapped pair is proposed first');
is($it->{users}, 3, 'seen by three users');
is($it->{faqs}[0]{faq_id}, $pick, 'the FAQ they chose comes first');
is($it->{faqs}[0]{implicit}, JSON::PP::true, 'marked implicit');
is($it->{faqs}[0]{users}, 3, 'with its users');
ok(@{ $it->{faqs} } <= 3, 'at most 3 FAQs');
is(scalar(grep { $_->{question} eq $cq } @{ $r->{json}{items} }), 1,
   'the question is proposed once');

# --- implicit feedback: a related question tapped after an answer ------

# in the user's words: a turn whose text is the FAQ's own question came
# from a tap and teaches nothing
my $ans;
for my $q ('新用户想注册小蚁钱包怎么弄', '新用户怎么注册', '如何注册',
           '登录密码忘了') {
    $ans = ask('rel', { question => $q });
    last if $ans->{type} eq 'answer' && @{ $ans->{related} };
}
ok(@{ $ans->{related} }, 'an answer with related questions')
    or diag explain $ans;
my $rel = ($ans->{related}[0] || {})->{faq_id} // '';
ask('rel', { choice => $rel, session_id => $ans->{session_id} }) if $rel;
my $found;
for (1 .. 100) {
    my $m = $t->redis_cmd('ZRANGE', $pkey, 0, -1);
    $found = grep { /^\Q$rel\E\t/ } @{ ref $m ? $m : [] };
    last if $found;
    sleep 0.1;
}
ok($found, 'a related tap counts its pair');

# --- other tenants, user tokens ---------------------------------------

$r = sugg('?days=1', token => $t->token('boss', tenant => 'other',
                                        scope => 'admin'));
is($r->{status}, 200, 'another tenant');
is_deeply($r->{json}{items}, [], 'sees none of demo\'s questions');
err_is(sugg('', token => $tok), 403, 'forbidden', 'a user token');
err_is($t->post('/kefu/v1/admin/kb/suggestions/dismiss', token => $tok,
                body => { question => $cq }),
       403, 'forbidden', 'a user token dismisses');

# --- bad input: 400, nothing written ----------------------------------

err_is(sugg('?days=0'), 400, 'invalid_request', 'days=0');
err_is(sugg('?days=91'), 400, 'invalid_request', 'days=91');
err_is(sugg('?top=51'), 400, 'invalid_request', 'top=51');
err_is(sugg('?top=x'), 400, 'invalid_request', 'top=x');
for my $b ({}, { question => 5 }, { question => " \t " },
           { question => 'x' x 501 }, { question => 'a', extra => 1 }) {
    err_is($t->post('/kefu/v1/admin/kb/suggestions/dismiss', token => $adm,
                    body => $b),
           400, 'invalid_request', 'dismiss ' . JSON::PP->new->canonical
                                                    ->encode($b));
}
is($t->redis_cmd('EXISTS', 'kefu:{demo}:kb:dismissed'), 0,
   'nothing written for bad input');

# --- dismiss ------------------------------------------------------------

$r = $t->post('/kefu/v1/admin/kb/suggestions/dismiss', token => $adm,
              body => { question => " $cq " });
is($r->{status}, 200, 'dismissed') or diag($r->{content});
is($r->{json}{question}, $cq, 'normalised as the lists keep it');
is($r->{json}{dismissed}, JSON::PP::true, 'dismissed: true');
$r = sugg('?days=1&top=50');
ok(!item_of($r->{json}, $cq), 'a dismissed question is not proposed');
ok(item_of($r->{json}, $uq), 'the others still are');
my $ttl = $t->redis_cmd('TTL', 'kefu:{demo}:kb:dismissed');
ok($ttl > 29 * 86400 && $ttl <= 30 * 86400, 'dismissed for 30 days');
$r = sugg('?days=1', token => $t->token('boss', tenant => 'other',
                                        scope => 'admin'));
is($t->redis_cmd('EXISTS', 'kefu:{other}:kb:dismissed'), 0,
   'another tenant\'s list untouched');

# --- Redis down: 503 --------------------------------------------------

$t->stop_redis;
err_is(sugg('?days=1'), 503, 'redis_unavailable', 'Redis down');
err_is($t->post('/kefu/v1/admin/kb/suggestions/dismiss', token => $adm,
                body => { question => $uq }),
       503, 'redis_unavailable', 'dismiss with Redis down');

$t->allow_log(qr/kefu: redis/i, qr/connect/i);
$t->final_check;
done_testing();
