/*
 * FHIR R4 under /fhir/R4: the same patients as the JSON API, from the same
 * statements (so the same tokens, row-level security and audit rows), as
 * HL7 FHIR resources.  A Patient is a patient record: its name is
 * name[0].text, its gender the administrative-gender code, its address
 * address[0].text, and its age, which FHIR's Patient lacks, an extension
 * (AGE_URL).  Searches answer a searchset Bundle whose next link carries
 * the JSON API's opaque cursor, so that a deep page costs what the first
 * does.  Errors are OperationOutcomes with the status the JSON API gives
 * the same fault (fhir_error_body, the app's error_body hook).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "patients.h"
#include "req.h"
#include "resource.h"
#include "route.h"

#define FHIR_BASE	"/fhir/R4"
#define FHIR_TYPE	"application/fhir+json"
#define FHIR_VERSION	"4.0.1"
/* The extension that carries a patient's age (the CapabilityStatement
 * documents it). */
#define AGE_URL		"https://medrec.invalid/fhir/StructureDefinition/patient-age"

/* Is r a request of the FHIR API? */
static int
is_fhir(const struct req *r)
{
	return strncmp(r->path, FHIR_BASE "/", sizeof(FHIR_BASE)) == 0 ||
	    strcmp(r->path, FHIR_BASE) == 0;
}

/* The OperationOutcome issue code of each status the service answers. */
static const char *
issue_code(int status)
{
	switch (status) {
	case 400: return "invalid";
	case 401: return "login";
	case 403: return "forbidden";
	case 404: return "not-found";
	case 405: case 406: case 415: return "not-supported";
	case 409: case 412: return "conflict";
	case 410: return "deleted";
	case 413: return "too-long";
	case 429: return "throttled";
	case 503: return "transient";
	case 504: return "timeout";
	default: return "exception";
	}
}

/* The JSON API's field names as FHIR paths, for the issues of a 400. */
static const char *
fhir_path(const char *field)
{
	static const struct { const char *field, *path; } paths[] = {
		{ "name", "Patient.name" },
		{ "age", "Patient.extension" },
		{ "gender", "Patient.gender" },
		{ "address", "Patient.address" },
	};
	size_t	 i;

	for (i = 0; field != NULL && i < NELEMS(paths); i++)
		if (strcmp(field, paths[i].field) == 0)
			return paths[i].path;
	return NULL;
}

static void
issue(struct buf *b, int first, int status, const char *diagnostics,
    const char *expression)
{
	if (!first)
		buf_putc(b, ',');
	buf_puts(b, "{\"severity\":\"error\",\"code\":");
	json_cstr(b, issue_code(status));
	if (diagnostics != NULL) {
		buf_puts(b, ",\"diagnostics\":");
		json_cstr(b, diagnostics);
	}
	if (expression != NULL) {
		buf_puts(b, ",\"expression\":[");
		json_cstr(b, expression);
		buf_putc(b, ']');
	}
	buf_putc(b, '}');
}

int
fhir_error_body(struct req *r, int status, const char *detail,
    const struct field_errors *errs)
{
	const struct field_error	*e;
	size_t				 i;

	if (!is_fhir(r))
		return 0;
	buf_puts(&r->out, "{\"resourceType\":\"OperationOutcome\",\"issue\":[");
	if (errs == NULL || errs->n == 0)
		issue(&r->out, 1, status, detail != NULL ? detail :
		    resp_reason(status), NULL);
	for (i = 0; errs != NULL && i < errs->n; i++) {
		e = &errs->v[i];
		issue(&r->out, i == 0, status, e->field == NULL ? e->message :
		    arena_printf(r->arena, "%s %s", e->field, e->message),
		    fhir_path(e->field));
	}
	buf_puts(&r->out, "]}");
	resp_header(r, "Content-Type", "%s", FHIR_TYPE);
	return 1;
}

/*
 * The value of query parameter name, percent-decoded, or NULL.  For the
 * parameters the list parser lets by (_format, _total).
 */
