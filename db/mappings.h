/*
 * Patient-doctor mappings: which doctors a user's patient is assigned to.
 * A mapping belongs to its patient's owner (patient_doctors.user_id, kept
 * equal to the patient's by a composite foreign key), and every statement
 * names that owner, so another user's mapping or patient is not found.
 */
#ifndef DB_MAPPINGS_H
#define DB_MAPPINGS_H

#include <stdint.h>

#include "doctors.h"
#include "record.h"

/* The columns of a mapping's row. */
enum mapping_col {
	MAPPING_ID,
	MAPPING_PATIENT,
	MAPPING_DOCTOR,
	MAPPING_CREATED,	/* microseconds since the epoch */
	MAPPING__NCOLS
};

enum mapping_sort {
	MAPPING_SORT_ID,
	MAPPING_SORT_CREATED,
	MAPPING_SORT__MAX
};

enum mapping_filter {
	MAPPING_FILTER_PATIENT,
	MAPPING_FILTER_DOCTOR,
	MAPPING_FILTER__MAX
};

/* The columns of a doctor as assigned to one patient: the doctor's
 * (doctors.h), then its mapping's. */
enum mapped_col {
	MAPPED_MAPPING_ID = DOCTOR__NCOLS,
	MAPPED_ASSIGNED,		/* the mapping's created_at */
	MAPPED__NCOLS
};

/* The sorts of one patient's doctors; they take no filter. */
enum mapped_sort {
	MAPPED_SORT_ID,		/* the doctor's id */
	MAPPED_SORT_NAME,	/* the doctor's name */
	MAPPED_SORT_ASSIGNED,	/* the mapping's created_at */
	MAPPED_SORT_CREATED,	/* the doctor's created_at */
	MAPPED_SORT__MAX
};

/* The owner's mappings. */
extern const struct db_collection	db_mappings;
/* The doctors of one of the owner's patients (scope: the patient). */
extern const struct db_collection	db_patient_doctors;

/* What db_mapping_create() did not find. */
enum mapping_missing {
	MAPPING_MISSING_PATIENT,	/* missing, or not the owner's */
	MAPPING_MISSING_DOCTOR,
};

/*
 * Assigns doctor_id to the acting user's patient patient_id, in one
 * statement; *out gets the mapping's row.  DB_NOTFOUND when the patient or
 * the doctor is missing, with *missing saying which (the patient is
 * checked first); DB_CONFLICT when the pair is already mapped.
 */
enum db_status	db_mapping_create(struct db_ctx *, int64_t patient_id,
		    int64_t doctor_id, struct db_row *out,
		    enum mapping_missing *missing);
/* DB_NOTFOUND when it does not exist or is not the acting user's. */
enum db_status	db_mapping_delete(struct db_ctx *, int64_t id);

/* A patient's doctors for its export (patients.h): rows of enum
 * mapped_col, in the order they were assigned. */
enum db_status	db_export_doctors(struct db_ctx *, int64_t patient_id,
		    int (*fn)(void *, const struct db_row *), void *arg);

#endif
