/* Writes the seed corpus of the fuzz harnesses: `make fuzz-corpus` runs it as
 *   make_corpus DIR        -> DIR/fuzz_frame/seed-*, DIR/fuzz_tcp/seed-*, DIR/fuzz_api/seed-*
 * Each seed is a small, valid scenario in the harness's input format (see the
 * comment at the top of each harness), so the fuzzer starts from inputs that
 * reach deep into the stack and mutates from there. Reproducers of bugs the
 * fuzzers found live beside them as DIR/NAME/crash-* and are not generated.
 *
 * The frame harness's seeds need the stack's own ISS and ports: this program
 * runs the harness's prologue (the same deterministic stack) to learn them.
 * Built with the ordinary compiler, no libFuzzer. */
#include <sys/stat.h>
#define LLVMFuzzerTestOneInput fuzz_frame_one
#include "tests/fuzz/fuzz_frame.c"
#undef LLVMFuzzerTestOneInput

static const char *out_dir;

struct buf {
	uint8_t b[8192];
	size_t n;
};
static void put8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void put16(struct buf *b, unsigned v) { put8(b, v >> 8); put8(b, v & 0xff); }
static void put32(struct buf *b, uint32_t v) { put16(b, v >> 16); put16(b, v & 0xffff); }
static void putn(struct buf *b, const void *p, size_t n) { memcpy(b->b + b->n, p, n); b->n += n; }

static void save(const char *harness, const char *name, const struct buf *b)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", out_dir, harness);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(b->b, 1, b->n, f) != b->n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_frame: records of ctl, len, frame ---------------------------- */

static void rec(struct buf *b, uint8_t ctl, const uint8_t *f, size_t n)
{
	put8(b, ctl);
	put16(b, (unsigned)n);
	putn(b, f, n);
}

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, fz_peer_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return ETH_HDR_LEN;
}

static size_t arp(uint8_t *f, const uint8_t *dst, unsigned op, uint32_t spa, uint32_t tpa)
{
	size_t n = eth(f, dst, ETH_P_ARP);
	uint8_t a[28] = { 0, 1, 8, 0, 6, 4, 0, (uint8_t)op };
	memcpy(a + 8, fz_peer_mac, 6);
	a[13] = (uint8_t)spa;   /* a distinct MAC per sender */
	uint32_t s = htonl(spa), t = htonl(tpa);
	memcpy(a + 14, &s, 4);
	memcpy(a + 24, &t, 4);
	memcpy(f + n, a, 28);
	return n + 28;
}

/* IPv4 (ihl words of header, options zero) + payload; checksums left to the
 * harness (ctl bit 4) so that the seed stays valid when mutated. */
static size_t ipv4(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst, unsigned ihl, uint16_t frag,
		   const void *l4, size_t l4len)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = eth(f, dst == 0xffffffffu ? bcast : F.dev->mac, ETH_P_IPV4);
	uint8_t *ip = f + n;
	memset(ip, 0, ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	uint16_t tot = (uint16_t)(ihl * 4 + l4len);
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = proto;
	uint32_t s = htonl(src), d = htonl(dst);
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	memcpy(ip + ihl * 4, l4, l4len);
	return n + ihl * 4 + l4len;
}

static size_t tcp(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  const char *data)
{
	struct fz_seg s = { .src = FZ_A4(FZ_PEER), .dst = FZ_A4(FZ_ME), .sport = sport, .dport = dport, .seq = seq,
			    .ack = ack, .flags = flags, .wnd = 65535, .data = (const uint8_t *)data,
			    .len = data ? strlen(data) : 0 };
	return fz_build_tcp(f, PKT_MAX_FRAME, &s);
}

/* ---- IPv6 frames ---------------------------------------------------------
 * Built with their checksums right (and recorded with ctl bit 4, which
 * keeps them right when a mutation changes the payload of an unfragmented
 * one). An extension header chain is given as bytes, its first Next Header
 * in nh. */

/* ICMPv6/TCP/UDP checksum of l4 (len bytes) at byte `at`, over the whole
 * upper-layer message from src to dst. */
static void csum6(uint8_t *l4, size_t len, size_t at, uint8_t proto, const struct nst_addr *src,
		  const struct nst_addr *dst)
{
	l4[at] = l4[at + 1] = 0;
	uint16_t c = csum_fold(csum_add(csum_pseudo6(src, dst, proto, (uint32_t)len), l4, len));
	if (proto == IP6_NH_UDP && c == 0)
		c = 0xffff;
	l4[at] = (uint8_t)(c >> 8);
	l4[at + 1] = (uint8_t)c;
}

/* Ethernet (to mac) + IPv6 header + ext (extlen bytes, first next header nh)
 * + payload (already checksummed). */
static size_t ipv6(uint8_t *f, const uint8_t *mac, uint8_t hops, const struct nst_addr *src,
		   const struct nst_addr *dst, uint8_t nh, const uint8_t *ext, size_t extlen,
		   const void *payload, size_t len)
{
	size_t n = eth(f, mac, ETH_P_IPV6);
	uint8_t *ip6 = f + n;
	memset(ip6, 0, IP6_HDR_LEN);
	ip6[0] = 0x60;
	ip6[4] = (uint8_t)((extlen + len) >> 8);
	ip6[5] = (uint8_t)(extlen + len);
	ip6[6] = nh;
	ip6[7] = hops;
	memcpy(ip6 + 8, src->b, 16);
	memcpy(ip6 + 24, dst->b, 16);
	memcpy(ip6 + IP6_HDR_LEN, ext, extlen);
	memcpy(ip6 + IP6_HDR_LEN + extlen, payload, len);
	return n + IP6_HDR_LEN + extlen + len;
}

