/* Unit tests of RACK loss detection (RFC 8985 6), PRR (RFC 6937) and the
 * undo of spurious reductions (D-SACK, RFC 3708; timestamps, RFC 3522).
 * The test is the peer, at exact microseconds (tests/unit/tcp_harness.h);
 * the handshake takes 10 ms, so SRTT = min_RTT = 10 ms and RTT/4 = 2.5 ms. */
#include "tests/unit/tcp_harness.h"

/* The segment the stack sends next must be seq; nothing else then. */
static void expect_one(uint32_t seq)
{
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, seq);
	CHECK(none());
}

/* The packetdrill case fast_retransmit/fr-4pkt-fack-last-mss: four
 * segments, 1..3 lost, the peer SACKs the last one an RTT later. Before
 * RACK nothing happened until the loss probe (2 * SRTT + 2 ms) or the RTO; now the
 * first three are lost at RACK.rtt + RACK.reo_wnd after they left (10 ms +
 * min_RTT/4): the RACK timer fires then and recovery starts. With nothing
 * in flight (pipe 0) PRR lets two retransmissions go (MAX(prr_delivered -
 * prr_out, DeliveredData) + MSS, the one exception to RFC 9937's SafeACK
 * rule; Linux sends one); the ACK of the first brings the third. */
TEST(four_segments_last_sacked)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->srtt, 10 * MS);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 4, 4);
	CHECK_EQ(t->timer[TCP_T_PTO], t0 + 22 * MS);
	advance(t0 + 10 * MS);
	uint32_t b[2] = { s + 3 * MSS, s + 4 * MSS };
	sack_in(sd, s, 1, b);
	CHECK(none());
	CHECK_EQ(t->rack_rtt, 10 * MS);
	CHECK_EQ(t->min_rtt, 10 * MS);
	CHECK_EQ(t->timer[TCP_T_REO], t0 + 12500);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);       /* RACK's timer, not the probe */
	advance(t0 + 12500 - 1);
	CHECK(none());
	CHECK(!t->in_recovery);
	advance(t0 + 12500);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	expect_one(s + MSS);
	CHECK(t->in_recovery);
	CHECK_EQ(st->stat.tcp_rack_reo_timeout, 1);
	CHECK_EQ(st->stat.tcp_rack_lost, 3);
	CHECK_EQ(st->stat.tcp_sack_recovery, 1);
	CHECK_EQ(tcp_sack_lost_bytes(t), MSS);
	/* the first retransmission's ACK */
	advance(t0 + 22500);
	sack_in(sd, s + MSS, 1, b);
	expect_one(s + 2 * MSS);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK(!t->in_recovery);
	CHECK_EQ(t->cwnd, t->ssthresh);
	CHECK_EQ(t->timer[TCP_T_REO], 0);
	CHECK_EQ(st->stat.tcp_tlp_probes, 0);
	CHECK_EQ(st->stat.tcp_rto, 0);
	CHECK_EQ(st->stat.tcp_undo_dsack + st->stat.tcp_undo_eifel, 0);
	teardown();
}

/* The packetdrill case fast_retransmit/fr-4pkt-fack-last-byte: four
 * segments, 1..3 lost, and the peer SACKs only the last byte of the
 * fourth. A segment is delivered only when all of it is (RFC 8985 6.2 step
 * 2), so the block delivers nothing: no RACK.segment, no loss marked, no
 * RACK timer, and no recovery; the tail loss probe goes at 2 * SRTT and
 * resends the last segment (RFC 8985 7.3), then the RTO. A block covering
 * one whole segment and a part of its neighbour counts the whole one. */
