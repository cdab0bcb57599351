/*
 * The process manager and the worker loop.  The master opens the listening
 * socket, forks the workers and keeps their number up; each worker serves
 * requests one at a time with its own database connection.
 */
#ifndef POOL_H
#define POOL_H

struct conf;

/*
 * Runs the master until SIGTERM or SIGINT: forks conf->workers workers on
 * the listening socket fd, restarts dead ones with a back-off, replaces
 * them all on SIGHUP.  conf_file is re-read on SIGHUP.  Returns the exit
 * status.
 */
int	pool_run(struct conf *, const char *conf_file, int fd);

/* Logs the access line of a request that has been answered (access.c). */
struct req;
void	log_request(const struct req *, double ms);

/* The worker's loop: serves requests on fd until told to stop or
 * max_requests is reached.  Never returns. */
void	worker_run(const struct conf *, int fd) __attribute__((noreturn));

#endif
