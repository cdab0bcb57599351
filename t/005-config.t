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
use IO::Socket::INET;
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

###############################################################################
# A seed user's .env, as the seed project's template has it.

{
	# A port that accepts connections but is never answered: a
	# connection attempt would show up as one waiting to be accepted.
	my $db = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 5, Proto => 'tcp') or die "listen: $!";
	$db->blocking(0);
	my $port = $db->sockport;
	my $seed = "PORT=3000\nDB_HOST=127.0.0.1\nDB_PORT=$port\nDB_USER=postgres\n"
	    . "DB_PASSWORD=postgres\nDB_NAME=medical_records\nDB_DIALECT=postgres\n"
	    . "JWT_SECRET=a_very_strong_and_secret_key_for_jwt\n";
	my $r = refused({ env => {}, files => { '.env' => $seed } }, 'JWT_SECRET',
	    "the seed's example JWT_SECRET");
	like($r->{err}, qr/\Amedrec: configuration error: JWT_SECRET [^\n]*openssl rand -base64 48\n\z/,
	    "the seed's example secret: one line, saying how to make a good one")
	    or diag("stderr: $r->{err}");
	ok(!$db->accept, "the seed's example secret: refused before any connection attempt");

	(my $mysql = $seed) =~ s/DB_DIALECT=postgres/DB_DIALECT=mysql/;
	$mysql =~ s/^JWT_SECRET=.*$/JWT_SECRET=$secret/m;
	refused({ env => {}, files => { '.env' => $mysql } }, 'DB_DIALECT',
	    'DB_DIALECT=mysql');
	ok(!$db->accept, 'DB_DIALECT=mysql: refused before any connection attempt');

	# With a good secret, the seed's .env is taken: DB_DIALECT=postgres
	# is accepted, and the next thing to fail is the database, said
	# in one line.
	(my $good_seed = $seed) =~ s/^JWT_SECRET=.*$/JWT_SECRET=$secret/m;
	close($db);	# now nothing listens there: connection refused
	$r = medrec(env => {}, files => { '.env' => $good_seed }, args => [ '--migrate' ]);
	is($r->{code}, 1, "the seed's .env with a good secret gets as far as "
	    . 'connecting') or diag("stderr: $r->{err}");
	unlike($r->{err}, qr/DB_DIALECT|JWT_SECRET/, 'DB_DIALECT=postgres is accepted');
	my @lines = grep { /cannot connect/ } split /\n/, $r->{err};
	is(scalar @lines, 1, "libpq's message about the refused connection is one log line")
	    or diag("stderr: $r->{err}");
	like($lines[0] // '', qr/Connection refused\. Is the server running/,
	    "libpq's hint reads as a sentence, not after ??");
	unlike($r->{err}, qr/\?\?/, 'no ?? in the log');
}

###############################################################################
# Where the migrations are.

migrated({ env => { %good, MIGRATIONS_DIR => undef } },
    "a binary run from the build tree finds the tree's db/migrations");
my $r = medrec(env => { %good, MIGRATIONS_DIR => '/nonexistent/migrations' },
    args => [ '--migrate' ]);
is($r->{code}, 1, 'a MIGRATIONS_DIR that does not exist stops --migrate');
like($r->{err}, qr{cannot open /nonexistent/migrations.*set MIGRATIONS_DIR},
    'and the message says how to point at the migrations')
    or diag("stderr: $r->{err}");

$r = medrec(env => \%good, args => [ '--no-such-option' ]);
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
