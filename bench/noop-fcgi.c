/*
 * The benchmark's no-op FastCGI responder: the ceiling of nginx plus a
 * prefork FastCGI pool on this machine, against which script/bench reads
 * S1.  It does what the medrec pool does around a request and nothing
 * else: N processes wait on one non-blocking socket with epoll
 * (EPOLLEXCLUSIVE), accept with libfcgi, write a fixed small JSON
 * document, read stdin to its end and finish, closing at once as the pool
 * does (fcgi-app/worker.c, stdin_drained()).  A connection nginx asks to
 * keep (fastcgi_keep_conn on) is kept as the pool keeps it: at most one
 * per process, watched with the listening socket, and given up when that
 * process accepts another, so that no connection waits behind an idle one
 * (script/bench --keep-conn).
 *
 *	noop-fcgi SOCKET WORKERS
 *
 * Runs in the foreground until SIGTERM or SIGINT, then stops its workers.
 * Built by script/bench with cc -O2 noop-fcgi.c -lfcgi.
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define WORKERS_MAX	1024

static const char reply[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 16\r\n"
    "\r\n"
    "{\"status\":\"ok\"}\n";

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
serve(int fd)
{
	FCGX_Request		 req;
	struct epoll_event	 ev, evs[2];
	char			 trash[1024];
	int			 ep, n, i, kept, cfd;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (FCGX_InitRequest(&req, fd, 0) != 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		_exit(1);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		_exit(1);
	for (;;) {
		if ((n = epoll_wait(ep, evs, 2, -1)) == -1)
			continue;
		for (kept = 0, i = 0; i < n; i++)
			kept |= req.ipcFd >= 0 && evs[i].data.fd == req.ipcFd;
		/* Idle on a kept connection and another waits: accept it,
		 * then give the kept one up (fcgi-app/worker.c). */
		if (req.ipcFd >= 0 && !kept) {
			if ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
				continue;
			FCGX_Free(&req, 1);
			req.ipcFd = cfd;
		}
		if (FCGX_Accept_r(&req) < 0)
			continue;	/* a sibling took it (EAGAIN) */
		FCGX_PutStr(reply, (int)sizeof(reply) - 1, req.out);
		while (FCGX_GetStr(trash, sizeof(trash), req.in) > 0)
			continue;
		if (FCGX_HasSeenEOF(req.in) && FCGX_GetError(req.in) == 0)
			FCGX_Detach(&req);
		else
			req.keepConnection = 0;
		FCGX_Finish_r(&req);
		if (req.ipcFd >= 0) {
			ev.events = EPOLLIN;
			ev.data.fd = req.ipcFd;
			if (epoll_ctl(ep, EPOLL_CTL_ADD, req.ipcFd, &ev) == -1 &&
			    errno != EEXIST)
				FCGX_Free(&req, 1);
		}
	}
}

int
main(int argc, char *argv[])
{
	pid_t		 kids[WORKERS_MAX];
	int		 fd, n, i;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > WORKERS_MAX) {
		fprintf(stderr, "usage: noop-fcgi SOCKET WORKERS\n");
		return 2;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "noop-fcgi: FCGX_Init failed\n");
		return 1;
	}
	unlink(argv[1]);
	umask(0);	/* nginx's workers run as another user */
	if ((fd = FCGX_OpenSocket(argv[1], 1024)) == -1) {
		fprintf(stderr, "noop-fcgi: cannot listen on %s\n", argv[1]);
		return 1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		perror("noop-fcgi: fcntl");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	for (i = 0; i < n; i++) {
		if ((kids[i] = fork()) == -1) {
			perror("noop-fcgi: fork");
			n = i;
			stop = 1;
			break;
		}
		if (kids[i] == 0)
			serve(fd);
	}
	while (!stop)
		pause();
	for (i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < n; i++)
		while (waitpid(kids[i], NULL, 0) == -1 && errno == EINTR)
			;
	unlink(argv[1]);
	return 0;
}
