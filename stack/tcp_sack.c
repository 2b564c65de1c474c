/* Selective acknowledgments: the blocks we report as a receiver (RFC 2018,
 * D-SACK of RFC 2883) and, as a sender, the scoreboard of SACKed ranges
 * and SACK-based loss recovery: RFC 6675's frame (recovery from a loss to
 * the RecoveryPoint, retransmissions within cwnd - pipe) with RACK (RFC
 * 8985 6, tcp_rack.c) deciding what is lost in place of IsLost(), and PRR
 * (RFC 6937, tcp_rack.c) sizing cwnd on each ACK of recovery.
 *
 * The scoreboard is a fixed array of sorted, disjoint ranges in
 * (snd.una, snd_max], merged as blocks arrive. Peers without SACK keep
 * NewReno (RFC 6582, tcp_in.c). */
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
	uint64_t used = 0;              /* ooo[] ranges already reported */
	_Static_assert(TCP_OOO_MAX <= 64, "one bit per range in used");
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
		if (r < 0 || (used & (1ull << r)))
			continue;
		used |= 1ull << r;
		out[n++] = t->ooo[r];
	}
	for (unsigned r = 0; r < t->n_ooo && n < max; r++) {
		if (used & (1ull << r))
			continue;
		used |= 1ull << r;
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
}

/* The first unSACKed sequence number at or after s, and the end of its
 * hole (the next SACKed range, or snd_max). */
uint32_t tcp_sb_unsacked_from(const struct tcb *t, uint32_t s, uint32_t *hole_end)
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
	len = tcp_rexmit_len(t, seq, len);     /* not across a record end (MSG_EOR) */
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

/* RFC 6675 4 NextSeg() with RACK: (1) the lowest segment RACK marked lost
 * (RFC 8985 6.2 replaces IsLost() and rules 3-4: what RACK has not marked
 * is presumed in flight, and a lost tail is the loss probe's or the
 * timer's), (2) new data within the peer's window. */
enum { NS_NONE, NS_REXMT, NS_NEW };
static int sack_next_seg(const struct tcb *t, uint32_t *seq, uint32_t *len)
{
	*seq = tcp_rack_lost_next(t, len);
	if (*len)
		return NS_REXMT;
	/* "(2) If no sequence number 'S2' per rule (1) exists but there is
	 * available unsent data and the receiver's advertised window allows,
	 * the sender MUST return the sequence number of the next unsent
	 * segment" (tcp_output sends it) */
	uint32_t end = tcp_snd_end(t);
	if ((seq_lt(t->snd_max, end) && seq_lt(t->snd_max, t->snd.una + t->snd.wnd)) ||
	    (t->fin_queued && t->snd_max == end))
		return NS_NEW;
	return NS_NONE;
}

/* The right edge for tcp_output's new data. Outside SACK loss recovery:
 * snd.una + min(snd.wnd, cwnd), or with SACK, as Linux's tcp_cwnd_test
 * counts, snd.nxt + cwnd - pipe (what is in flight: the segments SACKed
 * above a hole RACK still waits out as possible reordering have left the
 * network, and as many new ones may go, the general form of limited
 * transmit) within snd.una + snd.wnd. In it, RFC 6675 5 step (C): "If cwnd - pipe
 * >= 1 SMSS, the sender SHOULD transmit one or more segments": the lost
 * segments NextSeg() picks are resent here, and new data may then fill
 * what is left of cwnd - pipe (cwnd is PRR's, set on each ACK). */
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
		uint32_t lim = t->snd.una + wnd;
		if (t->sack_ok && !t->in_recovery && t->sacked_bytes && t->snd.nxt == t->snd_max) {
			uint32_t pipe = tcp_sack_pipe(t), wend = t->snd.una + t->snd.wnd;
			if (pipe < t->cwnd) {
				uint32_t l = t->snd.nxt + (t->cwnd - pipe);
				if (seq_gt(l, wend))
					l = wend;
				if (seq_gt(l, lim))
					lim = l;
			}
		}
		return lim;
	}
	for (unsigned guard = 0; guard < 4096; guard++) {
		uint32_t pipe = tcp_sack_pipe(t);
		if (pipe >= t->cwnd)
			break;
		uint32_t seq = 0, len = 0;
		int r = sack_next_seg(t, &seq, &len);
		if (r == NS_NONE)
			break;
		if (r == NS_NEW) {
			uint32_t lim = t->snd.nxt + (t->cwnd - pipe);
			uint32_t wlim = t->snd.una + t->snd.wnd;
			return seq_lt(lim, wlim) ? lim : wlim;
		}
		if (!sack_rexmit(st, t, seq, len))
			break;
	}
	return t->snd.nxt;
}

