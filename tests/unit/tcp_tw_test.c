/* Unit tests of short connections between the same two hosts: our TSval
 * clock grows across the connections of an address pair (tcp_ts_offset), a
 * SYN for a connection we hold in TIME-WAIT opens a new one when RFC 6191 /
 * RFC 1122 4.2.2.13 allow it (and gets the challenge ACK otherwise), and
 * connect() takes over a TIME-WAIT of ours with the 4-tuple it needs (as
 * Linux's tcp_tw_reuse). Exact clock, the test as the peer (tcp_harness.h). */
#include "tests/unit/tcp_harness.h"
#include "stack/splitmix64.h"

#define TV 100000u              /* the peer's first TSval */

/* a segment from PEER:sport to ME:dport, options MSS (if mss) and
 * timestamps (if ts) */
static struct seg tseg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t sport, uint16_t dport,
		       uint16_t mss, int ts, uint32_t tsval, uint32_t tsecr)
{
	struct seg s = { .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .sport = sport,
			 .dport = dport };
	if (mss)
		opt_mss(&s, mss);
	if (ts)
		opt_ts(&s, tsval, tsecr);
	if (!s.optlen)
		opt_bytes(&s, (const uint8_t[]){ 1, 1, 1, 0 }, 4);      /* NOP NOP NOP EOL */
	return s;
}

/* The peer connects from PPORT (timestamps if ts, TSval TV), sends "hi";
 * we answer and close first; the peer's FIN (TSval TV + 2) puts the
 * connection in TIME-WAIT. *iss: our ISS; *tsval: the TSval of our last
 * segment. */
static void to_time_wait(int l, int ts, uint32_t *iss, uint32_t *tsval)
{
	struct out o;
	inject(tseg(SYN, PISS, 0, PPORT, 80, 1460, ts, TV, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.has_ts, ts);
	*iss = o.seq;
	inject(tseg(ACK, PISS + 1, *iss + 1, PPORT, 80, 0, ts, TV + 1, o.tsval));
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	advance(now + 3 * MS);
	inject(tseg(FIN | ACK, PISS + 1, *iss + 2, PPORT, 80, 0, ts, TV + 2, o.tsval));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 2);
	*tsval = o.tsval;
	REQUIRE(conn_of(PPORT));
	CHECK_EQ(conn_of(PPORT)->state, TCP_TIME_WAIT);
	CHECK(none());
}

/* A SYN in TIME-WAIT that must not open anything: the challenge ACK of
 * RFC 5961 4.2 <SEQ=SND.NXT><ACK=RCV.NXT>, TIME-WAIT stays. */
static void expect_challenge(uint32_t iss)
{
	struct out o;
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, iss + 2);
	CHECK_EQ(o.ack, PISS + 2);
	CHECK(none());
	REQUIRE(conn_of(PPORT));
	CHECK_EQ(conn_of(PPORT)->state, TCP_TIME_WAIT);
	CHECK_EQ(st->stat.tcp_tw_reused, 0);
}

/* A SYN in TIME-WAIT that opens a new connection (SEG.SEQ syn_seq): the
 * SYN-ACK comes from a new child, with an ISS beyond the old SND.NXT
 * (RFC 1122 4.2.2.13), and the connection works. */
static void expect_reopen(int l, uint32_t iss, uint32_t syn_seq, int ts, uint32_t tsval_old,
			  uint32_t peer_tsval)
{
	struct out o;
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, syn_seq + 1);
	CHECK(seq_geq(o.seq, iss + 2 + 65535 + 2));
	CHECK_EQ(o.has_ts, ts);
	if (ts) {
		CHECK(seq_gt(o.tsval, tsval_old));
		CHECK_EQ(o.tsecr, peer_tsval);
	}
	CHECK_EQ(st->stat.tcp_tw_reused, 1);
	struct tcb *c = conn_of(PPORT);
	REQUIRE(c);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	CHECK_EQ(c->iss, o.seq);
	uint32_t niss = o.seq;
	inject(tseg(ACK, syn_seq + 1, niss + 1, PPORT, 80, 0, ts, peer_tsval + 1, o.tsval));
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	struct seg d = tseg(ACK | PSH, syn_seq + 1, niss + 1, PPORT, 80, 0, ts, peer_tsval + 2, o.tsval);
	d.data = "hi";
	d.len = 2;
	inject(d);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 2);
	CHECK_EQ(nst_send(st, sd, "ok", 2, 0, now), 2);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, niss + 1);
	CHECK_EQ(o.ack, syn_seq + 3);
	CHECK_EQ(o.len, 2);
	nst_close(st, sd, now);
}

/* RFC 7323 5.4 / Linux tcp_ts_off: one TSval clock per address pair, so
 * successive connections to a peer carry growing TSvals, active or passive. */
