/*
 * The audit trail as its users read it: their own events, newest first.
 * Events are written by the statements and triggers that do what they
 * record (002_security.sql), never here.
 */
#ifndef DB_AUDIT_H
#define DB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

struct req;
struct list_params;

struct audit_event {
	int64_t		 id;
	int64_t		 at;		/* microseconds */
	const char	*action;
	const char	*resource_type;
	const char	*resource_id;	/* decimal text, or NULL */
	int		 status;
	const char	*request_id;	/* or NULL */
	const char	*client_address; /* or NULL */
};

/* The sorts, in list_spec order (handlers/audit.c). */
enum audit_sort {
	AUDIT_SORT_ID,
	AUDIT_SORT_AT,
	AUDIT_SORT__MAX
};

/* The filters, in list_spec order. */
enum audit_filter {
	AUDIT_FILTER_ACTION,
	AUDIT_FILTER_RESOURCE_TYPE,
	AUDIT_FILTER_RESOURCE_ID,
};

/* One page of owner's events, as db_patient_list() does it. */
enum db_status	db_audit_list(struct req *, int64_t owner,
		    const struct list_params *, struct audit_event **rows,
		    struct page *);
enum db_status	db_audit_count(struct req *, int64_t owner,
		    const struct list_params *, int64_t *total);

#endif
