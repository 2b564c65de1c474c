/* Unit tests of the TCP performance features (RFC 7323 window scaling,
 * timestamps with RTTM and PAWS; cwnd validation; Nagle and TCP_CORK). The
 * test is the peer: it crafts frames, injects them into the memdev and
 * takes what the stack sends, at exact microseconds (tcp_harness.h). */
#include "tests/unit/tcp_harness.h"

/* options: MSS 1460, then WS (ws >= 0) and TS (ts) */
static struct seg with_opts(struct seg s, int ws, int ts, uint32_t tsval, uint32_t tsecr)
{
	if (s.flags & SYN)
		opt_mss(&s, 1460);
	if (ts)
		opt_ts(&s, tsval, tsecr);
	if (ws >= 0)
		opt_ws(&s, ws);
	return s;
}

/* Active open; the SYN-ACK carries WS peer_ws (-1 none) and, if ts, a
 * TSopt with TSval ptsval. Returns sd; *syn our SYN. */
static int open_active_opts(struct out *syn, int peer_ws, int ts, uint32_t ptsval, uint16_t peer_wnd)
{
	int sd = syn_sent(syn);
	syn_ack_in(sd, syn, 100, with_opts((struct seg){ .flags = SYN | ACK, .wnd = peer_wnd },
					   peer_ws, ts, ptsval, syn->tsval));
	return sd;
}

static struct seg from_wnd(int sd, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
		       const char *data)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = wnd, .sport = 80,
			     .dport = tcb_of(sd)->lport, .data = data,
			     .len = data ? (uint32_t)strlen(data) : 0 };
}

/* RFC 7323 2.2/2.3: our SYN offers WS (the shift that covers the receive
 * ring) and TS; the SYN's window is not scaled; with both sides' WS the
 * windows are scaled both ways, so the window can pass 64 KB. */
TEST(wscale_negotiated_both_ways)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, 7, 1, 777, 1000);
	CHECK_EQ(syn.ws, 7);                    /* TCP_RMEM_MAX 6 MB >> 7 <= 65535, as Linux */
	CHECK_EQ(syn.wnd, 65535);               /* never scaled on a SYN */
	CHECK(syn.has_ts);
	CHECK_EQ(syn.tsecr, 0);
	CHECK_EQ(syn.optlen, 20);               /* MSS, NOP NOP TS, NOP WS */
	struct tcb *t = tcb_of(sd);
	CHECK(t->ws_ok);
	CHECK_EQ(t->snd_wscale, 7);
	CHECK_EQ(t->rcv_wscale, 7);
	CHECK_EQ(t->snd.wnd, 1000);             /* the SYN-ACK's window: unscaled */
	/* a later segment's window is shifted by 7 */
	advance(now + 1000);
	inject(with_opts(from_wnd(sd, ACK, PISS + 1, syn.seq + 1, 1000, "hello"), -1, 1, 778, 0));
	CHECK_EQ(t->snd.wnd, 1000u << 7);
	/* our window, in the field >> 7, covers more than 64 KB */
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), 1);
	CHECK(take(&o));
	CHECK_EQ(o.ws, -1);                     /* only on SYNs */
	CHECK((uint32_t)o.wnd << 7 > 65535u);
	CHECK_EQ((uint32_t)o.wnd << 7, t->rcv_adv - t->rcv.nxt);
	teardown();
}

/* RFC 7323 2.3: a shift above 14 "MUST use 14 instead". */
TEST(wscale_above_14_is_14)
{
	setup();
	struct out syn;
	int sd = open_active_opts(&syn, 15, 0, 0, 1);
	CHECK_EQ(tcb_of(sd)->snd_wscale, 14);
	advance(now + 1000);
	inject(from_wnd(sd, ACK, PISS + 1, syn.seq + 1, 2, NULL));
	CHECK_EQ(tcb_of(sd)->snd.wnd, 2u << 14);
	teardown();
}

/* Without the peer's WS neither side scales (RFC 7323 2.3), and without
 * its TS no segment carries timestamps (3.2). */
