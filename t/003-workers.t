#!/usr/bin/perl
# The prefork pool (fcgi-app/pool.c, worker.c): a killed worker is replaced,
# MAX_REQUESTS recycles workers, SIGHUP replaces every worker, and SIGTERM
# lets a request in flight finish before the master exits 0.  A private
# stack: this file kills things.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(env => { WORKERS => 4 });

# The statuses of $n sequential GET /api/health, run in a child process so
# that they overlap what the test does next.  Callers wait long for them:
# the point is that they all succeed, and a loaded machine (the sanitizer
# build under the whole suite) is slow.
sub health_load {
	my ($n) = @_;
	return $t->bg(sub {
		[ map { $t->request(GET => '/api/health')->{status} } 1 .. $n ];
	});
}

sub all_200 {
	my ($statuses, $name) = @_;
	my @bad = grep { $_ ne '200' } @{ $statuses // ['no answer'] };
	ok(!@bad && @{ $statuses // [] }, $name)
	    or diag('statuses other than 200: ' . join(' ', @bad));
}

sub log_since {
	my ($offset) = @_;
	return substr($t->pool_log, $offset);
}

###############################################################################
# kill -9 a worker.

# The master forks its workers one after another: on a slow (sanitizer)
# build the last may come a moment after the first answers.
wait_until(5, sub { my @w = $t->worker_pids; @w == 4 });
my @before = $t->worker_pids;
is(scalar @before, 4, 'the pool runs WORKERS=4 workers');

my $victim = $before[0];
my $killed_at = time;
kill('KILL', $victim) or die "kill $victim: $!";
my $load = health_load(50);
my @after;
my $back = wait_until(1, sub {
	@after = $t->worker_pids;
	return @after == 4 && !grep { $_ == $victim } @after;
}, 0.005);
ok($back, 'within 1 s of a kill -9 there are again 4 workers')
    or diag("workers after the kill: @after");
my $took = time - $killed_at;
all_200($load->wait(120), '50 requests right after the kill are all 200');
all_200([ map { $t->request(GET => '/api/health')->{status} } 1 .. 10 ],
    'requests after the replacement are 200');
ok(wait_until(2, sub { $t->pool_log =~ /worker $victim was killed by signal 9\b/ }),
    'pool.log says the worker was killed by signal 9')
    or diag($t->pool_log);
note(sprintf('replaced in %.3f s', $took));

###############################################################################
# SIGHUP: a new generation of workers.

@before = $t->worker_pids;
my %old = map { $_ => 1 } @before;
$load = health_load(50);
sleep(0.05);
$t->signal_pool('HUP');
ok(wait_until(5, sub {
	@after = $t->worker_pids;
	return @after == 4 && !grep { $old{$_} } @after;
}), 'after SIGHUP every worker is a new one')
    or diag("before: @before; after: @after");
all_200($load->wait(120), 'requests during SIGHUP are all 200');
all_200([ map { $t->request(GET => '/api/health')->{status} } 1 .. 20 ],
    'requests after SIGHUP are all 200');
ok($t->pool_alive, 'the master is still running after SIGHUP');

###############################################################################
# MAX_REQUESTS recycles workers.

is($t->stop_pool, 0, 'the pool stops with status 0 on SIGTERM when idle');
my $offset = length $t->pool_log;
$t->start_pool(WORKERS => 2, MAX_REQUESTS => 5);
$t->wait_ready;
@before = $t->worker_pids;
is(scalar @before, 2, 'the pool runs WORKERS=2 workers');
%old = map { $_ => 1 } @before;
all_200([ map { $t->request(GET => '/api/health')->{status} } 1 .. 40 ],
    '40 requests with MAX_REQUESTS=5 are all 200');
ok(wait_until(2, sub {
	@after = $t->worker_pids;
	return @after == 2 && !grep { $old{$_} } @after;
}), 'with MAX_REQUESTS=5 both first workers were recycled and replaced')
    or diag("before: @before; after: @after");
my $recycled = () = log_since($offset) =~ /recycled after 5 requests/g;
cmp_ok($recycled, '>=', 6,
    'pool.log says workers were recycled (at least 40/5 - 2 times)');
unlike(log_since($offset), qr/killed by signal|exited with status [1-9]/,
    'recycling is not logged as a crash');

###############################################################################
# SIGTERM with a slow request in flight.

is($t->stop_pool, 0, 'the pool stops with status 0');
$t->start_pool;
$t->wait_ready;
is(scalar(my @w = $t->worker_pids), 4, 'the pool is back with 4 workers');

my $locker = $t->psql_bg('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; '
    . 'SELECT pg_sleep(3); COMMIT;');
ok(wait_until(5, sub {
	$t->psql(q{SELECT count(*) FROM pg_locks l JOIN pg_class c
	    ON c.oid = l.relation WHERE c.relname = 'users'
	    AND l.mode = 'AccessExclusiveLock' AND l.granted}) > 0;
}), 'a session holds an exclusive lock on users');
my $slow = $t->request_bg(POST => '/api/auth/login',
    json => { email => 'nobody@example.org', password => 'whatever1' });
ok(wait_until(5, sub {
	$t->psql(q{SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = 'medrec' AND wait_event_type = 'Lock'}) > 0;
}), 'the login waits on the lock');
sleep(0.3);
ok(!$slow->done, 'the login has no answer yet');

my $term_at = time;
$t->signal_pool('TERM');
ok(wait_until(2, sub { $t->worker_pids == 1 }),
    'on SIGTERM the idle workers leave at once and the busy one stays')
    or diag('workers: ' . join(' ', $t->worker_pids));
my $res = $slow->wait(15);
ok($res && $res->{status} eq '401',
    'the request in flight still gets its normal answer (401)')
    or diag($res ? show_response($res) : 'no answer');
is_problem($res // { status => 0 }, 401, 'that answer is a problem document');
my $status = $t->wait_pool(10);
ok(defined $status, 'the master exits within 10 s of SIGTERM')
    or $t->stop_pool;
is($status, 0, 'the master exits with status 0');
note(sprintf('the master exited %.1f s after SIGTERM', time - $term_at));
waitpid($locker, 0);
is($?, 0, 'the locking session committed');

my $after = $t->request(GET => '/api/health');
is_problem($after, 502, 'a request after the pool stopped is 502 from nginx');
has_security_headers($after, "nginx's 502 carries the security headers");
like($t->pool_log, qr/pool stopped/, 'pool.log says the pool stopped');

done_testing();
