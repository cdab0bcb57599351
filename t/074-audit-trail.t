#!/usr/bin/perl
# An audit trail that can grow for years (issue 14): audit_events is
# partitioned by month (UTC), with this month's partition and the next
# three's made at every start and by every purge; each partition is as
# append-only as the table; a list pages across months; medrec --purge
# drops each month wholly older than AUDIT_RETENTION_DAYS (2190 days by
# default) and says which; and an upgrade keeps the rows already there,
# ids and all.  Old months are made and filled in the database, not
# waited for.

use strict;
use warnings;

use File::Copy ();
use File::Temp ();
use POSIX ();
use Test::More;

use Medrec::Stack;
use Medrec::Test;

# Its own stack: the purge drops months of the whole trail.
my $t = Medrec::Stack->new;

sub purge {
	my (%env) = @_;
	return Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path(),
	    '--purge' ], timeout => 60, env => Medrec::Stack::clean_env(
	    DATABASE_URL => $t->database_url, AUTO_MIGRATE => 0, %env));
}

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# 'YYYY_MM' of the month $n months from this one (UTC).
sub month {
	my ($n) = @_;
	my ($y, $m) = (gmtime)[5, 4];
	my $k = ($y + 1900) * 12 + $m + $n;
	return sprintf('%04d_%02d', int($k / 12), $k % 12 + 1);
}

# 'YYYY-MM', as the purge names a month.
sub dashed { (my $ym = $_[0]) =~ tr/_/-/; return $ym }

# The partitions of audit_events, by name.
sub partitions {
	return [ split /\n/, $t->psql("SELECT c.relname FROM pg_inherits i "
	    . "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
	    . "'audit_events'::regclass ORDER BY 1") ];
}

sub has_partition {
	my ($ym) = @_;
	return scalar grep { $_ eq "audit_events_$ym" } @{ partitions() };
}

# $n events of $user in the month 'YYYY_MM', one a minute from its 10th.
sub old_events {
	my ($user, $ym, $n) = @_;
	my $day = dashed($ym);
	$t->psql("SELECT app_audit_partition('$day-10'); "
	    . "INSERT INTO audit_events (at, user_id, action, resource_type, "
	    . "resource_id, outcome) SELECT timestamptz '$day-10 00:00Z' + "
	    . "make_interval(mins => g), $user->{id}, 'read', 'patient', g, "
	    . "'found' FROM generate_series(1, $n) g");
}

# Every event of a list walked through rel="next": [ ids ], [ times ].
sub walk {
	my ($u, $path) = @_;
	my (@ids, @at);
	for (my $pages = 0; defined $path && $pages < 100; $pages++) {
		my $r = api($u, GET => $path);
		die "GET $path: " . show_response($r)
		    unless $r->{status} == 200 && ref $r->{json} eq 'ARRAY';
		push @ids, map { $_->{id} } @{ $r->{json} };
		push @at, map { $_->{at} } @{ $r->{json} };
		my $h = $r->{headers}{link} // '';
		($path) = $h =~ /<(?:https?:\/\/[^\/>]+)?([^>]*)>;\s*rel="next"/;
	}
	return (\@ids, \@at);
}

###############################################################################
# The months made ahead, and where an event lands.

ok(has_partition(month($_)), "audit_events_@{[ month($_) ]} is made at start")
    for 0 .. 3;
is($t->psql("SELECT relkind FROM pg_class WHERE relname = 'audit_events'"), 'p',
    'audit_events is a partitioned table');
is($t->psql("SELECT count(*) FROM pg_indexes WHERE tablename = 'audit_events'"), 3,
    '  with three indexes, none on id alone');

my $alice = $t->new_user;
my $p = api($alice, POST => '/api/patients', json => { name => 'Trail One' });
is($p->{status}, 201, 'a patient created') or diag(show_response($p));
is($t->psql("SELECT DISTINCT tableoid::regclass FROM audit_events "
    . "WHERE user_id = $alice->{id}"), 'audit_events_' . month(0),
    '  its events are in this month\'s partition');

###############################################################################
# Each partition is as append-only as the table, and not the service's to
# read around row-level security.

my $part = 'audit_events_' . month(0);
my $owner_url = $t->migration_url;
my $app_url = $t->database_url;

