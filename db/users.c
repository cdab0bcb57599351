/*
 * Queries for users, token revocation and login throttling.
 */
#include <stdlib.h>

#include "conf.h"
#include "dbpriv.h"
#include "users.h"

/*
 * Logout-all and a password change refuse every token issued up to now:
 * tokens_valid_after becomes now, or one second past its old value when a
 * token was issued in this very second after an earlier one (such a token
 * is dated tokens_valid_after + 1; see reply_token() in handlers/auth.c).
 * Now is the database's clock, which dates tokens too (USER_COLS' last
 * column), so that pools on hosts whose clocks differ agree on which
 * tokens came before a revocation.
 *
 * The audit row of an account event: AUDIT_USER(head, action, tail) is an
 * INSERT whose source is head action tail, which supply the user id, the
 * action, the resource id (the user's) and the outcome.
 */
#define AUDIT_USER(head, action, tail)					\
	"INSERT INTO audit_events (user_id, action, resource_type, "	\
	"resource_id, outcome) " head action ", 'user', " tail

#define DB_NOW	"extract(epoch FROM now())::bigint"

#define USER_COLS "id, name, email, password_hash, tokens_valid_after, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at") ", " DB_NOW

/* The revocation of every token so far, as tokens_valid_after's value. */
#define REVOKE_ALL	"greatest(tokens_valid_after + 1, " DB_NOW ")"

enum stmt {
	STMT_USER_CREATE,
	STMT_USER_GET_BY_EMAIL,
	STMT_USER_GET,
	STMT_USER_REVOKE_TOKEN,
	STMT_USER_REVOKE_ALL,
	STMT_USER_SET_PASSWORD,
	STMT_USER_REHASH,
	STMT_LOGIN_ATTEMPT,
	STMT_LOGIN_FAILED,
	STMT_LOGIN_REFUSED,
	STMT_LOGIN_SUCCEEDED,
	STMT_REGISTER_ATTEMPT,
	STMT__MAX
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_USER_CREATE] = { "user_create",
	    "WITH u AS (INSERT INTO users (name, email, password_hash) "
	    "  VALUES ($1, $2, $3) RETURNING *), "
	    "audit AS (" AUDIT_USER("SELECT id, ", "'register'",
	    "id, 'created' FROM u") ") SELECT " USER_COLS " FROM u", 3, 0,
	    NULL, 0 },
	[STMT_USER_GET_BY_EMAIL] = { "user_get_by_email",
	    "SELECT " USER_COLS " FROM users WHERE lower(email) = $1", 1, 0,
	    NULL, 0 },
	[STMT_USER_GET] = { "user_get",
	    "SELECT " USER_COLS " FROM users WHERE id = $1", 1, 0, NULL, 0 },
	[STMT_USER_REVOKE_TOKEN] = { "user_revoke_token",
	    "WITH expired AS (DELETE FROM revoked_tokens "
	    "WHERE expires_at < now()), "
	    "audit AS (" AUDIT_USER("VALUES ($1, ", "'logout'", "$1, 'revoked')")
	    ") INSERT INTO revoked_tokens (jti, user_id, expires_at) "
	    "VALUES ($2, $1, to_timestamp($3)) ON CONFLICT (jti) DO NOTHING",
	    3, 0, NULL, 0 },
	[STMT_USER_REVOKE_ALL] = { "user_revoke_all",
	    "WITH audit AS (" AUDIT_USER("VALUES ($1, ", "'logout'",
	    "$1, 'revoked')") ") "
	    "UPDATE users SET tokens_valid_after = " REVOKE_ALL ", "
	    "keep_jti = NULL WHERE id = $1", 1, 0, NULL, 0 },
	[STMT_USER_SET_PASSWORD] = { "user_set_password",
	    "WITH audit AS (" AUDIT_USER("VALUES ($1, ", "'password_change'",
	    "$1, 'changed')") "), "
	    "cleared AS (DELETE FROM login_failures "
	    "  WHERE email = $4 AND address = app_address_key($5)) "
	    "UPDATE users SET password_hash = $2, tokens_valid_after = "
	    REVOKE_ALL ", keep_jti = $3, updated_at = now() WHERE id = $1",
	    5, 0, NULL, 0 },
	/* A hash made again at the configured cost, after a right password. */
	[STMT_USER_REHASH] = { "user_rehash",
	    "SELECT app_password_rehash($1, $2, $3)", 3, 0, NULL, 0 },
	/* Checks the windows and counts the attempt: 006_hostile_clients.sql. */
	[STMT_LOGIN_ATTEMPT] = { "login_attempt",
	    "SELECT * FROM app_login_attempt($1, $2, $3, $4, $5, $6, $7)",
	    7, 0, NULL, 0 },
	[STMT_LOGIN_FAILED] = { "login_failed",
	    "WITH expired AS (DELETE FROM login_failures "
	    "  WHERE at < now() - make_interval(secs => $2)) "
	    "INSERT INTO audit_events (user_id, email, action, resource_type, "
	    "resource_id, outcome) "
	    "VALUES ($3, $1, 'login_failed', 'user', $3, 'denied')", 3, 0,
	    NULL, 0 },
	[STMT_LOGIN_REFUSED] = { "login_refused",
	    "INSERT INTO audit_events (user_id, email, action, resource_type, "
	    "resource_id, outcome) "
	    "VALUES ($2, $1, 'login_failed', 'user', $2, 'throttled')", 2, 0,
	    NULL, 0 },
	/* The subquery runs app_login_succeeded() once, for the row. */
	[STMT_LOGIN_SUCCEEDED] = { "login_succeeded",
	    AUDIT_USER("SELECT $3, ", "'login'", "$3, 'granted' FROM "
	    "(SELECT app_login_succeeded($1, $2, $3)) s"), 3, 0, NULL, 0 },
	[STMT_REGISTER_ATTEMPT] = { "register_attempt",
	    "SELECT app_register_attempt($1, $2, $3)", 3, 0, NULL, 0 },
};

