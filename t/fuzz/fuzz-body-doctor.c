/*
 * libFuzzer target: JSON bodies of POST /api/doctors and of PUT and PATCH
 * /api/doctors/:id, checked against the fields of handlers/doctors.c (see
 * fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "doctor", doctors.fields,
	    doctors.nfields };

	return fuzz_body(&f, data, size);
}
