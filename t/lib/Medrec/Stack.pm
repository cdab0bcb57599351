package Medrec::Stack;

# A running medrec stack for the black-box tests: a fresh PostgreSQL cluster
# on a private socket directory, the FastCGI pool (fcgi-app/medrec) and a
# private nginx on a free loopback port, all under one temp dir.  Modelled on
# PostgreSQL's PostgreSQL::Test::Cluster and nginx-tests' Test::Nginx.
#
#	my $t = Medrec::Stack->shared;		# most test files
#	my $t = Medrec::Stack->new(env => { WORKERS => 2 });	# kills things
#	my $r = $t->request(GET => '/api/health');
#	is($r->{status}, 200, 'health is 200');
#
# shared() attaches to the stack t/run-suite started (env MEDREC_STACK names
# its JSON description) and never stops it; without run-suite it starts a
# private one.  A stack this process started is stopped, by PID, when the
# object is destroyed, at done_testing(), or in END, even when a test died;
# then its logs are checked (as tests) for alerts, sanitizer reports and any
# password or token new_user() handed out.  The temp dir is kept when a test
# failed or LEAVE=1.  Those checks are tests: end a file with done_testing()
# (a fixed plan would not count them).
#
# Every method here is a helper, not a test: it die()s on failure and never
# calls ok().  The helpers that assert live in Medrec::Test.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use Fcntl qw(:flock O_WRONLY O_APPEND O_CREAT);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG setsid _exit);
use Scalar::Util qw(weaken);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(wait_until slurp);

# The settings of conf/conf.c: removed from the pool's environment unless a
# test sets them, so the caller's shell cannot change what a test sees.
my @CONF_KEYS = qw(LISTEN SOCKET_MODE LISTEN_BACKLOG WORKERS MAX_REQUESTS
    DB_TIMEOUT DB_PREPARE AUDIT_READ_SYNC AUTO_MIGRATE MIGRATIONS_DIR PORT
    DATABASE_URL MIGRATION_DATABASE_URL DB_HOST DB_PORT
    DB_USER DB_PASSWORD DB_NAME DB_DIALECT JWT_SECRET JWT_TTL BCRYPT_COST
    LOGIN_MAX_FAILURES LOGIN_MAX_EMAILS_PER_ADDRESS LOGIN_WINDOW
    LOGIN_MAX_ACCOUNT_FAILURES LOGIN_ACCOUNT_WINDOW LOG_FORMAT
    CORS_ORIGINS RUN_AS_USER BCRYPT_SHARE REGISTER_MAX_PER_ADDRESS
    REGISTER_WINDOW FCGI_WEB_SERVER_ADDRS FCGI_READ_TIMEOUT PUBLIC_CACHE_KB
    PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGOPTIONS);

# The unprivileged user PostgreSQL runs as when we are root (script/lib.sh).
my $PG_USER = 'medrec';

our $JSON = JSON::PP->new->utf8->canonical;

my @owned;		# stacks this process started (weak refs), stopped in END
my $counter = 0;	# for unique emails

###############################################################################
# Plain utilities (die on misuse, never assert).

# The repository's top directory: t/lib/Medrec/Stack.pm is three levels down.
sub top {
	return abs_path(dirname(__FILE__) . '/../../..');
}

# The newest PostgreSQL bin directory, as script/lib.sh picks it.
sub pgbin {
	my @d = sort { _vcmp($a, $b) } grep { -x "$_/initdb" }
	    glob('/usr/lib/postgresql/*/bin');
	die "no PostgreSQL under /usr/lib/postgresql/*/bin\n" unless @d;
	return $d[-1];
}

sub _vcmp {
	my ($x, $y) = map { m{/postgresql/([\d.]+)/} ? $1 : 0 } @_;
	my @x = split /\./, $x;
	my @y = split /\./, $y;
	while (@x || @y) {
		my $c = (shift(@x) // 0) <=> (shift(@y) // 0);
		return $c if $c;
	}
	return 0;
}

# wait_until($seconds, sub { ... }): polls the sub every 20 ms until it
# returns true (returns that value) or the deadline passes (returns undef).
sub wait_until {
	my ($timeout, $cond, $interval) = @_;
	my $deadline = time + $timeout;
	for (;;) {
		my $v = $cond->();
		return $v if $v;
		return undef if time > $deadline;
		sleep($interval // 0.02);
	}
}

sub slurp {
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

sub _spew {
	my ($path, $text, $mode) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!\n";
	print $fh $text;
	close($fh) or die "cannot write $path: $!\n";
	chmod($mode, $path) if defined $mode;
}

sub _tail {
	my ($path, $n) = @_;
	my @l = split /\n/, slurp($path);
	@l = @l[-$n .. -1] if @l > $n;
	return "==> $path <==\n" . (@l ? join("\n", @l) . "\n" : "(empty)\n");
}

sub _random_string {
	my ($n) = @_;
	my @c = ('A' .. 'Z', 'a' .. 'z', '0' .. '9');
	open(my $fh, '<:raw', '/dev/urandom') or die "/dev/urandom: $!\n";
	read($fh, my $bytes, $n) == $n or die "/dev/urandom: short read\n";
	return join '', map { $c[ord($_) % @c] } split //, $bytes;
}

# npm_tool(NAME): the path of an npm tool's binary (redocly, prism), which
# script/npm-tool installs into var/npm on first use; dies with its output
# when that fails.
sub npm_tool {
	my ($name) = @_;
	my $r = run_cmd(cwd => top(), timeout => 1200,
	    cmd => [ top() . '/script/npm-tool', $name ]);
	my ($bin) = $r->{out} =~ /^(\S+)\n\z/;
	die "script/npm-tool $name failed:\n$r->{out}$r->{err}"
	    if $r->{status} || !defined $bin || !-x $bin;
	return $bin;
}

# run_cmd(cmd => [...], env => {K => V or undef}, cwd => dir, as_pg => 1,
# stdin => text, timeout => seconds): runs a command (as the PostgreSQL user
# with as_pg, when root) to completion, in its own process group, with stdout
# and stderr captured; returns { status => $?, out, err, timed_out }.
# After timeout (default 60 s) it is killed.  Dies only when it cannot run
# it at all.
sub run_cmd {
	my (%o) = @_;
	local $?;	# never leak a child's status into the caller's $?
	my @cmd = @{ $o{cmd} };
	unshift @cmd, 'runuser', '-u', $PG_USER, '--' if $o{as_pg} && $> == 0;
	# Anonymous files: already unlinked, so nothing is left behind even
	# when a signal ends us half-way.
	my %fh;
	for my $k (qw(in out err)) {
		open($fh{$k}, '+>:raw', undef) or die "temp file: $!\n";
	}
	syswrite($fh{in}, $o{stdin}) if defined $o{stdin} && length $o{stdin};
	sysseek($fh{in}, 0, 0);
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		eval {
			setpgrp(0, 0);
			chdir($o{cwd} // '/') or die "chdir: $!\n";
			open(STDIN, '<&', $fh{in}) or die;
			open(STDOUT, '>&', $fh{out}) or die;
			open(STDERR, '>&', $fh{err}) or die;
			_apply_env($o{env}) if $o{env};
			exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!\n";
		};
		print STDERR $@;
		_exit(127);
	}
	my $status;
	my $done = wait_until($o{timeout} // 60, sub {
		return 0 unless waitpid($pid, WNOHANG) == $pid;
		$status = $?;
		return 1;
	}, 0.01);
	unless ($done) {
		kill('KILL', -$pid);
		waitpid($pid, 0);
		$status = $?;
	}
	my %r = (status => $status, timed_out => !$done);
	for my $k (qw(out err)) {
		seek($fh{$k}, 0, 0);
		local $/;
		my $fh = $fh{$k};
		$r{$k} = <$fh> // '';
	}
	return \%r;
}

# The environment without any medrec or libpq setting, plus %set: what a
# test runs the binary with, so the caller's shell cannot change the result.
sub clean_env {
	my (%set) = @_;
	my %env = map { $_ => undef } @CONF_KEYS;
	return { %env, %set };
}

# The binary under test: MEDREC_BIN, else fcgi-app/medrec of this tree.
sub bin_path {
	return $ENV{MEDREC_BIN} // top() . '/fcgi-app/medrec';
}

sub _apply_env {
	my ($env) = @_;
	for my $k (keys %$env) {
		if (defined $env->{$k}) {
			$ENV{$k} = $env->{$k};
		} else {
			delete $ENV{$k};
		}
	}
}

# _spawn(cmd => [...], log => path, cwd => dir, env => {...}): starts a
# daemon-like child in its own session (so a terminal's Ctrl-C reaches only
# us, and we stop it in order), output appended to log.  Returns its pid.
sub _spawn {
	my (%o) = @_;
	my @cmd = @{ $o{cmd} };
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		eval {
			setsid();
			chdir($o{cwd}) or die "chdir $o{cwd}: $!\n";
			open(STDIN, '<', '/dev/null') or die;
			open(STDOUT, '>>', $o{log}) or die "$o{log}: $!\n";
			open(STDERR, '>&', \*STDOUT) or die;
			_apply_env($o{env}) if $o{env};
			exec { $cmd[0] } @cmd or die "exec $cmd[0]: $!\n";
		};
		print STDERR $@;
		_exit(127);
	}
	return $pid;
}

# A loopback port nobody listens on, held (bound) until the caller closes
# the socket, as nginx-tests' port() holds its ports.
sub _hold_port {
	for (1 .. 50) {
		my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
		    LocalPort => 0, Proto => 'tcp', ReuseAddr => 1,
		    Listen => 1) or next;
		return ($s, $s->sockport);
	}
	die "no free port on 127.0.0.1\n";
}

