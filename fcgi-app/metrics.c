/*
 * The shared counters; see metrics.h.
 */
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "metrics.h"

/* The statuses the service answers with; the last counts any other. */
const int metrics_statuses[METRICS_STATUSES] = {
	200, 201, 204, 304, 400, 401, 404, 405, 409, 410, 412, 413, 415, 422,
	429, 500, 502, 503, 0
};
/* Upper bounds of the latency buckets, in milliseconds. */
const double metrics_buckets_ms[METRICS_BUCKETS] = {
	1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000
};

struct metrics		*metrics;
struct metrics_slot	*metrics_self;

int
metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(*metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	metrics = p;
	metrics->started = (int64_t)time(NULL);
	return 0;
}

void
metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

int
metrics_slot_reserve(void)
{
	int	 i;

	/* Only the master takes and frees slots: no race between them. */
	for (i = 0; metrics != NULL && i < METRICS_SLOTS; i++)
		if (metrics->slots[i].pid == 0) {
			memset(&metrics->slots[i], 0, sizeof(metrics->slots[i]));
			metrics->slots[i].pid = -1;
			metrics->slots[i].started = (int64_t)time(NULL);
			return i;
		}
	return -1;
}

void
metrics_slot_own(int i, pid_t pid)
{
	if (metrics == NULL || i < 0)
		return;
	/* Parent and child both store the same pid: whichever runs first. */
	__atomic_store_n(&metrics->slots[i].pid, pid, __ATOMIC_RELEASE);
}

void
metrics_slot_free(pid_t pid)
{
	int	 i;

	for (i = 0; metrics != NULL && i < METRICS_SLOTS; i++)
		if (metrics->slots[i].pid == pid)
			__atomic_store_n(&metrics->slots[i].pid, 0,
			    __ATOMIC_RELEASE);
}

void
metrics_request(int route, int status, uint64_t us)
{
	int	 s, b;

	if (metrics == NULL)
		return;
	for (s = 0; s < METRICS_STATUSES - 1; s++)
		if (metrics_statuses[s] == status)
			break;
	if (route < 0 || route >= METRICS_ROUTES)
		route = METRICS_ROUTES;
	metrics_add(&metrics->requests[route][s], 1);
	for (b = 0; b < METRICS_BUCKETS; b++)
		if (us <= metrics_buckets_ms[b] * 1000)
			metrics_add(&metrics->latency[b], 1);
	metrics_add(&metrics->latency_sum_us, us);
	metrics_add(&metrics->latency_count, 1);
	if (metrics_self != NULL) {
		metrics_add(&metrics_self->requests, 1);
		__atomic_store_n(&metrics_self->last_us, us, __ATOMIC_RELAXED);
	}
}
