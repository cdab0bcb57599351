/*
 * Queries for doctors.  The list is shared, so no statement names an owner;
 * the list statements have the shape of the patients' ones without it.
 */
#include <stdlib.h>
#include <string.h>

#include "dbpriv.h"
#include "doctors.h"
#include "list.h"
#include "req.h"

/* DOCTOR_NCOLS columns. */
#define DOCTOR_NCOLS 7
#define DOCTOR_COLS "id, name, specialization, contact_info, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

/*
 * A list page: the inner query finds the rows through the index of its
 * sort (or doctors_specialization, whose lower(specialization) the filter
 * repeats), the outer one formats only the rows that survive LIMIT.  $1 is
 * the name pattern, $2 the specialization; $3 and $4 the cursor, as the
 * DB_AFTER_* macros want.
 */
#define DOCTOR_LIST(after, order)					\
	"SELECT " DOCTOR_COLS " FROM (SELECT * FROM doctors "		\
	"WHERE ($1::text IS NULL OR name ILIKE $1) "			\
	"AND ($2::text IS NULL OR lower(specialization) = lower($2)) "	\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) d "	\
	"ORDER BY " order

enum stmt {
	STMT_CREATE,
	STMT_GET,
	STMT_UPDATE,
	STMT_DELETE,
	STMT_COUNT,
	STMT_LIST,	/* DOCTOR_SORT__MAX * 2 statements: asc, desc */
	STMT__MAX = STMT_LIST + DOCTOR_SORT__MAX * 2
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_CREATE] = { "doctor_create",
	    "INSERT INTO doctors (created_by, name, specialization, "
	    "contact_info) VALUES ($1, $2, $3, $4) RETURNING " DOCTOR_COLS,
	    4, 0, 0 },
	[STMT_GET] = { "doctor_get",
	    "SELECT " DOCTOR_COLS " FROM doctors WHERE id = $1", 1, 0, 0 },
	/*
	 * Writes check If-Match ($8, $2: the versions named, NULL for none)
	 * in the statement that writes; cur tells a missing doctor (404)
	 * from a stale version (412), as in db/patients.c.
	 */
	[STMT_UPDATE] = { "doctor_update",
	    "WITH cur AS (SELECT version FROM doctors WHERE id = $1), "
	    "upd AS (UPDATE doctors SET "
	    "  name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
	    "  specialization = CASE WHEN $4::boolean THEN $5 "
	    "  ELSE specialization END, "
	    "  contact_info = CASE WHEN $6::boolean THEN $7 "
	    "  ELSE contact_info END, "
	    "  version = version + 1, updated_at = now() "
	    "  WHERE id = $1 "
	    "  AND ($8::bigint[] IS NULL OR version = ANY ($8::bigint[])) "
	    "  RETURNING " DOCTOR_COLS ") "
	    "SELECT upd.*, (SELECT version FROM cur) "
	    "FROM (SELECT) one LEFT JOIN upd ON true", 8, 0, 0 },
	/* The RESTRICT foreign key of patient_doctors says 23503 while a
	 * mapping refers to the doctor; db_exec() makes it DB_CONFLICT. */
	[STMT_DELETE] = { "doctor_delete",
	    "WITH cur AS (SELECT version FROM doctors WHERE id = $1), "
	    "del AS (DELETE FROM doctors WHERE id = $1 "
	    "  AND ($2::bigint[] IS NULL OR version = ANY ($2::bigint[])) "
	    "  RETURNING id) "
	    "SELECT (SELECT id FROM del), (SELECT version FROM cur)", 2, 0, 0 },
	[STMT_COUNT] = { "doctor_count",
	    "SELECT count(*) FROM doctors "
	    "WHERE ($1::text IS NULL OR name ILIKE $1) "
	    "AND ($2::text IS NULL OR lower(specialization) = lower($2))",
	    2, DB_PER_CALL, 0 },
	[STMT_LIST + 0] = { "doctor_list_id",
	    DOCTOR_LIST(DB_AFTER_ID(">"), "id"), 6, DB_PER_CALL, 0 },
	[STMT_LIST + 1] = { "doctor_list_id_desc",
	    DOCTOR_LIST(DB_AFTER_ID("<"), "id DESC"), 6, DB_PER_CALL, 0 },
	[STMT_LIST + 2] = { "doctor_list_name",
	    DOCTOR_LIST(DB_AFTER_TEXT("name", ">"), "name, id"), 6, DB_PER_CALL, 0 },
	[STMT_LIST + 3] = { "doctor_list_name_desc",
	    DOCTOR_LIST(DB_AFTER_TEXT("name", "<"), "name DESC, id DESC"),
	    6, DB_PER_CALL, 0 },
	[STMT_LIST + 4] = { "doctor_list_created",
	    DOCTOR_LIST(DB_AFTER_TIME("created_at", ">"), "created_at, id"),
	    6, DB_PER_CALL, 0 },
	[STMT_LIST + 5] = { "doctor_list_created_desc",
	    DOCTOR_LIST(DB_AFTER_TIME("created_at", "<"),
	    "created_at DESC, id DESC"), 6, DB_PER_CALL, 0 },
	[STMT_LIST + 6] = { "doctor_list_updated",
	    DOCTOR_LIST(DB_AFTER_TIME("updated_at", ">"), "updated_at, id"),
	    6, DB_PER_CALL, 0 },
	[STMT_LIST + 7] = { "doctor_list_updated_desc",
	    DOCTOR_LIST(DB_AFTER_TIME("updated_at", "<"),
	    "updated_at DESC, id DESC"), 6, DB_PER_CALL, 0 },
};

