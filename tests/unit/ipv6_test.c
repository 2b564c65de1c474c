/* The IPv6 layer at exact times: addresses, input validation, the
 * extension-header walk and its Parameter Problems, echo, ICMPv6 errors and
 * their rate limit, Packet Too Big and the path MTU, reassembly and
 * fragmentation, output (flow label, routing, loopback). The test is the
 * peer (ip6_harness.h). */
#include "tests/unit/ip6_harness.h"

static uint8_t ibuf[70000], mbuf[70000];

TEST(addresses_and_source_selection)
{
	setup6();
	struct nst_addr ll, gl;
	uint8_t plen;
	stack_addr6(st, &ll, &gl, &plen);
	/* RFC 4291 Appendix A: 02:00:00:00:00:01 -> 0000:00ff:fe00:0001 */
	CHECK(addr_is(&ll, &ME_LL));
	CHECK(addr_is(&gl, &ME6));
	CHECK_EQ(plen, 64);
	CHECK(stack_owns6(st, &ME6));
	CHECK(stack_owns6(st, &ME_LL));
	CHECK(!stack_owns6(st, &PEER6));
	CHECK(!stack_owns6(st, &ALL_NODES));
	struct nst_addr s;
	CHECK_EQ(ipv6_src_for(st, &PEER_LL, &s), 0);
	CHECK(addr_is(&s, &ME_LL));
	CHECK_EQ(ipv6_src_for(st, &PEER6, &s), 0);
	CHECK(addr_is(&s, &ME6));
	CHECK_EQ(ipv6_src_for(st, &ALL_NODES, &s), 0);
	CHECK(addr_is(&s, &ME_LL));
	CHECK(stack_routes6(st, &PEER6));
	CHECK(stack_routes6(st, &PEER_LL));
	struct nst_addr far = { .b = { 0x20, 0x01, 0x0d, 0xb9, [15] = 5 } };
	CHECK(!stack_routes6(st, &far));          /* no router yet */
	CHECK(!stack_routes6(st, &ME6));
	CHECK(!stack_routes6(st, &UNSPEC));
	teardown();

	/* without a global address: link-local only */
	setup6_raw(1);
	stack_addr6(st, &ll, &gl, &plen);
	CHECK(addr_is(&ll, &ME_LL));
	CHECK(nst_addr_is_unspec(&gl));
	CHECK_EQ(ipv6_src_for(st, &PEER6, &s), -ENETUNREACH);
	CHECK_EQ(ipv6_src_for(st, &PEER_LL, &s), 0);
	teardown();
}

static void inject_echo(const struct nst_addr *src, const struct nst_addr *dst, uint16_t seq, size_t n,
			uint64_t now)
{
	size_t len = echo6_build(mbuf, 7, seq, n, src, dst);
	inject_icmp6(src, dst, 64, mbuf, len, now);
}

TEST(echo_request_answered)
{
	setup6();
	inject_echo(&PEER6, &ME6, 1, 20, 2 * SEC);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_ECHO_REPLY);
	CHECK(o6.csum_ok);
	CHECK(addr_is(&o6.src, &ME6));
	CHECK(addr_is(&o6.dst, &PEER6));
	CHECK_EQ(memcmp(o6.eth_dst, peer_mac, 6), 0);
	CHECK_EQ(o6.hop, IP6_DEFAULT_HOPS);
	CHECK_EQ(o6.plen, 28);
	CHECK_EQ(o6_u32(IP6_HDR_LEN + 4), 7u << 16 | 1);
	CHECK_EQ(o6.b[IP6_HDR_LEN + 8], 'a');
	CHECK_EQ(st->stat.icmp6_echo_tx, 1);
	/* the link-local address, from the peer's */
	inject_echo(&PEER_LL, &ME_LL, 2, 0, 2 * SEC);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_ECHO_REPLY);
	CHECK(o6.csum_ok);
	CHECK(addr_is(&o6.src, &ME_LL));
	CHECK(addr_is(&o6.dst, &PEER_LL));
	/* all-nodes (Linux answers it) */
	inject_echo(&PEER_LL, &ALL_NODES, 3, 4, 2 * SEC);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_ECHO_REPLY);
	CHECK(addr_is(&o6.src, &ME_LL));
	/* not ours: dropped */
	struct nst_addr nobody = ME6;
	nobody.b[15] = 9;
	inject_echo(&PEER6, &nobody, 4, 4, 2 * SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_drop_dst, 1);
	teardown();
}

