/*
 * The JSON text of a body, checked before cJSON parses it, for what cJSON
 * is too lenient or too strict about: bytes that are not UTF-8 (checked by
 * the caller), raw control characters, numbers outside RFC 8259's grammar
 * or too precise for a double to tell from an integer, a \u0000 escape
 * (which would silently cut its C string short) and lone surrogate escapes
 * (which would fail the whole parse with no field to name).
 */
#include <stdint.h>
#include <string.h>

#include "jsontext.h"

static int
hex4(const char *s, uint32_t *u)
{
	int	 i, c;

	*u = 0;
	for (i = 0; i < 4; i++) {
		c = (unsigned char)s[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			c = (c | 0x20) - 'a' + 10;
		else
			return -1;
		*u = *u << 4 | (uint32_t)c;
	}
	return 0;
}

/*
 * Checks the JSON number that starts at s[i] against RFC 8259's grammar,
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns the index of
 * its last byte, or (size_t)-1.
 */
static size_t
number_end(const char *s, size_t len, size_t i)
{
#define DIGIT(k)	((k) < len && s[k] >= '0' && s[k] <= '9')
	if (s[i] == '-')
		i++;
	if (!DIGIT(i))
		return (size_t)-1;
	if (s[i] == '0') {
		i++;
		if (DIGIT(i))
			return (size_t)-1;
	} else
		while (DIGIT(i))
			i++;
	if (i < len && s[i] == '.') {
		if (!DIGIT(i + 1))
			return (size_t)-1;
		for (i++; DIGIT(i); i++)
			continue;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!DIGIT(i))
			return (size_t)-1;
		while (DIGIT(i))
			i++;
	}
#undef DIGIT
	return i - 1;
}

/*
 * 1 when the number literal s[from..to] is exactly an integer: every digit
 * that the exponent leaves after the decimal point is 0.  cJSON reads
 * 1e-400 and 150.00000000000000001 as the doubles 0 and 150, which would
 * pass for integers.
 */
static int
literal_is_integer(const char *s, size_t from, size_t to)
{
	char		 digits[64];
	size_t		 i, n = 0, point;
	long		 exp = 0, at;
	int		 neg = 0, seen_point = 0;

	point = 0;
	for (i = from; i <= to && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] == '-')
			continue;
		if (s[i] == '.') {
			seen_point = 1;
			continue;
		}
		if (n == sizeof(digits))
			return 0;	/* far too precise for an id or an age */
		digits[n++] = s[i];
		if (!seen_point)
			point++;
	}
	if (i <= to) {
		for (i++; i <= to && (s[i] == '+' || s[i] == '-'); i++)
			neg = s[i] == '-';
		for (; i <= to; i++)
			if ((exp = exp * 10 + (s[i] - '0')) > 1000)
				exp = 1000;	/* far out of any range anyway */
	}
	at = (long)point + (neg ? -exp : exp);
	for (i = 0; i < n; i++)
		if ((long)i >= at && digits[i] != '0')
			return 0;
	return 1;
}

int
json_text_scan(char *s, size_t len)
{
	unsigned char	 c;
	uint32_t	 u, u2;
	size_t		 i;
	int		 in_string = 0;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 && (in_string ||
		    (c != '\t' && c != '\n' && c != '\r')))
			return -1;
		if (!in_string) {
			/* cJSON takes 01 and 1. as numbers; RFC 8259 does not. */
			if (c == '-' || (c >= '0' && c <= '9')) {
				size_t start = i;

				if ((i = number_end(s, len, i)) == (size_t)-1)
					return -1;
				/* A fraction that a double would round to an
				 * integer stays a fraction: 0.5, padded. */
				if (!literal_is_integer(s, start, i) &&
				    i - start >= 2) {
					memset(s + start, ' ', i - start + 1);
					memcpy(s + start, "0.5", 3);
				}
			}
			in_string = c == '"';
			continue;
		}
		if (c == '"')
			in_string = 0;
		if (c != '\\')
			continue;
		if (i + 1 < len && s[i + 1] != 'u') {
			i++;	/* so \" and \\ are passed over whole */
			continue;
		}
		if (len - i < 6 || hex4(s + i + 2, &u) == -1)
			return -1;
		if (u >= 0xD800 && u <= 0xDBFF && len - i >= 12 &&
		    s[i + 6] == '\\' && s[i + 7] == 'u' &&
		    hex4(s + i + 8, &u2) == 0 && u2 >= 0xDC00 && u2 <= 0xDFFF) {
			i += 11;
			continue;
		}
		if (u == 0)
			memset(s + i, MARK_NUL, 6);
		else if (u >= 0xD800 && u <= 0xDFFF)
			memset(s + i, MARK_SURROGATE, 6);
		i += 5;
	}
	return 0;
}

