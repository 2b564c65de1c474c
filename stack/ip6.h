/* IPv6 (RFC 8200), ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861):
 * the IPv6 layer under TCP and UDP. Addresses are struct nst_addr (stack.h),
 * network byte order. */
#ifndef NSTACK_IP6_H
#define NSTACK_IP6_H

#include <stdint.h>
#include "pkt.h"
#include "stack.h"

struct stack;

#define ETH_P_IPV6      0x86dd
#define IP6_HDR_LEN     40
#define IP6_DEFAULT_HOPS 64     /* Linux net.ipv6.conf.*.hop_limit */
#define IP6_MIN_MTU     1280    /* RFC 8200 5 */

/* Next-header values (IANA protocol numbers). */
#define IP6_NH_HOPOPTS  0
#define IP6_NH_TCP      6
#define IP6_NH_UDP      17
#define IP6_NH_ROUTING  43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_ICMPV6   58
#define IP6_NH_NONE     59
#define IP6_NH_DSTOPTS  60

struct ip6_hdr {
	uint32_t ver_tc_flow;   /* version 4 bits, traffic class 8, flow label 20; network order */
	uint16_t payload_len;   /* network order */
	uint8_t  next;
	uint8_t  hop_limit;
	uint8_t  src[16];
	uint8_t  dst[16];
} __attribute__((packed));

/* ---- the IPv6 layer (ipv6.c) ---------------------------------------------
 * Input: p->data at the IPv6 header. Validates it, walks the extension
 * headers (RFC 8200 4), reassembles fragments, and hands the upper layer to
 * TCP, UDP or ICMPv6. Consumes p. */
void ipv6_input(struct stack *st, struct pkt *p);
/* Output: p->data at the L4 header (its checksum already complete or
 * PKT_F_CSUM_PARTIAL); prepends the IPv6 header (traffic class p->ip_tos,
 * hop limit p->ip_ttl or IP6_DEFAULT_HOPS, a flow label per flow, RFC 6437),
 * routes (on-link prefix, link-local, loopback, default router) and
 * resolves the next hop through Neighbor Discovery (queueing while
 * incomplete). Consumes p. 0, or -ENETUNREACH / -ENOBUFS / -EMSGSIZE (larger
 * than the path MTU and not a TSO frame). */
int  ipv6_output(struct stack *st, struct pkt *p, uint8_t proto,
		 const struct nst_addr *src, const struct nst_addr *dst);
/* The same for a datagram that may exceed the MTU: fragments it (RFC 8200
 * 4.5) with a Fragment header. Consumes p. */
int  ipv6_output_frag(struct stack *st, struct pkt *p, uint8_t proto,
		      const struct nst_addr *src, const struct nst_addr *dst);
/* Source address selection (RFC 6724, the parts a one-interface host needs):
 * link-local towards link-local (and when there is no global address), else
 * the configured address. -ENETUNREACH (and *src untouched) if none fits. */
int  ipv6_src_for(const struct stack *st, const struct nst_addr *dst, struct nst_addr *src);
/* 1 if dst is one of ours (unicast: link-local, configured, ::1 on loopback). */
int  stack_owns6(const struct stack *st, const struct nst_addr *a);
/* 1 if a packet to dst (not ours, not multicast) has a route. */
int  stack_routes6(const struct stack *st, const struct nst_addr *dst);
/* The path MTU towards dst (the device MTU unless a Packet Too Big lowered it). */
unsigned ipv6_mtu(const struct stack *st, const struct nst_addr *dst);

/* ---- ICMPv6 (icmp6.c) ----------------------------------------------------
 * Input: p->data at the ICMPv6 header; src, dst from the IPv6 header.
 * Consumes p. */
void icmp6_input(struct stack *st, struct pkt *p, const struct nst_addr *src,
		 const struct nst_addr *dst, uint8_t hop_limit);
/* An error about the received packet at ip6 (len bytes from its IPv6
 * header): as much of it as fits in the minimum MTU, rate limited
 * (RFC 4443 2.4 (f)), never about an ICMPv6 error or a multicast
 * destination except as 2.4 (e) allows. info: the MTU (Packet Too Big) or
 * the pointer (Parameter Problem), else 0. */
void icmp6_send_error(struct stack *st, const uint8_t *ip6, unsigned len, int type, int code,
		      uint32_t info);
