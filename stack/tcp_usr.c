/* The user calls of a TCP socket (BSD's tcp_usrreq.c, Linux's tcp_prot and
 * inet_stream_ops): socket, bind, listen, accept, connect, send, recv,
 * shutdown, close, poll. sock.c's nst_* entry points dispatch here for
 * stream sockets, st->now_us already set. The TCB table behind them is
 * tcp_table.c; the byte rings, ring.c; the socket options, sockopt.c.
 *
 * Errors and readiness follow Linux (tcp_sendmsg, tcp_recvmsg, tcp_poll,
 * inet_stream_connect), since programs are compared against the kernel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stack_impl.h"
#include "ip6.h"
#include "tcp_seq.h"

/* The unsent-bytes mark of t: TCP_NOTSENT_LOWAT, else the stack's
 * default; 0 when there is none (Linux tcp_notsent_lowat: the option, else
 * the sysctl, UINT_MAX by default). */
static uint32_t tcp_notsent_lowat(const struct stack *st, const struct tcb *t)
{
	uint32_t v = t->so.notsent_lowat ? (uint32_t)t->so.notsent_lowat : st->tcp.notsent_lowat;
	return v == UINT32_MAX ? 0 : v;
}

/* Bytes queued and never sent (Linux write_seq - snd_nxt; our snd.nxt
 * moves back on a timeout, snd_max does not). */
static uint32_t tcp_notsent(const struct tcb *t)
{
	uint32_t end = tcp_snd_end(t);
	return seq_gt(end, t->snd_max) ? end - t->snd_max : 0;
}

/* Linux tcp_stream_memory_free: unsent bytes (doubled when deciding
 * POLLOUT, wake = 1, so a writer woken has room to write) below the mark;
 * always 1 without a mark. */
int tcp_notsent_ok(const struct stack *st, const struct tcb *t, int wake)
{
	uint32_t lowat = tcp_notsent_lowat(st, t);
	return !lowat || ((uint64_t)tcp_notsent(t) << wake) < lowat;
}

/* What a send may queue under the unsent-bytes mark, of len: Linux checks
 * the mark before each new buffer of size_goal bytes (half the peer's
 * largest window in whole segments, at most a 64 KB frame), and the bytes
 * the windows let leave at once never count as unsent. So: what can leave
 * now, then whole size_goal chunks until the unsent bytes reach the mark. */
static size_t tcp_notsent_cap(const struct stack *st, const struct tcb *t, size_t len)
{
	uint32_t lowat = tcp_notsent_lowat(st, t);
	if (!lowat)
		return len;
	uint32_t notsent = tcp_notsent(t);
	if (notsent >= lowat)
		return 0;
	uint32_t mss = t->mss ? t->mss : TCP_MSS_DEF;
	uint32_t end = tcp_snd_end(t);
	uint32_t wnd = t->snd.wnd < t->cwnd ? t->snd.wnd : t->cwnd;
	uint32_t edge = t->snd.una + wnd;
	uint32_t now = !notsent && seq_gt(edge, end) ? edge - end : 0;
	uint32_t goal = t->max_snd_wnd / 2;
	if (goal > 65535 - IP_HDR_LEN - TCP_HDR_LEN - 40)
		goal = 65535 - IP_HDR_LEN - TCP_HDR_LEN - 40;
	goal = goal / mss * mss;
	if (goal < mss)
		goal = mss;
	uint64_t chunks = (lowat - notsent + goal - 1) / goal;
	uint64_t cap = now + chunks * goal;
	return len < cap ? len : (size_t)cap;
}

void nst_set_min_tso_segs(struct stack *st, uint32_t segs)
{
	st->tcp.min_tso_segs = segs;
}

void nst_set_slow_start_after_idle(struct stack *st, int on)
{
	st->tcp.ss_after_idle = (uint8_t)!!on;
}

void nst_set_timestamps(struct stack *st, int on)
{
	st->tcp.ts_off = (uint8_t)!on;
}

void nst_set_notsent_lowat(struct stack *st, uint32_t lowat)
{
	st->tcp.notsent_lowat = lowat;
}

/* ---- the user calls --------------------------------------------------- */

