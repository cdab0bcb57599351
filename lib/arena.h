/*
 * Per-request memory: an arena of blocks freed in one call when the request
 * ends (nginx's ngx_pool_t, kcgi's khttp_free).  Foreign objects (PGresult,
 * cJSON trees) register a cleanup that runs when the arena is reset.
 *
 * Allocation never returns NULL: running out of memory logs one line and ends
 * the worker process, which the master replaces.  A half-served request is
 * safer than a handler that forgets to check.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* A growable byte string that lives in an arena; always NUL-terminated. */
struct buf {
	struct arena	*arena;
	char		*data;
	size_t		 len;
	size_t		 cap;
};

/* Makes an arena; its first block is kept across arena_reset(). */
struct arena	*arena_new(void);
/* Runs the cleanups in reverse order and releases all but the first block. */
void		 arena_reset(struct arena *);
/* arena_reset() and then frees the arena itself. */
void		 arena_free(struct arena *);
/* Bytes the arena holds from malloc, for tests and memory figures. */
size_t		 arena_footprint(const struct arena *);

void		*arena_alloc(struct arena *, size_t);
void		*arena_calloc(struct arena *, size_t);
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_strdup(struct arena *, const char *);
char		*arena_printf(struct arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Registers fn(data) to run at the next arena_reset(), last in first out. */
void		 arena_cleanup_add(struct arena *, void (*)(void *), void *);

/* Never returns: logs "out of memory" and exits the process. */
void		 arena_oom(void) __attribute__((noreturn));

void		 buf_init(struct buf *, struct arena *, size_t);
void		 buf_add(struct buf *, const char *, size_t);
void		 buf_puts(struct buf *, const char *);
void		 buf_putc(struct buf *, char);
void		 buf_printf(struct buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
void		 buf_vprintf(struct buf *, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

#endif
