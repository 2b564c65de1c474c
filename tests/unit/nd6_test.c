/* Neighbor Discovery (RFC 4861) and Duplicate Address Detection (RFC 4862)
 * at exact times: the start-up frames, solicitations answered, the
 * validation that keeps off-link spoofs out, address resolution with its
 * retries, the reachability states, router advertisements. The test is the
 * peer (ip6_harness.h). */
#include "tests/unit/ip6_harness.h"

static uint8_t mbuf[2048];

#define ND_NA_R 0x80
#define ND_NA_S 0x40
#define ND_NA_O 0x20

/* An NS for target in mbuf, with a source link-layer option (peer_mac)
 * unless !slla; its length. */
static size_t ns_build(const struct nst_addr *target, int slla)
{
	memset(mbuf, 0, 32);
	mbuf[0] = ND_NEIGHBOR_SOLICIT;
	memcpy(mbuf + 8, target->b, 16);
	if (!slla)
		return 24;
	mbuf[24] = 1;
	mbuf[25] = 1;
	memcpy(mbuf + 26, peer_mac, 6);
	return 32;
}

/* An NA for target with flags and a target link-layer option (mac; NULL:
 * none) in mbuf; its length. */
static size_t na_build(const struct nst_addr *target, uint8_t flags, const uint8_t *mac)
{
	memset(mbuf, 0, 32);
	mbuf[0] = ND_NEIGHBOR_ADVERT;
	mbuf[4] = flags;
	memcpy(mbuf + 8, target->b, 16);
	if (!mac)
		return 24;
	mbuf[24] = 2;
	mbuf[25] = 1;
	memcpy(mbuf + 26, mac, 6);
	return 32;
}

static void sn_of(const struct nst_addr *a, struct nst_addr *sn)
{
	ip6_solicited_node(a, sn);
}

/* The last take6 is an ND message type t from src to dst at Ethernet mac. */
static int is_nd(uint8_t t, const struct nst_addr *src, const struct nst_addr *dst, const uint8_t *mac)
{
	return o6.next == IP6_NH_ICMPV6 && o6.type == t && o6.hop == 255 && o6.csum_ok &&
	       addr_is(&o6.src, src) && addr_is(&o6.dst, dst) && memcmp(o6.eth_dst, mac, 6) == 0;
}

static int o6_target_is(const struct nst_addr *a) { return memcmp(o6.b + IP6_HDR_LEN + 8, a->b, 16) == 0; }
/* the link-layer option of type t after the 24-byte body is ours */
static int o6_lla_is_ours(uint8_t t)
{
	const uint8_t *o = o6.b + IP6_HDR_LEN + 24;
	return o6.plen >= 32 && o[0] == t && o[1] == 1 && memcmp(o + 2, dev->mac, 6) == 0;
}

TEST(start_dad_rs_then_unsolicited_na)
{
	setup6_raw(0);
	struct nst_addr sn_ll, sn_gl;
	sn_of(&ME_LL, &sn_ll);
	sn_of(&ME6, &sn_gl);
	const uint8_t mac_ll[6] = { 0x33, 0x33, 0xff, 0, 0, 1 }, mac_gl[6] = { 0x33, 0x33, 0xff, 0, 0, 2 };
	const uint8_t mac_rtr[6] = { 0x33, 0x33, 0, 0, 0, 2 }, mac_all[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct nst_addr routers = ALL_NODES;
	routers.b[15] = 2;
	/* RFC 4862 5.4.2: from ::, to the solicited-node group, no option */
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &UNSPEC, &sn_ll, mac_ll));
	CHECK(o6_target_is(&ME_LL));
	CHECK_EQ(o6.plen, 24);
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &UNSPEC, &sn_gl, mac_gl));
	CHECK(o6_target_is(&ME6));
	/* a router solicitation, without our link-layer address while optimistic */
	REQUIRE(take6());
	CHECK(is_nd(ND_ROUTER_SOLICIT, &ME_LL, &routers, mac_rtr));
	CHECK_EQ(o6.plen, 8);
	CHECK(!take6());
	CHECK_EQ(st->stat.nd6_dad_ns_tx, 2);
	/* optimistic: usable at once */
	CHECK(stack_owns6(st, &ME6));
	CHECK_EQ(stack_next_deadline(st), T0 + SEC);
	/* at 1 s: preferred, announced */
	stack_poll(st, T0 + SEC);
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_ADVERT, &ME_LL, &ALL_NODES, mac_all));
	CHECK_EQ(o6.b[IP6_HDR_LEN + 4], ND_NA_O);
	CHECK(o6_target_is(&ME_LL));
	CHECK(o6_lla_is_ours(2));
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_ADVERT, &ME6, &ALL_NODES, mac_all));
	/* RS again at 4 s and 8 s (with our address now), then no more */
	CHECK_EQ(stack_next_deadline(st), T0 + 4 * SEC);
	stack_poll(st, T0 + 4 * SEC);
	REQUIRE(take6());
	CHECK(is_nd(ND_ROUTER_SOLICIT, &ME_LL, &routers, mac_rtr));
	CHECK_EQ(o6.plen, 16);
	stack_poll(st, T0 + 8 * SEC);
	CHECK_EQ(count6(ND_ROUTER_SOLICIT), 1);
	CHECK_EQ(st->stat.nd6_rs_tx, 3);
	CHECK_EQ(stack_next_deadline(st), 0);
	teardown();

	/* an IPv4-only configuration is silent until IPv6 shows up */
	setup6_raw(1);
	CHECK(!take6());
	CHECK_EQ(stack_next_deadline(st), 0);
	size_t len = ns_build(&PEER_LL, 1);
	inject_icmp6(&PEER_LL, &sn_ll, 255, mbuf, len, T0 + 5);
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &UNSPEC, &sn_ll, mac_ll));
	teardown();
}

