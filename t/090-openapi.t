#!/usr/bin/perl
# GET /api/openapi.json (API.md "Service"): the OpenAPI 3.1 document is
# served, describes exactly the routes of the binary's route table with the
# right security, agrees with what the service takes and sends (sort values,
# query parameters, the members of its records), and passes a real linter.
#
# The linter is Redocly CLI, from npm: script/npm-tool installs it into
# var/npm the first time (the npm registry must be reachable then).

use strict;
use warnings;

use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

use Medrec::Stack qw(slurp);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;

my %IS_METHOD = map { $_ => 1 } qw(get put post delete options head patch
    trace);

# Query parameters API.md names for some list, probed on every list besides
# those the document lists, so that one the document forgets is noticed.
my @CONTRACT_QUERY = qw(limit offset after sort q specialization patientId
    doctorId action resourceType resourceId);

###############################################################################
# Helpers that die or compute (not tests).

# The route table as `medrec --routes` prints it: [ [METHOD, pattern,
# public|user], ... ].
sub route_table {
	my $bin = $t->bin // Medrec::Stack::bin_path();
	my $r = Medrec::Stack::run_cmd(cmd => [ $bin, '--routes' ],
	    env => Medrec::Stack::clean_env());
	die "$bin --routes failed:\n$r->{out}$r->{err}" if $r->{status};
	my @rows = map { [ split ' ' ] } grep { /\S/ } split /\n/, $r->{out};
	die "$bin --routes printed no routes\n" unless @rows;
	for (@rows) {
		die "unexpected line from --routes: @$_\n"
		    unless @$_ == 3 && $_->[2] =~ /^(?:public|user)$/;
	}
	return @rows;
}

# "/api/patients/:id" as OpenAPI writes it: "/api/patients/{id}".
sub oas_path {
	my ($pattern) = @_;
	(my $p = $pattern) =~ s{/:(\w+)}{/{$1}}g;
	return $p;
}

