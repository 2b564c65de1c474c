/* A hostile peer: RFC 5961 challenge ACKs and their rate limits (7), SYN
 * cookies (RFC 4987 3.6) and malformed headers, with the exact clock. */
#include "tests/unit/tcp_harness.h"

static struct seg to80(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .sport = sport };
}

/* RFC 5961 3.2: an in-window RST that is not exact gets a challenge ACK, at
 * most one per 500 ms per connection (Linux tcp_invalid_ratelimit); the
 * exact one resets. */
TEST(challenge_rst_and_per_connection_limit)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int c = accepted(l, PPORT, &iss);
	struct out o;
	inject(to80(PPORT, RST, PISS + 1 + 100, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(st->stat.tcp_challenge_ack_tx, 1);
	CHECK_EQ(tcb_of(c)->state, TCP_ESTABLISHED);
	/* again 499.999 ms later: suppressed */
	advance(now + 500 * MS - 1);
	inject(to80(PPORT, RST, PISS + 1 + 200, 0));
	CHECK(none());
	CHECK_EQ(st->stat.tcp_oow_ack_limited, 1);
	/* a SYN in ESTABLISHED (RFC 5961 4.2) at 500 ms: answered */
	advance(now + 1);
	inject((struct seg){ .flags = SYN, .seq = 777, .wnd = 65535, .mss = 1460 });
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(st->stat.tcp_challenge_ack_tx, 2);
	/* data still flows */
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .data = "ok", .len = 2 });
	char b[4];
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), 2);
	/* RFC 5961 5.2: an ACK of data never sent is challenged (limited too) */
	advance(now + 600 * MS);
	drain();
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 3, .ack = iss + 100000, .wnd = 65535,
			     .data = "xx", .len = 2 });
	REQUIRE(take(&o));
	CHECK_EQ(o.ack, PISS + 3);      /* the data was not taken */
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), -EAGAIN);
	CHECK_EQ(st->stat.tcp_challenge_ack_tx, 3);
	/* the exact RST resets */
	inject(to80(PPORT, RST, PISS + 3, 0));
	CHECK(none());
	CHECK_EQ(tcb_of(c)->state, TCP_CLOSED);
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), -ECONNRESET);
	nst_close(st, c, now);
	teardown();
}

/* Pure ACKs answering out-of-window segments are limited per connection;
 * data segments are not (Linux tcp_oow_rate_limited). */
TEST(oow_dupack_limit_spares_data)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int c = accepted(l, PPORT, &iss);
	struct out o;
	inject(to80(PPORT, ACK, PISS + 1 + 1000000, iss + 1));
	REQUIRE(take(&o));
	CHECK_EQ(o.ack, PISS + 1);
	inject(to80(PPORT, ACK, PISS + 1 + 2000000, iss + 1));
	CHECK(none());
	CHECK_EQ(st->stat.tcp_oow_ack_limited, 1);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1 + 3000000, .ack = iss + 1, .wnd = 65535,
			     .data = "d", .len = 1 });
	CHECK(take(&o));
	CHECK_EQ(st->stat.tcp_oow_ack_limited, 1);
	CHECK_EQ(st->stat.tcp_challenge_ack_tx, 0);
	nst_close(st, c, now);
	teardown();
}

/* RFC 5961 7: a host-wide budget per second, random in [limit/2, 3*limit/2). */
TEST(challenge_global_limit)
{
	setup();
	st->cfg.challenge_ack_limit = 10;
	int l = listener(64);
	uint32_t iss[30];
	int sd[30];
	for (int i = 0; i < 30; i++)
		sd[i] = accepted(l, (uint16_t)(PPORT + i), &iss[i]);
	drain();
	advance((now / SEC + 1) * SEC);         /* the start of a second */
	int acks = 0;
	struct out o;
	for (int i = 0; i < 30; i++) {
		inject(to80((uint16_t)(PPORT + i), SYN, 9, 0));
		acks += take(&o);
	}
	CHECK(acks >= 5 && acks <= 14);
	CHECK_EQ(st->stat.tcp_challenge_ack_tx, acks);
	CHECK_EQ(st->stat.tcp_challenge_ack_limited, 30 - acks);
	/* a second later (and past the per-connection 500 ms) a new budget */
	advance(now + SEC);
	inject(to80(PPORT, SYN, 9, 0));
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	for (int i = 0; i < 30; i++)
		nst_close(st, sd[i], now);
	teardown();
}

