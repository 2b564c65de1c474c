/* TCP input: parse a segment once, find its connection and follow RFC 9293
 * 3.10.7 "SEGMENT ARRIVES" in order. LISTEN and SYN-SENT have their own
 * functions; every other state goes through the shared steps (sequence
 * check, RST, SYN, ACK, URG, data, FIN). Each step returns a verdict, acted
 * on at the single exit of tcp_input(). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"
#include "csum.h"
#include "ip6.h"

/* Parse the header and options of p into seg. Returns 0, or the counter to
 * bump for a malformed segment (never an error to anybody). */
static uint64_t *tcp_parse(struct stack *st, const struct pkt *p, const struct nst_addr *src,
			   const struct nst_addr *dst, struct tcp_seg *seg)
{
	if (p->len < TCP_HDR_LEN)
		return &st->stat.tcp_drop_short;
	const struct tcp_hdr *h = (const struct tcp_hdr *)p->data;
	unsigned hlen = (h->off >> 4) * 4u;
	if (hlen < TCP_HDR_LEN || hlen > p->len)
		return &st->stat.tcp_drop_hdr;
	/* RFC 9293 3.10.7.1 etc.: segments with a bad checksum are discarded
	 * (RFC 1122 4.2.2.7: "the checksum MUST be checked on every received
	 * segment"), unless the device already verified it. */
	if (!(p->flags & PKT_F_CSUM_OK)) {
		uint32_t sum = nst_addr_is_v4(src)
			? csum_pseudo(nst_addr_v4(src), nst_addr_v4(dst), IP_PROTO_TCP, (uint16_t)p->len)
			: csum_pseudo6(src, dst, IP_PROTO_TCP, p->len);
		if (csum_fold(csum_add(sum, p->data, p->len)) != 0)
			return &st->stat.tcp_drop_csum;
	}
	memset(seg, 0, sizeof(*seg));
	seg->src = *src;
	seg->dst = *dst;
	seg->sport = ntohs(h->sport);
	seg->dport = ntohs(h->dport);
	seg->seq = ntohl(h->seq);
	seg->ack = ntohl(h->ack);
	seg->wnd = ntohs(h->wnd);
	seg->flags = h->flags & 0x3f;
	seg->data = p->data + hlen;
	seg->len = p->len - hlen;
	if (seg->sport == 0 || seg->dport == 0)
		return &st->stat.tcp_drop_hdr;
	/* Options. RFC 9293 3.1: "a TCP implementation MUST be able to receive
	 * a TCP option in any segment" and (RFC 1122 4.2.2.5) "MUST ignore
	 * without error any TCP option it does not implement". A length that is
	 * missing, below 2 or past the header ends the parsing, as in Linux's
	 * tcp_parse_options ("silly options", "don't parse partial options"):
	 * the options before it count, the segment goes on (counted). */
	const uint8_t *o = p->data + TCP_HDR_LEN;
	unsigned n = hlen - TCP_HDR_LEN, i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
			st->stat.tcp_opt_bad++;
			break;
		}
		if (kind == TCP_OPT_MSS && o[i + 1] == 4 && (seg->flags & TCP_SYN))
			seg->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
		/* RFC 7323 2.2: "A Window Scale option in a segment without a SYN
		 * bit should be ignored." */
		if (kind == TCP_OPT_WS && o[i + 1] == 3 && (seg->flags & TCP_SYN)) {
			seg->has_ws = 1;
			seg->ws = o[i + 2];
		}
		/* RFC 2018 2: SACK-permitted "MAY be sent in a SYN" only */
		if (kind == TCP_OPT_SACK_PERM && o[i + 1] == 2 && (seg->flags & TCP_SYN))
			seg->sack_perm = 1;
		/* RFC 2018 3: kind 5, length 2 + 8n, n blocks of left and right
		 * edges; more than 4 cannot fit (a malformed length is ignored) */
		if (kind == TCP_OPT_SACK && o[i + 1] >= 10 && (o[i + 1] - 2) % 8 == 0 &&
		    !(seg->flags & TCP_SYN)) {
			unsigned nb = (o[i + 1] - 2u) / 8;
			if (nb > TCP_SACK_RCV_MAX)
				nb = TCP_SACK_RCV_MAX;
			for (unsigned b = 0; b < nb; b++) {
				uint32_t l, r;
				memcpy(&l, o + i + 2 + 8 * b, 4);
				memcpy(&r, o + i + 6 + 8 * b, 4);
				seg->sack[b].start = ntohl(l);
				seg->sack[b].end = ntohl(r);
			}
			seg->nsack = (uint8_t)nb;
		}
		if (kind == TCP_OPT_TS && o[i + 1] == 10) {
			uint32_t v, e;
			memcpy(&v, o + i + 2, 4);
			memcpy(&e, o + i + 6, 4);
			seg->has_ts = 1;
			seg->tsval = ntohl(v);
			seg->tsecr = ntohl(e);
		}
		i += o[i + 1];
	}
	return NULL;
}

/* The send MSS from the peer's option: RFC 9293 3.7.1 "If an MSS Option is
 * not received at connection setup, TCP implementations MUST assume a
 * default send MSS of 536", and never more than our own MTU allows. */
void tcp_set_mss(struct stack *st, struct tcb *t, uint16_t peer_mss)
{
	uint16_t mss = peer_mss ? peer_mss : TCP_MSS_DEF;
	if (mss > tcp_adv_mss(st, t))
		mss = tcp_adv_mss(st, t);
	if (t->user_mss && mss > t->user_mss)
		mss = t->user_mss;
	if (mss < 64)
		mss = 64;
	/* RFC 7323 / RFC 6691: the MSS option does not count TCP options; the
	 * timestamps every segment carries come out of the payload. */
	if (t->ts_ok)
		mss = (uint16_t)(mss - TCP_TS_OPT_LEN);
	t->mss = mss;
	/* RFC 6928 / Linux: initial window of 10 segments */
	t->cwnd = TCP_IW_SEGS * (uint32_t)mss;
	t->ssthresh = 0xffffffffu;
	tcp_cc(t)->init(t);
}

/* RFC 7323 options of the peer's SYN or SYN-ACK decide what this connection
 * uses (called before tcp_set_mss: timestamps shrink the payload).
 * 2.2: window scaling is on only if both sides sent the option ("if both
 * sides ... the window scaling is enabled"); 2.3: "If a Window Scale option
 * is received with a shift.cnt value larger than 14, the TCP SHOULD log the
 * error but MUST use 14 instead of the specified value." Without it "the
 * TCP MUST ... [use] a scale factor of 1", in both directions: we then
 * never scale our own window either.
 * 3.2: timestamps are on when both SYNs carried TSopt (ours none when the
 * stack's are off: net.ipv4.tcp_timestamps 0); TS.Recent starts at the
 * SYN's TSval. */
static void tcp_syn_options(struct stack *st, struct tcb *t, const struct tcp_seg *seg)
{
	t->snd_sml = t->iss;            /* no partial segment sent yet (Nagle) */
	if (seg->has_ws) {
		t->ws_ok = 1;
		t->snd_wscale = seg->ws > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : seg->ws;
	} else {
		t->ws_ok = 0;
		t->snd_wscale = 0;
		t->rcv_wscale = 0;
	}
	/* RFC 2018 2: "The SACK-permitted option ... MUST NOT be sent on a
	 * non-SYN segment"; SACK is on when both SYNs carried it (we offer it
	 * on our SYN, and on a SYN-ACK only when the SYN had it). */
	t->sack_ok = seg->sack_perm;
	t->ts_ok = seg->has_ts && !st->tcp.ts_off;
	if (t->ts_ok) {
		t->ts_recent = seg->tsval;
		t->ts_recent_ok = 1;
		t->ts_recent_us = st->now_us;
	}
}

/* Linux's tcp_disordered_ack: a pure duplicate ACK at rcv.nxt that would
 * not update the window, its TSval behind TS.Recent by less than an RTO's
 * worth of the peer's ticks (taken as milliseconds, as Linux does): a
 * reordered ACK, not an old duplicate, and its SACK blocks are wanted. */
static int tcp_disordered_ack(const struct tcb *t, const struct tcp_seg *seg)
{
	return (seg->flags & TCP_ACK) && !(seg->flags & (TCP_SYN | TCP_FIN)) && !seg->len &&
	       seg->seq == t->rcv.nxt && seg->ack == t->snd.una &&
	       !seq_lt(t->snd.wl1, seg->seq) &&
	       !(t->snd.wl1 == seg->seq && seg->wnd > t->snd.wnd) &&
	       (uint64_t)(t->ts_recent - seg->tsval) <= t->rto * 1024 / 1000000;
}

