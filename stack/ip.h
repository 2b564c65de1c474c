/* Ethernet, ARP, IPv4 and ICMP: the layers under the transports. */
#ifndef NSTACK_IP_H
#define NSTACK_IP_H

#include <stdint.h>
#include "pkt.h"

struct stack;

#define ETH_HDR_LEN   14
#define ETH_P_IPV4    0x0800
#define ETH_P_ARP     0x0806
#define IP_HDR_LEN    20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP  6
#define IP_PROTO_UDP  17
#define IP_DEFAULT_TTL 64

struct eth_hdr {
	uint8_t  dst[6];
	uint8_t  src[6];
	uint16_t type;          /* network order */
} __attribute__((packed));

struct ip_hdr {
	uint8_t  ver_ihl;
	uint8_t  tos;
	uint16_t total_len;
	uint16_t id;
	uint16_t frag;          /* flags + fragment offset */
	uint8_t  ttl;
	uint8_t  proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFMASK 0x1fff

/* Input: each consumes p. p->data points at the layer's own header. */
void eth_input(struct stack *st, struct pkt *p);
void arp_input(struct stack *st, struct pkt *p);
void ipv4_input(struct stack *st, struct pkt *p);
/* p->data at the ICMP header; the IP header is just before it (hlen bytes). */
void icmp_input(struct stack *st, struct pkt *p, unsigned hlen, uint32_t src, uint32_t dst);

/* Output. p->data points at the L4 header; ipv4_output prepends the IP
 * header, routes (on-link, gateway, loopback), resolves the next hop through
 * ARP (queueing while unresolved) and hands the frame to the device.
 * Consumes p. Returns 0, or -ENETUNREACH / -ENOBUFS (p freed). */
int  ipv4_output(struct stack *st, struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst);
/* Either family: ipv4_output for a v4-mapped dst, else ipv6_output. */
struct nst_addr;
int  ip_output(struct stack *st, struct pkt *p, uint8_t proto, const struct nst_addr *src,
	       const struct nst_addr *dst);
/* The source address to use towards dst. */
uint32_t ipv4_src_for(const struct stack *st, uint32_t dst);
/* Prepend an Ethernet header and queue on the device. Consumes p. */
int  eth_output(struct stack *st, struct pkt *p, const uint8_t dst_mac[6], uint16_t type);

/* ARP (RFC 826) */
#define ARP_CACHE_SIZE   256
#define ARP_PENDING_MAX  64     /* packets held per unresolved entry */
#define ARP_PENDING_TOTAL 1024  /* packets held behind all unresolved entries together */
#define ARP_REACHABLE_US (60ull * 1000000)   /* entry lifetime */
#define ARP_RETRY_US     (1000000)           /* request retransmission interval */
/* The first retransmission comes sooner: a request sent in the moment a TAP
 * comes up can be lost on the kernel side (about 1 connect in 35 waited the
 * full second), and a lost first request is what a user feels. */
#define ARP_RETRY_FIRST_US (200000)
#define ARP_MAX_TRIES    3

struct pkt_queue;
struct arp_entry {
	uint32_t ip;            /* 0: free slot */
	uint8_t  mac[6];
	uint8_t  state;         /* ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE */
	uint8_t  tries;
	uint64_t expires_at;    /* REACHABLE: expiry; INCOMPLETE: next retry */
	struct pkt *pend_head, *pend_tail;
	unsigned pend_n;
};
enum { ARP_FREE = 0, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_table {
	struct arp_entry e[ARP_CACHE_SIZE];
	unsigned hint;          /* slot of the last lookup hit: most frames go to one next hop */
	unsigned pend_total;    /* packets queued behind every entry */
	uint64_t deadline;      /* earliest expires_at; may be early (a cleared slot), never late */
};

/* Send p (an IP packet, data at the IP header) to next hop nh: now if the
 * MAC is known, else queued behind an ARP request. Consumes p. */
int      arp_output(struct stack *st, struct pkt *p, uint32_t nh);
void     arp_timer(struct stack *st);
uint64_t arp_next_deadline(const struct stack *st);
const struct arp_entry *arp_lookup(const struct stack *st, uint32_t ip);
/* Learn (or refresh) ip -> mac and send what waited for it (tests seed the cache with it). */
void     arp_update(struct stack *st, uint32_t ip, const uint8_t mac[6]);
void     arp_flush_all(struct stack *st);   /* free every pending packet */
size_t   arp_pending_bytes(const struct stack *st);  /* bytes of the packets waiting for a resolution */

#endif
