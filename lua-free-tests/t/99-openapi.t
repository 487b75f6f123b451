# Every API response recorded by this run's integration tests matches the
# response schemas of docs/openapi.yaml.  `make test` records them
# (KEFU_RECORD) and prove runs this file last; alone it has nothing to do.
use strict;
use warnings;
use Test::More;
use KefuTest;

plan skip_all => 'no recorded responses (run through make test)'
    unless $ENV{KEFU_RECORD} && -d $ENV{KEFU_RECORD};

my $out = `make -s --no-print-directory -C $KefuTest::TOP openapi-check \\
           OPENAPI_RECORD=$ENV{KEFU_RECORD} 2>&1`;
is($?, 0, 'recorded responses match docs/openapi.yaml') or diag $out;
like($out, qr/all responses match/, 'the checker saw the responses');
note $out;

done_testing();
