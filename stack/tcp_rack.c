/* Loss detection and the window in loss recovery, for SACK connections:
 * RACK (RFC 8985 6: a segment is lost when one sent sufficiently later was
 * delivered), Proportional Rate Reduction (RFC 6937: how much may go out
 * per ACK during recovery), and the undoing of a reduction that proved
 * spurious (every retransmission D-SACKed, RFC 3708; or the timestamps
 * show the originals arrived, RFC 3522), as Linux's tcp_try_undo_*.
 *
 * RACK needs each segment's last transmit time. TCP keeps no packets, so
 * the transmit log (tcb.xlog) holds runs of sequence space with one time
 * each: one poll sends a whole burst at the same st->now_us, so a run is a
 * burst (or a retransmission), and the log stays short. When it is full,
 * the two neighbouring runs whose times are closest become one (the later
 * time for both). Each run says whether it was retransmitted (its RTT
 * sample is ambiguous) and whether RACK marked it lost and it has not been
 * resent since (tcp_send_limit resends those first, tcp_sack.c).
 *
 * The segment-count rule of RFC 6675 survives as RFC 8985 6.2 step 4 lets
 * it: until reordering is seen, the reordering window is 0 in recovery or
 * once DupThresh segments are SACKed, so three SACKed segments above a hole
 * mark it lost at once; with fewer, after RACK.rtt + min_RTT/4. */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

/* ---- the transmit log ------------------------------------------------------ */

static int ts_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* RFC 8985 6.2: RACK_sent_after(t1, seq1, t2, seq2): "If t1 > t2 ... return
 * true; else if t1 == t2 and seq1 > seq2, return true; else return false". */
static int sent_after(uint32_t t1, uint32_t seq1, uint32_t t2, uint32_t seq2)
{
	return ts_after(t1, t2) || (t1 == t2 && seq_gt(seq1, seq2));
}

/* The full clock value of a logged time. xmit_us keeps the low 32 bits:
 * exact for records up to 2^31 us (35 minutes) old, more than the
 * TCP_RETRIES2 timeouts take; an older one (a window closed that long)
 * reads as sent now, so RACK calls it lost later, never sooner. */
static uint64_t xtime(const struct stack *st, uint32_t xmit_us)
{
	int32_t ago = (int32_t)((uint32_t)st->now_us - xmit_us);
	if (ago < 0)
		ago = 0;
	return st->now_us - (uint64_t)ago;
}

static void xlog_del(struct tcb *t, unsigned i, unsigned n)
{
	memmove(&t->xlog[i], &t->xlog[i + n], (t->n_xlog - i - n) * sizeof(t->xlog[0]));
	t->n_xlog = (uint8_t)(t->n_xlog - n);
}

static void xlog_ins(struct tcb *t, unsigned i, const struct tcp_xrec *r)
{
	memmove(&t->xlog[i + 1], &t->xlog[i], (t->n_xlog - i) * sizeof(t->xlog[0]));
	t->xlog[i] = *r;
	t->n_xlog++;
}

/* One record less: the two neighbours with the closest times (same flags
 * and adjacent first) become one, at the later time. A merged run that is
 * partly lost is not lost (RACK finds it again, or the RTO does). */
