/*
 * libFuzzer target: JSON bodies of POST /api/auth/register,
 * checked against register_spec of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_register_fields, data, size);
}
