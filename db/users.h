/*
 * Users and what authentication keeps in the database: revoked tokens and
 * the login failures the throttle counts.
 */
#ifndef DB_USERS_H
#define DB_USERS_H

#include <stdint.h>

#include "db.h"

struct req;

struct user {
	int64_t		 id;
	const char	*name;
	const char	*email;
	const char	*password_hash;
	int64_t		 tokens_valid_after;	/* seconds */
	int64_t		 created_at;		/* microseconds */
	int64_t		 updated_at;
};

/* The failures counted in each throttle window, and when each frees up. */
struct throttle {
	int64_t		 pair;		/* this email from this address */
	int64_t		 pair_retry;	/* seconds until the oldest expires */
	int64_t		 address;	/* distinct emails from this address */
	int64_t		 address_retry;
	int64_t		 account;	/* this email from anywhere */
	int64_t		 account_retry;
};

/* Inserts a user; DB_CONFLICT when the email is taken in any case. */
enum db_status	db_user_create(struct req *, const char *name,
		    const char *email, const char *hash, struct user *);
/* DB_NOTFOUND when no user has this (lower-case) email. */
enum db_status	db_user_get_by_email(struct req *, const char *email,
		    struct user *);
enum db_status	db_user_get(struct req *, int64_t id, struct user *);
/*
 * The check every protected request makes, in one statement: the user
 * exists, the token is not revoked, and it was issued after the user's last
 * logout-all or password change (or is the token that changed it).
 * DB_OK when the token is good, DB_NOTFOUND when it is not.
 */
enum db_status	db_user_auth_check(struct req *, int64_t id, const char *jti,
		    int64_t iat);
/* Revokes one token until exp (seconds); drops expired revocations. */
enum db_status	db_user_revoke_token(struct req *, int64_t id,
		    const char *jti, int64_t exp);
/* Refuses every token issued up to now (seconds). */
enum db_status	db_user_revoke_all(struct req *, int64_t id, int64_t now);
/* Sets the hash and refuses every token up to now except keep_jti. */
enum db_status	db_user_set_password(struct req *, int64_t id,
		    const char *hash, int64_t now, const char *keep_jti);

/* The throttle counters for email from address. */
enum db_status	db_login_throttle(struct req *, const char *email,
		    const char *address, int window, int account_window,
		    struct throttle *);
/* Records a failed login; drops failures older than keep seconds. */
enum db_status	db_login_failed(struct req *, const char *email,
		    const char *address, int keep);
/* A successful login clears the pair's failures. */
enum db_status	db_login_succeeded(struct req *, const char *email,
		    const char *address);

#endif