static void xlog_squeeze(struct tcb *t)
{
	unsigned best = 0;
	uint64_t bd = UINT64_MAX;
	for (unsigned i = 0; i + 1 < t->n_xlog; i++) {
		const struct tcp_xrec *a = &t->xlog[i], *b = &t->xlog[i + 1];
		int32_t d32 = (int32_t)(b->xmit_us - a->xmit_us);
		uint64_t d = (uint64_t)(d32 < 0 ? -(int64_t)d32 : d32);
		if (a->end != b->start)
			d += 1ull << 33;
		if (a->flags != b->flags)
			d += 1ull << 32;
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	struct tcp_xrec *a = &t->xlog[best], *b = &t->xlog[best + 1];
	a->end = b->end;
	if (ts_after(b->xmit_us, a->xmit_us))
		a->xmit_us = b->xmit_us;
	a->flags = (uint8_t)(((a->flags | b->flags) & TCP_XR_RETRANS) |
			     (a->flags & b->flags & (TCP_XR_LOST | TCP_XR_MARKED)));
	xlog_del(t, best + 1, 1);
}

/* Forget what snd.una now covers. */
void tcp_rack_xlog_prune(struct tcb *t)
{
	unsigned i = 0;
	while (i < t->n_xlog && seq_leq(t->xlog[i].end, t->snd.una))
		i++;
	if (i)
		xlog_del(t, 0, i);
	if (t->n_xlog && seq_lt(t->xlog[0].start, t->snd.una))
		t->xlog[0].start = t->snd.una;
}

/* [s, e) was sent again at `now` (flags): it replaces what the log said. */
static void xlog_set(struct tcb *t, uint32_t s, uint32_t e, uint32_t now, uint8_t flags)
{
	while (t->n_xlog > TCP_XLOG_MAX - 2)
		xlog_squeeze(t);
	unsigned i = 0;
	while (i < t->n_xlog) {
		struct tcp_xrec *r = &t->xlog[i];
		if (seq_leq(r->end, s)) {
			i++;
			continue;
		}
		if (seq_geq(r->start, e))
			break;
		if (seq_lt(r->start, s) && seq_gt(r->end, e)) {
			struct tcp_xrec tail = *r;
			tail.start = e;
			r->end = s;
			xlog_ins(t, i + 1, &tail);
			i++;
			break;
		}
		if (seq_lt(r->start, s)) {
			r->end = s;
			i++;
		} else if (seq_gt(r->end, e)) {
			r->start = e;
			break;
		} else {
			xlog_del(t, i, 1);
		}
	}
	/* one run with a neighbour resent at the same time (a burst of
	 * retransmissions, the go-back after a timeout) */
	if (i > 0 && t->xlog[i - 1].end == s && t->xlog[i - 1].xmit_us == now &&
	    t->xlog[i - 1].flags == flags) {
		t->xlog[i - 1].end = e;
		return;
	}
	struct tcp_xrec n = { .start = s, .end = e, .xmit_us = now, .flags = flags };
	xlog_ins(t, i, &n);
}

/* New data [s, e) left at `now`: extend the last run of this burst, or
 * add one. */
static void xlog_append(struct tcb *t, uint32_t s, uint32_t e, uint32_t now)
{
	if (t->n_xlog) {
		struct tcp_xrec *l = &t->xlog[t->n_xlog - 1];
		if (l->end == s && l->xmit_us == now && !l->flags) {
			l->end = e;
			return;
		}
	}
	if (t->n_xlog == TCP_XLOG_MAX)
		xlog_squeeze(t);
	struct tcp_xrec n = { .start = s, .end = e, .xmit_us = now, .flags = 0 };
	xlog_ins(t, t->n_xlog, &n);
}

/* A data segment (or FIN) of t went out (tcp_xmit): [seq, seq + len + FIN).
 * Below snd_max it is a retransmission: its run gets the new time, is no
 * longer lost, and counts for PRR's prr_out and the episode's undo; beyond,
 * new data is logged. */
void tcp_rack_sent(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags)
{
	if (!t->sack_ok || (flags & TCP_SYN))
		return;
	uint32_t end = seq + len + !!(flags & TCP_FIN);
	if (seq == end)
		return;
	uint32_t now = (uint32_t)st->now_us;
	tcp_rack_xlog_prune(t);
	if (seq_lt(seq, t->snd.una))
		seq = t->snd.una;
	if (!seq_lt(seq, end))
		return;
	if (t->in_recovery)
		t->prr_out += end - seq;      /* RFC 6937: "prr_out += (data sent)" */
	uint32_t mid = seq_lt(end, t->snd_max) ? end : t->snd_max;
	if (seq_lt(seq, mid)) {
		/* a resent lost run stays counted lost (tcpi_lost) */
		uint8_t marked = 0;
		for (unsigned i = 0; i < t->n_xlog; i++)
			if (seq_lt(t->xlog[i].start, mid) && seq_gt(t->xlog[i].end, seq))
				marked |= t->xlog[i].flags & TCP_XR_MARKED;
		xlog_set(t, seq, mid, now, TCP_XR_RETRANS | marked);
		if (t->undo_on) {
			t->undo_retrans++;
			if (!t->undo_ts_on) {
				t->undo_ts_on = 1;
				t->undo_tsval = tcp_ts_now(st, t);
			}
		}
	}
	if (seq_lt(mid, end))
		xlog_append(t, seq_max(seq, mid), end, now);
}

/* An RTT sample for an ACK that moved snd.una from una to ack, from the
 * transmit log (as Linux's ca_rtt_us): the time since the newest of the
 * runs it acknowledged left; 0 (none) when any of them was retransmitted
 * (Karn: RFC 6298 3) or nothing is logged. Call before the log is pruned
 * past una. This gives the congestion control (HyStart++, RFC 9406 4.2:
 * "For each arriving ACK ... currRTT") a sample per ACK on a connection
 * without timestamps. */
uint64_t tcp_rack_ack_rtt(const struct stack *st, const struct tcb *t, uint32_t una, uint32_t ack)
{
	uint64_t newest = 0;
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if (!seq_lt(una, r->end))
			continue;
		if (!seq_lt(r->start, ack))
			break;
		if (r->flags & TCP_XR_RETRANS)
			return 0;
		uint64_t at = xtime(st, r->xmit_us);
		if (at > newest)
			newest = at;
	}
	return newest && st->now_us > newest ? st->now_us - newest : 0;
}

