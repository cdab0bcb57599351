/*
 * The route table: every endpoint of the service, one row each, and the
 * application as the pool knows it (struct app).  A new endpoint is a row
 * here, a function in handlers/ (or a descriptor for the generic ones of
 * resource.c), its queries in db/, a test in t/ and its entry in the
 * OpenAPI document (a test keeps the table and the document in step).
 */
#include <stddef.h>

#include "db.h"
#include "fhir.h"
#include "handlers.h"
#include "metrics.h"
#include "resource.h"
#include "route.h"

static const struct route routes[] = {
	{ "GET",    "/api/health",          health_get,      AUTH_NONE, BODY_NONE, NULL },
	{ "GET",    "/api/openapi.json",    openapi_get,     AUTH_NONE, BODY_NONE, NULL },
	{ "GET",    "/api/docs",            docs_get,        AUTH_NONE, BODY_NONE, NULL },

	{ "POST",   "/api/auth/register",   auth_register,   AUTH_NONE, BODY_JSON, NULL },
	{ "POST",   "/api/auth/login",      auth_login,      AUTH_NONE, BODY_JSON, NULL },
	{ "GET",    "/api/auth/me",         auth_me,         AUTH_USER, BODY_NONE, NULL },
	{ "POST",   "/api/auth/logout",     auth_logout,     AUTH_USER, BODY_NONE, NULL },
	{ "POST",   "/api/auth/logout-all", auth_logout_all, AUTH_USER, BODY_NONE, NULL },
	{ "PUT",    "/api/auth/password",   auth_password,   AUTH_USER, BODY_JSON, NULL },

	{ "POST",   "/api/patients",        record_create,   AUTH_USER, BODY_JSON, &patients },
	{ "GET",    "/api/patients",        collection_get,  AUTH_USER, BODY_NONE, &patient_list },
	{ "GET",    "/api/patients/:id",    record_get,      AUTH_USER, BODY_NONE, &patients },
	{ "PUT",    "/api/patients/:id",    record_put,      AUTH_USER, BODY_JSON, &patients },
	{ "PATCH",  "/api/patients/:id",    record_patch,    AUTH_USER, BODY_JSON, &patients },
	{ "DELETE", "/api/patients/:id",    record_delete,   AUTH_USER, BODY_NONE, &patients },
	{ "POST",   "/api/patients/:id/restore", record_restore, AUTH_USER, BODY_NONE, &patients },
	{ "GET",    "/api/patients/:id/history", collection_get, AUTH_USER, BODY_NONE, &patient_history },
	{ "GET",    "/api/patients/:id/history/:version", record_version, AUTH_USER, BODY_NONE, &patients },
	{ "GET",    "/api/patients/:id/export", patient_export, AUTH_USER, BODY_NONE, NULL },

	{ "POST",   "/api/doctors",         record_create,   AUTH_USER, BODY_JSON, &doctors },
	{ "GET",    "/api/doctors",         collection_get,  AUTH_NONE, BODY_NONE, &doctor_list },
	{ "GET",    "/api/doctors/:id",     record_get,      AUTH_NONE, BODY_NONE, &doctors },
	{ "PUT",    "/api/doctors/:id",     record_put,      AUTH_USER, BODY_JSON, &doctors },
	{ "PATCH",  "/api/doctors/:id",     record_patch,    AUTH_USER, BODY_JSON, &doctors },
	{ "DELETE", "/api/doctors/:id",     record_delete,   AUTH_USER, BODY_NONE, &doctors },
	{ "POST",   "/api/doctors/:id/restore", record_restore, AUTH_USER, BODY_NONE, &doctors },
	{ "GET",    "/api/doctors/:id/history", collection_get, AUTH_USER, BODY_NONE, &doctor_history },
	{ "GET",    "/api/doctors/:id/history/:version", record_version, AUTH_USER, BODY_NONE, &doctors },

	{ "POST",   "/api/mappings",        mapping_create,  AUTH_USER, BODY_JSON, NULL },
	{ "GET",    "/api/mappings",        collection_get,  AUTH_USER, BODY_NONE, &mapping_list },
	{ "GET",    "/api/mappings/patient/:id", collection_get, AUTH_USER, BODY_NONE, &patient_doctor_list },
	{ "DELETE", "/api/mappings/:id",    mapping_delete,  AUTH_USER, BODY_NONE, NULL },

	{ "GET",    "/api/audit",           collection_get,  AUTH_USER, BODY_NONE, &audit_list },

	/* FHIR R4 (handlers/fhir.c): the type of each is its arg. */
	{ "GET",    "/fhir/R4/metadata",    fhir_metadata,   AUTH_NONE, BODY_NONE, NULL },
	{ "GET",    "/fhir/R4/Patient",     fhir_search,     AUTH_USER, BODY_NONE, &fhir_patient },
	{ "POST",   "/fhir/R4/Patient",     fhir_create,     AUTH_USER, BODY_FHIR, &fhir_patient },
	{ "GET",    "/fhir/R4/Patient/:id", fhir_read,       AUTH_USER, BODY_NONE, &fhir_patient },
	{ "PUT",    "/fhir/R4/Patient/:id", fhir_update,     AUTH_USER, BODY_FHIR, &fhir_patient },
	{ "DELETE", "/fhir/R4/Patient/:id", fhir_delete,     AUTH_USER, BODY_NONE, &fhir_patient },
	{ "GET",    "/fhir/R4/Patient/:id/_history", fhir_history, AUTH_USER, BODY_NONE, &fhir_patient },
	{ "GET",    "/fhir/R4/Patient/:id/_history/:version", fhir_vread, AUTH_USER, BODY_NONE, &fhir_patient },
	{ "GET",    "/fhir/R4/Practitioner", fhir_search,    AUTH_NONE, BODY_NONE, &fhir_practitioner },
	{ "POST",   "/fhir/R4/Practitioner", fhir_create,    AUTH_USER, BODY_FHIR, &fhir_practitioner },
	{ "GET",    "/fhir/R4/Practitioner/:id", fhir_read,  AUTH_NONE, BODY_NONE, &fhir_practitioner },
	{ "PUT",    "/fhir/R4/Practitioner/:id", fhir_update, AUTH_USER, BODY_FHIR, &fhir_practitioner },
	{ "DELETE", "/fhir/R4/Practitioner/:id", fhir_delete, AUTH_USER, BODY_NONE, &fhir_practitioner },
	{ "GET",    "/fhir/R4/Practitioner/:id/_history", fhir_history, AUTH_USER, BODY_NONE, &fhir_practitioner },
	{ "GET",    "/fhir/R4/Practitioner/:id/_history/:version", fhir_vread, AUTH_USER, BODY_NONE, &fhir_practitioner },
	{ "GET",    "/fhir/R4/CareTeam",    fhir_careteam_search, AUTH_USER, BODY_NONE, NULL },
	{ "GET",    "/fhir/R4/CareTeam/:id", fhir_careteam_read, AUTH_USER, BODY_NONE, NULL },

	/* Not under /api: only the internal listener passes these on. */
	{ "GET",    "/metrics",             metrics_get,     AUTH_NONE, BODY_NONE, NULL },
	{ "GET",    "/status",              status_get,      AUTH_NONE, BODY_NONE, NULL },

	{ NULL,     NULL,                   NULL,            AUTH_NONE, BODY_NONE, NULL },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]) - 1)
_Static_assert(NROUTES <= METRICS_ROUTES,
    "metrics.h: METRICS_ROUTES must count every route");

const struct app app = {
	.routes = routes,
	.nroutes = NROUTES,
	.check = db_conf_check,
	.migrate = db_migrate,
	.purge = db_purge,
	.verify = db_role_check,
	.prefork = app_prefork,
	.worker_init = app_worker_init,
	.worker_fini = app_worker_fini,
	.authenticate = auth_require,
	.error_body = fhir_error_body,
};