TEST(input_validation)
{
	setup6();
	size_t len = echo6_build(mbuf, 7, 1, 8, &PEER6, &ME6);
	size_t n = ip6_build(ibuf, &PEER6, &ME6, IP6_NH_ICMPV6, 64, mbuf, len);
	/* bad checksum */
	ibuf[IP6_HDR_LEN + 2] ^= 1;
	inject6(ibuf, n, 2 * SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.icmp6_drop_csum, 1);
	ibuf[IP6_HDR_LEN + 2] ^= 1;
	/* bad version */
	ibuf[0] = 0x40;
	inject6(ibuf, n, 2 * SEC);
	CHECK_EQ(st->stat.ip6_drop_version, 1);
	ibuf[0] = 0x60;
	/* short */
	inject6(ibuf, 39, 2 * SEC);
	CHECK_EQ(st->stat.ip6_drop_short, 1);
	/* payload length beyond the frame */
	inject6(ibuf, n - 1, 2 * SEC);
	CHECK_EQ(st->stat.ip6_drop_len, 1);
	CHECK(!take6());
	/* Ethernet padding after the packet is cut off: answered */
	memset(ibuf + n, 0xee, 10);
	inject6(ibuf, n + 10, 2 * SEC);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_ECHO_REPLY);
	CHECK_EQ(o6.plen, len);
	/* multicast source */
	struct nst_addr msrc = ALL_NODES;
	n = ip6_build(ibuf, &msrc, &ME6, IP6_NH_ICMPV6, 64, mbuf, len);
	inject6(ibuf, n, 2 * SEC);
	CHECK_EQ(st->stat.ip6_drop_src, 1);
	/* hop limit 0 still delivered (a host does not check it) */
	len = echo6_build(mbuf, 7, 2, 0, &PEER6, &ME6);
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_ICMPV6, 0, mbuf, len), 2 * SEC);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	teardown();
}

TEST(multicast_mac_acceptance)
{
	setup6();
	uint64_t drop = st->stat.eth_drop_dst;
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const uint8_t sn_ll_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 1 };  /* ff02::1:ff00:1 */
	static const uint8_t sn_gl_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 2 };  /* ff02::1:ff00:2 */
	static const uint8_t routers_mac[6] = { 0x33, 0x33, 0, 0, 0, 2 };
	static const uint8_t other_sn_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 9 };
	CHECK(ipv6_mcast_mac_ours(st, all_nodes_mac));
	CHECK(ipv6_mcast_mac_ours(st, sn_ll_mac));
	CHECK(ipv6_mcast_mac_ours(st, sn_gl_mac));
	CHECK(!ipv6_mcast_mac_ours(st, routers_mac));
	CHECK(!ipv6_mcast_mac_ours(st, other_sn_mac));
	size_t len = echo6_build(mbuf, 1, 1, 0, &PEER6, &ALL_NODES);
	size_t n = ip6_build(ibuf, &PEER6, &ALL_NODES, IP6_NH_ICMPV6, 64, mbuf, len);
	inject6_to(all_nodes_mac, ibuf, n, 2 * SEC);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	inject6_to(routers_mac, ibuf, n, 2 * SEC);
	inject6_to(other_sn_mac, ibuf, n, 2 * SEC);
	CHECK_EQ(st->stat.eth_drop_dst, drop + 2);
	/* a group we are not in, in a frame we accept: dropped at IPv6 */
	struct nst_addr routers = ALL_NODES;
	routers.b[15] = 2;
	inject6_to(all_nodes_mac, ibuf, ip6_build(ibuf, &PEER6, &routers, IP6_NH_ICMPV6, 64, mbuf, len),
		   2 * SEC);
	CHECK_EQ(st->stat.ip6_drop_dst, 1);
	CHECK(!take6());
	teardown();
}

/* A packet PEER6 -> dst whose payload is ext (elen bytes of extension
 * headers, the first named by first) followed by an echo request. */
