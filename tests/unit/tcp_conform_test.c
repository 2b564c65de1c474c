/* Conformance tests: TCP behaviours where we were seen to differ from Linux
 * (and the RFCs) on the wire, each checked at exact times with the test as
 * the peer (tcp_harness.h). */
#include "tests/unit/tcp_harness.h"


/* SYN options: MSS mss, then NOP and Window Scale ws (ws < 0: none) */
static struct seg syn_mss_ws(uint16_t sport, uint16_t mss, int ws)
{
	struct seg s = { .flags = SYN, .seq = PISS, .wnd = 32792, .sport = sport };
	opt_mss(&s, mss);
	if (ws >= 0)
		opt_ws(&s, ws);
	return s;
}

/* a segment from the peer (port PPORT) with NOP NOP TS tsval tsecr */
static struct seg ts_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval,
			 uint32_t tsecr, const char *data, uint32_t len)
{
	struct seg s = { .flags = flags, .seq = seq, .ack = ack, .wnd = 20000, .data = data,
			 .len = len };
	opt_ts(&s, tsval, tsecr);
	return s;
}

/* Passive open from PPORT with MSS mss (no other options); returns the
 * accepted sd, *iss our ISS. */
static inline int open_passive(int l, uint16_t mss, uint32_t *iss)
{
	return accept_syn(l, syn_mss_ws(PPORT, mss, -1), 10 * MS, iss);
}

/* A peer's segment to the accepted connection of open_passive */
static inline struct seg pseg(uint8_t flags, uint32_t seq, uint32_t ack, const char *data, uint32_t len)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .data = data,
			     .len = len };
}

static char buf[65536];

/* ---- 1: TS.Recent only from acceptable segments ---- */

/* RFC 7323 4.3 / RFC 5961 5.2: a segment whose ACK acknowledges data never
 * sent is not acceptable; it must not update TS.Recent, or one forged
 * segment with a huge TSval makes PAWS drop every later valid segment. */
TEST(ts_recent_not_taken_from_ack_of_unsent_data)
{
	setup();
	int l = listener(1);
	struct out o;
	struct seg syn = syn_with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 20000 },
				       1, 1, 100, 0);
	inject(syn);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK(o.has_ts);
	CHECK_EQ(o.tsecr, 100);
	uint32_t iss = o.seq, tsv = o.tsval;
	advance(now + 100 * MS);
	inject(ts_seg(ACK, PISS + 1, iss + 1, 200, tsv, NULL, 0));
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	/* the forged segment: ACK far beyond SND.NXT, TSval 200000 */
	inject(ts_seg(ACK | FIN, PISS + 1, iss + 9999, 200000, tsv, NULL, 0));
	while (take(&o))
		CHECK_EQ(o.tsecr, 200);         /* an ACK, if any, echoes the last valid TSval */
	CHECK_EQ(tcb_of(sd)->ts_recent, 200);
	CHECK_EQ(tcb_of(sd)->state, TCP_ESTABLISHED);  /* its FIN was not taken */
	/* the next valid segment passes PAWS and is ACKed echoing its TSval */
	inject(ts_seg(ACK, PISS + 1, iss + 1, 201, tsv, buf, 1000));
	advance(now + TCP_DELACK_US);
	REQUIRE(take(&o));
	CHECK_EQ(o.ack, PISS + 1001);
	CHECK_EQ(o.tsecr, 201);
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), 1000);
	teardown();
}

/* net.ipv4.tcp_timestamps 0 (nst_set_timestamps off; packetdrill
 * nagle/https_client): our SYN offers no TSopt, and a SYN that carries one
 * is answered without it (RFC 7323 3.2: timestamps only when both SYNs
 * carried the option); segments then carry none */
