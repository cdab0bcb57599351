/*
 * Query strings of list endpoints (API.md "Collections"): limit, offset,
 * sort, per-collection filters and the "after" cursor of keyset paging,
 * parsed into a struct page_query or one field error per bad parameter.
 * The cursor itself is cursor.c's; the Link header that leads to the
 * next page, link.c's.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "list.h"
#include "utf8.h"
#include "valid.h"

#define LIST_PARAMS_MAX	64		/* more parameters: one error */
#define LIST_OFFSET_MAX	INT32_MAX	/* beyond this, use "after" */

/* The parameters every collection takes, then its filters. */
enum param {
	P_LIMIT,
	P_OFFSET,
	P_SORT,
	P_AFTER,
	P_FILTER,	/* P_FILTER + i is spec->filters[i] */
	P_PASSED = P_FILTER + PAGE_FILTERS_MAX,	/* the handler's own */
	P__MAX,
};

static const char *const param_names[LIST__NPARAMS] = {
	"limit", "offset", "sort", "after",
};
_Static_assert((int)P_FILTER == (int)LIST__NPARAMS,
    "the parameters every list takes, in the order of enum list_param");

const char *
list_param_name(const struct list_spec *spec, int i)
{
	return spec->params != NULL ? spec->params[i] : param_names[i];
}

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
int
list_int64(const char *s, size_t len, int64_t *out)
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
	if (len == 0 || s[0] == '-' || list_int64(s, len, out) == -1)
		return -1;
	return *out >= lo && *out <= hi ? 0 : -1;
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
    struct page_query *p)
{
	size_t	 i;
	int	 desc = 0;

	if (len > 0 && v[0] == '-') {
		desc = 1;
		v++;
		len--;
	}
	for (i = 0; i < spec->nsorts; i++)
		if (strlen(spec->sorts[i].name) == len &&
		    memcmp(v, spec->sorts[i].name, len) == 0) {
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
	case FILT_ENUM:
		for (n = 0; fs->choices[n] != NULL; n++)
			if (strcmp(v, fs->choices[n]) == 0)
				return fs->choices[n];
		return NULL;
	case FILT_ID:
		/* Canonical, so "007" and "7" give the same links and cursors. */
		if (valid_id(v, len, &id) == -1)
			return NULL;
		return arena_printf(a, "%" PRId64, id);
	default:
		return NULL;
	}
}

/* What a bad value of filter fs should have been. */
static const char *
filter_message(struct arena *a, const struct filter_spec *fs)
{
	struct buf	 b;
	size_t		 i;

	switch (fs->type) {
	case FILT_ID:
		return msg_id;
	case FILT_ENUM:
		buf_init(&b, a, 128);
		buf_puts(&b, "must be one of ");
		for (i = 0; fs->choices[i] != NULL; i++)
			buf_printf(&b, "%s%s", i > 0 ? ", " : "",
			    fs->choices[i]);
		return b.data;
	default:
		return arena_printf(a, "must be from 1 to %zu characters",
		    fs->maxlen);
	}
}

/* Index of the parameter called name, P_PASSED for one the handler
 * reads, or P__MAX when unknown. */
static int
param_find(const char *name, const struct list_spec *spec)
{
	const char	*n;
	size_t		 i;

	for (i = 0; i < P_FILTER; i++)
		if ((n = list_param_name(spec, (int)i)) != NULL &&
		    strcmp(name, n) == 0)
			return (int)i;
	for (i = 0; i < spec->nfilters; i++)
		if (spec->filters[i].name != NULL &&
		    strcmp(name, spec->filters[i].name) == 0)
			return P_FILTER + (int)i;
	for (i = 0; spec->passed != NULL && spec->passed[i] != NULL; i++)
		if (strcmp(name, spec->passed[i]) == 0)
			return P_PASSED;
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
		if (k == P_PASSED)
			continue;
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
    struct page_query *p, struct field_errors *errs)
{
	struct slot			 slots[P__MAX];
	struct slot			*sl;
	const struct filter_spec	*fs;
	size_t				 i;
	int				 nerr = 0, keyed_ok = 1;

	assert(spec->nsorts > 0 && spec->nfilters <= PAGE_FILTERS_MAX);
	memset(p, 0, sizeof(*p));
	p->limit = PAGE_LIMIT_DEFAULT;
	p->desc = spec->default_desc != 0;
	memset(slots, 0, sizeof(slots));

	query_split(a, query, spec, slots, errs, &nerr);

	sl = &slots[P_LIMIT];
	if (sl->n == 1 && spec->clamp_limit && sl->bad == NULL &&
	    parse_range(sl->v, sl->len, 1, INT32_MAX, &p->limit) == 0 &&
	    p->limit > PAGE_LIMIT_MAX)
		p->limit = PAGE_LIMIT_MAX;
	else if (sl->n == 1 && (sl->bad != NULL || parse_range(sl->v, sl->len,
	    1, PAGE_LIMIT_MAX, &p->limit) == -1))
		value_error(a, errs, &nerr, list_param_name(spec, P_LIMIT), sl,
		    arena_printf(a,
		    "must be an integer from 1 to %d", PAGE_LIMIT_MAX));

	sl = &slots[P_OFFSET];
	if (sl->n == 1 && (sl->bad != NULL || parse_range(sl->v, sl->len, 0,
	    LIST_OFFSET_MAX, &p->offset) == -1))
		value_error(a, errs, &nerr, list_param_name(spec, P_OFFSET),
		    sl, arena_printf(a,
		    "must be an integer from 0 to %" PRId32, LIST_OFFSET_MAX));

	/* The cursor is checked against sort and filters, so they go first. */
	sl = &slots[P_SORT];
	if (sl->n > 1)
		keyed_ok = 0;
	else if (sl->n == 1 && (sl->bad != NULL ||
	    parse_sort(sl->v, sl->len, spec, p) == -1)) {
		value_error(a, errs, &nerr, list_param_name(spec, P_SORT), sl,
		    sort_message(a, spec));
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
			    filter_message(a, fs));
			keyed_ok = 0;
		}
	}

	/*
	 * With a bad sort or filter there is nothing to check the cursor
	 * against; the request fails on those anyway.
	 */
	sl = &slots[P_AFTER];
	if (sl->n == 1 && slots[P_OFFSET].n > 0)
		value_error(a, errs, &nerr, list_param_name(spec, P_AFTER), sl,
		    msg_offset);
	else if (sl->n == 1 && keyed_ok && (sl->bad != NULL ||
	    list_cursor_parse(a, sl->v, sl->len, spec, p) == -1))
		value_error(a, errs, &nerr, list_param_name(spec, P_AFTER), sl,
		    msg_cursor);

	return nerr > 0 ? -1 : 0;
}

