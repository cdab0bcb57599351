# HTTPS as script/server --tls serves it: the generated certificate works,
# TLS 1.2 and 1.3 only, HSTS on every HTTPS response (API.md's security
# headers; issue "Defence in depth").  Plain HTTP refuses API calls with a
# 403 problem document and no Location, since a redirect makes a client
# send its token and body in clear once more (issue 13, finding 10), and
# redirects anything else.
use strict;
use warnings;

use Test::More;

use Medrec::Stack qw(slurp wait_until);
use Medrec::Test;

my $t = Medrec::Stack->new(tls => 1);
my $url = $t->tls_url;
my $cert = $t->tls_cert;

# curl with the stack's own certificate as the only trusted one.  Returns
# (exit status, headers and body).
sub curl {
	my (@args) = @_;
	my $out = `curl -sS -i --max-time 10 --cacert $cert @args 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = curl("$url/api/health");
is($rc, 0, 'HTTPS works with the generated certificate');
like($out, qr{^HTTP/\S+ 200}m, 'health over HTTPS is 200');
like($out, qr/"database":"ok"/, 'and the database answers');
like($out, qr/^strict-transport-security: max-age=\d+/mi,
    'an HTTPS response carries HSTS');
like($out, qr/^x-request-id: \S+/mi, 'and X-Request-Id');

($rc, $out) = curl("$url/api/nope");
like($out, qr{^HTTP/\S+ 404}m, 'an unknown path over HTTPS is 404');
like($out, qr/^strict-transport-security: /mi, 'with HSTS too');

($rc, $out) = curl('--tlsv1.2', '--tls-max', '1.2', "$url/api/health");
is($rc, 0, 'TLS 1.2 is accepted');
($rc, $out) = curl('--tlsv1.3', "$url/api/health");
is($rc, 0, 'TLS 1.3 is accepted');
# The client is told to offer the old protocol (its own defaults would
# refuse first), so that the refusal seen is the server's.
for my $old (['-tls1_1', 'TLS 1.1'], ['-tls1', 'TLS 1.0']) {
	my $s = `echo | openssl s_client -connect 127.0.0.1:@{[ $t->tls_port ]} $old->[0] -cipher DEFAULT\@SECLEVEL=0 2>&1`;
	like($s, qr/alert protocol version/, "$old->[1] is refused by the server");
	like($s, qr/Cipher is \(NONE\)/, "  and no $old->[1] session is made");
}
my $s = `echo | openssl s_client -connect 127.0.0.1:@{[ $t->tls_port ]} -tls1_2 -CAfile $cert 2>&1`;
like($s, qr/Verify return code: 0/, 'the certificate verifies for 127.0.0.1');

my $r = $t->request(GET => '/api/health');
is_problem($r, 403, 'an API call over plain HTTP is refused with a 403 '
    . 'problem document');
like($r->{json} ? $r->{json}{detail} // '' : '', qr/\bHTTPS\b/,
    '  whose detail says to use HTTPS');
ok(!defined $r->{headers}{location},
    '  with no Location, so the client does not send its token again');
has_security_headers($r, '  and the security headers, once each');
like($r->{headers}{'x-request-id'} // '', qr/^[A-Za-z0-9._-]{1,64}$/,
    '  and an X-Request-Id');
ok(!defined $r->{headers}{'strict-transport-security'},
    'plain HTTP carries no HSTS');
$r = $t->request(POST => '/api/auth/login', json => {});
is_problem($r, 403, 'a POST over plain HTTP is refused too, not redirected');
ok(!defined $r->{headers}{location}, '  with no Location');
$r = $t->request(GET => '/api/patients?q=PlainName', token => 'not.a.token');
is_problem($r, 403, 'so is a patient search with a token');
for my $path ('/api', '/%61pi/health') {
	is_problem($t->request(GET => $path), 403, "GET $path over plain HTTP is 403");
}
my $access = wait_until(5, sub {
	my $l = slurp($t->dir . '/nginx/medrec-access.log');
	return $l =~ m{"GET /api/patients" 403 } ? $l : undef;
}) // '';
like($access, qr{"GET /api/patients" 403 },
    'the refusal is in the site\'s access log, path only');
unlike($access, qr/PlainName/, '  without the query string');

$r = $t->request(GET => '/index.html?x=1');
is($r->{status}, 308, 'anything else over plain HTTP redirects with 308');
is($r->{headers}{location},
    "https://127.0.0.1:@{[ $t->tls_port ]}/index.html?x=1",
    '  to the same path and query on the HTTPS port');

done_testing();
