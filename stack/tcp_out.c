/* TCP output: building segments from the send ring, the window we advertise,
 * what the peer's window and cwnd let us send, resets and probes.
 *
 * Segments are built from scratch each time (first transmission and
 * retransmission alike): TCP keeps no packets, only bytes. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"
#include "csum.h"

/* Our MSS: the device MTU less the IPv4 and TCP headers (RFC 9293 3.7.1:
 * "MSS = MTU - sizeof(TCPHDR) - sizeof(IPHDR)"). */
uint16_t tcp_adv_mss(const struct stack *st)
{
	unsigned mtu = st->dev->mtu;
	if (mtu > PKT_MAX_FRAME - ETH_HDR_LEN)
		mtu = PKT_MAX_FRAME - ETH_HDR_LEN;
	return (uint16_t)(mtu - IP_HDR_LEN - TCP_HDR_LEN);
}

/* RCV.WND as last advertised: the distance from rcv.nxt to the right edge we
 * promised. 0 before any window was advertised. */
uint32_t tcp_rcv_wnd(const struct tcb *t)
{
	return seq_gt(t->rcv_adv, t->rcv.nxt) ? t->rcv_adv - t->rcv.nxt : 0;
}

/* The window to put in the next segment we send.
 * RFC 9293 3.8.6.2.2 / RFC 1122 4.2.3.3: "the receiver SHOULD NOT shrink
 * the window" and the receiver's SWS avoidance: the right edge moves only
 * when it can move by at least min(RCV.BUFF/2, MSS). Capped at 65535: no
 * window scaling yet. */
uint32_t tcp_wnd_to_adv(const struct stack *st, const struct tcb *t)
{
	if (!t->rcvbuf.buf)
		return 0;
	uint32_t space = tcp_ring_free(&t->rcvbuf);
	uint32_t wnd = space < TCP_MAX_WND ? space : TCP_MAX_WND;
	uint32_t cur = tcp_rcv_wnd(t);
	assert(cur <= space);           /* the right edge never passes the ring */
	uint32_t step = t->rcvbuf.size / 2;
	if (step > tcp_adv_mss(st))
		step = tcp_adv_mss(st);
	/* RFC 1122 4.2.3.3: "if RCV.BUFF - RCV.USER - RCV.WND >= min(Fr * RCV.BUFF,
	 * Eff.snd.MSS) then set RCV.WND = RCV.BUFF - RCV.USER", else keep it. */
	if (space < cur + step || wnd <= cur)
		return cur;
	return wnd;
}

/* Build and send one segment: header, MSS option on SYNs, and len bytes of
 * the send ring starting at seq. Low-level: no TCB, the caller fills in
 * everything. Returns 0 or -ENOBUFS / -ENETUNREACH. */
static int tcp_emit(struct stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
		    uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t wnd,
		    uint16_t mss_opt, const struct tcp_ring *ring, uint32_t off, uint32_t len)
{
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return -ENOBUFS;
	}
	unsigned hlen = TCP_HDR_LEN + (mss_opt ? 4 : 0);
	uint8_t *b = pkt_put(p, hlen + len);
	if (!b) {
		pkt_free(p);
		st->stat.tx_nobufs++;
		return -ENOBUFS;
	}
	struct tcp_hdr *h = (struct tcp_hdr *)b;
	h->sport = htons(lport);
	h->dport = htons(rport);
	h->seq = htonl(seq);
	h->ack = htonl(ack);
	h->off = (uint8_t)((hlen / 4) << 4);
	h->flags = flags;
	h->wnd = htons((uint16_t)(wnd > 0xffff ? 0xffff : wnd));
	h->csum = 0;
	h->urp = 0;
	if (mss_opt) {
		b[20] = TCP_OPT_MSS;
		b[21] = 4;
		b[22] = (uint8_t)(mss_opt >> 8);
		b[23] = (uint8_t)mss_opt;
	}
	if (len)
		tcp_ring_copy_out(ring, off, b + hlen, len);
	uint32_t sum = csum_pseudo(laddr, raddr, IP_PROTO_TCP, (uint16_t)(hlen + len));
	h->csum = htons(csum_fold(csum_add(sum, b, hlen + len)));
	st->stat.tcp_tx++;
	if (flags & TCP_RST)
		st->stat.tcp_rst_tx++;
	return ipv4_output(st, p, IP_PROTO_TCP, laddr, raddr);
}

