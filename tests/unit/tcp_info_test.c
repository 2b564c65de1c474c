/* Unit tests of TCP_INFO (nst_tcp_info) and the TCP options sockopt.c answers:
 * values in our units at exact times, counters after a retransmission, and
 * Linux's values and errnos for TCP_CORK, TCP_QUICKACK, TCP_USER_TIMEOUT,
 * TCP_CONGESTION and SO_RCVLOWAT. The test is the peer (tcp_harness.h). */
#include <limits.h>
#include "tests/unit/tcp_harness.h"


TEST(info_established_counts)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	struct nst_tcp_info ti;
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.state, TCP_ESTABLISHED);
	CHECK_EQ(ti.ca_state, NST_CA_OPEN);
	CHECK_EQ(ti.rtt_us, 10 * MS);           /* RFC 6298 2.2: SRTT <- R */
	CHECK_EQ(ti.rttvar_us, 5 * MS);         /* RTTVAR <- R/2 */
	CHECK_EQ(ti.snd_mss, 1460);
	CHECK_EQ(ti.snd_ssthresh, 0xffffffffu);
	CHECK_EQ(ti.bytes_acked, 1);            /* our SYN, as Linux counts it */
	CHECK_EQ(ti.bytes_received, 0);
	CHECK_EQ(ti.total_retrans, 0);
	CHECK_EQ(ti.segs_out, 2);               /* SYN, ACK */
	CHECK_EQ(ti.segs_in, 1);                /* SYN-ACK */

	/* 5 bytes out, unacked, then lost: one RTO retransmits them */
	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	struct out o;
	CHECK(take(&o));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.unacked_segs, 1);
	CHECK_EQ(ti.outq, 5);
	CHECK_EQ(ti.notsent_bytes, 0);
	CHECK_EQ(ti.bytes_sent, 5);
	advance(now + 2 * SEC);
	CHECK(take(&o));
	CHECK_EQ(o.seq, iss + 1);
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.total_retrans, 1);
	CHECK_EQ(ti.retransmits, 1);
	CHECK_EQ(ti.ca_state, NST_CA_LOSS);
	/* the peer acks and sends 3 bytes */
	inject(from(sd, ACK | PSH, PISS + 1, iss + 6, "abc"));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.bytes_acked, 6);
	CHECK_EQ(ti.bytes_received, 3);
	CHECK_EQ(ti.outq, 0);
	CHECK_EQ(ti.retransmits, 0);
	CHECK_EQ(nst_tcp_info(st, 999, &ti), -EBADF);
	nst_close(st, sd, now);
	drain();
	teardown();
}

/* tcpi_ca_state Disorder (Linux's TCP_CA_Disorder): a SACK, or a duplicate
 * ACK without SACK, below the recovery threshold; cwnd is not moderated;
 * back to Open once the cumulative ACK covers everything. */
TEST(info_ca_state_disorder)
{
	static char buf[4 * 1460];
	memset(buf, 'd', sizeof(buf));
	for (int sack = 0; sack < 2; sack++) {
		setup();
		uint32_t iss;
		int sd = open_sack(&iss, sack);
		uint32_t s = iss + 1;
		CHECK_EQ(nst_send(st, sd, buf, sizeof(buf), 0, now), (long)sizeof(buf));
		drain();
		advance(now + 10 * MS);
		struct nst_tcp_info ti;
		uint32_t cwnd0 = tcb_of(sd)->cwnd;
		if (sack) {
			uint32_t blk[2] = { s + 1460, s + 2 * 1460 };
			sack_in(sd, s, 1, blk);
		} else {
			inject(from(sd, ACK, PISS + 1, s, NULL));
		}
		REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
		CHECK_EQ(ti.ca_state, NST_CA_DISORDER);
		CHECK_EQ(tcb_of(sd)->cwnd, cwnd0);
		inject(from(sd, ACK, PISS + 1, s + sizeof(buf), NULL));
		REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
		CHECK_EQ(ti.ca_state, NST_CA_OPEN);
		nst_close(st, sd, now);
		drain();
		teardown();
	}
}

