/*
 * GET /api/health: is the service up, and can it reach its database?  A
 * load balancer or monitor polls this, so it stays cheap: one round trip.
 * Its 503 is a health document like its 200, not a problem document, so
 * that a monitor reads one shape (the OpenAPI document says so).
 */
#include "handlers.h"
#include "req.h"

int
health_get(struct req *r)
{
	if (db_ping(req_db(r)) == DB_OK) {
		buf_puts(&r->out, "{\"status\":\"ok\",\"database\":\"ok\"}");
		return reply_json(r, 200);
	}
	buf_puts(&r->out,
	    "{\"status\":\"unavailable\",\"database\":\"unavailable\"}");
	return reply_json(r, 503);
}