TEST(sack_of_a_part_of_a_segment)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 4, 4);
	advance(t0 + 10 * MS);
	uint32_t b[2] = { s + 4 * MSS - 1, s + 4 * MSS };
	sack_in(sd, s, 1, b);
	CHECK(none());
	CHECK_EQ(t->sacked_bytes, 0);
	CHECK_EQ(t->timer[TCP_T_REO], 0);
	CHECK_EQ(t->timer[TCP_T_PTO], t0 + 22 * MS);
	advance(t0 + 22 * MS - 1);
	CHECK(none());
	CHECK(!t->in_recovery);
	advance(t0 + 22 * MS);
	expect_one(s + 3 * MSS);                /* the probe */
	CHECK_EQ(st->stat.tcp_tlp_probes, 1);
	CHECK_EQ(st->stat.tcp_rack_lost, 0);
	CHECK_EQ(st->stat.tcp_sack_recovery, 0);
	teardown();

	/* the block ends inside the fourth and starts inside the second:
	 * the third alone is SACKed */
	setup();
	sd = open_sack(&iss, 1);
	t = tcb_of(sd);
	s = iss + 1;
	send_segs(sd, s, 4, 4);
	advance(now + 10 * MS);
	uint32_t b2[2] = { s + MSS + 100, s + 3 * MSS + 100 };
	sack_in(sd, s, 1, b2);
	CHECK_EQ(t->sacked_bytes, MSS);
	uint32_t he;
	CHECK_EQ(tcp_sb_unsacked_from(t, s + MSS, &he), s + MSS);
	CHECK_EQ(he, s + 2 * MSS);
	CHECK_EQ(tcp_sb_unsacked_from(t, s + 2 * MSS, &he), s + 3 * MSS);
	teardown();
}

/* With DupThresh segments SACKed (and no reordering seen) RACK.reo_wnd is
 * 0 (RFC 8985 6.2 step 4): the hole is lost on that ACK, as RFC 6675's
 * segment count said. */
TEST(dupthresh_sacked_is_lost_at_once)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 5, 5);
	advance(now + 10 * MS);
	uint32_t b[2] = { s + MSS, s + 3 * MSS };
	sack_in(sd, s, 1, b);
	CHECK(none());
	CHECK(t->timer[TCP_T_REO]);
	b[1] = s + 4 * MSS;
	sack_in(sd, s, 1, b);
	expect_one(s);
	CHECK(t->in_recovery);
	CHECK_EQ(t->timer[TCP_T_REO], 0);
	CHECK_EQ(st->stat.tcp_rack_reo_timeout, 0);
	teardown();
}

/* Reordering seen (RFC 8985 6.2 step 3: a never-retransmitted segment
 * delivered below RACK.fack): segment 0 arrives after 1, before the RACK
 * timer. From then on DupThresh SACKed segments no longer mean a loss at
 * once: RACK waits min_RTT/4. */
TEST(reordering_seen_keeps_the_window)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 6, 6);
	advance(now + 10 * MS);
	/* an ACK of two segments at once is no reordering */
	inject(from(sd, ACK, PISS + 1, s + 2 * MSS, NULL));
	CHECK_EQ(t->rack_reord, 0);
	uint32_t b[2] = { s + 3 * MSS, s + 4 * MSS };
	sack_in(sd, s + 2 * MSS, 1, b);
	CHECK(t->timer[TCP_T_REO]);
	advance(now + 1 * MS);
	inject(from(sd, ACK, PISS + 1, s + 6 * MSS, NULL));
	CHECK(none());
	CHECK_EQ(t->rack_reord, 1);
	CHECK_EQ(st->stat.tcp_rack_reordering, 1);
	CHECK_EQ(t->timer[TCP_T_REO], 0);
	CHECK_EQ(st->stat.tcp_sack_recovery, 0);
	/* five more; the first lost, three SACKed 10 ms later */
	s += 6 * MSS;
	uint64_t t1 = now;
	send_segs(sd, s, 5, 5);
	advance(t1 + 10 * MS);
	b[0] = s + MSS;
	b[1] = s + 4 * MSS;
	sack_in(sd, s, 1, b);
	CHECK(none());
	CHECK(!t->in_recovery);
	CHECK_EQ(t->timer[TCP_T_REO], t1 + 12500);
	advance(t1 + 12500);
	expect_one(s);
	CHECK(t->in_recovery);
	teardown();
}

/* D-SACK (RFC 8985 6.2 step 4): "RACK.reo_wnd_mult += 1" once per round
 * trip, and RACK.reo_wnd_persist = 16 recoveries before it goes back to
 * 1. A needless retransmission (the loss probe's) comes back D-SACKed;
 * the next lost tail waits RACK.rtt + 2 * min_RTT/4. */
