/*
 * What the files of db/ share and nothing else sees: the statement table
 * entry, the one function that runs a statement, and the helpers that turn
 * typed arguments into text parameters and results into rows.  Only db/
 * includes libpq.
 */
#ifndef DBPRIV_H
#define DBPRIV_H

#include <libpq-fe.h>

#include "db.h"

#define DB_PARAMS_MAX	16
#define DB_NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * DB_PER_CALL: planned with its parameters on every call (an unnamed
 * statement).  Lists need this: their optional filters and cursor bound are
 * "$n IS NULL OR ..." terms that only a plan made for the actual values
 * turns into an index range; a generic plan would scan.
 * DB_READ: changes nothing but its audit row, so the operator may let its
 * transaction commit asynchronously (AUDIT_READ_SYNC=off).
 */
#define DB_PER_CALL	0x01
#define DB_READ		0x02

/*
 * A statement of some file's table (openradtool's stmts[STMT__MAX]).  The
 * SQL is written out once here so that the benchmark's pgbench files can be
 * checked against it (bench/check-sql).  args says what its parameters
 * are, one letter each in $1, $2, ... order, for the statements that
 * db/record.c runs (see args() there); NULL for the others, whose callers
 * pass their own nparams values.
 */
struct db_stmt {
	const char	*name;		/* prepared statement name, unique */
	const char	*sql;
	int		 nparams;
	unsigned	 flags;
	const char	*args;
	unsigned	 prepared_on;	/* connection generation, 0: never */
};

/*
 * Runs st with text parameters (NULL for SQL NULL).  On DB_OK *res holds
 * the result, freed with the context's arena.  Constraint violations map
 * to DB_CONFLICT; a broken connection to DB_UNAVAILABLE (and it is reset
 * for the next query); other errors are logged with the request id and
 * give DB_ERROR.
 */
enum db_status	db_exec(struct db_ctx *, struct db_stmt *, const char *const *,
		    PGresult **res);

/*
 * Ends the transaction of db_begin: runs st (may be NULL) and COMMIT in
 * one round trip, or, after a failed statement, rolls back and says
 * DB_ERROR.
 */
enum db_status	db_commit_with(struct db_ctx *, struct db_stmt *,
		    const char *const *);

/* An int64 as a text parameter, in the context's arena. */
const char	*db_i64(struct db_ctx *, int64_t);
/* The parameters $1, the acting user, and $2, id, in the arena. */
const char *const *db_owner_and(struct db_ctx *, int64_t id);
/* A boolean parameter. */
const char	*db_bool(int);
/* Versions as a bigint[] literal ("{3,4}"), NULL when none were named. */
const char	*db_versions(struct db_ctx *, const struct db_versions *);
/* "%q%" for ILIKE with q's own %, _ and \ escaped, or "q%" unless
 * anywhere; NULL for NULL. */
const char	*db_like(struct db_ctx *, const char *q, int anywhere);

/*
 * A timestamptz column as microseconds since the epoch, for json_time();
 * the SELECT lists use this so that formatting happens in C, after LIMIT.
 */
#define DB_USEC(col)	"(extract(epoch FROM " col ") * 1000000)::bigint"

/*
 * The keyset condition of one sort of a list: DB_AFTER_xxx expands to the
 * comparison of the sort key and id with the cursor's ($3 key, $4 id),
 * for the WHERE clause of a statement ordered by the same key and id.
 * $3 is NULL on a page that is not reached by a cursor.  Every list
 * statement has its page in $3 to $6 (key, id, limit, offset); see
 * db/record.c.
 */
#define DB_AFTER_ID(op)		"($3::text IS NULL OR id " op " $4::bigint)"
#define DB_AFTER_TEXT(col, op)	"($3::text IS NULL OR (" col ", id) " op \
				" ($3::text, $4::bigint))"
#define DB_AFTER_TIME(col, op)	"($3::text IS NULL OR (" col ", id) " op \
				" (timestamptz 'epoch' + $3::bigint * " \
				"interval '1 microsecond', $4::bigint))"

/*
 * The two list statements of one sort, ascending then descending, as
 * struct db_collection wants them: LIST(after, order) is the resource's
 * macro that makes a list statement from a keyset condition and an ORDER
 * BY; the names are name and name "_desc".  DB_LIST_BY_ID for the id sort,
 * DB_LIST_BY for a column whose DB_AFTER_TEXT or DB_AFTER_TIME is after.
 */
#define DB_LIST_BY_ID(name, LIST, n, flags, args)			\
	{ name, LIST(DB_AFTER_ID(">"), "id"), n, flags, args, 0 },	\
	{ name "_desc", LIST(DB_AFTER_ID("<"), "id DESC"), n, flags, args, 0 }
#define DB_LIST_BY(name, LIST, after, col, n, flags, args)		\
	{ name, LIST(after(col, ">"), col ", id"), n, flags, args, 0 },	\
	{ name "_desc", LIST(after(col, "<"), col " DESC, id DESC"), n,	\
	    flags, args, 0 }

/* Accessors that keep PQgetvalue's conventions in one place. */
const char	*db_text(PGresult *, int row, int col);	/* NULL for NULL */
int64_t		 db_int(PGresult *, int row, int col);
struct db_row;

/*
 * Calls fn with each row of st (a SELECT), in the open transaction of
 * db_begin; fn returns 0 to go on, -1 to stop (which fails the
 * transaction).  The row is fn's only for that call.
 */
enum db_status	db_each(struct db_ctx *, struct db_stmt *, const char *const *,
		    int (*fn)(void *, const struct db_row *), void *arg);

/* Row i of res as a struct db_row, its cells in the context's arena. */
void		 db_row_of(struct db_ctx *, PGresult *, int i,
		    struct db_row *);

#endif
