/*
 * Makes the seed tokens of fuzz-jwt with the service's own jwt_sign() and
 * the key of fuzz.h, so that the seeds stay valid when jwt.c changes:
 *
 *	jwt-seed SUB IAT EXP JTI
 *
 * prints one token; IAT and EXP are seconds relative to FUZZ_NOW, the
 * clock fuzz-jwt verifies at.  script/fuzz seeds builds it and rewrites
 * t/fuzz/corpus/fuzz-jwt/token-*; nothing else runs it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "fuzz.h"
#include "b64url.h"
#include "jwt.h"

int
main(int argc, char *argv[])
{
	struct jwt_claims	 c;
	struct arena		*a;

	if (argc != 5 || strlen(argv[4]) > JWT_JTI_MAX) {
		fprintf(stderr, "usage: jwt-seed SUB IAT EXP JTI "
		    "(IAT, EXP: seconds from FUZZ_NOW)\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	c.sub = strtoll(argv[1], NULL, 10);
	c.iat = FUZZ_NOW + strtoll(argv[2], NULL, 10);
	c.exp = FUZZ_NOW + strtoll(argv[3], NULL, 10);
	memcpy(c.jti, argv[4], strlen(argv[4]) + 1);
	a = arena_new();
	printf("%s", jwt_sign(a, (const unsigned char *)FUZZ_JWT_KEY,
	    FUZZ_JWT_KEYLEN, &c));
	arena_free(a);
	return 0;
}
