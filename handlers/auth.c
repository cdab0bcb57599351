/*
 * Authentication: registration, login with throttling, the current user,
 * logout, logout-all and password change (API.md "Authentication"), and
 * auth_require(), which the worker runs before every protected route.
 *
 * Tokens are HS256 JWTs (jwt.c).  Revocation lives in PostgreSQL: logout
 * revokes one jti; logout-all and a password change refuse every token
 * issued up to that second (users.tokens_valid_after), except, for a
 * password change, the token that made it.
 */
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "handlers.h"
#include "json.h"
#include "jwt.h"
#include "log.h"
#include "password.h"
#include "req.h"
#include "users.h"
#include "valid.h"

#define CLOCK_LEEWAY	60	/* seconds of skew allowed on iat and nbf */

const struct field_spec register_fields[] = {
	{ "name",	F_STRING,	1, 100,	F_REQUIRED, NULL },
	{ "email",	F_EMAIL,	0, 254,	F_REQUIRED, NULL },
	{ "password",	F_PASSWORD,	8, 72,	F_REQUIRED, NULL },
};
enum { REG_NAME, REG_EMAIL, REG_PASSWORD };

/* Login takes any password up to a sane size: the rules are for new ones,
 * and a long wrong one must fail like any other wrong one. */
const struct field_spec login_fields[] = {
	{ "email",	F_EMAIL,	0, 254,	F_REQUIRED, NULL },
	{ "password",	F_PASSWORD,	1, 1024, F_REQUIRED, NULL },
};
enum { LOGIN_EMAIL, LOGIN_PASSWORD };

const struct field_spec password_fields[] = {
	{ "currentPassword", F_PASSWORD, 1, 1024, F_REQUIRED, NULL },
	{ "newPassword",     F_PASSWORD, 8, 72,	  F_REQUIRED, NULL },
};
enum { PW_CURRENT, PW_NEW };

