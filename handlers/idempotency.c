/*
 * The Idempotency-Key protocol (API.md "Safe retries"): a key is claimed in
 * the transaction that creates the record and stored with the response in
 * the same transaction, so that a retry gets the first answer replayed and
 * nothing is created twice.  A key is bound to its request by a SHA-256 of
 * method, path and body.
 */
#include <string.h>

#include <openssl/evp.h>

#include "handlers.h"
#include "idempotency.h"
#include "req.h"

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
	if ((st = db_idempotency_claim(req_db(r), *key, hash)) == DB_OK)
		return 0;
	if (st != DB_REPLAY)
		return reply_db(r, st, NULL, 0, NULL);
	if ((st = db_idempotency_get(req_db(r), *key, &reply)) == DB_NOTFOUND)
		return problem(r, 409, "a request with this Idempotency-Key "
		    "has just ended: try again");
	if (st != DB_OK)
		return reply_db(r, st, NULL, 0, NULL);
	if (strcmp(reply.request_hash, hash) != 0)
		return problem(r, 422, "this Idempotency-Key was used for a "
		    "different request");
	/* Its record has been deleted since: the key kept nothing of it. */
	if (reply.body == NULL)
		return problem(r, 410, "the record this Idempotency-Key created "
		    "has been deleted");
	/* A restore keeps its record's path too, for the trigger that
	 * forgets the body; only a creation answered with a Location. */
	if (reply.location != NULL && reply.status == 201)
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
	if ((st = db_idempotency_finish(req_db(r), key, &reply)) != DB_OK) {
		/* Neither the record nor the key was kept: say so, without
		 * the headers of the record that is not there. */
		resp_header_remove(r, "Location");
		resp_header_remove(r, "ETag");
		return reply_db(r, st, NULL, 0, NULL);
	}
	return r->status;
}
