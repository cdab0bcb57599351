/*
 * libFuzzer target: JSON bodies of POST /api/patients and of PUT and PATCH
 * /api/patients/:id, checked against patient_spec of handlers/patients.c (see
 * fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_patient_fields, data, size);
}