sub sql_as {
	my ($url, $sql) = @_;
	return Medrec::Stack::run_cmd(stdin => "SET lock_timeout = '5s';\n$sql",
	    cmd => [ Medrec::Stack::pgbin() . '/psql', '-X', '-q', '-A', '-t',
	    '-v', 'ON_ERROR_STOP=1', '-d', $url, '-f', '-' ],
	    env => Medrec::Stack::clean_env());
}

my $before = $t->psql("SELECT count(*) FROM $part");
like(sql_as($owner_url, "TRUNCATE $part")->{err}, qr/audit_events is append-only/,
    'the owner cannot TRUNCATE a month');
like(sql_as($owner_url, "UPDATE $part SET outcome = 'found'")->{err},
    qr/audit_events is append-only/, '  nor UPDATE its rows');
like(sql_as($owner_url, "DELETE FROM $part")->{err},
    qr/audit_events is append-only/, '  nor DELETE them');
is($t->psql("SELECT count(*) FROM $part"), $before, '  and it holds all it held');
is($t->psql("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'audit_events'"),
    't', 'audit_events still forces row-level security');
like(sql_as($app_url, "SELECT count(*) FROM $part")->{err},
    qr/permission denied for table $part/,
    'the service\'s role cannot read a month directly');
like(sql_as($app_url, "SELECT app_audit_partition('2000-01-01')")->{err},
    qr/permission denied for function app_audit_partition/,
    '  nor make one');

###############################################################################
# A list pages across months, in either order.

old_events($alice, month(-2), 4);
old_events($alice, month(-1), 3);
my $total = $t->psql("SELECT count(*) FROM audit_events WHERE user_id = $alice->{id}");
cmp_ok($total, '>=', 9, "alice has $total events over three months");

my ($ids, $at) = walk($alice, '/api/audit?limit=2');
is(scalar @$ids, $total, 'the default order (-id) pages through every month');
is_deeply($ids, [ sort { $b <=> $a } @$ids ], '  newest id first');
my %seen;
is(scalar(grep { !$seen{$_}++ } @$ids), $total, '  each event once');

($ids, $at) = walk($alice, '/api/audit?limit=2&sort=at');
is(scalar @$ids, $total, 'sort=at pages through every month');
is_deeply($at, [ sort @$at ], '  oldest first');
like($at->[0], qr/^\Q@{[ dashed(month(-2)) ]}\E-10T00:01/,
    '  from the first event two months ago');
($ids, $at) = walk($alice, '/api/audit?limit=3&sort=-at');
is(scalar @$ids, $total, 'sort=-at too');
is_deeply($at, [ reverse sort @$at ], '  newest first');

###############################################################################
# Retention: medrec --purge drops each month wholly older than
# AUDIT_RETENTION_DAYS, and makes the months ahead again.

my $bob = $t->new_user;
my $ancient = '2019_03';		# more than 2190 days ago
my $old = month(-40);			# less
old_events($bob, $ancient, 5);
old_events($bob, $old, 2);
$t->psql('DROP TABLE audit_events_' . month(3));
ok(!has_partition(month(3)), '(a month ahead dropped by hand)');

my $r = purge();
is($r->{status}, 0, 'medrec --purge exits 0') or diag("$r->{out}$r->{err}");
like("$r->{out}$r->{err}", qr/the audit events of 2019-03 \(older than 2190 days: AUDIT_RETENTION_DAYS\)/,
    '  and names the month of audit events it removed');
ok(!has_partition($ancient), 'the month of 2019-03 is gone');
is($t->psql("SELECT count(*) FROM audit_events WHERE user_id = $bob->{id} "
    . "AND at < '2019-04-01Z'"), 0, '  with its events');
is($t->psql("SELECT count(*) FROM audit_events WHERE user_id = $bob->{id} "
    . "AND action = 'read'"), 2,
    'the month 40 months ago is kept, with its events');
ok(has_partition(month(3)), 'the month three ahead is made again');
is($t->psql("SELECT action || ' ' || outcome || ' ' || coalesce(user_id::text, 'none') "
    . "|| ' ' || (detail::json->>'auditRetentionDays') || ' ' || "
    . "(detail::json->'auditMonths')::text FROM audit_events "
    . "WHERE action = 'purge' ORDER BY id DESC LIMIT 1"),
    'purge purged none 2190 ["2019-03"]',
    'the purge\'s audit event lists the month');

