/* Unit tests of congestion control (stack/tcp_cc.c): TCP_CONGESTION, Reno
 * (RFC 5681) and CUBIC (RFC 9438 in the arithmetic of Linux's tcp_cubic.c)
 * driven with an exact clock. The curve tests call the algorithm's hooks
 * the way tcp_in.c does on each ACK, at exact microseconds, and compare
 * cwnd with the RFC's formulas and with the ACKs at which Linux moves it. */
#include "tests/unit/tcp_harness.h"

static double cube(double x) { return x * x * x; }

/* W_cubic(t) of RFC 9438 eq. (1), C = 0.4, in segments */
static double w_cubic(double t, double k, double w_max)
{
	return 0.4 * cube(t - k) + w_max;
}

static int getname(int sd, char *name, unsigned *len)
{
	return nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, name, len);
}

/* TCP_CONGESTION: cubic by default, reno selectable, an unknown name is
 * ENOENT (as a module Linux lacks), the name comes back truncated to the
 * caller's length, a listener's choice is its children's. */
TEST(tcp_congestion_get_set)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	char name[32];
	unsigned len = sizeof(name);
	memset(name, 'x', sizeof(name));
	CHECK_EQ(getname(sd, name, &len), 0);
	CHECK_EQ(len, 16);
	CHECK(!strcmp(name, "cubic"));
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
	len = sizeof(name);
	CHECK_EQ(getname(sd, name, &len), 0);
	CHECK(!strcmp(name, "reno"));
	CHECK(tcp_cc(tcb_of(sd)) == &tcp_cc_reno);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3, now), -ENOENT);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "cubicx", 6, now), -ENOENT);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 0, now), -EINVAL);
	len = sizeof(name);
	CHECK_EQ(getname(sd, name, &len), 0);
	CHECK(!strcmp(name, "reno"));           /* unchanged by the failures */
	/* a NUL-terminated name with a longer optlen, like a C string buffer */
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "cubic\0\0\0", 8, now), 0);
	len = 3;
	memset(name, 'x', sizeof(name));
	CHECK_EQ(getname(sd, name, &len), 0);
	CHECK_EQ(len, 3);
	CHECK(!memcmp(name, "cubx", 4));
	/* the listener's algorithm goes to its children */
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_setsockopt(st, l, IPPROTO_TCP, TCP_CONGESTION, "reno", 5, now), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1460, .sport = PPORT });
	struct tcb *c = tcp_lookup(st, V4(ME), 80, V4(PEER), PPORT);
	REQUIRE(c && c->state == TCP_SYN_RECEIVED);
	CHECK(tcp_cc(c) == &tcp_cc_reno);
	CHECK(tcp_cc_find("cubic") == &tcp_cc_cubic);
	CHECK(tcp_cc_find("") == NULL);
	teardown();
}

/* An established connection whose congestion control the test drives. */
static struct tcb *cc_conn(const char *alg, uint64_t srtt_us)
{
	uint32_t iss;
	int sd = open_active(&iss, srtt_us, 65535);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, alg, (unsigned)strlen(alg), now), 0);
	t->srtt = srtt_us;
	t->mss = MSS;
	return t;
}

/* RFC 5681: slow start cwnd += min(N, SMSS) (ABC); congestion avoidance
 * one SMSS per cwnd of acknowledged bytes; ssthresh = max(FlightSize / 2,
 * 2 SMSS) on a loss. */
TEST(reno_slow_start_and_avoidance)
{
	setup();
	struct tcb *t = cc_conn("reno", 10 * MS);
	const struct tcp_cc_ops *cc = tcp_cc(t);
	CHECK(cc == &tcp_cc_reno);
	t->cwnd = 10 * MSS;
	/* RFC 3465 with L unbounded, as Linux's tcp_slow_start: an ACK counts
	 * every segment it covers (this said L = 8 before; Linux opens a
	 * stretch ACK's worth, which the slow_start conformance scripts see) */
	cc->cong_avoid(st, t, 3 * MSS);         /* one ACK of 3 segments: +3 SMSS */
	CHECK_EQ(t->cwnd, 13 * MSS);
	cc->cong_avoid(st, t, 100);
	CHECK_EQ(t->cwnd, 13 * MSS + 100);
	cc->cong_avoid(st, t, 12 * MSS);        /* a stretch ACK of 12: +12 SMSS */
	CHECK_EQ(t->cwnd, 25 * MSS + 100);
	t->cwnd = 20 * MSS;
	t->ssthresh = 20 * MSS;
	for (int i = 0; i < 19; i++)
		cc->cong_avoid(st, t, MSS);
	CHECK_EQ(t->cwnd, 20 * MSS);
	cc->cong_avoid(st, t, MSS);             /* the 20th: a full cwnd acknowledged */
	CHECK_EQ(t->cwnd, 21 * MSS);
	t->snd_max = t->snd.una + 30 * MSS;
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 15 * MSS);
	t->snd_max = t->snd.una + 2 * MSS;
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 2 * MSS);
	teardown();
}

