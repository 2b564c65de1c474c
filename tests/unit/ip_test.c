/* Unit tests of the layers under TCP: checksum, packet pool, Ethernet, ARP,
 * IPv4 validation and routing, ICMP echo. The test is the peer: it injects
 * frames into the stack's memdev and takes what the stack transmits. */
#include "tests/unit/l3_harness.h"

#define US 1ull
#define GW   0xc6120001u
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct arp_pkt {
	uint16_t htype, ptype;
	uint8_t  hlen, plen;
	uint16_t oper;
	uint8_t  sha[6];
	uint32_t spa;
	uint8_t  tha[6];
	uint32_t tpa;
} __attribute__((packed));

static struct pkt *arp_frame(uint16_t op, const uint8_t *sha, uint32_t spa, uint32_t tpa)
{
	struct arp_pkt a = { htons(1), htons(0x0800), 6, 4, htons(op), {0}, htonl(spa), {0}, htonl(tpa) };
	memcpy(a.sha, sha, 6);
	return eth_frame(op == 1 ? bcast : dev->mac, sha, ETH_P_ARP, &a, sizeof(a));
}

static size_t icmp_echo_build(uint8_t *buf, uint16_t id, uint16_t seq, size_t datalen)
{
	buf[0] = 8; buf[1] = 0; buf[2] = buf[3] = 0;
	buf[4] = id >> 8; buf[5] = id & 0xff; buf[6] = seq >> 8; buf[7] = seq & 0xff;
	for (size_t i = 0; i < datalen; i++)
		buf[8 + i] = (uint8_t)i;
	uint16_t c = csum(buf, 8 + datalen);
	buf[2] = c >> 8; buf[3] = c & 0xff;
	return 8 + datalen;
}

TEST(checksum_rfc1071_example)
{
	/* RFC 1071 4.1 example bytes: 00 01 f2 03 f4 f5 f6 f7 -> sum ddf2, checksum 220d */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CHECK_EQ(csum(b, sizeof(b)), 0x220d);
	/* odd length pads with a zero byte */
	const uint8_t o[] = { 0x01, 0x02, 0x03 };
	CHECK_EQ(csum(o, 3), (uint16_t)~(0x0102 + 0x0300));
	/* a buffer holding its own checksum sums to zero */
	uint8_t h[20];
	ip_build(h, PEER, ME, 6, NULL, 0);
	CHECK_EQ(csum(h, 20), 0);
}

TEST(pkt_pool_push_pull_and_accounting)
{
	unsigned before = pkt_pool_in_use();
	struct pkt *p = pkt_alloc();
	REQUIRE(p);
	CHECK_EQ(pkt_pool_in_use(), before + 1);
	CHECK_EQ(pkt_headroom(p), PKT_HEADROOM);
	CHECK(pkt_put(p, 100) != NULL);
	CHECK(pkt_push(p, PKT_HEADROOM) != NULL);
	CHECK(pkt_push(p, 1) == NULL);          /* no headroom left */
	CHECK(pkt_pull(p, p->len + 1) == NULL); /* too short */
	CHECK(pkt_put(p, pkt_tailroom(p) + 1) == NULL);
	CHECK(pkt_by_id(p->id) == p);
	pkt_free(p);
	CHECK_EQ(pkt_pool_in_use(), before);
}

TEST(arp_request_for_us_gets_reply_and_learns)
{
	l3_setup(0);
	memdev_inject(dev, arp_frame(1, peer_mac, PEER, ME));
	stack_poll(st, 2000);
	struct pkt *r = memdev_take(dev);
	REQUIRE(r);
	const struct eth_hdr *eh = (const struct eth_hdr *)r->data;
	const struct arp_pkt *a = (const struct arp_pkt *)(r->data + ETH_HDR_LEN);
	CHECK(memcmp(eh->dst, peer_mac, 6) == 0);
	CHECK_EQ(ntohs(a->oper), 2);
	CHECK(memcmp(a->sha, dev->mac, 6) == 0);
	CHECK_EQ(ntohl(a->spa), ME);
	CHECK_EQ(ntohl(a->tpa), PEER);
	CHECK(r->len >= 60);                    /* padded to the Ethernet minimum */
	pkt_free(r);
	const struct arp_entry *e = arp_lookup(st, PEER);
	CHECK(e && e->state == ARP_REACHABLE && memcmp(e->mac, peer_mac, 6) == 0);
	CHECK_EQ(st->stat.arp_reply_tx, 1);
	/* a request for somebody else is not answered and not learned */
	memdev_inject(dev, arp_frame(1, peer_mac, 0xc6120009u, 0xc6120003u));
	stack_poll(st, 3000);
	CHECK(memdev_take(dev) == NULL);
	CHECK(arp_lookup(st, 0xc6120009u) == NULL);
	teardown();
}

