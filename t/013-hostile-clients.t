#!/usr/bin/perl
# Hostile clients (issue 13): nobody can take the service down or lock a
# user out.  Each part runs on a stack of its own, with the settings it
# tests, and each guards a finding of the security review:
#
#  1. registrations cost a bcrypt hash only within the network's window,
#     for an email not taken, and within the budget of password work;
#  2. strangers' wrong passwords do not lock the owner out;
#  3. the throttle keys on networks (an IPv6 /64);
#  4. tokens are dated, and revoked, by the database's clock;
#  5. the service refuses a role that could undo row-level security, and
#     no process of a running pool holds the tables' owner's password;
#  6. a pool on TCP takes only its web servers, and a half-sent request
#     does not pin a worker;
#  7. a tampered cursor is a 400;
#  8. a lock not granted in time, and every SQLSTATE a retry may get past,
#     is a 503 with Retry-After; only a unique key or a reference is 409;
#  9. an idempotency key keeps no copy of a deleted record;
# 10. a password hashed at another cost is hashed again at login, and a
#     database over the network without verified TLS is warned of.

use strict;
use warnings;

use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $JSON = JSON::PP->new->utf8->canonical;
my $FAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

# The value of a counter of the internal listener's /metrics.  Not a test.
sub metric {
	my ($t, $name) = @_;
	my $r = HTTP::Tiny->new(timeout => 10)->get($t->metrics_url . '/metrics');
	die "GET /metrics: $r->{status}\n" unless $r->{status} == 200;
	return $r->{content} =~ /^\Q$name\E (\d+)$/m ? $1 : die "no $name\n";
}

sub register {
	my ($t, $email, %o) = @_;
	return $t->request(POST => '/api/auth/register', %o, json => {
	    name => 'Someone', email => $email, password => 'pw of someone' });
}

sub login {
	my ($t, $email, $password, %o) = @_;
	return $t->request(POST => '/api/auth/login', %o,
	    json => { email => $email, password => $password });
}

sub claims_of {
	my ($token) = @_;
	my (undef, $p) = split /\./, $token;
	$p =~ tr{-_}{+/};
	$p .= '=' x ((4 - length($p) % 4) % 4);
	return $JSON->decode(decode_base64($p));
}

###############################################################################
# 1. Registrations.

{
	my $t = Medrec::Stack->new(env => { REGISTER_MAX_PER_ADDRESS => 3 });
	my @r = map { register($t, "reg$_\@example.org") } 1 .. 3;
	is_deeply([ map { $_->{status} } @r ], [ 201, 201, 201 ],
	    'three registrations from one network within its window');
	my $r = register($t, 'reg4@example.org');
	is_problem($r, 429, 'the fourth from the same network is 429');
	like($r->{headers}{'retry-after'} // '', qr/^[1-9]\d*$/,
	    'with Retry-After in seconds');
	$r = register($t, 'reg5@example.org', from => '127.0.0.9');
	is($r->{status}, 201, 'another network still registers');

	my $h0 = metric($t, 'medrec_password_hashes_total');
	$r = register($t, 'reg5@example.org', from => '127.0.0.10');
	is_problem($r, 409, 'registering a taken email is 409');
	is(metric($t, 'medrec_password_hashes_total'), $h0,
	    'and costs no bcrypt hash: the email is looked up first');
}

###############################################################################
# 1 and 2. The budget of password work, and the owner who is not locked out.

