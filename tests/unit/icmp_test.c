/* ICMP errors with exact clocks: port unreachable generation and its rate
 * limit, a received port unreachable reported to a connected UDP socket,
 * and Fragmentation Needed lowering a TCP connection's MSS (RFC 1191 with
 * RFC 5927's sequence check). The test is the peer. */
#include "tests/unit/l3_harness.h"

static void inject_udp(uint32_t dst, uint16_t dport, uint64_t now)
{
	uint8_t b[12];
	inject_l4(PEER, dst, IP_PROTO_UDP, b, udp_build(b, 4000, dport, "abcd", 4, 0), now);   /* no checksum */
}

/* Frames of type ICMP dest unreachable waiting on the device. */
static int take_unreach(void)
{
	int n = 0;
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const uint8_t *ip = p->data + ETH_HDR_LEN;
		if (ip[9] == IP_PROTO_ICMP && ip[20] == ICMP_DEST_UNREACH && ip[21] == ICMP_PORT_UNREACH) {
			/* the quote: the offending IP header and its UDP header */
			CHECK_EQ(ntohs(*(const uint16_t *)(ip + 28 + 20 + 2)), 9);
			n++;
		}
		pkt_free(p);
	}
	return n;
}

TEST(port_unreachable_rate_limited)
{
	setup();
	uint64_t t = 10 * SEC;
	/* Linux icmp_ratelimit 1000 ms with a burst of 6 */
	for (int i = 0; i < 8; i++)
		inject_udp(ME, 9, t);
	CHECK_EQ(take_unreach(), 6);
	CHECK_EQ(st->stat.icmp_ratelimited, 2);
	CHECK_EQ(st->stat.udp_drop_noport, 8);
	inject_udp(ME, 9, t + SEC - 1);
	CHECK_EQ(take_unreach(), 0);
	inject_udp(ME, 9, t + SEC);             /* one second's credit: one more */
	CHECK_EQ(take_unreach(), 1);
	inject_udp(ME, 9, t + SEC + 1);
	CHECK_EQ(take_unreach(), 0);
	/* never for a broadcast (RFC 1122 3.2.2) */
	inject_udp(0xc61200ffu, 9, t + 100 * SEC);
	CHECK_EQ(take_unreach(), 0);
	/* an open port gets the datagram, no error */
	int sd = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_bind(st, sd, 0, 9), 0);
	inject_udp(ME, 9, t + 200 * SEC);
	CHECK_EQ(take_unreach(), 0);
	CHECK_EQ(nst_rx_avail(st, sd), 4);
	nst_close(st, sd, 0);
	teardown();
}

/* An ICMP error quoting a datagram sent from ME:sport to PEER:dport. */
static void inject_icmp_err(uint8_t type, uint8_t code, uint16_t mtu, uint8_t proto,
			    uint16_t sport, uint16_t dport, uint32_t seq, uint64_t now)
{
	uint8_t b[8 + 20 + 8] = { type, code, 0, 0, 0, 0, (uint8_t)(mtu >> 8), (uint8_t)mtu };
	struct ip_hdr *ih = (struct ip_hdr *)(b + 8);
	ih->ver_ihl = 0x45;
	ih->total_len = htons(100);
	ih->ttl = 63;
	ih->proto = proto;
	ih->src = htonl(ME);
	ih->dst = htonl(PEER);
	ih->csum = htons(csum(ih, 20));
	uint8_t *l4 = b + 28;
	l4[0] = (uint8_t)(sport >> 8); l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(dport >> 8); l4[3] = (uint8_t)dport;
	l4[4] = (uint8_t)(seq >> 24); l4[5] = (uint8_t)(seq >> 16);
	l4[6] = (uint8_t)(seq >> 8); l4[7] = (uint8_t)seq;
	uint16_t c = csum(b, sizeof(b));
	b[2] = (uint8_t)(c >> 8);
	b[3] = (uint8_t)c;
	inject_l4(PEER, ME, IP_PROTO_ICMP, b, sizeof(b), now);
}

