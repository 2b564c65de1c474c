/* The one TCP/UDP decision of preload/: socket() picks tcp_ops or udp_ops
 * (accept() gives the listener's), and every call that behaves differently
 * for the two asks the socket's table (nsock.ops) — the role of Linux's
 * struct proto (tcp_prot, udp_prot) behind inet_create. */
#include <netinet/in.h>
#include "preload.h"
#include "dgram.h"

/* tcp_v4_connect: any destination the stack routes. */
static int tcp_connect_serves(uint32_t ip)
{
	return stack_routes(eng.st, ip);
}

/* An address on the stack's own network that the stack does not own is
 * nobody's here: a TCP bind to it stays on nstack and nst_bind answers
 * EADDRNOTAVAIL, as the kernel of a host with the stack's address would
 * (not the kernel beside us, which may own it, e.g. the TAP's other end). */
static int tcp_bind_serves(uint32_t ip)
{
	return stack_owns(eng.st, ip) || stack_routes(eng.st, ip);
}

static int udp_bind_serves(uint32_t ip)
{
	return stack_owns(eng.st, ip);
}

const struct sock_ops tcp_ops = {
	.type           = SOCK_STREAM,
	.protocol       = IPPROTO_TCP,
	.nst_type       = NST_SOCK_STREAM,
	.created        = tcp_sysctls_refresh,
	.connect_serves = tcp_connect_serves,
	.bind_serves    = tcp_bind_serves,
	.tcp_info       = nst_tcp_info,
	.rcvlowat       = tcp_rcvlowat,
	.close_wait     = tcp_close_linger,
	.send           = stream_send,
	.recv           = stream_recv,
	.msg_send      = stream_msg_send,
	.msg_recv      = stream_msg_recv,
	.sendto         = stream_sendto,
	.recvfrom       = stream_recvfrom,
	.readv          = stream_readv,
	.writev         = stream_writev,
	.sendmsg        = stream_sendmsg,
	.recvmsg        = stream_recvmsg,
};

/* ICMP sockets (stack/icmp_sock.c): echo ("ping") sockets and raw ICMP
 * sockets, datagram sockets for everything else. */
#define DGRAM_CALLS \
	.connect_serves = dgram_serves, \
	.bind_serves    = udp_bind_serves, \
	.disconnect     = dgram_disconnect, \
	.send           = dgram_send, \
	.recv           = dgram_recv, \
	.msg_send       = dgram_msg_send, \
	.msg_recv       = dgram_msg_recv, \
	.sendto         = dgram_sendto, \
	.recvfrom       = dgram_recvfrom, \
	.readv          = dgram_readv, \
	.writev         = dgram_writev, \
	.sendmsg        = dgram_sendmsg, \
	.recvmsg        = dgram_recvmsg

const struct sock_ops ping_ops = {
	.type           = SOCK_DGRAM,
	.protocol       = IPPROTO_ICMP,         /* IPPROTO_ICMPV6 on AF_INET6: nsock.protocol */
	.nst_type       = NST_SOCK_PING,
	DGRAM_CALLS,
};

const struct sock_ops raw_ops = {
	.type           = SOCK_RAW,
	.protocol       = IPPROTO_ICMP,
	.nst_type       = NST_SOCK_RAW_ICMP,
	DGRAM_CALLS,
};

const struct sock_ops udp_ops = {
	.type           = SOCK_DGRAM,
	.protocol       = IPPROTO_UDP,
	.nst_type       = NST_SOCK_DGRAM,
	.connect_serves = dgram_serves,
	.bind_serves    = udp_bind_serves,
	.disconnect     = dgram_disconnect,
	.send           = dgram_send,
	.recv           = dgram_recv,
	.msg_send      = dgram_msg_send,
	.msg_recv      = dgram_msg_recv,
	.sendto         = dgram_sendto,
	.recvfrom       = dgram_recvfrom,
	.readv          = dgram_readv,
	.writev         = dgram_writev,
	.sendmsg        = dgram_sendmsg,
	.recvmsg        = dgram_recvmsg,
};
