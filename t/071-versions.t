#!/usr/bin/perl
# Versions (API.md "General rules", Versions; issue 7) of patients and
# doctors: a single-record response carries ETag: "<version>", which grows
# by one on every write; GET honours If-None-Match (304, weak comparison);
# PUT, PATCH and DELETE honour If-Match (strong comparison: a stale or weak
# tag is 412 and nothing changes; the current version, "*" or a list that
# holds it goes through; no If-Match goes through); a missing record, or
# another user's patient, is 404 whatever the precondition; two writes with
# the same If-Match at once: exactly one wins.  The shared stack.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $TAG = "t071-$$-" . int(time);

my $alice = $t->new_user;
my $bob = $t->new_user;

###############################################################################
# Helpers that die (not tests).

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, defined $u ? (token => $u->{token})
	    : (), %o);
}

# What a client can see of a record: status, body and ETag of a plain GET,
# plus the version column.
sub state_of {
	my ($R, $u, $id) = @_;
	my $r = api($u, GET => "$R->{path}/$id");
	return { status => $r->{status}, body => $r->{body},
	    etag => $r->{headers}{etag},
	    version => $t->psql("SELECT version FROM $R->{table} "
	    . "WHERE id = $id") };
}

sub create {
	my ($R, $u, $n) = @_;
	my $r = api($u, POST => $R->{path}, json => $R->{body}->($n));
	die "POST $R->{path}: " . show_response($r) unless $r->{status} == 201;
	return $r;
}

###############################################################################
# Helpers that assert.

