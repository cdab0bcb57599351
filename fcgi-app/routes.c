/*
 * The route table: every endpoint of the service, one row each.  A new
 * endpoint is a row here, a function in handlers/, its queries in db/, a
 * test in t/ and its entry in the OpenAPI document (a test keeps the table
 * and the document in step).
 */
#include <stddef.h>

#include "handlers.h"
#include "route.h"

const struct route routes[] = {
	{ "GET",    "/api/health",          health_get,      AUTH_NONE, BODY_NONE },
	{ "GET",    "/api/openapi.json",    openapi_get,     AUTH_NONE, BODY_NONE },
	{ "GET",    "/api/docs",            docs_get,        AUTH_NONE, BODY_NONE },

	{ "POST",   "/api/auth/register",   auth_register,   AUTH_NONE, BODY_JSON },
	{ "POST",   "/api/auth/login",      auth_login,      AUTH_NONE, BODY_JSON },
	{ "GET",    "/api/auth/me",         auth_me,         AUTH_USER, BODY_NONE },
	{ "POST",   "/api/auth/logout",     auth_logout,     AUTH_USER, BODY_NONE },
	{ "POST",   "/api/auth/logout-all", auth_logout_all, AUTH_USER, BODY_NONE },
	{ "PUT",    "/api/auth/password",   auth_password,   AUTH_USER, BODY_JSON },

	{ "POST",   "/api/patients",        patient_create,  AUTH_USER, BODY_JSON },
	{ "GET",    "/api/patients",        patient_list,    AUTH_USER, BODY_NONE },
	{ "GET",    "/api/patients/:id",    patient_get,     AUTH_USER, BODY_NONE },
	{ "PUT",    "/api/patients/:id",    patient_put,     AUTH_USER, BODY_JSON },
	{ "PATCH",  "/api/patients/:id",    patient_patch,   AUTH_USER, BODY_JSON },
	{ "DELETE", "/api/patients/:id",    patient_delete,  AUTH_USER, BODY_NONE },

	{ "POST",   "/api/doctors",         doctor_create,   AUTH_USER, BODY_JSON },
	{ "GET",    "/api/doctors",         doctor_list,     AUTH_NONE, BODY_NONE },
	{ "GET",    "/api/doctors/:id",     doctor_get,      AUTH_NONE, BODY_NONE },
	{ "PUT",    "/api/doctors/:id",     doctor_put,      AUTH_USER, BODY_JSON },
	{ "PATCH",  "/api/doctors/:id",     doctor_patch,    AUTH_USER, BODY_JSON },
	{ "DELETE", "/api/doctors/:id",     doctor_delete,   AUTH_USER, BODY_NONE },

	{ "POST",   "/api/mappings",        mapping_create,  AUTH_USER, BODY_JSON },
	{ "GET",    "/api/mappings",        mapping_list,    AUTH_USER, BODY_NONE },
	{ "GET",    "/api/mappings/patient/:id", mapping_list_by_patient, AUTH_USER, BODY_NONE },
	{ "DELETE", "/api/mappings/:id",    mapping_delete,  AUTH_USER, BODY_NONE },

	{ "GET",    "/api/audit",           audit_list,      AUTH_USER, BODY_NONE },

	/* Not under /api: only the internal listener passes these on. */
	{ "GET",    "/metrics",             metrics_get,     AUTH_NONE, BODY_NONE },
	{ "GET",    "/status",              status_get,      AUTH_NONE, BODY_NONE },

	{ NULL,		NULL,		NULL,		AUTH_NONE, BODY_NONE },
};
