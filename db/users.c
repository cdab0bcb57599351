/*
 * Queries for users, token revocation and login throttling.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "dbpriv.h"
#include "req.h"
#include "users.h"

/*
 * Logout-all and a password change refuse every token issued up to now:
 * tokens_valid_after becomes now, or one second past its old value when a
 * token was issued in this very second after an earlier one (such a token
 * is dated tokens_valid_after + 1; see reply_token() in handlers/auth.c).
 *
 * The audit row of an account event: AUDIT_USER(head, action, tail) is an
 * INSERT whose source is head action tail, which supply the user id, the
 * action, the resource id (the user's) and the status.
 */
#define AUDIT_USER(head, action, tail)					\
	"INSERT INTO audit_events (user_id, action, resource_type, "	\
	"resource_id, status) " head action ", 'user', " tail

#define USER_COLS "id, name, email, password_hash, tokens_valid_after, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

enum stmt {
	STMT_USER_CREATE,
	STMT_USER_GET_BY_EMAIL,
	STMT_USER_GET,
	STMT_USER_REVOKE_TOKEN,
	STMT_USER_REVOKE_ALL,
	STMT_USER_SET_PASSWORD,
	STMT_LOGIN_ATTEMPT,
	STMT_LOGIN_FAILED,
	STMT_LOGIN_REFUSED,
	STMT_LOGIN_SUCCEEDED,
	STMT__MAX
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_USER_CREATE] = { "user_create",
	    "WITH u AS (INSERT INTO users (name, email, password_hash) "
	    "  VALUES ($1, $2, $3) RETURNING *), "
	    "audit AS (" AUDIT_USER("SELECT id, ", "'register'",
	    "id, 201 FROM u") ") SELECT " USER_COLS " FROM u", 3, 0, 0 },
	[STMT_USER_GET_BY_EMAIL] = { "user_get_by_email",
	    "SELECT " USER_COLS " FROM users WHERE lower(email) = $1", 1, 0, 0 },
	[STMT_USER_GET] = { "user_get",
	    "SELECT " USER_COLS " FROM users WHERE id = $1", 1, 0, 0 },
	[STMT_USER_REVOKE_TOKEN] = { "user_revoke_token",
	    "WITH expired AS (DELETE FROM revoked_tokens "
	    "WHERE expires_at < now()), "
	    "audit AS (" AUDIT_USER("VALUES ($1, ", "'logout'", "$1, 204)") ") "
	    "INSERT INTO revoked_tokens (jti, user_id, expires_at) "
	    "VALUES ($2, $1, to_timestamp($3)) ON CONFLICT (jti) DO NOTHING",
	    3, 0, 0 },
	[STMT_USER_REVOKE_ALL] = { "user_revoke_all",
	    "WITH audit AS (" AUDIT_USER("VALUES ($1, ", "'logout'",
	    "$1, 204)") ") "
	    "UPDATE users SET tokens_valid_after = "
	    "greatest(tokens_valid_after + 1, $2), keep_jti = NULL "
	    "WHERE id = $1", 2, 0, 0 },
	[STMT_USER_SET_PASSWORD] = { "user_set_password",
	    "WITH audit AS (" AUDIT_USER("VALUES ($1, ", "'password_change'",
	    "$1, 204)") "), "
	    "cleared AS (DELETE FROM login_failures "
	    "  WHERE email = $5 AND address = $6) "
	    "UPDATE users SET password_hash = $2, tokens_valid_after = "
	    "greatest(tokens_valid_after + 1, $3), keep_jti = $4, "
	    "updated_at = now() WHERE id = $1", 6, 0, 0 },
	/* Checks the windows and counts the attempt: 004_login_attempts.sql. */
	[STMT_LOGIN_ATTEMPT] = { "login_attempt",
	    "SELECT * FROM app_login_attempt($1, $2, $3, $4, $5, $6, $7)",
	    7, 0, 0 },
	[STMT_LOGIN_FAILED] = { "login_failed",
	    "WITH expired AS (DELETE FROM login_failures "
	    "  WHERE at < now() - make_interval(secs => $2)) "
	    "INSERT INTO audit_events (user_id, email, action, resource_type, "
	    "resource_id, status) "
	    "VALUES ($3, $1, 'login_failed', 'user', $3, 401)", 3, 0, 0 },
	[STMT_LOGIN_REFUSED] = { "login_refused",
	    "INSERT INTO audit_events (user_id, email, action, resource_type, "
	    "resource_id, status) "
	    "VALUES ($2, $1, 'login_failed', 'user', $2, 429)", 2, 0, 0 },
	[STMT_LOGIN_SUCCEEDED] = { "login_succeeded",
	    "WITH cleared AS (DELETE FROM login_failures "
	    "  WHERE email = $1 AND address = $2) "
	    AUDIT_USER("VALUES ($3, ", "'login'", "$3, 200)"), 3, 0, 0 },
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
}

