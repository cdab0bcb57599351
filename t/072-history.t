#!/usr/bin/perl
# A record over time (issue 14): every write to a patient or a doctor keeps
# a version, by trigger, whatever makes the write; a delete keeps the record
# for RESTORE_DAYS, during which it is 410 and can be restored (with
# If-Match and Idempotency-Key as on other writes), and after which it can
# no longer be; history and one version are read, paged and audited, and a
# patient's history is its owner's alone.

use strict;
use warnings;

use File::Copy ();
use File::Temp ();
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;

# medrec --purge against the stack's database, as the service's role, with
# the stack's migrations already applied.
sub purge {
	return Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path(),
	    '--purge' ], timeout => 60, env => Medrec::Stack::clean_env(
	    DATABASE_URL => $t->database_url, AUTO_MIGRATE => 0));
}

my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

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

# The target of the response's Link rel="next", path and query only.
sub next_link {
	my ($r) = @_;
	my $h = $r->{headers}{link} // '';
	$h = join ', ', @$h if ref $h;
	for my $part (split /,\s*(?=<)/, $h) {
		next unless $part =~ /^\s*<([^>]*)>.*;\s*rel="?next"?/s;
		(my $target = $1) =~ s{^https?://[^/]+}{};
		return $target;
	}
	return undef;
}

# The versions of a history walked through rel="next": [ version numbers ].
sub walk {
	my ($u, $path) = @_;
	my @v;
	for (my $pages = 0; defined $path && $pages < 50; $pages++) {
		my $r = api($u, GET => $path);
		return "GET $path: " . show_response($r)
		    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
		push @v, map { $_->{version} } @{ $r->{json} };
		$path = next_link($r);
	}
	return \@v;
}

my $alice = $t->new_user;
my $bob = $t->new_user;

###############################################################################
# A patient's versions: create, update, delete, restore.

my $p = ok_json(api($alice, POST => '/api/patients', json => { name => 'Hist One',
    age => 40 }), 201, 'create');
my $id = $p->{id};
my $path = "/api/patients/$id";

my $h = api($alice, GET => "$path/history");
is_json_response($h, 200, 'GET /api/patients/:id/history is 200 JSON');
is(scalar @{ $h->{json} }, 1, 'a new patient has one version');
my $v1 = $h->{json}[0];
is_deeply([ @$v1{qw(version op by)} ], [ 1, 'create', $alice->{id} ],
    'version 1: create, by its owner');
like($v1->{at} // '', $TIME_RE, 'at is a timestamp');
is_deeply($v1->{record}, $p, 'its record is the patient as created');

my $patched = ok_json(api($alice, PATCH => $path, json => { age => 41 }), 200,
    'patch');
my $r = api($alice, DELETE => $path);
is($r->{status}, 204, 'DELETE is 204');

$r = api($alice, GET => $path);
is_problem($r, 410, 'GET of the deleted patient is 410');
like($r->{json}{detail} // '', qr/^patient \Q$id\E was deleted; it can be restored until (\S+)$/,
    'the detail says until when it can be restored');
my ($until) = ($r->{json}{detail} // '') =~ /until (\S+)$/;
like($until // '', $TIME_RE, '  as a timestamp');
is_problem(api($bob, GET => $path), 404, 'to another user it is 404');

$h = api($alice, GET => "$path/history");
is_deeply([ map { [ $_->{version}, $_->{op} ] } @{ $h->{json} // [] } ],
    [ [ 3, 'delete' ], [ 2, 'update' ], [ 1, 'create' ] ],
    'a deleted patient\'s history is read, newest first: delete, update, create');
is_deeply($h->{json}[1]{record}, $patched, 'version 2 is the patient as the PATCH left it');
is($h->{json}[0]{record}{age}, 41, 'version 3 is the patient as it was deleted');

$r = api($alice, GET => "$path/history/2");
is_json_response($r, 200, 'GET /api/patients/:id/history/:version is 200');
is_deeply($r->{json}, $h->{json}[1], '  the version as the history lists it');
is_problem(api($alice, GET => "$path/history/9"), 404, 'a version that is not there is 404');
is_problem(api($bob, GET => "$path/history"), 404, "another user's history of it is 404");
is_problem(api($bob, GET => "$path/history/1"), 404, '  and so is one of its versions');
is_problem($t->request(GET => "$path/history"), 401, 'history needs a token');

$r = api($alice, POST => "$path/restore", headers => { 'If-Match' => '"2"' });
is_problem($r, 412, 'restore with If-Match of an old version is 412');
$r = api($alice, POST => "$path/restore", headers => { 'If-Match' => '"3"' });
is_json_response($r, 200, 'restore with If-Match of the deleted version is 200');
is($r->{headers}{etag}, '"4"', '  with the new version\'s ETag');
is_deeply({ %{ $r->{json} }, updatedAt => undef }, { %$patched, updatedAt => undef },
    '  and the patient as it was');
is(api($alice, GET => $path)->{status}, 200, 'GET of the restored patient is 200');
is($t->psql("SELECT op FROM patient_versions WHERE patient_id = $id AND version = 4"),
    'restore', 'the restore is version 4');
$r = api($alice, POST => "$path/restore");
is_problem($r, 409, 'restoring a patient that is not deleted is 409');
like($r->{json}{detail} // '', qr/is not deleted/, '  which the detail says');
is_problem(api($alice, POST => '/api/patients/999999999/restore'), 404,
    'restoring a patient that never was is 404');
is_problem(api($bob, POST => "$path/restore"), 404, "restoring another user's is 404");

###############################################################################
# Every write keeps a version, whatever makes it: even SQL outside the
# service.

$t->psql("UPDATE patients SET address = 'by hand' WHERE id = $id");
is($t->psql("SELECT version || ' ' || op || ' ' || address FROM patient_versions "
    . "WHERE patient_id = $id ORDER BY version DESC LIMIT 1"), '5 update by hand',
    'an UPDATE made by hand is version 5, kept by the trigger');
is(api($alice, GET => $path)->{headers}{etag}, '"5"', 'and the ETag says so');

###############################################################################
# Paging: newest first by default, rel="next" to the end, ascending on
# request, counted with Prefer: count=exact.

for my $age (50 .. 54) {
	ok_json(api($alice, PATCH => $path, json => { age => $age }), 200, 'patch');
}
is_deeply(walk($alice, "$path/history?limit=3"), [ reverse 1 .. 10 ],
    'walking rel="next" with limit=3 gives versions 10 down to 1, each once');
is_deeply(walk($alice, "$path/history?limit=4&sort=version"), [ 1 .. 10 ],
    'sort=version gives them oldest first');
$r = api($alice, GET => "$path/history?limit=1", headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 10, 'Prefer: count=exact counts the versions');
is_problem(api($alice, GET => "$path/history?sort=name"), 400,
    'a sort history does not have is 400');

###############################################################################
# Audit: history reads, a read of a deleted record and a restore.

my $q = api($alice, POST => '/api/patients', json => { name => 'Hist Audit' });
my $qid = $q->{json}{id};
api($alice, DELETE => "/api/patients/$qid");
api($alice, GET => "/api/patients/$qid");
api($alice, GET => "/api/patients/$qid/history");
api($alice, GET => "/api/patients/$qid/history/1");
api($alice, POST => "/api/patients/$qid/restore");
$r = api($alice, GET => "/api/audit?resourceType=patient&resourceId=$qid&sort=id");
is_deeply([ map { "$_->{action} $_->{status}" } @{ $r->{json} // [] } ],
    [ 'create 201', 'delete 204', 'read 410', 'history 200', 'history 200',
    'restore 200' ], 'the trail: create, delete, the read that was 410, two '
    . 'history reads, restore');
$r = api($alice, GET => '/api/audit?action=history&limit=1');
is($r->{json}[0]{resourceId}, $qid, '?action=history finds the history reads');

###############################################################################
# Idempotency-Key on restore.

api($alice, DELETE => "/api/patients/$qid");
my $key = "restore-$qid";
my $first = api($alice, POST => "/api/patients/$qid/restore",
    headers => { 'Idempotency-Key' => $key });
is($first->{status}, 200, 'restore with an Idempotency-Key is 200');
my $again = api($alice, POST => "/api/patients/$qid/restore",
    headers => { 'Idempotency-Key' => $key });
is($again->{status}, 200, 'the same key again is 200 ...');
is($again->{headers}{'idempotency-replayed'}, 'true', '  replayed');
is($again->{body}, $first->{body}, '  with the first body');
ok(!defined $again->{headers}{location}, '  and no Location');
is(api($alice, GET => "/api/patients/$qid")->{headers}{etag}, $first->{headers}{etag},
    'the replay restored nothing twice');
is_problem(api($alice, POST => "/api/patients/$id/restore",
    headers => { 'Idempotency-Key' => $key }), 422,
    'the key on another restore is 422');
api($alice, DELETE => "/api/patients/$qid");
is_problem(api($alice, POST => "/api/patients/$qid/restore",
    headers => { 'Idempotency-Key' => $key }), 410,
    'once the record is deleted again, the key has forgotten it: 410');

###############################################################################
# The restore window: a patient deleted longer ago than RESTORE_DAYS (30)
# can no longer be restored.  The deletion is moved back in the database,
# triggers off, so that the test does not wait a month.

my $old = ok_json(api($alice, POST => '/api/patients', json => { name => 'Hist Old' }),
    201, 'create');
api($alice, DELETE => "/api/patients/$old->{id}");
$t->psql("SET session_replication_role = replica; UPDATE patients "
    . "SET deleted_at = now() - interval '31 days' WHERE id = $old->{id}");
$r = api($alice, GET => "/api/patients/$old->{id}");
is_problem($r, 410, 'a patient deleted 31 days ago is 410');
like($r->{json}{detail} // '', qr/was deleted and could be restored until /,
    '  and could be restored until a day that has passed');
$r = api($alice, POST => "/api/patients/$old->{id}/restore");
is_problem($r, 410, 'its restore is 410');
$t->psql("SET session_replication_role = replica; UPDATE patients "
    . "SET deleted_at = now() - interval '29 days' WHERE id = $old->{id}");
is(api($alice, POST => "/api/patients/$old->{id}/restore")->{status}, 200,
    'one deleted 29 days ago is restored');

###############################################################################
# Doctors: the same, for every signed-in user; history needs a token.

my $d = ok_json(api($alice, POST => '/api/doctors', json => { name => 'Dr. Hist',
    specialization => 'Archives' }), 201, 'doctor');
my $dp = "/api/doctors/$d->{id}";
ok_json(api($bob, PATCH => $dp, json => { contactInfo => 'room 9' }), 200, 'patch');
is(api($bob, DELETE => $dp)->{status}, 204, 'another user deletes the doctor: 204');
is_problem($t->request(GET => $dp), 410, 'GET of the deleted doctor is 410, even without a token');
$h = api($alice, GET => "$dp/history");
is_deeply([ map { "$_->{version} $_->{op} $_->{by}" } @{ $h->{json} // [] } ],
    [ "3 delete $bob->{id}", "2 update $bob->{id}", "1 create $alice->{id}" ],
    "a doctor's history: who did what, newest first");
is($h->{json}[1]{record}{contactInfo}, 'room 9', 'version 2 holds the change');
is_json_response(api($bob, GET => "$dp/history/1"), 200, 'one version, by any user');
is_problem($t->request(GET => "$dp/history"), 401, "a doctor's history needs a token");
$r = api($alice, POST => "$dp/restore");
is_json_response($r, 200, 'any user restores the doctor: 200');
is($r->{json}{contactInfo}, 'room 9', '  as it was deleted');
ok(grep({ $_->{id} == $d->{id} } @{ $t->request(GET => '/api/doctors?q=Hist&limit=200')->{json} // [] }),
    'the restored doctor is in the list again');

###############################################################################
# medrec --purge: what was deleted more than RESTORE_DAYS ago goes for
# good, with its versions, mappings and idempotency keys; one audit event
# says what went.  Deletions are moved back in the database, as above.

my $gone_p = ok_json(api($alice, POST => '/api/patients', json => { name => 'Purge Me' },
    headers => { 'Idempotency-Key' => 'purge-me' }), 201, 'create');
my $kept_p = ok_json(api($alice, POST => '/api/patients', json => { name => 'Keep Me' }),
    201, 'create');
my $gone_d = ok_json(api($alice, POST => '/api/doctors', json => { name => 'Dr. Purge',
    specialization => 'Leaving' }), 201, 'doctor');
ok_json(api($alice, POST => '/api/mappings', json => { patientId => 0 + $gone_p->{id},
    doctorId => 0 + $gone_d->{id} }), 201, 'mapping');
my $stays = ok_json(api($alice, POST => '/api/mappings', json => {
    patientId => 0 + $kept_p->{id}, doctorId => 0 + $gone_d->{id} }), 201, 'mapping');
for my $del ("/api/patients/$gone_p->{id}", "/api/patients/$kept_p->{id}",
    "/api/doctors/$gone_d->{id}") {
	is(api($alice, DELETE => $del)->{status}, 204, "(DELETE $del)");
}
$t->psql("SET session_replication_role = replica; "
    . "UPDATE patients SET deleted_at = now() - interval '31 days' WHERE id = $gone_p->{id}; "
    . "UPDATE patients SET deleted_at = now() - interval '29 days' WHERE id = $kept_p->{id}; "
    . "UPDATE doctors SET deleted_at = now() - interval '31 days' WHERE id = $gone_d->{id}");

$r = purge();
is($r->{status}, 0, 'medrec --purge exits 0') or diag("$r->{out}$r->{err}");
like("$r->{out}$r->{err}", qr/purge: removed 1 patients and 1 doctors deleted more than 30 days ago/,
    '  and says what it removed');

is_problem(api($alice, GET => "/api/patients/$gone_p->{id}"), 404,
    'the patient deleted 31 days ago is 404: no longer there');
is_problem(api($alice, GET => "/api/patients/$gone_p->{id}/history"), 404,
    '  nor is its history');
is_problem(api($alice, GET => "/api/patients/$gone_p->{id}/export"), 404,
    '  nor its export');
is($t->psql("SELECT (SELECT count(*) FROM patient_versions WHERE patient_id = $gone_p->{id}) "
    . "|| ' ' || (SELECT count(*) FROM patient_doctors WHERE patient_id = $gone_p->{id}) "
    . "|| ' ' || (SELECT count(*) FROM idempotency_keys WHERE location = "
    . "'/api/patients/$gone_p->{id}')"), '0 0 0',
    '  the database holds none of its versions, mappings or idempotency keys');
is_problem(api($alice, GET => "/api/patients/$kept_p->{id}"), 410,
    'the one deleted 29 days ago is still 410');
is_problem($t->request(GET => "/api/doctors/$gone_d->{id}"), 404,
    'the doctor deleted 31 days ago is 404');
is($t->psql("SELECT count(*) FROM patient_doctors WHERE id = $stays->{id}"), 0,
    "  and its mapping to another patient went with it");
is($t->psql("SELECT count(*) FROM doctor_versions WHERE doctor_id = $gone_d->{id}"), 0,
    '  with its versions');
is($t->psql("SELECT action || ' ' || resource_type || ' ' || outcome || ' ' || "
    . "coalesce(user_id::text, 'none') || ' ' || detail FROM audit_events "
    . "WHERE action = 'purge' ORDER BY id DESC LIMIT 1"),
    "purge service purged none {\"restoreDays\" : 30, \"patients\" : [$gone_p->{id}], "
    . "\"doctors\" : [$gone_d->{id}], \"auditRetentionDays\" : 2190, "
    . "\"auditMonths\" : []}",
    'one audit event, the service\'s own, lists what the purge removed');
is($t->psql("SELECT count(*) FROM audit_events WHERE resource_id IN "
    . "($gone_p->{id}, $gone_d->{id}) AND action = 'delete' AND at > now() - interval '1 minute' "
    . "AND user_id IS NULL"), 0, '  and the removed rows recorded no events of their own');

$r = purge();
like("$r->{out}$r->{err}", qr/removed 0 patients and 0 doctors/,
    'a second purge finds nothing more');

###############################################################################
# An upgrade: records made before migration 007 get their current state as
# their first version.  A stack migrated to 006, rows made there, then the
# tree's migrations applied by medrec --migrate, as a deployment does.

my $old_dir = File::Temp::tempdir('medrec-mig006-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $f (glob(Medrec::Stack::top() . '/db/migrations/00[1-6]_*.sql')) {
	File::Copy::copy($f, $old_dir) or die "copy $f: $!\n";
}
my $up = Medrec::Stack->new(env => { MIGRATIONS_DIR => $old_dir });
$up->psql(q{
INSERT INTO users (name, email, password_hash)
VALUES ('Old', 'old@example.org', '$2b$04$' || repeat('a', 53));
INSERT INTO patients (user_id, name) SELECT id, 'Before ' || g FROM users, generate_series(1, 2) g;
UPDATE patients SET age = 70, version = 2 WHERE name = 'Before 1';
INSERT INTO doctors (created_by, name, specialization) SELECT id, 'Dr. Before', 'Old' FROM users;
});
$r = Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path(), '--migrate' ], timeout => 60,
    env => Medrec::Stack::clean_env(DATABASE_URL => $up->database_url,
    MIGRATION_DATABASE_URL => $up->migration_url,
    MIGRATIONS_DIR => Medrec::Stack::top() . '/db/migrations'));
like("$r->{out}$r->{err}", qr/migration 007_history\.sql applied/, 'medrec --migrate applies 007 to a database of 006');
is($up->psql("SELECT string_agg(p.name || ' v' || v.version || ' ' || v.op || ' ' || "
    . "coalesce(v.age::text, '-'), ', ' ORDER BY p.name) FROM patient_versions v "
    . "JOIN patients p ON p.id = v.patient_id"),
    'Before 1 v2 update 70, Before 2 v1 create -',
    'each patient made before it has its current state as its first version');
is($up->psql("SELECT version || ' ' || op FROM doctor_versions"), '1 create',
    '  and so has each doctor');
$up->psql("UPDATE patients SET age = 71 WHERE name = 'Before 1'");
is($up->psql("SELECT max(v.version) FROM patient_versions v JOIN patients p ON p.id = v.patient_id "
    . "WHERE p.name = 'Before 1'"), 3, 'the next write is version 3');
$up->finish;

done_testing();
