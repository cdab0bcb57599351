/*
 * Unit tests for list.c: query strings of list endpoints (limit, offset,
 * sort, filters, percent-decoding, repeated and unknown parameters), the
 * "after" cursor and the Link header.  Errors are compared as one string
 * "field: message; field: message" so that a table row states exactly
 * which errors a query gives, and how many.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "list.h"
#include "tap.h"
#include "valid.h"

static const struct sort_spec patient_sorts[] = {
	{ "id",		SK_INT },
	{ "name",	SK_TEXT },
	{ "createdAt",	SK_TIME },
	{ "updatedAt",	SK_TIME },
};
static const struct filter_spec patient_filters[] = {
	{ "q",		FILT_TEXT,	100, NULL },
};
static const struct list_spec patients = {
	patient_sorts, 4, 0, patient_filters, 1, NULL, NULL, 0,
};

/* Like the audit trail: newest first, and an id filter. */
static const struct sort_spec audit_sorts[] = {
	{ "id",		SK_INT },
	{ "at",		SK_TIME },
};
static const struct filter_spec audit_filters[] = {
	{ "action",	FILT_TEXT,	20, NULL },
	{ "resourceId",	FILT_ID,	0, NULL },
};
static const struct list_spec audit = {
	audit_sorts, 2, 1, audit_filters, 2, NULL, NULL, 0,
};

static struct arena		*a;
static struct field_errors	 errs;
static struct page_query	 p;

#define PSORTS "must be one of id, -id, name, -name, createdAt, -createdAt, " \
    "updatedAt, -updatedAt"
#define BADCUR "after: is not a valid cursor for this sort and filter"

/* Parses q into p; returns the errors as one string, "" when it passed. */
static const char *
parse(const struct list_spec *spec, const char *q)
{
	struct buf	 b;
	size_t		 i;
	int		 rc;

	memset(&errs, 0, sizeof(errs));
	rc = list_parse(a, q, spec, &p, &errs);
	buf_init(&b, a, 64);
	for (i = 0; i < errs.n; i++)
		buf_printf(&b, "%s%s: %s", i > 0 ? "; " : "",
		    errs.v[i].field != NULL ? errs.v[i].field : "(query)",
		    errs.v[i].message);
	/* The return value and the list must agree. */
	if ((rc == 0) != (errs.n == 0))
		return "return value disagrees with errors";
	return b.data;
}

/* Small base64url helpers, to look inside cursors and forge them. */
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *
enc(const char *s, size_t len)
{
	struct buf	 b;
	uint32_t	 v = 0;
	size_t		 i;
	int		 bits = 0;

	buf_init(&b, a, 64);
	for (i = 0; i < len; i++) {
		v = v << 8 | (unsigned char)s[i];
		for (bits += 8; bits >= 6; bits -= 6)
			buf_putc(&b, b64[v >> (bits - 6) & 63]);
	}
	if (bits > 0)
		buf_putc(&b, b64[v << (6 - bits) & 63]);
	return b.data;
}

static const char *
dec(const char *s)
{
	struct buf	 b;
	uint32_t	 v = 0;
	int		 bits = 0;

	buf_init(&b, a, 64);
	for (; *s != '\0'; s++) {
		v = v << 6 | (uint32_t)(strchr(b64, *s) - b64);
		if ((bits += 6) >= 8) {
			bits -= 8;
			buf_putc(&b, (char)(v >> bits & 0xff));
		}
	}
	return b.data;
}

/* Makes a cursor for key/id under query q, then parses it under q2. */
static const char *
cursor_under(const struct list_spec *spec, const char *q, const char *key,
    int64_t id, const char *q2)
{
	const char	*c;

	if (*parse(spec, q) != '\0')
		return "setup query failed";
	c = list_cursor(a, spec, &p, key, id);
	return parse(spec, arena_printf(a, "%s%safter=%s", q2,
	    *q2 != '\0' ? "&" : "", c));
}

struct row {
	const char	*query;
	const char	*errors;
};