TEST(dad_conflicts_mark_the_address_duplicate)
{
	setup6_raw(0);
	drain();
	/* someone answers for our tentative global address */
	size_t len = na_build(&ME6, ND_NA_O, peer_mac);
	inject_icmp6(&PEER_LL, &ALL_NODES, 255, mbuf, len, T0 + 500000);
	CHECK_EQ(st->stat.nd6_dad_dup, 1);
	CHECK(!stack_owns6(st, &ME6));
	struct nst_addr s;
	CHECK_EQ(ipv6_src_for(st, &PEER6, &s), -ENETUNREACH);
	struct nst_addr ll, gl;
	stack_addr6(st, &ll, &gl, NULL);
	CHECK(nst_addr_is_unspec(&gl));
	/* someone else's DAD probe for our tentative link-local address */
	struct nst_addr sn;
	sn_of(&ME_LL, &sn);
	len = ns_build(&ME_LL, 0);
	inject_icmp6(&UNSPEC, &sn, 255, mbuf, len, T0 + 600000);
	CHECK_EQ(st->stat.nd6_dad_dup, 2);
	CHECK(!stack_owns6(st, &ME_LL));
	/* nothing announced at the end of DAD */
	stack_poll(st, T0 + SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_ADVERT), 0);
	teardown();

	/* after DAD: a probe for our address is answered, the address kept */
	setup6();
	sn_of(&ME6, &sn);
	len = ns_build(&ME6, 0);
	inject_icmp6(&UNSPEC, &sn, 255, mbuf, len, 2 * SEC);
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_ADVERT, &ME6, &ALL_NODES, ((const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 })));
	CHECK_EQ(o6.b[IP6_HDR_LEN + 4], ND_NA_O);   /* Solicited clear (RFC 4861 7.2.4) */
	CHECK(stack_owns6(st, &ME6));
	len = na_build(&ME6, ND_NA_O, peer_mac);
	inject_icmp6(&PEER_LL, &ALL_NODES, 255, mbuf, len, 2 * SEC);
	CHECK_EQ(st->stat.nd6_dad_conflict, 1);
	CHECK(stack_owns6(st, &ME6));
	teardown();
}

