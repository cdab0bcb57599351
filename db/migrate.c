/*
 * Schema migrations: db/migrations/NNN_name.sql files applied in order,
 * each once, each in its own transaction together with its row in
 * schema_migrations.  A session advisory lock serializes concurrent starts,
 * so two pools starting at once apply every file exactly once; the second
 * finds them recorded and does nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "conf.h"
#include "db.h"
#include "log.h"

/* Any constant will do; it only has to be the same for every instance. */
#define MIGRATE_LOCK	"7283910211"

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A migration file name: three or more digits, '_', a name, ".sql". */
static int
is_migration(const char *name)
{
	size_t	 n = strlen(name), i;

	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++)
		continue;
	return i >= 3 && name[i] == '_' && n > 4 &&
	    strcmp(name + n - 4, ".sql") == 0;
}

static char *
read_file(const char *path)
{
	FILE	*f;
	char	*s = NULL;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) != NULL) {
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else
			s[n] = '\0';
	}
	fclose(f);
	return s;
}

/* Runs sql; returns 0 when it succeeded, else logs and returns -1. */
static int
run(PGconn *c, const char *sql, const char *what)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(c, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		log_msg(NULL, "error", "migration: %s failed: %s", what,
		    PQerrorMessage(c));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Applies one file unless schema_migrations already has it. */
static int
apply(PGconn *c, const char *dir, const char *name, int *applied)
{
	const char	*params[1] = { name };
	PGresult	*res;
	char		 path[1024], *sql;
	int		 rc = -1;

	res = PQexecParams(c, "SELECT 1 FROM schema_migrations "
	    "WHERE version = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_msg(NULL, "error", "migration: reading schema_migrations "
		    "failed: %s", PQerrorMessage(c));
		PQclear(res);
		return -1;
	}
	if (PQntuples(res) > 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((sql = read_file(path)) == NULL) {
		log_msg(NULL, "error", "migration: cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (run(c, "BEGIN", "BEGIN") == -1)
		goto out;
	if (run(c, sql, name) == -1) {
		(void)run(c, "ROLLBACK", "ROLLBACK");
		goto out;
	}
	res = PQexecParams(c, "INSERT INTO schema_migrations (version) "
	    "VALUES ($1)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(NULL, "error", "migration: recording %s failed: %s",
		    name, PQerrorMessage(c));
		PQclear(res);
		(void)run(c, "ROLLBACK", "ROLLBACK");
		goto out;
	}
	PQclear(res);
	if (run(c, "COMMIT", "COMMIT") == -1)
		goto out;
	log_msg(NULL, "info", "migration %s applied", name);
	(*applied)++;
	rc = 0;
out:
	free(sql);
	return rc;
}

int
db_migrate(const struct conf *cf)
{
	PGconn		*c;
	DIR		*d;
	struct dirent	*de;
	char		**names = NULL, **tmp;
	size_t		 n = 0, i;
	int		 rc = -1, applied = 0;

	if ((d = opendir(cf->migrations_dir)) == NULL) {
		log_msg(NULL, "error", "migration: cannot open %s: %s; set "
		    "MIGRATIONS_DIR to the folder of the NNN_name.sql files "
		    "(db/migrations in the source tree), or run make install",
		    cf->migrations_dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_migration(de->d_name))
			continue;
		if ((tmp = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (tmp[n] = strdup(de->d_name)) == NULL) {
			names = tmp ? tmp : names;
			closedir(d);
			goto out_names;
		}
		names = tmp;
		n++;
	}
	closedir(d);
	if (n > 1)	/* names is NULL when the folder has no migration */
		qsort(names, n, sizeof(*names), cmp_names);

	if (cf->migration_url != NULL) {
		/* The tables' owner, when the service's role is not. */
		const char *keys[] = { "dbname", "application_name", NULL };
		const char *values[] = { cf->migration_url, "medrec-migrate",
		    NULL };
		char	    err[512];

		if (db_url_check("MIGRATION_DATABASE_URL", cf->migration_url,
		    err, sizeof(err)) == -1) {
			log_msg(NULL, "error", "migration: %s", err);
			goto out_names;
		}
		c = PQconnectdbParams(keys, values, 1);
	} else
		c = PQconnectdbParams(cf->db_keys, cf->db_values, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		log_msg(NULL, "error", "migration: cannot connect: %s",
		    PQerrorMessage(c));
		goto out_conn;
	}
	/* Quiet the NOTICEs of IF NOT EXISTS. */
	if (run(c, "SET client_min_messages = warning", "set-up") == -1 ||
	    run(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", "lock") == -1)
		goto out_conn;
	if (run(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, "
	    "applied_at timestamptz NOT NULL DEFAULT now())",
	    "creating schema_migrations") == -1)
		goto out_conn;
	for (i = 0; i < n; i++)
		if (apply(c, cf->migrations_dir, names[i], &applied) == -1)
			goto out_conn;
	/* The audit trail's partitions for this month and the next ones,
	 * should the daily purge not have run (migration 008, which a
	 * folder of older migrations lacks). */
	if (run(c, "DO $$ BEGIN "
	    "IF to_regprocedure('app_audit_partitions(integer)') IS NOT NULL "
	    "THEN PERFORM app_audit_partitions(); END IF; END $$",
	    "making the audit trail's next months") == -1)
		goto out_conn;
	rc = 0;
	if (applied == 0)
		log_msg(NULL, "info", "migrations: schema is up to date");
out_conn:
	/* Closing the session releases the advisory lock. */
	PQfinish(c);
out_names:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
