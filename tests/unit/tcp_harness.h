/* The TCP unit-test harness shared by tests/unit/tcp_*_test.c: a stack on
 * one end of a memdev pair, the test as its peer. inject() crafts
 * Ethernet+IPv4+TCP frames with correct checksums (options appended by
 * opt_*()); take() returns the next TCP segment the stack sent, options
 * parsed; time moves only through advance(). State fixtures reach a state
 * in one call: open_active() / tcb_in() (any state of an active
 * connection, by close_to()), syn_sent(), listener(), accepted() /
 * accept_syn() (a passive open's child). */
#ifndef NSTACK_TCP_HARNESS_H
#define NSTACK_TCP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <linux/tcp.h>
#include <sys/socket.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "stack/tcp_seq.h"
#include "stack/csum.h"
#include "stack/ip6.h"
#include "shim/shim.h"

#define MS 1000ull
#define SEC 1000000ull
#define T0 (1000 * SEC)
#define ME   0xc6120002u        /* 198.18.0.2 */
#define PEER 0xc6120001u        /* 198.18.0.1 */
#define PPORT 40000
/* An IPv4 address (host order) as a pointer to its struct nst_addr. */
#define V4(a) (&(struct nst_addr[1]){ nst_addr_from_v4(a) }[0])
/* IPv6 (harness_v6): the stack at ME6/64, the peer at PEER6 (documentation prefix) */
static const struct nst_addr ME6 = { .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
static const struct nst_addr PEER6 = { .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
static const uint8_t peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

static struct netdev *dev, *other;
static struct stack *st;
static uint64_t now;

/* Quick-ack mode at a connection's start (stack_config.quickacks): off in
 * these tests, so that each one sees the steady-state delayed-ACK rules;
 * a test of quick-ack sets it to 0 (the default) before setup(). */
static unsigned harness_quickacks = -1u;
/* 1: the peer talks IPv6 (PEER6 -> ME6): inject builds IPv6 frames, the
 * fixtures open AF_INET6 sockets; take reads either family. A test may
 * switch it between segments (a dual-stack listener). The stack always has
 * ME6/64 besides ME. */
static int harness_v6;
/* The peer's address for this family, as a struct nst_addr. */
static inline struct nst_addr peer_addr(void) { return harness_v6 ? PEER6 : nst_addr_from_v4(PEER); }
static inline struct nst_addr my_addr(void) { return harness_v6 ? ME6 : nst_addr_from_v4(ME); }

static inline void setup(void)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .quickacks = harness_quickacks,
				    .addr6 = ME6, .prefix6_len = 64 };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
	nd6_update(st, &PEER6, peer_mac);
}

static inline void teardown(void)
{
	stack_destroy(st);
	netdev_close(dev);
	netdev_close(other);
	CHECK_EQ(pkt_pool_in_use(), 0);   /* expect_no_leaks */
}

/* Move the clock to t and run the stack (ARP kept fresh: this is a TCP test). */
static inline void advance(uint64_t t)
{
	now = t;
	st->now_us = t;
	arp_update(st, PEER, peer_mac);
	nd6_update(st, &PEER6, peer_mac);
	stack_poll(st, t);
}

struct seg {
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd;
	uint16_t mss;           /* MSS option, 0 if none */
	uint16_t sport, dport;
	const char *data;
	uint32_t len;
	uint8_t  opt[40];       /* raw options (overrides mss) */
	uint8_t  optlen;
	int      bad_csum;
	uint16_t gro;           /* a device-merged frame of gso_size gro: a large packet,
				 * PKT_F_CSUM_OK, only the pseudo-header sum in the field */
};

