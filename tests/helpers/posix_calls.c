/* The socket call surface, run on the kernel and under nstack (tests/e2e/posix_calls.bats);
 * the two outputs must be equal line for line.
 *
 *   posix_calls ADDR PORT     one process: a listener on ADDR:PORT, a client c and the
 *                             accepted socket a; one line per check
 *
 * Each line shows what the call returned (value, errno name, bytes), so a difference says
 * what differs. Values that legitimately differ between two TCP implementations (MSS on a
 * loopback, RTT) are printed as predicates ("> 0"), everything else exactly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>      /* the kernel's struct tcp_info (glibc's copy is older) */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SIOCOUTQNSQ
#define SIOCOUTQNSQ 0x894B      /* linux/sockios.h, newer than some headers */
#endif

static const char *ename(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ 0, "0" }, { EBADF, "EBADF" }, { EINVAL, "EINVAL" }, { EFAULT, "EFAULT" },
		{ EAGAIN, "EAGAIN" }, { EPIPE, "EPIPE" }, { ENOTSOCK, "ENOTSOCK" },
		{ ENOPROTOOPT, "ENOPROTOOPT" }, { ENOENT, "ENOENT" }, { EISCONN, "EISCONN" },
		{ ENOTCONN, "ENOTCONN" }, { EAFNOSUPPORT, "EAFNOSUPPORT" }, { EINTR, "EINTR" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EDOM, "EDOM" }, { EMSGSIZE, "EMSGSIZE" },
		{ ECONNRESET, "ECONNRESET" }, { EDESTADDRREQ, "EDESTADDRREQ" },
		{ ESPIPE, "ESPIPE" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	static char b[32];
	snprintf(b, sizeof(b), "errno%d", e);
	return b;
}

#define CALL(label, expr) do { errno = 0; long r_ = (long)(expr); \
	printf("%s: r=%ld e=%s\n", label, r_ < 0 ? -1L : r_, r_ < 0 ? ename(errno) : "0"); } while (0)

static struct sockaddr_in sa;
static volatile sig_atomic_t n_sigpipe;

static void on_sigpipe(int sig)
{
	(void)sig;
	n_sigpipe++;
}

