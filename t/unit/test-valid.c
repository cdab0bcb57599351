/*
 * Unit tests for valid.c: UTF-8 checks, path ids, email addresses and whole
 * JSON bodies against field-spec tables like the handlers' own.  Each case
 * is a row of input and expected result (kcgi's regress/test-valid-email.c);
 * a body's result is one string, "NOT_JSON", "NOT_OBJECT", "" when it passed,
 * or its errors as "field: message; field: message", so that a row states
 * exactly which errors a body gives, in which order, and how many.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "tap.h"
#include "utf8.h"
#include "valid.h"

#define NELEM(x)	(sizeof(x) / sizeof((x)[0]))

static const char *const genders[] = {
	"male", "female", "other", "unknown", NULL,
};

static const struct field_spec patient[] = {
	{ "name",	F_STRING,	1, 200,	F_REQUIRED,	NULL },
	{ "age",	F_INT,		0, 150,	F_NULLABLE,	NULL },
	{ "gender",	F_ENUM,		0, 0,	F_NULLABLE,	genders },
	{ "address",	F_STRING,	0, 500,	F_NULLABLE,	NULL },
};
enum { P_NAME, P_AGE, P_GENDER, P_ADDRESS };

static const struct field_spec password[] = {
	{ "password",	F_PASSWORD,	8, 72,	F_REQUIRED,	NULL },
};

static const struct field_spec email[] = {
	{ "email",	F_EMAIL,	0, 254,	F_REQUIRED,	NULL },
};

static const struct field_spec mapping[] = {
	{ "patientId",	F_ID,		0, 0,	F_REQUIRED,	NULL },
};

#define NAME_LEN	"name: must be a string of 1 to 200 characters"
#define AGE		"age: must be an integer from 0 to 150"
#define GENDER		"gender: must be one of male, female, other, unknown"
#define PASSWORD	"password: must be a string of at least 8 characters " \
			"and at most 72 bytes"
#define EMAIL		"email: must be an email address like " \
			"name@example.org, at most 254 characters"
#define PATIENT_ID	"patientId: must be a positive integer"

static struct arena		*a;
static struct field_value	 v[8];

/* Checks body[0..len) against spec; returns the result as one string. */
static const char *
check_len(const struct field_spec *spec, size_t n, enum valid_mode mode,
    const char *body, size_t len)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	struct buf		 b;
	size_t			 i;

	switch (valid_body(a, body, len, spec, n, mode, v, &errs)) {
	case VALID_NOT_JSON:
		return errs.n == 0 ? "NOT_JSON" : "NOT_JSON with errors";
	case VALID_NOT_OBJECT:
		return errs.n == 0 ? "NOT_OBJECT" : "NOT_OBJECT with errors";
	case VALID_OK:
		return errs.n == 0 ? "" : "OK with errors";
	case VALID_FIELDS:
		break;
	}
	if (errs.n == 0)
		return "FIELDS without errors";
	buf_init(&b, a, 64);
	for (i = 0; i < errs.n; i++)
		buf_printf(&b, "%s%s: %s", i > 0 ? "; " : "",
		    errs.v[i].field != NULL ? errs.v[i].field : "(body)",
		    errs.v[i].message);
	return b.data;
}

static const char *
check(const struct field_spec *spec, size_t n, enum valid_mode mode,
    const char *body)
{
	return check_len(spec, n, mode, body, strlen(body));
}

/* s repeated n times, in the arena. */
static const char *
rep(const char *s, size_t n)
{
	struct buf	 b;

	buf_init(&b, a, 64);
	while (n-- > 0)
		buf_puts(&b, s);
	return b.data;
}

