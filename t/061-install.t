#!/usr/bin/perl
# `make install` (issue 8, "Build"): from the configured tree whose binary
# the suite tests, into a temporary DESTDIR, it installs the binary, the
# migrations, the example config, the nginx and Apache sites, the systemd
# unit and sysusers.d file and the man page, with the installed paths and
# no placeholder left; `systemd-analyze verify` accepts the unit, nginx -t
# and apache2 -t the sites, man renders the page without a warning, and
# `make uninstall` takes every file back.
use strict;
use warnings;

use File::Basename qw(dirname basename);
use File::Find qw(find);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;

use Medrec::Stack qw(slurp);

###############################################################################
# Helpers that die (not tests).

# The build tree of the binary under test (MEDREC_BIN's, or this tree).
my $build = dirname(dirname(Medrec::Stack::bin_path()));
$build = Medrec::Stack::top() unless -f "$build/Makefile";
-f "$build/Makefile" or die "$build is not configured: run ./configure\n";

my $tmp = tempdir('medrec-install-XXXXXX', TMPDIR => 1, CLEANUP => 0);
my $dest = "$tmp/dest";

sub run {
	my (@cmd) = @_;
	my %env = ref $cmd[0] eq 'HASH' ? %{ shift @cmd } : ();
	return Medrec::Stack::run_cmd(cmd => \@cmd, env => \%env,
	    cwd => $tmp, timeout => 300);
}

sub spew {
	my ($path, $text) = @_;
	make_path(dirname($path));
	open(my $fh, '>', $path) or die "$path: $!\n";
	print $fh $text;
	close($fh) or die "$path: $!\n";
}

# The installation directories as the Makefile has them, expanded.
sub make_vars {
	my (@names) = @_;
	spew("$tmp/print.mk", "print-%:\n\t\@echo '\$(\$*)'\n");
	my %v;
	for my $n (@names) {
		my $r = run('make', '-s', '--no-print-directory', '-C', $build,
		    '-f', 'Makefile', '-f', "$tmp/print.mk", "print-$n");
		die "make print-$n:\n$r->{out}$r->{err}" if $r->{status};
		chomp($v{$n} = $r->{out});
	}
	return %v;
}

sub files_under {
	my ($dir) = @_;
	my @f;
	find({ no_chdir => 1, wanted => sub { push @f, $_ if -f || -l } }, $dir)
	    if -d $dir;
	return sort @f;
}

###############################################################################
# make install.

my %d = make_vars(qw(sbindir sysconfdir pkgdatadir mandir runstatedir
    systemdsystemunitdir sysusersdir));
my $conf = "$d{sysconfdir}/medrec";
my $r = run('make', '-s', '-C', $build, 'install', "DESTDIR=$dest");
is($r->{status}, 0, 'make install DESTDIR=... succeeds')
    or diag("$r->{out}$r->{err}");

my $unit = "$d{systemdsystemunitdir}/medrec.service";
my @expected = (
	"$d{sbindir}/medrec",
	# Every migration of the tree: the service's SQL needs each one
	# (006 was once left out of the install).
	map({ "$d{pkgdatadir}/migrations/" . basename($_) }
	    glob(Medrec::Stack::top() . '/db/migrations/*.sql')),
	"$conf/medrec.conf.example",
	"$conf/medrec-postgresql.conf",
	map({ "$conf/nginx/$_" } qw(medrec.conf medrec-tls.conf
	    medrec-api.conf)),
	map({ "$conf/apache/$_" } qw(medrec.conf medrec-tls.conf
	    medrec-api.conf)),
	"$d{pkgdatadir}/apache-errors/413.json",
	$unit,
	map({ "$d{systemdsystemunitdir}/$_" } qw(medrec-purge.service
	    medrec-purge.timer)),
	"$d{sysusersdir}/medrec.conf",
	"$d{mandir}/man8/medrec.8",
);
ok(-f "$dest$_", "it installs $_") for @expected;
ok(-x "$dest$d{sbindir}/medrec", 'the binary is executable');
for my $f (glob("$dest$conf/*/*.conf"), "$dest$unit",
    "$dest$d{systemdsystemunitdir}/medrec-purge.service") {
	my @left = slurp($f) =~ /(\@[A-Za-z_]+\@)/g;
	ok(!@left, 'no placeholder is left in ' . substr($f, length $dest))
	    or diag("@left");
}

###############################################################################
# The systemd unit.

my $u = slurp("$dest$unit");
like($u, qr{^ExecStart=\Q$d{sbindir}\E/medrec -c \Q$conf\E/medrec\.conf$}m,
    'the unit starts the installed binary with the installed config');
