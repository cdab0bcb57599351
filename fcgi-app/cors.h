/*
 * Cross-origin requests (CORS).  Off unless the operator lists origins in
 * CORS_ORIGINS; then a listed origin gets its own name back (never "*"),
 * and a preflight (OPTIONS with Access-Control-Request-Method) on a known
 * path is answered by the router (worker.c) with the path's methods, before
 * authentication and without a handler.
 */
#ifndef CORS_H
#define CORS_H

struct req;

/*
 * Adds the CORS headers when r's Origin is allowed.  allow, for a
 * preflight, lists the path's methods.  Returns 1 when the origin was
 * allowed.
 */
int	cors_headers(struct req *, const char *allow);
/* 1 when r is a preflight request. */
int	cors_is_preflight(const struct req *);

#endif
