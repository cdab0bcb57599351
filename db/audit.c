/*
 * Reading the audit trail.  Row-level security already limits a request to
 * its user's events; the owner in every WHERE clause says so again.
 */
#include "arena.h"
#include "audit.h"
#include "dbpriv.h"

#define AUDIT_COLS "id, " DB_USEC("at") ", action, resource_type, " \
	"resource_id, outcome, request_id, client_address"

/* A page: found through the index of its sort, formatted after LIMIT. */
#define AUDIT_LIST(after, order)					\
	"SELECT " AUDIT_COLS " FROM (SELECT * FROM audit_events "	\
	"WHERE user_id = $1 AND ($2::text IS NULL OR action = $2) "	\
	"AND ($7::text IS NULL OR resource_type = $7) "			\
	"AND ($8::bigint IS NULL OR resource_id = $8) "			\
	"AND " after " ORDER BY " order					\
	" LIMIT $5 OFFSET $6) e ORDER BY " order
#define LIST_ARGS	"UQCDLOQQ"
#define LIST_FLAGS	(DB_PER_CALL | DB_READ)

static struct db_stmt list[] = {
	DB_LIST_BY_ID("audit_list_id", AUDIT_LIST, 8, LIST_FLAGS, LIST_ARGS),
	DB_LIST_BY("audit_list_at", AUDIT_LIST, DB_AFTER_TIME, "at", 8,
	    LIST_FLAGS, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == AUDIT_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "audit_count",
    "SELECT count(*) FROM audit_events "
    "WHERE user_id = $1 AND ($2::text IS NULL OR action = $2) "
    "AND ($3::text IS NULL OR resource_type = $3) "
    "AND ($4::bigint IS NULL OR resource_id = $4)", 4, LIST_FLAGS, "UQQQ",
    0 };

static const int key_col[AUDIT_SORT__MAX] = {
	[AUDIT_SORT_ID] = AUDIT_ID,
	[AUDIT_SORT_AT] = AUDIT_AT,
};

const struct db_collection db_audit_events = {
	&count, list, key_col, AUDIT_SORT__MAX, AUDIT_FILTER__MAX, 0, 0,
	0,
};

/* Every event about a patient, whoever caused it: app_disclosures()
 * checks that the patient is the caller's. */
static struct db_stmt disclosures = { "patient_disclosures",
    "SELECT " AUDIT_COLS ", user_id FROM app_disclosures($1) ORDER BY id", 1,
    DB_READ, NULL, 0 };

enum db_status
db_export_disclosures(struct db_ctx *ctx, int64_t patient_id,
    int (*fn)(void *, const struct db_row *), void *arg)
{
	const char	**p = arena_alloc(ctx->arena, sizeof(*p));

	p[0] = db_i64(ctx, patient_id);
	return db_each(ctx, &disclosures, p, fn, arg);
}