/* The TCB an application sd names, or NULL. */
struct tcb *tcp_usr_tcb(struct stack *st, int sd)
{
	if (sd < 0 || (unsigned)sd >= st->tcp.cap)
		return NULL;
	struct tcb *t = &st->tcp.tcb[sd];
	return t->in_use && t->owned ? t : NULL;
}

int tcp_usr_socket(struct stack *st, int af)
{
	/* Our table is the process's: its limit is like RLIMIT_NOFILE (EMFILE);
	 * a table full of connections nobody owns is like the kernel short of
	 * socket memory (ENOBUFS, "Insufficient resources"). */
	if (st->tcp.n_owned >= st->tcp.max_sockets)
		return -EMFILE;
	struct tcb *t = tcp_tcb_alloc(st);
	if (!t)
		return -ENOBUFS;
	t->owned = 1;
	st->tcp.n_owned++;
	t->af = (uint8_t)af;
	/* unbound: the family's wildcard, 0.0.0.0 or :: */
	t->laddr = af == NST_AF_INET6 ? (struct nst_addr){ 0 } : nst_addr_from_v4(0);
	return tcp_tcb_index(st, t);            /* CLOSED, as tcp_tcb_alloc leaves it */
}

int tcp_usr_family(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	return t ? t->af : -EBADF;
}

int tcp_usr_bind(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	int err = sock_bind_check(st, t->af, t->v6only, addr);
	if (err == -EAFNOSUPPORT)
		return err;             /* Linux checks the family before the state */
	if (t->bound || t->state != TCP_CLOSED)
		return -EINVAL;
	if (err)
		return err;
	if (port == 0) {
		port = tcp_ephemeral(st, addr, NULL, 0, NULL);
		if (!port)
			return -EADDRINUSE;
	} else if (tcp_port_conflict(st, t, addr, port)) {
		return -EADDRINUSE;
	}
	t->laddr = *addr;
	t->lport = port;
	t->bound = 1;
	tcp_port_link(st, t);
	return 0;
}


int tcp_usr_listen(struct stack *st, int sd, int backlog)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (backlog < 0)
		backlog = 0;
	if (backlog > TCP_SOMAXCONN)
		backlog = TCP_SOMAXCONN;
	if (t->state == TCP_LISTEN) {
		t->backlog = backlog;
		return 0;
	}
	if (t->state != TCP_CLOSED || t->connecting)
		return -EINVAL;
	if (t->done)
		tcp_tcb_recycle(st, t);         /* a failed connect leaves it unconnected, as in Linux */
	if (!t->bound) {
		uint16_t port = tcp_ephemeral(st, &t->laddr, NULL, 0, NULL);
		if (!port)
			return -EADDRINUSE;
		t->lport = port;
		t->bound = 1;
		tcp_port_link(st, t);
	}	if (tcp_listen_conflict(st, t))
		return -EADDRINUSE;
	t->backlog = backlog;
	tcp_set_state(st, t, TCP_LISTEN);
	tcp_hash_insert(st, t);
	return 0;
}

int tcp_usr_accept(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	struct tcb *l = tcp_usr_tcb(st, sd);
	if (!l)
		return -EBADF;
	if (l->state != TCP_LISTEN)
		return -EINVAL;
	if (l->acc_head < 0)
		return -EAGAIN;
	if (st->tcp.n_owned >= st->tcp.max_sockets)
		return -EMFILE;
	struct tcb *t = &st->tcp.tcb[l->acc_head];
	tcp_child_unlink(st, t);
	t->owned = 1;
	st->tcp.n_owned++;
	if (addr)
		*addr = t->raddr;
	if (port)
		*port = t->rport;
	return tcp_tcb_index(st, t);
}

