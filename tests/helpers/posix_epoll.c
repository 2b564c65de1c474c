/* epoll parity checks, run on the kernel and under nstack (tests/e2e/posix_epoll.bats);
 * the two outputs must be equal line for line.
 *
 *   posix_epoll checks ADDR PORT   one process: a listener on ADDR:PORT, a client, the
 *                                  accepted socket; prints one line per check
 *   posix_epoll idle ADDR PORT SECS
 *                                  connect to ADDR:PORT, print "ready", then block in
 *                                  epoll_wait (socket + a pipe) for SECS seconds; the
 *                                  test reads this process's CPU time from /proc meanwhile
 *
 * Each line names the check and shows the result as the kernel gives it (return value,
 * errno name, event mask in hex), never "ok" alone, so a difference shows what differs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EBADF: return "EBADF";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case EINTR: return "EINTR";
	case EPERM: return "EPERM";
	case EAGAIN: return "EAGAIN";
	case ELOOP: return "ELOOP";
	}
	static char b[32];
	snprintf(b, sizeof(b), "errno%d", e);
	return b;
}

/* "r=<ret> e=<errno>" for a call returning -1 on error */
#define CALL(label, expr) do { errno = 0; int r_ = (expr); \
	printf("%s: r=%d e=%s\n", label, r_ < 0 ? -1 : r_, r_ < 0 ? ename(errno) : "0"); } while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sockaddr_in sa;

static void die(const char *what)
{
	printf("FATAL %s: %s\n", what, strerror(errno));
	exit(1);
}

