/* The tooling's pure pieces: nst_sock_list (what `nstack ss` shows), the
 * TCP state hook (the state-change log), the NSTACK_IMPAIR parser, and the
 * impairment middleware over the in-memory pair. */
#include <errno.h>
#include <time.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "shim/shim.h"
#include "tests/unit/pair_harness.h"

#define PORT 5001

static int events[16][2], n_events;
static struct nst_state_event last_ev;
static void on_state(void *ctx, const struct nst_state_event *ev)
{
	(void)ctx;
	if (n_events < 16) {
		events[n_events][0] = ev->from;
		events[n_events][1] = ev->to;
	}
	n_events++;
	last_ev = *ev;
}

static const struct nst_sock_info *find(const struct nst_sock_info *v, int n, int state)
{
	for (int i = 0; i < n; i++)
		if (v[i].state == state)
			return &v[i];
	return NULL;
}

TEST(sock_list_shows_listener_connection_and_tcp_info)
{
	struct netdev *da, *db;
	REQUIRE(memdev_pair(&da, &db) == 0);
	uint64_t now = 1000000;
	struct stack_config ca = { .addr = A_ADDR, .prefix_len = 24, .rand64 = rnd, .rand_ctx = &rng_a };
	struct stack_config cb = { .addr = B_ADDR, .prefix_len = 24, .rand64 = rnd, .rand_ctx = &rng_b };
	struct stack *a = stack_create(&ca, da, now), *b = stack_create(&cb, db, now);
	REQUIRE(a && b);
	n_events = 0;
	stack_set_state_hook(a, on_state, NULL);

	int l = nst_socket(b, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(b, l, 0, PORT), 0);
	CHECK_EQ(nst_listen(b, l, 8, now), 0);
	int c = nst_socket(a, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(a, c, B_ADDR, PORT, now), -EINPROGRESS);
	now = pair_run(a, b, now, 10);
	CHECK_EQ(nst_connect(a, c, B_ADDR, PORT, now), 0);

	/* the state hook saw CLOSED -> SYN-SENT -> ESTABLISHED with the 4-tuple */
	REQUIRE(n_events >= 2);
	CHECK_EQ(events[0][0], TCP_CLOSED);
	CHECK_EQ(events[0][1], TCP_SYN_SENT);
	CHECK_EQ(events[1][0], TCP_SYN_SENT);
	CHECK_EQ(events[1][1], TCP_ESTABLISHED);
	CHECK_EQ(nst_addr_v4(&last_ev.laddr), A_ADDR);
	CHECK_EQ(nst_addr_v4(&last_ev.raddr), B_ADDR);
	CHECK_EQ(last_ev.rport, PORT);

	static char data[20000];
	CHECK_EQ(nst_send(a, c, data, sizeof(data), 0, now), (ssize_t)sizeof(data));
	now = pair_run(a, b, now, 1000);   /* 100 ms: past the delayed ACK */

	struct nst_sock_info v[8];
	int n = nst_sock_list(a, v, 8);
	CHECK_EQ(n, 1);
	const struct nst_sock_info *s = find(v, n, TCP_ESTABLISHED);
	REQUIRE(s);
	CHECK_EQ(s->type, NST_SOCK_STREAM);
	CHECK_EQ(s->sd, c);
	CHECK_EQ(nst_addr_v4(&s->laddr), A_ADDR);
	CHECK_EQ(nst_addr_v4(&s->raddr), B_ADDR);
	CHECK_EQ(s->rport, PORT);
	CHECK(s->lport != 0);
	CHECK_EQ(s->bytes_acked, sizeof(data));
	CHECK_EQ(s->send_q, 0);
	CHECK(s->rtt_us > 0);
	CHECK(s->rto_us >= TCP_RTO_MIN_US);
	CHECK(s->cwnd >= s->mss);
	CHECK(s->mss > 0);
	CHECK_EQ(s->retrans, 0);
	CHECK(!strcmp(nst_tcp_state_name(s->state), "ESTAB"));

	/* B: the listener (Recv-Q = accept queue) and its unaccepted child */
	n = nst_sock_list(b, v, 8);
	CHECK_EQ(n, 2);
	const struct nst_sock_info *li = find(v, n, TCP_LISTEN), *ch = find(v, n, TCP_ESTABLISHED);
	REQUIRE(li && ch);
	CHECK_EQ(li->sd, l);
	CHECK_EQ(li->recv_q, 1);
	CHECK_EQ(li->send_q, 8);
	CHECK_EQ(ch->sd, -1);
	CHECK_EQ(ch->recv_q, sizeof(data));
	CHECK_EQ(ch->bytes_received, sizeof(data));
	/* max smaller than the count: the count, and only max filled */
	CHECK_EQ(nst_sock_list(b, v, 1), 2);
	CHECK_EQ(nst_sock_list(b, NULL, 0), 2);

	/* close: the connection goes on as an orphan and is still listed */
	CHECK_EQ(nst_close(a, c, now), 0);
	n = nst_sock_list(a, v, 8);
	REQUIRE(n == 1);
	CHECK(v[0].orphan);
	CHECK_EQ(v[0].sd, -1);
	CHECK_EQ(v[0].state, TCP_FIN_WAIT_1);
	CHECK_EQ(events[n_events - 1][1], TCP_FIN_WAIT_1);
	CHECK(!strcmp(nst_tcp_state_name(TCP_TIME_WAIT), "TIME-WAIT"));
	CHECK(!strcmp(nst_tcp_state_name(99), "UNKNOWN"));

	stack_destroy(a);
	stack_destroy(b);
	netdev_close(da);
	netdev_close(db);
}

