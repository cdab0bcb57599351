/*
 * libFuzzer target: jwt_verify() (fcgi-app/jwt.c), with the fixed key and
 * clock of fuzz.h, on two kinds of input.
 *
 * An input that starts with '{' is JSON that the target signs itself, so
 * that it gets past the MAC to claims_read() and the time checks, which a
 * fuzzer could never reach by guessing HMACs: "HEADER\0CLAIMS" uses both
 * texts as they are, and an input without a NUL is the claims under the
 * header that jwt_sign() writes.  (A NUL can separate them because
 * jwt_verify() refuses a NUL in either text anyway.)  Any other input is a
 * whole token as a client sends it, as in the seeds made by jwt-seed.c.
 *
 * Checked besides memory: an accepted token's claims obey jwt.h (sub >= 1,
 * not expired, not issued in the future, a jti of 1 to 64 base64url
 * characters); the same token fails under another key; and the claims,
 * signed again by jwt_sign(), verify to the same claims.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz.h"
#include "b64url.h"
#include "jwt.h"

static const unsigned char	 key[] = FUZZ_JWT_KEY;
static const unsigned char	 other_key[] = "medrec-fuzz-key-0123456789abcdeF";

/* The header jwt_sign() writes, for claims-only inputs. */
static const char		 std_header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

static int
jti_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > JWT_JTI_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_'))
			return 0;
	return 1;
}

/* Verifies token[0..len) and checks what an accepted token promises. */
static void
verify(const char *token, size_t len)
{
	struct jwt_claims	 c, c2;
	struct arena		*a;
	enum jwt_status		 st;
	char			*again;

	memset(&c, 0, sizeof(c));
	st = jwt_verify(token, len, key, FUZZ_JWT_KEYLEN, FUZZ_NOW,
	    FUZZ_LEEWAY, &c);
	FUZZ_CHECK(st >= JWT_OK && st < JWT_STATUS__MAX);
	if (st != JWT_OK)
		return;

	FUZZ_CHECK(len <= JWT_MAX_LEN);
	FUZZ_CHECK(c.sub >= 1);
	FUZZ_CHECK(c.exp > FUZZ_NOW);
	FUZZ_CHECK(c.iat <= FUZZ_NOW + FUZZ_LEEWAY);
	FUZZ_CHECK(memchr(c.jti, '\0', sizeof(c.jti)) != NULL);
	FUZZ_CHECK(jti_ok(c.jti));

	/* The MAC binds the key: another one must not do. */
	FUZZ_CHECK(jwt_verify(token, len, other_key, sizeof(other_key) - 1,
	    FUZZ_NOW, FUZZ_LEEWAY, &c2) == JWT_BAD_SIGNATURE);

	/* What we accept, we can issue again, and it reads the same. */
	a = arena_new();
	again = jwt_sign(a, key, FUZZ_JWT_KEYLEN, &c);
	memset(&c2, 0, sizeof(c2));
	FUZZ_CHECK(jwt_verify(again, strlen(again), key, FUZZ_JWT_KEYLEN,
	    FUZZ_NOW, FUZZ_LEEWAY, &c2) == JWT_OK);
	FUZZ_CHECK(c2.sub == c.sub && c2.iat == c.iat && c2.exp == c.exp &&
	    strcmp(c2.jti, c.jti) == 0);
	arena_free(a);
}

/* Builds "b64(header).b64(claims).b64(HMAC)" and verifies it. */
static void
sign_and_verify(const char *header, size_t hlen, const char *claims,
    size_t clen)
{
	unsigned char	 mac[32];
	char		*tok;
	size_t		 n;

	if ((tok = malloc((hlen + 2) / 3 * 4 + (clen + 2) / 3 * 4 + 46 + 1))
	    == NULL)
		abort();
	n = b64url_encode(tok, (const unsigned char *)header, hlen);
	tok[n++] = '.';
	n += b64url_encode(tok + n, (const unsigned char *)claims, clen);
	jwt_hs256(key, FUZZ_JWT_KEYLEN, tok, n, mac);
	tok[n++] = '.';
	n += b64url_encode(tok + n, mac, sizeof(mac));
	verify(tok, n);
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nul;

	if (size == 0 || s[0] != '{') {
		verify(s, size);
		return 0;
	}
	if ((nul = memchr(s, '\0', size)) != NULL)
		sign_and_verify(s, (size_t)(nul - s), nul + 1,
		    size - (size_t)(nul - s) - 1);
	else
		sign_and_verify(std_header, sizeof(std_header) - 1, s, size);
	return 0;
}
