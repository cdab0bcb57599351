/*
 * The service's own field-spec and list-spec tables, for the fuzz targets:
 * the descriptors of handlers/ (resource.h) and the bodies of handlers.h,
 * so that the targets check exactly what the service checks, and a renamed
 * or removed table breaks the fuzz build instead of leaving a stale copy.
 */
#ifndef FUZZ_TABLES_H
#define FUZZ_TABLES_H

#include <stddef.h>

#include "handlers.h"
#include "list.h"
#include "resource.h"
#include "valid.h"

/* One JSON body: a field-spec table. */
struct fuzz_fields {
	const char		*name;	/* "patient" */
	const struct field_spec	*spec;
	size_t			 n;
};

/* One collection: its list spec and the path its Link header names. */
struct fuzz_list {
	const char		*name;	/* "patients" */
	const char		*path;
	const struct collection	*coll;
};

#endif
