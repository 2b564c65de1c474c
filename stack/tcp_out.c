/* TCP output: building segments from the send ring, the window we advertise,
 * what the peer's window and cwnd let us send, resets and probes.
 *
 * Segments are built from scratch each time (first transmission and
 * retransmission alike): TCP keeps no packets, only bytes. */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"
#include "csum.h"

#define TCP_TSO_MAX 65535       /* the largest IP datagram a TSO frame may be */
#define TCP_OPT_MAX 40          /* the most option bytes a TCP header holds */

/* Our MSS: the device MTU less the IP and TCP headers (RFC 9293 3.7.1:
 * "MSS = MTU - sizeof(TCPHDR) - sizeof(IPHDR)"; IPv6's header is 40 bytes,
 * RFC 8200 8.3). */
uint16_t tcp_adv_mss(const struct stack *st, const struct tcb *t)
{
	unsigned mtu = st->dev->mtu;
	if (mtu > PKT_MAX_FRAME - ETH_HDR_LEN)
		mtu = PKT_MAX_FRAME - ETH_HDR_LEN;
	return (uint16_t)(mtu - tcp_ip_hlen(t) - TCP_HDR_LEN);
}

/* The MSS connection t announces on its SYN or SYN-ACK: ours, capped by
 * TCP_MAXSEG when the application set it (tcp(7): "If this option is set
 * before connection establishment, it also changes the MSS value announced
 * to the other end in the initial packet"; Linux's user_mss caps advmss).
 * Children of a listener inherit it (tcp_child_new). */
uint16_t tcp_syn_mss(const struct stack *st, const struct tcb *t)
{
	uint16_t mss = tcp_adv_mss(st, t);
	return t->user_mss && t->user_mss < mss ? t->user_mss : mss;
}

/* RCV.WND as last advertised: the distance from rcv.nxt to the right edge we
 * promised. 0 before any window was advertised. */
uint32_t tcp_rcv_wnd(const struct tcb *t)
{
	return seq_gt(t->rcv_adv, t->rcv.nxt) ? t->rcv_adv - t->rcv.nxt : 0;
}

/* Our window scale shift (RFC 7323 2.3), chosen once on the SYN: the
 * smallest that lets the 16-bit field cover the largest receive budget the
 * connection may reach (TCP_RMEM_MAX under autotuning: 7, as Linux's with
 * tcp_rmem[2] = 6 MB; the locked budget after SO_RCVBUF, as Linux's
 * window_clamp then), at most 14. */
uint8_t tcp_wscale_ours(const struct tcb *t)
{
	uint32_t size = t->rcv_locked ? t->rcv_budget : TCP_RMEM_MAX;
	uint8_t s = 0;
	while (s < TCP_WSCALE_MAX && (size >> s) > TCP_MAX_WND)
		s++;
	return s;
}

/* Our TSval clock (RFC 7323 5.4: "between 1 ms and 1 sec per tick"):
 * milliseconds, offset per address pair (ts_off, tcp_ts_offset) so that
 * TSvals tell nothing about the host's uptime yet grow across successive
 * connections to the same peer (its TIME-WAIT relies on it, RFC 6191). */
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
	/* RCV.BUFF is the receive budget, not the ring's current size: the
	 * ring grows when the bytes come (tcp_data_in) */
	uint32_t space = tcp_rcv_space(t);
	uint32_t max = tcp_max_adv(t);
	uint32_t wnd = space < max ? space : max;
	if (t->ws_ok)
		wnd &= ~((1u << t->rcv_wscale) - 1);
	uint32_t cur = tcp_rcv_wnd(t);
	uint32_t step = t->rcv_budget / 2;
	if (step > tcp_adv_mss(st, t))
		step = tcp_adv_mss(st, t);
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
	uint8_t  sack_perm;     /* SACK-permitted (SYNs) */
	uint8_t  nsack;         /* SACK blocks (RFC 2018 3) */
	struct tcp_range sack[TCP_SACK_RCV_MAX];
};

/* Write the options; returns their length (a multiple of 4). Layout as
 * Linux's, so traces look familiar: MSS, NOP NOP TS (SACK_PERM TS when
 * both), NOP NOP SACK_PERM (without TS), NOP WS, NOP NOP SACK blocks. */
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
		if (o->sack_perm) {
			b[n++] = TCP_OPT_SACK_PERM;
			b[n++] = 2;
		} else {
			b[n++] = TCP_OPT_NOP;
			b[n++] = TCP_OPT_NOP;
		}
		b[n++] = TCP_OPT_TS;
		b[n++] = 10;
		uint32_t v = htonl(o->tsval), e = htonl(o->tsecr);
		memcpy(b + n, &v, 4);
		memcpy(b + n + 4, &e, 4);
		n += 8;
	} else if (o->sack_perm) {
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_SACK_PERM;
		b[n++] = 2;
	}
	if (o->ws != 0xff) {
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_WS;
		b[n++] = 3;
		b[n++] = o->ws;
	}
	if (o->nsack) {
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_NOP;
		b[n++] = TCP_OPT_SACK;
		b[n++] = (uint8_t)(2 + 8 * o->nsack);
		for (unsigned i = 0; i < o->nsack; i++) {
			uint32_t l = htonl(o->sack[i].start), r = htonl(o->sack[i].end);
			memcpy(b + n, &l, 4);
			memcpy(b + n + 4, &r, 4);
			n += 8;
		}
	}
	return n;
}

static unsigned tcp_opts_len(const struct tcp_opts *o)
{
	if (!o)
		return 0;
	return (o->mss ? 4 : 0) + (o->ts ? TCP_TS_OPT_LEN : 0) + (o->ws != 0xff ? 4 : 0) +
	       (o->sack_perm && !o->ts ? 4 : 0) + (o->nsack ? 4 + 8u * o->nsack : 0);
}

