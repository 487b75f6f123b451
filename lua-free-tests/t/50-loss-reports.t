# One-click loss reports: create, idempotent replay, conflict, the owner's
# view, isolation between users and tenants, the back office's lifecycle
# and bad input that writes nothing.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1, server_extra =>
    "        location /m2 { kefu_api; }\n"
    . "        location = /ex/v1/loss-reports { kefu_api; }\n"
    . "        location ~ ^/rx/ { kefu_api; }\n");
my $tok = $t->token('u1');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
$t->redis_cmd('FLUSHALL');      # what whoami counted

sub report {
    my ($body, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{'Idempotency-Key'} = $o{key} if defined $o{key};
    return $t->post('/kefu/v1/loss-reports', token => $o{token} || $tok,
                    body => $body, headers => \%h);
}

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

# --- bad input first, on an empty Redis: nothing may be written -------

is($t->redis_cmd('DBSIZE'), 0, 'Redis starts empty');

my %ok = (kind => 'phone', reason => 'lost');
err_is(report({ %ok }), 400, 'invalid_idempotency_key', 'no key');
err_is(report({ %ok }, key => ''), 400, 'invalid_idempotency_key',
       'empty key');
err_is(report({ %ok }, key => 'k' x 256), 400, 'invalid_idempotency_key',
       '256-character key');
# keys HTTP::Tiny refuses to send go over a raw connection
sub raw_report {
    my ($key) = @_;
    my $b = '{"kind":"phone","reason":"lost"}';
    my ($st, $body) = $t->raw("POST /kefu/v1/loss-reports HTTP/1.0\r\n"
        . "Host: x\r\nAuthorization: Bearer $tok\r\n"
        . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
        . "Content-Length: " . length($b) . "\r\n\r\n$b");
    return { status => $st, json => eval { $KefuTest::JSON->decode($body) } };
}
err_is(raw_report("k\x7f"), 400, 'invalid_idempotency_key', 'DEL in the key');
err_is(raw_report("\xe9\x92\xa5"), 400, 'invalid_idempotency_key',
       'non-ASCII key');
err_is(raw_report("a\tb"), 400, 'invalid_idempotency_key', 'tab in the key');
err_is($t->post('/kefu/v1/loss-reports', token => $tok, body => {%ok},
                headers => { 'Idempotency-Key' => ['a', 'b'] }),
       400, 'invalid_idempotency_key', 'two keys');
err_is(report({ kind => 'wallet', reason => 'lost' }, key => 'b1'), 400,
       'invalid_request', 'unknown kind');
err_is(report({ kind => 'phone', reason => 'eaten' }, key => 'b2'), 400,
       'invalid_request', 'unknown reason');
err_is(report({ reason => 'lost' }, key => 'b3'), 400, 'invalid_request',
       'kind missing');
err_is(report({ kind => 'card', reason => 'lost' }, key => 'b4'), 400,
       'invalid_request', 'card without card_last4');
my $n = 0;
for my $c ('123', '12345', '12a4', '１２３４', '', ' 1234') {
    err_is(report({ kind => 'card', reason => 'lost', card_last4 => $c },
                  key => 'b5-' . $n++),
           400, 'invalid_request', "card_last4 \"$c\"");
}
err_is(report({ kind => 'card', reason => 'lost', card_last4 => 1234 },
              key => 'b6'), 400, 'invalid_request', 'card_last4 a number');
err_is(report({ kind => 'phone', reason => 'lost', card_last4 => '1234' },
              key => 'b7'), 400, 'invalid_request', 'card_last4 with phone');
err_is(report({ %ok, note => '丢' x 501 }, key => 'b8'), 400,
       'invalid_request', '501-character note');
err_is(report({ %ok, note => 'x' x 60000 }, key => 'b9'), 400,
       'invalid_request', 'huge note');
err_is(report({ %ok, police_report => 'yes' }, key => 'b10'), 400,
       'invalid_request', 'police_report a string');
err_is(report({ kind => ['phone'], reason => 'lost' }, key => 'b11'), 400,
       'invalid_request', 'kind an array');
err_is(report({ %ok, user => 'u2' }, key => 'b12'), 400, 'invalid_request',
       'unknown field (no user from the body)');
err_is($t->post('/kefu/v1/loss-reports', token => $tok, body => '{"kind":',
                headers => { 'Idempotency-Key' => 'b13' }),
       400, 'invalid_json', 'malformed JSON');
err_is($t->post('/kefu/v1/loss-reports', body => {%ok},
                headers => { 'Idempotency-Key' => 'b14' }),
       401, 'missing_token', 'no token');
err_is($t->get('/kefu/v1/loss-reports', token => $tok), 405,
       'method_not_allowed', 'GET on the collection');
is($t->redis_cmd('DBSIZE'), 0, 'nothing written for rejected requests');

# --- create ------------------------------------------------------------

my $body = { kind => 'card', reason => 'stolen', card_last4 => '0427',
             police_report => JSON::PP::true, note => '在地铁上被偷' };
my $r = report($body, key => 'key-1');
is($r->{status}, 201, 'created');
my $rep = $r->{json};
like($rep->{id}, qr/^[0-9]{2}[0-9a-f]{32}$/,
     'unguessable id (128 random bits after the bucket)');
is(substr($rep->{id}, 0, 2), KefuTest::bucket('u1'), "the user's bucket");
is($rep->{status}, 'received', 'status received');
is($rep->{frozen}, JSON::PP::true, 'frozen');
is($rep->{kind}, 'card', 'kind');
is($rep->{reason}, 'stolen', 'reason');
is($rep->{card_last4}, '0427', 'card_last4');
is($rep->{police_report}, JSON::PP::true, 'police report');
is($rep->{note}, '在地铁上被偷', 'note');
like($rep->{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'created_at ISO 8601');
is($r->{headers}{location}, "/kefu/v1/loss-reports/$rep->{id}",
   'Location of the new report');
ok(!$r->{headers}{'idempotent-replayed'}, 'not a replay');
my $id = $rep->{id};

my %rec = @{ $t->redis_cmd('HGETALL', KefuTest::id_key('demo', 'lr', $id)) };
is($rec{user}, 'u1', 'record: user from the token');
is($rec{tenant}, 'demo', 'record: tenant');
is($rec{status}, 'received', 'record: status');
is($rec{idempotency_key}, 'key-1', 'record: idempotency key');
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1'), 1,
   'the user is frozen');
my $idem = $t->redis_cmd('HGETALL', KefuTest::okey('demo', 'lr:idem', 'u1', 'key-1'));
is({@$idem}->{id}, $id, 'idempotency record points at the report');
like({@$idem}->{fp}, qr/^[0-9a-f]{64}$/, 'with the body fingerprint');
my $ttl = $t->redis_cmd('TTL', KefuTest::okey('demo', 'lr:idem', 'u1', 'key-1'));
ok($ttl > 86000 && $ttl <= 86400, "idempotency record kept 24 h ($ttl)");
my $xs = $t->redis_cmd('XRANGE', KefuTest::bkey('demo', 'u1', 'reports'),
                        '-', '+');
is(scalar @$xs, 1, 'one back-office stream entry');
my %ev = @{ $xs->[0][1] };
is($ev{id}, $id, 'stream entry names the report');
is($ev{user}, 'u1', 'and the user');
is($ev{kind}, 'card', 'and the kind');
is($xs->[0][0], $rec{stream_id}, 'record keeps its stream id');
my $ps = $t->redis_cmd('XRANGE', KefuTest::bkey('demo', 'u1', 'police'),
                        '-', '+');
is(scalar @$ps, 1, 'one police stream entry');

# --- replay and conflict ----------------------------------------------

$r = report({ note => '在地铁上被偷', police_report => JSON::PP::true,
              card_last4 => '0427', reason => 'stolen', kind => 'card' },
            key => 'key-1');
is($r->{status}, 200, 'same key, same body (other key order): 200');
is($r->{headers}{'idempotent-replayed'}, 'true', 'Idempotent-Replayed');
is($r->{json}{id}, $id, 'the same report');
is_deeply($r->{json}, $rep, 'the same representation');

$r = report({ %$body, card_last4 => '0428' }, key => 'key-1');
err_is($r, 422, 'idempotency_conflict', 'same key, other body');
is(scalar @{ $t->stream_all('demo', 'reports') }, 1,
   'still one stream entry');
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1'), 1,
   'frozen count unchanged');

