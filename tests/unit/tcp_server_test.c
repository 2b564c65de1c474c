/* Unit tests of the server side of TCP: LISTEN, SYN-RECEIVED, the accept queue
 * and backlog, SYN-ACK retransmission, simultaneous open, SO_REUSEADDR /
 * SO_REUSEPORT bind rules, SO_LINGER, close with unread data, what exit waits
 * for. The harness (the test is the peer: it crafts frames with correct
 * checksums, injects them into the memdev and takes what the stack sends, at
 * exact microseconds) is copied from tcp_test.c. */
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
#include "shim/shim.h"

#define MS 1000ull
#define SEC 1000000ull
#define T0 (1000 * SEC)
#define ME   0xc6120002u        /* 198.18.0.2 */
#define PEER 0xc6120001u        /* 198.18.0.1 */
#define PPORT 40000
static const uint8_t peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

static struct netdev *dev, *other;
static struct stack *st;
static uint64_t now;

static void setup(void)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24 };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
}

static void teardown(void)
{
	stack_destroy(st);
	netdev_close(dev);
	netdev_close(other);
	CHECK_EQ(pkt_pool_in_use(), 0);   /* expect_no_leaks */
}

/* Move the clock to t and run the stack (ARP kept fresh: this is a TCP test). */
static void advance(uint64_t t)
{
	now = t;
	st->now_us = t;
	arp_update(st, PEER, peer_mac);
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
};

/* Inject one segment from PEER:sport to ME:dport and run the stack. */
static void inject(struct seg s)
{
	struct pkt *p = pkt_alloc();
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
	eh->type = htons(ETH_P_IPV4);
	struct ip_hdr *ih = pkt_put(p, IP_HDR_LEN);
	memset(ih, 0, sizeof(*ih));
	ih->ver_ihl = 0x45;
	ih->total_len = htons((uint16_t)(20 + tlen));
	ih->ttl = 64;
	ih->proto = IP_PROTO_TCP;
	ih->src = htonl(PEER);
	ih->dst = htonl(ME);
	ih->csum = htons(csum(ih, 20));
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
	uint32_t sum = csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)tlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	if (s.bad_csum)
		h->csum ^= 0x0101;
	memdev_inject(dev, p);
	stack_poll(st, now);
}

struct out {
	uint32_t seq, ack;
	uint8_t  flags;
	uint16_t wnd, mss, sport, dport;
	uint32_t len;
	uint8_t  data[2048];
};

/* Take the next TCP segment the stack sent (ARP and others skipped). */
static int take(struct out *o)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		if (ntohs(eh->type) != ETH_P_IPV4) {
			pkt_free(p);
			continue;
		}
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		if (ih->proto != IP_PROTO_TCP) {
			pkt_free(p);
			continue;
		}
		unsigned tlen = ntohs(ih->total_len) - 20;
		const uint8_t *b = p->data + ETH_HDR_LEN + 20;
		const struct tcp_hdr *h = (const struct tcp_hdr *)b;
		uint32_t sum = csum_pseudo(ntohl(ih->src), ntohl(ih->dst), IP_PROTO_TCP, (uint16_t)tlen);
		CHECK_EQ(csum_fold(csum_add(sum, b, tlen)), 0);
		CHECK_EQ(ntohl(ih->dst), PEER);
		unsigned hlen = (h->off >> 4) * 4u;
		memset(o, 0, sizeof(*o));
		o->seq = ntohl(h->seq);
		o->ack = ntohl(h->ack);
		o->flags = h->flags;
		o->wnd = ntohs(h->wnd);
		o->sport = ntohs(h->sport);
		o->dport = ntohs(h->dport);
		if (hlen >= 24 && b[20] == 2 && b[21] == 4)
			o->mss = (uint16_t)(b[22] << 8 | b[23]);
		o->len = tlen - hlen;
		memcpy(o->data, b + hlen, o->len);
		pkt_free(p);
		return 1;
	}
	return 0;
}

static int none(void)
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

static struct tcb *tcb_of(int sd) { return &st->tcp.tcb[sd]; }

/* Active open to PEER:80, SYN-ACK after rtt_us. Returns sd; *iss our ISS. */
static int open_active(uint32_t *iss, uint64_t rtt_us, uint16_t peer_wnd)
{
	struct out o;
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.dport, 80);
	*iss = o.seq;
	advance(now + rtt_us);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = o.seq + 1, .wnd = peer_wnd,
			     .mss = 1460, .sport = 80, .dport = o.sport });
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, *iss + 1);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	return sd;
}

static uint16_t lport_of(int sd)
{
	return tcb_of(sd)->lport;
}

/* inject from the peer of an active connection sd */
static struct seg from(int sd, uint8_t flags, uint32_t seq, uint32_t ack, const char *data)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .sport = 80,
			     .dport = lport_of(sd), .data = data, .len = data ? (uint32_t)strlen(data) : 0 };
}


