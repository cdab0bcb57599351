/*
 * Doctors: one list shared by every user.  Anyone may read it and any
 * signed-in user may change it, so no statement names an owner; created_by
 * only records who added a doctor.  A deleted doctor stays, marked, until
 * it is purged, and mappings to it are left out of every list meanwhile.
 */
#ifndef DB_DOCTORS_H
#define DB_DOCTORS_H

#include "record.h"

/* The columns of a doctor's row. */
enum doctor_col {
	DOCTOR_ID,
	DOCTOR_NAME,		/* the writable fields, in this order */
	DOCTOR_SPECIALIZATION,
	DOCTOR_CONTACT_INFO,
	DOCTOR_VERSION,
	DOCTOR_CREATED,		/* microseconds since the epoch */
	DOCTOR_UPDATED,
	DOCTOR_DELETED,		/* NULL while the doctor is not deleted */
	DOCTOR__NCOLS
};
#define DOCTOR__NFIELDS	(DOCTOR_CONTACT_INFO - DOCTOR_ID)

enum doctor_sort {
	DOCTOR_SORT_ID,
	DOCTOR_SORT_NAME,
	DOCTOR_SORT_CREATED,
	DOCTOR_SORT_UPDATED,
	DOCTOR_SORT__MAX
};

/* The filters of the list, in this order. */
enum doctor_filter {
	DOCTOR_FILTER_Q,		/* part of the name, any case */
	DOCTOR_FILTER_SPECIALIZATION,	/* all of it, any case */
	DOCTOR_FILTER_NAME,		/* the start of a word of the name */
	DOCTOR_FILTER_ID,		/* one doctor */
	DOCTOR_FILTER__MAX
};

extern const struct db_table		db_doctors;
extern const struct db_collection	db_doctor_list, db_doctor_history;

#endif
