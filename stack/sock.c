/* The native socket API of stack/ (nst_*) over TCP, and the TCB table
 * behind it: allocation, the 4-tuple hash, port selection, the byte rings,
 * the end of a connection.
 *
 * Memory: the TCB table and the hash are allocated once at tcp_init (the
 * table is calloc'ed and its entries are handed out in order, so entries
 * never used cost no memory). The send and receive rings are a deliberate
 * exception to "no malloc after init": they exist only while they hold bytes
 * ("ring memory" below), within per-connection budgets and a stack-wide cap,
 * so that 10 000 idle connections cost their TCBs and nothing more.
 *
 * Errors and readiness follow Linux (tcp_sendmsg, tcp_recvmsg, tcp_poll,
 * inet_stream_connect), since programs are compared against the kernel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/tcp.h>     /* TCP_* option numbers (netinet/tcp.h clashes with our state names) */
#include <sys/socket.h>
#include "stack_impl.h"
#include "tcp_seq.h"

#define EPHEMERAL_MIN 32768     /* Linux ip_local_port_range */
#define EPHEMERAL_MAX 60999

/* Linux defaults reported by getsockopt (tcp_wmem[1], tcp_rmem[1]) */
#define SNDBUF_DEFAULT 16384
#define RCVBUF_DEFAULT 131072
#define SOCKBUF_MAX    212992   /* net.core.wmem_max / rmem_max */
#define MAX_TCP_KEEPIDLE  32767
#define MAX_TCP_KEEPINTVL 32767
#define MAX_TCP_KEEPCNT   127

/* ---- byte rings ------------------------------------------------------- */

/* Bytes that can still be stored. */
uint32_t tcp_ring_free(const struct tcp_ring *r)
{
	return r->size - r->len;
}

/* Copy n bytes starting off bytes after the head (off + n <= size). */
void tcp_ring_copy_out(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t n)
{
	uint32_t pos = (r->head + off) % r->size;
	uint32_t first = r->size - pos < n ? r->size - pos : n;
	memcpy(dst, r->buf + pos, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
}

/* Store n bytes at off bytes after the head; len is the caller's business. */
void tcp_ring_copy_in(struct tcp_ring *r, uint32_t off, const void *src, uint32_t n)
{
	uint32_t pos = (r->head + off) % r->size;
	uint32_t first = r->size - pos < n ? r->size - pos : n;
	memcpy(r->buf + pos, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, n - first);
}

/* Drop n bytes at the head (read, or acknowledged). */
void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	if (n == 0)
		return;
	r->head = (r->head + n) % r->size;
	r->len -= n;
}

/* ---- ring memory ------------------------------------------------------ */

/* Wake every writer: memory came back after a send found the cap reached
 * (Linux sk_stream_write_space after memory pressure). */
static void tcp_mem_relieved(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	c->mem_pressure = 0;
	for (unsigned i = 0; i < c->hiwat; i++)
		if (c->tcb[i].in_use && c->tcb[i].owned)
			stack_notify(st, (int)i);
}

/* Make r able to hold need bytes, its content kept (the head moves to 0):
 * the next power of two from TCP_RING_MIN, but not beyond cap (the budget)
 * unless need is; the exact need when the power of two would pass the
 * stack-wide cap. -ENOMEM (r unchanged) over the cap or when malloc fails:
 * the caller drops (receive) or refuses (send) and counts. */
int tcp_ring_grow(struct stack *st, struct tcp_ring *r, uint32_t need, uint32_t cap)
{
	struct tcp_ctx *c = &st->tcp;
	if (need <= r->size)
		return 0;
	uint32_t size = TCP_RING_MIN;
	while (size < need && size < (1u << 31))
		size <<= 1;
	if (size > cap)
		size = cap > need ? cap : need;
	if (c->mem_used + size - r->size > c->mem_max)
		size = need;
	if (c->mem_used + size - r->size > c->mem_max)
		return -ENOMEM;
	uint8_t *b = malloc(size);
	if (!b)
		return -ENOMEM;
	if (r->buf) {
		tcp_ring_copy_out(r, 0, b, r->size);    /* the whole ring, from the head */
		free(r->buf);
	}
	c->mem_used += size - r->size;
	r->buf = b;
	r->size = size;
	r->head = 0;
	return 0;
}

/* Free r's memory; the bytes it held are gone (an empty ring, or a
 * connection that is over). */
void tcp_ring_release(struct stack *st, struct tcp_ring *r)
{
	if (r->buf) {
		st->tcp.mem_used -= r->size;
		free(r->buf);
	}
	r->buf = NULL;
	r->size = r->head = r->len = 0;
	if (st->tcp.mem_pressure)
		tcp_mem_relieved(st);
}

/* Ring r of t has just become empty (read, or all acknowledged). A small
 * ring goes at once; a larger one goes if it stays empty TCP_RING_IDLE_US
 * (TCP_T_MEM, tcp_mem_timer): a stream empties its rings all the time and
 * would otherwise reallocate and regrow them at every read. Under memory
 * pressure nothing waits. */
void tcp_ring_emptied(struct stack *st, struct tcb *t, struct tcp_ring *r)
{
	if (!r->buf || r->len || (r == &t->rcvbuf && t->n_ooo))
		return;
	if (r->size <= TCP_RING_MIN || st->tcp.mem_pressure) {
		tcp_ring_release(st, r);
		return;
	}
	if (!t->timer[TCP_T_MEM])
		tcp_timer_set(st, t, TCP_T_MEM, st->now_us + TCP_RING_IDLE_US);
}

/* TCP_T_MEM expired: free the rings that are (still) empty. */
void tcp_mem_timer(struct stack *st, struct tcb *t)
{
	if (t->rcvbuf.buf && !t->rcvbuf.len && !t->n_ooo)
		tcp_ring_release(st, &t->rcvbuf);
	if (t->sndbuf.buf && !t->sndbuf.len)
		tcp_ring_release(st, &t->sndbuf);
}

/* Both rings of t, freed. */
void tcp_rings_free(struct stack *st, struct tcb *t)
{
	tcp_ring_release(st, &t->sndbuf);
	tcp_ring_release(st, &t->rcvbuf);
}

/* The send budget follows cwnd as Linux's sndbuf does (tcp_sndbuf_expand:
 * 2 x cwnd segments x TCP_SKB_TRUESIZE, so a window can be queued while
 * one is in flight; Linux charges that memory mostly to payload with TSO),
 * within [TCP_WMEM_DEF, TCP_WMEM_MAX]; it never shrinks. SO_SNDBUF fixes it. */
void tcp_snd_budget_update(struct tcb *t)
{
	if (t->snd_locked)
		return;
	uint32_t mss = t->mss ? t->mss : TCP_MSS_DEF;
	uint64_t want = 2ull * ((t->cwnd + mss - 1) / mss) * TCP_SKB_TRUESIZE;
	if (want > TCP_WMEM_MAX)
		want = TCP_WMEM_MAX;
	if (want > t->snd_budget)
		t->snd_budget = (uint32_t)want;
}