int tcp_usr_connect(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (t->connected || t->state == TCP_LISTEN)
		return -EISCONN;
	if (t->connecting) {
		/* Linux inet_stream_connect in SS_CONNECTING. */
		if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED)
			return -EALREADY;
		t->connecting = 0;
		if (!t->done) {
			t->connected = 1;
			return 0;
		}
		int e = t->err ? t->err : ECONNABORTED;
		t->err = 0;
		return -e;
	}
	if (t->state != TCP_CLOSED)
		return -EISCONN;
	int err = sock_dst_check(t->af, t->v6only, &t->laddr, addr);
	if (err)
		return err;
	if (!stack_routes_addr(st, addr))
		return -ENETUNREACH;
	if (port == 0)
		return -ECONNREFUSED;
	tcp_tcb_recycle(st, t);         /* nothing left of an earlier attempt */
	struct nst_addr laddr;
	if (sock_src_for(st, &t->laddr, addr, &laddr) < 0)
		return -ENETUNREACH;
	uint16_t lport = t->lport;
	struct tcb *tw = NULL;
	if (!t->bound) {
		lport = tcp_ephemeral(st, &laddr, addr, port, &tw);
		if (!lport)
			return -EADDRNOTAVAIL;
	} else if ((tw = tcp_hash_find(st, &laddr, lport, addr, port)) && !tcp_tw_recyclable(st, tw)) {
		return -EADDRNOTAVAIL;
	}
	/* a TIME-WAIT of ours with this 4-tuple ends here; the new ISS goes
	 * past its SND.NXT (RFC 1122 4.2.2.13, Linux tw_snd_nxt + 65535 + 2) */
	uint32_t iss_min = 0;
	int recycled = tw != NULL;
	if (tw) {
		iss_min = tw->snd_max + 65535 + 2;
		st->stat.tcp_tw_recycled++;
		tcp_done(st, tw, 0);
	}
	tcp_rings_free(st, t);  /* whatever a failed attempt left */
	t->laddr = laddr;
	t->lport = lport;
	t->bound = 1;
	tcp_port_link(st, t);
	t->raddr = *addr;
	t->rport = port;
	/* RFC 9293 3.10.1: "An initial send sequence number (ISS) is selected. A
	 * SYN segment of the form <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS,
	 * SND.NXT to ISS+1, enter SYN-SENT state, and return." */
	t->iss = tcp_iss(st, &laddr, lport, addr, port);
	if (recycled && seq_lt(t->iss, iss_min))
		t->iss = iss_min;
	t->snd.una = t->iss;
	t->snd.nxt = t->snd_max = t->iss + 1;
	t->sndbuf_seq = t->iss + 1;
	t->recover = t->iss;
	t->rto = TCP_RTO_INIT_US;
	t->retries = 0;
	t->err = 0;
	t->connecting = 1;
	tcp_set_state(st, t, TCP_SYN_SENT);
	tcp_hash_insert(st, t);
	st->stat.tcp_active_open++;
	tcp_send_syn(st, t);
	stack_flush(st);
	return -EINPROGRESS;
}

/* Take the pending error (Linux sock_error). */
static int sock_take_err(struct tcb *t)
{
	int e = t->err;
	t->err = 0;
	return e;
}

/* A send queued n of len bytes (t->snd_more set): MSG_EOR (Linux
 * tcp_sendmsg: TCP_SKB_CB(skb)->eor once the whole message is queued: later
 * data never joins the segments of this record; tcp_output and
 * retransmissions stop at the mark), then output, timers, the device. */
static ssize_t tcp_usr_sent(struct stack *st, struct tcb *t, size_t n, size_t len, int flags)
{
	if ((flags & NST_MSG_EOR) && n == len)
		tcp_eor_mark(t, tcp_snd_end(t));
	t->more_now = t->snd_more;
	tcp_unit_goal_update(st, t);
	tcp_output(st, t);
	t->more_now = 0;
	tcp_timers_update(st, t);
	TCP_CHECK(st, t);
	stack_flush(st);
	return (ssize_t)n;
}

/* tcp_usr_send with SO_SNDBUF set: Linux's send memory, skb by skb
 * (tcp_vskb_send, tcp_out.c): a new skb only while the queue's truesize is
 * below the buffer, and the tail filled to size_goal. A write that stops
 * there marks PSH on the tail and pushes (tcp_sendmsg_locked's
 * wait_for_space: tcp_push without MSG_MORE); the writer goes on when poll
 * says POLLOUT (tcp_snd_writeable), as Linux's sk_stream_write_space. */
