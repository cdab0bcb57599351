/*
 * The master process, in the manner of nginx's ngx_process_cycle.c: it
 * holds the listening socket, forks the workers and then only waits for
 * signals.  All signals it cares about stay blocked and are taken
 * synchronously with sigtimedwait(), so there are no handlers and no races
 * between a flag and the loop.
 *
 * SIGCHLD: reap, log why the worker ended, start a replacement (at once if
 * it had been running a while, else after a back-off that doubles up to
 * 10 s, so a worker that dies at start cannot spin the machine).
 * SIGHUP: re-read the configuration, start a new generation, then ask the
 * old one to finish its requests and leave.
 * SIGTERM, SIGINT: ask every worker to finish and leave, wait, exit.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "route.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	10000
#define STOP_GRACE_S	60	/* then SIGKILL: a stuck worker must not
				   keep the service from stopping */

struct slot {
	pid_t		 pid;		/* 0: empty */
	double		 started;	/* monotonic seconds */
	double		 respawn_at;	/* when empty: when to fork */
	int		 backoff_ms;
};

struct oldworker {
	pid_t		 pid;
	struct oldworker *next;
};

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static pid_t
spawn(const struct conf *c, int fd)
{
	sigset_t	 none;
	pid_t		 pid, master = getpid();
	int		 slot = metrics_slot_reserve();

	if ((pid = fork()) == -1) {
		log_msg(NULL, "error", "fork: %s", strerror(errno));
		metrics_slot_free(-1);
		return 0;
	}
	if (pid == 0) {
		/* The worker sets its own mask and handlers. */
		sigemptyset(&none);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* A master killed outright (SIGKILL, OOM) cannot ask its
		 * workers to leave; without this they would hold the socket
		 * and serve on, orphaned, forever.  The check after it covers
		 * a master that died before the prctl. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != master)
			_exit(0);
		metrics_slot_own(slot, getpid());
		if (slot >= 0)
			metrics_self = &metrics->slots[slot];
		worker_run(c, fd);
	}
	metrics_slot_own(slot, pid);
	return pid;
}

static void
describe(int status, char *out, size_t len)
{
	if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d%s",
		    WEXITSTATUS(status), WEXITSTATUS(status) == 70 ?
		    " (out of memory)" : "");
	else if (WIFSIGNALED(status))
		snprintf(out, len, "was killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, len, "ended with status %d", status);
}

/* Fills empty slots whose time has come; returns seconds to the next. */
static double
fill(struct conf *c, int fd, struct slot *slots, int n, int stopping)
{
	double	 now = mono(), next = 1.0;
	int	 i;

	for (i = 0; i < n && !stopping; i++) {
		if (slots[i].pid != 0)
			continue;
		if (slots[i].respawn_at > now) {
			if (slots[i].respawn_at - now < next)
				next = slots[i].respawn_at - now;
			continue;
		}
		if ((slots[i].pid = spawn(c, fd)) == 0) {
			slots[i].respawn_at = now + 1;
			continue;
		}
		slots[i].started = now;
	}
	return next;
}

/* Records the end of pid; returns 1 if it was a current worker. */
static int
reaped(struct slot *slots, int n, struct oldworker **old, pid_t pid,
    int status, int stopping)
{
	struct oldworker	**o, *dead;
	char			 why[128];
	double			 now = mono(), ran;
	int			 i;

	metrics_slot_free(pid);
	for (o = old; *o != NULL; o = &(*o)->next)
		if ((*o)->pid == pid) {
			dead = *o;
			*o = dead->next;
			free(dead);
			return 0;
		}
	for (i = 0; i < n; i++)
		if (slots[i].pid == pid)
			break;
	if (i == n)
		return 0;
	slots[i].pid = 0;
	if (stopping)
		return 1;
	ran = now - slots[i].started;
	describe(status, why, sizeof(why));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		/* Recycled after MAX_REQUESTS, or told to leave by hand. */
		metrics_add(&metrics->worker_recycles, 1);
		slots[i].backoff_ms = 0;
		slots[i].respawn_at = now;
		return 1;
	}
	metrics_add(&metrics->worker_restarts, 1);
	if (ran >= 1.0)
		slots[i].backoff_ms = 0;
	else
		slots[i].backoff_ms = slots[i].backoff_ms == 0 ?
		    BACKOFF_MIN_MS : slots[i].backoff_ms * 2;
	if (slots[i].backoff_ms > BACKOFF_MAX_MS)
		slots[i].backoff_ms = BACKOFF_MAX_MS;
	slots[i].respawn_at = now + slots[i].backoff_ms / 1000.0;
	log_msg(NULL, "warn", "worker %d %s after %.1f s; restarting it "
	    "in %.1f s", (int)pid, why, ran, slots[i].backoff_ms / 1000.0);
	return 1;
}

