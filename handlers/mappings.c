/*
 * /api/mappings: which doctors each of the caller's patients is assigned to
 * (API.md "Patient-doctor mappings").  The two lists are collections served
 * by resource.c; creating and deleting a mapping are here.  Another user's
 * patient or mapping is indistinguishable from a missing one: the queries
 * are scoped to the caller, so both are DB_NOTFOUND and both are 404.
 */
#include <inttypes.h>

#include "handlers.h"
#include "mappings.h"
#include "req.h"
#include "resource.h"

#define MAPPINGS_PATH	"/api/mappings"

const struct field_spec mapping_fields[] = {
	{ "patientId", F_ID, 0, 0, F_REQUIRED, NULL },
	{ "doctorId",  F_ID, 0, 0, F_REQUIRED, NULL },
};
enum { M_PATIENT, M_DOCTOR };

static const struct sort_spec sorts[] = {
	[MAPPING_SORT_ID] = { "id", SK_INT },
	[MAPPING_SORT_CREATED] = { "createdAt", SK_TIME },
};
_Static_assert(NELEMS(sorts) == MAPPING_SORT__MAX, "a spec for each sort");

static const struct filter_spec filters[] = {
	[MAPPING_FILTER_PATIENT] = { "patientId", FILT_ID, 0, NULL },
	[MAPPING_FILTER_DOCTOR] = { "doctorId", FILT_ID, 0, NULL },
};
_Static_assert(NELEMS(filters) == MAPPING_FILTER__MAX,
    "a spec for each filter");

static const struct list_spec spec = {
	sorts, NELEMS(sorts), 0, filters, NELEMS(filters), NULL, NULL, 0,
};

static const struct json_col json[] = {
	{ "id",        J_INT,  MAPPING_ID, NULL },
	{ "patientId", J_INT,  MAPPING_PATIENT, NULL },
	{ "doctorId",  J_INT,  MAPPING_DOCTOR, NULL },
	{ "createdAt", J_TIME, MAPPING_CREATED, NULL },
};

const struct collection mapping_list = {
	&spec, &db_mappings, json, NELEMS(json), NULL, 0,
};

/* One patient's doctors: the doctor's members, then the mapping's. */
static const struct sort_spec mapped_sorts[] = {
	[MAPPED_SORT_ID] = { "id", SK_INT },
	[MAPPED_SORT_NAME] = { "name", SK_TEXT },
	[MAPPED_SORT_ASSIGNED] = { "assignedAt", SK_TIME },
	[MAPPED_SORT_CREATED] = { "createdAt", SK_TIME },
};
_Static_assert(NELEMS(mapped_sorts) == MAPPED_SORT__MAX,
    "a spec for each sort");

static const struct list_spec mapped_spec = {
	mapped_sorts, NELEMS(mapped_sorts), 0, NULL, 0, NULL, NULL, 0,
};

static const struct json_col mapped_json[] = {
	DOCTOR_JSON,
	{ "mappingId",  J_INT,  MAPPED_MAPPING_ID, NULL },
	{ "assignedAt", J_TIME, MAPPED_ASSIGNED, NULL },
};

const struct collection patient_doctor_list = {
	&mapped_spec, &db_patient_doctors, mapped_json, NELEMS(mapped_json),
	"patient", 0,
};

int
mapping_create(struct req *r)
{
	struct field_value	 v[NELEMS(mapping_fields)];
	struct db_row		 row;
	enum mapping_missing	 missing = MAPPING_MISSING_PATIENT;
	enum db_status		 st;
	const char		*key, *loc;
	int64_t			 pid, did;
	int			 rc;

	if ((rc = body_fields(r, mapping_fields, NELEMS(mapping_fields),
	    VALID_CREATE, v)))
		return rc;
	if ((rc = idempotency_begin(r, &key)))
		return rc;
	pid = v[M_PATIENT].i;
	did = v[M_DOCTOR].i;
	st = db_mapping_create(req_db(r), pid, did, &row, &missing);
	if (st == DB_OK) {
		loc = location(r, MAPPINGS_PATH, db_cell_int(&row, MAPPING_ID));
		json_row(&r->out, json, NELEMS(json), &row);
		reply_json(r, 201);
		return idempotency_finish(r, key, loc, NULL);
	}
	if (st == DB_NOTFOUND && missing == MAPPING_MISSING_DOCTOR)
		return reply_db(r, st, "doctor", did, NULL);
	return reply_db(r, st, "patient", pid, arena_printf(r->arena,
	    "doctor %" PRId64 " is already assigned to patient %" PRId64,
	    did, pid));
}

int
mapping_delete(struct req *r)
{
	enum db_status	 st;

	if ((st = db_mapping_delete(req_db(r), r->ids[0])) == DB_OK)
		return reply_empty(r, 204);
	return reply_db(r, st, "mapping", r->ids[0], NULL);
}
