/* Unit tests of TCP and UDP over IPv6 and of dual-stack sockets (RFC 8200,
 * RFC 4291 2.5.5.2 v4-mapped addresses, Linux's bindv6only=0 semantics):
 * the handshakes and data over IPv6, the IPv6 MSS, a listener on :: taking
 * IPv4 and IPv6 peers, IPV6_V6ONLY, the bind rules across families, Packet
 * Too Big, UDP's mandatory checksum. The test is the peer (tcp_harness.h,
 * harness_v6 switches the family of what it injects), at exact time. */
#include "tests/unit/tcp_harness.h"
#include "stack/udp.h"

/* An active open over IPv6: MSS 1440 (1500 less 60 bytes), hop limit 64, one
 * flow label for every segment of the connection (RFC 6437), data both
 * ways, the names as an AF_INET6 socket reports them. */
TEST(active_open_v6)
{
	harness_v6 = 1;
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 1000, 65535);
	CHECK_EQ(tcb_of(sd)->mss, 1440);
	CHECK_EQ(nst_sock_family(st, sd), NST_AF_INET6);
	struct nst_addr a;
	uint16_t port;
	CHECK_EQ(nst_getsockname_addr(st, sd, &a, &port), 0);
	CHECK(nst_addr_eq(&a, &ME6));
	CHECK_EQ(nst_getpeername_addr(st, sd, &a, &port), 0);
	CHECK(nst_addr_eq(&a, &PEER6));
	CHECK_EQ(port, 80);
	uint32_t ipv4;
	CHECK_EQ(nst_getpeername(st, sd, &ipv4, &port), 0);
	CHECK_EQ(ipv4, 0);                      /* the IPv4 form of an IPv6 name */

	CHECK_EQ(nst_send(st, sd, "hello", 5, 0, now), 5);
	struct out o;
	CHECK(take(&o));
	CHECK(o.v6);
	CHECK_EQ(o.len, 5);
	CHECK_EQ(o.hop, 64);
	CHECK(o.flow != 0);
	uint32_t flow = o.flow;
	inject(from(sd, ACK, PISS + 1, iss + 6, "world!"));
	char b[16];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), 6);
	CHECK(memcmp(b, "world!", 6) == 0);
	CHECK_EQ(nst_close(st, sd, now), 0);
	CHECK(take(&o));
	CHECK(o.flags & FIN);
	CHECK_EQ(o.flow, flow);
	teardown();
	harness_v6 = 0;
}

/* IPV6_UNICAST_HOPS and IPV6_TCLASS reach the IPv6 header; IP_TOS and IP_TTL
 * do not (Linux: they are the IPv4 header's). */
