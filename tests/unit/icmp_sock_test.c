/* Unit tests of ICMP sockets (stack/icmp_sock.c) at exact time: echo
 * ("ping") sockets send only echo requests and put their own identifier in
 * them; the reply with that identifier comes back to them, ICMP header
 * first; raw sockets send what they are given (ICMPv6: checksum computed),
 * receive a copy of every ICMP message their filter passes, the IPv4 ones
 * behind a rebuilt IP header; the stack's own echo server goes on. */
#include "tests/unit/ip6_harness.h"

static const uint8_t req_body[] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g' };

/* An echo reply (IPv4) from PEER to ME with identifier id, injected. */
static void echo_reply_in(uint16_t id, uint64_t now)
{
	uint8_t m[12] = { 0, 0, 0, 0, (uint8_t)(id >> 8), (uint8_t)id, 0, 1, 'p', 'o', 'n', 'g' };
	uint16_t c = csum(m, sizeof(m));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	inject_l4(PEER, ME, IP_PROTO_ICMP, m, sizeof(m), now);
}

TEST(ping_socket_v4)
{
	setup6();
	arp_update(st, PEER, peer_mac);
	int s = nst_socket(st, NST_SOCK_PING);
	REQUIRE(s >= 0);
	CHECK_EQ(nst_sock_type(st, s), NST_SOCK_DGRAM);
	struct nst_addr peer = nst_addr_from_v4(PEER);
	/* only an echo request, code 0, of at least 8 bytes (Linux ping_common_sendmsg) */
	uint8_t bad[12];
	memcpy(bad, req_body, sizeof(bad));
	bad[0] = 13;
	CHECK_EQ(nst_sendto_addr(st, s, bad, sizeof(bad), 0, 1, &peer, 0, T0 + SEC), -EINVAL);
	CHECK_EQ(nst_sendto_addr(st, s, req_body, 7, 0, 1, &peer, 0, T0 + SEC), -EINVAL);
	CHECK_EQ(nst_sendto_addr(st, s, req_body, sizeof(req_body), 0, 1, &peer, 0, T0 + SEC),
		 (ssize_t)sizeof(req_body));
	struct nst_addr a;
	uint16_t ident;
	CHECK_EQ(nst_getsockname_addr(st, s, &a, &ident), 0);
	CHECK(ident != 0);
	/* on the wire: our identifier, a valid checksum */
	struct pkt *p;
	int seen = 0;
	while ((p = memdev_take(dev))) {
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		const uint8_t *m = p->data + ETH_HDR_LEN + IP_HDR_LEN;
		if (ntohs(((const struct eth_hdr *)p->data)->type) == ETH_P_IPV4 && ih->proto == IP_PROTO_ICMP) {
			CHECK_EQ(m[0], 8);
			CHECK_EQ((m[4] << 8 | m[5]), ident);
			CHECK_EQ(csum(m, ntohs(ih->total_len) - IP_HDR_LEN), 0);
			seen++;
		}
		pkt_free(p);
	}
	CHECK_EQ(seen, 1);
	/* a reply to another identifier is not ours; ours comes back ICMP header first */
	echo_reply_in((uint16_t)(ident + 1), T0 + SEC + 10);
	char b[64];
	int fl;
	uint16_t port;
	CHECK_EQ(nst_recvfrom_addr(st, s, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 10), -EAGAIN);
	echo_reply_in(ident, T0 + SEC + 20);
	CHECK_EQ(nst_recvfrom_addr(st, s, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 20), 12);
	CHECK_EQ(b[0], 0);
	CHECK(memcmp(b + 8, "pong", 4) == 0);
	CHECK(nst_addr_eq(&a, &peer));
	teardown();
}

