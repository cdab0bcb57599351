/*
 * The statements of patient-doctor mappings (mappings.h).  Every one names
 * the owner ($1) next to the patient or mapping id, so another user's
 * patient or mapping is simply not found.  Creating a mapping and listing
 * a patient's doctors each answer every outcome (missing patient, missing
 * doctor, pair already mapped; missing patient or empty page) in one round
 * trip, so there is no read-then-write race and no second query.
 *
 * A mapping whose patient or doctor is deleted stays, left out of every
 * list and out of reach, so that it is there again when that record is
 * restored (LIVE).
 */
#include <string.h>

#include "arena.h"
#include "dbpriv.h"
#include "log.h"
#include "mappings.h"

#define MAPPING_COLS "id, patient_id, doctor_id, " DB_USEC("created_at")
#define LIVE	"NOT EXISTS (SELECT FROM patients WHERE id = patient_id "	\
	"AND deleted_at IS NOT NULL) AND NOT EXISTS (SELECT FROM doctors " \
	"WHERE id = doctor_id AND deleted_at IS NOT NULL)"

/*
 * A page of the owner's mappings, as the patients' lists do it.  $2 and $7
 * are the patientId and doctorId filters.
 */
#define MAPPING_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, outcome) VALUES ('list', 'mapping', 'found')) " \
	"SELECT " MAPPING_COLS " FROM (SELECT * FROM patient_doctors "	\
	"WHERE user_id = $1 AND ($2::bigint IS NULL OR patient_id = $2) "\
	"AND ($7::bigint IS NULL OR doctor_id = $7) AND " LIVE " "	\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) m "	\
	"ORDER BY " order
#define LIST_ARGS	"UQCDLOQ"
#define LIST_FLAGS	(DB_PER_CALL | DB_READ)