TEST(timestamps_off_neither_offered_nor_accepted)
{
	setup();
	nst_set_timestamps(st, 0);
	struct out o;
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK(!o.has_ts);
	CHECK(o.sack_perm);
	int l = listener(1);
	inject(syn_with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 20000 }, 1, 1, 100, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK(!o.has_ts);
	uint32_t iss = o.seq;
	advance(now + 10 * MS);
	inject(ts_seg(ACK, PISS + 1, iss + 1, 200, 0, NULL, 0));
	int c = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(c >= 0);
	CHECK(!tcb_of(c)->ts_ok);
	CHECK_EQ(nst_send(st, c, buf, 100, 0, now), 100);
	REQUIRE(take(&o));
	CHECK_EQ(o.len, 100);
	CHECK(!o.has_ts);
	/* on again: the next SYN offers them */
	nst_set_timestamps(st, 1);
	int sd2 = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd2, PEER, 81, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK(o.has_ts);
	teardown();
}

/* ---- 3: TCP_MAXSEG before the handshake ---- */

/* tcp(7) / Linux: TCP_MAXSEG set before connect caps the MSS our SYN
 * announces; getsockopt returns it before the connection; the send MSS is
 * min(user, peer's). */
TEST(maxseg_before_connect_announced)
{
	setup();
	struct out o;
	int sd = nst_socket(st, NST_SOCK_STREAM);
	REQUIRE(sd >= 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), TCP_MSS_DEF);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_MAXSEG, 1100), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1100);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), -EINPROGRESS);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK_EQ(o.mss, 1100);
	advance(now + 10 * MS);
	inject((struct seg){ .flags = SYN | ACK, .seq = PISS, .ack = o.seq + 1, .wnd = 65535,
			     .mss = 1460, .sport = 80, .dport = o.sport });
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, now), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1100);
	struct nst_tcp_info ti;
	CHECK_EQ(nst_tcp_info(st, sd, &ti), 0);
	CHECK_EQ(ti.snd_mss, 1100);
	CHECK_EQ(ti.advmss, 1100);
	/* the initial window is ten segments of 1100 */
	CHECK_EQ(nst_send(st, sd, buf, 12000, 0, now), 12000);
	uint32_t sent = 0;
	while (take(&o)) {
		CHECK(o.len <= 1100);
		sent += o.len;
	}
	CHECK_EQ(sent, 11000);
	teardown();
}

/* On a listener, TCP_MAXSEG caps the MSS of its children's SYN-ACKs. */
TEST(maxseg_on_listener_announced)
{
	setup();
	struct out o;
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, 1, now), 0);
	CHECK_EQ(set_int(l, IPPROTO_TCP, TCP_MAXSEG, 1100), 0);
	CHECK_EQ(get_int(l, IPPROTO_TCP, TCP_MAXSEG), 1100);
	inject(syn_mss_ws(PPORT, 1300, 7));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.mss, 1100);
	advance(now + 100 * MS);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 257 });
	advance(now + 100 * MS);
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1100);
	struct nst_tcp_info ti;
	CHECK_EQ(nst_tcp_info(st, sd, &ti), 0);
	CHECK_EQ(ti.snd_mss, 1100);
	CHECK_EQ(ti.advmss, 1100);
	teardown();
}

/* ---- 2: backlog 1, accept after the handshake ---- */

/* listen(fd, 1): the connection completed 100 ms before accept() is
 * there to take, with the negotiated MSS min(peer's 1100, ours). */
TEST(backlog_one_accept_later)
{
	setup();
	int l = listener(1);
	struct out o;
	advance(now + 100 * MS);
	inject(syn_mss_ws(PPORT, 1100, 8));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(o.mss, 1460);
	CHECK_EQ(st->stat.syncookies_sent, 0);
	advance(now + 100 * MS);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 257 });
	CHECK(none());
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	advance(now + 100 * MS);
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1100);
	teardown();
}

/* packetdrill's mss-getsockopt-tcp_maxseg-server: the peer resets the
 * connection while it waits in the accept queue. Linux keeps it there,
 * closed: accept() returns it, TCP_MAXSEG is still the negotiated MSS and
 * the first read reports the reset. */
