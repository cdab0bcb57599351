/*
 * Matching a request against the route table.  The table is short, so a
 * linear scan over pre-split patterns is both the simplest and fast enough:
 * it costs less than one system call.
 */
#include <string.h>

#include "req.h"
#include "route.h"
#include "valid.h"

/*
 * Matches path against pattern segment by segment, filling ids.  Returns 1
 * on a match.
 */
static int
match(const char *pattern, const char *path, int64_t *ids)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 nids = 0;

	for (;;) {
		if (*p != '/' || *s != '/')
			return *p == '\0' && *s == '\0';
		p++;
		s++;
		pe = strchrnul(p, '/');
		se = strchrnul(s, '/');
		if (*p == ':') {
			if (nids == PATH_IDS_MAX ||
			    valid_id(s, (size_t)(se - s), &ids[nids]) == -1)
				return 0;
			nids++;
		} else if (pe - p != se - s || memcmp(p, s, pe - p) != 0)
			return 0;
		p = pe;
		s = se;
	}
}

enum route_status
route_find(const struct route *table, const char *method, const char *path,
    const struct route **found, int64_t *ids, char *allow, size_t allowlen)
{
	const struct route	*rt;
	int64_t			 tmp[PATH_IDS_MAX];
	int			 path_known = 0;
	size_t			 len = 0, n;

	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	if (allowlen > 0)
		allow[0] = '\0';
	for (rt = table; rt->method != NULL; rt++) {
		if (!match(rt->pattern, path, tmp))
			continue;
		if (strcmp(rt->method, method) == 0) {
			*found = rt;
			memcpy(ids, tmp, sizeof(tmp));
			return ROUTE_OK;
		}
		path_known = 1;
		n = strlen(rt->method);
		if (len + n + 3 < allowlen) {
			if (len > 0) {
				memcpy(allow + len, ", ", 2);
				len += 2;
			}
			memcpy(allow + len, rt->method, n + 1);
			len += n;
		}
	}
	return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
