/*
 * HS256 JSON Web Tokens: signing, and a verifier that takes only the narrow
 * shape API.md allows.  The header is parsed first, but only for syntax
 * and the alg rule; the claims are read only after the signature is found
 * right in constant time.  Everything jwt_verify() decodes lives in stack
 * buffers sized from JWT_MAX_LEN, and the cJSON trees it builds are freed
 * before it returns, so a worker can verify tokens without an arena.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>		/* memmem: _GNU_SOURCE */

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "arena.h"
#include "b64url.h"
#include "jwt.h"

#define JWT_INT_MAX	9007199254740992.0	/* 2^53 */
#define JWT_SIG_B64	43			/* b64url of 32 bytes */

/* b64url of {"alg":"HS256","typ":"JWT"}, the only header we write. */
static const char jwt_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

void
jwt_hs256(const unsigned char *key, size_t keylen, const char *msg,
    size_t msglen, unsigned char out[32])
{
	static const unsigned char	 nokey[1];
	unsigned int			 outlen = 32;

	/* HMAC() may read a NULL key as "no key given": pass an empty one. */
	if (key == NULL || keylen == 0) {
		key = nokey;
		keylen = 0;
	}
	/* HMAC() fails only when it cannot allocate: treat as out of memory. */
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    msglen, out, &outlen) == NULL || outlen != 32)
		arena_oom();
}

static int
jti_valid(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == JWT_JTI_MAX || b64url_val(s[i]) < 0)
			return 0;
	return i > 0;
}

char *
jwt_sign(struct arena *a, const unsigned char *key, size_t keylen,
    const struct jwt_claims *c)
{
	char		 claims[256];
	unsigned char	 mac[32];
	char		*tok;
	size_t		 n, hlen = sizeof(jwt_header) - 1;
	int		 clen;

	/*
	 * The values go into the JSON unescaped, which is safe for numbers
	 * and jwt_new_jti()'s alphabet; any other jti is a caller's bug.
	 */
	if (!jti_valid(c->jti))
		abort();
	clen = snprintf(claims, sizeof(claims),
	    "{\"sub\":\"%" PRId64 "\",\"iat\":%" PRId64 ",\"exp\":%" PRId64
	    ",\"jti\":\"%s\"}", c->sub, c->iat, c->exp, c->jti);
	if (clen < 0 || (size_t)clen >= sizeof(claims))
		abort();

	tok = arena_alloc(a, hlen + 1 + ((size_t)clen + 2) / 3 * 4 + 1 +
	    JWT_SIG_B64 + 1);
	memcpy(tok, jwt_header, hlen);
	n = hlen;
	tok[n++] = '.';
	n += b64url_encode(tok + n, (unsigned char *)claims, (size_t)clen);
	jwt_hs256(key, keylen, tok, n, mac);
	tok[n++] = '.';
	b64url_encode(tok + n, mac, sizeof(mac));
	return tok;
}

int
jwt_new_jti(char jti[JWT_JTI_MAX + 1])
{
	unsigned char	 r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	b64url_encode(jti, r, sizeof(r));
	return 0;
}

/*
 * Decodes src[0..len) into buf as NUL-terminated JSON text for cJSON.  The
 * text must hold no NUL byte and no \u0000 escape: cJSON keeps strings
 * NUL-terminated, so either would cut a key or value short and let two
 * different texts read alike.  Returns 0, or -1 when anything is wrong.
 */
static int
json_text(unsigned char *buf, const char *src, size_t len)
{
	long	 n;

	if (len == 0 || (n = b64url_decode(buf, src, len)) <= 0)
		return -1;
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n) != NULL ||
	    memmem(buf, (size_t)n, "\\u0000", 6) != NULL)
		return -1;
	return 0;
}

/* Returns 1 when a key before item has the same name. */
static int
seen_before(const cJSON *obj, const cJSON *item)
{
	const cJSON	*p;

	for (p = obj->child; p != item; p = p->next)
		if (strcmp(p->string, item->string) == 0)
			return 1;
	return 0;
}

/* Header: an object of "alg":"HS256", optional "typ":"JWT" and "kid". */
static int
header_valid(const cJSON *h)
{
	const cJSON	*it;
	int		 alg = 0;

	if (!cJSON_IsObject(h))
		return 0;
	cJSON_ArrayForEach(it, h) {
		if (seen_before(h, it))
			return 0;
		if (strcmp(it->string, "alg") == 0) {
			if (!cJSON_IsString(it) ||
			    strcmp(it->valuestring, "HS256") != 0)
				return 0;
			alg = 1;
		} else if (strcmp(it->string, "typ") == 0) {
			if (!cJSON_IsString(it) ||
			    strcmp(it->valuestring, "JWT") != 0)
				return 0;
		} else if (strcmp(it->string, "kid") == 0) {
			if (!cJSON_IsString(it))
				return 0;
		} else
			return 0;
	}
	return alg;
}

