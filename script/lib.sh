# Shared by script/server, script/test and script/bench: Debian packages,
# the build, and the private PostgreSQL cluster.  Sourced, not run.

top=$(cd "$(dirname "$0")/.." && pwd)
var=$top/var
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

say() { printf '%s\n' "$*" >&2; }
die() { died=1; say "$(basename "$0"): $*"; exit 1; }

# No script may end without saying why.  Each failure it expects calls die
# with what went wrong and what to do; for one it did not expect (set -e
# stopping at a command that failed), the exit trap names the step the
# script was at.  Scripts set "doing" as they go, and put what must run
# at exit (stopping what they started) in exit_hook.
doing="starting"
died=
exit_hook=:
on_exit() {
	rc=$?
	trap - EXIT
	$exit_hook
	if [ "$rc" -ne 0 ] && [ -z "$died" ] && [ "$rc" -lt 128 ]; then
		say "$(basename "$0"): stopped while $doing (exit status $rc): \
the command above failed; run 'sh -x $0' to see which"
	fi
	exit "$rc"
}
trap on_exit EXIT

# ensure_packages PKG...: installs what is missing when root, else prints
# the exact command and stops.
ensure_packages() {
	doing="checking the Debian packages"
	missing=
	for p in "$@"; do
		dpkg-query -W -f '${Status}' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		die "missing Debian packages; run as root:
    apt-get update && apt-get install -y$missing"
	fi
	say "installing Debian packages:$missing"
	# A fresh machine's unattended upgrades, or another script, may hold
	# dpkg's lock for a while: wait for it rather than fail.
	apt-get -o DPkg::Lock::Timeout=600 update -qq >&2 &&
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
	    install -y -qq $missing >&2 ||
	    die "apt-get install failed: see its message above"
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
}

# What building and running the service needs.
run_packages="build-essential autoconf automake pkg-config libfcgi-dev
	libpq-dev libcjson-dev libssl-dev libcrypt-dev postgresql
	postgresql-contrib nginx-light curl ca-certificates openssl"

# build [configure flags...]: (re)configures when the flags changed, then
# builds.  Quiet unless something fails.
build() {
	doing="building"
	flags="$*"
	cd "$top"
	if [ ! -f Makefile ] || [ ! -f config.status ] ||
	    [ "$(cat var/configure-flags 2>/dev/null)" != "$flags" ] ||
	    [ configure.ac -nt config.status ] || [ Makefile.am -nt Makefile ]; then
		say "configuring ($flags)"
		autoreconf -fi >var-autoreconf.log 2>&1 ||
		    { cat var-autoreconf.log >&2; die "autoreconf failed"; }
		rm -f var-autoreconf.log
		./configure -q $flags >&2 || die "configure failed"
		mkdir -p var && printf '%s' "$flags" > var/configure-flags ||
		    die "cannot write $var/configure-flags: is the tree writable?"
	fi
	make -s -j"$(nproc)" >&2 || die "build failed"
}

# The user PostgreSQL runs as when we are root: it refuses to run as root.
pg_user=medrec
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$pg_user" -- "$@"
	else
		"$@"
	fi
}
ensure_pg_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id "$pg_user" >/dev/null 2>&1 ||
	    useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$pg_user" ||
	    die "useradd $pg_user failed: create that system user by hand"
}

# include_pg_conf DATADIR: makes the cluster in DATADIR include
# conf/medrec-postgresql.conf (group commit: see that file), the one place
# both script/server's cluster and script/bench's take it from.  One line at
# the end of its postgresql.conf, marked "# medrec", rewritten when the
# checkout has moved, so that a cluster made by an older version, or from
# another checkout, gets the settings at its next start.  The edits run as
# the cluster's user: a file root rewrote would be root's.
include_pg_conf() {
	pgconf=$1/postgresql.conf
	want="include '$top/conf/medrec-postgresql.conf'	# medrec"
	grep -qxF "$want" "$pgconf" && return 0
	as_pg sed -i '/# medrec$/d' "$pgconf" &&
	    printf '%s\n' "$want" | as_pg tee -a "$pgconf" >/dev/null ||
	    die "cannot add the include of conf/medrec-postgresql.conf to $pgconf"
}

