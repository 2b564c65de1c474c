/* TCP timers: absolute deadlines per TCB (0 = off), and a binary min-heap
 * of the TCBs that have one armed, keyed by their earliest (hkey). No
 * callbacks: tcp_timer() pops what is due and acts. Arming, stopping and
 * moving a timer cost O(log n) and keep the key exact: a connection-churning
 * load keeps thousands of TIME-WAIT TCBs armed for 2MSL, where a pass over
 * all of them per expiry was the cost of every timer, and a key left early
 * by a stopped retransmission timer woke the engine for nothing. */
#include <errno.h>
#include "stack_impl.h"
#include "tcp_seq.h"

static uint64_t hkey_at(const struct tcp_ctx *c, unsigned pos)
{
	return c->tcb[c->theap[pos]].hkey;
}

static void heap_put(struct tcp_ctx *c, unsigned pos, int i)
{
	c->theap[pos] = i;
	c->tcb[i].hpos = (int)pos;
}

static void heap_up(struct tcp_ctx *c, unsigned pos)
{
	int i = c->theap[pos];
	uint64_t k = c->tcb[i].hkey;
	while (pos > 0) {
		unsigned up = (pos - 1) / 2;
		if (hkey_at(c, up) <= k)
			break;
		heap_put(c, pos, c->theap[up]);
		pos = up;
	}
	heap_put(c, pos, i);
}

static void heap_down(struct tcp_ctx *c, unsigned pos)
{
	int i = c->theap[pos];
	uint64_t k = c->tcb[i].hkey;
	for (;;) {
		unsigned l = 2 * pos + 1, m;
		if (l >= c->theap_n)
			break;
		m = l + 1 < c->theap_n && hkey_at(c, l + 1) < hkey_at(c, l) ? l + 1 : l;
		if (hkey_at(c, m) >= k)
			break;
		heap_put(c, pos, c->theap[m]);
		pos = m;
	}
	heap_put(c, pos, i);
}

/* Take t out of the heap. */
static void heap_remove(struct tcp_ctx *c, struct tcb *t)
{
	if (t->hpos < 0)
		return;
	unsigned pos = (unsigned)t->hpos;
	unsigned last = --c->theap_n;
	t->hpos = -1;
	if (pos == last)
		return;
	heap_put(c, pos, c->theap[last]);
	if (pos > 0 && hkey_at(c, pos) < hkey_at(c, (pos - 1) / 2))
		heap_up(c, pos);
	else
		heap_down(c, pos);
}

/* Put t in the heap with key k, or move it there. */
static void heap_set(struct tcp_ctx *c, struct tcb *t, uint64_t k)
{
	if (t->hpos < 0) {
		t->hkey = k;
		heap_put(c, c->theap_n++, (int)(t - c->tcb));
		heap_up(c, (unsigned)t->hpos);
		return;
	}
	uint64_t old = t->hkey;
	t->hkey = k;
	if (k < old)
		heap_up(c, (unsigned)t->hpos);
	else if (k > old)
		heap_down(c, (unsigned)t->hpos);
}

/* The earliest armed timer of t, 0 if none. */
static uint64_t tcb_first_timer(const struct tcb *t)
{
	uint64_t min = 0;
	for (int id = 0; id < TCP_T_MAX; id++)
		if (t->timer[id] && (!min || t->timer[id] < min))
			min = t->timer[id];
	return min;
}

/* Arm (at != 0) or stop (at == 0) timer id of t. */
void tcp_timer_set(struct stack *st, struct tcb *t, int id, uint64_t at)
{
	if (t->timer[id] == at)
		return;
	t->timer[id] = at;
	uint64_t k = tcb_first_timer(t);
	if (k)
		heap_set(&st->tcp, t, k);
	else
		heap_remove(&st->tcp, t);
}

