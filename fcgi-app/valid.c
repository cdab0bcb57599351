/*
 * Validation of request bodies and ids at the edge.  valid_body() takes the
 * raw bytes of a JSON body, checks them against a resource's field-spec
 * table and hands back trimmed, typed arena copies, or a list naming every
 * bad field at once; valid_id() is the one parser of path and query ids.
 * A handler reads a body's values only from here.
 *
 * cJSON does the parsing, after jsontext.c has checked the text for what
 * cJSON lets through or stumbles on.
 */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "jsontext.h"
#include "utf8.h"
#include "valid.h"

/* The largest integer a JSON number (an IEEE double) holds exactly. */
#define SAFE_INT_MAX	9007199254740991LL

/* How many unknown field names one answer lists; see valid_body(). */
#define EXTRA_MAX	20


#define MSG_NUL		"must not contain a NUL character"
#define MSG_SURROGATE	"must not contain a lone UTF-16 surrogate"
#define MSG_CONTROL	"must not contain control characters other than " \
			"tab and line breaks"
#define MSG_PRINTABLE	"must not contain control characters"
#define MSG_EMAIL	"must be an email address like name@example.org, " \
			"at most 254 characters"
#define MSG_BADKEY	"field names must not contain a NUL character or " \
			"a lone UTF-16 surrogate"

/* Sent back by GET; a client may PUT a record back as it got it. */
static const char *const readonly[] = {
	"id", "createdAt", "updatedAt", "userId", NULL,
};

void
field_error_add(struct arena *a, struct field_errors *e, const char *field,
    const char *message)
{
	struct field_error	*v;
	size_t			 cap;

	if (e->n == e->cap) {
		cap = e->cap ? e->cap * 2 : 8;
		v = arena_alloc(a, cap * sizeof(*v));
		if (e->n > 0)
			memcpy(v, e->v, e->n * sizeof(*v));
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].field = field;
	e->v[e->n].message = message;
	e->n++;
}

static int
is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 ||
	    cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
	    cp == 0x3000;
}

/* Returns the start of well-formed UTF-8 s without white space at either
 * end, and its new length in *len. */
static const char *
trim(const char *s, size_t *len)
{
	const unsigned char	*p, *e, *q;
	uint32_t		 cp;
	size_t			 n;

	p = (const unsigned char *)s;
	e = p + *len;
	while (p < e && (n = utf8_decode(p, &cp)) > 0 && is_space(cp))
		p += n;
	while (e > p) {
		for (q = e - 1; q > p && (*q & 0xC0) == 0x80; q--)
			continue;
		utf8_decode(q, &cp);
		if (!is_space(cp))
			break;
		e = q;
	}
	*len = (size_t)(e - p);
	return (const char *)p;
}

static void
lower(char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 'a' - 'A';
}

/* 1 when s holds a C0 control or DEL; tab, LF and CR pass if allow_breaks. */
static int
has_control(const char *s, size_t len, int allow_breaks)
{
	unsigned char	 c;
	size_t		 i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (allow_breaks && (c == '\t' || c == '\n' || c == '\r'))
			continue;
		if (c < 0x20 || c == 0x7F)
			return 1;
	}
	return 0;
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * A plausible lower-cased address, not RFC 5322: a dot-atom local part of
 * at most 64 ASCII characters, then a domain of two or more labels of
 * [a-z0-9-] whose last one is letters (or an xn-- IDN label).  Mail to
 * the address is what proves it; this only stops typing mistakes.
 */
static int
email_ok(const char *s, size_t len)
{
	const char	*at, *d, *end, *dot;
	size_t		 i, n, labels = 0;

	if (len > 254 || (at = memchr(s, '@', len)) == NULL)
		return 0;
	n = (size_t)(at - s);
	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!is_alnum(s[i]) &&
		    strchr(".!#$%&'*+-/=?^_`{|}~", s[i]) == NULL)
			return 0;
	}
	end = s + len;
	for (d = at + 1; ; d = dot + 1) {
		if ((dot = memchr(d, '.', (size_t)(end - d))) == NULL)
			dot = end;
		n = (size_t)(dot - d);
		if (n == 0 || n > 63 || d[0] == '-' || d[n - 1] == '-')
			return 0;
		for (i = 0; i < n; i++)
			if (!is_alnum(d[i]) && d[i] != '-')
				return 0;
		labels++;
		if (dot == end)
			break;
	}
	/* d is now the top-level label. */
	if (labels < 2 || n < 2)
		return 0;
	if (n > 4 && strncmp(d, "xn--", 4) == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (d[i] < 'a' || d[i] > 'z')
			return 0;
	return 1;
}

