/*
 * GET /api/audit: the caller's own audit events, newest first, paged and
 * filtered like every list (API.md "Audit trail").
 */
#include <string.h>

#include "audit.h"
#include "common.h"
#include "handlers.h"
#include "json.h"
#include "req.h"

/* In enum audit_sort order; the default, id, runs newest first. */
static const struct sort_spec audit_sorts[] = {
	{ "id", SK_INT },
	{ "at", SK_TIME },
};
/* In enum audit_filter order. */
static const struct filter_spec audit_filters[] = {
	{ "action", FILT_TEXT, 32 },
	{ "resourceType", FILT_TEXT, 32 },
	{ "resourceId", FILT_ID, 0 },
};
static const struct list_spec audit_list_spec = {
	audit_sorts, NFIELDS(audit_sorts), 1,
	audit_filters, NFIELDS(audit_filters),
};

static const char *const actions[] = {
	"register", "login", "login_failed", "logout", "password_change",
	"read", "list", "create", "update", "delete", NULL
};
static const char *const resource_types[] = {
	"user", "patient", "doctor", "mapping", NULL
};

/* 1 when s is NULL (no filter) or one of the NULL-terminated words. */
static int
one_of(const char *s, const char *const *words)
{
	for (; s != NULL && *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return s == NULL;
}

static void
event_json(struct buf *b, const struct audit_event *e)
{
	buf_puts(b, "{\"id\":");
	json_int(b, e->id);
	json_key(b, "at", 0);
	json_time(b, e->at);
	json_key(b, "action", 0);
	json_cstr(b, e->action);
	json_key(b, "resourceType", 0);
	json_cstr(b, e->resource_type);
	json_key(b, "resourceId", 0);
	buf_puts(b, e->resource_id != NULL ? e->resource_id : "null");
	json_key(b, "status", 0);
	json_int(b, e->status);
	json_key(b, "requestId", 0);
	json_cstr(b, e->request_id);
	json_key(b, "clientAddress", 0);
	json_cstr(b, e->client_address);
	buf_putc(b, '}');
}

/* event_json() for list_reply(). */
static void
event_item(struct buf *b, const void *row)
{
	event_json(b, row);
}

int
audit_list(struct req *r)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	struct list_params	 lp;
	struct audit_event	*rows;
	struct page		 pg;
	int64_t			 total = -1;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, &audit_list_spec, &lp, &want_count)))
		return rc;
	if (!one_of(lp.filters[AUDIT_FILTER_ACTION], actions))
		field_error_add(r->arena, &errs, "action", "must be one of "
		    "register, login, login_failed, logout, password_change, "
		    "read, list, create, update, delete");
	if (!one_of(lp.filters[AUDIT_FILTER_RESOURCE_TYPE], resource_types))
		field_error_add(r->arena, &errs, "resourceType",
		    "must be one of user, patient, doctor, mapping");
	if (errs.n > 0)
		return problem_fields(r, &errs);

	st = db_audit_list(r, r->user_id, &lp, &rows, &pg);
	if (st == DB_OK && want_count)
		st = db_audit_count(r, r->user_id, &lp, &total);
	if (st != DB_OK)
		return db_failed(r, st);
	return list_reply(r, &audit_list_spec, &lp, &pg, total, rows, sizeof(*rows),
	    event_item);
}
