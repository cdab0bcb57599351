/*
 * What every resource's handlers share: reading a JSON body against a field
 * table, answering a database failure, and the two ends of a list request
 * (parsing its query, then the Link and X-Total-Count headers).
 */
#ifndef HANDLERS_COMMON_H
#define HANDLERS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "list.h"
#include "valid.h"

struct req;

#define NFIELDS(spec)	(sizeof(spec) / sizeof((spec)[0]))

/*
 * Validates r's body against spec into v.  Returns 0, or sets the 400 and
 * returns its status.
 */
int	body_fields(struct req *, const struct field_spec *, size_t,
	    enum valid_mode, struct field_value *v);

/*
 * The answer to a failed db call: 401 for a token the database refused,
 * 503 when it is unavailable, else 500.
 */
int	db_failed(struct req *, enum db_status);

/*
 * Parses r's query for a collection into p.  Returns 0, or sets the 400
 * and returns its status.  *want_count is set from Prefer: count=exact.
 */
int	list_begin(struct req *, const struct list_spec *, struct list_params *,
	    int *want_count);

/*
 * Adds the Link header (with a next cursor made from last_key/last_id when
 * has_more) and, when total >= 0, X-Total-Count and Preference-Applied.
 */
void	list_end(struct req *, const struct list_spec *,
	    const struct list_params *, int has_more, const char *last_key,
	    int64_t last_id, int64_t total);

/* "Location: path/id" for a created record. */
void	location(struct req *, const char *path, int64_t id);

#endif
