/* The TCB table behind the sockets: allocation (TIME-WAIT eviction when
 * it is full), the 4-tuple hash, the chains of TCBs per local port, the
 * choice of an ephemeral port, and the end of a connection.
 *
 * Memory: the TCB table and the hash are allocated once at tcp_init, from
 * cfg.mem (zeroed, and its entries are handed out in order, so with calloc
 * entries never used cost no memory). */
#include <errno.h>
#include <stdlib.h>     /* abort (NST_INVARIANTS) */
#include <string.h>
#include "stack_impl.h"
#include "tcp_seq.h"

#define EPHEMERAL_MIN 32768     /* Linux ip_local_port_range */
#define EPHEMERAL_MAX 60999

/* Linux defaults reported by getsockopt (tcp_wmem[1], tcp_rmem[1]) */
#define SNDBUF_DEFAULT 16384
#define RCVBUF_DEFAULT 131072
#define SOCKBUF_MAX    212992   /* net.core.wmem_max / rmem_max */

/* t's index in the table: its sd when the application holds it. */
int tcp_tcb_index(const struct stack *st, const struct tcb *t)
{
	return (int)(t - st->tcp.tcb);
}

/* An address folded to 32 bits for the hash (IPv4: the v4-mapped words). */
static inline uint32_t addr_fold(const struct nst_addr *a)
{
	return a ? a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3] : 0;
}

/* Bucket of a 4-tuple (a cheap multiplicative mix; the table is ours);
 * ra NULL: a listener. */
static unsigned tcp_hash_of(const struct stack *st, const struct nst_addr *la, uint16_t lp,
			    const struct nst_addr *ra, uint16_t rp)
{
	uint32_t h = addr_fold(la) * 0x9e3779b1u;
	h ^= addr_fold(ra) + 0x7f4a7c15u + (h << 6) + (h >> 2);
	h ^= ((uint32_t)lp << 16 | rp) * 0x85ebca6bu;
	h ^= h >> 15;
	return h & st->tcp.hash_mask;
}

/* Hash t under its 4-tuple (a listener under laddr, lport, 0, 0). */
void tcp_hash_insert(struct stack *st, struct tcb *t)
{
	if (t->hashed)
		return;
	const struct nst_addr *ra = t->state == TCP_LISTEN ? NULL : &t->raddr;
	uint16_t rp = t->state == TCP_LISTEN ? 0 : t->rport;
	unsigned b = tcp_hash_of(st, &t->laddr, t->lport, ra, rp);
	t->hnext = st->tcp.hash[b];
	st->tcp.hash[b] = tcp_tcb_index(st, t);
	t->hashed = 1;
}

