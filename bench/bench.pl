#!/usr/bin/perl
# The benchmark behind script/bench (which installs what it needs, builds,
# and runs this): a throw-away medrec stack measured side by side with the
# limits of the same machine, in one run, and optionally with other
# implementations of API.md.  See bench/README.md for what each figure is.
#
#	bench/bench.pl [--quick] [--attack | --history | --fhir | --keep-conn]
#	    [--scale N]
#	    [--audit-rows M] [--before REV] [--connections 64] [--runs 3]
#	    [--duration S] [--warmup S] [--compare [NAME=]URL ...] [--peers]
#	    [--keep]
#
# 1. A private PostgreSQL cluster made as script/server makes it (scram
#    passwords, the tables' owner runs the migrations, the service logs in as
#    a member of medrec_app), default durability settings, in a temp dir;
#    the pool (fcgi-app/medrec) with the caller's settings from the
#    environment (WORKERS, ...), and nginx with the product's configuration
#    rendered by script/nginx-conf plus two extra servers for the limits.
# 2. Seed: doctors, users with patients, an owner of 10,000 patients and
#    (not with --quick) one of --scale, all with generate_series as the
#    superuser (triggers off: no audit rows for seeded data); login users
#    carrying the hash the service itself made for a registered user;
#    tokens signed with the stack's own secret, exactly as the service signs
#    them; "next" links at random depths taken from the API.
# 3. Limits: nginx return 200, the no-op FastCGI responder (bench/noop-fcgi.c)
#    at the pool's size, pgbench running bench/sql/*.sql (checked against
#    db/*.c by bench/check-sql), one bcrypt hash at BCRYPT_COST.
# 4. Scenarios S1-S6 with wrk (bench/lua/), a warm-up then --runs runs each,
#    medians; S2 and its pgbench limit with group commit and without
#    (conf/medrec-postgresql.conf, commit_delay 0), in turn; S2 again with
#    AUDIT_READ_SYNC=off.
# 5. Under attack: S2 alone, then S2 while one client floods registrations
#    and another guesses one account's password from 256 loopback
#    addresses, with the account's owner logging in every 2 seconds.
#    --attack runs this alone (after the seed, without the big owner).
#    Worker memory after 1,000 and 100,000 requests (MAX_REQUESTS=0).
# 5b. --history, alone (after the seed, without the big owner): issue 14's
#    figures, each a ratio of two measurements of the same run: S2 and S3
#    on an empty audit trail and on one of --audit-rows rows, bytes per
#    audit row and the purge of a month; S4 with 30% of an owner's patients
#    deleted against none; a history page of 100,000 versions against one
#    of 100; a patient's export against psql's COPY of the same rows; S3
#    and PATCH against the build before history (--before, built here).
# 5c. --fhir, alone (after the seed, with owners of 10,000 and --scale
#    patients, 20,000 with --quick): issue 15's figures, each a ratio of
#    two measurements of the same run: the FHIR read of a patient against
#    S2, a FHIR search page through a next link of the big owner against
#    the 10,000 one's, and worker memory after 1,000 and 100,000 FHIR
#    requests.
# 5d. --keep-conn, alone (no seed): issue 16's connection reuse, the no-op
#    responder with a connection per request against fastcgi_keep_conn on
#    and an upstream keepalive of 8 and of 32, in turn; then a check that
#    no request waits behind idle kept connections.
# 6. --peers and --compare: the same scenarios on each other target, seeded
#    through its API.
# 7. bench/results/<UTC time>.tsv (every run) and bench/results/latest.md
#    (the table, also printed), with its chart (gnuplot) in latest.svg.
#
# Exit status: 0 when the table was made and no medrec scenario failed; 1
# when the plumbing broke (no table, or no chart); 2 when the table was made but a medrec
# scenario had more than 1% errors.  Everything started is stopped by PID
# at exit, Ctrl-C included; --keep (or LEAVE=1) keeps the temp dir.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use File::Temp qw(tempdir);
use Getopt::Long qw(GetOptions);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(strftime _exit WNOHANG);
use Time::HiRes qw(time sleep);

my $top;
BEGIN { $top = abs_path(dirname(__FILE__) . '/..') }
use lib "$top/t/lib";
use Medrec::Stack qw(wait_until slurp);

$| = 1;
my $JSON = JSON::PP->new->utf8->canonical;
my $started = time;
my @argv_copy = @ARGV;

my %opt = (connections => 64, runs => 3, scale => 1_000_000, threads => 2);
GetOptions(\%opt, 'quick', 'scale=i', 'connections=i', 'runs=i',
    'duration=i', 'warmup=i', 'compare=s@', 'peers', 'keep', 'threads=i',
    'results=s', 'attack', 'history', 'fhir', 'audit-rows=i', 'before=s',
    'keep-conn', 'help')
    or usage();
# --history compares S3 and PATCH with this commit's build: issue 14's
# parent, the service before history ('none' leaves the figure out).
$opt{before} //= '9b7f30d';
usage() if $opt{help} || @ARGV;
die "bench: --attack runs the under-attack scenario alone, on medrec only: "
    . "leave out --peers and --compare\n"
    if $opt{attack} && ($opt{peers} || $opt{compare});
die "bench: --history runs issue 14's figures alone, on medrec only: "
    . "leave out --attack, --peers and --compare\n"
    if $opt{history} && ($opt{attack} || $opt{peers} || $opt{compare});
die "bench: --fhir runs issue 15's figures alone, on medrec only: "
    . "leave out --attack, --history, --peers and --compare\n"
    if $opt{fhir} && ($opt{attack} || $opt{history} || $opt{peers}
    || $opt{compare});
die "bench: --keep-conn runs issue 16's connection reuse figures alone "
    . "(the no-op responder)\n" if $opt{'keep-conn'} && ($opt{attack} ||
    $opt{history} || $opt{fhir} || $opt{peers} || $opt{compare});
if ($opt{quick}) {
	$opt{runs} = 1 unless grep { /^--?runs/ } @argv_copy;
	$opt{duration} //= 3;
	$opt{warmup} //= 1;
}
$opt{duration} //= 10;
$opt{warmup} //= 5;
$opt{threads} = $opt{connections} if $opt{threads} > $opt{connections};
die "bench: --runs, --duration and --connections must be positive\n"
    if $opt{runs} < 1 || $opt{duration} < 1 || $opt{connections} < 1;
