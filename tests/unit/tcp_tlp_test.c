/* Unit tests of loss recovery for small flights: the tail loss probe (RFC
 * 8985 7) and Early Retransmit (RFC 5827), SACK and NewReno paths. The test
 * is the peer, at exact microseconds (tests/unit/tcp_harness.h). */
#include "tests/unit/tcp_harness.h"

/* Active open with a 10 ms handshake (SRTT 10 ms, RTTVAR 5 ms, RTO 210 ms:
 * SRTT + max(200 ms, 4 * RTTVAR), RFC 6298 2.3); the SYN-ACK carries
 * SACK-permitted if sack. Returns sd. */
static int open_conn(uint32_t *iss, int sack)
{
	int sd = open_sack(iss, sack);
	CHECK_EQ(tcb_of(sd)->sack_ok, (uint8_t)sack);
	CHECK_EQ(tcb_of(sd)->srtt, 10 * MS);
	CHECK_EQ(tcb_of(sd)->rto, 210 * MS);
	return sd;
}

/* Three segments, the last lost and the ACK of the first two too: the probe
 * fires at exactly 2*SRTT + TCP_PTO_MIN_US, resends the last segment, and no RTO is needed.
 * Its ACK leaves the outcome open (ACK == TLPHighRxt); the next ACK beyond
 * it says the probe repaired a loss: cwnd is reduced once (RFC 8985 7.4.2). */
TEST(probe_resends_lost_tail)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 3, 3);
	CHECK_EQ(t->timer[TCP_T_PTO], t0 + 22 * MS);      /* 2 * SRTT + 2 ms */
	CHECK_EQ(t->timer[TCP_T_REXMT], t0 + 210 * MS);   /* SRTT + 200 ms */
	advance(t0 + 22 * MS - 1);
	CHECK(none());
	advance(t0 + 22 * MS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 2 * MSS);
	CHECK_EQ(o.len, MSS);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_tlp_probes, 1);
	CHECK_EQ(st->stat.tcp_retrans, 1);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);
	CHECK_EQ(t->timer[TCP_T_REXMT], now + 210 * MS);  /* the RTO, re-armed */
	CHECK_EQ(t->tlp_out, 1);
	CHECK_EQ(t->tlp_high, s + 3 * MSS);
	/* the probe's ACK covers everything */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
	CHECK_EQ(t->snd.una, s + 3 * MSS);
	CHECK_EQ(t->tlp_out, 1);        /* undecided: the original may have arrived */
	CHECK_EQ(st->stat.tcp_tlp_recovery, 0);
	uint32_t cwnd = t->cwnd;
	/* more data, ACKed beyond TLPHighRxt with no D-SACK: a repaired loss */
	send_segs(sd, s + 3 * MSS, 1, 1);
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK_EQ(t->tlp_out, 0);
	CHECK_EQ(st->stat.tcp_tlp_recovery, 1);
	CHECK(t->cwnd < cwnd);
	CHECK_EQ(t->cwnd, t->ssthresh);
	advance(now + 2 * SEC);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* The probe was not needed: the original's ACK, then the probe's D-SACK
 * (RFC 2883). No cwnd reduction. */
TEST(probe_dsack_is_no_loss)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 3, 3);
	advance(t0 + 22 * MS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 2 * MSS);
	uint32_t cwnd = t->cwnd;
	inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
	CHECK_EQ(t->tlp_out, 1);
	uint32_t d[2] = { s + 2 * MSS, s + 3 * MSS };
	sack_in(sd, s + 3 * MSS, 1, d);
	CHECK_EQ(st->stat.tcp_dsack_rx, 1);
	CHECK_EQ(t->tlp_out, 0);
	CHECK_EQ(st->stat.tcp_tlp_recovery, 0);
	CHECK_EQ(t->cwnd, cwnd);
	teardown();
}

/* One segment left in flight: the peer may delay its ACK, so PTO = 2*SRTT +
 * WCDelAckT (RFC 8985 7.2) when the RTO is later; capped at the RTO's
 * deadline otherwise, where the probe goes instead of the timeout. */