static int getint(int sd, int level, int name, int *v)
{
	unsigned len = sizeof(*v);
	int r = nst_getsockopt(st, sd, level, name, v, &len);
	if (r == 0 && len != sizeof(*v))
		return -1000;
	return r;
}

TEST(options_as_linux)
{
	setup();
	int sd = nst_socket(st, NST_SOCK_STREAM);
	int v = -1;
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_CORK, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CORK, 5), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_CORK, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_QUICKACK, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_QUICKACK, 0), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_QUICKACK, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -EINVAL);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, 3000), 0);
	CHECK_EQ(getint(sd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v), 0);
	CHECK_EQ(v, 3000);
	CHECK_EQ(getint(sd, SOL_SOCKET, SO_RCVLOWAT, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(set_int(sd, SOL_SOCKET, SO_RCVLOWAT, -5), 0);
	CHECK_EQ(getint(sd, SOL_SOCKET, SO_RCVLOWAT, &v), 0);
	CHECK_EQ(v, INT_MAX);
	CHECK_EQ(set_int(sd, IPPROTO_TCP, TCP_CORK, 1) , 0);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CORK, &v, 2, now), -EINVAL);
	/* TCP_CONGESTION: "reno" and "cubic" (tcp_cc_test.c has more) */
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4, now), 0);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5, now), -ENOENT);
	CHECK_EQ(nst_setsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, "reno", 0, now), -EINVAL);
	char name[32];
	unsigned len = sizeof(name);
	memset(name, 'x', sizeof(name));
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	CHECK_EQ(len, 16);
	CHECK(!strcmp(name, "reno"));
	len = 2;
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	CHECK_EQ(len, 2);
	/* unknown options: the kernel's errno, never a silent success */
	CHECK_EQ(set_int(sd, IPPROTO_TCP, 9999, 1), -ENOPROTOOPT);
	CHECK_EQ(getint(sd, IPPROTO_TCP, 9999, &v), -ENOPROTOOPT);
	CHECK_EQ(set_int(sd, SOL_SOCKET, 9999, 1), -ENOPROTOOPT);
	CHECK(none());          /* options alone put nothing on the wire */
	nst_close(st, sd, now);
	teardown();
}

/* tcpi_last_data_recv (packetdrill tcp-info-last_data_recv): the stack
 * time data last came, from the end of the handshake until the first data
 * (Linux lrcvtime); ACKs without data leave it. TCP_CC_INFO: zero bytes
 * (reno and cubic have no get_info); SO_MEMINFO: Linux's 9 u32s. */
TEST(info_last_data_recv_and_cc_meminfo)
{
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 10 * MS, 65535);
	uint64_t est = now;
	struct nst_tcp_info ti;
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.last_data_recv_us, est);
	advance(now + 1 * SEC);
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.last_data_recv_us, est);
	advance(now + 5 * MS);
	inject(from(sd, ACK | PSH, PISS + 1, iss + 1, "abc"));
	REQUIRE(nst_tcp_info(st, sd, &ti) == 0);
	CHECK_EQ(ti.last_data_recv_us, now);
	unsigned char cc[64];
	unsigned len = sizeof(cc);
	CHECK_EQ(nst_getsockopt(st, sd, IPPROTO_TCP, TCP_CC_INFO, cc, &len), 0);
	CHECK_EQ(len, 0);
	uint32_t mi[10] = { 0 };
	len = sizeof(mi);
	CHECK_EQ(nst_getsockopt(st, sd, SOL_SOCKET, SO_MEMINFO, mi, &len), 0);
	CHECK_EQ(len, 9 * sizeof(uint32_t));
	CHECK_EQ(mi[0], 3);                     /* SK_MEMINFO_RMEM_ALLOC: unread */
	nst_close(st, sd, now);
	drain();
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(info_established_counts);
	RUN(info_ca_state_disorder);
	RUN(options_as_linux);
	RUN(info_last_data_recv_and_cc_meminfo);
	return TEST_SUMMARY();
}
