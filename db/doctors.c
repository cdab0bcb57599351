/*
 * The statements of doctors (doctors.h): those of patients without an
 * owner, in the order of their args (record.c).
 */
#include "dbpriv.h"
#include "doctors.h"

#define DOCTOR_COLS "id, name, specialization, contact_info, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at") ", " \
	DB_USEC("deleted_at") " AS deleted_at"

/*
 * A list page: the inner query finds the rows through the index of its
 * sort (or doctors_specialization, whose lower(specialization) the filter
 * repeats), the outer one formats only the rows that survive LIMIT.
 */
/* The filters, in the order of enum doctor_filter: $1, $2, then name
 * and id. */
#define FILTERS(name, id)						\
	"($1::text IS NULL OR name ILIKE $1) "				\
	"AND ($2::text IS NULL OR lower(specialization) = lower($2)) "	\
	"AND ($" name "::text IS NULL OR name ILIKE $" name		\
	" OR name ILIKE '% ' || $" name ") "				\
	"AND ($" id "::bigint IS NULL OR id = $" id "::bigint) "
#define DOCTOR_LIST(after, order)					\
	"SELECT " DOCTOR_COLS " FROM (SELECT * FROM doctors "		\
	"WHERE deleted_at IS NULL AND " FILTERS("7", "8")		\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) d "	\
	"ORDER BY " order
#define LIST_ARGS	"QQCDLOQQ"