die "bench: --audit-rows must be 0 (no trail figures) or more\n"
    if ($opt{'audit-rows'} // 0) < 0;

sub usage {
	print STDERR <<'EOF';
usage: script/bench [--quick] [--attack | --history | --fhir | --keep-conn]
                    [--scale N]
                    [--audit-rows M] [--before REV] [--connections 64]
                    [--runs 3] [--duration 10] [--warmup 5]
                    [--compare [NAME=]URL ...] [--peers] [--keep]
                    [--results DIR] [--no-build]
EOF
	exit 64;
}

# Seed sizes.  --fhir pages through the big owner's list even with
# --quick, on a small one that checks the plumbing.
my $scale_given = grep { /^--?scale/ } @argv_copy;
my %seed = $opt{quick} ? (
	doctors => 1000, users => 100, per_user => 20, logins => 200,
	owner => 10_000,
	big => $opt{fhir} ? ($scale_given ? $opt{scale} : 20_000) : 0,
    ) : (
	doctors => 3000, users => 1000, per_user => 20, logins => 2000,
	owner => 10_000, big => $opt{attack} || $opt{history} ? 0 : $opt{scale},
    );
# --history's sizes: issue 14's, or small ones that check the plumbing.
# patients: each of the two owners of S4 (30% deleted, none deleted);
# versions: the long history (the short one has few_versions); events: the
# exported patient's audit events; audit_rows: the big trail (S2 and S3
# against an empty one); purge_rows: the month the purge drops.
my %hist = $opt{quick} ? (
	patients => $scale_given ? $opt{scale} : 20_000, versions => 1000,
	few_versions => 100, events => 10_000,
	audit_rows => $opt{'audit-rows'} // 200_000, purge_rows => 50_000,
    ) : (
	patients => $opt{scale}, versions => 100_000, few_versions => 100,
	events => 100_000, audit_rows => $opt{'audit-rows'} // 20_000_000,
	purge_rows => 1_000_000,
    );
# What --compare and --peers seed through the API.
my %api_seed = (users => $opt{quick} ? 16 : 64, per_user => 10,
    doctors => 100, owner => 10_000);
my $CURSORS = $opt{quick} ? 30 : 100;
my $PAGE = 50;

my $nproc = `nproc` + 0 || 1;
# --quick checks the plumbing: cheap hashes, so that S5 answers in a 3 s
# run even on a busy machine.
my $bcrypt_cost = $ENV{BCRYPT_COST} // ($opt{quick} ? 4 : 12);
my $pg_user = 'medrec';
my $pgbin = Medrec::Stack::pgbin();
my $results_dir = $opt{results} // "$top/bench/results";
# Only a full run replaces latest.md, which the README quotes.
my $latest = ($opt{attack} ? 'latest-attack' : $opt{history} ?
    'latest-history' : $opt{fhir} ? 'latest-fhir' : $opt{'keep-conn'} ?
    'latest-keepconn' : 'latest')
    . ($opt{quick} ? '-quick' : '') . '.md';
my $stamp = strftime('%Y%m%dT%H%M%SZ', gmtime);

my $work = tempdir('medrec-bench-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod(0755, $work) or die "chmod $work: $!\n";
my @cleanups;		# LIFO: subs that stop what was started
my $failed_plumbing = 1;
our $HTTP = HTTP::Tiny->new(keep_alive => 1, timeout => 60,
    agent => 'medrec-bench/1');

# Ctrl-C or a kill: die, so that everything started is stopped.  Say who
# sent it: on a shared machine it is not always the person at the terminal.
for my $sig (qw(INT TERM HUP)) {
	POSIX::sigaction(POSIX->can("SIG$sig")->(), POSIX::SigAction->new(sub {
		my (undef, $info) = @_;
		my $from = ref $info && $info->{pid} ? $info->{pid} : 0;
		my $who = $from ? (slurp("/proc/$from/cmdline") =~ tr/\0/ /r) : '';
		die "interrupted by SIG$sig"
		    . ($from ? " from pid $from ($who)" : '') . "\n";
	}, POSIX::SigSet->new, POSIX::SA_SIGINFO()));
}
$SIG{PIPE} = 'IGNORE';

###############################################################################
# Little helpers (they die; none of them is a measurement).

sub say { print STDERR "bench: @_\n" }

sub phase {
	my ($what) = @_;
	say(sprintf('[%4ds] %s', time - $started, $what));
}

sub spew {
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!\n";
	print $fh $text;
	close($fh) or die "cannot write $path: $!\n";
}

sub rand_hex {
	my ($n) = @_;
	open(my $fh, '<:raw', '/dev/urandom') or die "/dev/urandom: $!\n";
	read($fh, my $bytes, $n) == $n or die "short read\n";
	return unpack('H*', $bytes);
}

sub b64url {
	my ($s) = @_;
	my $e = encode_base64($s, '');
	$e =~ tr{+/}{-_};
	$e =~ s/=+$//;
	return $e;
}

sub run {
	my (%o) = @_;
	my $r = Medrec::Stack::run_cmd(%o);
	die "@{ $o{cmd} } failed (status $r->{status}):\n$r->{out}$r->{err}"
	    if $r->{status} && !$o{may_fail};
	return $r;
}

sub free_port {
	my ($sock, $port) = Medrec::Stack::_hold_port();
	close($sock);
	return $port;
}

sub median {
	my @v = sort { $a <=> $b } grep { defined } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub stop_pid {
	my ($pid, $sig, $timeout) = @_;
	return unless $pid && kill(0, $pid);
	kill($sig // 'TERM', $pid);
	my $gone = wait_until($timeout // 30, sub {
		my $w = waitpid($pid, WNOHANG);
		return $w == $pid || ($w == -1 && !kill(0, $pid));
	}, 0.02);
	unless ($gone) {
		kill('KILL', $pid);
		waitpid($pid, 0);
	}
}

# The CPU time (clock ticks) used so far by the processes in the trees
# rooted at @pids, from /proc/*/stat.
sub tree_ticks {
	my (@roots) = @_;
	return cpu_ticks(t => \@roots)->{t};
}

# cpu_ticks(name => [pids], ...): the clock ticks used so far by the
# process trees of each group, and by the whole machine: _busy and _idle,
# from /proc/stat.
sub cpu_ticks {
	my (%groups) = @_;
	my (%kids, %ticks, %out);
	for my $stat (glob('/proc/[0-9]*/stat')) {
		my $s = slurp($stat) or next;
		$s =~ /^(\d+) \(.*\) \S+ (\d+)((?: \S+){9}) (\d+) (\d+)/s or next;
		push @{ $kids{$2} }, $1;
		$ticks{$1} = $4 + $5;
	}
	for my $g (keys %groups) {
		my ($sum, @todo, %seen) = (0, grep { $_ } @{ $groups{$g} });
		while (defined(my $p = shift @todo)) {
			next if $seen{$p}++;
			$sum += $ticks{$p} // 0;
			push @todo, @{ $kids{$p} // [] };
		}
		$out{$g} = $sum;
	}
	my @f = split ' ', (slurp('/proc/stat') =~ /^cpu\s+(.*)$/m)[0] // '';
	$out{_idle} = ($f[3] // 0) + ($f[4] // 0);
	$out{_busy} = 0;
	$out{_busy} += $f[$_] // 0 for 0, 1, 2, 5, 6, 7;
	return \%out;
}

# settle(@pids): waits until the process trees of the target under test
# are idle (less than 5% of a core over half a second; at most 60 s, 20 s
# with --quick), so that a run does not pay for the tail of the one before
# (queued logins, a checkpoint).  Only the target's processes count: other
# work on a shared machine would keep it waiting for ever.  Without pids
# (a --compare URL) it waits 2 s.
our $settle_roots = sub { () };	# the pids of the target under test
sub settle {
	my @roots = grep { $_ } $settle_roots->();
	return sleep(2) unless @roots;
	my $hz = 100;
	my $t0 = tree_ticks(@roots);
	wait_until($opt{quick} ? 20 : 60, sub {
		sleep(0.5);
		my $t1 = tree_ticks(@roots);
		my $busy = ($t1 - $t0) / $hz / 0.5;
		$t0 = $t1;
		return $busy < 0.05;
	}, 0);
}

###############################################################################
# PostgreSQL: clusters made the way script/lib.sh's start_cluster makes them.

sub as_pg_prefix { return $> == 0 ? ('runuser', '-u', $pg_user, '--') : () }

# cluster_start(dir => DIR, tcp => PORT or undef): initdb with scram
# passwords, start it reachable on DIR/run (and on 127.0.0.1:PORT with
# tcp), record a stop in @cleanups.  Returns { dir, sockdir, port, pw,
# psql => sub (sql, db) }.
sub cluster_start {
	my (%o) = @_;
	my $dir = $o{dir};
	make_path("$dir/run");
	chmod(0755, $dir, "$dir/run");
	Medrec::Stack::_ensure_pg_user();
	my ($uid, $gid) = $> == 0 ? (getpwnam($pg_user))[2, 3] : ($>, $));
	chown($uid, $gid, $dir, "$dir/run") if $> == 0;
	my %c = (dir => $dir, sockdir => "$dir/run", port => $o{tcp} // 5432,
	    pw => rand_hex(24));
	spew("$dir/password", "$c{pw}\n");
	chmod(0600, "$dir/password");
	chown($uid, $gid, "$dir/password") if $> == 0;
	run(cmd => [ "$pgbin/initdb", '-D', "$dir/data", '-U', 'postgres',
	    '-E', 'UTF8', '--locale=C.UTF-8', '--auth=scram-sha-256',
	    "--pwfile=$dir/password" ], as_pg => 1, cwd => $dir, timeout => 120);
	# What script/server's cluster includes (script/lib.sh's
	# include_pg_conf), so that the figures are of what it runs: group
	# commit (conf/medrec-postgresql.conf).  The peers' clusters too: the
	# same PostgreSQL for every target.
	open(my $fh, '>>', "$dir/data/postgresql.conf")
	    or die "$dir/data/postgresql.conf: $!\n";
	print $fh "include '$top/conf/medrec-postgresql.conf'\t# medrec\n";
	close($fh) or die "$dir/data/postgresql.conf: $!\n";
	my $listen = $o{tcp} ? '127.0.0.1' : '';
	run(cmd => [ "$pgbin/pg_ctl", '-D', "$dir/data", '-l',
	    "$dir/postgres.log", '-w', '-t', '60', '-o',
	    "-c listen_addresses='$listen' -c port=$c{port} "
	    . "-c unix_socket_directories='$dir/run'", 'start' ],
	    as_pg => 1, cwd => $dir, timeout => 90);
	push @cleanups, sub {
		Medrec::Stack::run_cmd(cmd => [ "$pgbin/pg_ctl", '-D',
		    "$dir/data", '-m', 'fast', '-w', '-t', '60', 'stop' ],
		    as_pg => 1, cwd => $dir, timeout => 90);
	};
	$c{psql} = sub {
		my ($sql, $db) = @_;
		my $r = run(cmd => [ "$pgbin/psql", '-X', '-q', '-A', '-t', '-v',
		    'ON_ERROR_STOP=1', '-h', "$dir/run", '-p', $c{port}, '-U',
		    'postgres', '-d', $db // 'postgres', '-f', '-' ],
		    stdin => $sql, env => { PGPASSWORD => $c{pw} },
		    timeout => 3600);
		chomp(my $out = $r->{out});
		return $out;
	};
	return \%c;
}

###############################################################################
# The medrec stack.

my %M;			# the medrec stack: cluster, urls, pids, secrets
my $bin = Medrec::Stack::bin_path();

sub medrec_cluster {
	my $c = cluster_start(dir => "$work/pg");
	my ($owner_pw, $app_pw) = (rand_hex(24), rand_hex(24));
	$c->{psql}->(<<"EOF");
CREATE ROLE medrec_owner LOGIN PASSWORD '$owner_pw';
CREATE ROLE medrec_app NOLOGIN;
CREATE ROLE medrec LOGIN PASSWORD '$app_pw' IN ROLE medrec_app;
CREATE DATABASE medrec OWNER medrec_owner;
EOF
	$M{pg} = $c;
	$M{database_url} = "postgresql://medrec:$app_pw\@/medrec?host=$c->{sockdir}";
	$M{migration_url} =
	    "postgresql://medrec_owner:$owner_pw\@/medrec?host=$c->{sockdir}";
	$M{jwt_secret} = b64url(pack('H*', rand_hex(48)));
	# Group commit as conf/medrec-postgresql.conf sets it, for the table.
	$M{gc} = { map { split /\|/ } split /\n/, $c->{psql}->(
	    "SELECT name || '|' || setting FROM pg_settings WHERE name IN "
	    . "('commit_delay', 'commit_siblings')") };
}

sub sql { return $M{pg}{psql}->($_[0], 'medrec') }

sub postmaster {
	my ($c) = @_;
	my ($pid) = slurp("$c->{dir}/data/postmaster.pid") =~ /^(\d+)/;
	return $pid;
}

sub pidfile {
	my ($path) = @_;
	my ($pid) = slurp($path) =~ /(\d+)/;
	return $pid;
}

# The pool's environment: the caller's (so WORKERS=16 script/bench works),
# with our database, socket and secret, and no libpq variable.
sub pool_env {
	my (%extra) = @_;
	my %env = map { $_ => undef } qw(PGHOST PGPORT PGUSER PGPASSWORD
	    PGDATABASE PGSERVICE PGOPTIONS DB_HOST DB_PORT DB_USER DB_PASSWORD
	    DB_NAME);
	return { %env,
		LISTEN		=> "$work/pool.sock",
		SOCKET_MODE	=> '0666',
		DATABASE_URL	=> $M{database_url},
		MIGRATION_DATABASE_URL => $M{migration_url},
		JWT_SECRET	=> $M{jwt_secret},
		MIGRATIONS_DIR	=> "$top/db/migrations",
		BCRYPT_COST	=> $bcrypt_cost,
		%extra,
	};
}

# pool_spawn($bin, $name, %env): starts the pool $bin, listening on
# $work/$name.sock and logging to $work/$name.log, with pool_env(%env), and
# waits for its workers.  Returns its pid; stops it when it does not start.
sub pool_spawn {
	my ($which, $name, %env) = @_;
	my ($sock, $log) = ("$work/$name.sock", "$work/$name.log");
	my $pid = Medrec::Stack::_spawn(cmd => [ $which ], cwd => $work,
	    log => $log, env => pool_env(LISTEN => $sock, %env));
	my $want = $ENV{WORKERS} // ($nproc * 4 < 64 ? $nproc * 4 : 64);
	my $ok = eval { wait_until(60, sub {
		die "the pool exited; see $log\n" . tail($log)
		    if waitpid($pid, WNOHANG) == $pid;
		return -S $sock && Medrec::Stack::children_of($pid) >= $want;
	}, 0.05) };
	return $pid if $ok;
	my $err = $@ || "the pool did not start $want workers in 60 s\n"
	    . tail($log);
	stop_pid($pid, 'TERM', 75);
	die $err;
}

sub pool_start {
	my (%extra) = @_;
	$M{pool_settings} = { %extra };
	my $pid = $M{pool_pid} = pool_spawn($bin, 'pool', %extra);
	$M{workers} = scalar Medrec::Stack::children_of($pid);
	wait_health($M{url}) if $M{nginx_pid};
}

sub pool_stop {
	stop_pid($M{pool_pid}, 'TERM', 75) if $M{pool_pid};
	delete $M{pool_pid};
}

sub pool_restart {
	pool_stop();
	pool_start(@_);
}

sub tail {
	my ($path) = @_;
	my @l = split /\n/, slurp($path);
	@l = @l[-20 .. -1] if @l > 20;
	return "==> $path <==\n" . join("\n", @l) . "\n";
}

sub wait_health {
	my ($url) = @_;
	my $ok = wait_until(30, sub {
		my $r = HTTP::Tiny->new(timeout => 5)->get("$url/api/health");
		return $r->{status} == 200;
	}, 0.1);
	die "no healthy answer from $url/api/health in 30 s\n" unless $ok;
}

# nginx: the product's configuration (script/nginx-conf) for the service,
# plus bench/nginx-limits.conf.in: a return-200 server and the no-op
# responder, both logging as the site does.
# nginx_conf($dir, $api_port, $pool_socket): the product's configuration
# for a pool, rendered into $dir by script/nginx-conf; returns the port of
# the site's internal listener.
sub nginx_conf {
	my ($dir, $p_api, $sock) = @_;
	my $p_metrics = free_port();
	# The site's internal listener too, on a port of its own: the default
	# 9180 is script/server's, which may be running.  No proxy is
	# believed, whatever the caller's environment says: the under-attack
	# scenario's clients are told apart by their source addresses.
	run(cmd => [ "$top/script/nginx-conf", $dir, "127.0.0.1:$p_api",
	    $sock ], env => { NGINX_WORKERS => undef,
	    REAL_IP_FROM => undef, METRICS_LISTEN => "127.0.0.1:$p_metrics" });
	return $p_metrics;
}

# nginx_run($dir): checks and starts the nginx configured in $dir, stopped
# at exit; returns its pid.
sub nginx_run {
	my ($dir) = @_;
	run(cmd => [ 'nginx', '-t', '-q', '-p', $dir, '-c', "$dir/nginx.conf",
	    '-e', "$dir/error.log" ]);
	my $pid = Medrec::Stack::_spawn(cwd => $dir, log => "$dir/stderr.log",
	    cmd => [ 'nginx', '-p', $dir, '-c', "$dir/nginx.conf", '-e',
	    "$dir/error.log", '-g', 'daemon off;' ]);
	push @cleanups, sub { stop_pid($pid, 'QUIT', 15) };
	return $pid;
}

sub nginx_start {
	my $dir = "$work/nginx";
	my ($p_api, $p_ret, $p_noop) = (free_port(), free_port(), free_port());
	my $p_metrics = nginx_conf($dir, $p_api, "$work/pool.sock");
	$M{metrics_url} = "http://127.0.0.1:$p_metrics";
	my $limits = slurp("$top/bench/nginx-limits.conf.in");
	$limits =~ s/\@RETURN_LISTEN\@/127.0.0.1:$p_ret/g;
	$limits =~ s/\@NOOP_LISTEN\@/127.0.0.1:$p_noop/g;
	$limits =~ s/\@NOOP_SOCKET\@/$work\/noop.sock/g;
	$limits =~ s/\@DIR\@/$dir/g;
	spew("$dir/bench-limits.conf", $limits);
	my $conf = slurp("$dir/nginx.conf");
	my $keep = $opt{'keep-conn'} ? keepconn_conf($dir) : '';
	$conf =~ s{(include\s+\Q$dir\E/medrec\.conf;)}
	    {$1\n    include $dir/bench-limits.conf;$keep}
	    or die "bench: cannot find the site's include in $dir/nginx.conf\n";
	spew("$dir/nginx.conf", $conf);
	$M{nginx_pid} = nginx_run($dir);
	$M{url} = "http://127.0.0.1:$p_api";
	$M{return_url} = "http://127.0.0.1:$p_ret";
	$M{noop_url} = "http://127.0.0.1:$p_noop";
	wait_health($M{url});
}

sub noop_start {
	my $pid = Medrec::Stack::_spawn(cwd => $work, log => "$work/noop.log",
	    cmd => [ "$work/bin/noop-fcgi", "$work/noop.sock", $M{workers} ]);
	$M{noop_pid} = $pid;
	wait_until(10, sub { -S "$work/noop.sock" }) or
	    die "the no-op responder did not start\n" . tail("$work/noop.log");
}

sub noop_stop {
	stop_pid(delete $M{noop_pid}, 'TERM', 10);
}

###############################################################################
# HTTP through the API, for seeding (never measured).

sub api {
	my ($base, $method, $path, %o) = @_;
	my %h = %{ $o{headers} // {} };
	my %args = (headers => \%h);
	if (exists $o{json}) {
		$args{content} = $JSON->encode($o{json});
		$h{'Content-Type'} = 'application/json';
	}
	$h{Authorization} = "Bearer $o{token}" if $o{token};
	my $r = $HTTP->request($method, "$base$path", \%args);
	my %res = (status => $r->{status}, headers => $r->{headers},
	    body => $r->{content} // '');
	$res{json} = eval { $JSON->decode($res{body}) }
	    if ($r->{headers}{'content-type'} // '') =~ /json/;
	return \%res;
}

sub api_ok {
	my ($want, $base, $method, $path, %o) = @_;
	my $r = api($base, $method, $path, %o);
	die "$method $base$path: $r->{status} (want $want): "
	    . substr($r->{body}, 0, 300) . "\n" unless $r->{status} == $want;
	return $r;
}

# par_map($procs, \@items, sub { item -> result }): runs the sub on every
# item in $procs processes (each with its own kept-alive HTTP client) and
# returns the results in order.  Results go through JSON.
sub par_map {
	my ($procs, $items, $code) = @_;
	$procs = @$items if $procs > @$items;
	my @kids;
	for my $k (0 .. $procs - 1) {
		my $file = "$work/par.$k";
		my $pid = fork() // die "fork: $!\n";
		if ($pid == 0) {
			$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
			local $HTTP = HTTP::Tiny->new(keep_alive => 1,
			    timeout => 120, agent => 'medrec-bench/1');
			my @out;
			my $ok = eval {
				for (my $i = $k; $i < @$items; $i += $procs) {
					push @out, [ $i, $code->($items->[$i]) ];
				}
				1;
			};
			open(my $fh, '>', $file) or _exit(1);
			print $fh $JSON->encode({ ok => $ok ? 1 : 0,
			    err => $ok ? '' : "$@", out => \@out });
			close($fh);
			_exit(0);
		}
		push @kids, [ $pid, $file ];
	}
	my (@res, @errs);
	for my $kid (@kids) {
		waitpid($kid->[0], 0);
		my $d = eval { $JSON->decode(slurp($kid->[1])) };
		unlink($kid->[1]);
		if (!$d || !$d->{ok}) {
			push @errs, $d ? $d->{err} : "a worker died\n";
			next;
		}
		$res[ $_->[0] ] = $_->[1] for @{ $d->{out} };
	}
	die "seeding failed: $errs[0]" if @errs;
	return \@res;
}

# next_link($response): the path of its Link rel="next", or undef.
sub next_link {
	my ($r) = @_;
	my $l = $r->{headers}{link} // '';
	$l = join(', ', @$l) if ref $l;
	return undef unless $l =~ /<([^>]+)>\s*;\s*rel="?next"?/;
	my $u = $1;
	$u =~ s{^https?://[^/]+}{};
	return $u;
}

# fhir_next($response): the path of a FHIR Bundle's next link (an
# absolute URL: wrk wants the path), or undef.
sub fhir_next {
	my ($r) = @_;
	my ($l) = grep { ($_->{relation} // '') eq 'next' }
	    @{ ref $r->{json} eq 'HASH' && $r->{json}{link} || [] };
	return undef unless $l && defined $l->{url};
	return $l->{url} =~ s{^https?://[^/]+}{}r;
}

# cursors($base, $token, $rows, $path, $page, $fhir): "next" links at
# $CURSORS random depths of a list of $rows rows, through the API's offset
# (the link itself is whatever the target hands out: a cursor for medrec,
# an offset for the peers).  The list is /api/patients in pages of $PAGE
# unless $path and $page say otherwise (a patient's history); with $fhir,
# a FHIR search ($path?_count=$page&_offset=K), whose next link is in the
# Bundle rather than a Link header.
sub cursors {
	my ($base, $token, $rows, $path, $page, $fhir) = @_;
	$path //= '/api/patients';
	$page //= $PAGE;
	my @depths = map { int(rand($rows - 2 * $page)) } 1 .. $CURSORS;
	my $links = par_map(4, \@depths, sub {
		my ($d) = @_;
		if ($fhir) {
			my $r = api_ok(200, $base, 'GET',
			    "$path?_count=$page&_offset=$d", token => $token,
			    headers => { Accept => 'application/fhir+json' });
			return fhir_next($r) // die "no next link in the Bundle "
			    . "at _offset $d: " . substr($r->{body}, 0, 300) . "\n";
		}
		my $r = api_ok(200, $base, 'GET',
		    "$path?limit=$page&offset=$d", token => $token);
		my $n = next_link($r) // die "no Link rel=next at offset $d: "
		    . ($r->{headers}{link} // 'no Link header') . "\n";
		return $n;
	});
	return $links;
}

###############################################################################
# Seeding medrec: SQL for bulk, the API where the service's own work counts.

# A token as jwt_sign() in fcgi-app/jwt.c makes it, with the stack's secret.
sub mint_token {
	my ($uid) = @_;
	my $now = time;
	my $head = b64url('{"alg":"HS256","typ":"JWT"}');
	my $claims = b64url(sprintf('{"sub":"%d","iat":%d,"exp":%d,"jti":"%s"}',
	    $uid, $now, $now + 6 * 3600, b64url(pack('H*', rand_hex(16)))));
	return "$head.$claims." . b64url(hmac_sha256("$head.$claims",
	    $M{jwt_secret}));
}

my %D;		# data files and facts for the scenarios, per target

sub seed_medrec {
	my $base = $M{url};
	my %s = %seed;
	my $pw = 'bench password ' . rand_hex(4);
	# The one hash the service makes: at BCRYPT_COST, through its own code.
	my $r = api_ok(201, $base, 'POST', '/api/auth/register', json => {
	    name => 'Bench Hash', email => 'bench-hash@example.org',
	    password => $pw });
	my $hash = sql("SELECT password_hash FROM users WHERE email = "
	    . "'bench-hash\@example.org'");
	die "no hash for the registered user\n" unless $hash =~ /^\$2b\$/;
	my $ub = 1001;			# token users: 1001 ...
	my $lb = 100_001;		# login users: 100001 ...
	my ($owner, $big) = (11, 12);
	my $pb_owner = $s{users} * $s{per_user};
	my $pb_big = $pb_owner + $s{owner};
	my $t0 = time;
	# Kept: --history seeds the build before history's database with it.
	$M{base_seed_sql} = <<"EOF";
SET session_replication_role = replica;
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT id, 'Bench User ' || id, 'bench-' || id || '\@example.org', '$hash',
       now() - interval '1 day', now() - interval '1 day'
  FROM (SELECT $ub + g AS id FROM generate_series(0, $s{users} - 1) g
        UNION ALL SELECT $lb + g FROM generate_series(0, $s{logins} - 1) g
        UNION ALL VALUES ($owner), ($big)) u;
SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
-- S5's users log in from where they always do (wrk, on loopback): a
-- network the service knows, whose logins BCRYPT_SHARE does not cap.
INSERT INTO known_networks (user_id, network)
SELECT $lb + g, app_address_key('127.0.0.1')
  FROM generate_series(0, $s{logins} - 1) g;

INSERT INTO doctors (id, name, specialization, contact_info, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT g, 'Dr. Bench ' || g,
       (ARRAY['Cardiology','Dermatology','Neurology','Oncology','Pediatrics',
              'Psychiatry','Radiology','Surgery','Urology','Diagnostics'])[g % 10 + 1],
       'dr' || g || '\@example.org', t, t
  FROM generate_series(1, $s{doctors}) g,
       LATERAL (SELECT now() - interval '400 days' + g * interval '1 hour') x(t);
SELECT setval(pg_get_serial_sequence('doctors', 'id'), $s{doctors});

INSERT INTO patients (id, user_id, name, age, gender, address, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT g, $ub + (g - 1) / $s{per_user}, 'Patient ' || g, g % 100,
       (ARRAY['male','female','other','unknown'])[g % 4 + 1],
       g || ' Bench Street', t, t
  FROM generate_series(1, $pb_owner) g,
       LATERAL (SELECT now() - interval '400 days' + g * interval '1 minute') x(t);

INSERT INTO patients (id, user_id, name, age, gender, address, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT $pb_owner + g, $owner, 'Patient ' || g, g % 100,
       (ARRAY['male','female','other','unknown'])[g % 4 + 1],
       g || ' Owner Street', t, t
  FROM generate_series(1, $s{owner}) g,
       LATERAL (SELECT now() - interval '400 days' + g * interval '1 minute') x(t);
EOF
	sql($M{base_seed_sql});
	if ($s{big}) {
		phase("seeding the owner of $s{big} patients");
		sql(<<"EOF");
SET session_replication_role = replica;
INSERT INTO patients (id, user_id, name, age, gender, address, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT $pb_big + g, $big, 'Patient ' || g, g % 100,
       (ARRAY['male','female','other','unknown'])[g % 4 + 1],
       g || ' Scale Street', t, t
  FROM generate_series(1, $s{big}) g,
       LATERAL (SELECT now() - interval '800 days' + g * interval '30 seconds') x(t);
EOF
	}
	sql(<<"EOF");
SELECT setval(pg_get_serial_sequence('patients', 'id'), (SELECT max(id) FROM patients));
VACUUM ANALYZE;
CHECKPOINT;
EOF
	$M{seed_seconds} = time - $t0;
	$M{seed_counts} = sql('SELECT (SELECT count(*) FROM users) || \' users, \' '
	    . '|| (SELECT count(*) FROM doctors) || \' doctors, \' '
	    . '|| (SELECT count(*) FROM patients) || \' patients\'');

	# Data files for the wrk scripts.
	my $d = "$work/data-medrec";
	make_path($d);
	spew("$d/doctors", join('', map { "$_\n" } 1 .. $s{doctors}));
	my $tok = '';
	for my $i (0 .. $s{users} - 1) {
		my $ids = join(' ', map { $i * $s{per_user} + $_ } 1 .. $s{per_user});
		$tok .= mint_token($ub + $i) . "\t$ids\n";
	}
	spew("$d/tokens", $tok);
	spew("$d/logins", join('', map { 'bench-' . ($lb + $_)
	    . "\@example.org\t$pw\n" } 0 .. $s{logins} - 1));
	# A minted token must be as good as an issued one.
	my ($first) = split /\t/, $tok;
	api_ok(200, $base, 'GET', '/api/auth/me', token => $first);
	my %t = (dir => $d, doctors => "$d/doctors", tokens => "$d/tokens",
	    logins => "$d/logins", patch => 1);
	my $owner_tok = mint_token($owner);
	$t{s4} = { $s{owner} => [ $owner_tok, "$d/next-owner" ] };
	spew("$d/next-owner", join('', map { "$_\n" }
	    @{ cursors($base, $owner_tok, $s{owner}) }));
	if ($s{big}) {
		phase("taking $CURSORS next links at random depths of $s{big}");
		my $big_tok = mint_token($big);
		$t{s4}{ $s{big} } = [ $big_tok, "$d/next-big" ];
		spew("$d/next-big", join('', map { "$_\n" }
		    @{ cursors($base, $big_tok, $s{big}) }));
	}
	$D{medrec} = \%t;
	$M{pgbench_vars} = {
		doctors => $s{doctors}, users => $s{users}, user_base => $ub,
		per_user => $s{per_user}, patient_base => 0, addr => '127.0.0.1',
		jti => b64url(pack('H*', rand_hex(16))), iat => int(time),
		f => 'f', name => 'Bench Patient', gender => 'female',
		address => '1 Bench Street',
		timeout_ms => 1000 * ($ENV{DB_TIMEOUT} // 5),
	};
}

# seed_api($name, $base): what --compare and --peers targets get, through
# their API only: users (registered, so at the target's own bcrypt cost),
# their patients, doctors, an owner of 10,000 patients and next links.
sub seed_api {
	my ($name, $base) = @_;
	my %s = %api_seed;
	my $tag = rand_hex(4);
	my $users = par_map(8, [ 1 .. $s{users} ], sub {
		my ($i) = @_;
		my $pw = "bench-pass-$tag-$i";
		my $email = "bench-$tag-$i\@example.org";
		my $r = api_ok(201, $base, 'POST', '/api/auth/register', json =>
		    { name => "Bench User $i", email => $email, password => $pw });
		my @ids;
		for my $k (1 .. $s{per_user}) {
			my $p = api_ok(201, $base, 'POST', '/api/patients',
			    token => $r->{json}{token}, json => { name =>
			    "Patient $i-$k", age => $k, gender => 'female',
			    address => "$k Bench Street" });
			push @ids, $p->{json}{id};
		}
		return { email => $email, password => $pw,
		    token => $r->{json}{token}, ids => \@ids };
	});
	my $t0 = $users->[0]{token};
	my $doctors = par_map(4, [ 1 .. $s{doctors} ], sub {
		my ($i) = @_;
		return api_ok(201, $base, 'POST', '/api/doctors', token => $t0,
		    json => { name => "Dr. Bench $i", specialization =>
		    'Cardiology', contactInfo => "dr$i\@example.org" })
		    ->{json}{id};
	});
	my $or = api_ok(201, $base, 'POST', '/api/auth/register', json => {
	    name => 'Bench Owner', email => "bench-$tag-owner\@example.org",
	    password => "bench-pass-$tag-owner" });
	my $otok = $or->{json}{token};
	my @chunks = map { [ $_ * 500 + 1, ($_ + 1) * 500 ] }
	    0 .. $s{owner} / 500 - 1;
	par_map(8, \@chunks, sub {
		my ($c) = @_;
		for my $i ($c->[0] .. $c->[1]) {
			api_ok(201, $base, 'POST', '/api/patients', token => $otok,
			    json => { name => "Patient $i", age => $i % 100 });
		}
		return 1;
	});
	my $d = "$work/data-$name";
	make_path($d);
	spew("$d/doctors", join('', map { "$_\n" } @$doctors));
	spew("$d/tokens", join('', map { "$_->{token}\t@{ $_->{ids} }\n" }
	    @$users));
	spew("$d/logins", join('', map { "$_->{email}\t$_->{password}\n" }
	    @$users));
	spew("$d/next-owner", join('', map { "$_\n" }
	    @{ cursors($base, $otok, $s{owner}) }));
	# Does it take PATCH (S6's updates)?  The peers do not.
	my $p = api($base, 'PATCH', "/api/patients/$users->[0]{ids}[0]",
	    token => $t0, json => { address => '3 Bench Street' });
	$D{$name} = { dir => $d, doctors => "$d/doctors",
	    tokens => "$d/tokens", logins => "$d/logins",
	    patch => $p->{status} == 200 ? 1 : 0,
	    s4 => { $s{owner} => [ $otok, "$d/next-owner" ] } };
}

###############################################################################
# Measuring.

my @rows;		# every run: { scenario target run rps p50 p99 errors ... }

sub record {
	my ($scenario, $target, $run, $r) = @_;
	push @rows, { scenario => $scenario, target => $target, run => $run,
	    %$r };
	my $tsv = "$results_dir/$stamp.tsv";
	unless (-e $tsv) {
		spew($tsv, "scenario\ttarget\trun\treq_per_s\tp50_ms\tp99_ms\t"
		    . "errors\trequests\n");
	}
	open(my $fh, '>>', $tsv) or die "$tsv: $!\n";
	printf $fh "%s\t%s\t%s\t%.1f\t%.3f\t%.3f\t%d\t%d\n", $scenario,
	    $target, $run, $r->{rps}, $r->{p50}, $r->{p99}, $r->{errors},
	    $r->{requests};
	close($fh);
	say(sprintf('  %-14s %-10s run %s: %9.1f req/s  p50 %7.2f ms  p99 '
	    . '%8.2f ms  errors %d%s', $scenario, $target, $run, $r->{rps},
	    $r->{p50}, $r->{p99}, $r->{errors},
	    $r->{codes} ? " ($r->{codes})" : ''));
}

# wrk_start(url, script, args, duration, timeout, stop_after, connections,
# threads, tag): starts one wrk run in the background and returns its
# handle for wrk_wait.  connections and threads default to the run's
# options; tag names its output file, so that two runs can overlap (the
# under-attack scenario).  With stop_after, each thread stops after that
# many responses and wrk is interrupted (it would sleep out -d otherwise)
# once all have.
sub wrk_start {
	my (%o) = @_;
	my $d = $o{duration};
	my $tag = $o{tag} // 'wrk';
	my $threads = $o{threads} // $opt{threads};
	my $conns = $o{connections} // $opt{connections};
	$threads = $conns if $threads > $conns;
	my $stop = "$work/$tag-stop";
	my $out = "$work/$tag.out";
	unlink(glob("$stop.*"));
	my @cmd = ('wrk', '-t', $threads, '-c', $conns, '-d',
	    "${d}s", '--latency', '--timeout', ($o{timeout} // 10) . 's', '-s',
	    "$top/bench/lua/$o{script}", $o{url}, '--', @{ $o{args} // [] });
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
		open(STDOUT, '>', $out) or _exit(127);
		open(STDERR, '>&', \*STDOUT) or _exit(127);
		$ENV{BENCH_LUA} = "$top/bench/lua";
		$ENV{BENCH_STOP_FILE} = $stop;
		if ($o{stop_after}) {
			$ENV{BENCH_STOP_AFTER} = $o{stop_after};
		} else {
			delete $ENV{BENCH_STOP_AFTER};
		}
		exec { $cmd[0] } @cmd or _exit(127);
	}
	my $h = { pid => $pid, out => $out, stop => $stop, threads => $threads,
	    stop_after => $o{stop_after}, deadline => time + $d + 120 };
	# Stopped by PID whatever happens to the run that started it.
	push @cleanups, sub { stop_pid($h->{pid}, 'KILL', 5) unless $h->{done} };
	return $h;
}

# wrk_wait($handle): waits for a run wrk_start began and returns it,
# parsed from the BENCH line of bench/lua/common.lua: { rps p50 p99 errors
# requests codes failed, status => { code => count }, fivexx, socket }.
sub wrk_wait {
	my ($h) = @_;
	my ($pid, $stop) = @$h{qw(pid stop)};
	my $status;
	my $interrupted = 0;
	for (;;) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$status = $?;
			last;
		}
		my @stopped = $h->{stop_after} ? glob("$stop.*") : ();
		if ($h->{stop_after} && !$interrupted &&
		    @stopped >= $h->{threads}) {
			sleep(0.2);
			kill('INT', $pid);
			$interrupted = 1;
		}
		if (time > $h->{deadline}) {
			kill('KILL', $pid);
			waitpid($pid, 0);
			$h->{done} = 1;
			die "wrk did not finish in time\n";
		}
		sleep(0.05);
	}
	$h->{done} = 1;
	my $out = slurp($h->{out});
	$out =~ /^BENCH (.*)$/m
	    or die "wrk gave no result line (status $status):\n$out";
	my %f = map { split /=/, $_, 2 } split ' ', $1;
	my $sock = $f{connect} + $f{read} + $f{write} + $f{timeout};
	my $errors = $sock + $f{non2xx};
	my $secs = $f{duration_us} / 1e6 || 1;
	my %status;
	for (split /,/, $f{codes} // '') {
		my ($c, $n) = split /:/;
		$status{$c} += $n if $n;
	}
	my $other = $f{requests} - $f{non2xx};
	$status{'2xx'} = $other if $other > 0;
	my $fivexx = 0;
	$fivexx += $status{$_} for grep { /^5\d\d$/ } keys %status;
	my @http = map { "$_:$status{$_}" } sort grep { /^\d+$/ } keys %status;
	my @codes = @http ? ('http ' . join(',', @http)) : ();
	push @codes, "socket $sock" if $sock;
	return { rps => $f{requests} / $secs, p50 => $f{p50_us} / 1000,
	    p99 => $f{p99_us} / 1000, errors => $errors,
	    requests => $f{requests}, codes => join(', ', @codes),
	    status => \%status, fivexx => $fivexx, socket => $sock,
	    seconds => $secs,
	    failed => $errors > 0.01 * ($f{requests} || 1) || !$f{requests} };
}

# wrk_once(...): wrk_start's arguments; one run, waited for.
sub wrk_once {
	return wrk_wait(wrk_start(@_));
}

# scenario(name, target, url, script, args, timeout): a warm-up, then
# --runs measured runs, each after the machine settles.
sub scenario {
	my (%o) = @_;
	my $d = $opt{duration} * ($o{longer} // 1);
	phase("$o{name} on $o{target}");
	settle();
	# The runs follow the warm-up and each other at once, in the steady
	# state, unless what a run leaves queued is long to finish (logins:
	# nginx drops them when wrk closes, but the pool still hashes them).
	wrk_once(%o, duration => $opt{warmup}) if $opt{warmup};
	for my $run (1 .. $opt{runs}) {
		settle() if $o{settle};
		record($o{name}, $o{target}, $run, wrk_once(%o, duration => $d));
	}
}

sub pgbench_once {
	my ($file, $vars, $duration, $tag) = @_;
	my $prefix = "$work/pgbench/$tag";
	make_path("$work/pgbench");
	unlink(glob("$prefix.*"));
	my $r = run(cmd => [ "$pgbin/pgbench", '-n', '-M', 'prepared', '-c',
	    $M{workers}, '-j', $opt{threads} < $M{workers} ? $opt{threads} :
	    $M{workers}, '-T', $duration, '-f', "$top/bench/sql/$file", '-l',
	    "--log-prefix=$prefix", (map { ('-D', "$_=$vars->{$_}") }
	    sort keys %$vars), $M{database_url} ], timeout => $duration + 120,
	    cwd => $work, may_fail => 1);
	my $out = "$r->{out}$r->{err}";
	my ($tps) = $out =~ /^tps = ([\d.]+)/m;
	die "pgbench $file gave no tps:\n$out" unless defined $tps;
	my ($fails) = $out =~ /number of failed transactions: (\d+)/;
	my $aborted = () = $out =~ /aborted/g;
	my ($done) = $out =~ /number of transactions actually processed: (\d+)/;
	my @lat;
	for my $log (glob("$prefix.*")) {
		open(my $fh, '<', $log) or next;
		while (<$fh>) {
			my @f = split;
			push @lat, $f[2] if @f >= 6;
		}
		close($fh);
		unlink($log);
	}
	@lat = sort { $a <=> $b } @lat;
	my $pct = sub { @lat ? $lat[ int($_[0] * $#lat) ] / 1000 : 0 };
	my $errors = ($fails // 0) + $aborted + ($r->{status} ? 1 : 0);
	return { rps => $tps, p50 => $pct->(0.50), p99 => $pct->(0.99),
	    errors => $errors, requests => $done // scalar(@lat),
	    codes => $r->{status} ? "pgbench status $r->{status}" : '',
	    failed => $errors > 0.01 * ($done || 1) || !$done };
}

sub pgbench_scenario {
	my ($name, $file, %vars) = @_;
	phase("$name (pgbench -M prepared -c $M{workers})");
	my $vars = { %{ $M{pgbench_vars} }, %vars };
	settle();
	pgbench_once($file, $vars, $opt{warmup}, "$name-warmup")
	    if $opt{warmup};
	for my $run (1 .. $opt{runs}) {
		record($name, 'limit', $run,
		    pgbench_once($file, $vars, $opt{duration}, "$name-$run"));
	}
}

# group_commit($on): the medrec cluster's group commit as
# conf/medrec-postgresql.conf sets it, or none (commit_delay = 0: each
# commit flushes as soon as it can).  ALTER SYSTEM, whose
# postgresql.auto.conf wins over the included file, then a reload, which
# idle backends (the pool's, pgbench's next ones) take before their next
# command; the wait is for a new session to see the setting.
sub group_commit {
	my ($on) = @_;
	my $psql = $M{pg}{psql};
	$psql->(($on ? 'ALTER SYSTEM RESET commit_delay;' :
	    'ALTER SYSTEM SET commit_delay = 0;') . "\nSELECT pg_reload_conf();");
	my $want = $on ? $M{gc}{commit_delay} : 0;
	wait_until(10, sub { $psql->("SELECT setting FROM pg_settings WHERE "
	    . "name = 'commit_delay'") eq $want }, 0.05)
	    or die "commit_delay did not become $want after a reload\n";
}

# Issue 16: S2 with durable read audits (AUDIT_READ_SYNC=on) with group
# commit and without: pgbench's S2 limit, then medrec's S2, each in turn
# (with, without, with, without, ...) so that a shared machine's drift falls
# on both alike.  Recorded as pgbench-S2 and S2 (with: what script/server
# runs) and pgbench-S2-nogc and S2-nogc.
sub group_commit_scenarios {
	my $vars = { %{ $M{pgbench_vars} }, read_sync_off => 'f' };
	my %s2 = (url => $M{url}, script => 's2.lua',
	    args => [ $D{medrec}{tokens} ]);
	for my $p ([ 'pgbench-S2', 'limit', sub {
		pgbench_once('s2-patient-get.sql', $vars, $_[0], $_[1]) } ],
	    [ 'S2', 'medrec', sub { wrk_once(%s2, duration => $_[0]) } ]) {
		my ($name, $target, $once) = @$p;
		phase("$name on $target, with group commit (commit_delay "
		    . "$M{gc}{commit_delay}, commit_siblings "
		    . "$M{gc}{commit_siblings}) and without, in turn");
		settle();
		if ($opt{warmup}) {
			for my $on (1, 0) {
				group_commit($on);
				$once->($opt{warmup}, "$name-$on-warmup");
			}
		}
		for my $run (1 .. $opt{runs}) {
			for my $on (1, 0) {
				group_commit($on);
				my $n = $on ? $name : "$name-nogc";
				record($n, $target, $run,
				    $once->($opt{duration}, "$n-$run"));
			}
		}
		group_commit(1);
	}
}

# The target scenarios S1-S6 on one target whose data is $D{$t}.
sub scenarios_for {
	my ($t, $url, @only) = @_;
	my $d = $D{$t};
	my %want = map { $_ => 1 } @only;
	my $want = sub { !@only || $want{ $_[0] } };
	scenario(name => 'S1', target => $t, url => $url, script => 's1.lua',
	    args => [ $d->{doctors} ]) if $want->('S1');
	scenario(name => 'S2', target => $t, url => $url, script => 's2.lua',
	    args => [ $d->{tokens} ]) if $want->('S2');
	scenario(name => 'S3', target => $t, url => $url, script => 's3.lua',
	    args => [ $d->{tokens} ]) if $want->('S3');
	for my $n (sort { $a <=> $b } keys %{ $d->{s4} }) {
		next unless $want->('S4');
		scenario(name => "S4-$n", target => $t, url => $url,
		    script => 's4.lua', args => $d->{s4}{$n});
	}
	scenario(name => 'S6', target => $t, url => $url, script => 's6.lua',
	    args => [ $d->{tokens}, $d->{doctors}, $d->{patch} ])
	    if $want->('S6');
	# The login ceiling, measured right before medrec's S5 so that both
	# see the same machine (a shared one is not always as idle).
	bcrypt_ceiling() if $t eq 'medrec' && $want->('S5');
	# Last: logins leave queued hashes behind (settle() waits for them).
	# Each run four times as long: under this load a login takes about
	# WORKERS / cores hash times, the first answers of a run come that
	# late, and what is half done when it ends is lost to it: about 1.5 s
	# of a 40 s run.
	scenario(name => 'S5', target => $t, url => $url, script => 's5.lua',
	    args => [ $d->{logins} ], timeout => 60, longer => 4, settle => 1)
	    if $want->('S5');
}

# bcrypt_ceiling(): one hash's time alone, then as many hashing processes
# as cores at once: the ceiling is the hashes per second they make
# together (on an idle machine, cores / one hash's time).
sub bcrypt_ceiling {
	phase("bcrypt at cost $bcrypt_cost, alone and on $nproc cores");
	settle();
	my $n = $opt{quick} ? 3 : 8;
	my $one = run(cmd => [ "$work/bin/bcrypt-time", $bcrypt_cost, $n ]);
	$M{bcrypt} = $one->{out} + 0;
	my @kids;
	for my $i (1 .. $nproc) {
		my $pid = open(my $fh, '-|') // die "fork: $!\n";
		if ($pid == 0) {
			exec("$work/bin/bcrypt-time", $bcrypt_cost, $n) or _exit(127);
		}
		push @kids, $fh;
	}
	my $rate = 0;
	for my $fh (@kids) {
		my $t = <$fh>;
		close($fh);
		die "bcrypt-time failed\n" unless $t && $t > 0;
		$rate += 1 / $t;
	}
	$M{ceiling} = $rate;
}

sub rss_of_workers {
	my %rss;
	for my $pid (Medrec::Stack::children_of($M{pool_pid})) {
		my ($kb) = slurp("/proc/$pid/status") =~ /^VmRSS:\s+(\d+)\s+kB/m;
		$rss{$pid} = $kb if defined $kb;
	}
	return \%rss;
}

# memory_step($script, \@args, $what): VmRSS of every worker of a pool
# that never recycles them (MAX_REQUESTS=0) after 1,000 and 100,000
# requests of $script (mem.lua's cheap reads unless --fhir says
# otherwise), recorded in $M{memory} or, for $what, $M{$what}.
sub memory_step {
	my ($script, $args, $what) = @_;
	my $d = $D{medrec};
	$script //= 'mem.lua';
	$args //= [ $d->{tokens}, $d->{doctors} ];
	my @steps = $opt{quick} ? (1000, 10_000) : (1000, 100_000);
	phase("worker memory after " . join(' and ', @steps)
	    . " requests of $script (MAX_REQUESTS=0)");
	pool_restart(MAX_REQUESTS => 0);
	my ($done, %mem) = (0);
	for my $n (@steps) {
		my $more = $n - $done;
		my $r = wrk_once(url => $M{url}, script => $script,
		    args => $args, duration => 600,
		    stop_after => int(($more + $opt{threads} - 1) / $opt{threads}));
		die "the memory step had $r->{errors} errors ($r->{codes})\n"
		    if $r->{failed};
		$done += $r->{requests};
		settle();
		$mem{$n} = { requests => $done, rss => rss_of_workers() };
	}
	$M{ $what // 'memory' } = { steps => \@steps, %mem };
	pool_restart();
}

###############################################################################
# Under attack (issue 13): S2 alone, then S2 again while one client floods
# registrations and another guesses one account's password from 256
# loopback addresses; all the while the account's owner logs in every 2
# seconds from the address they last logged in from.  Loopback only, and
# bounded: every client stops at the end of the attack's window, and is
# killed by PID if it has not.

my @attack;		# one entry per run: see attack_run()
my %attack_live;	# pids of attack clients not yet waited for
my $ATTACK_GUESSERS = 16;	# processes sending wrong passwords
my $ATTACK_FLOODERS = 16;	# wrk connections registering
my $ATTACK_ADDRESSES = 256;	# the guessers' source addresses
my $ATTACK_READERS = 32;	# S2 connections, unless --connections says
# Seconds between the owner's logins.  Each is a bcrypt hash at
# BCRYPT_COST (a quarter of a second of a core at 12): every half second,
# the owner alone took S2 to 0.54 × on this 2-core machine, which would
# measure the owner rather than the attack.
my $OWNER_EVERY = 2;

# The guessers' addresses: 127.0.1.1 ... 127.0.16.16, never 127.0.0.1,
# which the owner, the readers and the flood use.  Linux answers the whole
# of 127/8 on lo, and the bench's nginx believes no X-Forwarded-For, so the
# pool sees each as a client network of its own.
sub guess_addresses {
	return map { sprintf('127.0.%d.%d', 1 + int($_ / 16), 1 + $_ % 16) }
	    0 .. $ATTACK_ADDRESSES - 1;
}

# Nearest-rank percentile of a sorted list (with few samples, p99 is the
# slowest).
sub pctl {
	my ($p, @v) = @_;
	return undef unless @v;
	my $i = int($p * @v + 0.999999) - 1;
	$i = 0 if $i < 0;
	return $v[$i];
}

# attack_client($file, $until, $code): forks a client that runs $code
# until time $until and writes what it returns to $file as JSON.  Returns
# the pid, which attack_reap waits for (the cleanups kill it until then,
# and never after: its number may be someone else's by then).
sub attack_client {
	my ($file, $until, $code) = @_;
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
		my $out = eval { $code->($until) } // { error => "$@" };
		open(my $fh, '>', $file) or _exit(1);
		print $fh $JSON->encode($out);
		close($fh);
		_exit(0);
	}
	$attack_live{$pid} = 1;
	push @cleanups, sub { stop_pid($pid, 'KILL', 5) if delete $attack_live{$pid} };
	return $pid;
}

# attack_reap($pid, $until): waits for an attack client until $until, then
# kills it.
sub attack_reap {
	my ($pid, $until) = @_;
	my $gone = wait_until($until - time, sub {
		waitpid($pid, WNOHANG) == $pid }, 0.05);
	stop_pid($pid, 'KILL', 5) unless $gone;
	delete $attack_live{$pid};
}

# One login, timed.  HTTP::Tiny's 599 is a request that got no answer.
sub timed_login {
	my ($http, $email, $password) = @_;
	my $t = time;
	my $r = $http->request('POST', "$M{url}/api/auth/login", {
	    headers => { 'Content-Type' => 'application/json' },
	    content => $JSON->encode({ email => $email,
	    password => $password }) });
	return ($r->{status}, time - $t);
}

# raw_post($conn, $path, $body): one HTTP/1.1 POST on a kept-alive
# connection { sock, addr, port, buf }, opened (from addr) when it has none.
# Returns the status, 599 for no answer in 10 s or a connection lost.
# Cheaper than HTTP::Tiny by some way: the guessers share the cores with
# the service, and their own work should not be what slows it.
sub raw_post {
	my ($c, $path, $body) = @_;
	unless ($c->{sock}) {
		$c->{sock} = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
		    PeerPort => $c->{port}, LocalAddr => $c->{addr},
		    Proto => 'tcp', Timeout => 10) or return 599;
		$c->{buf} = '';
	}
	my $sock = $c->{sock};
	my $req = "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    . "Content-Type: application/json\r\nContent-Length: "
	    . length($body) . "\r\n\r\n$body";
	my $lost = sub { close($sock); delete $c->{sock}; return 599 };
	defined(syswrite($sock, $req)) or return $lost->();
	my $sel = IO::Select->new($sock);
	my ($status, $len, $close);
	for (;;) {
		if (!defined $len && $c->{buf} =~ /\r\n\r\n/) {
			my ($head) = $c->{buf} =~ /^(.*?\r\n)\r\n/s;
			($status) = $head =~ m{^HTTP/1\.\d (\d{3})};
			($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
			$close = $head =~ /^Connection:\s*close/mi;
			return $lost->() unless $status && defined $len;
			substr($c->{buf}, 0, length($head) + 2, '');
		}
		if (defined $len && length($c->{buf}) >= $len) {
			substr($c->{buf}, 0, $len, '');
			$lost->() if $close;
			return $status;
		}
		$sel->can_read(10) or return $lost->();
		my $n = sysread($sock, $c->{buf}, 65536, length($c->{buf}));
		return $lost->() unless $n;
	}
}

# A guesser: wrong passwords for $email, as fast as it gets answers, from
# each of @addrs in turn, one kept-alive connection per address.
sub guesser {
	my ($email, @addrs) = @_;
	my ($port) = $M{url} =~ /:(\d+)$/;
	return sub {
		my ($until) = @_;
		my @conn = map { { addr => $_, port => $port } } @addrs;
		my (%status, @lat);
		my ($i, $t0) = (0, time);
		while (time < $until) {
			my $t = time;
			my $s = raw_post($conn[$i++ % @conn], '/api/auth/login',
			    $JSON->encode({ email => $email,
			    password => "wrong password $i" }));
			push @lat, time - $t;
			$status{$s}++;
		}
		return { status => \%status, lat => \@lat,
		    seconds => time - $t0 };
	};
}

# The owner: the right password from 127.0.0.1 every $OWNER_EVERY
# seconds, each login on a new connection, as a browser coming back.
sub owner_probe {
	my ($email, $password) = @_;
	return sub {
		my ($until) = @_;
		my $http = HTTP::Tiny->new(keep_alive => 0, timeout => 30,
		    local_address => '127.0.0.1', agent => 'medrec-bench-owner/1');
		my ($t0, @logins) = (time);
		# At least once, even when a busy machine started us late.
		my $next = $t0;
		do {
			my $wait = $next - time;
			sleep($wait) if $wait > 0;
			my ($s, $l) = timed_login($http, $email, $password);
			push @logins, [ sprintf('%.2f', time - $t0) + 0, $s, $l ];
			$next += $OWNER_EVERY;
		} while ($next < $until);
		return { logins => \@logins };
	};
}

# The pool's count of bcrypt hashes and of 503 refusals (/metrics).
sub password_counters {
	my $r = HTTP::Tiny->new(timeout => 5)->get("$M{metrics_url}/metrics");
	my %c;
	$c{$1} = $2 while ($r->{content} // '') =~
	    /^medrec_password_(hashes|refused)_total (\d+)$/mg;
	return \%c;
}

sub status_sum {
	my ($into, $from) = @_;
	$into->{$_} += $from->{$_} for keys %{ $from // {} };
}

my @CPU_GROUPS = qw(pool postgres nginx readers attackers);

# s2_with_cpu(\%wrk, @attacker_pids): one S2 run (wrk_start's arguments),
# and where the machine's CPU went while it ran: {cpu}{group} is the share
# of all cores each of @CPU_GROUPS took, rest what the rest of the machine
# did (the bench's own process, and other work on a shared machine), idle
# what was left.
sub s2_with_cpu {
	my ($s2, @attackers) = @_;
	my $h = wrk_start(%$s2);
	my %g = (pool => [ $M{pool_pid} ], postgres => [ postmaster($M{pg}) ],
	    nginx => [ $M{nginx_pid} ], readers => [ $h->{pid} ],
	    attackers => \@attackers);
	my ($t0, $c0) = (time, cpu_ticks(%g));
	sleep($s2->{duration} > 1 ? $s2->{duration} - 0.3 : 0.7);
	my ($t1, $c1) = (time, cpu_ticks(%g));
	my $r = wrk_wait($h);
	my $per = 100 * ($t1 - $t0) * $nproc;	# ticks of all cores
	my %cpu = map { $_ => ($c1->{$_} - $c0->{$_}) / $per } keys %$c1;
	$cpu{rest} = $cpu{_busy};
	$cpu{rest} -= $cpu{$_} for @CPU_GROUPS;
	$cpu{rest} = 0 if $cpu{rest} < 0;
	$cpu{idle} = delete $cpu{_idle};
	delete $cpu{_busy};
	$r->{cpu} = \%cpu;
	return $r;
}

# attack_run($run, $victim): one S2 run alone, then one under attack.
sub attack_run {
	my ($run, $email, $password, $conns) = @_;
	my $d = $D{medrec};
	my %s2 = (url => $M{url}, script => 's2.lua', args => [ $d->{tokens} ],
	    connections => $conns, tag => 'attack-s2',
	    duration => $opt{duration});
	settle();
	my $calm = s2_with_cpu(\%s2);
	record('S2-undisturbed', 'attack', $run, $calm);

	settle();
	# Before the attack: the owner logs in from 127.0.0.1, which makes it
	# a network the account knows.
	my ($s, $l) = timed_login(HTTP::Tiny->new(keep_alive => 0,
	    timeout => 30, local_address => '127.0.0.1'), $email, $password);
	die "the owner's login before the attack was $s, not 200\n"
	    unless $s == 200;
	# The attack starts a second before the measured S2 run and ends a
	# second after it, so that S2 sees it in full swing throughout.
	my $lead = 1;
	my $window = $opt{duration} + 2 * $lead;
	my $c0 = password_counters();
	my $t0 = time;
	my $until = $t0 + $window;
	my $flood = wrk_start(url => $M{url}, script => 'register-flood.lua',
	    connections => $ATTACK_FLOODERS, duration => $window,
	    tag => 'attack-flood');
	my $probe = attack_client("$work/owner", $until,
	    owner_probe($email, $password));
	my @addrs = guess_addresses();
	my @kids;
	for my $k (0 .. $ATTACK_GUESSERS - 1) {
		my @mine = @addrs[ grep { $_ % $ATTACK_GUESSERS == $k }
		    0 .. $#addrs ];
		push @kids, [ attack_client("$work/guess.$k", $until,
		    guesser($email, @mine)), "$work/guess.$k" ];
	}
	sleep($t0 + $lead - time) if $t0 + $lead > time;
	my $hot = s2_with_cpu(\%s2, $flood->{pid}, $probe,
	    map { $_->[0] } @kids);
	record('S2-under-attack', 'attack', $run, $hot);
	my $fl = wrk_wait($flood);

	# Everyone stops at $until; a request in flight then has its own
	# timeout (10 s for a guess, 30 s for the owner).
	my %guess = (status => {}, lat => [], seconds => 0);
	attack_reap($_, $until + 40) for $probe, map { $_->[0] } @kids;
	my $c1 = password_counters();
	for my $kid (@kids) {
		my $g = eval { $JSON->decode(slurp($kid->[1])) }
		    // die "a guesser left no result\n";
		die "a guesser failed: $g->{error}" if $g->{error};
		status_sum($guess{status}, $g->{status});
		push @{ $guess{lat} }, @{ $g->{lat} };
		$guess{seconds} = $g->{seconds} if $g->{seconds} > $guess{seconds};
		unlink($kid->[1]);
	}
	my $o = eval { $JSON->decode(slurp("$work/owner")) }
	    // die "the owner's probe left no result\n";
	die "the owner's probe failed: $o->{error}" if $o->{error};
	unlink("$work/owner");

	# The attackers' rows: errors are what no client should get, socket
	# errors and 5xx other than the 503 the budget sheds with.
	my $bad = sub {
		my ($st) = @_;
		my $n = 0;
		$n += $st->{$_} for grep { /^(5\d\d)$/ && $1 != 503 } keys %$st;
		return $n;
	};
	my @gl = sort { $a <=> $b } @{ $guess{lat} };
	my %gs = %{ $guess{status} };
	my $gsock = delete($gs{599}) // 0;
	my $guess_row = { rps => @gl / ($guess{seconds} || 1),
	    p50 => 1000 * (pctl(0.50, @gl) // 0),
	    p99 => 1000 * (pctl(0.99, @gl) // 0),
	    errors => $gsock + $bad->(\%gs), requests => scalar(@gl),
	    status => \%gs, socket => $gsock, seconds => $guess{seconds} };
	$guess_row->{codes} = join(', ', (map { "$_:$gs{$_}" } sort keys %gs),
	    $gsock ? "no answer $gsock" : ());
	record('login-guesses', 'attack', $run, $guess_row);
	$fl->{errors} = $fl->{socket} + $bad->($fl->{status});
	record('register-flood', 'attack', $run, $fl);

	my @ol = sort { $a <=> $b } map { $_->[2] } @{ $o->{logins} };
	my %os;
	$os{ $_->[1] }++ for @{ $o->{logins} };
	my $not200 = grep { $_->[1] != 200 } @{ $o->{logins} };
	my $owner_row = { rps => @ol / $window,
	    p50 => 1000 * (pctl(0.50, @ol) // 0),
	    p99 => 1000 * (pctl(0.99, @ol) // 0), errors => $not200,
	    requests => scalar(@ol), status => \%os,
	    codes => join(', ', map { "$_:$os{$_}" } sort keys %os) };
	record('owner-login', 'attack', $run, $owner_row);
	push @attack, { calm => $calm, hot => $hot, flood => $fl,
	    guess => $guess_row, owner => $owner_row, logins => $o->{logins},
	    hashes => ($c1->{hashes} // 0) - ($c0->{hashes} // 0),
	    refused => ($c1->{refused} // 0) - ($c0->{refused} // 0),
	    window => $window, before => $l };
}

# The scenario: a warm-up of S2, then --runs pairs of runs, each attack on
# an account of its own (the last login users, whom S5 seldom picks), so
# that every run starts from the same throttle counters.
sub attack_scenario {
	my $conns = (grep { /^--?connections/ } @argv_copy) ?
	    $opt{connections} : $ATTACK_READERS;
	$M{attack_readers} = $conns;
	phase("S2 undisturbed and under attack ($conns connections; "
	    . "$ATTACK_FLOODERS registering, $ATTACK_GUESSERS guessing from "
	    . "$ATTACK_ADDRESSES addresses)");
	my @logins = split /\n/, slurp($D{medrec}{logins});
	settle();
	wrk_once(url => $M{url}, script => 's2.lua',
	    args => [ $D{medrec}{tokens} ], connections => $conns,
	    tag => 'attack-s2', duration => $opt{warmup}) if $opt{warmup};
	for my $run (1 .. $opt{runs}) {
		my ($email, $password) = split /\t/, $logins[-$run];
		attack_run($run, $email, $password, $conns);
	}
}

###############################################################################
# Peers (../shared/peers) and --compare targets.

my %peer_info = (
	'php-fpm' => { pkgs => [qw(php8.2-fpm php8.2-pgsql)],
	    have => sub { system('sh', '-c', 'command -v php-fpm8.2 >/dev/null '
		. '&& php-fpm8.2 -m 2>/dev/null | grep -qi pdo_pgsql') == 0 } },
	'node-seed' => { pkgs => [qw(nodejs npm)],
	    have => sub { system('sh', '-c', 'command -v node >/dev/null && '
		. 'command -v npm >/dev/null') == 0 } },
);
my @notes;

sub peers_dir {
	for my $d ("$top/../shared/peers", '/work/shared/peers') {
		return abs_path($d) if -d $d;
	}
	return undef;
}

sub ensure_peer_runtime {
	my ($name) = @_;
	my $p = $peer_info{$name};
	return 1 if $p->{have}->();
	if ($> != 0) {
		push @notes, "$name skipped: its runtime is not installed "
		    . "(apt-get install @{ $p->{pkgs} })";
		return 0;
	}
	phase("installing @{ $p->{pkgs} } for the $name peer");
	system('sh', '-c', 'apt-get update -qq >/dev/null 2>&1; '
	    . 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq '
	    . "@{ $p->{pkgs} } >/dev/null 2>&1");
	return 1 if $p->{have}->();
	push @notes, "$name skipped: apt-get install @{ $p->{pkgs} } failed";
	return 0;
}

sub run_peer {
	my ($name) = @_;
	my $pdir = peers_dir() // return push @notes,
	    "peers skipped: no ../shared/peers";
	return unless ensure_peer_runtime($name);
	phase("starting the $name peer on a throw-away cluster");
	my $c = cluster_start(dir => "$work/pg-$name", tcp => free_port());
	$c->{psql}->('CREATE DATABASE peer');
	my $dburl = "postgresql://postgres:$c->{pw}\@127.0.0.1:$c->{port}/peer";
	my $port = free_port();
	my @args = $name eq 'php-fpm' ? ($port, $dburl) : ($port, $dburl);
	my $r = Medrec::Stack::run_cmd(cmd => [ "$pdir/$name/start.sh", @args ],
	    env => { BCRYPT_ROUNDS => $bcrypt_cost, JWT_SECRET => undef },
	    timeout => 600);
	push @cleanups, sub {
		Medrec::Stack::run_cmd(cmd => [ "$pdir/$name/stop.sh", $port ],
		    timeout => 60);
	};
	if ($r->{status}) {
		push @notes, "$name did not start: "
		    . (split /\n/, "$r->{err}$r->{out}")[-1];
		say("$name did not start:\n$r->{out}$r->{err}");
		return;
	}
	my $url = "http://127.0.0.1:$port";
	my $run = $name eq 'php-fpm' ? "/tmp/php-peer.$port" :
	    "/tmp/node-peer.$port";
	local $settle_roots = sub { (postmaster($c),
	    map { pidfile("$run/$_") } qw(php-fpm.pid nginx.pid node.pid)) };
	phase("seeding $name through its API");
	seed_api($name, $url);
	push @notes, "S6 on $name: updates are creates (it has no PATCH)"
	    unless $D{$name}{patch};
	push @notes, "$name hashes at cost 12 whatever BCRYPT_COST is"
	    if $name eq 'php-fpm' && $bcrypt_cost != 12;
	scenarios_for($name, $url);
	Medrec::Stack::run_cmd(cmd => [ "$pdir/$name/stop.sh", $port ],
	    timeout => 60);
}

sub run_compare {
	my ($spec) = @_;
	my ($name, $url) = $spec =~ /^([\w.-]+)=(.+)$/ ? ($1, $2) : (undef, $spec);
	$url =~ s{/+$}{};
	($name = $url) =~ s{^\w+://}{} unless defined $name;
	phase("seeding $name ($url) through its API");
	local $settle_roots = sub { () };
	wait_health($url);
	seed_api($name, $url);
	push @notes, "S6 on $name: updates are creates (it has no PATCH)"
	    unless $D{$name}{patch};
	scenarios_for($name, $url);
}

###############################################################################
# A record over time (issue 14), --history: each figure is a ratio of two
# measurements of the same run.  Where both sides can be measured in turn
# they are (A, B, A, B, ...), so that a shared machine's drift falls on
# both alike; the audit trail cannot shrink back (it is append-only), so
# there it is empty first, then loaded, then big.

my %H;			# --history's facts for the table: seeds, sizes, times
my $HIST_PAGE = 20;	# a history page: 100 versions still give 60 depths

# history_user($id): a user made by SQL, as seed_medrec makes its users,
# and a token for it.
sub history_user {
	my ($id) = @_;
	sql(<<"EOF_SQL");
SET session_replication_role = replica;
INSERT INTO users (id, name, email, password_hash, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT $id, 'History Owner $id', 'history-$id\@example.org', password_hash,
       now() - interval '1 day', now() - interval '1 day'
  FROM users WHERE email = 'bench-hash\@example.org';
EOF_SQL
	return mint_token($id);
}

# seed_patients($user, $n, deleted => share, version => V): $n patients of
# $user after the last id, as seed_medrec makes them (triggers off, so no
# versions and no audit rows); with deleted, that share of them, picked at
# random all along the owner's list, was deleted a day ago (in the restore
# window: the purge leaves them).  Returns the first one's id.
sub seed_patients {
	my ($user, $n, %o) = @_;
	my $base = sql('SELECT coalesce(max(id), 0) FROM patients');
	my $deleted = $o{deleted} ? "CASE WHEN random() < $o{deleted} "
	    . "THEN now() - interval '1 day' END" : 'NULL';
	my $version = $o{version} // 1;
	sql(<<"EOF_SQL");
SET session_replication_role = replica;
INSERT INTO patients (id, user_id, name, age, gender, address, version,
                      created_at, updated_at, deleted_at)
OVERRIDING SYSTEM VALUE
SELECT $base + g, $user, 'Patient ' || g, g % 100,
       (ARRAY['male','female','other','unknown'])[g % 4 + 1],
       g || ' History Street', $version, t, t, $deleted
  FROM generate_series(1, $n) g,
       LATERAL (SELECT now() - interval '800 days' + g * interval '30 seconds') x(t);
SELECT setval(pg_get_serial_sequence('patients', 'id'), (SELECT max(id) FROM patients));
EOF_SQL
	return $base + 1;
}

# alternate($what, \%a, \%b): two wrk runs of one figure in turn, A, B,
# A, B, ...: a warm-up of each, then --runs runs of each.  Each hash is
# wrk_start's arguments plus the name its runs are recorded under, and
# their target in the TSV when it is not 'history' (--fhir's are 'fhir').
sub alternate {
	my ($what, @pair) = @_;
	phase($what);
	settle();
	if ($opt{warmup}) {
		wrk_once(%$_, duration => $opt{warmup}) for @pair;
	}
	for my $run (1 .. $opt{runs}) {
		record($_->{name}, $_->{target} // 'history', $run,
		    wrk_once(%$_, duration => $opt{duration})) for @pair;
	}
}

sub links_file {
	my ($path, $links) = @_;
	spew($path, join('', map { "$_\n" } @$links));
	return $path;
}

# S4 where 30% of the owner's patients are deleted, against an owner of as
# many with none deleted.  The deleted rows stay in the table (until the
# purge); the lists' partial indexes should make them cost nothing.
sub history_deleted {
	my $n = $hist{patients};
	phase("seeding two owners of " . fmt_n($n) . " patients, 30% of one's "
	    . 'deleted');
	my $t0 = time;
	my $live_tok = history_user(13);
	my $del_tok = history_user(14);
	seed_patients(13, $n);
	seed_patients(14, $n, deleted => 0.3);
	sql('VACUUM ANALYZE patients; CHECKPOINT;');
	my $live = sql('SELECT count(*) FROM patients WHERE user_id = 14 '
	    . 'AND deleted_at IS NULL');
	$H{deleted} = { n => $n, live => $live, seconds => time - $t0 };
	phase("taking $CURSORS next links at random depths of each");
	my $d = $D{medrec}{dir};
	my $a = links_file("$d/next-none-deleted",
	    cursors($M{url}, $live_tok, $n));
	my $b = links_file("$d/next-30pct-deleted",
	    cursors($M{url}, $del_tok, $live));
	alternate('S4 next page: none deleted, 30% deleted, in turn',
	    { name => 'S4-none-deleted', url => $M{url}, script => 's4.lua',
	      args => [ $live_tok, $a ] },
	    { name => 'S4-30pct-deleted', url => $M{url}, script => 's4.lua',
	      args => [ $del_tok, $b ] });
}

# A history page through a "next" link for a patient of 100,000 versions,
# against one of 100.  The versions go straight into patient_versions, as
# the write trigger would have kept them (triggers off: no audit rows).
sub history_versions {
	my ($many, $few) = @hist{qw(versions few_versions)};
	phase("seeding a patient of " . fmt_n($many) . " versions and one of "
	    . fmt_n($few));
	my $t0 = time;
	my $tok = history_user(15);
	my %p;
	for my $v ($few, $many) {
		my $id = $p{$v} = seed_patients(15, 1, version => $v);
		sql(<<"EOF_SQL");
SET session_replication_role = replica;
INSERT INTO patient_versions (patient_id, version, op, at, by_user, user_id,
                              name, age, gender, address, created_at,
                              updated_at)
SELECT $id, g, CASE g WHEN 1 THEN 'create' ELSE 'update' END, t, 15, 15,
       'Patient 1', g % 100, 'female', g || ' Version Street', c, t
  FROM generate_series(1, $v) g,
       LATERAL (SELECT created_at FROM patients WHERE id = $id) p(c),
       LATERAL (SELECT c + g * interval '1 second') x(t);
EOF_SQL
	}
	sql('VACUUM ANALYZE patient_versions; CHECKPOINT;');
	$H{versions} = { many => $many, few => $few, seconds => time - $t0 };
	phase("taking $CURSORS next links at random depths of each history");
	my $d = $D{medrec}{dir};
	my %file;
	for my $v ($few, $many) {
		$file{$v} = links_file("$d/next-history-$v", cursors($M{url},
		    $tok, $v, "/api/patients/$p{$v}/history", $HIST_PAGE));
	}
	alternate('history page via next: ' . fmt_n($few) . ' versions, '
	    . fmt_n($many) . ' versions, in turn',
	    { name => 'history-few', url => $M{url}, script => 's4.lua',
	      args => [ $tok, $file{$few} ] },
	    { name => 'history-many', url => $M{url}, script => 's4.lua',
	      args => [ $tok, $file{$many} ] });
}

# timed_cmd(\@cmd, $out, \%env): runs a command, its output to the file
# $out, and returns its exit status, wall seconds and the bytes it wrote.
# waitpid, not run()'s polling: a run lasts a fraction of a second.
sub timed_cmd {
	my ($cmd, $out, $env) = @_;
	my $t0 = time;
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
		open(STDIN, '<', '/dev/null') or _exit(127);
		open(STDOUT, '>', $out) or _exit(127);
		Medrec::Stack::_apply_env($env) if $env;
		exec { $cmd->[0] } @$cmd or _exit(127);
	}
	waitpid($pid, 0);
	my $status = $?;
	return ($status, time - $t0, -s $out // 0);
}

# A patient's export (one streamed JSON document, its disclosures the bulk
# of it) against psql's COPY of the same audit rows, bytes per second of
# each client's wall time, in turn.  Both write to a file of the temp dir.
sub history_export {
	my $n = $hist{events};
	phase("seeding a patient of " . fmt_n($n) . " audit events");
	my $t0 = time;
	my $tok = history_user(16);
	my $p = seed_patients(16, 1);
	my ($ub, $users) = ($M{pgbench_vars}{user_base}, $seed{users});
	# This month's partition exists (the pool made it at start); the
	# events spread over its days so far, most by the owner, some by
	# others (a disclosure), from many addresses.
	sql(<<"EOF_SQL");
SET session_replication_role = replica;
INSERT INTO audit_events (at, user_id, action, resource_type, resource_id,
                          outcome, request_id, client_address)
SELECT m + (now() - m) * (g::float8 / ($n + 1)),
       CASE WHEN g % 10 = 0 THEN $ub + g % $users ELSE 16 END,
       (ARRAY['read','update','history','read','read'])[g % 5 + 1],
       'patient', $p,
       (ARRAY['found','updated','found','found','found'])[g % 5 + 1],
       md5(g::text), '192.0.2.' || g % 250
  FROM generate_series(1, $n) g,
       LATERAL (SELECT date_trunc('month', now(), 'UTC')) x(m);
VACUUM ANALYZE audit_events;
CHECKPOINT;
EOF_SQL
	$H{export} = { events => $n, seconds => time - $t0 };
	my $copy_sql = 'COPY (SELECT id, at, user_id, action, outcome, '
	    . 'client_address, request_id FROM audit_events WHERE '
	    . "resource_type = 'patient' AND resource_id = $p ORDER BY id) "
	    . 'TO STDOUT';
	my %side = (
		export => [ [ 'curl', '-s', '-f', '-H', "Authorization: Bearer $tok",
		    "$M{url}/api/patients/$p/export" ], undef ],
		copy => [ [ "$pgbin/psql", '-X', '-q', '-h', $M{pg}{sockdir},
		    '-p', $M{pg}{port}, '-U', 'postgres', '-d', 'medrec', '-c',
		    $copy_sql ], { PGPASSWORD => $M{pg}{pw} } ],
	);
	my $once = sub {
		my ($k) = @_;
		my $out = "$work/$k.out";
		my ($st, $secs, $bytes) = timed_cmd(@{ $side{$k} }[0], $out,
		    $side{$k}[1]);
		die "$k: $side{$k}[0][0] exited with status $st\n" if $st;
		$H{export}{"${k}_bytes"} = $bytes;
		return ($secs, $bytes, $out);
	};
	phase('export and COPY of the same rows, in turn');
	settle();
	# A warm-up of each, which also checks that both read every row.
	for my $k (qw(export copy)) {
		my (undef, $bytes, $out) = $once->($k);
		my $text = slurp($out);
		my $rows = $k eq 'export' ? (() = $text =~ /"requestId"/g) :
		    (() = $text =~ /\n/g);
		die "$k gave $rows rows of the patient's $n audit events\n"
		    if $rows < $n;
		unlink($out);
	}
	for my $run (1 .. $opt{runs}) {
		for my $k (qw(export copy)) {
			my ($secs, $bytes, $out) = $once->($k);
			unlink($out);
			record($k, 'history', $run, { rps => $bytes / $secs,
			    p50 => 1000 * $secs, p99 => 1000 * $secs, errors => 0,
			    requests => 1 });
		}
	}
}

# The audit trail: S2 and S3 on the trail the seed left (nearly empty:
# seeded rows have no events), then on one of --audit-rows rows; what a row
# costs on disk; the purge of a month.  The trail is append-only (no role
# may delete from it), so empty and big cannot take turns: empty first,
# then the load, then big, each scenario a warm-up and --runs runs.
sub history_audit {
	my $m = $hist{audit_rows};
	unless ($m) {
		push @{ $H{notes} }, 'The audit trail\'s figures were left out '
		    . '(--audit-rows 0).';
		return;
	}
	my $d = $D{medrec};
	my $count = sub { sql('SELECT count(*) FROM audit_events') };
	$H{trail}{empty_rows} = $count->();
	for my $s (qw(S2 S3)) {
		scenario(name => "$s-empty-trail", target => 'history',
		    url => $M{url}, script => lc($s) . '.lua',
		    args => [ $d->{tokens} ]);
	}
	audit_load($m);
	$H{trail}{big_rows} = $count->();
	for my $s (qw(S2 S3)) {
		scenario(name => "$s-big-trail", target => 'history',
		    url => $M{url}, script => lc($s) . '.lua',
		    args => [ $d->{tokens} ]);
	}
	audit_size();
	audit_purge();
}

# The events the load and the purge's month hold: what S2, S3 and S6 leave
# (reads, creates, lists and updates of the seeded users' own patients, a
# request id of 32 hex digits, an address), row g of a series at the time
# the SQL expression $at gives it.
sub audit_rows_sql {
	my ($lo, $hi, $at) = @_;
	my ($ub, $per) = ($M{pgbench_vars}{user_base}, $seed{per_user});
	my $patients = $seed{users} * $per;
	return <<"EOF_SQL";
SET session_replication_role = replica;
INSERT INTO audit_events (at, user_id, action, resource_type, resource_id,
                          outcome, request_id, client_address)
SELECT $at, $ub + (p - 1) / $per,
       (ARRAY['read','read','read','read','read','read','create','create',
              'list','update'])[g % 10 + 1],
       'patient', CASE WHEN g % 10 = 8 THEN NULL ELSE p END,
       (ARRAY['found','found','found','found','found','found','created',
              'created','found','updated'])[g % 10 + 1],
       md5(g::text), '198.51.100.' || g % 250
  FROM generate_series(${lo}::bigint, $hi) g,
       LATERAL (SELECT 1 + g * 104729 % $patients) x(p);
EOF_SQL
}

# audit_load($rows): a trail of $rows events at 8 a second (issue 14's
# month at 8 requests a second is 20 million), ending now, ids in time
# order as the service makes them, in batches of 2 million.  The months'
# partitions are made first, as the purge runs would have made them.
# Then VACUUM and a checkpoint, which would otherwise come during S2.
sub audit_load {
	my ($rows) = @_;
	my $span = int($rows / 8);
	phase('loading ' . fmt_n($rows) . ' audit events, 8 a second over the '
	    . sprintf('last %.1f days', $span / 86400));
	my $t0 = time;
	my $start = sql(<<"EOF_SQL");
SET TimeZone = 'UTC';
SELECT count(app_audit_partition(d::date))
  FROM generate_series(date_trunc('month', now() - $span * interval '1 second'),
                       now(), interval '1 month') d;
SELECT now() - $span * interval '1 second';
EOF_SQL
	($start) = (split /\n/, $start)[-1];
	my $batch = 2_000_000;
	for (my $lo = 1; $lo <= $rows; $lo += $batch) {
		my $hi = $lo + $batch - 1 < $rows ? $lo + $batch - 1 : $rows;
		sql(audit_rows_sql($lo, $hi,
		    "timestamptz '$start' + g * interval '125 milliseconds'"));
		say(sprintf('  %s of %s rows, %.0f s', fmt_n($hi), fmt_n($rows),
		    time - $t0));
	}
	$H{trail}{load_seconds} = time - $t0;
	my $t1 = time;
	sql('VACUUM ANALYZE audit_events; CHECKPOINT;');
	$H{trail}{vacuum_seconds} = time - $t1;
}

# Bytes per row: the tables (with their TOAST and maps) and indexes of
# every partition, over the rows of the trail.
sub audit_size {
	my ($table, $index, $rows) = split /\|/, sql(<<'EOF_SQL');
SELECT sum(pg_table_size(inhrelid)), sum(pg_indexes_size(inhrelid)),
       (SELECT count(*) FROM audit_events)
  FROM pg_inherits WHERE inhparent = 'audit_events'::regclass;
EOF_SQL
	my $t = $H{trail};
	$t->{size_rows} = $rows;
	$t->{bytes_per_row} = ($table + $index) / $rows;
	push @{ $H{notes} }, sprintf('The trail of %s rows: %.2f GB, %.0f bytes '
	    . 'a row (tables %.0f, indexes %.0f); loaded in %.0f s (events 8 '
	    . 'a second, ending now), then VACUUM ANALYZE and CHECKPOINT in '
	    . '%.0f s. S2 and S3 ran on the empty trail first, then on the '
	    . 'loaded one: the trail is append-only, so they could not take '
	    . 'turns.', fmt_n($rows),
	    ($table + $index) / 1e9, $t->{bytes_per_row}, $table / $rows,
	    $index / $rows, $t->{load_seconds}, $t->{vacuum_seconds});
}

# The purge of a month: a month of 2019 (past six years, the default
# AUDIT_RETENTION_DAYS) filled with purge_rows rows, then `medrec --purge`
# as its timer runs it, timed whole (start, connection, SQL); filled again,
# then its SQL alone, app_purge() from psql as the service's role, timed
# by psql's \timing.  --runs times each, in turn.
sub audit_purge {
	my $n = $hist{purge_rows};
	my $month = 'audit_events_2019_01';
	my $fill = sub {
		sql("SELECT app_audit_partition('2019-01-01');\n"
		    . audit_rows_sql(1, $n, "timestamptz '2019-01-01 00:00+00' "
		    . "+ g * (interval '31 days' / ($n + 1))")
		    . "CHECKPOINT;\n");
		die "$month has no $n rows\n"
		    unless sql("SELECT count(*) FROM $month") == $n;
	};
	my $gone = sub {
		die "the purge left $month\n"
		    if sql("SELECT to_regclass('$month') IS NOT NULL") eq 't';
	};
	phase('the purge of a month of ' . fmt_n($n) . ' audit rows: medrec '
	    . '--purge and app_purge() alone, in turn');
	$H{purge} = { rows => $n, wall => [], sql => [] };
	for my $run (1 .. $opt{runs}) {
		$fill->();
		settle();
		my ($st, $secs) = timed_cmd([ $bin, '--purge' ],
		    "$work/purge.out", Medrec::Stack::clean_env(
		    DATABASE_URL => $M{database_url}, AUTO_MIGRATE => 0));
		die "medrec --purge exited with status $st\n" if $st;
		$gone->();
		push @{ $H{purge}{wall} }, $secs;
		record('purge-medrec', 'history', $run, { rps => $n / $secs,
		    p50 => 1000 * $secs, p99 => 1000 * $secs, errors => 0,
		    requests => 1 });

		$fill->();
		settle();
		my $r = run(cmd => [ "$pgbin/psql", '-X', '-A', '-t', '-v',
		    'ON_ERROR_STOP=1', '-d', $M{database_url}, '-c',
		    '\timing on', '-c', 'SELECT * FROM app_purge('
		    . ($ENV{RESTORE_DAYS} // 30) . ', 2190)' ],
		    env => Medrec::Stack::clean_env());
		my ($ms) = $r->{out} =~ /^Time: ([\d.]+) ms/m or die
		    "psql's \\timing gave no time:\n$r->{out}$r->{err}";
		$gone->();
		push @{ $H{purge}{sql} }, $ms / 1000;
		record('purge-sql', 'history', $run, { rps => $n / $ms * 1000,
		    p50 => $ms, p99 => $ms, errors => 0, requests => 1 });
	}
}

# The build before history (--before, issue 14's parent commit 9b7f30d
# by default): its tree from git archive, built in the temp dir with this
# tree's configure flags; its pool on a database of its own in the same
# cluster, made by its own migrations and seeded with the same SQL as
# ours; the same JWT secret, so the same tokens; behind an nginx of its
# own with this tree's configuration, so that only the service differs.
my %B;			# the build before: dir, pool and nginx pids, url

sub before_start {
	my $rev = $opt{before};
	my $dir = $B{dir} = "$work/before";
	make_path($dir);
	phase("building $rev in $dir");
	my $t0 = time;
	run(cmd => [ 'sh', '-c', 'git -C "$1" archive "$2" | tar -x -C "$3"',
	    'sh', $top, $rev, $dir ]);
	my $flags = -f "$top/var/configure-flags" ?
	    slurp("$top/var/configure-flags") : '';
	run(cmd => [ 'sh', '-c', "autoreconf -fi && ./configure -q $flags "
	    . "&& make -s -j$nproc" ], cwd => $dir, timeout => 1800);
	$B{build_seconds} = time - $t0;
	$B{rev} = `git -C '$top' rev-parse --short '$rev'`;
	chomp $B{rev};

	(my $db_url = $M{database_url}) =~ s{/medrec\?}{/medrec_before?};
	(my $mig_url = $M{migration_url}) =~ s{/medrec\?}{/medrec_before?};
	$M{pg}{psql}->('CREATE DATABASE medrec_before OWNER medrec_owner');
	my $pid = $B{pool_pid} = pool_spawn("$dir/fcgi-app/medrec",
	    'pool-before', DATABASE_URL => $db_url,
	    MIGRATION_DATABASE_URL => $mig_url,
	    MIGRATIONS_DIR => "$dir/db/migrations");
	push @cleanups, sub { stop_pid($pid, 'TERM', 75) };
	my $port = free_port();
	nginx_conf("$work/nginx-before", $port, "$work/pool-before.sock");
	$B{nginx_pid} = nginx_run("$work/nginx-before");
	$B{url} = "http://127.0.0.1:$port";
	wait_health($B{url});
	phase("seeding the database of $rev as ours");
	$M{pg}{psql}->($M{base_seed_sql} . <<'EOF_SQL', 'medrec_before');
SELECT setval(pg_get_serial_sequence('patients', 'id'), (SELECT max(id) FROM patients));
VACUUM ANALYZE;
CHECKPOINT;
EOF_SQL
	# Our tokens must be as good there.
	my ($first) = split /\t/, slurp($D{medrec}{tokens});
	api_ok(200, $B{url}, 'GET', '/api/auth/me', token => $first);
}

# S3 and PATCH (lua/patch.lua: a patient of the caller's, no If-Match) on
# this build and on the build before history, in turn.  Both databases
# start from the same seed; the trail of each holds only what these runs
# write, so this runs before the audit trail's figures load ours.
sub history_before {
	before_start();
	local $settle_roots = sub { ($M{pool_pid}, $M{nginx_pid},
	    postmaster($M{pg}), $B{pool_pid}, $B{nginx_pid}) };
	my $tokens = $D{medrec}{tokens};
	for my $s ([ 'S3', 's3.lua' ], [ 'PATCH', 'patch.lua' ]) {
		alternate("$s->[0]: this build, then $B{rev}, in turn",
		    { name => "$s->[0]-now", url => $M{url},
		      script => $s->[1], args => [ $tokens ] },
		    { name => "$s->[0]-before", url => $B{url},
		      script => $s->[1], args => [ $tokens ] });
	}
	push @{ $H{notes} }, sprintf('The build before history: %s (`--before`), '
	    . 'built in %.0f s with this tree\'s configure flags, its pool on '
	    . 'a database of its own in the same cluster made by its own '
	    . 'migrations and seeded with the same SQL, behind an nginx of its '
	    . 'own with this tree\'s configuration; S3 and PATCH ran before '
	    . 'any other figure, on both trails as the seed left them.',
	    $B{rev}, $B{build_seconds});
	# Idle from here, but stopped now: it need not be counted as idle
	# by every settle() to come.
	stop_pid(delete $B{pool_pid}, 'TERM', 75);
	stop_pid(delete $B{nginx_pid}, 'QUIT', 15);
}

# The figures, each in an eval of its own: one that breaks leaves the
# others' in the table, and the exit status 1.
sub history_scenarios {
	# The build before history first, on two databases as the seed left
	# them; then the trail, whose "empty" is nearly that.
	my @figures = (
		$opt{before} ne 'none' ?
		    [ "the build before history ($opt{before})", \&history_before ]
		    : (),
		[ 'the audit trail', \&history_audit ],
		[ 'S4 with deleted rows', \&history_deleted ],
		[ 'history pages', \&history_versions ],
		[ 'export and COPY', \&history_export ],
	);
	run_figures('--history', \%H, @figures);
}

# run_figures($mode, \%facts, [ $name, \&figure ], ...): each figure in an
# eval of its own: one that breaks leaves the others' in the table, a note
# saying what broke, and $facts->{broken} (exit status 1).
sub run_figures {
	my ($mode, $facts, @figures) = @_;
	for my $f (@figures) {
		eval { $f->[1]->(); 1 } and next;
		my $e = $@ =~ s/\s+$//r;
		say("$mode: $f->[0] broke: $e");
		push @notes, "$mode: $f->[0] broke: " . ($e =~ s/\s*\n\s*/ /gr);
		$facts->{broken}++;
	}
}

###############################################################################
# FHIR R4 (issue 15), --fhir: the FHIR read against S2 and a FHIR search
# page of the big owner against the 10,000 one's, each pair in turn (A, B,
# A, B, ...) so that a shared machine's drift falls on both; then worker
# memory under FHIR requests.  On the seed as it is (the owners of 10,000
# and of --scale patients, their tokens): nothing else to load.

my %F;			# --fhir's facts for the table: links, broken
my $FHIR_TYPE = 'application/fhir+json';

# The FHIR read of a patient against S2, the JSON read of the same: s2.lua
# on the same tokens and ids both times, only the path and the Accept
# header differ, so that the difference is what FHIR costs.
sub fhir_read {
	my $tokens = $D{medrec}{tokens};
	alternate('S2 and the FHIR read of the same patients, in turn',
	    { name => 'S2', target => 'fhir', url => $M{url},
	      script => 's2.lua', args => [ $tokens ] },
	    { name => 'fhir-read', target => 'fhir', url => $M{url},
	      script => 's2.lua',
	      args => [ $tokens, '/fhir/R4/Patient/', $FHIR_TYPE ] });
}

# fhir_links($n): the file of FHIR next links at random depths of the
# seed's owner of $n patients, taken once, and that owner's token.
sub fhir_links {
	my ($n) = @_;
	my ($tok) = @{ $D{medrec}{s4}{$n} // die "no owner of $n patients\n" };
	$F{links}{$n} //= do {
		phase("taking $CURSORS FHIR next links at random depths of "
		    . fmt_n($n));
		links_file("$D{medrec}{dir}/fhir-next-$n", cursors($M{url}, $tok,
		    $n, '/fhir/R4/Patient', $PAGE, 1));
	};
	return ($tok, $F{links}{$n});
}

# S4 through FHIR: a search page ($PAGE entries) through the Bundle's next
# link at a random depth, of the owner of --scale patients against the
# owner of 10,000.  The cursor is the JSON API's, so depth should not cost.
sub fhir_next_pages {
	my ($small, $big) = @seed{qw(owner big)};
	my @pair = map {
		my ($tok, $file) = fhir_links($_);
		+{ name => "fhir-next-$_", target => 'fhir', url => $M{url},
		   script => 's4.lua', args => [ $tok, $file, $FHIR_TYPE ] };
	} $small, $big;
	alternate('FHIR search page via next: owners of ' . fmt_n($small)
	    . ' and ' . fmt_n($big) . ', in turn', @pair);
}

# Worker memory as the full run measures it, under a round of FHIR
# requests (lua/fhir-mem.lua) rather than JSON reads.
sub fhir_memory {
	my $d = $D{medrec};
	my ($tok, $file) = fhir_links($seed{owner});
	memory_step('fhir-mem.lua', [ $d->{tokens}, $d->{doctors}, $tok,
	    $file ], 'fhir_memory');
}

sub fhir_scenarios {
	run_figures('--fhir', \%F,
		[ 'the FHIR read against S2', \&fhir_read ],
		[ 'FHIR search pages via next', \&fhir_next_pages ],
		[ 'worker memory under FHIR requests', \&fhir_memory ],
	);
}

###############################################################################
# The table.

my %S;			# summary: target -> scenario -> medians

###############################################################################
# Connection reuse (issue 16, part 3), --keep-conn: nginx's fastcgi_keep_conn
# on with an upstream keepalive of each of @KEEPALIVE against a connection
# per request, on the no-op responder (bench/noop-fcgi.c keeps connections
# as a prefork pool can: README, "Connection reuse between nginx and the
# pool"), each way in turn (A, B, C, A, B, C, ...) so that a shared
# machine's drift falls on all alike.  Then the check that no request waits
# behind an idle kept connection.  The pool keeps none (fcgi-app/worker.c
# closes each connection), so only the no-op is measured kept; the pool's
# figures both ways came from commit 71a8be2, which taught it to keep them.

my %K;			# --keep-conn's facts: closed, stuck, broken
my @KEEPALIVE = (8, 32);

# keepconn_conf($dir): the no-op responder's server for each keepalive N
# (fastcgi_keep_conn on, an upstream that keeps N idle connections, on a
# port of its own, logging errors to keepN-noop-error.log), written into
# $dir and returned as include lines for nginx.conf.
sub keepconn_conf {
	my ($dir) = @_;
	my $noop = slurp("$top/bench/nginx-limits.conf.in");
	($noop) = $noop =~ /(    location \/api\/ \{.*?\n    \})/s
	    or die "bench: no /api/ location in bench/nginx-limits.conf.in\n";
	my $inc = '';
	for my $n (@KEEPALIVE) {
		my $p = free_port();
		(my $loc = $noop) =~ s/fastcgi_pass bench_noop;/fastcgi_pass bench_noop_keep$n;\n        fastcgi_keep_conn on;/;
		spew("$dir/bench-keep$n.conf", <<"EOC");
upstream bench_noop_keep$n {
    server unix:$work/noop.sock;
    keepalive $n;
}
server {
    listen 127.0.0.1:$p;
    access_log $dir/limits-access.log medrec;
    error_log $dir/keep$n-noop-error.log;
$loc
}
EOC
		$inc .= "\n    include $dir/bench-keep$n.conf;";
		$M{keep_noop_url}{$n} = "http://127.0.0.1:$p";
	}
	return $inc;
}

# The ways, each a name and the URL of the no-op's server: 'close' (today's
# connection per request), 'keepN'.
sub keepconn_ways {
	return ([ 'close', $M{noop_url} ],
	    map { [ "keep$_", $M{keep_noop_url}{$_} ] } @KEEPALIVE);
}

# keepconn_closed(): for each keepalive N, how many times so far nginx sent
# a request on a kept connection that the responder had already closed:
# the broken pipes and resets of its error log.  nginx then retries on
# another connection, except a POST it has sent (ngx_http_upstream_next).
sub keepconn_closed {
	my %n;
	for my $n (@KEEPALIVE) {
		my $f = "$work/nginx/keep$n-noop-error.log";
		$n{$n} = -e $f ? () = slurp($f) =~ /\((?:32: Broken pipe|104: Connection reset by peer)\)|prematurely closed/g : 0;
	}
	return \%n;
}

sub keepconn_noop {
	my $before = keepconn_closed();
	alternate('the no-op responder, connection per request and kept, in '
	    . 'turn', map { +{ name => "noop-$_->[0]", target => 'keepconn',
	    url => $_->[1], script => 'plain.lua', args => [ '/api/noop' ] } }
	    keepconn_ways());
	my $after = keepconn_closed();
	$K{closed}{"noop-keep$_"} = $after->{$_} - $before->{$_}
	    for @KEEPALIVE;
}

# FastCGI by hand (the stuck check): a request as nginx sends it with
# fastcgi_keep_conn on (FCGI_BEGIN_REQUEST, responder, FCGI_KEEP_CONN),
# its PARAMS and an empty STDIN.
sub fcgi_record {
	my ($type, $body) = @_;
	return pack('CCnnCx', 1, $type, 1, length($body), 0) . $body;
}

sub fcgi_len {
	my $n = length($_[0]);
	return $n < 128 ? pack('C', $n) : pack('N', $n | 0x80000000);
}

sub fcgi_request {
	my (%p) = @_;
	my $params = join('', map { fcgi_len($_) . fcgi_len($p{$_}) . $_
	    . $p{$_} } sort keys %p);
	return fcgi_record(1, pack('nCx5', 1, 1)) . fcgi_record(4, $params)
	    . fcgi_record(4, '') . fcgi_record(5, '');
}

# fcgi_end($sock, $secs): reads records until FCGI_END_REQUEST; whether it
# came within $secs.
sub fcgi_end {
	my ($sock, $secs) = @_;
	my $buf = '';
	my $until = time + $secs;
	my $sel = IO::Select->new($sock);
	while (time < $until) {
		while (length($buf) >= 8) {
			my ($type, $len, $pad) = (unpack('CCnnC', $buf))[1, 3, 4];
			last if length($buf) < 8 + $len + $pad;
			return 1 if $type == 3;
			substr($buf, 0, 8 + $len + $pad, '');
		}
		$sel->can_read($until - time) or last;
		sysread($sock, $buf, 65536, length($buf)) or return 0;
	}
	return 0;
}

# Whether a held connection is still open (no EOF waiting on it).
sub held_open {
	my ($sock) = @_;
	return 1 unless IO::Select->new($sock)->can_read(0);
	my $n = sysread($sock, my $b, 1);
	return defined $n && $n > 0;
}

# The stuck check: as many connections as the responder has processes,
# straight to its socket, each sending a kept request at once (so that as
# many processes as can take one each) and then idle; then $STUCK_TRIES
# requests through each way, each on a new client connection, timed.  No
# request may wait for an idle kept connection: each must be answered in
# well under a second.  Records how many of the held connections were
# still held before the requests and after.
my $STUCK_TRIES = 20;
sub keepconn_stuck {
	phase('the stuck check: requests while kept connections idle');
	require IO::Socket::UNIX;
	my $socket = "$work/noop.sock";
	my $req = fcgi_request(REQUEST_METHOD => 'GET', PATH_INFO => '/api/noop',
	    QUERY_STRING => '', REMOTE_ADDR => '127.0.0.1',
	    SERVER_PROTOCOL => 'HTTP/1.1');
	my @held = map {
		IO::Socket::UNIX->new(Peer => $socket) // die "$socket: $!\n"
	} 1 .. $M{workers};
	syswrite($_, $req) for @held;
	my $answered = grep { fcgi_end($_, 10) } @held;
	sleep(0.5);
	my $before = grep { held_open($_) } @held;
	my @ms;
	for my $i (1 .. $STUCK_TRIES) {
		for my $w (keepconn_ways()) {
			my $t0 = time;
			my $r = HTTP::Tiny->new(timeout => 30)->get("$w->[1]/api/noop");
			push @ms, $r->{status} == 200 ? (time - $t0) * 1000 : 30e3;
		}
	}
	my $after = grep { held_open($_) } @held;
	close($_) for @held;
	@ms = sort { $a <=> $b } @ms;
	$K{stuck} = { workers => $M{workers}, answered => $answered,
	    before => $before, after => $after, n => scalar(@ms),
	    max => $ms[-1], p50 => $ms[ int($#ms / 2) ],
	    slow => scalar(grep { $_ > 1000 } @ms) };
	say(sprintf('  stuck check: %d of %d held idle, %d requests, p50 %.2f '
	    . 'ms, max %.2f ms, %d over 1 s; %d still held after', $before,
	    $M{workers}, scalar(@ms), $K{stuck}{p50}, $ms[-1],
	    $K{stuck}{slow}, $after));
}

sub keepconn_scenarios {
	noop_start();
	run_figures('--keep-conn', \%K,
		[ 'the no-op responder both ways', \&keepconn_noop ],
		[ 'the stuck check', \&keepconn_stuck ],
	);
	noop_stop();
}

# The --keep-conn section, and its misses pushed onto @$misses.
sub keepconn_table {
	my ($misses) = @_;
	my $k = $S{keepconn} // {};
	return '' unless %$k || $K{stuck};
	my $md = "\n## Connection reuse between nginx and a FastCGI responder "
	    . "(issue 16)\n\n`close` is a connection per request, as the site "
	    . "passes to the pool; `keepN` is `fastcgi_keep_conn on` with "
	    . "`upstream { keepalive N; }`, to the no-op responder, which "
	    . "keeps at most one connection per process and gives it up when "
	    . "it accepts another.  The ways went in turn (A, B, C, A, ...); "
	    . "req/s and latencies are medians of $opt{runs} run"
	    . ($opt{runs} > 1 ? 's' : '') . " of $opt{duration} s; each ratio "
	    . "is against `close` in this run.  *found closed* counts the "
	    . "requests nginx sent on a kept connection the responder had "
	    . "already closed (warm-ups included; nginx retried them on "
	    . "another connection, as it would not a sent POST).\n\n"
	    . "| way | req/s | p50 ms | p99 ms | errors | found closed | "
	    . "req/s vs close | p99 vs close |\n"
	    . "|---|--:|--:|--:|--:|--:|--:|--:|\n";
	my $c = $k->{'noop-close'};
	for my $w (map { $_->[0] } keepconn_ways()) {
		my $x = $k->{"noop-$w"} or next;
		$md .= "| $w | " . ($x->{failed} ? '**FAILED** | | ' :
		    join(' | ', fmt_n($x->{rps}), fmt_ms($x->{p50}),
		    fmt_ms($x->{p99}))) . " | $x->{errors} | "
		    . fmt_n($K{closed}{"noop-$w"}) . ' | ';
		push @$misses, "no-op $w: $x->{errors} errors" if $x->{errors};
		if ($w ne 'close' && $c && !$c->{failed} && !$x->{failed}) {
			$md .= sprintf('%.2f × | %.2f × |',
			    $x->{rps} / $c->{rps}, $x->{p99} / $c->{p99});
		} else {
			$md .= ' | |';
		}
		$md .= "\n";
	}
	if (my $s = $K{stuck}) {
		$md .= sprintf("\nStuck check: %d connections straight to the "
		    . "responder's socket sent a kept request each (%d answered), "
		    . "then idled; %d of them were still held by a process when "
		    . "%d requests went through nginx (every way in turn, each on "
		    . "a new client connection): p50 %.2f ms, slowest %.2f ms, %d "
		    . "over 1 s; %d still held after.\n", $s->{workers},
		    $s->{answered}, $s->{before}, $s->{n}, $s->{p50}, $s->{max},
		    $s->{slow}, $s->{after});
		push @$misses, "stuck check: $s->{slow} requests took over 1 s"
		    if $s->{slow};
	}
	return $md;
}

sub summarise {
	my %by;
	push @{ $by{ $_->{target} }{ $_->{scenario} } }, $_ for @rows;
	for my $t (keys %by) {
		for my $s (keys %{ $by{$t} }) {
			my @all = @{ $by{$t}{$s} };
			my @ok = grep { !$_->{failed} } @all;
			my $e = 0;
			$e += $_->{errors} for @all;
			$S{$t}{$s} = {
				runs => scalar(@all), ok => scalar(@ok),
				errors => $e,
				failed => !@ok,
				rps => median(map { $_->{rps} } @ok),
				p50 => median(map { $_->{p50} } @ok),
				p99 => median(map { $_->{p99} } @ok),
			};
		}
	}
}

sub fmt_n {
	my ($n, $dec) = @_;
	return '—' unless defined $n;
	my $s = sprintf("%.*f", $dec // 0, $n);
	1 while $s =~ s/^(\d+)(\d{3})/$1,$2/;
	return $s;
}

sub fmt_ms {
	my ($v) = @_;
	return '—' unless defined $v;
	return sprintf($v < 10 ? '%.2f' : $v < 100 ? '%.1f' : '%.0f', $v);
}

sub ratio {
	my ($x, $y) = @_;
	return undef unless defined $x && defined $y && $y > 0;
	return $x / $y;
}

sub fmt_ratio {
	my ($r, $min) = @_;
	return '—' unless defined $r;
	my $s = sprintf('%.2f ×', $r);
	$s .= $r >= $min ? ' (≥ ' . $min . ': met)' : " (≥ $min: **missed**)"
	    if defined $min;
	return $s;
}

my @scen_label = (
	[ 'S1', 'S1 doctor by id' ],
	[ 'S2', 'S2 patient by id (AUDIT_READ_SYNC=on)' ],
	[ 'S2-nogc', 'S2 patient by id (AUDIT_READ_SYNC=on), no group commit' ],
	[ 'S2-async', 'S2 patient by id (AUDIT_READ_SYNC=off)' ],
	[ 'S3', 'S3 create patient' ],
	[ 'S4-10000', 'S4 next page, owner of 10,000' ],
	[ 'S4-BIG', 'S4 next page, owner of BIG' ],
	[ 'S5', 'S5 login' ],
	[ 'S6', 'S6 mixed' ],
);

sub report {
	summarise();
	my $m = $S{medrec} // {};
	my $lim = $S{limit} // {};
	my @peers = grep { !/^(medrec|limit|attack|history|fhir|keepconn)$/ } sort keys %S;
	my $big = "S4-$seed{big}";
	my @misses;
	my $cmd = join(' ', 'script/bench', @argv_copy);
	my $cpu = (slurp('/proc/cpuinfo') =~ /^model name\s*:\s*(.*)$/m)[0]
	    // 'unknown CPU';
	my $commit = `git -C '$top' rev-parse --short HEAD 2>/dev/null` // '';
	chomp $commit;
	my $dirty = `git -C '$top' status --porcelain -- db fcgi-app handlers conf nginx 2>/dev/null` ? '+local changes' : '';
	@M{qw(commit dirty peers)} = ($commit, $dirty, \@peers);	# the chart's
	my $md = "# medrec benchmark\n\n";
	$md .= sprintf("`%s` — %s, %s × %d cores, commit %s%s, %d s in all.\n\n",
	    $cmd, strftime('%Y-%m-%d %H:%M UTC', gmtime($started)), $cpu,
	    $nproc, $commit || '?', $dirty, time - $started);
	# --keep-conn seeds nothing.
	my $seeded = $opt{'keep-conn'} ? 'Seed: none.' : sprintf('Seed: %s '
	    . '(%.0f s); owners of %s patients.', $M{seed_counts} // '?',
	    $M{seed_seconds} // 0, join(' and ', map { fmt_n($_) } grep { $_ }
	    $seed{owner}, $seed{big}));
	$md .= sprintf("wrk: %d connections, %d threads; %d run%s of %d s after "
	    . "a %d s warm-up per scenario, medians. Pool: WORKERS=%d, "
	    . "BCRYPT_COST=%d, DB_PREPARE=%s. %s nginx and PostgreSQL as "
	    . "`script/server` sets them up (durable commits; group commit: "
	    . "commit_delay %s µs, commit_siblings %s, from "
	    . "conf/medrec-postgresql.conf).\n\n",
	    $opt{attack} ? $M{attack_readers} : $opt{connections},
	    $opt{threads}, $opt{runs},
	    $opt{runs} > 1 ? 's' : '', $opt{duration}, $opt{warmup},
	    $M{workers} // 0, $bcrypt_cost, $ENV{DB_PREPARE} // 1, $seeded,
	    $M{gc}{commit_delay} // '?', $M{gc}{commit_siblings} // '?');

	# Limits.
	my $noop = $lim->{'noop-fcgi'};
	my $ceiling = $M{ceiling};
	my $gc = $M{gc} // {};
	my %limit_of = (
		S1 => [ $noop, 'no-op', 0.90 ],
		S2 => [ $lim->{'pgbench-S2'}, 'pgbench', 0.80 ],
		'S2-nogc' => [ $lim->{'pgbench-S2-nogc'}, 'pgbench', 0.80 ],
		'S2-async' => [ $lim->{'pgbench-S2-async'}, 'pgbench', 0.80 ],
		S3 => [ $lim->{'pgbench-S3'}, 'pgbench', 0.80 ],
		$big => [ $m->{'S4-10000'}, '10k page', 0.90 ],
		S5 => [ $ceiling ? { rps => $ceiling } : undef, 'ceiling',
		    0.95 ],
	);
	# Issue 16's: S1 ≥ 4 × each peer, S2 ≥ 1.5 × PHP-FPM (below);
	# issue 6's elsewhere.
	my %peer_min = (S1 => 4, S2 => 1, 'S2-async' => 1, S3 => 1,
	    'S4-10000' => 3);
	# --attack alone has no medrec table and no limits.
	$md .= "## medrec\n\n| scenario | req/s | p50 ms | p99 ms | errors "
	    . "| against its limit (target) |"
	    . join('', map { " vs $_ (target) |" } @peers) . "\n" if %$m;
	$md .= '|---|--:|--:|--:|--:|---|' . ('---|' x @peers) . "\n" if %$m;
	for my $sl (@scen_label) {
		my ($k, $label) = @$sl;
		$k = $big if $k eq 'S4-BIG';
		next unless $k && $m->{$k};
		$label =~ s/BIG/fmt_n($seed{big})/e;
		my $s = $m->{$k};
		my $row = "| $label | ";
		if ($s->{failed}) {
			$row .= "**FAILED** | | | $s->{errors} |";
			push @misses, "$label FAILED (more than 1% errors)";
		} else {
			$row .= join(' | ', fmt_n($s->{rps}, $s->{rps} < 100 ? 1 : 0),
			    fmt_ms($s->{p50}), fmt_ms($s->{p99}),
			    $s->{errors} . ($s->{ok} < $s->{runs} ?
			    " ($s->{ok}/$s->{runs} runs ok)" : '')) . ' |';
			push @misses, "$label: $s->{errors} errors (target 0)"
			    if $s->{errors};
		}
		my $l = $limit_of{$k};
		if ($l && $l->[0] && !$s->{failed} && !$l->[0]{failed}) {
			my $r = ratio($s->{rps}, $l->[0]{rps});
			$row .= ' ' . fmt_ratio($r, $l->[2]) . " of $l->[1] |";
			push @misses, sprintf('%s: %.2f × %s, target ≥ %.2f',
			    $label, $r, $l->[1], $l->[2]) if $r < $l->[2];
		} else {
			$row .= ' |';
		}
		for my $p (@peers) {
			my $pk = $k =~ /^S2-/ ? 'S2' : $k;
			my $ps = $S{$p}{$pk};
			my $min = $peer_min{$k};
			$min = 2 if $k eq 'S2-async' && $p eq 'php-fpm';
			$min = 1.5 if $k eq 'S2' && $p eq 'php-fpm';
			if (!$ps || $ps->{failed} || $s->{failed}) {
				$row .= $ps && $ps->{failed} ? " $p FAILED |" : ' — |';
				next;
			}
			my $r = ratio($s->{rps}, $ps->{rps});
			$row .= ' ' . fmt_ratio($r, $min) . ' |';
			push @misses, sprintf('%s: %.2f × %s, target ≥ %s',
			    $label, $r, $p, $min) if defined $min && $r < $min;
		}
		$md .= "$row\n";
	}
	if ($m->{S1} && $noop && !$m->{S1}{failed} && !$noop->{failed}) {
		my $r = ratio($m->{S1}{p99}, $noop->{p99});
		$md .= sprintf("\np99 of S1 is %.2f × the no-op responder's "
		    . "(target ≤ 1.5: %s).\n", $r, $r <= 1.5 ? 'met' :
		    '**missed**');
		push @misses, sprintf('S1 p99: %.2f × the no-op responder\'s, '
		    . 'target ≤ 1.5', $r) if $r > 1.5;
	}

	# Limits table.
	$md .= "\n## Limits, measured in the same run\n\n| limit | req/s "
	    . "| p50 ms | p99 ms | errors |\n|---|--:|--:|--:|--:|\n" if %$lim;
	my @lims = (
		[ 'nginx-return-200', 'nginx `return 200` (same nginx)' ],
		[ 'noop-fcgi', "no-op FastCGI responder, $M{workers} processes" ],
		[ 'pgbench-S1', 'pgbench S1 (app_begin + doctor_get)' ],
		[ 'pgbench-S2', 'pgbench S2 (app_begin + patient_get), read sync '
		    . "on, group commit (commit_delay $gc->{commit_delay} µs, "
		    . "commit_siblings $gc->{commit_siblings})" ],
		[ 'pgbench-S2-nogc', 'pgbench S2, read sync on, no group commit '
		    . '(commit_delay 0)' ],
		[ 'pgbench-S2-async', 'pgbench S2, read sync off' ],
		[ 'pgbench-S3', 'pgbench S3 (app_begin + patient_create)' ],
	);
	for my $l (@lims) {
		my $s = $lim->{ $l->[0] } or next;
		$md .= "| $l->[1] | " . ($s->{failed} ? '**FAILED** | | ' :
		    join(' | ', fmt_n($s->{rps}), fmt_ms($s->{p50}),
		    fmt_ms($s->{p99}))) . " | $s->{errors} |\n";
	}
	if ($M{bcrypt}) {
		$md .= sprintf("| bcrypt cost %d: %.1f ms a hash alone; %d "
		    . "processes at once (the login ceiling) | %.2f hashes/s "
		    . "| | | |\n", $bcrypt_cost, $M{bcrypt} * 1000, $nproc,
		    $ceiling);
	}
	$md .= bound_table($m, $lim);
	$md .= issue16_table($m, $lim, \@peers);

	# Peers' own figures.
	if (@peers) {
		$md .= "\n## Other targets, same scenarios, same run\n\n"
		    . "| target | scenario | req/s | p50 ms | p99 ms | errors |\n"
		    . "|---|---|--:|--:|--:|--:|\n";
		for my $p (@peers) {
			for my $k (sort keys %{ $S{$p} }) {
				my $s = $S{$p}{$k};
				$md .= "| $p | $k | " . ($s->{failed} ?
				    '**FAILED** | | ' : join(' | ',
				    fmt_n($s->{rps}, $s->{rps} < 100 ? 1 : 0),
				    fmt_ms($s->{p50}), fmt_ms($s->{p99})))
				    . " | $s->{errors} |\n";
			}
			if ($ceiling && $S{$p}{S5} && !$S{$p}{S5}{failed}) {
				$md .= sprintf("| $p | S5 vs the bcrypt ceiling "
				    . "| %.2f × | | | |\n",
				    $S{$p}{S5}{rps} / $ceiling);
			}
		}
	}

	$md .= memory_table($M{memory}, '## Worker memory (VmRSS, '
	    . 'MAX_REQUESTS=0)', \@misses);
	$md .= attack_table(\@misses);
	$md .= history_table(\@misses);
	$md .= fhir_table(\@misses);
	$md .= keepconn_table(\@misses);
	$md .= "\n## Targets missed\n\n" . (@misses ?
	    join('', map { "- $_\n" } @misses) : "None.\n");
	$md .= "\n## Notes\n\n" . join('', map { "- $_\n" } @notes) if @notes;
	$md .= "\nEvery run: `" . ($opt{results} ? $results_dir :
	    'bench/results') . "/$stamp.tsv`.\n";
	return $md;
}

sub fmt_status {
	my ($st) = @_;
	my @k = sort { ($a =~ /^\d+$/ ? $a : 200) <=> ($b =~ /^\d+$/ ? $b : 200)
	    || $a cmp $b } grep { $st->{$_} } keys %$st;
	return join(', ', map { "$_: " . fmt_n($st->{$_}) } @k) || 'none';
}

# The under-attack section, and its misses pushed onto @$misses.
sub attack_table {
	my ($misses) = @_;
	return '' unless @attack;
	my $n = @attack;
	my $med = sub { my ($k, $f) = @_; median(map { $_->{$k}{$f} } @attack) };
	my $sum = sub {
		my ($k) = @_;
		my %st;
		status_sum(\%st, $_->{$k}{status}) for @attack;
		return \%st;
	};
	my $md = sprintf("\n## Under attack (loopback)\n\nS2 on %d connections, "
	    . "first alone, then while %d connections flood `POST "
	    . "/api/auth/register` from 127.0.0.1 with new emails and %d "
	    . "processes send wrong passwords for one account from %d "
	    . "addresses (127.0.1.1 to 127.0.16.16, each a client network of "
	    . "its own); the account's owner, who logged in from 127.0.0.1 "
	    . "before the attack, logs in from there every %.1f s on a new "
	    . "connection. The attack runs from 1 s before the S2 run to 1 s "
	    . "after it. %d pair%s of %d s runs, each attack on an account of "
	    . "its own; req/s are medians, statuses are summed.\n\n",
	    $M{attack_readers}, $ATTACK_FLOODERS, $ATTACK_GUESSERS,
	    $ATTACK_ADDRESSES, $OWNER_EVERY, $n, $n > 1 ? 's' : '',
	    $opt{duration});
	$md .= "| S2 patient by id | req/s | p50 ms | p99 ms | statuses | 5xx |\n"
	    . "|---|--:|--:|--:|---|--:|\n";
	my %fivexx;
	for my $k ([ 'calm', 'undisturbed' ], [ 'hot', 'under attack' ]) {
		my $st = $sum->($k->[0]);
		my $sock = 0;
		$sock += $_->{ $k->[0] }{socket} for @attack;
		$fivexx{ $k->[0] } = 0;
		$fivexx{ $k->[0] } += $_->{ $k->[0] }{fivexx} for @attack;
		$md .= sprintf("| %s | %s | %s | %s | %s%s | %d |\n", $k->[1],
		    fmt_n($med->($k->[0], 'rps')), fmt_ms($med->($k->[0], 'p50')),
		    fmt_ms($med->($k->[0], 'p99')), fmt_status($st),
		    $sock ? ", socket errors: $sock" : '', $fivexx{ $k->[0] });
		push @$misses, "S2 $k->[1]: $fivexx{ $k->[0] } responses 5xx "
		    . '(target 0)' if $fivexx{ $k->[0] };
	}
	my $r = ratio($med->('hot', 'rps'), $med->('calm', 'rps'));
	$md .= sprintf("\nS2 under attack is %s S2 undisturbed (target "
	    . "≥ 0.80: %s).\n", defined $r ? sprintf('%.2f ×', $r) : '—',
	    !defined $r ? '—' : $r >= 0.80 ? 'met' : '**missed**');
	push @$misses, sprintf('S2 under attack: %.2f × S2 undisturbed, target '
	    . '≥ 0.80', $r) if defined $r && $r < 0.80;
	$md .= sprintf("\nWhere the %d cores went during the S2 runs (medians, "
	    . "%% of all cores; \"rest\" is every other process of the "
	    . "machine):\n\n| S2 | pool | PostgreSQL | nginx | wrk (S2) | "
	    . "attack clients | rest | idle |\n|---|--:|--:|--:|--:|--:|--:|--:|\n",
	    $nproc);
	for my $k ([ 'calm', 'undisturbed' ], [ 'hot', 'under attack' ]) {
		$md .= "| $k->[1] | " . join(' | ', map { my $g = $_;
		    sprintf('%.0f', 100 * (median(map { $_->{ $k->[0] }{cpu}{$g} }
		    @attack) // 0)) } @CPU_GROUPS, 'rest', 'idle') . " |\n";
	}

	my @logins = map { @{ $_->{logins} } } @attack;
	my @lat = sort { $a <=> $b } map { $_->[2] } @logins;
	my %os;
	$os{ $_->[1] }++ for @logins;
	my $ok = @logins && !grep { $_->[1] != 200 } @logins;
	my $slow = grep { $_->[2] > 1 } @logins;
	my $o5 = grep { $_->[1] >= 500 && $_->[1] != 599 } @logins;
	my $met = $ok && !$slow;
	$md .= "\n| the owner's logins | n | statuses | p50 ms | slowest ms "
	    . "| over 1 s | all 200 within 1 s |\n|---|--:|---|--:|--:|--:|---|\n";
	$md .= sprintf("| before the attack, on an idle stack | %d | 200: %d | "
	    . "%s | %s | | |\n", $n, $n, fmt_ms(1000 * median(map {
	    $_->{before} } @attack)), fmt_ms(1000 * (sort { $b <=> $a }
	    map { $_->{before} } @attack)[0]));
	$md .= sprintf("| under attack, from 127.0.0.1 every %.1f s | %d | %s "
	    . "| %s | %s | %d | %s |\n", $OWNER_EVERY, scalar(@logins),
	    fmt_status({ map { ($_ == 599 ? 'no answer' : $_) => $os{$_} }
	    keys %os }), fmt_ms(1000 * (pctl(0.5, @lat) // 0)),
	    fmt_ms(1000 * ($lat[-1] // 0)), $slow,
	    $met ? 'met' : '**missed**');
	push @$misses, sprintf("the owner's logins under attack: %d of %d not "
	    . "200, %d over 1 s (slowest %.0f ms); target: every one 200 "
	    . "within 1 s", scalar(grep { $_->[1] != 200 } @logins),
	    scalar(@logins), $slow, 1000 * ($lat[-1] // 0)) unless $met;

	$md .= "\n| attacker | req/s | p50 ms | p99 ms | statuses |\n"
	    . "|---|--:|--:|--:|---|\n";
	my $fst = $sum->('flood');
	my $fsock = 0;
	$fsock += $_->{flood}{socket} for @attack;
	$md .= sprintf("| register flood: %d connections from 127.0.0.1 | %s "
	    . "| %s | %s | %s%s |\n", $ATTACK_FLOODERS,
	    fmt_n($med->('flood', 'rps')), fmt_ms($med->('flood', 'p50')),
	    fmt_ms($med->('flood', 'p99')), fmt_status($fst),
	    $fsock ? ", socket errors: $fsock" : '');
	my $gst = $sum->('guess');
	my $gsock = 0;
	$gsock += $_->{guess}{socket} for @attack;
	$md .= sprintf("| wrong passwords: %d processes from %d addresses | %s "
	    . "| %s | %s | %s%s |\n", $ATTACK_GUESSERS, $ATTACK_ADDRESSES,
	    fmt_n($med->('guess', 'rps')), fmt_ms($med->('guess', 'p50')),
	    fmt_ms($med->('guess', 'p99')), fmt_status($gst),
	    $gsock ? ", no answer: $gsock" : '');
	my ($hashes, $refused, $secs) = (0, 0, 0);
	for (@attack) {
		$hashes += $_->{hashes};
		$refused += $_->{refused};
		$secs += $_->{window};
	}
	$md .= sprintf("\nThe pool made %s bcrypt hashes in the %.0f s of "
	    . "attack (%.1f a second, at cost %d, the owner's included) and "
	    . "refused %s requests with 503 because the budget for new "
	    . "clients (`BCRYPT_SHARE`) was spent. A 503 to an attacker is "
	    . "that budget shedding work, as designed; the target \"no 5xx\" "
	    . "is the legitimate users': %d to S2 under attack, %d to the "
	    . "owner.\n", fmt_n($hashes), $secs, $secs ? $hashes / $secs : 0,
	    $bcrypt_cost, fmt_n($refused), $fivexx{hot}, $o5);
	push @$misses, "the owner's logins under attack: $o5 answered 5xx "
	    . '(target 0)' if $o5;
	return $md;
}

# The --history section, and its misses pushed onto @$misses.
sub history_table {
	my ($misses) = @_;
	my $h = $S{history} or return '';
	my $md = "\n## A record over time (issue 14)\n\nEach ratio is of two "
	    . "measurements in this run; pairs of wrk runs went in turn (A, B, "
	    . "A, B, ...), req/s are medians of $opt{runs} run"
	    . ($opt{runs} > 1 ? 's' : '') . " of $opt{duration} s.\n\n";
	my $before = "$B{rev}, before history";
	my @order = (
		[ 'S3-now', sub { 'S3 create patient, this build' } ],
		[ 'S3-before', sub { "S3 create patient, $before" } ],
		[ 'PATCH-now', sub { 'PATCH patient (no If-Match), this build' } ],
		[ 'PATCH-before', sub { "PATCH patient (no If-Match), $before" } ],
		[ 'S2-empty-trail', sub { "S2 patient by id, trail of "
		    . fmt_n($H{trail}{empty_rows}) . ' rows' } ],
		[ 'S2-big-trail', sub { "S2 patient by id, trail of "
		    . fmt_n($H{trail}{big_rows}) . ' rows' } ],
		[ 'S3-empty-trail', sub { "S3 create patient, trail of "
		    . fmt_n($H{trail}{empty_rows}) . ' rows' } ],
		[ 'S3-big-trail', sub { "S3 create patient, trail of "
		    . fmt_n($H{trail}{big_rows}) . ' rows' } ],
		[ 'S4-none-deleted', sub { 'S4 next page, owner of '
		    . fmt_n($H{deleted}{n}) . ', none deleted' } ],
		[ 'S4-30pct-deleted', sub { 'S4 next page, owner of '
		    . fmt_n($H{deleted}{n}) . ', 30% deleted ('
		    . fmt_n($H{deleted}{live}) . ' live)' } ],
		[ 'history-few', sub { "history page ($HIST_PAGE) via next, "
		    . fmt_n($H{versions}{few}) . ' versions' } ],
		[ 'history-many', sub { "history page ($HIST_PAGE) via next, "
		    . fmt_n($H{versions}{many}) . ' versions' } ],
	);
	$md .= wrk_rows($h, \@order, $misses);
	if (my $e = $H{export}) {
		$md .= "\n| a patient's " . fmt_n($e->{events}) . " audit "
		    . "events, read whole | bytes | seconds (median) | MB/s "
		    . "(median) |\n|---|--:|--:|--:|\n";
		for my $k ([ 'export', '`GET /api/patients/:id/export` (curl)' ],
		    [ 'copy', '`psql -c "COPY (SELECT ...) TO STDOUT"`' ]) {
			my $s = $h->{ $k->[0] } or next;
			$md .= sprintf("| %s | %s | %s | %s |\n", $k->[1],
			    fmt_n($e->{"$k->[0]_bytes"}),
			    $s->{failed} ? '**FAILED**' :
			    sprintf('%.3f', $s->{p50} / 1000),
			    $s->{failed} ? '' : sprintf('%.1f', $s->{rps} / 1e6));
		}
	}

	# The figures against their targets.
	my @fig;
	my $pair = sub { push @fig, pair_figure($h, $misses, @_) };
	my $m = fmt_n($H{trail}{big_rows});
	$pair->("S3: this build / $B{rev}", 'S3-now', 'S3-before', 0.85);
	$pair->("PATCH: this build / $B{rev}", 'PATCH-now', 'PATCH-before',
	    0.85);
	$pair->('S4: 30% deleted / none deleted', 'S4-30pct-deleted',
	    'S4-none-deleted', 0.90);
	$pair->('history page: ' . fmt_n($H{versions}{many}) . ' / '
	    . fmt_n($H{versions}{few}) . ' versions', 'history-many',
	    'history-few', 0.90);
	$pair->('export bytes/s / COPY bytes/s', 'export', 'copy', 0.5);
	$pair->("S2: trail of $m rows / empty", 'S2-big-trail',
	    'S2-empty-trail', 0.90);
	$pair->("S3: trail of $m rows / empty", 'S3-big-trail',
	    'S3-empty-trail', 0.90);
	if (my $t = $H{trail}{bytes_per_row}) {
		push @fig, sprintf('| bytes per audit row (tables and indexes of '
		    . 'its partitions / rows) | %.0f | ≤ 150: %s |', $t,
		    $t <= 150 ? 'met' : '**missed**');
		push @$misses, sprintf('bytes per audit row: %.0f, target ≤ 150',
		    $t) if $t > 150;
	}
	if (my $p = $H{purge}) {
		for my $k ([ 'wall', '`medrec --purge`, the whole command' ],
		    [ 'sql', 'its SQL alone (`app_purge()`, psql `\timing`)' ]) {
			my $v = median(@{ $p->{ $k->[0] } }) // next;
			my $label = "purge of a month of " . fmt_n($p->{rows})
			    . " audit rows: $k->[1]";
			push @fig, sprintf('| %s | %.3f s | < 1 s: %s |', $label,
			    $v, $v < 1 ? 'met' : '**missed**');
			push @$misses, sprintf('%s: %.3f s, target < 1 s', $label,
			    $v) unless $v < 1;
		}
	}
	$md .= "\n| figure | measured | target |\n|---|---|---|\n"
	    . join('', map { "$_\n" } @fig) if @fig;
	$md .= "\n" . join('', map { "- $_\n" } @{ $H{notes} }) if $H{notes};
	return $md;
}

# wrk_rows(\%summary, [ [ scenario, label or sub giving it ], ... ],
# \@misses): the rows of a table of wrk scenarios, those of the list that
# ran, in its order; misses for errors pushed onto @$misses.
sub wrk_rows {
	my ($h, $order, $misses) = @_;
	my @have = grep { $h->{ $_->[0] } } @$order;
	return '' unless @have;
	my $md = "| wrk scenario | req/s | p50 ms | p99 ms | errors |\n"
	    . "|---|--:|--:|--:|--:|\n";
	for my $o (@have) {
		my $s = $h->{ $o->[0] };
		my $label = ref $o->[1] ? $o->[1]->() : $o->[1];
		if ($s->{failed}) {
			$md .= "| $label | **FAILED** | | | $s->{errors} |\n";
			push @$misses, "$label FAILED (more than 1% errors)";
			next;
		}
		$md .= "| $label | " . join(' | ', fmt_n($s->{rps},
		    $s->{rps} < 100 ? 1 : 0), fmt_ms($s->{p50}), fmt_ms($s->{p99}),
		    $s->{errors} . ($s->{ok} < $s->{runs} ?
		    " ($s->{ok}/$s->{runs} runs ok)" : '')) . " |\n";
		push @$misses, "$label: $s->{errors} errors (target 0)"
		    if $s->{errors};
	}
	return $md;
}

# pair_figure(\%summary, \@misses, $label, $a, $b, $min): the row of a
# figures table for the ratio of scenario $a's req/s to $b's against the
# target ≥ $min, its miss pushed onto @$misses; nothing when either did not
# run.  (A side that FAILED is already a miss of wrk_rows.)
sub pair_figure {
	my ($h, $misses, $label, $a, $b, $min) = @_;
	my ($x, $y) = ($h->{$a}, $h->{$b});
	return () unless $x && $y;
	return "| $label | FAILED | ≥ $min: **missed** |"
	    if $x->{failed} || $y->{failed};
	my $r = ratio($x->{rps}, $y->{rps});
	push @$misses, sprintf('%s: %.2f ×, target ≥ %.2f', $label, $r,
	    $min) if $r < $min;
	return sprintf('| %s | %.2f × | ≥ %.2f: %s |', $label, $r, $min,
	    $r >= $min ? 'met' : '**missed**');
}

# memory_table($mem, $heading, \@misses, $who): the table of each worker's
# VmRSS after the memory step's two counts of requests ($M{memory} or
# $M{fhir_memory}); misses, named with $who when given, pushed onto
# @$misses: over 8 MiB, grown by more than 256 KiB beyond what the public
# cache may hold (PUBLIC_CACHE_KB, filled by the doctor reads), or replaced.
sub memory_table {
	my ($mem, $heading, $misses, $who) = @_;
	return '' unless $mem;
	my $room = 256 + ($ENV{PUBLIC_CACHE_KB} // 1024);
	$who = defined $who ? "$who: " : '';
	my ($s1, $s2) = @{ $mem->{steps} };
	my $md = sprintf("\n%s\n\n| worker | after %s requests | after %s "
	    . "requests | growth |\n|---|--:|--:|--:|\n", $heading,
	    fmt_n($mem->{$s1}{requests}), fmt_n($mem->{$s2}{requests}));
	my $i = 0;
	for my $pid (sort { $a <=> $b } keys %{ $mem->{$s2}{rss} }) {
		my ($x, $y) = ($mem->{$s1}{rss}{$pid}, $mem->{$s2}{rss}{$pid});
		$i++;
		my $g = defined $x ? $y - $x : undef;
		$md .= sprintf("| %d (pid %d) | %s KiB | %s KiB | %s |\n",
		    $i, $pid, fmt_n($x), fmt_n($y),
		    defined $g ? sprintf('%+d KiB', $g) : 'new worker');
		push @$misses, "${who}worker $pid: $y KiB after "
		    . fmt_n($mem->{$s2}{requests}) . ' requests, target '
		    . '≤ 8192 KiB' if $y > 8192;
		push @$misses, "${who}worker $pid grew by $g KiB, target "
		    . "≤ $room KiB (256 and the public cache)"
		    if defined $g && $g > $room;
		push @$misses, "${who}worker $pid was replaced during the "
		    . 'memory step' unless defined $x;
	}
	return $md;
}

# The --fhir section, and its misses pushed onto @$misses.
sub fhir_table {
	my ($misses) = @_;
	my $f = $S{fhir} // {};
	my $mem = $M{fhir_memory};
	return '' unless %$f || $mem;
	my ($small, $big) = map { fmt_n($_) } @seed{qw(owner big)};
	my $md = "\n## FHIR R4 (issue 15)\n\nEach ratio is of two "
	    . "measurements in this run; pairs of wrk runs went in turn (A, B, "
	    . "A, B, ...), req/s are medians of $opt{runs} run"
	    . ($opt{runs} > 1 ? 's' : '') . " of $opt{duration} s. S2 and the "
	    . "FHIR read take the same tokens and patient ids (`s2.lua`); the "
	    . "search pages are the Bundle's `next` links after `GET "
	    . "/fhir/R4/Patient?_count=$PAGE&_offset=K` at $CURSORS random "
	    . "depths K (`s4.lua`).\n\n";
	$md .= wrk_rows($f, [
		[ 'S2', 'S2 patient by id, `GET /api/patients/:id`' ],
		[ 'fhir-read', 'FHIR Patient read, `GET /fhir/R4/Patient/:id`' ],
		[ "fhir-next-$seed{owner}", "FHIR search page ($PAGE) via next, "
		    . "owner of $small" ],
		[ "fhir-next-$seed{big}", "FHIR search page ($PAGE) via next, "
		    . "owner of $big" ],
	], $misses);
	my @fig = (pair_figure($f, $misses, 'FHIR Patient read / S2',
	    'fhir-read', 'S2', 0.90),
	    pair_figure($f, $misses, "FHIR search page via next: owner of "
	    . "$big / owner of $small", "fhir-next-$seed{big}",
	    "fhir-next-$seed{owner}", 0.90));
	if ($mem) {
		# The figure is the largest worker (memory_table has each, and
		# pushes the misses).
		my $last = $mem->{ $mem->{steps}[1] };
		my ($top) = sort { $b <=> $a } values %{ $last->{rss} };
		push @fig, sprintf('| worker RSS after %s FHIR requests (the '
		    . 'largest of %d workers) | %s KiB | ≤ 8,192 KiB: %s |',
		    fmt_n($last->{requests}), scalar(keys %{ $last->{rss} }),
		    fmt_n($top), $top <= 8192 ? 'met' : '**missed**');
	}
	$md .= "\n| figure | measured | target |\n|---|---|---|\n"
	    . join('', map { "$_\n" } @fig) if @fig;
	$md .= memory_table($mem, '### Worker memory under FHIR requests '
	    . '(VmRSS, MAX_REQUESTS=0)', $misses, 'FHIR');
	$md .= "\nThe FHIR requests (`lua/fhir-mem.lua`), in a round of ten: "
	    . "three Patient reads, a search's first page, a search by name, a "
	    . "page through a next link, a Practitioner read and search, a "
	    . "CareTeam and the CapabilityStatement.\n" if $mem;
	return $md;
}

# What the limits allow together.  A request of S1-S3 costs at least the
# no-op responder's trip through nginx and FastCGI plus the transaction
# pgbench runs.  With every core busy those CPU costs add up, so a service
# whose own code cost nothing would reach 1 / (1/no-op + 1/pgbench): the
# bound the scenario's figure is best read against.
sub bound_table {
	my ($m, $lim) = @_;
	my $noop = $lim->{'noop-fcgi'};
	return '' unless $noop && !$noop->{failed};
	my $md = "\n## What the limits allow together\n\n"
	    . "A request costs at least the no-op responder's trip through "
	    . "nginx and FastCGI and the transaction pgbench runs; with every "
	    . "core busy these add up, so even a service whose own code cost "
	    . "nothing would not pass 1 / (1/no-op + 1/pgbench).  (pgbench S2 "
	    . "with durable reads also waits on WAL flushes, which do not add "
	    . "up the same way: there the bound is a guide.)\n\n"
	    . "| scenario | bound req/s | bound / pgbench | medrec / bound |\n"
	    . "|---|--:|--:|--:|\n";
	for my $k (qw(S1 S2 S2-nogc S2-async S3)) {
		my $pg = $lim->{"pgbench-$k"};
		next unless $pg && !$pg->{failed};
		my $bound = 1 / (1 / $noop->{rps} + 1 / $pg->{rps});
		my $s = $m->{$k};
		$md .= sprintf("| %s | %s | %.2f × | %s |\n", $k, fmt_n($bound),
		    $bound / $pg->{rps}, $s && !$s->{failed} ?
		    sprintf('%.2f ×', $s->{rps} / $bound) : '—');
	}
	return $md;
}

# Issue 16's targets, each against the figure of this run it is about
# (the tables above push the misses; this is the summary), and what group
# commit did: S2 and its pgbench limit with it and without, in turn.
sub issue16_table {
	my ($m, $lim, $peers) = @_;
	my $ok = sub { $_[0] && !$_[0]{failed} };
	my @t;
	my $row = sub {
		my ($label, $x, $y, $cmp, $want, $what) = @_;
		$what //= 'rps';
		unless ($ok->($x) && $ok->($y)) {
			push @t, "| $label | — | $cmp $want: not measured |";
			return;
		}
		my $r = $x->{$what} / $y->{$what};
		my $met = $cmp eq '≥' ? $r >= $want : $r <= $want;
		push @t, sprintf('| %s | %.2f × | %s %s: %s |', $label, $r, $cmp,
		    $want, $met ? 'met' : '**missed**');
	};
	$row->('S1 / no-op responder', $m->{S1}, $lim->{'noop-fcgi'}, '≥',
	    '0.90');
	$row->("S1 / $_", $m->{S1}, $S{$_}{S1}, '≥', '4')
	    for @$peers ? @$peers : ('each peer (none ran: --peers)');
	$row->('S1 p99 / no-op responder p99', $m->{S1}, $lim->{'noop-fcgi'},
	    '≤', '1.5', 'p99');
	$row->('S2 (read sync on, group commit) / php-fpm', $m->{S2},
	    $S{'php-fpm'}{S2}, '≥', '1.5');
	my $md = "\n## Issue 16's targets\n\n| figure | measured | target |\n"
	    . "|---|--:|---|\n" . join('', map { "$_\n" } @t);
	my @gc;
	for my $p ([ 'pgbench S2 limit', $lim->{'pgbench-S2'},
	    $lim->{'pgbench-S2-nogc'} ], [ 'medrec S2', $m->{S2},
	    $m->{'S2-nogc'} ]) {
		my ($label, $with, $without) = @$p;
		next unless $ok->($with) && $ok->($without);
		push @gc, sprintf('| %s | %s | %s | %.2f × | %s / %s |', $label,
		    fmt_n($with->{rps}), fmt_n($without->{rps}),
		    $with->{rps} / $without->{rps}, fmt_ms($with->{p99}),
		    fmt_ms($without->{p99}));
	}
	$md .= sprintf("\nGroup commit (commit_delay %s µs, commit_siblings %s) "
	    . "against none (commit_delay 0), runs in turn, read sync on:\n\n"
	    . "| S2 | req/s with | req/s without | with / without | p99 ms "
	    . "with / without |\n|---|--:|--:|--:|---|\n", $M{gc}{commit_delay},
	    $M{gc}{commit_siblings}) . join('', map { "$_\n" } @gc) if @gc;
	return $md;
}

# write_chart($path): the chart beside the table, in SVG: per scenario,
# req/s of medrec, of each peer or --compare target that ran it (one that
# did not is absent), and of the scenario's limit (the no-op responder for
# S1, pgbench for S2 and S3), as grouped bars drawn by gnuplot.  S5 (a few
# logins a second) is left out: its bars would not show on this scale.
# Returns 0 when there is nothing to draw (--attack, --history, --fhir),
# 1 when drawn; dies when gnuplot fails.
sub write_chart {
	my ($path) = @_;
	my $m = $S{medrec} // {};
	my $lim = $S{limit} // {};
	my @scen = grep { $m->{ $_->[0] } } (
		[ 'S1', 'S1 doctor', 'noop-fcgi' ],
		[ 'S2', 'S2 patient (audit sync)', 'pgbench-S2' ],
		[ 'S2-nogc', 'S2, no group commit', 'pgbench-S2-nogc' ],
		[ 'S2-async', 'S2 (audit async)', 'pgbench-S2-async' ],
		[ 'S3', 'S3 create', 'pgbench-S3' ],
		[ 'S4-10000', 'S4 next page', undef ],
		[ 'S6', 'S6 mixed', undef ],
	);
	return 0 unless @scen;
	my $val = sub {
		my ($s) = @_;
		return $s && !$s->{failed} ? sprintf('%.0f', $s->{rps}) : '-';
	};
	my @who = ('medrec', grep { my $p = $_; grep { $S{$p}{ $_->[0] } }
	    @scen } @{ $M{peers} // [] });
	my $data = join("\t", 'scenario', @who,
	    'limit: no-op (S1), pgbench (S2, S3)') . "\n";
	for my $sc (@scen) {
		my ($k, $label, $l) = @$sc;
		$data .= join("\t", "\"$label\"", (map { $val->($S{$_}{$k}) }
		    @who), $l ? $val->($lim->{$l}) : '-') . "\n";
	}
	my @colour = ('#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b',
	    '#e377c2');
	my $limit_colour = '#9a9a9a';
	my @plot = map {
		my $c = $_ - 2 < @who ? $colour[ ($_ - 2) % @colour ] :
		    $limit_colour;
		($_ == 2 ? '$data using 2:xtic(1)' : "'' using $_")
		    . " title columnhead lc rgb '$c'";
	} 2 .. @who + 2;
	(my $title = sprintf('medrec %s%s, %s: req/s, medians of %d run%s of '
	    . '%d s', $M{commit} || '?', $M{dirty} ? '+' : '',
	    strftime('%Y-%m-%d %H:%M UTC', gmtime($started)), $opt{runs},
	    $opt{runs} > 1 ? 's' : '', $opt{duration})) =~ s/["\\]//g;
	my $gp = <<"EOF";
set terminal svg size 960,480 font 'sans,12' background '#ffffff'
set output '$path.tmp'
\$data << EOD
${data}EOD
set datafile separator "\\t"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set yrange [0:*]
set grid ytics
set ylabel 'requests per second'
set key top right
set title "$title"
plot @{[ join(', ', @plot) ]}
EOF
	my $r = run(cmd => [ 'gnuplot' ], stdin => $gp, may_fail => 1);
	die "gnuplot failed (status $r->{status}):\n$r->{err}"
	    if $r->{status} || !-s "$path.tmp";
	rename("$path.tmp", $path) or die "rename $path.tmp: $!\n";
	return 1;
}

###############################################################################
# Main.

sub build_tools {
	make_path("$work/bin");
	run(cmd => [ $ENV{CC} // 'cc', '-O2', '-o', "$work/bin/noop-fcgi",
	    "$top/bench/noop-fcgi.c", '-lfcgi' ]);
	run(cmd => [ $ENV{CC} // 'cc', '-O2', '-o', "$work/bin/bcrypt-time",
	    "$top/bench/bcrypt-time.c", '-lcrypt' ]);
}

# The whole run on medrec: each limit, then the scenarios read against it,
# then the under-attack scenario and worker memory.
sub all_scenarios {
	# Each limit is measured right before the scenario read against it,
	# so that both see the same machine: a shared one does not stay as
	# busy or as idle for the half hour of a full run.
	scenario(name => 'nginx-return-200', target => 'limit',
	    url => $M{return_url}, script => 'plain.lua', args => [ '/' ]);
	noop_start();
	scenario(name => 'noop-fcgi', target => 'limit', url => $M{noop_url},
	    script => 'plain.lua', args => [ '/api/noop' ]);
	noop_stop();
	scenarios_for('medrec', $M{url}, 'S1');
	pgbench_scenario('pgbench-S1', 's1-doctor-get.sql');
	group_commit_scenarios();
	pgbench_scenario('pgbench-S2-async', 's2-patient-get.sql',
	    read_sync_off => 't');
	pool_restart(AUDIT_READ_SYNC => 'off');
	scenario(name => 'S2-async', target => 'medrec', url => $M{url},
	    script => 's2.lua', args => [ $D{medrec}{tokens} ]);
	pool_restart();
	pgbench_scenario('pgbench-S3', 's3-patient-create.sql');
	scenarios_for('medrec', $M{url}, 'S3', 'S4', 'S6', 'S5');
	attack_scenario();
	memory_step();
}

my $exit = 1;
my $chart_broken;
my $ok = eval {
	make_path($results_dir);
	die "$bin is not built: run make\n" unless -x $bin;
	push @notes, 'the service is built with sanitizers: its figures mean '
	    . 'nothing' if slurp("$top/Makefile") =~ /^CFLAGS\s*=.*-fsanitize/m;
	phase("checking bench/sql/*.sql against db/*.c");
	my $c = run(cmd => [ "$top/bench/check-sql" ], may_fail => 1);
	die "the pgbench scripts differ from the service's SQL:\n$c->{err}"
	    if $c->{status};
	build_tools();

	phase("starting the stack in $work");
	medrec_cluster();
	$settle_roots = sub { ($M{pool_pid}, $M{nginx_pid}, $M{noop_pid},
	    postmaster($M{pg})) };
	pool_start();
	nginx_start();
	# --keep-conn measures the no-op responder alone: nothing to seed.
	unless ($opt{'keep-conn'}) {
		phase("seeding");
		seed_medrec();
	}
	# --attack: the under-attack scenario alone; --history: issue 14's
	# figures alone; --fhir: issue 15's.
	if ($opt{attack}) {
		attack_scenario();
	} elsif ($opt{history}) {
		history_scenarios();
	} elsif ($opt{fhir}) {
		fhir_scenarios();
	} elsif ($opt{'keep-conn'}) {
		keepconn_scenarios();
	} else {
		all_scenarios();
	}
	my @alerts = grep { /\[alert\]|\[emerg\]/ }
	    split /\n/, slurp("$work/nginx/error.log");
	push @notes, "nginx logged " . scalar(@alerts) . " alerts: $alerts[0]"
	    if @alerts;
	pool_stop();

	for my $p ($opt{peers} ? sort keys %peer_info : ()) {
		eval { run_peer($p); 1 } or do {
			push @notes, "$p: " . ($@ =~ s/\s+$//r);
			say("$p failed: $@");
		};
	}
	run_compare($_) for @{ $opt{compare} // [] };

	my $md = report();
	# The chart next to the table: <time>.svg, and latest*.svg as
	# latest*.md.  Without one, a note says why and the exit status is 1.
	(my $latest_svg = $latest) =~ s/\.md$/.svg/;
	my $drawn = eval { write_chart("$results_dir/$stamp.svg") };
	if ($drawn) {
		run(cmd => [ 'cp', "$results_dir/$stamp.svg",
		    "$results_dir/$latest_svg" ]);
		$md =~ s/^(## medrec\n)/$1\nChart: `$stamp.svg` (and `$latest_svg`).\n/m;
	} elsif ($@) {
		$chart_broken = $@ =~ s/\s+$//r;
		say("no chart: $chart_broken");
		$md .= "\nNo chart: " . ($chart_broken =~ s/\s*\n\s*/ /gr) . "\n";
	}
	spew("$results_dir/$latest", $md);
	spew("$results_dir/$stamp.md", $md);
	print $md;
	$failed_plumbing = 0;
	# The under-attack scenario's S2 runs are medrec scenarios too.
	$exit = (grep { $_->{failed} } values(%{ $S{medrec} // {} }),
	    values(%{ $S{history} // {} }), values(%{ $S{fhir} // {} }),
	    values(%{ $S{keepconn} // {} }), map { $_->{calm}, $_->{hot} } @attack) ? 2 : 0;
	# A --history or --fhir figure that broke is plumbing, though the
	# others made the table.
	$exit = 1 if $H{broken} || $F{broken} || $K{broken} || $chart_broken;
	1;
};
my $err = $@;
say("failed: $err") unless $ok;
while (my $c = pop @cleanups) {
	eval { $c->() };
}
stop_pid($M{noop_pid}, 'TERM', 10) if $M{noop_pid};
stop_pid($M{pool_pid}, 'TERM', 75) if $M{pool_pid};
if ($failed_plumbing || $opt{keep} || $ENV{LEAVE}) {
	say("kept $work");
} else {
	remove_tree($work);
}
phase(sprintf('done, exit %d', $exit));
exit $exit;
