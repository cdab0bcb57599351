# The Prometheus endpoint and the pool status page (issue "Operating it for
# real"): on the internal listener only, with requests by route and status,
# the latency histogram, worker restarts, database reconnects and busy/idle
# workers.
use strict;
use warnings;

use HTTP::Tiny;
use Test::More;

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(env => { WORKERS => 3 });
my $http = HTTP::Tiny->new(timeout => 10, max_redirect => 0);

sub internal {
	my ($path) = @_;
	return $http->get($t->metrics_url . $path);
}

# A counter's value in the Prometheus text, 0 when absent.
sub metric {
	my ($text, $name) = @_;
	return $text =~ /^\Q$name\E (\S+)$/m ? $1 : 0;
}

$t->request(GET => '/api/health') for 1 .. 5;
$t->request(GET => '/api/nope');
$t->request(DELETE => '/api/health');

my $m = internal('/metrics');
is($m->{status}, 200, 'GET /metrics on the internal listener is 200');
like($m->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
    'in the Prometheus text format');
my $body = $m->{content};
ok(metric($body, 'medrec_requests_total{method="GET",route="/api/health",status="200"}') >= 5,
    'requests are counted by route and status');
ok(metric($body, 'medrec_requests_total{method="",route="none",status="404"}') >= 1,
    'a request that matched no route is counted');
ok(metric($body, 'medrec_requests_total{method="",route="none",status="405"}') >= 1,
    'a 405 is counted as matching no route, with its status');
ok(metric($body, 'medrec_request_duration_seconds_bucket{le="+Inf"}') >= 7,
    'the latency histogram counts every request');
ok(metric($body, 'medrec_request_duration_seconds_bucket{le="10"}') <=
    metric($body, 'medrec_request_duration_seconds_bucket{le="+Inf"}'),
    'its buckets are cumulative');
is(metric($body, 'medrec_workers{state="busy"}') +
    metric($body, 'medrec_workers{state="idle"}'), 3,
    'busy and idle workers add up to WORKERS');
is(metric($body, 'medrec_worker_restarts_total'), 0, 'no restarts yet');

my @before = $t->worker_pids;
kill 'KILL', $before[0];
ok(wait_until(5, sub { my @now = $t->worker_pids; @now == 3 && !grep { $_ == $before[0] } @now }),
    'a killed worker is replaced');
$body = internal('/metrics')->{content};
is(metric($body, 'medrec_worker_restarts_total'), 1,
    'the restart is counted');
is(metric($body, 'medrec_workers{state="busy"}') +
    metric($body, 'medrec_workers{state="idle"}'), 3,
    'and the dead worker no longer counts');

$t->stop_pg('fast');
$t->start_pg;
ok(wait_until(10, sub { $t->request(GET => '/api/health')->{status} == 200 }),
    'health comes back after PostgreSQL restarts');
$t->request(GET => '/api/health') for 1 .. 6;
$body = internal('/metrics')->{content};
ok(metric($body, 'medrec_db_reconnects_total') >= 1,
    'database reconnects are counted');

my $s = internal('/status');
is($s->{status}, 200, 'GET /status on the internal listener is 200');
like($s->{content}, qr/^total processes:\s+3$/m, 'it shows the pool size');
like($s->{content}, qr/^idle processes:\s+\d+$/m, 'and idle workers');
my @pids = $t->worker_pids;
like($s->{content}, qr/^$_\s+(?:idle|busy)\s+\d+/m, "and worker $_")
    for @pids;

for my $path ('/metrics', '/status', '/api/../metrics') {
	my $r = $t->request(GET => $path);
	is($r->{status}, 404, "$path is not reachable through the public site");
}
is(internal('/api/health')->{status}, 404,
    'the internal listener serves nothing else');

done_testing();
