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
 *          W_max, beta 0.7, fast convergence and the Reno-friendly region,
 *          with the arithmetic of Linux's tcp_cubic.c so that cwnd moves at
 *          the ACKs the kernel's does: whole segments, cwnd + 1 after `cnt`
 *          segments acknowledged, cnt recomputed at most every HZ/32
 *          jiffies while cwnd holds, the Reno-friendly W_est stepping in
 *          whole segments. HyStart++ (RFC 9406) ends the initial slow start
 *          on a delay increase (its RTT samples come one per ACK; without
 *          timestamps or SACK there are too few and it never fires), where
 *          Linux runs HyStart. not implemented: Linux shifts the epoch by an
 *          idle period (CA_EVENT_TX_START); here idle time counts in t.
 */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

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

/* Slow start up to ssthresh; returns what of `acked` it did not use, for
 * congestion avoidance in the same ACK (Linux's tcp_slow_start; RFC 5681
 * 3.1 leaves the ACK that crosses ssthresh to the implementation). */
static uint32_t slow_start(struct tcb *t, uint32_t acked)
{
	uint32_t room = t->ssthresh - t->cwnd;      /* cwnd < ssthresh */
	uint32_t inc = acked < room ? acked : room;
	t->cwnd += inc;
	return acked - inc;
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
		acked = slow_start(t, acked);
		if (!acked)
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

/* Linux's time base: tcp_cubic.c counts time in jiffies, and this host's
 * kernel has HZ=250, so a jiffy is 4 ms. The jiffy decides at which ACK
 * cwnd's increment is recomputed (every HZ/32 = 7 jiffies while cwnd holds)
 * and rounds W_cubic's t. */
#define CUBIC_JIFFY_US     4000
#define CUBIC_HZ           (1000000 / CUBIC_JIFFY_US)
#define CUBIC_RECALC_JIFFIES (CUBIC_HZ / 32)
/* Linux's constants: beta = 717/1024 (RFC 9438 4.6's 0.7), C = 410/1024
 * (bic_scale 41 * 10; RFC 9438 5.1's 0.4); t and K in 1/1024 s. */
#define CUBIC_BETA_SCALE   1024
#define CUBIC_BETA         717
#define CUBIC_C_SCALED     410
#define CUBIC_T_SHIFT      10
/* The Reno-friendly W_est grows one segment per (cwnd * 15) >> 3 segments
 * acked: 8 / 15 segments per window, RFC 9438 4.3's alpha_cubic = 3 (1 -
 * beta) / (1 + beta) in Linux's integers (beta_scale). */
#define CUBIC_RENO_SCALE   (8 * (CUBIC_BETA_SCALE + CUBIC_BETA) / 3 / (CUBIC_BETA_SCALE - CUBIC_BETA))
/* Linux discards RTT samples for the minimum during the first second of a
 * stage ("right after fast recovery"). */
#define CUBIC_DELAY_HOLD_JIFFIES CUBIC_HZ
/* RFC 9406 4.3 */
#define HS_MIN_RTT_THRESH_US  4000
#define HS_MAX_RTT_THRESH_US  16000
#define HS_MIN_RTT_DIVISOR    8
#define HS_N_RTT_SAMPLE       8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS         5

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

/* floor(x^(1/3)), exact: the double root corrected to the integer. (Linux
 * takes a table and one Newton step, within 0.2%; K differs from it by a
 * few ms at most.) */
static uint32_t cubic_root_u64(uint64_t x)
{
	uint64_t r = (uint64_t)tcp_cubic_root((double)x);
	while (r && r * r * r > x)
		r--;
	while ((r + 1) * (r + 1) * (r + 1) <= x)
		r++;
	return (uint32_t)r;
}

static uint64_t cubic_jiffies(uint64_t now_us)
{
	return now_us / CUBIC_JIFFY_US;
}

static void cubic_init(struct tcb *t)
{
	memset(&t->cc.cubic, 0, sizeof(t->cc.cubic));
	t->ca_acked = 0;
}

/* Linux's bictcp_reset on a timeout (cubictcp_state, TCP_CA_Loss): W_max,
 * the stage, the minimum RTT and the counters start again. RFC 9438 4.8
 * instead keeps W_max at the stage's starting cwnd; with W_max 0, Linux's
 * next stage has K = 0 and the plateau at its starting cwnd too, and grows
 * at least 5% per RTT (cubic_update). */
static void cubic_reset(struct tcp_cubic *c)
{
	c->cnt = 0;
	c->cwnd_cnt = 0;
	c->acked_part = 0;
	c->last_max_cwnd = 0;
	c->last_cwnd = 0;
	c->last_time = 0;
	c->origin = 0;
	c->k = 0;
	c->epoch_start = 0;
	c->epoch_on = 0;
	c->ack_cnt = 0;
	c->tcp_cwnd = 0;
	c->delay_min_us = 0;
}

/* HyStart++ (RFC 9406 4.2), on each ACK's RTT sample during the initial
 * slow start ("An implementation SHOULD use HyStart++ only for the initial
 * slow start"). Rounds end when snd.una passes the snd_max of their start.
 * "if (currentRoundMinRTT >= (lastRoundMinRTT + RttThresh))": enter
 * Conservative Slow Start; in CSS a round minimum below the baseline means
 * the exit was spurious (back to slow start); after CSS_ROUNDS rounds,
 * "enter congestion avoidance by setting the ssthresh to the current cwnd". */
static void hystart_sample(struct stack *st, struct tcb *t, uint64_t rtt_us)
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

/* An RTT sample of an ACK: the minimum RTT (Linux's delay_min, which W_cubic
 * is taken ahead by: RFC 9438 4.4's W_cubic(t + RTT) with the least RTT;
 * samples of a stage's first second are left out, as Linux's
 * cubictcp_acked), then HyStart++. */
static void cubic_rtt_sample(struct stack *st, struct tcb *t, uint64_t rtt_us)
{
	struct tcp_cubic *c = &t->cc.cubic;
	if (!c->epoch_on ||
	    cubic_jiffies(st->now_us) - c->epoch_start >= CUBIC_DELAY_HOLD_JIFFIES) {
		if (!rtt_us)
			rtt_us = 1;
		if (!c->delay_min_us || rtt_us < c->delay_min_us)
			c->delay_min_us = rtt_us;
	}
	hystart_sample(st, t, rtt_us);
}

/* RFC 9438 4.6 and 4.7 on a congestion event, in Linux's integers
 * (bictcp_recalc_ssthresh): ssthresh = cwnd * 717 / 1024 segments (at
 * least 2), W_max the cwnd before the reduction, "further reduced" with
 * fast convergence when the event comes below the previous W_max: "W_max =
 * cwnd * (1 + beta_cubic) / 2". The stage ends; the next begins at the
 * next congestion-avoidance ACK. The increment's count starts again (Linux
 * tcp_init_cwnd_reduction, tcp_enter_loss: snd_cwnd_cnt = 0). */
static uint32_t cubic_ssthresh(struct stack *st, struct tcb *t)
{
	(void)st;
	struct tcp_cubic *c = &t->cc.cubic;
	uint32_t cwnd = t->cwnd / t->mss;
	c->epoch_on = 0;
	if (cwnd < c->last_max_cwnd)
		c->last_max_cwnd = cwnd * (CUBIC_BETA_SCALE + CUBIC_BETA) / (2 * CUBIC_BETA_SCALE);
	else
		c->last_max_cwnd = cwnd;
	c->cwnd_cnt = 0;
	c->acked_part = 0;
	c->hs_css = 0;          /* RFC 9406 4.2: a loss ends HyStart++ for good */
	c->hs_done = 1;
	uint32_t ss = cwnd * CUBIC_BETA / CUBIC_BETA_SCALE;
	return (ss > 2 ? ss : 2) * t->mss;
}

/* A timeout: Linux's bictcp_reset (cubic_reset). HyStart++ stays off. */
static void cubic_on_rto(struct stack *st, struct tcb *t)
{
	(void)st;
	cubic_reset(&t->cc.cubic);
	t->cc.cubic.hs_css = 0;
	t->cc.cubic.hs_done = 1;
}

/* How many segments must be acked for cwnd (segments) to grow by one: c->cnt,
 * as Linux's bictcp_update computes it on an ACK of `acked` segments at
 * now_us.
 *   - While cwnd holds, cnt is recomputed at most every HZ/32 jiffies (and
 *     at most once a jiffy when cwnd moved); the acked segments still count
 *     for W_est.
 *   - A stage starts at its first ACK (RFC 9438 4.2): K = cbrt((W_max -
 *     cwnd_epoch) / C) (eq. 2), the plateau W_max; at or above W_max (or
 *     with none), K = 0 and the plateau is cwnd_epoch; W_est = cwnd_epoch.
 *   - target = W_cubic(t + delay_min) (eq. 1, RFC 9438 4.4's "t + RTT" with
 *     the least RTT), t whole jiffies since the stage began; cnt = cwnd /
 *     (target - cwnd), 100 cwnd at or below cwnd. With no W_max (after a
 *     timeout) cnt is at most 20: 5% per RTT.
 *   - Reno-friendly (RFC 9438 4.3): W_est += 1 per (cwnd * 15) >> 3 acked
 *     segments; above cwnd it caps cnt at cwnd / (W_est - cwnd).
 *   - cnt >= 2: at most 1.5 cwnd per RTT (RFC 9438 4.4's "1.5 * cwnd"). */
static void cubic_update(struct tcp_cubic *c, uint32_t cwnd, uint32_t acked, uint64_t now_us)
{
	uint64_t now = cubic_jiffies(now_us);
	c->ack_cnt += acked;
	if (c->last_cwnd == cwnd && now - c->last_time <= CUBIC_RECALC_JIFFIES)
		return;
	if (!c->epoch_on || now != c->last_time) {
		c->last_cwnd = cwnd;
		c->last_time = now;
		if (!c->epoch_on) {
			c->epoch_on = 1;
			c->epoch_start = now;
			c->ack_cnt = acked;
			c->tcp_cwnd = cwnd;
			if (c->last_max_cwnd <= cwnd) {
				c->k = 0;
				c->origin = cwnd;
			} else {
				/* K^3 = (W_max - cwnd) / C in (1/1024 s)^3 */
				uint64_t f = (1ull << (3 * CUBIC_T_SHIFT + CUBIC_T_SHIFT)) / CUBIC_C_SCALED;
				c->k = cubic_root_u64(f * (c->last_max_cwnd - cwnd));
				c->origin = c->last_max_cwnd;
			}
		}
		uint64_t delay = (c->delay_min_us + CUBIC_JIFFY_US - 1) / CUBIC_JIFFY_US;
		uint64_t t = ((now - c->epoch_start + delay) << CUBIC_T_SHIFT) / CUBIC_HZ;
		uint64_t offs = t < c->k ? c->k - t : t - c->k;
		uint64_t delta = (CUBIC_C_SCALED * offs * offs * offs) >> (CUBIC_T_SHIFT + 3 * CUBIC_T_SHIFT);
		uint64_t target;
		if (t < c->k)
			target = delta < c->origin ? c->origin - delta : 0;
		else
			target = c->origin + delta;
		if (target > cwnd)
			c->cnt = (uint32_t)(cwnd / (target - cwnd));
		else
			c->cnt = 100 * cwnd;
		if (c->last_max_cwnd == 0 && c->cnt > 20)
			c->cnt = 20;
	}
	uint32_t d = (cwnd * CUBIC_RENO_SCALE) >> 3;
	if (d && c->ack_cnt > d) {
		uint32_t n = (c->ack_cnt - 1) / d;
		c->ack_cnt -= n * d;
		c->tcp_cwnd += n;
	}
	if (c->tcp_cwnd > cwnd) {
		uint32_t max_cnt = cwnd / (c->tcp_cwnd - cwnd);
		if (c->cnt > max_cnt)
			c->cnt = max_cnt;
	}
	if (c->cnt < 2)
		c->cnt = 2;
}

/* Slow start below ssthresh (RFC 9438 4.10; HyStart++'s CSS at a quarter).
 * Above it, the segments acked count towards cwnd + 1 every c->cnt of them
 * (Linux's tcp_cong_avoid_ai): a count gathered under a larger cnt is
 * spent at once when cnt falls. cwnd stays in bytes; CUBIC counts it and
 * the ACKs in whole segments as Linux does (bytes short of a segment wait
 * for the next ACK). This is RFC 9438 4.4's "(target - cwnd) / cwnd" per
 * segment in whole steps. */
static void cubic_cong_avoid(struct stack *st, struct tcb *t, uint32_t acked)
{
	struct tcp_cubic *c = &t->cc.cubic;
	if (t->cwnd < t->ssthresh) {
		/* RFC 9406 4.2, in CSS: "cwnd = cwnd + (min(N, L * SMSS) /
		 * CSS_GROWTH_DIVISOR)" */
		if (c->hs_css) {
			t->cwnd += ss_increase(t, acked) / HS_CSS_GROWTH_DIVISOR;
			return;
		}
		acked = slow_start(t, acked);
		if (!acked)
			return;
	}
	c->acked_part += acked;
	uint32_t segs = c->acked_part / t->mss;
	c->acked_part -= segs * t->mss;
	if (!segs)
		return;
	cubic_update(c, t->cwnd / t->mss, segs, st->now_us);
	if (c->cwnd_cnt >= c->cnt) {
		c->cwnd_cnt = 0;
		t->cwnd += t->mss;
	}
	c->cwnd_cnt += segs;
	if (c->cwnd_cnt >= c->cnt) {
		uint32_t n = c->cwnd_cnt / c->cnt;
		c->cwnd_cnt -= n * c->cnt;
		t->cwnd += n * t->mss;
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
