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

/* An address of either family, as the socket API and TCP/UDP keep it: an
 * IPv6 address, or an IPv4 address as the v4-mapped ::ffff:a.b.c.d
 * (RFC 4291 2.5.5.2), so one comparison serves both and a dual-stack
 * listener bound to :: sees IPv4 peers as Linux shows them. Bytes in
 * network order, as in struct in6_addr (unlike the uint32_t IPv4 addresses
 * of this API, which are in host order). */
struct nst_addr {
	union {
		uint8_t  b[16];
		uint32_t w[4];
		uint64_t q[2];
	};
};

static inline struct nst_addr nst_addr_from_v4(uint32_t a)     /* a in host order */
{
	struct nst_addr r = { .b = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
				     (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a } };
	return r;
}
/* 1 for a v4-mapped address (an IPv4 one), 0 for IPv6. */
static inline int nst_addr_is_v4(const struct nst_addr *a)
{
	return a->q[0] == 0 && a->b[8] == 0 && a->b[9] == 0 && a->b[10] == 0xff && a->b[11] == 0xff;
}
/* The IPv4 address of a v4-mapped one, host order. */
static inline uint32_t nst_addr_v4(const struct nst_addr *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}
static inline int nst_addr_eq(const struct nst_addr *a, const struct nst_addr *b)
{
	return a->q[0] == b->q[0] && a->q[1] == b->q[1];
}
/* The unspecified address :: (an AF_INET6 wildcard: both families). */
static inline int nst_addr_is_unspec(const struct nst_addr *a)
{
	return (a->q[0] | a->q[1]) == 0;
}
/* A wildcard of either family: :: or ::ffff:0.0.0.0 (INADDR_ANY). */
static inline int nst_addr_is_any(const struct nst_addr *a)
{
	return nst_addr_is_unspec(a) || (nst_addr_is_v4(a) && nst_addr_v4(a) == 0);
}
/* Link-local unicast fe80::/10 (its scope is the interface). */
static inline int nst_addr_is_linklocal(const struct nst_addr *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

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
	X(ip_drop_frag, "IPv4 fragments malformed (length not a multiple of 8, beyond 65535)") \
	X(ip_drop_dst, "IPv4 packets not for us") \
	X(ip_drop_src, "IPv4 packets with a martian source") \
	X(ip_drop_proto, "IPv4 packets for an unhandled protocol") \
	X(ip_drop_noroute, "IPv4 packets with no route") \
	X(ip_opts_rx, "IPv4 packets with options (accepted, options skipped)") \
	X(icmp_rx, "ICMP messages received") \
	X(icmp_drop_csum, "ICMP checksum errors") \
	X(icmp_drop_bad, "malformed ICMP messages") \
	X(icmp_echo_tx, "ICMP echo replies sent") \
	X(tcp_rx, "TCP segments received") \
	X(tcp_tx, "TCP segments sent") \
	X(tcp_tso_tx, "TCP TSO frames sent (cut into segments by the device)") \
	X(tcp_gro_rx, "TCP segments received larger than the MSS (GRO)") \
	X(tcp_drop_short, "TCP segments too short") \
	X(tcp_drop_hdr, "TCP segments with a bad header") \
	X(tcp_opt_bad, "TCP segments with a bad option length (options after it ignored, as Linux)") \
	X(tcp_drop_csum, "TCP checksum errors") \
	X(tcp_drop_noport, "TCP segments to a closed port") \
	X(tcp_drop_unacceptable, "TCP segments failing the acceptance test") \
	X(tcp_drop_ack, "TCP segments with an unacceptable ACK") \
	X(tcp_drop_ooo_full, "TCP out-of-order segments dropped (no room)") \
	X(tcp_drop_after_fin, "TCP out-of-order bytes discarded: beyond the peer's FIN") \
	X(tcp_drop_paws, "TCP segments failing PAWS (RFC 7323 5.3)") \
	X(tcp_drop_nots, "TCP segments without the negotiated timestamps (RFC 7323 3.2)") \
	X(tcp_cwnd_unvalidated, "TCP ACKs that did not grow cwnd: sender not cwnd-limited (RFC 7661)") \
	X(tcp_cwnd_restart, "TCP sends after an idle period that restarted cwnd (slow start after idle)") \
	X(tcp_nagle_held, "TCP sends of a partial segment held by Nagle (RFC 896)") \
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
	X(tcp_sack_blocks_rcvd, "TCP SACK blocks received") \
	X(tcp_sack_bogus, "TCP SACK blocks ignored: outside (SND.UNA, SND.MAX]") \
	X(tcp_dsack_rx, "TCP D-SACK blocks received (RFC 2883)") \
	X(tcp_dsack_not_ours, "TCP D-SACKs of more segments than we ever resent: the network duplicated them") \
	X(tcp_sack_sb_full, "TCP SACK ranges dropped: scoreboard full") \
	X(tcp_sack_recovery, "TCP SACK loss recoveries entered (RFC 6675)") \
	X(tcp_sack_rexmit, "TCP segments retransmitted by SACK recovery") \
	X(tcp_sack_rexmit_again, "TCP retransmissions RACK found lost again (RFC 8985 6.2)") \
	X(tcp_rack_lost, "TCP segments marked lost by RACK (RFC 8985 6.2)") \
	X(tcp_rack_reo_timeout, "TCP RACK reordering timer expiries (RFC 8985 6.3)") \
	X(tcp_rack_reordering, "TCP connections that saw reordering (RACK.reordering_seen)") \
	X(tcp_rack_reo_wnd_incr, "TCP RACK reordering window widened on a D-SACK (RFC 8985 6.2)") \
	X(tcp_undo_dsack, "TCP cwnd reductions undone: every retransmission D-SACKed") \
	X(tcp_undo_eifel, "TCP cwnd reductions undone: timestamps showed the original arrived (RFC 3522)") \
	X(tcp_early_rexmit, "TCP fast retransmits below DupThresh (Early Retransmit, RFC 5827)") \
	X(tcp_tlp_probes, "TCP tail loss probes sent (RFC 8985 7)") \
	X(tcp_tlp_recovery, "TCP tail losses repaired by a loss probe (cwnd reduced)") \
	X(tcp_hystart_css, "TCP slow starts that entered HyStart++ conservative slow start (RFC 9406)") \
	X(tcp_hystart_exit, "TCP slow starts ended by HyStart++ (RFC 9406)") \
	X(tcp_timeout, "TCP connections given up (timeout)") \
	X(tcp_active_open, "TCP active opens") \
	X(tcp_passive_open, "TCP passive opens") \
	X(tcp_tw_reused, "TCP SYNs that ended a TIME-WAIT and opened anew (RFC 6191)") \
	X(tcp_tw_recycled, "TCP connects that reused a 4-tuple of ours in TIME-WAIT") \
	X(tcp_estab_reset, "TCP connections reset") \
	X(tcp_abort_on_data, "TCP connections reset: data after close (TCPAbortOnData)") \
	X(tcp_challenge_ack_tx, "TCP challenge ACKs sent (RFC 5961 3.2, 4.2, 5.2)") \
	X(tcp_challenge_ack_limited, "TCP challenge ACKs not sent: global per-second limit (RFC 5961 7)") \
	X(tcp_oow_ack_limited, "TCP ACKs to invalid segments not sent: per-connection 500 ms limit") \
	X(syncookies_sent, "TCP SYN cookies sent (RFC 4987 3.6)") \
	X(syncookies_recv_ok, "TCP SYN cookies validated: connection created") \
	X(syncookies_failed, "TCP ACKs to a listener failing SYN-cookie validation") \
	X(tx_nobufs, "packets not built: pool exhausted") \
	X(ip_drop_bcast, "IPv4 broadcasts for a protocol that takes none") \
	X(ip_frag_rx, "IPv4 fragments received") \
	X(ip_frag_reasm_ok, "IPv4 datagrams reassembled") \
	X(ip_frag_dup, "IPv4 duplicate fragments dropped") \
	X(ip_frag_overlap, "IPv4 datagrams dropped: overlapping fragments (RFC 5722)") \
	X(ip_frag_timeout, "IPv4 datagrams dropped: reassembly timeout") \
	X(ip_frag_mem, "IPv4 fragments dropped: reassembly memory limit") \
	X(ip_frag_toomany, "IPv4 datagrams dropped: too many fragments") \
	X(ip_frag_big, "IPv4 reassembled datagrams too large for the protocol") \
	X(ip_frag_tx, "IPv4 fragments sent") \
	X(ip_frag_create_ok, "IPv4 datagrams fragmented on output") \
	X(icmp_unreach_rx, "ICMP destination unreachable received") \
	X(icmp_time_exceeded_rx, "ICMP time exceeded received") \
	X(icmp_err_ignored, "ICMP errors ignored (no socket, failed checks)") \
	X(icmp_unreach_tx, "ICMP destination unreachable sent") \
	X(icmp_time_exceeded_tx, "ICMP time exceeded (reassembly) sent") \
	X(icmp_ratelimited, "ICMP errors not sent: rate limit") \
	X(icmp_pmtu_update, "path MTU lowered by ICMP fragmentation needed") \
	X(udp_rx, "UDP datagrams received") \
	X(udp_tx, "UDP datagrams sent") \
	X(udp_drop_short, "UDP datagrams too short or with a bad length") \
	X(udp_drop_csum, "UDP checksum errors") \
	X(udp_drop_noport, "UDP datagrams to a closed port") \
	X(udp_drop_rcvbuf, "UDP datagrams dropped: receive queue full (SO_RCVBUF)") \
	X(sock_errq_queued, "errors queued for IP_RECVERR / IPV6_RECVERR (MSG_ERRQUEUE)") \
	X(sock_errq_drop, "errors not queued: receive budget (SO_RCVBUF) full") \
	X(tcp_drop_rcvmem, "TCP segments dropped: no ring memory (stack memory cap or malloc)") \
	X(tcp_snd_nomem, "TCP sends refused (EAGAIN): stack ring memory cap reached") \
	X(tcp_rcvbuf_grow, "TCP receive budgets grown by autotuning") \
	X(tcp_rx_held, "TCP segments kept in their packets for recv (no copy into the ring)") \
	X(tcp_rx_hold_limit, "TCP segments copied, not kept: held packets at the connection's or the pool's share, or the memory cap") \
	X(ip6_rx, "IPv6 packets received") \
	X(ip6_tx, "IPv6 packets sent") \
	X(ip6_drop_disabled, "IPv6 frames dropped: IPv6 is off (no_ipv6)") \
	X(ip6_drop_short, "IPv6 packets shorter than the header") \
	X(ip6_drop_version, "IPv6 packets with a bad version") \
	X(ip6_drop_len, "IPv6 packets with a payload length beyond the frame") \
	X(ip6_drop_src, "IPv6 packets with a multicast (or, off loopback, ::1) source") \
	X(ip6_drop_dst, "IPv6 packets not for us (address or multicast group)") \
	X(ip6_drop_hbh_order, "IPv6 packets with a Hop-by-Hop header not first (Parameter Problem)") \
	X(ip6_drop_exthdr, "IPv6 packets with a truncated extension header") \
	X(ip6_drop_opt, "IPv6 packets dropped by an option's type (unknown, action discard)") \
	X(ip6_drop_opt_unknown, "IPv6 packets with an unknown option (Parameter Problem code 2)") \
	X(ip6_drop_routing, "IPv6 packets with a Routing header, Segments Left > 0 (Parameter Problem)") \
	X(ip6_drop_nonext, "IPv6 packets ending in No Next Header") \
	X(ip6_drop_proto, "IPv6 packets with an unknown next header (Parameter Problem code 1)") \
	X(ip6_drop_mcast, "IPv6 multicast packets for TCP") \
	X(ip6_drop_noroute, "IPv6 packets not sent: no route") \
	X(ip6_drop_toobig, "IPv6 packets not sent: larger than the path MTU") \
	X(ip6_frag_rx, "IPv6 fragments received") \
	X(ip6_frag_atomic, "IPv6 atomic fragments processed alone (RFC 6946)") \
	X(ip6_frag_reasm_ok, "IPv6 packets reassembled") \
	X(ip6_frag_dup, "IPv6 duplicate fragments dropped") \
	X(ip6_frag_overlap, "IPv6 packets dropped: overlapping fragments (RFC 5722)") \
	X(ip6_frag_timeout, "IPv6 packets dropped: reassembly timeout (60 s)") \
	X(ip6_frag_mem, "IPv6 fragments dropped: reassembly memory or slots exhausted") \
	X(ip6_frag_toomany, "IPv6 packets dropped: too many fragments") \
	X(ip6_frag_bad, "IPv6 fragments malformed (length, offset; Parameter Problem)") \
	X(ip6_frag_big, "IPv6 reassembled packets dropped: no buffer large enough") \
	X(ip6_frag_tx, "IPv6 fragments sent") \
	X(ip6_frag_create_ok, "IPv6 packets fragmented on output") \
	X(icmp6_rx, "ICMPv6 messages received") \
	X(icmp6_drop_csum, "ICMPv6 checksum errors") \
	X(icmp6_drop_bad, "malformed ICMPv6 messages") \
	X(icmp6_echo_tx, "ICMPv6 echo replies sent") \
	X(icmp6_unreach_rx, "ICMPv6 destination unreachable received") \
	X(icmp6_ptb_rx, "ICMPv6 packet too big received") \
	X(icmp6_time_exceeded_rx, "ICMPv6 time exceeded received") \
	X(icmp6_param_prob_rx, "ICMPv6 parameter problem received") \
	X(icmp6_err_ignored, "ICMPv6 errors ignored (no socket or connection, failed checks, quoted packet not ours or unreadable)") \
	X(icmp6_other_rx, "ICMPv6 messages of a type we do not handle (ignored)") \
	X(icmp6_unreach_tx, "ICMPv6 destination unreachable sent") \
	X(icmp6_time_exceeded_tx, "ICMPv6 time exceeded (reassembly) sent") \
	X(icmp6_param_prob_tx, "ICMPv6 parameter problem sent") \
	X(icmp6_ratelimited, "ICMPv6 errors not sent: rate limit (RFC 4443 2.4 f)") \
	X(icmp6_pmtu_update, "IPv6 path MTU lowered by packet too big") \
	X(nd6_drop_hoplimit, "ND messages dropped: hop limit not 255 (off-link)") \
	X(nd6_drop_bad, "ND messages malformed (code, length, zero option length)") \
	X(nd6_drop_target, "ND messages with a multicast target") \
	X(nd6_drop_dad_bad, "ND solicitations from :: not to a solicited-node group or with a link-layer option") \
	X(nd6_drop_na_solicited_mcast, "ND advertisements to multicast with the Solicited flag") \
	X(nd6_drop_ra_src, "router advertisements not from a link-local source") \
	X(nd6_ns_rx, "neighbor solicitations received") \
	X(nd6_ns_tx, "neighbor solicitations sent") \
	X(nd6_ns_not_ours, "neighbor solicitations for a target not ours (ignored)") \
	X(nd6_na_rx, "neighbor advertisements received") \
	X(nd6_na_tx, "neighbor advertisements sent") \
	X(nd6_na_ignored, "neighbor advertisements for no cache entry (ignored)") \
	X(nd6_rs_tx, "router solicitations sent") \
	X(nd6_rs_ignored, "router solicitations received (a host ignores them)") \
	X(nd6_ra_rx, "router advertisements accepted") \
	X(nd6_redirect_ignored, "redirects received (not implemented: ignored)") \
	X(nd6_queued, "packets queued waiting for neighbor discovery") \
	X(nd6_drop_queue, "packets dropped: ND pending queue full") \
	X(nd6_drop_unresolved, "packets dropped: neighbor discovery failed") \
	X(nd6_dad_ns_tx, "duplicate address detection probes sent") \
	X(nd6_dad_dup, "addresses found duplicate and given up (RFC 4862 5.4.5)") \
	X(nd6_dad_conflict, "advertisements for an address of ours after DAD (logged, kept)") \
	X(nd6_mtu_update, "link MTU lowered by a router advertisement")

struct stack_stats {
#define STACK_STAT_FIELD(name, desc) uint64_t name;
	STACK_STATS(STACK_STAT_FIELD)
#undef STACK_STAT_FIELD
};

/* Memory for the stack's state (the stack itself, tables, rings, reassembly
 * buffers, packet pools): zeroed on allocation, freed with the size it was
 * allocated with. Zero members: calloc/free. */
struct nst_mem_ops {
	void *(*zalloc)(void *ctx, size_t size);
	void  (*free)(void *ctx, void *p, size_t size);
	void  *ctx;
	void *(*alloc)(void *ctx, size_t size);    /* not zeroed (rings); NULL: zalloc */
};
/* The calloc/free wrappers (stack/mem.c): what zero members mean. */
extern const struct nst_mem_ops nst_mem_calloc;

struct stack_config {
	uint32_t addr;          /* own IPv4 address */
	uint8_t  prefix_len;    /* on-link prefix length, 0..32 */
	uint32_t gw;            /* default gateway, 0 for none */
	struct nst_addr addr6;  /* own global (or ULA) IPv6 address; :: for none (the
	                         * link-local one, from the MAC, is always there) */
	uint8_t  prefix6_len;   /* its on-link prefix length, 0..128 */
	struct nst_addr gw6;    /* IPv6 default router; ::: the one router advertisements name */
	int      no_ipv6;       /* 1: IPv6 off (frames dropped and counted, no link-local) */
	int      loopback;      /* NSTACK_IF=lo: serve all of 127.0.0.0/8 on a loop device, no ARP */
	unsigned max_sockets;   /* 0: default (1024) */
	uint64_t mem_max;       /* cap on TCP ring memory, bytes; 0: default (1 GB) */
	uint64_t (*rand64)(void *ctx);   /* randomness source (ISS key, ports, IP ID) */
	void    *rand_ctx;
	unsigned quickacks;     /* in-order segments ACKed at once at a connection's start;
	                         * 0: default TCP_QUICKACKS (as Linux), -1u: none */
	unsigned challenge_ack_limit;    /* RFC 5961 7 per-second limit; 0: default 1000 (Linux
	                                  * tcp_challenge_ack_limit), -1u: no limit */
	uint64_t ts_key[2];     /* secret of the TSval clock offsets (tcp_ts_offset); the same in
	                         * every process of a host (as Linux's per-boot one) keeps TSvals
	                         * growing across them; zero: a random one */
	struct nst_mem_ops mem; /* every allocation of the stack (stack_create copies it);
	                         * zalloc NULL: calloc/free */
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
/* The stack's own address (cfg.addr) and its prefix length. */
uint32_t      stack_addr(const struct stack *st, uint8_t *prefix_len);
/* The device the stack sends through from now on (a process sharing the
 * stack binds it to its own instance of the same interface). */
void          stack_set_netdev(struct stack *st, struct netdev *dev);
/* The same for the other things of the caller's program the stack calls:
 * its memory functions (the same memory, the same allocator state) and its
 * randomness. A stack in memory shared by processes holds no pointer into
 * one program's image but these, which its user sets again whenever a
 * process other than the last one enters (preload/family.c fam_bind). */
void          stack_set_mem(struct stack *st, const struct nst_mem_ops *mem);
void          stack_set_rand(struct stack *st, uint64_t (*fn)(void *ctx), void *ctx);

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
/* ICMP sockets (icmp_sock.c), datagram sockets of their own kinds: echo
 * ("ping") sockets and raw ICMP sockets; nst_sock_type says NST_SOCK_DGRAM.
 * nst_socket makes ICMP ones, nst_socket6 ICMPv6 ones. */
#define NST_SOCK_PING     3
#define NST_SOCK_RAW_ICMP 4

/* event bits returned by nst_poll: same values as <poll.h> */
#define NST_POLLIN    0x001
#define NST_POLLPRI   0x002
#define NST_POLLOUT   0x004
#define NST_POLLERR   0x008
#define NST_POLLHUP   0x010
#define NST_POLLRDHUP 0x2000

/* flags for nst_send/nst_recv: same values as Linux MSG_* */
#define NST_MSG_PEEK     0x02
#define NST_MSG_TRUNC    0x20
#define NST_MSG_DONTWAIT 0x40
#define NST_MSG_WAITALL  0x100
#define NST_MSG_NOSIGNAL 0x4000
#define NST_MSG_EOR      0x80     /* TCP: the send ends a record: no later data joins its segments */
#define NST_MSG_MORE     0x8000   /* TCP: more data follows, hold a partial segment */

/* shutdown how */
#define NST_SHUT_RD   0
#define NST_SHUT_WR   1
#define NST_SHUT_RDWR 2

/* sd; -EMFILE beyond cfg.max_sockets (like RLIMIT_NOFILE), -ENOBUFS when the
 * table is full of connections nobody owns, -EPROTONOSUPPORT */
int     nst_socket(struct stack *st, int type);
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

/* Either family (struct nst_addr). A socket is AF_INET (nst_socket) or
 * AF_INET6 (nst_socket6); an AF_INET socket takes v4-mapped addresses only
 * (else -EAFNOSUPPORT); an AF_INET6 one takes both, IPv4 as v4-mapped,
 * unless IPV6_V6ONLY. The uint32_t calls above are these with
 * nst_addr_from_v4. */
#define NST_AF_INET  2          /* Linux AF_INET */
#define NST_AF_INET6 10         /* Linux AF_INET6 */
int     nst_socket6(struct stack *st, int type);
int     nst_sock_family(struct stack *st, int sd);           /* NST_AF_* or -EBADF */
/* The NST_SOCK_* it was made with (PING and RAW_ICMP too), or -EBADF. */
int     nst_sock_kind(struct stack *st, int sd);
int     nst_bind_addr(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
int     nst_connect_addr(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port,
			 uint64_t now_us);
int     nst_accept_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port,
			uint64_t now_us);
int     nst_getsockname_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
int     nst_getpeername_addr(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
/* 1 if a packet to dst is served by this stack (either family). */
int     stack_routes_addr(const struct stack *st, const struct nst_addr *dst);
/* 1 if a is one of the stack's own addresses (either family, wildcards excluded). */
int     stack_owns_addr(const struct stack *st, const struct nst_addr *a);
/* The stack's IPv6 addresses: the link-local one (from the MAC) and the
 * configured one (:: if none). */
void    stack_addr6(const struct stack *st, struct nst_addr *linklocal, struct nst_addr *global,
		    uint8_t *prefix_len);
uint32_t nst_poll(struct stack *st, int sd);                 /* NST_POLL* bits ready now */
int     nst_sock_error(struct stack *st, int sd);            /* SO_ERROR: pending error (positive errno), cleared */
int     nst_sock_type(struct stack *st, int sd);             /* NST_SOCK_* or -EBADF */
/* Socket options, Linux level/name numbers (SOL_SOCKET, IPPROTO_TCP). */
int     nst_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len, uint64_t now_us);
int     nst_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len);
size_t  nst_rx_avail(struct stack *st, int sd);              /* bytes readable now (FIONREAD) */

/* TCP_INFO of a TCP socket (tcp_info.c): our units (bytes, microseconds);
 * preload/ converts to Linux's struct tcp_info. */
#define NST_CA_OPEN     0       /* Linux TCP_CA_Open */
#define NST_CA_DISORDER 1       /* TCP_CA_Disorder: SACKs or duplicate ACKs, no recovery yet */
#define NST_CA_RECOVERY 3       /* TCP_CA_Recovery: fast recovery */
#define NST_CA_LOSS     4       /* TCP_CA_Loss: after an RTO */
struct nst_tcp_info {
	uint8_t  state;         /* RFC 9293 order (tcp_state.h enum tcp_state) */
	uint8_t  ca_state, retransmits;
	uint32_t rto_us, rtt_us, rttvar_us;
	uint32_t snd_mss, rcv_mss, advmss, pmtu;
	uint32_t snd_cwnd, snd_ssthresh;        /* bytes; ssthresh 0xffffffff: not set */
	uint32_t snd_wnd, rcv_wnd;
	uint32_t unacked_segs, total_retrans, segs_out, segs_in, notsent_bytes;
	uint32_t outq;          /* unacknowledged + unsent bytes (SIOCOUTQ) */
	uint64_t bytes_acked, bytes_received, bytes_sent;
	uint8_t  options;       /* NST_TCPI_OPT_*: what the SYNs negotiated */
	uint8_t  snd_wscale, rcv_wscale;
	uint32_t sacked_segs, lost_segs;   /* SACK scoreboard (segments) */
	uint32_t reordering;               /* reordering distance, segments (at least DupThresh) */
	uint64_t last_data_recv_us;        /* stack time data last came (or the handshake ended), 0 never */
};
#define NST_TCPI_OPT_TS     1   /* Linux TCPI_OPT_TIMESTAMPS */
#define NST_TCPI_OPT_SACK   2   /* TCPI_OPT_SACK */
#define NST_TCPI_OPT_WSCALE 4   /* TCPI_OPT_WSCALE */
int     nst_tcp_info(struct stack *st, int sd, struct nst_tcp_info *out);
/* SO_LINGER: 1 while our FIN or the data before it is unacknowledged. */
int     nst_close_pending(struct stack *st, int sd);
/* Bytes (and FINs) closed connections still have to deliver, and packets
 * waiting for an ARP or ND resolution (datagrams a program sent just before it
 * exited): what process exit waits for. */
size_t  nst_exit_pending(struct stack *st);
unsigned nst_exit_abort(struct stack *st, uint64_t now_us);  /* RST what exit_pending counts */
/* TCP ring memory in use and its cap, bytes. */
uint64_t nst_mem_used(const struct stack *st);
uint64_t nst_mem_max(const struct stack *st);
/* Clamp of SO_RCVBUF/SO_SNDBUF (the host's net.core.rmem_max, wmem_max). */
void    nst_set_sockbuf_max(struct stack *st, unsigned rmem_max, unsigned wmem_max);
/* TCP_NOTSENT_LOWAT of sockets that set none (the host's
 * net.ipv4.tcp_notsent_lowat); 0 or UINT_MAX: no limit. */
void    nst_set_notsent_lowat(struct stack *st, uint32_t lowat);
/* The fewest segments of a transmission unit (the host's
 * net.ipv4.tcp_min_tso_segs; tcp_output); 0: the default, 2. */
void    nst_set_min_tso_segs(struct stack *st, uint32_t segs);
/* net.ipv4.tcp_slow_start_after_idle: a send after an idle period longer
 * than the RTO restarts cwnd from the initial window (tcp_cwnd_restart).
 * Off until set (the preload sets the host's value). */
void    nst_set_slow_start_after_idle(struct stack *st, int on);
/* net.ipv4.tcp_timestamps: off, connections neither offer RFC 7323
 * timestamps in their SYN nor accept the peer's (its SYN-ACK then carries
 * none). On until set. */
void    nst_set_timestamps(struct stack *st, int on);

/* ---- datagrams (udp.c) ----------------------------------------------------
 * Datagram sockets have sds of their own range (>= NST_UDP_SD_BASE); the
 * nst_* calls above dispatch on it. These add what only datagrams have. */
#define NST_UDP_SD_BASE (1 << 16)
/* One datagram of len bytes to addr:port (to_set 0: the connected peer).
 * Returns len or -errno (EDESTADDRREQ, EMSGSIZE, EACCES, ECONNREFUSED…). */
ssize_t nst_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		   int to_set, uint32_t addr, uint16_t port, uint64_t now_us);
/* The next datagram: up to len bytes copied; returns the bytes copied, or
 * its full length with NST_MSG_TRUNC in flags. *out_flags gets NST_MSG_TRUNC
 * when the datagram was longer than len. -EAGAIN when none is queued. */