/* Enter loss recovery (RFC 6675 5 step 4): "(4.1) RecoveryPoint = HighData
 * ... (4.2) ssthresh = cwnd = (FlightSize / 2)" -- the reduction is the
 * algorithm's (tcp_cc.c), cwnd is then PRR's (RFC 6937, tcp_prr_ack) --
 * "(4.3) Retransmit the first data segment presumed dropped": tcp_output,
 * through tcp_send_limit, resends what RACK marked lost. What the window
 * was is kept for an undo. */
void tcp_sack_recovery_start(struct stack *st, struct tcb *t)
{
	st->stat.tcp_sack_recovery++;
	st->stat.tcp_fast_retrans++;
	tcp_undo_start(st, t);
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->recover = t->snd_max;
	t->in_recovery = 1;
	t->rtt_on = 0;                  /* Karn */
	t->tlp_out = 0;                 /* recovery repairs the tail now */
	tcp_prr_start(t);
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
	t->cwnd = t->ssthresh;          /* RFC 6937 3.1: "cwnd = ssthresh" at the end */
	tcp_rack_recovery_exit(t);
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
 * segment); "Else PTO = 1 sec". Otherwise PTO += TCP_PTO_MIN_US, slack for
 * the ACK's way through the receiver and our own scheduling, as Linux adds
 * TCP_TIMEOUT_MIN to 2*SRTT: where the RTT is well under a millisecond, a
 * bare 2*SRTT fires while the ACKs are merely late. */
static uint64_t tlp_pto(const struct tcb *t)
{
	if (!t->srtt)
		return TCP_PTO_INIT_US;
	uint64_t pto = 2 * t->srtt;
	if (t->snd_max - t->snd.una <= t->mss)
		pto += TCP_WCDELACK_US;
	else
		pto += TCP_PTO_MIN_US;
	return pto;
}

/* A probe may be scheduled: RFC 8985 7.2, "unless it is already in fast
 * recovery, RTO recovery, or the sender has sent the loss probe but has not
 * yet received an acknowledgment for it"; only with SACK (7: "TLP ... SHOULD
 * only be used if SACK is negotiated", the probe's ACK must tell what was
 * lost); data outstanding, the window open (else persist), the RTO armed,
 * and the RACK timer not armed: RACK is waiting to call a loss there (its
 * deadline is sooner), as Linux's reordering timeout takes the probe's
 * place. */