TEST(solicitation_answered_and_validated)
{
	setup6();
	struct nst_addr sn;
	sn_of(&ME6, &sn);
	struct nst_addr peer2 = PEER6;
	peer2.b[15] = 3;
	const uint8_t mac2[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x03 };
	(void)mac2;
	size_t len = ns_build(&ME6, 1);
	inject_icmp6(&peer2, &sn, 255, mbuf, len, 2 * SEC);
	REQUIRE(take6());
	/* RFC 4861 7.2.4: to the source, at the link-layer address it gave */
	CHECK(is_nd(ND_NEIGHBOR_ADVERT, &ME6, &peer2, peer_mac));
	CHECK_EQ(o6.b[IP6_HDR_LEN + 4], ND_NA_S | ND_NA_O);
	CHECK(o6_target_is(&ME6));
	CHECK(o6_lla_is_ours(2));
	const struct nd6_entry *e = nd6_lookup(st, &peer2);
	REQUIRE(e);
	CHECK_EQ(e->state, ND6_DELAY);            /* STALE, then used by the answer */
	CHECK_EQ(memcmp(e->mac, peer_mac, 6), 0);
	/* hop limit 254: could have come through a router (7.1.1) */
	inject_icmp6(&PEER6, &sn, 254, mbuf, len, 2 * SEC);
	CHECK(!take6());
	CHECK_EQ(st->stat.nd6_drop_hoplimit, 1);
	/* code not 0, too short, a zero-length option, a multicast target */
	mbuf[1] = 1;
	inject_icmp6(&PEER6, &sn, 255, mbuf, len, 2 * SEC);
	mbuf[1] = 0;
	inject_icmp6(&PEER6, &sn, 255, mbuf, 20, 2 * SEC);
	mbuf[25] = 0;
	inject_icmp6(&PEER6, &sn, 255, mbuf, len, 2 * SEC);
	CHECK_EQ(st->stat.nd6_drop_bad, 3);
	len = ns_build(&ALL_NODES, 1);
	inject_icmp6(&PEER6, &sn, 255, mbuf, len, 2 * SEC);
	CHECK_EQ(st->stat.nd6_drop_target, 1);
	/* from :: : only to a solicited-node group, and with no link-layer option */
	len = ns_build(&ME6, 1);
	inject_icmp6(&UNSPEC, &sn, 255, mbuf, len, 2 * SEC);
	len = ns_build(&ME6, 0);
	inject_icmp6(&UNSPEC, &ME6, 255, mbuf, len, 2 * SEC);
	CHECK_EQ(st->stat.nd6_drop_dad_bad, 2);
	/* a target not ours */
	len = ns_build(&PEER6, 1);
	inject_icmp6(&PEER6, &sn, 255, mbuf, len, 2 * SEC);
	CHECK_EQ(st->stat.nd6_ns_not_ours, 1);
	CHECK(!take6());
	CHECK(stack_owns6(st, &ME6));
	teardown();
}

/* Send an 8-byte UDP-ish payload to dst from ME6 through ipv6_output. */
static int send_to(const struct nst_addr *dst)
{
	struct pkt *p = pkt_alloc();
	memset(pkt_put(p, 8), 0, 8);
	return ipv6_output(st, p, IP6_NH_UDP, &ME6, dst);
}

TEST(resolution_queues_then_sends)
{
	setup6_raw(0);
	stack_poll(st, T0 + SEC);
	drain();
	uint64_t t = 2 * SEC;
	st->now_us = t;
	CHECK_EQ(send_to(&PEER6), 0);
	CHECK_EQ(send_to(&PEER6), 0);
	CHECK_EQ(st->stat.nd6_queued, 2);
	struct nst_addr sn;
	sn_of(&PEER6, &sn);
	const uint8_t sn_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 1 };
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &ME6, &sn, sn_mac));
	CHECK(o6_target_is(&PEER6));
	CHECK(o6_lla_is_ours(1));
	CHECK(!take6());
	/* a spoofed answer from off-link (hop limit 254) is ignored */
	size_t len = na_build(&PEER6, ND_NA_S | ND_NA_O, peer_mac);
	inject_icmp6(&PEER6, &ME6, 254, mbuf, len, t + 10);
	CHECK(!take6());
	CHECK_EQ(nd6_lookup(st, &PEER6)->state, ND6_INCOMPLETE);
	/* the answer: both packets go, in order, to the peer's MAC */
	inject_icmp6(&PEER6, &ME6, 255, mbuf, len, t + 20);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_UDP);
	CHECK_EQ(memcmp(o6.eth_dst, peer_mac, 6), 0);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_UDP);
	CHECK_EQ(nd6_lookup(st, &PEER6)->state, ND6_REACHABLE);
	teardown();
}

/* Address resolution in the first second (our address still optimistic,
 * DAD running): the solicitation carries our link-layer address, since
 * Linux answers no multicast solicitation without it from a neighbor it
 * does not know (nd6_send_ns): without it a program's first IPv6 connection
 * waited for the end of DAD. */
TEST(resolution_while_optimistic_carries_our_lla)
{
	setup6_raw(0);
	drain();
	st->now_us = T0 + 100;
	CHECK(stack_owns6(st, &ME6));
	CHECK_EQ(send_to(&PEER6), 0);
	struct nst_addr sn;
	sn_of(&PEER6, &sn);
	const uint8_t sn_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 1 };
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &ME6, &sn, sn_mac));
	CHECK(o6_target_is(&PEER6));
	CHECK(o6_lla_is_ours(1));
	teardown();
}

