/*
 * Counters every process of the pool shares: requests by route and status,
 * a latency histogram, worker restarts, database reconnects, and each
 * worker's state, for the Prometheus endpoint and the status page
 * (handlers/metrics.c).  They live in one anonymous shared mapping made by
 * the master before it forks, and are only ever added to with atomic
 * instructions, so no lock is needed and a worker killed mid-request can
 * leave nothing inconsistent behind.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At least the route table's rows (handlers/routes.c asserts it); one more
 * slot counts requests that matched no route. */
#define METRICS_ROUTES		64
#define METRICS_STATUSES	19	/* see metrics_statuses[] */
#define METRICS_BUCKETS		12	/* see metrics_buckets_ms[] */
#define METRICS_SLOTS		2048	/* workers, old and new generation */

struct metrics_slot {
	pid_t		 pid;		/* 0: free */
	int		 busy;
	uint64_t	 requests;
	uint64_t	 last_us;	/* duration of the last request */
	int64_t		 started;	/* seconds since the epoch */
};

struct metrics {
	int64_t		 started;
	uint64_t	 requests[METRICS_ROUTES + 1][METRICS_STATUSES];
	uint64_t	 latency[METRICS_BUCKETS];	/* cumulative per le */
	uint64_t	 latency_sum_us;
	uint64_t	 latency_count;
	uint64_t	 worker_restarts;	/* ended by a crash or kill */
	uint64_t	 worker_recycles;	/* after MAX_REQUESTS */
	uint64_t	 db_reconnects;
	uint64_t	 password_hashes;	/* bcrypt hashes computed */
	uint64_t	 password_refused;	/* refused: budget spent */
	uint64_t	 public_cache_hits;	/* public reads from memory */
	uint64_t	 public_cache_misses;
	struct metrics_slot slots[METRICS_SLOTS];
};

extern const int	 metrics_statuses[METRICS_STATUSES];
extern const double	 metrics_buckets_ms[METRICS_BUCKETS];

/* The shared counters; NULL until metrics_init(). */
extern struct metrics	*metrics;
/* This process's slot, for a worker; NULL in the master. */
extern struct metrics_slot *metrics_self;

/* Maps the shared counters (master, before forking).  Returns 0 or -1. */
int	metrics_init(void);
/*
 * Reserves a free slot for the worker about to be forked (master).
 * Returns its index, or -1 when there is none.
 */
int	metrics_slot_reserve(void);
/* Makes slot i the calling worker's (after fork) or records its pid. */
void	metrics_slot_own(int i, pid_t);
/* Frees pid's slot (master, when it has been reaped). */
void	metrics_slot_free(pid_t);
/* Counts one request of route index route (-1: no route) and status. */
void	metrics_request(int route, int status, uint64_t us);
/* Adds n to a counter. */
void	metrics_add(uint64_t *, uint64_t n);

#endif
