/*
 * Patient-doctor mappings: which doctors a user's patient is assigned to.
 * A mapping belongs to its patient's owner (patient_doctors.user_id, kept
 * equal to the patient's by a composite foreign key), and every statement
 * names that owner, so another user's mapping or patient is not found.
 */
#ifndef DB_MAPPINGS_H
#define DB_MAPPINGS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "doctors.h"

struct req;
struct list_params;

struct mapping {
	int64_t		 id;
	int64_t		 patient_id;
	int64_t		 doctor_id;
	int64_t		 created_at;	/* microseconds */
};

/* A doctor as assigned to one patient: the doctor and its mapping. */
struct mapped_doctor {
	struct doctor	 doctor;
	int64_t		 mapping_id;
	int64_t		 assigned_at;	/* mapping's created_at */
};

/* What db_mapping_create() did not find. */
enum mapping_missing {
	MAPPING_MISSING_PATIENT,	/* missing, or not the owner's */
	MAPPING_MISSING_DOCTOR,
};

/* The sorts of the owner's list, in list_spec order (handlers/mappings.c). */
enum mapping_sort {
	MAPPING_SORT_ID,
	MAPPING_SORT_CREATED,
	MAPPING_SORT__MAX
};

/* Its filters, in list_spec order: filters[i] of list_params. */
enum mapping_filter {
	MAPPING_FILTER_PATIENT,
	MAPPING_FILTER_DOCTOR,
	MAPPING_FILTER__MAX
};

/* The sorts of one patient's doctors, in list_spec order. */
enum mapped_doctor_sort {
	MAPPED_DOCTOR_SORT_ID,		/* the doctor's id */
	MAPPED_DOCTOR_SORT_NAME,	/* the doctor's name */
	MAPPED_DOCTOR_SORT_ASSIGNED,	/* the mapping's created_at */
	MAPPED_DOCTOR_SORT_CREATED,	/* the doctor's created_at */
	MAPPED_DOCTOR_SORT__MAX
};

/*
 * Assigns doctor_id to owner's patient patient_id, in one statement.
 * DB_NOTFOUND when the patient is missing or not owner's, or the doctor is
 * missing, with *missing saying which (the patient is checked first);
 * DB_CONFLICT when the pair is already mapped.
 */
enum db_status	db_mapping_create(struct req *, int64_t owner,
		    int64_t patient_id, int64_t doctor_id, struct mapping *,
		    enum mapping_missing *missing);
/* DB_NOTFOUND when it does not exist or is not owner's. */
enum db_status	db_mapping_delete(struct req *, int64_t owner,
		    int64_t id);
/*
 * One page of owner's mappings, filtered by p->filters (enum
 * mapping_filter): up to p->limit rows into *rows (arena), and what the
 * next cursor needs into *pg.
 */
enum db_status	db_mapping_list(struct req *, int64_t owner,
		    const struct list_params *, struct mapping **rows,
		    struct page *);
enum db_status	db_mapping_count(struct req *, int64_t owner,
		    const struct list_params *, int64_t *total);
/*
 * One page of the doctors assigned to owner's patient patient_id, as
 * db_mapping_list() pages.  DB_NOTFOUND when the patient is missing or not
 * owner's; a patient without (further) doctors is DB_OK with *n = 0.
 */
enum db_status	db_mapping_list_by_patient(struct req *, int64_t owner,
		    int64_t patient_id, const struct list_params *,
		    struct mapped_doctor **rows, struct page *);
/* The number of doctors assigned to patient_id; 0 when it is not owner's. */
enum db_status	db_mapping_count_by_patient(struct req *, int64_t owner,
		    int64_t patient_id, int64_t *total);

#endif