TEST(resolution_retries_and_gives_up)
{
	setup6();
	uint64_t t = 2 * SEC;
	uint64_t ns0 = st->stat.nd6_ns_tx;
	struct nst_addr nobody = PEER6;
	nobody.b[15] = 7;
	st->now_us = t;
	send_to(&nobody);
	send_to(&nobody);
	send_to(&nobody);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 1);
	CHECK_EQ(nd6_next_deadline(st), t + SEC);
	stack_poll(st, t + SEC - 1);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 0);
	stack_poll(st, t + SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 1);
	stack_poll(st, t + 2 * SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 1);
	CHECK_EQ(st->stat.nd6_drop_unresolved, 0);
	/* MAX_MULTICAST_SOLICIT 3, RetransTimer after the last: failed */
	stack_poll(st, t + 3 * SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 0);
	CHECK_EQ(st->stat.nd6_drop_unresolved, 3);
	CHECK(!nd6_lookup(st, &nobody));
	CHECK_EQ(st->stat.nd6_ns_tx, ns0 + 3);
	teardown();
}

TEST(reachable_stale_delay_probe)
{
	setup6();
	/* nd6_update at T0 + 1 s: REACHABLE for 30 s */
	const struct nd6_entry *e = nd6_lookup(st, &PEER6);
	REQUIRE(e);
	CHECK_EQ(e->state, ND6_REACHABLE);
	stack_poll(st, T0 + 31 * SEC - 1);
	CHECK_EQ(e->state, ND6_REACHABLE);
	stack_poll(st, T0 + 31 * SEC);
	CHECK_EQ(e->state, ND6_STALE);
	stack_poll(st, 36 * SEC);       /* the last router solicitation */
	CHECK_EQ(st->stat.nd6_rs_tx, 3);
	drain();
	/* used: sent at once on the cached address, DELAY for 5 s */
	uint64_t t = 40 * SEC;
	st->now_us = t;
	send_to(&PEER6);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_UDP);
	CHECK_EQ(e->state, ND6_DELAY);
	stack_poll(st, t + 5 * SEC - 1);
	CHECK_EQ(e->state, ND6_DELAY);
	/* PROBE: a unicast solicitation to the cached address */
	stack_poll(st, t + 5 * SEC);
	CHECK_EQ(e->state, ND6_PROBE);
	REQUIRE(take6());
	CHECK(is_nd(ND_NEIGHBOR_SOLICIT, &ME6, &PEER6, peer_mac));
	CHECK(o6_target_is(&PEER6));
	/* still used meanwhile */
	send_to(&PEER6);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_UDP);
	/* retries 1 s apart, MAX_UNICAST_SOLICIT 3, then deleted */
	stack_poll(st, t + 6 * SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 1);
	stack_poll(st, t + 7 * SEC);
	CHECK_EQ(count6(ND_NEIGHBOR_SOLICIT), 1);
	stack_poll(st, t + 8 * SEC);
	CHECK(!nd6_lookup(st, &PEER6));
	teardown();

	/* a solicited advertisement in PROBE: REACHABLE again */
	setup6();
	stack_poll(st, T0 + 31 * SEC);
	st->now_us = 40 * SEC;
	send_to(&PEER6);
	stack_poll(st, 45 * SEC);
	drain();
	size_t len = na_build(&PEER6, ND_NA_S, NULL);
	inject_icmp6(&PEER6, &ME6, 255, mbuf, len, 45 * SEC + 10);
	e = nd6_lookup(st, &PEER6);
	REQUIRE(e);
	CHECK_EQ(e->state, ND6_REACHABLE);
	/* an unsolicited one with another address and no Override: ignored
	 * for the address, REACHABLE -> STALE (7.2.5) */
	const uint8_t mac2[6] = { 2, 9, 9, 9, 9, 9 };
	len = na_build(&PEER6, 0, mac2);
	inject_icmp6(&PEER6, &ME6, 255, mbuf, len, 45 * SEC + 20);
	CHECK_EQ(e->state, ND6_STALE);
	CHECK_EQ(memcmp(e->mac, peer_mac, 6), 0);
	/* with Override: the new address */
	len = na_build(&PEER6, ND_NA_O, mac2);
	inject_icmp6(&PEER6, &ME6, 255, mbuf, len, 45 * SEC + 30);
	CHECK_EQ(memcmp(e->mac, mac2, 6), 0);
	CHECK_EQ(e->state, ND6_STALE);
	/* an advertisement for nobody we asked about: ignored */
	struct nst_addr x = PEER6;
	x.b[15] = 0x42;
	len = na_build(&x, ND_NA_O, mac2);
	inject_icmp6(&PEER6, &ME6, 255, mbuf, len, 45 * SEC + 40);
	CHECK_EQ(st->stat.nd6_na_ignored, 1);
	CHECK(!nd6_lookup(st, &x));
	teardown();
}

