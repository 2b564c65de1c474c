/* UDP (RFC 768, RFC 1122 4.1): datagram sockets over IPv4, following Linux's
 * udp.c where RFCs leave a choice, since programs are compared against it.
 * See udp.h for the socket table and the datagram ring. */
#include <arpa/inet.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "stack_impl.h"
#include "csum.h"
#include "ip6.h"

#define EPHEMERAL_MIN 32768     /* Linux ip_local_port_range */
#define EPHEMERAL_MAX 60999
#ifndef SOL_RAW
#define SOL_RAW 255
#endif
#define NST_ICMP_FILTER  1      /* <linux/icmp.h> ICMP_FILTER, at SOL_RAW */
#define NST_ICMP6_FILTER 1      /* <linux/icmpv6.h> ICMPV6_FILTER, at IPPROTO_ICMPV6 */
#define NST_IPV6_CHECKSUM 7     /* <netinet/in.h> IPV6_CHECKSUM */
#define SOCKBUF_MAX   212992    /* net.core.rmem_max / wmem_max */

int udp_init(struct stack *st)
{
	struct udp_ctx *u = &st->udp;
	if (st->tcp.cap > NST_UDP_SD_BASE)
		return -EINVAL;         /* the sd ranges would meet */
	u->cap = st->cfg.max_sockets;
	u->s = nst_zalloc(st, u->cap * sizeof(*u->s));
	if (!u->s)
		return -ENOMEM;
	u->free_head = -1;      /* entries are handed out in order (hiwat), then reused */
	u->hiwat = 0;
	for (int i = 0; i < UDP_HASH_SIZE; i++)
		u->hash[i] = -1;
	return 0;
}

void udp_fini(struct stack *st)
{
	struct udp_ctx *u = &st->udp;
	if (!u->s)
		return;
	for (unsigned i = 0; i < u->hiwat; i++) {
		nst_free(st, u->s[i].rq.buf, u->s[i].rq.size);
		nst_free(st, u->s[i].eq.buf, u->s[i].eq.size);
	}
	nst_free(st, u->s, u->cap * sizeof(*u->s));
	u->s = NULL;
}

static struct udp_sock *udp_get(struct stack *st, int sd)
{
	if (!udp_sd(sd) || (unsigned)(sd - NST_UDP_SD_BASE) >= st->udp.hiwat)
		return NULL;
	struct udp_sock *s = &st->udp.s[sd - NST_UDP_SD_BASE];
	return s->in_use ? s : NULL;
}

static int udp_index(const struct stack *st, const struct udp_sock *s)
{
	return (int)(s - st->udp.s);
}

static int udp_sd_of(const struct stack *st, const struct udp_sock *s)
{
	return NST_UDP_SD_BASE + udp_index(st, s);
}

/* s's wildcard: 0.0.0.0 for AF_INET, :: for AF_INET6. */
static struct nst_addr udp_any(const struct udp_sock *s)
{
	return s->af == NST_AF_INET6 ? (struct nst_addr){ 0 } : nst_addr_from_v4(0);
}

/* ---- the port hash ---------------------------------------------------- */

static void udp_hash_insert(struct stack *st, struct udp_sock *s)
{
	int *h = &st->udp.hash[s->lport % UDP_HASH_SIZE];
	s->hnext = *h;
	*h = udp_index(st, s);
}

static void udp_hash_remove(struct stack *st, struct udp_sock *s)
{
	if (!s->bound)
		return;
	int *pp = &st->udp.hash[s->lport % UDP_HASH_SIZE];
	int me = udp_index(st, s);
	while (*pp >= 0) {
		if (*pp == me) {
			*pp = s->hnext;
			break;
		}
		pp = &st->udp.s[*pp].hnext;
	}
	s->hnext = -1;
}

/* Linux udp_lib_lport_inuse: another socket on port whose address overlaps,
 * unless both allow sharing (SO_REUSEADDR on both, or SO_REUSEPORT on both). */
static int udp_port_conflict(struct stack *st, const struct udp_sock *me, const struct nst_addr *addr,
			     uint16_t port)
{
	for (int i = st->udp.hash[port % UDP_HASH_SIZE]; i >= 0; i = st->udp.s[i].hnext) {
		const struct udp_sock *o = &st->udp.s[i];
		if (o == me || o->lport != port || o->kind != (me ? me->kind : UDP_K_UDP) ||
		    (o->kind == UDP_K_PING && o->af != me->af))
			continue;       /* UDP ports and echo identifiers of each family apart */
		if (!sock_addr_overlap(&o->laddr, o->v6only, addr, me ? me->v6only : 0))
			continue;
		if (me && ((o->opt_reuseaddr && me->opt_reuseaddr) || (o->opt_reuseport && me->opt_reuseport)))
			continue;
		return 1;
	}
	return 0;
}

/* An ephemeral port (Linux udp_lib_get_port: a random start, then the first
 * free port of the range). 0 if none. */
static uint16_t udp_ephemeral(struct stack *st, const struct udp_sock *me)
{
	unsigned n = EPHEMERAL_MAX - EPHEMERAL_MIN + 1;
	unsigned start = (unsigned)(stack_rand(st) % n);
	for (unsigned i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_MIN + (start + i) % n);
		/* ephemeral ports are not shared, whatever the options say */
		int used = 0;
		for (int j = st->udp.hash[port % UDP_HASH_SIZE]; j >= 0; j = st->udp.s[j].hnext)
			if (&st->udp.s[j] != me && st->udp.s[j].lport == port &&
			    st->udp.s[j].kind == me->kind)
				used = 1;
		if (!used)
			return port;
	}
	return 0;
}

static int udp_autobind(struct stack *st, struct udp_sock *s)
{
	if (s->bound)
		return 0;
	uint16_t port = s->kind == UDP_K_RAW ? 0 : udp_ephemeral(st, s);     /* raw: no port */
	if (!port && s->kind != UDP_K_RAW)
		return -EAGAIN;         /* Linux inet_autobind */
	s->lport = port;
	s->bound = 1;
	udp_hash_insert(st, s);
	return 0;
}

/* ---- input ------------------------------------------------------------ */

/* The socket a unicast datagram from src:sport to dst:dport belongs to
 * (Linux compute_score: a connected match beats a bound address beats the
 * wildcard; among equals the most recently bound). */
