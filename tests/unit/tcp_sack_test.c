/* Unit tests of selective acknowledgments: SACK-permitted on the SYNs
 * (RFC 2018 2), the blocks our ACKs carry (RFC 2018 4, D-SACK of RFC 2883),
 * the sender's scoreboard and RFC 6675 loss recovery, and the NewReno path
 * (RFC 6582) that peers without SACK keep. The test is the peer, at exact
 * microseconds (tests/unit/tcp_harness.h). */
#include "tests/unit/tcp_harness.h"

/* A connection past slow start with cwnd 20 segments, as after growth:
 * 10 segments sent and ACKed, then cwnd set. Returns the next sequence
 * number to send. */
static uint32_t grow_to_20(int sd, uint32_t iss)
{
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 10 * MSS, NULL));
	tcb_of(sd)->cwnd = 20 * MSS;
	return s + 10 * MSS;
}

/* RFC 2018 2: our SYN offers SACK-permitted; the connection uses SACK only
 * when the SYN-ACK has it too. Layout like Linux, within 40 bytes. */
TEST(sack_permitted_active_open)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	CHECK(tcb_of(sd)->sack_ok);
	teardown();

	setup();
	sd = open_sack(&iss, 0);
	CHECK(!tcb_of(sd)->sack_ok);
	/* no blocks without SACK, even with out-of-order data */
	struct out o;
	inject(from(sd, ACK, PISS + 1 + 100, iss + 1, "late"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(o.nsack, 0);
	CHECK_EQ(o.optlen, 0);
	teardown();
}

/* The SYN's option layout: MSS, SACK_PERM, TS, NOP, WS (20 bytes). */
TEST(syn_option_layout)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct pkt *p;
	while ((p = memdev_take(dev)) &&
	       ntohs(((const struct eth_hdr *)p->data)->type) != ETH_P_IPV4)
		pkt_free(p);            /* the IPv6 start-up frames (DAD, RS) */
	REQUIRE(p);
	const uint8_t *b = p->data + ETH_HDR_LEN + IP_HDR_LEN;
	CHECK_EQ(b[12] >> 4, 10);               /* 20 + 20 option bytes */
	static const uint8_t want[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10 };
	CHECK(memcmp(b + 20, want, sizeof(want)) == 0);
	CHECK_EQ(b[36], 1);                     /* NOP */
	CHECK_EQ(b[37], 3);                     /* WS */
	pkt_free(p);
	teardown();
}

/* Passive side: SACK-permitted on the SYN-ACK only if the SYN had it;
 * without TS the layout is MSS, NOP NOP SACK_PERM (12 bytes with no WS). */
TEST(sack_permitted_passive_open)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	struct out o;
	inject(syn_with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = PPORT }, 1, 0, 0, 0));
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK(o.sack_perm);
	CHECK_EQ(o.optlen, 8);                  /* MSS, NOP NOP SACK_PERM */
	struct tcb *c = tcp_lookup(st, V4(ME), 80, V4(PEER), PPORT);
	REQUIRE(c);
	CHECK(c->sack_ok);
	/* with timestamps: MSS, SACK_PERM TS, and the answer carries both */
	inject(syn_with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = PPORT + 1 },
			1, 1, 42, 0));
	CHECK(take(&o));
	CHECK(o.sack_perm);
	CHECK(o.has_ts);
	CHECK_EQ(o.optlen, 16);
	/* a SYN without it: none in the SYN-ACK */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460, .sport = PPORT + 2 });
	CHECK(take(&o));
	CHECK(!o.sack_perm);
	c = tcp_lookup(st, V4(ME), 80, V4(PEER), PPORT + 2);
	REQUIRE(c);
	CHECK(!c->sack_ok);
	teardown();
}

/* RFC 2018 4: blocks for out-of-order data, the one holding the segment
 * that triggered the ACK first, then the most recently reported ones; four
 * at most without timestamps. */
