/* Socket options: first those common to TCP and UDP sockets (see
 * sockopt.h), then what a TCP socket keeps in its TCB (tcp_setsockopt,
 * tcp_getsockopt: the "TCP sockets" part below). UDP's own are udp.c's.
 *
 * Values, errors and argument rules follow Linux 6.x: sk_setsockopt /
 * sk_getsockopt (net/core/sock.c), do_ip_setsockopt / do_ip_getsockopt
 * (net/ipv4/ip_sockglue.c), do_tcp_setsockopt / do_tcp_getsockopt
 * (net/ipv4/tcp.c) and udp_lib_setsockopt (net/ipv4/udp.c).
 *
 * What the stack does with them: IP_TOS and IP_TTL go into the IPv4 header
 * of the socket's packets; TCP_SYNCNT bounds SYN retransmissions and a
 * positive TCP_LINGER2 is the FIN-WAIT-2 timeout. Everything else here is
 * stored and read back only (docs/COMPATIBILITY.md lists them).
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h>          /* TCP_* option numbers */
#include <linux/udp.h>          /* UDP_CORK, UDP_SEGMENT, UDP_GRO */
#include <string.h>
#include <sys/socket.h>
#include "stack_impl.h"

#ifndef SO_BUF_LOCK
#define SO_BUF_LOCK 72
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

#define SO_TS_OLD    29         /* SO_TIMESTAMP_OLD */
#define SO_TSNS_OLD  35         /* SO_TIMESTAMPNS_OLD */
#define SO_TSING_OLD 37         /* SO_TIMESTAMPING_OLD */

enum {
	F_DEBUG, F_DONTROUTE, F_BROADCAST, F_OOBINLINE, F_NO_CHECK, F_KEEPALIVE, F_LINGER,
	F_RCVMARK, F_RXQ_OVFL, F_WIFI_STATUS, F_NOFCS, F_LOCK_FILTER, F_SELECT_ERR_QUEUE,
	F_PREFER_BUSY_POLL, F_ZEROCOPY, F_TSTAMP, F_TSTAMPNS,
	F_RECVOPTS, F_RETOPTS, F_RECVTTL, F_RECVTOS, F_PKTINFO, F_RECVERR, F_RECVERR_RFC4884,
	F_RECVORIGDSTADDR, F_RECVFRAGSIZE, F_FREEBIND, F_TRANSPARENT, F_BIND_NO_PORT,
	F_MC_LOOP, F_MC_ALL,
	F_FO_CONNECT, F_FO_NO_COOKIE, F_INQ, F_THIN_LT,
	F_UDP_CORK, F_UDP_GRO,
};

#define TCP_MAX_SYNCNT        127       /* Linux MAX_TCP_SYNCNT */
#define TCP_FIN_TIMEOUT_MAX_S 120       /* Linux TCP_FIN_TIMEOUT_MAX */
#define TCP_FIN_TIMEOUT_S     60        /* tcp_fin_timeout */
#define TCP_DEFAULT_SYNCNT    6         /* tcp_syn_retries */
#define SOCK_MIN_RCVBUF       2304

static int flag(const struct sock_opts *o, int f)
{
	return (o->flags >> f) & 1;
}

static void flag_set(struct sock_opts *o, int f, int on)
{
	if (on)
		o->flags |= 1ull << f;
	else
		o->flags &= ~(1ull << f);
}

unsigned sockopt_recv_ctl(const struct sock_opts *o)
{
	unsigned m = 0;
	m |= flag(o, F_PKTINFO) ? NST_RCTL_PKTINFO : 0;
	m |= flag(o, F_RECVTTL) ? NST_RCTL_TTL : 0;
	m |= flag(o, F_RECVTOS) ? NST_RCTL_TOS : 0;
	m |= o->v6flags & SOCKOPT_V6_RECVPKTINFO ? NST_RCTL_PKTINFO6 : 0;
	m |= o->v6flags & SOCKOPT_V6_RECVHOPLIMIT ? NST_RCTL_HOPLIMIT6 : 0;
	m |= o->v6flags & SOCKOPT_V6_RECVTCLASS ? NST_RCTL_TCLASS6 : 0;
	m |= o->v6flags & SOCKOPT_V6_2292HOPLIMIT ? NST_RCTL_2292HOPLIMIT : 0;
	if (flag(o, F_TSTAMP))
		m |= flag(o, F_TSTAMPNS) ? NST_RCTL_TIMESTAMPNS : NST_RCTL_TIMESTAMP;
	return m;
}

void sockopt_init(struct sock_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = -1;
	o->hops = -1;
	o->mc_hops = -1;
	o->pmtudisc6 = IPV6_PMTUDISC_WANT;
	o->peek_off = -1;
	o->incoming_cpu = -1;
	o->txrehash = 1;
	o->rcvlowat = 1;
	o->max_pacing_rate = ~0ull;
	o->pmtudisc = IP_PMTUDISC_WANT;
	o->mc_ttl = 1;
	flag_set(o, F_MC_LOOP, 1);
	flag_set(o, F_MC_ALL, 1);
}

/* The IP options that take a one-byte value (do_ip_setsockopt's list). */
static int ip_char_opt(int name)
{
	switch (name) {
	case IP_PKTINFO: case IP_RECVTTL: case IP_RECVOPTS: case IP_RECVTOS: case IP_RETOPTS:
	case IP_TOS: case IP_TTL: case IP_HDRINCL: case IP_MTU_DISCOVER: case IP_RECVERR:
	case IP_ROUTER_ALERT: case IP_FREEBIND: case IP_PASSSEC: case IP_TRANSPARENT:
	case IP_MINTTL: case IP_NODEFRAG: case IP_BIND_ADDRESS_NO_PORT: case IP_UNICAST_IF:
	case IP_MULTICAST_TTL: case IP_MULTICAST_ALL: case IP_MULTICAST_LOOP:
	case IP_RECVORIGDSTADDR: case IP_CHECKSUM: case IP_RECVFRAGSIZE:
	case IP_RECVERR_RFC4884: case IP_LOCAL_PORT_RANGE:
		return 1;
	}
	return 0;
}

