/*
 * /api/patients: each user's own patients (API.md "Patients"), served by
 * the generic handlers of resource.c from this descriptor.
 */
#include "patients.h"
#include "resource.h"

const char *const patient_genders[] = {
	"male", "female", "other", "unknown", NULL
};

/* The writable fields, in the order of enum patient_col. */
static const struct field_spec fields[] = {
	{ "name",    F_STRING, 1, 200, F_REQUIRED, NULL },
	{ "age",     F_INT,    0, 150, F_NULLABLE, NULL },
	{ "gender",  F_ENUM,   0, 0,   F_NULLABLE, patient_genders },
	{ "address", F_STRING, 0, 500, F_NULLABLE, NULL },
};
_Static_assert(NELEMS(fields) == PATIENT__NFIELDS,
    "a field spec for each writable column");

static const struct sort_spec sorts[] = {
	[PATIENT_SORT_ID] = { "id", SK_INT },
	[PATIENT_SORT_NAME] = { "name", SK_TEXT },
	[PATIENT_SORT_CREATED] = { "createdAt", SK_TIME },
	[PATIENT_SORT_UPDATED] = { "updatedAt", SK_TIME },
};
_Static_assert(NELEMS(sorts) == PATIENT_SORT__MAX, "a spec for each sort");

/* FHIR's search (handlers/fhir.c) takes the others. */
static const struct filter_spec filters[PATIENT_FILTER__MAX] = {
	[PATIENT_FILTER_Q] = { "q", FILT_TEXT, 200, NULL },
};

static const struct list_spec spec = {
	sorts, NELEMS(sorts), 0, filters, NELEMS(filters), NULL, NULL, 0,
};

static const struct json_col json[] = {
	{ "id",        J_INT,  PATIENT_ID, NULL },
	{ "name",      J_TEXT, PATIENT_NAME, NULL },
	{ "age",       J_INT,  PATIENT_AGE, NULL },
	{ "gender",    J_TEXT, PATIENT_GENDER, NULL },
	{ "address",   J_TEXT, PATIENT_ADDRESS, NULL },
	{ "createdAt", J_TIME, PATIENT_CREATED, NULL },
	{ "updatedAt", J_TIME, PATIENT_UPDATED, NULL },
};

const struct collection patient_list = {
	&spec, &db_patient_list, json, NELEMS(json), NULL, 0,
};

VERSION_RECORD(version_record, json)

static const struct json_col version_json[] = {
	HISTORY_JSON(version_record)
};

const struct collection patient_history = {
	&history_spec, &db_patient_history, version_json,
	NELEMS(version_json), "patient", 0,
};

const struct resource patients = {
	"patient", "/api/patients", &db_patients, fields, NELEMS(fields),
	&patient_list, &patient_history, 0,
};
