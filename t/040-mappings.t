#!/usr/bin/perl
# Patient-doctor mappings (API.md "Patient-doctor mappings", "Collections"
# and "General rules"): create with its validation, 404 and 409, the list of
# the caller's mappings with its filters and paging, the doctors of one
# patient with their mapping, delete, what deleting a patient does to its
# mappings, ownership on every route and authentication on every route.
#
# Doctors are one list shared by every test file running on the shared
# stack; everything here reads only mappings of users this file made, and
# doctors it made.

use strict;
use warnings;
use utf8;

use Test::More;
use Time::HiRes qw(sleep);
use Time::Local qw(timegm);

use Medrec::Stack;
use Medrec::Test;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $t = Medrec::Stack->shared;

my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my @MAPPING_FIELDS = qw(createdAt doctorId id patientId);
my @MAPPED_FIELDS = qw(assignedAt contactInfo createdAt id mappingId name
    specialization updatedAt);
my @DOCTOR_FIELDS = qw(contactInfo createdAt id name specialization updatedAt);

my @LETTERS = ('a' .. 'z');
my $TAG = join '', map { $LETTERS[int rand @LETTERS] } 1 .. 14;
my $MISSING = 9_000_000_000_000;	# no patient, doctor or mapping has it

###############################################################################
# Helpers that die (not tests).

# api($user, $method, $path, %request options): a request with the user's
# token.
sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# The body of POST /api/mappings, with both ids as JSON numbers (0 + makes
# a copy that JSON::PP writes as a number even after the id was used in a
# string).
sub pair {
	my ($pid, $did) = @_;
	return { patientId => 0 + $pid, doctorId => 0 + $did };
}

# raw($user, $method, $path, $bytes): a body sent as is, as application/json,
# so past Prism (direct), which would parse it and send its own JSON.
sub raw {
	my ($u, $method, $path, $bytes) = @_;
	return api($u, $method, $path, body => $bytes,
	    content_type => 'application/json', direct => 1);
}

# make_patient($user, $name): creates a patient; returns its id.
# This is not a test.  It die()s on failure.
sub make_patient {
	my ($u, $name) = @_;
	my $r = api($u, POST => '/api/patients', json => { name => $name });
	die "POST /api/patients: " . show_response($r)
	    unless $r->{status} == 201 && $r->{json}{id};
	return $r->{json}{id};
}

# make_doctor($user, $name, $contact): creates a doctor of this run's
# specialization; returns its JSON.  This is not a test.  It die()s on failure.
sub make_doctor {
	my ($u, $name, $contact) = @_;
	my $r = api($u, POST => '/api/doctors', json => { name => $name,
	    specialization => "Mapping $TAG", contactInfo => $contact });
	die "POST /api/doctors: " . show_response($r)
	    unless $r->{status} == 201 && $r->{json}{id};
	return $r->{json};
}

# assign($user, $patient_id, $doctor_id): creates a mapping; returns its
# JSON.  This is not a test.  It die()s on failure.
sub assign {
	my ($u, $pid, $did) = @_;
	my $r = api($u, POST => '/api/mappings', json => pair($pid, $did));
	die "POST /api/mappings: " . show_response($r)
	    unless $r->{status} == 201 && $r->{json}{id};
	return $r->{json};
}

# How many mappings the database holds for a patient (or a where clause).
sub count_for {
	my ($pid) = @_;
	return $t->psql('SELECT count(*) FROM patient_doctors WHERE patient_id = '
	    . (0 + $pid));
}

# The rows of a list response.  This is not a test: it dies unless the
# answer is a 200 with a JSON array, so that an error reply can never pass
# for an empty list.
sub rows {
	my ($r) = @_;
	die "expected a 200 list: " . show_response($r)
	    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
	return $r->{json};
}

sub ids_of {
	my ($rows) = @_;
	return [ map { ref $_ eq 'HASH' ? $_->{id} : undef } @$rows ];
}

