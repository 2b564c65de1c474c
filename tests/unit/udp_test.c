/* UDP sockets (RFC 768, RFC 1122 4.1) with Linux's semantics: bind rules,
 * one datagram per call, MSG_PEEK/MSG_TRUNC, FIONREAD, zero-length
 * datagrams, checksums, the SO_RCVBUF bound, broadcast permission,
 * connect/disconnect. The test is the peer. */
#include "tests/unit/l3_harness.h"

/* A datagram from PEER:sport to ME:dport; csum_mode 0: none, 1: right, 2: wrong. */
static void inject(uint16_t sport, uint16_t dport, const void *data, size_t len, int csum_mode)
{
	uint8_t b[2048];
	inject_l4(PEER, ME, IP_PROTO_UDP, b, udp_build(b, sport, dport, data, len, csum_mode), 2000);
}

TEST(bind_rules)
{
	setup();
	int a = nst_socket(st, NST_SOCK_DGRAM), b = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_bind(st, a, 0, 5000), 0);
	CHECK_EQ(nst_bind(st, a, 0, 5001), -EINVAL);            /* bound already */
	CHECK_EQ(nst_bind(st, b, ME, 5000), -EADDRINUSE);
	CHECK_EQ(nst_bind(st, b, 0x0a000001, 5002), -EADDRNOTAVAIL);
	int one = 1;
	CHECK_EQ(nst_setsockopt(st, a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), 0), 0);
	CHECK_EQ(nst_setsockopt(st, b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), 0), 0);
	CHECK_EQ(nst_bind(st, b, 0, 5000), 0);                  /* both SO_REUSEADDR */
	int c = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_bind(st, c, 0, 0), 0);                     /* port 0: ephemeral */
	uint32_t addr;
	uint16_t port;
	CHECK_EQ(nst_getsockname(st, c, &addr, &port), 0);
	CHECK(port >= 32768 && port <= 60999);
	CHECK_EQ(nst_getpeername(st, c, &addr, &port), -ENOTCONN);
	CHECK_EQ(nst_listen(st, c, 1, 0), -EOPNOTSUPP);
	CHECK_EQ(nst_sock_type(st, c), NST_SOCK_DGRAM);
	teardown();
}

TEST(datagram_semantics)
{
	setup();
	int s = nst_socket(st, NST_SOCK_DGRAM);
	nst_bind(st, s, 0, 6000);
	inject(4000, 6000, "hello world", 11, 1);
	inject(4001, 6000, "", 0, 0);                           /* zero length, zero checksum */
	inject(4002, 6000, "bad", 3, 2);                        /* wrong checksum: dropped */
	CHECK_EQ(st->stat.udp_drop_csum, 1);
	CHECK_EQ(nst_rx_avail(st, s), 11);                      /* FIONREAD: the next datagram */
	char buf[32];
	uint32_t a;
	uint16_t p;
	int fl;
	CHECK_EQ(nst_recvfrom(st, s, buf, 5, NST_MSG_PEEK, &a, &p, &fl, 0), 5);
	CHECK_EQ(fl, NST_MSG_TRUNC);
	CHECK_EQ(nst_recvfrom(st, s, buf, 5, NST_MSG_PEEK | NST_MSG_TRUNC, &a, &p, &fl, 0), 11);
	CHECK_EQ(nst_recvfrom(st, s, buf, 5, 0, &a, &p, &fl, 0), 5);   /* the rest is discarded */
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(p, 4000);
	CHECK_EQ(nst_rx_avail(st, s), 0);
	CHECK(nst_poll(st, s) & NST_POLLIN);                    /* the empty datagram */
	CHECK_EQ(nst_recvfrom(st, s, buf, sizeof(buf), 0, &a, &p, &fl, 0), 0);
	CHECK_EQ(p, 4001);
	CHECK_EQ(nst_recvfrom(st, s, buf, sizeof(buf), 0, &a, &p, &fl, 0), -EAGAIN);
	CHECK(!(nst_poll(st, s) & NST_POLLIN));
	teardown();
}