#define ICMP6_DST_UNREACH     1
#define ICMP6_PACKET_TOO_BIG  2
#define ICMP6_TIME_EXCEEDED   3
#define ICMP6_PARAM_PROB      4
#define ICMP6_ECHO_REQUEST    128
#define ICMP6_ECHO_REPLY      129
#define ND_ROUTER_SOLICIT     133
#define ND_ROUTER_ADVERT      134
#define ND_NEIGHBOR_SOLICIT   135
#define ND_NEIGHBOR_ADVERT    136
#define ND_REDIRECT           137
/* Destination Unreachable codes (RFC 4443 3.1) */
#define ICMP6_DST_UNREACH_NOROUTE 0
#define ICMP6_DST_UNREACH_ADMIN   1
#define ICMP6_DST_UNREACH_ADDR    3
#define ICMP6_DST_UNREACH_NOPORT  4
/* Parameter Problem codes (RFC 4443 3.4) */
#define ICMP6_PARAMPROB_HEADER    0
#define ICMP6_PARAMPROB_NEXTHEADER 1
#define ICMP6_PARAMPROB_OPTION    2

/* ---- what the transports give the IPv6 layer (tcp_in.c, udp.c) ----------- */
/* p->data at the TCP header; src/dst from the IPv6 header. Consumes p. */
void tcp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst);
/* p->data at the UDP header (p->len bytes of UDP); ip6/ip6_len: the packet
 * from its IPv6 header on, for the Port Unreachable quote. Borrows p (the
 * caller frees it). */
void udp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst, const uint8_t *ip6, unsigned ip6_len);
/* An ICMPv6 error about a TCP segment / UDP datagram we sent: the addresses
 * and ports of the quoted header (ours first), the quoted TCP sequence
 * number; mtu for Packet Too Big. */
void tcp_icmp6_error(struct stack *st, int type, int code, uint32_t mtu,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport, uint32_t seq);
struct icmp_err_ctx;
int  icmp6_err_convert(int type, int code, int *hard);
void udp_icmp6_error(struct stack *st, int type, int code,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport, const struct icmp_err_ctx *c);


/* ==== Added with the implementation (ipv6.c, icmp6.c, nd6.c, ip6_frag.c) ==== */

/* ---- Neighbor Discovery (nd6.c), RFC 4861 10 "Protocol Constants" -------- */
#define ND6_CACHE_SIZE            64
#define ND6_PENDING_MAX           64      /* packets held per INCOMPLETE entry */
#define ND6_PENDING_TOTAL         1024    /* packets held behind all entries together */
#define ND6_MAX_MULTICAST_SOLICIT 3
#define ND6_MAX_UNICAST_SOLICIT   3
#define ND6_RETRANS_TIMER_US      1000000ull
#define ND6_REACHABLE_TIME_US     30000000ull
#define ND6_DELAY_FIRST_PROBE_US  5000000ull
#define ND6_MAX_RTR_SOLICIT       3
#define ND6_RTR_SOLICIT_INTERVAL_US 4000000ull
/* RFC 4862 5.1: DupAddrDetectTransmits 1, each RetransTimer apart. */
#define ND6_DAD_US                ND6_RETRANS_TIMER_US
#define ND6_ROUTERS               4       /* default router list */

/* RFC 4861 7.3.2 */
enum { ND6_FREE = 0, ND6_INCOMPLETE, ND6_REACHABLE, ND6_STALE, ND6_DELAY, ND6_PROBE };

struct nd6_entry {
	struct nst_addr ip;
	struct nst_addr ns_src; /* INCOMPLETE: source of the solicitations (RFC 4861 7.2.2) */
	uint8_t  mac[6];
	uint8_t  state;         /* ND6_* */
	uint8_t  tries;         /* solicitations sent (INCOMPLETE, PROBE) */
	uint8_t  is_router;
	uint64_t expires_at;    /* next event (retransmission, REACHABLE -> STALE,
	                         * DELAY -> PROBE); 0 in STALE: no timer */
	uint64_t used_at;       /* last update or use: the eviction order */
	struct pkt *pend_head, *pend_tail;
	unsigned pend_n;
};

struct nd6_router {
	struct nst_addr ip;     /* the router's link-local address; :: = free slot */
	uint64_t expires_at;    /* now + Router Lifetime */
};

struct nd6_table {
	struct nd6_entry e[ND6_CACHE_SIZE];
	unsigned hint;          /* slot of the last hit */
	unsigned pend_total;
	uint64_t deadline;      /* earliest entry event; may be early, never late */
	struct nd6_router rtr[ND6_ROUTERS];
};

