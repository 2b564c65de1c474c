/* Unit tests of TCP timers on an established connection: retransmission timeout and
 * backoff, giving up, zero-window probes, fast retransmit, keepalive.
 * The test is the peer (tcp_harness.h): it crafts frames, injects them and
 * takes what the stack transmits, at exact microseconds. */
#include "tests/unit/tcp_harness.h"

TEST(rto_backoff_and_rtt)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	/* first sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR */
	CHECK_EQ(t->srtt, 100 * MS);
	CHECK_EQ(t->rttvar, 50 * MS);
	CHECK_EQ(t->rto, 300 * MS);
	CHECK_EQ(nst_send(st, sd, "abc", 3, 0, now), 3);
	struct out o;
	CHECK(take(&o));
	uint64_t sent = now;
	/* timeouts at +300, then +600, +1200 ms: the same bytes again */
	uint64_t at = sent, iv = 300 * MS;
	for (int i = 0; i < 3; i++) {
		at += iv;
		advance(at - 1);
		CHECK(none());
		advance(at);
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1);
		CHECK_EQ(o.len, 3);
		iv *= 2;
	}
	CHECK_EQ(st->stat.tcp_rto, 3);
	CHECK_EQ(t->rto, 2400 * MS);

	CHECK_EQ(t->cwnd, 1460);
	/* ACK of retransmitted data: no RTT sample (Karn), backoff cleared */
	advance(now + 50 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 4, NULL));
	CHECK_EQ(t->srtt, 100 * MS);
	CHECK_EQ(t->rto, 300 * MS);
	CHECK_EQ(t->retries, 0);
	/* a clean sample of 20 ms: RTTVAR = 3/4*50 + 1/4*80 = 57.5 ms,
	 * SRTT = 7/8*100 + 1/8*20 = 90 ms, RTO = 90 + 230 = 320 ms */
	CHECK_EQ(nst_send(st, sd, "d", 1, 0, now), 1);
	CHECK(take(&o));
	advance(now + 20 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 5, NULL));
	CHECK_EQ(t->rttvar, 57500);
	CHECK_EQ(t->srtt, 90 * MS);
	CHECK_EQ(t->rto, 320 * MS);
	/* a tiny RTT: the variance term is at least 200 ms, so the RTO stays
	 * 200 ms past SRTT (RFC 6298 2.3, G = 200 ms) */
	for (int i = 0; i < 40; i++) {
		CHECK_EQ(nst_send(st, sd, "e", 1, 0, now), 1);
		CHECK(take(&o));
		advance(now + 1);
		inject(from(sd, ACK, PISS + 1, iss + 6 + (uint32_t)i, NULL));
	}
	CHECK(t->srtt < 1 * MS);
	CHECK(4 * t->rttvar < 200 * MS);
	CHECK_EQ(t->rto, t->srtt + 200 * MS);
	teardown();
}

TEST(ack_seq_after_timeout)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	static char buf[2920];
	memset(buf, 'a', sizeof(buf));
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), 2920);
	struct out o;
	CHECK(take(&o));
	CHECK(take(&o));
	advance(tcp_next_deadline(st));
	CHECK(take(&o));                /* the RTO resends the first segment only */
	CHECK_EQ(o.seq, iss + 1);
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->snd.nxt, iss + 1461);
	/* our ACK carries the highest SEQ sent, not the rewound snd.nxt: the
	 * peer may hold everything and would ignore an ACK with an older SEQ */
	inject(from(sd, ACK, PISS + 1 + 5, iss + 1, "zz"));   /* out of order: ACK now */
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 2921);
	CHECK_EQ(o.len, 0);
	/* an ACK of new data ends the backoff; with no RTT sample (Karn) the RTO
	 * is the initial one again */
	tcb_of(sd)->srtt = 0;
	inject(from(sd, ACK, PISS + 1, iss + 1461, NULL));
	CHECK_EQ(tcb_of(sd)->rto, TCP_RTO_INIT_US);
	teardown();
}