static void
test_utf8(void)
{
	static const struct {
		const char	*s;
		size_t		 len;
		int		 want;
		const char	*what;
	} t[] = {
		{ "", 0, 1, "the empty string" },
		{ "abc", 3, 1, "ASCII" },
		{ "a\0b", 3, 1, "NUL (U+0000 is well-formed)" },
		{ "\xc3\xa9", 2, 1, "2-byte U+00E9" },
		{ "\xc2\x80", 2, 1, "2-byte U+0080, the smallest" },
		{ "\xe2\x82\xac", 3, 1, "3-byte U+20AC" },
		{ "\xe0\xa0\x80", 3, 1, "3-byte U+0800, the smallest" },
		{ "\xed\x9f\xbf", 3, 1, "U+D7FF, just below the surrogates" },
		{ "\xee\x80\x80", 3, 1, "U+E000, just above the surrogates" },
		{ "\xef\xbf\xbf", 3, 1, "U+FFFF" },
		{ "\xf0\x9f\x98\x80", 4, 1, "4-byte U+1F600" },
		{ "\xf4\x8f\xbf\xbf", 4, 1, "U+10FFFF, the largest" },
		{ "\xc0\x80", 2, 0, "overlong C0 80" },
		{ "\xc1\xbf", 2, 0, "overlong C1 BF" },
		{ "\xe0\x80\x80", 3, 0, "overlong E0 80 80" },
		{ "\xe0\x9f\xbf", 3, 0, "overlong E0 9F BF" },
		{ "\xf0\x80\x80\x80", 4, 0, "overlong F0 80 80 80" },
		{ "\xf0\x8f\xbf\xbf", 4, 0, "overlong F0 8F BF BF" },
		{ "\xed\xa0\x80", 3, 0, "surrogate U+D800 (ED A0 80)" },
		{ "\xed\xbf\xbf", 3, 0, "surrogate U+DFFF (ED BF BF)" },
		{ "\xf4\x90\x80\x80", 4, 0, "U+110000 (F4 90 80 80)" },
		{ "\xf5\x80\x80\x80", 4, 0, "lead byte F5" },
		{ "\xff", 1, 0, "byte FF" },
		{ "\x80", 1, 0, "a lone continuation byte" },
		{ "\xc3", 1, 0, "truncated 2-byte" },
		{ "\xe2\x82", 2, 0, "truncated 3-byte" },
		{ "\xf0\x9f\x98", 3, 0, "truncated 4-byte" },
		{ "a\xc3", 2, 0, "truncated at the end" },
		{ "\xc3(", 2, 0, "a lead byte followed by ASCII" },
		{ "\xe2\x28\xa1", 3, 0, "a bad second byte of three" },
		{ "\xf0\x9f\x28\x80", 4, 0, "a bad third byte of four" },
	};
	size_t	 i;

	for (i = 0; i < NELEM(t); i++)
		is_int(utf8_valid(t[i].s, t[i].len), t[i].want,
		    "utf8_valid: %s is %s", t[i].what,
		    t[i].want ? "valid" : "invalid");
	is_int(utf8_valid("\xc3\xa9", 1), 0,
	    "utf8_valid stops at len, inside a sequence");
	is_int(utf8_count("", 0), 0, "utf8_count of nothing is 0");
	is_int(utf8_count("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10), 4,
	    "utf8_count counts code points of 1, 2, 3 and 4 bytes");
}

static void
test_id(void)
{
	static const struct {
		const char	*s;
		int64_t		 want;	/* -1: rejected */
	} t[] = {
		{ "1", 1 },
		{ "42", 42 },
		{ "9223372036854775807", INT64_MAX },
		{ "1000000000000000000", 1000000000000000000LL },
		{ "abc", -1 },
		{ "0", -1 },
		{ "00", -1 },
		{ "007", -1 },
		{ "-1", -1 },
		{ "+1", -1 },
		{ "9223372036854775808", -1 },
		{ "9999999999999999999", -1 },
		{ "99999999999999999999", -1 },
		{ "", -1 },
		{ " 1", -1 },
		{ "1 ", -1 },
		{ "1a", -1 },
		{ "1.0", -1 },
		{ "0x10", -1 },
	};
	int64_t	 id;
	size_t	 i;
	int	 rc;

	for (i = 0; i < NELEM(t); i++) {
		id = -1;
		rc = valid_id(t[i].s, strlen(t[i].s), &id);
		if (t[i].want == -1)
			ok(rc == -1, "valid_id(\"%s\") is rejected", t[i].s);
		else
			ok(rc == 0 && id == t[i].want,
			    "valid_id(\"%s\") is %s", t[i].s, t[i].s);
	}
	ok(valid_id("123", 2, &id) == 0 && id == 12,
	    "valid_id reads only len bytes");
	ok(valid_id(NULL, 0, &id) == -1, "valid_id(NULL, 0) is rejected");
}

static void
test_email(void)
{
	static const struct {
		const char	*json;	/* a JSON string literal's inside */
		const char	*want;	/* NULL: rejected */
	} t[] = {
		{ "name@example.org", "name@example.org" },
		{ "a@b.co", "a@b.co" },
		{ "First.Last@Example.ORG", "first.last@example.org" },
		{ "  pad@example.org\\t", "pad@example.org" },
		{ "a+tag@sub.example.com", "a+tag@sub.example.com" },
		{ "o'brien@example.ie", "o'brien@example.ie" },
		{ "user_name-1@ex-ample.co.uk", "user_name-1@ex-ample.co.uk" },
		{ "x!#$%&*/=?^`{|}~@example.org",
		    "x!#$%&*/=?^`{|}~@example.org" },
		{ "1@123.example", "1@123.example" },
		{ "a@xn--80ak6aa92e.xn--p1ai", "a@xn--80ak6aa92e.xn--p1ai" },
		{ "", NULL },
		{ "   ", NULL },
		{ "plain", NULL },
		{ "@example.org", NULL },
		{ "a@", NULL },
		{ "a@b", NULL },
		{ "a@localhost", NULL },
		{ "a@b.c", NULL },
		{ "a@b.c0", NULL },
		{ "a@@b.co", NULL },
		{ "a@b@c.co", NULL },
		{ "a b@c.co", NULL },
		{ "a@b .co", NULL },
		{ "a\\t@b.co", NULL },
		{ "a\\u0001@b.co", NULL },
		{ "a@-b.co", NULL },
		{ "a@b-.co", NULL },
		{ "a@b..co", NULL },
		{ "a@.b.co", NULL },
		{ "a@b.co.", NULL },
		{ ".a@b.co", NULL },
		{ "a.@b.co", NULL },
		{ "a..b@c.co", NULL },
		{ "a@b_c.co", NULL },
		{ "a\\\"b@c.co", NULL },
		{ "(a)@b.co", NULL },
		{ "a,b@c.co", NULL },
		{ "\\u00e9@b.co", NULL },
		{ "a@\\u00e9.co", NULL },
		{ "a@b.xn--", NULL },
	};
	const char	*body, *local, *label, *got;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		body = arena_printf(a, "{\"email\":\"%s\"}", t[i].json);
		got = check(email, 1, VALID_CREATE, body);
		if (t[i].want == NULL)
			is_str(got, EMAIL, "email \"%s\" is rejected",
			    t[i].json);
		else
			ok(*got == '\0' && strcmp(v[0].s, t[i].want) == 0 &&
			    v[0].len == strlen(t[i].want),
			    "email \"%s\" is %s", t[i].json, t[i].want);
	}

	/* Limits: 64 for the local part, 254 in all, 63 for a label. */
	local = rep("x", 64);
	label = rep("d", 63);
	body = arena_printf(a, "{\"email\":\"%s@%s.%s.%s\"}", local,
	    label, label, rep("t", 61));
	is_str(check(email, 1, VALID_CREATE, body), "",
	    "an email of 254 characters with a 64-character local part");
	body = arena_printf(a, "{\"email\":\"%s@%s.%s.%s\"}", local,
	    label, label, rep("t", 62));
	is_str(check(email, 1, VALID_CREATE, body), EMAIL,
	    "an email of 255 characters is rejected");
	body = arena_printf(a, "{\"email\":\"x%s@example.org\"}", local);
	is_str(check(email, 1, VALID_CREATE, body), EMAIL,
	    "a local part of 65 characters is rejected");
	body = arena_printf(a, "{\"email\":\"a@d%s.org\"}", label);
	is_str(check(email, 1, VALID_CREATE, body), EMAIL,
	    "a domain label of 64 characters is rejected");
	is_str(check(email, 1, VALID_CREATE, "{\"email\":\"a@b.co\\u0000\"}"),
	    "email: must not contain a NUL character",
	    "an email with \\u0000 names the NUL");
	is_str(check(email, 1, VALID_CREATE, "{\"email\":42}"), EMAIL,
	    "an email that is a number is rejected");
}

