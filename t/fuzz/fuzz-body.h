/*
 * The body of every fuzz-body-<resource> target: one input is one request
 * body, checked by valid_body() against the resource's real field-spec
 * table (tables.h) in both modes, POST/PUT (VALID_CREATE) and PATCH.
 *
 * Besides what ASan and UBSan see, it checks what valid_body() promises
 * (valid.h): an accepted value is within its spec (length, range, choices,
 * no control characters, NUL-terminated), required fields are present, a
 * body that passes as POST also passes as PATCH, and the accepted values,
 * written back out as JSON with cJSON, pass again unchanged, which is what
 * a client does when it PUTs back what it got.
 *
 * The input is the body as the worker hands it over: len bytes that are not
 * NUL-terminated (libFuzzer's buffer is exactly that long, so ASan sees a
 * read past the end), and NULL for an empty input, as when a request has no
 * Content-Length (worker.c read_body()); t/fuzz/regress/fuzz-body-*-empty-body
 * keep the NULL-body bug this found fixed.
 */
#ifndef FUZZ_BODY_H
#define FUZZ_BODY_H

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "fuzz.h"
#include "tables.h"
#include "utf8.h"
#include "valid.h"

/*
 * The checks below restate valid.c's rules on purpose rather than call its
 * static helpers: an oracle that shared the code under test would agree
 * with its bugs.
 */

/* Spec tables are short; larger ones would need this raised. */
#define FUZZ_FIELDS_MAX	16

/* 1 when s holds a C0 control or DEL; tab, LF and CR pass if allow_breaks. */
static int
fuzz_has_control(const char *s, size_t len, int allow_breaks)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)s[i]) &&
		    !(allow_breaks &&
		    (s[i] == '\t' || s[i] == '\n' || s[i] == '\r')))
			return 1;
	return 0;
}

/* What valid.h says of one accepted value. */
static void
fuzz_check_value(const struct field_spec *sp, const struct field_value *v)
{
	int64_t	 n;
	size_t	 i;

	if (!v->present)
		return;
	if (v->is_null) {
		FUZZ_CHECK(sp->flags & F_NULLABLE);
		return;
	}
	switch (sp->type) {
	case F_STRING:
	case F_PASSWORD:
	case F_EMAIL:
	case F_ENUM:
		FUZZ_CHECK(v->s != NULL);
		FUZZ_CHECK(strlen(v->s) == v->len);
		FUZZ_CHECK(utf8_valid(v->s, v->len));
		break;
	default:
		break;
	}
	n = v->s != NULL ? (int64_t)utf8_count(v->s, v->len) : 0;
	switch (sp->type) {
	case F_STRING:
		FUZZ_CHECK(n >= sp->min && n <= sp->max);
		FUZZ_CHECK(!fuzz_has_control(v->s, v->len, 1));
		FUZZ_CHECK(v->len == 0 ||
		    (!isspace((unsigned char)v->s[0]) &&
		    !isspace((unsigned char)v->s[v->len - 1])));
		break;
	case F_PASSWORD:
		FUZZ_CHECK(n >= sp->min && (int64_t)v->len <= sp->max);
		FUZZ_CHECK(!fuzz_has_control(v->s, v->len, 0));
		break;
	case F_EMAIL:
		FUZZ_CHECK(v->len <= 254);
		FUZZ_CHECK(memchr(v->s, '@', v->len) != NULL);
		for (i = 0; i < v->len; i++)
			FUZZ_CHECK(v->s[i] < 'A' || v->s[i] > 'Z');
		break;
	case F_ENUM:
		FUZZ_CHECK(sp->choices != NULL);
		for (i = 0; sp->choices[i] != NULL; i++)
			if (strcmp(v->s, sp->choices[i]) == 0)
				break;
		FUZZ_CHECK(sp->choices[i] != NULL);
		break;
	case F_INT:
		FUZZ_CHECK(v->i >= sp->min && v->i <= sp->max);
		break;
	case F_ID:
		FUZZ_CHECK(v->i >= 1 && v->i <= INT64_C(9007199254740991));
		break;
	}
}

