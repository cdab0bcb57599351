#!/usr/bin/perl
# Request ids that join (issue 13, finding 10): the web server chooses one
# id per request (the client's X-Request-Id when sane, else its own),
# logs it in its access log, answers with it on its own error pages and
# passes it to the pool as REQUEST_ID, which the pool prefers to the raw
# header; the pool answers with it and stores it in the audit trail.  So
# the response, GET /api/audit and the access log carry the same id, for
# nginx and for Apache.

use strict;
use warnings;

use Test::More;

use Medrec::Stack qw(slurp wait_until);
use Medrec::Test;

my $sane = qr/^[A-Za-z0-9._-]{1,64}$/;
my $seq = 0;

for my $web ('nginx', 'apache') {
	my $t = Medrec::Stack->new(web => $web);
	my $u = $t->new_user(name => "Request Ids $web");

	# The access log's line for a request id, waiting for it (the web
	# server writes it once the response is sent): '(no line)' if none.
	my $access_line = sub {
		my ($id) = @_;
		my $log = $t->dir . "/$web/medrec-access.log";
		return wait_until(5, sub {
			my @l = slurp($log) =~ /^(.*\breq=\Q$id\E(?: .*)?)$/mg;
			return @l == 1 ? $l[0] : undef;
		}) // '(no line, or more than one)';
	};
	# The requestId GET /api/audit shows for the creation of a patient.
	my $audit_id = sub {
		my ($patient) = @_;
		my $r = $t->request(GET => '/api/audit?limit=200',
		    token => $u->{token});
		return '(GET /api/audit failed)' unless ref $r->{json} eq 'ARRAY';
		my @e = grep { $_->{action} eq 'create' &&
		    ($_->{resourceType} // '') eq 'patient' &&
		    ($_->{resourceId} // 0) == $patient } @{ $r->{json} };
		return @e == 1 ? $e[0]{requestId} // '(null)' :
		    scalar(@e) . ' events';
	};
	my $create = sub {
		my (%h) = @_;
		my $r = $t->request(POST => '/api/patients', token => $u->{token},
		    json => { name => 'Patient ' . ++$seq }, headers => \%h);
		is($r->{status}, 201, "$web: a patient is created")
		    or diag(show_response($r));
		return ($r, $r->{json} ? $r->{json}{id} // 0 : 0);
	};

	my $id = "t055-$web.client_$$";
	my ($r, $p) = $create->('X-Request-Id' => $id);
	is($r->{headers}{'x-request-id'}, $id,
	    "$web: the client's sane X-Request-Id is the response's");
	is($audit_id->($p), $id, "$web:   and GET /api/audit's requestId");
	like($access_line->($id), qr{"POST /api/patients" 201 },
	    "$web:   and on the access log's line of that request");

	($r, $p) = $create->();
	my $rid = $r->{headers}{'x-request-id'} // '(none)';
	like($rid, $sane, "$web: without a client id the response has one");
	like($access_line->($rid), qr{"POST /api/patients" 201 },
	    "$web:   the one on the access log's line of that request");
	is($audit_id->($p), $rid, "$web:   and GET /api/audit's requestId");

	($r, $p) = $create->('X-Request-Id' => 'not sane!');
	$rid = $r->{headers}{'x-request-id'} // '(none)';
	ok($rid ne 'not sane!' && $rid =~ $sane,
	    "$web: an insane client id is replaced") or diag("got $rid");
	like($access_line->($rid), qr{"POST /api/patients" 201 },
	    "$web:   by the id on the access log's line");
	is($audit_id->($p), $rid, "$web:   and in GET /api/audit");

	# The web server's own error pages, logged with the path asked for
	# (nginx's $uri would be /_error/404 by then).
	$id = "t055-$web-own-404.$$";
	$r = $t->request(GET => '/', headers => { 'X-Request-Id' => $id });
	is_problem($r, 404, "$web: GET / is the web server's own 404");
	is($r->{headers}{'x-request-id'}, $id,
	    "$web:   with the client's sane id as its X-Request-Id");
	like($access_line->($id), qr{"GET /" 404 },
	    "$web:   the one on the access log's line");
	$r = $t->request(GET => '/');
	$rid = $r->{headers}{'x-request-id'} // '(none)';
	like($rid, $sane, "$web: without a client id the web server's 404 has one");
	like($access_line->($rid), qr{"GET /" 404 },
	    "$web:   the one on the access log's line");

	# The pool itself: the web server's REQUEST_ID wins over the header.
	if ($web eq 'nginx') {
		my $c = Medrec::Stack::run_cmd(timeout => 10,
		    cmd => [ 'cgi-fcgi', '-bind', '-connect', $t->dir . '/pool.sock' ],
		    env => { REQUEST_METHOD => 'GET', PATH_INFO => '/api/health',
		    QUERY_STRING => '', REMOTE_ADDR => '127.0.0.1',
		    REQUEST_ID => 'chosen-by-the-web-server',
		    HTTP_X_REQUEST_ID => 'sent-by-the-client' });
		like($c->{out}, qr/^X-Request-Id: chosen-by-the-web-server\r?$/mi,
		    'the pool answers with the web server\'s REQUEST_ID, not the '
		    . 'raw X-Request-Id header') or diag("$c->{out}$c->{err}");
		ok(wait_until(5, sub { $t->pool_log =~
		    /\breq=chosen-by-the-web-server GET \/api\/health status=200\b/ }),
		    '  and logs it');
		$c = Medrec::Stack::run_cmd(timeout => 10,
		    cmd => [ 'cgi-fcgi', '-bind', '-connect', $t->dir . '/pool.sock' ],
		    env => { REQUEST_METHOD => 'GET', PATH_INFO => '/api/health',
		    QUERY_STRING => '', REMOTE_ADDR => '127.0.0.1',
		    REQUEST_ID => undef, HTTP_X_REQUEST_ID => 'sent-by-the-client' });
		like($c->{out}, qr/^X-Request-Id: sent-by-the-client\r?$/mi,
		    'without a REQUEST_ID the pool takes the client\'s sane header')
		    or diag("$c->{out}$c->{err}");
	}

	$t->finish;
}

done_testing();
