package KefuSoak;

# The soak with faults (issue 14), shared by `make soak` (bench/soak.pl,
# 10 minutes) and `make test` (lua-free-tests/t/90-soak.t, 60 s).
#
# Mixed traffic from several users of two tenants (ask with sessions,
# events, suggestions, loss reports with retries and replays, handoff,
# feedback, stats, bad input) for a bounded time, while the controller
# reloads nginx with an edited knowledge base, SIGKILLs Redis and starts
# it again from its AOF, sends a burst of 10,000 distinct unanswered
# questions, and a client aborts requests mid-body all along.  Then it
# checks: no crash, no [alert]/sanitizer line; every acknowledged loss
# report present, none twice for an Idempotency-Key; worker RSS at the
# end within 10 % of after warm-up; Redis used_memory and the bounded
# keys; every answer 2xx, an expected 4xx or a 503 JSON with Retry-After.
# Core Perl and the harness only.

use strict;
use warnings;
use utf8;

use Digest::SHA qw(hmac_sha256);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

use KefuTest;
use FakeRedis;

my $JSON = JSON::PP->new->utf8->canonical;

my @TENANTS = qw(demo acme);
my $USERS = 40;                 # per tenant
# the share of questions that start a new session (an app restarted)
my $NEW_SESSIONS = $ENV{KEFU_SOAK_NEW_SESSIONS} // 0.03;

# the 4xx a well-behaved client meets in this traffic
my %EXPECTED_4XX = map { $_ => 1 } qw(400 404 409 429);

# answered, clarified, unanswered questions and follow-ups
my @QUESTIONS = ('怎么还款', '蚁花怎么开通', '提现多久到账', '那怎么关闭呢',
                 '手机丢了怎么办', '我的卡被盗刷了', '今天天气怎么样',
                 '额度', '转账失败是什么原因', '怎么养猫', '转人工客服',
                 '密码忘了', '手续费呢');

# HS256 tokens minted here: thousands of users, no process per token
sub token {
    my ($t, $tenant, $user, %o) = @_;
    my $secret = $t->read_file("$tenant.secret");
    $secret =~ s/[\r\n]+\z//;
    my $h = encode_base64url($JSON->encode(
        { alg => 'HS256', typ => 'JWT', kid => $tenant }));
    my $p = encode_base64url($JSON->encode(
        { sub => $user, tid => $tenant, exp => time + 7200,
          $o{admin} ? (scope => 'admin') : () }));
    return "$h.$p." . encode_base64url(hmac_sha256("$h.$p", $secret));
}

sub rss_kb {
    my (@pids) = @_;
    my $sum = 0;
    for my $pid (@pids) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) {
            $sum += $1 if /^VmRSS:\s+(\d+)/;
        }
    }
    return $sum;
}

sub used_memory {
    my ($t) = @_;
    my $info = $t->redis_cmd('INFO', 'memory') // '';
    return $info =~ /^used_memory:(\d+)/m ? $1 : -1;
}

sub kb_version {
    my ($t, $n) = @_;
    my $kb = $JSON->decode($t->read_file("$KefuTest::TOP/demo/kb.json"));
    $kb->{version} = "soak-$n";
    # an edit the reload must pick up: one more FAQ each time
    push @{ $kb->{faqs} }, map {
        { id => "soak-faq-$_", question => "浸泡测试的第${_}个问题",
          answer => "第${_}版的答案" }
    } 1 .. $n;
    return $t->write_file('kb.json', $JSON->encode($kb));
}

# --- one client: mixed traffic until the stop file ------------------------

