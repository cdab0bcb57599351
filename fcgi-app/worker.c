/*
 * A worker: accept a FastCGI request, build struct req with its arena,
 * route, call the handler, write the response, log one line, free.  One
 * request at a time, as in kcgi's sample-fcgi.c.
 *
 * Stopping gracefully without a race: SIGTERM and SIGHUP stay blocked while
 * a request is served and are let in only inside epoll_pwait(), which swaps
 * the signal mask atomically.  A signal therefore either finds the worker
 * idle (it wakes up and leaves) or waits until the request is answered.  The
 * listening socket is non-blocking, so a worker that loses the race for a
 * connection to a sibling goes back to waiting instead of sleeping in
 * accept() with signals blocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "cors.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "req.h"
#include "route.h"

#define IDLE_POLL_MS	1000

static volatile sig_atomic_t	 stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Media type type, optionally with parameters such as charset. */
static int
is_type(const char *ct, const char *type)
{
	size_t	 n = strlen(type);

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * Reads the body into the arena.  Returns 0, or the status of the problem
 * it set (413 for a body over BODY_MAX, 400 for a short one).
 */
static int
read_body(struct req *r, FCGX_Stream *in)
{
	const char	*cl = req_param(r, "CONTENT_LENGTH");
	char		*end, *p;
	long long	 n;
	int		 got;

	if (cl == NULL || *cl == '\0')
		return 0;
	n = strtoll(cl, &end, 10);
	if (*end != '\0' || n < 0)
		return problem(r, 400, "invalid Content-Length");
	if (n > BODY_MAX)
		return problem(r, 413, "the body is larger than %d bytes",
		    BODY_MAX);
	p = arena_alloc(r->arena, (size_t)n + 1);
	got = FCGX_GetStr(p, (int)n, in);
	if (got != n)
		return problem(r, 400, "the body is shorter than its "
		    "Content-Length");
	p[n] = '\0';
	r->body = p;
	r->body_len = (size_t)n;
	return 0;
}

/* Routes and runs the handler; every path out leaves r->status set. */
static void
dispatch(struct req *r, FCGX_Stream *in)
{
	const struct route	*rt;
	const char		*ct;
	char			 allow[128];

	switch (route_find(app.routes, r->method, r->path, &rt, r->ids, allow,
	    sizeof(allow))) {
	case ROUTE_NOT_FOUND:
		cors_headers(r, NULL);
		problem(r, 404, "no such resource");
		return;
	case ROUTE_BAD_METHOD:
		if (cors_is_preflight(r) && cors_headers(r, allow)) {
			reply_empty(r, 204);
			return;
		}
		resp_header(r, "Allow", "%s", allow);
		cors_headers(r, NULL);
		problem(r, 405, "%s is not allowed here", r->method);
		return;
	case ROUTE_OK:
		break;
	}
	cors_headers(r, NULL);
	r->route = rt;
	ct = req_param(r, "CONTENT_TYPE");
	if (rt->body == BODY_JSON && !is_type(ct, "application/json")) {
		problem(r, 415, "send the body as application/json");
		return;
	}
	if (rt->body == BODY_FHIR && !is_type(ct, "application/fhir+json") &&
	    !is_type(ct, "application/json")) {
		problem(r, 415, "send the body as application/fhir+json");
		return;
	}
	if (rt->body != BODY_NONE && read_body(r, in) != 0)
		return;
	if (rt->auth == AUTH_USER && app.authenticate(r) != 0)
		return;
	if (rt->handler(r) == 0 || r->status == 0) {
		log_msg(r->id, "error", "handler for %s %s set no status",
		    r->method, rt->pattern);
		problem(r, 500, NULL);
	}
}

/* Writes the status line, headers and body in one FastCGI stream write,
 * unless the handler streamed them itself. */
static void
respond(struct req *r)
{
	struct buf	 h;

	if (r->streamed)
		return;
	buf_init(&h, r->arena, 512 + r->headers.len + r->out.len);
	resp_head(r, &h, 1);
	if (r->status != 204 && r->status != 304 &&
	    strcmp(r->method, "HEAD") != 0)
		buf_add(&h, r->out.data, r->out.len);
	FCGX_PutStr(h.data, (int)h.len, r->stream);
}

/*
 * Reads what is left of the request's stdin, up to its end.  Once the web
 * server has sent that end it sends nothing more on the connection, so
 * the connection can be closed at once: libfcgi's usual close (shut down
 * the sending side, then wait up to 2 s for the peer to close first, so
 * that unread input cannot turn into a reset) costs the worker a sleep and
 * a wake-up on every request.  Returns whether the end was seen.
 */
static int
stdin_drained(FCGX_Stream *in)
{
	char	 trash[1024];

	while (FCGX_GetStr(trash, sizeof(trash), in) > 0)
		continue;
	return FCGX_HasSeenEOF(in) && FCGX_GetError(in) == 0;
}

/* Serves one accepted request from start to log line. */
static void
serve(const struct conf *c, struct arena *a, FCGX_Request *fr)
{
	struct req	 r;
	const char	*id;
	double		 t0 = now_ms(), ms;

	memset(&r, 0, sizeof(r));
	r.arena = a;
	r.conf = c;
	r.envp = fr->envp;
	r.now = (int64_t)time(NULL);
	buf_init(&r.headers, a, 512);
	buf_init(&r.out, a, 2048);
	r.stream = fr->out;

	if ((r.method = req_param(&r, "REQUEST_METHOD")) == NULL)
		r.method = "GET";
	if ((r.path = req_param(&r, "PATH_INFO")) == NULL || *r.path == '\0')
		r.path = req_param(&r, "DOCUMENT_URI");
	if (r.path == NULL)
		r.path = "/";
	if ((r.query = req_param(&r, "QUERY_STRING")) == NULL)
		r.query = "";
	if ((r.remote_addr = req_param(&r, "REMOTE_ADDR")) == NULL)
		r.remote_addr = "";
	/*
	 * The web server's id first: it is the one its access log holds, and
	 * the sites make it the client's own when that is sane.  Then the
	 * client's header (a web server that passes no REQUEST_ID), then ours.
	 */
	if (reqid_valid(id = req_param(&r, "REQUEST_ID")) ||
	    reqid_valid(id = req_param(&r, "HTTP_X_REQUEST_ID")))
		strcpy(r.id, id);
	else
		reqid_new(r.id);

	dispatch(&r, fr->in);
	respond(&r);
	/* FCGX_Finish_r frees the params that method and path point into. */
	r.method = arena_strdup(a, r.method);
	r.path = arena_strdup(a, r.path);
	if (stdin_drained(fr->in))
		FCGX_Detach(fr);
	FCGX_Finish_r(fr);
	ms = now_ms() - t0;
	metrics_request(r.route != NULL ? (int)(r.route - app.routes) : -1,
	    r.status, (uint64_t)(ms * 1000));
	log_request(&r, ms);
	/* Runs the request's cleanups, among them the rollback of a
	 * transaction a handler left open. */
	arena_reset(a);
}

void
worker_run(const struct conf *c, int fd)
{
	struct sigaction	 sa;
	struct epoll_event	 ev;
	sigset_t		 block, waitmask, pending;
	FCGX_Request		 fr;
	struct arena		*a;
	long			 served = 0;
	int			 ep;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);	/* a vanished client is an EPIPE */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGINT);

	/* EPOLLEXCLUSIVE wakes one idle worker per connection, not all. */
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_msg(NULL, "error", "epoll_create1: %s", strerror(errno));
		_exit(1);
	}
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		log_msg(NULL, "error", "epoll_ctl: %s", strerror(errno));
		_exit(1);
	}

	app.worker_init(c);
	a = arena_new();
	FCGX_InitRequest(&fr, fd, FCGI_FAIL_ACCEPT_ON_INTR);
	while (!stopping) {
		/*
		 * EPOLLEXCLUSIVE wakes one idle worker per connection.  If
		 * that worker is being stopped (SIGHUP, SIGTERM) it leaves
		 * without accepting, and the connection would wait, with no
		 * one woken for it, until the next one arrives or nginx gives
		 * up.  So an idle worker also tries to accept once a second.
		 */
		if (epoll_pwait(ep, &ev, 1, IDLE_POLL_MS, &waitmask) == -1) {
			if (errno != EINTR)
				log_msg(NULL, "error", "epoll_pwait: %s",
				    strerror(errno));
			continue;
		}
		/* epoll_pwait reports a waiting connection before it lets a
		 * pending signal in: a stop must not take new requests. */
		if (sigpending(&pending) == 0 &&
		    (sigismember(&pending, SIGTERM) ||
		    sigismember(&pending, SIGHUP) ||
		    sigismember(&pending, SIGINT)))
			break;
		if (FCGX_Accept_r(&fr) < 0)
			continue;	/* a sibling took it (EAGAIN) */
		if (metrics_self != NULL)
			metrics_self->busy = 1;
		serve(c, a, &fr);
		if (metrics_self != NULL)
			metrics_self->busy = 0;
		if (c->max_requests > 0 && ++served >= c->max_requests) {
			log_msg(NULL, "info", "worker recycled after %ld "
			    "requests", served);
			break;
		}
	}
	FCGX_Free(&fr, 1);
	arena_free(a);
	app.worker_fini();
	_exit(0);
}