/* Inject one segment from PEER:sport to ME:dport and run the stack. */
static inline void inject(struct seg s)
{
	struct pkt *p = s.gro ? pkt_alloc_large() : pkt_alloc();
	REQUIRE(p);
	uint8_t opt[40];
	unsigned olen = 0;
	if (s.optlen) {
		memcpy(opt, s.opt, s.optlen);
		olen = s.optlen;
	} else if (s.mss) {
		opt[0] = 2; opt[1] = 4; opt[2] = (uint8_t)(s.mss >> 8); opt[3] = (uint8_t)s.mss;
		olen = 4;
	}
	unsigned hlen = 20 + olen, tlen = hlen + s.len;
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dev->mac, 6);
	memcpy(eh->src, peer_mac, 6);
	eh->type = htons(harness_v6 ? ETH_P_IPV6 : ETH_P_IPV4);
	if (harness_v6) {
		struct ip6_hdr *ih6 = pkt_put(p, IP6_HDR_LEN);
		memset(ih6, 0, sizeof(*ih6));
		ih6->ver_tc_flow = htonl(6u << 28);
		ih6->payload_len = htons((uint16_t)tlen);
		ih6->next = IP6_NH_TCP;
		ih6->hop_limit = 64;
		memcpy(ih6->src, PEER6.b, 16);
		memcpy(ih6->dst, ME6.b, 16);
	} else {
		struct ip_hdr *ih = pkt_put(p, IP_HDR_LEN);
		memset(ih, 0, sizeof(*ih));
		ih->ver_ihl = 0x45;
		ih->total_len = htons((uint16_t)(20 + tlen));
		ih->ttl = 64;
		ih->proto = IP_PROTO_TCP;
		ih->src = htonl(PEER);
		ih->dst = htonl(ME);
		ih->csum = htons(csum(ih, 20));
	}
	uint8_t *b = pkt_put(p, tlen);
	struct tcp_hdr *h = (struct tcp_hdr *)b;
	h->sport = htons(s.sport ? s.sport : PPORT);
	h->dport = htons(s.dport ? s.dport : 80);
	h->seq = htonl(s.seq);
	h->ack = htonl(s.ack);
	h->off = (uint8_t)((hlen / 4) << 4);
	h->flags = s.flags;
	h->wnd = htons(s.wnd);
	h->csum = 0;
	h->urp = 0;
	memcpy(b + 20, opt, olen);
	if (s.len)
		memcpy(b + hlen, s.data, s.len);
	uint32_t sum = harness_v6 ? csum_pseudo6(&PEER6, &ME6, IP_PROTO_TCP, tlen)
				  : csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)tlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	if (s.bad_csum)
		h->csum ^= 0x0101;
	if (s.gro) {
		h->csum = htons((uint16_t)~csum_fold(sum));
		p->flags = PKT_F_CSUM_OK;
		p->gso_size = s.gro;
	}
	memdev_inject(dev, p);
	stack_poll(st, now);
}

/* ---- TCP options, appended to a segment's s->opt as the peer lays them out ---- */

static inline void opt_bytes(struct seg *s, const uint8_t *b, unsigned n)
{
	REQUIRE(s->optlen + n <= sizeof(s->opt));
	memcpy(s->opt + s->optlen, b, n);
	s->optlen = (uint8_t)(s->optlen + n);
}

/* MSS */
static inline void opt_mss(struct seg *s, uint16_t mss)
{
	opt_bytes(s, (const uint8_t[]){ 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss }, 4);
}

/* NOP, Window Scale shift */
static inline void opt_ws(struct seg *s, int shift)
{
	opt_bytes(s, (const uint8_t[]){ 1, 3, 3, (uint8_t)shift }, 4);
}

/* NOP NOP SACK-permitted */
static inline void opt_sack_perm(struct seg *s)
{
	opt_bytes(s, (const uint8_t[]){ 1, 1, 4, 2 }, 4);
}

/* NOP NOP Timestamps */
static inline void opt_ts(struct seg *s, uint32_t tsval, uint32_t tsecr)
{
	opt_bytes(s, (const uint8_t[]){ 1, 1, 8, 10,
		(uint8_t)(tsval >> 24), (uint8_t)(tsval >> 16), (uint8_t)(tsval >> 8), (uint8_t)tsval,
		(uint8_t)(tsecr >> 24), (uint8_t)(tsecr >> 16), (uint8_t)(tsecr >> 8), (uint8_t)tsecr }, 12);
}