/* A 401 with the WWW-Authenticate header RFC 6750 asks for. */
static int
unauthorized(struct req *r, int token_sent, const char *detail)
{
	if (token_sent)
		resp_header(r, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
	else
		resp_header(r, "WWW-Authenticate", "Bearer");
	return problem(r, 401, "%s", detail);
}


static void
user_json(struct buf *b, const struct user *u)
{
	buf_puts(b, "{\"id\":");
	json_int(b, u->id);
	json_key(b, "name", 0);
	json_cstr(b, u->name);
	json_key(b, "email", 0);
	json_cstr(b, u->email);
	json_key(b, "createdAt", 0);
	json_time(b, u->created_at);
	json_key(b, "updatedAt", 0);
	json_time(b, u->updated_at);
	buf_putc(b, '}');
}

/*
 * Hashes a new password at BCRYPT_COST into hash.  Returns 0, or logs the
 * failure and sets the 500.
 */
static int
new_hash(struct req *r, const struct field_value *pw,
    char hash[PASSWORD_HASH_MAX])
{
	if (password_hash(pw->s, pw->len, r->conf->bcrypt_cost, hash) == 0)
		return 0;
	log_msg(r->id, "error", "password hashing failed");
	return problem(r, 500, NULL);
}

/* Issues a token for u and answers with the register/login shape. */
static int
reply_token(struct req *r, int status, const struct user *u)
{
	const struct conf	*c = r->conf;
	struct jwt_claims	 claims;
	char			*token;

	memset(&claims, 0, sizeof(claims));
	claims.sub = u->id;
	/*
	 * Dated by the database's clock, which revocations use too, so that
	 * pools on hosts whose clocks differ agree on what came first.  A
	 * token issued in the same second as a logout-all would be refused by
	 * it (iat <= tokens_valid_after): date it one second later, which
	 * every verifier takes within its clock leeway.
	 */
	claims.iat = u->db_now > u->tokens_valid_after ? u->db_now :
	    u->tokens_valid_after + 1;
	claims.exp = claims.iat + c->jwt_ttl;
	if (jwt_new_jti(claims.jti) == -1) {
		log_msg(r->id, "error", "no random bytes for a token id");
		return problem(r, 500, NULL);
	}
	token = jwt_sign(r->arena, c->jwt_secret, c->jwt_secret_len, &claims);

	buf_puts(&r->out, "{\"user\":");
	user_json(&r->out, u);
	json_key(&r->out, "token", 0);
	json_cstr(&r->out, token);
	json_key(&r->out, "tokenType", 0);
	json_cstr(&r->out, "Bearer");
	json_key(&r->out, "expiresIn", 0);
	json_int(&r->out, c->jwt_ttl);
	buf_putc(&r->out, '}');
	return reply_json(r, status);
}

int
auth_require(struct req *r)
{
	static const char *const why[JWT_STATUS__MAX] = {
		[JWT_MALFORMED] = "the token is malformed",
		[JWT_BAD_SIGNATURE] = "the token's signature is not valid",
		[JWT_EXPIRED] = "the token has expired",
		[JWT_NOT_YET_VALID] = "the token is not valid yet",
	};
	const char	*h, *tok;
	size_t		 len;
	enum jwt_status	 js;

	if ((h = req_param(r, "HTTP_AUTHORIZATION")) == NULL || *h == '\0')
		return unauthorized(r, 0, "this route needs a bearer token");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(r, 1, "use Authorization: Bearer <token>");
	for (tok = h + 7; *tok == ' '; tok++)
		continue;
	len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	js = jwt_verify(tok, len, r->conf->jwt_secret, r->conf->jwt_secret_len,
	    r->now, CLOCK_LEEWAY, &r->claims);
	if (js != JWT_OK)
		return unauthorized(r, 1, why[js]);
	/*
	 * That the user exists and has not revoked the token is checked by
	 * the database at the start of each of the request's transactions,
	 * in the same round trip as the handler's statement (app_begin in
	 * db/migrations/002_security.sql); a refusal comes back as
	 * DB_UNAUTHORIZED, which reply_db() answers with a 401.
	 */
	r->user_id = r->claims.sub;
	return 0;
}

/* The answer when the budget of password work for new clients is spent. */
static int
busy(struct req *r)
{
	resp_header(r, "Retry-After", "1");
	return problem(r, 503, "too many passwords are being checked at once: "
	    "try again in a second");
}

/*
 * Each registration costs a bcrypt hash, so it comes last: after the
 * network's registration window, after the email is found free, and only
 * while the budget of password work for new clients lasts (README,
 * Security).
 */
int
auth_register(struct req *r)
{
	const struct conf	*c = r->conf;
	struct field_value	 v[NELEMS(register_fields)];
	struct user		 u;
	char			 hash[PASSWORD_HASH_MAX];
	enum db_status		 st;
	int64_t			 retry;
	int			 rc;

	if ((rc = body_fields(r, register_fields, NELEMS(register_fields),
	    VALID_CREATE, v)))
		return rc;
	st = db_register_attempt(req_db(r), c->register_window,
	    c->register_max, &retry);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	if (retry > 0) {
		resp_header(r, "Retry-After", "%lld", (long long)retry);
		return problem(r, 429, "too many registrations from this "
		    "network, try again later");
	}
	if ((st = db_user_get_by_email(req_db(r), v[REG_EMAIL].s, &u)) ==
	    DB_OK)
		st = DB_CONFLICT;
	if (st != DB_NOTFOUND)
		return reply_db(r, st, "user", 0, "a user with this email "
		    "already exists");
	if (!password_budget_take())
		return busy(r);
	if ((rc = new_hash(r, &v[REG_PASSWORD], hash)))
		return rc;
	st = db_user_create(req_db(r), v[REG_NAME].s, v[REG_EMAIL].s, hash,
	    &u);
	explicit_bzero(hash, sizeof(hash));
	if (st != DB_OK)
		return reply_db(r, st, "user", 0, "a user with this email "
		    "already exists");
	resp_header(r, "Location", "/api/auth/me");
	return reply_token(r, 201, &u);
}

/*
 * Applies the three throttle windows of API.md to email from r's network
 * (the account's window only when the account has not logged in from
 * there: see app_login_attempt).  Returns 0 when the attempt may go ahead,
 * counted as a failure until the password proves right, with *trusted
 * saying whether the account knows the network; else the status it set
 * (429 with Retry-After, or 503).  A refused attempt is audited as a
 * failed login.
 */
static int
throttle(struct req *r, const char *email, int *trusted)
{
	struct throttle	 t;
	int64_t		 retry = 0;
	enum db_status	 st;
	int		 i;

	st = db_login_attempt(req_db(r), email, r->conf, &t);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	*trusted = t.trusted;
	/* The wait is that of the longest window that is full. */
	for (i = THROTTLE_PAIR; i <= THROTTLE_ACCOUNT; i++)
		if (t.v[i] > retry)
			retry = t.v[i];
	if (retry == 0)
		return 0;
	st = db_login_refused(req_db(r), email, t.v[THROTTLE_USER_ID]);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	resp_header(r, "Retry-After", "%lld", (long long)retry);
	return problem(r, 429, "too many failed logins, try again later");
}

/* Audits a failed password check for email (of user_id, or 0). */
static int
login_failed(struct req *r, const char *email, int64_t user_id)
{
	const struct conf	*c = r->conf;
	enum db_status		 st;
	int			 keep;

	keep = c->throttle_window > c->throttle_account_window ?
	    c->throttle_window : c->throttle_account_window;
	st = db_login_failed(req_db(r), email, keep, user_id);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	return 0;
}

/*
 * Makes the hash of a password that was found right again when it was made
 * at another cost than BCRYPT_COST, so that every known email soon takes
 * as long as the dummy hash of unknown ones.  A failure only waits for the
 * next login.
 */
static void
rehash(struct req *r, const struct user *u, const struct field_value *pw)
{
	char	 hash[PASSWORD_HASH_MAX];

	if (password_cost(u->password_hash) == r->conf->bcrypt_cost ||
	    password_hash(pw->s, pw->len, r->conf->bcrypt_cost, hash) == -1)
		return;
	(void)db_user_rehash(req_db(r), u->id, u->password_hash, hash);
	explicit_bzero(hash, sizeof(hash));
}

int
auth_login(struct req *r)
{
	struct field_value	 v[NELEMS(login_fields)];
	struct user		 u;
	enum db_status		 st;
	int			 rc, match, trusted;

	if ((rc = body_fields(r, login_fields, NELEMS(login_fields),
	    VALID_CREATE, v)))
		return rc;
	if ((rc = throttle(r, v[LOGIN_EMAIL].s, &trusted)))
		return rc;
	/* An account's owner, from a network they logged in from before,
	 * is not kept waiting by strangers' work. */
	if (!trusted && !password_budget_take())
		return busy(r);
	st = db_user_get_by_email(req_db(r), v[LOGIN_EMAIL].s, &u);
	if (st != DB_OK && st != DB_NOTFOUND)
		return reply_db(r, st, NULL, 0, NULL);
	/* Verify against a dummy hash so unknown emails take as long as
	 * wrong passwords. */
	match = password_verify(v[LOGIN_PASSWORD].s, v[LOGIN_PASSWORD].len,
	    st == DB_OK ? u.password_hash : NULL, r->conf->bcrypt_cost);
	if (!match) {
		if ((rc = login_failed(r, v[LOGIN_EMAIL].s,
		    st == DB_OK ? u.id : 0)))
			return rc;
		return problem(r, 401, "the email or password is wrong");
	}
	st = db_login_succeeded(req_db(r), v[LOGIN_EMAIL].s, u.id);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	rehash(r, &u, &v[LOGIN_PASSWORD]);
	return reply_token(r, 200, &u);
}

int
auth_me(struct req *r)
{
	struct user	 u;
	enum db_status	 st;

	if ((st = db_user_get(req_db(r), &u)) == DB_NOTFOUND)
		return unauthorized(r, 1, "the token's user no longer exists");
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	user_json(&r->out, &u);
	return reply_json(r, 200);
}

int
auth_logout(struct req *r)
{
	enum db_status	 st;

	st = db_user_revoke_token(req_db(r), r->claims.exp);
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	return reply_empty(r, 204);
}

int
auth_logout_all(struct req *r)
{
	enum db_status	 st;

	if ((st = db_user_revoke_all(req_db(r))) != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	return reply_empty(r, 204);
}

int
auth_password(struct req *r)
{
	struct field_value	 v[NELEMS(password_fields)];
	struct user		 u;
	char			 hash[PASSWORD_HASH_MAX];
	enum db_status		 st;
	int			 rc, trusted;

	if ((rc = body_fields(r, password_fields, NELEMS(password_fields),
	    VALID_CREATE, v)))
		return rc;
	if ((st = db_user_get(req_db(r), &u)) == DB_NOTFOUND)
		return unauthorized(r, 1, "the token's user no longer exists");
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	/* A stolen token must not become a way to guess the password. */
	if ((rc = throttle(r, u.email, &trusted)))
		return rc;
	if (!password_verify(v[PW_CURRENT].s, v[PW_CURRENT].len,
	    u.password_hash, r->conf->bcrypt_cost)) {
		if ((rc = login_failed(r, u.email, u.id)))
			return rc;
		resp_header(r, "WWW-Authenticate", "Bearer");
		return problem(r, 401, "the current password is wrong");
	}
	if ((rc = new_hash(r, &v[PW_NEW], hash)))
		return rc;
	st = db_user_set_password(req_db(r), hash, u.email);
	explicit_bzero(hash, sizeof(hash));
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	return reply_empty(r, 204);
}
