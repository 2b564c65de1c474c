/* The native socket API of stack/ (nst_*): each call finds the socket's
 * type once and hands the call to that protocol, as Linux's socket layer
 * calls sock->ops (inet_stream_ops for TCP, inet_dgram_ops for UDP).
 * TCP's calls are tcp_usr.c (stream sockets, sds below NST_UDP_SD_BASE),
 * UDP's udp.c (sds from NST_UDP_SD_BASE on).
 *
 * An entry point that takes now_us keeps it in st->now_us for the call. */
#include <errno.h>
#include "stack_impl.h"
#include "ip6.h"

/* What one socket type does with each call. */
struct sock_ops {
	int      type;          /* NST_SOCK_* */
	int      (*valid)(struct stack *st, int sd);
	int      (*family)(struct stack *st, int sd);
	int      (*bind)(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
	int      (*listen)(struct stack *st, int sd, int backlog);
	int      (*accept)(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
	int      (*connect)(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
	int      (*disconnect)(struct stack *st, int sd);
	ssize_t  (*sendto)(struct stack *st, int sd, const void *buf, size_t len, int flags,
			   int to_set, const struct nst_addr *addr, uint16_t port);
	ssize_t  (*recvfrom)(struct stack *st, int sd, void *buf, size_t len, int flags,
			     struct nst_addr *addr, uint16_t *port, int *out_flags);
	int      (*shutdown)(struct stack *st, int sd, int how);
	int      (*close)(struct stack *st, int sd);
	int      (*getsockname)(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
	int      (*getpeername)(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
	uint32_t (*poll)(struct stack *st, int sd);
	int      (*sock_error)(struct stack *st, int sd);
	size_t   (*rx_avail)(struct stack *st, int sd);
	int      (*setsockopt)(struct stack *st, int sd, int level, int name, const void *val,
			       unsigned len);
	int      (*getsockopt)(struct stack *st, int sd, int level, int name, void *val,
			       unsigned *len);
};

static const struct sock_ops tcp_ops = {
	.type        = NST_SOCK_STREAM,
	.valid       = tcp_usr_valid,
	.family      = tcp_usr_family,
	.bind        = tcp_usr_bind,
	.listen      = tcp_usr_listen,
	.accept      = tcp_usr_accept,
	.connect     = tcp_usr_connect,
	.disconnect  = tcp_usr_disconnect,
	.sendto      = tcp_usr_send,
	.recvfrom    = tcp_usr_recv,
	.shutdown    = tcp_usr_shutdown,
	.close       = tcp_usr_close,
	.getsockname = tcp_usr_getsockname,
	.getpeername = tcp_usr_getpeername,
	.poll        = tcp_usr_poll,
	.sock_error  = tcp_usr_error,
	.rx_avail    = tcp_usr_rx_avail,
	.setsockopt  = tcp_setsockopt,
	.getsockopt  = tcp_getsockopt,
};

static const struct sock_ops udp_ops = {
	.type        = NST_SOCK_DGRAM,
	.valid       = udp_sock_valid,
	.family      = udp_family,
	.bind        = udp_bind,
	.listen      = udp_listen,
	.accept      = udp_accept,
	.connect     = udp_connect,
	.disconnect  = udp_disconnect,
	.sendto      = udp_sendto,
	.recvfrom    = udp_recvfrom,
	.shutdown    = udp_shutdown,
	.close       = udp_close,
	.getsockname = udp_getsockname,
	.getpeername = udp_getpeername,
	.poll        = udp_poll,
	.sock_error  = udp_sock_error,
	.rx_avail    = udp_rx_avail,
	.setsockopt  = udp_setsockopt,
	.getsockopt  = udp_getsockopt,
};

/* The calls of sd's type: its range says which. */
static const struct sock_ops *sock_ops(int sd)
{
	return udp_sd(sd) ? &udp_ops : &tcp_ops;
}

/* The IPv4 forms: an IPv6 address reads as 0.0.0.0. */
static int name_v4(int r, const struct nst_addr *a, uint32_t *addr)
{
	if (r >= 0 && addr)
		*addr = nst_addr_is_v4(a) ? nst_addr_v4(a) : 0;
	return r;
}

/* ---- addresses of either family ---------------------------------------- */

int stack_routes_addr(const struct stack *st, const struct nst_addr *dst)
{
	return nst_addr_is_v4(dst) ? stack_routes(st, nst_addr_v4(dst)) : stack_routes6(st, dst);
}

/* Do two local addresses (of sockets with IPV6_V6ONLY a_v6only, b_v6only)
 * overlap? When equal, or either is a wildcard covering the other: ::
 * covers every IPv6 address and, without IPV6_V6ONLY, every IPv4 one;
 * 0.0.0.0 covers IPv4 and a dual-stack :: (Linux inet_bind_conflict with
 * ipv6_rcv_saddr_equal). */
static int addr_covers(const struct nst_addr *w, int w_v6only, const struct nst_addr *a, int a_v6only)
{
	if (nst_addr_is_unspec(w))
		return !nst_addr_is_v4(a) || !w_v6only;
	if (nst_addr_is_v4(w) && nst_addr_v4(w) == 0)
		return nst_addr_is_v4(a) || (nst_addr_is_unspec(a) && !a_v6only);
	return 0;
}

int sock_addr_overlap(const struct nst_addr *a, int a_v6only, const struct nst_addr *b, int b_v6only)
{
	return nst_addr_eq(a, b) || addr_covers(a, a_v6only, b, b_v6only) ||
	       addr_covers(b, b_v6only, a, a_v6only);
}

int stack_owns_addr(const struct stack *st, const struct nst_addr *a)
{
	if (nst_addr_is_v4(a))
		return nst_addr_v4(a) != 0 && stack_owns(st, nst_addr_v4(a));
	return stack_owns6(st, a);
}

/* The local address bind() gives a socket of family af: its wildcard
 * (0.0.0.0 for AF_INET, :: for AF_INET6, ::ffff:0.0.0.0 too) or one of ours.
 * Linux inet_bind / inet6_bind: an AF_INET socket takes IPv4 only
 * (EAFNOSUPPORT), a v4-mapped address on an IPV6_V6ONLY socket is EINVAL,
 * an address not ours EADDRNOTAVAIL. */
int sock_bind_check(const struct stack *st, int af, int v6only, const struct nst_addr *a)
{
	if (nst_addr_is_v4(a)) {
		if (af == NST_AF_INET6 && v6only)
			return -EINVAL;
		uint32_t v4 = nst_addr_v4(a);
		return v4 == 0 || stack_owns(st, v4) ? 0 : -EADDRNOTAVAIL;
	}
	if (af != NST_AF_INET6)
		return -EAFNOSUPPORT;
	return nst_addr_is_unspec(a) || stack_owns6(st, a) ? 0 : -EADDRNOTAVAIL;
}

/* May a socket of family af (IPV6_V6ONLY v6only) bound to laddr send to
 * dst? Linux: an AF_INET socket cannot reach IPv6 (EAFNOSUPPORT); an
 * IPV6_V6ONLY one cannot reach IPv4 (tcp_v6_connect: ENETUNREACH); a
 * socket bound to an address of one family cannot reach the other (EINVAL,
 * ip6_datagram_connect's "bound to v4-mapped" check). */
int sock_dst_check(int af, int v6only, const struct nst_addr *laddr, const struct nst_addr *dst)
{
	int v4 = nst_addr_is_v4(dst);
	if (!v4 && af != NST_AF_INET6)
		return -EAFNOSUPPORT;
	if (v4 && af == NST_AF_INET6 && v6only)
		return -ENETUNREACH;
	if (!nst_addr_is_unspec(laddr) && !nst_addr_is_any(laddr) && nst_addr_is_v4(laddr) != v4)
		return -EINVAL;
	if (nst_addr_is_v4(laddr) && nst_addr_v4(laddr) == 0 && !v4 && af == NST_AF_INET6)
		return -EINVAL;         /* bound to ::ffff:0.0.0.0: IPv4 only */
	return 0;
}

/* The source address towards dst: laddr if bound to one, else the
 * stack's choice for dst's family. -ENETUNREACH if it has none. */
int sock_src_for(const struct stack *st, const struct nst_addr *laddr, const struct nst_addr *dst,
		 struct nst_addr *src)
{
	if (!nst_addr_is_any(laddr)) {
		*src = *laddr;
		return 0;
	}
	if (nst_addr_is_v4(dst)) {
		*src = nst_addr_from_v4(ipv4_src_for(st, nst_addr_v4(dst)));
		return 0;
	}
	return ipv6_src_for(st, dst, src);
}

int nst_socket(struct stack *st, int type)
{
	switch (type) {
	case NST_SOCK_STREAM:
		return tcp_usr_socket(st, NST_AF_INET);
	case NST_SOCK_DGRAM:
		return udp_socket(st, NST_AF_INET, UDP_K_UDP);
	case NST_SOCK_PING:
		return udp_socket(st, NST_AF_INET, UDP_K_PING);
	case NST_SOCK_RAW_ICMP:
		return udp_socket(st, NST_AF_INET, UDP_K_RAW);
	default:
		return -EPROTONOSUPPORT;
	}
}

int nst_socket6(struct stack *st, int type)
{
	switch (type) {
	case NST_SOCK_STREAM:
		return tcp_usr_socket(st, NST_AF_INET6);
	case NST_SOCK_DGRAM:
		return udp_socket(st, NST_AF_INET6, UDP_K_UDP);
	case NST_SOCK_PING:
		return udp_socket(st, NST_AF_INET6, UDP_K_PING);
	case NST_SOCK_RAW_ICMP:
		return udp_socket(st, NST_AF_INET6, UDP_K_RAW);
	default:
		return -EPROTONOSUPPORT;
	}
}

int nst_sock_family(struct stack *st, int sd)
{
	const struct sock_ops *ops = sock_ops(sd);
	return ops->valid(st, sd) ? ops->family(st, sd) : -EBADF;
}
int nst_sock_kind(struct stack *st, int sd)
{
	if (!udp_sd(sd))
		return nst_sock_type(st, sd);
	switch (udp_kind(st, sd)) {
	case UDP_K_UDP:  return NST_SOCK_DGRAM;
	case UDP_K_PING: return NST_SOCK_PING;
	case UDP_K_RAW:  return NST_SOCK_RAW_ICMP;
	}
	return -EBADF;
}

int nst_sock_type(struct stack *st, int sd)
{
	const struct sock_ops *ops = sock_ops(sd);
	return ops->valid(st, sd) ? ops->type : -EBADF;
}

int nst_bind_addr(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port)
{
	return sock_ops(sd)->bind(st, sd, addr, port);
}

int nst_bind(struct stack *st, int sd, uint32_t addr, uint16_t port)
{
	struct nst_addr a = nst_addr_from_v4(addr);
	return nst_bind_addr(st, sd, &a, port);
}

int nst_listen(struct stack *st, int sd, int backlog, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->listen(st, sd, backlog);
}

int nst_accept_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->accept(st, sd, addr, port);
}

int nst_accept(struct stack *st, int sd, uint32_t *addr, uint16_t *port, uint64_t now_us)
{
	struct nst_addr a = { 0 };
	return name_v4(nst_accept_addr(st, sd, &a, port, now_us), &a, addr);
}

int nst_connect_addr(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port,
		     uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->connect(st, sd, addr, port);
}

int nst_connect(struct stack *st, int sd, uint32_t addr, uint16_t port, uint64_t now_us)
{
	struct nst_addr a = nst_addr_from_v4(addr);
	return nst_connect_addr(st, sd, &a, port, now_us);
}

int nst_disconnect(struct stack *st, int sd)
{
	return sock_ops(sd)->disconnect(st, sd);
}

ssize_t nst_send(struct stack *st, int sd, const void *buf, size_t len, int flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->sendto(st, sd, buf, len, flags, 0, NULL, 0);
}

ssize_t nst_sendto_addr(struct stack *st, int sd, const void *buf, size_t len, int flags,
			int to_set, const struct nst_addr *addr, uint16_t port, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->sendto(st, sd, buf, len, flags, to_set, addr, port);
}

ssize_t nst_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		   int to_set, uint32_t addr, uint16_t port, uint64_t now_us)
{
	struct nst_addr a = nst_addr_from_v4(addr);
	return nst_sendto_addr(st, sd, buf, len, flags, to_set, &a, port, now_us);
}

ssize_t nst_recv(struct stack *st, int sd, void *buf, size_t len, int flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->recvfrom(st, sd, buf, len, flags, NULL, NULL, NULL);
}

ssize_t nst_recvfrom_addr(struct stack *st, int sd, void *buf, size_t len, int flags,
			  struct nst_addr *addr, uint16_t *port, int *out_flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->recvfrom(st, sd, buf, len, flags, addr, port, out_flags);
}

ssize_t nst_recvmsg_addr(struct stack *st, int sd, void *buf, size_t len, int flags,
			 struct nst_addr *addr, uint16_t *port, int *out_flags,
			 struct nst_dgram_info *info, uint64_t now_us)
{
	st->now_us = now_us;
	if (udp_sd(sd))
		return udp_recvfrom_info(st, sd, buf, len, flags, addr, port, out_flags, info);
	return sock_ops(sd)->recvfrom(st, sd, buf, len, flags, addr, port, out_flags);
}

ssize_t nst_recv_err(struct stack *st, int sd, void *buf, size_t len, struct nst_sock_err *e,
		     int *out_flags, uint64_t now_us)
{
	st->now_us = now_us;
	if (udp_sd(sd))
		return udp_recv_err(st, sd, buf, len, e, out_flags);
	if (out_flags)
		*out_flags = 0;
	return -EAGAIN;         /* TCP queues nothing there (no timestamping, no zero-copy) */
}

unsigned nst_recv_ctl(struct stack *st, int sd)
{
	return udp_sd(sd) ? udp_recv_ctl(st, sd) : 0;
}

ssize_t nst_sendmsg_addr(struct stack *st, int sd, const void *buf, size_t len, int flags,
			 int to_set, const struct nst_addr *addr, uint16_t port,
			 const struct nst_send_info *si, uint64_t now_us)
{
	st->now_us = now_us;
	if (udp_sd(sd))
		return udp_sendto_info(st, sd, buf, len, flags, to_set, addr, port, si);
	return sock_ops(sd)->sendto(st, sd, buf, len, flags, to_set, addr, port);
}

ssize_t nst_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		     uint32_t *addr, uint16_t *port, int *out_flags, uint64_t now_us)
{
	struct nst_addr a = { 0 };
	ssize_t r = nst_recvfrom_addr(st, sd, buf, len, flags, addr ? &a : NULL, port, out_flags,
				      now_us);
	name_v4(r >= 0 ? 0 : -1, &a, addr);
	return r;
}

int nst_shutdown(struct stack *st, int sd, int how, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->shutdown(st, sd, how);
}

int nst_close(struct stack *st, int sd, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->close(st, sd);
}

void nst_close_all(struct stack *st, uint64_t now_us)
{
	st->now_us = now_us;
	udp_close_all(st);
	tcp_usr_close_all(st);
	stack_flush(st);
}

int nst_getsockname_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	return sock_ops(sd)->getsockname(st, sd, addr, port);
}

int nst_getpeername_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	return sock_ops(sd)->getpeername(st, sd, addr, port);
}

int nst_getsockname(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	struct nst_addr a = { 0 };
	return name_v4(nst_getsockname_addr(st, sd, &a, port), &a, addr);
}

int nst_getpeername(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	struct nst_addr a = { 0 };
	return name_v4(nst_getpeername_addr(st, sd, &a, port), &a, addr);
}

uint32_t nst_poll(struct stack *st, int sd)
{
	return sock_ops(sd)->poll(st, sd);
}

int nst_sock_error(struct stack *st, int sd)
{
	return sock_ops(sd)->sock_error(st, sd);
}

size_t nst_rx_avail(struct stack *st, int sd)
{
	return sock_ops(sd)->rx_avail(st, sd);
}

int nst_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len,
		   uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->setsockopt(st, sd, level, name, val, len);
}

int nst_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len)
{
	return sock_ops(sd)->getsockopt(st, sd, level, name, val, len);
}