static size_t build_ext(const struct nst_addr *dst, uint8_t first, const uint8_t *ext, size_t elen)
{
	static uint8_t pl[2048];
	if (elen)
		memcpy(pl, ext, elen);
	size_t len = echo6_build(pl + elen, 9, 1, 8, &PEER6, dst);
	return ip6_build(ibuf, &PEER6, dst, first, 64, pl, elen + len);
}

/* The last take6 is a Parameter Problem code/pointer. */
#define expect_param_prob(code, ptr) do { \
	int line_ = __LINE__; \
	if (!expect_param_prob_(code, ptr)) \
		fprintf(stderr, "  (from line %d)\n", line_); \
} while (0)
static int expect_param_prob_(int code, uint32_t ptr)
{
	int f = test_failed_checks;
	if (!take6()) {
		CHECK(!"a Parameter Problem");
		return 0;
	}
	CHECK_EQ(o6.type, ICMP6_PARAM_PROB);
	CHECK(o6.csum_ok);
	CHECK_EQ(o6.code, code);
	CHECK_EQ(o6_u32(IP6_HDR_LEN + 4), ptr);
	CHECK(addr_is(&o6.dst, &PEER6));
	/* the offending packet quoted from its first byte */
	CHECK_EQ(o6.b[IP6_HDR_LEN + 8], 0x60);
	return f == test_failed_checks;
}

TEST(extension_headers)
{
	setup6();
	uint64_t t = 2 * SEC;
	/* Hop-by-Hop with PadN (and a Pad1), then ICMPv6: answered */
	uint8_t hbh[8] = { IP6_NH_ICMPV6, 0, 0 /* Pad1 */, 1, 3, 0, 0, 0 /* PadN */ };
	inject6(ibuf, build_ext(&ME6, IP6_NH_HOPOPTS, hbh, 8), t += SEC);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	/* an unknown option 00xxxxxx is skipped */
	uint8_t skip[8] = { IP6_NH_ICMPV6, 0, 0x1e, 4, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_HOPOPTS, skip, 8), t += SEC);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	/* 01xxxxxx: discarded silently */
	uint8_t disc[8] = { IP6_NH_ICMPV6, 0, 1, 0, 0x5e, 2, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_HOPOPTS, disc, 8), t += SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_drop_opt, 1);
	/* 10xxxxxx: Parameter Problem code 2 pointing at the option type */
	uint8_t pp[8] = { IP6_NH_ICMPV6, 0, 1, 0, 0x9e, 2, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_HOPOPTS, pp, 8), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_OPTION, IP6_HDR_LEN + 4);
	CHECK(addr_is(&o6.src, &ME6));
	/* ... even to a multicast destination (RFC 4443 2.4 e.3 exception) */
	inject6_to((const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }, ibuf,
		   build_ext(&ALL_NODES, IP6_NH_HOPOPTS, pp, 8), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_OPTION, IP6_HDR_LEN + 4);
	/* 11xxxxxx: the same, but silent for multicast */
	uint8_t pp3[8] = { IP6_NH_ICMPV6, 0, 0xc2, 4, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_DSTOPTS, pp3, 8), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_OPTION, IP6_HDR_LEN + 2);
	inject6_to((const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }, ibuf,
		   build_ext(&ALL_NODES, IP6_NH_DSTOPTS, pp3, 8), t += SEC);
	CHECK(!take6());
	/* an option running past its header: dropped */
	uint8_t bad[8] = { IP6_NH_ICMPV6, 0, 1, 9, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_DSTOPTS, bad, 8), t += SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_drop_exthdr, 1);
	/* Routing header, Segments Left 0: ignored */
	uint8_t rh0[8] = { IP6_NH_ICMPV6, 0, 0 /* type 0 */, 0 /* SL */, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_ROUTING, rh0, 8), t += SEC);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	/* Segments Left 1: Parameter Problem code 0 at the Routing Type */
	uint8_t rh1[24] = { IP6_NH_ICMPV6, 2, 0, 1 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_ROUTING, rh1, 24), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_HEADER, IP6_HDR_LEN + 2);
	CHECK_EQ(st->stat.ip6_drop_routing, 1);
	/* unknown next header: code 1 at the Next Header field */
	inject6(ibuf, build_ext(&ME6, 253, NULL, 0), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_NEXTHEADER, 6);
	uint8_t hbh_unk[8] = { 253, 0, 1, 4, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_HOPOPTS, hbh_unk, 8), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_NEXTHEADER, IP6_HDR_LEN);
	CHECK_EQ(st->stat.ip6_drop_proto, 2);
	/* Hop-by-Hop not first: code 1 pointing at the Next Header naming it */
	uint8_t dst_hbh[16] = { IP6_NH_HOPOPTS, 0, 1, 4, 0, 0, 0, 0, IP6_NH_ICMPV6, 0, 1, 4, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_DSTOPTS, dst_hbh, 16), t += SEC);
	expect_param_prob(ICMP6_PARAMPROB_NEXTHEADER, IP6_HDR_LEN);
	CHECK_EQ(st->stat.ip6_drop_hbh_order, 1);
	/* No Next Header: dropped, nothing sent */
	uint8_t nonext[8] = { IP6_NH_NONE, 0, 1, 4, 0, 0, 0, 0 };
	inject6(ibuf, build_ext(&ME6, IP6_NH_DSTOPTS, nonext, 8), t += SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_drop_nonext, 1);
	/* TCP and UDP go to the transports (what they do is theirs) */
	uint64_t drops = st->stat.ip6_drop_proto;
	uint8_t l4[20] = { 0 };
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_TCP, 64, l4, 20), t += SEC);
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_UDP, 64, l4, 8), t += SEC);
	CHECK_EQ(st->stat.ip6_drop_proto, drops);
	CHECK_EQ(count6(ICMP6_PARAM_PROB), 0);
	teardown();
}

