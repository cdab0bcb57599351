#!/usr/bin/perl
# FHIR R4 under /fhir/R4 (issue 15): the CapabilityStatement; Patient read,
# search (name, gender, _id, _count, _sort, _total) paged through the next
# link's cursor, create, update with If-Match and delete, under the same
# tokens, row-level security and audit trail as the JSON API; content
# negotiation (JSON only: XML is 406); and every error an OperationOutcome
# with the status the JSON API gives the same fault, nginx's own included.
# Every resource and Bundle answered here is then checked against the FHIR
# R4 definitions by a validator from npm (t/fhir/validate.js).

use strict;
use warnings;

use File::Temp ();
use Test::More;

use Medrec::Stack;
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $FHIR = 'application/fhir+json';
my $AGE = 'https://medrec.invalid/fhir/StructureDefinition/patient-age';

# Every FHIR resource the service answered, for the validator.
my @answered;

sub fhir {
	my ($u, $method, $path, %o) = @_;
	my %h = (Accept => $FHIR, %{ $o{headers} // {} });
	$h{'Content-Type'} //= $FHIR if exists $o{json};
	my $r = $t->request($method, "/fhir/R4$path",
	    $u ? (token => $u->{token}) : (), %o, headers => \%h);
	my $res = eval { JSON::PP->new->decode($r->{body}) };
	push @answered, $res if ref $res eq 'HASH' && $res->{resourceType};
	return $r;
}

# Is $r an OperationOutcome with $status and an issue of code $code?
sub is_outcome {
	my ($r, $status, $code, $name) = @_;
	my $ok = $r->{status} == $status &&
	    ($r->{headers}{'content-type'} // '') =~ m{^application/fhir\+json} &&
	    ($r->{body} =~ /"resourceType"\s*:\s*"OperationOutcome"/) &&
	    ($r->{body} =~ /"code"\s*:\s*"\Q$code\E"/);
	ok($ok, $name) or diag(show_response($r));
}

sub decoded {
	my ($r) = @_;
	return eval { JSON::PP->new->decode($r->{body}) } // {};
}

my $alice = $t->new_user;
my $bob = $t->new_user;

###############################################################################
# The CapabilityStatement: public, and it says what is served.

my $r = fhir(undef, GET => '/metadata');
is($r->{status}, 200, 'GET /fhir/R4/metadata is 200 without a token');
like($r->{headers}{'content-type'} // '', qr{^application/fhir\+json}, '  as application/fhir+json');
my $cs = decoded($r);
is($cs->{resourceType}, 'CapabilityStatement', '  a CapabilityStatement');
is($cs->{fhirVersion}, '4.0.1', '  of FHIR 4.0.1');
my ($patient) = grep { $_->{type} eq 'Patient' } @{ $cs->{rest}[0]{resource} // [] };
is_deeply([ sort map { $_->{type} } @{ $cs->{rest}[0]{resource} // [] } ],
    [ qw(CareTeam Patient Practitioner) ], '  it serves Patient, Practitioner and CareTeam');
is_deeply([ sort map { $_->{code} } @{ $patient->{interaction} // [] } ],
    [ qw(create delete history-instance read search-type update vread) ],
    '  Patient: read, vread, history, search, create, update, delete');
is_deeply([ sort map { $_->{name} } @{ $patient->{searchParam} // [] } ],
    [ qw(_id gender name) ], '  searched by _id, name and gender');
like($patient->{documentation} // '', qr/\Q$AGE\E/, '  and it documents the age extension');

# The API reference's FHIR table lists the FHIR routes of `medrec
# --routes`, each with its token: the table is the people's version of
# the CapabilityStatement.
sub shape { my ($m, $path) = @_; $path =~ s/\?.*//; $path =~ s/:\w+/:/g; return "$m $path" }
my $routes = Medrec::Stack::run_cmd(cmd => [ $t->bin // Medrec::Stack::bin_path(), '--routes' ],
    env => Medrec::Stack::clean_env());
my %served = map { my @f = split ' '; (shape(@f[0, 1]) => $f[2] eq 'user' ? 'yes' : 'no') }
    grep { m{ /fhir/} } split /\n/, $routes->{out};
my ($section) = Medrec::Stack::slurp(Medrec::Stack::top() . '/doc/API.md') =~ /^## FHIR R4\n(.*?)(?=^## |\z)/ms;
my %documented = map { /^\|\s*([A-Z]+)\s*\|\s*(\S+)\s*\|\s*(\w+)\s*\|/ ? (shape($1, $2) => $3) : () }
    split /\n/, $section // '';
cmp_ok(scalar keys %served, '>=', 17, 'medrec --routes has the FHIR routes');
is_deeply(\%documented, \%served, 'doc/API.md\'s FHIR table lists exactly those routes, each with its token');

###############################################################################
# Create, read, update, delete.

$r = fhir($alice, POST => '/Patient', json => { resourceType => 'Patient',
    name => [ { text => 'Ada Fhir' } ], gender => 'female',
    address => [ { text => '1 Loop Road' } ],
    extension => [ { url => $AGE, valueInteger => 36 } ] });
is($r->{status}, 201, 'POST /Patient is 201') or diag(show_response($r));
my $p = decoded($r);
my $id = $p->{id};
like($id // '', qr/^\d+$/, '  with an id');
is($p->{name}[0]{text}, 'Ada Fhir', '  name[0].text');
is($p->{gender}, 'female', '  gender');
is($p->{address}[0]{text}, '1 Loop Road', '  address[0].text');
is_deeply($p->{extension}, [ { url => $AGE, valueInteger => 36 } ], '  the age extension');
is($p->{meta}{versionId}, '1', '  meta.versionId 1');
like($p->{meta}{lastUpdated} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, '  meta.lastUpdated');
like($r->{headers}{location} // '', qr{/fhir/R4/Patient/$id/_history/1$}, '  Location names the version');
is($r->{headers}{etag}, 'W/"1"', '  ETag W/"1"');
ok(!grep({ /null/ } values %$p), '  and no member is null');

$r = $t->request(GET => "/api/patients/$id", token => $alice->{token});
is($r->{json}{name} // '', 'Ada Fhir', 'the JSON API has the same patient');
is($r->{json}{age} // '', 36, '  with its age');

$r = fhir($alice, GET => "/Patient/$id");
is($r->{status}, 200, 'GET /Patient/:id is 200');
is(decoded($r)->{name}[0]{text}, 'Ada Fhir', '  the patient');
$r = fhir($alice, GET => "/Patient/$id", headers => { 'If-None-Match' => 'W/"1"' });
is($r->{status}, 304, '  304 with If-None-Match: W/"1"');
is_outcome(fhir($bob, GET => "/Patient/$id"), 404, 'not-found',
    'another user\'s patient is a 404 OperationOutcome');
is_outcome(fhir(undef, GET => "/Patient/$id"), 401, 'login',
    'without a token: a 401 OperationOutcome');

my %put = (resourceType => 'Patient', id => "$id", name => [ { text => 'Ada Fhir-Two' } ],
    gender => 'female');
is_outcome(fhir($alice, PUT => "/Patient/$id", json => \%put,
    headers => { 'If-Match' => 'W/"7"' }), 412, 'conflict',
    'PUT with a stale If-Match is a 412 OperationOutcome');
$r = fhir($alice, PUT => "/Patient/$id", json => \%put, headers => { 'If-Match' => 'W/"1"' });
is($r->{status}, 200, 'PUT with If-Match: W/"1" is 200') or diag(show_response($r));
$p = decoded($r);
is($p->{meta}{versionId}, '2', '  version 2');
is($p->{name}[0]{text}, 'Ada Fhir-Two', '  renamed');
ok(!exists $p->{address} && !exists $p->{extension}, '  and what was left out is gone (a PUT replaces)');
is_outcome(fhir($alice, PUT => "/Patient/$id", json => { %put, id => '999' }), 400, 'invalid',
    'PUT whose id is not the URL\'s is 400');

###############################################################################
# Bad input: OperationOutcomes, and nothing written.

is_outcome(fhir($alice, POST => '/Patient', json => { resourceType => 'Practitioner' }),
    400, 'invalid', 'a body that is not a Patient is 400');
$r = fhir($alice, POST => '/Patient', json => { resourceType => 'Patient', gender => 'robot',
    extension => [ { url => $AGE, valueInteger => 900 } ] });
is_outcome($r, 400, 'invalid', 'a Patient with bad fields is 400');
my $oo = decoded($r);
is_deeply([ sort map { $_->{expression}[0] // '' } @{ $oo->{issue} // [] } ],
    [ qw(Patient.extension Patient.gender Patient.name) ],
    '  one issue for each bad field, with its FHIR path');
is_outcome(fhir($alice, POST => '/Patient', body => '{"resourceType":',
    headers => { 'Content-Type' => $FHIR }), 400, 'invalid', 'a body that is not JSON is 400');
is_outcome(fhir($alice, POST => '/Patient', body => '<Patient/>',
    headers => { 'Content-Type' => 'application/fhir+xml' }), 415, 'not-supported',
    'a body in XML is 415');
is_outcome(fhir($alice, GET => "/Patient/$id", headers => { Accept => 'application/fhir+xml' }),
    406, 'not-supported', 'Accept: application/fhir+xml is 406');
is_outcome(fhir($alice, GET => "/Patient/$id?_format=xml"), 406, 'not-supported',
    '_format=xml is 406');
is(fhir($alice, GET => "/Patient/$id?_format=json")->{status}, 200, '_format=json is 200');
is(fhir($alice, GET => "/Patient/$id", headers => { Accept => 'application/json' })->{status}, 200,
    'Accept: application/json is 200');
is_outcome(fhir($alice, GET => '/Nothing'), 404, 'not-found', 'an unknown path is a 404 OperationOutcome');
is_outcome(fhir($alice, PATCH => "/Patient/$id", json => {}), 405, 'not-supported',
    'PATCH is a 405 OperationOutcome');
is_outcome(fhir($alice, POST => '/Patient', body => '{"resourceType":"Patient","name":[{"text":"'
    . ('x' x 70000) . '"}]}', headers => { 'Content-Type' => $FHIR }), 413, 'too-long',
    'a body over 64 KiB is nginx\'s 413, an OperationOutcome too');

###############################################################################
# Search: a searchset Bundle, paged through next.

my @names = map { "Fhirsearch $_" } qw(Bea Cal Dee Eve Fay);
for my $i (0 .. $#names) {
	fhir($alice, POST => '/Patient', json => { resourceType => 'Patient',
	    name => [ { text => $names[$i] } ], gender => $i % 2 ? 'male' : 'female' })->{status} == 201
	    or BAIL_OUT("create $names[$i]");
}
$r = fhir($alice, GET => '/Patient?name=fhirsearch&_count=2&_sort=name&_total=accurate');
is($r->{status}, 200, 'GET /Patient?name=...&_count=2 is 200') or diag(show_response($r));
my $b = decoded($r);
is($b->{resourceType}, 'Bundle', '  a Bundle');
is($b->{type}, 'searchset', '  of type searchset');
is($b->{total}, 5, '  _total=accurate counts 5');
is(scalar @{ $b->{entry} // [] }, 2, '  2 entries');
like($b->{entry}[0]{fullUrl} // '', qr{^http://[^/]+/fhir/R4/Patient/\d+$}, '  each with its absolute fullUrl');
is($b->{entry}[0]{search}{mode}, 'match', '  and search.mode match');
my @got;
my $pages = 0;
while (1) {
	push @got, map { $_->{resource}{name}[0]{text} } @{ $b->{entry} // [] };
	my ($next) = map { $_->{url} } grep { $_->{relation} eq 'next' } @{ $b->{link} // [] };
	last unless defined $next && ++$pages < 10;
	like($next, qr{^http://[^/]+/fhir/R4/Patient\?.*_cursor=}, "  next link $pages carries a cursor")
	    if $pages == 1;
	(my $path = $next) =~ s{^https?://[^/]+/fhir/R4}{};
	$r = fhir($alice, GET => $path);
	is($r->{status}, 200, "  page $pages via next is 200") or last;
	$b = decoded($r);
}
is_deeply(\@got, [ sort @names ], 'the pages give every match once, sorted by name');

$r = fhir($alice, GET => '/Patient?name=fhirsearch&gender=male');
is_deeply([ sort map { $_->{resource}{name}[0]{text} } @{ decoded($r)->{entry} // [] } ],
    [ 'Fhirsearch Cal', 'Fhirsearch Eve' ], 'gender=male filters');
$r = fhir($alice, GET => '/Patient?name=sea');
is(scalar @{ decoded($r)->{entry} // [] }, 0, 'name matches the start of a word, not its middle');
$r = fhir($alice, GET => '/Patient?name=Dee');
is_deeply([ map { $_->{resource}{name}[0]{text} } @{ decoded($r)->{entry} // [] } ],
    [ 'Fhirsearch Dee' ], '  and any word of the name');
$r = fhir($alice, GET => "/Patient?_id=$id");
is_deeply([ map { $_->{resource}{id} } @{ decoded($r)->{entry} // [] } ], [ "$id" ], '_id finds one');
is(scalar @{ decoded(fhir($bob, GET => "/Patient?_id=$id"))->{entry} // [] }, 0,
    '  but not another user\'s');
$r = fhir($alice, GET => '/Patient?_sort=-_lastUpdated&_count=1');
is(decoded($r)->{entry}[0]{resource}{name}[0]{text}, 'Fhirsearch Fay', '_sort=-_lastUpdated');
$b = decoded(fhir($alice, GET => '/Patient?_count=1000'));
like($b->{link}[0]{url} // '', qr/_count=200\b/,
    '_count=1000 gets pages of 200, the most, as FHIR lets a server do');
$r = fhir($alice, GET => '/Patient?_count=0');
is_outcome($r, 400, 'invalid', '_count=0 is 400');
like($r->{body}, qr/_count must be an integer from 1 to 200/, '  naming _count');
$r = fhir($alice, GET => '/Patient?name=fhirsearch&_sort=name&_count=2&_offset=3');
is_deeply([ map { $_->{resource}{name}[0]{text} } @{ decoded($r)->{entry} // [] } ],
    [ 'Fhirsearch Eve', 'Fhirsearch Fay' ], '_offset jumps to a page');
is_outcome(fhir($alice, GET => '/Patient?_offset=1&_cursor=x'), 400, 'invalid',
    '  and cannot be combined with _cursor');
is_outcome(fhir($alice, GET => '/Patient?birthdate=2000'), 400, 'invalid', 'an unknown parameter is 400');
is_outcome(fhir($alice, GET => '/Patient?_cursor=nonsense'), 400, 'invalid', 'a bad cursor is 400');
is_outcome(fhir($alice, GET => '/Patient?_total=maybe'), 400, 'invalid', 'a bad _total is 400');

###############################################################################
# vread and _history.

$r = fhir($alice, GET => "/Patient/$id/_history/1");
is($r->{status}, 200, 'GET /Patient/:id/_history/1 is 200 (vread)') or diag(show_response($r));
is(decoded($r)->{name}[0]{text}, 'Ada Fhir', '  the patient as it was');
is(decoded($r)->{meta}{versionId}, '1', '  at version 1');
is($r->{headers}{etag}, 'W/"1"', '  ETag W/"1"');
is_outcome(fhir($alice, GET => "/Patient/$id/_history/9"), 404, 'not-found', 'a version that is not there is 404');
is_outcome(fhir($bob, GET => "/Patient/$id/_history/1"), 404, 'not-found', '  as is another user\'s');
$r = fhir($alice, GET => "/Patient/$id/_history?_count=1");
is($r->{status}, 200, 'GET /Patient/:id/_history is 200') or diag(show_response($r));
$b = decoded($r);
is($b->{type}, 'history', '  a history Bundle');
is($b->{entry}[0]{resource}{meta}{versionId}, '2', '  newest first');
is_deeply($b->{entry}[0]{request}, { method => 'PUT', url => "Patient/$id" }, '  its request: the PUT');
is($b->{entry}[0]{response}{status}, '200', '  and its response');
my ($hnext) = map { $_->{url} } grep { $_->{relation} eq 'next' } @{ $b->{link} // [] };
(my $hpath = $hnext // '') =~ s{^https?://[^/]+/fhir/R4}{};
$b = decoded(fhir($alice, GET => $hpath));
is_deeply($b->{entry}[0]{request}, { method => 'POST', url => 'Patient' }, '  next: the create');
ok(!grep({ $_->{relation} eq 'next' } @{ $b->{link} // [] }), '  and the last page');

###############################################################################
# Delete; the audit trail.

is(fhir($alice, DELETE => "/Patient/$id")->{status}, 204, 'DELETE /Patient/:id is 204');
$b = decoded(fhir($alice, GET => "/Patient/$id/_history?_count=1"));
ok(!exists $b->{entry}[0]{resource} && $b->{entry}[0]{request}{method} eq 'DELETE',
    'its history begins with the delete, without a resource');
is_outcome(fhir($alice, GET => "/Patient/$id"), 410, 'deleted', 'then it is a 410 OperationOutcome');
is($t->request(GET => "/api/patients/$id", token => $alice->{token})->{status}, 410,
    '  as in the JSON API');

$r = $t->request(GET => "/api/audit?resourceType=patient&resourceId=$id&sort=id&limit=50",
    token => $alice->{token});
is_deeply([ map { $_->{action} } @{ $r->{json} // [] } ],
    [ qw(create read read read update read read history history history history delete history
    read read) ],
    'every FHIR read and write of the patient is in the audit trail, as the JSON API writes them')
    or diag(explain([ map { "$_->{action} $_->{status}" } @{ $r->{json} // [] } ]));

###############################################################################
# Practitioner: the shared doctors; reads need no token, writes one.

my %dr = (resourceType => 'Practitioner', name => [ { text => 'Dr. Fhir Hale' } ],
    qualification => [ { code => { text => 'Cardiology' } } ],
    telecom => [ { system => 'email', value => 'hale@example.org' } ]);
is_outcome(fhir(undef, POST => '/Practitioner', json => \%dr), 401, 'login',
    'POST /Practitioner without a token is 401');
$r = fhir($alice, POST => '/Practitioner', json => \%dr);
is($r->{status}, 201, 'POST /Practitioner is 201') or diag(show_response($r));
my $d = decoded($r);
my $did = $d->{id};
is($d->{qualification}[0]{code}{text}, 'Cardiology', '  the specialization is qualification[0].code.text');
is_deeply($d->{telecom}, [ { system => 'email', value => 'hale@example.org' } ],
    '  the contact info an email telecom');
$r = $t->request(GET => "/api/doctors/$did");
is_deeply([ @{ $r->{json} // {} }{qw(name specialization contactInfo)} ],
    [ 'Dr. Fhir Hale', 'Cardiology', 'hale@example.org' ], 'the JSON API has the same doctor');
$r = fhir(undef, GET => "/Practitioner/$did");
is($r->{status}, 200, 'GET /Practitioner/:id needs no token');
is(decoded($r)->{name}[0]{text}, 'Dr. Fhir Hale', '  the doctor');
$r = fhir(undef, GET => "/Practitioner?name=fhir&_id=$did");
is_deeply([ map { $_->{resource}{id} } @{ decoded($r)->{entry} // [] } ], [ "$did" ],
    'GET /Practitioner?name=...&_id=... needs no token either');
$r = fhir($alice, PUT => "/Practitioner/$did", json => { %dr, id => "$did",
    telecom => [ { value => 'room 4' } ] }, headers => { 'If-Match' => 'W/"1"' });
is($r->{status}, 200, 'PUT /Practitioner/:id with If-Match is 200') or diag(show_response($r));
is_deeply(decoded($r)->{telecom}, [ { system => 'other', value => 'room 4' } ],
    '  a contact info that is no email is an "other" telecom');
$r = fhir($alice, POST => '/Practitioner', json => { resourceType => 'Practitioner',
    name => [ { text => 'Dr. Nobody' } ] });
is_outcome($r, 400, 'invalid', 'a Practitioner without a qualification is 400');
is_deeply([ map { $_->{expression}[0] } @{ decoded($r)->{issue} // [] } ],
    [ 'Practitioner.qualification' ], '  naming Practitioner.qualification');
is_outcome(fhir(undef, GET => "/Practitioner/$did/_history"), 401, 'login',
    'its history needs a token, as a doctor\'s does');
$r = fhir($alice, GET => "/Practitioner/$did/_history");
is_deeply([ map { $_->{resource}{meta}{versionId} } @{ decoded($r)->{entry} // [] } ],
    [ '2', '1' ], '  with one, its two versions');
is(fhir($alice, GET => "/Practitioner/$did/_history/1")->{status}, 200, '  and vread');

###############################################################################
# CareTeam: the doctors assigned to a patient.

my $cp = decoded(fhir($alice, POST => '/Patient', json => { resourceType => 'Patient',
    name => [ { text => 'Team Patient' } ] }))->{id};
my @team;
for my $n ('Dr. Team A', 'Dr. Team B') {
	my $doc = decoded(fhir($alice, POST => '/Practitioner', json => { %dr,
	    name => [ { text => $n } ] }));
	push @team, $doc->{id};
	is($t->request(POST => '/api/mappings', token => $alice->{token},
	    json => { patientId => 0 + $cp, doctorId => 0 + $doc->{id} })->{status}, 201,
	    "(assigned $n)");
}
$r = fhir($alice, GET => "/CareTeam/$cp");
is($r->{status}, 200, 'GET /CareTeam/:patient is 200') or diag(show_response($r));
my $ct = decoded($r);
is($ct->{subject}{reference}, "Patient/$cp", '  its subject the patient');
is_deeply([ map { $_->{member}{reference} } @{ $ct->{participant} // [] } ],
    [ map { "Practitioner/$_" } @team ], '  its participants the assigned doctors');
is($ct->{participant}[0]{member}{display}, 'Dr. Team A', '  by name');
for my $q ("patient=$cp", "subject=Patient/$cp") {
	$b = decoded(fhir($alice, GET => "/CareTeam?$q"));
	is($b->{total}, 1, "GET /CareTeam?$q finds it");
	is($b->{entry}[0]{resource}{id}, "$cp", '  the patient\'s');
}
is_outcome(fhir($bob, GET => "/CareTeam/$cp"), 404, 'not-found', 'another user\'s is 404');
is(decoded(fhir($bob, GET => "/CareTeam?patient=$cp"))->{total}, 0, '  and found by no search of theirs');
$b = decoded(fhir($alice, GET => "/CareTeam/" . decoded(fhir($alice, POST => '/Patient',
    json => { resourceType => 'Patient', name => [ { text => 'Alone' } ] }))->{id}));
ok(!exists $b->{participant}, 'a patient with no doctor has a CareTeam without participants');
is_outcome(fhir($alice, GET => '/CareTeam'), 400, 'invalid', 'a CareTeam search without a patient is 400');
is_outcome(fhir($alice, GET => '/CareTeam?patient=abc'), 400, 'invalid', '  as is one of no id');
is_outcome(fhir($alice, GET => "/CareTeam?patient=$cp&status=active"), 400, 'invalid',
    '  or with another parameter');
is_outcome(fhir(undef, GET => "/CareTeam/$cp"), 401, 'login', 'a CareTeam needs a token');

is(fhir($alice, DELETE => "/Practitioner/$did")->{status}, 204, 'DELETE /Practitioner/:id is 204');
is_outcome(fhir(undef, GET => "/Practitioner/$did"), 410, 'deleted', '  then it is 410');

###############################################################################
# Everything answered above is valid FHIR R4.

my $node_path = Medrec::Stack::npm_tool('fhir');
my $validate = Medrec::Stack::top() . '/t/fhir/validate.js';

sub validate {
	my ($resources) = @_;
	my $f = File::Temp->new(SUFFIX => '.json');
	print $f JSON::PP->new->encode($resources);
	close $f;
	return Medrec::Stack::run_cmd(cmd => [ 'node', $validate, "$f" ],
	    env => { NODE_PATH => $node_path }, timeout => 120);
}

my %kinds;
$kinds{$_->{resourceType}}++ for @answered;
cmp_ok(scalar @answered, '>=', 40, 'the test kept ' . scalar(@answered)
    . ' resources: ' . join(', ', map { "$kinds{$_} $_" } sort keys %kinds));
$r = validate(\@answered);
is($r->{status}, 0, 'the FHIR validator finds no error in any of them')
    or diag($r->{out} . $r->{err});
like($r->{out}, qr/^\d+ resources, 0 invalid$/m, '  it says so');
$r = validate([ { resourceType => 'Patient', name => [ { text => undef } ] },
    { resourceType => 'Bundle' } ]);
like($r->{out}, qr/^2 resources, 2 invalid$/m, 'and it does find errors: a null, a Bundle without its type');

done_testing();
