#!/usr/bin/perl
# CORS and the security headers (API.md "General rules": "CORS is off
# unless an operator lists allowed origins"; every response carries
# Cache-Control, X-Content-Type-Options, Content-Security-Policy and
# Referrer-Policy).
#
# Off by default: an Origin changes nothing and OPTIONS is a 405.  With
# CORS_ORIGINS: a listed origin is echoed (never '*'), with Vary: Origin and
# the headers a script may read; a preflight is answered 204 before
# authentication; no response allows credentials; an unlisted origin gets
# nothing.  A CORS_ORIGINS that is not a list of origins stops the binary.
# The security headers are checked on every kind of answer, from the pool
# and from nginx (its 413 and, with the pool stopped, its 502).
#
# Two private stacks: one without CORS_ORIGINS (whose pool is stopped at the
# end), one with it.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my @ORIGINS = ('https://app.example.org', 'http://localhost:3000');
my $UNLISTED = 'https://evil.example.com';
my @MUST_EXPOSE = qw(Location Link ETag X-Request-Id X-Total-Count);

my $off = Medrec::Stack->new(env => { CORS_ORIGINS => undef });
my $on = Medrec::Stack->new(env => { CORS_ORIGINS => join(' ', @ORIGINS) });

###############################################################################
# Helpers that compute (not tests).

# A header's value, repeated ones joined with ', '; undef when absent.
sub hdr {
	my ($r, $name) = @_;
	my $v = $r->{headers}{lc $name};
	return ref $v ? join(', ', @$v) : $v;
}

# The Access-Control-* headers of a response, as "name: value" lines.
sub acx {
	my ($r) = @_;
	return map { "$_: " . hdr($r, $_) } sort grep { /^access-control-/ }
	    keys %{ $r->{headers} };
}

# The comma-separated tokens of a header, lower-cased.
sub tokens {
	my ($r, $name) = @_;
	return map { lc } grep { length } split /\s*,\s*/, hdr($r, $name) // '';
}

# Has header $name the token $want (case-insensitive)?
sub lists {
	my ($r, $name, $want) = @_;
	return grep { $_ eq lc $want } tokens($r, $name);
}

