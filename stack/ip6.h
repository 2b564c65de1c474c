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
void udp_icmp6_error(struct stack *st, int type, int code,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport);

#endif