TEST(icmp6_errors_rules_and_rate_limit)
{
	setup6();
	uint64_t t = 10 * SEC;
	/* Linux: 1000 ms per message, a burst of 6, per destination */
	for (int i = 0; i < 8; i++)
		inject6(ibuf, build_ext(&ME6, 253, NULL, 0), t);
	CHECK_EQ(count6(ICMP6_PARAM_PROB), 6);
	CHECK_EQ(st->stat.icmp6_ratelimited, 2);
	inject6(ibuf, build_ext(&ME6, 253, NULL, 0), t + SEC - 1);
	CHECK_EQ(count6(ICMP6_PARAM_PROB), 0);
	inject6(ibuf, build_ext(&ME6, 253, NULL, 0), t + SEC);
	CHECK_EQ(count6(ICMP6_PARAM_PROB), 1);
	t += 100 * SEC;
	/* never about an ICMPv6 error (RFC 4443 2.4 e.1) */
	uint8_t hbh[8] = { IP6_NH_ICMPV6, 0, 0x9e, 4, 0, 0, 0, 0 };
	static uint8_t pl[64];
	memcpy(pl, hbh, 8);
	uint8_t *m = pl + 8;
	memset(m, 0, 8);
	m[0] = ICMP6_DST_UNREACH;
	icmp6_sum(m, 8, &PEER6, &ME6);
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_HOPOPTS, 64, pl, 16), t);
	CHECK(!take6());
	/* an informational one is answered */
	m[0] = ICMP6_ECHO_REQUEST;
	icmp6_sum(m, 8, &PEER6, &ME6);
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_HOPOPTS, 64, pl, 16), t);
	CHECK_EQ(count6(ICMP6_PARAM_PROB), 1);
	/* never to a multicast destination (e.3) for code 1 */
	inject6_to((const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }, ibuf, build_ext(&ALL_NODES, 253, NULL, 0), t);
	CHECK(!take6());
	/* never to the unspecified source (e.6) */
	size_t n = build_ext(&ME6, 253, NULL, 0);
	memset(ibuf + 8, 0, 16);
	inject6(ibuf, n, t);
	CHECK(!take6());
	/* a long packet is quoted up to 1280 bytes in all */
	static uint8_t big[1400];
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, 253, 64, big, sizeof(big)), t);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_PARAM_PROB);
	CHECK_EQ(IP6_HDR_LEN + o6.plen, IP6_MIN_MTU);
	CHECK(o6.csum_ok);
	teardown();
}

