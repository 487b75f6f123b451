# tools/kefu-migrate-keys.pl: loss reports, idempotency records, frozen
# flags, tickets (queue, markers), feedback verdicts and stream entries
# written in the layout before the users' buckets (every back-office key
# under kefu:{T}, as the scripts of that version wrote them) are copied
# to the bucket layout; the API then serves them: lists, reads by the new
# and the old id, replays, changes, the queue and its order.  Repeated
# runs copy nothing twice; a dry run writes nothing.
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

my @d = gmtime;
my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
my $now = time;

sub r { $t->redis_cmd(@_) }

sub ask {
    my ($user, $q) = @_;
    my $r = $t->post('/kefu/v1/ask', token => $t->token($user),
                     body => { question => $q });
    die "ask: $r->{content}" unless $r->{status} == 200;
    return $r->{json}{session_id};
}

# the request fingerprint the module stores for a body: another user's
# report of the same body, in the new layout
my $body = { kind => 'phone', reason => 'lost' };
my $probe = $t->post('/kefu/v1/loss-reports', token => $t->token('probe'),
                     headers => { 'Idempotency-Key' => 'probe' },
                     body => $body);
is($probe->{status}, 201, 'a probe report');
my $fp = r('HGET', KefuTest::okey('demo', 'lr:idem', 'probe', 'probe'), 'fp');
like($fp, qr/^[0-9a-f]{64}$/, 'its fingerprint');

# --- the old layout, as its scripts wrote it ------------------------------

my %old = (u1 => 'a1' x 16, u2 => 'b2' x 16, u3 => 'c3' x 16);
my $i = 0;
for my $u (sort keys %old) {
    my $id = $old{$u};
    my $created = $now - 100 + 10 * $i++;
    my $sid = r('XADD', 'kefu:{demo}:reports', '*', event => 'created',
                id => $id, user => $u, kind => 'phone', reason => 'lost',
                police_report => 0, created_at => $created);
    r('HSET', "kefu:{demo}:lr:$id", id => $id, tenant => 'demo', user => $u,
      kind => 'phone', reason => 'lost', status => 'received', frozen => 1,
      police_report => 0, created_at => $created, updated_at => $created,
      idempotency_key => "old-$u", stream_id => $sid);
    r('HINCRBY', 'kefu:{demo}:frozen', $u, 1);
    r('HSET', "kefu:{demo}:lr:idem:" . length($u) . ":$u:old-$u",
      fp => $fp, id => $id);
    r('EXPIRE', "kefu:{demo}:lr:idem:" . length($u) . ":$u:old-$u", 86400);
    my $m = sprintf '%012d.%s', $created, $id;
    r('ZADD', 'kefu:{demo}:lr:ix', 0, $m);
    r('ZADD', 'kefu:{demo}:lr:ix:received', 0, $m);
}
r('HINCRBY', "kefu:{demo}:d:$day", 'loss_reports', 3);

# tickets: u1 normal (first), u2 normal (second), u3 urgent
my %tsid = map { $_ => ask($_, '蚁花怎么开通') } qw(u1 u2 u3);
my %tid = (u1 => 'd4' x 16, u2 => 'e5' x 16, u3 => 'f6' x 16);
my %lv = (u1 => 3, u2 => 3, u3 => 0);
for my $u (qw(u1 u2 u3)) {
    my $seq = r('INCR', 'kefu:{demo}:agents:seq');
    my $sid = r('XADD', 'kefu:{demo}:agents', '*', ticket_id => $tid{$u},
                user => $u, session_id => $tsid{$u}, priority => 'normal',
                level => $lv{$u}, reason => '', turns => '[]',
                created_at => $now - 50 + $seq);
    my $tk = "kefu:{demo}:tk:$tid{$u}";
    r('HSET', $tk, id => $tid{$u}, user => $u, session_id => $tsid{$u},
      priority => $lv{$u} ? 'normal' : 'urgent', level => $lv{$u},
      seq => $seq, reason => '', turns => '[]', status => 'waiting',
      created_at => $now - 50 + $seq, stream_id => $sid);
    r('EXPIRE', $tk, 604800);
    r('ZADD', 'kefu:{demo}:agents:q', $lv{$u} * 1099511627776 + $seq,
      $tid{$u});
    r('SET', "kefu:{demo}:agents:open:" . length($u) . ":$u:$tsid{$u}",
      $tid{$u}, 'EX', 604800);
    r('ZADD', "kefu:{demo}:agents:u:" . length($u) . ":$u", $seq, $tid{$u});
}
r('HINCRBY', "kefu:{demo}:d:$day", 'handoffs', 3);

# an unhelpful verdict on u1's turn 1, counted in the tenant's day
r('HSET', "kefu:{demo}:fb:2:u1:$tsid{u1}", 1, "0:$day");
r('EXPIRE', "kefu:{demo}:fb:2:u1:$tsid{u1}", 7776000);
r('HINCRBY', "kefu:{demo}:d:$day", 'unhelpful', 1);
r('XADD', 'kefu:{demo}:feedback', '*', user => 'u1',
  session_id => $tsid{u1}, turn => 1, helpful => 0, faq_id => '',
  question => '', reason => '', ts => $now);

