/*
 * Patients: each belongs to the user who created it, and every query says
 * so in its WHERE clause (ownership lives in the SQL).
 */
#ifndef DB_PATIENTS_H
#define DB_PATIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct req;
struct list_params;

struct patient {
	int64_t		 id;
	const char	*name;
	const char	*age;		/* decimal text, or NULL */
	const char	*gender;	/* or NULL */
	const char	*address;	/* or NULL */
	int64_t		 version;
	int64_t		 created_at;	/* microseconds */
	int64_t		 updated_at;
};

/*
 * The fields a write sets.  For an update, set_x says whether x changes
 * (PATCH); values are text or NULL for SQL NULL.
 */
struct patient_write {
	int		 set_name, set_age, set_gender, set_address;
	const char	*name;
	const char	*age;
	const char	*gender;
	const char	*address;
};

/* The sorts the list offers, in list_spec order (handlers/patients.c). */
enum patient_sort {
	PATIENT_SORT_ID,
	PATIENT_SORT_NAME,
	PATIENT_SORT_CREATED,
	PATIENT_SORT_UPDATED,
	PATIENT_SORT__MAX
};

enum db_status	db_patient_create(struct req *, int64_t owner,
		    const struct patient_write *, struct patient *);
/*
 * DB_NOTFOUND when it does not exist or is not owner's.  inm_versions and
 * inm_any are the request's If-None-Match, for its audit row's status.
 */
enum db_status	db_patient_get(struct req *, int64_t owner, int64_t id,
		    const char *inm_versions, int inm_any, struct patient *);
/*
 * if_match: the versions the write requires, as a PostgreSQL array
 * literal, or NULL.  DB_STALE when the record has another version (and
 * nothing changed), DB_NOTFOUND when it is missing or not owner's.
 */
enum db_status	db_patient_update(struct req *, int64_t owner, int64_t id,
		    const struct patient_write *, const char *if_match,
		    struct patient *);
enum db_status	db_patient_delete(struct req *, int64_t owner, int64_t id,
		    const char *if_match);
/*
 * One page of owner's patients, filtered by the q of p: up to p->limit
 * rows into *rows (arena), and what the next cursor needs into *pg.
 */
enum db_status	db_patient_list(struct req *, int64_t owner,
		    const struct list_params *, struct patient **rows,
		    struct page *);
enum db_status	db_patient_count(struct req *, int64_t owner,
		    const struct list_params *, int64_t *total);

#endif