/* ---- the stack's IPv6 state (ipv6.c) -------------------------------------- */
/* Our addresses (RFC 4862): OPTIMISTIC while Duplicate Address Detection runs
 * (usable at once, RFC 4429), PREFERRED after it, DUPLICATE when someone else
 * has it (never used again). */
enum { IP6A_NONE = 0, IP6A_OPTIMISTIC, IP6A_PREFERRED, IP6A_DUPLICATE };
struct ip6_ifaddr {
	struct nst_addr a;
	uint8_t state;          /* IP6A_* */
};

#define IP6_PMTU_SLOTS     16
#define IP6_PMTU_EXPIRE_US (600ull * 1000000)  /* RFC 8201 4: retry a larger PMTU after 10 min */
struct ip6_pmtu {
	struct nst_addr dst;
	uint32_t mtu;
	uint64_t expires_at;    /* 0: free */
};

#define ICMP6_RL_PEERS 16      /* the ICMPv4 limiter's shape (icmp.c), per destination */
struct icmp6_rl_peer {
	struct nst_addr addr;
	uint64_t tokens;
	uint64_t last_us;       /* 0: free */
};

struct ip6_ctx {
	struct ip6_ifaddr ll;   /* fe80::EUI-64 (RFC 4291 2.5.6, Appendix A) */
	struct ip6_ifaddr gl;   /* cfg.addr6, IP6A_NONE if none */
	int      started;       /* DAD and router solicitation sent (ipv6_start) */
	uint64_t dad_until;     /* end of DAD (0: over) */
	uint8_t  rs_sent;       /* router solicitations sent */
	uint64_t rs_next;       /* next one (0: none) */
	uint8_t  cur_hop_limit; /* an RA's Cur Hop Limit, 0: IP6_DEFAULT_HOPS */
	uint16_t link_mtu;      /* the device MTU, lowered by an RA's MTU option */
	struct ip6_pmtu pmtu[IP6_PMTU_SLOTS];
	struct icmp6_rl_peer rl[ICMP6_RL_PEERS];
};

/* IPv6 reassembly (ip6_frag.c), the ip_frag.c model: fixed slots, each a
 * 64 KB buffer allocated at its first use and kept; fragments are copied. */
#define IP6_FRAG_SLOTS      16
#define IP6_FRAG_RANGES     64
#define IP6_FRAG_TIMEOUT_US (60ull * 1000000)   /* RFC 8200 4.5: 60 seconds */
#define IP6_FRAG_MEM_MAX    (4u << 20)          /* Linux ip6frag_high_thresh */
#define IP6_FRAG_OVERHEAD   256                 /* charged per fragment */
#define IP6_FRAG_HDR_ROOM   256                 /* the first fragment's headers, in front */
#define IP6_FRAG_BUF_SIZE   (IP6_FRAG_HDR_ROOM + 65535)
struct ip6_frag_slot {
	uint8_t  in_use, have_first, have_last;
	uint8_t  next;          /* the Next Header of the first fragment's Fragment header */
	uint16_t hlen;          /* the first fragment's headers (IPv6 + unfragmentable + Fragment) */
	uint32_t id;
	struct nst_addr src, dst;
	uint32_t total;         /* fragmentable part length once have_last */
	uint32_t held, charge;
	uint64_t expires_at;
	unsigned n_ranges;
	struct { uint16_t start, end; } r[IP6_FRAG_RANGES];
	uint8_t *buf;           /* headers right-aligned before IP6_FRAG_HDR_ROOM, payload after */
};
struct ip6_frag_ctx {
	struct ip6_frag_slot *slot;     /* IP6_FRAG_SLOTS, allocated at stack_create */
	uint32_t mem, mem_max;
	uint64_t timeout_us;
	uint64_t next_deadline;
};

/* ---- the stack's entry points (stack.c) ----------------------------------- */
int      ipv6_init(struct stack *st);       /* at stack_create: 0 or -ENOMEM */
void     ipv6_fini(struct stack *st);
void     ipv6_timer(struct stack *st);      /* ND, DAD, RS, reassembly: what is due */
uint64_t ipv6_next_deadline(const struct stack *st);
/* 1 if a frame to Ethernet multicast mac is one we listen to: 33:33 + the
 * low 32 bits of all-nodes ff02::1 or of our solicited-node groups
 * (RFC 2464 7, RFC 4291 2.7.1). */
