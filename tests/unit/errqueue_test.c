/* The error queue of datagram sockets (IP_RECVERR, IPV6_RECVERR) at exact
 * time, as Linux's ip_icmp_error / ip_local_error / sock_dequeue_err_skb:
 * an ICMP error about a datagram we sent is queued with what it quoted,
 * who sent it and its TTL, in order; it is also the pending error
 * (SO_ERROR), which follows the queue as it is read; a datagram larger
 * than IP_PMTUDISC_DO allows is EMSGSIZE and a local error telling the
 * MTU; without the option only a hard error on a connected socket counts;
 * the queue is charged to SO_RCVBUF; ping sockets get errors about their
 * echo requests. traceroute and tracepath depend on each of these. */
#include "tests/unit/ip6_harness.h"

#define ROUTER  0xc61200feu     /* 198.18.0.254: a router on the path */
static const struct nst_addr ROUTER6 = { .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0xfe } };
static const char probe[] = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_";    /* traceroute's 32 bytes */

/* An ICMPv4 error from ROUTER quoting a UDP datagram ME:sport -> PEER:dport
 * with qlen bytes of the probe after its UDP header; word: the ICMP
 * header's second word (the MTU of Fragmentation Needed). */
static void icmp_err4(uint8_t type, uint8_t code, uint32_t word, uint16_t sport, uint16_t dport,
		      unsigned qlen, uint64_t now)
{
	uint8_t b[8 + 20 + 8 + sizeof(probe)] = { type, code, 0, 0, (uint8_t)(word >> 24),
						  (uint8_t)(word >> 16), (uint8_t)(word >> 8), (uint8_t)word };
	struct ip_hdr *ih = (struct ip_hdr *)(b + 8);
	ih->ver_ihl = 0x45;
	ih->total_len = htons((uint16_t)(20 + 8 + sizeof(probe) - 1));
	ih->ttl = 1;
	ih->proto = IP_PROTO_UDP;
	ih->src = htonl(ME);
	ih->dst = htonl(PEER);
	ih->csum = htons(csum(ih, 20));
	uint8_t *u = b + 28;
	u[0] = (uint8_t)(sport >> 8); u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8); u[3] = (uint8_t)dport;
	u[4] = 0; u[5] = (uint8_t)(8 + sizeof(probe) - 1);
	memcpy(u + 8, probe, qlen);
	size_t len = 8 + 20 + 8 + qlen;
	uint16_t c = csum(b, len);
	b[2] = (uint8_t)(c >> 8);
	b[3] = (uint8_t)c;
	inject_l4(ROUTER, ME, IP_PROTO_ICMP, b, len, now);
}

static int so_error(int s)
{
	int v = -1;
	unsigned l = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, s, SOL_SOCKET, SO_ERROR, &v, &l), 0);
	return v;
}

static void set_int(int s, int level, int name, int v)
{
	CHECK_EQ(nst_setsockopt(st, s, level, name, &v, sizeof(v), 0), 0);
}

/* setup6() with PEER's MAC known, and a UDP socket (IP_RECVERR if recverr)
 * connected to PEER:dport; its port in *lport. */
static int udp_to_peer(int recverr, uint16_t dport, uint16_t *lport)
{
	setup6();
	arp_update(st, PEER, peer_mac);
	int s = nst_socket(st, NST_SOCK_DGRAM);
	if (recverr)
		set_int(s, IPPROTO_IP, IP_RECVERR, 1);
	struct nst_addr peer = nst_addr_from_v4(PEER), a;
	CHECK_EQ(nst_connect_addr(st, s, &peer, dport, T0 + SEC), 0);
	nst_getsockname_addr(st, s, &a, lport);
	return s;
}

