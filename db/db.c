/*
 * The worker's one PostgreSQL connection and the one function every query
 * goes through.  The connection is opened when the worker starts and checked
 * before each query without a round trip: a server that went away leaves
 * the socket readable (EOF or a FATAL message), which a zero-timeout poll
 * sees, so the next query reconnects instead of failing.  Whether
 * statements are prepared once per connection or sent unnamed is decided
 * here and nowhere else.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "arena.h"
#include "conf.h"
#include "dbpriv.h"
#include "log.h"
#include "record.h"

/*
 * The connection and its transaction of several statements (db_begin):
 * open once asked for, begun once BEGIN went out with its first
 * statement, failed once one of them failed (the server then ignores all
 * but ROLLBACK).
 */
struct db_conn {
	PGconn			*pg;
	const struct conf	*conf;
	void			(*on_reconnect)(void);
	unsigned		 gen;		/* bumped on every connection */
	int			 listen;	/* to medrec_public, when asked */
	int			 listening;	/* this connection does */
	int			 goodbye;	/* the server said FATAL */
	int64_t			 notified;	/* notifications seen */
	char			 timeout_ms[16]; /* DB_TIMEOUT, for app_begin */
	int			 unreplicated;	/* see on_notice() */
	struct {
		int	 open;
		int	 begun;
		int	 failed;
		int	 snapshot;	/* REPEATABLE READ */
	}			 tx;
};

static struct db_stmt	 ping_stmt = { "ping", "SELECT 1", 0, DB_READ,
    NULL, 0 };
/* The start of every transaction: see db/migrations/002_security.sql. */
static struct db_stmt	 begin_stmt = { "app_begin",
    "SELECT app_begin($1, $2, $3, $4, $5, $6, $7)", 7, 0, NULL, 0 };
static struct db_stmt	 begin_tx_stmt = { "begin", "BEGIN", 0, DB_PER_CALL,
    NULL, 0 };
static struct db_stmt	 begin_snapshot_stmt = { "begin_snapshot",
    "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, DB_PER_CALL, NULL, 0 };
static struct db_stmt	 commit_stmt = { "commit", "COMMIT", 0, DB_PER_CALL,
    NULL, 0 };

/*
 * What the server says beside the answers, which goes to the log as one
 * line, and two things it tells of that matter here:
 *  - a FATAL outside a query, before it closes the connection (a shutdown,
 *    pg_terminate_backend), marks the connection for replacing;
 *  - a commit whose wait for the synchronous standby was cancelled (here
 *    by the statement timeout, DB_TIMEOUT) is reported as a success, with
 *    only a warning to say that the standby may not have it: after a
 *    failover such a write is gone.  run() turns it into a failure.
 *    PostgreSQL gives that warning no SQLSTATE of its own (01000), so its
 *    English text, which it has unless the server's lc_messages says
 *    otherwise, is what tells it apart.
 */
static void
on_notice(void *arg, const PGresult *res)
{
	static const char	 cancelled[] =
	    "canceling wait for synchronous replication";
	struct db_conn		*c = arg;
	const char		*sev, *msg;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (sev != NULL && (strcmp(sev, "FATAL") == 0 ||
	    strcmp(sev, "PANIC") == 0))
		c->goodbye = 1;
	if (msg != NULL && strncmp(msg, cancelled, sizeof(cancelled) - 1) == 0)
		c->unreplicated = 1;
	log_msg(NULL, "info", "the database says: %s: %s",
	    sev != NULL ? sev : "NOTICE", msg != NULL ? msg : "");
}

/* LISTEN medrec_public on the new connection; says whether it does. */
static int
listen_changes(struct db_conn *c)
{
	PGresult	*res = PQexec(c->pg, "LISTEN medrec_public");
	int		 ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		log_msg(NULL, "warn", "LISTEN medrec_public failed, public "
		    "reads go to the database: %s", PQerrorMessage(c->pg));
	PQclear(res);
	return ok;
}

/* Connects; returns 0, or -1 after logging why. */
static int
connect_db(struct db_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->listening = 0;
	c->goodbye = 0;
	c->pg = PQconnectdbParams(c->conf->db_keys, c->conf->db_values, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		log_msg(NULL, "warn", "database connection failed: %s",
		    c->pg ? PQerrorMessage(c->pg) : "out of memory");
		PQfinish(c->pg);
		c->pg = NULL;
		return -1;
	}
	PQsetNoticeReceiver(c->pg, on_notice, c);
	if (c->listen)
		c->listening = listen_changes(c);
	if (c->gen++ > 0 && c->on_reconnect != NULL)
		c->on_reconnect();
	return 0;
}

struct db_conn *
db_open(const struct conf *cf, void (*on_reconnect)(void), int listen)
{
	struct db_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		arena_oom();
	c->conf = cf;
	c->on_reconnect = on_reconnect;
	c->listen = listen;
	/* Every transaction bounds its statements (app_begin), so that no
	 * request waits past DB_TIMEOUT. */
	snprintf(c->timeout_ms, sizeof(c->timeout_ms), "%d",
	    cf->db_timeout * 1000);
	(void)connect_db(c);
	return c;
}

static void
disconnect(struct db_conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
	c->listening = 0;
	c->tx.begun = 0;	/* the server rolls it back */
}

void
db_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	free(c);
}