static struct db_stmt list[] = {
	DB_LIST_BY_ID("doctor_list_id", DOCTOR_LIST, 8, DB_PER_CALL,
	    LIST_ARGS),
	DB_LIST_BY("doctor_list_name", DOCTOR_LIST, DB_AFTER_TEXT, "name", 8,
	    DB_PER_CALL, LIST_ARGS),
	DB_LIST_BY("doctor_list_created", DOCTOR_LIST, DB_AFTER_TIME,
	    "created_at", 8, DB_PER_CALL, LIST_ARGS),
	DB_LIST_BY("doctor_list_updated", DOCTOR_LIST, DB_AFTER_TIME,
	    "updated_at", 8, DB_PER_CALL, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == DOCTOR_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "doctor_count",
    "SELECT count(*) FROM doctors WHERE deleted_at IS NULL AND "
    FILTERS("3", "4"), 4, DB_PER_CALL, "QQQQ", 0 };

static const int key_col[DOCTOR_SORT__MAX] = {
	[DOCTOR_SORT_ID] = DOCTOR_ID,
	[DOCTOR_SORT_NAME] = DOCTOR_NAME,
	[DOCTOR_SORT_CREATED] = DOCTOR_CREATED,
	[DOCTOR_SORT_UPDATED] = DOCTOR_UPDATED,
};

/* q is part of the name; the specialization is matched whole. */
const struct db_collection db_doctor_list = {
	&count, list, key_col, DOCTOR_SORT__MAX, DOCTOR_FILTER__MAX,
	1u << DOCTOR_FILTER_Q, 1u << DOCTOR_FILTER_NAME, 0,
};

static struct db_stmt create = { "doctor_create",
    "INSERT INTO doctors (created_by, name, specialization, "
    "contact_info) VALUES ($1, $2, $3, $4) RETURNING " DOCTOR_COLS,
    4, 0, "UF", 0 };

static struct db_stmt get = { "doctor_get",
    "SELECT " DOCTOR_COLS " FROM doctors WHERE id = $1", 1, 0, "I", 0 };

/*
 * Writes check the versions required ($8, $2: NULL for none) in the
 * statement that writes; cur tells a missing or deleted doctor from a
 * stale version, as for patients.
 */
#define CUR	"WITH cur AS (SELECT version, deleted_at FROM doctors "	\
		"  WHERE id = $1), "
#define CUR_COLS "(SELECT version FROM cur), (SELECT " \
		DB_USEC("deleted_at") " FROM cur)"

static struct db_stmt update = { "doctor_update",
    CUR
    "upd AS (UPDATE doctors SET "
    "  name = CASE WHEN $2::boolean THEN $3 ELSE name END, "
    "  specialization = CASE WHEN $4::boolean THEN $5 "
    "  ELSE specialization END, "
    "  contact_info = CASE WHEN $6::boolean THEN $7 "
    "  ELSE contact_info END, "
    "  updated_at = now() "
    "  WHERE id = $1 AND deleted_at IS NULL "
    "  AND ($8::bigint[] IS NULL OR version = ANY ($8::bigint[])) "
    "  RETURNING " DOCTOR_COLS ") "
    "SELECT upd.*, " CUR_COLS " "
    "FROM (SELECT) one LEFT JOIN upd ON true", 8, 0, "IPM", 0 };

/* A delete marks the doctor; its patients' mappings to it are left out
 * of every list until it is restored. */
static struct db_stmt remove_ = { "doctor_delete",
    CUR
    "del AS (UPDATE doctors SET deleted_at = now() "
    "  WHERE id = $1 AND deleted_at IS NULL "
    "  AND ($2::bigint[] IS NULL OR version = ANY ($2::bigint[])) "
    "  RETURNING id) "
    "SELECT (SELECT id FROM del), " CUR_COLS, 2, 0, "IM", 0 };

static struct db_stmt restore = { "doctor_restore",
    CUR
    "rst AS (UPDATE doctors SET deleted_at = NULL "
    "  WHERE id = $1 "
    "  AND deleted_at > now() - make_interval(days => $3::integer) "
    "  AND ($2::bigint[] IS NULL OR version = ANY ($2::bigint[])) "
    "  RETURNING " DOCTOR_COLS ") "
    "SELECT rst.*, " CUR_COLS ", (SELECT deleted_at <= now() - "
    "  make_interval(days => $3::integer) FROM cur) "
    "FROM (SELECT) one LEFT JOIN rst ON true", 3, 0, "IMR", 0 };

/* History, as for patients: $2 is the doctor, and $1 the signed-in user
 * whose audit row records the read. */
#define VERSION_COLS "v.version, v.op, " DB_USEC("v.at") ", v.by_user, " \
	"v.doctor_id, v.name, v.specialization, v.contact_info, v.version, " \
	DB_USEC("v.created_at") ", " DB_USEC("v.updated_at") ", NULL"
#define HISTORY_AUDIT(found)						\
	"audit AS (INSERT INTO audit_events "				\
	"(user_id, action, resource_type, resource_id, outcome) "	\
	"SELECT $1, 'history', 'doctor', $2, CASE WHEN " found		\
	" THEN 'found' ELSE 'absent' END) "
#define EXISTING	"SELECT FROM doctors WHERE id = $2"
#define HISTORY(after, order)						\
	"WITH " HISTORY_AUDIT("EXISTS (" EXISTING ")")			\
	"SELECT " VERSION_COLS " FROM (" EXISTING ") d LEFT JOIN (SELECT * " \
	"FROM (SELECT version AS id, * FROM doctor_versions "		\
	"WHERE doctor_id = $2) x WHERE " after " ORDER BY " order	\
	" LIMIT $5 OFFSET $6) v ON true ORDER BY " order

static struct db_stmt history[] = {
	DB_LIST_BY_ID("doctor_history", HISTORY, 6, DB_PER_CALL | DB_READ,
	    "USCDLO"),
};

static struct db_stmt history_count = { "doctor_history_count",
    "SELECT count(*) FROM doctor_versions WHERE doctor_id = $1", 1,
    DB_READ, "S", 0 };

static const int history_key[] = { HISTORY_VERSION };

const struct db_collection db_doctor_history = {
	&history_count, history, history_key, DB_NELEMS(history_key), 0, 0,
	0, DB_SCOPED,
};

static struct db_stmt version = { "doctor_version",
    "WITH v AS (SELECT * FROM doctor_versions WHERE doctor_id = $2 "
    "  AND version = $3), "
    HISTORY_AUDIT("EXISTS (SELECT FROM v)")
    "SELECT " VERSION_COLS " FROM v", 3, DB_READ, "USI", 0 };

const struct db_table db_doctors = {
	DOCTOR__NCOLS, DOCTOR__NFIELDS, DOCTOR_VERSION, DOCTOR_DELETED,
	&create, &get, &update, &remove_, &restore, &db_doctor_list,
	&db_doctor_history, &version,
};
