/* Shared pieces of the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and of the
 * seed-corpus generator (make_corpus.c): a fresh stack on the in-memory
 * device per input, an input reader, a frame builder that fixes checksums up,
 * a checker for every frame the stack transmits, and the leak check.
 *
 * Everything is deterministic for a given input: the stack's randomness is a
 * splitmix64 reset per input, time is virtual and starts at FZ_T0. Anything
 * wrong is a crash (abort), which is what libFuzzer reports:
 *   - a sanitizer report (ASan: memory errors, leaks of malloc'd memory;
 *     UBSan: undefined behaviour, -fno-sanitize-recover so it aborts);
 *   - a packet leaked from the pool (pkt_pool_in_use() or
 *     pkt_pool_large_in_use() != 0 after stack_destroy and closing the
 *     device);
 *   - a malformed frame transmitted (bad IP/TCP/ICMP/UDP checksum or lengths,
 *     IPv4 or IPv6);
 *   - a broken TCB invariant (fz_check_tcbs: SND.UNA <= SND.NXT <= snd_max,
 *     ring bounds, out-of-order range count).
 */
#ifndef NSTACK_FUZZ_H
#define NSTACK_FUZZ_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stack/stack_impl.h"
#include "stack/csum.h"
#include "stack/tcp_seq.h"
#include "stack/splitmix64.h"
#include "shim/shim.h"

#define FZ_SEC   1000000ull
#define FZ_T0    (1000 * FZ_SEC)
#define FZ_ME    0xc6120002u    /* 198.18.0.2/24: the stack */
#define FZ_PEER  0xc6120001u    /* 198.18.0.1: the scripted peer (ARP seeded) */
#define FZ_GW    0xc61200feu    /* 198.18.0.254: gateway, never resolved unless the input does */
#define FZ_LO    0x7f000001u    /* 127.0.0.1 for loopback stacks */
/* IPv6 (documentation prefix, RFC 3849; nothing leaves the in-memory device):
 * the stack is 2001:db8::2/64, the peer 2001:db8::1 and fe80::aa:bbff:fecc:dd01
 * (its MAC's EUI-64), both in the neighbour cache. */
#define FZ_ME6      { .b = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 } }
#define FZ_PEER6    { .b = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } }
#define FZ_PEER6_LL { .b = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0xaa, 0xbb, 0xff, 0xfe, 0xcc, 0xdd, 0x01 } }
static const struct nst_addr fz_me6 = FZ_ME6, fz_peer6 = FZ_PEER6, fz_peer6_ll = FZ_PEER6_LL;
#define FZ_A4(a) nst_addr_from_v4(a)
#define FZ_POOL  1024           /* small, so that inputs can exhaust it */
#define FZ_POOL_LARGE 16        /* large packets: TCP frames beyond one MTU (GRO-like) */
#define FZ_MAX_SOCKETS 8

static const uint8_t fz_peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

static struct {
	struct netdev *dev, *other;
	struct stack  *st;
	uint64_t       now;
	uint64_t       rng;
	int            loopback;
} F;

__attribute__((noreturn, format(printf, 1, 2)))
static inline void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

static inline uint64_t fz_rand64(void *ctx)
{
	return splitmix64(ctx);
}

/* A fresh stack for one input. The pool is made once per process and must be
 * empty between inputs. */
static inline void fz_setup(int loopback)
{
	static int pool_ready;
	if (!pool_ready) {
		if (pkt_pool_init(FZ_POOL) != 0 || pkt_pool_init_large(FZ_POOL_LARGE) != 0)
			fz_fail("pkt_pool_init failed");
		pool_ready = 1;
	}
	if (pkt_pool_in_use() != 0 || pkt_pool_large_in_use() != 0)
		fz_fail("%u + %u packets in use before the input", pkt_pool_in_use(),
			pkt_pool_large_in_use());
	memset(&F, 0, sizeof(F));
	F.rng = 0x6e737461636bull;      /* the same ISS, ports and IP IDs for every input */
	F.now = FZ_T0;
	F.loopback = loopback;
	struct stack_config cfg = { .max_sockets = FZ_MAX_SOCKETS, .rand64 = fz_rand64, .rand_ctx = &F.rng };
	if (loopback) {
		F.dev = memdev_loop();
		cfg.loopback = 1;
		cfg.addr = FZ_LO;
		cfg.prefix_len = 8;
	} else {
		if (memdev_pair(&F.dev, &F.other) != 0)
			fz_fail("memdev_pair failed");
		cfg.addr = FZ_ME;
		cfg.prefix_len = 24;
		cfg.gw = FZ_GW;
		cfg.addr6 = fz_me6;
		cfg.prefix6_len = 64;
	}
	if (!F.dev)
		fz_fail("no device");
	F.st = stack_create(&cfg, F.dev, F.now);
	if (!F.st)
		fz_fail("stack_create failed");
	if (!loopback) {
		arp_update(F.st, FZ_PEER, fz_peer_mac);
		nd6_update(F.st, &fz_peer6, fz_peer_mac);
		nd6_update(F.st, &fz_peer6_ll, fz_peer_mac);
	}
}