/*
 * Between requests the server has nothing to say but notifications, on a
 * connection that listens, unless it is saying goodbye (a shutdown's
 * FATAL, then EOF) or the socket broke.  Reads what it said, counting the
 * notifications (also those that came during the last query).  Returns 1
 * when that was all; else the connection is to be replaced, since a
 * connection is cheap next to a failed request.  Costs a zero-timeout
 * poll when there is nothing to read.
 */
static int
quiet(struct db_conn *c)
{
	struct pollfd	 pfd;
	PGnotify	*n;

	pfd.fd = PQsocket(c->pg);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 0 &&
	    (!c->listening || !PQconsumeInput(c->pg)))
		return 0;
	if (c->listening)
		while ((n = PQnotifies(c->pg)) != NULL) {
			c->notified++;
			PQfreemem(n);
		}
	return !c->goodbye && PQstatus(c->pg) == CONNECTION_OK;
}

/*
 * Makes sure there is a connection that has not been closed by the server
 * since the last query.  Returns 0 when one is ready.
 */
static int
ready(struct db_conn *c)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && quiet(c))
		return 0;
	return connect_db(c);
}

int64_t
db_changes(struct db_ctx *ctx)
{
	struct db_conn	*c = ctx->conn;

	if (c->pg == NULL || !c->listening || c->tx.begun)
		return -1;
	if (!quiet(c)) {
		disconnect(c);
		return -1;
	}
	return (int64_t)c->gen + c->notified;
}

static void
clear_result(void *res)
{
	PQclear(res);
}

const char *
db_i64(struct db_ctx *ctx, int64_t n)
{
	return arena_printf(ctx->arena, "%" PRId64, n);
}

const char *const *
db_owner_and(struct db_ctx *ctx, int64_t id)
{
	const char	**p = arena_alloc(ctx->arena, 2 * sizeof(*p));

	p[0] = db_i64(ctx, ctx->user_id);
	p[1] = db_i64(ctx, id);
	return p;
}

const char *
db_bool(int v)
{
	return v ? "t" : "f";
}

const char *
db_versions(struct db_ctx *ctx, const struct db_versions *v)
{
	struct buf	 b;
	size_t		 i;

	if (v == NULL || !v->present || v->any)
		return NULL;
	buf_init(&b, ctx->arena, 32);
	buf_putc(&b, '{');
	for (i = 0; i < v->n; i++)
		buf_printf(&b, "%s%" PRId64, i > 0 ? "," : "", v->v[i]);
	buf_putc(&b, '}');
	return b.data;
}

const char *
db_like(struct db_ctx *ctx, const char *q, int anywhere)
{
	struct buf	 b;

	if (q == NULL)
		return NULL;
	buf_init(&b, ctx->arena, strlen(q) + 8);
	if (anywhere)
		buf_putc(&b, '%');
	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			buf_putc(&b, '\\');
		buf_putc(&b, *q);
	}
	buf_putc(&b, '%');
	return b.data;
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

void
db_row_of(struct db_ctx *ctx, PGresult *res, int i, struct db_row *row)
{
	int		 c, n = PQnfields(res);
	const char	**cell;

	cell = arena_alloc(ctx->arena, (size_t)(n > 0 ? n : 1) *
	    sizeof(*cell));
	for (c = 0; c < n; c++)
		cell[c] = db_text(res, i, c);
	row->cell = cell;
}