# the key is per user: another user's key-1 is a new report
my $tok2 = $t->token('u2');
$r = report({ kind => 'phone', reason => 'lost' }, key => 'key-1',
            token => $tok2);
is($r->{status}, 201, 'the same key for another user is another report');
my $id2 = $r->{json}{id};
isnt($id2, $id, 'other id');
ok(!exists $r->{json}{card_last4}, 'no card_last4 for a phone');
is($r->{json}{police_report}, JSON::PP::false, 'police_report false');

# police_report false equals its absence
$r = report({ kind => 'phone', reason => 'lost',
              police_report => JSON::PP::false }, key => 'key-1',
            token => $tok2);
is($r->{status}, 200, 'explicit default is the same request');
is($r->{json}{id}, $id2, 'same report');

# --- the owner's view and isolation -----------------------------------

$r = $t->get("/kefu/v1/loss-reports/$id", token => $tok);
is($r->{status}, 200, 'owner reads the report');
is_deeply($r->{json}, $rep, 'as created');

err_is($t->get("/kefu/v1/loss-reports/$id", token => $tok2), 404,
       'not_found', 'another user');
err_is($t->get("/kefu/v1/loss-reports/$id",
               token => $t->token('u1', tenant => 'other')),
       404, 'not_found', 'the same user id in another tenant');
