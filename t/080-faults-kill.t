#!/usr/bin/perl
# Fault: workers die.  Under a steady load of writes (Medrec::Load: creates
# with an Idempotency-Key, patches, deletes, each retried with the same key
# until answered), a random worker gets kill -9 every 200 to 500 ms for
# 10 s.  Nothing acknowledged is lost, no key makes two records, what fails
# fails as a clean 502/503 problem document and never hangs, health is 200
# within 5 s and every worker answers afterwards.  Then the master is
# killed: its workers leave with it.  A private stack.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;
use Medrec::Load qw(load_is_sound health_is_back no_worker_stuck);

my $WORKERS = 4;
my $t = Medrec::Stack->new(env => { WORKERS => $WORKERS, DB_TIMEOUT => 2 });
# As a deployment has it: a commit is acknowledged once it is durable.
$t->psql('ALTER SYSTEM SET synchronous_commit = on');
$t->psql('SELECT pg_reload_conf()');

my $load = Medrec::Load->new($t, label => 'kill', pause => 0.003);
my $offset = length $t->pool_log;
$load->start;
sleep(1);

# The workers: the master's children, from /proc (the kernel's list when
# it keeps one, quicker than a scan of every process).
sub workers {
	my $pid = $t->pool_pid;
	my @c = split ' ', Medrec::Stack::slurp("/proc/$pid/task/$pid/children");
	return @c ? @c : $t->worker_pids;
}

# A worker in the middle of a request is not waiting in epoll_pwait();
# those are the interesting victims (the kill may come between the commit
# and the reply), so most kills look for one in the 50 ms before their
# time.  Kills keep to their schedule, however slow the machine.
sub busy_workers {
	return grep { Medrec::Stack::slurp("/proc/$_/wchan") !~ /epoll/ }
	    workers();
}

my ($kills, $busy_kills, %victims) = (0, 0);
my $end = time + 10;
my $next = time + 0.2 + rand(0.3);
while ($next < $end) {
	my $d = $next - 0.05 - time;
	sleep($d) if $d > 0;
	my @busy;
	if (rand() < 0.7) {
		wait_until($next - time, sub { @busy = busy_workers() }, 0.002);
	} else {
		$d = $next - time;
		sleep($d) if $d > 0;
	}
	my @w = @busy ? @busy : workers();
	if (@w) {
		my $victim = $w[rand @w];
		if (kill('KILL', $victim)) {
			$kills++;
			$busy_kills++ if @busy;
			$victims{$victim} = 1;
		}
	}
	$next += 0.2 + rand(0.3);
}
my $fault_end = time;
note("killed $kills workers in 10 s, $busy_kills of them busy");

my $took = health_is_back($t, $fault_end,
    'health is 200 within 5 s of the last kill');
sleep(2);
$load->wait;

cmp_ok($kills, '>=', 15, 'workers were killed every few hundred ms');
my $log = substr($t->pool_log, $offset);
my @logged = grep { $victims{$_} } $log =~ /worker (\d+) was killed by signal 9\b/g;
is(scalar @logged, scalar keys %victims, 'pool.log names every killed worker');
ok($t->pool_alive, 'the master survived');

load_is_sound($load, min => 100);
no_worker_stuck($t, $WORKERS, 'after the kills');
diag(sprintf('kill: %d workers killed by kill -9 in 10 s (%d of them in '
    . 'the middle of a request); health 200 %.2f s after the last', $kills,
    $busy_kills, $took));

# The master itself killed outright: its workers must not serve on,
# orphaned, holding the socket (they get SIGTERM from the kernel).
my @orphans = workers();
ok(@orphans, 'the master has workers before it is killed');
kill('KILL', $t->pool_pid);
$t->wait_pool(5);
ok(wait_until(10, sub { !grep { kill(0, $_) } @orphans }, 0.05),
    'a master killed by kill -9 takes its workers with it')
    or diag('still running: ' . join(' ', grep { kill(0, $_) } @orphans));

done_testing();