/* RFC 9438 4.6/4.7 in Linux's integers (bictcp_recalc_ssthresh): ssthresh =
 * cwnd * 717 / 1024 segments; W_max = cwnd, and with fast convergence a
 * loss below the previous W_max sets W_max = cwnd (1024 + 717) / 2048. */
TEST(cubic_beta_and_fast_convergence)
{
	setup();
	struct tcb *t = cc_conn("cubic", 100 * MS);
	t->cwnd = 100 * MSS;
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 70 * MSS);        /* 100 * 717 / 1024 = 70.02 */
	CHECK_EQ(t->cc.cubic.last_max_cwnd, 100);
	t->cwnd = 80 * MSS;                     /* the next loss comes lower */
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 56 * MSS);
	CHECK_EQ(t->cc.cubic.last_max_cwnd, 68);                /* 80 * 1741 / 2048 = 68.01 */
	t->cwnd = 10 * MSS + 700;               /* whole segments: 10 */
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 7 * MSS);
	t->cwnd = 2 * MSS;                      /* never below 2 SMSS */
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 2 * MSS);
	CHECK(tcp_cubic_root(27.0) > 2.999999 && tcp_cubic_root(27.0) < 3.000001);
	CHECK(tcp_cubic_root(75.0) > 4.21716 && tcp_cubic_root(75.0) < 4.21717);
	CHECK(tcp_cubic_root(0) == 0);
	teardown();
}

/* One ACK of one segment (t->mss) at time at_us (absolute), with an RTT sample
 * (0: none, as for a retransmission), in tcp_in.c's order. */
static void ack_one(struct tcb *t, uint64_t at_us, uint64_t rtt_us)
{
	now = at_us;
	st->now_us = now;
	if (rtt_us)
		tcp_cc(t)->rtt_sample(st, t, rtt_us);
	tcp_cc(t)->cong_avoid(st, t, t->mss);
}

/* cubic/cubic-rto-ss-ca-cwnd-bump.pkt as Linux 6.18 (HZ=250) runs it: a
 * timeout at cwnd 10 (ssthresh 7, W_max then reset to 0), slow start from
 * 2 to 7, then congestion avoidance with an ACK per segment in bursts 98 ms
 * apart. W_max 0 caps cnt at 20, and the Reno-friendly W_est steps to 8
 * after (7 * 15) >> 3 = 13 segments -- but only when cnt is recomputed,
 * which with cwnd holding is at most every HZ/32 = 7 jiffies (28 ms): not
 * in the burst of ACKs 17001..22001 (12 ms after the recompute at 16001),
 * at 23001. cnt falls from 20 to 7 / (8 - 7) = 7, and the 15 segments
 * counted under cnt 20 make cwnd 8 at once. (The continuous W_est of
 * RFC 9438 4.3, which this followed before, made cwnd 8 at ACK 22001.) */
