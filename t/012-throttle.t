#!/usr/bin/perl
# Login throttling (API.md "Authentication", NIST SP 800-63B 5.2.2): the
# pair (email, client address), the address as a whole, and the account
# from all addresses together, each with its own window; a wrong
# currentPassword on a password change counts as a failed login.
#
# A private stack with small limits and windows of a few seconds, so that
# waiting for a window to pass is cheap.  Requests are sent from several
# loopback addresses (127.0.0.1, .2, ...; nginx passes each as REMOTE_ADDR),
# and failures from far-away addresses are inserted into login_failures.
# Each part starts from an empty login_failures table, so the windows of
# one part never reach into the next.

use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(sleep time);
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my %LIMIT = (
	LOGIN_WINDOW			=> 4,
	LOGIN_ACCOUNT_WINDOW		=> 6,
	LOGIN_MAX_FAILURES		=> 5,
	LOGIN_MAX_EMAILS_PER_ADDRESS	=> 6,
	LOGIN_MAX_ACCOUNT_FAILURES	=> 8,
);
my $t = Medrec::Stack->new(env => { %LIMIT });
my $JSON = JSON::PP->new->utf8->canonical;

###############################################################################
# Helpers (not tests).

# request_from($address, same arguments as Medrec::Stack::request): the
# request sent from a given loopback address, which nginx passes on as
# REMOTE_ADDR.  (The harness's request() has no way to choose it.)
sub request_from {
	my ($addr, $method, $path, %o) = @_;
	my %h = %{ $o{headers} // {} };
	my $body = $o{body};
	if (exists $o{json}) {
		$body = $JSON->encode($o{json});
		$h{'Content-Type'} //= 'application/json';
	}
	$h{Authorization} = "Bearer $o{token}" if defined $o{token};
	my $http = HTTP::Tiny->new(keep_alive => 0, timeout => 30,
	    local_address => $addr, agent => 'medrec-tests/1');
	local $SIG{PIPE} = 'IGNORE';
	my $r = $http->request($method, $t->url($path), {
	    headers => \%h, defined $body ? (content => $body) : () });
	my %res = (status => $r->{status}, reason => $r->{reason},
	    headers => $r->{headers} // {}, body => $r->{content} // '');
	if (($res{headers}{'content-type'} // '') =~
	    m{^application/(?:problem\+)?json\b}i && length $res{body}) {
		$res{json} = eval { $JSON->decode($res{body}) };
	}
	$t->remember_secret($res{json}{token})
	    if ref $res{json} eq 'HASH' && defined $res{json}{token};
	return \%res;
}

sub login_from {
	my ($addr, $email, $password, %o) = @_;
	return request_from($addr, POST => '/api/auth/login',
	    json => { email => $email, password => $password }, %o);
}

sub reset_failures {
	$t->psql('DELETE FROM login_failures');
}

# Failures from other addresses, $ago seconds ago.
sub insert_failures {
	my ($email, $ago, @addrs) = @_;
	die "bad email\n" unless $email =~ /^[a-z0-9.\@-]+$/;
	$t->psql(join '', map { die "bad address\n" unless /^[\d.]+$/;
	    "INSERT INTO login_failures (email, address, at) VALUES "
	    . "('$email', '$_', now() - interval '$ago seconds');\n" } @addrs);
}

my $n = 0;
sub user {
	my ($name) = @_;
	$n++;
	return $t->new_user(name => $name,
	    email => "t012-$$-$n-" . lc($name =~ s/\W+/-/gr) . '@example.org');
}

# is_throttled($res, $max, $name): 429 problem+json, no token, and a
# Retry-After of whole seconds from 1 to $max.  Returns its Retry-After.
sub is_throttled {
	my ($r, $max, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ra = $r->{headers}{'retry-after'};
	my $ok = is_problem($r, 429, $name);
	ok(defined $ra && !ref $ra && $ra =~ /^\d+$/ && $ra >= 1 && $ra <= $max,
	    "  with Retry-After, whole seconds from 1 to $max")
	    or diag('Retry-After: ' . ($ra // '(none)'));
	ok(!exists(($r->{json} // {})->{token}), '  and no token');
	return defined $ra && $ra =~ /^\d+$/ ? $ra : $max;
}

sub is_status {
	my ($r, $status, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	is($r->{status}, $status, $name) or diag(show_response($r));
}

###############################################################################
# The pair: one email from one address.

reset_failures();
my $a = user('Pair User');
my $b = user('Pair Other');
for my $i (1 .. 5) {
	is_status(login_from('127.0.0.1', $a->{email}, "wrong password $i"), 401,
	    "failed login $i of 5 for one email from one address is 401");
}
my $r = login_from('127.0.0.1', $a->{email}, $a->{password});
my $t429 = time;
my $ra = is_throttled($r, $LIMIT{LOGIN_WINDOW},
    'after 5 failed logins the 6th is 429, even with the right password');
has_security_headers($r, 'the 429 carries the security headers');
is_throttled(login_from('127.0.0.1', $a->{email}, 'wrong again'),
    $LIMIT{LOGIN_WINDOW}, 'a wrong password while limited is 429 too, not 401');
is_throttled(login_from('127.0.0.1', uc $a->{email}, $a->{password}),
    $LIMIT{LOGIN_WINDOW}, 'the same email in upper case is limited too');
is_throttled(login_from('127.0.0.1', $a->{email}, $a->{password},
    headers => { 'X-Forwarded-For' => '203.0.113.7',
    'X-Real-IP' => '203.0.113.7', Forwarded => 'for=203.0.113.7' }),
    $LIMIT{LOGIN_WINDOW},
    'X-Forwarded-For, X-Real-IP and Forwarded do not change the client address');
is_status(login_from('127.0.0.2', $a->{email}, $a->{password}), 200,
    'the same email from another address is not limited');
is_status(login_from('127.0.0.1', $b->{email}, $b->{password}), 200,
    'another email from the same address is not limited');

# Waiting for the window: Retry-After says when.
sleep($t429 + $ra - time + 0.25) if $t429 + $ra > time;
$r = login_from('127.0.0.1', $a->{email}, $a->{password});
is_status($r, 200, 'after Retry-After seconds the right password gives 200');
is_status(request_from('127.0.0.1', GET => '/api/auth/me',
    token => $r->{json}{token} // 'none'), 200, '  and its token works');

# Failures older than the window do not count, nor do those of other
# addresses for the pair.
reset_failures();
insert_failures($a->{email}, $LIMIT{LOGIN_WINDOW} + 1, ('127.0.0.1') x 5);
is_status(login_from('127.0.0.1', $a->{email}, $a->{password}), 200,
    'failed logins older than the window do not count');
reset_failures();
insert_failures($a->{email}, 0, '127.0.0.3', '127.0.0.4', '127.0.0.5');
insert_failures($a->{email}, 0, '127.0.0.6', '127.0.0.7');
is_status(login_from('127.0.0.1', $a->{email}, $a->{password}), 200,
    '5 failures for an email from 5 other addresses do not limit a pair');

# Concurrent guesses must not slip past the limit between its check and the
# recording of a failure.
reset_failures();
{
	my @pending = map { $t->request_bg(POST => '/api/auth/login', json => {
	    email => $a->{email}, password => "concurrent guess $_" }) } 1 .. 16;
	my %count;
	$count{ ($_->wait(30) // { status => 'timeout' })->{status} }++ for @pending;
	my $got = join ', ', map { "$count{$_} x $_" } sort keys %count;
	ok(($count{401} // 0) <= 5 && ($count{401} // 0) + ($count{429} // 0) == 16,
	    '16 concurrent wrong logins for one pair: at most 5 are checked (401), '
	    . 'the rest 429') or diag("got $got");
}

###############################################################################
# The address as a whole: one address failing on many emails.

reset_failures();
my $c = user('Address Victim');
for my $i (1 .. 6) {
	is_status(login_from('127.0.0.1', "nobody-$$-$i\@example.org", 'whatever pw'),
	    401, "a failed login on email $i of 6 from one address is 401");
}
is_throttled(login_from('127.0.0.1', $c->{email}, $c->{password}),
    $LIMIT{LOGIN_WINDOW},
    'after failing on 6 different emails the address is limited for a new email too');
is_throttled(login_from('127.0.0.1', "nobody-$$-1\@example.org", 'whatever pw'),
    $LIMIT{LOGIN_WINDOW}, '  and for an email it failed on once');
is_status(login_from('127.0.0.2', $c->{email}, $c->{password}), 200,
    'another address is not limited by it');

# The same race for the address: concurrent guesses on many emails.
reset_failures();
{
	my @pending = map { $t->request_bg(POST => '/api/auth/login', json => {
	    email => "racer-$$-$_\@example.org", password => 'whatever pw' }) }
	    1 .. 16;
	my %count;
	$count{ ($_->wait(30) // { status => 'timeout' })->{status} }++ for @pending;
	my $got = join ', ', map { "$count{$_} x $_" } sort keys %count;
	ok(($count{401} // 0) <= 6 && ($count{401} // 0) + ($count{429} // 0) == 16,
	    '16 concurrent wrong logins on 16 emails from one address: at most 6 '
	    . 'are checked (401), the rest 429') or diag("got $got");
}

# Retry-After must not come too early when one of the emails failed more
# than once: the limit lifts when fewer than 6 distinct emails remain in
# the window, not when the oldest failure leaves it.
reset_failures();
insert_failures("nobody-$$-c1\@example.org", 3, '127.0.0.1');
for my $i (1 .. 6) {
	is_status(login_from('127.0.0.1', "nobody-$$-c$i\@example.org",
	    'whatever pw'), 401, "a failed login on email $i of 6 (email 1 again) is 401");
}
$r = login_from('127.0.0.1', $c->{email}, $c->{password});
$t429 = time;
$ra = is_throttled($r, $LIMIT{LOGIN_WINDOW},
    'an address that failed on 6 emails, one of them twice, is limited');
sleep($t429 + $ra - time + 0.25) if $t429 + $ra > time;
is_status(login_from('127.0.0.1', $c->{email}, $c->{password}), 200,
    '  and may log in again once its Retry-After has passed');

reset_failures();
for my $i (1 .. 5) {
	login_from('127.0.0.1', "nobody-$$-b$i\@example.org", 'whatever pw');
}
is_status(login_from('127.0.0.1', $c->{email}, $c->{password}), 200,
    'failing on 5 different emails does not yet limit the address');

###############################################################################
# The account: failures from all addresses together.

reset_failures();
my $d = user('Account User');
my $e = user('Account Other');
my @far = map { "198.51.100.$_" } 1 .. 8;
insert_failures($d->{email}, $LIMIT{LOGIN_ACCOUNT_WINDOW} + 1, @far);
is_status(login_from('127.0.0.1', $d->{email}, $d->{password}), 200,
    'account failures older than the account window do not count');

reset_failures();
insert_failures($d->{email}, 0, @far[0 .. 6]);
is_status(login_from('127.0.0.1', $d->{email}, $d->{password}), 200,
    '7 failures for one account from 7 addresses do not yet limit it');
insert_failures($d->{email}, 0, $far[7]);
is_throttled(login_from('127.0.0.2', $d->{email}, $d->{password}),
    $LIMIT{LOGIN_ACCOUNT_WINDOW}, 'after 8 failures from many addresses the '
    . 'account is limited from a new address, right password too');
is_throttled(login_from('127.0.0.3', $d->{email}, 'wrong'),
    $LIMIT{LOGIN_ACCOUNT_WINDOW}, '  and with a wrong password too');
# Issue 13, finding 2: the owner, from the address they logged in from
# (above), is not locked out by strangers' failures.
is_status(login_from('127.0.0.1', $d->{email}, $d->{password}), 200,
    '  but not from the address the account logged in from before');
is_status(login_from('127.0.0.1', $e->{email}, $e->{password}), 200,
    'another account is not limited by it');

# Retry-After says when the oldest failure leaves the window.
reset_failures();
insert_failures($d->{email}, 4, @far);
$r = login_from('127.0.0.4', $d->{email}, $d->{password});
is_throttled($r, 2,
    'with failures 4 s old in a 6 s window, Retry-After is at most 2');

###############################################################################
# A wrong currentPassword on a password change counts as a failed login.

reset_failures();
my $f = user('Password Changer');
for my $i (1 .. 5) {
	is_status(request_from('127.0.0.1', PUT => '/api/auth/password',
	    token => $f->{token}, json => { currentPassword => "wrong $i pw",
	    newPassword => 'a brand new password' }), 401,
	    "wrong currentPassword $i of 5 is 401");
}
is_throttled(login_from('127.0.0.1', $f->{email}, $f->{password}),
    $LIMIT{LOGIN_WINDOW},
    'after 5 wrong currentPasswords a login with the right password is 429');
is_throttled(request_from('127.0.0.1', PUT => '/api/auth/password',
    token => $f->{token}, json => { currentPassword => $f->{password},
    newPassword => 'a brand new password' }), $LIMIT{LOGIN_WINDOW},
    'and a password change with the right currentPassword is 429');
is_status(login_from('127.0.0.2', $f->{email}, $f->{password}), 200,
    'the password was not changed (the old one works from another address)');
is_status(request_from('127.0.0.1', GET => '/api/auth/me',
    token => $f->{token}), 200, 'and the token that tried still works');

done_testing();
