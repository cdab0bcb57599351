package Medrec::Load;

# A steady load of writes for the fault tests (t/08x-faults-*.t), and the
# check of what it left in the database.
#
#	my $load = Medrec::Load->new($t, label => 'kill');
#	$load->start;			# CLIENTS processes, one user each
#	... inflict a fault ...
#	$load->stop;			# the steady phase ends; retries go on
#	$load->wait;			# every client has its answers
#	load_is_sound($load);		# the tests (Medrec::Load::Test)
#
# Each client is a process of its own with its own user.  It sends
# POST /api/patients (a unique name, which is also its Idempotency-Key, one
# key per logical create), PATCH of a patient it created (new age and
# address) and DELETE of one, in a steady stream, until stop() or the
# duration ends.  A request that fails for a reason a client may retry on
# (no connection, a reset, no answer within the client's timeout, 502, 503,
# 504, or 409 "still running") is sent again, the same key and body, until
# it gets an answer or the retry deadline (retry_for seconds after the load
# ended) passes.  Every attempt that did not get a 2xx, and every answer,
# goes to DIR/load-LABEL/client.N as one JSON object per line:
#
#	{"ev":"try","op":"create","key":..,"st":502,"ct":..,"ms":..,"rid":..}
#	{"ev":"ack","op":"create","key":..,"id":..,"st":201,"got":{..},..}
#	{"ev":"ack","op":"delete","id":..,"st":410,"ambiguous":1}
#		(a DELETE retried after an attempt that may have gone through)
#	{"ev":"gaveup","op":"patch","id":..,"want":{..},..}
#	{"ev":"final","op":..,"st":500,..}	(an answer no client expects)
#
# An attempt that took longer than the client's timeout is a hang; HTTP::Tiny
# reports it as 599 "Timed out".  Each request carries its own X-Request-Id
# (ld-LABEL-CLIENT-SEQ-TRY), so an attempt can be found in pool.log.
#
# check() compares the records with the database (psql, as the superuser)
# and returns the figures and, per check, the offenders.  Everything in
# package Medrec::Load is a helper that die()s on failure and never calls
# ok(); the helpers that assert are in Medrec::Load::Test at the end of this
# file: use Medrec::Load qw(load_is_sound ...) imports them.

use strict;
use warnings;

use Exporter ();
use JSON::PP;
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until slurp);

my $JSON = JSON::PP->new->utf8->canonical;
my @GENDERS = qw(male female other unknown);

sub import {
	my ($class, @names) = @_;
	Exporter::export('Medrec::Load::Test', scalar(caller), @names)
	    if @names;
}

# Medrec::Load->new($stack, label => 'x', clients => 4, timeout => 5,
# retry_for => 30, duration => 60, pause => 0.01, max_ops => 3000,
# mix => [create, patch, delete] weights): registers one user per client
# (through the API, before any fault) and returns the load, not started.
# label must be unique per stack: it names the keys, the files and the
# request ids.
sub new {
	my ($class, $t, %o) = @_;
	my $self = bless {
		t		=> $t,
		label		=> $o{label} // 'load',
		clients		=> $o{clients} // 4,
		timeout		=> $o{timeout} // 5,
		retry_for	=> $o{retry_for} // 30,
		duration	=> $o{duration} // 60,
		pause		=> $o{pause} // 0.01,
		max_ops		=> $o{max_ops} // 3000,
		mix		=> $o{mix} // [ 6, 3, 1 ],
	}, $class;
	die "label must be [A-Za-z0-9-]+\n"
	    unless $self->{label} =~ /^[A-Za-z0-9-]{1,20}$/;
	$self->{dir} = $t->dir . "/load-$self->{label}";
	mkdir($self->{dir}) or die "mkdir $self->{dir}: $!\n";
	$self->{users} = [ map { $t->new_user(name => "Load $self->{label} $_") }
	    0 .. $self->{clients} - 1 ];
	return $self;
}