TEST(sack_blocks_most_recent_first)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct out o;
	uint32_t b = PISS + 1;
	static const uint32_t at[] = { 100, 200, 300, 110, 400, 500 };
	static const char *const txt[] = { "aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd",
					   "eeeeeeeeee", "ffffffffff" };
	/* expected blocks (offsets from b) after each arrival */
	static const uint32_t want[6][4][2] = {
		{ { 100, 110 } },
		{ { 200, 210 }, { 100, 110 } },
		{ { 300, 310 }, { 200, 210 }, { 100, 110 } },
		{ { 100, 120 }, { 300, 310 }, { 200, 210 } },
		{ { 400, 410 }, { 100, 120 }, { 300, 310 }, { 200, 210 } },
		{ { 500, 510 }, { 400, 410 }, { 100, 120 }, { 300, 310 } },
	};
	static const unsigned nwant[] = { 1, 2, 3, 3, 4, 4 };
	/* the first TCP_DUPTHRESH duplicate ACKs go at once, later ones after
	 * the compression delay (tcp_ooo_ack: SRTT 10 ms / 20) */
	for (int i = 0; i < 6; i++) {
		inject(from(sd, ACK, b + at[i], iss + 1, txt[i]));
		if (i >= TCP_DUPTHRESH) {
			CHECK(none());
			advance(now + 10 * MS / 20);
		}
		CHECK(take(&o));
		CHECK_EQ(o.ack, b);
		CHECK_EQ(o.nsack, nwant[i]);
		for (unsigned k = 0; k < nwant[i] && k < o.nsack; k++) {
			CHECK_EQ(o.sack[k][0], b + want[i][k][0]);
			CHECK_EQ(o.sack[k][1], b + want[i][k][1]);
		}
	}
	/* a seventh range: still four blocks, the newest first */
	inject(from(sd, ACK, b + 600, iss + 1, "gggggggggg"));
	advance(now + 10 * MS / 20);
	CHECK(take(&o));
	CHECK_EQ(o.nsack, 4);
	CHECK_EQ(o.sack[0][0], b + 600);
	/* the hole at b filled up to 100: the ACK moves, 100..120 is delivered
	 * and no longer reported */
	static char fill[100];
	memset(fill, 'z', sizeof(fill));
	struct seg s = from(sd, ACK, b, iss + 1, NULL);
	s.data = fill;
	s.len = 100;
	inject(s);
	CHECK(take(&o));
	CHECK_EQ(o.ack, b + 120);
	CHECK_EQ(o.nsack, 4);
	for (unsigned k = 0; k < o.nsack; k++)
		CHECK(o.sack[k][0] != b + 100);
	CHECK_EQ(o.sack[0][0], b + 600);
	CHECK_EQ(o.sack[1][0], b + 500);
	teardown();
}

/* With timestamps the option room holds three blocks (12 + 4 + 24 = 40). */
TEST(sack_blocks_three_with_timestamps)
{
	setup();
	struct out syn, o;
	int sd = syn_sent(&syn);
	advance(now + 10 * MS);
	inject(syn_with_opts((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = syn.seq + 1,
				      .wnd = 65535, .sport = 80, .dport = syn.sport }, 1, 1, 7, syn.tsval));
	CHECK(take(&o));
	struct tcb *t = tcb_of(sd);
	CHECK(t->sack_ok && t->ts_ok);
	uint32_t b = PISS + 1;
	for (uint32_t i = 1; i <= 5; i++) {
		struct seg s = from(sd, ACK, b + 100 * i, syn.seq + 1, "0123456789");
		s.opt[0] = 1; s.opt[1] = 1; s.opt[2] = 8; s.opt[3] = 10;
		uint32_t v = htonl(7 + i), e = htonl(o.tsval);
		memcpy(s.opt + 4, &v, 4);
		memcpy(s.opt + 8, &e, 4);
		s.optlen = 12;
		inject(s);
		if (i > TCP_DUPTHRESH)
			advance(now + 10 * MS / 20);   /* compressed (tcp_ooo_ack) */
		CHECK(take(&o));
		CHECK(o.has_ts);
		CHECK_EQ(o.nsack, i < 3 ? i : 3);
		CHECK_EQ(o.sack[0][0], b + 100 * i);
		CHECK(o.optlen <= 40);
	}
	teardown();
}

/* SACK compression (tcp_in.c tcp_ooo_ack, as Linux's tcp_comp_sack): behind
 * a hole the first TCP_DUPTHRESH duplicate ACKs go at once (RFC 5681 4.2,
 * all a sender counting duplicates needs); further out-of-order arrivals are
 * answered by one ACK min(SRTT / 20, 1 ms) later with the SACK blocks of all
 * of them; the count starts again when RCV.NXT moves; the hole filled is
 * ACKed at once; at most TCP_COMP_SACK_NR are held back. */
