# Public reads from the workers' memory (handlers/cache.c): GET
# /api/doctors/:id and the doctor lists are answered without a database
# trip while no doctor changes, and are never stale.  A read sent after a
# write's answer arrived returns the write's version or a newer one, on
# every worker of the pool, under concurrent writes and reads, after a
# worker restart and after the database connection was remade; a pool
# with its own web server (as on another host) learns of a write, or of a
# change made with psql, within moments.  The memory is bounded.
use strict;
use warnings;

use HTTP::Tiny;
use List::Util qw(max sum);
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until slurp);
use Medrec::Test;

# AddressSanitizer keeps freed memory aside (its quarantine), which would
# hide what the cache holds from the memory figures below.
my %env = (WORKERS => 4);
$env{ASAN_OPTIONS} = "$ENV{ASAN_OPTIONS}:quarantine_size_mb=0"
    if $ENV{ASAN_OPTIONS};
my $t = Medrec::Stack->new(env => \%env);
my $u = $t->new_user;
my $tok = $u->{token};

sub metric {
	my ($url, $result) = @_;
	my $body = HTTP::Tiny->new(timeout => 10)->get("$url/metrics")
	    ->{content} // '';
	return $body =~ /^medrec_public_cache_total\{result="$result"\} (\d+)/m
	    ? $1 : -1;
}

