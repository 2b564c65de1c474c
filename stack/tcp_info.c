/* TCP options that sock.c's nst_setsockopt/nst_getsockopt hand on (TCP_CORK,
 * TCP_QUICKACK, TCP_USER_TIMEOUT, TCP_CONGESTION, SO_RCVLOWAT), and the
 * TCP_INFO snapshot of one connection (nst_tcp_info; preload/ lays it out as
 * Linux's struct tcp_info).
 *
 * Values and errors follow Linux do_tcp_setsockopt / do_tcp_getsockopt /
 * sk_setsockopt. What the stack does with them, honestly:
 *   TCP_CORK          stored here; tcp_output holds partial segments while set
 *                     (at most TCP_CORK_US, like Linux) and unsetting sends them
 *   TCP_QUICKACK      stored (reads back like Linux's pingpong flag); delayed
 *                     ACKs follow their own rules
 *   TCP_USER_TIMEOUT  stored; giving up stays tcp_retries2 / SYN retries
 *   TCP_CONGESTION    "cubic" (RFC 9438, the default, as Linux's) or "reno"
 *                     (RFC 5681), tcp_cc.c; any other name is ENOENT, as
 *                     for a module Linux lacks
 *   SO_RCVLOWAT       stored; recv and poll wake at 1 byte
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h>     /* TCP_* option numbers (netinet/tcp.h clashes with our state names) */
#include <string.h>
#include <sys/socket.h>
#include "stack_impl.h"

#ifndef TCP_CA_NAME_MAX
#define TCP_CA_NAME_MAX 16      /* Linux include/net/tcp.h */
#endif

static int opt_int(const void *val, unsigned len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(out, val, sizeof(int));
	return 0;
}

