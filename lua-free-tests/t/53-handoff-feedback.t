# Human handoff (priority queue, position, the session's turns on the
# ticket, one waiting ticket per session) and feedback (204, counted once,
# last verdict wins, unhelpful answers feed the unanswered list).
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1);
my $tok = $t->token('u1');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];

sub ask {
    my ($q, %o) = @_;
    my $r = $t->post('/kefu/v1/ask', token => $o{token} || $tok,
                     body => { question => $q,
                               $o{sid} ? (session_id => $o{sid}) : () });
    die "ask failed: $r->{content}" unless $r->{status} == 200;
    return $r->{json};
}

sub handoff {
    my ($body, %o) = @_;
    return $t->post('/kefu/v1/handoff', token => $o{token} || $tok,
                    body => $body);
}

sub feedback {
    my ($body, %o) = @_;
    return $t->post('/kefu/v1/feedback', token => $o{token} || $tok,
                    body => $body);
}

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

sub dec { my ($s) = @_; utf8::decode($s); return $s }

sub stat_of { $t->day_sum('demo', $day, $_[0]) }

# the day's unanswered questions are summed per worker (kefu_stats_flush):
# wait until a check holds
sub eventually {
    my ($check) = @_;
    for (1 .. 100) {
        return 1 if $check->();
        select undef, undef, undef, 0.1;
    }
    return $check->();
}

# --- handoff ----------------------------------------------------------

my $calm = ask('蚁花怎么开通');
is($calm->{type}, 'answer', 'a calm, answered session');
my $r = handoff({ session_id => $calm->{session_id} });
is($r->{status}, 201, 'ticket created');
my $tc = $r->{json};
like($tc->{ticket_id}, qr/^[0-9]{2}[0-9a-f]{32}$/, 'ticket id');
is(substr($tc->{ticket_id}, 0, 2), KefuTest::bucket('u1'),
   "it names the user's bucket");
is($tc->{position}, 1, 'first in the queue');
is($tc->{priority}, 'normal', 'calm: normal priority');
is($tc->{existing}, JSON::PP::false, 'a new ticket');

my %tk = @{ $t->redis_cmd('HGETALL', KefuTest::bkey('demo', 'u1', "tk:$tc->{ticket_id}")) };
is($tk{user}, 'u1', 'ticket: user');
is($tk{session_id}, $calm->{session_id}, 'ticket: session');
is($tk{status}, 'waiting', 'ticket: waiting');
my $turns = $KefuTest::JSON->decode($tk{turns});
is($turns->[0]{q}, '蚁花怎么开通', "the session's turns are attached");
is($turns->[0]{faq_id}, 'paylater-open', 'with the FAQ answered');
is($turns->[0]{turn}, 1, 'and the turn number');

my $angry = ask('气死了!!! 转账失败怎么办, 垃圾', token => $t->token('u2'));
$r = handoff({ session_id => $angry->{session_id} },
             token => $t->token('u2'));
is($r->{json}{priority}, 'high', 'angry: high priority');
is($r->{json}{position}, 1, 'ahead of the calm ticket');
my $ta = $r->{json};

my $emerg = ask('我的手机丢了怎么办', token => $t->token('u3'));
is($emerg->{priority}, JSON::PP::true, '/v1/ask flagged the emergency');
$r = handoff({ session_id => $emerg->{session_id} },
             token => $t->token('u3'));
is($r->{status}, 201, 'emergency ticket');
is($r->{json}{priority}, 'urgent', 'urgent priority');
is($r->{json}{position}, 1, 'an emergency goes first');
my $te = $r->{json};

# another calm one joins at the end (first come, first served)
my $calm2 = ask('蚁花怎么开通', token => $t->token('u4'));
$r = handoff({ session_id => $calm2->{session_id} },
             token => $t->token('u4'));
is($r->{json}{position}, 4, 'a later calm ticket is last');

is_deeply([map { $_->[0] } @{ $t->queue_all('demo') }],
          [$te->{ticket_id}, $ta->{ticket_id}, $tc->{ticket_id},
           $r->{json}{ticket_id}],
          'queue order: urgent, high, normal by arrival');
isnt(KefuTest::bucket('u1'), KefuTest::bucket('u3'),
   'the tickets are in different buckets');
my $xs = $t->stream_all('demo', 'agents');
is(scalar @$xs, 4, 'four entries on the agents stream');
my %e = @{ $xs->[2][1] };
is($e{ticket_id}, $te->{ticket_id}, 'stream entry of the emergency ticket');
is($e{priority}, 'urgent', 'with its priority');

# asking again: the same ticket, its position now
$r = handoff({ session_id => $calm->{session_id} });
is($r->{status}, 200, 'second handoff of a session: 200');
is($r->{json}{ticket_id}, $tc->{ticket_id}, 'the same ticket');
is($r->{json}{existing}, JSON::PP::true, 'marked existing');
is($r->{json}{position}, 3, 'its current position');

# ... moved up when the reason shows an emergency
$r = handoff({ session_id => $calm->{session_id},
               reason => '我的银行卡被盗刷了' });
is($r->{json}{ticket_id}, $tc->{ticket_id}, 'still the same ticket');
is($r->{json}{priority}, 'urgent', 'priority raised by the reason');
is($r->{json}{position}, 1,
   'first: urgent now, and waiting longer than the other urgent ticket');
is(scalar @{ $t->stream_all('demo', 'agents') }, 4,
   'no new stream entry');
is(stat_of('handoffs'), 4, 'four tickets counted');

