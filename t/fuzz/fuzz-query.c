/*
 * libFuzzer target: list_parse() (fcgi-app/list.c) with the real list specs
 * of the collections (tables.h): patients, doctors, mappings, a patient's
 * doctors (mappings/patient/:id) and the audit trail.
 *
 * An input is one byte that picks the collection ('p'atients, 'd'octors,
 * 'm'appings, 'b'y patient, 'a'udit; any other byte by its value modulo
 * 5), then the query string.  A NUL in the query ends it, and what follows
 * is the tail of an "after" cursor: the target takes the cursor that
 * list_cursor() makes for that query, keeps its real prefix
 * "v1\n<sort>\n<desc>\n<filter fingerprint>\n", puts the tail after it
 * ("<id>\n<key>" when well formed) and parses the query again with
 * "&after=" and that cursor, so the fuzzer reaches the id and key checks of
 * cursor_parse() without having to find FNV hashes.
 *
 * Checked besides memory: parsed values obey list.h (limit, offset, sort,
 * filters, cursor key); a failure comes with errors, success without; and
 * for every query that parses, the "first" and "next" links that
 * list_link() builds for it parse back to the same limit, sort and
 * filters, the "next" one with the cursor's id and key, as a client that
 * follows them would see.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz.h"
#include "b64url.h"
#include "jwt.h"
#include "list.h"
#include "tables.h"
#include "utf8.h"
#include "valid.h"

#define NLISTS	7

static const struct fuzz_list lists[NLISTS] = {
	{ "patients", "/api/patients", &patient_list },
	{ "doctors", "/api/doctors", &doctor_list },
	{ "mappings", "/api/mappings", &mapping_list },
	{ "mappings-by-patient", "/api/mappings/patient/1",
	    &patient_doctor_list },
	{ "audit", "/api/audit", &audit_list },
	{ "patient-history", "/api/patients/1/history", &patient_history },
	{ "doctor-history", "/api/doctors/1/history", &doctor_history },
};

/* Sort keys the round trip puts in a cursor, newlines and all. */
static const char *const text_keys[] = {
	"", "a", "Zo\xc3\xab M\xc3\xbcller", "line\nbreak\n", "%2B+&=#",
};
static const char *const int_keys[] = {
	"0", "-1", "1700000000123456", "9223372036854775807",
	"-9223372036854775808",
};
/* A time key the service makes is a timestamp PostgreSQL takes: years 1
 * to 9999 in microseconds (cursor.c refuses any other). */
static const char *const time_keys[] = {
	"0", "-1", "1700000000123456", "-62135596800000000",
	"253402300799999999",
};
static const int64_t ids[] = { 1, 42, INT64_MAX };

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Unpadded base64url of s[0..len) into a malloc'd string. */
static char *
enc(const unsigned char *s, size_t len)
{
	char	*out;

	if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		abort();
	b64url_encode(out, s, len);
	return out;
}

/* Decodes a cursor list_cursor() made into a malloc'd buffer. */
static unsigned char *
dec(const char *s, size_t *outlen)
{
	unsigned char	*out;
	size_t		 len = strlen(s);
	long		 n;

	if ((out = malloc(3 * len / 4 + 3)) == NULL)
		abort();
	n = b64url_decode(out, s, len);
	FUZZ_CHECK(n >= 0);
	*outlen = (size_t)n;
	return out;
}

static int
is_int_text(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* 1 when s is one of the NULL-terminated choices. */
static int
one_of(const char *s, const char *const *choices)
{
	for (; *choices != NULL; choices++)
		if (strcmp(s, *choices) == 0)
			return 1;
	return 0;
}

/* Parses query; checks list.h's promises.  Returns list_parse()'s value. */
static int
parse(struct arena *a, const struct list_spec *spec, const char *query,
    struct page_query *p)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	const char		*f;
	int64_t			 id;
	size_t			 i;
	int			 rc;

	rc = list_parse(a, query, spec, p, &errs);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		FUZZ_CHECK(errs.n > 0);
		for (i = 0; i < errs.n; i++) {
			FUZZ_CHECK(errs.v[i].message != NULL);
			/* Names go back to the client in JSON. */
			FUZZ_CHECK(errs.v[i].field == NULL ||
			    utf8_valid(errs.v[i].field,
			    strlen(errs.v[i].field)));
		}
		return rc;
	}
	FUZZ_CHECK(errs.n == 0);
	FUZZ_CHECK(p->limit >= 1 && p->limit <= PAGE_LIMIT_MAX);
	FUZZ_CHECK(p->offset >= 0 && p->offset <= INT32_MAX);
	FUZZ_CHECK(p->sort < spec->nsorts);
	FUZZ_CHECK(p->desc == 0 || p->desc == 1);
	for (i = 0; i < PAGE_FILTERS_MAX; i++) {
		if ((f = p->filters[i]) == NULL)
			continue;
		FUZZ_CHECK(i < spec->nfilters);
		FUZZ_CHECK(utf8_valid(f, strlen(f)));
		if (spec->filters[i].type == FILT_ID)
			FUZZ_CHECK(valid_id(f, strlen(f), &id) == 0);
		else if (spec->filters[i].type == FILT_ENUM)
			FUZZ_CHECK(one_of(f, spec->filters[i].choices));
		else
			FUZZ_CHECK(utf8_count(f, strlen(f)) >= 1 &&
			    utf8_count(f, strlen(f)) <=
			    spec->filters[i].maxlen);
	}
	if (p->has_after) {
		FUZZ_CHECK(p->offset == 0);
		FUZZ_CHECK(p->after_id >= 1);
		FUZZ_CHECK(p->after_key != NULL);
		if (spec->sorts[p->sort].type == SK_TEXT)
			FUZZ_CHECK(utf8_valid(p->after_key,
			    strlen(p->after_key)) &&
			    strlen(p->after_key) <= 1000);
		else
			FUZZ_CHECK(is_int_text(p->after_key));
	}
	return rc;
}