/* Does s's local address take a datagram to dst? Its own address, or its
 * wildcard: 0.0.0.0 takes IPv4, :: takes IPv6 and, without IPV6_V6ONLY,
 * IPv4 (Linux udp6_lib_lookup's dual-stack sockets). */
static int udp_laddr_takes(const struct udp_sock *s, const struct nst_addr *dst)
{
	if (nst_addr_is_unspec(&s->laddr))
		return !nst_addr_is_v4(dst) || !s->v6only;
	if (nst_addr_is_any(&s->laddr))
		return nst_addr_is_v4(dst);
	return nst_addr_eq(&s->laddr, dst);
}

static struct udp_sock *udp_lookup(struct stack *st, const struct nst_addr *dst, uint16_t dport,
				   const struct nst_addr *src, uint16_t sport)
{
	struct udp_sock *best = NULL;
	int best_score = -1;
	for (int i = st->udp.hash[dport % UDP_HASH_SIZE]; i >= 0; i = st->udp.s[i].hnext) {
		struct udp_sock *s = &st->udp.s[i];
		if (s->lport != dport || s->kind != UDP_K_UDP || !udp_laddr_takes(s, dst))
			continue;
		if (s->connected && (!nst_addr_eq(&s->raddr, src) || s->rport != sport))
			continue;
		/* a socket of the datagram's own family beats a dual-stack one */
		int score = (!nst_addr_is_any(&s->laddr) ? 2 : 0) + (s->connected ? 4 : 0) +
			    (nst_addr_is_unspec(&s->laddr) == !nst_addr_is_v4(dst));
		if (score > best_score) {
			best = s;
			best_score = score;
		}
	}
	return best;
}

#define UDP_RQ_MAX (16u << 20)  /* bytes of queue one socket's ring holds at most */

/* Copy one datagram into s's ring, or drop it (counted) when the queue is
 * over SO_RCVBUF (Linux __udp_enqueue_schedule_skb). */
void udp_deliver(struct stack *st, struct udp_sock *s, const struct nst_addr *src,
		 uint16_t sport, const uint8_t *data, uint32_t len, const struct nst_dgram_info *di)
{
	if (s->rq_charge > (uint32_t)s->opt_rcvbuf) {
		st->stat.udp_drop_rcvbuf++;
		return;
	}
	uint32_t need = sizeof(struct udp_rec) + len;
	if (!s->rq.buf) {
		/* The ring is allocated whole, so it holds at most UDP_RQ_MAX of
		 * queue however large SO_RCVBUF(FORCE) was set (up to INT_MAX, as
		 * on Linux, which charges per datagram instead): past that,
		 * datagrams are dropped and counted. Not implemented: a queue
		 * that grows beyond it. */
		uint32_t q = (uint32_t)s->opt_rcvbuf < UDP_RQ_MAX ? (uint32_t)s->opt_rcvbuf : UDP_RQ_MAX;
		uint32_t size = q + UDP_MAX_PAYLOAD6 + UDP_REC_CHARGE + sizeof(struct udp_rec);
		s->rq.buf = nst_alloc(st, size);
		if (!s->rq.buf) {
			st->stat.udp_drop_rcvbuf++;
			return;
		}
		s->rq.size = size;
		s->rq.head = s->rq.len = 0;
	}
	if (tcp_ring_free(&s->rq) < need) {     /* SO_RCVBUF raised after the ring was made */
		st->stat.udp_drop_rcvbuf++;
		return;
	}
	struct udp_rec rec = { .len = len, .sport = sport, .hops = di->hops, .tclass = di->tclass,
			       .src = *src, .dst = di->dst, .rx_us = st->now_us };
	tcp_ring_copy_in(&s->rq, s->rq.len, &rec, sizeof(rec));
	if (len)
		tcp_ring_copy_in(&s->rq, s->rq.len + sizeof(rec), data, len);
	s->rq.len += need;
	s->rq_n++;
	s->rq_charge += len + UDP_REC_CHARGE;
	stack_notify(st, udp_sd_of(st, s));
}

/* A datagram of either family: udp at the UDP header, len bytes of UDP;
 * ip/ip_len the packet from its IP header, for the Port Unreachable quote. */