static const struct {
	const char	*body;
	enum valid_mode	 mode;
	const char	*want;
	const char	*what;
} patient_cases[] = {
	{ "{\"name\":\"Ann\"}", VALID_CREATE, "", "a name alone is enough" },
	{ "{\"name\":\"Ann\",\"age\":0,\"gender\":\"other\",\"address\":\"x\"}",
	    VALID_CREATE, "", "every field set" },
	{ "{\"name\":\"Ann\",\"age\":null,\"gender\":null,\"address\":null}",
	    VALID_CREATE, "", "nullable fields take null" },
	{ " \t\r\n{\"name\" : \"Ann\"}\n ", VALID_CREATE, "",
	    "white space around tokens" },
	{ "{\"name\":\"   \"}", VALID_CREATE, NAME_LEN,
	    "a name of spaces is empty after trimming" },
	{ "{\"name\":\"\"}", VALID_CREATE, NAME_LEN, "an empty name" },
	{ "{\"name\":\"\\u00a0\\u3000\"}", VALID_CREATE, NAME_LEN,
	    "a name of Unicode spaces is empty after trimming" },
	{ "{\"name\":null}", VALID_CREATE, NAME_LEN, "name is not nullable" },
	{ "{\"name\":42}", VALID_CREATE, NAME_LEN, "a name that is a number" },
	{ "{\"name\":[\"Ann\"]}", VALID_CREATE, NAME_LEN, "a name in an array" },
	{ "{\"name\":{}}", VALID_CREATE, NAME_LEN, "a name that is an object" },
	{ "{\"name\":\"a\\u0007b\"}", VALID_CREATE,
	    "name: must not contain control characters other than tab and "
	    "line breaks", "a bell inside a name" },
	{ "{\"name\":\"a\\u007fb\"}", VALID_CREATE,
	    "name: must not contain control characters other than tab and "
	    "line breaks", "DEL inside a name" },
	{ "{\"name\":\"a\\tb\\r\\nc\"}", VALID_CREATE, "",
	    "tab and line breaks inside a name" },
	{ "{\"name\":\"An\\u0000n\"}", VALID_CREATE,
	    "name: must not contain a NUL character", "\\u0000 inside a name" },
	{ "{\"name\":\"\\u0000\"}", VALID_CREATE,
	    "name: must not contain a NUL character", "a name of \\u0000" },
	{ "{\"address\":\"\\u0000\"}", VALID_PATCH,
	    "address: must not contain a NUL character",
	    "\\u0000 in an address" },
	{ "{\"name\":\"\\\\u0000\"}", VALID_CREATE, "",
	    "an escaped backslash before u0000 is not a NUL" },
	{ "{\"name\":\"\\\\\\u0000\"}", VALID_CREATE,
	    "name: must not contain a NUL character",
	    "an escaped backslash and then \\u0000 is a NUL" },
	{ "{\"name\":\"a\\ud800b\"}", VALID_CREATE,
	    "name: must not contain a lone UTF-16 surrogate",
	    "a lone high surrogate" },
	{ "{\"name\":\"a\\udc00\"}", VALID_CREATE,
	    "name: must not contain a lone UTF-16 surrogate",
	    "a lone low surrogate" },
	{ "{\"name\":\"\\ud800\\u0041\"}", VALID_CREATE,
	    "name: must not contain a lone UTF-16 surrogate",
	    "a high surrogate followed by no low one" },
	{ "{\"name\":\"\\ud83d\\ude00\"}", VALID_CREATE, "",
	    "a surrogate pair" },
	{ "{\"age\":-1}", VALID_PATCH, AGE, "age -1" },
	{ "{\"age\":0}", VALID_PATCH, "", "age 0" },
	{ "{\"age\":150}", VALID_PATCH, "", "age 150" },
	{ "{\"age\":151}", VALID_PATCH, AGE, "age 151" },
	{ "{\"age\":45.5}", VALID_PATCH, AGE, "age 45.5" },
	{ "{\"age\":45.0}", VALID_PATCH, "", "age 45.0 is 45" },
	{ "{\"age\":4.5e1}", VALID_PATCH, "", "age 4.5e1 is 45" },
	{ "{\"age\":\"45\"}", VALID_PATCH, AGE, "age \"45\"" },
	{ "{\"age\":1e300}", VALID_PATCH, AGE, "age 1e300" },
	{ "{\"age\":1e999}", VALID_PATCH, AGE, "age 1e999 (infinity)" },
	{ "{\"age\":-1e999}", VALID_PATCH, AGE, "age -1e999" },
	{ "{\"age\":true}", VALID_PATCH, AGE, "age true" },
	{ "{\"age\":null}", VALID_PATCH, "", "age null" },
	{ "{\"age\":[45]}", VALID_PATCH, AGE, "age [45]" },
	{ "{\"gender\":\"robot\"}", VALID_PATCH, GENDER, "gender robot" },
	{ "{\"gender\":\"\"}", VALID_PATCH, GENDER, "gender empty" },
	{ "{\"gender\":1}", VALID_PATCH, GENDER, "gender 1" },
	{ "{\"gender\":\"m\\u00e0le\"}", VALID_PATCH, GENDER,
	    "gender with an accent" },
	{ "{\"address\":\"\"}", VALID_PATCH, "", "an empty address" },
	{ "{\"address\":true}", VALID_PATCH,
	    "address: must be a string of at most 500 characters",
	    "an address that is true" },
	{ "{\"name\":\"Ann\",\"foo\":1}", VALID_CREATE, "foo: unknown field",
	    "an unknown field is named" },
	{ "{\"name\":\"Ann\",\"Name\":\"x\"}", VALID_CREATE,
	    "Name: unknown field", "field names are case-sensitive" },
	{ "{\"name\":\"Ann\",\"\":1}", VALID_CREATE, ": unknown field",
	    "an empty field name is unknown" },
	{ "{\"foo\":1,\"name\":\"Ann\",\"foo\":2}", VALID_CREATE,
	    "foo: unknown field", "an unknown field sent twice is named once" },
	{ "{\"id\":7,\"name\":\"Ann\",\"createdAt\":\"x\",\"updatedAt\":null,"
	    "\"userId\":[1]}", VALID_CREATE, "", "read-only fields are ignored" },
	{ "{\"name\":\"Ann\",\"name\":\"Bob\"}", VALID_CREATE,
	    "name: duplicate field", "a duplicate name" },
	{ "{\"name\":\"Ann\",\"age\":1,\"age\":1}", VALID_CREATE,
	    "age: duplicate field", "a duplicate age, even with equal values" },
	{ "{\"name\\u0000x\":\"Ann\"}", VALID_PATCH,
	    "(body): field names must not contain a NUL character or a lone "
	    "UTF-16 surrogate", "\\u0000 in a field name" },
	{ "{\"name\\ud800\":\"Ann\"}", VALID_PATCH,
	    "(body): field names must not contain a NUL character or a lone "
	    "UTF-16 surrogate", "a lone surrogate in a field name" },
	{ "{}", VALID_CREATE, "name: is required",
	    "a missing name under VALID_CREATE" },
	{ "{}", VALID_PATCH, "", "a missing name under VALID_PATCH" },
	{ "{\"age\":5}", VALID_CREATE, "name: is required",
	    "a missing name with other fields" },
	{ "{\"name\":null}", VALID_PATCH, NAME_LEN,
	    "a null name under VALID_PATCH" },
	{ "{\"name\":\"\",\"age\":200,\"gender\":\"robot\"}", VALID_CREATE,
	    NAME_LEN "; " AGE "; " GENDER, "three bad fields at once" },
	{ "{\"zz\":1,\"gender\":\"robot\",\"aa\":2,\"age\":-5}", VALID_CREATE,
	    "name: is required; " AGE "; " GENDER
	    "; zz: unknown field; aa: unknown field",
	    "errors come in spec order, then unknown fields in body order" },
	{ "[]", VALID_CREATE, "NOT_OBJECT", "an array" },
	{ "42", VALID_CREATE, "NOT_OBJECT", "a number" },
	{ "\"x\"", VALID_CREATE, "NOT_OBJECT", "a string" },
	{ "null", VALID_CREATE, "NOT_OBJECT", "null" },
	{ "", VALID_CREATE, "NOT_JSON", "an empty body" },
	{ "   ", VALID_CREATE, "NOT_JSON", "a body of spaces" },
	{ "{", VALID_CREATE, "NOT_JSON", "an unclosed object" },
	{ "{} x", VALID_CREATE, "NOT_JSON", "trailing garbage" },
	{ "{}{}", VALID_CREATE, "NOT_JSON", "two objects" },
	/* cJSON alone took these (found by t/020-patients.t). */
	{ "{\"name\":\"A\",\"age\":01}", VALID_CREATE, "NOT_JSON",
	    "a number with a leading zero" },
	{ "{\"name\":\"A\",\"age\":1.}", VALID_CREATE, "NOT_JSON",
	    "a number ending in a point" },
	{ "{\"name\":\"A\",\"age\":-}", VALID_CREATE, "NOT_JSON",
	    "a lone minus" },
	{ "{\"name\":\"A\",\"age\":1e}", VALID_CREATE, "NOT_JSON",
	    "an exponent without digits" },
	{ "{\"name\":\"A\",\"age\":-0}", VALID_CREATE, "",
	    "minus zero is a number" },
	{ "{\"name\":\"A\",\"age\":4.5e1}", VALID_CREATE, "",
	    "4.5e1 is the integer 45" },
	{ "{\"name\":\"A\",\"age\":1e-400}", VALID_CREATE,
	    "age: must be an integer from 0 to 150",
	    "1e-400 is no integer, though a double rounds it to 0" },
	{ "{\"name\":\"A\",\"age\":150.00000000000000001}", VALID_CREATE,
	    "age: must be an integer from 0 to 150",
	    "150.00000000000000001 is no integer either" },
	{ "{\"name\":\"A\",\"age\":1.50e2}", VALID_CREATE, "",
	    "1.50e2 is the integer 150" },
	{ "{\"name\":'Ann'}", VALID_CREATE, "NOT_JSON", "single quotes" },
	{ "{name:\"Ann\"}", VALID_CREATE, "NOT_JSON", "a bare key" },
	{ "{\"name\":\"Ann\",}", VALID_CREATE, "NOT_JSON", "a trailing comma" },
	{ "{\"name\":\"A\xffnn\"}", VALID_CREATE, "NOT_JSON",
	    "an invalid UTF-8 byte inside a string" },
	{ "{\"name\":\"A\xc0\x80\"}", VALID_CREATE, "NOT_JSON",
	    "an overlong NUL inside a string" },
	{ "{\"name\":\"A\xed\xa0\x80\"}", VALID_CREATE, "NOT_JSON",
	    "a raw UTF-8 surrogate inside a string" },
	{ "{\"name\":\"A\tB\"}", VALID_CREATE, "NOT_JSON",
	    "a raw tab inside a string" },
	{ "{\"name\":\"A\x01\"}", VALID_CREATE, "NOT_JSON",
	    "a raw control character inside a string" },
	{ "\x01{}", VALID_CREATE, "NOT_JSON",
	    "a raw control character between tokens" },
	{ "{\"name\":\"\\x41\"}", VALID_CREATE, "NOT_JSON", "a bad escape" },
	{ "{\"name\":\"\\u00g1\"}", VALID_CREATE, "NOT_JSON",
	    "a bad \\u escape" },
	{ "{\"name\":\"\\u00\"}", VALID_CREATE, "NOT_JSON",
	    "a short \\u escape" },
	{ "{\"name\":\"\\", VALID_CREATE, "NOT_JSON",
	    "a backslash at the end" },
};