/* The sentence that states spec's rule, for any value that breaks it. */
static const char *
rule(struct arena *a, const struct field_spec *sp)
{
	struct buf	 b;
	size_t		 i;

	switch (sp->type) {
	case F_STRING:
		if (sp->min <= 0)
			return arena_printf(a, "must be a string of at most %"
			    PRId64 " characters", sp->max);
		return arena_printf(a, "must be a string of %" PRId64 " to %"
		    PRId64 " characters", sp->min, sp->max);
	case F_EMAIL:
		return MSG_EMAIL;
	case F_PASSWORD:
		return arena_printf(a, "must be a string of at least %" PRId64
		    " character%s and at most %" PRId64 " bytes", sp->min,
		    sp->min == 1 ? "" : "s", sp->max);
	case F_ENUM:
		buf_init(&b, a, 64);
		buf_puts(&b, "must be one of ");
		for (i = 0; sp->choices != NULL && sp->choices[i] != NULL; i++)
			buf_printf(&b, "%s%s", i ? ", " : "", sp->choices[i]);
		return b.data;
	case F_INT:
		return arena_printf(a, "must be an integer from %" PRId64
		    " to %" PRId64, sp->min, sp->max);
	case F_ID:
	default:
		return "must be a positive integer";
	}
}

static const char *
check_int(struct arena *a, const struct field_spec *sp, const cJSON *v,
    struct field_value *out)
{
	int64_t	 i, lo, hi;
	double	 d;

	if (!cJSON_IsNumber(v))
		return rule(a, sp);
	d = v->valuedouble;
	/* Past 2^53 a double skips integers (2^53 + 1 reads as 2^53), so a
	 * larger number may not be the one the client sent.  Written so
	 * that NaN fails too. */
	if (!(d >= -(double)SAFE_INT_MAX && d <= (double)SAFE_INT_MAX))
		return rule(a, sp);
	i = (int64_t)d;
	if ((double)i != d)
		return rule(a, sp);
	lo = sp->type == F_ID ? 1 : sp->min;
	hi = sp->type == F_ID ? SAFE_INT_MAX : sp->max;
	if (i < lo || i > hi)
		return rule(a, sp);
	out->i = i;
	return NULL;
}

static const char *
check_string(struct arena *a, const struct field_spec *sp, const cJSON *v,
    struct field_value *out)
{
	const char	*s;
	char		*c;
	size_t		 i, len;
	int64_t		 n;

	if (!cJSON_IsString(v))
		return rule(a, sp);
	s = v->valuestring;
	len = strlen(s);
	if (memchr(s, MARK_NUL, len) != NULL)
		return MSG_NUL;
	if (!utf8_valid(s, len))
		return MSG_SURROGATE;
	if (sp->type != F_PASSWORD)
		s = trim(s, &len);
	n = (int64_t)utf8_count(s, len);

	switch (sp->type) {
	case F_STRING:
		if (has_control(s, len, 1))
			return MSG_CONTROL;
		if (n < sp->min || n > sp->max)
			return rule(a, sp);
		out->s = arena_strndup(a, s, len);
		break;
	case F_PASSWORD:
		/* Spaces count: a passphrase is the user's own business. */
		if (has_control(s, len, 0))
			return MSG_PRINTABLE;
		if (n < sp->min || (int64_t)len > sp->max)
			return rule(a, sp);
		out->s = arena_strndup(a, s, len);
		break;
	case F_EMAIL:
		c = arena_strndup(a, s, len);
		lower(c, len);
		if (!email_ok(c, len))
			return rule(a, sp);
		out->s = c;
		break;
	case F_ENUM:
		/* Choices are written in lower case, as the API sends them. */
		c = arena_strndup(a, s, len);
		lower(c, len);
		for (i = 0; sp->choices != NULL && sp->choices[i] != NULL; i++)
			if (strcmp(c, sp->choices[i]) == 0)
				break;
		if (sp->choices == NULL || sp->choices[i] == NULL)
			return rule(a, sp);
		out->s = c;
		break;
	default:
		return rule(a, sp);
	}
	out->len = len;
	return NULL;
}

