/*
 * CORS; see cors.h.  Tokens travel in the Authorization header, not in
 * cookies, so no response says Access-Control-Allow-Credentials.
 */
#include <string.h>

#include "conf.h"
#include "cors.h"
#include "req.h"

/* What a browser script may read from a response. */
#define EXPOSED	"Location, Link, ETag, X-Request-Id, X-Total-Count, " \
		"Preference-Applied, Retry-After, Idempotency-Replayed, " \
		"WWW-Authenticate"
/* What it may send. */
#define ALLOWED	"Authorization, Content-Type, Prefer, If-Match, " \
		"If-None-Match, Idempotency-Key, X-Request-Id"

static int
origin_allowed(const struct conf *c, const char *origin)
{
	size_t	 i;

	for (i = 0; origin != NULL && i < c->ncors_origins; i++)
		if (strcmp(origin, c->cors_origins[i]) == 0)
			return 1;
	return 0;
}

int
cors_is_preflight(const struct req *r)
{
	return strcmp(r->method, "OPTIONS") == 0 &&
	    req_param(r, "HTTP_ORIGIN") != NULL &&
	    req_param(r, "HTTP_ACCESS_CONTROL_REQUEST_METHOD") != NULL;
}

int
cors_headers(struct req *r, const char *allow)
{
	const char	*origin = req_param(r, "HTTP_ORIGIN");

	if (r->conf->ncors_origins == 0)
		return 0;
	/* The answer depends on Origin, so caches must key on it. */
	resp_header(r, "Vary", "Origin");
	if (!origin_allowed(r->conf, origin))
		return 0;
	resp_header(r, "Access-Control-Allow-Origin", "%s", origin);
	if (allow != NULL) {
		resp_header(r, "Access-Control-Allow-Methods", "%s", allow);
		resp_header(r, "Access-Control-Allow-Headers", ALLOWED);
		resp_header(r, "Access-Control-Max-Age", "600");
	} else
		resp_header(r, "Access-Control-Expose-Headers", EXPOSED);
	return 1;
}
