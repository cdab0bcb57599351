/*
 * Configuration loading: defaults, the config file, .env and the
 * environment in that order of precedence, the seed project's names, and a
 * clear error naming the setting for every bad value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "tap.h"

#define SECRET	"0123456789abcdef0123456789abcdef"

static char	 dir[] = "/tmp/medrec-test-conf.XXXXXX";

static void
write_file(const char *name, const char *text)
{
	FILE	*f = fopen(name, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(name);
		exit(1);
	}
}

static void
clear_env(void)
{
	static const char *const names[] = { "LISTEN", "WORKERS",
	    "JWT_SECRET", "DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER",
	    "DB_PASSWORD", "DB_NAME", "SOCKET_MODE", "LOG_FORMAT",
	    "BCRYPT_COST", "DB_TIMEOUT", "MAX_REQUESTS", "JWT_TTL", NULL };
	size_t	 i;

	for (i = 0; names[i] != NULL; i++)
		unsetenv(names[i]);
	unlink(".env");
}

/* The index of key among the libpq parameters, or -1. */
static int
db_index(const struct conf *c, const char *key)
{
	int	 i;

	for (i = 0; c->db_keys[i] != NULL; i++)
		if (strcmp(c->db_keys[i], key) == 0)
			return i;
	return -1;
}

/* The libpq value for key, or NULL. */
static const char *
db_param(const struct conf *c, const char *key)
{
	size_t	 i;

	for (i = 0; c->db_keys[i] != NULL; i++)
		if (strcmp(c->db_keys[i], key) == 0)
			return c->db_values[i];
	return NULL;
}

/*
 * Loads and checks as the binary does (conf_load, then the database's
 * db_conf_check), and expects failure with an error mentioning want.
 */
static void
fails(const char *file, const char *want, const char *what)
{
	struct conf	 c;
	char		 err[512] = "";
	int		 rc;

	if ((rc = conf_load(&c, file, 1, err, sizeof(err))) == 0) {
		rc = db_conf_check(&c, err, sizeof(err));
		conf_wipe(&c);
	}
	ok(rc == -1 && strstr(err, want) != NULL, "%s is refused naming %s",
	    what, want);
	if (rc != -1 || strstr(err, want) == NULL)
		printf("#   error was: %s\n", err);
}

