/* The unit-test harness of the IPv6 layer, shared by ipv6_test and
 * nd6_test (the IPv6 twin of l3_harness.h): a stack at ME6 (2001:db8::2/64,
 * and its link-local address from the memdev MAC 02:00:00:00:00:01) on
 * one end of a memdev pair, the test as its peer PEER6 / PEER_LL with
 * peer_mac. The test builds IPv6 packets with valid ICMPv6 checksums,
 * injects them and takes what the stack sent; time is explicit. */
#ifndef NSTACK_IP6_HARNESS_H
#define NSTACK_IP6_HARNESS_H

#include "tests/unit/l3_harness.h"
#include "stack/ip6.h"

#define T0 1000ull              /* the stack is created at T0 */

static const struct nst_addr ME6 = { .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
static const struct nst_addr PEER6 = { .b = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
/* fe80::a8:bbff:fecc:dd01 from peer_mac 02:aa:bb:cc:dd:01 */
static const struct nst_addr PEER_LL = { .b = { 0xfe, 0x80, [8] = 0x00, 0xaa, 0xbb, 0xff, 0xfe, 0xcc, 0xdd, 0x01 } };
/* ours: fe80::ff:fe00:1 from 02:00:00:00:00:01 */
static const struct nst_addr ME_LL = { .b = { 0xfe, 0x80, [8] = 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x01 } };
static const struct nst_addr ALL_NODES = { .b = { 0xff, 0x02, [15] = 1 } };
static const struct nst_addr UNSPEC;

/* A stack with ME (IPv4) and ME6/64 (unless no_addr6), created at T0;
 * DAD, RS and the rest of the start-up frames are left on the device. */
static inline void setup6_raw(int no_addr6)
{
	memdev_pair(&dev, &other);
	struct stack_config cfg = { .addr = ME, .prefix_len = 24 };
	if (!no_addr6) {
		cfg.addr6 = ME6;
		cfg.prefix6_len = 64;
	}
	st = stack_create(&cfg, dev, T0);
}

/* setup6_raw(0), past DAD (T0 + 1 s) with every start-up frame dropped, the
 * peer's addresses known (REACHABLE). */
static inline void setup6(void)
{
	setup6_raw(0);
	stack_poll(st, T0 + SEC);
	drain();
	nd6_update(st, &PEER6, peer_mac);
	nd6_update(st, &PEER_LL, peer_mac);
}

/* An IPv6 packet in buf: header and payload; its length. */
static inline size_t ip6_build(uint8_t *buf, const struct nst_addr *src, const struct nst_addr *dst,
			       uint8_t next, uint8_t hop, const void *payload, size_t len)
{
	struct ip6_hdr *ih = (struct ip6_hdr *)buf;
	ih->ver_tc_flow = htonl(6u << 28);
	ih->payload_len = htons((uint16_t)len);
	ih->next = next;
	ih->hop_limit = hop;
	memcpy(ih->src, src->b, 16);
	memcpy(ih->dst, dst->b, 16);
	if (len)
		memmove(buf + IP6_HDR_LEN, payload, len);
	return IP6_HDR_LEN + len;
}

/* Set the ICMPv6 checksum of the message at m (len bytes) from src to dst. */
static inline void icmp6_sum(uint8_t *m, size_t len, const struct nst_addr *src, const struct nst_addr *dst)
{
	m[2] = m[3] = 0;
	uint16_t c = csum_fold(csum_add(csum_pseudo6(src, dst, IP6_NH_ICMPV6, (uint32_t)len), m, len));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
}

/* An echo request (id, seq, n bytes of data 'a'+i) in m; its length. */
static inline size_t echo6_build(uint8_t *m, uint16_t id, uint16_t seq, size_t n,
				 const struct nst_addr *src, const struct nst_addr *dst)
{
	m[0] = ICMP6_ECHO_REQUEST;
	m[1] = 0;
	m[4] = (uint8_t)(id >> 8); m[5] = (uint8_t)id;
	m[6] = (uint8_t)(seq >> 8); m[7] = (uint8_t)seq;
	for (size_t i = 0; i < n; i++)
		m[8 + i] = (uint8_t)('a' + i % 26);
	icmp6_sum(m, 8 + n, src, dst);
	return 8 + n;
}

/* Inject the IPv6 packet ip (len bytes) from peer_mac to Ethernet dst_mac
 * (NULL: ours) and run the stack at now. */
static inline void inject6_to(const uint8_t *dst_mac, const void *ip, size_t len, uint64_t now)
{
	memdev_inject(dev, eth_frame(dst_mac ? dst_mac : dev->mac, peer_mac, ETH_P_IPV6, ip, len));
	stack_poll(st, now);
}

static inline void inject6(const void *ip, size_t len, uint64_t now)
{
	inject6_to(NULL, ip, len, now);
}

/* Inject an ICMPv6 message m (checksum set here) from src to dst. */
static inline void inject_icmp6(const struct nst_addr *src, const struct nst_addr *dst, uint8_t hop,
				uint8_t *m, size_t len, uint64_t now)
{
	static uint8_t b[IP6_HDR_LEN + 4096];
	icmp6_sum(m, len, src, dst);
	const uint8_t *mac = NULL;
	uint8_t mm[6] = { 0x33, 0x33, dst->b[12], dst->b[13], dst->b[14], dst->b[15] };
	if (dst->b[0] == 0xff)
		mac = mm;
	inject6_to(mac, b, ip6_build(b, src, dst, IP6_NH_ICMPV6, hop, m, len), now);
}

/* What the stack sent, parsed: the next IPv6 frame (others dropped), or 0. */
struct out6 {
	uint8_t  eth_dst[6];
	struct nst_addr src, dst;
	uint8_t  next, hop, tc;
	uint32_t flow;
	unsigned plen;
	uint8_t  type, code;    /* ICMPv6 (next 58) */
	int      csum_ok;       /* ICMPv6 checksum verified */
	uint8_t  b[70000];      /* the IPv6 packet */
};
static struct out6 o6;
/* 1: take6 passes over ND messages (NUD probes, router solicitations). */
static int skip_nd;

static inline int take6(void)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		if (ntohs(eh->type) != ETH_P_IPV6) {
			pkt_free(p);
			continue;
		}
		const uint8_t *ip = p->data + ETH_HDR_LEN;
		const struct ip6_hdr *ih = (const struct ip6_hdr *)ip;
		memset(&o6, 0, offsetof(struct out6, b));
		memcpy(o6.eth_dst, eh->dst, 6);
		memcpy(o6.src.b, ih->src, 16);
		memcpy(o6.dst.b, ih->dst, 16);
		o6.next = ih->next;
		o6.hop = ih->hop_limit;
		uint32_t v = ntohl(ih->ver_tc_flow);
		o6.tc = (uint8_t)(v >> 20);
		o6.flow = v & 0xfffff;
		o6.plen = ntohs(ih->payload_len);
		memcpy(o6.b, ip, IP6_HDR_LEN + o6.plen);
		if (o6.next == IP6_NH_ICMPV6) {
			const uint8_t *m = ip + IP6_HDR_LEN;
			o6.type = m[0];
			o6.code = m[1];
			o6.csum_ok = csum_fold(csum_add(csum_pseudo6(&o6.src, &o6.dst, IP6_NH_ICMPV6, o6.plen),
							m, o6.plen)) == 0;
			if (skip_nd && o6.type >= ND_ROUTER_SOLICIT && o6.type <= ND_REDIRECT) {
				pkt_free(p);
				continue;
			}
		}
		pkt_free(p);
		return 1;
	}
	return 0;
}

/* The ICMPv6 message of the last take6. */
static inline const uint8_t *o6_icmp(void) { return o6.b + IP6_HDR_LEN; }
static inline uint32_t o6_u32(unsigned off)
{
	const uint8_t *m = o6.b + off;
	return (uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3];
}

/* Frames of ICMPv6 type t waiting on the device (the rest dropped). */
static inline int count6(uint8_t t)
{
	int n = 0;
	while (take6())
		if (o6.next == IP6_NH_ICMPV6 && o6.type == t)
			n++;
	return n;
}

static inline int addr_is(const struct nst_addr *a, const struct nst_addr *b) { return nst_addr_eq(a, b); }

#endif