static const char *
query_value(struct req *r, const char *name)
{
	const char	*q = r->query, *end, *eq;
	size_t		 n = strlen(name);

	for (; q != NULL && *q != '\0'; q = *end == '&' ? end + 1 : end) {
		end = q + strcspn(q, "&");
		eq = memchr(q, '=', (size_t)(end - q));
		if (eq != NULL && (size_t)(eq - q) == n &&
		    memcmp(q, name, n) == 0)
			return query_decode(r->arena, eq + 1,
			    (size_t)(end - eq - 1), NULL);
	}
	return NULL;
}

/* Does the header value h name a JSON media type FHIR allows, or any? */
static int
accepts_json(const char *h)
{
	static const char *const ok[] = { "application/fhir+json",
	    "application/json", "application/*", "*/*", "json" };
	const char	*p, *end;
	size_t		 i, n;

	for (p = h; *p != '\0'; p = *end == ',' ? end + 1 : end) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		n = strcspn(p, ";, \t");
		for (i = 0; i < NELEMS(ok); i++)
			if (n == strlen(ok[i]) && strncasecmp(p, ok[i], n) == 0)
				return 1;
	}
	return 0;
}

/*
 * Content negotiation: JSON is all this server writes, so an _format or
 * an Accept that asks only for something else (XML) is 406.  Returns 0,
 * or the status of the answer it set.
 */
static int
negotiate(struct req *r)
{
	const char	*f = query_value(r, "_format");
	const char	*accept = req_param(r, "HTTP_ACCEPT");

	if (f != NULL && !accepts_json(f))
		return problem(r, 406, "_format=%s: this server writes JSON "
		    "only (_format=json, application/fhir+json)", f);
	if (f == NULL && accept != NULL && *accept != '\0' &&
	    !accepts_json(accept))
		return problem(r, 406, "Accept: %s: this server writes JSON "
		    "only (application/fhir+json)", accept);
	return 0;
}

static int
reply_fhir(struct req *r, int status)
{
	r->status = status;
	resp_header(r, "Content-Type", "%s", FHIR_TYPE);
	return status;
}

/* The service's own address, for absolute URLs in Bundles. */
static const char *
base_url(struct req *r)
{
	const char	*https = req_param(r, "HTTPS");
	const char	*host = req_param(r, "HTTP_HOST");

	if (host == NULL || *host == '\0')
		host = req_param(r, "SERVER_NAME");
	return arena_printf(r->arena, "%s://%s" FHIR_BASE,
	    https != NULL && strcasecmp(https, "on") == 0 ? "https" : "http",
	    host != NULL ? host : "localhost");
}

/* A weak ETag, as FHIR's version-aware clients send it back. */
static void
fhir_etag(struct req *r, int64_t version)
{
	resp_header(r, "ETag", "W/\"%" PRId64 "\"", version);
}

/* A patient's row (enum patient_col) as a FHIR Patient. */
static void
patient_resource(struct buf *b, const struct db_row *row)
{
	const char *const	*c = row->cell;

	buf_puts(b, "{\"resourceType\":\"Patient\",\"id\":");
	json_cstr(b, c[PATIENT_ID]);
	buf_puts(b, ",\"meta\":{\"versionId\":");
	json_cstr(b, c[PATIENT_VERSION]);
	buf_puts(b, ",\"lastUpdated\":");
	json_time(b, db_cell_int(row, PATIENT_UPDATED));
	buf_putc(b, '}');
	if (c[PATIENT_AGE] != NULL)
		buf_printf(b, ",\"extension\":[{\"url\":\"" AGE_URL "\","
		    "\"valueInteger\":%s}]", c[PATIENT_AGE]);
	buf_puts(b, ",\"name\":[{\"text\":");
	json_cstr(b, c[PATIENT_NAME]);
	buf_puts(b, "}]");
	if (c[PATIENT_GENDER] != NULL) {
		buf_puts(b, ",\"gender\":");
		json_cstr(b, c[PATIENT_GENDER]);
	}
	if (c[PATIENT_ADDRESS] != NULL) {
		buf_puts(b, ",\"address\":[{\"text\":");
		json_cstr(b, c[PATIENT_ADDRESS]);
		buf_puts(b, "}]");
	}
	buf_putc(b, '}');
}

