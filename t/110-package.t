#!/usr/bin/perl
# The Debian package (issue 17): script/package builds
# medrec_VERSION_ARCH.deb from a copy of the tree as a fresh clone has it,
# and lintian finds no error and no warning that debian/ does not explain.
# dpkg -i installs it on this machine: the user, the files and their modes,
# the conffiles, a JWT secret made once and an operator's settings kept on
# reinstall; `medrec --migrate` and the service run from the installed
# paths against a private cluster, and health answers 200 through the
# installed nginx site.  dpkg -r keeps the configuration, dpkg --purge
# removes everything the package installed or made but the user medrec
# (README.Debian says why), and neither touches the database.
#
# Nothing of the machine's own is used or changed: the site is a copy, on
# a free port, in a private nginx; the pool listens in the test's
# directory; no unit is enabled or started.  END purges the package even
# when a test failed.  The user medrec stays: PostgreSQL runs as it (the
# harness's ensure_pg_user), for this file and the others running now.
use strict;
use warnings;

use File::Basename qw(basename);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use POSIX qw(WNOHANG);
use Test::More;

use Medrec::Stack qw(slurp wait_until);

my $top = Medrec::Stack::top();
my $CONF = '/etc/medrec/medrec.conf';
my $DEFAULT = '/etc/default/medrec';

###############################################################################
# Helpers that die (not tests).

die "t/110-package.t installs a package: run it as root (script/test does)\n"
    unless $> == 0;