TEST(cubic_linux_cwnd_bump_after_timeout)
{
	setup();
	struct tcb *t = cc_conn("cubic", 100 * MS);
	const struct tcp_cc_ops *cc = tcp_cc(t);
	t->mss = 1000;
	t->cwnd = 10 * 1000;
	t->snd_max = t->snd.una + 2 * 1000;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	CHECK_EQ(t->ssthresh, 7 * 1000);
	t->cwnd = 1000;                         /* the loss window */
	cc->on_rto(st, t);
	CHECK_EQ(t->cc.cubic.last_max_cwnd, 0);
	uint64_t t0 = 1000 * MS;                /* the ACK of the retransmission */
	ack_one(t, t0, 0);
	CHECK_EQ(t->cwnd, 2 * 1000);
	/* slow start: ACKs 3001..7001, the least RTT 100 ms */
	static const uint32_t ss_ms[] = { 100, 102, 200, 202, 204 };
	static const uint32_t ss_rtt[] = { 100, 102, 100, 102, 104 };
	for (int i = 0; i < 5; i++) {
		ack_one(t, t0 + ss_ms[i] * MS, ss_rtt[i] * MS);
		CHECK_EQ(t->cwnd, (3u + i) * 1000);
	}
	CHECK(!t->cc.cubic.epoch_on);           /* 7001 filled slow start exactly */
	CHECK_EQ(t->cc.cubic.delay_min_us, 100 * MS);
	/* congestion avoidance: ACK 8001 at 206 ms starts the stage */
	uint64_t at = t0 + 206 * MS;
	ack_one(t, at, 104 * MS);
	CHECK(t->cc.cubic.epoch_on);
	CHECK_EQ(t->cc.cubic.k, 0);
	CHECK_EQ(t->cc.cubic.origin, 7);
	CHECK_EQ(t->cc.cubic.cnt, 20);          /* no W_max: 5% per RTT */
	CHECK_EQ(t->cc.cubic.cwnd_cnt, 1);
	/* ACKs 9001..22001: three bursts, the first ACK of each 98 ms on */
	uint32_t ack = 9001;
	for (int burst = 0; burst < 2; burst++) {
		at += 98 * MS;
		for (int i = 0; i < 7; i++, ack += 1000) {
			ack_one(t, at, 0);
			CHECK_EQ(t->cwnd, 7 * 1000);
			at += 2 * MS;
		}
		at -= 2 * MS;
	}
	CHECK_EQ(ack, 23001);
	CHECK_EQ(t->cc.cubic.ack_cnt, 15);      /* past 13, but not recomputed since 16001 */
	CHECK_EQ(t->cc.cubic.tcp_cwnd, 7);
	CHECK_EQ(t->cc.cubic.cwnd_cnt, 15);
	CHECK_EQ(t->cc.cubic.cnt, 20);
	ack_one(t, at + 98 * MS, 0);            /* ACK 23001 */
	CHECK_EQ(t->cc.cubic.tcp_cwnd, 8);
	CHECK_EQ(t->cc.cubic.ack_cnt, 3);
	CHECK_EQ(t->cc.cubic.cnt, 7);
	CHECK_EQ(t->cwnd, 8 * 1000);
	CHECK_EQ(t->cc.cubic.cwnd_cnt, 1);
	teardown();
}

/* While cwnd holds, cnt is recomputed only when more than HZ/32 = 7
 * jiffies (28 ms) passed since the last time: an ACK 7 jiffies on keeps
 * the old cnt, 8 jiffies on recomputes it. A change of cwnd recomputes at
 * the next ACK in another jiffy. */
TEST(cubic_recompute_every_hz_32)
{
	setup();
	struct tcb *t = cc_conn("cubic", 100 * MS);
	t->cwnd = 50 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);      /* W_max 50, ssthresh 35 */
	t->cwnd = t->ssthresh;
	uint64_t j0 = 10000 * 4000ull;          /* a jiffy boundary (4 ms) */
	ack_one(t, j0, 0);                      /* the stage starts: K = cbrt(15 / C) */
	CHECK_EQ(t->cc.cubic.last_time, 10000);
	CHECK_EQ(t->cc.cubic.k, 3426);          /* cbrt(15 * 2^40 / 410): 3.346 s */
	uint32_t cnt0 = t->cc.cubic.cnt;
	CHECK(cnt0 > 2);
	ack_one(t, j0 + 7 * 4000 + 3999, 0);    /* still jiffy 10007 */
	CHECK_EQ(t->cc.cubic.last_time, 10000);
	ack_one(t, j0 + 8 * 4000, 0);           /* jiffy 10008 */
	CHECK_EQ(t->cc.cubic.last_time, 10008);
	t->cwnd += MSS;                         /* cwnd moved */
	ack_one(t, j0 + 8 * 4000 + 100, 0);     /* the same jiffy: W_est only */
	CHECK_EQ(t->cc.cubic.last_time, 10008);
	CHECK_EQ(t->cc.cubic.last_cwnd, 35);
	ack_one(t, j0 + 9 * 4000, 0);           /* the next: recomputed */
	CHECK_EQ(t->cc.cubic.last_time, 10009);
	CHECK_EQ(t->cc.cubic.last_cwnd, 36);
	teardown();
}

/* Drive `rounds` round trips of ACKs: each round acknowledges cwnd (in
 * segments) one segment per ACK, evenly spread over the RTT. */