static void
test_defaults(void)
{
	is_str(parse(&patients, NULL), "", "NULL query is fine");
	ok(p.limit == 50 && p.offset == 0 && p.sort == 0 && p.desc == 0 &&
	    p.filters[0] == NULL && !p.has_after,
	    "NULL query: limit 50, offset 0, id ascending, no filter");
	is_str(parse(&patients, ""), "", "empty query is fine");
	ok(p.limit == 50 && p.offset == 0 && p.sort == 0 && p.desc == 0 &&
	    p.filters[0] == NULL && !p.has_after,
	    "empty query: the same defaults");
	is_str(parse(&patients, "&&limit=5&"), "",
	    "empty parameters between '&' are skipped");
	is_int(p.limit, 5, "and the real one is read");
	is_str(parse(&audit, NULL), "", "audit: NULL query is fine");
	ok(p.sort == 0 && p.desc == 1 && p.filters[0] == NULL &&
	    p.filters[1] == NULL, "audit: default is id descending");
}

static void
test_numbers(void)
{
	static const struct row	 rows[] = {
		{ "limit=0", "limit: must be an integer from 1 to 200" },
		{ "limit=1", "" },
		{ "limit=200", "" },
		{ "limit=201", "limit: must be an integer from 1 to 200" },
		{ "limit=abc", "limit: must be an integer from 1 to 200" },
		{ "limit=-1", "limit: must be an integer from 1 to 200" },
		{ "limit=1.5", "limit: must be an integer from 1 to 200" },
		{ "limit=", "limit: must be an integer from 1 to 200" },
		{ "limit", "limit: must be an integer from 1 to 200" },
		{ "limit=+5", "limit: must be an integer from 1 to 200" },
		{ "limit=%205", "limit: must be an integer from 1 to 200" },
		{ "limit=99999999999999999999",
		    "limit: must be an integer from 1 to 200" },
		{ "limit=007", "" },
		{ "offset=-1",
		    "offset: must be an integer from 0 to 2147483647" },
		{ "offset=0", "" },
		{ "offset=abc",
		    "offset: must be an integer from 0 to 2147483647" },
		{ "offset=2147483647", "" },
		{ "offset=2147483648",
		    "offset: must be an integer from 0 to 2147483647" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		is_str(parse(&patients, rows[i].query), rows[i].errors,
		    "\"%s\" gives \"%s\"", rows[i].query, rows[i].errors);

	parse(&patients, "limit=1");
	is_int(p.limit, 1, "limit=1 sets limit 1");
	parse(&patients, "limit=200&offset=2147483647");
	ok(p.limit == 200 && p.offset == 2147483647,
	    "limit=200&offset=2147483647 sets both");
	parse(&patients, "limit=007");
	is_int(p.limit, 7, "limit=007 is 7");
}

static void
test_sort(void)
{
	static const struct {
		const char	*query;
		size_t		 sort;
		int		 desc;
	} good[] = {
		{ "sort=id", 0, 0 },
		{ "sort=-id", 0, 1 },
		{ "sort=name", 1, 0 },
		{ "sort=-createdAt", 2, 1 },
		{ "sort=updatedAt", 3, 0 },
	};
	static const char *const bad[] = {
		"sort=bogus", "sort=--id", "sort=", "sort=-", "sort=ID",
		"sort=+id", "sort=id%20",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		is_str(parse(&patients, good[i].query), "", "\"%s\" is fine",
		    good[i].query);
		ok(p.sort == good[i].sort && p.desc == good[i].desc,
		    "\"%s\" sorts by %s %s", good[i].query,
		    patient_sorts[good[i].sort].name,
		    good[i].desc ? "descending" : "ascending");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_str(parse(&patients, bad[i]), "sort: " PSORTS,
		    "\"%s\" lists the sorts", bad[i]);
	is_str(parse(&audit, "sort=at"), "", "audit: sort=at is fine");
	ok(p.sort == 1 && p.desc == 0, "audit: sort=at is ascending "
	    "even though the default is descending");
}

static void
test_params(void)
{
	static const struct row	 rows[] = {
		{ "foo=1", "foo: unknown parameter" },
		{ "foo", "foo: unknown parameter" },
		{ "foo=1&foo=2&limit=5", "foo: unknown parameter" },
		{ "Limit=5", "Limit: unknown parameter" },
		{ "limit=5&limit=6", "limit: given more than once" },
		{ "limit=5&limit=6&limit=7", "limit: given more than once" },
		{ "limit=0&limit=0", "limit: given more than once" },
		{ "q=a&q=b", "q: given more than once" },
		{ "%71=a&q=b", "q: given more than once" },
		{ "=5", "(query): query has a parameter name that is empty "
		    "or not percent-encoded UTF-8" },
		{ "%zz=1&%ff=2", "(query): query has a parameter name that is "
		    "empty or not percent-encoded UTF-8" },
		{ "q%00=1", "(query): query has a parameter name that is "
		    "empty or not percent-encoded UTF-8" },
		{ "limit=0&offset=-1&sort=bogus&foo=1&q=&bar=2",
		    "foo: unknown parameter; bar: unknown parameter; "
		    "limit: must be an integer from 1 to 200; "
		    "offset: must be an integer from 0 to 2147483647; "
		    "sort: " PSORTS "; q: must be from 1 to 100 characters" },
	};
	struct buf	 b;
	size_t		 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		is_str(parse(&patients, rows[i].query), rows[i].errors,
		    "\"%s\" gives \"%s\"", rows[i].query, rows[i].errors);
	parse(&patients, "limit=0&offset=-1&sort=bogus&foo=1&q=&bar=2");
	is_int(errs.n, 6, "six bad parameters give six errors at once");

	buf_init(&b, a, 512);
	for (i = 0; i < 64; i++)
		buf_puts(&b, i == 0 ? "x=1" : "&x=1");
	is_str(parse(&patients, b.data), "x: unknown parameter",
	    "64 parameters are read");
	buf_puts(&b, "&limit=5");
	is_str(parse(&patients, b.data),
	    "(query): query has more than 64 parameters",
	    "65 parameters give one error");
}

static void
test_filters(void)
{
	static const struct {
		const char	*query;
		const char	*errors;
		const char	*value;
	} rows[] = {
		{ "q=smith", "", "smith" },
		{ "q=%41b", "", "Ab" },
		{ "q=a+b", "", "a b" },
		{ "q=a%2Bb%26c%3Dd", "", "a+b&c=d" },
		{ "q=%c3%A9", "", "\xc3\xa9" },
		{ "q=+x+", "", " x " },
		{ "q=", "q: must be from 1 to 100 characters", NULL },
		{ "q", "q: must be from 1 to 100 characters", NULL },
		{ "q=%4", "q: has a bad percent-escape", NULL },
		{ "q=%zz", "q: has a bad percent-escape", NULL },
		{ "q=a%", "q: has a bad percent-escape", NULL },
		{ "q=%ff", "q: must be valid UTF-8 without NUL characters",
		    NULL },
		{ "q=%C3", "q: must be valid UTF-8 without NUL characters",
		    NULL },
		{ "q=a%00b", "q: must be valid UTF-8 without NUL characters",
		    NULL },
	};
	struct buf	 b;
	size_t		 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		is_str(parse(&patients, rows[i].query), rows[i].errors,
		    "\"%s\" gives \"%s\"", rows[i].query, rows[i].errors);
		if (rows[i].value != NULL)
			is_str(p.filters[0], rows[i].value,
			    "\"%s\" filters by \"%s\"", rows[i].query,
			    rows[i].value);
	}

	buf_init(&b, a, 1024);
	buf_puts(&b, "q=");
	for (i = 0; i < 100; i++)
		buf_puts(&b, "%C3%A9");
	is_str(parse(&patients, b.data), "",
	    "100 two-byte characters are 100 characters, not 200");
	buf_puts(&b, "e");
	is_str(parse(&patients, b.data), "q: must be from 1 to 100 characters",
	    "101 characters are too many");

	is_str(parse(&audit, "resourceId=7&action=read"), "",
	    "audit: id and text filters");
	ok(p.filters[0] != NULL && strcmp(p.filters[0], "read") == 0 &&
	    p.filters[1] != NULL && strcmp(p.filters[1], "7") == 0,
	    "audit: filters are stored in spec order");
	is_str(parse(&audit, "resourceId=0"),
	    "resourceId: must be a positive integer", "resourceId=0 is bad");
	is_str(parse(&audit, "resourceId=abc"),
	    "resourceId: must be a positive integer", "resourceId=abc is bad");
	is_str(parse(&audit, "resourceId=-3"),
	    "resourceId: must be a positive integer", "resourceId=-3 is bad");
}

static void
test_decode(void)
{
	const char	*s;
	size_t		 n;

	s = query_decode(a, "a%2Fb+c", 7, &n);
	ok(s != NULL && n == 5 && strcmp(s, "a/b c") == 0,
	    "query_decode: \"a%%2Fb+c\" is \"a/b c\"");
	s = query_decode(a, "x%00y", 5, &n);
	ok(s != NULL && n == 3 && s[1] == '\0',
	    "query_decode: %%00 decodes, with the length telling");
	s = query_decode(a, "%41%4", 3, &n);
	ok(s != NULL && n == 1 && strcmp(s, "A") == 0,
	    "query_decode: reads only len bytes");
	ok(query_decode(a, "%", 1, &n) == NULL, "query_decode: lone %% fails");
	ok(query_decode(a, "%4", 2, &n) == NULL,
	    "query_decode: truncated escape fails");
	ok(query_decode(a, "%g0", 3, &n) == NULL,
	    "query_decode: non-hex escape fails");
	s = query_decode(a, "", 0, &n);
	ok(s != NULL && n == 0 && *s == '\0', "query_decode: empty is empty");
}

static void
test_cursor(void)
{
	const char	*c, *t, *fp;
	char		 key[1002];

	/* Round trips, one per key type. */
	is_str(cursor_under(&patients, "sort=-id", "12345", 42, "sort=-id"),
	    "", "int cursor is taken back");
	ok(p.has_after && strcmp(p.after_key, "12345") == 0 &&
	    p.after_id == 42, "int cursor gives key 12345 and id 42");
	is_str(cursor_under(&patients, "", "-9223372036854775808", 1, ""),
	    "", "smallest int64 key is taken back");
	is_str(p.after_key, "-9223372036854775808", "and kept as text");
	is_str(cursor_under(&patients, "sort=name&q=sm",
	    "Sm\nith \xc3\xa9\xe2\x82\xac", 7, "q=sm&sort=name"),
	    "", "text cursor with newline and UTF-8 is taken back");
	ok(p.has_after && strcmp(p.after_key, "Sm\nith \xc3\xa9\xe2\x82\xac")
	    == 0 && p.after_id == 7, "text key and id survive");
	is_str(cursor_under(&patients, "sort=createdAt", "-1234567", 3,
	    "sort=createdAt"), "", "negative time cursor is taken back");
	ok(p.has_after && strcmp(p.after_key, "-1234567") == 0 &&
	    p.after_id == 3, "time key -1234567 and id 3 survive");
	is_str(cursor_under(&patients, "sort=name", "", 9, "sort=name"),
	    "", "empty text key is taken back");
	is_str(cursor_under(&audit, "resourceId=5&action=read", "77", 77,
	    "action=read&resourceId=5"), "",
	    "audit cursor with default descending sort and id filter");
	ok(p.desc == 1 && p.after_id == 77, "audit cursor keeps direction");

	/* The documented format. */
	parse(&patients, "sort=-id");
	c = list_cursor(a, &patients, &p, "12345", 42);
	t = dec(c);
	ok(strncmp(t, "v1\nid\n1\n", 8) == 0 && strlen(t) == 8 + 16 + 9 &&
	    strcmp(t + 24, "\n42\n12345") == 0,
	    "cursor is base64url of v1, sort, desc, fingerprint, id, key");
	ok(strcspn(c, "=+/") == strlen(c), "cursor has no padding, + or /");
	fp = arena_strndup(a, t + 8, 16);
	is_str(parse(&patients, arena_printf(a, "sort=-id&after=%s",
	    enc(t, strlen(t)))), "", "a cursor made by hand is taken");
	is_str(parse(&patients, arena_printf(a, "after=%s&sort=-id", c)), "",
	    "sort after the cursor in the query still applies to it");

	/* Made for something else. */
	is_str(cursor_under(&patients, "sort=name", "a", 1, "sort=id"),
	    BADCUR, "cursor for another sort is rejected");
	is_str(cursor_under(&patients, "sort=name", "a", 1, "sort=-name"),
	    BADCUR, "cursor for the other direction is rejected");
	is_str(cursor_under(&patients, "q=a", "1", 1, "q=b"),
	    BADCUR, "cursor for another filter value is rejected");
	is_str(cursor_under(&patients, "", "1", 1, "q=a"),
	    BADCUR, "cursor made without a filter, used with one, is rejected");
	is_str(cursor_under(&patients, "q=a", "1", 1, ""),
	    BADCUR, "cursor made with a filter, used without, is rejected");
	is_str(cursor_under(&audit, "action=read", "1", 1, "resourceId=1"),
	    BADCUR, "cursor for one filter used with another is rejected");
	is_str(cursor_under(&audit, "action=ab", "1", 1, "action=a&resourceId=b"),
	    "resourceId: must be a positive integer",
	    "a bad filter is reported and the cursor is not checked");

	/* Malformed. */
	is_str(parse(&patients, "after=!!!!"), BADCUR,
	    "garbage cursor is rejected");
	is_str(parse(&patients, "after=A"), BADCUR,
	    "one base64 character is rejected");
	is_str(parse(&patients, "after="), BADCUR, "empty cursor is rejected");
	is_str(parse(&patients, "after=%zz"),
	    "after: has a bad percent-escape", "badly escaped cursor");
	parse(&patients, "");
	c = list_cursor(a, &patients, &p, "12345", 42);
	is_str(parse(&patients, arena_printf(a, "after=%.*s",
	    (int)strlen(c) / 2, c)), BADCUR, "truncated cursor is rejected");
	is_str(parse(&patients, arena_printf(a, "after=%s==", c)), BADCUR,
	    "padded cursor is rejected");
	is_str(parse(&patients, arena_printf(a, "after=%s&offset=0", c)),
	    "after: cannot be combined with offset",
	    "after with offset is rejected");
	is_str(cursor_under(&patients, "", "5", 0, ""), BADCUR,
	    "cursor with id 0 is rejected");
	is_str(cursor_under(&patients, "", "5", -5, ""), BADCUR,
	    "cursor with a negative id is rejected");
	is_str(cursor_under(&patients, "", "abc", 1, ""), BADCUR,
	    "int cursor with a non-number key is rejected");
	is_str(cursor_under(&patients, "", "9223372036854775808", 1, ""),
	    BADCUR, "int cursor key beyond int64 is rejected");
	is_str(cursor_under(&patients, "", "", 1, ""), BADCUR,
	    "int cursor with an empty key is rejected");
	is_str(cursor_under(&patients, "sort=createdAt", "1.5", 1,
	    "sort=createdAt"), BADCUR, "time cursor key 1.5 is rejected");
	is_str(cursor_under(&patients, "sort=name", "a\xff", 1, "sort=name"),
	    BADCUR, "text cursor key that is not UTF-8 is rejected");
	memset(key, 'k', 1000);
	key[1000] = '\0';
	is_str(cursor_under(&patients, "sort=name", key, 1, "sort=name"),
	    "", "text cursor key of 1000 bytes is taken");
	key[1000] = 'k';
	key[1001] = '\0';
	is_str(cursor_under(&patients, "sort=name", key, 1, "sort=name"),
	    BADCUR, "text cursor key of 1001 bytes is rejected");
	t = arena_printf(a, "v2\nid\n0\n%s\n42\n12345", fp);
	is_str(parse(&patients, arena_printf(a, "after=%s",
	    enc(t, strlen(t)))), BADCUR, "cursor version v2 is rejected");
	t = arena_printf(a, "v1\nname\n0\n%s\n42\nab%ccd", fp, 'X');
	is_str(parse(&patients, arena_printf(a, "sort=name&after=%s",
	    enc(t, strlen(t)))), "", "text cursor made by hand is taken");
	t = arena_printf(a, "v1\nname\n0\n%s\n42\nab%ccd", fp, '\0');
	is_str(parse(&patients, arena_printf(a, "sort=name&after=%s",
	    enc(t, 10 + 16 + 9))), BADCUR,
	    "text cursor key with a NUL is rejected");
	t = arena_printf(a, "v1\nid\n0\n%s\n42", fp);
	is_str(parse(&patients, arena_printf(a, "after=%s",
	    enc(t, strlen(t)))), BADCUR, "cursor without a key is rejected");
	memset(key, 'A', 1001);
	key[1001] = '\0';
	is_str(parse(&patients, arena_printf(a, "after=%s%s", key, key)),
	    BADCUR, "cursor of 2002 characters is rejected");
}

static void
test_link(void)
{
	const char	*c, *l, *s;

	parse(&patients, "limit=20&sort=-name&q=smi+th");
	is_str(list_link(a, "/api/patients", &patients, &p, "abc"),
	    "</api/patients?limit=20&sort=-name&q=smi%20th>; rel=\"first\", "
	    "</api/patients?limit=20&sort=-name&q=smi%20th&after=abc>; "
	    "rel=\"next\"", "link with sort, filter and next");
	parse(&patients, NULL);
	is_str(list_link(a, "/api/patients", &patients, &p, NULL),
	    "</api/patients?limit=50>; rel=\"first\"",
	    "link with defaults and no next");
	parse(&patients, "offset=100&limit=10&sort=id");
	is_str(list_link(a, "/api/patients", &patients, &p, NULL),
	    "</api/patients?limit=10>; rel=\"first\"",
	    "link leaves out offset and the default sort");
	parse(&patients, "q=a%26b%2F%C3%A9~._-");
	is_str(list_link(a, "/api/patients", &patients, &p, NULL),
	    "</api/patients?limit=50&q=a%26b%2F%C3%A9~._->; rel=\"first\"",
	    "link percent-encodes all but unreserved characters");
	parse(&audit, "sort=-id&resourceId=9");
	is_str(list_link(a, "/api/audit", &audit, &p, NULL),
	    "</api/audit?limit=50&resourceId=9>; rel=\"first\"",
	    "audit: -id is the default and is left out");
	parse(&audit, "sort=id");
	is_str(list_link(a, "/api/audit", &audit, &p, NULL),
	    "</api/audit?limit=50&sort=id>; rel=\"first\"",
	    "audit: ascending id is not the default and is kept");

	/* Following the next link gives the cursor back. */
	parse(&patients, "sort=-createdAt&q=x%20y&limit=3");
	c = list_cursor(a, &patients, &p, "1700000000000000", 12);
	l = list_link(a, "/api/patients", &patients, &p, c);
	s = strstr(l, ", <");
	ok(s != NULL && strstr(s, "after=") != NULL,
	    "link has a next part with after");
	if (s != NULL) {
		s = strchr(s, '?') + 1;
		is_str(parse(&patients, arena_strndup(a, s,
		    strcspn(s, ">"))), "", "the next link's query parses");
		ok(p.has_after && p.after_id == 12 && p.limit == 3 &&
		    strcmp(p.after_key, "1700000000000000") == 0,
		    "the next link carries limit, sort, filter and cursor");
	}
}

int
main(void)
{
	a = arena_new();
	test_defaults();
	test_numbers();
	test_sort();
	test_params();
	test_filters();
	test_decode();
	test_cursor();
	test_link();
	arena_free(a);
	return tap_done();
}
