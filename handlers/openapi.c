/*
 * GET /api/openapi.json: the OpenAPI 3.1 document of every route, as
 * handlers/openapi.json holds it.  The build compiles that file into the
 * binary (script/embed-json writes handlers/openapi-doc.c), so the document
 * served is always the one of the binary serving it, and answering touches
 * neither the disk nor the database.  t/090-openapi.t keeps the document
 * and the route table in step, and lints the document.
 */
#include <stddef.h>

#include "arena.h"
#include "handlers.h"
#include "req.h"

/* In handlers/openapi-doc.c, generated at build time. */
extern const char	openapi_doc[];
extern const size_t	openapi_doc_len;

int
openapi_get(struct req *r)
{
	buf_add(&r->out, openapi_doc, openapi_doc_len);
	return reply_json(r, 200);
}