/* SIGHUP: new configuration and a new generation of workers. */
static struct slot *
reload(struct conf *c, const char *conf_file, int fd, struct slot *slots,
    int *n, struct oldworker **old)
{
	struct conf		 next;
	struct slot		*fresh;
	struct oldworker	*o;
	char			 err[512];
	int			 i;

	if (conf_load(&next, conf_file, 1, err, sizeof(err)) == -1)
		goto refused;
	if (app.check(&next, err, sizeof(err)) == -1) {
		conf_wipe(&next);
		goto refused;
	}
	conf_forget_migration(&next);	/* a reload does not migrate */
	/* The socket stays: changing LISTEN needs a restart. */
	memcpy(next.listen, c->listen, sizeof(next.listen));
	if ((fresh = calloc((size_t)next.workers, sizeof(*fresh))) == NULL) {
		log_msg(NULL, "error", "reload refused: out of memory");
		conf_wipe(&next);
		return slots;
	}
	conf_wipe(c);
	*c = next;
	log_init(c->log_format);
	for (i = 0; i < *n; i++) {
		if (slots[i].pid == 0 || (o = malloc(sizeof(*o))) == NULL)
			continue;
		o->pid = slots[i].pid;
		o->next = *old;
		*old = o;
	}
	fill(c, fd, fresh, c->workers, 0);
	for (o = *old; o != NULL; o = o->next)
		kill(o->pid, SIGTERM);
	log_msg(NULL, "info", "reloaded: %d new workers, old ones finish "
	    "their requests", c->workers);
	free(slots);
	*n = c->workers;
	return fresh;
refused:
	log_msg(NULL, "error", "reload refused, keeping the running "
	    "configuration: %s", err);
	return slots;
}

int
pool_run(struct conf *c, const char *conf_file, int fd)
{
	struct slot		*slots;
	struct oldworker	*old = NULL;
	struct timespec		 ts;
	sigset_t		 set;
	siginfo_t		 si;
	double			 wait, stop_deadline = 0;
	int			 n = c->workers, stopping = 0, alive, i, sig;
	int			 status;
	pid_t			 pid;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (metrics_init() == -1) {
		log_msg(NULL, "error", "cannot map the shared counters: %s",
		    strerror(errno));
		return 1;
	}
	if ((slots = calloc((size_t)n, sizeof(*slots))) == NULL) {
		log_msg(NULL, "error", "out of memory");
		return 1;
	}
	log_msg(NULL, "info", "pool started: %d workers on %s", n, c->listen);
	for (;;) {
		wait = fill(c, fd, slots, n, stopping);
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		sig = sigtimedwait(&set, &si, &ts);

		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			reaped(slots, n, &old, pid, status, stopping);

		if (!stopping && (sig == SIGTERM || sig == SIGINT)) {
			stopping = 1;
			stop_deadline = mono() + STOP_GRACE_S;
			log_msg(NULL, "info", "stopping: workers finish their "
			    "requests");
			for (i = 0; i < n; i++)
				if (slots[i].pid != 0)
					kill(slots[i].pid, SIGTERM);
		} else if (!stopping && sig == SIGHUP)
			slots = reload(c, conf_file, fd, slots, &n, &old);

		if (stopping) {
			alive = old != NULL;
			for (i = 0; i < n; i++)
				alive |= slots[i].pid != 0;
			if (!alive)
				break;
			if (mono() > stop_deadline) {
				log_msg(NULL, "warn", "workers still busy "
				    "after %d s: killing them", STOP_GRACE_S);
				for (i = 0; i < n; i++)
					if (slots[i].pid != 0)
						kill(slots[i].pid, SIGKILL);
				stop_deadline = mono() + STOP_GRACE_S;
			}
		}
	}
	while (old != NULL) {
		struct oldworker *o = old;

		old = o->next;
		free(o);
	}
	free(slots);
	log_msg(NULL, "info", "pool stopped");
	return 0;
}