static int
reply_patient(struct req *r, int status, const struct db_row *row)
{
	fhir_etag(r, db_cell_int(row, PATIENT_VERSION));
	patient_resource(&r->out, row);
	return reply_fhir(r, status);
}

int
fhir_metadata(struct req *r)
{
	char	 now[32];
	int	 rc;

	if ((rc = negotiate(r)))
		return rc;
	json_time_fmt(now, (int64_t)r->now * 1000000);
	buf_printf(&r->out, "{\"resourceType\":\"CapabilityStatement\","
	    "\"status\":\"active\",\"date\":\"%s\",\"kind\":\"instance\","
	    "\"software\":{\"name\":\"medrec\",\"version\":\"" PACKAGE_VERSION
	    "\"},\"implementation\":{\"description\":\"medrec healthcare "
	    "records API\",\"url\":\"%s\"},\"fhirVersion\":\"" FHIR_VERSION
	    "\",\"format\":[\"json\"],", now, base_url(r));
	buf_puts(&r->out, "\"rest\":[{\"mode\":\"server\",\"security\":{"
	    "\"cors\":true,\"description\":\"A Bearer token from POST "
	    "/api/auth/login (the JSON API) in Authorization.\"},"
	    "\"resource\":[{\"type\":\"Patient\",\"documentation\":\"The "
	    "caller's own patients.  A patient's age is the extension "
	    AGE_URL " (valueInteger, 0 to 150).\",\"versioning\":\"versioned\","
	    "\"readHistory\":true,\"updateCreate\":false,"
	    "\"conditionalCreate\":false,\"conditionalUpdate\":false,"
	    "\"conditionalDelete\":\"not-supported\","
	    "\"interaction\":[{\"code\":\"read\"},{\"code\":\"vread\"},"
	    "{\"code\":\"history-instance\"},{\"code\":\"update\"},"
	    "{\"code\":\"delete\"},{\"code\":\"create\"},"
	    "{\"code\":\"search-type\"}],"
	    "\"searchParam\":["
	    "{\"name\":\"_id\",\"type\":\"token\"},"
	    "{\"name\":\"name\",\"type\":\"string\",\"documentation\":\"The "
	    "start of a word of the name, any case.\"},"
	    "{\"name\":\"gender\",\"type\":\"token\"}]}]}]}");
	return reply_fhir(r, 200);
}

/*
 * The FHIR Patient in r's body as the JSON API's body (the same fields,
 * the same checks and messages), into v.  Returns 0, or the status of
 * the 400 it set.  An update names the patient it replaces (id).
 */