TEST(reset_child_still_accepted)
{
	setup();
	int l = listener(1);
	struct out o;
	advance(now + 100 * MS);
	inject(syn_mss_ws(PPORT, 1100, 8));
	REQUIRE(take(&o));
	advance(now + 100 * MS);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 257 });
	inject((struct seg){ .flags = RST | ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 257 });
	CHECK(none());
	advance(now + 100 * MS);
	CHECK_EQ(nst_poll(st, l), NST_POLLIN);
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	CHECK_EQ(nst_poll(st, l), 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1100);
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), -ECONNRESET);
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(none());
	teardown();
}

/* A child reset in the accept queue gets no second RST when the listener
 * closes. */
TEST(reset_child_freed_with_listener)
{
	setup();
	int l = listener(1);
	struct out o;
	inject(syn_mss_ws(PPORT, 1100, 8));
	REQUIRE(take(&o));
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 257 });
	inject((struct seg){ .flags = RST, .seq = PISS + 1 });
	CHECK_EQ(nst_close(st, l, now), 0);
	CHECK(none());
	teardown();
}

/* packetdrill's user_timeout: data for a closed (orphaned) connection in
 * FIN-WAIT-1 ends it with a RST in answer to that segment, as Linux's
 * TCPAbortOnData: <SEQ=SEG.ACK><CTL=RST>, no ACK bit; then it is gone. */
TEST(data_after_close_rst_answers_segment)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	advance(now + 2000 * MS);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000), 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	struct out o;
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);
	CHECK_EQ(o.seq, iss + 1);
	uint64_t d = stack_next_deadline(st);
	REQUIRE(d > now);
	advance(d);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, FIN | ACK);   /* retransmitted: still FIN-WAIT-1 */
	inject(pseg(ACK, PISS + 1, iss + 1, "x", 1));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, RST);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.ack, 0);
	CHECK_EQ(st->stat.tcp_abort_on_data, 1);
	inject(pseg(ACK, PISS + 2, iss + 1, "y", 1));
	REQUIRE(take(&o));              /* no connection: the closed-port answer */
	CHECK_EQ(o.flags, RST);
	CHECK(none());
	teardown();
}

/* listen(fd, 0) still takes one connection (Linux: the accept queue is
 * full when it holds more than the backlog). */
TEST(backlog_zero_takes_one)
{
	setup();
	int l = listener(0);
	uint32_t iss;
	int sd = open_passive(l, 1460, &iss);
	CHECK(sd >= 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1460);
	teardown();
}

/* ---- 7: the ACK of the peer's FIN goes at once, in every state ---- */

TEST(fin_acked_at_once_in_established)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	struct out o;
	advance(now + 10 * MS);
	inject(pseg(ACK | FIN, PISS + 1, iss + 1, NULL, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 2);
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), 0);
	advance(now + 10 * MS);
	CHECK_EQ(nst_close(st, sd, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | FIN);
	teardown();
}

/* data and FIN together: the ACK is not delayed either */
TEST(data_fin_acked_at_once)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	struct out o;
	inject(pseg(ACK | PSH | FIN, PISS + 1, iss + 1, "abc", 3));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 5);
	teardown();
}

