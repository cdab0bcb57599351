/*
 * FHIR R4 under /fhir/R4 (API.md, "FHIR R4").  fhir.c serves the
 * interactions (read, vread, history, search, create, update, delete) for
 * any FHIR type that maps a record of the JSON API, from the same
 * statements, so tokens, row-level security and audit rows are the same;
 * fhir-types.c says how each type maps its record.  The route table names
 * the type in each row's arg.
 */
#ifndef HANDLERS_FHIR_H
#define HANDLERS_FHIR_H

#include <stddef.h>

struct buf;
struct cJSON;
struct db_row;
struct list_spec;
struct resource;

#define FHIR_BASE	"/fhir/R4"

struct fhir_type {
	const char		*name;		/* "Patient" */
	const struct resource	*res;		/* its records (resource.h) */
	size_t			 updated_col;	/* meta.lastUpdated */
	/*
	 * Writes the members of the resource after its resourceType, id
	 * and meta: ",\"name\":[...]" and so on.  row holds the record's
	 * columns.
	 */
	void			(*members)(struct buf *, const struct db_row *);
	/*
	 * Copies what the FHIR resource in says into flat, as the JSON
	 * API's body of the record, whose checks and messages then apply.
	 */
	void			(*flatten)(const struct cJSON *in,
				    struct cJSON *flat);
	/* The JSON API's field names and their FHIR paths, in pairs,
	 * NULL-ended: for the issues of a 400. */
	const char *const	*paths;
	const struct list_spec	*search;
	/* Its entry in the CapabilityStatement, after "type". */
	const char		*capability;
};

/* fhir-types.c */
extern const struct fhir_type	fhir_patient, fhir_practitioner;

/* The extension that carries a patient's age (FHIR's Patient has none). */
#define FHIR_AGE_URL \
	"https://medrec.invalid/fhir/StructureDefinition/patient-age"

#endif
