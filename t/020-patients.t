#!/usr/bin/perl
# Patients (API.md "Patients" and "General rules"): the shape of a patient,
# create, read, full replace, partial update and delete, every validation
# limit on both sides, bodies the service must refuse, text stored
# literally, ownership on every route, authentication on every route, path
# ids and methods.

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
my $JSON = JSON::PP->new->utf8->canonical;

my $TIME_RE = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
my @FIELDS = qw(address age createdAt gender id name updatedAt);

###############################################################################
# Helpers that die (not tests).

# api($user, $method, $path, %request options): a request with the user's
# token.
sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# raw($user, $method, $path, $bytes): a body sent as is, as application/json,
# so past Prism (direct), which would parse it and send its own JSON.
sub raw {
	my ($u, $method, $path, $bytes, %o) = @_;
	return api($u, $method, $path, body => $bytes,
	    content_type => 'application/json', direct => 1, %o);
}

# make_patient($user, \%fields): creates a patient; returns its JSON.
# This is not a test.  It die()s on failure.
sub make_patient {
	my ($u, $f) = @_;
	my $r = api($u, POST => '/api/patients', json => $f);
	die "POST /api/patients: " . show_response($r)
	    unless $r->{status} == 201 && ref $r->{json} eq 'HASH';
	return $r->{json};
}

# fetch($user, $id): GET of one patient, as { status, json, etag }.
# This is not a test.
sub fetch {
	my ($u, $id) = @_;
	my $r = api($u, GET => "/api/patients/$id");
	return { status => $r->{status}, json => $r->{json},
	    etag => $r->{headers}{etag} };
}

sub epoch_of {
	my ($ts) = @_;
	my ($y, $mo, $d, $h, $mi, $s) =
	    $ts =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/ or return undef;
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

# A 200/201 patient response with exactly the patient's fields.
sub is_patient {
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
		push @bad, 'age is neither null nor a JSON number'
		    unless $r->{body} =~ /"age"\s*:\s*(?:null|\d+)\s*[,}]/;
	}
	push @bad, 'no ETag of the form "<version>"'
	    unless ($r->{headers}{etag} // '') =~ /^"[^"]+"$/;
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
	return !@bad;
}

###############################################################################
# Create and read.

my $alice = $t->new_user;
my $bob = $t->new_user;

my $r = api($alice, POST => '/api/patients', json => {
    name => 'Ada Lovelace', age => 36, gender => 'female',
    address => '12 St James Square, London' });
is_patient($r, 201, 'POST /api/patients is 201 with the patient');
my $p = $r->{json};
my $id = $p->{id};
like($r->{headers}{location} // '', qr{^(?:https?://[^/]+)?/api/patients/\Q$id\E$},
    'the 201 carries Location /api/patients/<id>');
is_deeply({ map { $_ => $p->{$_} } qw(name age gender address) },
    { name => 'Ada Lovelace', age => 36, gender => 'female',
    address => '12 St James Square, London' },
    'the created patient holds the fields sent');
my $created_etag = $r->{headers}{etag};
has_security_headers($r, 'a patient response carries the security headers');

