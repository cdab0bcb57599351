/*
 * How each FHIR type maps a record of the JSON API (fhir.h): its members,
 * what a body of it sets, the paths of its fields and its search.
 *
 * A Patient is a patient: name[0].text, gender (administrative-gender, as
 * the JSON API's), address[0].text, and its age, which FHIR's Patient
 * lacks, as the extension FHIR_AGE_URL.  A Practitioner is a doctor: its
 * name[0].text, its specialization as qualification[0].code.text, and
 * its contact info as telecom[0] (an email when it is one).
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "doctors.h"
#include "fhir.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "patients.h"
#include "resource.h"

/* Every search's paging, with FHIR's names (_offset is Medplum's and
 * HAPI's way to jump to a page); the handler reads the passed ones. */
static const char *const search_params[LIST__NPARAMS] = {
	[LIST_LIMIT] = "_count", [LIST_OFFSET] = "_offset",
	[LIST_SORT] = "_sort", [LIST_AFTER] = "_cursor",
};
static const char *const passed[] = { "_format", "_total", NULL };

/* ",\"name\":[{\"text\":...}]": a HumanName of one text. */
static void
name_text(struct buf *b, const char *text)
{
	buf_puts(b, ",\"name\":[{\"text\":");
	json_cstr(b, text);
	buf_puts(b, "}]");
}

/* Copies what in has at path a.b (a[0].b for an array), as member to. */
static void
copy(const cJSON *in, const char *a, const char *b, cJSON *flat,
    const char *to)
{
	const cJSON	*x = cJSON_GetObjectItemCaseSensitive(in, a);

	if (cJSON_IsArray(x))
		x = cJSON_GetArrayItem(x, 0);
	if (b != NULL)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (x != NULL)
		cJSON_AddItemToObject(flat, to, cJSON_Duplicate(x, 1));
}

static void
patient_members(struct buf *b, const struct db_row *row)
{
	const char *const	*c = row->cell;

	if (c[PATIENT_AGE] != NULL)
		buf_printf(b, ",\"extension\":[{\"url\":\"" FHIR_AGE_URL "\","
		    "\"valueInteger\":%s}]", c[PATIENT_AGE]);
	name_text(b, c[PATIENT_NAME]);
	if (c[PATIENT_GENDER] != NULL) {
		buf_puts(b, ",\"gender\":");
		json_cstr(b, c[PATIENT_GENDER]);
	}
	if (c[PATIENT_ADDRESS] != NULL) {
		buf_puts(b, ",\"address\":[{\"text\":");
		json_cstr(b, c[PATIENT_ADDRESS]);
		buf_puts(b, "}]");
	}
}

static void
patient_flatten(const cJSON *in, cJSON *flat)
{
	const cJSON	*x, *url;

	copy(in, "name", "text", flat, "name");
	copy(in, "gender", NULL, flat, "gender");
	copy(in, "address", "text", flat, "address");
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(in,
	    "extension")) {
		url = cJSON_GetObjectItemCaseSensitive(x, "url");
		if (cJSON_IsString(url) &&
		    strcmp(url->valuestring, FHIR_AGE_URL) == 0)
			copy(x, "valueInteger", NULL, flat, "age");
	}
}

static const struct sort_spec patient_sorts[PATIENT_SORT__MAX] = {
	[PATIENT_SORT_ID] = { "_id", SK_INT },
	[PATIENT_SORT_NAME] = { "name", SK_TEXT },
	[PATIENT_SORT_CREATED] = { "_created", SK_TIME },
	[PATIENT_SORT_UPDATED] = { "_lastUpdated", SK_TIME },
};

static const struct filter_spec patient_filters[PATIENT_FILTER__MAX] = {
	[PATIENT_FILTER_NAME] = { "name", FILT_TEXT, 200, NULL },
	[PATIENT_FILTER_GENDER] = { "gender", FILT_ENUM, 0, patient_genders },
	[PATIENT_FILTER_ID] = { "_id", FILT_ID, 0, NULL },
};

static const struct list_spec patient_search = {
	patient_sorts, NELEMS(patient_sorts), 0, patient_filters,
	NELEMS(patient_filters), search_params, passed, 1,
};

