/*
 * libFuzzer target: JSON bodies of POST /api/auth/login,
 * checked against login_spec of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_login_fields, data, size);
}