/* A Packet Too Big quoting a packet ME6:1234 -> dst:80 of protocol proto. */
static void inject_ptb(const struct nst_addr *qsrc, const struct nst_addr *dst, uint8_t proto, uint32_t mtu,
		       uint64_t now)
{
	static uint8_t m[8 + IP6_HDR_LEN + 8];
	memset(m, 0, sizeof(m));
	m[0] = ICMP6_PACKET_TOO_BIG;
	m[4] = (uint8_t)(mtu >> 24); m[5] = (uint8_t)(mtu >> 16); m[6] = (uint8_t)(mtu >> 8); m[7] = (uint8_t)mtu;
	uint8_t l4[8] = { 0x04, 0xd2, 0, 80, 0, 0, 0, 1 };
	ip6_build(m + 8, qsrc, dst, proto, 64, l4, 8);
	inject_icmp6(&PEER6, &ME6, 64, m, sizeof(m), now);
}

TEST(packet_too_big_lowers_the_path_mtu)
{
	setup6();
	struct nst_addr far = { .b = { 0x20, 0x01, 0x0d, 0xb9, [15] = 5 } };
	CHECK_EQ(ipv6_mtu(st, &far), 1500);
	inject_ptb(&ME6, &far, IP6_NH_TCP, 1400, 2 * SEC);
	CHECK_EQ(ipv6_mtu(st, &far), 1400);
	CHECK_EQ(ipv6_mtu(st, &PEER6), 1500);
	CHECK_EQ(st->stat.icmp6_ptb_rx, 1);
	CHECK_EQ(st->stat.icmp6_pmtu_update, 1);
	/* handed to tcp_icmp6_error, which has no such connection: ignored,
	 * counted as an IPv6 error (icmp_err_ignored is IPv4's) */
	CHECK_EQ(st->stat.icmp6_err_ignored, 1);
	CHECK_EQ(st->stat.icmp_err_ignored, 0);
	CHECK_EQ(st->stat.icmp_pmtu_update, 0);
	/* never raised by a PTB, never below 1280 */
	inject_ptb(&ME6, &far, IP6_NH_UDP, 1450, 2 * SEC);
	CHECK_EQ(ipv6_mtu(st, &far), 1400);
	inject_ptb(&ME6, &far, IP6_NH_UDP, 600, 2 * SEC);
	CHECK_EQ(ipv6_mtu(st, &far), IP6_MIN_MTU);
	/* a quote of a packet not ours changes nothing */
	struct nst_addr far2 = far;
	far2.b[15] = 6;
	inject_ptb(&PEER6, &far2, IP6_NH_TCP, 1300, 2 * SEC);
	CHECK_EQ(ipv6_mtu(st, &far2), 1500);
	CHECK_EQ(st->stat.icmp6_err_ignored, 4);           /* and the two UDP ones: no socket */
	/* output larger than the path MTU: -EMSGSIZE */
	struct pkt *p = pkt_alloc();
	memset(pkt_put(p, 1300), 0, 1300);
	CHECK_EQ(ipv6_output(st, p, IP6_NH_UDP, &ME6, &far), -EMSGSIZE);
	/* RFC 8201 4: after 10 minutes the estimate is tried larger again */
	stack_poll(st, 2 * SEC + IP6_PMTU_EXPIRE_US);
	CHECK_EQ(ipv6_mtu(st, &far), 1500);
	teardown();
}

/* Fragments of the packet PEER6 -> ME6 whose upper layer (next) is pl
 * (len bytes), id, offsets [off, off + n). */
static size_t build_frag(uint8_t next, const uint8_t *pl, unsigned off, unsigned n, int more, uint32_t id)
{
	static uint8_t f[8 + 4096];
	f[0] = next;
	f[1] = 0;
	uint16_t fo = (uint16_t)(off | (more ? 1 : 0));
	f[2] = (uint8_t)(fo >> 8);
	f[3] = (uint8_t)fo;
	f[4] = (uint8_t)(id >> 24); f[5] = (uint8_t)(id >> 16); f[6] = (uint8_t)(id >> 8); f[7] = (uint8_t)id;
	memcpy(f + 8, pl + off, n);
	return ip6_build(ibuf, &PEER6, &ME6, IP6_NH_FRAGMENT, 64, f, 8 + n);
}