static void ack_rounds(struct tcb *t, uint64_t rtt_us, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		uint32_t n = t->cwnd / MSS;
		uint64_t start = now;
		for (uint32_t i = 0; i < n; i++) {
			now = start + rtt_us * i / n;
			st->now_us = now;
			tcp_cc(t)->cong_avoid(st, t, MSS);
		}
		now = start + rtt_us;
		st->now_us = now;
	}
}

/* After a loss at 100 segments with a 200 ms RTT, cwnd follows W_cubic(t)
 * = 0.4 (t - K)^3 + 100, K = cbrt(30 / 0.4) = 4.22 s, within two segments
 * (cnt aims at W_cubic one least RTT ahead and cwnd moves in whole
 * segments): concave below K (growth slowing towards W_max), convex above
 * it. */
TEST(cubic_follows_w_cubic)
{
	setup();
	uint64_t rtt = 200 * MS;
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 100 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->ssthresh;                  /* after recovery: cwnd = ssthresh */
	tcp_cc(t)->rtt_sample(st, t, rtt);
	double k = tcp_cubic_root(30 / 0.4);
	uint64_t t0 = now;
	double prev = t->cwnd / (double)MSS, prev_inc = 1e9;
	int concave = 1, bad_shape = 0;
	for (int r = 1; r <= 40; r++) {         /* 8 seconds */
		ack_rounds(t, rtt, 1);
		double ts = (double)(now - t0) / 1e6;
		double w = t->cwnd / (double)MSS, want = w_cubic(ts, k, 100);
		if (w - want > 2 || want - w > 2) {
			fprintf(stderr, "  t %.1f s: cwnd %.2f, W_cubic %.2f\n", ts, w, want);
			CHECK(0);
		}
		double inc = w - prev;
		if (ts < k - 0.3) {
			bad_shape += inc > prev_inc + 1.2;      /* concave: slowing */
		} else if (ts > k + 0.5) {
			if (concave)
				prev_inc = inc;
			concave = 0;
			bad_shape += inc < prev_inc - 1.2;      /* convex: speeding up */
		}
		prev_inc = inc;
		prev = w;
	}
	CHECK_EQ(bad_shape, 0);
	/* past K: above W_max, and still in the cubic (not Reno) region */
	CHECK(t->cwnd > 115 * MSS);
	CHECK(t->cc.cubic.tcp_cwnd < t->cwnd / MSS);
	teardown();
}

/* RFC 9438 4.3 as Linux counts it: with a short RTT, W_est (one segment
 * per (cwnd * 15) >> 3 acked, 8/15 per RTT: alpha_cubic = 3 (1 - 0.7) /
 * (1 + 0.7)) outgrows W_cubic and caps cnt: the Reno-friendly region.
 * (RFC 9438 raises alpha_cubic to 1 once W_est reaches cwnd_prior, which
 * this checked before; Linux's tcp_friendliness keeps 8/15, and so does
 * nstack now.) The RTT is above HZ/32 (28 ms): W_est is brought up to
 * date at least once a round. */
TEST(cubic_reno_friendly_region)
{
	setup();
	uint64_t rtt = 30 * MS;
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 20 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->ssthresh;                  /* 14 */
	uint64_t t0 = now;
	ack_rounds(t, rtt, 40);
	double w = t->cwnd / (double)MSS, want = 14 + 40 * 8.0 / 15;
	if (w < want - 2 || w > want + 1)
		fprintf(stderr, "  cwnd %.2f, want %.2f\n", w, want);
	CHECK(w > want - 2 && w < want + 1);
	double wc = w_cubic((double)(now - t0) / 1e6, tcp_cubic_root(6 / 0.4), 20);
	CHECK(w > wc + 12);                     /* W_cubic(1.2 s) is ~19.3 */
	/* past the old W_max (20) still 8/15 of a segment per RTT */
	double w1 = t->cwnd / (double)MSS;
	ack_rounds(t, rtt, 30);
	double w2 = t->cwnd / (double)MSS;
	if (w2 - w1 < 14 || w2 - w1 > 18)
		fprintf(stderr, "  30 rounds: %.2f -> %.2f\n", w1, w2);
	CHECK(w2 - w1 >= 14 && w2 - w1 <= 18);  /* 30 * 8 / 15 = 16 */
	CHECK(t->cc.cubic.tcp_cwnd >= t->cwnd / MSS);
	teardown();
}