/* ---- RACK on an ACK (RFC 8985 6.2) ---------------------------------------- */

/* RFC 8985 acts on segments: step 2 (6.2) takes "each Segment newly
 * acknowledged, cumulatively or selectively", and a segment is delivered
 * only when all of it is. A SACK block that covers part of a segment (a
 * receiver behind a resegmenting middlebox, or a bogus one) delivers
 * nothing of it: counting the part would make the segment RACK.segment,
 * and every segment sent with it but below it lost after RACK.rtt +
 * RACK.reo_wnd, on the word of a sliver. Like Linux (tcp_match_skb_to_sack
 * SACKs whole segments only), the block is cut to the whole segments it
 * covers. The segments are the MSS-sized pieces of each logged run from
 * its start or from a record end (MSG_EOR) within it (a burst leaves in
 * such pieces, a record's last may be shorter); a block outside the log
 * is left as it is. Returns 0 when no whole segment
 * is covered. */
static uint32_t seg_base(const struct tcb *t, const struct tcp_xrec *r, uint32_t x)
{
	uint32_t base = r->start;
	for (unsigned i = 0; i < t->n_eor; i++)
		if (seq_gt(t->eor_end[i], base) && seq_leq(t->eor_end[i], x))
			base = t->eor_end[i];
	return base;
}

static uint32_t seg_limit(const struct tcb *t, const struct tcp_xrec *r, uint32_t base)
{
	uint32_t lim = r->end;
	for (unsigned i = 0; i < t->n_eor; i++)
		if (seq_gt(t->eor_end[i], base) && seq_lt(t->eor_end[i], lim))
			lim = t->eor_end[i];
	return lim;
}

int tcp_rack_sack_whole(const struct tcb *t, uint32_t *s, uint32_t *e)
{
	uint32_t a = *s, b = *e, mss = t->mss ? t->mss : 1;
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if (seq_lt(r->start, a) && seq_lt(a, r->end)) {
			uint32_t base = seg_base(t, r, a), lim = seg_limit(t, r, base);
			uint32_t k = (a - base + mss - 1) / mss * mss;
			a = k < lim - base ? base + k : lim;
		}
		if (seq_lt(r->start, b) && seq_lt(b, r->end)) {
			uint32_t base = seg_base(t, r, b);
			b = base + (b - base) / mss * mss;
		}
	}
	if (!seq_lt(a, b))
		return 0;
	*s = a;
	*e = b;
	return 1;
}

/* [a, b), none of it SACKed before, was delivered by this ACK. Steps 2 and
 * 3 per run of the log it touches: the most recently sent delivered
 * segment (RACK.xmit_ts, RACK.end_seq, RACK.rtt) and RACK.fack, and the
 * lowest end of a never-retransmitted delivered segment (reordering). */
static void rack_deliver_unsacked(struct stack *st, struct tcb *t, const struct tcp_seg *seg,
				  struct tcp_rack_ack *ra, uint32_t a, uint32_t b)
{
	ra->delivered += b - a;
	if (!ra->have_fack || seq_gt(b, ra->fack)) {
		ra->fack = b;
		ra->have_fack = 1;
	}
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if (seq_leq(r->end, a))
			continue;
		if (seq_geq(r->start, b))
			break;
		uint32_t pe = seq_min(r->end, b);
		if (!(r->flags & TCP_XR_RETRANS)) {
			if (!ra->have_orig || seq_lt(pe, ra->orig_end))
				ra->orig_end = pe;
			if (!ra->have_orig || seq_lt(seq_max(r->start, a), ra->orig_start))
				ra->orig_start = seq_max(r->start, a);
			ra->have_orig = 1;
		}
		uint64_t sent = xtime(st, r->xmit_us);
		uint64_t rtt = st->now_us - sent;
		if (r->flags & TCP_XR_RETRANS) {
			/* "If Segment.retransmitted is TRUE: If ACK.ts_option.echo_reply
			 * < Segment.xmit_ts: Return; If rtt < RACK.min_RTT: Return" --
			 * the ACK may be for the original */
			uint32_t tsval = (uint32_t)(sent / 1000) + t->ts_off;
			if (t->ts_ok && seg->has_ts && seg->tsecr && seq_lt(seg->tsecr, tsval))
				continue;
			if (rtt < t->min_rtt)
				continue;
		}
		/* RACK.rtt: the sample of the segment Linux's tcp_rack_advance
		 * sees last -- the SACKed ones first, then the cumulatively
		 * acknowledged ones, each in sequence order */
		int cum = seq_leq(pe, seg->ack);
		if (!ra->have_last || cum > ra->last_cum || (cum == ra->last_cum && seq_gt(pe, ra->last_end))) {
			ra->last_cum = (uint8_t)cum;
			ra->last_end = pe;
			ra->last_rtt = rtt;
			ra->have_last = 1;
		}
		if (!ra->have_best || sent_after(r->xmit_us, pe, ra->best_us, ra->best_end)) {
			ra->best_us = r->xmit_us;
			ra->best_end = pe;
			ra->best_rtt = rtt;
			ra->best_orig = !(r->flags & TCP_XR_RETRANS);
			ra->have_best = 1;
		}
	}
}