/* NOP NOP SACK with n blocks (pairs of start, end) */
static inline void opt_sack(struct seg *s, unsigned n, const uint32_t *blk)
{
	opt_bytes(s, (const uint8_t[]){ 1, 1, 5, (uint8_t)(2 + 8 * n) }, 4);
	for (unsigned i = 0; i < 2 * n; i++)
		opt_bytes(s, (const uint8_t[]){ (uint8_t)(blk[i] >> 24), (uint8_t)(blk[i] >> 16),
						 (uint8_t)(blk[i] >> 8), (uint8_t)blk[i] }, 4);
}

/* a segment the stack sent, its options parsed */
struct out {
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd, mss, sport, dport;
	int      ws;                /* Window Scale shift, -1 = absent */
	int      has_ts;
	uint32_t tsval, tsecr;
	int      sack_perm;         /* SACK-permitted option */
	unsigned nsack;             /* SACK blocks, as on the wire */
	uint32_t sack[4][2];
	unsigned optlen;
	uint32_t len;
	int      v6;                /* sent over IPv6 */
	uint8_t  hop;               /* its IPv6 hop limit / IPv4 TTL */
	uint8_t  tclass;            /* its IPv6 traffic class / IPv4 TOS */
	uint32_t flow;              /* its IPv6 flow label */
	uint8_t  data[2048];
};

/* Take the next TCP segment the stack sent (ARP and others skipped). */
static inline int take(struct out *o)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		const struct ip6_hdr *ih6 = (const struct ip6_hdr *)(p->data + ETH_HDR_LEN);
		int v6 = ntohs(eh->type) == ETH_P_IPV6;
		if (v6 ? ih6->next != IP6_NH_TCP : (ntohs(eh->type) != ETH_P_IPV4 || ih->proto != IP_PROTO_TCP)) {
			pkt_free(p);
			continue;
		}
		unsigned tlen;
		const uint8_t *b;
		uint32_t sum;
		if (v6) {
			struct nst_addr src, dst;
			memcpy(src.b, ih6->src, 16);
			memcpy(dst.b, ih6->dst, 16);
			CHECK(nst_addr_eq(&dst, &PEER6));
			CHECK(nst_addr_eq(&src, &ME6));
			tlen = ntohs(ih6->payload_len);
			b = p->data + ETH_HDR_LEN + IP6_HDR_LEN;
			sum = csum_pseudo6(&src, &dst, IP_PROTO_TCP, tlen);
		} else {
			CHECK_EQ(ntohl(ih->dst), PEER);
			tlen = ntohs(ih->total_len) - 20;
			b = p->data + ETH_HDR_LEN + 20;
			sum = csum_pseudo(ntohl(ih->src), ntohl(ih->dst), IP_PROTO_TCP, (uint16_t)tlen);
		}
		const struct tcp_hdr *h = (const struct tcp_hdr *)b;
		CHECK_EQ(csum_fold(csum_add(sum, b, tlen)), 0);
		unsigned hlen = (h->off >> 4) * 4u;
		memset(o, 0, sizeof(*o));
		o->v6 = v6;
		if (v6) {
			uint32_t w = ntohl(ih6->ver_tc_flow);
			o->hop = ih6->hop_limit;
			o->tclass = (uint8_t)(w >> 20);
			o->flow = w & 0xfffff;
		} else {
			o->hop = ih->ttl;
			o->tclass = ih->tos;
		}
		o->seq = ntohl(h->seq);
		o->ack = ntohl(h->ack);
		o->flags = h->flags;
		o->wnd = ntohs(h->wnd);
		o->sport = ntohs(h->sport);
		o->dport = ntohs(h->dport);
		o->ws = -1;
		o->optlen = hlen - 20;
		for (unsigned i = 20; i < hlen;) {
			if (b[i] == 0)
				break;
			if (b[i] == 1) {
				i++;
				continue;
			}
			if (b[i] == 2)
				o->mss = (uint16_t)(b[i + 2] << 8 | b[i + 3]);
			if (b[i] == 3)
				o->ws = b[i + 2];
			if (b[i] == 4)
				o->sack_perm = 1;
			if (b[i] == 5)
				for (unsigned k = 0; k < (b[i + 1] - 2u) / 8 && k < 4; k++, o->nsack++)
					for (unsigned e = 0; e < 2; e++) {
						const uint8_t *q = b + i + 2 + 8 * k + 4 * e;
						o->sack[k][e] = (uint32_t)q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3];
					}
			if (b[i] == 8) {
				o->has_ts = 1;
				o->tsval = (uint32_t)b[i + 2] << 24 | b[i + 3] << 16 | b[i + 4] << 8 | b[i + 5];
				o->tsecr = (uint32_t)b[i + 6] << 24 | b[i + 7] << 16 | b[i + 8] << 8 | b[i + 9];
			}
			i += b[i + 1];
		}
		o->len = tlen - hlen;
		memcpy(o->data, b + hlen, o->len);
		pkt_free(p);
		return 1;
	}
	return 0;
}