/* Take t out of the 4-tuple hash, if it is there. */
void tcp_hash_remove(struct stack *st, struct tcb *t)
{
	if (!t->hashed)
		return;
	const struct nst_addr *ra = t->state == TCP_LISTEN ? NULL : &t->raddr;
	uint16_t rp = t->state == TCP_LISTEN ? 0 : t->rport;
	int *pp = &st->tcp.hash[tcp_hash_of(st, &t->laddr, t->lport, ra, rp)];
	int me = tcp_tcb_index(st, t);
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

/* Exact match of a 4-tuple; ra NULL looks for a listener. */
struct tcb *tcp_hash_find(struct stack *st, const struct nst_addr *la, uint16_t lp,
			  const struct nst_addr *ra, uint16_t rp)
{
	for (int i = st->tcp.hash[tcp_hash_of(st, la, lp, ra, rp)]; i >= 0; i = st->tcp.tcb[i].hnext) {
		struct tcb *t = &st->tcp.tcb[i];
		if (t->lport != lp || !nst_addr_eq(&t->laddr, la))
			continue;
		if (!ra ? t->state == TCP_LISTEN
			: (t->state != TCP_LISTEN && nst_addr_eq(&t->raddr, ra) && t->rport == rp))
			return t;
	}
	return NULL;
}

static const struct nst_addr addr_unspec;                     /* ::, AF_INET6's wildcard */
static const struct nst_addr addr_any4 = { .b = { [10] = 0xff, [11] = 0xff } };  /* 0.0.0.0 */

/* The listener for a SYN to laddr:lport, or NULL: one bound to that
 * address, else to its family's wildcard, else, for IPv4, a dual-stack
 * one on :: (an AF_INET6 socket without IPV6_V6ONLY, Linux's
 * inet6_lookup_listener). */
struct tcb *tcp_lookup_listener(struct stack *st, const struct nst_addr *laddr, uint16_t lport)
{
	int v4 = nst_addr_is_v4(laddr);
	struct tcb *t = tcp_hash_find(st, laddr, lport, NULL, 0);
	if (!t && v4)
		t = tcp_hash_find(st, &addr_any4, lport, NULL, 0);
	if (!t) {
		t = tcp_hash_find(st, &addr_unspec, lport, NULL, 0);
		if (t && v4 && t->v6only)
			t = NULL;
	}
	return t && t->state == TCP_LISTEN ? t : NULL;
}

/* The TCB for a segment to laddr:lport from raddr:rport: the connection,
 * else the listener (tcp_lookup_listener). */
struct tcb *tcp_lookup(struct stack *st, const struct nst_addr *laddr, uint16_t lport,
		       const struct nst_addr *raddr, uint16_t rport)
{
	struct tcb *t = tcp_hash_find(st, laddr, lport, raddr, rport);
	return t ? t : tcp_lookup_listener(st, laddr, lport);
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
	int me = tcp_tcb_index(st, t);
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
void tcp_child_unlink(struct stack *st, struct tcb *t)
{
	if (t->parent < 0)
		return;
	struct tcb *l = &st->tcp.tcb[t->parent];
	int me = tcp_tcb_index(st, t);
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
	st->tcp.free_head = tcp_tcb_index(st, t);
}

/* Readiness of t may have changed: tell the owner (never for orphans and
 * children not accepted yet: nobody holds an sd for them). */
void tcp_notify(struct stack *st, struct tcb *t)
{
	if (t->owned)
		stack_notify(st, tcp_tcb_index(st, t));
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
	t->done = 1;
	if (err)
		t->err = err;
	tcp_set_state(st, t, TCP_CLOSED);
}

/* A listener's child completed the handshake: into the accept queue. */
void tcp_child_established(struct stack *st, struct tcb *t)
{
	struct tcb *l = &st->tcp.tcb[t->parent];
	int me = tcp_tcb_index(st, t);
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

/* The table, the hashes and the timer heap, freed (with the sizes tcp_init
 * gave them: cap entries, hash_mask + 1 buckets). */
static void tcp_tables_free(struct stack *st)
{
	struct tcp_ctx *c = &st->tcp;
	size_t hsize = (size_t)c->hash_mask + 1;
	nst_free(st, c->tcb, c->cap * sizeof(*c->tcb));
	nst_free(st, c->hash, hsize * sizeof(*c->hash));
	nst_free(st, c->phash, hsize * sizeof(*c->phash));
	nst_free(st, c->theap, c->cap * sizeof(*c->theap));
	c->tcb = NULL;
	c->hash = NULL;
	c->phash = NULL;
	c->theap = NULL;
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
	c->hash_mask = hsize - 1;
	c->tcb = nst_zalloc(st, c->cap * sizeof(*c->tcb));
	c->hash = nst_zalloc(st, hsize * sizeof(*c->hash));
	c->phash = nst_zalloc(st, hsize * sizeof(*c->phash));
	c->theap = nst_zalloc(st, c->cap * sizeof(*c->theap));
	if (!c->tcb || !c->hash || !c->phash || !c->theap) {
		tcp_tables_free(st);
		return -ENOMEM;
	}
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
	tcp_tables_free(st);
}

/* ---- ports ------------------------------------------------------------ */

static int addr_overlap(const struct tcb *u, const struct nst_addr *addr, int v6only)
{
	return sock_addr_overlap(&u->laddr, u->v6only, addr, v6only);
}

/* bind(addr, port) conflicts with another socket u on that port and an
 * overlapping address (Linux inet_bind_conflict, relaxed as for an explicit
 * bind): no conflict when both have SO_REUSEADDR and u is not listening, or
 * when both have SO_REUSEPORT (one user: ours). A connection in TIME-WAIT
 * keeps the SO_REUSEADDR of the socket it was, so rebinding the port of a
 * server restarted while its old connections wait needs the option on both,
 * as on Linux. Accepted connections hold their listener's port. */
int tcp_port_conflict(struct stack *st, const struct tcb *me, const struct nst_addr *addr,
		      uint16_t port)
{
	int v6only = me ? me->v6only : 0;
	for (int i = *port_bucket(st, port); i >= 0; i = st->tcp.tcb[i].pnext) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use || u == me || !u->bound || u->lport != port ||
		    !addr_overlap(u, addr, v6only))
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
int tcp_tw_recyclable(const struct stack *st, const struct tcb *u)
{
	return u->state == TCP_TIME_WAIT && !u->owned && u->ts_ok && u->ts_recent_ok &&
	       st->now_us - u->ts_recent_us >= TCP_TW_REUSE_US;
}

/* May connect() use port towards raddr:rport? Not when a listener or a
 * bound-only socket holds it, nor when that 4-tuple exists, unless tw is
 * given and it is a TIME-WAIT that can be taken over (*tw then names it). */
static int port_usable(struct stack *st, const struct nst_addr *laddr, uint16_t port,
		       const struct nst_addr *raddr, uint16_t rport, struct tcb **tw)
{
	for (int i = *port_bucket(st, port); i >= 0; i = st->tcp.tcb[i].pnext) {
		struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use || !u->bound || u->lport != port || !addr_overlap(u, laddr, 0))
			continue;
		if (!u->hashed || u->state == TCP_LISTEN)
			return 0;
		if (nst_addr_eq(&u->raddr, raddr) && u->rport == rport) {
			if (!tw || !tcp_tw_recyclable(st, u))
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
 * (tcp_tw_recyclable) and names it in *tw; the caller ends it. */
uint16_t tcp_ephemeral(struct stack *st, const struct nst_addr *laddr, const struct nst_addr *raddr,
		       uint16_t rport, struct tcb **tw)
{
	const uint32_t num = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
	uint32_t offset = tcp_port_offset(st, laddr, raddr, rport);
	for (uint32_t count = 0; count < num; count++) {
		uint16_t port = (uint16_t)(EPHEMERAL_MIN + (offset + st->tcp.next_ephemeral) % num);
		st->tcp.next_ephemeral++;
		if (raddr ? port_usable(st, laddr, port, raddr, rport, NULL)
			  : !tcp_port_conflict(st, NULL, laddr, port))
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

/* Back to a fresh connection for a new connect() after a failed one: keep
 * the options and the bound address, forget the rest. */
void tcp_tcb_recycle(struct stack *st, struct tcb *t)
{
	tcp_timers_clear(st, t);        /* out of the timer heap */
	tcp_rcv_held_free(st, t);       /* the old connection's unread packets */
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
	t->af = keep.af;
	t->v6only = keep.v6only;
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

/* Does another listener hold t's port and an overlapping address (SO_REUSEADDR
 * or not)? SO_REUSEPORT on both lets them share it, as on Linux (not
 * implemented: spreading connections over them: the first one found takes
 * them all). */
int tcp_listen_conflict(struct stack *st, const struct tcb *t)
{
	for (int i = *port_bucket(st, t->lport); i >= 0; i = st->tcp.tcb[i].pnext) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (u->in_use && u != t && u->state == TCP_LISTEN && u->lport == t->lport &&
		    addr_overlap(u, &t->laddr, t->v6only) && !(t->opt_reuseport && u->opt_reuseport))
			return 1;
	}
	return 0;
}

/* ---- invariants (debug builds) ---------------------------------------- */
#ifdef NST_INVARIANTS
#include <stdio.h>

/* A broken invariant is our bug, never the peer's: say which and stop. */
static void tcp_check_fail(const struct stack *st, const struct tcb *t, const char *what,
			   const char *file, int line)
{
	fprintf(stderr, "nstack: invariant violated: %s (tcb %d, state %d, una %u nxt %u max %u "
		"sndbuf_seq %u sndbuf %u/%u rcv.nxt %u held %u/%u rcvbuf %u/%u n_ooo %u) at %s:%d\n",
		what, t ? (int)(t - st->tcp.tcb) : -1, t ? t->state : -1,
		t ? t->snd.una : 0, t ? t->snd.nxt : 0, t ? t->snd_max : 0,
		t ? t->sndbuf_seq : 0, t ? t->sndbuf.len : 0, t ? t->sndbuf.size : 0,
		t ? t->rcv.nxt : 0, t ? t->rcv_held.len : 0, t ? t->rcv_held.n : 0,
		t ? t->rcvbuf.len : 0, t ? t->rcvbuf.size : 0,
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

/* The held packets (ring.c): the queue well formed, its counts right, each
 * a large packet with unread bytes inside its buffer, no device's. */
static void held_check(const struct stack *st, const struct tcb *t)
{
	const struct tcp_held *h = &t->rcv_held;
	uint32_t len = 0, n = 0;
	const struct pkt *last = NULL;
	for (const struct pkt *p = h->head; p; p = p->next) {
		INV(pkt_is_large(p));
		INV(p->len > 0);
		INV(p->data >= p->buf && p->data + p->len <= p->buf + p->size);
		INV(p->dev_owner == 0);
		INV(n < pkt_pool_large_size());         /* no cycle */
		len += p->len;
		n++;
		last = p;
	}
	INV(h->tail == last);
	INV(h->len == len && h->n == n);
}

void tcp_check(const struct stack *st, const struct tcb *t)
{
	if (!t->in_use)
		return;
	ring_check(st, t, &t->sndbuf);
	ring_check(st, t, &t->rcvbuf);
	held_check(st, t);
	INV(t->n_ooo <= TCP_OOO_MAX);
	if (t->state < TCP_SYN_SENT || t->done)
		return;
	/* nothing unread beyond what arrived in order (past the SYN) */
	INV(tcp_rcv_unread(t) <= (uint32_t)(t->rcv.nxt - t->irs));
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

/* The table and the memory accounting: every ring's size and every held
 * packet's buffer add up to mem_used, within the cap; owned sockets
 * counted; the packet pool sane. */
void tcp_check_all(const struct stack *st)
{
	const struct tcb *t = NULL;
	uint64_t mem = 0;
	unsigned owned = 0, held = 0;
	for (unsigned i = 0; i < st->tcp.hiwat; i++) {
		const struct tcb *u = &st->tcp.tcb[i];
		if (!u->in_use) {
			t = u;
			INV(u->sndbuf.buf == NULL && u->rcvbuf.buf == NULL);
			INV(u->rcv_held.head == NULL);
			INV(u->hpos < 0);
			continue;
		}
		mem += u->sndbuf.size + u->rcvbuf.size;
		for (const struct pkt *p = u->rcv_held.head; p; p = p->next)
			mem += p->size;
		held += u->rcv_held.n;
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
	INV(held == st->tcp.held_pkts);
	INV(held <= pkt_pool_large_in_use());
	INV(owned == st->tcp.n_owned);
	INV(st->tcp.n_owned <= st->tcp.max_sockets);
	INV(st->tcp.hiwat <= st->tcp.cap);
	INV(pkt_pool_in_use() <= pkt_pool_size());
}
#endif

