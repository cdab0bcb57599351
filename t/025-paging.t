#!/usr/bin/perl
# Paging a collection (API.md "Collections"), on GET /api/patients: limit,
# offset, sort, the q filter, keyset cursors in Link rel="next", their
# misuse, Prefer: count=exact, query parameters the service must refuse,
# and that another user's patients never show up in any page.
#
# One user gets 300 patients: most inserted with SQL so that created_at and
# updated_at hold ties (one statement's now()), distinct seconds and
# distinct microseconds within one millisecond; the rest made and changed
# through the API.  The expected orders are computed here from the
# database's own keys; names sort by bytes, as the test cluster's
# C.UTF-8 collation does.

use strict;
use warnings;
use utf8;

use Encode qw(decode encode);
use POSIX qw(floor);
use Test::More;

use Medrec::Stack;
use Medrec::Test;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

my $t = Medrec::Stack->shared;
my $TOTAL = 300;

###############################################################################
# Helpers that die or compute (not tests).

sub api {
	my ($u, $path, %o) = @_;
	return $t->request(GET => $path, token => $u->{token}, %o);
}

sub uri_escape {
	my ($s) = @_;
	my $b = encode('UTF-8', $s);
	$b =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
	return $b;
}

sub uri_unescape {
	my ($s) = @_;
	$s =~ tr/+/ /;
	$s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
	return decode('UTF-8', $s);
}

# A Link header as [ [ target, rel ], ... ], or undef when a link-value is
# not of the form </api/patients?...>; rel="...".
sub links {
	my ($r) = @_;
	my $h = $r->{headers}{link};
	return [] unless defined $h;
	$h = join ', ', @$h if ref $h;
	my @out;
	for my $lv (split /\s*,\s*(?=<)/, $h) {
		return undef unless $lv =~ m{^<(/api/patients\?[^>]*)>\s*;\s*rel="(\w+)"$};
		push @out, [ $1, $2 ];
	}
	return \@out;
}

sub rel {
	my ($r, $rel) = @_;
	my $l = links($r) or return undef;
	my @t = map { $_->[0] } grep { $_->[1] eq $rel } @$l;
	return @t == 1 ? $t[0] : undef;
}

# The query of a link target as a hash; a repeated name gives an array.
sub params_of {
	my ($target) = @_;
	my ($q) = $target =~ /\?(.*)$/ or return {};
	my %p;
	for my $pair (grep { length } split /&/, $q) {
		my ($k, $v) = split /=/, $pair, 2;
		$k = uri_unescape($k);
		$v = uri_unescape($v // '');
		if (exists $p{$k}) {
			$p{$k} = [ ref $p{$k} ? @{ $p{$k} } : $p{$k}, $v ];
		} else {
			$p{$k} = $v;
		}
	}
	return \%p;
}

sub ids_of {
	my ($r) = @_;
	return [ map { $_->{id} } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] } ];
}

