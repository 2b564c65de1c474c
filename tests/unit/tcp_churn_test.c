/* Unit tests of the bookkeeping that connection churn leans on: the timer
 * heap (many TIME-WAITs armed at once, each ending exactly at its 2MSL; a
 * stopped retransmission timer leaves no early deadline behind) and the
 * per-port chains that bind, listen and connect search. Exact clock, the
 * test as the peer (tcp_harness.h). */
#include "tests/unit/tcp_harness.h"

#define NCONN 300

/* The peer connects from sport and sends "hi"; we answer "ok", the peer
 * ACKs it, we close first and the peer's FIN puts the connection in
 * TIME-WAIT. */
static void to_time_wait(int l, uint16_t sport)
{
	struct out o;
	uint32_t iss;
	int sd = accepted(l, sport, &iss);
	REQUIRE(sd >= 0);
	CHECK_EQ(nst_send(st, sd, "ok", 2, 0, now), 2);
	REQUIRE(take(&o));
	CHECK_EQ(o.len, 2);
	/* the retransmission timer runs until the peer ACKs "ok" */
	struct tcb *t = tcb_of(sd);
	CHECK(t->timer[TCP_T_REXMT] != 0);
	inject(peer_seg(sd, ACK));
	CHECK_EQ(t->timer[TCP_T_REXMT], 0);
	close_to(sd, TCP_TIME_WAIT);
	CHECK(none());
}

/* NCONN connections enter TIME-WAIT 1 ms apart: the next deadline is always
 * the oldest one's 2MSL exactly (no early wake-up left by the stopped
 * retransmission timers), and each ends at its own 2MSL, not a microsecond
 * before, in order. */
TEST(time_waits_expire_exactly_in_order)
{
	setup();
	int l = listener(16);
	REQUIRE(l >= 0);
	uint64_t t0 = now;
	for (int i = 0; i < NCONN; i++) {
		advance(t0 + (uint64_t)i * MS);
		to_time_wait(l, (uint16_t)(PPORT + i));
		CHECK_EQ(conn_of((uint16_t)(PPORT + i))->state, TCP_TIME_WAIT);
		CHECK_EQ(tcp_next_deadline(st), t0 + TCP_TIMEWAIT_US);
	}
	for (int i = 0; i < NCONN; i++) {
		uint64_t end = t0 + (uint64_t)i * MS + TCP_TIMEWAIT_US;
		CHECK_EQ(tcp_next_deadline(st), end);
		advance(end - 1);
		REQUIRE(conn_of((uint16_t)(PPORT + i)));
		advance(end);
		CHECK(conn_of((uint16_t)(PPORT + i)) == NULL);
		if (i + 1 < NCONN)
			CHECK(conn_of((uint16_t)(PPORT + i + 1)) != NULL);
	}
	CHECK_EQ(tcp_next_deadline(st), 0);
	CHECK(none());
	nst_close(st, l, now);
	teardown();
}

/* A timer moved later, stopped and armed again: the deadline follows it
 * exactly each time, and the one that fires is the one armed last. */
TEST(timer_moves_are_exact)
{
	setup();
	int l = listener(16);
	REQUIRE(l >= 0);
	to_time_wait(l, PPORT);
	struct tcb *t = conn_of(PPORT);
	REQUIRE(t);
	uint64_t end = now + TCP_TIMEWAIT_US;
	CHECK_EQ(tcp_next_deadline(st), end);
	tcp_timer_set(st, t, TCP_T_KEEP, now + 10 * SEC);
	CHECK_EQ(tcp_next_deadline(st), now + 10 * SEC);
	tcp_timer_set(st, t, TCP_T_KEEP, now + 20 * SEC);
	CHECK_EQ(tcp_next_deadline(st), now + 20 * SEC);
	tcp_timer_set(st, t, TCP_T_KEEP, 0);
	CHECK_EQ(tcp_next_deadline(st), end);
	advance(end - 1);
	REQUIRE(conn_of(PPORT));
	advance(end);
	CHECK(conn_of(PPORT) == NULL);
	CHECK_EQ(tcp_next_deadline(st), 0);
	nst_close(st, l, now);
	teardown();
}

