/*
 * GET /api/health: is the service up, and can it reach its database?  A
 * load balancer or monitor polls this, so it stays cheap: one round trip.
 */
#include "db.h"
#include "req.h"
#include "handlers.h"

int
health_get(struct req *r)
{
	switch (db_ping(r)) {
	case DB_OK:
		buf_puts(&r->out, "{\"status\":\"ok\",\"database\":\"ok\"}");
		return reply_json(r, 200);
	default:
		buf_puts(&r->out,
		    "{\"status\":\"unavailable\",\"database\":\"unavailable\"}");
		return reply_json(r, 503);
	}
}
