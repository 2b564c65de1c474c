/* family_kill: a forking echo service whose workers get killed, and its load.
 * For tests/e2e/family_crash.bats (kill -9 of members of a family, under
 * nstack, preload/family.c); runs the same on the kernel.
 *
 *   family_kill server ADDR PORT N
 *       listen, fork N workers that accept and echo (blocking: each worker
 *       is in recv/send, inside the stack, most of the time under load);
 *       print "ready PID" once listening. The parent re-forks a worker for
 *       each one that dies (waitpid) and prints "respawned N" on SIGUSR1
 *       (how many so far); SIGTERM ends it and its workers.
 *   family_kill load ADDR PORT C SECONDS
 *       C threads, each keeps a connection busy: writes 1000 bytes and
 *       reads them back, 20 times, then closes and connects again (accept
 *       and close in the stack too); a connection that fails (its
 *       worker was killed: reset, or no answer for 2 s) is counted and
 *       replaced. Print "rounds R errors E" at the end (after SECONDS, or
 *       on SIGTERM).
 *   family_kill forker ADDR PORT FLAGFILE
 *       listen, fork a keeper that holds the listener until FLAGFILE exists,
 *       then closes it and prints "closed"; then fork children that exit at
 *       once, again and again (to be killed inside fork()). Prints
 *       "ready PID KEEPER" first.
 *   family_kill probe ADDR PORT TIMEOUT_MS
 *       one connection, "ping\n" echoed, within TIMEOUT_MS; print "pong MS".
 * Exit 0 on success, 1 with a line on stderr otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "family_kill: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in addr_of(const char *a, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, a, &sa.sin_addr) != 1) {
		fprintf(stderr, "family_kill: bad address %s\n", a);
		exit(2);
	}
	return sa;
}

/* ---- server --------------------------------------------------------------- */

static volatile sig_atomic_t got_term, got_usr1;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static void worker(int l)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);
	char buf[4096];
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		for (;;) {
			ssize_t n = recv(c, buf, sizeof(buf), 0);
			if (n <= 0)
				break;
			ssize_t off = 0;
			while (off < n) {
				ssize_t w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
				if (w <= 0)
					goto done;
				off += w;
			}
		}
done:
		close(c);
	}
}

static pid_t spawn(int l)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		worker(l);
		_exit(0);
	}
	return p;
}

static int server(const char *a, const char *port, int n)
{
	struct sockaddr_in sa = addr_of(a, port);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(l, 128) < 0)
		die("listen");
	struct sigaction act = { .sa_handler = on_sig };
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGUSR1, &act, NULL);
	pid_t *w = calloc((size_t)n, sizeof(*w));
	for (int i = 0; i < n; i++)
		w[i] = spawn(l);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	unsigned respawned = 0;
	while (!got_term) {
		if (got_usr1) {
			got_usr1 = 0;
			printf("respawned %u\n", respawned);
			fflush(stdout);
		}
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			die("waitpid");
		}
		for (int i = 0; i < n; i++)
			if (w[i] == p) {
				w[i] = spawn(l);
				respawned++;
			}
	}
	for (int i = 0; i < n; i++)
		kill(w[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(w[i], NULL, 0);
	printf("respawned %u\n", respawned);
	return 0;
}

/* ---- forker ---------------------------------------------------------------- */

static int forker(const char *a, const char *port, const char *flag)
{
	struct sockaddr_in sa = addr_of(a, port);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0)
		die("socket");
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(l, 8) < 0)
		die("listen");
	pid_t k = fork();
	if (k < 0)
		die("fork");
	if (k == 0) {
		for (int i = 0; i < 6000 && access(flag, F_OK) < 0; i++)
			usleep(10000);
		close(l);
		printf("closed\n");
		fflush(stdout);
		sleep(60);
		_exit(0);
	}
	printf("ready %d %d\n", (int)getpid(), (int)k);
	fflush(stdout);
	for (;;) {
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(0);
		waitpid(c, NULL, 0);
	}
}

/* ---- load ----------------------------------------------------------------- */

