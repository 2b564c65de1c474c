/* Congestion control: one ops table per algorithm (struct tcp_cc_ops,
 * tcp.h), chosen per connection with TCP_CONGESTION (sockopt.c). Loss
 * detection and recovery stay in tcp_in.c / tcp_sack.c / tcp_timer.c; an
 * algorithm says how cwnd grows on ACKs outside recovery, what ssthresh
 * becomes on a loss and what a timeout resets.
 *
 *   reno   RFC 5681: slow start with appropriate byte counting (cwnd +=
 *          min(N, SMSS)), congestion avoidance of one SMSS per cwnd of
 *          acknowledged bytes, ssthresh = max(FlightSize / 2, 2 * SMSS).
 *   cubic  RFC 9438, the default (as Linux's): W_cubic(t) = C (t - K)^3 +
 *          W_max with C = 0.4, beta_cubic = 0.7, fast convergence and the
 *          Reno-friendly region; HyStart++ (RFC 9406) ends the initial slow
 *          start on a delay increase (its RTT samples come from timestamps,
 *          one per ACK: without timestamps there are too few and it never
 *          fires). not implemented: an idle period still counts in t.
 *
 * Windows in CUBIC's formulas are in segments (doubles: pure arithmetic,
 * no libm; the cube root is Newton's). */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

#define CUBIC_C     0.4         /* RFC 9438 5.1 */
#define CUBIC_BETA  0.7         /* RFC 9438 4.6 beta_cubic */
/* RFC 9406 4.3 */
#define HS_MIN_RTT_THRESH_US  4000
#define HS_MAX_RTT_THRESH_US  16000
#define HS_MIN_RTT_DIVISOR    8
#define HS_N_RTT_SAMPLE       8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS         5

/* Slow start: RFC 5681 3.1 "cwnd += min (N, SMSS)" is the conservative
 * bound; RFC 3465 (ABC) lets an ACK count up to L segments. Like Linux's
 * tcp_slow_start we count every byte an ACK covers (L unbounded, which
 * RFC 9406 4.2 allows a paced sender): a delayed ACK of two segments opens
 * two, and a stretch ACK of a whole initial window of 10 doubles it to 20,
 * as a peer that ACKs once per window sees from Linux (and the units sent
 * next are cut from that cwnd). Conservative slow start (RFC 9406 4.2)
 * keeps "min(N, L * SMSS)" with L = 8. */
#define SS_ABC_L 8
static uint32_t ss_increase(const struct tcb *t, uint32_t acked)
{
	uint32_t cap = SS_ABC_L * (uint32_t)t->mss;
	return acked < cap ? acked : cap;
}

static void slow_start(struct tcb *t, uint32_t acked)
{
	t->cwnd += acked;
}

/* ---- reno ------------------------------------------------------------------ */

static void reno_init(struct tcb *t)
{
	t->ca_acked = 0;
}

/* RFC 5681 3.1: below ssthresh slow start; above it "cwnd += SMSS*SMSS/cwnd"
 * per ACK, counted in bytes (one SMSS per cwnd of acknowledged bytes, RFC
 * 3465 2.1). */
static void reno_cong_avoid(struct stack *st, struct tcb *t, uint32_t acked)
{
	(void)st;
	if (t->cwnd < t->ssthresh) {
		slow_start(t, acked);
		return;
	}
	t->ca_acked += acked;
	if (t->ca_acked >= t->cwnd) {
		t->ca_acked -= t->cwnd;
		t->cwnd += t->mss;
	}
}

/* RFC 5681 eq. (4): "ssthresh = max (FlightSize / 2, 2*SMSS)". */
static uint32_t reno_ssthresh(struct stack *st, struct tcb *t)
{
	(void)st;
	uint32_t half = (t->snd_max - t->snd.una) / 2;
	t->ca_acked = 0;
	return half > 2u * t->mss ? half : 2u * t->mss;
}

static void reno_on_rto(struct stack *st, struct tcb *t)
{
	(void)st;
	t->ca_acked = 0;
}

const struct tcp_cc_ops tcp_cc_reno = {
	.name = "reno",
	.id = 1,
	.init = reno_init,
	.cong_avoid = reno_cong_avoid,
	.ssthresh = reno_ssthresh,
	.on_rto = reno_on_rto,
};

/* ---- cubic ----------------------------------------------------------------- */