TEST(no_options_no_scaling_no_timestamps)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, -1, 0, 0, 40000);
	struct tcb *t = tcb_of(sd);
	CHECK(!t->ws_ok && !t->ts_ok);
	CHECK_EQ(t->rcv_wscale, 0);
	CHECK_EQ(t->mss, 1460);                 /* no room taken by timestamps */
	advance(now + 1000);
	inject(from_wnd(sd, ACK, PISS + 1, syn.seq + 1, 40000, NULL));
	CHECK_EQ(t->snd.wnd, 40000);
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), 1);
	CHECK(take(&o));
	CHECK(!o.has_ts);
	CHECK_EQ(o.optlen, 0);
	CHECK_EQ(o.wnd, 65535);                 /* capped, unscaled */
	teardown();
}

/* Passive side: RFC 7323 2.2 "MAY also be sent in a <SYN,ACK> segment, but
 * only if a Window Scale option was received in the initial <SYN>"; 3.2 the
 * same for TSopt. */
TEST(passive_answers_options_only_when_offered)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	struct out o;
	inject(with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 1000, .sport = 40001,
				       .dport = 80 }, 2, 1, 4242, 0));
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ws, 7);
	CHECK(o.has_ts);
	CHECK_EQ(o.tsecr, 4242);
	CHECK_EQ(o.wnd, 65535);
	CHECK_EQ(o.mss, 1460);
	/* the handshake's ACK: its window is scaled by 2 */
	advance(now + 100);
	inject(with_opts((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 1000,
				       .sport = 40001, .dport = 80 }, -1, 1, 4243, o.tsval));
	uint16_t port;
	int c = nst_accept(st, l, NULL, &port, now);
	CHECK(c >= 0);
	CHECK_EQ(tcb_of(c)->snd.wnd, 4000);
	CHECK_EQ(tcb_of(c)->mss, 1460 - 12);    /* RFC 7323: TS comes out of the payload */
	/* a plain SYN gets a plain SYN-ACK */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 1000, .mss = 1460, .sport = 40002,
			     .dport = 80 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ws, -1);
	CHECK(!o.has_ts);
	CHECK_EQ(o.optlen, 4);
	teardown();
}

/* RFC 7323 3.2/4.3: every segment carries TSopt; TSval is our clock in ms;
 * TSecr echoes TS.Recent, which follows the peer's TSval of segments at the
 * left edge ("SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent"). */
TEST(timestamps_clock_and_echo)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, 0, 1, 1000, 60000);
	struct tcb *t = tcb_of(sd);
	CHECK(t->ts_ok);
	CHECK_EQ(t->ts_recent, 1000);
	CHECK_EQ(nst_send(st, sd, "a", 1, 0, now), 1);
	CHECK(take(&o));
	CHECK(o.has_ts);
	CHECK_EQ(o.tsecr, 1000);
	uint32_t tv0 = o.tsval;
	CHECK_EQ(tv0, syn.tsval);               /* 100 µs later: the same ms tick */
	advance(now + 7 * MS);
	/* the peer's segment at RCV.NXT with a newer TSval: TS.Recent moves */
	inject(with_opts(from_wnd(sd, ACK, PISS + 1, syn.seq + 2, 60000, "b"), -1, 1, 1005, tv0));
	CHECK_EQ(t->ts_recent, 1005);
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));                        /* the delayed ACK */
	CHECK_EQ(o.tsval, tv0 + 7 + TCP_DELACK_US / MS);
	CHECK_EQ(o.tsecr, 1005);
	/* a segment beyond a hole (SEG.SEQ > Last.ACK.sent) does not move it */
	inject(with_opts(from_wnd(sd, ACK, PISS + 10, syn.seq + 2, 60000, "z"), -1, 1, 1010, tv0));
	CHECK_EQ(t->ts_recent, 1005);
	CHECK(take(&o));                        /* the immediate duplicate ACK */
	CHECK_EQ(o.tsecr, 1005);
	teardown();
}

/* RFC 7323 5.3 R1 (PAWS): an old TSval makes a segment unacceptable: ACK
 * and drop. RSTs are exempt. 3.2: a segment without TSopt is dropped. */
