/*
 * /api/patients: each user's own patients (API.md "Patients").  Another
 * user's patient is indistinguishable from a missing one: the queries are
 * scoped to the caller, so both are DB_NOTFOUND and both are 404.
 */
#include <inttypes.h>
#include <stddef.h>

#include "common.h"
#include "handlers.h"
#include "json.h"
#include "patients.h"
#include "req.h"

#define PATIENTS_PATH	"/api/patients"

static const char *const genders[] = {
	"male", "female", "other", "unknown", NULL
};

static const struct field_spec patient_spec[] = {
	{ "name",    F_STRING, 1, 200, F_REQUIRED, NULL },
	{ "age",     F_INT,    0, 150, F_NULLABLE, NULL },
	{ "gender",  F_ENUM,   0, 0,   F_NULLABLE, genders },
	{ "address", F_STRING, 0, 500, F_NULLABLE, NULL },
};
enum { P_NAME, P_AGE, P_GENDER, P_ADDRESS };

/* In enum patient_sort order. */
static const struct sort_spec patient_sorts[] = {
	{ "id", SK_INT },
	{ "name", SK_TEXT },
	{ "createdAt", SK_TIME },
	{ "updatedAt", SK_TIME },
};
static const struct filter_spec patient_filters[] = {
	{ "q", FILT_TEXT, 200 },
};
static const struct list_spec patient_list_spec = {
	patient_sorts, NFIELDS(patient_sorts), 0,
	patient_filters, NFIELDS(patient_filters),
};

static void
patient_json(struct buf *b, const struct patient *p)
{
	buf_puts(b, "{\"id\":");
	json_int(b, p->id);
	json_key(b, "name", 0);
	json_cstr(b, p->name);
	json_key(b, "age", 0);
	buf_puts(b, p->age != NULL ? p->age : "null");
	json_key(b, "gender", 0);
	json_cstr(b, p->gender);
	json_key(b, "address", 0);
	json_cstr(b, p->address);
	json_key(b, "createdAt", 0);
	json_time(b, p->created_at);
	json_key(b, "updatedAt", 0);
	json_time(b, p->updated_at);
	buf_putc(b, '}');
}

/* patient_json() for list_reply(). */
static void
patient_item(struct buf *b, const void *row)
{
	patient_json(b, row);
}

/* The reply for one patient (GET, POST, PUT, PATCH). */
static int
reply_patient(struct req *r, int status, const struct patient *p)
{
	etag(r, p->version);
	patient_json(&r->out, p);
	return reply_json(r, status);
}

/* The answer to a write whose If-Match named another version. */
static int
stale(struct req *r, int64_t id)
{
	return problem(r, 412, "patient %" PRId64 " has changed since that "
	    "version: GET it again", id);
}

static int
not_found(struct req *r, int64_t id)
{
	return problem(r, 404, "patient %" PRId64 " not found", id);
}

/*
 * Turns checked fields into a write: a field that was sent is set (to its
 * value or to null); PUT and POST also set what was left out, to null.
 */
static void
to_write(struct req *r, const struct field_value *v, int full,
    struct patient_write *w)
{
	w->set_name = full || v[P_NAME].present;
	w->name = v[P_NAME].s;
	w->set_age = full || v[P_AGE].present;
	w->age = v[P_AGE].present && !v[P_AGE].is_null ?
	    arena_printf(r->arena, "%" PRId64, v[P_AGE].i) : NULL;
	w->set_gender = full || v[P_GENDER].present;
	w->gender = v[P_GENDER].is_null ? NULL : v[P_GENDER].s;
	w->set_address = full || v[P_ADDRESS].present;
	w->address = v[P_ADDRESS].is_null ? NULL : v[P_ADDRESS].s;
}

int
patient_create(struct req *r)
{
	struct field_value	 v[NFIELDS(patient_spec)];
	struct patient_write	 w;
	struct patient		 p;
	const char		*key, *loc;
	enum db_status		 st;
	int			 rc;

	if ((rc = body_fields(r, patient_spec, NFIELDS(patient_spec),
	    VALID_CREATE, v)))
		return rc;
	if ((rc = idempotency_begin(r, &key)))
		return rc;
	to_write(r, v, 1, &w);
	if ((st = db_patient_create(r, r->user_id, &w, &p)) != DB_OK)
		return db_failed(r, st);
	loc = location(r, PATIENTS_PATH, p.id);
	reply_patient(r, 201, &p);
	return idempotency_finish(r, key, loc,
	    arena_printf(r->arena, "\"%" PRId64 "\"", p.version));
}

int
patient_get(struct req *r)
{
	struct precondition	 inm;
	struct patient		 p;
	enum db_status		 st;

	precondition(r, "HTTP_IF_NONE_MATCH", 1, &inm);
	switch ((st = db_patient_get(r, r->user_id, r->ids[0], inm.versions,
	    inm.any, &p))) {
	case DB_OK:
		if (inm.present && precondition_matches(&inm, p.version)) {
			etag(r, p.version);
			return reply_empty(r, 304);
		}
		return reply_patient(r, 200, &p);
	case DB_NOTFOUND:
		return not_found(r, r->ids[0]);
	default:
		return db_failed(r, st);
	}
}

/* PUT replaces the whole record, PATCH only the fields sent. */
static int
update(struct req *r, enum valid_mode mode)
{
	struct field_value	 v[NFIELDS(patient_spec)];
	struct patient_write	 w;
	struct precondition	 im;
	struct patient		 p;
	enum db_status		 st;
	int			 rc;

	if ((rc = body_fields(r, patient_spec, NFIELDS(patient_spec), mode,
	    v)))
		return rc;
	to_write(r, v, mode == VALID_CREATE, &w);
	precondition(r, "HTTP_IF_MATCH", 0, &im);
	switch ((st = db_patient_update(r, r->user_id, r->ids[0], &w,
	    im.versions, &p))) {
	case DB_OK:
		return reply_patient(r, 200, &p);
	case DB_NOTFOUND:
		return not_found(r, r->ids[0]);
	case DB_STALE:
		return stale(r, r->ids[0]);
	default:
		return db_failed(r, st);
	}
}

int
patient_put(struct req *r)
{
	return update(r, VALID_CREATE);
}

int
patient_patch(struct req *r)
{
	return update(r, VALID_PATCH);
}

int
patient_delete(struct req *r)
{
	struct precondition	 im;
	enum db_status		 st;

	precondition(r, "HTTP_IF_MATCH", 0, &im);
	switch ((st = db_patient_delete(r, r->user_id, r->ids[0],
	    im.versions))) {
	case DB_OK:
		return reply_empty(r, 204);
	case DB_NOTFOUND:
		return not_found(r, r->ids[0]);
	case DB_STALE:
		return stale(r, r->ids[0]);
	default:
		return db_failed(r, st);
	}
}

int
patient_list(struct req *r)
{
	struct list_params	 lp;
	struct patient		*rows;
	struct page		 pg;
	int64_t			 total = -1;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, &patient_list_spec, &lp, &want_count)))
		return rc;
	st = db_patient_list(r, r->user_id, &lp, &rows, &pg);
	if (st == DB_OK && want_count)
		st = db_patient_count(r, r->user_id, &lp, &total);
	if (st != DB_OK)
		return db_failed(r, st);
	return list_reply(r, &patient_list_spec, &lp, &pg, total, rows, sizeof(*rows),
	    patient_item);
}
