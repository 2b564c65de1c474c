/* Socket option sweep, run on the kernel and under nstack (tests/e2e/posix_sockopts.bats);
 * the two outputs must be equal line for line.
 *
 *   sockopt_sweep [ADDR PORT]   unconnected TCP and UDP sockets, and with ADDR PORT also a
 *                               TCP socket connected to that peer
 *
 * For each option the kernel knows on an AF_INET TCP or UDP socket (SOL_SOCKET, IPPROTO_IP,
 * IPPROTO_TCP, IPPROTO_UDP), one line per attempt:
 *
 *   proto level optname op -> ret errno value
 *
 * ops: get (the default), set=V (a typical valid value), get, setshort (optlen 2, with
 * V + 1 in the buffer: the IP level takes one byte, the others refuse), get, getshort (optlen
 * 2: how the value is truncated), setnull (NULL optval, optlen 4). Then an unknown option of
 * each level. The value of a get is the int when 4 bytes came back, else the returned bytes
 * in hex with their count. Values that depend on the machine (cookies, TCP_INFO contents)
 * are printed as '*'; a value equal to the socket's local port as 'lport'.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>      /* the kernel's TCP_* names (netinet/tcp.h may lag) */
#include <linux/net_tstamp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
#endif
#ifndef SO_RESERVE_MEM
#define SO_RESERVE_MEM 73
#endif
#ifndef SO_TXREHASH
#define SO_TXREHASH 74
#endif
#ifndef SO_RCVMARK
#define SO_RCVMARK 75
#endif
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif
#ifndef IP_PROTOCOL
#define IP_PROTOCOL 52
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef TCP_INQ
#define TCP_INQ 36
#endif
#ifndef TCP_TX_DELAY
#define TCP_TX_DELAY 37
#endif
#ifndef TCP_IS_MPTCP
#define TCP_IS_MPTCP 43
#endif

enum kind { K_INT, K_LINGER, K_TIMEVAL, K_STR, K_GET };

/* where: T TCP, U UDP, C the connected TCP socket too; N the value is not printed */
struct opt {
	int level;
	const char *lname;
	int name;
	const char *oname;
	enum kind kind;
	int v;                  /* K_INT: the value set; K_LINGER: l_linger; K_TIMEVAL: tv_sec */
	const char *s;          /* K_STR: the string set */
	const char *where;
};

#define SO(n, k, v, s, w)  { SOL_SOCKET, "SOL_SOCKET", n, #n, k, v, s, w }
#define IP(n, k, v, s, w)  { IPPROTO_IP, "IPPROTO_IP", n, #n, k, v, s, w }
#define TCP(n, k, v, s, w) { IPPROTO_TCP, "IPPROTO_TCP", n, #n, k, v, s, w }
#define UDP(n, k, v, s, w) { IPPROTO_UDP, "IPPROTO_UDP", n, #n, k, v, s, w }

