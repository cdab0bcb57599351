/*
 * Reading the audit trail.  Row-level security already limits a request to
 * its user's events; the owner in every WHERE clause says so again.
 */
#include <stdlib.h>

#include "audit.h"
#include "dbpriv.h"
#include "list.h"
#include "req.h"

#define AUDIT_COLS "id, " DB_USEC("at") ", action, resource_type, " \
	"resource_id, status, request_id, client_address"

#define AUDIT_WHERE							\
	"WHERE user_id = $1 AND ($2::text IS NULL OR action = $2) "	\
	"AND ($7::text IS NULL OR resource_type = $7) "			\
	"AND ($8::bigint IS NULL OR resource_id = $8) "

/* A page: found through the index of its sort, formatted after LIMIT. */
#define AUDIT_LIST(after, order)					\
	"SELECT " AUDIT_COLS " FROM (SELECT * FROM audit_events "	\
	AUDIT_WHERE "AND " after " ORDER BY " order			\
	" LIMIT $5 OFFSET $6) e ORDER BY " order

enum stmt {
	STMT_COUNT,
	STMT_LIST,	/* AUDIT_SORT__MAX * 2 statements: asc, desc */
	STMT__MAX = STMT_LIST + AUDIT_SORT__MAX * 2
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_COUNT] = { "audit_count",
	    "SELECT count(*) FROM audit_events "
	    "WHERE user_id = $1 AND ($2::text IS NULL OR action = $2) "
	    "AND ($3::text IS NULL OR resource_type = $3) "
	    "AND ($4::bigint IS NULL OR resource_id = $4)", 4,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 0] = { "audit_list_id",
	    AUDIT_LIST(DB_AFTER_ID(">"), "id"), 8, DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 1] = { "audit_list_id_desc",
	    AUDIT_LIST(DB_AFTER_ID("<"), "id DESC"), 8,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 2] = { "audit_list_at",
	    AUDIT_LIST(DB_AFTER_TIME("at", ">"), "at, id"), 8,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 3] = { "audit_list_at_desc",
	    AUDIT_LIST(DB_AFTER_TIME("at", "<"), "at DESC, id DESC"), 8,
	    DB_PER_CALL | DB_READ, 0 },
};

/* The column of each sort's cursor key in AUDIT_COLS. */
static const int key_col[AUDIT_SORT__MAX] = { 0, 1 };

enum db_status
db_audit_list(struct req *r, int64_t owner, const struct list_params *lp,
    struct audit_event **rows, struct page *pg)
{
	const char	*params[] = { db_i64(r, owner),
			    lp->filters[AUDIT_FILTER_ACTION],
			    lp->has_after ? lp->after_key : NULL,
			    lp->has_after ? db_i64(r, lp->after_id) : NULL,
			    db_i64(r, lp->limit + 1), db_i64(r, lp->offset),
			    lp->filters[AUDIT_FILTER_RESOURCE_TYPE],
			    lp->filters[AUDIT_FILTER_RESOURCE_ID] };
	PGresult	*res;
	enum db_status	 st;
	int		 i, n;

	st = db_exec(r, &stmts[STMT_LIST + lp->sort * 2 + (lp->desc != 0)],
	    params, &res, NULL);
	if (st != DB_OK)
		return st;
	n = db_page(res, PQntuples(res), lp, key_col[lp->sort], pg);
	*rows = arena_alloc(r->arena, sizeof(**rows) * (size_t)(n + 1));
	for (i = 0; i < n; i++) {
		struct audit_event *e = &(*rows)[i];

		e->id = db_int(res, i, 0);
		e->at = db_int(res, i, 1);
		e->action = db_text(res, i, 2);
		e->resource_type = db_text(res, i, 3);
		e->resource_id = db_text(res, i, 4);
		e->status = (int)db_int(res, i, 5);
		e->request_id = db_text(res, i, 6);
		e->client_address = db_text(res, i, 7);
	}
	return DB_OK;
}

enum db_status
db_audit_count(struct req *r, int64_t owner, const struct list_params *lp,
    int64_t *total)
{
	const char	*params[] = { db_i64(r, owner),
			    lp->filters[AUDIT_FILTER_ACTION],
			    lp->filters[AUDIT_FILTER_RESOURCE_TYPE],
			    lp->filters[AUDIT_FILTER_RESOURCE_ID] };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_COUNT], params, &res, NULL)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}
