/*
 * The generic handlers of resources and collections (resource.h): create,
 * read, replace, patch, delete and restore a record, read its versions,
 * and page a collection, for whichever descriptor the route row names.  A
 * record that is not the caller's is indistinguishable from a missing one:
 * the statements are scoped to the caller, so both are DB_NOTFOUND and
 * both are 404.  A deleted record is 410 to everything but its restore
 * and its history.  A public resource's reads are answered from memory
 * while it is unchanged (cache.h); its writes say when it changed.
 */
#include <inttypes.h>

#include "cache.h"
#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "req.h"
#include "resource.h"
#include "route.h"

/* The descriptor the route row names. */
static const struct resource *
resource_of(const struct req *r)
{
	return r->route->arg;
}

/* The reply for one record (GET, POST, PUT, PATCH). */
static int
reply_record(struct req *r, int status, const struct resource *res,
    const struct db_row *row)
{
	etag(r, db_cell_int(row, res->table->version_col));
	json_row(&r->out, res->list->json, res->list->njson, row);
	return reply_json(r, status);
}

/*
 * 410 for record id, deleted at deleted (microseconds): until when it can
 * be restored, or that it no longer can.
 */
static int
gone(struct req *r, const struct resource *res, int64_t id, int64_t deleted)
{
	char	 until[32];
	int64_t	 end;

	end = deleted + (int64_t)r->conf->restore_days * 86400 * 1000000;
	json_time_fmt(until, end);
	if (end / 1000000 > r->now)
		return problem(r, 410, "%s %" PRId64 " was deleted; it can be "
		    "restored until %s", res->name, id, until);
	return problem(r, 410, "%s %" PRId64 " was deleted and could be "
	    "restored until %s", res->name, id, until);
}

/* The reply for what a read or write of the path's record said. */
static int
reply_failed(struct req *r, const struct resource *res, enum db_status st,
    int64_t deleted)
{
	if (st == DB_GONE)
		return gone(r, res, r->ids[0], deleted);
	return reply_db(r, st, res->name, r->ids[0], NULL);
}

void
record_write(struct req *r, const struct resource *res,
    const struct field_value *v, int full, struct db_write *w)
{
	size_t	 i;

	for (i = 0; i < res->nfields; i++) {
		w->set[i] = full || v[i].present;
		if (!v[i].present || v[i].is_null)
			w->value[i] = NULL;
		else if (res->fields[i].type == F_INT ||
		    res->fields[i].type == F_ID)
			w->value[i] = arena_printf(r->arena, "%" PRId64,
			    v[i].i);
		else
			w->value[i] = v[i].s;
	}
}

int
written(const struct resource *res, int status)
{
	if (res->cached && status < 300)
		cache_changed();
	return status;
}

int
record_create(struct req *r)
{
	const struct resource	*res = resource_of(r);
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_write		 w;
	struct db_row		 row;
	const char		*key, *loc, *tag;
	enum db_status		 st;
	int			 rc;

	if ((rc = body_fields(r, res->fields, res->nfields, VALID_CREATE, v)))
		return rc;
	if ((rc = idempotency_begin(r, &key)))
		return rc;
	record_write(r, res, v, 1, &w);
	if ((st = db_record_create(req_db(r), res->table, &w, &row)) != DB_OK)
		return reply_db(r, st, res->name, 0, NULL);
	loc = location(r, res->path, db_cell_int(&row, 0));
	reply_record(r, 201, res, &row);
	tag = arena_printf(r->arena, "\"%" PRId64 "\"",
	    db_cell_int(&row, res->table->version_col));
	return written(res, idempotency_finish(r, key, loc, tag));
}

int
record_get(struct req *r)
{
	const struct resource		*res = resource_of(r);
	const struct cache_entry	*e;
	struct cache_stamp		 cs;
	struct db_versions		 known;
	struct db_row			 row;
	enum db_status			 st;
	int64_t				 version;
	size_t				 headers_at = r->headers.len;
	int				 cached;

	versions(r, "HTTP_IF_NONE_MATCH", 1, &known);
	cached = res->cached && cache_stamp(r, &cs);
	if (cached && (e = cache_find(r->path)) != NULL) {
		if (known.present && versions_match(&known, e->version)) {
			etag(r, e->version);
			return reply_empty(r, 304);
		}
		return cache_reply(r, e);
	}
	st = db_record_get(req_db(r), res->table, r->ids[0], &known, &row);
	if (st != DB_OK)
		return reply_failed(r, res, st, st == DB_GONE ?
		    db_cell_int(&row, res->table->deleted_col) : 0);
	version = db_cell_int(&row, res->table->version_col);
	if (known.present && versions_match(&known, version)) {
		etag(r, version);
		return reply_empty(r, 304);
	}
	reply_record(r, 200, res, &row);
	if (cached)
		cache_keep(r, &cs, r->path, headers_at, version);
	return 200;
}