TEST(icmp_errors_queue_in_order_with_the_quote)
{
	uint16_t lport;
	int s = udp_to_peer(1, 33434, &lport);
	CHECK_EQ(nst_send(st, s, probe, sizeof(probe) - 1, 0, T0 + SEC), (ssize_t)sizeof(probe) - 1);
	drain();
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	/* Time Exceeded from the first hop, quoting the whole probe */
	icmp_err4(ICMP_TIME_EXCEEDED, 0, 0, lport, 33434, sizeof(probe) - 1, T0 + SEC + 250);
	CHECK(nst_poll(st, s) & NST_POLLERR);
	CHECK_EQ(st->stat.sock_errq_queued, 1);
	/* the pending error is taken by the next call; the queue stays */
	char buf[64];
	CHECK_EQ(nst_recv(st, s, buf, sizeof(buf), 0, T0 + SEC + 300), -EHOSTUNREACH);
	CHECK(nst_poll(st, s) & NST_POLLERR);
	struct nst_sock_err e;
	int fl;
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC + 400),
		 (ssize_t)sizeof(probe) - 1);
	CHECK(memcmp(buf, probe, sizeof(probe) - 1) == 0);
	CHECK_EQ(fl, 0);
	CHECK_EQ(e.errnum, EHOSTUNREACH);
	CHECK_EQ(e.origin, NST_EE_ORIGIN_ICMP);
	CHECK_EQ(e.type, ICMP_TIME_EXCEEDED);
	CHECK_EQ(e.code, 0);
	CHECK_EQ(e.info, 0);
	CHECK(nst_addr_eq(&e.offender, &(struct nst_addr){ 0 }) == 0);
	CHECK_EQ(nst_addr_v4(&e.offender), ROUTER);
	CHECK_EQ(nst_addr_v4(&e.dst), PEER);
	CHECK_EQ(e.port, 33434);
	CHECK_EQ(e.hops, 64);                   /* the ICMP message's own TTL */
	CHECK_EQ(e.rx_us, T0 + SEC + 250);      /* when it arrived */
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC + 400), -EAGAIN);

	/* two in a row: SO_ERROR is the last one's, then the next one's as
	 * the queue is read, then clear (sock_dequeue_err_skb) */
	icmp_err4(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, lport, 33434, 8, T0 + 2 * SEC);
	icmp_err4(ICMP_TIME_EXCEEDED, 0, 0, lport, 33434, 8, T0 + 2 * SEC);
	CHECK_EQ(nst_recv_err(st, s, buf, 4, &e, &fl, T0 + 2 * SEC), 4);        /* truncated */
	CHECK_EQ(fl, NST_MSG_TRUNC);
	CHECK_EQ(e.errnum, ECONNREFUSED);
	CHECK_EQ(e.type, ICMP_DEST_UNREACH);
	CHECK_EQ(e.code, ICMP_PORT_UNREACH);
	CHECK_EQ(so_error(s), EHOSTUNREACH);    /* the next one's; SO_ERROR takes it */
	CHECK(nst_poll(st, s) & NST_POLLERR);   /* still one queued */
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + 2 * SEC), 8);
	CHECK_EQ(e.errnum, EHOSTUNREACH);
	CHECK_EQ(so_error(s), 0);
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	/* a datagram queued meanwhile is still there, untouched */
	nst_close(st, s, 0);
	teardown();
}

TEST(without_recverr_only_hard_errors_on_connected_sockets)
{
	uint16_t lport;
	int s = udp_to_peer(0, 53, &lport);
	icmp_err4(ICMP_TIME_EXCEEDED, 0, 0, lport, 53, 8, T0 + SEC);
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	CHECK_EQ(st->stat.sock_errq_queued, 0);
	icmp_err4(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, lport, 53, 8, T0 + SEC);
	CHECK(nst_poll(st, s) & NST_POLLERR);
	char buf[16];
	struct nst_sock_err e;
	int fl;
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC), -EAGAIN);
	CHECK_EQ(nst_recv(st, s, buf, sizeof(buf), 0, T0 + SEC), -ECONNREFUSED);
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	/* Fragmentation Needed: EMSGSIZE, hard (the default IP_PMTUDISC_WANT) */
	icmp_err4(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400, lport, 53, 8, T0 + SEC);
	CHECK_EQ(so_error(s), EMSGSIZE);
	nst_close(st, s, 0);
	teardown();
}