static void die(const char *what)
{
	printf("FATAL %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* recv exactly n bytes (blocking), print them */
static void expect(const char *label, int fd, size_t n)
{
	char b[256] = { 0 };
	size_t got = 0;
	while (got < n) {
		ssize_t r = recv(fd, b + got, n - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	printf("%s: %zu '%s'\n", label, got, b);
}

static int geti(int fd, int level, int name, const char *label)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	errno = 0;
	int r = getsockopt(fd, level, name, &v, &l);
	if (r < 0)
		printf("%s: r=-1 e=%s\n", label, ename(errno));
	else
		printf("%s: %d len %u\n", label, v, (unsigned)l);
	return v;
}

static int seti(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

struct later { int fd; const char *a, *b; };

static void *send_two(void *arg)
{
	struct later *l = arg;
	usleep(50000);
	send(l->fd, l->a, strlen(l->a), 0);
	usleep(50000);
	send(l->fd, l->b, strlen(l->b), 0);
	return NULL;
}

/* wait (bounded) until fd has n unread bytes, so FIONREAD is deterministic */
static void settle(int fd, int n)
{
	for (int i = 0; i < 200; i++) {
		int v = 0;
		if (ioctl(fd, FIONREAD, &v) == 0 && v >= n)
			return;
		usleep(5000);
	}
}

/* wait (bounded) until everything c sent is acknowledged */
static void acked(int fd)
{
	for (int i = 0; i < 200; i++) {
		int v = 1;
		if (ioctl(fd, SIOCOUTQ, &v) == 0 && v == 0)
			return;
		usleep(5000);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: posix_calls ADDR PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sp = { .sa_handler = on_sigpipe };
	sigaction(SIGPIPE, &sp, NULL);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;

	/* ---- options before connecting ---- */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || c < 0)
		die("socket");
	geti(c, SOL_SOCKET, SO_TYPE, "SO_TYPE");
	geti(c, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN");
	geti(c, SOL_SOCKET, SO_PROTOCOL, "SO_PROTOCOL");
	geti(c, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN fresh");
	geti(c, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT default");
	CALL("SO_RCVLOWAT set 10", seti(c, SOL_SOCKET, SO_RCVLOWAT, 10));
	geti(c, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT after 10");
	CALL("SO_RCVLOWAT set -1", seti(c, SOL_SOCKET, SO_RCVLOWAT, -1));
	geti(c, SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT after -1");
	seti(c, SOL_SOCKET, SO_RCVLOWAT, 1);
	geti(c, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG fresh");
	CALL("TCP_MAXSEG set 10", seti(c, IPPROTO_TCP, TCP_MAXSEG, 10));
	CALL("TCP_MAXSEG set 1000", seti(c, IPPROTO_TCP, TCP_MAXSEG, 1000));
	geti(c, IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG unconnected after 1000");
	CALL("TCP_MAXSEG set 0", seti(c, IPPROTO_TCP, TCP_MAXSEG, 0));
	geti(c, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY default");
	CALL("TCP_NODELAY set", seti(c, IPPROTO_TCP, TCP_NODELAY, 1));
	geti(c, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY after");
	geti(c, IPPROTO_TCP, TCP_CORK, "TCP_CORK default");
	CALL("TCP_CORK set", seti(c, IPPROTO_TCP, TCP_CORK, 1));
	geti(c, IPPROTO_TCP, TCP_CORK, "TCP_CORK after");
	CALL("TCP_CORK clear", seti(c, IPPROTO_TCP, TCP_CORK, 0));
	geti(c, IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK default");
	CALL("TCP_QUICKACK set 0", seti(c, IPPROTO_TCP, TCP_QUICKACK, 0));
	geti(c, IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK after 0");
	CALL("TCP_QUICKACK set 1", seti(c, IPPROTO_TCP, TCP_QUICKACK, 1));
	geti(c, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT default");
	CALL("TCP_USER_TIMEOUT set 5000", seti(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000));
	geti(c, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT after");
	CALL("TCP_USER_TIMEOUT set -1", seti(c, IPPROTO_TCP, TCP_USER_TIMEOUT, -1));
	CALL("TCP_CONGESTION set reno", setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	{
		char name[32];
		memset(name, 'x', sizeof(name));
		socklen_t nl = sizeof(name);
		int r = getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, name, &nl);
		printf("TCP_CONGESTION get: r=%d len %u name '%.*s'\n", r, (unsigned)nl, (int)strnlen(name, nl), name);
		nl = 2;
		memset(name, 0, sizeof(name));
		r = getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, name, &nl);
		printf("TCP_CONGESTION get len 2: r=%d len %u name '%s'\n", r, (unsigned)nl, name);
	}
	CALL("TCP_CONGESTION set nosuch", setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "nosuch", 6));
	CALL("TCP_CONGESTION set len 0", setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "reno", 0));
	struct timeval tv = { 0, 100000 };
	CALL("SO_RCVTIMEO set", setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	{
		struct timeval g = { 9, 9 };
		socklen_t gl = sizeof(g);
		int r = getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &g, &gl);
		printf("SO_RCVTIMEO get: r=%d %ld.%06ld len %u\n", r, (long)g.tv_sec, (long)g.tv_usec, (unsigned)gl);
	}
	struct timeval badtv = { 0, 2000000 };
	CALL("SO_SNDTIMEO bad usec", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &badtv, sizeof(badtv)));
	CALL("SO_SNDTIMEO short len", setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, 4));
	/* unknown options, bad lengths and pointers */
	CALL("getsockopt SOL_SOCKET unknown", ({ int v; socklen_t vl = sizeof(v); getsockopt(c, SOL_SOCKET, 9999, &v, &vl); }));
	CALL("setsockopt SOL_SOCKET unknown", seti(c, SOL_SOCKET, 9999, 1));
	CALL("getsockopt TCP unknown", ({ int v; socklen_t vl = sizeof(v); getsockopt(c, IPPROTO_TCP, 9999, &v, &vl); }));
	CALL("setsockopt TCP unknown", seti(c, IPPROTO_TCP, 9999, 1));
	CALL("setsockopt unknown level", seti(c, 4242, 1, 1));
	CALL("getsockopt NULL optlen", getsockopt(c, SOL_SOCKET, SO_TYPE, &(int){ 0 }, NULL));
	CALL("getsockopt optlen -1", ({ int v; socklen_t vl = (socklen_t)-1; getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vl); }));
	CALL("setsockopt optlen -1", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, (socklen_t)-1));
	CALL("setsockopt NODELAY len 2", setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, 2));
	CALL("setsockopt NULL value", setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, NULL, sizeof(int)));
	CALL("getsockopt bad fd", ({ int v; socklen_t vl = sizeof(v); getsockopt(9999, SOL_SOCKET, SO_TYPE, &v, &vl); }));
	CALL("getsockopt on a pipe", ({ int p[2]; pipe(p); int v; socklen_t vl = sizeof(v); int r = getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &vl); int e = errno; close(p[0]); close(p[1]); errno = e; r; }));
	CALL("accept on unconnected", accept(c, NULL, NULL));
	CALL("getpeername unconnected", ({ struct sockaddr_in x; socklen_t xl = sizeof(x); getpeername(c, (struct sockaddr *)&x, &xl); }));
	CALL("connect addrlen 3", connect(c, (struct sockaddr *)&sa, 3));
	/* (on its own socket: Linux records the shutdown even as it returns ENOTCONN,
	 * and the socket could never send once connected; nstack forgets it) */
	CALL("shutdown unconnected", ({ int u = socket(AF_INET, SOCK_STREAM, 0); int r = shutdown(u, SHUT_RDWR); int e = errno; close(u); errno = e; r; }));

	/* ---- the connected pair ---- */
	seti(l, SOL_SOCKET, SO_REUSEADDR, 1);
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(l, 8) < 0)
		die("listen");
	geti(l, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN listener");
	CALL("FIONREAD on listener", ({ int v; ioctl(l, FIONREAD, &v); }));
	CALL("SIOCOUTQ on listener", ({ int v; ioctl(l, SIOCOUTQ, &v); }));
	CALL("getpeername listener", ({ struct sockaddr_in x; socklen_t xl = sizeof(x); getpeername(l, (struct sockaddr *)&x, &xl); }));
	{
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);
		int r = getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		printf("TCP_INFO listener: r=%d state %u\n", r, ti.tcpi_state);
	}
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	int a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	CALL("connect again", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	CALL("listen on connected", listen(c, 1));
	geti(a, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN accepted");
	geti(a, IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT accepted");
	{
		int v = 0;
		socklen_t vl = sizeof(v);
		getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &v, &vl);
		printf("TCP_MAXSEG connected: %s\n", v > 0 ? "> 0" : "0");
	}

	/* readv / writev */
	struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
	CALL("writev 3", writev(c, wv, 3));
	settle(a, 6);
	char r1[4] = { 0 }, r2[8] = { 0 };
	struct iovec rv[2] = { { r1, 3 }, { r2, 7 } };
	CALL("readv 2", readv(a, rv, 2));
	printf("readv data: '%s' '%s'\n", r1, r2);
	volatile int bad_cnt = -1;      /* volatile: the compiler would reject it */
	CALL("writev iovcnt -1", writev(c, wv, bad_cnt));
	bad_cnt = IOV_MAX + 1;
	CALL("writev iovcnt IOV_MAX+1", writev(c, wv, bad_cnt));
	CALL("readv bad fd", readv(9999, rv, 1));
	CALL("writev 0", writev(c, wv, 0));

	/* sendmsg / recvmsg */
	struct sockaddr_in junk = sa;
	struct iovec sv[2] = { { "hel", 3 }, { "lo", 2 } };
	struct msghdr sm = { .msg_name = &junk, .msg_namelen = sizeof(junk), .msg_iov = sv, .msg_iovlen = 2 };
	CALL("sendmsg 2 iov with msg_name", sendmsg(c, &sm, 0));
	settle(a, 5);
	char mb[16] = { 0 };
	char cbuf[64];
	struct sockaddr_in from;
	struct iovec mv = { mb, sizeof(mb) };
	struct msghdr rm = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &mv,
			     .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
			     .msg_flags = -1 };
	CALL("recvmsg", recvmsg(a, &rm, 0));
	printf("recvmsg out: '%s' namelen %u controllen %zu flags %#x\n", mb, (unsigned)rm.msg_namelen,
	       (size_t)rm.msg_controllen, rm.msg_flags);
	CALL("sendmsg NULL msg", sendmsg(c, NULL, 0));
	CALL("recvmsg bad fd", recvmsg(9999, &rm, 0));

	/* sendmmsg / recvmmsg on a stream */
	struct iovec m1 = { "12", 2 }, m2 = { "34", 2 };
	struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &m1, .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_iov = &m2, .msg_iovlen = 1 } } };
	CALL("sendmmsg 2", sendmmsg(c, mm, 2, 0));
	printf("sendmmsg msg_len: %u %u\n", mm[0].msg_len, mm[1].msg_len);
	settle(a, 4);
	char q1[3] = { 0 }, q2[3] = { 0 };
	struct iovec n1 = { q1, 2 }, n2 = { q2, 2 };
	struct mmsghdr rr[2] = { { .msg_hdr = { .msg_iov = &n1, .msg_iovlen = 1 } },
				 { .msg_hdr = { .msg_iov = &n2, .msg_iovlen = 1 } } };
	CALL("recvmmsg 2 dontwait", recvmmsg(a, rr, 2, MSG_DONTWAIT, NULL));
	printf("recvmmsg data: '%s' '%s' len %u %u\n", q1, q2, rr[0].msg_len, rr[1].msg_len);

	/* flags */
	CALL("recv MSG_DONTWAIT empty", recv(a, mb, sizeof(mb), MSG_DONTWAIT));
	send(c, "peek", 4, 0);
	settle(a, 4);
	memset(mb, 0, sizeof(mb));
	CALL("recv MSG_PEEK", recv(a, mb, sizeof(mb), MSG_PEEK));
	printf("peeked: '%s'\n", mb);
	expect("recv after peek", a, 4);
	send(c, "truncated", 9, 0);
	settle(a, 9);
	CALL("recv MSG_TRUNC NULL buf", recv(a, NULL, 5, MSG_TRUNC));
	expect("recv after MSG_TRUNC", a, 4);
	CALL("recv NULL buf", ({ send(c, "z", 1, 0); settle(a, 1); recv(a, NULL, 5, 0); }));
	CALL("recv len 0", recv(a, mb, 0, 0));
	expect("recv the z", a, 1);
	CALL("send MSG_MORE", send(c, "more", 4, MSG_MORE));
	CALL("send after MSG_MORE", send(c, "!", 1, 0));
	expect("recv MSG_MORE data", a, 5);
	struct later lt = { c, "wait", "all!" };
	pthread_t th;
	pthread_create(&th, NULL, send_two, &lt);
	memset(mb, 0, sizeof(mb));
	CALL("recv MSG_WAITALL 8", recv(a, mb, 8, MSG_WAITALL));
	printf("waitall data: '%s'\n", mb);
	pthread_join(th, NULL);

	/* ioctl */
	send(c, "1234567", 7, 0);
	settle(a, 7);
	CALL("FIONREAD", ({ int v = -1; ioctl(a, FIONREAD, &v) < 0 ? -1 : v; }));
	CALL("SIOCINQ", ({ int v = -1; ioctl(a, SIOCINQ, &v) < 0 ? -1 : v; }));
	acked(c);
	CALL("SIOCOUTQ acked", ({ int v = -1; ioctl(c, SIOCOUTQ, &v) < 0 ? -1 : v; }));
	CALL("SIOCOUTQNSQ", ({ int v = -1; ioctl(c, SIOCOUTQNSQ, &v) < 0 ? -1 : v; }));
	expect("drain 7", a, 7);
	CALL("FIONBIO on", ioctl(a, FIONBIO, &(int){ 1 }));
	CALL("recv nonblocking", recv(a, mb, sizeof(mb), 0));
	CALL("FIONBIO off", ioctl(a, FIONBIO, &(int){ 0 }));
	CALL("FIONREAD NULL", ioctl(a, FIONREAD, NULL));

	/* fcntl */
	CALL("F_GETFL", fcntl(a, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	CALL("F_SETFL O_NONBLOCK", fcntl(a, F_SETFL, O_NONBLOCK));
	CALL("F_GETFL after", fcntl(a, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	CALL("recv after F_SETFL", recv(a, mb, sizeof(mb), 0));
	fcntl(a, F_SETFL, 0);
	int d100 = fcntl(c, F_DUPFD, 100);
	printf("F_DUPFD 100: %s\n", d100 >= 100 ? ">= 100" : "wrong");
	CALL("F_GETFD of F_DUPFD", fcntl(d100, F_GETFD));
	int dce = fcntl(c, F_DUPFD_CLOEXEC, 0);
	CALL("F_GETFD of F_DUPFD_CLOEXEC", fcntl(dce, F_GETFD));
	CALL("send via F_DUPFD", send(d100, "D", 1, 0));
	CALL("send via F_DUPFD_CLOEXEC", send(dce, "E", 1, 0));
	expect("recv DE", a, 2);
	close(d100);
	close(dce);

	/* dup / dup2 / dup3 */
	int d = dup(c);
	CALL("dup works", send(d, "x", 1, 0));
	int d2 = dup2(c, 200);
	CALL("dup2 to 200", d2);
	CALL("dup2 same fd", dup2(c, c) == c);
	CALL("dup3 same fd", dup3(c, c, 0));
	CALL("dup3 bad flags", dup3(c, 201, 0x1234));
	CALL("dup3 cloexec", dup3(c, 202, O_CLOEXEC));
	CALL("F_GETFD of dup3 cloexec", fcntl(202, F_GETFD));
	CALL("send via dup2", send(200, "y", 1, 0));
	close(200);
	close(202);
	close(d);
	CALL("send after closing dups", send(c, "z", 1, 0));
	expect("recv xyz", a, 3);
	/* the socket lives while any fd names it */
	int keep = dup(a);
	close(a);
	send(c, "alive", 5, 0);
	expect("recv via dup after close", keep, 5);
	a = keep;

	/* timeouts */
	uint64_t t0 = now_ms();
	CALL("recv SO_RCVTIMEO 100ms", recv(c, mb, sizeof(mb), 0));
	uint64_t dt = now_ms() - t0;
	printf("SO_RCVTIMEO elapsed in range: %s\n", dt >= 90 && dt < 1000 ? "yes" : "no");

	/* TCP_INFO */
	{
		send(c, "0123456789", 10, 0);
		expect("recv 10 for TCP_INFO", a, 10);
		acked(c);
		struct tcp_info ti;
		memset(&ti, 0xff, sizeof(ti));
		socklen_t tl = sizeof(ti);
		int r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		printf("TCP_INFO: r=%d len %s state %u ca_state %u retransmits %u\n", r,
		       tl == sizeof(ti) ? "full" : "short", ti.tcpi_state, ti.tcpi_ca_state, ti.tcpi_retransmits);
		printf("TCP_INFO: snd_mss %s rcv_mss %s pmtu %s cwnd %s rto %s advmss %s\n",
		       ti.tcpi_snd_mss > 0 ? ">0" : "0", ti.tcpi_rcv_mss > 0 ? ">0" : "0",
		       ti.tcpi_pmtu > 0 ? ">0" : "0", ti.tcpi_snd_cwnd > 0 ? ">0" : "0",
		       ti.tcpi_rto >= 200000 ? ">=200ms" : "<200ms", ti.tcpi_advmss > 0 ? ">0" : "0");
		printf("TCP_INFO: ssthresh unset %s total_retrans %u unacked %u notsent %u\n",
		       ti.tcpi_snd_ssthresh >= 0x7fffffff ? "yes" : "no", ti.tcpi_total_retrans,
		       ti.tcpi_unacked, ti.tcpi_notsent_bytes);
		/* c sent: 6 (writev) + 5 (sendmsg) + 4 (mmsg) + 4 + 9 + 1 + 5 + 8 + 7 + 2
		 * + 3 + 5 + 10 bytes */
		printf("TCP_INFO: bytes_acked %llu\n", (unsigned long long)ti.tcpi_bytes_acked);
		tl = sizeof(ti);
		getsockopt(a, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		printf("TCP_INFO accepted: bytes_received %llu state %u\n",
		       (unsigned long long)ti.tcpi_bytes_received, ti.tcpi_state);
		tl = 8;
		r = getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
		printf("TCP_INFO len 8: r=%d len %u state %u\n", r, (unsigned)tl, ti.tcpi_state);
	}

	/* sendfile from a file */
	{
		char path[] = "/tmp/posix_calls_XXXXXX";
		int f = mkstemp(path);
		unlink(path);
		char blk[1000];
		for (int i = 0; i < 10; i++) {
			memset(blk, 'a' + i, sizeof(blk));
			if (write(f, blk, sizeof(blk)) != sizeof(blk))
				die("write tmp");
		}
		off_t off = 1000;
		CALL("sendfile 5000 at 1000", sendfile(c, f, &off, 5000));
		printf("sendfile offset after: %ld file pos %ld\n", (long)off, (long)lseek(f, 0, SEEK_CUR));
		lseek(f, 9000, SEEK_SET);
		CALL("sendfile NULL offset 5000 from 9000", sendfile(c, f, NULL, 5000));
		printf("file pos after: %ld\n", (long)lseek(f, 0, SEEK_CUR));
		size_t got = 0, ok = 1;
		char rb[6000];
		while (got < 6000) {
			ssize_t r = recv(a, rb + got, sizeof(rb) - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		for (size_t i = 0; i < got; i++)
			if (rb[i] != (char)('b' + (i < 5000 ? i / 1000 : 8)))
				ok = 0;
		printf("sendfile received: %zu bytes, content %s\n", got, ok ? "right" : "WRONG");
		CALL("sendfile from a socket to a file", sendfile(f, a, NULL, 10));
		close(f);
	}

	/* splice: socket -> pipe, pipe -> socket, and the error paths */
	{
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		char blk[3000], rb[3000];
		for (size_t i = 0; i < sizeof(blk); i++)
			blk[i] = (char)('A' + i % 26);
		if (send(c, blk, sizeof(blk), 0) != (ssize_t)sizeof(blk))
			die("send for splice");
		size_t got = 0;
		while (got < sizeof(blk)) {
			ssize_t r = splice(a, NULL, p[1], NULL, sizeof(blk) - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		ssize_t rn = read(p[0], rb, sizeof(rb));
		printf("splice socket->pipe: %zu bytes, pipe read %zd, content %s\n", got, rn,
		       rn == (ssize_t)sizeof(blk) && !memcmp(rb, blk, sizeof(blk)) ? "right" : "WRONG");
		int fl = fcntl(a, F_GETFL);
		fcntl(a, F_SETFL, fl | O_NONBLOCK);
		CALL("splice from an empty non-blocking socket", splice(a, NULL, p[1], NULL, 100, 0));
		fcntl(a, F_SETFL, fl);
		loff_t off = 0;
		CALL("splice socket with an offset", splice(a, &off, p[1], NULL, 100, 0));
		CALL("splice socket to socket", splice(a, NULL, c, NULL, 100, 0));
		CALL("splice empty pipe SPLICE_F_NONBLOCK", splice(p[0], NULL, c, NULL, 100, SPLICE_F_NONBLOCK));
		if (write(p[1], blk, 2000) != 2000)
			die("write pipe");
		CALL("splice pipe->socket 5000", splice(p[0], NULL, c, NULL, 5000, 0));
		got = 0;
		while (got < 2000) {
			ssize_t r = recv(a, rb + got, 2000 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		printf("splice pipe->socket received: %zu bytes, content %s\n", got,
		       got == 2000 && !memcmp(rb, blk, 2000) ? "right" : "WRONG");
		close(p[0]);
		close(p[1]);
	}

	/* SIGPIPE and MSG_NOSIGNAL after our own SHUT_WR */
	CALL("shutdown bad how", shutdown(c, 7));
	CALL("shutdown SHUT_WR", shutdown(c, SHUT_WR));
	CALL("send MSG_NOSIGNAL after SHUT_WR", send(c, "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPEs: %d\n", (int)n_sigpipe);
	CALL("send after SHUT_WR", send(c, "x", 1, 0));
	printf("SIGPIPEs: %d\n", (int)n_sigpipe);
	CALL("write after SHUT_WR", write(c, "x", 1));
	printf("SIGPIPEs: %d\n", (int)n_sigpipe);
	CALL("recv EOF", recv(a, mb, sizeof(mb), 0));
	CALL("send back after peer SHUT_WR", send(a, "back", 4, 0));
	expect("half-closed still receives", c, 4);
	close(a);
	close(c);
	close(l);
	CALL("send on closed fd", send(c, "x", 1, 0));
	CALL("close twice", close(c));
	return 0;
}