TEST(dsack_widens_the_window)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 1, 1);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + MSS, NULL));
	s += MSS;
	uint64_t t1 = now;
	send_segs(sd, s, 4, 4);
	/* a duplicate of the first segment arrives: D-SACK below the
	 * cumulative ACK (as if it had been resent: a D-SACK of more
	 * segments than ever resent is the network's, see
	 * dsack_of_a_network_duplicate_is_ignored) */
	t->total_retrans = 2;
	uint32_t d[2] = { s - MSS, s };
	sack_in(sd, s, 1, d);
	CHECK_EQ(st->stat.tcp_dsack_rx, 1);
	CHECK_EQ(st->stat.tcp_dsack_not_ours, 0);
	CHECK_EQ(st->stat.tcp_rack_reo_wnd_incr, 1);
	CHECK_EQ(t->rack_reo_mult, 2);
	CHECK_EQ(t->rack_reo_persist, TCP_RACK_PERSIST);
	/* another D-SACK in the same round trip (before snd.una passes
	 * RACK.dsack_round): no second step */
	sack_in(sd, s, 1, d);
	CHECK_EQ(st->stat.tcp_dsack_rx, 2);
	CHECK_EQ(t->rack_reo_mult, 2);
	advance(t1 + 10 * MS);
	uint32_t b[2] = { s + 3 * MSS, s + 4 * MSS };
	sack_in(sd, s, 1, b);
	CHECK(none());
	CHECK_EQ(t->timer[TCP_T_REO], t1 + 15 * MS);
	advance(t1 + 15 * MS - 1);
	CHECK(none());
	advance(t1 + 15 * MS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	expect_one(s + MSS);
	/* the recovery ends: one of the 16 persisting recoveries used */
	sack_in(sd, s + MSS, 1, b);
	drain();
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK(!t->in_recovery);
	CHECK_EQ(t->rack_reo_persist, TCP_RACK_PERSIST - 1);
	CHECK_EQ(t->rack_reo_mult, 2);
	teardown();
}

/* A D-SACK of a segment we sent once (the network duplicated it; Linux's
 * tcp_dsack_seen: more segments D-SACKed, all told, than ever resent)
 * says nothing of reordering or of a needless retransmission: counted,
 * no wider RACK window, no undo accounting. */
TEST(dsack_of_a_network_duplicate_is_ignored)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 1, 1);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + MSS, NULL));
	s += MSS;
	send_segs(sd, s, 4, 4);
	uint32_t d[2] = { s - MSS, s };
	sack_in(sd, s, 1, d);
	CHECK_EQ(st->stat.tcp_dsack_rx, 1);
	CHECK_EQ(st->stat.tcp_dsack_not_ours, 1);
	CHECK_EQ(st->stat.tcp_rack_reo_wnd_incr, 0);
	CHECK(t->rack_reo_mult <= 1);
	CHECK_EQ(t->total_retrans, 0);
	teardown();
}

/* A retransmission lost again (RFC 8985 6.2: RACK "can detect the loss
 * of retransmissions"): data sent after the retransmission is SACKed, so
 * once RACK.rtt has passed since it left it is lost too and goes again,
 * long before the RTO. */
TEST(lost_retransmission_found_by_time)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	/* 10 in flight and more to send */
	CHECK_EQ(nst_send(st, sd, payload, 20 * MSS, 0, now), (long)(20 * MSS));
	struct out o;
	drain();
	advance(now + 10 * MS);
	uint32_t b[2] = { s + MSS, 0 };
	for (uint32_t i = 2; i <= 4; i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
	}
	uint64_t trx = now;
	int rx = 0, nw = 0;
	while (take(&o))
		o.seq == s ? rx++ : nw++;
	CHECK_EQ(rx, 1);
	CHECK(t->in_recovery);
	/* the retransmission is lost; more SACKs arrive, among them for data
	 * sent with or after it */
	advance(trx + 10 * MS);
	uint64_t seen = 0;
	uint32_t top = t->snd_max;      /* what was sent by trx */
	for (uint32_t i = 5; seq_leq(s + i * MSS, top); i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
		while (take(&o))
			if (o.seq == s && !seen)
				seen = now;
	}
	CHECK_EQ(seen, trx + 10 * MS);
	CHECK_EQ(st->stat.tcp_sack_rexmit_again, 1);
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* RFC 6937's example (its single-loss table): cwnd = FlightSize
 * = 20 segments, one loss, Reno (ssthresh = FlightSize / 2). The first two
 * SACKs send new data (RFC 3042); the third marks the hole lost and the
 * retransmission goes; then PRR sends one new segment every other ACK
 * (ssthresh / RecoverFS = 11/22), and at the end, when pipe has come down
 * to ssthresh, PRR-SSRB keeps it there: one segment per ACK. Recovery ends
 * with cwnd = ssthresh. */