static void udp_rcv(struct stack *st, const struct nst_addr *src, const struct nst_addr *dst,
		    const uint8_t *udp, unsigned len, int csum_ok, const uint8_t *ip, unsigned ip_len)
{
	st->stat.udp_rx++;
	int v4 = nst_addr_is_v4(dst);
	struct nst_dgram_info di = { .dst = *dst };
	if (v4) {
		di.hops = ((const struct ip_hdr *)ip)->ttl;
		di.tclass = ((const struct ip_hdr *)ip)->tos;
	} else {
		const struct ip6_hdr *ih6 = (const struct ip6_hdr *)ip;
		di.hops = ih6->hop_limit;
		di.tclass = (uint8_t)(ntohl(ih6->ver_tc_flow) >> 20);
	}
	if (len < UDP_HDR_LEN) {
		st->stat.udp_drop_short++;
		return;
	}
	const struct udp_hdr *uh = (const struct udp_hdr *)udp;
	unsigned ulen = ntohs(uh->len);
	/* RFC 768: Length "is the length in octets of this user datagram
	 * including this header and the data"; beyond it is padding (Linux
	 * trims), short of the header or past the IP payload is malformed. */
	if (ulen < UDP_HDR_LEN || ulen > len) {
		st->stat.udp_drop_short++;
		return;
	}
	/* RFC 1122 4.1.3.4: "If a UDP datagram is received with a checksum that
	 * is non-zero and invalid, UDP MUST silently discard the datagram."
	 * Zero means the sender computed none (RFC 768): accepted over IPv4;
	 * over IPv6 the checksum is mandatory (RFC 8200 8.1: "IPv6 receivers
	 * must discard UDP packets containing a zero checksum"). */
	if (!v4 && uh->csum == 0) {
		st->stat.udp_drop_csum++;
		return;
	}
	if (uh->csum != 0 && !csum_ok) {
		uint32_t ps = v4 ? csum_pseudo(nst_addr_v4(src), nst_addr_v4(dst), IP_PROTO_UDP,
					       (uint16_t)ulen)
				 : csum_pseudo6(src, dst, IP_PROTO_UDP, ulen);
		if (csum_fold(csum_add(ps, udp, ulen)) != 0) {
			st->stat.udp_drop_csum++;
			return;
		}
	}
	uint16_t sport = ntohs(uh->sport), dport = ntohs(uh->dport);
	const uint8_t *data = udp + UDP_HDR_LEN;
	uint32_t dlen = ulen - UDP_HDR_LEN;
	if (v4 && stack_is_bcast(st, nst_addr_v4(dst))) {
		/* Linux __udp4_lib_mcast_deliver: a copy to every socket on the
		 * port bound to the wildcard (or to the broadcast address). */
		int n = 0;
		for (int i = st->udp.hash[dport % UDP_HASH_SIZE]; i >= 0; i = st->udp.s[i].hnext) {
			struct udp_sock *s = &st->udp.s[i];
			if (s->lport != dport || s->kind != UDP_K_UDP || !udp_laddr_takes(s, dst) ||
			    (s->connected && (!nst_addr_eq(&s->raddr, src) || s->rport != sport)))
				continue;
			udp_deliver(st, s, src, sport, data, dlen, &di);
			n++;
		}
		if (!n)
			st->stat.udp_drop_noport++;   /* no ICMP for broadcasts (RFC 1122 3.2.2) */
		return;
	}
	struct udp_sock *s = udp_lookup(st, dst, dport, src, sport);
	if (!s) {
		/* RFC 1122 4.1.3.1: "If a datagram arrives addressed to a UDP port
		 * for which there is no pending LISTEN call, UDP SHOULD send an ICMP
		 * Port Unreachable message." (RFC 4443 3.1 for IPv6: code 4.) */
		st->stat.udp_drop_noport++;
		if (v4)
			icmp_send_error(st, ip, ip_len, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
		else
			icmp6_send_error(st, ip, ip_len, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0);
		return;
	}
	udp_deliver(st, s, src, sport, data, dlen, &di);
}

void udp_input(struct stack *st, const uint8_t *iph, unsigned hlen,
	       const uint8_t *udp, unsigned len, int csum_ok)
{
	const struct ip_hdr *ih = (const struct ip_hdr *)iph;
	struct nst_addr src = nst_addr_from_v4(ntohl(ih->src)), dst = nst_addr_from_v4(ntohl(ih->dst));
	udp_rcv(st, &src, &dst, udp, len, csum_ok, iph, hlen + len);
}

void udp_input6(struct stack *st, struct pkt *p, const struct nst_addr *src,
		const struct nst_addr *dst, const uint8_t *ip6, unsigned ip6_len)
{
	udp_rcv(st, src, dst, p->data, p->len, !!(p->flags & PKT_F_CSUM_OK), ip6, ip6_len);
}

/* ---- the error queue (IP_RECVERR, IPV6_RECVERR) -------------------------
 * Linux sock_queue_err_skb / sock_dequeue_err_skb: errors queue in order of
 * arrival, charged to the receive budget with the datagrams; an ICMP error
 * is also the socket's pending error (SO_ERROR), which follows the queue as
 * it is read. */

int udp_recverr_on(const struct udp_sock *s, int v4)
{
	return v4 ? s->opt_recverr : !!(s->so.v6flags & SOCKOPT_V6_RECVERR);
}

void udp_err_queue(struct stack *st, struct udp_sock *s, const struct nst_sock_err *e,
		   const uint8_t *quote, unsigned len)
{
	if (len > UDP_EQ_QUOTE_MAX)
		len = UDP_EQ_QUOTE_MAX;
	uint32_t need = sizeof(struct udp_err_rec) + len;
	/* Linux sock_queue_err_skb: "if (rmem_alloc + truesize >= rcvbuf) return -ENOMEM" */
	if (s->rq_charge + s->eq_charge + len + UDP_REC_CHARGE >= (uint32_t)s->opt_rcvbuf) {
		st->stat.sock_errq_drop++;
		return;
	}
	if (!s->eq.buf) {
		s->eq.buf = nst_alloc(st, UDP_EQ_SIZE);
		if (!s->eq.buf) {
			st->stat.sock_errq_drop++;
			return;
		}
		s->eq.size = UDP_EQ_SIZE;
		s->eq.head = s->eq.len = 0;
	}
	if (tcp_ring_free(&s->eq) < need) {
		st->stat.sock_errq_drop++;
		return;
	}
	struct udp_err_rec rec = { .e = *e, .len = len };
	rec.e.rx_us = st->now_us;
	tcp_ring_copy_in(&s->eq, s->eq.len, &rec, sizeof(rec));
	if (len)
		tcp_ring_copy_in(&s->eq, s->eq.len + sizeof(rec), quote, len);
	s->eq.len += need;
	s->eq_n++;
	s->eq_charge += len + UDP_REC_CHARGE;
	st->stat.sock_errq_queued++;
	if (e->origin != NST_EE_ORIGIN_LOCAL)
		s->err = e->errnum;     /* Linux __udp4_lib_err: sk->sk_err = err */
	stack_notify(st, udp_sd_of(st, s));
}

ssize_t udp_recv_err(struct stack *st, int sd, void *buf, size_t len, struct nst_sock_err *e,
		     int *out_flags)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (out_flags)
		*out_flags = 0;
	if (!s->eq_n)
		return -EAGAIN;
	struct udp_err_rec rec;
	tcp_ring_copy_out(&s->eq, 0, &rec, sizeof(rec));
	uint32_t n = rec.len < len ? rec.len : (uint32_t)len;
	if (n)
		tcp_ring_copy_out(&s->eq, sizeof(rec), buf, n);
	if (rec.len > n && out_flags)
		*out_flags = NST_MSG_TRUNC;
	if (e)
		*e = rec.e;
	tcp_ring_consume(&s->eq, sizeof(rec) + rec.len);
	s->eq_n--;
	s->eq_charge -= rec.len + UDP_REC_CHARGE;
	/* Linux sock_dequeue_err_skb: the next ICMP error becomes sk_err; none
	 * after an ICMP error clears it */
	int next_icmp = 0;
	if (s->eq_n) {
		struct udp_err_rec nx;
		tcp_ring_copy_out(&s->eq, 0, &nx, sizeof(nx));
		if (nx.e.origin != NST_EE_ORIGIN_LOCAL) {
			s->err = nx.e.errnum;
			next_icmp = 1;
		}
	} else {
		s->eq.head = 0;
	}
	if (rec.e.origin != NST_EE_ORIGIN_LOCAL && !next_icmp)
		s->err = 0;
	stack_notify(st, sd);
	return (ssize_t)n;
}

