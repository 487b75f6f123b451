package FakeRedis;

# A fake Redis server for the adapter's failure tests: a forked child on
# a free loopback port that speaks enough RESP for the module's handshake
# (AUTH, SELECT, SCRIPT LOAD, PING) and then answers the other commands
# according to a mode, which the test may change at any time:
#
#   ok       answer normally (INCR counts, anything else +OK)
#   delay    like ok, but every reply after `delay` seconds
#   stall    never answer (handshake still answered)
#   huge     answer with a bulk string of `huge` bytes (200 KiB)
#   garbage  answer with bytes that are not RESP
#   partial  answer half a reply, then reset the connection
#   reset    reset the connection on the first command
#   extra    answer normally, then send a second reply nobody asked for
#   error    answer every command with the error reply given as
#            set_mode('error', error => 'MOVED 3999 127.0.0.1:6381')
#
# It counts accepted connections (for the backoff tests).  Core Perl only.
# Also a few helpers for the Redis tests (fresh-connection requests,
# tokens, forked load clients).

use strict;
use warnings;

use Digest::SHA qw(sha1_hex);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(sleep time);

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        mode => 'ok', delay => 0.3, huge => 200 * 1024, password => undef,
        %o,
    }, $class;

    $self->{dir} = tempdir('fake-redis-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    my $listen = IO::Socket::INET->new(Listen => 128,
                                       LocalAddr => '127.0.0.1',
                                       LocalPort => $o{port} || 0,
                                       ReuseAddr => 1)
        or die "fake redis: listen: $!";
    $self->{port} = $listen->sockport;
    $self->set_mode($self->{mode}, delay => $self->{delay});

    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $self->serve($listen);
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }

# The mode file is read by the child before each reply.
sub set_mode {
    my ($self, $mode, %o) = @_;
    $self->{mode} = $mode;
    $self->{delay} = $o{delay} if defined $o{delay};
    if (defined $o{error}) {
        my $e = "$self->{dir}/error";
        open my $eh, '>', "$e.tmp" or die "$e: $!";
        print $eh $o{error};
        close $eh;
        rename "$e.tmp", $e or die "rename: $!";
    }
    my $f = "$self->{dir}/mode";
    open my $fh, '>', "$f.tmp" or die "$f: $!";
    print $fh "$mode $self->{delay}\n";
    close $fh;
    rename "$f.tmp", $f or die "rename: $!";
}

sub connections {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/conns" or return 0;
    my @l = <$fh>;
    return scalar @l;
}

sub commands {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/cmds" or return ();
    my @l = <$fh>;
    chomp @l;
    return @l;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    $self->stop;
}

# --- the child -------------------------------------------------------