TEST(local_error_tells_the_mtu)
{
	setup6();
	arp_update(st, PEER, peer_mac);
	int s = nst_socket(st, NST_SOCK_DGRAM);
	struct nst_addr peer = nst_addr_from_v4(PEER);
	static char big[70000];
	set_int(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
	/* without IP_RECVERR: EMSGSIZE only */
	CHECK_EQ(nst_sendto_addr(st, s, big, 1473, 0, 1, &peer, 44444, T0 + SEC), -EMSGSIZE);
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	set_int(s, IPPROTO_IP, IP_RECVERR, 1);
	/* tracepath's first probe: the largest datagram */
	CHECK_EQ(nst_sendto_addr(st, s, big, 65507, 0, 1, &peer, 44444, T0 + SEC), -EMSGSIZE);
	CHECK(nst_poll(st, s) & NST_POLLERR);
	CHECK_EQ(so_error(s), 0);               /* a local error is not SO_ERROR */
	struct nst_sock_err e;
	int fl;
	char buf[16];
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC), 0);
	CHECK_EQ(e.errnum, EMSGSIZE);
	CHECK_EQ(e.origin, NST_EE_ORIGIN_LOCAL);
	CHECK_EQ(e.info, 1500);
	CHECK_EQ(nst_addr_v4(&e.dst), PEER);
	CHECK_EQ(e.port, 0);                    /* an IPv4 socket's connected port: none */
	CHECK(nst_addr_is_unspec(&e.offender));
	/* what fits goes, with Don't Fragment */
	CHECK_EQ(nst_sendto_addr(st, s, big, 1472, 0, 1, &peer, 44444, T0 + SEC), 1472);
	struct pkt *p = memdev_take(dev);
	REQUIRE(p);
	const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
	CHECK_EQ(ntohs(ih->total_len), 1500);
	CHECK(ntohs(ih->frag) & IP_DF);
	pkt_free(p);
	drain();
	/* IP_PMTUDISC_WANT (the default): fragmented, no DF; past 65507 bytes
	 * a local error too, past 65535 EMSGSIZE alone (udp_sendmsg) */
	set_int(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_WANT);
	CHECK_EQ(nst_sendto_addr(st, s, big, 1473, 0, 1, &peer, 44444, T0 + SEC), 1473);
	int frames = 0;
	while ((p = memdev_take(dev))) {
		ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		CHECK(!(ntohs(ih->frag) & IP_DF));
		frames++;
		pkt_free(p);
	}
	CHECK_EQ(frames, 2);
	CHECK_EQ(nst_sendto_addr(st, s, big, 65508, 0, 1, &peer, 44444, T0 + SEC), -EMSGSIZE);
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC), 0);
	CHECK_EQ(e.info, 1500);
	CHECK_EQ(nst_sendto_addr(st, s, big, 65536, 0, 1, &peer, 44444, T0 + SEC), -EMSGSIZE);
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC), -EAGAIN);
	nst_close(st, s, 0);
	teardown();
}

/* An ICMPv6 error from ROUTER6 quoting a UDP datagram ME6:sport ->
 * PEER6:dport with 8 bytes of the probe. */
static void icmp_err6(uint8_t type, uint8_t code, uint32_t word, uint16_t sport, uint16_t dport,
		      uint64_t now)
{
	uint8_t m[8 + IP6_HDR_LEN + 16] = { type, code, 0, 0, (uint8_t)(word >> 24),
					    (uint8_t)(word >> 16), (uint8_t)(word >> 8), (uint8_t)word };
	uint8_t u[16] = { (uint8_t)(sport >> 8), (uint8_t)sport, (uint8_t)(dport >> 8), (uint8_t)dport,
			  0, 16 };
	memcpy(u + 8, probe, 8);
	ip6_build(m + 8, &ME6, &PEER6, IP6_NH_UDP, 1, u, sizeof(u));
	inject_icmp6(&ROUTER6, &ME6, 63, m, sizeof(m), now);
}