TEST(paws_rejects_old_timestamps)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, 0, 1, 5000, 60000);
	struct tcb *t = tcb_of(sd);
	const struct stack_stats *ss = stack_stats(st);
	advance(now + MS);
	inject(with_opts(from_wnd(sd, ACK | PSH, PISS + 1, syn.seq + 1, 60000, "new"), -1, 1, 5001, 0));
	CHECK_EQ(t->rcv.nxt, PISS + 4);
	CHECK_EQ(t->ts_recent, 5001);
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	/* an old duplicate from a previous wrap of the sequence space: same
	 * sequence numbers as new data, an older TSval */
	uint64_t paws0 = ss->tcp_drop_paws;
	inject(with_opts(from_wnd(sd, ACK | PSH, PISS + 4, syn.seq + 1, 60000, "old"), -1, 1, 4000, 0));
	CHECK_EQ(ss->tcp_drop_paws, paws0 + 1);
	CHECK_EQ(t->rcv.nxt, PISS + 4);         /* not taken */
	CHECK(take(&o));                        /* "Send an acknowledgment in reply" */
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 4);
	CHECK(none());
	/* TSval wraps: 0x7fffffff ahead is still newer (modular compare) */
	inject(with_opts(from_wnd(sd, ACK | PSH, PISS + 4, syn.seq + 1, 60000, "w"), -1, 1,
			 5001u + 0x7fffffffu, 0));
	CHECK_EQ(t->rcv.nxt, PISS + 5);
	CHECK_EQ(t->ts_recent, 5001u + 0x7fffffffu);
	/* a segment without TSopt is dropped silently */
	uint64_t nots0 = ss->tcp_drop_nots;
	inject(from_wnd(sd, ACK | PSH, PISS + 5, syn.seq + 1, 60000, "q"));
	CHECK_EQ(ss->tcp_drop_nots, nots0 + 1);
	CHECK_EQ(t->rcv.nxt, PISS + 5);
	advance(now + TCP_DELACK_US);
	drain();
	/* after 24 days idle TS.Recent is invalid (5.5): the old TSval passes */
	advance(now + TCP_PAWS_IDLE_US + SEC);
	drain();
	inject(with_opts(from_wnd(sd, ACK | PSH, PISS + 5, syn.seq + 1, 60000, "x"), -1, 1, 10, 0));
	CHECK_EQ(t->rcv.nxt, PISS + 6);
	CHECK_EQ(t->ts_recent, 10);
	/* a RST with an old TSval is not subject to PAWS */
	inject(with_opts(from_wnd(sd, RST, PISS + 6, 0, 0, NULL), -1, 1, 1, 0));
	CHECK_EQ(t->state, TCP_CLOSED);
	nst_close(st, sd, now);
	teardown();
}

/* PAWS as Linux applies it (tcp_paws_discard): a TSval one tick behind
 * TS.Recent passes (TCP_PAWS_WINDOW: a segment a link reordered by less
 * than a tick of the peer's clock is new data, not an old duplicate), and
 * so does a "disordered ACK" (tcp_disordered_ack): a pure duplicate ACK at
 * rcv.nxt that would not update the window, its TSval within an RTO of
 * TS.Recent — a reordered dupack of a recovery, its SACK blocks wanted.
 * Two ticks behind, data is still dropped; so is an old ACK that would
 * move the window. TS.Recent never moves back. */
