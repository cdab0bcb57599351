# Database failover: the service takes a libpq multi-host connection string
# (target_session_attrs=read-write) and finds the new primary by itself.  A
# primary and a synchronous streaming standby; the primary is killed with
# -m immediate under write load, the standby promoted; writes succeed again
# within seconds and no acknowledged write is lost (synchronous commit: an
# acknowledged write is on the standby).
use strict;
use warnings;

use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(env => { DB_TIMEOUT => 2, WORKERS => 3 });
my $pgbin = $t->{pgbin};
my $sb = $t->dir . '/standby';
my $sbsock = "$sb/run";
mkdir($sb) && mkdir($sbsock) or die "mkdir $sb: $!";
chmod(0755, $sb, $sbsock);
if ($> == 0) {
	my (undef, undef, $uid, $gid) = getpwnam('medrec');
	chown($uid, $gid, $sb, $sbsock) or die "chown: $!";
}

# Dies on failure: set-up, not a test.
sub pg {
	my (@cmd) = @_;
	my $r = Medrec::Stack::run_cmd(as_pg => 1, cwd => $sb, cmd => \@cmd);
	die "@cmd:\n$r->{out}$r->{err}" if $r->{status};
	return $r->{out};
}
sub standby_psql {
	my ($sql) = @_;
	return pg("$pgbin/psql", '-X', '-q', '-A', '-t', '-h', $sbsock,
	    '-U', 'postgres', '-d', 'medrec', '-c', $sql);
}

pg("$pgbin/pg_basebackup", '-D', "$sb/data", '-R', '-X', 'stream',
    '--checkpoint=fast',
    '-d', "host=" . $t->sockdir . " user=postgres application_name=standby");
pg("$pgbin/pg_ctl", '-D', "$sb/data", '-l', "$sb/postgres.log", '-w',
    '-o', "-c unix_socket_directories='$sbsock' -c listen_addresses=''",
    'start');
my $standby_up = 1;
END {
	# Stopped by pid file, as the harness stops the primary.
	if ($standby_up && -f "$sb/data/postmaster.pid") {
		local $?;
		Medrec::Stack::run_cmd(as_pg => 1, cwd => '/', cmd => [
		    "$pgbin/pg_ctl", '-D', "$sb/data", '-m', 'immediate', 'stop' ]);
	}
}
$t->psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'");
$t->psql('ALTER SYSTEM SET synchronous_commit = on');
$t->psql('SELECT pg_reload_conf()');
ok(wait_until(10, sub { $t->psql("SELECT sync_state FROM pg_stat_replication") =~ /sync/ }),
    'the standby replicates synchronously');

# The pool again, now with both servers in its connection string.
$t->stop_pool;
$t->start_pool(DATABASE_URL => "postgresql://medrec\@/medrec?host="
    . $t->sockdir . ",$sbsock&target_session_attrs=read-write");
$t->wait_ready;
my $u = $t->new_user;

my $dir = $t->dir;
my @kids;
for my $i (0 .. 2) {
	my $kid = fork() // die "fork: $!";
	if ($kid == 0) {
		open(my $out, '>', "$dir/failover.$i") or _exit(1);
		my $end = time + 9;
		my $n = 0;
		while (time < $end) {
			my $key = "failover-$i-" . $n++;
			for my $try (1 .. 200) {
				my $c = $t->request(POST => '/api/patients',
				    token => $u->{token}, timeout => 5,
				    headers => { 'Idempotency-Key' => $key },
				    json => { name => $key });
				printf $out "%s\t%.3f\t%s\n", $c->{status}, time, $key;
				last if $c->{status} == 201;
				sleep 0.1;
			}
		}
		close($out);
		_exit(0);
	}
	push @kids, $kid;
}
sleep 2.5;
$t->stop_pg('immediate');
my $killed = time;
pg("$pgbin/pg_ctl", '-D', "$sb/data", '-w', 'promote');
note(sprintf('primary killed, standby promoted in %.2f s', time - $killed));
waitpid($_, 0) for @kids;

my (%acked, @fail, $first_after);
for my $i (0 .. 2) {
	open(my $in, '<', "$dir/failover.$i") or die "$dir/failover.$i: $!";
	while (<$in>) {
		chomp;
		my ($status, $at, $key) = split /\t/;
		if ($status == 201) {
			$acked{$key} = 1;
			$first_after = $at if $at > $killed &&
			    (!defined $first_after || $at < $first_after);
		} else {
			push @fail, $status;
		}
	}
}
ok(keys %acked > 20, 'writes were acknowledged (' . keys(%acked) . ')');
ok(defined $first_after, 'writes succeed again after the failover');
my $gap = defined $first_after ? $first_after - $killed : 999;
cmp_ok($gap, '<', 10, sprintf('within seconds of the kill (%.2f s)', $gap));
my %clean = map { $_ => 1 } 502, 503, 504;
my @unclean = grep { !$clean{$_} } @fail;
is_deeply(\@unclean, [], 'requests during the failover failed cleanly (502/503/504) ('
    . scalar(@fail) . ' retried)');

my %stored = map { split /\|/ } split /\n/, standby_psql(
    "SELECT name, count(*) FROM patients WHERE name LIKE 'failover-%' GROUP BY name");
my @lost = grep { !$stored{$_} } keys %acked;
is_deeply(\@lost, [], 'no acknowledged write was lost');
my @dup = grep { $stored{$_} > 1 } keys %stored;
is_deeply(\@dup, [], 'no key made two records');
like(standby_psql('SELECT pg_is_in_recovery()'), qr/^f/, 'the standby is the primary now');

my $r = $t->request(GET => '/api/health');
is($r->{status}, 200, 'health is 200 on the new primary');

done_testing();
