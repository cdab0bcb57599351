/*
 * GET /api/audit: the caller's own audit events, newest first, paged and
 * filtered like every list (API.md "Audit trail"), served by resource.c.
 * The trail records each event's outcome in data terms (db/audit.h); its
 * readers get the HTTP status the event was answered with.
 */
#include <string.h>

#include "arena.h"
#include "audit.h"
#include "json.h"
#include "resource.h"

static const char *const actions[] = {
	"register", "login", "login_failed", "logout", "password_change",
	"read", "list", "create", "update", "delete", "restore", "history",
	"export", NULL
};
static const char *const resource_types[] = {
	"user", "patient", "doctor", "mapping", NULL
};

/* The default, id, runs newest first. */
static const struct sort_spec sorts[] = {
	[AUDIT_SORT_ID] = { "id", SK_INT },
	[AUDIT_SORT_AT] = { "at", SK_TIME },
};
_Static_assert(NELEMS(sorts) == AUDIT_SORT__MAX, "a spec for each sort");

static const struct filter_spec filters[] = {
	[AUDIT_FILTER_ACTION] = { "action", FILT_ENUM, 0, actions },
	[AUDIT_FILTER_RESOURCE_TYPE] = { "resourceType", FILT_ENUM, 0,
	    resource_types },
	[AUDIT_FILTER_RESOURCE_ID] = { "resourceId", FILT_ID, 0, NULL },
};
_Static_assert(NELEMS(filters) == AUDIT_FILTER__MAX,
    "a spec for each filter");

static const struct list_spec spec = {
	sorts, NELEMS(sorts), 1, filters, NELEMS(filters), NULL, NULL, 0,
};

/* Each outcome's HTTP status, as the request that made it was answered. */
static const struct {
	const char	*outcome;
	int		 status;
} statuses[] = {
	{ "found", 200 }, { "unchanged", 304 }, { "absent", 404 },
	{ "gone", 410 }, { "created", 201 }, { "updated", 200 },
	{ "deleted", 204 }, { "restored", 200 },
	{ "granted", 200 }, { "denied", 401 }, { "throttled", 429 },
	{ "revoked", 204 }, { "changed", 204 },
};

void
audit_status_json(struct buf *b, const struct db_row *row)
{
	const char	*o = row->cell[AUDIT_OUTCOME];
	size_t		 i;

	for (i = 0; o != NULL && i < NELEMS(statuses); i++)
		if (strcmp(o, statuses[i].outcome) == 0) {
			json_int(b, statuses[i].status);
			return;
		}
	buf_puts(b, "null");
}

static const struct json_col json[] = {
	{ "id",            J_INT,  AUDIT_ID, NULL },
	{ "at",            J_TIME, AUDIT_AT, NULL },
	{ "action",        J_TEXT, AUDIT_ACTION, NULL },
	{ "resourceType",  J_TEXT, AUDIT_RESOURCE_TYPE, NULL },
	{ "resourceId",    J_INT,  AUDIT_RESOURCE_ID, NULL },
	{ "status",        J_FN,   AUDIT_OUTCOME, audit_status_json },
	{ "requestId",     J_TEXT, AUDIT_REQUEST_ID, NULL },
	{ "clientAddress", J_TEXT, AUDIT_CLIENT_ADDRESS, NULL },
};

const struct collection audit_list = {
	&spec, &db_audit_events, json, NELEMS(json), NULL, 0,
};