TEST(paws_allows_one_tick_and_disordered_acks)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, 0, 1, 5000, 60000);
	struct tcb *t = tcb_of(sd);
	const struct stack_stats *ss = stack_stats(st);
	uint64_t paws0 = ss->tcp_drop_paws;
	advance(now + MS);
	inject(with_opts(from_wnd(sd, ACK, PISS + 1, syn.seq + 1, 60000, "abc"), -1, 1, 5002, 0));
	CHECK_EQ(t->ts_recent, 5002);
	inject(with_opts(from_wnd(sd, ACK, PISS + 4, syn.seq + 1, 60000, "def"), -1, 1, 5001, 0));
	CHECK_EQ(ss->tcp_drop_paws, paws0);
	CHECK_EQ(t->rcv.nxt, PISS + 7);         /* taken: one tick behind */
	CHECK_EQ(t->ts_recent, 5002);           /* and TS.Recent stays */
	inject(with_opts(from_wnd(sd, ACK, PISS + 7, syn.seq + 1, 60000, "ghi"), -1, 1, 5000, 0));
	CHECK_EQ(ss->tcp_drop_paws, paws0 + 1);
	CHECK_EQ(t->rcv.nxt, PISS + 7);         /* two ticks: dropped */
	drain();
	/* a pure ACK at rcv.nxt (SND.WL1 moves to it), then a reordered one
	 * from before it, 10 ticks old (the RTO is 1 s): taken */
	inject(with_opts(from_wnd(sd, ACK, PISS + 7, syn.seq + 1, 60000, NULL), -1, 1, 5003, 0));
	CHECK_EQ(t->ts_recent, 5003);
	CHECK(none());
	inject(with_opts(from_wnd(sd, ACK, PISS + 7, syn.seq + 1, 60000, NULL), -1, 1, 4993, 0));
	CHECK_EQ(ss->tcp_drop_paws, paws0 + 1);
	CHECK(none());
	/* the same with a wider window (it would update it): dropped, ACKed */
	inject(with_opts(from_wnd(sd, ACK, PISS + 7, syn.seq + 1, 61000, NULL), -1, 1, 4993, 0));
	CHECK_EQ(ss->tcp_drop_paws, paws0 + 2);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 7);
	CHECK_EQ(t->snd.wnd, 60000);
	teardown();
}

/* RFC 7323 4.1 (RTTM): in fast recovery, where Karn leaves the segment
 * timer idle, the echoed TSval gives the RTT sample. */
TEST(rttm_sample_in_recovery)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, 0, 1, 100, 60000);
	struct tcb *t = tcb_of(sd);
	static char big[8 * 1448];
	memset(big, 'd', sizeof(big));
	CHECK_EQ(nst_send(st, sd, big, sizeof(big), 0, now), (long)sizeof(big));
	uint32_t first_tsval = 0;
	for (int i = 0; i < 8; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.len, 1448);
		if (!i)
			first_tsval = o.tsval;
	}
	/* three duplicate ACKs 30 ms later: fast retransmit, recovery */
	advance(now + 30 * MS);
	for (int i = 0; i < 3; i++)
		inject(with_opts(from_wnd(sd, ACK, PISS + 1, syn.seq + 1, 60000, NULL), -1, 1, 101, first_tsval));
	CHECK(t->in_recovery);
	CHECK(!t->rtt_on);
	CHECK(take(&o));                        /* the retransmission */
	uint64_t srtt0 = t->srtt;
	/* a partial ACK 50 ms later echoing the retransmission's TSval: 50 ms */
	advance(now + 50 * MS);
	inject(with_opts(from_wnd(sd, ACK, PISS + 1, syn.seq + 1 + 1448, 60000, NULL), -1, 1, 102, o.tsval));
	CHECK_EQ(t->srtt, (7 * srtt0 + 50 * MS) / 8);
	nst_close(st, sd, now);
	teardown();
}

/* Congestion window validation (RFC 7661): ACKs of a sender that is not
 * cwnd-limited do not grow cwnd. Application-limited: 100 bytes per RTT.
 * rwnd-limited: a peer window of 8 segments against a large cwnd. */
