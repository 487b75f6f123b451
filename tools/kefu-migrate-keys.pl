#!/usr/bin/perl
# kefu-migrate-keys: copy a single Redis's loss reports, tickets and
# feedback from the layout before the users' buckets (every key of a
# tenant's back office under kefu:{T}) to the bucket layout
# (kefu:{T#NN}, README "Redis keys"), on the same Redis or on a Redis
# Cluster.  Core Perl only.
#
#   kefu-migrate-keys.pl --from 127.0.0.1:6379 --to 10.0.0.1:7000[,...]
#       [--from-db N] [--from-password-file F] [--to-db N]
#       [--to-password-file F] [--tenant T]... [--dry-run] [--quiet]
#
# Copied: report records (id -> NN + id, where NN is the owner's bucket),
# the back office's indexes (rebuilt from the records), idempotency
# records (with their TTL), frozen counts, tickets (id -> NN + id, with
# their TTL; the queue, the users' waiting lists and the sessions'
# open-ticket markers rebuilt), feedback verdicts, and the entries of the
# reports, police, agents and feedback streams (to the stream of the
# entry's user's bucket, ids rewritten, the old entry id as legacy_id).
# Every copy is one script on the target key's slot that writes nothing
# when its target exists (streams: when the bucket has the entry
# already), so a run can be repeated, and interrupted, at any time.  The
# old keys stay: remove them once the new layout is checked (README).
# Not copied: what expires within days (sessions, trails, the users' day
# quotas and unanswered sets); day counters stay where they are, the
# statistics read both.

use strict;
use warnings;

use Compress::Zlib ();
use Getopt::Long qw(GetOptions);
use IO::Socket::INET;

my $BUCKETS = 16;
my $EPOCH = 1767225600;         # 2026-01-01 UTC: queue arrivals count from it
my $LEVEL = 1125899906842624;   # 2^50: the queue score's priority unit

my %o = (tenant => []);
GetOptions(\%o, 'from=s', 'to=s', 'from-db=i', 'to-db=i',
           'from-password-file=s', 'to-password-file=s', 'tenant=s@',
           'dry-run', 'quiet', 'help')
    or usage();
usage() if $o{help} || !$o{from} || !$o{to};

sub usage {
    print STDERR "usage: $0 --from HOST:PORT --to HOST:PORT[,HOST:PORT...]"
        . " [--from-db N] [--from-password-file F] [--to-db N]"
        . " [--to-password-file F] [--tenant T]... [--dry-run] [--quiet]\n";
    exit 2;
}

sub say_ { print @_, "\n" unless $o{quiet} }

sub password {
    my ($file) = @_;
    return undef unless defined $file;
    open my $fh, '<', $file or die "$file: $!\n";
    my $pw = <$fh> // '';
    chomp $pw;
    return $pw;
}

# --- RESP ------------------------------------------------------------

sub connect_node {
    my ($addr, $pw, $db) = @_;
    my ($host, $port) = $addr =~ /^\[?([^\]]+)\]?:(\d+)$/
        or die "bad address \"$addr\" (HOST:PORT)\n";
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Timeout => 10)
        or die "cannot connect to $addr: $!\n";
    binmode $s;
    my $node = { s => $s, addr => $addr };
    for my $cmd (defined $pw ? ['AUTH', $pw] : (),
                 $db ? ['SELECT', $db] : ())
    {
        my $r = raw($node, @$cmd);
        die "$addr: $cmd->[0] failed: $r->{err}\n" if ref $r eq 'HASH';
    }
    return $node;
}

sub raw {
    my ($node, @cmd) = @_;
    my $req = '*' . @cmd . "\r\n";
    for my $a (@cmd) {
        my $b = $a;
        utf8::encode($b) if utf8::is_utf8($b);
        $req .= '$' . length($b) . "\r\n$b\r\n";
    }
    print { $node->{s} } $req or die "$node->{addr}: write: $!\n";
    return reply($node);
}