sub label	{ $_[0]{label} }
sub dir		{ $_[0]{dir} }
sub timeout	{ $_[0]{timeout} }
sub users	{ @{ $_[0]{users} } }

# start(): forks the clients; returns at once.
sub start {
	my ($self) = @_;
	die "the load was started already\n" if $self->{started};
	$self->{started} = time;
	$self->{owner} = $$;
	for my $i (0 .. $self->{clients} - 1) {
		my $pid = fork() // die "fork: $!\n";
		if ($pid == 0) {
			$SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
			my $ok = eval { $self->_client($i); 1 };
			print STDERR "load client $i: $@" unless $ok;
			_exit($ok ? 0 : 1);
		}
		push @{ $self->{pids} }, $pid;
	}
	return $self;
}

# stop(): ends the steady phase; the clients finish the request in hand
# (with its retries) and exit.  The time it was called is when the load
# ended, for the retry deadline.
sub stop {
	my ($self) = @_;
	return if $self->{stopped};
	$self->{stopped} = time;
	my $f = "$self->{dir}/stop";
	open(my $fh, '>', "$f.tmp") or die "$f.tmp: $!\n";
	print $fh $self->{stopped};
	close($fh) or die "$f.tmp: $!\n";
	rename("$f.tmp", $f) or die "rename $f: $!\n";
}

# wait($timeout): stop(), then waits for every client (default: the retry
# deadline and 10 s more).  Dies, after killing them, when they do not
# end in time or one of them failed.
sub wait {
	my ($self, $timeout) = @_;
	$self->stop;
	$timeout //= $self->{retry_for} + $self->{timeout} + 10;
	local $?;
	my $pids = $self->{pids} //= [];	# those not reaped yet
	my @bad;
	wait_until($timeout, sub {
		@$pids = grep {
			my $done = waitpid($_, WNOHANG) == $_;
			push @bad, "client $_ exited with status $?"
			    if $done && $?;
			!$done;
		} @$pids;
		return !@$pids;
	}, 0.05);
	if (@$pids) {
		kill('KILL', @$pids);
		waitpid($_, 0) for @$pids;
		@$pids = ();
		die 'load clients still running after ' . $timeout . " s\n";
	}
	die join("\n", @bad) . "\n" if @bad;
	$self->{ended} = time;
}

