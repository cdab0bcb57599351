/*
 * Password hashing with bcrypt ($2b$) through libxcrypt's crypt_gensalt_rn
 * and crypt_rn, which keep their state in caller memory and so are safe in
 * any worker.
 */
#ifndef PASSWORD_H
#define PASSWORD_H

#include <stddef.h>

#define PASSWORD_HASH_MAX	128

/* Hashes pw[0..len) at cost into out.  Returns 0, or -1 on failure. */
int	password_hash(const char *pw, size_t len, int cost,
	    char out[PASSWORD_HASH_MAX]);
/*
 * Returns 1 when pw matches hash, else 0.  A NULL hash verifies against a
 * dummy hash of the same cost so that unknown users take as long.
 */
int	password_verify(const char *pw, size_t len, const char *hash, int cost);
/* The cost of a $2b$ hash, or -1. */
int	password_cost(const char *hash);

/*
 * The share of the machine that hashes for clients not yet trusted
 * (registrations, logins from networks an account has not logged in
 * from) may take: share percent of cores, measured in hashes of cost.
 * Made once in the master (it also makes the dummy hash for unknown
 * emails, which every worker inherits); returns the hashes a second it
 * allows, 0 when it could not be made (then nothing is refused).
 */
double	password_budget_init(int cost, int share, long cores);
/* Takes one hash from the budget: 1, or 0 when it is spent for now. */
int	password_budget_take(void);

#endif
