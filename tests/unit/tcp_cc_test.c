/* Unit tests of congestion control (stack/tcp_cc.c): TCP_CONGESTION, Reno
 * (RFC 5681) and CUBIC (RFC 9438) driven with an exact clock. The curve
 * tests call the algorithm's hooks the way tcp_in.c does on each ACK, at
 * exact microseconds, and compare cwnd with the RFC's formulas. */
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
	struct tcb *c = tcp_lookup(st, ME, 80, PEER, PPORT);
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

/* RFC 9438 4.6/4.7: ssthresh = 0.7 cwnd; W_max = cwnd, and with fast
 * convergence a loss below the previous W_max sets W_max = cwnd (1 + 0.7) / 2. */
TEST(cubic_beta_and_fast_convergence)
{
	setup();
	struct tcb *t = cc_conn("cubic", 100 * MS);
	t->cwnd = 100 * MSS;
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), (uint32_t)(100 * MSS * 0.7));
	CHECK(t->cc.cubic.w_max > 99.999 && t->cc.cubic.w_max < 100.001);
	t->cwnd = 80 * MSS;                     /* the next loss comes lower */
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), (uint32_t)(80 * MSS * 0.7));
	CHECK(t->cc.cubic.w_max > 67.999 && t->cc.cubic.w_max < 68.001);   /* 80 * 0.85 */
	t->cwnd = 2 * MSS;                      /* never below 2 SMSS */
	CHECK_EQ(tcp_cc_loss_ssthresh(st, t), 2 * MSS);
	CHECK(tcp_cubic_root(27.0) > 2.999999 && tcp_cubic_root(27.0) < 3.000001);
	CHECK(tcp_cubic_root(75.0) > 4.21716 && tcp_cubic_root(75.0) < 4.21717);
	CHECK(tcp_cubic_root(0) == 0);
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
 * = 0.4 (t - K)^3 + 100, K = cbrt(30 / 0.4) = 4.22 s, within a segment:
 * concave below K (growth slowing towards W_max), convex above it. */
TEST(cubic_follows_w_cubic)
{
	setup();
	uint64_t rtt = 200 * MS;
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 100 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->ssthresh;                  /* after recovery: cwnd = ssthresh */
	double k = tcp_cubic_root(30 / 0.4);
	uint64_t t0 = now;
	double prev = t->cwnd / (double)MSS, prev_inc = 1e9;
	int concave = 1, bad_shape = 0;
	for (int r = 1; r <= 40; r++) {         /* 8 seconds */
		ack_rounds(t, rtt, 1);
		double ts = (double)(now - t0) / 1e6;
		double w = t->cwnd / (double)MSS, want = w_cubic(ts, k, 100);
		if (w - want > 1 || want - w > 1) {
			fprintf(stderr, "  t %.1f s: cwnd %.2f, W_cubic %.2f\n", ts, w, want);
			CHECK(0);
		}
		double inc = w - prev;
		if (ts < k - 0.3) {
			bad_shape += inc > prev_inc + 0.2;      /* concave: slowing */
		} else if (ts > k + 0.5) {
			if (concave)
				prev_inc = inc;
			concave = 0;
			bad_shape += inc < prev_inc - 0.2;      /* convex: speeding up */
		}
		prev_inc = inc;
		prev = w;
	}
	CHECK_EQ(bad_shape, 0);
	/* past K: above W_max, and still in the cubic (not Reno) region */
	CHECK(t->cwnd > 115 * MSS);
	CHECK(t->cc.cubic.w_est < w_cubic((double)(now - t0) / 1e6, k, 100));
	teardown();
}

/* RFC 9438 4.3: with a short RTT, W_est (Reno's window, alpha_cubic =
 * 3 (1 - 0.7) / (1 + 0.7) segments per RTT) outgrows W_cubic and cwnd
 * follows W_est: the Reno-friendly region. */
TEST(cubic_reno_friendly_region)
{
	setup();
	uint64_t rtt = 1 * MS;
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 100 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->ssthresh;
	uint64_t t0 = now;
	ack_rounds(t, rtt, 40);
	double alpha = 3 * (1 - 0.7) / (1 + 0.7);
	double w = t->cwnd / (double)MSS, want = 70 + 40 * alpha;
	CHECK(w > want - 1 && w < want + 1);
	double wc = w_cubic((double)(now - t0) / 1e6, tcp_cubic_root(30 / 0.4), 100);
	CHECK(w > wc + 15);                     /* W_cubic(40 ms) is ~70.9 */
	/* past cwnd_prior (100) alpha_cubic becomes 1: one segment per RTT */
	ack_rounds(t, rtt, 60);
	double w1 = t->cwnd / (double)MSS;
	ack_rounds(t, rtt, 10);
	double w2 = t->cwnd / (double)MSS;
	CHECK(w1 > 100);
	CHECK(w2 - w1 > 9 && w2 - w1 < 11);
	teardown();
}

/* RFC 9438 4.8: after a timeout the next stage starts with K = 0 and W_max
 * = cwnd at its start: growth is convex from there at once. Slow start
 * first, to ssthresh. */
TEST(cubic_after_timeout)
{
	setup();
	uint64_t rtt = 250 * MS;                /* long: W_est stays below W_cubic */
	struct tcb *t = cc_conn("cubic", rtt);
	t->cwnd = 100 * MSS;
	t->snd_max = t->snd.una + 100 * MSS;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = MSS;
	tcp_cc(t)->on_rto(st, t);
	/* slow start: doubles per round up to ssthresh (70) */
	ack_rounds(t, rtt, 6);
	CHECK_EQ(t->cwnd, 64 * MSS);
	ack_rounds(t, rtt, 1);
	CHECK(t->cwnd >= t->ssthresh);
	uint32_t c0 = t->cwnd;
	ack_rounds(t, rtt, 1);                  /* the stage starts here */
	CHECK(t->cc.cubic.k == 0);
	CHECK(t->cc.cubic.w_max * MSS > c0 - MSS);
	uint64_t t0 = t->cc.cubic.epoch_us;
	double w0 = t->cc.cubic.origin;
	ack_rounds(t, rtt, 20);
	double ts = (double)(now - t0) / 1e6;
	double w = t->cwnd / (double)MSS, want = 0.4 * cube(ts) + w0;
	if (w < want - 1.5 || w > want + 1.5)
		fprintf(stderr, "  t %.2f s: cwnd %.2f want %.2f (W_est %.2f)\n", ts, w, want,
			t->cc.cubic.w_est);
	CHECK(w > want - 1.5 && w < want + 1.5);
	CHECK(t->cc.cubic.w_est < want);
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
	RUN(cubic_follows_w_cubic);
	RUN(cubic_reno_friendly_region);
	RUN(cubic_after_timeout);
	RUN(reduction_on_fast_retransmit_per_algorithm);
	RUN(hystart_plus_plus);
	RUN(hystart_samples_without_timestamps);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