/* An RA from src with lifetime (s), a source link-layer option (peer_mac)
 * and an MTU option (0: none) in mbuf; its length. */
static size_t ra_build(uint16_t lifetime, uint32_t mtu)
{
	memset(mbuf, 0, 40);
	mbuf[0] = ND_ROUTER_ADVERT;
	mbuf[4] = 0;            /* Cur Hop Limit: unspecified */
	mbuf[6] = (uint8_t)(lifetime >> 8);
	mbuf[7] = (uint8_t)lifetime;
	mbuf[16] = 1;
	mbuf[17] = 1;
	memcpy(mbuf + 18, peer_mac, 6);
	if (!mtu)
		return 24;
	mbuf[24] = 5;
	mbuf[25] = 1;
	mbuf[28] = (uint8_t)(mtu >> 24); mbuf[29] = (uint8_t)(mtu >> 16);
	mbuf[30] = (uint8_t)(mtu >> 8); mbuf[31] = (uint8_t)mtu;
	return 32;
}

TEST(router_advertisement_sets_the_default_router)
{
	setup6_raw(0);
	stack_poll(st, T0 + SEC);
	drain();
	struct nst_addr far = { .b = { 0x20, 0x01, 0x0d, 0xb9, [15] = 5 } };
	uint64_t t = 2 * SEC;
	st->now_us = t;
	CHECK_EQ(send_to(&far), -ENETUNREACH);
	/* not from a link-local source, or with hop limit 254: ignored */
	size_t len = ra_build(1800, 1400);
	inject_icmp6(&PEER6, &ALL_NODES, 255, mbuf, len, t);
	inject_icmp6(&PEER_LL, &ALL_NODES, 254, mbuf, len, t);
	CHECK_EQ(st->stat.nd6_drop_ra_src, 1);
	CHECK_EQ(st->stat.nd6_drop_hoplimit, 1);
	CHECK(!stack_routes6(st, &far));
	/* accepted: default router, its address cached (STALE, a router), the MTU */
	inject_icmp6(&PEER_LL, &ALL_NODES, 255, mbuf, len, t);
	CHECK_EQ(st->stat.nd6_ra_rx, 1);
	CHECK(stack_routes6(st, &far));
	const struct nd6_entry *e = nd6_lookup(st, &PEER_LL);
	REQUIRE(e);
	CHECK_EQ(e->state, ND6_STALE);
	CHECK(e->is_router);
	CHECK_EQ(ipv6_mtu(st, &far), 1400);
	CHECK_EQ(ipv6_mtu(st, &PEER6), 1400);
	CHECK_EQ(st->stat.nd6_mtu_update, 1);
	/* router solicitations stop (6.3.7) */
	CHECK_EQ(nd6_next_deadline(st), 0);
	/* off-link output goes to the router's MAC */
	CHECK_EQ(send_to(&far), 0);
	REQUIRE(take6());
	CHECK_EQ(o6.next, IP6_NH_UDP);
	CHECK(addr_is(&o6.dst, &far));
	CHECK_EQ(memcmp(o6.eth_dst, peer_mac, 6), 0);
	/* lifetime 0 removes it */
	drain();
	len = ra_build(0, 0);
	inject_icmp6(&PEER_LL, &ALL_NODES, 255, mbuf, len, t + SEC);
	CHECK(!stack_routes6(st, &far));
	CHECK_EQ(send_to(&far), -ENETUNREACH);
	/* and a lifetime runs out */
	len = ra_build(10, 0);
	inject_icmp6(&PEER_LL, &ALL_NODES, 255, mbuf, len, t + 2 * SEC);
	CHECK(stack_routes6(st, &far));
	stack_poll(st, t + 12 * SEC);
	CHECK(!stack_routes6(st, &far));
	/* redirects are counted and ignored */
	memset(mbuf, 0, 40);
	mbuf[0] = ND_REDIRECT;
	inject_icmp6(&PEER_LL, &ME_LL, 255, mbuf, 40, t + 13 * SEC);
	CHECK_EQ(st->stat.nd6_redirect_ignored, 1);
	teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(start_dad_rs_then_unsolicited_na);
	RUN(dad_conflicts_mark_the_address_duplicate);
	RUN(solicitation_answered_and_validated);
	RUN(resolution_queues_then_sends);
	RUN(resolution_while_optimistic_carries_our_lla);
	RUN(resolution_retries_and_gives_up);
	RUN(reachable_stale_delay_probe);
	RUN(router_advertisement_sets_the_default_router);
	return TEST_SUMMARY();
}
