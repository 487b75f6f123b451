# Secrets stay out of `nginx -T` and the logs; oversized input is refused
# with a JSON error.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;

# the README's rate-limit configuration (Security): per token signature
# and per address, 429 as a JSON error
my $limits = <<'EOF';
    map $http_authorization $kefu_token_sig {
        "~\.(?<sig>[A-Za-z0-9_-]{43})$"  $sig;
        default                           "";
    }
    limit_req_zone $kefu_token_sig zone=kefu_user:10m rate=1r/m;
    limit_req_zone $binary_remote_addr zone=kefu_addr:10m rate=100r/s;
    limit_req_status 429;
EOF
my $limited = <<'EOF';
        location /limited/ {
            limit_req zone=kefu_user;
            limit_req zone=kefu_addr burst=50 nodelay;
            error_page 429 = @kefu_429;
            kefu_api;
        }
        location @kefu_429 {
            default_type application/json;
            charset utf-8;
            charset_types application/json;
            add_header Retry-After 60 always;
            return 429 '{"error":{"code":"rate_limited","message":"too many requests"}}\n';
        }
EOF
my $t = KefuTest->new(no_start => 1, http_extra => $limits,
                      server_extra => $limited);
my $d = $t->dir;
my $secret = $t->read_file('demo.secret');
chomp $secret;
my $redis_pass = 'redis-pass-' . ('q' x 20);
$t->write_file('redis.pass', "$redis_pass\n");

# nginx -T prints the configuration, which names the files only
{
    local $t->{redis_directive} = "kefu_redis 127.0.0.1:$t->{redis_port} "
        . "password_file=$d/redis.pass timeout=300ms;";
    $t->write_file('nginx.conf', $t->conf);
    my ($rc, $out) = $t->nginx('-T');
    is($rc, 0, 'nginx -T') or diag $out;
    like($out, qr/jwt_secret_file \Q$d\E\/demo\.secret/, 'secret file named');
    unlike($out, qr/\Q$secret\E/, 'no JWT secret in nginx -T');
    unlike($out, qr/\Q$redis_pass\E/, 'no Redis password in nginx -T');
}

$t->start_nginx;
my $tok = $t->token('sec-user');
my $admin = $t->token('sec-admin', scope => 'admin');
my $expired = $t->token('sec-user', ttl => -120);
(my $forged = $tok) =~ s/.{4}$/AAAA/;

is($t->get('/kefu/v1/whoami', token => $tok)->{status}, 200, 'good token');
is($t->get('/kefu/v1/whoami', token => $expired)->{status}, 401, 'expired');
is($t->get('/kefu/v1/whoami', token => $forged)->{status}, 401, 'forged');
is($t->post('/kefu/v1/admin/search', token => $admin,
             body => { question => '怎么还款' })->{status}, 200, 'admin');

# limits: token size, body size, JSON depth and width, question length
my $r = $t->get('/kefu/v1/whoami', token => 'a' x 5000);
is($r->{status}, 401, 'token over 4 KiB refused');
is($r->{json}{error}{code}, 'invalid_token', 'as invalid_token');
$r = $t->post('/kefu/v1/ask', token => $tok,
              body => '{"question":"' . ('x' x 70000) . '"}');
is($r->{status}, 413, 'body over kefu_max_body');
$r = $t->post('/kefu/v1/ask', token => $tok,
              body => ('[' x 50) . (']' x 50));
is($r->{status}, 400, 'deep JSON refused');
$r = $t->post('/kefu/v1/ask', token => $tok,
              body => '{' . join(',', map { qq("k$_":1) } 1 .. 300) . '}');
is($r->{status}, 400, 'wide JSON refused');
$r = $t->post('/kefu/v1/ask', token => $tok,
              body => { question => '问' x 501 });
is($r->{status}, 400, 'question over 500 characters refused');
like($r->{json}{error}{message} // '', qr/question/, 'message names it');

# rate limits keyed by the token's signature: one user, not the others
$r = $t->get('/limited/v1/whoami', token => $tok);
is($r->{status}, 200, 'first request of a user passes');
$r = $t->get('/limited/v1/whoami', token => $tok);
is($r->{status}, 429, 'second one within the minute: 429');
is($r->{json}{error}{code}, 'rate_limited', 'as a JSON error');
like($r->{headers}{'content-type'}, qr{^application/json; charset=utf-8},
     'JSON content type');
is($t->get('/limited/v1/whoami', token => $t->token('other-user'))
       ->{status}, 200, 'another user is not limited');
is($t->get('/limited/v1/health')->{status}, 200,
   'no token: only the address limit applies');

# nothing secret reached the logs
$t->stop_nginx;
my $logs = $t->error_log . $t->read_file('logs/access.log');
ok(length $logs > 0, 'logs written');
for my $s ([$secret, 'JWT secret'], [$tok, 'user token'],
           [$admin, 'admin token'], [$forged, 'forged token'],
           [(split /\./, $tok)[2], 'token signature'])
{
    unlike($logs, qr/\Q$s->[0]\E/, "no $s->[1] in the logs");
}

done_testing();