/* [s, e) is acknowledged (cumulatively or selectively) by this ACK: its
 * parts the scoreboard did not hold yet are newly delivered. Called before
 * the scoreboard takes the block in. */
void tcp_rack_deliver(struct stack *st, struct tcb *t, const struct tcp_seg *seg,
		      struct tcp_rack_ack *ra, uint32_t s, uint32_t e)
{
	while (seq_lt(s, e)) {
		uint32_t hole_end, a = tcp_sb_unsacked_from(t, s, &hole_end);
		if (!seq_lt(a, e))
			break;
		uint32_t b = seq_lt(hole_end, e) && seq_gt(hole_end, a) ? hole_end : e;
		rack_deliver_unsacked(st, t, seg, ra, a, b);
		s = b;
	}
}

/* RACK.min_RTT: the smallest RTT sample of the last TCP_MINRTT_WIN_US (a
 * windowed minimum like Linux's tcp_min_rtt, in its simplest form). */
void tcp_rack_min_rtt(struct stack *st, struct tcb *t, uint64_t rtt_us)
{
	if (!rtt_us)
		rtt_us = 1;
	if (!t->min_rtt || rtt_us <= t->min_rtt || st->now_us - t->min_rtt_at > TCP_MINRTT_WIN_US) {
		t->min_rtt = rtt_us;
		t->min_rtt_at = st->now_us;
	}
}

/* The ACK's deliveries are all in (ra): RFC 8985 6.2 steps 1-3. */
void tcp_rack_ack_done(struct stack *st, struct tcb *t, struct tcp_rack_ack *ra)
{
	/* step 1: "Update RACK.min_RTT" (an unambiguous sample only) */
	if (ra->have_best && ra->best_orig)
		tcp_rack_min_rtt(st, t, ra->best_rtt);
	/* step 2: "RACK.rtt = rtt"; "If RACK_sent_after(Segment.xmit_ts,
	 * Segment.end_seq, RACK.xmit_ts, RACK.end_seq): RACK.xmit_ts =
	 * Segment.xmit_ts; RACK.end_seq = Segment.end_seq". RACK.rtt is set
	 * by every segment, so it is the last one's: RFC 8985 walks them by
	 * transmit time (the most recently sent comes last), Linux by
	 * sequence, SACKed before cumulatively acknowledged; we follow Linux,
	 * whose RACK.rtt is then the older original's when a hole fills
	 * beside an acknowledged retransmission (longer: no spurious loss of
	 * segments sent with that original). */
	if (ra->have_best) {
		t->rack_rtt = ra->have_last ? ra->last_rtt : ra->best_rtt;
		if (!t->rack_ok || sent_after(ra->best_us, ra->best_end, t->rack_xmit_us, t->rack_end_seq)) {
			t->rack_xmit_us = ra->best_us;
			t->rack_end_seq = ra->best_end;
			t->rack_ok = 1;
		}
	}
	/* step 3, over the delivered segments in ascending order: "If
	 * Segment.end_seq > RACK.fack: RACK.fack = Segment.end_seq; Else if
	 * Segment.end_seq < RACK.fack AND Segment.retransmitted is FALSE:
	 * RACK.reordering_seen = TRUE" -- a never-retransmitted segment
	 * delivered below what earlier ACKs had delivered */
	if (ra->have_orig && t->rack_fack_on && seq_lt(ra->orig_end, t->rack_fack) && !t->rack_reord) {
		t->rack_reord = 1;
		st->stat.tcp_rack_reordering++;
	}
	/* the distance, in segments, for TCP_INFO's tcpi_reordering: Linux's
	 * tcp_check_sack_reordering, "metric = fack - low_seq; if (metric >
	 * tp->reordering * mss) tp->reordering = (metric + mss - 1) / mss" */
	if (ra->have_orig && t->rack_fack_on && seq_lt(ra->orig_end, t->rack_fack) && t->mss) {
		uint32_t segs = (t->rack_fack - ra->orig_start + t->mss - 1) / t->mss;
		if (segs > TCP_REORDERING_MAX)
			segs = TCP_REORDERING_MAX;
		if (segs > t->reordering)
			t->reordering = (uint16_t)segs;
	}
	if (ra->have_fack && (!t->rack_fack_on || seq_gt(ra->fack, t->rack_fack))) {
		t->rack_fack = ra->fack;
		t->rack_fack_on = 1;
	}
}

