#!/usr/bin/perl
# Defence in depth below the API (db/migrations/002_security.sql): the
# service's database role sees and changes only the rows of the user a
# request runs as (row-level security on patients, mappings and audit
# events), owns nothing, cannot change the schema or bypass the policies,
# and the audit trail is append-only, even for the tables' owner.
#
# The harness runs the pool as the login role "medrec", a member of
# medrec_app, and the migrations as "medrec_owner".  The SQL sessions here
# connect as those roles themselves, the way the service and the migrations
# do, over the stack's socket.  Everything reads only rows of users this
# file made, so it runs on the shared stack.

use strict;
use warnings;

use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;

my $APP = 'medrec';		# the pool's login role
my $APP_GROUP = 'medrec_app';	# what it is a member of
my $OWNER = 'medrec_owner';	# the tables' owner, who runs the migrations

###############################################################################
# Helpers that die or run SQL (not tests).

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# make($user, $path, $body): POSTs; returns the new record's id.
# This is not a test.  It die()s on failure.
sub make {
	my ($u, $path, $body) = @_;
	my $r = api($u, POST => $path, json => $body);
	die "POST $path: " . show_response($r)
	    unless $r->{status} == 201 && $r->{json}{id};
	return $r->{json}{id};
}

# sql_as($url, $sql): runs $sql in one psql session connected with $url
# (stops at the first error); returns { ok, out, err }.  Dies only when
# psql cannot run.
sub sql_as {
	my ($url, $sql) = @_;
	my $pgbin = $t->{pgbin} // Medrec::Stack::pgbin();
	my $r = Medrec::Stack::run_cmd(stdin => $sql, cmd => [ "$pgbin/psql",
	    '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', $url,
	    '-f', '-' ], env => Medrec::Stack::clean_env());
	die "psql did not finish: $r->{err}\n" if $r->{timed_out};
	chomp(my $out = $r->{out});
	return { ok => $r->{status} == 0, out => $out, err => $r->{err} };
}

# as_app($user_id, $sql): $sql as the service's role, in a session whose
# app.user_id is $user_id (undef: not set at all).
sub as_app {
	my ($uid, $sql) = @_;
	my $set = defined $uid ?
	    "SELECT set_config('app.user_id', '$uid', false) \\g /dev/null\n" :
	    '';
	return sql_as($t->database_url, $set . $sql);
}

# as_owner($user_id, $sql): the same as the tables' owner.  Its ALTER
# TABLE and TRUNCATE lock audit_events, which the other files on the shared
# stack write to: they give up rather than queue for long.
sub as_owner {
	my ($uid, $sql) = @_;
	my $set = "SET lock_timeout = '5s';\n";
	$set .= "SELECT set_config('app.user_id', '$uid', false) \\g /dev/null\n"
	    if defined $uid;
	return sql_as($t->migration_url, $set . $sql);
}

# A row as the superuser sees it, for before-and-after comparisons.
sub row_of {
	my ($sql) = @_;
	return $t->psql($sql);
}

###############################################################################
# Tests that assert on sql_as() results.

