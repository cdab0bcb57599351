/*
 * Configuration loading.  A config file and .env share one syntax, the one
 * dotenv files already use: KEY=value lines, '#' comments, an optional
 * "export " prefix, and values optionally in single or double quotes.  An
 * unknown key in the config file is an error (a typo must not silently fall
 * back to a default); .env files are shared with other tools, so unknown keys
 * there are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#ifndef MIGRATIONS_DIR
#define MIGRATIONS_DIR "db/migrations"
#endif

/* Every setting the service knows, so a typo in the config file is caught. */
static const char *const known[] = {
	"LISTEN", "SOCKET_MODE", "LISTEN_BACKLOG", "WORKERS", "MAX_REQUESTS",
	"DB_TIMEOUT", "DB_PREPARE", "AUDIT_READ_SYNC", "AUTO_MIGRATE",
	"MIGRATIONS_DIR", "PORT", "DATABASE_URL", "MIGRATION_DATABASE_URL", "DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD",
	"DB_NAME", "JWT_SECRET", "JWT_TTL", "BCRYPT_COST",
	"LOGIN_MAX_FAILURES", "LOGIN_MAX_EMAILS_PER_ADDRESS", "LOGIN_WINDOW",
	"LOGIN_MAX_ACCOUNT_FAILURES", "LOGIN_ACCOUNT_WINDOW", "LOG_FORMAT",
	"CORS_ORIGINS", "RUN_AS_USER", "DB_DIALECT", "BCRYPT_SHARE",
	"REGISTER_MAX_PER_ADDRESS", "REGISTER_WINDOW", "FCGI_WEB_SERVER_ADDRS",
	"FCGI_READ_TIMEOUT", "RESTORE_DAYS", "AUDIT_RETENTION_DAYS",
	"PUBLIC_CACHE_KB",
	NULL
};

/* How to make a good secret, for every message that refuses one. */
#define SECRET_HOWTO	"make one with: openssl rand -base64 48"

struct kv {
	char	*key;
	char	*value;
};

struct kvlist {
	struct kv	*v;
	size_t		 n;
};

static struct kvlist	 from_file, from_dotenv;

static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
is_known(const char *key)
{
	size_t	 i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(known[i], key) == 0)
			return 1;
	return 0;
}

static char *
trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Reads a KEY=value file into list.  strict makes unknown keys an error.
 * A file that does not exist is an error only when must_exist.
 */
