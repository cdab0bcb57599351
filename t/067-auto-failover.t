# Automatic failover with pg_auto_failover, as the README's Deployment
# section sets it up: a monitor and two PostgreSQL nodes (three data
# folders, one machine, loopback TCP), synchronous replication, and the
# service given the multi-host URL `pg_autoctl show uri --formation default`
# prints (target_session_attrs=read-write).  Under a retrying write load
# (an Idempotency-Key on every create) the primary's postmaster is killed
# with SIGKILL; nobody promotes anything: pg_auto_failover does, and the
# pool finds the new primary by itself.  Measured: seconds until the first
# successful write after the kill, acknowledged writes lost, keys that made
# two records, and requests that got anything but a clean 502/503/504.
# Then the old primary comes back as the secondary, and a second failover
# the other way loses nothing either.
use strict;
use warnings;

use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until slurp);
use Medrec::Test;

# The monitor's failover timing, as the README gives it (milliseconds).
my %MONITOR_GUCS = (
	'pgautofailover.health_check_period'		  => 1000,
	'pgautofailover.health_check_timeout'		  => 1000,
	'pgautofailover.health_check_max_retries'	  => 2,
	'pgautofailover.health_check_retry_delay'	  => 500,
	'pgautofailover.node_considered_unhealthy_timeout' => 5000,
	'pgautofailover.primary_demote_timeout'		  => 10000,
);
# The keepers': an isolated primary demotes itself before the monitor's
# primary_demote_timeout lets the other node take over (seconds).
my %KEEPER_CONFIG = (
	'timeout.network_partition_timeout' => 8,
);

my $t = Medrec::Stack->new(env => { DB_TIMEOUT => 2, WORKERS => 3 });
# The PostgreSQL the extension was built for (15 on Debian 12), which need
# not be the newest one installed.
my ($pgbin) = map { m{^(.*)/lib/pgautofailover\.so$} ? "$1/bin" : () }
    glob('/usr/lib/postgresql/*/lib/pgautofailover.so');
die "no pgautofailover.so: apt-get install postgresql-15-auto-failover "
    . "pg-auto-failover-cli\n" unless defined $pgbin;
my $af = $t->dir . '/autofailover';
my $run = "$af/run";
for my $d ($af, $run, "$af/config", "$af/share") {
	mkdir($d) or die "mkdir $d: $!";
	chmod(0755, $d);
}
my @as;		# pg_autoctl refuses root: it runs as PostgreSQL's user
if ($> == 0) {
	my (undef, undef, $uid, $gid) = getpwnam('medrec');
	chown($uid, $gid, $af, $run, "$af/config", "$af/share")
	    or die "chown: $!";
	@as = ('setpriv', "--reuid=$uid", "--regid=$gid", '--init-groups');
}
# pg_autoctl keeps its configuration and state under XDG_CONFIG_HOME and
# XDG_DATA_HOME, and PostgreSQL's sockets go to PG_REGRESS_SOCK_DIR (else
# Debian's /var/run/postgresql, which is not ours).
my %env = (
	PATH		    => "$pgbin:$ENV{PATH}",
	HOME		    => $af,
	XDG_CONFIG_HOME	    => "$af/config",
	XDG_DATA_HOME	    => "$af/share",
	XDG_RUNTIME_DIR	    => $run,
	PG_REGRESS_SOCK_DIR => $run,
	PGHOST		    => $run,
	PGUSER		    => undef,
	PGPORT		    => undef,
	PGDATABASE	    => undef,
	PGPASSWORD	    => undef,
);
# The nodes' superuser is postgres, as on a Debian host; the monitor's
# is the user that made it.
my %node_env = (%env, PGUSER => 'postgres');

my %port;
for my $name (qw(monitor node1 node2)) {
	my ($s, $p) = Medrec::Stack::_hold_port();
	close($s);
	$port{$name} = $p;
}
my $monitor_url = "postgres://autoctl_node\@127.0.0.1:$port{monitor}"
    . '/pg_auto_failover?sslmode=disable';

my %pid;	# name => pid of its `pg_autoctl run`

