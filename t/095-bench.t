#!/usr/bin/perl
# script/bench's plumbing, not its figures: a --quick run as short as it goes
# (1 s per scenario, 16 connections) sets up its own throw-away stack, runs
# every limit and scenario against this build's binary (MEDREC_BIN), and
# writes the TSV of every run, the Markdown table and its SVG chart; then
# --history --quick (issue 14's figures on small sizes, about 40 s), --fhir
# --quick (issue 15's, about 40 s) and --keep-conn --quick (issue 16's
# connection reuse, about 30 s).  How fast anything is is the benchmark's
# business; here only that each piece ran and reported.

use strict;
use warnings;

use File::Temp qw(tempdir);
use Test::More;

use Medrec::Stack qw(slurp);

my $dir = tempdir('medrec-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = "$dir/output.log";
my $rc = system("script/bench --quick --no-build --duration 1 --warmup 1 "
    . "--connections 16 --results $dir/results >$out 2>&1") >> 8;
is($rc, 0, 'script/bench --quick exits 0 (a table, no scenario over 1% errors)')
    or diag(slurp($out));

my $md = -f "$dir/results/latest-quick.md"
    ? slurp("$dir/results/latest-quick.md") : '';
like($md, qr/^## medrec$/m, 'latest-quick.md has the medrec table');
for my $s ('S1 doctor by id', 'S2 patient by id \(AUDIT_READ_SYNC=on\)',
    'S2 patient by id \(AUDIT_READ_SYNC=on\), no group commit',
    'S2 patient by id \(AUDIT_READ_SYNC=off\)', 'S3 create patient',
    'S4 next page, owner of 10,000', 'S5 login', 'S6 mixed') {
	# Under 100 a rate has a decimal (S5 on a slow build: 93.2).
	like($md, qr/^\| $s \| [\d,.]+ \| [\d.]+ \| [\d.]+ \| 0 \|/m,
	    "a figure for $s, with no errors");
}
for my $l ('nginx `return 200`', 'no-op FastCGI responder',
    'pgbench S1', 'pgbench S2 (app_begin + patient_get), read sync on, group '
    . 'commit (commit_delay', 'pgbench S2, read sync on, no group commit',
    'pgbench S3') {
	like($md, qr/^\| \Q$l\E[^|]* \| [\d,]+ \|/m, "a limit: $l");
}
# Issue 16: its targets against this run's figures (no peers here), and S2
# and its limit with group commit and without, in turn.
like($md, qr/^\| S1 \/ no-op responder \| [\d.]+ × \| ≥ 0.90: (met|\*\*missed\*\*) \|$/m,
    "issue 16's S1 target against the no-op responder");
like($md, qr/^\| S1 p99 \/ no-op responder p99 \| [\d.]+ × \| ≤ 1.5: /m,
    "issue 16's p99 target");
for my $g ('pgbench S2 limit', 'medrec S2') {
	like($md, qr/^\| $g \| [\d,]+ \| [\d,]+ \| [\d.]+ × \|/m,
	    "$g with group commit and without");
}

# The chart beside the table: well-formed SVG (XML::Parser dies on
# anything that is not), with a bar for medrec and its legend.
my $svg = "$dir/results/latest-quick.svg";
ok(-s $svg, 'latest-quick.svg is written beside latest-quick.md');
my ($stamped) = glob("$dir/results/2*.svg");
ok($stamped && -s $stamped, 'and <time>.svg');
my (%elements, @text);
my $parsed = eval {
	require XML::Parser;
	XML::Parser->new(Handlers => {
		Start => sub { $elements{ $_[1] }++ },
		Char => sub { push @text, $_[1] },
	})->parsefile($svg);
	1;
};
ok($parsed, 'the chart is well-formed XML') or diag($@);
ok($elements{svg}, 'its root is an svg element');
my $text = join('', @text);
like($text, qr/medrec/, 'the chart names medrec in its legend');
like($text, qr/S1 doctor/, 'and the scenarios on its axis');
ok(($elements{path} // 0) + ($elements{rect} // 0) >= 8,
    'and draws the bars (paths or rects)');
like($md, qr/^\| bcrypt cost \d+: .* \| [\d.]+ hashes\/s \|/m,
    'the login ceiling from the bcrypt hash time');
like($md, qr/^\| 1 \(pid \d+\) \| [\d,]+ KiB \| [\d,]+ KiB \| [+-][\d,]+ KiB \|/m,
    'worker memory after two request counts');

# Under attack: only that every client ran and was counted; whether the
# targets are met is the benchmark's business.
like($md, qr/^## Under attack \(loopback\)$/m, 'latest-quick.md has the '
    . 'under-attack section');
for my $s ('undisturbed', 'under attack') {
	like($md, qr/^\| $s \| [\d,]+ \| [\d.]+ \| [\d.]+ \| 2xx: [\d,]+[^|]* \| 0 \|$/m,
	    "S2 $s: a figure, answered, and no 5xx");
}
like($md, qr/^S2 under attack is [\d.]+ × S2 undisturbed/m,
    'the ratio of S2 under attack to S2 undisturbed');
like($md, qr/^\| under attack, from 127\.0\.0\.1 every [\d.]+ s \| [1-9]\d* \| 200: /m,
    "the owner's logins were made and answered 200");
like($md, qr/^\| register flood: .* \| [\d,]+ \| [\d.]+ \| [\d.]+ \| (2xx|429|503): /m,
    'the register flood ran and its statuses were counted');
like($md, qr/^\| wrong passwords: \d+ processes from 256 addresses \| [\d,]+ \| [\d.]+ \| [\d.]+ \| (401|429|503): /m,
    'the guesses ran from 256 addresses and their statuses were counted');

my ($tsv) = glob("$dir/results/*.tsv");
my @rows = $tsv ? grep { /\S/ } split /\n/, slurp($tsv) : ();
is(shift(@rows) // '',
    join("\t", qw(scenario target run req_per_s p50_ms p99_ms errors requests)),
    'the TSV has its header');
my %seen = map { (split /\t/)[0] => 1 } @rows;
ok($seen{$_}, "the TSV has the runs of $_")
    for qw(nginx-return-200 noop-fcgi pgbench-S1 pgbench-S2 pgbench-S2-nogc
    S1 S2 S2-nogc S2-async S3 S4-10000 S5 S6
    S2-undisturbed S2-under-attack owner-login register-flood login-guesses);

# --history --quick: issue 14's figures on small sizes, only that each was
# measured and set against its target; without the build before history,
# whose build alone would take longer than the rest of this test.
my $hout = "$dir/history.log";
$rc = system("script/bench --history --quick --no-build --before none "
    . "--duration 1 --warmup 1 --connections 16 --results $dir/history "
    . ">$hout 2>&1") >> 8;
is($rc, 0, 'script/bench --history --quick exits 0 (every figure measured)')
    or diag(slurp($hout));
my $hmd = -f "$dir/history/latest-history-quick.md"
    ? slurp("$dir/history/latest-history-quick.md") : '';
like($hmd, qr/^## A record over time \(issue 14\)$/m,
    'latest-history-quick.md has the history section');
for my $f ('S2: trail of [\d,]+ rows / empty', 'S3: trail of [\d,]+ rows / empty',
    'S4: 30% deleted / none deleted', 'history page: 1,000 / 100 versions',
    'export bytes/s / COPY bytes/s') {
	like($hmd, qr/^\| $f \| [\d.]+ × \| ≥ [\d.]+: (met|\*\*missed\*\*) \|$/m,
	    "a ratio against its target: $f");
}
like($hmd, qr/^\| bytes per audit row [^|]* \| \d+ \| ≤ 150: /m,
    'bytes per audit row');
like($hmd, qr/^\| purge of a month of 50,000 audit rows: `medrec --purge`[^|]* \| [\d.]+ s \| < 1 s: /m,
    'the purge of a month, timed');

# --fhir --quick: issue 15's figures on small sizes (an owner of 20,000
# against one of 10,000, 10,000 FHIR requests for memory; about 40 s): only
# that each was measured and set against its target.
my $fout = "$dir/fhir.log";
$rc = system("script/bench --fhir --quick --no-build --duration 1 "
    . "--warmup 1 --connections 16 --results $dir/fhir >$fout 2>&1") >> 8;
is($rc, 0, 'script/bench --fhir --quick exits 0 (every figure measured)')
    or diag(slurp($fout));
my $fmd = -f "$dir/fhir/latest-fhir-quick.md"
    ? slurp("$dir/fhir/latest-fhir-quick.md") : '';
like($fmd, qr/^## FHIR R4 \(issue 15\)$/m,
    'latest-fhir-quick.md has the FHIR section');
for my $s ('S2 patient by id', 'FHIR Patient read',
    'FHIR search page \(50\) via next, owner of 10,000',
    'FHIR search page \(50\) via next, owner of 20,000') {
	like($fmd, qr/^\| $s[^|]* \| [\d,.]+ \| [\d.]+ \| [\d.]+ \| 0 \|/m,
	    "a figure for $s, with no errors");
}
for my $f ('FHIR Patient read / S2',
    'FHIR search page via next: owner of 20,000 / owner of 10,000') {
	like($fmd, qr/^\| $f \| [\d.]+ × \| ≥ 0\.90: (met|\*\*missed\*\*) \|$/m,
	    "a ratio against its target: $f");
}
like($fmd, qr/^\| worker RSS after [\d,]+ FHIR requests [^|]* \| [\d,]+ KiB \| ≤ 8,192 KiB: /m,
    'worker RSS after the FHIR requests, against 8 MiB');
like($fmd, qr/^\| 1 \(pid \d+\) \| [\d,]+ KiB \| [\d,]+ KiB \| [+-][\d,]+ KiB \|/m,
    'each worker\'s RSS after two counts of FHIR requests');

# --keep-conn --quick: issue 16's connection reuse on the no-op responder
# (no seed; about 30 s): each way measured without errors, and no request
# waited behind the responder's idle kept connections.
my $kout = "$dir/keepconn.log";
$rc = system("script/bench --keep-conn --quick --no-build --duration 1 "
    . "--warmup 1 --connections 16 --results $dir/keepconn >$kout 2>&1") >> 8;
is($rc, 0, 'script/bench --keep-conn --quick exits 0') or diag(slurp($kout));
my $kmd = -f "$dir/keepconn/latest-keepconn-quick.md"
    ? slurp("$dir/keepconn/latest-keepconn-quick.md") : '';
for my $w (qw(close keep8 keep32)) {
	like($kmd, qr/^\| $w \| [\d,]+ \| [\d.]+ \| [\d.]+ \| 0 \|/m,
	    "the no-op responder, $w: a figure with no errors");
}
like($kmd, qr/^Stuck check: .* 0 over 1 s;/m,
    'no request waited a second behind idle kept connections');

done_testing();
