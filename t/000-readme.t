#!/usr/bin/perl
# The README, executed as a new user meets it.  In a fresh copy of the
# tree (the files a clone would hold, with the working tree's changes), in
# a clean environment (env -i with only PATH, HOME and LANG: no PORT, no
# DATABASE_URL, no JWT_SECRET, no .env), this test runs the first of the
# README's two commands exactly as written, script/server, on the
# README's port 8080, then replays the README's curl session line by line
# and compares what each command prints with the README, masking only
# what must differ from one run to the next (timestamps, dates, tokens,
# request ids).  It fails when the README and the product drift apart.
#
# The second command, script/test, is what runs this test; .ci/run runs it
# exactly as written, in the same clean environment, and this test checks
# that it does.  When 8080 (or the metrics port 9180) is taken, the test
# says so and uses the README's documented overrides, PORT and
# METRICS_PORT, and the session's URLs follow.

use strict;
use warnings;

use File::Temp qw(tempdir);
use File::Path qw(remove_tree);
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(WNOHANG setsid _exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(slurp wait_until);

my $top = Medrec::Stack::top();
my $readme = slurp("$top/README.md");
my $CLEAN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

###############################################################################
# Reading the README (helpers that die, not tests).

# The commands of "## The two commands": the indented lines that start
# with script/, without their comments.
sub two_commands {
	my ($section) = $readme =~ /^## The two commands\n(.*?)^## /ms
	    or die "README.md has no section 'The two commands'\n";
	my @cmds = map { s/\s+#.*//r } $section =~ /^    (script\/\S.*)$/mg;
	return ($section, @cmds);
}

# The curl session: every fenced block whose first line is a "$ " command,
# as [ [command, [expected output lines]], ... ] in order.
sub session {
	my @steps;
	while ($readme =~ /^```\n(.*?)^```$/msg) {
		my @lines = split /\n/, $1;
		next unless @lines && $lines[0] =~ /^\$ /;
		for my $l (@lines) {
			if ($l =~ /^\$ (.*)$/) {
				push @steps, [ $1, [] ];
			} else {
				push @{ $steps[-1][1] }, $l;
			}
		}
	}
	die "README.md has no curl session\n" unless @steps;
	return @steps;
}

# What differs from run to run, masked the same way in the README's
# output and in ours.  Ids, versions, counts and cursors are kept: a
# fresh database gives the same ones every time.
sub mask {
	my ($s) = @_;
	$s =~ s/\r$//;
	$s =~ s/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/<time>/g;
	$s =~ s/^Date: .*/Date: <date>/;
	$s =~ s/eyJ[\w-]+\.[\w-]+\.[\w-]+/<token>/g;
	$s =~ s/^(X-Request-Id): .*/$1: <request id>/i;
	$s =~ s/"requestId":"[^"]*"/"requestId":"<request id>"/g;
	return $s;
}

# Is a TCP port free, on every address (nginx's "listen 8080") and on
# loopback (the metrics listener's 127.0.0.1:9180)?
sub port_free {
	my ($port) = @_;
	for my $addr ('0.0.0.0', '127.0.0.1') {
		my $s = IO::Socket::INET->new(LocalAddr => $addr,
		    LocalPort => $port, Listen => 1, Proto => 'tcp') or return 0;
		close($s);
	}
	return 1;
}

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 1, Proto => 'tcp') or die "no free port: $!\n";
	my $p = $s->sockport;
	close($s);
	return $p;
}

###############################################################################
# The README says what it should.

my ($section, @commands) = two_commands();
is_deeply(\@commands, [ 'script/server', 'script/test' ],
    'the README gives the two commands, script/server and script/test');
my ($health_line) = $section =~ /^    (curl \S.*)$/m;
ok(defined $health_line, 'the README says how to check the service with curl');
unlike($readme, qr{\]\(\.\./}, 'the README links nothing outside the repository');
like(slurp("$top/.ci/run"), qr{^env -i PATH=\S+ HOME=\S+ LANG=\S+ script/test$}m,
    'CI runs script/test exactly as the README writes it, in a clean environment');

my @steps = session();
ok(@steps >= 10, 'the README has a curl session of ' . scalar(@steps) . ' commands');

###############################################################################
# A fresh copy of the tree.  PostgreSQL runs as the medrec user when we are
# root, so the copy must be reachable by it: a 0755 temp dir.

