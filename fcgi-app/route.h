/*
 * The route table: one row per endpoint, as in cgit's cmd.c.  Patterns are
 * literal segments and ":id" segments, which match only a positive 63-bit
 * integer (anything else is simply no match, hence 404 as API.md wants).
 */
#ifndef ROUTE_H
#define ROUTE_H

#include <stddef.h>
#include <stdint.h>

struct req;

typedef int	(*handler_fn)(struct req *);

enum route_auth {
	AUTH_NONE,	/* public */
	AUTH_USER,	/* a valid bearer token is required */
};

enum route_body {
	BODY_NONE,	/* a body, if sent, is not read */
	BODY_JSON,	/* application/json required (415 otherwise) */
};

struct route {
	const char	*method;
	const char	*pattern;
	handler_fn	 handler;
	enum route_auth	 auth;
	enum route_body	 body;
};

enum route_status {
	ROUTE_OK,
	ROUTE_NOT_FOUND,	/* 404 */
	ROUTE_BAD_METHOD,	/* 405; allow lists the path's methods */
};

/* The service's routes, ended by a row with a NULL method. */
extern const struct route	routes[];

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
