/*
 * /api/doctors: the doctors list every user shares (API.md "Doctors").
 * Reading is public and writing needs a token (the route table says which);
 * a doctor still assigned to a patient cannot be deleted, which the
 * database enforces and this file reports as 409.
 */
#include <inttypes.h>
#include <stddef.h>

#include "common.h"
#include "doctors.h"
#include "handlers.h"
#include "json.h"
#include "req.h"

#define DOCTORS_PATH	"/api/doctors"

static const struct field_spec doctor_spec[] = {
	{ "name",           F_STRING, 1, 200, F_REQUIRED, NULL },
	{ "specialization", F_STRING, 1, 100, F_REQUIRED, NULL },
	{ "contactInfo",    F_STRING, 0, 200, F_NULLABLE, NULL },
};
enum { D_NAME, D_SPECIALIZATION, D_CONTACT_INFO };

/* In enum doctor_sort order. */
static const struct sort_spec doctor_sorts[] = {
	{ "id", SK_INT },
	{ "name", SK_TEXT },
	{ "createdAt", SK_TIME },
	{ "updatedAt", SK_TIME },
};
/* In enum doctor_filter order. */
static const struct filter_spec doctor_filters[] = {
	{ "q", FILT_TEXT, 200 },
	{ "specialization", FILT_TEXT, 100 },
};
static const struct list_spec doctor_list_spec = {
	doctor_sorts, NFIELDS(doctor_sorts), 0,
	doctor_filters, NFIELDS(doctor_filters),
};

void
doctor_members(struct buf *b, const struct doctor *d)
{
	json_key(b, "id", 1);
	json_int(b, d->id);
	json_key(b, "name", 0);
	json_cstr(b, d->name);
	json_key(b, "specialization", 0);
	json_cstr(b, d->specialization);
	json_key(b, "contactInfo", 0);
	json_cstr(b, d->contact_info);
	json_key(b, "createdAt", 0);
	json_time(b, d->created_at);
	json_key(b, "updatedAt", 0);
	json_time(b, d->updated_at);
}

static void
doctor_json(struct buf *b, const struct doctor *d)
{
	buf_putc(b, '{');
	doctor_members(b, d);
	buf_putc(b, '}');
}

/* doctor_json() for list_reply(). */
static void
doctor_item(struct buf *b, const void *row)
{
	doctor_json(b, row);
}

/* The reply for one doctor (GET, POST, PUT, PATCH). */
static int
reply_doctor(struct req *r, int status, const struct doctor *d)
{
	etag(r, d->version);
	doctor_json(&r->out, d);
	return reply_json(r, status);
}

/* The answer to a write whose If-Match named another version. */
static int
stale(struct req *r, int64_t id)
{
	return problem(r, 412, "doctor %" PRId64 " has changed since that "
	    "version: GET it again", id);
}

static int
not_found(struct req *r, int64_t id)
{
	return problem(r, 404, "doctor %" PRId64 " not found", id);
}

/*
 * Turns checked fields into a write: a field that was sent is set (to its
 * value or to null); PUT and POST also set what was left out, to null.
 */
static void
to_write(const struct field_value *v, int full, struct doctor_write *w)
{
	w->set_name = full || v[D_NAME].present;
	w->name = v[D_NAME].s;
	w->set_specialization = full || v[D_SPECIALIZATION].present;
	w->specialization = v[D_SPECIALIZATION].s;
	w->set_contact_info = full || v[D_CONTACT_INFO].present;
	w->contact_info = v[D_CONTACT_INFO].is_null ? NULL :
	    v[D_CONTACT_INFO].s;
}

int
doctor_create(struct req *r)
{
	struct field_value	 v[NFIELDS(doctor_spec)];
	struct doctor_write	 w;
	struct doctor		 d;
	const char		*key, *loc;
	enum db_status		 st;
	int			 rc;

	if ((rc = body_fields(r, doctor_spec, NFIELDS(doctor_spec),
	    VALID_CREATE, v)))
		return rc;
	if ((rc = idempotency_begin(r, &key)))
		return rc;
	to_write(v, 1, &w);
	if ((st = db_doctor_create(r, r->user_id, &w, &d)) != DB_OK)
		return db_failed(r, st);
	loc = location(r, DOCTORS_PATH, d.id);
	reply_doctor(r, 201, &d);
	return idempotency_finish(r, key, loc,
	    arena_printf(r->arena, "\"%" PRId64 "\"", d.version));
}

int
doctor_get(struct req *r)
{
	struct precondition	 inm;
	struct doctor		 d;
	enum db_status		 st;

	switch ((st = db_doctor_get(r, r->ids[0], &d))) {
	case DB_OK:
		precondition(r, "HTTP_IF_NONE_MATCH", 1, &inm);
		if (inm.present && precondition_matches(&inm, d.version)) {
			etag(r, d.version);
			return reply_empty(r, 304);
		}
		return reply_doctor(r, 200, &d);
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
	struct field_value	 v[NFIELDS(doctor_spec)];
	struct doctor_write	 w;
	struct precondition	 im;
	struct doctor		 d;
	enum db_status		 st;
	int			 rc;

	if ((rc = body_fields(r, doctor_spec, NFIELDS(doctor_spec), mode,
	    v)))
		return rc;
	to_write(v, mode == VALID_CREATE, &w);
	precondition(r, "HTTP_IF_MATCH", 0, &im);
	switch ((st = db_doctor_update(r, r->ids[0], &w, im.versions, &d))) {
	case DB_OK:
		return reply_doctor(r, 200, &d);
	case DB_NOTFOUND:
		return not_found(r, r->ids[0]);
	case DB_STALE:
		return stale(r, r->ids[0]);
	default:
		return db_failed(r, st);
	}
}

int
doctor_put(struct req *r)
{
	return update(r, VALID_CREATE);
}

int
doctor_patch(struct req *r)
{
	return update(r, VALID_PATCH);
}

int
doctor_delete(struct req *r)
{
	struct precondition	 im;
	enum db_status		 st;

	precondition(r, "HTTP_IF_MATCH", 0, &im);
	switch ((st = db_doctor_delete(r, r->ids[0], im.versions))) {
	case DB_OK:
		return reply_empty(r, 204);
	case DB_NOTFOUND:
		return not_found(r, r->ids[0]);
	case DB_STALE:
		return stale(r, r->ids[0]);
	case DB_CONFLICT:
		return problem(r, 409, "doctor %" PRId64
		    " is assigned to patients", r->ids[0]);
	default:
		return db_failed(r, st);
	}
}

int
doctor_list(struct req *r)
{
	struct list_params	 lp;
	struct doctor		*rows;
	struct page		 pg;
	int64_t			 total = -1;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, &doctor_list_spec, &lp, &want_count)))
		return rc;
	st = db_doctor_list(r, &lp, &rows, &pg);
	if (st == DB_OK && want_count)
		st = db_doctor_count(r, &lp, &total);
	if (st != DB_OK)
		return db_failed(r, st);
	return list_reply(r, &doctor_list_spec, &lp, &pg, total, rows, sizeof(*rows),
	    doctor_item);
}