TEST(probe_one_segment_in_flight)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 3, 3);
	/* the first two arrive; the third is lost */
	advance(t0 + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s + 2 * MSS, NULL));
	/* a second 10 ms sample: RTTVAR 3.75 ms, RTO = 10 ms + 200 ms */
	CHECK_EQ(t->rto, 210 * MS);
	/* 2 * SRTT + 200 ms (220 ms) is past the RTO (SRTT + 200 ms whenever
	 * 4 * RTTVAR < 200 ms): the probe takes its place */
	CHECK_EQ(t->timer[TCP_T_REXMT], now + 210 * MS);
	CHECK_EQ(t->timer[TCP_T_PTO], now + 210 * MS);
	uint64_t at = now + 210 * MS;
	advance(at - 1);
	CHECK(none());
	advance(at);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 2 * MSS);
	CHECK_EQ(o.len, MSS);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_tlp_probes, 1);
	CHECK_EQ(st->stat.tcp_rto, 0);
	CHECK_EQ(t->timer[TCP_T_REXMT], at + 210 * MS);
	teardown();

	/* with a longer RTO the PTO is exactly 2 * SRTT + 200 ms */
	setup();
	sd = open_conn(&iss, 1);
	t = tcb_of(sd);
	s = iss + 1;
	t0 = now;
	send_segs(sd, s, 3, 3);
	advance(t0 + 10 * MS);
	t->rto = 1 * SEC;
	t->rttvar = 250 * MS;   /* keeps the RTO at 1 s through the next sample */
	inject(from(sd, ACK, PISS + 1, s + 2 * MSS, NULL));
	CHECK(t->rto >= 500 * MS);
	uint64_t pto = 2 * t->srtt + 200 * MS;
	CHECK_EQ(t->timer[TCP_T_PTO], now + pto);
	at = now + pto;
	advance(at - 1);
	CHECK(none());
	advance(at);
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 2 * MSS);
	CHECK_EQ(st->stat.tcp_tlp_probes, 1);
	CHECK_EQ(st->stat.tcp_rto, 0);
	teardown();
}

/* The window allows new data beyond cwnd: the probe is the next new
 * segment (RFC 8985 7.3), and its ACK ends the probe with no reduction. */
TEST(probe_sends_new_data)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	t->cwnd = 3 * MSS;
	uint64_t t0 = now;
	send_segs(sd, s, 5, 3);
	advance(t0 + 22 * MS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s + 3 * MSS);
	CHECK_EQ(o.len, MSS);
	CHECK(none());
	CHECK_EQ(t->snd_max, s + 4 * MSS);
	CHECK_EQ(t->tlp_rxt, 0);
	CHECK_EQ(st->stat.tcp_tlp_probes, 1);
	CHECK_EQ(st->stat.tcp_retrans, 0);
	inject(from(sd, ACK, PISS + 1, s + 4 * MSS, NULL));
	CHECK_EQ(t->tlp_out, 0);
	CHECK_EQ(st->stat.tcp_tlp_recovery, 0);
	teardown();
}

/* Three segments, nothing more to send, the first lost and the other two
 * SACKed. This was Early Retransmit (RFC 5827 3.2: recovery on the second
 * SACK); RACK (RFC 8985) replaces it, as in Linux: two SACKed segments are
 * below DupThresh, so the first is lost only once RACK.rtt + min_RTT/4
 * has passed since it was sent (10 ms + 2.5 ms), at the RACK timer. */
TEST(early_retransmit_sack)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 3, 3);
	CHECK_EQ(tcp_dupthresh(t), 2);
	advance(t0 + 10 * MS);
	uint32_t b1[2] = { s + MSS, s + 2 * MSS };
	sack_in(sd, s, 1, b1);
	CHECK(none());
	CHECK_EQ(t->in_recovery, 0);
	uint32_t b2[2] = { s + MSS, s + 3 * MSS };
	sack_in(sd, s, 1, b2);
	CHECK(none());
	CHECK_EQ(t->timer[TCP_T_REO], t0 + 12500);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);       /* the RACK timer goes first */
	advance(t0 + 12500 - 1);
	CHECK(none());
	advance(t0 + 12500);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK_EQ(o.len, MSS);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_rack_reo_timeout, 1);
	CHECK_EQ(st->stat.tcp_sack_recovery, 1);
	CHECK_EQ(t->in_recovery, 1);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);
	inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
	CHECK_EQ(t->in_recovery, 0);
	CHECK_EQ(st->stat.tcp_rto, 0);
	CHECK_EQ(st->stat.tcp_tlp_probes, 0);
	teardown();

	/* one ACK SACKing both (a stretch ACK): the same wait */
	setup();
	sd = open_conn(&iss, 1);
	t = tcb_of(sd);
	s = iss + 1;
	t0 = now;
	send_segs(sd, s, 3, 3);
	advance(now + 10 * MS);
	uint32_t b3[2] = { s + MSS, s + 3 * MSS };
	sack_in(sd, s, 1, b3);
	CHECK(none());
	advance(t0 + 12500);
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK_EQ(st->stat.tcp_rack_lost, 1);
	teardown();
}

