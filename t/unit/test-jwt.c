/*
 * Unit tests for jwt.c: the RFC 7515 A.1 HS256 example as a known answer,
 * base64url, sign-then-verify, and one row per rule jwt_verify() enforces.
 * Tokens that jwt_sign() would never write are built by hand from header
 * and claims text with b64url_encode() and jwt_hs256(), so each row shows
 * exactly the JSON it tries.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "b64url.h"
#include "jwt.h"
#include "tap.h"

#define KEY	"0123456789abcdef0123456789abcdef"
#define KEY2	"0123456789abcdef0123456789abcdeF"
#define NOW	1700000000
#define LEEWAY	60

#define HDR	"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SUB	"\"sub\":\"42\""
#define IAT	"\"iat\":1700000000"
#define EXP	"\"exp\":1700003600"
#define JTI	"\"jti\":\"abc-_123\""
#define CLAIMS	"{" SUB "," IAT "," EXP "," JTI "}"
#define J64	"01234567890123456789012345678901" \
		"23456789012345678901234567890123"

static const char *const status_names[JWT_STATUS__MAX] = {
	"JWT_OK", "JWT_MALFORMED", "JWT_BAD_SIGNATURE", "JWT_EXPIRED",
	"JWT_NOT_YET_VALID",
};

static char	 tok[3 * JWT_MAX_LEN];

/* Signs header and claims text under key into tok; returns tok. */
static const char *
mktoken(const char *hdr, const char *claims, const char *key)
{
	unsigned char	 mac[32];
	size_t		 n;

	n = b64url_encode(tok, (const unsigned char *)hdr, strlen(hdr));
	tok[n++] = '.';
	n += b64url_encode(tok + n, (const unsigned char *)claims,
	    strlen(claims));
	jwt_hs256((const unsigned char *)key, strlen(key), tok, n, mac);
	tok[n++] = '.';
	b64url_encode(tok + n, mac, sizeof(mac));
	return tok;
}

static enum jwt_status
verify(const char *t, struct jwt_claims *c)
{
	struct jwt_claims	 dummy;

	return jwt_verify(t, strlen(t), (const unsigned char *)KEY,
	    strlen(KEY), NOW, LEEWAY, c != NULL ? c : &dummy);
}

#define is_status(got, want, ...) do {					\
	enum jwt_status gs_ = (got), ws_ = (want);			\
	ok(gs_ == ws_, __VA_ARGS__);					\
	if (gs_ != ws_)							\
		printf("#   got %s, want %s\n", status_names[gs_],	\
		    status_names[ws_]);					\
} while (0)

