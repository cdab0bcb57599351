/*
 * libFuzzer target: JSON bodies of POST /api/auth/login,
 * checked against login_fields of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "login", login_fields,
	    NELEMS(login_fields) };

	return fuzz_body(&f, data, size);
}