/* Bytes a send may queue now: the budget left, and no more than the ring
 * has free plus what the stack-wide cap still allows (so that poll's
 * POLLOUT and send agree under memory pressure). */
uint32_t tcp_snd_room(const struct stack *st, const struct tcb *t)
{
	uint32_t room = t->snd_budget > t->sndbuf.len ? t->snd_budget - t->sndbuf.len : 0;
	uint32_t free_now = tcp_ring_free(&t->sndbuf);
	if (room > free_now) {
		uint64_t avail = st->tcp.mem_max > st->tcp.mem_used ? st->tcp.mem_max - st->tcp.mem_used : 0;
		if (room > free_now + avail)
			room = (uint32_t)(free_now + avail);
	}
	return room;
}

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

uint64_t nst_mem_used(const struct stack *st)
{
	return st->tcp.mem_used;
}

uint64_t nst_mem_max(const struct stack *st)
{
	return st->tcp.mem_max;
}

/* ---- the TCB table ---------------------------------------------------- */

/* t's index in the table: its sd when the application holds it. */
static int tcb_index(const struct stack *st, const struct tcb *t)
{
	return (int)(t - st->tcp.tcb);
}

/* Bucket of a 4-tuple (a cheap multiplicative mix; the table is ours). */
static unsigned tcp_hash_of(const struct stack *st, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	uint32_t h = la * 0x9e3779b1u;
	h ^= ra + 0x7f4a7c15u + (h << 6) + (h >> 2);
	h ^= ((uint32_t)lp << 16 | rp) * 0x85ebca6bu;
	h ^= h >> 15;
	return h & st->tcp.hash_mask;
}

/* Hash t under its 4-tuple (a listener under laddr, lport, 0, 0). */
void tcp_hash_insert(struct stack *st, struct tcb *t)
{
	if (t->hashed)
		return;
	uint32_t ra = t->state == TCP_LISTEN ? 0 : t->raddr;
	uint16_t rp = t->state == TCP_LISTEN ? 0 : t->rport;
	unsigned b = tcp_hash_of(st, t->laddr, t->lport, ra, rp);
	t->hnext = st->tcp.hash[b];
	st->tcp.hash[b] = tcb_index(st, t);
	t->hashed = 1;
}

/* Take t out of the 4-tuple hash, if it is there. */
static void tcp_hash_remove(struct stack *st, struct tcb *t)
{
	if (!t->hashed)
		return;
	uint32_t ra = t->state == TCP_LISTEN ? 0 : t->raddr;
	uint16_t rp = t->state == TCP_LISTEN ? 0 : t->rport;
	int *pp = &st->tcp.hash[tcp_hash_of(st, t->laddr, t->lport, ra, rp)];
	int me = tcb_index(st, t);
	while (*pp >= 0) {
		if (*pp == me) {
			*pp = t->hnext;
			break;
		}
		pp = &st->tcp.tcb[*pp].hnext;
	}
	t->hashed = 0;
	t->hnext = -1;
}

/* Exact match of a 4-tuple; raddr == 0 looks for a listener. */
static struct tcb *tcp_hash_find(struct stack *st, uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	for (int i = st->tcp.hash[tcp_hash_of(st, la, lp, ra, rp)]; i >= 0; i = st->tcp.tcb[i].hnext) {
		struct tcb *t = &st->tcp.tcb[i];
		if (t->lport != lp || t->laddr != la)
			continue;
		if (ra == 0 ? t->state == TCP_LISTEN
			    : (t->state != TCP_LISTEN && t->raddr == ra && t->rport == rp))
			return t;
	}
	return NULL;
}

/* The listener for a SYN to laddr:lport, or NULL. */
struct tcb *tcp_lookup_listener(struct stack *st, uint32_t laddr, uint16_t lport)
{
	struct tcb *t = tcp_hash_find(st, laddr, lport, 0, 0);
	if (!t)
		t = tcp_hash_find(st, 0, lport, 0, 0);
	return t && t->state == TCP_LISTEN ? t : NULL;
}

/* The TCB for a segment to laddr:lport from raddr:rport: the connection,
 * else a listener on that address, else one on the wildcard address. */
struct tcb *tcp_lookup(struct stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct tcb *t = tcp_hash_find(st, laddr, lport, raddr, rport);
	if (!t)
		t = tcp_hash_find(st, laddr, lport, 0, 0);
	if (!t)
		t = tcp_hash_find(st, 0, lport, 0, 0);
	return t;
}

/* The chain of bound TCBs whose port falls in t's bucket: bind, listen and
 * connect look at the sockets of one port, not the whole table. */
static int *port_bucket(struct stack *st, uint16_t port)
{
	return &st->tcp.phash[port & st->tcp.hash_mask];
}

static void port_unlink(struct stack *st, struct tcb *t)
{
	if (!t->on_pchain)
		return;
	if (t->pprev >= 0)
		st->tcp.tcb[t->pprev].pnext = t->pnext;
	else
		*port_bucket(st, t->pport) = t->pnext;
	if (t->pnext >= 0)
		st->tcp.tcb[t->pnext].pprev = t->pprev;
	t->pnext = t->pprev = -1;
	t->on_pchain = 0;
}

/* t->lport is now its port (t->bound): on that port's chain. */
void tcp_port_link(struct stack *st, struct tcb *t)
{
	if (t->on_pchain)
		port_unlink(st, t);     /* the bucket of the port it had */
	int *b = port_bucket(st, t->lport);
	int me = tcb_index(st, t);
	t->pprev = -1;
	t->pnext = *b;
	if (*b >= 0)
		st->tcp.tcb[*b].pprev = me;
	*b = me;
	t->on_pchain = 1;
	t->pport = t->lport;
}

/* Field values of a fresh TCB that are not zero (Linux defaults). */
static void tcb_defaults(struct tcb *t)
{
	t->hnext = t->hpos = t->pnext = t->pprev = -1;
	t->parent = -1;
	t->acc_head = t->acc_tail = t->acc_next = -1;
	t->rto = TCP_RTO_INIT_US;
	t->mss = TCP_MSS_DEF;
	t->rcv_mss = TCP_MSS_DEF;
	t->cwnd = TCP_IW_SEGS * TCP_MSS_DEF;
	t->ssthresh = 0xffffffffu;
	t->keepidle_s = TCP_KEEPIDLE_DEF_S;
	t->keepintvl_s = TCP_KEEPINTVL_DEF_S;
	t->keepcnt = TCP_KEEPCNT_DEF;
	t->opt_rcvbuf = RCVBUF_DEFAULT;
	t->opt_sndbuf = SNDBUF_DEFAULT;
	t->rcv_budget = TCP_RMEM_DEF;
	t->snd_budget = TCP_WMEM_DEF;
	sockopt_init(&t->so);
}

/* Is t a TIME-WAIT nobody holds, with its 2MSL at at? */
static int tw_orphan_at(const struct tcb *t, uint64_t at)
{
	return t->in_use && t->orphan && t->state == TCP_TIME_WAIT && t->timer[TCP_T_2MSL] == at;
}