# A test that died half-way leaves no client behind.
sub DESTROY {
	my ($self) = @_;
	return unless @{ $self->{pids} // [] } && ($self->{owner} // 0) == $$;
	local $?;
	kill('KILL', @{ $self->{pids} });
	waitpid($_, 0) for @{ $self->{pids} };
}

###############################################################################
# A client.

# The time the load ended (stop file, or the duration), or undef.
sub _ended_at {
	my ($self) = @_;
	my $f = "$self->{dir}/stop";
	if (-e $f) {
		my $at = slurp($f);
		return $at + 0 if length $at;
	}
	my $end = $self->{started} + $self->{duration};
	return time >= $end ? $end : undef;
}

sub _client {
	my ($self, $i) = @_;
	my $t = $self->{t};
	my $u = $self->{users}[$i];
	my $file = "$self->{dir}/client.$i";
	open(my $out, '>', $file) or die "$file: $!\n";
	$out->autoflush(1);
	srand($$ ^ int(time * 1000));
	my %c = (self => $self, t => $t, token => $u->{token}, out => $out,
	    i => $i, seq => 0);
	my @live;	# [ id, state ] of this client's patients
	my ($wc, $wp, $wd) = @{ $self->{mix} };
	for my $n (1 .. $self->{max_ops}) {
		last if defined $self->_ended_at;
		my $x = rand($wc + $wp + $wd);
		if (@live < 3 || $x < $wc) {
			my $key = "ld-$self->{label}-$i-$n";
			my %want = (name => $key, age => int(rand(151)),
			    gender => $GENDERS[rand @GENDERS],
			    address => "addr $key");
			my ($how, $r) = _send(\%c, op => 'create', key => $key,
			    method => 'POST', path => '/api/patients',
			    want => \%want);
			push @live, [ $r->{json}{id}, { %want } ]
			    if $how eq 'ack' && $r->{json}{id};
		} elsif ($x < $wc + $wp) {
			my $k = int(rand @live);
			my ($id, $state) = @{ $live[$k] };
			my %want = (age => int(rand(151)),
			    address => "addr $i-$n patched");
			my ($how) = _send(\%c, op => 'patch', id => $id,
			    method => 'PATCH', path => "/api/patients/$id",
			    want => \%want);
			if ($how eq 'ack') {
				%$state = (%$state, %want);
			} else {
				splice(@live, $k, 1);	# uncertain now
			}
		} else {
			my $k = int(rand @live);
			my ($id) = @{ splice(@live, $k, 1) };
			_send(\%c, op => 'delete', id => $id,
			    method => 'DELETE', path => "/api/patients/$id");
		}
		sleep($self->{pause}) if $self->{pause};
	}
	close($out);
}

sub _record {
	my ($c, %ev) = @_;
	print { $c->{out} } $JSON->encode(\%ev), "\n";
}

# One logical write: sent until answered or the retry deadline passes.
# Returns ('ack' | 'gone' | 'final' | 'gaveup', the last response).
sub _send {
	my ($c, %op) = @_;
	my $self = $c->{self};
	my $seq = ++$c->{seq};
	my %base = (op => $op{op});
	$base{key} = $op{key} if defined $op{key};
	$base{id} = $op{id} if defined $op{id};
	my %h;
	$h{'Idempotency-Key'} = $op{key} if defined $op{key};
	my $ambiguous = 0;
	my ($r, $try);
	for ($try = 1; ; $try++) {
		my $rid = "ld-$self->{label}-$c->{i}-$seq-$try";
		my $t0 = time;
		$r = $c->{t}->request($op{method}, $op{path},
		    token => $c->{token}, timeout => $self->{timeout},
		    headers => { %h, 'X-Request-Id' => $rid },
		    $op{want} ? (json => $op{want}) : ());
		my $ms = int((time - $t0) * 1000);
		my $st = $r->{status};
		my %a = (%base, try => $try, rid => $rid, st => $st + 0,
		    ms => $ms, t0 => $t0);
		$a{hang} = 1 if $ms > $self->{timeout} * 1000 ||
		    ($st == 599 && $r->{body} =~ /timed out/i);
		if ($st =~ /^2/) {
			my $g = $r->{json} // {};
			_record($c, ev => 'ack', %a, want => $op{want},
			    got => { map { $_ => $g->{$_} }
			    qw(id name age gender address) },
			    $op{op} eq 'create' ? (loc =>
			    $r->{headers}{location} // '') : (),
			    replayed => ($r->{headers}{'idempotency-replayed'}
			    // '') eq 'true' ? 1 : 0, ambiguous => $ambiguous,
			    $a{hang} ? (hang => 1) : ());
			return ('ack', $r);
		}
		$a{ct} = $r->{headers}{'content-type'} // '';
		$a{err} = substr($r->{body} // '', 0, 200) if $st == 599;
		$a{title} = $r->{json}{title}
		    if ref $r->{json} eq 'HASH' && defined $r->{json}{title};
		_record($c, ev => 'try', %a);
		# A DELETE whose earlier attempt may have gone through.
		if ($st == 410 && $op{op} eq 'delete' && $ambiguous) {
			_record($c, ev => 'ack', %base, st => 410, try => $try,
			    rid => $rid, ms => $ms, t0 => $t0, ambiguous => 1);
			return ('gone', $r);
		}
		my $retry = $st == 599 || $st == 502 || $st == 503 ||
		    $st == 504 || ($st == 409 && $op{op} eq 'create');
		unless ($retry) {
			_record($c, ev => 'final', %a, want => $op{want});
			return ('final', $r);
		}
		$ambiguous = 1;
		my $end = $self->_ended_at;
		if (defined $end && time > $end + $self->{retry_for}) {
			_record($c, ev => 'gaveup', %base, tries => $try,
			    st => $st + 0, want => $op{want});
			return ('gaveup', $r);
		}
		sleep(0.05 + rand(0.1) + ($try > 5 ? 0.2 : 0));
	}
}

###############################################################################
# What the clients saw.

# events(): every record of every client, in order per client, each with
# its client's number (c) and user id (uid).
sub events {
	my ($self) = @_;
	my @ev;
	for my $i (0 .. $self->{clients} - 1) {
		my $file = "$self->{dir}/client.$i";
		open(my $in, '<', $file) or die "$file: $!\n";
		while (my $line = <$in>) {
			my $e = eval { $JSON->decode($line) }
			    or die "$file: a garbled line: $line";
			$e->{c} = $i;
			$e->{uid} = $self->{users}[$i]{id};
			push @ev, $e;
		}
	}
	return @ev;
}

sub _show {
	my ($e) = @_;
	my %e = %$e;
	delete @e{qw(t0 uid)};
	return $JSON->encode(\%e);
}

# check(): the records against the database.  Returns
#   { figures => { name => number },
#     problems => { check => [ offending records, as text ] } }
# The checks (the keys of problems) are fixed, so a test can name each.
sub check {
	my ($self) = @_;
	my $t = $self->{t};
	my @ev = $self->events;
	my @uids = map { $_->{id} } @{ $self->{users} };
	my $in = join(',', @uids);
	my %p = map { $_ => [] } ('acknowledged writes are stored as acknowledged',
	    'acknowledged responses say what was sent',
	    'no key made two records',
	    'every answered create has exactly one record',
	    'every record has its key, and every key its response',
	    'failures are clean 502, 503 or 504 problem documents',
	    'no request hung',
	    'every write got an answer before the retry deadline',
	    'no write got an unexpected answer');
	my %f = (attempts => 0, failed => 0, hangs => 0, retried => 0,
	    replayed => 0);

	# The database, as the superuser (no row security).
	my (%row, %count);
	for (split /\n/, $t->psql("SELECT id, user_id, name, "
	    . "coalesce(age::text, 'null'), coalesce(gender, 'null'), "
	    . "coalesce(address, 'null') FROM patients WHERE user_id IN ($in) "
	    . "AND deleted_at IS NULL")) {
		my ($id, $uid, $name, $age, $gender, $address) = split /\|/, $_, 6;
		$row{$id} = { uid => $uid, name => $name, age => $age,
		    gender => $gender, address => $address };
		$count{"$uid $name"}++;
	}
	my %keyrow;
	for (split /\n/, $t->psql("SELECT user_id, key, "
	    . "coalesce(status::text, 'null'), coalesce(location, 'null') "
	    . "FROM idempotency_keys WHERE user_id IN ($in)")) {
		my ($uid, $key, $st, $loc) = split /\|/, $_, 4;
		$keyrow{"$uid $key"} = { st => $st, loc => $loc };
	}

	# Replay what each client did, per patient.
	my (%pat, %create, %ids);
	for my $e (@ev) {
		my $op = $e->{op};
		if ($e->{ev} eq 'try') {
			$f{attempts}++;
			$f{failed}++;
			$f{"status $e->{st}"}++;
			if ($e->{hang}) {
				$f{hangs}++;
				push @{ $p{'no request hung'} }, _show($e);
			}
			my $clean = ($e->{st} =~ /^50[234]$/ ||
			    ($e->{st} == 409 && $op eq 'create') ||
			    ($e->{st} == 410 && $op eq 'delete' && $e->{try} > 1))
			    && $e->{ct} =~ m{^application/problem\+json\b}i;
			push @{ $p{'failures are clean 502, 503 or 504 problem '
			    . 'documents'} }, _show($e) unless $clean;
			next;
		}
		if ($e->{ev} eq 'gaveup') {
			push @{ $p{'every write got an answer before the retry '
			    . 'deadline'} }, _show($e);
			$f{"gave up"}++;
			if ($op eq 'create') {
				$create{"$e->{uid} $e->{key}"} = 'unanswered';
			} elsif (my $s = $pat{$e->{id}}) {
				# Either outcome is right; the record says which.
				$s->{maybe} = $op eq 'delete' ? 'deleted' :
				    { %{ $s->{state} }, %{ $e->{want} } };
			}
			next;
		}
		if ($e->{ev} eq 'final') {
			$f{attempts}++;
			$f{"status $e->{st}"}++;
			push @{ $p{'no write got an unexpected answer'} }, _show($e);
			$create{"$e->{uid} $e->{key}"} = "final $e->{st}"
			    if $op eq 'create';
			next;
		}
		next unless $e->{ev} eq 'ack';
		$f{retried}++ if $e->{try} > 1;
		if ($e->{st} == 410) {
			# A DELETE retried after an attempt that may have gone
			# through: an answer, not an acknowledgement.
			$f{'deletes found gone on a retry'}++;
			if (my $s = $pat{$e->{id}}) {
				$s->{deleted} = 1;
			}
			next;
		}
		$f{attempts}++;
		$f{"acknowledged $op"}++;
		$f{acknowledged}++;
		$f{replayed}++ if $e->{replayed};
		if ($e->{hang}) {
			$f{hangs}++;
			push @{ $p{'no request hung'} }, _show($e);
		}
		my $got = $e->{got} // {};
		if ($op eq 'create') {
			my $id = $got->{id} // 0;
			my @bad;
			push @bad, 'status is not 201' unless $e->{st} == 201;
			push @bad, "Location is not /api/patients/$id"
			    unless $e->{loc} =~ m{/api/patients/\Q$id\E$};
			push @bad, "id $id was acknowledged for two keys"
			    if $ids{$id}++;
			for my $k (qw(name age gender address)) {
				push @bad, "$k differs" unless
				    ($got->{$k} // 'null') eq $e->{want}{$k};
			}
			push @{ $p{'acknowledged responses say what was sent'} },
			    join('; ', @bad) . ': ' . _show($e) if @bad;
			$create{"$e->{uid} $e->{key}"} = $id;
			$pat{$id} = { uid => $e->{uid}, key => $e->{key},
			    state => { map { $_ => $got->{$_} // 'null' }
			    qw(name age gender address) }, writes => 1 };
		} elsif ($op eq 'patch') {
			my $s = $pat{$e->{id}} or next;
			my @bad;
			push @bad, 'status is not 200' unless $e->{st} == 200;
			for my $k (qw(age address)) {
				push @bad, "$k differs" unless
				    ($got->{$k} // 'null') eq $e->{want}{$k};
			}
			push @{ $p{'acknowledged responses say what was sent'} },
			    join('; ', @bad) . ': ' . _show($e) if @bad;
			$s->{state} = { %{ $s->{state} },
			    map { $_ => $got->{$_} // 'null' } qw(age address) };
			$s->{writes}++;
		} elsif ($op eq 'delete') {
			my $s = $pat{$e->{id}} or next;
			$s->{deleted} = 1;
			$s->{writes}++;
		}
	}

	# Each patient the clients know: as acknowledged, or (after a write
	# that never got its answer) as either outcome.
	my $verified = 0;
	for my $id (sort { $a <=> $b } keys %pat) {
		my $s = $pat{$id};
		my $r = $row{$id};
		my @ok;
		push @ok, $s->{deleted} ? 'deleted' : $s->{state};
		push @ok, $s->{maybe} if $s->{maybe};
		my $match = grep {
			my $want = $_;
			ref $want ? ($r && $r->{uid} == $s->{uid} && !grep {
			    $r->{$_} ne $want->{$_} } qw(name age gender address))
			    : !$r;
		} @ok;
		if ($match) {
			$verified += $s->{writes};
			next;
		}
		push @{ $p{'acknowledged writes are stored as acknowledged'} },
		    "patient $id (key $s->{key}): expected " . join(' or ',
		    map { ref $_ ? $JSON->encode($_) : $_ } @ok) . ', found ' .
		    ($r ? $JSON->encode($r) : 'no record');
	}
	$f{verified} = $verified;

	# Keys and records.
	my %sent;
	for my $k (sort keys %create) {
		my ($uid, $key) = split / /, $k, 2;
		$sent{$k} = 1;
		my $n = $count{$k} // 0;
		my $id = $create{$k};
		if ($n > 1) {
			push @{ $p{'no key made two records'} },
			    "key $key (user $uid): $n records";
		}
		next unless $id =~ /^\d+$/;
		my $want = $pat{$id}{deleted} ? 0 : $pat{$id}{maybe} ? $n : 1;
		push @{ $p{'every answered create has exactly one record'} },
		    "key $key (user $uid, id $id): $n records" if $n != $want;
		my $kr = $keyrow{$k};
		# A deleted record's key keeps only that it is gone (410).
		my $st = $pat{$id}{deleted} ? '410' : '201';
		push @{ $p{'every record has its key, and every key its '
		    . 'response'} }, "key $key (id $id): " . ($kr ?
		    "stored with status $kr->{st}, Location $kr->{loc}" :
		    'not stored') unless $kr && ($kr->{st} eq $st ||
		    $pat{$id}{maybe}) && $kr->{loc} =~ m{/api/patients/$id$};
	}
	my %loc;
	for my $k (sort keys %keyrow) {
		my $kr = $keyrow{$k};
		push @{ $p{'every record has its key, and every key its '
		    . 'response'} }, "key $k: stored without a response"
		    if $kr->{st} eq 'null';
		$loc{$1} = $k if $kr->{loc} =~ m{/api/patients/(\d+)$};
	}
	for my $id (sort { $a <=> $b } keys %row) {
		my $r = $row{$id};
		my $k = "$r->{uid} $r->{name}";
		push @{ $p{'no key made two records'} },
		    "patient $id: a record no client asked for ($r->{name})"
		    unless $sent{$k};
		push @{ $p{'every record has its key, and every key its '
		    . 'response'} }, "patient $id ($r->{name}): no key points "
		    . 'to it' unless ($loc{$id} // '') eq $k;
	}
	$f{creates} = keys %create;
	return { figures => \%f, problems => \%p };
}

# A one-line summary of check()'s figures, for diag().
sub summary {
	my ($self, $res) = @_;
	my $f = $res->{figures};
	my @st = map { "$f->{$_} x " . substr($_, 7) } sort grep { /^status / }
	    keys %$f;
	return sprintf('%s: %d writes acknowledged (%d creates, %d patches, '
	    . '%d deletes), %d verified in the database; %d attempts, %d '
	    . 'failed (%s), %d writes needed retries, %d replays, %d deletes '
	    . 'found gone on a retry, %d hangs, %d unanswered',
	    $self->{label}, $f->{acknowledged} // 0,
	    $f->{'acknowledged create'} // 0,
	    $f->{'acknowledged patch'} // 0,
	    $f->{'acknowledged delete'} // 0, $f->{verified},
	    $f->{attempts}, $f->{failed}, @st ? join(', ', @st) : 'none',
	    $f->{retried}, $f->{replayed},
	    $f->{'deletes found gone on a retry'} // 0, $f->{hangs},
	    $f->{'gave up'} // 0);
}

package Medrec::Load::Test;

# The helpers that assert: each call makes tests with ok() and diag()s the
# evidence; none dies.  Imported through use Medrec::Load qw(...).

use strict;
use warnings;

use Exporter qw(import);
use Test::More;
use Time::HiRes qw(sleep time);

use Medrec::Stack qw(wait_until);

our @EXPORT_OK = qw(load_is_sound health_is_back no_worker_stuck);

sub _offenders {
	my ($name, $list) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @l = @$list;
	my $n = @l;
	@l = (@l[0 .. 14], '... and ' . ($n - 15) . ' more') if $n > 15;
	ok(!$n, $name) or diag(join("\n", @l));
}

# load_is_sound($load, min => 100): the load's records against the
# database, one test per check of Medrec::Load::check(), plus one that
# the load was a load (at least min writes acknowledged).  diag()s the
# figures; returns check()'s result.
sub load_is_sound {
	my ($load, %o) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $res = eval { $load->check };
	unless ($res) {
		fail($load->label . ': the load could be checked');
		diag($@);
		return undef;
	}
	my $label = $load->label;
	my $acked = $res->{figures}{acknowledged} // 0;
	cmp_ok($acked, '>=', $o{min} // 100,
	    "$label: the clients had writes acknowledged throughout");
	for my $check (sort keys %{ $res->{problems} }) {
		_offenders("$label: $check", $res->{problems}{$check});
	}
	diag($load->summary($res));
	return $res;
}

# health_is_back($stack, $fault_ended_at, $name): GET /api/health is 200
# within 5 s of the end of the fault.  Returns the seconds it took.
sub health_is_back {
	my ($t, $since, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $last;
	my $ok = wait_until(5 - (time - $since), sub {
		$last = $t->request(GET => '/api/health', timeout => 2);
		return $last->{status} == 200;
	}, 0.05);
	my $took = time - $since;
	ok($ok && $took <= 5, $name) or diag(sprintf('after %.2f s: status '
	    . '%s %s', $took, $last->{status}, $last->{body}));
	return $took;
}

# no_worker_stuck($stack, $workers, $label): the pool has $workers workers
# and all of them answer: $workers * 3 health requests at once all get
# 200 within 5 s; and no database session of the service is left in a
# transaction or busy.
sub no_worker_stuck {
	my ($t, $n, $label) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @w;
	ok(wait_until(5, sub { (@w = $t->worker_pids) == $n }, 0.05),
	    "$label: the pool has its $n workers") or diag("workers: @w");
	my $t0 = time;
	my @bg = map { $t->bg(sub { $t->request(GET => '/api/health',
	    timeout => 5)->{status} }) } 1 .. $n * 3;
	my @st = map { $_->wait(6) // 'no answer' } @bg;
	my $took = time - $t0;
	my @bad = grep { $_ ne '200' } @st;
	ok(!@bad && $took < 6, "$label: " . ($n * 3) . ' health requests at '
	    . 'once are all 200, so no worker is stuck')
	    or diag(sprintf('in %.2f s: %s', $took, join(' ', @st)));
	my $busy = '';
	ok(wait_until(3, sub {
		$busy = $t->psql(q{SELECT string_agg(pid || ' ' || state
		    || coalesce(' ' || wait_event_type, ''), ', ')
		    FROM pg_stat_activity WHERE application_name = 'medrec'
		    AND state <> 'idle'});
		return $busy eq '';
	}, 0.1), "$label: no database session of the service is left busy "
	    . 'or in a transaction') or diag("sessions: $busy");
	my $sessions = 0;
	ok(wait_until(5, sub {
		$sessions = $t->psql(q{SELECT count(*) FROM pg_stat_activity
		    WHERE application_name = 'medrec'});
		return $sessions <= $n;
	}, 0.1), "$label: the service holds at most $n database sessions")
	    or diag("$sessions sessions");
}

1;