/* The query of the link in link that ends with rel="<rel>". */
static char *
link_query(const char *link, const char *rel)
{
	const char	*lt, *q, *gt, *r;
	char		*out;

	for (lt = link; (lt = strchr(lt, '<')) != NULL; lt = gt) {
		FUZZ_CHECK((gt = strchr(lt, '>')) != NULL);
		r = gt + strlen(">; rel=\"");
		if (strncmp(gt, ">; rel=\"", 8) == 0 &&
		    strncmp(r, rel, strlen(rel)) == 0 && r[strlen(rel)] == '"')
			break;
	}
	FUZZ_CHECK(lt != NULL);
	FUZZ_CHECK((q = memchr(lt, '?', (size_t)(gt - lt))) != NULL);
	if ((out = strndup(q + 1, (size_t)(gt - q - 1))) == NULL)
		abort();
	return out;
}

static int
same_filters(const struct page_query *x, const struct page_query *y)
{
	size_t	 i;

	for (i = 0; i < PAGE_FILTERS_MAX; i++)
		if ((x->filters[i] == NULL) != (y->filters[i] == NULL) ||
		    (x->filters[i] != NULL &&
		    strcmp(x->filters[i], y->filters[i]) != 0))
			return 0;
	return 1;
}

/* Follows the "first" and "next" links of p as a client would. */
static void
round_trip(struct arena *a, const struct fuzz_list *l,
    const struct page_query *p, size_t pick)
{
	const struct list_spec	*spec = l->coll->spec;
	struct page_query	 q;
	const char		*key;
	char			*cursor, *link, *first, *next;
	int64_t			 id = ids[pick % NELEM(ids)];

	switch (spec->sorts[p->sort].type) {
	case SK_TEXT:
		key = text_keys[pick % NELEM(text_keys)];
		break;
	case SK_TIME:
		key = time_keys[pick % NELEM(time_keys)];
		break;
	default:
		key = int_keys[pick % NELEM(int_keys)];
		break;
	}
	cursor = list_cursor(a, spec, p, key, id);
	link = list_link(a, l->path, spec, p, cursor);

	first = link_query(link, "first");
	FUZZ_CHECK(parse(a, spec, first, &q) == 0);
	FUZZ_CHECK(q.limit == p->limit && q.offset == 0 && !q.has_after);
	FUZZ_CHECK(q.sort == p->sort && q.desc == p->desc);
	FUZZ_CHECK(same_filters(&q, p));

	next = link_query(link, "next");
	FUZZ_CHECK(parse(a, spec, next, &q) == 0);
	FUZZ_CHECK(q.limit == p->limit && q.offset == 0 && q.has_after);
	FUZZ_CHECK(q.sort == p->sort && q.desc == p->desc);
	FUZZ_CHECK(same_filters(&q, p));
	FUZZ_CHECK(q.after_id == id && strcmp(q.after_key, key) == 0);
	free(first);
	free(next);
}

/* Parses query + "&after=" + a cursor of p's prefix and tail. */
static void
with_tail(struct arena *a, const struct fuzz_list *l,
    const struct page_query *p, const char *query, const uint8_t *tail,
    size_t tlen)
{
	struct page_query	 q;
	unsigned char		*text;
	char			*cursor, *q2;
	size_t			 len;

	/* "v1\n<sort>\n<desc>\n<fp>\n1\n": keep all but "1\n". */
	text = dec(list_cursor(a, l->coll->spec, p, "", 1), &len);
	FUZZ_CHECK(len >= 2 && text[len - 2] == '1' && text[len - 1] == '\n');
	len -= 2;
	if ((text = realloc(text, len + tlen + 1)) == NULL)
		abort();
	if (tlen > 0)
		memcpy(text + len, tail, tlen);
	cursor = enc(text, len + tlen);
	if ((q2 = malloc(strlen(query) + strlen(cursor) + 8)) == NULL)
		abort();
	strcpy(q2, query);
	strcat(q2, "&after=");
	strcat(q2, cursor);
	if (parse(a, l->coll->spec, q2, &q) == 0 && q.has_after)
		round_trip(a, l, &q, tlen);
	free(q2);
	free(cursor);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_list	*l;
	struct page_query	 p;
	struct arena		*a;
	const uint8_t		*nul;
	char			*query, *d;
	size_t			 qlen, dlen;

	if (size == 0)
		return 0;
	switch (data[0]) {
	case 'p': l = &lists[0]; break;
	case 'd': l = &lists[1]; break;
	case 'm': l = &lists[2]; break;
	case 'b': l = &lists[3]; break;
	case 'a': l = &lists[4]; break;
	default: l = &lists[data[0] % NLISTS]; break;
	}
	data++;
	size--;
	nul = memchr(data, '\0', size);
	qlen = nul != NULL ? (size_t)(nul - data) : size;
	query = fuzz_cstring(data, qlen);

	a = arena_new();
	d = query_decode(a, query, qlen, &dlen);
	FUZZ_CHECK(d == NULL || (dlen <= qlen && d[dlen] == '\0'));
	if (parse(a, l->coll->spec, query, &p) == 0) {
		if (nul != NULL && p.offset == 0 && !p.has_after)
			with_tail(a, l, &p, query, nul + 1,
			    size - qlen - 1);
		else if (nul == NULL)
			round_trip(a, l, &p, qlen);
	}
	arena_free(a);
	free(query);
	return 0;
}
