/* IPv4 fragmentation on output and reassembly on input (RFC 791 3.2,
 * RFC 815), with RFC 5722's rule for overlaps (written for IPv6, applied here
 * as Linux applies it to IPv4 since 4.19: an overlapping fragment discards
 * the whole datagram; an exact duplicate is dropped alone).
 *
 * Memory: IP_FRAG_SLOTS reassembly slots, their metadata allocated at
 * stack_create; each slot's 64 KB buffer is allocated (cfg.mem) at its first
 * use and kept for reuse (like the TCP rings, a deliberate exception to "no
 * malloc after init"). Fragments are copied into the slot's buffer at their offset,
 * so no packet is held. What is charged against the limits is the payload
 * held plus IP_FRAG_OVERHEAD per fragment (Linux charges skb truesize).
 */
#ifndef NSTACK_IP_FRAG_H
#define NSTACK_IP_FRAG_H

#include <stdint.h>
#include "pkt.h"

struct stack;

#define IP_FRAG_SLOTS      64           /* datagrams being reassembled at once */
#define IP_FRAG_RANGES     64           /* fragments per datagram (more: dropped, counted) */
#define IP_FRAG_TIMEOUT_US (30ull * 1000000)  /* Linux ipfrag_time: 30 s (RFC 791 suggests 15 s) */
#define IP_FRAG_MEM_MAX    (4u << 20)   /* Linux ipfrag_high_thresh: 4 MB in all */
#define IP_FRAG_SRC_MEM_MAX (1u << 20)  /* one source may hold at most this much */
#define IP_FRAG_OVERHEAD   256          /* charged per fragment on top of its payload */
#define IP_MAX_DGRAM       65535

struct ip_frag_range { uint16_t start, end; };   /* payload bytes [start, end) held */

struct ip_frag_slot {
	uint8_t  in_use;
	uint8_t  have_last;     /* the fragment with MF clear arrived: total known */
	uint8_t  have_first;    /* offset 0 arrived: ip header saved at buf */
	uint8_t  hlen;          /* header length of the first fragment */
	uint8_t  proto;
	uint16_t id;
	uint32_t src, dst;
	uint32_t total;         /* payload length once have_last */
	uint32_t held;          /* payload bytes held */
	uint32_t charge;        /* bytes charged against the limits */
	uint64_t expires_at;
	unsigned n_ranges;
	struct ip_frag_range r[IP_FRAG_RANGES];   /* sorted by start, never overlapping */
	uint8_t *buf;           /* 60 bytes of IP header, then the payload at its offset */
};

struct ip_frag_ctx {
	struct ip_frag_slot *slot;      /* IP_FRAG_SLOTS */
	uint32_t mem;                   /* bytes charged in all */
	uint32_t mem_max, src_mem_max;  /* limits (tests lower them) */
	uint64_t timeout_us;
	uint64_t next_deadline;         /* earliest expiry, 0: none */
};

#define IP_FRAG_HDR_ROOM 60         /* room for the largest IP header in front of the payload */
#define IP_FRAG_BUF_SIZE (IP_FRAG_HDR_ROOM + IP_MAX_DGRAM)   /* a slot's buffer */

int      ip_frag_init(struct stack *st);
void     ip_frag_fini(struct stack *st);
/* A fragment (p->data at the IP header, already validated by ipv4_input,
 * trimmed to the total length). Consumes p. Delivers the datagram when it
 * is complete. */
void     ip_frag_input(struct stack *st, struct pkt *p);
void     ip_frag_timer(struct stack *st);
uint64_t ip_frag_next_deadline(const struct stack *st);

/* Send the L4 datagram hdr (hlen bytes, e.g. the UDP header) + data (len
 * bytes) to dst in fragments that fit the device MTU (RFC 791 3.2
 * "Fragmentation"). Returns 0 or -errno (ENOBUFS, ENETUNREACH). */
int      ip_frag_output(struct stack *st, uint8_t proto, uint8_t tos, uint8_t ttl, uint32_t src, uint32_t dst,
			const void *hdr, unsigned hlen, const void *data, unsigned len);

/* ipv4.c services for fragments and reassembled datagrams */
/* Hand p (data at the L4 header, length exact) to its protocol; the IP
 * header (hlen bytes) lies just in front of p->data. Consumes p. */
void     ipv4_demux(struct stack *st, struct pkt *p, unsigned hlen, uint8_t proto,
		    uint32_t src, uint32_t dst, int bcast);
/* Prepend an IP header with the given id and flags/offset field and send p
 * towards dst (routing as ipv4_output). Consumes p. */
int      ipv4_output_raw(struct stack *st, struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst,
			 uint16_t id, uint16_t frag);

#endif