TEST(reassembly)
{
	setup6();
	uint64_t t = 2 * SEC;
	/* an echo request of 2000 bytes of data in three fragments, in order */
	size_t len = echo6_build(mbuf, 5, 1, 2000, &PEER6, &ME6);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, 1000, 1, 77), t);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1000, 800, 1, 77), t);
	CHECK(!take6());
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1800, (unsigned)len - 1800, 0, 77), t);
	CHECK_EQ(st->stat.ip6_frag_reasm_ok, 1);
	/* the reply is too large for the link: fragmented in turn */
	static uint8_t re[4096];
	unsigned got = 0, nfrag = 0;
	uint32_t rid = 0;
	int last_seen = 0;
	while (take6()) {
		REQUIRE(o6.next == IP6_NH_FRAGMENT);
		CHECK(IP6_HDR_LEN + o6.plen <= 1500);
		const uint8_t *fh = o6.b + IP6_HDR_LEN;
		uint16_t fo = (uint16_t)(fh[2] << 8 | fh[3]);
		unsigned off = fo & 0xfff8u, n = o6.plen - 8;
		CHECK_EQ(fh[0], IP6_NH_ICMPV6);
		if (nfrag == 0)
			rid = o6_u32(IP6_HDR_LEN + 4);
		CHECK_EQ(o6_u32(IP6_HDR_LEN + 4), rid);
		if (fo & 1)
			CHECK_EQ(n % 8, 0);
		else
			last_seen = 1;
		memcpy(re + off, fh + 8, n);
		got += n;
		nfrag++;
	}
	CHECK_EQ(nfrag, 2);
	CHECK(last_seen);
	CHECK_EQ(got, len);
	CHECK_EQ(re[0], ICMP6_ECHO_REPLY);
	CHECK_EQ(memcmp(re + 8, mbuf + 8, len - 8), 0);
	CHECK_EQ(csum_fold(csum_add(csum_pseudo6(&ME6, &PEER6, IP6_NH_ICMPV6, got), re, got)), 0);

	/* out of order */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1800, (unsigned)len - 1800, 0, 78), t);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1000, 800, 1, 78), t);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1000, 800, 1, 78), t);   /* duplicate */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, 1000, 1, 78), t);
	CHECK_EQ(st->stat.ip6_frag_reasm_ok, 2);
	CHECK_EQ(st->stat.ip6_frag_dup, 1);
	CHECK_EQ(count6(IP6_NH_FRAGMENT) + 1, 1);         /* drained (fragments of the reply) */

	/* overlapping: the whole packet goes (RFC 5722) */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, 1000, 1, 79), t);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 992, 808, 1, 79), t);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1800, (unsigned)len - 1800, 0, 79), t);
	CHECK_EQ(st->stat.ip6_frag_overlap, 1);
	CHECK_EQ(st->stat.ip6_frag_reasm_ok, 2);
	CHECK(!take6());

	/* a fragment with M set and a length not a multiple of 8: Parameter
	 * Problem code 0 at the Payload Length */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, 1001, 1, 80), t);
	expect_param_prob(ICMP6_PARAMPROB_HEADER, 4);
	/* beyond 65535: at the Fragment Offset */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 65000, 600, 0, 81), t);
	expect_param_prob(ICMP6_PARAMPROB_HEADER, IP6_HDR_LEN + 2);

	/* an atomic fragment is processed alone (RFC 6946) */
	size_t small = echo6_build(mbuf, 5, 2, 8, &PEER6, &ME6);
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, (unsigned)small, 0, 82), t);
	CHECK_EQ(count6(ICMP6_ECHO_REPLY), 1);
	CHECK_EQ(st->stat.ip6_frag_atomic, 1);
	teardown();
}

TEST(reassembly_timeout_sends_time_exceeded)
{
	setup6();
	uint64_t t = 2 * SEC;
	size_t len = echo6_build(mbuf, 5, 1, 2000, &PEER6, &ME6);
	(void)len;
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 0, 1000, 1, 90), t);
	CHECK_EQ(ip6_frag_next_deadline(st), t + 60 * SEC);
	stack_poll(st, t + 60 * SEC - 1);
	CHECK(!take6());
	stack_poll(st, t + 60 * SEC);
	REQUIRE(take6());
	CHECK_EQ(o6.type, ICMP6_TIME_EXCEEDED);
	CHECK_EQ(o6.code, 1);
	CHECK(o6.csum_ok);
	CHECK(addr_is(&o6.dst, &PEER6));
	CHECK_EQ(o6.b[IP6_HDR_LEN + 8 + 6], IP6_NH_FRAGMENT);  /* the first fragment quoted */
	CHECK_EQ(st->stat.ip6_frag_timeout, 1);
	/* without the first fragment: no message */
	inject6(ibuf, build_frag(IP6_NH_ICMPV6, mbuf, 1000, 800, 1, 91), t + 61 * SEC);
	stack_poll(st, t + 121 * SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_frag_timeout, 2);
	CHECK_EQ(ip6_frag_next_deadline(st), 0);
	teardown();
}

