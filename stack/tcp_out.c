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

/* Our window scale shift (RFC 7323 2.3): the smallest that lets the 16-bit
 * field cover the whole receive ring, at most 14. */
uint8_t tcp_wscale_ours(const struct tcb *t)
{
	uint32_t size = t->rcvbuf.size ? t->rcvbuf.size : TCP_RCV_RING;
	uint8_t s = 0;
	while (s < TCP_WSCALE_MAX && (size >> s) > TCP_MAX_WND)
		s++;
	return s;
}

/* Our TSval clock (RFC 7323 5.4: "between 1 ms and 1 sec per tick"):
 * milliseconds, offset per connection (ts_off, from the ISS) so that TSvals
 * tell nothing about the host's uptime. */
uint32_t tcp_ts_now(const struct stack *st, const struct tcb *t)
{
	return (uint32_t)(st->now_us / 1000) + t->ts_off;
}

/* The largest window we can advertise: 65535, or 65535 << our shift once
 * scaling is on. */
static uint32_t tcp_max_adv(const struct tcb *t)
{
	return t->ws_ok ? TCP_MAX_WND << t->rcv_wscale : TCP_MAX_WND;
}

/* The window to put in the next segment we send.
 * RFC 9293 3.8.6.2.2 / RFC 1122 4.2.3.3: "the receiver SHOULD NOT shrink
 * the window" and the receiver's SWS avoidance: the right edge moves only
 * when it can move by at least min(RCV.BUFF/2, MSS). With window scaling the
 * window is a multiple of 2^rcv_wscale (the field cannot say more), so the
 * edge we record is the one the peer sees. */
uint32_t tcp_wnd_to_adv(const struct stack *st, const struct tcb *t)
{
	if (!t->rcvbuf.buf)
		return 0;
	uint32_t space = tcp_ring_free(&t->rcvbuf);
	uint32_t max = tcp_max_adv(t);
	uint32_t wnd = space < max ? space : max;
	if (t->ws_ok)
		wnd &= ~((1u << t->rcv_wscale) - 1);
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

/* Options of one segment we build. */
struct tcp_opts {
	uint16_t mss;           /* 0 = no MSS option */
	uint8_t  ws;            /* Window Scale shift.cnt, 0xff = none */
	uint8_t  ts;            /* Timestamps option */
	uint32_t tsval, tsecr;
};

/* Write the options; returns their length (a multiple of 4). Layout as
 * Linux's, so traces look familiar: MSS, NOP NOP TS, NOP WS. */
static unsigned tcp_opts_write(uint8_t *b, const struct tcp_opts *o)
{
	unsigned n = 0;
	if (!o)
		return 0;
	if (o->mss) {
		b[n++] = TCP_OPT_MSS;
		b[n++] = 4;
		b[n++] = (uint8_t)(o->mss >> 8);
		b[n++] = (uint8_t)o->mss;
	}
	if (o->ts) {
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_TS;
		b[n++] = 10;
		uint32_t v = htonl(o->tsval), e = htonl(o->tsecr);
		memcpy(b + n, &v, 4);
		memcpy(b + n + 4, &e, 4);
		n += 8;
	}
	if (o->ws != 0xff) {
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_WS;
		b[n++] = 3;
		b[n++] = o->ws;
	}
	return n;
}

static unsigned tcp_opts_len(const struct tcp_opts *o)
{
	if (!o)
		return 0;
	return (o->mss ? 4 : 0) + (o->ts ? TCP_TS_OPT_LEN : 0) + (o->ws != 0xff ? 4 : 0);
}

/* Build and send one segment: header, options, and len bytes of the send
 * ring starting at seq. Low-level: no TCB, the caller fills in everything;
 * wnd is the 16-bit field as sent (already scaled). Returns 0 or -ENOBUFS /
 * -ENETUNREACH. */
static int tcp_emit(struct stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
		    uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t wnd,
		    const struct tcp_opts *opts, const struct tcp_ring *ring, uint32_t off, uint32_t len)
{
	struct pkt *p = pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return -ENOBUFS;
	}
	unsigned hlen = TCP_HDR_LEN + tcp_opts_len(opts);
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
	tcp_opts_write(b + TCP_HDR_LEN, opts);
	if (len)
		tcp_ring_copy_out(ring, off, b + hlen, len);
	uint32_t sum = csum_pseudo(laddr, raddr, IP_PROTO_TCP, (uint16_t)(hlen + len));
	h->csum = htons(csum_fold(csum_add(sum, b, hlen + len)));
	st->stat.tcp_tx++;
	if (flags & TCP_RST)
		st->stat.tcp_rst_tx++;
	return ipv4_output(st, p, IP_PROTO_TCP, laddr, raddr);
}