sub epoch_of {
	my ($ts) = @_;
	my ($y, $mo, $d, $h, $mi, $s) =
	    ($ts // '') =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/
	    or return undef;
	return timegm($s, $mi, $h, $d, $mo - 1, $y);
}

# The names of the fields an errors array names, sorted.
sub error_fields {
	my ($r) = @_;
	my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : undef;
	return [] unless ref $e eq 'ARRAY';
	return [ sort map { ref $_ eq 'HASH' ? $_->{field} // '(null)' : '?' }
	    @$e ];
}

# A problem document with the numbers in its detail blanked, to compare
# the answer for another user's record with the one for a missing record.
sub normalized {
	my ($r) = @_;
	my %c = %{ ref $r->{json} eq 'HASH' ? $r->{json} : {} };
	$c{detail} =~ s/\d+/N/g if defined $c{detail};
	return { status => $r->{status}, %c };
}

# link_target($res, $rel): the path and query of the Link header's entry
# with that rel, or undef.
sub link_target {
	my ($r, $rel) = @_;
	my $h = $r->{headers}{link} // '';
	$h = join ', ', @$h if ref $h;
	for my $part (split /,\s*(?=<)/, $h) {
		next unless $part =~ /^\s*<([^>]*)>(.*)$/s;
		my ($target, $params) = ($1, $2);
		next unless $params =~ /;\s*rel\s*=\s*"?([^";]*)"?/i;
		next unless grep { $_ eq $rel } split ' ', lc $1;
		$target =~ s{^https?://[^/]+}{};
		return $target;
	}
	return undef;
}

# walk($user, $path, $expected_rows): follows rel="next" from $path;
# returns { rows => [...], sizes => [page sizes], error => text or undef }.
# This is not a test.
sub walk {
	my ($u, $path, $expect) = @_;
	my (@rows, @sizes);
	my $limit = $expect + 5;
	while (defined $path) {
		return { rows => \@rows, sizes => \@sizes,
		    error => "more than $limit pages" } if @sizes > $limit;
		my $r = api($u, GET => $path);
		return { rows => \@rows, sizes => \@sizes,
		    error => "GET $path: " . show_response($r) }
		    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
		push @rows, @{ $r->{json} };
		push @sizes, scalar @{ $r->{json} };
		$path = link_target($r, 'next');
	}
	return { rows => \@rows, sizes => \@sizes, error => undef };
}

###############################################################################
# Helpers that assert (one test each).

# A 400 problem whose errors array names exactly @fields.
sub is_invalid {
	my ($r, $name, @fields) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	subtest $name => sub {
		is_problem($r, 400, 'a 400 problem document');
		is_deeply(error_fields($r), [ sort @fields ],
		    'its errors array names ' . join(', ', @fields))
		    or diag(show_response($r));
	};
}

# A 201 mapping response with exactly the mapping's fields.
sub is_mapping {
	my ($r, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $j = $r->{json};
	my @bad;
	push @bad, "status is $r->{status}, not 201" unless $r->{status} == 201;
	push @bad, 'Content-Type is not application/json'
	    unless ($r->{headers}{'content-type'} // '') =~
	    m{^application/json\s*(?:;|$)}i;
	if (ref $j ne 'HASH') {
		push @bad, 'the body is not a JSON object';
	} else {
		my $keys = join ',', sort keys %$j;
		push @bad, "the fields are $keys"
		    if $keys ne join ',', @MAPPING_FIELDS;
		for my $f (qw(id patientId doctorId)) {
			push @bad, "$f is not a positive JSON number"
			    unless $r->{body} =~ /"$f"\s*:\s*[1-9]\d*\s*[,}]/;
		}
		push @bad, 'createdAt is not RFC 3339 UTC with milliseconds'
		    unless ($j->{createdAt} // '') =~ $TIME_RE;
	}
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
	return !@bad;
}

sub has_ids {
	my ($rows, $ids, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return is_deeply([ sort { $a <=> $b } @{ ids_of($rows) } ],
	    [ sort { $a <=> $b } @$ids ], $name);
}

###############################################################################
# Create.

my $alice = $t->new_user;
my $bob = $t->new_user;

my $pa = make_patient($alice, 'Alice Patient');
my $pb = make_patient($bob, 'Bob Patient');
my @doc = map { make_doctor($alice, "Doctor $_ $TAG", "room $_") } 1 .. 3;

my $r = api($alice, POST => '/api/mappings', json => pair($pa, $doc[0]{id}));
is_mapping($r, 'POST /api/mappings is 201 with {id, patientId, doctorId, createdAt}');
my $m = $r->{json} // {};
my $mid = $m->{id} // 0;
is_deeply([ $m->{patientId}, $m->{doctorId} ], [ $pa, $doc[0]{id} ],
    'the mapping holds the patient and doctor sent');
like($r->{headers}{location} // '', qr{^(?:https?://[^/]+)?/api/mappings/\Q$mid\E$},
    'the 201 carries Location /api/mappings/<id>');
ok(abs((epoch_of($m->{createdAt}) // 0) - time) < 300, 'createdAt is now, in UTC')
    or diag('createdAt ' . ($m->{createdAt} // 'none'));
has_security_headers($r, 'a mapping response carries the security headers');
is(count_for($pa), 1, 'the database holds the mapping');

###############################################################################
# Validation.

my $d1 = $doc[1]{id};
my @invalid = (
	[ qq({"patientId":"$pa","doctorId":$d1}), [ 'patientId' ],
	    'patientId as a string ("1") is 400' ],
	[ qq({"patientId":$pa,"doctorId":"$d1"}), [ 'doctorId' ],
	    'doctorId as a string is 400' ],
	[ qq({"patientId":"$pa","doctorId":"$d1"}), [ qw(patientId doctorId) ],
	    'both as strings is 400 naming both' ],
	[ qq({"doctorId":$d1}), [ 'patientId' ], 'a missing patientId is 400' ],
	[ qq({"patientId":$pa}), [ 'doctorId' ], 'a missing doctorId is 400' ],
	[ '{}', [ qw(patientId doctorId) ], 'an empty object is 400 naming both' ],
	[ qq({"patientId":0,"doctorId":$d1}), [ 'patientId' ], 'patientId 0 is 400' ],
	[ qq({"patientId":$pa,"doctorId":0}), [ 'doctorId' ], 'doctorId 0 is 400' ],
	[ qq({"patientId":-$pa,"doctorId":$d1}), [ 'patientId' ],
	    'a negative patientId is 400' ],
	[ qq({"patientId":$pa,"doctorId":-1}), [ 'doctorId' ], 'doctorId -1 is 400' ],
	[ qq({"patientId":1.5,"doctorId":$d1}), [ 'patientId' ], 'patientId 1.5 is 400' ],
	[ qq({"patientId":$pa,"doctorId":1.5}), [ 'doctorId' ], 'doctorId 1.5 is 400' ],
	[ qq({"patientId":$pa.5,"doctorId":$d1}), [ 'patientId' ],
	    'a fractional patientId next to a real id is 400' ],
	[ qq({"patientId":null,"doctorId":$d1}), [ 'patientId' ], 'patientId null is 400' ],
	[ qq({"patientId":$pa,"doctorId":null}), [ 'doctorId' ], 'doctorId null is 400' ],
	[ qq({"patientId":true,"doctorId":$d1}), [ 'patientId' ], 'patientId true is 400' ],
	[ qq({"patientId":[$pa],"doctorId":$d1}), [ 'patientId' ],
	    'patientId as an array is 400' ],
	[ qq({"patientId":{"id":$pa},"doctorId":$d1}), [ 'patientId' ],
	    'patientId as an object is 400' ],
	[ qq({"patientId":"abc","doctorId":-2}), [ qw(patientId doctorId) ],
	    'two bad ids are reported at once' ],
	[ qq({"patientId":$pa,"doctorId":$d1,"note":"x"}), [ 'note' ],
	    'an unknown field is 400 naming it' ],
	[ qq({"patientId":$pa,"doctorId":$d1,"patient_id":$pa}), [ 'patient_id' ],
	    'patient_id (not patientId) is an unknown field' ],
	[ qq({"patientId":0,"note":"x"}), [ qw(patientId doctorId note) ],
	    'bad, missing and unknown fields are reported together' ],
);
for my $c (@invalid) {
	my ($body, $fields, $name) = @$c;
	is_invalid(raw($alice, POST => '/api/mappings', $body), "POST: $name", @$fields);
}
is(count_for($pa), 1, 'none of the refused POSTs created a mapping');

is_problem(raw($alice, POST => '/api/mappings', qq([{"patientId":$pa,"doctorId":$d1}])),
    400, 'a JSON array instead of an object is 400');
is_problem(raw($alice, POST => '/api/mappings', qq({"patientId":$pa,)), 400,
    'a body that is not JSON is 400');
is_problem(api($alice, POST => '/api/mappings', body => qq({"patientId":$pa,"doctorId":$d1}),
    content_type => 'text/plain'), 415, 'a body sent as text/plain is 415');
is(count_for($pa), 1, 'and they created nothing either');

# Read-only fields are ignored, and never set ownership.
$r = raw($alice, POST => '/api/mappings', qq({"patientId":$pa,"doctorId":$d1,)
    . qq("id":$MISSING,"createdAt":"2001-01-01T00:00:00.000Z","userId":$bob->{id}}));
is_mapping($r, 'POST with id, createdAt and userId is 201: they are ignored');
my $ro = $r->{json} // {};
isnt($ro->{id}, $MISSING, 'the id in the body is not used');
isnt($ro->{createdAt}, '2001-01-01T00:00:00.000Z', 'createdAt in the body is not used');
ok(!grep({ $_->{id} == ($ro->{id} // 0) } @{ rows(api($bob, GET => '/api/mappings')) }),
    'userId in the body does not give the mapping to that user');
ok(grep({ $_->{id} == ($ro->{id} // 0) } @{ rows(api($alice, GET => '/api/mappings')) }),
    'the mapping belongs to the owner of the patient');

###############################################################################
# 404 and 409.

my $d2 = $doc[2]{id};
$r = api($alice, POST => '/api/mappings', json => pair($pb, $d2));
is_problem($r, 404, "POST with another user's patient is 404");
is(count_for($pb), 0, "and no mapping was created for the other user's patient");
my $miss = api($alice, POST => '/api/mappings', json => pair($MISSING, $d2));
is_problem($miss, 404, 'POST with a patient that does not exist is 404');
is_deeply(normalized($r), normalized($miss),
    "another user's patient gets the same answer as a missing one");
$r = api($alice, POST => '/api/mappings', json => pair($pb, $MISSING));
is_problem($r, 404, "POST with another user's patient and a missing doctor is 404");
is(count_for($pb), 0, 'and still nothing was created for that patient');

$r = api($alice, POST => '/api/mappings', json => pair($pa, $MISSING));
is_problem($r, 404, 'POST with a doctor that does not exist is 404');
my $gone = make_doctor($alice, "Gone $TAG", undef);
is(api($alice, DELETE => "/api/doctors/$gone->{id}")->{status}, 204,
    '(a doctor is deleted)');
is_problem(api($alice, POST => '/api/mappings', json => pair($pa, $gone->{id})), 404,
    'POST with a deleted doctor is 404');
is(count_for($pa), 2, 'the 404s created no mapping for the patient');

$r = api($alice, POST => '/api/mappings', json => pair($pa, $doc[0]{id}));
is_problem($r, 409, 'POST of the same pair twice is 409');
is($t->psql("SELECT count(*) FROM patient_doctors WHERE patient_id = $pa "
    . "AND doctor_id = $doc[0]{id}"), 1, 'and the pair is still mapped once');
$r = api($bob, POST => '/api/mappings', json => pair($pb, $doc[0]{id}));
is_mapping($r, 'the same doctor for another patient (of another user) is 201');
my $bob_mapping = $r->{json} // {};

is(api($alice, DELETE => "/api/mappings/$mid")->{status}, 204,
    '(the first mapping is deleted)');
$r = api($alice, POST => '/api/mappings', json => pair($pa, $doc[0]{id}));
is_mapping($r, 'after DELETE, the same pair may be mapped again');
isnt($r->{json}{id}, $mid, 'with a new id');

###############################################################################
# GET /api/mappings: the caller's mappings only, filtered and paged.

my $carol = $t->new_user;
my $pc1 = make_patient($carol, 'Carol One');
my $pc2 = make_patient($carol, 'Carol Two');
my @cd = map { make_doctor($carol, "List $_ $TAG", undef) } 1 .. 5;
my @cm;
push @cm, assign($carol, $pc1, $_->{id}) for @cd[0 .. 3];
push @cm, assign($carol, $pc2, $_->{id}) for @cd[0, 4];
push @cm, assign($carol, make_patient($carol, 'Carol Three'), $cd[2]{id});
# Bob maps the same doctors to his patient: those must never show up.
my @bm = map { assign($bob, $pb, $_->{id}) } @cd[0 .. 1];

$r = api($carol, GET => '/api/mappings');
is_json_response($r, 200, 'GET /api/mappings is 200 JSON');
is_deeply(rows($r), \@cm, "the list holds exactly the caller's mappings, "
    . 'as POST returned them, in id order');
$r = api($carol, GET => '/api/mappings', headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 7, 'Prefer: count=exact gives X-Total-Count: 7');
$r = api($bob, GET => '/api/mappings?limit=200');
ok(!grep({ my $i = $_->{id}; grep { $_->{id} == $i } @cm } @{ rows($r) }),
    "another user's list holds none of them");
ok(!grep({ $_->{patientId} != $pb } @{ rows($r) }) && @{ rows($r) } >= 2,
    "that user's list holds only mappings of that user's patients");

my %cmp = (
	id		=> sub { $_[0]{id} <=> $_[1]{id} },
	createdAt	=> sub { $_[0]{createdAt} cmp $_[1]{createdAt} },
);
for my $sort (qw(id -id createdAt -createdAt)) {
	(my $field = $sort) =~ s/^-//;
	my $desc = $sort =~ /^-/;
	my $w = walk($carol, "/api/mappings?limit=3&sort=$sort", 7);
	subtest "walking rel=\"next\" over the caller's mappings with limit=3 and sort=$sort"
	    . ' gives each once, in order' => sub {
		ok(!defined $w->{error}, 'every page is 200 with an array')
		    or diag($w->{error});
		is_deeply($w->{sizes}, [ 3, 3, 1 ], 'three pages: 3, 3 and 1');
		has_ids($w->{rows}, ids_of(\@cm), 'every mapping comes, once');
		my @bad = grep { my $c = $cmp{$field}->($w->{rows}[$_ - 1],
		    $w->{rows}[$_]); $desc ? $c < 0 : $c > 0 } 1 .. $#{ $w->{rows} };
		ok(!@bad, "in $sort order") or diag(explain($w->{rows}));
	};
}

$r = api($carol, GET => "/api/mappings?patientId=$pc1");
is_deeply(rows($r), [ @cm[0 .. 3] ], '?patientId= gives the mappings of that patient');
$r = api($carol, GET => "/api/mappings?doctorId=$cd[0]{id}");
is_deeply(rows($r), [ @cm[0, 4] ],
    "?doctorId= gives that doctor's mappings of the caller's patients, not another user's");
$r = api($carol, GET => "/api/mappings?patientId=$pc2&doctorId=$cd[0]{id}");
is_deeply(rows($r), [ $cm[4] ], '?patientId= and ?doctorId= combine');
$r = api($carol, GET => "/api/mappings?patientId=$pb");
is_deeply([ $r->{status}, rows($r) ], [ 200, [] ],
    "?patientId= of another user's patient gives []");
$r = api($carol, GET => "/api/mappings?doctorId=$MISSING");
is_deeply([ $r->{status}, rows($r) ], [ 200, [] ], '?doctorId= of a missing doctor gives []');
$r = api($carol, GET => "/api/mappings?patientId=$pc1", headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 4, 'the count follows the filter');

my $w = walk($carol, "/api/mappings?patientId=$pc1&limit=3", 4);
is_deeply([ $w->{error}, $w->{sizes}, ids_of($w->{rows}) ],
    [ undef, [ 3, 1 ], ids_of([ @cm[0 .. 3] ]) ],
    'walking next with ?patientId= and limit=3 keeps the filter: 3 then 1');
$r = api($carol, GET => "/api/mappings?patientId=$pc1&limit=3");
my ($cursor) = (link_target($r, 'next') // '') =~ /[?&]after=([^&]*)/;
$cursor //= 'none';
is_problem(api($carol, GET => "/api/mappings?patientId=$pc2&limit=3&after=$cursor"), 400,
    'a cursor made with another patientId filter is 400');
is_problem(api($carol, GET => "/api/mappings?doctorId=$cd[0]{id}&limit=3&after=$cursor"), 400,
    'a cursor made with patientId=, used with doctorId=, is 400');
is_problem(api($carol, GET => "/api/mappings?patientId=$pc1&limit=3&sort=-id&after=$cursor"),
    400, 'a cursor made for another sort is 400');

for my $c ([ 'patientId=abc' ], [ 'patientId=0' ], [ 'patientId=-1' ],
    [ 'doctorId=1.5' ], [ 'limit=0' ], [ 'limit=201' ], [ 'sort=name' ],
    [ 'sort=bogus' ], [ 'after=garbage' ]) {
	my ($q) = @$c;
	is_problem(api($carol, GET => "/api/mappings?$q"), 400, "GET /api/mappings?$q is 400");
}

###############################################################################
# GET /api/mappings/patient/:id: the doctors of one patient.

$r = api($carol, GET => "/api/mappings/patient/$pc1");
is_json_response($r, 200, 'GET /api/mappings/patient/:id is 200 JSON');
my $listed = rows($r);
is(scalar @$listed, 4, 'it lists the four doctors of the patient');
ok(!grep({ join(',', sort keys %$_) ne join(',', @MAPPED_FIELDS) } @$listed),
    'each is a doctor plus mappingId and assignedAt, and nothing else')
    or diag(explain($listed));
my %by_doctor = map { $_->{doctorId} => $_ } @cm[0 .. 3];
my @mismatch;
for my $row (@$listed) {
	my $mp = $by_doctor{ $row->{id} // 0 };
	my $dg = api($carol, GET => "/api/doctors/$row->{id}")->{json} // {};
	push @mismatch, "doctor $row->{id}: not one of the patient's doctors"
	    unless $mp;
	push @mismatch, "doctor $row->{id}: the doctor fields differ from GET /api/doctors/:id"
	    unless join("\0", map { $row->{$_} // '(null)' } @DOCTOR_FIELDS) eq
	    join("\0", map { $dg->{$_} // '(null)' } @DOCTOR_FIELDS);
	push @mismatch, "doctor $row->{id}: mappingId is not the mapping's id"
	    unless $mp && ($row->{mappingId} // 0) == $mp->{id};
	push @mismatch, "doctor $row->{id}: assignedAt is not the mapping's createdAt"
	    unless $mp && ($row->{assignedAt} // '') eq $mp->{createdAt};
}
ok(!@mismatch, "each row is the doctor as GET shows it, with its mapping's id "
    . 'as mappingId and its createdAt as assignedAt') or diag(join "\n", @mismatch);
ok(!grep({ $_ !~ /"(?:id|mappingId)"\s*:\s*[1-9]\d*\s*[,}]/ } ($r->{body} =~ /\{[^{}]*\}/g)),
    'id and mappingId are JSON numbers');
ok(!grep({ ($_->{assignedAt} // '') !~ $TIME_RE } @$listed),
    'assignedAt is RFC 3339 UTC with milliseconds');
is_deeply(ids_of($listed), [ sort { $a <=> $b } map { $_->{id} } @cd[0 .. 3] ],
    'by default the doctors come in id order');

$r = api($carol, GET => "/api/mappings/patient/" . make_patient($carol, 'No Doctors'));
is_deeply([ $r->{status}, $r->{json} ], [ 200, [] ],
    "the caller's patient without doctors gives an empty array");
$r = api($carol, GET => "/api/mappings/patient/$pb");
is_problem($r, 404, "another user's patient is 404");
$miss = api($carol, GET => "/api/mappings/patient/$MISSING");
is_problem($miss, 404, 'a patient that does not exist is 404');
is_deeply(normalized($r), normalized($miss),
    "another user's patient gets the same answer as a missing one");
$r = api($carol, GET => "/api/mappings/patient/$pc1", headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 4, 'Prefer: count=exact counts the doctors of the patient');

# Paging over five doctors, limit 2, by every sort the route takes.  The
# names, ids and assignment times are in three different orders, one name
# comes twice, and three mappings share one assignment time.
my $pp = make_patient($carol, 'Paged Patient');
my @pd = map { make_doctor($alice, "$_ $TAG", "$_ office") }
    qw(Papa Delta Papa Alpha Mike);
my @pm = map { assign($carol, $pp, $_->{id}) } @pd[3, 0, 4, 1, 2];
$t->psql('UPDATE patient_doctors SET created_at = '
    . "'2024-03-04 05:06:07.891234+00' WHERE id IN ($pm[1]{id}, $pm[2]{id}, $pm[4]{id})");
my $expected = rows(api($carol, GET => "/api/mappings/patient/$pp?limit=200"));
is(scalar(grep { ($_->{assignedAt} // '') eq '2024-03-04T05:06:07.891Z' } @$expected), 3,
    '(three of the five mappings now share one assignedAt)');
my %pcmp = (
	id		=> sub { $_[0]{id} <=> $_[1]{id} },
	name		=> sub { $_[0]{name} cmp $_[1]{name} },
	assignedAt	=> sub { $_[0]{assignedAt} cmp $_[1]{assignedAt} },
);
for my $sort (qw(id -id name -name assignedAt -assignedAt)) {
	(my $field = $sort) =~ s/^-//;
	my $desc = $sort =~ /^-/;
	$w = walk($carol, "/api/mappings/patient/$pp?limit=2&sort=$sort", 5);
	subtest "walking rel=\"next\" over a patient's five doctors with limit=2 and "
	    . "sort=$sort gives each once, in order" => sub {
		ok(!defined $w->{error}, 'every page is 200 with an array')
		    or diag($w->{error});
		is_deeply($w->{sizes}, [ 2, 2, 1 ], 'three pages: 2, 2 and 1');
		has_ids($w->{rows}, [ map { $_->{id} } @pd ], 'every doctor comes, once');
		my @bad = grep { my $c = $pcmp{$field}->($w->{rows}[$_ - 1],
		    $w->{rows}[$_]); $desc ? $c < 0 : $c > 0 } 1 .. $#{ $w->{rows} };
		ok(!@bad, "in $sort order") or diag(explain($w->{rows}));
		is_deeply([ sort { $a->{id} <=> $b->{id} } @{ $w->{rows} } ],
		    [ sort { $a->{id} <=> $b->{id} } @$expected ],
		    'each row is what the one-page list shows');
	};
}
# API.md: every list sorts by at least id, name and createdAt where its
# records have them, and these records (doctors) have a createdAt.
$r = api($carol, GET => "/api/mappings/patient/$pp?limit=2&sort=createdAt");
is($r->{status}, 200, 'GET /api/mappings/patient/:id takes sort=createdAt: '
    . 'its rows have a createdAt') or diag(show_response($r));
$r = api($carol, GET => "/api/mappings/patient/$pp?limit=2");
($cursor) = (link_target($r, 'next') // '') =~ /[?&]after=([^&]*)/;
$cursor //= 'none';
is_problem(api($carol, GET => "/api/mappings/patient/$pp?limit=2&sort=name&after=$cursor"),
    400, 'a cursor made for another sort is 400 here too');
is_problem(api($carol, GET => "/api/mappings/patient/$pp?sort=bogus"), 400,
    'an unknown sort is 400');
is_problem(api($carol, GET => "/api/mappings/patient/$pp?limit=0"), 400, 'limit=0 is 400');

###############################################################################
# DELETE /api/mappings/:id.

my $dm = assign($carol, $pc2, $cd[2]{id});
$r = api($carol, DELETE => "/api/mappings/$dm->{id}");
is($r->{status}, 204, 'DELETE /api/mappings/:id is 204');
is($r->{body}, '', 'the 204 has no body');
is($t->psql("SELECT count(*) FROM patient_doctors WHERE id = $dm->{id}"), 0,
    'the mapping is gone from the database');
ok(!grep({ $_->{id} == $dm->{id} } @{ rows(api($carol, GET => '/api/mappings?limit=200')) }),
    'and from the list');
ok(!grep({ $_->{id} == $cd[2]{id} } @{ rows(api($carol, GET => "/api/mappings/patient/$pc2")) }),
    "and the doctor is no longer among the patient's doctors");
is_problem(api($carol, DELETE => "/api/mappings/$dm->{id}"), 404, 'a second DELETE is 404');

$r = api($carol, DELETE => "/api/mappings/$bob_mapping->{id}");
is_problem($r, 404, "DELETE of another user's mapping is 404");
$miss = api($carol, DELETE => "/api/mappings/$MISSING");
is_problem($miss, 404, 'DELETE of a mapping that does not exist is 404');
is_deeply(normalized($r), normalized($miss),
    "another user's mapping gets the same answer as a missing one");
is($t->psql("SELECT count(*) FROM patient_doctors WHERE id = $bob_mapping->{id}"), 1,
    "the other user's mapping is still there");
ok(grep({ $_->{id} == $bob_mapping->{id} } @{ rows(api($bob, GET => '/api/mappings?limit=200')) }),
    'and its owner still sees it');

###############################################################################
# Deleting a patient takes its mappings out of every list until it is
# restored.

my $px = make_patient($carol, 'Leaving Patient');
my @xd = map { make_doctor($carol, "Leaving $_ $TAG", undef) } 1 .. 2;
my @xm = map { assign($carol, $px, $_->{id}) } @xd;
is(count_for($px), 2, '(the patient has two mappings)');
is(api($carol, DELETE => "/api/patients/$px")->{status}, 204, '(the patient is deleted)');
is(count_for($px), 2, "the database keeps the deleted patient's mappings");
is_deeply(rows(api($carol, GET => "/api/mappings?patientId=$px")), [],
    'the list of mappings no longer holds them');
is(api($carol, GET => "/api/mappings?patientId=$px&limit=1",
    headers => { Prefer => 'count=exact' })->{headers}{'x-total-count'}, 0,
    'nor does its count');
is_problem(api($carol, DELETE => "/api/mappings/$xm[0]{id}"), 404,
    'DELETE of one of those mappings is 404');
is_problem(api($carol, GET => "/api/mappings/patient/$px"), 404,
    "GET /api/mappings/patient/:id of the deleted patient is 404");
is_problem(api($carol, POST => '/api/mappings', json => { patientId => 0 + $px,
    doctorId => 0 + $xd[0]{id} }), 404, 'the deleted patient cannot be assigned a doctor');
is(api($carol, POST => "/api/patients/$px/restore")->{status}, 200,
    '(the patient is restored)');
is(scalar @{ rows(api($carol, GET => "/api/mappings?patientId=$px")) }, 2,
    'its mappings are back in the list');
is(scalar @{ rows(api($carol, GET => "/api/mappings/patient/$px")) }, 2,
    'and so are its doctors');

###############################################################################
# Ownership: a second user gets 404 everywhere, and changes nothing.

my $mallory = $t->new_user;
my $pm_own = make_patient($mallory, 'Mallory Patient');
my $spare = make_doctor($alice, "Spare $TAG", undef);
my %snap = (
	list	=> api($carol, GET => '/api/mappings?limit=200')->{body},
	pc1	=> api($carol, GET => "/api/mappings/patient/$pc1")->{body},
	db	=> $t->psql('SELECT string_agg(id || \':\' || patient_id || \':\' || doctor_id '
	    . "|| ':' || created_at, ',' ORDER BY id) FROM patient_doctors "
	    . "WHERE user_id = $carol->{id}"),
);

$r = api($mallory, POST => '/api/mappings', json => pair($pc1, $spare->{id}));
is_problem($r, 404, "POST of another user's patient with a new doctor is 404");
$r = api($mallory, POST => '/api/mappings', json => pair($pc1, $cd[0]{id}));
is_problem($r, 404, "POST of another user's patient with a doctor it already has "
    . 'is 404, not 409');
$r = api($mallory, POST => '/api/mappings', json => pair($pc1, $MISSING));
is_problem($r, 404, "POST of another user's patient with a missing doctor is 404");
$r = api($mallory, GET => '/api/mappings?limit=200');
is_deeply([ $r->{status}, rows($r) ], [ 200, [] ],
    'GET /api/mappings of a user without mappings is [], whatever others have');
$r = api($mallory, GET => '/api/mappings', headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 0, 'and its count is 0');
$r = api($mallory, GET => "/api/mappings?patientId=$pc1");
is_deeply([ $r->{status}, rows($r) ], [ 200, [] ],
    "GET /api/mappings?patientId= of another user's patient is []");
$r = api($mallory, GET => "/api/mappings?doctorId=$cd[0]{id}");
is_deeply([ $r->{status}, rows($r) ], [ 200, [] ],
    "GET /api/mappings?doctorId= shows no other user's mappings of that doctor");
$r = api($mallory, GET => "/api/mappings/patient/$pc1");
is_problem($r, 404, "GET /api/mappings/patient/:id of another user's patient is 404");
$r = api($mallory, GET => "/api/mappings/patient/$pc1?sort=name&limit=1",
    headers => { Prefer => 'count=exact' });
is_problem($r, 404, 'with paging, sort and a count asked for, too');
for my $cmap (@cm[0, 4]) {
	is_problem(api($mallory, DELETE => "/api/mappings/$cmap->{id}"), 404,
	    "DELETE /api/mappings/:id of another user's mapping is 404");
}
is_deeply(rows(api($mallory, GET => "/api/mappings/patient/$pm_own")), [],
    "the second user's own patient still has no doctors");
is_deeply({
	list	=> api($carol, GET => '/api/mappings?limit=200')->{body},
	pc1	=> api($carol, GET => "/api/mappings/patient/$pc1")->{body},
	db	=> $t->psql('SELECT string_agg(id || \':\' || patient_id || \':\' || doctor_id '
	    . "|| ':' || created_at, ',' ORDER BY id) FROM patient_doctors "
	    . "WHERE user_id = $carol->{id}"),
}, \%snap, "the first user's mappings are unchanged afterwards");
is($t->psql("SELECT count(*) FROM patient_doctors WHERE doctor_id = $spare->{id}"), 0,
    'no mapping was made to the doctor the second user tried');

###############################################################################
# Authentication on every route.

my @routes = (
	[ POST => '/api/mappings', json => pair($pc1, $spare->{id}) ],
	[ GET => '/api/mappings' ],
	[ GET => "/api/mappings?patientId=$pc1" ],
	[ GET => "/api/mappings/patient/$pc1" ],
	[ DELETE => "/api/mappings/$cm[0]{id}" ],
);
for my $rt (@routes) {
	my ($meth, $path, @o) = @$rt;
	(my $shown = $path) =~ s/\d+$/:id/;
	$r = $t->request($meth, $path, @o);
	is_problem($r, 401, "$meth $shown without a token is 401");
	like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
	    "and the 401 for $meth $shown carries WWW-Authenticate: Bearer");
	$r = $t->request($meth, $path, @o, token => 'not.a.token');
	is_problem($r, 401, "$meth $shown with a garbage token is 401");
	$r = $t->request($meth, $path, @o,
	    headers => { Authorization => "Basic $carol->{token}" });
	is_problem($r, 401, "$meth $shown with the token under another scheme is 401");
}
is($t->psql('SELECT string_agg(id || \':\' || patient_id || \':\' || doctor_id '
    . "|| ':' || created_at, ',' ORDER BY id) FROM patient_doctors "
    . "WHERE user_id = $carol->{id}"), $snap{db},
    'the refused requests created and deleted nothing');

###############################################################################
# Path ids and methods.

for my $bad ('abc', '0', '-1', '99999999999999999999', '1.5', '9223372036854775808') {
	is_problem(api($carol, DELETE => "/api/mappings/$bad"), 404,
	    "DELETE /api/mappings/$bad is 404");
	is_problem(api($carol, GET => "/api/mappings/patient/$bad"), 404,
	    "GET /api/mappings/patient/$bad is 404");
}

sub allow_set {
	my ($res) = @_;
	my $v = $res->{headers}{allow} // '';
	$v = join ', ', @$v if ref $v;
	return join ', ', sort grep { $_ ne 'HEAD' } split /\s*,\s*/, $v;
}

for my $c ([ GET => "/api/mappings/$cm[0]{id}", 'DELETE' ],
    [ PUT => "/api/mappings/$cm[0]{id}", 'DELETE' ],
    [ PATCH => "/api/mappings/$cm[0]{id}", 'DELETE' ],
    [ POST => "/api/mappings/$cm[0]{id}", 'DELETE' ],
    [ PUT => '/api/mappings', 'GET, POST' ],
    [ DELETE => '/api/mappings', 'GET, POST' ],
    [ POST => "/api/mappings/patient/$pc1", 'GET' ],
    [ DELETE => "/api/mappings/patient/$pc1", 'GET' ]) {
	my ($meth, $path, $allow) = @$c;
	my @o = $meth =~ /^P/ ? (json => pair($pc1, $spare->{id})) : ();
	$r = api($carol, $meth => $path, @o);
	(my $shown = $path) =~ s/\d+$/:id/;
	is_problem($r, 405, "$meth $shown is 405");
	is(allow_set($r), $allow, "the 405 for $meth $shown says Allow: $allow");
}
is($t->psql('SELECT string_agg(id || \':\' || patient_id || \':\' || doctor_id '
    . "|| ':' || created_at, ',' ORDER BY id) FROM patient_doctors "
    . "WHERE user_id = $carol->{id}"), $snap{db},
    'the 405s changed nothing');

done_testing();
