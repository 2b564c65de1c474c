/* Conformance tests: TCP behaviours where we were seen to differ from Linux
 * (and the RFCs) on the wire, each checked at exact times with the test as
 * the peer (tcp_harness.h). */
#include "tests/unit/tcp_harness.h"

#define NST_MSG_MORE 0x8000     /* Linux MSG_MORE */

/* a listener on port 80 with backlog; its sd */
static int listener(int backlog)
{
	int l = nst_socket(st, NST_SOCK_STREAM);
	CHECK(l >= 0);
	CHECK_EQ(nst_bind(st, l, 0, 80), 0);
	CHECK_EQ(nst_listen(st, l, backlog, now), 0);
	return l;
}

/* SYN options: MSS mss, then NOP and Window Scale ws (ws < 0: none) */
static struct seg syn_mss_ws(uint16_t sport, uint16_t mss, int ws)
{
	struct seg s = { .flags = SYN, .seq = PISS, .wnd = 32792, .sport = sport };
	unsigned n = 0;
	s.opt[n++] = 2; s.opt[n++] = 4; s.opt[n++] = (uint8_t)(mss >> 8); s.opt[n++] = (uint8_t)mss;
	if (ws >= 0) {
		s.opt[n++] = 1; s.opt[n++] = 3; s.opt[n++] = 3; s.opt[n++] = (uint8_t)ws;
	}
	s.optlen = (uint8_t)n;
	return s;
}

/* a segment from the peer (port PPORT) with NOP NOP TS tsval tsecr */
static struct seg ts_seg(uint8_t flags, uint32_t seq, uint32_t ack, uint32_t tsval,
			 uint32_t tsecr, const char *data, uint32_t len)
{
	struct seg s = { .flags = flags, .seq = seq, .ack = ack, .wnd = 20000, .data = data,
			 .len = len };
	s.opt[0] = 1; s.opt[1] = 1; s.opt[2] = 8; s.opt[3] = 10;
	uint32_t v = htonl(tsval), e = htonl(tsecr);
	memcpy(s.opt + 4, &v, 4);
	memcpy(s.opt + 8, &e, 4);
	s.optlen = 12;
	return s;
}

/* Passive open from PPORT with MSS mss (no other options); returns the
 * accepted sd, *iss our ISS. */
static inline int open_passive(int l, uint16_t mss, uint32_t *iss)
{
	struct out o;
	inject(syn_mss_ws(PPORT, mss, -1));
	if (!take(&o)) { CHECK(0); return -1; }
	CHECK_EQ(o.flags, SYN | ACK);
	*iss = o.seq;
	advance(now + 10 * MS);
	inject((struct seg){ .flags = ACK, .seq = PISS + 1, .ack = o.seq + 1, .wnd = 65535 });
	CHECK(none());
	return nst_accept(st, l, NULL, NULL, now);
}

/* A peer's segment to the accepted connection of open_passive */
static inline struct seg pseg(uint8_t flags, uint32_t seq, uint32_t ack, const char *data, uint32_t len)
{
	return (struct seg){ .flags = flags, .seq = seq, .ack = ack, .wnd = 65535, .data = data,
			     .len = len };
}

static inline int getint(int sd, int level, int name)
{
	int v = -1;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, sd, level, name, &v, &len), 0);
	return v;
}

static inline int setint(int sd, int level, int name, int v)
{
	return nst_setsockopt(st, sd, level, name, &v, sizeof(v), now);
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

int main(void)
{
	pkt_pool_init(4096);
	RUN(ts_recent_not_taken_from_ack_of_unsent_data);
	return TEST_SUMMARY();
}
