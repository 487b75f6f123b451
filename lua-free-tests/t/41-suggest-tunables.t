# "猜你关心" tunables in the kefu_tenant block: trail_max, trail_ttl,
# trail_half_life, suggest_limit, suggest_per_topic, suggest_scene_weight,
# suggest_hot_weight, suggest_risk_window, suggest_asked_window; and
# nginx -t on bad values.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use Time::HiRes qw(sleep);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

my $t = KefuTest->new(no_start => 1, no_ssl => 1);

sub check {
    my ($extra) = @_;
    local $t->{tenant_extra} = $extra;
    $t->write_file('nginx.conf', $t->conf);
    return $t->nginx('-t');
}

for my $bad ('suggest_hot_weight 2;', 'suggest_scene_weight -1;',
             'suggest_per_topic 0;', 'suggest_risk_window never;',
             'suggest_asked_window 0;', 'suggest_hot_half_life x;') {
    my ($rc, $out) = check("        $bad\n");
    isnt($rc, 0, "nginx -t refuses \"$bad\"");
    my ($name) = $bad =~ /^(\S+)/;
    like($out, qr/\Q$name\E/, 'and names the directive');
}

$t->{tenant_extra} = <<'EOF';
        trail_max 5;
        trail_ttl 1h;
        trail_half_life 10m;
        suggest_limit 3;
        suggest_per_topic 1;
        suggest_scene_weight 0;
        suggest_hot_weight 0;
        suggest_risk_window 2m;
        suggest_asked_window 1s;
EOF
$t->start_nginx();

# the workers connect to Redis after start-up: wait until both are up
sub wait_redis {
    my $up = 0;
    for (1 .. 400) {
        my $h = $t->get('/kefu/v1/health');
        $up = (($h->{json}{redis} // '') eq 'up') ? $up + 1 : 0;
        return 1 if $up >= 8;
        select(undef, undef, undef, 0.025);
    }
    return 0;
}
ok(wait_redis(), 'redis connected');

my $now = time;

sub sug {
    my ($tok, $q) = @_;
    my $r = $t->get('/kefu/v1/suggestions' . ($q // ''), token => $tok);
    is($r->{status}, 200, 'suggestions 200') or diag $r->{content};
    return $r->{json} || { items => [] };
}

sub events {
    my ($tok, @ev) = @_;
    return $t->post('/kefu/v1/events', token => $tok,
                    body => { events => \@ev });
}

my $u = $t->token('t1');

# trail_max, trail_ttl
is(events($u, map { { type => "e$_" } } 1 .. 8)->{status}, 202, '8 events');
is($t->redis_cmd('LLEN', 'kefu:{demo:t1}:trail'), 5, 'trail_max 5');
my $ttl = $t->redis_cmd('TTL', 'kefu:{demo:t1}:trail');
ok($ttl > 0 && $ttl <= 3600, "trail_ttl 1h ($ttl)");
is($t->post('/kefu/v1/events', token => $u,
            body => { events => [{ type => 'x', ts => $now - 7200 }] })
       ->{status}, 400, 'ts older than trail_ttl refused');

# suggest_limit, suggest_per_topic
events($u, { type => 'transfer_failed' });
my $j = sug($u);
is(scalar @{ $j->{items} }, 3, 'suggest_limit 3 is the default');
is($j->{items}[0]{faq_id}, 'transfer-failed', 'failed transfer first');
is(scalar(grep { $_->{topic} eq 'transfer' } @{ $j->{items} }), 1,
   'suggest_per_topic 1');
is(scalar @{ sug($u, '?limit=6')->{items} }, 6, 'limit overrides it');

# trail_half_life 10m: an event 3 h old (18 half-lives) is ignored
my $u2 = $t->token('t2');
events($u2, { type => 'transfer_failed', ts => $now - 3 * 3600 + 60 });
$j = sug($u2);
is($j->{items}[0]{reason}{type}, 'welcome', 'half-life 10m: 3 h is too old');
is($j->{personalized}, JSON::PP::false, 'not personalized');

# suggest_scene_weight 0
$j = sug($t->token('t3'), '?scene=bill');
is($j->{items}[0]{reason}{type}, 'welcome', 'scene weight 0: no scene');

# suggest_hot_weight 0
for (1 .. 3) {
    $t->post('/kefu/v1/ask', token => $t->token("h$_"),
             body => { faq_id => 'withdraw-fee' });
}
$j = sug($t->token('t4'));
ok(!(grep { $_->{reason}{type} eq 'hot' } @{ $j->{items} }),
   'hot weight 0: no hot items');

# suggest_risk_window 2m: the login 5 min ago is outside
my $u5 = $t->token('t5');
events($u5, { type => 'login_new_device', ts => $now - 300 },
            { type => 'transfer_large' });
is(sug($u5)->{risk}, undef, 'login outside the risk window: no risk');
my $u6 = $t->token('t6');
events($u6, { type => 'login_new_device', ts => $now - 60 },
            { type => 'transfer_large' });
is(sug($u6)->{risk}, 'new_device_transfer', 'inside the window: risk');

# suggest_asked_window 1s
my $u7 = $t->token('t7');
$t->post('/kefu/v1/ask', token => $u7, body => { faq_id => 'repay-how' });
isnt(sug($u7)->{items}[0]{faq_id}, 'repay-how', 'just asked: left out');
sleep 2.2;
is(sug($u7)->{items}[0]{faq_id}, 'repay-how', 'after the window: back');

done_testing();