static int
patient_body(struct req *r, int64_t id, struct field_value *v)
{
	cJSON	*in, *flat, *x, *y;
	char	*text;
	int	 rc;

	if ((in = cJSON_ParseWithLength(r->body != NULL ? r->body : "",
	    r->body_len)) == NULL)
		return problem(r, 400, "the body is not valid JSON in UTF-8");
	flat = cJSON_CreateObject();
	rc = 0;
	x = cJSON_GetObjectItemCaseSensitive(in, "resourceType");
	if (!cJSON_IsObject(in) || !cJSON_IsString(x) ||
	    strcmp(x->valuestring, "Patient") != 0) {
		rc = problem(r, 400, "the body must be a Patient resource "
		    "(resourceType \"Patient\")");
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(in, "id");
	if (id != 0 && (!cJSON_IsString(x) || strtoll(x->valuestring, NULL,
	    10) != id || strspn(x->valuestring, "0123456789") !=
	    strlen(x->valuestring))) {
		rc = problem(r, 400, "the Patient's id must be \"%" PRId64
		    "\", the id in the URL", id);
		goto out;
	}
	/* name[0].text; the JSON API's checks say what is wrong with it. */
	x = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(in, "name"),
	    0);
	if ((y = cJSON_GetObjectItemCaseSensitive(x, "text")) != NULL)
		cJSON_AddItemToObject(flat, "name", cJSON_Duplicate(y, 1));
	if ((y = cJSON_GetObjectItemCaseSensitive(in, "gender")) != NULL)
		cJSON_AddItemToObject(flat, "gender", cJSON_Duplicate(y, 1));
	x = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(in,
	    "address"), 0);
	if ((y = cJSON_GetObjectItemCaseSensitive(x, "text")) != NULL)
		cJSON_AddItemToObject(flat, "address", cJSON_Duplicate(y, 1));
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(in,
	    "extension")) {
		y = cJSON_GetObjectItemCaseSensitive(x, "url");
		if (cJSON_IsString(y) && strcmp(y->valuestring, AGE_URL) == 0)
			cJSON_AddItemToObject(flat, "age", cJSON_Duplicate(
			    cJSON_GetObjectItemCaseSensitive(x,
			    "valueInteger"), 1));
	}
	if ((text = cJSON_PrintUnformatted(flat)) == NULL) {
		rc = problem(r, 500, NULL);
		goto out;
	}
	r->body = arena_strdup(r->arena, text);
	r->body_len = strlen(text);
	cJSON_free(text);
	rc = body_fields(r, patients.fields, patients.nfields, VALID_CREATE,
	    v);
out:
	cJSON_Delete(flat);
	cJSON_Delete(in);
	return rc;
}

int
fhir_patient_read(struct req *r)
{
	struct db_versions	 known;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 version;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	versions(r, "HTTP_IF_NONE_MATCH", 1, &known);
	st = db_record_get(req_db(r), patients.table, r->ids[0], &known, &row);
	if (st != DB_OK)
		return reply_db(r, st, "Patient", r->ids[0], NULL);
	version = db_cell_int(&row, PATIENT_VERSION);
	if (known.present && versions_match(&known, version)) {
		fhir_etag(r, version);
		return reply_empty(r, 304);
	}
	return reply_patient(r, 200, &row);
}

int
fhir_patient_create(struct req *r)
{
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_write		 w;
	struct db_row		 row;
	enum db_status		 st;
	int			 rc;

	if ((rc = negotiate(r)) || (rc = patient_body(r, 0, v)))
		return rc;
	record_write(r, &patients, v, 1, &w);
	if ((st = db_record_create(req_db(r), patients.table, &w, &row)) !=
	    DB_OK)
		return reply_db(r, st, "Patient", 0, NULL);
	resp_header(r, "Location", "%s/Patient/%s/_history/%s", base_url(r),
	    row.cell[PATIENT_ID], row.cell[PATIENT_VERSION]);
	return reply_patient(r, 201, &row);
}

/* PUT replaces the patient; If-Match: W/"<version>" makes it safe. */
int
fhir_patient_update(struct req *r)
{
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_versions	 match;
	struct db_write		 w;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 deleted = 0;
	int			 rc;

	if ((rc = negotiate(r)) || (rc = patient_body(r, r->ids[0], v)))
		return rc;
	record_write(r, &patients, v, 1, &w);
	versions(r, "HTTP_IF_MATCH", 1, &match);
	st = db_record_update(req_db(r), patients.table, r->ids[0], &w,
	    &match, &row, &deleted);
	if (st != DB_OK)
		return reply_db(r, st, "Patient", r->ids[0], NULL);
	return reply_patient(r, 200, &row);
}

int
fhir_patient_delete(struct req *r)
{
	struct db_versions	 match;
	enum db_status		 st;
	int64_t			 deleted = 0;

	versions(r, "HTTP_IF_MATCH", 1, &match);
	st = db_record_delete(req_db(r), patients.table, r->ids[0], &match,
	    &deleted);
	if (st != DB_OK)
		return reply_db(r, st, "Patient", r->ids[0], NULL);
	return reply_empty(r, 204);
}

