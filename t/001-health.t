#!/usr/bin/perl
# GET /api/health, and the headers every response carries (API.md "General
# rules"): from the pool on a 200 and a 404, and from nginx on its own 413.

use strict;
use warnings;

use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;

my $r = $t->request(GET => '/api/health');
is_json_response($r, 200, 'GET /api/health is 200 JSON');
is_deeply($r->{json}, { status => 'ok', database => 'ok' },
    'health says the service and the database are ok')
    or diag(show_response($r));
like($r->{headers}{'x-request-id'} // '', qr/^[A-Za-z0-9._-]{1,64}$/,
    'health carries an X-Request-Id');
has_security_headers($r, 'a 200 carries the security headers');

my $h = $t->request(HEAD => '/api/health');
is($h->{status}, 200, 'HEAD /api/health is 200');
is($h->{body}, '', 'HEAD has no body');
like($h->{headers}{'content-type'} // '', qr{^application/json},
    'HEAD has the Content-Type of GET');
has_security_headers($h, 'a HEAD carries the security headers');

my $nf = $t->request(GET => '/api/no-such-thing');
is_problem($nf, 404, 'unknown path under /api is 404 problem+json');
has_security_headers($nf, 'a 404 from the pool carries the security headers');

# Bodies that are not JSON go past Prism (direct), which would answer them.
my $big = $t->request(POST => '/api/auth/login', body => 'x' x 65537,
    content_type => 'application/json', direct => 1);
is_problem($big, 413, 'a body over 64 KiB is 413 problem+json from nginx');
has_security_headers($big, "nginx's own 413 carries the security headers");

# Exactly 64 KiB is allowed through to the pool, which then judges the JSON.
my $edge = $t->request(POST => '/api/auth/login', body => ' ' x 65536,
    content_type => 'application/json', direct => 1);
is_problem($edge, 400, 'a body of exactly 64 KiB is not 413 (400: not JSON)');

done_testing();