ssize_t nst_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		     uint32_t *addr, uint16_t *port, int *out_flags, uint64_t now_us);
ssize_t nst_sendto_addr(struct stack *st, int sd, const void *buf, size_t len, int flags,
			int to_set, const struct nst_addr *addr, uint16_t port, uint64_t now_us);
ssize_t nst_recvfrom_addr(struct stack *st, int sd, void *buf, size_t len, int flags,
			  struct nst_addr *addr, uint16_t *port, int *out_flags, uint64_t now_us);
/* recvmsg's and sendmsg's control messages (IP_PKTINFO, IP_TTL, IP_TOS,
 * IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS): what a received datagram's
 * IP header said, and what one send overrides (-1: the socket's own). */
struct nst_dgram_info {
	struct nst_addr dst;    /* the address it was sent to (IPv4 v4-mapped) */
	uint8_t hops, tclass;   /* TTL / hop limit, TOS / traffic class */
	uint64_t rx_us;         /* stack time it arrived (SO_TIMESTAMP) */
};
struct nst_send_info {
	int16_t hops, tclass;
};
/* nst_recvfrom_addr / nst_sendto_addr with those; on a stream socket the
 * info is not filled (and not used). */
ssize_t nst_recvmsg_addr(struct stack *st, int sd, void *buf, size_t len, int flags,
			 struct nst_addr *addr, uint16_t *port, int *out_flags,
			 struct nst_dgram_info *info, uint64_t now_us);
