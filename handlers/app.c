/*
 * The hooks that give the application's processes their database life
 * (struct app, filled in routes.c).  Each worker holds one connection,
 * opened at its start; each request gets a database context on it the
 * first time a handler asks.
 */
#include <unistd.h>

#include "arena.h"
#include "cache.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "req.h"

static struct db_conn	*conn;

static void
count_reconnect(void)
{
	if (metrics != NULL)
		metrics_add(&metrics->db_reconnects, 1);
}

void
app_worker_init(const struct conf *c)
{
	conn = db_open(c, count_reconnect, cache_worker_init(c));
}

void
app_worker_fini(void)
{
	db_close(conn);
	conn = NULL;
}

void
app_prefork(const struct conf *c)
{
	long	 cores = sysconf(_SC_NPROCESSORS_ONLN);
	double	 rate;

	cache_prefork(c);
	rate = password_budget_init(c->bcrypt_cost, c->bcrypt_share, cores);
	log_msg(NULL, "info", "password hashes for new clients: at most %.1f "
	    "a second (BCRYPT_SHARE=%d%% of %ld cores at cost %d)", rate,
	    c->bcrypt_share, cores, c->bcrypt_cost);
}

struct db_ctx *
req_db(struct req *r)
{
	struct db_ctx	*ctx;

	if (r->app != NULL)
		return r->app;
	ctx = arena_calloc(r->arena, sizeof(*ctx));
	ctx->arena = r->arena;
	ctx->conn = conn;
	ctx->request_id = r->id;
	ctx->client_address = r->remote_addr;
	ctx->restore_days = r->conf->restore_days;
	if (r->user_id != 0) {
		ctx->user_id = r->user_id;
		ctx->jti = r->claims.jti;
		ctx->iat = r->claims.iat;
	}
	r->app = ctx;
	return ctx;
}