unsigned udp_recv_ctl(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	return s ? sockopt_recv_ctl(&s->so) : 0;
}

/* A local error (Linux ip_local_error / ipv6_local_error): a datagram
 * larger than the path allows. Queued only with IP_RECVERR / IPV6_RECVERR. */
static void udp_local_error(struct stack *st, struct udp_sock *s, int err,
			    const struct nst_addr *dst, uint16_t port, uint32_t info)
{
	int v4 = nst_addr_is_v4(dst);
	if (!udp_recverr_on(s, v4))
		return;
	struct nst_sock_err e = {
		.errnum = err, .origin = NST_EE_ORIGIN_LOCAL, .info = info, .dst = *dst, .port = port,
	};
	udp_err_queue(st, s, &e, NULL, 0);
}

/* An ICMP error for s: Linux __udp4_lib_err / __udp6_lib_err. Without
 * IP_RECVERR only a hard error on a connected socket is kept, reported once
 * by the next call (ECONNREFUSED for Port Unreachable); with it every error
 * is queued with the quoted datagram and becomes the pending error. */
void udp_take_error(struct stack *st, struct udp_sock *s, int v4, int type, int code,
			   int err, int hard, const struct nst_addr *dst, uint16_t dport,
			   const struct icmp_err_ctx *c, uint64_t *ignored)
{
	if (!s || !err) {
		(*ignored)++;
		return;
	}
	if (!udp_recverr_on(s, v4)) {
		if (!hard || !s->connected) {
			(*ignored)++;
			return;
		}
		s->err = err;
		stack_notify(st, udp_sd_of(st, s));
		return;
	}
	struct nst_sock_err e = {
		.errnum = err, .origin = v4 ? NST_EE_ORIGIN_ICMP : NST_EE_ORIGIN_ICMP6,
		.type = (uint8_t)type, .code = (uint8_t)code, .hops = c->hops, .tclass = c->tclass,
		.info = c->info, .offender = c->offender, .dst = *dst, .port = dport,
	};
	udp_err_queue(st, s, &e, c->quote, c->quote_len);
	s->err = err;
}

void udp_icmp_error(struct stack *st, int type, int code, const struct nst_addr *src,
		    uint16_t sport, const struct nst_addr *dst, uint16_t dport,
		    const struct icmp_err_ctx *c)
{
	struct udp_sock *s = udp_lookup(st, src, sport, dst, dport);
	int hard = 0, err = 0;
	struct icmp_err_ctx cc = *c;
	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code == ICMP_FRAG_NEEDED) {
			/* Linux: EMSGSIZE, hard, unless IP_PMTUDISC_DONT. Not
			 * implemented: a path MTU cache for IPv4 datagrams (ours
			 * fragment to the device's MTU) */
			if (s && s->so.pmtudisc != IP_PMTUDISC_DONT) {
				err = EMSGSIZE;
				hard = 1;
			}
			break;
		}
		cc.info = 0;
		err = icmp_unreach_errno(code, &hard);
		break;
	case ICMP_TIME_EXCEEDED:
		cc.info = 0;
		err = EHOSTUNREACH;
		break;
	case ICMP_PARAMETERPROB:
		cc.info = 0;
		err = EPROTO;
		hard = 1;
		break;
	}
	udp_take_error(st, s, 1, type, code, err, hard, dst, dport, &cc, &st->stat.icmp_err_ignored);
}

/* ---- socket calls ----------------------------------------------------- */

int udp_socket(struct stack *st, int af, int kind)
{
	struct udp_ctx *u = &st->udp;
	if (u->n_owned >= u->cap)
		return -EMFILE;
	struct udp_sock *s;
	if (u->free_head >= 0) {
		s = &u->s[u->free_head];
		u->free_head = s->free_next;
	} else if (u->hiwat < u->cap) {
		s = &u->s[u->hiwat++];  /* never used: zeroed, no ring */
	} else {
		return -EMFILE;
	}
	uint8_t *buf = s->rq.buf;
	uint32_t size = s->rq.size;
	memset(s, 0, sizeof(*s));
	s->rq.buf = buf;        /* a ring left by an earlier socket is reused */
	s->rq.size = size;
	s->in_use = 1;
	s->hnext = -1;
	s->opt_rcvbuf = UDP_RCVBUF_DEF;
	s->opt_sndbuf = UDP_SNDBUF_DEF;
	sockopt_init(&s->so);
	s->af = (uint8_t)af;
	s->kind = (uint8_t)kind;
	s->laddr = udp_any(s);
	if (kind == UDP_K_RAW) {
		/* a raw socket receives from the start: on chain 0, no port */
		s->bound = 1;
		s->port_locked = 1;
		udp_hash_insert(st, s);
	}
	u->n_owned++;
	return udp_sd_of(st, s);
}

int udp_family(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	return s ? s->af : -EBADF;
}

int udp_kind(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	return s ? s->kind : -EBADF;
}

int udp_bind(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	int err = sock_bind_check(st, s->af, s->v6only, addr);
	if (err == -EADDRNOTAVAIL && nst_addr_is_v4(addr) && stack_is_bcast(st, nst_addr_v4(addr)))
		err = 0;        /* a broadcast address (Linux: RTN_BROADCAST) */
	if (err == -EAFNOSUPPORT)
		return err;
	if (s->kind == UDP_K_RAW) {
		if (err)
			return err;
		s->laddr = *addr;       /* Linux raw_bind: the address only */
		s->addr_locked = !nst_addr_is_any(addr);
		return 0;
	}
	if (s->bound)
		return -EINVAL;
	if (err)
		return err;
	if (port == 0) {
		port = udp_ephemeral(st, s);
		if (!port)
			return -EADDRINUSE;
	} else if (udp_port_conflict(st, s, addr, port)) {
		return -EADDRINUSE;
	}
	s->laddr = *addr;
	s->lport = port;
	s->bound = 1;
	s->addr_locked = !nst_addr_is_any(addr);
	s->port_locked = 1;
	udp_hash_insert(st, s);
	return 0;
}