/* The Ethernet multicast address of an IPv6 group (RFC 2464 7). */
static void mcast_mac(uint8_t mac[6], const struct nst_addr *group)
{
	mac[0] = mac[1] = 0x33;
	memcpy(mac + 2, group->b + 12, 4);
}

static void frame6_seeds(void)
{
	const struct nst_addr me = fz_me6, peer = fz_peer6, peer_ll = fz_peer6_ll;
	const struct nst_addr all_nodes = { .b = { 0xff, 0x02, [15] = 1 } };
	struct nst_addr me_ll, snm;
	stack_addr6(F.st, &me_ll, NULL, NULL);
	ip6_solicited_node(&me, &snm);
	uint8_t snm_mac[6], all_mac[6];
	mcast_mac(snm_mac, &snm);
	mcast_mac(all_mac, &all_nodes);
	const uint8_t *mine = F.dev->mac;
	uint8_t f[PKT_MAX_FRAME], m[256];
	struct buf b;
	size_t n;

	/* ICMPv6 echo requests: to the global address, to the link-local one
	 * from the peer's link-local, and to all-nodes */
	b.n = 0;
	uint8_t echo[64] = { ICMP6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 1 };
	for (size_t i = 8; i < sizeof(echo); i++)
		echo[i] = (uint8_t)i;
	csum6(echo, sizeof(echo), 2, IP6_NH_ICMPV6, &peer, &me);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_ICMPV6, NULL, 0, echo, sizeof(echo));
	rec(&b, 0x10, f, n);
	csum6(echo, 16, 2, IP6_NH_ICMPV6, &peer_ll, &me_ll);
	n = ipv6(f, mine, 64, &peer_ll, &me_ll, IP6_NH_ICMPV6, NULL, 0, echo, 16);
	rec(&b, 0x11, f, n);
	csum6(echo, 16, 2, IP6_NH_ICMPV6, &peer_ll, &all_nodes);
	n = ipv6(f, all_mac, 64, &peer_ll, &all_nodes, IP6_NH_ICMPV6, NULL, 0, echo, 16);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp6-echo", &b);

	/* Neighbor Solicitation for our address from a new neighbour's
	 * link-local address to the solicited-node group, hop limit 255, with a
	 * Source Link-Layer Address option (RFC 4861 4.3); then a unicast one
	 * (a NUD probe) without it */
	b.n = 0;
	const struct nst_addr nb_ll = { .b = { 0xfe, 0x80, [8] = 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55 } };
	static const uint8_t nb_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	memset(m, 0, sizeof(m));
	m[0] = ND_NEIGHBOR_SOLICIT;
	memcpy(m + 8, me.b, 16);
	m[24] = 1;                      /* Source Link-Layer Address, 8 bytes */
	m[25] = 1;
	memcpy(m + 26, nb_mac, 6);
	csum6(m, 32, 2, IP6_NH_ICMPV6, &nb_ll, &snm);
	n = ipv6(f, snm_mac, 255, &nb_ll, &snm, IP6_NH_ICMPV6, NULL, 0, m, 32);
	memcpy(f + 6, nb_mac, 6);
	rec(&b, 0x10, f, n);
	memset(m, 0, sizeof(m));
	m[0] = ND_NEIGHBOR_SOLICIT;
	memcpy(m + 8, me_ll.b, 16);
	csum6(m, 24, 2, IP6_NH_ICMPV6, &peer_ll, &me_ll);
	n = ipv6(f, mine, 255, &peer_ll, &me_ll, IP6_NH_ICMPV6, NULL, 0, m, 24);
	rec(&b, 0x11, f, n);
	save("fuzz_frame", "nd6-ns", &b);

	/* Neighbor Advertisements: the peer's (solicited, override, router)
	 * with a Target Link-Layer Address option that moves it to a new MAC,
	 * and an unsolicited one to all-nodes; then traffic to the peer */
	b.n = 0;
	memset(m, 0, sizeof(m));
	m[0] = ND_NEIGHBOR_ADVERT;
	m[4] = 0xe0;                    /* R S O */
	memcpy(m + 8, peer.b, 16);
	m[24] = 2;                      /* Target Link-Layer Address */
	m[25] = 1;
	memcpy(m + 26, nb_mac, 6);
	csum6(m, 32, 2, IP6_NH_ICMPV6, &peer, &me);
	n = ipv6(f, mine, 255, &peer, &me, IP6_NH_ICMPV6, NULL, 0, m, 32);
	rec(&b, 0x10, f, n);
	m[4] = 0x20;                    /* O only */
	memcpy(m + 8, peer_ll.b, 16);
	csum6(m, 32, 2, IP6_NH_ICMPV6, &peer_ll, &all_nodes);
	n = ipv6(f, all_mac, 255, &peer_ll, &all_nodes, IP6_NH_ICMPV6, NULL, 0, m, 32);
	rec(&b, 0x26, f, n);            /* +60 s, poke: the entries age */
	save("fuzz_frame", "nd6-na", &b);

	/* Router Advertisement from a link-local router: Cur Hop Limit 64,
	 * lifetime 1800 s, reachable 30 s, retrans 1 s, with Source Link-Layer
	 * Address, MTU 1400 and Prefix Information options (RFC 4861 4.2, 4.6) */
	b.n = 0;
	const struct nst_addr rtr = { .b = { 0xfe, 0x80, [15] = 0xfe } };
	memset(m, 0, sizeof(m));
	m[0] = ND_ROUTER_ADVERT;
	m[4] = 64;
	m[6] = 1800 >> 8;
	m[7] = 1800 & 0xff;
	m[8 + 2] = 30000 >> 8;          /* reachable time, ms */
	m[8 + 3] = 30000 & 0xff;
	m[12 + 2] = 1000 >> 8;          /* retrans timer, ms */
	m[12 + 3] = 1000 & 0xff;
	size_t o = 16;
	m[o] = 1; m[o + 1] = 1;         /* SLLA */
	memcpy(m + o + 2, fz_peer_mac, 6);
	m[o + 7] = 0xfe;
	o += 8;
	m[o] = 5; m[o + 1] = 1;         /* MTU */
	m[o + 6] = 1400 >> 8;
	m[o + 7] = 1400 & 0xff;
	o += 8;
	m[o] = 3; m[o + 1] = 4;         /* Prefix Information: 2001:db8::/64, L A */
	m[o + 2] = 64;
	m[o + 3] = 0xc0;
	memset(m + o + 4, 0xff, 8);     /* valid and preferred lifetime: infinity */
	memcpy(m + o + 16, me.b, 8);
	o += 32;
	csum6(m, o, 2, IP6_NH_ICMPV6, &rtr, &all_nodes);
	n = ipv6(f, all_mac, 255, &rtr, &all_nodes, IP6_NH_ICMPV6, NULL, 0, m, o);
	rec(&b, 0x10, f, n);
	/* then an echo to an off-link destination's reply goes via the router */
	const struct nst_addr far = { .b = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 9 } };
	csum6(echo, 16, 2, IP6_NH_ICMPV6, &far, &me);
	n = ipv6(f, mine, 64, &far, &me, IP6_NH_ICMPV6, NULL, 0, echo, 16);
	rec(&b, 0x11, f, n);
	save("fuzz_frame", "nd6-ra", &b);

	/* TCP over IPv6: a SYN to the dual-stack listener, data and a FIN on
	 * the established connection, an IPv4 SYN to the same listener, a SYN
	 * to a closed port */
	uint32_t iss6 = fr_iss6;
	static const uint8_t mss[4] = { 2, 4, 0x05, 0xa0 };
	b.n = 0;
	struct fz_seg s = { .src = peer, .dst = me, .sport = 41006, .dport = FR_PORT6, .seq = 1,
			    .flags = TCP_SYN, .wnd = 65535, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x10, f, n);
	s = (struct fz_seg){ .src = FZ_A4(FZ_PEER), .dst = FZ_A4(FZ_ME), .sport = 41007, .dport = FR_PORT6,
			     .seq = 1, .flags = TCP_SYN, .wnd = 65535, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x31, f, n);            /* poke: accept both */
	s = (struct fz_seg){ .src = peer, .dst = me, .sport = 41008, .dport = 81, .seq = 9, .flags = TCP_SYN,
			     .wnd = 1000 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "tcp6-syn", &b);

	b.n = 0;
	s = (struct fz_seg){ .src = peer, .dst = me, .sport = FR_CPORT6, .dport = FR_PORT6, .seq = FR_PISS + 2,
			     .ack = iss6 + 2, .flags = TCP_ACK | TCP_PSH, .wnd = 65535,
			     .data = (const uint8_t *)"hello", .len = 5 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x30, f, n);
	s.seq = FR_PISS + 7;
	s.flags = TCP_ACK | TCP_FIN;
	s.len = 0;
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x33, f, n);
	rec(&b, 0x07, f, 0);
	save("fuzz_frame", "tcp6-estab-data-fin", &b);

	/* ICMPv6 Packet Too Big (MTU 1280) and Destination Unreachable quoting
	 * our segment on the IPv6 connection */
	b.n = 0;
	memset(m, 0, sizeof(m));
	m[0] = ICMP6_PACKET_TOO_BIG;
	m[6] = 1280 >> 8;
	uint8_t *q = m + 8;             /* the quoted packet: IPv6 + TCP header */
	q[0] = 0x60;
	q[5] = 20;
	q[6] = IP6_NH_TCP;
	q[7] = 64;
	memcpy(q + 8, me.b, 16);
	memcpy(q + 24, peer.b, 16);
	q[40] = FR_PORT6 >> 8; q[41] = FR_PORT6 & 0xff; q[42] = FR_CPORT6 >> 8; q[43] = FR_CPORT6 & 0xff;
	q[44] = (uint8_t)((iss6 + 1) >> 24); q[45] = (uint8_t)((iss6 + 1) >> 16);
	q[46] = (uint8_t)((iss6 + 1) >> 8); q[47] = (uint8_t)(iss6 + 1);
	q[52] = 0x50;
	csum6(m, 8 + 60, 2, IP6_NH_ICMPV6, &peer, &me);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_ICMPV6, NULL, 0, m, 8 + 60);
	rec(&b, 0x30, f, n);
	m[0] = ICMP6_DST_UNREACH;
	m[1] = ICMP6_DST_UNREACH_NOPORT;
	m[6] = 0;
	csum6(m, 8 + 60, 2, IP6_NH_ICMPV6, &peer, &me);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_ICMPV6, NULL, 0, m, 8 + 60);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp6-errors", &b);

	/* UDP over IPv6 to the AF_INET6 socket (echoed back by the poke), an
	 * IPv4 datagram to it (v4-mapped), one to a closed port */
	b.n = 0;
	uint8_t udp[40] = { 0x30, 0x39, 0, FR_UPORT6, 0, 40 };
	memcpy(udp + 8, "datagram over IPv6, 32 bytes....", 32);
	csum6(udp, sizeof(udp), 6, IP6_NH_UDP, &peer, &me);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_UDP, NULL, 0, udp, sizeof(udp));
	rec(&b, 0x30, f, n);
	uint8_t udp4[16] = { 0x30, 0x39, 0, FR_UPORT6, 0, 16 };
	n = ipv4(f, IP_PROTO_UDP, FZ_PEER, FZ_ME, 5, 0, udp4, sizeof(udp4));
	rec(&b, 0x30, f, n);
	udp[3] = 99;
	csum6(udp, sizeof(udp), 6, IP6_NH_UDP, &peer, &me);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_UDP, NULL, 0, udp, sizeof(udp));
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "udp6", &b);

	/* Extension headers: Hop-by-Hop with PadN before an echo request;
	 * Destination Options (Pad1, PadN) before a UDP datagram; a Routing
	 * header with Segments Left 0 before data on the connection */
	b.n = 0;
	csum6(echo, 16, 2, IP6_NH_ICMPV6, &peer, &me);
	const uint8_t hbh[8] = { IP6_NH_ICMPV6, 0, 1, 4, 0, 0, 0, 0 };
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_HOPOPTS, hbh, sizeof(hbh), echo, 16);
	rec(&b, 0x10, f, n);
	udp[3] = FR_UPORT6;
	csum6(udp, sizeof(udp), 6, IP6_NH_UDP, &peer, &me);
	const uint8_t dst[16] = { IP6_NH_UDP, 1, 0, 1, 11, 0 };
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_DSTOPTS, dst, sizeof(dst), udp, sizeof(udp));
	rec(&b, 0x30, f, n);
	uint8_t rt[24] = { IP6_NH_TCP, 2, 0, 0 };       /* type 0, one address, Segments Left 0 */
	memcpy(rt + 8, far.b, 16);
	s = (struct fz_seg){ .src = peer, .dst = me, .sport = FR_CPORT6, .dport = FR_PORT6, .seq = FR_PISS + 2,
			     .ack = iss6 + 2, .flags = TCP_ACK | TCP_PSH, .wnd = 65535,
			     .data = (const uint8_t *)"routed", .len = 6 };
	uint8_t seg[PKT_MAX_FRAME];
	size_t sn = fz_build_tcp(seg, sizeof(seg), &s) - ETH_HDR_LEN - IP6_HDR_LEN;
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_ROUTING, rt, sizeof(rt), seg + ETH_HDR_LEN + IP6_HDR_LEN, sn);
	rec(&b, 0x30, f, n);
	/* Hop-by-Hop, Destination Options and Routing in one chain */
	const uint8_t chain[8 + 8 + 8] = { IP6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0,
					  IP6_NH_ROUTING, 0, 1, 4, 0, 0, 0, 0,
					  IP6_NH_ICMPV6, 0, 4, 0, 0, 0, 0, 0 };
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_HOPOPTS, chain, sizeof(chain), echo, 16);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "ip6-exthdr", &b);

	/* Fragments (RFC 8200 4.5): a 72-byte UDP datagram in two, first and
	 * last in order; the same reversed (another id); an atomic fragment
	 * (offset 0, M 0) of an echo request */
	b.n = 0;
	uint8_t dg[72] = { 0x30, 0x39, 0, FR_UPORT6, 0, 72 };
	for (size_t i = 8; i < sizeof(dg); i++)
		dg[i] = (uint8_t)('A' + i % 26);
	csum6(dg, sizeof(dg), 6, IP6_NH_UDP, &peer, &me);
	uint8_t fh1[8] = { IP6_NH_UDP, 0, 0, 0x01, 0, 0, 0x12, 0x34 };         /* offset 0, M */
	uint8_t fh2[8] = { IP6_NH_UDP, 0, 0, 40 / 8 << 3, 0, 0, 0x12, 0x34 };  /* offset 40, last */
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, fh1, 8, dg, 40);
	rec(&b, 0x00, f, n);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, fh2, 8, dg + 40, 32);
	rec(&b, 0x20, f, n);
	fh1[7] = fh2[7] = 0x35;
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, fh2, 8, dg + 40, 32);
	rec(&b, 0x00, f, n);
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, fh1, 8, dg, 40);
	rec(&b, 0x20, f, n);
	save("fuzz_frame", "ip6-frag", &b);

	b.n = 0;
	const uint8_t atomic[8] = { IP6_NH_ICMPV6, 0, 0, 0, 0xab, 0xcd, 0, 1 };
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, atomic, 8, echo, 16);
	rec(&b, 0x10, f, n);
	/* a first fragment alone, then the reassembly timeout (Time Exceeded) */
	fh1[7] = 0x36;
	n = ipv6(f, mine, 64, &peer, &me, IP6_NH_FRAGMENT, fh1, 8, dg, 40);
	rec(&b, 0x00, f, n);
	rec(&b, 0x06, f, 0);
	rec(&b, 0x06, f, 0);
	save("fuzz_frame", "ip6-frag-atomic-timeout", &b);
}