/* In loss recovery: fast recovery, or after a timeout until snd.una passes
 * the data outstanding then. */
static int in_recovery(const struct tcb *t)
{
	return t->in_recovery || seq_lt(t->snd.una, t->recover);
}

/* RFC 8985 6.2 step 4, RACK_update_reo_wnd(): min_RTT/4 times the
 * multiplier, at most SRTT; "If RACK.reordering_seen is FALSE: If in_recovery
 * ...: return 0; Else if RACK.segs_sacked >= DupThresh: return 0". */
static uint64_t rack_reo_wnd(const struct tcb *t)
{
	if (!t->rack_reord) {
		if (in_recovery(t))
			return 0;
		if ((t->sacked_bytes + t->mss - 1) / t->mss >= TCP_DUPTHRESH)
			return 0;
	}
	unsigned mult = t->rack_reo_mult ? t->rack_reo_mult : 1;
	uint64_t base = t->min_rtt ? t->min_rtt : t->srtt;
	uint64_t w = mult * base / 4;
	return t->srtt && w > t->srtt ? t->srtt : w;
}

/* Step 4, the D-SACK part: "If RACK.dsack_round is not None and SND.UNA >=
 * RACK.dsack_round: RACK.dsack_round = None"; "If RACK.dsack_round is None
 * and any DSACK option is present on latest received ACK: RACK.dsack_round
 * = SND.NXT; RACK.reo_wnd_mult += 1; RACK.reo_wnd_persist = 16". */
static void rack_dsack(struct stack *st, struct tcb *t, int dsack)
{
	if (t->rack_dsack_on && seq_geq(t->snd.una, t->rack_dsack_round))
		t->rack_dsack_on = 0;
	if (!t->rack_dsack_on && dsack) {
		unsigned mult = t->rack_reo_mult ? t->rack_reo_mult : 1;
		t->rack_dsack_on = 1;
		t->rack_dsack_round = t->snd_max;
		if (mult < 255)
			t->rack_reo_mult = (uint8_t)(mult + 1);
		t->rack_reo_persist = TCP_RACK_PERSIST;
		st->stat.tcp_rack_reo_wnd_incr++;
	}
}

/* "Else if exiting Fast or RTO recovery: RACK.reo_wnd_persist -= 1; If
 * RACK.reo_wnd_persist <= 0: RACK.reo_wnd_mult = 1". */
void tcp_rack_recovery_exit(struct tcb *t)
{
	if (t->rack_reo_persist)
		t->rack_reo_persist--;
	if (!t->rack_reo_persist)
		t->rack_reo_mult = 1;
}

/* Unacknowledged bytes of [a, b) the scoreboard does not hold. */
static uint32_t unsacked_bytes(const struct tcb *t, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	while (seq_lt(a, b)) {
		uint32_t hole_end, s = tcp_sb_unsacked_from(t, a, &hole_end);
		if (!seq_lt(s, b))
			break;
		uint32_t e = seq_lt(hole_end, b) && seq_gt(hole_end, s) ? hole_end : b;
		n += e - s;
		a = e;
	}
	return n;
}

/* Step 5, RACK_detect_loss(): "For each segment, Segment, not acknowledged
 * yet: If RACK_sent_after(RACK.xmit_ts, RACK.end_seq, Segment.xmit_ts,
 * Segment.end_seq): remaining = Segment.xmit_ts + RACK.rtt + RACK.reo_wnd -
 * Now(); If remaining <= 0: Segment.lost = TRUE ... Else: timeout =
 * max(remaining, timeout)". Returns the timeout (0: none) and adds the
 * newly lost bytes to *lost. Only the run holding RACK.end_seq can be
 * partly before it (same time, lower sequence): it is split there. */
