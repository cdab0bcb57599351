/*
 * Log lines, as text ("time level key=value ...") or, with LOG_FORMAT=json,
 * one JSON object per line for log shippers.  Each line is written with one
 * write(2) so lines from concurrent workers never interleave.  This file
 * knows messages and request ids, not requests: the access line of each
 * request is written by fcgi-app/access.c with the pieces below.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "json.h"
#include "log.h"

static enum log_format	 log_format = LOG_TEXT;

void
log_init(enum log_format f)
{
	log_format = f;
}

int
log_json(void)
{
	return log_format == LOG_JSON;
}

void
log_now(char out[32])
{
	struct timeval	 tv;

	gettimeofday(&tv, NULL);
	json_time_fmt(out, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
}

void
log_value(char *line, size_t cap, size_t *len, const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && *len + 8 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (log_format == LOG_JSON && (c == '"' || c == '\\')) {
			line[(*len)++] = '\\';
			line[(*len)++] = (char)c;
		} else if (c < 0x20 || c == 0x7f)
			line[(*len)++] = '?';
		else if (log_format == LOG_TEXT && c == ' ')
			line[(*len)++] = '_';
		else
			line[(*len)++] = (char)c;
	}
}

/*
 * Folds the line breaks of a message into one line, in place: libpq's
 * messages run over several ("...failed: Connection refused\n\tIs the
 * server running...?\n"), and a log line is one line.  A break becomes a
 * space; one of two or more characters after a letter or digit becomes
 * ". ", so that libpq's hint reads as a sentence of its own (in place:
 * the text never grows).  Trailing breaks go.
 */
static void
fold_lines(char *msg)
{
	char	*in, *out;
	int	 brk = 0;

	for (in = out = msg; *in != '\0'; in++) {
		if (*in == '\n' || *in == '\r' || *in == '\t') {
			brk++;
			continue;
		}
		if (brk > 0 && out > msg && out[-1] != ' ') {
			if (brk > 1 && isalnum((unsigned char)out[-1]))
				*out++ = '.';
			*out++ = ' ';
		}
		brk = 0;
		*out++ = *in;
	}
	while (out > msg && out[-1] == ' ')
		out--;
	*out = '\0';
}

void
log_emit(char *line, size_t len)
{
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_msg(const char *reqid, const char *level, const char *fmt, ...)
{
	char	 line[2048], msg[1536], t[32];
	size_t	 len;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fold_lines(msg);
	log_now(t);
	if (log_format == LOG_JSON) {
		len = (size_t)snprintf(line, sizeof(line),
		    "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%d,", t, level,
		    (int)getpid());
		if (reqid != NULL)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
			    "\"requestId\":\"%s\",", reqid);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "\"message\":\"");
		log_value(line, sizeof(line) - 4, &len, msg);
		line[len++] = '"';
		line[len++] = '}';
	} else {
		len = (size_t)snprintf(line, sizeof(line), "%s %s pid=%d%s%s ",
		    t, level, (int)getpid(), reqid ? " req=" : "",
		    reqid ? reqid : "");
		if (len >= sizeof(line) - 2)
			len = sizeof(line) - 2;
		/* Free text in a message keeps its spaces. */
		for (size_t i = 0; msg[i] != '\0' && len < sizeof(line) - 2;
		    i++)
			line[len++] = (unsigned char)msg[i] < 0x20 ?
			    '?' : msg[i];
	}
	log_emit(line, len);
}
