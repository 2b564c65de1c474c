/* The stack's memory comes through cfg.mem and the packet pool's through
 * pkt_pool_init_mem: a counting allocator records every block and its size,
 * and after a TCP transfer (rings grown and freed), a UDP exchange (a
 * datagram ring) and an IP reassembly (a slot buffer), stack_destroy must
 * have given every block back, each with the size it was allocated with. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "shim/shim.h"
#include "tests/unit/pair_harness.h"

#define TCP_PORT 5001
#define UDP_PORT 6000

/* ---- the counting allocator ------------------------------------------- */

struct block { void *p; size_t size; };

struct counter {
	struct block *v;        /* outstanding blocks */
	size_t        n, cap;
	uint64_t      bytes;    /* outstanding bytes */
	uint64_t      allocs, frees, bad_frees;
	size_t        largest;  /* largest block ever asked for */
	long          fail_after;   /* >= 0: allocations that succeed before one fails */
};

static void *count_zalloc(void *ctx, size_t size)
{
	struct counter *c = ctx;
	if (c->fail_after == 0)
		return NULL;
	if (c->fail_after > 0)
		c->fail_after--;
	void *p = calloc(1, size ? size : 1);
	if (!p)
		return NULL;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	c->v[c->n++] = (struct block){ p, size };
	c->bytes += size;
	c->allocs++;
	if (size > c->largest)
		c->largest = size;
	return p;
}

static void count_free(void *ctx, void *p, size_t size)
{
	struct counter *c = ctx;
	c->frees++;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].p != p)
			continue;
		if (c->v[i].size != size) {
			fprintf(stderr, "  free of a %zu-byte block with size %zu\n", c->v[i].size, size);
			c->bad_frees++;
		}
		c->bytes -= c->v[i].size;
		c->v[i] = c->v[--c->n];
		free(p);
		return;
	}
	fprintf(stderr, "  free of a block never allocated (%zu bytes)\n", size);
	c->bad_frees++;
}

static struct nst_mem_ops counting(struct counter *c)
{
	return (struct nst_mem_ops){ count_zalloc, count_free, c, NULL };
}

/* Nothing outstanding, no free with a wrong size or pointer. */
static void expect_all_freed(const struct counter *c)
{
	CHECK_EQ(c->n, 0);
	CHECK_EQ(c->bytes, 0);
	CHECK_EQ(c->bad_frees, 0);
	CHECK_EQ(c->allocs, c->frees);
}

static void counter_release(struct counter *c)
{
	free(c->v);
	*c = (struct counter){ .fail_after = -1 };
}

/* ---- two stacks over the in-memory pair -------------------------------- */

/* Stacks A and B on a new pair, their memory from the counters ma and mb
 * (the same one may serve both). 0 or -1. */
static int pair_open(struct counter *ma, struct counter *mb, struct netdev **da, struct netdev **db,
		     struct stack **a, struct stack **b, uint64_t now)
{
	if (memdev_pair(da, db) != 0)
		return -1;
	struct stack_config cfa = { .addr = A_ADDR, .prefix_len = 24, .rand64 = rnd, .rand_ctx = &rng_a,
				    .mem = counting(ma) };
	struct stack_config cfb = { .addr = B_ADDR, .prefix_len = 24, .rand64 = rnd, .rand_ctx = &rng_b,
				    .mem = counting(mb) };
	*a = stack_create(&cfa, *da, now);
	*b = stack_create(&cfb, *db, now);
	return *a && *b ? 0 : -1;
}

/* A connection from A to B's listener *l on TCP_PORT: *c at A, *s at B. */
static uint64_t pair_connect(struct stack *a, struct stack *b, int *l, int *c, int *s, uint64_t now)
{
	*l = nst_socket(b, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(b, *l, 0, TCP_PORT), 0);
	CHECK_EQ(nst_listen(b, *l, 8, now), 0);
	*c = nst_socket(a, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(a, *c, B_ADDR, TCP_PORT, now), -EINPROGRESS);
	now = pair_run(a, b, now, 10);
	CHECK_EQ(nst_connect(a, *c, B_ADDR, TCP_PORT, now), 0);
	*s = nst_accept(b, *l, NULL, NULL, now);
	CHECK(*s >= 0);
	return now;
}

/* Jump from deadline to deadline until no timer is armed (bounded). */
static uint64_t run_timers(struct stack *a, struct stack *b, uint64_t now)
{
	for (int i = 0; i < 10000; i++) {
		uint64_t da = stack_next_deadline(a), db = stack_next_deadline(b);
		if (!da && !db)
			break;
		uint64_t d = !da ? db : !db ? da : da < db ? da : db;
		now = d > now ? d : now + 1;
		stack_poll(a, now);
		stack_poll(b, now);
	}
	return now;
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 31 + (i >> 9)); }

/* Send len bytes from (sa, ca) to (sb, cb) and read them there, checking
 * every byte. */