/* The options of a segment of connection t with these flags.
 * RFC 7323 2.2: Window Scale "MAY be sent in an initial <SYN> segment ... It
 * MAY also be sent in a <SYN,ACK> segment, but only if a Window Scale option
 * was received in the initial <SYN> segment." 3.2: "A TCP MAY send the TSopt
 * in an initial <SYN> segment ... It MAY send a TSopt in other segments only
 * if it received a TSopt in the initial <SYN> or <SYN,ACK> segment", and once
 * negotiated "the TSopt MUST be sent in every non-<RST> segment for the
 * duration of the connection, and SHOULD be sent in an <RST> segment". */
static void tcp_opts_for(const struct stack *st, const struct tcb *t, uint8_t flags,
			 struct tcp_opts *o)
{
	int first_syn = (flags & TCP_SYN) && !(flags & TCP_ACK);
	o->mss = (flags & TCP_SYN) ? tcp_adv_mss(st) : 0;
	o->ws = 0xff;
	if ((flags & TCP_SYN) && (first_syn || t->ws_ok))
		o->ws = t->rcv_wscale;
	o->ts = first_syn || t->ts_ok;
	o->tsval = tcp_ts_now(st, t);
	/* "TSecr ... is only valid if the ACK bit is set"; zero otherwise */
	o->tsecr = (flags & TCP_ACK) ? t->ts_recent : 0;
}

/* Send one segment of connection t: seq, len bytes of the send ring from
 * seq on, flags. Every segment with ACK carries rcv.nxt and the current
 * window, so it also is the ACK we owed: the delayed-ACK timer stops. */
int tcp_xmit(struct stack *st, struct tcb *t, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint32_t ack = 0, wnd, field;
	/* TCP_INFO counters: data or a FIN below snd_max has been sent before
	 * (tcpi_total_retrans); SYNs are counted by their timer (snd_max is
	 * iss + 1 before the first one leaves) */
	t->segs_out++;
	if ((len || (flags & TCP_FIN)) && !(flags & TCP_SYN) && seq_lt(seq, t->snd_max))
		t->total_retrans++;
	if (flags & TCP_SYN) {
		/* the window of a SYN or SYN-ACK: RFC 7323 2.2 "The window field in
		 * a segment where the SYN bit is set (i.e., a <SYN> or <SYN,ACK>)
		 * MUST NOT be scaled." */
		uint32_t space = t->rcvbuf.buf ? tcp_ring_free(&t->rcvbuf) : 0;
		wnd = space < TCP_MAX_WND ? space : TCP_MAX_WND;
		field = wnd;
		t->rcv.wnd = wnd;
		if (flags & TCP_ACK) {
			ack = t->rcv.nxt;
			t->rcv_adv = t->rcv.nxt + wnd;
			t->rcv_acked = t->rcv.nxt;
		}
	} else if (flags & TCP_ACK) {
		ack = t->rcv.nxt;
		wnd = tcp_wnd_to_adv(st, t);
		if (t->ws_ok) {
			/* The field says wnd >> shift: round up (like Linux), so the
			 * edge the peer sees is the one we keep and does not move
			 * left by the rounding, unless that would pass the ring. */
			uint32_t g = (1u << t->rcv_wscale) - 1;
			uint32_t up = (wnd + g) & ~g;
			wnd = up <= tcp_ring_free(&t->rcvbuf) ? up : wnd & ~g;
		}
		field = t->ws_ok ? wnd >> t->rcv_wscale : wnd;
		t->rcv.wnd = wnd;
		t->rcv_adv = t->rcv.nxt + wnd;
		t->rcv_acked = t->rcv.nxt;
	} else {
		wnd = field = 0;
	}
	if (flags & TCP_ACK) {
		t->ack_now = 0;
		if (t->timer[TCP_T_DELACK])
			tcp_timer_set(st, t, TCP_T_DELACK, 0);
	}
	struct tcp_opts o;
	tcp_opts_for(st, t, flags, &o);
	return tcp_emit(st, t->laddr, t->lport, t->raddr, t->rport, seq, ack, flags, field,
			&o, &t->sndbuf, len ? seq - t->sndbuf_seq : 0, len);
}

