# Learned similar questions (issue 13): added through the admin API, served
# by every worker within 2 s, removed again; other tenants unaffected;
# admin only; limits and bad input write nothing; the export reloads into
# the same answers; while Redis is down the last overlay keeps serving and
# additions get 503.
use strict;
use warnings;
use utf8;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time sleep);
use KefuTest;

my $json = JSON::PP->new->utf8->canonical;
my $t = KefuTest->new(no_start => 1, workers => 2,
                      http_extra => "    kefu_learned_max 3;\n",
                      allow_log => [qr/kefu_redis|Redis|redis/i]);
my $kb = do {
    open my $fh, '<:raw', "$KefuTest::TOP/demo/kb.json" or die $!;
    local $/;
    $t->write_file('kb.json', scalar <$fh>);
};
$t->{kb} = $kb;
$t->start_nginx;

my $adm = $t->token('trainer', scope => 'admin');
my $usr = $t->token('u1');
my $other = $t->token('u2', tenant => 'other');
my $base = '/kefu/v1/admin/kb/similar';
my $odd = '芝麻开门请给我口令';        # nothing like it in the demo KB

# a fresh connection each time: the kernel spreads them over the workers
sub ask {
    my ($q, $tok) = @_;
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 10)->request(
        'POST', $t->url('/kefu/v1/ask'),
        { headers => { Authorization => 'Bearer ' . ($tok // $usr),
                       'Content-Type' => 'application/json' },
          content => $json->encode({ question => $q }) });
    return eval { $json->decode($res->{content}) } || {};
}

