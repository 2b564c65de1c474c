/* SYN cookies (RFC 4987 3.6), as Linux's syncookies=1: when a listener's
 * SYN queue is full (or the TCB table has no room for a child), the SYN-ACK
 * carries all the state we need in its ISS and no TCB is kept. The peer's
 * ACK (SEG.ACK = cookie + 1) gives it back; if it checks out, the child is
 * made then, already at the end of the handshake.
 *
 * The cookie, Linux's secure_tcp_syn_cookie layout:
 *   H(4-tuple, 0) + SEG.SEQ(SYN) + (count << 24) + ((H(4-tuple, count) + mssind) mod 2^24)
 * count is a one-minute counter of st->now_us; a cookie is good for the
 * minute it was made in and the next (MAX_SYNCOOKIE_AGE 2). H is SipHash-2-4
 * under the stack's secret (drawn from the injected randomness) with its
 * own domain byte. mssind indexes Linux's MSS table.
 *
 * With timestamps, the low 6 bits of our SYN-ACK's TSval carry the peer's
 * window scale (0xf: none), SACK-permitted and ECN (Linux
 * cookie_init_timestamp); the peer echoes them in TSecr, so a cookie
 * connection keeps them. Without timestamps it has neither (as Linux).
 *
 * Pure: time is st->now_us; no state but the listener's overflow time. */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

#define COOKIEBITS 24
#define COOKIEMASK ((1u << COOKIEBITS) - 1)
#define COOKIE_PERIOD_US (60ull * 1000000)     /* Linux TCP_SYNCOOKIE_PERIOD */
#define COOKIE_MAX_AGE 2                        /* Linux MAX_SYNCOOKIE_AGE */
#define TSBITS 6                                /* Linux TSBITS */
#define TS_OPT_WSCALE_MASK 0xfu
#define TS_OPT_SACK 0x10u
#define TS_OPT_ECN  0x20u

/* Linux's msstab: the MSS values a cookie can say; the peer's MSS is rounded
 * down to one of them. */
static const uint16_t msstab[] = { 536, 1300, 1440, 1460 };
#define MSSTAB_N (sizeof(msstab) / sizeof(msstab[0]))

static uint32_t cookie_hash(const struct stack *st, const struct tcp_seg *seg, uint32_t count,
			    uint8_t c)
{
	uint8_t id[42];
	memcpy(id, seg->dst.b, 16);
	memcpy(id + 16, seg->src.b, 16);
	memcpy(id + 32, &seg->dport, 2);
	memcpy(id + 34, &seg->sport, 2);
	memcpy(id + 36, &count, 4);
	id[40] = 'C';           /* domain: not an ISS nor a port offset */
	id[41] = c;
	return (uint32_t)siphash24(st->key, id, sizeof(id));
}

static uint32_t cookie_count(const struct stack *st)
{
	return (uint32_t)(st->now_us / COOKIE_PERIOD_US);
}

uint32_t tcp_syncookie_make(const struct stack *st, const struct tcp_seg *seg, unsigned mssind)
{
	uint32_t count = cookie_count(st);
	return cookie_hash(st, seg, 0, 0) + seg->seq + (count << COOKIEBITS) +
	       ((cookie_hash(st, seg, count, 1) + mssind) & COOKIEMASK);
}

/* seg is the ACK; cookie and sseq what the SYN-ACK and SYN carried. */
int tcp_syncookie_check(const struct stack *st, const struct tcp_seg *seg, uint32_t cookie,
			uint32_t sseq)
{
	uint32_t count = cookie_count(st);
	cookie -= cookie_hash(st, seg, 0, 0) + sseq;
	uint32_t diff = (count - (cookie >> COOKIEBITS)) & (0xffffffffu >> COOKIEBITS);
	if (diff >= COOKIE_MAX_AGE)
		return -1;
	uint32_t mssind = (cookie - cookie_hash(st, seg, count - diff, 1)) & COOKIEMASK;
	return mssind < MSSTAB_N ? (int)mssind : -1;
}