TEST(cwnd_does_not_grow_when_not_limited)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, -1, 0, 0, 65535);
	struct tcb *t = tcb_of(sd);
	uint32_t iw = t->cwnd, una = syn.seq + 1;
	CHECK_EQ(iw, 10 * 1460);
	char small[100];
	memset(small, 's', sizeof(small));
	for (int i = 0; i < 50; i++) {
		CHECK_EQ(nst_send(st, sd, small, sizeof(small), 0, now), 100);
		CHECK(take(&o));
		advance(now + MS);
		una += 100;
		inject(from_wnd(sd, ACK, PISS + 1, una, 65535, NULL));
	}
	CHECK_EQ(t->cwnd, iw);                  /* application-limited: unchanged */
	/* rwnd-limited: the peer offers 8 segments; cwnd grows only while
	 * below twice the flight in slow start, so it ends at most one ACK's
	 * growth (8 segments, RFC 9406 4.2) beyond that */
	static char big[64 * 1460];
	memset(big, 'b', sizeof(big));
	uint32_t sent = 0;
	for (int round = 0; round < 40; round++) {
		if (sent < sizeof(big)) {
			long r = nst_send(st, sd, big + sent, sizeof(big) - sent, 0, now);
			if (r > 0)
				sent += (uint32_t)r;
		}
		uint32_t hi = una;
		while (take(&o))
			hi = o.seq + o.len;
		advance(now + MS);
		una = hi;
		inject(from_wnd(sd, ACK, PISS + 1, una, 8 * 1460, NULL));
		CHECK(t->cwnd <= 2 * 8 * 1460 + 8 * 1460);
	}
	CHECK(t->cwnd <= 2 * 8 * 1460 + 8 * 1460);
	CHECK(stack_stats(st)->tcp_cwnd_unvalidated > 0);
	nst_close(st, sd, now);
	teardown();
}

/* Slow start of an application-limited sender (as Linux's
 * tcp_is_cwnd_limited, RFC 7661 4.1): cwnd grows while it is below twice
 * the most segments out in the window. A full initial window of 10 sent
 * at once takes cwnd to 20; 9 segments to 18; 5 segments, acknowledged
 * two at a time, leave it at 10. */
static void app_limited_round(uint32_t nsegs, uint32_t per_ack, uint32_t want_cwnd)
{
	setup();
	struct out syn;
	int sd = open_active_opts(&syn, -1, 0, 0, 65535);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->cwnd, 10 * 1460);
	static char buf[10 * 1460];
	memset(buf, 'a', sizeof(buf));
	CHECK_EQ(nst_send(st, sd, buf, nsegs * 1460, 0, now), (long)(nsegs * 1460));
	drain();
	uint32_t una = syn.seq + 1, end = una + nsegs * 1460;
	advance(now + 100 * MS);
	while (seq_lt(una, end)) {
		una += per_ack * 1460;
		if (seq_gt(una, end))
			una = end;
		inject(from_wnd(sd, ACK, PISS + 1, una, 65535, NULL));
		advance(now + MS);
	}
	CHECK_EQ(t->cwnd, want_cwnd * 1460);
	nst_close(st, sd, now);
	teardown();
}

TEST(slow_start_app_limited_grows_to_twice_the_flight)
{
	app_limited_round(10, 2, 20);
	app_limited_round(9, 2, 18);
	app_limited_round(5, 2, 10);
	app_limited_round(5, 1, 10);
}

/* Nagle (RFC 896, RFC 1122 4.2.3.4): a small write goes at once when
 * nothing is in flight; the next small one waits for the ACK (or a full
 * segment); TCP_NODELAY sends at once and setting it pushes what was held. */
TEST(nagle_and_nodelay)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, -1, 0, 0, 65535);
	struct tcb *t = tcb_of(sd);
	uint32_t s0 = syn.seq + 1;
	CHECK_EQ(nst_send(st, sd, "aa", 2, 0, now), 2);
	CHECK(take(&o));
	CHECK_EQ(o.len, 2);
	CHECK_EQ(nst_send(st, sd, "bb", 2, 0, now), 2);
	CHECK_EQ(nst_send(st, sd, "cc", 2, 0, now), 2);
	CHECK(none());                          /* held: "aa" is unacknowledged */
	CHECK_EQ(stack_stats(st)->tcp_nagle_held, 2);
	advance(now + 5 * MS);
	inject(from_wnd(sd, ACK, PISS + 1, s0 + 2, 65535, NULL));
	CHECK(take(&o));                        /* the ACK releases them, coalesced */
	CHECK_EQ(o.seq, s0 + 2);
	CHECK_EQ(o.len, 4);
	CHECK(none());
	/* a full segment is not held */
	static char big[1460 + 10];
	memset(big, 'f', sizeof(big));
	CHECK_EQ(nst_send(st, sd, big, sizeof(big), 0, now), (long)sizeof(big));
	CHECK(take(&o));
	CHECK_EQ(o.len, 1460);
	CHECK(none());                          /* the 10-byte tail waits */
	/* TCP_NODELAY: setting it pushes the tail; then small writes go at once */
	int one = 1;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.len, 10);
	CHECK_EQ(nst_send(st, sd, "dd", 2, 0, now), 2);
	CHECK(take(&o));
	CHECK_EQ(o.len, 2);
	CHECK(t->snd_max != t->snd.una);
	nst_close(st, sd, now);
	teardown();
}