sub error_fields {
	my ($r) = @_;
	my $e = ref $r->{json} eq 'HASH' ? $r->{json}{errors} : undef;
	return [] unless ref $e eq 'ARRAY';
	return [ sort map { ref $_ eq 'HASH' ? $_->{field} // '(null)' : '?' } @$e ];
}

# walk($user, \%query): GET /api/patients with the query, then follows
# rel="next" to the end.  Returns { ids, rows, pages, problems }: problems
# lists every page whose Link header or size breaks the contract.
sub walk {
	my ($u, $query, %o) = @_;
	my $limit = $query->{limit} // 50;
	my $sort = $query->{sort} // 'id';
	my $path = '/api/patients?' . join '&',
	    map { "$_=" . uri_escape($query->{$_}) } sort keys %$query;
	my (@rows, @problems);
	my $pages = 0;
	while (defined $path) {
		my $r = api($u, $path, %o);
		$pages++;
		my $where = "page $pages ($path)";
		if ($r->{status} != 200 || ref $r->{json} ne 'ARRAY') {
			push @problems, "$where: " . show_response($r);
			last;
		}
		my $n = @{ $r->{json} };
		push @rows, @{ $r->{json} };
		my $l = links($r);
		if (!$l) {
			push @problems, "$where: Link is not </api/patients?...>; "
			    . 'rel="..." link-values: ' . ($r->{headers}{link} // '(none)');
			last;
		}
		my @first = grep { $_->[1] eq 'first' } @$l;
		my @next = grep { $_->[1] eq 'next' } @$l;
		push @problems, "$where: " . @first . ' rel="first" links'
		    unless @first == 1;
		push @problems, "$where: " . @next . ' rel="next" links' if @next > 1;
		for my $lk (@first, @next) {
			my $p = params_of($lk->[0]);
			my $rel = $lk->[1];
			push @problems, "$where: rel=\"$rel\" has limit "
			    . ($p->{limit} // '(none)') . ", not $limit"
			    unless ($p->{limit} // 50) eq $limit;
			push @problems, "$where: rel=\"$rel\" has sort "
			    . ($p->{sort} // '(none)') . ", not $sort"
			    unless ($p->{sort} // 'id') eq $sort;
			push @problems, "$where: rel=\"$rel\" has q "
			    . ($p->{q} // '(none)') . ', not ' . ($query->{q} // '(none)')
			    unless ($p->{q} // "\0") eq ($query->{q} // "\0");
			push @problems, "$where: rel=\"$rel\" has an offset"
			    if exists $p->{offset};
			push @problems, "$where: rel=\"first\" has a cursor"
			    if $rel eq 'first' && exists $p->{after};
			push @problems, "$where: rel=\"next\" has no single cursor"
			    if $rel eq 'next' && (!defined $p->{after} || ref $p->{after}
			    || !length $p->{after});
			my %known = map { $_ => 1 } qw(limit sort q after);
			push @problems, "$where: rel=\"$rel\" has parameter $_"
			    for grep { !$known{$_} } sort keys %$p;
		}
		push @problems, "$where: $n rows, more than limit $limit" if $n > $limit;
		push @problems, "$where: $n rows but a next page" if @next && $n < $limit;
		push @problems, "$where: no rows but a next page" if @next && !$n;
		$path = @next ? $next[0][0] : undef;
		if ($pages > 2 * $TOTAL) {
			push @problems, 'more pages than rows: stopped';
			last;
		}
	}
	return { ids => [ map { $_->{id} } @rows ], rows => \@rows,
	    pages => $pages, problems => \@problems };
}

###############################################################################
# The data.

my $owner = $t->new_user;
my $other = $t->new_user;

# Mixed case, duplicates (each name is used several times), multi-byte and
# four-byte characters, LIKE's metacharacters, a line break, a long name.
my @NAMES = ('alice', 'Alice', 'ALICE', 'Alicia', 'malice', 'bob', 'Bob', 'bobby',
    'Zoë', 'zoe', 'Émile', 'émile', 'Ωmega', '50%_off', '50%_OFF deal', '50%off',
    '50_off', '50xoff', '1500 units', 'a_b', 'axb', 'back\\slash', 'Mc Donald',
    'McDonald', "line1\nline2", "O'Brien", '"quoted"', 'emoji 🙂', "\x{1D11E}" x 200,
    'z' x 200, '~tilde', '[bracket]', 'Ärzte', 'a', 'A', 'aa', 'a a', 'AB', 'Ab',
    '100% pure', 'x');

sub sql_str {
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

my $values = join ",\n", map { "($_, " . sql_str($NAMES[$_]) . ')' } 0 .. $#NAMES;
my $n_names = @NAMES;
my $sql_rows = 280;
$t->psql(encode('UTF-8', <<"EOF"));
SET client_encoding = 'UTF8';
WITH n(k, name) AS (VALUES $values)
INSERT INTO patients (user_id, name, age, gender, address, created_at, updated_at)
SELECT $owner->{id}, n.name, i % 151,
    (ARRAY['male', 'female', 'other', 'unknown', NULL])[1 + i % 5],
    CASE WHEN i % 4 = 0 THEN NULL ELSE 'Street ' || i END,
    CASE WHEN i <= 100 THEN now() - interval '2 hours'
         WHEN i <= 200 THEN now() - interval '3 hours' - i * interval '1 second'
         ELSE date_trunc('second', now()) - interval '1 hour'
              + (i * 37 % 80) * interval '1 microsecond'
    END,
    CASE WHEN i % 3 = 0 THEN now() - interval '30 minutes'
         ELSE now() - interval '30 minutes' - (i % 17) * interval '1 millisecond'
              + (i % 4) * interval '1 microsecond'
    END
FROM generate_series(1, $sql_rows) AS i JOIN n ON n.k = i % $n_names;
EOF

# The rest through the API, each at its own time and with a name of its
# own; and a few changed.
for my $i (1 .. $TOTAL - $sql_rows) {
	my $r = $t->request(POST => '/api/patients', token => $owner->{token},
	    json => { name => ($i % 2 ? 'solo ' : 'SOLO ') . $i, age => $i });
	die "POST /api/patients: " . show_response($r) unless $r->{status} == 201;
}
my @some = split /\n/, $t->psql("SELECT id FROM patients WHERE user_id = $owner->{id} "
    . "ORDER BY id LIMIT 5 OFFSET 40");
for my $id (@some) {
	my $r = $t->request(PATCH => "/api/patients/$id", token => $owner->{token},
	    json => { age => 99 });
	die "PATCH: " . show_response($r) unless $r->{status} == 200;
}

# Another user's patients, with names the filters below would match.
my @other_ids;
for my $name ('alice', 'Alice of Other', '50%_off other', 'émile', 'zoe') {
	my $r = $t->request(POST => '/api/patients', token => $other->{token},
	    json => { name => $name });
	die "POST /api/patients: " . show_response($r) unless $r->{status} == 201;
	push @other_ids, $r->{json}{id};
}
my %other_id = map { $_ => 1 } @other_ids;

# The truth, from the database: ids, names as bytes, times in microseconds.
my @truth;
for my $line (split /\n/, $t->psql("SELECT id, encode(convert_to(name, 'UTF8'), 'hex'), "
    . "(extract(epoch FROM created_at) * 1000000)::bigint, "
    . "(extract(epoch FROM updated_at) * 1000000)::bigint "
    . "FROM patients WHERE user_id = $owner->{id}")) {
	my ($id, $hex, $c, $u) = split /\|/, $line;
	my $bytes = pack('H*', $hex);
	push @truth, { id => $id, nb => $bytes, name => decode('UTF-8', $bytes),
	    c => $c, u => $u };
}
die 'expected ' . $TOTAL . ' patients, the database has ' . @truth . "\n"
    unless @truth == $TOTAL;

my %order = (
	id		=> sub { $a->{id} <=> $b->{id} },
	name		=> sub { $a->{nb} cmp $b->{nb} || $a->{id} <=> $b->{id} },
	createdAt	=> sub { $a->{c} <=> $b->{c} || $a->{id} <=> $b->{id} },
	updatedAt	=> sub { $a->{u} <=> $b->{u} || $a->{id} <=> $b->{id} },
);

# expected($sort, $q): the ids in the order the API must give them.
sub expected {
	my ($sort, $q) = @_;
	my $desc = $sort =~ s/^-//;
	my $cmp = $order{$sort};
	my @rows = grep { !defined $q || index(lc $_->{name}, lc $q) >= 0 } @truth;
	my @ids = map { $_->{id} } sort $cmp @rows;
	return $desc ? [ reverse @ids ] : \@ids;
}

# How many ties each sort key has, so a reader of the output can see that
# every sort really is exercised with and without them.
for my $k (qw(nb c u)) {
	my %n;
	$n{ $_->{$k} }++ for @truth;
	my $ties = grep { $_ > 1 } values %n;
	my $distinct = grep { $_ == 1 } values %n;
	note("key $k: $ties values shared by several rows, $distinct unique");
}
my %same_ms;
$same_ms{ floor($_->{c} / 1000) }++ for @truth;
ok((grep { $_ > 10 } values %same_ms) >= 2,
    '(the data has rows whose createdAt differs only below the millisecond)');

my @all = @{ expected('id') };

###############################################################################
# Defaults, limit and offset.

my $r = api($owner, '/api/patients');
is_json_response($r, 200, 'GET /api/patients is 200 JSON');
is_deeply(ids_of($r), [ @all[0 .. 49] ], 'the default page is the first 50 by id ascending');
ok(defined rel($r, 'next'), 'the default page has a rel="next"');
ok(defined rel($r, 'first'), 'and a rel="first"');
is($r->{headers}{'x-total-count'}, undef, 'without Prefer there is no X-Total-Count');
is($r->{headers}{'preference-applied'}, undef, 'and no Preference-Applied');

my $fp = params_of(rel($r, 'first') // '');
ok(($fp->{limit} // 50) == 50 && ($fp->{sort} // 'id') eq 'id' && !exists $fp->{after},
    'rel="first" leads to the first page with the default limit and sort')
    or diag($r->{headers}{link});
my $first = rel($r, 'first');
is_deeply(ids_of(api($owner, $first // '/nowhere')), ids_of($r),
    'following rel="first" gives the first page again');

$r = api($owner, '/api/patients?limit=1');
is_deeply(ids_of($r), [ $all[0] ], 'limit=1 gives one row, the first');
ok(defined rel($r, 'next'), 'and a rel="next"');
$r = api($owner, '/api/patients?limit=200');
is_deeply(ids_of($r), [ @all[0 .. 199] ], 'limit=200 gives 200 rows');
$r = api($owner, '/api/patients?limit=50&offset=0');
is_deeply(ids_of($r), [ @all[0 .. 49] ], 'offset=0 is the first page');

for my $bad ('0', '201', 'abc', '-1', '', '1.5', '+5', ' 5', '5 ', '1e2', '0x10',
    '99999999999999999999') {
	my $q = uri_escape($bad);
	$r = api($owner, "/api/patients?limit=$q");
	is_problem($r, 400, "limit=\"$bad\" is 400");
	is_deeply(error_fields($r), [ 'limit' ], '  and the error names limit');
}
for my $bad ('-1', 'abc', '', '1.5', '99999999999999999999') {
	my $q = uri_escape($bad);
	$r = api($owner, "/api/patients?offset=$q");
	is_problem($r, 400, "offset=\"$bad\" is 400");
	is_deeply(error_fields($r), [ 'offset' ], '  and the error names offset');
}
$r = api($owner, '/api/patients?limit=0&offset=-1&sort=age');
is_problem($r, 400, 'three bad parameters are 400');
is_deeply(error_fields($r), [ qw(limit offset sort) ], 'and every one is named');

$r = api($owner, '/api/patients?offset=250&limit=50');
is_deeply(ids_of($r), [ @all[250 .. 299] ], 'offset=250&limit=50 gives the last 50');
ok(!defined rel($r, 'next'), 'the last page has no rel="next"');
ok(defined rel($r, 'first'), 'the last page has a rel="first"');
$r = api($owner, '/api/patients?offset=290&limit=50');
is_deeply(ids_of($r), [ @all[290 .. 299] ], 'offset=290&limit=50 gives the last 10');
ok(!defined rel($r, 'next'), 'and no rel="next"');
$r = api($owner, '/api/patients?offset=300');
is_json_response($r, 200, 'an offset at the end is 200');
is_deeply($r->{json}, [], 'with an empty array');
ok(!defined rel($r, 'next') && defined rel($r, 'first'),
    'an empty page has rel="first" and no rel="next"');
$r = api($owner, '/api/patients?offset=100000');
is_deeply($r->{json}, [], 'an offset far past the end gives an empty array');

$r = api($owner, '/api/patients?offset=100&limit=50');
is_deeply(ids_of($r), [ @all[100 .. 149] ], 'offset=100&limit=50 gives rows 100 to 149');
my $next = rel($r, 'next');
ok(defined $next && !exists params_of($next)->{offset},
    'its rel="next" pages by cursor, not by offset');
is_deeply(ids_of(api($owner, $next // '/nowhere')), [ @all[150 .. 199] ],
    'and leads to rows 150 to 199');

my $by_name = expected('-name');
$r = api($owner, '/api/patients?sort=-name&offset=20&limit=9');
is_deeply(ids_of($r), [ @$by_name[20 .. 28] ], 'offset works with sort=-name');

###############################################################################
# Walking rel="next" for every sort.

my $canon = walk($owner, { limit => 7 });
my %row_by_id = map { $_->{id} => $_ } @{ $canon->{rows} };
my $row_keys = join ',', sort qw(id name age gender address createdAt updatedAt);
ok(!grep({ join(',', sort keys %$_) ne $row_keys } @{ $canon->{rows} }),
    'every row of a page is a whole patient');

sub ms_time {
	my ($usec) = @_;
	my $ms = floor($usec / 1000);
	my @g = gmtime(floor($ms / 1000));
	return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $g[5] + 1900, $g[4] + 1,
	    @g[3, 2, 1, 0], $ms % 1000);
}
my @bad_rows = grep {
	my $row = $row_by_id{ $_->{id} };
	!$row || $row->{name} ne $_->{name} || $row->{createdAt} ne ms_time($_->{c})
	    || $row->{updatedAt} ne ms_time($_->{u})
} @truth;
ok(!@bad_rows, 'each row holds its name, and its times to the millisecond, in UTC')
    or diag(explain([ map { [ $_, $row_by_id{ $_->{id} } ] } @bad_rows[0 .. 2] ]));

my %seen_ids;
for my $sort (qw(id -id name -name createdAt -createdAt updatedAt -updatedAt)) {
	my $w = walk($owner, { limit => 7, sort => $sort });
	$seen_ids{$_}++ for @{ $w->{ids} };
	is_deeply($w->{ids}, expected($sort),
	    "sort=$sort, limit=7: following rel=\"next\" gives every row once, in order")
	    or diag(scalar(@{ $w->{ids} }) . ' rows in ' . $w->{pages} . ' pages');
	is($w->{pages}, 43, "sort=$sort: 300 rows take 43 pages of 7");
	ok(!@{ $w->{problems} },
	    "sort=$sort: every page has one rel=\"first\", rel=\"next\" until the last, "
	    . 'and the links keep limit and sort') or diag(join "\n", @{ $w->{problems} });
	my @changed = grep { my $c = $row_by_id{ $_->{id} };
	    !$c || join("\0", map { $_ // '' } @$_{sort keys %$_})
	    ne join("\0", map { $_ // '' } @$c{sort keys %$c}) } @{ $w->{rows} };
	ok(!@changed, "sort=$sort: each row is the same patient as in the id order");
}

for my $c ([ { limit => 200, sort => '-updatedAt' }, 2 ],
    [ { limit => 1, sort => 'name', q => 'ÉMILE' }, undef ],
    [ { limit => 3, sort => '-createdAt', q => 'aLi' }, undef ],
    [ { limit => 2, sort => 'updatedAt', q => '50%_' }, undef ],
    [ { limit => 4, sort => '-id', q => '_' }, undef ],
    [ { limit => 5, sort => 'name', q => '\\' }, undef ],
    [ { limit => 5, sort => '-name', q => "line1\nline2" }, undef ],
    [ { limit => 6, sort => 'createdAt', q => '🙂' }, undef ],
    [ { limit => 50, q => 'a' }, undef ]) {
	my ($query, $pages) = @$c;
	my $desc = join '&', map { "$_=" . ($query->{$_} =~ s/\n/\\n/r) } sort keys %$query;
	my $w = walk($owner, $query);
	$seen_ids{$_}++ for @{ $w->{ids} };
	my $exp = expected($query->{sort} // 'id', $query->{q});
	is_deeply($w->{ids}, $exp, "$desc: following rel=\"next\" gives every match once, in order")
	    or diag(scalar(@{ $w->{ids} }) . ' rows in ' . $w->{pages} . ' pages');
	ok(!@{ $w->{problems} }, "$desc: the links keep limit, sort and q")
	    or diag(join "\n", @{ $w->{problems} });
	is($w->{pages}, $pages, "$desc: $pages pages") if defined $pages;
	ok(@$exp > 0, "$desc: (the filter matches something: " . @$exp . ' rows)');
}
ok(!grep({ $other_id{$_} } keys %seen_ids),
    "another user's patients never appear in any page");

###############################################################################
# The q filter.

sub names_of {
	my ($r) = @_;
	return [ map { $_->{name} } @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] } ];
}

$r = api($owner, '/api/patients?q=ALICE&limit=200');
is_deeply(ids_of($r), expected('id', 'alice'), 'q is a case-insensitive substring of the name');
ok(grep({ $_ eq 'malice' } @{ names_of($r) }), 'q matches inside a name, not only at its start');
$r = api($owner, '/api/patients?q=50%25_&limit=200');
is_deeply(ids_of($r), expected('id', '50%_'),
    'q=50%25_ finds the names holding "50%_" literally');
ok(!grep({ index(lc $_, '50%_') < 0 } @{ names_of($r) }),
    'and no name without a literal "50%_"')
    or diag(explain(names_of($r)));
ok(@{ names_of($r) } && !grep({ /^(?:50%off|50_off|50xoff|1500 units)$/ } @{ names_of($r) }),
    '"50%off", "50_off", "50xoff" and "1500 units" are not found by it');
$r = api($owner, '/api/patients?q=%25&limit=200');
is_deeply(ids_of($r), expected('id', '%'), 'q=% finds only names holding a "%"');
$r = api($owner, '/api/patients?q=_&limit=200');
is_deeply(ids_of($r), expected('id', '_'), 'q=_ finds only names holding a "_"');
$r = api($owner, '/api/patients?q=%5C&limit=200');
is_deeply(ids_of($r), expected('id', '\\'), 'q=\\ finds only names holding a backslash');
ok(@{ ids_of($r) } > 0, '(and there are some)');
$r = api($owner, '/api/patients?q=%C3%89MILE&limit=200');
is_deeply(ids_of($r), expected('id', 'émile'), 'q matches non-ASCII letters in any case');
$r = api($owner, '/api/patients?q=nobody-has-this-name');
is_json_response($r, 200, 'a q that matches nothing is 200');
is_deeply($r->{json}, [], 'with an empty array');
ok(!defined rel($r, 'next') && defined rel($r, 'first'),
    'and rel="first" without rel="next"');
my $qf = params_of(rel($r, 'first') // '');
is($qf->{q}, 'nobody-has-this-name', 'rel="first" keeps q');
$r = api($owner, '/api/patients?q=alice+of+other');
is_deeply($r->{json}, [], "q never finds another user's patient");

###############################################################################
# Cursors: only for the sort, direction and filter they were made for.

$r = api($owner, '/api/patients?limit=7&sort=name');
my $c_name = params_of(rel($r, 'next') // '')->{after} // 'missing';
$r = api($owner, '/api/patients?limit=7&sort=name&q=ali');
my $c_q = params_of(rel($r, 'next') // '')->{after} // 'missing';
$r = api($owner, '/api/patients?limit=7');
my $c_id = params_of(rel($r, 'next') // '')->{after} // 'missing';
my $e_name = uri_escape($c_name);
my $e_q = uri_escape($c_q);
my $e_id = uri_escape($c_id);
my $names = expected('name');
my $ali = expected('name', 'ali');

$r = api($owner, "/api/patients?limit=7&sort=name&after=$e_name");
is_deeply(ids_of($r), [ @$names[7 .. 13] ], 'a cursor works with the query it came from');
$r = api($owner, "/api/patients?limit=20&sort=name&after=$e_name");
is_deeply(ids_of($r), [ @$names[7 .. 26] ], 'a cursor works with another limit');
$r = api($owner, "/api/patients?sort=id&limit=7&after=$e_id");
is_deeply(ids_of($r), [ @all[7 .. 13] ], 'a cursor of the default sort works with sort=id spelled out');

for my $c ([ "sort=id&after=$e_name", 'a name cursor with sort=id' ],
    [ "after=$e_name", 'a name cursor with the default sort' ],
    [ "sort=-name&after=$e_name", 'a name cursor with sort=-name (the other direction)' ],
    [ "sort=createdAt&after=$e_name", 'a name cursor with sort=createdAt' ],
    [ "sort=name&q=ali&after=$e_name", 'a cursor made without q, used with q' ],
    [ "sort=name&after=$e_q", 'a cursor made with q, used without q' ],
    [ "sort=name&q=alic&after=$e_q", 'a cursor made with q=ali, used with q=alic' ],
    [ "sort=-name&q=ali&after=$e_q", 'a cursor made with q, used in the other direction' ],
    [ "sort=-id&after=$e_id", 'an id cursor with sort=-id' ],
    [ "sort=updatedAt&after=$e_id", 'an id cursor with sort=updatedAt' ]) {
	my ($q, $what) = @$c;
	$r = api($owner, "/api/patients?$q");
	is_problem($r, 400, "$what is 400");
	is_deeply(error_fields($r), [ 'after' ], '  and the error names after');
}
$r = api($owner, "/api/patients?limit=7&sort=name&q=ali&after=$e_q");
is_deeply(ids_of($r), [ @$ali[7 .. 13] ], 'the q cursor still works with its own q');

for my $c ([ 'garbage!', 'a garbage cursor' ], [ 'AAAA', 'a cursor of zero bytes' ],
    [ '', 'an empty cursor' ], [ 'x' x 3000, 'a 3000-character cursor' ],
    [ substr($c_name, 0, 20), 'a cursor truncated to 20 characters' ],
    [ substr($c_name, 0, 21), 'a cursor truncated to 21 characters' ],
    [ "$c_name=", 'a cursor with padding added' ],
    [ "$c_name!", 'a cursor with a character that is not base64url' ],
    [ "${c_name}\x{e9}", 'a cursor with a non-ASCII character' ]) {
	my ($cur, $what) = @$c;
	$r = api($owner, '/api/patients?sort=name&limit=7&after=' . uri_escape($cur));
	is_problem($r, 400, "$what is 400");
	is_deeply(error_fields($r), [ 'after' ], '  and the error names after');
}
$r = api($owner, '/api/patients?sort=name&limit=7&after=%ZZ');
is_problem($r, 400, 'a cursor with a bad percent-escape is 400');
$r = api($owner, "/api/patients?sort=name&limit=7&offset=7&after=$e_name");
is_problem($r, 400, 'after together with offset is 400');
$r = api($owner, "/api/patients?offset=0&after=$e_id");
is_problem($r, 400, 'after together with offset=0 is 400');

###############################################################################
# Query parameters the service does not take.

for my $c ([ 'foo=1', 'foo' ], [ 'Limit=5', 'Limit' ], [ 'page=2', 'page' ],
    [ 'per_page=5', 'per_page' ], [ 'name=alice', 'name' ], [ 'limit=5&foo', 'foo' ],
    [ 'access_token=abc', 'access_token' ],
    [ 'Q=alice', 'Q' ], [ 'sort_by=name', 'sort_by' ]) {
	my ($q, $field) = @$c;
	$r = api($owner, "/api/patients?$q");
	is_problem($r, 400, "unknown query parameter $field is 400");
	is_deeply(error_fields($r), [ $field ], "  and the error names $field");
}
for my $bad ('age', 'ID', '--id', 'created_at', '', 'name,id', '+name', 'id ', 'gender',
    'userId', 'name desc') {
	$r = api($owner, '/api/patients?sort=' . uri_escape($bad));
	is_problem($r, 400, "sort=\"$bad\" is 400");
	is_deeply(error_fields($r), [ 'sort' ], '  and the error names sort');
}
for my $c ([ 'limit=5&limit=5', 'limit' ], [ 'limit=5&limit=6', 'limit' ],
    [ 'offset=0&offset=0', 'offset' ], [ 'sort=id&sort=name', 'sort' ],
    [ 'sort=name&sort=name', 'sort' ], [ 'q=a&q=a', 'q' ], [ 'q=a&q=b', 'q' ],
    [ "after=$e_id&after=$e_id", 'after' ]) {
	my ($q, $field) = @$c;
	$r = api($owner, "/api/patients?$q");
	is_problem($r, 400, "$q: a repeated parameter is 400");
	ok(grep({ $_ eq $field } @{ error_fields($r) }), "  and the error names $field")
	    or diag(show_response($r));
}

###############################################################################
# Prefer: count=exact.

my %count = (Prefer => 'count=exact');
$r = api($owner, '/api/patients?limit=5', headers => \%count);
is($r->{status}, 200, 'Prefer: count=exact is 200');
is($r->{headers}{'x-total-count'}, $TOTAL, 'X-Total-Count is the number of all matching rows');
is($r->{headers}{'preference-applied'}, 'count=exact', 'Preference-Applied: count=exact');
is(scalar @{ ids_of($r) }, 5, 'the page still has limit rows');

for my $q ('ali', '50%_', 'ÉMILE', 'nobody-has-this') {
	$r = api($owner, '/api/patients?q=' . uri_escape($q), headers => \%count);
	is($r->{headers}{'x-total-count'}, scalar @{ expected('id', $q) },
	    "with q=$q, X-Total-Count counts the matching rows");
}
$r = api($owner, "/api/patients?limit=7&after=$e_id", headers => \%count);
is($r->{headers}{'x-total-count'}, $TOTAL, 'on a later page X-Total-Count is still the total');
$r = api($owner, '/api/patients?offset=290', headers => \%count);
is($r->{headers}{'x-total-count'}, $TOTAL, 'and with an offset too');
$r = api($owner, '/api/patients', headers => { Prefer => 'respond-async, count=exact' });
is($r->{headers}{'x-total-count'}, $TOTAL, 'count=exact among other preferences is applied');
$r = api($owner, '/api/patients', headers => { Prefer => 'return=minimal' });
ok(!exists $r->{headers}{'x-total-count'} && !exists $r->{headers}{'preference-applied'},
    'another preference alone gives neither header');
$r = api($owner, '/api/patients?q=ali');
ok(!exists $r->{headers}{'x-total-count'} && !exists $r->{headers}{'preference-applied'},
    'without Prefer, a filtered list has neither header');
$r = api($other, '/api/patients', headers => \%count);
is($r->{headers}{'x-total-count'}, scalar @other_ids, "another user's count holds only their own");
is_deeply([ sort { $a <=> $b } @{ ids_of($r) } ], [ sort { $a <=> $b } @other_ids ],
    "and another user's list holds only their own patients");

###############################################################################
# Other things a list must get right.

$r = $t->request(GET => '/api/patients?limit=5');
is_problem($r, 401, 'a list without a token is 401');
$r = api($owner, '/api/patients?limit=5&q=ali&sort=-createdAt');
has_security_headers($r, 'a list carries the security headers');

done_testing();