TEST(ts_monotonic_per_peer)
{
	setup();
	struct out o;
	int a = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, a, PEER, 80, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK(o.has_ts);
	uint32_t ts1 = o.tsval;
	uint16_t port1 = o.sport;
	CHECK_EQ(ts1, tcp_ts_offset(st, V4(ME), V4(PEER)) + (uint32_t)(now / 1000));
	advance(now + 7 * MS);
	int b = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, b, PEER, 81, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK(o.sport != port1 || o.dport != 80);
	CHECK_EQ(o.tsval, ts1 + 7);
	/* a passive connection from the same peer uses the same clock */
	advance(now + 5 * MS);
	int l = listener(8);
	inject(tseg(SYN, PISS, 0, PPORT, 80, 1460, 1, TV, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.tsval, ts1 + 12);
	CHECK_EQ(o.tsecr, TV);
	/* another address pair has its own offset */
	CHECK(tcp_ts_offset(st, V4(ME), V4(PEER + 1)) != tcp_ts_offset(st, V4(ME), V4(PEER)));
	nst_close(st, a, now);
	nst_close(st, b, now);
	nst_close(st, l, now);
	teardown();
}

static uint64_t tw_rand64(void *ctx)
{
	return splitmix64(ctx);
}

/* The embedder's ts_key (preload: the host's boot_id) gives every stack of
 * the host the same TSval offsets, while the ISS/port key stays each one's */
TEST(ts_key_shared_across_stacks)
{
	struct netdev *d[4];
	memdev_pair(&d[0], &d[1]);
	memdev_pair(&d[2], &d[3]);
	/* each its own randomness (the default is the same sequence in every
	 * stack), the TSval secret shared */
	uint64_t rng_a = 1, rng_b = 2;
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .ts_key = { 7, 9 },
				    .rand64 = tw_rand64, .rand_ctx = &rng_a };
	struct stack *a = stack_create(&cfg, d[0], T0);
	cfg.rand_ctx = &rng_b;
	struct stack *b = stack_create(&cfg, d[2], T0);
	REQUIRE(a && b);
	CHECK_EQ(tcp_ts_offset(a, V4(ME), V4(PEER)), tcp_ts_offset(b, V4(ME), V4(PEER)));
	CHECK(tcp_iss(a, V4(ME), 40000, V4(PEER), 80) != tcp_iss(b, V4(ME), 40000, V4(PEER), 80));
	cfg.ts_key[1] = 10;
	struct stack *c = stack_create(&cfg, d[1], T0);
	REQUIRE(c);
	CHECK(tcp_ts_offset(c, V4(ME), V4(PEER)) != tcp_ts_offset(a, V4(ME), V4(PEER)));
	stack_destroy(a);
	stack_destroy(b);
	stack_destroy(c);
	for (int i = 0; i < 4; i++)
		netdev_close(d[i]);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

/* RFC 6191 2: timestamps on the old connection and a SYN whose TSval is
 * newer than TS.Recent: a new connection, even with SEG.SEQ below RCV.NXT. */
TEST(tw_syn_newer_ts_reopens)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 1, &iss, &tsv);
	advance(now + 2 * MS);
	inject(tseg(SYN, PISS - 1000, 0, PPORT, 80, 1460, 1, TV + 10, 0));
	expect_reopen(l, iss, PISS - 1000, 1, tsv, TV + 10);
	nst_close(st, l, now);
	teardown();
}

/* RFC 6191 2: an older TSval is an old duplicate: challenge ACK, whatever
 * its sequence number. */
TEST(tw_syn_older_ts_challenged)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 1, &iss, &tsv);
	inject(tseg(SYN, PISS + 100000, 0, PPORT, 80, 1460, 1, TV + 1, 0));
	expect_challenge(iss);
	nst_close(st, l, now);
	teardown();
}

/* RFC 6191 2: an equal TSval falls back to RFC 1122's SEG.SEQ > RCV.NXT */
TEST(tw_syn_equal_ts_by_seq)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 1, &iss, &tsv);
	inject(tseg(SYN, PISS + 2, 0, PPORT, 80, 1460, 1, TV + 2, 0));
	expect_challenge(iss);
	advance(now + SEC);             /* past the challenge ACK rate limit */
	inject(tseg(SYN, PISS + 3, 0, PPORT, 80, 1460, 1, TV + 2, 0));
	expect_reopen(l, iss, PISS + 3, 1, tsv, TV + 2);
	nst_close(st, l, now);
	teardown();
}

/* RFC 1122 4.2.2.13 without timestamps: SEG.SEQ > RCV.NXT reopens,
 * SEG.SEQ <= RCV.NXT does not. */
TEST(tw_syn_no_ts_by_seq)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 0, &iss, &tsv);
	inject(tseg(SYN, PISS + 2, 0, PPORT, 80, 1460, 0, 0, 0));
	expect_challenge(iss);
	advance(now + SEC);
	inject(tseg(SYN, PISS - 5, 0, PPORT, 80, 1460, 0, 0, 0));
	expect_challenge(iss);
	advance(now + SEC);
	inject(tseg(SYN, PISS + 2 + 40000, 0, PPORT, 80, 1460, 0, 0, 0));
	expect_reopen(l, iss, PISS + 2 + 40000, 0, 0, 0);
	nst_close(st, l, now);
	teardown();
}