/* Packets the harness holds to starve the stack (pool exhaustion paths). */
static struct pkt_queue fz_held;
static inline void fz_hold(unsigned leave_free)
{
	struct pkt *p;
	while (pkt_pool_size() - pkt_pool_in_use() > leave_free && (p = pkt_alloc()))
		pkt_queue_push(&fz_held, p);
}
static inline void fz_release(void) { pkt_queue_purge(&fz_held); }

/* stack_destroy must give back every packet: a leak is a crash. */
static inline void fz_teardown(void)
{
	fz_release();
	stack_destroy(F.st);
	netdev_close(F.dev);
	if (F.other)
		netdev_close(F.other);
	F.st = NULL;
	F.dev = F.other = NULL;
	if (pkt_pool_in_use() != 0 || pkt_pool_large_in_use() != 0)
		fz_fail("packet leak: %u + %u (large) packets in use after stack_destroy",
			pkt_pool_in_use(), pkt_pool_large_in_use());
}

/* ---- input reader: reads past the end give zeros ---------------------- */
struct fz_in {
	const uint8_t *p;
	size_t n;
};
static inline int fz_more(const struct fz_in *in) { return in->n > 0; }
static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}
static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_u8(in);
	return (uint16_t)(hi << 8 | fz_u8(in));
}
static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t hi = fz_u16(in);
	return hi << 16 | fz_u16(in);
}
/* Up to n bytes of the input (fewer at its end); returns how many. */
static inline size_t fz_bytes(struct fz_in *in, uint8_t *out, size_t n)
{
	if (n > in->n)
		n = in->n;
	memcpy(out, in->p, n);
	in->p += n;
	in->n -= n;
	return n;
}

/* Time jumps chosen by 3 bits: nothing, a tick, a delayed ACK, an RTO,
 * a SYN retry, 2MSL, and past every timer. */
static const uint64_t fz_jumps[8] = {
	0, 1, 1000, 40000, 200000, 1 * FZ_SEC, 60 * FZ_SEC, 130 * FZ_SEC,
};

/* ---- frames ------------------------------------------------------------ */

/* Make the IPv4 header checksum and the TCP/UDP/ICMP checksum of an
 * Ethernet frame right, where the lengths allow, so that fuzzed frames get
 * past the checksum checks and into the protocol logic. */
static inline void fz_fix_checksums6(uint8_t *f, size_t len);
static inline void fz_fix_checksums(uint8_t *f, size_t len)
{
	if (len >= ETH_HDR_LEN + IP6_HDR_LEN && f[12] == 0x86 && f[13] == 0xdd) {
		fz_fix_checksums6(f, len);
		return;
	}
	if (len < ETH_HDR_LEN + IP_HDR_LEN || f[12] != 0x08 || f[13] != 0x00)
		return;
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HDR_LEN);
	size_t hlen = (ih->ver_ihl & 0xf) * 4u, avail = len - ETH_HDR_LEN;
	if (hlen < IP_HDR_LEN || hlen > avail)
		return;
	ih->csum = 0;
	ih->csum = htons(csum(ih, hlen));
	size_t total = ntohs(ih->total_len);
	if (total < hlen || total > avail)
		return;
	uint8_t *l4 = f + ETH_HDR_LEN + hlen;
	size_t l4len = total - hlen;
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	size_t at;
	switch (ih->proto) {
	case IP_PROTO_TCP: at = 16; break;
	case IP_PROTO_UDP: at = 6; break;
	case IP_PROTO_ICMP: at = 2; break;
	default: return;
	}
	if (l4len < at + 2)
		return;
	l4[at] = l4[at + 1] = 0;
	uint32_t sum = ih->proto == IP_PROTO_ICMP ? 0 : csum_pseudo(src, dst, ih->proto, (uint16_t)l4len);
	uint16_t c = csum_fold(csum_add(sum, l4, l4len));
	if (ih->proto == IP_PROTO_UDP && c == 0)
		c = 0xffff;     /* RFC 768: 0 means no checksum */
	l4[at] = (uint8_t)(c >> 8);
	l4[at + 1] = (uint8_t)c;
}