/* What tcp_emit sends: the header fields, the options (NULL: none), len
 * payload bytes of ring from off, and the socket's IP_TOS / IP_TTL (so;
 * NULL: the defaults). wnd is the 16-bit field as sent (already scaled).
 * gso: with len > gso, one TSO frame (a large packet) the device cuts into
 * segments of gso payload bytes, each with these headers (NETDEV_F_TSO). */
struct tcp_emit_seg {
	struct nst_addr laddr, raddr;
	uint16_t lport, rport;
	uint32_t seq, ack;
	uint8_t  flags;
	uint32_t wnd;
	const struct tcp_opts *opts;
	const struct tcp_ring *ring;
	uint32_t off, len;
	uint16_t gso;
	const struct sock_opts *so;
};

/* Build and send one segment. Low-level: no TCB, the caller fills in
 * everything. Returns 0 or -ENOBUFS / -ENETUNREACH. */
static int tcp_emit(struct stack *st, const struct tcp_emit_seg *e)
{
	const struct tcp_opts *opts = e->opts;
	uint32_t len = e->len, gso = e->gso;
	int tso = gso && len > gso;
	struct pkt *p = tso ? pkt_alloc_large() : pkt_alloc();
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
	h->sport = htons(e->lport);
	h->dport = htons(e->rport);
	h->seq = htonl(e->seq);
	h->ack = htonl(e->ack);
	h->off = (uint8_t)((hlen / 4) << 4);
	h->flags = e->flags;
	h->wnd = htons((uint16_t)(e->wnd > 0xffff ? 0xffff : e->wnd));
	h->csum = 0;
	h->urp = 0;
	tcp_opts_write(b + TCP_HDR_LEN, opts);
	if (len)
		tcp_ring_copy_out(e->ring, e->off, b + hlen, len);
	int v4 = nst_addr_is_v4(&e->raddr);
	uint32_t sum = v4 ? csum_pseudo(nst_addr_v4(&e->laddr), nst_addr_v4(&e->raddr), IP_PROTO_TCP,
					(uint16_t)(hlen + len))
			  : csum_pseudo6(&e->laddr, &e->raddr, IP_PROTO_TCP, hlen + len);
	if (st->dev->features & NETDEV_F_TX_CSUM) {
		/* the device sums from the TCP header on: the field holds the
		 * pseudo-header sum, folded, not complemented (virtio NEEDS_CSUM;
		 * for TSO the length is the whole frame's, as Linux's
		 * tcp_v4_send_check: the device adjusts it per segment) */
		h->csum = htons((uint16_t)~csum_fold(sum));
		p->flags |= PKT_F_CSUM_PARTIAL;
		p->csum_start = (uint16_t)(p->data - p->buf);
		p->csum_off = (uint16_t)offsetof(struct tcp_hdr, csum);
	} else {
		h->csum = htons(csum_fold(csum_add(sum, b, hlen + len)));
	}
	/* tcp_tx counts wire segments, as Linux's TcpOutSegs (tcp_skb_pcount) */
	if (tso) {
		p->gso_size = (uint16_t)gso;
		st->stat.tcp_tso_tx++;
		st->stat.tcp_tx += (len + gso - 1) / gso;
	} else {
		st->stat.tcp_tx++;
	}
	if (e->flags & TCP_RST)
		st->stat.tcp_rst_tx++;
	if (e->so) {
		/* IP_TOS / IP_TTL of the connection (Linux ip_queue_xmit), or
		 * IPV6_TCLASS / IPV6_UNICAST_HOPS (inet6_sk) */
		p->ip_tos = v4 ? sockopt_tos(e->so) : sockopt_tclass(e->so);
		p->ip_ttl = v4 ? sockopt_ttl(e->so) : sockopt_hops(e->so);
	}
	return ip_output(st, p, IP_PROTO_TCP, &e->laddr, &e->raddr);
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
	o->mss = (flags & TCP_SYN) ? tcp_syn_mss(st, t) : 0;
	o->ws = 0xff;
	if ((flags & TCP_SYN) && (first_syn || t->ws_ok))
		o->ws = t->rcv_wscale;
	o->ts = (first_syn && !st->tcp.ts_off) || t->ts_ok;
	/* RFC 2018 2: SACK-permitted "MAY be sent in a SYN by a TCP that has
	 * been extended to receive (and presumably process) the SACK option";
	 * on a SYN-ACK only if the SYN had it (t->sack_ok, tcp_syn_options) */
	o->sack_perm = (flags & TCP_SYN) && (first_syn || t->sack_ok);
	o->nsack = 0;
	o->tsval = tcp_ts_now(st, t);
	/* "TSecr ... is only valid if the ACK bit is set"; zero otherwise */
	o->tsecr = (flags & TCP_ACK) ? t->ts_recent : 0;
}

/* Does the device cut t's TSO frames? TCPv4 (NETDEV_F_TSO) or, over IPv6,
 * TCPv6 without extension headers (NETDEV_F_TSO6). */
static int tcp_tso_ok(const struct stack *st, const struct tcb *t)
{
	return !!(st->dev->features & (tcp_ip_hlen(t) == IP_HDR_LEN ? NETDEV_F_TSO : NETDEV_F_TSO6));
}

/* The payload of each wire segment of a TSO frame of t: the effective MSS
 * (timestamps already taken off), less any other options this segment
 * carries beyond them, so every wire segment fits the MTU. 0 without TSO. */
static uint16_t tcp_gso_size(const struct stack *st, const struct tcb *t, const struct tcp_opts *o)
{
	if (!tcp_tso_ok(st, t))
		return 0;
	unsigned room = st->dev->mtu - tcp_ip_hlen(t) - TCP_HDR_LEN - tcp_opts_len(o);
	return (uint16_t)(t->mss < room ? t->mss : room);
}

