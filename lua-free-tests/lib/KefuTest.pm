package KefuTest;

# Test harness: a private redis-server and Debian's nginx with the kefu
# module on free loopback ports in a temp dir, plus HTTP helpers.  Core
# Perl only (and IO::Socket::SSL for HTTPS).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $NGINX = $ENV{KEFU_NGINX} || '/usr/sbin/nginx';
our $JSON = JSON::PP->new->utf8->canonical;

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;

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

sub start_redis {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my @args = ('redis-server', '--port', $self->{redis_port},
                '--bind', '127.0.0.1', '--dir', "$d/redis",
                '--daemonize', 'yes', '--pidfile', "$d/redis/redis.pid",
                '--logfile', "$d/redis/redis.log", '--save', '',
                '--appendonly', 'yes', '--appendfsync',
                $o{appendfsync} || 'always',
                @{ $self->{redis_args} || [] });
    unlink "$d/redis/redis.pid";
    system(@args) == 0 or die "redis-server failed";
    for (1 .. 200) {
        return 1 if $self->redis_cmd('PING') eq '+PONG';
        sleep 0.025;
    }
    die "redis did not start";
}

sub redis_pid {
    my ($self) = @_;
    my $pid = $self->read_file("redis/redis.pid");
    chomp $pid;
    return $pid;
}

sub stop_redis {
    my ($self, $sig) = @_;
    my $pid = $self->redis_pid or return;
    kill $sig || 'TERM', $pid;
    for (1 .. 200) {
        last unless kill 0, $pid;
        sleep 0.025;
    }
    unlink "$self->{dir}/redis/redis.pid";
}

# A tiny synchronous RESP client for assertions (not used by the module).
sub redis_cmd {
    my ($self, @cmd) = @_;
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

sub read_resp {
    my ($s) = @_;
    my $line = <$s>;
    return '' unless defined $line;
    $line =~ s/\r\n$//;
    my $t = substr($line, 0, 1);
    my $v = substr($line, 1);
    if ($t eq '$') {
        return undef if $v < 0;
        my $data = '';
        read($s, $data, $v + 2);
        return substr($data, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [map { read_resp($s) } 1 .. $v];
    }
    return $v if $t eq ':';
    return $line;
}

# --- nginx -----------------------------------------------------------

sub conf {
    my ($self) = @_;
    my $d = $self->{dir};
    my $redis = $self->{redis_directive}
        // ($self->{redis_port}
            ? "kefu_redis 127.0.0.1:$self->{redis_port} timeout=300ms;"
            : '');
    my $tenants = '';
    for my $t (@{ $self->{tenants} }) {
        my $kb = ref $self->{kb} ? $self->{kb}{$t} : $self->{kb};
        $tenants .= "    kefu_tenant $t {\n"
            . "        jwt_secret_file $d/$t.secret;\n"
            . "        knowledge_base $kb;\n"
            . ($self->{tenant_extra} || '')
            . "    }\n";
    }
    my $ssl = $self->{no_ssl} ? '' :
        "        listen 127.0.0.1:$self->{https_port} ssl http2;\n"
        . "        ssl_certificate $d/cert.pem;\n"
        . "        ssl_certificate_key $d/key.pem;\n";
    my $workers = $self->{workers} || 2;

    return <<"EOF";
load_module $self->{module};
worker_processes $workers;
daemon on;
master_process on;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 1024; }
http {
    access_log $d/logs/access.log;
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

sub nginx_env {
    my ($self) = @_;
    my %env;
    if (($ENV{KEFU_MODULE} || '') =~ /asan/ || $self->{asan}) {
        my $lib = `gcc -print-file-name=libasan.so`;
        chomp $lib;
        $env{LD_PRELOAD} = $lib;
        $env{ASAN_OPTIONS} = 'detect_leaks=0:abort_on_error=0';
        $env{UBSAN_OPTIONS} = 'print_stacktrace=1';
    }
    return %env;
}

sub nginx {
    my ($self, @args) = @_;
    my %env = $self->nginx_env;
    local @ENV{keys %env} = values %env;
    my $out = `$NGINX -p $self->{dir}/ -c $self->{dir}/nginx.conf @args 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx {
    my ($self) = @_;
    $self->write_file('nginx.conf', $self->conf);
    my ($rc, $out) = $self->nginx();
    die "nginx failed to start: $out" if $rc;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $self->{http_port});
        if ($s) { close $s; return 1; }
        sleep 0.025;
    }
    die "nginx did not listen";
}

sub nginx_pid {
    my ($self) = @_;
    my $pid = $self->read_file('nginx.pid');
    chomp $pid;
    return $pid;
}

sub stop_nginx {
    my ($self) = @_;
    my $pid = $self->nginx_pid or return;
    kill 'QUIT', $pid;
    for (1 .. 400) {
        last unless kill 0, $pid;
        sleep 0.025;
    }
    kill 'KILL', $pid if kill 0, $pid;
    unlink "$self->{dir}/nginx.pid";
}

sub error_log { $_[0]->read_file('logs/error.log') }

# Lines that must never appear: alerts, crits, sanitizer reports, crashes.
sub bad_log_lines {
    my ($self) = @_;
    return grep {
        /\[(alert|crit|emerg)\]/ || /AddressSanitizer|runtime error:|LeakSanitizer/
            || /exited on signal|worker process \d+ exited/
    } split /\n/, $self->error_log;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    $self->stop_nginx if $self->{dir} && -f "$self->{dir}/nginx.pid";
    $self->stop_redis if $self->{dir} && -f "$self->{dir}/redis/redis.pid";
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
    return $res;
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

1;