/* listen and accept are for streams (Linux inet_dgram_ops: sock_no_listen,
 * sock_no_accept). */
int udp_listen(struct stack *st, int sd, int backlog)
{
	(void)backlog;
	return udp_sock_valid(st, sd) ? -EOPNOTSUPP : -EBADF;
}

int udp_accept(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	(void)addr, (void)port;
	return udp_sock_valid(st, sd) ? -EOPNOTSUPP : -EBADF;
}

/* Linux ip4_datagram_connect: autobind, choose the source address, record
 * the peer. A later connect replaces the peer. */
int udp_connect(struct stack *st, int sd, const struct nst_addr *addr, uint16_t port)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	int r = sock_dst_check(s->af, s->v6only, &s->laddr, addr);
	if (r < 0)
		return r;
	int bc = nst_addr_is_v4(addr) && stack_is_bcast(st, nst_addr_v4(addr));
	if (!stack_routes_addr(st, addr) && !bc)
		return -ENETUNREACH;
	if (bc && !s->opt_broadcast)
		return -EACCES;
	struct nst_addr src;
	if (nst_addr_is_any(&s->laddr) && sock_src_for(st, &s->laddr, addr, &src) < 0)
		return -ENETUNREACH;
	r = udp_autobind(st, s);
	if (r < 0)
		return r;
	if (nst_addr_is_any(&s->laddr))
		s->laddr = src;
	s->raddr = *addr;
	s->rport = port;
	s->connected = 1;
	s->err = 0;
	return 0;
}

/* Linux udp_disconnect: forget the peer; an address or port that bind()
 * did not choose is forgotten too. */
int udp_disconnect(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	s->connected = 0;
	s->raddr = (struct nst_addr){ 0 };
	s->rport = 0;
	if (!s->addr_locked)
		s->laddr = udp_any(s);
	if (!s->port_locked && s->bound) {
		udp_hash_remove(st, s);
		s->bound = 0;
		s->lport = 0;
	}
	return 0;
}

/* One datagram over IPv6 (RFC 8200 8.1: the checksum is mandatory; a
 * computed zero goes as all ones, as over IPv4), fragmented when larger
 * than the path MTU (mtu, looked up by the caller). Consumes nothing;
 * returns 0 or -errno. */
static int udp_output6(struct stack *st, struct udp_sock *s, const struct nst_addr *src,
		       const struct nst_addr *dst, struct udp_hdr *uh, const void *buf, size_t len,
		       const struct nst_send_info *si, uint32_t mtu)
{
	uint32_t sum = csum_add(csum_pseudo6(src, dst, IP_PROTO_UDP, (uint32_t)(UDP_HDR_LEN + len)),
				uh, UDP_HDR_LEN);
	if (len)
		sum = csum_add(sum, buf, len);
	uint16_t c = csum_fold(sum);
	uh->csum = htons(c ? c : 0xffff);
	int large = UDP_HDR_LEN + len + IP6_HDR_LEN > mtu;
	struct pkt *p = large && UDP_HDR_LEN + len > PKT_MAX_FRAME - ETH_HDR_LEN - IP6_HDR_LEN
			? pkt_alloc_large() : pkt_alloc();
	if (!p) {
		st->stat.tx_nobufs++;
		return -ENOBUFS;
	}
	uint8_t *b = pkt_put(p, UDP_HDR_LEN + len);
	if (!b) {
		pkt_free(p);
		st->stat.tx_nobufs++;
		return -EMSGSIZE;       /* not implemented: datagrams beyond a large packet */
	}
	memcpy(b, uh, UDP_HDR_LEN);
	if (len)
		memcpy(b + UDP_HDR_LEN, buf, len);
	/* IPV6_TCLASS, IPV6_UNICAST_HOPS, or this send's IPV6_TCLASS / IPV6_HOPLIMIT */
	p->ip_tos = si && si->tclass >= 0 ? (uint8_t)si->tclass : sockopt_tclass(&s->so);
	p->ip_ttl = si && si->hops >= 0 ? (uint8_t)si->hops : sockopt_hops(&s->so);
	return large ? ipv6_output_frag(st, p, IP_PROTO_UDP, src, dst)
		     : ipv6_output(st, p, IP_PROTO_UDP, src, dst);
}

ssize_t udp_sendto(struct stack *st, int sd, const void *buf, size_t len, int flags,
		   int to_set, const struct nst_addr *to, uint16_t port)
{
	return udp_sendto_info(st, sd, buf, len, flags, to_set, to, port, NULL);
}