static void frame_seeds(void)
{
	fz_setup(0);
	fr_prologue();
	const struct tcb *a = &F.st->tcp.tcb[fr_sockets[FR_A]];
	uint32_t iss = fr_iss, a_iss = a->iss;
	uint16_t a_port = a->lport;
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[PKT_MAX_FRAME];
	struct buf b;
	size_t n;

	/* ARP: a request for us from a new neighbour, a reply for the gateway */
	b.n = 0;
	n = arp(f, bcast, 1, 0xc6120007u, FZ_ME);
	rec(&b, 0, f, n);
	n = arp(f, F.dev->mac, 2, FZ_GW, FZ_ME);
	rec(&b, 1, f, n);
	save("fuzz_frame", "arp", &b);

	/* ICMP echo request (checksum fixed by ctl bit 4), and one to broadcast */
	b.n = 0;
	uint8_t echo[64] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1 };
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 0, echo, sizeof(echo));
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, 0xffffffffu, 5, 0, echo, 8);
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp-echo", &b);

	/* ICMP destination unreachable quoting our SYN to 8080 */
	b.n = 0;
	uint8_t unr[8 + 28] = { 3, 3 };
	uint8_t *q = unr + 8;
	q[0] = 0x45; q[3] = 40; q[8] = 64; q[9] = IP_PROTO_TCP;
	uint32_t me = htonl(FZ_ME), peer = htonl(FZ_PEER), s32 = htonl(a_iss);
	memcpy(q + 12, &me, 4);
	memcpy(q + 16, &peer, 4);
	q[20] = (uint8_t)(a_port >> 8); q[21] = (uint8_t)a_port; q[22] = 8080 >> 8; q[23] = 8080 & 0xff;
	memcpy(q + 24, &s32, 4);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 0, unr, sizeof(unr));
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "icmp-unreach", &b);

	/* the accepted connection: data, ACK of ours, then FIN, then time */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, iss + 2, TCP_ACK | TCP_PSH, "hello");
	rec(&b, 0x20, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 7, iss + 2, TCP_ACK | TCP_FIN, NULL);
	rec(&b, 0x23, f, n);
	rec(&b, 0x07, f, 0);
	save("fuzz_frame", "tcp-estab-data-fin", &b);

	/* the same, out of order and with a checksum the device vouches for */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 7, iss + 2, TCP_ACK | TCP_PSH, "world");
	rec(&b, 0x08, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, iss + 2, TCP_ACK | TCP_PSH, "hello");
	rec(&b, 0x28, f, n);
	save("fuzz_frame", "tcp-ooo", &b);

	/* RST in the window (challenge ACK) and exact */
	b.n = 0;
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 100, 0, TCP_RST, NULL);
	rec(&b, 0x01, f, n);
	n = tcp(f, FR_CPORT, FR_PORT, FR_PISS + 2, 0, TCP_RST, NULL);
	rec(&b, 0x21, f, n);
	save("fuzz_frame", "tcp-rst", &b);

	/* SYN-ACK for our connect to 8080, then data on it */
	b.n = 0;
	uint8_t mss[4] = { 2, 4, 0x05, 0xb4 };
	struct fz_seg s = { .src = FZ_A4(FZ_PEER), .dst = FZ_A4(FZ_ME), .sport = 8080, .dport = a_port, .seq = 77000,
			    .ack = a_iss + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 65535, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x00, f, n);
	n = tcp(f, 8080, a_port, 77001, a_iss + 1, TCP_ACK | TCP_PSH, "abc");
	rec(&b, 0x22, f, n);
	save("fuzz_frame", "tcp-synack", &b);

	/* a new SYN to the listener and a SYN to a closed port (RST) */
	b.n = 0;
	s = (struct fz_seg){ .src = FZ_A4(FZ_PEER), .dst = FZ_A4(FZ_ME), .sport = 41000, .dport = FR_PORT, .seq = 1,
			     .flags = TCP_SYN, .wnd = 1000, .opt = mss, .optlen = 4 };
	n = fz_build_tcp(f, sizeof(f), &s);
	rec(&b, 0x00, f, n);
	n = tcp(f, 41001, 81, 9, 0, TCP_SYN, NULL);
	rec(&b, 0x04, f, n);
	save("fuzz_frame", "tcp-syn", &b);

	/* IP oddities: options, a fragment, UDP, an unknown protocol */
	b.n = 0;
	uint8_t udp[16] = { 0x30, 0x39, 0x00, 0x35, 0x00, 0x10 };
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 6, 0, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, IP_MF, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_ICMP, FZ_PEER, FZ_ME, 5, 2, echo, 16);
	rec(&b, 0x10, f, n);
	n = ipv4(f, IP_PROTO_UDP, FZ_PEER, FZ_ME, 5, 0, udp, sizeof(udp));
	rec(&b, 0x10, f, n);
	n = ipv4(f, 99, FZ_PEER, FZ_ME, 5, 0, udp, sizeof(udp));
	rec(&b, 0x10, f, n);
	save("fuzz_frame", "ip-misc", &b);

	/* nothing but time: every timer fires */
	b.n = 0;
	for (int i = 1; i < 8; i++)
		rec(&b, (uint8_t)(i | 0x20), f, 0);
	save("fuzz_frame", "timers", &b);
	frame6_seeds();
	fz_teardown();  /* the frames above used its MAC */
}

