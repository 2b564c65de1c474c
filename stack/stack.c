/* A stack instance: creation, the poll loop (rx batch, timers, flush) and the
 * small services the protocol modules share (randomness, SipHash, notify). */
#include <string.h>
#include "stack_impl.h"
#include "splitmix64.h"

#define STACK_RX_BATCH   64
#define STACK_RX_BATCHES 8      /* bound the work of one stack_poll call */

/* Deterministic fallback when the caller gives no randomness (tests): a
 * splitmix64 sequence from 1, its state in the stack (st->rand_state). */
static uint64_t stack_rand_default(void *ctx)
{
	return splitmix64(ctx);
}

uint64_t stack_rand(struct stack *st)
{
	return st->cfg.rand64(st->cfg.rand_ctx);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

/* SipHash-2-4 (Aumasson, Bernstein): the keyed hash behind ISS selection
 * (RFC 6528) and ephemeral port selection (RFC 6056). */
uint64_t siphash24(const uint64_t k[2], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = 0x736f6d6570736575ull ^ k[0];
	uint64_t v1 = 0x646f72616e646f6dull ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ k[0];
	uint64_t v3 = 0x7465646279746573ull ^ k[1];
	uint64_t b = (uint64_t)len << 56;
	size_t i;
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m;
		memcpy(&m, in + i, 8);      /* little-endian host (x86_64) */
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The stack and everything it holds come from cfg->mem (calloc/free when
 * its zalloc is NULL); a zalloc without a free is refused. */
struct stack *stack_create(const struct stack_config *cfg, struct netdev *dev, uint64_t now_us)
{
	if (!cfg || !dev || cfg->prefix_len > 32)
		return NULL;
	struct nst_mem_ops mem = cfg->mem.zalloc ? cfg->mem : nst_mem_calloc;
	if (!mem.free)
		return NULL;
	struct stack *st = mem.zalloc(mem.ctx, sizeof(*st));
	if (!st)
		return NULL;
	st->cfg = *cfg;
	st->cfg.mem = mem;
	if (!st->cfg.rand64) {
		st->rand_state = 1;
		st->cfg.rand64 = stack_rand_default;
		st->cfg.rand_ctx = &st->rand_state;
	}
	if (!st->cfg.max_sockets)
		st->cfg.max_sockets = 1024;
	st->dev = dev;
	st->now_us = now_us;
	st->netmask = cfg->prefix_len ? 0xffffffffu << (32 - cfg->prefix_len) : 0;
	st->key[0] = stack_rand(st);
	st->key[1] = stack_rand(st);
	st->ts_key[0] = cfg->ts_key[0];
	st->ts_key[1] = cfg->ts_key[1];
	if (!(st->ts_key[0] | st->ts_key[1])) {
		st->ts_key[0] = stack_rand(st);
		st->ts_key[1] = stack_rand(st);
	}
	st->ip_id = (uint16_t)stack_rand(st);
	if (tcp_init(st) < 0) {
		mem.free(mem.ctx, st, sizeof(*st));
		return NULL;
	}
	if (udp_init(st) < 0 || ip_frag_init(st) < 0 || ipv6_init(st) < 0) {
		ipv6_fini(st);
		ip_frag_fini(st);
		udp_fini(st);
		tcp_fini(st);
		mem.free(mem.ctx, st, sizeof(*st));
		return NULL;
	}
	return st;
}

void stack_destroy(struct stack *st)
{
	if (!st)
		return;
	tcp_fini(st);
	udp_fini(st);
	ip_frag_fini(st);
	arp_flush_all(st);
	ipv6_fini(st);
	struct nst_mem_ops mem = st->cfg.mem;
	mem.free(mem.ctx, st, sizeof(*st));
}

void stack_set_notify(struct stack *st, void (*fn)(void *ctx, int sd), void *ctx)
{
	st->notify = fn;
	st->notify_ctx = ctx;
}

const struct stack_stats *stack_stats(const struct stack *st) { return &st->stat; }
struct netdev *stack_netdev(const struct stack *st) { return st->dev; }
void stack_set_netdev(struct stack *st, struct netdev *dev) { st->dev = dev; }

uint32_t stack_addr(const struct stack *st, uint8_t *prefix_len)
{
	if (prefix_len)
		*prefix_len = st->cfg.prefix_len;
	return st->cfg.addr;
}

void stack_set_mem(struct stack *st, const struct nst_mem_ops *mem)
{
	if (mem->zalloc && mem->free)
		st->cfg.mem = *mem;
}

void stack_set_rand(struct stack *st, uint64_t (*fn)(void *ctx), void *ctx)
{
	if (fn) {
		st->cfg.rand64 = fn;
		st->cfg.rand_ctx = ctx;
	}
}

void stack_flush(struct stack *st)
{
	if (st->tx_pending) {
		st->tx_pending = 0;
		netdev_flush(st->dev);
	}
}

static uint64_t deadline_min(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

uint64_t stack_next_deadline(const struct stack *st)
{
	return deadline_min(deadline_min(deadline_min(arp_next_deadline(st), tcp_next_deadline(st)),
					 ip_frag_next_deadline(st)),
			    ipv6_next_deadline(st));
}

int stack_poll(struct stack *st, uint64_t now_us)
{
	struct pkt *rx[STACK_RX_BATCH];
	int total = 0;
	st->now_us = now_us;
	for (int b = 0; b < STACK_RX_BATCHES; b++) {
		int n = netdev_recv(st->dev, rx, STACK_RX_BATCH);
		for (int i = 0; i < n; i++)
			eth_input(st, rx[i]);
		total += n;
		if (n < STACK_RX_BATCH)
			break;
	}
	uint64_t d = arp_next_deadline(st);
	if (d && d <= now_us)
		arp_timer(st);
	d = tcp_next_deadline(st);
	if (d && d <= now_us)
		tcp_timer(st);
	d = ip_frag_next_deadline(st);
	if (d && d <= now_us)
		ip_frag_timer(st);
	d = ipv6_next_deadline(st);
	if (d && d <= now_us)
		ipv6_timer(st);
	stack_flush(st);
	return total;
}