static void
test_patient(void)
{
	const char	*body, *got;
	size_t		 i;
	char		*deep;

	for (i = 0; i < NELEM(patient_cases); i++)
		is_str(check(patient, NELEM(patient), patient_cases[i].mode,
		    patient_cases[i].body), patient_cases[i].want,
		    "patient body: %s", patient_cases[i].what);

	/* Typed values. */
	got = check(patient, NELEM(patient), VALID_CREATE,
	    "{\"name\":\" \\u00a0Ann Lee \\t\\n\\u3000\",\"age\":45,"
	    "\"gender\":\" MALE \",\"address\":null}");
	is_str(got, "", "a full patient passes");
	ok(v[P_NAME].present && !v[P_NAME].is_null &&
	    strcmp(v[P_NAME].s, "Ann Lee") == 0 && v[P_NAME].len == 7,
	    "name is trimmed of ASCII and Unicode white space");
	ok(v[P_AGE].present && v[P_AGE].i == 45, "age is 45");
	ok(v[P_GENDER].present && strcmp(v[P_GENDER].s, "male") == 0 &&
	    v[P_GENDER].len == 4, "gender MALE is returned as male");
	ok(v[P_ADDRESS].present && v[P_ADDRESS].is_null &&
	    v[P_ADDRESS].s == NULL, "a null address is present and null");

	is_str(check(patient, NELEM(patient), VALID_PATCH, "{\"age\":7}"), "",
	    "a patch of age alone passes");
	ok(!v[P_NAME].present && !v[P_GENDER].present &&
	    !v[P_ADDRESS].present && v[P_AGE].present && v[P_AGE].i == 7,
	    "a patch marks only the fields sent as present");

	is_str(check(patient, NELEM(patient), VALID_CREATE,
	    "{\"name\":\"\\ud83d\\ude00 \\u00e9\"}"), "",
	    "a name with escapes passes");
	is_str(v[P_NAME].s, "\xf0\x9f\x98\x80 \xc3\xa9",
	    "escapes are decoded to UTF-8");

	is_str(check(patient, NELEM(patient), VALID_CREATE,
	    "{\"name\":\"\\\\u0000\"}"), "", "an escaped backslash passes");
	is_str(v[P_NAME].s, "\\u0000", "an escaped backslash stays one");

	/* Limits count code points, not bytes. */
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("\xc3\xa9", 200));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "",
	    "a name of 200 two-byte characters passes");
	is_int(v[P_NAME].len, 400, "and is 400 bytes long");
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("\xc3\xa9", 201));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), NAME_LEN,
	    "a name of 201 two-byte characters fails");
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("\\u00e9", 200));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "",
	    "a name of 200 escaped characters passes");
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("x", 200));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "",
	    "a name of 200 ASCII characters passes");
	body = arena_printf(a, "{\"name\":\"  %s  \"}", rep("x", 200));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "",
	    "a name of 200 characters and spaces around passes");
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("x", 201));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), NAME_LEN,
	    "a name of 201 ASCII characters fails");
	body = arena_printf(a, "{\"name\":\"%s\"}", rep("\xf0\x9f\x98\x80",
	    200));
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "",
	    "a name of 200 four-byte characters passes");
	body = arena_printf(a, "{\"address\":\"%s\"}", rep("y", 501));
	is_str(check(patient, NELEM(patient), VALID_PATCH, body),
	    "address: must be a string of at most 500 characters",
	    "an address of 501 characters fails");

	/* Bodies that are not what they claim. */
	is_str(check_len(patient, NELEM(patient), VALID_CREATE,
	    "{\"name\":\"Ann\"}\0{", 16), "NOT_JSON",
	    "a NUL byte and garbage after the object");
	is_str(check_len(patient, NELEM(patient), VALID_CREATE,
	    "{\"name\":\"A\0n\"}", 14), "NOT_JSON",
	    "a raw NUL byte inside a string");
	is_str(check_len(patient, NELEM(patient), VALID_PATCH, "{}x", 2), "",
	    "only len bytes of the body are read");

	deep = arena_alloc(a, 20001);
	memset(deep, '[', 10000);
	memset(deep + 10000, ']', 10000);
	deep[20000] = '\0';
	is_str(check_len(patient, NELEM(patient), VALID_CREATE, deep, 20000),
	    "NOT_JSON", "10000 nested arrays are not JSON, and do not crash");
	body = arena_printf(a, "{\"name\":%.10000s%.10000s}", deep,
	    deep + 10000);
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), "NOT_JSON",
	    "10000 nested arrays inside a field are not JSON");
	body = arena_printf(a, "{\"name\":%.100s%.100s}", deep, deep + 10000);
	is_str(check(patient, NELEM(patient), VALID_CREATE, body), NAME_LEN,
	    "100 nested arrays are JSON, but not a name");

	/* Unknown fields: named once each, at most twenty of them. */
	body = "{\"name\":\"Ann\"";
	for (i = 0; i < 30; i++)
		body = arena_printf(a, "%s,\"f%zu\":%zu", body, i, i);
	body = arena_printf(a, "%s}", body);
	got = check(patient, NELEM(patient), VALID_CREATE, body);
	ok(strncmp(got, "f0: unknown field; f1: unknown field;", 37) == 0 &&
	    strstr(got, "f19: unknown field") != NULL &&
	    strstr(got, "f20") == NULL,
	    "thirty unknown fields: the first twenty are named");
}