sub preflight {
	my ($t, $path, $origin, $method, %o) = @_;
	return $t->request(OPTIONS => $path, headers => { Origin => $origin,
	    'Access-Control-Request-Method' => $method,
	    'Access-Control-Request-Headers' => 'authorization, content-type',
	    %{ $o{headers} // {} } });
}

###############################################################################
# CORS off (the default).

my $ou = $off->new_user;
my $r = $off->request(GET => '/api/patients', token => $ou->{token},
    headers => { Origin => $ORIGINS[0] });
is_json_response($r, 200, 'CORS off: a request with Origin is answered as '
    . 'usual');
ok(!acx($r), 'CORS off: a request with Origin gets no Access-Control-* '
    . 'header') or diag(join("\n", acx($r)));
$r = $off->request(GET => '/api/doctors', headers => { Origin => $UNLISTED });
ok($r->{status} == 200 && !acx($r), 'CORS off: a public list with Origin '
    . 'gets no Access-Control-* header either') or diag(show_response($r));

$r = preflight($off, '/api/patients', $ORIGINS[0], 'POST');
is_problem($r, 405, 'CORS off: a preflight OPTIONS is 405');
my @allow = map { uc } split /\s*,\s*/, hdr($r, 'Allow') // '';
is_deeply([ sort @allow ], [ qw(GET POST) ],
    'CORS off: the 405 carries Allow with the methods of the path')
    or diag(show_response($r));
ok(!acx($r), 'CORS off: the preflight gets no Access-Control-* header')
    or diag(join("\n", acx($r)));

###############################################################################
# CORS on: simple requests.

my $u = $on->new_user;
my @cors_responses;	# every answer to a listed origin, for the last checks

for my $origin (@ORIGINS) {
	$r = $on->request(GET => '/api/patients', token => $u->{token},
	    headers => { Origin => $origin });
	push @cors_responses, $r;
	is_json_response($r, 200, "GET /api/patients from $origin is 200");
	is(hdr($r, 'Access-Control-Allow-Origin'), $origin,
	    "a listed origin ($origin) gets Access-Control-Allow-Origin: "
	    . 'that origin');
	ok(lists($r, 'Vary', 'Origin'), 'with Vary: Origin')
	    or diag(show_response($r));
	my @missing = grep { !lists($r, 'Access-Control-Expose-Headers', $_) }
	    @MUST_EXPOSE;
	ok(!@missing, 'and Access-Control-Expose-Headers naming '
	    . join(', ', @MUST_EXPOSE)) or diag("missing: @missing; "
	    . (hdr($r, 'Access-Control-Expose-Headers') // 'no header'));
}

$r = $on->request(POST => '/api/patients', token => $u->{token},
    json => { name => 'CORS Patient' }, headers => { Origin => $ORIGINS[0] });
push @cors_responses, $r;
is_json_response($r, 201, 'a POST from a listed origin is 201');
is(hdr($r, 'Access-Control-Allow-Origin'), $ORIGINS[0],
    'and its 201 carries Access-Control-Allow-Origin');
my $pid = $r->{json}{id} // 0;

$r = $on->request(GET => '/api/patients', headers => { Origin => $ORIGINS[1] });
push @cors_responses, $r;
is_problem($r, 401, 'a listed origin without a token is 401');
is(hdr($r, 'Access-Control-Allow-Origin'), $ORIGINS[1],
    'and the 401 carries Access-Control-Allow-Origin, so the script can '
    . 'read it');
ok(lists($r, 'Access-Control-Expose-Headers', 'WWW-Authenticate'),
    'and exposes WWW-Authenticate') or diag(show_response($r));

$r = $on->request(GET => '/api/patients/abc', token => $u->{token},
    headers => { Origin => $ORIGINS[0] });
push @cors_responses, $r;
is_problem($r, 404, 'a malformed patient id from a listed origin is 404');
is(hdr($r, 'Access-Control-Allow-Origin'), $ORIGINS[0],
    'and that 404 carries Access-Control-Allow-Origin, so the script can '
    . 'read it');

$r = $on->request(GET => '/api/health', headers => { Origin => '*' });
ok(!defined hdr($r, 'Access-Control-Allow-Origin'),
    'Origin: * gets no Access-Control-Allow-Origin');
for my $origin ($UNLISTED, 'https://app.example.org.evil.com',
    'http://app.example.org', 'https://app.example.org:8443', 'null') {
	$r = $on->request(GET => '/api/patients', token => $u->{token},
	    headers => { Origin => $origin });
	ok($r->{status} == 200 && !defined hdr($r,
	    'Access-Control-Allow-Origin'), "an unlisted origin ($origin) gets "
	    . 'no Access-Control-Allow-Origin') or diag(show_response($r));
}
ok(lists($r, 'Vary', 'Origin'), 'an unlisted origin\'s answer still says '
    . 'Vary: Origin, so no cache hands it to a listed one')
    or diag(show_response($r));
$r = $on->request(GET => '/api/health');
ok($r->{status} == 200 && !defined hdr($r, 'Access-Control-Allow-Origin'),
    'a request without Origin gets no Access-Control-Allow-Origin');

###############################################################################
# CORS on: preflight.

$r = preflight($on, '/api/patients', $ORIGINS[0], 'POST');
push @cors_responses, $r;
is($r->{status}, 204, 'a preflight of POST /api/patients from a listed '
    . 'origin, without a token, is 204') or diag(show_response($r));
is($r->{body}, '', 'with no body');
is(hdr($r, 'Access-Control-Allow-Origin'), $ORIGINS[0],
    'the preflight answer carries Access-Control-Allow-Origin: the origin');
ok(lists($r, 'Access-Control-Allow-Methods', 'GET') &&
    lists($r, 'Access-Control-Allow-Methods', 'POST'),
    'Access-Control-Allow-Methods lists GET and POST')
    or diag(show_response($r));
ok(!lists($r, 'Access-Control-Allow-Methods', 'DELETE'),
    'and not DELETE, which the path does not take');
ok(lists($r, 'Access-Control-Allow-Headers', 'Authorization') &&
    lists($r, 'Access-Control-Allow-Headers', 'Content-Type'),
    'Access-Control-Allow-Headers includes Authorization and Content-Type')
    or diag(show_response($r));
ok(lists($r, 'Vary', 'Origin'), 'the preflight answer says Vary: Origin');
has_security_headers($r, 'the preflight 204 carries the security headers');

$r = preflight($on, "/api/patients/$pid", $ORIGINS[1], 'PATCH');
push @cors_responses, $r;
is($r->{status}, 204, 'a preflight of PATCH /api/patients/:id is 204');
ok(!grep({ !lists($r, 'Access-Control-Allow-Methods', $_) }
    qw(GET PUT PATCH DELETE)), 'and allows GET, PUT, PATCH and DELETE')
    or diag(show_response($r));

$r = preflight($on, '/api/patients', $ORIGINS[0], 'POST', headers => {
    Authorization => 'Bearer not.a.token' });
push @cors_responses, $r;
is($r->{status}, 204, 'a preflight carrying a bad token is still 204 '
    . '(it is answered before authentication)');

$r = preflight($on, '/api/patients', $UNLISTED, 'POST');
ok($r->{status} != 204 && !defined hdr($r, 'Access-Control-Allow-Origin') &&
    !defined hdr($r, 'Access-Control-Allow-Methods'),
    'a preflight from an unlisted origin is not granted')
    or diag(show_response($r));

$r = $on->request(OPTIONS => '/api/patients',
    headers => { Origin => $ORIGINS[0] });
is_problem($r, 405, 'OPTIONS without Access-Control-Request-Method is no '
    . 'preflight: 405');
ok(defined hdr($r, 'Allow'), 'with Allow');

my @cred = grep { defined hdr($_, 'Access-Control-Allow-Credentials') }
    @cors_responses;
ok(@cors_responses >= 8 && !@cred, 'no answer to a listed origin carries '
    . 'Access-Control-Allow-Credentials') or diag(show_response($cred[0]));
my @star = grep { (hdr($_, 'Access-Control-Allow-Origin') // '') eq '*' }
    @cors_responses;
ok(!@star, 'no answer says Access-Control-Allow-Origin: *');

###############################################################################
# A CORS_ORIGINS that is not a list of origins stops the binary.

# The binary run directly, as t/005-config.t does; { code, out, err }.
sub medrec_with {
	my (%env) = @_;
	my $dir = tempdir('medrec-cors-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $res = Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path() ],
	    cwd => $dir, timeout => 20, env => Medrec::Stack::clean_env(
	    DATABASE_URL => $off->database_url,
	    JWT_SECRET => 'k' x 24 . 'Z9' x 8,
	    MIGRATIONS_DIR => Medrec::Stack::top() . '/db/migrations',
	    LISTEN => "$dir/pool.sock", %env));
	$res->{code} = $res->{timed_out} ? 'timed out' : ($res->{status} & 127)
	    ? 'signal ' . ($res->{status} & 127) : $res->{status} >> 8;
	return $res;
}

for my $bad ('*', 'app.example.org', 'https://a/b', 'https://app.example.org/',
    'https://*.example.org', 'https://', 'ftp://app.example.org',
    'https://app.example.org *') {
	my $res = medrec_with(CORS_ORIGINS => $bad);
	ok($res->{code} ne '0' && $res->{code} ne 'timed out' &&
	    $res->{err} =~ /\bCORS_ORIGINS\b/,
	    "CORS_ORIGINS='$bad' stops the binary with a message naming "
	    . 'CORS_ORIGINS') or diag("exit $res->{code}\nstdout: $res->{out}\n"
	    . "stderr: $res->{err}");
	is($res->{code}, 78, "  with exit status 78, as every bad setting");
}

###############################################################################
# The security headers on every kind of answer (CORS off).

my $pr = $off->request(POST => '/api/patients', token => $ou->{token},
    json => { name => 'Header Patient' });
my %answers = (
	'200 GET /api/health' => $off->request(GET => '/api/health'),
	'201 POST /api/patients' => $pr,
	'204 DELETE /api/patients/:id' => $off->request(DELETE =>
	    '/api/patients/' . ($pr->{json}{id} // 0), token => $ou->{token}),
	# Bodies that are not JSON go past Prism (direct), which would
	# answer them itself.
	'400 a body that is not JSON' => $off->request(POST => '/api/patients',
	    token => $ou->{token}, body => '{"name":',
	    content_type => 'application/json', direct => 1),
	'401 no token' => $off->request(GET => '/api/patients'),
	'404 from the pool' => $off->request(GET => '/api/no-such-thing'),
	'404 from nginx' => $off->request(GET => '/no-such-thing'),
	'405 PUT /api/patients' => $off->request(PUT => '/api/patients',
	    token => $ou->{token}, json => { name => 'x' }),
	'409 a second registration' => $off->request(POST =>
	    '/api/auth/register', json => { name => 'Again',
	    email => $ou->{email}, password => 'another password' }),
	'413 nginx\'s own page' => $off->request(POST => '/api/patients',
	    token => $ou->{token}, body => 'x' x 65537,
	    content_type => 'application/json', direct => 1),
	'415 a text/plain body' => $off->request(POST => '/api/patients',
	    token => $ou->{token}, body => 'name=x',
	    content_type => 'text/plain'),
);

$off->signal_pool('TERM');
ok(defined $off->wait_pool(15), 'the pool of the CORS-off stack stops on '
    . 'SIGTERM');
$answers{'502 with the pool stopped'} = $off->request(GET => '/api/health');

for my $name (sort keys %answers) {
	my ($status) = $name =~ /^(\d+)/;
	my $res = $answers{$name};
	is($res->{status}, $status, "$name: the status is $status")
	    or diag(show_response($res));
	has_security_headers($res, "$name: the security headers are there");
}

done_testing();