# gives($res, $expected, $name): the session succeeded and printed $expected.
sub gives {
	my ($res, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	if (!$res->{ok}) {
		fail($name);
		diag("the session failed: $res->{err}");
		return 0;
	}
	return is($res->{out}, $want, $name);
}

# refused($res, $re, $name): the session failed with an error matching $re.
sub refused {
	my ($res, $re, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $ok = !$res->{ok} && $res->{err} =~ $re;
	ok($ok, $name) or diag($res->{ok} ? "it succeeded, printing "
	    . "\"$res->{out}\"" : "it failed otherwise: $res->{err}");
	return $ok;
}

# changes_nothing($res, $name): the statement (which prints the number of
# rows it changed) either printed 0 or was refused as append-only.
sub changes_nothing {
	my ($res, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	ok($res->{ok} ? $res->{out} eq '0' :
	    $res->{err} =~ /audit_events is append-only/, $name)
	    or diag($res->{ok} ? "it changed $res->{out} rows" :
	    "it failed otherwise: $res->{err}");
}

###############################################################################
# Two users with records made through the API.

my $alice = $t->new_user;
my $bob = $t->new_user;
my $doc = make($alice, '/api/doctors', { name => 'Dr. RLS',
    specialization => 'Row Security' });
my @a_pat = map { make($alice, '/api/patients', { name => "A patient $_",
    age => 30 + $_ }) } 1 .. 2;
my @a_map = map { make($alice, '/api/mappings', { patientId => 0 + $_,
    doctorId => 0 + $doc }) } @a_pat;
my $b_pat = make($bob, '/api/patients', { name => 'B patient' });
my $b_map = make($bob, '/api/mappings', { patientId => 0 + $b_pat,
    doctorId => 0 + $doc });
my $a_ids = join ', ', @a_pat;
my $a_map_ids = join ', ', @a_map;

my $a_rows_sql = "SELECT string_agg(id || ':' || name || ':' || age || ':' "
    . "|| version, ',' ORDER BY id) FROM patients WHERE user_id = $alice->{id}";
my $a_maps_sql = "SELECT string_agg(id || ':' || patient_id || ':' || "
    . "doctor_id, ',' ORDER BY id) FROM patient_doctors WHERE user_id = "
    . "$alice->{id}";
my $a_rows = row_of($a_rows_sql);
my $a_maps = row_of($a_maps_sql);
is(scalar(split /,/, $a_rows), 2, "the superuser sees A's two patients");
is(scalar(split /,/, $a_maps), 2, "the superuser sees A's two mappings");

###############################################################################
# What a session of the service's role sees as user B.

gives(as_app($bob->{id}, "SELECT count(*) FROM patients WHERE user_id = "
    . "$alice->{id}"), 0, "as B, the service's role counts none of A's patients");
gives(as_app($bob->{id}, "SELECT count(*) FROM patients WHERE id IN ($a_ids)"),
    0, "as B, the service's role selects none of A's patients by id");
gives(as_app($bob->{id}, 'SELECT string_agg(id::text, \',\') FROM patients'),
    $b_pat, "as B, the service's role sees exactly B's patient");
gives(as_app($bob->{id}, "SELECT count(*) FROM patient_doctors WHERE user_id "
    . "= $alice->{id}"), 0, "as B, the service's role counts none of A's "
    . 'mappings');
gives(as_app($bob->{id}, "SELECT count(*) FROM patient_doctors WHERE id IN "
    . "($a_map_ids) OR patient_id IN ($a_ids)"), 0,
    "as B, the service's role selects none of A's mappings by id");
gives(as_app($bob->{id}, 'SELECT string_agg(id::text, \',\') FROM '
    . 'patient_doctors'), $b_map, "as B, the service's role sees exactly "
    . "B's mapping");
gives(as_app($bob->{id}, "SELECT count(*) FROM audit_events WHERE user_id = "
    . "$alice->{id}"), 0, "as B, the service's role sees none of A's audit "
    . 'events');
gives(as_app($bob->{id}, "SELECT count(*) FROM audit_events WHERE user_id <> "
    . "$bob->{id} OR user_id IS NULL"), 0, "as B, the service's role sees "
    . "only B's own audit events");

# Writes to A's rows affect nothing.
gives(as_app($bob->{id}, "WITH u AS (UPDATE patients SET name = 'stolen', "
    . "age = 99 WHERE id IN ($a_ids) RETURNING 1) SELECT count(*) FROM u"),
    0, "as B, an UPDATE of A's patients affects 0 rows");
gives(as_app($bob->{id}, "WITH u AS (UPDATE patients SET name = 'stolen' "
    . "RETURNING id) SELECT string_agg(id::text, ',') FROM u"), $b_pat,
    "as B, an UPDATE without WHERE reaches only B's patient");
gives(as_app($bob->{id}, "WITH d AS (DELETE FROM patients WHERE id IN "
    . "($a_ids) RETURNING 1) SELECT count(*) FROM d"), 0,
    "as B, a DELETE of A's patients affects 0 rows");
gives(as_app($bob->{id}, "WITH u AS (UPDATE patient_doctors SET doctor_id = "
    . "doctor_id WHERE id IN ($a_map_ids) RETURNING 1) SELECT count(*) "
    . 'FROM u'), 0, "as B, an UPDATE of A's mappings affects 0 rows");
gives(as_app($bob->{id}, "WITH d AS (DELETE FROM patient_doctors WHERE id IN "
    . "($a_map_ids) RETURNING 1) SELECT count(*) FROM d"), 0,
    "as B, a DELETE of A's mappings affects 0 rows");
is(row_of($a_rows_sql), $a_rows, "A's patients are unchanged afterwards");
is(row_of($a_maps_sql), $a_maps, "A's mappings are unchanged afterwards");
is(row_of("SELECT name FROM patients WHERE id = $b_pat"), 'stolen',
    "(B's own patient was renamed: the UPDATE did run)");

# Rows for A cannot be made as B.
refused(as_app($bob->{id}, "INSERT INTO patients (user_id, name) VALUES "
    . "($alice->{id}, 'planted')"), qr/row-level security/,
    "as B, INSERT of a patient with A's user_id fails WITH CHECK");
refused(as_app($bob->{id}, "UPDATE patients SET user_id = $alice->{id} WHERE id = "
    . "$b_pat"), qr/row-level security/,
    "as B, handing B's patient over to A fails WITH CHECK");
refused(as_app($bob->{id}, "INSERT INTO patient_doctors (patient_id, user_id, "
    . "doctor_id) VALUES ($a_pat[0], $alice->{id}, $doc)"),
    qr/row-level security/,
    "as B, INSERT of a mapping with A's user_id fails WITH CHECK");
is(row_of("SELECT count(*) FROM patients WHERE name = 'planted' AND user_id "
    . "= $alice->{id}"), 0, 'no patient was planted for A');
is(row_of("SELECT user_id FROM patients WHERE id = $b_pat"), $bob->{id},
    "B's patient still belongs to B");

###############################################################################
# Without app.user_id, nothing.

gives(as_app(undef, 'SELECT count(*) FROM patients'), 0,
    'with app.user_id unset the service\'s role sees no patient at all');
gives(as_app(undef, 'SELECT count(*) FROM patient_doctors'), 0,
    'with app.user_id unset the service\'s role sees no mapping at all');
gives(as_app(undef, 'SELECT count(*) FROM audit_events'), 0,
    'with app.user_id unset the service\'s role sees no audit event at all');
gives(as_app('', 'SELECT count(*) FROM patients'), 0,
    'with app.user_id empty the service\'s role sees no patient at all');
gives(as_app(undef, "WITH d AS (DELETE FROM patients RETURNING 1) "
    . 'SELECT count(*) FROM d'), 0,
    'with app.user_id unset a DELETE of every patient affects 0 rows');
refused(as_app(undef, "INSERT INTO patients (user_id, name) VALUES "
    . "($alice->{id}, 'planted')"), qr/row-level security/,
    'with app.user_id unset INSERT of a patient fails WITH CHECK');
refused(as_app($bob->{id}, "SET row_security = off;\n"
    . 'SELECT count(*) FROM patients'), qr/row-level security/,
    'the service\'s role cannot turn row_security off to read around it');

###############################################################################
# What the service's role may not do at all.

my $ev = row_of("SELECT max(id) FROM audit_events WHERE user_id = $bob->{id}");
my $ev_row_sql = "SELECT id || ':' || action || ':' || outcome || ':' || "
    . "coalesce(request_id, '') FROM audit_events WHERE user_id = $bob->{id} "
    . 'ORDER BY id';
my $b_events = row_of($ev_row_sql);
ok(length $ev, 'B has audit events to tamper with') or diag($ev);
refused(as_app($bob->{id}, "UPDATE audit_events SET outcome = 'found' WHERE id = "
    . $ev), qr/permission denied for table audit_events/,
    'the service\'s role cannot UPDATE audit_events: permission denied');
refused(as_app($bob->{id}, "DELETE FROM audit_events WHERE id = $ev"),
    qr/permission denied for table audit_events/,
    'the service\'s role cannot DELETE from audit_events: permission denied');
refused(as_app($bob->{id}, 'TRUNCATE audit_events'),
    qr/permission denied for table audit_events/,
    'the service\'s role cannot TRUNCATE audit_events: permission denied');
is(row_of($ev_row_sql), $b_events, "B's audit events are unchanged");

refused(as_app(undef, 'ALTER TABLE patients DISABLE ROW LEVEL SECURITY'),
    qr/must be owner of table patients/,
    'the service\'s role cannot ALTER TABLE patients');
refused(as_app(undef, 'ALTER TABLE patients NO FORCE ROW LEVEL SECURITY'),
    qr/must be owner of table patients/,
    'the service\'s role cannot lift FORCE ROW LEVEL SECURITY');
refused(as_app(undef, 'DROP POLICY patients_owner ON patients'),
    qr/must be owner of (?:table|relation) patients/,
    'the service\'s role cannot drop a policy');
refused(as_app(undef, 'DROP TABLE audit_events'),
    qr/must be owner of table audit_events/,
    'the service\'s role cannot DROP TABLE');
refused(as_app(undef, 'CREATE TABLE public.medrec_rls_probe (i int)'),
    qr/permission denied for schema public/,
    'the service\'s role cannot CREATE TABLE in public');
refused(as_app(undef, 'CREATE FUNCTION public.medrec_rls_probe() RETURNS '
    . 'int LANGUAGE sql AS $$ SELECT 1 $$'),
    qr/permission denied for schema public/,
    'the service\'s role cannot CREATE FUNCTION in public');
refused(as_app(undef, "SET ROLE $OWNER"), qr/permission denied/,
    'the service\'s role cannot SET ROLE to the tables\' owner');
is(row_of("SELECT count(*) FROM pg_class WHERE relname = "
    . "'medrec_rls_probe'"), 0, 'nothing was created');

my $roles = row_of("SELECT string_agg(rolname || ':' || rolsuper || ':' || "
    . "rolbypassrls, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN "
    . "('$APP', '$APP_GROUP')");
is($roles, "$APP:false:false,$APP_GROUP:false:false", 'pg_roles: neither the service\'s '
    . 'role nor medrec_app is a superuser or has BYPASSRLS');
is(row_of("SELECT count(*) FROM pg_auth_members m JOIN pg_roles g ON g.oid "
    . "= m.roleid WHERE m.member = '$APP'::regrole AND (g.rolsuper OR "
    . "g.rolbypassrls OR g.rolname = '$OWNER')"), 0,
    'the service\'s role inherits from no superuser, BYPASSRLS or owner role');
is(row_of("SELECT count(*) FROM pg_tables WHERE tableowner IN ('$APP', "
    . "'$APP_GROUP')"), 0, 'pg_tables: the service\'s role owns no table');
is(row_of("SELECT count(*) FROM pg_class c WHERE c.relowner IN "
    . "('$APP'::regrole, '$APP_GROUP'::regrole)"), 0,
    'the service\'s role owns no relation of any kind');
is(row_of("SELECT string_agg(tablename || ':' || tableowner, ',' ORDER BY "
    . "tablename) FROM pg_tables WHERE tablename IN ('users', 'patients', "
    . "'doctors', 'patient_doctors', 'audit_events')"),
    join(',', map { "$_:$OWNER" } qw(audit_events doctors patient_doctors
    patients users)), "the records' tables belong to $OWNER");
is(row_of("SELECT string_agg(relname || ':' || relrowsecurity || ':' || "
    . "relforcerowsecurity, ',' ORDER BY relname) FROM pg_class WHERE "
    . "relname IN ('patients', 'patient_doctors', 'audit_events') AND "
    . "relkind IN ('r', 'p')"),
    'audit_events:true:true,patient_doctors:true:true,patients:true:true',
    'patients, patient_doctors and audit_events have row-level security '
    . 'enabled and forced');

###############################################################################
# The audit trail is append-only for its owner too.

# No policy lets the owner UPDATE or DELETE (0 rows); were one added, the
# trigger would refuse instead.  Either way nothing changes.
changes_nothing(as_owner($bob->{id}, "WITH u AS (UPDATE audit_events SET "
    . "outcome = 'found' WHERE user_id = $bob->{id} RETURNING 1) SELECT count(*) "
    . 'FROM u'), "the owner's UPDATE of audit rows changes nothing");
changes_nothing(as_owner($bob->{id}, "WITH d AS (DELETE FROM audit_events "
    . "WHERE user_id = $bob->{id} RETURNING 1) SELECT count(*) FROM d"),
    "the owner's DELETE of audit rows removes nothing");
refused(as_owner($bob->{id}, "BEGIN;\nALTER TABLE audit_events NO FORCE ROW "
    . "LEVEL SECURITY;\nUPDATE audit_events SET outcome = 'found' WHERE id = $ev;"
    . "\nROLLBACK;"), qr/audit_events is append-only/,
    'even with row-level security lifted, the owner cannot UPDATE an audit '
    . 'row (the append-only trigger)');
refused(as_owner($bob->{id}, "BEGIN;\nALTER TABLE audit_events NO FORCE ROW "
    . "LEVEL SECURITY;\nDELETE FROM audit_events WHERE id = $ev;\n"
    . 'ROLLBACK;'), qr/audit_events is append-only/,
    'even with row-level security lifted, the owner cannot DELETE an audit '
    . 'row (the append-only trigger)');
refused(as_owner($bob->{id}, 'TRUNCATE audit_events'),
    qr/audit_events is append-only/,
    'the owner cannot TRUNCATE audit_events (the append-only trigger)');
is(row_of($ev_row_sql), $b_events, "B's audit events are still unchanged");
is(row_of("SELECT relforcerowsecurity FROM pg_class WHERE relname = "
    . "'audit_events' AND relkind = 'p'"), 't',
    'audit_events still forces row-level security');

###############################################################################
# Black box: B's token never reveals A's rows.

is_problem(api($bob, GET => "/api/patients/$a_pat[0]"), 404,
    "GET of A's patient with B's token is 404");
my $list = api($bob, GET => '/api/patients?limit=200');
my %seen = map { $_->{id} => 1 } @{ ref $list->{json} eq 'ARRAY' ?
    $list->{json} : [] };
ok($list->{status} == 200 && $seen{$b_pat} && !(grep { $seen{$_} } @a_pat),
    "B's list of patients holds B's patient and none of A's")
    or diag(show_response($list));

done_testing();