sub answered_by {
    my ($q, $faq, $tok) = @_;
    my $j = ask($q, $tok);
    return ($j->{type} // '') eq 'answer' && ($j->{faq_id} // '') eq $faq;
}

# true once n asks in a row give want (1: answered by faq, 0: not)
sub settles {
    my ($q, $faq, $want, $secs) = @_;
    my $deadline = time + $secs;
    my $run = 0;
    while (time < $deadline) {
        $run = (answered_by($q, $faq) ? 1 : 0) == $want ? $run + 1 : 0;
        return 1 if $run >= 12;
    }
    return 0;
}

sub learned_keys { $t->redis_cmd('KEYS', 'kefu:{demo}:learned*') }

ok(!answered_by($odd, 'withdraw-how'), 'before: not answered');

# suggestions: the unanswered question, with the FAQs it may belong to
my $sug;
my $sdeadline = time + 5;
while (time < $sdeadline) {
    $sug = $t->get('/kefu/v1/admin/kb/suggestions?days=1&top=5',
                   token => $adm);
    last if grep { $_->{question} eq $odd } @{ $sug->{json}{items} || [] };
    sleep 0.05;
}
is($sug->{status}, 200, 'suggestions');
my ($item) = grep { $_->{question} eq $odd } @{ $sug->{json}{items} || [] };
ok($item && $item->{users} >= 1 && @{ $item->{faqs} } <= 3,
   'the unanswered question, asked once, with at most 3 FAQs');
is($t->get('/kefu/v1/admin/kb/suggestions', token => $usr)->{status}, 403,
   'suggestions: user 403');
is($t->get('/kefu/v1/admin/kb/suggestions?days=0', token => $adm)
     ->{status}, 400, 'suggestions: days 0 is 400');

# admin only, bad input: nothing written
is($t->post($base, token => $usr,
            body => { faq_id => 'withdraw-how', question => $odd })->{status},
   403, 'user token: 403');
my @bad = (
    [{ faq_id => 'withdraw-how' }, 400, 'invalid_request'],
    [{ faq_id => 'withdraw-how', question => $odd, x => 1 }, 400,
     'invalid_request'],
    [{ faq_id => 'withdraw-how', question => 7 }, 400, 'invalid_request'],
    [{ faq_id => 'withdraw-how', question => '！！？' }, 400,
     'invalid_question'],
    [{ faq_id => 'withdraw-how', question => 'x' x 600 }, 400,
     'invalid_question'],
    [{ faq_id => 'no-such-faq', question => $odd }, 404, 'faq_not_found'],
    [{ faq_id => 'withdraw-how', question => '怎么还款？' }, 409,
     'duplicate'],
);
for my $b (@bad) {
    my $r = $t->post($base, token => $adm, body => $b->[0]);
    is($r->{status}, $b->[1], "bad input $b->[2]: $b->[1]");
    is($r->{json}{error}{code}, $b->[2], "  code $b->[2]");
}
is(scalar @{ learned_keys() || [] }, 0, 'nothing written');

# added: both workers answer within 2 s
my $t0 = time;
my $r = $t->post($base, token => $adm,
                 body => { faq_id => 'withdraw-how', question => $odd });
is($r->{status}, 201, 'added: 201');
my $id = $r->{json}{id} // '';
like($id, qr/^[0-9a-f]{21}$/, 'with an id');
# the first answer shows the addition reached a worker; 12 in a row on
# fresh connections that both have it
my $first;
while (!defined $first && time < $t0 + 10) {
    $first = time - $t0 if answered_by($odd, 'withdraw-how');
}
ok(defined $first && $first < 2.5,
   sprintf('answered within about 2 s (%.2f s)', $first // -1));
ok(settles($odd, 'withdraw-how', 1, 10),
   'answered by both workers (12 fresh connections in a row)');

# the same wording again, as the index sees it
$r = $t->post($base, token => $adm,
              body => { faq_id => 'repay-how', question => "$odd！" });
is($r->{status}, 409, 'same wording again: 409');

# other tenant unaffected
ok(!answered_by($odd, 'withdraw-how', $other), 'other tenant: not learned');
is($t->get($base, token => $t->token('boss', tenant => 'other',
                                     scope => 'admin'))->{json}{total},
   0, 'other tenant lists nothing');

# list, filter, paging
my $q2 = '钱包里的钱搬去卡里要怎么弄';
$r = $t->post($base, token => $adm,
              body => { faq_id => 'withdraw-how', question => $q2 });
is($r->{status}, 201, 'second one added');
my $id2 = $r->{json}{id};
ok(settles($q2, 'withdraw-how', 1, 5), 'second one answered');
$r = $t->get("$base?limit=1", token => $adm);
is($r->{status}, 200, 'list');
is(scalar @{ $r->{json}{items} }, 1, 'limit 1');
is($r->{json}{items}[0]{id}, $id, 'oldest first');
is($r->{json}{total}, 2, 'total 2');
my $cur = $r->{json}{next_cursor};
$r = $t->get("$base?limit=1&cursor=$cur", token => $adm);
is($r->{json}{items}[0]{id}, $id2, 'cursor: next page');
is($r->{json}{next_cursor}, undef, 'last page');
is(scalar @{ $t->get("$base?faq_id=repay-how", token => $adm)
                ->{json}{items} }, 0, 'filter by FAQ');
is($t->get("$base?faq_id=nope", token => $adm)->{status}, 404,
   'filter by unknown FAQ: 404');
is($t->get("$base?limit=0", token => $adm)->{status}, 400, 'limit 0: 400');

# the limit (kefu_learned_max 3)
$r = $t->post($base, token => $adm,
              body => { faq_id => 'repay-how', question => '欠的钱怎么给回去' });
is($r->{status}, 201, 'third one added');
my $id3 = $r->{json}{id};
$r = $t->post($base, token => $adm,
              body => { faq_id => 'repay-how', question => '欠款怎样归还呢' });
is($r->{status}, 422, 'fourth: 422');
is($r->{json}{error}{code}, 'learned_limit', '  learned_limit');
is($t->redis_cmd('HLEN', 'kefu:{demo}:learned'), 3, 'still 3 in Redis');

# delete
is($t->request('DELETE', "$base/$id3", token => $adm)->{status}, 200,
   'deleted');
is($t->request('DELETE', "$base/$id3", token => $adm)->{status}, 404,
   'deleted twice: 404');
is($t->request('DELETE', "$base/zz", token => $adm)->{status}, 404,
   'bad id: 404');
is($t->request('DELETE', "$base/$id2", token => $usr)->{status}, 403,
   'user deletes: 403');
is($t->request('DELETE', "$base/$id2", token => $adm)->{status}, 200,
   'second deleted');
ok(settles($q2, 'withdraw-how', 0, 5), 'deleted: no longer answered');
ok(answered_by($odd, 'withdraw-how'), 'the first one still is');

# export round trip: same answers after a reload with the exported file
my %before;
my @probe = ($odd, $q2, '怎么还款', '提现多久到账', '花呗怎么开通',
             '我想把余额转到银行卡');
$before{$_} = ask($_) for @probe;
$r = $t->get('/kefu/v1/admin/kb/export', token => $adm);
is($r->{status}, 200, 'export');
my $exp = $r->{json};
my ($wh) = grep { $_->{id} eq 'withdraw-how' } @{ $exp->{faqs} || [] };
ok($wh && grep({ $_ eq $odd } @{ $wh->{similar} }),
   'the learned question is among withdraw-how similar');
is($t->get('/kefu/v1/admin/kb/export', token => $usr)->{status}, 403,
   'export: user 403');
open my $fh, '>:raw', $kb or die $!;
print $fh $r->{content};
close $fh;
my ($rc, $out) = $t->nginx('-t');
is($rc, 0, 'nginx -t accepts the exported file') or diag $out;
($rc, $out) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload') or diag $out;
my $same = 0;
my $deadline = time + 10;
while (time < $deadline) {
    $same = 1;
    for my $q (@probe) {
        my $a = ask($q);
        $same = 0 if ($a->{type} // '') ne ($before{$q}{type} // '')
            || ($a->{faq_id} // '') ne ($before{$q}{faq_id} // '')
            || abs(($a->{confidence} // 0) - ($before{$q}{confidence} // 0))
               > 1e-6;
    }
    last if $same && $t->get($base, token => $adm)->{json}{items}[0]{in_file};
    sleep 0.2;
}
ok($same, 'after the reload: the same answers and confidences');
is($t->get($base, token => $adm)->{json}{items}[0]{in_file}, JSON::PP::true,
   'the learned entry the file now holds is marked in_file');

# Redis down: the overlay stays, additions are refused
my $q4 = '零钱怎么弄回银行卡上';
$r = $t->post($base, token => $adm,
              body => { faq_id => 'withdraw-how', question => $q4 });
is($r->{status}, 201, 'one more added');
ok(settles($q4, 'withdraw-how', 1, 5), 'and served');
$t->stop_redis;
ok(settles($q4, 'withdraw-how', 1, 5), 'Redis down: still served');
$r = $t->post($base, token => $adm,
              body => { faq_id => 'withdraw-how', question => '别的问法' });
is($r->{status}, 503, 'Redis down: addition 503');

done_testing();
