/* Unit tests of TCP resets: RST acceptance and generation, aborts that reset (exit,
 * unread data, a closed listener), and segments dropped as malformed.
 * The test is the peer (tcp_harness.h): it crafts frames, injects them and
 * takes what the stack transmits, at exact microseconds. */
#include "tests/unit/tcp_harness.h"

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
	struct out o;
	int sd = syn_sent(&o);
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

int main(void)
{
	pkt_pool_init(4096);
	RUN(rst_acceptance);
	RUN(rst_in_syn_sent);
	RUN(rst_to_closed_port);
	RUN(exit_abort_resets_unfinished);
	RUN(close_with_unread_data_resets);
	RUN(listener_close_resets_pending);
	RUN(bad_segments_dropped);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