like($u, qr{^User=medrec$}m, 'the service runs as its own user');
like($u, qr{^RuntimeDirectory=medrec$}m, 'its socket directory is /run/medrec');
like($d{runstatedir}, qr{^(/var)?/run$},
    'the sites look for the socket under /run too (runstatedir)');
my $sock = "$d{runstatedir}/medrec/medrec.sock";
like(slurp("$dest$conf/nginx/medrec.conf"), qr{server unix:\Q$sock\E;},
    "the nginx site passes to $sock");
like(slurp("$dest$conf/apache/medrec-api.conf"), qr{"unix:\Q$sock\E\|fcgi://},
    "the Apache site passes to $sock");
like($u, qr{^ExecReload=/bin/kill -HUP \$MAINPID$}m,
    'systemctl reload sends SIGHUP');

# systemd-analyze verify needs ExecStart's binary at its path: a copy of
# the unit whose binary is the one in DESTDIR, and man finds the
# Documentation= page there too.  (--root=DESTDIR would need the whole
# of systemd, sysinit.target and /bin/kill included, under DESTDIR.)
(my $copy = $u) =~ s{^ExecStart=\Q$d{sbindir}\E}{ExecStart=$dest$d{sbindir}}m;
spew("$tmp/verify/medrec.service", $copy);
$r = run({ MANPATH => "$dest$d{mandir}:", SYSTEMD_LOG_LEVEL => 'notice' },
    'systemd-analyze', 'verify', "$tmp/verify/medrec.service");
is($r->{status}, 0, 'systemd-analyze verify accepts the unit');
is("$r->{out}$r->{err}", '', '  without a warning');
$r = run('systemd-analyze', 'security', '--offline=true', '--threshold=20',
    "$tmp/verify/medrec.service");
my ($exposure) = "$r->{out}$r->{err}" =~ /Overall exposure level for \S+: ([\d.]+)/;
ok(defined $exposure && $exposure <= 2.0,
    'systemd-analyze security rates the hardening OK (exposure at most 2.0)')
    or diag("exposure " . ($exposure // '?') . "\n$r->{out}$r->{err}");

# The daily purge: its service runs the binary with --purge, as the
# service's user, and its timer starts it; both pass systemd-analyze.
my $pu = slurp("$dest$d{systemdsystemunitdir}/medrec-purge.service");
like($pu, qr{^ExecStart=\Q$d{sbindir}\E/medrec -c \Q$conf\E/medrec\.conf --purge$}m,
    'medrec-purge.service runs medrec --purge with the installed config');
like($pu, qr{^User=medrec$}m, '  as the service\'s user');
like(slurp("$dest$d{systemdsystemunitdir}/medrec-purge.timer"),
    qr{^OnCalendar=daily$}m, 'medrec-purge.timer starts it daily');
(my $pcopy = $pu) =~ s{^ExecStart=\Q$d{sbindir}\E}{ExecStart=$dest$d{sbindir}}m;
spew("$tmp/verify/medrec-purge.service", $pcopy);
spew("$tmp/verify/medrec-purge.timer",
    slurp("$dest$d{systemdsystemunitdir}/medrec-purge.timer"));
$r = run({ MANPATH => "$dest$d{mandir}:", SYSTEMD_LOG_LEVEL => 'notice' },
    'systemd-analyze', 'verify', "$tmp/verify/medrec-purge.service",
    "$tmp/verify/medrec-purge.timer");
is("$r->{status} $r->{out}$r->{err}", '0 ',
    'systemd-analyze verify accepts the purge service and timer, without a warning');

$r = Medrec::Stack::run_cmd(cmd => [ 'systemd-sysusers', "--root=$tmp/sysroot",
    '--dry-run', '-' ], stdin => slurp("$dest$d{sysusersdir}/medrec.conf"));
like("$r->{out}$r->{err}", qr/Creating user 'medrec'/,
    'the sysusers.d file makes the medrec user');

###############################################################################
# The sites, checked by the web servers themselves.  Copies, with the
# installed paths moved into DESTDIR and the logs and the certificate into
# the temp dir; the pool's socket stays /run/medrec (-t never connects).

$r = run('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
    '-days', '1', '-subj', '/CN=localhost', '-keyout', "$tmp/key.pem",
    '-out', "$tmp/cert.pem");
die "openssl:\n$r->{err}" if $r->{status};

# site_copy($server, $log_dir): the installed files of nginx's or Apache's
# site under $tmp/$server, with the paths moved; returns that directory.
sub site_copy {
	my ($server, $logs) = @_;
	my $to = "$tmp/$server";
	make_path("$to/log", "$to/run", "$to/tmp");
	for my $f (glob("$dest$conf/$server/*.conf")) {
		(my $text = slurp($f)) =~ s{\Q$conf/$server/\E}{$to/}g;
		$text =~ s{\Q$d{pkgdatadir}/\E}{$dest$d{pkgdatadir}/}g;
		$text =~ s{\Q$logs/\E}{$to/log/}g;
		$text =~ s{/etc/ssl/certs/medrec\.pem}{$tmp/cert.pem}g;
		$text =~ s{/etc/ssl/private/medrec\.key}{$tmp/key.pem}g;
		spew("$to/" . basename($f), $text);
	}
	return $to;
}

my $n = site_copy('nginx', '/var/log/nginx');
for my $site (qw(medrec.conf medrec-tls.conf)) {
	spew("$n/nginx-$site", <<"EOF");
pid $n/run/nginx.pid;
error_log $n/log/error.log;
events { }
http {
    client_body_temp_path $n/tmp/body;
    fastcgi_temp_path $n/tmp/fastcgi;
    proxy_temp_path $n/tmp/proxy;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
    include $n/$site;
}
EOF
	$r = run('nginx', '-t', '-p', $n, '-c', "$n/nginx-$site", '-e',
	    "$n/log/error.log");
	is($r->{status}, 0, "nginx -t accepts the installed site $site")
	    or diag("$r->{out}$r->{err}");
}

my $a = site_copy('apache', '/var/log/apache2');
my $mods = '/usr/lib/apache2/modules';
for my $site (qw(medrec.conf medrec-tls.conf)) {
	my @m = qw(mpm_event authz_core alias headers proxy proxy_fcgi
	    reqtimeout unique_id);
	push @m, qw(ssl socache_shmcb) if $site =~ /tls/;
	spew("$a/apache2-$site", join('', map {
	    "LoadModule ${_}_module $mods/mod_$_.so\n" } @m) . <<"EOF");
ServerRoot $a
ServerName localhost
PidFile $a/run/apache2.pid
DefaultRuntimeDir $a/run
ErrorLog $a/log/error.log
Listen 80
@{[ $site =~ /tls/ ? 'Listen 443' : '' ]}
Include $a/$site
EOF
	$r = run('apache2', '-t', '-d', $a, '-f', "$a/apache2-$site");
	is($r->{status}, 0, "apache2 -t accepts the installed site $site")
	    or diag("$r->{out}$r->{err}");
	like($r->{err}, qr/^Syntax OK$/m, '  Syntax OK');
	unlike($r->{err}, qr/AH\d+/, '  and no warning');
}

###############################################################################
# The man page.

my $man = "$dest$d{mandir}/man8/medrec.8";
$r = run({ MANWIDTH => 80 }, 'man', '--warnings', '-l', $man);
is($r->{status}, 0, 'man renders the installed page');
is($r->{err}, '', '  without a warning') or diag($r->{err});
like($r->{out}, qr/^SYNOPSIS/m, '  with a synopsis');
# Every setting conf/conf.c knows, so that a new one cannot go unsaid.
my ($known) = slurp(Medrec::Stack::top() . '/conf/conf.c') =~
    /\bknown\[\]\s*=\s*\{(.*?)\};/s;
my @settings = ($known // '') =~ /"([A-Z][A-Z0-9_]*)"/g;
ok(@settings > 20, 'conf/conf.c lists its settings');
my $src = slurp(Medrec::Stack::top() . '/doc/medrec.8');
my @missing = grep { $src !~ /^\.It Ev (?:\S+ , Ev )*\Q$_\E\b/m } @settings;
ok(!@missing, 'the man page describes every setting of conf/conf.c')
    or diag("missing: @missing");
my $example = slurp(Medrec::Stack::top() . '/conf/medrec.conf.example');
my @unlisted = grep { $example !~ /^#?\Q$_\E=/m } @settings;
ok(!@unlisted, 'conf/medrec.conf.example lists every setting of conf/conf.c')
    or diag("missing: @unlisted");

###############################################################################
# make uninstall.

$r = run('make', '-s', '-C', $build, 'uninstall', "DESTDIR=$dest");
is($r->{status}, 0, 'make uninstall DESTDIR=... succeeds')
    or diag("$r->{out}$r->{err}");
my @left = files_under($dest);
ok(!@left, 'and leaves no file behind') or diag(join("\n", @left));

if (Test::More->builder->is_passing && !$ENV{LEAVE}) {
	File::Path::remove_tree($tmp);
} else {
	diag("kept $tmp");
}
done_testing();