int sockopt_arg_int(int level, int name, const void *val, unsigned len, int *v)
{
	*v = 0;
	if (level == IPPROTO_IP && ip_char_opt(name)) {
		if (len >= sizeof(int)) {
			if (!val)
				return -EFAULT;
			memcpy(v, val, sizeof(int));
		} else if (len >= 1) {
			if (!val)
				return -EFAULT;
			*v = *(const unsigned char *)val;
		}
		return 0;
	}
	if (len < sizeof(int))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(v, val, sizeof(int));
	return 0;
}

int sockopt_put_int(int level, int v, void *val, unsigned *len)
{
	if (level == IPPROTO_IP && *len < sizeof(int) && *len > 0 && v >= 0 && v <= 255) {
		if (!val)
			return -EFAULT;
		*(unsigned char *)val = (unsigned char)v;
		*len = 1;
		return 0;
	}
	unsigned n = *len < sizeof(int) ? *len : sizeof(int);
	if (n && !val)
		return -EFAULT;
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

static int put_bytes(const void *v, unsigned n, void *val, unsigned *len)
{
	if (*len < n)
		n = *len;
	if (n && !val)
		return -EFAULT;
	memcpy(val, v, n);
	*len = n;
	return 0;
}

/* The struct linger of SO_LINGER: EINVAL when optlen is short of one. */
static int linger_arg(const void *val, unsigned len, struct linger *lg)
{
	if (len < sizeof(*lg))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(lg, val, sizeof(*lg));
	return 0;
}

/* Linux rt_tos2priority: IP_TOS also sets SO_PRIORITY. */
static int tos2prio(int tos)
{
	static const uint8_t prio[16] = { 0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4 };
	return prio[(tos & 0x1e) >> 1];
}

/* TCP_DEFER_ACCEPT: Linux keeps seconds as a count of SYN-ACK
 * retransmissions (secs_to_retrans / retrans_to_secs, initial RTO 1 s,
 * at most 120 s), so 5 reads back as 7. */
static int secs_to_retrans(int secs)
{
	int res = 0;
	if (secs > 0) {
		int timeout = 1, period = 1;
		res = 1;
		while (secs > period && res < 255) {
			res++;
			timeout <<= 1;
			if (timeout > 120)
				timeout = 120;
			period += timeout;
		}
	}
	return res;
}

static int retrans_to_secs(int retrans)
{
	int period = 0;
	if (retrans > 0) {
		int timeout = 1;
		period = 1;
		while (--retrans) {
			timeout <<= 1;
			if (timeout > 120)
				timeout = 120;
			period += timeout;
		}
	}
	return period;
}

static int set_socket(struct sock_opts *o, const struct sockopt_sock *k, int name,
		      const void *val, unsigned len)
{
	int v, r;
	if (name == SO_BINDTODEVICE)    /* preload/ turns the name into SO_BINDTOIFINDEX */
		return SOCKOPT_PASS;
	/* sk_setsockopt reads an int first, whatever the option */
	if ((r = sockopt_arg_int(SOL_SOCKET, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case SO_LINGER: {
		if (k->stream)
			return SOCKOPT_PASS;
		struct linger lg;
		if ((r = linger_arg(val, len, &lg)) < 0)
			return r;
		flag_set(o, F_LINGER, lg.l_onoff != 0);
		o->linger_s = lg.l_linger;
		return 0;
	}
	case SO_RCVTIMEO:
	case SO_SNDTIMEO:
	case SO_RCVBUF:
	case SO_SNDBUF:
	case SO_RCVBUFFORCE:
	case SO_SNDBUFFORCE:
	case SO_REUSEADDR:
	case SO_REUSEPORT:
		return SOCKOPT_PASS;
	}
	if (name == SO_MAX_PACING_RATE && len >= sizeof(uint64_t)) {
		if (!val)
			return -EFAULT;
		memcpy(&o->max_pacing_rate, val, sizeof(uint64_t));
		return 0;
	}
	switch (name) {
	case SO_DEBUG:            flag_set(o, F_DEBUG, v != 0); return 0;
	case SO_DONTROUTE:        flag_set(o, F_DONTROUTE, v != 0); return 0;
	case SO_OOBINLINE:        flag_set(o, F_OOBINLINE, v != 0); return 0;
	case SO_NO_CHECK:         flag_set(o, F_NO_CHECK, v != 0); return 0;
	case SO_RCVMARK:          flag_set(o, F_RCVMARK, v != 0); return 0;
	case SO_RXQ_OVFL:         flag_set(o, F_RXQ_OVFL, v != 0); return 0;
	case SO_WIFI_STATUS:      flag_set(o, F_WIFI_STATUS, v != 0); return 0;
	case SO_NOFCS:            flag_set(o, F_NOFCS, v != 0); return 0;
	case SO_LOCK_FILTER:      flag_set(o, F_LOCK_FILTER, v != 0); return 0;
	case SO_SELECT_ERR_QUEUE: flag_set(o, F_SELECT_ERR_QUEUE, v != 0); return 0;
	case SO_PREFER_BUSY_POLL: flag_set(o, F_PREFER_BUSY_POLL, v != 0); return 0;
	case SO_BROADCAST:
		if (!k->stream)
			return SOCKOPT_PASS;
		flag_set(o, F_BROADCAST, v != 0);
		return 0;
	case SO_KEEPALIVE:
		if (k->stream)
			return SOCKOPT_PASS;
		flag_set(o, F_KEEPALIVE, v != 0);
		return 0;
	case SO_RCVLOWAT:
		if (k->stream)
			return SOCKOPT_PASS;
		o->rcvlowat = v < 0 ? INT_MAX : v;      /* sk_setsockopt; 0 reads back 0 */
		return 0;
	case SO_PRIORITY:
		o->priority = v;        /* not implemented: queueing by priority */
		return 0;
	case SO_MARK:
		o->mark = v;
		return 0;
	case SO_PEEK_OFF:
		o->peek_off = v;
		return 0;
	case SO_INCOMING_CPU:
		o->incoming_cpu = v;
		return 0;
	case SO_BUSY_POLL:
		if (v < 0)
			return -EINVAL;
		o->busy_poll = v;
		return 0;
	case SO_BUSY_POLL_BUDGET:
		if (v > 65535)
			return -EINVAL;
		return 0;               /* Linux has no getter for it */
	case SO_MAX_PACING_RATE:
		o->max_pacing_rate = (unsigned)v == ~0u ? ~0ull : (unsigned)v;
		return 0;
	case SO_ZEROCOPY:
		if (v != 0 && v != 1)
			return -EINVAL;
		flag_set(o, F_ZEROCOPY, v);
		return 0;
	case SO_TXREHASH:
		if (!k->stream)
			return -EOPNOTSUPP;
		if (v < -1 || v > 1)
			return -EINVAL;
		o->txrehash = v < 0 ? 1 : v;
		return 0;
	case SO_BUF_LOCK:
		if (k->stream)
			return SOCKOPT_PASS;
		if (v & ~3)
			return -EINVAL;
		o->buf_lock = (uint8_t)v;
		return 0;
	case SO_TS_OLD:
	case SO_TSNS_OLD:
		/* sock_set_timestamp: one of microseconds or nanoseconds; 0 clears both */
		flag_set(o, F_TSTAMP, v != 0);
		flag_set(o, F_TSTAMPNS, v != 0 && name == SO_TSNS_OLD);
		return 0;
	case SO_TSING_OLD:
		o->tstamping = (uint32_t)v;
		return 0;
	case SO_BINDTOIFINDEX:
		if (v < 0)
			return -EINVAL;
		o->ifindex = v;
		return 0;
	case SO_PASSCRED:
	case SO_PASSSEC:
	case SO_PASSPIDFD:
		return -EOPNOTSUPP;     /* AF_UNIX / AF_NETLINK only since Linux 6.16 */
	case SO_SNDLOWAT:
	case SO_TYPE:
	case SO_PROTOCOL:
	case SO_DOMAIN:
	case SO_ERROR:
	case SO_ACCEPTCONN:
	case SO_PEERNAME:
	case SO_PEERCRED:
	case SO_COOKIE:
		return -ENOPROTOOPT;
	}
	return SOCKOPT_PASS;
}

static int set_ip(struct sock_opts *o, const struct sockopt_sock *k, int name, const void *val,
		  unsigned len)
{
	int v, r;
	if (!ip_char_opt(name))
		return SOCKOPT_PASS;
	if (name == IP_LOCAL_PORT_RANGE && len != sizeof(int))
		return -EINVAL;
	if ((r = sockopt_arg_int(IPPROTO_IP, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case IP_TOS:
		/* __ip_sock_set_tos: TCP keeps its own ECN bits (none here: no ECN) */
		if (k->stream)
			v = (v & ~0x3) | (o->tos & 0x3);
		if (o->tos != (uint8_t)v) {
			o->tos = (uint8_t)v;
			o->priority = tos2prio(v);
		}
		return 0;
	case IP_TTL:
		if (v != -1 && (v < 1 || v > 255))
			return -EINVAL;
		o->ttl = (int16_t)v;
		return 0;
	case IP_HDRINCL:
	case IP_NODEFRAG:
		return -ENOPROTOOPT;    /* raw sockets only */
	case IP_RECVOPTS:         flag_set(o, F_RECVOPTS, v != 0); return 0;
	case IP_RETOPTS:          flag_set(o, F_RETOPTS, v != 0); return 0;
	case IP_RECVTTL:          flag_set(o, F_RECVTTL, v != 0); return 0;
	case IP_RECVTOS:          flag_set(o, F_RECVTOS, v != 0); return 0;
	case IP_PKTINFO:          flag_set(o, F_PKTINFO, v != 0); return 0;
	case IP_RECVORIGDSTADDR:  flag_set(o, F_RECVORIGDSTADDR, v != 0); return 0;
	case IP_FREEBIND:         flag_set(o, F_FREEBIND, v != 0); return 0;
	case IP_TRANSPARENT:      flag_set(o, F_TRANSPARENT, v != 0); return 0;
	case IP_BIND_ADDRESS_NO_PORT: flag_set(o, F_BIND_NO_PORT, v != 0); return 0;
	case IP_RECVERR:
		if (!k->stream)
			return SOCKOPT_PASS;    /* udp.c reports ICMP errors by it */
		flag_set(o, F_RECVERR, v != 0);
		return 0;
	case IP_RECVERR_RFC4884:
		if (v < 0 || v > 1)
			return -EINVAL;
		flag_set(o, F_RECVERR_RFC4884, v);
		return 0;
	case IP_RECVFRAGSIZE:
		if (k->stream)
			return -EINVAL;
		flag_set(o, F_RECVFRAGSIZE, v != 0);
		return 0;
	case IP_MTU_DISCOVER:
		if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT)
			return -EINVAL;
		o->pmtudisc = (uint8_t)v;
		return 0;
	case IP_MINTTL:
		if (v < 0 || v > 255)
			return -EINVAL;
		o->minttl = (uint8_t)v;
		return 0;
	case IP_MULTICAST_TTL:
		if (k->stream || len < 1)
			return -EINVAL;
		if (v == -1)
			v = 1;
		if (v < 0 || v > 255)
			return -EINVAL;
		o->mc_ttl = (uint8_t)v;
		return 0;
	case IP_MULTICAST_LOOP:
		if (len < 1)
			return -EINVAL;
		flag_set(o, F_MC_LOOP, v != 0);
		return 0;
	case IP_MULTICAST_ALL:
		if (len < 1 || (v != 0 && v != 1))
			return -EINVAL;
		flag_set(o, F_MC_ALL, v);
		return 0;
	case IP_LOCAL_PORT_RANGE: {
		uint16_t lo = (uint16_t)(v & 0xffff), hi = (uint16_t)((unsigned)v >> 16);
		if (lo && hi && lo > hi)
			return -EINVAL;
		o->port_lo = lo;
		o->port_hi = hi;
		return 0;
	}
	}
	return SOCKOPT_PASS;
}

static int set_tcp(struct sock_opts *o, const struct sockopt_sock *k, int name, const void *val,
		   unsigned len)
{
	int v, r;
	switch (name) {
	case TCP_CONGESTION:    /* strings: tcp_set_tcp below */
	case TCP_ULP:
	case TCP_MD5SIG:
	case TCP_MD5SIG_EXT:
		return SOCKOPT_PASS;
	}
	if ((r = sockopt_arg_int(IPPROTO_TCP, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case TCP_SYNCNT:
		if (v < 1 || v > TCP_MAX_SYNCNT)
			return -EINVAL;
		o->syncnt = v;
		return 0;
	case TCP_LINGER2:
		o->linger2 = v < 0 ? -1 : v > TCP_FIN_TIMEOUT_MAX_S ? TCP_FIN_TIMEOUT_MAX_S : v;
		return 0;
	case TCP_DEFER_ACCEPT:
		o->defer_accept = secs_to_retrans(v);
		return 0;
	case TCP_WINDOW_CLAMP:
		/* tcp_set_window_clamp */
		if (v == 0) {
			if (!k->closed)
				return -EINVAL;
			o->window_clamp = 0;
		} else {
			o->window_clamp = v < SOCK_MIN_RCVBUF / 2 ? SOCK_MIN_RCVBUF / 2 : v;
		}
		return 0;
	case TCP_NOTSENT_LOWAT:
		o->notsent_lowat = v;
		return 0;
	case TCP_FASTOPEN:
		/* accepted and stored; a listener answers a SYN with data by the
		 * ordinary handshake (the data is not acknowledged, the peer
		 * sends it again) */
		if (!(k->closed || k->listening) || v < 0)
			return -EINVAL;
		o->fastopen_qlen = v;
		return 0;
	case TCP_FASTOPEN_CONNECT:
		/* stored; connect() still opens with a plain SYN */
		if (v < 0 || v > 1 || !k->closed)
			return -EINVAL;
		flag_set(o, F_FO_CONNECT, v);
		return 0;
	case TCP_FASTOPEN_NO_COOKIE:
		if (v < 0 || v > 1 || !(k->closed || k->listening))
			return -EINVAL;
		flag_set(o, F_FO_NO_COOKIE, v);
		return 0;
	case TCP_INQ:
		if (v < 0 || v > 1)
			return -EINVAL;
		flag_set(o, F_INQ, v);
		return 0;
	case TCP_THIN_LINEAR_TIMEOUTS:
		if (v < 0 || v > 1)
			return -EINVAL;
		flag_set(o, F_THIN_LT, v);
		return 0;
	case TCP_THIN_DUPACK:
		if (v < 0 || v > 1)
			return -EINVAL;
		return 0;               /* obsolete in Linux too: reads back 0 */
	case TCP_SAVE_SYN:
		if (v < 0 || v > 2)
			return -EINVAL;
		o->save_syn = (uint8_t)v;
		return 0;
	case TCP_TX_DELAY:
		o->tx_delay_us = v;
		return 0;
	case TCP_INFO:
	case TCP_IS_MPTCP:
	case TCP_CC_INFO:
		return -ENOPROTOOPT;    /* read-only */
	}
	return SOCKOPT_PASS;
}

static int set_udp(struct sock_opts *o, int name, const void *val, unsigned len)
{
	int v, r;
	if ((r = sockopt_arg_int(IPPROTO_UDP, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case UDP_CORK:
		flag_set(o, F_UDP_CORK, v != 0);
		return 0;
	case UDP_SEGMENT:
		if (v < 0 || v > 65535)
			return -EINVAL;
		o->udp_segment = v;
		return 0;
	case UDP_GRO:
		flag_set(o, F_UDP_GRO, v != 0);
		return 0;
	}
	return -ENOPROTOOPT;
}

/* ---- IPPROTO_IPV6 (Linux do_ipv6_setsockopt / do_ipv6_getsockopt) ----------
 * Only on AF_INET6 sockets; an AF_INET socket answers as Linux's
 * ip_setsockopt (ENOPROTOOPT) and ip_getsockopt (EOPNOTSUPP). */
static int v6_flag_of(int name)
{
	switch (name) {
	case IPV6_RECVPKTINFO:   return SOCKOPT_V6_RECVPKTINFO;
	case IPV6_RECVTCLASS:    return SOCKOPT_V6_RECVTCLASS;
	case IPV6_RECVHOPLIMIT:  return SOCKOPT_V6_RECVHOPLIMIT;
	case IPV6_RECVERR:       return SOCKOPT_V6_RECVERR;
	case IPV6_MULTICAST_LOOP: return SOCKOPT_V6_MC_LOOP;
	case IPV6_AUTOFLOWLABEL: return SOCKOPT_V6_NO_AUTOFLOW;
	case IPV6_DONTFRAG:      return SOCKOPT_V6_DONTFRAG;
	case IPV6_RECVPATHMTU:   return SOCKOPT_V6_RECVPATHMTU;
	case IPV6_2292HOPLIMIT:  return SOCKOPT_V6_2292HOPLIMIT;
	}
	return 0;
}

static int set_ipv6(struct sock_opts *o, const struct sockopt_sock *k, int name,
		    const void *val, unsigned len)
{
	if (k->af != NST_AF_INET6)
		return -ENOPROTOOPT;
	int v, r = sockopt_arg_int(IPPROTO_IPV6, name, val, len, &v);
	int f = v6_flag_of(name);
	switch (name) {
	case IPV6_V6ONLY:
		if (r < 0)
			return r;
		if (k->bound)
			return -EINVAL;         /* "if (inet_sk(sk)->inet_num) return -EINVAL" */
		*k->v6only = v != 0;
		return 0;
	case IPV6_UNICAST_HOPS:
	case IPV6_MULTICAST_HOPS:
		if (r < 0)
			return r;
		if (v > 255 || v < -1)
			return -EINVAL;
		if (name == IPV6_UNICAST_HOPS)
			o->hops = (int16_t)v;
		else
			o->mc_hops = (int16_t)v;
		return 0;
	case IPV6_TCLASS:
		if (r < 0)
			return r;
		if (v < -1 || v > 0xff)
			return -EINVAL;
		o->tclass = v == -1 ? 0 : (uint8_t)v;
		return 0;
	case IPV6_MTU_DISCOVER:
		if (r < 0)
			return r;
		if (v < IPV6_PMTUDISC_DONT || v > IPV6_PMTUDISC_OMIT)
			return -EINVAL;
		o->pmtudisc6 = (uint8_t)v;
		return 0;
	}
	if (f) {
		if (r < 0)
			return r;
		/* IPV6_AUTOFLOWLABEL is kept inverted: on by default */
		int on = f == SOCKOPT_V6_NO_AUTOFLOW ? !v : f == SOCKOPT_V6_MC_LOOP ? !v : v != 0;
		if (f == SOCKOPT_V6_MC_LOOP && v != 0 && v != 1)
			return -EINVAL;
		if (on)
			o->v6flags |= f;
		else
			o->v6flags &= ~f;
		return 0;
	}
	return -ENOPROTOOPT;
}

static int get_ipv6(const struct sock_opts *o, const struct sockopt_sock *k, int name, void *val,
		    unsigned *len)
{
	if (k->af != NST_AF_INET6)
		return -EOPNOTSUPP;
	int v, f = v6_flag_of(name);
	switch (name) {
	case IPV6_V6ONLY:       v = *k->v6only; break;
	case IPV6_UNICAST_HOPS: v = o->hops < 0 ? 64 : o->hops; break;      /* the route's: 64 */
	case IPV6_MULTICAST_HOPS: v = o->mc_hops < 0 ? 1 : o->mc_hops; break;
	case IPV6_TCLASS:       v = o->tclass; break;
	case IPV6_MTU_DISCOVER: v = o->pmtudisc6; break;
	case IPV6_MTU:
		if (!k->connected)
			return -ENOTCONN;
		v = (int)k->mtu;
		break;
	default:
		if (!f)
			return -ENOPROTOOPT;
		v = !!(o->v6flags & f);
		if (f == SOCKOPT_V6_NO_AUTOFLOW || f == SOCKOPT_V6_MC_LOOP)
			v = !v;
	}
	return sockopt_put_int(IPPROTO_IPV6, v, val, len);
}

int sockopt_set(struct sock_opts *o, const struct sockopt_sock *k, int level, int name,
		const void *val, unsigned len)
{
	switch (level) {
	case SOL_SOCKET:
		return set_socket(o, k, name, val, len);
	case IPPROTO_IP:
		return set_ip(o, k, name, val, len);
	case IPPROTO_TCP:
		return k->stream ? set_tcp(o, k, name, val, len) : -ENOPROTOOPT;
	case IPPROTO_UDP:
		return k->stream ? -ENOPROTOOPT : set_udp(o, name, val, len);
	case IPPROTO_IPV6:
		if (k->af == NST_AF_INET6)
			return set_ipv6(o, k, name, val, len);
		break;
	}
	return SOCKOPT_PASS;
}

static int get_socket(const struct sock_opts *o, const struct sockopt_sock *k, int name,
		      void *val, unsigned *len)
{
	int v;
	switch (name) {
	case SO_DEBUG:            v = flag(o, F_DEBUG); break;
	case SO_DONTROUTE:        v = flag(o, F_DONTROUTE); break;
	case SO_OOBINLINE:        v = flag(o, F_OOBINLINE); break;
	case SO_NO_CHECK:         v = flag(o, F_NO_CHECK); break;
	case SO_RCVMARK:          v = flag(o, F_RCVMARK); break;
	case SO_RXQ_OVFL:         v = flag(o, F_RXQ_OVFL); break;
	case SO_WIFI_STATUS:      v = flag(o, F_WIFI_STATUS); break;
	case SO_NOFCS:            v = flag(o, F_NOFCS); break;
	case SO_LOCK_FILTER:      v = flag(o, F_LOCK_FILTER); break;
	case SO_SELECT_ERR_QUEUE: v = flag(o, F_SELECT_ERR_QUEUE); break;
	case SO_PREFER_BUSY_POLL: v = flag(o, F_PREFER_BUSY_POLL); break;
	case SO_ZEROCOPY:         v = flag(o, F_ZEROCOPY); break;
	case SO_PRIORITY:         v = o->priority; break;
	case SO_MARK:             v = o->mark; break;
	case SO_PEEK_OFF:         v = o->peek_off; break;
	case SO_INCOMING_CPU:     v = o->incoming_cpu; break;
	case SO_BUSY_POLL:        v = o->busy_poll; break;
	case SO_BINDTOIFINDEX:    v = o->ifindex; break;
	case SO_SNDLOWAT:         v = 1; break;
	case SO_TS_OLD:           v = flag(o, F_TSTAMP) && !flag(o, F_TSTAMPNS); break;
	case SO_TSNS_OLD:         v = flag(o, F_TSTAMPNS); break;
	case SO_BROADCAST:
		if (!k->stream)
			return SOCKOPT_PASS;
		v = flag(o, F_BROADCAST);
		break;
	case SO_KEEPALIVE:
		if (k->stream)
			return SOCKOPT_PASS;
		v = flag(o, F_KEEPALIVE);
		break;
	case SO_RCVLOWAT:
		if (k->stream)
			return SOCKOPT_PASS;
		v = o->rcvlowat;
		break;
	case SO_LINGER: {
		if (k->stream)
			return SOCKOPT_PASS;
		struct linger lg = { .l_onoff = flag(o, F_LINGER), .l_linger = o->linger_s };
		return put_bytes(&lg, sizeof(lg), val, len);
	}
	case SO_TSING_OLD: {
		/* struct so_timestamping: flags, bind_phc */
		int32_t ts[2] = { (int32_t)o->tstamping, 0 };
		return put_bytes(ts, sizeof(ts), val, len);
	}
	case SO_MAX_PACING_RATE:
		if (*len >= sizeof(uint64_t))
			return put_bytes(&o->max_pacing_rate, sizeof(uint64_t), val, len);
		v = (int)(o->max_pacing_rate > ~0u ? ~0u : (unsigned)o->max_pacing_rate);
		break;
	case SO_TXREHASH:
		if (!k->stream)
			return -EOPNOTSUPP;
		v = o->txrehash;
		break;
	case SO_BUF_LOCK:
		if (k->stream)
			return SOCKOPT_PASS;
		v = o->buf_lock;
		break;
	case SO_PASSCRED:
	case SO_PASSSEC:
	case SO_PASSPIDFD:
		return -EOPNOTSUPP;
	case SO_BUSY_POLL_BUDGET:
	case SO_RCVBUFFORCE:
	case SO_SNDBUFFORCE:
		return -ENOPROTOOPT;    /* set-only in Linux */
	default:
		return SOCKOPT_PASS;
	}
	return sockopt_put_int(SOL_SOCKET, v, val, len);
}

static int get_ip(const struct sock_opts *o, const struct sockopt_sock *k, int name, void *val,
		  unsigned *len)
{
	int v;
	switch (name) {
	case IP_TOS:              v = o->tos; break;
	case IP_TTL:              v = o->ttl < 0 ? 64 : o->ttl; break;
	case IP_HDRINCL:          v = 0; break;
	case IP_NODEFRAG:         v = 0; break;
	case IP_RECVOPTS:         v = flag(o, F_RECVOPTS); break;
	case IP_RETOPTS:          v = flag(o, F_RETOPTS); break;
	case IP_RECVTTL:          v = flag(o, F_RECVTTL); break;
	case IP_RECVTOS:          v = flag(o, F_RECVTOS); break;
	case IP_PKTINFO:          v = flag(o, F_PKTINFO); break;
	case IP_RECVERR_RFC4884:  v = flag(o, F_RECVERR_RFC4884); break;
	case IP_RECVORIGDSTADDR:  v = flag(o, F_RECVORIGDSTADDR); break;
	case IP_RECVFRAGSIZE:     v = flag(o, F_RECVFRAGSIZE); break;
	case IP_FREEBIND:         v = flag(o, F_FREEBIND); break;
	case IP_TRANSPARENT:      v = flag(o, F_TRANSPARENT); break;
	case IP_BIND_ADDRESS_NO_PORT: v = flag(o, F_BIND_NO_PORT); break;
	case IP_MTU_DISCOVER:     v = o->pmtudisc; break;
	case IP_MINTTL:           v = o->minttl; break;
	case IP_MULTICAST_TTL:    v = o->mc_ttl; break;
	case IP_MULTICAST_LOOP:   v = flag(o, F_MC_LOOP); break;
	case IP_MULTICAST_ALL:    v = flag(o, F_MC_ALL); break;
	case IP_LOCAL_PORT_RANGE: v = (int)(o->port_lo | (uint32_t)o->port_hi << 16); break;
	case IP_PROTOCOL:         v = k->lport; break;      /* Linux answers inet_num, the local port */
	case IP_RECVERR:
		if (!k->stream)
			return SOCKOPT_PASS;
		v = flag(o, F_RECVERR);
		break;
	case IP_MTU:
		if (!k->connected)
			return -ENOTCONN;
		v = (int)k->mtu;
		break;
	default:
		return SOCKOPT_PASS;
	}
	return sockopt_put_int(IPPROTO_IP, v, val, len);
}

static int get_tcp(const struct sock_opts *o, int name, void *val, unsigned *len)
{
	int v;
	switch (name) {
	case TCP_SYNCNT:          v = o->syncnt ? o->syncnt : TCP_DEFAULT_SYNCNT; break;
	case TCP_LINGER2:         v = o->linger2 ? o->linger2 : TCP_FIN_TIMEOUT_S; break;
	case TCP_DEFER_ACCEPT:    v = retrans_to_secs(o->defer_accept); break;
	case TCP_WINDOW_CLAMP:    v = o->window_clamp; break;
	case TCP_NOTSENT_LOWAT:   v = o->notsent_lowat; break;
	case TCP_FASTOPEN:        v = o->fastopen_qlen; break;
	case TCP_FASTOPEN_CONNECT: v = flag(o, F_FO_CONNECT); break;
	case TCP_FASTOPEN_NO_COOKIE: v = flag(o, F_FO_NO_COOKIE); break;
	case TCP_INQ:             v = flag(o, F_INQ); break;
	case TCP_THIN_LINEAR_TIMEOUTS: v = flag(o, F_THIN_LT); break;
	case TCP_THIN_DUPACK:     v = 0; break;
	case TCP_SAVE_SYN:        v = o->save_syn; break;
	case TCP_TX_DELAY:        v = o->tx_delay_us; break;
	case TCP_IS_MPTCP:        v = 0; break;
	case TCP_CC_INFO:
		/* the algorithm's own report (union tcp_cc_info): Linux has one
		 * only for vegas, dctcp and bbr; for reno and cubic (ours) it
		 * answers 0 bytes (do_tcp_getsockopt: len = min(len, 0)) */
		*len = 0;
		return 0;
	default:
		return SOCKOPT_PASS;
	}
	return sockopt_put_int(IPPROTO_TCP, v, val, len);
}

static int get_udp(const struct sock_opts *o, int name, void *val, unsigned *len)
{
	int v;
	switch (name) {
	case UDP_CORK:    v = flag(o, F_UDP_CORK); break;
	case UDP_SEGMENT: v = o->udp_segment; break;
	case UDP_GRO:     v = flag(o, F_UDP_GRO); break;
	default:
		return -ENOPROTOOPT;
	}
	return sockopt_put_int(IPPROTO_UDP, v, val, len);
}

int sockopt_get(const struct sock_opts *o, const struct sockopt_sock *k, int level, int name,
		void *val, unsigned *len)
{
	switch (level) {
	case SOL_SOCKET:
		return get_socket(o, k, name, val, len);
	case IPPROTO_IP:
		return get_ip(o, k, name, val, len);
	case IPPROTO_TCP:
		/* the other transport's level: Linux 6.x answers EOPNOTSUPP */
		return k->stream ? get_tcp(o, name, val, len) : -EOPNOTSUPP;
	case IPPROTO_UDP:
		return k->stream ? -EOPNOTSUPP : get_udp(o, name, val, len);
	case IPPROTO_IPV6:
		return get_ipv6(o, k, name, val, len);
	}
	return SOCKOPT_PASS;
}

/* ---- TCP sockets -----------------------------------------------------------
 * What sockopt_set / sockopt_get pass on (SOCKOPT_PASS) for a stream socket
 * is kept in its TCB, where TCP acts on it:
 *   SO_RCVBUF/SO_SNDBUF  fix the ring budgets (no autotuning from then on)
 *   SO_KEEPALIVE, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT  the keepalive timer
 *   SO_LINGER         close: a zero timeout aborts; preload waits otherwise
 *   TCP_NODELAY       Nagle off; setting it sends what was held
 *   TCP_MAXSEG        the MSS we announce and use
 *   TCP_CORK          tcp_output holds partial segments while set (at most
 *                     TCP_CORK_US, like Linux) and unsetting sends them
 *   TCP_QUICKACK      stored (reads back like Linux's pingpong flag); delayed
 *                     ACKs follow their own rules
 *   TCP_USER_TIMEOUT  stored; giving up stays tcp_retries2 / SYN retries
 *   TCP_CONGESTION    "cubic" (RFC 9438, the default, as Linux's) or "reno"
 *                     (RFC 5681), tcp_cc.c; any other name is ENOENT, as
 *                     for a module Linux lacks
 *   SO_RCVLOWAT       stored; recv and poll wake at 1 byte
 */

#ifndef TCP_CA_NAME_MAX
#define TCP_CA_NAME_MAX 16      /* Linux include/net/tcp.h */
#endif
#define MAX_TCP_KEEPIDLE  32767
#define MAX_TCP_KEEPINTVL 32767
#define MAX_TCP_KEEPCNT   127

/* The host's net.core.rmem_max / wmem_max, which clamp SO_RCVBUF and
 * SO_SNDBUF before Linux doubles them (0 keeps the current value). */
void nst_set_sockbuf_max(struct stack *st, unsigned rmem_max, unsigned wmem_max)
{
	if (rmem_max)
		st->tcp.rmem_max = rmem_max > 0x3fffffff ? 0x3fffffff : rmem_max;
	if (wmem_max)
		st->tcp.wmem_max = wmem_max > 0x3fffffff ? 0x3fffffff : wmem_max;
}

/* What the code above needs to know about a TCP socket. */
static void tcp_sockopt_sock(const struct stack *st, const struct tcb *t, struct sockopt_sock *k)
{
	memset(k, 0, sizeof(*k));
	k->stream = 1;
	k->closed = t->state == TCP_CLOSED;
	k->listening = t->state == TCP_LISTEN;
	k->connected = tcp_synced(t->state);
	k->lport = t->lport;
	k->mtu = st->dev ? st->dev->mtu : 1500;
	k->af = t->af;
	k->bound = t->bound;
	k->v6only = (uint8_t *)&t->v6only;     /* sockopt_set may change it */
}

static int tcp_set_socket(struct stack *st, struct tcb *t, int name, const void *val, unsigned len)
{
	int v, r, force = 0;
	if (name == SO_RCVBUFFORCE || name == SO_SNDBUFFORCE) {
		/* the same without the rmem_max / wmem_max clamp (we run as the
		 * program: CAP_NET_ADMIN is the kernel's business, not checked) */
		force = 1;
		name = name == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;
	}
	switch (name) {
	case SO_LINGER: {
		struct linger lg;
		if ((r = linger_arg(val, len, &lg)) < 0)
			return r;
		t->opt_linger_on = lg.l_onoff != 0;
		t->opt_linger_s = lg.l_linger;
		return 0;
	}
	case SO_KEEPALIVE:
	case SO_REUSEADDR:
	case SO_REUSEPORT:
	case SO_RCVBUF:
	case SO_SNDBUF:
	case SO_BUF_LOCK:
	case SO_RCVLOWAT:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if ((r = sockopt_arg_int(SOL_SOCKET, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case SO_KEEPALIVE:
		t->opt_keepalive = v != 0;
		tcp_keep_reset(st, t);
		break;
	case SO_REUSEADDR:
		t->opt_reuseaddr = v != 0;
		break;
	case SO_REUSEPORT:
		t->opt_reuseport = v != 0;
		break;
	case SO_BUF_LOCK:
		/* SOCK_SNDBUF_LOCK 1, SOCK_RCVBUF_LOCK 2: unlocked sizes autotune */
		if (v & ~3)
			return -EINVAL;
		t->snd_locked = (v & 1) != 0;
		t->rcv_locked = (v & 2) != 0;
		break;
	case SO_RCVLOWAT:
		/* sk_setsockopt: "if (val < 0) val = INT_MAX"; 0 means 1 */
		t->rcvlowat = v < 0 ? INT_MAX : v;
		break;
	case SO_RCVBUF:
	case SO_SNDBUF: {
		/* Linux doubles the value for bookkeeping overhead and clamps
		 * it, and the size is locked: no autotuning from now on
		 * (SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK). Our rings hold bytes
		 * only, so the budget is the half the application asked for
		 * (about what Linux's window and send queue come to). The
		 * receive budget never goes below what a window already
		 * promised (RFC 9293 3.8.6.2.2: do not shrink the window). */
		long x = v < 0 ? 0 : v;
		long max = name == SO_RCVBUF ? st->tcp.rmem_max : st->tcp.wmem_max;
		if (force)
			max = 0x3fffffff;
		if (x > max)
			x = max;
		x *= 2;
		if (name == SO_RCVBUF) {
			t->opt_rcvbuf = x < 2304 ? 2304 : (int)x;
			t->rcv_locked = 1;
			uint32_t b = (uint32_t)t->opt_rcvbuf / 2;
			uint32_t promised = tcp_rcv_unread(t) + tcp_rcv_wnd(t);
			t->rcv_budget = b > promised ? b : promised;
		} else {
			t->opt_sndbuf = x < 4608 ? 4608 : (int)x;
			t->snd_locked = 1;
			t->snd_budget = (uint32_t)t->opt_sndbuf / 2;
		}
		break;
	}
	}
	return 0;
}

static int tcp_set_tcp(struct stack *st, struct tcb *t, int name, const void *val, unsigned len)
{
	int v, r;
	if (name == TCP_CONGESTION) {
		/* do_tcp_setsockopt: a NUL-terminated name of at most 15 bytes */
		char want[TCP_CA_NAME_MAX];
		if (len < 1)
			return -EINVAL;
		if (!val)
			return -EFAULT;
		unsigned n = len < TCP_CA_NAME_MAX - 1 ? len : TCP_CA_NAME_MAX - 1;
		memcpy(want, val, n);
		want[n] = 0;
		const struct tcp_cc_ops *ops = tcp_cc_find(want);
		if (!ops)
			return -ENOENT;
		if (ops != tcp_cc(t))
			tcp_cc_set(t, ops);
		return 0;
	}
	switch (name) {
	case TCP_NODELAY:
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
	case TCP_MAXSEG:
	case TCP_CORK:
	case TCP_QUICKACK:
	case TCP_USER_TIMEOUT:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if ((r = sockopt_arg_int(IPPROTO_TCP, name, val, len, &v)) < 0)
		return r;
	switch (name) {
	case TCP_NODELAY:
		/* Nagle (tcp_output); setting it sends what Nagle, TCP_CORK
		 * or MSG_MORE held, as Linux (TCP_NAGLE_PUSH) */
		t->opt_nodelay = v != 0;
		if (v)
			tcp_push(st, t, 1);
		break;
	case TCP_KEEPIDLE:
		if (v < 1 || v > MAX_TCP_KEEPIDLE)
			return -EINVAL;
		t->keepidle_s = v;
		if (t->timer[TCP_T_KEEP])
			tcp_keep_reset(st, t);
		break;
	case TCP_KEEPINTVL:
		if (v < 1 || v > MAX_TCP_KEEPINTVL)
			return -EINVAL;
		t->keepintvl_s = v;
		break;
	case TCP_KEEPCNT:
		if (v < 1 || v > MAX_TCP_KEEPCNT)
			return -EINVAL;
		t->keepcnt = v;
		break;
	case TCP_MAXSEG:
		/* Linux: TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (32767), 0 clears */
		if (v != 0 && (v < 88 || v > 32767))
			return -EINVAL;
		t->user_mss = (uint16_t)v;
		break;
	case TCP_CORK:
		t->opt_cork = v != 0;
		/* uncorking sends what the cork held (Linux tcp_push_pending_frames) */
		if (!t->opt_cork)
			tcp_push(st, t, 0);
		break;
	case TCP_QUICKACK:
		t->opt_quickack_off = v == 0;
		t->quickacks = v ? TCP_QUICKACKS : 0;
		break;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		t->user_timeout_ms = v;
		break;
	}
	return 0;
}

int tcp_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	struct sockopt_sock k;
	tcp_sockopt_sock(st, t, &k);
	int r = sockopt_set(&t->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	switch (level) {
	case SOL_SOCKET:
		return tcp_set_socket(st, t, name, val, len);
	case IPPROTO_TCP:
		return tcp_set_tcp(st, t, name, val, len);
	}
	return -ENOPROTOOPT;
}

static int tcp_get_socket(struct tcb *t, int name, void *val, unsigned *len)
{
	int v;
	switch (name) {
	case SO_TYPE:             v = SOCK_STREAM; break;
	case SO_KEEPALIVE:        v = t->opt_keepalive; break;
	case SO_REUSEADDR:        v = t->opt_reuseaddr; break;
	case SO_REUSEPORT:        v = t->opt_reuseport; break;
	case SO_RCVBUF:           v = t->opt_rcvbuf; break;
	case SO_SNDBUF:           v = t->opt_sndbuf; break;
	case SO_ACCEPTCONN:       v = t->state == TCP_LISTEN; break;
	case SO_BUF_LOCK:         v = (t->snd_locked ? 1 : 0) | (t->rcv_locked ? 2 : 0); break;
	case SO_RCVLOWAT:         v = t->rcvlowat ? t->rcvlowat : 1; break;
	case SO_ERROR:
		v = t->err;             /* Linux sock_error: taken */
		t->err = 0;
		break;
	case SO_LINGER: {
		/* sk_getsockopt: min(optlen, sizeof(struct linger)) bytes */
		struct linger lg = { .l_onoff = t->opt_linger_on, .l_linger = t->opt_linger_s };
		return put_bytes(&lg, sizeof(lg), val, len);
	}
	case SO_MEMINFO: {
		/* Linux sk_get_meminfo, min(optlen, 9 u32s): what our
		 * rings hold stands for rmem_alloc and wmem_queued;
		 * nothing sits below TCP (wmem_alloc), no forward
		 * allocation, option memory, backlog or drops */
		uint32_t mi[9] = { tcp_rcv_unread(t), (uint32_t)t->opt_rcvbuf, 0,
				   (uint32_t)t->opt_sndbuf, 0, t->sndbuf.len, 0, 0, 0 };
		return put_bytes(mi, sizeof(mi), val, len);
	}
	default:
		return -ENOPROTOOPT;
	}
	return sockopt_put_int(SOL_SOCKET, v, val, len);
}

static int tcp_get_tcp(const struct tcb *t, int name, void *val, unsigned *len)
{
	int v;
	switch (name) {
	case TCP_NODELAY:         v = t->opt_nodelay; break;
	case TCP_KEEPIDLE:        v = t->keepidle_s; break;
	case TCP_KEEPINTVL:       v = t->keepintvl_s; break;
	case TCP_KEEPCNT:         v = t->keepcnt; break;
	case TCP_CORK:            v = t->opt_cork; break;
	case TCP_QUICKACK:        v = !t->opt_quickack_off; break;
	case TCP_USER_TIMEOUT:    v = t->user_timeout_ms; break;
	case TCP_MAXSEG:
		/* Linux do_tcp_getsockopt: the current MSS once connected;
		 * before (CLOSED, LISTEN) the user's value if set, else
		 * mss_cache: 536, or what a connection that is over had */
		v = tcp_synced(t->state) ? t->mss : t->user_mss ? t->user_mss :
		    t->done ? t->mss : TCP_MSS_DEF;
		break;
	case TCP_CONGESTION: {
		/* do_tcp_getsockopt: min(len, TCP_CA_NAME_MAX) bytes of the name */
		char cc[TCP_CA_NAME_MAX] = { 0 };
		strncpy(cc, tcp_cc(t)->name, TCP_CA_NAME_MAX - 1);
		return put_bytes(cc, TCP_CA_NAME_MAX, val, len);
	}
	default:
		return -ENOPROTOOPT;
	}
	return sockopt_put_int(IPPROTO_TCP, v, val, len);
}

int tcp_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (!len)
		return -EFAULT;
	struct sockopt_sock k;
	tcp_sockopt_sock(st, t, &k);
	int r = sockopt_get(&t->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	if (!val && *len)
		return -EFAULT;
	switch (level) {
	case SOL_SOCKET:
		return tcp_get_socket(t, name, val, len);
	case IPPROTO_TCP:
		return tcp_get_tcp(t, name, val, len);
	}
	return -ENOPROTOOPT;
}