/* x^(1/3) for x >= 0 by Newton's iteration (no libm in stack/). */
double tcp_cubic_root(double x)
{
	if (x <= 0)
		return 0;
	double r = x > 1 ? x / 3 : 1;
	for (int i = 0; i < 200; i++) {
		double n = (2 * r + x / (r * r)) / 3;
		if (n == r || (n > r ? n - r : r - n) < 1e-12 * r)
			return n;
		r = n;
	}
	return r;
}

static void cubic_init(struct tcb *t)
{
	memset(&t->cc.cubic, 0, sizeof(t->cc.cubic));
	t->ca_acked = 0;
}

/* HyStart++ (RFC 9406 4.2), on each ACK's RTT sample during the initial
 * slow start ("An implementation SHOULD use HyStart++ only for the initial
 * slow start"). Rounds end when snd.una passes the snd_max of their start.
 * "if (currentRoundMinRTT >= (lastRoundMinRTT + RttThresh))": enter
 * Conservative Slow Start; in CSS a round minimum below the baseline means
 * the exit was spurious (back to slow start); after CSS_ROUNDS rounds,
 * "enter congestion avoidance by setting the ssthresh to the current cwnd". */
static void cubic_rtt_sample(struct stack *st, struct tcb *t, uint64_t rtt_us)
{
	struct tcp_cubic *c = &t->cc.cubic;
	if (c->hs_done || t->ssthresh != 0xffffffffu)
		return;
	if (!c->hs_round_end || seq_geq(t->snd.una, c->hs_round_end)) {
		c->hs_round_end = t->snd_max;
		c->hs_last_min_us = c->hs_cur_min_us;
		c->hs_cur_min_us = 0;
		c->hs_samples = 0;
		if (c->hs_css && ++c->hs_css_rounds > HS_CSS_ROUNDS) {
			st->stat.tcp_hystart_exit++;
			t->ssthresh = t->cwnd;
			c->hs_css = 0;
			c->hs_done = 1;
			return;
		}
	}
	if (!c->hs_cur_min_us || rtt_us < c->hs_cur_min_us)
		c->hs_cur_min_us = rtt_us;
	c->hs_samples++;
	if (c->hs_samples < HS_N_RTT_SAMPLE || !c->hs_last_min_us)
		return;
	if (c->hs_css) {
		if (c->hs_cur_min_us < c->hs_css_base_us)
			c->hs_css = 0;  /* "resume slow start including HyStart++" */
		return;
	}
	uint64_t thresh = c->hs_last_min_us / HS_MIN_RTT_DIVISOR;
	if (thresh < HS_MIN_RTT_THRESH_US)
		thresh = HS_MIN_RTT_THRESH_US;
	if (thresh > HS_MAX_RTT_THRESH_US)
		thresh = HS_MAX_RTT_THRESH_US;
	if (c->hs_cur_min_us >= c->hs_last_min_us + thresh) {
		st->stat.tcp_hystart_css++;
		c->hs_css = 1;
		c->hs_css_rounds = 1;   /* "that partial round counts" */
		c->hs_css_base_us = c->hs_cur_min_us;
	}
}

/* RFC 9438 4.1 eq. (1): W_cubic(t) = C * (t - K)^3 + W_max (the plateau is
 * cwnd_epoch instead when the stage began at or above W_max). */
static double cubic_w(const struct tcp_cubic *c, double t_s)
{
	double d = t_s - c->k;
	return CUBIC_C * d * d * d + c->origin;
}

/* RFC 9438 4.6 and 4.7 on a congestion event: "ssthresh = cwnd * beta_cubic"
 * (at least 2 SMSS), W_max the cwnd before the reduction, "further reduced"
 * with fast convergence when the event comes below the previous W_max:
 * "W_max = cwnd * (1 + beta_cubic) / 2". A new stage begins at the next
 * congestion-avoidance ACK. */
static uint32_t cubic_ssthresh(struct stack *st, struct tcb *t)
{
	(void)st;
	struct tcp_cubic *c = &t->cc.cubic;
	double cwnd = (double)t->cwnd / t->mss;
	c->cwnd_prior = cwnd;
	c->w_max = cwnd < c->w_max ? cwnd * (1 + CUBIC_BETA) / 2 : cwnd;
	c->epoch_us = 0;
	c->hs_css = 0;          /* RFC 9406 4.2: a loss ends HyStart++ for good */
	c->hs_done = 1;
	uint32_t ss = (uint32_t)((double)t->cwnd * CUBIC_BETA);
	return ss > 2u * t->mss ? ss : 2u * t->mss;
}

/* RFC 9438 4.8: after a timeout "t is the elapsed time since the beginning
 * of the current congestion avoidance stage, K is set to 0, and W_max is
 * set to the congestion window size at the beginning of the current
 * congestion avoidance stage". */
