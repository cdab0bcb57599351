/*
 * GET /api/openapi.json: the OpenAPI 3.1 document of every route, as
 * handlers/openapi.json holds it.  The build compiles that file into the
 * binary (script/embed-json writes handlers/openapi-doc.c), so the document
 * served is always the one of the binary serving it, and answering touches
 * neither the disk nor the database.  t/090-openapi.t keeps the document
 * and the route table in step, and lints the document.
 *
 * GET /api/docs: the same document for people, the one HTML page that
 * script/docs builds from it with Redocly CLI into doc/api.html, compiled in
 * the same way (handlers/docs-html.c).  The page is committed rather than
 * built by make because building it needs npm and a network, which the
 * build must not; t/093-docs-page.t fails when it is older than
 * openapi.json, and renders it in a real browser.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "handlers.h"
#include "log.h"
#include "req.h"

/* In handlers/openapi-doc.c, generated at build time. */
extern const char	openapi_doc[];
extern const size_t	openapi_doc_len;

/* In handlers/docs-html.c, generated at build time from doc/api.html. */
extern const char	docs_html[];
extern const size_t	docs_html_len;

/* Room for the policy with a dozen script hashes; the page has two. */
#define DOCS_CSP_MAX	1024

int
openapi_get(struct req *r)
{
	buf_add(&r->out, openapi_doc, openapi_doc_len);
	return reply_json(r, 200);
}

/*
 * The page's Content-Security-Policy: exactly what Redoc needs.  Its two
 * inline scripts (Redoc itself and the call that hydrates the prerendered
 * page) are allowed by their SHA-256, so no other script can run, not
 * even one slipped into the page; its styles are inline (prerendered
 * <style> blocks and style attributes, then styled-components at run time,
 * which hashes cannot follow); its icons are data: images; its search
 * index runs in a worker made from a blob: URL.  Nothing may be fetched,
 * framed, submitted or based elsewhere.
 *
 * The hashes are taken from the embedded page itself, once per worker, so
 * the policy always fits the page compiled in.  The page is script/docs'
 * own output: scripts end at the first "</script" (the generator escapes
 * any other) and hold no CR or NUL (which the HTML parser would rewrite
 * before hashing).  Returns a static string, or NULL when the hashes do
 * not fit in DOCS_CSP_MAX.
 */
static const char *
docs_csp(void)
{
	static char	 csp[DOCS_CSP_MAX];
	static int	 made;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned char	 b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	const char	*p = docs_html, *end = docs_html + docs_html_len;
	const char	*tag, *body, *close;
	unsigned int	 mdlen;
	size_t		 len;

	if (made)
		return csp;
	len = (size_t)snprintf(csp, sizeof(csp), "default-src 'none'; "
	    "script-src");
	while ((tag = memmem(p, (size_t)(end - p), "<script", 7)) != NULL) {
		if ((body = memchr(tag, '>', (size_t)(end - tag))) == NULL)
			break;
		body++;
		if ((close = memmem(body, (size_t)(end - body), "</script",
		    8)) == NULL)
			break;
		if (!EVP_Digest(body, (size_t)(close - body), md, &mdlen,
		    EVP_sha256(), NULL))
			return NULL;
		EVP_EncodeBlock(b64, md, (int)mdlen);
		len += (size_t)snprintf(csp + len, len < sizeof(csp) ?
		    sizeof(csp) - len : 0, " 'sha256-%s'", b64);
		p = close + 8;
	}
	len += (size_t)snprintf(csp + len, len < sizeof(csp) ?
	    sizeof(csp) - len : 0, "; style-src 'unsafe-inline'; "
	    "img-src data:; worker-src blob:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'");
	if (len >= sizeof(csp))
		return NULL;
	made = 1;
	return csp;
}

int
docs_get(struct req *r)
{
	if ((r->csp = docs_csp()) == NULL) {
		log_msg(r->id, "error", "the policy of /api/docs is longer than "
		    "%d bytes", DOCS_CSP_MAX);
		return problem(r, 500, NULL);
	}
	buf_add(&r->out, docs_html, docs_html_len);
	r->status = 200;
	resp_header(r, "Content-Type", "text/html; charset=utf-8");
	return 200;
}
