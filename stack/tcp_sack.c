/* Selective acknowledgments: the blocks we report as a receiver (RFC 2018,
 * D-SACK of RFC 2883) and, as a sender, the scoreboard of SACKed ranges
 * and the SACK-based loss recovery of RFC 6675.
 *
 * The scoreboard is a fixed array of sorted, disjoint ranges in
 * (snd.una, snd_max], merged as blocks arrive: no per-packet state. Loss
 * recovery works on octets, as RFC 6675 does: since IsLost() only grows
 * towards lower sequence numbers, "lost" is everything unSACKed below one
 * edge (sack_lost_edge), and pipe is computed from the ranges in one pass.
 * Peers without SACK keep NewReno (RFC 6582, tcp_in.c). */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

/* ---- receiver: the blocks of our ACKs ------------------------------------ */

/* The out-of-order range holding seq, or -1. */
static int ooo_find(const struct tcb *t, uint32_t seq)
{
	for (unsigned i = 0; i < t->n_ooo; i++)
		if (seq_geq(seq, t->ooo[i].start) && seq_lt(seq, t->ooo[i].end))
			return (int)i;
	return -1;
}

/* Out-of-order data starting at seq was just queued: its block becomes the
 * first one we report (RFC 2018 4: "The first SACK block ... MUST specify
 * the contiguous block of data containing the segment which triggered
 * this ACK"). Entries of the same (merged) range or of a delivered one go. */
void tcp_sack_rcv_note(struct tcb *t, uint32_t seq)
{
	if (!t->sack_ok)
		return;
	int r = ooo_find(t, seq);
	uint32_t keep[TCP_SACK_RCV_MAX];
	unsigned n = 0;
	keep[n++] = seq;
	for (unsigned i = 0; i < t->n_sack_recent && n < TCP_SACK_RCV_MAX; i++) {
		int ri = ooo_find(t, t->sack_recent[i]);
		if (ri >= 0 && ri != r)
			keep[n++] = t->sack_recent[i];
	}
	memcpy(t->sack_recent, keep, n * sizeof(keep[0]));
	t->n_sack_recent = (uint8_t)n;
}

/* Up to max SACK blocks for the ACK being built: a pending D-SACK first
 * (RFC 2883 4: "the first SACK block ... MUST specify the duplicate
 * segment"; reported once), then the ranges of the latest arrivals, most
 * recent first (RFC 2018 4: "SHOULD be filled out by repeating the most
 * recently reported SACK blocks"), then any other range, lowest first.
 * Returns the count. */
unsigned tcp_sack_blocks(struct tcb *t, struct tcp_range *out, unsigned max)
{
	unsigned n = 0;
	uint32_t used = 0;              /* ooo[] ranges already reported */
	if (max > TCP_SACK_RCV_MAX)
		max = TCP_SACK_RCV_MAX;
	if (t->dsack && n < max) {
		out[n].start = t->dsack_start;
		out[n].end = t->dsack_end;
		n++;
		t->dsack = 0;
	}
	for (unsigned i = 0; i < t->n_sack_recent && n < max; i++) {
		int r = ooo_find(t, t->sack_recent[i]);
		if (r < 0 || (used & (1u << r)))
			continue;
		used |= 1u << r;
		out[n++] = t->ooo[r];
	}
	for (unsigned r = 0; r < t->n_ooo && n < max; r++) {
		if (used & (1u << r))
			continue;
		used |= 1u << r;
		out[n++] = t->ooo[r];
	}
	return n;
}

/* ---- sender: the scoreboard ---------------------------------------------- */

/* Forget what snd.una now covers. */
static void sb_prune(struct tcb *t)
{
	unsigned i = 0;
	while (i < t->n_sacked && seq_leq(t->sacked[i].end, t->snd.una))
		i++;
	if (i) {
		memmove(&t->sacked[0], &t->sacked[i], (t->n_sacked - i) * sizeof(t->sacked[0]));
		t->n_sacked = (uint8_t)(t->n_sacked - i);
	}
	if (t->n_sacked && seq_lt(t->sacked[0].start, t->snd.una))
		t->sacked[0].start = t->snd.una;
}

