/* The native socket API of stack/ (nst_*): each call finds the socket's
 * type once and hands the call to that protocol, as Linux's socket layer
 * calls sock->ops (inet_stream_ops for TCP, inet_dgram_ops for UDP).
 * TCP's calls are tcp_usr.c (stream sockets, sds below NST_UDP_SD_BASE),
 * UDP's udp.c (sds from NST_UDP_SD_BASE on).
 *
 * An entry point that takes now_us keeps it in st->now_us for the call. */
#include <errno.h>
#include "stack_impl.h"

/* What one socket type does with each call. */
struct sock_ops {
	int      type;          /* NST_SOCK_* */
	int      (*valid)(struct stack *st, int sd);
	int      (*bind)(struct stack *st, int sd, uint32_t addr, uint16_t port);
	int      (*listen)(struct stack *st, int sd, int backlog);
	int      (*accept)(struct stack *st, int sd, uint32_t *addr, uint16_t *port);
	int      (*connect)(struct stack *st, int sd, uint32_t addr, uint16_t port);
	int      (*disconnect)(struct stack *st, int sd);
	ssize_t  (*sendto)(struct stack *st, int sd, const void *buf, size_t len, int flags,
			   int to_set, uint32_t addr, uint16_t port);
	ssize_t  (*recvfrom)(struct stack *st, int sd, void *buf, size_t len, int flags,
			     uint32_t *addr, uint16_t *port, int *out_flags);
	int      (*shutdown)(struct stack *st, int sd, int how);
	int      (*close)(struct stack *st, int sd);
	int      (*getsockname)(struct stack *st, int sd, uint32_t *addr, uint16_t *port);
	int      (*getpeername)(struct stack *st, int sd, uint32_t *addr, uint16_t *port);
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

int nst_socket(struct stack *st, int type)
{
	switch (type) {
	case NST_SOCK_STREAM:
		return tcp_usr_socket(st);
	case NST_SOCK_DGRAM:
		return udp_socket(st);
	default:
		return -EPROTONOSUPPORT;
	}
}

int nst_sock_type(struct stack *st, int sd)
{
	const struct sock_ops *ops = sock_ops(sd);
	return ops->valid(st, sd) ? ops->type : -EBADF;
}

int nst_bind(struct stack *st, int sd, uint32_t addr, uint16_t port)
{
	return sock_ops(sd)->bind(st, sd, addr, port);
}

int nst_listen(struct stack *st, int sd, int backlog, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->listen(st, sd, backlog);
}

int nst_accept(struct stack *st, int sd, uint32_t *addr, uint16_t *port, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->accept(st, sd, addr, port);
}

int nst_connect(struct stack *st, int sd, uint32_t addr, uint16_t port, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->connect(st, sd, addr, port);
}

int nst_disconnect(struct stack *st, int sd)
{
	return sock_ops(sd)->disconnect(st, sd);
}

ssize_t nst_send(struct stack *st, int sd, const void *buf, size_t len, int flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->sendto(st, sd, buf, len, flags, 0, 0, 0);
}

ssize_t nst_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		   int to_set, uint32_t addr, uint16_t port, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->sendto(st, sd, buf, len, flags, to_set, addr, port);
}

ssize_t nst_recv(struct stack *st, int sd, void *buf, size_t len, int flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->recvfrom(st, sd, buf, len, flags, NULL, NULL, NULL);
}

ssize_t nst_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		     uint32_t *addr, uint16_t *port, int *out_flags, uint64_t now_us)
{
	st->now_us = now_us;
	return sock_ops(sd)->recvfrom(st, sd, buf, len, flags, addr, port, out_flags);
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

int nst_getsockname(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	return sock_ops(sd)->getsockname(st, sd, addr, port);
}

int nst_getpeername(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	return sock_ops(sd)->getpeername(st, sd, addr, port);
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
