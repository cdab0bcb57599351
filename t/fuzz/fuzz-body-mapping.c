/*
 * libFuzzer target: JSON bodies of POST /api/mappings,
 * checked against mapping_fields of handlers/mappings.c (see fuzz-body.h).
 */
#include "fuzz-body.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fuzz_fields f = { "mapping", mapping_fields,
	    NELEMS(mapping_fields) };

	return fuzz_body(&f, data, size);
}