TEST(sack_compressed_after_three_dupacks)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);       /* SRTT 10 ms: delay 500 us */
	struct out o;
	uint32_t b = PISS + 1;
	const uint64_t d = 10 * MS / 20;
	/* a hole at b..b+10; arrivals at b+10, b+20, ... */
	for (uint32_t i = 1; i <= TCP_DUPTHRESH; i++) {
		inject(from(sd, ACK, b + 10 * i, iss + 1, "0123456789"));
		CHECK(take(&o));
		CHECK_EQ(o.ack, b);
		CHECK_EQ(o.sack[0][1], b + 10 + 10 * i);
	}
	uint64_t t0 = now;
	for (uint32_t i = TCP_DUPTHRESH + 1; i <= TCP_DUPTHRESH + 5; i++) {
		advance(t0 + 10 * (i - TCP_DUPTHRESH));   /* within the delay: held */
		inject(from(sd, ACK, b + 10 * i, iss + 1, "0123456789"));
		CHECK(none());
	}
	CHECK_EQ(tcb_of(sd)->comp_held, 5);
	advance(t0 + 10 + d - 1);
	CHECK(none());
	advance(t0 + 10 + d);              /* the delay counts from the first held */
	CHECK(take(&o));
	CHECK_EQ(o.ack, b);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], b + 10);
	CHECK_EQ(o.sack[0][1], b + 10 + 10 * (TCP_DUPTHRESH + 5));
	CHECK(none());
	/* RCV.NXT unchanged: the next arrival is held again */
	uint32_t e = b + 10 + 10 * (TCP_DUPTHRESH + 5);
	inject(from(sd, ACK, e, iss + 1, "0123456789"));
	CHECK(none());
	/* the hole filled: an immediate ACK for everything, the held one with it */
	inject(from(sd, ACK, b, iss + 1, "0123456789"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, e + 10);
	CHECK_EQ(o.nsack, 0);
	advance(now + d);
	CHECK(none());
	/* a new hole: RCV.NXT moved, three immediate duplicates again */
	uint32_t h = e + 10;
	for (uint32_t i = 1; i <= TCP_DUPTHRESH; i++) {
		inject(from(sd, ACK, h + 10 * i, iss + 1, "0123456789"));
		CHECK(take(&o));
	}
	/* at most TCP_COMP_SACK_NR held: the next goes at once */
	uint32_t i;
	for (i = 1; i <= TCP_COMP_SACK_NR; i++) {
		inject(from(sd, ACK, h + 10 * (TCP_DUPTHRESH + i), iss + 1, "0123456789"));
		CHECK(none());
	}
	inject(from(sd, ACK, h + 10 * (TCP_DUPTHRESH + i), iss + 1, "0123456789"));
	CHECK(take(&o));
	CHECK_EQ(o.sack[0][1], h + 10 * (TCP_DUPTHRESH + i) + 10);
	CHECK(none());
	teardown();
}

/* Without SACK a sender only counts duplicate ACKs: every out-of-order
 * arrival is answered at once (RFC 5681 4.2). */
TEST(no_sack_every_dupack_at_once)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 0);
	struct out o;
	uint32_t b = PISS + 1;
	for (uint32_t i = 1; i <= 10; i++) {
		inject(from(sd, ACK, b + 10 * i, iss + 1, "0123456789"));
		CHECK(take(&o));
		CHECK_EQ(o.ack, b);
		CHECK_EQ(o.nsack, 0);
	}
	teardown();
}

/* RFC 2883: a segment we already hold is reported once, as the first block. */
TEST(dsack_for_a_duplicate)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct out o;
	uint32_t b = PISS + 1;
	inject(from(sd, ACK, b, iss + 1, "0123456789"));
	inject(from(sd, ACK, b + 10, iss + 1, "0123456789"));
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	CHECK_EQ(o.ack, b + 20);
	CHECK_EQ(o.nsack, 0);
	inject(from(sd, ACK, b + 10, iss + 1, "0123456789"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, b + 20);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], b + 10);
	CHECK_EQ(o.sack[0][1], b + 20);
	/* only once */
	advance(now + 1 * SEC);
	inject(from(sd, ACK, b + 20, iss + 1, "x"));
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	CHECK_EQ(o.nsack, 0);
	teardown();
}

/* The scoreboard: blocks merge; blocks outside (snd.una, snd_max] are
 * ignored and counted; a D-SACK is not bogus. */