TEST(output_fragments_a_udp_datagram)
{
	setup6();
	/* 3000 bytes of UDP payload through ipv6_output_frag */
	struct pkt *p = pkt_alloc_large();
	REQUIRE(p);
	uint8_t *u = pkt_put(p, 8 + 3000);
	u[0] = 0x10; u[1] = 0x00; u[2] = 0x00; u[3] = 53;
	u[4] = (uint8_t)(3008 >> 8); u[5] = (uint8_t)3008;
	u[6] = u[7] = 0;
	for (int i = 0; i < 3000; i++)
		u[8 + i] = (uint8_t)i;
	static uint8_t orig[3008];
	memcpy(orig, u, 3008);
	CHECK_EQ(ipv6_output_frag(st, p, IP6_NH_UDP, &ME6, &PEER6), 0);
	static uint8_t re[4096];
	static uint8_t frames[4][1600];
	static size_t flen[4];
	unsigned got = 0, n = 0;
	uint32_t flow = 0;
	while (take6() && n < 4) {
		REQUIRE(o6.next == IP6_NH_FRAGMENT);
		CHECK(IP6_HDR_LEN + o6.plen <= 1500);
		CHECK(o6.flow != 0);
		if (n == 0)
			flow = o6.flow;
		CHECK_EQ(o6.flow, flow);              /* one flow label for the packet */
		const uint8_t *fh = o6.b + IP6_HDR_LEN;
		unsigned off = (unsigned)(fh[2] << 8 | fh[3]) & 0xfff8u;
		CHECK_EQ(off % 8, 0);
		memcpy(re + off, fh + 8, o6.plen - 8);
		got += o6.plen - 8;
		memcpy(frames[n], o6.b, IP6_HDR_LEN + o6.plen);
		flen[n] = IP6_HDR_LEN + o6.plen;
		n++;
	}
	CHECK_EQ(n, 3);
	CHECK_EQ(got, 3008);
	CHECK_EQ(memcmp(re, orig, 3008), 0);
	CHECK_EQ(st->stat.ip6_frag_create_ok, 1);
	CHECK_EQ(st->stat.ip6_frag_tx, 3);
	/* the fragments, sent back to us, reassemble and go to UDP */
	for (unsigned i = n; i-- > 0;) {
		memcpy(frames[i] + 8, PEER6.b, 16);
		memcpy(frames[i] + 24, ME6.b, 16);
		inject6(frames[i], flen[i], 3 * SEC);
	}
	CHECK_EQ(st->stat.ip6_frag_reasm_ok, 1);
	CHECK_EQ(st->stat.ip6_frag_big, 0);
	teardown();
}

TEST(output_header_and_routing)
{
	setup6();
	struct pkt *p = pkt_alloc();
	uint8_t *u = pkt_put(p, 8);
	memset(u, 0, 8);
	u[1] = 99; u[3] = 53;
	p->ip_tos = 0xb8;
	p->ip_ttl = 7;
	CHECK_EQ(ipv6_output(st, p, IP6_NH_UDP, &ME6, &PEER6), 0);
	REQUIRE(take6());
	CHECK_EQ(o6.tc, 0xb8);
	CHECK_EQ(o6.hop, 7);
	CHECK_EQ(o6.plen, 8);
	CHECK_EQ(o6.next, IP6_NH_UDP);
	CHECK(o6.flow != 0);
	uint32_t flow = o6.flow;
	/* the same flow: the same label; another port: (almost surely) another */
	p = pkt_alloc();
	u = pkt_put(p, 8);
	memset(u, 0, 8);
	u[1] = 99; u[3] = 53;
	ipv6_output(st, p, IP6_NH_UDP, &ME6, &PEER6);
	REQUIRE(take6());
	CHECK_EQ(o6.flow, flow);
	CHECK_EQ(o6.hop, IP6_DEFAULT_HOPS);
	p = pkt_alloc();
	u = pkt_put(p, 8);
	memset(u, 0, 8);
	u[1] = 98; u[3] = 53;
	ipv6_output(st, p, IP6_NH_UDP, &ME6, &PEER6);
	REQUIRE(take6());
	CHECK(o6.flow != flow);
	/* off-link without a router */
	struct nst_addr far = { .b = { 0x20, 0x01, 0x0d, 0xb9, [15] = 5 } };
	p = pkt_alloc();
	memset(pkt_put(p, 8), 0, 8);
	CHECK_EQ(ipv6_output(st, p, IP6_NH_UDP, &ME6, &far), -ENETUNREACH);
	CHECK_EQ(st->stat.ip6_drop_noroute, 1);
	teardown();
}

