/* UDP (RFC 768, RFC 1122 4.1) and the ICMP error machinery around it
 * (RFC 792, RFC 1122 3.2.2): sockets, input demultiplexing, output (with
 * fragmentation), port unreachable generation with a rate limit, and
 * received errors reported to connected sockets as Linux does.
 *
 * UDP sockets live in their own table; their sd is NST_UDP_SD_BASE + index,
 * so the nst_* calls of sock.c dispatch with one comparison (udp_sd()).
 *
 * Datagram storage: received datagrams are copied (once) into a per-socket
 * byte ring of records [struct udp_rec][payload], so no packet of the pool
 * is held by a socket (the pool also feeds the device's receive ring). The
 * queue is bounded like Linux's: a datagram is accepted while the bytes
 * charged (payload + UDP_REC_CHARGE each, Linux charges skb truesize) do not
 * exceed SO_RCVBUF; the ring has room for one more maximal datagram beyond
 * that bound, so an accepted datagram always fits. Overflow is counted
 * (udp_drop_rcvbuf). The ring is allocated (cfg.mem) at the first datagram,
 * like the TCP rings, and freed with its size (rq.size).
 */
#ifndef NSTACK_UDP_H
#define NSTACK_UDP_H

#include <stdint.h>
#include <sys/types.h>
#include "stack.h"
#include "ring.h"       /* the byte ring, shared with TCP, holds the datagrams */
#include "sockopt.h"

struct stack;

#define UDP_HDR_LEN     8
#define UDP_MAX_PAYLOAD (65535 - 20 - UDP_HDR_LEN)   /* 65507 */
#define UDP_MAX_PAYLOAD6 (65535 - UDP_HDR_LEN)       /* 65527: IPv6's payload length excludes
						      * its header (RFC 8200 3) */
#define UDP_REC_CHARGE  256             /* per-datagram overhead charged to SO_RCVBUF */
#define UDP_RCVBUF_DEF  212992          /* Linux rmem_default */
#define UDP_SNDBUF_DEF  212992          /* Linux wmem_default */
#define UDP_HASH_SIZE   256

struct udp_hdr {
	uint16_t sport, dport, len, csum;
} __attribute__((packed));

/* What a socket of the datagram table is (udp_sock.kind). */
#define UDP_K_UDP  0            /* UDP */
#define UDP_K_PING 1            /* ICMP echo ("ping") socket: SOCK_DGRAM, IPPROTO_ICMP(V6);
				 * its port is the echo identifier (Linux net/ipv4/ping.c) */
#define UDP_K_RAW  2            /* raw ICMP socket: SOCK_RAW, IPPROTO_ICMP(V6) (Linux raw.c) */

struct udp_sock {
	uint8_t  in_use;
	uint8_t  kind;          /* UDP_K_* */
	uint8_t  bound;         /* lport chosen */
	uint8_t  connected;     /* raddr:rport set (TCP_ESTABLISHED in Linux) */
	uint8_t  addr_locked;   /* bind() chose laddr (SOCK_BINDADDR_LOCK) */
	uint8_t  port_locked;   /* bind() chose lport (SOCK_BINDPORT_LOCK) */
	uint8_t  opt_broadcast, opt_reuseaddr, opt_reuseport;
	uint8_t  shut_rd, shut_wr;
	uint8_t  opt_recverr;   /* IP_RECVERR (IPV6_RECVERR is in so.v6flags) */
	struct nst_addr laddr, raddr;   /* IPv4 v4-mapped; laddr a wildcard: unbound */
	uint16_t lport, rport;
	uint8_t  af;            /* NST_AF_INET or NST_AF_INET6 */
	uint8_t  v6only;        /* IPV6_V6ONLY */
	int      err;           /* pending error (ICMP), positive errno */
	uint32_t icmp_filter;   /* raw IPv4: ICMP_FILTER, a bit per type (set: not delivered) */
	uint32_t icmp6_filter[8];       /* raw IPv6: ICMP6_FILTER, the same per ICMPv6 type */
	int      opt_rcvbuf, opt_sndbuf;
	struct sock_opts so;    /* IP_TOS, IP_TTL (udp_sendto), stored-only options */
	int      hnext;         /* port hash chain, -1 ends */
	int      free_next;
	struct tcp_ring rq;     /* datagram records */
	unsigned rq_n;          /* datagrams queued */
	uint32_t rq_charge;     /* bytes charged against opt_rcvbuf */
	struct tcp_ring eq;     /* the error queue: records [struct udp_err_rec][quote] */
	unsigned eq_n;          /* errors queued */
	uint32_t eq_charge;     /* charged against opt_rcvbuf with rq_charge */
};

