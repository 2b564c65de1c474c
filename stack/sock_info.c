/* A read-only snapshot of the sockets of a stack, for `nstack ss` (the
 * control socket in preload/ctl.c serves it) and for tests.
 *
 * Pure: reads the TCB table as it is at the call, under the caller's lock;
 * changes nothing. Mirrors what Linux reports through inet_diag/tcp_info
 * (struct tcp_info in <linux/tcp.h>): the same quantities, our own units
 * (bytes and microseconds, never jiffies).
 */
#include <string.h>
#include "stack_impl.h"

/* A peer address as ss shows it: an unconnected socket's is its family's
 * wildcard (0.0.0.0 beside an IPv4 local address, :: beside IPv6). */
static struct nst_addr peer_shown(const struct nst_addr *laddr, const struct nst_addr *raddr)
{
	if (nst_addr_is_unspec(raddr) && nst_addr_is_v4(laddr))
		return nst_addr_from_v4(0);
	return *raddr;
}

/* Fill one record from TCB t at table index i. */
static void sock_info_fill(const struct stack *st, const struct tcb *t, int i,
			   struct nst_sock_info *o)
{
	memset(o, 0, sizeof(*o));
	o->type = NST_SOCK_STREAM;
	o->state = t->state;
	o->sd = t->owned ? i : -1;
	o->orphan = t->orphan;
	o->laddr = t->laddr;
	o->lport = t->lport;
	o->raddr = peer_shown(&t->laddr, &t->raddr);
	o->rport = t->rport;
	o->af = t->af;
	o->v6only = t->v6only;
	if (t->state == TCP_LISTEN) {
		/* As Linux for listeners: Recv-Q is the accept queue, Send-Q the backlog. */
		o->recv_q = t->acc_n;
		o->send_q = (uint32_t)t->backlog;
		return;
	}
	o->recv_q = tcp_rcv_unread(t);
	o->send_q = t->sndbuf.len;
	o->mss = t->mss;
	o->rtt_us = t->srtt;
	o->rttvar_us = t->rttvar;
	o->rto_us = t->rto;
	o->cwnd = t->cwnd;
	o->ssthresh = t->ssthresh;
	o->snd_wnd = t->snd.wnd;
	o->rcv_wnd = tcp_rcv_wnd(t);
	o->retrans = t->retries;
	o->total_retrans = t->total_retrans;
	o->delivery_rate = t->delivery_rate_bps;
	o->in_recovery = t->in_recovery;
	o->sack = t->sack_ok;
	strncpy(o->cc, tcp_cc(t)->name, sizeof(o->cc) - 1);
	if (tcp_synced(t->state) || t->state == TCP_CLOSED) {
		/* Sequence space consumed past the SYNs: data bytes plus an
		 * acknowledged FIN (at most one off), modulo 2^32. */
		if (t->snd.una != t->iss)
			o->bytes_acked = t->snd.una - t->iss - 1;
		if (t->rcv.nxt != t->irs)
			o->bytes_received = t->rcv.nxt - t->irs - 1;
	}
	(void)st;
}

/* Up to max sockets into out, in table order (TCP, then UDP): every TCP socket the
 * application holds (listening, connecting, connected or closed but not yet
 * released) and every connection that still exists on the wire without one
 * (orphans after close, children not accepted yet). Returns how many there
 * are in all, which may exceed max (call again with a larger array). */
int nst_sock_list(const struct stack *st, struct nst_sock_info *out, int max)
{
	int n = 0;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		const struct tcb *t = &st->tcp.tcb[i];
		if (!t->in_use)
			continue;
		if (n < max)
			sock_info_fill(st, t, (int)i, &out[n]);
		n++;
	}
	/* UDP sockets, in ss's terms: ESTAB when connected, else UNCONN. */
	for (unsigned i = 0; i < st->udp.hiwat; i++) {
		const struct udp_sock *u = &st->udp.s[i];
		if (!u->in_use)
			continue;
		if (n < max) {
			struct nst_sock_info *o = &out[n];
			memset(o, 0, sizeof(*o));
			o->type = u->kind == UDP_K_PING ? NST_SOCK_PING :
				  u->kind == UDP_K_RAW ? NST_SOCK_RAW_ICMP : NST_SOCK_DGRAM;
			o->state = u->connected ? TCP_ESTABLISHED : TCP_CLOSED;
			o->sd = NST_UDP_SD_BASE + (int)i;
			o->laddr = u->laddr;
			o->lport = u->lport;
			o->raddr = peer_shown(&u->laddr, &u->raddr);
			o->rport = u->rport;
			if (u->kind == UDP_K_RAW)       /* ss -w: the protocol as the port */
				o->lport = u->af == NST_AF_INET6 ? 58 : 1;
			o->af = u->af;
			o->v6only = u->v6only;
			o->recv_q = u->rq_charge;   /* like Linux: bytes charged to SO_RCVBUF */
		}
		n++;
	}
	return n;
}

/* The state's name as ss(8) prints it. */
const char *nst_tcp_state_name(int state)
{
	static const char *const names[] = {
		[TCP_CLOSED] = "UNCONN", [TCP_LISTEN] = "LISTEN",
		[TCP_SYN_SENT] = "SYN-SENT", [TCP_SYN_RECEIVED] = "SYN-RECV",
		[TCP_ESTABLISHED] = "ESTAB", [TCP_FIN_WAIT_1] = "FIN-WAIT-1",
		[TCP_FIN_WAIT_2] = "FIN-WAIT-2", [TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[TCP_CLOSING] = "CLOSING", [TCP_LAST_ACK] = "LAST-ACK",
		[TCP_TIME_WAIT] = "TIME-WAIT",
	};
	if (state < 0 || (size_t)state >= sizeof(names) / sizeof(names[0]) || !names[state])
		return "UNKNOWN";
	return names[state];
}

void stack_set_state_hook(struct stack *st, void (*fn)(void *ctx, const struct nst_state_event *ev),
			  void *ctx)
{
	st->state_hook = fn;
	st->state_hook_ctx = ctx;
}

/* t is about to move to state `to`: tell the hook (the caller checked it is set). */
void tcp_state_event(struct stack *st, const struct tcb *t, int to)
{
	struct nst_state_event ev = {
		.laddr = t->laddr, .raddr = peer_shown(&t->laddr, &t->raddr),
		.lport = t->lport, .rport = t->rport,
		.from = t->state, .to = to,
	};
	st->state_hook(st->state_hook_ctx, &ev);
}
