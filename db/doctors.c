/*
 * The statements of doctors (doctors.h): those of patients without an
 * owner, in the order of their args (record.c).
 */
#include "dbpriv.h"
#include "doctors.h"

#define DOCTOR_COLS "id, name, specialization, contact_info, version, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

/*
 * A list page: the inner query finds the rows through the index of its
 * sort (or doctors_specialization, whose lower(specialization) the filter
 * repeats), the outer one formats only the rows that survive LIMIT.
 */
#define DOCTOR_LIST(after, order)					\
	"SELECT " DOCTOR_COLS " FROM (SELECT * FROM doctors "		\
	"WHERE ($1::text IS NULL OR name ILIKE $1) "			\
	"AND ($2::text IS NULL OR lower(specialization) = lower($2)) "	\
	"AND " after " ORDER BY " order " LIMIT $5 OFFSET $6) d "	\
	"ORDER BY " order
#define LIST_ARGS	"QQCDLO"

static struct db_stmt list[] = {
	DB_LIST_BY_ID("doctor_list_id", DOCTOR_LIST, 6, DB_PER_CALL,
	    LIST_ARGS),
	DB_LIST_BY("doctor_list_name", DOCTOR_LIST, DB_AFTER_TEXT, "name", 6,
	    DB_PER_CALL, LIST_ARGS),
	DB_LIST_BY("doctor_list_created", DOCTOR_LIST, DB_AFTER_TIME,
	    "created_at", 6, DB_PER_CALL, LIST_ARGS),
	DB_LIST_BY("doctor_list_updated", DOCTOR_LIST, DB_AFTER_TIME,
	    "updated_at", 6, DB_PER_CALL, LIST_ARGS),
};
_Static_assert(DB_NELEMS(list) == DOCTOR_SORT__MAX * 2,
    "two list statements for each sort, in its order");

static struct db_stmt count = { "doctor_count",
    "SELECT count(*) FROM doctors "
    "WHERE ($1::text IS NULL OR name ILIKE $1) "
    "AND ($2::text IS NULL OR lower(specialization) = lower($2))",
    2, DB_PER_CALL, "QQ", 0 };

static const int key_col[DOCTOR_SORT__MAX] = {
	[DOCTOR_SORT_ID] = DOCTOR_ID,
	[DOCTOR_SORT_NAME] = DOCTOR_NAME,
	[DOCTOR_SORT_CREATED] = DOCTOR_CREATED,
	[DOCTOR_SORT_UPDATED] = DOCTOR_UPDATED,
};

/* q is part of the name; the specialization is matched whole. */
const struct db_collection db_doctor_list = {
	&count, list, key_col, DOCTOR_SORT__MAX, DOCTOR_FILTER__MAX,
	1u << DOCTOR_FILTER_Q, 0,
};

static struct db_stmt create = { "doctor_create",
    "INSERT INTO doctors (created_by, name, specialization, "
    "contact_info) VALUES ($1, $2, $3, $4) RETURNING " DOCTOR_COLS,
    4, 0, "UF", 0 };

static struct db_stmt get = { "doctor_get",
    "SELECT " DOCTOR_COLS " FROM doctors WHERE id = $1", 1, 0, "I", 0 };

/*
 * Writes check the versions required ($8, $2: NULL for none) in the
 * statement that writes; cur tells a missing doctor from a stale version,
 * as for patients.
 */
static struct db_stmt update = { "doctor_update",
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
    "FROM (SELECT) one LEFT JOIN upd ON true", 8, 0, "IPM", 0 };

/* The RESTRICT foreign key of patient_doctors says 23503 while a mapping
 * refers to the doctor: DB_CONFLICT. */
static struct db_stmt remove_ = { "doctor_delete",
    "WITH cur AS (SELECT version FROM doctors WHERE id = $1), "
    "del AS (DELETE FROM doctors WHERE id = $1 "
    "  AND ($2::bigint[] IS NULL OR version = ANY ($2::bigint[])) "
    "  RETURNING id) "
    "SELECT (SELECT id FROM del), (SELECT version FROM cur)", 2, 0, "IM",
    0 };

const struct db_table db_doctors = {
	DOCTOR__NCOLS, DOCTOR__NFIELDS, DOCTOR_VERSION,
	&create, &get, &update, &remove_, &db_doctor_list,
};