sub _ensure_pg_user {
	local $?;
	return unless $> == 0;
	return if defined getpwnam($PG_USER);
	system('useradd', '--system', '--no-create-home', '--home-dir',
	    '/nonexistent', '--shell', '/usr/sbin/nologin', $PG_USER) == 0
	    or die "useradd $PG_USER failed\n";
}

###############################################################################
# Starting and attaching.

# Medrec::Stack->new(env => {...}, nginx_workers => 1, tap => 1): starts a
# private stack.  env overrides the pool's environment (undef deletes);
# nginx_workers is NGINX_WORKERS; tap => 0 makes teardown print instead of
# running the log checks as tests (default: tests when Test::More is loaded).
# web => 'apache' puts Apache httpd in front instead of nginx.
# real_ip_from => '127.0.0.1' (addresses or networks, comma-separated)
# makes the web server believe X-Forwarded-For from those proxies only, as
# the README's "Real client addresses" says.
sub new {
	my ($class, %opts) = @_;
	my $self = bless {
		owned		=> 1,
		owner_pid	=> $$,
		top		=> top(),
		pgbin		=> pgbin(),
		tap		=> $opts{tap} // defined $INC{'Test/Builder.pm'},
		secrets		=> [],
	}, $class;
	$self->{bin} = bin_path();
	die "$self->{bin} is not built: run make\n" unless -x $self->{bin};

	my $dir = tempdir('medrec-XXXXXX', TMPDIR => 1, CLEANUP => 0);
	chmod(0755, $dir) or die "chmod $dir: $!\n";
	$self->{dir} = $dir;
	push @owned, $self;
	weaken($owned[-1]);	# so that undef $t stops it at once
	_install_signal_handlers();
	_register_testing_done() if $self->{tap};

	eval {
		$self->_init_pg;
		$self->start_pg;
		# As a deployment has it: the tables' owner runs the
		# migrations, the service logs in as a member of medrec_app.
		$self->psql('CREATE ROLE medrec_owner LOGIN', db => 'postgres');
		$self->psql('CREATE ROLE medrec_app NOLOGIN', db => 'postgres');
		$self->psql('CREATE ROLE medrec LOGIN IN ROLE medrec_app',
		    db => 'postgres');
		$self->psql('CREATE DATABASE medrec OWNER medrec_owner',
		    db => 'postgres');
		$self->{database_url} =
		    "postgresql://medrec\@/medrec?host=$self->{sockdir}";
		$self->{migration_url} =
		    "postgresql://medrec_owner\@/medrec?host=$self->{sockdir}";
		$self->_start_pgbouncer if $opts{pgbouncer};
		$self->{jwt_secret} = _random_string(48);
		$self->{base_env} = {
			LISTEN		=> "$dir/pool.sock",
			SOCKET_MODE	=> '0666',
			DATABASE_URL	=> $self->{database_url},
			MIGRATION_DATABASE_URL => $self->{migration_url},
			JWT_SECRET	=> $self->{jwt_secret},
			MIGRATIONS_DIR	=> "$self->{top}/db/migrations",
			WORKERS		=> 4,
			BCRYPT_COST	=> 4,
			DB_TIMEOUT	=> 5,
			# Every test registers its users from 127.0.0.1, as
			# fast as it can, valgrind's slow pool too;
			# t/013-hostile-clients.t tests the window and the
			# share of the cores for hashing.
			REGISTER_MAX_PER_ADDRESS => 1000000,
			BCRYPT_SHARE	=> 100,
			%{ $opts{env} // {} },
		};
		# With listen => 'tcp', the pool listens on a loopback port,
		# as pools on other hosts do (pool_port).
		my @sockets = ("$dir/pool.sock");
		if (($opts{listen} // '') eq 'tcp') {
			my ($s, $p) = _hold_port();
			close($s);
			$self->{pool_port} = $p;
			$self->{base_env}{LISTEN} = "127.0.0.1:$p";
			@sockets = ("127.0.0.1:$p");
		}
		$self->start_pool;
		for my $i (2 .. ($opts{pools} // 1)) {
			$self->start_extra_pool("pool$i");
			push @sockets, "$dir/pool$i.sock";
		}
		$self->{sockets} = join(',', @sockets);
		$self->{real_ip_from} = $opts{real_ip_from};
		if (($opts{web} // 'nginx') eq 'apache') {
			$self->_start_apache($opts{tls});
		} else {
			$self->_start_nginx($opts{nginx_workers} // 1, $opts{tls});
		}
		$self->wait_ready;
		# A stack whose plain port only redirects has nothing to check.
		$self->_start_prism if $ENV{MEDREC_PRISM} && !$opts{tls};
		1;
	} or do {
		my $err = $@;
		$self->{failed} = 1;
		$self->stop;
		die $err =~ /^==> /m ? "${err}the stack did not start\n" :
		    "${err}the stack did not start; logs:\n" . $self->_log_tails;
	};
	return $self;
}

# Medrec::Stack->shared: the suite's shared stack when t/run-suite runs us,
# else a private one.  Never stops a stack it did not start.
sub shared {
	my ($class, %opts) = @_;
	my $file = $ENV{MEDREC_STACK};
	return $class->new(%opts) unless defined $file && length $file;
	my $d = $JSON->decode(slurp($file) || die "cannot read $file\n");
	my $self = bless {
		%$d,
		owned		=> 0,
		owner_pid	=> $$,
		secrets		=> [],
	}, $class;
	return $self;
}

# What shared() needs to attach, as written by t/run-suite.
sub description {
	my ($self) = @_;
	my %d = map { $_ => $self->{$_} } qw(url port dir top bin pgbin pgdata
	    sockdir database_url migration_url pool_pid nginx_pid jwt_secret
	    metrics_url prism_url prism_log prism_record);
	return \%d;
}

sub write_description {
	my ($self, $path) = @_;
	_spew($path, $JSON->encode($self->description), 0600);
}

sub _init_pg {
	my ($self) = @_;
	my $pg = "$self->{dir}/pg";
	$self->{pgdata} = "$pg/data";
	$self->{sockdir} = "$pg/run";
	$self->{pglog} = "$pg/postgres.log";
	mkdir($pg) && mkdir("$pg/run") or die "mkdir $pg: $!\n";
	chmod(0755, $pg, "$pg/run");
	if ($> == 0) {
		_ensure_pg_user();
		my (undef, undef, $uid, $gid) = getpwnam($PG_USER);
		chown($uid, $gid, $pg, "$pg/run") or die "chown $pg: $!\n";
	}
	my $r = run_cmd(as_pg => 1, cwd => $pg, cmd => [
	    "$self->{pgbin}/initdb", '-D', $self->{pgdata}, '-U', 'postgres',
	    '-E', 'UTF8', '--locale=C.UTF-8', '--auth=trust', '--no-sync' ]);
	die "initdb failed:\n$r->{out}$r->{err}" if $r->{status};
	my $conf = "$self->{pgdata}/postgresql.conf";
	open(my $fh, '>>', $conf) or die "$conf: $!\n";
	print $fh <<"EOF";

# Medrec::Stack: a throw-away cluster reachable only on its socket.
listen_addresses = ''
unix_socket_directories = '$self->{sockdir}'
fsync = off
full_page_writes = off
synchronous_commit = off
shared_buffers = 16MB
max_connections = 60
log_min_messages = warning
EOF
	close($fh) or die "$conf: $!\n";
}

sub start_pg {
	my ($self) = @_;
	my $r = run_cmd(as_pg => 1, cwd => "$self->{dir}/pg", cmd => [
	    "$self->{pgbin}/pg_ctl", '-D', $self->{pgdata}, '-l',
	    $self->{pglog}, '-w', '-t', '30', 'start' ]);
	die "pg_ctl start failed:\n$r->{out}$r->{err}" . _tail($self->{pglog}, 20)
	    if $r->{status};
	$self->{pg_running} = 1;
}

# stop_pg('fast' | 'immediate' | 'smart')
sub stop_pg {
	my ($self, $mode) = @_;
	my $r = run_cmd(as_pg => 1, cwd => "$self->{dir}/pg", cmd => [
	    "$self->{pgbin}/pg_ctl", '-D', $self->{pgdata}, '-m',
	    $mode // 'fast', '-w', '-t', '30', 'stop' ]);
	die "pg_ctl stop failed:\n$r->{out}$r->{err}" if $r->{status};
	$self->{pg_running} = 0;
}

# The pool's environment: the caller's, without any medrec setting, plus
# ours, plus the test's.
sub pool_env {
	my ($self, %extra) = @_;
	return clean_env(%{ $self->{base_env} }, %extra);
}

# start_pool(%env): starts the pool master (env as in new(), on top of the
# stack's).  pool.log collects its output, appended across restarts.
sub start_pool {
	my ($self, %extra) = @_;
	die "the pool is already running\n" if $self->pool_alive;
	$self->{pool_env} = $self->pool_env(%extra);
	$self->{pool_pid} = _spawn(cmd => [ $self->{bin} ],
	    cwd => $self->{dir}, log => $self->pool_log_path,
	    env => $self->{pool_env});
	delete $self->{pool_status};
	return $self->{pool_pid};
}

# With tls, nginx serves HTTPS on a second port with a fresh self-signed
# certificate (tls_url, tls_port, tls_cert), and the plain port refuses
# API calls.
sub _start_nginx {
	my ($self, $workers, $tls) = @_;
	my $dir = "$self->{dir}/nginx";
	my ($sock, $port) = _hold_port();
	my @tls;
	my ($tls_sock, $tls_port);
	if ($tls) {
		($tls_sock, $tls_port) = _hold_port();
		my $cert = "$self->{dir}/cert.pem";
		my $key = "$self->{dir}/key.pem";
		my $r = run_cmd(cmd => [ 'openssl', 'req', '-x509', '-newkey',
		    'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
		    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
		    '-keyout', $key, '-out', $cert ]);
		die "openssl failed:\n$r->{out}$r->{err}" if $r->{status};
		@tls = ("127.0.0.1:$tls_port", $cert, $key);
		$self->{tls_cert} = $cert;
		$self->{tls_port} = $tls_port;
		$self->{tls_url} = "https://127.0.0.1:$tls_port";
	}
	my ($metrics_sock, $metrics_port) = _hold_port();
	$self->{metrics_url} = "http://127.0.0.1:$metrics_port";
	my $r = run_cmd(cmd => [ "$self->{top}/script/nginx-conf", $dir,
	    "127.0.0.1:$port", $self->{sockets}, @tls ],
	    env => { NGINX_WORKERS => $workers,
	    METRICS_LISTEN => "127.0.0.1:$metrics_port",
	    REAL_IP_FROM => $self->{real_ip_from} });
	die "script/nginx-conf failed:\n$r->{out}$r->{err}" if $r->{status};
	$self->{port} = $port;
	$self->{url} = "http://127.0.0.1:$port";
	close($sock);	# as late as possible: nginx binds it next
	close($tls_sock) if $tls_sock;
	close($metrics_sock);
	$self->{nginx_pid} = _spawn(cwd => $dir, log => "$dir/stderr.log",
	    cmd => [ 'nginx', '-p', $dir, '-c', "$dir/nginx.conf",
	    '-e', "$dir/error.log", '-g', 'daemon off;' ]);
}

# With MEDREC_PRISM naming Prism's binary (t/091-contract.t installs it and
# sets it), Prism's validating proxy stands in front of the stack on a free
# loopback port (prism_url), and request() goes through it unless called
# with direct => 1.  Prism checks every response against the OpenAPI
# document the service itself serves, and passes the response on as it
# came; each violation goes to its log (prism_log) and into an
# sl-violations header, which request() writes down, with the request and
# the test file, in prism_record (one JSON object a line).  Both land in
# MEDREC_PRISM_DIR when it is set (so that t/091-contract.t finds those of
# every stack), else in the stack's directory; prism_report() reads them.
#
# Prism runs without --errors, with --validate-request=false and
# --cors=false, so that it changes nothing the tests look at: with --errors
# it answers a request without a token, or for a path the document does not
# have, itself (the service's own 401 and 404 would go unchecked), and
# turns only error-severity violations into a 500 (a status the document
# does not list, such as a 304, is a warning, which it would pass on).
sub _start_prism {
	my ($self) = @_;
	my $out = $ENV{MEDREC_PRISM_DIR} // $self->{dir};
	my $r = $self->request(GET => '/api/openapi.json', direct => 1);
	die "GET /api/openapi.json is $r->{status}: no document for Prism\n"
	    unless $r->{status} == 200;
	my ($sock, $port) = _hold_port();
	my $doc = "$out/prism-$port.openapi.json";
	_spew($doc, $r->{body});
	$self->{prism_log} = "$out/prism-$port.log";
	close($sock);	# as late as possible: Prism binds it next
	$self->{prism_pid} = _spawn(cwd => $self->{dir},
	    log => $self->{prism_log},
	    env => { NO_COLOR => 1, FORCE_COLOR => 0, NODE_ENV => undef },
	    cmd => [ $ENV{MEDREC_PRISM}, 'proxy', $doc, $self->{url},
	    '--host', '127.0.0.1', '--port', $port, '--errors=false',
	    '--validate-request=false', '--cors=false', '--multiprocess=false',
	    '--verboseLevel', 'info' ]);
	my $url = "http://127.0.0.1:$port";
	my $http = HTTP::Tiny->new(keep_alive => 0, timeout => 5);
	my $why;
	wait_until($ENV{MEDREC_START_TIMEOUT} // 60, sub {
		unless (_child_alive($self->{prism_pid})) {
			$why = 'Prism exited';
			return 1;
		}
		return $http->get("$url/api/health")->{status} == 200;
	}, 0.1) or $why = 'no 200 from GET /api/health through Prism';
	die "$why\n" . _tail($self->{prism_log}, 30) if $why;
	$self->{prism_record} = "$out/prism-$port.jsonl";
	_spew($self->{prism_record}, '');
	$self->{prism_url} = $url;
}

sub _stop_prism {
	my ($self) = @_;
	return unless $self->{owned} && $self->{owner_pid} == $$;
	local $?;
	my $pid = $self->{prism_pid};
	return unless _child_alive($pid);
	kill('TERM', $pid);
	return if wait_until(10, sub { !_child_alive($pid) }, 0.01);
	kill('KILL', $pid);
	waitpid($pid, 0);
}

# Waits until GET /api/health answers 200; dies with the logs' tails after
# $timeout seconds (30) or when the pool or nginx exits.
sub wait_ready {
	my ($self, $timeout) = @_;
	my $why;
	$timeout //= $ENV{MEDREC_START_TIMEOUT} // 30;
	my $ok = wait_until($timeout, sub {
		if ($self->{owned} && !$self->pool_alive) {
			$why = 'the pool exited' . _status_text(
			    $self->{pool_status});
			return 1;
		}
		if ($self->{owned} && !_child_alive($self->{apache_pid} //
		    $self->{nginx_pid})) {
			$why = ($self->{apache_pid} ? 'apache2' : 'nginx') . ' exited';
			return 1;
		}
		return $self->request(GET => '/api/health')->{status} == 200
		    unless $self->{tls_url};
		# With TLS, plain HTTP refuses API calls with the web server's
		# own 403, which says nothing of the pool: ask over HTTPS.
		my $code = `curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$self->{tls_cert}' '$self->{tls_url}/api/health'`;
		return ($code // '') eq '200';
	}, 0.05);
	$why //= "no 200 from GET /api/health in $timeout s"
	    unless $ok;
	die "$why\n" . $self->_log_tails if $why;
}

sub _status_text {
	my ($st) = @_;
	return '' unless defined $st;
	return " with status " . ($st >> 8) if ($st & 127) == 0;
	return " on signal " . ($st & 127);
}

# Is $pid (our child) still running?  Reaps it when it ended.
sub _child_alive {
	my ($pid, $status_ref) = @_;
	local $?;
	return 0 unless $pid;
	my $r = waitpid($pid, WNOHANG);
	if ($r == $pid) {
		$$status_ref = $? if $status_ref;
		return 0;
	}
	return 1 if $r == 0;
	return kill(0, $pid) ? 1 : 0;	# not our child (shared stack)
}

###############################################################################
# Accessors.

sub url {
	my ($self, $path) = @_;
	return $self->{url} . ($path // '');
}

sub dir		{ $_[0]{dir} }
sub port	{ $_[0]{port} }
sub pool_pid	{ $_[0]{pool_pid} }
sub pool_port	{ $_[0]{pool_port} }	# with new(listen => 'tcp')
sub nginx_pid	{ $_[0]{nginx_pid} }
sub database_url { $_[0]{database_url} }	# the service's role
sub migration_url { $_[0]{migration_url} }	# the tables' owner
sub sockdir	{ $_[0]{sockdir} }
sub bin		{ $_[0]{bin} }
sub top_dir	{ $_[0]{top} }
sub owned	{ $_[0]{owned} }
sub jwt_secret	{ $_[0]{jwt_secret} }	# to forge tokens in tests
sub tls_url	{ $_[0]{tls_url} }	# with new(tls => 1)
sub metrics_url	{ $_[0]{metrics_url} }	# the internal listener
sub tls_port	{ $_[0]{tls_port} }
sub tls_cert	{ $_[0]{tls_cert} }
sub apache_pid	{ $_[0]{apache_pid} }	# with new(web => 'apache')
sub pool_log_path { "$_[0]{dir}/pool.log" }
sub nginx_error_log_path { "$_[0]{dir}/nginx/error.log" }
sub pool_log	{ slurp($_[0]->pool_log_path) }

# The text of a log once a line matches $re, waiting up to 5 s for it: a
# worker logs a request after it has sent the response, so the client can
# be faster than the log.  Returns the text as it is when time runs out.
sub log_with {
	my ($self, $re, $path) = @_;
	$path //= $self->pool_log_path;
	return wait_until(5, sub { my $l = slurp($path); $l =~ $re ? $l : undef })
	    // slurp($path);
}
sub nginx_error_log { slurp($_[0]->nginx_error_log_path) }
sub pg_log	{ slurp("$_[0]{dir}/pg/postgres.log") }

# The database URL for another database of the same cluster.
sub database_url_for {
	my ($self, $db) = @_;
	return "postgresql://postgres\@/$db?host=$self->{sockdir}";
}

###############################################################################
# HTTP.

# request($method, $path, json => $data | body => $bytes, content_type => ..,
# headers => {..}, token => $jwt, direct => 1, url => $base): returns
# { status, reason,
# headers (names lower-cased), body, json (decoded when the type is JSON) }.
# Status 599 means the connection failed (HTTP::Tiny's convention).  When
# Prism stands in front of the stack (MEDREC_PRISM), the request goes
# through it, unless direct => 1: for what a test sends broken on purpose,
# which Prism would parse and send on changed (a body that is not JSON, or
# JSON whose bytes matter, a query it re-encodes) or answer itself (headers
# over Node's 16 KiB); a HEAD always goes direct, and so does a request
# to another site (url, from extra_site()).
sub request {
	my ($self, $method, $path, %o) = @_;
	my %h = %{ $o{headers} // {} };
	my $body = $o{body};
	if (exists $o{json}) {
		$body = $JSON->encode($o{json});
		$h{'Content-Type'} //= 'application/json';
	}
	$h{'Content-Type'} = $o{content_type} if defined $o{content_type};
	$h{Authorization} = "Bearer $o{token}" if defined $o{token};
	my %args = (headers => \%h);
	$args{content} = $body if defined $body;
	# Connection: close, so a stopped or reloaded nginx never leaves a
	# stale kept-alive connection behind.  from => '127.0.0.7' sends it
	# from another loopback address: another client, as nginx sees it.
	my $http = HTTP::Tiny->new(keep_alive => 0, max_redirect => 0,
	    timeout => $o{timeout} // 30,
	    agent => 'medrec-tests/1',
	    $o{from} ? (local_address => $o{from}) : ());
	local $SIG{PIPE} = 'IGNORE';
	# Prism cannot carry a HEAD: it reads the empty body of a JSON
	# response as JSON, fails, and answers 500 itself.  Nor a request
	# from another address: nginx would see Prism's.
	my $prism = $self->{prism_url} && !$o{direct} && $method ne 'HEAD' &&
	    !$o{from} && !$o{url};
	my $r = $http->request($method, ($prism ? $self->{prism_url} :
	    $o{url} // $self->{url}) . $path, \%args);
	my %res = (status => $r->{status}, reason => $r->{reason},
	    headers => $r->{headers} // {}, body => $r->{content} // '');
	$self->_record_prism($method, $path, \%res) if $prism;
	my $ct = $res{headers}{'content-type'} // '';
	if ($ct =~ m{^application/(?:problem\+)?json\b}i && length $res{body}) {
		$res{json} = eval { $JSON->decode($res{body}) };
		$res{json_error} = $@ unless defined $res{json};
	}
	return \%res;
}

# What went through Prism, one JSON object a line in prism_record: the
# test file, the request, the status and Prism's sl-violations header (a
# JSON array, or a string when Prism cut it short), which request() leaves
# in the response too.
sub _record_prism {
	my ($self, $method, $path, $res) = @_;
	my $v = $res->{headers}{'sl-violations'};
	$v = join(',', @$v) if ref $v;
	if (defined $v) {
		my $list = eval { $JSON->decode($v) };
		$v = $list if ref $list eq 'ARRAY';
	}
	# Every answer of the stack (nginx's own included) has an X-Request-Id;
	# one without it is Prism's own.
	my $own = $res->{status} != 599 &&
	    !defined $res->{headers}{'x-request-id'};
	my $line = $JSON->encode({ file => $0, method => $method,
	    path => $path, status => $res->{status} + 0,
	    $own ? (prism_answered => JSON::PP::true) : (),
	    defined $v ? (violations => $v) : () }) . "\n";
	sysopen(my $fh, $self->{prism_record}, O_WRONLY | O_APPEND | O_CREAT,
	    0644) or die "$self->{prism_record}: $!\n";
	flock($fh, LOCK_EX);
	syswrite($fh, $line);
	close($fh);
}

# bg(sub { ... }): runs the sub in a child process and returns an object
# whose wait($timeout) gives what it returned (through JSON), or undef when
# it did not finish in time; done() says whether it has.  For requests that
# block, or that must overlap a signal.
sub bg {
	my ($self, $code) = @_;
	pipe(my $rd, my $wr) or die "pipe: $!\n";
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
		close($rd);
		my $res = eval { $code->() } // { status => 'died', body => "$@" };
		print $wr $JSON->encode([$res]);
		close($wr);
		_exit(0);
	}
	close($wr);
	return bless { pid => $pid, fh => $rd, owner => $$ },
	    'Medrec::Stack::Pending';
}

# request_bg(same arguments as request): request() in the background.
sub request_bg {
	my ($self, @args) = @_;
	return $self->bg(sub { $self->request(@args) });
}

# new_user(): registers a fresh user (unique email) through the API and
# returns { id, name, email, password, token }.
sub new_user {
	my ($self, %o) = @_;
	$counter++;
	my $tag = sprintf('%d-%d-%s', $$, $counter, lc _random_string(6));
	my %u = (
		name		=> $o{name} // "Test User $counter",
		email		=> $o{email} // "user-$tag\@example.org",
		password	=> $o{password} // 'pw ' . _random_string(20),
	);
	$self->remember_secret($u{password});
	my $r = $self->request(POST => '/api/auth/register', json => {
	    name => $u{name}, email => $u{email}, password => $u{password} });
	die "register $u{email}: $r->{status} $r->{body}\n"
	    unless $r->{status} == 201 && $r->{json} && $r->{json}{token};
	$u{token} = $r->{json}{token};
	$u{id} = $r->{json}{user}{id};
	$self->remember_secret($u{token});
	return \%u;
}

# Secrets must never reach a log: the checks at teardown look for each.  They
# are kept in a file too, so t/run-suite sees those of every test process.
sub remember_secret {
	my ($self, $s) = @_;
	push @{ $self->{secrets} }, $s;
	sysopen(my $fh, "$self->{dir}/secrets", O_WRONLY | O_APPEND | O_CREAT,
	    0600) or die "$self->{dir}/secrets: $!\n";
	flock($fh, LOCK_EX);
	syswrite($fh, "$s\n");
	close($fh);
}

sub secrets {
	my ($self) = @_;
	my %seen;
	return grep { length && !$seen{$_}++ } @{ $self->{secrets} },
	    split(/\n/, slurp("$self->{dir}/secrets")),
	    grep { defined } $self->{jwt_secret};
}

###############################################################################
# SQL.

# psql($sql, db => 'medrec'): runs $sql as the superuser; returns the output
# (unaligned, tuples only, '|' between columns), without the final newline.
sub psql {
	my ($self, $sql, %o) = @_;
	my $r = run_cmd(stdin => $sql, cmd => [ "$self->{pgbin}/psql", '-X',
	    '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', $self->{sockdir},
	    '-U', 'postgres', '-d', $o{db} // 'medrec', '-f', '-' ]);
	die "psql failed ($sql):\n$r->{err}" if $r->{status};
	chomp(my $out = $r->{out});
	return $out;
}

# psql_bg($sql): the same in the background, for a session that holds a
# lock; returns the pid (wait for it with waitpid).
sub psql_bg {
	my ($self, $sql, %o) = @_;
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		my $r = eval { run_cmd(stdin => $sql, cmd => [
		    "$self->{pgbin}/psql", '-X', '-q', '-A', '-t', '-v',
		    'ON_ERROR_STOP=1', '-h', $self->{sockdir}, '-U', 'postgres',
		    '-d', $o{db} // 'medrec', '-f', '-' ]) };
		print STDERR $r->{err} if $r && $r->{status};
		_exit($r && !$r->{status} ? 0 : 1);
	}
	return $pid;
}

###############################################################################
# Processes.

# With new(pools => N), pools 2 .. N run beside the first behind the same
# nginx upstream, each on its own socket (name.sock) and log (name.log),
# as pools on other machines would.  Returns the new master's pid.
sub start_extra_pool {
	my ($self, $name) = @_;
	my $env = $self->pool_env(LISTEN => "$self->{dir}/$name.sock");
	return $self->{extra_pools}{$name} = _spawn(cmd => [ $self->{bin} ],
	    cwd => $self->{dir}, log => "$self->{dir}/$name.log", env => $env);
}

sub extra_pool_pid { $_[0]{extra_pools}{$_[1]} }

# extra_site($name): a second nginx in front of extra pool name alone, on
# ports of its own, as a pool on another host with its own web server
# would be.  Returns its base URL (request(..., url => URL) goes there)
# and its internal listener's; stopped with the stack.
sub extra_site {
	my ($self, $name) = @_;
	my $dir = "$self->{dir}/nginx-$name";
	my ($sock, $port) = _hold_port();
	my ($msock, $mport) = _hold_port();
	my $r = run_cmd(cmd => [ "$self->{top}/script/nginx-conf", $dir,
	    "127.0.0.1:$port", "$self->{dir}/$name.sock" ],
	    env => { NGINX_WORKERS => 1, METRICS_LISTEN => "127.0.0.1:$mport" });
	die "script/nginx-conf failed:\n$r->{out}$r->{err}" if $r->{status};
	close($sock);
	close($msock);
	push @{ $self->{extra_sites} }, _spawn(cwd => $dir,
	    log => "$dir/stderr.log", cmd => [ 'nginx', '-p', $dir, '-c',
	    "$dir/nginx.conf", '-e', "$dir/error.log", '-g', 'daemon off;' ]);
	my $url = "http://127.0.0.1:$port";
	wait_until(30, sub { ($self->request(GET => '/api/health',
	    url => $url, timeout => 2)->{status} // 0) == 200 }, 0.05)
	    or die "the site in front of $name did not answer 200\n";
	return ($url, "http://127.0.0.1:$mport");
}

sub pool_alive {
	my ($self) = @_;
	return 0 unless $self->{pool_pid};
	return 0 if defined $self->{pool_status};
	return _child_alive($self->{pool_pid}, \$self->{pool_status})
	    if $self->{owned};
	return kill(0, $self->{pool_pid}) ? 1 : 0;
}

# The pids of the pool master's children (the workers), sorted, from
# /proc/*/stat.
sub worker_pids {
	my ($self) = @_;
	return children_of($self->{pool_pid});
}

sub children_of {
	my ($ppid) = @_;
	my @kids;
	for my $stat (glob('/proc/[0-9]*/stat')) {
		my $s = slurp($stat) or next;
		# pid (comm) state ppid ...; comm may hold spaces and ')'.
		$s =~ /^(\d+) \(.*\) \S+ (\d+) /s or next;
		push @kids, $1 + 0 if $2 == $ppid;
	}
	@kids = sort { $a <=> $b } @kids;
	return @kids;	# an array: its count in scalar context
}

sub signal_pool {
	my ($self, $sig) = @_;
	die "no pool to signal\n" unless $self->{pool_pid};
	kill($sig, $self->{pool_pid}) or die "kill $sig $self->{pool_pid}: $!\n";
}

# wait_pool($timeout): waits for the pool master (our child) to exit;
# returns its wait status, or undef when it is still running.
sub wait_pool {
	my ($self, $timeout) = @_;
	die "the shared stack's pool is not ours to wait for\n"
	    unless $self->{owned};
	wait_until($timeout, sub { !$self->pool_alive }, 0.01);
	return $self->{pool_status};
}

# stop_pool(): SIGTERM the master and wait (SIGKILL after 70 s: the pool
# itself gives busy workers 60 s).  Returns the wait status.
sub stop_pool {
	my ($self) = @_;
	return $self->{pool_status} unless $self->pool_alive;
	kill('TERM', $self->{pool_pid});
	unless (defined $self->wait_pool(70)) {
		kill('KILL', $self->{pool_pid});
		$self->wait_pool(5);
	}
	return $self->{pool_status};
}

# reload_nginx(): SIGHUP, then wait until nginx's workers are new ones.
sub reload_nginx {
	my ($self) = @_;
	my %old = map { $_ => 1 } children_of($self->{nginx_pid});
	kill('HUP', $self->{nginx_pid}) or die "kill HUP nginx: $!\n";
	wait_until(10, sub {
		my @new = grep { !$old{$_} } children_of($self->{nginx_pid});
		return @new > 0;
	}) or die "nginx did not reload in 10 s\n" . _tail(
	    $self->nginx_error_log_path, 20);
}

sub _stop_nginx {
	my ($self, $pid) = @_;
	local $?;
	$pid //= $self->{nginx_pid};
	return unless _child_alive($pid);
	kill('QUIT', $pid);
	return if wait_until(10, sub { !_child_alive($pid) }, 0.01);
	kill('TERM', $pid);
	return if wait_until(5, sub { !_child_alive($pid) }, 0.01);
	kill('KILL', $pid);
	waitpid($pid, 0);
}

# With new(web => 'apache'), Debian's Apache httpd (apache2, MPM event)
# serves the site of apache/*.in instead of nginx, on a free loopback port:
# its own ServerRoot, PidFile, logs and runtime files under DIR/apache, in
# the foreground (-DFOREGROUND), stopped by PID.  With tls, as for nginx:
# HTTPS on tls_port with a fresh self-signed certificate, plain HTTP
# refusing API calls.  metrics_url is the site's internal listener.
sub _start_apache {
	my ($self, $tls) = @_;
	my $top = $self->{top};
	my $dir = "$self->{dir}/apache";
	my $mods = '/usr/lib/apache2/modules';
	mkdir($dir) && mkdir("$dir/run") && mkdir("$dir/errors")
	    && mkdir("$dir/htdocs") or die "mkdir $dir: $!\n";
	for my $f (glob("$top/apache/errors/*.json")) {
		(my $name = $f) =~ s{.*/}{};
		_spew("$dir/errors/$name", slurp($f), 0644);
	}
	my ($sock, $port) = _hold_port();
	my ($metrics_sock, $metrics_port) = _hold_port();
	my ($tls_sock, $tls_port);
	my %v = (
		LISTEN		=> "127.0.0.1:$port",
		METRICS_LISTEN	=> "127.0.0.1:$metrics_port",
		SOCKET		=> "$self->{dir}/pool.sock",
		LOG_DIR		=> $dir,
		CONF_DIR	=> $dir,
		ERRORS_DIR	=> "$dir/errors",
	);
	my @listen = ("Listen 127.0.0.1:$port");
	my @modules = qw(mpm_event authz_core alias headers proxy proxy_fcgi
	    reqtimeout unique_id);
	# As apache/medrec-api.conf.in's commented lines say, with mod_remoteip.
	$v{REAL_IP} = '# (no proxy is believed)';
	if (defined $self->{real_ip_from}) {
		$v{REAL_IP} = "RemoteIPHeader X-Forwarded-For\n"
		    . 'RemoteIPInternalProxy '
		    . join(' ', split /,/, $self->{real_ip_from});
		push @modules, 'remoteip';
	}
	my $site = 'medrec.conf.in';
	if ($tls) {
		($tls_sock, $tls_port) = _hold_port();
		my ($cert, $key) = ("$self->{dir}/cert.pem",
		    "$self->{dir}/key.pem");
		my $r = run_cmd(cmd => [ 'openssl', 'req', '-x509', '-newkey',
		    'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
		    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
		    '-keyout', $key, '-out', $cert ]);
		die "openssl failed:\n$r->{out}$r->{err}" if $r->{status};
		%v = (%v, TLS_LISTEN => "127.0.0.1:$tls_port",
		    TLS_PORT => $tls_port, TLS_CERT => $cert, TLS_KEY => $key);
		push @listen, "Listen 127.0.0.1:$tls_port";
		push @modules, qw(ssl socache_shmcb);
		$site = 'medrec-tls.conf.in';
		$self->{tls_cert} = $cert;
		$self->{tls_port} = $tls_port;
		$self->{tls_url} = "https://127.0.0.1:$tls_port";
	}
	my $render = sub {
		my ($in, $out) = @_;
		(my $text = slurp("$top/apache/$in")) =~
		    s/\@([A-Z_]+)\@/$v{$1} \/\/ die "$in: no value for \@$1\@\n"/ge;
		_spew("$dir/$out", $text);
	};
	$render->('medrec-api.conf.in', 'medrec-api.conf');
	$render->($site, 'medrec.conf');
	my $load = join '', map {
	    "LoadModule ${_}_module $mods/mod_$_.so\n" } @modules;
	# As root, the children run as the web server's user, as installed.
	my $user = $> == 0 ? "User www-data\nGroup www-data\n" : '';
	my $tls_cache = $tls ?
	    "SSLSessionCache shmcb:$dir/run/ssl_scache(512000)\n" : '';
	_spew("$dir/apache2.conf", <<"CONF");
# A private Apache for the tests (Medrec::Stack): every path under $dir.
ServerRoot $dir
ServerName 127.0.0.1
PidFile $dir/apache2.pid
DefaultRuntimeDir $dir/run
Mutex file:$dir/run default
ErrorLog $dir/error.log
LogLevel warn
$load$user@{[ join "\n", @listen ]}
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32
$tls_cache
DocumentRoot $dir/htdocs
<Directory />
    Require all denied
    AllowOverride None
</Directory>

Include $dir/medrec.conf
CONF
	my @cmd = ('apache2', '-d', $dir, '-f', "$dir/apache2.conf");
	my $r = run_cmd(cmd => [ @cmd, '-t' ]);
	die "apache2 -t failed:\n$r->{out}$r->{err}" if $r->{status};
	$self->{port} = $port;
	$self->{url} = "http://127.0.0.1:$port";
	$self->{metrics_url} = "http://127.0.0.1:$metrics_port";
	close($sock);	# as late as possible: Apache binds them next
	close($metrics_sock);
	close($tls_sock) if $tls_sock;
	$self->{apache_pid} = _spawn(cwd => $dir, log => "$dir/stderr.log",
	    cmd => [ @cmd, '-DFOREGROUND' ]);
}

sub _stop_apache {
	my ($self) = @_;
	local $?;
	my $pid = $self->{apache_pid};
	return unless _child_alive($pid);
	# TERM: the parent stops its children, then itself.
	kill('TERM', $pid);
	return if wait_until(10, sub { !_child_alive($pid) }, 0.01);
	kill('KILL', -$pid);	# its process group: _spawn made it a leader
	waitpid($pid, 0);
}

# With new(pgbouncer => 1), the pool reaches PostgreSQL through Debian's
# PgBouncer in transaction pooling mode on a free loopback port, and
# database_url says so.  PgBouncer refuses to run as root: it runs as the
# PostgreSQL user, exec'd by setpriv so that its pid is the one we stop.
sub _start_pgbouncer {
	my ($self) = @_;
	my $d = "$self->{dir}/pgbouncer";
	mkdir($d) or die "mkdir $d: $!\n";
	my ($sock, $port) = _hold_port();
	_spew("$d/users.txt", qq{"medrec" ""\n"medrec_owner" ""\n});
	_spew("$d/pgbouncer.ini", <<"INI");
[databases]
medrec = host=$self->{sockdir} dbname=medrec

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $d/users.txt
admin_users = medrec
pool_mode = transaction
default_pool_size = 8
max_client_conn = 200
logfile = $d/pgbouncer.log
pidfile = $d/pgbouncer.pid
INI
	my @as = ();
	if ($> == 0) {
		my (undef, undef, $uid, $gid) = getpwnam($PG_USER);
		chown($uid, $gid, $d, glob("$d/*")) or die "chown $d: $!\n";
		@as = ('setpriv', "--reuid=$uid", "--regid=$gid",
		    '--init-groups');
	}
	close($sock);
	$self->{pgbouncer_pid} = _spawn(cwd => $d, log => "$d/stderr.log",
	    cmd => [ @as, '/usr/sbin/pgbouncer', "$d/pgbouncer.ini" ]);
	wait_until(10, sub {
		IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
		    Timeout => 1) }) or die "pgbouncer did not start:\n" .
		    _tail("$d/pgbouncer.log", 20) . _tail("$d/stderr.log", 20);
	$self->{pgbouncer_port} = $port;
	$self->{database_url} = "postgresql://medrec\@127.0.0.1:$port/medrec";
}

sub _stop_pgbouncer {
	my ($self) = @_;
	local $?;
	my $pid = $self->{pgbouncer_pid};
	return unless _child_alive($pid);
	kill('TERM', $pid);
	return if wait_until(10, sub { !_child_alive($pid) }, 0.01);
	kill('KILL', $pid);
	waitpid($pid, 0);
}

sub pgbouncer_port { $_[0]{pgbouncer_port} }

# stop(): stops what this process started, by PID, in order: Prism, the
# pool (so it finishes its requests), nginx, PostgreSQL.  Idempotent; a
# no-op for an attached stack.
sub stop {
	my ($self) = @_;
	return unless $self->{owned} && $self->{owner_pid} == $$;
	return if $self->{stopped}++;
	local ($?, $@);
	eval { $self->_stop_prism };
	eval { $self->stop_pool };
	for my $pid (values %{ $self->{extra_pools} // {} }) {
		next unless _child_alive($pid);
		kill('TERM', $pid);
		wait_until(70, sub { !_child_alive($pid) }, 0.01)
		    or kill('KILL', $pid);
	}
	eval { $self->_stop_nginx };
	eval { $self->_stop_nginx($_) } for @{ $self->{extra_sites} // [] };
	eval { $self->_stop_apache };
	eval { $self->_stop_pgbouncer };
	if ($self->{pgdata} && -f "$self->{pgdata}/postmaster.pid") {
		eval { $self->stop_pg('immediate') };
	}
}

# The lines Prism prints (--verboseLevel info) at start, for a request that
# went well, and for what it finds about a request rather than its response
# (no token, a path it has no operation for), as [ name, level, message ]:
#   [5:48:12 PM] › [HTTP SERVER] get /api/x ℹ  info      Request received
#   [5:48:12 PM] ›     [PROXY] ℹ  info      < Received forward response
my @PRISM_USUAL = (
	[ 'CLI', qr/^awaiting$/, qr/^Starting Prism/ ],
	[ 'CLI', qr/^info$/, qr{^[A-Z]+ +http://\S+$} ],	# an operation
	[ 'CLI', qr/^start$/, qr/^Prism is listening on / ],
	[ 'HTTP SERVER', qr/^info$/, qr/^Request received$/ ],
	[ 'PROXY', qr/^info$/, qr/^> Forwarding "\w+" request to \S+\.\.\.$/ ],
	[ 'PROXY', qr/^info$/,
	    qr/^The upstream call to \S+ has returned \d+$/ ],
	[ 'PROXY', qr/^info$/, qr/^< Received forward response$/ ],
	[ 'VALIDATOR', qr/^(?:warning|error)$/, qr/^Violation: request / ],
);

# prism_report($log, $record, $doc): what one Prism saw, from the paths of
# its log, of request()'s record and of the document it checked against:
# { responses => how many went through it, unchecked => how many it matched
# to no operation of the document (a path or method the service does not
# have), problems => [ one line each ] }.  A problem is a response that
# breaks the document (whatever the severity Prism gives it: a status the
# document does not list is only a "warning" to Prism), a response Prism
# matched to no operation although the document has one, a request that
# got no answer from Prism, and any line of Prism's log that is not one of
# the few it prints for a request that went well, so that nothing Prism
# says can go unread.  Not a test: t/091-contract.t and log_problems()
# assert on it.
sub prism_report {
	my ($log, $record, $doc_path) = @_;
	my (@problems, @ops);
	my $doc = eval { $JSON->decode(slurp($doc_path)) };
	push @problems, "cannot read the document $doc_path" unless $doc;
	for my $path (sort keys %{ ($doc && $doc->{paths}) || {} }) {
		my $re = join '', map { /^\{\w+\}$/ ? '[^/]+' : quotemeta }
		    split m{(\{\w+\})}, $path;
		push @ops, [ uc($_), qr/^$re$/ ]
		    for grep { !/^(?:parameters|summary|description|servers)$/ }
		    keys %{ $doc->{paths}{$path} };
	}
	my ($responses, $unchecked, $received) = (0, 0, 0);
	for my $line (split /\n/, slurp($record)) {
		my $r = eval { $JSON->decode($line) };
		unless (ref $r eq 'HASH') {
			push @problems, "unreadable record: $line";
			next;
		}
		$responses++;
		my $what = "$r->{method} $r->{path} -> $r->{status} "
		    . "($r->{file})";
		if ($r->{status} == 599) {
			push @problems, "$what: no answer from Prism";
			next;
		}
		push @problems, "$what: Prism answered itself (no "
		    . 'X-Request-Id), the stack never did'
		    if $r->{prism_answered};
		my $v = $r->{violations};
		next unless defined $v;
		unless (ref $v eq 'ARRAY') {
			push @problems, "$what: $v";
			next;
		}
		for my $e (@$v) {
			my $where = join('.', @{ $e->{location} // [] });
			if ($where !~ /^request\b/) {
				push @problems, "$what: $e->{severity}: "
				    . "$where: $e->{message}";
			} elsif ($e->{message} eq 'Selected route not found') {
				$unchecked++;
				(my $p = $r->{path}) =~ s/\?.*//s;
				push @problems, "$what: Prism checked it against "
				    . 'no operation, but the document has one'
				    if grep { $_->[0] eq $r->{method} &&
				    $p =~ $_->[1] } @ops;
			}
		}
	}
	for my $line (split /\n/, slurp($log)) {
		next if $line eq '';
		my ($name, $level, $msg) = $line =~ /^\[[^\]]*\]\ ›\ +
		    \[([A-Z\ ]+)\]\ (?:\w+\ \S+\ )?\S+\ +(\w+)\ +(.*?)\s*$/x;
		my $usual = defined $name && grep { $name eq $_->[0] &&
		    $level =~ $_->[1] && $msg =~ $_->[2] } @PRISM_USUAL;
		$received++ if $usual && $msg eq 'Request received';
		push @problems, "Prism logged: $line" unless $usual;
	}
	push @problems, "Prism logged $received requests, fewer than the "
	    . "$responses answers it gave" if $received < $responses;
	return { responses => $responses, unchecked => $unchecked,
	    problems => \@problems };
}

# The log checks, as { check name => [ offending lines ] }: what
# t/run-suite reports and the teardown tests assert.  Not a test itself.
sub log_problems {
	my ($self) = @_;
	my %p;
	my %logs = (
		'pool.log'	  => $self->pool_log,
		'nginx error.log' => $self->nginx_error_log,
	);
	if ($self->{apache_pid}) {
		# Apache's levels read [module:alert]: one name for both.
		($logs{'apache error.log'} = slurp(
		    "$self->{dir}/apache/error.log")) =~
		    s/\[[a-z_]+:(alert|emerg)\]/[$1]/g;
	}
	for my $name (sort keys %logs) {
		my $check = "$name has no [alert], [emerg] or sanitizer report";
		$p{$check} = [ grep { /\[alert\]|\[emerg\]|AddressSanitizer|
		    LeakSanitizer|runtime\ error:/x } split /\n/, $logs{$name} ];
	}
	# The access log too: a token must not leak through a logged URL.
	$logs{'nginx access log'} =
	    slurp("$self->{dir}/nginx/medrec-access.log");
	$logs{'apache access log'} =
	    slurp("$self->{dir}/apache/medrec-access.log")
	    if $self->{apache_pid};
	my @secrets = $self->secrets;
	my $check = 'no password, token or JWT secret reaches a log';
	$p{$check} = [];
	for my $name (sort keys %logs) {
		my $n = grep { index($logs{$name}, $_) >= 0 } @secrets;
		push @{ $p{$check} }, "$name holds $n of them" if $n;
	}
	$p{$check} = [ 'no secrets were recorded to look for' ]
	    unless @secrets;
	if ($self->{prism_log}) {
		# Stopped first, so that its log is complete.
		$self->_stop_prism if $self->{owned};
		(my $doc = $self->{prism_log}) =~ s/\.log$/.openapi.json/;
		$p{'every response through Prism is true to the OpenAPI '
		    . 'document'} = prism_report($self->{prism_log},
		    $self->{prism_record}, $doc)->{problems};
	}
	return \%p;
}

# Stops the stack, runs the log checks as tests when Test::More is in use,
# keeps the dir on failure or LEAVE=1, else removes it.
# _teardown($exit_status): $exit_status is $? in END, else 0.
sub _teardown {
	my ($self, $exit) = @_;
	return unless $self->{owned} && $self->{owner_pid} == $$;
	return if $self->{torn_down}++;
	local $?;
	$self->stop;
	my $failed = $self->{failed} || $exit;
	if ($self->{tap} && $INC{'Test/Builder.pm'}) {
		require Medrec::Test;
		Medrec::Test::logs_are_clean($self);
		$failed ||= !Test::Builder->new->is_passing;
	} else {
		$failed ||= grep { @$_ } values %{ $self->log_problems };
	}
	if ($failed || $ENV{LEAVE}) {
		print STDERR "# kept the stack's directory: $self->{dir}\n";
	} else {
		remove_tree($self->{dir});
	}
}

# finish(failed => 1): stop(), the log checks, and the temp dir removed
# unless something failed (or LEAVE=1).  What DESTROY and END do.
sub finish {
	my ($self, %o) = @_;
	$self->{failed} = 1 if $o{failed};
	$self->_teardown(0);
}

sub _log_tails {
	my ($self) = @_;
	my $d = $self->{dir};
	return join '', map { _tail($_, 30) } grep { -e }
	    "$d/pool.log", "$d/nginx/error.log", "$d/nginx/stderr.log",
	    "$d/apache/error.log", "$d/apache/stderr.log",
	    "$d/pg/postgres.log";
}

sub DESTROY {
	my ($self) = @_;
	$self->_teardown(0);
}

# Ctrl-C or a kill while a test runs: die, so that END stops the stacks.
sub _install_signal_handlers {
	for my $sig (qw(INT TERM HUP)) {
		next if defined $SIG{$sig} && $SIG{$sig} ne 'DEFAULT'
		    && $SIG{$sig} ne '';
		$SIG{$sig} = sub { exit(128 + ($sig eq 'HUP' ? 1 :
		    $sig eq 'INT' ? 2 : 15)) };
	}
}

# At done_testing (before the plan is printed) and in END: stop what we
# started and check its logs, so the checks count in the plan.
my $registered;
sub _register_testing_done {
	return if $registered++;
	require Test2::API;
	Test2::API::test2_add_callback_testing_done(sub {
		$_->_teardown(0) for grep { defined } reverse @owned;
	});
}

END {
	my $exit = $?;
	$_->_teardown($exit) for grep { defined } reverse @owned;
}

package Medrec::Stack::Pending;

use POSIX qw(WNOHANG);
use Time::HiRes qw(time);

sub pid { $_[0]{pid} }

# wait($timeout): the response, or undef when none came in time.
sub wait {
	my ($self, $timeout) = @_;
	return $self->{res}[0] if $self->{res};
	my ($fh, $buf, $eof) = ($self->{fh}, '', 0);
	my $deadline = time + ($timeout // 30);
	my $rin = '';
	vec($rin, fileno($fh), 1) = 1;
	while (!$eof && time < $deadline) {
		my $n = select(my $rout = $rin, undef, undef,
		    $deadline - time);
		next if $n <= 0;
		my $got = sysread($fh, $buf, 65536, length $buf);
		$eof = 1 if !$got;
	}
	return undef unless $eof;
	local $?;
	waitpid($self->{pid}, 0);
	close($fh);
	my $v = eval { $Medrec::Stack::JSON->decode($buf) };
	$self->{res} = $v ? $v : [ { status => 'garbled', body => $buf } ];
	return $self->{res}[0];
}

# done(): has the response arrived (without waiting)?
sub done {
	my ($self) = @_;
	return 1 if $self->{res};
	my $rin = '';
	vec($rin, fileno($self->{fh}), 1) = 1;
	return select(my $rout = $rin, undef, undef, 0) > 0;
}

sub DESTROY {
	my ($self) = @_;
	return if $self->{res} || $self->{owner} != $$;
	local $?;
	kill('KILL', $self->{pid});
	waitpid($self->{pid}, 0);
}

1;