err_is($t->get('/kefu/v1/loss-reports/' . ('0' x 32), token => $tok), 404,
       'not_found', 'unknown id');
err_is($t->get('/kefu/v1/loss-reports/..%2f..%2fetc', token => $tok), 404,
       'not_found', 'garbage id');
err_is($t->get("/kefu/v1/loss-reports/\U$id", token => $tok), 404,
       'not_found', 'upper-case id');
err_is($t->get("/kefu/v1/admin/loss-reports/$id", token => $tok), 403,
       'forbidden', 'back office needs an admin token');
err_is($t->get("/kefu/v1/admin/loss-reports/$id",
               token => $t->token('ops', tenant => 'other',
                                  scope => 'admin')),
       404, 'not_found', "another tenant's back office");

# --- the back office's lifecycle --------------------------------------

my $adm = $t->token('ops', scope => 'admin');
sub change {
    my ($rid, $b) = @_;
    return $t->post("/kefu/v1/admin/loss-reports/$rid", token => $adm,
                    body => $b);
}

$r = $t->get("/kefu/v1/admin/loss-reports/$id", token => $adm);
is($r->{status}, 200, 'admin reads the report');
is($r->{json}{user}, 'u1', 'admin view names the user');

$r = change($id, { status => 'processing' });
is($r->{status}, 200, 'received -> processing');
is($r->{json}{status}, 'processing', 'status now processing');
err_is(change($id, { status => 'received' }), 409, 'invalid_transition',
       'no way back');
err_is(change($id, { frozen => JSON::PP::false }), 409,
       'invalid_transition', 'a stolen card stays blocked');
err_is(change($id, { status => 'lost' }), 400, 'invalid_request',
       'unknown status');
err_is(change($id, {}), 400, 'invalid_request', 'nothing to change');
err_is(change($id, { status => 'closed', extra => 1 }), 400,
       'invalid_request', 'unknown field');
