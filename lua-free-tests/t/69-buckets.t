# One tenant's users spread over the buckets: 200 users' loss reports land
# in every bucket, and the back office still sees one tenant: the report
# list pages newest first across buckets without repeating or skipping,
# the agent queue keeps one order (priority, then arrival) with the
# tickets' places counted over every bucket.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use FakeRedis;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1);
my $adm = $t->token('ops', scope => 'admin');
FakeRedis::time_to_recover($t, '/kefu/v1/whoami', $adm, 10, 4)
    // die 'Redis not connected';

sub pages {
    my ($path, $q) = @_;
    my (@items, $cursor, $n);
    while (1) {
        my $r = $t->get("/kefu/v1/admin/$path?$q"
                        . (defined $cursor ? "&cursor=$cursor" : ''),
                        token => $adm);
        die "page: $r->{status} $r->{content}" unless $r->{status} == 200;
        push @items, @{ $r->{json}{items} };
        $n++;
        $cursor = $r->{json}{next_cursor};
        last unless defined $cursor && $n < 100;
    }
    return ($n, @items);
}

# --- 200 users, one report each ------------------------------------------

my (%bucket_of, %created);
for my $i (1 .. 200) {
    my $u = "user$i";
    my $r = $t->post('/kefu/v1/loss-reports', token => $t->token($u),
                     headers => { 'Idempotency-Key' => "k$i" },
                     body => { kind => 'phone', reason => 'lost' });
    die "report: $r->{content}" unless $r->{status} == 201;
    my $id = $r->{json}{id};
    $bucket_of{$id} = substr $id, 0, 2;
    is($bucket_of{$id}, KefuTest::bucket($u), "user$i: the user's bucket")
        if $i <= 3;
}
my %per;
$per{$_}++ for values %bucket_of;
is(scalar keys %per, 16, '200 users: reports in all 16 buckets');
my ($most) = sort { $b <=> $a } values %per;
cmp_ok($most, '<=', 30, "no bucket holds much more than its share ($most)");
for my $b (sort keys %per) {
    my $n = $t->redis_cmd('ZCARD', "kefu:{demo#$b}:lr:ix");
    $n == $per{$b} or fail("bucket $b indexes $n of its $per{$b} reports");
}

# the expected order: created_at, then id, both descending
for my $id (keys %bucket_of) {
    $created{$id} = $t->redis_cmd('HGET', KefuTest::id_key('demo', 'lr', $id),
                                  'created_at');
}
my @newest = sort { $created{$b} <=> $created{$a} || $b cmp $a }
             keys %bucket_of;

my ($n, @items) = pages('loss-reports', 'limit=7');
is($n, 29, '200 reports in pages of 7: 29 pages');
is_deeply([map { $_->{id} } @items], \@newest,
          'newest first across buckets, none repeated or skipped');

($n, @items) = pages('loss-reports', 'limit=100&status=received');
is(scalar @items, 200, 'the status list too');

# --- the queue over every bucket ------------------------------------------

# 40 users hand off one after the other; every third is an emergency
my (@urgent, @normal);
for my $i (1 .. 40) {
    my $u = "user$i";
    my $urgent = $i % 3 == 0;
    my $q = $urgent ? '我的手机丢了怎么办' : '蚁花怎么开通';
    my $a = $t->post('/kefu/v1/ask', token => $t->token($u),
                     body => { question => $q });
    die "ask: $a->{content}" unless $a->{status} == 200;
    my $h = $t->post('/kefu/v1/handoff', token => $t->token($u),
                     body => { session_id => $a->{json}{session_id} });
    die "handoff: $h->{content}" unless $h->{status} == 201;
    my $want = $urgent ? @urgent + 1 : @urgent + @normal + 1;
    is($h->{json}{position}, $want,
       "handoff $i: its place over all buckets ($want)")
        if $i <= 9 || $h->{json}{position} != $want;
    push @{ $urgent ? \@urgent : \@normal }, $h->{json}{ticket_id};
}
my %tb = map { substr($_, 0, 2) => 1 } @urgent, @normal;
cmp_ok(scalar keys %tb, '>', 8, 'the tickets are in many buckets');

($n, @items) = pages('tickets', 'limit=7');
is($n, 6, '40 tickets in pages of 7: 6 pages');
is_deeply([map { $_->{id} } @items], [@urgent, @normal],
          'queue order: urgent, then normal, each first come first served');
is_deeply([map { $_->{position} } @items], [1 .. 40],
          'positions count over pages and buckets');

my $r = $t->get("/kefu/v1/admin/tickets/$normal[5]", token => $adm);
is($r->{json}{position}, @urgent + 6, 'one ticket: its place in the queue');

# the desk takes the first two; the others move up
is($t->pop_ticket('demo'), $urgent[0], 'the desk takes the first');
is($t->pop_ticket('demo'), $urgent[1], 'then the next');
$r = $t->get("/kefu/v1/admin/tickets/$normal[5]", token => $adm);
is($r->{json}{position}, @urgent + 6 - 2, 'moved up by two');

$t->final_check;
done_testing();
