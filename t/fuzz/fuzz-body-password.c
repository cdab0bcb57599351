/*
 * libFuzzer target: JSON bodies of PUT /api/auth/password,
 * checked against password_spec of handlers/auth.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_password_fields, data, size);
}
