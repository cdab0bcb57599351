/*
 * libFuzzer target: reqid_valid() (fcgi-app/resp.c), which decides whether
 * a client's X-Request-Id goes into logs and responses as it is.
 *
 * The input, up to a NUL, is the header's value (a FastCGI parameter is a
 * C string), copied at exactly its size so ASan sees a read past the end.
 * The answer is compared with the rule of req.h written out again: 1 to
 * REQID_MAX characters of [A-Za-z0-9._-].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "req.h"

static int
rule(const char *s)
{
	size_t	 n = strlen(s);

	return n >= 1 && n <= REQID_MAX &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	s = fuzz_cstring(data, size);
	FUZZ_CHECK(reqid_valid(s) == rule(s));
	FUZZ_CHECK(reqid_valid(NULL) == 0);
	free(s);
	return 0;
}
