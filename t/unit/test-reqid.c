/*
 * The request id rule of API.md: a client's id is used when it has 1 to 64
 * characters of [A-Za-z0-9._-]; otherwise the service makes a fresh one.
 */
#include <string.h>

#include "req.h"
#include "tap.h"

static const struct {
	const char	*id;
	int		 valid;
} cases[] = {
	{ "a", 1 },
	{ "abc-DEF_123.x", 1 },
	{ "0123456789012345678901234567890123456789012345678901234567890123", 1 },
	{ "01234567890123456789012345678901234567890123456789012345678901234", 0 },
	{ "", 0 },
	{ "has space", 0 },
	{ "slash/", 0 },
	{ "quote\"", 0 },
	{ "new\nline", 0 },
	{ "caf\xc3\xa9", 0 },
	{ "semi;colon", 0 },
	{ "<script>", 0 },
};

int
main(void)
{
	char	 a[REQID_MAX + 1], b[REQID_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(reqid_valid(cases[i].id), cases[i].valid,
		    "request id \"%s\" is %s", cases[i].id,
		    cases[i].valid ? "kept" : "replaced");
	ok(reqid_valid(NULL) == 0, "a missing request id is replaced");
	reqid_new(a);
	reqid_new(b);
	ok(reqid_valid(a), "a fresh id follows the rule itself");
	is_int(strlen(a), 32, "a fresh id has 32 characters");
	ok(strcmp(a, b) != 0, "two fresh ids differ");
	return tap_done();
}