static const struct opt opts[] = {
	SO(SO_DEBUG, K_INT, 1, 0, "TUC"),
	SO(SO_REUSEADDR, K_INT, 1, 0, "TUC"),
	SO(SO_REUSEPORT, K_INT, 1, 0, "TUC"),
	SO(SO_KEEPALIVE, K_INT, 1, 0, "TUC"),
	SO(SO_DONTROUTE, K_INT, 1, 0, "TUC"),
	SO(SO_BROADCAST, K_INT, 1, 0, "TUC"),
	SO(SO_SNDBUF, K_INT, 65536, 0, "TUC"),
	SO(SO_RCVBUF, K_INT, 65536, 0, "TUC"),
	SO(SO_SNDBUFFORCE, K_INT, 32768, 0, "TUC"),
	SO(SO_RCVBUFFORCE, K_INT, 32768, 0, "TUC"),
	SO(SO_OOBINLINE, K_INT, 1, 0, "TUC"),
	SO(SO_NO_CHECK, K_INT, 1, 0, "TUC"),
	SO(SO_PRIORITY, K_INT, 6, 0, "TUC"),
	SO(SO_LINGER, K_LINGER, 5, 0, "TUC"),
	SO(SO_PASSCRED, K_INT, 1, 0, "TUC"),
	SO(SO_PASSSEC, K_INT, 1, 0, "TUC"),
	SO(SO_PASSPIDFD, K_INT, 1, 0, "TUC"),
	SO(SO_RCVLOWAT, K_INT, 100, 0, "TUC"),
	SO(SO_SNDLOWAT, K_INT, 100, 0, "TUC"),
	SO(SO_RCVTIMEO, K_TIMEVAL, 2, 0, "TUC"),
	SO(SO_SNDTIMEO, K_TIMEVAL, 3, 0, "TUC"),
	SO(SO_TIMESTAMP, K_INT, 1, 0, "TUC"),
	SO(SO_TIMESTAMPNS, K_INT, 1, 0, "TUC"),
	SO(SO_TIMESTAMPING, K_INT, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE, 0, "TUC"),
	SO(SO_BINDTODEVICE, K_STR, 0, "lo", "TU"),
	SO(SO_BINDTOIFINDEX, K_INT, 1, 0, "TU"),
	SO(SO_MARK, K_INT, 42, 0, "TUC"),
	SO(SO_RCVMARK, K_INT, 1, 0, "TUC"),
	SO(SO_RXQ_OVFL, K_INT, 1, 0, "TUC"),
	SO(SO_WIFI_STATUS, K_INT, 1, 0, "TUC"),
	SO(SO_PEEK_OFF, K_INT, 10, 0, "TUC"),
	SO(SO_NOFCS, K_INT, 1, 0, "TUC"),
	SO(SO_LOCK_FILTER, K_INT, 1, 0, "TUC"),
	SO(SO_SELECT_ERR_QUEUE, K_INT, 1, 0, "TUC"),
	SO(SO_BUSY_POLL, K_INT, 50, 0, "TUC"),
	SO(SO_PREFER_BUSY_POLL, K_INT, 1, 0, "TUC"),
	SO(SO_BUSY_POLL_BUDGET, K_INT, 8, 0, "TUC"),
	SO(SO_MAX_PACING_RATE, K_INT, 1000000, 0, "TUC"),
	SO(SO_INCOMING_CPU, K_INT, 0, 0, "TUC"),
	SO(SO_ZEROCOPY, K_INT, 1, 0, "TUC"),
	SO(SO_TXREHASH, K_INT, 0, 0, "TUC"),
	SO(SO_BUF_LOCK, K_INT, 3, 0, "TUC"),
	SO(SO_TYPE, K_GET, 0, 0, "TUC"),
	SO(SO_DOMAIN, K_GET, 0, 0, "TUC"),
	SO(SO_PROTOCOL, K_GET, 0, 0, "TUC"),
	SO(SO_ACCEPTCONN, K_GET, 0, 0, "TUC"),
	SO(SO_ERROR, K_GET, 0, 0, "TUC"),
	SO(SO_PEERNAME, K_GET, 0, 0, "TUC"),
	SO(SO_COOKIE, K_GET, 0, 0, "TUCN"),

	IP(IP_TOS, K_INT, 0x13, 0, "TUC"),
	IP(IP_TTL, K_INT, 33, 0, "TUC"),
	IP(IP_HDRINCL, K_INT, 1, 0, "TU"),
	IP(IP_RECVOPTS, K_INT, 1, 0, "TUC"),
	IP(IP_RETOPTS, K_INT, 1, 0, "TUC"),
	IP(IP_RECVTTL, K_INT, 1, 0, "TUC"),
	IP(IP_RECVTOS, K_INT, 1, 0, "TUC"),
	IP(IP_PKTINFO, K_INT, 1, 0, "TUC"),
	IP(IP_RECVERR, K_INT, 1, 0, "TUC"),
	IP(IP_RECVERR_RFC4884, K_INT, 1, 0, "TUC"),
	IP(IP_RECVORIGDSTADDR, K_INT, 1, 0, "TUC"),
	IP(IP_RECVFRAGSIZE, K_INT, 1, 0, "TUC"),
	IP(IP_MTU_DISCOVER, K_INT, IP_PMTUDISC_DO, 0, "TUC"),
	IP(IP_MTU, K_GET, 0, 0, "TU"),     /* connected: see main (Linux forgets the route on IP_TOS) */
	IP(IP_FREEBIND, K_INT, 1, 0, "TUC"),
	IP(IP_TRANSPARENT, K_INT, 1, 0, "TUC"),
	IP(IP_BIND_ADDRESS_NO_PORT, K_INT, 1, 0, "TUC"),
	IP(IP_MINTTL, K_INT, 10, 0, "TUC"),
	IP(IP_NODEFRAG, K_INT, 1, 0, "TU"),
	IP(IP_MULTICAST_TTL, K_INT, 4, 0, "TU"),
	IP(IP_MULTICAST_LOOP, K_INT, 0, 0, "TU"),
	IP(IP_MULTICAST_ALL, K_INT, 0, 0, "TU"),
	IP(IP_LOCAL_PORT_RANGE, K_INT, 40000 | (50000 << 16), 0, "TU"),
	IP(IP_PROTOCOL, K_GET, 0, 0, "TUCP"), /* Linux answers the local port (inet_num) */

	TCP(TCP_NODELAY, K_INT, 1, 0, "TC"),
	TCP(TCP_MAXSEG, K_INT, 1000, 0, "T"),
	TCP(TCP_CORK, K_INT, 1, 0, "TC"),
	TCP(TCP_KEEPIDLE, K_INT, 30, 0, "TC"),
	TCP(TCP_KEEPINTVL, K_INT, 5, 0, "TC"),
	TCP(TCP_KEEPCNT, K_INT, 3, 0, "TC"),
	TCP(TCP_SYNCNT, K_INT, 3, 0, "TC"),
	TCP(TCP_LINGER2, K_INT, 30, 0, "TC"),
	TCP(TCP_DEFER_ACCEPT, K_INT, 5, 0, "TC"),
	TCP(TCP_WINDOW_CLAMP, K_INT, 20000, 0, "T"),
	TCP(TCP_QUICKACK, K_INT, 0, 0, "TC"),
	TCP(TCP_CONGESTION, K_STR, 0, "reno", "TC"),
	TCP(TCP_USER_TIMEOUT, K_INT, 5000, 0, "TC"),
	TCP(TCP_NOTSENT_LOWAT, K_INT, 16384, 0, "TC"),
	TCP(TCP_FASTOPEN, K_INT, 5, 0, "TC"),
	TCP(TCP_FASTOPEN_CONNECT, K_INT, 1, 0, "TC"),
	TCP(TCP_FASTOPEN_NO_COOKIE, K_INT, 1, 0, "TC"),
	TCP(TCP_INQ, K_INT, 1, 0, "TC"),
	TCP(TCP_THIN_LINEAR_TIMEOUTS, K_INT, 1, 0, "TC"),
	TCP(TCP_THIN_DUPACK, K_INT, 1, 0, "TC"),
	TCP(TCP_SAVE_SYN, K_INT, 1, 0, "T"),
	TCP(TCP_TX_DELAY, K_INT, 100, 0, "TC"),
	TCP(TCP_IS_MPTCP, K_GET, 0, 0, "TC"),
	TCP(TCP_INFO, K_GET, 0, 0, "TCN"),

	UDP(UDP_CORK, K_INT, 1, 0, "U"),
	UDP(UDP_SEGMENT, K_INT, 1400, 0, "U"),
	UDP(UDP_GRO, K_INT, 1, 0, "U"),
};

