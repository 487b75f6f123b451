# kefu_metrics: Prometheus text, counters shared by the workers and kept
# across a reload that reorders tenants; the $kefu_* log variables.
use strict;
use warnings;
use utf8;
use Test::More;
use HTTP::Tiny;
use KefuTest;

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my $fmt = 'log_format kefu \'$pid $status t=$kefu_tenant u=$kefu_user '
    . 'r=$kefu_route reply=$kefu_reply faq=$kefu_faq_id '
    . 'c=$kefu_confidence\';';
my %o = (
    workers => 2,
    http_extra => "    $fmt\n    kefu_metrics_zone 2m;\n",
    server_extra => "        access_log logs/kefu.log kefu;\n"
        . "        location = /metrics { kefu_metrics; allow 127.0.0.1; "
        . "deny all; }\n",
);
my $t = KefuTest->new(%o);
my $tok = $t->token('m1');

# every request on a new connection, so that both workers serve some
sub fresh {
    my ($method, $path, %h) = @_;
    my $body = delete $h{body};
    utf8::encode($body) if defined $body;
    my $res = HTTP::Tiny->new(keep_alive => 0, timeout => 10)->request(
        $method, $t->url($path),
        { headers => { %h, $body ? ('Content-Type' => 'application/json')
                                 : () },
          $body ? (content => $body) : () });
    return $res;
}

sub scrape {
    my $res = fresh('GET', '/metrics');
    is($res->{status}, 200, 'metrics 200') or diag $res->{content};
    like($res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
         'Prometheus content type');
    my %m;
    my $bad = 0;
    for my $line (split /\n/, $res->{content}) {
        next if $line =~ /^# (HELP|TYPE) \w+ /;
        if ($line =~ /^(\w+(?:\{[^}]*\})?) (-?[0-9.e+]+)$/) {
            $m{$1} = $2;
        } else {
            $bad++;
            diag "bad line: $line";
        }
    }
    is($bad, 0, 'every line is a sample or a comment');
    return \%m;
}

