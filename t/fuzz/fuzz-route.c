/*
 * libFuzzer target: route_find() (fcgi-app/route.c) over the service's real
 * table, routes[] of fcgi-app/routes.c.
 *
 * An input is one byte that sets the size of the Allow buffer (0 to 255;
 * the worker passes 128), then "METHOD PATH": up to the first space is the
 * method, the rest is the path, each ended early by a NUL as the FastCGI
 * parameters they come from would be.  The Allow buffer is malloc'd at
 * exactly its size, so ASan sees a write past it.
 *
 * Checked besides memory: a match is a row of the table with the method
 * (GET for HEAD) whose pattern has as many ":id" segments as positive ids
 * came back, and whose literal segments are the path's; a 405 is for a path
 * that some row matches, with an Allow value that fits its buffer and
 * names only methods of the table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "req.h"
#include "route.h"

/* Checks that path has pattern's shape; counts its ":id" segments. */
static size_t
shape(const char *pattern, const char *path)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 nids = 0;

	for (;;) {
		FUZZ_CHECK(*p == *s);
		if (*p == '\0')
			return nids;
		FUZZ_CHECK(*p == '/');
		p++;
		s++;
		pe = strchrnul(p, '/');
		se = strchrnul(s, '/');
		if (*p == ':') {
			FUZZ_CHECK(se > s && *s >= '1' && *s <= '9');
			nids++;
		} else
			FUZZ_CHECK(pe - p == se - s &&
			    memcmp(p, s, (size_t)(pe - p)) == 0);
		p = pe;
		s = se;
	}
}

/* 1 when every ", "-separated word of allow is a method of the table. */
static int
allow_ok(const char *allow)
{
	const struct route	*rt;
	const char		*w = allow, *e;

	for (;;) {
		e = strchrnul(w, ',');
		for (rt = app.routes; rt->method != NULL; rt++)
			if (strlen(rt->method) == (size_t)(e - w) &&
			    memcmp(rt->method, w, (size_t)(e - w)) == 0)
				break;
		if (rt->method == NULL)
			return 0;
		if (*e == '\0')
			return 1;
		if (e[1] != ' ')
			return 0;
		w = e + 2;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route	*found = NULL;
	int64_t			 pids[PATH_IDS_MAX];
	enum route_status	 st;
	const char		*sp, *want;
	char			*method, *path, *allow;
	size_t			 allowlen, mlen, i, n;

	if (size == 0)
		return 0;
	allowlen = data[0];
	data++;
	size--;
	sp = memchr(data, ' ', size);
	mlen = sp != NULL ? (size_t)(sp - (const char *)data) : size;
	/* Exactly sized copies: ASan sees any read past the NUL. */
	method = fuzz_cstring(data, mlen);
	path = sp != NULL ? fuzz_cstring((const uint8_t *)sp + 1,
	    size - mlen - 1) : fuzz_cstring(data, 0);
	allow = malloc(allowlen > 0 ? allowlen : 1);
	if (method == NULL || path == NULL || allow == NULL)
		abort();

	st = route_find(app.routes, method, path, &found, pids, allowlen > 0 ?
	    allow : NULL, allowlen);
	switch (st) {
	case ROUTE_OK:
		FUZZ_CHECK(found != NULL);
		want = strcmp(method, "HEAD") == 0 ? "GET" : method;
		FUZZ_CHECK(strcmp(found->method, want) == 0);
		n = shape(found->pattern, path);
		FUZZ_CHECK(n <= PATH_IDS_MAX);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(pids[i] >= 1);
		break;
	case ROUTE_BAD_METHOD:
		if (allowlen > 0) {
			FUZZ_CHECK(memchr(allow, '\0', allowlen) != NULL);
			FUZZ_CHECK(allow[0] == '\0' || allow_ok(allow));
		}
		/* The worker's buffer always has room for the table's. */
		if (allowlen >= 128)
			FUZZ_CHECK(allow[0] != '\0');
		break;
	case ROUTE_NOT_FOUND:
		break;
	default:
		FUZZ_CHECK(!"route_find() returned no route_status");
	}
	free(allow);
	free(path);
	free(method);
	return 0;
}
