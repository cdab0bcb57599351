/*
 * base64url without padding (RFC 4648, section 5), for JWTs and cursors.
 */
#ifndef B64URL_H
#define B64URL_H

#include <stddef.h>

/* B64URL_LEN(n): the characters b64url_encode() writes for n bytes. */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)

/*
 * Encodes src[0..n) into dst, NUL-terminated; dst needs B64URL_LEN(n) + 1
 * bytes.  Returns the characters written, without the NUL.
 */
size_t	b64url_encode(char *dst, const unsigned char *src, size_t n);
/*
 * Decodes src[0..len) into dst, which needs len * 3 / 4 + 3 bytes.
 * Returns the decoded length, or -1 on a bad character, a bad length or
 * leftover bits that are not zero.
 */
long	b64url_decode(unsigned char *dst, const char *src, size_t len);
/* The value of one base64url character, or -1. */
int	b64url_val(char c);

#endif
