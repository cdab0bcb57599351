/*
 * The statements of patients (patients.h).  Every one names the owner
 * next to the id; the order of their parameters is their args (record.c).
 */
#include "dbpriv.h"
#include "patients.h"

#define PATIENT_COLS "id, name, age, gender, address, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

/*
 * A list page: the inner query finds the rows through the index of its
 * sort, the outer one formats only the rows that survive LIMIT.  The
 * audit row goes in with the read.
 */
#define PATIENT_LIST(after, order)					\
	"WITH audit AS (INSERT INTO audit_events "			\
	"(action, resource_type, outcome) VALUES ('list', 'patient', 'found')) " \
	"SELECT " PATIENT_COLS " FROM (SELECT * FROM patients "	\
	"WHERE user_id = $1 AND ($2::text IS NULL OR name ILIKE $2) "	\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) p "	\
	"ORDER BY " order
#define LIST_ARGS	"UQCDLO"
#define LIST_FLAGS	(DB_PER_CALL | DB_READ)

static struct db_stmt list[] = {
	DB_LIST_BY_ID("patient_list_id", PATIENT_LIST, 6, LIST_FLAGS,
	    LIST_ARGS),
	DB_LIST_BY("patient_list_name", PATIENT_LIST, DB_AFTER_TEXT, "name",
	    6, LIST_FLAGS, LIST_ARGS),
	DB_LIST_BY("patient_list_created", PATIENT_LIST, DB_AFTER_TIME,
	    "created_at", 6, LIST_FLAGS, LIST_ARGS),
	DB_LIST_BY("patient_list_updated", PATIENT_LIST, DB_AFTER_TIME,
	    "updated_at", 6, LIST_FLAGS, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == PATIENT_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "patient_count",
    "SELECT count(*) FROM patients WHERE user_id = $1 "
    "AND ($2::text IS NULL OR name ILIKE $2)", 2, LIST_FLAGS, "UQ", 0 };

/* The column of each sort's cursor key. */
static const int key_col[PATIENT_SORT__MAX] = {
	[PATIENT_SORT_ID] = PATIENT_ID,
	[PATIENT_SORT_NAME] = PATIENT_NAME,
	[PATIENT_SORT_CREATED] = PATIENT_CREATED,
	[PATIENT_SORT_UPDATED] = PATIENT_UPDATED,
};

const struct db_collection db_patient_list = {
	&count, list, key_col, PATIENT_SORT__MAX, PATIENT_FILTER__MAX,
	1u << PATIENT_FILTER_Q, 0,
};

static struct db_stmt create = { "patient_create",
    "INSERT INTO patients (user_id, name, age, gender, address) "
    "VALUES ($1, $2, $3::integer, $4, $5) RETURNING " PATIENT_COLS,
    5, 0, "UF", 0 };

/*
 * The read and its audit row: absent, unchanged when the caller already
 * has the version ($3, or any with $4: If-None-Match), else found.
 */
static struct db_stmt get = { "patient_get",
    "WITH p AS (SELECT " PATIENT_COLS " FROM patients "
    "  WHERE id = $2 AND user_id = $1), "
    "audit AS (INSERT INTO audit_events "
    "  (action, resource_type, resource_id, outcome) "
    "  SELECT 'read', 'patient', $2, "
    "  CASE WHEN NOT EXISTS (SELECT FROM p) THEN 'absent' "
    "  WHEN $4::boolean OR (SELECT version FROM p) = ANY ($3::bigint[]) "
    "  THEN 'unchanged' ELSE 'found' END) "
    "SELECT * FROM p", 4, DB_READ, "UIKA", 0 };

/*
 * Writes check the versions required ($11, $3: NULL for none) in the
 * statement that writes, so no other write can come between the check
 * and the change; cur tells a missing record from a stale version.
 */
static struct db_stmt update = { "patient_update",
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
    "FROM (SELECT) one LEFT JOIN upd ON true", 11, 0, "UIPM", 0 };

static struct db_stmt remove_ = { "patient_delete",
    "WITH cur AS (SELECT version FROM patients "
    "  WHERE id = $2 AND user_id = $1), "
    "del AS (DELETE FROM patients WHERE id = $2 AND user_id = $1 "
    "  AND ($3::bigint[] IS NULL OR version = ANY ($3::bigint[])) "
    "  RETURNING id) "
    "SELECT (SELECT id FROM del), (SELECT version FROM cur)", 3, 0, "UIM",
    0 };

const struct db_table db_patients = {
	PATIENT__NCOLS, PATIENT__NFIELDS, PATIENT_VERSION,
	&create, &get, &update, &remove_, &db_patient_list,
};
