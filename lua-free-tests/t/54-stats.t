# The trainer's statistics: a scripted day of traffic (questions that are
# answered, clarified, fall back or ask for a human; feedback; handoffs;
# loss reports) plus a synthetic earlier day give exactly the expected
# counts, rate, daily series and top lists; tenants are isolated.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1);
my $tok = $t->token('s1');
my $adm = $t->token('trainer', scope => 'admin');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';

sub day_of {
    my ($back) = @_;
    my @d = gmtime(time - 86400 * $back);
    return sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
}
my $today = day_of(0);

sub stats {
    my ($q, %o) = @_;
    return $t->get('/kefu/v1/admin/stats' . ($q // ''),
                   token => $o{token} || $adm);
}

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

# an empty tenant first
my $r = stats('?days=1');
is($r->{status}, 200, 'stats of an empty day');
is($r->{json}{total}{asked}, 0, 'nothing asked');
is($r->{json}{total}{resolution_rate}, 0, 'rate 0 without questions');
is_deeply($r->{json}{top_questions}, [], 'no top questions');

# --- the scripted day -------------------------------------------------

my (%type, @turns);
sub ask {
    my ($body) = @_;
    my $res = $t->post('/kefu/v1/ask', token => $tok, body => $body);
    die "ask: $res->{content}" unless $res->{status} == 200;
    $type{ $res->{json}{type} }++;
    push @turns, $res->{json};
    return $res->{json};
}

my @answered;
for my $q ('蚁花怎么开通', '蚁花怎么开通', '提现多久到账') {
    my $j = ask({ question => $q });
    is($j->{type}, 'answer', "\"$q\" answered");
    push @answered, $j;
}
ask({ faq_id => 'paylater-open' });
ask({ question => '今天天气怎么样' });
ask({ question => '今天天气怎么样' });
ask({ question => 'asdfgh' });
ask({ question => '转人工客服' });
for my $q ('额度', '怎么提升额度', '还款', '密码') {
    last if ask({ question => $q })->{type} eq 'clarify';
}
note(explain \%type);
ok($type{answer} >= 4 && $type{fallback} >= 3, 'a mixed day');

# feedback: two helpful, one unhelpful, one changed to unhelpful
sub fb {
    my ($j, $h) = @_;
    my $res = $t->post('/kefu/v1/feedback', token => $tok,
                       body => { session_id => $j->{session_id},
                                 turn => $j->{turn},
                                 helpful => $h ? JSON::PP::true
                                               : JSON::PP::false });
    is($res->{status}, 204, 'feedback accepted');
}
fb($answered[0], 1);
fb($answered[1], 1);
fb($answered[2], 1);
fb($answered[2], 0);
fb($turns[4], 0);             # a fallback turn, found unhelpful too

# two handoffs, one asked twice (one ticket)
for my $j ($turns[7], $turns[4], $turns[4]) {
    my $res = $t->post('/kefu/v1/handoff', token => $tok,
                       body => { session_id => $j->{session_id} });
    ok($res->{status} == 201 || $res->{status} == 200, 'handoff');
}

# three loss reports (one with a police report), a replay, a conflict
my $n = 0;
for my $b ({ kind => 'phone', reason => 'lost' },
           { kind => 'account', reason => 'fraud',
             police_report => JSON::PP::true },
           { kind => 'card', reason => 'stolen', card_last4 => '9876' },
           { kind => 'card', reason => 'stolen', card_last4 => '9876' },
           { kind => 'card', reason => 'lost', card_last4 => '9876' }) {
    my $key = $n < 3 ? 'day-' . $n++ : 'day-2';
    $t->post('/kefu/v1/loss-reports', token => $tok, body => $b,
             headers => { 'Idempotency-Key' => $key });
}

# traffic of another tenant must not show
$t->post('/kefu/v1/ask', token => $t->token('x', tenant => 'other'),
         body => { question => '蚁花怎么开通' });

# the workers write their sums of /v1/ask's counters
$t->settle;

# a synthetic earlier day, as /v1/ask and the flows would have left it
my $y = day_of(1);
$t->redis_cmd('HSET', "kefu:{demo}:d:$y", asked => 10, answered => 6,
              clarified => 1, fallback => 3, handoffs => 2, helpful => 4,
              unhelpful => 1, loss_reports => 1, other_feature => 7);
$t->redis_cmd('ZINCRBY', "kefu:{demo}:d:$y:q", 5, 'repay-how');
$t->redis_cmd('ZINCRBY', "kefu:{demo}:d:$y:q", 1, 'paylater-open');
$t->redis_cmd('ZINCRBY', "kefu:{demo}:d:$y:u", 4, '今天天气怎么样');
$t->redis_cmd('ZINCRBY', "kefu:{demo}:d:$y:u", 1, '怎么养猫');

# --- what the trainer sees --------------------------------------------

my %want = (
    asked => scalar @turns,
    answered => $type{answer} // 0,
    clarified => $type{clarify} // 0,
    fallback => $type{fallback} // 0,
    handoff => $type{handoff} // 0,
    handoffs => 2,
    helpful => 2,
    unhelpful => 2,
    loss_reports => 3,
    police_reports => 1,
);

$r = stats('?days=1');
is($r->{status}, 200, 'stats 200');
my $s = $r->{json};
is($s->{tenant}, 'demo', 'own tenant');
is($s->{days}, 1, 'one day');
is(scalar @{ $s->{daily} }, 1, 'one daily entry');
for my $k (sort keys %want) {
    is($s->{total}{$k}, $want{$k}, "today: $k = $want{$k}");
}
my $resolved = $want{answered} - $want{unhelpful};
is($s->{total}{resolved}, $resolved, 'resolved = answered - unhelpful');
is($s->{total}{unresolved}, $want{asked} - $resolved, 'unresolved');
cmp_ok(abs($s->{total}{resolution_rate} - $resolved / $want{asked}), '<',
       0.0001, 'robot resolution rate');
is_deeply($s->{daily}[0], { %{ $s->{total} },
                            date => substr($s->{to}, 0, 10) },
          'the only day equals the total');
is($s->{top_questions}[0]{faq_id}, 'paylater-open', 'top question');
is($s->{top_questions}[0]{count}, 3, 'asked three times');
is($s->{top_questions}[0]{question}, '蚁花怎么开通',
   'with the question from the KB');
my %un = map { $_->{question} => $_->{count} } @{ $s->{top_unanswered} };
# one user's fallbacks of one question count once a day, and its
# unhelpful verdict once more (the two are counted in different slots)
is($un{'今天天气怎么样'}, 2, 'unanswered: two fallbacks once + unhelpful');
is($un{'提现多久到账'}, 1, 'an unhelpful answer counts as unanswered');

# two days: the earlier day is merged
$r = stats('?days=2&top=2');
$s = $r->{json};
is(scalar @{ $s->{daily} }, 2, 'two daily entries');
is($s->{daily}[0]{date}, join('-', unpack 'A4A2A2', $y), 'oldest first');
is($s->{daily}[0]{asked}, 10, 'the earlier day');
is($s->{daily}[0]{resolved}, 5, 'its resolved count');
is($s->{total}{asked}, $want{asked} + 10, 'total asked over two days');
is($s->{total}{helpful}, 6, 'total helpful');
is($s->{total}{loss_reports}, 4, 'total loss reports');
ok(!exists $s->{total}{other_feature}, 'foreign fields are not counters');
is(scalar @{ $s->{top_questions} }, 2, 'top=2 limits the list');
is_deeply([map { [$_->{faq_id}, $_->{count}] } @{ $s->{top_questions} }],
          [['repay-how', 5], ['paylater-open', 4]],
          'top questions summed over the days');
is_deeply($s->{top_unanswered}[0],
          { question => '今天天气怎么样', count => 6 },
          'top unanswered summed over the days');

$r = stats();
is($r->{json}{days}, 7, 'default: 7 days');
is(scalar @{ $r->{json}{daily} }, 7, 'seven entries');
$r = stats('?days=90');
is(scalar @{ $r->{json}{daily} }, 90, '90 days');
is($r->{json}{total}{asked}, $want{asked} + 10, 'same total');
is_deeply($t->redis_cmd('KEYS', 'kefu:{demo}:tmp:*'), [],
          'no temporary keys left');

err_is(stats('?days=0'), 400, 'invalid_request', 'days=0');
err_is(stats('?days=91'), 400, 'invalid_request', 'days=91');
err_is(stats('?days=abc'), 400, 'invalid_request', 'days=abc');
err_is(stats('?top=0'), 400, 'invalid_request', 'top=0');
err_is(stats('', token => $tok), 403, 'forbidden', 'user token');
err_is($t->post('/kefu/v1/admin/stats', token => $adm, body => {}), 405,
       'method_not_allowed', 'POST');

# the other tenant's admin sees only its own traffic
$r = stats('?days=2', token => $t->token('boss', tenant => 'other',
                                         scope => 'admin'));
is($r->{status}, 200, 'other tenant: 200');
is($r->{json}{tenant}, 'other', 'its own name');
is($r->{json}{total}{asked}, 1, 'only its own question');
is($r->{json}{total}{loss_reports}, 0, "none of demo's reports");
is_deeply($r->{json}{top_unanswered}, [], "none of demo's questions");

done_testing();