static void sb_sum(struct tcb *t)
{
	uint32_t b = 0;
	for (unsigned i = 0; i < t->n_sacked; i++)
		b += t->sacked[i].end - t->sacked[i].start;
	t->sacked_bytes = b;
}

/* Add [s, e) to the scoreboard, merging with what it touches. A full
 * scoreboard drops its highest range to make room (the holes near snd.una
 * matter most); returns -1 then, so it is counted. */
static int sb_add(struct tcb *t, uint32_t s, uint32_t e)
{
	int full = 0;
	unsigned i = 0;
	while (i < t->n_sacked && seq_lt(t->sacked[i].end, s))
		i++;
	if (i < t->n_sacked && seq_leq(t->sacked[i].start, e)) {
		t->sacked[i].start = seq_min(t->sacked[i].start, s);
		t->sacked[i].end = seq_max(t->sacked[i].end, e);
		unsigned j = i + 1;
		while (j < t->n_sacked && seq_leq(t->sacked[j].start, t->sacked[i].end)) {
			t->sacked[i].end = seq_max(t->sacked[i].end, t->sacked[j].end);
			j++;
		}
		if (j > i + 1) {
			memmove(&t->sacked[i + 1], &t->sacked[j], (t->n_sacked - j) * sizeof(t->sacked[0]));
			t->n_sacked = (uint8_t)(t->n_sacked - (j - i - 1));
		}
		return 0;
	}
	if (t->n_sacked == TCP_SACK_SB_MAX) {
		full = 1;
		if (i == TCP_SACK_SB_MAX)
			return -1;      /* above all of them: the new one goes */
		t->n_sacked--;
	}
	memmove(&t->sacked[i + 1], &t->sacked[i], (t->n_sacked - i) * sizeof(t->sacked[0]));
	t->sacked[i].start = s;
	t->sacked[i].end = e;
	t->n_sacked++;
	return full ? -1 : 0;
}

/* RTO (RFC 2018 8: "After a retransmit timeout the data sender SHOULD turn
 * off all of the SACKed bits, since the timeout might indicate that the
 * data receiver has reneged"): everything unacknowledged counts as lost and
 * is resent from snd.una. */
void tcp_sack_clear(struct tcb *t)
{
	t->n_sacked = 0;
	t->sacked_bytes = 0;
	t->rescue_ok = 0;
	t->n_rxt = 0;
}

/* RFC 6675 4 IsLost(SeqNum): "returns true when either DupThresh
 * discontiguous SACKed sequences have arrived above 'SeqNum' or more than
 * (DupThresh - 1) * SMSS bytes with sequence numbers greater than 'SeqNum'
 * have been SACKed". IsLost only grows downwards, so this is an edge: the
 * unSACKed octets below it are lost. snd.una when none is. */
static uint32_t sack_lost_edge(const struct tcb *t)
{
	uint32_t bytes = 0;
	for (int i = (int)t->n_sacked - 1; i >= 0; i--) {
		bytes += t->sacked[i].end - t->sacked[i].start;
		if ((unsigned)(t->n_sacked - i) >= TCP_DUPTHRESH ||
		    bytes > (TCP_DUPTHRESH - 1) * (uint32_t)t->mss)
			return t->sacked[i].start;
	}
	return t->snd.una;
}

/* HighRxt as an exclusive edge, never below snd.una. */
static uint32_t sack_high_rxt(const struct tcb *t)
{
	return seq_gt(t->high_rxt, t->snd.una) ? t->high_rxt : t->snd.una;
}

/* RFC 6675 4 SetPipe(): over the unSACKed octets from HighACK to HighData,
 * one for each that is not lost, and one more for each at or below
 * HighRxt (retransmitted). */