TEST(ipv6_errors_and_local_errors)
{
	setup6();
	int s = nst_socket6(st, NST_SOCK_DGRAM);
	struct nst_addr a;
	uint16_t lport;
	CHECK_EQ(nst_connect_addr(st, s, &PEER6, 33434, T0 + SEC), 0);
	nst_getsockname_addr(st, s, &a, &lport);
	/* IPV6_RECVERR, not IP_RECVERR, decides for IPv6 destinations */
	set_int(s, IPPROTO_IP, IP_RECVERR, 1);
	icmp_err6(ICMP6_TIME_EXCEEDED, 0, 0, lport, 33434, T0 + SEC);
	CHECK(!(nst_poll(st, s) & NST_POLLERR));
	set_int(s, IPPROTO_IPV6, IPV6_RECVERR, 1);
	icmp_err6(ICMP6_TIME_EXCEEDED, 0, 0, lport, 33434, T0 + SEC + 5);
	icmp_err6(ICMP6_PACKET_TOO_BIG, 0, 1400, lport, 33434, T0 + SEC + 6);
	struct nst_sock_err e;
	int fl;
	char buf[16];
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + 2 * SEC), 8);
	CHECK(memcmp(buf, probe, 8) == 0);
	CHECK_EQ(e.errnum, EHOSTUNREACH);
	CHECK_EQ(e.origin, NST_EE_ORIGIN_ICMP6);
	CHECK_EQ(e.type, ICMP6_TIME_EXCEEDED);
	CHECK(addr_is(&e.offender, &ROUTER6));
	CHECK(addr_is(&e.dst, &PEER6));
	CHECK_EQ(e.port, 33434);
	CHECK_EQ(e.hops, 63);
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + 2 * SEC), 8);
	CHECK_EQ(e.errnum, EMSGSIZE);
	CHECK_EQ(e.type, ICMP6_PACKET_TOO_BIG);
	CHECK_EQ(e.info, 1400);
	/* IPV6_MTU_DISCOVER DO: larger than the path MTU (1400 now) is a local
	 * error naming it, and this send's port (ipv6_local_error: fl6_dport) */
	set_int(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
	static char big[70000];
	CHECK_EQ(nst_sendto_addr(st, s, big, 1400 - 48 + 1, 0, 1, &PEER6, 44444, T0 + 2 * SEC), -EMSGSIZE);
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + 2 * SEC), 0);
	CHECK_EQ(e.origin, NST_EE_ORIGIN_LOCAL);
	CHECK_EQ(e.info, 1400);
	CHECK_EQ(e.port, 44444);
	CHECK_EQ(nst_sendto_addr(st, s, big, 1400 - 48, 0, 1, &PEER6, 44444, T0 + 2 * SEC), 1400 - 48);
	/* tracepath -6's first probe, beyond any IPv6 datagram */
	CHECK_EQ(nst_sendto_addr(st, s, big, 65528, 0, 1, &PEER6, 44444, T0 + 2 * SEC), -EMSGSIZE);
	CHECK_EQ(nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + 2 * SEC), 0);
	CHECK_EQ(e.info, 1400);
	drain();
	nst_close(st, s, 0);
	teardown();
}

TEST(errors_are_charged_to_the_receive_budget)
{
	uint16_t lport;
	int s = udp_to_peer(1, 33434, &lport);
	set_int(s, SOL_SOCKET, SO_RCVBUF, 1);   /* the minimum: 2304 */
	/* each charges 32 + 256: queued while the total stays under 2304 */
	for (int i = 0; i < 10; i++)
		icmp_err4(ICMP_TIME_EXCEEDED, 0, 0, lport, 33434, sizeof(probe) - 1, T0 + SEC);
	CHECK_EQ(st->stat.sock_errq_queued, 7);
	CHECK_EQ(st->stat.sock_errq_drop, 3);
	char buf[64];
	struct nst_sock_err e;
	int fl, n = 0;
	while (nst_recv_err(st, s, buf, sizeof(buf), &e, &fl, T0 + SEC) == (ssize_t)sizeof(probe) - 1)
		n++;
	CHECK_EQ(n, 7);
	nst_close(st, s, 0);
	teardown();
}