/* The error queue (IP_RECVERR): an error and the bytes its ICMP message
 * quoted, at most UDP_EQ_QUOTE_MAX of them (Linux keeps the whole ICMP
 * message: at most 576 bytes over IPv4, 1280 over IPv6). */
#define UDP_EQ_QUOTE_MAX 1280
#define UDP_EQ_SIZE      16384          /* the ring; fewer errors fit when SO_RCVBUF is small */
struct udp_err_rec {
	struct nst_sock_err e;
	uint32_t len;
};
/* What an ICMP error said, for the error queue (udp_icmp_error and the
 * ICMP sockets' icmp_sock_error). */
struct icmp_err_ctx {
	struct nst_addr offender;       /* the ICMP message's source */
	uint8_t  hops, tclass;  /* its IP header's */
	uint32_t info;          /* ee_info: the MTU of Fragmentation Needed / Packet Too Big,
				 * the pointer of a Parameter Problem (IPv6), else 0 */
	const uint8_t *quote;   /* the quoted datagram after its transport header */
	unsigned quote_len;
};

/* The header of a queued datagram in the ring. */
struct udp_rec {
	uint32_t len;           /* payload bytes following */
	uint16_t sport;
	uint8_t  hops, tclass;  /* its IP header's TTL/hop limit and TOS/traffic class */
	struct nst_addr src, dst;
	uint64_t rx_us;         /* stack time it arrived */
};

/* Destinations we sent ICMP errors to recently (Linux inet_peer rate_tokens). */
#define ICMP_RL_PEERS   32
#define ICMP_RL_IV_US   1000000ull      /* Linux icmp_ratelimit: 1000 ms per message */
#define ICMP_RL_BURST   6               /* Linux XRLIM_BURST_FACTOR */
struct icmp_rl_peer {
	uint32_t addr;
	uint64_t tokens;        /* microseconds of credit, at most ICMP_RL_BURST * ICMP_RL_IV_US */
	uint64_t last_us;
};

struct udp_ctx {
	struct udp_sock *s;
	unsigned cap;
	unsigned n_owned;
	int      free_head;
	unsigned hiwat;         /* entries [0, hiwat) have been used; the rest are untouched
	                         * (a large table costs no memory until it is needed) */
	int      hash[UDP_HASH_SIZE];   /* by local port */
	struct icmp_rl_peer rl[ICMP_RL_PEERS];
};

static inline int udp_sd(int sd) { return sd >= NST_UDP_SD_BASE; }

int      udp_init(struct stack *st);
void     udp_fini(struct stack *st);
/* A datagram: iph at the IP header (hlen bytes, its total length covering
 * hlen + len), udp at the UDP header, len bytes of UDP. Borrowed: the
 * caller frees what holds them. csum_ok: the device verified the checksum. */
void     udp_input(struct stack *st, const uint8_t *iph, unsigned hlen,
		   const uint8_t *udp, unsigned len, int csum_ok);
/* An ICMP error about a datagram we sent: its addresses and ports. */
void     udp_icmp_error(struct stack *st, int type, int code, const struct nst_addr *src,
			uint16_t sport, const struct nst_addr *dst, uint16_t dport,
			const struct icmp_err_ctx *c);
/* Queue an error on s (IP_RECVERR): counted, dropped when SO_RCVBUF is full;
 * an ICMP error also becomes SO_ERROR. */
void     udp_err_queue(struct stack *st, struct udp_sock *s, const struct nst_sock_err *e,
		       const uint8_t *quote, unsigned len);
/* An ICMP error (errno err, hard or soft) for s, about a datagram to
 * dst:dport: queued with IP_RECVERR, else kept as SO_ERROR when hard on a
 * connected socket; *ignored counts one that went nowhere (s NULL too). */
void     udp_take_error(struct stack *st, struct udp_sock *s, int v4, int type, int code,
			int err, int hard, const struct nst_addr *dst, uint16_t dport,
			const struct icmp_err_ctx *c, uint64_t *ignored);
/* Does s take errors into its queue for a v4 (IP_RECVERR) or IPv6
 * (IPV6_RECVERR) destination? */
int      udp_recverr_on(const struct udp_sock *s, int v4);
ssize_t  udp_recv_err(struct stack *st, int sd, void *buf, size_t len, struct nst_sock_err *e,
		      int *out_flags);
