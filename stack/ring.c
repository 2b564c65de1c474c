/* The byte ring and its memory: TCP's send and receive rings, and the
 * datagram queue of a UDP socket (udp.h), are one kind of ring.
 *
 * Memory (cfg.mem, as all of the stack's): the rings are a deliberate
 * exception to "no malloc after init":
 * they exist only while they hold bytes, within per-connection budgets and
 * a stack-wide cap (st->tcp.mem_max, cfg.mem_max), so that 10 000 idle
 * connections cost their TCBs and nothing more. tcp.h says how a ring
 * grows and is freed, and what its budget is. */
#include <assert.h>
#include <string.h>
#include "stack_impl.h"

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
 * stack-wide cap. -ENOMEM (r unchanged) over the cap or when cfg.mem fails:
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
	uint8_t *b = nst_alloc(st, size);
	if (!b)
		return -ENOMEM;
	if (r->buf) {
		tcp_ring_copy_out(r, 0, b, r->size);    /* the whole ring, from the head */
		nst_free(st, r->buf, r->size);
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
		nst_free(st, r->buf, r->size);
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

/* Both rings of t and its held packets, freed. */
void tcp_rings_free(struct stack *st, struct tcb *t)
{
	tcp_rcv_held_free(st, t);
	tcp_ring_release(st, &t->sndbuf);
	tcp_ring_release(st, &t->rcvbuf);
}

/* ---- held packets ------------------------------------------------------ */

/* A large in-order segment (a GRO frame) is kept in the packet it came in
 * rather than copied into the receive ring: recv copies its bytes once,
 * packet to user, instead of twice (packet to ring, ring to user). Held
 * bytes come before the ring's in sequence order -- the ring's head is the
 * first unread byte after them, so the ring's offsets (out-of-order bytes
 * at rcvbuf.len + seq - rcv.nxt) stay as they are -- hence a packet is held
 * only while the ring has no unread bytes and no out-of-order ones; what
 * comes while it has goes into the ring as before, and holding resumes
 * once a read has emptied it.
 *
 * Limits: a held packet is charged its whole buffer (p->size, as Linux
 * charges an skb's truesize) to the stack-wide cap (mem_used); a
 * connection's held buffers stay within twice its receive budget (Linux's
 * receive memory is about twice the window it offers), so that frames with
 * little payload cannot pin much more memory than the window says; and the
 * receive queues of the stack hold at most a quarter of the large pool
 * (held_pkts), which the device refills its receive buffers from. Past
 * any of them, the segment is copied (tcp_rx_hold_limit). A held packet is
 * the stack's, not a device's: dev_owner 0 (the device cleared it when it
 * handed the frame up), so the reclaim of a dead process's buffers
 * (pkt_pool_reclaim) never takes it. */

/* Keep p, whose payload data (len bytes inside p) is the in-order segment
 * at t's rcv.nxt, at the end of t's held queue. 0: t owns p now (the caller
 * advances rcv.nxt); -1: not held (too small, not a large packet, bytes
 * in the ring, a limit reached): the caller copies it and keeps p. */
int tcp_rcv_hold(struct stack *st, struct tcb *t, struct pkt *p, const uint8_t *data,
		 uint32_t len)
{
	struct tcp_ctx *c = &st->tcp;
	if (len < TCP_HOLD_MIN || !pkt_is_large(p) || t->rcvbuf.len || t->n_ooo)
		return -1;
	if (c->held_pkts >= pkt_pool_large_size() / 4 || c->mem_used + p->size > c->mem_max ||
	    (uint64_t)(t->rcv_held.n + 1) * p->size > 2ull * t->rcv_budget) {
		st->stat.tcp_rx_hold_limit++;
		return -1;
	}
	assert(data >= p->data && data + len <= p->data + p->len);
	p->data += data - p->data;
	p->len = len;
	p->next = NULL;
	p->dev_owner = 0;
	struct tcp_held *h = &t->rcv_held;
	if (h->tail)
		h->tail->next = p;
	else
		h->head = p;
	h->tail = p;
	h->len += len;
	h->n++;
	c->held_pkts++;
	c->mem_used += p->size;
	st->stat.tcp_rx_held++;
	return 0;
}

/* Append an in-order segment to the last held packet of t, in its tailroom,
 * while the ring has no bytes: one copy, as into the ring, and the next
 * large segment can still be held (one small segment in the ring would
 * make every frame after it a copy until the reader empties the ring).
 * The buffer is charged already. 0: appended; -1: no held packet, no room,
 * or bytes in the ring: the caller goes on. */
int tcp_rcv_append(struct tcb *t, const uint8_t *data, uint32_t len)
{
	struct pkt *p = t->rcv_held.tail;
	if (!p || t->rcvbuf.len || t->n_ooo || len > pkt_tailroom(p))
		return -1;
	memcpy(p->data + p->len, data, len);
	p->len += len;
	t->rcv_held.len += len;
	return 0;
}

/* The first held packet of h, off the queue and freed, its charge given back. */
static void held_pop_free(struct stack *st, struct tcp_held *h)
{
	struct pkt *p = h->head;
	h->head = p->next;
	if (!h->head)
		h->tail = NULL;
	h->len -= p->len;
	h->n--;
	st->tcp.held_pkts--;
	st->tcp.mem_used -= p->size;
	pkt_free(p);
	if (st->tcp.mem_pressure)
		tcp_mem_relieved(st);
}

/* Copy the first n unread bytes of t (n <= tcp_rcv_unread): the held
 * packets' in order, then the ring's. Nothing is consumed (MSG_PEEK). */
void tcp_rcv_copy_out(const struct tcb *t, void *dst, uint32_t n)
{
	uint8_t *d = dst;
	for (const struct pkt *p = t->rcv_held.head; p && n; p = p->next) {
		uint32_t k = p->len < n ? p->len : n;
		memcpy(d, p->data, k);
		d += k;
		n -= k;
	}
	if (n)
		tcp_ring_copy_out(&t->rcvbuf, 0, d, n);
}

/* The first n unread bytes of t were read: held packets emptied are freed
 * (one partly read keeps the rest), then the ring gives up the remainder
 * and, emptied, its memory (tcp_ring_emptied). */
void tcp_rcv_consume(struct stack *st, struct tcb *t, uint32_t n)
{
	struct tcp_held *h = &t->rcv_held;
	while (n && h->head) {
		struct pkt *p = h->head;
		if (n < p->len) {
			pkt_pull(p, n);
			h->len -= n;
			return;
		}
		n -= p->len;
		held_pop_free(st, h);
	}
	if (!n)
		return;
	tcp_ring_consume(&t->rcvbuf, n);
	if (t->rcvbuf.len == 0)
		tcp_ring_emptied(st, t, &t->rcvbuf);
}

/* Every held packet of t, freed (the connection is over, or unread data
 * discarded). */
void tcp_rcv_held_free(struct stack *st, struct tcb *t)
{
	while (t->rcv_held.head)
		held_pop_free(st, &t->rcv_held);
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

uint64_t nst_mem_used(const struct stack *st)
{
	return st->tcp.mem_used;
}

uint64_t nst_mem_max(const struct stack *st)
{
	return st->tcp.mem_max;
}
