/*
 * Queries for patients.  Every statement names the owner ($1) next to the
 * id, so another user's patient is simply not found.
 */
#include <stdlib.h>
#include <string.h>

#include "dbpriv.h"
#include "list.h"
#include "patients.h"
#include "req.h"

#define PATIENT_COLS "id, name, age, gender, address, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

/*
 * A list page: the inner query finds the rows through the index of its
 * sort, the outer one formats only the rows that survive LIMIT.  Reads
 * write their audit row in the same statement; writes are audited by the
 * triggers of 002_security.sql.
 */
#define PATIENT_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, status) VALUES ('list', 'patient', 200)) " \
	"SELECT " PATIENT_COLS " FROM (SELECT * FROM patients "	\
	"WHERE user_id = $1 AND ($2::text IS NULL OR name ILIKE $2) "	\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) p "	\
	"ORDER BY " order

enum stmt {
	STMT_CREATE,
	STMT_GET,
	STMT_UPDATE,
	STMT_DELETE,
	STMT_COUNT,
	STMT_LIST,	/* PATIENT_SORT__MAX * 2 statements: asc, desc */
	STMT__MAX = STMT_LIST + PATIENT_SORT__MAX * 2
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_CREATE] = { "patient_create",
	    "INSERT INTO patients (user_id, name, age, gender, address) "
	    "VALUES ($1, $2, $3::integer, $4, $5) RETURNING " PATIENT_COLS,
	    5, 0, 0 },
	[STMT_GET] = { "patient_get",
	    "WITH p AS (SELECT " PATIENT_COLS " FROM patients "
	    "  WHERE id = $2 AND user_id = $1), "
	    "audit AS (INSERT INTO audit_events "
	    "  (action, resource_type, resource_id, status) "
	    "  SELECT 'read', 'patient', $2, "
	    "  CASE WHEN NOT EXISTS (SELECT FROM p) THEN 404 "
	    "  WHEN $4::boolean OR (SELECT version FROM p) = ANY ($3::bigint[]) "
	    "  THEN 304 ELSE 200 END) "
	    "SELECT * FROM p", 4, DB_READ, 0 },
	/*
	 * Writes check If-Match ($11, $3: the versions named, NULL for
	 * none) in the statement that writes, so no other write can come
	 * between the check and the change; cur tells a missing record
	 * (404) from a stale version (412).
	 */
	[STMT_UPDATE] = { "patient_update",
	    "WITH cur AS (SELECT version FROM patients "
	    "  WHERE id = $2 AND user_id = $1), "
	    "upd AS (UPDATE patients SET "
	    "  name = CASE WHEN $3::boolean THEN $4 ELSE name END, "
	    "  age = CASE WHEN $5::boolean THEN $6::integer ELSE age END, "
	    "  gender = CASE WHEN $7::boolean THEN $8 ELSE gender END, "
	    "  address = CASE WHEN $9::boolean THEN $10 ELSE address END, "
	    "  version = version + 1, updated_at = now() "
	    "  WHERE id = $2 AND user_id = $1 "
	    "  AND ($11::bigint[] IS NULL OR version = ANY ($11::bigint[])) "
	    "  RETURNING " PATIENT_COLS ") "
	    "SELECT upd.*, (SELECT version FROM cur) "
	    "FROM (SELECT) one LEFT JOIN upd ON true", 11, 0, 0 },
	[STMT_DELETE] = { "patient_delete",
	    "WITH cur AS (SELECT version FROM patients "
	    "  WHERE id = $2 AND user_id = $1), "
	    "del AS (DELETE FROM patients WHERE id = $2 AND user_id = $1 "
	    "  AND ($3::bigint[] IS NULL OR version = ANY ($3::bigint[])) "
	    "  RETURNING id) "
	    "SELECT (SELECT id FROM del), (SELECT version FROM cur)", 3, 0, 0 },
	[STMT_COUNT] = { "patient_count",
	    "SELECT count(*) FROM patients WHERE user_id = $1 "
	    "AND ($2::text IS NULL OR name ILIKE $2)", 2,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 0] = { "patient_list_id",
	    PATIENT_LIST(DB_AFTER_ID(">"), "id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 1] = { "patient_list_id_desc",
	    PATIENT_LIST(DB_AFTER_ID("<"), "id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 2] = { "patient_list_name",
	    PATIENT_LIST(DB_AFTER_TEXT("name", ">"), "name, id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 3] = { "patient_list_name_desc",
	    PATIENT_LIST(DB_AFTER_TEXT("name", "<"), "name DESC, id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 4] = { "patient_list_created",
	    PATIENT_LIST(DB_AFTER_TIME("created_at", ">"), "created_at, id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 5] = { "patient_list_created_desc",
	    PATIENT_LIST(DB_AFTER_TIME("created_at", "<"),
	    "created_at DESC, id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 6] = { "patient_list_updated",
	    PATIENT_LIST(DB_AFTER_TIME("updated_at", ">"), "updated_at, id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 7] = { "patient_list_updated_desc",
	    PATIENT_LIST(DB_AFTER_TIME("updated_at", "<"),
	    "updated_at DESC, id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
};

/* The column of each sort's cursor key in PATIENT_COLS. */
static const int key_col[PATIENT_SORT__MAX] = { 0, 1, 6, 7 };

static void
patient_row(PGresult *res, int i, struct patient *p)
{
	p->id = db_int(res, i, 0);
	p->name = db_text(res, i, 1);
	p->age = db_text(res, i, 2);
	p->gender = db_text(res, i, 3);
	p->address = db_text(res, i, 4);
	p->version = db_int(res, i, 5);
	p->created_at = db_int(res, i, 6);
	p->updated_at = db_int(res, i, 7);
}

static enum db_status
one_patient(struct req *r, enum stmt s, const char *const *params,
    struct patient *p)
{
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[s], params, &res, NULL)) != DB_OK)
		return st;
	if (PQntuples(res) == 0)
		return DB_NOTFOUND;
	patient_row(res, 0, p);
	return DB_OK;
}

enum db_status
db_patient_create(struct req *r, int64_t owner,
    const struct patient_write *w, struct patient *p)
{
	const char	*params[] = { db_i64(r, owner), w->name, w->age,
			    w->gender, w->address };

	return one_patient(r, STMT_CREATE, params, p);
}

enum db_status
db_patient_get(struct req *r, int64_t owner, int64_t id,
    const char *inm_versions, int inm_any, struct patient *p)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, id),
			    inm_versions, inm_any ? "t" : "f" };

	return one_patient(r, STMT_GET, params, p);
}

static const char *
flag(int set)
{
	return set ? "t" : "f";
}

/*
 * The answer of a write that checked If-Match: the record as written, or
 * DB_NOTFOUND (no version: no such record of owner's) or DB_STALE.
 */
static enum db_status
written(PGresult *res, int version_col, struct patient *p)
{
	if (db_text(res, 0, version_col) == NULL)
		return DB_NOTFOUND;
	if (db_text(res, 0, 0) == NULL)
		return DB_STALE;
	if (p != NULL)
		patient_row(res, 0, p);
	return DB_OK;
}

enum db_status
db_patient_update(struct req *r, int64_t owner, int64_t id,
    const struct patient_write *w, const char *if_match, struct patient *p)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, id),
			    flag(w->set_name), w->name,
			    flag(w->set_age), w->age,
			    flag(w->set_gender), w->gender,
			    flag(w->set_address), w->address, if_match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_UPDATE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	return written(res, 8, p);
}

