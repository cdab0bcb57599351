/*
 * The audit trail as its users read it: their own events, newest first.
 * Events are written by the statements and triggers that do what they
 * record (002_security.sql and the statements of db/), never here.  Each
 * says what happened in data terms, its outcome: found, unchanged or
 * absent for a read; created, updated or deleted for a write; granted,
 * denied or throttled for a login; revoked for a logout, changed for a
 * password.
 */
#ifndef DB_AUDIT_H
#define DB_AUDIT_H

#include "record.h"

/* The columns of an event's row. */
enum audit_col {
	AUDIT_ID,
	AUDIT_AT,		/* microseconds since the epoch */
	AUDIT_ACTION,
	AUDIT_RESOURCE_TYPE,
	AUDIT_RESOURCE_ID,	/* or NULL */
	AUDIT_OUTCOME,
	AUDIT_REQUEST_ID,	/* or NULL */
	AUDIT_CLIENT_ADDRESS,	/* or NULL */
	AUDIT__NCOLS
};

enum audit_sort {
	AUDIT_SORT_ID,
	AUDIT_SORT_AT,
	AUDIT_SORT__MAX
};

enum audit_filter {
	AUDIT_FILTER_ACTION,
	AUDIT_FILTER_RESOURCE_TYPE,
	AUDIT_FILTER_RESOURCE_ID,
	AUDIT_FILTER__MAX
};

/* The acting user's events. */
extern const struct db_collection	db_audit_events;

/*
 * A patient's disclosures for its export (patients.h): every event about
 * it, whoever caused it, oldest first; each row has the columns above,
 * then AUDIT_USER_ID.
 */
#define AUDIT_USER_ID	AUDIT__NCOLS
enum db_status	db_export_disclosures(struct db_ctx *, int64_t patient_id,
		    int (*fn)(void *, const struct db_row *), void *arg);

#endif
