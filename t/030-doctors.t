#!/usr/bin/perl
# Doctors (API.md "Doctors", "Collections" and "General rules"): a shared
# list that anyone may read and any signed-in user may write.  The shape of
# a doctor, create, read, full replace, partial update and delete, every
# validation limit on both sides, the 409 while a doctor is assigned, the
# specialization and q filters, keyset paging for every sort, counting,
# cursors reused with other filters, path ids and methods.
#
# The doctors table is shared by every test file running on the shared
# stack, so nothing here assumes it is empty: every list this file reads is
# narrowed by a name or specialization made unique to this run.

use strict;
use warnings;
use utf8;

use Test::More;
use Time::HiRes qw(sleep);

use Medrec::Stack;
use Medrec::Test;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $t = Medrec::Stack->shared;

my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my @FIELDS = qw(contactInfo createdAt id name specialization updatedAt);

# Letters only (so that case matters to q= and specialization=) and unique
# to this run, so no other test file's doctors match.
my @LETTERS = ('a' .. 'z');
sub word { join '', map { $LETTERS[int rand @LETTERS] } 1 .. $_[0] }
my $TAG = word(14);

###############################################################################
# Helpers that die (not tests).

# api($user, $method, $path, %request options): a request with the user's
# token.
sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# make_doctor($user, \%fields): creates a doctor; returns its JSON.
# This is not a test.  It die()s on failure.
sub make_doctor {
	my ($u, $f) = @_;
	my $r = api($u, POST => '/api/doctors', json => $f);
	die "POST /api/doctors: " . show_response($r)
	    unless $r->{status} == 201 && ref $r->{json} eq 'HASH';
	return $r->{json};
}

