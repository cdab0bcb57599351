# Through PgBouncer in transaction pooling mode (Debian's 1.18, which does
# not carry named prepared statements across transactions): the service
# with DB_PREPARE=0 serves the main flows, every transaction (the token
# check, RLS's user, the audit row, a safe retry's key) holds, and writes
# acknowledged under concurrent load are all there.
use strict;
use warnings;

use POSIX qw(_exit);
use Test::More;

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(pgbouncer => 1,
    env => { DB_PREPARE => 0, WORKERS => 4 });
like($t->database_url, qr/127\.0\.0\.1:\d+/,
    'the service connects to PgBouncer, not to PostgreSQL');

my $u = $t->new_user;
my $tok = $u->{token};
my $r = $t->request(GET => '/api/auth/me', token => $tok);
is($r->{status}, 200, 'a token checked in the database works through PgBouncer');

$r = $t->request(POST => '/api/patients', token => $tok,
    json => { name => 'Through the bouncer', age => 40 });
is($r->{status}, 201, 'a patient is created');
my $pid = $r->{json}{id};
$r = $t->request(PATCH => "/api/patients/$pid", token => $tok,
    json => { age => 41 }, headers => { 'If-Match' => '"1"' });
is($r->{status}, 200, 'and patched with If-Match');
is($r->{json}{age}, 41, 'to the new value');

$t->request(POST => '/api/patients', token => $tok, json => { name => "P$_" })
    for 1 .. 7;
my ($seen, $next) = (0, '/api/patients?limit=3');
while (defined $next) {
	$r = $t->request(GET => $next, token => $tok);
	last unless $r->{status} == 200;
	$seen += @{ $r->{json} };
	($next) = ($r->{headers}{link} // '') =~ /<([^>]+)>; rel="next"/;
}
is($seen, 8, 'walking next pages sees every patient once');

my $other = $t->new_user;
$r = $t->request(GET => "/api/patients/$pid", token => $other->{token});
is($r->{status}, 404, "row-level security still hides another user's patient");

$r = $t->request(POST => '/api/doctors', token => $tok,
    json => { name => 'Dr. Pool', specialization => 'Bouncing' });
is($r->{status}, 201, 'a doctor is created');
my $did = $r->{json}{id};
my %key = (headers => { 'Idempotency-Key' => "bouncer-$$" });
$r = $t->request(POST => '/api/mappings', token => $tok,
    json => { patientId => $pid, doctorId => $did }, %key);
is($r->{status}, 201, 'a mapping is created with an Idempotency-Key');
my $body = $r->{body};
$r = $t->request(POST => '/api/mappings', token => $tok,
    json => { patientId => $pid, doctorId => $did }, %key);
is($r->{status}, 201, 'its retry, a transaction of three round trips, replays');
is($r->{headers}{'idempotency-replayed'}, 'true', '  marked as a replay');
is($r->{body}, $body, '  with the same body');

$r = $t->request(GET => "/api/audit?resourceType=patient&resourceId=$pid",
    token => $tok);
is($r->{status}, 200, 'the audit trail is readable');
my %actions = map { $_->{action} => 1 } @{ $r->{json} };
ok($actions{create} && $actions{update},
    'and holds the create and the update, written in their transactions');

$r = $t->request(POST => '/api/auth/logout', token => $tok);
is($r->{status}, 204, 'logout');
is($t->request(GET => '/api/auth/me', token => $tok)->{status}, 401,
    'the revoked token is refused through PgBouncer');

# Concurrent writers: four clients, each creating patients for 3 s; every
# 201 must be in the database exactly as acknowledged.
my @tokens = map { $t->new_user->{token} } 1 .. 4;
my $dir = $t->dir;
my @kids;
for my $i (0 .. 3) {
	my $kid = fork() // die "fork: $!";
	if ($kid == 0) {
		open(my $out, '>', "$dir/acked.$i") or _exit(1);
		my $end = time + 3;
		my $n = 0;
		while (time < $end) {
			my $name = "load-$i-" . $n++;
			my $res = $t->request(POST => '/api/patients',
			    token => $tokens[$i], json => { name => $name });
			print $out "$res->{json}{id}\t$name\n"
			    if $res->{status} == 201;
		}
		close($out);
		_exit(0);
	}
	push @kids, $kid;
}
waitpid($_, 0) for @kids;
my %acked;
for my $i (0 .. 3) {
	open(my $in, '<', "$dir/acked.$i") or die "$dir/acked.$i: $!";
	while (<$in>) { chomp; my ($id, $name) = split /\t/; $acked{$id} = $name }
}
ok(keys %acked > 20, 'the clients got many writes acknowledged ('
    . keys(%acked) . ')');
my %stored = map { split /\|/, $_, 2 } split /\n/, $t->psql(
    "SELECT id, name FROM patients WHERE name LIKE 'load-%'");
my @lost = grep { ($stored{$_} // '') ne $acked{$_} } keys %acked;
is(scalar @lost, 0, 'every acknowledged write is in the database as acknowledged');
is(scalar(keys %stored), scalar(keys %acked), 'and there are no others');

my $stats = `psql -At -h 127.0.0.1 -p @{[ $t->pgbouncer_port ]} -U medrec pgbouncer -c 'SHOW STATS' 2>&1`;
my ($xacts) = $stats =~ /^medrec\|(\d+)\|/m;
ok(($xacts // 0) > 50, 'PgBouncer counted the transactions (' . ($xacts // 'none') . ')');
unlike($t->pool_log, qr/prepared statement .* does not exist|SQLSTATE 26000/,
    'no statement went missing between transactions');

done_testing();