unsigned udp_recv_ctl(struct stack *st, int sd);
/* ICMP sockets (icmp_sock.c): an ICMP error quoting an ICMP message we
 * sent (inner: the quoted message from its ICMP header, n bytes; src/dst
 * the quoted IP header's addresses): to the raw sockets and the ping socket
 * of its identifier, as Linux's raw_icmp_error and ping_err. */
void     icmp_sock_error(struct stack *st, int type, int code, const struct nst_addr *src,
			 const struct nst_addr *dst, const uint8_t *inner, unsigned n,
			 const struct icmp_err_ctx *c);

/* socket calls (sock.c dispatches here for udp_sd(sd)) */
int      udp_socket(struct stack *st, int af, int kind);     /* kind: UDP_K_* */
/* ICMP sockets (icmp_sock.c): an ICMP or ICMPv6 message received (msg, len
 * bytes from its ICMP header; the IP header's addresses, hop limit and
 * traffic class) is copied to the raw sockets whose filter passes it and,
 * an echo reply, to the ping socket of its identifier. */
void     icmp_sock_input(struct stack *st, const struct nst_addr *src, const struct nst_addr *dst,
			 uint8_t hops, uint8_t tclass, const uint8_t *msg, unsigned len);
/* One echo request (ping) or ICMP message (raw) of len bytes from s to dst. */
ssize_t  icmp_sock_send(struct stack *st, struct udp_sock *s, const struct nst_addr *dst,
			const void *buf, size_t len, const struct nst_send_info *si);
/* udp.c's enqueue, for icmp_sock.c */
void     udp_deliver(struct stack *st, struct udp_sock *s, const struct nst_addr *src,
		     uint16_t sport, const uint8_t *data, uint32_t len, const struct nst_dgram_info *di);
int      udp_family(struct stack *st, int sd);
int      udp_kind(struct stack *st, int sd);       /* UDP_K_* */
int      udp_bind(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
int      udp_listen(struct stack *st, int sd, int backlog);
int      udp_accept(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
int      udp_connect(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port);
int      udp_disconnect(struct stack *st, int sd);
ssize_t  udp_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		    int to_set, const struct nst_addr *addr, uint16_t port);
ssize_t  udp_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		      struct nst_addr *addr, uint16_t *port, int *out_flags);
/* The same, and what the datagram's IP header said (info may be NULL). */
ssize_t  udp_recvfrom_info(struct stack *st, int sd, void *buf, size_t len, int flags,
			   struct nst_addr *addr, uint16_t *port, int *out_flags,
			   struct nst_dgram_info *info);
/* udp_sendto with this send's hop limit / traffic class (si may be NULL). */
ssize_t  udp_sendto_info(struct stack *st, int sd, const void *buf, size_t len, int flags,
			 int to_set, const struct nst_addr *addr, uint16_t port,
			 const struct nst_send_info *si);
int      udp_shutdown(struct stack *st, int sd, int how);
int      udp_close(struct stack *st, int sd);
void     udp_close_all(struct stack *st);
int      udp_getsockname(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
int      udp_getpeername(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port);
uint32_t udp_poll(struct stack *st, int sd);
int      udp_sock_error(struct stack *st, int sd);
int      udp_sock_valid(struct stack *st, int sd);
size_t   udp_rx_avail(struct stack *st, int sd);
int      udp_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len);
int      udp_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len);

/* ICMP errors (icmp.c). ip: the offending datagram from its IP header,
 * ip_len bytes available. Checks RFC 1122 3.2.2's "MUST NOT send" list and
 * the rate limit. */
void     icmp_send_error(struct stack *st, const uint8_t *ip, unsigned ip_len, int type, int code);
/* Destination Unreachable code -> errno; *hard: a hard error (Linux icmp_err_convert). */
int      icmp_unreach_errno(int code, int *hard);
/* 1 if an ICMP error to dst may go now (token bucket per destination). */
int      icmp_ratelimit_allow(struct stack *st, uint32_t dst);

#define ICMP_DEST_UNREACH    3
#define ICMP_TIME_EXCEEDED   11
#define ICMP_PARAMETERPROB   12
#define ICMP_NET_UNREACH     0
#define ICMP_HOST_UNREACH    1
#define ICMP_PROT_UNREACH    2
#define ICMP_PORT_UNREACH    3
#define ICMP_FRAG_NEEDED     4
#define ICMP_EXC_FRAGTIME    1

#endif