/* raw options: MSS, SACK-permitted, TS, WS */
static struct seg syn_opts(uint16_t sport, uint32_t seq, uint16_t mss, int sack, int ts,
			   uint32_t tsval, int ws)
{
	struct seg s = { .flags = SYN, .seq = seq, .wnd = 65535, .sport = sport };
	opt_mss(&s, mss);
	if (sack)
		opt_sack_perm(&s);
	if (ts)
		opt_ts(&s, tsval, 0);
	if (ws >= 0)
		opt_ws(&s, ws);
	return s;
}

static struct seg ack_ts(uint16_t sport, uint32_t seq, uint32_t ack, uint32_t tsval, uint32_t tsecr,
			 const char *data)
{
	struct seg s = { .flags = ACK, .seq = seq, .ack = ack, .wnd = 1000, .sport = sport,
			 .data = data, .len = data ? (uint32_t)strlen(data) : 0 };
	opt_ts(&s, tsval, tsecr);
	return s;
}

static unsigned tcbs_in_use(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < st->tcp.cap; i++)
		n += st->tcp.tcb[i].in_use;
	return n;
}

/* backlog 0: one half-open child; the next SYN gets a cookie. With
 * timestamps the cookie keeps window scale and SACK (TSval low bits). */
TEST(cookie_roundtrip_ts_ws_sack)
{
	setup();
	int l = listener(0);
	struct out o;
	struct out child;
	inject(syn_opts(PPORT, PISS, 1460, 1, 1, 111, 7));
	CHECK(take(&child));
	CHECK_EQ(st->stat.syncookies_sent, 0);
	unsigned used = tcbs_in_use();
	inject(syn_opts(PPORT + 1, 70000, 1460, 1, 1, 222, 7));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	/* the cookie SYN-ACK says what a child's would: options (SACK-permitted
	 * included), window, scale */
	CHECK_EQ(o.optlen, child.optlen);
	CHECK_EQ(o.wnd, child.wnd);
	CHECK_EQ(o.ws, child.ws);
	CHECK_EQ(o.ack, 70001);
	CHECK_EQ(o.mss, 1460);
	CHECK(o.ws >= 0);
	CHECK(o.has_ts);
	CHECK_EQ(o.tsecr, 222);
	CHECK_EQ(o.tsval & 0x3f, 0x10 | 7);     /* SACK | wscale 7 */
	CHECK_EQ(st->stat.syncookies_sent, 1);
	CHECK_EQ(tcbs_in_use(), used);          /* no state kept */
	uint32_t cookie = o.seq;
	/* the answer, with data: the child is made and takes the data */
	advance(now + 30 * MS);
	inject(ack_ts(PPORT + 1, 70001, cookie + 1, 223, o.tsval, "GET"));
	CHECK_EQ(st->stat.syncookies_recv_ok, 1);
	uint32_t a; uint16_t p;
	int c = nst_accept(st, l, &a, &p, now);
	REQUIRE(c >= 0);
	CHECK_EQ(p, PPORT + 1);
	struct tcb *t = tcb_of(c);
	CHECK_EQ(t->state, TCP_ESTABLISHED);
	CHECK_EQ(t->iss, cookie);
	CHECK(t->ws_ok);
	CHECK_EQ(t->snd_wscale, 7);
	CHECK_EQ(t->snd.wnd, 1000u << 7);
	CHECK(t->sack_ok);
	CHECK(t->ts_ok);
	CHECK_EQ(t->ts_recent, 223);
	CHECK_EQ(t->mss, 1460 - TCP_TS_OPT_LEN);
	char b[8];
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), 3);
	/* the ACK of the data echoes the TSval clock the cookie started */
	CHECK_EQ(nst_send(st, c, "200", 3, 0, now), 3);
	REQUIRE(take(&o));
	CHECK_EQ(o.ack, 70004);
	CHECK(o.has_ts);
	CHECK(seq_geq(o.tsval, tcp_ts_offset(st, V4(ME), V4(PEER)) + (uint32_t)(now / 1000) - 64));
	CHECK(seq_leq(o.tsval, tcp_ts_offset(st, V4(ME), V4(PEER)) + (uint32_t)(now / 1000)));
	nst_close(st, c, now);
	teardown();
}

