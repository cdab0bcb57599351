#!/usr/bin/perl
# Routing (API.md "General rules"): unknown paths, wrong methods, path ids,
# and X-Request-Id.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->shared;

# Unknown paths.
my $r = $t->request(GET => '/api/nope');
is_problem($r, 404, 'unknown path under /api is 404 problem+json');
is($r->{json}{title}, 'Not Found', 'its title is Not Found');

$r = $t->request(GET => '/nope');
is_problem($r, 404, 'a path outside /api is 404 problem+json from nginx');
is($r->{json}{title}, 'Not Found', "nginx's 404 title is Not Found");
has_security_headers($r, "nginx's 404 carries the security headers");

$r = $t->request(GET => '/api');
is_problem($r, 404, '/api itself is 404');

$r = $t->request(GET => '/api/health/');
is_problem($r, 404, 'a trailing slash is another path: 404');

# Known paths, other methods.
sub allow_set {
	my ($r) = @_;
	my $v = $r->{headers}{allow} // '';
	return join ',', sort grep { $_ ne 'HEAD' } split /\s*,\s*/, $v;
}

$r = $t->request(DELETE => '/api/health');
is_problem($r, 405, 'DELETE /api/health is 405');
is(allow_set($r), 'GET', 'the 405 for /api/health says Allow: GET');

$r = $t->request(POST => '/api/health', json => {});
is_problem($r, 405, 'POST /api/health is 405');
is(allow_set($r), 'GET', 'and says Allow: GET');

$r = $t->request(GET => '/api/auth/login');
is_problem($r, 405, 'GET /api/auth/login is 405');
is(allow_set($r), 'POST', 'the 405 for /api/auth/login says Allow: POST');

$r = $t->request(PUT => '/api/auth/register', json => {});
is_problem($r, 405, 'PUT /api/auth/register is 405');
is(allow_set($r), 'POST', 'and says Allow: POST');

# Path ids that are not positive 63-bit integers, on shapes that take none.
for my $path ('/api/health/1', '/api/auth/me/1', '/api/health/abc',
    '/api/auth/me/0', '/api/auth/me/-1', '/api/auth/me/99999999999999999999',
    '/api/auth/me/9223372036854775808') {
	is_problem($t->request(GET => $path), 404, "GET $path is 404");
}

# X-Request-Id.
sub rid { $_[0]{headers}{'x-request-id'} // '' }
my $sane = qr/^[A-Za-z0-9._-]{1,64}$/;

for my $id ('a', 'abc-DEF_012.xyz', 'x' x 64, "t002-$$-" . time) {
	$r = $t->request(GET => '/api/health', headers => { 'X-Request-Id' => $id });
	is(rid($r), $id, 'a sane client X-Request-Id of ' . length($id)
	    . ' characters is echoed');
}
for my $case (['x' x 65, 'a 65-character X-Request-Id'],
    ['a b', 'an X-Request-Id with a space'],
    ['a/b', "an X-Request-Id with a '/'"],
    ['a;b', "an X-Request-Id with a ';'"],
    ['a*b', "an X-Request-Id with a '*'"],
    ['', 'an empty X-Request-Id']) {
	my ($id, $what) = @$case;
	$r = $t->request(GET => '/api/health', headers => { 'X-Request-Id' => $id });
	is($r->{status}, 200, "$what still gets an answer");
	ok(rid($r) ne $id && rid($r) =~ $sane, "$what is replaced by a fresh id")
	    or diag('got "' . rid($r) . '"');
}
is_problem($t->request(GET => '/api/nope', headers => { 'X-Request-Id' => 'x' x 65 }),
    404, 'an insane X-Request-Id on an unknown path is still a plain 404');

my $first = rid($t->request(GET => '/api/health'));
my $second = rid($t->request(GET => '/api/health'));
like($first, $sane, 'a request without an id gets a sane one');
isnt($first, $second, 'two requests without an id get different ids');

# The id in the log: "<time> info req=<id> <METHOD> <path> status=<N> ms=<x>".
# Regression: the access line was once written after FCGX_Finish_r had freed
# the FastCGI params that method and path point into, garbling them.
my $id = "t002-log-$$-" . int(rand(1e9));
$r = $t->request(GET => '/api/health', headers => { 'X-Request-Id' => $id });
my $line = wait_until(5, sub {
	my ($l) = $t->pool_log =~ /^(.*\breq=\Q$id\E\b.*)$/m;
	return $l;
});
like($line // '', qr/^\S+ info req=\Q$id\E GET \/api\/health status=200 ms=[0-9.]+(?: |$)/,
    "the client's id is on the pool's access line for that request");

$id = "t002-log404-$$-" . int(rand(1e9));
$t->request(DELETE => '/api/health', headers => { 'X-Request-Id' => $id });
$line = wait_until(5, sub {
	my ($l) = $t->pool_log =~ /^(.*\breq=\Q$id\E\b.*)$/m;
	return $l;
});
like($line // '', qr/ req=\Q$id\E DELETE \/api\/health status=405 /,
    'a 405 is logged with its id, method, path and status');

# A fresh id is the one logged too.
$r = $t->request(GET => '/api/health', headers => { 'X-Request-Id' => 'a b' });
my $fresh = rid($r);
ok(wait_until(5, sub { $t->pool_log =~ /\breq=\Q$fresh\E GET \/api\/health status=200\b/ }),
    'a replaced id is the one in the log');

# Regression (found by fuzzing valid_body): a JSON route sent no body at
# all, without even a Content-Length, crashed the worker (a NULL body) and
# nginx answered 502.
for my $path ('/api/auth/login', '/api/auth/register') {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
	    Timeout => 10) or die "connect: $!";
	print $s "POST $path HTTP/1.1\r\nHost: localhost\r\n"
	    . "Content-Type: application/json\r\nConnection: close\r\n\r\n";
	local $/;
	my $reply = <$s> // '';
	like($reply, qr{^HTTP/1\.1 400 }, "POST $path without any body is 400");
	like($reply, qr{application/problem\+json}, '  as a problem document');
}

done_testing();