/* Stop every timer of t and take it out of the heap (TCB going away). */
void tcp_timers_clear(struct stack *st, struct tcb *t)
{
	for (int i = 0; i < TCP_T_MAX; i++)
		t->timer[i] = 0;
	heap_remove(&st->tcp, t);
}

/* RFC 6298 2.2-2.3: the RTO from a new measurement R (microseconds).
 * "When the first RTT measurement R is made, the host MUST set
 *  SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)";
 * later ones: "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
 *  SRTT <- (1 - alpha) * SRTT + alpha * R'" with alpha 1/8, beta 1/4, K = 4.
 * tcp_rto_calc() gives the RTO. */
void tcp_rtt_sample(struct tcb *t, uint64_t r)
{
	if (!t->srtt) {
		t->srtt = r ? r : 1;
		t->rttvar = r / 2;
	} else {
		uint64_t d = t->srtt > r ? t->srtt - r : r - t->srtt;
		t->rttvar = (3 * t->rttvar + d) / 4;
		t->srtt = (7 * t->srtt + r) / 8;
		if (!t->srtt)
			t->srtt = 1;
	}
	tcp_rto_calc(t);
	t->tlp_rtt_wait = 0;            /* a probe may go again (RFC 8985 7.3) */
}

/* RFC 6298 2.3: "RTO <- SRTT + max (G, K*RTTVAR)", with G = TCP_RTO_MIN_US
 * (200 ms, Linux's minimum; RFC 6298 2.4 "SHOULD be rounded up to 1 second"
 * is the conservative choice we do not take, as Linux does not), then at
 * most TCP_RTO_MAX_US (2.5: a maximum of at least 60 s). The minimum goes
 * into the variance term, not around the sum: the RTO then never fires
 * within 200 ms of the ACK expected after SRTT, however small RTTVAR has
 * become at a steady RTT. Linux's RTO is the same rule (tcp_rtt_estimator
 * keeps its variance term at least tcp_rto_min; __tcp_set_rto adds SRTT). */
void tcp_rto_calc(struct tcb *t)
{
	uint64_t k = 4 * t->rttvar;
	uint64_t rto = t->srtt + (k > TCP_RTO_MIN_US ? k : TCP_RTO_MIN_US);
	if (rto > TCP_RTO_MAX_US)
		rto = TCP_RTO_MAX_US;
	t->rto = rto;
}

/* Restart the keepalive idle timer: something arrived from the peer. */
void tcp_keep_reset(struct stack *st, struct tcb *t)
{
	t->keep_probes = 0;
	if (t->opt_keepalive && tcp_synced(t->state) && t->state != TCP_TIME_WAIT)
		tcp_timer_set(st, t, TCP_T_KEEP, st->now_us + (uint64_t)t->keepidle_s * 1000000);
	else if (t->timer[TCP_T_KEEP])
		tcp_timer_set(st, t, TCP_T_KEEP, 0);
}

/* Sender SWS avoidance (tcp_output) holds the data with nothing in flight:
 * the window is open but smaller than a segment, than what is queued and
 * than half the largest window. Nothing would send it but the override
 * timeout of RFC 1122 4.2.3.4, the persist timer here. */
static int sws_held(const struct tcb *t, uint32_t end)
{
	if (t->snd.wnd == 0 || t->snd_max != t->snd.una || !seq_lt(t->snd.una, end))
		return 0;
	uint32_t w = t->snd.wnd;
	return w < t->mss && w < end - t->snd.una && w < t->max_snd_wnd / 2;
}

/* After input or output in a synchronized state: which of REXMT and PERSIST
 * should run. Zero window with data left: persist (RFC 9293 3.8.6.1: "The
 * sending TCP must regularly transmit at least one octet of new data (if
 * available), or retransmit to the receiver at least one octet") and bytes
 * beyond the closed window count as not sent. Otherwise anything
 * unacknowledged (data, FIN): RFC 6298 5.1 "Every time a packet containing
 * data is sent (including a retransmission), if the timer is not running,
 * start it running". Nothing outstanding: 5.2 "turn off the retransmission
 * timer". */