# start_cluster DIR: creates (once) and starts a private cluster in DIR,
# reachable only on its socket directory DIR/run, with passwords kept under
# DIR (mode 0600).  As a deployment would have it, the tables belong to
# medrec_owner, who runs the migrations (owner_url, for the pool's
# MIGRATION_DATABASE_URL), and the service logs in as medrec, a member of
# medrec_app that owns nothing and cannot bypass row-level security
# (DATABASE_URL, exported).
start_cluster() {
	pgdir=$1
	ensure_pg_user
	doing="starting the PostgreSQL cluster in $pgdir"
	[ -n "$pgbin" ] || die "PostgreSQL's programs are not under \
/usr/lib/postgresql: apt-get install postgresql"
	mkdir -p "$pgdir/run" || die "cannot make $pgdir/run: is the tree writable?"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$pg_user" "$pgdir" "$pgdir/run"
		as_pg test -x "$pgdir" ||
		    die "user $pg_user cannot reach $pgdir: move the checkout \
out of a private directory, or set DATABASE_URL"
	fi
	chmod 0755 "$pgdir/run"
	for who in password owner_password app_password; do
		[ -s "$pgdir/$who" ] ||
		    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$pgdir/$who")
	done
	if [ ! -f "$pgdir/data/PG_VERSION" ]; then
		say "creating a PostgreSQL cluster in $pgdir/data"
		[ "$(id -u)" -eq 0 ] && chown "$pg_user" "$pgdir/password"
		as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres -E UTF8 \
		    --locale=C.UTF-8 --auth=scram-sha-256 \
		    --pwfile="$pgdir/password" >"$pgdir/initdb.log" 2>&1 ||
		    { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
	fi
	include_pg_conf "$pgdir/data"
	if ! as_pg "$pgbin/pg_ctl" -D "$pgdir/data" status >/dev/null 2>&1; then
		as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" \
		    -w -o "-c listen_addresses='' -c unix_socket_directories='$pgdir/run'" \
		    start >/dev/null || { tail "$pgdir/postgres.log" >&2; die "PostgreSQL did not start"; }
		started_cluster=$pgdir
	else
		# Already running (another script/server): it re-reads
		# conf/medrec-postgresql.conf, which may have changed.
		as_pg "$pgbin/pg_ctl" -D "$pgdir/data" reload >/dev/null ||
		    die "pg_ctl reload failed for the cluster in $pgdir"
	fi
	{ pw=$(cat "$pgdir/password") && owner_pw=$(cat "$pgdir/owner_password") &&
	    app_pw=$(cat "$pgdir/app_password"); } ||
	    die "cannot read the passwords in $pgdir: remove $pgdir to start afresh"
	su_psql() {
		PGPASSWORD=$pw "$pgbin/psql" -h "$pgdir/run" -U postgres -d postgres \
		    -Atq -v ON_ERROR_STOP=1 "$@"
	}
	# Idempotent, so a cluster made by an older version is brought up to
	# date.  The passwords are hex, safe inside quotes.
	# ensure_sql WHAT QUERY DDL: runs DDL unless QUERY finds WHAT.
	ensure_sql() {
		su_psql -c "$2" | grep -q 1 || su_psql -c "$3" ||
		    die "could not create $1 in the cluster of $pgdir \
(see $pgdir/postgres.log); remove $pgdir to start afresh"
	}
	ensure_sql "the role medrec_owner" \
	    "SELECT 1 FROM pg_roles WHERE rolname = 'medrec_owner'" \
	    "CREATE ROLE medrec_owner LOGIN PASSWORD '$owner_pw'"
	ensure_sql "the role medrec_app" \
	    "SELECT 1 FROM pg_roles WHERE rolname = 'medrec_app'" \
	    "CREATE ROLE medrec_app NOLOGIN"
	ensure_sql "the role medrec" \
	    "SELECT 1 FROM pg_roles WHERE rolname = 'medrec'" \
	    "CREATE ROLE medrec LOGIN PASSWORD '$app_pw' IN ROLE medrec_app"
	ensure_sql "the database medrec" \
	    "SELECT 1 FROM pg_database WHERE datname = 'medrec'" \
	    "CREATE DATABASE medrec OWNER medrec_owner"
	DATABASE_URL="postgresql://medrec:$app_pw@/medrec?host=$pgdir/run"
	export DATABASE_URL
	# Not exported: only the pool's command gets it, for its migrations,
	# and the pool forgets it once they are done.
	owner_url="postgresql://medrec_owner:$owner_pw@/medrec?host=$pgdir/run"
}

stop_cluster() {
	[ -n "${started_cluster:-}" ] || return 0
	as_pg "$pgbin/pg_ctl" -D "$started_cluster/data" -m fast stop >/dev/null 2>&1 || :
	started_cluster=
}
