/* Unit tests of the server side of TCP: LISTEN, SYN-RECEIVED, the accept queue
 * and backlog, SYN-ACK retransmission, simultaneous open, SO_REUSEADDR /
 * SO_REUSEPORT bind rules, SO_LINGER, close with unread data, what exit waits
 * for. The test is the peer (tcp_harness.h): it crafts frames with correct
 * checksums, injects them into the memdev and takes what the stack sends, at
 * exact microseconds. */
#include "tests/unit/tcp_harness.h"

static int notified_sd = -1, notified_n;
static void notify_cb(void *ctx, int sd)
{
	(void)ctx;
	notified_sd = sd;
	notified_n++;
}

TEST(syn_received_then_established)
{
	setup();
	int l = listener(8);
	stack_set_notify(st, notify_cb, NULL);
	uint32_t iss = syn_in(PPORT);
	struct tcb *c = conn_of(PPORT);
	REQUIRE(c);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	CHECK_EQ(tcb_of(l)->syn_n, 1);
	/* half-open: nothing to accept, the listener is not readable */
	CHECK_EQ(nst_accept(st, l, NULL, NULL, now), -EAGAIN);
	CHECK_EQ(nst_poll(st, l), 0);
	/* RFC 9293 3.10.7.4 SYN-RECEIVED: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST> */
	notified_n = 0;
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 7, .wnd = 65535 });
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, iss + 7);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	CHECK_EQ(notified_n, 0);
	/* the ACK that completes it: ESTABLISHED, into the accept queue, listener readable
	 * and its owner told (the poll()ing server wakes) */
	ack_in(PPORT, iss);
	CHECK(none());
	CHECK_EQ(c->state, TCP_ESTABLISHED);
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	CHECK_EQ(tcb_of(l)->acc_n, 1);
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	CHECK_EQ(notified_sd, l);
	uint32_t a;
	uint16_t p;
	int sd = nst_accept(st, l, &a, &p, now);
	CHECK(sd >= 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(p, PPORT);
	CHECK_EQ(nst_poll(st, l), 0);
	CHECK_EQ(nst_getsockname(st, sd, &a, &p), 0);
	CHECK_EQ(a, ME);
	CHECK_EQ(p, 80);
	/* no SYN-ACK retransmission once established */
	advance(now + 10 * SEC);
	CHECK(none());
	nst_close(st, sd, now);
	nst_close(st, l, now);
	teardown();
}

TEST(rst_in_syn_received)
{
	setup();
	int l = listener(8);
	syn_in(PPORT);
	struct tcb *c = conn_of(PPORT);
	REQUIRE(c);
	/* an out-of-window RST is ignored (RFC 5961: challenge ACK) */
	inject((struct seg){ .flags = RST, .seq = PISS + 70000, .wnd = 0 });
	CHECK_EQ(c->in_use, 1);
	CHECK_EQ(c->state, TCP_SYN_RECEIVED);
	drain();
	/* RFC 9293: "If this connection was initiated with a passive OPEN (i.e.,
	 * came from the LISTEN state), then return this connection to LISTEN
	 * state and return" -- the child goes, the listener stays */
	inject((struct seg){ .flags = RST, .seq = PISS + 1, .wnd = 0 });
	CHECK(none());
	CHECK(!conn_of(PPORT));
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	CHECK_EQ(tcb_of(l)->state, TCP_LISTEN);
	CHECK_EQ(nst_accept(st, l, NULL, NULL, now), -EAGAIN);
	/* nothing left to retransmit */
	advance(now + 10 * SEC);
	CHECK(none());
	/* and the same peer can come again */
	uint32_t iss = syn_in(PPORT);
	ack_in(PPORT, iss);
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	teardown();
}

TEST(synack_retransmission_gives_up)
{
	setup();
	int l = listener(8);
	uint64_t t0 = now;
	uint32_t iss = syn_in(PPORT);
	struct out o;
	/* Linux tcp_synack_retries = 5: resent at 1, 3, 7, 15, 31 s (RTO doubling
	 * from 1 s), given up at 63 s */
	uint64_t at[] = { 1, 3, 7, 15, 31 };
	for (unsigned i = 0; i < 5; i++) {
		advance(t0 + at[i] * SEC - 1);
		CHECK(none());
		advance(t0 + at[i] * SEC);
		CHECK(take(&o));
		CHECK_EQ(o.flags, SYN | ACK);
		CHECK_EQ(o.seq, iss);
		CHECK_EQ(o.ack, PISS + 1);
	}
	advance(t0 + 63 * SEC - 1);
	CHECK(conn_of(PPORT) != NULL);
	advance(t0 + 63 * SEC);
	CHECK(none());
	CHECK(!conn_of(PPORT));
	CHECK_EQ(tcb_of(l)->syn_n, 0);
	teardown();
}