/* a listener on port 80 with backlog; its sd */
static int listener(int backlog)
{
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK(l >= 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, backlog, now), 0);
	return l;
}

/* the peer (port sport) sends its SYN; returns our ISS from the SYN-ACK */
static uint32_t syn_in(uint16_t sport)
{
	struct out o;
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460, .sport = sport });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(o.dport, sport);
	return o.seq;
}

static void ack_in(uint16_t sport, uint32_t iss)
{
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535, .sport = sport });
}

/* the connection from the peer's sport in the table (child), or NULL */
static struct tcb *child_of(uint16_t sport)
{
	return tcp_lookup(st, ME, 80, PEER, sport) && tcp_lookup(st, ME, 80, PEER, sport)->state != TCP_LISTEN
		? tcp_lookup(st, ME, 80, PEER, sport) : NULL;
}

static int notified_sd = -1, notified_n;
static void notify_cb(void *ctx, int sd)
{
	(void)ctx;
	notified_sd = sd;
	notified_n++;
}

TEST(syn_received_then_established)
{
	setup();
	int l = listener(8);
	stack_set_notify(st, notify_cb, NULL);
	uint32_t iss = syn_in(PPORT);
	struct tcb *c = child_of(PPORT);
	REQUIRE(c);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	CHECK_EQ(tcb_of(l)->syn_n, 1);
	/* half-open: nothing to accept, the listener is not readable */
	CHECK_EQ(nst_accept(st, l, NULL, NULL, now), -EAGAIN);
	CHECK_EQ(nst_poll(st, l), 0);
	/* RFC 9293 3.10.7.4 SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST> */
	notified_n = 0;
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 7, .wnd = 65535 });
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, iss + 7);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	CHECK_EQ(notified_n, 0);
	/* the ACK that completes it: ESTABLISHED, into the accept queue, listener readable
	 * and its owner told (the poll()ing server wakes) */
	ack_in(PPORT, iss);
	CHECK(none());
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	CHECK_EQ(tcb_of(l)->acc_n, 1);
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	CHECK_EQ(notified_sd, l);
	uint32_t a;
	uint16_t p;
	int sd = nst_accept(st, l, &a, &p, now);
	CHECK(sd >= 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(p, PPORT);
	CHECK_EQ(nst_poll(st, l), 0);
	CHECK_EQ(nst_getsockname(st, sd, &a, &p), 0);
	CHECK_EQ(a, ME);
	CHECK_EQ(p, 80);
	/* no SYN-ACK retransmission once established */
	advance(now + 10 * SEC);
	CHECK(none());
	nst_close(st, sd, now);
	nst_close(st, l, now);
	teardown();
}

TEST(rst_in_syn_received)
{
	setup();
	int l = listener(8);
	syn_in(PPORT);
	struct tcb *c = child_of(PPORT);
	REQUIRE(c);
	/* an out-of-window RST is ignored (RFC 5961: challenge ACK) */
	inject((struct seg){ .flags = RST, .seq = PISS + 70000, .wnd = 0 });
	CHECK_EQ(c->in_use, 1);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	struct out o;
	while (take(&o))
		;
	/* RFC 9293: "If this connection was initiated with a passive OPEN (i.e.,
	 * came from the LISTEN state), then return this connection to LISTEN
	 * state and return" -- the child goes, the listener stays */
	inject((struct seg){ .flags = RST, .seq = PISS + 1, .wnd = 0 });
	CHECK(none());
	CHECK(!child_of(PPORT));
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	CHECK_EQ(tcb_of(l)->state, TCP_LISTEN);
	CHECK_EQ(nst_accept(st, l, NULL, NULL, now), -EAGAIN);
	/* nothing left to retransmit */
	advance(now + 10 * SEC);
	CHECK(none());
	/* and the same peer can come again */
	uint32_t iss = syn_in(PPORT);
	ack_in(PPORT, iss);
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	teardown();
}

TEST(synack_retransmission_gives_up)
{
	setup();
	int l = listener(8);
	uint64_t t0 = now;
	uint32_t iss = syn_in(PPORT);
	struct out o;
	/* Linux tcp_synack_retries = 5: resent at 1, 3, 7, 15, 31 s (RTO doubling
	 * from 1 s), given up at 63 s */
	uint64_t at[] = { 1, 3, 7, 15, 31 };
	for (unsigned i = 0; i < 5; i++) {
		advance(t0 + at[i] * SEC - 1);
		CHECK(none());
		advance(t0 + at[i] * SEC);
		CHECK(take(&o));
		CHECK_EQ(o.flags, SYN | ACK);
		CHECK_EQ(o.seq, iss);
		CHECK_EQ(o.ack, PISS + 1);
	}
	advance(t0 + 63 * SEC - 1);
	CHECK(child_of(PPORT) != NULL);
	advance(t0 + 63 * SEC);
	CHECK(none());
	CHECK(!child_of(PPORT));
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	teardown();
}

