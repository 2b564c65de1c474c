/* Datagram sockets: sendto/recvfrom/sendmsg/recvmsg/sendmmsg/recvmmsg and
 * the plain read/write/send/recv paths on an nstack UDP socket, with the
 * kernel's semantics (udp_sendmsg, udp_recvmsg): one datagram per call,
 * MSG_TRUNC in and out, MSG_PEEK, source addresses, and the routing rule of
 * DESIGN.md: a sendto to an address nstack does not serve, on a socket not
 * yet bound or connected on nstack, hands the socket to the kernel.
 *
 * Vectors are gathered into (scattered from) one buffer: a datagram is at
 * most 65507 bytes, and the stack copies it once more into a packet or out
 * of its ring.
 */
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/errqueue.h>     /* struct sock_extended_err (needs time.h first) */
#include "dgram.h"

#define DGRAM_MAX 65536         /* larger than any datagram (65507) */
#define DGRAM_STACK_BUF 2048

/* A message's vectors: Linux says EMSGSIZE for more than IOV_MAX; every
 * base is checked (the datagram is gathered at once). */
static int dgram_iov_total(const struct iovec *iov, size_t cnt, size_t *total)
{
	return iov_total(iov, (long)cnt, total, -EMSGSIZE, 1);
}

/* The one buffer a datagram passes through: a single vector itself, else
 * small (DGRAM_STACK_BUF bytes) or, for a larger one, an allocated buffer
 * the caller frees. */
static int dgram_buf(const struct msghdr *msg, size_t total, char *small, char **bufp)
{
	if (msg->msg_iovlen == 1)
		*bufp = msg->msg_iov[0].iov_base;
	else if (total > DGRAM_STACK_BUF)
		*bufp = malloc(total);
	else
		*bufp = small;
	return msg->msg_iovlen != 1 && !*bufp ? -ENOMEM : 0;
}

/* The buffer a received datagram lands in (dgram_buf) and its size: the
 * vectors' total, at most DGRAM_MAX. */
static int dgram_recv_buf(const struct msghdr *msg, char *small, char **buf, size_t *total)
{
	int r = dgram_iov_total(msg->msg_iov, msg->msg_iovlen, total);
	if (r < 0)
		return r;
	if (*total > DGRAM_MAX)
		*total = DGRAM_MAX;
	return dgram_buf(msg, *total, small, buf) < 0 ? -ENOMEM : 0;
}

/* Copy n bytes of buf out to the message's vectors, in order. */
static void dgram_scatter(const struct msghdr *msg, const char *buf, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < msg->msg_iovlen && off < n; i++) {
		size_t k = msg->msg_iov[i].iov_len < n - off ? msg->msg_iov[i].iov_len : n - off;
		memcpy(msg->msg_iov[i].iov_base, buf + off, k);
		off += k;
	}
}

/* The destination of a sendmsg: 0 and *set = 0 when none is given. */
static int dgram_dest(const struct nsock *s, const struct msghdr *msg, int *set,
		      struct nst_addr *ip, uint16_t *port)
{
	*set = 0;
	if (!msg->msg_name || msg->msg_namelen == 0)
		return 0;
	const struct sockaddr *sa = msg->msg_name;
	/* Linux udp_sendmsg / udpv6_sendmsg: AF_UNSPEC is accepted as "no
	 * address" (its length checked first) */
	if (msg->msg_namelen >= sizeof(struct sockaddr_in) && sa->sa_family == AF_UNSPEC)
		return 0;
	int r = nsa_parse(s, sa, msg->msg_namelen, 1, ip, port);
	if (r == 0)
		*set = 1;
	return r;
}

/* 1 if a datagram to ip is ours to send (or connect to): routed by the
 * stack, or a broadcast on its subnet. */
int dgram_serves(uint32_t ip)
{
	return stack_routes(eng.st, ip) || stack_is_bcast(eng.st, ip);
}

