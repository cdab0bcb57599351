/*
 * What the libFuzzer targets under t/fuzz/ share: the entry point's
 * prototype, the fixed key and clock of fuzz-jwt (and of jwt-seed, which
 * makes its seed tokens), and FUZZ_CHECK, which turns a broken invariant
 * into an abort() that libFuzzer reports and saves like any crash.
 *
 * The targets are built and run by script/fuzz, never by make: see
 * t/fuzz/README.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer calls this once per input; data is exactly size bytes. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The HS256 key of fuzz-jwt: 32 bytes, like a real secret. */
#define FUZZ_JWT_KEY		"medrec-fuzz-key-0123456789abcdef"
#define FUZZ_JWT_KEYLEN		(sizeof(FUZZ_JWT_KEY) - 1)
/* The clock fuzz-jwt verifies at, so a seed token never expires. */
#define FUZZ_NOW		INT64_C(1700000000)
#define FUZZ_LEEWAY		60

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * The C string that data[0..size) makes when it arrives as a FastCGI
 * parameter: up to the first NUL, in a malloc'd buffer of exactly its
 * length plus one, so ASan sees a read past the NUL.  Not strndup(): ASan's
 * strict_string_checks wants its source NUL-terminated.
 */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	const uint8_t	*nul = memchr(data, '\0', size);
	size_t		 n = nul != NULL ? (size_t)(nul - data) : size;
	char		*s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
