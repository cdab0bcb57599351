#!/usr/bin/perl
# Bearer tokens (API.md "Authentication"): which tokens a protected route
# takes.  Tokens are forged here with the stack's JWT secret (HMAC-SHA256
# from Digest::SHA), so that each rule is tested alone: a correctly forged
# token is taken first, then each case breaks exactly one thing.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha512);
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;
# The secret is part of the stack's description; a stack with none (an
# older t/run-suite) is no use here, so start a private one.
my $secret = $t->can('jwt_secret') ? $t->jwt_secret : $t->{jwt_secret};
unless (defined $secret && length $secret) {
	$t = Medrec::Stack->new;
	$secret = $t->{jwt_secret};
}
die "no JWT secret for the stack\n" unless defined $secret && length $secret;

my $JSON = JSON::PP->new->utf8->canonical;

###############################################################################
# Helpers (not tests).

sub b64url {
	(my $s = encode_base64($_[0], '')) =~ tr{+/}{-_};
	$s =~ s/=+$//;
	return $s;
}

sub b64url_decode {
	my ($s) = @_;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return decode_base64($s);
}

sub jti {
	return b64url(join '', map { chr(int rand 256) } 1 .. 16);
}

# forge(header => {...}, claims => {...}, key => $secret, alg => 'HS256'
# | 'HS512' | 'none'): a compact JWS.  header and claims may also be raw
# JSON text.
sub forge {
	my (%o) = @_;
	my $h = $o{header} // { alg => 'HS256', typ => 'JWT' };
	my $c = $o{claims};
	my $input = b64url(ref $h ? $JSON->encode($h) : $h) . '.'
	    . b64url(ref $c ? $JSON->encode($c) : $c);
	my $key = $o{key} // $secret;
	my $alg = $o{alg} // 'HS256';
	my $sig = $alg eq 'HS256' ? b64url(hmac_sha256($input, $key)) :
	    $alg eq 'HS512' ? b64url(hmac_sha512($input, $key)) : '';
	return "$input.$sig";
}

# Claims for user $id, valid now, with %over on top (undef deletes).
sub claims {
	my ($id, %over) = @_;
	my $now = time;
	my %c = (sub => "$id", iat => $now, exp => $now + 600, jti => jti());
	for my $k (keys %over) {
		if (defined $over{$k}) {
			$c{$k} = $over{$k};
		} else {
			delete $c{$k};
		}
	}
	return \%c;
}

sub me_with {
	my ($auth) = @_;
	return $t->request(GET => '/api/auth/me',
	    headers => defined $auth ? { Authorization => $auth } : {});
}

# refused($res, $name): 401 problem+json with a Bearer challenge that says
# error="invalid_token" (a token was sent).
sub refused {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = is_problem($r, 401, $name);
	like($r->{headers}{'www-authenticate'} // '(none)',
	    qr/^Bearer\s+(?:.*[\s,])?error="invalid_token"/,
	    '  with WWW-Authenticate: Bearer error="invalid_token"')
	    or diag(show_response($r));
	return $ok;
}

# no_token($res, $name): 401 problem+json with WWW-Authenticate exactly
# "Bearer" (no token was sent, so no error attribute).
sub no_token {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is_problem($r, 401, $name);
	is($r->{headers}{'www-authenticate'} // '(none)', 'Bearer',
	    '  with WWW-Authenticate exactly "Bearer"') or diag(show_response($r));
}

my $alice = $t->new_user(name => 'Alice Token');
my $bob = $t->new_user(name => 'Bob Token');

###############################################################################
# The controls: a real token, and a forged one, are taken.

my $r = me_with("Bearer $alice->{token}");
is($r->{status}, 200, 'a token from register is taken') or diag(show_response($r));

my $good = forge(claims => claims($alice->{id}));
$t->remember_secret($good);
$r = me_with("Bearer $good");
is($r->{status}, 200, 'a token signed HS256 with the secret and valid claims is taken')
    or diag(show_response($r));
