/*
 * Resources as data.  A collection is what the API pages (its query spec,
 * its statements in db/ and the JSON of its rows); a resource is a record
 * table with the fields a client writes and the collection that lists it.
 * One set of handlers (resource.c) serves them all through the route
 * table's arg, so patients and doctors are rows in handlers/routes.c, not
 * copies of each other; a new resource is a descriptor, its SQL and its
 * tests.
 */
#ifndef HANDLERS_RESOURCE_H
#define HANDLERS_RESOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "handlers.h"
#include "list.h"
#include "record.h"
#include "valid.h"

struct buf;
struct req;

/* How one JSON member is written from a row. */
enum json_type {
	J_INT,		/* the column's text, or null */
	J_TEXT,		/* a JSON string, or null */
	J_TIME,		/* microseconds as "2026-11-24T10:00:00.000Z", or null */
	J_FN,		/* write() decides */
};

struct json_col {
	const char	*name;
	enum json_type	 type;
	size_t		 col;		/* the row's column */
	void		(*write)(struct buf *, const struct db_row *);
};

struct collection {
	const struct list_spec		*spec;
	const struct db_collection	*db;
	const struct json_col		*json;	/* one row's members */
	size_t				 njson;
	/* A scoped collection's record (r->ids[0]), when it is missing. */
	const char			*scope;
	/* Public: its pages are answered from memory while unchanged. */
	int				 cached;
};

struct resource {
	const char		*name;	/* "patient", in messages */
	const char		*path;	/* "/api/patients" */
	const struct db_table	*table;
	/* The writable fields, in the table's column order. */
	const struct field_spec	*fields;
	size_t			 nfields;
	const struct collection	*list;	/* its rows' JSON too */
	const struct collection	*history;	/* its versions */
	/*
	 * Public: a record is answered from memory while unchanged, and a
	 * write tells every worker (cache.h).  Its list is cached too.
	 */
	int			 cached;
};

/*
 * Ends a write that has committed (or failed): when it changed a cached
 * resource, every worker forgets what it kept.  Returns status.
 */
int		written(const struct resource *, int status);

/* FHIR's administrative-gender codes, which patients take too. */
extern const char *const	patient_genders[];

/* The descriptors, in handlers/<resource>.c. */
extern const struct resource	patients, doctors;
extern const struct collection	patient_list, doctor_list, mapping_list,
				patient_doctor_list, audit_list,
				patient_history, doctor_history;

/*
 * Turns checked fields into a write: a field that was sent is set (to its
 * value or to null); with full (PUT and POST) what was left out is set to
 * null too.
 */
void		record_write(struct req *, const struct resource *,
		    const struct field_value *, int full, struct db_write *);

/* What a history collection takes (resource.c). */
extern const struct list_spec	history_spec;

/*
 * The members of a version (db/record.h's enum history_col): the record
 * is written by record(), which VERSION_RECORD defines.
 */
#define HISTORY_JSON(record)						\
	{ "version", J_INT,  HISTORY_VERSION, NULL },			\
	{ "op",      J_TEXT, HISTORY_OP, NULL },			\
	{ "at",      J_TIME, HISTORY_AT, NULL },			\
	{ "by",      J_INT,  HISTORY_BY, NULL },			\
	{ "record",  J_FN,   HISTORY_RECORD, record }

/* Defines fn: writes the record of a version's row as the members json. */
#define VERSION_RECORD(fn, json)					\
static void								\
fn(struct buf *b, const struct db_row *row)				\
{									\
	json_row(b, json, NELEMS(json),					\
	    &(struct db_row){ row->cell + HISTORY_RECORD });		\
}

/*
 * A doctor's members (db/doctors.h's columns), which doctors.c and a
 * patient's doctors (mappings.c) share.
 */
#define DOCTOR_JSON							\
	{ "id",             J_INT,  DOCTOR_ID, NULL },			\
	{ "name",           J_TEXT, DOCTOR_NAME, NULL },		\
	{ "specialization", J_TEXT, DOCTOR_SPECIALIZATION, NULL },	\
	{ "contactInfo",    J_TEXT, DOCTOR_CONTACT_INFO, NULL },	\
	{ "createdAt",      J_TIME, DOCTOR_CREATED, NULL },		\
	{ "updatedAt",      J_TIME, DOCTOR_UPDATED, NULL }

/* The HTTP status of an audit event's outcome (audit.c). */
void	audit_status_json(struct buf *, const struct db_row *);

/* Writes row as a JSON object of the members json[0..n). */
void	json_row(struct buf *, const struct json_col *, size_t n,
	    const struct db_row *);

/*
 * The generic handlers: each serves the resource or collection its route
 * row names as arg.
 */
int	record_create(struct req *);
int	record_get(struct req *);
int	record_put(struct req *);
int	record_patch(struct req *);
int	record_delete(struct req *);
int	record_restore(struct req *);
int	record_version(struct req *);
int	collection_get(struct req *);

#endif
