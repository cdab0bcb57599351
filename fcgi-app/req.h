/*
 * One request as a handler sees it: what the web server sent, the checked
 * identity of the caller, and the response being built.  Everything hangs
 * off the request's arena and is freed in one call when the request ends.
 */
#ifndef REQ_H
#define REQ_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "jwt.h"

#define REQID_MAX	64
#define BODY_MAX	(64 * 1024)	/* API.md: larger bodies get 413 */
#define PATH_IDS_MAX	2
/*
 * The Content-Security-Policy of every response whose handler set no other
 * in r->csp: a JSON API needs a browser to run, load or frame nothing.
 */
#define CSP_NONE	"default-src 'none'; frame-ancestors 'none'"

struct conf;
struct route;
struct field_errors;
struct FCGX_Stream;

struct req {
	struct arena		*arena;
	const struct conf	*conf;
	char			**envp;		/* FastCGI params */

	const char		*method;
	const char		*path;
	const char		*query;		/* raw, may be "" */
	const char		*remote_addr;
	char			 id[REQID_MAX + 1];
	const char		*body;		/* NULL when none was sent */
	size_t			 body_len;
	int64_t			 now;		/* seconds, at start */

	const struct route	*route;
	int64_t			 ids[PATH_IDS_MAX];	/* the :id parts */

	int64_t			 user_id;	/* 0: anonymous */
	struct jwt_claims	 claims;	/* valid when user_id != 0 */
	void			*app;		/* the application's state */

	int			 status;	/* 0 until a reply is set */
	struct buf		 headers;	/* "Name: value\r\n" lines */
	const char		*csp;		/* NULL: CSP_NONE */
	struct buf		 out;		/* the body */
	struct FCGX_Stream	*stream;	/* where it goes */
	int			 streamed;	/* the head has been sent */
};

/* A FastCGI parameter such as "HTTP_IF_MATCH", or NULL. */
const char	*req_param(const struct req *, const char *name);

/*
 * Checks a client's request id: 1 to REQID_MAX characters of
 * [A-Za-z0-9._-].  Returns 1 when it may be used as is.
 */
int		 reqid_valid(const char *);
/* Writes a fresh random request id (32 hex digits) into id. */
void		 reqid_new(char id[REQID_MAX + 1]);

/* Adds a response header; value is formatted. */
void		 resp_header(struct req *, const char *name, const char *fmt,
		    ...) __attribute__((format(printf, 3, 4)));

/* Removes every header called name (any case) that was added. */
void		 resp_header_remove(struct req *, const char *name);

/*
 * The replies.  Each sets the status and body and returns the status so a
 * handler can end with "return reply_json(r, 200);".
 */
/* r->out already holds the JSON document. */
int		 reply_json(struct req *, int status);
/* No body (204, 304). */
int		 reply_empty(struct req *, int status);
/* An RFC 9457 problem document; detail is formatted, may be NULL. */
int		 problem(struct req *, int status, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* 400 with one "errors" entry per bad field. */
int		 problem_fields(struct req *, const struct field_errors *);
/* The reason phrase of status ("Not Found"). */
const char	*resp_reason(int status);

/*
 * The status line and headers of r's response, those every response
 * carries included, ended by the empty line: what the worker sends first.
 * With length, a Content-Length of r->out (never on 204 and 304).
 */
void		 resp_head(struct req *, struct buf *, int length);

/*
 * A body too large to build in memory (an export) is streamed: the head
 * goes at once, with no Content-Length, then each resp_stream_flush()
 * sends what r->out holds and empties it.  Both return -1 when the client
 * is gone.  The worker sends nothing more for a streamed response.
 */
int		 resp_stream_begin(struct req *, int status);
int		 resp_stream_flush(struct req *);

#endif