static void rexmt_persist_update(struct stack *st, struct tcb *t)
{
	uint32_t end = tcp_snd_end(t);
	if ((t->snd.wnd == 0 && seq_lt(t->snd.una, end)) || sws_held(t, end)) {
		if (!t->timer[TCP_T_PERSIST]) {
			t->snd.nxt = t->snd.una;
			t->persist_iv = t->rto;
			t->zwp_unanswered = 0;
			tcp_timer_set(st, t, TCP_T_PERSIST, st->now_us + t->persist_iv);
		}
		if (t->timer[TCP_T_REXMT])
			tcp_timer_set(st, t, TCP_T_REXMT, 0);
		return;
	}
	if (t->timer[TCP_T_PERSIST])
		tcp_timer_set(st, t, TCP_T_PERSIST, 0);
	if (t->snd_max != t->snd.una) {
		if (!t->timer[TCP_T_REXMT])
			tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
	} else if (t->xmit_nobufs) {
		/* the packet pool ran dry before anything went out: nothing
		 * would call tcp_output again, so retry soon (Linux arms its
		 * probe timer for the same reason, tcp_check_probe_timer) */
		if (!t->timer[TCP_T_REXMT])
			tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + TCP_NOBUFS_RETRY_US);
	} else if (t->timer[TCP_T_REXMT]) {
		tcp_timer_set(st, t, TCP_T_REXMT, 0);
	}
}

/* After input or output in a synchronized state: REXMT or PERSIST, then
 * the tail loss probe that goes with the RTO (tcp_sack.c). */
void tcp_timers_update(struct stack *st, struct tcb *t)
{
	if (!tcp_synced(t->state) || t->state == TCP_TIME_WAIT)
		return;
	rexmt_persist_update(st, t);
	tcp_tlp_update(st, t);
}

/* RFC 6298 5.5: "The host MUST set RTO <- RTO * 2", within TCP_RTO_MAX_US. */
static void rto_backoff(struct tcb *t)
{
	t->rto *= 2;
	if (t->rto > TCP_RTO_MAX_US)
		t->rto = TCP_RTO_MAX_US;
}

/* REXMT expired. SYN-SENT / SYN-RECEIVED: resend the SYN (SYN-ACK) with a
 * doubled RTO, give up after TCP_SYN_RETRIES (TCP_SYNACK_RETRIES for a
 * listener's child). Synchronized: RFC 6298 5.4-5.6: "Retransmit the
 * earliest segment that has not been acknowledged", "The host MUST set RTO
 * <- RTO * 2 ("back off the timer")", "Start the retransmission timer";
 * RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS), cwnd = 1 SMSS
 * (loss window). We go back to snd.una and resend from the ring in order.
 * After TCP_RETRIES2 retransmissions the connection fails with ETIMEDOUT. */