/* Send one segment of connection t: seq, len bytes of the send ring from
 * seq on, flags. Every segment with ACK carries rcv.nxt and the current
 * window, so it also is the ACK we owed: the delayed-ACK timer stops. */
int tcp_xmit(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint32_t ack = 0, wnd;
	/* TCP_INFO counters: data or a FIN below snd_max has been sent before
	 * (tcpi_total_retrans); SYNs are counted by their timer (snd_max is
	 * iss + 1 before the first one leaves) */
	t->segs_out++;
	if ((len || (flags & TCP_FIN)) && !(flags & TCP_SYN) && seq_lt(seq, t->snd_max))
		t->total_retrans++;
	if (flags & TCP_ACK) {
		ack = t->rcv.nxt;
		wnd = tcp_wnd_to_adv(st, t);
		t->rcv.wnd = wnd;
		t->rcv_adv = t->rcv.nxt + wnd;
		t->rcv_acked = t->rcv.nxt;
		t->ack_now = 0;
		if (t->timer[TCP_T_DELACK])
			tcp_timer_set(st, t, TCP_T_DELACK, 0);
	} else {
		/* a SYN: the initial window (RFC 7323 2.2: never scaled) */
		uint32_t space = t->rcvbuf.buf ? tcp_ring_free(&t->rcvbuf) : 0;
		wnd = space < TCP_MAX_WND ? space : TCP_MAX_WND;
		t->rcv.wnd = wnd;
	}
	uint16_t mss_opt = (flags & TCP_SYN) ? tcp_adv_mss(st) : 0;
	return tcp_emit(st, t->laddr, t->lport, t->raddr, t->rport, seq, ack, flags, wnd,
			mss_opt, &t->sndbuf, len ? seq - t->sndbuf_seq : 0, len);
}

/* Send our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) and (re)arm the
 * retransmission timer. The first transmission is timed for RTT (RFC 6298
 * 2.x allows the SYN sample); a retransmitted one is not (Karn). */
void tcp_send_syn(struct stack *st, struct tcb *t)
{
	uint8_t flags = TCP_SYN | (t->state == TCP_SYN_RECEIVED ? TCP_ACK : 0);
	if (t->retries == 0) {
		t->rtt_on = 1;
		t->rtt_start = st->now_us;
		t->rtt_seq = t->iss + 1;
	} else {
		t->rtt_on = 0;
	}
	tcp_xmit(st, t, t->iss, 0, flags);
	tcp_timer_set(st, t, TCP_T_REXMT, st->now_us + t->rto);
}

/* An empty ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. Our snd.nxt goes back
 * to snd.una on a timeout; the peer may hold everything up to snd_max, and
 * an ACK whose SEQ is below its RCV.NXT fails its acceptance test (its
 * ACK field is then never looked at: both ends retransmitting after a loss
 * would ignore each other's ACKs forever). So the SEQ is the highest sent,
 * which is what SND.NXT means to the peer (Linux never moves snd_nxt back). */
void tcp_send_ack(struct stack *st, struct tcb *t)
{
	tcp_xmit(st, t, t->snd_max, 0, TCP_ACK);
}

/* Abort from our side (close with unread data, SO_LINGER 0, exit):
 * RFC 9293 3.10.4: "send a reset segment: <SEQ=SND.NXT><CTL=RST>". We use
 * the highest sequence sent (snd.nxt moves back on a timeout) and carry an
 * ACK like Linux's tcp_send_active_reset. */
void tcp_send_rst(struct stack *st, struct tcb *t)
{
	tcp_emit(st, t->laddr, t->lport, t->raddr, t->rport, t->snd_max, t->rcv.nxt,
		 TCP_RST | TCP_ACK, 0, 0, NULL, 0, 0);
}

/* A reset in answer to seg, with no TCB (closed port, bad ACK in LISTEN or
 * SYN-SENT). RFC 9293 3.10.7.1: "If the ACK bit is off, sequence number
 * zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit
 * is on, <SEQ=SEG.ACK><CTL=RST>". Never in answer to a reset. */