TEST(scoreboard_merge_and_bogus)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	uint32_t b1[] = { s + 2 * MSS, s + 3 * MSS };
	sack_in(sd, s, 1, b1);
	CHECK_EQ(t->n_sacked, 1);
	CHECK_EQ(t->sacked_bytes, MSS);
	uint32_t b2[] = { s + 5 * MSS, s + 6 * MSS, s + 3 * MSS, s + 4 * MSS };
	sack_in(sd, s, 2, b2);
	CHECK_EQ(t->n_sacked, 2);               /* [2,4) and [5,6) */
	CHECK_EQ(t->sacked[0].start, s + 2 * MSS);
	CHECK_EQ(t->sacked[0].end, s + 4 * MSS);
	uint32_t b3[] = { s + 4 * MSS, s + 5 * MSS };
	sack_in(sd, s, 1, b3);
	CHECK_EQ(t->n_sacked, 1);               /* [2,6) */
	CHECK_EQ(t->sacked_bytes, 4 * MSS);
	CHECK_EQ(st->stat.tcp_sack_blocks_rcvd, 4);
	CHECK_EQ(st->stat.tcp_sack_bogus, 0);
	/* bogus: past snd_max, empty, reversed, below snd.una (not a D-SACK) */
	uint32_t bad[] = { s + 9 * MSS, s + 11 * MSS, s + 7 * MSS, s + 7 * MSS,
			   s + 8 * MSS, s + 7 * MSS };
	sack_in(sd, s, 3, bad);
	CHECK_EQ(st->stat.tcp_sack_bogus, 3);
	CHECK_EQ(t->n_sacked, 1);
	/* cumulative ACK to 1: the board keeps [2,6); to 3: it is cut */
	inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
	uint32_t b4[] = { s + 7 * MSS, s + 8 * MSS };
	sack_in(sd, s + 3 * MSS, 1, b4);
	CHECK_EQ(t->n_sacked, 2);
	CHECK_EQ(t->sacked[0].start, s + 3 * MSS);
	CHECK_EQ(t->sacked_bytes, 4 * MSS);
	/* a D-SACK (first block below the ACK) is counted as such */
	uint32_t d[] = { s, s + MSS, s + 7 * MSS, s + 8 * MSS };
	sack_in(sd, s + 3 * MSS, 2, d);
	CHECK_EQ(st->stat.tcp_dsack_rx, 1);
	CHECK_EQ(st->stat.tcp_sack_bogus, 3);
	/* a block starting below snd.una in a current ACK is bogus */
	uint32_t b5[] = { s + 2 * MSS, s + 9 * MSS };
	sack_in(sd, s + 3 * MSS, 1, b5);
	CHECK_EQ(st->stat.tcp_sack_bogus, 4);
	teardown();
}

/* 20 segments in flight, 3 lost (3, 8 and 14). The peer's ACKs carry SACK
 * blocks for what arrived. RFC 6675 recovers all three holes in the first
 * round trip (NewReno would need three), resends nothing else, and ends at
 * the RecoveryPoint with cwnd = ssthresh. */
static void lossy_round(int sd, uint32_t s, int sack, int *rexmit_seq, int *nrexmit)
{
	struct out o;
	static const int lost[] = { 3, 8, 14 };
	uint32_t blk[8];
	/* the ranges the peer holds beyond the first hole: [4,8) [9,14) [15,n) */
	for (int i = 0; i < 20; i++) {
		int is_lost = i == 3 || i == 8 || i == 14;
		if (is_lost)
			continue;
		if (i < 3) {
			inject(from(sd, ACK, PISS + 1, s + MSS * (uint32_t)(i + 1), NULL));
		} else if (sack) {
			/* most recent block first */
			unsigned n = 0;
			int lo = i < 8 ? 4 : i < 14 ? 9 : 15;
			blk[2 * n] = s + MSS * (uint32_t)lo;
			blk[2 * n + 1] = s + MSS * (uint32_t)(i + 1);
			n++;
			for (int r = 2; r >= 0; r--) {
				static const int lo_r[] = { 4, 9, 15 }, hi_r[] = { 8, 14, 20 };
				if (lo_r[r] >= lo || hi_r[r] > i)
					continue;
				blk[2 * n] = s + MSS * (uint32_t)lo_r[r];
				blk[2 * n + 1] = s + MSS * (uint32_t)hi_r[r];
				n++;
			}
			sack_in(sd, s + 3 * MSS, n, blk);
		} else {
			inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
		}
		while (take(&o)) {
			CHECK(*nrexmit < 8);
			if (*nrexmit < 8)
				rexmit_seq[(*nrexmit)++] = (int)((o.seq - s) / MSS);
			CHECK_EQ(o.len, MSS);
		}
	}
	(void)lost;
}