TEST(fin_acked_at_once_in_fin_wait_2)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	struct out o;
	CHECK_EQ(nst_send(st, sd, buf, 1000, 0, now), 1000);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	inject(pseg(ACK, PISS + 1, iss + 1001, NULL, 0));
	CHECK_EQ(nst_close(st, sd, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | FIN);
	CHECK_EQ(o.seq, iss + 1001);
	inject(pseg(ACK, PISS + 1, iss + 1002, NULL, 0));
	CHECK(none());
	inject(pseg(ACK | FIN, PISS + 1, iss + 1002, NULL, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, iss + 1002);
	CHECK_EQ(o.ack, PISS + 2);
	teardown();
}

/* FIN-WAIT-1 (our FIN not acknowledged yet): CLOSING, ACK at once */
TEST(fin_acked_at_once_in_fin_wait_1)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	struct out o;
	CHECK_EQ(nst_shutdown(st, sd, NST_SHUT_WR, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | FIN);
	inject(pseg(ACK | FIN, PISS + 1, iss + 1, NULL, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.ack, PISS + 2);
	CHECK_EQ(tcb_of(sd)->state, TCP_CLOSING);
	teardown();
}

/* ---- 4: uncorking and TCP_NODELAY push at once ---- */

TEST(uncork_and_nodelay_push_at_once)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	struct out o;
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CORK, 1), 0);
	CHECK_EQ(nst_send(st, sd, buf, 40, 0, now), 40);
	advance(now + 50 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 40, 0, now), 40);
	CHECK(none());
	advance(now + 10 * MS);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CORK, 0), 0);
	CHECK_EQ(st->tx_pending, 0);            /* on the wire, not queued for later */
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 80);
	advance(now + 10 * MS);
	inject(pseg(ACK, PISS + 1, iss + 81, NULL, 0));
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CORK, 1), 0);
	CHECK_EQ(nst_send(st, sd, buf, 40, 0, now), 40);
	advance(now + 50 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 40, 0, now), 40);
	CHECK(none());
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	CHECK_EQ(st->tx_pending, 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.seq, iss + 81);
	CHECK_EQ(o.len, 80);
	teardown();
}

/* ---- 6: PSH on the segment that empties the send queue (and on every second
 *      full segment of a pass), never on a bare FIN ---- */

TEST(psh_on_last_segment_of_every_write)
{
	for (int tso = 0; tso < 2; tso++)
		for (uint32_t size = 1; size <= 10001; size += size < 3000 ? 997 : 1000) {
			setup();
			if (tso)
				memdev_set_offload(dev, NETDEV_F_TSO | NETDEV_F_TX_CSUM, 0);
			int l = listener(1);
			uint32_t iss;
			int sd = open_passive(l, 1000, &iss);
			REQUIRE(sd >= 0);
			struct out o;
			CHECK_EQ(nst_send(st, sd, buf, size, 0, now), size);
			uint32_t got = 0;
			for (int round = 0; round < 5 && got < size; round++) {
				/* besides the last, PSH on every second full
				 * segment a pass sends (tcp_output); a TSO frame
				 * counts its segments and has it when its last is
				 * such a one */
				uint32_t segs = 0;
				while (take(&o)) {
					got += o.len;
					segs += o.len / 1000;
					if (got == size && !(o.flags & PSH))
						fprintf(stderr, "  size %u tso %d: no PSH on the last\n", size, tso);
					CHECK_EQ(!!(o.flags & PSH), got == size || (o.len >= 1000 && segs % 2 == 0));
				}
				advance(now + 10 * MS);
				inject(pseg(ACK, PISS + 1, iss + 1 + got, NULL, 0));
			}
			CHECK_EQ(got, size);
			/* the FIN after it all: F. alone */
			CHECK_EQ(nst_close(st, sd, now), 0);
			REQUIRE(take(&o));
			CHECK_EQ(o.flags, ACK | FIN);
			/* its retransmission (RTO, then TLP-free) carries no PSH either */
			advance(now + 3 * SEC);
			while (take(&o))
				CHECK_EQ(o.flags, ACK | FIN);
			teardown();
		}
}

/* PSH per transmission unit (tcp_output): at 100 ms RTT the pacing rate
 * sends under two segments a millisecond, so units of two (the minimum),
 * PSH on the last of each; net.ipv4.tcp_min_tso_segs 10 makes them half of
 * cwnd (5 of the initial 10), as Linux's tcp_cwnd_test */