# a reply: scalar, array ref, undef (nil) or {err => "..."}
sub reply {
    my ($node) = @_;
    my $s = $node->{s};
    my $line = <$s>;
    die "$node->{addr}: connection closed\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+' || $t eq ':';
    return { err => $v } if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $data = '';
        while (length $data < $v + 2) {
            my $n = read($s, $data, $v + 2 - length $data, length $data);
            die "$node->{addr}: connection closed\n" unless $n;
        }
        return substr($data, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [map { reply($node) } 1 .. $v];
    }
    die "$node->{addr}: not RESP: $line\n";
}

# --- source (one Redis) and target (one Redis or a cluster) ------------

my $src = connect_node($o{from}, password($o{'from-password-file'}),
                       $o{'from-db'});
my $to_pw = password($o{'to-password-file'});
my @seeds = split /,/, $o{to};
my %nodes;          # "host:port" -> connection
my %tag_node;       # hash tag -> "host:port" that owns it

sub src {
    my $r = raw($src, @_);
    die "source: $_[0] failed: $r->{err}\n" if ref $r eq 'HASH';
    return $r;
}

sub node {
    my ($addr) = @_;
    return $nodes{$addr} //= connect_node($addr, $to_pw, $o{'to-db'});
}

# one command on the target: to the node of its key's hash tag; MOVED
# teaches the owner, ASK sends this one command to the importing node
sub dst {
    my ($key, @cmd) = @_;
    my ($tag) = $key =~ /\{([^}]*)\}/;
    my $addr = $tag_node{$tag} // $seeds[0];
    for (1 .. 8) {
        my $r = raw(node($addr), @cmd);
        return $r unless ref $r eq 'HASH';
        if ($r->{err} =~ /^MOVED \d+ (\S+)/) {
            $addr = $tag_node{$tag} = $1;
            next;
        }
        if ($r->{err} =~ /^ASK \d+ (\S+)/) {
            raw(node($1), 'ASKING');
            $r = raw(node($1), @cmd);
            return $r unless ref $r eq 'HASH';
        }
        if ($r->{err} =~ /^(TRYAGAIN|CLUSTERDOWN|LOADING)/) {
            select undef, undef, undef, 0.5;
            next;
        }
        die "target: $cmd[0] on $key failed: $r->{err}\n";
    }
    die "target: $cmd[0] on $key: too many redirects\n";
}

# EVAL with the script's keys (one slot) and arguments
sub dst_eval {
    my ($lua, $keys, @args) = @_;
    return dst($keys->[0], 'EVAL', $lua, scalar @$keys, @$keys, @args);
}

sub scan {
    my ($pattern, $each) = @_;
    my $cursor = 0;
    do {
        my $r = src('SCAN', $cursor, 'MATCH', $pattern, 'COUNT', 1000);
        $cursor = $r->[0];
        $each->($_) for @{ $r->[1] };
    } while ($cursor ne '0');
}

# --- the bucket layout (ngx_http_kefu_keys.c) ---------------------------

sub bucket {
    my ($user) = @_;
    my $b = $user;
    utf8::encode($b) if utf8::is_utf8($b);
    return sprintf '%02d', Compress::Zlib::crc32($b) % $BUCKETS;
}

sub bkey {
    my ($t, $user, $suffix) = @_;
    return "kefu:{$t#" . bucket($user) . "}:$suffix";
}

sub okey {
    my ($t, $what, $user, @rest) = @_;
    return bkey($t, $user, join ':', $what, length($user), $user, @rest);
}

# "LEN:USER:REST" of an old owner key: (user, rest)
sub owner_of {
    my ($tail) = @_;
    my ($len, $rest) = $tail =~ /^(\d+):(.*)\z/s or return;
    return if length($rest) < $len;
    my $user = substr $rest, 0, $len;
    $rest = substr $rest, $len;
    return ($user, undef) if $rest eq '';
    return unless $rest =~ s/^://;
    return ($user, $rest);
}

# --- the copy scripts (each writes nothing when its target exists) ---------

# KEYS: report, index, status index.  ARGV: member, then field, value...
my $LUA_REPORT = <<'LUA';
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1
LUA

# KEYS: hash.  ARGV: TTL in ms (0: none), then field, value...
my $LUA_HASH = <<'LUA';
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
LUA

