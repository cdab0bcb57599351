/*
 * Queries for patient-doctor mappings.  Every statement names the owner
 * ($1) next to the patient or mapping id, so another user's patient or
 * mapping is simply not found.  Creating a mapping and listing a patient's
 * doctors each answer every outcome (missing patient, missing doctor, pair
 * already mapped; missing patient or empty page) in one round trip, so
 * there is no read-then-write race and no second query.
 */
#include <stdlib.h>
#include <string.h>

#include "dbpriv.h"
#include "list.h"
#include "log.h"
#include "mappings.h"
#include "req.h"

#define MAPPING_COLS "id, patient_id, doctor_id, " DB_USEC("created_at")

/*
 * A page of the owner's mappings, as the patients' lists do it.  $2 and $7
 * are the patientId and doctorId filters; $3 and $4 the cursor, as the
 * DB_AFTER_* macros want, and $5 and $6 limit and offset as everywhere.
 */
#define MAPPING_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, status) VALUES ('list', 'mapping', 200)) " \
	"SELECT " MAPPING_COLS " FROM (SELECT * FROM patient_doctors "	\
	"WHERE user_id = $1 AND ($2::bigint IS NULL OR patient_id = $2) "\
	"AND ($7::bigint IS NULL OR doctor_id = $7) "			\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) m "	\
	"ORDER BY " order

#define MAPPED_COLS "id, name, specialization, contact_info, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at") ", mapping_id, " \
	DB_USEC("assigned_at")

/*
 * A page of the doctors of owner's ($1) patient $2.  p has a row only when
 * the patient is the owner's, and no columns, so that the names of the
 * page's rows stay unambiguous for the DB_AFTER_* macros and ORDER BY:
 * no row at all means 404; one row of NULLs, a patient with no doctors on
 * this page.  p is where ownership is checked; the mappings need no
 * user_id term, as their foreign key keeps it equal to the patient's, and
 * one would only tempt the planner into a bitmap AND with the user's index.
 *
 * The id of a row is the doctor's, taken from the mapping, so that the id
 * sort and its cursor are a range of the (patient_id, doctor_id) unique
 * index.  The doctor is then fetched by its key, row by row (OFFSET 0 keeps
 * the planner from turning that into a merge join that would walk
 * doctors_pkey from its start to the cursor: a cost growing with the
 * doctors table).  The name, assignedAt and createdAt sorts order one
 * patient's mappings, so their cost is bounded by that patient's doctors.
 */
#define MAPPED_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, resource_id, status) "			\
	"SELECT 'list', 'patient', $2, CASE WHEN EXISTS (SELECT FROM "	\
	"patients WHERE id = $2 AND user_id = $1) THEN 200 ELSE 404 END) " \
	"SELECT " MAPPED_COLS " FROM (SELECT FROM patients "		\
	"WHERE id = $2 AND user_id = $1) p LEFT JOIN (SELECT * FROM "	\
	"(SELECT m.doctor_id AS id, d.name, d.specialization, "	\
	"d.contact_info, d.version, d.created_at, d.updated_at, "	\
	"m.id AS mapping_id, m.created_at AS assigned_at "		\
	"FROM patient_doctors m CROSS JOIN LATERAL (SELECT * FROM "	\
	"doctors WHERE id = m.doctor_id OFFSET 0) d "			\
	"WHERE m.patient_id = $2) a "					\
	"WHERE " after " ORDER BY " order " LIMIT $5 OFFSET $6) x ON true "\
	"ORDER BY " order

enum stmt {
	STMT_CREATE,
	STMT_DELETE,
	STMT_COUNT,
	STMT_COUNT_BY_PATIENT,
	STMT_LIST,	/* MAPPING_SORT__MAX * 2 statements: asc, desc */
	STMT_LIST_BY_PATIENT = STMT_LIST + MAPPING_SORT__MAX * 2,
			/* MAPPED_DOCTOR_SORT__MAX * 2 more */
	STMT__MAX = STMT_LIST_BY_PATIENT + MAPPED_DOCTOR_SORT__MAX * 2
};