TEST(psh_ends_each_transmission_unit)
{
	for (int min10 = 0; min10 < 2; min10++) {
		setup();
		uint32_t iss;
		int sd = open_active(&iss, 100 * MS, 65535);
		if (min10)
			nst_set_min_tso_segs(st, 10);
		int one = 1;
		nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now);
		CHECK_EQ(nst_send(st, sd, buf, 10 * 1460, 0, now), 10 * 1460);
		struct out o;
		uint32_t unit = min10 ? 5 : 2;
		for (uint32_t i = 1; i <= 10; i++) {
			REQUIRE(take(&o));
			CHECK_EQ(o.seq, iss + 1 + 1460 * (i - 1));
			CHECK_EQ(o.len, 1460);
			CHECK_EQ(o.flags, i % unit == 0 ? ACK | PSH : ACK);
		}
		CHECK(none());
		teardown();
	}
}

/* Units keep the size of the send that queued them (Linux sizes skbs when
 * written): one write of 26 segments at cwnd 10 and a 10 ms RTT is cut in
 * units of two; when ACKs have grown cwnd to 16 the pacing rate would allow
 * three, yet the four segments cwnd then lets out are still two units of
 * two, PSH on the last of each (packetdrill notsent-lowat-setsockopt) */
TEST(units_keep_the_size_of_their_send)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	CHECK_EQ(nst_send(st, sd, buf, 26 * 1460, 0, now), 26 * 1460);
	struct out o;
	uint32_t i = 0;
	while (take(&o)) {
		i++;
		CHECK_EQ(o.flags, i % 2 == 0 ? ACK | PSH : ACK);
	}
	CHECK_EQ(i, 10);
	for (uint32_t acked = 2; acked <= 6; acked += 2) {
		advance(now + 10 * MS);
		inject(from(sd, ACK, PISS + 1, iss + 1 + acked * 1460, NULL));
		for (int k = 0; k < 4; k++) {
			REQUIRE(take(&o));
			i++;
			CHECK_EQ(o.seq, iss + 1 + (i - 1) * 1460);
			CHECK_EQ(o.flags, i % 2 == 0 ? ACK | PSH : ACK);
		}
		CHECK(none());
	}
	CHECK_EQ(tcb_of(sd)->cwnd, 16 * 1460);
	teardown();
}

/* PSH on retransmissions (tcp_xmit): what a pass resends back to back is cut
 * at the ends of the first transmission's units, and the last segment of a
 * piece of two or more carries PSH; a segment resent alone carries none, even
 * where its unit ended with PSH (Linux resends skb by skb: after a timeout
 * cwnd 1 sends the front of the first unit, cwnd 2 its back and the front of
 * the next, each alone; later cwnd 4 sends two whole units) */
TEST(psh_on_retransmission_only_for_a_whole_unit)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 65535);
	int one = 1;
	nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now);
	CHECK_EQ(nst_send(st, sd, buf, 10 * 1460, 0, now), 10 * 1460);
	struct out o;
	for (uint32_t i = 1; i <= 10; i++) {
		REQUIRE(take(&o));
		CHECK_EQ(o.flags, i % 2 == 0 ? ACK | PSH : ACK);
	}
	/* all lost: the timeout resends segment 1 alone */
	advance(now + tcb_of(sd)->rto + MS);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.flags, ACK);
	CHECK(none());
	/* its ACK: cwnd 2 resends segments 2 (its unit's end) and 3, no PSH:
	 * segment 2 is a piece of one */
	advance(now + 100 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 1 + 1460, NULL));
	uint32_t seq = iss + 1 + 1460;
	for (int i = 0; i < 2; i++) {
		REQUIRE(take(&o));
		CHECK_EQ(o.seq, seq);
		CHECK_EQ(o.flags, ACK);
		seq += o.len;
	}
	CHECK(none());
	/* their ACK: cwnd 4 resends 4 (alone: the end of the unit 3 began),
	 * then the whole unit 5-6 (PSH on 6) and 7 */
	advance(now + 100 * MS);
	inject(from(sd, ACK, PISS + 1, seq, NULL));
	uint8_t want[] = { ACK, ACK, ACK | PSH, ACK };
	for (int i = 0; i < 4; i++) {
		REQUIRE(take(&o));
		CHECK_EQ(o.seq, seq);
		if (o.flags != want[i])
			fprintf(stderr, "  resent segment %u: flags %#x\n", (o.seq - iss - 1) / 1460 + 1, o.flags);
		CHECK_EQ(o.flags, want[i]);
		seq += o.len;
	}
	CHECK(none());
	teardown();
}

