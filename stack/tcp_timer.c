/* TCP timers: absolute deadlines per TCB (0 = off), a list of the TCBs that
 * have one armed, and the cached earliest deadline that stack_poll and the
 * engine ask for. No callbacks: tcp_timer() looks at what is due and acts.
 *
 * The cache may be early (a timer was stopped or moved later since), never
 * late: tcp_next_deadline() is then just a spurious wake-up, after which
 * tcp_timer() recomputes it exactly from the armed list. */
#include <errno.h>
#include "stack_impl.h"
#include "tcp_seq.h"

/* Take t off the list of TCBs with an armed timer. */
static void tlist_unlink(struct stack *st, struct tcb *t)
{
	struct tcp_ctx *c = &st->tcp;
	if (!t->on_tlist)
		return;
	if (t->tprev >= 0)
		c->tcb[t->tprev].tnext = t->tnext;
	else
		c->tlist = t->tnext;
	if (t->tnext >= 0)
		c->tcb[t->tnext].tprev = t->tprev;
	t->on_tlist = 0;
	t->tnext = t->tprev = -1;
}

/* Arm (at != 0) or stop (at == 0) timer id of t. */
void tcp_timer_set(struct stack *st, struct tcb *t, int id, uint64_t at)
{
	struct tcp_ctx *c = &st->tcp;
	t->timer[id] = at;
	if (!at)
		return;
	if (!t->on_tlist) {
		int i = (int)(t - c->tcb);
		t->tprev = -1;
		t->tnext = c->tlist;
		if (c->tlist >= 0)
			c->tcb[c->tlist].tprev = i;
		c->tlist = i;
		t->on_tlist = 1;
	}
	if (!c->next_deadline || at < c->next_deadline)
		c->next_deadline = at;
}

/* Stop every timer of t and take it off the armed list (TCB going away). */
void tcp_timers_clear(struct stack *st, struct tcb *t)
{
	for (int i = 0; i < TCP_T_MAX; i++)
		t->timer[i] = 0;
	tlist_unlink(st, t);
}

/* RFC 6298 2.2-2.3: the RTO from a new measurement R (microseconds).
 * "When the first RTT measurement R is made, the host MUST set
 *  SRTT <- R, RTTVAR <- R/2, RTO <- SRTT + max (G, K*RTTVAR)";
 * later ones: "RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
 *  SRTT <- (1 - alpha) * SRTT + alpha * R'" with alpha 1/8, beta 1/4, K = 4
 * and G = 1 us (our clock). Clamped to [200 ms (Linux's minimum; RFC 6298
 * 2.4 says 1 s), 120 s] (RFC 6298 2.5 allows a maximum of at least 60 s). */
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
}

/* RTO <- SRTT + max (G, K*RTTVAR), within [TCP_RTO_MIN_US, TCP_RTO_MAX_US]. */
void tcp_rto_calc(struct tcb *t)
{
	uint64_t k = 4 * t->rttvar;
	uint64_t rto = t->srtt + (k > 1 ? k : 1);
	if (rto < TCP_RTO_MIN_US)
		rto = TCP_RTO_MIN_US;
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

/* After input or output in a synchronized state: which of REXMT and PERSIST
 * should run. Zero window with data left: persist (RFC 9293 3.8.6.1: "The
 * sending TCP must regularly transmit at least one octet of new data (if
 * available), or retransmit to the receiver at least one octet") and bytes
 * beyond the closed window count as not sent. Otherwise anything
 * unacknowledged (data, FIN): RFC 6298 5.1 "Every time a packet containing
 * data is sent (including a retransmission), if the timer is not running,
 * start it running". Nothing outstanding: 5.2 "turn off the retransmission
 * timer". */
void tcp_timers_update(struct stack *st, struct tcb *t)
{
	if (!tcp_synced(t->state) || t->state == TCP_TIME_WAIT)
		return;
	uint32_t end = tcp_snd_end(t);
	if (t->snd.wnd == 0 && seq_lt(t->snd.una, end)) {
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
		unsigned max = t->passive ? TCP_SYNACK_RETRIES : TCP_SYN_RETRIES;
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
	t->recover = t->snd_max;        /* RFC 6582 4 / RFC 6675 5.1 (after a timeout) */
	tcp_sack_clear(t);              /* RFC 2018 8: the receiver may have reneged */
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

/* Run every timer due at st->now_us, then recompute the cached deadline. */
void tcp_timer(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	uint64_t now = st->now_us;
	int i = c->tlist;
	while (i >= 0) {
		struct tcb *t = &c->tcb[i];
		int next = t->tnext;
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
			case TCP_T_CORK:
				/* the ceiling on TCP_CORK: what is held goes out now */
				t->cork_push = 1;
				tcp_output(st, t);
				t->cork_push = 0;
				tcp_timers_update(st, t);
				break;
			}
		}
		if (t->in_use)
			TCP_CHECK(st, t);
		i = next;
	}
	/* Exact recomputation; TCBs with nothing armed leave the list. */
	uint64_t min = 0;
	i = c->tlist;
	while (i >= 0) {
		struct tcb *t = &c->tcb[i];
		int next = t->tnext;
		int armed = 0;
		for (int id = 0; id < TCP_T_MAX; id++) {
			if (!t->timer[id])
				continue;
			armed = 1;
			if (!min || t->timer[id] < min)
				min = t->timer[id];
		}
		if (!armed)
			tlist_unlink(st, t);
		i = next;
	}
	c->next_deadline = min;
	TCP_CHECK_ALL(st);
}

/* The earliest armed TCP timer (cached: O(1)), 0 if none. */
uint64_t tcp_next_deadline(const struct stack *st)
{
	return st->tcp.next_deadline;
}