static void
test_password(void)
{
	static const struct {
		const char	*json;
		const char	*want;
		const char	*what;
	} t[] = {
		{ "\"1234567\"", PASSWORD, "7 characters fail" },
		{ "\"12345678\"", "", "8 characters pass" },
		{ "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
		    PASSWORD, "7 two-byte characters (14 bytes) fail" },
		{ "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
		    "", "8 two-byte characters pass" },
		{ "\"  spaces  \"", "", "spaces are kept" },
		{ "\"        \"", "", "8 spaces pass" },
		{ "\"pass\\tword\"", "password: must not contain control "
		    "characters", "a tab fails" },
		{ "\"password\\u007f\"", "password: must not contain control "
		    "characters", "DEL fails" },
		{ "\"pass\\u0000word\"", "password: must not contain a NUL "
		    "character", "a NUL fails" },
		{ "12345678", PASSWORD, "a number fails" },
		{ "null", PASSWORD, "null fails" },
	};
	const char	*body;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		body = arena_printf(a, "{\"password\":%s}", t[i].json);
		is_str(check(password, 1, VALID_CREATE, body), t[i].want,
		    "password: %s", t[i].what);
	}
	check(password, 1, VALID_CREATE, "{\"password\":\"  spaces  \"}");
	ok(strcmp(v[0].s, "  spaces  ") == 0 && v[0].len == 10,
	    "a password is not trimmed");

	body = arena_printf(a, "{\"password\":\"%s\"}", rep("p", 72));
	is_str(check(password, 1, VALID_CREATE, body), "",
	    "password: 72 bytes pass");
	body = arena_printf(a, "{\"password\":\"%s\"}", rep("p", 73));
	is_str(check(password, 1, VALID_CREATE, body), PASSWORD,
	    "password: 73 bytes fail");
	body = arena_printf(a, "{\"password\":\"%s\"}", rep("\xc3\xa9", 36));
	is_str(check(password, 1, VALID_CREATE, body), "",
	    "password: 36 two-byte characters (72 bytes) pass");
	body = arena_printf(a, "{\"password\":\"%sp\"}", rep("\xc3\xa9", 36));
	is_str(check(password, 1, VALID_CREATE, body), PASSWORD,
	    "password: 37 characters of 73 bytes fail");
	is_str(check(password, 1, VALID_CREATE, "{}"),
	    "password: is required", "password: missing is required");
}