TEST(rcvbuf_bounds_the_queue)
{
	setup();
	int s = nst_socket(st, NST_SOCK_DGRAM);
	int v = 4096;           /* doubled: 8192 */
	nst_setsockopt(st, s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), 0);
	nst_bind(st, s, 0, 6001);
	static char d[1000];
	for (int i = 0; i < 20; i++)
		inject(4000, 6001, d, sizeof(d), 1);
	/* accepted while the charge (1000 + 256 each) is <= 8192: 7 datagrams */
	CHECK_EQ(st->stat.udp_drop_rcvbuf, 13);
	int n = 0;
	char buf[2000];
	while (nst_recv(st, s, buf, sizeof(buf), 0, 0) == 1000)
		n++;
	CHECK_EQ(n, 7);
	teardown();
}

TEST(send_rules_and_connect)
{
	setup();
	int s = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_send(st, s, "x", 1, 0, 0), -EDESTADDRREQ);
	CHECK_EQ(nst_sendto(st, s, "x", 1, 0, 1, 0xc61200ffu, 9, 0), -EACCES);
	int one = 1;
	nst_setsockopt(st, s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one), 0);
	CHECK_EQ(nst_sendto(st, s, "x", 1, 0, 1, 0xc61200ffu, 9, 0), 1);
	struct pkt *p = memdev_take(dev);
	REQUIRE(p);
	CHECK(memcmp(p->data, "\xff\xff\xff\xff\xff\xff", 6) == 0);     /* Ethernet broadcast */
	pkt_free(p);
	CHECK_EQ(nst_sendto(st, s, "x", 1, 0, 1, PEER, 0, 0), -EINVAL);
	CHECK_EQ(nst_sendto(st, s, "", 0, 0, 1, PEER, 53, 0), 0);       /* zero length goes out */
	p = memdev_take(dev);
	REQUIRE(p);
	const struct udp_hdr *uh = (const struct udp_hdr *)(p->data + ETH_HDR_LEN + IP_HDR_LEN);
	CHECK_EQ(ntohs(uh->len), 8);
	CHECK(uh->csum != 0);
	pkt_free(p);
	/* connected: only the peer's datagrams arrive */
	CHECK_EQ(nst_connect(st, s, PEER, 53, 0), 0);
	uint32_t a;
	uint16_t lport;
	nst_getsockname(st, s, &a, &lport);
	CHECK_EQ(a, ME);
	inject(53, lport, "yes", 3, 1);
	inject(54, lport, "no", 2, 1);
	char buf[8];
	CHECK_EQ(nst_recv(st, s, buf, sizeof(buf), 0, 0), 3);
	CHECK_EQ(nst_recv(st, s, buf, sizeof(buf), 0, 0), -EAGAIN);
	/* AF_UNSPEC (Linux udp_disconnect): the peer is forgotten, and so are
	 * the address and the port that bind() did not choose */
	CHECK_EQ(nst_disconnect(st, s), 0);
	CHECK_EQ(nst_getpeername(st, s, &a, &lport), -ENOTCONN);
	CHECK_EQ(nst_sendto(st, s, "x", 1, 0, 0, 0, 0, 0), -EDESTADDRREQ);
	drain();
	teardown();
}

/* A datagram sent before the next hop is resolved waits in the ARP queue:
 * process exit (nst_exit_pending) waits for it after every socket is
 * closed, and not once the resolution has sent it (udp_nc: `nc -u -q 1`
 * exits while its datagrams wait for an ARP reply). */
TEST(exit_waits_for_datagrams_behind_arp)
{
	l3_setup(0);
	int s = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_sendto(st, s, "hello", 5, 0, 1, PEER, 9, 0), 5);
	struct pkt *p = memdev_take(dev);       /* the ARP request */
	REQUIRE(p);
	CHECK_EQ(ntohs(((const struct eth_hdr *)p->data)->type), ETH_P_ARP);
	pkt_free(p);
	CHECK(!memdev_take(dev));
	nst_close_all(st, 0);
	CHECK_EQ(nst_exit_pending(st), IP_HDR_LEN + 8 + 5);     /* the IP packet */
	arp_update(st, PEER, peer_mac);
	p = memdev_take(dev);                   /* the datagram, sent */
	REQUIRE(p);
	CHECK_EQ(ntohs(((const struct eth_hdr *)p->data)->type), ETH_P_IPV4);
	pkt_free(p);
	CHECK_EQ(nst_exit_pending(st), 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(bind_rules);
	RUN(datagram_semantics);
	RUN(rcvbuf_bounds_the_queue);
	RUN(send_rules_and_connect);
	RUN(exit_waits_for_datagrams_behind_arp);
	return TEST_SUMMARY();
}