ssize_t udp_sendto_info(struct stack *st, int sd, const void *buf, size_t len, int flags,
			int to_set, const struct nst_addr *to, uint16_t port,
			const struct nst_send_info *si)
{
	(void)flags;
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	struct nst_addr dst;
	if (to_set) {
		if (port == 0 && s->kind == UDP_K_UDP)
			return -EINVAL;         /* Linux udp_sendmsg (ping and raw sockets take none) */
		dst = *to;
		int r = sock_dst_check(s->af, s->v6only, &s->laddr, &dst);
		if (r < 0)
			return r;
	} else {
		if (!s->connected)
			return -EDESTADDRREQ;
		dst = s->raddr;
		port = s->rport;
	}
	int v4 = nst_addr_is_v4(&dst);
	if (v4 && len > 0xffff)
		return -EMSGSIZE;       /* Linux udp_sendmsg, nothing queued */
	uint32_t addr = v4 ? nst_addr_v4(&dst) : 0;
	int bc = v4 && stack_is_bcast(st, addr);
	if (bc && !s->opt_broadcast)
		return -EACCES;         /* Linux ip_route_output_flow: broadcast needs SO_BROADCAST */
	if (!bc && !stack_routes_addr(st, &dst))
		return -ENETUNREACH;
	/* Linux __ip_append_data / ip6_append_data: larger than the path allows
	 * (IP_PMTUDISC_DO/PROBE, IPV6_DONTFRAG: the MTU; else the largest IP
	 * packet) is EMSGSIZE and, with IP_RECVERR, a local error that tells
	 * the MTU (tracepath learns it so). */
	uint32_t mtu = v4 ? st->dev->mtu : ipv6_mtu(st, &dst);
	int df = v4 ? s->so.pmtudisc == IP_PMTUDISC_DO || s->so.pmtudisc == IP_PMTUDISC_PROBE
		    : s->so.pmtudisc6 == IPV6_PMTUDISC_DO || s->so.pmtudisc6 == IPV6_PMTUDISC_PROBE ||
		      (s->so.v6flags & SOCKOPT_V6_DONTFRAG);
	uint32_t hlen = v4 ? IP_HDR_LEN : IP6_HDR_LEN;
	uint32_t room = df ? mtu - hlen : v4 ? 0xffff - IP_HDR_LEN : 0xffff;
	if ((s->kind == UDP_K_UDP ? UDP_HDR_LEN : 0) + len > room) {
		udp_local_error(st, s, EMSGSIZE, &dst, v4 ? s->rport : port, mtu);
		return -EMSGSIZE;
	}
	/* Linux sock_alloc_send_pskb: a pending error (ICMP) is reported first. */
	if (s->err) {
		int e = s->err;
		s->err = 0;
		return -e;
	}
	if (s->shut_wr)
		return -EPIPE;
	struct nst_addr src6;
	if (!v4 && sock_src_for(st, &s->laddr, &dst, &src6) < 0)
		return -ENETUNREACH;
	int r = udp_autobind(st, s);
	if (r < 0)
		return r;
	if (s->kind != UDP_K_UDP) {
		ssize_t n = icmp_sock_send(st, s, &dst, buf, len, si);
		stack_flush(st);
		return n;
	}
	struct udp_hdr uh = {
		.sport = htons(s->lport), .dport = htons(port),
		.len = htons((uint16_t)(UDP_HDR_LEN + len)), .csum = 0,
	};
	if (!v4) {
		r = udp_output6(st, s, &src6, &dst, &uh, buf, len, si, mtu);
		goto sent;
	}
	/* IP_TOS, IP_TTL, or this send's IP_TOS / IP_TTL control messages */
	uint8_t tos = si && si->tclass >= 0 ? (uint8_t)si->tclass : sockopt_tos(&s->so);
	uint8_t ttl = si && si->hops >= 0 ? (uint8_t)si->hops : sockopt_ttl(&s->so);
	uint32_t laddr = nst_addr_is_v4(&s->laddr) ? nst_addr_v4(&s->laddr) : 0;
	uint32_t src = laddr && !stack_is_bcast(st, laddr) ? laddr : ipv4_src_for(st, addr);
	uint32_t sum = csum_pseudo(src, addr, IP_PROTO_UDP, (uint16_t)(UDP_HDR_LEN + len));
	sum = csum_add(sum, &uh, UDP_HDR_LEN);
	if (len) {
		/* csum_add takes 16-bit words from an even offset: the header is 8 bytes */
		sum = csum_add(sum, buf, len);
	}
	uint16_t c = csum_fold(sum);
	/* RFC 768: "If the computed checksum is zero, it is transmitted as all
	 * ones." */
	uh.csum = htons(c ? c : 0xffff);
	if (UDP_HDR_LEN + len + IP_HDR_LEN <= st->dev->mtu) {
		struct pkt *p = pkt_alloc();
		if (!p) {
			st->stat.tx_nobufs++;
			return -ENOBUFS;
		}
		uint8_t *b = pkt_put(p, UDP_HDR_LEN + len);
		memcpy(b, &uh, UDP_HDR_LEN);
		if (len)
			memcpy(b + UDP_HDR_LEN, buf, len);
		p->ip_tos = tos;        /* IP_TOS, IP_TTL */
		p->ip_ttl = ttl;
		/* IP_PMTUDISC_DO/PROBE: Don't Fragment. Not with the default
		 * (WANT): there is no IPv4 path MTU cache for datagrams yet */
		r = ipv4_output_raw(st, p, IP_PROTO_UDP, src, addr, st->ip_id++, df ? IP_DF : 0);
	} else {
		r = ip_frag_output(st, IP_PROTO_UDP, tos, ttl, src, addr, &uh, UDP_HDR_LEN, buf, (unsigned)len);
	}
sent:
	stack_flush(st);
	if (r < 0)
		return r;
	st->stat.udp_tx++;
	return (ssize_t)len;
}

ssize_t udp_recvfrom(struct stack *st, int sd, void *buf, size_t len, int flags,
		     struct nst_addr *addr, uint16_t *port, int *out_flags)
{
	return udp_recvfrom_info(st, sd, buf, len, flags, addr, port, out_flags, NULL);
}

ssize_t udp_recvfrom_info(struct stack *st, int sd, void *buf, size_t len, int flags,
			  struct nst_addr *addr, uint16_t *port, int *out_flags,
			  struct nst_dgram_info *info)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (out_flags)
		*out_flags = 0;
	/* Linux __skb_recv_udp: sock_error() first, even with datagrams queued. */
	if (s->err) {
		int e = s->err;
		s->err = 0;
		return -e;
	}
	if (s->rq_n == 0)
		return s->shut_rd ? 0 : -EAGAIN;
	struct udp_rec rec;
	tcp_ring_copy_out(&s->rq, 0, &rec, sizeof(rec));
	/* a raw IPv4 socket reads the IP header first (Linux raw_recvmsg):
	 * rebuilt from what the record keeps (no options) */
	uint32_t hdr = s->kind == UDP_K_RAW && s->af == NST_AF_INET ? IP_HDR_LEN : 0;
	uint32_t full = rec.len + hdr;
	uint32_t n = full < len ? full : (uint32_t)len;
	if (hdr && n) {
		struct ip_hdr ih = {
			.ver_ihl = 0x45, .tos = rec.tclass, .total_len = htons((uint16_t)full),
			.ttl = rec.hops, .proto = IP_PROTO_ICMP,
			.src = htonl(nst_addr_v4(&rec.src)), .dst = htonl(nst_addr_v4(&rec.dst)),
		};
		ih.csum = htons(csum(&ih, IP_HDR_LEN));
		memcpy(buf, &ih, n < hdr ? n : hdr);
	}
	if (n > hdr)
		tcp_ring_copy_out(&s->rq, sizeof(rec), (uint8_t *)buf + hdr, n - hdr);
	if (addr)
		*addr = rec.src;
	if (port)
		*port = rec.sport;
	if (info) {
		info->dst = rec.dst;
		info->hops = rec.hops;
		info->tclass = rec.tclass;
		info->rx_us = rec.rx_us;
	}
	if (full > n && out_flags)
		*out_flags = NST_MSG_TRUNC;
	if (!(flags & NST_MSG_PEEK)) {
		tcp_ring_consume(&s->rq, sizeof(rec) + rec.len);
		s->rq_n--;
		s->rq_charge -= rec.len + UDP_REC_CHARGE;
		if (s->rq_n == 0)
			s->rq.head = 0;
		stack_notify(st, sd);
	}
	return (flags & NST_MSG_TRUNC) ? (ssize_t)full : (ssize_t)n;
}