enum db_status
db_patient_delete(struct req *r, int64_t owner, int64_t id,
    const char *if_match)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, id),
			    if_match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_DELETE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	return written(res, 1, NULL);
}

enum db_status
db_patient_list(struct req *r, int64_t owner, const struct list_params *lp,
    struct patient **rows, struct page *pg)
{
	const char	*params[] = { db_i64(r, owner),
			    db_like(r, lp->filters[0]),
			    lp->has_after ? lp->after_key : NULL,
			    lp->has_after ? db_i64(r, lp->after_id) : NULL,
			    db_i64(r, lp->limit + 1), db_i64(r, lp->offset) };
	PGresult	*res;
	enum db_status	 st;
	int		 i, n;

	st = db_exec(r, &stmts[STMT_LIST + lp->sort * 2 + (lp->desc != 0)],
	    params, &res, NULL);
	if (st != DB_OK)
		return st;
	n = db_page(res, PQntuples(res), lp, key_col[lp->sort], pg);
	*rows = arena_alloc(r->arena, sizeof(**rows) * (size_t)(n + 1));
	for (i = 0; i < n; i++)
			patient_row(res, i, &(*rows)[i]);
	return DB_OK;
}

enum db_status
db_patient_count(struct req *r, int64_t owner, const struct list_params *lp,
    int64_t *total)
{
	const char	*params[] = { db_i64(r, owner),
			    db_like(r, lp->filters[0]) };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_COUNT], params, &res, NULL)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}
