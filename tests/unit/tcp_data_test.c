/* Unit tests of TCP data transfer: out-of-order reassembly, delayed ACKs, sequence
 * wraparound, send flow and poll, the receive window, PSH.
 * The test is the peer (tcp_harness.h): it crafts frames, injects them and
 * takes what the stack transmits, at exact microseconds. */
#include "tests/unit/tcp_harness.h"

TEST(ooo_reassembly)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct out o;
	uint32_t r = PISS + 1;
	inject(from(sd, ACK, r + 3, iss + 1, "def"));
	CHECK(take(&o));              /* immediate duplicate ACK */
	CHECK_EQ(o.ack, r);
	char b[32];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), -EAGAIN);
	CHECK_EQ(nst_rx_avail(st, sd), 0);
	inject(from(sd, ACK, r + 9, iss + 1, "jkl"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, r);
	inject(from(sd, ACK, r + 6, iss + 1, "ghi"));   /* joins the two ranges */
	CHECK(take(&o));
	CHECK_EQ(o.ack, r);
	CHECK_EQ(tcb_of(sd)->n_ooo, 1);
	inject(from(sd, ACK, r + 4, iss + 1, "efgh"));  /* overlap, already held */
	CHECK(take(&o));
	inject(from(sd, ACK, r, iss + 1, "abc"));       /* fills the hole: ACK now */
	CHECK(take(&o));
	CHECK_EQ(o.ack, r + 12);
	CHECK_EQ(nst_rx_avail(st, sd), 12);
	CHECK_EQ(nst_recv(st, sd, b, 4, NST_MSG_PEEK, now), 4);
	CHECK(memcmp(b, "abcd", 4) == 0);
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 12);
	CHECK(memcmp(b, "abcdefghijkl", 12) == 0);
	CHECK_EQ(st->stat.tcp_ooo_rx, 4);
	CHECK_EQ(tcb_of(sd)->n_ooo, 0);
	/* an old duplicate: ACKed, not delivered again */
	inject(from(sd, ACK, r, iss + 1, "abc"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, r + 12);
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), -EAGAIN);
	teardown();
}

TEST(ooo_range_limit)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	uint32_t r = PISS + 1;
	struct out o;
	for (int i = 0; i < TCP_OOO_MAX + 2; i++) {
		inject(from(sd, ACK, r + 10 + 10 * (uint32_t)i, iss + 1, "xx"));
		CHECK(take(&o));
	}
	CHECK_EQ(tcb_of(sd)->n_ooo, TCP_OOO_MAX);
	CHECK_EQ(st->stat.tcp_drop_ooo_full, 2);
	teardown();
}

/* Bytes held out of order beyond the peer's FIN are not stream data: the
 * FIN ends the stream, they are discarded and counted (found by fuzz_tcp). */
TEST(ooo_bytes_beyond_fin_discarded)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	inject(from(sd, ACK, PISS + 11, iss + 1, "bogus"));
	struct out o;
	CHECK(take(&o));                /* duplicate ACK for the hole */
	CHECK_EQ(tcb_of(sd)->n_ooo, 1);
	inject(from(sd, ACK | FIN, PISS + 1, iss + 1, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 2);      /* the FIN, nothing beyond it */
	CHECK_EQ(tcb_of(sd)->n_ooo, 0);
	CHECK_EQ(st->stat.tcp_drop_after_fin, 1);
	char buf[16];
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), 0);   /* EOF */
	teardown();
}

TEST(delayed_ack)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	static char full[1460];
	memset(full, 'z', sizeof(full));
	struct seg s = from(sd, ACK, PISS + 1, iss + 1, NULL);
	s.data = full;
	s.len = 1460;
	inject(s);
	CHECK(none());                 /* one full segment: wait */
	s.seq += 1460;
	inject(s);
	struct out o;
	CHECK(take(&o));               /* the second: ACK now */
	CHECK_EQ(o.ack, PISS + 1 + 2920);
	/* a small one: ACK after exactly 40 ms */
	inject(from(sd, ACK | PSH, PISS + 1 + 2920, iss + 1, "q"));
	CHECK(none());
	uint64_t at = now + TCP_DELACK_US;
	advance(at - 1);
	CHECK(none());
	advance(at);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 2922);
	teardown();
}

