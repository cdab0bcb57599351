/*
 * Queries for idempotency keys; the claim itself is app_idempotency_claim()
 * in db/migrations/003_safe_retries.sql.
 */
#include "dbpriv.h"
#include "idempotency.h"

enum stmt {
	STMT_CLAIM,
	STMT_GET,
	STMT_FINISH,
	STMT__MAX
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_CLAIM] = { "idempotency_claim",
	    "SELECT app_idempotency_claim($1, $2)", 2, 0, NULL, 0 },
	/* pg_current_xact_id() makes this a transaction that commits, and
	 * a commit waits for the synchronous standby: a response is only
	 * replayed once the standby has it.  A primary that crashed and came
	 * back can hold a record it committed but never replicated (its
	 * client saw the connection break); replayed from there, it would be
	 * acknowledged and then lost when the standby takes over. */
	[STMT_GET] = { "idempotency_get",
	    "SELECT request_hash, status, body, location, etag, "
	    "pg_current_xact_id() "
	    "FROM idempotency_keys WHERE user_id = app_user_id() "
	    "AND key = $1 AND expires_at > now()", 1, 0, NULL, 0 },
	[STMT_FINISH] = { "idempotency_finish",
	    "UPDATE idempotency_keys SET status = $2, body = $3, "
	    "location = $4, etag = $5 "
	    "WHERE user_id = app_user_id() AND key = $1", 5, 0, NULL, 0 },
};

enum db_status
db_idempotency_claim(struct db_ctx *ctx, const char *key, const char *hash)
{
	const char	*params[] = { key, hash };
	PGresult	*res;
	enum db_status	 st;

	db_begin(ctx);
	if ((st = db_exec(ctx, &stmts[STMT_CLAIM], params, &res)) != DB_OK)
		db_rollback(ctx);
	return st;
}

enum db_status
db_idempotency_get(struct db_ctx *ctx, const char *key,
    struct idempotent_reply *out)
{
	const char	*params[] = { key };
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(ctx, &stmts[STMT_GET], params, &res)) != DB_OK)
		return st;
	/* Gone (expired, or its transaction rolled back) since the claim. */
	if (PQntuples(res) == 0 || db_text(res, 0, 1) == NULL)
		return DB_NOTFOUND;
	out->request_hash = db_text(res, 0, 0);
	out->status = (int)db_int(res, 0, 1);
	out->body = db_text(res, 0, 2);
	out->location = db_text(res, 0, 3);
	out->etag = db_text(res, 0, 4);
	return DB_OK;
}

enum db_status
db_idempotency_finish(struct db_ctx *ctx, const char *key,
    const struct idempotent_reply *reply)
{
	const char	*params[] = { key, db_i64(ctx, reply->status),
			    reply->body, reply->location, reply->etag };

	return db_commit_with(ctx, &stmts[STMT_FINISH], params);
}