TEST(backlog_overflow_drops_not_resets)
{
	setup();
	/* backlog 1: Linux's accept queue is full when it holds more than the
	 * backlog (sk_acceptq_is_full: > backlog), i.e. 2 here */
	int l = listener(1);
	for (uint16_t sp = PPORT; sp < PPORT + 2; sp++)
		ack_in(sp, syn_in(sp));
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	uint64_t drops = st->stat.tcp_drop_listen;
	/* a third SYN: dropped silently, no RST, no SYN-ACK: the peer retries */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = PPORT + 2 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_listen, drops + 1);
	CHECK(!conn_of(PPORT + 2));
	/* room again after an accept: the retried SYN is answered */
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	uint32_t iss = syn_in(PPORT + 2);
	/* a handshake's last ACK while the queue is full again is dropped too (the
	 * child stays in SYN-RECEIVED, its SYN-ACK is resent, the ACK comes again) */
	ack_in(PPORT + 3, syn_in(PPORT + 3));   /* fills the queue (2) */
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	ack_in(PPORT + 2, iss);
	CHECK(none());
	CHECK_EQ(conn_of(PPORT + 2)->state, TCP_SYN_RECEIVED);
	CHECK(nst_accept(st, l, NULL, NULL, now) >= 0);
	ack_in(PPORT + 2, iss);
	CHECK_EQ(conn_of(PPORT + 2)->state, TCP_ESTABLISHED);
	CHECK_EQ(tcb_of(l)->acc_n, 2);
	teardown();
}

TEST(simultaneous_open_with_ack)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, sd, 0, 6666), 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	uint32_t iss = o.seq;
	/* RFC 9293 3.10.7.3: a SYN without ACK in SYN-SENT: SYN-RECEIVED, SYN-ACK
	 * with our same ISS */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = 80, .dport = 6666 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_RECEIVED);
	CHECK_EQ(nst_poll(st, sd) & NST_POLLOUT, 0);
	/* the SYN-ACK is lost: resent after the RTO */
	advance(now + SEC);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	/* the peer's ACK of our SYN, with data: ESTABLISHED, data delivered */
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .sport = 80, .dport = 6666, .data = "hi", .len = 2 });
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 2);
	teardown();
}

TEST(linger_zero_resets)
{
	setup();
	int l = listener(8);
	struct linger lg = { 1, 0 };
	/* set on the listener: the accepted socket inherits it */
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	struct linger got;
	unsigned len = sizeof(got);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	CHECK_EQ(got.l_onoff, 1);
	CHECK_EQ(got.l_linger, 0);
	/* unsent data does not matter: abort */
	CHECK_EQ(nst_send(st, sd, "abc", 3, 0, now), 3);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.len, 3);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, iss + 4);
	CHECK(none());
	CHECK(!conn_of(PPORT));
	advance(now + 10 * SEC);
	CHECK(none());
	teardown();
}

TEST(close_with_unread_data_resets_accepted)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .data = "request", .len = 7 });
	struct out o;
	drain();
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, PISS + 8);
	CHECK(!conn_of(PPORT));
	/* the listener is unaffected */
	CHECK_EQ(tcb_of(l)->state, TCP_LISTEN);
	teardown();
}

TEST(linger_pending_until_fin_acked)
{
	setup();
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	CHECK_EQ(nst_close_pending(st, sd), 0);        /* nothing queued to close yet */
	CHECK_EQ(nst_send(st, sd, "data", 4, 0, now), 4);
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), 0);
	drain();
	CHECK_EQ(tcb_of(sd)->state, TCP_FIN_WAIT_1);
	CHECK_EQ(nst_close_pending(st, sd), 1);
	CHECK_EQ(nst_exit_pending(st), 4 + 1);
	/* the data is acked, the FIN not yet */
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 5, .wnd = 65535 });
	CHECK_EQ(nst_close_pending(st, sd), 1);
	CHECK_EQ(nst_exit_pending(st), 1);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 6, .wnd = 65535 });
	CHECK_EQ(tcb_of(sd)->state, TCP_FIN_WAIT_2);
	CHECK_EQ(nst_close_pending(st, sd), 0);
	CHECK_EQ(nst_exit_pending(st), 0);
	CHECK_EQ(nst_close_pending(st, 999), -EBADF);
	teardown();
}

