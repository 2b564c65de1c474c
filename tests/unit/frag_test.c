/* IPv4 reassembly (RFC 791/815, RFC 5722 overlaps) and fragmentation, with
 * exact clocks: the test is the peer, injecting fragments of one UDP
 * datagram in every order and shape, and reading what a UDP socket gets. */
#include "tests/unit/l3_harness.h"

static int sd;
static uint8_t dgram[3008];     /* UDP header + 3000 bytes */

/* The L3 stack with a UDP socket on port 5000, and dgram: a datagram to
 * it from PEER:7000. */
static void frag_setup(void)
{
	setup();
	sd = nst_socket(st, NST_SOCK_DGRAM);
	nst_bind(st, sd, 0, 5000);
	static uint8_t data[3000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)((i + 8) * 7);
	udp_build(dgram, 7000, 5000, data, sizeof(data), 1);
}

static void frag_teardown(void)
{
	nst_close(st, sd, 0);
	teardown();
}

/* Inject the fragment [off, off+len) of dgram with identification id. */
static void frag(uint16_t id, unsigned off, unsigned len, int mf, uint64_t now)
{
	static uint8_t b[IP_HDR_LEN + sizeof(dgram)];
	ip_build(b, PEER, ME, IP_PROTO_UDP, dgram + off, len);
	struct ip_hdr *ih = (struct ip_hdr *)b;
	ih->id = htons(id);
	ih->frag = htons((uint16_t)((off / 8) | (mf ? IP_MF : 0)));
	ih->csum = 0;
	ih->csum = htons(csum(ih, IP_HDR_LEN));
	inject_ip(b, IP_HDR_LEN + len);
	stack_poll(st, now);
}

/* The three fragments of dgram at MTU 1500: 1480 + 1480 + 48. */
#define F1(id, t) frag(id, 0, 1480, 1, t)
#define F2(id, t) frag(id, 1480, 1480, 1, t)
#define F3(id, t) frag(id, 2960, 48, 0, t)

/* One datagram, intact, is queued; nothing more. */
static void expect_delivered(void)
{
	static uint8_t buf[4000];
	uint32_t a;
	uint16_t port;
	int fl;
	CHECK_EQ(nst_rx_avail(st, sd), 3000);
	ssize_t n = nst_recvfrom(st, sd, buf, sizeof(buf), 0, &a, &port, &fl, 0);
	CHECK_EQ(n, 3000);
	CHECK(memcmp(buf, dgram + 8, 3000) == 0);
	CHECK_EQ(a, PEER);
	CHECK_EQ(port, 7000);
	CHECK_EQ(nst_recvfrom(st, sd, buf, sizeof(buf), 0, NULL, NULL, NULL, 0), -EAGAIN);
}

TEST(in_order_and_out_of_order)
{
	frag_setup();
	F1(1, 2000); F2(1, 2000); F3(1, 2000);
	CHECK_EQ(st->stat.ip_frag_reasm_ok, 1);
	expect_delivered();
	F3(2, 3000); F1(2, 3000);
	CHECK_EQ(nst_rx_avail(st, sd), 0);      /* a hole: nothing yet */
	F2(2, 3000);
	expect_delivered();
	CHECK_EQ(st->frag.mem, 0);
	CHECK_EQ(stack_next_deadline(st) == 0 || stack_next_deadline(st) > 3000 + 30 * SEC, 1);
	frag_teardown();
}

TEST(duplicates_are_ignored)
{
	frag_setup();
	F2(3, 1000); F2(3, 1000); F1(3, 1000); F1(3, 1000); F3(3, 1000);
	CHECK_EQ(st->stat.ip_frag_dup, 2);
	CHECK_EQ(st->stat.ip_frag_reasm_ok, 1);
	expect_delivered();
	frag_teardown();
}

TEST(overlap_drops_the_whole_datagram)
{
	frag_setup();
	F1(4, 1000);
	frag(4, 1472, 1488, 1, 1000);            /* overlaps the first by 8 bytes */
	CHECK_EQ(st->stat.ip_frag_overlap, 1);
	CHECK_EQ(st->frag.mem, 0);
	/* what follows starts a new datagram that cannot complete */
	F2(4, 1000); F3(4, 1000);
	CHECK_EQ(st->stat.ip_frag_reasm_ok, 0);
	CHECK_EQ(nst_rx_avail(st, sd), 0);
	/* malformed: MF with a length not a multiple of 8 */
	frag(5, 0, 1478, 1, 1000);
	CHECK_EQ(st->stat.ip_drop_frag, 1);
	frag_teardown();
}