static void
test_ids_in_body(void)
{
	static const struct {
		const char	*json;
		int64_t		 want;	/* -1: rejected */
	} t[] = {
		{ "1", 1 },
		{ "9007199254740991", 9007199254740991LL },
		{ "9007199254740992", -1 },
		{ "9007199254740993", -1 },
		{ "0", -1 },
		{ "-1", -1 },
		{ "1.5", -1 },
		{ "\"1\"", -1 },
		{ "true", -1 },
		{ "null", -1 },
	};
	const char	*body;
	size_t		 i;

	for (i = 0; i < NELEM(t); i++) {
		body = arena_printf(a, "{\"patientId\":%s}", t[i].json);
		if (t[i].want == -1)
			is_str(check(mapping, 1, VALID_CREATE, body),
			    PATIENT_ID, "F_ID %s is rejected", t[i].json);
		else
			ok(*check(mapping, 1, VALID_CREATE, body) == '\0' &&
			    v[0].i == t[i].want, "F_ID %s passes", t[i].json);
	}
}

static void
test_errors(void)
{
	struct field_errors	 e = { NULL, 0, 0 };
	size_t			 i;
	int			 same = 1;

	for (i = 0; i < 100; i++)
		field_error_add(a, &e, i % 2 ? NULL : "f",
		    arena_printf(a, "%zu", i));
	for (i = 0; i < 100; i++)
		if ((e.v[i].field == NULL) != (i % 2 == 1) ||
		    strcmp(e.v[i].message, arena_printf(a, "%zu", i)) != 0)
			same = 0;
	ok(e.n == 100 && e.cap >= 100 && same,
	    "field_error_add keeps 100 errors in order");
}

int
main(void)
{
	a = arena_new();
	test_utf8();
	arena_reset(a);
	test_id();
	test_email();
	arena_reset(a);
	test_patient();
	arena_reset(a);
	test_password();
	test_ids_in_body();
	test_errors();
	arena_free(a);
	return tap_done();
}
