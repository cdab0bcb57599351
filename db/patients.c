/*
 * The statements of patients (patients.h).  Every one names the owner
 * next to the id; the order of their parameters is their args (record.c).
 */
#include <string.h>

#include "dbpriv.h"
#include "patients.h"

#define PATIENT_COLS "id, name, age, gender, address, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at") ", " \
	DB_USEC("deleted_at") " AS deleted_at"

/* The filters, in the order of enum patient_filter: $2, then name,
 * gender and id. */
#define FILTERS(name, gender, id)					\
	"($2::text IS NULL OR name ILIKE $2) "				\
	"AND ($" name "::text IS NULL OR name ILIKE $" name		\
	" OR name ILIKE '% ' || $" name ") "				\
	"AND ($" gender "::text IS NULL OR gender = $" gender ") "	\
	"AND ($" id "::bigint IS NULL OR id = $" id "::bigint) "

/*
 * A list page: the inner query finds the rows through the index of its
 * sort, the outer one formats only the rows that survive LIMIT.  The
 * audit row goes in with the read.
 */
#define PATIENT_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, outcome) VALUES ('list', 'patient', 'found')) " \
	"SELECT " PATIENT_COLS " FROM (SELECT * FROM patients "	\
	"WHERE user_id = $1 AND deleted_at IS NULL AND "		\
	FILTERS("7", "8", "9")						\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) p "	\
	"ORDER BY " order
#define LIST_ARGS	"UQCDLOQQQ"
#define LIST_FLAGS	(DB_PER_CALL | DB_READ)

