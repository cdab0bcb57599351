/*
 * JSON output appenders; see json.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "json.h"

void
json_str(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 i, run = 0;
	unsigned char	 c;
	char		 esc[7];

	buf_putc(b, '"');
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':  buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_add(b, esc, 6);
		}
	}
	buf_add(b, s + run, len - run);
	buf_putc(b, '"');
}

void
json_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_add(b, "null", 4);
	else
		json_str(b, s, strlen(s));
}

void
json_key(struct buf *b, const char *key, int first)
{
	if (!first)
		buf_putc(b, ',');
	buf_putc(b, '"');
	buf_puts(b, key);
	buf_add(b, "\":", 2);
}

void
json_int(struct buf *b, int64_t n)
{
	char	 tmp[24];
	int	 len;

	len = snprintf(tmp, sizeof(tmp), "%" PRId64, n);
	buf_add(b, tmp, (size_t)len);
}

void
json_time_fmt(char out[32], int64_t usec)
{
	struct tm	 tm;
	time_t		 sec;
	int64_t		 ms;
	char		 tmp[96];	/* room for any int, to quiet
					   -Wformat-truncation */

	/* Floor division, so times before 1970 format correctly too. */
	sec = (time_t)(usec / 1000000);
	ms = (usec % 1000000) / 1000;
	if (usec % 1000000 < 0) {
		sec -= 1;
		ms = (usec % 1000000 + 1000000) / 1000;
	}
	gmtime_r(&sec, &tm);
	/* The year is clamped only to keep the output within its 32 bytes. */
	if (tm.tm_year > 9999 - 1900)
		tm.tm_year = 9999 - 1900;
	if (tm.tm_year < -1900)
		tm.tm_year = -1900;
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)ms);
	memcpy(out, tmp, 25);
	out[24] = '\0';
}

void
json_time(struct buf *b, int64_t usec)
{
	char	 tmp[32];

	json_time_fmt(tmp, usec);
	buf_putc(b, '"');
	buf_puts(b, tmp);
	buf_putc(b, '"');
}
