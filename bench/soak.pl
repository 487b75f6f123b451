#!/usr/bin/perl
# `make soak`: the soak with faults for SOAK_SECONDS (600) seconds, with
# the ASan-built module; prints the figures and the checks (TAP).  The
# traffic, faults and assertions are lua-free-tests/lib/KefuSoak.pm,
# which `make test` runs for 60 s (lua-free-tests/t/90-soak.t).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lua-free-tests/lib";
use Test::More;
use KefuSoak;

my $secs = $ENV{SOAK_SECONDS} || 600;
my $r = KefuSoak::run(seconds => $secs, clients => $ENV{SOAK_CLIENTS} || 4);
my $text = KefuSoak::report_text($r);
diag($text);
diag('load average at the end: ' . `cat /proc/loadavg`);
KefuSoak::check($r);

done_testing();
