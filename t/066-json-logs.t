# Structured logs: with LOG_FORMAT=json every line the pool writes is one
# JSON object, access lines carrying the request id, method, path, status,
# duration and user id, and none carrying a query string, body or token.
use strict;
use warnings;

use JSON::PP;
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->new(env => { LOG_FORMAT => 'json', WORKERS => 2 });
my $u = $t->new_user;
my $r = $t->request(GET => '/api/patients?q=Secret%20Name',
    token => $u->{token}, headers => { 'X-Request-Id' => 'json-log-1' });
is($r->{status}, 200, 'a list request');
$t->request(GET => '/api/nope', headers => { 'X-Request-Id' => 'json-log-2' });

my @lines = grep { length } split /\n/,
    $t->log_with(qr/(?=.*json-log-1)(?=.*json-log-2)/s);
my @objects = map { eval { decode_json($_) } } @lines;
is(scalar(@objects), scalar(@lines), 'every log line is a JSON object')
    or diag(join("\n", grep { !eval { decode_json($_) } } @lines));

my ($access) = grep { ($_->{requestId} // '') eq 'json-log-1' } @objects;
ok($access, 'the request has its line, found by its request id');
is($access->{method}, 'GET', 'with the method');
is($access->{path}, '/api/patients', 'the path, without the query string');
is($access->{status}, 200, 'the status');
like($access->{ms}, qr/^\d+(?:\.\d+)?$/, 'the duration in ms');
is($access->{userId}, $u->{id}, 'and the user id');
like($access->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    'its time is RFC 3339 UTC with milliseconds');
my ($anon) = grep { ($_->{requestId} // '') eq 'json-log-2' } @objects;
is($anon->{status}, 404, 'an anonymous request has its line too');
ok(!exists $anon->{userId}, 'without a user id');
my ($started) = grep { ($_->{message} // '') =~ /pool started/ } @objects;
ok($started && $started->{level} eq 'info', 'events are lines with a level and a message');
unlike($t->pool_log, qr/Secret Name|Secret%20Name/, 'no query string reaches the log');

done_testing();
