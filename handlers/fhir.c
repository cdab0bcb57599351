/*
 * FHIR R4 under /fhir/R4 (fhir.h): content negotiation, errors as
 * OperationOutcomes (fhir_error_body, the app's error_body hook), Bundles,
 * the CapabilityStatement, and the interactions of every type that maps a
 * record, over the route row's struct fhir_type.  A CareTeam is the
 * doctors assigned to one patient: it has the patient's id.  Searches
 * answer Bundles whose next link carries the JSON API's opaque cursor, so
 * that a deep page costs what the first does.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "doctors.h"
#include "fhir.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "mappings.h"
#include "req.h"
#include "resource.h"
#include "route.h"

#define FHIR_TYPE	"application/fhir+json"
#define FHIR_VERSION	"4.0.1"

static int
is_fhir(const struct req *r)
{
	return strncmp(r->path, FHIR_BASE "/", sizeof(FHIR_BASE)) == 0 ||
	    strcmp(r->path, FHIR_BASE) == 0;
}

/* The type of a FHIR route's row, or NULL (metadata, CareTeam, none). */
static const struct fhir_type *
type_of(const struct req *r)
{
	return r->route != NULL ? r->route->arg : NULL;
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

/* The FHIR path of a JSON API field of type t, or NULL. */
static const char *
fhir_path(const struct fhir_type *t, const char *field)
{
	size_t	 i;

	for (i = 0; t != NULL && field != NULL && t->paths[i] != NULL; i += 2)
		if (strcmp(field, t->paths[i]) == 0)
			return t->paths[i + 1];
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
		    fhir_path(type_of(r), e->field));
	}
	buf_puts(&r->out, "]}");
	resp_header(r, "Content-Type", "%s", FHIR_TYPE);
	return 1;
}

/*
 * The value of query parameter name, percent-decoded, or NULL: for the
 * parameters the list parser lets by (_format, _total) and CareTeam's.
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

/* Record row of type t as its FHIR resource. */
static void
resource_json(struct buf *b, const struct fhir_type *t,
    const struct db_row *row)
{
	buf_printf(b, "{\"resourceType\":\"%s\",\"id\":", t->name);
	json_cstr(b, row->cell[0]);
	buf_puts(b, ",\"meta\":{\"versionId\":");
	json_cstr(b, row->cell[t->res->table->version_col]);
	buf_puts(b, ",\"lastUpdated\":");
	json_time(b, db_cell_int(row, t->updated_col));
	buf_putc(b, '}');
	t->members(b, row);
	buf_putc(b, '}');
}

/* A weak ETag, as FHIR's version-aware clients send it back. */
static void
weak_etag(struct req *r, int64_t version)
{
	resp_header(r, "ETag", "W/\"%" PRId64 "\"", version);
}

static int
reply_resource(struct req *r, int status, const struct fhir_type *t,
    const struct db_row *row)
{
	weak_etag(r, db_cell_int(row, t->res->table->version_col));
	resource_json(&r->out, t, row);
	return reply_fhir(r, status);
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
	if (pg != NULL && pg->has_more) {
		next = list_cursor(r->arena, spec, q, pg->last_key,
		    pg->last_id);
		buf_puts(&r->out, ",{\"relation\":\"next\",\"url\":");
		json_cstr(&r->out, arena_printf(r->arena, "%s%s", base,
		    list_url(r->arena, path, spec, q, next)));
		buf_putc(&r->out, '}');
	}
	buf_putc(&r->out, ']');
}

/* An entry of a Bundle: its fullUrl, then what comes after it. */
static void
entry_begin(struct req *r, size_t i, const char *base, const char *name,
    const char *id)
{
	buf_puts(&r->out, i == 0 ? ",\"entry\":[{\"fullUrl\":" :
	    ",{\"fullUrl\":");
	json_cstr(&r->out, arena_printf(r->arena, "%s/%s/%s", base, name,
	    id));
}

static int
bundle_end(struct req *r, size_t nentries)
{
	buf_puts(&r->out, nentries > 0 ? "]}" : "}");
	return reply_fhir(r, 200);
}

int
fhir_metadata(struct req *r)
{
	const struct fhir_type *const types[] = { &fhir_patient,
	    &fhir_practitioner };
	char	 now[32];
	size_t	 i;
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
	    "\"resource\":[");
	for (i = 0; i < NELEMS(types); i++)
		buf_printf(&r->out, "{\"type\":\"%s\",%s},", types[i]->name,
		    types[i]->capability);
	buf_puts(&r->out, "{\"type\":\"CareTeam\",\"documentation\":\"The "
	    "doctors assigned to one of the caller's patients (the JSON "
	    "API's mappings, which assign and unassign them): its id is the "
	    "patient's.\",\"interaction\":[{\"code\":\"read\"},"
	    "{\"code\":\"search-type\"}],\"searchParam\":[{\"name\":"
	    "\"patient\",\"type\":\"reference\"},{\"name\":\"subject\","
	    "\"type\":\"reference\"}]}]}]}");
	return reply_fhir(r, 200);
}

