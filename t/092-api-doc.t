#!/usr/bin/perl
# doc/API.md, the API reference that travels with the project (issue 11),
# says what the OpenAPI document the service serves says: an entry
# ("### METHOD /path") and a row in the summary table for every operation
# and for nothing else, the same token requirement, every response status
# of the operation in the entry's list of answers, every field of a
# request body with its limits, every query parameter and sort value of a
# list, every response header, and every member of the records answered.
#
# The reference may say more than the document (statuses the document has
# yet to list are noted, not failed): it is checked against the service in
# the other tests, as the document is.

use strict;
use warnings;

use JSON::PP;
use Test::More;

use Medrec::Stack qw(slurp);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;
my $PATH = 'doc/API.md';

my %IS_METHOD = map { $_ => 1 } qw(get put post delete options head patch
    trace);

###############################################################################
# Helpers that die or compute (not tests).

# "/api/patients/:id" as OpenAPI writes it: "/api/patients/{id}".
sub oas_path {
	my ($path) = @_;
	(my $p = $path) =~ s{/:(\w+)}{/{$1}}g;
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

# Every operation of the document: { "GET /api/x" => [path, operation] }.
sub operations {
	my ($doc) = @_;
	my %ops;
	for my $path (keys %{ $doc->{paths} // {} }) {
		my $item = deref($doc, $doc->{paths}{$path});
		for my $m (grep { $IS_METHOD{$_} } keys %$item) {
			$ops{uc($m) . " $path"} = [ $path, $item->{$m} ];
		}
	}
	return %ops;
}

# Does the operation (or the document, when it says nothing) ask for a
# bearer token?
sub wants_bearer {
	my ($doc, $op) = @_;
	my $schemes = $doc->{components}{securitySchemes} // {};
	for my $req (@{ $op->{security} // $doc->{security} // [] }) {
		for my $name (keys %$req) {
			my $s = deref($doc, $schemes->{$name});
			return 1 if ($s->{type} // '') eq 'http' &&
			    lc($s->{scheme} // '') eq 'bearer';
		}
	}
	return 0;
}

# The top-level properties of a schema, through $ref and allOf:
# { name => property schema }.
sub properties {
	my ($doc, $schema) = @_;
	my %props;
	my @todo = ($schema);
	while (defined(my $s = shift @todo)) {
		$s = deref($doc, $s);
		next unless ref $s eq 'HASH';
		$props{$_} = deref($doc, $s->{properties}{$_})
		    for keys %{ $s->{properties} // {} };
		push @todo, @{ $s->{allOf} // [] };
	}
	return \%props;
}

# The parameters of an operation, path-level ones included, dereferenced.
sub parameters {
	my ($doc, $path, $op) = @_;
	my $item = deref($doc, $doc->{paths}{$path});
	return map { deref($doc, $_) } @{ $item->{parameters} // [] },
	    @{ $op->{parameters} // [] };
}

# The reference cut into parts: { general => text outside the Endpoints
# section, table => { "GET /api/x" => 'yes'|'no' }, entries => { "GET
# /api/x" => text of its entry }, order => [ keys as written ], twice =>
# [ keys written more than once ] }.
sub parse_reference {
	my ($text) = @_;
	my (%ref, $section, $entry);
	$ref{general} = '';
	for my $line (split /\n/, $text) {
		if ($line =~ /^## (.*?)\s*$/) {
			$section = $1;
			undef $entry;
		} elsif ($line =~ /^### (\S+) (\S+)\s*$/ && $IS_METHOD{lc $1}) {
			die "$PATH: an operation heading outside ## Endpoints: "
			    . "$line\n" unless ($section // '') eq 'Endpoints';
			$entry = "$1 " . oas_path($2);
			push @{ $ref{twice} }, $entry if exists $ref{entries}{$entry};
			push @{ $ref{order} }, $entry;
			$ref{entries}{$entry} = '';
			next;
		} elsif ($line =~ /^#{1,3} /) {
			undef $entry;
		}
		if (defined $entry) {
			$ref{entries}{$entry} .= "$line\n";
		} elsif (($section // '') ne 'Endpoints') {
			$ref{general} .= "$line\n";
		}
		# The FHIR section's table is its own (t/100-fhir.t).
		if ($line =~ /^\|\s*([A-Z]+)\s*\|\s*(\/\S*)\s*\|\s*(\w+)\s*\|/ &&
		    $IS_METHOD{lc $1} && ($section // '') ne 'FHIR R4') {
			$ref{table}{"$1 " . oas_path($2)} = $3;
		}
	}
	return \%ref;
}

# The statuses an entry lists: the codes that open its list items, as in
# "- `404`: ..." or "- `413`, `415`, `500`, `503`.".
sub listed_statuses {
	my ($entry) = @_;
	my %s;
	for my $line (split /\n/, $entry) {
		next unless $line =~ /^- ((?:`\d{3}[^`]*`(?:, )?)+)/;
		my $run = $1;
		$s{$_} = 1 for $run =~ /`(\d{3})/g;
	}
	return \%s;
}

# Is `word` (or `word: ...`, `word=...`) written in code in the text?
sub names {
	my ($text, $word) = @_;
	return $text =~ /`\Q$word\E(?:[:=][^`]*)?`/;
}

###############################################################################
# The two documents.

my $r = $t->request(GET => '/api/openapi.json');
is_json_response($r, 200, 'the service serves its OpenAPI document');
my $doc = $r->{json};
die "no OpenAPI document to compare with\n" unless ref $doc eq 'HASH';
my %ops = operations($doc);
ok(scalar(keys %ops) >= 20, 'the document has the operations of the API');

my $file = Medrec::Stack::top() . "/$PATH";
ok(-f $file, "$PATH is in the tree");
my $ref = parse_reference(-f $file ? slurp($file) : '');
my %entries = %{ $ref->{entries} // {} };

###############################################################################
# The same operations.

my @missing = grep { !exists $entries{$_} } sort keys %ops;
ok(!@missing, "every operation of the document has its entry in $PATH")
    or diag("no \"### METHOD /path\" entry for:\n" . join("\n", @missing));
my @extra = grep { !$ops{$_} } sort keys %entries;
ok(!@extra, "$PATH has no entry for an operation the document lacks")
    or diag("not in the document:\n" . join("\n", @extra));
ok(!@{ $ref->{twice} // [] }, "$PATH has one entry per operation")
    or diag("twice: @{ $ref->{twice} }");

my %table = %{ $ref->{table} // {} };
my @untabled = grep { !exists $table{$_} } sort keys %ops;
ok(!@untabled, "the summary table of $PATH lists every operation")
    or diag("not in the table:\n" . join("\n", @untabled));
my @overtabled = grep { !$ops{$_} } sort keys %table;
ok(!@overtabled, 'the summary table lists no operation the document lacks')
    or diag("not in the document:\n" . join("\n", @overtabled));

###############################################################################
# Each operation as its entry describes it.

for my $key (sort keys %ops) {
	my $entry = $entries{$key};
	next unless defined $entry;	# failed above
	my ($path, $op) = @{ $ops{$key} };
	my $bearer = wants_bearer($doc, $op);

	# The token.
	my ($token) = $entry =~ /^Token: (none|required)\b/m;
	is($token // '(no "Token:" line)', $bearer ? 'required' : 'none',
	    "$key: the entry says whether a token is needed, as the document");
	is($table{$key} // '', $bearer ? 'yes' : 'no',
	    "$key: the summary table says so too");

	# The statuses: every numeric one of the document in the entry's
	# list; ranges such as 4XX in the general rules.
	my $listed = listed_statuses($entry);
	my @codes = sort keys %{ $op->{responses} // {} };
	my @absent = grep { /^\d{3}$/ && !$listed->{$_} } @codes;
	ok(!@absent, "$key: the entry lists every status of the document")
	    or diag("not listed: @absent\nlisted: "
	    . join(' ', sort keys %$listed));
	my @ranges = grep { !/^\d{3}$/ && $_ ne 'default' } @codes;
	for my $range (@ranges) {
		ok(names($ref->{general}, $range), "$key: $range, a status "
		    . "range of the document, is explained in the general rules");
	}
	my %in_doc = map { $_ => 1 } @codes;
	my @more = grep { !$in_doc{$_} } sort keys %$listed;
	note("$key: $PATH lists statuses the document does not: @more")
	    if @more;

	# The response headers.
	my %headers;
	for my $code (@codes) {
		my $res = deref($doc, $op->{responses}{$code});
		$headers{$_} = 1 for keys %{ $res->{headers} // {} };
	}
	my @unnamed = grep { !names($entry, $_) && !names($ref->{general}, $_) }
	    sort keys %headers;
	ok(!@unnamed, "$key: every response header of the document is named "
	    . 'in the entry or the general rules')
	    or diag("not named: @unnamed");

	# The request body: every field the client may send is named, and a
	# field table lists exactly those with their limits.
	my $body = $op->{requestBody} ? deref($doc, $op->{requestBody}) : undef;
	my $schema = $body ? $body->{content}{'application/json'}{schema} :
	    undef;
	if ($schema) {
		my $props = properties($doc, $schema);
		my @fields = sort grep { !$props->{$_}{readOnly} } keys %$props;
		my @unnamed_fields = grep { !names($entry, $_) } @fields;
		ok(!@unnamed_fields, "$key: the entry names every field of the "
		    . 'body') or diag("not named: @unnamed_fields");
		my %rows = map { /^\|\s*`([^`]+)`\s*\|(.*)$/ ? ($1 => $2) : () }
		    split /\n/, $entry;
		if (%rows) {
			is_deeply([ sort keys %rows ], \@fields, "$key: the "
			    . 'field table has a row for each field, and no '
			    . 'other');
			my @bad;
			for my $f (grep { defined $rows{$_} } @fields) {
				for my $limit (qw(minLength maxLength minimum
				    maximum)) {
					my $n = $props->{$f}{$limit};
					next unless defined $n && $n > 0;
					push @bad, "$f: $limit $n"
					    unless $rows{$f} =~ /(?<![\d.])\Q$n\E(?![\d.])/;
				}
			}
			ok(!@bad, "$key: each row states the limits of the "
			    . 'document') or diag("not stated: " . join(', ', @bad));
		} else {
			ok($entry =~ /the rules of\s+`(?:POST|PUT) \S+`/, "$key: "
			    . 'an entry without a field table refers to the '
			    . 'rules of another');
		}
	}

	# The query parameters, and the values of sort.
	my @query = grep { $_->{in} eq 'query' } parameters($doc, $path, $op);
	my @unnamed_query;
	for my $prm (@query) {
		push @unnamed_query, $prm->{name} unless names($entry, $prm->{name});
		next unless $prm->{name} eq 'sort';
		my $enum = deref($doc, $prm->{schema})->{enum} // [];
		push @unnamed_query, "sort=$_"
		    for grep { !/^-/ && !names($entry, $_) } @$enum;
	}
	ok(!@unnamed_query, "$key: the entry names every query parameter and "
	    . 'sort value of the document') or diag("not named: @unnamed_query")
	    if @query;
}

###############################################################################
# The records answered: every member of a named schema a success returns.

my %records;
for my $key (sort keys %ops) {
	my $op = $ops{$key}[1];
	for my $code (grep { /^2/ } keys %{ $op->{responses} // {} }) {
		my $res = deref($doc, $op->{responses}{$code});
		my $schema = $res->{content}{'application/json'}{schema} // next;
		$schema = $schema->{items} if !defined $schema->{'$ref'} &&
		    ($schema->{type} // '') eq 'array';
		next unless ref $schema eq 'HASH' && defined $schema->{'$ref'};
		$records{$schema->{'$ref'}} = $schema;
	}
}
ok(scalar(keys %records) >= 6, 'the document answers named records');
for my $name (sort keys %records) {
	my $props = properties($doc, $records{$name});
	my @unnamed = grep { !names($ref->{general}, $_) } sort keys %$props;
	(my $short = $name) =~ s{.*/}{};
	ok(!@unnamed, "every member of $short is described under Records")
	    or diag("not described: @unnamed");
}

done_testing();
