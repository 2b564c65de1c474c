/* Device offloads seen from the stack: the fast checksum against the
 * byte-wise RFC 1071 reference, TSO frames tcp_output builds for a device
 * with NETDEV_F_TSO|NETDEV_F_TX_CSUM (one frame, gso_size == MSS, the
 * pseudo-header sum in the checksum field), their software segmentation
 * (gso_segment: sequence numbers, checksums, PSH/FIN on the last segment
 * only), a whole transfer through a memdev that segments, and GRO-sized
 * frames received (accepted, ACKed at once). */
#include "tests/unit/tcp_harness.h"

static uint64_t rng = 0x1234567887654321ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* RFC 1071 byte by byte: big-endian 16-bit words, the last odd byte high. */
static uint32_t ref_add(uint32_t sum, const uint8_t *b, size_t len)
{
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(b[0] << 8 | b[1]);
		b += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)b[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

TEST(csum_matches_reference)
{
	static uint8_t buf[70000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	int bad = 0;
	for (int it = 0; it < 20000; it++) {
		size_t off = rnd() % 16, len = rnd() % 2001;
		uint32_t init = it & 1 ? rnd() % 0x30000 : 0;
		if (csum_fold(csum_add(init, buf + off, len)) != csum_fold(ref_add(init, buf + off, len)))
			bad++;
	}
	CHECK_EQ(bad, 0);
	for (size_t len = 0; len <= 64; len++)
		for (size_t off = 0; off < 8; off++)
			CHECK_EQ(csum_fold(csum_add(7, buf + off, len)), csum_fold(ref_add(7, buf + off, len)));
	CHECK_EQ(csum_fold(csum_add(0, buf + 1, 65535)), csum_fold(ref_add(0, buf + 1, 65535)));
	/* carries everywhere: all ones, and all zeros */
	memset(buf, 0xff, 4096);
	CHECK_EQ(csum_fold(csum_add(0xffff, buf, 4095)), csum_fold(ref_add(0xffff, buf, 4095)));
	memset(buf, 0, 4096);
	CHECK_EQ(csum_fold(csum_add(0, buf, 4096)), 0xffff);
}

/* an established connection to a peer without timestamps (MSS 1460) on a
 * device with TSO and checksum offload; raw: frames come out as built */
static int tso_open(uint32_t *iss, uint16_t wnd)
{
	setup();
	memdev_set_offload(dev, NETDEV_F_TSO | NETDEV_F_TX_CSUM, 0);
	int sd = open_active(iss, 10 * MS, wnd);
	int one = 1;
	nst_setsockopt(st, sd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one), now);
	return sd;
}

static void tso_close(int sd)
{
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

/* frames the stack sends go to the peer as built (1) or segmented (0) */
static void raw(int on)
{
	memdev_set_offload(dev, NETDEV_F_TSO | NETDEV_F_TX_CSUM, on);
}

/* the next IPv4 frame the stack sent */
static struct pkt *take_raw(void)
{
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct eth_hdr *eh = (const struct eth_hdr *)p->data;
		if (ntohs(eh->type) == ETH_P_IPV4)
			break;
		pkt_free(p);
	}
	return p;
}

static char data[256 * 1024];

TEST(tso_builds_one_frame_with_partial_checksum)
{
	uint32_t iss;
	int sd = tso_open(&iss, 65535);
	struct tcb *t = tcb_of(sd);
	CHECK_EQ(t->mss, 1460);
	raw(1);
	CHECK_EQ(nst_send(st, sd, data, 30000, 0, now), 30000);
	raw(0);
	struct pkt *p = take_raw();
	REQUIRE(p);
	CHECK(pkt_is_large(p));
	/* the initial window in transmission units (tcp_output): at 10 ms
	 * RTT the pacing rate sends under two segments a millisecond, so
	 * units of two, as Linux's GSO packets; this is the first */
	CHECK_EQ(p->gso_size, 1460);
	CHECK(p->flags & PKT_F_CSUM_PARTIAL);
	const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
	const uint8_t *th = p->data + ETH_HDR_LEN + IP_HDR_LEN;
	const struct tcp_hdr *h = (const struct tcp_hdr *)th;
	CHECK_EQ(p->len, ETH_HDR_LEN + IP_HDR_LEN + 20 + 2920);
	CHECK_EQ(ntohs(ih->total_len), IP_HDR_LEN + 20 + 2920);
	CHECK(ntohs(ih->frag) & IP_DF);
	CHECK_EQ(csum_fold(csum_add(0, ih, IP_HDR_LEN)), 0);
	CHECK_EQ(p->buf + p->csum_start, th);
	CHECK_EQ(p->csum_off, 16);
	/* the field: the pseudo-header sum over the whole frame's TCP length */
	uint16_t want = (uint16_t)~csum_fold(csum_pseudo(ME, PEER, IP_PROTO_TCP, 20 + 2920));
	CHECK_EQ(ntohs(h->csum), want);
	CHECK_EQ(ntohl(h->seq), iss + 1);
	/* a unit ends with PSH (tcp_output), which the cut leaves on its
	 * last segment only */
	CHECK_EQ(h->flags, ACK | PSH);
	CHECK_EQ(memcmp(th + 20, data, 2920), 0);

	/* cut up in software: what the device puts on the wire */
	struct pkt_queue q = { 0 };
	uint16_t id0 = ntohs(ih->id);
	CHECK_EQ(gso_segment(p, &q), 2);
	for (int i = 0; i < 2; i++) {
		struct pkt *s = pkt_queue_pop(&q);
		REQUIRE(s);
		const struct ip_hdr *si = (const struct ip_hdr *)(s->data + ETH_HDR_LEN);
		const uint8_t *sb = s->data + ETH_HDR_LEN + IP_HDR_LEN;
		const struct tcp_hdr *sh = (const struct tcp_hdr *)sb;
		CHECK_EQ(s->len, ETH_HDR_LEN + IP_HDR_LEN + 20 + 1460);
		CHECK_EQ(ntohs(si->total_len), IP_HDR_LEN + 20 + 1460);
		CHECK_EQ(ntohs(si->id), (uint16_t)(id0 + i));
		CHECK_EQ(csum_fold(csum_add(0, si, IP_HDR_LEN)), 0);
		CHECK_EQ(csum_fold(csum_add(csum_pseudo(ME, PEER, IP_PROTO_TCP, 1480), sb, 1480)), 0);
		CHECK_EQ(ntohl(sh->seq), iss + 1 + 1460u * i);
		CHECK_EQ(sh->flags, i == 1 ? ACK | PSH : ACK);
		CHECK_EQ(memcmp(sb + 20, data + 1460 * i, 1460), 0);
		pkt_free(s);
	}
	CHECK(!pkt_queue_pop(&q));
	/* the rest of the initial window: four more units of two */
	for (int i = 1; i < 5; i++) {
		p = take_raw();
		REQUIRE(p);
		h = (const struct tcp_hdr *)(p->data + ETH_HDR_LEN + IP_HDR_LEN);
		CHECK_EQ(p->len, ETH_HDR_LEN + IP_HDR_LEN + 20 + 2920);
		CHECK_EQ(ntohl(h->seq), iss + 1 + 2920u * i);
		CHECK_EQ(h->flags, ACK | PSH);
		pkt_free(p);
	}
	CHECK(!take_raw());
	tso_close(sd);
}

TEST(tso_tail_carries_psh_and_fin_on_the_last_segment_only)
{
	uint32_t iss;
	/* a closed window: data and FIN wait, then leave in two units of
	 * two segments (tcp_output), PSH on the last segment of each, FIN on
	 * the last of all */
	int sd = tso_open(&iss, 0);
	CHECK_EQ(nst_send(st, sd, data, 5000, 0, now), 5000);
	CHECK_EQ(nst_shutdown(st, sd, SHUT_WR, now), 0);
	CHECK(none());
	raw(1);
	inject(from(sd, ACK, PISS + 1, iss + 1, NULL));
	raw(0);
	for (int f = 0; f < 2; f++) {
		struct pkt *p = take_raw();
		REQUIRE(p);
		CHECK_EQ(p->gso_size, 1460);
		uint8_t last = f ? ACK | PSH | FIN : ACK | PSH;
		const struct tcp_hdr *h = (const struct tcp_hdr *)(p->data + ETH_HDR_LEN + IP_HDR_LEN);
		CHECK_EQ(h->flags, last);
		struct pkt_queue q = { 0 };
		CHECK_EQ(gso_segment(p, &q), 2);
		for (int i = 0; i < 2; i++) {
			struct pkt *s = pkt_queue_pop(&q);
			REQUIRE(s);
			const uint8_t *sb = s->data + ETH_HDR_LEN + IP_HDR_LEN;
			const struct tcp_hdr *sh = (const struct tcp_hdr *)sb;
			uint32_t len = f && i ? 5000 - 3 * 1460 : 1460;
			CHECK_EQ(s->len, ETH_HDR_LEN + IP_HDR_LEN + 20 + len);
			CHECK_EQ(sh->flags, i == 0 ? ACK : last);
			CHECK_EQ(csum_fold(csum_add(csum_pseudo(ME, PEER, IP_PROTO_TCP, (uint16_t)(20 + len)),
						    sb, 20 + len)), 0);
			pkt_free(s);
		}
	}
	tso_close(sd);
}

/* Through the segmenting memdev: every wire segment at most one MSS with a
 * valid checksum (take() checks), the byte stream intact, and a window
 * limit cuts frames at whole segments (no SWS tail). */
TEST(tso_transfer_through_software_segmentation)
{
	uint32_t iss;
	int sd = tso_open(&iss, 65535);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)rnd();
	size_t queued = 0, got = 0;
	struct out o;
	int rounds = 0, partial = 0;
	while (got < sizeof(data) && rounds++ < 1000) {
		ssize_t n = nst_send(st, sd, data + queued, sizeof(data) - queued, 0, now);
		if (n > 0)
			queued += (size_t)n;
		advance(now + MS);
		while (take(&o)) {
			if (!o.len)
				continue;
			CHECK(o.len <= 1460);
			if (o.len < 1460 && got + o.len < sizeof(data))
				partial++;
			CHECK_EQ(o.seq, iss + 1 + (uint32_t)got);
			CHECK_EQ(memcmp(o.data, data + got, o.len), 0);
			got += o.len;
		}
		/* ACK everything, a window that is not a multiple of the MSS */
		inject(from(sd, ACK, PISS + 1, iss + 1 + (uint32_t)got, NULL));
	}
	CHECK_EQ(got, sizeof(data));
	CHECK_EQ(partial, 0);
	CHECK(st->stat.tcp_tso_tx > 0);
	tso_close(sd);
}

