/*
 * Database answers as HTTP: the one table that maps every enum db_status
 * to a status and a problem document, and the replies every resource
 * shares (ETag, Location, a page of a collection).
 */
#include <inttypes.h>

#include "handlers.h"
#include "json.h"
#include "list.h"
#include "req.h"
#include "resource.h"

/*
 * Each status's HTTP answer: its status and detail, which, with
 * of_record, follows the record's kind and id ("patient 7 not found").
 */
static const struct {
	int		 http;
	int		 of_record;
	const char	*detail;
} answers[DB_STATUS__MAX] = {
	[DB_OK]		  = { 200, 0, NULL },
	[DB_NOTFOUND]	  = { 404, 1, "not found" },
	[DB_CONFLICT]	  = { 409, 1, "conflicts with another record" },
	[DB_STALE]	  = { 412, 1, "has changed since that version: GET it "
			    "again" },
	[DB_GONE]	  = { 410, 1, "was deleted" },	/* gone() says more */
	[DB_UNAVAILABLE]  = { 503, 0, "the database is unavailable, try "
			    "again" },
	[DB_UNAUTHORIZED] = { 401, 0, "the token has been revoked or its "
			    "user no longer exists" },
	[DB_BUSY]	  = { 409, 0, "a request with this Idempotency-Key is "
			    "still running" },
	[DB_REPLAY]	  = { 500, 0, NULL },	/* handled where it happens */
	[DB_ERROR]	  = { 500, 0, NULL },	/* logged where it happened */
};

int
reply_db(struct req *r, enum db_status st, const char *kind, int64_t id,
    const char *conflict)
{
	if ((unsigned)st >= DB_STATUS__MAX || st == DB_OK)
		st = DB_ERROR;
	if (st == DB_CONFLICT && conflict != NULL)
		return problem(r, 409, "%s", conflict);
	if (st == DB_UNAUTHORIZED)
		resp_header(r, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
	/* What made it unavailable rarely lasts: a connection is remade,
	 * a lock or a deadlock is gone a moment later. */
	if (st == DB_UNAVAILABLE)
		resp_header(r, "Retry-After", "1");
	if (answers[st].detail == NULL)
		return problem(r, answers[st].http, NULL);
	if (!answers[st].of_record)
		return problem(r, answers[st].http, "%s", answers[st].detail);
	return problem(r, answers[st].http, "%s %" PRId64 " %s",
	    kind != NULL ? kind : "record", id, answers[st].detail);
}

const char *
etag(struct req *r, int64_t version)
{
	const char	*v = arena_printf(r->arena, "\"%" PRId64 "\"", version);

	resp_header(r, "ETag", "%s", v);
	return v;
}

const char *
location(struct req *r, const char *path, int64_t id)
{
	const char	*v = arena_printf(r->arena, "%s/%" PRId64, path, id);

	resp_header(r, "Location", "%s", v);
	return v;
}

void
json_row(struct buf *b, const struct json_col *j, size_t n,
    const struct db_row *row)
{
	const char	*v;
	size_t		 i;

	buf_putc(b, '{');
	for (i = 0; i < n; i++) {
		json_key(b, j[i].name, i == 0);
		v = row->cell[j[i].col];
		if (j[i].type == J_FN)
			j[i].write(b, row);
		else if (v == NULL)
			buf_puts(b, "null");
		else if (j[i].type == J_INT)
			buf_puts(b, v);
		else if (j[i].type == J_TIME)
			json_time(b, db_cell_int(row, j[i].col));
		else
			json_cstr(b, v);
	}
	buf_putc(b, '}');
}

int
list_reply(struct req *r, const struct collection *c,
    const struct page_query *q, const struct db_page *pg, int64_t total)
{
	const char	*next = NULL;
	size_t		 i;

	buf_putc(&r->out, '[');
	for (i = 0; i < pg->n; i++) {
		if (i > 0)
			buf_putc(&r->out, ',');
		json_row(&r->out, c->json, c->njson, &pg->rows[i]);
	}
	buf_putc(&r->out, ']');
	if (pg->has_more)
		next = list_cursor(r->arena, c->spec, q, pg->last_key,
		    pg->last_id);
	resp_header(r, "Link", "%s", list_link(r->arena, r->path, c->spec, q,
	    next));
	if (total >= 0) {
		resp_header(r, "X-Total-Count", "%" PRId64, total);
		resp_header(r, "Preference-Applied", "count=exact");
	}
	return reply_json(r, 200);
}