TEST(reuseaddr_rebind_over_time_wait)
{
	setup();
	int one = 1;
	/* a server with SO_REUSEADDR: its connection ends in TIME-WAIT, then the
	 * server restarts on the same port */
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	close_to(sd, TCP_TIME_WAIT);
	CHECK_EQ(nst_close(st, l, now), 0);
	/* without SO_REUSEADDR the TIME-WAIT connection holds the port (Linux) */
	int n = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, n, 0, 80), -EADDRINUSE);
	CHECK_EQ(nst_bind(st, n, ME, 80), -EADDRINUSE);
	CHECK_EQ(nst_setsockopt(st, n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, n, 0, 80), 0);
	CHECK_EQ(nst_listen(st, n, 8, now), 0);
	/* a listener is never shared through SO_REUSEADDR */
	int m = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, m, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, m, 0, 80), -EADDRINUSE);
	CHECK_EQ(nst_close(st, n, now), 0);
	/* TIME-WAIT bounded: 60 s, then the port is free for anybody */
	struct tcb *tw = conn_of(PPORT);
	REQUIRE(tw);
	advance(tw->timer[TCP_T_2MSL]);
	CHECK(!conn_of(PPORT));
	int k = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, k, 0, 80), 0);
	teardown();
}

TEST(reuseaddr_needed_on_both)
{
	setup();
	int one = 1;
	/* the old server did not set SO_REUSEADDR: its TIME-WAIT connection keeps
	 * the port even from a socket that sets it (Linux: sk_reuse on both) */
	int l = listener(8);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	close_to(sd, TCP_TIME_WAIT);
	CHECK_EQ(nst_close(st, l, now), 0);
	int n = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, n, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, n, 0, 80), -EADDRINUSE);
	teardown();
}

TEST(reuseport_shares_a_port)
{
	setup();
	int one = 1;
	int a = nst_socket(st, NST_SOCK_STREAM), b = nst_socket(st, NST_SOCK_STREAM);
	int c = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_setsockopt(st, b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, a, 0, 80), 0);
	CHECK_EQ(nst_bind(st, b, 0, 80), 0);
	CHECK_EQ(nst_bind(st, c, 0, 80), -EADDRINUSE);   /* not without the option */
	CHECK_EQ(nst_listen(st, a, 8, now), 0);
	CHECK_EQ(nst_listen(st, b, 8, now), 0);
	/* connections reach one of them */
	uint32_t iss = syn_in(PPORT);
	ack_in(PPORT, iss);
	CHECK_EQ(tcb_of(a)->acc_n + tcb_of(b)->acc_n, 1);
	/* closing one leaves the other serving */
	nst_close(st, a, now);
	unsigned before = tcb_of(b)->acc_n;
	ack_in(PPORT + 1, syn_in(PPORT + 1));
	CHECK_EQ(tcb_of(b)->acc_n, before + 1);
	CHECK(nst_accept(st, b, NULL, NULL, now) >= 0);
	teardown();
}

TEST(children_inherit_options)
{
	setup();
	int one = 1;
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), now), 0);
	struct linger lg = { 1, 7 };
	CHECK_EQ(nst_setsockopt(st, l, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), now), 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t iss;
	int sd = accepted(l, PPORT, &iss);
	int v;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_REUSEPORT, &v, &len), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
	CHECK_EQ(v, 0);
	struct linger got;
	len = sizeof(got);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	CHECK_EQ(got.l_linger, 7);
	teardown();
}

TEST(sockbuf_clamp)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM), v = 10000000;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 212992);        /* Linux's default net.core.rmem_max, doubled */
	nst_set_sockbuf_max(st, 4194304, 0);
	v = 10000000;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 4194304);
	v = 10000000;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	CHECK_EQ(v, 2 * 212992);
	teardown();
}

TEST(active_helper_still_works)
{
	/* the copied harness' active open, used once so it stays honest */
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	CHECK(none());
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(syn_received_then_established);
	RUN(rst_in_syn_received);
	RUN(synack_retransmission_gives_up);
	RUN(backlog_overflow_drops_not_resets);
	RUN(simultaneous_open_with_ack);
	RUN(linger_zero_resets);
	RUN(close_with_unread_data_resets_accepted);
	RUN(linger_pending_until_fin_acked);
	RUN(reuseaddr_rebind_over_time_wait);
	RUN(reuseaddr_needed_on_both);
	RUN(reuseport_shares_a_port);
	RUN(children_inherit_options);
	RUN(sockbuf_clamp);
	RUN(active_helper_still_works);
	return TEST_SUMMARY();
}
