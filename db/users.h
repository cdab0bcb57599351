/*
 * Users and what authentication keeps in the database: revoked tokens and
 * the login failures the throttle counts.
 */
#ifndef DB_USERS_H
#define DB_USERS_H

#include <stdint.h>

#include "db.h"

struct conf;

struct user {
	int64_t		 id;
	const char	*name;
	const char	*email;
	const char	*password_hash;
	int64_t		 tokens_valid_after;	/* seconds */
	int64_t		 created_at;		/* microseconds */
	int64_t		 updated_at;
	int64_t		 db_now;		/* the database's clock, seconds:
						   a token's iat */
};

/*
 * The throttle's answer: for each window of API.md, 0 while it has room,
 * else the seconds until it has; and the id of the email's user (0: none).
 */
struct throttle {
	int64_t		 v[4];
	int		 trusted;	/* the email's user logged in from
					   this network before */
};
#define THROTTLE_PAIR		0	/* this email from this address */
#define THROTTLE_ADDRESS	1	/* distinct emails from this address */
#define THROTTLE_ACCOUNT	2	/* this email from anywhere */
#define THROTTLE_USER_ID	3

/* Inserts a user; DB_CONFLICT when the email is taken in any case. */
enum db_status	db_user_create(struct db_ctx *, const char *name,
		    const char *email, const char *hash, struct user *);
/* DB_NOTFOUND when no user has this (lower-case) email. */
enum db_status	db_user_get_by_email(struct db_ctx *, const char *email,
		    struct user *);
/* The acting user; DB_NOTFOUND when it is gone. */
enum db_status	db_user_get(struct db_ctx *, struct user *);
/* Revokes the acting token until exp (seconds); drops expired
 * revocations. */
enum db_status	db_user_revoke_token(struct db_ctx *, int64_t exp);
/* Refuses every token of the acting user issued up to now (seconds, by
 * the database's clock). */
enum db_status	db_user_revoke_all(struct db_ctx *);
/*
 * Sets the acting user's hash and refuses every token up to now except
 * the acting one.  Like a login, the right password clears the failures
 * of email from the client's address.
 */
enum db_status	db_user_set_password(struct db_ctx *, const char *hash,
		    const char *email);
/* Replaces user_id's hash, when it still is old, with hash. */
enum db_status	db_user_rehash(struct db_ctx *, int64_t user_id,
		    const char *old, const char *hash);
/*
 * Checks the registration window of the client's network (at most max in
 * window seconds) and, when it has room, counts this one: *retry is 0, or
 * the seconds until the window has room.
 */
enum db_status	db_register_attempt(struct db_ctx *, int window, int max,
		    int64_t *retry);

/*
 * Checks the throttle windows (conf's limits) for email from the client's
 * address and, when none is full, counts the attempt as a failure until a
 * right password clears it: checking and counting in one step is what
 * keeps concurrent guesses within the limits.
 */
enum db_status	db_login_attempt(struct db_ctx *, const char *email,
		    const struct conf *, struct throttle *);
/*
 * Audits a wrong password (its failure was counted by db_login_attempt);
 * drops failures older than keep seconds.  user_id is the email's user, 0
 * when none.
 */
enum db_status	db_login_failed(struct db_ctx *, const char *email, int keep,
		    int64_t user_id);
/* Records the audit row of a login refused by the throttle. */
enum db_status	db_login_refused(struct db_ctx *, const char *email,
		    int64_t user_id);
/* A successful login clears the pair's failures, makes the client's
 * network a known one of the user's, and is audited. */
enum db_status	db_login_succeeded(struct db_ctx *, const char *email,
		    int64_t user_id);

#endif