static uint64_t rack_detect_loss(struct stack *st, struct tcb *t, uint32_t *lost)
{
	uint64_t reo = rack_reo_wnd(t), timeout = 0;
	if (t->n_xlog == TCP_XLOG_MAX)
		xlog_squeeze(t);
	for (unsigned i = 0; i < t->n_xlog; i++) {
		struct tcp_xrec *r = &t->xlog[i];
		if (r->flags & TCP_XR_LOST)
			continue;
		uint32_t lim = r->end;
		if (!sent_after(t->rack_xmit_us, t->rack_end_seq, r->xmit_us, r->end)) {
			if (r->xmit_us != t->rack_xmit_us || !seq_lt(r->start, t->rack_end_seq))
				continue;
			lim = seq_min(r->end, t->rack_end_seq);
		}
		uint32_t hole = unsacked_bytes(t, r->start, lim);
		if (!hole)
			continue;
		int64_t rem = (int64_t)(xtime(st, r->xmit_us) + t->rack_rtt + reo) - (int64_t)st->now_us;
		if (rem > 0) {
			if ((uint64_t)rem > timeout)
				timeout = (uint64_t)rem;
			continue;
		}
		if (lim != r->end) {
			struct tcp_xrec tail = *r;
			tail.start = lim;
			r->end = lim;
			xlog_ins(t, i + 1, &tail);
			r = &t->xlog[i];
		}
		r->flags |= TCP_XR_LOST | TCP_XR_MARKED;
		*lost += hole;
		st->stat.tcp_rack_lost += (hole + t->mss - 1) / t->mss;
		if (r->flags & TCP_XR_RETRANS)
			st->stat.tcp_sack_rexmit_again++;
	}
	return timeout;
}

/* After an ACK's SACK processing (tcp_sack_input) or at the RACK timer:
 * the D-SACK bookkeeping, then step 5 and RACK_detect_loss_and_arm_timer()
 * (6.3): "If timeout != 0: Arm the RACK timer to call
 * RACK_detect_loss_and_arm_timer() after timeout". Returns the bytes newly
 * marked lost. Not in an RTO's recovery (everything is resent in order
 * then, tcp_timer.c). */
uint32_t tcp_rack_detect(struct stack *st, struct tcb *t, int dsack)
{
	uint32_t lost = 0;
	uint64_t timeout = 0;
	rack_dsack(st, t, dsack);
	tcp_rack_xlog_prune(t);
	if (t->rack_ok && t->n_xlog && !(!t->in_recovery && seq_lt(t->snd.una, t->recover)) &&
	    !t->retries)
		timeout = rack_detect_loss(st, t, &lost);
	tcp_timer_set(st, t, TCP_T_REO, timeout ? st->now_us + timeout : 0);
	return lost;
}

/* A retransmission timeout: everything outstanding is resent in order
 * from snd.una (tcp_timer.c), so no run stays marked lost; the RACK timer
 * stops, and the undo episode ends (not implemented: undoing a timeout,
 * F-RTO RFC 5682 / Eifel after an RTO). */
void tcp_rack_rto(struct stack *st, struct tcb *t)
{
	for (unsigned i = 0; i < t->n_xlog; i++)
		t->xlog[i].flags &= (uint8_t)~(TCP_XR_LOST | TCP_XR_MARKED);
	t->undo_on = 0;
	if (t->timer[TCP_T_REO])
		tcp_timer_set(st, t, TCP_T_REO, 0);
}

/* The lowest run marked lost with bytes not SACKed: its first such byte,
 * and *len up to the end of that hole or run. *len 0: none. */
uint32_t tcp_rack_lost_next(const struct tcb *t, uint32_t *len)
{
	*len = 0;
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if (!(r->flags & TCP_XR_LOST))
			continue;
		uint32_t hole_end, s = tcp_sb_unsacked_from(t, seq_max(r->start, t->snd.una), &hole_end);
		if (!seq_lt(s, r->end))
			continue;
		uint32_t e = seq_lt(hole_end, r->end) && seq_gt(hole_end, s) ? hole_end : r->end;
		*len = e - s;
		return s;
	}
	return 0;
}

/* Bytes marked lost, not SACKed, not resent since (TCP_INFO tcpi_lost). */
uint32_t tcp_sack_lost_bytes(const struct tcb *t)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < t->n_xlog; i++)
		if (t->xlog[i].flags & TCP_XR_LOST)
			n += unsacked_bytes(t, seq_max(t->xlog[i].start, t->snd.una), t->xlog[i].end);
	return n;
}

