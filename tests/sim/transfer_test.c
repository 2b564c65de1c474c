/* Two stacks back to back over the in-memory pair with seeded loss,
 * duplication and reordering in both directions: 10 MB one way and 1 MB the
 * other over one connection, both half-closed, then closed. Virtual time:
 * while frames are in flight the clock moves by one link delay per round,
 * otherwise it jumps to the earliest timer of either stack. The bytes must
 * arrive intact and in order; the run is bounded in virtual time and rounds
 * so that a stall fails instead of hanging. */
#include <errno.h>
#include <stdlib.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "shim/shim.h"
#include "stack/splitmix64.h"

#define SEC 1000000ull
#define A_ADDR 0xc6120001u
#define B_ADDR 0xc6120002u
#define PORT 5001
#define LINK_US 25              /* one-way delay while frames are in flight */
#define STALL_US (300 * SEC)    /* no progress for this long (> RTO max): fail */
#define MAX_ROUNDS 5000000

static uint8_t pattern(uint64_t i, uint64_t seed)
{
	uint64_t z = (i + seed) * 0x9e3779b97f4a7c15ull;
	z ^= z >> 29;
	z *= 0xbf58476d1ce4e5b9ull;
	return (uint8_t)(z >> 56);
}

/* One direction of the transfer: the sender side writes `total` bytes of
 * the pattern then shuts down its write side; the receiver checks them. */
struct flow {
	struct stack *tx, *rx;
	int tx_sd, rx_sd;
	uint64_t total, sent, got, seed;
	int shut, eof, bad, err;
};

static uint8_t buf[65536];

/* Returns 1 if it moved any byte. */
static int flow_step(struct flow *f, uint64_t now)
{
	int moved = 0;
	while (f->sent < f->total) {
		size_t n = f->total - f->sent < sizeof(buf) ? (size_t)(f->total - f->sent) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(f->sent + i, f->seed);
		ssize_t r = nst_send(f->tx, f->tx_sd, buf, n, 0, now);
		if (r == -EAGAIN)
			break;
		if (r <= 0) {
			f->err = (int)r;
			return 0;
		}
		f->sent += (uint64_t)r;
		moved = 1;
	}
	if (f->sent == f->total && !f->shut) {
		f->shut = 1;
		CHECK_EQ(nst_shutdown(f->tx, f->tx_sd, NST_SHUT_WR, now), 0);
	}
	while (!f->eof && f->rx_sd >= 0) {
		ssize_t r = nst_recv(f->rx, f->rx_sd, buf, sizeof(buf), 0, now);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			f->err = (int)r;
			return 0;
		}
		if (r == 0) {
			f->eof = 1;
			break;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(f->got + (uint64_t)i, f->seed))
				f->bad++;
		f->got += (uint64_t)r;
		moved = 1;
	}
	return moved;
}