uint32_t tcp_sack_pipe(const struct tcb *t)
{
	uint32_t edge = sack_lost_edge(t), hr = sack_high_rxt(t), pipe = 0;
	uint32_t a = t->snd.una;
	for (unsigned i = 0; i <= t->n_sacked; i++) {
		uint32_t b = i < t->n_sacked ? t->sacked[i].start : t->snd_max;
		if (seq_lt(a, b)) {
			uint32_t nl = seq_max(a, edge);
			if (seq_lt(nl, b))
				pipe += b - nl;
			uint32_t rx = seq_min(b, hr);
			if (seq_lt(a, rx))
				pipe += rx - a;
		}
		if (i < t->n_sacked)
			a = t->sacked[i].end;
	}
	return pipe;
}

/* UnSACKed octets IsLost() says are gone (TCP_INFO tcpi_lost). */
uint32_t tcp_sack_lost_bytes(const struct tcb *t)
{
	uint32_t edge = sack_lost_edge(t), lost = 0, a = t->snd.una;
	for (unsigned i = 0; i < t->n_sacked && seq_lt(a, edge); i++) {
		uint32_t b = seq_min(t->sacked[i].start, edge);
		if (seq_lt(a, b))
			lost += b - a;
		a = t->sacked[i].end;
	}
	return lost;
}

/* The first unSACKed sequence number at or after s, and the end of its
 * hole (the next SACKed range, or snd_max). */
static uint32_t sb_unsacked_from(const struct tcb *t, uint32_t s, uint32_t *hole_end)
{
	for (unsigned i = 0; i < t->n_sacked; i++) {
		if (seq_leq(t->sacked[i].end, s))
			continue;
		if (seq_lt(s, t->sacked[i].start)) {
			*hole_end = t->sacked[i].start;
			return s;
		}
		s = t->sacked[i].end;
	}
	*hole_end = t->snd_max;
	return s;
}

/* Resend [seq, seq+len) of the send ring (the FIN too when the range ends
 * at it and it was sent). Returns the sequence space sent, 0 if nothing. */
static uint32_t sack_rexmit(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len)
{
	uint32_t end = tcp_snd_end(t);
	uint8_t flags = TCP_ACK;
	if (seq_gt(seq, end))
		return 0;
	if (len > end - seq)
		len = end - seq;
	if (len > t->mss)
		len = t->mss;
	if (t->fin_queued && seq + len == end && seq_gt(t->snd_max, end))
		flags |= TCP_FIN;
	if (!len && !(flags & TCP_FIN))
		return 0;
	/* PSH on the segment that ends the data (RFC 9293 3.9.1 / RFC 1122
	 * 4.2.2.2); a FIN alone carries none, as Linux's */
	if (len && len == end - seq)
		flags |= TCP_PSH;
	if (tcp_xmit(st, t, seq, len, flags) < 0)
		return 0;
	st->stat.tcp_retrans++;
	st->stat.tcp_sack_rexmit++;
	return len + !!(flags & TCP_FIN);
}

/* Remember a retransmission at seq (made while snd_max was what it is). */
static void rxt_mark(struct tcb *t, uint32_t seq)
{
	for (unsigned i = 0; i < t->n_rxt; i++)
		if (t->rxt[i].start == seq) {
			t->rxt[i].end = t->snd_max;
			return;
		}
	if (t->n_rxt < TCP_RXT_MARKS) {
		t->rxt[t->n_rxt].start = seq;
		t->rxt[t->n_rxt].end = t->snd_max;
		t->n_rxt++;
	}
}

/* SACKed octets above x. */
static uint32_t sacked_above(const struct tcb *t, uint32_t x)
{
	uint32_t b = 0;
	for (unsigned i = 0; i < t->n_sacked; i++)
		if (seq_gt(t->sacked[i].end, x))
			b += t->sacked[i].end - seq_max(t->sacked[i].start, x);
	return b;
}

