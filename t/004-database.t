#!/usr/bin/perl
# The service without its database (API.md "Service"): health is 503 at once
# while PostgreSQL is down, and 200 again soon after it is back, without a
# restart of the pool.  A private stack: this file stops PostgreSQL.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(env => { DB_TIMEOUT => 2, WORKERS => 4 });
my $master = $t->pool_pid;

is_json_response($t->request(GET => '/api/health'), 200,
    'health is 200 with the database up');

for my $mode (qw(fast immediate)) {
	$t->stop_pg($mode);

	my $t0 = time;
	my $r = $t->request(GET => '/api/health', timeout => 20);
	my $took = time - $t0;
	is_json_response($r, 503,
	    "with PostgreSQL stopped ($mode mode) health is 503");
	is_deeply($r->{json}, { status => 'unavailable', database => 'unavailable' },
	    'and says the database is unavailable') or diag(show_response($r));
	cmp_ok($took, '<', 4, 'and answers within a few seconds, no hang');
	has_security_headers($r, 'a 503 carries the security headers');

	# Every worker, not only the first one asked, answers 503 quickly.
	my @slow;
	my @statuses = map {
		my $s = time;
		my $st = $t->request(GET => '/api/health', timeout => 20)->{status};
		push @slow, sprintf('%.1f s', time - $s) if time - $s > 4;
		$st;
	} 1 .. 12;
	is(join(' ', grep { $_ ne '503' } @statuses), '',
	    'further requests while it is down are all 503');
	is("@slow", '', 'none of them hangs');

	my $auth = $t->request(POST => '/api/auth/login', timeout => 20,
	    json => { email => 'nobody@example.org', password => 'whatever1' });
	is_problem($auth, 503, 'a route that needs the database is 503 problem+json');

	$t->start_pg;
	my $up = time;
	ok(wait_until(5, sub {
		$t->request(GET => '/api/health')->{status} == 200;
	}, 0.05), "health returns to 200 within 5 s after a $mode stop")
	    or diag(show_response($t->request(GET => '/api/health')));
	note(sprintf('back after %.2f s', time - $up));
	@statuses = map { $t->request(GET => '/api/health')->{status} } 1 .. 20;
	is(join(' ', grep { $_ ne '200' } @statuses), '',
	    'and every worker has its connection back');
	is($t->pool_pid, $master, 'the pool was not restarted');
	ok($t->pool_alive, 'the master is still running');
}

unlike($t->pool_log, qr/was killed by signal|exited with status [1-9]/,
    'no worker crashed while the database was away');

done_testing();
