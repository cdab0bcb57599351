# Two pools behind one nginx upstream, as pools on two machines would be:
# both serve, and when one is killed mid-load, requests keep succeeding
# through the other (nginx skips a pool that refuses connections, and
# retries an idempotent request that one dropped; a create is retried by
# its client with the same Idempotency-Key).
use strict;
use warnings;

use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until slurp);
use Medrec::Test;

my $t = Medrec::Stack->new(pools => 2, env => { WORKERS => 2 });
my $u = $t->new_user;
my $r = $t->request(POST => '/api/patients', token => $u->{token},
    json => { name => 'Shared by both pools' });
is($r->{status}, 201, 'a patient is created');
my $pid = $r->{json}{id};

$t->request(GET => "/api/patients/$pid", token => $u->{token}) for 1 .. 20;
my $served = qr{GET /api/patients/$pid status=200};
like($t->log_with($served), $served, 'the first pool serves');
like($t->log_with($served, $t->dir . '/pool2.log'), $served,
    'and so does the second');

# Three clients for 6 s: reads of the patient, and creates, each with its
# own Idempotency-Key, retried with it until answered.
my $dir = $t->dir;
my @kids;
for my $i (0 .. 2) {
	my $kid = fork() // die "fork: $!";
	if ($kid == 0) {
		open(my $out, '>', "$dir/client.$i") or _exit(1);
		my $end = time + 6;
		my $n = 0;
		while (time < $end) {
			my $g = $t->request(GET => "/api/patients/$pid",
			    token => $u->{token}, timeout => 5);
			print $out "GET\t$g->{status}\n";
			my $key = "two-pools-$i-" . $n++;
			my $c;
			for my $try (1 .. 50) {
				$c = $t->request(POST => '/api/patients',
				    token => $u->{token}, timeout => 5,
				    headers => { 'Idempotency-Key' => $key },
				    json => { name => $key });
				last if $c->{status} == 201;
				print $out "RETRY\t$c->{status}\n";
				sleep 0.1;
			}
			print $out "POST\t$c->{status}\t$key\t",
			    ($c->{json}{id} // ''), "\n";
		}
		close($out);
		_exit(0);
	}
	push @kids, $kid;
}
sleep 2;
my $victim = $t->extra_pool_pid('pool2');
my @victims = ($victim, Medrec::Stack::children_of($victim));
kill('KILL', @victims);
note("killed the second pool: @victims");
waitpid($_, 0) for @kids;

my (%get, @acked, %retries);
for my $i (0 .. 2) {
	open(my $in, '<', "$dir/client.$i") or die "$dir/client.$i: $!";
	while (<$in>) {
		chomp;
		my @f = split /\t/;
		$get{ $f[1] }++ if $f[0] eq 'GET';
		$retries{ $f[1] }++ if $f[0] eq 'RETRY';
		push @acked, [ @f[2, 3] ] if $f[0] eq 'POST' && $f[1] == 201;
	}
}
my $gets = 0;
$gets += $_ for values %get;
ok($gets > 20, "the clients kept reading ($gets reads)");
is_deeply([ keys %get ], [ 200 ], 'every read succeeded, before, during and after the kill')
    or diag(explain(\%get));
ok(@acked > 10, 'every create was acknowledged in the end (' . scalar(@acked) . ')');
note('retries: ' . join(', ', map { "$_ x$retries{$_}" } sort keys %retries));
my @bad = grep { my ($status) = $_ =~ /^(\d+)/; $status != 502 && $status != 503 && $status != 504 } keys %retries;
is_deeply(\@bad, [], 'what had to be retried failed cleanly (502/503/504)');

my %count = map { split /\|/ } split /\n/, $t->psql(
    "SELECT name, count(*) FROM patients WHERE name LIKE 'two-pools-%' GROUP BY name");
my @dup = grep { $count{$_} != 1 } keys %count;
is_deeply(\@dup, [], 'no key made two records');
my @missing = grep { !$count{ $_->[0] } } @acked;
is_deeply(\@missing, [], 'every acknowledged create is stored');

$r = $t->request(GET => "/api/patients/$pid", token => $u->{token});
is($r->{status}, 200, 'the surviving pool serves alone');

done_testing();