/* Refill twc with the TCP_TW_EVICT_BATCH TIME-WAIT orphans whose 2MSL ends
 * first, oldest first: one pass over the table serves that many
 * allocations (a pass per allocation touched every TCB of a table full of
 * TIME-WAITs, for each new connection). Exact while it lasts: a TIME-WAIT
 * entered or restarted since ends after every entry, and nst_close empties
 * it when a TIME-WAIT becomes an orphan. */
static void tw_candidates(struct tcp_ctx *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->hiwat; i++) {
		const struct tcb *t = &c->tcb[i];
		if (!t->in_use || !t->orphan || t->state != TCP_TIME_WAIT)
			continue;
		uint64_t at = t->timer[TCP_T_2MSL];
		if (n == TCP_TW_EVICT_BATCH && at >= c->twc_at[n - 1])
			continue;
		unsigned j = n < TCP_TW_EVICT_BATCH ? n++ : n - 1;
		for (; j > 0 && c->twc_at[j - 1] > at; j--) {
			c->twc[j] = c->twc[j - 1];
			c->twc_at[j] = c->twc_at[j - 1];
		}
		c->twc[j] = (int)i;
		c->twc_at[j] = at;
	}
	c->twc_n = n;
	c->twc_i = 0;
}

/* The TIME-WAIT orphan whose 2MSL ends first, or NULL. */
static struct tcb *tw_oldest(struct tcp_ctx *c)
{
	for (int pass = 0; pass < 2; pass++) {
		for (; c->twc_i < c->twc_n; c->twc_i++) {
			struct tcb *t = &c->tcb[c->twc[c->twc_i]];
			if (tw_orphan_at(t, c->twc_at[c->twc_i]))
				return t;
		}
		tw_candidates(c);
	}
	return NULL;
}

/* A free TCB: a freed one, else one never used. When the table is full,
 * the oldest TIME-WAIT orphan makes room (as Linux does when it runs out of
 * TIME-WAIT buckets). NULL if none. */
struct tcb *tcp_tcb_alloc(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	if (c->free_head < 0 && c->hiwat < c->cap) {
		c->tcb[c->hiwat].free_next = -1;
		c->free_head = (int)c->hiwat++;
	}
	if (c->free_head < 0) {
		struct tcb *old = tw_oldest(c);
		if (!old)
			return NULL;
		c->twc_i++;
		tcp_tcb_free(st, old);
	}
	struct tcb *t = &c->tcb[c->free_head];
	c->free_head = t->free_next;
	memset(t, 0, sizeof(*t));
	tcb_defaults(t);
	t->in_use = 1;
	return t;
}


/* Take a listener's child off the listener's counts and accept queue. */
static void tcp_child_unlink(struct stack *st, struct tcb *t)
{
	if (t->parent < 0)
		return;
	struct tcb *l = &st->tcp.tcb[t->parent];
	int me = tcb_index(st, t);
	if (t->in_synq) {
		l->syn_n--;
		t->in_synq = 0;
	}
	if (t->in_acq) {
		int prev = -1;
		for (int i = l->acc_head; i >= 0; prev = i, i = st->tcp.tcb[i].acc_next) {
			if (i != me)
				continue;
			if (prev < 0)
				l->acc_head = t->acc_next;
			else
				st->tcp.tcb[prev].acc_next = t->acc_next;
			if (l->acc_tail == me)
				l->acc_tail = prev;
			break;
		}
		l->acc_n--;
		t->in_acq = 0;
	}
	t->parent = -1;
}

/* Release t entirely: out of the hash, timers off, rings freed. */
void tcp_tcb_free(struct stack *st, struct tcb *t)
{
	if (!t->in_use)
		return;
	tcp_child_unlink(st, t);
	tcp_hash_remove(st, t);
	port_unlink(st, t);
	tcp_timers_clear(st, t);
	if (t->owned)
		st->tcp.n_owned--;
	tcp_rings_free(st, t);
	memset(t, 0, sizeof(*t));
	t->hnext = t->hpos = t->pnext = t->pprev = -1;
	t->free_next = st->tcp.free_head;
	st->tcp.free_head = tcb_index(st, t);
}

/* Readiness of t may have changed: tell the owner (never for orphans and
 * children not accepted yet: nobody holds an sd for them). */
void tcp_notify(struct stack *st, struct tcb *t)
{
	if (t->owned)
		stack_notify(st, tcb_index(st, t));
}

/* Change state; readiness may change with it. */
void tcp_set_state(struct stack *st, struct tcb *t, int state)
{
	if (st->state_hook && t->state != state)
		tcp_state_event(st, t, state);
	if (state == TCP_ESTABLISHED && t->state != state) {
		t->lrcv_us = st->now_us;        /* Linux: lrcvtime set at the handshake */
		/* quick-ack mode for the connection's first segments (tcp_data_in) */
		unsigned q = st->cfg.quickacks;
		t->quickacks = q == 0 ? TCP_QUICKACKS : q == -1u ? 0 : (uint8_t)(q > 255 ? 255 : q);
	}
	t->state = (uint8_t)state;
	tcp_notify(st, t);
}

/* The connection is over (RST, timeout, refusal, LAST-ACK or TIME-WAIT
 * done). A socket the application still holds stays as a CLOSED socket
 * with both directions shut and err pending (reported once by recv, send,
 * connect or SO_ERROR); anything else is freed. */
void tcp_done(struct stack *st, struct tcb *t, int err)
{
	if (!t->owned && !t->in_acq) {
		tcp_tcb_free(st, t);
		return;
	}
	/* A child in the accept queue stays there, closed (Linux: tcp_done on
	 * a socket not orphaned keeps it queued, and inet_accept takes
	 * TCP_CLOSE children): accept() returns it and its first call reports
	 * the reset, as on Linux, instead of accept() waiting for another
	 * connection that may never come. */
	tcp_timers_clear(st, t);
	tcp_hash_remove(st, t);
	if (st->state_hook && t->state != TCP_CLOSED)
		tcp_state_event(st, t, TCP_CLOSED);
	t->state = TCP_CLOSED;
	t->done = 1;
	if (err)
		t->err = err;
	tcp_notify(st, t);
}

/* A listener's child completed the handshake: into the accept queue. */
void tcp_child_established(struct stack *st, struct tcb *t)
{
	struct tcb *l = &st->tcp.tcb[t->parent];
	int me = tcb_index(st, t);
	if (t->in_synq) {
		l->syn_n--;
		t->in_synq = 0;
	}
	t->acc_next = -1;
	if (l->acc_tail >= 0)
		st->tcp.tcb[l->acc_tail].acc_next = me;
	else
		l->acc_head = me;
	l->acc_tail = me;
	l->acc_n++;
	t->in_acq = 1;
	tcp_notify(st, l);
}

/* At stack_create: the TCB table (twice max_sockets: room for orphans and
 * pending children), the hash, an empty free list (entries are taken in
 * order from hiwat, so the untouched part of the table costs no memory). */
