/* The public face of stack/: one stack instance bound to one netdev, driven by
 * its caller with explicit time, plus the native socket API that preload/ calls.
 *
 * Pure: no syscalls, no clock reads. Time comes in as `now_us` at every entry
 * point (microseconds, any monotonic origin); randomness comes from cfg.rand64.
 * Addresses and ports cross this API in host byte order.
 * Every call returns 0 or a count on success, -errno on failure.
 */
#ifndef NSTACK_STACK_H
#define NSTACK_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "netdev.h"

/* Counters: one named counter per event and per drop reason.
 * X(name, "description") — the list is the single source for printing. */
#define STACK_STATS(X) \
	X(eth_rx, "frames received") \
	X(eth_tx, "frames sent") \
	X(eth_drop_short, "frames shorter than an Ethernet header") \
	X(eth_drop_proto, "frames with an ethertype we do not handle") \
	X(eth_drop_dst, "frames not addressed to us") \
	X(arp_rx, "ARP packets received") \
	X(arp_drop_bad, "malformed ARP packets") \
	X(arp_req_tx, "ARP requests sent") \
	X(arp_reply_tx, "ARP replies sent") \
	X(arp_queued, "packets queued waiting for ARP") \
	X(arp_drop_queue, "packets dropped: ARP pending queue full") \
	X(arp_drop_unresolved, "packets dropped: ARP resolution failed") \
	X(ip_rx, "IPv4 packets received") \
	X(ip_tx, "IPv4 packets sent") \
	X(ip_drop_short, "IPv4 packets too short") \
	X(ip_drop_version, "IPv4 packets with a bad version") \
	X(ip_drop_hdrlen, "IPv4 packets with a bad header length") \
	X(ip_drop_len, "IPv4 packets with a bad total length") \
	X(ip_drop_csum, "IPv4 header checksum errors") \
	X(ip_drop_ttl, "IPv4 packets with TTL 0") \
	X(ip_drop_frag, "IPv4 fragments dropped (no reassembly yet)") \
	X(ip_drop_dst, "IPv4 packets not for us") \
	X(ip_drop_src, "IPv4 packets with a martian source") \
	X(ip_drop_proto, "IPv4 packets for an unhandled protocol") \
	X(ip_drop_noroute, "IPv4 packets with no route") \
	X(icmp_rx, "ICMP messages received") \
	X(icmp_drop_csum, "ICMP checksum errors") \
	X(icmp_drop_bad, "malformed ICMP messages") \
	X(icmp_echo_tx, "ICMP echo replies sent") \
	X(tcp_rx, "TCP segments received") \
	X(tcp_tx, "TCP segments sent") \
	X(tcp_drop_short, "TCP segments too short") \
	X(tcp_drop_hdr, "TCP segments with a bad header") \
	X(tcp_drop_csum, "TCP checksum errors") \
	X(tcp_drop_noport, "TCP segments to a closed port") \
	X(tcp_drop_unacceptable, "TCP segments failing the acceptance test") \
	X(tcp_drop_ack, "TCP segments with an unacceptable ACK") \
	X(tcp_drop_ooo_full, "TCP out-of-order segments dropped (no room)") \
	X(tcp_drop_listen, "TCP segments dropped by a listener") \
	X(tcp_rst_tx, "TCP resets sent") \
	X(tcp_rst_rx, "TCP resets accepted") \
	X(tcp_rst_ignored, "TCP resets ignored (out of window)") \
	X(tcp_retrans, "TCP segments retransmitted") \
	X(tcp_rto, "TCP retransmission timeouts") \
	X(tcp_syn_retrans, "TCP SYN retransmissions") \
	X(tcp_zwp_tx, "TCP zero-window probes sent") \
	X(tcp_ooo_rx, "TCP out-of-order segments queued") \
	X(tcp_dupack_rx, "TCP duplicate ACKs received") \
	X(tcp_fast_retrans, "TCP fast retransmissions") \
	X(tcp_timeout, "TCP connections given up (timeout)") \
	X(tcp_active_open, "TCP active opens") \
	X(tcp_passive_open, "TCP passive opens") \
	X(tcp_estab_reset, "TCP connections reset") \
	X(tx_nobufs, "packets not built: pool exhausted")

struct stack_stats {
#define STACK_STAT_FIELD(name, desc) uint64_t name;
	STACK_STATS(STACK_STAT_FIELD)
#undef STACK_STAT_FIELD
};

