#!/usr/bin/perl
# The OpenAPI document is true of every response (issue 11, point 4): the
# black-box files that exercise the API run once more, each stack they
# start fronted by Prism's validating proxy (`prism proxy`, from npm), which
# checks every response that passes through it against the document the
# service serves.  Every such response must match: a status the document
# does not list, a body or a header that breaks its schema, a response
# Prism could not match to an operation the document has, a request Prism
# answered itself, or any line of Prism's log that is not one it prints for
# a request that went well, is a failure, listed one by one.
#
# How: MEDREC_PRISM names Prism's binary and MEDREC_PRISM_DIR a directory
# for its logs (Medrec::Stack starts and stops a Prism per stack, by PID,
# and request() goes through it); t/run-suite runs the files.  Requests a
# test sends broken on purpose (bodies that are not JSON, raw sockets,
# headers over Node's 16 KiB, HEAD) go past Prism: request(direct => 1).
# One file alone: MEDREC_PRISM=$(script/npm-tool prism)
# prove -I t/lib t/020-patients.t (each stack's Prism log is then in its
# directory, checked at teardown).
#
# script/npm-tool installs Prism into var/npm/prism the first time (the
# npm registry must be reachable then).

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(slurp);

# The run gives up after this many seconds (it takes 2 to 4 minutes).
my $TIMEOUT = 900;

# The files that go through Prism: every one that exercises the API's
# responses.
my @THROUGH = qw(001-health 002-routing 004-database 010-auth 011-tokens
    012-throttle 020-patients 025-paging 030-doctors 040-mappings 050-rls
    051-audit 052-cors 060-apache 062-pgbouncer 065-metrics 066-json-logs
    070-retries 071-versions 075-hostile 090-openapi 013-hostile-clients
    092-api-doc 093-docs-page 054-real-ip 055-request-ids 056-error-log
    072-history 073-export 074-audit-trail);

# The others, and why not.
my %NOT_THROUGH = (
	'000-readme'	=> 'runs the README\'s curl lines against script/server '
	    . 'in a copy of the tree, not a test stack',
	'007-watch'	=> 'runs script/server --watch in a copy of the tree, '
	    . 'not a test stack',
	'003-workers'	=> 'kills and signals workers, requests in flight',
	'005-config'	=> 'sends no HTTP request: it runs the binary with '
	    . 'bad settings',
	'053-tls'	=> 'HTTPS only: its plain port only redirects there or '
	    . 'refuses',
	'100-fhir'	=> 'FHIR R4: its CapabilityStatement describes it, not '
	    . 'the OpenAPI document',
	'101-fhir-client' => 'FHIR R4, through a FHIR client library',
	'061-install'	=> 'installation: make install into a DESTDIR',
	'110-package'	=> 'the Debian package: builds, installs and purges it',
	'063-two-pools'	=> 'kills a pool under load',
	'064-failover'	=> 'kills the primary database under load',
	'067-auto-failover' => 'kills a database host under load, with '
	    . 'pg_auto_failover',
	'076-public-cache' => 'kills workers, and times reads through a second '
	    . 'site Prism does not stand in front of',
	'080-faults-kill' => 'fault injection: kills workers under load',
	'081-faults-postgres' => 'fault injection: stops PostgreSQL under load',
	'082-faults-reload' => 'fault injection: reloads under load',
	'083-faults-stop' => 'fault injection: stops the pool under load',
	'091-contract'	=> 'this file',
	'095-bench'	=> 'a benchmark',
);

my $JSON = JSON::PP->new->utf8->canonical;
my $top = Medrec::Stack::top();

###############################################################################
# Helpers that die or compute (not tests).

# run_suite(\%env, @args): t/run-suite @args with %env on top of ours, in
# this tree, its output in a file; returns { status => $?, out, timed_out }.
# It stays in our process group, so that a Ctrl-C reaches its tests too (it
# stops its stacks then); INT, TERM and HUP sent to us alone are passed on
# to it, and we wait for it before we exit.  After $TIMEOUT it gets TERM,
# then KILL.
sub run_suite {
	my ($env, @args) = @_;
	open(my $fh, '+>:raw', undef) or die "temp file: $!\n";
	my $pid = fork() // die "fork: $!\n";
	if ($pid == 0) {
		eval {
			chdir($top) or die "cd $top: $!\n";
			open(STDOUT, '>&', $fh) && open(STDERR, '>&', $fh)
			    or die "redirect: $!\n";
			for my $k (keys %$env) {
				if (defined $env->{$k}) {
					$ENV{$k} = $env->{$k};
				} else {
					delete $ENV{$k};
				}
			}
			exec("$top/t/run-suite", @args) or die "exec: $!\n";
		};
		print STDERR $@;
		POSIX::_exit(127);
	}
	my $signal;
	local @SIG{qw(INT TERM HUP)} = map { my $s = $_; sub {
		$signal = $s;
		kill($s, $pid);
	} } qw(INT TERM HUP);
	my $deadline = time + $TIMEOUT;
	my ($status, $timed_out);
	until (defined $status) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$status = $?;
		} elsif (!$timed_out && time > $deadline) {
			$timed_out = 1;
			kill('TERM', $pid);
			$deadline = time + 60;
		} elsif ($timed_out && time > $deadline) {
			kill('KILL', $pid);
		} else {
			sleep(0.2);
		}
	}
	if ($signal) {
		kill('KILL', $_) for prisms_in($env->{MEDREC_PRISM_DIR});
		exit(128 + ($signal eq 'HUP' ? 1 : $signal eq 'INT' ? 2 : 15));
	}
	seek($fh, 0, 0);
	local $/;
	return { status => $status, out => scalar(<$fh>) // '',
	    timed_out => $timed_out };
}

