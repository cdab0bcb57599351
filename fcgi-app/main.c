/*
 * medrec: the healthcare records API as a prefork FastCGI pool.
 *
 *	medrec [-c file] [--migrate | --purge | --routes]
 *
 * Loads the configuration, applies pending migrations, opens the listening
 * socket and hands over to the master loop (pool.c).  --migrate applies the
 * migrations and exits, for deployments that migrate as a separate step.
 * --purge removes what is past its retention and exits (a daily timer).
 * --routes prints the route table ("METHOD pattern auth"), which a test
 * compares with the OpenAPI document.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "conf.h"
#include "log.h"
#include "pool.h"
#include "route.h"

static void
usage(void)
{
	fprintf(stderr, "usage: medrec [-c config-file] [--migrate | --purge | "
	    "--routes]\n");
	exit(2);
}

/* A unix socket path is anything that is not host:port or :port. */
static int
is_unix_path(const char *listen)
{
	return strchr(listen, ':') == NULL;
}

/*
 * Started as root, the pool becomes RUN_AS_USER (default medrec) once it holds
 * its socket, before any request is read.  Returns 0, or -1 after logging
 * why: a pool that cannot drop root does not run.
 */
static int
drop_root(const char *user)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_msg(NULL, "error", "started as root, but user %s (RUN_AS_USER) "
		    "does not exist", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_msg(NULL, "error", "RUN_AS_USER must not be root");
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1 ||
	    setuid(0) != -1) {
		log_msg(NULL, "error", "cannot become %s: %s", user,
		    strerror(errno));
		return -1;
	}
	log_msg(NULL, "info", "running as %s", user);
	return 0;
}

/*
 * A worker's memory holds the JWT secret, the database password and the
 * requests' tokens: no core file may carry them off, and no other process
 * of the same user may read them.
 */
