/*
 * The access line: one log line per request, written once its response has
 * been sent, with the pieces lib/log.c provides.  Never a query string, a
 * body, a header or a token: the path may be logged, the rest may hold a
 * patient's name or a secret.
 */
#include <inttypes.h>
#include <stdio.h>

#include "log.h"
#include "pool.h"
#include "req.h"

void
log_request(const struct req *r, double ms)
{
	char	 line[1024], t[32];
	size_t	 len = 0;

	log_now(t);
	if (log_json()) {
		len = (size_t)snprintf(line, sizeof(line),
		    "{\"time\":\"%s\",\"level\":\"info\",\"requestId\":\"%s\","
		    "\"method\":\"", t, r->id);
		log_value(line, sizeof(line) - 200, &len, r->method);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "\",\"path\":\"");
		log_value(line, sizeof(line) - 200, &len, r->path);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "\",\"status\":%d,\"ms\":%.3f", r->status, ms);
		if (r->user_id != 0)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
			    ",\"userId\":%" PRId64, r->user_id);
		line[len++] = '}';
	} else {
		len = (size_t)snprintf(line, sizeof(line), "%s info req=%s ",
		    t, r->id);
		log_value(line, sizeof(line) - 200, &len, r->method);
		line[len++] = ' ';
		log_value(line, sizeof(line) - 200, &len, r->path);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    " status=%d ms=%.3f", r->status, ms);
		if (r->user_id != 0)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
			    " user=%" PRId64, r->user_id);
	}
	log_emit(line, len);
}