/* a connected pair over ADDR:PORT: *c client, *a accepted; *l the listener */
static void make_pair(int *l, int *c, int *a)
{
	*l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(*l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(*l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(*l, 16) < 0)
		die("listen");
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	*a = accept(*l, NULL, NULL);
	if (*a < 0)
		die("accept");
}

/* wait with timeout; print count and the events of each, data as given */
static void show_wait(const char *label, int ep, int max, int ms)
{
	struct epoll_event ev[8];
	errno = 0;
	int n = epoll_wait(ep, ev, max, ms);
	printf("%s: n=%d", label, n);
	if (n < 0)
		printf(" e=%s", ename(errno));
	for (int i = 0; i < n; i++)
		printf(" [data=%llu ev=%#x]", (unsigned long long)ev[i].data.u64, ev[i].events);
	printf("\n");
}

static void add(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		die("epoll_ctl add");
}

static void drain(int fd)
{
	char b[4096];
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

struct later { int fd; int ms; const char *buf; };

static void *send_later(void *arg)
{
	struct later *l = arg;
	usleep((useconds_t)l->ms * 1000);
	if (write(l->fd, l->buf, strlen(l->buf)) < 0)
		perror("send_later");
	return NULL;
}

/* "data" is written to fd 100 ms from now; epoll_wait on ep must block
 * until it comes, and say so in time. */
static void wait_for_later(const char *label, const char *woke, int ep, int fd, const char *data)
{
	struct later l = { fd, 100, data };
	pthread_t th;
	pthread_create(&th, NULL, send_later, &l);
	uint64_t t0 = now_ms();
	show_wait(label, ep, 8, 3000);
	uint64_t dt = now_ms() - t0;
	printf("%s in time: %s\n", woke, dt >= 50 && dt < 2000 ? "yes" : "no");
	pthread_join(th, NULL);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int checks(void)
{
	int l, c, a;
	make_pair(&l, &c, &a);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CALL("epoll_create1 cloexec flag", (fcntl(ep, F_GETFD) & FD_CLOEXEC) ? 1 : 0);
	CALL("epoll_create(0)", epoll_create(0));
	CALL("epoll_create1(bad flag)", epoll_create1(0x1234));

	/* --- epoll_ctl errors, in the kernel's order --- */
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 1 };
	CALL("ctl add bad epfd", epoll_ctl(9999, EPOLL_CTL_ADD, a, &e));
	CALL("ctl add on non-epoll epfd", epoll_ctl(c, EPOLL_CTL_ADD, a, &e));
	CALL("ctl add epfd itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
	CALL("ctl add NULL event", epoll_ctl(ep, EPOLL_CTL_ADD, a, NULL));
	CALL("ctl mod not member", epoll_ctl(ep, EPOLL_CTL_MOD, a, &e));
	CALL("ctl del not member", epoll_ctl(ep, EPOLL_CTL_DEL, a, &e));
	CALL("ctl bad op", epoll_ctl(ep, 77, a, &e));
	CALL("ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	CALL("ctl add twice", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	CALL("ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	struct epoll_event x = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT };
	CALL("ctl add exclusive|oneshot", epoll_ctl(ep, EPOLL_CTL_ADD, a, &x));
	x.events = EPOLLIN | EPOLLEXCLUSIVE;
	CALL("ctl add exclusive", epoll_ctl(ep, EPOLL_CTL_ADD, a, &x));
	CALL("ctl mod exclusive", epoll_ctl(ep, EPOLL_CTL_MOD, a, &x));
	CALL("ctl del exclusive", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	struct epoll_event evs[4];
	CALL("wait maxevents 0", epoll_wait(ep, evs, 0, 0));
	CALL("wait bad epfd", epoll_wait(9999, evs, 4, 0));

	/* --- level-triggered --- */
	add(ep, a, EPOLLIN, 11);
	show_wait("lt idle", ep, 8, 0);
	send(c, "hello", 5, 0);
	show_wait("lt data", ep, 8, 1000);
	show_wait("lt data again", ep, 8, 0);
	drain(a);
	show_wait("lt drained", ep, 8, 0);
	epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL);

	/* --- writability --- */
	add(ep, c, EPOLLOUT, 22);
	show_wait("out ready", ep, 8, 0);
	epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL);

	/* --- edge-triggered: an event on every arrival, even undrained --- */
	add(ep, a, EPOLLIN | EPOLLET, 33);
	show_wait("et idle", ep, 8, 0);
	send(c, "abc", 3, 0);
	show_wait("et first", ep, 8, 1000);
	show_wait("et no new edge", ep, 8, 0);
	send(c, "def", 3, 0);
	show_wait("et second arrival", ep, 8, 1000);
	show_wait("et no new edge 2", ep, 8, 0);
	char buf[64];
	CALL("et read all", (int)recv(a, buf, sizeof(buf), 0));
	show_wait("et after read", ep, 8, 0);
	/* MOD re-reports a ready fd */
	send(c, "g", 1, 0);
	show_wait("et third", ep, 8, 1000);
	e.events = EPOLLIN | EPOLLET;
	e.data.u64 = 34;
	epoll_ctl(ep, EPOLL_CTL_MOD, a, &e);
	show_wait("et after mod", ep, 8, 0);
	drain(a);
	epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL);

	/* --- oneshot --- */
	add(ep, a, EPOLLIN | EPOLLONESHOT, 44);
	send(c, "x", 1, 0);
	show_wait("oneshot first", ep, 8, 1000);
	show_wait("oneshot disarmed", ep, 8, 0);
	send(c, "y", 1, 0);
	show_wait("oneshot still disarmed", ep, 8, 0);
	e.events = EPOLLIN | EPOLLONESHOT;
	e.data.u64 = 45;
	CALL("oneshot rearm", epoll_ctl(ep, EPOLL_CTL_MOD, a, &e));
	show_wait("oneshot rearmed", ep, 8, 0);
	drain(a);
	epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL);

	/* --- an event loop's churn (redis's ae, libevent): the same fd deleted and
	 * added again, its interest modified, request after request --- */
	add(ep, a, EPOLLIN, 61);
	CALL("churn del", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	CALL("churn del again", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	e.events = EPOLLIN;
	e.data.u64 = 60;
	CALL("churn mod deleted", epoll_ctl(ep, EPOLL_CTL_MOD, a, &e));
	send(c, "q", 1, 0);
	usleep(20000);
	show_wait("churn deleted not reported", ep, 8, 0);
	e.events = EPOLLIN | EPOLLET;
	e.data.u64 = 62;
	CALL("churn add again", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	CALL("churn add twice", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	show_wait("churn ready at add (et)", ep, 8, 0);
	show_wait("churn no new edge", ep, 8, 0);
	e.events = EPOLLOUT;
	e.data.u64 = 63;
	CALL("churn mod out", epoll_ctl(ep, EPOLL_CTL_MOD, a, &e));
	show_wait("churn out", ep, 8, 0);
	e.events = EPOLLIN;
	e.data.u64 = 64;
	CALL("churn mod in", epoll_ctl(ep, EPOLL_CTL_MOD, a, &e));
	show_wait("churn in", ep, 8, 0);
	drain(a);
	show_wait("churn drained", ep, 8, 0);
	CALL("churn del 2", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	e.events = EPOLLIN;
	e.data.u64 = 65;
	CALL("churn add 2", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	wait_for_later("churn revived blocks", "churn revived woke", ep, c, "w");
	drain(a);
	CALL("churn del 3", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	/* a deleted fd closed, its number reused by a new connection and added */
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c2, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect 2");
	int a2 = accept(l, NULL, NULL);
	add(ep, a2, EPOLLIN, 66);
	CALL("churn del new", epoll_ctl(ep, EPOLL_CTL_DEL, a2, NULL));
	close(a2);
	show_wait("churn closed not reported", ep, 8, 0);
	int c3 = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c3, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect 3");
	int a3 = accept(l, NULL, NULL);
	CALL("churn number reused", a3 == a2);
	CALL("churn add reused number", epoll_ctl(ep, EPOLL_CTL_ADD, a3, &e));
	send(c3, "r", 1, 0);
	usleep(20000);
	show_wait("churn reused number", ep, 8, 0);
	epoll_ctl(ep, EPOLL_CTL_DEL, a3, NULL);
	close(a3);
	close(c3);
	close(c2);

	/* --- one socket in two epoll sets, and in poll through the epoll fd --- */
	int ep2 = epoll_create1(0);
	add(ep, a, EPOLLIN, 51);
	add(ep2, a, EPOLLIN | EPOLLET, 52);
	struct pollfd pf = { ep, POLLIN, 0 };
	CALL("poll on epfd idle", poll(&pf, 1, 0));
	send(c, "z", 1, 0);
	usleep(20000);
	show_wait("set 1", ep, 8, 1000);
	show_wait("set 2", ep2, 8, 1000);
	pf.revents = 0;
	CALL("poll on epfd ready", poll(&pf, 1, 1000));
	printf("poll on epfd revents: %#x\n", pf.revents);
	drain(a);
	pf.revents = 0;
	CALL("poll on epfd drained", poll(&pf, 1, 0));
	struct later lt = { c, 100, "later" };
	pthread_t th;
	pthread_create(&th, NULL, send_later, &lt);
	pf.revents = 0;
	uint64_t t0 = now_ms();
	CALL("poll on epfd blocks until data", poll(&pf, 1, 3000));
	uint64_t dt = now_ms() - t0;
	printf("poll on epfd woke in time: %s\n", dt >= 50 && dt < 2000 ? "yes" : "no");
	pthread_join(th, NULL);
	drain(a);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(ep, &rs);
	struct timeval tv = { 0, 0 };
	CALL("select on epfd drained", select(ep + 1, &rs, NULL, NULL, &tv));
	epoll_ctl(ep2, EPOLL_CTL_DEL, a, NULL);
	close(ep2);

	/* --- a blocked epoll_wait wakes for data that comes later; then the
	 * same epoll fd inside another one: the outer wakes for its member --- */
	wait_for_later("wait blocks until data", "wait woke", ep, c, "wake");
	drain(a);
	int outer = epoll_create1(0);
	add(outer, ep, EPOLLIN, 61);
	show_wait("outer idle", outer, 8, 0);
	wait_for_later("outer blocks until data", "outer woke", outer, c, "nest");
	show_wait("inner after outer", ep, 8, 0);
	drain(a);
	show_wait("outer drained", outer, 8, 0);
	close(outer);

	/* --- mixed kernel and nstack fds --- */
	int pp[2];
	if (pipe(pp) < 0)
		die("pipe");
	add(ep, pp[0], EPOLLIN, 61);
	show_wait("mixed idle", ep, 8, 0);
	CALL("pipe write", (int)write(pp[1], "p", 1));
	show_wait("mixed pipe", ep, 8, 1000);
	CALL("pipe read", (int)read(pp[0], buf, 1));
	lt.ms = 100;
	lt.buf = "sock";
	pthread_create(&th, NULL, send_later, &lt);
	t0 = now_ms();
	show_wait("mixed blocks until socket", ep, 8, 3000);
	dt = now_ms() - t0;
	printf("mixed woke in time: %s\n", dt >= 50 && dt < 2000 ? "yes" : "no");
	pthread_join(th, NULL);
	drain(a);
	lt.fd = pp[1];
	lt.buf = "k";
	pthread_create(&th, NULL, send_later, &lt);
	show_wait("mixed blocks until pipe", ep, 8, 3000);
	pthread_join(th, NULL);
	CALL("pipe read 2", (int)read(pp[0], buf, 1));
	/* maxevents 1 serves both in turn */
	CALL("pipe write 2", (int)write(pp[1], "q", 1));
	send(c, "r", 1, 0);
	usleep(20000);
	struct epoll_event one[1];
	uint64_t seen = 0;
	for (int i = 0; i < 4; i++)
		if (epoll_wait(ep, one, 1, 1000) == 1)
			seen |= one[0].data.u64 == 61 ? 1 : one[0].data.u64 == 51 ? 2 : 4;
	printf("maxevents 1 serves both: %s\n", seen == 3 ? "yes" : "no");
	drain(a);
	CALL("pipe read 3", (int)read(pp[0], buf, 1));
	epoll_ctl(ep, EPOLL_CTL_DEL, pp[0], NULL);

	/* --- timeouts --- */
	t0 = now_ms();
	show_wait("timeout 200ms", ep, 8, 200);
	dt = now_ms() - t0;
	printf("timeout 200ms elapsed in range: %s\n", dt >= 195 && dt < 600 ? "yes" : "no");
	struct timespec ts = { 0, 50 * 1000000 };
	t0 = now_ms();
	CALL("pwait2 50ms", epoll_pwait2(ep, evs, 4, &ts, NULL));
	dt = now_ms() - t0;
	printf("pwait2 elapsed in range: %s\n", dt >= 48 && dt < 400 ? "yes" : "no");
	sigset_t none;
	sigemptyset(&none);
	CALL("pwait 0", epoll_pwait(ep, evs, 4, 0, &none));

	/* --- a signal ends epoll_wait with EINTR even with SA_RESTART --- */
	struct sigaction sa_alrm = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	sigaction(SIGALRM, &sa_alrm, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	CALL("wait interrupted", epoll_wait(ep, evs, 4, 3000));

	/* --- RDHUP and HUP --- */
	epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL);
	add(ep, a, EPOLLIN | EPOLLRDHUP, 71);
	shutdown(c, SHUT_WR);
	show_wait("rdhup", ep, 8, 1000);
	CALL("read eof", (int)recv(a, buf, sizeof(buf), 0));
	shutdown(a, SHUT_WR);
	usleep(20000);
	show_wait("hup", ep, 8, 1000);

	/* --- closing the last fd removes it from the set; a dup keeps it --- */
	int d = dup(a);
	close(a);
	show_wait("closed but dup open", ep, 8, 0);
	close(d);
	show_wait("all fds closed", ep, 8, 0);
	close(c);
	close(l);
	CALL("close epfd", close(ep));
	return 0;
}

static int idle(int secs)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	int pp[2];
	if (pipe(pp) < 0)
		die("pipe");
	int ep = epoll_create1(0);
	add(ep, s, EPOLLIN | EPOLLRDHUP, 1);
	add(ep, pp[0], EPOLLIN, 2);
	printf("ready\n");
	fflush(stdout);
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, secs * 1000);
	printf("idle wait: n=%d\n", n);
	close(s);
	return 0;
}

/* A socket registered in epoll before its connect names a destination nstack does not
 * serve (127.0.0.1 beside a TAP): it becomes a kernel socket on the same fd, and its epoll
 * registration must follow. Against an echo peer at ADDR:PORT. */
static int handoff(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int ep = epoll_create1(0);
	add(ep, s, EPOLLOUT | EPOLLIN | EPOLLRDHUP, 7);
	CALL("handoff connect", connect(s, (struct sockaddr *)&sa, sizeof(sa)));
	show_wait("handoff connected", ep, 8, 3000);
	CALL("handoff send", (int)send(s, "hello", 5, 0));
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 8 };
	CALL("handoff mod", epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	show_wait("handoff echo ready", ep, 8, 3000);
	char b[16] = { 0 };
	CALL("handoff recv", (int)recv(s, b, sizeof(b), 0));
	printf("handoff echo: '%s'\n", b);
	CALL("handoff del", epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	close(s);
	close(ep);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: posix_epoll checks|idle ADDR PORT [SECS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1)
		return 2;
	if (!strcmp(argv[1], "checks"))
		return checks();
	if (!strcmp(argv[1], "handoff"))
		return handoff();
	if (!strcmp(argv[1], "idle"))
		return idle(argc > 4 ? atoi(argv[4]) : 3);
	return 2;
}