/* PUT replaces the whole record, PATCH only the fields sent. */
static int
update(struct req *r, enum valid_mode mode)
{
	const struct resource	*res = resource_of(r);
	struct field_value	 v[DB_FIELDS_MAX];
	struct db_versions	 match;
	struct db_write		 w;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 deleted = 0;
	int			 rc;

	if ((rc = body_fields(r, res->fields, res->nfields, mode, v)))
		return rc;
	record_write(r, res, v, mode == VALID_CREATE, &w);
	versions(r, "HTTP_IF_MATCH", 0, &match);
	st = db_record_update(req_db(r), res->table, r->ids[0], &w, &match,
	    &row, &deleted);
	if (st != DB_OK)
		return reply_failed(r, res, st, deleted);
	return written(res, reply_record(r, 200, res, &row));
}

int
record_put(struct req *r)
{
	return update(r, VALID_CREATE);
}

int
record_patch(struct req *r)
{
	return update(r, VALID_PATCH);
}

int
record_delete(struct req *r)
{
	const struct resource	*res = resource_of(r);
	struct db_versions	 match;
	enum db_status		 st;
	int64_t			 deleted = 0;

	versions(r, "HTTP_IF_MATCH", 0, &match);
	st = db_record_delete(req_db(r), res->table, r->ids[0], &match,
	    &deleted);
	if (st == DB_OK)
		return written(res, reply_empty(r, 204));
	return reply_failed(r, res, st, deleted);
}

/*
 * POST .../restore: the record back as a new version, with the
 * Idempotency-Key and If-Match of other writes.  The key keeps the
 * record's path, so that it forgets the record if it is deleted again.
 */
int
record_restore(struct req *r)
{
	const struct resource	*res = resource_of(r);
	struct db_versions	 match;
	struct db_row		 row;
	const char		*key, *tag;
	enum db_status		 st;
	int64_t			 deleted = 0;
	int			 rc;

	if ((rc = idempotency_begin(r, &key)))
		return rc;
	versions(r, "HTTP_IF_MATCH", 0, &match);
	st = db_record_restore(req_db(r), res->table, r->ids[0], &match, &row,
	    &deleted);
	if (st == DB_CONFLICT)
		return problem(r, 409, "%s %" PRId64 " is not deleted",
		    res->name, r->ids[0]);
	if (st != DB_OK)
		return reply_failed(r, res, st, deleted);
	reply_record(r, 200, res, &row);
	tag = arena_printf(r->arena, "\"%" PRId64 "\"",
	    db_cell_int(&row, res->table->version_col));
	return written(res, idempotency_finish(r, key,
	    arena_printf(r->arena, "%s/%" PRId64, res->path, r->ids[0]), tag));
}

/* The versions of a record, newest first, paged like any collection. */
const struct list_spec history_spec = {
	(const struct sort_spec[]){ { "version", SK_INT } }, 1, 1, NULL, 0,
	NULL, NULL, 0,
};

/* GET .../history/:version: one version of the record. */
int
record_version(struct req *r)
{
	const struct resource	*res = resource_of(r);
	const struct collection	*h = res->history;
	struct db_row		 row;
	enum db_status		 st;

	st = db_record_version(req_db(r), res->table, r->ids[0], r->ids[1],
	    &row);
	if (st == DB_NOTFOUND)
		return problem(r, 404, "%s %" PRId64 " has no version %" PRId64,
		    res->name, r->ids[0], r->ids[1]);
	if (st != DB_OK)
		return reply_db(r, st, res->name, r->ids[0], NULL);
	json_row(&r->out, h->json, h->njson, &row);
	return reply_json(r, 200);
}

/* GET of a collection; a scoped one belongs to the record of the path's
 * id. */
int
collection_get(struct req *r)
{
	const struct collection		*c = r->route->arg;
	const struct cache_entry	*e;
	struct cache_stamp		 cs;
	struct page_query		 q;
	struct db_page			 pg;
	int64_t				 total = -1, scope;
	int				 rc, want_count, cached;
	enum db_status			 st;
	size_t				 headers_at = r->headers.len;
	const char			*key = NULL;

	if ((rc = list_begin(r, c->spec, &q, &want_count)))
		return rc;
	/* The page follows the query and whether a count was asked for. */
	cached = c->cached && cache_stamp(r, &cs);
	if (cached) {
		key = arena_printf(r->arena, "%s?%s%s", r->path, r->query,
		    want_count ? "#count" : "");
		if ((e = cache_find(key)) != NULL)
			return cache_reply(r, e);
	}
	scope = c->scope != NULL ? r->ids[0] : 0;
	st = db_list(req_db(r), c->db, &q, scope, &pg);
	if (st == DB_OK && want_count)
		st = db_count(req_db(r), c->db, &q, scope, &total);
	if (st != DB_OK)
		return reply_db(r, st, c->scope, scope, NULL);
	rc = list_reply(r, c, &q, &pg, total);
	if (cached)
		cache_keep(r, &cs, key, headers_at, 0);
	return rc;
}
