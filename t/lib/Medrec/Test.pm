package Medrec::Test;

# Helpers that assert: each one is a test (it calls ok() once, with diag on
# failure) and never dies.  The helpers that do things and die on failure
# are in Medrec::Stack.
#
#	use Medrec::Test;
#	is_problem($t->request(GET => '/api/nope'), 404, 'unknown path is 404');

use strict;
use warnings;

use Exporter qw(import);
use Test::More;

use Medrec::Stack;

our @EXPORT = qw(is_problem is_json_response has_security_headers
    show_response logs_are_clean);

our %SECURITY_HEADERS = (
	'cache-control'			=> 'no-store',
	'x-content-type-options'	=> 'nosniff',
	'content-security-policy'	=> "default-src 'none'; frame-ancestors 'none'",
	'referrer-policy'		=> 'no-referrer',
);

# A response as text for diag().
sub show_response {
	my ($r) = @_;
	my $h = $r->{headers} // {};
	my $body = $r->{body} // '';
	$body = substr($body, 0, 600) . '...' if length $body > 600;
	return "status $r->{status}\n" . join('', map {
	    my $v = $h->{$_}; "$_: " . (ref $v ? join(', ', @$v) : $v) . "\n"
	} sort keys %$h) . "\n$body\n";
}

sub _report {
	my ($r, $name, @bad) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 2;
	ok(!@bad, $name) or diag(join("\n", @bad) . "\n" . show_response($r));
	return !@bad;
}

sub _header {
	my ($r, $name) = @_;
	my $v = ($r->{headers} // {})->{lc $name};
	return ref $v ? join(', ', @$v) : $v;
}

# is_problem($res, $status, $name): $status with an RFC 9457 document in
# application/problem+json whose status and title fit.
sub is_problem {
	my ($r, $status, $name) = @_;
	my @bad;
	push @bad, "status is $r->{status}, not $status"
	    unless $r->{status} eq $status;
	my $ct = _header($r, 'content-type') // '(none)';
	push @bad, "Content-Type is $ct, not application/problem+json"
	    unless $ct =~ m{^application/problem\+json\s*(?:;|$)}i;
	my $j = $r->{json};
	if (ref $j ne 'HASH') {
		push @bad, 'the body is not a JSON object';
	} else {
		push @bad, 'type is not about:blank'
		    unless ($j->{type} // '') eq 'about:blank';
		push @bad, "status member is " . ($j->{status} // 'missing')
		    unless ($j->{status} // '') eq $status;
		push @bad, 'title is missing or empty'
		    unless defined $j->{title} && length $j->{title};
	}
	return _report($r, $name, @bad);
}

# is_json_response($res, $status, $name): $status in application/json with
# a body that parses.
sub is_json_response {
	my ($r, $status, $name) = @_;
	my @bad;
	push @bad, "status is $r->{status}, not $status"
	    unless $r->{status} eq $status;
	my $ct = _header($r, 'content-type') // '(none)';
	push @bad, "Content-Type is $ct, not application/json"
	    unless $ct =~ m{^application/json\s*(?:;|$)}i;
	push @bad, "the body is not JSON: " . ($r->{json_error} // '')
	    unless defined $r->{json};
	return _report($r, $name, @bad);
}

# has_security_headers($res, $name): the four headers of API.md, each
# exactly once and with its value, plus an X-Request-Id.
sub has_security_headers {
	my ($r, $name) = @_;
	my @bad;
	for my $h (sort keys %SECURITY_HEADERS) {
		my $v = $r->{headers}{$h};
		if (!defined $v) {
			push @bad, "no $h";
		} elsif (ref $v) {
			push @bad, "$h sent " . @$v . ' times';
		} elsif ($v ne $SECURITY_HEADERS{$h}) {
			push @bad, "$h is \"$v\", not \"$SECURITY_HEADERS{$h}\"";
		}
	}
	my $id = _header($r, 'x-request-id');
	push @bad, 'no sane X-Request-Id'
	    unless defined $id && $id =~ /^[A-Za-z0-9._-]{1,64}$/;
	return _report($r, $name, @bad);
}

# logs_are_clean($stack): the teardown checks, one test each.
sub logs_are_clean {
	my ($t) = @_;
	my $p = $t->log_problems;
	for my $check (sort keys %$p) {
		my @hits = @{ $p->{$check} };
		@hits = (@hits[0 .. 9], '...') if @hits > 10;
		ok(!@hits, $check) or diag(join("\n", @hits));
	}
}

1;