static inline int none(void)
{
	struct out o;
	if (take(&o)) {
		fprintf(stderr, "  unexpected segment flags %#x seq %u ack %u len %u\n",
			o.flags, o.seq, o.ack, o.len);
		return 0;
	}
	return 1;
}

#define SYN TCP_SYN
#define ACK TCP_ACK
#define FIN TCP_FIN
#define RST TCP_RST
#define PSH TCP_PSH
#define PISS 5000u              /* the peer's ISS */
#define MSS 1460u               /* the segment size of the connections of open_active() */

/* the bytes send_segs() sends; a test may fill it with a pattern */
static char payload[64 * MSS];

static inline struct tcb *tcb_of(int sd) { return &st->tcp.tcb[sd]; }

/* An active open to PEER:80 in SYN-SENT: returns sd, *syn the SYN sent. */
static inline int syn_sent(struct out *syn)
{
	int sd = harness_v6 ? nst_socket6(st, NST_SOCK_STREAM) : nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	struct nst_addr pa = peer_addr();
	CHECK_EQ(nst_connect_addr(st, sd, &pa, 80, now), -EINPROGRESS);
	CHECK(take(syn));
	CHECK_EQ(syn->flags, SYN);
	return sd;
}

/* The SYN-ACK sa (its window and options; from PEER:80 with ISS PISS,
 * acknowledging syn) to sd in SYN-SENT, rtt_us after its SYN syn: our ACK,
 * and connect() is done. */
static inline void syn_ack_in(int sd, const struct out *syn, uint64_t rtt_us, struct seg sa)
{
	struct out o;
	advance(now + rtt_us);
	sa.flags = SYN | ACK;
	sa.seq = PISS;
	sa.ack = syn->seq + 1;
	sa.sport = 80;
	sa.dport = syn->sport;
	inject(sa);
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, syn->seq + 1);
	CHECK_EQ(o.ack, PISS + 1);
	struct nst_addr pa = peer_addr();
	CHECK_EQ(nst_connect_addr(st, sd, &pa, 80, now), 0);
}

/* Active open to PEER:80, SYN-ACK after rtt_us. Returns sd; *iss our ISS. */
static inline int open_active(uint32_t *iss, uint64_t rtt_us, uint16_t peer_wnd)
{
	struct out o;
	int sd = syn_sent(&o);
	CHECK_EQ(o.mss, harness_v6 ? 1440 : 1460);      /* 1500 less 40 or 60 bytes of headers */
	CHECK_EQ(o.dport, 80);
	*iss = o.seq;
	syn_ack_in(sd, &o, rtt_us, (struct seg){ .wnd = peer_wnd, .mss = 1460 });
	return sd;
}

static inline uint16_t lport_of(int sd)
{
	return tcb_of(sd)->lport;
}

/* inject from the peer of an active connection sd */
static inline struct seg from(int sd, uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .sport = 80,
			     .dport = lport_of(sd), .data = data, .len = data ? (uint32_t)strlen(data) : 0 };
}

/* Queue nq full segments on sd, take the nseg that go out: back to back
 * from first. */