sub judge {
    my ($r, $res, $ep, $t0) = @_;
    my $st = $res->{status};
    my $k = "$ep $st";
    $r->{count}{$k}++;
    $r->{requests}++;
    my $j = eval { $JSON->decode($res->{content}) };
    my $why;
    if ($st == 599) {
        # HTTP::Tiny's own: nginx closed a keep-alive connection (reload)
        # is not an answer; a timeout is a failure
        $why = "no answer: $res->{content}"
            if $res->{content} =~ /timed? ?out/i;
        $r->{closed}++;
    } elsif ($st >= 200 && $st < 300) {
        $why = 'body not JSON' if $st != 204 && ref $j ne 'HASH';
    } elsif ($EXPECTED_4XX{$st}) {
        $why = '4xx without a JSON error'
            unless ref $j eq 'HASH' && $j->{error}{code};
    } elsif ($st == 503) {
        $why = '503 without JSON error or Retry-After'
            unless ref $j eq 'HASH'
                && ($j->{error}{code} // '') =~ /^(redis_unavailable|not_replicated)$/
                && defined $res->{headers}{'retry-after'};
        push @{ $r->{t503} }, int(time - $t0);
    } else {
        $why = "unexpected status";
    }
    if ($why) {
        $r->{violations}++;
        push @{ $r->{why} }, "$ep $st: $why: " . substr($res->{content} // '', 0, 160)
            if @{ $r->{why} } < 20;
    }
    return $j;
}

sub running {
    my ($stop, $hard) = @_;
    return !-e $stop && time < $hard;
}

sub client {
    my ($t, $n, $stop, $hard, $t0, $out) = @_;
    srand($$ ^ time);
    my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 1);
    my %r = (count => {}, why => [], acked => [], requests => 0,
             violations => 0, closed => 0, t503 => []);
    my (%tok, %adm, %sess);
    my $seq = 0;
    my $url = sub { $t->url($_[0]) };
    my $req = sub {
        my ($m, $path, $tok, $body, %h) = @_;
        $h{Authorization} = "Bearer $tok";
        $h{'Content-Type'} = 'application/json' if defined $body;
        return $http->request($m, $url->($path),
            { headers => \%h,
              defined $body ? (content => ref $body ? $JSON->encode($body)
                                                    : $body) : () });
    };

    while (running($stop, $hard)) {
        my $tenant = $TENANTS[rand @TENANTS];
        my $user = "c$n-" . int(rand $USERS);
        my $tok = $tok{"$tenant $user"} ||= token($t, $tenant, $user);
        my $sk = "$tenant $user";
        my $x = rand 100;

        if ($x < 35) {
            my $q = $QUESTIONS[rand @QUESTIONS];
            my $res = $req->('POST', '/kefu/v1/ask', $tok,
                { question => $q,
                  ($sess{$sk} && rand() >= $NEW_SESSIONS)
                      ? (session_id => $sess{$sk}[0]) : () });
            my $j = judge(\%r, $res, 'ask', $t0);
            $sess{$sk} = [$j->{session_id}, $j->{turn}]
                if $res->{status} == 200 && ($j->{session} // '') ne 'unavailable';
        } elsif ($x < 45) {
            my @ev = map { { type => (qw(transfer_failed bill_due
                                         login_new_device transfer_large
                                         phone_lost_reported))[rand 5] } }
                     1 .. 1 + int(rand 4);
            judge(\%r, $req->('POST', '/kefu/v1/events', $tok,
                              { events => \@ev }), 'events', $t0);
        } elsif ($x < 58) {
            judge(\%r, $req->('GET', '/kefu/v1/suggestions?limit=5&scene=bill',
                              $tok), 'suggestions', $t0);
        } elsif ($x < 70) {
            # a loss report: retried with its key until acknowledged
            if (@{ $r{acked} } && rand() < 0.2) {
                my $a = $r{acked}[rand @{ $r{acked} }];
                my $res = $req->('POST', '/kefu/v1/loss-reports',
                    $tok{"$a->{tenant} $a->{user}"}, $a->{body},
                    'Idempotency-Key' => $a->{key});
                my $j = judge(\%r, $res, 'loss-reports replay', $t0);
                if ($res->{status} == 200 && ($j->{id} // '') ne $a->{id}) {
                    $r{violations}++;
                    push @{ $r{why} }, "replay of $a->{key}: $j->{id} not $a->{id}";
                }
                next;
            }
            # reports come from a larger crowd: loss_reports_per_day (10)
            # per user would soon refuse the few users of the rest
            $user = "r$n-" . int(rand 2000);
            $sk = "$tenant $user";
            $tok = $tok{$sk} ||= token($t, $tenant, $user);
            my $key = "soak-$$-" . ++$seq;
            my $body = { kind => 'phone', reason => 'lost',
                         rand() < 0.3 ? (police_report => JSON::PP::true) : () };
            my $first = time;
            for my $try (1 .. 200) {
                my $res = $req->('POST', '/kefu/v1/loss-reports', $tok, $body,
                                 'Idempotency-Key' => $key);
                my $j = judge(\%r, $res, 'loss-reports', $t0);
                if ($res->{status} == 201 || $res->{status} == 200) {
                    push @{ $r{acked} }, { tenant => $tenant, user => $user,
                                           key => $key, id => $j->{id},
                                           body => $body };
                    last;
                }
                last unless $res->{status} == 503 || $res->{status} == 599;
                last if time > $first + 20;
                sleep 0.2;
            }
        } elsif ($x < 76) {
            next unless $sess{$sk};
            judge(\%r, $req->('POST', '/kefu/v1/handoff', $tok,
                              { session_id => $sess{$sk}[0],
                                reason => '想找人工' }), 'handoff', $t0);
        } elsif ($x < 84) {
            next unless $sess{$sk};
            judge(\%r, $req->('POST', '/kefu/v1/feedback', $tok,
                              { session_id => $sess{$sk}[0],
                                turn => $sess{$sk}[1],
                                helpful => rand() < 0.5 ? JSON::PP::true
                                                        : JSON::PP::false }),
                  'feedback', $t0);
        } elsif ($x < 88) {
            my $at = $adm{$tenant} ||= token($t, $tenant, 'ops', admin => 1);
            judge(\%r, $req->('GET', '/kefu/v1/admin/stats?days=2&top=10',
                              $at), 'stats', $t0);
        } elsif ($x < 93) {
            judge(\%r, $req->('GET', '/kefu/v1/whoami', $tok), 'whoami', $t0);
        } else {
            # bad input: refused, nothing written
            my @bad = (['POST', '/kefu/v1/ask', '{"question":5}'],
                       ['POST', '/kefu/v1/events', '{"events":[{"type":"X Y"}]}'],
                       ['POST', '/kefu/v1/ask', '{"question":'],
                       ['GET', '/kefu/v1/suggestions?limit=0', undef]);
            my $b = $bad[rand @bad];
            my $res = $req->($b->[0], $b->[1], $tok, $b->[2]);
            my $j = judge(\%r, $res, 'bad input', $t0);
            if ($res->{status} != 400 && $res->{status} != 599) {
                $r{violations}++;
                push @{ $r{why} }, "bad input $b->[1]: $res->{status}";
            }
        }
    }
    delete $_->{body} for @{ $r{acked} };
    open my $fh, '>', $out or die "$out: $!";
    print $fh $JSON->encode(\%r);
    close $fh;
}

# --- requests cut short: mid-body, before the answer ----------------------

sub aborter {
    my ($t, $stop, $hard, $out) = @_;
    srand($$ ^ time);
    my $tok = token($t, 'demo', 'aborter');
    my $n = 0;
    while (running($stop, $hard)) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->{http_port},
                                      Timeout => 2) or next;
        my $mode = $n++ % 3;
        my $body = '{"kind":"phone","reason":"lost","note":"' . ('x' x 200)
                   . '"}';
        my $head = "POST /kefu/v1/"
            . ($mode == 1 ? 'ask' : 'loss-reports') . " HTTP/1.1\r\n"
            . "Host: x\r\nAuthorization: Bearer $tok\r\n"
            . "Content-Type: application/json\r\n"
            . "Idempotency-Key: abort-$$-$n\r\n"
            . "Content-Length: " . length($body) . "\r\n\r\n";
        if ($mode == 0) {
            print $s $head . substr($body, 0, 40);          # mid-body
        } elsif ($mode == 1) {
            print $s $head . '{"question":"\u600e\u4e48\u8fd8\u6b3e","x":"'
                . ('y' x 150)
                . '"}' . (' ' x 20);                         # then gone
        } else {
            print $s $head . substr($body, 0, 100);
            sleep 0.05;
            print $s substr($body, 100, 50);                 # slow, gone
        }
        close $s;
        sleep 0.01;
    }
    open my $fh, '>', $out or die "$out: $!";
    print $fh $JSON->encode({ aborted => $n });
    close $fh;
}

# --- 10,000 distinct unanswered questions ---------------------------------

sub burst {
    my ($t, $part, $parts, $total, $t0, $out) = @_;
    my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 1);
    my %r = (count => {}, why => [], requests => 0, violations => 0,
             closed => 0, t503 => []);
    my %tok;
    my $each = int($total / $parts);
    for my $i (1 .. $each) {
        # part 0 floods from one user; the others from 20-question users
        my $user = $part == 0 && $i <= 1000 ? 'flood'
                 : "burst-$part-" . int($i / 20);
        my $tok = $tok{$user} ||= token($t, 'demo', $user);
        my $q = "浸泡突发问题第${part}组第${i}号" . join('', map {
                    chr(0x4e00 + int(rand 2000)) } 1 .. 4);
        # a new session each: the workers' session copies fill up too
        my $res = $http->request('POST', $t->url('/kefu/v1/ask'),
            { headers => { Authorization => "Bearer $tok",
                           'Content-Type' => 'application/json' },
              content => $JSON->encode({ question => $q }) });
        judge(\%r, $res, 'burst ask', $t0);
    }
    open my $fh, '>', $out or die "$out: $!";
    print $fh $JSON->encode(\%r);
    close $fh;
}