# fetch($id): GET of one doctor without a token, as { status, json, etag }.
# This is not a test.
sub fetch {
	my ($id) = @_;
	my $r = $t->request(GET => "/api/doctors/$id");
	return { status => $r->{status}, json => $r->{json},
	    etag => $r->{headers}{etag} };
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

# assign($user, $patient_id, $doctor_id): creates a mapping; returns its id.
# This is not a test.  It die()s on failure.
sub assign {
	my ($u, $pid, $did) = @_;
	my $r = api($u, POST => '/api/mappings',
	    json => { patientId => $pid, doctorId => $did });
	die "POST /api/mappings: " . show_response($r)
	    unless $r->{status} == 201 && $r->{json}{id};
	return $r->{json}{id};
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

# GET /api/doctors?<query> without a token; returns the rows.
sub list {
	my ($query) = @_;
	return rows($t->request(GET => "/api/doctors?$query"));
}

sub uri_escape {
	my ($s) = @_;
	utf8::encode($s) if utf8::is_utf8($s);
	$s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

# The names of the fields an errors array names, sorted.
sub error_fields {
	my ($r) = @_;
	my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : undef;
	return [] unless ref $e eq 'ARRAY';
	return [ sort map { ref $_ eq 'HASH' ? $_->{field} // '(null)' : '?' }
	    @$e ];
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

# walk($path, $expected_rows): follows rel="next" from $path; returns
# { rows => [...], sizes => [page sizes], error => text or undef }.
# This is not a test.
sub walk {
	my ($path, $expect, %o) = @_;
	my (@rows, @sizes);
	my $limit = $expect + 5;	# pages: enough, and no endless loop
	while (defined $path) {
		return { rows => \@rows, sizes => \@sizes,
		    error => "more than $limit pages" } if @sizes > $limit;
		my $r = $o{token} ? $t->request(GET => $path, token => $o{token})
		    : $t->request(GET => $path);
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
		my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : [];
		ok(!grep({ !(ref $_ eq 'HASH' && defined $_->{message} &&
		    length $_->{message}) } @{ $e // [] }),
		    'each error has a message');
	};
}

# A 200/201 doctor response with exactly the doctor's fields.
sub is_doctor {
	my ($r, $status, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $j = $r->{json};
	my @bad;
	push @bad, "status is $r->{status}, not $status"
	    unless $r->{status} == $status;
	push @bad, 'Content-Type is not application/json'
	    unless ($r->{headers}{'content-type'} // '') =~
	    m{^application/json\s*(?:;|$)}i;
	if (ref $j ne 'HASH') {
		push @bad, 'the body is not a JSON object';
	} else {
		my $keys = join ',', sort keys %$j;
		push @bad, "the fields are $keys" if $keys ne join ',', @FIELDS;
		push @bad, 'id is not a positive JSON number'
		    unless $r->{body} =~ /"id"\s*:\s*[1-9]\d*\s*[,}]/;
		for my $ts (qw(createdAt updatedAt)) {
			push @bad, "$ts is not RFC 3339 UTC with milliseconds"
			    unless ($j->{$ts} // '') =~ $TIME_RE;
		}
		for my $s (qw(name specialization)) {
			push @bad, "$s is not a string"
			    unless defined $j->{$s} && !ref $j->{$s};
		}
	}
	push @bad, 'no ETag of the form "<version>"'
	    unless ($r->{headers}{etag} // '') =~ /^(?:W\/)?"[^"]+"$/;
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
	return !@bad;
}

# The ids of a list, sorted, compared with the ids expected.
sub has_ids {
	my ($rows, $ids, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return is_deeply([ sort { $a <=> $b } map { $_->{id} } @$rows ],
	    [ sort { $a <=> $b } @$ids ], $name);
}

sub settle { sleep(0.01) }	# so a write lands in a later millisecond

###############################################################################
# Create, and reading is public.

my $alice = $t->new_user;
my $bob = $t->new_user;

my $r = api($alice, POST => '/api/doctors', json => {
    name => "Gregory House $TAG", specialization => 'Diagnostic Medicine',
    contactInfo => 'Princeton-Plainsboro, ext. 1234' });
is_doctor($r, 201, 'POST /api/doctors is 201 with the doctor');
my $d = $r->{json};
my $id = $d->{id} // 0;
like($r->{headers}{location} // '', qr{^(?:https?://[^/]+)?/api/doctors/\Q$id\E$},
    'the 201 carries Location /api/doctors/<id>');
is_deeply({ map { $_ => $d->{$_} } qw(name specialization contactInfo) },
    { name => "Gregory House $TAG", specialization => 'Diagnostic Medicine',
    contactInfo => 'Princeton-Plainsboro, ext. 1234' },
    'the created doctor holds the fields sent');
my $created_etag = $r->{headers}{etag};
has_security_headers($r, 'a doctor response carries the security headers');

$r = $t->request(GET => "/api/doctors/$id");
is_doctor($r, 200, 'GET /api/doctors/:id without a token is 200 with the doctor');
is_deeply($r->{json}, $d, 'GET returns what POST returned');
is($r->{headers}{etag}, $created_etag, 'GET gives the ETag POST gave');
has_security_headers($r, 'a public response carries the security headers');

$r = $t->request(GET => "/api/doctors?q=$TAG");
is_json_response($r, 200, 'GET /api/doctors without a token is 200 JSON');
is(ref $r->{json}, 'ARRAY', 'the list is a JSON array');
is_deeply([ grep { $_->{id} == $id } @{ rows($r) } ], [ $d ],
    'the list holds the doctor exactly as GET shows it');

$r = api($bob, GET => "/api/doctors/$id");
is_deeply([ $r->{status}, $r->{json} ], [ 200, $d ],
    'another user reads the same doctor (the list is shared)');

$r = api($alice, POST => '/api/doctors', json => {
    name => "Only Required $TAG", specialization => 'Oncology' });
is_doctor($r, 201, 'POST with only name and specialization is 201');
ok(exists $r->{json}{contactInfo} && !defined $r->{json}{contactInfo},
    'contactInfo left out is null');

$r = api($alice, POST => '/api/doctors', json => {
    name => "Null Contact $TAG", specialization => 'Oncology', contactInfo => undef });
is_doctor($r, 201, 'POST with contactInfo null is 201');
ok(exists $r->{json}{contactInfo} && !defined $r->{json}{contactInfo},
    'and contactInfo is null');

###############################################################################
# Writing needs a token.

my $guarded = make_doctor($alice, { name => "Guarded $TAG",
    specialization => 'Radiology', contactInfo => 'room 1' });
my $gid = $guarded->{id};
my $gbefore = fetch($gid);
my $count_before = $t->psql(
    "SELECT count(*) FROM doctors WHERE name LIKE 'No Token%$TAG'");
my @writes = (
	[ POST => '/api/doctors',
	    json => { name => "No Token $TAG", specialization => 'X' } ],
	[ PUT => "/api/doctors/$gid",
	    json => { name => "No Token $TAG", specialization => 'X' } ],
	[ PATCH => "/api/doctors/$gid", json => { name => "No Token $TAG" } ],
	[ DELETE => "/api/doctors/$gid" ],
);
for my $w (@writes) {
	my ($m, $path, @o) = @$w;
	(my $shown = $path) =~ s/\d+$/:id/;
	$r = $t->request($m, $path, @o);
	is_problem($r, 401, "$m $shown without a token is 401");
	like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
	    "and the 401 for $m $shown carries WWW-Authenticate: Bearer");
	$r = $t->request($m, $path, @o, token => 'not.a.token');
	is_problem($r, 401, "$m $shown with a garbage token is 401");
	like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b.*error="invalid_token"/,
	    "and says error=\"invalid_token\" in WWW-Authenticate ($m $shown)");
}
is_deeply(fetch($gid), $gbefore, 'the doctor is unchanged after the refused writes');
is($t->psql("SELECT count(*) FROM doctors WHERE name LIKE 'No Token%$TAG'"),
    $count_before, 'no doctor was created without a token');

###############################################################################
# Validation limits, on both sides of each.

# [ fields, expected bad field or undef when fine, stored field => value ]
my %ok = (name => "Valid $TAG", specialization => 'Valid');
my @cases = (
	# name: required, 1 to 200 code points, trimmed
	[ { %ok, name => 'a' }, undef, name => 'a', 'a one-character name is fine' ],
	[ { %ok, name => 'a' x 200 }, undef, name => 'a' x 200,
	    'a 200-character name is fine' ],
	[ { %ok, name => 'a' x 201 }, 'name', 'a 201-character name is 400' ],
	[ { %ok, name => 'é' x 200 }, undef, name => 'é' x 200,
	    'a name of 200 two-byte characters (400 bytes) is fine' ],
	[ { %ok, name => 'é' x 201 }, 'name', 'a name of 201 two-byte characters is 400' ],
	[ { %ok, name => "\x{1F600}" x 200 }, undef, name => "\x{1F600}" x 200,
	    'a name of 200 four-byte characters is fine' ],
	[ { %ok, name => "\x{1F600}" x 201 }, 'name',
	    'a name of 201 four-byte characters is 400' ],
	[ { %ok, name => '  ' . 'n' x 200 . " \t" }, undef, name => 'n' x 200,
	    'white space around a 200-character name is trimmed before counting' ],
	[ { %ok, name => "  Dr. Trimmed \n" }, undef, name => 'Dr. Trimmed',
	    'the name is stored trimmed' ],
	[ { %ok, name => '' }, 'name', 'an empty name is 400' ],
	[ { %ok, name => '   ' }, 'name', 'a name of spaces only is 400' ],
	[ { specialization => 'Valid' }, 'name', 'a missing name is 400' ],
	[ { %ok, name => undef }, 'name', 'a null name is 400' ],
	[ { %ok, name => 42 }, 'name', 'a numeric name is 400' ],
	[ { %ok, name => [ 'a' ] }, 'name', 'an array as name is 400' ],
	# specialization: required, 1 to 100 code points, trimmed
	[ { %ok, specialization => 'x' }, undef, specialization => 'x',
	    'a one-character specialization is fine' ],
	[ { %ok, specialization => 'x' x 100 }, undef, specialization => 'x' x 100,
	    'a 100-character specialization is fine' ],
	[ { %ok, specialization => 'x' x 101 }, 'specialization',
	    'a 101-character specialization is 400' ],
	[ { %ok, specialization => 'ß' x 100 }, undef, specialization => 'ß' x 100,
	    'a specialization of 100 two-byte characters is fine' ],
	[ { %ok, specialization => 'ß' x 101 }, 'specialization',
	    'a specialization of 101 two-byte characters is 400' ],
	[ { %ok, specialization => ' ' . 'x' x 100 . ' ' }, undef,
	    specialization => 'x' x 100,
	    'white space around a 100-character specialization is trimmed before counting' ],
	[ { %ok, specialization => "\tNeurology  " }, undef, specialization => 'Neurology',
	    'the specialization is stored trimmed' ],
	[ { %ok, specialization => '' }, 'specialization', 'an empty specialization is 400' ],
	[ { %ok, specialization => '  ' }, 'specialization',
	    'a specialization of spaces only is 400' ],
	[ { name => "Valid $TAG" }, 'specialization', 'a missing specialization is 400' ],
	[ { %ok, specialization => undef }, 'specialization',
	    'a null specialization is 400' ],
	[ { %ok, specialization => 7 }, 'specialization',
	    'a numeric specialization is 400' ],
	[ { %ok, specialization => { a => 1 } }, 'specialization',
	    'an object as specialization is 400' ],
	# contactInfo: optional, at most 200 code points, or null
	[ { %ok, contactInfo => 'c' x 200 }, undef, contactInfo => 'c' x 200,
	    'a 200-character contactInfo is fine' ],
	[ { %ok, contactInfo => 'c' x 201 }, 'contactInfo',
	    'a 201-character contactInfo is 400' ],
	[ { %ok, contactInfo => '€' x 200 }, undef, contactInfo => '€' x 200,
	    'a contactInfo of 200 three-byte characters (600 bytes) is fine' ],
	[ { %ok, contactInfo => '€' x 201 }, 'contactInfo',
	    'a contactInfo of 201 three-byte characters is 400' ],
	[ { %ok, contactInfo => '  ' . 'c' x 200 . '  ' }, undef, contactInfo => 'c' x 200,
	    'white space around a 200-character contactInfo is trimmed before counting' ],
	[ { %ok, contactInfo => ' +1 555 0100 ' }, undef, contactInfo => '+1 555 0100',
	    'contactInfo is stored trimmed' ],
	[ { %ok, contactInfo => undef }, undef, contactInfo => undef,
	    'contactInfo null is fine' ],
	[ { %ok }, undef, contactInfo => undef, 'contactInfo left out is fine (null)' ],
	[ { %ok, contactInfo => 5550100 }, 'contactInfo', 'a numeric contactInfo is 400' ],
	[ { %ok, contactInfo => [ 'a@b.c' ] }, 'contactInfo',
	    'an array as contactInfo is 400' ],
);
for my $c (@cases) {
	my $name = pop @$c;
	my ($body, $bad, @stored) = @$c;
	$r = api($alice, POST => '/api/doctors', json => $body);
	if (defined $bad) {
		is_invalid($r, "POST: $name", $bad);
	} else {
		my ($f, $v) = @stored;
		ok($r->{status} == 201 && ref $r->{json} eq 'HASH'
		    && exists $r->{json}{$f}
		    && (defined $v ? ($r->{json}{$f} // "\0undef") eq $v
		    : !defined $r->{json}{$f}), "POST: $name")
		    or diag(show_response($r));
	}
}

# The same limits hold for PUT and PATCH.
$d = make_doctor($alice, { name => "Limits $TAG", specialization => 'Limits',
    contactInfo => 'limits' });
$id = $d->{id};
my $before = fetch($id);
for my $m (qw(PUT PATCH)) {
	is_invalid(api($alice, $m => "/api/doctors/$id", json => { %ok, name => 'a' x 201 }),
	    "$m: a 201-character name is 400", 'name');
	is_invalid(api($alice, $m => "/api/doctors/$id", json => { %ok, name => ' ' }),
	    "$m: a blank name is 400", 'name');
	is_invalid(api($alice, $m => "/api/doctors/$id",
	    json => { %ok, specialization => 'x' x 101 }),
	    "$m: a 101-character specialization is 400", 'specialization');
	is_invalid(api($alice, $m => "/api/doctors/$id",
	    json => { %ok, specialization => '' }),
	    "$m: an empty specialization is 400", 'specialization');
	is_invalid(api($alice, $m => "/api/doctors/$id",
	    json => { %ok, contactInfo => 'c' x 201 }),
	    "$m: a 201-character contactInfo is 400", 'contactInfo');
}
is_deeply(fetch($id), $before, 'the refused PUTs and PATCHes changed nothing');
for my $m (qw(PUT PATCH)) {
	$r = api($alice, $m => "/api/doctors/$id", json => { name => 'é' x 200,
	    specialization => 'ß' x 100, contactInfo => '€' x 200 });
	ok($r->{status} == 200 && ($r->{json}{name} // '') eq 'é' x 200
	    && ($r->{json}{specialization} // '') eq 'ß' x 100
	    && ($r->{json}{contactInfo} // '') eq '€' x 200,
	    "$m: every field at its upper limit is fine") or diag(show_response($r));
}

# Every bad field at once.
$r = api($alice, POST => '/api/doctors', json => {
    name => '', specialization => 'x' x 101, contactInfo => 'c' x 201 });
is_invalid($r, 'POST reports every bad field at once', qw(name specialization contactInfo));
$r = api($alice, POST => '/api/doctors', json => {});
is_invalid($r, 'POST of an empty object is 400 naming both required fields',
    qw(name specialization));
$r = api($alice, POST => '/api/doctors', json => {
    name => 7, contactInfo => 'c' x 201, license => 'MD-1234' });
is_invalid($r, 'a bad field, a missing field and an unknown field are reported together',
    qw(name specialization contactInfo license));
$r = api($alice, PUT => "/api/doctors/$id", json => {
    name => ' ', specialization => undef, contactInfo => [] });
is_invalid($r, 'PUT reports every bad field at once', qw(name specialization contactInfo));
$r = api($alice, PATCH => "/api/doctors/$id", json => {
    name => 'a' x 201, specialization => '', contactInfo => 'c' x 201 });
is_invalid($r, 'PATCH reports every bad field at once', qw(name specialization contactInfo));

# Unknown fields.
$r = api($alice, POST => '/api/doctors', json => { %ok, email => 'dr@example.org' });
is_invalid($r, 'POST with an unknown field is 400 naming it', 'email');
$r = api($alice, POST => '/api/doctors', json => { %ok, Specialization => 'X' });
is_invalid($r, 'field names are case-sensitive: "Specialization" is unknown',
    'Specialization');
$r = api($alice, POST => '/api/doctors', json => { %ok, contact_info => 'x' });
is_invalid($r, 'contact_info (not contactInfo) is an unknown field', 'contact_info');
$r = api($alice, PUT => "/api/doctors/$id", json => { %ok, phone => '555' });
is_invalid($r, 'PUT with an unknown field is 400 naming it', 'phone');
$r = api($alice, PATCH => "/api/doctors/$id", json => { phone => '555' });
is_invalid($r, 'PATCH with an unknown field is 400 naming it', 'phone');
$r = api($alice, POST => '/api/doctors', json => { %ok, a => 1, b => 2 });
is_invalid($r, 'two unknown fields are both named', qw(a b));

# Read-only fields are ignored.
$r = api($alice, POST => '/api/doctors', json => { name => "Read Only $TAG",
    specialization => 'Dermatology', id => 987654321,
    createdAt => '2001-02-03T04:05:06.789Z', updatedAt => '2001-02-03T04:05:06.789Z',
    userId => $bob->{id} });
is_doctor($r, 201, 'POST with id, createdAt, updatedAt and userId is 201: they are ignored');
isnt($r->{json}{id}, 987654321, 'the id in the body is not used');
isnt($r->{json}{createdAt}, '2001-02-03T04:05:06.789Z', 'createdAt in the body is not used');
isnt($r->{json}{updatedAt}, '2001-02-03T04:05:06.789Z', 'updatedAt in the body is not used');
is(fetch(987654321)->{status}, 404, 'no doctor appeared at the id in the body');

###############################################################################
# PUT: full replace.

$d = make_doctor($alice, { name => "Lisa Cuddy $TAG", specialization => 'Endocrinology',
    contactInfo => 'Dean of Medicine' });
$id = $d->{id};
$before = fetch($id);
settle();
$r = api($alice, PUT => "/api/doctors/$id", json => {
    name => "Lisa Cuddy MD $TAG", specialization => 'Administration' });
is_doctor($r, 200, 'PUT /api/doctors/:id is 200 with the doctor');
is_deeply([ @{ $r->{json} // {} }{qw(name specialization)} ],
    [ "Lisa Cuddy MD $TAG", 'Administration' ], 'PUT sets the fields sent');
ok(exists $r->{json}{contactInfo} && !defined $r->{json}{contactInfo},
    'PUT sets contactInfo, left out, to null');
is($r->{json}{id}, $id, 'PUT keeps the id');
is($r->{json}{createdAt}, $d->{createdAt}, 'PUT does not change createdAt');
ok(($r->{json}{updatedAt} // '') gt $d->{updatedAt}, 'PUT moves updatedAt forward')
    or diag("before $d->{updatedAt}, after " . ($r->{json}{updatedAt} // 'none'));
isnt($r->{headers}{etag}, $before->{etag}, 'PUT changes the ETag');
my $after = fetch($id);
is_deeply($after->{json}, $r->{json}, 'GET after PUT shows what PUT returned');
is($after->{etag}, $r->{headers}{etag}, 'and the same ETag');

$before = $after;
$r = api($alice, PUT => "/api/doctors/$id", json => { name => 'No Specialization' });
is_invalid($r, 'PUT without a specialization is 400 naming it', 'specialization');
$r = api($alice, PUT => "/api/doctors/$id", json => { specialization => 'No Name' });
is_invalid($r, 'PUT without a name is 400 naming it', 'name');
$r = api($alice, PUT => "/api/doctors/$id", json => {});
is_invalid($r, 'PUT of an empty object is 400 naming both required fields',
    qw(name specialization));
is_deeply(fetch($id), $before, 'a refused PUT changes nothing');

# A client may PUT back what it got, read-only fields and all.
api($alice, PUT => "/api/doctors/$id", json => { name => "Lisa Cuddy $TAG",
    specialization => 'Endocrinology', contactInfo => 'Dean of Medicine' });
$before = fetch($id);
settle();
$r = api($alice, PUT => "/api/doctors/$id", json => $before->{json});
is_doctor($r, 200, 'PUT of the body GET returned is 200');
is_deeply({ map { $_ => $r->{json}{$_} } qw(id name specialization contactInfo createdAt) },
    { map { $_ => $before->{json}{$_} } qw(id name specialization contactInfo createdAt) },
    'and leaves every field as it was');
settle();
$r = api($alice, PUT => "/api/doctors/$id", json => { %{ $before->{json} },
    id => $id + 1000, createdAt => '1999-01-01T00:00:00.000Z',
    updatedAt => '1999-01-01T00:00:00.000Z', userId => $bob->{id},
    contactInfo => 'Princeton' });
is_doctor($r, 200, 'PUT with id, createdAt, updatedAt and userId of other values is 200');
is($r->{json}{id}, $id, 'the id in a PUT body is ignored');
is($r->{json}{createdAt}, $before->{json}{createdAt}, 'createdAt in a PUT body is ignored');
isnt($r->{json}{updatedAt}, '1999-01-01T00:00:00.000Z', 'updatedAt in a PUT body is ignored');
is($r->{json}{contactInfo}, 'Princeton', 'the writable fields are still applied');

###############################################################################
# PATCH: only the fields sent change.

$d = make_doctor($alice, { name => "James Wilson $TAG", specialization => 'Oncology',
    contactInfo => 'ext. 2' });
$id = $d->{id};
my $etag0 = fetch($id)->{etag};
settle();
$r = api($alice, PATCH => "/api/doctors/$id", json => { contactInfo => 'ext. 3' });
is_doctor($r, 200, 'PATCH /api/doctors/:id is 200 with the doctor');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$d, contactInfo => 'ext. 3', updatedAt => undef },
    'PATCH of contactInfo changes only contactInfo');
ok(($r->{json}{updatedAt} // '') gt $d->{updatedAt}, 'PATCH moves updatedAt forward')
    or diag("before $d->{updatedAt}, after " . ($r->{json}{updatedAt} // 'none'));
isnt($r->{headers}{etag}, $etag0, 'PATCH changes the ETag');
$d = $r->{json};

$r = api($alice, PATCH => "/api/doctors/$id", json => { specialization => ' Hematology ' });
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$d, specialization => 'Hematology', updatedAt => undef },
    'PATCH of specialization changes only the specialization, trimmed');
$d = $r->{json};

$r = api($alice, PATCH => "/api/doctors/$id", json => { name => "Jimmy Wilson $TAG" });
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$d, name => "Jimmy Wilson $TAG", updatedAt => undef },
    'PATCH of name changes only the name');
$d = $r->{json};

$r = api($alice, PATCH => "/api/doctors/$id", json => { contactInfo => undef });
is($r->{status}, 200, 'PATCH with contactInfo null is 200');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$d, contactInfo => undef, updatedAt => undef },
    'PATCH with null clears contactInfo and nothing else');
$d = $r->{json};

$r = api($alice, PATCH => "/api/doctors/$id", json => {});
is($r->{status}, 200, 'PATCH of an empty object is 200');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef }, { %$d, updatedAt => undef },
    'and changes no field');

$before = fetch($id);
$r = api($alice, PATCH => "/api/doctors/$id", json => { name => undef });
is_invalid($r, 'PATCH with name null is 400: name is required', 'name');
$r = api($alice, PATCH => "/api/doctors/$id", json => { specialization => undef });
is_invalid($r, 'PATCH with specialization null is 400: it is required', 'specialization');
$r = api($alice, PATCH => "/api/doctors/$id", json => { name => 'Fine', specialization => '' });
is_invalid($r, 'PATCH with one bad field is 400', 'specialization');
is_deeply(fetch($id), $before, 'a refused PATCH changes nothing, not even the good fields');

$r = api($alice, PATCH => "/api/doctors/$id", json => { %{ $before->{json} },
    id => $id + 1000, createdAt => '2000-01-01T00:00:00.000Z', userId => $bob->{id} });
is($r->{status}, 200, 'PATCH with read-only fields is 200');
is_deeply([ @{ $r->{json} // {} }{qw(id createdAt)} ],
    [ $id, $before->{json}{createdAt} ], 'and they are ignored');

###############################################################################
# Any signed-in user may edit any doctor.

$d = make_doctor($alice, { name => "Shared $TAG", specialization => 'Surgery',
    contactInfo => 'alice made me' });
$id = $d->{id};
$r = api($bob, PUT => "/api/doctors/$id", json => {
    name => "Shared By Bob $TAG", specialization => 'Orthopedic Surgery',
    contactInfo => 'bob put me' });
is_doctor($r, 200, "PUT by another user of a doctor alice created is 200");
is($r->{json}{contactInfo}, 'bob put me', 'and the change is made');
$r = api($bob, PATCH => "/api/doctors/$id", json => { contactInfo => 'bob patched me' });
is_doctor($r, 200, "PATCH by another user is 200");
$r = fetch($id);
is_deeply([ @{ $r->{json} // {} }{qw(name specialization contactInfo)} ],
    [ "Shared By Bob $TAG", 'Orthopedic Surgery', 'bob patched me' ],
    'everyone sees the other user\'s changes');
$r = api($alice, PATCH => "/api/doctors/$id", json => { contactInfo => 'alice again' });
is($r->{status}, 200, 'and the creator may still edit it');
$r = api($bob, DELETE => "/api/doctors/$id");
is($r->{status}, 204, 'DELETE by another user is 204');
is(fetch($id)->{status}, 410, 'and the doctor is gone');

###############################################################################
# DELETE.

$d = make_doctor($alice, { name => "Short Lived $TAG", specialization => 'Urology' });
$id = $d->{id};
$r = api($alice, DELETE => "/api/doctors/$id");
is($r->{status}, 204, 'DELETE /api/doctors/:id is 204');
is($r->{body}, '', 'the 204 has no body');
is_problem($t->request(GET => "/api/doctors/$id"), 410, 'GET after DELETE is 410');
is_problem(api($alice, DELETE => "/api/doctors/$id"), 410, 'a second DELETE is 410');
is_problem(api($alice, PUT => "/api/doctors/$id", json => { %ok }), 410,
    'PUT after DELETE is 410');
is_problem(api($alice, PATCH => "/api/doctors/$id", json => { name => 'Back' }), 410,
    'PATCH after DELETE is 410');
ok(!grep({ $_->{id} == $id } @{ list("q=$TAG&limit=200") }),
    'the deleted doctor is not in the list');
$r = $t->request(GET => "/api/doctors/$id");
like($r->{json}{detail} // '', qr/\bdoctor \Q$id\E was deleted; it can be restored until \d{4}-\d\d-\d\dT/,
    'the 410 detail names the doctor id and until when it can be restored');
is_problem($t->request(GET => '/api/doctors/99999999'), 404,
    'a doctor that never was is still 404');

###############################################################################
# A doctor assigned to patients, of any user, can be deleted: the mappings
# leave every list, and come back with the doctor.

my $carol = $t->new_user;
$d = make_doctor($alice, { name => "Assigned $TAG", specialization => 'Neurology',
    contactInfo => 'busy' });
$id = $d->{id};
my $carol_patient = make_patient($carol, 'Carol Patient');
my $bob_patient = make_patient($bob, 'Bob Patient');
my $m_carol = assign($carol, $carol_patient, $id);
my $m_bob = assign($bob, $bob_patient, $id);
$before = fetch($id);

my $mapped = sub {
	my ($u, $patient) = @_;
	my $r = api($u, GET => "/api/mappings?doctorId=$id");
	my $p = api($u, GET => "/api/mappings/patient/$patient");
	return (scalar @{ $r->{json} // [] }) . '/'
	    . (scalar grep { $_->{id} == $id } @{ $p->{json} // [] });
};
is($mapped->($carol, $carol_patient), '1/1', "(carol's patient has the doctor)");
$r = api($alice, DELETE => "/api/doctors/$id");
is($r->{status}, 204, "DELETE of a doctor assigned to other users' patients is 204");
is($mapped->($carol, $carol_patient), '0/0',
    "its mapping leaves carol's lists (GET /api/mappings, the patient's doctors)");
is($mapped->($bob, $bob_patient), '0/0', "and bob's");
is($t->psql("SELECT count(*) FROM patient_doctors WHERE doctor_id = $id"), 2,
    'the mappings are kept in the database');
is_problem(api($carol, DELETE => "/api/mappings/$m_carol"), 404,
    'a mapping to a deleted doctor is out of reach: DELETE is 404');
is_problem(api($carol, POST => '/api/mappings', json => {
    patientId => $carol_patient, doctorId => $id }), 404,
    'and the deleted doctor cannot be assigned');
$r = api($bob, POST => "/api/doctors/$id/restore");
is($r->{status}, 200, 'POST /api/doctors/:id/restore by any user is 200');
is($mapped->($carol, $carol_patient), '1/1', "carol's mapping is back with the doctor");
is($mapped->($bob, $bob_patient), '1/1', "and bob's");
is_deeply([ @{ fetch($id)->{json} }{qw(name specialization contactInfo)} ],
    [ @{ $before->{json} }{qw(name specialization contactInfo)} ],
    'the restored doctor is the one that was deleted');

###############################################################################
# ?specialization= is exact and case-insensitive; ?q= a case-insensitive
# substring of the name.

my $SP = "Card$TAG";	# the specialization filter, alone
my @sp_match = map { make_doctor($alice, { name => "Spec $TAG $_->[0]",
    specialization => $_->[1] })->{id} } [ 1, "Cardiology $SP" ],
    [ 2, "cardiology \L$SP" ], [ 3, "CARDIOLOGY \U$SP" ], [ 4, "  Cardiology $SP\t" ];
my @sp_other = map { make_doctor($alice, { name => "Spec $TAG $_->[0]",
    specialization => $_->[1] })->{id} } [ 5, "Cardiology $SP Assistant" ],
    [ 6, "Pediatric Cardiology $SP" ], [ 7, "Cardiology$SP" ];
my $rows = list('specialization=' . uri_escape("cardiology \L$SP") . '&limit=200');
has_ids($rows, \@sp_match,
    '?specialization= matches exactly, in any case, and nothing longer or shorter');
$rows = list('specialization=' . uri_escape("CARDIOLOGY \U$SP") . '&limit=200');
has_ids($rows, \@sp_match, 'the filter value itself may be in any case');
$rows = list('specialization=' . uri_escape("Cardiology $SP Assistant"));
has_ids($rows, [ $sp_other[0] ], '?specialization= of the longer one finds only that one');
$rows = list('specialization=' . uri_escape("Cardiology"));
ok(!grep({ my $i = $_->{id}; grep { $_ == $i } @sp_match, @sp_other } @$rows),
    'a specialization that is only a prefix of theirs finds none of them');
$rows = list('specialization=' . uri_escape("Cardiology \L$SP") . '&limit=200');
ok(@$rows == 4 && !grep({ lc $_->{specialization} ne lc "Cardiology $SP" } @$rows),
    'every doctor the filter returns has that specialization, in some case');

# The contract's own example: "cardiologist" finds "Cardiologist" but not
# "Cardiologist Assistant".  Other test files may have cardiologists too,
# so q= narrows it to ours.
my $W = word(12);
my @cardio = map { make_doctor($alice, { name => "Heart $W $_->[0]",
    specialization => $_->[1] })->{id} } [ 1, 'Cardiologist' ], [ 2, 'CARDIOLOGIST' ];
my @assistant = map { make_doctor($alice, { name => "Heart $W $_->[0]",
    specialization => $_->[1] })->{id} } [ 3, 'Cardiologist Assistant' ],
    [ 4, 'Interventional Cardiologist' ];
$rows = list("specialization=cardiologist&q=$W&limit=200");
has_ids($rows, \@cardio, '?specialization=cardiologist matches "Cardiologist" and '
    . '"CARDIOLOGIST" but not "Cardiologist Assistant"');
$rows = list('specialization=Cardiologist%20Assistant&q=' . $W);
has_ids($rows, [ $assistant[0] ], '?specialization=Cardiologist%20Assistant finds only it');
$rows = list("specialization=cardiologist&limit=200");
ok(@$rows >= 2 && !grep({ lc $_->{specialization} ne 'cardiologist' } @$rows),
    'without q=, every doctor ?specialization=cardiologist returns is a cardiologist')
    or diag(explain([ map { $_->{specialization} } @$rows ]));

# q=: a case-insensitive substring of the name; % and _ are literal.
my $Q = word(12);
my %qd = (
	tail	=> make_doctor($alice, { name => "Anna \u$Q-son",
	    specialization => 'Q Test' })->{id},
	upper	=> make_doctor($alice, { name => "Bert \U$Q\E Jr",
	    specialization => 'Q Test' })->{id},
	head	=> make_doctor($alice, { name => "${Q}berg",
	    specialization => 'Q Test' })->{id},
	split	=> make_doctor($alice, { name => 'Dora ' . substr($Q, 0, 6) . ' '
	    . substr($Q, 6), specialization => 'Q Test' })->{id},
	pct	=> make_doctor($alice, { name => "Pct $Q%_x",
	    specialization => 'Q Test' })->{id},
	plain	=> make_doctor($alice, { name => "Pct ${Q}ab x",
	    specialization => 'Q Test' })->{id},
	spec	=> make_doctor($alice, { name => 'No Match Here',
	    specialization => "Q $Q" })->{id},
);
$rows = list("q=$Q&limit=200");
has_ids($rows, [ @qd{qw(tail upper head pct plain)} ],
    '?q= finds every name holding the text, in any case, at any place');
$rows = list('q=' . uc(substr($Q, 2, 7)) . '&limit=200');
has_ids($rows, [ @qd{qw(tail upper head pct plain)} ],
    '?q= in upper case finds the same doctors by a piece of the name');
$rows = list('q=' . uri_escape("$Q%_"));
has_ids($rows, [ $qd{pct} ], '?q= takes % and _ literally, not as wildcards');
$rows = list('q=' . uri_escape("Bert \U$Q\E Jr"));
has_ids($rows, [ $qd{upper} ], '?q= may hold spaces');
is_deeply(list('q=' . uri_escape("$Q zz")), [], '?q= that no name holds gives []');
$rows = list("q=$Q&specialization=Q%20TEST&limit=200");
has_ids($rows, [ @qd{qw(tail upper head pct plain)} ], '?q= and ?specialization= combine');

###############################################################################
# Paging by rel="next" over a specialization of our own, for every sort.

my $PS = "Paging $TAG";
my @nato = qw(Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett
    Kilo Lima Mike November Oscar Papa Quebec Romeo Sierra Tango);
# 60 doctors, each name three times, in an order that is neither the
# names' nor the reverse.
my @order = map { $nato[($_ * 7) % 20] } 0 .. 59;
my %paged;
for my $i (0 .. $#order) {
	my $p = make_doctor($alice, { name => $order[$i], specialization => $PS,
	    contactInfo => "page $i" });
	$paged{ $p->{id} } = $p;
}
# A third of them share one creation time, so that createdAt has a run of
# equal keys longer than a page: a cursor must tell them apart by id.
my @by_id = sort { $a <=> $b } keys %paged;
my @tied = @by_id[ grep { $_ % 3 == 0 } 0 .. $#by_id ];
$t->psql("UPDATE doctors SET created_at = '2024-06-01 12:00:00.123456+00' "
    . 'WHERE id IN (' . join(',', @tied) . ')');
for my $pid (@tied) {
	$paged{$pid} = fetch($pid)->{json};
}
is(scalar(grep { $_->{createdAt} eq '2024-06-01T12:00:00.123Z' } values %paged),
    20, '(20 of the 60 doctors now share one createdAt)');

my $PSq = uri_escape($PS);
my %sorter = (
	id		=> sub { $_[0]{id} <=> $_[1]{id} },
	name		=> sub { $_[0]{name} cmp $_[1]{name} },
	createdAt	=> sub { $_[0]{createdAt} cmp $_[1]{createdAt} },
);
for my $sort (qw(id -id name -name createdAt -createdAt)) {
	(my $field = $sort) =~ s/^-//;
	my $desc = $sort =~ /^-/;
	my $w = walk("/api/doctors?specialization=$PSq&limit=7&sort=$sort", 60);
	subtest "walking rel=\"next\" with sort=$sort and limit=7 gives every doctor once, in order" => sub {
		ok(!defined $w->{error}, 'every page is 200 with an array')
		    or diag($w->{error});
		my @ids = map { $_->{id} } @{ $w->{rows} };
		my %seen;
		my @dups = grep { $seen{$_}++ } @ids;
		is_deeply(\@dups, [], 'no doctor comes twice');
		has_ids($w->{rows}, [ keys %paged ], 'every doctor of the specialization comes');
		is_deeply($w->{sizes}, [ (7) x 8, 4 ], 'nine pages: eight of 7 and one of 4');
		my $cmp = $sorter{$field};
		my @bad = grep { my $c = $cmp->($w->{rows}[$_ - 1], $w->{rows}[$_]);
		    $desc ? $c < 0 : $c > 0 } 1 .. $#{ $w->{rows} };
		ok(!@bad, "the rows are in $sort order")
		    or diag("out of order at rows @bad: " . join(' ', map {
		    "$_->{id}=$_->{$field}" } @{ $w->{rows} }));
		if ($field eq 'id') {
			is_deeply(\@ids, [ sort { $desc ? $b <=> $a : $a <=> $b }
			    keys %paged ], "the ids are exactly in $sort order");
		}
		ok(!grep({ ($_->{specialization} // '') ne $PS } @{ $w->{rows} }),
		    'every row has the specialization: next keeps the filter');
		is_deeply([ sort { $a->{id} <=> $b->{id} } @{ $w->{rows} } ],
		    [ map { $paged{$_} } sort { $a <=> $b } keys %paged ],
		    'each row is the doctor as GET shows it');
	};
}

$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=name");
ok(defined link_target($r, 'first'), 'a list page carries a Link with rel="first"');
my $first = link_target($r, 'first') // '';
$r = $t->request(GET => $first);
is_deeply([ $r->{status}, [ map { $_->{id} } @{ rows($r) } ] ],
    [ 200, [ map { $_->{id} } @{ list("specialization=$PSq&limit=7&sort=name") } ] ],
    'rel="first" leads to the first page of the same list');

my $w = walk("/api/doctors?specialization=$PSq&limit=6", 60);
is_deeply([ $w->{error}, $w->{sizes} ], [ undef, [ (6) x 10 ] ],
    'with limit=6 over 60 doctors, the tenth page is the last: no rel="next" after it');
$w = walk("/api/doctors?specialization=$PSq&limit=200", 60);
is_deeply([ $w->{error}, $w->{sizes} ], [ undef, [ 60 ] ],
    'one page of 200 holds all 60 and has no rel="next"');

# Offset paging still works for clients that jump to a page.
$rows = list("specialization=$PSq&limit=7&offset=14");
is_deeply([ map { $_->{id} } @$rows ],
    [ (sort { $a <=> $b } keys %paged)[14 .. 20] ], '?offset=14&limit=7 is the third page');

# A cursor belongs to its sort and filter.
$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=name");
my $next = link_target($r, 'next') // '';
my ($cursor) = $next =~ /[?&]after=([^&]*)/;
ok(defined $cursor && length $cursor, 'the next link carries an after= cursor')
    or diag(show_response($r));
$cursor //= 'x';
my $OS = uri_escape("Other $TAG");
make_doctor($alice, { name => 'Zulu', specialization => "Other $TAG" });
is_problem($t->request(GET => "/api/doctors?specialization=$OS&limit=7&sort=name&after=$cursor"),
    400, 'a cursor made with another specialization filter is 400');
is_problem($t->request(GET => "/api/doctors?limit=7&sort=name&after=$cursor"),
    400, 'a cursor made with a specialization filter, used without it, is 400');
is_problem($t->request(GET => "/api/doctors?specialization=$PSq&q=a&limit=7&sort=name&after=$cursor"),
    400, 'a cursor used with an added q= filter is 400');
is_problem($t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=-name&after=$cursor"),
    400, 'a cursor made for sort=name, used with sort=-name, is 400');
is_problem($t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=id&after=$cursor"),
    400, 'a cursor made for sort=name, used with sort=id, is 400');
$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=name&after=$cursor");
is($r->{status}, 200, 'the same cursor with its own sort and filter is 200');
is_problem($t->request(GET => "/api/doctors?specialization=$PSq&after=not-a-cursor"),
    400, 'a malformed cursor is 400');
my $tampered = ($cursor =~ /^A/ ? 'B' : 'A') . substr($cursor, 1);
is_problem($t->request(GET => "/api/doctors?specialization=$PSq&limit=7&sort=name&after=$tampered"),
    400, 'a cursor with its first character changed is 400');

# Other bad list parameters.
for my $c ([ 'limit=0', 'limit=0' ], [ 'limit=201', 'limit=201' ],
    [ 'limit=abc', 'limit=abc' ], [ 'limit=-1', 'limit=-1' ],
    [ 'offset=-1', 'offset=-1' ], [ 'offset=x', 'offset=x' ],
    [ 'sort=specialty', 'sort=specialty' ], [ 'sort=Name', 'sort=Name' ],
    [ 'sort=bogus', 'sort=bogus' ], [ 'sort=-', 'sort=-' ]) {
	my ($q, $what) = @$c;
	is_problem($t->request(GET => "/api/doctors?$q"), 400, "GET /api/doctors with $what is 400");
}
is($t->request(GET => "/api/doctors?specialization=$PSq&limit=200")->{status}, 200,
    'limit=200 is fine');
is($t->request(GET => "/api/doctors?specialization=$PSq&limit=1")->{status}, 200,
    'limit=1 is fine');

###############################################################################
# Prefer: count=exact.

$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=7",
    headers => { Prefer => 'count=exact' });
is($r->{status}, 200, 'a list with Prefer: count=exact is 200');
is($r->{headers}{'x-total-count'}, 60,
    'Prefer: count=exact with the specialization filter gives X-Total-Count: 60');
is($r->{headers}{'preference-applied'}, 'count=exact', 'and Preference-Applied: count=exact');
is(scalar @{ rows($r) }, 7, 'while the page itself holds only 7');
$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=7");
ok(!exists $r->{headers}{'x-total-count'}, 'without Prefer there is no X-Total-Count');
$r = $t->request(GET => "/api/doctors?q=$Q", headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 5, 'the count follows the q= filter too');
$r = $t->request(GET => "/api/doctors?specialization=cardiologist&q=$W",
    headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 2, 'and both filters at once');
my ($one) = sort { $a <=> $b } keys %paged;
is(api($alice, DELETE => "/api/doctors/$one")->{status}, 204, '(one paged doctor is deleted)');
$r = $t->request(GET => "/api/doctors?specialization=$PSq&limit=1",
    headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 59, 'the count is exact: 59 after one delete');

###############################################################################
# Path ids and methods.

for my $bad ('abc', '0', '-1', '99999999999999999999', '1.5',
    '9223372036854775808') {
	is_problem($t->request(GET => "/api/doctors/$bad"), 404,
	    "GET /api/doctors/$bad is 404");
	for my $m (qw(PUT PATCH DELETE)) {
		my @o = $m =~ /^P/ ? (json => { %ok }) : ();
		is_problem(api($alice, $m => "/api/doctors/$bad", @o), 404,
		    "$m /api/doctors/$bad is 404");
	}
}
is_problem($t->request(GET => '/api/doctors/9223372036854775807'), 404,
    'GET of the largest 63-bit id, which does not exist, is 404');

sub allow_set {
	my ($res) = @_;
	my $v = $res->{headers}{allow} // '';
	$v = join ', ', @$v if ref $v;
	return join ', ', sort grep { $_ ne 'HEAD' } split /\s*,\s*/, $v;
}

$d = make_doctor($alice, { name => "Methods $TAG", specialization => 'Methods' });
$id = $d->{id};
$before = fetch($id);
for my $c ([ POST => "/api/doctors/$id", 'DELETE, GET, PATCH, PUT' ],
    [ DELETE => '/api/doctors', 'GET, POST' ],
    [ PUT => '/api/doctors', 'GET, POST' ],
    [ PATCH => '/api/doctors', 'GET, POST' ]) {
	my ($m, $path, $allow) = @$c;
	$r = api($alice, $m => $path, $m eq 'DELETE' ? () : (json => { %ok }));
	(my $shown = $path) =~ s/\d+$/:id/;
	is_problem($r, 405, "$m $shown is 405");
	is(allow_set($r), $allow, "the 405 for $m $shown says Allow: $allow");
}
is_deeply(fetch($id), $before, 'the doctor is unchanged after the 405s');

done_testing();
