#!/usr/bin/perl
# The Apache site (apache/*.in): Debian's Apache httpd 2.4 with
# mod_proxy_fcgi in front of the pool instead of nginx serves the same API
# (issue 8, "Apache"): the main flows of the black-box suite, the body
# limit, Apache's own errors as problem documents with API.md's headers,
# the request id, no query string in either access log, the internal
# metrics listener, and the HTTPS variant, whose plain HTTP refuses API
# calls.
use strict;
use warnings;

use Test::More;

use Medrec::Stack qw(slurp wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(web => 'apache');
ok($t->apache_pid, 'the stack runs Apache, not nginx');

###############################################################################
# Helpers that die (not tests).

sub api {
	my ($u, $method, $path, %o) = @_;
	return $t->request($method, $path, token => $u->{token}, %o);
}

# The request's raw response (status line and headers) from curl, for what
# HTTP::Tiny cannot send: a chunked body.
sub curl {
	my (@args) = @_;
	my $out = `curl -sS -i --max-time 10 @args 2>&1`;
	return $out;
}

###############################################################################
# The main flows.

my $r = $t->request(GET => '/api/health');
is_json_response($r, 200, 'GET /api/health through Apache is 200');
is_deeply($r->{json}, { status => 'ok', database => 'ok' },
    'and the database answers');
like($r->{headers}{'x-request-id'} // '', qr/^[0-9a-f]{32}$/,
    'it carries an X-Request-Id: Apache\'s id, which the pool took');
has_security_headers($r, 'a 200 carries the security headers once each');
is($r->{headers}{server}, 'Apache', 'the Server header names no version');

$r = $t->request(GET => '/api/health',
    headers => { 'X-Request-Id' => 'client-chosen.id_1' });
is($r->{headers}{'x-request-id'}, 'client-chosen.id_1',
    'a sane X-Request-Id of the client comes back, once');

my $email = "apache-$$\@example.org";
my $password = 'apache pass ' . $$;
$t->remember_secret($password);
$r = $t->request(POST => '/api/auth/register', json => {
    name => 'Apache User', email => $email, password => $password });
is_json_response($r, 201, 'register is 201');
$t->remember_secret($r->{json}{token}) if $r->{json} && $r->{json}{token};
$r = $t->request(POST => '/api/auth/login',
    json => { email => $email, password => $password });
is_json_response($r, 200, 'login is 200');
my $u = { token => $r->{json} ? $r->{json}{token} : '' };
$t->remember_secret($u->{token});
$r = api($u, GET => '/api/auth/me');
is($r->{status}, 200, 'the token reaches the pool (Authorization is passed)');
is($r->{json} && $r->{json}{email}, $email, '  and names the user');

$r = $t->request(GET => '/api/patients');
is_problem($r, 401, 'a patient list without a token is 401');
$r = api($u, POST => '/api/patients', body => '{"name":"x"}',
    content_type => 'text/plain');
is_problem($r, 415, 'a body that is not JSON is 415');

my @ids;
for my $n (1 .. 3) {
	$r = api($u, POST => '/api/patients', json => { name => "Patient $n",
	    age => 40 + $n, gender => 'Female' });
	is_json_response($r, 201, "patient $n is created") or next;
	push @ids, $r->{json}{id};
}
like($r->{headers}{location} // '', qr{^/api/patients/\d+$},
    'a create has a Location');
$r = api($u, GET => "/api/patients/$ids[0]");
is_json_response($r, 200, 'GET of a patient is 200');
is($r->{json}{name}, 'Patient 1', '  with its name');
my $etag = $r->{headers}{etag};
like($etag // '', qr/^"\d+"$/, '  and an ETag');
$r = api($u, GET => "/api/patients/$ids[0]",
    headers => { 'If-None-Match' => $etag });
is($r->{status}, 304, 'If-None-Match with the current version is 304');

$r = api($u, GET => '/api/patients?limit=2&q=Patient');
is_json_response($r, 200, 'a list is 200');
is(scalar @{ $r->{json} // [] }, 2, '  with limit=2 items');
my ($next) = ($r->{headers}{link} // '') =~ /<([^>]+)>;\s*rel="next"/;
like($next // '', qr{^/api/patients\?.*after=}, '  and a Link rel="next" cursor');
$r = api($u, GET => $next // '/api/patients');
is_json_response($r, 200, 'the next page is 200');
is_deeply([ map { $_->{id} } @{ $r->{json} // [] } ], [ $ids[2] ],
    '  with the last patient');

$r = api($u, PATCH => "/api/patients/$ids[1]", json => { address => 'Here' },
    headers => { 'If-Match' => '"1"' });
is_json_response($r, 200, 'PATCH with the right If-Match is 200');
is($r->{json}{address}, 'Here', '  and changes the field');
$r = api($u, PATCH => "/api/patients/$ids[1]", json => { address => 'There' },
    headers => { 'If-Match' => '"1"' });
is_problem($r, 412, 'PATCH with a stale If-Match is 412');

$r = api($u, POST => '/api/doctors', json => { name => 'Dr. Apache',
    specialization => 'Proxies', contactInfo => 'httpd@example.org' });
is_json_response($r, 201, 'a doctor is created');
my $doc = $r->{json} ? $r->{json}{id} : 0;
$r = $t->request(GET => "/api/doctors/$doc");
is_json_response($r, 200, 'a doctor is public: GET without a token is 200');

$r = api($u, POST => '/api/mappings',
    json => { patientId => $ids[0], doctorId => $doc },
    headers => { 'Idempotency-Key' => "apache-$$" });
is_json_response($r, 201, 'a mapping is created');
$r = api($u, POST => '/api/mappings',
    json => { patientId => $ids[0], doctorId => $doc },
    headers => { 'Idempotency-Key' => "apache-$$" });
is($r->{status}, 201, 'the same Idempotency-Key replays the create');
is($r->{headers}{'idempotency-replayed'}, 'true', '  and says so');
$r = api($u, GET => "/api/mappings/patient/$ids[0]");
is_json_response($r, 200, 'the patient\'s doctors are listed');
is_deeply([ map { $_->{id} } @{ $r->{json} // [] } ], [ $doc ],
    '  the one assigned');
$r = api($u, GET => '/api/mappings');
is(scalar @{ $r->{json} // [] }, 1, 'GET /api/mappings lists the mapping');

$r = api($u, DELETE => "/api/patients/$ids[2]");
is($r->{status}, 204, 'DELETE of a patient is 204');
$r = api($u, GET => "/api/patients/$ids[2]");
is_problem($r, 410, 'then it is 410 Gone');

$r = api($u, GET => '/api/patients/' . join('', map { sprintf('%%%02X', ord) }
    split //, $ids[0]));
is($r->{status}, 200, 'a percent-encoded path id is decoded, as nginx\'s $uri');

###############################################################################
# Errors: the pool's, and Apache's own.

$r = $t->request(GET => '/api/nope');
is_problem($r, 404, 'an unknown path under /api/ is the pool\'s 404');
has_security_headers($r, 'a 404 carries the security headers once each');
$r = $t->request(GET => '/api/docs');
is($r->{status}, 200, 'GET /api/docs through Apache is 200');
my $csp = $r->{headers}{'content-security-policy'};
ok(defined $csp && !ref $csp && $csp =~ /^default-src 'none'; script-src 'sha256-/,
    '  with exactly one Content-Security-Policy, the page\'s own (Apache '
    . 'adds none)') or diag(show_response($r));
$r = $t->request(DELETE => '/api/health');
is_problem($r, 405, 'a known path with another method is 405');
like($r->{headers}{allow} // '', qr/GET/, '  with Allow');

for my $path ('/', '/api', '/index.html', '/metrics', '/status',
    '/_error/404.json') {
	$r = $t->request(GET => $path);
	is_problem($r, 404, "GET $path is Apache's 404 problem document");
}
has_security_headers($r, 'Apache\'s own 404 carries the security headers');
$r = $t->request(TRACE => '/api/health');
is_problem($r, 405, 'TRACE is refused with a 405 problem document');

# Not JSON: past Prism (direct), which would answer it itself.
$r = api($u, POST => '/api/patients', body => 'x' x 65537,
    content_type => 'application/json', direct => 1);
is_problem($r, 413, 'a 65537-byte body is 413, a problem document');
like($r->{reason}, qr/Request Entity Too Large/, '  answered by Apache');
unlike($t->pool_log, qr/status=413/, '  before the pool hears of it');
has_security_headers($r, 'Apache\'s own 413 carries the security headers');
my $max = '{"name":"Sixty-four","address":"';
$max .= 'y' x (65536 - length($max) - 2) . '"}';
$r = api($u, POST => '/api/patients', content_type => 'application/json',
    body => $max);
is_problem($r, 400, 'a body of exactly 65536 bytes reaches the pool (a 400 '
    . 'for the too-long address, not a 413)');

my $out = curl('-H', "'Authorization: Bearer $u->{token}'",
    '-H', "'Content-Type: application/json'",
    '-H', "'Transfer-Encoding: chunked'", '--data-binary', "'{\"name\":\"c\"}'",
    $t->url('/api/patients'));
like($out, qr{^HTTP/1\.1 411 }m, 'a chunked body is refused with 411');
like($out, qr{^content-type: application/problem\+json}mi,
    '  as a problem document');

###############################################################################
# Logs.

$r = api($u, GET => '/api/patients?q=SecretName&limit=5');
is($r->{status}, 200, 'a list with a query string');
my $id = $r->{headers}{'x-request-id'} // 'none';
my $pattern = qr/req=\Q$id\E GET \/api\/patients status=200/;
like($t->log_with($pattern), $pattern,
    'the pool logs it under the same request id, path only');
my $access = slurp($t->dir . '/apache/medrec-access.log');
like($access, qr{"GET /api/patients" 200 .* req=\Q$id\E$}m,
    'Apache\'s access log has the path and the request id');
unlike($access, qr/SecretName/, 'and no query string');
unlike($t->pool_log, qr/SecretName/, 'nor has the pool\'s log');
like($access, qr{"POST /api/patients" 413 }m,
    'the access log has the method the client sent with Apache\'s 413');

# No proxy is named in the site as installed: X-Forwarded-For is nobody's
# to set (t/054-real-ip.t names one).
$r = api($u, POST => '/api/patients', json => { name => 'Forwarded' },
    headers => { 'X-Forwarded-For' => '203.0.113.7',
    'X-Request-Id' => "t060-xff-$$" });
is($r->{status}, 201, 'a patient created with an X-Forwarded-For');
$r = api($u, GET => '/api/audit?limit=200');
my ($event) = grep { ($_->{requestId} // '') eq "t060-xff-$$" }
    @{ ref $r->{json} eq 'ARRAY' ? $r->{json} : [] };
is($event ? $event->{clientAddress} : '(no event)', '127.0.0.1',
    '  is audited from the sender\'s address: the header is not believed');

###############################################################################
# FHIR R4 (t/100-fhir.t has the rest): routed, and Apache's own errors
# there are OperationOutcomes.  Direct: the OpenAPI document that Prism
# (t/091) checks against is the JSON API's.

$r = $t->request(GET => '/fhir/R4/metadata', direct => 1);
is($r->{status}, 200, 'GET /fhir/R4/metadata through Apache is 200');
like($r->{body}, qr/"resourceType":"CapabilityStatement"/, '  a CapabilityStatement');
$r = $t->request(GET => '/fhir/R4/Patient', token => $u->{token},
    headers => { Accept => 'application/fhir+json' }, direct => 1);
like($r->{body}, qr/"resourceType":"Bundle"/, 'a Patient search through Apache is a Bundle');
$r = $t->request(POST => '/fhir/R4/Patient', token => $u->{token},
    headers => { 'Content-Type' => 'application/fhir+json' }, body => 'x' x 70000,
    direct => 1);
is($r->{status}, 413, 'a FHIR body over 64 KiB is Apache\'s 413');
like($r->{headers}{'content-type'} // '', qr{^application/fhir\+json},
    '  as application/fhir+json');
like($r->{body}, qr/"resourceType":"OperationOutcome".*"code":"too-long"/,
    '  an OperationOutcome');
$r = $t->request(GET => '/fhir/R4/Patient/1/nothing/here', direct => 1);
like($r->{body}, qr/"resourceType":"OperationOutcome"/,
    'a FHIR path that is no route is an OperationOutcome too');
is($t->request(GET => '/fhir/R3/metadata', direct => 1)->{status}, 404,
    'only R4 is served');

###############################################################################
# The internal listener.

my $metrics = HTTP::Tiny->new(timeout => 10);
$r = $metrics->get($t->metrics_url . '/metrics');
is($r->{status}, 200, 'the metrics listener serves /metrics');
like($r->{content} // '', qr/^medrec_requests_total\{/m,
    '  in the Prometheus text format');
$r = $metrics->get($t->metrics_url . '/status');
like($r->{content} // '', qr/^idle processes:\s+\d+/m,
    'and /status, the pool\'s status page');
$r = $metrics->get($t->metrics_url . '/api/health');
is($r->{status}, 404, 'but not the API');

$t->finish;

###############################################################################
# HTTPS: apache/medrec-tls.conf.in.

my $s = Medrec::Stack->new(web => 'apache', tls => 1);
my $cert = $s->tls_cert;
$out = curl('--cacert', $cert, $s->tls_url . '/api/health');
like($out, qr{^HTTP/\S+ 200}m, 'HTTPS through Apache is 200');
like($out, qr/^strict-transport-security: max-age=\d+/mi, '  with HSTS');
$out = curl('--cacert', $cert, $s->tls_url . '/api/nope');
like($out, qr{^HTTP/\S+ 404}m, 'a 404 over HTTPS');
like($out, qr/^strict-transport-security: /mi, '  with HSTS too');
$out = curl('--cacert', $cert, '--tlsv1.2', '--tls-max', '1.2',
    $s->tls_url . '/api/health');
like($out, qr{^HTTP/\S+ 200}m, 'TLS 1.2 is accepted');
my $old = `echo | openssl s_client -connect 127.0.0.1:@{[ $s->tls_port ]} -tls1_1 -cipher DEFAULT\@SECLEVEL=0 2>&1`;
like($old, qr/alert protocol version/, 'TLS 1.1 is refused');
# Plain HTTP refuses API calls: a redirect would make the client send its
# token and body in clear once more (issue 13, finding 10).
$r = $s->request(POST => '/api/auth/login?x=1', json => {});
is_problem($r, 403, 'an API call over plain HTTP is refused with a 403 '
    . 'problem document');
like($r->{json} ? $r->{json}{detail} // '' : '', qr/\bHTTPS\b/,
    '  whose detail says to use HTTPS');
ok(!defined $r->{headers}{location},
    '  with no Location, so the client does not send its token again');
has_security_headers($r, '  and the security headers, once each');
ok(!defined $r->{headers}{'strict-transport-security'},
    'plain HTTP carries no HSTS');
for my $path ('/api/patients?q=PlainName', '/api', '/%61pi/health') {
	is_problem($s->request(GET => $path), 403,
	    "GET $path over plain HTTP is 403");
}
$access = wait_until(5, sub {
	my $l = slurp($s->dir . '/apache/medrec-access.log');
	return $l =~ m{"GET /api/patients" 403 } ? $l : undef;
}) // '';
like($access, qr{"GET /api/patients" 403 },
    'the refusal is in the site\'s access log, path only');
unlike($access, qr/PlainName/, '  without the query string');
$r = $s->request(GET => '/index.html?x=1');
is($r->{status}, 308, 'anything else over plain HTTP redirects with 308');
is($r->{headers}{location},
    "https://127.0.0.1:@{[ $s->tls_port ]}/index.html?x=1",
    '  to the same path and query on the HTTPS port');

done_testing();
