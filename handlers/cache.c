/*
 * Public reads from the worker's memory (cache.h).  A public read costs
 * the trip through the web server and FastCGI and a database transaction;
 * while no doctor changes, the second part can be skipped, and that is
 * nearly always.  Something has changed when:
 *  - a write to a doctor through this pool has committed: the worker that
 *    made it bumps a counter the pool's workers share (an anonymous shared
 *    mapping the master makes before it forks) before it answers, so a
 *    read that starts after the answer arrived, on any worker, sees it;
 *  - the database says so: every committed write to the doctors notifies
 *    the workers' connections (db_changes()).  That is how writes of
 *    other pools, on this host or another, and of psql reach this one, as
 *    fast as PostgreSQL delivers a notification; a connection remade
 *    counts as a change, for what it missed is unknown.
 * Either forgets everything kept: doctors are written rarely next to how
 * often they are read.  A read takes the stamp before it asks the
 * database and keeps its answer only if the stamp has not moved since, so
 * an answer read before a write committed is never kept past the write.
 *
 * Memory is bounded by PUBLIC_CACHE_KB; the entries kept first go first.
 * Only 200 answers are kept, never an error.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "cache.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "metrics.h"
#include "req.h"

#define BUCKETS		1024	/* a power of two */

/* The pool's writes to public tables, shared by the master's workers. */
static uint64_t		*pool_changes;

static struct {
	size_t			 max, used;	/* bytes */
	uint32_t		 seed;		/* of the hash, per worker */
	struct cache_stamp	 at;		/* what the entries were read at */
	struct cache_entry	*bucket[BUCKETS];
	struct cache_entry	*oldest, *newest;
} cache;

void
cache_prefork(const struct conf *c)
{
	void	*p;

	if (c->public_cache_kb == 0 || pool_changes != NULL)
		return;
	p = mmap(NULL, sizeof(*pool_changes), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		pool_changes = p;
}

int
cache_worker_init(const struct conf *c)
{
	cache.max = pool_changes != NULL && c->db_prepare ?
	    (size_t)c->public_cache_kb * 1024 : 0;
	if (getrandom(&cache.seed, sizeof(cache.seed), 0) !=
	    sizeof(cache.seed))
		cache.seed = (uint32_t)getpid();
	return cache.max > 0;
}

/*
 * FNV-1a, started from a seed of the worker's own: a key is a path and
 * query a client chose, and a client that could predict the buckets could
 * pile its pages into one chain.
 */
static uint32_t
hash(const char *key, size_t len)
{
	uint32_t	 h = 2166136261u ^ cache.seed;
	size_t		 i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	return h;
}

static void
forget_all(void)
{
	struct cache_entry	*e, *next;

	for (e = cache.oldest; e != NULL; e = next) {
		next = e->newer;
		free(e);
	}
	memset(cache.bucket, 0, sizeof(cache.bucket));
	cache.oldest = cache.newest = NULL;
	cache.used = 0;
}

static void
forget_oldest(void)
{
	struct cache_entry	*e = cache.oldest, **p;

	if (e == NULL)
		return;
	for (p = &cache.bucket[e->hash & (BUCKETS - 1)]; *p != e;
	    p = &(*p)->next)
		continue;
	*p = e->next;
	cache.oldest = e->newer;
	if (cache.oldest == NULL)
		cache.newest = NULL;
	cache.used -= e->size;
	free(e);
}

/* Where the changes stand; 0 when the database cannot say. */
static int
stamp_now(struct req *r, struct cache_stamp *cs)
{
	if ((cs->db = db_changes(req_db(r))) < 0)
		return 0;
	cs->pool = __atomic_load_n(pool_changes, __ATOMIC_ACQUIRE);
	return 1;
}

static int
stamp_same(const struct cache_stamp *a, const struct cache_stamp *b)
{
	return a->pool == b->pool && a->db == b->db;
}

int
cache_stamp(struct req *r, struct cache_stamp *cs)
{
	if (cache.max == 0)
		return 0;
	if (!stamp_now(r, cs)) {
		forget_all();
		return 0;
	}
	if (!stamp_same(cs, &cache.at)) {
		forget_all();
		cache.at = *cs;
	}
	return 1;
}

const struct cache_entry *
cache_find(const char *key)
{
	const struct cache_entry	*e;
	size_t				 len = strlen(key);
	uint32_t			 h = hash(key, len);

	for (e = cache.bucket[h & (BUCKETS - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->keylen == len &&
		    memcmp(e->data, key, len) == 0)
			break;
	if (metrics != NULL)
		metrics_add(e != NULL ? &metrics->public_cache_hits :
		    &metrics->public_cache_misses, 1);
	return e;
}

int
cache_reply(struct req *r, const struct cache_entry *e)
{
	buf_add(&r->headers, e->data + e->keylen, e->headlen);
	r->out.len = 0;
	buf_add(&r->out, e->data + e->keylen + e->headlen, e->bodylen);
	r->status = 200;
	return 200;
}

void
cache_keep(struct req *r, const struct cache_stamp *cs, const char *key,
    size_t headers_at, int64_t version)
{
	struct cache_entry	*e;
	struct cache_stamp	 now;
	size_t			 keylen = strlen(key), headlen, size;

	if (r->status != 200 || !stamp_now(r, &now) || !stamp_same(cs, &now) ||
	    !stamp_same(cs, &cache.at))
		return;
	headlen = r->headers.len - headers_at;
	size = sizeof(*e) + keylen + headlen + r->out.len;
	if (size > cache.max)
		return;
	while (cache.used + size > cache.max && cache.oldest != NULL)
		forget_oldest();
	if ((e = malloc(size)) == NULL)
		return;
	e->hash = hash(key, keylen);
	e->version = version;
	e->size = size;
	e->keylen = keylen;
	e->headlen = headlen;
	e->bodylen = r->out.len;
	memcpy(e->data, key, keylen);
	memcpy(e->data + keylen, r->headers.data + headers_at, headlen);
	memcpy(e->data + keylen + headlen, r->out.data, r->out.len);
	e->next = cache.bucket[e->hash & (BUCKETS - 1)];
	cache.bucket[e->hash & (BUCKETS - 1)] = e;
	e->newer = NULL;
	if (cache.newest != NULL)
		cache.newest->newer = e;
	else
		cache.oldest = e;
	cache.newest = e;
	cache.used += size;
}

void
cache_changed(void)
{
	if (pool_changes != NULL)
		__atomic_add_fetch(pool_changes, 1, __ATOMIC_RELEASE);
}
