/* Unit tests of TCP connection closing: active close to TIME-WAIT, passive close,
 * orphans, shutdown, closing everything at exit.
 * The test is the peer (tcp_harness.h): it crafts frames, injects them and
 * takes what the stack transmits, at exact microseconds. */
#include "tests/unit/tcp_harness.h"

TEST(active_close_time_wait)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	struct out o;
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(t->state, TCP_FIN_WAIT_1);
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), -EPIPE);
	/* half-close: the peer still sends */
	inject(from(sd, ACK | PSH, PISS + 1, iss + 2, "xyz"));
	CHECK_EQ(t->state, TCP_FIN_WAIT_2);
	char b[8];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 3);
	advance(now + TCP_DELACK_US);
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 4);
	/* the peer's FIN: ACK, TIME-WAIT for exactly 2MSL */
	inject(from(sd, FIN | ACK, PISS + 4, iss + 2, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 5);
	CHECK_EQ(t->state, TCP_TIME_WAIT);
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 0);
	uint64_t end = now + 60 * SEC;
	CHECK_EQ(t->timer[TCP_T_2MSL], end);
	/* a retransmitted FIN is ACKed again and restarts the timer */
	advance(now + 10 * SEC);
	inject(from(sd, FIN | ACK, PISS + 4, iss + 2, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 5);
	end = now + 60 * SEC;
	advance(end - 1);
	CHECK_EQ(t->state, TCP_TIME_WAIT);
	advance(end);
	CHECK_EQ(t->state, TCP_CLOSED);
	CHECK(none());
	CHECK(nst_poll(st, sd) & NST_POLLHUP);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK_EQ(t->in_use, 0);
	teardown();
}

TEST(passive_close_and_orphan)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	struct out o;
	inject(from(sd, FIN | ACK, PISS + 1, iss + 1, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.ack, PISS + 2);
	CHECK_EQ(t->state, TCP_CLOSE_WAIT);
	uint32_t ev = nst_poll(st, sd);
	CHECK(ev & NST_POLLIN);
	CHECK(ev & NST_POLLRDHUP);
	CHECK(ev & NST_POLLOUT);
	CHECK(!(ev & NST_POLLHUP));
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), 0);
	CHECK_EQ(nst_send(st, sd, "bye", 3, 0, now), 3);
	CHECK(take(&o));
	CHECK_EQ(o.len, 3);
	CHECK_EQ(nst_close(st, sd, now), 0);   /* FIN after the data */
	CHECK(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	CHECK_EQ(o.seq, iss + 4);
	CHECK_EQ(t->state, TCP_LAST_ACK);
	CHECK_EQ(nst_poll(st, sd), NST_POLLERR | NST_POLLHUP);  /* sd gone */
	/* FIN lost once: retransmitted by the RTO, with the unacked data */
	advance(now + t->rto);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.flags, ACK | PSH | FIN);
	inject(from(sd, ACK, PISS + 2, iss + 5, NULL));
	CHECK_EQ(t->in_use, 0);
	teardown();
}

TEST(orphan_fin_wait_2_timeout)
{
	setup();
	uint32_t iss;
	int sd = tcb_in(TCP_FIN_WAIT_2, &iss);
	struct tcb *t = tcb_of(sd);
	uint64_t end = now + TCP_FIN_TIMEOUT_US;
	advance(end - 1);
	CHECK(t->in_use);
	advance(end);
	CHECK(!t->in_use);
	teardown();
}

TEST(shutdown_read_and_fin_piggyback)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	char b[8];
	inject(from(sd, ACK | PSH, PISS + 1, iss + 1, "ab"));
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_RD, now), 0);
	CHECK(nst_poll(st, sd) & NST_POLLRDHUP);
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 2);  /* queued data first */
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 0);
	CHECK_EQ(nst_shutdown(st, sd, 7, now), -EINVAL);
	/* data then SHUT_WR while the window holds it back: FIN rides on the
	 * last data segment */
	struct out o;
	drain();
	tcb_of(sd)->snd.wnd = 3;
	CHECK_EQ(nst_send(st, sd, "12345", 5, 0, now), 5);
	/* sender SWS avoidance (RFC 1122 4.2.3.4): 3 bytes are less than a
	 * segment and half the largest window; they go at the override
	 * timeout, the persist timer (an RTO) */
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->timer[TCP_T_PERSIST], now + tcb_of(sd)->rto);
	advance(tcb_of(sd)->timer[TCP_T_PERSIST]);
	CHECK(take(&o));
	CHECK_EQ(o.len, 3);
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK(tcb_of(sd)->timer[TCP_T_REXMT]);
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), 0);
	CHECK(none());
	inject(from(sd, ACK, PISS + 3, iss + 4, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 4);
	CHECK_EQ(o.len, 2);
	CHECK_EQ(o.flags, ACK | PSH | FIN);
	inject(from(sd, ACK, PISS + 3, iss + 7, NULL));
	CHECK_EQ(tcb_of(sd)->state, TCP_FIN_WAIT_2);
	CHECK_EQ(nst_poll(st, sd) & (NST_POLLHUP | NST_POLLOUT), NST_POLLHUP | NST_POLLOUT);
	teardown();
}

TEST(close_all_at_exit)
{
	setup();
	uint32_t iss1, iss2;
	int a = open_active(&iss1, 10 * MS, 65535);
	int b = open_active(&iss2, 10 * MS, 65535);
	inject(from(b, ACK | PSH, PISS + 1, iss2 + 1, "left"));
	struct out o;
	drain();
	nst_close_all(st, now);
	int fin = 0, rst = 0;
	while (take(&o)) {
		if (o.flags & FIN)
			fin++;
		if (o.flags & RST)
			rst++;
	}
	CHECK_EQ(fin, 1);
	CHECK_EQ(rst, 1);
	CHECK_EQ(nst_poll(st, a), NST_POLLERR | NST_POLLHUP);
	CHECK_EQ(st->tcp.n_owned, 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(active_close_time_wait);
	RUN(passive_close_and_orphan);
	RUN(orphan_fin_wait_2_timeout);
	RUN(shutdown_read_and_fin_piggyback);
	RUN(close_all_at_exit);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
