/*
 * Query strings of list endpoints (API.md "Collections"): limit, offset,
 * sort, per-collection filters and the "after" cursor of keyset paging,
 * parsed into struct list_params or one field error per bad parameter;
 * plus the cursor and the Link header that lead to the next page.
 *
 * A cursor is base64url without padding of the text
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
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "list.h"
#include "valid.h"

#define LIST_PARAMS_MAX	64		/* more parameters: one error */
#define LIST_OFFSET_MAX	INT32_MAX	/* beyond this, use "after" */
#define LIST_CURSOR_MAX	2048		/* characters of a cursor */
#define LIST_KEY_MAX	1000		/* bytes of an SK_TEXT key */

/* The parameters every collection takes, then its filters. */
enum param {
	P_LIMIT,
	P_OFFSET,
	P_SORT,
	P_AFTER,
	P_FILTER,	/* P_FILTER + i is spec->filters[i] */
	P__MAX = P_FILTER + LIST_FILTERS_MAX,
};

static const char *const param_names[P_FILTER] = {
	"limit", "offset", "sort", "after",
};

/* One known parameter as found in the query. */
struct slot {
	int		 n;		/* times given */
	const char	*v;		/* decoded value of the first one */
	size_t		 len;
	const char	*bad;		/* decoding error, or NULL */
};

static const char msg_unknown[] = "unknown parameter";
static const char msg_twice[] = "given more than once";
static const char msg_escape[] = "has a bad percent-escape";
static const char msg_utf8[] = "must be valid UTF-8 without NUL characters";
static const char msg_cursor[] =
    "is not a valid cursor for this sort and filter";
