/*
 * Handler helpers shared by every resource; see common.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common.h"
#include "idempotency.h"
#include "req.h"

int
body_fields(struct req *r, const struct field_spec *spec, size_t n,
    enum valid_mode mode, struct field_value *v)
{
	struct field_errors	 errs = { NULL, 0, 0 };

	switch (valid_body(r->arena, r->body, r->body_len, spec, n, mode, v,
	    &errs)) {
	case VALID_OK:
		return 0;
	case VALID_NOT_JSON:
		return problem(r, 400, "the body is not valid JSON in UTF-8");
	case VALID_NOT_OBJECT:
		return problem(r, 400, "the body must be a JSON object");
	case VALID_FIELDS:
		break;
	}
	return problem_fields(r, &errs);
}

int
db_failed(struct req *r, enum db_status st)
{
	if (st == DB_UNAUTHORIZED) {
		resp_header(r, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"");
		return problem(r, 401, "the token has been revoked or its "
		    "user no longer exists");
	}
	if (st == DB_UNAVAILABLE)
		return problem(r, 503, "the database is unavailable, try again");
	return problem(r, 500, NULL);
}

/* RFC 7240: a Prefer header may hold several preferences. */
static int
prefers_count(const char *h)
{
	const char	*p;

	for (p = h; p != NULL && (p = strcasestr(p, "count")) != NULL; p++) {
		if ((p == h || p[-1] == ' ' || p[-1] == ',' || p[-1] == ';') &&
		    strncasecmp(p, "count=exact", 11) == 0 &&
		    (p[11] == '\0' || p[11] == ',' || p[11] == ';' ||
		    p[11] == ' '))
			return 1;
	}
	return 0;
}

int
list_begin(struct req *r, const struct list_spec *spec,
    struct list_params *p, int *want_count)
{
	struct field_errors	 errs = { NULL, 0, 0 };

	if (list_parse(r->arena, r->query, spec, p, &errs) == -1)
		return problem_fields(r, &errs);
	*want_count = prefers_count(req_param(r, "HTTP_PREFER"));
	return 0;
}

int
list_reply(struct req *r, const struct list_spec *spec,
    const struct list_params *p, const struct page *pg, int64_t total,
    const void *rows, size_t size, void (*item)(struct buf *, const void *))
{
	const char	*next = NULL;
	size_t		 i;

	buf_putc(&r->out, '[');
	for (i = 0; i < pg->n; i++) {
		if (i > 0)
			buf_putc(&r->out, ',');
		item(&r->out, (const char *)rows + i * size);
	}
	buf_putc(&r->out, ']');
	if (pg->has_more)
		next = list_cursor(r->arena, spec, p, pg->last_key,
		    pg->last_id);
	resp_header(r, "Link", "%s", list_link(r->arena, r->path, spec, p,
	    next));
	if (total >= 0) {
		resp_header(r, "X-Total-Count", "%" PRId64, total);
		resp_header(r, "Preference-Applied", "count=exact");
	}
	return reply_json(r, 200);
}

const char *
location(struct req *r, const char *path, int64_t id)
{
	const char	*v = arena_printf(r->arena, "%s/%" PRId64, path, id);

	resp_header(r, "Location", "%s", v);
	return v;
}

const char *
etag(struct req *r, int64_t version)
{
	const char	*v = arena_printf(r->arena, "\"%" PRId64 "\"", version);

	resp_header(r, "ETag", "%s", v);
	return v;
}

void
precondition(struct req *r, const char *param, int weak,
    struct precondition *p)
{
	const char	*h = req_param(r, param), *s;
	struct buf	 b;
	char		*end;
	long long	 v;
	int		 n = 0;

	memset(p, 0, sizeof(*p));
	if (h == NULL)
		return;
	p->present = 1;
	buf_init(&b, r->arena, 32);
	buf_putc(&b, '{');
	for (s = h; *s != '\0'; ) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '*') {
			p->any = 1;
			s++;
			continue;
		}
		if (strncmp(s, "W/", 2) == 0) {
			s += 2;
			if (!weak) {	/* never matches: skip the tag */
				while (*s != '\0' && *s != ',')
					s++;
				continue;
			}
		}
		if (*s != '"' || s[1] < '0' || s[1] > '9') {
			while (*s != '\0' && *s != ',')
				s++;
			continue;
		}
		v = strtoll(s + 1, &end, 10);
		if (*end == '"' && v > 0 && n < 16)
			buf_printf(&b, "%s%lld", n++ ? "," : "", v);
		s = *end == '"' ? end + 1 : end;
	}
	buf_putc(&b, '}');
	p->versions = p->any ? NULL : b.data;
}

