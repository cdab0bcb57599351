#!/usr/bin/perl
# script/server --watch (issue 11, "Edit, save, see it"), as a user runs it:
# in a scratch copy of the tree (the files git tracks, with their
# uncommitted changes, as a fresh clone would have them), in a clean
# environment, built from scratch.  Then, as a user edits: a saved handler
# answers with its new behaviour, and no request of a steady stream fails
# while the pool is swapped; a change that does not compile prints the
# compiler's error and the old pool keeps serving; fixed, it is served; a
# change under nginx/ takes effect; SIGTERM stops everything script/server
# started and leaves no socket behind.  The scratch directory is removed
# when every test passed (LEAVE=1 keeps it).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG setsid _exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until slurp);

my $START_TIMEOUT = 240;	# autoreconf, configure, make from scratch
my $SWAP_TIMEOUT = 90;		# one rebuild and a pool swap
my $STREAM_CLIENTS = 3;		# of GET /api/health back to back, and one
				# registering users
my $bailed;			# keeps the scratch tree, as a failure does

my $top = Medrec::Stack::top();
my @files = tracked_files($top);
die "$top is not a git checkout: this test copies what git tracks\n"
    unless @files;

my $dir = tempdir('medrec-watch-XXXXXX', TMPDIR => 1, CLEANUP => 0);
# PostgreSQL runs as the medrec user when we are root: it must reach the
# cluster under var/ (script/lib.sh, start_cluster).
chmod(0755, $dir) or die "chmod $dir: $!\n";
for my $f (@files) {
	next unless -f "$top/$f";	# deleted, not yet committed
	make_path(dirname("$dir/$f"));
	copy("$top/$f", "$dir/$f") or die "copy $f: $!\n";
	chmod((stat "$top/$f")[2] & 07777, "$dir/$f");
}

my $port = free_port();
my $metrics_port = free_port();
my $url = "http://127.0.0.1:$port";
my $log = "$dir/server.log";
my $server = start_server();
my $started = time;

END { stop_server() }

my $up = wait_until($START_TIMEOUT, sub {
	return 'died' unless alive($server);
	return slurp($log) =~ /^Server is running on port \Q$port\E\.$/m;
}, 0.2);
if (!$up || $up eq 'died') {
	diag(tail($log, 40));
	bail($up ? 'script/server --watch exited before it served'
	    : "script/server --watch did not serve within $START_TIMEOUT s");
}
diag(sprintf('script/server --watch served %.0f s after it started '
    . '(a build from scratch)', time - $started));
like(slurp($log), qr/^watching fcgi-app\/ handlers\/ db\/ conf\/ nginx\//m,
    'script/server --watch says what it watches');
is(health()->{status}, 200, 'GET /api/health is 200 before any edit');

###########################################################################
# (a) and (b): a handler edited under a steady stream of requests.

my $health_c = "$dir/handlers/health.c";
my $original = slurp($health_c);
my $ok_json = '\"status\":\"ok\",\"database\":\"ok\"}';
index($original, $ok_json) >= 0
    or bail("handlers/health.c no longer writes $ok_json: update this test");

my $stop_file = "$dir/stream-stop";
my @stream = map { stream_client($_) } 0 .. $STREAM_CLIENTS;
sleep(1);