# is_etag($res, $n, $name): the response carries ETag: "$n".
sub is_etag {
	my ($r, $n, $name) = @_;
	is($r->{headers}{etag} // '(none)', qq("$n"), $name)
	    or diag(show_response($r));
}

# is_304($res, $n, $name): 304 with ETag "$n" and no body.
sub is_304 {
	my ($r, $n, $name) = @_;
	my @bad;
	push @bad, "status is $r->{status}, not 304" unless $r->{status} == 304;
	push @bad, 'ETag is ' . ($r->{headers}{etag} // 'missing')
	    . qq(, not "$n") unless ($r->{headers}{etag} // '') eq qq("$n");
	push @bad, 'it has a body' if length $r->{body};
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
}

# unchanged($before, $after, $name): the same GET (status, full JSON,
# ETag) and the same version column.
sub unchanged {
	my ($before, $after, $name) = @_;
	is_deeply($after, $before, $name);
}

###############################################################################

my %R = (
	patients => {
		path	=> '/api/patients',
		table	=> 'patients',
		body	=> sub { { name => "$TAG patient $_[0]", age => 30,
			    gender => 'male', address => 'here' } },
		put	=> sub { { name => "$TAG patient $_[0] put", age => 31 } },
		patch	=> sub { { age => $_[0] } },
		reader	=> $alice,	# a doctor's GET needs no token
	},
	doctors => {
		path	=> '/api/doctors',
		table	=> 'doctors',
		body	=> sub { { name => "$TAG doctor $_[0]",
			    specialization => 'Cardiologist' } },
		put	=> sub { { name => "$TAG doctor $_[0] put",
			    specialization => 'Neurologist' } },
		patch	=> sub { { contactInfo => "room $_[0]" } },
		reader	=> undef,
	},
);

for my $res (qw(patients doctors)) {
	my $R = $R{$res};
	my $path = $R->{path};
	my $rd = $R->{reader};

	#######################################################################
	# ETags and how they grow.

	my $r = create($R, $alice, 1);
	my $id = $r->{json}{id};
	my $p = "$path/$id";
	is_etag($r, 1, "POST $path answers ETag \"1\"");
	is_etag(api($rd, GET => $p), 1, "GET $path/:id answers the same ETag");
	$r = api($alice, PUT => $p, json => $R->{put}->(1));
	is_json_response($r, 200, "PUT $path/:id without If-Match goes through");
	is_etag($r, 2, '  and its ETag grows by one, to "2"');
	$r = api($alice, PATCH => $p, json => $R->{patch}->(40));
	is_json_response($r, 200, "PATCH $path/:id without If-Match goes "
	    . 'through');
	is_etag($r, 3, '  and its ETag grows by one, to "3"');
	is_etag(api($rd, GET => $p), 3, '  and GET answers "3"');
	is($t->psql("SELECT version FROM $R->{table} WHERE id = $id"), 3,
	    '  which is the version column');
	my $cur = 3;

	#######################################################################
	# If-None-Match on GET.

	is_304(api($rd, GET => $p, headers => { 'If-None-Match' => '"3"' }),
	    3, "GET $path/:id with If-None-Match: the current version is 304 "
	    . 'with the ETag and no body');
	has_security_headers(api($rd, GET => $p,
	    headers => { 'If-None-Match' => '"3"' }),
	    '  and the 304 carries the security headers');
	$r = api($rd, GET => $p, headers => { 'If-None-Match' => '"2"' });
	is_json_response($r, 200, "GET $path/:id with If-None-Match: a stale "
	    . 'version is 200');
	ok(ref $r->{json} eq 'HASH' && ($r->{json}{id} // 0) == $id,
	    '  with the record');
	is_etag($r, 3, '  and the current ETag');
	is_304(api($rd, GET => $p, headers => { 'If-None-Match' => '*' }), 3,
	    "GET $path/:id with If-None-Match: * is 304");
	is_304(api($rd, GET => $p, headers => { 'If-None-Match' => 'W/"3"' }),
	    3, "GET $path/:id with If-None-Match: W/\"<current>\" is 304 "
	    . '(weak comparison)');
	is_304(api($rd, GET => $p,
	    headers => { 'If-None-Match' => '"1", "3"' }), 3,
	    "GET $path/:id with If-None-Match: a list holding the current "
	    . 'version is 304');
	is_json_response(api($rd, GET => $p,
	    headers => { 'If-None-Match' => '"1", W/"2"' }), 200,
	    "GET $path/:id with If-None-Match: a list of stale versions is 200");

	#######################################################################
	# If-Match on writes: stale, weak and current.

	my $before = state_of($R, $rd, $id);
	for my $c ([ PUT => $R->{put}->(9) ], [ PATCH => $R->{patch}->(99) ],
	    [ DELETE => undef ]) {
		my ($m, $body) = @$c;
		for my $tag ('"2"', '"1"', 'W/"3"', '"30"', '"1", "2"') {
			$r = api($alice, $m => $p, headers => { 'If-Match' => $tag },
			    defined $body ? (json => $body) : ());
			my $what = $tag eq 'W/"3"' ?
			    'W/"<current>" (strong comparison)' :
			    "\"<stale>\" ($tag)";
			is_problem($r, 412, "$m $path/:id with If-Match: $what is "
			    . '412');
			unchanged($before, state_of($R, $rd, $id),
			    '  and the record is unchanged (full JSON, ETag, '
			    . 'version)');
		}
	}

	$r = api($alice, PUT => $p, headers => { 'If-Match' => '"3"' },
	    json => $R->{put}->(2));
	is_json_response($r, 200, "PUT $path/:id with If-Match: the current "
	    . 'version is 200');
	is_etag($r, 4, '  with ETag "4"');
	is($r->{json}{name}, $R->{put}->(2)->{name}, '  and the new content');
	$r = api($alice, PATCH => $p, headers => { 'If-Match' => '"4"' },
	    json => $R->{patch}->(41));
	is_json_response($r, 200, "PATCH $path/:id with If-Match: the current "
	    . 'version is 200');
	is_etag($r, 5, '  with ETag "5"');
	$r = api($alice, PATCH => $p, headers => { 'If-Match' => '*' },
	    json => $R->{patch}->(42));
	is_json_response($r, 200, "PATCH $path/:id with If-Match: * is 200");
	is_etag($r, 6, '  with ETag "6"');
	$r = api($alice, PUT => $p, headers => { 'If-Match' => '*' },
	    json => $R->{put}->(3));
	is_json_response($r, 200, "PUT $path/:id with If-Match: * is 200");
	is_etag($r, 7, '  with ETag "7"');
	$r = api($alice, PATCH => $p, headers => { 'If-Match' => '"1", "7"' },
	    json => $R->{patch}->(43));
	is_json_response($r, 200, "PATCH $path/:id with If-Match: \"1\", "
	    . '"<current>" (a list that holds it) is 200');
	is_etag($r, 8, '  with ETag "8"');
	$r = api($alice, PATCH => $p, headers => { 'If-Match' => 'W/"1", "8"' },
	    json => $R->{patch}->(44));
	is_json_response($r, 200, "PATCH $path/:id with If-Match: a weak tag "
	    . 'and the current one is 200');
	is_etag($r, 9, '  with ETag "9"');
	$r = api($alice, PATCH => $p, json => $R->{patch}->(45));
	is_json_response($r, 200, "PATCH $path/:id without If-Match still goes "
	    . 'through');
	is_etag($r, 10, '  with ETag "10"');
	is($t->psql("SELECT version FROM $R->{table} WHERE id = $id"), 10,
	    '  and the version column is 10: the create and nine writes');

	#######################################################################
	# The race: two writes with the same If-Match at once.  A lock on the
	# row, held from psql, makes both wait inside their UPDATE, so they
	# truly overlap; then exactly one may win.

	{
		my $marker = "$TAG-$res-race";
		my $holder = $t->psql_bg("BEGIN;\nSELECT 1 FROM $R->{table} "
		    . "WHERE id = $id FOR UPDATE;\nSELECT '$marker', "
		    . "pg_sleep(2);\nCOMMIT;\n");
		my $hpid = wait_until(5, sub {
			$t->psql("SELECT pid FROM pg_stat_activity WHERE query "
			    . "LIKE '%$marker%' AND state = 'active' AND pid <> "
			    . 'pg_backend_pid()') });
		die "the lock holder did not start\n" unless $hpid;
		my @bg = map { my $n = $_; $t->bg(sub {
			api($alice, PATCH => $p, headers => { 'If-Match' => '"10"' },
			    json => $R->{patch}->(60 + $n)) }) } 1, 2;
		# The second waits for the first (which holds the tuple
		# lock), the first for the holder.
		my $both = wait_until(1.8, sub {
			$t->psql("SELECT count(*) FROM pg_stat_activity a WHERE "
			    . "$hpid = ANY (pg_blocking_pids(a.pid)) OR EXISTS "
			    . "(SELECT FROM pg_stat_activity b WHERE $hpid = ANY "
			    . "(pg_blocking_pids(b.pid)) AND b.pid = ANY "
			    . "(pg_blocking_pids(a.pid)))") >= 2 });
		ok($both, "two PATCH $path/:id with the same If-Match wait on the "
		    . 'record at the same time');
		my @st = map { ($_->wait(15) // {})->{status} // 'none' } @bg;
		waitpid($holder, 0);
		is_deeply([ sort @st ], [ 200, 412 ], '  and exactly one is 200 and '
		    . 'the other 412');
		is($t->psql("SELECT version FROM $R->{table} WHERE id = $id"), 11,
		    '  and the version grew by one');
	}
	{
		# The same without the lock, as two clients would send them.
		my @bg = map { my $n = $_; $t->bg(sub {
			api($alice, PATCH => $p, headers => { 'If-Match' => '"11"' },
			    json => $R->{patch}->(70 + $n)) }) } 1, 2;
		my @st = map { ($_->wait(15) // {})->{status} // 'none' } @bg;
		is_deeply([ sort @st ], [ 200, 412 ], "two PATCH $path/:id with the "
		    . 'same If-Match sent at once: one 200, one 412');
		is($t->psql("SELECT version FROM $R->{table} WHERE id = $id"), 12,
		    '  and the version grew by one');
	}

	#######################################################################
	# DELETE.

	$before = state_of($R, $rd, $id);
	is_problem(api($alice, DELETE => $p, headers => { 'If-Match' => '"11"' }),
	    412, "DELETE $path/:id with If-Match: \"<stale>\" is 412");
	unchanged($before, state_of($R, $rd, $id), '  and the record is still '
	    . 'there, unchanged');
	is(api($alice, DELETE => $p, headers => { 'If-Match' => '"12"' })
	    ->{status}, 204, "DELETE $path/:id with If-Match: the current "
	    . 'version is 204');
	is(api($rd, GET => $p)->{status}, 410, '  and the record is gone');

	my $r2 = create($R, $alice, 2);
	my $p2 = "$path/$r2->{json}{id}";
	is(api($alice, DELETE => $p2, headers => { 'If-Match' => '*' })
	    ->{status}, 204, "DELETE $path/:id with If-Match: * is 204");
	is(api($rd, GET => $p2)->{status}, 410, '  and the record is gone');

	#######################################################################
	# Missing records.

	# A deleted record is gone (410) whatever version is named; one that
	# never was is 404.
	for my $c ([ $p, 410, 'deleted' ],
	    [ "$path/9000000000000000000", 404, 'missing' ]) {
		my ($gone, $status, $what) = @$c;
		for my $c ([ PUT => $R->{put}->(5) ], [ PATCH => $R->{patch}->(5) ],
		    [ DELETE => undef ]) {
			my ($m, $body) = @$c;
			for my $tag ('"1"', '*') {
				is_problem(api($alice, $m => $gone,
				    headers => { 'If-Match' => $tag },
				    defined $body ? (json => $body) : ()), $status,
				    "$m of a $what record with If-Match: $tag "
				    . "is $status");
			}
		}
		is_problem(api($rd, GET => $gone,
		    headers => { 'If-None-Match' => '*' }), $status,
		    "GET of a $what record with If-None-Match: * is $status");
	}
}

###############################################################################
# Another user's patient is a missing one, If-Match or not.

{
	my $R = $R{patients};
	my $r = create($R, $bob, 'bob');
	my $id = $r->{json}{id};
	my $p = "/api/patients/$id";
	my $before = state_of($R, $bob, $id);
	for my $c ([ PUT => $R->{put}->('x') ], [ PATCH => $R->{patch}->(1) ],
	    [ DELETE => undef ]) {
		my ($m, $body) = @$c;
		for my $tag ('"1"', '"2"', '*') {
			is_problem(api($alice, $m => $p,
			    headers => { 'If-Match' => $tag },
			    defined $body ? (json => $body) : ()), 404,
			    "$m of another user's patient with If-Match: $tag is "
			    . '404, not 412');
		}
	}
	for my $tag ('"1"', '*') {
		is_problem(api($alice, GET => $p,
		    headers => { 'If-None-Match' => $tag }), 404,
		    "GET of another user's patient with If-None-Match: $tag is "
		    . '404, not 304');
	}
	unchanged($before, state_of($R, $bob, $id), "and the other user's "
	    . 'patient is unchanged');
}

done_testing();