int
main(void)
{
	struct conf	 c;
	char		 err[512];
	int		 rc;

	if (mkdtemp(dir) == NULL || chdir(dir) == -1) {
		perror(dir);
		return 1;
	}
	clear_env();

	setenv("JWT_SECRET", SECRET, 1);
	rc = conf_load(&c, NULL, 1, err, sizeof(err));
	is_int(rc, 0, "defaults load with only a secret");
	is_int(c.backlog, 1024, "the listen backlog defaults to 1024");
	is_int(c.bcrypt_cost, 12, "bcrypt cost defaults to 12");
	is_int(c.jwt_ttl, 3600, "tokens live an hour by default");
	ok(c.workers >= 1, "a default worker count is chosen");
	is_int(c.jwt_secret_len, strlen(SECRET), "the secret is kept");
	is_int(c.throttle_pair_max, 5, "5 failures per email and address");
	is_int(c.throttle_addr_max, 20, "20 emails per address");
	is_int(c.throttle_account_max, 100, "100 failures per account");
	conf_wipe(&c);

	setenv("DB_HOST", "db.example.org", 1);
	setenv("DB_PORT", "6543", 1);
	setenv("DB_USER", "clinic", 1);
	setenv("DB_PASSWORD", "pw with spaces'", 1);
	setenv("DB_NAME", "records", 1);
	rc = conf_load(&c, NULL, 1, err, sizeof(err));
	is_int(rc, 0, "the seed project's DB_* names load");
	is_str(db_param(&c, "host"), "db.example.org", "DB_HOST is the host");
	is_str(db_param(&c, "port"), "6543", "DB_PORT is the port");
	is_str(db_param(&c, "user"), "clinic", "DB_USER is the user");
	is_str(db_param(&c, "password"), "pw with spaces'",
	    "DB_PASSWORD is passed without quoting trouble");
	is_str(db_param(&c, "dbname"), "records", "DB_NAME is the database");
	conf_wipe(&c);
	clear_env();
	setenv("JWT_SECRET", SECRET, 1);

	setenv("DATABASE_URL", "postgresql://u@h/db", 1);
	rc = conf_load(&c, NULL, 1, err, sizeof(err));
	is_int(rc, 0, "DATABASE_URL loads");
	is_str(db_param(&c, "dbname"), "postgresql://u@h/db",
	    "DATABASE_URL is handed to libpq to expand");
	conf_wipe(&c);
	/* The example config sets DB_HOST=localhost: an operator's
	 * DATABASE_URL must still say where the database is.  libpq lets
	 * the expanded URL override only the entries before it. */
	setenv("DB_HOST", "localhost", 1);
	setenv("DB_NAME", "other", 1);
	rc = conf_load(&c, NULL, 1, err, sizeof(err));
	is_int(rc, 0, "DATABASE_URL and DB_HOST load together");
	ok(db_index(&c, "host") < db_index(&c, "dbname"),
	    "DB_HOST comes before DATABASE_URL, which overrides it");
	is_str(db_param(&c, "dbname"), "postgresql://u@h/db",
	    "  and DB_NAME does not replace the URL");
	conf_wipe(&c);
	unsetenv("DB_HOST");
	unsetenv("DB_NAME");
	setenv("DATABASE_URL", "host='unterminated", 1);
	fails(NULL, "DATABASE_URL", "a malformed DATABASE_URL");
	unsetenv("DATABASE_URL");

	setenv("WORKERS", "abc", 1);
	fails(NULL, "WORKERS", "WORKERS=abc");
	setenv("WORKERS", "0", 1);
	fails(NULL, "WORKERS", "WORKERS=0");
	setenv("WORKERS", "3x", 1);
	fails(NULL, "WORKERS", "WORKERS=3x");
	unsetenv("WORKERS");
	setenv("SOCKET_MODE", "0999", 1);
	fails(NULL, "SOCKET_MODE", "SOCKET_MODE=0999");
	unsetenv("SOCKET_MODE");
	setenv("LOG_FORMAT", "xml", 1);
	fails(NULL, "LOG_FORMAT", "LOG_FORMAT=xml");
	unsetenv("LOG_FORMAT");
	setenv("BCRYPT_COST", "3", 1);
	fails(NULL, "BCRYPT_COST", "BCRYPT_COST below 4");
	unsetenv("BCRYPT_COST");

	setenv("JWT_SECRET", "short", 1);
	fails(NULL, "JWT_SECRET", "a short JWT_SECRET");
	setenv("JWT_SECRET", CONF_SECRET_EXAMPLE, 1);
	fails(NULL, "JWT_SECRET", "the example JWT_SECRET");
	setenv("JWT_SECRET", CONF_SECRET_SEED, 1);
	fails(NULL, "JWT_SECRET", "the seed project's example JWT_SECRET");
	unsetenv("JWT_SECRET");
	fails(NULL, "JWT_SECRET", "a missing JWT_SECRET");
	rc = conf_load(&c, NULL, 0, err, sizeof(err));
	is_int(rc, 0, "no secret is needed to migrate");
	conf_wipe(&c);

	/* Precedence: environment > .env > config file. */
	write_file("medrec.conf", "# a comment\n"
	    "WORKERS=3\nDB_TIMEOUT=7\nMAX_REQUESTS=11\n"
	    "export JWT_SECRET=\"" SECRET "\"\n");
	write_file(".env", "DB_TIMEOUT=8\nMAX_REQUESTS='12'\n"
	    "NODE_ENV=production\n");
	setenv("MAX_REQUESTS", "13", 1);
	rc = conf_load(&c, "medrec.conf", 1, err, sizeof(err));
	is_int(rc, 0, "a config file, .env and the environment load together");
	is_int(c.workers, 3, "the config file sets what nothing overrides");
	is_int(c.db_timeout, 8, ".env wins over the config file");
	is_int(c.max_requests, 13, "the environment wins over .env");
	is_int(c.jwt_secret_len, strlen(SECRET),
	    "quotes and export are taken as a shell would");
	conf_wipe(&c);
	unsetenv("MAX_REQUESTS");

	write_file("typo.conf", "WORKRES=3\n");
	fails("typo.conf", "WORKRES", "an unknown key in the config file");
	write_file("bad.conf", "just some words\n");
	fails("bad.conf", "bad.conf:1", "a line without '='");
	fails("missing.conf", "missing.conf", "a config file that is missing");

	unlink("medrec.conf");
	unlink("typo.conf");
	unlink("bad.conf");
	unlink(".env");
	if (chdir("/") == -1)
		perror("/");
	rmdir(dir);
	return tap_done();
}
