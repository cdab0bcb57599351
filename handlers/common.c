/*
 * Handler helpers shared by every resource; see common.h.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "req.h"

int
body_fields(struct req *r, const struct field_spec *spec, size_t n,
    enum valid_mode mode, struct field_value *v)
{
	struct field_errors	 errs = { NULL, 0, 0 };

	switch (valid_body(r->arena, r->body, r->body_len, spec, n, mode, v,
	    &errs)) {
	case VALID_OK:
		return 0;
	case VALID_NOT_JSON:
		return problem(r, 400, "the body is not valid JSON in UTF-8");
	case VALID_NOT_OBJECT:
		return problem(r, 400, "the body must be a JSON object");
	case VALID_FIELDS:
		break;
	}
	return problem_fields(r, &errs);
}

int
db_failed(struct req *r, enum db_status st)
{
	if (st == DB_UNAUTHORIZED) {
		resp_header(r, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
		return problem(r, 401, "the token has been revoked or its "
		    "user no longer exists");
	}
	if (st == DB_UNAVAILABLE)
		return problem(r, 503, "the database is unavailable, try again");
	return problem(r, 500, NULL);
}

/* RFC 7240: a Prefer header may hold several preferences. */
static int
prefers_count(const char *h)
{
	const char	*p;

	for (p = h; p != NULL && (p = strcasestr(p, "count")) != NULL; p++) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',' || p[-1] == ';') &&
		    strncasecmp(p, "count=exact", 11) == 0 &&
		    (p[11] == '\0' || p[11] == ',' || p[11] == ';' ||
		    p[11] == ' '))
			return 1;
	}
	return 0;
}

int
list_begin(struct req *r, const struct list_spec *spec,
    struct list_params *p, int *want_count)
{
	struct field_errors	 errs = { NULL, 0, 0 };

	if (list_parse(r->arena, r->query, spec, p, &errs) == -1)
		return problem_fields(r, &errs);
	*want_count = prefers_count(req_param(r, "HTTP_PREFER"));
	return 0;
}

void
list_end(struct req *r, const struct list_spec *spec,
    const struct list_params *p, int has_more, const char *last_key,
    int64_t last_id, int64_t total)
{
	const char	*next = NULL;

	if (has_more)
		next = list_cursor(r->arena, spec, p, last_key, last_id);
	resp_header(r, "Link", "%s", list_link(r->arena, r->path, spec, p,
	    next));
	if (total >= 0) {
		resp_header(r, "X-Total-Count", "%" PRId64, total);
		resp_header(r, "Preference-Applied", "count=exact");
	}
}

void
location(struct req *r, const char *path, int64_t id)
{
	resp_header(r, "Location", "%s/%" PRId64, path, id);
}
