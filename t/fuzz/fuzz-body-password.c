/*
 * libFuzzer target: JSON bodies of PUT /api/auth/password,
 * checked against password_fields of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "password", password_fields,
	    NELEMS(password_fields) };

	return fuzz_body(&f, data, size);
}
