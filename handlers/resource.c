/*
 * The generic handlers of resources and collections (resource.h): create,
 * read, replace, patch and delete a record, and page a collection, for
 * whichever descriptor the route row names.  A record that is not the
 * caller's is indistinguishable from a missing one: the statements are
 * scoped to the caller, so both are DB_NOTFOUND and both are 404.
 */
#include <inttypes.h>

#include "handlers.h"
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
 * Turns checked fields into a write: a field that was sent is set (to its
 * value or to null); PUT and POST also set what was left out, to null.
 */
static void
to_write(struct req *r, const struct resource *res,
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
	to_write(r, res, v, 1, &w);
	if ((st = db_record_create(req_db(r), res->table, &w, &row)) != DB_OK)
		return reply_db(r, st, res->name, 0, NULL);
	loc = location(r, res->path, db_cell_int(&row, 0));
	reply_record(r, 201, res, &row);
	tag = arena_printf(r->arena, "\"%" PRId64 "\"",
	    db_cell_int(&row, res->table->version_col));
	return idempotency_finish(r, key, loc, tag);
}

int
record_get(struct req *r)
{
	const struct resource	*res = resource_of(r);
	struct db_versions	 known;
	struct db_row		 row;
	enum db_status		 st;
	int64_t			 version;

	versions(r, "HTTP_IF_NONE_MATCH", 1, &known);
	st = db_record_get(req_db(r), res->table, r->ids[0], &known, &row);
	if (st != DB_OK)
		return reply_db(r, st, res->name, r->ids[0], NULL);
	version = db_cell_int(&row, res->table->version_col);
	if (known.present && versions_match(&known, version)) {
		etag(r, version);
		return reply_empty(r, 304);
	}
	return reply_record(r, 200, res, &row);
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
	int			 rc;

	if ((rc = body_fields(r, res->fields, res->nfields, mode, v)))
		return rc;
	to_write(r, res, v, mode == VALID_CREATE, &w);
	versions(r, "HTTP_IF_MATCH", 0, &match);
	st = db_record_update(req_db(r), res->table, r->ids[0], &w, &match,
	    &row);
	if (st != DB_OK)
		return reply_db(r, st, res->name, r->ids[0], NULL);
	return reply_record(r, 200, res, &row);
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

	versions(r, "HTTP_IF_MATCH", 0, &match);
	st = db_record_delete(req_db(r), res->table, r->ids[0], &match);
	if (st == DB_OK)
		return reply_empty(r, 204);
	return reply_db(r, st, res->name, r->ids[0], res->in_use == NULL ?
	    NULL : arena_printf(r->arena, "%s %" PRId64 " %s", res->name,
	    r->ids[0], res->in_use));
}

/* GET of a collection; a scoped one belongs to the record of the path's
 * id. */
int
collection_get(struct req *r)
{
	const struct collection	*c = r->route->arg;
	struct page_query	 q;
	struct db_page		 pg;
	int64_t			 total = -1, scope;
	int			 rc, want_count;
	enum db_status		 st;

	if ((rc = list_begin(r, c->spec, &q, &want_count)))
		return rc;
	scope = c->scope != NULL ? r->ids[0] : 0;
	st = db_list(req_db(r), c->db, &q, scope, &pg);
	if (st == DB_OK && want_count)
		st = db_count(req_db(r), c->db, &q, scope, &total);
	if (st != DB_OK)
		return reply_db(r, st, c->scope, scope, NULL);
	return list_reply(r, c, &q, &pg, total);
}