# Follows a local "$ref" (and chains of them) inside the document.
sub deref {
	my ($doc, $node) = @_;
	my %seen;
	while (ref $node eq 'HASH' && defined $node->{'$ref'}) {
		my $ref = $node->{'$ref'};
		die "ref loop at $ref\n" if $seen{$ref}++;
		die "not a local ref: $ref\n" unless $ref =~ m{^#/(.*)$};
		$node = $doc;
		for my $part (split m{/}, $1) {
			$part =~ s/~1/\//g;
			$part =~ s/~0/~/g;
			die "dangling ref $ref\n" unless ref $node eq 'HASH' &&
			    exists $node->{$part};
			$node = $node->{$part};
		}
	}
	return $node;
}

# Every operation of the document: { "GET /api/x" => operation object }.
sub operations {
	my ($doc) = @_;
	my %ops;
	for my $path (keys %{ $doc->{paths} // {} }) {
		my $item = deref($doc, $doc->{paths}{$path});
		for my $m (grep { $IS_METHOD{$_} } keys %$item) {
			$ops{uc($m) . " $path"} = $item->{$m};
		}
	}
	return %ops;
}

# The parameters of an operation, path-level ones included, dereferenced:
# { "query:limit" => parameter object, ... }.
sub parameters {
	my ($doc, $path, $op) = @_;
	my %p;
	my $item = deref($doc, $doc->{paths}{$path});
	for my $raw (@{ $item->{parameters} // [] },
	    @{ $op->{parameters} // [] }) {
		my $prm = deref($doc, $raw);
		$p{"$prm->{in}:$prm->{name}"} = $prm;
	}
	return %p;
}

# The names of the bearer (http, scheme bearer) security schemes.
sub bearer_schemes {
	my ($doc) = @_;
	my $schemes = $doc->{components}{securitySchemes} // {};
	return grep {
		my $s = deref($doc, $schemes->{$_});
		($s->{type} // '') eq 'http' && lc($s->{scheme} // '') eq 'bearer'
	} keys %$schemes;
}

# Does the operation (or the document, when the operation says nothing)
# require one of the bearer schemes?
sub wants_bearer {
	my ($doc, $op, $bearer) = @_;
	my $reqs = $op->{security} // $doc->{security} // [];
	for my $req (@$reqs) {
		return 1 if grep { $bearer->{$_} } keys %$req;
	}
	return 0;
}

# The members a schema allows and requires at its top level, through $ref
# and allOf: (\%properties, \@required).
sub members {
	my ($doc, $schema) = @_;
	my (%props, @req);
	my @todo = ($schema);
	while (defined(my $s = shift @todo)) {
		$s = deref($doc, $s);
		next unless ref $s eq 'HASH';
		$props{$_} = 1 for keys %{ $s->{properties} // {} };
		push @req, @{ $s->{required} // [] };
		push @todo, @{ $s->{allOf} // [] };
	}
	return (\%props, \@req);
}

# The application/json schema of an operation's response.
sub response_schema {
	my ($doc, $key, $status) = @_;
	my %ops = operations($doc);
	my $op = $ops{$key} or die "no operation $key in the document\n";
	my $res = deref($doc, $op->{responses}{$status})
	    or die "$key has no $status response\n";
	return $res->{content}{'application/json'}{schema}
	    // die "$key $status has no application/json schema\n";
}

###############################################################################
# The document is served.

my $r = $t->request(GET => '/api/openapi.json');
is_json_response($r, 200, 'GET /api/openapi.json is 200 application/json');
has_security_headers($r, 'the document carries the security headers');
my $doc = $r->{json};
die "no OpenAPI document to check\n" unless ref $doc eq 'HASH';

like($doc->{openapi} // '', qr/^3\.1\.\d+$/, 'the document is OpenAPI 3.1.x');

my $tree = eval { $JSON->decode(slurp(Medrec::Stack::top() .
    '/handlers/openapi.json')) };
is_deeply($doc, $tree, 'the service serves handlers/openapi.json of this '
    . 'tree (rebuild after editing it)');

my $h = $t->request(HEAD => '/api/openapi.json');
ok($h->{status} == 200 && $h->{body} eq '', 'HEAD /api/openapi.json is 200 '
    . 'without a body') or diag(show_response($h));

###############################################################################
# The document and the route table describe the same routes.

# FHIR's routes are described by its CapabilityStatement (GET
# /fhir/R4/metadata, t/100-fhir.t), not by this document.
my @routes = grep { $_->[1] !~ m{^/fhir/} } route_table();
my %ops = operations($doc);
my %table = map { ("$_->[0] " . oas_path($_->[1])) => $_->[2] } @routes;

my @missing = grep { !$ops{$_} } sort keys %table;
ok(!@missing, 'every route of `medrec --routes` is an operation of the '
    . 'document') or diag("not in the document:\n" . join("\n", @missing));
my @extra = grep { !exists $table{$_} } sort keys %ops;
ok(!@extra, 'every operation of the document is a route of '
    . '`medrec --routes`') or diag("not routes:\n" . join("\n", @extra));

my %bearer = map { $_ => 1 } bearer_schemes($doc);
ok(%bearer, 'the document defines a bearer security scheme');
for my $key (sort keys %table) {
	next unless $ops{$key};
	if ($table{$key} eq 'user') {
		ok(wants_bearer($doc, $ops{$key}, \%bearer),
		    "$key needs a token and the document says bearer");
	} else {
		ok(!wants_bearer($doc, $ops{$key}, \%bearer),
		    "$key is public and the document asks for no token");
	}
}

###############################################################################
# What the document says the lists take is what the service takes.

my $u = $t->new_user;
my $pr = $t->request(POST => '/api/patients', token => $u->{token},
    json => { name => 'OpenAPI Patient', age => 40, gender => 'other' });
my $dr = $t->request(POST => '/api/doctors', token => $u->{token},
    json => { name => 'Dr. OpenAPI', specialization => 'Documentation' });
my $mr = $t->request(POST => '/api/mappings', token => $u->{token},
    json => { patientId => $pr->{json}{id}, doctorId => $dr->{json}{id} });
die "cannot make the records to check with:\n" . show_response($pr)
    . show_response($dr) . show_response($mr)
    unless $pr->{status} == 201 && $dr->{status} == 201 &&
    $mr->{status} == 201;

# The list operations: GET operations that answer a JSON array.
my (%lists, %all_query);
$all_query{$_} = 1 for @CONTRACT_QUERY;
for my $key (sort keys %ops) {
	next unless $key =~ m{^GET (\S+)$};
	my $path = $1;
	my $schema = eval { deref($doc, response_schema($doc, $key, 200)) };
	next unless ref $schema eq 'HASH' && ($schema->{type} // '') eq 'array';
	my %p = parameters($doc, $path, $ops{$key});
	$lists{$key} = { path => $path, params => \%p };
	$all_query{$_} = 1 for map { /^query:(.*)$/ ? $1 : () } keys %p;
}
ok(scalar(keys %lists) >= 4, 'the document has the list operations');

sub list_request {
	my ($key, $query) = @_;
	my $path = $lists{$key}{path};
	$path =~ s/\{id\}/$pr->{json}{id}/;
	my $op = $ops{$key};
	return $t->request(GET => "$path?$query",
	    wants_bearer($doc, $op, \%bearer) ? (token => $u->{token}) : ());
}

for my $key (sort keys %lists) {
	my %p = %{ $lists{$key}{params} };

	# Sending every parameter any list takes, one at a time: those this
	# list documents must be known to it, the others unknown.
	my @wrong;
	for my $name (sort keys %all_query) {
		my $res = list_request($key, "$name=1");
		my $unknown = grep { ($_->{field} // '') eq $name &&
		    $_->{message} eq 'unknown parameter' }
		    @{ (ref $res->{json} eq 'HASH' && $res->{json}{errors}) || [] };
		push @wrong, $p{"query:$name"} ?
		    ($unknown ? "$name is documented but unknown" : ()) :
		    ($unknown ? () : "$name is taken but not documented");
	}
	ok(!@wrong, "$key takes exactly the query parameters the document "
	    . 'lists') or diag(join("\n", @wrong));

	# The service's 400 for a bad sort lists every value it takes.
	my $sort = $p{'query:sort'} ? deref($doc, $p{'query:sort'}{schema}) :
	    undef;
	my $res = list_request($key, 'sort=no-such-field');
	my ($msg) = map { $_->{message} } grep { ($_->{field} // '') eq 'sort' }
	    @{ (ref $res->{json} eq 'HASH' && $res->{json}{errors}) || [] };
	my @taken = defined $msg && $msg =~ /^must be one of (.*)$/ ?
	    split(/, /, $1) : ();
	is_deeply([ sort @{ ($sort && $sort->{enum}) || [] } ], [ sort @taken ],
	    "$key: the sort values of the document are those the service "
	    . 'takes') or diag(show_response($res));
}

###############################################################################
# The records the service sends have the members of their schemas.

# The application/json schema of a response, looked up when called.
sub schema_of {
	my ($key, $status) = @_;
	return sub { response_schema($doc, $key, $status) };
}

# has_members($value, sub { schema }, $name): a test.
sub has_members {
	my ($value, $schema_of, $name) = @_;
	my $schema = eval { $schema_of->() };
	my ($props, $req) = defined $schema ? members($doc, $schema) : ();
	my @bad;
	if (!defined $schema) {
		push @bad, "no schema: $@";
	} elsif (ref $value ne 'HASH') {
		push @bad, 'not a JSON object';
	} else {
		push @bad, map { "$_ is not in the schema" }
		    grep { !$props->{$_} } sort keys %$value;
		push @bad, map { "required $_ is missing" }
		    grep { !exists $value->{$_} } @$req;
	}
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" .
	    $JSON->encode($value // 'undef'));
}

my $login = $t->request(POST => '/api/auth/login',
    json => { email => $u->{email}, password => $u->{password} });
$t->remember_secret($login->{json}{token}) if ref $login->{json} eq 'HASH' &&
    defined $login->{json}{token};
has_members($login->{json}, schema_of('POST /api/auth/login', 200),
    'a login answer has the members of its schema');

my $me = $t->request(GET => '/api/auth/me', token => $u->{token});
has_members($me->{json}, schema_of('GET /api/auth/me', 200),
    'GET /api/auth/me has the members of User');

has_members($pr->{json}, schema_of('POST /api/patients', 201),
    'a patient has the members of Patient');
has_members($dr->{json}, schema_of('POST /api/doctors', 201),
    'a doctor has the members of Doctor');
has_members($mr->{json}, schema_of('POST /api/mappings', 201),
    'a mapping has the members of Mapping');

my $ad = $t->request(GET => "/api/mappings/patient/$pr->{json}{id}",
    token => $u->{token});
has_members(ref $ad->{json} eq 'ARRAY' ? $ad->{json}[0] : undef, sub {
    deref($doc, response_schema($doc, 'GET /api/mappings/patient/{id}',
    200))->{items} // die "the list has no items schema\n" },
    "a patient's doctor has the members of AssignedDoctor");

my $health = $t->request(GET => '/api/health');
has_members($health->{json}, schema_of('GET /api/health', 200),
    'GET /api/health has the members of Health');

my $nf = $t->request(GET => '/api/patients/999999999999', token => $u->{token});
has_members($nf->{json}, sub { deref($doc, $ops{'GET /api/patients/{id}'}
    {responses}{404})->{content}{'application/problem+json'}{schema}
    // die "no problem+json schema for its 404\n" },
    'a 404 has the members of Problem');

# The shared doctors list is left as it was found.
$t->request(DELETE => "/api/mappings/$mr->{json}{id}", token => $u->{token});
$t->request(DELETE => "/api/doctors/$dr->{json}{id}", token => $u->{token});

###############################################################################
# A real linter: Redocly CLI's recommended rules, no errors.

my $tmp = tempdir('medrec-openapi-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open(my $fh, '>:raw', "$tmp/openapi.json") or die "$tmp/openapi.json: $!\n";
print $fh $r->{body};
close($fh) or die "$tmp/openapi.json: $!\n";
open($fh, '>', "$tmp/redocly.yaml") or die "$tmp/redocly.yaml: $!\n";
print $fh "extends:\n  - recommended\n";
close($fh) or die "$tmp/redocly.yaml: $!\n";

my $bin = eval { Medrec::Stack::npm_tool('redocly') };
ok(defined $bin, 'Redocly CLI is installed in var/npm (script/npm-tool)')
    or diag($@);
# Without the linter the test above has failed already; nothing to lint.
if (defined $bin) {
	my $lint = Medrec::Stack::run_cmd(cwd => $tmp, timeout => 300,
	    env => { REDOCLY_TELEMETRY => 'off', NO_COLOR => 1,
	    REDOCLY_SUPPRESS_UPDATE_NOTICE => 'true' },
	    cmd => [ $bin, 'lint', '--config', "$tmp/redocly.yaml",
	    "$tmp/openapi.json" ]);
	is($lint->{status}, 0, 'the document passes redocly lint '
	    . '(recommended rules) without errors')
	    or diag("$lint->{out}$lint->{err}");
	note("redocly lint: $1") if "$lint->{out}$lint->{err}" =~
	    /(You have \d+ warnings?)/;
}

done_testing();
