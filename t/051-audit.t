#!/usr/bin/perl
# The audit trail (API.md "Audit trail", "Collections", "Authentication"):
# every audited action records exactly one event with the right action,
# resource, status, request id and client address, seen both through
# GET /api/audit and in the audit_events table; doctor reads are not
# audited; a failed write records nothing; GET /api/audit shows a user only
# their own events, newest first, paged, filtered and counted like every
# list.
#
# The shared stack is shared with other test files running in parallel:
# everything here looks only at the events of users this file made, or at
# rows with a request id this file sent.

use strict;
use warnings;

use Test::More;
use Time::Local qw(timegm);

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;

my $TIME_RE = qr/^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.\d{3}Z$/;
my @EVENT_KEYS = sort qw(id at action resourceType resourceId status
    requestId clientAddress);
my $MISSING = 9_000_000_000_000;	# no record has this id
my @LETTERS = ('a' .. 'z', '0' .. '9');
my $TAG = join '', map { $LETTERS[int rand @LETTERS] } 1 .. 10;
my $seq = 0;

###############################################################################
# Helpers that die or compute (not tests).

# A fresh request id of this run.
sub rid {
	return sprintf('audit51-%s-%d', $TAG, ++$seq);
}

# call($user or undef, $method, $path, %request options): a request with a
# fresh X-Request-Id (and the user's token); returns ($response, $rid).
sub call {
	my ($u, $method, $path, %o) = @_;
	my $rid = rid();
	my $r = $t->request($method, $path, %o,
	    headers => { %{ $o{headers} // {} }, 'X-Request-Id' => $rid },
	    $u ? (token => $u->{token}) : ());
	return ($r, $rid);
}

sub sql_str {
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

# The HTTP status of each outcome the trail records in data terms (db/audit.h),
# as GET /api/audit shows it.
my %STATUS_OF = (found => 200, unchanged => 304, absent => 404,
    created => 201, updated => 200, deleted => 204, granted => 200,
    denied => 401, throttled => 429, revoked => 204, changed => 204);

# The rows of audit_events with request id $rid, as the superuser sees
# them: [ { user_id, email, action, resource_type, resource_id, status,
# client_address }, ... ] ('' for NULL), status from the row's outcome.
sub db_rows {
	my ($rid) = @_;
	my $out = $t->psql("SELECT coalesce(user_id::text, ''), "
	    . "coalesce(email, ''), action, resource_type, "
	    . "coalesce(resource_id::text, ''), outcome, "
	    . "coalesce(client_address, '') FROM audit_events WHERE "
	    . 'request_id = ' . sql_str($rid) . ' ORDER BY id');
	my @rows;
	for my $line (grep { length } split /\n/, $out) {
		my %r;
		@r{qw(user_id email action resource_type resource_id status
		    client_address)} = split /\|/, $line, -1;
		$r{status} = $STATUS_OF{$r{status}} // "outcome $r{status}";
		push @rows, \%r;
	}
	return \@rows;
}

# All of a user's events through GET /api/audit (they have fewer than 200).
# Dies unless the answer is a 200 array.
sub events_of {
	my ($u, $query) = @_;
	my $r = $t->request(GET => '/api/audit?limit=200' .
	    (defined $query ? "&$query" : ''), token => $u->{token});
	die "GET /api/audit: " . show_response($r)
	    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
	return $r->{json};
}

# The ids of a user's events as the superuser sees them, newest first.
sub db_event_ids {
	my ($u, $where) = @_;
	return [ split /\n/, $t->psql("SELECT id FROM audit_events WHERE "
	    . "user_id = $u->{id}" . (defined $where ? " AND $where" : '')
	    . ' ORDER BY id DESC') ];
}

sub epoch_of {
	my ($ts) = @_;
	my @p = $ts =~ $TIME_RE or return undef;
	return timegm($p[5], $p[4], $p[3], $p[2], $p[1] - 1, $p[0]);
}

# The targets of a Link header by rel.
sub links {
	my ($r) = @_;
	my %l;
	for my $lv (split /,\s*(?=<)/, $r->{headers}{link} // '') {
		$l{$2} = $1 if $lv =~ m{^<([^>]*)>\s*;\s*rel="(\w+)"$};
	}
	return \%l;
}

# A user registered with a request id of ours: { id, email, password, token,
# rid, res (the response) }.  This is not a test.  It die()s on failure.
sub register {
	my ($name) = @_;
	my %u = (email => "audit-$TAG-" . ++$seq . '@example.org',
	    password => "pw $TAG secret $seq");
	$t->remember_secret($u{password});
	my ($r, $rid) = call(undef, POST => '/api/auth/register', json => {
	    name => $name, email => $u{email}, password => $u{password} });
	die "register: " . show_response($r) unless $r->{status} == 201;
	$t->remember_secret($r->{json}{token});
	@u{qw(id token rid res)} = ($r->{json}{user}{id}, $r->{json}{token},
	    $rid, $r);
	return \%u;
}

# login($user): a fresh token; ($response, $rid).  Dies unless 200.
sub login {
	my ($u) = @_;
	my ($r, $rid) = call(undef, POST => '/api/auth/login',
	    json => { email => $u->{email}, password => $u->{password} });
	die "login: " . show_response($r) unless $r->{status} == 200;
	$t->remember_secret($r->{json}{token});
	return ($r, $rid);
}

# make($user, $path, $body): POSTs; returns the record's id.
sub make {
	my ($u, $path, $body) = @_;
	my ($r) = call($u, POST => $path, json => $body);
	die "POST $path: " . show_response($r) unless $r->{status} == 201;
	return $r->{json}{id};
}

###############################################################################
# Helpers that assert.

# audited($response, $rid, \%want, $name): the request has exactly one
# audit row, with the fields of %want: action, resource_type, resource_id
# (undef: NULL), status, user (the user whose event it is; undef: none),
# email (only checked when given); through psql and, for a user's event,
# through that user's GET /api/audit.  Two tests.
sub audited {
	my ($r, $rid, $want, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $u = $want->{user};
	my %w = (
		user_id		=> $u ? $u->{id} : '',
		action		=> $want->{action},
		resource_type	=> $want->{resource_type},
		resource_id	=> $want->{resource_id} // '',
		status		=> $want->{status},
		client_address	=> '127.0.0.1',
		exists $want->{email} ? (email => $want->{email} // '') : (),
	);
	my $rows = db_rows($rid);
	my @bad;
	push @bad, 'the request answered ' . $r->{status}
	    unless $r->{status} == $want->{status};
	push @bad, 'the request id came back as '
	    . ($r->{headers}{'x-request-id'} // '(none)')
	    unless ($r->{headers}{'x-request-id'} // '') eq $rid;
	if (@$rows != 1) {
		push @bad, scalar(@$rows) . " audit_events rows with request id $rid";
	} else {
		for my $k (sort keys %w) {
			push @bad, "audit_events.$k is '$rows->[0]{$k}', not '$w{$k}'"
			    unless $rows->[0]{$k} eq $w{$k};
		}
	}
	ok(!@bad, "$name: one audit_events row, as it should be")
	    or diag(join("\n", @bad) . "\n" . show_response($r));

	return unless $u;
	my $events = eval { events_of($u) };
	my @mine = grep { ($_->{requestId} // '') eq $rid } @{ $events // [] };
	@bad = ();
	if (!$events) {
		push @bad, "GET /api/audit failed: $@";
	} elsif (@mine != 1) {
		push @bad, scalar(@mine) . " events with requestId $rid";
	} else {
		my $e = $mine[0];
		my %api = (action => $w{action}, resourceType =>
		    $w{resource_type}, status => $w{status},
		    clientAddress => '127.0.0.1', requestId => $rid);
		for my $k (sort keys %api) {
			push @bad, "$k is " . ($e->{$k} // 'null') . ", not $api{$k}"
			    unless defined $e->{$k} && $e->{$k} eq $api{$k};
		}
		my $rid_want = $want->{resource_id};
		push @bad, 'resourceId is ' . ($e->{resourceId} // 'null')
		    . ', not ' . ($rid_want // 'null')
		    unless (defined $rid_want ? defined $e->{resourceId} &&
		    $e->{resourceId} eq $rid_want : !defined $e->{resourceId});
		push @bad, 'the members are ' . join(', ', sort keys %$e)
		    unless join(',', sort keys %$e) eq join(',', @EVENT_KEYS);
		my $at = epoch_of($e->{at} // '');
		push @bad, 'at is ' . ($e->{at} // 'null') . ', not RFC 3339 '
		    . 'UTC with milliseconds within a minute of now'
		    unless defined $at && abs($at - time) < 60;
		push @bad, 'id is not a positive integer'
		    unless ($e->{id} // '') =~ /^[1-9]\d*$/;
	}
	ok(!@bad, "$name: the same event in the user's GET /api/audit")
	    or diag(join("\n", @bad) . "\n" . $Medrec::Stack::JSON->encode(
	    \@mine));
}

# not_audited($response, $status, $rid, $name): the request answered
# $status and left no audit row at all.
sub not_audited {
	my ($r, $status, $rid, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $rows = db_rows($rid);
	ok($r->{status} == $status && !@$rows, $name) or diag(scalar(@$rows)
	    . " audit rows:\n" . $Medrec::Stack::JSON->encode($rows) . "\n"
	    . show_response($r));
}

###############################################################################
# Account events.

my $acct = register('Audit Account');
audited($acct->{res}, $acct->{rid}, { user => $acct, action => 'register',
    resource_type => 'user', resource_id => $acct->{id}, status => 201 },
    'register');

my ($r, $rid) = login($acct);
audited($r, $rid, { user => $acct, action => 'login', resource_type => 'user',
    resource_id => $acct->{id}, status => 200 }, 'login');

($r, $rid) = call(undef, POST => '/api/auth/login', json => {
    email => $acct->{email}, password => 'not the password at all' });
audited($r, $rid, { user => $acct, action => 'login_failed',
    resource_type => 'user', resource_id => $acct->{id}, status => 401,
    email => $acct->{email} }, 'login with a wrong password');

my $nobody = "nobody-$TAG\@example.org";
($r, $rid) = call(undef, POST => '/api/auth/login', json => {
    email => $nobody, password => 'whatever password' });
audited($r, $rid, { user => undef, action => 'login_failed',
    resource_type => 'user', resource_id => undef, status => 401,
    email => $nobody }, 'login with an unknown email (no user, the email '
    . 'kept)');

# A token to log out with, and one to keep.
my ($lr) = login($acct);
my $spare = { %$acct, token => $lr->{json}{token} };
($r, $rid) = call($spare, POST => '/api/auth/logout');
audited($r, $rid, { user => $acct, action => 'logout',
    resource_type => 'user', resource_id => $acct->{id}, status => 204 },
    'logout');

($r, $rid) = call($spare, GET => '/api/audit');
is_problem($r, 401, 'GET /api/audit with a logged-out token is 401 (the '
    . 'database refuses it)');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b.*invalid_token/,
    'and says WWW-Authenticate: Bearer error="invalid_token"');

($r, $rid) = call($acct, POST => '/api/auth/logout-all');
# Every token of the user is refused now: a new one reads the trail.
($lr) = login($acct);
$acct->{token} = $lr->{json}{token};
audited($r, $rid, { user => $acct, action => 'logout',
    resource_type => 'user', resource_id => $acct->{id}, status => 204 },
    'logout-all');

($r, $rid) = call($acct, PUT => '/api/auth/password', json => {
    currentPassword => 'not the password at all',
    newPassword => "new pw $TAG secret" });
audited($r, $rid, { user => $acct, action => 'login_failed',
    resource_type => 'user', resource_id => $acct->{id}, status => 401 },
    'a password change with a wrong current password (a failed login)');

$t->remember_secret("new pw $TAG secret");
($r, $rid) = call($acct, PUT => '/api/auth/password', json => {
    currentPassword => $acct->{password},
    newPassword => "new pw $TAG secret" });
audited($r, $rid, { user => $acct, action => 'password_change',
    resource_type => 'user', resource_id => $acct->{id}, status => 204 },
    'password change');
$acct->{password} = "new pw $TAG secret";

###############################################################################
# Patients.

my $alice = register('Audit Alice');
my $bob = register('Audit Bob');
my $bob_pat = make($bob, '/api/patients', { name => 'Bob audit patient' });

($r, $rid) = call($alice, POST => '/api/patients', json => {
    name => 'Audit Patient', age => 50 });
my $pid = $r->{json}{id};
audited($r, $rid, { user => $alice, action => 'create',
    resource_type => 'patient', resource_id => $pid, status => 201 },
    'patient create');

($r, $rid) = call($alice, GET => "/api/patients/$pid");
audited($r, $rid, { user => $alice, action => 'read',
    resource_type => 'patient', resource_id => $pid, status => 200 },
    'patient read');

($r, $rid) = call($alice, GET => "/api/patients/$MISSING");
audited($r, $rid, { user => $alice, action => 'read',
    resource_type => 'patient', resource_id => $MISSING, status => 404 },
    'read of a missing patient');

($r, $rid) = call($alice, GET => "/api/patients/$bob_pat");
audited($r, $rid, { user => $alice, action => 'read',
    resource_type => 'patient', resource_id => $bob_pat, status => 404 },
    "read of another user's patient");
ok(!grep({ ($_->{requestId} // '') eq $rid } @{ events_of($bob) }),
    "that failed read is not in the owner's (Bob's) trail");

($r, $rid) = call($alice, GET => '/api/patients');
audited($r, $rid, { user => $alice, action => 'list',
    resource_type => 'patient', resource_id => undef, status => 200 },
    'patient list');

($r, $rid) = call($alice, PUT => "/api/patients/$pid", json => {
    name => 'Audit Patient Renamed', age => 51 });
audited($r, $rid, { user => $alice, action => 'update',
    resource_type => 'patient', resource_id => $pid, status => 200 },
    'patient PUT');

($r, $rid) = call($alice, PATCH => "/api/patients/$pid", json => {
    age => 52 });
audited($r, $rid, { user => $alice, action => 'update',
    resource_type => 'patient', resource_id => $pid, status => 200 },
    'patient PATCH');

($r, $rid) = call($alice, PATCH => "/api/patients/$MISSING", json => {
    age => 52 });
not_audited($r, 404, $rid, 'PATCH of a missing patient is 404 and records '
    . 'no update (no row at all)');
($r, $rid) = call($alice, PATCH => "/api/patients/$bob_pat", json => {
    name => 'Not yours' });
not_audited($r, 404, $rid, "PATCH of another user's patient is 404 and "
    . 'records nothing');
is($t->psql("SELECT name FROM patients WHERE id = $bob_pat"),
    'Bob audit patient', "and Bob's patient is unchanged");
($r, $rid) = call($alice, DELETE => "/api/patients/$MISSING");
not_audited($r, 404, $rid, 'DELETE of a missing patient is 404 and records '
    . 'nothing');
($r, $rid) = call($alice, POST => '/api/patients', json => { age => 200 });
not_audited($r, 400, $rid, 'a POST that fails validation is 400 and '
    . 'records nothing');

###############################################################################
# Doctors: changes are audited, reads are not.

($r, $rid) = call($alice, POST => '/api/doctors', json => {
    name => "Dr. Audit $TAG", specialization => 'Audit' });
my $did = $r->{json}{id};
audited($r, $rid, { user => $alice, action => 'create',
    resource_type => 'doctor', resource_id => $did, status => 201 },
    'doctor create');

($r, $rid) = call($alice, PUT => "/api/doctors/$did", json => {
    name => "Dr. Audit $TAG", specialization => 'Auditing' });
audited($r, $rid, { user => $alice, action => 'update',
    resource_type => 'doctor', resource_id => $did, status => 200 },
    'doctor PUT');

($r, $rid) = call($alice, PATCH => "/api/doctors/$did", json => {
    contactInfo => 'room 51' });
audited($r, $rid, { user => $alice, action => 'update',
    resource_type => 'doctor', resource_id => $did, status => 200 },
    'doctor PATCH');

($r, $rid) = call($alice, GET => "/api/doctors/$did");
not_audited($r, 200, $rid, 'GET /api/doctors/:id is not audited');
($r, $rid) = call(undef, GET => "/api/doctors/$did");
not_audited($r, 200, $rid, 'GET /api/doctors/:id without a token is not '
    . 'audited');
($r, $rid) = call($alice, GET => '/api/doctors?specialization=Auditing');
not_audited($r, 200, $rid, 'GET /api/doctors is not audited');

###############################################################################
# Mappings.

($r, $rid) = call($alice, POST => '/api/mappings', json => {
    patientId => 0 + $pid, doctorId => 0 + $did });
my $mid = $r->{json}{id};
audited($r, $rid, { user => $alice, action => 'create',
    resource_type => 'mapping', resource_id => $mid, status => 201 },
    'mapping create');

($r, $rid) = call($alice, POST => '/api/mappings', json => {
    patientId => 0 + $pid, doctorId => 0 + $did });
not_audited($r, 409, $rid, 'POST /api/mappings of a pair that exists is 409 '
    . 'and records nothing');
is($t->psql("SELECT count(*) FROM patient_doctors WHERE patient_id = $pid"),
    1, 'and no second mapping exists');

($r, $rid) = call($alice, POST => '/api/mappings', json => {
    patientId => 0 + $bob_pat, doctorId => 0 + $did });
not_audited($r, 404, $rid, "POST /api/mappings for another user's patient "
    . 'is 404 and records nothing');

($r, $rid) = call($alice, GET => '/api/mappings');
audited($r, $rid, { user => $alice, action => 'list',
    resource_type => 'mapping', resource_id => undef, status => 200 },
    'GET /api/mappings');

($r, $rid) = call($alice, GET => "/api/mappings/patient/$pid");
audited($r, $rid, { user => $alice, action => 'list',
    resource_type => 'patient', resource_id => $pid, status => 200 },
    'GET /api/mappings/patient/:id');

($r, $rid) = call($alice, GET => "/api/mappings/patient/$bob_pat");
audited($r, $rid, { user => $alice, action => 'list',
    resource_type => 'patient', resource_id => $bob_pat, status => 404 },
    "GET /api/mappings/patient/:id of another user's patient");

($r, $rid) = call($alice, DELETE => "/api/mappings/$mid");
audited($r, $rid, { user => $alice, action => 'delete',
    resource_type => 'mapping', resource_id => $mid, status => 204 },
    'mapping delete');
($r, $rid) = call($alice, DELETE => "/api/mappings/$mid");
not_audited($r, 404, $rid, 'deleting that mapping again is 404 and records '
    . 'nothing');

# A patient with two mappings: its deletion is one event, and the mappings
# stay (out of the lists) until the patient is purged.
my $did2 = make($alice, '/api/doctors', { name => "Dr. Audit Two $TAG",
    specialization => 'Audit' });
my @cascaded = map { make($alice, '/api/mappings', { patientId => 0 + $pid,
    doctorId => 0 + $_ }) } $did, $did2;
($r, $rid) = call($alice, DELETE => "/api/patients/$pid");
audited($r, $rid, { user => $alice, action => 'delete',
    resource_type => 'patient', resource_id => $pid, status => 204 },
    'patient delete (with two mappings): exactly one row, the patient\'s');
is($t->psql("SELECT count(*) FROM patient_doctors WHERE id IN ("
    . join(', ', @cascaded) . ')'), 2, 'the mappings stay with the deleted patient');
is($t->psql("SELECT count(*) FROM audit_events WHERE action = 'delete' AND "
    . "resource_type = 'mapping' AND resource_id IN ("
    . join(', ', @cascaded) . ')'), 0,
    'the cascaded mappings recorded no delete of their own');

($r, $rid) = call($alice, DELETE => "/api/doctors/$did2");
audited($r, $rid, { user => $alice, action => 'delete',
    resource_type => 'doctor', resource_id => $did2, status => 204 },
    'doctor delete');
call($alice, DELETE => "/api/doctors/$did");

###############################################################################
# GET /api/audit: only the caller's own events.

my $a_events = events_of($alice);
my $b_events = events_of($bob);
is_deeply([ map { $_->{id} } @$a_events ], db_event_ids($alice),
    "Alice's GET /api/audit lists exactly her events, newest first")
    or diag($Medrec::Stack::JSON->encode($a_events));
is_deeply([ map { $_->{id} } @$b_events ], db_event_ids($bob),
    "Bob's GET /api/audit lists exactly his events, newest first");
my %a_rids = map { ($_->{requestId} // '') => 1 } @$a_events;
ok(!grep({ $a_rids{$_->{requestId} // ''} } @$b_events),
    "Bob never sees a request of Alice's");
ok(@$a_events >= 20, 'Alice has the events of this file to page through')
    or diag(scalar @$a_events);
my @ids = map { $_->{id} } @$a_events;
ok(!grep({ $ids[$_] <= $ids[$_ + 1] } 0 .. $#ids - 1),
    'the default order is newest first (id descending)');

my $sorted = events_of($alice, 'sort=id');
is_deeply([ map { $_->{id} } @$sorted ], [ reverse @ids ],
    'sort=id is oldest first');
$sorted = events_of($alice, 'sort=-at');
ok(@$sorted == @ids && !grep({ $sorted->[$_]{at} lt $sorted->[$_ + 1]{at} }
    0 .. $#$sorted - 1), 'sort=-at is newest first by time');
$sorted = events_of($alice, 'sort=at');
ok(@$sorted == @ids && !grep({ $sorted->[$_]{at} gt $sorted->[$_ + 1]{at} }
    0 .. $#$sorted - 1), 'sort=at is oldest first by time');

# Paging: walk rel="next" with limit=3.
my (@walked, @problems);
my $next = '/api/audit?limit=3';
my $pages = 0;
while (defined $next && $pages < 100) {
	my $p = $t->request(GET => $next, token => $alice->{token});
	$pages++;
	if ($p->{status} != 200 || ref $p->{json} ne 'ARRAY') {
		push @problems, "page $pages: " . show_response($p);
		last;
	}
	push @problems, "page $pages has " . @{ $p->{json} } . ' events'
	    if @{ $p->{json} } > 3 || (@{ $p->{json} } == 0 && $pages > 1);
	push @walked, map { $_->{id} } @{ $p->{json} };
	my $l = links($p);
	push @problems, "page $pages has no rel=\"first\"" unless $l->{first};
	$next = $l->{next};
	push @problems, "page $pages: rel=\"next\" has no cursor: $next"
	    if defined $next && $next !~ /[?&]after=/;
}
ok(!@problems, 'every page of limit=3 has at most 3 events and the Link '
    . 'header') or diag(join("\n", @problems));
is_deeply(\@walked, \@ids, 'walking rel="next" with limit=3 gives every '
    . 'event once, newest first');

# Filters.
my $reads = events_of($alice, 'action=read');
ok(@$reads >= 3 && !grep({ $_->{action} ne 'read' } @$reads),
    'action=read gives only reads');
is_deeply([ map { $_->{id} } @$reads ], db_event_ids($alice,
    "action = 'read'"), 'action=read gives every read of the user');
my $docs = events_of($alice, 'resourceType=doctor');
is_deeply([ map { $_->{id} } @$docs ], db_event_ids($alice,
    "resource_type = 'doctor'"), 'resourceType=doctor gives exactly the '
    . 'doctor events');
is(scalar(@$docs), 6, 'Alice changed doctors six times (create, PUT, '
    . 'PATCH, create, delete, delete)');
my $one = events_of($alice, "resourceType=patient&resourceId=$pid");
is_deeply([ map { $_->{id} } @$one ], db_event_ids($alice,
    "resource_type = 'patient' AND resource_id = $pid"),
    'resourceType=patient&resourceId= gives the events of that patient');
ok(!grep({ $_->{resourceId} != $pid } @$one) && @$one >= 6,
    "they are the patient's own (create, reads, lists, updates, delete)")
    or diag($Medrec::Stack::JSON->encode($one));
my $combo = events_of($alice,
    "action=update&resourceType=patient&resourceId=$pid");
is(join(',', map { "$_->{action}:$_->{resourceId}" } @$combo),
    "update:$pid,update:$pid", 'filters combine: action=update, '
    . 'resourceType=patient and resourceId= give the two updates');

for my $bad ([ 'action=bogus', 'action' ],
    [ 'resourceType=bogus', 'resourceType' ], [ 'resourceId=0', 'resourceId' ],
    [ 'resourceId=abc', 'resourceId' ], [ 'sort=name', 'sort' ],
    [ 'actor=1', 'actor' ]) {
	my ($q, $field) = @$bad;
	($r) = call($alice, GET => "/api/audit?$q");
	is_problem($r, 400, "GET /api/audit?$q is 400");
	my @f = map { $_->{field} // '' } @{ (ref $r->{json} eq 'HASH' &&
	    $r->{json}{errors}) || [] };
	is_deeply(\@f, [ $field ], "and its errors name $field");
}

# Counting.
($r) = call($alice, GET => '/api/audit?limit=2', headers => {
    Prefer => 'count=exact' });
is_json_response($r, 200, 'GET /api/audit with Prefer: count=exact is 200');
is($r->{headers}{'x-total-count'}, scalar(@ids),
    'X-Total-Count is the number of the user\'s events');
is($r->{headers}{'preference-applied'}, 'count=exact',
    'Preference-Applied: count=exact');
is(ref $r->{json} eq 'ARRAY' ? scalar @{ $r->{json} } : -1, 2,
    'the page itself still holds limit events');
($r) = call($alice, GET => '/api/audit?action=read', headers => {
    Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, scalar(@$reads),
    'X-Total-Count counts only the events that match the filters');
($r) = call($alice, GET => '/api/audit');
ok(!defined $r->{headers}{'x-total-count'},
    'without Prefer there is no X-Total-Count');

# Reading the trail is not itself an event.
($r, $rid) = call($alice, GET => '/api/audit');
not_audited($r, 200, $rid, 'GET /api/audit records no event');

# Authentication.
($r, $rid) = call(undef, GET => '/api/audit');
is_problem($r, 401, 'GET /api/audit without a token is 401');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/,
    'with WWW-Authenticate: Bearer');
($r) = call({ token => 'not.a.token' }, GET => '/api/audit');
is_problem($r, 401, 'GET /api/audit with a malformed token is 401');

done_testing();
