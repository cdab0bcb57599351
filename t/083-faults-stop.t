#!/usr/bin/perl
# Fault: the pool is stopped.  Under a steady load of writes
# (Medrec::Load), a session locks the patients table for 3.5 s so that
# every worker is in the middle of a write, and the pool gets SIGTERM
# then.  The writes in flight finish and reach their clients; the master
# exits 0; while the pool is down nginx answers 502 problem documents; the
# pool is started again and the clients' retries (same Idempotency-Key)
# go through.  Nothing acknowledged is lost, no key makes two records,
# health is 200 within 5 s of the start and every worker answers.  A
# private stack.

use strict;
use warnings;

use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;
use Medrec::Load qw(load_is_sound health_is_back no_worker_stuck);

my $WORKERS = 4;
my $t = Medrec::Stack->new(env => { WORKERS => $WORKERS, DB_TIMEOUT => 4 });
$t->psql('ALTER SYSTEM SET synchronous_commit = on');
$t->psql('SELECT pg_reload_conf()');

my $load = Medrec::Load->new($t, label => 'stop');
$load->start;
sleep(1.5);

my $offset = length $t->pool_log;
my $locker = $t->psql_bg('BEGIN; LOCK TABLE patients IN ACCESS EXCLUSIVE '
    . 'MODE; SELECT pg_sleep(3.5); COMMIT;');
ok(wait_until(10, sub {
	$t->psql(q{SELECT count(*) FROM pg_locks l JOIN pg_class c
	    ON c.oid = l.relation WHERE c.relname = 'patients'
	    AND l.mode = 'AccessExclusiveLock' AND l.granted}) > 0;
}, 0.02), 'a session holds an exclusive lock on patients');
# Generous: on a loaded machine the clients may take a while to get there.
my $waiting = 0;
wait_until(2.5, sub {
	$waiting = $t->psql(q{SELECT count(*) FROM pg_stat_activity
	    WHERE application_name = 'medrec' AND wait_event_type = 'Lock'});
	return $waiting >= $WORKERS;
}, 0.02);
cmp_ok($waiting, '>=', 1, 'workers wait on the lock, in the middle of writes');
my $term_at = time;
$t->signal_pool('TERM');
my $lock_status = waitpid($locker, POSIX::WNOHANG()) == $locker ? $? : undef;
ok(!defined $lock_status, 'SIGTERM came while the lock was still held');
my $status = $t->wait_pool(10);
my $stopped_at = time;
ok(defined $status, 'the master exits within 10 s of SIGTERM')
    or $t->stop_pool;
is($status, 0, 'the master exits with status 0');
note(sprintf('%d workers were waiting on the lock; the master exited '
    . '%.2f s after SIGTERM', $waiting, $stopped_at - $term_at));
$lock_status //= waitpid($locker, 0) == $locker ? $? : -1;
is($lock_status, 0, 'the locking session committed');

# The pool is down: nginx answers, cleanly.
my $r = $t->request(GET => '/api/health', timeout => 5);
is_problem($r, 502, 'with the pool stopped health is a 502 problem document');
sleep(1);

my $restart = time;
$t->start_pool;
my $took = health_is_back($t, $restart,
    'health is 200 within 5 s of the pool starting again');
sleep(2);
$load->wait;

# What the pool served between SIGTERM and its exit: every one of those
# requests is one a worker had in hand, and each reached its client with
# the status the pool logged.
my $log = substr($t->pool_log, $offset);
my $from = index($log, 'stopping: workers finish their requests');
my $to = index($log, 'pool stopped', $from);
my $during = $from >= 0 && $to > $from ? substr($log, $from, $to - $from) :
    undef;
ok(defined $during, 'pool.log says the pool was stopping, then stopped');
my %served = ($during // '') =~ /req=(ld-\S+) \S+ \S+ status=(\d+)/g;
cmp_ok(scalar keys %served, '>=', $waiting, 'the writes in flight at '
    . 'SIGTERM were finished (pool.log) before the master exited')
    or diag($during // '');
my %seen;
for my $e ($load->events) {
	$seen{ $e->{rid} } = $e->{st} if defined $e->{rid} &&
	    ($e->{ev} eq 'ack' || $e->{ev} eq 'try' || $e->{ev} eq 'final');
}
my @lost = map { "$_: pool status $served{$_}, client saw " .
    ($seen{$_} // 'nothing') } grep { ($seen{$_} // 0) != $served{$_} }
    sort keys %served;
is_deeply(\@lost, [], 'each of them reached its client with the status '
    . 'the pool logged');
my @not2xx = grep { $served{$_} !~ /^2/ } sort keys %served;
is_deeply(\@not2xx, [], 'and each of them succeeded');
# Those a worker took after SIGTERM: epoll_pwait() hands over a ready
# connection before it delivers the pending signal, so a worker finishing
# its request may take one more that was already waiting.
my $stop_ms = $log =~ /T(\d\d):(\d\d):(\d\d\.\d+)Z info pid=\d+ stopping/ ?
    (($1 * 60 + $2) * 60 + $3) * 1000 : 0;
my $late = grep {
	my ($h, $m, $s, $ms) = /T(\d\d):(\d\d):(\d\d\.\d+)Z .* ms=([\d.]+)/;
	defined $ms && (($h * 60 + $m) * 60 + $s) * 1000 - $ms > $stop_ms;
} grep { /req=ld-/ } split /\n/, $during // '';
note("$late of them were taken after SIGTERM");

my $res = load_is_sound($load, min => 100);
cmp_ok($res ? $res->{figures}{'status 502'} // 0 : 0, '>', 0,
    'writes failed with 502 while the pool was down (the fault was felt)');
no_worker_stuck($t, $WORKERS, 'after the restart');
diag(sprintf('stop: %d writes finished between SIGTERM and the exit (%d '
    . 'waiting on the lock at SIGTERM, %d taken after it), all answered; '
    . 'the master exited %.2f s after SIGTERM; down %.1f s; health 200 '
    . '%.2f s after the restart', scalar keys %served, $waiting, $late,
    $stopped_at - $term_at, $restart - $stopped_at, $took));

done_testing();