/* TCP_CORK: partial segments are held even with nothing in flight, full
 * ones go; uncorking sends the rest; the 200 ms ceiling sends it anyway. */
TEST(cork_holds_partial_segments)
{
	setup();
	struct out syn, o;
	int sd = open_active_opts(&syn, -1, 0, 0, 65535);
	int one = 1, zero = 0;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_send(st, sd, "head", 4, 0, now), 4);
	CHECK(none());
	static char big[1460];
	memset(big, 'c', sizeof(big));
	CHECK_EQ(nst_send(st, sd, big, sizeof(big), 0, now), (long)sizeof(big));
	CHECK(take(&o));                        /* one full segment: "head" + 1456 */
	CHECK_EQ(o.len, 1460);
	CHECK(none());                          /* 4 bytes held */
	/* uncorked: the 4 bytes go although 1460 are in flight (Nagle's
	 * outstanding data is a full segment, Minshall's rule lets it go) */
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero), now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.len, 4);
	/* corked again: the ceiling */
	advance(now + MS);
	inject(from_wnd(sd, ACK, PISS + 1, syn.seq + 1 + 1464, 65535, NULL));
	drain();
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one), now), 0);
	uint64_t t0 = now;
	CHECK_EQ(nst_send(st, sd, "tail", 4, 0, now), 4);
	advance(t0 + TCP_CORK_US - 1);
	CHECK(none());
	advance(t0 + TCP_CORK_US);
	CHECK(take(&o));
	CHECK_EQ(o.len, 4);
	CHECK_EQ(memcmp(o.data, "tail", 4), 0);
	nst_close(st, sd, now);
	teardown();
}

/* Quick-ack at the start (Linux quick-ack mode): the first TCP_QUICKACKS
 * in-order segments are ACKed at once, then the delayed-ACK rules apply
 * (RFC 1122 4.2.3.2: every second full segment, or after 40 ms). TCP_QUICKACK
 * 0 (pingpong) turns it off. */
TEST(quickack_at_start_then_delayed)
{
	harness_quickacks = 0;          /* the default */
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	uint32_t seq = PISS + 1;
	struct out o;
	for (int i = 0; i < TCP_QUICKACKS; i++) {
		inject(from(sd, ACK | PSH, seq, iss + 1, "x"));
		seq++;
		CHECK(take(&o));        /* at once, no delay */
		CHECK_EQ(o.ack, seq);
		CHECK(none());
	}
	inject(from(sd, ACK | PSH, seq, iss + 1, "y"));
	seq++;
	CHECK(none());                  /* now delayed */
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	CHECK_EQ(o.ack, seq);
	teardown();

	setup();
	sd = open_active(&iss, 10 * MS, 65535);
	int zero = 0;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero), now), 0);
	inject(from(sd, ACK | PSH, PISS + 1, iss + 1, "z"));
	CHECK(none());                  /* pingpong mode: delayed from the first */
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 2);
	teardown();
	harness_quickacks = -1u;
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(wscale_negotiated_both_ways);
	RUN(wscale_above_14_is_14);
	RUN(no_options_no_scaling_no_timestamps);
	RUN(passive_answers_options_only_when_offered);
	RUN(timestamps_clock_and_echo);
	RUN(paws_rejects_old_timestamps);
	RUN(paws_allows_one_tick_and_disordered_acks);
	RUN(rttm_sample_in_recovery);
	RUN(cwnd_does_not_grow_when_not_limited);
	RUN(slow_start_app_limited_grows_to_twice_the_flight);
	RUN(nagle_and_nodelay);
	RUN(cork_holds_partial_segments);
	RUN(quickack_at_start_then_delayed);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
