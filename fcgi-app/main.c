/*
 * medrec: the healthcare records API as a prefork FastCGI pool.
 *
 *	medrec [-c file] [--migrate | --routes]
 *
 * Loads the configuration, applies pending migrations, opens the listening
 * socket and hands over to the master loop (pool.c).  --migrate applies the
 * migrations and exits, for deployments that migrate as a separate step.
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
#include <sys/stat.h>
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
	fprintf(stderr, "usage: medrec [-c config-file] [--migrate | "
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
		{ "routes", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf	 conf;
	const char	*conf_file = NULL;
	char		 err[512];
	int		 ch, migrate_only = 0, fd, rc;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_file = optarg;
			break;
		case 'm':
			migrate_only = 1;
			break;
		case 'r':
			print_routes();
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if (conf_load(&conf, conf_file, !migrate_only, err,
	    sizeof(err)) == -1 || app.check(&conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "medrec: configuration error: %s\n", err);
		conf_wipe(&conf);
		return 78;	/* EX_CONFIG */
	}
	log_init(conf.log_format);

	if (migrate_only || conf.auto_migrate) {
		rc = app.migrate(&conf);
		if (rc == -1 || migrate_only) {
			conf_wipe(&conf);
			return rc == -1 ? 1 : 0;
		}
	}

	if (FCGX_Init() != 0) {
		log_msg(NULL, "error", "FCGX_Init failed");
		return 1;
	}
	if (is_unix_path(conf.listen))
		(void)unlink(conf.listen);	/* a stale one from a crash */
	if ((fd = FCGX_OpenSocket(conf.listen, conf.backlog)) == -1) {
		log_msg(NULL, "error", "cannot listen on %s: %s", conf.listen,
		    strerror(errno));
		return 1;
	}
	if (is_unix_path(conf.listen) &&
	    chmod(conf.listen, (mode_t)conf.socket_mode) == -1) {
		log_msg(NULL, "error", "chmod %s: %s", conf.listen,
		    strerror(errno));
		return 1;
	}
	/* Non-blocking: see the comment at the top of worker.c. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_msg(NULL, "error", "fcntl: %s", strerror(errno));
		return 1;
	}

	if (drop_root(conf.user[0] != '\0' ? conf.user : "medrec") == -1)
		return 1;
	no_core_dumps();

	app.prefork(&conf);

	rc = pool_run(&conf, conf_file, fd);
	close(fd);
	if (is_unix_path(conf.listen))
		(void)unlink(conf.listen);
	conf_wipe(&conf);
	return rc;
}