# before the migration the API does not see them
is_deeply([grep { $_->{user} =~ /^u\d$/ }
           @{ $t->get('/kefu/v1/admin/loss-reports', token => $adm)
                  ->{json}{items} }], [],
          'the old reports are not listed before the migration');

# --- the tool -----------------------------------------------------------

my $tool = "$KefuTest::TOP/tools/kefu-migrate-keys.pl";
my $addr = "127.0.0.1:$t->{redis_port}";

sub migrate {
    my @args = @_;
    my $out = `perl $tool --from $addr --to $addr @args 2>&1`;
    return ($? >> 8, $out);
}

my $size = r('DBSIZE');
my ($rc, $out) = migrate('--dry-run');
is($rc, 0, 'dry run: exit 0') or diag($out);
like($out, qr/demo: reports: 3 would copy/, 'dry run: says what it would do')
    or diag($out);
is(r('DBSIZE'), $size, 'dry run: writes nothing');

($rc, $out) = migrate();
is($rc, 0, 'migration: exit 0') or diag($out);
like($out, qr/demo: reports: 3 copied/, 'three reports copied') or diag($out);
like($out, qr/demo: tickets: 3 copied/, 'three tickets copied');
like($out, qr/demo: idempotency records: 3 copied/, 'their idempotency');
like($out, qr/demo: frozen users: 3 copied/, 'the frozen users');
like($out, qr/demo: reports stream entries: 3 copied/, 'the stream entries');
like($out, qr/demo: feedback verdicts: 1 copied/, 'the feedback verdict');

my $size1 = r('DBSIZE');
($rc, $out) = migrate();
is($rc, 0, 'a second run: exit 0');
unlike($out, qr/ copied/, 'a second run copies nothing') or diag($out);
is(r('DBSIZE'), $size1, 'and writes no key');
is(scalar @{ $t->stream_all('demo', 'reports') }, 4,
   'no stream entry twice (three old, the probe)');

# --- through the API --------------------------------------------------------

my %new = map { $_ => KefuTest::bucket($_) . $old{$_} } keys %old;
my $r = $t->get('/kefu/v1/admin/loss-reports', token => $adm);
is($r->{status}, 200, 'the list');
is_deeply([map { $_->{id} } grep { $_->{user} =~ /^u\d$/ }
           @{ $r->{json}{items} }], [@new{qw(u3 u2 u1)}],
          'lists the migrated reports, newest first, under their new ids');

$r = $t->get("/kefu/v1/admin/loss-reports/$new{u2}", token => $adm);
is($r->{status}, 200, 'the back office reads one by its new id');
is($r->{json}{user}, 'u2', 'its user');

$r = $t->get("/kefu/v1/loss-reports/$old{u1}", token => $t->token('u1'));
is($r->{status}, 200, 'the owner reads it by the id it was given');
is($r->{json}{id}, $new{u1}, 'which now carries the bucket');
is($t->get("/kefu/v1/loss-reports/$old{u1}", token => $t->token('u2'))
       ->{status}, 404, "another user's old id: 404");

$r = $t->post('/kefu/v1/loss-reports', token => $t->token('u1'),
              headers => { 'Idempotency-Key' => 'old-u1' }, body => $body);
is($r->{status}, 200, 'a retry with the old Idempotency-Key: the replay');
is($r->{json}{id}, $new{u1}, 'of the migrated report');

is(r('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1'), 1,
   'u1 is frozen in its bucket');
$r = $t->post("/kefu/v1/admin/loss-reports/$new{u1}", token => $adm,
              body => { frozen => JSON::PP::false });
is($r->{status}, 200, 'the back office lifts the freeze');
ok(!defined r('HGET', KefuTest::bkey('demo', 'u1', 'frozen'), 'u1'),
   'the frozen count follows');