/* The column of each sort's cursor key in DOCTOR_COLS. */
static const int key_col[DOCTOR_SORT__MAX] = { 0, 1, 5, 6 };

static void
doctor_row(PGresult *res, int i, struct doctor *d)
{
	d->id = db_int(res, i, 0);
	d->name = db_text(res, i, 1);
	d->specialization = db_text(res, i, 2);
	d->contact_info = db_text(res, i, 3);
	d->version = db_int(res, i, 4);
	d->created_at = db_int(res, i, 5);
	d->updated_at = db_int(res, i, 6);
}

static enum db_status
one_doctor(struct req *r, enum stmt s, const char *const *params,
    struct doctor *d)
{
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[s], params, &res, NULL)) != DB_OK)
		return st;
	if (PQntuples(res) == 0)
		return DB_NOTFOUND;
	doctor_row(res, 0, d);
	return DB_OK;
}

enum db_status
db_doctor_create(struct req *r, int64_t creator,
    const struct doctor_write *w, struct doctor *d)
{
	const char	*params[] = { db_i64(r, creator), w->name,
			    w->specialization, w->contact_info };

	return one_doctor(r, STMT_CREATE, params, d);
}

enum db_status
db_doctor_get(struct req *r, int64_t id, struct doctor *d)
{
	const char	*params[] = { db_i64(r, id) };

	return one_doctor(r, STMT_GET, params, d);
}

static const char *
flag(int set)
{
	return set ? "t" : "f";
}

/*
 * The answer of a write that checked If-Match: the doctor as written, or
 * DB_NOTFOUND (no version: no such doctor) or DB_STALE.
 */
static enum db_status
written(PGresult *res, int version_col, struct doctor *d)
{
	if (db_text(res, 0, version_col) == NULL)
		return DB_NOTFOUND;
	if (db_text(res, 0, 0) == NULL)
		return DB_STALE;
	if (d != NULL)
		doctor_row(res, 0, d);
	return DB_OK;
}

enum db_status
db_doctor_update(struct req *r, int64_t id, const struct doctor_write *w,
    const char *if_match, struct doctor *d)
{
	const char	*params[] = { db_i64(r, id),
			    flag(w->set_name), w->name,
			    flag(w->set_specialization), w->specialization,
			    flag(w->set_contact_info), w->contact_info,
			    if_match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_UPDATE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	return written(res, DOCTOR_NCOLS, d);
}

enum db_status
db_doctor_delete(struct req *r, int64_t id, const char *if_match)
{
	const char	*params[] = { db_i64(r, id), if_match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_DELETE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	return written(res, 1, NULL);
}

enum db_status
db_doctor_list(struct req *r, const struct list_params *lp,
    struct doctor **rows, struct page *pg)
{
	const char	*params[] = {
			    db_like(r, lp->filters[DOCTOR_FILTER_Q]),
			    lp->filters[DOCTOR_FILTER_SPECIALIZATION],
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
			doctor_row(res, i, &(*rows)[i]);
	return DB_OK;
}

enum db_status
db_doctor_count(struct req *r, const struct list_params *lp, int64_t *total)
{
	const char	*params[] = {
			    db_like(r, lp->filters[DOCTOR_FILTER_Q]),
			    lp->filters[DOCTOR_FILTER_SPECIALIZATION] };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_COUNT], params, &res, NULL)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}
