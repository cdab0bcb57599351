#!/usr/bin/perl
# Fault: the database goes away.  Under a steady load of writes
# (Medrec::Load), PostgreSQL is stopped for 3 s and started again, once in
# fast mode (sessions are told to end) and once in immediate mode (the
# server dies without a checkpoint and recovers from its WAL at start).
# Each time: nothing acknowledged is lost, no key makes two records, the
# writes that fail while it is down are clean 503 problem documents (never
# a hang: DB_TIMEOUT=2), health is 200 within 5 s of the start, and every
# worker is back.  A private stack.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;
use Medrec::Load qw(load_is_sound health_is_back no_worker_stuck);

my $WORKERS = 4;
my $t = Medrec::Stack->new(env => { WORKERS => $WORKERS, DB_TIMEOUT => 2 });
# The harness's cluster runs with synchronous_commit off, which an
# immediate shutdown is allowed to punish by losing the last commits; a
# deployment acknowledges a commit once it is durable, so this test does.
$t->psql('ALTER SYSTEM SET synchronous_commit = on');
$t->psql('SELECT pg_reload_conf()');
my $master = $t->pool_pid;

for my $mode (qw(fast immediate)) {
	my $load = Medrec::Load->new($t, label => "pg-$mode");
	$load->start;
	sleep(1.5);

	my $t0 = time;
	$t->stop_pg($mode);
	my $stopped = time;
	sleep(3);
	my $r = $t->request(GET => '/api/health', timeout => 10);
	is_json_response($r, 503,
	    "with PostgreSQL stopped ($mode) health is 503");
	my $down = time - $stopped;
	$t->start_pg;
	my $fault_end = time;
	note(sprintf('%s stop took %.2f s; down for %.2f s; start took %.2f s',
	    $mode, $stopped - $t0, $down, $fault_end - $stopped - $down));

	my $took = health_is_back($t, $fault_end,
	    "health is 200 within 5 s of PostgreSQL's start ($mode)");
	sleep(2);
	$load->wait;

	my $res = load_is_sound($load, min => 50);
	my $felt = $res ? $res->{figures}{'status 503'} // 0 : 0;
	cmp_ok($felt, '>', 0, "$mode: writes failed with 503 while the "
	    . 'database was down (the fault was felt)');
	no_worker_stuck($t, $WORKERS, "after a $mode stop");
	diag(sprintf('pg-%s: PostgreSQL stopped for %.1f s; health 200 %.2f s '
	    . 'after its start', $mode, $down, $took));
}

is($t->pool_pid, $master, 'the pool was not restarted');
unlike($t->pool_log, qr/was killed by signal|exited with status [1-9]/,
    'no worker crashed while the database was away');

done_testing();