/*
 * The FHIR resource of type t in r's body as the JSON API's body of its
 * record (the same checks and messages), into v.  Returns 0, or the
 * status of the 400 it set.  An update names the record it replaces (id).
 */
static int
body_values(struct req *r, const struct fhir_type *t, int64_t id,
    struct field_value *v)
{
	cJSON	*in, *flat = NULL, *x;
	char	*text;
	int	 rc;

	if ((in = cJSON_ParseWithLength(r->body != NULL ? r->body : "",
	    r->body_len)) == NULL)
		return problem(r, 400, "the body is not valid JSON in UTF-8");
	x = cJSON_GetObjectItemCaseSensitive(in, "resourceType");
	if (!cJSON_IsObject(in) || !cJSON_IsString(x) ||
	    strcmp(x->valuestring, t->name) != 0) {
		rc = problem(r, 400, "the body must be a %s resource "
		    "(resourceType \"%s\")", t->name, t->name);
		goto out;
	}
	x = cJSON_GetObjectItemCaseSensitive(in, "id");
	if (id != 0 && (!cJSON_IsString(x) || strspn(x->valuestring,
	    "0123456789") != strlen(x->valuestring) ||
	    strtoll(x->valuestring, NULL, 10) != id)) {
		rc = problem(r, 400, "the %s's id must be \"%" PRId64 "\", "
		    "the id in the URL", t->name, id);
		goto out;
	}
	if ((flat = cJSON_CreateObject()) == NULL) {
		rc = problem(r, 500, NULL);
		goto out;
	}
	t->flatten(in, flat);
	if ((text = cJSON_PrintUnformatted(flat)) == NULL) {
		rc = problem(r, 500, NULL);
		goto out;
	}
	r->body = arena_strdup(r->arena, text);
	r->body_len = strlen(text);
	cJSON_free(text);
	rc = body_fields(r, t->res->fields, t->res->nfields, VALID_CREATE, v);
out:
	cJSON_Delete(flat);
	cJSON_Delete(in);
	return rc;
}

int
fhir_read(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct db_versions	 known;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 version;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	versions(r, "HTTP_IF_NONE_MATCH", 1, &known);
	st = db_record_get(req_db(r), t->res->table, r->ids[0], &known, &row);
	if (st != DB_OK)
		return reply_db(r, st, t->name, r->ids[0], NULL);
	version = db_cell_int(&row, t->res->table->version_col);
	if (known.present && versions_match(&known, version)) {
		weak_etag(r, version);
		return reply_empty(r, 304);
	}
	return reply_resource(r, 200, t, &row);
}

int
fhir_create(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_write		 w;
	struct db_row		 row;
	enum db_status		 st;
	int			 rc;

	if ((rc = negotiate(r)) || (rc = body_values(r, t, 0, v)))
		return rc;
	record_write(r, t->res, v, 1, &w);
	if ((st = db_record_create(req_db(r), t->res->table, &w, &row)) !=
	    DB_OK)
		return reply_db(r, st, t->name, 0, NULL);
	resp_header(r, "Location", "%s/%s/%s/_history/%s", base_url(r),
	    t->name, row.cell[0], row.cell[t->res->table->version_col]);
	return written(t->res, reply_resource(r, 201, t, &row));
}

/* PUT replaces the record; If-Match: W/"<version>" makes it safe. */
int
fhir_update(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_versions	 match;
	struct db_write		 w;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 deleted = 0;
	int			 rc;

	if ((rc = negotiate(r)) || (rc = body_values(r, t, r->ids[0], v)))
		return rc;
	record_write(r, t->res, v, 1, &w);
	versions(r, "HTTP_IF_MATCH", 1, &match);
	st = db_record_update(req_db(r), t->res->table, r->ids[0], &w, &match,
	    &row, &deleted);
	if (st != DB_OK)
		return reply_db(r, st, t->name, r->ids[0], NULL);
	return written(t->res, reply_resource(r, 200, t, &row));
}

int
fhir_delete(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct db_versions	 match;
	enum db_status		 st;
	int64_t			 deleted = 0;

	versions(r, "HTTP_IF_MATCH", 1, &match);
	st = db_record_delete(req_db(r), t->res->table, r->ids[0], &match,
	    &deleted);
	if (st != DB_OK)
		return reply_db(r, st, t->name, r->ids[0], NULL);
	return written(t->res, reply_empty(r, 204));
}

