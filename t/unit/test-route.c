/*
 * The route matcher: literal segments, :id segments that take only a
 * positive 63-bit integer, 404 versus 405 with its Allow list, HEAD as GET.
 */
#include <stdint.h>
#include <string.h>

#include "req.h"
#include "route.h"
#include "tap.h"

static int h1(struct req *r) { (void)r; return 1; }
static int h2(struct req *r) { (void)r; return 2; }
static int h3(struct req *r) { (void)r; return 3; }
static int h4(struct req *r) { (void)r; return 4; }

static const struct route table[] = {
	{ "GET",    "/api/patients",              h1, AUTH_USER, BODY_NONE, NULL },
	{ "POST",   "/api/patients",              h2, AUTH_USER, BODY_JSON, NULL },
	{ "GET",    "/api/patients/:id",          h3, AUTH_USER, BODY_NONE, NULL },
	{ "DELETE", "/api/patients/:id",          h3, AUTH_USER, BODY_NONE, NULL },
	{ "GET",    "/api/mappings/patient/:id",  h4, AUTH_USER, BODY_NONE, NULL },
	{ NULL, NULL, NULL, AUTH_NONE, BODY_NONE, NULL },
};

static const struct {
	const char		*method;
	const char		*path;
	enum route_status	 want;
	int			 handler;	/* for ROUTE_OK */
	int64_t			 id;		/* for ROUTE_OK with :id */
	const char		*allow;		/* for ROUTE_BAD_METHOD */
} cases[] = {
	{ "GET",    "/api/patients",          ROUTE_OK, 1, 0, NULL },
	{ "POST",   "/api/patients",          ROUTE_OK, 2, 0, NULL },
	{ "HEAD",   "/api/patients",          ROUTE_OK, 1, 0, NULL },
	{ "PUT",    "/api/patients",          ROUTE_BAD_METHOD, 0, 0, "GET, POST" },
	{ "GET",    "/api/patients/7",        ROUTE_OK, 3, 7, NULL },
	{ "GET",    "/api/patients/9223372036854775807", ROUTE_OK, 3,
	    INT64_MAX, NULL },
	{ "PATCH",  "/api/patients/7",        ROUTE_BAD_METHOD, 0, 0, "GET, DELETE" },
	{ "GET",    "/api/patients/0",        ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/-1",       ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/abc",      ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/1.5",      ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/99999999999999999999", ROUTE_NOT_FOUND,
	    0, 0, NULL },
	{ "GET",    "/api/patients/9223372036854775808", ROUTE_NOT_FOUND,
	    0, 0, NULL },
	{ "GET",    "/api/patients/",         ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/7/",       ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patients/7/x",      ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patient",           ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/patientsx",         ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api",                   ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "",                       ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/",                      ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "//api/patients",         ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "GET",    "/api/mappings/patient/12", ROUTE_OK, 4, 12, NULL },
	{ "GET",    "/api/mappings/patient/x",  ROUTE_NOT_FOUND, 0, 0, NULL },
	{ "get",    "/api/patients",          ROUTE_BAD_METHOD, 0, 0, "GET, POST" },
};

int
main(void)
{
	const struct route	*rt;
	int64_t			 ids[PATH_IDS_MAX];
	char			 allow[64];
	size_t			 i;
	enum route_status	 st;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(ids, 0, sizeof(ids));
		rt = NULL;
		st = route_find(table, cases[i].method, cases[i].path, &rt,
		    ids, allow, sizeof(allow));
		is_int(st, cases[i].want, "%s \"%s\" gives status %d",
		    cases[i].method, cases[i].path, cases[i].want);
		if (cases[i].want == ROUTE_OK) {
			ok(rt != NULL && rt->handler(NULL) == cases[i].handler,
			    "%s \"%s\" reaches handler %d", cases[i].method,
			    cases[i].path, cases[i].handler);
			if (cases[i].id != 0)
				is_int(ids[0], cases[i].id, "%s \"%s\" has id",
				    cases[i].method, cases[i].path);
		}
		if (cases[i].want == ROUTE_BAD_METHOD)
			is_str(allow, cases[i].allow, "%s \"%s\" allows %s",
			    cases[i].method, cases[i].path, cases[i].allow);
	}
	st = route_find(table, "PUT", "/api/patients", &rt, ids, allow, 5);
	ok(st == ROUTE_BAD_METHOD && strlen(allow) < 5,
	    "a short Allow buffer is never overrun");
	return tap_done();
}