TEST(rfc6675_three_holes_in_one_round_trip)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = grow_to_20(sd, iss);
	send_segs(sd, s, 20, 20);
	advance(now + 10 * MS);
	int rx[8], n = 0;
	lossy_round(sd, s, 1, rx, &n);
	/* all in the same round trip: no cumulative ACK has moved past 3 */
	CHECK_EQ(n, 3);
	CHECK_EQ(rx[0], 3);
	CHECK_EQ(rx[1], 8);
	CHECK_EQ(rx[2], 14);
	CHECK(t->in_recovery);
	CHECK_EQ(t->recover, s + 20 * MSS);
	/* CUBIC: beta 0.7 of cwnd, which the 3 ACKs before the losses grew
	 * (slow start) from 20 to 23 segments; in whole segments as Linux's
	 * 717 / 1024: 16 */
	CHECK_EQ(t->ssthresh, 23 * 717 / 1024 * MSS);
	CHECK_EQ(st->stat.tcp_sack_recovery, 1);
	CHECK_EQ(st->stat.tcp_sack_rexmit, 3);
	/* the retransmissions arrive: cumulative ACKs, then the RecoveryPoint */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 8 * MSS, NULL));
	CHECK(t->in_recovery);                  /* partial: below RecoveryPoint */
	CHECK(none());
	inject(from(sd, ACK, PISS + 1, s + 14 * MSS, NULL));
	CHECK(t->in_recovery);
	inject(from(sd, ACK, PISS + 1, s + 20 * MSS, NULL));
	CHECK(!t->in_recovery);
	CHECK_EQ(t->cwnd, t->ssthresh);
	CHECK_EQ(t->n_sacked, 0);
	CHECK_EQ(t->timer[TCP_T_REXMT], 0);
	CHECK(none());
	teardown();
}

/* The same losses without SACK: NewReno (RFC 6582) resends one hole per
 * round trip, each after a partial ACK. */
TEST(newreno_one_hole_per_round_trip)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 0);
	struct tcb *t = tcb_of(sd);
	uint32_t s = grow_to_20(sd, iss);
	send_segs(sd, s, 20, 20);
	advance(now + 10 * MS);
	int rx[8], n = 0;
	lossy_round(sd, s, 0, rx, &n);
	CHECK_EQ(n, 1 + 0);                     /* only the first hole; the rest waits */
	CHECK_EQ(rx[0], 3);
	CHECK(t->in_recovery);
	CHECK_EQ(st->stat.tcp_fast_retrans, 1);
	CHECK_EQ(st->stat.tcp_sack_recovery, 0);
	/* partial ACK (to the second hole): it goes at once */
	struct out o;
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 8 * MSS, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 8 * MSS);
	CHECK(t->in_recovery);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 14 * MSS, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 14 * MSS);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 20 * MSS, NULL));
	CHECK(!t->in_recovery);
	/* RFC 6582 3.2 step 3 full ACK: min(ssthresh, max(FlightSize, SMSS) + SMSS) */
	CHECK_EQ(t->cwnd, 2 * MSS);
	teardown();
}

/* pipe and cwnd in recovery. The first two SACKs each let one new
 * segment out (RFC 3042 Limited Transmit); the third marks 0 lost (RACK:
 * DupThresh segments SACKed, RACK.reo_wnd 0) and starts recovery with
 * ssthresh = 0.7 * 20 segments (CUBIC) and RecoverFS = 22 in flight. This
 * test used to expect RFC 6675's cwnd = ssthresh, nothing new until pipe
 * fell below it, then a burst; PRR (RFC 6937) instead sends
 * CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out per ACK while pipe
 * > ssthresh: the retransmission on the third SACK, then new data on 5 of
 * the next 8 SACKs (14/22 of what is delivered). */