/* Boundaries in the send sequence space: an ascending array of at most
 * TCP_MARKS_MAX sequence numbers, those at or below snd.una stale. Add seq
 * (above every mark): the stale ones go first, then, if still full, the
 * oldest (its boundary is forgotten: a retransmission there carries no PSH,
 * a record there may share a segment with what follows). */
static void tcp_mark_add(uint32_t *m, uint8_t *n, uint32_t seq, uint32_t una)
{
	unsigned k = 0;
	while (k < *n && !seq_gt(m[k], una))
		k++;
	if (k == 0 && *n == TCP_MARKS_MAX)
		k = 1;
	if (k) {
		memmove(m, m + k, (*n - k) * sizeof(*m));
		*n = (uint8_t)(*n - k);
	}
	if (*n && !seq_gt(seq, m[*n - 1]))
		return;
	m[(*n)++] = seq;
}

/* A segment sent with PSH ended at seq. */
static void tcp_psh_mark(struct tcb *t, uint32_t seq)
{
	tcp_mark_add(t->psh_end, &t->n_psh, seq, t->snd.una);
}

/* Whether seq is one of the n marks m. */
static int tcp_mark_at(const uint32_t *m, unsigned n, uint32_t seq)
{
	for (unsigned i = 0; i < n; i++)
		if (m[i] == seq)
			return 1;
	return 0;
}

/* Whether a segment sent with PSH ended at seq. */
static int tcp_psh_at(const struct tcb *t, uint32_t seq)
{
	return tcp_mark_at(t->psh_end, t->n_psh, seq);
}

void tcp_eor_mark(struct tcb *t, uint32_t seq)
{
	tcp_mark_add(t->eor_end, &t->n_eor, seq, t->snd.una);
}

/* Where the record holding seq ends: the first record end (MSG_EOR) above
 * seq, else the end of what is queued. */
static uint32_t tcp_record_end(const struct tcb *t, uint32_t seq)
{
	for (unsigned i = 0; i < t->n_eor; i++)
		if (seq_gt(t->eor_end[i], seq))
			return t->eor_end[i];
	return tcp_snd_end(t);
}

/* A retransmission from seq of at most len bytes stops at a record end, as
 * the first transmission did (Linux never joins skbs across an EOR mark,
 * tcp_skb_can_collapse). */