static ssize_t tcp_usr_send_locked(struct stack *st, struct tcb *t, const void *buf, size_t len,
				   int flags)
{
	len = tcp_notsent_cap(st, t, len);
	if (len == 0)
		return -EAGAIN;
	/* a writer that found the memory used up sleeps until
	 * sk_stream_write_space finds it writeable, not merely below the
	 * buffer (sk_stream_wait_memory) */
	if (t->snd_nospace) {
		if (!tcp_snd_writeable(t))
			return -EAGAIN;
		t->snd_nospace = 0;
	}
	int more = !!(flags & NST_MSG_MORE), blocked = 0;
	uint32_t want = len > 0x7fffffffu ? 0x7fffffffu : (uint32_t)len;
	t->snd_more = 0;
	t->more_now = 0;
	uint32_t n = (uint32_t)tcp_vskb_send(st, t, buf, want, &blocked);
	if (blocked == 1)
		t->snd_nospace = 1;
	if (n == 0) {
		if (blocked == 2) {
			st->stat.tcp_snd_nomem++;
			st->tcp.mem_pressure = 1;
		}
		tcp_timers_update(st, t);
		stack_flush(st);
		return -EAGAIN;
	}
	/* tcp_push: PSH on the tail (a write that stopped short: always) */
	tcp_vskb_push(t, n == len && more);
	t->snd_more = (uint8_t)(n == len && more);
	return tcp_usr_sent(st, t, n, len, flags);
}

/* The destination of a sendto is ignored, as tcp_sendmsg does. */
ssize_t tcp_usr_send(struct stack *st, int sd, const void *buf, size_t len, int flags,
		     int to_set, const struct nst_addr *addr, uint16_t port)
{
	(void)to_set, (void)addr, (void)port;
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	/* Linux tcp_sendmsg: wait for the connection (sk_stream_wait_connect),
	 * then EPIPE once the send side is shut. A never-connected socket gets
	 * EPIPE too, as on Linux. */
	if (t->err)
		return -sock_take_err(t);
	if (t->fin_queued || t->done)
		return -EPIPE;
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RECEIVED)
		return -EAGAIN;
	if (t->state != TCP_ESTABLISHED && t->state != TCP_CLOSE_WAIT)
		return -EPIPE;
	if (len == 0)
		return 0;
	if (st->tcp.ss_after_idle && t->snd.una == t->snd_max && t->lsnd_us &&
	    st->now_us - t->lsnd_us > t->rto)
		tcp_cwnd_restart(st, t);
	if (t->snd_locked)
		return tcp_usr_send_locked(st, t, buf, len, flags);
	/* Linux sk_stream_memory_free: nothing beyond the send budget; the
	 * stack-wide cap refuses too (memory pressure), counted, and the
	 * writer is woken when memory comes back (tcp_mem_relieved). */
	tcp_snd_budget_update(t);
	uint32_t room = tcp_snd_room(st, t);
	/* TCP_NOTSENT_LOWAT: no more unsent bytes than the mark allows */
	len = tcp_notsent_cap(st, t, len);
	if (len == 0)
		return -EAGAIN;
	if (room == 0) {
		if (t->sndbuf.len < t->snd_budget) {
			st->stat.tcp_snd_nomem++;
			st->tcp.mem_pressure = 1;
		}
		return -EAGAIN;
	}
	uint32_t n = len < room ? (uint32_t)len : room;
	if (tcp_ring_grow(st, &t->sndbuf, t->sndbuf.len + n, t->snd_budget) < 0) {
		n = tcp_ring_free(&t->sndbuf);  /* malloc failed: what the ring has */
		if (n == 0) {
			st->stat.tcp_snd_nomem++;
			st->tcp.mem_pressure = 1;
			return -EAGAIN;
		}
		if (n > len)
			n = (uint32_t)len;
	}
	tcp_ring_copy_in(&t->sndbuf, t->sndbuf.len, buf, n);
	t->sndbuf.len += n;
	/* MSG_MORE (Linux tcp_sendmsg -> tcp_push): this call's output holds
	 * a partial last segment as TCP_CORK would and marks no PSH; a send
	 * without it pushes everything queued */
	t->snd_more = !!(flags & NST_MSG_MORE);
	return tcp_usr_sent(st, t, n, len, flags);
}