static const char *ename(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ 0, "0" }, { EBADF, "EBADF" }, { EINVAL, "EINVAL" }, { EFAULT, "EFAULT" },
		{ EPERM, "EPERM" }, { EACCES, "EACCES" }, { ENOENT, "ENOENT" },
		{ ENOPROTOOPT, "ENOPROTOOPT" }, { ENOTCONN, "ENOTCONN" }, { EISCONN, "EISCONN" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { EDOM, "EDOM" }, { ENODEV, "ENODEV" },
		{ EBUSY, "EBUSY" }, { EALREADY, "EALREADY" }, { ENOBUFS, "ENOBUFS" },
		{ ERANGE, "ERANGE" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	static char b[32];
	snprintf(b, sizeof(b), "errno%d", e);
	return b;
}

static void head(const char *proto, const struct opt *o, const char *op)
{
	printf("%s %s %s %s -> ", proto, o->lname, o->oname, op);
}

static void result(int r, int e)
{
	printf("%d %s", r, r < 0 ? ename(e) : "0");
}

/* getsockopt with optlen len; prints ret errno value */
static void get(const char *proto, int fd, const struct opt *o, const char *op, socklen_t len)
{
	unsigned char b[512];
	memset(b, 0xee, sizeof(b));
	errno = 0;
	int r = getsockopt(fd, o->level, o->name, b, &len);
	int e = errno;
	head(proto, o, op);
	result(r, e);
	if (r == 0) {
		struct sockaddr_in me;
		socklen_t mlen = sizeof(me);
		int v;
		memcpy(&v, b, sizeof(v));
		if (strchr(o->where, 'N')) {
			printf(" * len=%s", len > 0 ? ">0" : "0");
		} else if (len == sizeof(int) && strchr(o->where, 'P') &&
			   getsockname(fd, (struct sockaddr *)&me, &mlen) == 0 && me.sin_port &&
			   v == ntohs(me.sin_port)) {
			printf(" lport");
		} else if (strchr(o->where, 'P') && len != sizeof(int)) {
			printf(" len=%u (part of a port)", (unsigned)len);
		} else if (len == sizeof(int)) {
			printf(" %d", v);
		} else {
			printf(" len=%u", (unsigned)len);
			for (socklen_t i = 0; i < len && i < 64; i++)
				printf("%s%02x", i ? "" : " ", b[i]);
		}
	}
	printf("\n");
}

static void set(const char *proto, int fd, const struct opt *o, const char *op, const void *v,
		socklen_t len)
{
	errno = 0;
	int r = setsockopt(fd, o->level, o->name, v, len);
	int e = errno;
	head(proto, o, op);
	result(r, e);
	printf("\n");
}

static void sweep(const char *proto, int fd, char where)
{
	char op[64];
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		if (!strchr(o->where, where))
			continue;
		get(proto, fd, o, "get", 256);
		if (o->kind != K_GET) {
			int iv = o->v, iv2 = o->v + 1;
			struct linger lg = { 1, o->v };
			struct timeval tv = { o->v, 500000 };
			const void *v = &iv;
			socklen_t len = sizeof(int);
			switch (o->kind) {
			case K_INT:
				snprintf(op, sizeof(op), "set=%d", o->v);
				break;
			case K_LINGER:
				v = &lg;
				len = sizeof(lg);
				snprintf(op, sizeof(op), "set={1,%d}", o->v);
				break;
			case K_TIMEVAL:
				v = &tv;
				len = sizeof(tv);
				snprintf(op, sizeof(op), "set={%d,500000}", o->v);
				break;
			case K_STR:
				v = o->s;
				len = (socklen_t)strlen(o->s) + 1;
				snprintf(op, sizeof(op), "set=%s", o->s);
				break;
			case K_GET:
				break;
			}
			set(proto, fd, o, op, v, len);
			get(proto, fd, o, "get", 256);
			set(proto, fd, o, "setshort", o->kind == K_INT ? (const void *)&iv2 : v, 2);
			get(proto, fd, o, "get", 256);
		} else {
			int one = 1;
			set(proto, fd, o, "set=1", &one, sizeof(one));
		}
		get(proto, fd, o, "getshort", 2);
		set(proto, fd, o, "setnull", NULL, sizeof(int));
	}
	/* an option no level has */
	static const struct opt unknown[] = {
		{ SOL_SOCKET, "SOL_SOCKET", 999, "999", K_INT, 1, 0, "TUC" },
		{ IPPROTO_IP, "IPPROTO_IP", 999, "999", K_INT, 1, 0, "TUC" },
		{ IPPROTO_TCP, "IPPROTO_TCP", 999, "999", K_INT, 1, 0, "TUC" },
		{ IPPROTO_UDP, "IPPROTO_UDP", 999, "999", K_INT, 1, 0, "TUC" },
		{ IPPROTO_UDP, "IPPROTO_UDP", UDP_CORK, "UDP_CORK", K_INT, 1, 0, "TC" },
		{ IPPROTO_TCP, "IPPROTO_TCP", TCP_NODELAY, "TCP_NODELAY", K_INT, 1, 0, "U" },
	};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const struct opt *o = &unknown[i];
		if (!strchr(o->where, where))
			continue;
		int one = 1;
		get(proto, fd, o, "get", 256);
		set(proto, fd, o, "set=1", &one, sizeof(one));
	}
	/* a NULL optlen, a negative optlen */
	const struct opt *o = &opts[0];
	errno = 0;
	int r = getsockopt(fd, o->level, o->name, op, NULL);
	head(proto, o, "get(optlen NULL)");
	result(r, errno);
	printf("\n");
	socklen_t neg = (socklen_t)-1;
	errno = 0;
	r = getsockopt(fd, o->level, o->name, op, &neg);
	head(proto, o, "get(optlen -1)");
	result(r, errno);
	printf("\n");
	int one = 1;
	set(proto, fd, o, "set(optlen -1)", &one, (socklen_t)-1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int t = socket(AF_INET, SOCK_STREAM, 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	if (t < 0 || u < 0) {
		perror("socket");
		return 1;
	}
	sweep("tcp", t, 'T');
	sweep("udp", u, 'U');
	close(t);
	close(u);
	if (argc >= 3) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
		inet_pton(AF_INET, argv[1], &sa.sin_addr);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("connect");
			return 1;
		}
		/* the path MTU, while the connection still holds its route */
		static const struct opt mtu = IP(IP_MTU, K_GET, 0, 0, "C");
		get("tcp-connected", c, &mtu, "get", 256);
		sweep("tcp-connected", c, 'C');
		close(c);
	}
	printf("done\n");
	return 0;
}
