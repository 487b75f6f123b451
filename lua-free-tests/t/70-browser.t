# The chat page and the trainer's console in a real browser: Debian's
# chromium driven by puppeteer-core (lua-free-tests/browser/pages.mjs)
# against nginx + the module + Redis, the pages served by the demo's own
# web configuration (demo/web.conf.in).  The driver prints one line per
# check; this file asserts them and looks into Redis: one report for the
# Idempotency-Key although the first response was lost, the feedback, the
# closed ticket; 知识学习: adopt, dismiss, export, delete.  Screenshots: build/screenshots/; the README's picture:
# docs/web.png.
use strict;
use warnings;
use utf8;
use Test::More;
use JSON::PP;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $TOP = $KefuTest::TOP;
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
my $npm = "$TOP/build/browser-npm";
my $webnpm = "$TOP/build/web-npm";
# missing tools fail this file (make test installs them), not the run
my @missing = grep { !$_->[0] } (
    [-x $chromium, "$chromium (make deps)"],
    [-d "$npm/node_modules/puppeteer-core", 'puppeteer-core (make browser-npm)'],
    [-d "$webnpm/node_modules/echarts", 'echarts (make web-npm)']);
if (@missing) {
    fail("missing: $_->[1]") for @missing;
    done_testing;
    exit;
}

my $web = do {
    open my $fh, '<', "$TOP/demo/web.conf.in" or die $!;
    local $/;
    <$fh>;
};
$web =~ s/\@WEB\@/$TOP\/web/g;
$web =~ s/\@WEBNPM\@/$webnpm/g;

my $t = KefuTest->new(no_ssl => 1, server_extra => $web);
my $user = $t->token('u1');
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $user, 10, 4)
    // die 'Redis not connected';

# the static files, with their headers
my $r = $t->get('/kefu/web/chat.html');
is($r->{status}, 200, 'chat page served');
like($r->{headers}{'content-security-policy'} // '',
     qr/default-src 'self';.*script-src 'self';.*style-src 'self';/,
     'strict CSP on the page');
unlike($r->{headers}{'content-security-policy'} // '', qr/unsafe/,
       'no unsafe-inline or unsafe-eval');
is($r->{headers}{'cache-control'}, 'no-cache', 'pages are revalidated');
is($t->get('/kefu/web/')->{status}, 200, 'the folder opens the chat page');
is($t->get('/kefu/web/package.json')->{status}, 404, 'no npm manifest');
$r = $t->get('/kefu/web/vendor/echarts-6.1.0/echarts.common.min.js');
is($r->{status}, 200, 'chart library served from our nginx');
like($r->{headers}{'cache-control'} // '', qr/immutable/,
     'the versioned library is cached for good');
for my $f (qw(chat.html console.html)) {
    my $html = $t->get("/kefu/web/$f")->{content};
    unlike($html, qr/<script(?![^>]*\bsrc=)|\sstyle=|\son[a-z]+=/i,
           "$f: no inline script, style or handler");
    unlike($html, qr/\b(?:src|href)="(?:https?:)?\/\//i,
           "$f: nothing from another origin");
}

# 20 older reports of other users (one each: loss_reports_per_day): the
# console's list has two pages
for my $i (1 .. 20) {
    my $res = $t->post('/kefu/v1/loss-reports', token => $t->token("o$i"),
                       headers => {'Idempotency-Key' => "older-$i"},
                       body => {kind => 'account', reason => 'lost'});
    $res->{status} == 201 or die "report: $res->{content}";
}
# (the user's report comes seconds later: the newest, first on page 1)

my $shots = "$TOP/build/screenshots";
my %env = (
    KEFU_BASE => $t->url('/kefu/web/'),
    KEFU_API => $t->url('/kefu/v1/'),
    KEFU_USER_TOKEN => $user,
    KEFU_ADMIN_TOKEN => $t->token('trainer', scope => 'admin'),
    KEFU_PLAIN_TOKEN => $t->token('u2'),
    KEFU_RISK_TOKEN => $t->token('u4'),
    KEFU_EXPIRED_TOKEN => $t->token('u1', ttl => -120),
    KEFU_OTHER_ADMIN => $t->token('boss', tenant => 'other',
                                  scope => 'admin'),
    KEFU_SHOTS => $shots,
    KEFU_DOC_SHOT => "$TOP/docs/web.png",
    KEFU_PROFILE => $t->dir . '/chromium-profile',
    KEFU_WEB => "$TOP/web",
    BROWSER_NPM => $npm,
    CHROMIUM => $chromium,
);
my $started = time;
my $out = do {
    local @ENV{keys %env} = values %env;
    `node $TOP/lua-free-tests/browser/pages.mjs 2>&1`;
};
my $rc = $? >> 8;
note('browser run: ' . (time - $started) . ' s');
utf8::decode($out);

my (%value, $checks);
for my $line (split /\n/, $out) {
    if ($line =~ /^check ([01]) (\S+(?: \S+)*?)(?: ([\[\{"].*))?$/) {
        $checks++;
        ok($1, $2) or diag($3 // '');
    } elsif ($line =~ /^value (\S+) (.*)$/) {
        $value{$1} = JSON::PP->new->allow_nonref->decode($2);
    } elsif ($line =~ /^fatal (.*)$/) {
        fail('browser run: ' . JSON::PP->new->allow_nonref->decode($1));
    } else {
        note($line);
    }
}
is($rc, 0, 'the driver exited cleanly');
cmp_ok($checks // 0, '>=', 71, 'every browser check ran');

# --- Redis: what the pages did ------------------------------------------

my $id = $value{report_id} // '';
my $key = $value{idempotency_key} // '';
my $entries = $t->stream_all('demo', 'reports');
my @mine = grep { my %f = @{ $_->[1] }; ($f{user} // '') eq 'u1' }
    @{ $entries || [] };
is(scalar @mine, 1,
   'exactly one report although the first response was lost');
my $idem = $t->redis_cmd('HGET',
    KefuTest::okey('demo', 'lr:idem', 'u1', $key), 'id');
is($idem, $id, 'the Idempotency-Key the page kept names that report');
is($t->redis_cmd('HGET', KefuTest::id_key('demo', 'lr', $id), 'user'), 'u1',
   'the report is the user\'s');
is($t->redis_cmd('HGET', KefuTest::id_key('demo', 'lr', $id), 'status'), 'processing',
   'the back office changed its status');
is($t->redis_cmd('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1'), 1,
   'the user is frozen');
my $fb = $t->redis_cmd('HGET',
                       KefuTest::okey('demo', 'fb', 'u1', $value{session} // ''),
                       $value{feedback_turn} // 0) // '';
like($fb, qr/^1:\d{8}$/, 'the helpful verdict (1) is stored');
if ($value{ticket_id}) {
    ok(!grep({ $_->[0] eq $value{ticket_id} } @{ $t->queue_all('demo') }),
       'the closed ticket left the queue');
}
is(scalar @{ $t->stream_all('other', 'reports') }, 0,
   'nothing written for the other tenant');
my $other_sugg = $t->get('/kefu/v1/admin/kb/similar',
                         token => $env{KEFU_OTHER_ADMIN});
is($other_sugg->{json}{total}, 0, 'nothing learned for the other tenant');

ok(-s "$shots/$_", "screenshot $_")
    for map { ("$_-360x640.png", "$_-1280x800.png") }
        qw(chat-suggestions chat-report console-dashboard console-search
           console-reports console-queue console-learn console-forbidden);
ok(-s "$TOP/docs/web.png", 'the README picture');

done_testing;
