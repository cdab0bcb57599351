#!/usr/bin/perl
# Safe retries (API.md "General rules", Idempotency-Key; issue 7): on
# POST /api/patients, /api/doctors and /api/mappings the same user sending
# the same key again gets the first response replayed (status, body,
# Location, ETag, plus Idempotency-Replayed: true) and nothing is created
# twice; the same key with another body, or on another endpoint, is 422;
# while the first request with the key runs, 409; another user's key is
# theirs; keys are forgotten after 24 hours; a malformed key is 400; a
# request that fails (validation or database) stores no key; the key row is
# written in the transaction that writes the record; a replay survives the
# workers being killed.  The shared stack, and a private one for the kills.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;

# Every key and name of this run carries the tag, so counts in the shared
# database see only what this file made.
my $TAG = "t070-$$-" . int(time);

###############################################################################
# Helpers that die (not tests).

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# post($stack, $user, $path, $key, $json): a POST with an Idempotency-Key
# (none when $key is undef).
sub post {
	my ($s, $u, $path, $key, $json) = @_;
	return $s->request(POST => $path, token => $u->{token}, json => $json,
	    defined $key ? (headers => { 'Idempotency-Key' => $key }) : ());
}

# raw_post($user, $path, $key_bytes, $json): the same through a plain
# socket, so that the key's bytes go out as they are (HTTP::Tiny refuses
# control and non-ASCII bytes in a header value).  Returns
# { status, headers, body, json }.
sub raw_post {
	my ($u, $path, $key, $json) = @_;
	my $body = $JSON->encode($json);
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port,
	    Timeout => 10) or die "connect: $!\n";
	local $SIG{PIPE} = 'IGNORE';
	print $s "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    . "Connection: close\r\nAuthorization: Bearer $u->{token}\r\n"
	    . "Content-Type: application/json\r\nIdempotency-Key: $key\r\n"
	    . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
	my $resp = '';
	my $deadline = time + 10;
	while (time < $deadline) {
		my $n = sysread($s, $resp, 65536, length $resp);
		last unless $n;
	}
	close($s);
	my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})};
	my %h;
	for (split /\r\n/, $head // '') {
		$h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
	}
	my %r = (status => $status // 599, headers => \%h,
	    body => $rbody // '');
	$r{json} = eval { $JSON->decode($r{body}) }
	    if ($h{'content-type'} // '') =~ /json/;
	return \%r;
}

# A key (any bytes) as an SQL literal, so that no quoting can go wrong.
sub sql_text {
	my ($s) = @_;
	return "convert_from(decode('" . unpack('H*', $s) . "', 'hex'), 'UTF8')";
}

# The stored row of a key, as a hash (empty when there is none).
sub key_row {
	my ($s, $u, $key) = @_;
	my $out = $s->psql("SELECT row_to_json(k) FROM (SELECT status, body, "
	    . "location, etag, request_hash, xmin::text AS xmin, "
	    . "extract(epoch FROM expires_at - now()) AS ttl "
	    . "FROM idempotency_keys WHERE user_id = $u->{id} "
	    . 'AND key = ' . sql_text($key) . ') k');
	return length $out ? $JSON->decode($out) : {};
}

sub key_rows {
	my ($u, $key) = @_;
	return $t->psql("SELECT count(*) FROM idempotency_keys WHERE user_id = "
	    . "$u->{id} AND key = " . sql_text($key));
}

sub new_patient {
	my ($u, $name) = @_;
	my $r = api($u, POST => '/api/patients', json => { name => $name });
	die "POST /api/patients: " . show_response($r) unless $r->{status} == 201;
	return $r->{json}{id};
}

sub new_doctor {
	my ($u, $name) = @_;
	my $r = api($u, POST => '/api/doctors',
	    json => { name => $name, specialization => 'Cardiologist' });
	die "POST /api/doctors: " . show_response($r) unless $r->{status} == 201;
	return $r->{json}{id};
}

###############################################################################
# Helpers that assert.

# is_first($res, $status, $name): an original answer: $status, JSON, and no
# Idempotency-Replayed.
sub is_first {
	my ($r, $status, $name) = @_;
	my @bad;
	push @bad, "status is $r->{status}, not $status"
	    unless $r->{status} eq $status;
	push @bad, 'the body is not JSON' unless ref $r->{json} eq 'HASH';
	push @bad, 'it says Idempotency-Replayed'
	    if defined $r->{headers}{'idempotency-replayed'};
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
}

# is_replay($first, $again, $name): the same status, body, Location and
# ETag (when the first had one) as $first, plus Idempotency-Replayed: true.
sub is_replay {
	my ($first, $r, $name) = @_;
	my @bad;
	push @bad, "status is $r->{status}, not $first->{status}"
	    unless $r->{status} eq $first->{status};
	push @bad, 'the body differs' unless $r->{body} eq $first->{body};
	for my $h (qw(location etag)) {
		my ($a, $b) = ($first->{headers}{$h}, $r->{headers}{$h});
		push @bad, "$h is " . ($b // 'missing') . ', not '
		    . ($a // 'missing')
		    unless (defined $a ? $a : "\0") eq (defined $b ? $b : "\0");
	}
	push @bad, 'Idempotency-Replayed is '
	    . ($r->{headers}{'idempotency-replayed'} // 'missing')
	    unless ($r->{headers}{'idempotency-replayed'} // '') eq 'true';
	ok(!@bad, $name) or diag(join("\n", @bad) . "\nfirst:\n"
	    . show_response($first) . "\nagain:\n" . show_response($r));
}

###############################################################################
# The three endpoints, each with a body, another body, and a count of what
# the test created there.

my $alice = $t->new_user;
my $bob = $t->new_user;

my $p1 = new_patient($alice, "$TAG map patient");
my $p2 = new_patient($alice, "$TAG map patient 2");
my $bob_patient = new_patient($bob, "$TAG bob map patient");
my @docs = map { new_doctor($alice, "$TAG map doctor $_") } 1 .. 12;

my %R = (
	patients => {
		path	=> '/api/patients',
		body	=> sub { { name => "$TAG p $_[0]", age => 40,
			    gender => 'Female', address => '1 Main St' } },
		other	=> sub { { name => "$TAG p $_[0]", age => 41 } },
		count	=> sub { $t->psql("SELECT count(*) FROM patients WHERE "
			    . "name = '$TAG p $_[0]'") },
		table	=> 'patients',
		etag	=> 1,
		elsewhere => [ '/api/doctors',
		    { name => "$TAG elsewhere", specialization => 'Oncologist' },
		    sub { $t->psql("SELECT count(*) FROM doctors WHERE "
			. "name = '$TAG elsewhere'") } ],
	},
	doctors => {
		path	=> '/api/doctors',
		body	=> sub { { name => "$TAG d $_[0]",
			    specialization => 'Cardiologist',
			    contactInfo => 'room 1' } },
		other	=> sub { { name => "$TAG d $_[0]",
			    specialization => 'Neurologist' } },
		count	=> sub { $t->psql("SELECT count(*) FROM doctors WHERE "
			    . "name = '$TAG d $_[0]'") },
		table	=> 'doctors',
		etag	=> 1,
		elsewhere => [ '/api/patients', { name => "$TAG elsewhere" },
		    sub { $t->psql("SELECT count(*) FROM patients WHERE "
			. "name = '$TAG elsewhere'") } ],
	},
	mappings => {
		path	=> '/api/mappings',
		# Each case maps patient 1 to a doctor of its own.
		body	=> sub { { patientId => $p1,
			    doctorId => $docs[$_[0]] } },
		other	=> sub { { patientId => $p2,
			    doctorId => $docs[$_[0]] } },
		count	=> sub { $t->psql("SELECT count(*) FROM patient_doctors "
			    . "WHERE patient_id = $p1 AND doctor_id = $docs[$_[0]]") },
		table	=> 'patient_doctors',
		etag	=> 0,
		elsewhere => [ '/api/patients', { name => "$TAG elsewhere m" },
		    sub { $t->psql("SELECT count(*) FROM patients WHERE "
			. "name = '$TAG elsewhere m'") } ],
	},
);
# The case numbers: mappings use them as indexes into @docs.
my ($REPLAY, $CONC, $EXPIRY, $LONGKEY, $BADBODY, $BADKEYS) = (0 .. 5);

for my $res (qw(patients doctors mappings)) {
	my $R = $R{$res};
	my $path = $R->{path};
	my $key = "$TAG-$res-replay";

	#######################################################################
	# Replay.

	my $first = post($t, $alice, $path, $key, $R->{body}->($REPLAY));
	is_first($first, 201, "POST $path with an Idempotency-Key is 201");
	like($first->{headers}{location} // '', qr{^\Q$path\E/\d+$},
	    "  with a Location");
	if ($R->{etag}) {
		like($first->{headers}{etag} // '', qr/^"\d+"$/,
		    '  and an ETag');
	}
	my $id = ref $first->{json} eq 'HASH' ? $first->{json}{id} // 0 : 0;
	is($R->{count}->($REPLAY), 1, "  one $res record exists");

	my $again = post($t, $alice, $path, $key, $R->{body}->($REPLAY));
	is_replay($first, $again, "POST $path again with the same key and "
	    . 'body replays the first response with Idempotency-Replayed: true');
	is($R->{count}->($REPLAY), 1, "  and no second $res record exists");
	$again = post($t, $alice, $path, $key, $R->{body}->($REPLAY));
	is_replay($first, $again, '  a third send replays it too');

	# The key and the record, together, from one transaction.
	my $row = key_row($t, $alice, $key);
	is($row->{status}, 201, "the key's row holds the status 201");
	is($row->{body}, $first->{body},
	    "  and the response body, byte for byte");
	is($row->{location}, $first->{headers}{location},
	    '  and the Location');
	is($row->{etag}, $R->{etag} ? $first->{headers}{etag} : undef,
	    $R->{etag} ? '  and the ETag' : '  and no ETag (mappings have none)');
	my $rec_xmin = $t->psql("SELECT xmin::text FROM $R->{table} "
	    . "WHERE id = $id");
	ok(length $rec_xmin && ($row->{xmin} // '') eq $rec_xmin,
	    "the key's row and the $res record were written by one transaction")
	    or diag("record xmin $rec_xmin, key row xmin "
	    . ($row->{xmin} // 'none'));
	ok(defined $row->{ttl} && $row->{ttl} > 24 * 3600 - 120
	    && $row->{ttl} <= 24 * 3600,
	    'the key expires 24 hours after it was stored')
	    or diag('expires in ' . ($row->{ttl} // 'undef') . ' s');

	#######################################################################
	# Same key, another request.

	my $r = post($t, $alice, $path, $key, $R->{other}->($REPLAY));
	is_problem($r, 422, "POST $path with the same key and a different "
	    . 'body is 422');
	ok(!defined $r->{headers}{'idempotency-replayed'},
	    '  and is not a replay');
	is($R->{count}->($REPLAY), 1, '  and creates nothing');
	if ($res eq 'mappings') {
		is($t->psql("SELECT count(*) FROM patient_doctors WHERE "
		    . "patient_id = $p2"), 0, '  not even with the other body');
	}
	$again = post($t, $alice, $path, $key, $R->{body}->($REPLAY));
	is_replay($first, $again, '  the first body still replays after a 422');

	my ($epath, $ebody, $ecount) = @{ $R->{elsewhere} };
	$r = post($t, $alice, $epath, $key, $ebody);
	is_problem($r, 422, "the same key on $epath (a body valid there) "
	    . "is 422");
	is($ecount->(), 0, "  and creates nothing on $epath");
	$r = post($t, $alice, $epath, $key, $R->{body}->($REPLAY));
	ok($r->{status} =~ /^4\d\d$/ && !defined
	    $r->{headers}{'idempotency-replayed'},
	    "the same key and the same body on $epath is refused, never a "
	    . 'replay') or diag(show_response($r));

	#######################################################################
	# Another user's same key.

	my $bob_body = $res eq 'mappings' ?
	    { patientId => $bob_patient, doctorId => $docs[$REPLAY] } :
	    $R->{body}->($REPLAY);
	my $bfirst = post($t, $bob, $path, $key, $bob_body);
	is_first($bfirst, 201, "another user's POST $path with the same key "
	    . 'creates their own record (201, not a replay)');
	ok(ref $bfirst->{json} eq 'HASH' && ($bfirst->{json}{id} // 0) != $id,
	    '  with an id of its own') or diag(show_response($bfirst));
	if ($res eq 'patients') {
		is($t->psql("SELECT user_id FROM patients WHERE id = "
		    . ($bfirst->{json}{id} // 0)), $bob->{id},
		    "  owned by that user");
	} elsif ($res eq 'doctors') {
		is($R->{count}->($REPLAY), 2, '  so two such doctors exist');
	}
	$again = post($t, $bob, $path, $key, $bob_body);
	is_replay($bfirst, $again, "  and that user's retry replays their own "
	    . 'response');
	$again = post($t, $alice, $path, $key, $R->{body}->($REPLAY));
	is_replay($first, $again, '  while the first user still gets theirs');

	#######################################################################
	# A concurrent duplicate: the first request is held inside its
	# transaction while the second comes.  A lock on the user's own row
	# (FOR UPDATE, which the foreign key checks of the key row and the
	# record wait for) holds it without stopping the other users of the
	# shared stack.

	$key = "$TAG-$res-concurrent";
	my $marker = "$TAG-$res-hold";
	my $holder = $t->psql_bg("BEGIN;\nSELECT 1 FROM users WHERE id = "
	    . "$alice->{id} FOR UPDATE;\nSELECT '$marker', pg_sleep(3);\n"
	    . "COMMIT;\n");
	my $hpid = wait_until(5, sub {
		$t->psql("SELECT pid FROM pg_stat_activity WHERE query LIKE "
		    . "'%$marker%' AND state = 'active' AND pid <> "
		    . 'pg_backend_pid()') });
	die "the lock holder did not start\n" unless $hpid;
	my $held_at = time;
	my $bg = $t->bg(sub { post($t, $alice, $path, $key,
	    $R->{body}->($CONC)) });
	my $blocked = wait_until(2, sub {
		$t->psql("SELECT count(*) FROM pg_stat_activity WHERE "
		    . "$hpid = ANY (pg_blocking_pids(pid))") > 0 });
	ok($blocked, "the first POST $path with a key is held in its "
	    . 'transaction');
	my $t0 = time;
	my $second = post($t, $alice, $path, $key, $R->{body}->($CONC));
	my $took = time - $t0;
	is_problem($second, 409, 'the same key sent while the first request '
	    . 'runs is 409');
	ok($took < 1.5 && !$bg->done, '  at once, not after the first ended')
	    or diag(sprintf('took %.2f s; the first %s', $took,
	    $bg->done ? 'had ended' : 'was still running'));
	my $first_c = $bg->wait(15);
	waitpid($holder, 0);
	$first_c //= { status => 'no answer', headers => {}, body => '' };
	is_first($first_c, 201, '  and the first completes 201 once released');
	$again = post($t, $alice, $path, $key, $R->{body}->($CONC));
	is_replay($first_c, $again, '  and a retry of the second is a replay');
	is($R->{count}->($CONC), 1, "  and exactly one $res record exists");
	note(sprintf('the lock was held for %.1f s', time - $held_at));

	#######################################################################
	# Expiry.

	$key = "$TAG-$res-expiry";
	my $e1 = post($t, $alice, $path, $key, $R->{body}->($EXPIRY));
	is_first($e1, 201, "POST $path with a fresh key is 201");
	$t->psql("UPDATE idempotency_keys SET expires_at = now() - interval "
	    . "'1 second' WHERE user_id = $alice->{id} AND key = "
	    . sql_text($key));
	if ($res eq 'mappings') {
		# The pair exists: free it so that a new create can succeed.
		api($alice, DELETE => $e1->{headers}{location} // '/none');
	}
	my $e2 = post($t, $alice, $path, $key, $R->{body}->($EXPIRY));
	is_first($e2, 201, 'the same key after 24 hours is forgotten: a new '
	    . 'record, 201 without Idempotency-Replayed');
	ok(ref $e2->{json} eq 'HASH' && ref $e1->{json} eq 'HASH'
	    && ($e2->{json}{id} // 0) != ($e1->{json}{id} // 0),
	    '  with a new id');
	is($R->{count}->($EXPIRY), $res eq 'mappings' ? 1 : 2,
	    $res eq 'mappings' ? '  (the new mapping exists)' :
	    '  and two records exist');
	is(key_rows($alice, $key), 1, '  and the key has one row again');
	$again = post($t, $alice, $path, $key, $R->{body}->($EXPIRY));
	is_replay($e2, $again, '  which the next retry replays');

	#######################################################################
	# Keys that are not 1 to 255 printable ASCII characters.

	my $before = $R->{count}->($BADKEYS);
	for my $c ([ '', 'an empty Idempotency-Key' ],
	    [ 'k' x 256, 'a 256-character Idempotency-Key' ],
	    [ "$TAG-tab\there", 'an Idempotency-Key with a tab' ]) {
		my ($k, $what) = @$c;
		is_problem(post($t, $alice, $path, $k, $R->{body}->($BADKEYS)),
		    400, "POST $path with $what is 400");
	}
	for my $c ([ "$TAG-\xc3\xa9", 'a non-ASCII (UTF-8) character' ],
	    [ "$TAG-\xe9", 'a Latin-1 byte' ],
	    [ "$TAG-\x01", 'a control character' ],
	    [ "$TAG-\x7f", 'DEL' ]) {
		my ($k, $what) = @$c;
		is_problem(raw_post($alice, $path, $k, $R->{body}->($BADKEYS)),
		    400, "POST $path with $what in the Idempotency-Key is 400");
	}
	is($R->{count}->($BADKEYS), $before, '  and none of them created '
	    . 'anything');
	is($t->psql("SELECT count(*) FROM idempotency_keys WHERE user_id = "
	    . "$alice->{id} AND (key = '' OR length(key) > 255 OR key ~ "
	    . "'[^ -~]')"), 0, '  or stored a key');

	# 255 printable characters, spaces and quotes included (none at the
	# ends, where HTTP trims white space).
	$key = "$res-$TAG-";
	$key .= chr(0x20 + length($key) % 95) while length $key < 254;
	$key .= 'z';
	my $l1 = post($t, $alice, $path, $key, $R->{body}->($LONGKEY));
	is_first($l1, 201, "POST $path with a key of 255 printable ASCII "
	    . 'characters, spaces included, is 201');
	$again = post($t, $alice, $path, $key, $R->{body}->($LONGKEY));
	is_replay($l1, $again, '  and that key replays');
	is($R->{count}->($LONGKEY), 1, '  with one record');

	#######################################################################
	# A request that failed validation stores nothing.

	$key = "$TAG-$res-badbody";
	my $bad = $res eq 'mappings' ?
	    { patientId => "$p1", doctorId => $docs[$BADBODY] } :
	    { %{ $R->{body}->($BADBODY) }, name => '' };
	my $vr = post($t, $alice, $path, $key, $bad);
	is_problem($vr, 400, "POST $path with a key and an invalid body is 400");
	is(key_rows($alice, $key), 0, '  and stores no key');
	my $v2 = post($t, $alice, $path, $key, $R->{body}->($BADBODY));
	is_first($v2, 201, '  so the same key with a good body succeeds 201');
	is($R->{count}->($BADBODY), 1, '  and creates one record');
}

###############################################################################
# A create that fails in the database stores no key.

{
	my $doc = $docs[$REPLAY];
	my $key = "$TAG-conflict";
	my $pair = { patientId => $p1, doctorId => $doc };
	my $r = post($t, $alice, '/api/mappings', $key, $pair);
	is_problem($r, 409, 'POST /api/mappings with a key for a pair that '
	    . 'exists is 409');
	is(key_rows($alice, $key), 0, '  and stores no key');
	is($R{mappings}{count}->($REPLAY), 1, '  nor a mapping');
	$r = post($t, $alice, '/api/mappings', "$TAG-nodoctor",
	    { patientId => $p1, doctorId => 9_000_000_000_000 });
	is_problem($r, 404, 'POST /api/mappings with a key and a missing '
	    . 'doctor is 404');
	is(key_rows($alice, "$TAG-nodoctor"), 0, '  and stores no key');

	# Once the pair is free, the same key goes through: nothing of the
	# failed attempt was kept.
	my $mid = $t->psql("SELECT id FROM patient_doctors WHERE patient_id = "
	    . "$p1 AND doctor_id = $doc");
	is(api($alice, DELETE => "/api/mappings/$mid")->{status}, 204,
	    'the existing mapping is deleted');
	$r = post($t, $alice, '/api/mappings', $key, $pair);
	is_first($r, 201, '  and the key that failed with 409 now creates the '
	    . 'mapping, 201 and not a replay');
	is(key_row($t, $alice, $key)->{status}, 201, '  and is stored with it');
}

###############################################################################
# A replay survives the workers being killed: it is in the database.  A
# private stack, since this kills every worker.

{
	my $s = Medrec::Stack->new(env => { WORKERS => 2 });
	my $u = $s->new_user;
	my $key = "$TAG-killed";
	my $body = { name => "$TAG killed", age => 7 };
	my $first = post($s, $u, '/api/patients', $key, $body);
	is_first($first, 201, 'on a private stack, POST /api/patients with a '
	    . 'key is 201');
	my @old = $s->worker_pids;
	ok(@old == 2, 'the pool has its 2 workers') or diag("@old");
	kill('KILL', @old);
	my %old = map { $_ => 1 } @old;
	my $respawned = wait_until(10, sub {
		my @new = grep { !$old{$_} } $s->worker_pids;
		return @new == 2;
	});
	ok($respawned, 'every worker is killed (-9) and replaced');
	wait_until(5, sub { $s->request(GET => '/api/health')->{status} == 200 });
	my $again = post($s, $u, '/api/patients', $key, $body);
	is_replay($first, $again, 'after the workers were killed, the same key '
	    . 'still replays the first response');
	is($s->psql("SELECT count(*) FROM patients WHERE name = "
	    . "'$TAG killed'"), 1, '  and one patient exists');
	$s->finish;
}

done_testing();