struct stack_config {
	uint32_t addr;          /* own IPv4 address */
	uint8_t  prefix_len;    /* on-link prefix length, 0..32 */
	uint32_t gw;            /* default gateway, 0 for none */
	int      loopback;      /* NSTACK_IF=lo: serve all of 127.0.0.0/8 on a loop device, no ARP */
	unsigned max_sockets;   /* 0: default (1024) */
	uint64_t (*rand64)(void *ctx);   /* randomness source (ISS key, ports, IP ID) */
	void    *rand_ctx;
};

struct stack;

struct stack *stack_create(const struct stack_config *cfg, struct netdev *dev, uint64_t now_us);
void          stack_destroy(struct stack *st);   /* closes nothing on the wire; frees memory */

/* Receive a batch from the device, run expired timers, flush the device.
 * Returns the number of frames processed. */
int           stack_poll(struct stack *st, uint64_t now_us);
/* Absolute time of the earliest armed timer, 0 if none. */
uint64_t      stack_next_deadline(const struct stack *st);
/* 1 if a packet to dst is served by this stack (on-link, via gw, or 127/8 on loopback). */
int           stack_routes(const struct stack *st, uint32_t dst);
/* 1 if addr is one of the stack's own addresses (INADDR_ANY excluded). */
int           stack_owns(const struct stack *st, uint32_t addr);
const struct stack_stats *stack_stats(const struct stack *st);
struct netdev *stack_netdev(const struct stack *st);

/* Readiness notification: called (under the caller's lock, from inside any
 * stack entry point) whenever socket sd's events may have changed. */
void stack_set_notify(struct stack *st, void (*fn)(void *ctx, int sd), void *ctx);

/* ---- native socket API ---------------------------------------------------
 * sd is a small integer naming a socket in this stack. Errors are kernel
 * errnos, negated. None of these block: where the kernel would block, they
 * return -EAGAIN (or -EINPROGRESS for connect) and the caller waits for the
 * readiness event, then calls again. */

#define NST_SOCK_STREAM 1
#define NST_SOCK_DGRAM  2

/* event bits returned by nst_poll: same values as <poll.h> */
#define NST_POLLIN    0x001
#define NST_POLLPRI   0x002
#define NST_POLLOUT   0x004
#define NST_POLLERR   0x008
#define NST_POLLHUP   0x010
#define NST_POLLRDHUP 0x2000

/* flags for nst_send/nst_recv: same values as Linux MSG_* */
#define NST_MSG_PEEK     0x02
#define NST_MSG_DONTWAIT 0x40
#define NST_MSG_WAITALL  0x100
#define NST_MSG_NOSIGNAL 0x4000

/* shutdown how */
#define NST_SHUT_RD   0
#define NST_SHUT_WR   1
#define NST_SHUT_RDWR 2

int     nst_socket(struct stack *st, int type);              /* sd, -EMFILE, -ENOMEM, -EPROTONOSUPPORT */
int     nst_bind(struct stack *st, int sd, uint32_t addr, uint16_t port);
int     nst_listen(struct stack *st, int sd, int backlog, uint64_t now_us);
int     nst_accept(struct stack *st, int sd, uint32_t *addr, uint16_t *port, uint64_t now_us); /* new sd or -EAGAIN */
/* First call starts the handshake and returns -EINPROGRESS; later calls return
 * -EALREADY while in progress, 0 once established (then -EISCONN), or the error. */
int     nst_connect(struct stack *st, int sd, uint32_t addr, uint16_t port, uint64_t now_us);
ssize_t nst_send(struct stack *st, int sd, const void *buf, size_t len, int flags, uint64_t now_us);
ssize_t nst_recv(struct stack *st, int sd, void *buf, size_t len, int flags, uint64_t now_us);
int     nst_shutdown(struct stack *st, int sd, int how, uint64_t now_us);
/* Releases sd. The connection lives on (FIN handshake, TIME-WAIT) as an orphan. */
int     nst_close(struct stack *st, int sd, uint64_t now_us);
/* Graceful or abortive end of every connection (process exit). */
void    nst_close_all(struct stack *st, uint64_t now_us);
int     nst_getsockname(struct stack *st, int sd, uint32_t *addr, uint16_t *port);
int     nst_getpeername(struct stack *st, int sd, uint32_t *addr, uint16_t *port);
uint32_t nst_poll(struct stack *st, int sd);                 /* NST_POLL* bits ready now */
int     nst_sock_error(struct stack *st, int sd);            /* SO_ERROR: pending error (positive errno), cleared */
int     nst_sock_type(struct stack *st, int sd);             /* NST_SOCK_* or -EBADF */
/* Socket options, Linux level/name numbers (SOL_SOCKET, IPPROTO_TCP). */
int     nst_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len, uint64_t now_us);
int     nst_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len);
size_t  nst_rx_avail(struct stack *st, int sd);              /* bytes readable now (FIONREAD) */

#endif