TEST(prr_single_loss_example)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 10 * MSS, NULL));
	s += 10 * MSS;
	t->cwnd = 20 * MSS;
	CHECK_EQ(nst_send(st, sd, payload, 40 * MSS, 0, now), (long)(40 * MSS));
	struct out o;
	unsigned n = 0;
	while (take(&o))
		n++;
	CHECK_EQ(n, 20);
	advance(now + 10 * MS);
	/* what goes out on SACK k (of segments 1..k): N new, R the hole */
	static const char want[] = "NNR-N-N-N-N-N-N--NN";
	uint32_t next_new = s + 20 * MSS;
	uint32_t b[2] = { s + MSS, 0 };
	for (unsigned k = 1; k <= 19; k++) {
		b[1] = s + (k + 1) * MSS;
		sack_in(sd, s, 1, b);
		char c = want[k - 1];
		if (c == '-') {
			CHECK(none());
		} else if (c == 'R') {
			expect_one(s);
			CHECK_EQ(t->ssthresh, 11 * MSS);
			CHECK_EQ(t->prr_recover_fs, 22 * MSS);
		} else {
			expect_one(next_new);
			next_new += MSS;
		}
		if (k >= 3)
			CHECK_EQ(tcp_sack_pipe(t), t->cwnd);
	}
	CHECK_EQ(tcp_sack_pipe(t), t->ssthresh);
	CHECK_EQ(t->prr_out, 9 * MSS);
	CHECK_EQ(t->prr_delivered, 17 * MSS);
	/* the retransmission arrives: everything up to the RecoveryPoint */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 22 * MSS, NULL));
	CHECK(!t->in_recovery);
	CHECK_EQ(t->cwnd, 11 * MSS);
	teardown();
}

/* Undo on D-SACK (RFC 3708; Linux tcp_try_undo_dsack): segment 0 was only
 * late. Recovery resends it and reduces cwnd; the original arrives, then
 * the retransmission, which the peer reports as a duplicate: every
 * retransmission of the episode was needless, cwnd and ssthresh go back. */
TEST(undo_on_dsack)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	uint32_t cwnd0 = t->cwnd, ss0 = t->ssthresh;
	advance(now + 10 * MS);
	uint32_t b[2] = { s + MSS, 0 };
	for (uint32_t i = 2; i <= 4; i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
	}
	expect_one(s);
	CHECK(t->in_recovery);
	CHECK(t->cwnd < cwnd0);
	CHECK_EQ(t->ssthresh, 7 * MSS);
	/* the original: a cumulative ACK (recovery goes on: 4..9 outstanding) */
	advance(now + 1 * MS);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK(t->in_recovery);
	CHECK_EQ(st->stat.tcp_undo_dsack, 0);
	/* the retransmission: D-SACK */
	uint32_t d[2] = { s, s + MSS };
	sack_in(sd, s + 4 * MSS, 1, d);
	CHECK_EQ(st->stat.tcp_undo_dsack, 1);
	CHECK(!t->in_recovery);
	CHECK_EQ(t->cwnd, cwnd0);
	CHECK_EQ(t->ssthresh, ss0);
	CHECK_EQ(t->undo_on, 0);
	teardown();
}

/* Growth on SACKed data (Linux tcp_may_raise_cwnd): once reordering was
 * seen, an ACK that only SACKs grows cwnd by what it newly SACKed (slow
 * start: two segments for two); before, it does not, and the data counts
 * at the cumulative ACK instead (cc_newly_delivered). Either way each
 * segment counts once. */
TEST(sacked_data_grows_cwnd_once_reordering_was_seen)
{
	for (int reord = 0; reord < 2; reord++) {
		setup();
		uint32_t iss;
		int sd = open_sack(&iss, 1);
		struct tcb *t = tcb_of(sd);
		uint32_t s = iss + 1;
		send_segs(sd, s, 10, 10);
		uint32_t cwnd0 = t->cwnd;
		t->rack_reord = (uint8_t)reord;
		advance(now + 10 * MS);
		uint32_t b[2] = { s + MSS, s + 3 * MSS };      /* 2 and 3 SACKed, 1 late */
		sack_in(sd, s, 1, b);
		CHECK(!t->in_recovery);
		CHECK_EQ(t->cwnd, cwnd0 + (reord ? 2 * MSS : 0));
		/* the late segment arrives: the cumulative ACK counts 1, not 2 and 3 again */
		inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
		CHECK_EQ(t->cwnd, cwnd0 + (reord ? 3 : 1) * MSS);
		teardown();
	}
}

