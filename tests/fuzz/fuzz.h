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
 *   - a packet leaked from the pool (pkt_pool_in_use() != 0 after
 *     stack_destroy and closing the device);
 *   - a malformed frame transmitted (bad IP/TCP/ICMP/UDP checksum or lengths);
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
#define FZ_POOL  1024           /* small, so that inputs can exhaust it */
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
		if (pkt_pool_init(FZ_POOL) != 0)
			fz_fail("pkt_pool_init failed");
		pool_ready = 1;
	}
	if (pkt_pool_in_use() != 0)
		fz_fail("%u packets in use before the input", pkt_pool_in_use());
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
	}
	if (!F.dev)
		fz_fail("no device");
	F.st = stack_create(&cfg, F.dev, F.now);
	if (!F.st)
		fz_fail("stack_create failed");
	if (!loopback)
		arp_update(F.st, FZ_PEER, fz_peer_mac);
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
	if (pkt_pool_in_use() != 0)
		fz_fail("packet leak: %u packets in use after stack_destroy", pkt_pool_in_use());
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
static inline void fz_fix_checksums(uint8_t *f, size_t len)
{
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

/* Ethernet + IPv4 + TCP from src to dst with valid checksums. opt is padded
 * to a multiple of 4 with zeros (end of option list). */
struct fz_seg {
	uint32_t src, dst;
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
	if (ETH_HDR_LEN + IP_HDR_LEN + hlen + dlen > cap)
		dlen = cap - ETH_HDR_LEN - IP_HDR_LEN - hlen;
	size_t tlen = hlen + dlen;
	memset(f, 0, ETH_HDR_LEN + IP_HDR_LEN + hlen);
	struct eth_hdr *eh = (struct eth_hdr *)f;
	memcpy(eh->dst, F.dev->mac, 6);
	memcpy(eh->src, fz_peer_mac, 6);
	eh->type = htons(ETH_P_IPV4);
	struct ip_hdr *ih = (struct ip_hdr *)(f + ETH_HDR_LEN);
	ih->ver_ihl = 0x45;
	ih->total_len = htons((uint16_t)(IP_HDR_LEN + tlen));
	ih->ttl = 64;
	ih->frag = htons(IP_DF);
	ih->proto = IP_PROTO_TCP;
	ih->src = htonl(s->src);
	ih->dst = htonl(s->dst);
	ih->csum = htons(csum(ih, IP_HDR_LEN));
	uint8_t *b = f + ETH_HDR_LEN + IP_HDR_LEN;
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
	uint32_t sum = csum_pseudo(s->src, s->dst, IP_PROTO_TCP, (uint16_t)tlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	return ETH_HDR_LEN + IP_HDR_LEN + tlen;
}

static inline void fz_inject_tcp(const struct fz_seg *s)
{
	uint8_t f[PKT_MAX_FRAME];
	size_t n = fz_build_tcp(f, sizeof(f), s);
	fz_inject_raw(f, n, 0);
}

/* ---- what the stack transmits ------------------------------------------ */

/* A TCP segment the stack sent, for the scripted peer. */
struct fz_out {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd;
	uint32_t len;           /* payload bytes */
};

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
	if (type == 0x86dd) {
		/* IPv6 (ND, ICMPv6, the transports over IPv6): the header and its
		 * length; the checksum of an ICMPv6 message right after it. */
		const uint8_t *ip6 = f + ETH_HDR_LEN;
		size_t plen = (size_t)(ip6[4] << 8 | ip6[5]);
		if (len < ETH_HDR_LEN + 40 || (ip6[0] >> 4) != 6 || 40 + plen > len - ETH_HDR_LEN)
			fz_fail("tx IPv6 header: version %u payload %zu frame %zu", ip6[0] >> 4, plen, len);
		if (ip6[6] == 58) {
			struct nst_addr s6, d6;
			memcpy(s6.b, ip6 + 8, 16);
			memcpy(d6.b, ip6 + 24, 16);
			if (plen < 4 || csum_fold(csum_add(csum_pseudo6(&s6, &d6, 58, (uint32_t)plen), ip6 + 40, plen)) != 0)
				fz_fail("tx ICMPv6 message: %zu bytes or bad checksum", plen);
		}
		return 0;
	}
	if (type != ETH_P_IPV4)
		fz_fail("tx frame with ethertype %#x", type);
	const struct ip_hdr *ih = (const struct ip_hdr *)(f + ETH_HDR_LEN);
	size_t hlen = (ih->ver_ihl & 0xf) * 4u, total = ntohs(ih->total_len);
	if ((ih->ver_ihl >> 4) != 4 || hlen < IP_HDR_LEN || total < hlen || total > len - ETH_HDR_LEN)
		fz_fail("tx IPv4 header: ver_ihl %#x total %zu frame %zu", ih->ver_ihl, total, len);
	if (csum(ih, hlen) != 0)
		fz_fail("tx IPv4 header checksum");
	const uint8_t *l4 = f + ETH_HDR_LEN + hlen;
	size_t l4len = total - hlen;
	uint32_t src = ntohl(ih->src), dst = ntohl(ih->dst);
	switch (ih->proto) {
	case IP_PROTO_TCP: {
		if (l4len < 20)
			fz_fail("tx TCP segment of %zu bytes", l4len);
		size_t thl = (l4[12] >> 4) * 4u;
		if (thl < 20 || thl > l4len)
			fz_fail("tx TCP data offset %zu of %zu", thl, l4len);
		if (csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_TCP, (uint16_t)l4len), l4, l4len)) != 0)
			fz_fail("tx TCP checksum");
		if (!o)
			return 0;
		const struct tcp_hdr *h = (const struct tcp_hdr *)l4;
		o->src = src;
		o->dst = dst;
		o->sport = ntohs(h->sport);
		o->dport = ntohs(h->dport);
		o->seq = ntohl(h->seq);
		o->ack = ntohl(h->ack);
		o->flags = h->flags;
		o->wnd = ntohs(h->wnd);
		o->len = (uint32_t)(l4len - thl);
		return 1;
	}
	case IP_PROTO_ICMP:
		if (l4len < 8 || csum(l4, l4len) != 0)
			fz_fail("tx ICMP message: %zu bytes or bad checksum", l4len);
		return 0;
	case IP_PROTO_UDP: {
		if (l4len < 8 || (size_t)(l4[4] << 8 | l4[5]) != l4len)
			fz_fail("tx UDP length");
		if ((l4[6] | l4[7]) &&
		    csum_fold(csum_add(csum_pseudo(src, dst, IP_PROTO_UDP, (uint16_t)l4len), l4, l4len)) != 0)
			fz_fail("tx UDP checksum");
		return 0;
	}
	default:
		fz_fail("tx IPv4 protocol %u", ih->proto);
	}
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
