/* The TCP_INFO snapshot of one connection (nst_tcp_info; preload/ lays it
 * out as Linux's struct tcp_info). */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/tcp.h>     /* TCP_* option numbers (netinet/tcp.h clashes with our state names) */
#include <string.h>
#include <sys/socket.h>
#include "stack_impl.h"

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
	o->pmtu = tcp_adv_mss(st, t) + tcp_ip_hlen(t) + TCP_HDR_LEN;   /* headers, no options */
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