/* Two episodes, the second begun before the first's D-SACK came back (a
 * late original arrives after the next loss was called): each is undone on
 * its own, as Linux's tcp_init_undo. The first's D-SACK, below where the
 * second began, counts for neither; the second's brings back the window
 * from before the second. (Episodes joined for the undo would, under
 * steady reordering and loss, never be undone: one real loss in the chain
 * keeps it owing a D-SACK.) */
TEST(undo_each_episode_on_its_own)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	uint32_t cwnd0 = t->cwnd;
	advance(now + 10 * MS);
	uint32_t b[2] = { s + MSS, 0 };
	for (uint32_t i = 2; i <= 4; i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
	}
	expect_one(s);                          /* episode 1 */
	/* its retransmission fills the hole: recovery ends */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 10 * MSS, NULL));
	CHECK(!t->in_recovery);
	CHECK(t->cwnd < cwnd0);
	/* more data; its first segment is late too */
	s += 10 * MSS;
	CHECK_EQ(nst_send(st, sd, payload, 10 * MSS, 0, now), (long)(10 * MSS));
	struct out o;
	unsigned n = 0;
	while (take(&o))
		n++;
	CHECK(n >= 4);
	advance(now + 10 * MS);
	uint32_t cwnd1 = t->cwnd, ss1 = t->ssthresh;
	CHECK(cwnd1 < cwnd0);
	b[0] = s + MSS;
	for (uint32_t i = 2; i <= 4; i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
	}
	int rx = 0;                             /* episode 2 (and Limited Transmit) */
	while (take(&o))
		rx += o.seq == s;
	CHECK_EQ(rx, 1);
	CHECK_EQ(st->stat.tcp_sack_recovery, 2);
	/* the first late original: D-SACK, one retransmission still owed */
	uint32_t d[2] = { s - 10 * MSS, s - 9 * MSS };
	sack_in(sd, s, 1, d);
	CHECK_EQ(st->stat.tcp_undo_dsack, 0);
	/* the second episode's hole filled, then its original comes back */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, t->snd_max, NULL));
	CHECK(!t->in_recovery);
	d[0] = s;
	d[1] = s + MSS;
	sack_in(sd, t->snd_max, 1, d);
	CHECK_EQ(st->stat.tcp_undo_dsack, 1);
	CHECK_EQ(t->cwnd, cwnd1);
	CHECK_EQ(t->ssthresh, ss1);
	teardown();
}

/* The packetdrill case fast_recovery/prr-ss-ack-below-snd_una-cubic at
 * exact time: 10 segments, 0, 4 and 7 lost, 3 late (RACK marks 0 and 3..7
 * when 8 is SACKed; 9 stays in flight). RFC 9937: the extra MSS of PRR-SSRB only
 * on a SafeACK. Entering recovery (no SafeACK) only the fast
 * retransmission goes; the ACK of 0..3 (SafeACK, DeliveredData 2) lets
 * three go; the late ACK below snd.una SACKing 5..6 (DeliveredData 2, not
 * safe) lets two go: 7, then new data. The hole 3 filled beside the
 * retransmission of 0 makes RACK.rtt the original's 22 ms (Linux's
 * order), so 9 (sent with it) is not lost 2 ms later. */
TEST(prr_ssrb_only_on_safe_ack)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5, now), 0);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	uint32_t b[4] = { s + MSS, s + 2 * MSS, s + 8 * MSS, s + 9 * MSS };
	sack_in(sd, s, 1, b);
	b[1] = s + 3 * MSS;
	sack_in(sd, s, 1, b);
	CHECK(none());
	sack_in(sd, s, 2, b);
	CHECK(t->in_recovery);
	CHECK_EQ(t->ssthresh, 7 * MSS);
	CHECK_EQ(tcp_sack_lost_bytes(t), 5 * MSS);      /* 3..7; 0 resent */
	expect_one(s);
	advance(now + 12 * MS);
	sack_in(sd, s + 4 * MSS, 1, b + 2);
	struct out o;
	for (unsigned i = 4; i <= 6; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, s + i * MSS);
	}
	CHECK(none());
	CHECK_EQ(t->rack_rtt, 22 * MS);
	CHECK_EQ(nst_send(st, sd, payload, 10 * MSS, 0, now), (long)(10 * MSS));
	CHECK(none());
	advance(now + 2 * MS);
	uint32_t c[2] = { s + 5 * MSS, s + 7 * MSS };
	sack_in(sd, s + 3 * MSS, 1, c);
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 7 * MSS);
	expect_one(s + 10 * MSS);
	struct nst_tcp_info ti;
	CHECK_EQ(nst_tcp_info(st, sd, &ti), 0);
	CHECK_EQ(ti.lost_segs, 2);      /* 4 and 7, resent: still counted */
	CHECK_EQ(ti.reordering, 6);     /* 3 delivered below 8 SACKed: (9 - 3) segments */
	teardown();
}

