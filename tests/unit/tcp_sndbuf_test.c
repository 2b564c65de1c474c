/* Unit tests of the send memory of a socket with SO_SNDBUF (tcp_out.c,
 * "send memory of an SO_SNDBUF socket"): Linux's write queue of skbs, each
 * costing its payload plus TCP_SKB_OVERHEAD, filled to size_goal; when a
 * write blocks, when its writer wakes (poll's POLLOUT) and where PSH goes.
 * The numbers are packetdrill's blocking/blocking-write.pkt and
 * cubic/cubic-rto-ss-ca-cwnd-bump.pkt as Linux 6.18 runs them.
 * The test is the peer (tcp_harness.h), at exact microseconds. */
#include "tests/unit/tcp_harness.h"

static char big[200000];

/* An active open with the peer's MSS 1000 and window wnd (no scaling). */
static int open_mss1000(uint32_t *iss, uint64_t rtt_us, uint16_t wnd)
{
	struct out o;
	int sd = syn_sent(&o);
	*iss = o.seq;
	syn_ack_in(sd, &o, rtt_us, (struct seg){ .wnd = wnd, .mss = 1000 });
	return sd;
}

/* Take the segments sent now: their count; *end the end of the last; the
 * relative ends (from base) of those with PSH in psh[] (up to 8). */
static unsigned burst(uint32_t base, uint32_t *end, uint32_t *psh, unsigned *npsh)
{
	struct out o;
	unsigned n = 0;
	*npsh = 0;
	while (take(&o)) {
		CHECK_EQ(o.len, 1000);
		if (n)
			CHECK_EQ(o.seq, *end);
		*end = o.seq + o.len;
		if ((o.flags & PSH) && *npsh < 8)
			psh[(*npsh)++] = *end - base;
		n++;
	}
	return n;
}

static struct seg ack_of(int sd, uint32_t ack, uint16_t wnd)
{
	struct seg s = from(sd, ACK, PISS + 1, ack, NULL);
	s.wnd = wnd;
	return s;
}

/* blocking-write.pkt: SO_SNDBUF 21000 (42000), a write of 61000, peer MSS
 * 1000 and window 50000 (size_goal 25000), ACKs every 100 ms. Linux queues
 * skbs [1,25001) (pushed at once: 1:5001 and 5001:10001 leave, the rest
 * fills to 35001), then [35001,60001) while 35000 + 3 x 832 < 42000, and
 * blocks at 60000 with 4 skbs. The ACKs of 10001 and 30001 send 20 and 30
 * segments, in units of 10 (each one skb: 3 skbs of 10000 after 30001,
 * 32496 bytes); the writer wakes when 42000 - w >= w / 2, w <= 28000:
 * 30000 - acked + 2496 <= 28000 from the ACK of 34497 on (the kernel wakes
 * at 34497, not at 34496), and its last 1000 bytes leave at once. */
TEST(blocking_write_wakes_as_linux)
{
	setup();
	st->tcp.min_tso_segs = 10;
	uint32_t iss, end = 0, psh[8];
	unsigned np;
	int sd = open_mss1000(&iss, 100 * MS, 50000);
	struct tcb *t = tcb_of(sd);
	uint32_t b = iss;       /* sequence numbers relative to it, as packetdrill's */
	CHECK_EQ(set_int(sd, SOL_SOCKET, SO_SNDBUF, 21000), 0);
	CHECK_EQ(get_int(sd, SOL_SOCKET, SO_SNDBUF), 42000);

	CHECK_EQ(nst_send(st, sd, big, 61000, 0, now), 60000);
	CHECK_EQ(burst(b, &end, psh, &np), 10);
	CHECK_EQ(end - b, 10001);
	CHECK_EQ(np, 2);
	CHECK_EQ(psh[0], 5001);
	CHECK_EQ(psh[1], 10001);
	CHECK_EQ(t->n_vskb, 4);         /* [1,5001) [5001,10001) [10001,35001) [35001,60001) */
	CHECK_EQ(tcp_wmem_queued(t), 60000 + 4 * TCP_SKB_OVERHEAD);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), -EAGAIN);

	advance(now + 100 * MS);
	inject(ack_of(sd, b + 10001, 50000));
	CHECK_EQ(burst(b, &end, psh, &np), 20);
	CHECK_EQ(end - b, 30001);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), -EAGAIN);

	advance(now + 100 * MS);
	inject(ack_of(sd, b + 30001, 50000));
	CHECK_EQ(burst(b, &end, psh, &np), 30);
	CHECK_EQ(end - b, 60001);
	CHECK_EQ(np, 3);                /* units of 10 */
	CHECK_EQ(t->n_vskb, 3);
	CHECK_EQ(tcp_wmem_queued(t), 30000 + 3 * TCP_SKB_OVERHEAD);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), -EAGAIN);

	/* below the memory (32496 < 42000) but not writeable: the writer sleeps on */
	advance(now + 100 * MS);
	inject(ack_of(sd, b + 34496, 50000));
	CHECK(none());
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), -EAGAIN);

	inject(ack_of(sd, b + 34497, 50000));
	CHECK(nst_poll(st, sd) & NST_POLLOUT);
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), 1000);
	CHECK_EQ(burst(b, &end, psh, &np), 1);
	CHECK_EQ(end - b, 61001);
	CHECK_EQ(np, 1);
	teardown();
}