sub wait_workers_up {
    my ($n) = @_;
    for (1 .. 40) {
        my $m = scrape();
        my @up = grep { /^kefu_redis_up\{/ && $m->{$_} == 1 } keys %$m;
        return scalar @up if @up >= $n;
        select undef, undef, undef, 0.1;
    }
    return 0;
}

# a worker counts a request in its log phase, just after the response is
# sent: a scrape on another worker may come first, so wait (bounded)
sub scrape_until {
    my ($key, $want) = @_;
    my $m;
    for (1 .. 50) {
        $m = scrape();
        last if ($m->{$key} // -1) == $want;
        select undef, undef, undef, 0.05;
    }
    return $m;
}

my $N = 30;
my %pids;
for my $i (1 .. $N) {
    my $q = $i % 3 ? '蚁花怎么开通' : '今天天气怎么样呀朋友';
    my $res = fresh('POST', '/kefu/v1/ask', Authorization => "Bearer $tok",
                    body => qq({"question":"$q"}));
    is($res->{status}, 200, "ask $i") or diag $res->{content};
}
for (1 .. 5) {
    fresh('GET', '/kefu/v1/whoami');                      # 401
}
fresh('GET', '/kefu/v1/no-such-thing');                   # 404, unrouted
fresh('GET', '/kefu/v1/health');

my $log = $t->read_file('logs/kefu.log');
$pids{$1}++ while $log =~ /^(\d+) 200 t=demo/mg;
cmp_ok(scalar keys %pids, '>=', 1, 'ask served') or diag $log;
like($log, qr/^\d+ 200 t=demo u=m1 r=ask reply=(answer|clarify) faq=\S+ c=0\.\d{3}$/m,
     'log variables of an answer');
like($log, qr/^\d+ 200 t=demo u=m1 r=ask reply=fallback faq=- c=0\.\d{3}$/m,
     'log variables of a fallback');
like($log, qr/^\d+ 401 t=- u=- r=whoami reply=- faq=- c=-$/m,
     'unauthenticated: no tenant, no user');
like($log, qr/^\d+ 404 t=- u=- r=- /m, 'unrouted: no route');

is(wait_workers_up(2), 2, 'both workers report Redis up');
my $m = scrape_until(
    'kefu_requests_total{endpoint="health",code="200",class="2xx"}', 1);
$m = scrape_until(
    'kefu_requests_total{endpoint="ask",code="200",class="2xx"}', $N);
is($m->{'kefu_requests_total{endpoint="ask",code="200",class="2xx"}'}, $N,
   'ask 200 counted once each, across workers');
is($m->{'kefu_requests_total{endpoint="whoami",code="401",class="4xx"}'}, 5,
   'whoami 401');
is($m->{'kefu_requests_total{endpoint="-",code="404",class="4xx"}'}, 1,
   'unrouted 404');
is($m->{'kefu_requests_total{endpoint="health",code="200",class="2xx"}'}, 1,
   'health');
is($m->{'kefu_request_duration_seconds_count{endpoint="ask"}'}, $N,
   'histogram count');
is($m->{'kefu_request_duration_seconds_bucket{endpoint="ask",le="+Inf"}'},
   $N, '+Inf bucket');
my $prev = 0;
my $mono = 1;
for my $le (qw(0.0005 0.001 0.002 0.005 0.01 0.025 0.05 0.1 0.25 1)) {
    my $v = $m->{qq(kefu_request_duration_seconds_bucket{endpoint="ask",le="$le"})};
    $mono = 0 if !defined $v || $v < $prev;
    $prev = $v // 0;
}
ok($mono, 'buckets cumulative');
ok(defined $m->{'kefu_request_duration_seconds_sum{endpoint="ask"}'}, 'sum');
my $replies = 0;
$replies += $m->{qq(kefu_ask_replies_total{tenant="demo",type="$_"})}
    for qw(answer clarify fallback handoff);
is($replies, $N, 'ask replies by type add up');
is($m->{'kefu_ask_replies_total{tenant="demo",type="fallback"}'}, $N / 3,
   'fallbacks');
is($m->{'kefu_kb_faqs{tenant="demo"}'}, 332, 'KB size');
ok((grep { /^kefu_kb_info\{tenant="demo",version="[^"]+"\}$/ } keys %$m),
   'KB version');
cmp_ok($m->{kefu_redis_commands_total}, '>=', $N, 'Redis commands');
ok(defined $m->{kefu_redis_errors_total}, 'Redis errors reported');
is($m->{kefu_metrics_zone_reloads_total}, 0, 'no reload yet');
ok(!exists $m->{'kefu_requests_total{endpoint="metrics"}'},
   'the metrics location itself is not counted');

# a reload that puts a new tenant first: counts follow tenants by name
$t->write_file('aaa.secret', 'secret-of-aaa-' . ('x' x 24) . "\n");
$t->{tenants} = [qw(aaa demo other)];
$t->write_file('nginx.conf', $t->conf);
my ($rc, $out) = $t->nginx('-s', 'reload');
is($rc, 0, 'reload') or diag $out;
my $new;
for (1 .. 100) {
    $new = scrape();
    last if ($new->{kefu_metrics_zone_reloads_total} // 0) == 1
        && exists $new->{'kefu_kb_faqs{tenant="aaa"}'};
    select undef, undef, undef, 0.05;
}
is($new->{kefu_metrics_zone_reloads_total}, 1, 'zone kept over the reload');
ok(exists $new->{'kefu_kb_faqs{tenant="aaa"}'}, 'new tenant listed');
for my $i (1 .. 6) {
    my $res = fresh('POST', '/kefu/v1/ask', Authorization => "Bearer $tok",
                    body => '{"question":"今天天气怎么样呀朋友"}');
    is($res->{status}, 200, "ask after reload $i");
}
$new = scrape_until(
    'kefu_requests_total{endpoint="ask",code="200",class="2xx"}', $N + 6);
is($new->{'kefu_requests_total{endpoint="ask",code="200",class="2xx"}'},
   $N + 6, 'request counts kept and added to');
is($new->{'kefu_ask_replies_total{tenant="demo",type="fallback"}'},
   $N / 3 + 6, 'tenant counts kept under the new tenant order');
is($new->{'kefu_ask_replies_total{tenant="aaa",type="answer"}'}, 0,
   'new tenant starts at 0');

# old workers leave their slots: only the new ones report
my $up = 0;
for (1 .. 100) {
    $new = scrape();
    $up = grep { /^kefu_redis_up\{/ } keys %$new;
    last if $up == 2;
    select undef, undef, undef, 0.1;
}
is($up, 2, 'two workers after the old ones exited');

# the workers' memo, session copies and counter sums: four turns of one
# session on one connection (one worker); a worker publishes every second
for my $q ('蚁花怎么开通', '那怎么关闭呢', '蚁花怎么开通', '那怎么关闭呢') {
    my $r = $t->post('/kefu/v1/ask', token => $tok,
                     body => { question => $q, session_id => 'mx' });
    is($r->{status}, 200, "turn: $q");
}
my $mm;
for (1 .. 60) {
    $mm = scrape();
    last if ($mm->{kefu_session_copies_total} // 0) >= 3;
    select undef, undef, undef, 0.1;
}
ok($mm->{kefu_session_copies_total} >= 3,
   "turns on the worker's copy ($mm->{kefu_session_copies_total})");
ok(defined $mm->{kefu_session_refused_total}, 'refused writes reported');
ok($mm->{kefu_search_memo_hits_total} > 0
   && $mm->{kefu_search_memo_hits_total}
      < $mm->{kefu_search_memo_lookups_total},
   "memo: $mm->{kefu_search_memo_hits_total} of "
   . "$mm->{kefu_search_memo_lookups_total} lookups found");
ok($mm->{kefu_counter_writes_total} > 0,
   "counter sums written ($mm->{kefu_counter_writes_total})");
is($mm->{kefu_counters_dropped_total}, 0, 'no counter lost');

my $res = fresh('POST', '/metrics');
is($res->{status}, 405, 'POST to metrics refused');

done_testing();