TEST(hops_and_tclass)
{
	harness_v6 = 1;
	setup();
	int sd = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(get_int(sd, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 64);
	CHECK_EQ(set_int(sd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 7), 0);
	CHECK_EQ(set_int(sd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256), -EINVAL);
	CHECK_EQ(set_int(sd, IPPROTO_IPV6, IPV6_TCLASS, 0x28), 0);
	CHECK_EQ(set_int(sd, IPPROTO_IP, IP_TTL, 9), 0);
	CHECK_EQ(get_int(sd, IPPROTO_IPV6, IPV6_TCLASS), 0x28);
	CHECK_EQ(get_int(sd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	struct nst_addr pa = PEER6;
	CHECK_EQ(nst_connect_addr(st, sd, &pa, 80, now), -EINPROGRESS);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.flags, SYN);
	CHECK_EQ(o.hop, 7);
	CHECK_EQ(o.tclass, 0x28);
	/* an AF_INET socket has no IPv6 level (Linux ip_setsockopt / ip_getsockopt) */
	int s4 = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(s4, IPPROTO_IPV6, IPV6_V6ONLY, 1), -ENOPROTOOPT);
	int v;
	unsigned len = sizeof(v);
	CHECK_EQ(nst_getsockopt(st, s4, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), -EOPNOTSUPP);
	teardown();
	harness_v6 = 0;
}

/* A listener on :: (an AF_INET6 socket, IPV6_V6ONLY off as Linux's default)
 * accepts IPv6 and IPv4 peers; the IPv4 one is named ::ffff:198.18.0.1 and
 * its connection runs over IPv4 (MSS 1460). */
TEST(dual_stack_listener)
{
	harness_v6 = 1;
	setup();
	int l = listener(8);
	CHECK_EQ(get_int(l, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	uint32_t iss;
	int c6 = accepted(l, 5000, &iss);
	CHECK(nst_addr_eq(&tcb_of(c6)->raddr, &PEER6));
	CHECK_EQ(tcb_of(c6)->mss, 1440);

	harness_v6 = 0;
	int c4 = accepted(l, 5001, &iss);
	struct nst_addr a, want = nst_addr_from_v4(PEER);
	uint16_t port;
	CHECK_EQ(nst_getpeername_addr(st, c4, &a, &port), 0);
	CHECK(nst_addr_eq(&a, &want));
	CHECK(nst_addr_is_v4(&a));
	CHECK_EQ(nst_getsockname_addr(st, c4, &a, &port), 0);
	want = nst_addr_from_v4(ME);
	CHECK(nst_addr_eq(&a, &want));
	CHECK_EQ(nst_sock_family(st, c4), NST_AF_INET6);    /* the listener's family */
	CHECK_EQ(tcb_of(c4)->mss, 1460);
	CHECK_EQ(nst_send(st, c4, "v4", 2, 0, now), 2);
	struct out o;
	CHECK(take(&o));
	CHECK(!o.v6);
	CHECK_EQ(o.len, 2);
	teardown();
}

/* IPV6_V6ONLY: a :: listener with it refuses IPv4 (RST), an AF_INET
 * listener never takes IPv6; the option is fixed once bound. */
TEST(v6only_and_families)
{
	harness_v6 = 1;
	setup();
	int l = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	struct nst_addr any6 = { 0 };
	CHECK_EQ(nst_bind_addr(st, l, &any6, 80), 0);
	CHECK_EQ(set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 0), -EINVAL);  /* "inet_num set" */
	CHECK_EQ(nst_listen(st, l, 8, now), 0);
	uint32_t iss;
	int c6 = accepted(l, 5000, &iss);
	CHECK(c6 >= 0);
	harness_v6 = 0;
	uint64_t noport = st->stat.tcp_drop_noport;
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = 5001 });
	struct out o;
	CHECK(take(&o));
	CHECK(o.flags & RST);
	CHECK_EQ(st->stat.tcp_drop_noport, noport + 1);
	teardown();

	/* an AF_INET listener on 0.0.0.0:80 and an IPv6 SYN: reset */
	setup();
	listener(8);
	harness_v6 = 1;
	inject((struct seg){ .flags = SYN, .seq = PISS, .wnd = 65535, .sport = 5002 });
	CHECK(take(&o));
	CHECK(o.v6);
	CHECK(o.flags & RST);
	teardown();
	harness_v6 = 0;
}

/* bind across families, Linux inet_bind / inet6_bind and its conflict rules:
 * a dual-stack :: covers 0.0.0.0, an IPV6_V6ONLY :: does not; an AF_INET
 * socket takes no IPv6 address; a v4-mapped address on an IPV6_V6ONLY
 * socket is EINVAL; an address not ours EADDRNOTAVAIL. */
