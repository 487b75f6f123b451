# Foundation: routing, the JSON error contract, JWT authentication, HTTPS.
use strict;
use warnings;
use Test::More;
use KefuTest;

my $t = KefuTest->new();

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code");
    like($res->{headers}{'content-type'} || '', qr{^application/json},
         "$name: JSON content type");
}

# health needs no token and reports Redis (once the worker that answers
# has finished its own connect, a few ms after start-up)
my $r;
for (1 .. 100) {
    $r = $t->get('/kefu/v1/health');
    last if ($r->{json}{redis} // '') eq 'up';
    select(undef, undef, undef, 0.02);
}
is($r->{status}, 200, 'health 200');
is($r->{json}{status}, 'ok', 'health ok');
is($r->{json}{redis}, 'up', 'health sees redis up');

# a good token
my $tok = $t->token('u1');
$r = $t->get('/kefu/v1/whoami', token => $tok);
is($r->{status}, 200, 'whoami 200');
is($r->{json}{tenant}, 'demo', 'tenant from token');
is($r->{json}{user}, 'u1', 'user from token');
is($r->{json}{scope}, 'user', 'user scope');
ok($r->{json}{version}, 'version reported');
my $calls = $r->{json}{calls};
$r = $t->get('/kefu/v1/whoami', token => $tok);
is($r->{json}{calls}, $calls + 1, 'calls counted in redis');
is($t->redis_cmd('GET', 'kefu:{demo:u1}:calls'), $calls + 1,
   'counter under the user hash tag');

$r = $t->get('/kefu/v1/whoami', token => $t->token('boss', scope => 'admin'));
is($r->{json}{scope}, 'admin', 'admin scope');

# the same over HTTPS, and HTTP/2 through curl when it can
$r = $t->get('/kefu/v1/whoami', token => $tok, https => 1);
is($r->{status}, 200, 'whoami over https');
SKIP: {
    my $v = `curl --version 2>/dev/null`;
    skip 'curl without HTTP/2', 2 unless $v =~ /HTTP2/;
    my $out = `curl -sk --http2 -o /dev/null -w '%{http_version} %{http_code}' -H 'Authorization: Bearer $tok' https://127.0.0.1:$t->{https_port}/kefu/v1/whoami`;
    is($out, '2 200', 'whoami over HTTP/2');
    $out = `curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' http://127.0.0.1:$t->{http_port}/kefu/v1/health`;
    ok($out eq '200' || $out eq '000', 'h2c is not configured, nothing breaks');
}

# mount prefix: the same API under another location
# (routes are found after "/v1/", whatever the prefix)

# bad tokens
err_is($t->get('/kefu/v1/whoami'), 401, 'missing_token', 'no token');
err_is($t->get('/kefu/v1/whoami', headers => { Authorization => 'Basic dTpw' }),
       401, 'invalid_token', 'basic auth');
err_is($t->get('/kefu/v1/whoami', token => 'abc.def'), 401, 'invalid_token',
       'garbled');
err_is($t->get('/kefu/v1/whoami', token => 'a' x 5000), 401, 'invalid_token',
       'oversized');
err_is($t->get('/kefu/v1/whoami', token => $t->token('u1', ttl => -600)),
       401, 'invalid_token', 'expired');
$r = $t->get('/kefu/v1/whoami', token => $t->token('u1', ttl => -5));
is($r->{status}, 200, 'expired within the clock-skew leeway');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', extra => ['--nbf-offset', 3600])),
       401, 'invalid_token', 'not yet valid');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', extra => ['--no-exp'])),
       401, 'invalid_token', 'no exp');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', secret_file => $t->dir . '/other.secret')),
       401, 'invalid_token', 'wrong signature');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', extra => ['--alg', 'none'])),
       401, 'invalid_token', 'alg none');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', extra => ['--alg', 'HS512'])),
       401, 'invalid_token', 'alg HS512');
err_is($t->get('/kefu/v1/whoami',
               token => $t->token('u1', tenant => 'nosuch',
                                  secret_file => $t->dir . '/demo.secret')),
       401, 'invalid_token', 'unknown tenant');
$r = $t->get('/kefu/v1/whoami', token => $tok);
is($r->{headers}{'www-authenticate'}, undef, 'no challenge on success');
$r = $t->get('/kefu/v1/whoami');
like($r->{headers}{'www-authenticate'} || '', qr/^Bearer/, 'Bearer challenge');

# tenants are told apart by the token only
$r = $t->get('/kefu/v1/whoami', token => $t->token('u1', tenant => 'other'));
is($r->{json}{tenant}, 'other', 'other tenant');
is($t->redis_cmd('GET', 'kefu:{other:u1}:calls'), 1,
   'other tenant has its own counter');

# routing and methods
err_is($t->get('/kefu/v1/nosuch', token => $tok), 404, 'not_found', 'unknown');
err_is($t->get('/kefu/nothing'), 404, 'not_found', 'no /v1/');
$r = $t->post('/kefu/v1/whoami', token => $tok, body => {});
err_is($r, 405, 'method_not_allowed', 'POST whoami');
is($r->{headers}{allow}, 'GET', 'Allow header');

ok(!$t->bad_log_lines, 'no alert/crit/sanitizer lines in error.log')
    or diag(join "\n", $t->bad_log_lines);

done_testing();
