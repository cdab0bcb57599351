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

#endif