TEST(arp_pending_queue_then_reply_sends_in_order)
{
	l3_setup(0);
	uint8_t buf[64], ip[128];
	/* two echo replies towards an unresolved peer wait behind one request */
	for (uint16_t seq = 1; seq <= 2; seq++) {
		size_t n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, icmp_echo_build(buf, 7, seq, 8));
		inject_ip(ip, n);
	}
	stack_poll(st, 2000);
	struct pkt *r = memdev_take(dev);
	REQUIRE(r);
	CHECK_EQ(ntohs(((struct eth_hdr *)r->data)->type), ETH_P_ARP);
	CHECK(memcmp(((struct eth_hdr *)r->data)->dst, bcast, 6) == 0);
	pkt_free(r);
	CHECK(memdev_take(dev) == NULL);
	CHECK_EQ(st->stat.arp_queued, 2);
	memdev_inject(dev, arp_frame(2, peer_mac, PEER, ME));
	stack_poll(st, 3000);
	for (uint16_t seq = 1; seq <= 2; seq++) {
		r = memdev_take(dev);
		REQUIRE(r);
		CHECK(memcmp(((struct eth_hdr *)r->data)->dst, peer_mac, 6) == 0);
		const uint8_t *ic = r->data + ETH_HDR_LEN + 20;
		CHECK_EQ(ic[0], 0);
		CHECK_EQ(ic[7], seq);
		pkt_free(r);
	}
	teardown();
}

TEST(arp_retries_then_drops_pending)
{
	l3_setup(0);
	uint8_t buf[64], ip[128];
	size_t n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, icmp_echo_build(buf, 7, 1, 8));
	inject_ip(ip, n);
	stack_poll(st, 0);
	pkt_free(memdev_take(dev));                      /* request 1 at t=0 */
	CHECK_EQ(stack_next_deadline(st), ARP_RETRY_FIRST_US);
	stack_poll(st, ARP_RETRY_FIRST_US - 1);
	CHECK(memdev_take(dev) == NULL);
	stack_poll(st, ARP_RETRY_FIRST_US);
	struct pkt *r = memdev_take(dev);                /* request 2 at 0.2 s */
	CHECK(r != NULL);
	pkt_free(r);
	stack_poll(st, ARP_RETRY_FIRST_US + ARP_RETRY_US - 1);
	CHECK(memdev_take(dev) == NULL);
	stack_poll(st, ARP_RETRY_FIRST_US + ARP_RETRY_US);
	r = memdev_take(dev);                            /* request 3 at 1.2 s */
	CHECK(r != NULL);
	pkt_free(r);
	CHECK_EQ(st->stat.arp_req_tx, 3);
	stack_poll(st, ARP_RETRY_FIRST_US + 2 * ARP_RETRY_US);  /* gives up at 2.2 s */
	CHECK(memdev_take(dev) == NULL);
	CHECK_EQ(st->stat.arp_drop_unresolved, 1);
	CHECK(arp_lookup(st, PEER) == NULL);
	CHECK_EQ(stack_next_deadline(st), 0);
	teardown();
}

TEST(arp_entry_expires)
{
	l3_setup(0);
	st->now_us = 0;
	arp_update(st, PEER, peer_mac);
	CHECK_EQ(stack_next_deadline(st), ARP_REACHABLE_US);
	stack_poll(st, ARP_REACHABLE_US - 1);
	CHECK(arp_lookup(st, PEER) != NULL);
	stack_poll(st, ARP_REACHABLE_US);
	CHECK(arp_lookup(st, PEER) == NULL);
	teardown();
}

/* A flood towards many unresolved next hops (spoofed sources) holds at most
 * ARP_PENDING_TOTAL packets in all; the rest are counted drops, and every
 * held packet is freed when resolution fails. */