sub version_of {
	my ($r) = @_;
	return ($r->{headers}{etag} // '') =~ /^"(\d+)"$/ ? $1 : -1;
}

my $r = $t->request(POST => '/api/doctors', token => $tok,
    json => { name => 'Dr. Cache', specialization => 'Memory' });
is($r->{status}, 201, 'a doctor is created');
my $id = $r->{json}{id};

# The cache is used: repeated reads are hits, and each answer is whole.
my $hits = metric($t->metrics_url, 'hit');
my @same = map { $t->request(GET => "/api/doctors/$id") } 1 .. 30;
is(scalar(grep { $_->{status} == 200 && ($_->{json}{name} // '') eq
    'Dr. Cache' && version_of($_) == 1 } @same), 30,
    'thirty reads of the doctor: 200, the same record and ETag');
my $first = $same[0];
is_deeply([ map { $_->{headers}{'content-type'} } @same[1 .. 29] ],
    [ ($first->{headers}{'content-type'}) x 29 ],
    '  with the same Content-Type');
has_security_headers($same[29], '  a read from memory');
cmp_ok(metric($t->metrics_url, 'hit') - $hits, '>=', 20,
    '  most of them answered from memory (medrec_public_cache_total)');
$r = $t->request(GET => "/api/doctors/$id",
    headers => { 'If-None-Match' => '"1"' });
is($r->{status}, 304, 'If-None-Match with its version: 304 from memory');
is($r->{headers}{etag}, '"1"', '  with the ETag');
$r = $t->request(GET => '/api/doctors?limit=5', headers => {
    Prefer => 'count=exact' });
my $r2 = $t->request(GET => '/api/doctors?limit=5');
is($r->{headers}{'x-total-count'}, 1, 'a list asked with a count has it');
ok(!defined $r2->{headers}{'x-total-count'},
    '  and the same list without Prefer has none');
$r = $t->request(GET => '/api/doctors?limit=oops');
is($r->{status}, 400, 'a bad list query is still a 400');

# Every worker of the pool: readers on four connections keep the workers
# warm while one client writes and reads at once after each answer.
sub readers {
	my ($n, $secs, $url) = @_;
	my @kids;
	for (1 .. $n) {
		my $kid = fork() // die "fork: $!";
		if ($kid == 0) {
			my $end = time + $secs;
			$t->request(GET => "/api/doctors/$id", url => $url,
			    timeout => 5) while time < $end;
			_exit(0);
		}
		push @kids, $kid;
	}
	return @kids;
}

sub served {
	my $status = HTTP::Tiny->new(timeout => 10)
	    ->get($t->metrics_url . '/status')->{content} // '';
	return { $status =~ /^(\d+)\s+\w+\s+(\d+)/mg };
}
my %before = map { $_ => 1 } $t->worker_pids;
my $served = served();
my @kids = readers(4, 4);
my $stale = 0;
my $n = 0;
my $t0 = time;
while (time - $t0 < 3.5) {
	$n++;
	my $w = $t->request(PATCH => "/api/doctors/$id", token => $tok,
	    json => { name => "Dr. Cache $n" });
	die "PATCH: $w->{status}" unless $w->{status} == 200;
	for my $read (1 .. 4) {
		my $g = $t->request(GET => "/api/doctors/$id");
		$stale++ if ($g->{json}{name} // '') ne "Dr. Cache $n" ||
		    version_of($g) < version_of($w);
	}
}
waitpid($_, 0) for @kids;
is($stale, 0, "after $n writes, none of the reads that followed each "
    . 'answer was older than it (pool of 4 workers)');
my $now = served();
my @busy = grep { $now->{$_} - ($served->{$_} // 0) >= 10 } keys %$now;
cmp_ok(scalar @busy, '>=', 2, '  the requests were spread over the '
    . 'workers (' . scalar(@busy) . ' served 10 or more)');

# Concurrent writers and readers: a writing client checks that no read is
# older than the version its own last write was answered with.  (Reads
# are not monotonic across workers: between a write's commit and the
# pool's counter, one worker may read the new version from the database
# while another still answers the old one from memory.)
my $dir = $t->dir;
@kids = ();
for my $c (0 .. 3) {
	my $kid = fork() // die "fork: $!";
	if ($kid == 0) {
		open(my $out, '>', "$dir/client.$c") or _exit(1);
		my ($known, $reads, $older) = (0, 0, 0);
		my $end = time + 4;
		while (time < $end) {
			if ($c < 2) {	# two write and read, two only read
				my $w = $t->request(PATCH => "/api/doctors/$id",
				    token => $tok, timeout => 10,
				    json => { contactInfo => "client $c" });
				$known = max($known, version_of($w))
				    if $w->{status} == 200;
			}
			for (1 .. 3) {
				my $g = $t->request(GET => "/api/doctors/$id",
				    timeout => 10);
				next unless $g->{status} == 200;
				$reads++;
				$older++ if version_of($g) < $known;
			}
		}
		print $out "$reads $older\n";
		close($out);
		_exit(0);
	}
	push @kids, $kid;
}
waitpid($_, 0) for @kids;
my ($reads, $older) = (0, 0);
for my $c (0 .. 3) {
	my ($a, $b) = split ' ', slurp("$dir/client.$c");
	$reads += $a // 0;
	$older += $b // 1;
}
cmp_ok($reads, '>', 100, "concurrent writers and readers made $reads reads");
is($older, 0, '  none older than its client\'s last acknowledged write');

# After a worker restart: killed workers come back with empty memory,
# and the pool's counter has kept every write.
kill('KILL', $t->worker_pids);
ok(wait_until(20, sub { my @w = $t->worker_pids; @w == 4 &&
    !grep { $before{$_} } @w }), 'the killed workers were replaced');
$r = $t->request(PATCH => "/api/doctors/$id", token => $tok,
    json => { name => 'After the restart' });
my @after = map { $t->request(GET => "/api/doctors/$id") } 1 .. 20;
is(scalar(grep { ($_->{json}{name} // '') eq 'After the restart' &&
    version_of($_) == version_of($r) } @after), 20,
    '  every read after a write on the new workers returns it');

# A change made with psql reaches the workers by notification.
sub fresh_within {
	my ($url, $want) = @_;
	my $t0 = time;
	while (time - $t0 < 5) {
		my $g = $t->request(GET => "/api/doctors/$id", url => $url);
		return time - $t0 if ($g->{json}{name} // '') eq $want;
		sleep 0.005;
	}
	return 99;
}
$t->request(GET => "/api/doctors/$id") for 1 .. 10;
$t->psql("UPDATE doctors SET name = 'Changed in psql' WHERE id = $id");
cmp_ok(fresh_within(undef, 'Changed in psql'), '<', 1,
    'a change made with psql is read within a second');

# After the connection was remade: a change made while the workers had no
# connection (nobody was listening) is not missed.
$t->request(GET => "/api/doctors/$id") for 1 .. 10;
$t->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    . "WHERE usename = 'medrec'", db => 'postgres');
$t->psql("UPDATE doctors SET name = 'While nobody listened' WHERE id = $id");
@after = map { $t->request(GET => "/api/doctors/$id") } 1 .. 12;
is(scalar(grep { $_->{status} == 200 &&
    ($_->{json}{name} // '') eq 'While nobody listened' } @after), 12,
    'after the connections were cut, every read returns the change '
    . 'made meanwhile');

# Another pool with its own nginx, as on another host: it learns of a
# write through PostgreSQL's notification.
$t->start_extra_pool('pool2');
my ($url2, $metrics2) = $t->extra_site('pool2');
my @delays;
for my $i (1 .. 15) {
	$t->request(GET => "/api/doctors/$id", url => $url2) for 1 .. 5;
	my $w = $t->request(PATCH => "/api/doctors/$id", token => $tok,
	    json => { name => "Pool one $i" });
	push @delays, fresh_within($url2, "Pool one $i");
}
my @sorted = sort { $a <=> $b } @delays;
my $median = $sorted[$#sorted / 2];
note(sprintf('the other pool read the write after %s ms',
    join(', ', map { sprintf '%.1f', $_ * 1000 } @delays)));
cmp_ok(metric($metrics2, 'hit'), '>', 0,
    'the other pool answers from memory too');
cmp_ok($median, '<=', 0.1, sprintf('the other pool read each write '
    . 'within 100 ms at the median (%.1f ms)', $median * 1000));
cmp_ok($sorted[-1], '<', 1, sprintf('  and within a second every time '
    . '(slowest %.1f ms)', $sorted[-1] * 1000));

# Bounded memory: lists and records beyond PUBLIC_CACHE_KB (1 MiB by
# default) push the oldest out; a worker stays small.
$t->psql("INSERT INTO doctors (name, specialization) SELECT 'Bulk ' || g, "
    . "'Filler' FROM generate_series(1, 3000) g");
$t->request(GET => "/api/doctors/$id") for 1 .. 5;
my $kib = sub {
	my ($pid, $f) = @_;
	return slurp("/proc/$pid/status") =~ /^$f:\s+(\d+) kB/m ? $1 : 0;
};
my %rss = map { $_ => $kib->($_, 'VmRSS') } $t->worker_pids;
for my $page (0 .. 59) {
	$t->request(GET => '/api/doctors?limit=100&offset=' . $page * 50);
}
$t->request(GET => "/api/doctors/$_") for $id + 1 .. $id + 1500;
my @grew = map { $kib->($_, 'VmHWM') - ($rss{$_} // 0) } $t->worker_pids;
# The sanitizers' allocator adds red zones around every entry.
my $room = $ENV{ASAN_OPTIONS} ? 4096 : 1536;
cmp_ok(max(@grew), '<=', $room, 'after filling the cache no worker grew '
    . "by more than $room KiB (" . join(', ', @grew) . ' KiB)');
my $peak = max(map { $kib->($_, 'VmHWM') } $t->worker_pids);
cmp_ok($peak, '<=', 8192, "  and every worker stayed within 8 MiB "
    . "($peak KiB)") unless $ENV{ASAN_OPTIONS};
$r = $t->request(GET => "/api/doctors/$id");
is($r->{json}{name}, 'Pool one 15',
    '  and reads are still right');

$t->finish;
done_testing();
