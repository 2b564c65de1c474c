/* The inside of struct stack, shared by the modules of stack/ only. */
#ifndef NSTACK_STACK_IMPL_H
#define NSTACK_STACK_IMPL_H

#include <errno.h>
#include "stack.h"
#include "ip.h"
#include "tcp.h"
#include "udp.h"
#include "ip_frag.h"
#include "ip6.h"

struct stack {
	struct stack_config cfg;
	struct netdev      *dev;
	uint64_t            now_us;     /* time of the current entry point */
	struct stack_stats  stat;
	uint32_t            netmask;
	struct arp_table    arp;
	uint16_t            ip_id;
	uint64_t            key[2];     /* secret: ISS (RFC 6528), ephemeral ports (RFC 6056) */
	uint64_t            ts_key[2];  /* secret: TSval offsets (cfg.ts_key, else random) */
	unsigned            tx_pending; /* frames queued since the last flush */
	void              (*notify)(void *ctx, int sd);
	void               *notify_ctx;
	void              (*state_hook)(void *ctx, const struct nst_state_event *ev); /* sock_info.c */
	void               *state_hook_ctx;
	struct tcp_ctx      tcp;        /* sockets and connections (tcp.h) */
	struct udp_ctx      udp;        /* datagram sockets, ICMP rate limit (udp.h) */
	struct ip_frag_ctx  frag;       /* IPv4 reassembly (ip_frag.h) */
	uint64_t            rand_state; /* the default cfg.rand_ctx (no cfg.rand64) */
	struct ip6_ctx      ip6;        /* IPv6 addresses, PMTU cache, ICMPv6 rate limit (ip6.h) */
	struct nd6_table    nd6;        /* neighbor cache, default routers (nd6.c) */
	struct ip6_frag_ctx frag6;      /* IPv6 reassembly (ip6_frag.c) */
};

/* n zeroed bytes from cfg.mem, or NULL. */
static inline void *nst_zalloc(struct stack *st, size_t n)
{
	return st->cfg.mem.zalloc(st->cfg.mem.ctx, n);
}
/* Give back p (NULL: nothing), n the size it was allocated with. */
/* n bytes that need not be zeroed (a ring: written before it is read). */
static inline void *nst_alloc(struct stack *st, size_t n)
{
	return st->cfg.mem.alloc ? st->cfg.mem.alloc(st->cfg.mem.ctx, n)
				 : st->cfg.mem.zalloc(st->cfg.mem.ctx, n);
}

static inline void nst_free(struct stack *st, void *p, size_t n)
{
	if (p)
		st->cfg.mem.free(st->cfg.mem.ctx, p, n);
}

uint64_t stack_rand(struct stack *st);
/* SipHash-2-4 of len bytes under key k. */
uint64_t siphash24(const uint64_t k[2], const void *data, size_t len);
static inline void stack_notify(struct stack *st, int sd)
{
	if (st->notify && sd >= 0)
		st->notify(st->notify_ctx, sd);
}
/* Addresses of either family for the socket calls (sock.c). */
int sock_addr_overlap(const struct nst_addr *a, int a_v6only, const struct nst_addr *b, int b_v6only);
int sock_bind_check(const struct stack *st, int af, int v6only, const struct nst_addr *a);
int sock_dst_check(int af, int v6only, const struct nst_addr *laddr, const struct nst_addr *dst);
int sock_src_for(const struct stack *st, const struct nst_addr *laddr, const struct nst_addr *dst,
		 struct nst_addr *src);
/* Flush the device if frames are pending (end of every entry point). */
void stack_flush(struct stack *st);

#endif