/* ...but where pushed data ended (one send's bytes, a record) a segment
 * resent alone keeps PSH, as Linux's skb marked by tcp_mark_push */
TEST(psh_on_retransmission_where_a_send_ended)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 65535);
	int one = 1;
	nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now);
	struct out o;
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(nst_send(st, sd, buf, 1460, 0, now), 1460);
		REQUIRE(take(&o));
		CHECK_EQ(o.flags, ACK | PSH);
	}
	advance(now + tcb_of(sd)->rto + MS);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.flags, ACK | PSH);
	teardown();
}

/* A stretch ACK of the whole initial window doubles cwnd (Linux's slow start
 * counts every segment acked), and the units that follow are cut from the
 * grown cwnd: with net.ipv4.tcp_min_tso_segs 10, units of 5 (half of 10),
 * then of 10 (half of 20), PSH on the last of each and on the end of data */
TEST(units_after_a_stretch_ack_use_the_grown_cwnd)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 65535);
	nst_set_min_tso_segs(st, 10);
	CHECK_EQ(nst_send(st, sd, buf, 26 * 1460, 0, now), 26 * 1460);
	struct out o;
	for (uint32_t i = 1; i <= 10; i++) {
		REQUIRE(take(&o));
		CHECK_EQ(o.flags, i % 5 == 0 ? ACK | PSH : ACK);
	}
	CHECK(none());
	advance(now + 100 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 1 + 10 * 1460, NULL));
	CHECK_EQ(tcb_of(sd)->cwnd, 20 * 1460);
	for (uint32_t i = 11; i <= 26; i++) {
		REQUIRE(take(&o));
		CHECK_EQ(o.seq, iss + 1 + (i - 1) * 1460);
		CHECK_EQ(o.flags, i == 20 || i == 26 ? ACK | PSH : ACK);
	}
	CHECK(none());
	teardown();
}

/* Slow start after idle (net.ipv4.tcp_slow_start_after_idle): a send after
 * more than an RTO of idleness restarts cwnd at the initial window, and its
 * units are cut from it (5 of 10 with tcp_min_tso_segs 10); off, cwnd stays */
TEST(slow_start_after_idle_restarts_cwnd)
{
	for (int on = 0; on < 2; on++) {
		setup();
		uint32_t iss;
		int sd = open_active(&iss, 100 * MS, 65535);
		nst_set_min_tso_segs(st, 10);
		nst_set_slow_start_after_idle(st, on);
		CHECK_EQ(nst_send(st, sd, buf, 10 * 1460, 0, now), 10 * 1460);
		struct out o;
		drain();
		advance(now + 100 * MS);
		inject(from(sd, ACK, PISS + 1, iss + 1 + 10 * 1460, NULL));
		CHECK_EQ(tcb_of(sd)->cwnd, 20 * 1460);
		advance(now + 2 * SEC);
		CHECK_EQ(nst_send(st, sd, buf, 20 * 1460, 0, now), 20 * 1460);
		CHECK_EQ(tcb_of(sd)->cwnd, (on ? 10 : 20) * 1460);
		CHECK(tcb_of(sd)->ssthresh >= 15 * 1460);
		uint32_t n = 0;
		while (take(&o)) {
			n++;
			CHECK_EQ(o.flags, n % (on ? 5 : 10) == 0 ? ACK | PSH : ACK);
		}
		CHECK_EQ(n, on ? 10 : 20);
		teardown();
	}
}

