/*
 * The data layer's public face: the context every query runs in, the
 * statuses it answers with, the worker's connection, transactions, health,
 * migrations and the check of connection settings.  It speaks of rows,
 * versions and "not found", never of requests, statuses or headers: the
 * handlers map its answers to HTTP.  No libpq type appears here.  Each
 * resource's queries are declared in db/<resource>.h.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct conf;
struct db_conn;

/*
 * What a query runs on and for: memory for its results, the connection,
 * and the request's context, which app_begin() hands to PostgreSQL for
 * the token check, row-level security and the audit trail.
 */
struct db_ctx {
	struct arena	*arena;		/* results live until its reset */
	struct db_conn	*conn;
	int64_t		 user_id;	/* the acting user; 0: anonymous */
	const char	*jti;		/* the caller's token, when user_id */
	int64_t		 iat;
	const char	*request_id;
	const char	*client_address;
	int		 restore_days;	/* how long a deleted record stays */
};

enum db_status {
	DB_OK,
	DB_NOTFOUND,	/* no such row, or not the acting user's */
	DB_CONFLICT,	/* a unique or foreign key rule said no */
	DB_STALE,	/* the row has another version than the one required */
	DB_GONE,	/* the record is deleted (until it is restored or purged) */
	DB_UNAVAILABLE,	/* no connection, it broke, or a statement timed out */
	DB_UNAUTHORIZED, /* the token is revoked or its user gone */
	DB_BUSY,	/* an idempotency key is held by a running transaction */
	DB_REPLAY,	/* an idempotency key already has its response */
	DB_ERROR,	/* anything else, already logged */
	DB_STATUS__MAX
};

/*
 * The versions a caller names (If-Match, If-None-Match): none when !present,
 * any for "*", else up to DB_VERSIONS_MAX of them.
 */
#define DB_VERSIONS_MAX	16
struct db_versions {
	int		 present;
	int		 any;
	size_t		 n;
	int64_t		 v[DB_VERSIONS_MAX];
};

/*
 * Opens the worker's connection.  A failed attempt is logged and retried
 * before the next query, so the handle is never NULL (the process exits
 * when there is no memory for it).  on_reconnect, when not NULL, is called
 * each time a lost connection is replaced (for the metrics).  With
 * listen, each connection listens for changes to the public tables (see
 * db_changes).  Closed with db_close().
 */
struct db_conn	*db_open(const struct conf *, void (*on_reconnect)(void),
		    int listen);
void		 db_close(struct db_conn *);

/*
 * Changes to the tables whose reads a worker may keep (the doctors): each
 * committed write to them notifies every connection that listens
 * (db/migrations/009_public_changes.sql).  Returns a number that grows
 * with every change this connection has been told of and with every new
 * connection (what changed while there was none is unknown), without a
 * round trip; or -1 when it cannot tell: no connection, one that does not
 * listen, or one the server is closing.
 */
int64_t		 db_changes(struct db_ctx *);

/*
 * A transaction of several statements: after db_begin, the context's
 * queries share one transaction (BEGIN and app_begin go out with the first
 * of them) until db_commit.  One still open when the context's arena is
 * reset is rolled back then, so an early return can leave nothing behind.
 */
void		 db_begin(struct db_ctx *);
/* The same, in one snapshot of the database (REPEATABLE READ). */
void		 db_begin_snapshot(struct db_ctx *);
/* Commits; after a failed statement it rolls back and says DB_ERROR. */
enum db_status	 db_commit(struct db_ctx *);
void		 db_rollback(struct db_ctx *);

/* One round trip to the database, for /api/health. */
enum db_status	 db_ping(struct db_ctx *);

/*
 * Checks that the service's connection settings are a string libpq can
 * parse, and warns of one that reaches the database over the network
 * without verified TLS.  Returns 0, or -1 with a message naming the
 * setting in err.  db_url_check() does the same for the URL of setting
 * name; db_migrate() checks MIGRATION_DATABASE_URL with it.
 */
int		 db_conf_check(const struct conf *, char *err, size_t errlen);
int		 db_url_check(const char *name, const char *url, char *err,
		    size_t errlen);

/*
 * Checks the service's own role on its database: not a superuser, not
 * one that bypasses row-level security, owning no table and unable to act
 * as the tables' owner, any of which would let the service switch off the
 * guarantees of row-level security and the audit trail.  Returns 0 (also
 * when the database cannot be reached now: workers will keep trying), or
 * -1 after logging which rule is broken and what to do.
 */
int		 db_role_check(const struct conf *);

/*
 * Applies pending migrations from conf->migrations_dir in order, each in its
 * own transaction, under an advisory lock so that concurrent starts apply
 * each exactly once.  Returns 0, or -1 after logging why.
 */
int		 db_migrate(const struct conf *);

/*
 * Removes for good the patients and doctors deleted more than
 * conf->restore_days ago, with their versions, mappings and idempotency
 * keys, and the months of the audit trail wholly older than
 * conf->audit_retention_days; makes the trail's next months; and audits
 * what it removed (app_purge() in migration 008).
 * Returns 0, or -1 after logging why.
 */
int		 db_purge(const struct conf *);

#endif