static int tlp_allowed(const struct tcb *t)
{
	return t->sack_ok && tcp_synced(t->state) && t->state != TCP_TIME_WAIT &&
	       !t->in_recovery && !t->retries && seq_geq(t->snd.una, t->recover) &&
	       !t->tlp_out && !t->tlp_rtt_wait && t->snd_max != t->snd.una &&
	       t->snd.wnd != 0 && t->timer[TCP_T_REXMT] && !t->timer[TCP_T_REO];
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
 * `acked`): what it newly delivered (for RACK and PRR), the scoreboard
 * (RFC 6675 5: "the scoreboard MUST be updated via the Update () routine"),
 * D-SACKs (RFC 2883: RACK's reordering window, the undo), the loss probe's
 * outcome, the end of recovery (RFC 6675 5 (A), after trying an undo),
 * then RACK's loss detection (RFC 8985 6.2 step 5): a loss starts recovery
 * (RFC 6675 5 step 4; not again before snd.una passes the previous
 * RecoveryPoint, 5.1, after a timeout), and in recovery PRR sizes cwnd
 * for this ACK. DupAcks are still counted for Limited Transmit. */
void tcp_sack_input(struct stack *st, struct tcb *t, const struct tcp_seg *seg, uint32_t acked,
		    int dup5681)
{
	int dsack = 0;
	struct tcp_rack_ack ra;
	memset(&ra, 0, sizeof(ra));
	if (acked)
		tcp_rack_deliver(st, t, seg, &ra, t->snd.una - acked, t->snd.una);
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
			/* More segments D-SACKed, all told, than we ever resent:
			 * the network duplicated these, and they say nothing of a
			 * needless retransmission or of reordering -- neither an
			 * undo nor a wider RACK window (Linux's tcp_dsack_seen) */
			uint32_t dups = e - s > t->mss ? (e - s + t->mss - 1) / t->mss : 1;
			t->dsack_dups += dups;
			if (t->dsack_dups > t->total_retrans) {
				st->stat.tcp_dsack_not_ours++;
				continue;
			}
			dsack = 1;
			tcp_undo_dsack(t, s, e);
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
		/* whole segments only (RFC 8985 6.2 step 2, tcp_rack.c) */
		if (!tcp_rack_sack_whole(t, &s, &e))
			continue;
		tcp_rack_deliver(st, t, seg, &ra, s, e);
		if (sb_add(t, s, e) < 0)
			st->stat.tcp_sack_sb_full++;
	}
	sb_sum(t);
	tcp_rack_ack_done(st, t, &ra);
	tlp_ack(st, t, seg->ack, acked, dsack, t->sacked_bytes > before);
	/* an undo (also after recovery ended, as Linux's D-SACK undo in the
	 * Open state), else the end of recovery at the RecoveryPoint */
	int end = t->in_recovery && seq_geq(t->snd.una, t->recover);
	if (!tcp_undo_try(st, t, seg, dsack, end, acked != 0) && end)
		tcp_sack_recovery_end(st, t);
	uint32_t lost = tcp_rack_detect(st, t, dsack);
	if (t->in_recovery) {
		tcp_prr_ack(t, ra.delivered, acked && !lost);
		return;                 /* tcp_send_limit sends what cwnd allows */
	}
	int dup = t->sacked_bytes > before || (dup5681 && !seg->nsack);
	if (dup5681)
		st->stat.tcp_dupack_rx++;
	if (dup && t->snd_max != t->snd.una)
		t->dupacks++;
	/* a loss starts recovery: found now, or marked during the last
	 * recovery above its RecoveryPoint and not resent yet */
	if ((lost || tcp_sack_lost_bytes(t)) && seq_geq(t->snd.una, t->recover) && !t->retries) {
		tcp_sack_recovery_start(st, t);
		tcp_prr_ack(t, ra.delivered ? ra.delivered : t->mss, acked && !lost);
	} else if (t->rack_reord && t->sacked_bytes > before) {
		/* Once reordering was seen, data SACKed grows cwnd when it is
		 * SACKed, as Linux's tcp_may_raise_cwnd (forward progress, not
		 * only a cumulative ACK, once tp->reordering is raised) counts
		 * each packet delivered once: the cumulative ACK that later covers
		 * it counts only what was not SACKed (cc_newly_delivered).
		 * Otherwise a path that reorders, where much of the data arrives
		 * SACKed first, would grow cwnd for a fraction of what it
		 * delivers. */
		tcp_cc_grow(st, t, t->sacked_bytes - before);
	}
}