/* ---- fuzz_tcp: state byte, then operations ------------------------------ */

/* op 0: a segment; mode 0 = seq at the stack's rcv.nxt, ack at its snd.nxt */
static void t_seg(struct buf *b, uint8_t flags, int16_t dseq, int16_t dack, uint16_t wnd, unsigned data8)
{
	put8(b, 0);
	put8(b, 0);                     /* mode */
	put8(b, flags);
	put16(b, (uint16_t)dseq);
	put16(b, (uint16_t)dack);
	put16(b, wnd);
	put8(b, 0);                     /* no options */
	put8(b, data8);
	for (unsigned i = 0; i < data8 * 8; i++)
		put8(b, 'a' + i % 26);
}

/* op 0 with the fill bit: lb > 182 is a merged frame of 1460 + (lb - 182) *
 * 224 'z' bytes (a large packet: a receive queue may hold it) */
static void t_zseg(struct buf *b, uint8_t flags, int16_t dseq, uint8_t lb)
{
	put8(b, 0);
	put8(b, 0x80);                  /* mode: fill */
	put8(b, flags);
	put16(b, (uint16_t)dseq);
	put16(b, 0);
	put16(b, 65535);
	put8(b, 0);                     /* no options */
	put8(b, lb);
}

/* The fixed-shape seeds of one family (byte 0). */
static void tcp_seeds_misc(int fam, const char *suffix)
{
	struct buf b;
	char name[64];
	/* RFC 5961 shapes in ESTABLISHED: RST in window, SYN, old ACK; then close */
	b.n = 0;
	put8(&b, (uint8_t)fam);
	put8(&b, 2);
	t_seg(&b, TCP_RST, 100, 0, 65535, 0);
	t_seg(&b, TCP_SYN, 0, 0, 65535, 0);
	t_seg(&b, TCP_ACK, 0, -20000, 65535, 1);
	t_seg(&b, TCP_RST, 0, 0, 65535, 0);
	put8(&b, 10);
	snprintf(name, sizeof(name), "estab-rfc5961%s", suffix);
	save("fuzz_tcp", name, &b);
	/* out of order data with options, then the hole filled */
	b.n = 0;
	put8(&b, (uint8_t)fam);
	put8(&b, 0x12);
	put8(&b, 0); put8(&b, 0); put8(&b, TCP_ACK); put16(&b, 16); put16(&b, 0); put16(&b, 65535);
	put8(&b, 4); put8(&b, 1); put8(&b, 1); put8(&b, 8); put8(&b, 2);       /* NOP NOP, odd option */
	put8(&b, 1); putn(&b, "87654321", 8);
	t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 2);
	put8(&b, 8); put8(&b, 255);
	snprintf(name, sizeof(name), "estab-ooo%s", suffix);
	save("fuzz_tcp", name, &b);
	/* sockopts (IPv6: IPV6_TCLASS and IPV6_UNICAST_HOPS too), shutdown
	 * variants, close */
	b.n = 0;
	put8(&b, (uint8_t)fam);
	put8(&b, 2);
	put8(&b, 11); put8(&b, 0x05); put32(&b, 1); put32(&b, 0); put8(&b, 4);  /* TCP_NODELAY */
	put8(&b, 11); put8(&b, 0x11); put32(&b, 0); put32(&b, 0); put8(&b, 8);  /* get SO_LINGER */
	if (fam) {
		put8(&b, 11); put8(&b, 0x0c); put32(&b, 0x10); put32(&b, 0); put8(&b, 4);  /* IPV6_TCLASS 16 */
		put8(&b, 11); put8(&b, 0x0d); put32(&b, 7); put32(&b, 0); put8(&b, 4);     /* IPV6_UNICAST_HOPS 7 */
		put8(&b, 7); put8(&b, 50);
	}
	put8(&b, 7); put8(&b, 255);
	put8(&b, 0x15);                                                       /* SHUT_WR */
	put8(&b, 0x72);                                                       /* +130 s */
	put8(&b, 10);
	snprintf(name, sizeof(name), "estab-opts-close%s", suffix);
	save("fuzz_tcp", name, &b);
	/* the pool starved to one free packet: data in, data out, retransmission */
	b.n = 0;
	put8(&b, (uint8_t)fam);
	put8(&b, 0x22 | 0x80);
	put8(&b, 1);
	t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 2);
	put8(&b, 7); put8(&b, 200);
	put8(&b, 0x5a);
	put8(&b, 0x5a);
	snprintf(name, sizeof(name), "estab-pool-starved%s", suffix);
	save("fuzz_tcp", name, &b);
	/* merged frames: held, read in pieces and peeked, then one out of
	 * order behind held bytes and the hole filled, then close with unread
	 * bytes (RST) */
	b.n = 0;
	put8(&b, (uint8_t)fam);
	put8(&b, 2);
	t_zseg(&b, TCP_ACK | TCP_PSH, 0, 230);
	t_zseg(&b, TCP_ACK | TCP_PSH, 0, 220);
	put8(&b, 0x14); put8(&b, 200);                                        /* peek 200 */
	put8(&b, 0x8c); put8(&b, 127);                                        /* recv 2032 */
	t_zseg(&b, TCP_ACK, 20000, 230);
	put8(&b, 0x44); put8(&b, 255);                                        /* recv 1020 */
	t_zseg(&b, TCP_ACK | TCP_PSH, 0, 200);
	put8(&b, 0x68); put8(&b, 255);                                        /* recv 2040 (WAITALL) */
	for (int i = 0; i < 3; i++) {
		put8(&b, 0x8c); put8(&b, 255);                                /* recv 4080 */
	}
	put8(&b, 0x38); put8(&b, 255);                                        /* peek|waitall 510 */
	put8(&b, 10);                                                         /* close: unread, RST */
	snprintf(name, sizeof(name), "estab-gro%s", suffix);
	save("fuzz_tcp", name, &b);
}