static struct db_stmt list[] = {
	DB_LIST_BY_ID("mapping_list_id", MAPPING_LIST, 7, LIST_FLAGS,
	    LIST_ARGS),
	DB_LIST_BY("mapping_list_created", MAPPING_LIST, DB_AFTER_TIME,
	    "created_at", 7, LIST_FLAGS, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == MAPPING_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "mapping_count",
    "SELECT count(*) FROM patient_doctors WHERE user_id = $1 "
    "AND ($2::bigint IS NULL OR patient_id = $2) "
    "AND ($3::bigint IS NULL OR doctor_id = $3) AND " LIVE, 3, LIST_FLAGS,
    "UQQ", 0 };

static const int key_col[MAPPING_SORT__MAX] = {
	[MAPPING_SORT_ID] = MAPPING_ID,
	[MAPPING_SORT_CREATED] = MAPPING_CREATED,
};

const struct db_collection db_mappings = {
	&count, list, key_col, MAPPING_SORT__MAX, MAPPING_FILTER__MAX, 0, 0,
	0,
};

#define LIVE_PATIENT	"SELECT FROM patients WHERE id = $2 AND user_id = $1 " \
	"AND deleted_at IS NULL"
#define MAPPED_COLS "id, name, specialization, contact_info, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at") ", NULL, " \
	"mapping_id, " DB_USEC("assigned_at")

/*
 * A page of the doctors of owner's ($1) patient $2.  p has a row only when
 * the patient is the owner's, and no columns, so that the names of the
 * page's rows stay unambiguous for the DB_AFTER_* macros and ORDER BY:
 * no row at all means the patient is absent; one row of NULLs, a patient
 * with no doctors on this page (DB_SCOPED).  p is where ownership is
 * checked; the mappings need no user_id term, as their foreign key keeps
 * it equal to the patient's, and one would only tempt the planner into a
 * bitmap AND with the user's index.
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
	"(action, resource_type, resource_id, outcome) "		\
	"SELECT 'list', 'patient', $2, CASE WHEN EXISTS (" LIVE_PATIENT	\
	") THEN 'found' ELSE 'absent' END) "				\
	"SELECT " MAPPED_COLS " FROM (" LIVE_PATIENT ") p "		\
	"LEFT JOIN (SELECT * FROM "					\
	"(SELECT m.doctor_id AS id, d.name, d.specialization, "	\
	"d.contact_info, d.version, d.created_at, d.updated_at, "	\
	"m.id AS mapping_id, m.created_at AS assigned_at "		\
	"FROM patient_doctors m CROSS JOIN LATERAL (SELECT * FROM "	\
	"doctors WHERE id = m.doctor_id AND deleted_at IS NULL "	\
	"OFFSET 0) d "							\
	"WHERE m.patient_id = $2) a "					\
	"WHERE " after " ORDER BY " order " LIMIT $5 OFFSET $6) x ON true "\
	"ORDER BY " order
#define MAPPED_ARGS	"USCDLO"

static struct db_stmt mapped_list[] = {
	DB_LIST_BY_ID("mapping_list_by_patient_id", MAPPED_LIST, 6,
	    LIST_FLAGS, MAPPED_ARGS),
	DB_LIST_BY("mapping_list_by_patient_name", MAPPED_LIST, DB_AFTER_TEXT,
	    "name", 6, LIST_FLAGS, MAPPED_ARGS),
	DB_LIST_BY("mapping_list_by_patient_assigned", MAPPED_LIST,
	    DB_AFTER_TIME, "assigned_at", 6, LIST_FLAGS, MAPPED_ARGS),
	DB_LIST_BY("mapping_list_by_patient_created", MAPPED_LIST,
	    DB_AFTER_TIME, "created_at", 6, LIST_FLAGS, MAPPED_ARGS),
};
_Static_assert(DB_NELEMS(mapped_list) == MAPPED_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt mapped_count = { "mapping_count_by_patient",
    "SELECT count(*) FROM patient_doctors "
    "WHERE patient_id = $2 AND user_id = $1 AND " LIVE, 2, DB_READ, "US",
    0 };

static const int mapped_key_col[MAPPED_SORT__MAX] = {
	[MAPPED_SORT_ID] = DOCTOR_ID,
	[MAPPED_SORT_NAME] = DOCTOR_NAME,
	[MAPPED_SORT_ASSIGNED] = MAPPED_ASSIGNED,
	[MAPPED_SORT_CREATED] = DOCTOR_CREATED,
};

const struct db_collection db_patient_doctors = {
	&mapped_count, mapped_list, mapped_key_col, MAPPED_SORT__MAX, 0, 0,
	0, DB_SCOPED,
};

/*
 * p and d lock the patient and the doctor (FOR KEY SHARE, the lock the
 * foreign keys would take anyway), so neither can be purged between the
 * check and the insert.  A delete only marks the record: one that
 * commits first makes the answer 404, one that commits after leaves the
 * new mapping out of the lists like the record's others.  ON CONFLICT DO
 * NOTHING makes a repeated pair an empty ins rather than an error, also
 * when two requests race.  The one row says: patient found, doctor found,
 * and the mapping if made.
 */
static struct db_stmt create = { "mapping_create",
    "WITH p AS (SELECT id, user_id FROM patients "
    "WHERE id = $2 AND user_id = $1 AND deleted_at IS NULL FOR KEY SHARE), "
    "d AS (SELECT id FROM doctors WHERE id = $3 AND deleted_at IS NULL "
    "FOR KEY SHARE), "
    "ins AS (INSERT INTO patient_doctors (patient_id, user_id, "
    "doctor_id) SELECT p.id, p.user_id, d.id FROM p, d "
    "ON CONFLICT (patient_id, doctor_id) DO NOTHING "
    "RETURNING id, patient_id, doctor_id, created_at) "
    "SELECT EXISTS (SELECT FROM p), EXISTS (SELECT FROM d), "
    "i.id, i.patient_id, i.doctor_id, " DB_USEC("i.created_at") " "
    "FROM (VALUES (1)) one (x) LEFT JOIN ins i ON true", 3, 0, NULL, 0 };

static struct db_stmt remove_ = { "mapping_delete",
    "DELETE FROM patient_doctors WHERE id = $2 AND user_id = $1 AND " LIVE,
    2, 0, NULL, 0 };

/* A patient's doctors for its export (patients.h), as they were assigned. */
static struct db_stmt export_doctors = { "patient_export_doctors",
    "SELECT " MAPPED_COLS " FROM (SELECT m.doctor_id AS id, d.name, "
    "d.specialization, d.contact_info, d.version, d.created_at, "
    "d.updated_at, m.id AS mapping_id, m.created_at AS assigned_at "
    "FROM patient_doctors m JOIN doctors d ON d.id = m.doctor_id "
    "AND d.deleted_at IS NULL WHERE m.patient_id = $2 AND m.user_id = $1) a "
    "ORDER BY assigned_at, id", 2, DB_READ, NULL, 0 };

enum db_status
db_export_doctors(struct db_ctx *ctx, int64_t patient_id,
    int (*fn)(void *, const struct db_row *), void *arg)
{
	return db_each(ctx, &export_doctors, db_owner_and(ctx, patient_id), fn,
	    arg);
}

static int
is_true(PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

enum db_status
db_mapping_create(struct db_ctx *ctx, int64_t patient_id, int64_t doctor_id,
    struct db_row *out, enum mapping_missing *missing)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id),
			    db_i64(ctx, patient_id), db_i64(ctx, doctor_id) };
	const char	**cell;
	PGresult	*res;
	enum db_status	 st;
	int		 c;

	/*
	 * DB_CONFLICT from db_exec() would be a foreign key violation: a
	 * patient or doctor gone between the locks and the insert, which
	 * the locks rule out.  Should it happen, it is reported as the
	 * pair's conflict, which a client may retry.
	 */
	if ((st = db_exec(ctx, &create, params, &res)) != DB_OK)
		return st;
	if (PQntuples(res) != 1) {
		log_msg(ctx->request_id, "error", "statement %s gave %d rows, "
		    "not 1", create.name, PQntuples(res));
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
	/* The mapping's columns follow the two flags. */
	cell = arena_alloc(ctx->arena, MAPPING__NCOLS * sizeof(*cell));
	for (c = 0; c < MAPPING__NCOLS; c++)
		cell[c] = db_text(res, 0, c + 2);
	out->cell = cell;
	return DB_OK;
}

enum db_status
db_mapping_delete(struct db_ctx *ctx, int64_t id)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id),
			    db_i64(ctx, id) };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(ctx, &remove_, params, &res)) != DB_OK)
		return st;
	return strcmp(PQcmdTuples(res), "0") == 0 ? DB_NOTFOUND : DB_OK;
}
