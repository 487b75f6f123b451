# Automatic adoption of tapped pairs (issue 13, learn_auto_adopt): with
# the option on, a question whose clarify three distinct users answered
# with the same choice becomes a learned similar question of that FAQ and
# is then answered directly by both workers; two users are not enough;
# the option off (another tenant, same KB, same taps) adopts nothing; a
# trainer's delete of an adopted question is not undone.
use strict;
use warnings;
use utf8;
use Test::More;
use Time::HiRes qw(time sleep);
use Encode qw(decode_utf8);
use KefuTest;

binmode(Test::More->builder->$_, ':utf8')
    for qw(output failure_output todo_output);

my $t = KefuTest->new(no_ssl => 1, workers => 2,
                      tenant_extra => { demo => "        learn_auto_adopt on;\n" });
my $adm = $t->token('trainer', scope => 'admin');

# the workers poll every kefu_stats_flush (10 ms here)
for (1 .. 100) {
    last if $t->get('/kefu/v1/whoami', token => $t->token('w'))->{status}
            == 200;
    sleep 0.1;
}

my @d = gmtime;
my $today = sprintf '%04d%02d%02d', $d[5] + 1900, $d[4] + 1, $d[3];

sub ask {
    my ($tenant, $user, $body) = @_;
    my $r = $t->post('/kefu/v1/ask',
                     token => $t->token($user, tenant => $tenant),
                     body => $body);
    die "ask: $r->{content}" unless $r->{status} == 200;
    return $r->{json};
}

sub learned {
    my ($tenant) = @_;
    my %h = @{ $t->redis_cmd('HGETALL', "kefu:{$tenant}:learned") || [] };
    return \%h;
}

# true once cond holds, looked at for up to secs seconds
sub within {
    my ($secs, $cond) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return 0;
}

# a question the demo KB answers with a clarify
my ($cq, $clar);
for my $q ('额度', '怎么提升额度', '还款', '密码') {
    $clar = ask('demo', 'c0', { question => $q });
    if ($clar->{type} eq 'clarify') { $cq = $q; last }
}
BAIL_OUT('no question clarifies on the demo KB') unless $cq;
my $pick = $clar->{choices}[1]{faq_id};
ok($pick, "\"$cq\" clarifies; the users pick $pick");

sub tap {
    my ($tenant, $user) = @_;
    my $c = ask($tenant, $user, { question => $cq });
    is($c->{type}, 'clarify', "$tenant/$user: clarify");
    my $a = ask($tenant, $user,
                { choice => $pick, session_id => $c->{session_id} });
    is($a->{faq_id}, $pick, "$tenant/$user: tapped $pick");
}

sub users_of {
    my ($tenant) = @_;
    return $t->redis_cmd('ZSCORE', "kefu:{$tenant}:d:$today:p",
                         "$pick\t$cq") // 0;
}

# --- on: two users are not enough -------------------------------------

tap('demo', $_) for qw(u1 u2);
ok(within(10, sub { users_of('demo') == 2 }), 'two users counted');
# the poll looks every 10 ms: two seconds are some 200 looks
ok(!within(2, sub { %{ learned('demo') } }), 'two users: nothing adopted');
is(ask('demo', 'x1', { question => $cq })->{type}, 'clarify',
   'still a clarify');

# a third user: adopted, answered directly by both workers
tap('demo', 'u3');
ok(within(10, sub { %{ learned('demo') } }), 'three users: adopted');
my $l = learned('demo');
is(scalar keys %$l, 1, 'one learned question');
my ($id) = keys %$l;
my ($faq, $key, $q) = split /\t/, decode_utf8($l->{$id}), 3;
is($faq, $pick, 'for the tapped FAQ');
is($q, $cq, 'the question as the users asked it (normalised)');
my $in_list = $t->get("/kefu/v1/admin/kb/similar?faq_id=$pick",
                      token => $adm);
ok(grep({ $_->{id} eq $id } @{ $in_list->{json}{items} || [] }),
   'listed like any learned question');

# fresh connections spread over both workers: 12 direct answers in a row
my $run = 0;
within(10, sub {
    my $j = ask('demo', 'x' . int(rand 1e6), { question => $cq });
    $run = $j->{type} eq 'answer' && $j->{faq_id} eq $pick ? $run + 1 : 0;
    return $run >= 12;
});
ok($run >= 12, "answered directly by $pick ($run in a row)");

# --- off: the same taps in the other tenant adopt nothing -------------

tap('other', $_) for qw(v1 v2 v3);
ok(within(10, sub { users_of('other') == 3 }), 'other: three users counted');
ok(!within(2, sub { %{ learned('other') } }),
   'learn_auto_adopt off (the default): nothing adopted');
is(ask('other', 'y1', { question => $cq })->{type}, 'clarify',
   'other: still a clarify');

# --- a trainer's delete is not undone ---------------------------------

is($t->request('DELETE', "/kefu/v1/admin/kb/similar/$id", token => $adm)
     ->{status}, 200, 'the trainer deletes it');
ok(within(10, sub {
    ask('demo', 'z' . int(rand 1e6), { question => $cq })->{type}
        eq 'clarify' }), 'a clarify again');
ok(!within(2, sub { %{ learned('demo') } }),
   'not adopted again while the pair stays over the threshold');
ok(defined $t->redis_cmd('ZSCORE', 'kefu:{demo}:kb:dismissed', $cq),
   'the adoption marked it dismissed');

done_testing();
