/*
 * libFuzzer target: JSON bodies of POST /api/patients and of PUT and PATCH
 * /api/patients/:id, checked against the fields of handlers/patients.c (see
 * fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "patient", patients.fields,
	    patients.nfields };

	return fuzz_body(&f, data, size);
}
