package KefuTest;

# Test harness: a private redis-server and Debian's nginx with the kefu
# module on free loopback ports in a temp dir, plus HTTP helpers.  Core
# Perl only (and IO::Socket::SSL for HTTPS).
#
# Every test file gets, without asking, one last assertion per harness
# object when it calls done_testing (or when the object goes away first):
# nginx is stopped gracefully and its error.log must show no sanitizer
# report, [alert], [crit], run-time [emerg], nor a worker that died
# (allow expected lines with allow_log => [qr/.../] or $t->allow_log).
#
# Environment:
#   KEFU_MODULE=path    the module to load (tools/integration.sh: ASan)
#   KEFU_VALGRIND=1     run nginx under valgrind, single process
#   KEFU_RECORD=dir     append every /v1/ response to dir/*.jsonl for
#                       tools/openapi-check.mjs
#   KEFU_KEEP=1         keep the temp dir
#   KEFU_TEST_REDIS=cluster
#                       the harness's Redis is a 3-master + 3-replica
#                       Redis Cluster (KefuCluster.pm; new(cluster => 1)
#                       asks for one in any case): nginx gets
#                       kefu_redis_cluster with every node as a seed,
#                       redis_cmd goes through the cluster, stop_redis /
#                       start_redis stop and start every node

use strict;
use warnings;

use Compress::Zlib ();
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use KefuCluster;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(refaddr weaken);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Test2::API qw(context test2_add_callback_testing_done);
use Time::HiRes qw(sleep time);

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $NGINX = $ENV{KEFU_NGINX} || '/usr/sbin/nginx';
our $JSON = JSON::PP->new->utf8->canonical;
our $VALGRIND = $ENV{KEFU_VALGRIND} ? 1 : 0;
our $CLUSTER = ($ENV{KEFU_TEST_REDIS} // '') eq 'cluster' ? 1 : 0;

# HTTP::Tiny writes a request's header and body apart: without
# TCP_NODELAY the body waits for the delayed ACK (40 ms a request).
{
    no warnings 'redefine';
    my $connect = \&HTTP::Tiny::Handle::connect;
    *HTTP::Tiny::Handle::connect = sub {
        my $h = $connect->(@_);
        setsockopt($h->{fh}, IPPROTO_TCP, TCP_NODELAY, 1)
            or die "TCP_NODELAY: $!";
        return $h;
    };
}

# live harness objects, checked when the test file is done
my %LIVE;

test2_add_callback_testing_done(sub {
    for my $t (grep { defined } values %LIVE) {
        $t->final_check;
    }
});

# A test that dies still leaves no server behind.  This END block runs
# before File::Temp's (LIFO), while the pid files are still there.
END {
    local ($?, $@);
    for my $t (grep { defined } values %LIVE) {
        eval {
            $t->stop_nginx if $t->{dir} && -f "$t->{dir}/nginx.pid";
            $t->stop_redis if $t->redis_started;
        };
    }
}

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{cluster} //= $CLUSTER;

    $LIVE{refaddr $self} = $self;
    weaken $LIVE{refaddr $self};
    $self->{allow_log} = [@{ $o{allow_log} || [] }];
    $self->{quiet} = [];

    $self->{dir} = tempdir('kefu-t-XXXXXX', TMPDIR => 1,
                           CLEANUP => !$ENV{KEFU_KEEP});
    chmod 0755, $self->{dir};
    make_path("$self->{dir}/tmp", "$self->{dir}/redis", "$self->{dir}/logs");

    $self->{module} ||= $ENV{KEFU_MODULE}
        || "$TOP/build/nginx/ngx_http_kefu_module.so";
    $self->{kb} ||= "$TOP/demo/kb.json";
    $self->{tenants} ||= [qw(demo other)];
    $self->{http_port} = free_port();
    $self->{https_port} = free_port();

    for my $t (@{ $self->{tenants} }) {
        $self->write_file("$t.secret", "secret-of-$t-" . ('x' x 24) . "\n");
    }

    $self->make_cert() if !$o{no_ssl};

    if (!defined $o{redis} || $o{redis}) {
        $self->{redis_port} = free_port();
        $self->start_redis() unless $o{redis_down};
    }

    $self->start_nginx() unless $o{no_start};
    return $self;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub dir { $_[0]{dir} }

sub write_file {
    my ($self, $name, $data) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $data;
    close $fh;
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    my $d = <$fh>;
    close $fh;
    return $d;
}

sub make_cert {
    my ($self) = @_;
    my $d = $self->{dir};
    system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
           . "-nodes -days 2 -subj /CN=localhost -keyout $d/key.pem "
           . "-out $d/cert.pem >/dev/null 2>&1") == 0
        or die "openssl failed";
}