sub run {
	my (@cmd) = @_;
	my %o = ref $cmd[0] eq 'HASH' ? %{ shift @cmd } : ();
	return Medrec::Stack::run_cmd(cmd => \@cmd, timeout => 300,
	    env => Medrec::Stack::clean_env(DEBIAN_FRONTEND => 'noninteractive',
	    %{ $o{env} // {} }), map { $_ => $o{$_} } grep { $_ ne 'env' } keys %o);
}

*spew = \&Medrec::Stack::_spew;

# "0640 root:medrec", or "absent".
sub mode_owner {
	my ($path) = @_;
	my @st = lstat($path) or return 'absent';
	return sprintf('%04o %s:%s', $st[2] & 07777,
	    scalar(getpwuid($st[4])) // $st[4],
	    scalar(getgrgid($st[5])) // $st[5]);
}

sub pkg_status {
	my $r = run('dpkg-query', '-W', '-f', '${Status}', 'medrec');
	return $r->{status} ? 'not-installed' : $r->{out};
}

# The machine must not have medrec of its own: purging would take it.
die "medrec is installed on this machine (dpkg: " . pkg_status()
    . "): this test installs and purges its own\n"
    unless pkg_status() =~ /^(not-installed|unknown ok not-installed)$/;
for ('/etc/medrec', $DEFAULT) {
	die "$_ exists: this test's dpkg --purge would remove it\n" if -e;
}

my $tmp = tempdir('medrec-package-test-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod(0755, $tmp) or die "chmod $tmp: $!\n";	# PostgreSQL runs as medrec

my ($installed, %pid);
my $pgbin = Medrec::Stack::pgbin();
my $pgdata = "$tmp/pg/data";
my $sockdir = "$tmp/pg/run";

# stop(name): SIGTERM (nginx: SIGQUIT) to a process we started, by pid.
sub stop {
	my ($name) = @_;
	my $p = delete $pid{$name} or return;
	kill($name eq 'nginx' ? 'QUIT' : 'TERM', $p);
	wait_until(60, sub { waitpid($p, WNOHANG) == $p }, 0.05) or do {
		kill('KILL', $p);
		waitpid($p, 0);
	};
}

sub stop_pg {
	return unless -f "$pgdata/postmaster.pid";
	Medrec::Stack::run_cmd(as_pg => 1, cmd => [ "$pgbin/pg_ctl", '-D',
	    $pgdata, '-m', 'immediate', '-w', 'stop' ]);
}

END {
	my $exit = $?;
	stop($_) for qw(nginx pool);
	stop_pg();
	# Even after a failure: the machine gets back what it had.
	system('dpkg', '--purge', 'medrec') if $installed &&
	    pkg_status() !~ /not-installed/;
	if ($exit || !Test::More->builder->is_passing || $ENV{LEAVE}) {
		print STDERR "# kept $tmp\n";
	} else {
		remove_tree($tmp);
	}
	$? = $exit;
}
$SIG{$_} = sub { exit 1 } for qw(INT TERM HUP);

# spawn(log, cwd, env, cmd...): a daemon of ours, output to log.
sub spawn {
	my ($log, $cwd, $env, @cmd) = @_;
	my $p = fork() // die "fork: $!\n";
	if ($p == 0) {
		setpgrp(0, 0);
		chdir($cwd) or die "chdir $cwd: $!\n";
		open(STDIN, '<', '/dev/null') or die;
		open(STDOUT, '>>', $log) or die "$log: $!\n";
		open(STDERR, '>&', \*STDOUT) or die;
		for (keys %$env) {
			defined $env->{$_} ? ($ENV{$_} = $env->{$_}) : delete $ENV{$_};
		}
		exec { $cmd[0] } @cmd or POSIX::_exit(127);
	}
	return $p;
}

sub psql {
	my ($sql, $db) = @_;
	my $r = Medrec::Stack::run_cmd(stdin => $sql, cmd => [ "$pgbin/psql",
	    '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', $sockdir,
	    '-U', 'postgres', '-d', $db // 'medrec', '-f', '-' ]);
	die "psql ($sql):\n$r->{err}" if $r->{status};
	chomp(my $out = $r->{out});
	return $out;
}

# KEY=value lines, as systemd's EnvironmentFile= reads them.
sub env_file {
	my ($path) = @_;
	my %e;
	for (split /\n/, slurp($path)) {
		$e{$1} = $2 if /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/;
	}
	return %e;
}

my ($version) = slurp("$top/configure.ac") =~ /^AC_INIT\(\[medrec\], \[([^\]]+)\]/m;
die "no version in configure.ac\n" unless $version;
chomp(my $arch = run('dpkg', '--print-architecture')->{out});

###############################################################################
# The build, and lintian.

# nocheck: the package's build would run the unit tests script/test has
# just run.
my $r = run({ env => { DEB_BUILD_OPTIONS => 'nocheck' }, timeout => 1200 },
    "$top/script/package", "$tmp/out");
is($r->{status}, 0, 'script/package builds the package and lintian passes it')
    or BAIL_OUT("script/package failed:\n$r->{out}$r->{err}");
my ($deb) = $r->{out} =~ /^(\S+\.deb)\n\z/;
$deb //= '';
is(basename($deb), "medrec_${version}_$arch.deb",
    "it makes medrec_${version}_$arch.deb (configure.ac's version)");
ok(-f $deb, '  which exists') or BAIL_OUT("no package to install");
like($r->{err}, qr/^lintian medrec_/m, 'script/package runs lintian');
my @tags = $r->{err} =~ /^([EW]: .*)$/mg;
ok(!@tags, 'lintian reports no error and no warning') or diag(join("\n", @tags));

# Each override says why, in a comment just above it.
my @bare;
my $prev = '';
for (split /\n/, slurp("$top/debian/medrec.lintian-overrides")) {
	push @bare, $_ if /^\S/ && !/^#/ && $prev !~ /^#/;
	$prev = $_;
}
ok(!@bare, 'every lintian override in debian/ has a comment saying why')
    or diag(join("\n", @bare));

$r = run('dpkg-deb', '-e', $deb, "$tmp/control");
die "dpkg-deb -e:\n$r->{err}" if $r->{status};
my @site_files = qw(/etc/nginx/sites-available/medrec.conf
    /etc/nginx/sites-available/medrec-tls.conf
    /etc/apache2/sites-available/medrec.conf
    /etc/apache2/sites-available/medrec-tls.conf
    /etc/medrec/nginx/medrec-api.conf /etc/medrec/apache/medrec-api.conf);
# What medrec asks of PostgreSQL (group commit), for the operator's
# postgresql.conf to include.
my $PGCONF = '/etc/medrec/medrec-postgresql.conf';
is_deeply([ sort split /\n/, slurp("$tmp/control/conffiles") ],
    [ sort $CONF, $PGCONF, @site_files ],
    'the conffiles: medrec.conf, medrec-postgresql.conf and the nginx and '
    . 'Apache sites');

# What the package will install, and which of its directories the machine
# has already: purge must take the rest.
$r = run('dpkg-deb', '-c', $deb);
die "dpkg-deb -c:\n$r->{err}" if $r->{status};
my (@pkg_files, @pkg_dirs);
for (split /\n/, $r->{out}) {
	my ($type, $path) = /^(.)\S*\s+\S+\s+\d+\s+\S+\s+\S+\s+\.(\/\S*)/ or next;
	$path =~ s{/$}{};
	next if $path eq '';
	if ($type eq 'd') {
		push @pkg_dirs, $path unless -d $path;
	} else {
		push @pkg_files, $path;
	}
}
ok(@pkg_files > 20, 'the package holds files (' . scalar(@pkg_files) . ')');
my @before = grep { -e } @pkg_files;
ok(!@before, 'none of them is on this machine before the install')
    or diag("@before");
my @dsh_before = glob('/var/lib/systemd/deb-systemd-helper-enabled/*medrec*');

###############################################################################
# dpkg -i.

$installed = 1;
$r = run('dpkg', '-i', $deb);
is($r->{status}, 0, 'dpkg -i installs it') or diag("$r->{out}$r->{err}");
is(pkg_status(), 'install ok installed', '  dpkg says it is installed');

my @pw = getpwnam('medrec');
ok(@pw, 'the system user medrec exists');
ok(@pw && $pw[2] > 0 && $pw[2] < 1000, '  with a system uid') or diag("uid $pw[2]");
is($pw[8], '/usr/sbin/nologin', '  and no login shell');
is($pw[7], '/nonexistent', '  and no home');
ok(defined getgrnam('medrec'), 'the group medrec exists');

my %modes = (
	'/usr/sbin/medrec'			=> '0755 root:root',
	$CONF					=> '0640 root:medrec',
	$DEFAULT				=> '0600 root:root',
	$PGCONF					=> '0644 root:root',
	'/lib/systemd/system/medrec.service'	=> '0644 root:root',
	'/lib/systemd/system/medrec-purge.service' => '0644 root:root',
	'/lib/systemd/system/medrec-purge.timer' => '0644 root:root',
	'/usr/lib/sysusers.d/medrec.conf'	=> '0644 root:root',
	'/usr/share/man/man8/medrec.8.gz'	=> '0644 root:root',
	'/usr/share/doc/medrec/README.Debian'	=> '0644 root:root',
	map({ $_ => '0644 root:root' } @site_files),
	map({ '/usr/share/medrec/migrations/' . basename($_) => '0644 root:root' }
	    glob("$top/db/migrations/*.sql")),
);
is(mode_owner($_), $modes{$_}, "$_ is $modes{$_}") for sort keys %modes;
for my $m (glob("$top/db/migrations/*.sql")) {
	my $i = '/usr/share/medrec/migrations/' . basename($m);
	is(slurp($i), slurp($m), "$i is the tree's") if -f $i;
}
like(run('dpkg-statoverride', '--list', $CONF)->{out},
    qr{^root medrec 0?640 \Q$CONF\E$},
    'a statoverride keeps medrec.conf root:medrec 0640 across upgrades');
like(run('dpkg-query', '-W', '-f', '${Conffiles}', 'medrec')->{out},
    qr{^ \Q$CONF\E [0-9a-f]{32}$}m, 'dpkg knows medrec.conf as a conffile');

for my $u (qw(medrec.service medrec-purge.service)) {
	like(slurp("/lib/systemd/system/$u"),
	    qr{^ExecStart=/usr/sbin/medrec -c \Q$CONF\E( --purge)?$}m,
	    "$u runs /usr/sbin/medrec with $CONF");
}
my @enabled = (glob('/etc/systemd/system/*.wants/medrec*'),
    glob('/etc/nginx/sites-enabled/medrec*'),
    glob('/etc/apache2/sites-enabled/medrec*'));
ok(!@enabled, 'no unit and no site is enabled') or diag("@enabled");

# The secret: made once, where the units read their environment.
my $conf_text = slurp($CONF);
unlike($conf_text, qr/^\s*JWT_SECRET\s*=/m, 'medrec.conf sets no JWT_SECRET');
unlike($conf_text, qr{/usr/local}, '  and names no /usr/local path');
my ($secret) = slurp($DEFAULT) =~ /^JWT_SECRET=(\S+)$/m;
ok(defined $secret && length($secret) >= 32,
    "postinst wrote a JWT_SECRET of at least 32 bytes into $DEFAULT");
$secret //= '';
unlike($secret, qr/change-me/, '  not the published example');

# The sites: the installed paths, and the part they include.
my $nsite = slurp('/etc/nginx/sites-available/medrec.conf');
like($nsite, qr{^\s*server unix:/run/medrec/medrec\.sock;$}m,
    'the nginx site passes to /run/medrec/medrec.sock');
like($nsite, qr{^\s*include /etc/medrec/nginx/medrec-api\.conf;$}m,
    '  and includes /etc/medrec/nginx/medrec-api.conf');
like(slurp('/etc/apache2/sites-available/medrec.conf'),
    qr{^\s*Include /etc/medrec/apache/medrec-api\.conf$}m,
    'the Apache site includes /etc/medrec/apache/medrec-api.conf');
like(slurp('/etc/apache2/sites-available/medrec-tls.conf'),
    qr{^#\s+ln -s \.\./sites-available/medrec-tls\.conf /etc/apache2/sites-enabled/medrec\.conf$}m,
    '  and its comment links it from sites-available');

my @dpkg_list = grep { length } split /\n/,
    run('dpkg', '-L', 'medrec')->{out};

###############################################################################
# An operator's settings survive a reinstall; a secret is made only when
# none is configured.

# The private cluster (as Medrec::Stack makes one): the tables belong to
# medrec_owner, the service logs in as medrec, a member of medrec_app.
make_path("$tmp/pg/run");
chown($pw[2], $pw[3], "$tmp/pg", "$tmp/pg/run") or die "chown: $!\n";
$r = Medrec::Stack::run_cmd(as_pg => 1, cwd => "$tmp/pg", cmd => [
    "$pgbin/initdb", '-D', $pgdata, '-U', 'postgres', '-E', 'UTF8',
    '--locale=C.UTF-8', '--auth=trust', '--no-sync' ]);
die "initdb:\n$r->{out}$r->{err}" if $r->{status};
open(my $pgc, '>>', "$pgdata/postgresql.conf") or die "$!\n";
print $pgc "listen_addresses = ''\nunix_socket_directories = '$sockdir'\n"
    . "fsync = off\nshared_buffers = 16MB\n";
close($pgc) or die "$!\n";
$r = Medrec::Stack::run_cmd(as_pg => 1, cwd => "$tmp/pg", cmd => [
    "$pgbin/pg_ctl", '-D', $pgdata, '-l', "$tmp/pg/postgres.log", '-w',
    '-t', '60', 'start' ]);
die "pg_ctl start:\n$r->{out}$r->{err}" . slurp("$tmp/pg/postgres.log")
    if $r->{status};
psql($_, 'postgres') for ('CREATE ROLE medrec_owner LOGIN',
    'CREATE ROLE medrec_app NOLOGIN',
    'CREATE ROLE medrec LOGIN IN ROLE medrec_app',
    'CREATE DATABASE medrec OWNER medrec_owner');

# What an operator adds: the database, and fewer workers.
my $mine = "\n# added by the operator\n"
    . "DATABASE_URL=postgresql://medrec\@/medrec?host=$sockdir\n"
    . "MIGRATION_DATABASE_URL=postgresql://medrec_owner\@/medrec?host=$sockdir\n"
    . "WORKERS=2\n";
open(my $fh, '>>', $CONF) or die "$CONF: $!\n";
print $fh $mine;
close($fh) or die "$CONF: $!\n";
$r = run('dpkg', '-i', $deb);
is($r->{status}, 0, 'dpkg -i again (a reinstall) succeeds')
    or diag("$r->{out}$r->{err}");
like(slurp($CONF), qr/\Q$mine\E\z/, '  and keeps the operator\'s medrec.conf');
is(mode_owner($CONF), '0640 root:medrec', '  and its mode and group');
is((slurp($DEFAULT) =~ /^JWT_SECRET=(\S+)$/m)[0], $secret,
    '  and the JWT secret');
is(scalar(() = slurp($DEFAULT) =~ /^JWT_SECRET=/mg), 1,
    '  without adding another');

###############################################################################
# medrec --migrate and the service, from the installed paths.

# As the user medrec, which reads medrec.conf through its group only.
$r = run({ as_pg => 1 }, '/usr/sbin/medrec', '-c', $CONF, '--migrate');
is($r->{status}, 0, 'medrec -c /etc/medrec/medrec.conf --migrate, as medrec, succeeds')
    or diag("$r->{out}$r->{err}");
my @migrations = glob("$top/db/migrations/*.sql");
is(psql('SELECT count(*) FROM schema_migrations'), scalar @migrations,
    '  and applies the installed migrations (' . scalar(@migrations) . ')');

# The service as medrec.service runs it: user medrec, group www-data,
# supplementary group medrec, UMask 0027, $DEFAULT as its environment, in
# its runtime directory (here the test's, not /run/medrec).
my $run = "$tmp/run";
mkdir($run) or die "mkdir $run: $!\n";
chown($pw[2], scalar getgrnam('www-data'), $run) && chmod(0750, $run)
    or die "chown $run: $!\n";
my %unit_env = (env_file($DEFAULT), LISTEN => "$run/medrec.sock");
$pid{pool} = spawn("$tmp/pool.log", $run,
    Medrec::Stack::clean_env(%unit_env), 'sh', '-c',
    'umask 0027 && exec "$@"', 'sh', 'setpriv', '--reuid=medrec',
    '--regid=www-data', '--groups=medrec', '--', '/usr/sbin/medrec', '-c',
    $CONF);

# The installed nginx site, copied with three changes: a free loopback
# port, the test's socket, and logs in the test's directory.
my $n = "$tmp/nginx";
make_path("$n/log", "$n/tmp");
my ($hold, $port) = Medrec::Stack::_hold_port();
my ($mhold, $mport) = Medrec::Stack::_hold_port();
my %subst = (
	'listen 80;'				=> "listen 127.0.0.1:$port;",
	'listen 127.0.0.1:9180;'		=> "listen 127.0.0.1:$mport;",
	'server unix:/run/medrec/medrec.sock;'	=> "server unix:$run/medrec.sock;",
	'include /etc/medrec/nginx/medrec-api.conf;' => "include $n/medrec-api.conf;",
);
my $site = $nsite;
for my $from (sort keys %subst) {
	my $count = () = $site =~ /\Q$from\E/g;
	is($count, 1, "the installed site says '$from' once");
	$site =~ s/\Q$from\E/$subst{$from}/;
}
(my $api = slurp('/etc/medrec/nginx/medrec-api.conf')) =~
    s{/var/log/nginx/}{$n/log/}g;
unlike("$site$api", qr{unix:/run/|\s/var/log/|listen 80;|:9180;},
    'the copy keeps no system path or port');
spew("$n/medrec.conf", $site);
spew("$n/medrec-api.conf", $api);
spew("$n/nginx.conf", <<"EOF");
user www-data;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/log/error.log;
events { }
http {
    client_body_temp_path $n/tmp/body;
    fastcgi_temp_path $n/tmp/fastcgi;
    proxy_temp_path $n/tmp/proxy;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    include $n/medrec.conf;
}
EOF
close($hold);
close($mhold);
$pid{nginx} = spawn("$n/stderr.log", $n, {}, 'nginx', '-p', $n, '-c',
    "$n/nginx.conf", '-e', "$n/log/error.log", '-g', 'daemon off;');

my $http = HTTP::Tiny->new(timeout => 5);
my $res;
wait_until(60, sub {
	$res = $http->get("http://127.0.0.1:$port/api/health");
	return $res->{status} == 200;
}, 0.2);
is($res->{status}, 200, 'GET /api/health through the installed nginx site is 200')
    or diag("$res->{status} $res->{content}\n" . slurp("$tmp/pool.log")
    . slurp("$n/log/error.log") . slurp("$n/stderr.log"));
like($res->{content}, qr/"database":"ok"/, '  with the database reachable');
my $status = slurp("/proc/$pid{pool}/status");
my ($uid) = $status =~ /^Uid:\s+(\d+)/m;
is($uid, $pw[2], 'the pool runs as medrec');
unlike(slurp("$tmp/pool.log"), qr/\Q$secret\E/, 'its log holds no secret')
    if length $secret;
stop('nginx');
stop('pool');

# A secret configured in medrec.conf alone: postinst makes none.
rename($DEFAULT, "$tmp/default.saved") or die "rename $DEFAULT: $!\n";
my $kept = slurp($CONF);
spew($CONF, $kept . "JWT_SECRET=" . ('k' x 40) . "\n");
$r = run('dpkg', '-i', $deb);
is($r->{status}, 0, 'dpkg -i with JWT_SECRET set in medrec.conf succeeds')
    or diag("$r->{out}$r->{err}");
ok(!-e $DEFAULT, "  and writes no $DEFAULT");
spew($CONF, $kept);
rename("$tmp/default.saved", $DEFAULT) or die "rename: $!\n";

###############################################################################
# dpkg -r keeps the configuration; dpkg --purge removes the rest.

my $tables = 'SELECT count(*) FROM pg_tables WHERE schemaname = \'public\'';
my $ntables = psql($tables);
ok($ntables > 5, "the database has its tables ($ntables)");

$r = run('dpkg', '-r', 'medrec');
is($r->{status}, 0, 'dpkg -r removes it') or diag("$r->{out}$r->{err}");
is(pkg_status(), 'deinstall ok config-files', '  keeping its configuration');
ok(!-e '/usr/sbin/medrec', '  the binary is gone');
ok(!-e '/lib/systemd/system/medrec.service', '  the unit is gone');
like(slurp($CONF), qr/\Q$mine\E/, "  $CONF stays, with the operator's settings");
ok(-e $_, "  $_ stays") for @site_files;
is((slurp($DEFAULT) =~ /^JWT_SECRET=(\S+)$/m)[0], $secret, "  $DEFAULT stays");
is(psql($tables), $ntables, '  the database is untouched');

$r = run('dpkg', '--purge', 'medrec');
is($r->{status}, 0, 'dpkg --purge purges it') or diag("$r->{out}$r->{err}");
like(pkg_status(), qr/not-installed/, '  dpkg knows it no more');
my @left = grep { (-e || -l) && !-d } @pkg_files, @dpkg_list;
ok(!@left, '  no file it installed is left') or diag(join("\n", @left));
my @dirs_left = grep { -d } @pkg_dirs;
ok(!@dirs_left, '  nor a directory it made') or diag(join("\n", @dirs_left));
ok(!-e $DEFAULT, "  $DEFAULT is gone");
ok(!-e '/etc/medrec', '  /etc/medrec is gone');
is(run('dpkg-statoverride', '--list', $CONF)->{out}, '',
    '  and the statoverride');
my @dsh = glob('/var/lib/systemd/deb-systemd-helper-enabled/*medrec*');
is_deeply(\@dsh, \@dsh_before, '  and systemd helper state');
my @pw_after = getpwnam('medrec');
is($pw_after[2], $pw[2], 'the user medrec stays (README.Debian: files it owns must not pass to a new user)');
is(psql($tables), $ntables, 'the database is untouched');

done_testing();
