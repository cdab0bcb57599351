/*
 * Writing JSON straight into a response buffer.  Responses are small and
 * their shapes fixed, so a few appenders beat building a cJSON tree and
 * printing it (cJSON is used for parsing request bodies only).
 */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Appends s[0..len) as a JSON string with quotes; s is valid UTF-8. */
void	json_str(struct buf *, const char *s, size_t len);
/* Appends a NUL-terminated string, or null when s is NULL. */
void	json_cstr(struct buf *, const char *s);
/* Appends "key": with the comma before it unless first. */
void	json_key(struct buf *, const char *key, int first);
void	json_int(struct buf *, int64_t);
/* Appends microseconds since the epoch as "2026-11-24T10:00:00.000Z". */
void	json_time(struct buf *, int64_t usec);
/* Formats usec into out (25 bytes) as json_time does, without quotes. */
void	json_time_fmt(char out[32], int64_t usec);

#endif
