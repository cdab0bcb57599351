/*
 * libFuzzer target: JSON bodies of POST /api/auth/register,
 * checked against register_fields of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "register", register_fields,
	    NELEMS(register_fields) };

	return fuzz_body(&f, data, size);
}