/* Without timestamps: the MSS is rounded down to the table, no scaling,
 * no SACK (as Linux). */
TEST(cookie_no_ts_mss_table)
{
	setup();
	int l = listener(0);
	struct out o;
	inject(syn_opts(PPORT, PISS, 1460, 0, 0, 0, -1));
	CHECK(take(&o));
	inject(syn_opts(PPORT + 1, 80000, 1400, 1, 0, 0, 5));
	REQUIRE(take(&o));
	CHECK_EQ(st->stat.syncookies_sent, 1);
	CHECK(!o.has_ts);
	CHECK_EQ(o.ws, -1);             /* no scale offered: it could not come back */
	CHECK_EQ(o.optlen, 4);          /* MSS only: no SACK-permitted either */
	inject((struct seg){ .flags = ACK, .seq = 80001, .ack = o.seq + 1, .wnd = 5000,
			     .sport = PPORT + 1 });
	CHECK_EQ(st->stat.syncookies_recv_ok, 1);
	uint32_t a; uint16_t p;
	int c = nst_accept(st, l, &a, &p, now);
	REQUIRE(c >= 0);
	struct tcb *t = tcb_of(c);
	CHECK_EQ(t->mss, 1300);
	CHECK(!t->ws_ok);
	CHECK_EQ(t->rcv_wscale, 0);
	CHECK_EQ(t->snd.wnd, 5000);
	CHECK(!t->sack_ok);
	CHECK(!t->ts_ok);
	nst_close(st, c, now);
	teardown();
}

/* A cookie is good for its minute and the next; a forged one fails; both
 * get the listener's reset (Linux: the ACK falls through to LISTEN). */
TEST(cookie_expired_and_forged)
{
	setup();
	listener(0);
	struct out o;
	inject(syn_opts(PPORT, PISS, 1460, 0, 0, 0, -1));
	CHECK(take(&o));
	inject(syn_opts(PPORT + 1, 90000, 1460, 0, 0, 0, -1));
	REQUIRE(take(&o));
	uint32_t cookie = o.seq;
	/* forged: wrong ACK */
	inject((struct seg){ .flags = ACK, .seq = 90001, .ack = cookie + 2, .wnd = 5000,
			     .sport = PPORT + 1 });
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, cookie + 2);
	CHECK_EQ(st->stat.syncookies_failed, 1);
	/* wrong SEQ (the peer's ISS is in the cookie; as in Linux the MSS
	 * index sits in the low bits, so only a difference beyond the table
	 * shows) */
	inject((struct seg){ .flags = ACK, .seq = 90001 + 8, .ack = cookie + 1, .wnd = 5000,
			     .sport = PPORT + 1 });
	CHECK(take(&o));
	CHECK_EQ(st->stat.syncookies_failed, 2);
	/* 130 s on, another cookie keeps the listener "recently overflowed";
	 * the first cookie is now too old */
	advance(now + 130 * SEC);
	drain();
	inject(syn_opts(PPORT + 2, 95000, 1460, 0, 0, 0, -1));
	CHECK(take(&o));
	CHECK_EQ(st->stat.syncookies_sent, 2);
	inject((struct seg){ .flags = ACK, .seq = 90001, .ack = cookie + 1, .wnd = 5000,
			     .sport = PPORT + 1 });
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(st->stat.syncookies_failed, 3);
	CHECK_EQ(st->stat.syncookies_recv_ok, 0);
	/* no recent overflow (over 2 minutes): an ACK is not even checked */
	advance(now + 121 * SEC);
	drain();
	inject((struct seg){ .flags = ACK, .seq = 95001, .ack = 12345, .sport = PPORT + 2 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(st->stat.syncookies_failed, 3);
	teardown();
}

/* The cookie check alone, at the edges of its lifetime. */
TEST(cookie_lifetime_exact)
{
	setup();
	struct tcp_seg s = { .src = *V4(PEER), .dst = *V4(ME), .sport = 1234, .dport = 80, .seq = 42 };
	advance(60 * SEC * 100000);             /* the start of a minute */
	uint32_t ck = tcp_syncookie_make(st, &s, 2);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck, 42), 2);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck + 4, 42), -1);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck + (1u << 20), 42), -1);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck, 42 + 4), -1);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck ^ 0x80000000u, 42), -1);
	advance(now + 120 * SEC - 1);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck, 42), 2);
	advance(now + 1);
	CHECK_EQ(tcp_syncookie_check(st, &s, ck, 42), -1);
	s.sport = 1235;
	CHECK_EQ(tcp_syncookie_check(st, &s, ck, 42), -1);
	teardown();
}