/* The upper-layer header of the IPv6 packet ip6 (len bytes, payload length
 * already checked against it): walks Hop-by-Hop, Routing and Destination
 * Options headers and an atomic or first Fragment header; sets *proto and
 * *off. Returns 1 if the checksum can be checked there (the whole datagram
 * is in this packet: no fragment but an atomic one), 0 if not (*off 0 for a
 * later fragment, which has no upper-layer header), -1 if the headers run
 * past the packet. */
static inline int fz_ip6_l4(const uint8_t *ip6, size_t len, uint8_t *proto, size_t *off)
{
	uint8_t nh = ip6[6];
	size_t o = IP6_HDR_LEN;
	int whole = 1;
	*off = 0;
	for (int i = 0; i < 8; i++) {
		if (nh != IP6_NH_HOPOPTS && nh != IP6_NH_ROUTING && nh != IP6_NH_DSTOPTS &&
		    nh != IP6_NH_FRAGMENT)
			break;
		if (o + 8 > len)
			return -1;
		size_t hl = nh == IP6_NH_FRAGMENT ? 8 : (ip6[o + 1] + 1u) * 8;
		if (nh == IP6_NH_FRAGMENT) {
			if (ip6[o + 2] | (ip6[o + 3] & 0xf8))
				return 0;       /* a later fragment: no upper-layer header here */
			if (ip6[o + 3] & 1)
				whole = 0;      /* the first of several */
		}
		nh = ip6[o];
		o += hl;
	}
	if (o > len)
		return -1;
	*proto = nh;
	*off = o;
	return whole;
}

/* fz_fix_checksums for an IPv6 frame: the TCP/UDP/ICMPv6 checksum, when the
 * packet holds the whole upper-layer message. */
static inline void fz_fix_checksums6(uint8_t *f, size_t len)
{
	uint8_t *ip6 = f + ETH_HDR_LEN;
	size_t plen = (size_t)(ip6[4] << 8 | ip6[5]);
	if (IP6_HDR_LEN + plen > len - ETH_HDR_LEN)
		return;
	uint8_t proto;
	size_t off, at;
	if (fz_ip6_l4(ip6, IP6_HDR_LEN + plen, &proto, &off) != 1)
		return;
	switch (proto) {
	case IP6_NH_TCP: at = 16; break;
	case IP6_NH_UDP: at = 6; break;
	case IP6_NH_ICMPV6: at = 2; break;
	default: return;
	}
	size_t l4len = IP6_HDR_LEN + plen - off;
	if (l4len < at + 2)
		return;
	uint8_t *l4 = ip6 + off;
	struct nst_addr s6, d6;
	memcpy(s6.b, ip6 + 8, 16);
	memcpy(d6.b, ip6 + 24, 16);
	l4[at] = l4[at + 1] = 0;
	uint16_t c = csum_fold(csum_add(csum_pseudo6(&s6, &d6, proto, (uint32_t)l4len), l4, l4len));
	if (proto == IP6_NH_UDP && c == 0)
		c = 0xffff;
	l4[at] = (uint8_t)(c >> 8);
	l4[at + 1] = (uint8_t)c;
}

/* Hand a raw frame to the device's receive queue (dropped if the pool is
 * exhausted, as a real device would). */
static inline void fz_inject_raw(const uint8_t *f, size_t len, uint16_t pkt_flags)
{
	if (len > PKT_MAX_FRAME)
		len = PKT_MAX_FRAME;
	struct pkt *p = pkt_alloc();
	if (!p)
		return;
	memcpy(pkt_put(p, len), f, len);
	p->flags = pkt_flags;
	memdev_inject(F.dev, p);
}

/* Ethernet + IPv4 (src and dst v4-mapped) or IPv6 + TCP from src to dst
 * with valid checksums. opt is padded to a multiple of 4 with zeros (end of
 * option list). */