/* MSG_EOR: the record ends a segment, with PSH; later data starts anew */
TEST(eor_ends_a_segment)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 100 * MS, 65535);
	int one = 1;
	nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now);
	CHECK_EQ(nst_send(st, sd, buf, 1500, NST_MSG_EOR, now), 1500);
	CHECK_EQ(nst_send(st, sd, buf, 1000, 0, now), 1000);
	struct out o;
	REQUIRE(take(&o));
	CHECK_EQ(o.len, 1460);
	CHECK_EQ(o.flags, ACK);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 1460);
	CHECK_EQ(o.len, 40);
	CHECK_EQ(o.flags, ACK | PSH);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, iss + 1 + 1500);
	CHECK_EQ(o.len, 1000);
	CHECK_EQ(o.flags, ACK | PSH);
	/* the RTO resends from snd.una and stops at the record end again */
	advance(now + 2 * SEC);
	REQUIRE(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 1460);
	teardown();
}

/* a bare FIN retransmitted by a tail loss probe or SACK recovery: no PSH */
TEST(bare_fin_probe_without_psh)
{
	setup();
	uint32_t iss;
	int sd = open_sack(&iss, 1);
	struct out o;
	CHECK_EQ(nst_send(st, sd, buf, 1000, 0, now), 1000);
	REQUIRE(take(&o));
	advance(now + 10 * MS);
	inject(from(sd, ACK, PISS + 1, iss + 1001, NULL));
	CHECK_EQ(nst_close(st, sd, now), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | FIN);
	/* nothing comes back: the probe (TLP), then the RTO resend the FIN alone */
	for (int i = 0; i < 4; i++) {
		advance(now + 500 * MS);
		while (take(&o)) {
			CHECK_EQ(o.flags, ACK | FIN);
			CHECK_EQ(o.len, 0);
		}
	}
	teardown();
}

/* ---- 5: MSG_MORE ---- */

/* As Linux: MSG_MORE holds a partial segment like a cork for that call
 * (full segments still go), a send without it pushes everything with PSH;
 * an arriving ACK lets what is held go by the usual rules, without PSH;
 * the cork ceiling bounds the wait. */
TEST(msg_more_holds_partial_segments)
{
	setup();
	int l = listener(1);
	uint32_t iss;
	int sd = open_passive(l, 1000, &iss);
	REQUIRE(sd >= 0);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	struct out o;
	uint64_t t0 = now;
	/* held even with TCP_NODELAY, until the ceiling, then pushed */
	CHECK_EQ(nst_send(st, sd, buf, 40, NST_MSG_MORE, now), 40);
	CHECK(none());
	advance(t0 + TCP_CORK_US - 1);
	CHECK(none());
	advance(t0 + TCP_CORK_US);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.len, 40);
	advance(now + 10 * MS);
	inject(pseg(ACK, PISS + 1, iss + 41, NULL, 0));
	/* several MSG_MORE sends, then one without: one segment, PSH */
	CHECK_EQ(nst_send(st, sd, buf, 100, NST_MSG_MORE, now), 100);
	advance(now + 5 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 160, NST_MSG_MORE, now), 160);
	advance(now + 10 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 495, NST_MSG_MORE, now), 495);
	CHECK(none());
	advance(now + 8 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 5, 0, now), 5);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.seq, iss + 41);
	CHECK_EQ(o.len, 760);
	CHECK(none());
	advance(now + 20 * MS);
	inject(pseg(ACK, PISS + 1, iss + 801, NULL, 0));
	/* more than an MSS: the full segments go (no PSH), the tail waits */
	advance(now + 100 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 3100, NST_MSG_MORE, now), 3100);
	uint32_t got = 0;
	while (take(&o)) {
		CHECK_EQ(o.flags, ACK);
		CHECK_EQ(o.len, 1000);
		got += o.len;
	}
	CHECK_EQ(got, 3000);
	advance(now + 3 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 50, NST_MSG_MORE, now), 50);
	CHECK(none());
	/* an ACK: what is held goes by the usual rules (TCP_NODELAY here), no PSH */
	advance(now + 10 * MS);
	inject(pseg(ACK, PISS + 1, iss + 2801, NULL, 0));
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.seq, iss + 3801);
	CHECK_EQ(o.len, 150);
	CHECK(none());
	/* MSG_MORE, then a plain send: joined, PSH */
	inject(pseg(ACK, PISS + 1, iss + 3951, NULL, 0));
	CHECK_EQ(nst_send(st, sd, buf, 20, NST_MSG_MORE, now), 20);
	advance(now + 50 * MS);
	CHECK(none());
	CHECK_EQ(nst_send(st, sd, buf, 20, 0, now), 20);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK | PSH);
	CHECK_EQ(o.seq, iss + 3951);
	CHECK_EQ(o.len, 40);
	/* MSG_MORE data pushed by TCP_NODELAY: sent, without PSH */
	advance(now + 10 * MS);
	inject(pseg(ACK, PISS + 1, iss + 3991, NULL, 0));
	CHECK_EQ(nst_send(st, sd, buf, 40, NST_MSG_MORE, now), 40);
	advance(now + 50 * MS);
	CHECK_EQ(nst_send(st, sd, buf, 40, NST_MSG_MORE, now), 40);
	CHECK(none());
	advance(now + 10 * MS);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, ACK);
	CHECK_EQ(o.len, 80);
	teardown();
}

