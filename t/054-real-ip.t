#!/usr/bin/perl
# Real client addresses behind a proxy (issue 13, finding 3; README,
# "Real client addresses").  With 127.0.0.1 named as the only proxy, the
# nginx site (set_real_ip_from) and the Apache site (mod_remoteip) believe
# X-Forwarded-For from it: the audit trail, the access log and the login
# throttle see the client's address, not the proxy's.  From any other
# address the header is ignored, and so is what a client wrote into the
# header before the proxy appended the address it saw.  (Without a proxy
# named, no one's X-Forwarded-For is believed: t/012-throttle.t and
# t/060-apache.t.)

use strict;
use warnings;

use Test::More;

use Medrec::Stack qw(slurp wait_until);
use Medrec::Test;

my $seq = 0;

for my $web ('nginx', 'apache') {
	my $t = Medrec::Stack->new(web => $web, real_ip_from => '127.0.0.1',
	    env => { LOGIN_MAX_EMAILS_PER_ADDRESS => 3, LOGIN_WINDOW => 600 });
	my $u = $t->new_user(name => "Real IP $web");

	# A patient created with a request id of ours, through the "proxy"
	# (127.0.0.1) or from $from; returns the request id.  This is not a
	# test.  It die()s on failure.
	my $create = sub {
		my ($xff, %o) = @_;
		my $rid = "t054-$web-$$-" . ++$seq;
		my $r = $t->request(POST => '/api/patients', token => $u->{token},
		    json => { name => "Patient $seq" }, %o, headers => {
		    'X-Request-Id' => $rid,
		    defined $xff ? ('X-Forwarded-For' => $xff) : () });
		die "POST /api/patients: " . show_response($r)
		    unless $r->{status} == 201;
		return $rid;
	};
	# The client address GET /api/audit shows for a request id.  This is
	# not a test.  It die()s on failure.
	my $audited_from = sub {
		my ($rid) = @_;
		my $r = $t->request(GET => '/api/audit?limit=200',
		    token => $u->{token});
		die "GET /api/audit: " . show_response($r)
		    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
		my @e = grep { ($_->{requestId} // '') eq $rid } @{ $r->{json} };
		return @e == 1 ? $e[0]{clientAddress} // '(null)' :
		    scalar(@e) . ' events';
	};
	# The access log's line for a request id (waiting for it).
	my $access_line = sub {
		my ($rid) = @_;
		my $log = $t->dir . "/$web/medrec-access.log";
		return wait_until(5, sub {
			my ($l) = slurp($log) =~ /^(.*\breq=\Q$rid\E(?: .*)?)$/m;
			return $l;
		}) // '(no line)';
	};

	my $rid = $create->('203.0.113.7');
	is($audited_from->($rid), '203.0.113.7', "$web: X-Forwarded-For from a "
	    . 'listed proxy is the client address in GET /api/audit');
	like($access_line->($rid), qr/^203\.0\.113\.7 /,
	    "$web:   and in the access log");

	$rid = $create->('198.51.100.66, 203.0.113.7');
	is($audited_from->($rid), '203.0.113.7', "$web: the address the proxy "
	    . 'appended is taken, not the one the client wrote before it');

	$rid = $create->('203.0.113.9', from => '127.0.0.9');
	is($audited_from->($rid), '127.0.0.9', "$web: X-Forwarded-For from an "
	    . 'address that is not a listed proxy is ignored');
	like($access_line->($rid), qr/^127\.0\.0\.9 /,
	    "$web:   and the access log has the sender's own address");

	$rid = $create->(undef);
	is($audited_from->($rid), '127.0.0.1', "$web: a request from the proxy "
	    . 'without X-Forwarded-For keeps the proxy\'s address');

	# The throttle: 3 emails may fail from one network in the window.
	my $login = sub {
		my ($xff, $email, $password, %o) = @_;
		return $t->request(POST => '/api/auth/login', %o,
		    json => { email => $email, password => $password },
		    headers => { 'X-Forwarded-For' => $xff });
	};
	for my $i (1 .. 3) {
		is($login->('203.0.113.7', "t054-nobody-$$-$web-$i\@example.org",
		    'wrong password')->{status}, 401,
		    "$web: a login failing on email $i of 3 \"from\" 203.0.113.7 is 401");
	}
	is_problem($login->('203.0.113.7', "t054-nobody-$$-$web-4\@example.org",
	    'wrong password'), 429, "$web: a 4th email \"from\" 203.0.113.7 is "
	    . 'throttled: the throttle counts the client\'s network');
	is($login->('203.0.113.8', "t054-nobody-$$-$web-5\@example.org",
	    'wrong password')->{status}, 401, "$web: \"from\" 203.0.113.8 through "
	    . 'the same proxy, a failing email is not throttled (401)');
	my $r = $login->('203.0.113.8', $u->{email}, $u->{password});
	is($r->{status}, 200, "$web:   and a right password logs in (200)");
	$t->remember_secret($r->{json}{token})
	    if ref $r->{json} eq 'HASH' && defined $r->{json}{token};
	is($login->('203.0.113.7', "t054-nobody-$$-$web-6\@example.org",
	    'wrong password', from => '127.0.0.9')->{status}, 401,
	    "$web: X-Forwarded-For: 203.0.113.7 from an address that is not a "
	    . 'proxy is not throttled as 203.0.113.7');

	$t->finish;
}

done_testing();
