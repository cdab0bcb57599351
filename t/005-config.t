#!/usr/bin/perl
# Configuration (conf/conf.c) and migrations (db/migrate.c), running the
# binary directly: bad settings stop it with status 78 and a message naming
# the setting; the environment beats .env, which beats the config file; two
# concurrent --migrate runs apply every file exactly once.  The database
# parts use the stack's cluster, in databases of their own.

use strict;
use warnings;

use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use Test::More;

use Medrec::Stack qw(wait_until);
use Medrec::Test;

my $t = Medrec::Stack->shared;
my $top = Medrec::Stack::top();
my $migrations = "$top/db/migrations";
my $secret = 'k' x 24 . 'Z9' x 8;	# 40 bytes
my $ndb = 0;

# A fresh empty database on the stack's cluster; returns its URL.
sub fresh_db {
	my $name = sprintf('cfg_%d_%d', $$, ++$ndb);
	$t->psql(qq{CREATE DATABASE "$name"}, db => 'postgres');
	return ($name, $t->database_url_for($name));
}

# medrec(env => {...}, args => [...], files => { name => text }): runs the
# binary in a fresh directory holding files, with only env set; returns
# { status (exit code), out, err }.
sub medrec {
	my (%o) = @_;
	my $dir = tempdir('medrec-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	for my $f (keys %{ $o{files} // {} }) {
		open(my $fh, '>', "$dir/$f") or die "$dir/$f: $!";
		print $fh $o{files}{$f};
		close($fh);
	}
	my @args = map { s/\@DIR\@/$dir/gr } @{ $o{args} // [] };
	my $r = Medrec::Stack::run_cmd(cmd => [ Medrec::Stack::bin_path(), @args ],
	    cwd => $dir, timeout => 20,
	    env => Medrec::Stack::clean_env(MIGRATIONS_DIR => $migrations,
	    %{ $o{env} // {} }));
	remove_tree($dir);	# also in bg() children, which skip END
	$r->{code} = $r->{timed_out} ? 'timed out' : ($r->{status} & 127)
	    ? 'signal ' . ($r->{status} & 127) : $r->{status} >> 8;
	return $r;
}

# refused(\%run_args, $word, $name): exit status 78 and a message on stderr
# naming $word.
sub refused {
	my ($args, $word, $name) = @_;
	my $r = medrec(%$args);
	my $ok = is($r->{code}, 78, "$name: exit status 78");
	$ok &= like($r->{err}, qr/\b\Q$word\E\b/, "$name: the message names $word");
	diag("stdout: $r->{out}\nstderr: $r->{err}") unless $ok;
	return $r;
}

# migrated(\%run_args, $name): --migrate exits 0.
sub migrated {
	my ($args, $name) = @_;
	my $r = medrec(%$args, args => [ @{ $args->{args} // [] }, '--migrate' ]);
	is($r->{code}, 0, $name) or diag("stdout: $r->{out}\nstderr: $r->{err}");
	return $r;
}

my (undef, $url) = fresh_db();
my %good = (DATABASE_URL => $url, JWT_SECRET => $secret);

###############################################################################
# Bad settings.

refused({ env => { %good, WORKERS => 'abc' } }, 'WORKERS', 'WORKERS=abc');
refused({ env => { %good, WORKERS => '0' } }, 'WORKERS', 'WORKERS=0');
refused({ env => { %good, WORKERS => '4x' } }, 'WORKERS', 'WORKERS=4x');
refused({ env => { %good, JWT_SECRET => 'x' x 31 } }, 'JWT_SECRET',
    'a JWT_SECRET of 31 bytes');
refused({ env => { %good, JWT_SECRET =>
    'change-me-to-a-random-string-of-at-least-32-bytes' } }, 'JWT_SECRET',
    'the example JWT_SECRET');
refused({ env => { %good, JWT_SECRET => undef } }, 'JWT_SECRET',
    'no JWT_SECRET at all');
refused({ env => { %good, DATABASE_URL => "host='unterminated" } },
    'DATABASE_URL', 'a DATABASE_URL libpq cannot parse');
refused({ env => { %good, DB_TIMEOUT => '-1' } }, 'DB_TIMEOUT',
    'DB_TIMEOUT=-1');
refused({ env => \%good, args => [ '-c', '@DIR@/medrec.conf' ],
    files => { 'medrec.conf' => "WORKERS=2\nWORKRES=3\n" } }, 'WORKRES',
    'a config file with an unknown key');
refused({ env => \%good, args => [ '-c', '@DIR@/missing.conf' ] },
    'missing.conf', 'a config file that does not exist');
refused({ env => { %good, JWT_SECRET => 'x' x 31 }, args => [ '--migrate' ] },
    'JWT_SECRET', '--migrate with a short JWT_SECRET');

my $r = medrec(env => \%good, args => [ '--no-such-option' ]);
isnt($r->{code}, 0, 'an unknown option is refused');

###############################################################################
# Where settings come from: environment > .env > config file.

migrated({ env => { %good, JWT_SECRET => 'x' x 32 } },
    'a JWT_SECRET of exactly 32 bytes is taken');
refused({ env => \%good, args => [ '-c', '@DIR@/medrec.conf' ],
    files => { 'medrec.conf' => "# a comment\nWORKERS=abc\n" } }, 'WORKERS',
    'WORKERS=abc in the config file is read');
migrated({ env => { %good, WORKERS => 2 }, args => [ '-c', '@DIR@/medrec.conf' ],
    files => { 'medrec.conf' => "WORKERS=abc\n" } },
    'WORKERS from the environment wins over the config file');
refused({ env => \%good, files => { '.env' => "export WORKERS='abc'\n" } },
    'WORKERS', 'a .env in the working directory is read');
migrated({ env => { %good, WORKERS => 2 }, files => { '.env' => "WORKERS=abc\n" } },
    'the environment wins over .env');
refused({ env => \%good, args => [ '-c', '@DIR@/medrec.conf' ],
    files => { 'medrec.conf' => "WORKERS=2\n", '.env' => "WORKERS=abc\n" } },
    'WORKERS', '.env wins over the config file');
migrated({ env => { WORKERS => 2 }, files => { '.env' =>
    qq{DATABASE_URL="$url"\nJWT_SECRET='$secret'\n} } },
    'DATABASE_URL and JWT_SECRET may come from .env, quoted');
refused({ env => \%good, files => { '.env' => "UNRELATED_TOOL=1\nWORKERS=abc\n" } },
    'WORKERS', 'unknown keys in .env are ignored, known ones still read');

###############################################################################
# Migrations.

my @files = sort grep { /^\d{3,}_.+\.sql$/ }
    map { s{.*/}{}r } glob("$migrations/*.sql");
ok(@files > 0, 'db/migrations has migration files');

my ($name, $murl) = fresh_db();
my %menv = (DATABASE_URL => $murl);
my @runs = map {
	$t->bg(sub { medrec(env => \%menv, args => [ '--migrate' ]) });
} 1 .. 2;
my @res = map { $_->wait(60) // { code => 'no answer', out => '', err => '' } } @runs;
for my $i (0, 1) {
	is($res[$i]{code}, 0, 'concurrent --migrate run ' . ($i + 1) . ' exits 0')
	    or diag("stderr: $res[$i]{err}");
}
my $rows = $t->psql('SELECT version, count(*) FROM schema_migrations '
    . 'GROUP BY version ORDER BY version', db => $name);
is($rows, join("\n", map { "$_|1" } @files),
    'schema_migrations has every file of db/migrations exactly once');
my $applied = join '', map { $_->{err} . $_->{out} } @res;
for my $f (@files) {
	my $n = () = $applied =~ /\b\Q$f\E applied/g;
	is($n, 1, "$f was applied by one of the two runs only");
}
is($t->psql(q{SELECT count(*) FROM pg_tables WHERE tablename = 'users'},
    db => $name), 1, 'the schema is there (users)');

$r = medrec(env => \%menv, args => [ '--migrate' ]);
is($r->{code}, 0, '--migrate again exits 0') or diag("stderr: $r->{err}");
unlike($r->{err} . $r->{out}, qr/ applied\b/, 'and applies nothing');
like($r->{err} . $r->{out}, qr/up to date/, 'and says the schema is up to date');
is($t->psql('SELECT count(*) FROM schema_migrations', db => $name),
    scalar @files, 'schema_migrations still has one row per file');

$r = medrec(env => { DATABASE_URL => $t->database_url_for("no_such_db_$$") },
    args => [ '--migrate' ]);
ok($r->{code} ne '0' && $r->{code} ne 'timed out',
    '--migrate against a missing database fails without hanging')
    or diag("code $r->{code}; stderr: $r->{err}");

done_testing();