/* After a timeout Linux forgets W_max (bictcp_reset): the next stage has
 * K = 0 and its plateau at its starting cwnd (RFC 9438 4.8's outcome too),
 * and with no W_max cnt is at most 20: cwnd grows at least 5% per RTT
 * while W_cubic is flat. Slow start first, to ssthresh. */
TEST(cubic_after_timeout)
{
	setup();
	uint64_t rtt = 250 * MS;                /* long: W_est stays below */
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 100 * MSS;
	t->snd_max = t->snd.una + 100 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = MSS;
	tcp_cc(t)->on_rto(st, t);
	CHECK_EQ(t->cc.cubic.last_max_cwnd, 0);
	/* slow start: doubles per round up to ssthresh (70), and stops there */
	ack_rounds(t, rtt, 6);
	CHECK_EQ(t->cwnd, 64 * MSS);
	ack_rounds(t, rtt, 1);
	CHECK(t->cwnd >= t->ssthresh && t->cwnd < t->ssthresh + 4 * MSS);
	CHECK(t->cc.cubic.epoch_on);
	CHECK_EQ(t->cc.cubic.k, 0);
	CHECK_EQ(t->cc.cubic.origin, 70);
	CHECK_EQ(t->cc.cubic.cnt, 20);
	for (int r = 0; r < 10; r++) {
		uint32_t c0 = t->cwnd / MSS;
		ack_rounds(t, rtt, 1);
		uint32_t c1 = t->cwnd / MSS;
		if (c1 < c0 + c0 / 20 - 1 || c1 > c0 + c0 / 20 + 2)
			fprintf(stderr, "  round %d: %u -> %u\n", r, c0, c1);
		CHECK(c1 >= c0 + c0 / 20 - 1 && c1 <= c0 + c0 / 20 + 2);
	}
	teardown();
}

/* The algorithm decides the reduction on a real fast retransmit: reno
 * halves FlightSize, cubic takes 0.7 cwnd. */
TEST(reduction_on_fast_retransmit_per_algorithm)
{
	for (int alg = 0; alg < 2; alg++) {
		setup();
		uint32_t iss;
		int sd = open_active(&iss, 10 * MS, 65535);
		struct tcb *t = tcb_of(sd);
		if (alg == 0)
			CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
		static char buf[8 * MSS];
		CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), (long)sizeof(buf));
		drain();
		uint32_t cwnd = t->cwnd;
		for (int i = 0; i < 3; i++)
			inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
		CHECK(t->in_recovery);
		if (alg == 0)
			CHECK_EQ(t->ssthresh, 4 * MSS);
		else
			CHECK_EQ(t->ssthresh, (uint32_t)(cwnd * 0.7));
		teardown();
	}
}

/* One slow-start round trip for HyStart++: the segments in flight are
 * ACKed one by one with an RTT sample of rtt_us (in tcp_in.c's order:
 * sample, then growth), and the sender fills cwnd again after each ACK.
 * (HyStart++'s own rounds, windowEnd = SND.NXT at a round's start, do not
 * line up with these: a round may mix two of them.) */
static void hs_round(struct tcb *t, uint64_t rtt_us)
{
	uint32_t n = t->cwnd / MSS;
	if (seq_lt(t->snd_max, t->snd.una + t->cwnd))
		t->snd_max = t->snd.una + t->cwnd;
	for (uint32_t i = 0; i < n; i++) {
		now += rtt_us / n;
		st->now_us = now;
		t->snd.una += MSS;
		tcp_cc(t)->rtt_sample(st, t, rtt_us);
		tcp_cc(t)->cong_avoid(st, t, MSS);
		t->snd_max = t->snd.una + t->cwnd;
	}
}

/* RFC 9406: a round whose minimum RTT is up by max(4 ms, lastRoundMinRTT / 8)
 * moves to Conservative Slow Start (cwnd grows a quarter as fast); after
 * CSS_ROUNDS rounds ssthresh = cwnd. RTT noise below the threshold changes
 * nothing; a minimum back below the baseline resumes slow start; a loss
 * ends HyStart++. */
