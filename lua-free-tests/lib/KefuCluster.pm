package KefuCluster;

# A real Redis Cluster on loopback for the tests, the benches and
# `make cluster`: MASTERS masters with REPLICAS replicas each (3 + 3 by
# default), each redis-server daemonized in its own directory under DIR
# (appendonly yes, cluster-node-timeout 1000 ms), formed with
# `redis-cli --cluster create ... --cluster-replicas N --cluster-yes`.
# new() returns once every node says cluster_state:ok, agrees on the slot
# map and every replica's link to its master is up and in sync.
#
#   my $c = KefuCluster->new(dir => $dir);       # random free ports
#   $c->seeds;                                  # "127.0.0.1:P", ...
#   $c->cmd('GET', 'kefu:{demo:u1}:s:1');       # routed like redis-cli -c
#   my $dead = ($c->masters)[0];
#   $c->kill_master($dead);                     # kill -9
#   my ($new, $secs) = $c->wait_promotion($dead);   # its replica, master
#   $c->start_node($dead);                      # back, as a replica
#   $c->reshard($from, $to, 100);               # redis-cli --cluster reshard
#   $c->count_keys('kefu:{demo*');              # { master port => n }
#   $c->stop;                                   # also on die / END
#
# keep => 1 leaves the nodes running when the object goes away (the demo:
# `tools/cluster.pl stop DIR` stops them).  A DIR whose nodes already have
# a nodes.conf is started again as the cluster it was, not created anew.
# Core Perl only.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(refaddr weaken);
use Time::HiRes qw(sleep time);

my %LIVE;

END {
    local ($?, $@);
    for my $c (grep { defined } values %LIVE) {
        eval { $c->stop unless $c->{keep} };
    }
}

sub new {
    my ($class, %o) = @_;
    my $self = bless { masters => 3, replicas => 1, node_timeout => 1000,
                       appendfsync => 'everysec', %o }, $class;
    die "KefuCluster: dir => required" unless $self->{dir};
    my $n = $self->{masters} * (1 + $self->{replicas});
    $self->{ports} ||= [map { free_port() } 1 .. $n];
    die "KefuCluster: $n ports needed" unless @{ $self->{ports} } == $n;
    $LIVE{refaddr $self} = $self;
    weaken $LIVE{refaddr $self};

    make_path($self->{dir});
    my $existing = !grep { !-s "$self->{dir}/$_/nodes.conf" }
                        @{ $self->{ports} };
    # (running nodes of DIR, `make cluster` twice, are left as they are)
    $self->start_node($_) for grep { !$self->alive($_) } @{ $self->{ports} };
    if (!$existing) {
        my @addrs = map { "127.0.0.1:$_" } @{ $self->{ports} };
        my $out = `redis-cli --cluster create @addrs --cluster-replicas $self->{replicas} --cluster-yes 2>&1`;
        die "KefuCluster: cluster create failed:\n$out" if $?;
    }
    $self->wait_ok(30) or die "KefuCluster: cluster not ok:\n"
        . $self->node_cmd($self->{ports}[0], 'CLUSTER', 'INFO');
    return $self;
}

# the nodes an earlier new(dir => DIR, keep => 1) left, to stop them
sub attach {
    my ($class, $dir) = @_;
    my @ports = sort { $a <=> $b } map { m{/(\d+)$} ? $1 : () } glob "$dir/*";
    return bless { dir => $dir, ports => \@ports, keep => 1 }, $class;
}

sub free_port {
    # cluster bus ports are port + 10000: both must be free
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, ReuseAddr => 1)
            or die "no free port: $!";
        my $p = $s->sockport;
        close $s;
        next if $p + 10000 > 65535;
        my $b = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => $p + 10000, ReuseAddr => 1)
            or next;
        close $b;
        return $p;
    }
    die "no free port pair";
}

sub ports { @{ $_[0]{ports} } }
sub seeds { map { "127.0.0.1:$_" } @{ $_[0]{ports} } }
sub dir { $_[0]{dir} }

# --- nodes -------------------------------------------------------------

sub node_dir { "$_[0]{dir}/$_[1]" }

