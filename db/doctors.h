/*
 * Doctors: one list shared by every user.  Anyone may read it and any
 * signed-in user may change it, so no statement names an owner; created_by
 * only records who added a doctor.  A doctor that is assigned to a patient
 * cannot be deleted (the mappings' foreign key is ON DELETE RESTRICT).
 */
#ifndef DB_DOCTORS_H
#define DB_DOCTORS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct req;
struct list_params;

struct doctor {
	int64_t		 id;
	const char	*name;
	const char	*specialization;
	const char	*contact_info;	/* or NULL */
	int64_t		 version;
	int64_t		 created_at;	/* microseconds */
	int64_t		 updated_at;
};

/*
 * The fields a write sets.  For an update, set_x says whether x changes
 * (PATCH); values are text or NULL for SQL NULL.
 */
struct doctor_write {
	int		 set_name, set_specialization, set_contact_info;
	const char	*name;
	const char	*specialization;
	const char	*contact_info;
};

/* The sorts the list offers, in list_spec order (handlers/doctors.c). */
enum doctor_sort {
	DOCTOR_SORT_ID,
	DOCTOR_SORT_NAME,
	DOCTOR_SORT_CREATED,
	DOCTOR_SORT_UPDATED,
	DOCTOR_SORT__MAX
};

/* The filters of the list, in list_spec order: filters[i] of list_params. */
enum doctor_filter {
	DOCTOR_FILTER_Q,		/* substring of name, any case */
	DOCTOR_FILTER_SPECIALIZATION,	/* all of it, any case */
	DOCTOR_FILTER__MAX
};

/* Adds a doctor, recording creator as created_by; *d gets the new row. */
enum db_status	db_doctor_create(struct req *, int64_t creator,
		    const struct doctor_write *, struct doctor *);
/* DB_NOTFOUND when it does not exist. */
enum db_status	db_doctor_get(struct req *, int64_t id, struct doctor *);
/* Sets the fields w says, bumps the version; DB_NOTFOUND when missing. */
/*
 * if_match: the versions the write requires, as a PostgreSQL array
 * literal, or NULL.  DB_STALE when the doctor has another version (and
 * nothing changed); DB_NOTFOUND when there is no such doctor.
 */
enum db_status	db_doctor_update(struct req *, int64_t id,
		    const struct doctor_write *, const char *if_match,
		    struct doctor *);
/*
 * DB_NOTFOUND when it does not exist, DB_CONFLICT while a mapping still
 * refers to it.
 */
enum db_status	db_doctor_delete(struct req *, int64_t id,
		    const char *if_match);
/*
 * One page of doctors, filtered by p->filters (enum doctor_filter): up
 * to p->limit rows into *rows (arena), and what the next cursor needs
 * into *pg.
 */
enum db_status	db_doctor_list(struct req *, const struct list_params *,
		    struct doctor **rows, struct page *);
/* The number of doctors the filters of p match (Prefer: count=exact). */
enum db_status	db_doctor_count(struct req *, const struct list_params *,
		    int64_t *total);

#endif
