/* The unit-test harness of the layers under TCP, shared by ip_test, icmp_test,
 * udp_test and frag_test: a stack at ME on one end of a memdev pair, the
 * test as its peer PEER. The test builds IPv4 packets with valid checksums
 * (ip_build, udp_build), injects them from PEER's MAC (inject_ip,
 * inject_l4) and takes what the stack sent with memdev_take(dev); time is
 * passed in explicitly. */
#ifndef NSTACK_L3_HARNESS_H
#define NSTACK_L3_HARNESS_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "tests/unit/test.h"
#include "stack/stack_impl.h"
#include "stack/csum.h"
#include "shim/shim.h"

#define SEC 1000000ull
#define ME   0xc6120002u        /* 198.18.0.2 */
#define PEER 0xc6120001u        /* 198.18.0.1 */
static const uint8_t peer_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 };

static struct netdev *dev, *other;
static struct stack *st;

/* A stack at ME/24 (gateway gw, 0: none) created at t = 1000 us; its ARP
 * cache is empty. */
static inline void l3_setup(uint32_t gw)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24, .gw = gw };
	st = stack_create(&cfg, dev, 1000);
}

/* l3_setup(0), PEER's MAC known. */
static inline void setup(void)
{
	l3_setup(0);
	arp_update(st, PEER, peer_mac);
}

/* Drop every frame the stack has sent. */
static inline void drain(void)
{
	struct pkt *p;
	while ((p = memdev_take(dev)))
		pkt_free(p);
}

/* Close what is open, destroy the stack; no packet may be left. */
static inline void teardown(void)
{
	nst_close_all(st, 0);
	stack_destroy(st);
	drain();
	netdev_close(dev);
	netdev_close(other);
	CHECK_EQ(pkt_pool_in_use(), 0);   /* no leaks */
}

/* An Ethernet frame in a fresh packet. */
static inline struct pkt *eth_frame(const uint8_t *dst, const uint8_t *src, uint16_t type,
				    const void *payload, size_t len)
{
	struct pkt *p = pkt_alloc();
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dst, 6);
	memcpy(eh->src, src, 6);
	eh->type = htons(type);
	if (len)        /* memcpy from NULL is undefined even for 0 bytes (UBSan) */
		memcpy(pkt_put(p, len), payload, len);
	return p;
}

/* An IPv4 packet from src to dst carrying payload, in buf, with a valid
 * checksum unless the test breaks it afterwards; its length. */
static inline size_t ip_build(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto,
			      const void *payload, size_t len)
{
	struct ip_hdr *ih = (struct ip_hdr *)buf;
	memset(ih, 0, sizeof(*ih));
	ih->ver_ihl = 0x45;
	ih->total_len = htons((uint16_t)(IP_HDR_LEN + len));
	ih->ttl = 64;
	ih->proto = proto;
	ih->src = htonl(src);
	ih->dst = htonl(dst);
	ih->csum = htons(csum(ih, IP_HDR_LEN));
	if (len)
		memcpy(buf + IP_HDR_LEN, payload, len);
	return IP_HDR_LEN + len;
}

/* A UDP datagram from PEER:sport to ME:dport carrying data, in buf; its
 * length. csum_mode 0: no checksum, 1: right, 2: wrong. */
static inline size_t udp_build(uint8_t *buf, uint16_t sport, uint16_t dport, const void *data,
			       size_t len, int csum_mode)
{
	struct udp_hdr *uh = (struct udp_hdr *)buf;
	uh->sport = htons(sport);
	uh->dport = htons(dport);
	uh->len = htons((uint16_t)(8 + len));
	uh->csum = 0;
	if (len)
		memcpy(buf + 8, data, len);
	if (csum_mode) {
		uint16_t c = csum_fold(csum_add(csum_pseudo(PEER, ME, IP_PROTO_UDP, (uint16_t)(8 + len)),
						buf, 8 + len));
		uh->csum = htons(c ? c : 0xffff);
		if (csum_mode == 2)
			uh->csum ^= 1;
	}
	return 8 + len;
}

/* Inject the IPv4 packet ip (len bytes, header included) from PEER's MAC;
 * the stack does not run. */
static inline void inject_ip(const void *ip, size_t len)
{
	memdev_inject(dev, eth_frame(dev->mac, peer_mac, ETH_P_IPV4, ip, len));
}

/* Inject an IPv4 packet from src to dst carrying l4 and run the stack at
 * now_us. */
static inline void inject_l4(uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t len,
			     uint64_t now_us)
{
	static uint8_t b[IP_HDR_LEN + 2048];
	REQUIRE(len <= sizeof(b) - IP_HDR_LEN);
	inject_ip(b, ip_build(b, src, dst, proto, l4, len));
	stack_poll(st, now_us);
}

#endif
