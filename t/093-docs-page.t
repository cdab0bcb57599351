#!/usr/bin/perl
# GET /api/docs (issue 11): the OpenAPI document rendered as one HTML page.
# The page is served as doc/api.html of this tree holds it, loads nothing
# from elsewhere, carries exactly one Content-Security-Policy, its own,
# which allows its inline scripts by hash and no other origin, and is up to
# date with handlers/openapi.json (script/docs rebuilds it).  Then a real
# browser, Debian's headless Chromium, loads it from the stack: the page
# renders every operation once its script has run, with no policy violation
# and no script error, and a screenshot is written to var/api-docs.png for
# a person to look at.
#
# Rebuilding the page to compare needs Redocly CLI, which script/docs has
# script/npm-tool install into var/npm (the npm registry must be reachable
# the first time).

use strict;
use warnings;

use Digest::SHA qw(sha256);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;

use Medrec::Stack qw(slurp);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $JSON = JSON::PP->new->utf8->canonical;
my $top = Medrec::Stack::top();
my $SHOT = "$top/var/api-docs.png";
my $CHROMIUM = '/usr/bin/chromium';

my %IS_METHOD = map { $_ => 1 } qw(get put post delete options head patch
    trace);

###############################################################################
# Helpers that die or compute (not tests).

# The inline scripts of a page, as the HTML parser cuts them: from the end
# of each <script> start tag to the next "</script".
sub inline_scripts {
	my ($html) = @_;
	my @s;
	while ($html =~ m{<script\b([^>]*)>(.*?)</script}gis) {
		push @s, $2 unless $1 =~ /\bsrc\s*=/i;
	}
	return @s;
}

# A policy as { directive => [ sources ] }; dies on a directive given twice.
sub parse_csp {
	my ($csp) = @_;
	my %d;
	for my $part (split /;/, $csp) {
		my ($name, @src) = split ' ', $part;
		next unless defined $name;
		die "$name is given twice in the policy\n" if $d{lc $name};
		$d{lc $name} = \@src;
	}
	return \%d;
}

# The spec that Redoc's state in the page holds (build-docs writes it as
# "const __redoc_state = {...};"), or undef.
sub embedded_spec {
	my ($html) = @_;
	my ($state) = $html =~ /const __redoc_state = (\{.*?\});\n/s;
	my $s = defined $state ? eval { $JSON->decode($state) } : undef;
	return ref $s eq 'HASH' ? $s->{spec}{data} : undef;
}

# Runs headless Chromium on url with a fresh profile in dir, bounded in
# time, and returns run_cmd's result.  No sandbox: the tests run as root.
# The background-networking switches keep it from calling Google (the
# machine's network is closed), so that it only talks to the stack.
sub chromium {
	my ($dir, $url, @args) = @_;
	my $profile = tempdir('profile-XXXXXX', DIR => $dir);
	return Medrec::Stack::run_cmd(cwd => $dir, timeout => 90,
	    env => { HOME => $dir },
	    cmd => [ $CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu',
	    '--disable-quic', '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync',
	    '--disable-default-apps', '--disable-extensions', '--mute-audio',
	    "--user-data-dir=$profile", '--enable-logging=stderr', '--v=0',
	    '--virtual-time-budget=10000', @args, $url ]);
}