/*
 * Starts a Bundle of type in r->out, up to its entries: the total when
 * counted (total >= 0), and the links of the page: self, and next with
 * the cursor after pg while there are more.  bundle_end() closes it.
 */
static void
bundle_begin(struct req *r, const char *type, const char *base,
    const char *path, const struct list_spec *spec,
    const struct page_query *q, const struct db_page *pg, int64_t total)
{
	const char	*next;

	buf_printf(&r->out, "{\"resourceType\":\"Bundle\",\"type\":\"%s\"",
	    type);
	if (total >= 0)
		buf_printf(&r->out, ",\"total\":%" PRId64, total);
	buf_puts(&r->out, ",\"link\":[{\"relation\":\"self\",\"url\":");
	json_cstr(&r->out, arena_printf(r->arena, "%s%s", base,
	    list_url(r->arena, path, spec, q, NULL)));
	buf_putc(&r->out, '}');
	if (pg->has_more) {
		next = list_cursor(r->arena, spec, q, pg->last_key,
		    pg->last_id);
		buf_puts(&r->out, ",{\"relation\":\"next\",\"url\":");
		json_cstr(&r->out, arena_printf(r->arena, "%s%s", base,
		    list_url(r->arena, path, spec, q, next)));
		buf_putc(&r->out, '}');
	}
	buf_putc(&r->out, ']');
	if (pg->n > 0)
		buf_puts(&r->out, ",\"entry\":[");
}

static int
bundle_end(struct req *r, const struct db_page *pg)
{
	if (pg->n > 0)
		buf_putc(&r->out, ']');
	buf_putc(&r->out, '}');
	return reply_fhir(r, 200);
}

/* Search: the JSON API's list with FHIR's names. */
static const char *const search_params[LIST__NPARAMS] = {
	[LIST_LIMIT] = "_count", [LIST_SORT] = "_sort",
	[LIST_AFTER] = "_cursor",
};
static const char *const passed[] = { "_format", "_total", NULL };

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

static const struct list_spec patient_search_spec = {
	patient_sorts, NELEMS(patient_sorts), 0, patient_filters,
	NELEMS(patient_filters), search_params, passed,
};

int
fhir_patient_search(struct req *r)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	struct page_query	 q;
	struct db_page		 pg;
	const char		*total, *base;
	int64_t			 count = -1;
	enum db_status		 st;
	size_t			 i;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	if (list_parse(r->arena, r->query, &patient_search_spec, &q, &errs) ==
	    -1)
		return problem_fields(r, &errs);
	total = query_value(r, "_total");
	if (total != NULL && strcmp(total, "accurate") != 0 &&
	    strcmp(total, "none") != 0 && strcmp(total, "estimate") != 0)
		return problem(r, 400, "_total must be one of none, estimate, "
		    "accurate");
	st = db_list(req_db(r), &db_patient_list, &q, 0, &pg);
	if (st == DB_OK && total != NULL && strcmp(total, "accurate") == 0)
		st = db_count(req_db(r), &db_patient_list, &q, 0, &count);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);

	base = base_url(r);
	bundle_begin(r, "searchset", base, "/Patient", &patient_search_spec,
	    &q, &pg, count);
	for (i = 0; i < pg.n; i++) {
		buf_puts(&r->out, i > 0 ? ",{\"fullUrl\":" : "{\"fullUrl\":");
		json_cstr(&r->out, arena_printf(r->arena, "%s/Patient/%s",
		    base, pg.rows[i].cell[PATIENT_ID]));
		buf_puts(&r->out, ",\"resource\":");
		patient_resource(&r->out, &pg.rows[i]);
		buf_puts(&r->out, ",\"search\":{\"mode\":\"match\"}}");
	}
	return bundle_end(r, &pg);
}

/* A version's row (enum history_col) holds the patient as it was. */
static const struct db_row *
version_patient(struct req *r, const struct db_row *row)
{
	struct db_row	*p = arena_alloc(r->arena, sizeof(*p));

	p->cell = row->cell + HISTORY_RECORD;
	return p;
}

