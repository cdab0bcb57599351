#!/usr/bin/perl
# Patient search terms stay out of the web server's error log (issue 13,
# finding 10).  nginx writes a request's line, query string and all, into
# the error log lines of that request; with the pool stopped, a patient
# list with ?q=<name> is a 502 problem document, and the error log must
# not hold the name.  Apache (whose mod_proxy answers 503 when it cannot
# connect) writes no request line in its error lines for the same
# failure; the test holds it to that.

use strict;
use warnings;

use Test::More;

use Medrec::Stack qw(slurp wait_until);
use Medrec::Test;

# The status each web server answers with when the pool is down.
my %DOWN = (nginx => 502, apache => 503);

for my $web ('nginx', 'apache') {
	my $t = Medrec::Stack->new(web => $web);
	my $u = $t->new_user(name => "Error Log $web");
	my $error_log = $t->dir . "/$web/error.log";
	my $access_log = $t->dir . "/$web/medrec-access.log";

	my $r = $t->request(GET => '/api/patients?q=Zebulon', token => $u->{token});
	is($r->{status}, 200, "$web: a patient search is 200 while the pool runs");

	$t->stop_pool;
	$r = $t->request(GET => '/api/patients?q=Zebulon&limit=5',
	    token => $u->{token});
	is_problem($r, $DOWN{$web}, "$web: with the pool stopped, a patient "
	    . "search is a $DOWN{$web} problem document");
	ok(wait_until(5, sub { slurp($access_log) =~
	    m{"GET /api/patients" $DOWN{$web} } }),
	    "$web:   which the access log records, path only");
	# A request elsewhere fails the same way, and is logged: the error log
	# is written, and its lines for the pool's failure are there.
	# Health keeps its own document where the status allows one: Apache
	# answers 503, which the health check documents as "unavailable".
	$r = $t->request(GET => '/api/health?probe=1');
	if ($web eq 'nginx') {
		is_problem($r, 502, "$web: so is GET /api/health");
	} else {
		is_json_response($r, 503, "$web: GET /api/health is 503 "
		    . 'application/json');
		is($r->{json}{status} // '', 'unavailable',
		    "$web:   the health document, status unavailable");
	}
	my $failed = $web eq 'nginx' ?
	    qr/connect\(\) to \S+ failed .*request: "GET \/api\/health/ :
	    qr/AH01079: failed to make connection to backend/;
	ok(wait_until(5, sub { slurp($error_log) =~ $failed }),
	    "$web:   whose failure to reach the pool is in the error log")
	    or diag(slurp($error_log));
	unlike(slurp($error_log), qr/Zebulon/,
	    "$web: the error log does not hold the patient search's ?q=");
	unlike(slurp($error_log), qr/\?q=|[?&]limit=/,
	    "$web:   nor any query string of the patient list");

	$t->finish;
}

done_testing();