TEST(pipe_limits_new_data_in_recovery)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = grow_to_20(sd, iss);
	/* 20 in flight and 10 more queued */
	CHECK_EQ(nst_send(st, sd, payload, 30 * MSS, 0, now), (long)(30 * MSS));
	struct out o;
	int got = 0;
	while (take(&o))
		got++;
	CHECK_EQ(got, 20);
	advance(now + 10 * MS);
	/* segment 0 lost; 1, 2, 3 SACKed */
	uint32_t blk[2] = { s + MSS, 0 };
	for (int i = 2; i <= 3; i++) {
		blk[1] = s + MSS * (uint32_t)i;
		sack_in(sd, s, 1, blk);
		CHECK(take(&o));                /* Limited Transmit: new data */
		CHECK_EQ(o.seq, s + (18 + (uint32_t)i) * MSS);
		CHECK(none());
		CHECK_EQ(t->cwnd, 20 * MSS);    /* "MUST NOT be changed" */
	}
	CHECK(!t->in_recovery);
	blk[1] = s + 4 * MSS;
	sack_in(sd, s, 1, blk);
	CHECK(t->in_recovery);
	CHECK_EQ(t->ssthresh, 14 * MSS);
	CHECK_EQ(t->prr_recover_fs, 22 * MSS);
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);                     /* the first hole */
	CHECK(none());
	/* pipe: 18 not lost (4..21) + 1 resent; cwnd = pipe before + 1 */
	CHECK_EQ(tcp_sack_pipe(t), 19 * MSS);
	CHECK_EQ(t->cwnd, 19 * MSS);
	static const int want[] = { 1, 0, 1, 1, 0, 1, 1, 0 };
	int sent_new = 0;
	for (int i = 5; i <= 12; i++) {
		blk[1] = s + MSS * (uint32_t)i;
		sack_in(sd, s, 1, blk);
		int n = 0;
		while (take(&o)) {
			CHECK_EQ(o.seq, s + (22 + (uint32_t)sent_new) * MSS);  /* new data, in order */
			sent_new++;
			n++;
		}
		CHECK_EQ(n, want[i - 5]);
		CHECK(tcp_sack_pipe(t) > t->ssthresh);
		CHECK_EQ(tcp_sack_pipe(t), t->cwnd);
	}
	CHECK_EQ(sent_new, 5);
	CHECK_EQ(t->prr_out, 6 * MSS);
	teardown();
}

/* A retransmission lost again: once data sent after it is SACKed far
 * enough (IsLost past the snd_max it left at), it goes once more, before
 * the timeout would have resent it. */
TEST(lost_retransmission_resent)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = grow_to_20(sd, iss);
	CHECK_EQ(nst_send(st, sd, payload, 40 * MSS, 0, now), (long)(40 * MSS));
	struct out o;
	drain();
	CHECK_EQ(t->snd_max, s + 20 * MSS);
	advance(now + 10 * MS);
	/* 0 lost: SACKs for 1..19, one per arrival */
	uint32_t blk[2] = { s + MSS, 0 };
	uint32_t rexmit_at_max = 0;
	int rx0 = 0;
	for (int i = 2; i <= 20; i++) {
		blk[1] = s + MSS * (uint32_t)i;
		sack_in(sd, s, 1, blk);
		while (take(&o))
			if (o.seq == s) {
				rx0++;
				rexmit_at_max = t->snd_max;
			}
	}
	CHECK_EQ(rx0, 1);
	CHECK(t->in_recovery);
	REQUIRE(seq_gt(t->snd_max, rexmit_at_max));
	/* the resent 0 is lost too; what was sent after it arrives */
	advance(now + 10 * MS);
	uint32_t top = t->snd_max;
	int again = 0;
	for (uint32_t e = s + 21 * MSS; seq_leq(e, top); e += MSS) {
		blk[1] = e;
		sack_in(sd, s, 1, blk);
		while (take(&o))
			if (o.seq == s)
				again++;
	}
	CHECK_EQ(again, 1);
	CHECK_EQ(st->stat.tcp_sack_rexmit_again, 1);
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* A retransmission timeout clears the scoreboard (RFC 2018 8), leaves
 * recovery and resends from snd.una with cwnd = 1 SMSS; no new recovery
 * starts before snd.una passes the old snd_max (RFC 6675 5.1). */