static void tcp_seeds(void)
{
	static const char *const names[9] = { "syn-sent", "syn-rcvd", "estab", "fin-wait-1", "fin-wait-2",
					      "close-wait", "closing", "last-ack", "time-wait" };
	/* byte 0: the family (IPv4, IPv6, IPv4 on an AF_INET6 socket) */
	static const char *const fams[3] = { "", "-v6", "-mapped" };
	struct buf b;
	char name[64];
	for (int fam = 0; fam < 3; fam++) {
		for (int state = 0; state < 9; state++) {
			for (int passive = 0; passive < 2; passive++) {
				if (passive && state == 0)
					continue;
				if (fam == 2 && state != 0 && state != 2 && state != 8)
					continue;       /* mapped: SYN-SENT, ESTABLISHED, TIME-WAIT */
				b.n = 0;
				put8(&b, (uint8_t)fam);
				put8(&b, (uint8_t)(state | (passive ? 0x10 : 0) | 0x20));
				t_seg(&b, TCP_ACK | TCP_PSH, 0, 0, 65535, 4);   /* in-window data, everything acked */
				put8(&b, 7); put8(&b, 100);                     /* send 100 */
				put8(&b, 8); put8(&b, 200);                     /* recv 200 */
				put8(&b, 0x5a);                                 /* +1 s */
				t_seg(&b, TCP_ACK, 0, 0, 0, 0);                 /* zero window */
				put8(&b, 0x36);                                 /* +40 ms */
				t_seg(&b, TCP_FIN | TCP_ACK, 0, 0, 65535, 0);
				put8(&b, 0x66);                                 /* +60 s */
				snprintf(name, sizeof(name), "%s-%s%s", names[state],
					 passive ? "passive" : "active", fams[fam]);
				save("fuzz_tcp", name, &b);
			}
		}
	}
	tcp_seeds_misc(0, "");
	tcp_seeds_misc(1, "-v6");
}