TEST(port_unreachable_received_refuses_connected_socket)
{
	setup();
	int c = nst_socket(st, NST_SOCK_DGRAM), u = nst_socket(st, NST_SOCK_DGRAM);
	CHECK_EQ(nst_connect(st, c, PEER, 53, 1000), 0);
	CHECK_EQ(nst_send(st, c, "q", 1, 0, 1000), 1);
	CHECK_EQ(nst_sendto(st, u, "q", 1, 0, 1, PEER, 54, 1000), 1);
	uint32_t a;
	uint16_t cport, uport;
	nst_getsockname(st, c, &a, &cport);
	nst_getsockname(st, u, &a, &uport);
	drain();
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, IP_PROTO_UDP, cport, 53, 0, 2000);
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, IP_PROTO_UDP, uport, 54, 0, 2000);
	/* Linux: the connected socket reports it once; the other ignores it */
	CHECK(nst_poll(st, c) & NST_POLLERR);
	CHECK(!(nst_poll(st, u) & NST_POLLERR));
	char buf[8];
	CHECK_EQ(nst_recv(st, c, buf, sizeof(buf), 0, 3000), -ECONNREFUSED);
	CHECK_EQ(nst_recv(st, c, buf, sizeof(buf), 0, 3000), -EAGAIN);
	CHECK_EQ(nst_recv(st, u, buf, sizeof(buf), 0, 3000), -EAGAIN);
	/* time exceeded and a soft unreachable change nothing */
	inject_icmp_err(ICMP_TIME_EXCEEDED, 0, 0, IP_PROTO_UDP, cport, 53, 0, 4000);
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0, IP_PROTO_UDP, cport, 53, 0, 4000);
	CHECK_EQ(st->stat.icmp_time_exceeded_rx, 1);
	CHECK_EQ(nst_send(st, c, "q", 1, 0, 5000), 1);
	nst_close(st, c, 0);
	nst_close(st, u, 0);
	teardown();
}

/* A TCP segment from PEER:80 to ME:lport. */
static void inject_tcp(uint16_t lport, uint32_t seq, uint32_t ack, uint8_t flags, int mss, uint64_t now)
{
	uint8_t b[24] = { 0 };
	struct tcp_hdr *th = (struct tcp_hdr *)b;
	unsigned hl = mss ? 24 : 20;
	th->sport = htons(80);
	th->dport = htons(lport);
	th->seq = htonl(seq);
	th->ack = htonl(ack);
	th->off = (uint8_t)((hl / 4) << 4);
	th->flags = flags;
	th->wnd = htons(65535);
	if (mss) {
		b[20] = 2; b[21] = 4; b[22] = (uint8_t)(mss >> 8); b[23] = (uint8_t)mss;
	}
	th->csum = htons(csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_TCP, (uint16_t)hl), b, hl)));
	inject_l4(PEER, ME, IP_PROTO_TCP, b, hl, now);
}

/* A TCP socket connecting to PEER:80 at t = 1000 us (SYN-SENT); its sd,
 * *lport its port. */
static int syn_sent(uint16_t *lport)
{
	int sd = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, 1000), -EINPROGRESS);
	uint32_t a;
	nst_getsockname(st, sd, &a, lport);
	return sd;
}

TEST(frag_needed_lowers_tcp_mss)
{
	setup();
	uint16_t lport;
	int sd = syn_sent(&lport);
	struct tcb *t = &st->tcp.tcb[sd];
	uint32_t iss = t->iss;
	drain();
	inject_tcp(lport, 5000, iss + 1, TCP_SYN | TCP_ACK, 1460, 2000);
	REQUIRE(t->state == TCP_ESTABLISHED);
	CHECK_EQ(t->mss, 1460);
	drain();
	static char data[4000];
	CHECK_EQ(nst_send(st, sd, data, sizeof(data), 0, 3000), 4000);
	drain();
	/* RFC 5927: a sequence number outside [SND.UNA, SND.NXT) is not ours */
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1000, IP_PROTO_TCP, lport, 80, iss + 100000, 4000);
	CHECK_EQ(t->mss, 1460);
	CHECK_EQ(st->stat.icmp_pmtu_update, 0);
	/* RFC 1191: lowered to MTU - 40 and what was in flight goes again, smaller */
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1000, IP_PROTO_TCP, lport, 80, iss + 1, 4000);
	CHECK_EQ(t->mss, 960);
	CHECK_EQ(st->stat.icmp_pmtu_update, 1);
	struct pkt *p = memdev_take(dev);
	REQUIRE(p);
	const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
	CHECK_EQ(ntohs(ih->total_len), 1000);
	const struct tcp_hdr *th = (const struct tcp_hdr *)(ih + 1);
	CHECK_EQ(ntohl(th->seq), iss + 1);
	pkt_free(p);
	drain();
	/* never raised by an ICMP (RFC 1191 3), never below 552 (Linux min_pmtu) */
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400, IP_PROTO_TCP, lport, 80, iss + 1, 5000);
	CHECK_EQ(t->mss, 960);
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 100, IP_PROTO_TCP, lport, 80, iss + 1, 5000);
	CHECK_EQ(t->mss, 552 - 40);
	nst_close_all(st, 6000);
	teardown();
}

TEST(unreachable_during_handshake_aborts_connect)
{
	setup();
	uint16_t lport;
	int sd = syn_sent(&lport);
	uint32_t iss = st->tcp.tcb[sd].iss;
	inject_icmp_err(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, IP_PROTO_TCP, lport, 80, iss, 2000);
	CHECK_EQ(nst_connect(st, sd, PEER, 80, 3000), -ECONNREFUSED);
	nst_close(st, sd, 4000);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(port_unreachable_rate_limited);
	RUN(port_unreachable_received_refuses_connected_socket);
	RUN(frag_needed_lowers_tcp_mss);
	RUN(unreachable_during_handshake_aborts_connect);
	return TEST_SUMMARY();
}