/* What the CapabilityStatement says of a type that maps a record. */
#define INTERACTIONS							\
	"\"versioning\":\"versioned\",\"readHistory\":true,"		\
	"\"updateCreate\":false,\"conditionalCreate\":false,"		\
	"\"conditionalUpdate\":false,\"conditionalDelete\":\"not-supported\"," \
	"\"interaction\":[{\"code\":\"read\"},{\"code\":\"vread\"},"	\
	"{\"code\":\"history-instance\"},{\"code\":\"update\"},"	\
	"{\"code\":\"delete\"},{\"code\":\"create\"},"			\
	"{\"code\":\"search-type\"}]"
#define SEARCH_NAME							\
	"{\"name\":\"_id\",\"type\":\"token\"},"			\
	"{\"name\":\"name\",\"type\":\"string\",\"documentation\":\"The " \
	"start of a word of the name, any case.\"}"

const struct fhir_type fhir_patient = {
	"Patient", &patients, PATIENT_UPDATED, patient_members,
	patient_flatten,
	(const char *const[]){ "name", "Patient.name", "age",
	    "Patient.extension", "gender", "Patient.gender", "address",
	    "Patient.address", NULL },
	&patient_search,
	"\"documentation\":\"The caller's own patients.  A patient's age is "
	"the extension " FHIR_AGE_URL " (valueInteger, 0 to 150).\","
	INTERACTIONS ",\"searchParam\":[" SEARCH_NAME ","
	"{\"name\":\"gender\",\"type\":\"token\"}]",
};

static void
practitioner_members(struct buf *b, const struct db_row *row)
{
	const char	*contact = row->cell[DOCTOR_CONTACT_INFO];

	name_text(b, row->cell[DOCTOR_NAME]);
	if (contact != NULL) {
		/* An email, or whatever else the contact info is. */
		buf_printf(b, ",\"telecom\":[{\"system\":\"%s\",\"value\":",
		    strchr(contact, '@') != NULL && strchr(contact, ' ') ==
		    NULL ? "email" : "other");
		json_cstr(b, contact);
		buf_puts(b, "}]");
	}
	buf_puts(b, ",\"qualification\":[{\"code\":{\"text\":");
	json_cstr(b, row->cell[DOCTOR_SPECIALIZATION]);
	buf_puts(b, "}}]");
}

static void
practitioner_flatten(const cJSON *in, cJSON *flat)
{
	const cJSON	*q;

	copy(in, "name", "text", flat, "name");
	q = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(in,
	    "qualification"), 0);
	copy(q, "code", "text", flat, "specialization");
	copy(in, "telecom", "value", flat, "contactInfo");
}

static const struct sort_spec practitioner_sorts[DOCTOR_SORT__MAX] = {
	[DOCTOR_SORT_ID] = { "_id", SK_INT },
	[DOCTOR_SORT_NAME] = { "name", SK_TEXT },
	[DOCTOR_SORT_CREATED] = { "_created", SK_TIME },
	[DOCTOR_SORT_UPDATED] = { "_lastUpdated", SK_TIME },
};

static const struct filter_spec practitioner_filters[DOCTOR_FILTER__MAX] = {
	[DOCTOR_FILTER_NAME] = { "name", FILT_TEXT, 200, NULL },
	[DOCTOR_FILTER_ID] = { "_id", FILT_ID, 0, NULL },
};

static const struct list_spec practitioner_search = {
	practitioner_sorts, NELEMS(practitioner_sorts), 0,
	practitioner_filters, NELEMS(practitioner_filters), search_params,
	passed, 1,
};

const struct fhir_type fhir_practitioner = {
	"Practitioner", &doctors, DOCTOR_UPDATED, practitioner_members,
	practitioner_flatten,
	(const char *const[]){ "name", "Practitioner.name", "specialization",
	    "Practitioner.qualification", "contactInfo",
	    "Practitioner.telecom", NULL },
	&practitioner_search,
	"\"documentation\":\"The doctors every user shares: read and search "
	"need no token, the rest does.  The specialization is "
	"qualification[0].code.text; the contact info telecom[0].\","
	INTERACTIONS ",\"searchParam\":[" SEARCH_NAME "]",
};