/* A SYN flood: the listener keeps backlog + 1 half-open children; the
 * rest get cookies and cost nothing; a legitimate peer still gets in. */
TEST(listener_full_uses_cookies)
{
	setup();
	int l = listener(4);
	struct out o;
	for (int i = 0; i < 50; i++) {
		inject(syn_opts((uint16_t)(20000 + i), (uint32_t)i * 1000, 1460, 0, 0, 0, -1));
		CHECK(take(&o));
	}
	CHECK_EQ(tcb_of(l)->syn_n, 5);
	CHECK_EQ(st->stat.syncookies_sent, 45);
	CHECK_EQ(tcbs_in_use(), 6);
	inject(syn_opts(PPORT, PISS, 1460, 0, 0, 0, -1));
	REQUIRE(take(&o));
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 5000 });
	uint32_t a; uint16_t p;
	int c = nst_accept(st, l, &a, &p, now);
	CHECK(c >= 0);
	CHECK_EQ(p, PPORT);
	teardown();
}

/* The TCB table full (max_sockets 4: 8 entries): SYNs beyond it get cookies. */
TEST(table_full_uses_cookies)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .max_sockets = 4 };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
	int l = listener(100);
	struct out o;
	for (int i = 0; i < 12; i++) {
		inject(syn_opts((uint16_t)(20000 + i), (uint32_t)i * 1000, 1460, 0, 0, 0, -1));
		CHECK(take(&o));
	}
	CHECK_EQ(tcb_of(l)->syn_n, 7);
	CHECK_EQ(st->stat.syncookies_sent, 5);
	/* a cookie answer with the table still full: dropped, counted */
	uint32_t cookie = o.seq;
	inject((struct seg){ .flags = ACK, .seq = 11001, .ack = cookie + 1, .wnd = 5000,
			     .sport = 20011 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_listen, 1);
	teardown();
}

/* raw frame from PEER: IP header with ihl words (options zero-filled
 * NOPs... EOL), then the TCP bytes */
static void inject_raw(unsigned ihl, unsigned ip_total_adj, const uint8_t *tcp, unsigned tlen)
{
	struct pkt *p = pkt_alloc();
	REQUIRE(p);
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dev->mac, 6);
	memcpy(eh->src, peer_mac, 6);
	eh->type = htons(ETH_P_IPV4);
	unsigned hl = ihl * 4 < 20 ? 20 : ihl * 4;
	uint8_t *ipb = pkt_put(p, hl);
	memset(ipb, 0, hl);
	if (hl > 20)
		ipb[20] = 1;    /* NOP, then EOLs */
	struct ip_hdr *ih = (struct ip_hdr *)ipb;
	ih->ver_ihl = (uint8_t)(0x40 | ihl);
	ih->total_len = htons((uint16_t)(hl + tlen + ip_total_adj));
	ih->ttl = 64;
	ih->proto = IP_PROTO_TCP;
	ih->src = htonl(PEER);
	ih->dst = htonl(ME);
	ih->csum = htons(csum(ih, hl));
	memcpy(pkt_put(p, tlen), tcp, tlen);
	memdev_inject(dev, p);
	stack_poll(st, now);
}