void tcp_send_rst_reply(struct stack *st, const struct tcp_seg *seg)
{
	if (seg->flags & TCP_RST)
		return;
	if (seg->flags & TCP_ACK)
		tcp_emit(st, seg->dst, seg->dport, seg->src, seg->sport, seg->ack, 0,
			 TCP_RST, 0, 0, NULL, 0, 0);
	else
		tcp_emit(st, seg->dst, seg->dport, seg->src, seg->sport, 0,
			 seg->seq + tcp_seg_len(seg), TCP_RST | TCP_ACK, 0, 0, NULL, 0, 0);
}

/* Keepalive probe (RFC 1122 4.2.3.6): "sending a segment with SEG.SEQ =
 * SND.NXT-1 and with or without one garbage octet of data"; we send none
 * and use SND.UNA-1 like Linux, which is the same when nothing is in flight. */
void tcp_send_probe(struct stack *st, struct tcb *t)
{
	tcp_xmit(st, t, t->snd.una - 1, 0, TCP_ACK);
}

/* Send what the send ring holds and the windows allow: new data, data to
 * resend after snd.nxt went back, and our FIN once the ring is all sent.
 * Segments are at most the effective MSS; the last one of what is queued
 * carries PSH. Returns the number of segments sent. */
int tcp_output(struct stack *st, struct tcb *t)
{
	if (!tcp_synced(t->state) || t->state == TCP_TIME_WAIT || !t->sndbuf.buf)
		return 0;
	uint32_t end = tcp_snd_end(t);
	uint32_t wnd = t->snd.wnd < t->cwnd ? t->snd.wnd : t->cwnd;
	uint32_t limit = t->snd.una + wnd;
	int sent = 0;
	for (;;) {
		if (seq_lt(t->snd.nxt, end)) {
			uint32_t avail = end - t->snd.nxt;
			uint32_t room = seq_lt(t->snd.nxt, limit) ? limit - t->snd.nxt : 0;
			uint32_t n = avail < room ? avail : room;
			if (n > t->mss)
				n = t->mss;
			if (n == 0)
				break;
			/* RFC 1122 4.2.3.4 sender SWS avoidance: send a full segment, all
			 * that is queued, at least half the largest window, or when
			 * nothing is in flight (the override that keeps us from stalling). */
			if (n < t->mss && n < avail && n < t->max_snd_wnd / 2 && t->snd.nxt != t->snd.una)
				break;
			uint8_t flags = TCP_ACK;
			if (n == avail) {
				flags |= TCP_PSH;
				if (t->fin_queued)
					flags |= TCP_FIN;
			}
			if (seq_lt(t->snd.nxt, t->snd_max))
				st->stat.tcp_retrans++;
			else if (!t->rtt_on) {
				t->rtt_on = 1;
				t->rtt_start = st->now_us;
				t->rtt_seq = t->snd.nxt + n;
			}
			if (tcp_xmit(st, t, t->snd.nxt, n, flags) == -ENOBUFS)
				break;
			t->snd.nxt += n + !!(flags & TCP_FIN);
			t->snd_max = seq_max(t->snd_max, t->snd.nxt);
			sent++;
			if (flags & TCP_FIN)
				break;
		} else if (t->fin_queued && t->snd.nxt == end) {
			/* FIN alone; it needs no window (it takes no buffer space). */
			if (seq_lt(t->snd.nxt, t->snd_max))
				st->stat.tcp_retrans++;
			if (tcp_xmit(st, t, end, 0, TCP_FIN | TCP_ACK) == -ENOBUFS)
				break;
			t->snd.nxt = end + 1;
			t->snd_max = seq_max(t->snd_max, t->snd.nxt);
			sent++;
			break;
		} else {
			break;
		}
	}
	return sent;
}

/* After the application read: RFC 1122 4.2.3.3 says to send a window
 * update only when the window opens by min(RCV.BUFF/2, MSS); like Linux we
 * also want it to have at least doubled, so a bulk reader does not send an
 * update per read. */
void tcp_window_update(struct stack *st, struct tcb *t)
{
	if (!tcp_synced(t->state) || t->fin_rcvd || t->state == TCP_TIME_WAIT)
		return;
	uint32_t cur = tcp_rcv_wnd(t);
	uint32_t nw = tcp_wnd_to_adv(st, t);
	if (nw > cur && nw >= 2 * cur)
		tcp_send_ack(st, t);
}