struct fz_seg {
	struct nst_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd, urp;
	const uint8_t *opt;
	size_t   optlen;        /* <= 40 */
	const uint8_t *data;
	size_t   len;
	int      bad_off;       /* data offset from off_val instead of the real one */
	uint8_t  off_val;
};

static inline size_t fz_build_tcp(uint8_t *f, size_t cap, const struct fz_seg *s)
{
	size_t olen = s->optlen > 40 ? 40 : s->optlen;
	size_t opad = (olen + 3) & ~(size_t)3;
	size_t hlen = 20 + opad;
	size_t dlen = s->len;
	int v4 = nst_addr_is_v4(&s->src) && nst_addr_is_v4(&s->dst);
	size_t iplen = v4 ? IP_HDR_LEN : IP6_HDR_LEN;
	if (ETH_HDR_LEN + iplen + hlen + dlen > cap)
		dlen = cap - ETH_HDR_LEN - iplen - hlen;
	size_t tlen = hlen + dlen;
	memset(f, 0, ETH_HDR_LEN + iplen + hlen);
	struct eth_hdr *eh = (struct eth_hdr *)f;
	memcpy(eh->dst, F.dev->mac, 6);
	memcpy(eh->src, fz_peer_mac, 6);
	uint32_t sum;
	if (v4) {
		eh->type = htons(ETH_P_IPV4);
		struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HDR_LEN);
		ih->ver_ihl = 0x45;
		ih->total_len = htons((uint16_t)(IP_HDR_LEN + tlen));
		ih->ttl = 64;
		ih->frag = htons(IP_DF);
		ih->proto = IP_PROTO_TCP;
		ih->src = htonl(nst_addr_v4(&s->src));
		ih->dst = htonl(nst_addr_v4(&s->dst));
		ih->csum = htons(csum(ih, IP_HDR_LEN));
		sum = csum_pseudo(nst_addr_v4(&s->src), nst_addr_v4(&s->dst), IP_PROTO_TCP, (uint16_t)tlen);
	} else {
		eh->type = htons(ETH_P_IPV6);
		uint8_t *ip6 = f + ETH_HDR_LEN;
		ip6[0] = 0x60;
		ip6[4] = (uint8_t)(tlen >> 8);
		ip6[5] = (uint8_t)tlen;
		ip6[6] = IP6_NH_TCP;
		ip6[7] = 64;
		memcpy(ip6 + 8, s->src.b, 16);
		memcpy(ip6 + 24, s->dst.b, 16);
		sum = csum_pseudo6(&s->src, &s->dst, IP6_NH_TCP, (uint32_t)tlen);
	}
	uint8_t *b = f + ETH_HDR_LEN + iplen;
	struct tcp_hdr *h = (struct tcp_hdr *)b;
	h->sport = htons(s->sport);
	h->dport = htons(s->dport);
	h->seq = htonl(s->seq);
	h->ack = htonl(s->ack);
	h->off = s->bad_off ? s->off_val : (uint8_t)((hlen / 4) << 4);
	h->flags = s->flags;
	h->wnd = htons(s->wnd);
	h->urp = htons(s->urp);
	if (olen)
		memcpy(b + 20, s->opt, olen);
	if (dlen)
		memcpy(b + hlen, s->data, dlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	return ETH_HDR_LEN + iplen + tlen;
}

/* The TCP frame of s; one longer than an MTU (a merged frame, as a GRO
 * device hands up) in a large packet, dropped when the large pool is
 * exhausted. */
#define FZ_TCP_MAX_FRAME (ETH_HDR_LEN + IP6_HDR_LEN + 60 + 18000)
static inline void fz_inject_tcp(const struct fz_seg *s)
{
	static uint8_t f[FZ_TCP_MAX_FRAME];
	size_t n = fz_build_tcp(f, s->len > 1500 ? sizeof(f) : PKT_MAX_FRAME, s);
	if (n <= PKT_MAX_FRAME) {
		fz_inject_raw(f, n, 0);
		return;
	}
	struct pkt *p = pkt_alloc_large();
	if (!p)
		return;
	memcpy(pkt_put(p, n), f, n);
	memdev_inject(F.dev, p);
}

/* ---- what the stack transmits ------------------------------------------ */

/* A TCP segment the stack sent, for the scripted peer (IPv4 addresses
 * v4-mapped). */