/* Sends st, preparing it first when this connection has not seen it. */
static int
send_stmt(struct db_conn *c, struct db_stmt *st, const char *const *params,
    int *preparing)
{
	*preparing = 0;
	if (st->flags & DB_PER_CALL || !c->conf->db_prepare)
		return PQsendQueryParams(c->pg, st->sql, st->nparams, NULL,
		    params, NULL, NULL, 0);
	if (st->prepared_on != c->gen) {
		if (!PQsendPrepare(c->pg, st->name, st->sql, st->nparams,
		    NULL))
			return 0;
		*preparing = 1;
	}
	return PQsendQueryPrepared(c->pg, st->name, st->nparams, params, NULL,
	    NULL, 0);
}

/*
 * Reads the result of one queued query: the result itself, then the NULL
 * that ends it.  The caller owns what is returned (NULL when the
 * connection broke).
 */
static PGresult *
next_result(struct db_conn *c)
{
	PGresult	*res, *extra;

	if (c->pg == NULL || (res = PQgetResult(c->pg)) == NULL)
		return NULL;
	while ((extra = PQgetResult(c->pg)) != NULL)
		PQclear(extra);
	return res;
}

/*
 * The statuses of the SQLSTATEs the service expects: its own functions'
 * (db/migrations/005_data_terms.sql), the two integrity rules a client can
 * break (a unique key, a reference), and those a retry may well get past:
 * a serialization failure, a deadlock, a lock not granted in time, a
 * statement timeout, and the server short of resources (class 53).  Any
 * other is a mistake of the service's, logged and DB_ERROR.
 */
static const struct {
	const char	*state;		/* a whole SQLSTATE, or a class */
	enum db_status	 status;
} states[] = {
	{ "MRRVK", DB_UNAUTHORIZED },	/* app_begin: token refused */
	{ "MRBSY", DB_BUSY },		/* app_idempotency_claim */
	{ "MRDUN", DB_REPLAY },
	{ "23505", DB_CONFLICT },	/* unique_violation */
	{ "23503", DB_CONFLICT },	/* foreign_key_violation */
	{ "40001", DB_UNAVAILABLE },	/* serialization_failure */
	{ "40P01", DB_UNAVAILABLE },	/* deadlock_detected */
	{ "55P03", DB_UNAVAILABLE },	/* lock_not_available */
	{ "57014", DB_UNAVAILABLE },	/* query_canceled: statement timeout */
	{ "53", DB_UNAVAILABLE },	/* insufficient resources */
};

/* Maps a failed result to a status, logging what an operator needs. */
static enum db_status
failure(struct db_ctx *ctx, const struct db_stmt *st, PGresult *res)
{
	struct db_conn	*c = ctx->conn;
	const char	*state = NULL;
	size_t		 i;

	if (res != NULL)
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK ||
	    state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0) {
		/* Broken connection or server shutting down. */
		log_msg(ctx->request_id, "warn", "database unavailable in %s: "
		    "%s", st->name, c->pg ? PQerrorMessage(c->pg) :
		    "no connection");
		disconnect(c);
		return DB_UNAVAILABLE;
	}
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (strncmp(state, states[i].state,
		    strlen(states[i].state)) != 0)
			continue;
		if (states[i].status == DB_UNAVAILABLE)
			log_msg(ctx->request_id, "warn", "statement %s: "
			    "SQLSTATE %s, the client may retry", st->name,
			    state);
		return states[i].status;
	}
	log_msg(ctx->request_id, "error", "statement %s failed: SQLSTATE %s",
	    st->name, state);
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
 * arena).  The first failure decides the status; the queries after it
 * were skipped by the server.  Everything before the sync is one
 * transaction unless the queue itself says BEGIN.
 */