int
fhir_search(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
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
	if (list_parse(r->arena, r->query, t->search, &q, &errs) == -1)
		return problem_fields(r, &errs);
	total = query_value(r, "_total");
	if (total != NULL && strcmp(total, "accurate") != 0 &&
	    strcmp(total, "none") != 0 && strcmp(total, "estimate") != 0)
		return problem(r, 400, "_total must be one of none, estimate, "
		    "accurate");
	st = db_list(req_db(r), t->res->table->list, &q, 0, &pg);
	if (st == DB_OK && total != NULL && strcmp(total, "accurate") == 0)
		st = db_count(req_db(r), t->res->table->list, &q, 0, &count);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	base = base_url(r);
	bundle_begin(r, "searchset", base, arena_printf(r->arena, "/%s",
	    t->name), t->search, &q, &pg, count);
	for (i = 0; i < pg.n; i++) {
		entry_begin(r, i, base, t->name, pg.rows[i].cell[0]);
		buf_puts(&r->out, ",\"resource\":");
		resource_json(&r->out, t, &pg.rows[i]);
		buf_puts(&r->out, ",\"search\":{\"mode\":\"match\"}}");
	}
	return bundle_end(r, pg.n);
}

/* A version's row (enum history_col) holds the record as it was. */
static const struct db_row *
version_record(struct req *r, const struct db_row *row)
{
	struct db_row	*p = arena_alloc(r->arena, sizeof(*p));

	p->cell = row->cell + HISTORY_RECORD;
	return p;
}

/* vread: GET /<type>/:id/_history/:vid, one version as it was. */
int
fhir_vread(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct db_row		 row;
	enum db_status		 st;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	st = db_record_version(req_db(r), t->res->table, r->ids[0], r->ids[1],
	    &row);
	if (st == DB_NOTFOUND)
		return problem(r, 404, "%s %" PRId64 " has no version %" PRId64,
		    t->name, r->ids[0], r->ids[1]);
	if (st != DB_OK)
		return reply_db(r, st, t->name, r->ids[0], NULL);
	/* A delete's version: FHIR reads it as gone. */
	if (strcmp(row.cell[HISTORY_OP], "delete") == 0)
		return problem(r, 410, "version %" PRId64 " of %s %" PRId64
		    " is its deletion", r->ids[1], t->name, r->ids[0]);
	return reply_resource(r, 200, t, version_record(r, &row));
}

/* The history's paging: newest first, _count and _cursor. */
static const char *const history_params[LIST__NPARAMS] = {
	[LIST_LIMIT] = "_count", [LIST_AFTER] = "_cursor",
};

static const struct list_spec fhir_history_spec = {
	(const struct sort_spec[]){ { "_version", SK_INT } }, 1, 1, NULL, 0,
	history_params, (const char *const[]){ "_format", NULL }, 1,
};

/* How a history Bundle's entry says what the write of a version was. */
static void
history_request(struct buf *b, const char *name, const struct db_row *row)
{
	const char	*op = row->cell[HISTORY_OP];
	const char	*id = row->cell[HISTORY_RECORD];

	if (strcmp(op, "create") == 0)
		buf_printf(b, ",\"request\":{\"method\":\"POST\",\"url\":"
		    "\"%s\"},\"response\":{\"status\":\"201\"", name);
	else
		buf_printf(b, ",\"request\":{\"method\":\"%s\",\"url\":"
		    "\"%s/%s\"},\"response\":{\"status\":\"%s\"",
		    strcmp(op, "delete") == 0 ? "DELETE" : "PUT", name, id,
		    strcmp(op, "delete") == 0 ? "204" : "200");
	buf_printf(b, ",\"etag\":\"W/\\\"%s\\\"\",\"lastModified\":",
	    row->cell[HISTORY_VERSION]);
	json_time(b, db_cell_int(row, HISTORY_AT));
	buf_putc(b, '}');
}

/* GET /<type>/:id/_history: its versions, newest first, paged. */
int
fhir_history(struct req *r)
{
	const struct fhir_type	*t = r->route->arg;
	struct field_errors	 errs = { NULL, 0, 0 };
	struct page_query	 q;
	struct db_page		 pg;
	const char		*base, *id;
	enum db_status		 st;
	size_t			 i;
	int			 rc;

	if ((rc = negotiate(r)))
		return rc;
	if (list_parse(r->arena, r->query, &fhir_history_spec, &q, &errs) == -1)
		return problem_fields(r, &errs);
	st = db_list(req_db(r), t->res->table->history, &q, r->ids[0], &pg);
	if (st != DB_OK)
		return reply_db(r, st, t->name, r->ids[0], NULL);
	base = base_url(r);
	id = arena_printf(r->arena, "%" PRId64, r->ids[0]);
	bundle_begin(r, "history", base, arena_printf(r->arena,
	    "/%s/%s/_history", t->name, id), &fhir_history_spec, &q, &pg, -1);
	for (i = 0; i < pg.n; i++) {
		entry_begin(r, i, base, t->name, id);
		if (strcmp(pg.rows[i].cell[HISTORY_OP], "delete") != 0) {
			buf_puts(&r->out, ",\"resource\":");
			resource_json(&r->out, t, version_record(r,
			    &pg.rows[i]));
		}
		history_request(&r->out, t->name, &pg.rows[i]);
		buf_putc(&r->out, '}');
	}
	return bundle_end(r, pg.n);
}