/* Bytes marked lost and not SACKed, resent since or not: Linux's lost_out
 * (TCP_INFO tcpi_lost), whose TCPCB_LOST mark a retransmission keeps. */
uint32_t tcp_sack_marked_bytes(const struct tcb *t)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < t->n_xlog; i++)
		if (t->xlog[i].flags & TCP_XR_MARKED)
			n += unsacked_bytes(t, seq_max(t->xlog[i].start, t->snd.una), t->xlog[i].end);
	return n;
}

/* The data in flight (RFC 6675's pipe, as Linux counts it): the
 * unacknowledged, unSACKed bytes not marked lost; a lost segment resent
 * counts again. */
uint32_t tcp_sack_pipe(const struct tcb *t)
{
	uint32_t top = seq_max(t->snd_max, t->snd.una);
	return unsacked_bytes(t, t->snd.una, top) - tcp_sack_lost_bytes(t);
}

/* The RACK timer expired (RFC 8985 6.3): "RACK_detect_loss_and_arm_timer()";
 * losses found start recovery (whose PRR lets the first retransmission go,
 * as Linux's tcp_rack_reo_timeout does), then output. */
void tcp_rack_fire(struct stack *st, struct tcb *t)
{
	if (!t->sack_ok || !tcp_synced(t->state) || t->state == TCP_TIME_WAIT)
		return;
	st->stat.tcp_rack_reo_timeout++;
	uint32_t lost = tcp_rack_detect(st, t, 0);
	if ((lost || tcp_sack_lost_bytes(t)) && !t->in_recovery && seq_geq(t->snd.una, t->recover) &&
	    !t->retries) {
		tcp_sack_recovery_start(st, t);
		tcp_prr_ack(t, t->mss, 0);
	}
	tcp_output(st, t);
	tcp_timers_update(st, t);
}

/* ---- PRR (RFC 6937) ------------------------------------------------------ */

/* RFC 6937 3.1, at the start of recovery (after ssthresh is set):
 * "prr_delivered = 0; prr_out = 0; RecoverFS = snd.nxt - snd.una". */
void tcp_prr_start(struct tcb *t)
{
	t->prr_delivered = 0;
	t->prr_out = 0;
	t->prr_recover_fs = t->snd_max - t->snd.una;
	if (!t->prr_recover_fs)
		t->prr_recover_fs = 1;
}

/* RFC 9937 (PRR, which obsoletes RFC 6937) 6, on every ACK in recovery:
 * "prr_delivered += DeliveredData; if (pipe > ssthresh) { sndcnt =
 * CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out } else { sndcnt =
 * MAX(prr_delivered - prr_out, DeliveredData); if (SafeACK) sndcnt += SMSS;
 * sndcnt = MIN(ssthresh - pipe, sndcnt) }; if (prr_out == 0 AND sndcnt ==
 * 0) sndcnt = SMSS" -- PRR-CRB, and PRR-SSRB's extra segment only on a
 * SafeACK: "the current ACK reported SND.UNA advanced and no further losses
 * were reported" (`safe`), as Linux's tcp_cwnd_reduction. One exception
 * stays: when nothing is left in flight (pipe 0), the extra segment goes
 * too -- a lone retransmission with nothing sent behind it cannot be found
 * lost again but by the RTO (the two-stack simulation showed 2.3 times
 * more timeouts without it). cwnd becomes pipe + sndcnt, rounded up to
 * whole segments: tcp_send_limit sends within it. */
void tcp_prr_ack(struct tcb *t, uint32_t delivered, int safe)
{
	if (!delivered)
		return;
	t->prr_delivered += delivered;
	uint32_t pipe = tcp_sack_pipe(t), mss = t->mss;
	int64_t sndcnt;
	if (pipe > t->ssthresh) {
		uint64_t num = (uint64_t)t->prr_delivered * t->ssthresh + t->prr_recover_fs - 1;
		sndcnt = (int64_t)(num / t->prr_recover_fs) - (int64_t)t->prr_out;
	} else {
		int64_t limit = (int64_t)t->prr_delivered - (int64_t)t->prr_out;
		if (limit < (int64_t)delivered)
			limit = delivered;
		if (safe || !pipe)
			limit += mss;
		int64_t room = (int64_t)t->ssthresh - (int64_t)pipe;
		sndcnt = room < limit ? room : limit;
	}
	if (sndcnt < 0)
		sndcnt = 0;
	if (!t->prr_out && sndcnt < mss)
		sndcnt = mss;           /* the fast retransmission goes */
	sndcnt = (sndcnt + mss - 1) / mss * mss;
	t->cwnd = pipe + (uint32_t)sndcnt;
}