{
	my $t = Medrec::Stack->new(env => { BCRYPT_COST => 10,
	    BCRYPT_SHARE => 1, LOGIN_MAX_ACCOUNT_FAILURES => 3 });
	like($t->log_with(qr/password hashes for new clients/),
	    qr/password hashes for new clients: at most [\d.]+ a second/,
	    'the pool says how many hashes a second new clients may take');
	my $owner = $t->new_user(email => 'owner@example.org');
	ok(wait_until(30, sub {
		login($t, $owner->{email}, $owner->{password})->{status} == 200
	}, 1), 'the owner logs in, from 127.0.0.1');

	# Strangers from other networks fill the account's window.
	my @guess = map {
		login($t, $owner->{email}, "wrong $_", from => "127.0.1.$_")
	} 1 .. 8;
	ok((grep { $_->{status} == 429 } @guess) >= 1,
	    "strangers' wrong passwords fill the account's window (429)")
	    or diag(join ' ', map { $_->{status} } @guess);
	my $r = login($t, $owner->{email}, 'another wrong one',
	    from => '127.0.1.200');
	is_problem($r, 429, 'a stranger from yet another network is refused');

	# A flood of registrations spends the budget.
	my @flood = map {
		my $i = $_;
		$t->request_bg(POST => '/api/auth/register', from =>
		    "127.0.2.$i", json => { name => 'Flood',
		    email => "flood$i\@example.org", password => 'flood pass' })
	} 1 .. 12;
	my @fr = map { $_->wait(60) // { status => 'none' } } @flood;
	my @busy = grep { $_->{status} eq '503' } @fr;
	ok(@busy >= 1, 'a flood of registrations past the budget gets 503')
	    or diag(join ' ', map { $_->{status} } @fr);
	is_problem($busy[0] // {}, 503, 'a problem document');
	is($busy[0]{headers}{'retry-after'} // '', '1', 'with Retry-After: 1');
	ok(metric($t, 'medrec_password_refused_total') >= @busy,
	    'and /metrics counts the refusals');

	# The owner, from the network they logged in from, is neither locked
	# out by the account's window nor held back by the spent budget.
	$r = login($t, $owner->{email}, $owner->{password});
	is($r->{status}, 200, 'the owner still logs in from their network')
	    or diag(show_response($r));
}

###############################################################################
# 3. Networks: an IPv6 /64 is one client.

{
	my $t = Medrec::Stack->shared;
	my @k = map { $t->psql("SELECT app_address_key('$_')") }
	    '2001:db8::1', '2001:db8::ffff:1', '2001:db8:0:1::1', '192.0.2.7',
	    'not an address';
	is($k[0], $k[1], 'two addresses of one IPv6 /64 count as one network');
	isnt($k[0], $k[2], 'another /64 is another network');
	is($k[3], '192.0.2.7', 'an IPv4 address counts as itself');
	is($k[4], 'not an address', 'text that is no address counts as itself');
}

###############################################################################
# 4. The database's clock, with the pool's 50 s behind it.

{
	my $t = Medrec::Stack->new(env => { LD_PRELOAD => $FAKETIME,
	    FAKETIME => '-50s', FAKETIME_DONT_FAKE_MONOTONIC => 1 });
	my $u = $t->new_user;
	my $db_now = $t->psql('SELECT extract(epoch FROM now())::bigint');
	my $iat = claims_of($u->{token})->{iat};
	ok(abs($iat - $db_now) <= 5, 'a token is dated by the database\'s '
	    . 'clock, not the pool\'s') or diag("iat $iat, database $db_now");
	my $r = $t->request(POST => '/api/auth/logout-all', token => $u->{token});
	is($r->{status}, 204, 'logout-all');
	my $tva = $t->psql("SELECT tokens_valid_after FROM users WHERE id = $u->{id}");
	$db_now = $t->psql('SELECT extract(epoch FROM now())::bigint');
	ok($tva >= $iat && abs($tva - $db_now) <= 5,
	    'logout-all revokes up to the database\'s now') or diag("tokens_valid_after $tva, database $db_now");
	is($t->request(GET => '/api/auth/me', token => $u->{token})->{status},
	    401, 'and the token is refused');
}

###############################################################################
# 5. The service's role.

{
	my $t = Medrec::Stack->shared;
	$t->psql('CREATE ROLE medrec_bypass LOGIN BYPASSRLS IN ROLE medrec_app',
	    db => 'postgres');
	for my $case ([ 'the tables\' owner', 'medrec_owner', qr/owns or may act as the owner/ ],
	    [ 'a superuser', 'postgres', qr/superuser/ ],
	    [ 'a role that bypasses row-level security', 'medrec_bypass',
	      qr/bypasses row-level security/ ]) {
		my ($what, $role, $why) = @$case;
		my $url = "postgresql://$role\@/medrec?host=" . $t->sockdir;
		my $r = Medrec::Stack::run_cmd(cmd => [ $t->bin ], timeout => 30,
		    cwd => $t->dir, env => Medrec::Stack::clean_env(
		    DATABASE_URL => $url, JWT_SECRET => 'x' x 40,
		    AUTO_MIGRATE => 0, LISTEN => $t->dir . "/never-$role.sock"));
		is($r->{status} >> 8, 78, "the service refuses to run as $what");
		like($r->{err}, $why, "and says why ($what)") or diag($r->{err});
	}
}

# The owner's password serves the migrations at start and nothing after:
# no process of a running pool holds it, in its environment or anywhere
# in its memory.  Started as root, the pool allows no core dump and hands
# its socket to RUN_AS_USER before it touches any of that.
{
	my $t = Medrec::Stack->shared;
	my $secret = 'owner-secret-' . join('', map { int rand 10 } 1 .. 12);
	my $sock = $t->dir . '/owner-secret.sock';
	my $pid = Medrec::Stack::_spawn(cmd => [ $t->bin ], cwd => $t->dir,
	    log => $t->dir . '/owner-secret.log',
	    env => Medrec::Stack::clean_env(
	    DATABASE_URL => $t->database_url,
	    MIGRATION_DATABASE_URL => $t->migration_url . "&password=$secret",
	    JWT_SECRET => 'y' x 40, WORKERS => 2, LISTEN => $sock));
	my @workers;
	ok(wait_until(30, sub { -S $sock &&
	    (@workers = Medrec::Stack::children_of($pid)) == 2 }),
	    'a pool started with the owner\'s password in MIGRATION_DATABASE_URL');
	my @found;
	for my $p ($pid, @workers) {
		push @found, "$p environ" if index(Medrec::Stack::slurp(
		    "/proc/$p/environ") // '', $secret) >= 0;
		push @found, "$p cmdline" if index(Medrec::Stack::slurp(
		    "/proc/$p/cmdline") // '', $secret) >= 0;
		# AddressSanitizer's runtime keeps a copy of the environment
		# it started with (read from /proc/self/environ), out of the
		# program's reach: there, only what the program holds counts.
		push @found, "$p memory" if !$ENV{ASAN_OPTIONS} &&
		    memory_holds($p, $secret);
	}
	is("@found", '', 'no process of the pool holds the owner\'s password '
	    . '(environment, command line' . ($ENV{ASAN_OPTIONS} ? '' :
	    ', memory') . ')');
	my $limits = Medrec::Stack::slurp("/proc/$pid/limits") // '';
	like($limits, qr/^Max core file size\s+0\s+0\b/m,
	    'the pool allows no core dump');
	my $owner = (stat $sock)[4];
	is($owner, $> == 0 ? scalar getpwnam('medrec') : $>,
	    'its socket belongs to the user it runs as');
	kill('TERM', $pid);
	waitpid($pid, 0);
}

# Whether the readable memory of process pid holds bytes: its heap,
# stack and anonymous mappings, read through /proc/pid/mem.  Not a test.
sub memory_holds {
	my ($pid, $bytes) = @_;
	no warnings 'portable';		# 64-bit addresses
	open(my $maps, '<', "/proc/$pid/maps") or return 0;
	open(my $mem, '<:raw', "/proc/$pid/mem") or return 0;
	while (<$maps>) {
		my ($from, $to, $perm, $path) =
		    /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/ or next;
		next unless $perm =~ /^rw/;
		next if $path =~ m{^/|\[(?:vvar|vsyscall|vdso)\]};
		my $len = hex($to) - hex($from);
		next if $len > 64 << 20;	# sanitizers' shadow memory
		sysseek($mem, hex($from), 0) or next;
		my $buf = '';
		sysread($mem, $buf, $len) or next;
		return 1 if index($buf, $bytes) >= 0;
	}
	return 0;
}

###############################################################################
# 6. The pool on TCP.

{
	my $t = Medrec::Stack->shared;
	my $r = Medrec::Stack::run_cmd(cmd => [ $t->bin ], timeout => 30,
	    cwd => $t->dir, env => Medrec::Stack::clean_env(
	    DATABASE_URL => $t->database_url, JWT_SECRET => 'x' x 40,
	    AUTO_MIGRATE => 0, LISTEN => '0.0.0.0:1'));
	is($r->{status} >> 8, 78, 'a pool on a port other hosts reach needs '
	    . 'an allow-list');
	like($r->{err}, qr/FCGI_WEB_SERVER_ADDRS/, 'and the message names '
	    . 'FCGI_WEB_SERVER_ADDRS') or diag($r->{err});
}
{
	my $t = Medrec::Stack->new(listen => 'tcp', env => {
	    FCGI_WEB_SERVER_ADDRS => '127.0.0.1', WORKERS => 1,
	    FCGI_READ_TIMEOUT => 1 });

	# A client that sends half a record and waits.
	my $half = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $t->pool_port, Proto => 'tcp') or die "connect: $!";
	syswrite($half, "\x01\x01\x00");
	sleep(0.2);
	my $t0 = time;
	my $r = $t->request(GET => '/api/health', timeout => 20);
	is($r->{status}, 200, 'a half-sent request does not pin the only '
	    . 'worker: it times out (FCGI_READ_TIMEOUT)');
	ok(time - $t0 < 15, 'and the next request is answered in seconds');
	close($half);

	$t->stop_pool;
	$t->start_pool(FCGI_WEB_SERVER_ADDRS => '127.0.0.2');
	ok(wait_until(10, sub {
		$t->request(GET => '/api/health', timeout => 5)->{status} == 502
	}, 0.2), 'a pool whose allow-list leaves nginx out answers it '
	    . 'nothing (502)');
	like($t->pool_log, qr/pool started/, 'though it runs');
}

###############################################################################
# 7. A tampered cursor.

{
	my $t = Medrec::Stack->shared;
	my $u = $t->new_user;
	for my $n (1, 2) {
		$t->request(POST => '/api/doctors', token => $u->{token},
		    json => { name => "Dr. Cursor $n", specialization => 'Time' });
	}
	my $first = $t->request(GET => '/api/doctors?sort=createdAt&limit=1');
	my ($next) = ($first->{headers}{link} // '') =~ /after=([^>&]+)/;
	ok(defined $next, 'a page of the doctors list by createdAt has a next '
	    . 'cursor');
	(my $b = $next // '') =~ tr{-_}{+/};
	$b .= '=' x ((4 - length($b) % 4) % 4);
	my @l = split /\n/, decode_base64($b), -1;
	for my $key ('9223372036854775807', '-9223372036854775808',
	    '253402300800000000') {
		my $c = encode_base64(join("\n", @l[0 .. 4], $key), '');
		$c =~ tr{+/}{-_};
		$c =~ s/=+$//;
		my $r = $t->request(GET => "/api/doctors?sort=createdAt&limit=1"
		    . "&after=$c");
		is_problem($r, 400, "a cursor whose time key is $key is 400, on "
		    . 'the public doctors list');
	}
}

###############################################################################
# 8. A lock not granted in time.

{
	my $t = Medrec::Stack->new;
	my $u = $t->new_user;
	my $p = $t->request(POST => '/api/patients', token => $u->{token},
	    json => { name => 'Locked' })->{json}{id};
	$t->psql("ALTER ROLE medrec SET lock_timeout = '300ms'",
	    db => 'postgres');
	$t->stop_pool;
	$t->start_pool;
	$t->wait_ready;
	my $holder = $t->psql_bg("BEGIN; SELECT 1 FROM patients WHERE id = $p "
	    . "FOR UPDATE; SELECT pg_sleep(4); COMMIT;");
	sleep(1);
	my $r = $t->request(PATCH => "/api/patients/$p", token => $u->{token},
	    json => { age => 40 });
	is_problem($r, 503, 'a write that waits past lock_timeout is 503');
	is($r->{headers}{'retry-after'} // '', '1', 'with Retry-After: 1');
	waitpid($holder, 0);
	is($t->request(PATCH => "/api/patients/$p", token => $u->{token},
	    json => { age => 40 })->{status}, 200, 'and the retry goes through');

	# The other SQLSTATEs, as PostgreSQL reports them: a trigger makes
	# a create of a doctor named "raise CODE" fail with that code.
	$t->psql(q{CREATE FUNCTION raise_named() RETURNS trigger LANGUAGE plpgsql
	    AS $$ BEGIN IF NEW.name LIKE 'raise %' THEN
	    RAISE EXCEPTION 'raised' USING ERRCODE = substr(NEW.name, 7);
	    END IF; RETURN NEW; END $$;
	    CREATE TRIGGER raise_named BEFORE INSERT ON doctors
	    FOR EACH ROW EXECUTE FUNCTION raise_named()});
	for my $case ([ '40001', 503, 'a serialization failure' ],
	    [ '40P01', 503, 'a deadlock' ], [ '53200', 503, 'out of memory' ],
	    [ '53300', 503, 'too many connections' ],
	    [ '57014', 503, 'a statement timeout' ],
	    [ '23505', 409, 'a unique key' ], [ '23503', 409, 'a reference' ],
	    [ '23514', 500, 'another integrity rule (a check)' ],
	    [ '22012', 500, 'anything else (division by zero)' ]) {
		my ($code, $status, $what) = @$case;
		my $r = $t->request(POST => '/api/doctors', token => $u->{token},
		    json => { name => "raise $code", specialization => 'x' });
		is_problem($r, $status, "SQLSTATE $code, $what, is $status");
		is($r->{headers}{'retry-after'}, $status == 503 ? '1' : undef,
		    $status == 503 ? '  with Retry-After: 1' :
		    '  without Retry-After');
	}
	like($t->pool_log, qr/statement doctor_create failed: SQLSTATE 23514/,
	    'an unexpected SQLSTATE is logged as an error');
}

###############################################################################
# 9. Idempotency keys and deleted records.

{
	my $t = Medrec::Stack->shared;
	my $u = $t->new_user;
	my $body = { name => 'Kept Nowhere', address => '12 Secret Lane' };
	my $r = $t->request(POST => '/api/patients', token => $u->{token},
	    json => $body, headers => { 'Idempotency-Key' => 'k-deleted' });
	is($r->{status}, 201, 'a create with an Idempotency-Key');
	my $id = $r->{json}{id};
	is($t->request(DELETE => "/api/patients/$id", token => $u->{token})
	    ->{status}, 204, 'the record is deleted');
	$r = $t->request(POST => '/api/patients', token => $u->{token},
	    json => $body, headers => { 'Idempotency-Key' => 'k-deleted' });
	is_problem($r, 410, 'a replay after the delete is 410, not the record');
	unlike($r->{body}, qr/Secret Lane/, 'and holds nothing of it');
	is($t->psql("SELECT count(*) FROM idempotency_keys WHERE user_id = "
	    . "$u->{id} AND body LIKE '%Secret Lane%'"), 0,
	    'the key keeps no copy of the deleted record');

	my $v = $t->new_user;
	$t->psql("INSERT INTO idempotency_keys (user_id, key, request_hash, "
	    . "status, body, expires_at) VALUES ($v->{id}, 'old', 'x', 201, "
	    . "'{\"name\":\"Old PHI\"}', now() - interval '1 hour')");
	$t->request(POST => '/api/patients', token => $u->{token},
	    json => { name => 'Anyone' },
	    headers => { 'Idempotency-Key' => 'k-fresh' });
	is($t->psql("SELECT count(*) FROM idempotency_keys WHERE user_id = "
	    . "$v->{id}"), 0, "another user's expired key goes when anyone "
	    . 'claims one');
}

###############################################################################
# 10. A hash of another cost.

{
	my $t = Medrec::Stack->new;
	my $u = $t->new_user;
	like($t->psql("SELECT password_hash FROM users WHERE id = $u->{id}"),
	    qr/^\$2b\$04\$/, 'registered at cost 4');
	$t->stop_pool;
	$t->start_pool(BCRYPT_COST => 5);
	$t->wait_ready;
	is(login($t, $u->{email}, $u->{password})->{status}, 200,
	    'logs in after BCRYPT_COST went up');
	like($t->psql("SELECT password_hash FROM users WHERE id = $u->{id}"),
	    qr/^\$2b\$05\$/, 'and the hash is made again at the new cost');
}

###############################################################################
# 10. A database over the network without verified TLS is warned of, however
# its connection is given.

{
	my $t = Medrec::Stack->shared;
	my %seed = (DB_HOST => '192.0.2.1', DB_USER => 'app',
	    DB_PASSWORD => 'pw', DB_NAME => 'medrec');
	for my $case (
	    [ 'DATABASE_URL', { DATABASE_URL =>
	      'postgresql://app:pw@192.0.2.1/medrec' }, 1 ],
	    [ 'DB_HOST', \%seed, 1 ],
	    [ 'DATABASE_URL with sslmode=verify-full', { DATABASE_URL =>
	      'postgresql://app:pw@192.0.2.1/medrec?sslmode=verify-full' }, 0 ],
	    [ 'DB_HOST with PGSSLMODE=verify-full',
	      { %seed, PGSSLMODE => 'verify-full' }, 0 ]) {
		my ($what, $env, $warned) = @$case;
		my $r = Medrec::Stack::run_cmd(cmd => [ $t->bin, '--migrate' ],
		    timeout => 30, cwd => $t->dir, env => Medrec::Stack::clean_env(
		    %$env, DB_TIMEOUT => 1));
		my $warning = qr/reaches the database at 192\.0\.2\.1 over the network/;
		if ($warned) {
			like($r->{err}, $warning, "$what over the network: warned")
			    or diag($r->{err});
		} else {
			unlike($r->{err}, $warning, "$what: no warning");
		}
	}
}

done_testing();