my $dir = tempdir('medrec-readme-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod(0755, $dir) or die "chmod $dir: $!\n";
my $clone = "$dir/medrec";
{
	my $r = Medrec::Stack::run_cmd(cwd => $top, timeout => 120, cmd => [ 'sh',
	    '-c', 'set -e; mkdir -p "$1"; git ls-files -z -co --exclude-standard |'
	    . ' xargs -0 tar -cf - | tar -C "$1" -xf -', 'copy', $clone ]);
	die "copying the tree failed:\n$r->{err}" if $r->{status};
}
ok(!-e "$clone/.env" && !-e "$clone/var", 'the copy has no .env and no var/');

my $port = 8080;
my %env = (PATH => $CLEAN_PATH, HOME => $ENV{HOME} // '/root',
    LANG => $ENV{LANG} // 'C.UTF-8');
if (!port_free(8080) || !port_free(9180)) {
	$port = free_port();
	$env{PORT} = $port;
	$env{METRICS_PORT} = free_port();
	diag("port 8080 or 9180 is in use on this machine: running with "
	    . "PORT=$port METRICS_PORT=$env{METRICS_PORT}, the README's overrides");
}

###############################################################################
# script/server, as written, in the foreground of its own session.

my $out = "$dir/server.out";
my $err = "$dir/server.err";
my $server = fork() // die "fork: $!\n";
if ($server == 0) {
	setsid();
	chdir($clone) or _exit(127);
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', $out) or _exit(127);
	open(STDERR, '>', $err) or _exit(127);
	%ENV = %env;
	exec('script/server') or _exit(127);
}

my $server_status;
sub server_alive {
	return 0 if defined $server_status;
	return 1 unless waitpid($server, WNOHANG) == $server;
	$server_status = $?;
	return 0;
}

# Stops script/server as Ctrl-C would (it traps SIGINT and SIGTERM), then,
# if it is still there after a minute, its whole session; and the cluster
# it started, should it have been left behind.
sub stop_server {
	return unless $server;
	if (server_alive()) {
		kill('TERM', $server);
		wait_until(60, sub { !server_alive() }, 0.1);
	}
	if (server_alive()) {
		kill('KILL', -$server);
		waitpid($server, 0);
		$server_status = $?;
	}
	my $pgdata = "$clone/var/pg/data";
	if (-f "$pgdata/postmaster.pid") {
		Medrec::Stack::run_cmd(as_pg => 1, cwd => '/', cmd => [
		    Medrec::Stack::pgbin() . '/pg_ctl', '-D', $pgdata, '-m',
		    'immediate', '-w', 'stop' ]);
	}
	$server = undef;
}
END {
	my $rc = $?;
	stop_server();
	$? = $rc;
}
$SIG{$_} = sub { die "interrupted\n" } for qw(INT TERM HUP);

my $started = wait_until(600, sub {
	return 1 if !server_alive();
	return slurp($out) =~ /^Server is running on port \d+\.$/m;
}, 0.2);
my $started_line = "Server is running on port $port.";
ok($started && slurp($out) =~ /^\Q$started_line\E$/m,
    "script/server in a clean environment prints '$started_line'")
    or BAIL_OUT("script/server did not start:\n" . slurp($out)
    . Medrec::Stack::_tail($err, 40));

###############################################################################
# The README's curl lines.

(my $health = $health_line) =~ s/localhost:8080/localhost:$port/g;
my $r = Medrec::Stack::run_cmd(cmd => [ 'sh', '-c', $health ], env => \%env,
    cwd => $clone);
like($r->{out}, qr{\AHTTP/1\.1 200 OK\r?\n}, "'$health_line' answers 200")
    or diag("$r->{out}$r->{err}");

# One shell runs the whole session, so that TOKEN=$(...) carries over;
# a marker line after each command splits the output.
my $marker = '@@medrec-readme-step@@';
my $script = join '', map {
	(my $cmd = $_->[0]) =~ s/localhost:8080/localhost:$port/g;
	"$cmd\necho; echo '$marker'\n";
} @steps;
$r = Medrec::Stack::run_cmd(cmd => [ 'sh', '-c', $script ], env => \%env,
    cwd => $clone, timeout => 120);
ok(!$r->{timed_out}, 'the curl session ran to its end');
my @got = split /^\Q$marker\E\n/m, $r->{out};
is(scalar @got, scalar @steps, 'every command of the session printed its part')
    or diag("stderr: $r->{err}");

for my $i (0 .. $#steps) {
	my ($cmd, $want) = @{ $steps[$i] };
	my @have = split /\n/, $got[$i] // '', -1;
	pop @have if @have && $have[-1] eq '';	# the newline echo added
	pop @have if @have && $have[-1] eq '' && !(@$want && $want->[-1] eq '');
	my @w = map { mask($_) } @$want;
	my @h = map { mask($_) } @have;
	my $name = 'README: $ ' . (length $cmd > 70 ? substr($cmd, 0, 67) . '...' : $cmd);
	is_deeply(\@h, \@w, $name) or diag(join "\n", 'README says:', @$want,
	    'the service printed:', @have, '');
}

###############################################################################
# Ctrl-C stops everything script/server started.

kill('TERM', $server);
ok(wait_until(60, sub { !server_alive() }, 0.1), 'script/server stops on SIGTERM');
is($server_status // -1, 0, 'and exits 0');
like(slurp($err), qr/^stopped$/m, "and says it stopped");
ok(!IO::Socket::UNIX->new(Peer => "$clone/var/run/medrec.sock"),
    "nothing answers on the pool's socket");
ok(!-f "$clone/var/pg/data/postmaster.pid", 'its PostgreSQL cluster is stopped');
my @left = grep {
	my $c = slurp("$_/cmdline");
	$c =~ /\Q$clone\E/;
} glob('/proc/[0-9]*');
is(scalar @left, 0, 'no process of the copy is left')
    or diag(join "\n", map { slurp("$_/cmdline") =~ s/\0/ /gr } @left);
$server = undef;

my $failed = grep { !$_ } Test::More->builder->summary;
if ($failed || $ENV{LEAVE}) {
	diag("kept $dir");
} else {
	remove_tree($dir);
}
done_testing();
