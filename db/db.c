/*
 * The worker's one PostgreSQL connection and the one function every query
 * goes through.  The connection is opened when the worker starts and checked
 * before each request without a round trip: a server that went away leaves
 * the socket readable (EOF or a FATAL message), which a zero-timeout poll
 * sees, so the next request reconnects instead of failing.  Whether
 * statements are prepared once per connection or sent unnamed is decided
 * here and nowhere else.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "conf.h"
#include "list.h"
#include "dbpriv.h"
#include "log.h"
#include "metrics.h"
#include "req.h"

static PGconn		*conn;
static const struct conf *dbconf;
static unsigned		 conn_gen;	/* bumped on every new connection */
static char		 timeout_ms[16];	/* DB_TIMEOUT, for app_begin */

static struct db_stmt	 ping_stmt = { "ping", "SELECT 1", 0, DB_READ, 0 };
/* The start of every transaction: see db/migrations/002_security.sql. */
static struct db_stmt	 begin_stmt = { "app_begin",
    "SELECT app_begin($1, $2, $3, $4, $5, $6, $7)", 7, 0, 0 };
static struct db_stmt	 begin_tx_stmt = { "begin", "BEGIN", 0, DB_PER_CALL, 0 };
static struct db_stmt	 commit_stmt = { "commit", "COMMIT", 0, DB_PER_CALL, 0 };
static struct db_stmt	 rollback_stmt = { "rollback", "ROLLBACK", 0,
    DB_PER_CALL, 0 };

/*
 * A transaction of several statements (db_begin): open once asked for,
 * begun once BEGIN went out with its first statement, failed once one of
 * them failed (the server then ignores all but ROLLBACK).
 */
static struct {
	int	 open;
	int	 begun;
	int	 failed;
} tx;

/* Connects; returns 0, or -1 after logging why. */
static int
db_connect(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = PQconnectdbParams(dbconf->db_keys, dbconf->db_values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		log_msg(NULL, "warn", "database connection failed: %s",
		    conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		conn = NULL;
		return -1;
	}
	/* Every transaction bounds its statements (app_begin), so that no
	 * request waits past DB_TIMEOUT. */
	snprintf(timeout_ms, sizeof(timeout_ms), "%d",
	    dbconf->db_timeout * 1000);
	if (conn_gen++ > 0 && metrics != NULL)
		metrics_add(&metrics->db_reconnects, 1);
	return 0;
}

void
db_open(const struct conf *c)
{
	dbconf = c;
	(void)db_connect();
}

void
db_close(void)
{
	PQfinish(conn);
	conn = NULL;
}

/*
 * Makes sure there is a connection that has not been closed by the server
 * since the last request.  Returns 0 when one is ready.
 */
static int
db_ready(void)
{
	struct pollfd	 pfd;

	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		pfd.fd = PQsocket(conn);
		pfd.events = POLLIN;
		/*
		 * Between requests the server has nothing to say, unless it is
		 * saying goodbye (a shutdown's FATAL, then EOF) or the socket
		 * broke.  Reading what it said is not enough to tell which, and
		 * a connection is cheap next to a failed request: any such
		 * connection is replaced.
		 */
		if (poll(&pfd, 1, 0) == 0)
			return 0;
	}
	return db_connect();
}

static void
clear_result(void *res)
{
	PQclear(res);
}

const char *
db_i64(struct req *r, int64_t n)
{
	return arena_printf(r->arena, "%" PRId64, n);
}

const char *
db_like(struct req *r, const char *q)
{
	struct buf	 b;

	if (q == NULL)
		return NULL;
	buf_init(&b, r->arena, strlen(q) + 8);
	buf_putc(&b, '%');
	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *q);
	}
	buf_putc(&b, '%');
	return b.data;
}

int
db_page(PGresult *res, int got, const struct list_params *lp, int key_col,
    struct page *pg)
{
	pg->has_more = got > lp->limit;
	if (pg->has_more)
		got = (int)lp->limit;
	pg->n = (size_t)got;
	pg->last_key = got > 0 ? PQgetvalue(res, got - 1, key_col) : NULL;
	pg->last_id = got > 0 ? db_int(res, got - 1, 0) : 0;
	return got;
}

