/*
 * What db/ checks before the service starts: that its connection strings
 * parse, that a database reached over TCP is reached with verified TLS
 * (a warning otherwise), and that the role the service logs in as cannot
 * undo row-level security or the audit trail.  And the purge, the other
 * thing the binary does to the database outside a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "conf.h"
#include "db.h"
#include "log.h"

/* The sslmodes that check the server's certificate. */
static int
verified(const char *sslmode)
{
	return sslmode != NULL && (strcmp(sslmode, "verify-full") == 0 ||
	    strcmp(sslmode, "verify-ca") == 0);
}

/* Host names that stay on this machine: a socket directory, loopback. */
static int
local_host(const char *h)
{
	return *h == '\0' || *h == '/' || *h == '@' ||
	    strcmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 ||
	    strcmp(h, "::1") == 0;
}

/*
 * Warns when name's settings reach host over the network without verifying
 * its certificate (sslmode): passwords and patient data would cross the
 * network where a man in the middle can read them.
 */
static void
warn_plain_tcp(const char *name, const char *host, const char *mode)
{
	char		 h[256], *p, *comma;

	if (host == NULL || verified(mode))
		return;
	snprintf(h, sizeof(h), "%s", host);
	for (p = h; p != NULL; p = comma) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma++ = '\0';
		if (!local_host(p)) {
			log_msg(NULL, "warn", "%s reaches the database at %s "
			    "over the network with sslmode=%s: passwords and "
			    "patient data can be read on the way; set "
			    "sslmode=verify-full (README, Security)", name, p,
			    mode != NULL ? mode : "prefer");
			return;
		}
	}
}

/* The same for the parsed options of a URL. */
static void
warn_plain_url(const char *name, PQconninfoOption *o)
{
	const char	*host = NULL, *mode = NULL;

	for (; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "sslmode") == 0)
			mode = o->val;
	}
	warn_plain_tcp(name, host, mode);
}

/*
 * The same for the service's connection without DATABASE_URL: DB_HOST and
 * the others, and what libpq takes from the environment (PGHOST,
 * PGSSLMODE) when they leave it out.
 */
static void
warn_plain_settings(const struct conf *cf)
{
	const char	*host = getenv("PGHOST"), *mode = getenv("PGSSLMODE");
	size_t		 i;

	for (i = 0; cf->db_keys[i] != NULL; i++) {
		if (strcmp(cf->db_keys[i], "host") == 0)
			host = cf->db_values[i];
		else if (strcmp(cf->db_keys[i], "sslmode") == 0)
			mode = cf->db_values[i];
	}
	warn_plain_tcp("DB_HOST", host, mode);
}

int
db_url_check(const char *name, const char *url, char *err, size_t errlen)
{
	PQconninfoOption	*opts;
	char			*msg = NULL;

	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		snprintf(err, errlen, "%s is not a valid connection string: %s",
		    name, msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	warn_plain_url(name, opts);
	PQconninfoFree(opts);
	return 0;
}

/*
 * MIGRATION_DATABASE_URL is checked where it is used, by db_migrate(), in
 * a process of its own: libpq's copies of the owner's password stay there.
 */
int
db_conf_check(const struct conf *cf, char *err, size_t errlen)
{
	if (cf->database_url != NULL)
		return db_url_check("DATABASE_URL", cf->database_url, err,
		    errlen);
	warn_plain_settings(cf);
	return 0;
}

int
db_role_check(const struct conf *c)
{
	static const char sql[] =
	    "SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
	    "  (SELECT string_agg(t.relname, ', ' ORDER BY t.relname) "
	    "   FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace "
	    "   WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') "
	    "   AND pg_has_role(r.oid, t.relowner, 'USAGE')) "
	    "FROM pg_roles r WHERE r.rolname = current_user";
	PGconn		*pg;
	PGresult	*res = NULL;
	const char	*role, *owned;
	int		 rc = 0;

	pg = PQconnectdbParams(c->db_keys, c->db_values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		log_msg(NULL, "warn", "could not check the service's role: %s",
		    PQerrorMessage(pg));
		goto out;
	}
	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_msg(NULL, "warn", "could not check the service's role: %s",
		    PQerrorMessage(pg));
		goto out;
	}
	role = PQgetvalue(res, 0, 0);
	owned = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		log_msg(NULL, "error", "the service logs in as %s, a superuser, "
		    "which row-level security does not hold: give it a role of "
		    "its own in medrec_app (README, Security)", role);
	else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
		log_msg(NULL, "error", "the service logs in as %s, which "
		    "bypasses row-level security: ALTER ROLE %s NOBYPASSRLS",
		    role, role);
	else if (owned != NULL)
		log_msg(NULL, "error", "the service logs in as %s, which owns "
		    "or may act as the owner of %s, and could switch their "
		    "row-level security or audit trigger off: run migrations "
		    "as the owner (MIGRATION_DATABASE_URL) and give the service "
		    "a role of its own in medrec_app (README, Security)", role,
		    owned);
	else
		goto out;
	rc = -1;
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}

int
db_purge(const struct conf *c)
{
	const char	*params[2];
	char		 days[16], audit_days[16];
	PGconn		*pg;
	PGresult	*res = NULL;
	int		 rc = -1;

	(void)snprintf(days, sizeof(days), "%d", c->restore_days);
	(void)snprintf(audit_days, sizeof(audit_days), "%d",
	    c->audit_retention_days);
	params[0] = days;
	params[1] = audit_days;
	pg = PQconnectdbParams(c->db_keys, c->db_values, 1);
	if (PQstatus(pg) != CONNECTION_OK) {
		log_msg(NULL, "error", "purge: cannot connect: %s",
		    PQerrorMessage(pg));
		goto out;
	}
	res = PQexecParams(pg, "SELECT patients, doctors, "
	    "array_to_string(audit_months, ' ') FROM app_purge($1, $2)",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		log_msg(NULL, "error", "purge failed: %s", PQerrorMessage(pg));
		goto out;
	}
	log_msg(NULL, "info", "purge: removed %s patients and %s doctors "
	    "deleted more than %d days ago (RESTORE_DAYS), and the audit "
	    "events of %s (older than %d days: AUDIT_RETENTION_DAYS)",
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), c->restore_days,
	    *PQgetvalue(res, 0, 2) != '\0' ? PQgetvalue(res, 0, 2) :
	    "no month", c->audit_retention_days);
	rc = 0;
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}
