/*
 * Every handler, one file per resource under handlers/, and the auth check
 * the worker runs before a protected route.  A handler validates its input,
 * calls db/, builds the response, and returns the status it set.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

struct req;

/*
 * Checks the bearer token and that its user exists and has not revoked it.
 * Returns 0 and sets r->user_id and r->claims, or sets a 401 (or 503) and
 * returns its status.
 */
int	auth_require(struct req *);

/* handlers/health.c */
int	health_get(struct req *);

/* handlers/openapi.c */
int	openapi_get(struct req *);
int	docs_get(struct req *);

/* handlers/auth.c */
int	auth_register(struct req *);
int	auth_login(struct req *);
int	auth_me(struct req *);
int	auth_logout(struct req *);
int	auth_logout_all(struct req *);
int	auth_password(struct req *);

/* handlers/patients.c */
int	patient_create(struct req *);
int	patient_list(struct req *);
int	patient_get(struct req *);
int	patient_put(struct req *);
int	patient_patch(struct req *);
int	patient_delete(struct req *);

/* handlers/doctors.c */
struct buf;
struct doctor;

int	doctor_create(struct req *);
int	doctor_list(struct req *);
int	doctor_get(struct req *);
int	doctor_put(struct req *);
int	doctor_patch(struct req *);
int	doctor_delete(struct req *);
/*
 * Appends a doctor's JSON members without the braces, so that the doctor
 * has one shape everywhere (handlers/mappings.c adds its own members).
 */
void	doctor_members(struct buf *, const struct doctor *);

/* handlers/mappings.c */
int	mapping_create(struct req *);
int	mapping_list(struct req *);
int	mapping_list_by_patient(struct req *);
int	mapping_delete(struct req *);

/* handlers/audit.c */
int	audit_list(struct req *);

/* handlers/metrics.c, on the internal listener only */
int	metrics_get(struct req *);
int	status_get(struct req *);

#endif