TEST(missing_fragment_times_out_at_30s_with_time_exceeded)
{
	frag_setup();
	F1(6, 1000); F3(6, 1000);
	CHECK_EQ(stack_next_deadline(st), 1000 + 30 * SEC);
	stack_poll(st, 1000 + 30 * SEC - 1);
	CHECK_EQ(st->stat.ip_frag_timeout, 0);
	stack_poll(st, 1000 + 30 * SEC);
	CHECK_EQ(st->stat.ip_frag_timeout, 1);
	CHECK_EQ(st->frag.mem, 0);
	/* RFC 1122 3.3.2: fragment zero arrived, so Time Exceeded code 1 goes back */
	struct pkt *p = memdev_take(dev);
	REQUIRE(p);
	const uint8_t *ic = p->data + ETH_HDR_LEN + IP_HDR_LEN;
	CHECK_EQ(p->data[ETH_HDR_LEN + 9], IP_PROTO_ICMP);
	CHECK_EQ(ic[0], ICMP_TIME_EXCEEDED);
	CHECK_EQ(ic[1], ICMP_EXC_FRAGTIME);
	pkt_free(p);
	/* the late fragment starts over and waits alone */
	F2(6, 1000 + 31 * SEC);
	CHECK_EQ(nst_rx_avail(st, sd), 0);
	frag_teardown();
}

TEST(memory_limits)
{
	frag_setup();
	st->frag.mem_max = 2 * (1480 + IP_FRAG_OVERHEAD);
	F1(7, 1000); F2(7, 1000);
	F1(8, 1000);                             /* over the global limit */
	CHECK_EQ(st->stat.ip_frag_mem, 1);
	F3(7, 1000);                             /* 48 + overhead fits? no: still over */
	CHECK_EQ(st->stat.ip_frag_mem, 2);
	st->frag.mem_max = IP_FRAG_MEM_MAX;
	st->frag.src_mem_max = 1480 + IP_FRAG_OVERHEAD;
	F3(7, 1000);                             /* over the per-source limit */
	CHECK_EQ(st->stat.ip_frag_mem, 3);
	st->frag.src_mem_max = IP_FRAG_SRC_MEM_MAX;
	F3(7, 1000);
	expect_delivered();
	frag_teardown();
}

TEST(fragmentation_on_output)
{
	frag_setup();
	static uint8_t big[30000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	CHECK_EQ(nst_sendto(st, sd, big, sizeof(big), 0, 1, PEER, 9999, 5000), 30000);
	CHECK_EQ(st->stat.ip_frag_create_ok, 1);
	/* 30008 bytes of UDP in 1480-byte pieces: 21 fragments; feed them back
	 * to a second stack? simpler: check offsets, flags and lengths. */
	unsigned n = 0, off = 0;
	struct pkt *p;
	while ((p = memdev_take(dev))) {
		const struct ip_hdr *ih = (const struct ip_hdr *)(p->data + ETH_HDR_LEN);
		uint16_t fl = ntohs(ih->frag);
		unsigned len = ntohs(ih->total_len) - IP_HDR_LEN;
		CHECK_EQ((fl & IP_OFFMASK) * 8u, off);
		CHECK_EQ(!!(fl & IP_MF), off + len < 30008);
		CHECK(len <= 1480);
		off += len;
		n++;
		pkt_free(p);
	}
	CHECK_EQ(n, 21);
	CHECK_EQ(off, 30008);
	CHECK_EQ(nst_sendto(st, sd, big, UDP_MAX_PAYLOAD + 1, 0, 1, PEER, 9999, 5000), -EMSGSIZE);
	frag_teardown();
}

int main(void)
{
	pkt_pool_init(1024);
	RUN(in_order_and_out_of_order);
	RUN(duplicates_are_ignored);
	RUN(overlap_drops_the_whole_datagram);
	RUN(missing_fragment_times_out_at_30s_with_time_exceeded);
	RUN(memory_limits);
	RUN(fragmentation_on_output);
	return TEST_SUMMARY();
}