/* More data waiting (the window would allow it): no ER, DupThresh stays 3. */
TEST(early_retransmit_not_when_data_can_go)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	t->cwnd = 3 * MSS;
	send_segs(sd, s, 5, 3);
	CHECK_EQ(tcp_dupthresh(t), TCP_DUPTHRESH);
	teardown();

	/* four outstanding segments: no ER either */
	setup();
	sd = open_conn(&iss, 1);
	t = tcb_of(sd);
	send_segs(sd, iss + 1, 4, 4);
	CHECK_EQ(tcp_dupthresh(t), TCP_DUPTHRESH);
	teardown();
}

/* In fast recovery no probe is scheduled (RFC 8985 7.2). */
TEST(no_probe_in_recovery)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 1);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 6, 6);
	CHECK(t->timer[TCP_T_PTO]);
	advance(t0 + 10 * MS);
	for (unsigned i = 1; i <= 3; i++) {
		uint32_t b[2] = { s + MSS, s + (1 + i) * MSS };
		sack_in(sd, s, 1, b);
	}
	CHECK_EQ(t->in_recovery, 1);
	CHECK_EQ(st->stat.tcp_early_rexmit, 0);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	drain();
	advance(t0 + 150 * MS);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_tlp_probes, 0);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);
	teardown();
}

/* NewReno (no SACK): ER after oseq - 1 = 2 duplicate ACKs; and no probe
 * without SACK (RFC 8985 7). */
TEST(early_retransmit_newreno)
{
	setup();
	uint32_t iss;
	int sd = open_conn(&iss, 0);
	struct tcb *t = tcb_of(sd);
	uint32_t s = iss + 1;
	uint64_t t0 = now;
	send_segs(sd, s, 3, 3);
	CHECK_EQ(t->timer[TCP_T_PTO], 0);
	advance(t0 + 10 * MS);
	inject(from(sd, ACK, PISS + 1, s, NULL));
	CHECK(none());
	inject(from(sd, ACK, PISS + 1, s, NULL));
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, s);
	CHECK_EQ(o.len, MSS);
	CHECK_EQ(st->stat.tcp_early_rexmit, 1);
	CHECK_EQ(st->stat.tcp_fast_retrans, 1);
	CHECK_EQ(t->in_recovery, 1);
	inject(from(sd, ACK, PISS + 1, s + 3 * MSS, NULL));
	CHECK_EQ(t->in_recovery, 0);
	advance(now + 2 * SEC);
	CHECK_EQ(st->stat.tcp_rto, 0);
	CHECK_EQ(st->stat.tcp_tlp_probes, 0);
	teardown();

	/* a lost tail without SACK waits for the RTO (SRTT 10 ms + 200 ms) */
	setup();
	sd = open_conn(&iss, 0);
	t = tcb_of(sd);
	t0 = now;
	send_segs(sd, iss + 1, 3, 3);
	advance(t0 + 210 * MS - 1);
	CHECK(none());
	advance(t0 + 210 * MS);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(st->stat.tcp_rto, 1);
	CHECK_EQ(st->stat.tcp_tlp_probes, 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7);
	RUN(probe_resends_lost_tail);
	RUN(probe_dsack_is_no_loss);
	RUN(probe_one_segment_in_flight);
	RUN(probe_sends_new_data);
	RUN(early_retransmit_sack);
	RUN(early_retransmit_not_when_data_can_go);
	RUN(no_probe_in_recovery);
	RUN(early_retransmit_newreno);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