static struct sockaddr_in load_sa;
static volatile double load_end;        /* SIGTERM: 0, the end */
static unsigned long load_rounds, load_errors;

/* Wait for fd to be readable/writable until the deadline; 1, or 0. */
static int wait_fd(int fd, short ev, double deadline)
{
	double left = deadline - now_s();
	if (left <= 0)
		return 0;
	struct pollfd p = { fd, ev, 0 };
	int r = poll(&p, 1, (int)(left * 1000) + 1);
	return r == 1;
}

static int xfer(int c, const char *out, char *in, size_t len)
{
	double deadline = now_s() + 2.0;
	size_t off = 0;
	while (off < len) {
		if (!wait_fd(c, POLLOUT, deadline))
			return -1;
		ssize_t w = send(c, out + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	off = 0;
	while (off < len) {
		if (!wait_fd(c, POLLIN, deadline))
			return -1;
		ssize_t r = recv(c, in + off, len - off, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return memcmp(out, in, len) ? -1 : 0;
}

static void *load_main(void *arg)
{
	(void)arg;
	char out[1000], in[1000];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)('a' + i % 26);
	unsigned long rounds = 0, errors = 0;
	while (now_s() < load_end) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0)
			die("socket");
		struct timeval tv = { 2, 0 };
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c, (struct sockaddr *)&load_sa, sizeof(load_sa)) < 0) {
			errors++;
			close(c);
			usleep(10000);
			continue;
		}
		for (int k = 0; k < 20 && now_s() < load_end; k++) {
			if (xfer(c, out, in, sizeof(out)) < 0) {
				errors++;
				break;
			}
			rounds++;
		}
		close(c);
	}
	__atomic_add_fetch(&load_rounds, rounds, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&load_errors, errors, __ATOMIC_SEQ_CST);
	return NULL;
}

static void load_stop(int sig)
{
	(void)sig;
	load_end = 0;
}

static int load(const char *a, const char *port, int n, double secs)
{
	load_sa = addr_of(a, port);
	load_end = now_s() + secs;
	signal(SIGTERM, load_stop);
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, load_main, NULL))
			die("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("rounds %lu errors %lu\n", load_rounds, load_errors);
	return load_rounds ? 0 : 1;
}

/* ---- probe ---------------------------------------------------------------- */

static int probe(const char *a, const char *port, int ms)
{
	struct sockaddr_in sa = addr_of(a, port);
	double t0 = now_s(), deadline = t0 + ms / 1000.0;
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0)
		die("socket");
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		die("connect");
	if (!wait_fd(c, POLLOUT, deadline)) {
		fprintf(stderr, "family_kill: probe: no connection within %d ms\n", ms);
		return 1;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
	if (err) {
		errno = err;
		die("probe connect");
	}
	char in[5];
	size_t off = 0;
	if (send(c, "ping\n", 5, MSG_NOSIGNAL) != 5)
		die("probe send");
	while (off < 5) {
		if (!wait_fd(c, POLLIN, deadline)) {
			fprintf(stderr, "family_kill: probe: no echo within %d ms\n", ms);
			return 1;
		}
		ssize_t r = recv(c, in + off, 5 - off, 0);
		if (r <= 0) {
			fprintf(stderr, "family_kill: probe: %s\n", r ? strerror(errno) : "EOF");
			return 1;
		}
		off += (size_t)r;
	}
	close(c);
	if (memcmp(in, "ping\n", 5)) {
		fprintf(stderr, "family_kill: probe: wrong echo\n");
		return 1;
	}
	printf("pong %d\n", (int)((now_s() - t0) * 1000));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(argv[2], argv[3], atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "load"))
		return load(argv[2], argv[3], atoi(argv[4]), atof(argv[5]));
	if (argc == 5 && !strcmp(argv[1], "forker"))
		return forker(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "probe"))
		return probe(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: family_kill server ADDR PORT N | load ADDR PORT C SECONDS | "
			"forker ADDR PORT FLAGFILE | probe ADDR PORT TIMEOUT_MS\n");
	return 2;
}