/* ---- fuzz_api ------------------------------------------------------------ */

static void api_seeds(void)
{
	struct buf b;
	/* L = sd index 0, C = 1, A = 2 */
	static const uint8_t conn[] = {
		0x00,                           /* socket L */
		0x01, 0x00, 0x01, 0x01,         /* bind L 127.0.0.1:80 */
		0x02, 0x00, 0x04,               /* listen L 4 */
		0x00,                           /* socket C */
		0x04, 0x01, 0x01, 0x01,         /* connect C 127.0.0.1:80 */
		0x33, 0x00,                     /* accept L -> A */
		0x05, 0x01, 0x10,               /* send C 16 */
		0x41, 0x01, 0x40,               /* send C 64<<4 */
		0x06, 0x02, 0x40,               /* recv A 64 */
		0x13, 0x01,                     /* shutdown C SHUT_WR */
		0x36, 0x02, 0xff,               /* recv A 255<<3 */
		0x0b, 0x02,                     /* queries on A */
		0x08, 0x02,                     /* close A */
		0x08, 0x01,                     /* close C */
		0x6a,                           /* +60 s */
		0x0b, 0x00,
	};
	b.n = 0;
	putn(&b, conn, sizeof(conn));
	save("fuzz_api", "connect-transfer-close", &b);
	static const uint8_t opts[] = {
		0x00, 0x00,                     /* two sockets */
		0x09, 0x00, 0x09, 0x04, 1, 0, 0, 0,     /* SOL_SOCKET SO_KEEPALIVE = 1 */
		0x15, 0x00, 0x01, 0x04, 1, 0, 0, 0,     /* IPPROTO_TCP TCP_NODELAY = 1 */
		0x45, 0x00, 0x0d, 0x08,                 /* get SO_LINGER */
		0x45, 0x00, 0x07, 0x04,                 /* get SO_SNDBUF */
		0x15, 0x00, 0x02, 0x04, 0x10, 0, 0, 0,  /* TCP_MAXSEG */
		0x01, 0x01, 0x00, 0x00,                 /* bind any:ephemeral */
		0x02, 0x01, 0x80,                       /* listen, negative backlog */
		0x04, 0x00, 0x03, 0x7f, 0x00, 0x00, 0x01, 0x03, 0x1f, 0x90,   /* connect 127.0.0.1:8080 (refused) */
		0x04, 0x00, 0x03, 0x0a, 0x00, 0x00, 0x01, 0x01,               /* connect 10.0.0.1 */
		0x0b, 0x00, 0x0b, 0xff, 0xfb, 0x00,     /* queries, sd -1, close_all */
	};
	b.n = 0;
	putn(&b, opts, sizeof(opts));
	save("fuzz_api", "sockopts-errors", &b);
	/* datagrams: U1 = 0, U2 = 1 */
	static const uint8_t udp[] = {
		0x24,                                   /* socket U1 (DGRAM) */
		0x01, 0x00, 0x01, 0x03, 0x00, 0x35,     /* bind U1 127.0.0.1:53 */
		0x24,                                   /* socket U2 */
		0xa7, 0x01, 0x20, 0x00, 0x01, 0x03, 0x00, 0x35, /* sendto U2 -> :53, 32 bytes */
		0x23, 0x00, 0x10,                       /* recvfrom U1 256 */
		0x04, 0x01, 0x01, 0x03, 0x00, 0x35,     /* connect U2 127.0.0.1:53 */
		0x05, 0x01, 0x10,                       /* send U2 16 */
		0x06, 0x00, 0x08,                       /* recv U1 8 (truncated) */
		0x2f, 0x01,                             /* disconnect U2 */
		0xa7, 0x01, 0x10, 0x00, 0x01, 0x03, 0x00, 0x36, /* sendto :54 (port unreachable) */
		0x0b, 0x01,
		0x08, 0x00, 0x08, 0x01,                 /* close both */
	};
	b.n = 0;
	putn(&b, udp, sizeof(udp));
	save("fuzz_api", "udp", &b);
	/* IPv6 streams: a dual-stack listener L6 = 0 on [::]:80, C6 = 1 connects
	 * to [::1]:80, A6 = 2 accepted; IPV6_TCLASS, IPV6_V6ONLY; M = 3 connects
	 * from IPv4 (::ffff:127.0.0.1) to the same listener, A4 = 4; a V6ONLY
	 * socket 5 binds [::]:81 */
	static const uint8_t conn6[] = {
		0x0c,                           /* socket6 L6 */
		0x85, 0x00, 0x00, 0x01,         /* bind_addr L6 [::]:80 */
		0x02, 0x00, 0x04,               /* listen L6 4 */
		0x0c,                           /* socket6 C6 */
		0x88, 0x01, 0x01, 0x01,         /* connect_addr C6 [::1]:80 */
		0xb7, 0x00,                     /* accept_addr L6 -> A6 */
		0x05, 0x01, 0x10,               /* send C6 16 */
		0x06, 0x02, 0x40,               /* recv A6 64 */
		0x81, 0x01, 0x02, 0x04, 0x10, 0, 0, 0,  /* IPV6_TCLASS 16 on C6 */
		0xc9, 0x01, 0x01, 0x04,                 /* get IPV6_V6ONLY */
		0x05, 0x01, 0x10,               /* send C6 16 (with the class) */
		0x0b, 0x02,                     /* queries on A6 */
		0x0c,                           /* socket6 M */
		0x88, 0x03, 0x02, 0x01,         /* connect_addr M [::ffff:127.0.0.1]:80 */
		0xb7, 0x00,                     /* accept_addr L6 -> A4 */
		0x05, 0x03, 0x10,               /* send M 16 */
		0x06, 0x04, 0x40,               /* recv A4 64 */
		0x0b, 0x04,
		0x0c,                           /* socket6 5 */
		0x81, 0x05, 0x01, 0x04, 1, 0, 0, 0,     /* IPV6_V6ONLY 1 */
		0x85, 0x05, 0x00, 0x06,         /* bind_addr [::]:81 */
		0x88, 0x05, 0x02, 0x01,         /* connect_addr ::ffff:127.0.0.1 (EAFNOSUPPORT-ish) */
		0x13, 0x01,                     /* shutdown C6 SHUT_WR */
		0x08, 0x02,                     /* close A6 */
		0x08, 0x01,                     /* close C6 */
		0x6a,                           /* +60 s */
		0x0b, 0x00,
	};
	b.n = 0;
	putn(&b, conn6, sizeof(conn6));
	save("fuzz_api", "connect6", &b);
	/* IPv6 datagrams: U1 = 0 on [::1]:53 with IPV6_RECVPKTINFO and
	 * IPV6_RECVHOPLIMIT, U2 = 1 sends to it with a hop limit and traffic
	 * class, then to ::ffff:127.0.0.1:53 (nobody: port unreachable), then
	 * connected, then a bad hop limit */
	static const uint8_t udp6[] = {
		0x6c,                                   /* socket6 U1 (DGRAM) */
		0x85, 0x00, 0x01, 0x03, 0x00, 0x35,     /* bind_addr U1 [::1]:53 */
		0x6c,                                   /* socket6 U2 */
		0x81, 0x00, 0x04, 0x04, 1, 0, 0, 0,     /* IPV6_RECVPKTINFO */
		0x81, 0x00, 0x05, 0x04, 1, 0, 0, 0,     /* IPV6_RECVHOPLIMIT */
		0x81, 0x01, 0x00, 0x04, 9, 0, 0, 0,     /* IPV6_UNICAST_HOPS 9 on U2 */
		0xd7, 0x01, 0x12, 0x12, 0x05, 0x07, 0x20, 0x01, 0x03, 0x00, 0x35, /* sendmsg_addr hops 7 tclass 32 */
		0xe3, 0x00, 0x10,                       /* recvmsg_addr U1, PEEK */
		0x53, 0x00, 0x10,                       /* recvmsg_addr U1 */
		0xd7, 0x01, 0x12, 0x12, 0x00, 0x02, 0x03, 0x00, 0x35, /* to ::ffff:127.0.0.1:53 */
		0x88, 0x01, 0x01, 0x03, 0x00, 0x35,     /* connect_addr U2 [::1]:53 */
		0x05, 0x01, 0x10,                       /* send U2 16 */
		0x53, 0x00, 0x08,                       /* recvmsg_addr U1 128 */
		0xd7, 0x01, 0x12, 0x12, 0x03, 0x00, 0x01, 0x03, 0x00, 0x35, /* hop limit -2: EINVAL */
		0x0b, 0x00, 0x0b, 0x01,
		0x08, 0x00, 0x08, 0x01,                 /* close both */
	};
	b.n = 0;
	putn(&b, udp6, sizeof(udp6));
	save("fuzz_api", "udp6", &b);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0755);
	frame_seeds();
	tcp_seeds();
	api_seeds();
	return 0;
}