my $now = time;
ok(abs((epoch_of($p->{createdAt}) // 0) - $now) < 300
    && abs((epoch_of($p->{updatedAt}) // 0) - $now) < 300,
    'createdAt and updatedAt are now, in UTC')
    or diag("createdAt $p->{createdAt}, updatedAt $p->{updatedAt}, now "
    . gmtime($now));

$r = api($alice, GET => "/api/patients/$id");
is_patient($r, 200, 'GET /api/patients/:id is 200 with the patient');
is_deeply($r->{json}, $p, 'GET returns what POST returned');
is($r->{headers}{etag}, $created_etag, 'GET gives the ETag POST gave');

$r = api($alice, GET => '/api/patients');
is_json_response($r, 200, 'GET /api/patients is 200 JSON');
is(ref $r->{json}, 'ARRAY', 'the list is a JSON array');
is_deeply([ grep { $_->{id} == $id } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] } ],
    [ $p ], 'the list holds the patient exactly as GET shows it');

$r = api($alice, POST => '/api/patients', json => { name => 'Only A Name' });
is_patient($r, 201, 'POST with only a name is 201');
is_deeply([ @{ $r->{json} // {} }{qw(age gender address)} ], [ undef, undef, undef ],
    'optional fields left out are null');

$r = api($alice, POST => '/api/patients', json => {
    name => 'Nulls', age => undef, gender => undef, address => undef });
is_patient($r, 201, 'POST with explicit nulls for every optional field is 201');
is_deeply([ @{ $r->{json} // {} }{qw(age gender address)} ], [ undef, undef, undef ],
    'and they are null');

$r = api($alice, POST => '/api/patients', json => { name => 'Charset' },
    content_type => 'application/json; charset=utf-8');
is($r->{status}, 201, 'Content-Type application/json; charset=utf-8 is taken');
$r = api($alice, POST => '/api/patients', json => { name => 'Upper' },
    content_type => 'Application/JSON');
is($r->{status}, 201, 'the media type is matched without regard to case');

###############################################################################
# PUT: full replace.

sub settle { sleep(0.01) }	# so a write lands in a later millisecond

$p = make_patient($alice, { name => 'Grace Hopper', age => 85,
    gender => 'female', address => 'Arlington' });
$id = $p->{id};
my $before = fetch($alice, $id);
settle();
$r = api($alice, PUT => "/api/patients/$id", json => { name => 'Grace B. Hopper' });
is_patient($r, 200, 'PUT /api/patients/:id is 200 with the patient');
is($r->{json}{name}, 'Grace B. Hopper', 'PUT sets the name');
is_deeply([ @{ $r->{json} }{qw(age gender address)} ], [ undef, undef, undef ],
    'PUT sets the fields left out to null');
is($r->{json}{id}, $id, 'PUT keeps the id');
is($r->{json}{createdAt}, $p->{createdAt}, 'PUT does not change createdAt');
ok(($r->{json}{updatedAt} // '') gt $p->{updatedAt}, 'PUT moves updatedAt forward')
    or diag("before $p->{updatedAt}, after " . ($r->{json}{updatedAt} // 'none'));
isnt($r->{headers}{etag}, $before->{etag}, 'PUT changes the ETag');
my $after = fetch($alice, $id);
is_deeply($after->{json}, $r->{json}, 'GET after PUT shows what PUT returned');
is($after->{etag}, $r->{headers}{etag}, 'and the same ETag');

$before = fetch($alice, $id);
$r = api($alice, PUT => "/api/patients/$id", json => { age => 40, gender => 'male' });
is_invalid($r, 'PUT without a name is 400 naming name', 'name');
$r = api($alice, PUT => "/api/patients/$id", json => {});
is_invalid($r, 'PUT of an empty object is 400 naming name', 'name');
$r = api($alice, PUT => "/api/patients/$id", json => { name => 'X', age => 151 });
is_invalid($r, 'PUT with a bad age is 400', 'age');
is_deeply(fetch($alice, $id), $before, 'a refused PUT changes nothing');

# A client may PUT back what it got.
$r = api($alice, PUT => "/api/patients/$id", json => {
    name => 'Grace Hopper', age => 85, gender => 'female', address => 'Arlington' });
$before = fetch($alice, $id);
settle();
$r = api($alice, PUT => "/api/patients/$id", json => $before->{json});
is_patient($r, 200, 'PUT of the body GET returned is 200');
is_deeply({ map { $_ => $r->{json}{$_} } qw(id name age gender address createdAt) },
    { map { $_ => $before->{json}{$_} } qw(id name age gender address createdAt) },
    'and leaves every field as it was');

# Read-only fields with other values are ignored.
settle();
$r = api($alice, PUT => "/api/patients/$id", json => { %{ $before->{json} },
    id => $id + 1000, createdAt => '1999-01-01T00:00:00.000Z',
    updatedAt => '1999-01-01T00:00:00.000Z', userId => $bob->{id},
    name => 'Rear Admiral Hopper' });
is_patient($r, 200, 'PUT with id, createdAt, updatedAt and userId of other values is 200');
is($r->{json}{id}, $id, 'the id in the body is ignored');
is($r->{json}{createdAt}, $before->{json}{createdAt}, 'createdAt in the body is ignored');
isnt($r->{json}{updatedAt}, '1999-01-01T00:00:00.000Z', 'updatedAt in the body is ignored');
is($r->{json}{name}, 'Rear Admiral Hopper', 'the writable fields are still applied');
is(fetch($alice, $id)->{status}, 200, 'userId in a PUT body leaves the patient with its owner');
is(fetch($bob, $id)->{status}, 404, 'and does not hand it to the user it names');
is(fetch($alice, $id + 1000)->{status}, 404, 'no patient appeared at the id in the body');

###############################################################################
# PATCH: only the fields sent change.

$p = make_patient($alice, { name => 'Alan Turing', age => 41, gender => 'male',
    address => 'Wilmslow' });
$id = $p->{id};
my $etag0 = fetch($alice, $id)->{etag};
settle();
$r = api($alice, PATCH => "/api/patients/$id", json => { age => 42 });
is_patient($r, 200, 'PATCH /api/patients/:id is 200 with the patient');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$p, age => 42, updatedAt => undef }, 'PATCH of age changes only age');
is($r->{json}{createdAt}, $p->{createdAt}, 'PATCH does not change createdAt');
ok(($r->{json}{updatedAt} // '') gt $p->{updatedAt}, 'PATCH moves updatedAt forward')
    or diag("before $p->{updatedAt}, after " . ($r->{json}{updatedAt} // 'none'));
my $etag1 = $r->{headers}{etag};
isnt($etag1, $etag0, 'PATCH changes the ETag');
$p = $r->{json};

settle();
$r = api($alice, PATCH => "/api/patients/$id", json => { gender => undef });
is($r->{status}, 200, 'PATCH with gender null is 200');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$p, gender => undef, updatedAt => undef },
    'PATCH with null clears gender and nothing else');
isnt($r->{headers}{etag}, $etag1, 'each PATCH changes the ETag');
$p = $r->{json};

$r = api($alice, PATCH => "/api/patients/$id", json => { address => undef, age => undef });
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$p, address => undef, age => undef, updatedAt => undef },
    'PATCH with null clears address and age');
$p = $r->{json};

$r = api($alice, PATCH => "/api/patients/$id", json => { name => "  Alan M. Turing \t" });
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$p, name => 'Alan M. Turing', updatedAt => undef },
    'PATCH of name changes only the name, trimmed');
$p = $r->{json};

$r = api($alice, PATCH => "/api/patients/$id", json => { gender => 'OTHER', address => 'Bletchley' });
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef },
    { %$p, gender => 'other', address => 'Bletchley', updatedAt => undef },
    'PATCH of two fields changes those two');
$p = $r->{json};

$r = api($alice, PATCH => "/api/patients/$id", json => {});
is($r->{status}, 200, 'PATCH of an empty object is 200');
is_deeply({ %{ $r->{json} // {} }, updatedAt => undef }, { %$p, updatedAt => undef },
    'and changes no field');

$before = fetch($alice, $id);
$r = api($alice, PATCH => "/api/patients/$id", json => { name => undef });
is_invalid($r, 'PATCH with name null is 400: name is required', 'name');
$r = api($alice, PATCH => "/api/patients/$id", json => { name => '' });
is_invalid($r, 'PATCH with an empty name is 400', 'name');
$r = api($alice, PATCH => "/api/patients/$id", json => { name => 'Fine', age => 'old' });
is_invalid($r, 'PATCH with one bad field is 400', 'age');
is_deeply(fetch($alice, $id), $before, 'a refused PATCH changes nothing, not even the good fields');

$r = api($alice, PATCH => "/api/patients/$id", json => { %{ $before->{json} },
    id => $id + 1000, userId => $bob->{id}, createdAt => '2000-01-01T00:00:00.000Z' });
is($r->{status}, 200, 'PATCH with read-only fields is 200');
is_deeply([ @{ $r->{json} // {} }{qw(id createdAt)} ],
    [ $id, $before->{json}{createdAt} ], 'and they are ignored');
is(fetch($bob, $id)->{status}, 404, 'userId in a PATCH body does not hand the patient over');

###############################################################################
# DELETE.

$p = make_patient($alice, { name => 'Short Lived' });
$id = $p->{id};
$r = api($alice, DELETE => "/api/patients/$id");
is($r->{status}, 204, 'DELETE /api/patients/:id is 204');
is($r->{body}, '', 'the 204 has no body');
is_problem(api($alice, GET => "/api/patients/$id"), 410, 'GET after DELETE is 410');
is_problem(api($alice, DELETE => "/api/patients/$id"), 410, 'a second DELETE is 410');
is_problem(api($alice, PUT => "/api/patients/$id", json => { name => 'Back' }), 410,
    'PUT after DELETE is 410');
is_problem(api($alice, PATCH => "/api/patients/$id", json => { name => 'Back' }), 410,
    'PATCH after DELETE is 410');
$r = api($alice, GET => '/api/patients?limit=200');
ok(ref $r->{json} eq 'ARRAY' && !grep({ $_->{id} == $id } @{ $r->{json} }),
    'the deleted patient is not in the list');
$r = api($alice, GET => "/api/patients/$id");
like($r->{json}{detail} // '', qr/\bpatient \Q$id\E was deleted; it can be restored until \d{4}-/,
    'the 410 detail names the patient id and until when it can be restored');
is_problem(api($bob, GET => "/api/patients/$id"), 404,
    "to another user the deleted patient is 404, as it was before");

###############################################################################
# Validation limits, on both sides of each.

# [ fields, expected field on error or undef when fine, stored => value ]
my @cases = (
	# name: 1 to 200 code points, trimmed, required
	[ { name => 'a' }, undef, name => 'a', 'a one-character name is fine' ],
	[ { name => 'a' x 200 }, undef, name => 'a' x 200, 'a 200-character name is fine' ],
	[ { name => 'a' x 201 }, 'name', 'a 201-character name is 400' ],
	[ { name => 'é' x 200 }, undef, name => 'é' x 200,
	    'a name of 200 two-byte characters (400 bytes) is fine' ],
	[ { name => 'é' x 201 }, 'name', 'a name of 201 two-byte characters is 400' ],
	[ { name => "\x{1F600}" x 200 }, undef, name => "\x{1F600}" x 200,
	    'a name of 200 four-byte characters (800 bytes) is fine' ],
	[ { name => "\x{1F600}" x 201 }, 'name', 'a name of 201 four-byte characters is 400' ],
	[ { name => '  ' . 'b' x 200 . "\t " }, undef, name => 'b' x 200,
	    'white space around a 200-character name is trimmed before counting' ],
	[ { name => "  Bea Trimmed \n" }, undef, name => 'Bea Trimmed',
	    'the name is stored trimmed' ],
	[ { name => '' }, 'name', 'an empty name is 400' ],
	[ { name => '   ' }, 'name', 'a name of spaces only is 400' ],
	[ { name => " \t\r\n " }, 'name', 'a name of white space only is 400' ],
	[ { age => 30 }, 'name', 'a missing name is 400' ],
	[ { name => undef }, 'name', 'a null name is 400' ],
	[ { name => 42 }, 'name', 'a numeric name is 400' ],
	[ { name => [ 'a' ] }, 'name', 'an array as name is 400' ],
	[ { name => { first => 'a' } }, 'name', 'an object as name is 400' ],
	# age: integer 0 to 150, or null
	[ { name => 'n', age => 0 }, undef, age => 0, 'age 0 is fine' ],
	[ { name => 'n', age => 150 }, undef, age => 150, 'age 150 is fine' ],
	[ { name => 'n', age => undef }, undef, age => undef, 'age null is fine' ],
	[ { name => 'n', age => -1 }, 'age', 'age -1 is 400' ],
	[ { name => 'n', age => 151 }, 'age', 'age 151 is 400' ],
	[ { name => 'n', age => 45.5 }, 'age', 'age 45.5 is 400' ],
	[ { name => 'n', age => '45' }, 'age', 'age "45" (a string) is 400' ],
	[ { name => 'n', age => JSON::PP::true }, 'age', 'age true is 400' ],
	[ { name => 'n', age => [ 45 ] }, 'age', 'age [45] is 400' ],
	# gender: male, female, other, unknown in any case, or null
	(map { [ { name => 'n', gender => $_ }, undef, gender => lc $_,
	    "gender \"$_\" is fine and returned lower-case" ] }
	    qw(male female other unknown MALE Female oThEr UNKNOWN)),
	[ { name => 'n', gender => undef }, undef, gender => undef, 'gender null is fine' ],
	[ { name => 'n', gender => '  Female ' }, undef, gender => 'female',
	    'gender is trimmed' ],
	[ { name => 'n', gender => 'm' }, 'gender', 'gender "m" is 400' ],
	[ { name => 'n', gender => 'man' }, 'gender', 'gender "man" is 400' ],
	[ { name => 'n', gender => '' }, 'gender', 'an empty gender is 400' ],
	[ { name => 'n', gender => 'females' }, 'gender', 'gender "females" is 400' ],
	[ { name => 'n', gender => 1 }, 'gender', 'a numeric gender is 400' ],
	# address: at most 500 code points, or null
	[ { name => 'n', address => 'x' x 500 }, undef, address => 'x' x 500,
	    'a 500-character address is fine' ],
	[ { name => 'n', address => 'x' x 501 }, 'address', 'a 501-character address is 400' ],
	[ { name => 'n', address => 'ü' x 500 }, undef, address => 'ü' x 500,
	    'an address of 500 two-byte characters is fine' ],
	[ { name => 'n', address => 'ü' x 501 }, 'address',
	    'an address of 501 two-byte characters is 400' ],
	[ { name => 'n', address => ' ' . 'x' x 500 . ' ' }, undef, address => 'x' x 500,
	    'white space around a 500-character address is trimmed before counting' ],
	[ { name => 'n', address => undef }, undef, address => undef, 'address null is fine' ],
	[ { name => 'n', address => "1 Line St\nSecond Line" }, undef,
	    address => "1 Line St\nSecond Line", 'a line break inside an address is kept' ],
	[ { name => 'n', address => 12 }, 'address', 'a numeric address is 400' ],
);
for my $c (@cases) {
	my $name = pop @$c;
	my ($body, $bad, @stored) = @$c;
	$r = api($alice, POST => '/api/patients', json => $body);
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
$p = make_patient($alice, { name => 'Limits', age => 1 });
$id = $p->{id};
for my $m (qw(PUT PATCH)) {
	is_invalid(api($alice, $m => "/api/patients/$id", json => { name => 'a' x 201 }),
	    "$m: a 201-character name is 400", 'name');
	is_invalid(api($alice, $m => "/api/patients/$id", json => { name => 'n', age => 151 }),
	    "$m: age 151 is 400", 'age');
	is_invalid(api($alice, $m => "/api/patients/$id", json => { name => 'n', gender => 'x' }),
	    "$m: an unknown gender is 400", 'gender');
	is_invalid(api($alice, $m => "/api/patients/$id",
	    json => { name => 'n', address => 'x' x 501 }),
	    "$m: a 501-character address is 400", 'address');
	$r = api($alice, $m => "/api/patients/$id", json => { name => 'é' x 200,
	    age => 150, gender => 'Unknown', address => 'x' x 500 });
	ok($r->{status} == 200 && ($r->{json}{name} // '') eq 'é' x 200
	    && ($r->{json}{age} // -1) == 150 && ($r->{json}{gender} // '') eq 'unknown',
	    "$m: every field at its upper limit is fine") or diag(show_response($r));
}

# Numbers that JSON::PP would not write the way a client might.
for my $c ([ '45.5', 'age 45.5' ], [ '1e300', 'age 1e300' ], [ '1e2000', 'age 1e2000' ],
    [ '-0.5', 'age -0.5' ], [ 'true', 'age true' ], [ 'false', 'age false' ],
    [ '"45"', 'age "45"' ], [ '9223372036854775808', 'age 2^63' ],
    [ '150.0001', 'age 150.0001' ]) {
	my ($v, $what) = @$c;
	is_invalid(raw($alice, POST => '/api/patients', qq({"name":"n","age":$v})),
	    "POST with $what written literally is 400", 'age');
}

# Several bad fields at once.
$r = api($alice, POST => '/api/patients', json => {
    name => '', age => -1, gender => 'x', address => 'x' x 501 });
is_invalid($r, 'every bad field is reported at once', qw(name age gender address));
$r = api($alice, POST => '/api/patients', json => {
    age => '45', gender => 'none', ssn => '078-05-1120' });
is_invalid($r, 'missing name, bad fields and an unknown field are reported together',
    qw(name age gender ssn));
$r = api($alice, PATCH => "/api/patients/$id", json => {
    name => ' ', age => 45.5, address => 'x' x 501 });
is_invalid($r, 'PATCH reports every bad field at once', qw(name age address));

# Unknown fields.
$r = api($alice, POST => '/api/patients', json => { name => 'n', ssn => '078-05-1120' });
is_invalid($r, 'an unknown field is 400 naming it', 'ssn');
$r = api($alice, POST => '/api/patients', json => { name => 'n', Name => 'N' });
is_invalid($r, 'field names are case-sensitive: "Name" is unknown', 'Name');
$r = api($alice, POST => '/api/patients', json => { name => 'n', user_id => $bob->{id} });
is_invalid($r, 'user_id (not the read-only userId) is an unknown field', 'user_id');
$r = api($alice, PUT => "/api/patients/$id", json => { name => 'n', notes => 'x' });
is_invalid($r, 'PUT with an unknown field is 400 naming it', 'notes');
$r = api($alice, PATCH => "/api/patients/$id", json => { notes => 'x' });
is_invalid($r, 'PATCH with an unknown field is 400 naming it', 'notes');
$r = api($alice, POST => '/api/patients', json => { name => 'n', a => 1, b => 2 });
is_invalid($r, 'two unknown fields are both named', qw(a b));

# Read-only fields on POST.
$r = api($alice, POST => '/api/patients', json => { name => 'Read Only',
    id => 987654321, createdAt => '2001-02-03T04:05:06.789Z',
    updatedAt => '2001-02-03T04:05:06.789Z', userId => $bob->{id} });
is_patient($r, 201, 'POST with id, createdAt, updatedAt and userId is 201: they are ignored');
isnt($r->{json}{id}, 987654321, 'the id in the body is not used');
isnt($r->{json}{createdAt}, '2001-02-03T04:05:06.789Z', 'createdAt in the body is not used');
isnt($r->{json}{updatedAt}, '2001-02-03T04:05:06.789Z', 'updatedAt in the body is not used');
my $ro = $r->{json}{id} // 0;
is(fetch($alice, $ro)->{status}, 200, 'the patient belongs to its creator');
is(fetch($bob, $ro)->{status}, 404, 'userId in a POST body never sets ownership');

###############################################################################
# Bodies the service must refuse.

for my $c ([ 'text/plain', 'text/plain' ],
    [ 'application/x-www-form-urlencoded', 'a form' ],
    [ 'multipart/form-data; boundary=x', 'multipart' ],
    [ 'application/octet-stream', 'octet-stream' ],
    [ 'application/json-patch+json', 'application/json-patch+json' ],
    [ 'application/jsonx', 'application/jsonx' ],
    [ 'text/json', 'text/json' ]) {
	my ($ct, $what) = @$c;
	is_problem(api($alice, POST => '/api/patients', body => '{"name":"n"}',
	    content_type => $ct), 415, "POST with Content-Type $what is 415");
}
is_problem(api($alice, PUT => "/api/patients/$id", body => '{"name":"n"}',
    content_type => 'text/plain'), 415, 'PUT with Content-Type text/plain is 415');
is_problem(api($alice, PATCH => "/api/patients/$id", body => '{"name":"n"}',
    content_type => 'text/plain'), 415, 'PATCH with Content-Type text/plain is 415');

my @bad_json = (
	[ '{"name": "a"', 'an unterminated object' ],
	[ '{"name": "a",}', 'a trailing comma' ],
	[ "{'name': 'a'}", 'single quotes' ],
	[ '{name: "a"}', 'a bare key' ],
	[ '{"name": "a"} {}', 'two values' ],
	[ '{"name": "a"} x', 'trailing garbage' ],
	[ '', 'an empty body' ],
	[ '   ', 'a body of spaces' ],
	[ '{"name": "a\\x41"}', 'a bad escape' ],
	[ qq({"name": "a\nb"}), 'a raw line break in a string' ],
	[ '{"name": "a", "age": 01}', 'a number with a leading zero' ],
	[ '{"name": "a", "age": NaN}', 'NaN' ],
	[ '{"name": "a", "age": +1}', 'a number with a plus sign' ],
	[ '{"name": "a", "age": 1.}', 'a number ending in a point' ],
	[ '{"name": "a", "age": .5}', 'a number starting with a point' ],
	[ '{"name": "a", "age": 0x1F}', 'a hexadecimal number' ],
	[ '{"name": "a", "age": Infinity}', 'Infinity' ],
	[ '{"name": "a" /* c */}', 'a comment' ],
);
for my $c (@bad_json) {
	my ($body, $what) = @$c;
	is_problem(raw($alice, POST => '/api/patients', $body), 400,
	    "POST with $what is 400");
}
for my $c ([ '[{"name":"a"}]', 'a JSON array' ], [ '"a"', 'a JSON string' ],
    [ '42', 'a JSON number' ], [ 'null', 'JSON null' ], [ 'true', 'JSON true' ],
    [ '[]', 'an empty JSON array' ]) {
	my ($body, $what) = @$c;
	is_problem(raw($alice, POST => '/api/patients', $body), 400,
	    "POST with $what instead of an object is 400");
}
is_problem(raw($alice, PUT => "/api/patients/$id", '[{"name":"a"}]'), 400,
    'PUT with a JSON array is 400');
is_problem(raw($alice, PATCH => "/api/patients/$id", '[]'), 400,
    'PATCH with a JSON array is 400');
is_problem(raw($alice, PATCH => "/api/patients/$id", '{"name": '), 400,
    'PATCH with bad JSON is 400');

for my $c ([ "\xff", 'a 0xFF byte' ], [ "\xc3", 'a truncated two-byte sequence' ],
    [ "\xc0\xaf", 'an overlong encoding' ], [ "\xed\xa0\x80", 'an encoded surrogate' ],
    [ "\xf4\x90\x80\x80", 'a code point above U+10FFFF' ],
    [ "\x80abc", 'a stray continuation byte' ]) {
	my ($bytes, $what) = @$c;
	is_problem(raw($alice, POST => '/api/patients', qq({"name":"a${bytes}b"})), 400,
	    "a name with $what (invalid UTF-8) is 400");
}
is_problem(raw($alice, POST => '/api/patients', qq({"name":"ok","address":"\xfe"})), 400,
    'an address with invalid UTF-8 is 400');
is_problem(raw($alice, PATCH => "/api/patients/$id", qq({"name":"\xff"})), 400,
    'PATCH with invalid UTF-8 is 400');
is_problem(raw($alice, POST => '/api/patients', qq({"name":"ok"} \xff)), 400,
    'invalid UTF-8 outside any string is 400');

is_invalid(raw($alice, POST => '/api/patients', '{"name":"a\\u0000b"}'),
    'a NUL character (\\u0000) in the name is 400', 'name');
is_invalid(raw($alice, POST => '/api/patients', '{"name":"a","address":"x\\u0000"}'),
    'a NUL character in the address is 400', 'address');
is_invalid(raw($alice, POST => '/api/patients', '{"name":"a","gender":"male\\u0000"}'),
    'a NUL character after a valid gender is 400', 'gender');
is_invalid(raw($alice, PATCH => "/api/patients/$id", '{"name":"\\u0000"}'),
    'PATCH with a NUL character is 400', 'name');
is_problem(raw($alice, POST => '/api/patients', qq({"name":"a\x00b"})), 400,
    'a raw NUL byte in the body is 400');
is_problem(raw($alice, POST => '/api/patients', '{"name":"a\\ud800b"}'), 400,
    'a lone surrogate escape is 400');
$r = raw($alice, POST => '/api/patients', '{"name":"a\\ud83d\\ude00b"}');
is($r->{status} == 201 && ($r->{json}{name} // ''), "a\x{1F600}b",
    'a surrogate pair escape is one character, stored as UTF-8');
$r = raw($alice, POST => '/api/patients', '{"name":"Ren\\u00e9e \\"Q\\" \\\\ \\/"}');
is($r->{status} == 201 && ($r->{json}{name} // ''), 'Renée "Q" \\ /',
    'JSON escapes in a name are decoded');

# Size: 64 KiB is the limit; one byte more is 413.
my $head = '{"name":"Big Body"';
my $body = $head . (' ' x (65536 - length($head) - 1)) . '}';
is(length $body, 65536, '(a body of exactly 65536 bytes is built)');
$r = raw($alice, POST => '/api/patients', $body);
is($r->{status}, 201, 'a body of exactly 64 KiB is taken');
$body = $head . (' ' x (65537 - length($head) - 1)) . '}';
is_problem(raw($alice, POST => '/api/patients', $body), 413,
    'a body of 65537 bytes is 413');
is_problem(raw($alice, PUT => "/api/patients/$id", $body), 413,
    'PUT with a 65537-byte body is 413');
is_problem(raw($alice, PATCH => "/api/patients/$id", $body), 413,
    'PATCH with a 65537-byte body is 413');
is_problem(raw($alice, POST => '/api/patients',
    '{"name":"n","address":"' . ('x' x 70000) . '"}'), 413,
    'a 70000-byte body is 413');

###############################################################################
# Text is stored and returned literally.

my @literal = ("Robert'); DROP TABLE patients;--", '$(rm -rf /)', '`id`', '%_\\',
    "O'Brien \"Bob\"", '<script>alert(1)</script>', '${HOME} $PATH; ls | cat &',
    "1' OR '1'='1", '\\x00\\n', 'Ωμέγα 漢字 🙂');
my @literal_ids;
for my $s (@literal) {
	$r = api($alice, POST => '/api/patients', json => { name => $s, address => $s });
	my $pid = $r->{json}{id};
	push @literal_ids, $pid if $pid;
	ok($r->{status} == 201 && ($r->{json}{name} // '') eq $s
	    && ($r->{json}{address} // '') eq $s,
	    "POST stores \"$s\" literally in name and address") or diag(show_response($r));
	my $g = $pid ? fetch($alice, $pid) : {};
	ok(($g->{status} // 0) == 200 && ($g->{json}{name} // '') eq $s
	    && ($g->{json}{address} // '') eq $s,
	    "GET returns \"$s\" as it was sent");
}
$r = api($alice, PATCH => "/api/patients/$id", json => { address => "'; DELETE FROM patients; --" });
is($r->{json}{address}, "'; DELETE FROM patients; --", 'PATCH stores SQL in address literally');
$r = api($alice, GET => '/api/patients?limit=200');
my %listed = map { $_->{id} => $_ } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] };
ok($r->{status} == 200 && @literal_ids == @literal
    && !grep({ !$listed{$_} } @literal_ids),
    'the patients table is still there, and the list holds every one of them')
    or diag(show_response($r));
is($t->psql("SELECT count(*) FROM patients WHERE user_id = $alice->{id} AND name = "
    . "'Robert''); DROP TABLE patients;--'"), 1,
    'the database holds the SQL-looking name as text');

###############################################################################
# Ownership: another user's patient is a missing one, on every route.

$p = make_patient($alice, { name => 'Private Person', age => 50, gender => 'other',
    address => '1 Secret Lane' });
$id = $p->{id};
my $bob_own = make_patient($bob, { name => 'Bob Patient' });
$before = fetch($alice, $id);
my $missing = 9_000_000_000 + $id;	# no such patient

my @steal = (
	[ GET => [] ],
	[ PUT => [ json => { name => 'Stolen', age => 1 } ] ],
	[ PATCH => [ json => { name => 'Stolen' } ] ],
	[ PUT => [ json => { %{ $before->{json} }, userId => $bob->{id}, name => 'Stolen' } ] ],
	[ DELETE => [] ],
);
for my $s (@steal) {
	my ($m, $opts) = @$s;
	$r = api($bob, $m => "/api/patients/$id", @$opts);
	is_problem($r, 404, "$m of another user's patient is 404");
	my $miss = api($bob, $m => "/api/patients/$missing", @$opts);
	my ($a_, $b_) = map { my %c = %{ $_->{json} // {} };
	    $c{detail} =~ s/\d+/N/g if defined $c{detail}; \%c } $r, $miss;
	is_deeply($a_, $b_, "and its body is the one for a missing patient ($m)");
}
$r = api($bob, GET => '/api/patients?limit=200');
ok(ref $r->{json} eq 'ARRAY' && !grep({ $_->{id} == $id } @{ $r->{json} }),
    "another user's list does not hold the patient");
is_deeply([ map { $_->{id} } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] } ],
    [ $bob_own->{id} ], "that user's list holds only their own patient");
$r = api($bob, GET => '/api/patients?q=Private');
is_deeply($r->{json}, [], "another user's search does not find the patient");
$r = api($bob, GET => '/api/patients', headers => { Prefer => 'count=exact' });
is($r->{headers}{'x-total-count'}, 1, "another user's count does not include it");
is_deeply(fetch($alice, $id), $before,
    "after all that, the patient is unchanged (full JSON and ETag)");
$r = api($alice, GET => '/api/patients?limit=200');
ok(ref $r->{json} eq 'ARRAY' && !grep({ $_->{id} == $bob_own->{id} } @{ $r->{json} }),
    "the owner's list does not hold the other user's patient either");

###############################################################################
# Authentication on every route.

my @routes = (
	[ POST => '/api/patients', json => { name => 'No Token' } ],
	[ GET => '/api/patients' ],
	[ GET => "/api/patients/$id" ],
	[ PUT => "/api/patients/$id", json => { name => 'No Token' } ],
	[ PATCH => "/api/patients/$id", json => { name => 'No Token' } ],
	[ DELETE => "/api/patients/$id" ],
);
my $no_token_rows = "SELECT count(*) FROM patients WHERE name = 'No Token'";
for my $rt (@routes) {
	my ($m, $path, @o) = @$rt;
	$r = $t->request($m, $path, @o);
	is_problem($r, 401, "$m " . ($path =~ s/\d+$/:id/r) . ' without a token is 401');
	like($r->{headers}{'www-authenticate'} // '', qr/^Bearer\b/,
	    'and carries WWW-Authenticate: Bearer');
	$r = $t->request($m, $path, @o, token => 'not.a.token');
	is_problem($r, 401, "$m " . ($path =~ s/\d+$/:id/r) . ' with a garbage token is 401');
	$r = $t->request($m, $path, @o, headers => { Authorization => "Basic $alice->{token}" });
	is_problem($r, 401, "$m " . ($path =~ s/\d+$/:id/r) . ' with the token under another scheme is 401');
}
is_deeply(fetch($alice, $id), $before, 'the patient is unchanged after the refused requests');
is($t->psql($no_token_rows), 0, 'no patient was created or renamed without a token');

###############################################################################
# Path ids and methods.

for my $bad ('abc', '0', '-1', '99999999999999999999', '1.5', '9223372036854775808',
    '1e3', '0x10', ' 1') {
	for my $m (qw(GET PUT PATCH DELETE)) {
		my @o = $m =~ /^P/ ? (json => { name => 'n' }) : ();
		(my $path = "/api/patients/$bad") =~ s/ /%20/g;
		is_problem(api($alice, $m => $path, @o), 404, "$m /api/patients/$bad is 404");
	}
}
is_problem(api($alice, GET => '/api/patients/9223372036854775807'), 404,
    'GET of the largest 63-bit id, which does not exist, is 404');

sub allow_set {
	my ($res) = @_;
	my $v = $res->{headers}{allow} // '';
	$v = join ', ', @$v if ref $v;
	return join ', ', sort grep { $_ ne 'HEAD' } split /\s*,\s*/, $v;
}

for my $c ([ POST => "/api/patients/$id", 'DELETE, GET, PATCH, PUT' ],
    [ POST => '/api/patients/1', 'DELETE, GET, PATCH, PUT' ],
    [ DELETE => '/api/patients', 'GET, POST' ],
    [ PUT => '/api/patients', 'GET, POST' ],
    [ PATCH => '/api/patients', 'GET, POST' ]) {
	my ($m, $path, $allow) = @$c;
	$r = api($alice, $m => $path, $m eq 'DELETE' ? () : (json => { name => 'n' }));
	is_problem($r, 405, "$m $path is 405");
	is(allow_set($r), $allow, "the 405 for $m $path says Allow: $allow");
}
is_deeply(fetch($alice, $id), $before, 'the patient is unchanged after the 405s');

done_testing();
