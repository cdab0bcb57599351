#!/usr/bin/perl
# Authentication (API.md "Authentication" and "General rules"): register
# and its validation at both sides of every boundary, login, the current
# user, logout, logout-all and password change.
#
# On the shared stack every request comes from 127.0.0.1, and the login
# throttle counts the distinct emails that address fails on: this file keeps
# its failed logins to a handful of emails so it never trips that limit for
# the other test files.

use strict;
use warnings;

use Encode qw(encode_utf8);
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;

my $tag = sprintf('%d-%d', $$, time);
my $n = 0;

###############################################################################
# Helpers (not tests: they die on failure or only compute).

# A fresh, unique, lower-case email.
sub fresh_email {
	my ($what) = @_;
	$n++;
	return lc "t010-$tag-$n-" . ($what // 'u') . '@example.org';
}

# A strong-ish password, remembered so the log checks look for it.
sub fresh_password {
	my $pw = "pw t010 $tag " . ++$n . ' ' . join('', map {
	    ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[rand 62] } 1 .. 12);
	$t->remember_secret($pw);
	return $pw;
}

sub register {
	my ($body, %o) = @_;
	my $r = $t->request(POST => '/api/auth/register', json => $body, %o);
	$t->remember_secret($r->{json}{token})
	    if ref $r->{json} eq 'HASH' && defined $r->{json}{token};
	return $r;
}

# A valid registration body, with %over on top (undef deletes a field).
sub reg_body {
	my (%over) = @_;
	my %b = (name => 'Test User', email => fresh_email(),
	    password => fresh_password());
	for my $k (keys %over) {
		if (defined $over{$k}) {
			$b{$k} = $over{$k};
		} else {
			delete $b{$k};
		}
	}
	return \%b;
}

sub login {
	my ($email, $password) = @_;
	my $r = $t->request(POST => '/api/auth/login',
	    json => { email => $email, password => $password });
	$t->remember_secret($r->{json}{token})
	    if ref $r->{json} eq 'HASH' && defined $r->{json}{token};
	return $r;
}

sub me {
	my ($token) = @_;
	return $t->request(GET => '/api/auth/me', token => $token);
}

# Registers a user; dies unless 201.  Returns { id, name, email, password,
# token, user (as the API sent it) }.
sub make_user {
	my $b = reg_body(@_);
	my $r = register($b);
	die "register: $r->{status} $r->{body}\n" unless $r->{status} == 201;
	return { %$b, id => $r->{json}{user}{id}, token => $r->{json}{token},
	    user => $r->{json}{user} };
}

# Logs in; dies unless 200.  Returns the token.
sub login_token {
	my ($email, $password) = @_;
	my $r = login($email, $password);
	die "login $email: $r->{status} $r->{body}\n" unless $r->{status} == 200;
	return $r->{json}{token};
}

# The sorted field names of a 400's errors, joined by ','.
sub error_fields {
	my ($r) = @_;
	my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : undef;
	return '(no errors array)' unless ref $e eq 'ARRAY';
	return join ',', sort map { ref $_ eq 'HASH' ? $_->{field} // '(null)'
	    : '(not an object)' } @$e;
}

# Every key anywhere in a decoded JSON value.
sub all_keys {
	my ($v) = @_;
	return map { ($_, all_keys($v->{$_})) } keys %$v if ref $v eq 'HASH';
	return map { all_keys($_) } @$v if ref $v eq 'ARRAY';
	return ();
}

sub b64url_decode {
	my ($s) = @_;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return decode_base64($s);
}

# raw_request($text): sends $text as is to the stack's nginx, for what
# HTTP::Tiny cannot send (a body without Content-Type).  Returns { status,
# headers (lower-cased names), body, json }.
sub raw_request {
	my ($text) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $t->port, Proto => 'tcp', Timeout => 10)
	    or die "connect: $!\n";
	print $s $text;
	local $/;
	my $resp = <$s> // '';
	close($s);
	my ($head, $body) = split /\r\n\r\n/, $resp, 2;
	my ($status_line, @lines) = split /\r\n/, $head // '';
	my ($status) = ($status_line // '') =~ m{^HTTP/\S+ (\d{3})};
	my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @lines;
	my %r = (status => $status // 0, headers => \%h, body => $body // '');
	$r{json} = eval { $JSON->decode($r{body}) }
	    if ($h{'content-type'} // '') =~ m{^application/(problem\+)?json}i;
	return \%r;
}

# Sleeps until just after the next second begins, unless it just began.
sub start_of_second {
	my $f = time - int(time);
	sleep(1.01 - $f) if $f > 0.2;
}

my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

# is_user($user, $name): the exact shape of a User.
sub is_user {
	my ($u, $name) = @_;
	my @bad;
	if (ref $u ne 'HASH') {
		push @bad, 'not an object';
	} else {
		my $keys = join ',', sort keys %$u;
		push @bad, "keys are $keys" unless $keys eq
		    'createdAt,email,id,name,updatedAt';
		push @bad, 'id is not a positive integer'
		    unless ($u->{id} // '') =~ /^[1-9]\d*$/;
		for my $k (qw(createdAt updatedAt)) {
			push @bad, "$k is not RFC 3339 UTC with milliseconds"
			    unless ($u->{$k} // '') =~ $TIME_RE;
		}
	}
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . explain($u));
}

# is_token_reply($res, $status, $what): the register/login shape, exactly.
sub is_token_reply {
	my ($r, $status, $what) = @_;
	is_json_response($r, $status, "$what is $status JSON");
	my $j = ref $r->{json} eq 'HASH' ? $r->{json} : {};
	is(join(',', sort keys %$j), 'expiresIn,token,tokenType,user',
	    "$what has exactly user, token, tokenType and expiresIn");
	is_user($j->{user}, "$what has a user of the User shape");
	is($j->{tokenType}, 'Bearer', "$what says tokenType Bearer");
	ok(defined $j->{expiresIn} && !ref $j->{expiresIn} &&
	    $r->{body} =~ /"expiresIn"\s*:\s*3600\b/,
	    "$what says expiresIn 3600 (a number)") or diag($r->{body});
	like($j->{token} // '', qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
	    "$what carries a token of three base64url parts");
	ok($r->{body} =~ /"id"\s*:\s*\d/, "$what sends the user id as a JSON number")
	    or diag($r->{body});
}

###############################################################################
# Register: the success shape.

my $email0 = "Mixed.Case-$tag\@Example.ORG";
my $pw0 = fresh_password();
my $r = register({ name => 'Ada Lovelace', email => $email0, password => $pw0 });
is_token_reply($r, 201, 'register');
my $reg = $r->{json};
my $u0 = $reg->{user} // {};
like($r->{headers}{location} // '', qr{^(?:https?://[^/]+)?/api/\S+$},
    'register carries a Location header pointing into /api/');
is($u0->{name}, 'Ada Lovelace', 'register returns the name sent');
is($u0->{email}, lc $email0, 'register returns the email lower-cased');
is($u0->{createdAt}, $u0->{updatedAt},
    'a new user has updatedAt equal to createdAt');
has_security_headers($r, 'register carries the security headers');

{
	my @bad = grep { /pass|hash|salt/i } all_keys($reg);
	ok(!@bad, 'the register body has no password or hash field')
	    or diag("keys: @bad");
	ok(index($r->{body}, $pw0) < 0, 'the register body does not hold the password');
	ok(index($r->{body}, '$2') < 0, 'the register body holds no bcrypt hash');
}

{
	my $id = $u0->{id} // 0;
	$id = 0 unless $id =~ /^\d+$/;
	my $row = $t->psql("SELECT email || '|' || password_hash FROM users WHERE id = $id");
	my ($db_email, $hash) = split /\|/, $row, 2;
	is($db_email, lc $email0, 'the email is stored lower-cased');
	like($hash // '', qr/^\$2b\$\d\d\$[.\/A-Za-z0-9]{53}$/,
	    'the password is stored as a $2b$ bcrypt hash');
	ok(defined $hash && index($r->{body}, $hash) < 0,
	    'the stored hash does not appear in the register body');
}

# The token's header and claims as API.md describes them.
{
	my ($h, $c) = split /\./, $reg->{token} // '';
	my $hdr = eval { $JSON->decode(b64url_decode($h // '')) };
	my $cl = eval { $JSON->decode(b64url_decode($c // '')) };
	is_deeply($hdr, { alg => 'HS256', typ => 'JWT' },
	    'the token header is {"alg":"HS256","typ":"JWT"}');
	ok(ref $cl eq 'HASH' && defined $cl->{sub} && $cl->{sub} eq ($u0->{id} // '')
	    && b64url_decode($c) =~ /"sub"\s*:\s*"/,
	    'the token sub is the user id as a string') or diag(explain($cl));
	ok(ref $cl eq 'HASH' && ($cl->{exp} // 0) - ($cl->{iat} // 0) == 3600,
	    'the token expires an hour after it was issued') or diag(explain($cl));
	ok(ref $cl eq 'HASH' && abs(($cl->{iat} // 0) - time) < 60,
	    'the token iat is now');
	ok(ref $cl eq 'HASH' && defined $cl->{jti} && length $cl->{jti},
	    'the token has a jti');
}

$r = me($reg->{token});
is_json_response($r, 200, 'GET /api/auth/me with the register token is 200');
is_deeply($r->{json}, $u0, 'GET /api/auth/me returns the registered user')
    or diag(show_response($r));

# Duplicates.
$r = register(reg_body(email => uc $email0));
is_problem($r, 409, 'duplicate email in another case is 409');
$r = register(reg_body(email => lc $email0));
is_problem($r, 409, 'duplicate email in the same case is 409');
ok(!exists(($r->{json} // {})->{token}), 'a 409 carries no token');

###############################################################################
# Register: validation, at both sides of every boundary.

my $e_acute = "\x{e9}";		# 2 bytes in UTF-8
my $euro = "\x{20ac}";		# 3 bytes
my $smile = "\x{1f600}";	# 4 bytes

# The local part must fit in 64 characters and each label in 63, so the
# 254-character address is 64 + 1 + 189.
my $local64 = substr("e-$tag-" . ('x' x 64), 0, 64);
my $email254 = "$local64\@" . ('a' x 63) . '.' . ('b' x 63) . '.' . ('c' x 57) . '.org';
my $email255 = "$local64\@" . ('a' x 63) . '.' . ('b' x 63) . '.' . ('c' x 58) . '.org';
die "email lengths are wrong\n"
    unless length $email254 == 254 && length $email255 == 255;

my $pw72 = 'p' x 72;
my $pw72mb = ("$e_acute$euro" x 14) . 'ab';	# 14 * 5 + 2 = 72 bytes
die "pw72mb is not 72 bytes\n" unless length(encode_utf8($pw72mb)) == 72;

# [ overrides, expected status, expected error fields, name ]
my @cases = (
	[ { name => '' }, 400, 'name', 'name of 0 characters is 400' ],
	[ { name => 'A' }, 201, '', 'name of 1 character is 201' ],
	[ { name => 'n' x 100 }, 201, '', 'name of 100 characters is 201' ],
	[ { name => 'n' x 101 }, 400, 'name', 'name of 101 characters is 400' ],
	[ { name => $e_acute x 100 }, 201, '',
	    'name of 100 two-byte characters is 201 (characters, not bytes)' ],
	[ { name => $euro x 100 }, 201, '',
	    'name of 100 three-byte characters is 201' ],
	[ { name => $smile x 100 }, 201, '',
	    'name of 100 four-byte characters is 201' ],
	[ { name => $e_acute x 101 }, 400, 'name',
	    'name of 101 two-byte characters is 400' ],
	[ { name => '   ' }, 400, 'name', 'name of only spaces is 400 (trimmed to 0)' ],
	[ { name => "  \t" . ('n' x 100) . "  " }, 201, '',
	    'name of 100 characters with spaces around is 201 (trimmed first)' ],
	[ { name => undef }, 400, 'name', 'name missing is 400' ],
	[ { name => 42 }, 400, 'name', 'name that is a number is 400' ],
	[ { name => JSON::PP::null }, 400, 'name', 'name null is 400' ],

	[ { email => $email254 }, 201, '', 'email of 254 characters is 201' ],
	[ { email => $email255 }, 400, 'email', 'email of 255 characters is 400' ],
	[ { email => "first.last+tag-$tag\@mail.example.co.uk" }, 201, '',
	    'email with dots, plus and subdomains is 201' ],
	[ { email => "x_y-$tag\@example.museum" }, 201, '',
	    'email with a long top-level domain is 201' ],
	[ { email => "  spaced-$tag\@example.org  " }, 201, '',
	    'email with spaces around is 201 (trimmed)' ],
	[ { email => 'plainaddress' }, 400, 'email', 'email without @ is 400' ],
	[ { email => '@example.org' }, 400, 'email', 'email without local part is 400' ],
	[ { email => "nodomain-$tag\@" }, 400, 'email', 'email without domain is 400' ],
	[ { email => "notld-$tag\@example" }, 400, 'email',
	    'email without a top-level domain is 400' ],
	[ { email => "two\@at\@example.org" }, 400, 'email', 'email with two @ is 400' ],
	[ { email => "a b-$tag\@example.org" }, 400, 'email',
	    'email with a space inside is 400' ],
	[ { email => "dots-$tag\@example..org" }, 400, 'email',
	    'email with an empty domain label is 400' ],
	[ { email => '' }, 400, 'email', 'empty email is 400' ],
	[ { email => undef }, 400, 'email', 'email missing is 400' ],
	[ { email => 12345 }, 400, 'email', 'email that is a number is 400' ],

	[ { password => 'abcdefg' }, 400, 'password', 'password of 7 characters is 400' ],
	[ { password => 'abcdefgh' }, 201, '', 'password of 8 characters is 201' ],
	[ { password => $pw72 }, 201, '', 'password of 72 bytes is 201' ],
	[ { password => $pw72 . 'q' }, 400, 'password',
	    'password of 73 bytes is 400 (never truncated)' ],
	[ { password => $euro x 24 }, 201, '',
	    'password of 24 three-byte characters (72 bytes) is 201' ],
	[ { password => ($euro x 24) . 'a' }, 400, 'password',
	    'password of 25 characters but 73 bytes is 400 (bytes count)' ],
	[ { password => $pw72mb }, 201, '',
	    'password of 30 mixed multi-byte characters (72 bytes) is 201' ],
	[ { password => $pw72mb . 'c' }, 400, 'password',
	    'password of 31 mixed multi-byte characters (73 bytes) is 400' ],
	[ { password => $smile x 18 }, 201, '',
	    'password of 18 four-byte characters (72 bytes) is 201' ],
	[ { password => $euro x 7 }, 400, 'password',
	    'password of 7 characters (21 bytes) is 400 (characters count)' ],
	[ { password => $euro x 8 }, 201, '', 'password of 8 three-byte characters is 201' ],
	[ { password => "abc\x01defgh" }, 400, 'password',
	    'password with a control character is 400' ],
	[ { password => undef }, 400, 'password', 'password missing is 400' ],
	[ { password => 12345678 }, 400, 'password', 'password that is a number is 400' ],

	[ { name => '', email => 'nope', password => 'short' }, 400,
	    'email,name,password', 'every bad field is reported at once' ],
	[ { name => undef, email => undef, password => undef }, 400,
	    'email,name,password', 'an empty object names every required field' ],
	[ { name => '', role => 'admin' }, 400, 'name,role',
	    'a bad field and an unknown one are reported together' ],
);

for my $c (@cases) {
	my ($over, $status, $fields, $name) = @$c;
	my $b = reg_body(%$over);
	$r = register($b);
	if ($status == 201) {
		is($r->{status}, 201, $name) or diag(show_response($r));
	} else {
		is_problem($r, $status, $name);
		is(error_fields($r), $fields, "  and errors name exactly: $fields")
		    or diag(show_response($r));
	}
}

# What the accepted values became.
{
	my $b = reg_body(name => "  \t Trim Me \n ");
	$r = register($b);
	is($r->{json}{user}{name}, 'Trim Me', 'name is stored trimmed')
	    or diag(show_response($r));
	my $email = "  Spaced-$tag-2\@Example.org ";
	$r = register(reg_body(email => $email));
	is($r->{json}{user}{email}, lc("Spaced-$tag-2\@Example.org"),
	    'email is stored trimmed and lower-cased') or diag(show_response($r));
	$b = reg_body(name => $smile x 100);
	$r = register($b);
	is($r->{json}{user}{name}, $smile x 100,
	    'a name of four-byte characters comes back intact')
	    or diag(show_response($r));
}

# Passwords at the byte limit and with spaces work for login afterwards.
for my $case ([$pw72mb, 'a password of 72 bytes of multi-byte characters'],
    ['correct horse battery staple', 'a password with spaces inside'],
    [' lead and trail ', 'a password with spaces at both ends']) {
	my ($pw, $what) = @$case;
	my $b = reg_body(password => $pw);
	$t->remember_secret(encode_utf8($pw)) if length $pw > 20;
	$r = register($b);
	is($r->{status}, 201, "register with $what is 201")
	    or diag(show_response($r));
	$r = login($b->{email}, $pw);
	is($r->{status}, 200, "  and login with exactly $what is 200")
	    or diag(show_response($r));
}

# Unknown and read-only fields.
{
	my $b = reg_body(role => 'admin');
	$r = register($b);
	is_problem($r, 400, 'unknown field is 400');
	is(error_fields($r), 'role', 'the 400 names the unknown field');
	delete $b->{role};
	$r = register($b);
	is($r->{status}, 201, 'nothing was created by the 400: the same email registers')
	    or diag(show_response($r));

	$b = reg_body(id => 999999999, createdAt => '2000-01-01T00:00:00.000Z',
	    updatedAt => '2000-01-01T00:00:00.000Z', userId => 1);
	$r = register($b);
	is($r->{status}, 201, 'read-only fields id, createdAt, updatedAt and userId are ignored')
	    or diag(show_response($r));
	isnt($r->{json}{user}{id}, 999999999, 'the id sent is not the id given');
	unlike($r->{json}{user}{createdAt} // '2000', qr/^2000/,
	    'the createdAt sent is not the createdAt stored');
}

# Content types.
{
	my $b = reg_body();
	$r = $t->request(POST => '/api/auth/register', body => $JSON->encode($b),
	    content_type => 'text/plain');
	is_problem($r, 415, 'register with Content-Type text/plain is 415');

	my $body = $JSON->encode($b);
	$r = raw_request("POST /api/auth/register HTTP/1.1\r\nHost: localhost\r\n"
	    . "Connection: close\r\nContent-Length: " . length($body)
	    . "\r\n\r\n$body");
	is_problem($r, 415, 'register without Content-Type is 415');

	$r = $t->request(POST => '/api/auth/register', body => $body,
	    content_type => 'application/x-www-form-urlencoded');
	is_problem($r, 415, 'register with a form Content-Type is 415');

	$r = $t->request(POST => '/api/auth/register', body => $body,
	    content_type => 'application/json; charset=utf-8');
	is($r->{status}, 201, 'register with application/json; charset=utf-8 is 201')
	    or diag(show_response($r));
}

# Bodies that are not a JSON object in UTF-8.
{
	my $email = fresh_email();
	my %bad = (
		'body not JSON is 400' => '{"name": "x", "email": ',
		'empty body is 400' => '',
		'JSON array is 400' => '[{"name":"x"}]',
		'JSON string is 400' => '"name"',
		'JSON null is 400' => 'null',
		'invalid UTF-8 is 400' => qq({"name":"bad \xff\xfe byte","email":"$email","password":"abcdefghij"}),
		'an overlong UTF-8 encoding is 400' => qq({"name":"slash \xc0\xaf","email":"$email","password":"abcdefghij"}),
		'trailing garbage after the object is 400' => qq({"name":"x","email":"$email","password":"abcdefghij"} x),
	);
	# Sent as they are, past Prism (direct), which would parse them.
	for my $name (sort keys %bad) {
		$r = $t->request(POST => '/api/auth/register', body => $bad{$name},
		    content_type => 'application/json', direct => 1);
		is_problem($r, 400, $name);
	}

	$r = register(reg_body(name => "nul\x{0}inside"));
	is_problem($r, 400, 'NUL (\u0000) in name is 400');
	is(error_fields($r), 'name', '  and the 400 names the field');
	$r = register(reg_body(password => "abcd\x{0}efghij"));
	is_problem($r, 400, 'NUL (\u0000) in password is 400');

	my $big = $JSON->encode(reg_body());
	$big =~ s/\}$/,"pad":"/;
	$big .= 'x' x (65537 - length($big) - 2) . '"}';
	die "the big body is not 65537 bytes\n" unless length $big == 65537;
	$r = $t->request(POST => '/api/auth/register', body => $big,
	    content_type => 'application/json');
	is_problem($r, 413, 'a register body of 65537 bytes is 413 problem');
	has_security_headers($r, '  and the 413 carries the security headers');
}

###############################################################################
# Login.

my $lu = make_user(name => 'Login User');
$r = login($lu->{email}, $lu->{password});
is_token_reply($r, 200, 'login');
is_deeply({ map { $_ => ($r->{json}{user} // {})->{$_} } qw(id name email createdAt) },
    { map { $_ => $lu->{user}{$_} } qw(id name email createdAt) },
    'login returns the registered user');
isnt($r->{json}{token}, $lu->{token}, 'login issues a new token');
{
	my @bad = grep { /pass|hash|salt/i } all_keys($r->{json});
	ok(!@bad && index($r->{body}, $lu->{password}) < 0 &&
	    index($r->{body}, '$2') < 0,
	    'the login body holds no password or hash') or diag($r->{body});
}
my $tok = $r->{json}{token};
$r = me($tok);
is_json_response($r, 200, 'the login token works on GET /api/auth/me');
is_deeply($r->{json}, $lu->{user}, 'GET /api/auth/me returns the user, as registered')
    or diag(show_response($r));

$r = login(uc $lu->{email}, $lu->{password});
is($r->{status}, 200, 'login email is case-insensitive') or diag(show_response($r));
is(($r->{json}{user} // {})->{id}, $lu->{id}, '  and finds the same user');

my $wrong = login($lu->{email}, $lu->{password} . 'x');
my $unknown = login(fresh_email('nobody'), $lu->{password});
is_problem($wrong, 401, 'login with a wrong password is 401');
is_problem($unknown, 401, 'login with an unknown email is 401');
is_deeply($wrong->{json}, $unknown->{json},
    'wrong password and unknown email get the identical body')
    or diag(show_response($wrong) . show_response($unknown));
for my $case ([$wrong, 'a wrong password'], [$unknown, 'an unknown email']) {
	my ($x, $what) = @$case;
	ok(!exists(($x->{json} // {})->{token}) &&
	    $x->{body} !~ /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\./,
	    "the 401 for $what carries no token") or diag($x->{body});
}

###############################################################################
# Logout.

{
	my $u = make_user(name => 'Logout User');
	my $a = $u->{token};
	my $b = login_token($u->{email}, $u->{password});
	$r = $t->request(POST => '/api/auth/logout', token => $a);
	is($r->{status}, 204, 'logout is 204') or diag(show_response($r));
	is($r->{body}, '', 'logout has an empty body');
	$r = me($a);
	is_problem($r, 401, 'after logout the same token is 401');
	like($r->{headers}{'www-authenticate'} // '',
	    qr/^Bearer\b.*\berror="invalid_token"/,
	    '  with WWW-Authenticate: Bearer error="invalid_token"')
	    or diag(show_response($r));
	$r = $t->request(POST => '/api/auth/logout', token => $a);
	is_problem($r, 401, 'logout again with the revoked token is 401');
	$r = me($b);
	is($r->{status}, 200, 'another token of the same user still works after logout')
	    or diag(show_response($r));
	$r = $t->request(POST => '/api/auth/logout');
	is_problem($r, 401, 'logout without a token is 401');
}

###############################################################################
# Logout-all.

{
	my $u = make_user(name => 'Logout All User');
	my @tokens = ($u->{token}, login_token($u->{email}, $u->{password}),
	    login_token($u->{email}, $u->{password}));
	my $other = make_user(name => 'Bystander');
	$r = $t->request(POST => '/api/auth/logout-all', token => $tokens[1]);
	is($r->{status}, 204, 'logout-all is 204') or diag(show_response($r));
	is($r->{body}, '', 'logout-all has an empty body');
	my $i = 0;
	for my $tk (@tokens) {
		$i++;
		$r = me($tk);
		is_problem($r, 401, "after logout-all earlier token $i of 3 is refused");
		like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
		    '  with error="invalid_token"');
	}
	my $fresh = login_token($u->{email}, $u->{password});
	$r = me($fresh);
	is($r->{status}, 200, 'a token from a login right after logout-all works')
	    or diag(show_response($r));
	$r = me($other->{token});
	is($r->{status}, 200, "logout-all leaves another user's token alone")
	    or diag(show_response($r));
}

# Revocation works by the second (tokens issued up to the second of a
# logout-all are refused, and a token issued in that same second is dated one
# second later): a second logout-all within the same second must still
# refuse the tokens issued before it.
{
	my $u = make_user(name => 'Same Second User');
	my ($t1, $r2, $same);
	for (1 .. 3) {
		start_of_second();
		my $s0 = int time;
		$t->request(POST => '/api/auth/logout-all', token => $u->{token});
		$t1 = login_token($u->{email}, $u->{password});
		$r2 = $t->request(POST => '/api/auth/logout-all', token => $t1);
		$same = int(time) == $s0;
		last if $same;
		$u->{token} = login_token($u->{email}, $u->{password});
	}
	is($r2->{status}, 204, 'logout-all with a token issued just after a logout-all is 204')
	    or diag(show_response($r2));
	$r = me($t1);
	is_problem($r, 401, 'a token issued right after logout-all is refused by '
	    . 'the next logout-all in the same second');
	diag('could not fit the steps into one second') unless $same;
}

###############################################################################
# Password change.

{
	my $u = make_user(name => 'Password User');
	my $a = $u->{token};
	my $b = login_token($u->{email}, $u->{password});
	my $c = login_token($u->{email}, $u->{password});
	my $new = fresh_password();

	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    json => { currentPassword => $u->{password}, newPassword => 'seven77' });
	is_problem($r, 400, 'newPassword of 7 characters is 400');
	is(error_fields($r), 'newPassword', '  and the 400 names newPassword');
	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    json => { currentPassword => $u->{password}, newPassword => 'n' x 73 });
	is_problem($r, 400, 'newPassword of 73 bytes is 400');
	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    json => { currentPassword => $u->{password}, newPassword => $new,
	    extra => 1 });
	is_problem($r, 400, 'password change with an unknown field is 400');
	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    body => $JSON->encode({ currentPassword => $u->{password},
	    newPassword => $new }), content_type => 'text/plain');
	is_problem($r, 415, 'password change as text/plain is 415');
	$r = $t->request(PUT => '/api/auth/password',
	    json => { currentPassword => $u->{password}, newPassword => $new });
	is_problem($r, 401, 'password change without a token is 401');

	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    json => { currentPassword => $u->{password} . 'x', newPassword => $new });
	is_problem($r, 401, 'wrong currentPassword is 401');
	$r = me($a);
	is($r->{status}, 200, 'a refused password change revokes nothing')
	    or diag(show_response($r));

	$r = $t->request(PUT => '/api/auth/password', token => $b,
	    json => { currentPassword => $u->{password}, newPassword => $new });
	is($r->{status}, 204, 'password change with the right currentPassword is 204')
	    or diag(show_response($r));
	is($r->{body}, '', 'password change has an empty body');
	$r = me($b);
	is($r->{status}, 200, 'the token that changed the password still works')
	    or diag(show_response($r));
	for my $case ([$a, 'the register token'], [$c, 'another login token']) {
		$r = me($case->[0]);
		is_problem($r, 401, "after a password change $case->[1] is refused");
		like($r->{headers}{'www-authenticate'} // '', qr/error="invalid_token"/,
		    '  with error="invalid_token"');
	}
	$r = login($u->{email}, $u->{password});
	is_problem($r, 401, 'login with the old password is 401');
	$r = login($u->{email}, $new);
	is($r->{status}, 200, 'login with the new password is 200')
	    or diag(show_response($r));
	$r = me($r->{json}{token} // 'none');
	is($r->{status}, 200, '  and its token works') or diag(show_response($r));
	my $row = $t->psql('SELECT password_hash FROM users WHERE id = '
	    . ($u->{id} =~ /^\d+$/ ? $u->{id} : 0));
	like($row, qr/^\$2b\$/, 'the new password is stored as bcrypt too');
}

# The same by the second for a password change: a token issued right
# after one is "another token" for the next change in the same second.
{
	my $u = make_user(name => 'Same Second Changer');
	my ($c, $r2, $same);
	my $pw = $u->{password};
	for (1 .. 3) {
		start_of_second();
		my $s0 = int time;
		my $a = $u->{token};
		my $new = fresh_password();
		$t->request(PUT => '/api/auth/password', token => $a,
		    json => { currentPassword => $pw, newPassword => $new });
		$pw = $new;
		$c = login_token($u->{email}, $pw);
		$new = fresh_password();
		$r2 = $t->request(PUT => '/api/auth/password', token => $a,
		    json => { currentPassword => $pw, newPassword => $new });
		$pw = $new;
		$same = int(time) == $s0;
		last if $same;
		$u->{token} = login_token($u->{email}, $pw);
	}
	is($r2->{status}, 204, 'a second password change in the same second is 204')
	    or diag(show_response($r2));
	$r = me($c);
	is_problem($r, 401, 'a token issued right after a password change is refused '
	    . 'by the next password change in the same second');
	diag('could not fit the steps into one second') unless $same;
}

done_testing();
