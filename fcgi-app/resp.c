/*
 * Building responses: headers, JSON bodies and RFC 9457 problem documents,
 * plus the request id rule.  The worker writes the result out in one go
 * (worker.c), so a handler never touches the FastCGI stream; one that
 * streams its body does it through resp_stream_begin() and
 * resp_stream_flush().
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <fcgiapp.h>
#include <openssl/rand.h>

#include "arena.h"
#include "json.h"
#include "req.h"
#include "route.h"
#include "valid.h"

const char *
req_param(const struct req *r, const char *name)
{
	size_t	 n = strlen(name);
	char	**e;

	for (e = r->envp; e != NULL && *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
reqid_valid(const char *s)
{
	size_t	 n;

	if (s == NULL)
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n == REQID_MAX)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	}
	return n > 0;
}

void
reqid_new(char id[REQID_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 rnd[16];
	size_t		 i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		arena_oom();	/* XXX: the CSPRNG failing is as fatal */
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 15];
	}
	id[2 * sizeof(rnd)] = '\0';
}

void
resp_header(struct req *r, const char *name, const char *fmt, ...)
{
	va_list	 ap;

	buf_puts(&r->headers, name);
	buf_add(&r->headers, ": ", 2);
	va_start(ap, fmt);
	buf_vprintf(&r->headers, fmt, ap);
	va_end(ap);
	buf_add(&r->headers, "\r\n", 2);
}

void
resp_header_remove(struct req *r, const char *name)
{
	struct buf	*h = &r->headers;
	size_t		 n = strlen(name), i = 0, end;
	char		*line, *nl;

	while (i < h->len) {
		line = h->data + i;
		nl = memchr(line, '\n', h->len - i);
		end = nl != NULL ? (size_t)(nl - h->data) + 1 : h->len;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			memmove(line, h->data + end, h->len - end + 1);
			h->len -= end - i;
		} else
			i = end;
	}
}

const char *
resp_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default:  return "Error";
	}
}

void
resp_head(struct req *r, struct buf *h, int length)
{
	buf_printf(h, "Status: %d %s\r\n", r->status, resp_reason(r->status));
	buf_add(h, r->headers.data, r->headers.len);
	buf_printf(h, "X-Request-Id: %s\r\n", r->id);
	buf_puts(h, "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n");
	/* Here and only here, so that a response never carries two
	 * policies: a browser would enforce both. */
	buf_printf(h, "Content-Security-Policy: %s\r\n",
	    r->csp != NULL ? r->csp : CSP_NONE);
	buf_puts(h, "Referrer-Policy: no-referrer\r\n");
	if (length && r->status != 204 && r->status != 304)
		buf_printf(h, "Content-Length: %zu\r\n", r->out.len);
	buf_add(h, "\r\n", 2);
}

int
resp_stream_begin(struct req *r, int status)
{
	struct buf	 h;

	r->status = status;
	r->streamed = 1;
	buf_init(&h, r->arena, 512 + r->headers.len);
	resp_head(r, &h, 0);
	return FCGX_PutStr(h.data, (int)h.len, r->stream) < 0 ? -1 : 0;
}

int
resp_stream_flush(struct req *r)
{
	int	 rc = 0;

	if (strcmp(r->method, "HEAD") != 0 && r->out.len > 0 &&
	    FCGX_PutStr(r->out.data, (int)r->out.len, r->stream) < 0)
		rc = -1;
	r->out.len = 0;
	return rc;
}

int
reply_json(struct req *r, int status)
{
	r->status = status;
	resp_header(r, "Content-Type", "application/json");
	return status;
}

int
reply_empty(struct req *r, int status)
{
	r->status = status;
	r->out.len = 0;
	r->out.data[0] = '\0';
	return status;
}

/* Starts a problem document in r->out, leaving it open for more members. */
static void
problem_start(struct req *r, int status, const char *detail)
{
	r->status = status;
	r->out.len = 0;
	buf_puts(&r->out, "{\"type\":\"about:blank\",\"title\":");
	json_cstr(&r->out, resp_reason(status));
	buf_printf(&r->out, ",\"status\":%d", status);
	if (detail != NULL) {
		buf_puts(&r->out, ",\"detail\":");
		json_cstr(&r->out, detail);
	}
	resp_header(r, "Content-Type", "application/problem+json");
}

/* The application's own kind of error body, when it has one for r. */
static int
error_body(struct req *r, int status, const char *detail,
    const struct field_errors *errs)
{
	if (app.error_body == NULL)
		return 0;
	r->out.len = 0;
	if (!app.error_body(r, status, detail, errs))
		return 0;
	r->status = status;
	return 1;
}

int
problem(struct req *r, int status, const char *fmt, ...)
{
	va_list		 ap;
	struct buf	 detail;

	if (fmt != NULL) {
		buf_init(&detail, r->arena, 128);
		va_start(ap, fmt);
		buf_vprintf(&detail, fmt, ap);
		va_end(ap);
	}
	if (error_body(r, status, fmt != NULL ? detail.data : NULL, NULL))
		return status;
	problem_start(r, status, fmt != NULL ? detail.data : NULL);
	buf_putc(&r->out, '}');
	return status;
}

int
problem_fields(struct req *r, const struct field_errors *errs)
{
	const char	*detail;
	size_t		 i;

	detail = errs->n == 1 ? "1 field is invalid" :
	    arena_printf(r->arena, "%zu fields are invalid", errs->n);
	if (error_body(r, 400, detail, errs))
		return 400;
	problem_start(r, 400, detail);
	buf_puts(&r->out, ",\"errors\":[");
	for (i = 0; i < errs->n; i++) {
		buf_puts(&r->out, i ? ",{" : "{");
		json_key(&r->out, "field", 1);
		json_cstr(&r->out, errs->v[i].field);
		json_key(&r->out, "message", 0);
		json_cstr(&r->out, errs->v[i].message);
		buf_putc(&r->out, '}');
	}
	buf_puts(&r->out, "]}");
	return 400;
}