# KEYS: frozen hash, the bucket's migration marks.  ARGV: user, count
my $LUA_FROZEN = <<'LUA';
if redis.call('HSETNX', KEYS[2], 'frozen:' .. ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
return 1
LUA

# KEYS: ticket, queue, the user's waiting tickets, the session's marker.
# ARGV: TTL ms, id, queued (0/1), score, arrival, marker (0/1), fields...
my $LUA_TICKET = <<'LUA';
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
if ARGV[6] == '1' then
  redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[1])
end
return 1
LUA

# KEYS: stream, the bucket's migration marks.  ARGV: the old stream's
# name, the old entry id, then field, value...  Entries come oldest first,
# so the bucket's mark is the last old entry it has.
my $LUA_ENTRY = <<'LUA';
local function num(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local last = redis.call('HGET', KEYS[2], 'stream:' .. ARGV[1])
if last then
  local lm, ls = num(last)
  local m, s = num(ARGV[2])
  if m < lm or (m == lm and s <= ls) then return 0 end
end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('HSET', KEYS[2], 'stream:' .. ARGV[1], ARGV[2])
return 1
LUA

# --- per tenant ----------------------------------------------------------

my %count;

sub copied {
    my ($what, $r) = @_;
    $count{$what}{ $o{'dry-run'} ? 'would copy' : $r ? 'copied' : 'had' }++;
}

sub pairs_of { my ($a) = @_; my %h = @{ $a || [] }; return \%h }

sub ttl_ms {
    my ($key) = @_;
    my $t = src('PTTL', $key);
    return $t > 0 ? $t : 0;
}

sub tenant {
    my ($t) = @_;
    my %newid;      # old report / ticket id -> new id

    # reports, and the indexes rebuilt from them
    scan("kefu:{$t}:lr:*", sub {
        my ($k) = @_;
        my ($id) = $k =~ /^kefu:\{\Q$t\E\}:lr:([0-9a-f]{32})\z/ or return;
        my $rec = pairs_of(src('HGETALL', $k));
        return unless defined $rec->{user} && defined $rec->{status};
        my $nid = bucket($rec->{user}) . $id;
        $newid{$id} = $nid;
        my $member = sprintf '%012d.%s', $rec->{created_at} // 0, $nid;
        my $ix = bkey($t, $rec->{user}, 'lr:ix');
        my %f = (%$rec, id => $nid, legacy_id => $id);
        copied('reports', $o{'dry-run'} ? 0
            : dst_eval($LUA_REPORT, [bkey($t, $rec->{user}, "lr:$nid"), $ix,
                                     "$ix:$rec->{status}"], $member, %f));
    });

    # idempotency records: the id they name is the new one
    scan("kefu:{$t}:lr:idem:*", sub {
        my ($k) = @_;
        my ($tail) = $k =~ /^kefu:\{\Q$t\E\}:lr:idem:(.*)\z/s or return;
        my ($user, $key) = owner_of($tail) or return;
        return unless defined $key;
        my $rec = pairs_of(src('HGETALL', $k));
        my $ttl = ttl_ms($k);
        return unless $rec->{id} && $ttl;
        $rec->{id} = bucket($user) . $rec->{id}
            if $rec->{id} =~ /^[0-9a-f]{32}\z/;
        copied('idempotency records', $o{'dry-run'} ? 0
            : dst_eval($LUA_HASH, [okey($t, 'lr:idem', $user, $key)], $ttl,
                       %$rec));
    });

    # frozen counts, added once per user
    my $frozen = pairs_of(src('HGETALL', "kefu:{$t}:frozen"));
    for my $user (sort keys %$frozen) {
        next unless $frozen->{$user} > 0;
        copied('frozen users', $o{'dry-run'} ? 0
            : dst_eval($LUA_FROZEN, [bkey($t, $user, 'frozen'),
                                     bkey($t, $user, 'migrated')],
                       $user, $frozen->{$user}));
    }

    # tickets: the queue, the users' lists and markers rebuilt
    my $q = src('ZRANGE', "kefu:{$t}:agents:q", 0, -1, 'WITHSCORES');
    my %queued = @{ $q || [] };
    scan("kefu:{$t}:tk:*", sub {
        my ($k) = @_;
        my ($id) = $k =~ /^kefu:\{\Q$t\E\}:tk:([0-9a-f]{32})\z/ or return;
        my $tk = pairs_of(src('HGETALL', $k));
        my $ttl = ttl_ms($k);
        return unless defined $tk->{user} && defined $tk->{session_id}
            && $ttl;
        my $b = bucket($tk->{user});
        my $nid = $b . $id;
        $newid{$id} = $nid;
        # arrival as the handoff script makes it: the old order is kept
        # to the second, then by the old sequence
        my $seq = $tk->{seq} // 0;
        my $ms = (($tk->{created_at} // $EPOCH) - $EPOCH) * 1000 + $seq % 1000;
        $ms = 0 if $ms < 0;
        my $arrival = $ms * 1024 + $b * 64 + $seq % 64;
        my $level = $tk->{level} // 3;
        my $mark = okey($t, 'agents:open', $tk->{user}, $tk->{session_id});
        my $old_mark = src('GET', "kefu:{$t}:agents:open:"
                           . length($tk->{user})
                           . ":$tk->{user}:$tk->{session_id}");
        my %f = (%$tk, id => $nid, arrival => $arrival, legacy_id => $id);
        delete $f{seq};
        copied('tickets', $o{'dry-run'} ? 0
            : dst_eval($LUA_TICKET,
                       [bkey($t, $tk->{user}, "tk:$nid"),
                        bkey($t, $tk->{user}, 'agents:q'),
                        okey($t, 'agents:u', $tk->{user}), $mark],
                       $ttl, $nid, exists $queued{$id} ? 1 : 0,
                       $level * $LEVEL + $arrival, $arrival,
                       (defined $old_mark && $old_mark eq $id) ? 1 : 0,
                       %f));
    });

    # feedback verdicts
    scan("kefu:{$t}:fb:*", sub {
        my ($k) = @_;
        my ($tail) = $k =~ /^kefu:\{\Q$t\E\}:fb:(.*)\z/s or return;
        my ($user, $sid) = owner_of($tail) or return;
        return unless defined $sid;
        my $ttl = ttl_ms($k) or return;
        copied('feedback verdicts', $o{'dry-run'} ? 0
            : dst_eval($LUA_HASH, [okey($t, 'fb', $user, $sid)], $ttl,
                       @{ src('HGETALL', $k) }));
    });

    # stream entries, to the bucket of their user, oldest first
    my %idf = (reports => 'id', police => 'id', agents => 'ticket_id',
               feedback => '');
    for my $name (sort keys %idf) {
        my $from = '-';
        while (1) {
            my $es = src('XRANGE', "kefu:{$t}:$name", $from, '+',
                         'COUNT', 500);
            last unless $es && @$es;
            for my $e (@$es) {
                my ($eid, $fields) = @$e;
                my @f = @$fields;
                my %h = @f;
                next unless defined $h{user};
                if ($idf{$name}) {
                    for (my $i = 0; $i < @f; $i += 2) {
                        $f[$i + 1] = $newid{ $f[$i + 1] }
                                     // bucket($h{user}) . $f[$i + 1]
                            if $f[$i] eq $idf{$name}
                               && $f[$i + 1] =~ /^[0-9a-f]{32}\z/;
                    }
                }
                copied("$name stream entries", $o{'dry-run'} ? 0
                    : dst_eval($LUA_ENTRY, [bkey($t, $h{user}, $name),
                                            bkey($t, $h{user}, 'migrated')],
                               $name, $eid, @f, legacy_id => $eid));
            }
            my ($ms, $s) = split /-/, $es->[-1][0];
            $from = $ms . '-' . ($s + 1);
        }
    }
}

# the tenants: every kefu:{T}:... hash tag of the old layout
my %tenants = map { $_ => 1 } @{ $o{tenant} };
unless (%tenants) {
    scan('kefu:{*}:*', sub {
        my ($tag) = $_[0] =~ /^kefu:\{([A-Za-z0-9_-]+)\}:/ or return;
        $tenants{$tag} = 1;
    });
}

for my $t (sort keys %tenants) {
    %count = ();
    tenant($t);
    for my $what (sort keys %count) {
        say_(join ' ', "$t: $what:",
             map { "$count{$what}{$_} $_" } sort keys %{ $count{$what} });
    }
    say_("$t: nothing to copy") unless %count;
}

exit 0;