struct fz_out {
	struct nst_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd;
	uint32_t len;           /* payload bytes */
};

/* The upper-layer message of a frame the stack sent (either family;
 * csum_ok 0: the checksum is not checkable, a fragment). Returns 1 for a
 * TCP segment (o filled if not NULL), else 0. */
static inline int fz_check_l4(uint8_t proto, const struct nst_addr *src, const struct nst_addr *dst,
			      const uint8_t *l4, size_t l4len, int csum_ok, struct fz_out *o)
{
	int v4 = nst_addr_is_v4(src);
	uint32_t ps = v4 ? csum_pseudo(nst_addr_v4(src), nst_addr_v4(dst), proto, (uint16_t)l4len)
			 : csum_pseudo6(src, dst, proto, (uint32_t)l4len);
	switch (proto) {
	case IP_PROTO_TCP: {
		if (l4len < 20)
			fz_fail("tx TCP segment of %zu bytes", l4len);
		size_t thl = (l4[12] >> 4) * 4u;
		if (thl < 20 || thl > l4len)
			fz_fail("tx TCP data offset %zu of %zu", thl, l4len);
		if (csum_ok && csum_fold(csum_add(ps, l4, l4len)) != 0)
			fz_fail("tx TCP checksum (IPv%d)", v4 ? 4 : 6);
		if (!o)
			return 0;
		const struct tcp_hdr *h = (const struct tcp_hdr *)l4;
		o->src = *src;
		o->dst = *dst;
		o->sport = ntohs(h->sport);
		o->dport = ntohs(h->dport);
		o->seq = ntohl(h->seq);
		o->ack = ntohl(h->ack);
		o->flags = h->flags;
		o->wnd = ntohs(h->wnd);
		o->len = (uint32_t)(l4len - thl);
		return 1;
	}
	case IP_PROTO_UDP:
		if (l4len < 8 || (csum_ok && (size_t)(l4[4] << 8 | l4[5]) != l4len))
			fz_fail("tx UDP length (IPv%d)", v4 ? 4 : 6);
		/* RFC 8200 8.1: over IPv6 the UDP checksum is not optional */
		if (csum_ok && (l4[6] | l4[7] || !v4) && csum_fold(csum_add(ps, l4, l4len)) != 0)
			fz_fail("tx UDP checksum (IPv%d)", v4 ? 4 : 6);
		return 0;
	case IP_PROTO_ICMP:
		if (!v4)
			break;
		if (l4len < 8 || (csum_ok && csum(l4, l4len) != 0))
			fz_fail("tx ICMP message: %zu bytes or bad checksum", l4len);
		return 0;
	case IP6_NH_ICMPV6:
		if (v4)
			break;
		if (l4len < 4 || (csum_ok && csum_fold(csum_add(ps, l4, l4len)) != 0))
			fz_fail("tx ICMPv6 message: %zu bytes or bad checksum", l4len);
		return 0;
	case IP6_NH_NONE:
		if (!v4)
			return 0;
		break;
	}
	fz_fail("tx IPv%d protocol %u", v4 ? 4 : 6, proto);
}

/* Every frame the stack sends must be well formed: the peer (a kernel)
 * would drop it otherwise, and a bad one means a length or offset bug. */