# The pids of the processes whose command line names $dir: the Prisms the
# run started there (their document is a file in it).
sub prisms_in {
	my ($dir) = @_;
	my @pids;
	for my $f (glob('/proc/[0-9]*/cmdline')) {
		my ($pid) = $f =~ m{^/proc/(\d+)/};
		next if $pid == $$;
		push @pids, $pid if index(slurp($f), "$dir/prism-") >= 0;
	}
	return @pids;
}

###############################################################################
# Every file is either checked through Prism or has a reason not to be.

my %all = map { m{/t/([^/]+)\.t$} ? ($1 => 1) : () } glob("$top/t/*.t");
my @unknown = grep { my $f = $_; !grep({ $_ eq $f } @THROUGH) &&
    !exists $NOT_THROUGH{$f} } sort keys %all;
ok(!@unknown, 'every t/*.t runs through Prism or says why not')
    or diag("decide for: @unknown (\@THROUGH or \%NOT_THROUGH)");
my @gone = grep { !$all{$_} } @THROUGH, sort keys %NOT_THROUGH;
ok(!@gone, 'every file listed here exists') or diag("missing: @gone");

###############################################################################
# The run.

my $bin = eval { Medrec::Stack::npm_tool('prism') };
ok(defined $bin, 'Prism is installed in var/npm/prism (script/npm-tool)')
    or diag($@);
# Without Prism the test above has failed already; nothing to run.
unless (defined $bin) {
	done_testing();
	exit;
}

my $out = tempdir('medrec-contract-XXXXXX', TMPDIR => 1, CLEANUP => 0);
my @files = map { "t/$_.t" } @THROUGH;
my $t0 = time;
my $run = run_suite({ MEDREC_PRISM => $bin, MEDREC_PRISM_DIR => $out,
    MEDREC_STACK => undef }, '-j2', '--timer', @files);
my $text = $run->{out};
note(sprintf('%d files through Prism in %d s', scalar @files, time - $t0));

ok(!$run->{timed_out}, "the run ends within $TIMEOUT s") or diag($text);
# Each stack stops its Prism, by PID; this finds any that did not.
my @stray = prisms_in($out);
ok(!@stray, 'every Prism the run started has stopped')
    or diag("still running, now killed: @stray");
kill('KILL', $_) for @stray;

# prove --timer: "[18:05:47] t/001-health.t .... ok     2345 ms ( ... )".
for my $f (@files) {
	my ($ms) = $text =~ /^(?:\[[\d:]+\] )?\Q$f\E \.+ ok +(\d+) ms/m;
	ok(defined $ms, "$f passes with Prism in front");
	note("$f: $ms ms") if defined $ms;
}
is($run->{status}, 0, 't/run-suite passes (the files and the log checks)')
    or diag($text);

###############################################################################
# What Prism saw.

my (@problems, %by_file, %by_status, $unchecked);
my @logs = glob("$out/prism-*.log");
ok(@logs > 1, 'Prism ran in front of the shared stack and the files\' own')
    or diag("Prism logs in $out: " . scalar @logs);
for my $log (@logs) {
	(my $record = $log) =~ s/\.log$/.jsonl/;
	(my $doc = $log) =~ s/\.log$/.openapi.json/;
	my $rep = Medrec::Stack::prism_report($log, $record, $doc);
	push @problems, @{ $rep->{problems} };
	$unchecked += $rep->{unchecked};
	for my $line (split /\n/, slurp($record)) {
		my $r = eval { $JSON->decode($line) } or next;
		$by_file{$r->{file}}++;
		$by_status{$r->{status}}++;
	}
}
for my $f (@files) {
	ok(($by_file{$f} // 0) > 0, "$f sent responses through Prism")
	    or diag("none of its requests went through Prism");
}
my $n = 0;
$n += $_ for values %by_status;
note("$n responses through Prism, by status: " . join(', ', map {
    "$_ x $by_status{$_}" } sort keys %by_status));
note("$unchecked of them for a method and path the document does not have "
    . '(404, 405)');

# Long lines (a 100 KB query) cut for the report.
my @shown = map { length > 400 ? substr($_, 0, 400) . '...' : $_ } @problems;
ok(!@problems, 'every response through Prism is true to the OpenAPI '
    . 'document') or diag(scalar(@problems) . " problems:\n"
    . join("\n", @shown));

if (Test::More->builder->is_passing && !$ENV{LEAVE}) {
	File::Path::remove_tree($out);
} else {
	diag("Prism's logs and records are in $out");
}

done_testing();