ssize_t nst_sendmsg_addr(struct stack *st, int sd, const void *buf, size_t len, int flags,
			 int to_set, const struct nst_addr *addr, uint16_t port,
			 const struct nst_send_info *si, uint64_t now_us);
/* The control messages a datagram socket asked for on receive (one call
 * instead of a getsockopt per option): NST_RCTL_* bits. 0 for a stream
 * socket. */
#define NST_RCTL_PKTINFO      0x001     /* IP_PKTINFO */
#define NST_RCTL_TTL          0x002     /* IP_RECVTTL */
#define NST_RCTL_TOS          0x004     /* IP_RECVTOS */
#define NST_RCTL_PKTINFO6     0x008     /* IPV6_RECVPKTINFO */
#define NST_RCTL_HOPLIMIT6    0x010     /* IPV6_RECVHOPLIMIT */
#define NST_RCTL_TCLASS6      0x020     /* IPV6_RECVTCLASS */
#define NST_RCTL_2292HOPLIMIT 0x040     /* IPV6_2292HOPLIMIT (RFC 2292's name, type 8) */
#define NST_RCTL_TIMESTAMP    0x080     /* SO_TIMESTAMP: a struct timeval */
#define NST_RCTL_TIMESTAMPNS  0x100     /* SO_TIMESTAMPNS: a struct timespec */
unsigned nst_recv_ctl(struct stack *st, int sd);

