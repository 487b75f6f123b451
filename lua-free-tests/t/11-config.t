# `nginx -t` rejects broken tenants with the file and the reason; the API
# can be mounted under any prefix.
use strict;
use warnings;
use Test::More;
use KefuTest;

my $t = KefuTest->new(no_start => 1, redis => 0, no_ssl => 1);
my $dir = $t->dir;

sub check {
    my (%o) = @_;
    local @{$t}{keys %o} = values %o;
    $t->write_file('nginx.conf', $t->conf);
    return $t->nginx('-t');
}

my ($rc, $out) = check();
is($rc, 0, 'good configuration passes nginx -t') or diag $out;

unlink "$dir/other.secret";
($rc, $out) = check();
isnt($rc, 0, 'missing secret file fails');
like($out, qr{\Q$dir/other.secret\E}, 'message names the secret file');
$t->write_file('other.secret', "short\n");
($rc, $out) = check();
isnt($rc, 0, 'short secret fails');
like($out, qr/shorter than 32 bytes.*RFC 7518/, 'message says why');
# RFC 7518 3.2: an HS256 key has at least 256 bits; 31 bytes are refused
$t->write_file('other.secret', ('z' x 31) . "\n");
($rc, $out) = check();
isnt($rc, 0, '31-byte secret fails');
like($out, qr/other\.secret.*shorter than 32 bytes/, 'and says so');
$t->write_file('other.secret', ('z' x 32) . "\n");
($rc, $out) = check();
is($rc, 0, '32-byte secret passes') or diag $out;
$t->write_file('other.secret', 'y' x 40);

($rc, $out) = check(kb => "$dir/missing-kb.json");
isnt($rc, 0, 'missing knowledge base fails');
like($out, qr{\Q$dir/missing-kb.json\E}, 'message names the KB file');

$t->write_file('dup.json', '{"version":"1","faqs":['
    . '{"id":"a","question":"怎么还款","answer":"x"},'
    . '{"id":"a","question":"怎么转账","answer":"y"}]}');
($rc, $out) = check(kb => "$dir/dup.json");
isnt($rc, 0, 'duplicate FAQ id fails');
like($out, qr{dup\.json}, 'message names the file');
like($out, qr{"?a"?.*duplicate|duplicate.*"?a"?}i, 'message names id and reason');

$t->write_file('bad-utf8.json', qq({"version":"1","faqs":[{"id":"a","question":"\xff\xfe","answer":"x"}]}));
($rc, $out) = check(kb => "$dir/bad-utf8.json");
isnt($rc, 0, 'invalid UTF-8 in the KB fails');

($rc, $out) = check(tenant_extra => "        no_such_thing 1;\n");
isnt($rc, 0, 'unknown tenant directive fails');
like($out, qr/unknown directive "no_such_thing"/, 'message names it');

($rc, $out) = check(tenant_extra => "        answer_threshold 1.5;\n");
isnt($rc, 0, 'threshold out of range fails');

($rc, $out) = check(tenant_extra => "        learn_auto_adopt yes;\n");
isnt($rc, 0, 'learn_auto_adopt takes on or off');
like($out, qr/"learn_auto_adopt" must be "on" or "off"/, 'and says so');
($rc, $out) = check(tenant_extra => "        learn_auto_adopt on;\n"
                                  . "        learn_auto_adopt off;\n");
like($out, qr/is duplicate/, 'learn_auto_adopt twice fails');
($rc, $out) = check(tenant_extra => "        learn_auto_adopt on;\n");
is($rc, 0, 'learn_auto_adopt on is accepted') or diag($out);

($rc, $out) = check(redis_directive => 'kefu_redis localhost:6379;');
isnt($rc, 0, 'redis host name refused (no DNS at run time)');

# mount anywhere
$t->{redis_port} = KefuTest::free_port();
$t->start_redis();
$t->{server_extra} = "        location /api/cs/ { kefu_api; }\n";
$t->start_nginx();
my $r = $t->get('/api/cs/v1/health');
is($r->{status}, 200, 'API under another prefix');
$r = $t->get('/api/cs/v1/whoami', token => $t->token('u9'));
is($r->{json}{user}, 'u9', 'authenticated under another prefix');

done_testing();