/* RFC 7323 5.3 R1 (PAWS) and 3.2 for a segment of a connection that uses
 * timestamps, before the acceptance test. "If a non-<RST> segment is
 * received without a TSopt, a TCP SHOULD silently drop the segment." R1:
 * "If there is a Timestamps option in the arriving segment, SEG.TSval <
 * TS.Recent, TS.Recent is valid (see later discussion), and if the RST bit
 * is not set, then treat the arriving segment as not acceptable: Send an
 * acknowledgment in reply ... and drop the segment." 5.5: TS.Recent is
 * invalid after 24 days of idleness. As Linux (tcp_paws_discard), two
 * exceptions to R1: a TSval at most TCP_PAWS_WINDOW ticks behind (a segment
 * reordered by less than a tick of the peer's clock is new, not a duplicate
 * of a previous wrap: the protection R1 is for needs 2^31 ticks), and a
 * disordered ACK (above). */
static enum tcp_verdict tcp_paws(struct stack *st, struct tcb *t, const struct tcp_seg *seg)
{
	if (!t->ts_ok || (seg->flags & TCP_RST))
		return TCP_OK;
	if (!seg->has_ts) {
		st->stat.tcp_drop_nots++;
		return TCP_DROP;
	}
	if (t->ts_recent_ok && st->now_us - t->ts_recent_us > TCP_PAWS_IDLE_US)
		t->ts_recent_ok = 0;
	if (t->ts_recent_ok && seq_lt(seg->tsval, t->ts_recent) &&
	    t->ts_recent - seg->tsval > TCP_PAWS_WINDOW && !tcp_disordered_ack(t, seg)) {
		st->stat.tcp_drop_paws++;
		/* old data (an original overtaken by its retransmission): the
		 * ACK reports it as a duplicate (RFC 2883), as Linux's
		 * tcp_send_dupack does, so the sender can tell its
		 * retransmission was needless and undo */
		if (t->sack_ok && seg->len && seq_lt(seg->seq, t->rcv.nxt)) {
			t->dsack = 1;
			t->dsack_start = seg->seq;
			t->dsack_end = seq_lt(seg->seq + seg->len, t->rcv.nxt) ? seg->seq + seg->len
									  : t->rcv.nxt;
		}
		return TCP_DROP_ACK;
	}
	return TCP_OK;
}

/* RFC 7323 4.3 / 5.3 R3, after the acceptance test: "If an arriving segment
 * satisfies SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent (see Section
 * 4.3), then record its timestamp in TS.Recent." Last.ACK.sent is
 * rcv_acked; seq is SEG.SEQ before trimming. Only for a segment that is
 * acceptable as a whole (as Linux, from tcp_ack): one whose ACK field
 * acknowledges data never sent is dropped (RFC 9293 3.10.7.4, RFC 5961
 * 5.2) and must leave TS.Recent alone, or a single forged segment with a
 * large TSval would make PAWS (5.3 R1) drop every valid segment after it. */
static void tcp_ts_recent_update(struct stack *st, struct tcb *t, const struct tcp_seg *seg,
				 uint32_t seq)
{
	if (!t->ts_ok || !seg->has_ts)
		return;
	if ((!t->ts_recent_ok || seq_geq(seg->tsval, t->ts_recent)) && seq_leq(seq, t->rcv_acked)) {
		t->ts_recent = seg->tsval;
		t->ts_recent_ok = 1;
		t->ts_recent_us = st->now_us;
	}
}

/* An RTT sample from the echoed timestamp (RFC 7323 4.1 RTTM), in ms
 * ticks: used when the per-segment timer has nothing (Karn: after a
 * retransmission), where it keeps the RTO from starving. 0 = none. */
static uint64_t tcp_ts_rtt(const struct stack *st, const struct tcb *t, const struct tcp_seg *seg)
{
	if (!t->ts_ok || !seg->has_ts || !seg->tsecr)
		return 0;
	uint32_t d = tcp_ts_now(st, t) - seg->tsecr;
	if (d > 0x7fffffffu)            /* from the future: a bogus echo */
		return 0;
	return d ? d * 1000ull : 1000ull;   /* below one tick: count one */
}

/* No RTT sample from the handshake (our SYN was retransmitted). RFC 6298
 * 5.7: "the RTO MUST be re-initialized to 3 seconds when data transmission
 * begins"; RFC 5681 3.1: "the initial window used by a sender after a
 * correctly transmitted SYN MUST be one segment". */
static void tcp_rto_after_syn_loss(struct tcb *t)
{
	if (t->srtt) {
		tcp_rto_calc(t);
		return;
	}
	t->rto = TCP_RTO_INIT_US;
	if (t->retries) {
		t->rto = 3 * TCP_RTO_INIT_US;
		t->cwnd = t->mss;
	}
}

/* Delivery rate for observability: bytes acknowledged per second, measured
 * over intervals of at least one SRTT (1 ms before the first RTT sample). */
static void tcp_rate_sample(struct stack *st, struct tcb *t, uint32_t acked)
{
	t->delivered += acked;
	if (!t->dr_start_us) {
		t->dr_start_us = st->now_us;
		t->dr_start_delivered = t->delivered - acked;
		return;
	}
	uint64_t span = st->now_us - t->dr_start_us;
	if (span >= (t->srtt ? t->srtt : 1000) && span > 0) {
		t->delivery_rate_bps = (t->delivered - t->dr_start_delivered) * 1000000ull / span;
		t->dr_start_us = st->now_us;
		t->dr_start_delivered = t->delivered;
	}
}

/* What an ACK moving snd.una from una to ack newly delivers, for the
 * congestion control's growth: the bytes it acknowledges less those the
 * peer had already reported received, the SACKed ones below ack or,
 * without SACK, a segment per duplicate ACK (each let one new segment go,
 * RFC 3042); at least a segment, the hole the ACK fills. RFC 5681 3.1 lets
 * cwnd grow by at most "min (N, SMSS)" (RFC 3465 L segments) per ACK;
 * counting only news is the smaller, and Linux's (tcp_cong_avoid gets the
 * delivered count; tcp_remove_reno_sacks: "One ACK acked hole. The rest
 * eat duplicate ACKs"). Before tcp_sack_input prunes the scoreboard. */
static uint32_t cc_newly_delivered(const struct tcb *t, uint32_t una, uint32_t ack)
{
	uint32_t acked = ack - una, known = 0;
	if (t->sack_ok) {
		for (unsigned i = 0; i < t->n_sacked; i++) {
			uint32_t a = seq_max(t->sacked[i].start, una);
			uint32_t b = seq_min(t->sacked[i].end, ack);
			if (seq_lt(a, b))
				known += b - a;
		}
	} else {
		known = t->dupacks * t->mss;
	}
	uint32_t floor = acked < t->mss ? acked : t->mss;
	return known < acked && acked - known > floor ? acked - known : floor;
}

/* Congestion control on an ACK that acknowledged `acked` new bytes: the
 * algorithm's growth (tcp_cc.c: slow start, then congestion avoidance).
 * In loss recovery nothing grows: with SACK, RFC 6675 ends it at the
 * RecoveryPoint and PRR sizes cwnd (tcp_sack.c, tcp_rack.c); without, RFC 6582 3.2 step 3 decides
 * (partial/full ACK). */
static void tcp_cc_ack(struct stack *st, struct tcb *t, uint32_t ack, uint32_t acked,
		       uint32_t delivered)
{
	if (t->in_recovery && t->sack_ok)
		return;         /* tcp_sack_input ends it (or undoes it) */
	if (t->in_recovery) {
		if (seq_geq(ack, t->recover)) {
			/* Full acknowledgment: "Set cwnd to either (1) min (ssthresh,
			 * max(FlightSize, SMSS) + SMSS) or (2) ssthresh" -- (1). */
			uint32_t flight = t->snd_max - ack;
			uint32_t fs = (flight > t->mss ? flight : t->mss) + t->mss;
			t->cwnd = fs < t->ssthresh ? fs : t->ssthresh;
			t->in_recovery = 0;
			t->dupacks = 0;
		} else {
			/* Partial acknowledgment: "retransmit the first unacknowledged
			 * segment ... deflate the congestion window by the amount of new
			 * data acknowledged, then add back SMSS bytes if the partial ACK
			 * acknowledges at least SMSS bytes of new data". */
			uint32_t len = tcp_snd_end(t) - ack;
			if (len > t->mss)
				len = t->mss;
			if (len && seq_lt(ack, t->snd.nxt)) {
				st->stat.tcp_retrans++;
				tcp_xmit(st, t, ack, len, TCP_ACK);
			}
			t->cwnd = t->cwnd > acked ? t->cwnd - acked : 0;
			if (acked >= t->mss)
				t->cwnd += t->mss;
			if (t->cwnd < t->mss)
				t->cwnd = t->mss;
		}
		return;
	}
	t->dupacks = 0;
	tcp_cc_grow(st, t, delivered);
}