/* A retransmission lost again: not in RFC 6675, whose HighRxt never goes
 * back (only the timeout would resend it). When more than (DupThresh - 1)
 * SMSS of data sent after it (above the snd_max it left at) is SACKed, it
 * is lost as IsLost() counts (as Linux's tcp_mark_lost_retrans did before
 * RACK): the hole is resent once more. Returns its length, 0 if none. */
static uint32_t rxt_lost_again(struct tcb *t, uint32_t *seq)
{
	unsigned n = 0;
	uint32_t found = 0;
	for (unsigned i = 0; i < t->n_rxt; i++) {
		uint32_t hole_end, s = t->rxt[i].start;
		if (seq_lt(s, t->snd.una) || sb_unsacked_from(t, s, &hole_end) != s)
			continue;               /* acknowledged or SACKed: done */
		t->rxt[n++] = t->rxt[i];
		if (!found && seq_lt(s, hole_end) &&
		    sacked_above(t, t->rxt[i].end) > (TCP_DUPTHRESH - 1) * (uint32_t)t->mss) {
			*seq = s;
			found = hole_end - s;
		}
	}
	t->n_rxt = (uint8_t)n;
	return found;
}

enum { NS_NONE, NS_REXMT, NS_RESCUE, NS_NEW };

/* RFC 6675 4 NextSeg(): what to send next in loss recovery. */
static int sack_next_seg(const struct tcb *t, uint32_t *seq, uint32_t *len)
{
	uint32_t una = t->snd.una;
	uint32_t top = t->n_sacked ? t->sacked[t->n_sacked - 1].end : una;
	uint32_t hole_end, s = sb_unsacked_from(t, sack_high_rxt(t), &hole_end);
	/* (1) "the smallest unSACKed sequence number 'S2' that ... (1.a) is
	 * greater than HighRxt, (1.b) is less than the highest octet covered
	 * by any received SACK, (1.c) IsLost (S2) returns true" */
	if (seq_lt(s, top) && seq_lt(s, sack_lost_edge(t))) {
		*seq = s;
		*len = hole_end - s;
		return NS_REXMT;
	}
	/* (2) "available unsent data and the receiver's advertised window
	 * allows": tcp_output sends it, within cwnd - pipe */
	uint32_t end = tcp_snd_end(t);
	if ((seq_lt(t->snd_max, end) && seq_lt(t->snd_max, una + t->snd.wnd)) ||
	    (t->fin_queued && t->snd_max == end))
		return NS_NEW;
	/* (3) as (1) without (1.c) */
	if (seq_lt(s, top)) {
		*seq = s;
		*len = hole_end - s;
		return NS_REXMT;
	}
	/* (4) "a single "rescue" retransmission per entry into loss recovery.
	 * If HighACK is greater than RescueRxt (or RescueRxt is undefined),
	 * then one segment of upto SMSS octets that MUST include the highest
	 * outstanding unSACKed sequence number SHOULD be returned" */
	if (!t->rescue_ok || seq_gt(una, t->rescue_rxt)) {
		uint32_t hs, he;
		if (seq_lt(top, t->snd_max)) {
			hs = top;
			he = t->snd_max;
		} else {
			hs = t->n_sacked > 1 ? t->sacked[t->n_sacked - 2].end : una;
			he = t->sacked[t->n_sacked - 1].start;
		}
		/* not when that segment was resent already (it is below
		 * HighRxt, counted in pipe as such): only a tail nobody
		 * resent is rescued */
		if (seq_lt(hs, he) && seq_lt(sack_high_rxt(t), he)) {
			uint32_t end_data = seq_min(he, end);
			*seq = seq_lt(hs, end_data) && end_data - hs > t->mss ? end_data - t->mss : hs;
			*len = he - *seq;
			return NS_RESCUE;
		}
	}
	return NS_NONE;
}

/* The right edge for tcp_output's new data. Outside SACK loss recovery:
 * snd.una + min(snd.wnd, cwnd). In it, RFC 6675 5 step (C): "If cwnd - pipe
 * >= 1 SMSS, the sender SHOULD transmit one or more segments": holes that
 * NextSeg() picks are resent here (C.1, C.2: HighRxt follows), and new data
 * may then fill what is left of cwnd - pipe. */
