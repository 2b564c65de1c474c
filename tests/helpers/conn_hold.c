/* conn_hold: many concurrent connections, held, checked, closed; and a bulk
 * sender/slow reader pair. For tests/e2e/rel_resources.bats and
 * bench/idle_rss.sh; runs the same on the kernel and under nstack.
 *
 *   conn_hold client ADDR PORT N [BATCH]
 *       open N non-blocking connections (at most BATCH connecting at once,
 *       epoll), send one byte on each and wait for its echo; print
 *       "established N echoed N rss_kb R base_rss_kb B" (B: the RSS once the
 *       first socket exists, before any connection); hold them until SIGTERM or SIGUSR1
 *       (at most 120 s); close all, print "closed N", then linger (the
 *       closing handshakes finish) until SIGTERM (at most 60 s).
 *   conn_hold server PORT N
 *       listen, accept and echo; print "held N rss_kb R" once N connections
 *       have echoed; close each at EOF; print "closed N" when all are;
 *       linger until SIGTERM (at most 60 s).
 *   conn_hold bulkserve PORT BYTES
 *       accept one connection, write BYTES of a pattern (blocking), close;
 *       print "sent BYTES hwm_kb H" (the peak RSS).
 *   conn_hold slowread ADDR PORT BYTES DELAY_MS
 *       connect, read nothing for DELAY_MS, then read to EOF checking the
 *       pattern; print "read BYTES ok".
 * Exit 0 on success, 1 with a line on stderr otherwise. Every wait is
 * bounded. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_term, got_usr1;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "conn_hold: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* VmRSS or VmHWM of this process, kB */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t k = strlen(key);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':')
			v = strtol(line + k + 1, NULL, 10);
	fclose(f);
	return v;
}

static void raise_nofile(long n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n ? rl.rlim_max : (rlim_t)n;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "conn_hold: bad address %s\n", ip);
		exit(1);
	}
	return a;
}

/* Wait (bounded) for a signal that ends a hold. */
static void hold_until_signal(double max_s, int usr1_ends)
{
	double end = now_s() + max_s;
	while (!got_term && !(usr1_ends && got_usr1) && now_s() < end)
		usleep(20000);
}

static int client(const char *ip, int port, int n, int batch)
{
	struct sockaddr_in a = addr_of(ip, port);
	int *fd = malloc(sizeof(int) * (size_t)n);
	unsigned char *state = calloc((size_t)n, 1);   /* 0 connecting, 1 echo due, 2 done */
	if (!fd || !state)
		die("malloc");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	int opened = 0, inflight = 0, echoed = 0;
	long base_kb = -1;
	double deadline = now_s() + 150;
	struct epoll_event evs[256];
	while (echoed < n) {
		while (inflight < batch && opened < n) {
			int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
			if (s < 0)
				die("socket");
			if (base_kb < 0)
				base_kb = status_kb("VmRSS");   /* a preloaded stack has started */
			if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
				die("connect");
			struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)opened };
			if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
				die("epoll_ctl add");
			fd[opened++] = s;
			inflight++;
		}
		if (now_s() > deadline) {
			fprintf(stderr, "conn_hold: timeout: %d opened, %d echoed\n", opened, echoed);
			return 1;
		}
		int k = epoll_wait(ep, evs, 256, 100);
		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			uint32_t c = evs[i].data.u32;
			int s = fd[c];
			if (state[c] == 0) {
				int err = 0;
				socklen_t l = sizeof(err);
				if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
					errno = err;
					die("connect (SO_ERROR)");
				}
				if (write(s, "x", 1) != 1)
					die("write");
				state[c] = 1;
				struct epoll_event ev = { .events = EPOLLIN, .data.u32 = c };
				if (epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) < 0)
					die("epoll_ctl mod");
			} else if (state[c] == 1) {
				char b;
				ssize_t r = read(s, &b, 1);
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r != 1 || b != 'x') {
					fprintf(stderr, "conn_hold: bad echo on connection %u (%zd)\n", c, r);
					return 1;
				}
				state[c] = 2;
				epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
				inflight--;
				echoed++;
			}
		}
	}
	printf("established %d echoed %d rss_kb %ld base_rss_kb %ld\n", opened, echoed,
	       status_kb("VmRSS"), base_kb);
	fflush(stdout);
	hold_until_signal(120, 1);
	for (int i = 0; i < n; i++)
		close(fd[i]);
	printf("closed %d\n", n);
	fflush(stdout);
	hold_until_signal(60, 0);
	return 0;
}

