/*
 * UTF-8 checks and counts for text from clients.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int	utf8_valid(const char *s, size_t len);
/* Number of code points in well-formed UTF-8 s[0..len). */
size_t	utf8_count(const char *s, size_t len);
/*
 * Decodes the code point at s, which must be well-formed UTF-8, into *cp;
 * returns its length in bytes.
 */
size_t	utf8_decode(const unsigned char *s, uint32_t *cp);

#endif
