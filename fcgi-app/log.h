/*
 * The service's log: one line per request and one per event worth an
 * operator's attention, on standard error (systemd's journal or the file the
 * scripts redirect it to).  Bodies, passwords and tokens are never passed
 * here; only the request id links a line to a client.
 */
#ifndef LOG_H
#define LOG_H

#include "conf.h"

struct req;

void	log_init(enum log_format);
/* level is "info", "warn" or "error"; r may be NULL. */
void	log_msg(const struct req *, const char *level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The access line: time, request id, method, path, status, ms, user. */
void	log_request(const struct req *, double ms);

#endif