err_is(change('f' x 32, { status => 'closed' }), 404, 'not_found',
       'unknown report');

# a phone freeze is reversible; the user's frozen flag follows
$r = change($id2, { frozen => JSON::PP::false });
is($r->{status}, 200, 'phone unfrozen');
is($r->{json}{frozen}, JSON::PP::false, 'frozen false');
ok(!defined $t->redis_cmd('HGET', KefuTest::bkey('demo', 'u2', 'frozen'), 'u2'),
   'u2 no longer frozen');
$r = change($id2, { frozen => JSON::PP::true });
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u2', 'frozen'), 'u2'), 1, 'frozen again');
$r = change($id2, { frozen => JSON::PP::true });
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u2', 'frozen'), 'u2'), 1,
   'setting the same value counts once');
$r = change($id2, { status => 'closed', frozen => JSON::PP::false });
is($r->{json}{status}, 'closed', 'closed');
is($r->{json}{frozen}, JSON::PP::false, 'and unfrozen in one step');
err_is(change($id2, { status => 'processing' }), 409, 'invalid_transition',
       'closed is final');
err_is(change($id2, { frozen => JSON::PP::true }), 409,
       'invalid_transition', 'a closed report does not freeze again');

$r = $t->get("/kefu/v1/loss-reports/$id2", token => $tok2);
is($r->{json}{status}, 'closed', 'the owner sees the new status');
ok($r->{json}{updated_at} ge $r->{json}{created_at}, 'updated_at');

# the day's counter, exactly once per report (not per replay)
my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
is($t->day_sum('demo', $day, 'loss_reports'), 2,
   'two loss reports counted');
is($t->day_sum('demo', $day, 'police_reports'), 1,
   'one police report counted');

# --- Location: the mount as configured, never the request URI ----------

# a raw request, so that the URI goes out byte for byte; the headers back
sub raw_post {
    my ($uri, $key) = @_;
    my $b = '{"kind":"phone","reason":"fraud"}';
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{http_port}, Timeout => 5)
        or die "connect: $!";
    print $s "POST $uri HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer $tok\r\n"
        . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
        . "Content-Length: " . length($b) . "\r\n\r\n$b";
    local $/;
    my $resp = <$s> // '';
    my ($st) = $resp =~ m{^HTTP/1\.[01] (\d+)};
    my ($loc) = $resp =~ m{\r\nLocation: ([^\r\n]*)\r\n}i;
    my ($id) = $resp =~ m{"id":"([0-9]{2}[0-9a-f]{32})"};
    return ($st // 0, $loc // '', $id // '');
}

my %mounts = (
    '/kefu//./v1/loss-reports?next=%0d%0aSet-Cookie:x' => '/kefu/',
    '/kefu/%E4%BD%A0/../v1/loss-reports' => '/kefu/',
    '/kefu/a%2Fb/v1/loss-reports' => '/kefu/',
    '/kefu/x%0d%0ay/v1/loss-reports' => '/kefu/',
    '/m2/v1/loss-reports' => '/m2/',
    '/m2//v1/loss-reports' => '/m2/',
    '/ex/v1/loss-reports' => '/ex/',
);
$n = 0;
for my $uri (sort keys %mounts) {
    my ($st, $loc, $lid) = raw_post($uri, 'loc-' . $n++);
    is($st, 201, "created under $uri");
    is($loc, "$mounts{$uri}v1/loss-reports/$lid",
       "Location from the mount for $uri");
}
my ($st, $loc, $lid) = raw_post('/rx/v1/loss-reports', 'loc-rx');
is($st, 201, 'created under a regex location');
is($loc, "loss-reports/$lid", 'a relative Location there');
$r = $t->get("/kefu/v1/loss-reports/$lid", token => $tok);
is($r->{json}{id}, $lid, 'the report is where Location points');

done_testing();
