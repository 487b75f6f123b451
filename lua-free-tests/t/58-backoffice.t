# The back office: loss reports listed newest first with cursor paging
# and a status filter, the agent queue's tickets in queue order with
# their turns, closing a ticket, admin-only and per tenant, 405 + Allow.
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(sleep);
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1);
my $tok = $t->token('u1');

# both workers connected to Redis before the first request
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $tok, 10, 4)
    // die 'Redis not connected';
$t->redis_cmd('FLUSHALL');

my $adm = $t->token('ops', scope => 'admin');
my $admB = $t->token('ops', tenant => 'other', scope => 'admin');

sub err_is {
    my ($res, $status, $code, $name) = @_;
    is($res->{status}, $status, "$name: status $status");
    is(($res->{json} || {})->{error}{code}, $code, "$name: code $code")
        or diag($res->{content});
}

my $n = 0;
sub report {
    my ($user, %o) = @_;
    my $r = $t->post('/kefu/v1/loss-reports',
                     token => $t->token($user, %o),
                     headers => { 'Idempotency-Key' => 'k' . $n++ },
                     body => { kind => 'phone', reason => 'lost' });
    die "report failed: $r->{content}" unless $r->{status} == 201;
    return $r->{json}{id};
}

sub list {
    my ($q, %o) = @_;
    return $t->get("/kefu/v1/admin/loss-reports$q",
                   token => $o{token} || $adm);
}

# every page of a list; dies on a non-200 page
sub pages {
    my ($path, $q, %o) = @_;
    my (@pages, $cursor);
    for (1 .. 50) {
        my $r = $t->get("/kefu/v1/admin/$path?$q"
                        . (defined $cursor ? "&cursor=$cursor" : ''),
                        token => $o{token} || $adm);
        die "page: $r->{status} $r->{content}" unless $r->{status} == 200;
        push @pages, $r->{json}{items};
        $o{between}->() if $o{between} && @pages == 1;
        $cursor = $r->{json}{next_cursor};
        last unless defined $cursor;
    }
    return @pages;
}

sub ids { map { $_->{id} } map { @$_ } @_ }

# --- loss reports: paging newest first --------------------------------

my @ids = map { report("u$_") } 1 .. 8;
my %owner = map { $ids[$_ - 1] => "u$_" } 1 .. 8;
my $otherid = report('u1', tenant => 'other');

# expected: created_at, then id, both descending
my %created;
sub newest_first {
    for my $id (@_) {
        $created{$id} //= $t->redis_cmd('HGET',
                                        KefuTest::id_key('demo', 'lr', $id),
                                        'created_at');
    }
    return sort { $created{$b} <=> $created{$a} || $b cmp $a } @_;
}
my @newest = newest_first(@ids);

my $r = list('');
is($r->{status}, 200, 'list: 200');
is_deeply([ids($r->{json}{items})], \@newest,
          'all reports, newest first (then by id)');
is($r->{json}{next_cursor}, undef, 'one page under the default limit');
is($r->{json}{items}[0]{user}, $owner{$newest[0]},
   'the admin view of a report');
is_deeply($r->{json}{items}[0],
          $t->get("/kefu/v1/admin/loss-reports/$newest[0]",
                  token => $adm)->{json},
          'an item is the report as GET /v1/admin/loss-reports/{id} has it');

my @p = pages('loss-reports', 'limit=3');
is(scalar @p, 3, 'limit 3: three pages for 8 reports');
is_deeply([map { scalar @$_ } @p], [3, 3, 2], 'of 3, 3 and 2');
is_deeply([ids(@p)], \@newest, 'the pages in order, none repeated');

# a report created while paging does not shift the later pages
my $late;
@p = pages('loss-reports', 'limit=3',
           between => sub { $late = report('u9') });
my @seen = grep { $_ ne $late } ids(@p);
is_deeply(\@seen, \@newest,
          'a report arriving between pages: nothing repeated or skipped');

# --- the status filter follows the lifecycle --------------------------