void tcp_syncookie_send(struct stack *st, struct tcb *l, const struct tcp_seg *seg)
{
	unsigned mssind = MSSTAB_N - 1;
	uint16_t mss = seg->mss ? seg->mss : TCP_MSS_DEF;
	while (mssind && mss < msstab[mssind])
		mssind--;
	/* The SYN-ACK is built by tcp_xmit from a TCB that lives only for this
	 * call and is never in the table: a copy of the listener (the options
	 * and budgets a child inherits), so it says what a child's SYN-ACK
	 * would (our window, MSS, scale), with the cookie as ISS. (tcp_xmit
	 * arms no timer and links nothing for a SYN: nothing outlives the call.) */
	struct tcb tmp = *l;
	memset(tmp.timer, 0, sizeof(tmp.timer));
	memset(&tmp.sndbuf, 0, sizeof(tmp.sndbuf));
	memset(&tmp.rcvbuf, 0, sizeof(tmp.rcvbuf));     /* never touched: no data */
	memset(&tmp.rcv_held, 0, sizeof(tmp.rcv_held));
	tmp.hnext = tmp.hpos = tmp.parent = -1;
	tmp.owned = 0;
	tmp.state = TCP_SYN_RECEIVED;
	tmp.laddr = seg->dst;
	tmp.lport = seg->dport;
	tmp.raddr = seg->src;
	tmp.rport = seg->sport;
	tmp.iss = tcp_syncookie_make(st, seg, mssind);
	tmp.snd.una = tmp.iss;
	tmp.snd.nxt = tmp.snd_max = tmp.sndbuf_seq = tmp.iss + 1;
	tmp.irs = seg->seq;
	tmp.rcv.nxt = seg->seq + 1;
	tmp.rcv_wscale = tcp_wscale_ours(&tmp);
	/* Without timestamps nothing can carry window scale or SACK-permitted
	 * back: offer neither (Linux tcp_conn_request: tcp_clear_options) */
	int use_ts = seg->has_ts && !st->tcp.ts_off;    /* ours off: the peer's ignored */
	tmp.ws_ok = use_ts && seg->has_ws;
	tmp.sack_ok = use_ts && seg->sack_perm;
	tmp.ts_ok = (uint8_t)use_ts;
	tmp.ts_recent = seg->tsval;
	tmp.ts_off = tcp_ts_offset(st, &tmp.laddr, &tmp.raddr); /* the child's TSval clock */
	if (use_ts) {
		/* Linux cookie_init_timestamp: the options in the low bits of a
		 * TSval no later than the clock */
		uint32_t now = tcp_ts_now(st, &tmp);
		uint32_t opts = seg->has_ws ? (seg->ws > TCP_WSCALE_MAX ? TCP_WSCALE_MAX : seg->ws)
					    : TS_OPT_WSCALE_MASK;
		if (seg->sack_perm)
			opts |= TS_OPT_SACK;
		uint32_t ts = (now >> TSBITS) << TSBITS | opts;
		if (seq_gt(ts, now))
			ts -= 1u << TSBITS;
		tmp.ts_off -= now - ts;
	}
	l->synq_overflow_us = st->now_us ? st->now_us : 1;
	st->stat.syncookies_sent++;
	tcp_xmit(st, &tmp, tmp.iss, 0, TCP_SYN | TCP_ACK);
}

int tcp_syncookie_ack(struct stack *st, struct tcb *l, struct tcp_seg *seg, struct tcb **child)
{
	/* Linux tcp_synq_no_recent_overflow: no cookie was sent lately, so
	 * this cannot be an answer to one (the listener resets it). */
	if (!l->synq_overflow_us || st->now_us - l->synq_overflow_us > TCP_SYNCOOKIE_VALID_US)
		return 0;
	int mssind = tcp_syncookie_check(st, seg, seg->ack - 1, seg->seq - 1);
	if (mssind < 0) {
		st->stat.syncookies_failed++;
		return 0;
	}
	/* Linux cookie_timestamp_decode: TSecr echoes our TSval and its options */
	uint8_t ws_ok = 0, wscale = 0, sack_ok = 0;
	int use_ts = seg->has_ts && !st->tcp.ts_off;
	if (use_ts) {
		uint32_t opts = seg->tsecr & ((1u << TSBITS) - 1);
		sack_ok = !!(opts & TS_OPT_SACK);
		if ((opts & TS_OPT_WSCALE_MASK) != TS_OPT_WSCALE_MASK) {
			ws_ok = 1;
			wscale = (uint8_t)(opts & TS_OPT_WSCALE_MASK);
			if (wscale > TCP_WSCALE_MAX) {
				st->stat.syncookies_failed++;
				return 0;
			}
		}
	}
	/* the accept queue is checked again when the handshake completes */
	if (l->acc_n > (unsigned)l->backlog) {
		st->stat.tcp_drop_listen++;
		return -1;
	}
	struct tcb *t = tcp_child_new(st, l, seg);
	if (!t) {
		st->stat.tcp_drop_listen++;
		return -1;
	}
	uint32_t iss = seg->ack - 1;
	t->irs = seg->seq - 1;
	t->rcv.nxt = seg->seq;
	t->iss = iss;
	t->snd.una = iss;
	t->snd.nxt = t->snd_max = iss + 1;
	t->sndbuf_seq = iss + 1;
	t->recover = iss;
	t->snd_sml = iss;
	t->snd.wl1 = t->irs;
	t->snd.wl2 = iss;
	t->rcv_wscale = tcp_wscale_ours(t);
	t->ts_off = tcp_ts_offset(st, &t->laddr, &t->raddr);
	t->ws_ok = ws_ok;
	t->snd_wscale = ws_ok ? wscale : 0;
	if (!ws_ok)
		t->rcv_wscale = 0;
	t->sack_ok = sack_ok;
	t->ts_ok = (uint8_t)use_ts;
	if (use_ts) {
		t->ts_recent = seg->tsval;
		t->ts_recent_ok = 1;
		t->ts_recent_us = st->now_us;
	}
	tcp_set_mss(st, t, msstab[mssind]);
	/* the window our SYN-ACK offered (unscaled, as on every SYN; tcp_xmit) */
	uint32_t space = tcp_rcv_space(t);
	t->rcv.wnd = space < TCP_MAX_WND ? space : TCP_MAX_WND;
	t->rcv_adv = t->rcv.nxt + t->rcv.wnd;
	t->rcv_acked = t->rcv.nxt;
	if (ws_ok)
		seg->wnd <<= t->snd_wscale;
	tcp_hash_insert(st, t);
	tcp_set_state(st, t, TCP_SYN_RECEIVED);
	t->segs_in++;
	st->stat.tcp_passive_open++;
	st->stat.syncookies_recv_ok++;
	*child = t;
	return 1;
}