$r = purge(AUDIT_RETENTION_DAYS => 365);
like("$r->{out}$r->{err}", qr/the audit events of \Q@{[ dashed($old) ]}\E \(older than 365 days/,
    'AUDIT_RETENTION_DAYS=365 drops the month 40 months ago');
ok(!has_partition($old), '  which is gone');
ok(has_partition(month(-1)), '  and keeps last month');
is($t->psql("SELECT count(*) FROM audit_events WHERE user_id = $alice->{id}"), $total,
    '  with all of alice\'s events');

# A month in use (a long read of the trail holds its lock): the purge does
# not queue every audited request behind it for long; it leaves the month
# for next time.
old_events($bob, '2019_05', 1);
my $holder = $t->psql_bg("BEGIN; LOCK TABLE audit_events IN ACCESS SHARE MODE; "
    . "SELECT pg_sleep(6); COMMIT;");
sleep 1;
$r = purge();
is($r->{status}, 0, 'a purge while a read holds the trail exits 0');
like("$r->{out}$r->{err}", qr/the audit trail is busy: audit_events_2019_05 is dropped next time/,
    '  with a warning that the month is dropped next time');
ok(has_partition('2019_05'), '  which is still there');
waitpid($holder, 0);
like("@{[ purge()->{err} ]}", qr/the audit events of 2019-05/, 'the next purge drops it');

$r = purge(AUDIT_RETENTION_DAYS => 30);
isnt($r->{status}, 0, 'AUDIT_RETENTION_DAYS=30 is refused');
like("$r->{out}$r->{err}", qr/AUDIT_RETENTION_DAYS/, '  naming the setting');

$r = purge();
like("$r->{out}$r->{err}", qr/and the audit events of no month/,
    'a purge with nothing to drop says so');

$t->finish;

###############################################################################
# An upgrade: the events made before migration 008 are kept, ids and all,
# and the next ones follow them.

my $old_dir = File::Temp::tempdir('medrec-mig007-XXXXXX', TMPDIR => 1, CLEANUP => 1);
for my $f (glob(Medrec::Stack::top() . '/db/migrations/00[1-7]_*.sql')) {
	File::Copy::copy($f, $old_dir) or die "copy $f: $!\n";
}
my $up = Medrec::Stack->new(env => { MIGRATIONS_DIR => $old_dir });
my $u = $up->new_user;
is($up->request(POST => '/api/patients', token => $u->{token},
    json => { name => 'Before 008' })->{status}, 201, 'a patient made before 008');
$up->psql("INSERT INTO audit_events (at, user_id, action, resource_type, outcome) "
    . "VALUES ('2024-02-03 04:05:06Z', $u->{id}, 'login', 'user', 'granted')");
my $rows_before = $up->psql("SELECT string_agg(concat_ws(' ', id, at, user_id, action, "
    . "resource_type, resource_id, outcome, request_id, client_address), ', ' ORDER BY id) "
    . "FROM audit_events");
$r = Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path(), '--migrate' ], timeout => 60,
    env => Medrec::Stack::clean_env(DATABASE_URL => $up->database_url,
    MIGRATION_DATABASE_URL => $up->migration_url,
    MIGRATIONS_DIR => Medrec::Stack::top() . '/db/migrations'));
like("$r->{out}$r->{err}", qr/migration 008_audit_partitions\.sql applied/,
    'medrec --migrate applies 008 to a database of 007');
is($up->psql("SELECT string_agg(concat_ws(' ', id, at, user_id, action, "
    . "resource_type, resource_id, outcome, request_id, client_address), ', ' ORDER BY id) "
    . "FROM audit_events"), $rows_before, '  every event is kept as it was');
ok(scalar(grep { $_ eq 'audit_events_2024_02' } split /\n/, $up->psql(
    "SELECT relname FROM pg_class WHERE relname LIKE 'audit_events_%'")),
    '  in the partition of its month');
my $max = $up->psql('SELECT max(id) FROM audit_events');
$up->psql("INSERT INTO audit_events (user_id, action, resource_type, outcome) "
    . "VALUES ($u->{id}, 'logout', 'user', 'revoked')");
cmp_ok($up->psql("SELECT max(id) FROM audit_events"), '>', $max,
    'the next event\'s id follows them');
$up->finish;

done_testing();