static struct db_stmt stmts[STMT__MAX] = {
	/*
	 * p and d lock the patient and the doctor (FOR KEY SHARE, the lock
	 * the foreign keys would take anyway), so neither can be deleted
	 * between the check and the insert: a concurrent delete either
	 * waits for us (and then a doctor's fails with 409, being assigned)
	 * or commits first, and then its row is skipped here and the answer
	 * is 404.  ON CONFLICT DO NOTHING makes a repeated pair an empty
	 * ins rather than an error, also when two requests race.  The one
	 * row says: patient found, doctor found, and the mapping if made.
	 */
	[STMT_CREATE] = { "mapping_create",
	    "WITH p AS (SELECT id, user_id FROM patients "
	    "WHERE id = $2 AND user_id = $1 FOR KEY SHARE), "
	    "d AS (SELECT id FROM doctors WHERE id = $3 FOR KEY SHARE), "
	    "ins AS (INSERT INTO patient_doctors (patient_id, user_id, "
	    "doctor_id) SELECT p.id, p.user_id, d.id FROM p, d "
	    "ON CONFLICT (patient_id, doctor_id) DO NOTHING "
	    "RETURNING id, patient_id, doctor_id, created_at) "
	    "SELECT EXISTS (SELECT FROM p), EXISTS (SELECT FROM d), "
	    "i.id, i.patient_id, i.doctor_id, " DB_USEC("i.created_at") " "
	    "FROM (VALUES (1)) one (x) LEFT JOIN ins i ON true", 3, 0, 0 },
	[STMT_DELETE] = { "mapping_delete",
	    "DELETE FROM patient_doctors WHERE id = $2 AND user_id = $1",
	    2, 0, 0 },
	[STMT_COUNT] = { "mapping_count",
	    "SELECT count(*) FROM patient_doctors WHERE user_id = $1 "
	    "AND ($2::bigint IS NULL OR patient_id = $2) "
	    "AND ($3::bigint IS NULL OR doctor_id = $3)", 3,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_COUNT_BY_PATIENT] = { "mapping_count_by_patient",
	    "SELECT count(*) FROM patient_doctors "
	    "WHERE patient_id = $2 AND user_id = $1", 2, DB_READ, 0 },
	[STMT_LIST + 0] = { "mapping_list_id",
	    MAPPING_LIST(DB_AFTER_ID(">"), "id"), 7,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 1] = { "mapping_list_id_desc",
	    MAPPING_LIST(DB_AFTER_ID("<"), "id DESC"), 7,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 2] = { "mapping_list_created",
	    MAPPING_LIST(DB_AFTER_TIME("created_at", ">"), "created_at, id"), 7,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST + 3] = { "mapping_list_created_desc",
	    MAPPING_LIST(DB_AFTER_TIME("created_at", "<"),
	    "created_at DESC, id DESC"), 7,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 0] = { "mapping_list_by_patient_id",
	    MAPPED_LIST(DB_AFTER_ID(">"), "id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 1] = { "mapping_list_by_patient_id_desc",
	    MAPPED_LIST(DB_AFTER_ID("<"), "id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 2] = { "mapping_list_by_patient_name",
	    MAPPED_LIST(DB_AFTER_TEXT("name", ">"), "name, id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 3] = { "mapping_list_by_patient_name_desc",
	    MAPPED_LIST(DB_AFTER_TEXT("name", "<"), "name DESC, id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 4] = { "mapping_list_by_patient_assigned",
	    MAPPED_LIST(DB_AFTER_TIME("assigned_at", ">"),
	    "assigned_at, id"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 5] = {
	    "mapping_list_by_patient_assigned_desc",
	    MAPPED_LIST(DB_AFTER_TIME("assigned_at", "<"),
	    "assigned_at DESC, id DESC"), 6,
	    DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 6] = { "mapping_list_by_patient_created",
	    MAPPED_LIST(DB_AFTER_TIME("created_at", ">"),
	    "created_at, id"), 6, DB_PER_CALL | DB_READ, 0 },
	[STMT_LIST_BY_PATIENT + 7] = {
	    "mapping_list_by_patient_created_desc",
	    MAPPED_LIST(DB_AFTER_TIME("created_at", "<"),
	    "created_at DESC, id DESC"), 6, DB_PER_CALL | DB_READ, 0 },
};

/* The column of each sort's cursor key in MAPPING_COLS. */
static const int key_col[MAPPING_SORT__MAX] = { 0, 3 };
/* The column of each sort's cursor key in MAPPED_COLS. */
static const int mapped_key_col[MAPPED_DOCTOR_SORT__MAX] = { 0, 1, 8, 5 };

static void
mapping_row(PGresult *res, int i, struct mapping *m, int col)
{
	m->id = db_int(res, i, col);
	m->patient_id = db_int(res, i, col + 1);
	m->doctor_id = db_int(res, i, col + 2);
	m->created_at = db_int(res, i, col + 3);
}

static void
mapped_row(PGresult *res, int i, struct mapped_doctor *md)
{
	md->doctor.id = db_int(res, i, 0);
	md->doctor.name = db_text(res, i, 1);
	md->doctor.specialization = db_text(res, i, 2);
	md->doctor.contact_info = db_text(res, i, 3);
	md->doctor.version = db_int(res, i, 4);
	md->doctor.created_at = db_int(res, i, 5);
	md->doctor.updated_at = db_int(res, i, 6);
	md->mapping_id = db_int(res, i, 7);
	md->assigned_at = db_int(res, i, 8);
}

static int
is_true(PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

enum db_status
db_mapping_create(struct req *r, int64_t owner, int64_t patient_id,
    int64_t doctor_id, struct mapping *m, enum mapping_missing *missing)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, patient_id),
			    db_i64(r, doctor_id) };
	PGresult	*res;
	enum db_status	 st;

	/*
	 * DB_CONFLICT from db_exec() would be a foreign key violation: a
	 * patient or doctor gone between the locks and the insert, which
	 * the locks rule out.  Should it happen, it is reported as the
	 * pair's conflict, 409, which a client may retry.
	 */
	if ((st = db_exec(r, &stmts[STMT_CREATE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	if (PQntuples(res) != 1) {
		log_msg(r, "error", "statement %s gave %d rows, not 1",
		    stmts[STMT_CREATE].name, PQntuples(res));
		return DB_ERROR;
	}
	if (!is_true(res, 0, 0)) {
		*missing = MAPPING_MISSING_PATIENT;
		return DB_NOTFOUND;
	}
	if (!is_true(res, 0, 1)) {
		*missing = MAPPING_MISSING_DOCTOR;
		return DB_NOTFOUND;
	}
	if (PQgetisnull(res, 0, 2))
		return DB_CONFLICT;
	mapping_row(res, 0, m, 2);
	return DB_OK;
}

enum db_status
db_mapping_delete(struct req *r, int64_t owner, int64_t id)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, id) };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_DELETE], params, &res, NULL)) !=
	    DB_OK)
		return st;
	return strcmp(PQcmdTuples(res), "0") == 0 ? DB_NOTFOUND : DB_OK;
}