TEST(sequence_wraparound)
{
	setup();
	/* the peer's ISS just below 2^32: the data crosses the wrap */
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t piss = 0xfffffff8u;
	inject((struct seg){ .flags = SYN, .seq = piss, .wnd = 65535 });
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.wnd, 65535);         /* the window is not measured from 0 */
	uint32_t iss = o.seq;
	inject((struct seg){ .flags = ACK, .seq = piss + 1, .ack = iss + 1, .wnd = 65535 });
	int c = nst_accept(st, l, NULL, NULL, now);
	CHECK(c >= 0);
	inject((struct seg){ .flags = ACK, .seq = piss + 1 + 10, .ack = iss + 1, .wnd = 65535, .data = "KLMNO", .len = 5 });
	CHECK(take(&o));
	inject((struct seg){ .flags = ACK, .seq = piss + 1, .ack = iss + 1, .wnd = 65535, .data = "ABCDEFGHIJ", .len = 10 });
	CHECK(take(&o));
	CHECK_EQ(o.ack, piss + 16);
	CHECK_EQ(o.ack, 8u);
	char b[32];
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), 15);
	CHECK(memcmp(b, "ABCDEFGHIJKLMNO", 15) == 0);

	/* our ISS near 2^32: choose the clock so that M + F = 2^32 - 6 */
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, sd, 0, 6000), 0);
	uint64_t save = st->now_us;
	st->now_us = 0;
	uint32_t f = tcp_iss(st, V4(ME), 6000, V4(PEER), 80);
	st->now_us = save;
	uint32_t m = 0xfffffffau - f;        /* 4-us ticks needed */
	uint64_t t = 4ull * m;
	while (t < now)
		t += 4ull << 32;
	advance(t);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	CHECK(take(&o));
	CHECK_EQ(o.seq, 0xfffffffau);
	iss = o.seq;
	inject((struct seg){ .flags = SYN | ACK, .seq = 100, .ack = iss + 1, .wnd = 65535, .sport = 80, .dport = 6000 });
	CHECK(take(&o));
	CHECK_EQ(nst_send(st, sd, "0123456789", 10, 0, now), 10);
	CHECK(take(&o));
	CHECK_EQ(o.seq, 0xfffffffbu);
	inject((struct seg){ .flags = ACK, .seq = 101, .ack = iss + 6, .wnd = 65535, .sport = 80, .dport = 6000 });
	CHECK_EQ(tcb_of(sd)->snd.una, 0u);
	CHECK_EQ(tcb_of(sd)->sndbuf.len, 5);
	inject((struct seg){ .flags = ACK, .seq = 101, .ack = iss + 11, .wnd = 65535, .sport = 80, .dport = 6000 });
	CHECK_EQ(tcb_of(sd)->snd.una, 5u);
	CHECK_EQ(tcb_of(sd)->sndbuf.len, 0);
	CHECK_EQ(tcb_of(sd)->timer[TCP_T_REXMT], 0);
	teardown();
}

TEST(send_flow_and_poll)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	/* IW10: ten segments, then wait for ACKs */
	static char big[300 * 1024];
	memset(big, 'b', sizeof(big));
	ssize_t n = nst_send(st, sd, big, sizeof(big), 0, now);
	CHECK_EQ(n, TCP_WMEM_DEF);      /* partial write: the send budget is reached */
	CHECK_EQ(nst_send(st, sd, big, 10, 0, now), -EAGAIN);
	CHECK(!(nst_poll(st, sd) & NST_POLLOUT));
	struct out o;
	int segs = 0;
	while (take(&o))
		segs++;
	CHECK_EQ(segs, 10);
	/* the peer ACKs everything sent: slow start doubles */
	inject(from(sd, ACK, PISS + 1, iss + 1 + 10 * 1460, NULL));
	segs = 0;
	while (take(&o))
		segs++;
	CHECK(segs >= 10);
	teardown();
}