# The lines of Chromium's log that report the page's console: "CONSOLE"
# lines, which carry policy violations and uncaught errors.
sub console_lines {
	my ($err) = @_;
	return grep { /:CONSOLE[:(]/ || /Content Security Policy/ }
	    split /\n/, $err;
}

###############################################################################
# The page as served.

my $r = $t->request(GET => '/api/docs');
is($r->{status}, 200, 'GET /api/docs is 200') or diag(show_response($r));
like($r->{headers}{'content-type'} // '', qr{^text/html;\s*charset=utf-8$}i,
    'the page is text/html in UTF-8');
my $html = $r->{body};
my $tree = slurp("$top/doc/api.html");
ok($html eq $tree, 'the service serves doc/api.html of this tree (rebuild '
    . 'after running script/docs)');
like($r->{headers}{'x-request-id'} // '', qr/^[A-Za-z0-9._-]{1,64}$/,
    'the page carries an X-Request-Id');
is($r->{headers}{'cache-control'}, 'no-store',
    'the page carries Cache-Control: no-store');
is($r->{headers}{'x-content-type-options'}, 'nosniff',
    'the page carries X-Content-Type-Options: nosniff');
is($r->{headers}{'referrer-policy'}, 'no-referrer',
    'the page carries Referrer-Policy: no-referrer');

my $h = $t->request(HEAD => '/api/docs');
ok($h->{status} == 200 && $h->{body} eq '' &&
    ($h->{headers}{'content-security-policy'} // '') eq
    ($r->{headers}{'content-security-policy'} // 'none'),
    'HEAD /api/docs is 200 with the same policy and no body')
    or diag(show_response($h));

###############################################################################
# Its policy: exactly one, allowing what the page needs and nothing remote.

my $csp = $r->{headers}{'content-security-policy'};
ok(defined $csp && !ref $csp, 'the page carries exactly one '
    . 'Content-Security-Policy') or diag(show_response($r));
$csp = ref $csp ? $csp->[0] : $csp // '';
my $d = eval { parse_csp($csp) } // {};
is("@{ $d->{'default-src'} // [] }", "'none'",
    "the page's policy keeps default-src 'none'");
is("@{ $d->{'frame-ancestors'} // [] }", "'none'",
    "the page's policy keeps frame-ancestors 'none'");
is("@{ $d->{'base-uri'} // [] }", "'none'", "and base-uri 'none'");
is("@{ $d->{'form-action'} // [] }", "'none'", "and form-action 'none'");

my @scripts = inline_scripts($html);
ok(@scripts >= 2, 'the page holds its scripts inline (Redoc and the call '
    . 'that starts it)') or diag(scalar(@scripts) . ' inline scripts');
my @want = sort map { "'sha256-" . encode_base64(sha256($_), '') . "'" }
    @scripts;
is_deeply([ sort @{ $d->{'script-src'} // [] } ], \@want, 'script-src '
    . 'allows exactly the SHA-256 of each inline script, nothing else');
my @remote = grep { !/^'(?:none|self|unsafe-inline|sha256-[A-Za-z0-9+\/=]+)'$/
    && !/^(?:data|blob):$/ } map { @$_ } values %$d;
ok(!@remote, 'the policy names no origin, scheme of the network or '
    . 'wildcard') or diag("@remote");
ok(!grep({ /unsafe-eval/ } map { @$_ } values %$d),
    "the policy allows no 'unsafe-eval'");

my $other = $t->request(GET => '/api/health');
has_security_headers($other, 'other responses keep the policy that allows '
    . 'nothing');

###############################################################################
# Self-contained, and up to date with the document.

ok($html !~ m{<script\b[^>]*\bsrc\s*=}i, 'the page loads no script from '
    . 'elsewhere');
ok($html !~ m{<link\b}i, 'the page links no stylesheet or font');
my @styles = $html =~ m{<style\b[^>]*>(.*?)</style>}gis;
ok(@styles && !grep({ /\@import|url\(\s*["']?(?:[a-z]+:)?\/\//i } @styles),
    'its style sheets import nothing from elsewhere');

my $spec = embedded_spec($html);
my $doc = eval { $JSON->decode(slurp("$top/handlers/openapi.json")) };
is_deeply($spec, $doc, 'the page renders handlers/openapi.json as it is '
    . '(run script/docs after editing it)');

my $tmp = tempdir('medrec-docs-page-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $built = Medrec::Stack::run_cmd(cwd => $top, timeout => 600,
    cmd => [ "$top/script/docs", "$tmp/api.html" ]);
is($built->{status}, 0, 'script/docs builds the page')
    or diag("$built->{out}$built->{err}");
ok(-f "$tmp/api.html" && slurp("$tmp/api.html") eq $tree,
    'doc/api.html is what script/docs builds from this tree: committed '
    . 'up to date');

###############################################################################
# In a real browser.

ok(-x $CHROMIUM, "Chromium is installed ($CHROMIUM; script/test installs "
    . 'Debian\'s chromium)');
my $url = $t->url('/api/docs');
my $dom = chromium($tmp, $url, '--dump-dom');
is($dom->{status}, 0, 'headless Chromium loads the page')
    or diag(($dom->{timed_out} ? "timed out\n" : '') . $dom->{err});
my @console = console_lines($dom->{err});
my @violations = grep { /Content Security Policy/i } @console;
ok(!@violations, 'the browser reports no Content-Security-Policy violation')
    or diag(join("\n", @violations));
my @errors = grep { /Uncaught|Error/ } @console;
ok(!@errors, 'and no script error (React took the prerendered page over)')
    or diag(join("\n", @errors[0 .. ($#errors < 9 ? $#errors : 9)]));

# perfect-scrollbar adds its rails when Redoc's menu mounts in the browser:
# the served markup has none.
my $rendered = $dom->{out};
ok($rendered =~ /<div class="ps__rail-y"/ && $html !~ /<div class="ps__rail-y"/,
    "Redoc's script ran: its menu is mounted in the rendered page");

my @ops;
for my $path (sort keys %{ $doc->{paths} // {} }) {
	push @ops, map { [ $_, $path ] } sort grep { $IS_METHOD{$_} }
	    keys %{ $doc->{paths}{$path} };
}
ok(@ops >= 20, 'the document has the operations to look for');
my @unlisted = map { uc($_->[0]) . " $_->[1]" } grep {
    my ($m, $p) = @$_;
    $rendered !~ m{<span type="\Q$m\E" class="[^"]*http-verb[^"]*">\Q$m\E</span><span[^>]*>\Q$p\E</span>}
} @ops;
ok(!@unlisted, 'the rendered page lists every operation of the document, '
    . 'method and path together') or diag("not listed:\n"
    . join("\n", @unlisted));
like($rendered, qr{http-verb post">post</span><span[^>]*>/api/patients</span>},
    'POST /api/patients is among them');

# A tall window, so that the first operations are in the picture.
mkdir("$top/var");
unlink($SHOT);
my $shot = chromium($tmp, $url, '--hide-scrollbars',
    '--window-size=1280,4800', "--screenshot=$SHOT");
my $png = -f $SHOT ? slurp($SHOT) : '';
ok($shot->{status} == 0 && substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n" &&
    length($png) > 50_000, 'Chromium writes a screenshot of the page')
    or diag(($shot->{timed_out} ? "timed out\n" : '') . $shot->{err});
note("screenshot: $SHOT") if -f $SHOT;

done_testing();
