/*
 * handlers/mappings.c compiled whole, so that the fuzz targets reach its
 * static field-spec and list-spec tables (see tables.h).  script/fuzz links
 * this object in place of handlers/mappings.o.
 */
#include "../../handlers/mappings.c"
#include "tables.h"

const struct fuzz_fields fuzz_mapping_fields = {
	"mapping", mapping_spec, NFIELDS(mapping_spec),
};
const struct fuzz_list fuzz_mapping_list = {
	"mappings", MAPPINGS_PATH, &mapping_list_spec,
};
/* GET /api/mappings/patient/:id, a patient's doctors. */
const struct fuzz_list fuzz_mapped_list = {
	"mappings-by-patient", MAPPINGS_PATH "/patient/1", &mapped_list_spec,
};