/* No undo when a retransmission was needed: the D-SACK of a loss probe
 * sent before the episode does not count, and a recovery whose
 * retransmission is not D-SACKed keeps its reduction. */
TEST(no_undo_without_dsack_of_every_retransmission)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	send_segs(sd, s, 10, 10);
	advance(now + 10 * MS);
	uint32_t b[2] = { s + 2 * MSS, 0 };
	for (uint32_t i = 3; i <= 5; i++) {
		b[1] = s + i * MSS;
		sack_in(sd, s, 1, b);
	}
	/* 0 and 1 lost; PRR-CRB (pipe 5 below ssthresh 7, no SafeACK: snd.una
	 * did not move) resends DeliveredData, the next SACK lets 1 go */
	expect_one(s);
	b[1] = s + 6 * MSS;
	sack_in(sd, s, 1, b);
	expect_one(s + MSS);
	/* 0 was only late (its retransmission D-SACKed), 1 really lost */
	inject(from(sd, ACK, PISS + 1, s + 6 * MSS, NULL));
	uint32_t d[2] = { s, s + MSS };
	sack_in(sd, s + 6 * MSS, 1, d);
	CHECK_EQ(st->stat.tcp_undo_dsack, 0);
	CHECK(t->in_recovery);
	CHECK_EQ(t->ssthresh, 7 * MSS);
	teardown();
}

/* ---- timestamps: Eifel (RFC 3522) ---- */

/* Active open with SACK and timestamps (the peer's TSval 100 on). */
static int open_ts(uint32_t *iss, uint32_t *tsecr_syn)
{
	struct out syn;
	int sd = syn_sent(&syn);
	*iss = syn.seq;
	*tsecr_syn = syn.tsval;
	syn_ack_in(sd, &syn, 10 * MS, syn_with_opts((struct seg){ .wnd = 65535 }, 1, 1, 100, syn.tsval));
	CHECK(tcb_of(sd)->ts_ok);
	return sd;
}

/* An ACK with timestamps and up to 3 SACK blocks. */
static void ack_ts(int sd, uint32_t ack, uint32_t tsval, uint32_t tsecr, unsigned n,
		   const uint32_t *blk)
{
	struct seg s = from(sd, ACK, PISS + 1, ack, NULL);
	opt_ts(&s, tsval, tsecr);
	if (n)
		opt_sack(&s, n, blk);
	inject(s);
}

/* A connection with SACK and timestamps (open_ts) in recovery: 10
 * segments sent back to back (the TSval of the last, *tv0), 10 ms later the
 * peer SACKs 2..4 (TSval 102..104): the first is lost and resent at once,
 * with TSval *tv_rx. Returns sd; *cwnd0 the cwnd before recovery. */
static int ts_recovery(uint32_t *tv0, uint32_t *tv_rx, uint32_t *cwnd0)
{
	uint32_t iss, tsecr_syn;
	int sd = open_ts(&iss, &tsecr_syn);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1, m = t->mss;
	CHECK_EQ(nst_send(st, sd, payload, 10 * m, 0, now), (long)(10 * m));
	struct out o;
	*tv0 = 0;
	while (take(&o))
		*tv0 = o.tsval;
	*cwnd0 = t->cwnd;
	advance(now + 10 * MS);
	uint32_t b[2] = { s + m, 0 };
	for (uint32_t i = 2; i <= 4; i++) {
		b[1] = s + i * m;
		ack_ts(sd, s, 100 + i, *tv0, 1, b);
	}
	*tv_rx = 0;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	*tv_rx = o.tsval;
	CHECK(t->in_recovery);
	drain();
	return sd;
}