/* Dynamic right-sizing (Linux tcp_rcv_space_adjust): once per RTT compare
 * what the application read in that RTT with the most it ever read in one;
 * when it reads more, the receive budget grows to twice that plus room for
 * 16 segments, plus twice the relative growth over the last most (the
 * sender is in slow start), so that a reader who keeps up never makes our
 * window the limit (up to TCP_RMEM_MAX). A reader who
 * does not keep up reads little per RTT, and its budget stays. SO_RCVBUF
 * turns it off. Called after each read. */
static void tcp_rcv_space_adjust(struct stack *st, struct tcb *t)
{
	/* the RTT: SRTT, else the receiver's own estimate (tcp_data_in) */
	uint64_t rtt = t->srtt ? t->srtt : t->rcv_rtt;
	if (t->rcv_locked || !rtt || !tcp_synced(t->state))
		return;
	uint32_t copied_seq = t->rcv.nxt - tcp_rcv_unread(t);  /* next byte to read */
	if (!t->drs_time) {
		t->drs_time = st->now_us;
		t->drs_seq = copied_seq;
		return;
	}
	if (st->now_us - t->drs_time < rtt)
		return;
	uint32_t copied = copied_seq - t->drs_seq;
	if (copied > t->drs_space) {
		uint32_t prev = t->drs_space;
		t->drs_space = copied;
		uint64_t want = 2ull * copied + 16ull * t->rcv_mss;
		/* Linux: "Accommodate for sender rate increase (eg. slow
		 * start)": a sender whose rate grew from prev to copied in one
		 * RTT grows on; room for twice that growth again, so the
		 * window does not trail a congestion window that doubles */
		if (prev)
			want += 2 * (want * (copied - prev) / prev);
		if (want > TCP_RMEM_MAX)
			want = TCP_RMEM_MAX;
		if (want > t->rcv_budget) {
			t->rcv_budget = (uint32_t)want;
			st->stat.tcp_rcvbuf_grow++;
		}
	}
	t->drs_seq = copied_seq;
	t->drs_time = st->now_us;
}

/* No source address is reported; no message flags either. */
ssize_t tcp_usr_recv(struct stack *st, int sd, void *buf, size_t len, int flags,
		     struct nst_addr *addr, uint16_t *port, int *out_flags)
{
	(void)addr, (void)port;
	if (out_flags)
		*out_flags = 0;
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (t->state == TCP_LISTEN)
		return -ENOTCONN;
	uint32_t unread = tcp_rcv_unread(t);
	if (unread) {
		if (len == 0)
			return 0;
		/* one copy: from the held packets, then the ring (ring.c) */
		uint32_t n = len < unread ? (uint32_t)len : unread;
		tcp_rcv_copy_out(t, buf, n);
		if (!(flags & NST_MSG_PEEK)) {
			/* packets read are freed; an emptied ring (no out-of-order
			 * bytes either) gives its memory back */
			tcp_rcv_consume(st, t, n);
			tcp_rcv_space_adjust(st, t);
			if (!t->done)
				tcp_window_update(st, t);
			TCP_CHECK(st, t);
			stack_flush(st);
		}
		return n;
	}
	/* Nothing to read: Linux tcp_recvmsg's order: done, error, shutdown,
	 * never connected, would block. */
	if (t->fin_rcvd && !t->done)
		return 0;
	if (t->err)
		return -sock_take_err(t);
	if (t->fin_rcvd || t->shut_rd || t->done)
		return 0;
	if (t->state == TCP_CLOSED)
		return -ENOTCONN;
	return -EAGAIN;
}

/* Queue our FIN after the send ring (RFC 9293 3.10.4 CLOSE: "Queue this
 * until all preceding SENDs have been segmentized, then form a FIN segment
 * and send it. In any case, enter FIN-WAIT-1 state"; CLOSE-WAIT: LAST-ACK). */
static void tcp_queue_fin(struct stack *st, struct tcb *t)
{
	if (t->fin_queued)
		return;
	t->fin_queued = 1;
	switch (t->state) {
	case TCP_ESTABLISHED:
		tcp_set_state(st, t, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(st, t, TCP_LAST_ACK);
		break;
	default:
		/* SYN-RECEIVED: the FIN goes once ESTABLISHED (tcp_in.c). */
		break;
	}
	tcp_output(st, t);
	tcp_timers_update(st, t);
}

/* Stop listening: every child not yet accepted is reset and freed. */
static void tcp_listen_stop(struct stack *st, struct tcb *l)
{
	int me = tcp_tcb_index(st, l);
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		struct tcb *c = &st->tcp.tcb[i];
		if (!c->in_use || c->parent != me)
			continue;
		if (c->state != TCP_CLOSED)     /* a child reset already: nothing to tell */
			tcp_send_rst(st, c);
		tcp_tcb_free(st, c);
	}
	tcp_hash_remove(st, l);
	tcp_set_state(st, l, TCP_CLOSED);      /* tells the owner, if any */
}