/* ---- the error queue (IP_RECVERR, IPV6_RECVERR; Linux sock_extended_err) --
 * A datagram socket with IP_RECVERR (ICMP errors and local errors of IPv4
 * sends) or IPV6_RECVERR (of IPv6 sends) keeps each error with the part of
 * the offending datagram the ICMP message quoted; recvmsg(MSG_ERRQUEUE)
 * takes them in order. */
#define NST_EE_ORIGIN_LOCAL 1
#define NST_EE_ORIGIN_ICMP  2
#define NST_EE_ORIGIN_ICMP6 3
struct nst_sock_err {
	int32_t  errnum;        /* ee_errno: positive */
	uint8_t  origin;        /* NST_EE_ORIGIN_* */
	uint8_t  type, code;    /* the ICMP message's (0 for local errors) */
	uint8_t  hops, tclass;  /* its IP header's TTL / hop limit, TOS / traffic class */
	uint32_t info;          /* ee_info: the MTU of EMSGSIZE, else the ICMP header's word */
	struct nst_addr offender;       /* who sent the ICMP message (unspecified: local) */
	struct nst_addr dst;    /* the offending datagram's destination ... */
	uint16_t port;          /* ... and port (msg_name of the error) */
	uint64_t rx_us;         /* stack time it arrived */
};
/* The oldest queued error: up to len bytes of what the message quoted
 * (after the UDP header; an ICMP socket's from the ICMP header), *out_flags
 * NST_MSG_TRUNC when it was longer. Returns the bytes copied, -EAGAIN when
 * the queue is empty (a stream socket's always is). Taking an ICMP error
 * sets SO_ERROR to the next one's errno, or clears it (Linux
 * sock_dequeue_err_skb). */