TEST(bind_rules_across_families)
{
	setup();
	struct nst_addr any6 = { 0 }, any4 = nst_addr_from_v4(0), me4m = nst_addr_from_v4(ME);
	struct nst_addr other6 = ME6;
	other6.b[15] = 9;
	int d = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind_addr(st, d, &any6, 7000), 0);
	int s4 = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind_addr(st, s4, &any4, 7000), -EADDRINUSE);
	CHECK_EQ(nst_bind(st, s4, ME, 7000), -EADDRINUSE);
	CHECK_EQ(nst_bind_addr(st, s4, &any6, 7001), -EAFNOSUPPORT);
	int o6 = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(o6, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	CHECK_EQ(nst_bind_addr(st, o6, &me4m, 7002), -EINVAL);
	CHECK_EQ(nst_bind_addr(st, o6, &other6, 7002), -EADDRNOTAVAIL);
	CHECK_EQ(nst_bind_addr(st, o6, &any6, 7003), 0);
	CHECK_EQ(nst_bind_addr(st, s4, &any4, 7003), 0);     /* V6ONLY: the IPv4 side is free */
	int m = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_bind_addr(st, m, &me4m, 7004), 0);      /* v4-mapped: an IPv4 binding */
	struct nst_addr a;
	uint16_t port;
	CHECK_EQ(nst_getsockname_addr(st, m, &a, &port), 0);
	CHECK(nst_addr_eq(&a, &me4m));
	CHECK_EQ(port, 7004);
	struct nst_addr pa = PEER6;
	CHECK_EQ(nst_connect_addr(st, m, &pa, 80, now), -EINVAL);  /* bound to IPv4 */
	/* V6ONLY and an IPv4 peer: ENETUNREACH (tcp_v6_connect) */
	int n = nst_socket6(st, NST_SOCK_STREAM);
	CHECK_EQ(set_int(n, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	struct nst_addr p4 = nst_addr_from_v4(PEER);
	CHECK_EQ(nst_connect_addr(st, n, &p4, 80, now), -ENETUNREACH);
	/* an AF_INET socket and an IPv6 peer: EAFNOSUPPORT */
	int q = nst_socket(st, NST_SOCK_STREAM);
	CHECK_EQ(nst_connect_addr(st, q, &pa, 80, now), -EAFNOSUPPORT);
	teardown();
}

/* RFC 8200 8.1 / RFC 9293: an IPv6 segment with a bad checksum is dropped
 * and counted; Packet Too Big (RFC 8201) lowers the MSS of the connection
 * it quotes, not below IPv6's minimum MTU 1280, and the data in flight
 * goes again at the new size. */
static void ptb_in(const struct tcb *t, uint32_t seq, uint32_t mtu)
{
	uint8_t m[8 + 40 + 20] = { ICMP6_PACKET_TOO_BIG, 0, 0, 0,
				   (uint8_t)(mtu >> 24), (uint8_t)(mtu >> 16), (uint8_t)(mtu >> 8), (uint8_t)mtu };
	struct ip6_hdr *q = (struct ip6_hdr *)(m + 8);      /* the segment we sent */
	q->ver_tc_flow = htonl(6u << 28);
	q->payload_len = htons(1460);
	q->next = IP6_NH_TCP;
	q->hop_limit = 64;
	memcpy(q->src, ME6.b, 16);
	memcpy(q->dst, PEER6.b, 16);
	uint8_t *th = m + 48;
	th[0] = (uint8_t)(t->lport >> 8); th[1] = (uint8_t)t->lport;
	th[2] = 0; th[3] = 80;
	th[4] = (uint8_t)(seq >> 24); th[5] = (uint8_t)(seq >> 16); th[6] = (uint8_t)(seq >> 8); th[7] = (uint8_t)seq;
	uint16_t c = csum_fold(csum_add(csum_pseudo6(&PEER6, &ME6, IP6_NH_ICMPV6, sizeof(m)), m, sizeof(m)));
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	struct pkt *p = pkt_alloc();
	REQUIRE(p);
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dev->mac, 6);
	memcpy(eh->src, peer_mac, 6);
	eh->type = htons(ETH_P_IPV6);
	struct ip6_hdr *ih = pkt_put(p, IP6_HDR_LEN);
	memset(ih, 0, sizeof(*ih));
	ih->ver_tc_flow = htonl(6u << 28);
	ih->payload_len = htons(sizeof(m));
	ih->next = IP6_NH_ICMPV6;
	ih->hop_limit = 64;
	memcpy(ih->src, PEER6.b, 16);
	memcpy(ih->dst, ME6.b, 16);
	memcpy(pkt_put(p, sizeof(m)), m, sizeof(m));
	memdev_inject(dev, p);
	stack_poll(st, now);
}

TEST(checksum_and_packet_too_big)
{
	harness_v6 = 1;
	setup();
	uint32_t iss;
	int sd = open_active(&iss, 1000, 65535);
	uint64_t bad = st->stat.tcp_drop_csum;
	struct seg s = from(sd, ACK, PISS + 1, iss + 1, "x");
	s.bad_csum = 1;
	inject(s);
	CHECK_EQ(st->stat.tcp_drop_csum, bad + 1);
	char b[4];
	CHECK_EQ(nst_recv(st, sd, b, sizeof(b), 0, now), -EAGAIN);

	CHECK_EQ(nst_send(st, sd, payload, 2 * 1440, 0, now), 2 * 1440);
	struct out o;
	CHECK(take(&o));
	CHECK_EQ(o.len, 1440);
	CHECK(take(&o));
	ptb_in(tcb_of(sd), iss + 1, 1300);
	CHECK_EQ(tcb_of(sd)->mss, 1300 - 60);
	CHECK(take(&o));                        /* resent at once at the new size */
	CHECK_EQ(o.seq, iss + 1);
	CHECK(o.len <= 1240);
	drain();
	ptb_in(tcb_of(sd), iss + 1, 600);       /* below the minimum: 1280 */
	CHECK_EQ(tcb_of(sd)->mss, 1280 - 60);
	teardown();
	harness_v6 = 0;
}