/* The algorithm's growth for `delivered` bytes newly delivered. RFC 7661
 * 4.1: cwnd grows only while it is what limits the sender
 * (tcp_cwnd_may_grow, tcp_out.c). An application- or rwnd-limited sender
 * never fills cwnd, its ACKs say nothing about the path, and cwnd would
 * otherwise grow without bound (thousands of segments against a 64 KB
 * window). */
void tcp_cc_grow(struct stack *st, struct tcb *t, uint32_t delivered)
{
	if (!tcp_cwnd_may_grow(t)) {
		st->stat.tcp_cwnd_unvalidated++;
		return;
	}
	tcp_cc(t)->cong_avoid(st, t, delivered);
}

/* A duplicate ACK (RFC 5681 2: outstanding data, no data or SYN/FIN in the
 * segment, ACK == SND.UNA, same window) of a peer without SACK. The third
 * (fewer for a small flight: Early Retransmit, tcp_dupthresh)
 * starts fast retransmit and NewReno fast recovery (RFC 6582 3.2 step 2)
 * unless the ACK does not cover `recover` (the loss was already handled:
 * the "careful" variant, 4.1); later ones inflate cwnd. The reduction is
 * the algorithm's (RFC 5681 eq. 4 for Reno, beta_cubic for CUBIC). */
static void tcp_cc_dupack(struct stack *st, struct tcb *t)
{
	st->stat.tcp_dupack_rx++;
	t->dupacks++;
	if (t->in_recovery) {
		t->cwnd += t->mss;
		return;
	}
	/* RFC 5827 3.1 Early Retransmit: a small flight that cannot grow
	 * retransmits after oseq - 1 duplicate ACKs (tcp_dupthresh) */
	unsigned thr = tcp_dupthresh(t);
	if (t->dupacks < thr || !seq_geq(t->snd.una, t->recover))
		return;
	if (t->dupacks < TCP_DUPTHRESH)
		st->stat.tcp_early_rexmit++;
	t->ssthresh = tcp_cc_loss_ssthresh(st, t);
	t->recover = t->snd_max;
	t->in_recovery = 1;
	t->cwnd = t->ssthresh + t->dupacks * t->mss;
	t->rtt_on = 0;
	uint32_t len = tcp_snd_end(t) - t->snd.una;
	if (len > t->mss)
		len = t->mss;
	st->stat.tcp_fast_retrans++;
	st->stat.tcp_retrans++;
	if (len)
		tcp_xmit(st, t, t->snd.una, len, TCP_ACK);
	else if (t->fin_queued)
		tcp_xmit(st, t, t->snd.una, 0, TCP_ACK | TCP_FIN);
	tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
}

/* Our FIN is sent and acknowledged. */
static int tcp_fin_acked(const struct tcb *t)
{
	return t->fin_queued && seq_gt(t->snd.una, tcp_snd_end(t));
}

/* Enter TIME-WAIT: "start the time-wait timer, turn off the other timers". */
static void tcp_enter_time_wait(struct stack *st, struct tcb *t)
{
	tcp_set_state(st, t, TCP_TIME_WAIT);
	tcp_timer_set(st, t, TCP_T_REXMT, 0);
	tcp_timer_set(st, t, TCP_T_PERSIST, 0);
	tcp_timer_set(st, t, TCP_T_KEEP, 0);
	tcp_timer_set(st, t, TCP_T_2MSL, st->now_us + TCP_TIMEWAIT_US);
}

/* RFC 9293 3.10.7.2: a segment for a listening socket. A SYN that ended a
 * TIME-WAIT (tcp_tw_syn) brings iss_min: the new ISS must be beyond it. */
static enum tcp_verdict tcp_listen_input(struct stack *st, struct tcb *l, const struct tcp_seg *seg,
					 const uint32_t *iss_min)
{
	/* "First, check for a RST: An incoming RST segment could not be valid
	 * since it could not have been sent in response to anything sent by
	 * this incarnation of the connection. An incoming RST should be ignored." */
	if (seg->flags & TCP_RST) {
		st->stat.tcp_rst_ignored++;
		return TCP_DROP;
	}
	/* "Second, check for an ACK: ... form a reset segment
	 * <SEQ=SEG.ACK><CTL=RST>" */
	if (seg->flags & TCP_ACK) {
		st->stat.tcp_drop_listen++;
		return TCP_DROP_RST;
	}
	if (!(seg->flags & TCP_SYN)) {
		st->stat.tcp_drop_listen++;
		return TCP_DROP;
	}
	/* A full accept queue drops the SYN silently, like Linux (cookies or
	 * not); the peer retransmits it. Linux's test is "more than backlog"
	 * queued. */
	if (l->acc_n > (unsigned)l->backlog) {
		st->stat.tcp_drop_listen++;
		return TCP_DROP;
	}
	/* RFC 4987 3.6: a full SYN queue (more half-open children than the
	 * backlog, as Linux's inet_csk_reqsk_queue_is_full) or no room in the
	 * table for a child: answer with a SYN cookie and keep no state. */
	struct tcb *t = l->syn_n > (unsigned)l->backlog ? NULL : tcp_child_new(st, l, seg);
	if (!t) {
		tcp_syncookie_send(st, l, seg);
		return TCP_DROP;
	}
	/* "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, and any other
	 * control or text should be queued for processing later. ISS should be
	 * selected and a SYN segment sent of the form
	 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. SND.NXT is set to ISS+1 and
	 * SND.UNA to ISS. The connection state should be changed to SYN-RECEIVED." */
	t->irs = seg->seq;
	t->rcv.nxt = seg->seq + 1;
	t->rcv_adv = t->rcv.nxt;        /* no window offered yet */
	t->iss = tcp_iss(st, &t->laddr, t->lport, &t->raddr, t->rport);
	if (iss_min && seq_lt(t->iss, *iss_min))
		t->iss = *iss_min;
	t->snd.una = t->iss;
	t->snd.nxt = t->snd_max = t->iss + 1;
	t->sndbuf_seq = t->iss + 1;
	t->recover = t->iss;
	/* The window of a SYN is not checked against wl1/wl2: take it now. */
	t->snd.wnd = seg->wnd;
	t->max_snd_wnd = seg->wnd;
	t->snd.wl1 = seg->seq;
	t->snd.wl2 = t->iss;
	t->rcv_wscale = tcp_wscale_ours(t);
	t->ts_off = tcp_ts_offset(st, &t->laddr, &t->raddr);
	tcp_syn_options(st, t, seg);
	tcp_set_mss(st, t, seg->mss);
	tcp_hash_insert(st, t);
	tcp_set_state(st, t, TCP_SYN_RECEIVED);
	/* counted until it is established or gone (tcp_child_established,
	 * tcp_child_unlink); without the mark the count would only grow and the
	 * listener refuse every SYN after TCP_SOMAXCONN connections */
	t->in_synq = 1;
	l->syn_n++;
	st->stat.tcp_passive_open++;
	/* not implemented: data carried on the SYN is dropped (the peer resends it). */
	tcp_send_syn(st, t);
	return TCP_OK;
}

/* A child of listener l for seg's 4-tuple: a fresh TCB with rings that
 * inherits the listener's socket options (Linux sk_clone_lock). Not hashed
 * yet. NULL when the table or memory has no room. */
struct tcb *tcp_child_new(struct stack *st, struct tcb *l, const struct tcp_seg *seg)
{
	struct tcb *t = tcp_tcb_alloc(st);
	if (!t)
		return NULL;
	t->laddr = seg->dst;
	t->lport = seg->dport;
	t->raddr = seg->src;
	t->rport = seg->sport;
	t->af = l->af;
	t->v6only = l->v6only;
	t->bound = 1;
	tcp_port_link(st, t);
	t->passive = 1;
	t->parent = (int)(l - st->tcp.tcb);
	/* the child inherits the listener's socket options (Linux sk_clone_lock) */
	t->opt_keepalive = l->opt_keepalive;
	t->opt_nodelay = l->opt_nodelay;
	t->opt_reuseaddr = l->opt_reuseaddr;
	t->opt_reuseport = l->opt_reuseport;
	t->opt_linger_on = l->opt_linger_on;
	t->opt_linger_s = l->opt_linger_s;
	t->keepidle_s = l->keepidle_s;
	t->keepintvl_s = l->keepintvl_s;
	t->keepcnt = l->keepcnt;
	t->user_mss = l->user_mss;
	t->opt_rcvbuf = l->opt_rcvbuf;
	t->opt_sndbuf = l->opt_sndbuf;
	t->cc_id = l->cc_id;            /* TCP_CONGESTION, like Linux */
	t->so = l->so;                  /* IP_TOS, IP_TTL, stored options */
	t->rcv_locked = l->rcv_locked;  /* rings come with the first bytes (sock.c) */
	t->snd_locked = l->snd_locked;
	t->rcv_budget = l->rcv_budget;
	t->snd_budget = l->snd_budget;
	return t;
}