static const struct {
	const char	*name;
	const char	*hdr;
	const char	*claims;
	enum jwt_status	 want;
} rows[] = {
	{ "a token written by hand like jwt_sign's is taken",
	  HDR, CLAIMS, JWT_OK },
	{ "a header of only alg is taken",
	  "{\"alg\":\"HS256\"}", CLAIMS, JWT_OK },
	{ "a header with a kid is taken",
	  "{\"kid\":\"k1\",\"alg\":\"HS256\"}", CLAIMS, JWT_OK },
	{ "alg none is malformed",
	  "{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS, JWT_MALFORMED },
	{ "alg HS512 is malformed",
	  "{\"alg\":\"HS512\",\"typ\":\"JWT\"}", CLAIMS, JWT_MALFORMED },
	{ "alg hs256 in lower case is malformed",
	  "{\"alg\":\"hs256\",\"typ\":\"JWT\"}", CLAIMS, JWT_MALFORMED },
	{ "alg that is not a string is malformed",
	  "{\"alg\":null}", CLAIMS, JWT_MALFORMED },
	{ "a header without alg is malformed",
	  "{\"typ\":\"JWT\"}", CLAIMS, JWT_MALFORMED },
	{ "a header with crit is malformed",
	  "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS, JWT_MALFORMED },
	{ "a header with an unknown key is malformed",
	  "{\"alg\":\"HS256\",\"jku\":\"https://x/\"}", CLAIMS,
	  JWT_MALFORMED },
	{ "typ other than JWT is malformed",
	  "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", CLAIMS, JWT_MALFORMED },
	{ "a kid that is not a string is malformed",
	  "{\"alg\":\"HS256\",\"kid\":1}", CLAIMS, JWT_MALFORMED },
	{ "a duplicate header key is malformed",
	  "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", CLAIMS, JWT_MALFORMED },
	{ "a header that is not JSON is malformed",
	  "alg=HS256", CLAIMS, JWT_MALFORMED },
	{ "a header with text after the object is malformed",
	  "{\"alg\":\"HS256\"}x", CLAIMS, JWT_MALFORMED },
	{ "a header that is a JSON array is malformed",
	  "[\"alg\",\"HS256\"]", CLAIMS, JWT_MALFORMED },
	{ "a header key holding \\u0000 is malformed",
	  "{\"alg\":\"HS256\",\"typ\\u0000x\":\"JWT\"}", CLAIMS,
	  JWT_MALFORMED },

	{ "claims that are not an object are malformed",
	  HDR, "[" SUB "]", JWT_MALFORMED },
	{ "claims that are not JSON are malformed",
	  HDR, "sub=42", JWT_MALFORMED },
	{ "other claims are ignored",
	  HDR, "{\"iss\":\"x\"," SUB "," IAT "," EXP "," JTI ",\"aud\":[1]}",
	  JWT_OK },
	{ "exp equal to now is expired",
	  HDR, "{" SUB "," IAT ",\"exp\":1700000000," JTI "}", JWT_EXPIRED },
	{ "exp a second after now is taken",
	  HDR, "{" SUB "," IAT ",\"exp\":1700000001," JTI "}", JWT_OK },
	{ "iat 61 s in the future is not yet valid",
	  HDR, "{" SUB ",\"iat\":1700000061," EXP "," JTI "}",
	  JWT_NOT_YET_VALID },
	{ "iat 60 s in the future is taken",
	  HDR, "{" SUB ",\"iat\":1700000060," EXP "," JTI "}", JWT_OK },
	{ "nbf 61 s in the future is not yet valid",
	  HDR, "{" SUB "," IAT ",\"nbf\":1700000061," EXP "," JTI "}",
	  JWT_NOT_YET_VALID },
	{ "nbf 60 s in the future is taken",
	  HDR, "{" SUB "," IAT ",\"nbf\":1700000060," EXP "," JTI "}",
	  JWT_OK },
	{ "nbf that is not a number is malformed",
	  HDR, "{" SUB "," IAT ",\"nbf\":\"0\"," EXP "," JTI "}",
	  JWT_MALFORMED },
	{ "missing exp is malformed",
	  HDR, "{" SUB "," IAT "," JTI "}", JWT_MALFORMED },
	{ "missing iat is malformed",
	  HDR, "{" SUB "," EXP "," JTI "}", JWT_MALFORMED },
	{ "missing sub is malformed",
	  HDR, "{" IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub that is a number is malformed",
	  HDR, "{\"sub\":42," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"0\" is malformed",
	  HDR, "{\"sub\":\"0\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"-1\" is malformed",
	  HDR, "{\"sub\":\"-1\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"+1\" is malformed",
	  HDR, "{\"sub\":\"+1\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"012\" is malformed",
	  HDR, "{\"sub\":\"012\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"12a\" is malformed",
	  HDR, "{\"sub\":\"12a\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub \"\" is malformed",
	  HDR, "{\"sub\":\"\"," IAT "," EXP "," JTI "}", JWT_MALFORMED },
	{ "sub of 20 digits is malformed",
	  HDR, "{\"sub\":\"12345678901234567890\"," IAT "," EXP "," JTI "}",
	  JWT_MALFORMED },
	{ "sub 2^63 is malformed",
	  HDR, "{\"sub\":\"9223372036854775808\"," IAT "," EXP "," JTI "}",
	  JWT_MALFORMED },
	{ "sub 2^63 - 1 is taken",
	  HDR, "{\"sub\":\"9223372036854775807\"," IAT "," EXP "," JTI "}",
	  JWT_OK },
	{ "missing jti is malformed",
	  HDR, "{" SUB "," IAT "," EXP "}", JWT_MALFORMED },
	{ "jti with a dot is malformed",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":\"a.b\"}", JWT_MALFORMED },
	{ "jti with a space is malformed",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":\"a b\"}", JWT_MALFORMED },
	{ "empty jti is malformed",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":\"\"}", JWT_MALFORMED },
	{ "jti that is a number is malformed",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":7}", JWT_MALFORMED },
	{ "jti of 64 characters is taken",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":\"" J64 "\"}", JWT_OK },
	{ "jti of 65 characters is malformed",
	  HDR, "{" SUB "," IAT "," EXP ",\"jti\":\"" J64 "x\"}",
	  JWT_MALFORMED },
	{ "exp 1.5 is malformed",
	  HDR, "{" SUB "," IAT ",\"exp\":1.5," JTI "}", JWT_MALFORMED },
	{ "exp as a string is malformed",
	  HDR, "{" SUB "," IAT ",\"exp\":\"1700003600\"," JTI "}",
	  JWT_MALFORMED },
	{ "exp beyond 2^53 is malformed",
	  HDR, "{" SUB "," IAT ",\"exp\":9007199254740993000," JTI "}",
	  JWT_MALFORMED },
	{ "exp 1e400 is malformed",
	  HDR, "{" SUB "," IAT ",\"exp\":1e400," JTI "}", JWT_MALFORMED },
	{ "iat below -2^53 is malformed",
	  HDR, "{" SUB ",\"iat\":-9007199254740994," EXP "," JTI "}",
	  JWT_MALFORMED },
	{ "a duplicate sub is malformed",
	  HDR, "{" SUB "," IAT "," EXP "," JTI ",\"sub\":\"43\"}",
	  JWT_MALFORMED },
	{ "a duplicate ignored claim is malformed",
	  HDR, "{\"x\":1," SUB "," IAT "," EXP "," JTI ",\"x\":1}",
	  JWT_MALFORMED },
	{ "a claim key holding \\u0000 is malformed",
	  HDR, "{" SUB "," IAT "," EXP "," JTI ",\"sub\\u0000\":\"43\"}",
	  JWT_MALFORMED },
};

static void
test_rfc7515(void)
{
	/* RFC 7515 A.1.1, with its CRLF line breaks. */
	static const char hdr[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
	static const char claims[] = "{\"iss\":\"joe\",\r\n"
	    " \"exp\":1300819380,\r\n"
	    " \"http://example.com/is_root\":true}";
	static const char k64[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQ"
	    "Lr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
	unsigned char	 key[64 + 3], mac[32];
	char		 input[256], sig[64];
	struct jwt_claims c;
	long		 keylen;
	size_t		 n;

	keylen = b64url_decode(key, k64, strlen(k64));
	is_int(keylen, 64, "RFC 7515 A.1 key decodes to 64 bytes");
	n = b64url_encode(input, (const unsigned char *)hdr, strlen(hdr));
	is_str(input, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
	    "RFC 7515 A.1 header encodes as in the RFC");
	input[n++] = '.';
	b64url_encode(input + n, (const unsigned char *)claims,
	    strlen(claims));
	is_str(input + n, "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
	    "Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
	    "RFC 7515 A.1 payload encodes as in the RFC");
	jwt_hs256(key, (size_t)keylen, input, strlen(input), mac);
	b64url_encode(sig, mac, sizeof(mac));
	is_str(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
	    "RFC 7515 A.1 HS256 signature matches");

	/* Its signature is good, but it has no sub, iat or jti. */
	n = strlen(input);
	input[n++] = '.';
	memcpy(input + n, sig, strlen(sig) + 1);
	is_status(jwt_verify(input, strlen(input), key, (size_t)keylen,
	    1300819379, LEEWAY, &c), JWT_MALFORMED,
	    "RFC 7515 A.1 token passes the signature, fails the claims");
}

static void
test_b64url(void)
{
	static const struct {
		const char	*plain;
		const char	*enc;
	} vec[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" },
		{ "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
	};
	static const char *const bad[] = {
		"Zg==", "Zm9v+A", "Zm9v/A", "Zm9v YQ", "Z", "Zm9vY", "Zh",
		"Zm9=",
	};
	unsigned char	 all[256], back[256 + 3];
	char		 enc[4 * 86 + 1];
	size_t		 i, n;
	long		 d;
	int		 good = 1;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = b64url_encode(enc, (const unsigned char *)vec[i].plain,
		    strlen(vec[i].plain));
		ok(n == strlen(vec[i].enc) && strcmp(enc, vec[i].enc) == 0,
		    "b64url_encode gives \"%s\"", vec[i].enc);
		d = b64url_decode(back, vec[i].enc, strlen(vec[i].enc));
		ok(d == (long)strlen(vec[i].plain) &&
		    memcmp(back, vec[i].plain, (size_t)d) == 0,
		    "b64url_decode of \"%s\" gives it back", vec[i].enc);
	}

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(255 - i);
	for (i = 0; i <= sizeof(all); i++) {
		n = b64url_encode(enc, all, i);
		d = b64url_decode(back, enc, n);
		if (n != (4 * i + 2) / 3 || d != (long)i ||
		    memcmp(back, all, i) != 0)
			good = 0;
	}
	ok(good, "b64url round trips every length from 0 to 256 bytes");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(b64url_decode(back, bad[i], strlen(bad[i])), -1,
		    "b64url_decode refuses \"%s\"", bad[i]);
	is_int(b64url_decode(back, "Zm\0v", 4), -1,
	    "b64url_decode refuses a NUL byte");
}

static void
test_sign(void)
{
	struct arena		*a;
	struct jwt_claims	 in, out;
	char			 jti2[JWT_JTI_MAX + 1];
	const char		*t;

	a = arena_new();
	memset(&in, 0, sizeof(in));
	in.sub = 42;
	in.iat = NOW;
	in.exp = NOW + 3600;
	is_int(jwt_new_jti(in.jti), 0, "jwt_new_jti succeeds");
	is_int(strlen(in.jti), 22, "a jti has 22 characters");
	is_int(strspn(in.jti, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_"), 22,
	    "a jti is base64url");
	jwt_new_jti(jti2);
	ok(strcmp(in.jti, jti2) != 0, "two jtis differ");

	t = jwt_sign(a, (const unsigned char *)KEY, strlen(KEY), &in);
	ok(strncmp(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
	    "jwt_sign writes the header {\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	memset(&out, 0, sizeof(out));
	is_status(verify(t, &out), JWT_OK, "a signed token verifies");
	ok(out.sub == 42 && out.iat == NOW && out.exp == NOW + 3600 &&
	    strcmp(out.jti, in.jti) == 0, "verify gives back the claims");
	is_status(jwt_verify(t, strlen(t), (const unsigned char *)KEY,
	    strlen(KEY), NOW + 3600, LEEWAY, &out), JWT_EXPIRED,
	    "a signed token expires at exp");

	in.sub = INT64_MAX;
	in.iat = in.exp = -((int64_t)1 << 53);
	t = jwt_sign(a, (const unsigned char *)KEY, strlen(KEY), &in);
	is_status(jwt_verify(t, strlen(t), (const unsigned char *)KEY,
	    strlen(KEY), -((int64_t)1 << 53) - 1, 1, &out), JWT_OK,
	    "extreme values survive sign and verify");
	ok(out.sub == INT64_MAX && out.exp == -((int64_t)1 << 53),
	    "and come back the same");
	arena_free(a);
}

static void
test_rows(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		is_status(verify(mktoken(rows[i].hdr, rows[i].claims, KEY),
		    NULL), rows[i].want, "%s", rows[i].name);
}

static void
test_tamper(void)
{
	char		 good[512], t[1024];
	const char	*d1, *d2;
	size_t		 n;

	snprintf(good, sizeof(good), "%s", mktoken(HDR, CLAIMS, KEY));
	d1 = strchr(good, '.');
	d2 = strchr(d1 + 1, '.');

	/* Claims of another user under the original signature. */
	mktoken(HDR, "{\"sub\":\"43\"," IAT "," EXP "," JTI "}", KEY);
	n = (size_t)(strchr(strchr(tok, '.') + 1, '.') - tok);
	snprintf(t, sizeof(t), "%.*s%s", (int)n, tok, d2);
	is_status(verify(t, NULL), JWT_BAD_SIGNATURE,
	    "a tampered payload is a bad signature");

	snprintf(t, sizeof(t), "%s", good);
	n = (size_t)(d2 - good) + 1;
	t[n] = t[n] == 'A' ? 'B' : 'A';
	is_status(verify(t, NULL), JWT_BAD_SIGNATURE,
	    "a tampered signature is a bad signature");

	is_status(verify(mktoken(HDR, CLAIMS, KEY2), NULL), JWT_BAD_SIGNATURE,
	    "a token signed with another key is a bad signature");
	is_status(verify(mktoken(HDR, "{\"sub\":0}", KEY2), NULL),
	    JWT_BAD_SIGNATURE,
	    "the signature is checked before the claims are read");
	is_status(verify(mktoken("{\"alg\":\"none\"}", CLAIMS, KEY2), NULL),
	    JWT_MALFORMED, "the header is checked before the signature");

	/* alg none as attackers send it: an empty signature. */
	mktoken("{\"alg\":\"none\"}", CLAIMS, KEY);
	*(strrchr(tok, '.') + 1) = '\0';
	is_status(verify(tok, NULL), JWT_MALFORMED,
	    "alg none with an empty signature is malformed");

	snprintf(t, sizeof(t), "%s", good);
	t[strlen(t) - 1] = '\0';
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a short signature is malformed");
	snprintf(t, sizeof(t), "%sA", good);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a long signature is malformed");
	snprintf(t, sizeof(t), "%s", good);
	t[strlen(t) - 1] = t[strlen(t) - 1] == 'B' ? 'C' : 'B';
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a signature with nonzero trailing bits is malformed");
	snprintf(t, sizeof(t), "%s=", good);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a padded signature is malformed");
}

static void
test_shape(void)
{
	struct jwt_claims c;
	char		 good[512], t[1024];
	const char	*d1, *d2;
	int		 hl, pl;

	snprintf(good, sizeof(good), "%s", mktoken(HDR, CLAIMS, KEY));
	d1 = strchr(good, '.');
	d2 = strchr(d1 + 1, '.');
	hl = (int)(d1 - good);
	pl = (int)(d2 - d1 - 1);

	is_status(verify(good, NULL), JWT_OK, "the untouched token is taken");
	is_status(verify("", NULL), JWT_MALFORMED,
	    "an empty token is malformed");
	snprintf(t, sizeof(t), "%.*s%s", hl, good, d1 + pl + 1);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a token of two parts is malformed");
	snprintf(t, sizeof(t), "%.*s", hl, good);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a token without dots is malformed");
	snprintf(t, sizeof(t), "%s.", good);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a token of four parts is malformed");
	snprintf(t, sizeof(t), "%s", d1);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "an empty header part is malformed");
	snprintf(t, sizeof(t), "%.*s.%s", hl, good, d2);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "an empty payload part is malformed");
	snprintf(t, sizeof(t), "%.*s.", (int)(d2 - good), good);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "an empty signature part is malformed");
	is_status(verify("..", NULL), JWT_MALFORMED,
	    "three empty parts are malformed");
	snprintf(t, sizeof(t), "%.*s=%s", hl, good, d1);
	is_status(verify(t, NULL), JWT_MALFORMED,
	    "a padded header is malformed");
	is_status(jwt_verify(good, strlen(good) - 1,
	    (const unsigned char *)KEY, strlen(KEY), NOW, LEEWAY, &c),
	    JWT_MALFORMED, "the length given is the token's length");
}

static void
test_size(void)
{
	char		 claims[JWT_MAX_LEN], under[JWT_MAX_LEN + 1];
	size_t		 pad, len = 0;

	/* Grow an ignored claim until the token passes JWT_MAX_LEN. */
	under[0] = '\0';
	for (pad = 2500; pad < sizeof(claims) - 100; pad++) {
		snprintf(claims, sizeof(claims),
		    "{" SUB "," IAT "," EXP "," JTI ",\"x\":\"%0*d\"}",
		    (int)pad, 0);
		if ((len = strlen(mktoken(HDR, claims, KEY))) > JWT_MAX_LEN)
			break;
		memcpy(under, tok, len + 1);
	}
	ok(strlen(under) >= JWT_MAX_LEN - 1 && len > JWT_MAX_LEN,
	    "tokens of %zu and %zu characters were built", strlen(under),
	    len);
	is_status(verify(under, NULL), JWT_OK,
	    "a token of %zu characters is taken", strlen(under));
	is_status(verify(tok, NULL), JWT_MALFORMED,
	    "a token over JWT_MAX_LEN is malformed");
}

int
main(void)
{
	test_rfc7515();
	test_b64url();
	test_sign();
	test_rows();
	test_tamper();
	test_shape();
	test_size();
	return tap_done();
}