TEST(impair_parse_accepts_the_documented_spec_and_rejects_the_rest)
{
	struct impair_spec s;
	char bad[64];
	CHECK_EQ(impair_parse("loss=0.05,dup=0.01,reorder=0.02,corrupt=0.001,delay_us=200,seed=7", &s, bad, sizeof(bad)), 0);
	CHECK_EQ(s.loss_ppm, 50000);
	CHECK_EQ(s.dup_ppm, 10000);
	CHECK_EQ(s.reorder_ppm, 20000);
	CHECK_EQ(s.corrupt_ppm, 1000);
	CHECK_EQ(s.delay_us, 200);
	CHECK_EQ(s.seed, 7);
	CHECK_EQ(s.dir, IMPAIR_BOTH);
	CHECK_EQ(impair_parse("loss=5%,dir=rx", &s, bad, sizeof(bad)), 0);
	CHECK_EQ(s.loss_ppm, 50000);
	CHECK_EQ(s.dir, IMPAIR_RX);
	static const char *const wrong[] = { "loss=2", "loss=-0.1", "loss=", "loss", "color=red",
		"delay_us=-5", "delay_us=99999999999", "seed=x", "dir=up", "loss=0.1x", NULL };
	for (int i = 0; wrong[i]; i++) {
		bad[0] = 0;
		CHECK_EQ(impair_parse(wrong[i], &s, bad, sizeof(bad)), -EINVAL);
		CHECK(!strcmp(bad, wrong[i]));
	}
	CHECK_EQ(impair_parse("dup=0.1,seed=x", &s, bad, sizeof(bad)), -EINVAL);
	CHECK(!strcmp(bad, "seed=x"));
	CHECK_EQ(impair_parse("delay_us=500,jitter_us=100,rate_mbit=2.5", &s, bad, sizeof(bad)), 0);
	CHECK_EQ(s.jitter_us, 100);
	CHECK(s.rate_bps == 2.5e6);
	static const char *const wrong2[] = { "rate_mbit=0", "rate_mbit=-1", "rate_mbit=x",
		"jitter_us=99999999999", NULL };
	for (int i = 0; wrong2[i]; i++)
		CHECK_EQ(impair_parse(wrong2[i], &s, bad, sizeof(bad)), -EINVAL);
	/* one spec per direction: a later part wins for the directions it names */
	struct impair_spec tx, rx;
	CHECK_EQ(impair_parse_dirs("loss=0.1,seed=3;dup=0.2,dir=rx", &tx, &rx, bad, sizeof(bad)), 0);
	CHECK_EQ(tx.loss_ppm, 100000);
	CHECK(tx.dir & IMPAIR_TX);
	CHECK_EQ(rx.loss_ppm, 0);
	CHECK_EQ(rx.dup_ppm, 200000);
	CHECK_EQ(impair_parse_dirs("loss=0.1,dir=tx", &tx, &rx, bad, sizeof(bad)), 0);
	CHECK(!(rx.dir & IMPAIR_RX));   /* not named: not impaired */
	CHECK_EQ(impair_parse_dirs("loss=0.1;dup=7", &tx, &rx, bad, sizeof(bad)), -EINVAL);
	CHECK(!strcmp(bad, "dup=7"));
}