my $off = length slurp($log);
my $saved = time;
save($health_c, with_member($original, 'edited'));
my $edited = wait_until($SWAP_TIMEOUT,
    sub { (health()->{json}{watch} // '') eq 'edited' }, 0.1);
ok($edited, "the edited handler answers within $SWAP_TIMEOUT s of the save")
    or diag(tail($log, 40));
diag(sprintf('the edit was served %.1f s after the save', time - $saved))
    if $edited;
# nginx sends requests to the new pool before the old one has stopped and
# script/server says so.
my $said = wait_until(30, sub { substr(slurp($log), $off) =~
    /^changed: handlers\/health\.c; rebuilding\n.*^the new build is serving/ms });
ok($said, 'the log says what changed, then that the new build serves')
    or diag(tail($log, 40));
sleep(1);

my %seen = stop_stream(@stream);
my @failed = grep { $_->{status} !~ /^20[01]$/ } @{ $seen{all} };
ok(!@failed, sprintf('no request failed during the swap (%d requests, '
    . '%d of them registrations, each hashing a password)',
    scalar @{ $seen{all} }, $seen{register}))
    or diag(join("\n", map { "$_->{kind}: $_->{status} $_->{body}" }
    @failed[0 .. ($#failed < 9 ? $#failed : 9)]));
ok($seen{old} && $seen{edited}, 'the stream ran across the swap: it saw '
    . "the old answer ($seen{old}) and the new one ($seen{edited})");
ok($seen{register}, "registrations ran during the swap ($seen{register})");

###########################################################################
# (c) a change that does not compile.

$off = length slurp($log);
save($health_c, with_member($original, 'broken')
    . "\nint watch_broken(void) { return 1 }\n");
my $refused = wait_until($SWAP_TIMEOUT, sub {
	substr(slurp($log), $off) =~ /the old pool keeps serving/;
}, 0.1);
my $out = substr(slurp($log), $off);
ok($refused, "a failed build says within $SWAP_TIMEOUT s that the old pool "
    . 'keeps serving') or diag(tail($log, 40));
like($out, qr/^handlers\/health\.c:\d+:\d+: error: /m,
    "the compiler's error is in script/server's output");
like($out, qr/^server: build failed; the old pool keeps serving: fix it and save again$/m,
    'one line says the build failed and the old pool keeps serving');
my $h = health();
is($h->{status}, 200, 'after the failed build GET /api/health is still 200');
is($h->{json}{watch} // '', 'edited', 'and the old pool (the edited '
    . 'handler) answers it');
unlike($out, qr/the new build is serving/, 'no pool was swapped in');

###########################################################################
# (d) fixed again.

$off = length slurp($log);
save($health_c, with_member($original, 'fixed'));
ok(wait_until($SWAP_TIMEOUT,
    sub { (health()->{json}{watch} // '') eq 'fixed' }, 0.1),
    "the fixed handler answers within $SWAP_TIMEOUT s of the save")
    or diag(tail($log, 40));
wait_until(30, sub { substr(slurp($log), $off) =~ /^the new build is serving/m });

###########################################################################
# A change under nginx/ alone: nginx is reloaded with it.

my $api_conf = "$dir/nginx/medrec-api.conf.in";
my $conf = slurp($api_conf);
$conf =~ s/^(add_header Strict-Transport-Security .*\n)/$1add_header X-Watch-Test saved always;\n/m
    or bail('nginx/medrec-api.conf.in has no server-level add_header '
    . 'line: update this test');
$off = length slurp($log);
save($api_conf, $conf);
ok(wait_until(30, sub { (health()->{headers}{'x-watch-test'} // '') eq 'saved' },
    0.1), 'a change under nginx/ takes effect within 30 s')
    or diag(tail($log, 20));
wait_until(10, sub { substr(slurp($log), $off) =~ /^nginx reloaded/m });
$out = substr(slurp($log), $off);
like($out, qr/^changed:[ ]nginx\/medrec-api\.conf\.in;[ ]reloading[ ]nginx\n
    (?:.*\n)*? nginx[ ]reloaded[ ]with[ ]the[ ]changed[ ]configuration$/mx,
    'the log says nginx was reloaded with the change');
unlike($out, qr/rebuilding|the new build is serving/,
    'and nothing was rebuilt for it');
is(health()->{json}{watch} // '', 'fixed', 'the pool serves on');

###########################################################################
# (e) SIGTERM stops everything script/server started.

kill('TERM', $server->{pid});
my $ended = wait_until(60, sub { !alive($server) }, 0.05);
ok($ended, 'script/server stops within 60 s of SIGTERM');
is($server->{status}, 0, 'and exits with status 0 (no signal)') if $ended;
my @log = split /\n/, slurp($log);
is($log[-1] // '', 'stopped', 'its last line is "stopped"');
my @left = processes_under($dir);
ok(!@left, 'no process of the scratch tree is left (pool, nginx, '
    . 'PostgreSQL, inotifywait, make)') or diag(join("\n", @left));
my @sockets = sockets_under($dir);
ok(!@sockets, 'no socket file is left') or diag(join("\n", @sockets));
unlike(slurp("$dir/var/nginx/error.log"), qr/\[(?:alert|emerg)\]/,
    "nginx's error.log has no [alert] or [emerg]");

done_testing();

###########################################################################
# Helpers: these die on failure and are not tests.

# The files git tracks in $top (with the working tree's changes), or ().
sub tracked_files {
	my ($top) = @_;
	open(my $fh, '-|', 'git', '-C', $top, 'ls-files', '-z')
	    or return ();
	local $/;
	my $list = <$fh> // '';
	close($fh) or return ();
	return split /\0/, $list;
}

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => 0, Proto => 'tcp', Listen => 1)
	    or die "no free port on 127.0.0.1: $!\n";
	return $s->sockport;	# closed on return: nginx binds it next
}

# script/server --watch in the scratch tree, in a clean environment and a
# session of its own (so that the test's signals reach only it), its
# output in server.log.  The stream registers a user after another from
# one address, far past the default allowance for a network (10 an hour)
# and faster than the default share of the processors for hashing lets
# new clients in (BCRYPT_SHARE), so both are raised: the swap, not the
# throttles, is under test.
sub start_server {
	my $home = $ENV{HOME} // (getpwuid($>))[7];
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		eval {
			setsid();
			chdir($dir) or die "chdir $dir: $!\n";
			open(STDIN, '<', '/dev/null') or die;
			open(STDOUT, '>>', $log) or die "$log: $!\n";
			open(STDERR, '>&', \*STDOUT) or die;
			exec('env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
			    "HOME=$home", 'LANG=C.UTF-8', "PORT=$port",
			    "METRICS_PORT=$metrics_port",
			    'REGISTER_MAX_PER_ADDRESS=1000000', 'BCRYPT_SHARE=100',
			    "$dir/script/server",
			    '--watch') or die "exec env: $!\n";
		};
		print STDERR $@;
		_exit(127);
	}
	return { pid => $pid, owner => $$ };
}

# Is script/server running?  Reaps it (status in $s->{status}) when not.
sub alive {
	my ($s) = @_;
	local $?;
	return 0 if defined $s->{status};
	return 1 unless waitpid($s->{pid}, WNOHANG) == $s->{pid};
	$s->{status} = $?;
	return 0;
}

# In END: stops script/server if a test died half-way (SIGTERM, then
# SIGKILL to its session's process group), then removes the scratch tree
# when every test passed.
sub stop_server {
	local $?;
	return unless $server && $$ == $server->{owner};
	if (alive($server)) {
		kill('TERM', $server->{pid});
		wait_until(60, sub { !alive($server) }, 0.05)
		    or kill('KILL', -$server->{pid});
	}
	kill('TERM', $_) for grep { $_ } @stream;
	if (!$bailed && Test::More->builder->is_passing && !$ENV{LEAVE}) {
		remove_tree($dir);
	} else {
		diag("kept $dir (server.log there)");
	}
}

# A client of the stream, forked: client 0 registers users (each one hashes
# a password: a request that is in flight for a while), the others GET
# /api/health back to back.  Each writes one line per answer until the
# stop file appears (or 150 s pass).
sub stream_client {
	my ($n) = @_;
	my $file = "$dir/stream.$n";
	my $pid = fork() // die "fork: $!\n";
	return $pid if $pid;
	my $http = HTTP::Tiny->new(timeout => 15, keep_alive => 0);
	open(my $out, '>>', $file) or _exit(2);
	$out->autoflush(1);
	my $deadline = time + 150;
	my $i = 0;
	until (-e $stop_file || time > $deadline) {
		my $r;
		if ($n == 0) {
			$i++;
			$r = $http->post("$url/api/auth/register", {
			    headers => { 'Content-Type' => 'application/json' },
			    content => qq({"name":"Watch $i","email":)
			    . qq("watch-$i\@example.org","password":"correct horse"}),
			});
		} else {
			$r = $http->get("$url/api/health");
		}
		my $body = $r->{content} // '';
		$body =~ s/\s+/ /g;
		$body =~ s/ $//;
		print $out join("\t", $n == 0 ? 'register' : 'health',
		    $r->{status}, substr($body, 0, 200)), "\n";
	}
	_exit(0);
}

# Stops the stream and returns what it saw: all (answers), register
# (registrations answered), and per version of the health answer (old,
# edited) how many.
sub stop_stream {
	my (@pids) = @_;
	open(my $fh, '>', $stop_file) or die "$stop_file: $!\n";
	close($fh);
	for my $pid (@pids) {
		wait_until(30, sub { waitpid($pid, WNOHANG) == $pid }, 0.05)
		    or do { kill('KILL', $pid); waitpid($pid, 0) };
	}
	@stream = ();
	my %seen = (all => [], register => 0, old => 0, edited => 0);
	for my $n (0 .. $#pids) {
		for my $line (split /\n/, slurp("$dir/stream.$n")) {
			my ($kind, $status, $body) = split /\t/, $line, 3;
			push @{ $seen{all} }, { kind => $kind,
			    status => $status, body => $body // '' };
			next unless $status =~ /^20[01]$/;
			if ($kind eq 'register') {
				$seen{register}++;
			} elsif ($body =~ /"watch":"edited"/) {
				$seen{edited}++;
			} elsif ($body =~ /^\{"status":"ok","database":"ok"\}$/) {
				$seen{old}++;
			}
		}
	}
	return %seen;
}

# The health handler's source with "watch":WORD in its JSON.
sub with_member {
	my ($src, $word) = @_;
	(my $s = $src) =~ s/\Q$ok_json\E/\\"status\\":\\"ok\\",\\"database\\":\\"ok\\",\\"watch\\":\\"$word\\"}/;
	return $s;
}

# Writes a file in place, as an editor saves it.
sub save {
	my ($path, $text) = @_;
	open(my $fh, '>', $path) or die "cannot write $path: $!\n";
	print $fh $text;
	close($fh) or die "cannot write $path: $!\n";
}

# GET /api/health: { status, headers, json } (json {} when not JSON).
sub health {
	my $r = HTTP::Tiny->new(timeout => 10, keep_alive => 0)
	    ->get("$url/api/health");
	my $json = eval { JSON::PP->new->decode($r->{content} // '') };
	return { %$r, json => ref $json eq 'HASH' ? $json : {} };
}

# Processes other than ours whose command line, working directory or
# program lies in $dir, as "pid: command line".
sub processes_under {
	my ($dir) = @_;
	my @found;
	for my $p (glob('/proc/[0-9]*')) {
		my ($pid) = $p =~ m{(\d+)$};
		next if $pid == $$;
		my $cmd = slurp("$p/cmdline");
		$cmd =~ s/\0/ /g;
		my $cwd = readlink("$p/cwd") // '';
		my $exe = readlink("$p/exe") // '';
		push @found, "$pid: $cmd (cwd $cwd)"
		    if index($cmd, $dir) >= 0 || index("$cwd/", "$dir/") == 0
		    || index($exe, "$dir/") == 0;
	}
	return @found;
}

sub sockets_under {
	my ($dir) = @_;
	my @found;
	my @todo = ($dir);
	while (defined(my $d = shift @todo)) {
		opendir(my $dh, $d) or next;
		for my $e (grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
			my $p = "$d/$e";
			next if -l $p;
			if (-d _) {
				push @todo, $p;
			} elsif (-S _) {
				push @found, $p;
			}
		}
	}
	return @found;
}

sub bail {
	my ($why) = @_;
	$bailed = 1;
	BAIL_OUT($why);
}

sub tail {
	my ($path, $n) = @_;
	my @l = split /\n/, slurp($path);
	@l = @l[-$n .. -1] if @l > $n;
	return "==> $path <==\n" . join("\n", @l) . "\n";
}