TEST(ping_socket_gets_errors_about_its_echo_requests)
{
	setup6();
	arp_update(st, PEER, peer_mac);
	int s = nst_socket(st, NST_SOCK_PING);
	set_int(s, IPPROTO_IP, IP_RECVERR, 1);
	struct nst_addr peer = nst_addr_from_v4(PEER), a;
	uint8_t req[16] = { 8, 0, 0, 0, 0, 0, 0, 7, 'p', 'i', 'n', 'g' };
	CHECK_EQ(nst_sendto_addr(st, s, req, sizeof(req), 0, 1, &peer, 0, T0 + SEC), (ssize_t)sizeof(req));
	uint16_t ident;
	nst_getsockname_addr(st, s, &a, &ident);
	drain();
	/* Time Exceeded quoting the echo request (its identifier is ours) */
	uint8_t b[8 + 20 + sizeof(req)] = { ICMP_TIME_EXCEEDED, 0 };
	struct ip_hdr *ih = (struct ip_hdr *)(b + 8);
	ih->ver_ihl = 0x45;
	ih->total_len = htons(20 + sizeof(req));
	ih->ttl = 1;
	ih->proto = IP_PROTO_ICMP;
	ih->src = htonl(ME);
	ih->dst = htonl(PEER);
	ih->csum = htons(csum(ih, 20));
	memcpy(b + 28, req, sizeof(req));
	b[28 + 4] = (uint8_t)(ident >> 8);
	b[28 + 5] = (uint8_t)ident;
	uint16_t c = csum(b, sizeof(b));
	b[2] = (uint8_t)(c >> 8);
	b[3] = (uint8_t)c;
	inject_l4(ROUTER, ME, IP_PROTO_ICMP, b, sizeof(b), T0 + SEC + 10);
	struct nst_sock_err e;
	int fl;
	uint8_t q[32];
	/* ping_err: the quote from the ICMP header, port 0 */
	CHECK_EQ(nst_recv_err(st, s, q, sizeof(q), &e, &fl, T0 + SEC + 20), (ssize_t)sizeof(req));
	CHECK_EQ(q[0], 8);
	CHECK_EQ(q[7], 7);                      /* the sequence number ping prints */
	CHECK_EQ(e.errnum, EHOSTUNREACH);
	CHECK_EQ(e.type, ICMP_TIME_EXCEEDED);
	CHECK_EQ(nst_addr_v4(&e.offender), ROUTER);
	CHECK_EQ(e.port, 0);
	/* another identifier: not ours */
	b[28 + 5] ^= 1;
	b[2] = b[3] = 0;
	c = csum(b, sizeof(b));
	b[2] = (uint8_t)(c >> 8);
	b[3] = (uint8_t)c;
	inject_l4(ROUTER, ME, IP_PROTO_ICMP, b, sizeof(b), T0 + SEC + 30);
	CHECK_EQ(nst_recv_err(st, s, q, sizeof(q), &e, &fl, T0 + SEC + 40), -EAGAIN);
	nst_close(st, s, 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	pkt_pool_init_large(16);
	RUN(icmp_errors_queue_in_order_with_the_quote);
	RUN(without_recverr_only_hard_errors_on_connected_sockets);
	RUN(local_error_tells_the_mtu);
	RUN(ipv6_errors_and_local_errors);
	RUN(errors_are_charged_to_the_receive_budget);
	RUN(ping_socket_gets_errors_about_its_echo_requests);
	return TEST_SUMMARY();
}