static struct pkt *frame(uint8_t tag)
{
	struct pkt *p = pkt_alloc();
	uint8_t *d = pkt_put(p, 60);
	memset(d, 0, 60);
	d[20] = tag;
	return p;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

TEST(impairdev_loses_duplicates_and_delays_seeded)
{
	unsigned in_use = pkt_pool_in_use();
	struct netdev *da, *db;
	REQUIRE(memdev_pair(&da, &db) == 0);
	struct impair_spec spec;
	REQUIRE(impair_parse("loss=0.3,dup=0.2,seed=42,dir=tx", &spec, NULL, 0) == 0);
	int err;
	struct netdev *im = impairdev_wrap(da, &spec, &err);
	REQUIRE(im);
	CHECK(netdev_wait_fd(im) >= 0);
	struct pkt *p[1];
	for (int i = 0; i < 1000; i++) {
		p[0] = frame((uint8_t)i);
		netdev_xmit(im, p, 1);
	}
	netdev_flush(im);
	unsigned got = 0;
	struct pkt *r[64];
	int n;
	while ((n = netdev_recv(db, r, 64)) > 0)
		for (int i = 0; i < n; i++, got++)
			pkt_free(r[i]);
	struct impair_stats st;
	REQUIRE(impairdev_stats(im, &st) == 0);
	CHECK(st.tx_lost > 220 && st.tx_lost < 380);
	CHECK(st.tx_dup > 100 && st.tx_dup < 260);
	CHECK_EQ(got, 1000 - st.tx_lost + st.tx_dup);
	CHECK_EQ(im->stat.tx_drops, st.tx_lost);
	CHECK_EQ(st.rx_lost, 0);

	/* the same seed decides the same way */
	uint64_t lost1 = st.tx_lost;
	netdev_close(im);
	netdev_close(db);       /* the first pair's other end (LeakSanitizer) */
	CHECK_EQ(impairdev_stats(NULL, &st), -ENODEV);    /* no device */
	REQUIRE(memdev_pair(&da, &db) == 0);
	netdev_close(db);       /* keep the pair's other end for the next part */
	struct netdev *da2, *db2;
	REQUIRE(memdev_pair(&da2, &db2) == 0);
	im = impairdev_wrap(da2, &spec, &err);
	REQUIRE(im);
	for (int i = 0; i < 1000; i++) {
		p[0] = frame((uint8_t)i);
		netdev_xmit(im, p, 1);
	}
	netdev_flush(im);
	while ((n = netdev_recv(db2, r, 64)) > 0)
		for (int i = 0; i < n; i++)
			pkt_free(r[i]);
	REQUIRE(impairdev_stats(im, &st) == 0);
	CHECK_EQ(st.tx_lost, lost1);
	netdev_close(im);
	netdev_close(db2);
	netdev_close(da);

	/* delay: held until due, released by the device's next call */
	REQUIRE(memdev_pair(&da, &db) == 0);
	REQUIRE(impair_parse("delay_us=20000", &spec, NULL, 0) == 0);
	im = impairdev_wrap(da, &spec, &err);
	REQUIRE(im);
	p[0] = frame(1);
	netdev_xmit(im, p, 1);
	netdev_flush(im);
	CHECK_EQ(netdev_recv(db, r, 64), 0);
	sleep_us(30000);
	CHECK_EQ(netdev_recv(im, r, 64), 0);   /* the wake-up: releases the transmit side */
	n = netdev_recv(db, r, 64);
	CHECK_EQ(n, 1);
	for (int i = 0; i < n; i++)
		pkt_free(r[i]);
	netdev_close(im);
	netdev_close(db);
	CHECK_EQ(pkt_pool_in_use(), in_use);
}

/* Drain db until n frames came or 3 s passed, releasing im's held frames. */
static unsigned drain_until(struct netdev *im, struct netdev *db, unsigned n)
{
	struct pkt *r[64];
	unsigned got = 0;
	for (int tries = 0; got < n && tries < 300; tries++) {
		netdev_recv(im, r, 64);         /* the wake-up: releases what is due */
		int k;
		while ((k = netdev_recv(db, r, 64)) > 0)
			for (int i = 0; i < k; i++, got++)
				pkt_free(r[i]);
		if (got < n)
			sleep_us(10000);
	}
	return got;
}

TEST(impairdev_rate_jitter_and_directions)
{
	unsigned in_use = pkt_pool_in_use();
	struct netdev *da, *db, *im;
	struct impair_spec tx, rx;
	struct pkt *p[1], *r[64];
	int err;
	/* rate limit: 10 frames of 60 bytes at 0.01 Mbit/s leave 67.2 ms apart */
	REQUIRE(memdev_pair(&da, &db) == 0);
	REQUIRE(impair_parse_dirs("rate_mbit=0.01", &tx, &rx, NULL, 0) == 0);
	im = impairdev_wrap_dirs(da, &tx, &rx, &err);
	REQUIRE(im);
	for (int i = 0; i < 10; i++) {
		p[0] = frame((uint8_t)i);
		netdev_xmit(im, p, 1);
	}
	netdev_flush(im);
	sleep_us(20000);
	unsigned early = drain_until(im, db, 1);
	CHECK(early < 10);                      /* not all at once: 10 need 672 ms */
	CHECK_EQ(early + drain_until(im, db, 10 - early), 10);
	netdev_close(im);
	netdev_close(db);
	/* jitter: every frame within delay +- jitter, some held */
	REQUIRE(memdev_pair(&da, &db) == 0);
	REQUIRE(impair_parse_dirs("jitter_us=20000,seed=9", &tx, &rx, NULL, 0) == 0);
	im = impairdev_wrap_dirs(da, &tx, &rx, &err);
	REQUIRE(im);
	for (int i = 0; i < 20; i++) {
		p[0] = frame((uint8_t)i);
		netdev_xmit(im, p, 1);
	}
	netdev_flush(im);
	unsigned now_out = 0;
	int k;
	while ((k = netdev_recv(db, r, 64)) > 0)
		for (int i = 0; i < k; i++, now_out++)
			pkt_free(r[i]);
	CHECK(now_out < 20);                    /* some drew a positive jitter */
	CHECK_EQ(now_out + drain_until(im, db, 20 - now_out), 20);
	struct impair_stats st;
	REQUIRE(impairdev_stats(im, &st) == 0);
	CHECK_EQ(st.tx_delayed, 20 - now_out);
	netdev_close(im);
	netdev_close(db);
	/* each direction its own spec: everything sent is lost, everything
	 * received is duplicated */
	REQUIRE(memdev_pair(&da, &db) == 0);
	REQUIRE(impair_parse_dirs("loss=1,dir=tx;dup=1,dir=rx", &tx, &rx, NULL, 0) == 0);
	im = impairdev_wrap_dirs(da, &tx, &rx, &err);
	REQUIRE(im);
	for (int i = 0; i < 5; i++) {
		p[0] = frame((uint8_t)i);
		netdev_xmit(im, p, 1);
		p[0] = frame((uint8_t)i);
		netdev_xmit(db, p, 1);
	}
	netdev_flush(im);
	netdev_flush(db);
	CHECK_EQ(netdev_recv(db, r, 64), 0);
	unsigned in = 0;
	while ((k = netdev_recv(im, r, 64)) > 0)
		for (int i = 0; i < k; i++, in++)
			pkt_free(r[i]);
	CHECK_EQ(in, 10);
	REQUIRE(impairdev_stats(im, &st) == 0);
	CHECK_EQ(st.tx_lost, 5);
	CHECK_EQ(st.rx_dup, 5);
	CHECK_EQ(st.rx_lost + st.tx_dup, 0);
	netdev_close(im);
	netdev_close(db);
	CHECK_EQ(pkt_pool_in_use(), in_use);
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(sock_list_shows_listener_connection_and_tcp_info);
	RUN(impair_parse_accepts_the_documented_spec_and_rejects_the_rest);
	RUN(impairdev_loses_duplicates_and_delays_seeded);
	RUN(impairdev_rate_jitter_and_directions);
	return TEST_SUMMARY();
}