TEST(backlog_overflow_drops_not_resets)
{
	setup();
	/* backlog 1: Linux's accept queue is full when it holds more than the
	 * backlog (sk_acceptq_is_full: > backlog), i.e. 2 here */
	int l = listener(1);
	for (uint16_t sp = PPORT; sp < PPORT + 2; sp++)
		ack_in(sp, syn_in(sp));
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	uint64_t drops = st->stat.tcp_drop_listen;
	/* a third SYN: dropped silently, no RST, no SYN-ACK: the peer retries */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = PPORT + 2 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_listen, drops + 1);
	CHECK(!child_of(PPORT + 2));
	/* room again after an accept: the retried SYN is answered */
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	uint32_t iss = syn_in(PPORT + 2);
	/* a handshake's last ACK while the queue is full again is dropped too (the
	 * child stays in SYN-RECEIVED, its SYN-ACK is resent, the ACK comes again) */
	ack_in(PPORT + 3, syn_in(PPORT + 3));   /* fills the queue (2) */
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	ack_in(PPORT + 2, iss);
	CHECK(none());
	CHECK_EQ(child_of(PPORT + 2)->state, TCP_SYN_RECEIVED);
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	ack_in(PPORT + 2, iss);
	CHECK_EQ(child_of(PPORT + 2)->state, TCP_ESTABLISHED);
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	teardown();
}

TEST(simultaneous_open_with_ack)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, sd, 0, 6666), 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	uint32_t iss = o.seq;
	/* RFC 9293 3.10.7.3: a SYN without ACK in SYN-SENT: SYN-RECEIVED, SYN-ACK
	 * with our same ISS */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = 80, .dport = 6666 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_RECEIVED);
	CHECK_EQ(nst_poll(st, sd) & NST_POLLOUT, 0);
	/* the SYN-ACK is lost: resent after the RTO */
	advance(now + SEC);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	/* the peer's ACK of our SYN, with data: ESTABLISHED, data delivered */
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .sport = 80, .dport = 6666, .data = "hi", .len = 2 });
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 2);
	teardown();
}

/* an accepted connection (peer port sport); *iss our ISS */
static int accepted(int l, uint16_t sport, uint32_t *iss)
{
	*iss = syn_in(sport);
	ack_in(sport, *iss);
	int sd = nst_accept(st, l, NULL, NULL, now);
	CHECK(sd >= 0);
	return sd;
}

TEST(linger_zero_resets)
{
	setup();
	int l = listener(8);
	struct linger lg = { 1, 0 };
	/* set on the listener: the accepted socket inherits it */
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	struct linger got;
	unsigned len = sizeof(got);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	CHECK_EQ(got.l_onoff, 1);
	CHECK_EQ(got.l_linger, 0);
	/* unsent data does not matter: abort */
	CHECK_EQ(nst_send(st, sd, "abc", 3, 0, now), 3);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.len, 3);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, iss + 4);
	CHECK(none());
	CHECK(!child_of(PPORT));
	advance(now + 10 * SEC);
	CHECK(none());
	teardown();
}

TEST(close_with_unread_data_resets_accepted)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .data = "request", .len = 7 });
	struct out o;
	while (take(&o))
		;
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, PISS + 8);
	CHECK(!child_of(PPORT));
	/* the listener is unaffected */
	CHECK_EQ(tcb_of(l)->state, TCP_LISTEN);
	teardown();
}

TEST(linger_pending_until_fin_acked)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	CHECK_EQ(nst_close_pending(st, sd), 0);        /* nothing queued to close yet */
	CHECK_EQ(nst_send(st, sd, "data", 4, 0, now), 4);
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), 0);
	struct out o;
	while (take(&o))
		;
	CHECK_EQ(tcb_of(sd)->state, TCP_FIN_WAIT_1);
	CHECK_EQ(nst_close_pending(st, sd), 1);
	CHECK_EQ(nst_exit_pending(st), 4 + 1);
	/* the data is acked, the FIN not yet */
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 5, .wnd = 65535 });
	CHECK_EQ(nst_close_pending(st, sd), 1);
	CHECK_EQ(nst_exit_pending(st), 1);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 6, .wnd = 65535 });
	CHECK_EQ(tcb_of(sd)->state, TCP_FIN_WAIT_2);
	CHECK_EQ(nst_close_pending(st, sd), 0);
	CHECK_EQ(nst_exit_pending(st), 0);
	CHECK_EQ(nst_close_pending(st, 999), -EBADF);
	teardown();
}