uint32_t tcp_send_limit(struct stack *st, struct tcb *t)
{
	if (!(t->sack_ok && t->in_recovery)) {
		uint32_t cwnd = t->cwnd;
		/* RFC 3042 Limited Transmit: on the first two duplicate ACKs
		 * "a TCP sender SHOULD send a segment of previously unsent data
		 * ... [if] the receiver's advertised window allows, the total
		 * FlightSize would remain less than or equal to cwnd plus 2*SMSS,
		 * and that new data is available"; cwnd itself "MUST NOT be
		 * changed" (new data only: not while resending after a timeout) */
		if (!t->in_recovery && t->dupacks && t->snd.nxt == t->snd_max)
			cwnd += (t->dupacks < 2 ? t->dupacks : 2) * (uint32_t)t->mss;
		uint32_t wnd = t->snd.wnd < cwnd ? t->snd.wnd : cwnd;
		return t->snd.una + wnd;
	}
	for (unsigned guard = 0; guard < 4096; guard++) {
		uint32_t pipe = tcp_sack_pipe(t);
		if (pipe >= t->cwnd || t->cwnd - pipe < t->mss)
			break;
		uint32_t seq = 0, len = rxt_lost_again(t, &seq);
		if (len) {
			if (!sack_rexmit(st, t, seq, len))
				break;
			st->stat.tcp_sack_rexmit_again++;
			rxt_mark(t, seq);
			continue;
		}
		int r = sack_next_seg(t, &seq, &len);
		if (r == NS_NONE)
			break;
		if (r == NS_NEW) {
			uint32_t lim = t->snd.nxt + (t->cwnd - pipe);
			uint32_t wlim = t->snd.una + t->snd.wnd;
			return seq_lt(lim, wlim) ? lim : wlim;
		}
		uint32_t sent = sack_rexmit(st, t, seq, len);
		if (!sent)
			break;
		if (r == NS_RESCUE) {
			/* "RescueRxt set to RecoveryPoint. HighRxt MUST NOT be updated." */
			st->stat.tcp_sack_rescue++;
			t->rescue_ok = 1;
			t->rescue_rxt = t->recover - 1;
		} else {
			t->high_rxt = seq + sent;
			rxt_mark(t, seq);
		}
	}
	return t->snd.nxt;
}

/* Enter RFC 6675 loss recovery (5 step 4): "(4.1) RecoveryPoint = HighData
 * ... (4.2) ssthresh = cwnd = (FlightSize / 2)" -- the reduction is the
 * algorithm's (tcp_cc.c) -- "(4.3) Retransmit the first data segment
 * presumed dropped ... set both HighRxt and RescueRxt to the highest
 * sequence number in the retransmitted segment". (4.4-4.5) are
 * tcp_send_limit's, at tcp_output. */
static void sack_recovery_start(struct stack *st, struct tcb *t)
{
	st->stat.tcp_sack_recovery++;
	st->stat.tcp_fast_retrans++;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->cwnd = t->ssthresh;
	t->recover = t->snd_max;
	t->in_recovery = 1;
	t->rtt_on = 0;                  /* Karn */
	t->n_rxt = 0;
	uint32_t hole_end;
	uint32_t s = sb_unsacked_from(t, t->snd.una, &hole_end);
	uint32_t sent = sack_rexmit(st, t, s, hole_end - s);
	t->high_rxt = s + sent;
	t->rescue_rxt = s + (sent ? sent - 1 : 0);
	if (sent)
		rxt_mark(t, s);
	t->rescue_ok = 1;
	t->tlp_out = 0;                 /* recovery repairs the tail now */
	tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
}