TEST(hystart_plus_plus)
{
	setup();
	struct tcb *t = cc_conn("cubic", 20 * MS);
	CHECK_EQ(t->ssthresh, 0xffffffffu);
	t->cwnd = 10 * MSS;
	hs_round(t, 20 * MS);
	hs_round(t, 20 * MS);
	hs_round(t, 23 * MS);                   /* +3 ms: below the 4 ms threshold */
	hs_round(t, 23 * MS);
	CHECK_EQ(st->stat.tcp_hystart_css, 0);
	CHECK_EQ(t->cwnd, 160 * MSS);           /* plain slow start: doubling */
	hs_round(t, 30 * MS);                   /* +7 ms */
	hs_round(t, 30 * MS);
	CHECK_EQ(st->stat.tcp_hystart_css, 1);
	CHECK(t->cc.cubic.hs_css);
	CHECK_EQ(t->ssthresh, 0xffffffffu);
	/* in CSS a round trip grows cwnd by a quarter, not double */
	uint32_t c0 = t->cwnd;
	hs_round(t, 30 * MS);
	CHECK(t->cwnd > c0 + c0 / 4 - 2 * MSS && t->cwnd < c0 + c0 / 4 + 2 * MSS);
	int r;
	for (r = 0; r < 6 && t->ssthresh == 0xffffffffu; r++)
		hs_round(t, 30 * MS);
	CHECK_EQ(st->stat.tcp_hystart_exit, 1);
	CHECK(r >= 2 && r <= 5);                /* CSS_ROUNDS rounds of HyStart++ */
	CHECK(t->ssthresh <= t->cwnd && t->cwnd - t->ssthresh < t->cwnd / 4);
	CHECK(!t->cc.cubic.hs_css);
	teardown();

	/* a spurious exit: later rounds' minimum drops below the baseline */
	setup();
	t = cc_conn("cubic", 20 * MS);
	t->cwnd = 10 * MSS;
	hs_round(t, 20 * MS);
	hs_round(t, 20 * MS);
	hs_round(t, 40 * MS);
	hs_round(t, 40 * MS);
	CHECK(t->cc.cubic.hs_css);
	hs_round(t, 20 * MS);
	hs_round(t, 20 * MS);
	CHECK(!t->cc.cubic.hs_css);
	CHECK_EQ(st->stat.tcp_hystart_exit, 0);
	CHECK_EQ(t->ssthresh, 0xffffffffu);
	/* and a loss ends HyStart++ for the connection */
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	CHECK(t->cc.cubic.hs_done);
	teardown();
}

/* Without timestamps a SACK connection still gives HyStart++ an RTT sample
 * per ACK (RFC 9406 4.2 "For each arriving ACK"), from the transmit log:
 * the first round's one sample is 10 ms (as the handshake's); the next
 * round's ACKs, 15 ms and more, move to CSS after N_RTT_SAMPLE of them
 * (threshold max(4 ms, 10 / 8) = 4 ms). */
TEST(hystart_samples_without_timestamps)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct tcb *t = tcb_of(sd);
	CHECK(t->sack_ok);
	CHECK(!t->ts_ok);
	static char buf[40 * MSS];
	memset(buf, 'h', sizeof(buf));
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), (long)sizeof(buf));
	drain();
	uint32_t una = iss + 1 + 10 * MSS;
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, una, NULL));     /* round 1: one sample, 10 ms */
	drain();
	advance(now + 15 * MS);
	for (int i = 0; i < 7; i++) {
		una += 2 * MSS;
		inject(from(sd, ACK, PISS + 1, una, NULL));
		drain();
		advance(now + MS / 2);
	}
	CHECK_EQ(t->cc.cubic.hs_samples, 7);
	CHECK(!t->cc.cubic.hs_css);
	una += 2 * MSS;
	inject(from(sd, ACK, PISS + 1, una, NULL));
	CHECK(t->cc.cubic.hs_css);
	CHECK_EQ(st->stat.tcp_hystart_css, 1);
	CHECK_EQ(t->ssthresh, 0xffffffffu);     /* CSS, not yet an exit */
	nst_close(st, sd, now);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(tcp_congestion_get_set);
	RUN(reno_slow_start_and_avoidance);
	RUN(cubic_beta_and_fast_convergence);
	RUN(cubic_linux_cwnd_bump_after_timeout);
	RUN(cubic_recompute_every_hz_32);
	RUN(cubic_follows_w_cubic);
	RUN(cubic_reno_friendly_region);
	RUN(cubic_after_timeout);
	RUN(reduction_on_fast_retransmit_per_algorithm);
	RUN(hystart_plus_plus);
	RUN(hystart_samples_without_timestamps);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