static inline int fz_check_tx(const struct pkt *p, struct fz_out *o)
{
	const uint8_t *f = p->data;
	size_t len = p->len;
	if (len < 60 || len > ETH_HDR_LEN + (size_t)F.dev->mtu)
		fz_fail("tx frame of %zu bytes", len);
	if (memcmp(f + 6, F.dev->mac, 6) != 0)
		fz_fail("tx frame with a foreign source MAC");
	uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == ETH_P_ARP) {
		if (len < ETH_HDR_LEN + 28)
			fz_fail("short ARP frame");
		return 0;
	}
	if (type == ETH_P_IPV6) {
		/* IPv6 (ND, ICMPv6, the transports over IPv6): the header, its
		 * length, the extension headers, and the upper-layer message. */
		const uint8_t *ip6 = f + ETH_HDR_LEN;
		size_t plen = (size_t)(ip6[4] << 8 | ip6[5]);
		if (len < ETH_HDR_LEN + 40 || (ip6[0] >> 4) != 6 || 40 + plen > len - ETH_HDR_LEN)
			fz_fail("tx IPv6 header: version %u payload %zu frame %zu", ip6[0] >> 4, plen, len);
		struct nst_addr s6, d6;
		memcpy(s6.b, ip6 + 8, 16);
		memcpy(d6.b, ip6 + 24, 16);
		if (nst_addr_is_v4(&s6) || nst_addr_is_v4(&d6) || ip6_is_mcast(&s6) || nst_addr_is_unspec(&d6))
			fz_fail("tx IPv6 packet with a v4-mapped, multicast source or unspecified address");
		uint8_t proto;
		size_t off;
		int whole = fz_ip6_l4(ip6, IP6_HDR_LEN + plen, &proto, &off);
		if (whole < 0)
			fz_fail("tx IPv6 extension headers past the payload (%zu bytes)", plen);
		if (!whole && off == 0)
			return 0;       /* a later fragment */
		return fz_check_l4(proto, &s6, &d6, ip6 + off, IP6_HDR_LEN + plen - off, whole, o);
	}
	if (type != ETH_P_IPV4)
		fz_fail("tx frame with ethertype %#x", type);
	const struct ip_hdr *ih = (const struct ip_hdr *)(f + ETH_HDR_LEN);
	size_t hlen = (ih->ver_ihl & 0xf) * 4u, total = ntohs(ih->total_len);
	if ((ih->ver_ihl >> 4) != 4 || hlen < IP_HDR_LEN || total < hlen || total > len - ETH_HDR_LEN)
		fz_fail("tx IPv4 header: ver_ihl %#x total %zu frame %zu", ih->ver_ihl, total, len);
	if (csum(ih, hlen) != 0)
		fz_fail("tx IPv4 header checksum");
	uint16_t frag = ntohs(ih->frag);
	if (frag & IP_OFFMASK)
		return 0;       /* a later fragment */
	struct nst_addr src = FZ_A4(ntohl(ih->src)), dst = FZ_A4(ntohl(ih->dst));
	return fz_check_l4(ih->proto, &src, &dst, (const uint8_t *)ih + hlen, total - hlen,
			   !(frag & IP_MF), o);
}

/* Take everything the stack transmitted, check it, and show each TCP
 * segment to cb (may be NULL). Not for loopback stacks (their frames are
 * their own input). */
static inline void fz_drain(void (*cb)(const struct fz_out *o))
{
	struct pkt *p;
	while ((p = memdev_take(F.dev))) {
		struct fz_out o;
		if (fz_check_tx(p, &o) && cb)
			cb(&o);
		pkt_free(p);
	}
}

/* Invariants of every TCB between two entry points (RFC 9293 3.3.1:
 * SND.UNA <= SND.NXT; snd_max is the highest sent). A broken one is a crash
 * even when nothing else notices yet. */
static inline void fz_check_tcbs(void)
{
	for (unsigned i = 0; i < F.st->tcp.cap; i++) {
		const struct tcb *t = &F.st->tcp.tcb[i];
		if (!t->in_use)
			continue;
		if (t->state > TCP_TIME_WAIT)
			fz_fail("tcb %u: state %u", i, t->state);
		if (t->state >= TCP_SYN_SENT &&
		    (seq_gt(t->snd.una, t->snd.nxt) || seq_gt(t->snd.nxt, t->snd_max)))
			fz_fail("tcb %u (state %u): snd.una %u snd.nxt %u snd_max %u", i, t->state,
				t->snd.una, t->snd.nxt, t->snd_max);
		if (t->sndbuf.len > t->sndbuf.size || t->rcvbuf.len > t->rcvbuf.size ||
		    (t->sndbuf.size && t->sndbuf.head >= t->sndbuf.size) ||
		    (t->rcvbuf.size && t->rcvbuf.head >= t->rcvbuf.size))
			fz_fail("tcb %u: ring out of bounds: snd %u+%u/%u rcv %u+%u/%u", i, t->sndbuf.head,
				t->sndbuf.len, t->sndbuf.size, t->rcvbuf.head, t->rcvbuf.len, t->rcvbuf.size);
		if (t->n_ooo > TCP_OOO_MAX)
			fz_fail("tcb %u: %u out-of-order ranges", i, t->n_ooo);
	}
}

/* Run the stack at F.now (device input, timers, flush). */
static inline void fz_poll(void)
{
	F.st->now_us = F.now;
	stack_poll(F.st, F.now);
}

#endif