static int
read_kv(const char *path, int must_exist, int strict, struct kvlist *list,
    char *err, size_t errlen)
{
	FILE		*f;
	struct kv	*grown;
	char		 line[4096], *p, *eq, *key, *val, *k, *v;
	size_t		 lineno = 0, n;
	int		 rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return fail(err, errlen, "cannot read %s: %s", path,
		    strerror(errno));
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		p = trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if (strncmp(p, "export ", 7) == 0)
			p = trim(p + 7);
		if ((eq = strchr(p, '=')) == NULL) {
			rc = fail(err, errlen, "%s:%zu: expected KEY=value",
			    path, lineno);
			break;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		n = strlen(val);
		if (n >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[n - 1] == val[0]) {
			val[n - 1] = '\0';
			val++;
		}
		if (strict && !is_known(key)) {
			rc = fail(err, errlen, "%s:%zu: unknown setting %s",
			    path, lineno, key);
			break;
		}
		/* The list keeps what it had when realloc fails, and a pair
		 * is added only whole, so kv_wipe() frees everything. */
		if ((grown = realloc(list->v, (list->n + 1) *
		    sizeof(*list->v))) == NULL) {
			rc = fail(err, errlen, "out of memory");
			break;
		}
		list->v = grown;
		if ((k = strdup(key)) == NULL || (v = strdup(val)) == NULL) {
			free(k);
			rc = fail(err, errlen, "out of memory");
			break;
		}
		list->v[list->n++] = (struct kv){ k, v };
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return rc;
}

static const char *
kv_get(const struct kvlist *list, const char *key)
{
	size_t	 i;

	/* The last assignment wins, as in a shell. */
	for (i = list->n; i > 0; i--)
		if (strcmp(list->v[i - 1].key, key) == 0)
			return list->v[i - 1].value;
	return NULL;
}

/* The value of key by precedence environment > .env > config file. */
static const char *
get(const char *key)
{
	const char	*v;

	if ((v = getenv(key)) != NULL)
		return v;
	if ((v = kv_get(&from_dotenv, key)) != NULL)
		return v;
	return kv_get(&from_file, key);
}

static int
get_int(const char *key, long min, long max, long def, long *out,
    char *err, size_t errlen)
{
	const char	*v;
	char		*end;
	long		 n;

	if ((v = get(key)) == NULL || *v == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		return fail(err, errlen,
		    "%s must be an integer from %ld to %ld, not \"%s\"",
		    key, min, max, v);
	*out = n;
	return 0;
}

static int
get_str(const char *key, const char *def, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char	*v;

	if ((v = get(key)) == NULL || *v == '\0')
		v = def;
	if (strlen(v) >= outlen)
		return fail(err, errlen, "%s is longer than %zu bytes",
		    key, outlen - 1);
	strcpy(out, v);
	return 0;
}

static int
default_workers(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	/*
	 * A worker spends most of a request waiting on PostgreSQL, so more
	 * workers than cores keep the CPU busy; see README "Performance".
	 */
	if (n < 1)
		n = 1;
	return (int)(n * 4 < 64 ? n * 4 : 64);
}

/*
 * The migrations of the source tree when this binary runs from a build
 * tree (fcgi-app/medrec, next to db/migrations), so that a developer's
 * build never applies an older installed copy; else the installed ones.
 */
static void
default_migrations(char *out, size_t outlen)
{
	char	 exe[PATH_MAX], tree[PATH_MAX + 16], *slash;
	ssize_t	 n;

	snprintf(out, outlen, "%s", MIGRATIONS_DIR);
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	/* TREE/fcgi-app/medrec: cut the last two parts, and look. */
	if ((slash = strrchr(exe, '/')) == NULL)
		return;
	*slash = '\0';
	if ((slash = strrchr(exe, '/')) == NULL ||
	    strcmp(slash, "/fcgi-app") != 0)
		return;
	*slash = '\0';
	snprintf(tree, sizeof(tree), "%s/db/migrations", exe);
	if (strlen(tree) < outlen && access(tree, R_OK | X_OK) == 0)
		snprintf(out, outlen, "%s", tree);
}

static int
add_db_param(struct conf *c, size_t *n, const char *key, const char *value)
{
	char	*v;

	if (*n + 1 >= CONF_DB_PARAMS || (v = strdup(value)) == NULL)
		return -1;
	c->db_keys[*n] = key;
	c->db_values[*n] = v;
	(*n)++;
	c->db_keys[*n] = NULL;
	c->db_values[*n] = NULL;
	return 0;
}

/*
 * libpq connection parameters.  DATABASE_URL (a URI or key=value string) is
 * passed as dbname with expand_dbname, so libpq parses it; DB_* fill in what
 * it does not say.  Passing arrays avoids quoting values into a string.
 * Whether libpq can parse the URLs is db_conf_check()'s to say: only db/
 * knows libpq.
 *
 * Order matters: libpq lets what the expanded URL says override the
 * entries before it, and the entries after it override the URL.  So DB_*
 * go first; after the URL, they took the place of its host (the example
 * config's DB_HOST=localhost beat an operator's DATABASE_URL).
 */
static int
load_db(struct conf *c, char *err, size_t errlen)
{
	static const char *const seed[][2] = {
		{ "DB_HOST", "host" }, { "DB_PORT", "port" },
		{ "DB_USER", "user" }, { "DB_PASSWORD", "password" },
		{ "DB_NAME", "dbname" },
	};
	const char		*url, *v;
	char			 timeout[16], user_timeout[16];
	size_t			 i, n = 0;

	c->db_keys[0] = NULL;
	url = get("DATABASE_URL");
	for (i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
		if ((v = get(seed[i][0])) == NULL || *v == '\0')
			continue;
		/* libpq expands only the first dbname: the URL's. */
		if (url != NULL && *url != '\0' &&
		    strcmp(seed[i][1], "dbname") == 0)
			continue;
		if (add_db_param(c, &n, seed[i][1], v) == -1)
			goto oom;
	}
	if (url != NULL && *url != '\0') {
		if (add_db_param(c, &n, "dbname", url) == -1)
			goto oom;
		c->database_url = c->db_values[n - 1];
	}
	if ((url = get("MIGRATION_DATABASE_URL")) != NULL && *url != '\0' &&
	    (c->migration_url = strdup(url)) == NULL)
		goto oom;
	snprintf(timeout, sizeof(timeout), "%d", c->db_timeout);
	snprintf(user_timeout, sizeof(user_timeout), "%d",
	    c->db_timeout * 1000);
	/* A database host that vanishes without a reset must not hold a
	 * worker either: TCP gives up after DB_TIMEOUT too. */
	if (add_db_param(c, &n, "connect_timeout", timeout) == -1 ||
	    add_db_param(c, &n, "tcp_user_timeout", user_timeout) == -1 ||
	    add_db_param(c, &n, "keepalives_idle", "30") == -1 ||
	    add_db_param(c, &n, "application_name", "medrec") == -1)
		goto oom;
	return 0;
oom:
	return fail(err, errlen, "out of memory");
}

/*
 * CORS_ORIGINS: a comma- or space-separated list of origins such as
 * https://app.example.org or http://localhost:3000, matched exactly.  No
 * wildcard: an operator names every front end that may call the API.
 */
static int
load_cors(struct conf *c, char *err, size_t errlen)
{
	const char	*v, *p, *e, *host;
	size_t		 n;

	if ((v = get("CORS_ORIGINS")) == NULL)
		return 0;
	for (p = v; *p != '\0'; p = e) {
		while (*p == ',' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ',' && *e != ' '; e++)
			continue;
		n = (size_t)(e - p);
		host = strncmp(p, "https://", 8) == 0 ? p + 8 :
		    strncmp(p, "http://", 7) == 0 ? p + 7 : NULL;
		if (host == NULL || host >= e || memchr(host, '/', e - host) ||
		    memchr(p, '*', n))
			return fail(err, errlen, "CORS_ORIGINS: \"%.*s\" is not "
			    "an origin like https://app.example.org", (int)n, p);
		if (c->ncors_origins == CONF_CORS_MAX)
			return fail(err, errlen, "CORS_ORIGINS lists more than "
			    "%d origins", CONF_CORS_MAX);
		if ((c->cors_origins[c->ncors_origins] = strndup(p, n)) == NULL)
			return fail(err, errlen, "out of memory");
		c->ncors_origins++;
	}
	return 0;
}

/* The settings that are ints of struct conf, with their ranges. */
#define DEFAULT_WORKERS	(-1)	/* def: four per core, default_workers() */
static const struct {
	const char	*key;
	long		 min, max, def;
	size_t		 off;
} ints[] = {
	{ "LISTEN_BACKLOG", 1, 65535, 1024, offsetof(struct conf, backlog) },
	{ "WORKERS", 1, 1024, DEFAULT_WORKERS, offsetof(struct conf, workers) },
	{ "DB_TIMEOUT", 1, 3600, 5, offsetof(struct conf, db_timeout) },
	{ "AUTO_MIGRATE", 0, 1, 1, offsetof(struct conf, auto_migrate) },
	{ "DB_PREPARE", 0, 1, 1, offsetof(struct conf, db_prepare) },
	{ "PORT", 1, 65535, 8080, offsetof(struct conf, port) },
	{ "JWT_TTL", 60, 86400 * 30, 3600, offsetof(struct conf, jwt_ttl) },
	{ "BCRYPT_COST", 4, 31, 12, offsetof(struct conf, bcrypt_cost) },
	{ "BCRYPT_SHARE", 1, 100, 20, offsetof(struct conf, bcrypt_share) },
	{ "REGISTER_MAX_PER_ADDRESS", 1, 1000000, 10,
	    offsetof(struct conf, register_max) },
	{ "REGISTER_WINDOW", 1, 86400 * 7, 3600,
	    offsetof(struct conf, register_window) },
	{ "FCGI_READ_TIMEOUT", 1, 3600, 10,
	    offsetof(struct conf, read_timeout) },
	{ "RESTORE_DAYS", 1, 3650, 30, offsetof(struct conf, restore_days) },
	{ "AUDIT_RETENTION_DAYS", 31, 36500, 2190,
	    offsetof(struct conf, audit_retention_days) },
	{ "PUBLIC_CACHE_KB", 0, 1048576, 1024,
	    offsetof(struct conf, public_cache_kb) },
	{ "LOGIN_MAX_FAILURES", 1, 1000000, 5,
	    offsetof(struct conf, throttle_pair_max) },
	{ "LOGIN_MAX_EMAILS_PER_ADDRESS", 1, 1000000, 20,
	    offsetof(struct conf, throttle_addr_max) },
	{ "LOGIN_WINDOW", 1, 86400 * 7, 900,
	    offsetof(struct conf, throttle_window) },
	{ "LOGIN_MAX_ACCOUNT_FAILURES", 1, 1000000, 100,
	    offsetof(struct conf, throttle_account_max) },
	{ "LOGIN_ACCOUNT_WINDOW", 1, 86400 * 7, 3600,
	    offsetof(struct conf, throttle_account_window) },
};

static int
load_all(struct conf *c, const char *file, int need_secret, char *err,
    size_t errlen)
{
	const char	*v;
	char		 mode[16], migrations[sizeof(c->migrations_dir)];
	long		 n;
	char		*end;
	size_t		 i;

	memset(c, 0, sizeof(*c));
	if (file != NULL &&
	    read_kv(file, 1, 1, &from_file, err, errlen) == -1)
		return -1;
	if (read_kv(".env", 0, 0, &from_dotenv, err, errlen) == -1)
		return -1;

	/* First, so that a seed user's .env, which holds the example,
	 * hears about it before anything else. */
	if ((v = get("JWT_SECRET")) == NULL || *v == '\0') {
		if (need_secret)
			return fail(err, errlen, "JWT_SECRET is not set: "
			    "it needs at least %d random bytes; "
			    SECRET_HOWTO, CONF_SECRET_MIN);
	} else if (strcmp(v, CONF_SECRET_EXAMPLE) == 0 ||
	    strcmp(v, CONF_SECRET_SEED) == 0) {
		return fail(err, errlen, "JWT_SECRET is a published example, "
		    "so anyone could sign tokens: " SECRET_HOWTO);
	} else if (strlen(v) < CONF_SECRET_MIN) {
		return fail(err, errlen, "JWT_SECRET is shorter than %d bytes: "
		    SECRET_HOWTO, CONF_SECRET_MIN);
	} else if (strlen(v) > CONF_SECRET_MAX) {
		return fail(err, errlen, "JWT_SECRET is longer than %d bytes",
		    CONF_SECRET_MAX);
	} else {
		c->jwt_secret_len = strlen(v);
		memcpy(c->jwt_secret, v, c->jwt_secret_len);
	}
	/* The seed's Sequelize setting: only its PostgreSQL value makes
	 * sense here, and any other says the .env is for another database. */
	if ((v = get("DB_DIALECT")) != NULL && *v != '\0' &&
	    strcmp(v, "postgres") != 0)
		return fail(err, errlen, "DB_DIALECT is \"%s\", but medrec "
		    "runs on PostgreSQL only: set DB_DIALECT=postgres or "
		    "remove it", v);

	if (get_str("LISTEN", "var/run/medrec.sock", c->listen,
	    sizeof(c->listen), err, errlen) == -1)
		return -1;
	if (get_str("SOCKET_MODE", "0660", mode, sizeof(mode), err,
	    errlen) == -1)
		return -1;
	n = strtol(mode, &end, 8);
	if (*end != '\0' || n < 0 || n > 0777)
		return fail(err, errlen, "SOCKET_MODE must be an octal mode "
		    "like 0660, not \"%s\"", mode);
	c->socket_mode = (int)n;
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (get_int(ints[i].key, ints[i].min, ints[i].max,
		    ints[i].def == DEFAULT_WORKERS ? default_workers() :
		    ints[i].def, &n, err, errlen) == -1)
			return -1;
		*(int *)(void *)((char *)c + ints[i].off) = (int)n;
	}
	if (get_int("MAX_REQUESTS", 0, LONG_MAX, 100000, &c->max_requests,
	    err, errlen) == -1)
		return -1;
	v = get("AUDIT_READ_SYNC");
	if (v == NULL || *v == '\0' || strcmp(v, "on") == 0)
		c->audit_read_sync = 1;
	else if (strcmp(v, "off") == 0)
		c->audit_read_sync = 0;
	else
		return fail(err, errlen, "AUDIT_READ_SYNC must be on or off, "
		    "not \"%s\"", v);
	default_migrations(migrations, sizeof(migrations));
	if (get_str("MIGRATIONS_DIR", migrations, c->migrations_dir,
	    sizeof(c->migrations_dir), err, errlen) == -1)
		return -1;

	v = get("LOG_FORMAT");
	if (v == NULL || *v == '\0' || strcmp(v, "text") == 0)
		c->log_format = LOG_TEXT;
	else if (strcmp(v, "json") == 0)
		c->log_format = LOG_JSON;
	else
		return fail(err, errlen, "LOG_FORMAT must be text or json, "
		    "not \"%s\"", v);

	if (load_cors(c, err, errlen) == -1)
		return -1;
	if (get_str("RUN_AS_USER", "", c->user, sizeof(c->user), err, errlen) == -1)
		return -1;
	if (get_str("FCGI_WEB_SERVER_ADDRS", "", c->web_servers,
	    sizeof(c->web_servers), err, errlen) == -1)
		return -1;

	return load_db(c, err, errlen);
}

static void
kv_wipe(struct kvlist *list)
{
	size_t	 i;

	for (i = 0; i < list->n; i++) {
		explicit_bzero(list->v[i].value, strlen(list->v[i].value));
		free(list->v[i].key);
		free(list->v[i].value);
	}
	free(list->v);
	list->v = NULL;
	list->n = 0;
}

int
conf_load(struct conf *c, const char *file, int need_secret, char *err,
    size_t errlen)
{
	int	 rc;

	rc = load_all(c, file, need_secret, err, errlen);
	/* The raw files may hold the secret and password: keep no copy. */
	kv_wipe(&from_file);
	kv_wipe(&from_dotenv);
	if (rc == -1)
		conf_wipe(c);	/* and nothing half-loaded either */
	return rc;
}

void
conf_forget_migration(struct conf *c)
{
	char	**e;
	char	*eq;

	if (c->migration_url != NULL) {
		explicit_bzero(c->migration_url, strlen(c->migration_url));
		free(c->migration_url);
		c->migration_url = NULL;
	}
	/* The environment's copy too: /proc shows a process's initial
	 * environment, so its bytes are wiped where they are. */
	for (e = environ; e != NULL && *e != NULL; e++)
		if (strncmp(*e, "MIGRATION_DATABASE_URL=", 23) == 0 &&
		    (eq = strchr(*e, '=')) != NULL)
			explicit_bzero(eq + 1, strlen(eq + 1));
	(void)unsetenv("MIGRATION_DATABASE_URL");
}

void
conf_wipe(struct conf *c)
{
	size_t	 i;

	explicit_bzero(c->jwt_secret, sizeof(c->jwt_secret));
	for (i = 0; i < c->ncors_origins; i++)
		free(c->cors_origins[i]);
	c->ncors_origins = 0;
	for (i = 0; c->db_keys[i] != NULL; i++) {
		explicit_bzero((char *)c->db_values[i],
		    strlen(c->db_values[i]));
		free((char *)c->db_values[i]);
	}
	c->db_keys[0] = NULL;
	c->database_url = NULL;
	conf_forget_migration(c);
}
