/*
 * Checks of a JSON body's text before cJSON parses it (jsontext.c).
 */
#ifndef JSONTEXT_H
#define JSONTEXT_H

#include <stddef.h>

/*
 * Bytes that json_text_scan() writes over a \u0000 or lone-surrogate
 * escape.  Neither can occur in well-formed UTF-8, so after the body has
 * passed utf8_valid() they can only have come from there.
 */
#define MARK_NUL	0xFF
#define MARK_SURROGATE	0xFE

/*
 * Walks the well-formed UTF-8 JSON text s[0..len) (a copy: it is changed).
 * Returns -1 on a raw control character, which RFC 8259 allows only as
 * white space between tokens (cJSON takes any byte below 0x21 there, and
 * any inside strings), and on a number outside RFC 8259's grammar.
 * Overwrites each \u0000 escape with MARK_NUL bytes and each lone
 * surrogate escape with MARK_SURROGATE bytes, so that the field holding
 * one can be named, and each fraction that a double would round to an
 * integer with a padded 0.5, so that it stays a fraction.  Returns 0.
 */
int	json_text_scan(char *s, size_t len);

#endif