/* Our SYN acknowledged (SYN-SENT's SYN-ACK, SYN-RECEIVED's ACK): SND.UNA
 * <- SEG.ACK, and the handshake's RTT sample -- none if the SYN was
 * retransmitted (Karn, RFC 6298 3), tcp_rto_after_syn_loss then. */
static void tcp_syn_acked(struct stack *st, struct tcb *t, const struct tcp_seg *seg)
{
	t->snd.una = seg->ack;
	if (t->rtt_on && seq_geq(seg->ack, t->rtt_seq)) {
		tcp_rtt_sample(t, st->now_us - t->rtt_start);
		t->rtt_on = 0;
	} else {
		tcp_rto_after_syn_loss(t);
	}
}

/* RFC 9293 3.10.7.3: a segment for a connection in SYN-SENT. */
static enum tcp_verdict tcp_synsent_input(struct stack *st, struct tcb *t, struct tcp_seg *seg)
{
	/* "If the ACK bit is set, If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a
	 * reset (unless the RST bit is set, if so drop the segment and return)
	 * <SEQ=SEG.ACK><CTL=RST>" */
	if (seg->flags & TCP_ACK) {
		if (seq_leq(seg->ack, t->iss) || seq_gt(seg->ack, t->snd_max)) {
			st->stat.tcp_drop_ack++;
			return (seg->flags & TCP_RST) ? TCP_DROP : TCP_DROP_RST;
		}
	}
	/* "If the RST bit is set, If the ACK was acceptable, then signal to the
	 * user "error: connection reset", drop the segment, enter CLOSED state,
	 * delete TCB, and return. Otherwise (no ACK), drop the segment and return." */
	if (seg->flags & TCP_RST) {
		if (seg->flags & TCP_ACK) {
			st->stat.tcp_rst_rx++;
			tcp_done(st, t, ECONNREFUSED);
		} else {
			st->stat.tcp_rst_ignored++;
		}
		return TCP_DROP;
	}
	/* not implemented: security/precedence (RFC 9293 drops it, see 3.10.7.3) */
	/* "If neither of the SYN or RST bits is set, then drop the segment and return." */
	if (!(seg->flags & TCP_SYN)) {
		st->stat.tcp_drop_unacceptable++;
		return TCP_DROP;
	}
	/* "RCV.NXT is set to SEG.SEQ+1, IRS is set to SEG.SEQ. SND.UNA should be
	 * advanced to equal SEG.ACK (if there is an ACK)" */
	t->irs = seg->seq;
	t->rcv.nxt = seg->seq + 1;
	t->rcv_adv = t->rcv.nxt + t->rcv.wnd;
	tcp_syn_options(st, t, seg);
	tcp_set_mss(st, t, seg->mss);
	t->snd.wnd = seg->wnd;
	t->max_snd_wnd = seg->wnd;
	t->snd.wl1 = seg->seq;
	t->snd.wl2 = seg->ack;
	if (seg->flags & TCP_ACK)
		tcp_syn_acked(st, t, seg);
	/* "If SND.UNA > ISS (our SYN has been ACKed), change the connection
	 * state to ESTABLISHED, form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT>
	 * <CTL=ACK> and send it." */
	seg->seq++;
	seg->flags &= (uint8_t)~TCP_SYN;
	if (seq_gt(t->snd.una, t->iss)) {
		t->retries = 0;
		tcp_timer_set(st, t, TCP_T_REXMT, 0);
		tcp_set_state(st, t, TCP_ESTABLISHED);
		tcp_keep_reset(st, t);
		t->ack_now = 1;
		/* "If there are other controls or text in the segment then continue
		 * processing at the sixth step below where the URG bit is checked" */
		return TCP_OK;
	}
	/* "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment
	 * <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> and send it." (simultaneous open)
	 * Text is not queued: the peer resends it. */
	tcp_set_state(st, t, TCP_SYN_RECEIVED);
	t->retries = 0;
	tcp_send_syn(st, t);
	return TCP_DROP;
}

/* RFC 9293 3.10.7.4 "first, check sequence number": the acceptance test,
 * then trim the segment to the window (data before RCV.NXT is old, data
 * past the window does not fit). "If a segment's contents straddle the
 * boundary between old and new, only the new parts are processed." */
static enum tcp_verdict tcp_check_seq(struct stack *st, struct tcb *t, struct tcp_seg *seg)
{
	uint32_t wnd = tcp_rcv_wnd(t);
	uint32_t slen = tcp_seg_len(seg);
	uint32_t nxt = t->rcv.nxt;
	int ok;
	/*  Segment Length  Receive Window  Test
	 *  0               0               SEG.SEQ = RCV.NXT
	 *  0               >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
	 *  >0              0               not acceptable
	 *  >0              >0              RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
	 *                               or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND */
	if (slen == 0)
		ok = wnd == 0 ? seg->seq == nxt : seq_in(seg->seq, nxt, nxt + wnd);
	else if (wnd == 0)
		/* "special allowance should be made to accept valid ACKs, URGs, and
		 * RSTs": at a closed window a segment starting at RCV.NXT is kept
		 * for its ACK and FIN, its data trimmed away below. */
		ok = seg->seq == nxt;
	else
		ok = seq_in(seg->seq, nxt, nxt + wnd) ||
		     seq_in(seg->seq + slen - 1, nxt, nxt + wnd);
	if (!ok) {
		/* "If an incoming segment is not acceptable, an acknowledgment
		 * should be sent in reply (unless the RST bit is set, if so drop
		 * the segment and return)" */
		if (seg->flags & TCP_RST) {
			st->stat.tcp_rst_ignored++;
			return TCP_DROP;
		}
		/* RFC 2883 4: a segment we already have is reported as the
		 * first block (D-SACK) of the ACK that answers it */
		if (t->sack_ok && seg->len && seq_leq(seg->seq + seg->len, nxt)) {
			t->dsack = 1;
			t->dsack_start = seg->seq;
			t->dsack_end = seg->seq + seg->len;
		}
		st->stat.tcp_drop_unacceptable++;
		/* RFC 5961 4.2: a SYN "irrespective of the sequence number" gets
		 * a challenge ACK (Linux: syn_challenge) */
		return (seg->flags & TCP_SYN) ? TCP_DROP_CHALLENGE : TCP_DROP_ACK;
	}
	/* Trim old data at the front. */
	if (seq_lt(seg->seq, nxt)) {
		uint32_t cut = nxt - seg->seq;
		if (seg->flags & TCP_SYN) {
			seg->flags &= (uint8_t)~TCP_SYN;
			cut--;
			seg->seq++;
		}
		if (cut > seg->len) {
			/* only an old FIN could remain: it is past too */
			seg->data += seg->len;
			seg->seq += seg->len;
			seg->len = 0;
			seg->flags &= (uint8_t)~TCP_FIN;
		} else {
			seg->data += cut;
			seg->len -= cut;
			seg->seq += cut;
		}
	}
	/* Trim data past the right edge of the window; a FIN after cut data goes. */
	uint32_t room = seq_gt(nxt + wnd, seg->seq) ? nxt + wnd - seg->seq : 0;
	if (seg->len > room) {
		/* what did not fit (a zero-window probe, say) is answered at once
		 * with our current window */
		seg->len = room;
		seg->flags &= (uint8_t)~TCP_FIN;
		t->ack_now = 1;
	}
	return TCP_OK;
}

/* The peer's FIN, in order (RFC 9293 3.10.7.4 "eighth, check the FIN bit"):
 * "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN." */