/* RFC 6675 5 (A): "An incoming cumulative ACK for a sequence number greater
 * than RecoveryPoint signals the end of loss recovery". cwnd goes to
 * ssthresh (RFC 5681 3.2 step 6, the window the reduction chose). The
 * scoreboard above snd.una stays ("SHOULD NOT be cleared"). */
void tcp_sack_recovery_end(struct stack *st, struct tcb *t)
{
	(void)st;
	t->in_recovery = 0;
	t->dupacks = 0;
	t->n_rxt = 0;
	t->cwnd = t->ssthresh;
}

/* ---- small flights: Early Retransmit and the tail loss probe ----------- */

/* The duplicate ACK threshold. RFC 5827 3.1 (Early Retransmit): when "the
 * amount of outstanding data (ownd) is less than 4*SMSS bytes" and "there is
 * either no unsent data ready for transmission at the sender, or the
 * advertised receive window does not permit new segments to be transmitted",
 * ER_thresh = oseq - 1 with oseq the outstanding segments: a flight too
 * small to produce DupThresh duplicate ACKs is repaired without the RTO.
 * Segments are counted in SMSS (a FIN takes none). */
unsigned tcp_dupthresh(const struct tcb *t)
{
	uint32_t end = tcp_snd_end(t);
	uint32_t data_max = seq_gt(t->snd_max, end) ? end : t->snd_max;
	uint32_t oseq = (data_max - t->snd.una + t->mss - 1) / t->mss;
	if (oseq < 2 || oseq >= 4)
		return TCP_DUPTHRESH;
	if (seq_lt(t->snd_max, end) && seq_lt(t->snd_max, t->snd.una + t->snd.wnd))
		return TCP_DUPTHRESH;   /* new data can go: no ER */
	return oseq - 1;
}

/* RFC 8985 7.2: "If SRTT is available: PTO = 2*SRTT; if FlightSize is one
 * segment, PTO += WCDelAckT" (the peer may delay its ACK of a lone
 * segment); "Else PTO = 1 sec". Floored at TCP_PTO_MIN_US (timer slack). */
static uint64_t tlp_pto(const struct tcb *t)
{
	if (!t->srtt)
		return TCP_PTO_INIT_US;
	uint64_t pto = 2 * t->srtt;
	if (t->snd_max - t->snd.una <= t->mss)
		pto += TCP_WCDELACK_US;
	return pto < TCP_PTO_MIN_US ? TCP_PTO_MIN_US : pto;
}

/* A probe may be scheduled: RFC 8985 7.2, "unless it is already in fast
 * recovery, RTO recovery, or the sender has sent the loss probe but has not
 * yet received an acknowledgment for it"; only with SACK (7: "TLP ... SHOULD
 * only be used if SACK is negotiated", the probe's ACK must tell what was
 * lost); data outstanding, the window open (else persist), the RTO armed. */
static int tlp_allowed(const struct tcb *t)
{
	return t->sack_ok && tcp_synced(t->state) && t->state != TCP_TIME_WAIT &&
	       !t->in_recovery && !t->retries && seq_geq(t->snd.una, t->recover) &&
	       !t->tlp_out && !t->tlp_rtt_wait && t->snd_max != t->snd.una &&
	       t->snd.wnd != 0 && t->timer[TCP_T_REXMT];
}

/* After input or output (tcp_timers_update): arm the PTO when a probe may
 * go and none is scheduled, restart it when new data was sent or
 * acknowledged (7.2: "after transmitting new data ... or upon receiving an
 * ACK that cumulatively acknowledges new data"), stop it otherwise. It
 * never fires after the RTO would: "If Now() + PTO > TCP_RTO_expiration():
 * PTO = TCP_RTO_expiration() - Now()" (a probe then goes in its place). */