static void
user_row(PGresult *res, struct user *u)
{
	u->id = db_int(res, 0, 0);
	u->name = db_text(res, 0, 1);
	u->email = db_text(res, 0, 2);
	u->password_hash = db_text(res, 0, 3);
	u->tokens_valid_after = db_int(res, 0, 4);
	u->created_at = db_int(res, 0, 5);
	u->updated_at = db_int(res, 0, 6);
	u->db_now = db_int(res, 0, 7);
}

/* Runs a statement that returns at most one user. */
static enum db_status
user_query(struct db_ctx *ctx, enum stmt s, const char *const *params,
    struct user *u)
{
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(ctx, &stmts[s], params, &res)) != DB_OK)
		return st;
	if (PQntuples(res) == 0)
		return DB_NOTFOUND;
	user_row(res, u);
	return DB_OK;
}

/* Runs a statement whose result is only its status. */
static enum db_status
command(struct db_ctx *ctx, enum stmt s, const char *const *params)
{
	PGresult	*res;

	return db_exec(ctx, &stmts[s], params, &res);
}

enum db_status
db_user_create(struct db_ctx *ctx, const char *name, const char *email,
    const char *hash, struct user *u)
{
	const char	*params[] = { name, email, hash };

	return user_query(ctx, STMT_USER_CREATE, params, u);
}

enum db_status
db_user_get_by_email(struct db_ctx *ctx, const char *email, struct user *u)
{
	const char	*params[] = { email };

	return user_query(ctx, STMT_USER_GET_BY_EMAIL, params, u);
}

enum db_status
db_user_get(struct db_ctx *ctx, struct user *u)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id) };

	return user_query(ctx, STMT_USER_GET, params, u);
}

enum db_status
db_user_revoke_token(struct db_ctx *ctx, int64_t exp)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id), ctx->jti,
			    db_i64(ctx, exp) };

	return command(ctx, STMT_USER_REVOKE_TOKEN, params);
}

enum db_status
db_user_revoke_all(struct db_ctx *ctx)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id) };

	return command(ctx, STMT_USER_REVOKE_ALL, params);
}

enum db_status
db_user_set_password(struct db_ctx *ctx, const char *hash,
    const char *email)
{
	const char	*params[] = { db_i64(ctx, ctx->user_id), hash,
			    ctx->jti, email, ctx->client_address };

	return command(ctx, STMT_USER_SET_PASSWORD, params);
}

enum db_status
db_login_attempt(struct db_ctx *ctx, const char *email,
    const struct conf *c, struct throttle *t)
{
	const char	*params[] = { email, ctx->client_address,
			    db_i64(ctx, c->throttle_window),
			    db_i64(ctx, c->throttle_account_window),
			    db_i64(ctx, c->throttle_pair_max),
			    db_i64(ctx, c->throttle_addr_max),
			    db_i64(ctx, c->throttle_account_max) };
	PGresult	*res;
	enum db_status	 st;
	int		 i;

	st = db_exec(ctx, &stmts[STMT_LOGIN_ATTEMPT], params, &res);
	if (st != DB_OK)
		return st;
	for (i = 0; i < 4; i++)
		t->v[i] = db_text(res, 0, i) != NULL ? db_int(res, 0, i) : 0;
	t->trusted = db_text(res, 0, 4) != NULL &&
	    *db_text(res, 0, 4) == 't';
	return DB_OK;
}

/* The user id as a parameter: NULL for an email no user has. */
static const char *
user_param(struct db_ctx *ctx, int64_t user_id)
{
	return user_id != 0 ? db_i64(ctx, user_id) : NULL;
}

enum db_status
db_login_failed(struct db_ctx *ctx, const char *email, int keep,
    int64_t user_id)
{
	const char	*params[] = { email, db_i64(ctx, keep),
			    user_param(ctx, user_id) };

	return command(ctx, STMT_LOGIN_FAILED, params);
}

enum db_status
db_login_refused(struct db_ctx *ctx, const char *email, int64_t user_id)
{
	const char	*params[] = { email, user_param(ctx, user_id) };

	return command(ctx, STMT_LOGIN_REFUSED, params);
}

enum db_status
db_login_succeeded(struct db_ctx *ctx, const char *email, int64_t user_id)
{
	const char	*params[] = { email, ctx->client_address,
			    db_i64(ctx, user_id) };

	return command(ctx, STMT_LOGIN_SUCCEEDED, params);
}

enum db_status
db_user_rehash(struct db_ctx *ctx, int64_t user_id, const char *old,
    const char *hash)
{
	const char	*params[] = { db_i64(ctx, user_id), old, hash };

	return command(ctx, STMT_USER_REHASH, params);
}

enum db_status
db_register_attempt(struct db_ctx *ctx, int window, int max,
    int64_t *retry)
{
	const char	*params[] = { ctx->client_address, db_i64(ctx, window),
			    db_i64(ctx, max) };
	PGresult	*res;
	enum db_status	 st;

	st = db_exec(ctx, &stmts[STMT_REGISTER_ATTEMPT], params, &res);
	if (st != DB_OK)
		return st;
	*retry = db_text(res, 0, 0) != NULL ? db_int(res, 0, 0) : 0;
	return DB_OK;
}