TEST(rto_clears_scoreboard)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	uint32_t blk[2] = { s + MSS, 0 };
	for (int i = 2; i <= 4; i++) {
		blk[1] = s + MSS * (uint32_t)i;
		sack_in(sd, s, 1, blk);
	}
	CHECK(t->in_recovery);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK_EQ(t->n_sacked, 1);
	uint32_t ss = t->ssthresh;
	advance(t->timer[TCP_T_REXMT]);
	CHECK_EQ(st->stat.tcp_rto, 1);
	CHECK_EQ(t->n_sacked, 0);
	CHECK(!t->in_recovery);
	CHECK_EQ(t->cwnd, MSS);
	CHECK_EQ(t->ssthresh, ss);              /* reduced once for this episode */
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK(none());
	/* more SACKs below the old snd_max: no new recovery */
	blk[1] = s + 6 * MSS;
	sack_in(sd, s, 1, blk);
	blk[1] = s + 7 * MSS;
	sack_in(sd, s, 1, blk);
	blk[1] = s + 8 * MSS;
	sack_in(sd, s, 1, blk);
	CHECK(!t->in_recovery);
	CHECK_EQ(st->stat.tcp_sack_recovery, 1);
	teardown();
}

/* A lost tail in recovery. This was RFC 6675's rescue retransmission
 * (NextSeg rule 4: one segment of the tail); with RACK (RFC 8985 6.2) the
 * ACK of the retransmission of 0, sent after 5..9, says that 5..9 were
 * lost (RACK.reo_wnd is 0 in recovery before any reordering). PRR-SSRB
 * (pipe below ssthresh) lets MAX(prr_delivered - prr_out, DeliveredData) +
 * MSS = 3 of them go on that ACK, the other two on the next. */
TEST(rescue_retransmission_of_the_tail)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	/* 0 lost, 1..4 SACKed, 5..9 lost (no SACK for them ever comes) */
	uint32_t blk[2] = { s + MSS, 0 };
	for (int i = 2; i <= 5; i++) {
		blk[1] = s + MSS * (uint32_t)i;
		sack_in(sd, s, 1, blk);
	}
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK(none());
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 5 * MSS, NULL));
	CHECK_EQ(st->stat.tcp_rack_lost, 6);
	CHECK(t->in_recovery);
	static const uint32_t per_ack[2][3] = { { 5, 6, 7 }, { 8, 9, 0 } };
	for (int a = 0; a < 2; a++) {
		if (a)
			inject(from(sd, ACK, PISS + 1, s + (5 + (uint32_t)a) * MSS, NULL));
		for (int k = 0; k < 3 && per_ack[a][k]; k++) {
			CHECK(take(&o));
			CHECK_EQ(o.seq, s + per_ack[a][k] * MSS);
		}
		CHECK(none());
	}
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* TCP_INFO reports SACK and the scoreboard: 2 and 3 SACKed (fewer than
 * DupThresh), so 0 and 1 are lost only at the RACK timer (RTT/4 later);
 * PRR then resends one (the first ACK-less step of recovery lets one go,
 * as Linux), and tcpi_lost counts both: like Linux's lost_out, a
 * retransmission keeps its segment's lost mark until it is delivered. */
TEST(tcp_info_sack_fields)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	uint32_t blk[2] = { s + 2 * MSS, s + 4 * MSS };
	sack_in(sd, s, 1, blk);
	struct nst_tcp_info ti;
	CHECK_EQ(nst_tcp_info(st, sd, &ti), 0);
	CHECK(ti.options & NST_TCPI_OPT_SACK);
	CHECK_EQ(ti.sacked_segs, 2);
	CHECK_EQ(ti.lost_segs, 0);
	advance(tcb_of(sd)->timer[TCP_T_REO]);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK(none());
	CHECK_EQ(nst_tcp_info(st, sd, &ti), 0);
	CHECK_EQ(ti.lost_segs, 2);
	CHECK_EQ(ti.reordering, 3);
	teardown();
}
int main(void)
{
	pkt_pool_init(1024);
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7);
	RUN(sack_permitted_active_open);
	RUN(syn_option_layout);
	RUN(sack_permitted_passive_open);
	RUN(sack_blocks_most_recent_first);
	RUN(sack_blocks_three_with_timestamps);
	RUN(sack_compressed_after_three_dupacks);
	RUN(no_sack_every_dupack_at_once);
	RUN(dsack_for_a_duplicate);
	RUN(scoreboard_merge_and_bogus);
	RUN(rfc6675_three_holes_in_one_round_trip);
	RUN(newreno_one_hole_per_round_trip);
	RUN(pipe_limits_new_data_in_recovery);
	RUN(lost_retransmission_resent);
	RUN(rto_clears_scoreboard);
	RUN(rescue_retransmission_of_the_tail);
	RUN(tcp_info_sack_fields);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
