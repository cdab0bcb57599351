/*
 * libFuzzer target: JSON bodies of POST /api/doctors and of PUT and PATCH
 * /api/doctors/:id, checked against doctor_spec of handlers/doctors.c (see
 * fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_doctor_fields, data, size);
}