TEST(gro_frame_accepted_and_acked_at_once)
{
	uint32_t iss;
	setup();
	memdev_set_offload(dev, NETDEV_F_RX_CSUM | NETDEV_F_GRO, 0);
	int sd = open_active(&iss, 10 * MS, 65535);
	struct tcb *t = tcb_of(sd);
	/* 10 wire segments merged by the device, checksum left to it */
	struct seg g = from(sd, ACK, PISS + 1, iss + 1, NULL);
	g.data = data;
	g.len = 14600;
	g.gro = 1460;
	inject(g);
	CHECK_EQ(t->rcv.nxt, PISS + 1 + 14600);
	CHECK(t->rcv_mss <= 1460);
	CHECK_EQ(st->stat.tcp_gro_rx, 1);
	struct out o;
	REQUIRE(take(&o));              /* no delayed ACK for a 10-segment frame */
	CHECK_EQ(o.ack, PISS + 1 + 14600);
	static char buf[20000];
	CHECK_EQ(nst_recv(st, sd, buf, sizeof(buf), 0, now), 14600);
	CHECK_EQ(memcmp(buf, data, 14600), 0);
	nst_close(st, sd, now);
	teardown();
	CHECK_EQ(pkt_pool_large_in_use(), 0);
}

int main(void)
{
	pkt_pool_init(4096);
	pkt_pool_init_large(64);
	RUN(csum_matches_reference);
	RUN(tso_builds_one_frame_with_partial_checksum);
	RUN(tso_tail_carries_psh_and_fin_on_the_last_segment_only);
	RUN(tso_transfer_through_software_segmentation);
	RUN(gro_frame_accepted_and_acked_at_once);
	pkt_pool_fini();
	return TEST_SUMMARY();
}