static void tcp_rexmt_fire(struct stack *st, struct tcb *t)
{
	if (tcp_synced(t->state) && t->snd_max == t->snd.una) {
		/* nothing outstanding: the retry after the pool ran dry
		 * (tcp_timers_update), not a loss; no backoff */
		tcp_output(st, t);
		tcp_timers_update(st, t);
		return;
	}
	t->retries++;
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED) {
		/* TCP_SYNCNT overrides tcp_syn_retries for our own SYNs */
		unsigned max = t->passive ? TCP_SYNACK_RETRIES
					  : t->so.syncnt ? (unsigned)t->so.syncnt : TCP_SYN_RETRIES;
		if (t->retries > max) {
			st->stat.tcp_timeout++;
			tcp_done(st, t, ETIMEDOUT);
			return;
		}
		rto_backoff(t);
		st->stat.tcp_syn_retrans++;
		t->total_retrans++;     /* TCP_INFO */
		tcp_send_syn(st, t);
		return;
	}
	if (t->retries > TCP_RETRIES2) {
		st->stat.tcp_timeout++;
		tcp_done(st, t, ETIMEDOUT);
		return;
	}
	st->stat.tcp_rto++;
	rto_backoff(t);
	/* The algorithm's ssthresh on the first timeout of a loss episode
	 * only: in recovery it was reduced already, and a backed-off timeout
	 * of the same data is no new congestion signal (Linux tcp_enter_loss) */
	if (t->retries == 1 && !t->in_recovery)
		t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->mss;
	t->ca_acked = 0;
	t->in_recovery = 0;
	t->dupacks = 0;
	t->tlp_out = 0;                 /* the timeout ends the probe's episode */
	if (t->timer[TCP_T_PTO])
		tcp_timer_set(st, t, TCP_T_PTO, 0);
	t->recover = t->snd_max;        /* RFC 6582 4 / RFC 6675 5.1 (after a timeout) */
	tcp_sack_clear(t);              /* RFC 2018 8: the receiver may have reneged */
	tcp_rack_rto(st, t);            /* all is resent in order: nothing stays marked lost */
	tcp_cc(t)->on_rto(st, t);
	t->rtt_on = 0;                  /* Karn: no sample from resent data */
	t->snd.nxt = t->snd.una;
	tcp_output(st, t);
	tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
}

/* PERSIST expired: send one octet at snd.una (new if never sent, else the
 * same octet again) to learn whether the window opened; back off like the
 * RTO. Give up after TCP_RETRIES2 probes nobody answered. */
static void tcp_persist_fire(struct stack *st, struct tcb *t)
{
	uint32_t end = tcp_snd_end(t);
	if (sws_held(t, end)) {
		/* RFC 1122 4.2.3.4 (d), the override timeout: what the small
		 * window takes goes now, with PSH (as Linux's tcp_write_wakeup) */
		uint32_t n = t->snd.wnd;
		st->stat.tcp_zwp_tx++;
		tcp_xmit(st, t, t->snd.una, n, TCP_ACK | TCP_PSH);
		t->snd.nxt = seq_max(t->snd.nxt, t->snd.una + n);
		t->snd_max = seq_max(t->snd_max, t->snd.una + n);
		tcp_timers_update(st, t);
		return;
	}
	if (t->snd.wnd != 0 || !seq_lt(t->snd.una, end)) {
		tcp_timers_update(st, t);
		return;
	}
	if (t->zwp_unanswered >= TCP_RETRIES2) {
		st->stat.tcp_timeout++;
		tcp_done(st, t, ETIMEDOUT);
		return;
	}
	t->zwp_unanswered++;
	st->stat.tcp_zwp_tx++;
	uint8_t flags = TCP_ACK;
	if (t->snd.una + 1 == end)
		flags |= TCP_PSH | (t->fin_queued ? TCP_FIN : 0);
	tcp_xmit(st, t, t->snd.una, 1, flags);
	uint32_t nxt = t->snd.una + 1 + !!(flags & TCP_FIN);
	t->snd.nxt = seq_max(t->snd.nxt, nxt);
	t->snd_max = seq_max(t->snd_max, nxt);
	t->persist_iv *= 2;
	if (t->persist_iv > TCP_RTO_MAX_US)
		t->persist_iv = TCP_RTO_MAX_US;
	tcp_timer_set(st, t, TCP_T_PERSIST, st->now_us + t->persist_iv);
}

/* KEEP expired. RFC 1122 4.2.3.6: keep-alives only when nothing else is
 * outstanding; after keepcnt unanswered probes the connection is dead. */
static void tcp_keep_fire(struct stack *st, struct tcb *t)
{
	if (!t->opt_keepalive || !tcp_synced(t->state) || t->state == TCP_TIME_WAIT)
		return;
	if (t->snd_max != t->snd.una || t->sndbuf.len) {
		tcp_timer_set(st, t, TCP_T_KEEP, st->now_us + (uint64_t)t->keepidle_s * 1000000);
		return;
	}
	if (t->keep_probes >= (unsigned)t->keepcnt) {
		st->stat.tcp_timeout++;
		tcp_done(st, t, ETIMEDOUT);
		return;
	}
	t->keep_probes++;
	tcp_send_probe(st, t);
	tcp_timer_set(st, t, TCP_T_KEEP, st->now_us + (uint64_t)t->keepintvl_s * 1000000);
}

