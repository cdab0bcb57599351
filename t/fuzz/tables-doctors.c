/*
 * handlers/doctors.c compiled whole, so that the fuzz targets reach its
 * static field-spec and list-spec tables (see tables.h).  script/fuzz links
 * this object in place of handlers/doctors.o.
 */
#include "../../handlers/doctors.c"
#include "tables.h"

const struct fuzz_fields fuzz_doctor_fields = {
	"doctor", doctor_spec, NFIELDS(doctor_spec),
};
const struct fuzz_list fuzz_doctor_list = {
	"doctors", DOCTORS_PATH, &doctor_list_spec,
};