static uint64_t min_deadline(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static unsigned tcbs_in_use(const struct stack *st)
{
	unsigned n = 0;
	for (unsigned i = 0; i < st->tcp.cap; i++)
		n += st->tcp.tcb[i].in_use;
	return n;
}

static uint64_t rng_a = 11, rng_b = 22;
static uint64_t rand_a(void *ctx) { (void)ctx; return splitmix64(&rng_a); }
static uint64_t rand_b(void *ctx) { (void)ctx; return splitmix64(&rng_b); }

#define MAX_CONN 32

/* Run nconn connections at once, each moving fwd_bytes from A to B and
 * rev_bytes back, with the given impairments (parts per million). */
static void transfer_n(uint64_t seed, unsigned loss, unsigned dup, unsigned reorder,
		       int nconn, uint64_t fwd_bytes, uint64_t rev_bytes)
{
	struct netdev *da, *db;
	REQUIRE(nconn <= MAX_CONN);
	REQUIRE(memdev_pair(&da, &db) == 0);
	memdev_set_impair(da, seed, loss, dup, reorder);
	memdev_set_impair(db, seed * 7 + 1, loss, dup, reorder);
	uint64_t now = 1 * SEC;
	struct stack_config ca = { .addr = A_ADDR, .prefix_len = 24, .rand64 = rand_a };
	struct stack_config cb = { .addr = B_ADDR, .prefix_len = 24, .rand64 = rand_b };
	struct stack *a = stack_create(&ca, da, now), *b = stack_create(&cb, db, now);
	REQUIRE(a && b);

	int l = nst_socket(b, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(b, l, 0, PORT), 0);
	CHECK_EQ(nst_listen(b, l, MAX_CONN, now), 0);
	struct flow fwd[MAX_CONN], rev[MAX_CONN];
	int c[MAX_CONN], connected[MAX_CONN];
	uint16_t cport[MAX_CONN];
	for (int i = 0; i < nconn; i++) {
		c[i] = nst_socket(a, NST_SOCK_STREAM);
		CHECK_EQ(nst_connect(a, c[i], B_ADDR, PORT, now), -EINPROGRESS);
		nst_getsockname(a, c[i], NULL, &cport[i]);
		connected[i] = 0;
		fwd[i] = (struct flow){ .tx = a, .rx = b, .tx_sd = c[i], .rx_sd = -1,
					.total = fwd_bytes, .seed = 1 + 2 * (uint64_t)i };
		rev[i] = (struct flow){ .tx = b, .rx = a, .tx_sd = -1, .rx_sd = c[i],
					.total = rev_bytes, .seed = 2 + 2 * (uint64_t)i };
	}
	int accepted = 0, finished = 0;
	uint64_t last_progress = now;
	long rounds = 0;
	for (; rounds < MAX_ROUNDS; rounds++) {
		stack_poll(a, now);
		stack_poll(b, now);
		int moved = 0, failed = 0;
		for (;;) {
			uint16_t port;
			int s = nst_accept(b, l, NULL, &port, now);
			if (s < 0)
				break;
			for (int i = 0; i < nconn; i++)
				if (cport[i] == port) {
					fwd[i].rx_sd = s;
					rev[i].tx_sd = s;
				}
			if (++accepted == nconn)
				CHECK_EQ(nst_close(b, l, now), 0);
		}
		finished = 0;
		for (int i = 0; i < nconn; i++) {
			if (!connected[i]) {
				int r = nst_connect(a, c[i], B_ADDR, PORT, now);
				if (r == 0)
					connected[i] = 1;
				else if (r != -EALREADY) {
					CHECK_EQ(r, -EALREADY);
					failed = 1;
				}
			}
			/* The client sends as soon as it is connected, like real
			 * clients: its data also completes the handshake when every
			 * bare ACK of it was lost (otherwise the server's SYN-ACK
			 * retries run out while the idle client waits for an accept). */
			if (connected[i])
				moved |= flow_step(&fwd[i], now);
			if (connected[i] && fwd[i].rx_sd >= 0)
				moved |= flow_step(&rev[i], now);
			if (fwd[i].err || rev[i].err) {
				fprintf(stderr, "  conn %d: error fwd %d rev %d\n", i, fwd[i].err, rev[i].err);
				failed = 1;
			}
			finished += fwd[i].eof && rev[i].eof;
		}
		if (failed || finished == nconn)
			break;
		if (moved)
			last_progress = now;
		if (now - last_progress > STALL_US) {
			for (int i = 0; i < nconn; i++)
				fprintf(stderr, "  stalled conn %d: fwd %llu/%llu rev %llu/%llu\n", i,
					(unsigned long long)fwd[i].got, (unsigned long long)fwd_bytes,
					(unsigned long long)rev[i].got, (unsigned long long)rev_bytes);
			break;
		}
		if (memdev_tx_pending(da) || memdev_tx_pending(db) || moved) {
			now += LINK_US;
		} else {
			uint64_t d = min_deadline(stack_next_deadline(a), stack_next_deadline(b));
			now = d > now ? d : now + LINK_US;
		}
	}
	CHECK(rounds < MAX_ROUNDS);
	CHECK_EQ(finished, nconn);
	for (int i = 0; i < nconn; i++) {
		CHECK_EQ(fwd[i].got, fwd_bytes);
		CHECK_EQ(rev[i].got, rev_bytes);
		CHECK_EQ(fwd[i].bad, 0);
		CHECK_EQ(rev[i].bad, 0);
	}
	const struct stack_stats *sa = stack_stats(a), *sb = stack_stats(b);
	printf("# seed %llu x%d: %.1f virtual s, %ld rounds; A: tx %llu retrans %llu rto %llu fast %llu; "
	       "B: tx %llu ooo %llu retrans %llu\n",
	       (unsigned long long)seed, nconn, (double)(now - SEC) / SEC, rounds,
	       (unsigned long long)sa->tcp_tx, (unsigned long long)sa->tcp_retrans,
	       (unsigned long long)sa->tcp_rto, (unsigned long long)sa->tcp_fast_retrans,
	       (unsigned long long)sb->tcp_tx, (unsigned long long)sb->tcp_ooo_rx,
	       (unsigned long long)sb->tcp_retrans);

	/* Both close; every connection must go away entirely (TIME-WAIT included). */
	for (int i = 0; i < nconn; i++) {
		CHECK_EQ(nst_close(a, c[i], now), 0);
		if (fwd[i].rx_sd >= 0)
			CHECK_EQ(nst_close(b, fwd[i].rx_sd, now), 0);
	}
	if (accepted < nconn)
		nst_close(b, l, now);
	uint64_t end = now + 300 * SEC;
	while (now < end && (tcbs_in_use(a) || tcbs_in_use(b))) {
		stack_poll(a, now);
		stack_poll(b, now);
		if (memdev_tx_pending(da) || memdev_tx_pending(db)) {
			now += LINK_US;
		} else {
			uint64_t d = min_deadline(stack_next_deadline(a), stack_next_deadline(b));
			now = d > now ? d : now + LINK_US;
		}
	}
	CHECK_EQ(tcbs_in_use(a), 0);
	CHECK_EQ(tcbs_in_use(b), 0);

	stack_destroy(a);
	stack_destroy(b);
	netdev_close(da);
	netdev_close(db);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

static void transfer(uint64_t seed, unsigned loss, unsigned dup, unsigned reorder,
		     uint64_t fwd_bytes, uint64_t rev_bytes)
{
	transfer_n(seed, loss, dup, reorder, 1, fwd_bytes, rev_bytes);
}

TEST(clean_link)
{
	transfer(1, 0, 0, 0, 2u << 20, 256u << 10);
}

TEST(lossy_link_10mb)
{
	/* 5% loss, 1% duplication, 2% reordering, both directions */
	transfer(7, 50000, 10000, 20000, 10u << 20, 1u << 20);
}

TEST(lossy_link_other_seed)
{
	transfer(12345, 50000, 10000, 20000, 3u << 20, 512u << 10);
}

TEST(lossy_link_many_connections)
{
	transfer_n(99, 50000, 10000, 20000, 16, 256u << 10, 64u << 10);
}

TEST(heavy_loss_many_seeds)
{
	/* 10-18% loss, 2% duplication, 5% reordering, 1-4 connections: a sweep
	 * that once caught both ends ignoring each other's ACKs after timeouts */
	for (int s = 1; s <= 40; s++)
		transfer_n((uint64_t)s * 1000003, 100000 + (unsigned)(s % 5) * 20000, 20000, 50000,
			   1 + s % 4, 100000 + (uint64_t)s * 1000, 30000);
}

int main(void)
{
	pkt_pool_init(8192);
	RUN(clean_link);
	RUN(lossy_link_10mb);
	RUN(lossy_link_other_seed);
	RUN(lossy_link_many_connections);
	RUN(heavy_loss_many_seeds);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