static void
no_core_dumps(void)
{
	struct rlimit	 none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/*
 * Runs fn in a child process and returns what it returned.  What libpq
 * copied of the owner's password (MIGRATION_DATABASE_URL) into memory it
 * later freed goes with the child, so no worker, forked later, inherits
 * it.
 */
static int
apart(int (*fn)(const struct conf *), const struct conf *c)
{
	pid_t	 pid;
	int	 status;

	if ((pid = fork()) == -1) {
		log_msg(NULL, "error", "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(fn(c) == -1 ? 1 : 0);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* A TCP host part of LISTEN that only this machine reaches. */
static int
is_loopback(const char *listen)
{
	return strncmp(listen, "127.", 4) == 0 ||
	    strncmp(listen, "localhost:", 10) == 0 ||
	    strncmp(listen, "[::1]:", 6) == 0;
}

/*
 * A pool on a TCP port other hosts reach takes requests only from the
 * web servers FCGI_WEB_SERVER_ADDRS names: whoever else connects could set
 * REMOTE_ADDR (the throttle's key, the audit trail's address) and read
 * /metrics.  Returns 0, or -1 with the reason in err.
 */
static int
listen_check(const struct conf *c, char *err, size_t errlen)
{
	if (is_unix_path(c->listen) || is_loopback(c->listen) ||
	    c->web_servers[0] != '\0')
		return 0;
	snprintf(err, errlen, "LISTEN is %s, which other hosts reach: set "
	    "FCGI_WEB_SERVER_ADDRS to the addresses of the web servers that "
	    "may connect", c->listen);
	return -1;
}

/*
 * Opens the pool's socket: the web servers' allow-list for libfcgi (it
 * reads FCGI_WEB_SERVER_ADDRS at FCGX_Init), a read and write timeout that
 * TCP connections inherit (a web server that stops halfway through a
 * request frees its worker after FCGI_READ_TIMEOUT), and a unix socket's
 * mode and owner (RUN_AS_USER, when started as root).  Returns the socket,
 * or -1 after logging why.
 */
static int
listen_open(const struct conf *c)
{
	struct timeval	 tv = { c->read_timeout, 0 };
	struct passwd	*pw;
	int		 fd;

	if (c->web_servers[0] != '\0' &&
	    setenv("FCGI_WEB_SERVER_ADDRS", c->web_servers, 1) == -1) {
		log_msg(NULL, "error", "setenv: %s", strerror(errno));
		return -1;
	}
	if (FCGX_Init() != 0) {
		log_msg(NULL, "error", "FCGX_Init failed");
		return -1;
	}
	if (is_unix_path(c->listen))
		(void)unlink(c->listen);	/* a stale one from a crash */
	if ((fd = FCGX_OpenSocket(c->listen, c->backlog)) == -1) {
		log_msg(NULL, "error", "cannot listen on %s: %s", c->listen,
		    strerror(errno));
		return -1;
	}
	if (!is_unix_path(c->listen) &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)) {
		log_msg(NULL, "error", "setsockopt: %s", strerror(errno));
		return -1;
	}
	if (is_unix_path(c->listen)) {
		if (chmod(c->listen, (mode_t)c->socket_mode) == -1) {
			log_msg(NULL, "error", "chmod %s: %s", c->listen,
			    strerror(errno));
			return -1;
		}
		if (geteuid() == 0 && (pw = getpwnam(c->user[0] != '\0' ?
		    c->user : "medrec")) != NULL &&
		    chown(c->listen, pw->pw_uid, (gid_t)-1) == -1) {
			log_msg(NULL, "error", "chown %s: %s", c->listen,
			    strerror(errno));
			return -1;
		}
	}
	/* Non-blocking: see the comment at the top of worker.c. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_msg(NULL, "error", "fcntl: %s", strerror(errno));
		return -1;
	}
	return fd;
}

static void
print_routes(void)
{
	const struct route	*rt;

	for (rt = app.routes; rt->method != NULL; rt++)
		printf("%s %s %s\n", rt->method, rt->pattern,
		    rt->auth == AUTH_USER ? "user" : "public");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "migrate", no_argument, NULL, 'm' },
		{ "purge", no_argument, NULL, 'p' },
		{ "routes", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf	 conf;
	const char	*conf_file = NULL;
	char		 err[512];
	int		 ch, migrate_only = 0, purge = 0, fd, rc;

	/* Before anything is read: the configuration holds secrets. */
	no_core_dumps();
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_file = optarg;
			break;
		case 'm':
			migrate_only = 1;
			break;
		case 'p':
			purge = 1;
			break;
		case 'r':
			print_routes();
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || (migrate_only && purge))
		usage();

	if (conf_load(&conf, conf_file, !migrate_only && !purge, err,
	    sizeof(err)) == -1 || app.check(&conf, err, sizeof(err)) == -1 ||
	    listen_check(&conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "medrec: configuration error: %s\n", err);
		conf_wipe(&conf);
		return 78;	/* EX_CONFIG */
	}
	log_init(conf.log_format);

	if (migrate_only || conf.auto_migrate) {
		rc = apart(app.migrate, &conf);
		if (rc == -1 || migrate_only) {
			conf_wipe(&conf);
			return rc == -1 ? 1 : 0;
		}
	}
	/* The purge runs as the service, whose role app_purge() is for. */
	if (purge) {
		rc = app.purge(&conf);
		conf_wipe(&conf);
		return rc == -1 ? 1 : 0;
	}
	/* The owner's password is not needed past here: no worker gets it. */
	conf_forget_migration(&conf);
	if (app.verify(&conf) == -1) {
		conf_wipe(&conf);
		return 78;
	}

	if ((fd = listen_open(&conf)) == -1)
		return 1;
	if (drop_root(conf.user[0] != '\0' ? conf.user : "medrec") == -1)
		return 1;

	app.prefork(&conf);

	rc = pool_run(&conf, conf_file, fd);
	close(fd);
	if (is_unix_path(conf.listen))
		(void)unlink(conf.listen);
	conf_wipe(&conf);
	return rc;
}