TEST(retransmission_gives_up)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	CHECK_EQ(nst_send(st, sd, "abc", 3, 0, now), 3);
	struct out o;
	CHECK(take(&o));
	for (int i = 0; i < TCP_RETRIES2; i++) {
		advance(tcp_next_deadline(st));
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1);
	}
	CHECK_EQ(tcb_of(sd)->rto, TCP_RTO_MAX_US);
	advance(tcp_next_deadline(st));
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->state, TCP_CLOSED);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), -ETIMEDOUT);
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), 0);
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), -EPIPE);
	teardown();
}

TEST(zero_window_probe)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 0);     /* peer offers no window */
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	CHECK(none());
	CHECK_EQ(t->timer[TCP_T_REXMT], 0);
	uint64_t at = now + t->rto;    /* 300 ms */
	CHECK_EQ(t->timer[TCP_T_PERSIST], at);
	advance(at - 1);
	CHECK(none());
	advance(at);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 1);
	CHECK_EQ(o.data[0], 'h');
	CHECK_EQ(st->stat.tcp_zwp_tx, 1);
	teardown();
}

TEST(zero_window_probe_backoff)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 0);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	CHECK(none());
	uint64_t at = now + 300 * MS;
	struct out o;
	for (int i = 0; i < 3; i++) {
		advance(at - 1);
		CHECK(none());
		advance(at);
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1);
		CHECK_EQ(o.len, 1);
		struct seg z = from(sd, ACK, PISS + 1, iss + 1, NULL);
		z.wnd = 0;
		inject(z);
		CHECK(none());
		at += (300 * MS) << (i + 1);
	}
	CHECK_EQ(st->stat.tcp_zwp_tx, 3);
	/* the window opens: everything from snd.una goes */
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 5);
	CHECK(memcmp(o.data, "hello", 5) == 0);
	CHECK_EQ(t->timer[TCP_T_PERSIST], 0);
	CHECK(t->timer[TCP_T_REXMT] != 0);
	teardown();
}

TEST(fast_retransmit)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	static char buf[5 * 1460];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (char)i;
	CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), (long)sizeof(buf));
	struct out o;
	for (int i = 0; i < 5; i++) {
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss + 1 + 1460u * (uint32_t)i);
		CHECK_EQ(o.len, 1460);
	}
	CHECK_EQ(o.flags, ACK | PSH);
	/* the first is lost: three duplicate ACKs */
	for (int i = 0; i < 3; i++)
		inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 1460);
	CHECK(memcmp(o.data, buf, 1460) == 0);
	CHECK_EQ(st->stat.tcp_fast_retrans, 1);
	CHECK_EQ(st->stat.tcp_dupack_rx, 3);
	/* partial ACK (up to the third): the next hole goes at once */
	inject(from(sd, ACK, PISS + 1, iss + 1 + 2 * 1460, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 2 * 1460);
	/* full ACK ends recovery */
	inject(from(sd, ACK, PISS + 1, iss + 1 + 5 * 1460, NULL));
	CHECK_EQ(tcb_of(sd)->in_recovery, 0);
	CHECK_EQ(tcb_of(sd)->timer[TCP_T_REXMT], 0);
	teardown();
}

TEST(keepalive)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	int v = 1;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v), now), 0);
	v = 10;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v), now), 0);
	v = 2;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v), now), 0);
	v = 3;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v), now), 0);
	uint64_t at = now + 10 * SEC;
	advance(at - 1);
	CHECK(none());
	advance(at);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss);          /* SND.UNA - 1 */
	CHECK_EQ(o.len, 0);
	/* answered: idle again */
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	at = now + 10 * SEC;
	for (int i = 0; i < 3; i++) {
		advance(at);
		CHECK(take(&o));
		CHECK_EQ(o.seq, iss);
		at += 2 * SEC;
	}
	advance(at - 1);
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	advance(at);
	CHECK_EQ(tcb_of(sd)->state, TCP_CLOSED);
	CHECK_EQ(nst_sock_error(st, sd), ETIMEDOUT);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(rto_backoff_and_rtt);
	RUN(ack_seq_after_timeout);
	RUN(retransmission_gives_up);
	RUN(zero_window_probe);
	RUN(zero_window_probe_backoff);
	RUN(fast_retransmit);
	RUN(keepalive);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