static const char msg_offset[] = "cannot be combined with offset";
static const char msg_id[] = "must be a positive integer";

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
query_decode(struct arena *a, const char *s, size_t len, size_t *outlen)
{
	char	*out;
	size_t	 i, n;
	int	 hi, lo;

	out = arena_alloc(a, len + 1);
	for (i = n = 0; i < len; i++) {
		if (s[i] == '+')
			out[n++] = ' ';
		else if (s[i] != '%')
			out[n++] = s[i];
		else {
			if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return NULL;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	out[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return out;
}

/*
 * An optional '-' and one or more decimal digits that fit in int64_t; no
 * spaces or '+', unlike strtoll().  Returns 0 and sets *out, or -1.
 */
static int
parse_int64(const char *s, size_t len, int64_t *out)
{
	uint64_t	 v = 0, lim = INT64_MAX, d;
	size_t		 i = 0;
	int		 neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		lim = (uint64_t)INT64_MAX + 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else	/* -INT64_MIN does not fit: spell it out. */
		*out = v == lim ? INT64_MIN : -(int64_t)v;
	return 0;
}

/* Digits only (no sign) in lo..hi; returns 0 and sets *out, or -1. */
static int
parse_range(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
	if (len == 0 || s[0] == '-' || parse_int64(s, len, out) == -1)
		return -1;
	return *out >= lo && *out <= hi ? 0 : -1;
}

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
filters_hash(const struct list_spec *spec, const struct list_params *p)
{
	uint64_t	 h = UINT64_C(14695981039346656037);
	size_t		 i;

	for (i = 0; i < spec->nfilters; i++) {
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

static char *
b64url_encode(struct arena *a, const char *src, size_t len)
{
	const unsigned char	*s = (const unsigned char *)src;
	char			*out, *o;
	size_t			 i;
	uint32_t		 v;

	o = out = arena_alloc(a, (len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
		*o++ = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)s[i] << 16;
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
	}
	*o = '\0';
	return out;
}

static int
b64url_val(char c)
{
	const char	*p;

	if (c == '\0' || (p = strchr(b64url, c)) == NULL)
		return -1;
	return (int)(p - b64url);
}

/*
 * Decodes unpadded base64url into an arena buffer.  Leftover bits must be
 * zero, so each byte string has exactly one encoding.  Returns NULL when s
 * is not such an encoding.
 */
static char *
b64url_decode(struct arena *a, const char *s, size_t len, size_t *outlen)
{
	char		*out;
	size_t		 i, n = 0;
	uint32_t	 v = 0;
	int		 c, bits = 0;

	if (len % 4 == 1)
		return NULL;
	out = arena_alloc(a, len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		if ((c = b64url_val(s[i])) < 0)
			return NULL;
		v = v << 6 | (uint32_t)c;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (char)(v >> bits & 0xff);
		}
	}
	if ((v & ((1u << bits) - 1)) != 0)
		return NULL;
	*outlen = n;
	return out;
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
static int
cursor_parse(struct arena *a, const char *c, size_t clen,
    const struct list_spec *spec, struct list_params *p)
{
	const char	*s, *f;
	char		 fp[17];
	size_t		 len, flen;
	int64_t		 v;

	if (clen == 0 || clen > LIST_CURSOR_MAX ||
	    (s = b64url_decode(a, c, clen, &len)) == NULL)
		return -1;
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
	case SK_TIME:
		if (parse_int64(s, len, &v) == -1)
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

/* "must be one of id, -id, name, -name" for spec's sorts. */
static const char *
sort_message(struct arena *a, const struct list_spec *spec)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b, a, 128);
	buf_puts(&b, "must be one of ");
	for (i = 0; i < spec->nsorts; i++)
		buf_printf(&b, "%s%s, -%s", i > 0 ? ", " : "",
		    spec->sorts[i].name, spec->sorts[i].name);
	return b.data;
}

static int
parse_sort(const char *v, size_t len, const struct list_spec *spec,
    struct list_params *p)
{
	size_t	 i;
	int	 desc = 0;

	if (len > 0 && v[0] == '-') {
		desc = 1;
		v++;
		len--;
	}
	for (i = 0; i < spec->nsorts; i++)
		if (field_is(v, len, spec->sorts[i].name)) {
			p->sort = i;
			p->desc = desc;
			return 0;
		}
	return -1;
}

/* Returns the filter's value as stored in p (canonical for ids), or NULL. */
static const char *
parse_filter(struct arena *a, const char *v, size_t len,
    const struct filter_spec *fs)
{
	int64_t	 id;
	size_t	 n;

	switch (fs->type) {
	case FILT_TEXT:
		n = utf8_count(v, len);
		return n >= 1 && n <= fs->maxlen ? v : NULL;
	case FILT_ID:
		/* Canonical, so "007" and "7" give the same links and cursors. */
		if (valid_id(v, len, &id) == -1)
			return NULL;
		return arena_printf(a, "%" PRId64, id);
	default:
		return NULL;
	}
}

/* Index of the parameter called name, or P__MAX when unknown. */
static int
param_find(const char *name, const struct list_spec *spec)
{
	size_t	 i;

	for (i = 0; i < P_FILTER; i++)
		if (strcmp(name, param_names[i]) == 0)
			return (int)i;
	for (i = 0; i < spec->nfilters; i++)
		if (strcmp(name, spec->filters[i].name) == 0)
			return P_FILTER + (int)i;
	return P__MAX;
}

/*
 * Splits the query and fills the slots of known parameters.  Errors for
 * bad names, unknown and repeated parameters are added here, in query
 * order; errors in values wait until the values are checked.
 */
static void
query_split(struct arena *a, const char *q, const struct list_spec *spec,
    struct slot *slots, struct field_errors *errs, int *nerr)
{
	const char	*seg[LIST_PARAMS_MAX], *name[LIST_PARAMS_MAX];
	const char	*end, *eq;
	size_t		 seglen[LIST_PARAMS_MAX], nseg = 0, i, j, rawlen, nlen;
	int		 k, badname = 0;
	struct slot	*sl;

	for (; q != NULL && *q != '\0'; q = *end == '&' ? end + 1 : end) {
		end = q + strcspn(q, "&");
		if (end == q)
			continue;	/* "a=1&&b=2", or a trailing '&' */
		if (nseg == LIST_PARAMS_MAX) {
			field_error_add(a, errs, NULL, arena_printf(a,
			    "query has more than %d parameters",
			    LIST_PARAMS_MAX));
			(*nerr)++;
			return;
		}
		seg[nseg] = q;
		seglen[nseg++] = (size_t)(end - q);
	}

	for (i = 0; i < nseg; i++) {
		eq = memchr(seg[i], '=', seglen[i]);
		rawlen = eq != NULL ? (size_t)(eq - seg[i]) : seglen[i];
		name[i] = query_decode(a, seg[i], rawlen, &nlen);
		if (name[i] == NULL || nlen == 0 || strlen(name[i]) != nlen ||
		    !utf8_valid(name[i], nlen)) {
			/* No usable name to put in "field": say it once. */
			name[i] = NULL;
			if (!badname++) {
				field_error_add(a, errs, NULL, "query has a "
				    "parameter name that is empty or not "
				    "percent-encoded UTF-8");
				(*nerr)++;
			}
			continue;
		}
		if ((k = param_find(name[i], spec)) == P__MAX) {
			/* Once per name; at most LIST_PARAMS_MAX^2 compares. */
			for (j = 0; j < i; j++)
				if (name[j] != NULL &&
				    strcmp(name[j], name[i]) == 0)
					break;
			if (j == i) {
				field_error_add(a, errs, name[i], msg_unknown);
				(*nerr)++;
			}
			continue;
		}
		sl = &slots[k];
		if (sl->n++ == 1) {
			field_error_add(a, errs, name[i], msg_twice);
			(*nerr)++;
		}
		if (sl->n > 1)
			continue;
		if (eq == NULL) {
			sl->v = "";
			sl->len = 0;
		} else if ((sl->v = query_decode(a, eq + 1,
		    seglen[i] - rawlen - 1, &sl->len)) == NULL)
			sl->bad = msg_escape;
		else if (memchr(sl->v, '\0', sl->len) != NULL ||
		    !utf8_valid(sl->v, sl->len))
			sl->bad = msg_utf8;
	}
}

/* Adds message for field, or the decoding error when its value had one. */
static void
value_error(struct arena *a, struct field_errors *errs, int *nerr,
    const char *field, const struct slot *sl, const char *message)
{
	field_error_add(a, errs, field, sl->bad != NULL ? sl->bad : message);
	(*nerr)++;
}

int
list_parse(struct arena *a, const char *query, const struct list_spec *spec,
    struct list_params *p, struct field_errors *errs)
{
	struct slot			 slots[P__MAX];
	struct slot			*sl;
	const struct filter_spec	*fs;
	size_t				 i;
	int				 nerr = 0, keyed_ok = 1;

	assert(spec->nsorts > 0 && spec->nfilters <= LIST_FILTERS_MAX);
	memset(p, 0, sizeof(*p));
	p->limit = LIST_LIMIT_DEFAULT;
	p->desc = spec->default_desc != 0;
	memset(slots, 0, sizeof(slots));

	query_split(a, query, spec, slots, errs, &nerr);

	sl = &slots[P_LIMIT];
	if (sl->n == 1 && (sl->bad != NULL || parse_range(sl->v, sl->len, 1,
	    LIST_LIMIT_MAX, &p->limit) == -1))
		value_error(a, errs, &nerr, "limit", sl, arena_printf(a,
		    "must be an integer from 1 to %d", LIST_LIMIT_MAX));

	sl = &slots[P_OFFSET];
	if (sl->n == 1 && (sl->bad != NULL || parse_range(sl->v, sl->len, 0,
	    LIST_OFFSET_MAX, &p->offset) == -1))
		value_error(a, errs, &nerr, "offset", sl, arena_printf(a,
		    "must be an integer from 0 to %" PRId32, LIST_OFFSET_MAX));

	/* The cursor is checked against sort and filters, so they go first. */
	sl = &slots[P_SORT];
	if (sl->n > 1)
		keyed_ok = 0;
	else if (sl->n == 1 && (sl->bad != NULL ||
	    parse_sort(sl->v, sl->len, spec, p) == -1)) {
		value_error(a, errs, &nerr, "sort", sl, sort_message(a, spec));
		keyed_ok = 0;
	}

	for (i = 0; i < spec->nfilters; i++) {
		fs = &spec->filters[i];
		sl = &slots[P_FILTER + i];
		if (sl->n > 1)
			keyed_ok = 0;
		else if (sl->n == 1 && (sl->bad != NULL || (p->filters[i] =
		    parse_filter(a, sl->v, sl->len, fs)) == NULL)) {
			value_error(a, errs, &nerr, fs->name, sl,
			    fs->type == FILT_ID ? msg_id : arena_printf(a,
			    "must be from 1 to %zu characters", fs->maxlen));
			keyed_ok = 0;
		}
	}

	/*
	 * With a bad sort or filter there is nothing to check the cursor
	 * against; the request fails on those anyway.
	 */
	sl = &slots[P_AFTER];
	if (sl->n == 1 && slots[P_OFFSET].n > 0)
		value_error(a, errs, &nerr, "after", sl, msg_offset);
	else if (sl->n == 1 && keyed_ok && (sl->bad != NULL ||
	    cursor_parse(a, sl->v, sl->len, spec, p) == -1))
		value_error(a, errs, &nerr, "after", sl, msg_cursor);

	return nerr > 0 ? -1 : 0;
}

char *
list_cursor(struct arena *a, const struct list_spec *spec,
    const struct list_params *p, const char *key, int64_t id)
{
	struct buf	 b;

	buf_init(&b, a, 128);
	buf_printf(&b, "v1\n%s\n%d\n%016" PRIx64 "\n%" PRId64 "\n",
	    spec->sorts[p->sort].name, p->desc ? 1 : 0,
	    filters_hash(spec, p), id);
	buf_puts(&b, key != NULL ? key : "");
	return b64url_encode(a, b.data, b.len);
}

/* Appends s percent-encoded: all but RFC 3986 unreserved characters. */
static void
buf_urlencode(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			buf_putc(b, (char)c);
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

/* Appends "<path?limit=..&sort=..&filters" without the closing '>'. */
static void
link_base(struct buf *b, const char *path, const struct list_spec *spec,
    const struct list_params *p)
{
	size_t	 i;

	buf_printf(b, "<%s?limit=%" PRId64, path, p->limit);
	if (p->sort != 0 || p->desc != (spec->default_desc != 0))
		buf_printf(b, "&sort=%s%s", p->desc ? "-" : "",
		    spec->sorts[p->sort].name);
	for (i = 0; i < spec->nfilters; i++) {
		if (p->filters[i] == NULL)
			continue;
		buf_putc(b, '&');
		buf_urlencode(b, spec->filters[i].name);
		buf_putc(b, '=');
		buf_urlencode(b, p->filters[i]);
	}
}

char *
list_link(struct arena *a, const char *path, const struct list_spec *spec,
    const struct list_params *p, const char *next_cursor)
{
	struct buf	 b;

	/* Offset is left out: "first" starts at 0 and "next" uses after. */
	buf_init(&b, a, 256);
	link_base(&b, path, spec, p);
	buf_puts(&b, ">; rel=\"first\"");
	if (next_cursor != NULL) {
		buf_puts(&b, ", ");
		link_base(&b, path, spec, p);
		buf_puts(&b, "&after=");
		buf_urlencode(&b, next_cursor);
		buf_puts(&b, ">; rel=\"next\"");
	}
	return b.data;
}