static int listen_on(int port, int nonblock)
{
	int l = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	int one = 1;
	if (l < 0)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(l, 4096) < 0)
		die("listen");
	return l;
}

static int server(int port, int n)
{
	int l = listen_on(port, 1);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		die("epoll_ctl listen");
	int accepted = 0, echoed = 0, closed = 0, reported = 0;
	double deadline = now_s() + 240;
	struct epoll_event evs[256];
	while (closed < n) {
		if (now_s() > deadline || got_term) {
			fprintf(stderr, "conn_hold: server gave up: %d accepted, %d echoed, %d closed\n",
				accepted, echoed, closed);
			return 1;
		}
		int k = epoll_wait(ep, evs, 256, 100);
		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			int s = evs[i].data.fd;
			if (s == l) {
				int c;
				while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					struct epoll_event e = { .events = EPOLLIN, .data.fd = c };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &e) < 0)
						die("epoll_ctl add");
					accepted++;
				}
				if (errno != EAGAIN)
					die("accept4");
				continue;
			}
			char b[64];
			ssize_t r = read(s, b, sizeof(b));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0) {
				if (write(s, b, (size_t)r) != r)
					die("echo write");
				echoed++;
				continue;
			}
			if (r < 0)
				die("read");
			epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL);
			close(s);
			closed++;
		}
		if (!reported && echoed >= n) {
			printf("held %d rss_kb %ld\n", echoed, status_kb("VmRSS"));
			fflush(stdout);
			reported = 1;
		}
	}
	printf("closed %d\n", closed);
	fflush(stdout);
	hold_until_signal(60, 0);
	return 0;
}

static unsigned char pat(uint64_t i)
{
	return (unsigned char)((i * 7 + i / 4096) % 251);
}

static int bulkserve(int port, long long bytes)
{
	int l = listen_on(port, 0);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		die("accept");
	static unsigned char buf[65536];
	long long off = 0;
	while (off < bytes) {
		size_t k = bytes - off < (long long)sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = pat((uint64_t)(off + (long long)i));
		size_t done = 0;
		while (done < k) {
			ssize_t w = write(c, buf + done, k - done);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				die("write");
			}
			done += (size_t)w;
		}
		off += (long long)k;
	}
	close(c);
	close(l);
	printf("sent %lld hwm_kb %ld\n", off, status_kb("VmHWM"));
	fflush(stdout);
	return 0;
}

static int slowread(const char *ip, int port, long long bytes, int delay_ms)
{
	struct sockaddr_in a = addr_of(ip, port);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	usleep((useconds_t)delay_ms * 1000);
	static unsigned char buf[65536];
	long long off = 0;
	for (;;) {
		ssize_t r = read(s, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pat((uint64_t)(off + i))) {
				fprintf(stderr, "conn_hold: data differs at byte %lld\n", off + i);
				return 1;
			}
		off += r;
	}
	close(s);
	if (off != bytes) {
		fprintf(stderr, "conn_hold: read %lld bytes, expected %lld\n", off, bytes);
		return 1;
	}
	printf("read %lld ok\n", off);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGTERM, on_sig);
	signal(SIGUSR1, on_sig);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "client")) {
		int n = atoi(argv[4]);
		raise_nofile(n + 64);
		return client(argv[2], atoi(argv[3]), n, argc > 5 ? atoi(argv[5]) : 256);
	}
	if (argc == 4 && !strcmp(argv[1], "server")) {
		int n = atoi(argv[3]);
		raise_nofile(n + 64);
		return server(atoi(argv[2]), n);
	}
	if (argc == 4 && !strcmp(argv[1], "bulkserve"))
		return bulkserve(atoi(argv[2]), atoll(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "slowread"))
		return slowread(argv[2], atoi(argv[3]), atoll(argv[4]), atoi(argv[5]));
	fprintf(stderr, "usage: conn_hold client ADDR PORT N [BATCH] | server PORT N |\n"
			"       bulkserve PORT BYTES | slowread ADDR PORT BYTES DELAY_MS\n");
	return 2;
}
