/*
 * Running the statements of record tables and collections (record.h): one
 * way to create, read, update, delete, list and count, whatever the
 * resource.  What differs between resources is their SQL and the order of
 * its parameters, which each statement spells out in its args, one letter
 * per parameter:
 *
 *	U  the acting user's id		I  the record's id
 *	S  the scope's id (DB_SCOPED)	F  the write's values, one per field
 *	P  the write's (set, value) pairs, one pair per field
 *	M  the versions an update or delete requires (If-Match), or NULL
 *	K  the versions the caller has (If-None-Match), or NULL
 *	A  whether the caller has any version ("*")
 *	Q  the next filter: as given, or a name pattern (like bit)
 *	C  the cursor's key		D  the cursor's id
 *	L  the page's limit, plus one	O  the offset
 *	R  the days a deleted record can be restored in
 *
 * Every list statement has C, D, L and O as $3 to $6, where the
 * DB_AFTER_* macros of dbpriv.h look for the cursor.
 */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "dbpriv.h"
#include "log.h"
#include "record.h"

/* What the letters of args stand for, in one call. */
struct args_in {
	int64_t				 id;
	int64_t				 scope;
	size_t				 nfields;
	const struct db_write		*write;
	const struct db_versions	*match;
	const struct db_versions	*known;
	const struct page_query		*page;
	unsigned			 like;
	unsigned			 prefix;
};

int64_t
db_cell_int(const struct db_row *row, size_t c)
{
	return row->cell[c] != NULL ? strtoll(row->cell[c], NULL, 10) : 0;
}

/*
 * The parameters of st for in, in the arena; NULL (after logging) when
 * its args do not make st->nparams of them, a mistake in a table.
 */
static const char *const *
args(struct db_ctx *ctx, const struct db_stmt *st, const struct args_in *in)
{
	const struct page_query	*q = in->page;
	const char		**p, *a, *v;
	size_t			 i, n = 0, filter = 0;

	p = arena_alloc(ctx->arena, DB_PARAMS_MAX * sizeof(*p));
#define PUSH(x)	do { if (n == DB_PARAMS_MAX) goto bad; p[n++] = (x); } while (0)
/* A letter of a kind of call the statement is not run by is a mistake in
 * its table, and stops here rather than crashing. */
#define NEED(x)	do { if ((x) == NULL) goto bad; } while (0)
	for (a = st->args; *a != '\0'; a++) {
		switch (*a) {
		case 'U':
			PUSH(db_i64(ctx, ctx->user_id));
			break;
		case 'I':
			PUSH(db_i64(ctx, in->id));
			break;
		case 'S':
			PUSH(db_i64(ctx, in->scope));
			break;
		case 'F':
			NEED(in->write);
			for (i = 0; i < in->nfields; i++)
				PUSH(in->write->value[i]);
			break;
		case 'P':
			NEED(in->write);
			for (i = 0; i < in->nfields; i++) {
				PUSH(db_bool(in->write->set[i]));
				PUSH(in->write->value[i]);
			}
			break;
		case 'M':
			PUSH(db_versions(ctx, in->match));
			break;
		case 'K':
			PUSH(db_versions(ctx, in->known));
			break;
		case 'A':
			PUSH(db_bool(in->known != NULL && in->known->present &&
			    in->known->any));
			break;
		case 'Q':
			NEED(q);
			if (filter == PAGE_FILTERS_MAX)
				goto bad;
			v = q->filters[filter];
			PUSH(in->like & 1u << filter ? db_like(ctx, v, 1) :
			    in->prefix & 1u << filter ? db_like(ctx, v, 0) : v);
			filter++;
			break;
		case 'C':
			NEED(q);
			PUSH(q->has_after ? q->after_key : NULL);
			break;
		case 'D':
			NEED(q);
			PUSH(q->has_after ? db_i64(ctx, q->after_id) : NULL);
			break;
		case 'L':
			NEED(q);
			PUSH(db_i64(ctx, q->limit + 1));
			break;
		case 'O':
			NEED(q);
			PUSH(db_i64(ctx, q->offset));
			break;
		case 'R':
			PUSH(db_i64(ctx, ctx->restore_days));
			break;
		default:
			goto bad;
		}
	}
#undef PUSH
#undef NEED
	if (n == (size_t)st->nparams)
		return p;
bad:
	log_msg(ctx->request_id, "error", "statement %s: its args \"%s\" do "
	    "not make its %d parameters", st->name, st->args, st->nparams);
	return NULL;
}

/* Runs st with the parameters of in. */
static enum db_status
exec_args(struct db_ctx *ctx, struct db_stmt *st, const struct args_in *in,
    PGresult **res)
{
	const char *const	*params;

	if ((params = args(ctx, st, in)) == NULL)
		return DB_ERROR;
	return db_exec(ctx, st, params, res);
}

/* The first row of res into *out, or DB_NOTFOUND. */
static enum db_status
first_row(struct db_ctx *ctx, PGresult *res, struct db_row *out)
{
	if (PQntuples(res) == 0)
		return DB_NOTFOUND;
	db_row_of(ctx, res, 0, out);
	return DB_OK;
}

enum db_status
db_record_create(struct db_ctx *ctx, const struct db_table *t,
    const struct db_write *w, struct db_row *out)
{
	struct args_in	 in = { .nfields = t->nfields, .write = w };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, t->create, &in, &res)) != DB_OK)
		return st;
	return first_row(ctx, res, out);
}

