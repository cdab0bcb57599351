/*
 * handlers/patients.c compiled whole, so that the fuzz targets reach its
 * static field-spec and list-spec tables (see tables.h).  script/fuzz links
 * this object in place of handlers/patients.o.
 */
#include "../../handlers/patients.c"
#include "tables.h"

const struct fuzz_fields fuzz_patient_fields = {
	"patient", patient_spec, NFIELDS(patient_spec),
};
const struct fuzz_list fuzz_patient_list = {
	"patients", PATIENTS_PATH, &patient_list_spec,
};
