/* Unit tests of TCP connection opening: sockets before a connection, bind rules, the active
 * and passive handshakes, SYN retransmission, simultaneous open, socket options.
 * The test is the peer (tcp_harness.h): it crafts frames, injects them and
 * takes what the stack transmits, at exact microseconds. */
#include "tests/unit/tcp_harness.h"

TEST(fresh_socket)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK(sd >= 0);
	CHECK_EQ(nst_poll(st, sd), NST_POLLOUT | NST_POLLHUP);
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), -EPIPE);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), -ENOTCONN);
	uint32_t a = 1; uint16_t p = 1;
	CHECK_EQ(nst_getsockname(st, sd, &a, &p), 0);
	CHECK_EQ(a, 0);
	CHECK_EQ(p, 0);
	CHECK_EQ(nst_getpeername(st, sd, &a, &p), -ENOTCONN);
	CHECK_EQ(nst_sock_type(st, sd), NST_SOCK_STREAM);
	CHECK_EQ(nst_sock_type(st, 999), -EBADF);
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), -ENOTCONN);
	int ud = nst_socket(st, NST_SOCK_DGRAM);        /* datagrams: udp.c, their own sd range */
	CHECK(ud >= NST_UDP_SD_BASE);
	CHECK_EQ(nst_close(st, ud, now), 0);
	CHECK_EQ(nst_socket(st, 7), -EPROTONOSUPPORT);
	CHECK_EQ(nst_connect(st, sd, 0x0a000001, 80, now), -ENETUNREACH);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK_EQ(nst_close(st, sd, now), -EBADF);
	teardown();
}

TEST(bind_rules)
{
	setup();
	int a = nst_socket(st, NST_SOCK_STREAM), b = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, a, 0x0a000001, 80), -EADDRNOTAVAIL);
	CHECK_EQ(nst_bind(st, a, ME, 80), 0);
	CHECK_EQ(nst_bind(st, a, ME, 81), -EINVAL);
	CHECK_EQ(nst_bind(st, b, 0, 80), -EADDRINUSE);
	CHECK_EQ(nst_bind(st, b, 0, 0), 0);
	uint32_t addr; uint16_t port;
	nst_getsockname(st, b, &addr, &port);
	CHECK(port >= 32768 && port <= 60999);
	CHECK_EQ(nst_listen(st, a, 5, now), 0);
	int c = nst_socket(st, NST_SOCK_STREAM);
	int one = 1;
	CHECK_EQ(nst_setsockopt(st, c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), now), 0);
	CHECK_EQ(nst_bind(st, c, ME, 80), -EADDRINUSE);  /* a listener holds it */
	/* an ephemeral connect gets a port in range */
	int d = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, d, PEER, 80, now), -EINPROGRESS);
	nst_getsockname(st, d, &addr, &port);
	CHECK_EQ(addr, ME);
	CHECK(port >= 32768 && port <= 60999);
	CHECK_EQ(nst_connect(st, d, PEER, 80, now), -EALREADY);
	teardown();
}

TEST(handshake_active)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->state, TCP_ESTABLISHED);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EISCONN);
	CHECK_EQ(nst_poll(st, sd), NST_POLLOUT);
	uint32_t a; uint16_t p;
	CHECK_EQ(nst_getpeername(st, sd, &a, &p), 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(p, 80);
	CHECK_EQ(st->stat.tcp_active_open, 1);
	/* RFC 6298: the SYN's RTT (10 ms) is the first sample */
	CHECK_EQ(t->srtt, 10 * MS);
	CHECK_EQ(t->rttvar, 5 * MS);
	/* RFC 6298 2.3 with G = 200 ms: 10 + max(200, 4*5) = 210 ms */
	CHECK_EQ(t->rto, 210 * MS);
	int v; unsigned l = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_MAXSEG, &v, &l), 0);
	CHECK_EQ(v, 1460);
	/* data out, ACKed */
	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 5);
	CHECK(memcmp(o.data, "hello", 5) == 0);
	inject(from(sd, ACK, PISS + 1, iss + 6, NULL));
	CHECK(none());
	CHECK_EQ(t->snd.una, iss + 6);
	CHECK_EQ(t->timer[TCP_T_REXMT], 0);
	teardown();
}

TEST(syn_retransmit_schedule)
{
	setup();
	struct out o;
	int sd = syn_sent(&o);
	uint32_t iss = o.seq;
	uint64_t at = T0, iv = 1 * SEC;
	for (int i = 0; i < 6; i++) {
		at += iv;
		CHECK_EQ(tcp_next_deadline(st), at);
		advance(at - 1);
		CHECK(none());
		advance(at);
		CHECK(take(&o));
		CHECK_EQ(o.flags, SYN);
		CHECK_EQ(o.seq, iss);
		CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EALREADY);
		iv *= 2;
	}
	CHECK_EQ(st->stat.tcp_syn_retrans, 6);
	at += iv;       /* 1+2+4+8+16+32+64 = 127 s */
	CHECK_EQ(at, T0 + 127 * SEC);
	advance(at - 1);
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_SENT);
	advance(at);
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->state, TCP_CLOSED);
	CHECK(nst_poll(st, sd) & NST_POLLERR);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -ETIMEDOUT);
	CHECK_EQ(nst_sock_error(st, sd), 0);
	CHECK_EQ(st->stat.tcp_timeout, 1);
	teardown();
}