uint32_t tcp_rexmit_len(const struct tcb *t, uint32_t seq, uint32_t len)
{
	uint32_t rec = tcp_record_end(t, seq);
	return seq_lt(rec, seq + len) && seq_gt(rec, seq) ? rec - seq : len;
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
		t->total_retrans += len > t->mss && t->mss ? (len + t->mss - 1) / t->mss : 1;  /* segments, as Linux */
	/* PSH of data (tcp_output): new data sent with it leaves a mark at
	 * the end of its unit. A retransmission is cut into units again, as
	 * Linux resends skb by skb and puts PSH on the last segment of every
	 * packet of two or more it sends, the first time or again (an skb of
	 * one segment has it only when it ends pushed data): the segments a
	 * pass resends back to back form a unit that ends where a first
	 * transmission's unit ended (a mark); its last segment carries PSH
	 * when the unit has two or more. A lone segment resent (cwnd allows
	 * one, as in PRR or after a timeout) carries none where only a unit
	 * ended; where pushed data ended (what a send queued, a record: Linux
	 * marks that skb's PSH itself, tcp_mark_push) it does, and so does
	 * the caller's PSH (the segment ends what is queued now). */
	if (len && !(flags & (TCP_SYN | TCP_RST))) {
		if (seq_lt(seq, t->snd_max)) {
			uint32_t segs = (len + t->mss - 1) / t->mss;
			uint32_t run = (t->rxt_run_segs && seq == t->rxt_run_end ? t->rxt_run_segs : 0) + segs;
			int unit_end = tcp_psh_at(t, seq + len);
			if ((unit_end && run >= 2) || tcp_mark_at(t->push_end, t->n_push, seq + len))
				flags |= TCP_PSH;
			t->rxt_run_end = seq + len;
			t->rxt_run_segs = unit_end ? 0 : run;
		} else if (flags & TCP_PSH) {
			tcp_psh_mark(t, seq + len);
			if (seq + len == tcp_record_end(t, seq))
				tcp_mark_add(t->push_end, &t->n_push, seq + len, t->snd.una);
		}
	}
	if (flags & TCP_SYN) {
		/* the window of a SYN or SYN-ACK: RFC 7323 2.2 "The window field in
		 * a segment where the SYN bit is set (i.e., a <SYN> or <SYN,ACK>)
		 * MUST NOT be scaled." */
		uint32_t space = tcp_rcv_space(t);
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
			/* The field says wnd >> shift: round up (like Linux's
			 * tcp_select_window, ALIGN(cur_win, 1 << rcv_wscale)), so the
			 * edge the peer sees is the one we keep and never moves left
			 * by the rounding; it may pass the budget by less than one
			 * unit, which the ring absorbs (it grows to what arrives). */
			uint32_t g = (1u << t->rcv_wscale) - 1;
			wnd = (wnd + g) & ~g;
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
	if ((flags & (TCP_ACK | TCP_SYN | TCP_RST)) == TCP_ACK && t->sack_ok) {
		/* SACK blocks (RFC 2018 4) as the option room allows: 40 bytes
		 * less the timestamps, and in a data segment no more than fits
		 * beside the payload within the MSS (never in a TSO frame) */
		unsigned room = 40 - (o.ts ? TCP_TS_OPT_LEN : 0);
		uint32_t spare = t->mss > len ? t->mss - len : 0;  /* mss is net of TS */
		if (len && spare < room)
			room = spare;
		if (room >= 12)
			o.nsack = (uint8_t)tcp_sack_blocks(t, o.sack, (room - 4) / 8);
	}
	struct tcp_emit_seg e = {
		.laddr = t->laddr, .lport = t->lport, .raddr = t->raddr, .rport = t->rport,
		.seq = seq, .ack = ack, .flags = flags, .wnd = field, .opts = &o,
		.ring = &t->sndbuf, .off = len ? seq - t->sndbuf_seq : 0, .len = len,
		.gso = tcp_gso_size(st, t, &o), .so = &t->so,
	};
	int r = tcp_emit(st, &e);
	if (r == 0 && (len || (flags & TCP_FIN))) {
		tcp_rack_sent(st, t, seq, len, flags);  /* transmit time (RFC 8985 6.1) */
		t->lsnd_us = st->now_us;
	}
	return r;
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
		t->ts_off = tcp_ts_offset(st, &t->laddr, &t->raddr);
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
	struct tcp_emit_seg e = {
		.laddr = t->laddr, .lport = t->lport, .raddr = t->raddr, .rport = t->rport,
		.seq = t->snd_max, .ack = t->rcv.nxt, .flags = TCP_RST | TCP_ACK, .opts = &o,
		.so = &t->so,
	};
	tcp_emit(st, &e);
}

/* A reset in answer to seg, with no TCB (closed port, bad ACK in LISTEN or
 * SYN-SENT). RFC 9293 3.10.7.1: "If the ACK bit is off, sequence number
 * zero is used, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit
 * is on, <SEQ=SEG.ACK><CTL=RST>". Never in answer to a reset. */
void tcp_send_rst_reply(struct stack *st, const struct tcp_seg *seg)
{
	if (seg->flags & TCP_RST)
		return;
	struct tcp_emit_seg e = {
		.laddr = seg->dst, .lport = seg->dport, .raddr = seg->src, .rport = seg->sport,
	};
	if (seg->flags & TCP_ACK) {
		e.seq = seg->ack;
		e.flags = TCP_RST;
	} else {
		e.ack = seg->seq + tcp_seg_len(seg);
		e.flags = TCP_RST | TCP_ACK;
	}
	tcp_emit(st, &e);
}

/* Keepalive probe (RFC 1122 4.2.3.6): "sending a segment with SEG.SEQ =
 * SND.NXT-1 and with or without one garbage octet of data"; we send none
 * and use SND.UNA-1 like Linux, which is the same when nothing is in flight. */
void tcp_send_probe(struct stack *st, struct tcb *t)
{
	tcp_xmit(st, t, t->snd.una - 1, 0, TCP_ACK);
}

/* TCP_CORK or Nagle would hold a partial last segment of new data now (the
 * same test as in tcp_output, for the tail of a TSO frame). */
static int tcp_tail_held(const struct tcb *t)
{
	if (t->fin_queued || t->cork_push)
		return 0;
	return t->opt_cork || t->more_now || (!t->opt_nodelay && seq_gt(t->snd_sml, t->snd.una));
}

/* The payload of the next frame, out of n bytes the windows allow (avail
 * queued in this record; last_rec: the record is the last queued): one MSS; with TSO, whole MSS-sized segments up to a 64 KB IP
 * datagram (headers with the longest options counted), and a partial last
 * segment only when it ends what is queued and neither Nagle nor TCP_CORK
 * would hold it (as Linux's tcp_mss_split_point). Retransmissions stay
 * MSS-sized; without a free large packet, so does everything. */
static uint32_t tcp_frame_len(const struct stack *st, const struct tcb *t, uint32_t n,
			      uint32_t avail, int last_rec)
{
	uint32_t max = t->mss;
	if (tcp_tso_ok(st, t) && !seq_lt(t->snd.nxt, t->snd_max) &&
	    pkt_pool_large_in_use() < pkt_pool_large_size())
		max = (TCP_TSO_MAX - IP_HDR_LEN - TCP_HDR_LEN - TCP_OPT_MAX) / t->mss * t->mss;
	if (n > max)
		n = max;
	if (n > t->mss && n % t->mss && (n < avail || (last_rec && tcp_tail_held(t))))
		n -= n % t->mss;
	return n;
}

/* The segments of a transmission unit (Linux tcp_tso_autosize): what the
 * pacing rate sends in about a millisecond (1/1024 s, sk_pacing_shift 10),
 * at least net.ipv4.tcp_min_tso_segs (2), at most a 64 KB frame. The rate
 * is Linux's tcp_update_pacing_rate: max(cwnd, in flight) per srtt, times
 * 2 while cwnd is below half of ssthresh (slow start), 1.2 after. */
static uint32_t tcp_unit_segs(const struct stack *st, const struct tcb *t)
{
	uint32_t segs = st->tcp.min_tso_segs ? st->tcp.min_tso_segs : 2;
	if (t->srtt) {
		uint64_t win = t->cwnd > t->snd_max - t->snd.una ? t->cwnd : t->snd_max - t->snd.una;
		uint64_t ratio = t->cwnd < t->ssthresh / 2 ? 200 : 120;
		uint64_t r = win * ratio * 1000000 / (100ull * 1024 * t->srtt * t->mss);
		if (r > segs)
			segs = r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
	}
	uint32_t max = (TCP_TSO_MAX - IP_HDR_LEN - TCP_HDR_LEN - TCP_OPT_MAX) / t->mss;
	return segs < max ? segs : max;
}

/* The size of the transmission units of what a send queues, decided when it
 * is queued: Linux cuts the data of each write into skbs of size_goal
 * (tcp_xmit_size_goal: the autosized GSO size at write time), and later
 * transmissions send whole skbs, so units keep the size they had when the
 * data was written even after cwnd or the RTT changed (a write of 26 000
 * bytes at cwnd 10 and 10 ms goes out in units of two segments, each with
 * PSH on its last, while cwnd grows to 16). */
void tcp_unit_goal_update(const struct stack *st, struct tcb *t)
{
	uint32_t u = tcp_unit_segs(st, t);
	t->unit_goal = (uint16_t)(u < UINT16_MAX ? u : UINT16_MAX);
}

/* ---- send memory of an SO_SNDBUF socket: Linux's write queue ---------
 *
 * With SO_SNDBUF set, when a write blocks and when the writer wakes is
 * Linux's accounting of its write queue, a list of skbs: sk_wmem_queued
 * counts each skb's truesize, its payload plus TCP_SKB_OVERHEAD. nstack keeps
 * bytes in a ring and emulates the list by the ends of its skbs (vskb_end):
 *
 *  - tcp_sendmsg fills the tail skb while it is not sent, up to size_goal
 *    (tcp_size_goal); a new skb starts only while
 *    wmem_queued < sndbuf (sk_stream_memory_free), else the write blocks;
 *    wmem_queued = bytes queued (snd.una to the end) + skbs x overhead;
 *  - a transmission unit (a GSO packet) is one skb: tso_fragment cuts the
 *    skb where the unit ends, tcp_grow_skb pulls the next skb's bytes in
 *    when the unit is larger (tcp_vskb_sent);
 *  - an ACK frees whole skbs and trims the first (tcp_trim_head): the ends
 *    at or below snd.una go;
 *  - the writer wakes, and poll says POLLOUT, when
 *    sndbuf - wmem_queued >= wmem_queued / 2 (sk_stream_write_space,
 *    __sk_stream_is_writeable), after the ACK's own transmissions.
 *
 * PSH goes where tcp_mark_push puts it: on the skb that is full while the
 * queue passed pushed_seq by half the largest window (forced_push), and on
 * the tail when a write ends or blocks (tcp_push); the tail keeps its PSH
 * while the same write fills it further. The marks are push_end[]. */

/* Drop the ends at or below snd.una; a queue the model never saw (SO_SNDBUF
 * set with bytes queued) is one skb, and bytes queued past the last end
 * another. */
static void vskb_gc(struct tcb *t)
{
	unsigned k = 0;
	while (k < t->n_vskb && !seq_gt(t->vskb_end[k], t->snd.una))
		k++;
	if (k) {
		memmove(t->vskb_end, t->vskb_end + k, (t->n_vskb - k) * sizeof(t->vskb_end[0]));
		t->n_vskb = (uint8_t)(t->n_vskb - k);
	}
	uint32_t end = tcp_snd_end(t);
	if (t->sndbuf.len && (!t->n_vskb || seq_lt(t->vskb_end[t->n_vskb - 1], end))) {
		if (t->n_vskb == TCP_VSKB_MAX) {
			t->vskb_end[TCP_VSKB_MAX - 1] = end;
		} else {
			t->vskb_end[t->n_vskb++] = end;
		}
	}
}

/* An skb ends at seq (inside the queue): the skb holding it is cut there.
 * With the array full the two oldest merge. */
static void vskb_cut(struct tcb *t, uint32_t seq)
{
	unsigned i = t->n_vskb;
	if (!seq_gt(seq, t->snd.una))
		return;
	while (i > 0 && seq_gt(t->vskb_end[i - 1], seq))
		i--;
	if ((i > 0 && t->vskb_end[i - 1] == seq) || i == t->n_vskb)
		return;     /* already an end, or past the queue */
	if (t->n_vskb == TCP_VSKB_MAX) {
		if (i == 0)
			return;
		memmove(t->vskb_end, t->vskb_end + 1, (TCP_VSKB_MAX - 1) * sizeof(t->vskb_end[0]));
		t->n_vskb--;
		i--;
	}
	memmove(t->vskb_end + i + 1, t->vskb_end + i, (t->n_vskb - i) * sizeof(t->vskb_end[0]));
	t->vskb_end[i] = seq;
	t->n_vskb++;
}

/* New data [s, e) left as one transmission unit: one skb (tcp_write_xmit:
 * tcp_grow_skb when the skb is shorter than the unit, tso_fragment when it
 * is longer). */
static void tcp_vskb_sent(struct tcb *t, uint32_t s, uint32_t e)
{
	vskb_gc(t);
	unsigned i = 0, j;
	while (i < t->n_vskb && !seq_gt(t->vskb_end[i], s))
		i++;
	j = i;
	while (j < t->n_vskb && seq_lt(t->vskb_end[j], e))
		j++;
	if (j > i) {
		memmove(t->vskb_end + i, t->vskb_end + j, (t->n_vskb - j) * sizeof(t->vskb_end[0]));
		t->n_vskb = (uint8_t)(t->n_vskb - (j - i));
	}
	vskb_cut(t, e);
}

/* Linux's sk_wmem_queued. */
uint64_t tcp_wmem_queued(struct tcb *t)
{
	vskb_gc(t);
	return t->sndbuf.len + (uint64_t)TCP_SKB_OVERHEAD * t->n_vskb;
}

/* __sk_stream_is_writeable: sk_stream_wspace >= sk_stream_min_wspace (free
 * send memory at least half of what is queued) and sk_stream_memory_free. */
int tcp_snd_writeable(struct tcb *t)
{
	uint64_t w = tcp_wmem_queued(t), sb = (uint32_t)t->opt_sndbuf;
	return w < sb && sb - w >= w / 2;
}

/* Linux tcp_xmit_size_goal: the largest GSO packet (sk_gso_max_size) bound
 * to half the largest window the peer offered (tcp_bound_to_half_wnd),
 * in whole segments, at least one. */
static uint32_t tcp_size_goal(const struct tcb *t)
{
	uint32_t mss = t->mss ? t->mss : TCP_MSS_DEF, goal = TCP_GSO_MAX_SIZE;
	uint32_t mw = t->max_snd_wnd;
	uint32_t cutoff = mw > TCP_MSS_DEF ? mw / 2 : mw;
	uint32_t floor = 68u - TCP_HDR_LEN - (t->ts_ok ? 12u : 0u);
	if (cutoff && goal > cutoff)
		goal = cutoff > floor ? cutoff : floor;
	goal = goal / mss * mss;
	return goal > mss ? goal : mss;
}

/* tcp_mark_push: PSH on the skb ending at seq. */
static void tcp_vskb_mark_push(struct tcb *t, uint32_t seq)
{
	tcp_mark_add(t->push_end, &t->n_push, seq, t->snd.una);
	t->pushed_seq = seq;
}

/* The tail skb [start, end) grew to nend: a PSH it had moves with its end
 * when the same write fills it (keep), else goes; a fresh skb had none (tcp_sendmsg_locked: the
 * first copy of a write clears the tail's PSH). */
static void vskb_tail_grow(struct tcb *t, uint32_t end, uint32_t nend, int keep, int fresh)
{
	if (!fresh && t->n_push && t->push_end[t->n_push - 1] == end && seq_gt(end, t->snd_max)) {
		if (keep)
			t->push_end[t->n_push - 1] = nend;
		else
			t->n_push--;
	}
	t->vskb_end[t->n_vskb - 1] = nend;
}

/* Queue up to len bytes of buf as Linux's tcp_sendmsg_locked would, with
 * the transmissions it starts on the way (tcp_push_one when the skb that
 * filled is the next to send, __tcp_push_pending_frames on forced_push).
 * Returns the bytes queued; *blocked: a new skb was due and the send
 * memory is used up (sk_stream_memory_free), or the ring could not grow
 * (2). The caller marks PSH and pushes (tcp_push). */
ssize_t tcp_vskb_send(struct stack *st, struct tcb *t, const void *buf, uint32_t len,
		      int *blocked)
{
	uint32_t goal = tcp_size_goal(t), sb = (uint32_t)t->opt_sndbuf;
	uint32_t copied = 0;
	*blocked = 0;
	vskb_gc(t);
	while (copied < len) {
		uint32_t end = tcp_snd_end(t), copy = 0, start;
		/* tcp_write_queue_tail: the tail skb takes more while it is not
		 * sent and no record ends it (tcp_skb_can_collapse_to) */
		if (t->n_vskb && seq_gt(end, t->snd_max) &&
		    !tcp_mark_at(t->eor_end, t->n_eor, end)) {
			start = t->n_vskb >= 2 ? t->vskb_end[t->n_vskb - 2] : t->snd.una;
			if (seq_lt(start, t->snd_max))
				start = t->snd_max;
			copy = goal > end - start ? goal - (end - start) : 0;
		}
		int fresh = 0;
		if (!copy) {
			/* new_segment: sk_stream_memory_free */
			if (tcp_wmem_queued(t) >= sb) {
				*blocked = 1;
				break;
			}
			if (t->n_vskb == TCP_VSKB_MAX) {
				memmove(t->vskb_end, t->vskb_end + 1,
					(TCP_VSKB_MAX - 1) * sizeof(t->vskb_end[0]));
				t->n_vskb--;
			}
			t->vskb_end[t->n_vskb++] = end;
			copy = goal;
			fresh = 1;
		}
		if (copy > len - copied)
			copy = len - copied;
		if (tcp_ring_grow(st, &t->sndbuf, t->sndbuf.len + copy, sb + goal) < 0) {
			uint32_t f = tcp_ring_free(&t->sndbuf);
			copy = copy < f ? copy : f;
			if (!copy) {
				if (fresh)
					t->n_vskb--;
				*blocked = 2;
				break;
			}
		}
		tcp_ring_copy_in(&t->sndbuf, t->sndbuf.len, (const uint8_t *)buf + copied, copy);
		t->sndbuf.len += copy;
		vskb_tail_grow(t, end, end + copy, copied > 0, fresh);
		copied += copy;
		end += copy;
		if (copied == len)
			break;
		start = t->n_vskb >= 2 ? t->vskb_end[t->n_vskb - 2] : t->snd.una;
		if (seq_lt(start, t->snd_max))
			start = t->snd_max;
		if (end - start < goal)
			continue;
		if (seq_gt(end, t->pushed_seq + t->max_snd_wnd / 2)) {
			/* forced_push: tcp_mark_push, __tcp_push_pending_frames */
			tcp_vskb_mark_push(t, end);
			tcp_output(st, t);
		} else if (start == t->snd.nxt) {
			/* the skb is tcp_send_head: tcp_push_one */
			t->push_one = 1;
			tcp_output(st, t);
			t->push_one = 0;
		}
	}
	return copied;
}

/* tcp_push's mark (the caller's): PSH on the tail unless MSG_MORE holds it
 * and the queue has not passed pushed_seq by half the largest window. */
void tcp_vskb_push(struct tcb *t, int more)
{
	uint32_t end = tcp_snd_end(t);
	if (!more || seq_gt(end, t->pushed_seq + t->max_snd_wnd / 2))
		tcp_vskb_mark_push(t, end);
}

/* Segments in n bytes, a partial one counted whole (Linux counts
 * packets, each at most one MSS). */
static uint32_t tcp_segs(const struct tcb *t, uint32_t n)
{
	return (n + t->mss - 1) / t->mss;
}

/* Congestion window validation after a send (RFC 7661, as Linux's
 * tcp_cwnd_validate): per window of data (until snd.una passes
 * cwnd_usage_seq, the snd.nxt of its start) remember whether cwnd was full
 * (what is in flight reached cwnd) and otherwise the most segments that
 * were out. tcp_cwnd_may_grow decides from these: RFC 7661 4.1 lets cwnd
 * grow only while "the sender is cwnd-limited", and an application- or
 * rwnd-limited sender's ACKs say nothing about the path. */
static void tcp_cwnd_validate(struct tcb *t, int sent)
{
	uint32_t out = tcp_segs(t, t->snd_max - t->snd.una);
	uint32_t inflight = t->sack_ok ? tcp_sack_pipe(t) : t->snd_max - t->snd.una;
	int limited = tcp_segs(t, inflight) >= t->cwnd / t->mss;
	if (!sent && !limited)
		return;
	if (seq_geq(t->snd.una, t->cwnd_usage_seq) || limited ||
	    (!t->cwnd_limited && out > t->max_out_segs)) {
		t->cwnd_limited = (uint8_t)limited;
		t->max_out_segs = out;
		t->cwnd_usage_seq = t->snd.nxt;
	}
}

/* Slow start after idle (RFC 5681 4.1: "if the TCP has not sent data in an
 * interval exceeding the retransmission timeout ... cwnd is set to no more
 * than RW before beginning transmission"; RFC 7661 lets a sender keep it,
 * Linux's net.ipv4.tcp_slow_start_after_idle chooses). As Linux's
 * tcp_cwnd_restart, called when a send finds nothing in flight after such
 * an interval: ssthresh keeps at least 3/4 of cwnd, cwnd halves per RTO of
 * idleness down to the restart window (the initial one, or cwnd if
 * smaller), and the units of that send are cut from the restarted cwnd. */
void tcp_cwnd_restart(struct stack *st, struct tcb *t)
{
	uint64_t delta = st->now_us - t->lsnd_us;
	uint32_t restart = TCP_IW_SEGS * (uint32_t)t->mss, cwnd = t->cwnd;
	uint32_t keep = (cwnd >> 1) + (cwnd >> 2);
	if (!t->in_recovery && t->ssthresh < keep)
		t->ssthresh = keep;
	if (restart > cwnd)
		restart = cwnd;
	while (delta > t->rto && cwnd > restart) {
		delta -= t->rto;
		cwnd >>= 1;
	}
	t->cwnd = cwnd > restart ? cwnd : restart;
	t->cwnd_limited = 0;
	t->max_out_segs = 0;
	st->stat.tcp_cwnd_restart++;
}

/* Whether an ACK may grow cwnd (Linux's tcp_is_cwnd_limited): cwnd was
 * full in the current window; or, in slow start, cwnd is below twice the
 * most segments out in it ("ensure cwnd grows to twice what was ACKed":
 * an application that sends 9 segments of an initial window of 10 takes
 * cwnd to 18, one that sends 5 leaves it at 10). */
int tcp_cwnd_may_grow(const struct tcb *t)
{
	if (t->cwnd_limited)
		return 1;
	if (t->cwnd < t->ssthresh)
		return t->cwnd < 2 * (uint64_t)t->max_out_segs * t->mss;
	return 0;
}

/* Send what the send ring holds and the windows allow: new data, data to
 * resend after snd.nxt went back, and our FIN once the ring is all sent.
 * Segments are at most the effective MSS, or with TSO frames of several
 * MSS-sized segments (tcp_frame_len) the device cuts up, clearing PSH and
 * FIN on all but the last. No segment crosses a record end (MSG_EOR).
 *
 * PSH, as Linux puts it (RFC 9293 3.9.1 leaves it to the sender beyond the
 * end of pushed data): new data goes out in transmission units, Linux's
 * GSO packets: a unit is tcp_unit_segs segments (the pacing rate times a
 * millisecond, at least 2) as of the send that queued the data
 * (tcp_unit_goal_update), at most half of cwnd and what the windows
 * allow now (Linux tcp_cwnd_test: "ensure we have at least 2 GSO packets
 * in flight"), and ends at the end of a record or of what is queued. The
 * last segment of a unit of two or more carries PSH; a unit of one only
 * when it ends pushed data (a lone segment cwnd allows, as in limited
 * transmit or PRR, has none). A receiver that coalesces segments (GRO)
 * flushes on PSH, so a burst is delivered as its units arrive, not when
 * the flush timer fires. Data queued with MSG_MORE is not pushed: no PSH
 * on it (Linux marks PSH only when a send without it pushes). With TSO a
 * frame is one unit. A retransmission carries PSH where the first
 * transmission of that data ended with it (tcp_xmit). Returns the number
 * of frames sent. */
int tcp_output(struct stack *st, struct tcb *t)
{
	if (!tcp_synced(t->state) || t->state == TCP_TIME_WAIT)
		return 0;
	t->xmit_nobufs = 0;
	uint32_t end = tcp_snd_end(t);
	t->rxt_run_segs = 0;    /* a retransmission run is one pass's (tcp_xmit) */
	/* min(snd.wnd, cwnd) past snd.una; in SACK loss recovery the holes
	 * go first and new data fits in cwnd - pipe (RFC 6675 5, tcp_sack.c) */
	uint32_t limit = tcp_send_limit(st, t);
	uint32_t unit_left = 0, unit_segs = 0;  /* segments left in the unit, its size */
	uint32_t ustart = t->snd.nxt;           /* where the unit began */
	int sent = 0;
	for (;;) {
		if (seq_lt(t->snd.nxt, end)) {
			uint32_t rec = tcp_record_end(t, t->snd.nxt);
			int last_rec = rec == end;
			uint32_t avail = rec - t->snd.nxt;
			uint32_t room = seq_lt(t->snd.nxt, limit) ? limit - t->snd.nxt : 0;
			int new_data = !seq_lt(t->snd.nxt, t->snd_max);
			if (new_data && !unit_left)
				ustart = t->snd.nxt;
			if (new_data && !unit_left && room >= t->mss) {
				/* a new unit: its size, half of cwnd, what the
				 * windows allow now (at least one segment) */
				uint32_t u = t->unit_goal ? t->unit_goal : tcp_unit_segs(st, t);
				uint32_t half = t->cwnd / t->mss / 2, r = room / t->mss;
				if (u > half)
					u = half;
				if (u > r)
					u = r;
				unit_left = unit_segs = u ? u : 1;
			}
			if (new_data && unit_left && room > unit_left * t->mss)
				room = unit_left * t->mss;
			uint32_t n = tcp_frame_len(st, t, avail < room ? avail : room, avail, last_rec);
			if (n == 0)
				break;
			/* RFC 1122 4.2.3.4 sender SWS avoidance: send "(a) a maximum-
			 * sized segment", "(b) ... all queued data", "(c) at least a
			 * fraction Fs of the maximum window" (Fs = 1/2), or "(d) ... the
			 * override timeout occurs": with nothing in flight that is the
			 * persist timer (tcp_timer.c, as Linux's probe timer), which then
			 * sends what the window takes. */
			if (n < t->mss && n < avail && n < t->max_snd_wnd / 2)
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
			 * tail after full segments leaves at once. A send with
			 * MSG_MORE holds its tail like TCP_CORK, for that call only
			 * (Linux tcp_push with TCP_NAGLE_CORK): the next send without
			 * it, or any later output (an ACK arriving) decides by the
			 * rules above, and the cork ceiling bounds the wait. */
			if (n < t->mss && n == avail && last_rec && !t->fin_queued && !t->cork_push &&
			    new_data) {
				if (t->opt_cork || t->more_now) {
					if (!t->timer[TCP_T_CORK])
						tcp_timer_set(st, t, TCP_T_CORK, st->now_us + TCP_CORK_US);
					break;
				}
				if (!t->opt_nodelay && seq_gt(t->snd_sml, t->snd.una)) {
					st->stat.tcp_nagle_held++;
					break;
				}
			}
			/* PSH on the segment that ends what the application pushed
			 * (RFC 9293 3.9.1, RFC 1122 4.2.2.2: "the last buffered
			 * segment"), a record end included, and on the last of a
			 * unit of two or more (above); a retransmission's is
			 * tcp_xmit's */
			uint8_t flags = TCP_ACK;
			if (n == avail) {
				if (!last_rec || !t->snd_more)
					flags |= TCP_PSH;
				if (last_rec && t->fin_queued)
					flags |= TCP_FIN | TCP_PSH;
				unit_left = 0;  /* a record or the queue ends the unit */
			} else if (new_data && unit_left) {
				uint32_t segs = n / t->mss;
				unit_left = segs < unit_left ? unit_left - segs : 0;
				if (!unit_left && unit_segs >= 2 && !t->snd_more)
					flags |= TCP_PSH;
			}
			/* a unit that ends where a write marked PSH (tcp_mark_push on
			 * the skb: an SO_SNDBUF socket's forced push) */
			if (new_data && !unit_left && t->n_push &&
			    tcp_mark_at(t->push_end, t->n_push, t->snd.nxt + n))
				flags |= TCP_PSH;
			if (seq_lt(t->snd.nxt, t->snd_max))
				st->stat.tcp_retrans++;
			else if (!t->rtt_on) {
				t->rtt_on = 1;
				t->rtt_start = st->now_us;
				t->rtt_seq = t->snd.nxt + n;
			}
			if (tcp_xmit(st, t, t->snd.nxt, n, flags) == -ENOBUFS) {
				t->xmit_nobufs = 1;     /* tcp_timers_update: retry */
				break;
			}
			if (n % t->mss)         /* ends with a partial segment */
				t->snd_sml = t->snd.nxt + n;
			if (new_data && t->snd_locked)
				tcp_vskb_sent(t, ustart, t->snd.nxt + n);
			t->snd.nxt += n + !!(flags & TCP_FIN);
			if (seq_gt(t->snd.nxt, t->snd_max)) {
				t->snd_max = t->snd.nxt;
				t->tlp_restart = 1;     /* new data: restart the PTO */
			}
			sent++;
			if (flags & TCP_FIN)
				break;
			/* tcp_push_one: one skb */
			if (t->push_one && new_data && !unit_left)
				break;
		} else if (t->fin_queued && t->snd.nxt == end) {
			/* FIN alone; it needs no window (it takes no buffer space). */
			if (seq_lt(t->snd.nxt, t->snd_max))
				st->stat.tcp_retrans++;
			if (tcp_xmit(st, t, end, 0, TCP_FIN | TCP_ACK) == -ENOBUFS) {
				t->xmit_nobufs = 1;
				break;
			}
			t->snd.nxt = end + 1;
			t->snd_max = seq_max(t->snd_max, t->snd.nxt);
			sent++;
			break;
		} else {
			break;
		}
	}
	/* bytes sent are no longer unsent: a writer waiting on
	 * TCP_NOTSENT_LOWAT may go on (an ACK that opened the window notified
	 * before this output ran) */
	tcp_cwnd_validate(t, sent);
	t->rxt_run_segs = 0;
	if (sent && (t->so.notsent_lowat || st->tcp.notsent_lowat))
		tcp_notify(st, t);
	/* nothing held any more: the cork ceiling counts from the next hold,
	 * not from one whose bytes already left */
	if (t->timer[TCP_T_CORK] && !seq_lt(t->snd.nxt, end))
		tcp_timer_set(st, t, TCP_T_CORK, 0);
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
 * option (Linux tcp_push_pending_frames): output, then the timers that go
 * with it, and the device flushed: the segments leave before the
 * application's call returns, not at the next poll of the stack (which may
 * be as late as the cork ceiling). force: what is queued goes even past
 * TCP_CORK (setting TCP_NODELAY, Linux's TCP_NAGLE_PUSH: "cork is
 * overridden for already queued data"). */
void tcp_push(struct stack *st, struct tcb *t, int force)
{
	if (t->timer[TCP_T_CORK] && !t->opt_cork)
		tcp_timer_set(st, t, TCP_T_CORK, 0);
	if (tcp_synced(t->state) && t->state != TCP_TIME_WAIT) {
		t->cork_push = (uint8_t)!!force;
		tcp_output(st, t);
		t->cork_push = 0;
		tcp_timers_update(st, t);
		stack_flush(st);
	}
}
