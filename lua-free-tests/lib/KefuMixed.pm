package KefuMixed;

# Mixed traffic for the cluster tests (8x-*.t): forked clients, each
# cycling over its own users and sending, per user, a turn of /v1/ask in
# the user's session, a batch of /v1/events and a new loss report (unique
# Idempotency-Key), until a stop file exists or a deadline passes.  Every
# answer is one line of CLIENT_DIR/client.N:
#   time kind status code user report-id key
# code: the JSON error code, "json" for a JSON success, "nojson" else.
# Users are spread over many slots (and so over every master).
#
#   my $tok = KefuMixed::tokens($t, 200);             # u1..u200
#   my @pids = KefuMixed::start($t, $tok, clients => 6, dir => $d,
#                               stop_file => "$d/stop", until => time + 60);
#   ...; KefuMixed::stop($d, @pids);      # once => 1: every user once,
#                                         # then waitpid
#   my @r = KefuMixed::results($d);   # [{ time, kind, status, code, ... }]

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use HTTP::Tiny;
use MIME::Base64 qw(encode_base64url);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep time);

my $JSON = JSON::PP->new->utf8->canonical;
my @QUESTIONS = ('蚁花怎么开通', '那怎么关闭呢', '提现多久到账', '手续费呢');

# tenant_extra for tests that report a lot: lift the per-user limits
our $LIMITS = "        loss_reports_per_day 100000;\n";

# u1..uN => token, signed here (HS256, as build/tools/kefu_token signs:
# kid and tid the tenant, an hour): hundreds of kefu_token runs take
# seconds on a loaded machine
sub tokens {
    my ($t, $n, $prefix) = @_;
    $prefix //= 'u';
    my $tenant = $t->{tenants}[0];
    (my $key = $t->read_file("$tenant.secret")) =~ s/[\r\n]+\z//;
    my $b64 = sub { encode_base64url($JSON->encode($_[0])) };
    my $head = $b64->({ alg => 'HS256', typ => 'JWT', kid => $tenant });
    my $now = time;
    my %tok;
    for my $user (map { "$prefix$_" } 1 .. $n) {
        my $body = $b64->({ sub => $user, tid => $tenant, iat => int $now,
                            exp => int($now) + 3600 });
        $tok{$user} = "$head.$body."
            . encode_base64url(hmac_sha256("$head.$body", $key));
    }
    return \%tok;
}

sub start {
    my ($t, $tokens, %o) = @_;
    my @users = sort keys %$tokens;
    my $nc = $o{clients} || 4;
    my @pids;
    for my $c (1 .. $nc) {
        my @mine = @users[grep { $_ % $nc == $c - 1 } 0 .. $#users];
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            client($t, $tokens, \@mine, $c, %o);
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub client {
    my ($t, $tokens, $users, $c, %o) = @_;
    my $http = HTTP::Tiny->new(timeout => 10,
                               keep_alive => 1);
    open my $out, '>', "$o{dir}/client.$c" or return;
    $out->autoflush(1);
    my $n = 0;
    while (time < $o{until} && !($o{stop_file} && -e $o{stop_file})) {
        last if $o{once} && $n >= @$users;      # every user once
        my $user = $users->[$n % @$users];
        my $round = int($n / @$users);
        $n++;
        for my $kind (qw(ask events report)) {
            my ($path, $body, %h);
            if ($kind eq 'ask') {
                $path = '/kefu/v1/ask';
                $body = { question => $QUESTIONS[$round % @QUESTIONS],
                          session_id => "s-$user" };
            } elsif ($kind eq 'events') {
                $path = '/kefu/v1/events';
                $body = { events => [map { { type => "bill_due",
                    ts => int(time) - $_ } } 1 .. 3] };
            } else {
                $path = '/kefu/v1/loss-reports';
                $body = { kind => 'phone', reason => 'lost' };
                $h{'Idempotency-Key'} = "k-$c-$n-$user";
            }
            my $res = $http->request('POST', $t->url($path), {
                headers => { Authorization => "Bearer $tokens->{$user}",
                             'Content-Type' => 'application/json', %h },
                content => $JSON->encode($body) });
            my $j = eval { $JSON->decode($res->{content}) };
            my $code = ref $j eq 'HASH' && ref $j->{error} eq 'HASH'
                ? $j->{error}{code} // 'json'
                : ref $j eq 'HASH' ? 'json' : 'nojson';
            my $id = ref $j eq 'HASH' && !ref $j->{id} ? $j->{id} // '-'
                                                        : '-';
            printf $out "%.4f %s %d %s %s %s %s\n", time, $kind,
                $res->{status}, $code, $user, $id,
                $h{'Idempotency-Key'} // '-';
        }
    }
    close $out;
}

sub stop {
    my ($dir, @pids) = @_;
    if (open my $fh, '>', "$dir/stop") {
        close $fh;
    }
    waitpid $_, 0 for @pids;
}

sub results {
    my ($dir) = @_;
    my @r;
    for my $f (sort glob "$dir/client.*") {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my ($time, $kind, $status, $code, $user, $id, $key) = split;
            push @r, { time => $time, kind => $kind, status => $status,
                       code => $code, user => $user, id => $id,
                       key => $key, line => $_ };
        }
    }
    return sort { $a->{time} <=> $b->{time} } @r;
}

# "kind status code" => count, for a note
sub summary {
    my %s;
    $s{"$_->{kind} $_->{status} $_->{code}"}++ for @_;
    return join ', ', map { "$_ x $s{$_}" } sort keys %s;
}

1;
