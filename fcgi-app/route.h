/*
 * The route table: one row per endpoint, as in cgit's cmd.c.  Patterns are
 * literal segments and ":id" segments, which match only a positive 63-bit
 * integer (anything else is simply no match, hence 404 as API.md wants).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct field_errors;
struct req;

typedef int	(*handler_fn)(struct req *);

enum route_auth {
	AUTH_NONE,	/* public */
	AUTH_USER,	/* a valid bearer token is required */
};

enum route_body {
	BODY_NONE,	/* a body, if sent, is not read */
	BODY_JSON,	/* application/json required (415 otherwise) */
	BODY_FHIR,	/* application/fhir+json or application/json */
};

/*
 * arg is what a generic handler serves (a resource, a collection), which
 * it finds as r->route->arg; NULL for the others.
 */
struct route {
	const char	*method;
	const char	*pattern;
	handler_fn	 handler;
	enum route_auth	 auth;
	enum route_body	 body;
	const void	*arg;
};

enum route_status {
	ROUTE_OK,
	ROUTE_NOT_FOUND,	/* 404 */
	ROUTE_BAD_METHOD,	/* 405; allow lists the path's methods */
};

struct conf;

/*
 * What the pool knows of the application (handlers/app.c): its routes, and
 * the hooks it runs at the points of a process's life, the way nginx's core
 * knows a module only through its ngx_module_t.
 */
struct app {
	/* The routes, ended by a row with a NULL method; nroutes rows. */
	const struct route	*routes;
	size_t			 nroutes;
	/* Checks settings conf_load() leaves alone: 0, or -1 with err. */
	int	(*check)(const struct conf *, char *err, size_t errlen);
	/* Brings the database schema up to date: 0, or -1 after logging. */
	int	(*migrate)(const struct conf *);
	/* Removes what the retention settings say is due: 0, or -1. */
	int	(*purge)(const struct conf *);
	/*
	 * Checks what the service will run as: 0 to go ahead, -1 after
	 * logging why it must not (a role that owns the tables, say).
	 */
	int	(*verify)(const struct conf *);
	/* In the master, before the first fork: work workers inherit. */
	void	(*prefork)(const struct conf *);
	/* In each worker, at its start and its end. */
	void	(*worker_init)(const struct conf *);
	void	(*worker_fini)(void);
	/*
	 * Before an AUTH_USER route's handler: 0 when the caller is who it
	 * says, else the status of the answer it set (401).
	 */
	int	(*authenticate)(struct req *);
	/*
	 * Writes the error body of a request whose API has errors of its
	 * own kind (FHIR's OperationOutcome) and returns 1, or returns 0
	 * for a problem document.  errs is NULL but for a 400 of fields.
	 */
	int	(*error_body)(struct req *, int status, const char *detail,
		    const struct field_errors *errs);
};

extern const struct app		app;

/*
 * Finds the row of table for method and path.  HEAD matches GET rows.  On
 * ROUTE_OK sets *found and the :id values in ids (up to PATH_IDS_MAX); on
 * ROUTE_BAD_METHOD writes "GET, PUT, ..." into allow.
 */
enum route_status	route_find(const struct route *table,
			    const char *method, const char *path,
			    const struct route **found, int64_t *ids,
			    char *allow, size_t allowlen);

#endif