TEST(receive_window_closes_and_reopens)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	static char full[1460];
	memset(full, 'w', sizeof(full));
	struct out o;
	uint32_t seq = PISS + 1;
	uint32_t edge = PISS + 1 + 65535;   /* the right edge we advertised */
	/* the peer fills exactly what we offer while we do not read */
	for (;;) {
		uint32_t room = edge - seq;
		if (room == 0)
			break;
		struct seg s = from(sd, ACK, seq, iss + 1, NULL);
		s.data = full;
		s.len = room < 1460 ? room : 1460;
		inject(s);
		seq += s.len;
		while (take(&o)) {
			/* the window never shrinks: ack + wnd only moves right */
			CHECK(seq_geq(o.ack + o.wnd, edge));
			edge = o.ack + o.wnd;
		}
		if (seq_geq(seq, edge) && t->rcvbuf.len >= TCP_RMEM_DEF)
			break;
	}
	/* the last bytes of the receive budget are never offered: less than
	 * an MSS (RFC 1122 4.2.3.3 receiver SWS avoidance) */
	size_t held = nst_rx_avail(st, sd);
	CHECK(held > TCP_RMEM_DEF - 1460 && held <= TCP_RMEM_DEF);
	advance(now + TCP_DELACK_US);
	while (take(&o))
		edge = o.ack + o.wnd;
	CHECK_EQ(tcp_rcv_wnd(t), 0);
	/* a zero-window probe of one byte: not taken, answered with window 0 */
	inject(from(sd, ACK, seq, iss + 1, "P"));
	CHECK(take(&o));
	CHECK_EQ(o.ack, seq);
	CHECK_EQ(o.wnd, 0);
	CHECK_EQ(nst_rx_avail(st, sd), held);
	/* reading a little opens less than an MSS: no update (receiver SWS) */
	static char b[70000];
	CHECK_EQ(nst_recv(st, sd, b, 100, 0, now), 100);
	CHECK(none());
	/* reading more: a window update */
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), (long)sizeof(b));
	CHECK(take(&o));
	CHECK_EQ(o.ack, seq);
	CHECK_EQ(o.wnd, 65535);
	teardown();
}

/* PSH on the segment that ends the pushed data and, for new data, on every
 * second full segment of a pass (Linux's two-segment GSO units); a lone
 * window-limited segment has none, nor has a retransmission that does not
 * end the pushed data. */
TEST(psh_on_every_second_segment_of_a_burst)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	static char buf[20000];
	struct out o;
	CHECK_EQ(t->mss, 1460);
	/* cwnd 10 segments: PSH on the 2nd, 4th, ... 10th */
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), (long)sizeof(buf));
	for (int i = 0; i < 10; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1 + 1460u * i);
		CHECK_EQ(o.len, 1460);
		CHECK_EQ(o.flags, i % 2 ? ACK | PSH : ACK);
	}
	CHECK(none());
	/* an ACK of two: cwnd grows by two SMSS (every segment an ACK covers counts), four
	 * leave: two pairs, PSH on the second of each */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 1 + 2920, NULL));
	for (int i = 0; i < 4; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1 + 14600 + 1460u * i);
		CHECK_EQ(o.flags, i % 2 ? ACK | PSH : ACK);
	}
	CHECK(none());
	/* RTO: cwnd one segment; the resend of iss+2921 does not end the
	 * data: no PSH */
	advance(now + t->rto);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 2920);
	CHECK_EQ(o.len, 1460);
	CHECK_EQ(o.flags, ACK);
	CHECK(none());
	/* all sent acknowledged: the last 1020 bytes end the data, PSH */
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 1 + 18980, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 18980);
	CHECK_EQ(o.len, 1020);
	CHECK_EQ(o.flags, ACK | PSH);
	inject(from(sd, ACK, PISS + 1, iss + 1 + 20000, NULL));
	CHECK(none());
	CHECK_EQ(t->snd.una, iss + 1 + 20000);
	/* a resend that ends the pushed data keeps its PSH */
	CHECK_EQ(nst_send(st, sd, buf, 1000, 0, now), 1000);
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	advance(now + t->rto);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 20000);
	CHECK_EQ(o.len, 1000);
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK(none());
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(ooo_reassembly);
	RUN(ooo_range_limit);
	RUN(ooo_bytes_beyond_fin_discarded);
	RUN(delayed_ack);
	RUN(sequence_wraparound);
	RUN(send_flow_and_poll);
	RUN(receive_window_closes_and_reopens);
	RUN(psh_on_every_second_segment_of_a_burst);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
