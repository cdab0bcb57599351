/*
 * UTF-8: checking that bytes are well-formed, counting and decoding code
 * points.  Every limit of the API counts code points, and every string
 * from a client passes utf8_valid() before anything else reads it.
 */
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

/*
 * Follows the Unicode standard's table of well-formed byte sequences
 * (Table 3-7): the second byte's range shuts out overlongs (E0, F0),
 * surrogates (ED) and code points above U+10FFFF (F4).
 */
int
utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned char		 c, lo, hi;
	size_t			 i, k, n;

	for (i = 0; i < len; i += n + 1) {
		c = s[i];
		n = 0;
		if (c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else
			return 0;
		if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
	}
	return 1;
}

size_t
utf8_count(const char *s, size_t len)
{
	size_t	 i, n = 0;

	/* Every code point has exactly one byte that is not 10xxxxxx. */
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

/* Decodes the code point at s, which must be well-formed UTF-8. */
size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xE0) {
		*cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return 2;
	}
	if (s[0] < 0xF0) {
		*cp = (uint32_t)(s[0] & 0x0F) << 12 |
		    (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return 3;
	}
	*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
	    (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
	return 4;
}

/* Unicode's White_Space property: what a user cannot see at either end. */