int
precondition_matches(const struct precondition *p, int64_t version)
{
	char		 want[24];
	const char	*s;
	size_t		 n;

	if (p->any)
		return 1;
	n = (size_t)snprintf(want, sizeof(want), "%" PRId64, version);
	for (s = p->versions + 1; *s != '\0'; s += strcspn(s, ",}") + 1)
		if (strncmp(s, want, n) == 0 && (s[n] == ',' || s[n] == '}'))
			return 1;
	return 0;
}

/* The hash a key is bound to: method, path and body, SHA-256 in hex. */
static const char *
request_hash(struct req *r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	 md[32];
	EVP_MD_CTX	*c;
	char		*out;
	size_t		 i;

	if ((c = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(c, EVP_sha256(), NULL) ||
	    !EVP_DigestUpdate(c, r->method, strlen(r->method) + 1) ||
	    !EVP_DigestUpdate(c, r->path, strlen(r->path) + 1) ||
	    (r->body != NULL && !EVP_DigestUpdate(c, r->body, r->body_len)) ||
	    !EVP_DigestFinal_ex(c, md, NULL))
		arena_oom();	/* only allocation can fail here */
	EVP_MD_CTX_free(c);
	out = arena_alloc(r->arena, 2 * sizeof(md) + 1);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * sizeof(md)] = '\0';
	return out;
}

/* API.md: 1 to 255 printable ASCII characters. */
static int
valid_key(const char *k)
{
	size_t	 n;

	for (n = 0; k[n] != '\0'; n++)
		if (n == 255 || k[n] < 0x20 || k[n] > 0x7e)
			return 0;
	return n > 0;
}

int
idempotency_begin(struct req *r, const char **key)
{
	struct idempotent_reply	 reply;
	const char		*hash;
	enum db_status		 st;

	if ((*key = req_param(r, "HTTP_IDEMPOTENCY_KEY")) == NULL)
		return 0;
	if (!valid_key(*key))
		return problem(r, 400, "Idempotency-Key must be 1 to 255 "
		    "printable ASCII characters");
	hash = request_hash(r);
	switch ((st = db_idempotency_claim(r, *key, hash))) {
	case DB_OK:
		return 0;
	case DB_BUSY:
		db_rollback(r);
		return problem(r, 409, "a request with this Idempotency-Key "
		    "is still running");
	case DB_REPLAY:
		db_rollback(r);
		break;
	default:
		db_rollback(r);
		return db_failed(r, st);
	}
	if ((st = db_idempotency_get(r, *key, &reply)) == DB_NOTFOUND)
		return problem(r, 409, "a request with this Idempotency-Key "
		    "has just ended: try again");
	if (st != DB_OK)
		return db_failed(r, st);
	if (strcmp(reply.request_hash, hash) != 0)
		return problem(r, 422, "this Idempotency-Key was used for a "
		    "different request");
	if (reply.location != NULL)
		resp_header(r, "Location", "%s", reply.location);
	if (reply.etag != NULL)
		resp_header(r, "ETag", "%s", reply.etag);
	resp_header(r, "Idempotency-Replayed", "true");
	buf_puts(&r->out, reply.body);
	return reply_json(r, reply.status);
}

int
idempotency_finish(struct req *r, const char *key, const char *loc,
    const char *tag)
{
	struct idempotent_reply	 reply;
	enum db_status		 st;

	if (key == NULL)
		return r->status;
	reply.status = r->status;
	reply.body = r->out.data;
	reply.location = loc;
	reply.etag = tag;
	if ((st = db_idempotency_finish(r, key, &reply)) != DB_OK) {
		/* Neither the record nor the key was kept: say so. */
		r->headers.len = 0;
		r->headers.data[0] = '\0';
		return db_failed(r, st);
	}
	return r->status;
}