/* vread: GET /Patient/:id/_history/:vid, one version as it was. */
int
fhir_patient_vread(struct req *r)
{
	struct db_row	 row;
	enum db_status	 st;
	int		 rc;

	if ((rc = negotiate(r)))
		return rc;
	st = db_record_version(req_db(r), patients.table, r->ids[0],
	    r->ids[1], &row);
	if (st == DB_NOTFOUND)
		return problem(r, 404, "Patient %" PRId64 " has no version %"
		    PRId64, r->ids[0], r->ids[1]);
	if (st != DB_OK)
		return reply_db(r, st, "Patient", r->ids[0], NULL);
	/* A delete's version: FHIR reads it as gone (410). */
	if (strcmp(row.cell[HISTORY_OP], "delete") == 0)
		return problem(r, 410, "version %" PRId64 " of Patient %" PRId64
		    " is its deletion", r->ids[1], r->ids[0]);
	return reply_patient(r, 200, version_patient(r, &row));
}

/* The history's paging: newest first, _count and _cursor. */
static const char *const history_params[LIST__NPARAMS] = {
	[LIST_LIMIT] = "_count", [LIST_AFTER] = "_cursor",
};
static const char *const history_passed[] = { "_format", NULL };

static const struct list_spec history_search_spec = {
	(const struct sort_spec[]){ { "_version", SK_INT } }, 1, 1, NULL, 0,
	history_params, history_passed,
};

/* How a history Bundle's entry says what the write of a version was. */
static void
history_request(struct buf *b, const struct db_row *row)
{
	const char	*op = row->cell[HISTORY_OP];
	const char	*id = row->cell[HISTORY_RECORD + PATIENT_ID];

	if (strcmp(op, "create") == 0)
		buf_puts(b, ",\"request\":{\"method\":\"POST\","
		    "\"url\":\"Patient\"},\"response\":{\"status\":\"201\"");
	else
		buf_printf(b, ",\"request\":{\"method\":\"%s\","
		    "\"url\":\"Patient/%s\"},\"response\":{\"status\":\"%s\"",
		    strcmp(op, "delete") == 0 ? "DELETE" : "PUT", id,
		    strcmp(op, "delete") == 0 ? "204" : "200");
	buf_printf(b, ",\"etag\":\"W/\\\"%s\\\"\",\"lastModified\":",
	    row->cell[HISTORY_VERSION]);
	json_time(b, db_cell_int(row, HISTORY_AT));
	buf_putc(b, '}');
}

/* GET /Patient/:id/_history: its versions, newest first, paged. */
int
fhir_patient_history(struct req *r)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	struct page_query	 q;
	struct db_page		 pg;
	const char		*base, *path;
	enum db_status		 st;
	size_t			 i;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	if (list_parse(r->arena, r->query, &history_search_spec, &q, &errs) ==
	    -1)
		return problem_fields(r, &errs);
	st = db_list(req_db(r), &db_patient_history, &q, r->ids[0], &pg);
	if (st != DB_OK)
		return reply_db(r, st, "Patient", r->ids[0], NULL);
	base = base_url(r);
	path = arena_printf(r->arena, "/Patient/%" PRId64 "/_history",
	    r->ids[0]);
	bundle_begin(r, "history", base, path, &history_search_spec, &q, &pg,
	    -1);
	for (i = 0; i < pg.n; i++) {
		buf_puts(&r->out, i > 0 ? ",{\"fullUrl\":" : "{\"fullUrl\":");
		json_cstr(&r->out, arena_printf(r->arena, "%s/Patient/%" PRId64,
		    base, r->ids[0]));
		if (strcmp(pg.rows[i].cell[HISTORY_OP], "delete") != 0) {
			buf_puts(&r->out, ",\"resource\":");
			patient_resource(&r->out, version_patient(r,
			    &pg.rows[i]));
		}
		history_request(&r->out, &pg.rows[i]);
		buf_putc(&r->out, '}');
	}
	return bundle_end(r, &pg);
}
