/*
 * A request for one page of a collection, in typed form: what the query
 * parser (fcgi-app/query.c) makes of limit, offset, sort, filters and the
 * "after" cursor, and what db/ runs.  A plain value shared by the two
 * layers, so that neither needs the other's headers.
 */
#ifndef PAGE_H
#define PAGE_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_LIMIT_DEFAULT	50
#define PAGE_LIMIT_MAX		200
#define PAGE_FILTERS_MAX	4

struct page_query {
	int64_t		 limit;
	int64_t		 offset;
	size_t		 sort;		/* index into the collection's sorts */
	int		 desc;
	const char	*filters[PAGE_FILTERS_MAX]; /* NULL when absent */
	int		 has_after;
	const char	*after_key;	/* the sort key, as text */
	int64_t		 after_id;
};

#endif