int tcp_setsockopt_more(struct tcb *t, int level, int name, const void *val, unsigned len)
{
	int v, r;
	if (level == SOL_SOCKET && name == SO_RCVLOWAT) {
		if ((r = opt_int(val, len, &v)) < 0)
			return r;
		/* sk_setsockopt: "if (val < 0) val = INT_MAX"; 0 means 1 */
		t->rcvlowat = v < 0 ? INT_MAX : v;
		return 0;
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	if (name == TCP_CONGESTION) {
		/* do_tcp_setsockopt: a NUL-terminated name of at most 15 bytes */
		char want[TCP_CA_NAME_MAX];
		if (len < 1)
			return -EINVAL;
		if (!val)
			return -EFAULT;
		unsigned n = len < TCP_CA_NAME_MAX - 1 ? len : TCP_CA_NAME_MAX - 1;
		memcpy(want, val, n);
		want[n] = 0;
		const struct tcp_cc_ops *ops = tcp_cc_find(want);
		if (!ops)
			return -ENOENT;
		if (ops != tcp_cc(t))
			tcp_cc_set(t, ops);
		return 0;
	}
	switch (name) {
	case TCP_CORK:
	case TCP_QUICKACK:
	case TCP_USER_TIMEOUT:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if ((r = opt_int(val, len, &v)) < 0)
		return r;
	switch (name) {
	case TCP_CORK:
		t->opt_cork = v != 0;
		break;
	case TCP_QUICKACK:
		t->opt_quickack_off = v == 0;
		t->quickacks = v ? TCP_QUICKACKS : 0;
		break;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		t->user_timeout_ms = v;
		break;
	}
	return 0;
}

int tcp_getsockopt_more(const struct tcb *t, int level, int name, void *val, unsigned *len)
{
	int v;
	if (level == SOL_SOCKET && name == SO_RCVLOWAT) {
		v = t->rcvlowat ? t->rcvlowat : 1;
	} else if (level != IPPROTO_TCP) {
		return -ENOPROTOOPT;
	} else if (name == TCP_CONGESTION) {
		/* do_tcp_getsockopt: min(len, TCP_CA_NAME_MAX) bytes of the name */
		char name[TCP_CA_NAME_MAX] = { 0 };
		strncpy(name, tcp_cc(t)->name, TCP_CA_NAME_MAX - 1);
		unsigned n = *len < TCP_CA_NAME_MAX ? *len : TCP_CA_NAME_MAX;
		memcpy(val, name, n);
		*len = n;
		return 0;
	} else {
		switch (name) {
		case TCP_CORK:
			v = t->opt_cork;
			break;
		case TCP_QUICKACK:
			v = !t->opt_quickack_off;
			break;
		case TCP_USER_TIMEOUT:
			v = t->user_timeout_ms;
			break;
		default:
			return -ENOPROTOOPT;
		}
	}
	/* Linux copies min(len, sizeof(int)) bytes */
	unsigned n = *len < sizeof(int) ? *len : sizeof(int);
	memcpy(val, &v, n);
	*len = n;
	return 0;
}

int nst_tcp_info(struct stack *st, int sd, struct nst_tcp_info *o)
{
	memset(o, 0, sizeof(*o));
	if (sd < 0 || (unsigned)sd >= st->tcp.cap)
		return -EBADF;
	const struct tcb *t = &st->tcp.tcb[sd];
	if (!t->in_use || !t->owned)
		return -EBADF;
	o->state = t->state;
	/* Linux's states: Loss after a timeout, Recovery in fast recovery,
	 * Disorder while SACKs, duplicate ACKs or segments marked lost say
	 * something is amiss without recovery (tcp_try_to_open), else Open.
	 * not implemented: CWR (no ECN, no local congestion) */
	if (t->in_recovery)
		o->ca_state = NST_CA_RECOVERY;
	else if (t->retries)
		o->ca_state = NST_CA_LOSS;
	else if (t->sacked_bytes || t->dupacks || (t->sack_ok && tcp_sack_lost_bytes(t)))
		o->ca_state = NST_CA_DISORDER;
	else
		o->ca_state = NST_CA_OPEN;
	o->retransmits = t->retries > 255 ? 255 : (uint8_t)t->retries;
	o->rto_us = t->rto;
	o->rtt_us = t->srtt;
	o->rttvar_us = t->rttvar;
	o->snd_mss = t->mss;
	o->rcv_mss = t->rcv_mss;
	o->advmss = tcp_syn_mss(st, t);     /* Linux advmss: user_mss caps it */
	o->pmtu = tcp_adv_mss(st) + 40;       /* IPv4 + TCP headers, no options */
	o->snd_cwnd = t->cwnd;
	o->snd_ssthresh = t->ssthresh;
	o->snd_wnd = t->snd.wnd;
	o->rcv_wnd = tcp_rcv_wnd(t);
	o->total_retrans = t->total_retrans;
	o->options = (t->ts_ok ? NST_TCPI_OPT_TS : 0) | (t->sack_ok ? NST_TCPI_OPT_SACK : 0) |
		     (t->ws_ok ? NST_TCPI_OPT_WSCALE : 0);
	o->snd_wscale = t->snd_wscale;
	o->rcv_wscale = t->rcv_wscale;
	if (t->mss) {
		o->sacked_segs = (t->sacked_bytes + t->mss - 1) / t->mss;
		/* Linux's lost_out: a retransmission keeps the mark */
		o->lost_segs = (tcp_sack_marked_bytes(t) + t->mss - 1) / t->mss;
	}
	o->reordering = t->reordering > TCP_DUPTHRESH ? t->reordering : TCP_DUPTHRESH;
	o->segs_out = t->segs_out;
	o->last_data_recv_us = t->lrcv_us;
	o->segs_in = t->segs_in;
	if (tcp_synced(t->state)) {
		uint32_t out = t->snd_max - t->snd.una;
		o->unacked_segs = t->mss ? (out + t->mss - 1) / t->mss : 0;
		/* Linux counts every acknowledged sequence number, our SYN
		 * included (tcp_snd_una_update), modulo 2^32; bytes_received
		 * counts data only (and a FIN) */
		o->bytes_acked = t->snd.una - t->iss;
		if (t->rcv.nxt != t->irs)
			o->bytes_received = t->rcv.nxt - t->irs - 1;
		if (t->snd_max != t->iss)
			o->bytes_sent = t->snd_max - t->iss - 1;
		uint32_t unsent = tcp_snd_end(t) - t->snd.nxt;
		/* after our FIN went out snd.nxt is one past the ring's end */
		o->notsent_bytes = (int32_t)unsent > 0 ? unsent : 0;
		o->outq = t->sndbuf.len;
	}
	return 0;
}