/* The MSS after a Packet Too Big leaves room for the options every segment
 * carries (timestamps): a resent segment fits the new path MTU whole, as
 * Linux's tcp_mtu_to_mss. With the MSS counting only the TCP header, every
 * resent segment was 12 bytes too large: dropped by our own path MTU check
 * (ip6_drop_toobig) and by the router, and the connection stalled. */
TEST(packet_too_big_counts_the_timestamps)
{
	harness_v6 = 1;
	setup();
	struct out syn;
	int sd = syn_sent(&syn);
	uint32_t iss = syn.seq;
	syn_ack_in(sd, &syn, 10 * MS, syn_with_opts((struct seg){ .wnd = 65535 }, 1, 1, 100, syn.tsval));
	REQUIRE(tcb_of(sd)->ts_ok);
	CHECK_EQ(tcb_of(sd)->mss, 1440 - 12);
	CHECK_EQ(nst_send(st, sd, payload, 2 * 1428, 0, now), 2 * 1428);
	drain();
	uint64_t toobig = st->stat.ip6_drop_toobig;
	ptb_in(tcb_of(sd), iss + 1, 1280);
	CHECK_EQ(tcb_of(sd)->mss, 1280 - 60 - 12);
	struct out o;
	REQUIRE(take(&o));                      /* resent at once, and it fits */
	CHECK_EQ(o.seq, iss + 1);
	CHECK_EQ(o.len, 1280 - 60 - 12);
	CHECK(o.has_ts);
	CHECK_EQ(st->stat.ip6_drop_toobig, toobig);
	teardown();
	harness_v6 = 0;
}

/* UDP over IPv6: a dual-stack socket on :: receives both families (IPv4
 * as ::ffff:a.b.c.d); RFC 8200 8.1: a zero checksum is discarded; what it
 * sends carries a valid checksum; a datagram to a closed port gets an
 * ICMPv6 Port Unreachable (RFC 4443 3.1 code 4). */
static void udp6_in(uint16_t dport, const char *data, int zero_sum)
{
	size_t n = strlen(data);
	struct pkt *p = pkt_alloc();
	REQUIRE(p);
	struct eth_hdr *eh = pkt_put(p, ETH_HDR_LEN);
	memcpy(eh->dst, dev->mac, 6);
	memcpy(eh->src, peer_mac, 6);
	eh->type = htons(ETH_P_IPV6);
	struct ip6_hdr *ih = pkt_put(p, IP6_HDR_LEN);
	memset(ih, 0, sizeof(*ih));
	ih->ver_tc_flow = htonl(6u << 28);
	ih->payload_len = htons((uint16_t)(8 + n));
	ih->next = IP6_NH_UDP;
	ih->hop_limit = 64;
	memcpy(ih->src, PEER6.b, 16);
	memcpy(ih->dst, ME6.b, 16);
	uint8_t *u = pkt_put(p, 8 + n);
	struct udp_hdr *uh = (struct udp_hdr *)u;
	uh->sport = htons(5353);
	uh->dport = htons(dport);
	uh->len = htons((uint16_t)(8 + n));
	uh->csum = 0;
	memcpy(u + 8, data, n);
	uint16_t c = csum_fold(csum_add(csum_pseudo6(&PEER6, &ME6, IP6_NH_UDP, (uint32_t)(8 + n)), u, 8 + n));
	uh->csum = zero_sum ? 0 : htons(c ? c : 0xffff);
	memdev_inject(dev, p);
	stack_poll(st, now);
}

