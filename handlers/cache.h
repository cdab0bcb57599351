/*
 * Public reads from the worker's memory (cache.c): the answers of GET
 * /api/doctors/:id and of the public doctor lists, given again while
 * nothing has changed.
 *
 *	struct cache_stamp cs;
 *	if (cache_stamp(r, &cs) && (e = cache_find(&cs, key)) != NULL)
 *		return cache_reply(r, e);
 *	... read the database and reply 200 ...
 *	cache_keep(r, &cs, key, headers_before, version);
 */
#ifndef HANDLERS_CACHE_H
#define HANDLERS_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct req;

/* Where the changes stood: the pool's writes and the database's word. */
struct cache_stamp {
	uint64_t	 pool;
	int64_t		 db;
};

struct cache_entry {
	struct cache_entry	*next;		/* in its bucket */
	struct cache_entry	*newer;		/* in the order kept */
	uint32_t		 hash;
	int64_t			 version;	/* a record's; 0 for a list */
	size_t			 size;		/* all of it, for the bound */
	size_t			 keylen, headlen, bodylen;
	char			 data[];	/* key, headers, body */
};

/* The master, before it forks: the counter its workers share. */
void	cache_prefork(const struct conf *);
/*
 * A worker, before it connects: the bound, PUBLIC_CACHE_KB.  Returns
 * whether the worker keeps answers, and so whether its connection must
 * listen for changes: not with PUBLIC_CACHE_KB=0, nor with DB_PREPARE=0
 * (PgBouncer's transaction pooling passes no notification on).
 */
int	cache_worker_init(const struct conf *);

/*
 * Where the changes stand now, into cs; forgets every answer kept before
 * the last change.  Returns 0 when nothing may be answered from memory
 * (none kept, or the database connection cannot say what changed).
 */
int	cache_stamp(struct req *, struct cache_stamp *cs);
/* The answer kept for key, or NULL. */
const struct cache_entry *cache_find(const char *key);
/* Answers r from e: 200 with its headers and body. */
int	cache_reply(struct req *, const struct cache_entry *);
/*
 * Keeps r's answer for key: the headers added from headers_at on, and the
 * body; version is a record's, for If-None-Match.  Kept only if nothing
 * changed since cs was taken, before the database was asked.
 */
void	cache_keep(struct req *, const struct cache_stamp *cs, const char *key,
	    size_t headers_at, int64_t version);
/*
 * A write to the public tables has committed: every worker of the pool
 * forgets what it kept before its next read.  Called before the write is
 * answered, so that a read sent after the answer sees it.
 */
void	cache_changed(void);

#endif