int tcp_init(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	memset(c, 0, sizeof(*c));
	c->max_sockets = st->cfg.max_sockets ? st->cfg.max_sockets : 1024;
	c->cap = 2 * c->max_sockets;
	unsigned hsize = 1;
	while (hsize < c->cap)
		hsize <<= 1;
	c->tcb = calloc(c->cap, sizeof(*c->tcb));
	c->hash = malloc(hsize * sizeof(*c->hash));
	c->phash = malloc(hsize * sizeof(*c->phash));
	c->theap = malloc(c->cap * sizeof(*c->theap));
	if (!c->tcb || !c->hash || !c->phash || !c->theap) {
		free(c->tcb);
		free(c->hash);
		free(c->phash);
		free(c->theap);
		c->tcb = NULL;
		c->hash = NULL;
		c->phash = NULL;
		c->theap = NULL;
		return -ENOMEM;
	}
	c->hash_mask = hsize - 1;
	for (unsigned i = 0; i < hsize; i++)
		c->hash[i] = c->phash[i] = -1;
	c->free_head = -1;
	c->hiwat = 0;
	c->mem_max = st->cfg.mem_max ? st->cfg.mem_max : TCP_MEM_MAX_DEF;
	c->next_ephemeral = (uint32_t)stack_rand(st);
	c->rmem_max = c->wmem_max = SOCKBUF_MAX;
	return 0;
}

/* At stack_destroy: free everything, send nothing. */
void tcp_fini(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	if (!c->tcb)
		return;
	c->mem_pressure = 0;    /* nobody to wake any more */
	for (unsigned i = 0; i < c->hiwat; i++)
		tcp_rings_free(st, &c->tcb[i]);
	free(c->tcb);
	free(c->hash);
	free(c->phash);
	free(c->theap);
	c->tcb = NULL;
	c->hash = NULL;
	c->phash = NULL;
	c->theap = NULL;
}

/* ---- ports ------------------------------------------------------------ */

/* Two local addresses overlap when equal or either is the wildcard. */
static int addr_overlap(uint32_t a, uint32_t b)
{
	return a == 0 || b == 0 || a == b;
}

/* bind(addr, port) conflicts with another socket u on that port and an
 * overlapping address (Linux inet_bind_conflict, relaxed as for an explicit
 * bind): no conflict when both have SO_REUSEADDR and u is not listening, or
 * when both have SO_REUSEPORT (one user: ours). A connection in TIME-WAIT
 * keeps the SO_REUSEADDR of the socket it was, so rebinding the port of a
 * server restarted while its old connections wait needs the option on both,
 * as on Linux. Accepted connections hold their listener's port. */
static int port_conflict(struct stack *st, const struct tcb *me, uint32_t addr, uint16_t port)
{
	for (int i = *port_bucket(st, port); i >= 0; i = st->tcp.tcb[i].pnext) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use || u == me || !u->bound || u->lport != port || !addr_overlap(u->laddr, addr))
			continue;
		if (me && me->opt_reuseaddr && u->opt_reuseaddr && u->state != TCP_LISTEN)
			continue;
		if (me && me->opt_reuseport && u->opt_reuseport)
			continue;
		return 1;
	}
	return 0;
}

/* May connect() take over u, a closed connection of ours in TIME-WAIT
 * with the 4-tuple it wants? As Linux's tcp_twsk_unique with tcp_tw_reuse:
 * only when it used timestamps and the last one came at least a second
 * ago. Our TSvals grow across the connections to a peer (tcp_ts_offset),
 * so the peer's PAWS and TIME-WAIT take the new SYN, and its ISS is put
 * beyond the old SND.NXT (nst_connect): nothing of the old incarnation
 * can be taken for the new one (RFC 7323 5.8, RFC 6191). */
static int tw_recyclable(const struct stack *st, const struct tcb *u)
{
	return u->state == TCP_TIME_WAIT && !u->owned && u->ts_ok && u->ts_recent_ok &&
	       st->now_us - u->ts_recent_us >= TCP_TW_REUSE_US;
}

/* May connect() use port towards raddr:rport? Not when a listener or a
 * bound-only socket holds it, nor when that 4-tuple exists, unless tw is
 * given and it is a TIME-WAIT that can be taken over (*tw then names it). */
static int port_usable(struct stack *st, uint32_t laddr, uint16_t port, uint32_t raddr, uint16_t rport,
		       struct tcb **tw)
{
	for (int i = *port_bucket(st, port); i >= 0; i = st->tcp.tcb[i].pnext) {
		struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use || !u->bound || u->lport != port || !addr_overlap(u->laddr, laddr))
			continue;
		if (!u->hashed || u->state == TCP_LISTEN)
			return 0;
		if (u->raddr == raddr && u->rport == rport) {
			if (!tw || !tw_recyclable(st, u))
				return 0;
			*tw = u;
		}
	}
	return 1;
}

/* RFC 6056 3.3.3, Algorithm 3 ("Simple Hash-Based Port Selection"):
 *   offset = F(local_IP, remote_IP, remote_port, secret_key);
 *   port = min_ephemeral + (offset + next_ephemeral) % num_ephemeral;
 *   next_ephemeral++;
 * over Linux's range 32768..60999. raddr == 0: a port for bind(0)/listen,
 * unused by anybody. Returns the port or 0 if every one is taken. For
 * connect (tw not NULL), when every 4-tuple is taken, a second round (as
 * Linux's __inet_hash_connect) takes over one of our TIME-WAITs
 * (tw_recyclable) and names it in *tw; the caller ends it. */
static uint16_t tcp_ephemeral(struct stack *st, uint32_t laddr, uint32_t raddr, uint16_t rport,
			      struct tcb **tw)
{
	const uint32_t num = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
	uint32_t offset = tcp_port_offset(st, laddr, raddr, rport);
	for (uint32_t count = 0; count < num; count++) {
		uint16_t port = (uint16_t)(EPHEMERAL_MIN + (offset + st->tcp.next_ephemeral) % num);
		st->tcp.next_ephemeral++;
		if (raddr ? port_usable(st, laddr, port, raddr, rport, NULL)
			  : !port_conflict(st, NULL, laddr, port))
			return port;
	}
	for (uint32_t count = 0; raddr && tw && count < num; count++) {
		uint16_t port = (uint16_t)(EPHEMERAL_MIN + (offset + st->tcp.next_ephemeral) % num);
		st->tcp.next_ephemeral++;
		*tw = NULL;
		if (port_usable(st, laddr, port, raddr, rport, tw) && *tw)
			return port;
	}
	return 0;
}

/* ---- the native API --------------------------------------------------- */

/* The TCB an application sd names, or NULL. */
static struct tcb *sock_get(struct stack *st, int sd)
{
	if (sd < 0 || (unsigned)sd >= st->tcp.cap)
		return NULL;
	struct tcb *t = &st->tcp.tcb[sd];
	return t->in_use && t->owned ? t : NULL;
}

int nst_socket(struct stack *st, int type)
{
	if (type == NST_SOCK_DGRAM)
		return udp_socket(st);
	if (type != NST_SOCK_STREAM)
		return -EPROTONOSUPPORT;   /* UDP: not here yet */
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
	t->state = TCP_CLOSED;
	return tcb_index(st, t);
}