enum db_status
db_record_get(struct db_ctx *ctx, const struct db_table *t, int64_t id,
    const struct db_versions *known, struct db_row *out)
{
	struct args_in	 in = { .id = id, .known = known };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, t->get, &in, &res)) != DB_OK)
		return st;
	if ((st = first_row(ctx, res, out)) != DB_OK)
		return st;
	return out->cell[t->deleted_col] != NULL ? DB_GONE : DB_OK;
}

/*
 * The answer of a write that checked its record, whose one row holds what
 * it wrote (NULL when nothing) and, from column cur, the version the
 * record had (NULL when there was no record) and when it was deleted
 * (NULL when it was not): DB_OK, DB_NOTFOUND, DB_GONE or DB_STALE.
 */
static enum db_status
written(struct db_ctx *ctx, PGresult *res, int cur, struct db_row *out,
    int64_t *deleted)
{
	if (PQntuples(res) != 1 || PQnfields(res) <= cur + 1) {
		log_msg(ctx->request_id, "error", "a write returned %d rows "
		    "of %d columns", PQntuples(res), PQnfields(res));
		return DB_ERROR;
	}
	if (PQgetisnull(res, 0, cur))
		return DB_NOTFOUND;
	if (!PQgetisnull(res, 0, 0)) {
		if (out != NULL)
			db_row_of(ctx, res, 0, out);
		return DB_OK;
	}
	if (!PQgetisnull(res, 0, cur + 1)) {
		*deleted = db_int(res, 0, cur + 1);
		return DB_GONE;
	}
	return DB_STALE;
}

enum db_status
db_record_update(struct db_ctx *ctx, const struct db_table *t, int64_t id,
    const struct db_write *w, const struct db_versions *match,
    struct db_row *out, int64_t *deleted)
{
	struct args_in	 in = { .id = id, .nfields = t->nfields, .write = w,
			    .match = match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, t->update, &in, &res)) != DB_OK)
		return st;
	return written(ctx, res, (int)t->ncols, out, deleted);
}

enum db_status
db_record_delete(struct db_ctx *ctx, const struct db_table *t, int64_t id,
    const struct db_versions *match, int64_t *deleted)
{
	struct args_in	 in = { .id = id, .match = match };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, t->remove, &in, &res)) != DB_OK)
		return st;
	return written(ctx, res, 1, NULL, deleted);
}

/*
 * The restore's row is written()'s, with one more column: whether the
 * record was deleted too long ago to come back.  A record that is not
 * deleted is written()'s DB_STALE case with no deletion time.
 */
enum db_status
db_record_restore(struct db_ctx *ctx, const struct db_table *t, int64_t id,
    const struct db_versions *match, struct db_row *out, int64_t *deleted)
{
	struct args_in	 in = { .id = id, .match = match };
	PGresult	*res;
	enum db_status	 st;
	int		 cur = (int)t->ncols;

	if ((st = exec_args(ctx, t->restore, &in, &res)) != DB_OK)
		return st;
	if ((st = written(ctx, res, cur, out, deleted)) == DB_GONE)
		return PQnfields(res) > cur + 2 &&
		    strcmp(PQgetvalue(res, 0, cur + 2), "t") == 0 ?
		    DB_GONE : DB_STALE;
	if (st == DB_STALE && PQgetisnull(res, 0, cur + 1))
		return DB_CONFLICT;
	return st;
}

enum db_status
db_record_version(struct db_ctx *ctx, const struct db_table *t, int64_t id,
    int64_t version, struct db_row *out)
{
	struct args_in	 in = { .id = version, .scope = id };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, t->version, &in, &res)) != DB_OK)
		return st;
	return first_row(ctx, res, out);
}

enum db_status
db_list(struct db_ctx *ctx, const struct db_collection *c,
    const struct page_query *q, int64_t scope, struct db_page *pg)
{
	struct args_in	 in = { .scope = scope, .page = q, .like = c->like,
			    .prefix = c->prefix };
	struct db_stmt	*stmt;
	PGresult	*res;
	enum db_status	 st;
	int		 got, i;

	if (q->sort >= c->nsorts)
		return DB_ERROR;
	stmt = &c->list[q->sort * 2 + (q->desc != 0)];
	if ((st = exec_args(ctx, stmt, &in, &res)) != DB_OK)
		return st;
	got = PQntuples(res);
	if (c->flags & DB_SCOPED) {
		if (got == 0)
			return DB_NOTFOUND;
		/* The scope's row with nothing joined: an empty page. */
		if (got == 1 && PQgetisnull(res, 0, 0))
			got = 0;
	}
	pg->has_more = got > q->limit;
	if (pg->has_more)
		got = (int)q->limit;
	pg->n = (size_t)got;
	pg->rows = arena_alloc(ctx->arena, sizeof(*pg->rows) *
	    (size_t)(got + 1));
	for (i = 0; i < got; i++)
		db_row_of(ctx, res, i, &pg->rows[i]);
	pg->last_key = got > 0 ? db_text(res, got - 1, c->key_col[q->sort]) :
	    NULL;
	pg->last_id = got > 0 ? db_int(res, got - 1, 0) : 0;
	return DB_OK;
}

enum db_status
db_count(struct db_ctx *ctx, const struct db_collection *c,
    const struct page_query *q, int64_t scope, int64_t *total)
{
	struct args_in	 in = { .scope = scope, .page = q, .like = c->like,
			    .prefix = c->prefix };
	PGresult	*res;
	enum db_status	 st;

	if ((st = exec_args(ctx, c->count, &in, &res)) != DB_OK)
		return st;
	*total = db_int(res, 0, 0);
	return DB_OK;
}