/* a SYN to port 80 with the given data offset and options, checksummed */
static unsigned tcp_raw(uint8_t *b, unsigned off_words, const uint8_t *opt, unsigned olen)
{
	unsigned tlen = 20 + olen;
	memset(b, 0, tlen);
	struct tcp_hdr *h = (struct tcp_hdr *)b;
	h->sport = htons(PPORT);
	h->dport = htons(80);
	h->seq = htonl(PISS);
	h->off = (uint8_t)(off_words << 4);
	h->flags = SYN;
	h->wnd = htons(65535);
	if (olen)
		memcpy(b + 20, opt, olen);
	uint32_t sum = csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)tlen);
	h->csum = htons(csum_fold(csum_add(sum, b, tlen)));
	return tlen;
}

TEST(malformed_headers_counted)
{
	setup();
	int l = listener(8);
	uint8_t b[80];
	struct out o;
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	/* data offset 4 (< 5) and beyond the segment: dropped */
	unsigned n = tcp_raw(b, 4, NULL, 0);
	inject_raw(5, 0, b, n);
	n = tcp_raw(b, 15, mss, 4);
	inject_raw(5, 0, b, n);
	CHECK_EQ(st->stat.tcp_drop_hdr, 2);
	CHECK(none());
	/* option length 0, 1 and past the header: the parsing stops there, as
	 * in Linux's tcp_parse_options; the SYN is answered, the MSS before the
	 * bad option counts */
	static const uint8_t bad0[8] = { 2, 4, 0x02, 0x00, 0x4c, 0, 1, 1 };
	static const uint8_t bad1[8] = { 2, 4, 0x02, 0x00, 0x4c, 1, 1, 1 };
	static const uint8_t badlong[8] = { 2, 4, 0x02, 0x00, 8, 10, 0, 0 };
	const uint8_t *bad[3] = { bad0, bad1, badlong };
	for (int i = 0; i < 3; i++) {
		n = tcp_raw(b, 7, bad[i], 8);
		inject_raw(5, 0, b, n);
		REQUIRE(take(&o));
		CHECK_EQ(o.flags, SYN | ACK);
		inject((struct seg){ .flags = RST | ACK, .seq = PISS + 1, .ack = o.seq + 1 });
	}
	CHECK_EQ(st->stat.tcp_opt_bad, 3);
	CHECK_EQ(st->stat.tcp_drop_hdr, 2);
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	/* truncated: IP total length beyond the frame */
	n = tcp_raw(b, 5, NULL, 0);
	inject_raw(5, 40, b, n);
	CHECK_EQ(st->stat.ip_drop_len, 1);
	/* bad IHL: below 5 */
	inject_raw(4, 0, b, n);
	CHECK_EQ(st->stat.ip_drop_hdrlen, 1);
	CHECK(none());
	/* IP options: accepted (as Linux), counted */
	inject_raw(6, 0, b, n);
	CHECK_EQ(st->stat.ip_opts_rx, 1);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, PISS + 1);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(challenge_rst_and_per_connection_limit);
	RUN(oow_dupack_limit_spares_data);
	RUN(challenge_global_limit);
	RUN(cookie_roundtrip_ts_ws_sack);
	RUN(cookie_no_ts_mss_table);
	RUN(cookie_expired_and_forged);
	RUN(cookie_lifetime_exact);
	RUN(listener_full_uses_cookies);
	RUN(table_full_uses_cookies);
	RUN(malformed_headers_counted);
	return TEST_SUMMARY();
}
