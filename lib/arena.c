/*
 * The request arena: a chain of blocks carved by bumping a pointer.  The
 * first block is reused by every request a worker serves, so a typical
 * request allocates nothing from malloc at all; bigger requests add blocks
 * that arena_reset() gives back, which keeps a worker's RSS flat.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"

#define ARENA_BLOCK	(16 * 1024)
#define ARENA_ALIGN	16

struct block {
	struct block	*next;
	size_t		 size;	/* usable bytes after the header */
	size_t		 used;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct cleanup {
	struct cleanup	*next;
	void		(*fn)(void *);
	void		*data;
};

struct arena {
	struct block	*head;		/* block being carved */
	struct block	*first;		/* kept across resets */
	struct cleanup	*cleanups;
	size_t		 footprint;
};

void
arena_oom(void)
{
	static const char msg[] = "fatal: out of memory, worker exits\n";

	/* write(2) because stdio may itself need memory. */
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(70);
}

static struct block *
block_new(size_t size)
{
	struct block	*b;

	if ((b = malloc(sizeof(*b) + size)) == NULL)
		arena_oom();
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_new(void)
{
	struct arena	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		arena_oom();
	a->first = a->head = block_new(ARENA_BLOCK);
	a->footprint = sizeof(*a) + sizeof(struct block) + ARENA_BLOCK;
	return a;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct block	*b;
	size_t		 need;

	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n)
		arena_oom();
	b = a->head;
	if (b->size - b->used < need) {
		b = block_new(need > ARENA_BLOCK ? need : ARENA_BLOCK);
		b->next = a->head;
		a->head = b;
		a->footprint += sizeof(*b) + b->size;
	}
	b->used += need;
	return b->data + b->used - need;
}

void *
arena_calloc(struct arena *a, size_t n)
{
	return memset(arena_alloc(a, n), 0, n);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p;

	p = arena_alloc(a, n + 1);
	if (n > 0)	/* s may be NULL for an empty string */
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	struct buf	 b;
	va_list		 ap;

	buf_init(&b, a, 64);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return b.data;
}

void
arena_cleanup_add(struct arena *a, void (*fn)(void *), void *data)
{
	struct cleanup	*c;

	c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}

void
arena_reset(struct arena *a)
{
	struct block	*b, *next;

	/* Cleanup records live in the arena: walk them before freeing blocks. */
	while (a->cleanups != NULL) {
		struct cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->data);
	}
	for (b = a->head; b != a->first; b = next) {
		next = b->next;
		explicit_bzero(b->data, b->used);
		free(b);
	}
	/* Requests carry passwords and tokens: leave none of them behind
	 * in memory the next request (or a core dump) could show. */
	explicit_bzero(a->first->data, a->first->used);
	a->head = a->first;
	a->first->used = 0;
	a->footprint = sizeof(*a) + sizeof(struct block) + ARENA_BLOCK;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->first);
	free(a);
}

size_t
arena_footprint(const struct arena *a)
{
	return a->footprint;
}

void
buf_init(struct buf *b, struct arena *a, size_t cap)
{
	b->arena = a;
	b->cap = cap < 16 ? 16 : cap;
	b->data = arena_alloc(a, b->cap);
	b->len = 0;
	b->data[0] = '\0';
}

/*
 * GCC 12's -fanalyzer reports a leak at "b->data = p" below: it follows a
 * block from malloc in block_new() into arena_alloc(), loses it when the
 * pointer is kept only in the arena's list (a->head), and takes the old
 * b->data for the last reference.  The block is freed by arena_reset()
 * like every other; valgrind and LeakSanitizer, which run the whole suite,
 * see no leak.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
/* Makes room for n more bytes plus the terminating NUL. */
static void
buf_grow(struct buf *b, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->len + n + 1 <= b->cap)
		return;
	cap = b->cap * 2;
	while (cap < b->len + n + 1)
		cap *= 2;
	/* The old space stays in the arena until the request ends: buffers
	 * double, so the waste is bounded by the final size. */
	p = arena_alloc(b->arena, cap);
	memcpy(p, b->data, b->len + 1);
	b->data = p;
	b->cap = cap;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 cp;
	int	 n;

	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}