int nst_bind(struct stack *st, int sd, uint32_t addr, uint16_t port)
{
	if (udp_sd(sd))
		return udp_bind(st, sd, addr, port);
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	if (t->bound || t->state != TCP_CLOSED)
		return -EINVAL;
	if (addr != 0 && !stack_owns(st, addr))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		port = tcp_ephemeral(st, addr, 0, 0, NULL);
		if (!port)
			return -EADDRINUSE;
	} else if (port_conflict(st, t, addr, port)) {
		return -EADDRINUSE;
	}
	t->laddr = addr;
	t->lport = port;
	t->bound = 1;
	tcp_port_link(st, t);
	return 0;
}

/* Back to a fresh connection for a new connect() after a failed one: keep
 * the options and the bound address, forget the rest. */
static void tcb_recycle(struct stack *st, struct tcb *t)
{
	tcp_timers_clear(st, t);        /* out of the timer heap */
	struct tcb keep = *t;
	memset(t, 0, sizeof(*t));
	tcb_defaults(t);
	t->hnext = keep.hnext;
	t->pnext = keep.pnext;
	t->pprev = keep.pprev;
	t->on_pchain = keep.on_pchain;
	t->pport = keep.pport;
	t->in_use = 1;
	t->owned = 1;
	t->bound = keep.bound;
	t->laddr = keep.laddr;
	t->lport = keep.lport;
	t->sndbuf = keep.sndbuf;
	t->rcvbuf = keep.rcvbuf;
	t->user_mss = keep.user_mss;
	t->opt_keepalive = keep.opt_keepalive;
	t->opt_reuseaddr = keep.opt_reuseaddr;
	t->opt_reuseport = keep.opt_reuseport;
	t->opt_nodelay = keep.opt_nodelay;
	t->opt_linger_on = keep.opt_linger_on;
	t->opt_linger_s = keep.opt_linger_s;
	t->opt_rcvbuf = keep.opt_rcvbuf;
	t->opt_sndbuf = keep.opt_sndbuf;
	t->rcv_locked = keep.rcv_locked;
	t->snd_locked = keep.snd_locked;
	if (keep.rcv_locked)
		t->rcv_budget = keep.rcv_budget;
	if (keep.snd_locked)
		t->snd_budget = keep.snd_budget;
	t->keepidle_s = keep.keepidle_s;
	t->keepintvl_s = keep.keepintvl_s;
	t->keepcnt = keep.keepcnt;
	t->so = keep.so;
}

int nst_listen(struct stack *st, int sd, int backlog, uint64_t now_us)
{
	if (udp_sd(sd))
		return udp_sock_valid(st, sd) ? -EOPNOTSUPP : -EBADF;
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
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
		tcb_recycle(st, t);         /* a failed connect leaves it unconnected, as in Linux */
	if (!t->bound) {
		uint16_t port = tcp_ephemeral(st, 0, 0, 0, NULL);
		if (!port)
			return -EADDRINUSE;
		t->lport = port;
		t->bound = 1;
		tcp_port_link(st, t);
	}
	/* another listener on the same port and address (SO_REUSEADDR or not);
	 * SO_REUSEPORT on both lets them share it, as on Linux (not implemented:
	 * spreading connections over them: the first one found takes them all) */
	for (int i = *port_bucket(st, t->lport); i >= 0; i = st->tcp.tcb[i].pnext) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (u->in_use && u != t && u->state == TCP_LISTEN && u->lport == t->lport &&
		    addr_overlap(u->laddr, t->laddr) && !(t->opt_reuseport && u->opt_reuseport))
			return -EADDRINUSE;
	}
	t->backlog = backlog;
	t->state = TCP_LISTEN;
	tcp_hash_insert(st, t);
	return 0;
}

int nst_accept(struct stack *st, int sd, uint32_t *addr, uint16_t *port, uint64_t now_us)
{
	if (udp_sd(sd))
		return udp_sock_valid(st, sd) ? -EOPNOTSUPP : -EBADF;
	st->now_us = now_us;
	struct tcb *l = sock_get(st, sd);
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
	return tcb_index(st, t);
}