/* Runs a statement that returns at most one user. */
static enum db_status
user_query(struct req *r, enum stmt s, const char *const *params,
    struct user *u)
{
	PGresult	*res;
	enum db_status	 st;

	if ((st = db_exec(r, &stmts[s], params, &res, NULL)) != DB_OK)
		return st;
	if (PQntuples(res) == 0)
		return DB_NOTFOUND;
	user_row(res, u);
	return DB_OK;
}

enum db_status
db_user_create(struct req *r, const char *name, const char *email,
    const char *hash, struct user *u)
{
	const char	*params[] = { name, email, hash };

	return user_query(r, STMT_USER_CREATE, params, u);
}

enum db_status
db_user_get_by_email(struct req *r, const char *email, struct user *u)
{
	const char	*params[] = { email };

	return user_query(r, STMT_USER_GET_BY_EMAIL, params, u);
}

enum db_status
db_user_get(struct req *r, int64_t id, struct user *u)
{
	const char	*params[] = { db_i64(r, id) };

	return user_query(r, STMT_USER_GET, params, u);
}

enum db_status
db_user_revoke_token(struct req *r, int64_t id, const char *jti,
    int64_t exp)
{
	const char	*params[] = { db_i64(r, id), jti, db_i64(r, exp) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_USER_REVOKE_TOKEN], params, &res, NULL);
}

enum db_status
db_user_revoke_all(struct req *r, int64_t id, int64_t now)
{
	const char	*params[] = { db_i64(r, id), db_i64(r, now) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_USER_REVOKE_ALL], params, &res, NULL);
}

enum db_status
db_user_set_password(struct req *r, int64_t id, const char *hash,
    int64_t now, const char *keep_jti, const char *email, const char *address)
{
	const char	*params[] = { db_i64(r, id), hash, db_i64(r, now),
			    keep_jti, email, address };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_USER_SET_PASSWORD], params, &res, NULL);
}

enum db_status
db_login_attempt(struct req *r, const char *email, const char *address,
    const struct conf *c, struct throttle *t)
{
	const char	*params[] = { email, address,
			    db_i64(r, c->throttle_window),
			    db_i64(r, c->throttle_account_window),
			    db_i64(r, c->throttle_pair_max),
			    db_i64(r, c->throttle_addr_max),
			    db_i64(r, c->throttle_account_max) };
	PGresult	*res;
	enum db_status	 st;
	int		 i;

	st = db_exec(r, &stmts[STMT_LOGIN_ATTEMPT], params, &res, NULL);
	if (st != DB_OK)
		return st;
	for (i = 0; i < 4; i++)
		if (db_text(res, 0, i) == NULL)
			t->v[i] = 0;
		else
			t->v[i] = db_int(res, 0, i);
	return DB_OK;
}

/* The user id as a parameter: NULL for an email no user has. */
static const char *
user_param(struct req *r, int64_t user_id)
{
	return user_id != 0 ? db_i64(r, user_id) : NULL;
}

enum db_status
db_login_failed(struct req *r, const char *email, int keep, int64_t user_id)
{
	const char	*params[] = { email, db_i64(r, keep),
			    user_param(r, user_id) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_LOGIN_FAILED], params, &res, NULL);
}

enum db_status
db_login_refused(struct req *r, const char *email, int64_t user_id)
{
	const char	*params[] = { email, user_param(r, user_id) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_LOGIN_REFUSED], params, &res, NULL);
}

enum db_status
db_login_succeeded(struct req *r, const char *email, const char *address,
    int64_t user_id)
{
	const char	*params[] = { email, address, db_i64(r, user_id) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_LOGIN_SUCCEEDED], params, &res, NULL);
}