int      ipv6_mcast_mac_ours(const struct stack *st, const uint8_t mac[6]);
/* Duplicate Address Detection, unsolicited advertisement and router
 * solicitation: at stack_create when cfg names an IPv6 address or router,
 * else at the first IPv6 frame in or out (a stack used for IPv4 only stays
 * silent). Idempotent. */
void     ipv6_start(struct stack *st);

/* ---- inside the IPv6 layer ------------------------------------------------- */
/* Like ipv6_output with the IPv6 header's Next Header and flow label given
 * (Fragment headers, ND with source ::). Consumes p. */
int      ipv6_output_raw(struct stack *st, struct pkt *p, uint8_t next, const struct nst_addr *src,
			 const struct nst_addr *dst, uint32_t flow);
/* The upper-layer header of the IPv6 packet ip6 (len bytes): its protocol
 * and offset after the extension headers; -1 if they do not fit or a
 * non-first fragment hides it. */
int      ip6_find_l4(const uint8_t *ip6, unsigned len, uint8_t *proto, unsigned *off);
/* Continue the header walk of p (data at the IPv6 header) at off with next
 * header nh; reasm: p is a reassembled packet (no Hop-by-Hop any more).
 * Consumes p. */
void     ipv6_walk(struct stack *st, struct pkt *p, unsigned off, uint8_t nh, unsigned nh_off,
		   int mcast, int reasm);
/* Lower the path MTU towards dst (Packet Too Big, RFC 8201 4). */
void     ipv6_pmtu_update(struct stack *st, const struct nst_addr *dst, uint32_t mtu);
/* An address of ours that is (1) or was (0) in Duplicate Address Detection. */
int      ipv6_addr_optimistic(const struct stack *st, const struct nst_addr *a);
/* Mark a (ours) duplicate (RFC 4862 5.4.5). */
void     ipv6_addr_duplicate(struct stack *st, const struct nst_addr *a);
/* Solicited-node multicast address of a (RFC 4291 2.7.1). */
void     ip6_solicited_node(const struct nst_addr *a, struct nst_addr *out);
int      ip6_is_mcast(const struct nst_addr *a);
extern const struct nst_addr ip6_all_nodes, ip6_all_routers;

/* ICMPv6 (icmp6.c): checksum p (data at the ICMPv6 header) and send it. Consumes p. */
int      icmp6_output(struct stack *st, struct pkt *p, const struct nst_addr *src,
		      const struct nst_addr *dst, uint8_t hop_limit);

/* ND (nd6.c) */
/* An ND message (type 133..137), checksum verified. Consumes p. */
void     nd6_input(struct stack *st, struct pkt *p, const struct nst_addr *src,
		   const struct nst_addr *dst, uint8_t hop_limit);
/* Send p (data at the IPv6 header) to the on-link next hop nh: now if its
 * link-layer address is known, else queued behind a solicitation. Consumes p. */
int      nd6_output(struct stack *st, struct pkt *p, const struct nst_addr *nh);
void     nd6_timer(struct stack *st);
uint64_t nd6_next_deadline(const struct stack *st);
void     nd6_flush_all(struct stack *st);
/* Bytes of the packets waiting for a resolution (what process exit waits for). */
size_t   nd6_pending_bytes(const struct stack *st);
/* DAD probes for our addresses and the first router solicitation. */
void     nd6_start(struct stack *st);
/* Seed or refresh nh -> mac as REACHABLE and send what waited (tests). */
void     nd6_update(struct stack *st, const struct nst_addr *nh, const uint8_t mac[6]);
const struct nd6_entry *nd6_lookup(const struct stack *st, const struct nst_addr *nh);
/* A default router (RFC 4861 6.3.6), 0; -ENETUNREACH if none. */
int      nd6_default_router(const struct stack *st, struct nst_addr *out);

/* Reassembly (ip6_frag.c) */
int      ip6_frag_init(struct stack *st);
void     ip6_frag_fini(struct stack *st);
/* p (data at the IPv6 header) has a Fragment header at off, not atomic. Consumes p. */
void     ip6_frag_input(struct stack *st, struct pkt *p, unsigned off, int mcast);
void     ip6_frag_timer(struct stack *st);
uint64_t ip6_frag_next_deadline(const struct stack *st);

#endif