# --- Redis -----------------------------------------------------------

# appendfsync => always (the default; new(appendfsync => ...) sets it for
# the harness, the benchmarks use everysec)
sub start_redis {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    return $self->start_cluster(%o) if $self->{cluster};
    my @args = ('redis-server', '--port', $self->{redis_port},
                '--bind', '127.0.0.1', '--dir', "$d/redis",
                '--daemonize', 'yes', '--pidfile', "$d/redis/redis.pid",
                '--logfile', "$d/redis/redis.log", '--save', '',
                '--appendonly', 'yes', '--appendfsync',
                $o{appendfsync} || $self->{appendfsync} || 'always',
                @{ $self->{redis_args} || [] });
    unlink "$d/redis/redis.pid";
    system(@args) == 0 or die "redis-server failed";
    for (1 .. 200) {
        # not PING: the workers' PINGs are counted (wait_workers_connected)
        return 1 if ($self->redis_cmd('ECHO', 'up') // '') eq 'up';
        sleep 0.025;
    }
    die "redis did not start";
}

# Cluster mode: the nodes in $dir/cluster, created the first time and
# started again as they were after stop_redis.  redis_port is a master's.
sub start_cluster {
    my ($self, %o) = @_;
    if ($self->{kc}) {
        $self->{kc}->start_all or die "cluster not ok after restart";
    } else {
        $self->{kc} = KefuCluster->new(
            dir => "$self->{dir}/cluster",
            appendfsync => $o{appendfsync} || $self->{appendfsync}
                           || 'always',
            extra_conf => [map { s/^--//r } @{ $self->{redis_args} || [] }]);
    }
    $self->{redis_port} = ($self->{kc}->masters)[0];
    return 1;
}

sub cluster { $_[0]{kc} }

sub redis_started {
    my ($self) = @_;
    return 0 unless $self->{dir};
    return $self->{kc} ? scalar(grep { $self->{kc}->alive($_) }
                                     $self->{kc}->ports)
                       : -f "$self->{dir}/redis/redis.pid";
}

sub redis_pid {
    my ($self) = @_;
    return $self->{kc}->node_pid($self->{redis_port}) if $self->{kc};
    my $pid = $self->read_file("redis/redis.pid");
    chomp $pid;
    return $pid;
}

sub stop_redis {
    my ($self, $sig) = @_;
    return $self->{kc}->stop_all($sig || 'TERM') if $self->{kc};
    my $pid = $self->redis_pid or return;
    kill $sig || 'TERM', $pid;
    for (1 .. 200) {
        last if gone($pid);
        sleep 0.025;
    }
    unlink "$self->{dir}/redis/redis.pid";
}

# A tiny synchronous RESP client for assertions (not used by the module).
sub redis_cmd {
    my ($self, @cmd) = @_;
    return $self->{kc}->cmd(@cmd) if $self->{kc};
    utf8::encode($_) for @cmd;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{redis_port},
                                  Timeout => 2) or return '';
    my $req = '*' . @cmd . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @cmd;
    print $s $req;
    my $r = read_resp($s);
    close $s;
    return $r;
}

# one RESP reply; errors are their "-ERR ..." line
sub read_resp { KefuCluster::read_resp(@_) }

# --- the module's Redis keys (README, "Redis keys") -------------------

# a user's bucket: CRC-32 of the user id modulo 16, as
# ngx_http_kefu_bucket() computes it
sub bucket {
    my ($user) = @_;
    my $b = $user;
    utf8::encode($b);
    return sprintf '%02d', Compress::Zlib::crc32($b) % 16;
}

# kefu:{T#NN}:SUFFIX with NN the user's bucket
sub bkey {
    my ($tenant, $user, $suffix) = @_;
    return "kefu:{$tenant#" . bucket($user) . "}:$suffix";
}

# a user's record in the bucket: kefu:{T#NN}:WHAT:LEN:USER[:REST]
sub okey {
    my ($tenant, $what, $user, @rest) = @_;
    my $b = $user;
    utf8::encode($b);
    return bkey($tenant, $user,
                join ':', $what, length($b), $user, @rest);
}

# a field of the day's counters, summed over the tenant's hash and its
# buckets' (the statistics endpoint sums the same)
sub day_sum {
    my ($self, $tenant, $day, $field) = @_;
    my $sum = 0;
    for my $k ("kefu:{$tenant}:d:$day",
               map { sprintf "kefu:{$tenant#%02d}:d:$day", $_ } 0 .. 15)
    {
        $sum += $self->redis_cmd('HGET', $k, $field) // 0;
    }
    return $sum;
}

# a report's (WHAT "lr") or a ticket's ("tk") key: its id names the bucket
sub id_key {
    my ($tenant, $what, $id) = @_;
    return "kefu:{$tenant#" . substr($id, 0, 2) . "}:$what:$id";
}

# the 16 keys kefu:{T#NN}:SUFFIX of a tenant
sub bucket_keys {
    my ($tenant, $suffix) = @_;
    return map { sprintf "kefu:{$tenant#%02d}:$suffix", $_ } 0 .. 15;
}

# the entries of every bucket's stream SUFFIX, oldest first
sub stream_all {
    my ($self, $tenant, $suffix) = @_;
    my @all = map { @{ $self->redis_cmd('XRANGE', $_, '-', '+') || [] } }
              bucket_keys($tenant, $suffix);
    my $id = sub { [split /-/, $_[0]] };
    return [sort { my ($x, $y) = ($id->($a->[0]), $id->($b->[0]));
                   $x->[0] <=> $y->[0] || $x->[1] <=> $y->[1] } @all];
}

# the waiting tickets of every bucket's queue in queue order: [id, score]
sub queue_all {
    my ($self, $tenant) = @_;
    my @all;
    for my $k (bucket_keys($tenant, 'agents:q')) {
        my $q = $self->redis_cmd('ZRANGE', $k, 0, -1, 'WITHSCORES') || [];
        push @all, [splice @$q, 0, 2] while @$q;
    }
    return [sort { $a->[1] <=> $b->[1] || $a->[0] cmp $b->[0] } @all];
}

# what an agent desk does (README): take the first ticket of all queues
sub pop_ticket {
    my ($self, $tenant) = @_;
    my $first = $self->queue_all($tenant)->[0] or return undef;
    my $b = substr $first->[0], 0, 2;
    return $self->redis_cmd('ZREM', "kefu:{$tenant#$b}:agents:q",
                            $first->[0]) ? $first->[0] : undef;
}

# --- nginx -----------------------------------------------------------

sub conf {
    my ($self) = @_;
    my $d = $self->{dir};
    my $redis = $self->{redis_directive}
        // ($self->{redis_port}
            ? $self->redis_line('timeout='
                  . ($self->{redis_timeout} // ($VALGRIND ? '5s' : '300ms')))
            : '');
    my $tenants = '';
    for my $t (@{ $self->{tenants} }) {
        my $kb = ref $self->{kb} ? $self->{kb}{$t} : $self->{kb};
        $tenants .= "    kefu_tenant $t {\n"
            . "        jwt_secret_file $d/$t.secret;\n"
            . "        knowledge_base $kb;\n"
            . ((ref $self->{tenant_extra} ? $self->{tenant_extra}{$t}
                                            : $self->{tenant_extra}) || '')
            . "    }\n";
    }
    my $ssl = $self->{no_ssl} ? '' :
        "        listen 127.0.0.1:$self->{https_port} ssl http2;\n"
        . "        ssl_certificate $d/cert.pem;\n"
        . "        ssl_certificate_key $d/key.pem;\n";
    my $workers = $self->{workers} || 2;
    # stats_flush => '' leaves the module's default
    my $flush = $self->{stats_flush} // '10ms';
    # without the harness's Redis (fake servers, own setups) the workers'
    # poll of learned questions would be traffic those tests do not expect
    my $poll = $self->{learned_poll} // ($self->{redis_port} ? 1 : 0);
    # valgrind follows one process: nginx runs single, in the foreground
    my $mode = $VALGRIND ? "daemon off;\nmaster_process off;"
                         : "daemon on;\nmaster_process on;";

    return <<"EOF";
load_module $self->{module};
worker_processes $workers;
$mode
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log $d/logs/access.log;
    @{[ $flush ne '' ? "kefu_stats_flush $flush;" : '' ]}
    @{[ $poll ? '' : 'kefu_learned_poll off;' ]}
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    $redis
$tenants
@{[ $self->{http_extra} || '' ]}
    server {
        listen 127.0.0.1:$self->{http_port};
$ssl
        location /kefu/ { kefu_api; }
        location = /ok { return 200 '{"ok":true}'; }
@{[ $self->{server_extra} || '' ]}
    }
}
EOF
}

# The directive for the harness's Redis (kefu_redis, or kefu_redis_cluster
# with every node as a seed) with these parameters, e.g. 'max_pending=3'
sub redis_line {
    my ($self, $params) = @_;
    my $addr = $self->{kc} ? join(' ', $self->{kc}->seeds)
                           : "127.0.0.1:$self->{redis_port}";
    return ($self->{kc} ? 'kefu_redis_cluster' : 'kefu_redis')
        . " $addr $params;";
}

sub nginx_env {
    my ($self) = @_;
    my %env;
    if (($ENV{KEFU_MODULE} || '') =~ /asan/ || $self->{asan}) {
        my $lib = `gcc -print-file-name=libasan.so`;
        chomp $lib;
        $env{LD_PRELOAD} = $lib;
        $env{ASAN_OPTIONS} = 'detect_leaks=0:abort_on_error=0'
            . ($self->{asan_options} ? ":$self->{asan_options}" : '');
        $env{UBSAN_OPTIONS} = 'print_stacktrace=1';
    }
    return %env;
}

# Runs the nginx binary (e.g. '-t', '-s', 'reload').  What a command that
# only reads the configuration logs (-t, -T, -s) is not the running
# server's: its [emerg] lines do not fail the test.
sub nginx {
    my ($self, @args) = @_;
    my %env = $self->nginx_env;
    local @ENV{keys %env} = values %env;
    my $before = -s "$self->{dir}/logs/error.log" || 0;
    my $out = `$NGINX -p $self->{dir}/ -c $self->{dir}/nginx.conf @args 2>&1`;
    my $rc = $? >> 8;
    if (grep { /^-[tTs]$/ } @args) {
        push @{ $self->{quiet} },
            [$before, -s "$self->{dir}/logs/error.log" || 0];
    }
    return ($rc, $out);
}

sub start_nginx {
    my ($self) = @_;
    $self->write_file('nginx.conf', $self->conf);
    # with our Redis running, tests start once every worker is connected
    my $pings = $self->redis_running ? $self->redis_pings : undef;
    if ($VALGRIND) {
        $self->start_valgrind;
    } else {
        my ($rc, $out) = $self->nginx();
        die "nginx failed to start: $out" if $rc;
    }
    for (1 .. ($VALGRIND ? 2400 : 200)) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{http_port});
        if ($s) {
            close $s;
            $self->wait_redis_up if $VALGRIND;
            $self->wait_workers_connected($pings) if defined $pings;
            return 1;
        }
        die "nginx exited during start-up: " . $self->error_log
            if $self->{vg_pid} && waitpid($self->{vg_pid}, WNOHANG) > 0;
        sleep 0.025;
    }
    die "nginx did not listen";
}

# Slow start-up (valgrind): wait until the worker's Redis handshake is done.
sub wait_redis_up {
    my ($self) = @_;
    return if !$self->{redis_port} || $self->{redis_down}
        || defined $self->{redis_directive};
    for (1 .. 400) {
        my $r = $self->get('/kefu/v1/health');
        return if ($r->{json}{redis} // '') eq 'up';
        sleep 0.025;
    }
}

sub redis_running {
    my ($self) = @_;
    return $self->{redis_port} && !defined $self->{redis_directive}
        && $self->redis_started;
}

sub wait_workers_connected {
    my ($self, $before) = @_;
    # a cluster: every worker connects to every master
    my @nodes = $self->{kc} ? $self->{kc}->masters : (1);
    my $want = $before + ($VALGRIND ? 1 : $self->{workers} || 2) * @nodes;
    for (1 .. 200) {
        return if $self->redis_pings >= $want;
        sleep 0.025;
    }
}

# Redis' count of PINGs (the masters' sum on a cluster): each worker's
# connection handshake ends with one
sub redis_pings {
    my ($self) = @_;
    my $info = $self->redis_cmd('INFO', 'commandstats');
    return $info =~ /cmdstat_ping:calls=(\d+)/ ? $1 : 0;
}

# nginx under valgrind in the foreground, a child of the test: its exit
# status (99 on a valgrind error) is checked when it stops.
sub start_valgrind {
    my ($self) = @_;
    my $d = $self->{dir};
    my @vg = ('valgrind', '--error-exitcode=99', '--track-origins=yes',
              "--suppressions=$TOP/lua-free-tests/valgrind.supp",
              '--gen-suppressions=all', "--log-file=$d/logs/valgrind.log");
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$d/logs/valgrind.out";
        open STDERR, '>&', \*STDOUT;
        exec @vg, $NGINX, '-p', "$d/", '-c', "$d/nginx.conf";
        exit 127;
    }
    $self->{vg_pid} = $pid;
    delete $self->{vg_status};
}

sub nginx_pid {
    my ($self) = @_;
    my $pid = $self->read_file('nginx.pid');
    chomp $pid;
    return $pid;
}

sub stop_nginx {
    my ($self) = @_;
    if ($self->{vg_pid}) {
        kill 'QUIT', $self->{vg_pid};
        my $r = 0;
        for (1 .. 2400) {
            $r = waitpid($self->{vg_pid}, WNOHANG);
            last if $r;
            sleep 0.025;
        }
        if (!$r) {
            kill 'KILL', $self->{vg_pid};
            waitpid($self->{vg_pid}, 0);
        }
        $self->{vg_status} = $?;
        delete $self->{vg_pid};
        unlink "$self->{dir}/nginx.pid";
        return;
    }
    my $pid = $self->nginx_pid or return;
    kill 'QUIT', $pid;
    for (1 .. 400) {
        last if gone($pid);
        sleep 0.025;
    }
    kill 'KILL', $pid unless gone($pid);
    unlink "$self->{dir}/nginx.pid";
}

# A daemon is reparented to init, which may reap it late: a zombie is gone.
sub gone {
    my ($pid) = @_;
    return 1 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh> // '';
    return $stat =~ /^\d+ \(.*\) Z/ ? 1 : 0;
}

sub error_log { $_[0]->read_file('logs/error.log') }

# Expected lines (e.g. the [emerg] of a refused reload) are not bad.
sub allow_log {
    my ($self, @re) = @_;
    push @{ $self->{allow_log} }, @re;
}

# Lines that must never appear: alerts, crits, [emerg] of the running
# server, sanitizer reports, workers that died or failed.
sub bad_log_lines {
    my ($self) = @_;
    my $log = $self->error_log;
    my @bad;
    my $off = 0;
    for my $line (split /\n/, $log) {
        my $at = $off;
        $off += length($line) + 1;
        next unless $line =~ /\[(alert|crit|emerg)\]/
            || $line =~ /AddressSanitizer|runtime error:|LeakSanitizer/
            || $line =~ /exited on signal|exited with (?:fatal )?code [1-9]/;
        next if grep { $line =~ $_ } @{ $self->{allow_log} };
        next if $line =~ /\[emerg\]/
            && grep { $at >= $_->[0] && $at < $_->[1] } @{ $self->{quiet} };
        push @bad, $line;
    }
    if ($VALGRIND) {
        my $vg = $self->read_file('logs/valgrind.log');
        push @bad, "valgrind: $1" while $vg =~ /^==\d+== (ERROR SUMMARY: [1-9].*)$/mg;
        push @bad, "valgrind: nginx exit status " . ($self->{vg_status} >> 8)
            if defined $self->{vg_status} && $self->{vg_status} >> 8 == 99;
    }
    return @bad;
}

# The assertion every test file gets: nginx stopped, error.log clean.
sub final_check {
    my ($self) = @_;
    return if $self->{checked}++ || !$self->{dir} || !-d $self->{dir};
    local ($?, $@);
    $self->stop_nginx;
    my @bad = $self->bad_log_lines;
    my $ctx = context();
    $ctx->ok(!@bad, "harness: error.log of $self->{dir} clean after stop");
    $ctx->diag(join "\n", @bad[0 .. ($#bad > 30 ? 30 : $#bad)]) if @bad;
    $ctx->release;
    $self->stop_redis if $self->redis_started;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    delete $LIVE{refaddr $self};
    # gone out of scope before the end: check now, while tests may run
    if (!$self->{checked} && ${^GLOBAL_PHASE} ne 'DESTRUCT'
        && !Test2::API::test2_stack()->top->ended)
    {
        eval { $self->final_check };
    }
    $self->stop_nginx if $self->{dir} && -f "$self->{dir}/nginx.pid";
    $self->stop_redis if $self->redis_started;
}

# --- tokens ----------------------------------------------------------

sub token {
    my ($self, $user, %o) = @_;
    my $tenant = $o{tenant} || $self->{tenants}[0];
    my @args = ("$TOP/build/tools/kefu_token",
                '--secret-file', $o{secret_file} || "$self->{dir}/$tenant.secret",
                '--tenant', $tenant, '--user', $user);
    my $ttl = $o{ttl} // 600;
    push @args, $ttl > 0 ? ('--ttl', $ttl) : ('--exp-offset', $ttl);
    push @args, '--scope', $o{scope} if $o{scope};
    push @args, @{ $o{extra} } if $o{extra};
    open my $fh, '-|', @args or die "kefu_token: $!";
    my $tok = <$fh>;
    close $fh;
    die "kefu_token failed" if $? || !defined $tok;
    chomp $tok;
    return $tok;
}

# --- benchmarks ------------------------------------------------------

# One wrk run against this server, for bench/*.sh (THREADS, CONNS and
# DURATION from the environment); returns { rps, bad, lat, p99, n }.
sub wrk {
    my ($self, $path, @args) = @_;
    my @cmd = ('wrk', '--latency', '-t' . ($ENV{THREADS} || 2),
               '-c' . ($ENV{CONNS} || 50), '-d' . ($ENV{DURATION} || '10s'),
               @args, $self->url($path));
    open my $fh, '-|', @cmd or die "wrk: $!";
    my $out = do { local $/; <$fh> };
    close $fh;
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s*([\d.]+)/;
    ($r{bad}) = $out =~ /Non-2xx or 3xx responses:\s*(\d+)/;
    ($r{lat}) = $out =~ /Latency\s+(\S+)/;
    ($r{p99}) = $out =~ /^\s+99%\s+(\S+)/m;
    ($r{n}) = $out =~ /(\d+) requests in/;
    die "no result from wrk:\n$out" unless defined $r{rps};
    $r{bad} //= 0;
    return \%r;
}

# The tenants' counters of /v1/ask are written by each worker every
# kefu_stats_flush (10ms here, unless stats_flush => ...): wait for them.
# A fixed wait: what is "all written" depends on the test.
sub settle {
    my ($self) = @_;
    sleep($VALGRIND ? 1.5 : 0.2);
}

# Benchmarks: /ok (`return 200`) and each target in turn, ROUNDS times
# (3 unless set), so that a slow or a fast spell of the shared machine
# falls on both sides of a ratio.  Targets: name => { path, args => [wrk
# arguments], env => {…} }.  Returns name => { rps, p99 (ms), ratio, bad,
# ratios => [...] } with medians over the rounds; the ratio of each round
# is against the /ok run just before it.
sub compare {
    my ($self, @targets) = @_;
    my $rounds = $ENV{ROUNDS} || 3;
    my (%rps, %p99, %ratio, %bad);
    my @names = ('ok', map { $targets[2 * $_] } 0 .. $#targets / 2);
    my %spec = ('ok' => { path => '/ok' }, @targets);

    $self->wrk('/ok');                      # warm up
    for (1 .. $rounds) {
        for my $name (@names) {
            my $sp = $spec{$name};
            local @ENV{keys %{ $sp->{env} || {} }} = values %{ $sp->{env} || {} };
            my $r = $self->wrk($sp->{path}, @{ $sp->{args} || [] });
            push @{ $rps{$name} }, $r->{rps};
            push @{ $p99{$name} }, ms($r->{p99});
            push @{ $ratio{$name} }, $r->{rps} / $rps{ok}[-1];
            $bad{$name} += $r->{bad};
        }
    }
    my %res;
    for my $name (@names) {
        $res{$name} = { rps => median(@{ $rps{$name} }),
                        p99 => median(@{ $p99{$name} }),
                        ratio => median(@{ $ratio{$name} }),
                        ratios => $ratio{$name}, bad => $bad{$name} };
    }
    return \%res;
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# wrk's "4.67ms", "980.00us", "1.02s" in ms
sub ms {
    my ($v) = @_;
    return undef unless defined $v && $v =~ /^([\d.]+)(us|ms|s|m)$/;
    return $1 / 1000 if $2 eq 'us';
    return $1 if $2 eq 'ms';
    return $1 * 1000 if $2 eq 's';
    return $1 * 60000;
}

# --- HTTP ------------------------------------------------------------

sub url {
    my ($self, $path, $https) = @_;
    return $https ? "https://127.0.0.1:$self->{https_port}$path"
                  : "http://127.0.0.1:$self->{http_port}$path";
}

sub client {
    my ($self) = @_;
    $self->{client} ||= HTTP::Tiny->new(timeout => 10, keep_alive => 1,
                                        verify_SSL => 0,
                                        SSL_options => { SSL_verify_mode => 0 });
    return $self->{client};
}

# request(METHOD, PATH, body => REF|STRING, token => T, headers => {...})
# returns { status, headers, content, json }
sub request {
    my ($self, $method, $path, %o) = @_;
    my %h = %{ $o{headers} || {} };
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    my $content = $o{body};
    if (ref $content) {
        $content = $JSON->encode($content);
        $h{'Content-Type'} //= 'application/json';
    } elsif (defined $content) {
        $h{'Content-Type'} //= 'application/json';
    }
    my $res = $self->client->request($method, $self->url($path, $o{https}),
        { headers => \%h, defined $content ? (content => $content) : () });
    my $json = eval { $JSON->decode($res->{content}) };
    $res->{json} = $json;
    $self->record($method, $path, $res) if $ENV{KEFU_RECORD};
    return $res;
}

# KEFU_RECORD=dir: one JSON line per API response, for the OpenAPI check.
sub record {
    my ($self, $method, $path, $res) = @_;
    return unless $path =~ m{(/v1/[^?#]*)};
    my $api = $1;
    return if $res->{status} == 599;            # HTTP::Tiny's own error
    my ($name) = $0 =~ m{([^/]+)$};
    my $file = "$ENV{KEFU_RECORD}/$name.jsonl";
    make_path($ENV{KEFU_RECORD});
    my $ct = $res->{headers}{'content-type'} // '';
    my $rec = { test => $name, method => $method, path => $api,
                status => $res->{status} + 0, content_type => $ct,
                json => defined $res->{json} ? 1 : 0,
                body => $res->{json} };
    $rec->{raw} = substr($res->{content} // '', 0, 200)
        unless defined $res->{json};
    open my $fh, '>>', $file or die "$file: $!";
    print $fh $JSON->encode($rec), "\n";
    close $fh;
}

sub get  { my ($s, $p, %o) = @_; $s->request('GET', $p, %o) }
sub post { my ($s, $p, %o) = @_; $s->request('POST', $p, %o) }

# Raw bytes over a fresh connection; returns (status, body).
sub raw {
    my ($self, $bytes, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{http_port},
                                  Timeout => 5) or die "connect: $!";
    print $s $bytes;
    shutdown($s, 1) if $o{half_close};
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($status) = $resp =~ m{^HTTP/1\.[01] (\d+)};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($status // 0, $body // '');
}

# Requests released together, each from its own process and connection
# with all but its last byte sent beforehand: burst(TOKEN, {method, path,
# key (Idempotency-Key), body, delay (seconds after the others)}, ...).
# Returns for each [status, error code or '-', id or '-', seconds from
# its last byte to the answer] (status 0: no answer).
sub burst {
    my ($self, $tok, @reqs) = @_;
    my $go = "$self->{dir}/tmp/burst-" . ++$self->{bursts};
    my @pids;
    for my $i (0 .. $#reqs) {
        my $q = $reqs[$i];
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $b = $q->{body} // '';
            my $req = "$q->{method} $q->{path} HTTP/1.1\r\nHost: x\r\n"
                . "Authorization: Bearer $tok\r\n"
                . ($q->{key} ? "Idempotency-Key: $q->{key}\r\n" : '')
                . ($b ne '' ? "Content-Type: application/json\r\n" : '')
                . "Connection: close\r\n"
                . "Content-Length: " . length($b) . "\r\n\r\n$b";
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $self->{http_port},
                                          Timeout => 20)
                or POSIX::_exit(2);
            syswrite $s, substr($req, 0, -1);
            for (1 .. 5000) { last if -e $go; sleep 0.002 }
            sleep $q->{delay} if $q->{delay};
            my $t0 = time;
            syswrite $s, substr($req, -1);
            local $/;
            my $resp = <$s> // '';
            my $took = time - $t0;
            my ($st) = $resp =~ m{^HTTP/1\.1 (\d+)};
            my ($code) = $resp =~ /"code":"([a-z_]+)"/;
            my ($id) = $resp =~ /"id":"([0-9a-f]+)"/;
            open my $out, '>', "$go-$i" or POSIX::_exit(1);
            printf $out "%s %s %s %.3f\n", $st // 0, $code // '-',
                   $id // '-', $took;
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    sleep 0.3;
    open my $fh, '>', $go or die "$go: $!";
    close $fh;
    waitpid $_, 0 for @pids;
    my @res;
    for my $i (0 .. $#reqs) {
        my $line = '0 - - 99';
        if (open my $in, '<', "$go-$i") {
            $line = <$in> // $line;
        }
        push @res, [split ' ', $line];
    }
    return @res;
}

1;