/* Checks one value that was sent; returns NULL or the error message. */
static const char *
check_value(struct arena *a, const struct field_spec *sp, const cJSON *v,
    struct field_value *out)
{
	out->present = 1;
	if (cJSON_IsNull(v)) {
		if (!(sp->flags & F_NULLABLE))
			return rule(a, sp);
		out->is_null = 1;
		return NULL;
	}
	if (sp->type == F_INT || sp->type == F_ID)
		return check_int(a, sp, v, out);
	return check_string(a, sp, v, out);
}

static int
is_readonly(const char *key)
{
	size_t	 i;

	for (i = 0; readonly[i] != NULL; i++)
		if (strcmp(key, readonly[i]) == 0)
			return 1;
	return 0;
}

/* Adds an error to the short list of unknown keys, once per name. */
static void
extra_add(struct field_error *x, size_t *n, const char *field,
    const char *message)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (x[i].field != NULL && field != NULL &&
		    strcmp(x[i].field, field) == 0)
			return;
	if (*n < EXTRA_MAX) {
		x[*n].field = field;
		x[*n].message = message;
		(*n)++;
	}
}

/*
 * Errors are appended to errs in spec order, then the unknown keys in body
 * order.  At most EXTRA_MAX unknown keys are named, each once: a 64 KiB body
 * of one-letter keys must not cost a quadratic search or an answer five
 * times its size, and twenty names are plenty to fix a client.
 */
enum valid_status
valid_body(struct arena *a, const char *body, size_t len,
    const struct field_spec *spec, size_t n, enum valid_mode mode,
    struct field_value *values, struct field_errors *errs)
{
	struct field_error	 extra[EXTRA_MAX];
	const cJSON		**item;
	const char		*msg;
	cJSON			*root, *c;
	char			*text;
	unsigned char		*dup;
	size_t			 i, nextra = 0, nerr = errs->n;
	enum valid_status	 st;

	memset(values, 0, n * sizeof(*values));
	if (!utf8_valid(body, len))
		return VALID_NOT_JSON;
	text = arena_strndup(a, body, len);
	if (json_text_scan(text, len) == -1)
		return VALID_NOT_JSON;
	/* len + 1 takes in the NUL, which is how cJSON knows that nothing
	 * follows the value; its nesting limit stops deep bodies. */
	if ((root = cJSON_ParseWithLengthOpts(text, len + 1, NULL, 1)) == NULL)
		return VALID_NOT_JSON;
	if (!cJSON_IsObject(root)) {
		st = VALID_NOT_OBJECT;
		goto out;
	}

	item = arena_calloc(a, (n + 1) * sizeof(*item));
	dup = arena_calloc(a, n + 1);
	for (c = root->child; c != NULL; c = c->next) {
		if (memchr(c->string, MARK_NUL, strlen(c->string)) != NULL ||
		    !utf8_valid(c->string, strlen(c->string))) {
			extra_add(extra, &nextra, NULL, MSG_BADKEY);
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(c->string, spec[i].name) == 0)
				break;
		if (i < n) {
			if (item[i] != NULL)
				dup[i] = 1;
			item[i] = c;
		} else if (!is_readonly(c->string))
			extra_add(extra, &nextra,
			    arena_strdup(a, c->string), "unknown field");
	}

	for (i = 0; i < n; i++) {
		if (dup[i])
			msg = "duplicate field";
		else if (item[i] != NULL)
			msg = check_value(a, &spec[i], item[i], &values[i]);
		else if (mode == VALID_CREATE && (spec[i].flags & F_REQUIRED))
			msg = "is required";
		else
			msg = NULL;
		if (msg != NULL)
			field_error_add(a, errs, spec[i].name, msg);
	}
	for (i = 0; i < nextra; i++)
		field_error_add(a, errs, extra[i].field, extra[i].message);
	st = errs->n > nerr ? VALID_FIELDS : VALID_OK;
out:
	cJSON_Delete(root);
	return st;
}

int
valid_id(const char *s, size_t len, int64_t *id)
{
	int64_t	 v = 0;
	size_t	 i;
	int	 d;

	/* One spelling per id: "007" is not 7, so links and caches agree. */
	if (s == NULL || len == 0 || len > 19 || s[0] < '1' || s[0] > '9')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*id = v;
	return 0;
}