/* Linux inet_shutdown on a datagram socket: ENOTCONN when not connected,
 * but the flags are set anyway (a blocked recv wakes up and returns 0). */
int udp_shutdown(struct stack *st, int sd, int how)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (how != NST_SHUT_RD && how != NST_SHUT_WR && how != NST_SHUT_RDWR)
		return -EINVAL;
	if (how != NST_SHUT_WR)
		s->shut_rd = 1;
	if (how != NST_SHUT_RD)
		s->shut_wr = 1;
	stack_notify(st, sd);
	return s->connected ? 0 : -ENOTCONN;
}

int udp_close(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	udp_hash_remove(st, s);
	s->in_use = 0;
	s->bound = 0;
	s->rq.head = s->rq.len = 0;
	s->rq_n = 0;
	s->rq_charge = 0;
	nst_free(st, s->eq.buf, s->eq.size);
	s->eq.buf = NULL;
	s->eq.size = 0;
	s->eq_n = 0;
	s->eq_charge = 0;
	if (s->rq.size != (uint32_t)s->opt_rcvbuf + UDP_MAX_PAYLOAD6 + UDP_REC_CHARGE + sizeof(struct udp_rec) ||
	    s->opt_rcvbuf != UDP_RCVBUF_DEF) {
		nst_free(st, s->rq.buf, s->rq.size);   /* only default-sized rings are kept for reuse */
		s->rq.buf = NULL;
		s->rq.size = 0;
	}
	s->free_next = st->udp.free_head;
	st->udp.free_head = udp_index(st, s);
	st->udp.n_owned--;
	return 0;
}

void udp_close_all(struct stack *st)
{
	for (unsigned i = 0; i < st->udp.hiwat; i++)
		if (st->udp.s[i].in_use)
			udp_close(st, NST_UDP_SD_BASE + (int)i);
}

int udp_getsockname(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (addr)
		*addr = s->laddr;
	if (port)
		*port = s->lport;
	return 0;
}

int udp_getpeername(struct stack *st, int sd, struct nst_addr *addr, uint16_t *port)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (!s->connected)
		return -ENOTCONN;
	if (addr)
		*addr = s->raddr;
	if (port)
		*port = s->rport;
	return 0;
}

/* Linux udp_poll / datagram_poll. Datagrams are never buffered on the way
 * out, so a UDP socket is always writable. */
uint32_t udp_poll(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return NST_POLLERR | NST_POLLHUP;
	uint32_t m = NST_POLLOUT;
	if (s->err || s->eq_n)
		m |= NST_POLLERR;       /* Linux datagram_poll: sk_err or a queued error */
	if (s->shut_rd && s->shut_wr)
		m |= NST_POLLHUP;
	if (s->shut_rd)
		m |= NST_POLLIN | NST_POLLRDHUP;
	if (s->rq_n)
		m |= NST_POLLIN;
	return m;
}

int udp_sock_error(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	int e = s->err;
	s->err = 0;
	return e;
}

int udp_sock_valid(struct stack *st, int sd)
{
	return udp_get(st, sd) != NULL;
}

/* FIONREAD on a UDP socket: the size of the next datagram (Linux
 * udp_ioctl SIOCINQ), 0 when none. */
size_t udp_rx_avail(struct stack *st, int sd)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s || !s->rq_n)
		return 0;
	struct udp_rec rec;
	tcp_ring_copy_out(&s->rq, 0, &rec, sizeof(rec));
	return rec.len + (s->kind == UDP_K_RAW && s->af == NST_AF_INET ? IP_HDR_LEN : 0);
}

/* What sockopt.c needs to know about a UDP socket. */
static void udp_sockopt_sock(const struct stack *st, const struct udp_sock *s,
			     struct sockopt_sock *k)
{
	memset(k, 0, sizeof(*k));
	k->connected = s->connected;
	k->lport = s->lport;
	k->mtu = st->dev ? st->dev->mtu : 1500;
	k->af = s->af;
	k->bound = s->bound;
	k->v6only = (uint8_t *)&s->v6only;     /* sockopt_set may change it */
}

