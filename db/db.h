/*
 * The database layer's public face: status codes that handlers map to HTTP,
 * the worker's connection, health, and migrations.  No libpq type appears
 * here; handlers never see one.  Each resource's queries are declared in
 * db/<resource>.h.
 */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct req;

/* One page of a list, as the db_*_list functions return it. */
struct page {
	size_t		 n;		/* rows on the page */
	int		 has_more;	/* another page follows */
	const char	*last_key;	/* the last row's sort key, for the */
	int64_t		 last_id;	/* next cursor, and its id */
};

enum db_status {
	DB_OK,
	DB_NOTFOUND,
	DB_CONFLICT,	/* a unique or foreign key rule said no */
	DB_STALE,	/* If-Match named another version: 412 */
	DB_UNAVAILABLE,	/* no connection, or it broke: 503 */
	DB_UNAUTHORIZED, /* the token is revoked or its user gone: 401 */
	DB_BUSY,	/* an Idempotency-Key is in use by a running request */
	DB_REPLAY,	/* an Idempotency-Key already has its response */
	DB_ERROR,	/* anything else, already logged: 500 */
};

/* Opens the worker's connection; a failure is logged and retried later. */
void		db_open(const struct conf *);
/* Closes it (worker exit). */
void		db_close(void);
/*
 * A transaction of several statements, for a request that must write more
 * than one statement can: after db_begin, db_exec's statements share one
 * transaction (BEGIN and app_begin go out with the first of them), which
 * db_commit ends, or db_rollback, which the worker also calls for a
 * request that left one open.
 */
void		db_begin(struct req *);
void		db_rollback(struct req *);

/* Database reachability for /api/health. */
enum db_status	db_ping(struct req *);

/*
 * Applies pending migrations from conf->migrations_dir in order, each in its
 * own transaction, under an advisory lock so that concurrent starts apply
 * each exactly once.  Returns 0, or -1 after logging why.
 */
int		db_migrate(const struct conf *);

#endif