TEST(no_ipv6_drops_everything)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .addr6 = ME6, .prefix6_len = 64,
				    .no_ipv6 = 1 };
	st = stack_create(&cfg, dev, T0);
	CHECK(!take6());                        /* no DAD, no RS */
	size_t len = echo6_build(mbuf, 1, 1, 0, &PEER6, &ME6);
	inject6(ibuf, ip6_build(ibuf, &PEER6, &ME6, IP6_NH_ICMPV6, 64, mbuf, len), 2 * SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.ip6_drop_disabled, 1);
	CHECK(!stack_owns6(st, &ME6));
	CHECK(!stack_routes6(st, &PEER6));
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	CHECK(!ipv6_mcast_mac_ours(st, all_nodes_mac));
	struct pkt *p = pkt_alloc();
	memset(pkt_put(p, 8), 0, 8);
	CHECK_EQ(ipv6_output(st, p, IP6_NH_UDP, &ME6, &PEER6), -ENETUNREACH);
	struct nst_addr s;
	CHECK_EQ(ipv6_src_for(st, &PEER6, &s), -ENETUNREACH);
	CHECK_EQ(stack_next_deadline(st), 0);
	teardown();
}

TEST(loopback_serves_ipv6_loopback)
{
	struct netdev *lo = memdev_loop();
	struct stack_config cfg = { .addr = 0x7f000001u, .prefix_len = 8, .loopback = 1 };
	st = stack_create(&cfg, lo, 0);
	struct nst_addr one = { .b = { [15] = 1 } };
	CHECK(stack_owns6(st, &one));
	CHECK(stack_routes6(st, &one));
	CHECK(!stack_routes6(st, &PEER6));
	struct nst_addr s;
	CHECK_EQ(ipv6_src_for(st, &one, &s), 0);
	CHECK(addr_is(&s, &one));
	size_t len = echo6_build(mbuf, 1, 1, 8, &one, &one);
	struct pkt *p = pkt_alloc();
	memcpy(pkt_put(p, len), mbuf, len);
	CHECK_EQ(icmp6_output(st, p, &one, &one, 0), 0);
	stack_flush(st);
	stack_poll(st, 1);                       /* request comes back, reply goes out */
	CHECK_EQ(st->stat.icmp6_echo_tx, 1);
	CHECK_EQ(st->stat.nd6_ns_tx, 0);
	stack_poll(st, 2);                       /* the reply is received and ignored */
	CHECK_EQ(st->stat.icmp6_rx, 2);
	CHECK_EQ(st->stat.ip6_drop_src, 0);
	CHECK_EQ(stack_next_deadline(st), 0);
	stack_destroy(st);
	netdev_close(lo);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

int main(void)
{
	pkt_pool_init(1024);
	pkt_pool_init_large(16);
	skip_nd = 1;
	RUN(addresses_and_source_selection);
	RUN(echo_request_answered);
	RUN(input_validation);
	RUN(multicast_mac_acceptance);
	RUN(extension_headers);
	RUN(icmp6_errors_rules_and_rate_limit);
	RUN(packet_too_big_lowers_the_path_mtu);
	RUN(reassembly);
	RUN(reassembly_timeout_sends_time_exceeded);
	RUN(output_fragments_a_udp_datagram);
	RUN(output_header_and_routing);
	RUN(no_ipv6_drops_everything);
	RUN(loopback_serves_ipv6_loopback);
	return TEST_SUMMARY();
}