/* cubic-rto-ss-ca-cwnd-bump.pkt's write: 200000 bytes at cwnd 2, the peer's
 * largest window 32896 (size_goal 16000, forced push past 16448), SO_SNDBUF
 * 200000 (never full). Linux's first skb [S, S+16000) is the send head:
 * tcp_push_one sends one segment and the rest, no longer full, takes 1000
 * more; full again past pushed_seq + 16448, it is marked PSH (forced_push)
 * and the next segment leaves; it fills to S+18000 with its PSH, so the
 * lone segment that later ends there carries PSH (19001:20001 in the
 * script), and the next mark is S+34000. */
TEST(forced_push_marks_where_linux_does)
{
	setup();
	uint32_t iss;
	struct out o;
	struct seg sa = { .wnd = 32792 };
	opt_mss(&sa, 1000);
	opt_ws(&sa, 7);
	struct out syn;
	int sd = syn_sent(&syn);
	iss = syn.seq;
	syn_ack_in(sd, &syn, 100 * MS, sa);
	struct tcb *t = tcb_of(sd);
	struct seg a = from(sd, ACK, PISS + 1, iss + 1, NULL);
	a.wnd = 257;            /* scaled: 32896 */
	inject(a);
	CHECK_EQ(t->max_snd_wnd, 257u << 7);
	CHECK_EQ(set_int(sd, SOL_SOCKET, SO_SNDBUF, 200000), 0);
	/* Reno, cwnd held at 2 below: each ACK lets exactly one segment go */
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
	CHECK_EQ(nst_send(st, sd, big, 1000, 0, now), 1000);
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	advance(now + 100 * MS);
	a.ack = iss + 1001;
	inject(a);
	uint32_t s = iss + 1001;
	t->cwnd = t->ssthresh = 2 * t->mss;     /* after the RTO */
	CHECK_EQ(nst_send(st, sd, big, 200000, 0, now), 200000);
	for (unsigned i = 0; i < 2; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, s + 1000 * i);
		CHECK_EQ(o.len, 1000);
		CHECK_EQ(o.flags, ACK);
	}
	CHECK(none());
	/* the marks: S+18000, then every 16000 or so, the end of the write */
	CHECK(t->n_push >= 3);
	unsigned k = 0;
	while (k < t->n_push && seq_leq(t->push_end[k], s))
		k++;
	CHECK_EQ(t->push_end[k] - s, 18000);
	CHECK_EQ(t->push_end[k + 1] - s, 34000);
	CHECK_EQ(t->push_end[t->n_push - 1] - s, 200000);
	/* one segment at a time (cwnd 2, one out): PSH only on the one ending at S+18000 */
	for (uint32_t acked = 1000; acked < 18000; acked += 1000) {
		advance(now + 2 * MS);
		t->cwnd = 2 * t->mss;
		t->ca_acked = 0;
		a.ack = s + acked;
		inject(a);
		CHECK(take(&o));
		CHECK_EQ(o.seq, s + acked + 1000);
		CHECK_EQ(o.len, 1000);
		CHECK_EQ(o.flags, o.seq + o.len == s + 18000 ? (ACK | PSH) : ACK);
		CHECK(none());
	}
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(blocking_write_wakes_as_linux);
	RUN(forced_push_marks_where_linux_does);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