sub start_node {
    my ($self, $port) = @_;
    my $d = $self->node_dir($port);
    make_path($d);
    open my $fh, '>', "$d/redis.conf" or die "$d/redis.conf: $!";
    print $fh <<"EOF";
port $port
bind 127.0.0.1
dir $d
pidfile $d/redis.pid
logfile $d/redis.log
daemonize yes
save ""
appendonly yes
appendfsync $self->{appendfsync}
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $self->{node_timeout}
EOF
    print $fh "$_\n" for @{ $self->{extra_conf} || [] };
    close $fh;
    unlink "$d/redis.pid";
    system('redis-server', "$d/redis.conf") == 0
        or die "KefuCluster: redis-server on $port failed";
    for (1 .. 400) {
        return 1 if ($self->node_cmd($port, 'ECHO', 'up') // '') eq 'up';
        sleep 0.025;
    }
    die "KefuCluster: node $port did not start";
}

sub node_pid {
    my ($self, $port) = @_;
    open my $fh, '<', $self->node_dir($port) . '/redis.pid' or return;
    my $pid = <$fh>;
    close $fh;
    chomp $pid if defined $pid;
    return $pid;
}

sub alive {
    my ($self, $port) = @_;
    my $pid = $self->node_pid($port) or return 0;
    return 0 unless kill 0, $pid;
    open my $fh, '<', "/proc/$pid/stat" or return 0;
    return (<$fh> // '') =~ /^\d+ \(.*\) Z/ ? 0 : 1;
}

# SIGKILL by default (a crash); the node stays down until start_node.
sub kill_node {
    my ($self, $port, $sig) = @_;
    my $pid = $self->node_pid($port) or return;
    kill $sig || 'KILL', $pid;
    for (1 .. 400) {
        last unless $self->alive($port);
        sleep 0.025;
    }
    unlink $self->node_dir($port) . '/redis.pid';
}

sub stop {
    my ($self) = @_;
    return unless $self->{dir} && -d $self->{dir};
    $self->kill_node($_, 'TERM') for grep { $self->alive($_) }
                                      @{ $self->{ports} };
}

# every node down at once, then up again: the cluster as it was
sub stop_all { $_[0]->kill_node($_, $_[1]) for @{ $_[0]{ports} } }

sub start_all {
    my ($self) = @_;
    $self->start_node($_) for grep { !$self->alive($_) } @{ $self->{ports} };
    return $self->wait_ok(30);
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $@);
    delete $LIVE{refaddr $self};
    eval { $self->stop } unless $self->{keep};
}

# --- RESP --------------------------------------------------------------

sub connect_node {
    my ($port) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Timeout => 2);
}

sub send_cmd {
    my ($s, @cmd) = @_;
    my $req = '*' . @cmd . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @cmd;
    print $s $req;
}

# one RESP reply (KefuTest's too): errors are their "-ERR ..." line
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

# one command to one node, no redirects followed; '' if it is down
sub node_cmd {
    my ($self, $port, @cmd) = @_;
    utf8::encode($_) for @cmd;
    my $s = connect_node($port) or return '';
    send_cmd($s, @cmd);
    my $r = read_resp($s);
    close $s;
    return $r;
}

# --- slots -------------------------------------------------------------

# CRC16-CCITT (XMODEM), the cluster's key hash
sub crc16 {
    my ($data) = @_;
    my $crc = 0;
    for my $c (unpack 'C*', $data) {
        $crc ^= $c << 8;
        for (1 .. 8) {
            $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) & 0xffff
                                 : ($crc << 1) & 0xffff;
        }
    }
    return $crc;
}

sub slot {
    my ($key) = @_;
    utf8::encode($key) if utf8::is_utf8($key);
    my $o = index($key, '{');
    if ($o >= 0) {
        my $c = index($key, '}', $o + 1);
        $key = substr($key, $o + 1, $c - $o - 1) if $c > $o + 1;
    }
    return crc16($key) % 16384;
}