TEST(arp_pending_bounded_in_total)
{
	l3_setup(0);
	unsigned base = pkt_pool_in_use();
	uint8_t buf[64], ip[128];
	unsigned sent = 0;
	for (uint32_t src = 10; src < 34; src++) {
		for (uint16_t seq = 1; seq <= 50; seq++) {
			size_t n = ip_build(ip, 0xc6120000u | src, ME, IP_PROTO_ICMP, buf,
					    icmp_echo_build(buf, 7, seq, 8));
			inject_ip(ip, n);
			sent++;
		}
		stack_poll(st, 1000);
		struct pkt *r;
		while ((r = memdev_take(dev)))
			pkt_free(r);    /* the ARP requests */
	}
	CHECK_EQ(sent, 1200);
	CHECK_EQ(st->stat.arp_queued, ARP_PENDING_TOTAL);
	CHECK_EQ(st->stat.arp_drop_queue, 1200 - ARP_PENDING_TOTAL);
	CHECK_EQ(st->arp.pend_total, ARP_PENDING_TOTAL);
	for (uint64_t t = 1; t <= 3; t++) {
		stack_poll(st, 1000 + t * ARP_RETRY_US);
		struct pkt *r;
		while ((r = memdev_take(dev)))
			pkt_free(r);
	}
	CHECK_EQ(st->stat.arp_drop_unresolved, ARP_PENDING_TOTAL);
	CHECK_EQ(st->arp.pend_total, 0);
	CHECK_EQ(pkt_pool_in_use(), base);
	CHECK_EQ(stack_next_deadline(st), 0);
	teardown();
}

TEST(icmp_echo_reply_mirrors_request)
{
	l3_setup(0);
	arp_update(st, PEER, peer_mac);
	uint8_t buf[200], ip[256];
	size_t n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, icmp_echo_build(buf, 0x1234, 9, 56));
	inject_ip(ip, n);
	stack_poll(st, 5000);
	struct pkt *r = memdev_take(dev);
	REQUIRE(r);
	const struct ip_hdr *ih = (const struct ip_hdr *)(r->data + ETH_HDR_LEN);
	CHECK_EQ(ntohl(ih->src), ME);
	CHECK_EQ(ntohl(ih->dst), PEER);
	CHECK_EQ(ih->proto, IP_PROTO_ICMP);
	CHECK_EQ(csum(ih, 20), 0);
	const uint8_t *ic = (const uint8_t *)ih + 20;
	CHECK_EQ(ic[0], 0);
	CHECK_EQ(csum(ic, 64), 0);
	CHECK(memcmp(ic + 4, buf + 4, 60) == 0);         /* id, seq, data */
	CHECK_EQ(st->stat.icmp_echo_tx, 1);
	pkt_free(r);
	/* bad ICMP checksum: no reply */
	icmp_echo_build(buf, 1, 1, 8);
	buf[8] ^= 0xff;
	n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, 16);
	inject_ip(ip, n);
	stack_poll(st, 6000);
	CHECK(memdev_take(dev) == NULL);
	CHECK_EQ(st->stat.icmp_drop_csum, 1);
	teardown();
}

/* Each malformed packet is dropped, counted under its own reason, answered by nothing. */
TEST(ipv4_input_validation)
{
	l3_setup(0);
	arp_update(st, PEER, peer_mac);
	uint8_t buf[64], ip[128];
	size_t plen = icmp_echo_build(buf, 1, 1, 8);
	size_t n;
#define BAD(mutate, counter) do { \
	n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, plen); \
	struct ip_hdr *h = (struct ip_hdr *)ip; (void)h; \
	mutate; \
	uint64_t before = st->stat.counter; \
	inject_ip(ip, n); \
	stack_poll(st, 7000); \
	CHECK_EQ(st->stat.counter, before + 1); \
	CHECK(memdev_take(dev) == NULL); } while (0)
#define RECSUM h->csum = 0, h->csum = htons(csum(h, 20))
	BAD(n = 10, ip_drop_short);
	BAD((h->ver_ihl = 0x65, RECSUM), ip_drop_version);
	BAD((h->ver_ihl = 0x44, RECSUM), ip_drop_hdrlen);
	BAD((h->ver_ihl = 0x4f, RECSUM), ip_drop_hdrlen);
	BAD((h->total_len = htons(200), RECSUM), ip_drop_len);
	BAD((h->total_len = htons(10), RECSUM), ip_drop_len);
	BAD(h->csum ^= 1, ip_drop_csum);
	BAD((h->ttl = 0, RECSUM), ip_drop_ttl);
	/* fragments reaching beyond 65535 octets (valid ones: frag_test.c) */
	BAD((h->frag = htons(IP_MF | IP_OFFMASK), RECSUM), ip_drop_frag);
	BAD((h->frag = htons(IP_OFFMASK), RECSUM), ip_drop_frag);
	BAD((h->dst = htonl(0xc6120003u), RECSUM), ip_drop_dst);
	BAD((h->src = htonl(0x7f000001u), RECSUM), ip_drop_src);
	BAD((h->src = htonl(0xe0000001u), RECSUM), ip_drop_src);
	BAD((h->src = htonl(0xc61200ffu), RECSUM), ip_drop_src);
	BAD((h->proto = 99, RECSUM), ip_drop_proto);
	/* Ethernet: short frame, unknown type, other MAC */
	uint64_t b = st->stat.eth_drop_short;
	struct pkt *p = pkt_alloc();
	memset(pkt_put(p, 10), 0, 10);
	memdev_inject(dev, p);
	stack_poll(st, 8000);
	CHECK_EQ(st->stat.eth_drop_short, b + 1);
	memdev_inject(dev, eth_frame(dev->mac, peer_mac, 0x88b5, ip, 40));
	stack_poll(st, 8000);
	CHECK_EQ(st->stat.eth_drop_proto, 1);
	const uint8_t other_mac[6] = { 2, 9, 9, 9, 9, 9 };
	memdev_inject(dev, eth_frame(other_mac, peer_mac, ETH_P_IPV4, ip, 40));
	stack_poll(st, 8000);
	CHECK_EQ(st->stat.eth_drop_dst, 1);
	/* Ethernet padding after the IP datagram is ignored, options are skipped */
	n = ip_build(ip, PEER, ME, IP_PROTO_ICMP, buf, plen);
	memset(ip + n, 0xee, 10);
	inject_ip(ip, n + 10);
	stack_poll(st, 9000);
	struct pkt *r = memdev_take(dev);
	CHECK(r != NULL);
	pkt_free(r);
	teardown();
}