static uint64_t transfer(struct stack *sa, int ca, struct stack *sb, int cb, size_t len, uint64_t now)
{
	static uint8_t in[65536], out[65536];
	size_t sent = 0, got = 0;
	for (int round = 0; got < len && round < 200000; round++) {
		if (sent < len) {
			size_t n = len - sent < sizeof(out) ? len - sent : sizeof(out);
			for (size_t i = 0; i < n; i++)
				out[i] = pattern(sent + i);
			ssize_t r = nst_send(sa, ca, out, n, 0, now);
			if (r > 0)
				sent += (size_t)r;
		}
		now = pair_run(sa, sb, now, 1);
		ssize_t r;
		while ((r = nst_recv(sb, cb, in, sizeof(in), 0, now)) > 0) {
			for (ssize_t i = 0; i < r; i++)
				if (in[i] != pattern(got + (size_t)i)) {
					CHECK_EQ(in[i], pattern(got + (size_t)i));
					return now;
				}
			got += (size_t)r;
		}
	}
	CHECK_EQ(got, len);
	return now;
}

TEST(stack_memory_all_through_cfg_mem_and_freed_with_its_size)
{
	struct counter ma = { .fail_after = -1 }, mb = { .fail_after = -1 };
	struct netdev *da, *db;
	struct stack *a, *b;
	uint64_t now = 1000000;
	REQUIRE(pair_open(&ma, &mb, &da, &db, &a, &b, now) == 0);
	CHECK(ma.n > 0 && mb.n > 0);    /* the stack and its tables came from cfg.mem */
	size_t tables_a = ma.n;

	/* TCP: a connection, data both ways (the rings grow past 4 KB), closed */
	int l, c, s;
	now = pair_connect(a, b, &l, &c, &s, now);
	REQUIRE(s >= 0);
	now = transfer(a, c, b, s, 1 << 20, now);
	now = transfer(b, s, a, c, 200000, now);
	CHECK(ma.largest >= 65536);     /* rings grew */
	CHECK(mb.largest >= 65536);
	CHECK(nst_mem_used(a) > 0 || nst_mem_used(b) > 0 || ma.n > tables_a);

	/* UDP: datagrams both ways, one of 3000 bytes fragmented by A and
	 * reassembled by B (a slot buffer), and a ring remade by SO_RCVBUF */
	int ua = nst_socket(a, NST_SOCK_DGRAM), ub = nst_socket(b, NST_SOCK_DGRAM);
	REQUIRE(ua >= 0 && ub >= 0);
	CHECK_EQ(nst_bind(b, ub, 0, UDP_PORT), 0);
	static uint8_t dg[3000], buf[4000];
	for (size_t i = 0; i < sizeof(dg); i++)
		dg[i] = pattern(i);
	CHECK_EQ(nst_sendto(a, ua, dg, 100, 0, 1, B_ADDR, UDP_PORT, now), 100);
	CHECK_EQ(nst_sendto(a, ua, dg, sizeof(dg), 0, 1, B_ADDR, UDP_PORT, now), (ssize_t)sizeof(dg));
	now = pair_run(a, b, now, 10);
	uint32_t from;
	uint16_t port;
	CHECK_EQ(nst_recvfrom(b, ub, buf, sizeof(buf), 0, &from, &port, NULL, now), 100);
	CHECK_EQ(from, A_ADDR);
	CHECK_EQ(nst_recvfrom(b, ub, buf, sizeof(buf), 0, NULL, NULL, NULL, now), (ssize_t)sizeof(dg));
	CHECK(memcmp(buf, dg, sizeof(dg)) == 0);
	CHECK(stack_stats(b)->ip_frag_reasm_ok >= 1);
	int v = 65536;
	CHECK_EQ(nst_setsockopt(b, ub, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_sendto(b, ub, dg, 10, 0, 1, A_ADDR, port, now), 10);
	CHECK_EQ(nst_sendto(a, ua, dg, 20, 0, 1, B_ADDR, UDP_PORT, now), 20);
	now = pair_run(a, b, now, 10);
	CHECK_EQ(nst_recvfrom(a, ua, buf, sizeof(buf), 0, NULL, NULL, NULL, now), 10);
	CHECK_EQ(nst_recvfrom(b, ub, buf, sizeof(buf), 0, NULL, NULL, NULL, now), 20);

	/* everything closed, the connection run to its end on both sides */
	CHECK_EQ(nst_close(a, ua, now), 0);
	CHECK_EQ(nst_close(b, ub, now), 0);
	CHECK_EQ(nst_close(a, c, now), 0);
	CHECK_EQ(nst_close(b, s, now), 0);
	CHECK_EQ(nst_close(b, l, now), 0);
	now = pair_run(a, b, now, 1000);
	now = run_timers(a, b, now);    /* emptied rings kept a while, TIME-WAIT */
	CHECK_EQ(nst_mem_used(a), 0);
	CHECK_EQ(nst_mem_used(b), 0);
	CHECK_EQ(stack_next_deadline(a), 0);
	CHECK_EQ(stack_next_deadline(b), 0);

	stack_destroy(a);
	stack_destroy(b);
	netdev_close(da);
	netdev_close(db);
	expect_all_freed(&ma);
	expect_all_freed(&mb);
	CHECK_EQ(pkt_pool_in_use(), 0);
	counter_release(&ma);
	counter_release(&mb);
}

/* stack_destroy with live connections and full rings frees them too. */
TEST(stack_destroy_frees_live_connections)
{
	struct counter m = { .fail_after = -1 };
	struct netdev *da, *db;
	struct stack *a, *b;
	uint64_t now = 1000000;
	REQUIRE(pair_open(&m, &m, &da, &db, &a, &b, now) == 0);
	int l, c, s;
	now = pair_connect(a, b, &l, &c, &s, now);
	static uint8_t data[300000];
	CHECK(nst_send(a, c, data, sizeof(data), 0, now) > 0);
	now = pair_run(a, b, now, 20);       /* unread at B, unacknowledged at A */
	CHECK(nst_mem_used(a) > 0);
	CHECK(nst_mem_used(b) > 0);
	stack_destroy(a);
	stack_destroy(b);
	netdev_close(da);
	netdev_close(db);
	expect_all_freed(&m);
	CHECK_EQ(pkt_pool_in_use(), 0);
	counter_release(&m);
}

/* An allocation failing anywhere in stack_create: NULL, nothing left. */
TEST(stack_create_fails_cleanly)
{
	struct netdev *da, *db;
	REQUIRE(memdev_pair(&da, &db) == 0);
	struct counter m = { .fail_after = -1 };
	struct stack_config cfg = { .addr = A_ADDR, .prefix_len = 24, .mem = counting(&m) };
	int created = 0;
	for (long k = 0; k < 64 && !created; k++) {
		m.fail_after = k;
		struct stack *st = stack_create(&cfg, da, 0);
		if (st) {
			created = 1;
			stack_destroy(st);
		}
		expect_all_freed(&m);
	}
	CHECK(created);
	/* a zalloc without a free is refused */
	cfg.mem.free = NULL;
	CHECK(stack_create(&cfg, da, 0) == NULL);
	netdev_close(da);
	netdev_close(db);
	counter_release(&m);
}

/* The packet pool from a counting allocator: one state block and its
 * arrays, all given back at pkt_pool_fini; attach switches the pointer. */
TEST(pkt_pool_memory_freed_at_fini)
{
	pkt_pool_fini();                /* main's pool */
	CHECK(pkt_pool_state() == NULL);
	CHECK(pkt_alloc() == NULL);
	struct counter m = { .fail_after = -1 };
	struct nst_mem_ops ops = counting(&m);
	REQUIRE(pkt_pool_init_mem(64, 4, &ops) == 0);
	CHECK(m.n > 0);
	CHECK_EQ(pkt_pool_init_mem(8, 0, &ops), -EBUSY);
	CHECK_EQ(pkt_pool_size(), 64);
	CHECK_EQ(pkt_pool_large_size(), 4);
	struct pkt *p = pkt_alloc(), *q = pkt_alloc_large();
	REQUIRE(p && q);
	CHECK(pkt_by_id(p->id) == p);
	CHECK(pkt_by_id(q->id) == q);
	CHECK(q->id >= 64);
	CHECK(pkt_is_large(q) && !pkt_is_large(p));
	CHECK_EQ(pkt_pool_in_use(), 1);
	CHECK_EQ(pkt_pool_large_in_use(), 1);

	/* detach and attach again: the same pool, through the pointer alone */
	void *state = pkt_pool_state();
	REQUIRE(state);
	pkt_pool_attach(NULL);
	CHECK(pkt_alloc() == NULL);
	CHECK(pkt_by_id(p->id) == NULL);
	CHECK_EQ(pkt_pool_in_use(), 0);
	pkt_pool_attach(state);
	CHECK(pkt_by_id(p->id) == p);
	CHECK_EQ(pkt_pool_in_use(), 1);
	pkt_free(p);
	pkt_free(q);
	CHECK_EQ(pkt_pool_in_use(), 0);
	CHECK_EQ(pkt_pool_large_in_use(), 0);
	pkt_pool_fini();
	CHECK(pkt_pool_state() == NULL);
	expect_all_freed(&m);

	/* the large class added later (pkt_pool_init_large) is freed as well */
	REQUIRE(pkt_pool_init_mem(32, 0, &ops) == 0);
	CHECK_EQ(pkt_pool_init_large(2), 0);
	CHECK_EQ(pkt_pool_large_size(), 2);
	pkt_pool_fini();
	expect_all_freed(&m);

	/* an allocation failing in init: an error, nothing left */
	for (long k = 0; k < 8; k++) {
		m.fail_after = k;
		int r = pkt_pool_init_mem(32, 2, &ops);
		if (r == 0)
			pkt_pool_fini();
		else
			CHECK_EQ(r, -ENOMEM);
		CHECK(pkt_pool_state() == NULL);
		expect_all_freed(&m);
	}
	counter_release(&m);
	CHECK_EQ(pkt_pool_init(4096), 0);       /* main's pool back */
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(stack_memory_all_through_cfg_mem_and_freed_with_its_size);
	RUN(stack_destroy_frees_live_connections);
	RUN(stack_create_fails_cleanly);
	RUN(pkt_pool_memory_freed_at_fini);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