int udp_setsockopt(struct stack *st, int sd, int level, int name, const void *val, unsigned len)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	struct sockopt_sock k;
	udp_sockopt_sock(st, s, &k);
	int v, r = sockopt_set(&s->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	if (s->kind == UDP_K_RAW && s->af == NST_AF_INET6 && name == NST_IPV6_CHECKSUM &&
	    (level == SOL_RAW || level == IPPROTO_IPV6)) {
		/* Linux do_rawv6_setsockopt: ICMPv6's checksum is always computed
		 * (RFC 3542 3.1: not settable at IPPROTO_IPV6); at SOL_RAW an even
		 * offset is taken (ours stays 2), an odd one is EINVAL */
		if ((r = sockopt_arg_int(level, name, val, len, &v)) < 0)
			return r;
		return level == IPPROTO_IPV6 || (v > 0 && (v & 1)) ? -EINVAL : 0;
	}
	if (s->kind == UDP_K_RAW && ((level == SOL_RAW && name == NST_ICMP_FILTER && s->af == NST_AF_INET) ||
				     (level == IPPROTO_ICMPV6 && name == NST_ICMP6_FILTER && s->af == NST_AF_INET6))) {
		/* Linux raw_seticmpfilter / ICMP6_FILTER: at most the filter's size is read */
		uint32_t *f = s->af == NST_AF_INET ? &s->icmp_filter : s->icmp6_filter;
		unsigned size = s->af == NST_AF_INET ? sizeof(s->icmp_filter) : sizeof(s->icmp6_filter);
		if (s->af == NST_AF_INET ? len < sizeof(uint32_t) : len > size)
			return -EINVAL;
		if (!val)
			return -EFAULT;
		memset(f, 0, size);
		memcpy(f, val, len < size ? len : size);
		return 0;
	}
	if (level != SOL_SOCKET && !(level == IPPROTO_IP && name == IP_RECVERR))
		return -ENOPROTOOPT;
	if ((r = sockopt_arg_int(level, name, val, len, &v)) < 0)
		return r;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_BROADCAST:
			s->opt_broadcast = v != 0;
			return 0;
		case SO_REUSEADDR:
			s->opt_reuseaddr = v != 0;
			return 0;
		case SO_REUSEPORT:
			s->opt_reuseport = v != 0;      /* sharing only; no load balancing */
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF:
		case SO_RCVBUFFORCE:
		case SO_SNDBUFFORCE: {
			/* Linux doubles the value for bookkeeping and clamps it
			 * (not the FORCE variants); the size is locked */
			int rcv = name == SO_RCVBUF || name == SO_RCVBUFFORCE;
			long x = v < 0 ? 0 : v;
			if (x > SOCKBUF_MAX && (name == SO_RCVBUF || name == SO_SNDBUF))
				x = SOCKBUF_MAX;
			if (x > 0x3fffffff)
				x = 0x3fffffff;
			x *= 2;
			if (rcv)
				s->opt_rcvbuf = x < 2304 ? 2304 : (int)x;
			else
				s->opt_sndbuf = x < 4608 ? 4608 : (int)x;
			s->so.buf_lock |= rcv ? 2 : 1;
			if (rcv && s->rq.buf && s->rq_n == 0) {
				nst_free(st, s->rq.buf, s->rq.size);   /* re-made at the next datagram, at the new size */
				s->rq.buf = NULL;
				s->rq.size = 0;
			}
			return 0;
		}
		}
		return -ENOPROTOOPT;
	}
	switch (name) {
	case IP_RECVERR:
		s->opt_recverr = v != 0;
		return 0;
	}
	return -ENOPROTOOPT;
}

int udp_getsockopt(struct stack *st, int sd, int level, int name, void *val, unsigned *len)
{
	struct udp_sock *s = udp_get(st, sd);
	if (!s)
		return -EBADF;
	if (!len)
		return -EFAULT;
	struct sockopt_sock k;
	udp_sockopt_sock(st, s, &k);
	int v, r = sockopt_get(&s->so, &k, level, name, val, len);
	if (r != SOCKOPT_PASS)
		return r;
	if (s->kind == UDP_K_RAW && ((level == SOL_RAW && name == NST_ICMP_FILTER && s->af == NST_AF_INET) ||
				     (level == IPPROTO_ICMPV6 && name == NST_ICMP6_FILTER && s->af == NST_AF_INET6))) {
		const uint32_t *f = s->af == NST_AF_INET ? &s->icmp_filter : s->icmp6_filter;
		unsigned size = s->af == NST_AF_INET ? sizeof(s->icmp_filter) : sizeof(s->icmp6_filter);
		unsigned n = *len < size ? *len : size;
		if (n && !val)
			return -EFAULT;
		memcpy(val, f, n);
		*len = n;
		return 0;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE:      v = s->kind == UDP_K_RAW ? SOCK_RAW : SOCK_DGRAM; break;
		case SO_ERROR:     v = s->err; s->err = 0; break;
		case SO_BROADCAST: v = s->opt_broadcast; break;
		case SO_REUSEADDR: v = s->opt_reuseaddr; break;
		case SO_REUSEPORT: v = s->opt_reuseport; break;
		case SO_RCVBUF:    v = s->opt_rcvbuf; break;
		case SO_SNDBUF:    v = s->opt_sndbuf; break;
		default:
			return -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_RECVERR: v = s->opt_recverr; break;
		default:
			return -ENOPROTOOPT;
		}
	} else {
		return -ENOPROTOOPT;
	}
	return sockopt_put_int(level, v, val, len);
}

/* Linux icmpv6_err_convert: the errno of an ICMPv6 error, *hard for the
 * fatal ones; 0 for a type that is no error. */
int icmp6_err_convert(int type, int code, int *hard)
{
	*hard = 0;
	switch (type) {
	case ICMP6_DST_UNREACH:
		*hard = code == ICMP6_DST_UNREACH_NOPORT || code == ICMP6_DST_UNREACH_ADMIN ||
			code == 5 || code == 6 || code > 6;
		return code == ICMP6_DST_UNREACH_NOPORT ? ECONNREFUSED
		     : code == ICMP6_DST_UNREACH_NOROUTE ? ENETUNREACH
		     : code == ICMP6_DST_UNREACH_ADMIN || code == 5 || code == 6 ? EACCES
		     : code > 6 ? EPROTO : EHOSTUNREACH;
	case ICMP6_PACKET_TOO_BIG:
		return EMSGSIZE;
	case ICMP6_PARAM_PROB:
		*hard = 1;
		return EPROTO;
	case ICMP6_TIME_EXCEEDED:
		return EHOSTUNREACH;
	}
	return 0;
}

/* ICMPv6 errors (RFC 4443) about a datagram we sent, as Linux's
 * __udp6_lib_err with icmpv6_err_convert: the same rules as ICMP's. */
void udp_icmp6_error(struct stack *st, int type, int code,
		     const struct nst_addr *laddr, uint16_t lport,
		     const struct nst_addr *raddr, uint16_t rport, const struct icmp_err_ctx *c)
{
	struct udp_sock *s = udp_lookup(st, laddr, lport, raddr, rport);
	int hard = 0, err = icmp6_err_convert(type, code, &hard);
	if (type == ICMP6_PACKET_TOO_BIG)
		hard = s && s->so.pmtudisc6 != IPV6_PMTUDISC_DONT;     /* the path MTU is lowered
									 * already (icmp6.c) */
	udp_take_error(st, s, 0, type, code, err, hard, raddr, rport, c, &st->stat.icmp6_err_ignored);
}
