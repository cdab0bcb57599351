/*
 * The service's settings.  They come from a config file, then a .env file in
 * the working directory, then the environment, each overriding the one
 * before, under the names the seed project's users already have (PORT,
 * DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME, JWT_SECRET) plus
 * DATABASE_URL and the pool's own.  Everything is checked once at start: a
 * bad value stops the service with a message naming the setting.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>

#include "log.h"

#define CONF_SECRET_MIN		32
#define CONF_SECRET_MAX		512
/*
 * Published example secrets, refused at start: the one shipped in
 * conf/medrec.conf.example, and the seed project's .env template's.
 */
#define CONF_SECRET_EXAMPLE	"change-me-to-a-random-string-of-at-least-32-bytes"
#define CONF_SECRET_SEED	"a_very_strong_and_secret_key_for_jwt"

#define CONF_CORS_MAX		16
#define CONF_DB_PARAMS		16	/* libpq keywords we pass, + NULL */

struct conf {
	char		 listen[256];	/* unix socket path or host:port */
	int		 socket_mode;	/* permissions of a unix socket */
	int		 backlog;
	int		 workers;
	long		 max_requests;	/* recycle a worker after; 0: never */
	int		 db_timeout;	/* seconds: connect and statements */
	int		 auto_migrate;	/* apply migrations at start */
	int		 db_prepare;	/* named prepared statements (not
					   through PgBouncer's transaction
					   pooling) */
	int		 audit_read_sync; /* reads' audit rows commit
					    synchronously */
	char		 migrations_dir[512];
	int		 port;		/* the web server's, for scripts */

	/* libpq keyword/value pairs, NULL-terminated; see load_db(). */
	const char	*db_keys[CONF_DB_PARAMS];
	const char	*db_values[CONF_DB_PARAMS];
	/* DATABASE_URL, one of db_values, or NULL when the DB_* say it all. */
	const char	*database_url;
	/* The owner's connection for migrations, or NULL to use the above. */
	char		*migration_url;

	unsigned char	 jwt_secret[CONF_SECRET_MAX];
	size_t		 jwt_secret_len;
	int		 jwt_ttl;	/* seconds */
	int		 bcrypt_cost;
	int		 bcrypt_share;	/* percent of the cores that hashes
					   for new clients may take */
	int		 register_max;	/* registrations per network in */
	int		 register_window; /* this many seconds */

	/* Login throttling windows (API.md): limits and window lengths. */
	int		 throttle_pair_max;	/* email + address */
	int		 throttle_addr_max;	/* distinct emails per address */
	int		 throttle_window;	/* seconds, both of the above */
	int		 throttle_account_max;
	int		 throttle_account_window;

	enum log_format	 log_format;

	/* Origins allowed by CORS, exact matches; none: CORS is off. */
	char		*cors_origins[CONF_CORS_MAX];
	size_t		 ncors_origins;

	char		 user[64];	/* to run as when started as root */
	/* The web servers that may connect over TCP (libfcgi's
	 * FCGI_WEB_SERVER_ADDRS: addresses, comma-separated); "" for none. */
	char		 web_servers[512];
	int		 read_timeout;	/* seconds a web server may take to
					   send a request */
	int		 restore_days;	/* a deleted record can be restored
					   for this long, then purged */
	int		 audit_retention_days;	/* audit events are kept this
						   long, then purged */
	int		 public_cache_kb;	/* each worker's memory for
						   public reads; 0: none */
};

/*
 * Loads the settings: defaults, then file (may be NULL; an explicitly named
 * file must exist), then ./.env when present, then the environment.  The
 * connection strings are checked by db_conf_check() (db/db.h).  With
 * need_secret 0 a missing JWT_SECRET is allowed (--migrate).  Returns 0, or
 * -1 with a message naming the setting in err.
 */
int	conf_load(struct conf *, const char *file, int need_secret,
	    char *err, size_t errlen);

/*
 * Wipes and drops the owner's connection (MIGRATION_DATABASE_URL), from
 * conf and from the environment: once migrations are done no process
 * needs the owner's password.
 */
void	conf_forget_migration(struct conf *);

/* Wipes the secret and password from memory. */
void	conf_wipe(struct conf *);

#endif
