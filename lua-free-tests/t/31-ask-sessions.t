# /v1/ask sessions: each worker keeps the sessions it wrote and writes the
# next turn as a compare-and-set.  Its copy saves the read (one script per
# turn, no GET); a session changed behind its back (deleted, rewritten,
# another worker's turn) is refused by Redis and the turn is done again
# on what is stored; of concurrent turns of one session from many
# connections and both workers, every one acknowledged as saved is in
# the session (a turn refused again and again answers with "session":
# "unavailable" instead).  A session larger than a copy's entry is read
# before each turn.
use strict;
use warnings;
use utf8;
use Test::More;
use KefuTest;
use POSIX qw(_exit);

binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

sub cmd_calls {
    my ($t, $cmd) = @_;
    my $info = $t->redis_cmd('INFO', 'commandstats');
    return $info =~ /cmdstat_$cmd:calls=(\d+)/ ? $1 : 0;
}

sub stored {
    my ($t, $user, $sid) = @_;
    my $v = $t->redis_cmd('GET', "kefu:{demo:$user}:s:$sid");
    return defined $v && length $v ? $KefuTest::JSON->decode($v) : undef;
}

# --- one worker: its copy saves the read --------------------------------
{
    # no counter writes during the count (their script runs count too)
    my $t = KefuTest->new(no_ssl => 1, workers => 1, stats_flush => '60s');
    my $tok = $t->token('u1');
    my $ask = sub {
        my ($q, $sid) = @_;
        my $r = $t->post('/kefu/v1/ask', token => $tok,
                         body => { question => $q, session_id => $sid });
        die "ask: $r->{content}" unless $r->{status} == 200;
        return $r->{json};
    };

    my $gets = cmd_calls($t, 'get');
    my $evals = cmd_calls($t, 'evalsha');
    my $j;
    for my $i (1 .. 10) {
        $j = $ask->($i % 2 ? '蚁花怎么开通' : '那怎么关闭呢', 's1');
    }
    is($j->{turn}, 10, 'ten turns');
    is($j->{session}, 'continued', 'continued');
    # a script's own GET counts as a GET call
    is(cmd_calls($t, 'evalsha') - $evals, 10, 'one script per turn');
    is(cmd_calls($t, 'get') - $gets - 10, 1,
       'one read: the first turn of a session the worker had not seen');
    is(stored($t, 'u1', 's1')->{turn}, 10, 'Redis has turn 10');

    # deleted behind the worker's back: the next turn starts over
    $t->redis_cmd('DEL', 'kefu:{demo:u1}:s:s1');
    $j = $ask->('提现多久到账', 's1');
    is($j->{turn}, 1, 'a deleted session starts over');
    is($j->{session}, 'new', 'as new');
    is(stored($t, 'u1', 's1')->{turn}, 1, 'and is stored so');

    # rewritten behind its back: the turn goes on from what is stored
    $ask->('蚁花怎么开通', 's2');
    my $other = $ask->('蚁花怎么开通', 's3');
    $t->redis_cmd('SET', 'kefu:{demo:u1}:s:s2',
                  $t->redis_cmd('GET', 'kefu:{demo:u1}:s:s3'));
    $ask->('手续费呢', 's3');
    my $v = stored($t, 'u1', 's2');
    is($v->{turn}, 1, 'sanity: s2 now holds a copy of s3 at turn 1');
    $j = $ask->('那怎么关闭呢', 's2');
    is($j->{turn}, 2, 'the turn continues what is stored, not the copy');
    is($j->{faq_id}, 'paylater-close', 'in its topic');

    # a damaged value: the turn still answers, and repairs the session
    $t->redis_cmd('SET', 'kefu:{demo:u1}:s:s2', 'not json');
    $j = $ask->('蚁花怎么开通', 's2');
    is($j->{type}, 'answer', 'a damaged session costs only the context');
    is(stored($t, 'u1', 's2')->{turn}, 1, 'and is replaced');

    # a session whose key and value outgrow a copy's entry (1 KiB): not
    # kept, so each turn reads it first, and it goes on all the same;
    # the copy kept while it still fitted is not used once it is stale
    my $long = '蚁花怎么开通' . ('呢' x 94);          # 300 bytes
    my $key = 'kefu:{demo:u1}:s:big';
    $ask->($long, 'big') for 1 .. 3;
    cmp_ok(length($key) + $t->redis_cmd('STRLEN', $key), '>', 1024,
           'sanity: the session outgrew an entry');
    $gets = cmd_calls($t, 'get');
    $evals = cmd_calls($t, 'evalsha');
    $j = $ask->($long, 'big') for 1 .. 3;
    is($j->{turn}, 6, 'a session larger than an entry goes on');
    is($j->{session}, 'continued', 'continued');
    is(cmd_calls($t, 'evalsha') - $evals, 3,
       'one script per turn: no write against a stale copy');
    is(cmd_calls($t, 'get') - $gets - 3, 3, 'one read per turn');
    is(stored($t, 'u1', 'big')->{turn}, 6, 'Redis has turn 6');

    # a small session still saves the read
    $ask->('蚁花怎么开通', 's5');
    $gets = cmd_calls($t, 'get');
    $j = $ask->('那怎么关闭呢', 's5');
    is($j->{turn}, 2, 'a small session beside it');
    is(cmd_calls($t, 'get') - $gets, 1, 'written against its copy, no read');
}

# --- two workers, concurrent turns of one session -----------------------
{
    my $t = KefuTest->new(no_ssl => 1, workers => 2);
    my $tok = $t->token('u2');
    my ($procs, $turns) = (6, 8);
    my @pids;
    for my $p (1 .. $procs) {
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            my ($saved, $bad) = (0, 0);
            for (1 .. $turns) {
                # a client of its own: a connection, so a worker, of its own
                my $c = HTTP::Tiny->new(keep_alive => 0, timeout => 10);
                my $r = $c->post($t->url('/kefu/v1/ask'), {
                    headers => { Authorization => "Bearer $tok",
                                 'Content-Type' => 'application/json' },
                    content => $KefuTest::JSON->encode({
                        question => '蚁花怎么开通', session_id => 'busy' }),
                });
                if ($r->{status} != 200) {
                    $bad++;
                } elsif ($r->{content} =~ /"session":"(new|continued)"/) {
                    $saved++;
                }
            }
            _exit($bad ? 255 : $saved);
        }
        push @pids, $pid;
    }
    my ($saved, $failed) = (0, 0);
    for (@pids) {
        waitpid($_, 0);
        my $rc = $? >> 8;
        $rc == 255 ? $failed++ : ($saved += $rc);
    }
    is($failed, 0, "$procs clients x $turns turns: all answered");
    ok($saved >= $procs * $turns / 2, "most saved ($saved)");
    is(stored($t, 'u2', 'busy')->{turn}, $saved,
       'every turn acknowledged as saved is in the session');
}

done_testing();