/* ---- undo ------------------------------------------------------------------ */

/* Retransmitted segments still in flight: resent, not marked lost since,
 * not SACKed (Linux's retrans_out). */
static int32_t rexmit_out_segs(const struct tcb *t)
{
	uint32_t bytes = 0;
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if ((r->flags & (TCP_XR_RETRANS | TCP_XR_LOST)) == TCP_XR_RETRANS)
			bytes += unsacked_bytes(t, seq_max(r->start, t->snd.una), r->end);
	}
	return (int32_t)((bytes + t->mss - 1) / t->mss);
}

/* A loss episode begins (before the reduction): what to go back to, and
 * from where D-SACKs count (Linux tcp_init_undo). Each episode is undone on
 * its own: it owes the D-SACKs of its own retransmissions and of those
 * still in flight from before, never those of an earlier episode already
 * over. (An earlier version joined an episode begun within an RTO of the
 * last to it; under steady reordering and loss the chain never ended, one
 * real loss in it kept every reduction of the chain from being undone.) */
void tcp_undo_start(struct stack *st, struct tcb *t)
{
	(void)st;
	t->undo_on = 1;
	t->undo_ts_on = 0;
	t->undo_cwnd = t->cwnd;
	t->undo_ssthresh = t->ssthresh;
	t->undo_cc = t->cc;
	t->undo_marker = t->snd.una;
	t->undo_retrans = rexmit_out_segs(t);
}

/* A D-SACK for [s, e): a retransmission of the episode arrived twice
 * (RFC 3708 3: each D-SACK of a retransmitted segment is one fewer
 * retransmission that may have been needed). */
void tcp_undo_dsack(struct tcb *t, uint32_t s, uint32_t e)
{
	if (!t->undo_on || !seq_gt(e, t->undo_marker))
		return;
	int32_t segs = (int32_t)((e - s + t->mss - 1) / t->mss);
	t->undo_retrans -= segs ? segs : 1;
	if (t->undo_retrans < 0)
		t->undo_retrans = 0;
}

/* A retransmission still in flight: resent, not marked lost since, not
 * SACKed. */
static int rexmit_out(const struct tcb *t)
{
	for (unsigned i = 0; i < t->n_xlog; i++) {
		const struct tcp_xrec *r = &t->xlog[i];
		if ((r->flags & (TCP_XR_RETRANS | TCP_XR_LOST)) == TCP_XR_RETRANS &&
		    unsacked_bytes(t, seq_max(r->start, t->snd.una), r->end))
			return 1;
	}
	return 0;
}

/* Try to undo the episode's reduction (Linux tcp_try_undo_dsack,
 * tcp_try_undo_partial and tcp_try_undo_recovery): every retransmission
 * D-SACKed (dsack: this ACK carried one); or Eifel (RFC 3522 3.2): an ACK
 * that moves snd.una echoes a timestamp older than the first
 * retransmission, so an original filled the hole -- at the full ACK that
 * ends recovery, or at a partial one once no retransmission is in flight.
 * cwnd, ssthresh and the algorithm's state go back to what they were
 * before; recovery ends and nothing stays marked lost. Returns 1 if
 * undone. */
int tcp_undo_try(struct stack *st, struct tcb *t, const struct tcp_seg *seg, int dsack, int at_end,
		 int una_moved)
{
	if (!t->undo_on || !t->undo_ts_on)
		return 0;
	int eifel = t->ts_ok && seg->has_ts && seg->tsecr && seq_lt(seg->tsecr, t->undo_tsval);
	if (dsack && t->undo_retrans <= 0) {
		st->stat.tcp_undo_dsack++;
	} else if (eifel && (at_end || (t->in_recovery && una_moved && !rexmit_out(t)))) {
		st->stat.tcp_undo_eifel++;
	} else {
		return 0;
	}
	if (t->cwnd < t->undo_cwnd)
		t->cwnd = t->undo_cwnd;
	if (t->ssthresh < t->undo_ssthresh)
		t->ssthresh = t->undo_ssthresh;
	t->cc = t->undo_cc;
	t->undo_on = 0;
	if (t->in_recovery) {
		t->in_recovery = 0;
		t->dupacks = 0;
		t->recover = t->snd.una;
		tcp_rack_recovery_exit(t);
	}
	for (unsigned i = 0; i < t->n_xlog; i++)
		t->xlog[i].flags &= (uint8_t)~(TCP_XR_LOST | TCP_XR_MARKED);
	return 1;
}
