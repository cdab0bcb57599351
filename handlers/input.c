/*
 * From request input to typed values: a JSON body against a field table,
 * a list's query string, and the versions an If-Match or If-None-Match
 * header names.  Each either hands back typed values or sets the 400.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "list.h"
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
    struct page_query *q, int *want_count)
{
	struct field_errors	 errs = { NULL, 0, 0 };

	if (list_parse(r->arena, r->query, spec, q, &errs) == -1)
		return problem_fields(r, &errs);
	*want_count = prefers_count(req_param(r, "HTTP_PREFER"));
	return 0;
}

void
versions(struct req *r, const char *param, int weak, struct db_versions *v)
{
	const char	*h = req_param(r, param), *s;
	char		*end;
	long long	 n;

	memset(v, 0, sizeof(*v));
	if (h == NULL)
		return;
	v->present = 1;
	for (s = h; *s != '\0'; ) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '*') {
			v->any = 1;
			s++;
			continue;
		}
		if (strncmp(s, "W/", 2) == 0) {
			s += 2;
			if (!weak) {	/* never matches: skip the tag */
				while (*s != '\0' && *s != ',')
					s++;
				continue;
			}
		}
		if (*s != '"' || s[1] < '0' || s[1] > '9') {
			while (*s != '\0' && *s != ',')
				s++;
			continue;
		}
		n = strtoll(s + 1, &end, 10);
		if (*end == '"' && n > 0 && v->n < DB_VERSIONS_MAX)
			v->v[v->n++] = n;
		s = *end == '"' ? end + 1 : end;
	}
}

int
versions_match(const struct db_versions *v, int64_t version)
{
	size_t	 i;

	if (v->any)
		return 1;
	for (i = 0; i < v->n; i++)
		if (v->v[i] == version)
			return 1;
	return 0;
}