is(($r->{json} // {})->{id}, $alice->{id}, '  and it names the user of its sub');

$r = me_with('Bearer ' . forge(header => { alg => 'HS256', typ => 'JWT',
    kid => 'k1' }, claims => claims($alice->{id})));
is($r->{status}, 200, 'a header with kid is taken') or diag(show_response($r));

$r = me_with('Bearer ' . forge(header => { alg => 'HS256' },
    claims => claims($alice->{id})));
is($r->{status}, 200, 'a header with alg only (no typ) is taken')
    or diag(show_response($r));

$r = me_with('Bearer ' . forge(claims => claims($alice->{id},
    iat => time + 30)));
is($r->{status}, 200, 'iat 30 s in the future is taken (clock leeway 60 s)')
    or diag(show_response($r));

$r = me_with('Bearer ' . forge(claims => claims($alice->{id},
    nbf => time + 30)));
is($r->{status}, 200, 'nbf 30 s in the future is taken (clock leeway 60 s)')
    or diag(show_response($r));

$r = me_with('Bearer ' . forge(claims => claims($alice->{id},
    nbf => time - 10)));
is($r->{status}, 200, 'nbf in the past is taken') or diag(show_response($r));

###############################################################################
# No token.

for my $route (['GET', '/api/auth/me'], ['POST', '/api/auth/logout'],
    ['POST', '/api/auth/logout-all'], ['PUT', '/api/auth/password', 1],
    ['GET', '/api/patients'], ['POST', '/api/patients', 1]) {
	my ($m, $p, $body) = @$route;
	$r = $t->request($m => $p, $body ? (json => {}) : ());
	no_token($r, "$m $p without Authorization is 401");
}

###############################################################################
# Tokens that are refused.

my ($ah, $ac, $as) = split /\./, $alice->{token};

refused(me_with('Basic ' . encode_base64("$alice->{email}:x", '')),
    'Authorization: Basic is 401');
refused(me_with("Token $alice->{token}"),
    'a token under another scheme (Token) is 401');
refused(me_with('Bearer garbage'), 'a garbage token is 401');
refused(me_with("Bearer $ah.$ac"), 'a token of two parts is 401');
refused(me_with("Bearer $ah.$ac.$as.$as"), 'a token of four parts is 401');
refused(me_with("Bearer $ah..$as"), 'a token with an empty payload is 401');
refused(me_with('Bearer ' . ('A' x 5000)), 'a token of 5000 characters is 401');
refused(me_with("Bearer $ah." . ('A' x (4990 - length $ah)) . ".$as"),
    'a three-part token of 5000 characters is 401');
refused(me_with("Bearer $ah.$ac.$as=="), 'a token with base64 padding is 401');
refused(me_with("Bearer $ah.$ac." . substr($as, 0, -1)),
    'a token with a short signature is 401');
{
	my $r2 = me_with('Bearer ');
	is_problem($r2, 401, 'an empty Bearer token is 401');
	like($r2->{headers}{'www-authenticate'} // '(none)', qr/^Bearer\b/,
	    '  with a Bearer challenge');
}

# Tampering.
{
	my $claims = $JSON->decode(b64url_decode($ac));
	$claims->{sub} = "$bob->{id}";
	refused(me_with("Bearer $ah." . b64url($JSON->encode($claims)) . ".$as"),
	    'a token whose payload was changed (sub of another user) is 401');

	$claims = $JSON->decode(b64url_decode($ac));
	$claims->{exp} += 3600;
	refused(me_with("Bearer $ah." . b64url($JSON->encode($claims)) . ".$as"),
	    'a token whose exp was pushed later is 401');

	my $s = $as;
	substr($s, 0, 1) = substr($s, 0, 1) eq 'A' ? 'B' : 'A';
	refused(me_with("Bearer $ah.$ac.$s"),
	    'a token whose signature was changed is 401');

	my $zero = b64url("\0" x 32);
	refused(me_with("Bearer $ah.$ac.$zero"),
	    'a token with an all-zero signature is 401');
}

# Algorithms and headers.
refused(me_with('Bearer ' . forge(header => { alg => 'none', typ => 'JWT' },
    claims => claims($alice->{id}), alg => 'none')),
    'alg none with an empty signature is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'none', typ => 'JWT' },
    claims => claims($alice->{id}))),
    'alg none with an HS256 signature is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'None', typ => 'JWT' },
    claims => claims($alice->{id}), alg => 'none')),
    'alg None (other case) unsigned is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'HS512', typ => 'JWT' },
    claims => claims($alice->{id}), alg => 'HS512')),
    'alg HS512 signed correctly with HS512 under the real secret is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'HS512', typ => 'JWT' },
    claims => claims($alice->{id}))),
    'alg HS512 in the header over an HS256 signature is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'hs256', typ => 'JWT' },
    claims => claims($alice->{id}))),
    'alg hs256 (lower case) is 401');