/* Many sockets on many ports: bind finds the holder of a port (the chain of
 * its bucket) whatever else shares the bucket, a closed socket frees its
 * port, and connect never picks a port that is bound. */
TEST(port_chains)
{
	setup();
	enum { N = 200 };
	int sd[N];
	for (int i = 0; i < N; i++) {
		sd[i] = nst_socket(st, NST_SOCK_STREAM);
		REQUIRE(sd[i] >= 0);
		/* ports 1024 apart share hash buckets in a small table */
		CHECK_EQ(nst_bind(st, sd[i], 0, (uint16_t)(2000 + i * 256)), 0);
	}
	for (int i = 0; i < N; i++) {
		int x = nst_socket(st, NST_SOCK_STREAM);
		REQUIRE(x >= 0);
		CHECK_EQ(nst_bind(st, x, 0, (uint16_t)(2000 + i * 256)), -EADDRINUSE);
		CHECK_EQ(nst_bind(st, x, 0, (uint16_t)(2001 + i * 256)), 0);
		nst_close(st, x, now);
	}
	for (int i = 0; i < N; i += 2)
		nst_close(st, sd[i], now);
	for (int i = 0; i < N; i++) {
		int x = nst_socket(st, NST_SOCK_STREAM);
		REQUIRE(x >= 0);
		CHECK_EQ(nst_bind(st, x, 0, (uint16_t)(2000 + i * 256)), i % 2 ? -EADDRINUSE : 0);
		nst_close(st, x, now);
	}
	/* connect: an ephemeral port nobody holds */
	for (int i = 0; i < 50; i++) {
		int c = nst_socket(st, NST_SOCK_STREAM);
		REQUIRE(c >= 0);
		CHECK_EQ(nst_connect(st, c, PEER, 80, now), -EINPROGRESS);
		uint16_t p = lport_of(c);
		CHECK(p >= 32768 && p <= 60999);
		for (int j = 1; j < N; j += 2)
			CHECK(p != 2000 + j * 256);
		int x = nst_socket(st, NST_SOCK_STREAM);
		REQUIRE(x >= 0);
		CHECK_EQ(nst_bind(st, x, 0, p), -EADDRINUSE);
		nst_close(st, x, now);
	}
	drain();
	teardown();
}

/* A table full of TIME-WAIT orphans: each new connection takes the room of
 * the one whose 2MSL ends first, in order, across more of them than one
 * scan of the table collects (TCP_TW_EVICT_BATCH). */
TEST(full_table_evicts_oldest_time_wait)
{
	enum { MAXS = 50, CAP = 2 * MAXS, NTW = CAP - 1 };      /* the listener holds one */
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .max_sockets = MAXS,
				    .quickacks = harness_quickacks };
	st = stack_create(&cfg, dev, T0);
	now = T0;
	arp_update(st, PEER, peer_mac);
	REQUIRE(st->tcp.cap == CAP);
	int l = listener(16);
	REQUIRE(l >= 0);
	uint64_t t0 = now;
	for (int i = 0; i < NTW; i++) {
		advance(t0 + (uint64_t)i * MS);
		to_time_wait(l, (uint16_t)(PPORT + i));
	}
	REQUIRE(st->tcp.free_head < 0 && st->tcp.hiwat == CAP);
	/* each new connection (it too ends in TIME-WAIT) evicts the oldest */
	for (int k = 0; k < NTW; k++) {
		advance(now + MS);
		CHECK(conn_of((uint16_t)(PPORT + k)) != NULL);
		to_time_wait(l, (uint16_t)(PPORT + NTW + k));
		CHECK(conn_of((uint16_t)(PPORT + k)) == NULL);
		if (k + 1 < NTW)
			CHECK(conn_of((uint16_t)(PPORT + k + 1)) != NULL);
	}
	CHECK_EQ(st->stat.tcp_passive_open, 2 * NTW);
	nst_close(st, l, now);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(time_waits_expire_exactly_in_order);
	RUN(timer_moves_are_exact);
	RUN(port_chains);
	RUN(full_table_evicts_oldest_time_wait);
	return TEST_SUMMARY();
}