sub change {
    my ($id, $b) = @_;
    my $r = $t->post("/kefu/v1/admin/loss-reports/$id", token => $adm,
                     body => $b);
    die "change: $r->{content}" unless $r->{status} == 200;
}
change($newest[1], { status => 'processing' });
change($newest[4], { status => 'processing' });
change($newest[6], { status => 'closed' });

my @all = newest_first($late, @ids);
my @received = grep { $_ ne $newest[1] && $_ ne $newest[4]
                      && $_ ne $newest[6] } @all;
@p = pages('loss-reports', 'status=received&limit=2');
is(scalar @p, 3, 'received, limit 2: three pages for 6 reports');
is_deeply([ids(@p)], \@received, 'only the received ones, newest first');

@p = pages('loss-reports', 'status=processing&limit=1');
is_deeply([ids(@p)], [$newest[1], $newest[4]],
          'processing: the two moved there, one per page');
@p = pages('loss-reports', 'status=closed');
is_deeply([ids(@p)], [$newest[6]], 'closed: the closed one');
is($p[0][0]{status}, 'closed', 'with its status');

change($newest[1], { status => 'closed' });
is_deeply([ids(pages('loss-reports', 'status=processing'))], [$newest[4]],
          'processing -> closed: gone from the processing list');
is_deeply([ids(pages('loss-reports', 'status=closed'))],
          [$newest[1], $newest[6]], 'and in the closed list, newest first');
is(scalar(ids(pages('loss-reports', 'limit=100'))), 9,
   'the unfiltered list keeps every report');

# an index entry whose report is gone is skipped (and so is a report
# written before the index: it is not listed until the back office
# changes it)
$t->redis_cmd('DEL', KefuTest::id_key('demo', 'lr', $newest[2]));
my $stray = '999999999999.00' . ('a' x 32);
$t->redis_cmd('ZADD', 'kefu:{demo#00}:lr:ix', 0, $stray);
$r = list('?limit=3');
is(scalar @{ $r->{json}{items} }, 2,
   'a page with a vanished report and a stray entry shows the rest');
is_deeply([ids(pages('loss-reports', 'limit=4'))],
          [grep { $_ ne $newest[2] } @all],
          'the vanished report is skipped, the paging goes on');
$t->redis_cmd('ZREM', 'kefu:{demo#00}:lr:ix', $stray);

# a report older than the index joins it when the back office changes it
my $member = sprintf '%012d.%s', $created{$newest[3]}, $newest[3];
my $ix = 'kefu:{demo#' . substr($newest[3], 0, 2) . '}:lr:ix';
$t->redis_cmd('ZREM', $ix, $member);
$t->redis_cmd('ZREM', "$ix:received", $member);
ok(!grep({ $_ eq $newest[3] } ids(pages('loss-reports', 'limit=100'))),
   'a report missing from the index is not listed');
change($newest[3], { status => 'processing' });
ok(scalar(grep { $_ eq $newest[3] } ids(pages('loss-reports', 'limit=100'))),
   'after a change it is listed');
is_deeply([ids(pages('loss-reports', 'status=processing'))],
          [grep { $_ eq $newest[3] || $_ eq $newest[4] } @all],
          'under its new status');

# bounded page size, bad queries
is(scalar @{ list('?limit=1')->{json}{items} }, 1, 'limit=1: one item');
my $before = $t->redis_cmd('DBSIZE');
for my $q ('limit=0', 'limit=101', 'limit=abc', 'limit=', 'limit=-1',
           'limit=1000', 'status=lost', 'status=', 'status=RECEIVED',
           'cursor=abc', 'cursor=', 'cursor=' . ('0' x 12) . '.xyz',
           'cursor=123.' . ('a' x 34), 'cursor=' . ('0' x 12) . '.' . ('a' x 34),
           'cursor=' . ('0' x 12) . '.99' . ('0' x 32))
{
    err_is(list("?$q"), 400, 'invalid_request', "?$q");
}
is($t->redis_cmd('DBSIZE'), $before, 'bad queries wrote nothing');
is(list('?cursor=' . ('0' x 12) . '.' . ('0' x 34))->{json}{next_cursor},
   undef, 'a cursor past the oldest report: an empty last page');