int nst_connect(struct stack *st, int sd, uint32_t addr, uint16_t port, uint64_t now_us)
{
	if (udp_sd(sd)) {
		st->now_us = now_us;
		return udp_connect(st, sd, addr, port);
	}
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
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
	if (!stack_routes(st, addr))
		return -ENETUNREACH;
	if (port == 0)
		return -ECONNREFUSED;
	tcb_recycle(st, t);         /* nothing left of an earlier attempt */
	uint32_t laddr = t->laddr ? t->laddr : ipv4_src_for(st, addr);
	uint16_t lport = t->lport;
	struct tcb *tw = NULL;
	if (!t->bound) {
		lport = tcp_ephemeral(st, laddr, addr, port, &tw);
		if (!lport)
			return -EADDRNOTAVAIL;
	} else if ((tw = tcp_hash_find(st, laddr, lport, addr, port)) && !tw_recyclable(st, tw)) {
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
	t->raddr = addr;
	t->rport = port;
	/* RFC 9293 3.10.1: "An initial send sequence number (ISS) is selected. A
	 * SYN segment of the form <SEQ=ISS><CTL=SYN> is sent. Set SND.UNA to ISS,
	 * SND.NXT to ISS+1, enter SYN-SENT state, and return." */
	t->iss = tcp_iss(st, laddr, lport, addr, port);
	if (recycled && seq_lt(t->iss, iss_min))
		t->iss = iss_min;
	t->snd.una = t->iss;
	t->snd.nxt = t->snd_max = t->iss + 1;
	t->sndbuf_seq = t->iss + 1;
	t->recover = t->iss;
	t->rto = TCP_RTO_INIT_US;
	t->retries = 0;
	t->err = 0;
	if (st->state_hook)
		tcp_state_event(st, t, TCP_SYN_SENT);
	t->state = TCP_SYN_SENT;
	t->connecting = 1;
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

ssize_t nst_send(struct stack *st, int sd, const void *buf, size_t len, int flags, uint64_t now_us)
{
	if (udp_sd(sd))
		return nst_sendto(st, sd, buf, len, flags, 0, 0, 0, now_us);
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
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
	    now_us - t->lsnd_us > t->rto)
		tcp_cwnd_restart(st, t);
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
	/* MSG_EOR (Linux tcp_sendmsg: TCP_SKB_CB(skb)->eor once the whole
	 * message is queued): later data never joins the segments of this
	 * record; tcp_output and retransmissions stop at the mark */
	if ((flags & NST_MSG_EOR) && n == len)
		tcp_eor_mark(t, tcp_snd_end(t));
	t->more_now = t->snd_more;
	tcp_unit_goal_update(st, t);
	tcp_output(st, t);
	t->more_now = 0;
	tcp_timers_update(st, t);
	TCP_CHECK(st, t);
	stack_flush(st);
	return n;
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
	uint32_t copied_seq = t->rcv.nxt - t->rcvbuf.len;      /* next byte to read */
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

ssize_t nst_recv(struct stack *st, int sd, void *buf, size_t len, int flags, uint64_t now_us)
{
	if (udp_sd(sd))
		return nst_recvfrom(st, sd, buf, len, flags, NULL, NULL, NULL, now_us);
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	if (t->state == TCP_LISTEN)
		return -ENOTCONN;
	if (t->rcvbuf.buf && t->rcvbuf.len) {
		if (len == 0)
			return 0;
		uint32_t n = len < t->rcvbuf.len ? (uint32_t)len : t->rcvbuf.len;
		tcp_ring_copy_out(&t->rcvbuf, 0, buf, n);
		if (!(flags & NST_MSG_PEEK)) {
			tcp_ring_consume(&t->rcvbuf, n);
			/* emptied (no out-of-order bytes either): the memory goes back */
			if (t->rcvbuf.len == 0)
				tcp_ring_emptied(st, t, &t->rcvbuf);
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
	int me = tcb_index(st, l);
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		struct tcb *c = &st->tcp.tcb[i];
		if (!c->in_use || c->parent != me)
			continue;
		if (c->state != TCP_CLOSED)     /* a child reset already: nothing to tell */
			tcp_send_rst(st, c);
		tcp_tcb_free(st, c);
	}
	tcp_hash_remove(st, l);
	l->state = TCP_CLOSED;
}

int nst_shutdown(struct stack *st, int sd, int how, uint64_t now_us)
{
	if (udp_sd(sd))
		return udp_shutdown(st, sd, how);
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
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
			tcp_notify(st, t);
			stack_flush(st);
		}
		return 0;
	}
	if (t->state == TCP_SYN_SENT) {
		tcp_timers_clear(st, t);
		tcp_hash_remove(st, t);
		t->state = TCP_CLOSED;
		t->connecting = 0;
		tcp_notify(st, t);
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
int nst_close(struct stack *st, int sd, uint64_t now_us)
{
	if (udp_sd(sd))
		return udp_close(st, sd);
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
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
		if ((t->rcvbuf.buf && t->rcvbuf.len) || (t->opt_linger_on && t->opt_linger_s == 0)) {
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

void nst_close_all(struct stack *st, uint64_t now_us)
{
	udp_close_all(st);
	for (unsigned i = 0; i < st->tcp.hiwat; i++)
		if (st->tcp.tcb[i].in_use && st->tcp.tcb[i].owned)
			nst_close(st, (int)i, now_us);
	stack_flush(st);
}

int nst_getsockname(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	if (udp_sd(sd))
		return udp_getsockname(st, sd, addr, port);
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	if (addr)
		*addr = t->laddr;
	if (port)
		*port = t->lport;
	return 0;
}

int nst_getpeername(struct stack *st, int sd, uint32_t *addr, uint16_t *port)
{
	if (udp_sd(sd))
		return udp_getpeername(st, sd, addr, port);
	struct tcb *t = sock_get(st, sd);
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
uint32_t nst_poll(struct stack *st, int sd)
{
	if (udp_sd(sd))
		return udp_poll(st, sd);
	struct tcb *t = sock_get(st, sd);
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
		if (t->rcvbuf.buf && t->rcvbuf.len)
			m |= NST_POLLIN;
		if (!snd_shut) {
			/* sk_stream_is_writeable: free space >= half of what is queued */
			tcp_snd_budget_update(t);
			uint32_t used = t->sndbuf.len;
			uint32_t room = tcp_snd_room(st, t);
			if (room >= used / 2 && room > 0 && tcp_notsent_ok(st, t, 1))
				m |= NST_POLLOUT;
		} else {
			m |= NST_POLLOUT;
		}
	}
	if (t->err)
		m |= NST_POLLERR;
	return m;
}

int nst_sock_error(struct stack *st, int sd)
{
	if (udp_sd(sd))
		return udp_sock_error(st, sd);
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	return sock_take_err(t);
}

int nst_sock_type(struct stack *st, int sd)
{
	if (udp_sd(sd))
		return udp_sock_valid(st, sd) ? NST_SOCK_DGRAM : -EBADF;
	return sock_get(st, sd) ? NST_SOCK_STREAM : -EBADF;
}

size_t nst_rx_avail(struct stack *st, int sd)
{
	if (udp_sd(sd))
		return udp_rx_avail(st, sd);
	struct tcb *t = sock_get(st, sd);
	if (!t || !t->rcvbuf.buf || t->state == TCP_LISTEN)
		return 0;
	return t->rcvbuf.len;
}

/* SO_LINGER with a timeout: 1 while close() must still wait, i.e. our FIN
 * (queued by close or shutdown) or the data before it is not acknowledged
 * yet (Linux sk_stream_wait_close: FIN-WAIT-1, CLOSING, LAST-ACK, and
 * SYN-RECEIVED with the FIN held back); 0 once it is, or the connection is
 * over; -EBADF. */
int nst_close_pending(struct stack *st, int sd)
{
	struct tcb *t = sock_get(st, sd);
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
	return n + arp_pending_bytes(st);
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

/* The host's net.core.rmem_max / wmem_max, which clamp SO_RCVBUF and
 * SO_SNDBUF before Linux doubles them (0 keeps the current value). */
void nst_set_sockbuf_max(struct stack *st, unsigned rmem_max, unsigned wmem_max)
{
	if (rmem_max)
		st->tcp.rmem_max = rmem_max > 0x3fffffff ? 0x3fffffff : rmem_max;
	if (wmem_max)
		st->tcp.wmem_max = wmem_max > 0x3fffffff ? 0x3fffffff : wmem_max;
}

/* An int option value; EINVAL when the caller's buffer is too short,
 * EFAULT without one. */
static int opt_int(const void *val, unsigned len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	if (!val)
		return -EFAULT;
	memcpy(out, val, sizeof(int));
	return 0;
}

/* What sockopt.c needs to know about a TCP socket. */
static void tcp_sockopt_sock(const struct stack *st, const struct tcb *t, struct sockopt_sock *k)
{
	memset(k, 0, sizeof(*k));
	k->stream = 1;
	k->closed = t->state == TCP_CLOSED;
	k->listening = t->state == TCP_LISTEN;
	k->connected = tcp_synced(t->state);
	k->lport = t->lport;
	k->mtu = st->dev ? st->dev->mtu : 1500;
}

int nst_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len,
		   uint64_t now_us)
{
	if (udp_sd(sd))
		return udp_setsockopt(st, sd, level, name, val, len);
	st->now_us = now_us;
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	struct sockopt_sock k;
	tcp_sockopt_sock(st, t, &k);
	int v = 0, r = sockopt_set(&t->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	int force = 0;
	if (level == SOL_SOCKET && (name == SO_RCVBUFFORCE || name == SO_SNDBUFFORCE)) {
		/* the same without the rmem_max / wmem_max clamp (we run as the
		 * program: CAP_NET_ADMIN is the kernel's business, not checked) */
		force = 1;
		name = name == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_LINGER: {
			struct linger lg;
			if (len < sizeof(lg))
				return -EINVAL;
			if (!val)
				return -EFAULT;
			memcpy(&lg, val, sizeof(lg));
			t->opt_linger_on = lg.l_onoff != 0;
			t->opt_linger_s = lg.l_linger;
			return 0;
		}
		case SO_KEEPALIVE:
		case SO_REUSEADDR:
		case SO_REUSEPORT:
		case SO_RCVBUF:
		case SO_SNDBUF:
			break;
		case SO_BUF_LOCK:
			/* SOCK_SNDBUF_LOCK 1, SOCK_RCVBUF_LOCK 2: unlocked sizes autotune */
			if ((r = opt_int(val, len, &v)) < 0)
				return r;
			if (v & ~3)
				return -EINVAL;
			t->snd_locked = (v & 1) != 0;
			t->rcv_locked = (v & 2) != 0;
			return 0;
		default:
			return tcp_setsockopt_more(t, level, name, val, len);
		}
		if ((r = opt_int(val, len, &v)) < 0)
			return r;
		switch (name) {
		case SO_KEEPALIVE:
			t->opt_keepalive = v != 0;
			tcp_keep_reset(st, t);
			break;
		case SO_REUSEADDR:
			t->opt_reuseaddr = v != 0;
			break;
		case SO_REUSEPORT:
			t->opt_reuseport = v != 0;
			break;
		case SO_RCVBUF:
		case SO_SNDBUF: {
			/* Linux doubles the value for bookkeeping overhead and clamps
			 * it, and the size is locked: no autotuning from now on
			 * (SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK). Our rings hold bytes
			 * only, so the budget is the half the application asked for
			 * (about what Linux's window and send queue come to). The
			 * receive budget never goes below what a window already
			 * promised (RFC 9293 3.8.6.2.2: do not shrink the window). */
			long x = v < 0 ? 0 : v;
			long max = name == SO_RCVBUF ? st->tcp.rmem_max : st->tcp.wmem_max;
			if (force)
				max = 0x3fffffff;
			if (x > max)
				x = max;
			x *= 2;
			if (name == SO_RCVBUF) {
				t->opt_rcvbuf = x < 2304 ? 2304 : (int)x;
				t->rcv_locked = 1;
				uint32_t b = (uint32_t)t->opt_rcvbuf / 2;
				uint32_t promised = t->rcvbuf.len + tcp_rcv_wnd(t);
				t->rcv_budget = b > promised ? b : promised;
			} else {
				t->opt_sndbuf = x < 4608 ? 4608 : (int)x;
				t->snd_locked = 1;
				t->snd_budget = (uint32_t)t->opt_sndbuf / 2;
			}
			break;
		}
		}
		return 0;
	}
	if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
		case TCP_KEEPCNT:
		case TCP_MAXSEG:
			break;
		default:
			r = tcp_setsockopt_more(t, level, name, val, len);
			/* uncorking sends what the cork held (Linux tcp_push_pending_frames) */
			if (r == 0 && name == TCP_CORK && !t->opt_cork)
				tcp_push(st, t, 0);
			return r;
		}
		if ((r = opt_int(val, len, &v)) < 0)
			return r;
		switch (name) {
		case TCP_NODELAY:
			/* Nagle (tcp_output); setting it sends what Nagle, TCP_CORK
			 * or MSG_MORE held, as Linux (TCP_NAGLE_PUSH) */
			t->opt_nodelay = v != 0;
			if (v)
				tcp_push(st, t, 1);
			break;
		case TCP_KEEPIDLE:
			if (v < 1 || v > MAX_TCP_KEEPIDLE)
				return -EINVAL;
			t->keepidle_s = v;
			if (t->timer[TCP_T_KEEP])
				tcp_keep_reset(st, t);
			break;
		case TCP_KEEPINTVL:
			if (v < 1 || v > MAX_TCP_KEEPINTVL)
				return -EINVAL;
			t->keepintvl_s = v;
			break;
		case TCP_KEEPCNT:
			if (v < 1 || v > MAX_TCP_KEEPCNT)
				return -EINVAL;
			t->keepcnt = v;
			break;
		case TCP_MAXSEG:
			/* Linux: TCP_MIN_MSS (88) .. MAX_TCP_WINDOW (32767), 0 clears */
			if (v != 0 && (v < 88 || v > 32767))
				return -EINVAL;
			t->user_mss = (uint16_t)v;
			break;
		}
		return 0;
	}
	return -ENOPROTOOPT;
}

int nst_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len)
{
	if (udp_sd(sd))
		return udp_getsockopt(st, sd, level, name, val, len);
	struct tcb *t = sock_get(st, sd);
	if (!t)
		return -EBADF;
	if (!len)
		return -EFAULT;
	struct sockopt_sock k;
	tcp_sockopt_sock(st, t, &k);
	int v, r = sockopt_get(&t->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	if (!val && *len)
		return -EFAULT;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			v = 0;
			break;
		case SO_TYPE:
			v = SOCK_STREAM;
			break;
		case SO_KEEPALIVE:
			v = t->opt_keepalive;
			break;
		case SO_REUSEADDR:
			v = t->opt_reuseaddr;
			break;
		case SO_REUSEPORT:
			v = t->opt_reuseport;
			break;
		case SO_RCVBUF:
			v = t->opt_rcvbuf;
			break;
		case SO_SNDBUF:
			v = t->opt_sndbuf;
			break;
		case SO_ACCEPTCONN:
			v = t->state == TCP_LISTEN;
			break;
		case SO_LINGER: {
			/* sk_getsockopt: min(optlen, sizeof(struct linger)) bytes */
			struct linger lg = { .l_onoff = t->opt_linger_on, .l_linger = t->opt_linger_s };
			unsigned n = *len < sizeof(lg) ? *len : sizeof(lg);
			memcpy(val, &lg, n);
			*len = n;
			return 0;
		}
		case SO_BUF_LOCK:
			v = (t->snd_locked ? 1 : 0) | (t->rcv_locked ? 2 : 0);
			break;
		case SO_MEMINFO: {
			/* Linux sk_get_meminfo, min(optlen, 9 u32s): what our
			 * rings hold stands for rmem_alloc and wmem_queued;
			 * nothing sits below TCP (wmem_alloc), no forward
			 * allocation, option memory, backlog or drops */
			uint32_t mi[9] = { t->rcvbuf.len, (uint32_t)t->opt_rcvbuf, 0,
					   (uint32_t)t->opt_sndbuf, 0, t->sndbuf.len, 0, 0, 0 };
			unsigned n = *len < sizeof(mi) ? *len : sizeof(mi);
			memcpy(val, mi, n);
			*len = n;
			return 0;
		}
		default:
			return tcp_getsockopt_more(t, level, name, val, len);
		}
		if (name == SO_ERROR)
			v = sock_take_err(t);
	} else if (level == IPPROTO_TCP) {
		switch (name) {
		case TCP_NODELAY:
			v = t->opt_nodelay;
			break;
		case TCP_KEEPIDLE:
			v = t->keepidle_s;
			break;
		case TCP_KEEPINTVL:
			v = t->keepintvl_s;
			break;
		case TCP_KEEPCNT:
			v = t->keepcnt;
			break;
		case TCP_MAXSEG:
			/* Linux do_tcp_getsockopt: the current MSS once connected;
			 * before (CLOSED, LISTEN) the user's value if set, else
			 * mss_cache: 536, or what a connection that is over had */
			v = tcp_synced(t->state) ? t->mss : t->user_mss ? t->user_mss :
			    t->done ? t->mss : TCP_MSS_DEF;
			break;
		default:
			return tcp_getsockopt_more(t, level, name, val, len);
		}
	} else {
		return -ENOPROTOOPT;
	}
	return sockopt_put_int(level, v, val, len);
}

/* ---- datagram sockets (udp.c) ----------------------------------------- */

ssize_t nst_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		   int to_set, uint32_t addr, uint16_t port, uint64_t now_us)
{
	st->now_us = now_us;
	if (!udp_sd(sd))        /* TCP ignores the destination, as tcp_sendmsg does */
		return nst_send(st, sd, buf, len, flags, now_us);
	return udp_sendto(st, sd, buf, len, flags, to_set, addr, port);
}

