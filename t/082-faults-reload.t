#!/usr/bin/perl
# Fault: reloads.  Under a steady load of writes (Medrec::Load), nginx is
# reloaded (SIGHUP to its master: new workers, the old ones finish their
# requests) and the pool is sent SIGHUP (a new generation of workers, the
# old one finishes its requests), four times each, interleaved.  A reload
# is graceful: no request fails, nothing acknowledged is lost, no key makes
# two records, health is 200 within 5 s and every worker answers.  A
# private stack.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;
use Medrec::Load qw(load_is_sound health_is_back no_worker_stuck);

my $WORKERS = 4;
my $t = Medrec::Stack->new(env => { WORKERS => $WORKERS, DB_TIMEOUT => 2 });
$t->psql('ALTER SYSTEM SET synchronous_commit = on');
$t->psql('SELECT pg_reload_conf()');
my $master = $t->pool_pid;

my $load = Medrec::Load->new($t, label => 'reload', pause => 0.005);
my $offset = length $t->pool_log;
$load->start;
sleep(1);

my ($nginx, $pool, @gens) = (0, 0);
for my $round (1 .. 4) {
	$t->reload_nginx;
	$nginx++;
	sleep(0.3 + rand(0.4));
	my %old = map { $_ => 1 } $t->worker_pids;
	$t->signal_pool('HUP');
	$pool++;
	# The next round once the new generation is in place.
	wait_until(5, sub {
		my @w = $t->worker_pids;
		return @w == $WORKERS && !grep { $old{$_} } @w;
	}, 0.02);
	push @gens, join(' ', $t->worker_pids);
	sleep(0.3 + rand(0.4));
}
my $fault_end = time;
note("worker generations: " . join('; ', @gens));

my $took = health_is_back($t, $fault_end,
    'health is 200 within 5 s of the last reload');
sleep(1);
$load->wait;

is($t->pool_pid, $master, 'the master is the same process');
ok($t->pool_alive, 'and it is running');
my $log = substr($t->pool_log, $offset);
my $reloads = () = $log =~ /reloaded: \d+ new workers/g;
is($reloads, $pool, "pool.log says the pool reloaded $pool times");
unlike($log, qr/was killed by signal|exited with status [1-9]/,
    'no worker crashed during the reloads');
my $res = load_is_sound($load, min => 100);
is($res ? $res->{figures}{failed} : -1, 0,
    'a reload is graceful: no request failed at all');
no_worker_stuck($t, $WORKERS, 'after the reloads');
diag(sprintf('reload: %d nginx reloads and %d pool SIGHUPs in %.1f s; '
    . 'health 200 %.2f s after the last', $nginx, $pool,
    $fault_end - $load->{started}, $took));

done_testing();