/* Send our SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED) and (re)arm the
 * retransmission timer. The first transmission is timed for RTT (RFC 6298
 * 2.x allows the SYN sample); a retransmitted one is not (Karn). */
void tcp_send_syn(struct stack *st, struct tcb *t)
{
	uint8_t flags = TCP_SYN | (t->state == TCP_SYN_RECEIVED ? TCP_ACK : 0);
	if (t->state == TCP_SYN_SENT) {
		/* what we offer; the SYN-ACK decides (tcp_syn_options) */
		t->rcv_wscale = tcp_wscale_ours(t);
		t->ts_off = t->iss * 0x9e3779b1u;
	}
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
	struct tcp_opts o;
	tcp_opts_for(st, t, TCP_RST | TCP_ACK, &o);
	tcp_emit(st, t->laddr, t->lport, t->raddr, t->rport, t->snd_max, t->rcv.nxt,
		 TCP_RST | TCP_ACK, 0, &o, NULL, 0, 0);
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
			 TCP_RST, 0, NULL, NULL, 0, 0);
	else
		tcp_emit(st, seg->dst, seg->dport, seg->src, seg->sport, 0,
			 seg->seq + tcp_seg_len(seg), TCP_RST | TCP_ACK, 0, NULL, NULL, 0, 0);
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
			/* A partial last segment of new data (not one carrying our FIN):
			 * TCP_CORK holds it (up to TCP_CORK_US, like Linux); otherwise
			 * Nagle (RFC 896; RFC 1122 4.2.3.4: "If there is unacknowledged
			 * data (i.e., SND.NXT > SND.UNA), then the sending TCP buffers
			 * all user data ... until the outstanding data has been
			 * acknowledged or until the TCP can send a full-sized segment"),
			 * unless TCP_NODELAY ("a TCP MUST implement the Nagle Algorithm
			 * ... However, there MUST be a way for an application to disable
			 * the Nagle algorithm on an individual connection"). Like Linux
			 * we use Minshall's variant: "unacknowledged data" means a
			 * partial segment still unacknowledged (snd_sml), so a small
			 * tail after full segments leaves at once. */
			if (n < t->mss && n == avail && !t->fin_queued && !t->cork_push &&
			    !seq_lt(t->snd.nxt, t->snd_max)) {
				if (t->opt_cork) {
					if (!t->timer[TCP_T_CORK])
						tcp_timer_set(st, t, TCP_T_CORK, st->now_us + TCP_CORK_US);
					break;
				}
				if (!t->opt_nodelay && seq_gt(t->snd_sml, t->snd.una)) {
					st->stat.tcp_nagle_held++;
					break;
				}
			}
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
			if (n < t->mss)
				t->snd_sml = t->snd.nxt + n;
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

/* Send what TCP_CORK or Nagle held, after the application changed the
 * option: output, then the timers that go with it. */
void tcp_push(struct stack *st, struct tcb *t)
{
	if (t->timer[TCP_T_CORK] && !t->opt_cork)
		tcp_timer_set(st, t, TCP_T_CORK, 0);
	if (tcp_synced(t->state) && t->state != TCP_TIME_WAIT) {
		tcp_output(st, t);
		tcp_timers_update(st, t);
	}
}