static void tcp_fin_in(struct stack *st, struct tcb *t)
{
	t->rcv.nxt++;
	t->fin_rcvd = 1;
	t->fin_ooo = 0;
	/* Out-of-order bytes held beyond the FIN are not part of the stream
	 * (RFC 9293 3.10.7.4: the FIN ends it); forget them. */
	if (t->n_ooo) {
		st->stat.tcp_drop_after_fin += t->n_ooo;
		t->n_ooo = 0;
	}
	t->ack_now = 1;
	switch (t->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		/* SYN-RECEIVED, ESTABLISHED: enter CLOSE-WAIT. */
		tcp_set_state(st, t, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		/* FIN-WAIT-1: "If our FIN has been ACKed (perhaps in this segment),
		 * then enter TIME-WAIT, start the time-wait timer, turn off the
		 * other timers; otherwise, enter the CLOSING state." */
		if (tcp_fin_acked(t))
			tcp_enter_time_wait(st, t);
		else
			tcp_set_state(st, t, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		/* FIN-WAIT-2: enter TIME-WAIT, start the time-wait timer. */
		tcp_enter_time_wait(st, t);
		break;
	case TCP_TIME_WAIT:
		/* TIME-WAIT: "Restart the 2 MSL time-wait timeout." */
		tcp_timer_set(st, t, TCP_T_2MSL, st->now_us + TCP_TIMEWAIT_US);
		break;
	default:
		/* CLOSE-WAIT, CLOSING, LAST-ACK: "Remain in the ... state." */
		break;
	}
	tcp_notify(st, t);
}

/* Add [start, end) to the sorted out-of-order range list, merging. Returns
 * -1 when the list is full and the range touches none of them. */
static int tcp_ooo_add(struct tcb *t, uint32_t start, uint32_t end)
{
	unsigned i = 0;
	while (i < t->n_ooo && seq_lt(t->ooo[i].end, start))
		i++;
	/* ranges i.. may overlap or follow */
	if (i < t->n_ooo && seq_leq(t->ooo[i].start, end)) {
		t->ooo[i].start = seq_min(t->ooo[i].start, start);
		t->ooo[i].end = seq_max(t->ooo[i].end, end);
		/* swallow following ranges now covered */
		unsigned j = i + 1;
		while (j < t->n_ooo && seq_leq(t->ooo[j].start, t->ooo[i].end)) {
			t->ooo[i].end = seq_max(t->ooo[i].end, t->ooo[j].end);
			j++;
		}
		if (j > i + 1) {
			memmove(&t->ooo[i + 1], &t->ooo[j], (t->n_ooo - j) * sizeof(t->ooo[0]));
			t->n_ooo -= j - i - 1;
		}
		return 0;
	}
	if (t->n_ooo == TCP_OOO_MAX)
		return -1;
	memmove(&t->ooo[i + 1], &t->ooo[i], (t->n_ooo - i) * sizeof(t->ooo[0]));
	t->ooo[i].start = start;
	t->ooo[i].end = end;
	t->n_ooo++;
	return 0;
}

/* The ACK for an out-of-order arrival (RFC 5681 4.2: "A TCP receiver SHOULD
 * send an immediate duplicate ACK when an out-of-order segment arrives").
 * With SACK (RFC 2018) we compress, as Linux does (tcp_comp_sack): the first
 * TCP_DUPTHRESH duplicate ACKs for one RCV.NXT go at once, which is all a
 * sender counting duplicate ACKs needs (RFC 5681 3.2, RFC 6675 5); after
 * them, while holes stay open (every arrival past a loss is out of order),
 * the ACK waits min(RTT / 20, 1 ms) and then carries the SACK blocks of
 * every arrival held back, at most TCP_COMP_SACK_NR of them. A sender with
 * SACK learns from blocks, not from counting: one ACK per batch of arrivals
 * says what one per arrival says. Without the wait, a receiver behind a
 * lossy path answers every segment with an ACK (the sender processes as
 * many ACKs as it sends segments). Any ACK sent in between (the hole
 * filled, in-order data, a window update) takes the held ones along: it
 * clears the DELACK timer, and with it this episode (comp_held). */
static void tcp_ooo_ack(struct stack *st, struct tcb *t)
{
	if (!t->timer[TCP_T_DELACK])
		t->comp_held = 0;       /* the last ACK went out */
	if (!t->sack_ok || t->comp_held >= TCP_COMP_SACK_NR) {
		t->ack_now = 1;
		return;
	}
	if (t->comp_rcv_nxt != t->rcv.nxt) {
		t->comp_rcv_nxt = t->rcv.nxt;
		t->comp_dupacks = 0;
	}
	if (t->comp_dupacks < TCP_DUPTHRESH) {
		t->comp_dupacks++;
		t->ack_now = 1;
		return;
	}
	t->comp_held++;
	/* Linux: 5% of the smaller of the receiver's RTT and SRTT */
	uint64_t rtt = t->rcv_rtt;
	if (t->srtt && (!rtt || t->srtt < rtt))
		rtt = t->srtt;
	uint64_t delay = rtt / 20 < TCP_COMP_SACK_US ? rtt / 20 : TCP_COMP_SACK_US;
	uint64_t at = st->now_us + delay;
	if (!t->timer[TCP_T_DELACK] || t->timer[TCP_T_DELACK] > at)
		tcp_timer_set(st, t, TCP_T_DELACK, at);
}

/* In-order data arrived (filled: it filled a hole): ACK it at once or
 * later (tcp_data_in says when), and tell the reader. */
static void tcp_data_ack(struct stack *st, struct tcb *t, int filled)
{
	if (filled)
		t->ack_now = 1;
	else if (t->quickacks && !t->opt_quickack_off) {
		/* Quick-ack mode at the start, as Linux: while the peer's
		 * congestion window is opening (slow start, RFC 5681 3.1) every
		 * ACK counts, so the first segments are ACKed without delay. */
		t->quickacks--;
		t->ack_now = 1;
	} else if (t->rcv.nxt - t->rcv_acked >= 2u * t->rcv_mss)
		t->ack_now = 1;
	else if (!t->timer[TCP_T_DELACK])
		tcp_timer_set(st, t, TCP_T_DELACK, st->now_us + TCP_DELACK_US);
	tcp_notify(st, t);
}

/* RFC 9293 3.10.7.4 "seventh, process the segment text": copy the data
 * into the receive ring at its place. In order: deliver, then pull in any
 * out-of-order ranges it joins; a large in-order segment with nothing
 * unread in the ring is not copied but kept in its packet (tcp_rcv_hold,
 * ring.c: seg->pkt becomes NULL, the TCB owns it), and another in-order
 * one then goes into the last held packet's tailroom if it fits
 * (tcp_rcv_append), so that the ring stays empty. Out of order: keep it
 * (reassembly) and send a duplicate ACK at once (RFC 5681 4.2: "A TCP
 * receiver SHOULD send an immediate duplicate ACK when an out-of-order
 * segment arrives"); an arrival that fills a hole is ACKed at once too
 * ("SHOULD send an immediate ACK when the incoming segment fills in all or
 * part of a gap"). Otherwise
 * the ACK is delayed (RFC 1122 4.2.3.2: "an ACK SHOULD be generated for at
 * least every second full-sized segment" and the delay "MUST be less than
 * 0.5 seconds"). */
static void tcp_data_in(struct stack *st, struct tcb *t, struct tcp_seg *seg)
{
	uint32_t len = seg->len;
	t->lrcv_us = st->now_us;        /* tcpi_last_data_recv (tcp_event_data_recv) */
	/* A GRO frame (the device merged several wire segments) does not say
	 * what the peer's segments are: no wire segment exceeds the MSS we
	 * announced, so rcv_mss stays below it, and such a frame alone is
	 * "every second full-sized segment": ACKed at once, as Linux ACKs
	 * per GRO frame. */
	uint16_t wire_max = tcp_adv_mss(st, t);
	if (len > wire_max)
		st->stat.tcp_gro_rx++;
	if (len > t->rcv_mss)
		t->rcv_mss = (uint16_t)(len > wire_max ? wire_max : len);
	/* The receiver's RTT (Linux tcp_rcv_rtt_measure_ts), for autotuning
	 * when nothing we sent was timed (a receive-only connection whose SYN
	 * was retransmitted has no SRTT): a full-sized segment echoes the
	 * TSval of the ACK that let it go. */
	uint64_t rr;
	if (len >= t->rcv_mss && (rr = tcp_ts_rtt(st, t, seg)) != 0)
		t->rcv_rtt = t->rcv_rtt ? (7 * t->rcv_rtt + rr) / 8 : rr;
	if (seg->seq == t->rcv.nxt && seg->pkt &&
	    tcp_rcv_hold(st, t, seg->pkt, seg->data, len) == 0) {
		/* held: in order with nothing out of order, so nothing to pull in */
		seg->pkt = NULL;
		t->rcv.nxt += len;
		tcp_data_ack(st, t, 0);
		return;
	}
	if (seg->seq == t->rcv.nxt && tcp_rcv_append(t, seg->data, len) == 0) {
		/* copied behind the held bytes, into the last packet's tailroom */
		t->rcv.nxt += len;
		tcp_data_ack(st, t, 0);
		return;
	}
	uint32_t off = t->rcvbuf.len + (seg->seq - t->rcv.nxt);
	/* The ring grows to hold what the window we offered lets in (the
	 * window comes from the budget, not from the ring). When it cannot
	 * (stack memory cap, cfg.mem), the segment is dropped and counted and
	 * our ACK says what we have: the peer retransmits. */
	if (tcp_ring_grow(st, &t->rcvbuf, off + len, t->rcv_budget) < 0) {
		st->stat.tcp_drop_rcvmem++;
		t->ack_now = 1;
		return;
	}
	tcp_ring_copy_in(&t->rcvbuf, off, seg->data, len);
	if (seg->seq != t->rcv.nxt) {
		if (tcp_ooo_add(t, seg->seq, seg->seq + len) < 0) {
			st->stat.tcp_drop_ooo_full++;
		} else {
			st->stat.tcp_ooo_rx++;
			tcp_sack_rcv_note(t, seg->seq);
		}
		tcp_ooo_ack(st, t);
		return;
	}
	int filled = t->n_ooo > 0;
	t->rcv.nxt += len;
	t->rcvbuf.len += len;
	while (t->n_ooo && seq_leq(t->ooo[0].start, t->rcv.nxt)) {
		if (seq_gt(t->ooo[0].end, t->rcv.nxt)) {
			uint32_t more = t->ooo[0].end - t->rcv.nxt;
			t->rcv.nxt += more;
			t->rcvbuf.len += more;
		}
		memmove(&t->ooo[0], &t->ooo[1], (t->n_ooo - 1) * sizeof(t->ooo[0]));
		t->n_ooo--;
	}
	tcp_data_ack(st, t, filled);
}

/* RFC 9293 3.10.7.4 "fifth, check the ACK field" in a synchronized state,
 * with RFC 5961 5.2: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (SND.NXT
 * as the peer knows it: the highest sent, snd_max). */
static int tcp_ack_acceptable(const struct tcb *t, uint32_t ack)
{
	return seq_leq(ack, t->snd_max) && seq_geq(ack, t->snd.una - t->max_snd_wnd);
}

/* The ACK step for synchronized states (RFC 9293 3.10.7.4 "fifth, check
 * the ACK field", ESTABLISHED part, shared by the later states), for an
 * acceptable ACK (tcp_ack_acceptable). */
static enum tcp_verdict tcp_ack_in(struct stack *st, struct tcb *t, const struct tcp_seg *seg)
{
	uint32_t ack = seg->ack;
	int dup = 0;
	uint32_t acked = 0;
	t->zwp_unanswered = 0;          /* the peer is alive */
	if (seq_gt(ack, t->snd.una)) {
		/* "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any
		 * segments on the retransmission queue that are thereby entirely
		 * acknowledged are removed." */
		acked = ack - t->snd.una;
		if (seq_gt(ack, t->sndbuf_seq)) {
			uint32_t d = ack - t->sndbuf_seq;
			if (d > t->sndbuf.len)
				d = t->sndbuf.len;
			tcp_ring_consume(&t->sndbuf, d);
			t->sndbuf_seq += d;
			if (t->sndbuf.len == 0)     /* all acknowledged: memory back */
				tcp_ring_emptied(st, t, &t->sndbuf);
		}
		t->snd.una = ack;
		if (seq_lt(t->snd.nxt, ack))
			t->snd.nxt = ack;
		/* RFC 6298 3 (Karn) and 2: one timed segment, never a resent one. */
		uint64_t ts_rtt, cc_rtt = 0;
		if (t->rtt_on && seq_geq(ack, t->rtt_seq)) {
			cc_rtt = st->now_us - t->rtt_start;
			tcp_rtt_sample(t, cc_rtt);
			t->rtt_on = 0;
		} else if (!t->rtt_on && t->in_recovery && !t->retries &&
			   (ts_rtt = tcp_ts_rtt(st, t, seg)) != 0) {
			tcp_rtt_sample(t, ts_rtt);
		} else if (t->retries) {
			/* The backed-off RTO ends with an ACK of new data: from SRTT
			 * (like Linux), or the initial 1 s when there never was a
			 * sample (Karn can starve us of them on a lossy path; without
			 * this, one bad moment would leave the RTO at 120 s). */
			if (t->srtt)
				tcp_rto_calc(t);
			else
				t->rto = TCP_RTO_INIT_US;
		}
		t->retries = 0;
		tcp_rate_sample(st, t, acked);
		/* an RTT sample per ACK for the congestion control (HyStart++):
		 * the timed segment's, else the echoed timestamp's (RFC 7323 4.1),
		 * else the transmit log's (SACK connections, tcp_rack.c) */
		if (tcp_cc(t)->rtt_sample &&
		    (cc_rtt || (cc_rtt = tcp_ts_rtt(st, t, seg)) != 0 ||
		     (cc_rtt = tcp_rack_ack_rtt(st, t, ack - acked, ack)) != 0))
			tcp_cc(t)->rtt_sample(st, t, cc_rtt);
		tcp_cc_ack(st, t, ack, acked, cc_newly_delivered(t, ack - acked, ack));
		/* RFC 6298 5.3: "When an ACK is received that acknowledges new data,
		 * restart the retransmission timer so that it will expire after RTO
		 * seconds (for the current value of RTO)." */
		if (t->snd.una != t->snd_max)
			tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
		else
			tcp_timer_set(st, t, TCP_T_REXMT, 0);
		t->tlp_restart = 1;     /* and the PTO (RFC 8985 7.2), tcp_timers_update */
		tcp_notify(st, t);
	} else if (ack == t->snd.una && seg->len == 0 && seg->wnd != 0 &&
		   !(seg->flags & (TCP_SYN | TCP_FIN)) && seg->wnd == t->snd.wnd &&
		   t->snd_max != t->snd.una) {
		dup = 1;
	}
	/* "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated.
	 * If (SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)),
	 * set SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK." */
	if (seq_geq(ack, t->snd.una) &&
	    (seq_lt(t->snd.wl1, seg->seq) || (t->snd.wl1 == seg->seq && seq_leq(t->snd.wl2, ack)))) {
		if (seg->wnd > t->snd.wnd)
			tcp_notify(st, t);
		t->snd.wnd = seg->wnd;
		t->snd.wl1 = seg->seq;
		t->snd.wl2 = ack;
		if (seg->wnd > t->max_snd_wnd)
			t->max_snd_wnd = seg->wnd;
		if (seg->wnd && t->timer[TCP_T_PERSIST]) {
			/* The window opened: leave persist and resend from snd.una,
			 * the probe octet included (the peer most likely dropped it). */
			tcp_timer_set(st, t, TCP_T_PERSIST, 0);
			t->snd.nxt = t->snd.una;
			t->zwp_unanswered = 0;
		}
	}
	if (t->sack_ok)
		tcp_sack_input(st, t, seg, acked, dup);
	else if (dup)
		tcp_cc_dupack(st, t);

	switch (t->state) {
	case TCP_FIN_WAIT_1:
		/* FIN-WAIT-1: "if the FIN segment is now acknowledged, then enter
		 * FIN-WAIT-2 and continue processing in that state." An orphan
		 * waits there at most TCP_FIN_TIMEOUT_US. */
		if (tcp_fin_acked(t)) {
			tcp_set_state(st, t, TCP_FIN_WAIT_2);
			if (t->orphan)
				tcp_timer_set(st, t, TCP_T_2MSL, st->now_us + tcp_fin_timeout_us(t));
		}
		break;
	case TCP_CLOSING:
		/* CLOSING: "if the ACK acknowledges our FIN, then enter the
		 * TIME-WAIT state; otherwise, ignore the segment." */
		if (tcp_fin_acked(t))
			tcp_enter_time_wait(st, t);
		break;
	case TCP_LAST_ACK:
		/* LAST-ACK: "If our FIN is now acknowledged, delete the TCB, enter
		 * the CLOSED state, and return." */
		if (tcp_fin_acked(t)) {
			tcp_done(st, t, 0);
			return TCP_DROP;
		}
		break;
	default:
		/* ESTABLISHED, FIN-WAIT-2, CLOSE-WAIT, TIME-WAIT: nothing more. */
		break;
	}
	return TCP_OK;
}

/* RFC 9293 3.10.7.4: a segment for SYN-RECEIVED and every synchronized
 * state, steps one to eight. */
static enum tcp_verdict tcp_segment_arrives(struct stack *st, struct tcb *t, struct tcp_seg *seg)
{
	/* A retransmitted SYN of the peer while we are in SYN-RECEIVED: our
	 * SYN-ACK was lost. Answer with the SYN-ACK again (like Linux), not with
	 * the bare ACK of the acceptance test, which the peer would reset. */
	if (t->state == TCP_SYN_RECEIVED && (seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    seg->seq == t->irs) {
		tcp_xmit(st, t, t->iss, 0, TCP_SYN | TCP_ACK);
		return TCP_DROP;
	}
	/* TIME-WAIT: "The only thing that can arrive in this state is a
	 * retransmission of the remote FIN. Acknowledge it, and restart the 2
	 * MSL timeout." (It fails the acceptance test below and is ACKed there.) */
	if (t->state == TCP_TIME_WAIT && (seg->flags & TCP_FIN))
		tcp_timer_set(st, t, TCP_T_2MSL, st->now_us + TCP_TIMEWAIT_US);
	/* RFC 7323 5.3 R1: PAWS, before the acceptance test */
	enum tcp_verdict v = tcp_paws(st, t, seg);
	if (v != TCP_OK)
		return v;
	uint32_t seq0 = seg->seq;
	/* first: sequence number */
	v = tcp_check_seq(st, t, seg);
	if (v != TCP_OK)
		return v;
	/* TS.Recent is taken later, once the ACK field is known acceptable
	 * (tcp_ts_recent_update) */
	/* second: RST. RFC 9293 3.10.7.4 (RFC 5961 3.2): "If the RST bit is set
	 * and the sequence number exactly matches the next expected sequence
	 * number (RCV.NXT), then TCP endpoints MUST reset the connection ...
	 * If the RST bit is set and the sequence number does not exactly match
	 * the next expected sequence value, yet is within the current receive
	 * window, TCP endpoints MUST send an acknowledgment (challenge ACK)". */
	if (seg->flags & TCP_RST) {
		if (seg->seq != t->rcv.nxt) {
			st->stat.tcp_rst_ignored++;
			return TCP_DROP_CHALLENGE;
		}
		st->stat.tcp_rst_rx++;
		switch (t->state) {
		case TCP_SYN_RECEIVED:
			/* SYN-RECEIVED: passive open "return this connection to LISTEN"
			 * (the child goes away); active open "connection refused". */
			tcp_done(st, t, t->passive ? 0 : ECONNREFUSED);
			break;
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT_1:
		case TCP_FIN_WAIT_2:
		case TCP_CLOSE_WAIT:
			/* ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "any outstanding
			 * RECEIVEs and SEND should receive "reset" responses ... Enter
			 * the CLOSED state, delete the TCB". Errors as Linux's tcp_reset:
			 * EPIPE in CLOSE-WAIT, ECONNRESET otherwise. */
			st->stat.tcp_estab_reset++;
			tcp_done(st, t, t->state == TCP_CLOSE_WAIT ? EPIPE : ECONNRESET);
			break;
		default:
			/* CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete
			 * the TCB, and return" (Linux also ends TIME-WAIT on a RST). */
			tcp_done(st, t, t->state == TCP_TIME_WAIT ? 0 : ECONNRESET);
			break;
		}
		return TCP_DROP;
	}
	/* not implemented: security/precedence (third step). */
	/* fourth: SYN. RFC 9293 3.10.7.4 (RFC 5961 4.2): "If the SYN bit is set,
	 * irrespective of the sequence number, TCP endpoints MUST send a
	 * "challenge ACK" to the remote peer". For a passive SYN-RECEIVED
	 * connection the RFC returns it to LISTEN instead. */
	if (seg->flags & TCP_SYN) {
		st->stat.tcp_drop_unacceptable++;
		if (t->state == TCP_SYN_RECEIVED && t->passive) {
			tcp_done(st, t, 0);
			return TCP_DROP;
		}
		return TCP_DROP_CHALLENGE;
	}
	/* fifth: ACK. "if the ACK bit is off, drop the segment and return" */
	if (!(seg->flags & TCP_ACK)) {
		st->stat.tcp_drop_ack++;
		return TCP_DROP;
	}
	tcp_keep_reset(st, t);
	if (t->state == TCP_SYN_RECEIVED) {
		/* "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and
		 * continue processing ... If the segment acknowledgment is not
		 * acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>" */
		if (!(seq_lt(t->snd.una, seg->ack) && seq_leq(seg->ack, t->snd_max))) {
			st->stat.tcp_drop_ack++;
			return TCP_DROP_RST;
		}
		tcp_ts_recent_update(st, t, seg, seq0);
		if (t->passive) {
			struct tcb *l = &st->tcp.tcb[t->parent];
			/* Linux drops the handshake's last ACK while the accept queue is
			 * full; the SYN-ACK is resent and the peer's ACK comes again. */
			if (l->acc_n > (unsigned)l->backlog) {
				st->stat.tcp_drop_listen++;
				return TCP_DROP;
			}
		}
		/* "and the connection variables: SND.WND <- SEG.WND, SND.WL1 <-
		 * SEG.SEQ, SND.WL2 <- SEG.ACK" */
		t->snd.wnd = seg->wnd;
		t->snd.wl1 = seg->seq;
		t->snd.wl2 = seg->ack;
		if (seg->wnd > t->max_snd_wnd)
			t->max_snd_wnd = seg->wnd;
		tcp_syn_acked(st, t, seg);
		t->retries = 0;
		tcp_timer_set(st, t, TCP_T_REXMT, 0);
		tcp_set_state(st, t, TCP_ESTABLISHED);
		tcp_keep_reset(st, t);
		if (t->passive)
			tcp_child_established(st, t);
		/* A close or shutdown that came in SYN-RECEIVED now moves on. */
		if (t->fin_queued)
			tcp_set_state(st, t, TCP_FIN_WAIT_1);
	} else {
		/* "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then
		 * send an ACK, drop the segment, and return." RFC 5961 5.2: also
		 * drop (with an ACK) when SEG.ACK < SND.UNA - MAX.SND.WND. */
		if (!tcp_ack_acceptable(t, seg->ack)) {
			st->stat.tcp_drop_ack++;
			return TCP_DROP_CHALLENGE;
		}
		tcp_ts_recent_update(st, t, seg, seq0);
		v = tcp_ack_in(st, t, seg);
		if (v != TCP_OK)
			return v;
	}
	/* sixth: URG. not implemented: the urgent pointer is ignored (its data
	 * is delivered inline, as with SO_OOBINLINE). */
	/* seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only;
	 * other states "should not occur ... Ignore the segment text." */
	if (seg->len) {
		switch (t->state) {
		case TCP_ESTABLISHED:
		case TCP_FIN_WAIT_1:
		case TCP_FIN_WAIT_2:
			/* Data for a socket nobody will read. RFC 1122 4.2.2.13:
			 * "if new data is received after CLOSE is called, its TCP
			 * SHOULD send a RST to show that data was lost". As Linux
			 * (tcp_rcv_state_process, TCPAbortOnData): the connection
			 * ends and the RST answers the segment (tcp_v4_send_reset:
			 * <SEQ=SEG.ACK><CTL=RST>, RFC 9293 3.10.7.1's form), not
			 * the active-reset form <SEQ=SND.NXT><CTL=RST,ACK>. */
			if (t->orphan) {
				st->stat.tcp_abort_on_data++;
				tcp_done(st, t, 0);
				return TCP_DROP_RST;
			}
			tcp_data_in(st, t, seg);
			break;
		default:
			break;
		}
	}
	/* eighth: FIN. "Do not process the FIN if the state is CLOSED, LISTEN,
	 * or SYN-SENT". A FIN past a hole is remembered and taken when the
	 * hole is filled. */
	if (seg->flags & TCP_FIN) {
		uint32_t fseq = seg->seq + seg->len;
		if (fseq == t->rcv.nxt)
			tcp_fin_in(st, t);
		else if (seq_gt(fseq, t->rcv.nxt) && !t->fin_rcvd) {
			t->fin_ooo = 1;
			t->fin_ooo_seq = fseq;
			t->ack_now = 1;
		}
	}
	if (t->fin_ooo && t->fin_ooo_seq == t->rcv.nxt && !t->fin_rcvd)
		tcp_fin_in(st, t);
	return TCP_OK;
}

/* SYN-SENT continues here with the text and FIN of a SYN-ACK. */
static enum tcp_verdict tcp_synsent_rest(struct stack *st, struct tcb *t, struct tcp_seg *seg)
{
	uint32_t wnd = tcp_rcv_wnd(t);
	if (seg->len > wnd) {
		seg->len = wnd;
		seg->flags &= (uint8_t)~TCP_FIN;
	}
	if (seg->len)
		tcp_data_in(st, t, seg);
	if (seg->flags & TCP_FIN)
		tcp_fin_in(st, t);
	return TCP_OK;
}

/* RFC 5961 7 and Linux's __tcp_oow_rate_limited: at most one ACK per
 * TCP_INVALID_RATELIMIT_US per connection in answer to invalid segments, so
 * that two ends (or an attacker) cannot drive an ACK loop. Segments with
 * data and no SYN are never limited (Linux tcp_oow_rate_limited: not
 * likely part of an ACK loop) unless it is a challenge. */
static int tcp_oow_limited(struct stack *st, struct tcb *t)
{
	if (t->last_oow_ack_us && st->now_us - t->last_oow_ack_us < TCP_INVALID_RATELIMIT_US) {
		st->stat.tcp_oow_ack_limited++;
		return 1;
	}
	t->last_oow_ack_us = st->now_us ? st->now_us : 1;
	return 0;
}

/* RFC 5961 7: "implementations SHOULD include an ACK throttling
 * mechanism" for challenge ACKs. As Linux's tcp_send_challenge_ack: the
 * per-connection limit first, then a host-wide budget per second of
 * challenge_ack_limit on average, drawn at random in [limit/2, 3*limit/2)
 * each second so that the count an attacker can observe says nothing
 * about other connections (CVE-2016-5696). */
static int tcp_challenge_ok(struct stack *st, struct tcb *t)
{
	if (tcp_oow_limited(st, t))
		return 0;
	unsigned limit = st->cfg.challenge_ack_limit ? st->cfg.challenge_ack_limit
						      : TCP_CHALLENGE_ACK_LIMIT;
	if (limit != -1u) {
		uint64_t sec = st->now_us / 1000000 + 1;
		if (sec != st->tcp.chack_sec) {
			uint32_t half = (limit + 1) / 2;
			st->tcp.chack_sec = sec;
			st->tcp.chack_left = half + (uint32_t)(stack_rand(st) % limit);
		}
		if (!st->tcp.chack_left) {
			st->stat.tcp_challenge_ack_limited++;
			return 0;
		}
		st->tcp.chack_left--;
	}
	st->stat.tcp_challenge_ack_tx++;
	return 1;
}

/* A SYN for a connection we hold in TIME-WAIT (the peer reuses its port).
 * RFC 1122 4.2.2.13: it "MAY accept a new SYN from the remote TCP to
 * reopen the connection directly from TIME-WAIT state, if it: (1) assigns
 * its initial sequence number for the new connection to be larger than the
 * largest sequence number it used on the previous connection incarnation,
 * and (2) returns to TIME-WAIT state if the SYN turns out to be an old
 * duplicate". RFC 6191 2 with timestamps on the old connection and the SYN:
 * a TSval greater than TS.Recent is taken, a smaller one is not, an equal
 * one falls back to RFC 1122's "SEG.SEQ > RCV.NXT", the only test without
 * timestamps. As Linux (tcp_timewait_state_process, TCP_TW_SYN): only for
 * a closed connection (nobody owns it), handed to the listener of the port
 * if there is one, with ISS at least the old SND.NXT + 65537 (Linux's
 * tw_snd_nxt + 65535 + 2); (2) holds since the peer resets our SYN-ACK to
 * an old duplicate SYN. Otherwise NULL: TIME-WAIT answers as before (RFC
 * 5961 4.2 challenge ACK). */
static struct tcb *tcp_tw_syn(struct stack *st, struct tcb *t, const struct tcp_seg *seg,
			      uint32_t *iss_min)
{
	if ((seg->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN || t->owned)
		return NULL;
	int newer;
	if (t->ts_ok && t->ts_recent_ok && seg->has_ts && seg->tsval != t->ts_recent)
		newer = seq_gt(seg->tsval, t->ts_recent);
	else
		newer = seq_gt(seg->seq, t->rcv.nxt);
	if (!newer)
		return NULL;
	struct tcb *l = tcp_lookup_listener(st, &seg->dst, seg->dport);
	if (!l)
		return NULL;
	*iss_min = t->snd_max + 65535 + 2;
	st->stat.tcp_tw_reused++;
	tcp_done(st, t, 0);
	return l;
}

/* RFC 9293 3.10.7: SEGMENT ARRIVES. Consumes p: frees it, or a receive
 * queue keeps it (tcp_data_in). */
void tcp_input(struct stack *st, struct pkt *p, const struct nst_addr *src,
	       const struct nst_addr *dst)
{
	struct tcp_seg seg;
	st->stat.tcp_rx++;
	uint64_t *bad = tcp_parse(st, p, src, dst, &seg);
	if (bad) {
		(*bad)++;
		pkt_free(p);
		return;
	}
	seg.pkt = p;
	struct tcb *t = tcp_lookup(st, dst, seg.dport, src, seg.sport);
	struct tcb *l;
	uint32_t iss_min;
	enum tcp_verdict v;
	if (t) {
		t->segs_in++;   /* TCP_INFO tcpi_segs_in */
		/* RFC 7323 2.3: the window of every segment but a SYN is shifted by
		 * the peer's shift.cnt ("The window field in a segment where the
		 * SYN bit is set ... MUST NOT be scaled") */
		if (t->ws_ok && !(seg.flags & TCP_SYN))
			seg.wnd <<= t->snd_wscale;
	}
	if (!t || t->state == TCP_CLOSED) {
		/* RFC 9293 3.10.7.1: "If the state is CLOSED (i.e., TCB does not
		 * exist), then all data in the incoming segment is discarded. An
		 * incoming segment containing a RST is discarded. An incoming
		 * segment not containing a RST causes a RST to be sent in response." */
		st->stat.tcp_drop_noport++;
		v = TCP_DROP_RST;
	} else if (t->state == TCP_LISTEN) {
		/* RFC 4987 3.6: a bare ACK may complete a SYN-cookie handshake */
		struct tcb *c = NULL;
		int k = (seg.flags & (TCP_SYN | TCP_RST | TCP_ACK)) == TCP_ACK ?
			tcp_syncookie_ack(st, t, &seg, &c) : 0;
		if (k > 0) {
			t = c;
			v = tcp_segment_arrives(st, t, &seg);
			/* not completed (accept queue full): no state stays */
			if (t->in_use && t->state == TCP_SYN_RECEIVED)
				tcp_tcb_free(st, t);
		} else {
			v = k < 0 ? TCP_DROP : tcp_listen_input(st, t, &seg, NULL);
		}
	} else if (t->state == TCP_TIME_WAIT && (l = tcp_tw_syn(st, t, &seg, &iss_min))) {
		t = NULL;       /* the TIME-WAIT is gone; the child is new */
		v = tcp_listen_input(st, l, &seg, &iss_min);
	} else if (t->state == TCP_SYN_SENT) {
		v = tcp_synsent_input(st, t, &seg);
		if (v == TCP_OK)
			v = tcp_synsent_rest(st, t, &seg);
	} else {
		v = tcp_segment_arrives(st, t, &seg);
	}
	/* the single exit: act on the verdict */
	switch (v) {
	case TCP_DROP_RST:
		tcp_send_rst_reply(st, &seg);
		break;
	case TCP_DROP_ACK:
		if (t && t->in_use && t->state >= TCP_SYN_RECEIVED &&
		    ((tcp_seg_len(&seg) && !(seg.flags & TCP_SYN)) || !tcp_oow_limited(st, t)))
			tcp_send_ack(st, t);
		break;
	case TCP_DROP_CHALLENGE:
		if (t && t->in_use && t->state >= TCP_SYN_RECEIVED && tcp_challenge_ok(st, t))
			tcp_send_ack(st, t);
		break;
	case TCP_OK:
		if (t && t->in_use && tcp_synced(t->state)) {
			tcp_output(st, t);
			if (t->ack_now)
				tcp_send_ack(st, t);
			tcp_timers_update(st, t);
		}
		break;
	case TCP_DROP:
		break;
	}
	if (t && t->in_use)
		TCP_CHECK(st, t);
	TCP_CHECK_ALL(st);
	pkt_free(seg.pkt);      /* NULL: a receive queue holds it (tcp_data_in) */
}

/* IPv6 (ip6.h): the same segment processing; the addresses say the family. */
void tcp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst)
{
	tcp_input(st, p, src, dst);
}
