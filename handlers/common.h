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

struct buf;
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
 * Answers a list request with its page: the JSON array of the page's rows
 * (rows holds pg->n items of size bytes, each written by item), the Link
 * header with the next cursor, and, when total >= 0, X-Total-Count.
 */
int	list_reply(struct req *, const struct list_spec *,
	    const struct list_params *, const struct page *, int64_t total,
	    const void *rows, size_t size,
	    void (*item)(struct buf *, const void *));

/* "Location: path/id" for a created record; returns the value. */
const char *location(struct req *, const char *path, int64_t id);
/* "ETag: \"version\"" for a single record; returns the value. */
const char *etag(struct req *, int64_t version);

/*
 * An If-Match or If-None-Match header, as the SQL takes it: present says
 * the client sent one; any, that it was "*"; versions, the versions it
 * named as a PostgreSQL array literal ("{3,4}", "{}" when none parsed),
 * NULL when absent or "*".  If-Match compares strongly: a weak W/"3" never
 * matches it; If-None-Match compares weakly.
 */
struct precondition {
	int		 present;
	int		 any;
	const char	*versions;
};
void	precondition(struct req *, const char *param, int weak,
	    struct precondition *);
/* 1 when version satisfies p (a match, for either header). */
int	precondition_matches(const struct precondition *, int64_t version);

/*
 * Safe retries for a POST that creates (API.md "Safe retries").  Before
 * creating: returns 0 to go ahead, with *key the request's
 * Idempotency-Key or NULL and, for a key, the transaction begun and the
 * key claimed; or the status of the answer it set (a replay, 400, 409,
 * 422, 503).  After the create has set its 201: stores the reply with the
 * key and commits; returns the final status.
 */
int	idempotency_begin(struct req *, const char **key);
int	idempotency_finish(struct req *, const char *key,
	    const char *location, const char *etag);

#endif