int tcp_usr_shutdown(struct stack *st, int sd, int how)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (how != NST_SHUT_RD && how != NST_SHUT_WR && how != NST_SHUT_RDWR)
		return -EINVAL;
	int rd = how != NST_SHUT_WR, wr = how != NST_SHUT_RD;
	/* Linux inet_shutdown: CLOSED is ENOTCONN; LISTEN with SHUT_RD and
	 * SYN-SENT disconnect. */
	if (t->state == TCP_CLOSED && !t->done)
		return -ENOTCONN;
	if (t->state == TCP_LISTEN) {
		if (rd) {
			tcp_listen_stop(st, t);
			stack_flush(st);
		}
		return 0;
	}
	if (t->state == TCP_SYN_SENT) {
		tcp_timers_clear(st, t);
		tcp_hash_remove(st, t);
		t->connecting = 0;
		tcp_set_state(st, t, TCP_CLOSED);
		return 0;
	}
	if (rd)
		t->shut_rd = 1;
	if (wr && !t->done)
		tcp_queue_fin(st, t);
	tcp_notify(st, t);
	stack_flush(st);
	return 0;
}

/* Release sd. RFC 9293 3.10.4 CLOSE with Linux's choices: a listener resets
 * its pending children; unread data (or SO_LINGER with a zero timeout)
 * aborts with a RST ("data loss" in Linux tcp_close); otherwise our FIN
 * follows the queued data and the connection lives on as an orphan until
 * LAST-ACK, TIME-WAIT or the FIN-WAIT-2 timeout ends it. */
int tcp_usr_close(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	st->tcp.n_owned--;
	t->owned = 0;
	switch (t->state) {
	case TCP_LISTEN:
		tcp_listen_stop(st, t);
		tcp_tcb_free(st, t);
		break;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		tcp_tcb_free(st, t);
		break;
	case TCP_TIME_WAIT:
		t->orphan = 1;
		st->tcp.twc_n = 0;      /* it may be older than what tw_candidates found */
		break;
	default:
		if (tcp_rcv_unread(t) || (t->opt_linger_on && t->opt_linger_s == 0)) {
			tcp_send_rst(st, t);
			tcp_tcb_free(st, t);
			break;
		}
		t->orphan = 1;
		tcp_queue_fin(st, t);
		if (t->state == TCP_FIN_WAIT_2)
			tcp_timer_set(st, t, TCP_T_2MSL, st->now_us + tcp_fin_timeout_us(t));
		break;
	}
	stack_flush(st);
	return 0;
}

void tcp_usr_close_all(struct stack *st)
{
	for (unsigned i = 0; i < st->tcp.hiwat; i++)
		if (st->tcp.tcb[i].in_use && st->tcp.tcb[i].owned)
			tcp_usr_close(st, (int)i);
}

int tcp_usr_getsockname(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (addr)
		*addr = t->laddr;
	if (port)
		*port = t->lport;
	return 0;
}

int tcp_usr_getpeername(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	/* Linux inet_getname: ENOTCONN in CLOSE and SYN-SENT. */
	if (t->state == TCP_CLOSED || t->state == TCP_SYN_SENT || t->state == TCP_LISTEN)
		return -ENOTCONN;
	if (addr)
		*addr = t->raddr;
	if (port)
		*port = t->rport;
	return 0;
}