static inline void send_segs(int sd, uint32_t first, unsigned nq, unsigned nseg)
{
	struct out o;
	unsigned got = 0;
	CHECK_EQ(nst_send(st, sd, payload, nq * MSS, 0, now), (long)(nq * MSS));
	while (take(&o)) {
		CHECK_EQ(o.seq, first + MSS * got);
		CHECK_EQ(o.len, MSS);
		got++;
	}
	CHECK_EQ(got, nseg);
}

/* setsockopt of an int at now; its return */
static inline int set_int(int sd, int level, int name, int v)
{
	return nst_setsockopt(st, sd, level, name, &v, sizeof(v), now);
}

/* getsockopt of an int, which must succeed */
static inline int get_int(int sd, int level, int name)
{
	int v = -12345;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, level, name, &v, &len), 0);
	CHECK_EQ(len, sizeof(v));
	return v;
}

/* ---- state fixtures: a listener, an accepted child, a TCB in a state ---- */

/* Take and drop everything the stack has sent. */
static inline void drain(void)
{
	struct out o;
	while (take(&o))
		;
}

/* A listener on port 80 with backlog; its sd. */
static inline int listener(int backlog)
{
	int l = harness_v6 ? nst_socket6(st, NST_SOCK_STREAM) : nst_socket(st, NST_SOCK_STREAM);
	CHECK(l >= 0);
	struct nst_addr any = harness_v6 ? (struct nst_addr){ 0 } : nst_addr_from_v4(0);
	CHECK_EQ(nst_bind_addr(st, l, &any, 80), 0);
	CHECK_EQ(nst_listen(st, l, backlog, now), 0);
	return l;
}

/* The connection from PEER:sport to our port 80 (a child, not the
 * listener), or NULL. */
static inline struct tcb *conn_of(uint16_t sport)
{
	struct nst_addr me = my_addr(), peer = peer_addr();
	struct tcb *t = tcp_lookup(st, &me, 80, &peer, sport);
	return t && t->state != TCP_LISTEN ? t : NULL;
}

/* The peer's SYN syn (.sport 0: PPORT) to our port 80; returns our ISS,
 * from the SYN-ACK. */
static inline uint32_t syn_seg_in(struct seg syn)
{
	struct out o;
	inject(syn);
	if (!take(&o)) {
		CHECK(0);
		return 0;
	}
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, syn.seq + 1);
	CHECK_EQ(o.dport, syn.sport ? syn.sport : PPORT);
	return o.seq;
}

/* The peer (port sport) sends its SYN, MSS 1460; returns our ISS. */
static inline uint32_t syn_in(uint16_t sport)
{
	return syn_seg_in((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460,
					.sport = sport });
}

/* The peer (port sport, ISS PISS) ACKs our SYN-ACK. */
static inline void ack_in(uint16_t sport, uint32_t iss)
{
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535, .sport = sport });
}

/* Passive open by the peer's SYN syn (ISS PISS) to the listener l: our
 * SYN-ACK, rtt_us later the peer's ACK, nothing more sent; returns the
 * accepted sd, *iss our ISS. */
static inline int accept_syn(int l, struct seg syn, uint64_t rtt_us, uint32_t *iss)
{
	uint16_t sport = syn.sport ? syn.sport : PPORT;
	*iss = syn_seg_in(syn);
	advance(now + rtt_us);
	ack_in(sport, *iss);
	CHECK(none());
	struct nst_addr a, pa = peer_addr();
	uint16_t p;
	int sd = nst_accept_addr(st, l, &a, &p, now);
	CHECK(sd >= 0);
	CHECK(nst_addr_eq(&a, &pa));
	CHECK_EQ(p, sport);
	return sd;
}

/* An accepted connection from PEER:sport (SYN with MSS 1460) on the
 * listener l; *iss our ISS. */
static inline int accepted(int l, uint16_t sport, uint32_t *iss)
{
	return accept_syn(l, (struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460,
					   .sport = sport }, 0, iss);
}

/* A segment from the peer of sd (either end of the handshake), at the
 * sequence sd expects and acknowledging all sd sent. */
static inline struct seg peer_seg(int sd, uint8_t flags)
{
	const struct tcb *t = tcb_of(sd);
	return (struct seg){ .flags = flags, .seq = t->rcv.nxt, .ack = t->snd.nxt, .wnd = 65535,
			     .sport = t->rport, .dport = t->lport };
}

