# "猜你关心": POST /v1/events and GET /v1/suggestions on the demo KB:
# trail events, decay, scene, hot questions, risk first, no repeats,
# diversity, isolation, Redis down and bad input.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my $t = KefuTest->new();

# the workers connect to Redis after start-up: wait until both are up
sub wait_redis {
    my $up = 0;
    for (1 .. 400) {
        my $h = $t->get('/kefu/v1/health');
        $up = (($h->{json}{redis} // '') eq 'up') ? $up + 1 : 0;
        return 1 if $up >= 8;
        select(undef, undef, undef, 0.025);
    }
    return 0;
}
ok(wait_redis(), 'redis connected');

sub sug {
    my ($tok, $query) = @_;
    my $r = $t->get('/kefu/v1/suggestions' . ($query // ''), token => $tok);
    is($r->{status}, 200, 'suggestions 200' . ($query // ''))
        or diag($r->{content});
    return $r->{json} || { items => [] };
}

sub events {
    my ($tok, @ev) = @_;
    return $t->post('/kefu/v1/events', token => $tok,
                    body => { events => \@ev });
}

sub ids { [map { $_->{faq_id} } @{ $_[0]{items} }] }

sub pos_of {
    my ($j, $id) = @_;
    my $i = 0;
    for (@{ $j->{items} }) { return $i if $_->{faq_id} eq $id; $i++ }
    return -1;
}

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

my $now = time;
my @welcome = qw(repay-how transfer-arrival-time withdraw-arrival-time
                 paylater-open refund-progress loss-phone-lost
                 fraud-fake-service service-human);

# --- nothing known yet: the KB's welcome questions ----------------------
my $u1 = $t->token('u1');
my $j = sug($u1);
is_deeply(ids($j), [@welcome[0 .. 4]], 'empty trail: welcome questions');
is($j->{personalized}, JSON::PP::false, 'not personalized');
is($j->{items}[0]{reason}{type}, 'welcome', 'reason welcome');
is($j->{risk}, undef, 'no risk');
is_deeply($j->{actions}, [], 'no actions');
is(scalar @{ sug($u1, '?limit=8')->{items} }, 8, 'limit=8');
is(scalar @{ sug($u1, '?limit=1')->{items} }, 1, 'limit=1');

# --- a failed transfer ---------------------------------------------------
my $r = events($u1, { type => 'transfer_failed',
                      attrs => { amount => 500, channel => 'bank_card',
                                 retry => JSON::PP::true } });
is($r->{status}, 202, 'events 202');
is_deeply($r->{json}, { accepted => 1 }, 'accepted 1');
my $stored = $t->redis_cmd('LRANGE', 'kefu:{demo:u1}:trail', 0, -1);
is(scalar @$stored, 1, 'one event stored');
my $ev = JSON::PP->new->decode($stored->[0]);
is($ev->{type}, 'transfer_failed', 'stored type');
ok(abs($ev->{ts} - $now) < 30, 'ts defaults to now');
is($ev->{attrs}{channel}, 'bank_card', 'attrs kept');
my $ttl = $t->redis_cmd('TTL', 'kefu:{demo:u1}:trail');
ok($ttl > 6 * 86400 && $ttl <= 7 * 86400, "trail TTL is trail_ttl ($ttl)");

$j = sug($u1);
is($j->{items}[0]{faq_id}, 'transfer-failed', 'failed transfer: 转账失败 first');
like($j->{items}[0]{question}, qr/转账失败/, 'its question');
is_deeply($j->{items}[0]{reason},
          { type => 'event', event => 'transfer_failed',
            age => $j->{items}[0]{reason}{age} }, 'reason names the event');
ok($j->{items}[0]{reason}{age} >= 0 && $j->{items}[0]{reason}{age} < 30,
   'with its age');
ok($j->{items}[0]{score} > 5, 'score from the trigger weight');
is($j->{personalized}, JSON::PP::true, 'personalized');
isnt(join(',', @{ ids($j) }), join(',', @welcome[0 .. 4]),
     'suggestions changed with the trail');

# --- a bill coming due ----------------------------------------------------
my $ub = $t->token('u-bill');
is(events($ub, { type => 'bill_due' })->{status}, 202, 'bill_due posted');
$j = sug($ub);
is($j->{items}[0]{faq_id}, 'repay-how', 'bill_due: 怎么还款 first');
is($j->{items}[0]{reason}{event}, 'bill_due', 'because of bill_due');
ok(grep({ $_->{topic} eq 'bill' } @{ $j->{items} }), 'bill FAQs follow');

# --- the fraud pattern: new device, then a large transfer to a new payee ---
my $uf = $t->token('u-fraud');
$r = events($uf, { type => 'login_new_device', ts => $now - 600 },
                 { type => 'transfer_new_payee', ts => $now - 30 },
                 { type => 'transfer_large', ts => $now - 30 });
is_deeply($r->{json}, { accepted => 3 }, 'three events');
$j = sug($uf);
is($j->{risk}, 'new_device_transfer', 'risk pattern found');
is($j->{items}[0]{reason}{type}, 'risk', 'risk first');
like($j->{items}[0]{faq_id}, qr/^fraud-/, 'an anti-fraud FAQ on top');
is($j->{items}[0]{reason}{signal}, 'new_device_transfer', 'names the pattern');
like($j->{items}[0]{reason}{event},
     qr/^(transfer_large|transfer_new_payee)$/, 'and the event');
my %act = map { $_->{type} => $_->{endpoint} } @{ $j->{actions} };
ok($act{police_report}, 'police_report action');
is($act{handoff}, '/v1/handoff', 'handoff action');
is($act{loss_report}, '/v1/loss-reports', 'loss_report action');
my $seen_plain = 0;
my $order_ok = 1;
for (@{ $j->{items} }) {
    $seen_plain = 1 if $_->{reason}{type} ne 'risk';
    $order_ok = 0 if $seen_plain && $_->{reason}{type} eq 'risk';
}
ok($order_ok, 'every risk item before the others');

# the same events the other way round are no pattern
my $uf2 = $t->token('u-fraud2');
events($uf2, { type => 'transfer_large', ts => $now - 600 },
             { type => 'login_new_device', ts => $now - 30 });
$j = sug($uf2);
is($j->{risk}, undef, 'transfer before the login: no risk');
isnt($j->{items}[0]{reason}{type}, 'risk', 'no risk tier');
is_deeply($j->{actions}, [], 'no actions');

# a 刷单 keyword
my $uk = $t->token('u-kw');
events($uk, { type => 'bill_due' }, { type => 'bill_due' },
            { type => 'keyword_shuadan', ts => $now - 120 });
$j = sug($uk);
is($j->{risk}, 'fraud_keyword', 'keyword pattern');
is($j->{items}[0]{faq_id}, 'fraud-shuadan', '刷单 FAQ first, before bills');
ok(grep({ $_->{type} eq 'police_report' } @{ $j->{actions} }),
   'with police_report');

# --- decay: an old event ranks below a new one ---------------------------
my $ud = $t->token('u-decay');
events($ud, { type => 'transfer_failed', ts => $now - 3 * 3600 },
            { type => 'bill_due', ts => $now - 60 });
$j = sug($ud, '?limit=10');
is($j->{items}[0]{faq_id}, 'repay-how', 'new bill_due first');
my $pt = pos_of($j, 'transfer-failed');
ok($pt > pos_of($j, 'repay-how'), '3 h old failed transfer below');
ok($pt > 0, 'but still suggested');
ok($j->{items}[$pt]{reason}{age} >= 3 * 3600, 'with its age')
    if $pt > 0;
my $ud2 = $t->token('u-decay2');
events($ud2, { type => 'bill_due', ts => $now - 3 * 3600 },
             { type => 'transfer_failed', ts => $now - 60 });
$j = sug($ud2, '?limit=10');
is($j->{items}[0]{faq_id}, 'transfer-failed', 'reversed ages: reversed order');
ok(pos_of($j, 'repay-how') > 0, 'old bill_due below');

# repeated events add up: three 2 h old failed transfers beat one new bill
my $ur = $t->token('u-repeat');
events($ur, (map { { type => 'transfer_failed', ts => $now - 2 * 3600 } }
             1 .. 6),
            { type => 'bill_due', ts => $now - 60 });
is(sug($ur)->{items}[0]{faq_id}, 'transfer-failed', 'repeated events add up');

# --- the scene ------------------------------------------------------------
my $us = $t->token('u-scene');
$j = sug($us, '?scene=bill');
is($j->{items}[0]{reason}{type}, 'scene', 'scene=bill: reason scene');
is($j->{items}[0]{reason}{scene}, 'bill', 'names the scene');
is($j->{items}[0]{topic}, 'bill', 'a bill FAQ first');
is($j->{personalized}, JSON::PP::false, 'a scene alone is not personal');
$j = sug($us, '?scene=transfer&limit=3');
like($j->{items}[0]{faq_id}, qr/^transfer-/, 'scene=transfer: transfer FAQ');
$j = sug($us, '?scene=nowhere');
is_deeply(ids($j), [@welcome[0 .. 4]], 'unknown scene: welcome');

# --- no repeat of what the user just asked -------------------------------
my $uq = $t->token('u-asked');
ok(pos_of(sug($uq, '?limit=8'), 'paylater-open') >= 0,
   'paylater-open suggested before');
$r = $t->post('/kefu/v1/ask', token => $uq,
              body => { question => '蚁花怎么开通' });
is($r->{json}{faq_id}, 'paylater-open', 'then asked');
$j = sug($uq, '?limit=8');
is(pos_of($j, 'paylater-open'), -1, 'not suggested again');
is(scalar @{ $j->{items} }, 7, 'the other welcome questions remain');
my $asked_ttl = $t->redis_cmd('TTL', 'kefu:{demo:u-asked}:asked');
ok($asked_ttl > 0 && $asked_ttl <= 600, "asked set expires ($asked_ttl)");
# a tapped suggestion counts as asked too
$r = $t->post('/kefu/v1/ask', token => $uq, body => { faq_id => 'repay-how' });
is(pos_of(sug($uq, '?limit=8'), 'repay-how'), -1, 'tapped one not repeated');

# --- hot questions: other users' asks, for a user with no trail ----------
for my $u (qw(h1 h2 h3)) {
    $r = $t->post('/kefu/v1/ask', token => $t->token($u),
                  body => { faq_id => 'withdraw-fee' });
    is($r->{json}{faq_id}, 'withdraw-fee', "$u asked the withdraw fee");
}
$t->settle;
my @hot = @{ $t->redis_cmd('KEYS', 'kefu:{demo}:hot:*') };
is(scalar @hot, 1, 'one hot generation key');
ok($t->redis_cmd('TTL', $hot[0]) > 0, 'hot key expires');
$j = sug($t->token('u-new'));
is($j->{items}[0]{faq_id}, 'withdraw-fee', 'hot question first');
is($j->{items}[0]{reason}{type}, 'hot', 'reason hot');
is($j->{personalized}, JSON::PP::false, 'hot is not personal');
ok(pos_of($j, 'paylater-open') > 0, 'less hot ones follow');
# a fresh event of the user beats what is hot
$j = sug($u1);
is($j->{items}[0]{faq_id}, 'transfer-failed', 'own trail beats hot');

# --- diversity ------------------------------------------------------------
my $uv = $t->token('u-div');
events($uv, map { { type => 'transfer_failed' } } 1 .. 3);
for my $q ('', '?scene=transfer') {
    $j = sug($uv, $q);
    my %n;
    $n{ $_->{topic} }++ for @{ $j->{items} };
    is(scalar @{ $j->{items} }, 5, "five items$q");
    ok($n{transfer} <= 2, "at most 2 transfer FAQs in the top 5$q")
        or diag explain ids($j);
}
$j = sug($uv, '?limit=20');
my %seen;
ok(!(grep { $seen{$_}++ } @{ ids($j) }), 'no FAQ twice');
ok((grep { $_->{topic} eq 'transfer' } @{ $j->{items} }) > 2,
   'more transfer FAQs further down');

# --- isolation ------------------------------------------------------------
$j = sug($t->token('u2'));
ok(!(grep { $_->{reason}{type} =~ /^(event|risk)$/ } @{ $j->{items} }),
   "user A's trail never reaches user B");
is($j->{personalized}, JSON::PP::false, 'B not personalized');
my $o1 = $t->token('u1', tenant => 'other');
$j = sug($o1);
ok(!(grep { $_->{reason}{type} ne 'welcome' } @{ $j->{items} }),
   "tenant demo's trail and hot list never reach tenant other");
is(events($o1, { type => 'bill_due' })->{status}, 202, 'other: event');
is($t->redis_cmd('LLEN', 'kefu:{other:u1}:trail'), 1, 'own trail key');
is($t->redis_cmd('LLEN', 'kefu:{demo:u1}:trail'), 1, 'demo u1 untouched');
is(sug($o1)->{items}[0]{faq_id}, 'repay-how', 'other sees its own trail');
isnt(sug($u1)->{items}[0]{faq_id}, 'repay-how', 'demo u1 does not');

# --- the trail is capped at trail_max -------------------------------------
my $uc = $t->token('u-cap');
for (1 .. 3) {
    $r = events($uc, map { { type => "e$_" } } 1 .. 100);
    is($r->{json}{accepted}, 100, 'batch of 100');
}
is($t->redis_cmd('LLEN', 'kefu:{demo:u-cap}:trail'), 200, 'capped at 200');
like($t->redis_cmd('LINDEX', 'kefu:{demo:u-cap}:trail', 0), qr/"type":"e100"/,
     'newest (last of the batch) first');

# --- the trail summary: one record per batch, folded past 32 -------------
# (many small batches: the old ones are folded into one record by the
# request that finds the list too long; counts, times and the risk
# pattern's history survive the fold)
my $usum = $t->token('u-sum');
is(events($usum, { type => 'login_new_device', ts => $now - 900 })->{status},
   202, 'first batch');
for my $i (1 .. 3) {
    events($usum, { type => 'transfer_failed', ts => $now - 3 * 3600 });
}
for my $i (1 .. 36) {
    is(events($usum, { type => "s$i" })->{status}, 202, "small batch $i")
        if $i == 36;
    events($usum, { type => "s$i" }) if $i < 36;
}
my $slen = $t->redis_cmd('LLEN', 'kefu:{demo:u-sum}:tsum');
ok($slen >= 2 && $slen <= 33, "summary folded ($slen records)");
is($t->redis_cmd('LLEN', 'kefu:{demo:u-sum}:trail'), 40, 'trail has all');
like($t->redis_cmd('LINDEX', 'kefu:{demo:u-sum}:tsum', -1),
     qr/;transfer_failed \S+ \d+/, 'the fold keeps the type');
$j = sug($usum);
is($j->{items}[0]{reason}{event}, 'login_new_device',
   'the folded login ranks first');
ok($j->{items}[0]{reason}{age} >= 900, 'with its age from the fold');
my $tf = pos_of($j, 'transfer-failed');
ok($tf >= 0 && $j->{items}[$tf]{reason}{event} eq 'transfer_failed'
   && $j->{items}[$tf]{reason}{age} >= 3 * 3600,
   'the folded failed transfers count, with their age');
events($usum, { type => 'transfer_large' });
$j = sug($usum);
is($j->{risk}, 'new_device_transfer', 'login folded, then transfer: risk');

# --- bad input: 400, nothing written --------------------------------------
my $ux = $t->token('u-bad');
my $key = 'kefu:{demo:u-bad}:trail';
my $long = '字' x 65;
my %bad = (
    'unknown field'        => { events => [{ type => 'x' }], user => 'u1' },
    'unknown event field'  => { events => [{ type => 'x', sub => 'u1' }] },
    '101 events'           => { events => [map { { type => 'x' } } 1 .. 101] },
    'no events'            => { events => [] },
    'events not an array'  => { events => { type => 'x' } },
    'missing events'       => {},
    'type a number'        => { events => [{ type => 5 }] },
    'type with spaces'     => { events => [{ type => 'transfer failed' }] },
    'type upper case'      => { events => [{ type => 'TRANSFER' }] },
    'type too long'        => { events => [{ type => 'x' x 41 }] },
    'ts a string'          => { events => [{ type => 'x', ts => "$now" }] },
    'ts fractional'        => { events => [{ type => 'x', ts => $now + 0.5 }] },
    'ts far future'        => { events => [{ type => 'x', ts => $now + 86400 }] },
    'ts in milliseconds'   => { events => [{ type => 'x', ts => $now * 1000 }] },
    'ts older than ttl'    => { events => [{ type => 'x',
                                             ts => $now - 8 * 86400 }] },
    '9 attrs'              => { events => [{ type => 'x', attrs =>
                                   { map { ("k$_" => 1) } 1 .. 9 } }] },
    'huge attr string'     => { events => [{ type => 'x',
                                             attrs => { s => $long } }] },
    'nested attrs'         => { events => [{ type => 'x',
                                             attrs => { a => { b => 1 } } }] },
    'attrs an array'       => { events => [{ type => 'x', attrs => [1] }] },
    'event not an object'  => { events => ['transfer_failed'] },
    'one bad in a batch'   => { events => [(map { { type => 'ok' } } 1 .. 99),
                                           { type => 'x', ts => 'now' }] },
);
for my $name (sort keys %bad) {
    err_is($t->post('/kefu/v1/events', token => $ux, body => $bad{$name}),
           400, 'invalid_request', $name);
}
err_is($t->post('/kefu/v1/events', token => $ux, body => '{"events":['),
       400, 'invalid_json', 'malformed JSON');
err_is($t->post('/kefu/v1/events', token => $ux,
                body => { events => [{ type => 'x',
                                        attrs => { s => 'x' x 70000 } }] }),
       413, 'body_too_large', 'body over the limit');
err_is($t->post('/kefu/v1/events', body => { events => [{ type => 'x' }] }),
       401, 'missing_token', 'no token');
err_is($t->get('/kefu/v1/events', token => $ux), 405, 'method_not_allowed',
       'GET events');
err_is($t->post('/kefu/v1/suggestions', token => $ux, body => {}), 405,
       'method_not_allowed', 'POST suggestions');
is($t->redis_cmd('EXISTS', $key), 0, 'nothing written for bad input');

for my $q ('?limit=0', '?limit=21', '?limit=abc', '?limit=-1', '?limit=',
           '?scene=BILL', '?scene=a%20b', '?scene=' . ('x' x 33)) {
    err_is($t->get("/kefu/v1/suggestions$q", token => $ux), 400,
           'invalid_request', "bad query $q");
}
$r = $t->post('/kefu/v1/events', token => $ux,
              body => { events => [{ type => 'x', ts => $now + 200 }] });
is($r->{status}, 202, 'ts a little ahead (clock skew) is fine');

# --- Redis down: hot (the list the worker read last) and welcome, and
# the scene; nothing personal ------------------------------------------------
$t->stop_redis('KILL');
$j = sug($uf);
is($j->{personalized}, JSON::PP::false, 'redis down: personalized false');
my @kinds = map { $_->{reason}{type} } @{ $j->{items} };
is(scalar @kinds, 5, 'redis down: five items');
ok(!(grep { $_ ne 'welcome' && $_ ne 'hot' } @kinds),
   'redis down: hot and welcome questions only (' . "@kinds" . ')');
my %rank;
@rank{@welcome} = 0 .. $#welcome;
my @w = map { $rank{ $_->{faq_id} } // -1 }
        grep { $_->{reason}{type} eq 'welcome' } @{ $j->{items} };
ok(@w && !(grep { $_ < 0 } @w)
   && join(',', @w) eq join(',', sort { $a <=> $b } @w),
   'redis down: welcome questions, in their order');
is($j->{risk}, undef, 'no risk without the trail');
$j = sug($uf, '?scene=bill');
is($j->{items}[0]{reason}{type}, 'scene', 'redis down: scene still works');
err_is(events($u1, { type => 'x' }), 503, 'redis_unavailable',
       'redis down: events 503');
$t->start_redis();

done_testing();