TEST(syn_lost_then_established)
{
	setup();
	struct out o;
	int sd = syn_sent(&o);
	advance(now + SEC);
	CHECK(take(&o));                /* the SYN again */
	advance(now + 5 * MS);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = o.seq + 1, .wnd = 65535,
			     .mss = 1460, .sport = 80, .dport = o.sport });
	CHECK(take(&o));
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	/* Karn: no sample; RFC 6298 5.7 RTO 3 s, RFC 5681 one-segment window */
	CHECK_EQ(tcb_of(sd)->srtt, 0);
	CHECK_EQ(tcb_of(sd)->rto, 3 * SEC);
	CHECK_EQ(tcb_of(sd)->cwnd, 1460);
	teardown();
}

TEST(passive_open_accept)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 0, now), 0);
	CHECK_EQ(nst_poll(st, l), 0);
	uint32_t a; uint16_t p;
	CHECK_EQ(nst_accept(st, l, &a, &p, now), -EAGAIN);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1000 });
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(o.sport, 80);
	CHECK_EQ(o.dport, PPORT);
	uint32_t iss = o.seq;
	/* our SYN-ACK is lost: again after 1 s */
	advance(now + SEC - 1);
	CHECK(none());
	advance(now + 1);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	/* the peer's SYN again: SYN-ACK again */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .mss = 1000 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	/* a second client while the queue (backlog 0: one allowed) is empty */
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535 });
	CHECK(none());
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	inject((struct seg){ .flags = ACK | PSH, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535,
			     .data = "GET", .len = 3 });
	/* the accept queue holds one (> backlog 0): a new SYN is dropped silently */
	inject((struct seg){ .flags = SYN, .seq = 9000, .sport = PPORT + 1, .wnd = 65535 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_listen, 1);
	int c = nst_accept(st, l, &a, &p, now);
	CHECK(c >= 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(p, PPORT);
	CHECK_EQ(nst_poll(st, l), 0);
	char b[8];
	CHECK_EQ(nst_recv(st, c, b, sizeof(b), 0, now), 3);
	CHECK(memcmp(b, "GET", 3) == 0);
	int v; unsigned vl = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, c, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
	CHECK_EQ(v, 1000);
	CHECK_EQ(nst_getsockname(st, c, &a, &p), 0);
	CHECK_EQ(a, ME);
	CHECK_EQ(p, 80);
	CHECK_EQ(st->stat.tcp_passive_open, 1);
	/* a stray ACK to the listener: RST <SEQ=SEG.ACK> */
	advance(now + TCP_DELACK_US);
	drain();
	inject((struct seg){ .flags = ACK, .seq = 1, .ack = 4242, .sport = PPORT + 2 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, 4242);
	/* closing the listener leaves the accepted connection alone */
	CHECK_EQ(nst_close(st, l, now), 0);
	CHECK_EQ(tcb_of(c)->state, TCP_ESTABLISHED);
	teardown();
}

TEST(simultaneous_open)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, sd, 0, 5555), 0);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	uint32_t iss = o.seq;
	/* the peer's own SYN crosses ours */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = 80, .dport = 5555, .mss = 1460 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.seq, iss);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_RECEIVED);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EALREADY);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = iss + 1, .wnd = 65535, .sport = 80, .dport = 5555 });
	/* its SYN-ACK: out of window for the SYN, its ACK completes us */
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = iss + 1, .wnd = 65535, .sport = 80, .dport = 5555 });
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	teardown();
}

TEST(sockopts)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	int v = 1000; unsigned l = sizeof(v);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_RCVBUF, &v, &l), 0);
	CHECK_EQ(v, 2304);
	v = 100000;
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_SNDBUF, &v, &l), 0);
	CHECK_EQ(v, 200000);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_TYPE, &v, &l), 0);
	CHECK_EQ(v, SOCK_STREAM);
	v = 0;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v), now), -EINVAL);
	v = 128;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v), now), -EINVAL);
	v = 32768;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v), now), -EINVAL);
	v = 1;
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &v, 2, now), -EINVAL);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v), now), 0);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &v, &l), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(nst_setsockopt(st, sd, SOL_SOCKET, 9999, &v, sizeof(v), now), -ENOPROTOOPT);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, 9999, &v, &l), -ENOPROTOOPT);
	/* a short buffer gets the first bytes (sk_getsockopt copies min(len, 4)) */
	l = 2;
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_ERROR, &v, &l), 0);
	CHECK_EQ(l, 2);
	l = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_MAXSEG, &v, &l), 0);
	CHECK_EQ(v, 536);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(fresh_socket);
	RUN(bind_rules);
	RUN(handshake_active);
	RUN(syn_retransmit_schedule);
	RUN(syn_lost_then_established);
	RUN(passive_open_accept);
	RUN(simultaneous_open);
	RUN(sockopts);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