ssize_t nst_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		     uint32_t *addr, uint16_t *port, int *out_flags, uint64_t now_us)
{
	st->now_us = now_us;
	if (!udp_sd(sd)) {
		if (out_flags)
			*out_flags = 0;
		return nst_recv(st, sd, buf, len, flags, now_us);
	}
	return udp_recvfrom(st, sd, buf, len, flags, addr, port, out_flags);
}

int nst_disconnect(struct stack *st, int sd)
{
	if (!udp_sd(sd))
		return -EAFNOSUPPORT;   /* not implemented: AF_UNSPEC connect on TCP */
	return udp_disconnect(st, sd);
}

/* ---- invariants (debug builds) ---------------------------------------- */
#ifdef NST_INVARIANTS
#include <stdio.h>

/* A broken invariant is our bug, never the peer's: say which and stop. */
static void tcp_check_fail(const struct stack *st, const struct tcb *t, const char *what,
			   const char *file, int line)
{
	fprintf(stderr, "nstack: invariant violated: %s (tcb %d, state %d, una %u nxt %u max %u "
		"sndbuf_seq %u sndbuf %u/%u rcv.nxt %u rcvbuf %u/%u n_ooo %u) at %s:%d\n",
		what, t ? (int)(t - st->tcp.tcb) : -1, t ? t->state : -1,
		t ? t->snd.una : 0, t ? t->snd.nxt : 0, t ? t->snd_max : 0,
		t ? t->sndbuf_seq : 0, t ? t->sndbuf.len : 0, t ? t->sndbuf.size : 0,
		t ? t->rcv.nxt : 0, t ? t->rcvbuf.len : 0, t ? t->rcvbuf.size : 0,
		t ? t->n_ooo : 0, file, line);
	abort();
}
#define INV(cond) do { if (!(cond)) tcp_check_fail(st, t, #cond, __FILE__, __LINE__); } while (0)

