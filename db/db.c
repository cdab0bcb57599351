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

static struct db_stmt	 ping_stmt = { "ping", "SELECT 1", 0, 0, 0 };

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

enum db_status
db_exec(struct req *r, struct db_stmt *st, const char *const *params,
    PGresult **out, const char **sqlstate)
{
	PGresult	*res;
	const char	*state;

	*out = NULL;
	if (sqlstate != NULL)
		*sqlstate = NULL;
	if (db_ready() == -1)
		return DB_UNAVAILABLE;

	if (st->per_call) {
		res = PQexecParams(conn, st->sql, st->nparams, NULL, params,
		    NULL, NULL, 0);
	} else {
		if (st->prepared_on != conn_gen) {
			res = PQprepare(conn, st->name, st->sql, st->nparams,
			    NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				goto failed;
			PQclear(res);
			st->prepared_on = conn_gen;
		}
		res = PQexecPrepared(conn, st->name, st->nparams, params,
		    NULL, NULL, 0);
	}
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		arena_cleanup_add(r->arena, clear_result, res);
		*out = res;
		return DB_OK;
	default:
		break;
	}
failed:
	/* Copied: the result is cleared before the code is looked at. */
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state != NULL)
		state = arena_strdup(r->arena, state);
	if (sqlstate != NULL)
		*sqlstate = state;
	if (PQstatus(conn) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		/* Broken connection or server shutting down. */
		log_msg(r, "warn", "database unavailable in %s: %s",
		    st->name, PQerrorMessage(conn));
		PQclear(res);
		PQfinish(conn);
		conn = NULL;
		return DB_UNAVAILABLE;
	}
	PQclear(res);
	if (strncmp(state, "23", 2) == 0)	/* integrity violation */
		return DB_CONFLICT;
	if (strcmp(state, "57014") == 0) {	/* statement timeout */
		log_msg(r, "warn", "statement %s timed out", st->name);
		return DB_UNAVAILABLE;
	}
	if (strncmp(state, "P0", 2) == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
		return DB_ERROR;	/* caller inspects sqlstate */
	log_msg(r, "error", "statement %s failed: SQLSTATE %s", st->name,
	    state);
	return DB_ERROR;
}

enum db_status
db_ping(struct req *r)
{
	PGresult	*res;

	return db_exec(r, &ping_stmt, NULL, &res, NULL);
}
