/*
 * Validation of JSON request bodies at the edge, into typed values (kcgi's
 * struct kvalid, Kore's validate lines).  Each resource keeps one table of
 * field specs; valid_body() checks a whole body against it and reports every
 * bad field at once, so a handler only ever sees checked, typed values.
 */
#ifndef VALID_H
#define VALID_H

#include <stddef.h>
#include <stdint.h>

struct arena;

enum field_type {
	F_STRING,	/* trimmed; min..max code points; no NUL */
	F_EMAIL,	/* trimmed, lower-cased; local@domain.tld, <= 254 */
	F_PASSWORD,	/* not trimmed; >= min code points, <= max bytes */
	F_ENUM,		/* trimmed; one of choices, any case; lower-cased */
	F_INT,		/* JSON integer number in min..max */
	F_ID,		/* JSON integer number, 1..2^53-1 */
};

#define F_REQUIRED	0x01	/* must be present (ignored by VALID_PATCH) */
#define F_NULLABLE	0x02	/* JSON null is allowed */

struct field_spec {
	const char		*name;
	enum field_type		 type;
	int64_t			 min;
	int64_t			 max;
	unsigned		 flags;
	const char *const	*choices;	/* F_ENUM: NULL-terminated */
};

/* One checked field, indexed like the spec table. */
struct field_value {
	int		 present;	/* the key was in the body */
	int		 is_null;	/* it was JSON null */
	const char	*s;		/* strings: arena copy, trimmed/lowered */
	size_t		 len;		/* bytes of s */
	int64_t		 i;		/* F_INT, F_ID */
};

struct field_error {
	const char	*field;		/* NULL for a body-level error */
	const char	*message;
};

struct field_errors {
	struct field_error	*v;
	size_t			 n;
	size_t			 cap;
};

enum valid_mode {
	VALID_CREATE,	/* POST and PUT: F_REQUIRED fields must be present */
	VALID_PATCH,	/* PATCH: only the fields sent are checked */
};

enum valid_status {
	VALID_OK,
	VALID_NOT_JSON,		/* not JSON, not UTF-8, too deep: 400, no list */
	VALID_NOT_OBJECT,	/* JSON, but not an object: 400 */
	VALID_FIELDS,		/* errs holds one entry per bad field: 400 */
};

/*
 * Checks body (len bytes, not NUL-terminated) against spec[0..n-1] and fills
 * values[0..n-1].  Read-only fields (id, createdAt, updatedAt, userId) are
 * ignored; any other unknown or duplicate key is an error naming it.  All
 * memory comes from the arena.
 */
enum valid_status valid_body(struct arena *, const char *body, size_t len,
		    const struct field_spec *spec, size_t n, enum valid_mode,
		    struct field_value *values, struct field_errors *errs);

/* Appends an error; field may be NULL.  Strings are not copied. */
void		 field_error_add(struct arena *, struct field_errors *,
		    const char *field, const char *message);


/*
 * Parses a path or query id: a positive decimal integer that fits in 63 bits,
 * digits only (no sign, no spaces).  Returns 0 and sets *id, or -1.
 */
int		 valid_id(const char *s, size_t len, int64_t *id);

#endif