/* A ring: allocated exactly when it has a size, its bytes within it. */
static void ring_check(const struct stack *st, const struct tcb *t, const struct tcp_ring *r)
{
	INV((r->buf == NULL) == (r->size == 0));
	INV(r->len <= r->size);
	INV(r->size == 0 ? r->head == 0 : r->head < r->size);
}

void tcp_check(const struct stack *st, const struct tcb *t)
{
	if (!t->in_use)
		return;
	ring_check(st, t, &t->sndbuf);
	ring_check(st, t, &t->rcvbuf);
	INV(t->n_ooo <= TCP_OOO_MAX);
	if (t->state < TCP_SYN_SENT || t->done)
		return;
	/* RFC 9293 3.3.1: SND.UNA =< SND.NXT, and nothing beyond what was sent */
	INV(seq_leq(t->snd.una, t->snd.nxt));
	INV(seq_leq(t->snd.nxt, t->snd_max));
	/* the send ring starts at snd.una: one before it while our SYN is
	 * unacknowledged, one after once our FIN is, with the ring empty */
	int32_t d = (int32_t)(t->snd.una - t->sndbuf_seq);
	INV(d == 0 || (d == -1 && !seq_gt(t->snd.una, t->iss)) ||
	    (d == 1 && t->fin_queued && t->sndbuf.len == 0));
	/* nothing sent beyond the ring's end (and our FIN) */
	INV(seq_leq(t->snd_max, tcp_snd_end(t) + 1));
	/* RACK's transmit log (tcp_rack.c): sorted, disjoint, non-empty
	 * runs, nothing beyond what was sent */
	INV(t->n_xlog <= TCP_XLOG_MAX);
	for (unsigned i = 0; i < t->n_xlog; i++) {
		INV(seq_lt(t->xlog[i].start, t->xlog[i].end));
		INV(seq_leq(t->xlog[i].end, t->snd_max));
		if (i)
			INV(seq_leq(t->xlog[i - 1].end, t->xlog[i].start));
	}
	/* out-of-order ranges: sorted, apart, beyond rcv.nxt, within the
	 * window we offered and within the ring */
	for (unsigned i = 0; i < t->n_ooo; i++) {
		const struct tcp_range *r = &t->ooo[i];
		INV(seq_lt(r->start, r->end));
		INV(seq_gt(r->start, t->rcv.nxt));
		INV(seq_leq(r->end, t->rcv_adv));
		INV(t->rcvbuf.len + (r->end - t->rcv.nxt) <= t->rcvbuf.size);
		if (i)
			INV(seq_gt(r->start, t->ooo[i - 1].end));
	}
}

/* The table and the memory accounting: every ring's size adds up to
 * mem_used, within the cap; owned sockets counted; the packet pool sane. */
void tcp_check_all(const struct stack *st)
{
	const struct tcb *t = NULL;
	uint64_t mem = 0;
	unsigned owned = 0;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use) {
			t = u;
			INV(u->sndbuf.buf == NULL && u->rcvbuf.buf == NULL);
			INV(u->hpos < 0);
			continue;
		}
		mem += u->sndbuf.size + u->rcvbuf.size;
		owned += u->owned;
		/* the timer heap: every armed TCB in it, keyed by its earliest */
		t = u;
		uint64_t k = 0;
		for (int id = 0; id < TCP_T_MAX; id++)
			if (u->timer[id] && (!k || u->timer[id] < k))
				k = u->timer[id];
		INV(k ? u->hpos >= 0 && u->hkey == k : u->hpos < 0);
		/* bound: on the chain of its port */
		INV(!u->bound || (u->on_pchain && u->pport == u->lport));
		INV(u->hpos < 0 || ((unsigned)u->hpos < st->tcp.theap_n &&
				    st->tcp.theap[u->hpos] == (int)i));
	}
	t = NULL;
	for (unsigned p = 1; p < st->tcp.theap_n; p++)
		INV(st->tcp.tcb[st->tcp.theap[(p - 1) / 2]].hkey <= st->tcp.tcb[st->tcp.theap[p]].hkey);
	INV(mem == st->tcp.mem_used);
	INV(st->tcp.mem_used <= st->tcp.mem_max);
	INV(owned == st->tcp.n_owned);
	INV(st->tcp.n_owned <= st->tcp.max_sockets);
	INV(st->tcp.hiwat <= st->tcp.cap);
	INV(pkt_pool_in_use() <= pkt_pool_size());
}
#endif
