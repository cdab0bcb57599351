/*
 * The service's log: one line per request and one per event worth an
 * operator's attention, on standard error (systemd's journal or the file the
 * scripts redirect it to).  Bodies, passwords and tokens are never passed
 * here; only the request id links a line to a client.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

enum log_format {
	LOG_TEXT,
	LOG_JSON,
};

void	log_init(enum log_format);
/*
 * One line: level is "info", "warn" or "error"; reqid, the request's id
 * (NULL outside a request).  Line breaks in the message are folded.
 */
void	log_msg(const char *reqid, const char *level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* For lines of other shapes (fcgi-app/access.c): */
/* 1 when lines are JSON objects. */
int	log_json(void);
/* The time, as json_time_fmt() writes it. */
void	log_now(char out[32]);
/*
 * Appends s to line[*len..cap) as a JSON string's content or, in text, with
 * spaces as '_'; control characters become '?'.
 */
void	log_value(char *line, size_t cap, size_t *len, const char *s);
/* Writes line[0..len) and a newline with one write(2); line needs a byte
 * of room past len. */
void	log_emit(char *line, size_t len);

#endif