/* The control messages of a sendmsg this send acts on, as Linux's
 * ip_cmsg_send / ip6_datagram_send_ctl check them: IP_TTL (1..255), IP_TOS
 * (0..255), IPV6_HOPLIMIT and IPV6_TCLASS (-1..255; -1 the socket's);
 * a malformed header is EINVAL. Others (IP_PKTINFO, IPV6_PKTINFO, SOL_SOCKET
 * ones) are not acted on. */
static int dgram_send_ctl(const struct nsock *s, const struct msghdr *msg, struct nst_send_info *si)
{
	si->hops = si->tclass = -1;
	if (!msg->msg_control || msg->msg_controllen == 0)
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_len < sizeof(struct cmsghdr) ||
		    (size_t)((char *)c - (char *)msg->msg_control) + c->cmsg_len > msg->msg_controllen)
			return -EINVAL;
		size_t dlen = c->cmsg_len - CMSG_LEN(0);
		int v;
		if (c->cmsg_level == IPPROTO_IPV6 && s->family == AF_INET6 &&
		    (c->cmsg_type == IPV6_HOPLIMIT || c->cmsg_type == IPV6_TCLASS)) {
			if (dlen != sizeof(int))
				return -EINVAL;
			memcpy(&v, CMSG_DATA(c), sizeof(v));
			if (v < -1 || v > 255)
				return -EINVAL;
			if (c->cmsg_type == IPV6_HOPLIMIT)
				si->hops = (int16_t)v;
			else
				si->tclass = (int16_t)v;
		} else if (c->cmsg_level == IPPROTO_IP && (c->cmsg_type == IP_TTL || c->cmsg_type == IP_TOS)) {
			if (c->cmsg_type == IP_TOS && dlen == 1) {
				v = *(const unsigned char *)CMSG_DATA(c);
			} else if (dlen == sizeof(int)) {
				memcpy(&v, CMSG_DATA(c), sizeof(v));
			} else {
				return -EINVAL;
			}
			if (c->cmsg_type == IP_TTL ? (v < 1 || v > 255) : (v < 0 || v > 255))
				return -EINVAL;
			if (c->cmsg_type == IP_TTL)
				si->hops = (int16_t)v;
			else
				si->tclass = (int16_t)v;
		}
	}
	return 0;
}