sub serve {
    my ($self, $listen) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    $SIG{PIPE} = 'IGNORE';

    my $sel = IO::Select->new($listen);
    my (%buf, %conn, @later);
    my $counter = 0;

    my $log = sub {
        my ($file, $line) = @_;
        open my $fh, '>>', "$self->{dir}/$file" or return;
        print $fh "$line\n";
        close $fh;
    };

    my $drop = sub {
        my ($s, $reset) = @_;
        setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $reset;
        $sel->remove($s);
        delete $buf{$s};
        delete $conn{$s};
        @later = grep { $_->[1] != $s } @later;
        close $s;
    };

    while (1) {
        my $now = time;
        my $wait = 0.5;
        for my $l (@later) {
            my $d = $l->[0] - $now;
            $wait = $d if $d < $wait;
        }
        $wait = 0 if $wait < 0;

        for my $s ($sel->can_read($wait)) {
            if ($s == $listen) {
                my $c = $listen->accept or next;
                $sel->add($c);
                $buf{$c} = '';
                $conn{$c} = { auth => !defined $self->{password} };
                $log->('conns', time);
                next;
            }
            my $n = sysread($s, my $data, 65536);
            if (!$n) {
                $drop->($s);
                next;
            }
            $buf{$s} .= $data;
            while (defined(my $cmd = parse_command(\$buf{$s}))) {
                my ($mode, $delay) = $self->read_mode;
                my $name = uc($cmd->[0] // '');
                $log->('cmds', join ' ', $name,
                       $name eq 'AUTH' ? () : @{$cmd}[1 .. $#$cmd]);
                my ($reply, $action) =
                    $self->answer($cmd, $conn{$s}, $mode, \$counter);
                if ($action eq 'now') {
                    syswrite_all($s, $reply);
                } elsif ($action eq 'later') {
                    push @later, [time + $delay, $s, $reply];
                } elsif ($action eq 'reset') {
                    syswrite_all($s, $reply) if length $reply;
                    $drop->($s, 1);
                    last;
                }
                # 'never': swallow the command
            }
        }

        $now = time;
        my @keep;
        for my $l (@later) {
            if ($l->[0] <= $now) {
                syswrite_all($l->[1], $l->[2]) if $conn{$l->[1]};
            } else {
                push @keep, $l;
            }
        }
        @later = @keep;
    }
}

sub read_mode {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/mode" or return ('ok', 0);
    my $l = <$fh> // 'ok 0';
    chomp $l;
    return split / /, $l;
}

# Returns (reply bytes, 'now' | 'later' | 'never' | 'reset').
sub answer {
    my ($self, $cmd, $st, $mode, $counter) = @_;
    my $name = uc($cmd->[0] // '');

    if ($name eq 'AUTH') {
        my $pw = $cmd->[-1];
        if (defined $self->{password} && $pw eq $self->{password}) {
            $st->{auth} = 1;
            return ("+OK\r\n", 'now');
        }
        return ("-WRONGPASS invalid username-password pair or user is "
                . "disabled.\r\n", 'now');
    }
    if (!$st->{auth}) {
        return ("-NOAUTH Authentication required.\r\n", 'now');
    }
    if ($name eq 'PING') {
        return ("+PONG\r\n", 'now');
    }
    if ($name eq 'SELECT') {
        return ("+OK\r\n", 'now');
    }
    if ($name eq 'SCRIPT') {
        return (bulk(sha1_hex($cmd->[2] // '')), 'now');
    }

    my $normal = $name eq 'INCR' ? ':' . ++$$counter . "\r\n" : "+OK\r\n";

    return ($normal, 'now') if $mode eq 'ok';
    return ($normal, 'later') if $mode eq 'delay';
    return ('', 'never') if $mode eq 'stall';
    return (bulk('x' x $self->{huge}), 'now') if $mode eq 'huge';
    return ("%%%% this is not RESP \x00\xff\r\n", 'now') if $mode eq 'garbage';
    return ("\$100\r\nonly part of it", 'reset') if $mode eq 'partial';
    return ('', 'reset') if $mode eq 'reset';
    return ("$normal+OK\r\n", 'now') if $mode eq 'extra';
    if ($mode eq 'error') {
        open my $eh, '<', "$self->{dir}/error" or die "error: $!";
        my $e = <$eh> // 'ERR';
        return ("-$e\r\n", 'now');
    }
    return ("-ERR fake redis: unknown mode $mode\r\n", 'now');
}

sub bulk { my ($s) = @_; return '$' . length($s) . "\r\n$s\r\n" }

sub syswrite_all {
    my ($s, $data) = @_;
    while (length $data) {
        my $n = syswrite($s, $data);
        if (!defined $n) {
            next if $!{EAGAIN} || $!{EINTR};
            return;
        }
        substr($data, 0, $n, '');
    }
}

# One multi-bulk command from the front of $$buf, or undef if incomplete.
sub parse_command {
    my ($buf) = @_;
    return undef unless $$buf =~ /\A\*(\d+)\r\n/;
    my $argc = $1;
    my $pos = length("*$argc\r\n");
    my @argv;
    for (1 .. $argc) {
        my $rest = substr($$buf, $pos);
        return undef unless $rest =~ /\A\$(\d+)\r\n/;
        my $len = $1;
        my $hdr = length("\$$len\r\n");
        return undef if length($rest) < $hdr + $len + 2;
        push @argv, substr($rest, $hdr, $len);
        $pos += $hdr + $len + 2;
    }
    substr($$buf, 0, $pos, '');
    return \@argv;
}

# --- helpers for the Redis tests ------------------------------------

our $JSON = JSON::PP->new->utf8;

# A token for /v1/whoami, if the project's token tool is built.
sub token_for {
    my ($t, $user) = @_;
    my $tool = "$KefuTest::TOP/build/tools/kefu_token";
    return -x $tool ? $t->token($user // 'u1') : 'no-token-tool';
}

# GET over a fresh connection (so that consecutive requests may reach
# different workers); returns { status, headers, content, json, time }.
sub fresh_get {
    my ($t, $path, %o) = @_;
    my $http = HTTP::Tiny->new(timeout => $o{timeout} || 10,
                               keep_alive => 0);
    my %h;
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    my $t0 = time;
    my $res = $http->get($t->url($path), { headers => \%h });
    $res->{time} = time - $t0;
    $res->{json} = eval { $JSON->decode($res->{content}) };
    return $res;
}

# A 503 as the API promises it: JSON error redis_unavailable, Retry-After.
sub is_redis_503 {
    my ($res) = @_;
    return $res->{status} == 503
        && ref $res->{json} eq 'HASH'
        && ($res->{json}{error}{code} // '') eq 'redis_unavailable'
        && defined $res->{headers}{'retry-after'};
}

# Polls until $n consecutive fresh-connection requests answer 200;
# returns the seconds it took, or undef after $max seconds.
sub time_to_recover {
    my ($t, $path, $token, $max, $n) = @_;
    $n ||= 6;
    my $t0 = time;
    my $ok = 0;
    while (time - $t0 < $max) {
        my $r = fresh_get($t, $path, token => $token, timeout => 2);
        if ($r->{status} == 200) {
            next if ++$ok < $n;
            my $took = time - $t0;
            # n answers may all have come from one worker; the others
            # reconnect on their own backoff (our Redis counts handshakes)
            $t->wait_workers_connected(0) if $t->redis_running;
            return $took;
        }
        $ok = 0;
        sleep 0.01;
    }
    return undef;
}

# Forks $n clients that GET $path in a loop until $until (epoch) or until
# $stop_file exists, each writing "time status code" lines to
# $dir/client.N; returns the pids.
sub load_clients {
    my (%o) = @_;
    my @pids;
    for my $i (1 .. $o{clients}) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my $http = HTTP::Tiny->new(timeout => 5,
                                       keep_alive => $i % 2);
            open my $out, '>', "$o{dir}/client.$i" or POSIX::_exit(1);
            while (time < $o{until}
                   && !($o{stop_file} && -e $o{stop_file}))
            {
                my $res = $http->get($o{url}, { headers =>
                    { Authorization => "Bearer $o{token}" } });
                my $j = eval { $JSON->decode($res->{content}) };
                my $code = ref $j eq 'HASH' && ref $j->{error} eq 'HASH'
                    ? $j->{error}{code} : ref $j eq 'HASH' ? 'json' : 'nojson';
                $code .= '+retry' if $res->{headers}{'retry-after'};
                printf $out "%.4f %d %s\n", time, $res->{status}, $code;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub wait_pids {
    waitpid $_, 0 for @_;
}

# $n fresh-connection GETs of $path with $token, each from its own
# process, started $gap seconds apart; waits for them all and returns,
# in order, [status, seconds, 1 if a 503 redis_unavailable JSON] each
sub concurrent_gets {
    my ($t, $path, $token, $n, $gap) = @_;
    my $dir = tempdir('gets-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my @pids;
    for my $i (1 .. $n) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $r = fresh_get($t, $path, token => $token);
            open my $fh, '>', "$dir/$i" or POSIX::_exit(1);
            printf $fh "%d %.3f %d\n", $r->{status}, $r->{time},
                is_redis_503($r) ? 1 : 0;
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
        sleep $gap;
    }
    wait_pids(@pids);
    my @r;
    for my $i (1 .. $n) {
        open my $fh, '<', "$dir/$i" or do { push @r, [0, 0, 0]; next };
        push @r, [split ' ', <$fh> // ''];
    }
    return @r;
}

# SIGKILLs the harness' redis-server and waits until its port refuses
# connections (waiting for the pid is not enough: the daemonized server
# may linger as a zombie when nobody reaps it).
sub kill_redis {
    my ($t) = @_;
    my $pid = $t->redis_pid or return;
    kill 'KILL', $pid;
    for (1 .. 400) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $t->{redis_port});
        last unless $s;
        close $s;
        sleep 0.005;
    }
    unlink "$t->{dir}/redis/redis.pid";
}

# A command to the harness' redis-server after AUTH (requirepass set).
sub redis_auth_cmd {
    my ($t, $pass, @cmd) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{redis_port},
                                  Timeout => 2) or return '';
    my $req = '';
    for my $c (['AUTH', $pass], \@cmd) {
        $req .= '*' . @$c . "\r\n";
        $req .= '$' . length($_) . "\r\n$_\r\n" for @$c;
    }
    print $s $req;
    my $auth = KefuTest::read_resp($s);
    my $r = KefuTest::read_resp($s);
    close $s;
    return $auth eq '+OK' ? $r : $auth;
}

# Worker pids of an nginx master (to prove no worker died).
sub worker_pids {
    my ($master) = @_;
    my @p = grep { /\d/ } split /\s+/, `ps -o pid= --ppid $master`;
    return sort { $a <=> $b } @p;
}

1;
