/*
 * The RFC 8288 Link header of a list: rel="first" always, rel="next" with
 * the cursor of the page after this one.  Both keep the page's limit, sort
 * and filters; offset is left out ("first" starts at 0, "next" uses after).
 */
#include <inttypes.h>
#include <stdint.h>

#include "arena.h"
#include "list.h"

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

/* Appends "path?limit=..&sort=..&filters[&after=cursor]". */
static void
url(struct buf *b, const char *path, const struct list_spec *spec,
    const struct page_query *p, const char *cursor)
{
	size_t	 i;

	buf_printf(b, "%s?%s=%" PRId64, path, list_param_name(spec,
	    LIST_LIMIT), p->limit);
	if (p->sort != 0 || p->desc != (spec->default_desc != 0))
		buf_printf(b, "&%s=%s%s", list_param_name(spec, LIST_SORT),
		    p->desc ? "-" : "", spec->sorts[p->sort].name);
	for (i = 0; i < spec->nfilters; i++) {
		if (p->filters[i] == NULL)
			continue;
		buf_putc(b, '&');
		buf_urlencode(b, spec->filters[i].name);
		buf_putc(b, '=');
		buf_urlencode(b, p->filters[i]);
	}
	if (cursor != NULL) {
		buf_printf(b, "&%s=", list_param_name(spec, LIST_AFTER));
		buf_urlencode(b, cursor);
	}
}

char *
list_url(struct arena *a, const char *path, const struct list_spec *spec,
    const struct page_query *p, const char *cursor)
{
	struct buf	 b;

	buf_init(&b, a, 256);
	url(&b, path, spec, p, cursor);
	return b.data;
}

char *
list_link(struct arena *a, const char *path, const struct list_spec *spec,
    const struct page_query *p, const char *next_cursor)
{
	struct buf	 b;

	/* Offset is left out: "first" starts at 0 and "next" uses after. */
	buf_init(&b, a, 256);
	buf_putc(&b, '<');
	url(&b, path, spec, p, NULL);
	buf_puts(&b, ">; rel=\"first\"");
	if (next_cursor != NULL) {
		buf_puts(&b, ", <");
		url(&b, path, spec, p, next_cursor);
		buf_puts(&b, ">; rel=\"next\"");
	}
	return b.data;
}