refused(me_with('Bearer ' . forge(header => { typ => 'JWT' },
    claims => claims($alice->{id}))),
    'a header without alg is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'HS256', typ => 'JWT',
    crit => ['exp'] }, claims => claims($alice->{id}))),
    'a header with crit is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'HS256', typ => 'JWT',
    foo => 'bar' }, claims => claims($alice->{id}))),
    'a header with an unknown key is 401');
refused(me_with('Bearer ' . forge(header => { alg => 'HS256', typ => 'JWT',
    jku => 'https://attacker.example/keys' }, claims => claims($alice->{id}))),
    'a header with jku is 401');
refused(me_with('Bearer ' . forge(header => '{"alg":"HS256","alg":"none"}',
    claims => claims($alice->{id}))),
    'a header with alg twice is 401');
refused(me_with('Bearer ' . forge(header => '["HS256"]',
    claims => claims($alice->{id}))),
    'a header that is not a JSON object is 401');
refused(me_with('Bearer ' . forge(claims => '{"sub":"1",')),
    'a payload that is not JSON is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id}),
    key => 'another secret that is at least thirty-two bytes long')),
    'a token signed with another secret is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id}), key => '')),
    'a token signed with an empty key is 401');

# Claims.
my $now = time;
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    iat => $now - 7200, exp => $now - 120))),
    'an expired token (exp 120 s in the past) is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    exp => undef))),
    'a token without exp is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    exp => "" . ($now + 600)))),
    'a token whose exp is a string is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    iat => $now + 120, exp => $now + 720))),
    'a token not yet valid (iat 120 s in the future) is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    nbf => $now + 120))),
    'a token not yet valid (nbf 120 s in the future) is 401');
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    sub => undef))),
    'a token without sub is 401');
{
	my $max = $t->psql('SELECT coalesce(max(id), 0) FROM users');
	refused(me_with('Bearer ' . forge(claims => claims($max + 1000000))),
	    'a token whose sub is a user that does not exist is 401');
}
refused(me_with('Bearer ' . forge(claims => claims($alice->{id},
    sub => $alice->{id} + 0))),
    'a token whose sub is a number, not a string, is 401');

# A deleted user.
{
	my $gone = $t->new_user(name => 'Deleted User');
	my $forged = forge(claims => claims($gone->{id}));
	$r = me_with("Bearer $gone->{token}");
	is($r->{status}, 200, 'the token of a user about to be deleted works')
	    or diag(show_response($r));
	die "bad id\n" unless $gone->{id} =~ /^\d+$/;
	$t->psql("DELETE FROM users WHERE id = $gone->{id}");
	refused(me_with("Bearer $gone->{token}"), 'the token of a deleted user is 401');
	refused(me_with("Bearer $forged"),
	    'a freshly signed token for a deleted user is 401');
	refused($t->request(POST => '/api/auth/logout', token => $gone->{token}),
	    'logout with the token of a deleted user is 401');
}

###############################################################################
# Only the Authorization header is looked at.

{
	my $tok = $bob->{token};
	no_token($t->request(GET => "/api/auth/me?token=$tok"),
	    'a token in the query string (?token=) is not looked at: 401');
	no_token($t->request(GET => "/api/auth/me?access_token=$tok"),
	    'a token in the query string (?access_token=) is not looked at: 401');
	no_token($t->request(PUT => '/api/auth/password', json => {
	    token => $tok, access_token => $tok,
	    currentPassword => $bob->{password}, newPassword => 'a new password 1' }),
	    'a token in a JSON body is not looked at: 401');
	no_token($t->request(POST => '/api/auth/logout',
	    body => "access_token=$tok",
	    content_type => 'application/x-www-form-urlencoded'),
	    'a token in a form body is not looked at: 401');
	no_token($t->request(GET => '/api/auth/me',
	    headers => { Cookie => "token=$tok; access_token=$tok" }),
	    'a token in a cookie is not looked at: 401');
	$r = me_with("Bearer $tok");
	is($r->{status}, 200, 'those requests neither logged out nor changed anything')
	    or diag(show_response($r));
	$r = $t->request(POST => '/api/auth/login', json => {
	    email => $bob->{email}, password => $bob->{password} });
	is($r->{status}, 200, '  and the password is unchanged')
	    or diag(show_response($r));
	$t->remember_secret($r->{json}{token}) if ref $r->{json} eq 'HASH' &&
	    defined $r->{json}{token};
}

done_testing();