/* The accepted values as a JSON object, as a client would send them back. */
static char *
fuzz_values_json(const struct fuzz_fields *f, const struct field_value *v)
{
	cJSON	*o;
	char	*text, num[24];
	size_t	 i;

	if ((o = cJSON_CreateObject()) == NULL)
		abort();
	for (i = 0; i < f->n; i++) {
		if (!v[i].present)
			continue;
		if (v[i].is_null)
			cJSON_AddNullToObject(o, f->spec[i].name);
		else if (f->spec[i].type == F_INT || f->spec[i].type == F_ID) {
			/* Not a cJSON number: cJSON prints 2^53 - 1 and its
			 * neighbours as %.15g when that is "close enough". */
			snprintf(num, sizeof(num), "%" PRId64, v[i].i);
			cJSON_AddRawToObject(o, f->spec[i].name, num);
		} else
			cJSON_AddStringToObject(o, f->spec[i].name, v[i].s);
	}
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return text;
}

/* Validates body in one mode and checks the result; returns the status. */
static enum valid_status
fuzz_body_mode(struct arena *a, const struct fuzz_fields *f, const char *body,
    size_t len, enum valid_mode mode, struct field_value *v)
{
	struct field_errors	 errs = { NULL, 0, 0 };
	enum valid_status	 st;
	size_t			 i;

	st = valid_body(a, body, len, f->spec, f->n, mode, v, &errs);
	switch (st) {
	case VALID_OK:
		FUZZ_CHECK(errs.n == 0);
		for (i = 0; i < f->n; i++) {
			if (mode == VALID_CREATE &&
			    (f->spec[i].flags & F_REQUIRED))
				FUZZ_CHECK(v[i].present);
			fuzz_check_value(&f->spec[i], &v[i]);
		}
		break;
	case VALID_FIELDS:
		/* Every error names a field or none, and says something. */
		FUZZ_CHECK(errs.n > 0 && errs.v != NULL);
		for (i = 0; i < errs.n; i++) {
			FUZZ_CHECK(errs.v[i].message != NULL &&
			    strlen(errs.v[i].message) > 0);
			/* A name goes back to the client in JSON. */
			FUZZ_CHECK(errs.v[i].field == NULL ||
			    utf8_valid(errs.v[i].field,
			    strlen(errs.v[i].field)));
		}
		break;
	case VALID_NOT_JSON:
	case VALID_NOT_OBJECT:
		FUZZ_CHECK(errs.n == 0);
		break;
	default:
		FUZZ_CHECK(!"valid_body() returned no valid_status");
	}
	return st;
}

/* The accepted values, sent again as JSON, give the same values. */
static void
fuzz_body_again(struct arena *a, const struct fuzz_fields *f,
    enum valid_mode mode, const struct field_value *v)
{
	struct field_value	 w[FUZZ_FIELDS_MAX];
	char			*text;
	size_t			 i;

	text = fuzz_values_json(f, v);
	FUZZ_CHECK(fuzz_body_mode(a, f, text, strlen(text), mode, w) ==
	    VALID_OK);
	for (i = 0; i < f->n; i++) {
		FUZZ_CHECK(w[i].present == v[i].present);
		FUZZ_CHECK(w[i].is_null == v[i].is_null);
		if (!v[i].present || v[i].is_null)
			continue;
		FUZZ_CHECK(w[i].i == v[i].i);
		FUZZ_CHECK(w[i].len == v[i].len);
		FUZZ_CHECK((w[i].s == NULL) == (v[i].s == NULL));
		if (v[i].s != NULL)
			FUZZ_CHECK(memcmp(w[i].s, v[i].s, v[i].len) == 0);
	}
	cJSON_free(text);
}

static int
fuzz_body(const struct fuzz_fields *f, const uint8_t *data, size_t size)
{
	struct field_value	 create[FUZZ_FIELDS_MAX], patch[FUZZ_FIELDS_MAX];
	struct arena		*a;
	const char		*body = size > 0 ? (const char *)data : NULL;
	enum valid_status	 sc, sp;

	FUZZ_CHECK(f->n <= FUZZ_FIELDS_MAX);
	a = arena_new();
	sc = fuzz_body_mode(a, f, body, size, VALID_CREATE, create);
	sp = fuzz_body_mode(a, f, body, size, VALID_PATCH, patch);
	/* PATCH only drops the rule that required fields be present. */
	if (sc == VALID_OK)
		FUZZ_CHECK(sp == VALID_OK);
	/* Whether the body is a JSON object does not depend on the mode. */
	if (sc == VALID_NOT_JSON || sc == VALID_NOT_OBJECT ||
	    sp == VALID_NOT_JSON || sp == VALID_NOT_OBJECT)
		FUZZ_CHECK(sc == sp);
	if (sc == VALID_OK)
		fuzz_body_again(a, f, VALID_CREATE, create);
	if (sp == VALID_OK)
		fuzz_body_again(a, f, VALID_PATCH, patch);
	arena_free(a);
	return 0;
}

#endif
