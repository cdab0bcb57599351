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
#include "dbpriv.h"
#include "log.h"
#include "req.h"

static PGconn		*conn;
static const struct conf *dbconf;
static unsigned		 conn_gen;	/* bumped on every new connection */

static struct db_stmt	 ping_stmt = { "ping", "SELECT 1", 0, DB_READ, 0 };
/* The start of every transaction: see db/migrations/002_security.sql. */
static struct db_stmt	 begin_stmt = { "app_begin",
    "SELECT app_begin($1, $2, $3, $4, $5, $6)", 6, 0, 0 };

/* Connects; returns 0, or -1 after logging why. */
static int
db_connect(void)
{
	PGresult	*res;
	char		 sql[64];

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
	/* Bound every statement, so no request waits past DB_TIMEOUT. */
	snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
	    dbconf->db_timeout * 1000);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_msg(NULL, "warn", "database set-up failed: %s",
		    PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		conn = NULL;
		return -1;
	}
	PQclear(res);
	conn_gen++;
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
		/* Idle between requests, the socket is readable only when
		 * the server said goodbye (or sent a notice). */
		if (poll(&pfd, 1, 0) == 0)
			return 0;
		if (PQconsumeInput(conn) == 1 && PQstatus(conn) ==
		    CONNECTION_OK)
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
		return DB_UNAVAILABLE;
	}
	if (strcmp(state, "MR401") == 0)	/* app_begin refused the token */
		return DB_UNAUTHORIZED;
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

enum db_status
db_exec(struct req *r, struct db_stmt *st, const char *const *params,
    PGresult **out, const char **sqlstate)
{
	const char	*ctx[6];
	PGresult	*got[4] = { NULL, NULL, NULL, NULL }, *sync, *res;
	enum db_status	 rc = DB_OK;
	int		 prep_begin, prep_st, n = 0, i;

	*out = NULL;
	if (sqlstate != NULL)
		*sqlstate = NULL;
	if (db_ready() == -1)
		return DB_UNAVAILABLE;

	/*
	 * One round trip: app_begin (the request's context and, for a
	 * signed-in caller, the token check) and the statement, then a sync.
	 * Everything before the sync is one implicit transaction: if the
	 * token is refused or the statement fails, nothing of it stays.
	 */
	ctx[0] = r->id;
	ctx[1] = r->remote_addr;
	ctx[2] = r->user_id != 0 ? db_i64(r, r->user_id) : NULL;
	ctx[3] = r->user_id != 0 ? r->claims.jti : NULL;
	ctx[4] = r->user_id != 0 ? db_i64(r, r->claims.iat) : NULL;
	ctx[5] = st->flags & DB_READ && !dbconf->audit_read_sync ? "t" : "f";
	if (!PQenterPipelineMode(conn) ||
	    !send_stmt(&begin_stmt, ctx, &prep_begin) ||
	    !send_stmt(st, params, &prep_st) || !PQpipelineSync(conn))
		return failure(r, st, NULL, sqlstate);

	/* The results come in the order the queries went out. */
	for (i = 0; i < prep_begin + 1 + prep_st + 1; i++)
		got[i] = next_result();
	while ((sync = PQgetResult(conn)) != NULL &&
	    PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
		PQclear(sync);
	if (sync == NULL || !PQexitPipelineMode(conn))
		rc = failure(r, st, NULL, sqlstate);
	PQclear(sync);

	if (prep_begin && good(got[n++]))
		begin_stmt.prepared_on = conn_gen;
	if (rc == DB_OK && !good(got[n]))
		rc = failure(r, &begin_stmt, got[n], sqlstate);
	n++;
	if (prep_st && good(got[n++]))
		st->prepared_on = conn_gen;
	res = got[n];
	got[n] = NULL;
	if (rc == DB_OK && !good(res))
		rc = failure(r, st, res, sqlstate);
	for (i = 0; i < 4; i++)
		PQclear(got[i]);
	if (rc != DB_OK) {
		PQclear(res);
		return rc;
	}
	arena_cleanup_add(r->arena, clear_result, res);
	*out = res;
	return DB_OK;
}

enum db_status
db_ping(struct req *r)
{
	PGresult	*res;

	return db_exec(r, &ping_stmt, NULL, &res, NULL);
}
