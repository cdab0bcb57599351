/*
 * Query strings of list endpoints: limit, offset, sort, filters and the
 * opaque "after" cursor that keyset paging follows (API.md "Collections").
 * Each collection describes what it accepts in one struct list_spec; the
 * parser (query.c) turns a query string into a typed struct page_query
 * (lib/page.h) or field errors; cursor.c makes and reads cursors, link.c
 * the Link header.
 */
#ifndef LIST_H
#define LIST_H

#include <stddef.h>
#include <stdint.h>

#include "page.h"

struct arena;
struct field_errors;

enum sort_key_type {
	SK_INT,		/* bigint column; cursor key is its decimal text */
	SK_TEXT,	/* text column; cursor key is the text itself */
	SK_TIME,	/* timestamptz; cursor key is microseconds since epoch */
};

struct sort_spec {
	const char		*name;	/* API field: "id", "name", "createdAt" */
	enum sort_key_type	 type;
};

enum filter_type {
	FILT_TEXT,	/* any text up to maxlen code points */
	FILT_ID,	/* a positive 63-bit integer (valid_id) */
	FILT_ENUM,	/* one of choices, exactly */
};

struct filter_spec {
	/* The query parameter: "q", "specialization"; NULL when this list
	 * does not take the filter another list of the same rows does. */
	const char		*name;
	enum filter_type	 type;
	size_t			 maxlen;
	const char *const	*choices;	/* FILT_ENUM: NULL-terminated */
};

/* The parameters every list takes, by index into list_spec.params. */
enum list_param {
	LIST_LIMIT,
	LIST_OFFSET,
	LIST_SORT,
	LIST_AFTER,
	LIST__NPARAMS
};

struct list_spec {
	const struct sort_spec		*sorts;		/* sorts[0] is the default */
	size_t				 nsorts;
	int				 default_desc;	/* audit: newest first */
	const struct filter_spec	*filters;
	size_t				 nfilters;
	/*
	 * The names of enum list_param's parameters when they are not
	 * limit, offset, sort and after (FHIR's _count, _sort, _cursor);
	 * a NULL name is not taken.  NULL: those four.
	 */
	const char *const		*params;
	/* More parameters the handler reads itself (NULL-terminated, or
	 * NULL): the parser lets them by. */
	const char *const		*passed;
	/* A limit over PAGE_LIMIT_MAX is PAGE_LIMIT_MAX, not an error:
	 * FHIR's _count asks for at most so many. */
	int				 clamp_limit;
};

/* The name of parameter i (enum list_param) in spec's lists, or NULL. */
const char	*list_param_name(const struct list_spec *, int i);

/*
 * Parses query (the raw QUERY_STRING, may be NULL) for a collection.
 * Percent-decodes, rejects unknown parameters, repeated parameters, bad
 * numbers, unknown sorts, invalid UTF-8, and cursors that are malformed or
 * were made for another sort or filter; "after" with "offset" is an error.
 * Returns 0, or -1 with one entry per bad parameter appended to errs.
 */
int		 list_parse(struct arena *, const char *query,
		    const struct list_spec *, struct page_query *,
		    struct field_errors *errs);

/*
 * Makes the opaque cursor for the page after the row whose sort key is key
 * (text form) and whose id is id, bound to p's sort and filters.
 */
char		*list_cursor(struct arena *, const struct list_spec *,
		    const struct page_query *, const char *key, int64_t id);
/*
 * Checks cursor c[0..clen) against p's sort, direction and filters and
 * sets p->has_after, p->after_key and p->after_id.  Returns 0 or -1.
 */
int		 list_cursor_parse(struct arena *, const char *c, size_t clen,
		    const struct list_spec *, struct page_query *);

/*
 * The target of a page of p: path (e.g. "/api/patients") and the query
 * of p's limit, sort and filters, and of the cursor unless it is NULL.
 */
char		*list_url(struct arena *, const char *path,
		    const struct list_spec *, const struct page_query *,
		    const char *cursor);
/*
 * Builds the RFC 8288 Link header value for path (e.g. "/api/patients"):
 * rel="first" always, rel="next" when next_cursor is not NULL.
 */
char		*list_link(struct arena *, const char *path,
		    const struct list_spec *, const struct page_query *,
		    const char *next_cursor);

/*
 * Percent-decodes s[0..len) ('+' is a space) into an arena string.  Returns
 * NULL on a bad escape; *outlen gets the decoded length.
 */
char		*query_decode(struct arena *, const char *s, size_t len,
		    size_t *outlen);
/*
 * An optional '-' and one or more decimal digits that fit in int64_t; no
 * spaces or '+', unlike strtoll().  Returns 0 and sets *out, or -1.
 */
int		 list_int64(const char *s, size_t len, int64_t *out);

#endif
