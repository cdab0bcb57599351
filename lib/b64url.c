/*
 * base64url without padding (RFC 4648, section 5): the alphabet of tokens
 * and of list cursors.  Decoding is strict: leftover bits must be zero,
 * so that each byte string has exactly one encoding.
 */
#include <stdint.h>

#include "b64url.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_encode(char *dst, const unsigned char *src, size_t n)
{
	char		*o = dst;
	size_t		 i;
	uint32_t	 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
		*o++ = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)src[i] << 16;
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		*o++ = b64url[v >> 18];
		*o++ = b64url[v >> 12 & 63];
		*o++ = b64url[v >> 6 & 63];
	}
	*o = '\0';
	return (size_t)(o - dst);
}

int
b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
b64url_decode(unsigned char *dst, const char *src, size_t len)
{
	size_t		 i, n = 0;
	uint32_t	 v = 0;
	int		 c, bits = 0;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((c = b64url_val(src[i])) < 0)
			return -1;
		v = v << 6 | (uint32_t)c;
		if ((bits += 6) >= 8) {
			bits -= 8;
			dst[n++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	/*
	 * Leftover bits must be zero, so that each byte string has exactly
	 * one encoding and a signature cannot be re-spelt.
	 */
	if ((v & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)n;
}
