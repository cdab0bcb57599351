/*
 * Patients: each belongs to the user who created it, and every statement
 * says so in its WHERE clause (ownership lives in the SQL), so another
 * user's patient is simply not found.  Reads and lists write their audit
 * row in the same statement; writes are audited, and their versions kept,
 * by triggers.  A deleted patient stays, marked, until it is purged: lists
 * leave it out, and reads and writes say it is gone.
 */
#ifndef DB_PATIENTS_H
#define DB_PATIENTS_H

#include "record.h"

/* The columns of a patient's row. */
enum patient_col {
	PATIENT_ID,
	PATIENT_NAME,		/* the writable fields, in this order */
	PATIENT_AGE,
	PATIENT_GENDER,
	PATIENT_ADDRESS,
	PATIENT_VERSION,
	PATIENT_CREATED,	/* microseconds since the epoch */
	PATIENT_UPDATED,
	PATIENT_DELETED,	/* NULL while the patient is not deleted */
	PATIENT__NCOLS
};
#define PATIENT__NFIELDS	(PATIENT_ADDRESS - PATIENT_ID)

enum patient_sort {
	PATIENT_SORT_ID,
	PATIENT_SORT_NAME,
	PATIENT_SORT_CREATED,
	PATIENT_SORT_UPDATED,
	PATIENT_SORT__MAX
};

enum patient_filter {
	PATIENT_FILTER_Q,	/* part of the name, any case */
	PATIENT_FILTER_NAME,	/* the start of a word of the name, any case */
	PATIENT_FILTER_GENDER,	/* exactly */
	PATIENT_FILTER_ID,	/* one patient */
	PATIENT_FILTER__MAX
};

/*
 * A patient's own copy, in one snapshot.  db_export_begin records the
 * export in the audit trail at once, on its own (so that an export cut
 * short is on record too), then reads the patient, deleted or not:
 * DB_NOTFOUND when the caller has no such patient.  Then the versions
 * (enum history_col, oldest first), its doctors (db_export_doctors,
 * mappings.h) and its disclosures (db_export_disclosures, audit.h) come
 * row by row to fn, and db_commit ends the snapshot.
 */
enum db_status	db_export_begin(struct db_ctx *, int64_t id,
		    struct db_row *patient);
enum db_status	db_export_versions(struct db_ctx *, int64_t id,
		    int (*fn)(void *, const struct db_row *), void *arg);

extern const struct db_table		db_patients;
extern const struct db_collection	db_patient_list, db_patient_history;

#endif