enum db_status
db_mapping_list(struct req *r, int64_t owner, const struct list_params *lp,
    struct mapping **rows, struct page *pg)
{
	const char	*params[] = { db_i64(r, owner),
			    lp->filters[MAPPING_FILTER_PATIENT],
			    lp->has_after ? lp->after_key : NULL,
			    lp->has_after ? db_i64(r, lp->after_id) : NULL,
			    db_i64(r, lp->limit + 1), db_i64(r, lp->offset),
			    lp->filters[MAPPING_FILTER_DOCTOR] };
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
			mapping_row(res, i, &(*rows)[i], 0);
	return DB_OK;
}

enum db_status
db_mapping_count(struct req *r, int64_t owner, const struct list_params *lp,
    int64_t *total)
{
	const char	*params[] = { db_i64(r, owner),
			    lp->filters[MAPPING_FILTER_PATIENT],
			    lp->filters[MAPPING_FILTER_DOCTOR] };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_COUNT], params, &res, NULL)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}

enum db_status
db_mapping_list_by_patient(struct req *r, int64_t owner, int64_t patient_id,
    const struct list_params *lp, struct mapped_doctor **rows,
    struct page *pg)
{
	const char	*params[] = { db_i64(r, owner), db_i64(r, patient_id),
			    lp->has_after ? lp->after_key : NULL,
			    lp->has_after ? db_i64(r, lp->after_id) : NULL,
			    db_i64(r, lp->limit + 1), db_i64(r, lp->offset) };
	PGresult	*res;
	enum db_status	 st;
	int		 i, n, got;

	st = db_exec(r, &stmts[STMT_LIST_BY_PATIENT + lp->sort * 2 +
	    (lp->desc != 0)], params, &res, NULL);
	if (st != DB_OK)
		return st;
	got = PQntuples(res);
	if (got == 0)
		return DB_NOTFOUND;
	/* The patient's row with no doctor joined: an empty page. */
	if (got == 1 && PQgetisnull(res, 0, 0))
		got = 0;
	n = db_page(res, got, lp, mapped_key_col[lp->sort], pg);
	*rows = arena_alloc(r->arena, sizeof(**rows) * (size_t)(n + 1));
	for (i = 0; i < n; i++)
			mapped_row(res, i, &(*rows)[i]);
	return DB_OK;
}

enum db_status
db_mapping_count_by_patient(struct req *r, int64_t owner, int64_t patient_id,
    int64_t *total)
{
	const char	*params[] = { db_i64(r, owner),
			    db_i64(r, patient_id) };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[STMT_COUNT_BY_PATIENT], params, &res,
	    NULL)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}