/*
 * The CareTeam of patient id into b: every doctor assigned to it, a page
 * of the JSON API's list at a time.  DB_NOTFOUND when the caller has no
 * such patient.
 */
static enum db_status
careteam(struct req *r, int64_t id, struct buf *b)
{
	struct page_query	 q;
	struct db_page		 pg;
	enum db_status		 st;
	size_t			 i, n = 0;

	memset(&q, 0, sizeof(q));
	q.limit = PAGE_LIMIT_MAX;
	buf_printf(b, "{\"resourceType\":\"CareTeam\",\"id\":\"%" PRId64
	    "\",\"status\":\"active\",\"subject\":{\"reference\":"
	    "\"Patient/%" PRId64 "\"}", id, id);
	do {
		if ((st = db_list(req_db(r), &db_patient_doctors, &q, id,
		    &pg)) != DB_OK)
			return st;
		for (i = 0; i < pg.n; i++, n++) {
			buf_puts(b, n == 0 ? ",\"participant\":[" : ",");
			buf_printf(b, "{\"member\":{\"reference\":"
			    "\"Practitioner/%s\",\"display\":",
			    pg.rows[i].cell[DOCTOR_ID]);
			json_cstr(b, pg.rows[i].cell[DOCTOR_NAME]);
			buf_puts(b, "}}");
		}
		q.has_after = 1;
		q.after_key = pg.last_key;
		q.after_id = pg.last_id;
	} while (pg.has_more);
	buf_puts(b, n > 0 ? "]}" : "}");
	return DB_OK;
}

int
fhir_careteam_read(struct req *r)
{
	enum db_status	 st;
	int		 rc;

	if ((rc = negotiate(r)))
		return rc;
	if ((st = careteam(r, r->ids[0], &r->out)) != DB_OK) {
		r->out.len = 0;
		return reply_db(r, st, "CareTeam", r->ids[0], NULL);
	}
	return reply_fhir(r, 200);
}

/* GET /CareTeam?patient=<id> or ?subject=Patient/<id>: one or none. */
int
fhir_careteam_search(struct req *r)
{
	static const char *const names[] = { "patient", "subject", "_format",
	    NULL };
	const char	*patient = query_value(r, "patient");
	const char	*subject = query_value(r, "subject");
	const char	*q, *end, *v, *base;
	struct buf	 team;
	enum db_status	 st;
	int64_t		 id;
	size_t		 i, len, n = 1;
	int		 rc;

	if ((rc = negotiate(r)))
		return rc;
	for (q = r->query; q != NULL && *q != '\0'; q = *end ? end + 1 : end) {
		end = q + strcspn(q, "&");
		len = strcspn(q, "=&");
		for (i = 0; names[i] != NULL; i++)
			if (strlen(names[i]) == len &&
			    strncmp(q, names[i], len) == 0)
				break;
		if (names[i] == NULL && len > 0)
			return problem(r, 400, "a CareTeam is searched by "
			    "patient or subject only");
	}
	if ((patient == NULL) == (subject == NULL))
		return problem(r, 400, "search a CareTeam by patient=<id> or "
		    "subject=Patient/<id>, one of them");
	v = patient != NULL ? patient : subject;
	if (v != NULL && strncmp(v, "Patient/", 8) == 0)
		v += 8;
	if (v == NULL || valid_id(v, strlen(v), &id) == -1)
		return problem(r, 400, "%s must name a patient: <id> or "
		    "Patient/<id>", patient != NULL ? "patient" : "subject");
	buf_init(&team, r->arena, 512);
	st = careteam(r, id, &team);
	if (st == DB_NOTFOUND)	/* not a patient of the caller's */
		n = 0;
	else if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	base = base_url(r);
	buf_printf(&r->out, "{\"resourceType\":\"Bundle\",\"type\":"
	    "\"searchset\",\"total\":%zu,\"link\":[{\"relation\":\"self\","
	    "\"url\":", n);
	json_cstr(&r->out, arena_printf(r->arena, "%s/CareTeam?patient=%"
	    PRId64, base, id));
	buf_puts(&r->out, "}]");
	if (n > 0) {
		entry_begin(r, 0, base, "CareTeam", arena_printf(r->arena,
		    "%" PRId64, id));
		buf_printf(&r->out, ",\"resource\":%s,\"search\":{\"mode\":"
		    "\"match\"}}", team.data);
	}
	return bundle_end(r, n);
}