my $xs = $t->stream_all('demo', 'reports');
my ($e) = grep { my %f = @{ $_->[1] }; $f{id} eq $new{u2} } @$xs;
ok($e, "u2's stream entry names the new id");
my %ef = @{ $e ? $e->[1] : [] };
like($ef{legacy_id} // '', qr/^\d+-\d+$/, 'with the old entry id');

# the queue: urgent first, then the normal ones in their old order; a new
# normal ticket goes after them
my $u4 = ask('u4', '蚁花怎么开通');
my $h = $t->post('/kefu/v1/handoff', token => $t->token('u4'),
                 body => { session_id => $u4 });
is($h->{status}, 201, 'a new ticket after the migration');
is($h->{json}{position}, 4, 'behind the three migrated ones');
my %newt = map { $_ => KefuTest::bucket($_) . $tid{$_} } keys %tid;
$r = $t->get('/kefu/v1/admin/tickets', token => $adm);
is_deeply([map { $_->{id} } @{ $r->{json}{items} }],
          [@newt{qw(u3 u1 u2)}, $h->{json}{ticket_id}],
          'the queue keeps its order across buckets');
is_deeply([map { $_->{position} } @{ $r->{json}{items} }], [1 .. 4],
          'positions');

$h = $t->post('/kefu/v1/handoff', token => $t->token('u2'),
              body => { session_id => $tsid{u2} });
is($h->{status}, 200, "the session's waiting ticket is found again");
is($h->{json}{ticket_id}, $newt{u2}, 'the migrated one');
is($h->{json}{position}, 3, 'in its place');

$r = $t->post("/kefu/v1/admin/tickets/$newt{u1}", token => $adm,
              body => { status => 'closed' });
is($r->{status}, 200, 'a migrated ticket closes');
$h = $t->post('/kefu/v1/handoff', token => $t->token('u1'),
              body => { session_id => $tsid{u1} });
is($h->{status}, 201, 'and its session may hand off again');

# the feedback verdict: the same verdict again counts nothing
my $un = $t->day_sum('demo', $day, 'unhelpful');
$r = $t->post('/kefu/v1/feedback', token => $t->token('u1'),
              body => { session_id => $tsid{u1}, turn => 1,
                        helpful => JSON::PP::false });
is($r->{status}, 204, 'feedback on a migrated verdict');
is($t->day_sum('demo', $day, 'unhelpful'), $un,
   'the same verdict again is not counted twice');

my $s = $t->get('/kefu/v1/admin/stats?days=1', token => $adm)->{json};
is($s->{total}{loss_reports}, 4,
   'stats sum the old day counters and the buckets\'');

# --- to a Redis Cluster: the tool follows MOVED ------------------------------

# three masters on loopback, in this test's directory
# (a node's bus is its port + 10000)
sub cluster_port {
    while (1) {
        my $p = KefuTest::free_port();
        next if $p > 55000;
        my $bus = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                        LocalPort => $p + 10000);
        next unless $bus;
        close $bus;
        return $p;
    }
}
my @ports = map { cluster_port() } 1 .. 3;
my @pids;
for my $p (@ports) {
    my $d = $t->dir . "/cl$p";
    mkdir $d;
    system('redis-server', '--port', $p, '--bind', '127.0.0.1',
           '--cluster-enabled', 'yes', '--cluster-config-file',
           "$d/nodes.conf", '--cluster-node-timeout', 1000, '--dir', $d,
           '--save', '', '--appendonly', 'no', '--daemonize', 'yes',
           '--pidfile', "$d/redis.pid", '--logfile', "$d/redis.log") == 0
        or die 'redis-server failed';
}
sub cl { my ($p, @c) = @_; my $o = `redis-cli -p $p @c 2>&1`; chomp $o; $o }
# the nodes stop with the test, however it ends
END {
    for my $p (@ports) {
        my $f = $t->dir . "/cl$p/redis.pid";
        open my $fh, '<', $f or next;
        my $pid = <$fh>;
        kill 'TERM', $pid if $pid && $pid =~ /^(\d+)/;
    }
}
for my $p (@ports) {
    for (1 .. 200) {
        last if cl($p, 'PING') eq 'PONG';
        select undef, undef, undef, 0.05;
    }
}
system('redis-cli --cluster create '
       . join(' ', map { "127.0.0.1:$_" } @ports)
       . ' --cluster-replicas 0 --cluster-yes >/dev/null 2>&1') == 0
    or die 'cluster create failed';
for (1 .. 200) {
    last if !grep { cl($_, 'CLUSTER', 'INFO') !~ /cluster_state:ok/ } @ports;
    select undef, undef, undef, 0.05;
}

my $seeds = join ',', map { "127.0.0.1:$_" } @ports;
$out = `perl $tool --from $addr --to $seeds 2>&1`;
is($? >> 8, 0, 'to a cluster: exit 0') or diag($out);
like($out, qr/demo: reports: 3 copied/, 'to a cluster: three reports');
like($out, qr/demo: tickets: 3 copied/, 'and the tickets');
$out = `perl $tool --from $addr --to $seeds 2>&1`;
unlike($out, qr/ copied/, 'to a cluster: a second run copies nothing')
    or diag($out);

# every key where its slot is, and spread over the masters
my %keys_on;
for my $p (@ports) {
    my @k = grep { /^kefu:\{demo#/ } split /\n/, cl($p, '--scan');
    $keys_on{$p} = scalar @k;
}
cmp_ok(scalar(grep { $_ > 0 } values %keys_on), '>=', 2,
       'the bucket keys spread over the masters: '
       . join(' ', map { $keys_on{$_} } @ports));
my $lr = KefuTest::id_key('demo', 'lr', $new{u2});
is(cl($ports[0], '-c', 'HGET', "'$lr'", 'user'), 'u2',
   "u2's report is readable through the cluster");
my $q = KefuTest::bkey('demo', 'u3', 'agents:q');
is(cl($ports[0], '-c', 'ZCARD', "'$q'"), 1,
   "u3's ticket is queued in its bucket");

$t->final_check;
done_testing();
