/*
 * The opaque "after" cursor of keyset paging.  A cursor is base64url
 * without padding of the text
 *
 *	v1\n<sort name>\n<desc: 0 or 1>\n<fingerprint>\n<id>\n<key>
 *
 * where the fingerprint is the FNV-1a 64-bit hash (16 lower-case hex
 * digits) of the filters in spec order, and key, the last row's sort key
 * in the text form of enum sort_key_type, comes last so it may hold any
 * text, newlines included.  A cursor only names a position: it carries no
 * MAC because a forged one can do no more than start a page somewhere in
 * rows the SQL already limits to the caller.  Sort, direction and
 * fingerprint are there so that a cursor reused with another sort or filter
 * is a 400 rather than a silently wrong page.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "b64url.h"
#include "list.h"
#include "utf8.h"
#include "valid.h"

#define LIST_CURSOR_MAX	2048		/* characters of a cursor */
#define LIST_KEY_MAX	1000		/* bytes of an SK_TEXT key */
/* SK_TIME keys: microseconds from year 1 to year 9999. */
#define CURSOR_TIME_MIN	INT64_C(-62135596800000000)
#define CURSOR_TIME_MAX	INT64_C(253402300799999999)

static void
fnv_add(uint64_t *h, const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		*h ^= (unsigned char)s[i];
		*h *= UINT64_C(1099511628211);
	}
}

/*
 * The filters of p in spec order, hashed.  Values hold no NUL, so NUL
 * separators keep "a" + "bc" apart from "ab" + "c", and the byte after a
 * name tells an absent filter from an empty one.
 */
static uint64_t
filters_hash(const struct list_spec *spec, const struct page_query *p)
{
	uint64_t	 h = UINT64_C(14695981039346656037);
	size_t		 i;

	for (i = 0; i < spec->nfilters; i++) {
		if (spec->filters[i].name == NULL)	/* never set */
			continue;
		fnv_add(&h, spec->filters[i].name,
		    strlen(spec->filters[i].name) + 1);
		if (p->filters[i] == NULL)
			fnv_add(&h, "-", 1);
		else {
			fnv_add(&h, "=", 1);
			fnv_add(&h, p->filters[i], strlen(p->filters[i]) + 1);
		}
	}
	return h;
}

/* Takes s up to the next newline as a field; returns -1 when there is none. */
static int
next_line(const char **s, size_t *len, const char **f, size_t *flen)
{
	const char	*nl;

	if ((nl = memchr(*s, '\n', *len)) == NULL)
		return -1;
	*f = *s;
	*flen = (size_t)(nl - *s);
	*len -= *flen + 1;
	*s = nl + 1;
	return 0;
}

static int
field_is(const char *f, size_t flen, const char *want)
{
	return strlen(want) == flen && memcmp(f, want, flen) == 0;
}

/*
 * Checks cursor c against p's sort, direction and filters and sets
 * p->has_after, p->after_key and p->after_id.  Returns 0 or -1.
 */
int
list_cursor_parse(struct arena *a, const char *c, size_t clen,
    const struct list_spec *spec, struct page_query *p)
{
	const char	*s, *f;
	char		 fp[17];
	unsigned char	*raw;
	size_t		 len, flen;
	long		 n;
	int64_t		 v;

	if (clen == 0 || clen > LIST_CURSOR_MAX)
		return -1;
	raw = arena_alloc(a, clen / 4 * 3 + 3);
	if ((n = b64url_decode(raw, c, clen)) < 0)
		return -1;
	s = (const char *)raw;
	len = (size_t)n;
	if (next_line(&s, &len, &f, &flen) == -1 || !field_is(f, flen, "v1"))
		return -1;
	if (next_line(&s, &len, &f, &flen) == -1 ||
	    !field_is(f, flen, spec->sorts[p->sort].name))
		return -1;
	if (next_line(&s, &len, &f, &flen) == -1 ||
	    !field_is(f, flen, p->desc ? "1" : "0"))
		return -1;
	snprintf(fp, sizeof(fp), "%016" PRIx64, filters_hash(spec, p));
	if (next_line(&s, &len, &f, &flen) == -1 || !field_is(f, flen, fp))
		return -1;
	if (next_line(&s, &len, &f, &flen) == -1 ||
	    valid_id(f, flen, &p->after_id) == -1)
		return -1;

	/* What is left is the key. */
	switch (spec->sorts[p->sort].type) {
	case SK_INT:
		if (list_int64(s, len, &v) == -1)
			return -1;
		break;
	case SK_TIME:
		/* A time PostgreSQL can add to the epoch: a tampered key
		 * beyond that would be its error (22008), not a 400. */
		if (list_int64(s, len, &v) == -1 || v < CURSOR_TIME_MIN ||
		    v > CURSOR_TIME_MAX)
			return -1;
		break;
	case SK_TEXT:
		if (len > LIST_KEY_MAX || memchr(s, '\0', len) != NULL ||
		    !utf8_valid(s, len))
			return -1;
		break;
	default:
		return -1;
	}
	p->after_key = arena_strndup(a, s, len);
	p->has_after = 1;
	return 0;
}

char *
list_cursor(struct arena *a, const struct list_spec *spec,
    const struct page_query *p, const char *key, int64_t id)
{
	struct buf	 b;
	char		*out;

	buf_init(&b, a, 128);
	buf_printf(&b, "v1\n%s\n%d\n%016" PRIx64 "\n%" PRId64 "\n",
	    spec->sorts[p->sort].name, p->desc ? 1 : 0,
	    filters_hash(spec, p), id);
	buf_puts(&b, key != NULL ? key : "");
	out = arena_alloc(a, B64URL_LEN(b.len) + 1);
	b64url_encode(out, (const unsigned char *)b.data, b.len);
	return out;
}

