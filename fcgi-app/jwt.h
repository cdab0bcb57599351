/*
 * HS256 JSON Web Tokens (RFC 7519, RFC 8725 rules) with OpenSSL's HMAC and
 * a constant-time comparison.  Only what API.md allows passes jwt_verify():
 * header {"alg":"HS256"} with optional "typ":"JWT" and "kid", no other
 * header (so "crit" is malformed), claims sub (a user id as a string), iat,
 * exp (required), optional nbf, and jti.
 */
#ifndef JWT_H
#define JWT_H

#include <stddef.h>
#include <stdint.h>

struct arena;

#define JWT_MAX_LEN	4096	/* longer tokens are malformed */
#define JWT_JTI_MAX	64

struct jwt_claims {
	int64_t	 sub;
	int64_t	 iat;
	int64_t	 exp;
	char	 jti[JWT_JTI_MAX + 1];
};

enum jwt_status {
	JWT_OK,
	JWT_MALFORMED,		/* syntax, header or claim rules broken */
	JWT_BAD_SIGNATURE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,	/* iat or nbf more than leeway in the future */
	JWT_STATUS__MAX,
};

/* HMAC-SHA256 of msg under key into out. */
void		 jwt_hs256(const unsigned char *key, size_t keylen,
		    const char *msg, size_t msglen, unsigned char out[32]);

/* Signs the claims into a compact token allocated in the arena. */
char		*jwt_sign(struct arena *, const unsigned char *key,
		    size_t keylen, const struct jwt_claims *);

/*
 * Verifies token[0..len) at time now (seconds) allowing leeway seconds of
 * clock skew for iat and nbf.  Fills *out on JWT_OK.  Allocates nothing that
 * outlives the call.
 */
enum jwt_status	 jwt_verify(const char *token, size_t len,
		    const unsigned char *key, size_t keylen, int64_t now,
		    int64_t leeway, struct jwt_claims *out);

/* Fills jti with a fresh random id (22 base64url characters). */
int		 jwt_new_jti(char jti[JWT_JTI_MAX + 1]);

#endif
