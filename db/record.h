/*
 * Records and collections as data.  A record table (patients, doctors) is
 * its statements and the shape of its rows; a collection (any list the API
 * pages) is its count and list statements, one pair of the latter per sort.
 * db/record.c runs them all the same way, so a new resource is a table
 * here, its SQL and its tests.  Rows come back as text cells, column by
 * column, which the handlers write as JSON from a table of their own.
 */
#ifndef DB_RECORD_H
#define DB_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "page.h"

struct db_stmt;

/* A row: cell[c] is column c as text, NULL for SQL NULL. */
struct db_row {
	const char *const	*cell;
};

/* The cell of column c as an integer (0 for NULL). */
int64_t		db_cell_int(const struct db_row *, size_t c);

/* One page of a collection, as db_list() returns it. */
struct db_page {
	size_t		 n;
	struct db_row	*rows;
	int		 has_more;	/* another page follows */
	const char	*last_key;	/* the last row's sort key and id, */
	int64_t		 last_id;	/* for the next cursor */
};

/*
 * A collection's rows come from its list statements: list[2 * sort] in
 * ascending order, list[2 * sort + 1] descending.  key_col[sort] is the
 * column of the sort's key in a row.  With DB_SCOPED, the collection is
 * that of one record (a patient's doctors), whose absence the statement
 * says with no row at all, and whose empty page with one row of NULLs.
 * like says, bit i, that filter i matches part of a name (ILIKE), and
 * prefix that it matches the start of one (its SQL puts a word before).
 */
#define DB_SCOPED	0x01

struct db_collection {
	struct db_stmt		*count;
	struct db_stmt		*list;
	const int		*key_col;
	size_t			 nsorts;
	size_t			 nfilters;
	unsigned		 like;
	unsigned		 prefix;
	unsigned		 flags;
};

/*
 * A record table: rows of ncols columns, the id first and the writable
 * fields in columns 1 to nfields; version_col holds the version and
 * deleted_col when the record was deleted (NULL while it is not).
 * history is the collection of its versions (DB_SCOPED by the record),
 * version the statement that reads one.
 */
struct db_table {
	size_t			 ncols;
	size_t			 nfields;
	size_t			 version_col;
	size_t			 deleted_col;
	struct db_stmt		*create;
	struct db_stmt		*get;
	struct db_stmt		*update;
	struct db_stmt		*remove;
	struct db_stmt		*restore;
	const struct db_collection *list;
	const struct db_collection *history;
	struct db_stmt		*version;
};

/*
 * The columns of a version's row (history): what the write was, when and
 * by whom, then from HISTORY_RECORD on the record as the write left it, in
 * the columns of the table's rows.
 */
enum history_col {
	HISTORY_VERSION,
	HISTORY_OP,		/* create, update, delete, restore */
	HISTORY_AT,		/* microseconds since the epoch */
	HISTORY_BY,		/* the user who wrote it */
	HISTORY_RECORD
};

#define DB_FIELDS_MAX	8

/*
 * What a write sets, field by field: value[i] is text or NULL (SQL NULL);
 * set[i] says whether an update changes field i (PATCH).
 */
struct db_write {
	const char	*value[DB_FIELDS_MAX];
	int		 set[DB_FIELDS_MAX];
};

/* Inserts a record made by the acting user; *out gets the new row. */
enum db_status	db_record_create(struct db_ctx *, const struct db_table *,
		    const struct db_write *, struct db_row *out);
/*
 * The record id, or DB_NOTFOUND; DB_GONE, with *out, when it is deleted.
 * known: the versions the caller already has (If-None-Match), which the
 * audit row of a read compares with the record's.
 */
enum db_status	db_record_get(struct db_ctx *, const struct db_table *,
		    int64_t id, const struct db_versions *known,
		    struct db_row *out);
/*
 * Sets the fields w says and bumps the version, when the record has one
 * of the versions match names (any, when it names none).  DB_STALE when it
 * has another (nothing changed), DB_NOTFOUND when there is no such record,
 * DB_GONE when it is deleted (*deleted: when, in microseconds).
 */
enum db_status	db_record_update(struct db_ctx *, const struct db_table *,
		    int64_t id, const struct db_write *,
		    const struct db_versions *match, struct db_row *out,
		    int64_t *deleted);
/* Marks the record deleted, as a new version, with db_record_update's
 * rules. */
enum db_status	db_record_delete(struct db_ctx *, const struct db_table *,
		    int64_t id, const struct db_versions *match,
		    int64_t *deleted);
/*
 * Brings a deleted record back as a new version, with db_record_update's
 * rule for match, when it was deleted less than ctx->restore_days ago;
 * DB_GONE (*deleted) when longer ago, DB_CONFLICT when it is not deleted.
 */
enum db_status	db_record_restore(struct db_ctx *, const struct db_table *,
		    int64_t id, const struct db_versions *match,
		    struct db_row *out, int64_t *deleted);
/* Version version of record id (enum history_col), or DB_NOTFOUND. */
enum db_status	db_record_version(struct db_ctx *, const struct db_table *,
		    int64_t id, int64_t version, struct db_row *out);

/*
 * One page of collection c, as q asks (scope: the record a DB_SCOPED
 * collection belongs to, else 0).  DB_NOTFOUND when a scoped collection's
 * record is not there.
 */
enum db_status	db_list(struct db_ctx *, const struct db_collection *,
		    const struct page_query *, int64_t scope, struct db_page *);
/* The number of rows q's filters match (Prefer: count=exact). */
enum db_status	db_count(struct db_ctx *, const struct db_collection *,
		    const struct page_query *, int64_t scope, int64_t *total);

#endif
