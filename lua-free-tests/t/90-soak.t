# The soak with faults, short: 60 s (KEFU_SOAK_SECONDS) of mixed traffic
# from two tenants while Redis is SIGKILLed and restarted from its AOF,
# nginx reloads an edited knowledge base, 10,000 distinct unanswered
# questions arrive and requests are cut mid-body (lua-free-tests/lib/
# KefuSoak.pm; `make soak` runs the same for 10 minutes).
use strict;
use warnings;
use Test::More;
use KefuSoak;

my $r = KefuSoak::run(seconds => $ENV{KEFU_SOAK_SECONDS} || 60);
note(KefuSoak::report_text($r));
KefuSoak::check($r);

done_testing();