# admin only, per tenant
err_is(list('', token => $tok), 403, 'forbidden', 'a user token');
$r = list('', token => $admB);
is_deeply([ids($r->{json}{items})], [$otherid],
          "another tenant's admin sees only its own report");

# --- tickets ------------------------------------------------------------

sub ask {
    my ($q, $user) = @_;
    my $r = $t->post('/kefu/v1/ask', token => $t->token($user),
                     body => { question => $q });
    die "ask failed: $r->{content}" unless $r->{status} == 200;
    return $r->{json}{session_id};
}

sub handoff {
    my ($sid, $user) = @_;
    return $t->post('/kefu/v1/handoff', token => $t->token($user),
                    body => { session_id => $sid });
}

my $s1 = ask('蚁花怎么开通', 'c1');
my $t1 = handoff($s1, 'c1')->{json}{ticket_id};
my $s2 = ask('气死了!!! 转账失败怎么办, 垃圾', 'c2');
my $t2 = handoff($s2, 'c2')->{json}{ticket_id};
my $s3 = ask('我的手机丢了怎么办', 'c3');
my $t3 = handoff($s3, 'c3')->{json}{ticket_id};
my $s4 = ask('蚁花怎么开通', 'c4');
my $t4 = handoff($s4, 'c4')->{json}{ticket_id};

$r = $t->get('/kefu/v1/admin/tickets', token => $adm);
is($r->{status}, 200, 'tickets: 200');
my @tk = @{ $r->{json}{items} };
is_deeply([map { $_->{id} } @tk], [$t3, $t2, $t1, $t4],
          'queue order: urgent, high, then normal by arrival');
is_deeply([map { $_->{position} } @tk], [1, 2, 3, 4], 'positions');
is_deeply([map { $_->{priority} } @tk], [qw(urgent high normal normal)],
          'priorities');