/* Timestamps on the old connection, none on the SYN: the sequence test;
 * when it fails the SYN is dropped as any segment without TSopt (RFC 7323
 * 3.2 "SHOULD silently drop") */
TEST(tw_syn_without_ts_after_ts)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 1, &iss, &tsv);
	uint64_t nots = st->stat.tcp_drop_nots;
	inject(tseg(SYN, PISS + 1, 0, PPORT, 80, 1460, 0, 0, 0));
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_nots, nots + 1);
	CHECK_EQ(conn_of(PPORT)->state, TCP_TIME_WAIT);
	inject(tseg(SYN, PISS + 9, 0, PPORT, 80, 1460, 0, 0, 0));
	expect_reopen(l, iss, PISS + 9, 0, 0, 0);
	nst_close(st, l, now);
	teardown();
}

/* Nobody listens on the port any more: TIME-WAIT answers as before */
TEST(tw_syn_no_listener)
{
	setup();
	int l = listener(8);
	uint32_t iss, tsv;
	to_time_wait(l, 1, &iss, &tsv);
	CHECK_EQ(nst_close(st, l, now), 0);
	inject(tseg(SYN, PISS + 100, 0, PPORT, 80, 1460, 1, TV + 50, 0));
	expect_challenge(iss);
	teardown();
}

/* Active side: a 4-tuple of ours in TIME-WAIT (explicit bind with
 * SO_REUSEADDR). Linux's tcp_twsk_unique: taken over once timestamps were
 * used and a second has passed; the new ISS is beyond the old SND.NXT and
 * the TSval beyond the old ones. */
static int bound_socket(void)
{
	int one = 1;
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, sd, 0, 5555), 0);
	return sd;
}

/* connect from 5555 to PEER:80 (timestamps if ts), close first; the
 * peer's FIN puts us in TIME-WAIT. */
static void active_to_time_wait(int ts, uint32_t *iss, uint32_t *tsval)
{
	struct out o;
	int sd = bound_socket();
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	REQUIRE(take(&o));
	*iss = o.seq;
	inject(tseg(SYN | ACK, PISS, *iss + 1, 80, 5555, 1460, ts, TV, o.tsval));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	inject(tseg(FIN | ACK, PISS + 1, *iss + 2, 80, 5555, 0, ts, TV + 1, o.tsval));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	*tsval = o.tsval;
	struct tcb *t = tcp_lookup(st, V4(ME), 5555, V4(PEER), 80);
	REQUIRE(t);
	CHECK_EQ(t->state, TCP_TIME_WAIT);
}

TEST(connect_takes_over_time_wait)
{
	setup();
	struct out o;
	uint32_t iss, tsv;
	active_to_time_wait(1, &iss, &tsv);
	int sd = bound_socket();
	/* the last timestamp came less than a second ago */
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EADDRNOTAVAIL);
	CHECK(none());
	advance(now + SEC);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK_EQ(o.sport, 5555);
	CHECK(seq_geq(o.seq, iss + 2 + 65535 + 2));
	CHECK(seq_gt(o.tsval, tsv));
	CHECK_EQ(st->stat.tcp_tw_recycled, 1);
	struct tcb *t = tcp_lookup(st, V4(ME), 5555, V4(PEER), 80);
	REQUIRE(t);
	CHECK_EQ(t, tcb_of(sd));
	CHECK_EQ(t->state, TCP_SYN_SENT);
	uint32_t niss = o.seq;
	inject(tseg(SYN | ACK, PISS + 70000, niss + 1, 80, 5555, 1460, 1, TV + 1000, o.tsval));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	nst_close(st, sd, now);
	teardown();
}

/* Without timestamps nothing protects the new connection from the old
 * one's segments: no takeover (Linux) */
TEST(connect_no_takeover_without_ts)
{
	setup();
	uint32_t iss, tsv;
	active_to_time_wait(0, &iss, &tsv);
	int sd = bound_socket();
	advance(now + 5 * SEC);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EADDRNOTAVAIL);
	CHECK(none());
	CHECK_EQ(st->stat.tcp_tw_recycled, 0);
	CHECK_EQ(tcp_lookup(st, V4(ME), 5555, V4(PEER), 80)->state, TCP_TIME_WAIT);
	nst_close(st, sd, now);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(ts_monotonic_per_peer);
	RUN(ts_key_shared_across_stacks);
	RUN(tw_syn_newer_ts_reopens);
	RUN(tw_syn_older_ts_challenged);
	RUN(tw_syn_equal_ts_by_seq);
	RUN(tw_syn_no_ts_by_seq);
	RUN(tw_syn_without_ts_after_ts);
	RUN(tw_syn_no_listener);
	RUN(connect_takes_over_time_wait);
	RUN(connect_no_takeover_without_ts);
	return TEST_SUMMARY();
}
