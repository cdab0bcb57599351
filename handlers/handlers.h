/*
 * What the files of handlers/ share: the request's database context, the
 * one mapping of database answers to HTTP, the glue between request input
 * and typed values, safe retries, and the handlers that are not generic
 * (resource.h has those that are).  A handler validates its input, calls
 * db/, builds the response and returns the status it set.
 */
#ifndef HANDLERS_H
#define HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "page.h"
#include "valid.h"

#define NELEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct collection;
struct db_page;
struct list_spec;
struct req;

/* handlers/app.c: the request's database context, made on first use. */
struct db_ctx	*req_db(struct req *);
/* The hooks of struct app (routes.c): the worker's connection, and the
 * dummy hash for unknown emails, made once in the master so that every
 * worker inherits it and no login pays for it. */
struct conf;
void		 app_worker_init(const struct conf *);
void		 app_worker_fini(void);
void		 app_prefork(const struct conf *);

/*
 * handlers/reply.c: the answer to a database status other than DB_OK, the
 * one place they become HTTP.  kind and id name the record ("patient",
 * 7) for 404 and 412; conflict, when not NULL, is the detail of a 409.
 */
int		 reply_db(struct req *, enum db_status, const char *kind,
		    int64_t id, const char *conflict);
/* "ETag: \"version\"" for a single record; returns the value. */
const char	*etag(struct req *, int64_t version);
/* "Location: path/id" for a created record; returns the value. */
const char	*location(struct req *, const char *path, int64_t id);
/*
 * Answers a list request with its page: the JSON array of the page's rows,
 * the Link header with the next cursor, and, when total >= 0,
 * X-Total-Count.
 */
int		 list_reply(struct req *, const struct collection *,
		    const struct page_query *, const struct db_page *,
		    int64_t total);

/*
 * handlers/input.c: r's body against spec into v.  Returns 0, or sets the
 * 400 and returns its status.
 */
int		 body_fields(struct req *, const struct field_spec *, size_t,
		    enum valid_mode, struct field_value *v);
/*
 * r's query for a collection into q.  Returns 0, or sets the 400 and
 * returns its status.  *want_count is set from Prefer: count=exact.
 */
int		 list_begin(struct req *, const struct list_spec *,
		    struct page_query *q, int *want_count);
/*
 * An If-Match or If-None-Match header (param, as "HTTP_IF_MATCH") as the
 * versions it names.  If-Match compares strongly: a weak W/"3" never
 * matches it; If-None-Match compares weakly.
 */
void		 versions(struct req *, const char *param, int weak,
		    struct db_versions *);
/* 1 when version is one that v names (or v is "*"). */
int		 versions_match(const struct db_versions *, int64_t version);

/*
 * handlers/idempotency.c: safe retries for a POST that creates (API.md
 * "Safe retries").  Before creating: returns 0 to go ahead, with *key the
 * request's Idempotency-Key or NULL and, for a key, the transaction begun
 * and the key claimed; or the status of the answer it set (a replay, 400,
 * 409, 422, 503).  After the create has set its 201: stores the reply with
 * the key and commits; returns the final status.
 */
int		 idempotency_begin(struct req *, const char **key);
int		 idempotency_finish(struct req *, const char *key,
		    const char *location, const char *etag);

/*
 * The bodies the handlers below take (the fuzz targets check them too):
 * handlers/auth.c and handlers/mappings.c.
 */
extern const struct field_spec	register_fields[3], login_fields[2],
				password_fields[2], mapping_fields[2];

/* handlers/auth.c; auth_require() is the app's authenticate hook. */
int	auth_require(struct req *);
int	auth_register(struct req *);
int	auth_login(struct req *);
int	auth_me(struct req *);
int	auth_logout(struct req *);
int	auth_logout_all(struct req *);
int	auth_password(struct req *);

/* handlers/fhir.c; fhir_error_body() is the app's error_body hook. */
int	fhir_error_body(struct req *, int status, const char *detail,
	    const struct field_errors *);
int	fhir_metadata(struct req *);
int	fhir_search(struct req *);
int	fhir_create(struct req *);
int	fhir_read(struct req *);
int	fhir_update(struct req *);
int	fhir_delete(struct req *);
int	fhir_history(struct req *);
int	fhir_vread(struct req *);
int	fhir_careteam_search(struct req *);
int	fhir_careteam_read(struct req *);

/* handlers/mappings.c */
int	mapping_create(struct req *);
int	patient_export(struct req *);
int	mapping_delete(struct req *);

/* handlers/health.c, handlers/openapi.c */
int	health_get(struct req *);
int	openapi_get(struct req *);
int	docs_get(struct req *);

/* handlers/metrics.c, on the internal listener only */
int	metrics_get(struct req *);
int	status_get(struct req *);

#endif
