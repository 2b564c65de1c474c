/* Unit tests of TCP: the test is the peer. It crafts Ethernet+IPv4+TCP
 * frames with correct checksums, injects them into the stack's memdev and
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
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
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

TEST(rst_acceptance)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct out o;
	/* in the window but not exact: challenge ACK (RFC 5961 3.2) */
	inject(from(sd, RST, PISS + 1 + 1000, 0, NULL));
	CHECK(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, PISS + 1);
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	/* out of the window: ignored silently */
	inject(from(sd, RST, PISS + 1 + 200000, 0, NULL));
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);
	CHECK_EQ(st->stat.tcp_rst_ignored, 2);
	/* exact: reset */
	inject(from(sd, RST, PISS + 1, 0, NULL));
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->state, TCP_CLOSED);
	CHECK_EQ(st->stat.tcp_rst_rx, 1);
	uint32_t ev = nst_poll(st, sd);
	CHECK(ev & NST_POLLERR);
	CHECK(ev & NST_POLLHUP);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), -ECONNRESET);
	CHECK_EQ(nst_recv(st, sd, b, 4, 0, now), 0);
	CHECK_EQ(nst_send(st, sd, "x", 1, 0, now), -EPIPE);
	teardown();
}

TEST(rst_in_syn_sent)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	uint32_t iss = o.seq;
	/* RST whose ACK does not ack our SYN: dropped */
	inject((struct seg){ .flags = RST | ACK, .seq = 0, .ack = iss + 5, .sport = 80, .dport = o.sport });
	CHECK(none());
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_SENT);
	/* RST without ACK: dropped */
	inject((struct seg){ .flags = RST, .seq = 0, .sport = 80, .dport = o.sport });
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_SENT);
	/* a bad ACK without RST: we reset it, <SEQ=SEG.ACK><CTL=RST> */
	inject((struct seg){ .flags = ACK, .seq = 77, .ack = iss + 9, .sport = 80, .dport = o.sport });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, iss + 9);
	CHECK_EQ(tcb_of(sd)->state, TCP_SYN_SENT);
	/* acceptable RST: connection refused */
	inject((struct seg){ .flags = RST | ACK, .seq = 0, .ack = iss + 1, .sport = 80, .dport = lport_of(sd) });
	CHECK(none());
	CHECK(nst_poll(st, sd) & NST_POLLERR);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -ECONNREFUSED);
	/* a later connect starts again, like Linux */
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	teardown();
}

TEST(rst_to_closed_port)
{
	setup();
	struct out o;
	/* no ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN counts 1 */
	inject((struct seg){ .flags = SYN, .seq = 1000, .dport = 9999 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, 0);
	CHECK_EQ(o.ack, 1001);
	CHECK_EQ(o.sport, 9999);
	CHECK_EQ(o.dport, PPORT);
	/* data + FIN, no ACK: ack covers both */
	inject((struct seg){ .flags = FIN, .seq = 2000, .dport = 9999, .data = "abc", .len = 3 });
	CHECK(take(&o));
	CHECK_EQ(o.ack, 2004);
	/* ACK: <SEQ=SEG.ACK><CTL=RST> */
	inject((struct seg){ .flags = ACK | PSH, .seq = 7, .ack = 5000, .dport = 9999, .data = "xy", .len = 2 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, 5000);
	CHECK_EQ(o.ack, 0);
	/* never a RST for a RST */
	inject((struct seg){ .flags = RST, .seq = 7, .dport = 9999 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_noport, 4);
	CHECK_EQ(st->stat.tcp_rst_tx, 3);
	teardown();
}

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

/* Process exit gives up on a closed connection whose FIN is not acked: it
 * is reset, so the peer does not wait for a FIN nobody will resend. */
TEST(exit_abort_resets_unfinished)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	CHECK_EQ(nst_send(st, sd, "data", 4, 0, now), 4);
	struct out o;
	CHECK(take(&o));
	nst_close(st, sd, now);
	CHECK(take(&o));
	CHECK(o.flags & FIN);
	CHECK_EQ(nst_exit_pending(st), 5);      /* 4 bytes and the FIN */
	CHECK_EQ(nst_exit_abort(st, now), 1);
	CHECK(take(&o));
	CHECK(o.flags & RST);
	CHECK_EQ(o.seq, iss + 6);
	CHECK_EQ(nst_exit_pending(st), 0);
	CHECK(none());
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

TEST(close_with_unread_data_resets)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	inject(from(sd, ACK | PSH, PISS + 1, iss + 1, "unread"));
	CHECK_EQ(nst_close(st, sd, now), 0);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, PISS + 7);
	CHECK(!tcb_of(sd)->in_use);
	teardown();
}

TEST(orphan_fin_wait_2_timeout)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	struct out o;
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	inject(from(sd, ACK, PISS + 1, iss + 2, NULL));
	CHECK_EQ(t->state, TCP_FIN_WAIT_2);
	uint64_t end = now + TCP_FIN_TIMEOUT_US;
	advance(end - 1);
	CHECK(t->in_use);
	advance(end);
	CHECK(!t->in_use);
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
	while (take(&o))
		;
	inject((struct seg){ .flags = ACK, .seq = 1, .ack = 4242, .sport = PPORT + 2 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, 4242);
	/* closing the listener leaves the accepted connection alone */
	CHECK_EQ(nst_close(st, l, now), 0);
	CHECK_EQ(tcb_of(c)->state, TCP_ESTABLISHED);
	teardown();
}

TEST(listener_close_resets_pending)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535 });
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(nst_close(st, l, now), 0);
	CHECK(take(&o));
	CHECK_EQ(o.flags & RST, RST);
	/* the child is gone: a SYN now meets a closed port */
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535 });
	CHECK(take(&o));
	CHECK_EQ(o.flags, RST | ACK);
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
	uint32_t f = tcp_iss(st, ME, 6000, PEER, 80);
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