TEST(udp_over_ipv6)
{
	setup();
	int u = nst_socket6(st, NST_SOCK_DGRAM);
	struct nst_addr any6 = { 0 };
	CHECK_EQ(nst_bind_addr(st, u, &any6, 9000), 0);
	udp6_in(9000, "six", 0);
	char b[16];
	struct nst_addr from;
	uint16_t port;
	int fl;
	struct nst_dgram_info di;
	CHECK_EQ(nst_recvmsg_addr(st, u, b, sizeof(b), 0, &from, &port, &fl, &di, now), 3);
	CHECK(nst_addr_eq(&from, &PEER6));
	CHECK_EQ(port, 5353);
	CHECK(nst_addr_eq(&di.dst, &ME6));      /* IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS */
	CHECK_EQ(di.hops, 64);
	CHECK_EQ(di.tclass, 0);
	uint64_t bad = st->stat.udp_drop_csum;
	udp6_in(9000, "zero", 1);
	CHECK_EQ(st->stat.udp_drop_csum, bad + 1);
	CHECK_EQ(nst_recvfrom_addr(st, u, b, sizeof(b), 0, &from, &port, &fl, now), -EAGAIN);

	/* an IPv4 datagram to the same port: v4-mapped source */
	struct nst_addr to4 = nst_addr_from_v4(PEER);
	CHECK_EQ(nst_sendto_addr(st, u, "to4", 3, 0, 1, &to4, 53, now), 3);
	struct out o;
	(void)o;
	struct pkt *p;
	int seen4 = 0, seen6 = 0;
	struct nst_addr to6 = PEER6;
	struct nst_send_info si = { .hops = 5, .tclass = 0x10 };  /* sendmsg's IPV6_HOPLIMIT, IPV6_TCLASS */
	CHECK_EQ(nst_sendmsg_addr(st, u, "to6", 3, 0, 1, &to6, 53, &si, now), 3);
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		if (ntohs(eh->type) == ETH_P_IPV4)
			seen4++;
		if (ntohs(eh->type) == ETH_P_IPV6) {
			const struct ip6_hdr *ih = (const struct ip6_hdr *)(p->data + ETH_HDR_LEN);
			if (ih->next == IP6_NH_UDP) {
				const uint8_t *ud = (const uint8_t *)(ih + 1);
				unsigned ulen = ntohs(ih->payload_len);
				struct nst_addr s6, d6;
				memcpy(s6.b, ih->src, 16);
				memcpy(d6.b, ih->dst, 16);
				CHECK(nst_addr_eq(&s6, &ME6));
				CHECK_EQ(csum_fold(csum_add(csum_pseudo6(&s6, &d6, IP6_NH_UDP, ulen), ud, ulen)), 0);
				CHECK(ud[6] || ud[7]);
				CHECK_EQ(ih->hop_limit, 5);
				CHECK_EQ((ntohl(ih->ver_tc_flow) >> 20) & 0xff, 0x10);
				seen6++;
			}
		}
		pkt_free(p);
	}
	CHECK_EQ(seen6, 1);
	CHECK_EQ(seen4, 1);

	/* a closed port: Destination Unreachable, port unreachable */
	udp6_in(9001, "nobody", 0);
	int unreach = 0;
	while ((p = memdev_take(dev))) {
		const struct ip6_hdr *ih = (const struct ip6_hdr *)(p->data + ETH_HDR_LEN);
		const uint8_t *m = (const uint8_t *)(ih + 1);
		if (ntohs(((const struct eth_hdr *)p->data)->type) == ETH_P_IPV6 &&
		    ih->next == IP6_NH_ICMPV6 && m[0] == ICMP6_DST_UNREACH && m[1] == ICMP6_DST_UNREACH_NOPORT)
			unreach++;
		pkt_free(p);
	}
	CHECK_EQ(unreach, 1);
	CHECK_EQ(nst_close(st, u, now), 0);
	teardown();
}

/* Datagrams still waiting for Neighbor Discovery are what process exit
 * waits for (nst_exit_pending), as those behind ARP: a short-lived sender's
 * datagrams are delivered once the neighbor answers. */
TEST(exit_waits_for_datagrams_behind_nd)
{
	setup();
	int u = nst_socket6(st, NST_SOCK_DGRAM);
	struct nst_addr other = PEER6;
	other.b[15] = 7;                        /* on-link, not in the neighbor cache */
	CHECK_EQ(nst_sendto_addr(st, u, "hello", 5, 0, 1, &other, 9, now), 5);
	nst_close_all(st, now);
	CHECK_EQ(nst_exit_pending(st), IP6_HDR_LEN + 8 + 5);
	nd6_update(st, &other, peer_mac);
	int sent = 0;
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct ip6_hdr *ih = (const struct ip6_hdr *)(p->data + ETH_HDR_LEN);
		if (ntohs(((const struct eth_hdr *)p->data)->type) == ETH_P_IPV6 && ih->next == IP6_NH_UDP)
			sent++;
		pkt_free(p);
	}
	CHECK_EQ(sent, 1);
	CHECK_EQ(nst_exit_pending(st), 0);
	teardown();
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(active_open_v6);
	RUN(hops_and_tclass);
	RUN(dual_stack_listener);
	RUN(v6only_and_families);
	RUN(bind_rules_across_families);
	RUN(checksum_and_packet_too_big);
	RUN(packet_too_big_counts_the_timestamps);
	RUN(udp_over_ipv6);
	RUN(exit_waits_for_datagrams_behind_nd);
	return TEST_SUMMARY();
}
