/*
 * Queries for users, token revocation and login throttling.
 */
#include <stdlib.h>
#include <string.h>

#include "dbpriv.h"
#include "req.h"
#include "users.h"

#define USER_COLS "id, name, email, password_hash, tokens_valid_after, " \
	DB_USEC("created_at") ", " DB_USEC("updated_at")

enum stmt {
	STMT_USER_CREATE,
	STMT_USER_GET_BY_EMAIL,
	STMT_USER_GET,
	STMT_USER_AUTH_CHECK,
	STMT_USER_REVOKE_TOKEN,
	STMT_USER_REVOKE_ALL,
	STMT_USER_SET_PASSWORD,
	STMT_LOGIN_THROTTLE,
	STMT_LOGIN_FAILED,
	STMT_LOGIN_SUCCEEDED,
	STMT__MAX
};

static struct db_stmt stmts[STMT__MAX] = {
	[STMT_USER_CREATE] = { "user_create",
	    "INSERT INTO users (name, email, password_hash) "
	    "VALUES ($1, $2, $3) RETURNING " USER_COLS, 3, 0, 0 },
	[STMT_USER_GET_BY_EMAIL] = { "user_get_by_email",
	    "SELECT " USER_COLS " FROM users WHERE lower(email) = $1", 1, 0, 0 },
	[STMT_USER_GET] = { "user_get",
	    "SELECT " USER_COLS " FROM users WHERE id = $1", 1, 0, 0 },
	[STMT_USER_AUTH_CHECK] = { "user_auth_check",
	    "SELECT 1 FROM users u WHERE u.id = $1 "
	    "AND ($3::bigint > u.tokens_valid_after OR u.keep_jti = $2) "
	    "AND NOT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = $2)",
	    3, 0, 0 },
	[STMT_USER_REVOKE_TOKEN] = { "user_revoke_token",
	    "WITH expired AS (DELETE FROM revoked_tokens "
	    "WHERE expires_at < now()) "
	    "INSERT INTO revoked_tokens (jti, user_id, expires_at) "
	    "VALUES ($2, $1, to_timestamp($3)) ON CONFLICT (jti) DO NOTHING",
	    3, 0, 0 },
	[STMT_USER_REVOKE_ALL] = { "user_revoke_all",
	    "UPDATE users SET tokens_valid_after = "
	    "greatest(tokens_valid_after, $2), keep_jti = NULL "
	    "WHERE id = $1", 2, 0, 0 },
	[STMT_USER_SET_PASSWORD] = { "user_set_password",
	    "UPDATE users SET password_hash = $2, tokens_valid_after = "
	    "greatest(tokens_valid_after, $3), keep_jti = $4, "
	    "updated_at = now() WHERE id = $1", 4, 0, 0 },
	[STMT_LOGIN_THROTTLE] = { "login_throttle",
	    "WITH pair AS (SELECT count(*) AS n, min(at) AS first "
	    "  FROM login_failures WHERE email = $1 AND address = $2 "
	    "  AND at > now() - make_interval(secs => $3)), "
	    "addr AS (SELECT count(DISTINCT email) AS n, min(at) AS first "
	    "  FROM login_failures WHERE address = $2 "
	    "  AND at > now() - make_interval(secs => $3)), "
	    "acct AS (SELECT count(*) AS n, min(at) AS first "
	    "  FROM login_failures WHERE email = $1 "
	    "  AND at > now() - make_interval(secs => $4)) "
	    "SELECT pair.n, coalesce(ceil(extract(epoch FROM pair.first "
	    "  + make_interval(secs => $3) - now())), 0)::bigint, "
	    "addr.n, coalesce(ceil(extract(epoch FROM addr.first "
	    "  + make_interval(secs => $3) - now())), 0)::bigint, "
	    "acct.n, coalesce(ceil(extract(epoch FROM acct.first "
	    "  + make_interval(secs => $4) - now())), 0)::bigint "
	    "FROM pair, addr, acct", 4, 0, 0 },
	[STMT_LOGIN_FAILED] = { "login_failed",
	    "WITH expired AS (DELETE FROM login_failures "
	    "WHERE at < now() - make_interval(secs => $3)) "
	    "INSERT INTO login_failures (email, address) VALUES ($1, $2)",
	    3, 0, 0 },
	[STMT_LOGIN_SUCCEEDED] = { "login_succeeded",
	    "DELETE FROM login_failures WHERE email = $1 AND address = $2",
	    2, 0, 0 },
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
db_user_auth_check(struct req *r, int64_t id, const char *jti, int64_t iat)
{
	const char	*params[] = { db_i64(r, id), jti, db_i64(r, iat) };
	PGresult	*res;
	enum db_status	 st;

	st = db_exec(r, &stmts[STMT_USER_AUTH_CHECK], params, &res, NULL);
	if (st != DB_OK)
		return st;
	return PQntuples(res) == 1 ? DB_OK : DB_NOTFOUND;
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
    int64_t now, const char *keep_jti)
{
	const char	*params[] = { db_i64(r, id), hash, db_i64(r, now),
			    keep_jti };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_USER_SET_PASSWORD], params, &res, NULL);
}

enum db_status
db_login_throttle(struct req *r, const char *email, const char *address,
    int window, int account_window, struct throttle *t)
{
	const char	*params[] = { email, address, db_i64(r, window),
			    db_i64(r, account_window) };
	PGresult	*res;
	enum db_status	 st;

	st = db_exec(r, &stmts[STMT_LOGIN_THROTTLE], params, &res, NULL);
	if (st != DB_OK)
		return st;
	t->pair = db_int(res, 0, 0);
	t->pair_retry = db_int(res, 0, 1);
	t->address = db_int(res, 0, 2);
	t->address_retry = db_int(res, 0, 3);
	t->account = db_int(res, 0, 4);
	t->account_retry = db_int(res, 0, 5);
	return DB_OK;
}

enum db_status
db_login_failed(struct req *r, const char *email, const char *address,
    int keep)
{
	const char	*params[] = { email, address, db_i64(r, keep) };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_LOGIN_FAILED], params, &res, NULL);
}

enum db_status
db_login_succeeded(struct req *r, const char *email, const char *address)
{
	const char	*params[] = { email, address };
	PGresult	*res;

	return db_exec(r, &stmts[STMT_LOGIN_SUCCEEDED], params, &res, NULL);
}