/* Eifel: the ACK that ends recovery echoes the TSval of the original
 * transmission, older than the first retransmission: the original
 * arrived, the reduction is undone (Linux tcp_try_undo_recovery). Echoing
 * the retransmission's TSval instead keeps it. */
TEST(undo_eifel_timestamps)
{
	for (int spurious = 1; spurious >= 0; spurious--) {
		setup();
		uint32_t tv0, tv_rx, cwnd0;
		int sd = ts_recovery(&tv0, &tv_rx, &cwnd0);
		struct tcb *t = tcb_of(sd);
		uint32_t s = t->iss + 1, m = t->mss;
		CHECK_EQ(tv_rx, tv0 + 10);
		advance(now + 2 * MS);
		ack_ts(sd, s + 10 * m, 110, spurious ? tv0 : tv_rx, 0, NULL);
		CHECK(!t->in_recovery);
		CHECK_EQ(st->stat.tcp_undo_eifel, (uint64_t)spurious);
		if (spurious)
			CHECK_EQ(t->cwnd, cwnd0);
		else
			CHECK_EQ(t->cwnd, t->ssthresh);
		teardown();
	}
}

/* Eifel at a partial ACK (Linux tcp_try_undo_partial): the ACK that
 * covers the hole echoes the original's TSval while later data is still
 * outstanding; no retransmission is in flight any more, so the reduction
 * is undone and recovery ends there. */
TEST(undo_eifel_partial_ack)
{
	setup();
	uint32_t tv0, tv_rx, cwnd0;
	int sd = ts_recovery(&tv0, &tv_rx, &cwnd0);
	struct tcb *t = tcb_of(sd);
	uint32_t s = t->iss + 1, m = t->mss;
	advance(now + 2 * MS);
	ack_ts(sd, s + 4 * m, 110, tv0, 0, NULL);
	CHECK(seq_lt(t->snd.una, t->snd_max));  /* a partial ACK: 4..9 outstanding */
	CHECK(!t->in_recovery);
	CHECK_EQ(st->stat.tcp_undo_eifel, 1);
	CHECK_EQ(t->cwnd, cwnd0);
	teardown();
}

/* As a receiver: an old segment that fails PAWS (the original of a
 * retransmission, overtaken by it) is still reported as a duplicate
 * (RFC 2883 D-SACK, as Linux's tcp_send_dupack), so the sender can undo. */
TEST(dsack_for_a_paws_rejected_duplicate)
{
	setup();
	uint32_t iss, tsecr_syn;
	int sd = open_ts(&iss, &tsecr_syn);
	struct out o;
	struct seg d1 = from(sd, ACK, PISS + 1, iss + 1, "abcd");
	struct seg d2 = from(sd, ACK, PISS + 5, iss + 1, "efgh");
	uint8_t ts[12] = { 1, 1, 8, 10, 0, 0, 0, 101, 0, 0, 0, 0 };
	memcpy(d1.opt, ts, 12);
	d1.optlen = 12;
	ts[7] = 102;
	memcpy(d2.opt, ts, 12);
	d2.optlen = 12;
	inject(d2);                             /* out of order: ACKed at once */
	CHECK(take(&o));
	inject(d1);                             /* fills the hole: TS.Recent 101 */
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 9);
	struct seg d3 = from(sd, ACK, PISS + 9, iss + 1, "ijkl");
	ts[7] = 104;
	memcpy(d3.opt, ts, 12);
	d3.optlen = 12;
	inject(d3);                             /* in order: TS.Recent 104 */
	drain();
	advance(now + 50 * MS);                 /* (the delayed ACK of d3 went out) */
	drain();
	inject(d1);                             /* the late original: TSval 101 < 104 */
	CHECK_EQ(st->stat.tcp_drop_paws, 1);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 13);
	CHECK_EQ(o.nsack, 1);
	CHECK_EQ(o.sack[0][0], PISS + 1);
	CHECK_EQ(o.sack[0][1], PISS + 5);
	teardown();
}

/* The packetdrill cases limited_transmit/limited-transmit-{no-,}sack: ten
 * segments, the second and third reach the peer first (two duplicate ACKs,
 * or two SACKs: limited transmit sends a new segment for each), then the
 * ACK of the first three. Slow start grows cwnd by what that ACK newly
 * delivers, one segment: the other two were counted when their duplicate
 * ACKs let new data go. */