is($tk[0]{level}, 0, 'urgent is level 0');
is($tk[0]{user}, 'c3', 'the user');
is($tk[0]{session_id}, $s3, 'the session');
is($tk[0]{status}, 'waiting', 'waiting');
like($tk[0]{created_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'created_at ISO 8601');
is(ref $tk[0]{turns}, 'ARRAY', 'turns: an array');
is($tk[0]{turns}[0]{q}, '我的手机丢了怎么办', "the session's question");
is($tk[0]{turns}[0]{turn}, 1, 'its turn number');
is($tk[2]{turns}[0]{faq_id}, 'paylater-open', 'the FAQ answered');
is($tk[2]{turns}[0]{type}, 'answer', 'the turn type');
is($r->{json}{next_cursor}, undef, 'one page');

@p = pages('tickets', 'limit=3');
is_deeply([map { scalar @$_ } @p], [3, 1], 'limit 3: pages of 3 and 1');
is_deeply([ids(@p)], [$t3, $t2, $t1, $t4], 'the same order over pages');
is($p[1][0]{position}, 4, 'positions count over pages');

for my $q ('limit=0', 'limit=101', 'cursor=x', 'cursor=-1', 'cursor=1.5',
           'cursor=99999999999999999')
{
    err_is($t->get("/kefu/v1/admin/tickets?$q", token => $adm), 400,
           'invalid_request', "tickets ?$q");
}
err_is($t->get('/kefu/v1/admin/tickets', token => $t->token('c1')), 403,
       'forbidden', 'tickets: a user token');
$r = $t->get('/kefu/v1/admin/tickets', token => $admB);
is_deeply($r->{json}{items}, [], "another tenant's queue is empty");

# one ticket
$r = $t->get("/kefu/v1/admin/tickets/$t1", token => $adm);
is($r->{status}, 200, 'ticket: 200');
is_deeply($r->{json}, $tk[2], 'the ticket as listed');
err_is($t->get("/kefu/v1/admin/tickets/$t1", token => $admB), 404,
       'not_found', "another tenant's ticket");
err_is($t->get('/kefu/v1/admin/tickets/' . ('0' x 34), token => $adm), 404,
       'not_found', 'unknown ticket');
err_is($t->get('/kefu/v1/admin/tickets/' . ('0' x 32), token => $adm), 404,
       'not_found', 'an id without its bucket');
err_is($t->get('/kefu/v1/admin/tickets/16' . ('0' x 32), token => $adm),
       404, 'not_found', 'an id naming no bucket');
err_is($t->get('/kefu/v1/admin/tickets/x:y', token => $adm), 404,
       'not_found', 'not a ticket id');
err_is($t->get("/kefu/v1/admin/tickets/$t1", token => $t->token('c1')), 403,
       'forbidden', 'ticket: a user token');

# closing
sub close_tk {
    my ($id, %o) = @_;
    return $t->post("/kefu/v1/admin/tickets/$id", token => $o{token} || $adm,
                    body => $o{body} || { status => 'closed' });
}

$before = $t->redis_cmd('DBSIZE');
my $hash_before = $t->redis_cmd('HGETALL', KefuTest::id_key('demo', 'tk', $t1));
err_is(close_tk($t1, body => {}), 400, 'invalid_request', 'close: no status');
err_is(close_tk($t1, body => { status => 'waiting' }), 400,
       'invalid_request', 'close: status waiting');
err_is(close_tk($t1, body => { status => 'closed', note => 'x' }), 400,
       'invalid_request', 'close: unknown field');
err_is(close_tk($t1, body => { status => 1 }), 400, 'invalid_request',
       'close: status a number');
err_is(close_tk($t1, token => $admB), 404, 'not_found',
       "close: another tenant's ticket");
err_is(close_tk($t1, token => $t->token('c1')), 403, 'forbidden',
       'close: a user token');
err_is(close_tk('01' . ('f' x 32)), 404, 'not_found',
       'close: unknown ticket');
is($t->redis_cmd('DBSIZE'), $before, 'refused closes wrote nothing');
is_deeply($t->redis_cmd('HGETALL', KefuTest::id_key('demo', 'tk', $t1)), $hash_before,
          'the ticket is unchanged');

my $marker = $t->redis_cmd('KEYS', 'kefu:{demo#*}:agents:open:*');
is(scalar @$marker, 4, 'four sessions with an open ticket');

$r = close_tk($t1);
is($r->{status}, 200, 'close: 200');
is($r->{json}{id}, $t1, 'the ticket');
is($r->{json}{status}, 'closed', 'status closed');
is($r->{json}{position}, undef, 'no position any more');
like($r->{json}{closed_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'closed_at');
is($r->{json}{turns}[0]{q}, '蚁花怎么开通', 'turns kept');
ok(!grep({ $_->[0] eq $t1 } @{ $t->queue_all('demo') }),
   'out of the queue');
is($t->redis_cmd('HGET', KefuTest::id_key('demo', 'tk', $t1), 'status'), 'closed',
   'stored closed');
is(scalar @{ $t->redis_cmd('KEYS', 'kefu:{demo#*}:agents:open:*') }, 3,
   "the session's open-ticket marker is gone");
ok($t->redis_cmd('TTL', KefuTest::id_key('demo', 'tk', $t1)) > 0,
   'the closed ticket keeps its TTL');

$r = $t->get("/kefu/v1/admin/tickets/$t1", token => $adm);
is($r->{json}{status}, 'closed', 'a closed ticket can still be read');
is_deeply([ids(pages('tickets', ''))], [$t3, $t2, $t4],
          'the queue without it');
is($t->get("/kefu/v1/admin/tickets/$t4", token => $adm)->{json}{position},
   3, 'the ticket behind it moved up');

err_is(close_tk($t1), 409, 'invalid_transition', 'closing twice');

# the user can ask for a human again: a new ticket
$r = handoff($s1, 'c1');
is($r->{status}, 201, 'a new handoff after the close: 201');
isnt($r->{json}{ticket_id}, $t1, 'a new ticket');
my $t5 = $r->{json}{ticket_id};
is($t->get("/kefu/v1/admin/tickets/$t5", token => $adm)->{json}{status},
   'waiting', 'waiting in the queue');

# a ticket the agent desk popped is still waiting, and can be closed
is($t->pop_ticket('demo'), $t3,
   'the desk pops the urgent ticket');
$r = $t->get("/kefu/v1/admin/tickets/$t3", token => $adm);
is($r->{json}{status}, 'waiting', 'popped: still waiting');
is($r->{json}{position}, undef, 'but not in the queue');
$r = close_tk($t3);
is($r->{status}, 200, 'a popped ticket closes');
is($r->{json}{status}, 'closed', 'closed');
is(handoff($s3, 'c3')->{status}, 201, 'and its user can hand off again');

# a ticket expired from its hash but still queued is skipped
$t->redis_cmd('DEL', KefuTest::id_key('demo', 'tk', $t2));
is_deeply([grep { $_ eq $t2 } ids(pages('tickets', 'limit=1'))], [],
          'a queued ticket whose record expired is not listed');

# --- 405 and Allow ------------------------------------------------------

for my $c (['PUT', '/kefu/v1/admin/loss-reports', 'GET'],
           ['POST', '/kefu/v1/admin/loss-reports', 'GET'],
           ['DELETE', "/kefu/v1/admin/loss-reports/$ids[0]", 'GET, POST'],
           ['POST', '/kefu/v1/admin/tickets', 'GET'],
           ['DELETE', "/kefu/v1/admin/tickets/$t1", 'GET, POST'],
           ['PATCH', "/kefu/v1/admin/tickets/$t1", 'GET, POST'],
           ['GET', '/kefu/v1/ask', 'POST'])
{
    my ($m, $path, $allow) = @$c;
    $r = $t->request($m, $path, token => $adm,
                     $m eq 'GET' ? () : (body => {}));
    is($r->{status}, 405, "$m $path: 405");
    is($r->{headers}{allow}, $allow, "$m $path: Allow: $allow");
    is(($r->{json} || {})->{error}{code}, 'method_not_allowed',
       "$m $path: the JSON error");
}

$t->final_check;

# --- a kefu_redis max_pending below the page size ------------------------

# a page reads the 16 buckets' indexes, then its items, in two batches
# that must fit under max_pending: the pages get smaller instead of being
# refused (503) every time.  (A worker's own commands, such as its
# counter flush, may take the last places for a moment: then a 503 with
# Retry-After, and the client's retry gets its page.)
my $s = KefuTest->new(no_ssl => 1, no_start => 1);
$s->{redis_directive} = $s->redis_line('timeout=300ms max_pending=17');
$s->start_nginx;
FakeRedis::time_to_recover($s, '/kefu/v1/whoami', $s->token('u1'), 10, 4)
    // die 'Redis not connected';
my @mine;
for my $i (1 .. 20) {
    $r = $s->post('/kefu/v1/loss-reports',
                  token => $s->token('u' . $i % 4),
                  headers => { 'Idempotency-Key' => "m$i" },
                  body => { kind => 'phone', reason => 'lost' });
    push @mine, $r->{json}{id};
}
my ($cursor, @got, $pages);
do {
    for my $try (1 .. 3) {
        $r = $s->get('/kefu/v1/admin/loss-reports?limit=100'
                     . (defined $cursor ? "&cursor=$cursor" : ''),
                     token => $s->token('ops', scope => 'admin'));
        last unless $r->{status} == 503 && $r->{headers}{'retry-after'};
        sleep 0.2;
    }
    is($r->{status}, 200, 'max_pending=17: a page');
    ok(@{ $r->{json}{items} } <= 16, 'of at most max_pending - 1 items');
    push @got, ids($r->{json}{items});
    $cursor = $r->{json}{next_cursor};
} while (defined $cursor && ++$pages < 10);
is($pages, 1, 'two pages');
is_deeply([sort @got], [sort @mine], 'and the paging reaches every report');
$s->final_check;

done_testing;