# Stops the pg_autoctl supervisors by pid (each stops its postgres), then
# any postgres left behind, by the pid in its postmaster.pid.
sub stop_all {
	local $?;
	for my $name (qw(node2 node1 monitor)) {
		my $pid = delete $pid{$name} or next;
		kill('QUIT', $pid);	# pg_autoctl stop --immediate
		unless (wait_until(30, sub { waitpid($pid, POSIX::WNOHANG()) != 0 },
		    0.05)) {
			kill('KILL', $pid);
			waitpid($pid, 0);
		}
	}
	for my $name (qw(node2 node1 monitor)) {
		my ($pm) = slurp("$af/$name/postmaster.pid") =~ /^(\d+)/;
		kill('KILL', $pm) if $pm && kill(0, $pm);
	}
}
END { stop_all() }

# Dies on failure: set-up, not a test.
sub autoctl {
	my ($env, @args) = @_;
	my $r = Medrec::Stack::run_cmd(as_pg => 1, cwd => $af, env => $env,
	    timeout => 120, cmd => [ 'pg_autoctl', @args ]);
	die "pg_autoctl @args:\n$r->{out}$r->{err}" if $r->{status};
	return $r->{out};
}
sub start_node {
	my ($name, $env) = @_;
	$pid{$name} = Medrec::Stack::_spawn(cwd => $af, log => "$af/$name.log",
	    env => $env, cmd => [ @as, 'pg_autoctl', 'run', '--pgdata',
	    "$af/$name" ]);
}
sub psql {
	my ($name, $sql, %o) = @_;
	my $r = Medrec::Stack::run_cmd(as_pg => 1, cwd => $af, env => {
	    %env, PGUSER => $name eq 'monitor' ? undef : 'postgres' }, cmd => [
	    "$pgbin/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
	    '-h', $run, '-p', $port{$name},
	    '-d', $name eq 'monitor' ? 'pg_auto_failover' : 'medrec',
	    '-c', $sql ]);
	return undef if $r->{status} && $o{may_fail};
	die "psql $name: $sql\n$r->{out}$r->{err}" if $r->{status};
	chomp(my $out = $r->{out});
	return $out;
}
# { node name => "reported/assigned" } as the monitor sees them.
sub states {
	my $out = psql('monitor', 'SELECT nodename, reportedstate, goalstate '
	    . 'FROM pgautofailover.node ORDER BY nodename', may_fail => 1)
	    // return {};
	return { map { my ($n, $r, $g) = split /\|/; ($n => "$r/$g") }
	    split /\n/, $out };
}
sub wait_states {
	my ($secs, %want) = @_;
	my $got;
	return 1 if wait_until($secs, sub {
		$got = states();
		!grep { ($got->{$_} // '') ne $want{$_} } keys %want;
	}, 0.2);
	die "pg_auto_failover did not reach "
	    . join(', ', map { "$_ $want{$_}" } sort keys %want) . ' in '
	    . "$secs s: " . join(', ', map { "$_ $got->{$_}" } sort keys %$got)
	    . "\n" . join('', map { Medrec::Stack::_tail("$af/$_.log", 30) }
	    qw(monitor node1 node2));
}

###############################################################################
# The monitor, then node1 (the primary), then node2 (its standby).

autoctl(\%env, 'create', 'monitor', '--pgdata', "$af/monitor",
    '--pgport', $port{monitor}, '--hostname', '127.0.0.1',
    '--auth', 'trust', '--no-ssl');
# create monitor has no --listen: without this it listens on every address.
autoctl(\%env, 'config', 'set', '--pgdata', "$af/monitor",
    'postgresql.listen_addresses', '127.0.0.1');
start_node('monitor', \%env);
wait_until(30, sub { defined psql('monitor', 'SELECT 1', may_fail => 1) },
    0.1) or die "the monitor did not start:\n"
    . Medrec::Stack::_tail("$af/monitor.log", 30);
for my $guc (sort keys %MONITOR_GUCS) {
	psql('monitor', "ALTER SYSTEM SET $guc = $MONITOR_GUCS{$guc}");
}
psql('monitor', 'SELECT pg_reload_conf()');

# node1's cluster is made here, with postgres as its superuser (as on a
# Debian host); pg_autoctl takes an existing PGDATA for the first node.
my $r = Medrec::Stack::run_cmd(as_pg => 1, cwd => $af, cmd => [
    "$pgbin/initdb", '-D', "$af/node1", '-U', 'postgres', '-E', 'UTF8',
    '--locale=C.UTF-8', '--auth=trust', '--no-sync' ]);
die "initdb failed:\n$r->{out}$r->{err}" if $r->{status};
for my $name (qw(node1 node2)) {
	autoctl(\%node_env, 'create', 'postgres', '--pgdata', "$af/$name",
	    '--username', 'postgres', '--dbname', 'medrec', '--name', $name,
	    '--pgport', $port{$name}, '--hostname', '127.0.0.1',
	    '--listen', '127.0.0.1', '--auth', 'trust', '--no-ssl',
	    '--monitor', $monitor_url);
	autoctl(\%node_env, 'config', 'set', '--pgdata', "$af/$name", $_,
	    $KEEPER_CONFIG{$_}) for sort keys %KEEPER_CONFIG;
	start_node($name, \%node_env);
	wait_states(60, node1 => $name eq 'node1' ? 'single/single' :
	    'primary/primary', $name eq 'node1' ? () :
	    (node2 => 'secondary/secondary'));
}
ok(1, 'pg_auto_failover runs a monitor, a primary and a secondary');
like(psql('node1', 'SHOW synchronous_standby_names'), qr/pgautofailover_standby_/,
    'the primary replicates synchronously');

# The service's roles, on the primary: they replicate.
psql('node1', 'CREATE ROLE medrec_owner LOGIN');
psql('node1', 'CREATE ROLE medrec_app NOLOGIN');
psql('node1', 'CREATE ROLE medrec LOGIN IN ROLE medrec_app');
psql('node1', 'ALTER DATABASE medrec OWNER TO medrec_owner');

my $uri = autoctl(\%env, 'show', 'uri', '--pgdata', "$af/monitor",
    '--formation', 'default');
chomp($uri);
like($uri, qr{^postgres://127\.0\.0\.1:$port{node1},127\.0\.0\.1:$port{node2}/medrec\?.*\btarget_session_attrs=read-write\b},
    'show uri gives both nodes with target_session_attrs=read-write');
(my $app_url = $uri) =~ s{^postgres://}{postgres://medrec\@};
(my $owner_url = $uri) =~ s{^postgres://}{postgres://medrec_owner\@};

$t->stop_pool;
$t->start_pool(DATABASE_URL => $app_url, MIGRATION_DATABASE_URL => $owner_url);
$t->wait_ready(60);
my $u = $t->new_user;

###############################################################################
# A failover: write load, SIGKILL to the primary's postmaster, measure.

my $dir = $t->dir;

# failover($n, $primary, $standby): returns nothing; its figures are tests.
sub failover {
	my ($n, $primary, $standby) = @_;
	my $stop = "$dir/failover$n.stop";
	my @kids;
	for my $i (0 .. 2) {
		my $kid = fork() // die "fork: $!";
		if ($kid == 0) {
			open(my $out, '>', "$dir/failover$n.$i") or _exit(1);
			$out->autoflush(1);
			my $k = 0;
			until (-e $stop) {
				my $key = "autofailover$n-$i-" . $k++;
				my $give_up = time + 60;
				while (time < $give_up) {
					my $start = time;
					my $c = $t->request(POST => '/api/patients',
					    token => $u->{token}, timeout => 10,
					    headers => { 'Idempotency-Key' => $key },
					    json => { name => $key });
					printf $out "%s\t%.3f\t%s\t%.3f\n",
					    $c->{status}, time, $key, $start;
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
	my ($pm) = slurp("$af/$primary/postmaster.pid") =~ /^(\d+)/
	    or die "no pid in $af/$primary/postmaster.pid";
	# The node dies: its postmaster and, at the same moment, its
	# pg_autoctl (the whole process group), which would otherwise restart
	# PostgreSQL in place and, as often as not, keep it the primary.
	kill('KILL', $pm) or die "kill $pm: $!";
	kill('KILL', -$pid{$primary});
	my $killed = time;
	waitpid(delete $pid{$primary}, 0);

	# Until a write succeeds after the outage, then a little more load.
	# The outage starts with the first failure after the kill: a
	# backend can finish a commit (the standby has it) as it dies.
	my $first_after;
	wait_until(45, sub {
		my (@rows, $down);
		for my $i (0 .. 2) {
			push @rows, map { [ split /\t/ ] } split /\n/,
			    slurp("$dir/failover$n.$i");
		}
		for (@rows) {	# [ status, at, key, start ]
			$down = $_->[1] if $_->[0] != 201 && $_->[1] > $killed
			    && (!defined $down || $_->[1] < $down);
		}
		return 0 unless defined $down;
		for (@rows) {
			$first_after = $_->[1] if $_->[0] == 201 &&
			    $_->[3] > $down && (!defined $first_after ||
			    $_->[1] < $first_after);
		}
		return defined $first_after;
	}, 0.2);
	sleep 2;
	open(my $fh, '>', $stop) or die "$stop: $!";
	close($fh);
	waitpid($_, 0) for @kids;

	my (%acked, @fail);
	for my $i (0 .. 2) {
		for (split /\n/, slurp("$dir/failover$n.$i")) {
			my ($status, $at, $key) = split /\t/;
			if ($status == 201) {
				$acked{$key} = sprintf('%.3f', $at - $killed);
			} else {
				push @fail, $status;
			}
		}
	}
	my %stored = map { split /\|/ } split /\n/, psql($standby,
	    "SELECT name, count(*) FROM patients WHERE name LIKE "
	    . "'autofailover$n-%' GROUP BY name");
	my @lost = grep { !$stored{$_} } keys %acked;
	my @dup = grep { $stored{$_} > 1 } keys %stored;
	my %clean = map { $_ => 1 } 502, 503, 504;
	my @unclean = grep { !$clean{$_} } @fail;
	my $gap = defined $first_after ? $first_after - $killed : 999;
	diag(sprintf('failover %d: first write after %.1f s; lost %d; '
	    . 'duplicated %d; unclean %d (%d writes acknowledged, %d retried)',
	    $n, $gap, scalar @lost, scalar @dup, scalar @unclean,
	    scalar keys %acked, scalar @fail));

	ok(keys %acked > 20, "failover $n: writes were acknowledged ("
	    . keys(%acked) . ')');
	ok(defined $first_after, "failover $n: writes succeed again after "
	    . 'pg_auto_failover promoted the standby');
	cmp_ok($gap, '<=', 30, sprintf("failover $n: the first write came "
	    . '%.1f s after the kill', $gap));
	is_deeply(\@lost, [], "failover $n: no acknowledged write was lost")
	    or diag(join(', ', map { "$_ acknowledged at $acked{$_} s" }
	    sort @lost));
	is_deeply(\@dup, [], "failover $n: no key made two records");
	is_deeply(\@unclean, [], "failover $n: requests during the failover "
	    . 'failed cleanly (502/503/504)');
	like(psql($standby, 'SELECT pg_is_in_recovery()'), qr/^f/,
	    "failover $n: $standby is the primary now");
	is($t->request(GET => '/api/health')->{status}, 200,
	    "failover $n: health is 200 on the new primary");
}

failover(1, 'node1', 'node2');
# The old primary's pg_autoctl starts again (systemd's Restart= on a real
# host); it rejoins (pg_rewind) as the secondary, and the new primary
# waits for it before it turns synchronous replication back on.
start_node('node1', \%node_env);
ok(eval { wait_states(90, node1 => 'secondary/secondary',
    node2 => 'primary/primary') }, 'node1 comes back as the secondary')
    or diag($@);
failover(2, 'node2', 'node1');
start_node('node2', \%node_env);
ok(eval { wait_states(90, node1 => 'primary/primary',
    node2 => 'secondary/secondary') }, 'node2 comes back as the secondary')
    or diag($@);

$t->stop_pool;
stop_all();
ok(!grep({ kill(0, $_) } map { (slurp("$af/$_/postmaster.pid") =~ /^(\d+)/)[0]
    // () } qw(monitor node1 node2)), 'no postgres of the test is left');

done_testing();