void tcp_tlp_update(struct stack *st, struct tcb *t)
{
	int restart = t->tlp_restart;
	t->tlp_restart = 0;
	if (!tlp_allowed(t)) {
		if (t->timer[TCP_T_PTO])
			tcp_timer_set(st, t, TCP_T_PTO, 0);
		return;
	}
	if (t->timer[TCP_T_PTO] && !restart)
		return;
	uint64_t at = st->now_us + tlp_pto(t);
	if (at > t->timer[TCP_T_REXMT])
		at = t->timer[TCP_T_REXMT];
	tcp_timer_set(st, t, TCP_T_PTO, at);
}

/* The PTO expired (RFC 8985 7.3): send one probe beyond cwnd, "a new,
 * previously unsent segment, if one exists" and the receive window allows,
 * else a retransmission of "the most recently sent segment"; its ACK (with
 * SACK) shows the tail loss and starts fast recovery. Then "the sender MUST
 * arm the RTO timer, not the PTO timer". */
void tcp_tlp_fire(struct stack *st, struct tcb *t)
{
	if (!tlp_allowed(t))
		return;
	uint32_t end = tcp_snd_end(t), wlim = t->snd.una + t->snd.wnd;
	uint32_t seq, len;
	uint8_t flags = TCP_ACK;
	int rxt = 0;
	if (t->snd.nxt == t->snd_max && seq_lt(t->snd_max, end) && seq_lt(t->snd_max, wlim)) {
		seq = t->snd_max;
		len = seq_lt(end, wlim) ? end - seq : wlim - seq;
		if (len > t->mss)
			len = t->mss;
		if (seq + len == end)
			flags |= TCP_PSH | (t->fin_queued ? TCP_FIN : 0);
	} else {
		/* the last segment sent: up to SMSS of data ending at
		 * snd_max, with our FIN if it was sent */
		uint32_t data_max = seq_gt(t->snd_max, end) ? end : t->snd_max;
		len = data_max - t->snd.una;
		if (len > t->mss)
			len = t->mss;
		seq = data_max - len;
		if (t->fin_queued && seq_gt(t->snd_max, end))
			flags |= TCP_FIN;
		if (len && seq + len == end)    /* no PSH on a FIN alone */
			flags |= TCP_PSH;
		rxt = 1;
	}
	if (tcp_xmit(st, t, seq, len, flags) < 0) {
		tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
		return;
	}
	st->stat.tcp_tlp_probes++;
	if (rxt) {
		st->stat.tcp_retrans++;
		t->rtt_on = 0;          /* Karn: its ACK is ambiguous */
	} else {
		if (!t->rtt_on && len) {
			t->rtt_on = 1;
			t->rtt_start = st->now_us;
			t->rtt_seq = seq + len;
		}
		t->snd.nxt = seq + len + !!(flags & TCP_FIN);
		t->snd_max = t->snd.nxt;
	}
	t->tlp_out = 1;
	t->tlp_rxt = (uint8_t)rxt;
	t->tlp_high = t->snd_max;       /* "TLPHighRxt = SND.NXT" */
	/* 7.3 condition 2: no further probe before an RTT sample */
	t->tlp_rtt_wait = 1;
	tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
}

/* RFC 8985 7.4: the probe's outcome, once an ACK reaches TLPHighRxt (the
 * logic of Linux's tcp_process_tlp_ack). A probe of new data, or a D-SACK
 * (both the original and the probe arrived): nothing was lost. An ACK
 * beyond TLPHighRxt with no D-SACK: the probe repaired a loss, and 7.4.2
 * says the sender "MUST invoke a congestion control response equivalent to
 * fast recovery": ssthresh and cwnd are reduced once. A pure duplicate ACK
 * at TLPHighRxt: both copies arrived. */
static void tlp_ack(struct stack *st, struct tcb *t, uint32_t ack, uint32_t acked, int dsack,
		    int sacked_new)
{
	if (!t->tlp_out || seq_lt(ack, t->tlp_high))
		return;
	if (!t->tlp_rxt || dsack) {
		t->tlp_out = 0;
	} else if (seq_gt(ack, t->tlp_high)) {
		t->tlp_out = 0;
		st->stat.tcp_tlp_recovery++;
		t->ssthresh = tcp_cc_loss_ssthresh(st, t);
		if (t->cwnd > t->ssthresh)
			t->cwnd = t->ssthresh;
	} else if (!acked && !sacked_new) {
		t->tlp_out = 0;
	}
	if (!t->tlp_out)
		t->tlp_restart = 1;
}

