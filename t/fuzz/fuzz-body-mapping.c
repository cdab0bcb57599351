/*
 * libFuzzer target: JSON bodies of POST /api/mappings,
 * checked against mapping_spec of handlers/mappings.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_body(&fuzz_mapping_fields, data, size);
}