/* 2MSL expired: TIME-WAIT is over (RFC 9293 3.10.8: "If the time-wait
 * timeout expires on a connection, delete the TCB"), or a FIN-WAIT-2 orphan
 * waited TCP_FIN_TIMEOUT_US for the peer's FIN (Linux tcp_fin_timeout). */
static void tcp_2msl_fire(struct stack *st, struct tcb *t)
{
	if (t->state == TCP_TIME_WAIT || (t->state == TCP_FIN_WAIT_2 && t->orphan))
		tcp_done(st, t, 0);
}

/* Run the timers of t that are due at st->now_us. */
static void tcb_run_timers(struct stack *st, struct tcb *t)
{
	uint64_t now = st->now_us;
	/* the PTO first: capped at the RTO's deadline, it goes in its place
	 * and re-arms the RTO (RFC 8985 7.3) */
	if (t->timer[TCP_T_PTO] && t->timer[TCP_T_PTO] <= now) {
		t->timer[TCP_T_PTO] = 0;
		tcp_tlp_fire(st, t);
	}
	for (int id = 0; id < TCP_T_MAX && t->in_use; id++) {
		if (!t->timer[id] || t->timer[id] > now)
			continue;
		t->timer[id] = 0;
		switch (id) {
		case TCP_T_REXMT:
			tcp_rexmt_fire(st, t);
			break;
		case TCP_T_PERSIST:
			tcp_persist_fire(st, t);
			break;
		case TCP_T_KEEP:
			tcp_keep_fire(st, t);
			break;
		case TCP_T_2MSL:
			tcp_2msl_fire(st, t);
			break;
		case TCP_T_DELACK:
			if (tcp_synced(t->state))
				tcp_send_ack(st, t);
			break;
		case TCP_T_MEM:
			tcp_mem_timer(st, t);
			break;
		case TCP_T_PTO:
			tcp_tlp_fire(st, t);
			break;
		case TCP_T_REO:
			tcp_rack_fire(st, t);
			break;
		case TCP_T_CORK:
			/* the ceiling on TCP_CORK (and MSG_MORE): what is held goes
			 * out now, pushed (Linux's probe timer: tcp_write_wakeup
			 * sets PSH) */
			t->cork_push = 1;
			t->snd_more = 0;
			tcp_output(st, t);
			t->cork_push = 0;
			tcp_timers_update(st, t);
			break;
		}
	}
}

/* Run every timer due at st->now_us: take the TCBs whose key is due, run
 * what is due of theirs, and put each back with its exact key (out of the
 * heap when nothing is armed). Bounded by the heap's size at the start: a
 * timer armed at or before now by one that fired waits for the next call,
 * as it did when this was a list walk. */
void tcp_timer(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	uint64_t now = st->now_us;
	unsigned budget = c->theap_n;
	while (budget-- > 0 && c->theap_n && hkey_at(c, 0) <= now) {
		struct tcb *t = &c->tcb[c->theap[0]];
		tcb_run_timers(st, t);
		if (!t->in_use)
			continue;       /* freed: out of the heap already */
		uint64_t k = tcb_first_timer(t);
		if (k)
			heap_set(c, t, k);
		else
			heap_remove(c, t);
		TCP_CHECK(st, t);
	}
	TCP_CHECK_ALL(st);
}

/* The earliest armed TCP timer (the heap's top key: O(1)), 0 if none. */
uint64_t tcp_next_deadline(const struct stack *st)
{
	return st->tcp.theap_n ? st->tcp.tcb[st->tcp.theap[0]].hkey : 0;
}
