/*
 * The handlers' own field-spec and list-spec tables, for the fuzz targets.
 * The tables are static in handlers/<resource>.c, so tables-<resource>.c
 * compiles that file whole (#include) and hands out pointers to them: the
 * targets check exactly what the service checks, and a renamed or removed
 * table breaks the fuzz build instead of leaving a stale copy behind.
 */
#ifndef FUZZ_TABLES_H
#define FUZZ_TABLES_H

#include <stddef.h>

#include "list.h"
#include "valid.h"

/* One JSON body: a handler's field-spec table. */
struct fuzz_fields {
	const char		*name;	/* "patient" */
	const struct field_spec	*spec;
	size_t			 n;
};

/* One collection: its list spec and the path its Link header names. */
struct fuzz_list {
	const char		*name;	/* "patients" */
	const char		*path;
	const struct list_spec	*spec;
};

/* handlers/auth.c: register_spec, login_spec, password_spec */
extern const struct fuzz_fields	fuzz_register_fields;
extern const struct fuzz_fields	fuzz_login_fields;
extern const struct fuzz_fields	fuzz_password_fields;
/* handlers/patients.c: patient_spec, patient_list_spec */
extern const struct fuzz_fields	fuzz_patient_fields;
extern const struct fuzz_list	fuzz_patient_list;
/* handlers/doctors.c: doctor_spec, doctor_list_spec */
extern const struct fuzz_fields	fuzz_doctor_fields;
extern const struct fuzz_list	fuzz_doctor_list;
/* handlers/mappings.c: mapping_spec, mapping_list_spec, mapped_list_spec */
extern const struct fuzz_fields	fuzz_mapping_fields;
extern const struct fuzz_list	fuzz_mapping_list;
extern const struct fuzz_list	fuzz_mapped_list;
/* handlers/audit.c: audit_list_spec */
extern const struct fuzz_list	fuzz_audit_list;

#endif