TEST(slow_start_counts_newly_delivered)
{
	for (int sack = 0; sack <= 1; sack++) {
		setup();
		uint32_t iss;
		int sd = open_sack(&iss, sack);
		struct tcb *t = tcb_of(sd);
		uint32_t s = iss + 1;
		CHECK_EQ(nst_send(st, sd, payload, 15 * MSS, 0, now), (long)(15 * MSS));
		struct out o;
		unsigned got = 0;
		while (take(&o))
			got++;
		CHECK_EQ(got, 10);
		uint32_t cwnd = t->cwnd;
		CHECK_EQ(cwnd, 10 * MSS);
		advance(now + 10 * MS);
		for (unsigned i = 1; i <= 2; i++) {
			uint32_t b[2] = { s + MSS, s + (1 + i) * MSS };
			if (sack)
				sack_in(sd, s, 1, b);
			else
				inject(from(sd, ACK, PISS + 1, s, NULL));
			expect_one(s + (9 + i) * MSS);  /* limited transmit */
		}
		CHECK(!t->in_recovery);
		advance(now + 1 * MS);
		inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
		CHECK_EQ(t->cwnd, cwnd + MSS);
		/* 9 in flight, cwnd 11: two new segments */
		CHECK(take(&o));
		CHECK_EQ(o.seq, s + 12 * MSS);
		expect_one(s + 13 * MSS);
		teardown();
	}
}

/* Outside recovery the window counts what is in flight, not what is
 * unacknowledged (Linux's tcp_cwnd_test: tcp_packets_in_flight, packets out
 * less SACKed and lost, plus retransmitted): while RACK waits out a hole it
 * may be reordering, every segment SACKed above it lets a new one go, as
 * limited transmit (RFC 3042) does for the first two duplicate ACKs. Before,
 * sending stopped at snd.una + cwnd until the hole filled or the RACK timer
 * fired: each reordering on a fast path cost up to an SRTT of silence. */
TEST(sacked_data_frees_the_window_outside_recovery)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	t->rack_reord = 1;      /* reordering seen: RACK waits min_RTT/4 */
	t->cwnd = 6 * MSS;
	t->ssthresh = 6 * MSS;  /* congestion avoidance: cwnd stays 6 here */
	send_segs(sd, s, 12, 6);        /* cwnd lets six go */
	advance(now + 10 * MS);
	/* the first still missing, the next three SACKed: three in flight */
	uint32_t b[2] = { s + MSS, s + 4 * MSS };
	sack_in(sd, s, 1, b);
	CHECK(!t->in_recovery);
	CHECK(t->timer[TCP_T_REO]);
	CHECK_EQ(t->cwnd, 6 * MSS);
	struct out o;
	unsigned got;
	for (unsigned i = 0; i < 3; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, s + (6 + i) * MSS);
	}
	CHECK(none());
	/* the hole fills (it was reordering): the ACK of all six lets the
	 * rest go within the window, and nothing was resent */
	advance(now + 1 * MS);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK_EQ(t->timer[TCP_T_REO], 0);
	got = 0;
	while (take(&o)) {
		CHECK(seq_geq(o.seq, s + 9 * MSS));
		got++;
	}
	CHECK(got >= 1);
	CHECK_EQ(st->stat.tcp_sack_recovery, 0);
	CHECK_EQ(t->total_retrans, 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7);
	RUN(four_segments_last_sacked);
	RUN(dupthresh_sacked_is_lost_at_once);
	RUN(reordering_seen_keeps_the_window);
	RUN(dsack_widens_the_window);
	RUN(dsack_of_a_network_duplicate_is_ignored);
	RUN(lost_retransmission_found_by_time);
	RUN(prr_single_loss_example);
	RUN(prr_ssrb_only_on_safe_ack);
	RUN(undo_on_dsack);
	RUN(sack_of_a_part_of_a_segment);
	RUN(slow_start_counts_newly_delivered);
	RUN(sacked_data_frees_the_window_outside_recovery);
	RUN(sacked_data_grows_cwnd_once_reordering_was_seen);
	RUN(undo_each_episode_on_its_own);
	RUN(no_undo_without_dsack_of_every_retransmission);
	RUN(undo_eifel_timestamps);
	RUN(undo_eifel_partial_ack);
	RUN(dsack_for_a_paws_rejected_duplicate);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
