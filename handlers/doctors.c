/*
 * /api/doctors: the doctors list every user shares (API.md "Doctors"),
 * served by the generic handlers of resource.c from this descriptor.
 * Reading is public and writing (and reading history) needs a token (the
 * route table says which).  Public reads are answered from each worker's
 * memory while no doctor changes (cache.c).
 */
#include "doctors.h"
#include "resource.h"

/* The writable fields, in the order of enum doctor_col. */
static const struct field_spec fields[] = {
	{ "name",           F_STRING, 1, 200, F_REQUIRED, NULL },
	{ "specialization", F_STRING, 1, 100, F_REQUIRED, NULL },
	{ "contactInfo",    F_STRING, 0, 200, F_NULLABLE, NULL },
};
_Static_assert(NELEMS(fields) == DOCTOR__NFIELDS,
    "a field spec for each writable column");

static const struct sort_spec sorts[] = {
	[DOCTOR_SORT_ID] = { "id", SK_INT },
	[DOCTOR_SORT_NAME] = { "name", SK_TEXT },
	[DOCTOR_SORT_CREATED] = { "createdAt", SK_TIME },
	[DOCTOR_SORT_UPDATED] = { "updatedAt", SK_TIME },
};
_Static_assert(NELEMS(sorts) == DOCTOR_SORT__MAX, "a spec for each sort");

/* FHIR's search (handlers/fhir.c) takes the others. */
static const struct filter_spec filters[DOCTOR_FILTER__MAX] = {
	[DOCTOR_FILTER_Q] = { "q", FILT_TEXT, 200, NULL },
	[DOCTOR_FILTER_SPECIALIZATION] = { "specialization", FILT_TEXT, 100,
	    NULL },
};

static const struct list_spec spec = {
	sorts, NELEMS(sorts), 0, filters, NELEMS(filters), NULL, NULL, 0,
};

static const struct json_col json[] = { DOCTOR_JSON };

const struct collection doctor_list = {
	&spec, &db_doctor_list, json, NELEMS(json), NULL, 1,
};

VERSION_RECORD(version_record, json)

static const struct json_col version_json[] = {
	HISTORY_JSON(version_record)
};

const struct collection doctor_history = {
	&history_spec, &db_doctor_history, version_json,
	NELEMS(version_json), "doctor", 0,
};

const struct resource doctors = {
	"doctor", "/api/doctors", &db_doctors, fields, NELEMS(fields),
	&doctor_list, &doctor_history, 1,
};
