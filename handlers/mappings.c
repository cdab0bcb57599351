/*
 * /api/mappings: which doctors each of the caller's patients is assigned to
 * (API.md "Patient-doctor mappings").  Another user's patient or mapping is
 * indistinguishable from a missing one: the queries are scoped to the
 * caller, so both are DB_NOTFOUND and both are 404.
 */
#include <inttypes.h>
#include <stddef.h>

#include "common.h"
#include "handlers.h"
#include "json.h"
#include "mappings.h"
#include "req.h"

#define MAPPINGS_PATH	"/api/mappings"

static const struct field_spec mapping_spec[] = {
	{ "patientId", F_ID, 0, 0, F_REQUIRED, NULL },
	{ "doctorId",  F_ID, 0, 0, F_REQUIRED, NULL },
};
enum { M_PATIENT, M_DOCTOR };

/* In enum mapping_sort order. */
static const struct sort_spec mapping_sorts[] = {
	{ "id", SK_INT },
	{ "createdAt", SK_TIME },
};
/* In enum mapping_filter order. */
static const struct filter_spec mapping_filters[] = {
	{ "patientId", FILT_ID, 0 },
	{ "doctorId", FILT_ID, 0 },
};
static const struct list_spec mapping_list_spec = {
	mapping_sorts, NFIELDS(mapping_sorts), 0,
	mapping_filters, NFIELDS(mapping_filters),
};

/* In enum mapped_doctor_sort order; a patient's doctors take no filter. */
static const struct sort_spec mapped_sorts[] = {
	{ "id", SK_INT },
	{ "name", SK_TEXT },
	{ "assignedAt", SK_TIME },
	{ "createdAt", SK_TIME },
};
static const struct list_spec mapped_list_spec = {
	mapped_sorts, NFIELDS(mapped_sorts), 0, NULL, 0,
};

static void
mapping_json(struct buf *b, const struct mapping *m)
{
	buf_puts(b, "{\"id\":");
	json_int(b, m->id);
	json_key(b, "patientId", 0);
	json_int(b, m->patient_id);
	json_key(b, "doctorId", 0);
	json_int(b, m->doctor_id);
	json_key(b, "createdAt", 0);
	json_time(b, m->created_at);
	buf_putc(b, '}');
}

/* mapping_json() for list_reply(). */
static void
mapping_item(struct buf *b, const void *row)
{
	mapping_json(b, row);
}

/* A doctor as handlers/doctors.c writes it, plus its mapping. */
static void
mapped_json(struct buf *b, const struct mapped_doctor *md)
{
	buf_putc(b, '{');
	doctor_members(b, &md->doctor);
	json_key(b, "mappingId", 0);
	json_int(b, md->mapping_id);
	json_key(b, "assignedAt", 0);
	json_time(b, md->assigned_at);
	buf_putc(b, '}');
}

/* mapped_json() for list_reply(). */
static void
mapped_item(struct buf *b, const void *row)
{
	mapped_json(b, row);
}

static int
patient_not_found(struct req *r, int64_t id)
{
	return problem(r, 404, "patient %" PRId64 " not found", id);
}

int
mapping_create(struct req *r)
{
	struct field_value	 v[NFIELDS(mapping_spec)];
	struct mapping		 m;
	enum mapping_missing	 missing = MAPPING_MISSING_PATIENT;
	enum db_status		 st;
	const char		*key, *loc;
	int64_t			 pid, did;
	int			 rc;

	if ((rc = body_fields(r, mapping_spec, NFIELDS(mapping_spec),
	    VALID_CREATE, v)))
		return rc;
	if ((rc = idempotency_begin(r, &key)))
		return rc;
	pid = v[M_PATIENT].i;
	did = v[M_DOCTOR].i;
	switch ((st = db_mapping_create(r, r->user_id, pid, did, &m,
	    &missing))) {
	case DB_OK:
		loc = location(r, MAPPINGS_PATH, m.id);
		mapping_json(&r->out, &m);
		reply_json(r, 201);
		return idempotency_finish(r, key, loc, NULL);
	case DB_NOTFOUND:
		if (missing == MAPPING_MISSING_PATIENT)
			return patient_not_found(r, pid);
		return problem(r, 404, "doctor %" PRId64 " not found", did);
	case DB_CONFLICT:
		return problem(r, 409, "doctor %" PRId64
		    " is already assigned to patient %" PRId64, did, pid);
	default:
		return db_failed(r, st);
	}
}

int
mapping_list(struct req *r)
{
	struct list_params	 lp;
	struct mapping		*rows;
	struct page		 pg;
	int64_t			 total = -1;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, &mapping_list_spec, &lp, &want_count)))
		return rc;
	st = db_mapping_list(r, r->user_id, &lp, &rows, &pg);
	if (st == DB_OK && want_count)
		st = db_mapping_count(r, r->user_id, &lp, &total);
	if (st != DB_OK)
		return db_failed(r, st);
	return list_reply(r, &mapping_list_spec, &lp, &pg, total, rows, sizeof(*rows),
	    mapping_item);
}

int
mapping_list_by_patient(struct req *r)
{
	struct list_params	 lp;
	struct mapped_doctor	*rows;
	struct page		 pg;
	int64_t			 total = -1;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, &mapped_list_spec, &lp, &want_count)))
		return rc;
	st = db_mapping_list_by_patient(r, r->user_id, r->ids[0], &lp, &rows,
	    &pg);
	if (st == DB_OK && want_count)
		st = db_mapping_count_by_patient(r, r->user_id, r->ids[0],
		    &total);
	switch (st) {
	case DB_OK:
		break;
	case DB_NOTFOUND:
		return patient_not_found(r, r->ids[0]);
	default:
		return db_failed(r, st);
	}
	return list_reply(r, &mapped_list_spec, &lp, &pg, total, rows, sizeof(*rows),
	    mapped_item);
}

int
mapping_delete(struct req *r)
{
	enum db_status	 st;

	switch ((st = db_mapping_delete(r, r->user_id, r->ids[0]))) {
	case DB_OK:
		return reply_empty(r, 204);
	case DB_NOTFOUND:
		return problem(r, 404, "mapping %" PRId64 " not found",
		    r->ids[0]);
	default:
		return db_failed(r, st);
	}
}