# The topology as a live node sees it: [{ id, port, master (bool),
# master_id, fail, slots => [[from, to], ...] }]
sub nodes {
    my ($self) = @_;
    for my $p (grep { $self->alive($_) } @{ $self->{ports} }) {
        my $txt = $self->node_cmd($p, 'CLUSTER', 'NODES');
        next unless defined $txt && $txt =~ /myself/;
        my @n;
        for my $line (split /\n/, $txt) {
            my ($id, $addr, $flags, $mid, undef, undef, undef, undef,
                @slots) = split ' ', $line;
            my ($port) = $addr =~ /:(\d+)/;
            push @n, { id => $id, port => $port,
                       master => $flags =~ /master/ ? 1 : 0,
                       fail => $flags =~ /\bfail\b/ ? 1 : 0,
                       master_id => $mid eq '-' ? undef : $mid,
                       slots => [map { /^(\d+)(?:-(\d+))?$/
                                       ? [$1, $2 // $1] : () } @slots] };
        }
        return \@n;
    }
    return [];
}

# masters serving slots, by port (from a live node's view)
sub masters {
    my ($self) = @_;
    return sort { $a <=> $b } map { $_->{port} }
        grep { $_->{master} && !$_->{fail} && @{ $_->{slots} } }
        @{ $self->nodes };
}

sub replicas {
    my ($self) = @_;
    return sort { $a <=> $b } map { $_->{port} }
        grep { !$_->{master} && !$_->{fail} } @{ $self->nodes };
}

sub node_id {
    my ($self, $port) = @_;
    my ($n) = grep { $_->{port} == $port } @{ $self->nodes };
    return $n && $n->{id};
}

sub replicas_of {
    my ($self, $port) = @_;
    my $nodes = $self->nodes;
    my ($m) = grep { $_->{port} == $port } @$nodes or return;
    return map { $_->{port} }
        grep { ($_->{master_id} // '') eq $m->{id} && !$_->{fail} } @$nodes;
}

sub master_of {
    my ($self, $key) = @_;
    my $slot = slot($key);
    for my $n (@{ $self->nodes }) {
        next unless $n->{master} && !$n->{fail};
        return $n->{port}
            if grep { $slot >= $_->[0] && $slot <= $_->[1] } @{ $n->{slots} };
    }
    return;
}

# --- commands through the cluster --------------------------------------

# The key a command is routed by (its first key), undef for keyless ones.
sub command_key {
    my (@cmd) = @_;
    my $c = uc $cmd[0];
    return $cmd[3] if ($c eq 'EVAL' || $c eq 'EVALSHA') && ($cmd[2] // 0) > 0;
    return if $c eq 'EVAL' || $c eq 'EVALSHA';
    return $cmd[2] if $c eq 'XGROUP' || $c eq 'XINFO' || $c eq 'OBJECT';
    if ($c eq 'XREAD' || $c eq 'XREADGROUP') {
        for my $i (1 .. $#cmd - 1) {
            return $cmd[$i + 1] if uc $cmd[$i] eq 'STREAMS';
        }
    }
    return if $c =~ /^(?:PING|ECHO|INFO|DBSIZE|KEYS|SCAN|FLUSHALL|FLUSHDB
                       |CONFIG|SCRIPT|WAIT|CLUSTER|TIME|FUNCTION)$/x;
    return $cmd[1];
}

# Like KefuTest::redis_cmd, on the cluster: a keyed command goes to the
# master of its slot and follows MOVED and ASK (like `redis-cli -c`), and
# waits out TRYAGAIN / CLUSTERDOWN / a dead node for up to 5 s.  Keyless
# commands go to every master: DBSIZE is summed, KEYS and SCAN (one pass,
# cursor 0 back) joined, INFO commandstats summed per command, FLUSHALL,
# FLUSHDB, SCRIPT and CONFIG run on each; other keyless ones go to one.
sub cmd {
    my ($self, @cmd) = @_;
    my $c = uc $cmd[0];
    my $key = command_key(@cmd);
    return $self->keyed($key, @cmd) if defined $key;

    my @m = $self->masters;
    if ($c eq 'DBSIZE') {
        my $n = 0;
        $n += $self->node_cmd($_, @cmd) || 0 for @m;
        return $n;
    }
    if ($c eq 'KEYS') {
        return [map { @{ $self->node_cmd($_, @cmd) || [] } } @m];
    }
    if ($c eq 'SCAN') {
        my (undef, undef, @args) = @cmd;
        return ['0', [map { @{ $self->scan_node($_, @args) } } @m]];
    }
    if ($c eq 'INFO' && lc($cmd[1] // '') eq 'commandstats') {
        my %calls;
        for my $p (@m) {
            my $info = $self->node_cmd($p, @cmd) // '';
            $calls{$1} += $2 while $info =~ /^cmdstat_(\S+?):calls=(\d+)/mg;
        }
        return "# Commandstats\r\n" . join '',
            map { "cmdstat_$_:calls=$calls{$_}\r\n" } sort keys %calls;
    }
    if ($c =~ /^(?:FLUSHALL|FLUSHDB|SCRIPT|CONFIG)$/) {
        my @r = map { $self->node_cmd($_, @cmd) } @m;
        return $r[0];
    }
    return $self->node_cmd($m[0] // $self->{ports}[0], @cmd);
}

sub scan_node {
    my ($self, $port, @args) = @_;
    my ($cursor, @keys) = (0);
    do {
        my $r = $self->node_cmd($port, 'SCAN', $cursor, @args);
        return \@keys unless ref $r;
        $cursor = $r->[0];
        push @keys, @{ $r->[1] };
    } while ($cursor ne '0');
    return \@keys;
}

sub keyed {
    my ($self, $key, @cmd) = @_;
    utf8::encode($_) for @cmd;
    my $port = $self->master_of($key) // $self->{ports}[0];
    my $asking = 0;
    my $deadline = time + 5;
    for (1 .. 1000) {
        my $s = connect_node($port);
        my $r = '';
        if ($s) {
            send_cmd($s, 'ASKING') if $asking;
            read_resp($s) if $asking;
            send_cmd($s, @cmd);
            $r = read_resp($s);
            close $s;
        }
        $asking = 0;
        if (defined $r && !ref $r && $r =~ /^-(MOVED|ASK) \d+ [\d.]+:(\d+)/) {
            $asking = $1 eq 'ASK';
            $port = $2;
            next;
        }
        if (defined $r && !ref $r && time < $deadline
            && ($r eq '' || $r =~ /^-(?:TRYAGAIN|CLUSTERDOWN|LOADING)/))
        {
            sleep 0.05;
            $port = $self->master_of($key) // $port;
            next;
        }
        return $r;
    }
    die "KefuCluster: redirect loop for $key";
}

# `redis-cli -c` itself, for a shell-like use; its output
sub cli {
    my ($self, @args) = @_;
    my ($port) = $self->masters;
    open my $fh, '-|', 'redis-cli', '-c', '-p', $port, @args
        or die "redis-cli: $!";
    my $out = do { local $/; <$fh> };
    close $fh;
    return $out;
}

# --- state -------------------------------------------------------------

# every live node: cluster_state:ok, all slots served, one slot map, and
# every live replica's link up and not syncing
sub ok_now {
    my ($self) = @_;
    my %maps;
    my @live = grep { $self->alive($_) } @{ $self->{ports} };
    for my $p (@live) {
        my $info = $self->node_cmd($p, 'CLUSTER', 'INFO') // '';
        return 0 unless $info =~ /cluster_state:ok/
                     && $info =~ /cluster_slots_ok:16384/;
        my $map = $self->node_cmd($p, 'CLUSTER', 'SLOTS');
        return 0 unless ref $map;
        $maps{ join ';', sort map { "$_->[0]-$_->[1]=$_->[2][1]" } @$map } = 1;
        my $repl = $self->node_cmd($p, 'INFO', 'replication') // '';
        next unless $repl =~ /role:slave/;
        return 0 unless $repl =~ /master_link_status:up/
                     && $repl =~ /master_sync_in_progress:0/;
    }
    return keys %maps == 1;
}

sub wait_ok {
    my ($self, $secs) = @_;
    my $end = time + ($secs || 30);
    while (time < $end) {
        return 1 if $self->ok_now;
        sleep 0.1;
    }
    return 0;
}

# After kill_node of a master: waits until one of its replicas serves its
# slots and the cluster is ok again; returns (new master port, seconds
# from the call to the promotion seen) or () after SECS (default 30).
sub wait_promotion {
    my ($self, $dead, $secs) = @_;
    my $t0 = time;
    my $end = $t0 + ($secs || 30);
    my $was = $self->{was_replica_of}{$dead}
        or die "KefuCluster: wait_promotion after kill_master only";
    my ($new, $seen);
    while (time < $end) {
        if (!defined $new) {
            my $nodes = $self->nodes;
            my ($d) = grep { $_->{port} == $dead } @$nodes;
            if ($d && !@{ $d->{slots} }) {
                # the dead node's former replica, now a master with slots
                ($new) = map { $_->{port} } grep {
                    $_->{master} && @{ $_->{slots} }
                    && $_->{port} != $dead
                    && $was->{ $_->{port} }
                } @$nodes;
                $seen = time - $t0 if defined $new;
            }
        }
        return ($new, $seen) if defined $new && $self->ok_now;
        sleep 0.05;
    }
    return;
}

# kill -9 of a master, remembering its replicas (for wait_promotion)
sub kill_master {
    my ($self, $port) = @_;
    $self->{was_replica_of}{$port} = { map { $_ => 1 }
                                       $self->replicas_of($port) };
    $self->kill_node($port, 'KILL');
}

# Moves N slots from one master to another (`redis-cli --cluster
# reshard`); dies if it fails.  Returns its output.
sub reshard {
    my ($self, $from, $to, $n) = @_;
    my $fid = $self->node_id($from) or die "KefuCluster: no node $from";
    my $tid = $self->node_id($to) or die "KefuCluster: no node $to";
    my $out = `redis-cli --cluster reshard 127.0.0.1:$from --cluster-from $fid --cluster-to $tid --cluster-slots $n --cluster-yes 2>&1`;
    die "KefuCluster: reshard failed:\n$out" if $?;
    return $out;
}

# keys matching PATTERN on each master: { port => count }
sub count_keys {
    my ($self, $pattern) = @_;
    return { map { $_ => scalar @{ $self->scan_node($_, 'MATCH', $pattern,
                                                    'COUNT', 1000) } }
             $self->masters };
}

1;