/* A connection made from a SYN cookie takes its MSS from the cookie's
 * table (the peer's 1460 survives; with timestamps the payload is 12 less),
 * not the 536 of a peer that sent none. */
TEST(syncookie_connection_keeps_table_mss)
{
	setup();
	int l = listener(0);
	struct out o;
	/* one half-open child fills the SYN queue of backlog 0 */
	inject(syn_mss_ws(PPORT + 1, 1460, -1));
	REQUIRE(take(&o));
	CHECK_EQ(st->stat.syncookies_sent, 0);
	struct seg syn = syn_with_opts((struct seg){ .flags = SYN, .seq = PISS, .wnd = 20000 },
				       1, 1, 100, 0);
	inject(syn);
	REQUIRE(take(&o));
	CHECK_EQ(o.flags, SYN | ACK);
	CHECK_EQ(st->stat.syncookies_sent, 1);
	advance(now + 10 * MS);
	inject(ts_seg(ACK, PISS + 1, o.seq + 1, 110, o.tsval, NULL, 0));
	CHECK_EQ(st->stat.syncookies_recv_ok, 1);
	int sd = nst_accept(st, l, NULL, NULL, now);
	REQUIRE(sd >= 0);
	CHECK_EQ(get_int(sd, IPPROTO_TCP, TCP_MAXSEG), 1460 - 12);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(ts_recent_not_taken_from_ack_of_unsent_data);
	RUN(timestamps_off_neither_offered_nor_accepted);
	RUN(psh_ends_each_transmission_unit);
	RUN(units_keep_the_size_of_their_send);
	RUN(psh_on_retransmission_only_for_a_whole_unit);
	RUN(psh_on_retransmission_where_a_send_ended);
	RUN(units_after_a_stretch_ack_use_the_grown_cwnd);
	RUN(slow_start_after_idle_restarts_cwnd);
	RUN(eor_ends_a_segment);
	RUN(maxseg_before_connect_announced);
	RUN(maxseg_on_listener_announced);
	RUN(backlog_one_accept_later);
	RUN(reset_child_still_accepted);
	RUN(reset_child_freed_with_listener);
	RUN(data_after_close_rst_answers_segment);
	RUN(backlog_zero_takes_one);
	RUN(syncookie_connection_keeps_table_mss);
	RUN(fin_acked_at_once_in_established);
	RUN(data_fin_acked_at_once);
	RUN(fin_acked_at_once_in_fin_wait_2);
	RUN(fin_acked_at_once_in_fin_wait_1);
	RUN(uncork_and_nodelay_push_at_once);
	RUN(psh_on_last_segment_of_every_write);
	RUN(bare_fin_probe_without_psh);
	RUN(msg_more_holds_partial_segments);
	return TEST_SUMMARY();
}