ssize_t dgram_msg_send(int fd, struct nsock *s, const struct msghdr *msg, int flags, int *handoff)
{
	(void)fd;
	*handoff = 0;
	if (!msg)
		return -EFAULT;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	int set;
	struct nst_addr ip = { 0 };
	uint16_t port = 0;
	int r = dgram_dest(s, msg, &set, &ip, &port);
	if (r < 0)
		return r;
	if (set && !nsa_serves(s, &ip, 0) && !s->committed) {
		/* DESIGN "Routing": not ours (127.0.0.1 beside a TAP, another
		 * subnet): the kernel gets the socket, on the same fd. */
		r = nsock_handoff(s);
		eng_unlock();
		if (r < 0)
			return r;
		*handoff = 1;
		return 0;
	}
	size_t total;
	r = dgram_iov_total(msg->msg_iov, msg->msg_iovlen, &total);
	if (r < 0)
		return r;
	if (total > DGRAM_MAX) {
		/* larger than any datagram: the stack refuses it before reading
		 * a byte, and queues the local error IPV6_RECVERR asks for */
		ssize_t n = nst_sendmsg_addr(eng.st, s->sd, NULL, total, 0, set, &ip, port, NULL,
					     eng_now_us());
		eng_after();
		return n < 0 ? n : -EMSGSIZE;
	}
	struct nst_send_info si;
	r = dgram_send_ctl(s, msg, &si);
	if (r < 0)
		return r;
	char small[DGRAM_STACK_BUF], *buf;
	int direct = msg->msg_iovlen == 1;
	if (dgram_buf(msg, total, small, &buf) < 0)
		return -ENOMEM;
	if (!direct) {
		size_t off = 0;
		for (size_t i = 0; i < msg->msg_iovlen; i++) {
			memcpy(buf + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
			off += msg->msg_iov[i].iov_len;
		}
	}
	ssize_t n = nst_sendmsg_addr(eng.st, s->sd, buf, total, flags & (MSG_DONTWAIT | MSG_NOSIGNAL),
				     set, &ip, port, &si, eng_now_us());
	eng_after();
	if (!direct && buf != small)
		free(buf);
	/* a datagram sent commits the socket to nstack (its port is bound here) */
	if (n >= 0)
		s->committed = 1;
	nsock_edge_sync(s);
	return n;
}

/* Copy a source address out like the kernel: truncated to msg_namelen,
 * which is set to the full size. */
static void dgram_name_fill(const struct nsock *s, struct msghdr *msg, const struct nst_addr *ip,
			    uint16_t port)
{
	if (!msg->msg_name) {
		msg->msg_namelen = 0;
		return;
	}
	socklen_t len = msg->msg_namelen;
	nsa_fill(s, msg->msg_name, &len, ip, port);
	msg->msg_namelen = len;
}

/* Linux put_cmsg: one control message into what is left of msg_control
 * (*used bytes taken so far); too little room truncates it and sets
 * MSG_CTRUNC, less than a header drops it. */
static void put_cmsg(struct msghdr *msg, size_t *used, int level, int type, const void *data,
		     size_t len)
{
	size_t left = msg->msg_controllen - *used;
	size_t cmlen = CMSG_LEN(len);
	if (left < sizeof(struct cmsghdr)) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	if (left < cmlen) {
		msg->msg_flags |= MSG_CTRUNC;
		cmlen = left;
	}
	struct cmsghdr h = { .cmsg_len = cmlen, .cmsg_level = level, .cmsg_type = type };
	char *at = (char *)msg->msg_control + *used;
	memcpy(at, &h, sizeof(h));
	memcpy(at + CMSG_LEN(0), data, cmlen - CMSG_LEN(0));
	cmlen = CMSG_SPACE(len) < left ? CMSG_SPACE(len) : left;
	*used += cmlen;
}

/* A stack time (CLOCK_MONOTONIC microseconds) as the wall-clock time of
 * SO_TIMESTAMP: the kernel stamps with CLOCK_REALTIME at arrival. */
static struct timespec dgram_walltime(uint64_t at_us)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t now = eng_now_us(), ago = now > at_us ? now - at_us : 0;
	int64_t ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)ago * 1000;
	return (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

/* The control messages the socket asked for (ctl: NST_RCTL_*) about a
 * received datagram, in Linux's order: the timestamp (sock_recv_cmsgs),
 * then IPv4 ones (ip_cmsg_recv_offset: IP_PKTINFO, IP_TTL, IP_TOS) for an
 * IPv4 datagram, IPv6 ones (ip6_datagram_recv_ctl: IPV6_PKTINFO,
 * IPV6_HOPLIMIT, IPV6_TCLASS, IPV6_2292HOPLIMIT) for an IPv6 one; an
 * AF_INET6 socket's IPV6_PKTINFO names an IPv4 destination v4-mapped. */
static void dgram_recv_ctl(const struct nsock *s, struct msghdr *msg, size_t *used, unsigned ctl,
			   const struct nst_dgram_info *di)
{
	int v4 = nst_addr_is_v4(&di->dst);
	unsigned idx = nsa_ifindex();
	if (ctl & (NST_RCTL_TIMESTAMP | NST_RCTL_TIMESTAMPNS)) {
		struct timespec ts = dgram_walltime(di->rx_us);
		if (ctl & NST_RCTL_TIMESTAMPNS) {
			put_cmsg(msg, used, SOL_SOCKET, SCM_TIMESTAMPNS, &ts, sizeof(ts));
		} else {
			struct timeval tv = { .tv_sec = ts.tv_sec, .tv_usec = ts.tv_nsec / 1000 };
			put_cmsg(msg, used, SOL_SOCKET, SCM_TIMESTAMP, &tv, sizeof(tv));
		}
	}
	if (v4 && (ctl & NST_RCTL_PKTINFO)) {
		struct in_pktinfo pi = { .ipi_ifindex = (int)idx };
		pi.ipi_spec_dst.s_addr = pi.ipi_addr.s_addr = htonl(nst_addr_v4(&di->dst));
		put_cmsg(msg, used, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	}
	if (v4 && (ctl & NST_RCTL_TTL)) {
		int ttl = di->hops;
		put_cmsg(msg, used, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	}
	if (v4 && (ctl & NST_RCTL_TOS)) {
		uint8_t tos = di->tclass;
		put_cmsg(msg, used, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
	}
	if (s->family == AF_INET6 && (ctl & NST_RCTL_PKTINFO6)) {
		struct in6_pktinfo pi = { .ipi6_ifindex = idx };
		memcpy(&pi.ipi6_addr, di->dst.b, 16);
		put_cmsg(msg, used, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	if (!v4 && (ctl & NST_RCTL_HOPLIMIT6)) {
		int h = di->hops;
		put_cmsg(msg, used, IPPROTO_IPV6, IPV6_HOPLIMIT, &h, sizeof(h));
	}
	if (!v4 && (ctl & NST_RCTL_TCLASS6)) {
		int tc = di->tclass;
		put_cmsg(msg, used, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc));
	}
	if (!v4 && (ctl & NST_RCTL_2292HOPLIMIT)) {
		int h = di->hops;
		put_cmsg(msg, used, IPPROTO_IPV6, IPV6_2292HOPLIMIT, &h, sizeof(h));
	}
}

/* recvmsg(MSG_ERRQUEUE): the oldest queued error, as Linux's ip_recv_error
 * (AF_INET) and ipv6_recv_error (AF_INET6): the quoted bytes as data, the
 * offending datagram's destination as msg_name, the timestamp and the ICMP
 * message's IP control messages, then IP_RECVERR / IPV6_RECVERR with the
 * struct sock_extended_err and the offender's address. Never blocks
 * (EAGAIN when the queue is empty). */
static ssize_t dgram_err_recv(struct nsock *s, struct msghdr *msg)
{
	size_t total;
	char small[DGRAM_STACK_BUF], *buf;
	int direct = msg->msg_iovlen == 1;
	int r = dgram_recv_buf(msg, small, &buf, &total);
	if (r < 0)
		return r;
	struct nst_sock_err e;
	int oflags = 0;
	ssize_t n = nst_recv_err(eng.st, s->sd, buf, total, &e, &oflags, eng_now_us());
	unsigned ctl = n >= 0 ? nst_recv_ctl(eng.st, s->sd) : 0;
	eng_after();
	if (n >= 0) {
		if (!direct)
			dgram_scatter(msg, buf, (size_t)n);
		dgram_name_fill(s, msg, &e.dst, e.port);
		msg->msg_flags = MSG_ERRQUEUE | (oflags & NST_MSG_TRUNC ? MSG_TRUNC : 0);
		size_t used = 0;
		if (msg->msg_control && msg->msg_controllen) {
			struct nst_dgram_info di = { .dst = e.dst, .hops = e.hops, .tclass = e.tclass,
						     .rx_us = e.rx_us };
			if (e.origin == NST_EE_ORIGIN_LOCAL)    /* no packet: the timestamp only */
				ctl &= NST_RCTL_TIMESTAMP | NST_RCTL_TIMESTAMPNS;
			dgram_recv_ctl(s, msg, &used, ctl & ~(NST_RCTL_PKTINFO | NST_RCTL_PKTINFO6), &di);
			struct {
				struct sock_extended_err ee;
				union {
					struct sockaddr_in in;
					struct sockaddr_in6 in6;
				} off;
			} eh;
			memset(&eh, 0, sizeof(eh));
			eh.ee.ee_errno = (uint32_t)e.errnum;
			eh.ee.ee_origin = e.origin;
			eh.ee.ee_type = e.type;
			eh.ee.ee_code = e.code;
			eh.ee.ee_info = e.info;
			size_t olen = s->family == AF_INET6 ? sizeof(eh.off.in6) : sizeof(eh.off.in);
			if (e.origin != NST_EE_ORIGIN_LOCAL) {
				socklen_t sl = (socklen_t)olen;
				nsa_fill(s, (struct sockaddr *)&eh.off, &sl, &e.offender, 0);
			}
			put_cmsg(msg, &used, s->family == AF_INET6 ? SOL_IPV6 : SOL_IP,
				 s->family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR, &eh,
				 sizeof(eh.ee) + olen);
		}
		msg->msg_controllen = used;
	}
	if (!direct && buf != small)
		free(buf);
	nsock_edge_sync(s);
	return n;
}

ssize_t dgram_msg_recv(int fd, struct nsock *s, struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	if (flags & MSG_OOB)
		return -EINVAL;
	if (flags & MSG_ERRQUEUE)
		return dgram_err_recv(s, msg);
	size_t total;
	char small[DGRAM_STACK_BUF], *buf;
	int direct = msg->msg_iovlen == 1;
	int r = dgram_recv_buf(msg, small, &buf, &total);
	if (r < 0)
		return r;
	int sflags = flags & (MSG_PEEK | MSG_TRUNC);
	int nonblock = s->nonblock || (flags & MSG_DONTWAIT);
	int64_t dl = -2;
	struct nst_addr ip = { 0 };
	uint16_t port = 0;
	int oflags = 0;
	struct nst_dgram_info di;
	ssize_t n;
	for (;;) {
		n = nst_recvmsg_addr(eng.st, s->sd, buf, total, sflags, &ip, &port, &oflags, &di,
				     eng_now_us());
		eng_after();
		if (n != -EAGAIN || nonblock)
			break;
		int w = nsock_wait_timeo(fd, s, POLLIN, s->rcvtimeo_us, &dl);
		if (w == -EINTR && dl < 0 && eng_restart_ok())
			continue;
		if (w < 0) {
			n = w;
			break;
		}
	}
	if (n >= 0) {
		if (!direct)
			dgram_scatter(msg, buf, (size_t)n < total ? (size_t)n : total);
		dgram_name_fill(s, msg, &ip, port);
		msg->msg_flags = oflags & NST_MSG_TRUNC ? MSG_TRUNC : 0;
		size_t used = 0;
		if (msg->msg_control && msg->msg_controllen)
			dgram_recv_ctl(s, msg, &used, nst_recv_ctl(eng.st, s->sd), &di);
		msg->msg_controllen = used;
	}
	if (!direct && buf != small)
		free(buf);
	nsock_edge_sync(s);
	return n;
}

ssize_t dgram_send(int fd, struct nsock *s, const void *buf, size_t len, int flags)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int handoff;
	if (!buf && len)
		return -EFAULT;
	return dgram_msg_send(fd, s, &msg, flags, &handoff);     /* no address: no hand-off */
}

ssize_t dgram_recv(int fd, struct nsock *s, void *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (!buf && len)
		return -EFAULT;
	return dgram_msg_recv(fd, s, &msg, flags);
}

/* connect(AF_UNSPEC): Linux udp_disconnect. */
int dgram_disconnect(struct nsock *s)
{
	return nst_disconnect(eng.st, s->sd);
}

/* sendmmsg's message on a stream socket: the bytes of each vector in turn. */
ssize_t stream_msg_send(int fd, struct nsock *s, const struct msghdr *m, int flags, int *handoff)
{
	size_t total;
	*handoff = 0;
	ssize_t n = dgram_iov_total(m->msg_iov, m->msg_iovlen, &total);
	if (n == 0) {
		size_t done = 0;
		for (size_t k = 0; k < m->msg_iovlen && n >= 0; k++) {
			n = sock_send(fd, s, m->msg_iov[k].iov_base, m->msg_iov[k].iov_len, flags);
			if (n > 0)
				done += (size_t)n;
		}
		if (n >= 0)
			n = (ssize_t)done;
	}
	return n;
}

/* recvmmsg's message on a stream socket: its first vector, no address. */
ssize_t stream_msg_recv(int fd, struct nsock *s, struct msghdr *m, int flags)
{
	ssize_t n = m->msg_iovlen ? sock_recv(fd, s, m->msg_iov[0].iov_base, m->msg_iov[0].iov_len, flags) : 0;
	if (n >= 0) {
		m->msg_namelen = 0;
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	return n;
}

/* ---- interposed: sendto, recvfrom on datagram sockets are reached from
 * io.c; sendmmsg and recvmmsg live here. ---- */

NST_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(sendmmsg)(fd, vec, vlen, flags);
	if (vlen > IOV_MAX)
		vlen = IOV_MAX;
	unsigned i;
	ssize_t n = 0;
	for (i = 0; i < vlen; i++) {
		int handoff;
		n = s->ops->msg_send(fd, s, &vec[i].msg_hdr, flags, &handoff);
		if (handoff) {
			/* the lock is gone and fd is a kernel socket now */
			int k = REAL(sendmmsg)(fd, vec + i, vlen - i, flags);
			if (k < 0)
				return i ? (int)i : k;
			return (int)(i + (unsigned)k);
		}
		if (n < 0)
			break;
		vec[i].msg_len = (unsigned)n;
	}
	eng_unlock();
	/* Linux: the count of messages sent if any, else the error */
	if (i > 0)
		return (int)i;
	return (int)set_errno(n);
}

NST_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags, struct timespec *timeout)
{
	struct nsock *s;
	int r = sock_enter(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(recvmmsg)(fd, vec, vlen, flags, timeout);
	if (vlen > IOV_MAX)
		vlen = IOV_MAX;
	/* not implemented: the timeout argument (Linux checks it only between
	 * datagrams, after each arrival; we return once the queue is empty) */
	(void)timeout;
	unsigned i;
	ssize_t n = 0;
	int f = flags & ~MSG_WAITFORONE;
	for (i = 0; i < vlen; i++) {
		n = s->ops->msg_recv(fd, s, &vec[i].msg_hdr, f);
		if (n < 0)
			break;
		vec[i].msg_len = (unsigned)n;
		/* after the first datagram take only what is already queued
		 * (Linux with MSG_WAITFORONE; without it Linux would wait for
		 * vlen datagrams, a difference in timing only for blocking calls) */
		f |= MSG_DONTWAIT;
	}
	sock_leave(s, 0);
	if (i > 0)
		return (int)i;
	return (int)set_errno(n);
}

/* ---- the interposed calls of udp_ops: reached through fd_ops(), which
 * found a UDP socket without the lock (a stream socket pays no second
 * lookup). Arguments are checked first, as udp_sendmsg/udp_recvmsg do. If
 * under the lock fd turns out no UDP socket any more (closed and reused by
 * another thread meanwhile), the call takes tcp_ops' path, which looks again. */

/* fd_lock for a socket fd_ops() found UDP: 1 with the lock held, 0 when fd
 * is no UDP socket any more (nothing held), -1 with *out set (a dead socket). */
static int dgram_lock(int fd, struct nsock **sp, ssize_t *out)
{
	int r = fd_lock(fd, sp);
	if (r < 0) {
		*out = set_errno(r);
		return -1;
	}
	if (r > 0 && (*sp)->ops == &tcp_ops) {
		eng_unlock();
		return 0;
	}
	return r;
}

/* 1 and *out set when fd is still a UDP socket; 0 otherwise. */
static int dgram_msg_out(int fd, const struct msghdr *msg, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = dgram_lock(fd, &s, out);
	if (r <= 0)
		return r < 0;
	int handoff;
	ssize_t n = dgram_msg_send(fd, s, msg, flags, &handoff);
	if (handoff) {
		*out = REAL(sendmsg)(fd, msg, flags);
		return 1;
	}
	eng_unlock();
	*out = set_errno(n);
	return 1;
}

static int dgram_msg_in(int fd, struct msghdr *msg, int flags, ssize_t *out)
{
	struct nsock *s;
	int r = dgram_lock(fd, &s, out);
	if (r <= 0)
		return r < 0;
	nsock_hold(s);
	*out = set_errno(sock_leave(s, dgram_msg_recv(fd, s, msg, flags)));
	return 1;
}

int dgram_sendmsg(int fd, const struct msghdr *msg, int flags, ssize_t *out)
{
	return dgram_msg_out(fd, msg, flags, out) || tcp_ops.sendmsg(fd, msg, flags, out);
}

int dgram_recvmsg(int fd, struct msghdr *msg, int flags, ssize_t *out)
{
	return dgram_msg_in(fd, msg, flags, out) || tcp_ops.recvmsg(fd, msg, flags, out);
}

int dgram_sendto(int fd, const void *buf, size_t len, int flags,
		 const struct sockaddr *to, socklen_t tolen, ssize_t *out)
{
	if (!buf && len) {
		*out = set_errno(-EFAULT);
		return 1;
	}
	if (to && (int)tolen < 0) {
		*out = set_errno(-EINVAL);
		return 1;
	}
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0, .msg_iov = &iov, .msg_iovlen = 1 };
	return dgram_msg_out(fd, &m, flags, out) || tcp_ops.sendto(fd, buf, len, flags, to, tolen, out);
}

int dgram_recvfrom(int fd, void *buf, size_t len, int flags,
		   struct sockaddr *from, socklen_t *fromlen, ssize_t *out)
{
	if (!buf && len) {
		*out = set_errno(-EFAULT);
		return 1;
	}
	if (from && fromlen && (int)*fromlen < 0) {
		*out = set_errno(-EINVAL);
		return 1;
	}
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = from && fromlen ? from : NULL,
			    .msg_namelen = from && fromlen ? *fromlen : 0, .msg_iov = &iov, .msg_iovlen = 1 };
	if (!dgram_msg_in(fd, &m, flags, out))
		return tcp_ops.recvfrom(fd, buf, len, flags, from, fromlen, out);
	if (*out >= 0 && from && fromlen)
		*fromlen = m.msg_namelen;
	return 1;
}

/* readv/writev: one datagram from (into) the vectors, no flags. */
static int dgram_vec_check(const struct iovec *iov, int cnt, struct msghdr *m, ssize_t *out)
{
	if (cnt < 0) {
		*out = set_errno(-EINVAL);
		return 0;
	}
	*m = (struct msghdr){ .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };
	return 1;
}

int dgram_readv(int fd, const struct iovec *iov, int cnt, ssize_t *out)
{
	struct msghdr m;
	if (!dgram_vec_check(iov, cnt, &m, out))
		return 1;
	return dgram_msg_in(fd, &m, 0, out) || tcp_ops.readv(fd, iov, cnt, out);
}

int dgram_writev(int fd, const struct iovec *iov, int cnt, ssize_t *out)
{
	struct msghdr m;
	if (!dgram_vec_check(iov, cnt, &m, out))
		return 1;
	return dgram_msg_out(fd, &m, 0, out) || tcp_ops.writev(fd, iov, cnt, out);
}
