#!/usr/bin/perl
# GET /api/patients/:id/export (issue 14): the patient's own copy, one JSON
# document to download: the record, its whole history, its doctors and its
# disclosures (every audit event about it, whoever caused it), for its
# owner only, deleted or not until it is purged, itself audited.  And it is
# streamed: a patient with 100,000 audit events exports with the worker's
# memory flat (at most 8 MiB, on a stack of one worker of its own).

use strict;
use warnings;

use JSON::PP;
use Test::More;

use Medrec::Stack qw(slurp);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

sub ok_json {
	my ($r, $status, $what) = @_;
	die "$what: " . show_response($r)
	    unless $r->{status} == $status && ref $r->{json};
	return $r->{json};
}

my $alice = $t->new_user;
my $bob = $t->new_user;

my $p = ok_json(api($alice, POST => '/api/patients', json => { name => 'Export Me',
    age => 33 }), 201, 'create');
my $id = $p->{id};
ok_json(api($alice, PATCH => "/api/patients/$id", json => { address => '2 Copy Lane' }),
    200, 'patch');
my $d = ok_json(api($alice, POST => '/api/doctors', json => { name => 'Dr. Export',
    specialization => 'Records' }), 201, 'doctor');
ok_json(api($alice, POST => '/api/mappings', json => { patientId => 0 + $id,
    doctorId => 0 + $d->{id} }), 201, 'mapping');
api($alice, GET => "/api/patients/$id", headers => { 'X-Request-Id' => 'export-read-1' });
api($bob, GET => "/api/patients/$id", headers => { 'X-Request-Id' => 'export-snoop-1' });

###############################################################################
# The document.

my $r = api($alice, GET => "/api/patients/$id/export",
    headers => { 'X-Request-Id' => 'export-1' });
is_json_response($r, 200, 'GET /api/patients/:id/export is 200 JSON');
is($r->{headers}{'content-disposition'}, qq(attachment; filename="patient-$id.json"),
    'to be saved as patient-<id>.json');
my $doc = $r->{json} // {};
is_deeply([ sort keys %$doc ], [ qw(deletedAt disclosures doctors history patient) ],
    'it holds the patient, deletedAt, its history, doctors and disclosures');
is_deeply($doc->{patient}, api($alice, GET => "/api/patients/$id")->{json},
    'the patient as GET shows it');
is($doc->{deletedAt}, undef, 'deletedAt is null for a patient not deleted');
is_deeply($doc->{history}, api($alice, GET => "/api/patients/$id/history?sort=version")->{json},
    'its whole history, oldest first, as GET .../history shows it');
is_deeply($doc->{doctors}, api($alice, GET => "/api/mappings/patient/$id")->{json},
    'its doctors, as GET /api/mappings/patient/:id shows them');
my %by_rid = map { ($_->{requestId} // '') => $_ } @{ $doc->{disclosures} // [] };
is_deeply($by_rid{'export-read-1'} && [ @{ $by_rid{'export-read-1'} }{qw(userId action status clientAddress)} ],
    [ $alice->{id}, 'read', 200, '127.0.0.1' ],
    "a disclosure: the owner's read, with who, what, the outcome and the address");
like($by_rid{'export-read-1'}{at} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, '  and when');
is_deeply($by_rid{'export-snoop-1'} && [ @{ $by_rid{'export-snoop-1'} }{qw(userId action status)} ],
    [ $bob->{id}, 'read', 404 ], "another user's attempt to read it is a disclosure too");
is_deeply($by_rid{'export-1'} && [ @{ $by_rid{'export-1'} }{qw(action status)} ],
    [ 'export', 200 ], 'the export itself is audited, and among its own disclosures');
is($t->psql("SELECT count(*) FROM audit_events WHERE request_id = 'export-1' "
    . "AND action = 'export' AND resource_id = $id"), 1, 'one audit row for the export');

is_problem(api($bob, GET => "/api/patients/$id/export"), 404, "another user's export of it is 404");
is_problem(api($alice, GET => '/api/patients/999999999/export'), 404, 'no such patient: 404');
is_problem($t->request(GET => "/api/patients/$id/export"), 401, 'the export needs a token');
$r = api($alice, HEAD => "/api/patients/$id/export", direct => 1);
is("$r->{status} " . length($r->{body} // ''), '200 0', 'HEAD is 200 without a body');

is(api($alice, DELETE => "/api/patients/$id")->{status}, 204, '(the patient is deleted)');
$r = api($alice, GET => "/api/patients/$id/export");
is_json_response($r, 200, 'a deleted patient, in its restore window, is exported');
like($r->{json}{deletedAt} // '', qr/^\d{4}-\d\d-\d\dT[\d:.]+Z$/, '  with when it was deleted');
is($r->{json}{history}[-1]{op}, 'delete', '  and its deletion last in its history');

###############################################################################
# Streamed: 100,000 audit events, the worker's memory flat.  A stack of its
# own with one worker, so that the worker measured is the one that served
# it; under AddressSanitizer without its quarantine, which holds freed
# memory back on purpose and would count as growth.

my %env = (WORKERS => 1);
$env{ASAN_OPTIONS} = "$ENV{ASAN_OPTIONS}:quarantine_size_mb=0" if $ENV{ASAN_OPTIONS};
my $s = Medrec::Stack->new(env => \%env);
my $u = $s->new_user;
my $big = $s->request(POST => '/api/patients', token => $u->{token},
    json => { name => 'Long History' })->{json}{id};
$s->psql("INSERT INTO audit_events (user_id, action, resource_type, resource_id, "
    . "outcome, request_id, client_address) SELECT $u->{id}, 'read', 'patient', $big, "
    . "'found', 'bulk-' || g, '192.0.2.' || (g % 250) FROM generate_series(1, 100000) g");
my ($worker) = $s->worker_pids;
my $kib = sub { my ($f) = @_; slurp("/proc/$worker/status") =~ /^$f:\s+(\d+) kB/m ? $1 : 0 };
$s->request(GET => "/api/patients/$big", token => $u->{token});
my $before = $kib->('VmRSS');
$r = $s->request(GET => "/api/patients/$big/export", token => $u->{token}, direct => 1,
    timeout => 120);
is($r->{status}, 200, 'the export of a patient with 100,000 audit events is 200');
my $n = eval { scalar @{ $JSON->decode($r->{body})->{disclosures} } } // 0;
cmp_ok($n, '>=', 100_001, "  and lists them all ($n disclosures, "
    . length($r->{body}) . ' bytes)');
my $peak = $kib->('VmHWM');
cmp_ok($peak - $before, '<=', 2048, "the worker's peak memory grew by at most 2 MiB "
    . "($before KiB before, peak $peak KiB)");
cmp_ok($peak, '<=', 8192, "  and stayed within 8 MiB ($peak KiB)")
    unless $ENV{ASAN_OPTIONS};
$s->finish;

done_testing();