const char *
db_text(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int64_t
db_int(PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Sends st, preparing it first when this connection has not seen it. */
static int
send_stmt(struct db_stmt *st, const char *const *params, int *preparing)
{
	*preparing = 0;
	if (st->flags & DB_PER_CALL || !dbconf->db_prepare)
		return PQsendQueryParams(conn, st->sql, st->nparams, NULL,
		    params, NULL, NULL, 0);
	if (st->prepared_on != conn_gen) {
		if (!PQsendPrepare(conn, st->name, st->sql, st->nparams, NULL))
			return 0;
		*preparing = 1;
	}
	return PQsendQueryPrepared(conn, st->name, st->nparams, params, NULL,
	    NULL, 0);
}

/*
 * Reads the result of one queued query: the result itself, then the NULL
 * that ends it.  The caller owns what is returned (NULL when the
 * connection broke).
 */
static PGresult *
next_result(void)
{
	PGresult	*res, *extra;

	if (conn == NULL || (res = PQgetResult(conn)) == NULL)
		return NULL;
	while ((extra = PQgetResult(conn)) != NULL)
		PQclear(extra);
	return res;
}

/* Maps a failed result to a status, logging what an operator needs. */
static enum db_status
failure(struct req *r, const struct db_stmt *st, PGresult *res,
    const char **sqlstate)
{
	const char	*state = NULL;

	if (res != NULL && (state = PQresultErrorField(res,
	    PG_DIAG_SQLSTATE)) != NULL)
		state = arena_strdup(r->arena, state);
	if (sqlstate != NULL)
		*sqlstate = state;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		/* Broken connection or server shutting down. */
		log_msg(r, "warn", "database unavailable in %s: %s", st->name,
		    conn ? PQerrorMessage(conn) : "no connection");
		db_close();
		tx.begun = 0;	/* the server rolled it back */
		return DB_UNAVAILABLE;
	}
	if (strcmp(state, "MR401") == 0)	/* app_begin refused the token */
		return DB_UNAUTHORIZED;
	if (strcmp(state, "MR409") == 0)	/* app_idempotency_claim */
		return DB_BUSY;
	if (strcmp(state, "MR208") == 0)
		return DB_REPLAY;
	if (strncmp(state, "23", 2) == 0)	/* integrity violation */
		return DB_CONFLICT;
	if (strcmp(state, "57014") == 0) {	/* statement timeout */
		log_msg(r, "warn", "statement %s timed out", st->name);
		return DB_UNAVAILABLE;
	}
	log_msg(r, "error", "statement %s failed: SQLSTATE %s", st->name,
	    state);
	return DB_ERROR;
}

/* An ordinary result, or a failed or missing (NULL) one. */
static int
good(PGresult *res)
{
	return PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK;
}

/* One query of a pipeline. */
struct queued {
	struct db_stmt		*st;
	const char *const	*params;
	int			 preparing;
};

#define QUEUE_MAX	4

/*
 * Sends q[0..n) as one pipeline ended by a sync (one round trip), reads
 * every result, and keeps q[want]'s in *out for the caller (freed with the
 * request).  The first failure decides the status; the queries after it
 * were skipped by the server.  Everything before the sync is one
 * transaction unless the queue itself says BEGIN.
 */
static enum db_status
run(struct req *r, struct queued *q, int n, int want, PGresult **out,
    const char **sqlstate)
{
	PGresult	*res, *sync, *kept = NULL;
	enum db_status	 rc = DB_OK;
	int		 i;

	if (!PQenterPipelineMode(conn))
		return failure(r, q[want].st, NULL, sqlstate);
	for (i = 0; i < n; i++)
		if (!send_stmt(q[i].st, q[i].params, &q[i].preparing))
			return failure(r, q[i].st, NULL, sqlstate);
	if (!PQpipelineSync(conn))
		return failure(r, q[want].st, NULL, sqlstate);

	for (i = 0; i < n; i++) {
		if (q[i].preparing) {
			res = next_result();
			if (good(res))
				q[i].st->prepared_on = conn_gen;
			else if (rc == DB_OK)
				rc = failure(r, q[i].st, res, sqlstate);
			PQclear(res);
		}
		res = next_result();
		if (rc == DB_OK && !good(res))
			rc = failure(r, q[i].st, res, sqlstate);
		if (i == want && rc == DB_OK)
			kept = res;
		else
			PQclear(res);
	}
	if (conn != NULL) {
		while ((sync = PQgetResult(conn)) != NULL &&
		    PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
			PQclear(sync);
		if ((sync == NULL || !PQexitPipelineMode(conn)) && rc == DB_OK)
			rc = failure(r, q[want].st, NULL, sqlstate);
		PQclear(sync);
	}
	if (rc != DB_OK) {
		PQclear(kept);
		return rc;
	}
	arena_cleanup_add(r->arena, clear_result, kept);
	*out = kept;
	return DB_OK;
}

/* The request's context for app_begin, in the request's arena. */
static const char *const *
context(struct req *r, const struct db_stmt *st)
{
	const char	**ctx = arena_alloc(r->arena, 7 * sizeof(*ctx));

	ctx[0] = r->id;
	ctx[1] = r->remote_addr;
	ctx[2] = r->user_id != 0 ? db_i64(r, r->user_id) : NULL;
	ctx[3] = r->user_id != 0 ? r->claims.jti : NULL;
	ctx[4] = r->user_id != 0 ? db_i64(r, r->claims.iat) : NULL;
	ctx[5] = st->flags & DB_READ && !dbconf->audit_read_sync ? "t" : "f";
	ctx[6] = timeout_ms;
	return ctx;
}

enum db_status
db_exec(struct req *r, struct db_stmt *st, const char *const *params,
    PGresult **out, const char **sqlstate)
{
	struct queued	 q[QUEUE_MAX];
	enum db_status	 rc;
	int		 n = 0;

	*out = NULL;
	if (sqlstate != NULL)
		*sqlstate = NULL;
	if (tx.failed)
		return DB_ERROR;
	if (!tx.begun && db_ready() == -1)
		return DB_UNAVAILABLE;

	/*
	 * One round trip: app_begin (the request's context and, for a
	 * signed-in caller, the token check) and the statement.  Alone, the
	 * two are one implicit transaction: if the token is refused or the
	 * statement fails, nothing of it stays.  In a transaction of the
	 * request's (db_begin), app_begin goes with its first statement.
	 */
	if (tx.open && !tx.begun)
		q[n++] = (struct queued){ &begin_tx_stmt, NULL, 0 };
	if (!tx.begun)
		q[n++] = (struct queued){ &begin_stmt, context(r, st), 0 };
	q[n++] = (struct queued){ st, params, 0 };
	rc = run(r, q, n, n - 1, out, sqlstate);
	if (tx.open) {
		tx.begun = 1;
		tx.failed = rc != DB_OK;
	}
	return rc;
}

void
db_begin(struct req *r)
{
	(void)r;
	tx.open = 1;
	tx.begun = 0;
	tx.failed = 0;
}

enum db_status
db_commit(struct req *r, struct db_stmt *st, const char *const *params)
{
	struct queued	 q[2];
	PGresult	*res;
	enum db_status	 rc;
	int		 n = 0;

	if (!tx.open || tx.failed || !tx.begun) {
		db_rollback(r);
		return tx.failed ? DB_ERROR : DB_OK;
	}
	if (st != NULL)
		q[n++] = (struct queued){ st, params, 0 };
	q[n++] = (struct queued){ &commit_stmt, NULL, 0 };
	rc = run(r, q, n, 0, &res, NULL);
	memset(&tx, 0, sizeof(tx));
	return rc;
}

void
db_rollback(struct req *r)
{
	struct queued	 q[1] = { { &rollback_stmt, NULL, 0 } };
	PGresult	*res;

	if (tx.begun && conn != NULL)
		(void)run(r, q, 1, 0, &res, NULL);
	memset(&tx, 0, sizeof(tx));
}

enum db_status
db_ping(struct req *r)
{
	PGresult	*res;

	return db_exec(r, &ping_stmt, NULL, &res, NULL);
}