sub spawn {
    my ($code) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        eval { $code->() };
        print STDERR "soak child: $@" if $@;
        POSIX::_exit($@ ? 1 : 0);
    }
    return $pid;
}

sub read_json {
    my ($f) = @_;
    open my $fh, '<', $f or return {};
    local $/;
    return eval { $JSON->decode(<$fh>) } || {};
}

# --- the run ---------------------------------------------------------------

sub run {
    my (%o) = @_;
    my $secs = $o{seconds} || 60;
    my $clients = $o{clients} || 4;

    my $t = KefuTest->new(no_ssl => 1, no_start => 1, workers => 2,
        tenants => [@TENANTS],
        # a small quarantine: freed memory is reused soon, so that RSS
        # shows what the module keeps, not what ASan holds back
        asan_options => $ENV{KEFU_SOAK_ASAN_OPTIONS} // 'quarantine_size_mb=16:malloc_context_size=2',
        allow_log => [qr/kefu_redis/]);
    $t->{kb} = kb_version($t, 0);
    $t->start_nginx;
    my $dir = $t->dir;
    my $master = $t->nginx_pid;

    my %res = (seconds => $secs, clients => $clients);
    my $t0 = time;
    my $stop = "$dir/soak-stop";
    my $hard = $t0 + $secs + 240;
    my @kids = map {
        my $n = $_;
        spawn(sub { client($t, $n, $stop, $hard, $t0,
                           "$dir/soak-client-$n.json") })
    } 1 .. $clients;
    push @kids, spawn(sub { aborter($t, $stop, $hard,
                                    "$dir/soak-abort.json") });

    # workers' RSS every 2 s, for the report
    my $sampler = spawn(sub {
        open my $fh, '>', "$dir/soak-rss.txt" or die;
        select((select($fh), $| = 1)[0]);
        while (time < $hard && kill 0, $master) {
            printf $fh "%d %d\n", time - $t0,
                rss_kb(FakeRedis::worker_pids($master));
            sleep 2;
        }
    });

    my $until = sub {
        my ($when) = @_;
        sleep $when - time if $when > time;
    };

    # an edited knowledge base, while the clients ask
    $until->($t0 + 0.05 * $secs);
    my %old = map { $_ => 1 } FakeRedis::worker_pids($master);
    $t->{kb} = kb_version($t, 1);
    $t->write_file('nginx.conf', $t->conf);
    my ($rc, $out) = $t->nginx('-s', 'reload');
    $res{reload} = $rc == 0 ? 'ok' : "failed: $out";
    # the old workers finish their requests and go
    my @w;
    for (1 .. 400) {
        @w = FakeRedis::worker_pids($master);
        last if @w == 2 && !grep { $old{$_} } @w;
        sleep 0.05;
    }
    $res{reload} .= ' (old workers still there)' if grep { $old{$_} } @w;

    # 10,000 distinct unanswered questions from 500 users: the day's
    # set, the counter sums, the search memo and the session copies fill
    # up to their limits; what follows must stay flat
    my $parts = 4;
    my $bt0 = time;
    $res{burst_at} = int($bt0 - $t0);
    my @burst = map {
        my $p = $_;
        spawn(sub { burst($t, $p, $parts, 10000, $t0,
                          "$dir/soak-burst-$p.json") })
    } 0 .. $parts - 1;
    waitpid($_, 0) for @burst;
    $res{burst_seconds} = sprintf '%.1f', time - $bt0;

    # warmed up: the workers' memory and Redis' as the reference, after
    # the burst and a quarter of the run
    sleep 2;
    $until->($t0 + 0.25 * $secs) if $secs > 120;
    my $warm = time;
    $res{warm_at} = int($warm - $t0);
    @w = FakeRedis::worker_pids($master);
    $res{workers_warm} = [@w];
    $res{rss_warm_kb} = rss_kb(@w);
    $res{used_memory_warm} = used_memory($t);

    # the rest of the time, at least 20 s: Redis killed and restarted
    # from its AOF every quarter of the run (at least once)
    my $end = $t0 + $secs;
    $end = $warm + 20 if $end < $warm + 20;
    my $next = $warm + 3;
    while ($next < $end - 8) {
        $until->($next);
        push @{ $res{redis_down} }, int(time - $t0);
        $t->stop_redis('KILL');
        sleep 2;
        $t->start_redis;
        push @{ $res{redis_up} }, int(time - $t0 + 0.999);
        $next += $secs / 4 > 30 ? $secs / 4 : 30;
    }

    $until->($end);
    $t->write_file('soak-stop', '');
    waitpid($_, 0) for @kids;
    $res{elapsed} = sprintf '%.1f', time - $t0;

    # the sums of the last interval reach Redis, the workers settle
    sleep 1.5;
    @w = FakeRedis::worker_pids($master);
    $res{workers_end} = [@w];
    $res{rss_end_kb} = rss_kb(@w);
    $res{used_memory_end} = used_memory($t);

    # what the clients saw
    my (%count, @why);
    my @acked;
    for my $f ((map { "$dir/soak-client-$_.json" } 1 .. $clients),
               (map { "$dir/soak-burst-$_.json" } 0 .. $parts - 1)) {
        my $r = read_json($f);
        $res{missing_results}++ unless $r->{count};
        $count{$_} += $r->{count}{$_} for keys %{ $r->{count} || {} };
        $res{requests} += $r->{requests} || 0;
        $res{violations} += $r->{violations} || 0;
        $res{closed} += $r->{closed} || 0;
        push @why, @{ $r->{why} || [] };
        push @acked, @{ $r->{acked} || [] };
        push @{ $res{t503} }, @{ $r->{t503} || [] };
    }
    $res{count} = \%count;
    $res{why} = \@why;
    $res{acked} = scalar @acked;
    $res{aborted} = read_json("$dir/soak-abort.json")->{aborted} || 0;
    $res{burst_sent} = 0;
    $res{burst_sent} += $count{$_} for grep { /^burst ask/ } keys %count;

    # every acknowledged report is there, as acknowledged
    my @lost;
    for my $a (@acked) {
        my %rec = @{ $t->redis_cmd('HGETALL',
                       KefuTest::id_key($a->{tenant}, 'lr', $a->{id})) || [] };
        push @lost, "$a->{tenant} $a->{key} $a->{id}"
            unless ($rec{idempotency_key} // '') eq $a->{key}
                && ($rec{user} // '') eq $a->{user};
    }
    $res{lost} = \@lost;

    # no Idempotency-Key made two reports
    my (%per_key, $records);
    for my $tn (@TENANTS) {
        my $cursor = 0;
        do {
            my $r = $t->redis_cmd('SCAN', $cursor, 'MATCH',
                                  "kefu:{$tn#*}:lr:*", 'COUNT', 1000);
            $cursor = $r->[0];
            for my $k (grep { /:lr:\d\d[0-9a-f]{32}$/ } @{ $r->[1] }) {
                my $v = $t->redis_cmd('HMGET', $k, 'user', 'idempotency_key');
                $per_key{"$tn $v->[0] $v->[1]"}++;
                $records++;
            }
        } while ($cursor ne '0');
    }
    $res{records} = $records // 0;
    $res{duplicates} = [grep { $per_key{$_} > 1 } sort keys %per_key];

    # the bounded keys
    my @d = gmtime;
    my $day = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];
    for my $tn (@TENANTS) {
        $res{bounds}{"kefu:{$tn}:d:$day:u"} =
            $t->redis_cmd('ZCARD', "kefu:{$tn}:d:$day:u");
        $res{bounds}{"kefu:{$tn}:d:$day:q"} =
            $t->redis_cmd('ZCARD', "kefu:{$tn}:d:$day:q");
        for my $s (qw(agents feedback reports police)) {
            for my $k (KefuTest::bucket_keys($tn, $s)) {
                $res{bounds}{$k} = $t->redis_cmd('XLEN', $k);
            }
        }
    }
    $res{bounds}{"kefu:{demo:flood}:uq:$day"} =
        $t->redis_cmd('SCARD', "kefu:{demo:flood}:uq:$day");
    $res{dbsize} = $t->redis_cmd('DBSIZE');

    # the sessions /v1/ask wrote: key + value bytes, what a worker's copy
    # of one holds (the entry size of ngx_http_kefu_sessions.c)
    my @sizes;
    for my $tn (@TENANTS) {
        my $cursor = 0;
        do {
            my $r = $t->redis_cmd('SCAN', $cursor, 'MATCH', "kefu:{$tn:*}:s:*",
                                  'COUNT', 1000);
            $cursor = $r->[0];
            for my $k (@{ $r->[1] }) {
                my $len = $t->redis_cmd('STRLEN', $k);
                push @sizes, length($k) + $len if $len;
            }
        } while ($cursor ne '0');
    }
    @sizes = sort { $a <=> $b } @sizes;
    $res{session_sizes} = \@sizes;

    kill 'TERM', $sampler;
    waitpid($sampler, 0);
    $res{rss_series} = $t->read_file('soak-rss.txt');

    $t->stop_nginx;
    $res{bad_log} = [$t->bad_log_lines];
    $res{t} = $t;
    return \%res;
}

sub uniq {
    my %s;
    return grep { !$s{$_}++ } @_;
}

sub report_text {
    my ($r) = @_;
    my %by_kind;
    for my $k (keys %{ $r->{count} }) {
        my ($st) = $k =~ /(\d+)$/;
        my $kind = $st == 599 ? 'closed' : substr($st, 0, 1) . 'xx';
        $kind = $st if $st >= 400;
        $by_kind{$kind} += $r->{count}{$k};
    }
    my @t503 = sort { $a <=> $b } @{ $r->{t503} || [] };
    return join "\n",
        sprintf('soak: %s s, %d clients + aborter + burst; %d requests '
                . '(%.0f/s), %d aborted mid-request',
                $r->{elapsed}, $r->{clients}, $r->{requests},
                $r->{requests} / ($r->{elapsed} || 1), $r->{aborted}),
        'answers: ' . join(', ', map { "$_ $by_kind{$_}" } sort keys %by_kind),
        sprintf('reload at 5 %%, burst at %d s (%s s), warm-up at %d s, '
                . 'Redis killed at %s s and up at %s s',
                $r->{burst_at}, $r->{burst_seconds}, $r->{warm_at},
                join('/', @{ $r->{redis_down} || [] }),
                join('/', @{ $r->{redis_up} || [] })),
        sprintf('503 at %s s; %d keep-alive connections closed (reload)',
                join(',', uniq(@t503)) || '-', $r->{closed} || 0),
        sprintf('loss reports acknowledged %d, records %d, lost %d, '
                . 'duplicate keys %d', $r->{acked}, $r->{records},
                scalar @{ $r->{lost} }, scalar @{ $r->{duplicates} }),
        sprintf('burst: %d questions', $r->{burst_sent}),
        sprintf('worker RSS: %d KiB after warm-up, %d KiB at the end '
                . '(%+.1f %%)', $r->{rss_warm_kb}, $r->{rss_end_kb},
                100 * ($r->{rss_end_kb} - $r->{rss_warm_kb})
                    / ($r->{rss_warm_kb} || 1)),
        sprintf('Redis used_memory: %.1f MiB after warm-up, %.1f MiB at the '
                . 'end, %d keys', $r->{used_memory_warm} / 1048576,
                $r->{used_memory_end} / 1048576, $r->{dbsize}),
        session_sizes_text($r->{session_sizes}),
        'bounded keys: ' . join(', ', map { "$_ $r->{bounds}{$_}" }
                                     sort keys %{ $r->{bounds} }),
        'worker RSS (s KiB): ' . join(', ', map { s/ /:/r }
                                      split /\n/, $r->{rss_series} // '');
}

sub session_sizes_text {
    my ($s) = @_;
    return 'sessions in Redis: none' unless $s && @$s;
    my $at = sub { $s->[int($_[0] * $#$s)] };
    my $fit = grep { $_ <= 1024 - 8 } @$s;
    return sprintf('sessions in Redis: %d, key + value bytes: median %d, '
                   . '95 %% %d, 99 %% %d, max %d; %.1f %% fit a 1 KiB '
                   . 'entry', scalar @$s, $at->(0.5), $at->(0.95),
                   $at->(0.99), $s->[-1], 100 * $fit / @$s);
}

# The assertions, as tests.
sub check {
    my ($r) = @_;
    is($r->{reload}, 'ok', 'nginx reloaded with the edited knowledge base');
    ok(!$r->{missing_results}, 'every client reported');
    is_deeply($r->{bad_log}, [], 'no crash, no [alert], no sanitizer report')
        or diag(join "\n", @{ $r->{bad_log} }[0 .. 20]);
    is_deeply($r->{workers_end}, $r->{workers_warm},
              'the same workers at the end as after warm-up (none died)');
    is($r->{violations} // 0, 0,
       'every answer 2xx, an expected 4xx or a 503 JSON with Retry-After')
        or diag(join "\n", @{ $r->{why} });
    cmp_ok($r->{acked}, '>', 0, 'loss reports were acknowledged');
    is_deeply($r->{lost}, [], 'every acknowledged loss report is there');
    is_deeply($r->{duplicates}, [], 'no Idempotency-Key made two reports');
    is($r->{burst_sent}, 10000, '10,000 distinct unanswered questions sent');
    cmp_ok($r->{rss_end_kb}, '<=', 1.10 * $r->{rss_warm_kb},
           'worker RSS at the end within 10 % of after warm-up');
    for my $k (sort keys %{ $r->{bounds} }) {
        my $max = $k =~ /:u$|:q$/ ? 1000              # stats_top_max
                : $k =~ /:uq:/ ? 20                   # unanswered_per_user
                : $k =~ /:(agents|feedback)$/ ? 10000 + 200   # stream_max ~
                : undef;
        next unless defined $max;
        cmp_ok($r->{bounds}{$k} // 0, '<=', $max, "$k within its limit");
    }
    cmp_ok($r->{used_memory_end}, '<', 256 * 1048576,
           'Redis used_memory bounded (' . int($r->{used_memory_end} / 1024)
           . ' KiB)');
}

1;