/* The SACK part of an ACK of a SACK connection (after snd.una moved by
 * `acked`): update the scoreboard (RFC 6675 5: "the scoreboard MUST be
 * updated via the Update () routine"), then count it as a DupAck when it
 * SACKs new data (RFC 6675 2: "a segment that arrives carrying a SACK block
 * that identifies previously unacknowledged and un-SACKed octets between
 * HighACK and HighData"; a plain RFC 5681 duplicate ACK without blocks also
 * counts), and start loss recovery on the DupThresh-th one or when
 * IsLost(HighACK + 1) (5 steps 1-2). Not again before snd.una passes the
 * previous RecoveryPoint (5.1, after a timeout). */
void tcp_sack_input(struct stack *st, struct tcb *t, const struct tcp_seg *seg, uint32_t acked,
		    int dup5681)
{
	int dsack = 0;
	sb_prune(t);
	sb_sum(t);
	uint32_t before = t->sacked_bytes;
	for (unsigned b = 0; b < seg->nsack; b++) {
		uint32_t s = seg->sack[b].start, e = seg->sack[b].end;
		st->stat.tcp_sack_blocks_rcvd++;
		/* RFC 2883 4: a first block below the cumulative ACK, or inside
		 * the second block, reports a duplicate (D-SACK) */
		if (b == 0 && seq_lt(s, e) &&
		    (seq_leq(e, seg->ack) ||
		     (seg->nsack > 1 && seq_geq(s, seg->sack[1].start) && seq_leq(e, seg->sack[1].end)))) {
			st->stat.tcp_dsack_rx++;
			dsack = 1;
			continue;
		}
		/* a block must lie in (snd.una, snd_max]; an older ACK's block
		 * that snd.una has passed is stale (cut, or ignored), not bogus */
		if (seq_lt(seg->ack, t->snd.una) && seq_lt(s, e) && seq_leq(e, t->snd.una))
			continue;
		if (!seq_lt(s, e) || seq_gt(e, t->snd_max) || seq_leq(e, t->snd.una) ||
		    (seq_lt(s, t->snd.una) && seq_geq(seg->ack, t->snd.una))) {
			st->stat.tcp_sack_bogus++;
			continue;
		}
		if (seq_lt(s, t->snd.una))
			s = t->snd.una;
		if (sb_add(t, s, e) < 0)
			st->stat.tcp_sack_sb_full++;
	}
	sb_sum(t);
	tlp_ack(st, t, seg->ack, acked, dsack, t->sacked_bytes > before);
	if (t->in_recovery)
		return;                 /* tcp_send_limit sends what pipe allows */
	int dup = t->sacked_bytes > before || (dup5681 && !seg->nsack);
	if (dup5681)
		st->stat.tcp_dupack_rx++;
	if (!dup || t->snd_max == t->snd.una)
		return;
	t->dupacks++;
	if (!seq_geq(t->snd.una, t->recover))
		return;
	if (t->dupacks >= TCP_DUPTHRESH || seq_lt(t->snd.una, sack_lost_edge(t))) {
		sack_recovery_start(st, t);
		return;
	}
	/* RFC 5827 3.2, the SACK variant of Early Retransmit: with a small
	 * flight, recovery starts once ER_thresh segments are SACKed (or as
	 * many duplicate ACKs came) */
	unsigned thr = tcp_dupthresh(t);
	uint32_t sacked_segs = (t->sacked_bytes + t->mss - 1) / t->mss;
	if (thr < TCP_DUPTHRESH && (t->dupacks >= thr || sacked_segs >= thr)) {
		st->stat.tcp_early_rexmit++;
		sack_recovery_start(st, t);
	}
}