# the agent takes the first ticket; a new handoff of that session is new
is($t->pop_ticket('demo'), $tc->{ticket_id},
   'the agent desk pops the first ticket');
$r = handoff({ session_id => $calm->{session_id} });
is($r->{status}, 201, 'after the agent took it, a new ticket');
isnt($r->{json}{ticket_id}, $tc->{ticket_id}, 'with a new id');

my $before = $t->redis_cmd('DBSIZE');
err_is(handoff({}), 400, 'invalid_request', 'no session_id');
err_is(handoff({ session_id => '../x' }), 400, 'invalid_request',
       'bad session_id');
err_is(handoff({ session_id => $calm->{session_id}, reason => 'x' x 201 }),
       400, 'invalid_request', 'reason too long');
err_is(handoff({ session_id => $calm->{session_id}, priority => 0 }),
       400, 'invalid_request', 'priority cannot be chosen');
err_is(handoff({ session_id => 'no-such-session' }), 404, 'not_found',
       'unknown session');
err_is(handoff({ session_id => $calm->{session_id} },
               token => $t->token('u9')),
       404, 'not_found', "another user's session");
err_is(handoff({ session_id => $calm->{session_id} },
               token => $t->token('u1', tenant => 'other')),
       404, 'not_found', 'same user in another tenant');
is($t->redis_cmd('DBSIZE'), $before, 'rejected handoffs wrote nothing');

# --- feedback ---------------------------------------------------------

my $sid = $calm->{session_id};
$r = feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::true });
is($r->{status}, 204, 'feedback: 204');
is($r->{content} // '', '', 'no body');
is(stat_of('helpful'), 1, 'helpful counted');

$r = feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::true });
is($r->{status}, 204, 'the same feedback again: 204');
is(stat_of('helpful'), 1, 'counted once');

$r = feedback({ session_id => $sid, turn => 1,
                helpful => JSON::PP::false, reason => '没有解决' });
is($r->{status}, 204, 'changed mind');
is(stat_of('helpful'), 0, 'helpful taken back');
is(stat_of('unhelpful'), 1, 'unhelpful counted');
my (%u, $q);
eventually(sub {
    %u = map { dec($_) } @{ $t->redis_cmd('ZRANGE', "kefu:{demo}:d:$day:u",
                                          0, -1, 'WITHSCORES') };
    ($q) = grep { /蚁花/ } keys %u;
    return $q;
});
ok($q, 'the unhelpful answer joins the unanswered list');
is($u{$q // ''}, 1, 'with count 1');
my $fs = $t->stream_all('demo', 'feedback');
my %f = map { dec($_) } @{ $fs->[-1][1] };
is($f{reason}, '没有解决', "the trainers' feedback stream keeps the reason");
is($f{faq_id}, 'paylater-open', 'and the FAQ');

$r = feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::true });
is(stat_of('unhelpful'), 0, 'back to helpful: unhelpful taken back');
is(stat_of('helpful'), 1, 'helpful once');
ok(eventually(sub {
       !defined $t->redis_cmd('ZSCORE', "kefu:{demo}:d:$day:u", $q) }),
   'and the question left the unanswered list');

# unhelpful on a fallback turn adds to what /v1/ask counted
my $fb = ask('今天天气怎么样');
is($fb->{type}, 'fallback', 'a fallback turn');
$t->settle;
my $n0 = $t->redis_cmd('ZSCORE', "kefu:{demo}:d:$day:u", '今天天气怎么样');
feedback({ session_id => $fb->{session_id}, turn => 1,
           helpful => JSON::PP::false });
ok(eventually(sub {
       ($t->redis_cmd('ZSCORE', "kefu:{demo}:d:$day:u", '今天天气怎么样')
        // 0) == ($n0 // 0) + 1 }),
   'unanswered count +1');

$before = $t->redis_cmd('DBSIZE');
my $fbbefore = scalar @{ $t->stream_all('demo', 'feedback') };
err_is(feedback({ session_id => $sid, turn => 2, helpful => JSON::PP::true }),
       404, 'not_found', 'a turn that does not exist yet');
err_is(feedback({ session_id => $sid, turn => 0, helpful => JSON::PP::true }),
       400, 'invalid_request', 'turn 0');
err_is(feedback({ session_id => $sid, turn => '1',
                  helpful => JSON::PP::true }),
       400, 'invalid_request', 'turn as a string');
err_is(feedback({ session_id => $sid, turn => 1.5,
                  helpful => JSON::PP::true }),
       400, 'invalid_request', 'fractional turn');
err_is(feedback({ session_id => $sid, turn => 1 }), 400, 'invalid_request',
       'helpful missing');
err_is(feedback({ session_id => $sid, turn => 1, helpful => 'yes' }), 400,
       'invalid_request', 'helpful as a string');
err_is(feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::true,
                  reason => 'x' x 201 }),
       400, 'invalid_request', 'reason too long');
err_is(feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::true,
                  user => 'u2' }),
       400, 'invalid_request', 'unknown field');
err_is(feedback({ session_id => 'nope', turn => 1,
                  helpful => JSON::PP::true }),
       404, 'not_found', 'unknown session');
err_is(feedback({ session_id => $sid, turn => 1, helpful => JSON::PP::false },
                token => $t->token('u9')),
       404, 'not_found', "another user's session");
is($t->redis_cmd('DBSIZE'), $before, 'rejected feedback wrote nothing');
is(scalar @{ $t->stream_all('demo', 'feedback') },
   $fbbefore, 'not even on the stream');
is(stat_of('helpful'), 1, 'counters unchanged');

done_testing();