/* Move the established connection sd, nothing in flight either way, along
 * the close path to state: FIN-WAIT-1, FIN-WAIT-2 or TIME-WAIT (we close
 * first; TIME-WAIT: the peer's FIN acknowledges ours), CLOSING (the peer's
 * FIN crosses ours), CLOSE-WAIT or LAST-ACK (the peer closes first). Our
 * side closes by close(): but in CLOSE-WAIT, sd is an orphan then (its TCB,
 * tcb_of(sd), lives on). */
static inline void close_to(int sd, int state)
{
	struct tcb *t = tcb_of(sd);
	struct out o;
	CHECK_EQ(t->state, TCP_ESTABLISHED);
	if (state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK) {
		inject(peer_seg(sd, FIN | ACK));
		CHECK(take(&o));
		CHECK_EQ(o.flags, ACK);
		CHECK_EQ(t->state, TCP_CLOSE_WAIT);
		if (state == TCP_CLOSE_WAIT)
			return;
	}
	struct seg s = peer_seg(sd, 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	switch (state) {
	case TCP_FIN_WAIT_2:
		s.flags = ACK;
		s.ack++;
		inject(s);
		CHECK(none());
		break;
	case TCP_TIME_WAIT:
		s.flags = FIN | ACK;
		s.ack++;
		inject(s);
		CHECK(take(&o));
		CHECK_EQ(o.flags, ACK);
		break;
	case TCP_CLOSING:
		s.flags = FIN | ACK;
		inject(s);
		CHECK(take(&o));
		CHECK_EQ(o.flags, ACK);
		break;
	}
	CHECK_EQ(t->state, state);
}

/* An active connection to PEER:80 (handshake in rtt 10 ms) in state, by
 * close_to(); returns sd, *iss our ISS. */
static inline int tcb_in(int state, uint32_t *iss)
{
	int sd = open_active(iss, 10 * MS, 65535);
	if (state != TCP_ESTABLISHED)
		close_to(sd, state);
	return sd;
}

/* ---- SACK helpers (tcp_sack_test, tcp_tlp_test) ---- */

/* SYN(-ACK) options: MSS 1460, then SACK-permitted (sack) and TS (ts) the
 * way Linux lays them out. */
static inline struct seg syn_with_opts(struct seg s, int sack, int ts, uint32_t tsval, uint32_t tsecr)
{
	unsigned n = 0;
	s.opt[n++] = 2; s.opt[n++] = 4; s.opt[n++] = 1460 >> 8; s.opt[n++] = 1460 & 0xff;
	if (ts) {
		if (sack) {
			s.opt[n++] = 4; s.opt[n++] = 2;
		} else {
			s.opt[n++] = 1; s.opt[n++] = 1;
		}
		s.opt[n++] = 8; s.opt[n++] = 10;
		uint32_t v = htonl(tsval), e = htonl(tsecr);
		memcpy(s.opt + n, &v, 4);
		memcpy(s.opt + n + 4, &e, 4);
		n += 8;
	} else if (sack) {
		s.opt[n++] = 1; s.opt[n++] = 1; s.opt[n++] = 4; s.opt[n++] = 2;
	}
	s.optlen = (uint8_t)n;
	return s;
}

/* Active open; the SYN-ACK carries SACK-permitted if sack. Returns sd. */
static inline int open_sack(uint32_t *iss, int sack)
{
	struct out syn;
	int sd = syn_sent(&syn);
	CHECK(syn.sack_perm);
	*iss = syn.seq;
	syn_ack_in(sd, &syn, 10 * MS, syn_with_opts((struct seg){ .wnd = 65535 }, sack, 0, 0, 0));
	return sd;
}

/* An ACK from the peer of sd with SACK blocks (pairs of start, end). */
static inline void sack_in(int sd, uint32_t ack, unsigned n, const uint32_t *blk)
{
	struct seg s = from(sd, ACK, PISS + 1, ack, NULL);
	opt_sack(&s, n, blk);
	inject(s);
}

#endif