/* Linux tcp_poll, in our terms. */
uint32_t tcp_usr_poll(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return NST_POLLERR | NST_POLLHUP;   /* POLLNVAL is the caller's */
	if (t->state == TCP_LISTEN)
		return t->acc_head >= 0 ? NST_POLLIN : 0;
	uint32_t m = 0;
	int rcv_shut = t->fin_rcvd || t->shut_rd || t->done;
	int snd_shut = t->fin_queued || t->done;
	if ((rcv_shut && snd_shut) || t->state == TCP_CLOSED)
		m |= NST_POLLHUP;
	if (rcv_shut)
		m |= NST_POLLIN | NST_POLLRDHUP;
	if (t->state != TCP_SYN_SENT && t->state != TCP_SYN_RECEIVED) {
		if (tcp_rcv_unread(t))
			m |= NST_POLLIN;
		if (!snd_shut) {
			/* sk_stream_is_writeable: free space >= half of what is queued;
			 * with SO_SNDBUF, Linux's send memory (tcp_snd_writeable) */
			if (t->snd_locked) {
				if (tcp_snd_writeable(t) && tcp_notsent_ok(st, t, 1) &&
				    (tcp_ring_free(&t->sndbuf) || st->tcp.mem_used < st->tcp.mem_max))
					m |= NST_POLLOUT;
			} else {
				tcp_snd_budget_update(t);
				uint32_t used = t->sndbuf.len;
				uint32_t room = tcp_snd_room(st, t);
				if (room >= used / 2 && room > 0 && tcp_notsent_ok(st, t, 1))
					m |= NST_POLLOUT;
			}
		} else {
			m |= NST_POLLOUT;
		}
	}
	if (t->err)
		m |= NST_POLLERR;
	return m;
}

int tcp_usr_error(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	return sock_take_err(t);
}

int tcp_usr_valid(struct stack *st, int sd)
{
	return tcp_usr_tcb(st, sd) != NULL;
}

size_t tcp_usr_rx_avail(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t || t->state == TCP_LISTEN)
		return 0;
	return tcp_rcv_unread(t);
}

/* SO_LINGER with a timeout: 1 while close() must still wait, i.e. our FIN
 * (queued by close or shutdown) or the data before it is not acknowledged
 * yet (Linux sk_stream_wait_close: FIN-WAIT-1, CLOSING, LAST-ACK, and
 * SYN-RECEIVED with the FIN held back); 0 once it is, or the connection is
 * over; -EBADF. */
int nst_close_pending(struct stack *st, int sd)
{
	struct tcb *t = tcp_usr_tcb(st, sd);
	if (!t)
		return -EBADF;
	if (!t->fin_queued || t->done)
		return 0;
	switch (t->state) {
	case TCP_SYN_RECEIVED:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		return 1;
	default:
		return 0;
	}
}

/* At process exit: what the closed connections still have to deliver, in
 * bytes (unsent and unacknowledged data, plus one for each FIN not yet
 * acknowledged). The kernel would go on sending after the process is gone;
 * our stack goes with the process, so exit waits (bounded) while this
 * falls. 0: nothing left in flight. */
size_t nst_exit_pending(struct stack *st)
{
	size_t n = 0;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		const struct tcb *t = &st->tcp.tcb[i];
		if (!t->in_use || t->done || !t->fin_queued)
			continue;
		if (t->state == TCP_SYN_RECEIVED || t->state == TCP_FIN_WAIT_1 ||
		    t->state == TCP_CLOSING || t->state == TCP_LAST_ACK)
			n += t->sndbuf.len + 1;
	}
	return n + arp_pending_bytes(st) + nd6_pending_bytes(st);
}

/* Exit gave up waiting for them: reset what nst_exit_pending counts, so the
 * peer learns the connection is gone instead of waiting for a FIN that no
 * process will retransmit any more. Returns how many were reset. */
unsigned nst_exit_abort(struct stack *st, uint64_t now_us)
{
	unsigned n = 0;
	st->now_us = now_us;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		struct tcb *t = &st->tcp.tcb[i];
		if (!t->in_use || t->done || !t->fin_queued)
			continue;
		if (t->state == TCP_SYN_RECEIVED || t->state == TCP_FIN_WAIT_1 ||
		    t->state == TCP_CLOSING || t->state == TCP_LAST_ACK) {
			tcp_send_rst(st, t);
			tcp_done(st, t, 0);
			n++;
		}
	}
	stack_flush(st);
	return n;
}

/* AF_UNSPEC connect: not implemented on TCP. */
int tcp_usr_disconnect(struct stack *st, int sd)
{
	(void)st, (void)sd;
	return -EAFNOSUPPORT;
}