static enum db_status
run(struct db_ctx *ctx, struct queued *q, int n, int want, PGresult **out)
{
	struct db_conn	*c = ctx->conn;
	PGresult	*res, *sync, *kept = NULL;
	enum db_status	 rc = DB_OK;
	int		 i;

	c->unreplicated = 0;
	if (!PQenterPipelineMode(c->pg))
		return failure(ctx, q[want].st, NULL);
	for (i = 0; i < n; i++)
		if (!send_stmt(c, q[i].st, q[i].params, &q[i].preparing))
			return failure(ctx, q[i].st, NULL);
	if (!PQpipelineSync(c->pg))
		return failure(ctx, q[want].st, NULL);

	for (i = 0; i < n; i++) {
		if (q[i].preparing) {
			res = next_result(c);
			if (good(res))
				q[i].st->prepared_on = c->gen;
			else if (rc == DB_OK)
				rc = failure(ctx, q[i].st, res);
			PQclear(res);
		}
		res = next_result(c);
		if (rc == DB_OK && !good(res))
			rc = failure(ctx, q[i].st, res);
		if (i == want && rc == DB_OK)
			kept = res;
		else
			PQclear(res);
	}
	if (c->pg != NULL) {
		while ((sync = PQgetResult(c->pg)) != NULL &&
		    PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
			PQclear(sync);
		if ((sync == NULL || !PQexitPipelineMode(c->pg)) &&
		    rc == DB_OK)
			rc = failure(ctx, q[want].st, NULL);
		PQclear(sync);
	}
	if (rc == DB_OK && c->unreplicated) {
		/* Committed here, maybe not on the standby: not a success,
		 * and this server may be an old primary back from a crash. */
		log_msg(ctx->request_id, "warn", "statement %s: the "
		    "synchronous standby did not confirm the commit in time",
		    q[want].st->name);
		disconnect(c);
		rc = DB_UNAVAILABLE;
	}
	if (rc != DB_OK) {
		PQclear(kept);
		return rc;
	}
	arena_cleanup_add(ctx->arena, clear_result, kept);
	*out = kept;
	return DB_OK;
}

/* The context for app_begin, in the arena. */
static const char *const *
begin_params(struct db_ctx *ctx, const struct db_stmt *st)
{
	const char	**p = arena_alloc(ctx->arena, 7 * sizeof(*p));
	int		 signed_in = ctx->user_id != 0;

	p[0] = ctx->request_id;
	p[1] = ctx->client_address;
	p[2] = signed_in ? db_i64(ctx, ctx->user_id) : NULL;
	p[3] = signed_in ? ctx->jti : NULL;
	p[4] = signed_in ? db_i64(ctx, ctx->iat) : NULL;
	p[5] = db_bool(st->flags & DB_READ && !ctx->conn->conf->audit_read_sync);
	p[6] = ctx->conn->timeout_ms;
	return p;
}

enum db_status
db_exec(struct db_ctx *ctx, struct db_stmt *st, const char *const *params,
    PGresult **out)
{
	struct db_conn	*c = ctx->conn;
	struct queued	 q[QUEUE_MAX];
	enum db_status	 rc;
	int		 n = 0;

	*out = NULL;
	if (c->tx.failed)
		return DB_ERROR;
	if (!c->tx.begun && ready(c) == -1)
		return DB_UNAVAILABLE;

	/*
	 * One round trip: app_begin (the request's context and, for a
	 * signed-in caller, the token check) and the statement.  Alone, the
	 * two are one implicit transaction: if the token is refused or the
	 * statement fails, nothing of it stays.  In a transaction of
	 * db_begin, app_begin goes with its first statement.
	 */
	if (c->tx.open && !c->tx.begun)
		q[n++] = (struct queued){ c->tx.snapshot ?
		    &begin_snapshot_stmt : &begin_tx_stmt, NULL, 0 };
	if (!c->tx.begun)
		q[n++] = (struct queued){ &begin_stmt, begin_params(ctx, st),
		    0 };
	q[n++] = (struct queued){ st, params, 0 };
	rc = run(ctx, q, n, n - 1, out);
	if (c->tx.open) {
		c->tx.begun = c->pg != NULL;
		c->tx.failed = rc != DB_OK;
	}
	return rc;
}

/*
 * The arena cleanup of db_begin: a transaction still open when the
 * request ends is rolled back, outside any pipeline.
 */
static void
rollback_cleanup(void *conn)
{
	struct db_conn	*c = conn;

	if (c->tx.begun && c->pg != NULL)
		PQclear(PQexec(c->pg, "ROLLBACK"));
	memset(&c->tx, 0, sizeof(c->tx));
}

void
db_begin(struct db_ctx *ctx)
{
	struct db_conn	*c = ctx->conn;

	if (!c->tx.open)
		arena_cleanup_add(ctx->arena, rollback_cleanup, c);
	c->tx.open = 1;
	c->tx.begun = 0;
	c->tx.failed = 0;
}

void
db_begin_snapshot(struct db_ctx *ctx)
{
	db_begin(ctx);
	ctx->conn->tx.snapshot = 1;
}

/*
 * The rows of st through a cursor of the open transaction, DB_EACH_BATCH
 * at a time, each batch freed before the next is fetched: memory stays
 * that of one batch however many rows there are.  A row's cells live on
 * the stack, not in the arena, for the same reason.
 */
#define DB_EACH_BATCH	"500"
#define DB_EACH_COLS	32

enum db_status
db_each(struct db_ctx *ctx, struct db_stmt *st, const char *const *params,
    int (*fn)(void *, const struct db_row *), void *arg)
{
	struct db_conn	*c = ctx->conn;
	struct db_stmt	*declare;
	struct db_row	 row;
	const char	*cell[DB_EACH_COLS];
	PGresult	*res;
	enum db_status	 rc;
	int		 i, col, n;

	if (!c->tx.open) {
		log_msg(ctx->request_id, "error", "statement %s: a cursor "
		    "needs the transaction of db_begin", st->name);
		return DB_ERROR;
	}
	declare = arena_calloc(ctx->arena, sizeof(*declare));
	declare->name = st->name;
	declare->sql = arena_printf(ctx->arena, "DECLARE each NO SCROLL "
	    "CURSOR FOR %s", st->sql);
	declare->nparams = st->nparams;
	declare->flags = DB_PER_CALL | (st->flags & DB_READ);
	if ((rc = db_exec(ctx, declare, params, &res)) != DB_OK)
		return rc;
	row.cell = cell;
	for (;;) {
		res = PQexec(c->pg, "FETCH " DB_EACH_BATCH " FROM each");
		if (!good(res)) {
			c->tx.failed = 1;
			rc = failure(ctx, st, res);
			PQclear(res);
			return rc;
		}
		if ((n = PQntuples(res)) == 0 || PQnfields(res) > DB_EACH_COLS)
			break;
		for (i = 0; i < n; i++) {
			for (col = 0; col < PQnfields(res); col++)
				cell[col] = db_text(res, i, col);
			if (fn(arg, &row) == -1) {
				PQclear(res);
				c->tx.failed = 1;
				return DB_ERROR;
			}
		}
		PQclear(res);
	}
	if (PQnfields(res) > DB_EACH_COLS) {
		log_msg(ctx->request_id, "error", "statement %s: %d columns, "
		    "more than db_each's %d", st->name, PQnfields(res),
		    DB_EACH_COLS);
		PQclear(res);
		c->tx.failed = 1;
		return DB_ERROR;
	}
	PQclear(res);
	PQclear(PQexec(c->pg, "CLOSE each"));
	return DB_OK;
}

void
db_rollback(struct db_ctx *ctx)
{
	rollback_cleanup(ctx->conn);
}

enum db_status
db_commit_with(struct db_ctx *ctx, struct db_stmt *st,
    const char *const *params)
{
	struct db_conn	*c = ctx->conn;
	struct queued	 q[2];
	PGresult	*res;
	enum db_status	 rc;
	int		 n = 0;

	if (!c->tx.open || c->tx.failed || !c->tx.begun) {
		rc = c->tx.failed ? DB_ERROR : DB_OK;
		db_rollback(ctx);
		return rc;
	}
	if (st != NULL)
		q[n++] = (struct queued){ st, params, 0 };
	q[n++] = (struct queued){ &commit_stmt, NULL, 0 };
	rc = run(ctx, q, n, 0, &res);
	memset(&c->tx, 0, sizeof(c->tx));
	return rc;
}

enum db_status
db_commit(struct db_ctx *ctx)
{
	return db_commit_with(ctx, NULL, NULL);
}

enum db_status
db_ping(struct db_ctx *ctx)
{
	PGresult	*res;

	return db_exec(ctx, &ping_stmt, NULL, &res);
}