TEST(ipv4_routing)
{
	l3_setup(0);
	CHECK(stack_routes(st, PEER));
	CHECK(stack_routes(st, 0xc61200feu));
	CHECK(!stack_routes(st, 0xc6130001u));          /* off-link, no gateway */
	CHECK(!stack_routes(st, 0x7f000001u));          /* loopback belongs to the kernel */
	CHECK(stack_owns(st, ME));
	CHECK(!stack_owns(st, PEER));
	struct pkt *p = pkt_alloc();
	pkt_put(p, 8);
	CHECK_EQ(ipv4_output(st, p, IP_PROTO_ICMP, ME, 0xc6130001u), -ENETUNREACH);
	CHECK_EQ(st->stat.ip_drop_noroute, 1);
	teardown();
	/* with a gateway, off-link destinations resolve the gateway's MAC */
	l3_setup(GW);
	CHECK(stack_routes(st, 0x0a000001u));
	p = pkt_alloc();
	pkt_put(p, 8);
	CHECK_EQ(ipv4_output(st, p, IP_PROTO_ICMP, ME, 0x0a000001u), 0);
	stack_flush(st);
	struct pkt *r = memdev_take(dev);
	REQUIRE(r);
	const struct arp_pkt *a = (const struct arp_pkt *)(r->data + ETH_HDR_LEN);
	CHECK_EQ(ntohl(a->tpa), GW);
	pkt_free(r);
	teardown();
}

TEST(loopback_serves_127_8_without_arp)
{
	struct netdev *lo = memdev_loop();
	struct stack_config cfg = { .addr = 0x7f000001u, .prefix_len = 8, .loopback = 1 };
	st = stack_create(&cfg, lo, 0);
	CHECK(stack_routes(st, 0x7f000001u));
	CHECK(stack_owns(st, 0x7f000005u));
	CHECK(!stack_routes(st, 0xc6120001u));
	uint8_t buf[64];
	size_t n = icmp_echo_build(buf, 1, 1, 8);
	struct pkt *p = pkt_alloc();
	memcpy(pkt_put(p, n), buf, n);
	CHECK_EQ(ipv4_output(st, p, IP_PROTO_ICMP, 0x7f000001u, 0x7f000001u), 0);
	stack_flush(st);
	stack_poll(st, 1);                       /* request comes back, reply goes out */
	CHECK_EQ(st->stat.icmp_echo_tx, 1);
	CHECK_EQ(st->stat.arp_req_tx, 0);
	stack_poll(st, 2);                       /* the reply is received and ignored */
	CHECK_EQ(st->stat.icmp_rx, 2);
	stack_destroy(st);
	netdev_close(lo);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(checksum_rfc1071_example);
	RUN(pkt_pool_push_pull_and_accounting);
	RUN(arp_request_for_us_gets_reply_and_learns);
	RUN(arp_pending_queue_then_reply_sends_in_order);
	RUN(arp_retries_then_drops_pending);
	RUN(arp_entry_expires);
	RUN(arp_pending_bounded_in_total);
	RUN(icmp_echo_reply_mirrors_request);
	RUN(ipv4_input_validation);
	RUN(ipv4_routing);
	RUN(loopback_serves_127_8_without_arp);
	return TEST_SUMMARY();
}