TEST(raw_socket_v4_and_the_echo_server)
{
	setup6();
	arp_update(st, PEER, peer_mac);
	int r = nst_socket(st, NST_SOCK_RAW_ICMP);
	REQUIRE(r >= 0);
	/* ICMP_FILTER (SOL_RAW 255, 1): echo requests (type 8) filtered out */
	uint32_t filt = 1u << 8;
	CHECK_EQ(nst_setsockopt(st, r, 255, 1, &filt, sizeof(filt), T0), 0);
	/* an echo request to us: the stack answers it, the raw socket sees nothing */
	uint8_t m[12];
	memcpy(m, req_body, sizeof(m));
	uint16_t c = csum(m, sizeof(m));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	inject_l4(PEER, ME, IP_PROTO_ICMP, m, sizeof(m), T0 + SEC);
	char b[128];
	struct nst_addr a;
	uint16_t port;
	int fl;
	CHECK_EQ(nst_recvfrom_addr(st, r, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC), -EAGAIN);
	CHECK_EQ(st->stat.icmp_echo_tx, 1);
	/* an echo reply passes: behind a rebuilt IPv4 header (TTL 64, our addresses) */
	echo_reply_in(0x4242, T0 + SEC + 10);
	CHECK_EQ(nst_recvfrom_addr(st, r, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 10), 20 + 12);
	const struct ip_hdr *ih = (const struct ip_hdr *)b;
	CHECK_EQ(ih->ver_ihl, 0x45);
	CHECK_EQ(ntohs(ih->total_len), 32);
	CHECK_EQ(ih->proto, IP_PROTO_ICMP);
	CHECK_EQ(ntohl(ih->src), PEER);
	CHECK_EQ(ntohl(ih->dst), ME);
	CHECK_EQ(csum(ih, 20), 0);
	CHECK_EQ((uint8_t)b[20], 0);
	/* a raw send goes as given (the application's checksum) */
	struct nst_addr peer = nst_addr_from_v4(PEER);
	CHECK_EQ(nst_sendto_addr(st, r, m, sizeof(m), 0, 1, &peer, 0, T0 + 2 * SEC), (ssize_t)sizeof(m));
	teardown();
}

TEST(ping_and_raw_sockets_v6)
{
	setup6();
	int s = nst_socket6(st, NST_SOCK_PING);
	int r = nst_socket6(st, NST_SOCK_RAW_ICMP);
	REQUIRE(s >= 0 && r >= 0);
	uint8_t m[12] = { ICMP6_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, 7, 's', 'i', 'x', '!' };
	struct nst_addr peer = PEER6;
	CHECK_EQ(nst_sendto_addr(st, s, m, sizeof(m), 0, 1, &peer, 0, T0 + SEC), (ssize_t)sizeof(m));
	uint16_t ident;
	struct nst_addr a;
	CHECK_EQ(nst_getsockname_addr(st, s, &a, &ident), 0);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_ICMPV6);
	CHECK_EQ(o6.type, ICMP6_ECHO_REQUEST);
	CHECK(o6.csum_ok);                      /* computed by the stack */
	CHECK_EQ(o6_u32(IP6_HDR_LEN + 4) >> 16, ident);
	/* a raw ICMPv6 send: the checksum is the stack's too (RFC 4443 2.3) */
	m[2] = m[3] = 0xee;
	CHECK_EQ(nst_sendto_addr(st, r, m, sizeof(m), 0, 1, &peer, 0, T0 + SEC), (ssize_t)sizeof(m));
	REQUIRE(take6());
	CHECK(o6.csum_ok);
	/* the reply: to the ping socket (header first) and a copy to the raw one (no IP header) */
	uint8_t rep[12] = { ICMP6_ECHO_REPLY, 0, 0, 0, (uint8_t)(ident >> 8), (uint8_t)ident, 0, 7,
			    's', 'i', 'x', '!' };
	inject_icmp6(&PEER6, &ME6, 64, rep, sizeof(rep), T0 + SEC + 10);
	char b[64];
	uint16_t port;
	int fl;
	CHECK_EQ(nst_recvfrom_addr(st, s, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 10), 12);
	CHECK_EQ((uint8_t)b[0], ICMP6_ECHO_REPLY);
	CHECK(nst_addr_eq(&a, &PEER6));
	CHECK_EQ(nst_recvfrom_addr(st, r, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 10), 12);
	CHECK_EQ((uint8_t)b[0], ICMP6_ECHO_REPLY);
	/* ICMP6_FILTER (IPPROTO_ICMPV6, 1): replies (129) blocked */
	uint32_t f6[8] = { 0 };
	f6[129 >> 5] = 1u << (129 & 31);
	CHECK_EQ(nst_setsockopt(st, r, IPPROTO_ICMPV6, 1, f6, sizeof(f6), T0), 0);
	inject_icmp6(&PEER6, &ME6, 64, rep, sizeof(rep), T0 + SEC + 20);
	CHECK_EQ(nst_recvfrom_addr(st, r, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 20), -EAGAIN);
	CHECK_EQ(nst_recvfrom_addr(st, s, b, sizeof(b), 0, &a, &port, &fl, T0 + SEC + 20), 12);
	/* an ICMPv6 ping socket takes no IPv4 destination */
	struct nst_addr p4 = nst_addr_from_v4(PEER);
	CHECK_EQ(nst_sendto_addr(st, s, m, sizeof(m), 0, 1, &p4, 0, T0 + 2 * SEC), -EAFNOSUPPORT);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	pkt_pool_init_large(16);
	RUN(ping_socket_v4);
	RUN(raw_socket_v4_and_the_echo_server);
	RUN(ping_and_raw_sockets_v6);
	return TEST_SUMMARY();
}