static void cubic_on_rto(struct stack *st, struct tcb *t)
{
	(void)st;
	t->cc.cubic.epoch_us = 0;
	t->cc.cubic.after_rto = 1;
	t->cc.cubic.hs_css = 0;
	t->cc.cubic.hs_done = 1;
}

/* RFC 9438 4.10: slow start below ssthresh. Above it, per ACK:
 * 4.2 a stage starts with cwnd_epoch = cwnd, K = cbrt((W_max -
 * cwnd_epoch) / C) (eq. 2), W_est = cwnd_epoch;
 * 4.3 W_est += alpha_cubic * segments_acked / cwnd with alpha_cubic =
 * 3 (1 - beta) / (1 + beta), 1 once W_est reaches cwnd_prior; "If
 * W_cubic(t) is less than W_est, then CUBIC is in the Reno-friendly region
 * and cwnd SHOULD be set to W_est";
 * 4.4/4.5 otherwise target = W_cubic(t + RTT), within [cwnd, 1.5 cwnd], and
 * "cwnd MUST be incremented by (target - cwnd) / cwnd" per SMSS acked. */
static void cubic_cong_avoid(struct stack *st, struct tcb *t, uint32_t acked)
{
	struct tcp_cubic *c = &t->cc.cubic;
	if (t->cwnd < t->ssthresh) {
		/* RFC 9406 4.2, in CSS: "cwnd = cwnd + (min(N, L * SMSS) /
		 * CSS_GROWTH_DIVISOR)" */
		if (c->hs_css)
			t->cwnd += ss_increase(t, acked) / HS_CSS_GROWTH_DIVISOR;
		else
			slow_start(t, acked);
		return;
	}
	double mss = t->mss, cwnd = (double)t->cwnd / mss;
	if (!c->epoch_us) {
		c->epoch_us = st->now_us ? st->now_us : 1;
		c->carry = 0;
		if (c->after_rto || c->w_max <= cwnd) {
			c->k = 0;
			c->origin = cwnd;
			if (c->after_rto)
				c->w_max = cwnd;
			c->after_rto = 0;
		} else {
			c->k = tcp_cubic_root((c->w_max - cwnd) / CUBIC_C);
			c->origin = c->w_max;
		}
		c->w_est = cwnd;
	}
	double t_s = (double)(st->now_us - c->epoch_us) / 1e6;
	double rtt_s = (double)t->srtt / 1e6;
	double alpha = c->w_est >= c->cwnd_prior ? 1.0 : 3 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	c->w_est += alpha * ((double)acked / mss) / cwnd;
	if (cubic_w(c, t_s) < c->w_est) {
		/* Reno-friendly region */
		uint32_t w = (uint32_t)(c->w_est * mss);
		if (w > t->cwnd)
			t->cwnd = w;
		return;
	}
	double target = cubic_w(c, t_s + rtt_s);
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	c->carry += (target - cwnd) / cwnd * (double)acked;
	if (c->carry >= 1) {
		uint32_t inc = (uint32_t)c->carry;
		c->carry -= inc;
		t->cwnd += inc;
	}
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.id = 0,
	.init = cubic_init,
	.cong_avoid = cubic_cong_avoid,
	.ssthresh = cubic_ssthresh,
	.on_rto = cubic_on_rto,
	.rtt_sample = cubic_rtt_sample,
};

/* ---- selection ------------------------------------------------------------- */

const struct tcp_cc_ops *const tcp_cc_all[2] = { &tcp_cc_cubic, &tcp_cc_reno };

/* The algorithm called name, NULL if none (TCP_CONGESTION: ENOENT). */
const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(tcp_cc_all) / sizeof(tcp_cc_all[0]); i++)
		if (!strcmp(tcp_cc_all[i]->name, name))
			return tcp_cc_all[i];
	return NULL;
}

/* Switch t to ops. Like Linux's tcp_reinit_congestion_control, cwnd and
 * ssthresh stay; the algorithm's own state starts afresh. */
void tcp_cc_set(struct tcb *t, const struct tcp_cc_ops *ops)
{
	t->cc_id = ops->id;
	ops->init(t);
}

/* A loss was detected: the algorithm's ssthresh, never below 2 SMSS
 * (RFC 5681 eq. 4). */
uint32_t tcp_cc_loss_ssthresh(struct stack *st, struct tcb *t)
{
	uint32_t ss = tcp_cc(t)->ssthresh(st, t);
	return ss > 2u * t->mss ? ss : 2u * t->mss;
}