ssize_t nst_recv_err(struct stack *st, int sd, void *buf, size_t len, struct nst_sock_err *e,
		     int *out_flags, uint64_t now_us);

/* connect(AF_UNSPEC): dissolve the association (udp_disconnect). */
int     nst_disconnect(struct stack *st, int sd);
/* 1 if addr is the limited broadcast or the broadcast of the stack's subnet. */
int     stack_is_bcast(const struct stack *st, uint32_t addr);

/* ---- introspection (sock_info.c): `nstack ss`, logging -------------------
 * A snapshot of one socket, read under the caller's lock. Ports in host
 * order; times in microseconds; windows in bytes. */
struct nst_sock_info {
	int      sd;            /* the application's sd, -1 for orphans and unaccepted children */
	uint8_t  type;          /* NST_SOCK_STREAM, NST_SOCK_DGRAM (UDP: ESTAB if connected, else
	                         * UNCONN), NST_SOCK_PING or NST_SOCK_RAW_ICMP */
	uint8_t  state;         /* TCP state, RFC 9293 order (tcp_state.h enum tcp_state) */
	uint8_t  orphan;        /* closed by the application, finishing on its own */
	uint8_t  in_recovery;   /* loss recovery (RFC 6582 / RFC 6675) */
	uint8_t  sack;          /* SACK negotiated (RFC 2018) */
	char     cc[16];        /* congestion control (TCP_CONGESTION name) */
	struct nst_addr laddr, raddr;   /* IPv4 v4-mapped */
	uint16_t lport, rport;
	uint8_t  af, v6only;    /* the socket's family (NST_AF_*) and IPV6_V6ONLY */
	uint32_t recv_q;        /* unread bytes; listener: accept queue length */
	uint32_t send_q;        /* unacknowledged + unsent bytes; listener: backlog */
	uint32_t mss;
	uint64_t rtt_us, rttvar_us, rto_us;   /* RFC 6298 SRTT, RTTVAR, RTO; 0 before a sample */
	uint32_t cwnd, ssthresh;              /* bytes; ssthresh 0xffffffff: not set yet */
	uint32_t snd_wnd, rcv_wnd;
	uint32_t retrans;       /* consecutive retransmission timeouts */
	uint32_t total_retrans; /* segments retransmitted over the connection's life */
	uint64_t delivery_rate; /* bytes/s acknowledged over the last SRTT-long interval */
	uint64_t bytes_acked;   /* data acknowledged by the peer (modulo 2^32) */
	uint64_t bytes_received;/* data received in order (modulo 2^32) */
};

/* Up to max sockets into out; returns how many exist (may exceed max). */
int         nst_sock_list(const struct stack *st, struct nst_sock_info *out, int max);
/* A TCP state's name as ss(8) prints it ("ESTAB", "TIME-WAIT", ...). */
const char *nst_tcp_state_name(int state);

/* State-change hook (logging): called under the caller's lock on every TCP
 * state change, with the connection's 4-tuple. fn NULL: off. */
struct nst_state_event {
	struct nst_addr laddr, raddr;   /* IPv4 v4-mapped */
	uint16_t lport, rport;
	int      from, to;      /* TCP states */
};
void stack_set_state_hook(struct stack *st, void (*fn)(void *ctx, const struct nst_state_event *ev),
			  void *ctx);

#endif