TEST(bad_segments_dropped)
{
	setup();
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .bad_csum = 1 });
	CHECK(none());
	CHECK_EQ(st->stat.tcp_drop_csum, 1);
	/* option length 0, 1, and past the header: the parsing stops there
	 * (Linux tcp_parse_options), the SYN is taken (then retransmitted) */
	struct seg s = { .flags = SYN, .seq = PISS, .wnd = 65535, .optlen = 4 };
	struct out o;
	memcpy(s.opt, "\x02\x00\x05\xb4", 4);
	inject(s);
	CHECK(take(&o));
	memcpy(s.opt, "\x01\x01\x08\x01", 4);
	inject(s);
	CHECK(take(&o));
	memcpy(s.opt, "\x01\x01\x08\x0a", 4);
	inject(s);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(st->stat.tcp_opt_bad, 3);
	CHECK_EQ(st->stat.tcp_drop_hdr, 0);
	/* unknown options (and a timestamp) are skipped; EOL ends the list */
	uint8_t ok[12] = { 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8 };
	memcpy(s.opt, ok, sizeof(ok));
	s.optlen = sizeof(ok);
	inject(s);
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(tcb_of(l)->syn_n, 1);
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
	while (take(&o))
		;
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

TEST(close_all_at_exit)
{
	setup();
	uint32_t iss1, iss2;
	int a = open_active(&iss1, 10 * MS, 65535);
	int b = open_active(&iss2, 10 * MS, 65535);
	inject(from(b, ACK | PSH, PISS + 1, iss2 + 1, "left"));
	struct out o;
	while (take(&o))
		;
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

TEST(syn_lost_then_established)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
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

int main(void)
{
	pkt_pool_init(4096);
	RUN(fresh_socket);
	RUN(bind_rules);
	RUN(handshake_active);
	RUN(syn_retransmit_schedule);
	RUN(syn_lost_then_established);
	RUN(rto_backoff_and_rtt);
	RUN(ack_seq_after_timeout);
	RUN(retransmission_gives_up);
	RUN(zero_window_probe);
	RUN(zero_window_probe_backoff);
	RUN(rst_acceptance);
	RUN(rst_in_syn_sent);
	RUN(rst_to_closed_port);
	RUN(ooo_reassembly);
	RUN(ooo_range_limit);
	RUN(ooo_bytes_beyond_fin_discarded);
	RUN(exit_abort_resets_unfinished);
	RUN(delayed_ack);
	RUN(fast_retransmit);
	RUN(active_close_time_wait);
	RUN(passive_close_and_orphan);
	RUN(close_with_unread_data_resets);
	RUN(orphan_fin_wait_2_timeout);
	RUN(passive_open_accept);
	RUN(listener_close_resets_pending);
	RUN(simultaneous_open);
	RUN(sequence_wraparound);
	RUN(bad_segments_dropped);
	RUN(keepalive);
	RUN(sockopts);
	RUN(send_flow_and_poll);
	RUN(receive_window_closes_and_reopens);
	RUN(shutdown_read_and_fin_piggyback);
	RUN(close_all_at_exit);
	RUN(psh_on_every_second_segment_of_a_burst);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
