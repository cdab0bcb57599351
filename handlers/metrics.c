/*
 * GET /metrics (Prometheus text format) and GET /status (a pool status
 * page like PHP-FPM's), from the pool's shared counters (metrics.c).  They
 * are not under /api: the public sites never pass these paths on, and the
 * nginx site serves them on an internal loopback listener only.
 */
#include <inttypes.h>
#include <time.h>

#include "handlers.h"
#include "metrics.h"
#include "req.h"
#include "route.h"

static uint64_t
load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* Live workers, and how many of them are serving a request. */
static void
workers(int *total, int *busy)
{
	int	 i;

	*total = *busy = 0;
	for (i = 0; i < METRICS_SLOTS; i++)
		if (__atomic_load_n(&metrics->slots[i].pid,
		    __ATOMIC_ACQUIRE) > 0) {
			(*total)++;
			*busy += metrics->slots[i].busy != 0;
		}
}

static int
reply_text(struct req *r)
{
	r->status = 200;
	resp_header(r, "Content-Type", "text/plain; version=0.0.4; "
	    "charset=utf-8");
	return 200;
}

int
metrics_get(struct req *r)
{
	struct buf	*b = &r->out;
	const char	*route;
	uint64_t	 n;
	int		 i, s, total, busy, known;

	buf_puts(b, "# HELP medrec_requests_total Requests by route and "
	    "status.\n# TYPE medrec_requests_total counter\n");
	for (i = 0; i <= METRICS_ROUTES; i++)
		for (s = 0; s < METRICS_STATUSES; s++) {
			if ((n = load(&metrics->requests[i][s])) == 0)
				continue;
			known = (size_t)i < app.nroutes;
			route = known ? app.routes[i].pattern : "none";
			buf_printf(b, "medrec_requests_total{method=\"%s\","
			    "route=\"%s\",status=\"",
			    known ? app.routes[i].method : "", route);
			if (metrics_statuses[s] != 0)
				buf_printf(b, "%d", metrics_statuses[s]);
			else
				buf_puts(b, "other");
			buf_printf(b, "\"} %" PRIu64 "\n", n);
		}
	buf_puts(b, "# HELP medrec_request_duration_seconds Time from "
	    "accepting a request to its last byte.\n"
	    "# TYPE medrec_request_duration_seconds histogram\n");
	for (i = 0; i < METRICS_BUCKETS; i++)
		buf_printf(b, "medrec_request_duration_seconds_bucket{le=\"%g\"}"
		    " %" PRIu64 "\n", metrics_buckets_ms[i] / 1000,
		    load(&metrics->latency[i]));
	n = load(&metrics->latency_count);
	buf_printf(b, "medrec_request_duration_seconds_bucket{le=\"+Inf\"} "
	    "%" PRIu64 "\n", n);
	buf_printf(b, "medrec_request_duration_seconds_sum %.6f\n",
	    load(&metrics->latency_sum_us) / 1e6);
	buf_printf(b, "medrec_request_duration_seconds_count %" PRIu64 "\n",
	    n);
	buf_printf(b, "# HELP medrec_worker_restarts_total Workers replaced "
	    "after a crash or a kill.\n# TYPE medrec_worker_restarts_total "
	    "counter\nmedrec_worker_restarts_total %" PRIu64 "\n",
	    load(&metrics->worker_restarts));
	buf_printf(b, "# HELP medrec_worker_recycles_total Workers replaced "
	    "after MAX_REQUESTS.\n# TYPE medrec_worker_recycles_total "
	    "counter\nmedrec_worker_recycles_total %" PRIu64 "\n",
	    load(&metrics->worker_recycles));
	buf_printf(b, "# HELP medrec_db_reconnects_total Database "
	    "connections reopened after one broke.\n"
	    "# TYPE medrec_db_reconnects_total counter\n"
	    "medrec_db_reconnects_total %" PRIu64 "\n",
	    load(&metrics->db_reconnects));
	buf_printf(b, "# HELP medrec_password_hashes_total bcrypt hashes "
	    "computed (registrations, logins, password changes).\n"
	    "# TYPE medrec_password_hashes_total counter\n"
	    "medrec_password_hashes_total %" PRIu64 "\n"
	    "# HELP medrec_password_refused_total Requests refused with 503 "
	    "because the budget of password work for new clients was spent.\n"
	    "# TYPE medrec_password_refused_total counter\n"
	    "medrec_password_refused_total %" PRIu64 "\n",
	    load(&metrics->password_hashes), load(&metrics->password_refused));
	buf_printf(b, "# HELP medrec_public_cache_total Public reads (doctors) "
	    "answered from a worker's memory (hit) or from the database "
	    "(miss).\n# TYPE medrec_public_cache_total counter\n"
	    "medrec_public_cache_total{result=\"hit\"} %" PRIu64 "\n"
	    "medrec_public_cache_total{result=\"miss\"} %" PRIu64 "\n",
	    load(&metrics->public_cache_hits),
	    load(&metrics->public_cache_misses));
	workers(&total, &busy);
	buf_printf(b, "# HELP medrec_workers Pool workers by state.\n"
	    "# TYPE medrec_workers gauge\n"
	    "medrec_workers{state=\"busy\"} %d\n"
	    "medrec_workers{state=\"idle\"} %d\n", busy, total - busy);
	return reply_text(r);
}

int
status_get(struct req *r)
{
	struct buf	*b = &r->out;
	int64_t		 now = (int64_t)time(NULL);
	int		 i, total, busy;

	workers(&total, &busy);
	buf_printf(b, "pool:                 medrec\n"
	    "start since:          %" PRId64 "\n"
	    "accepted requests:    %" PRIu64 "\n"
	    "active processes:     %d\n"
	    "idle processes:       %d\n"
	    "total processes:      %d\n"
	    "worker restarts:      %" PRIu64 "\n"
	    "worker recycles:      %" PRIu64 "\n"
	    "database reconnects:  %" PRIu64 "\n\n",
	    now - metrics->started, load(&metrics->latency_count), busy,
	    total - busy, total, load(&metrics->worker_restarts),
	    load(&metrics->worker_recycles), load(&metrics->db_reconnects));
	buf_puts(b, "pid      state  requests  start since  last request ms\n");
	for (i = 0; i < METRICS_SLOTS; i++) {
		const struct metrics_slot *w = &metrics->slots[i];

		if (__atomic_load_n(&w->pid, __ATOMIC_ACQUIRE) <= 0)
			continue;
		buf_printf(b, "%-8d %-6s %8" PRIu64 "  %11" PRId64 "  %.3f\n",
		    (int)w->pid, w->busy ? "busy" : "idle",
		    load(&w->requests), now - w->started,
		    load(&w->last_us) / 1000.0);
	}
	return reply_text(r);
}