/* A positive decimal that fits in 63 bits, without sign or leading zero. */
static int
parse_sub(const cJSON *it, int64_t *out)
{
	const char	*s;
	int64_t		 v = 0;

	if (!cJSON_IsString(it))
		return 0;
	s = it->valuestring;
	if (*s < '1' || *s > '9')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 1;
}

/* A JSON number with an integral value within +/-2^53. */
static int
parse_time(const cJSON *it, int64_t *out)
{
	double	 d;

	if (!cJSON_IsNumber(it))
		return 0;
	d = it->valuedouble;
	/* Written so that NaN fails too. */
	if (!(d >= -JWT_INT_MAX && d <= JWT_INT_MAX))
		return 0;
	if ((double)(int64_t)d != d)
		return 0;
	*out = (int64_t)d;
	return 1;
}

/* Reads the claims object into *out; returns 0 when a rule is broken. */
static int
claims_read(const cJSON *c, struct jwt_claims *out, int64_t *nbf)
{
	const cJSON	*it;
	int		 sub = 0, iat = 0, exp = 0, jti = 0;

	if (!cJSON_IsObject(c))
		return 0;
	cJSON_ArrayForEach(it, c) {
		if (seen_before(c, it))
			return 0;
		if (strcmp(it->string, "sub") == 0) {
			if (!(sub = parse_sub(it, &out->sub)))
				return 0;
		} else if (strcmp(it->string, "iat") == 0) {
			if (!(iat = parse_time(it, &out->iat)))
				return 0;
		} else if (strcmp(it->string, "exp") == 0) {
			if (!(exp = parse_time(it, &out->exp)))
				return 0;
		} else if (strcmp(it->string, "nbf") == 0) {
			if (!parse_time(it, nbf))
				return 0;
		} else if (strcmp(it->string, "jti") == 0) {
			if (!cJSON_IsString(it) || !jti_valid(it->valuestring))
				return 0;
			memcpy(out->jti, it->valuestring,
			    strlen(it->valuestring) + 1);
			jti = 1;
		}
	}
	return sub && iat && exp && jti;
}

enum jwt_status
jwt_verify(const char *token, size_t len, const unsigned char *key,
    size_t keylen, int64_t now, int64_t leeway, struct jwt_claims *out)
{
	unsigned char		 hbuf[JWT_MAX_LEN / 4 * 3 + 3];
	unsigned char		 cbuf[JWT_MAX_LEN / 4 * 3 + 3];
	unsigned char		 sig[32 + 3], mac[32];
	struct jwt_claims	 c;
	const char		*d1, *d2, *end = token + len;
	cJSON			*json;
	int64_t			 nbf = INT64_MIN;
	int			 ok;

	if (len > JWT_MAX_LEN)
		return JWT_MALFORMED;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL)
		return JWT_MALFORMED;

	/* Syntax, and the header's rules, may be judged before the MAC. */
	if (json_text(hbuf, token, (size_t)(d1 - token)) == -1 ||
	    json_text(cbuf, d1 + 1, (size_t)(d2 - d1 - 1)) == -1 ||
	    end - d2 - 1 != JWT_SIG_B64 ||
	    b64url_decode(sig, d2 + 1, JWT_SIG_B64) != (long)sizeof(mac))
		return JWT_MALFORMED;
	json = cJSON_ParseWithOpts((char *)hbuf, NULL, 1);
	ok = header_valid(json);
	cJSON_Delete(json);
	if (!ok)
		return JWT_MALFORMED;

	jwt_hs256(key, keylen, token, (size_t)(d2 - token), mac);
	if (CRYPTO_memcmp(sig, mac, sizeof(mac)) != 0)
		return JWT_BAD_SIGNATURE;

	memset(&c, 0, sizeof(c));
	json = cJSON_ParseWithOpts((char *)cbuf, NULL, 1);
	ok = claims_read(json, &c, &nbf);
	cJSON_Delete(json);
	if (!ok)
		return JWT_MALFORMED;

	if (now >= c.exp)
		return JWT_EXPIRED;
	if (c.iat > now + leeway || nbf > now + leeway)
		return JWT_NOT_YET_VALID;
	*out = c;
	return JWT_OK;
}