/* Our side closes first; the peer's FIN follows: the connection waits in
 * TIME-WAIT (owned by nobody) for 60 s. */
static void to_time_wait(int sd, uint32_t iss, uint16_t sport)
{
	struct out o;
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	inject((struct seg){ .flags = FIN | ACK, .seq = PISS + 1, .ack = iss + 2, .wnd = 65535, .sport = sport });
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(child_of(sport)->state, TCP_TIME_WAIT);
}

TEST(reuseaddr_rebind_over_time_wait)
{
	setup();
	int one = 1;
	/* a server with SO_REUSEADDR: its connection ends in TIME-WAIT, then the
	 * server restarts on the same port */
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	to_time_wait(sd, iss, PPORT);
	CHECK_EQ(nst_close(st, l, now), 0);
	/* without SO_REUSEADDR the TIME-WAIT connection holds the port (Linux) */
	int n = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, n, 0, 80), -EADDRINUSE);
	CHECK_EQ(nst_bind(st, n, ME, 80), -EADDRINUSE);
	CHECK_EQ(nst_setsockopt(st, n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, n, 0, 80), 0);
	CHECK_EQ(nst_listen(st, n, 8, now), 0);
	/* a listener is never shared through SO_REUSEADDR */
	int m = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, m, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, m, 0, 80), -EADDRINUSE);
	CHECK_EQ(nst_close(st, n, now), 0);
	/* TIME-WAIT bounded: 60 s, then the port is free for anybody */
	struct tcb *tw = child_of(PPORT);
	REQUIRE(tw);
	advance(tw->timer[TCP_T_2MSL]);
	CHECK(!child_of(PPORT));
	int k = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, k, 0, 80), 0);
	teardown();
}

TEST(reuseaddr_needed_on_both)
{
	setup();
	int one = 1;
	/* the old server did not set SO_REUSEADDR: its TIME-WAIT connection keeps
	 * the port even from a socket that sets it (Linux: sk_reuse on both) */
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	to_time_wait(sd, iss, PPORT);
	CHECK_EQ(nst_close(st, l, now), 0);
	int n = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, n, 0, 80), -EADDRINUSE);
	teardown();
}

TEST(reuseport_shares_a_port)
{
	setup();
	int one = 1;
	int a = nst_socket(st, NST_SOCK_STREAM), b = nst_socket(st, NST_SOCK_STREAM);
	int c = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_setsockopt(st, b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, a, 0, 80), 0);
	CHECK_EQ(nst_bind(st, b, 0, 80), 0);
	CHECK_EQ(nst_bind(st, c, 0, 80), -EADDRINUSE);   /* not without the option */
	CHECK_EQ(nst_listen(st, a, 8, now), 0);
	CHECK_EQ(nst_listen(st, b, 8, now), 0);
	/* connections reach one of them */
	uint32_t iss = syn_in(PPORT);
	ack_in(PPORT, iss);
	CHECK_EQ(tcb_of(a)->acc_n + tcb_of(b)->acc_n, 1);
	/* closing one leaves the other serving */
	nst_close(st, a, now);
	unsigned before = tcb_of(b)->acc_n;
	ack_in(PPORT + 1, syn_in(PPORT + 1));
	CHECK_EQ(tcb_of(b)->acc_n, before + 1);
	CHECK(nst_accept(st, b, NULL, NULL, now) >= 0);
	teardown();
}

TEST(children_inherit_options)
{
	setup();
	int one = 1;
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	struct linger lg = { 1, 7 };
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), now), 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	int v;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	CHECK_EQ(v, 0);
	struct linger got;
	len = sizeof(got);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	CHECK_EQ(got.l_linger, 7);
	teardown();
}

TEST(sockbuf_clamp)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM), v = 10000000;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 212992);        /* Linux's default net.core.rmem_max, doubled */
	nst_set_sockbuf_max(st, 4194304, 0);
	v = 10000000;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 4194304);
	v = 10000000;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 212992);
	teardown();
}

TEST(active_helper_still_works)
{
	/* the copied harness' active open, used once so it stays honest */
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	CHECK(none());
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(syn_received_then_established);
	RUN(rst_in_syn_received);
	RUN(synack_retransmission_gives_up);
	RUN(backlog_overflow_drops_not_resets);
	RUN(simultaneous_open_with_ack);
	RUN(linger_zero_resets);
	RUN(close_with_unread_data_resets_accepted);
	RUN(linger_pending_until_fin_acked);
	RUN(reuseaddr_rebind_over_time_wait);
	RUN(reuseaddr_needed_on_both);
	RUN(reuseport_shares_a_port);
	RUN(children_inherit_options);
	RUN(sockbuf_clamp);
	RUN(active_helper_still_works);
	return TEST_SUMMARY();
}