static struct db_stmt list[] = {
	DB_LIST_BY_ID("patient_list_id", PATIENT_LIST, 9, LIST_FLAGS,
	    LIST_ARGS),
	DB_LIST_BY("patient_list_name", PATIENT_LIST, DB_AFTER_TEXT, "name",
	    9, LIST_FLAGS, LIST_ARGS),
	DB_LIST_BY("patient_list_created", PATIENT_LIST, DB_AFTER_TIME,
	    "created_at", 9, LIST_FLAGS, LIST_ARGS),
	DB_LIST_BY("patient_list_updated", PATIENT_LIST, DB_AFTER_TIME,
	    "updated_at", 9, LIST_FLAGS, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == PATIENT_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "patient_count",
    "SELECT count(*) FROM patients WHERE user_id = $1 "
    "AND deleted_at IS NULL AND " FILTERS("3", "4", "5"), 5,
    LIST_FLAGS, "UQQQQ", 0 };

/* The column of each sort's cursor key. */
static const int key_col[PATIENT_SORT__MAX] = {
	[PATIENT_SORT_ID] = PATIENT_ID,
	[PATIENT_SORT_NAME] = PATIENT_NAME,
	[PATIENT_SORT_CREATED] = PATIENT_CREATED,
	[PATIENT_SORT_UPDATED] = PATIENT_UPDATED,
};

const struct db_collection db_patient_list = {
	&count, list, key_col, PATIENT_SORT__MAX, PATIENT_FILTER__MAX,
	1u << PATIENT_FILTER_Q, 1u << PATIENT_FILTER_NAME, 0,
};

static struct db_stmt create = { "patient_create",
    "INSERT INTO patients (user_id, name, age, gender, address) "
    "VALUES ($1, $2, $3::integer, $4, $5) RETURNING " PATIENT_COLS,
    5, 0, "UF", 0 };

/*
 * The read and its audit row: absent, gone (deleted), unchanged when the
 * caller already has the version ($3, or any with $4: If-None-Match), else
 * found.
 */
static struct db_stmt get = { "patient_get",
    "WITH p AS (SELECT " PATIENT_COLS " FROM patients "
    "  WHERE id = $2 AND user_id = $1), "
    "audit AS (INSERT INTO audit_events "
    "  (action, resource_type, resource_id, outcome) "
    "  SELECT 'read', 'patient', $2, "
    "  CASE WHEN NOT EXISTS (SELECT FROM p) THEN 'absent' "
    "  WHEN (SELECT deleted_at FROM p) IS NOT NULL THEN 'gone' "
    "  WHEN $4::boolean OR (SELECT version FROM p) = ANY ($3::bigint[]) "
    "  THEN 'unchanged' ELSE 'found' END) "
    "SELECT * FROM p", 4, DB_READ, "UIKA", 0 };

/*
 * Writes check the versions required ($11, $3: NULL for none) in the
 * statement that writes, so no other write can come between the check
 * and the change; cur tells a missing or deleted record from a stale
 * version (record.c, written()).  Every write makes a new version: a
 * trigger counts them (migration 007), so the statements do not.
 */
#define CUR	"WITH cur AS (SELECT version, deleted_at FROM patients "	\
		"  WHERE id = $2 AND user_id = $1), "
#define CUR_COLS "(SELECT version FROM cur), (SELECT " \
		DB_USEC("deleted_at") " FROM cur)"

static struct db_stmt update = { "patient_update",
    CUR
    "upd AS (UPDATE patients SET "
    "  name = CASE WHEN $3::boolean THEN $4 ELSE name END, "
    "  age = CASE WHEN $5::boolean THEN $6::integer ELSE age END, "
    "  gender = CASE WHEN $7::boolean THEN $8 ELSE gender END, "
    "  address = CASE WHEN $9::boolean THEN $10 ELSE address END, "
    "  updated_at = now() "
    "  WHERE id = $2 AND user_id = $1 AND deleted_at IS NULL "
    "  AND ($11::bigint[] IS NULL OR version = ANY ($11::bigint[])) "
    "  RETURNING " PATIENT_COLS ") "
    "SELECT upd.*, " CUR_COLS " "
    "FROM (SELECT) one LEFT JOIN upd ON true", 11, 0, "UIPM", 0 };

/* A delete marks the patient, as a new version; the purge removes it. */
static struct db_stmt remove_ = { "patient_delete",
    CUR
    "del AS (UPDATE patients SET deleted_at = now() "
    "  WHERE id = $2 AND user_id = $1 AND deleted_at IS NULL "
    "  AND ($3::bigint[] IS NULL OR version = ANY ($3::bigint[])) "
    "  RETURNING id) "
    "SELECT (SELECT id FROM del), " CUR_COLS, 3, 0, "UIM", 0 };

/* Within $4 days of its deletion; the last column says whether it is
 * past them. */
static struct db_stmt restore = { "patient_restore",
    CUR
    "rst AS (UPDATE patients SET deleted_at = NULL "
    "  WHERE id = $2 AND user_id = $1 "
    "  AND deleted_at > now() - make_interval(days => $4::integer) "
    "  AND ($3::bigint[] IS NULL OR version = ANY ($3::bigint[])) "
    "  RETURNING " PATIENT_COLS ") "
    "SELECT rst.*, " CUR_COLS ", (SELECT deleted_at <= now() - "
    "  make_interval(days => $4::integer) FROM cur) "
    "FROM (SELECT) one LEFT JOIN rst ON true", 4, 0, "UIMR", 0 };

/*
 * History: the versions of the owner's ($1) patient $2, as a patient's
 * doctors are paged (db/mappings.c): p has a row only when the patient
 * is the owner's, deleted or not.  A version's id, for the cursor and
 * the id sort's macros, is its number.
 */
#define VERSION_COLS "v.version, v.op, " DB_USEC("v.at") ", v.by_user, " \
	"v.patient_id, v.name, v.age, v.gender, v.address, v.version, " \
	DB_USEC("v.created_at") ", " DB_USEC("v.updated_at") ", NULL"
#define HISTORY_AUDIT(found)						\
	"audit AS (INSERT INTO audit_events "				\
	"(action, resource_type, resource_id, outcome) "		\
	"SELECT 'history', 'patient', $2, CASE WHEN " found		\
	" THEN 'found' ELSE 'absent' END) "
#define OWNED	"SELECT FROM patients WHERE id = $2 AND user_id = $1"
#define HISTORY(after, order)						\
	"WITH " HISTORY_AUDIT("EXISTS (" OWNED ")")			\
	"SELECT " VERSION_COLS " FROM (" OWNED ") p LEFT JOIN (SELECT * "	\
	"FROM (SELECT version AS id, * FROM patient_versions "		\
	"WHERE patient_id = $2) x WHERE " after " ORDER BY " order	\
	" LIMIT $5 OFFSET $6) v ON true ORDER BY " order

static struct db_stmt history[] = {
	DB_LIST_BY_ID("patient_history", HISTORY, 6, DB_PER_CALL | DB_READ,
	    "USCDLO"),
};

static struct db_stmt history_count = { "patient_history_count",
    "SELECT count(*) FROM patient_versions WHERE patient_id = $2 "
    "AND user_id = $1", 2, DB_READ, "US", 0 };

static const int history_key[] = { HISTORY_VERSION };

const struct db_collection db_patient_history = {
	&history_count, history, history_key, DB_NELEMS(history_key), 0, 0,
	0, DB_SCOPED,
};

static struct db_stmt version = { "patient_version",
    "WITH v AS (SELECT * FROM patient_versions WHERE patient_id = $2 "
    "  AND version = $3 AND EXISTS (" OWNED ")), "
    HISTORY_AUDIT("EXISTS (SELECT FROM v)")
    "SELECT " VERSION_COLS " FROM v", 3, DB_READ, "USI", 0 };

/*
 * The export (patients.h): its audit row at once, on its own, then the
 * patient, deleted or not, and its versions in the snapshot.
 */
static struct db_stmt export_audit = { "patient_export_audit",
    "INSERT INTO audit_events (action, resource_type, resource_id, outcome) "
    "SELECT 'export', 'patient', $2, CASE WHEN EXISTS (" OWNED ") "
    "THEN 'found' ELSE 'absent' END RETURNING outcome", 2, DB_READ, NULL,
    0 };

static struct db_stmt export_record = { "patient_export_record",
    "SELECT " PATIENT_COLS " FROM patients WHERE id = $2 AND user_id = $1",
    2, DB_READ, NULL, 0 };

static struct db_stmt export_versions = { "patient_export_versions",
    "SELECT " VERSION_COLS " FROM patient_versions v "
    "WHERE patient_id = $2 AND user_id = $1 ORDER BY version", 2, DB_READ,
    NULL, 0 };

enum db_status
db_export_begin(struct db_ctx *ctx, int64_t id, struct db_row *out)
{
	const char *const	*params = db_owner_and(ctx, id);
	PGresult		*res;
	enum db_status		 st;

	if ((st = db_exec(ctx, &export_audit, params, &res)) != DB_OK)
		return st;
	if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "found") != 0)
		return DB_NOTFOUND;
	db_begin_snapshot(ctx);
	if ((st = db_exec(ctx, &export_record, params, &res)) != DB_OK)
		return st;
	/* Purged between the two. */
	if (PQntuples(res) != 1)
		return DB_NOTFOUND;
	db_row_of(ctx, res, 0, out);
	return DB_OK;
}

enum db_status
db_export_versions(struct db_ctx *ctx, int64_t id,
    int (*fn)(void *, const struct db_row *), void *arg)
{
	return db_each(ctx, &export_versions, db_owner_and(ctx, id), fn, arg);
}

const struct db_table db_patients = {
	PATIENT__NCOLS, PATIENT__NFIELDS, PATIENT_VERSION, PATIENT_DELETED,
	&create, &get, &update, &remove_, &restore, &db_patient_list,
	&db_patient_history, &version,
};
