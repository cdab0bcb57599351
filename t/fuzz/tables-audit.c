/*
 * handlers/audit.c compiled whole, so that the fuzz targets reach its
 * static list spec (see tables.h).  script/fuzz links this object in place
 * of handlers/audit.o.
 */
#include "../../handlers/audit.c"
#include "tables.h"

const struct fuzz_list fuzz_audit_list = {
	"audit", "/api/audit", &audit_list_spec,
};
