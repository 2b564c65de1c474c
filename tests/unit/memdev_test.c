/* The in-memory device: pair delivery on flush, loop, inject/take, and
 * seeded impairments that are reproducible and roughly of the asked rate. */
#include <arpa/inet.h>
#include "tests/unit/test.h"
#include "shim/shim.h"
#include "stack/csum.h"
#include "stack/ip.h"

static struct pkt *mk(uint8_t tag)
{
	struct pkt *p = pkt_alloc();
	*(uint8_t *)pkt_put(p, 1) = tag;
	return p;
}

TEST(pair_delivers_after_flush_in_order)
{
	struct netdev *a, *b;
	REQUIRE(memdev_pair(&a, &b) == 0);
	struct pkt *v[3] = { mk(1), mk(2), mk(3) };
	CHECK_EQ(netdev_xmit(a, v, 3), 3);
	struct pkt *rx[8];
	CHECK_EQ(netdev_recv(b, rx, 8), 0);     /* nothing before flush */
	netdev_flush(a);
	int n = netdev_recv(b, rx, 8);
	CHECK_EQ(n, 3);
	for (int i = 0; i < n; i++) {
		CHECK_EQ(rx[i]->data[0], i + 1);
		pkt_free(rx[i]);
	}
	CHECK_EQ(netdev_recv(a, rx, 8), 0);
	netdev_close(a);
	netdev_close(b);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

TEST(loop_and_inject_take)
{
	struct netdev *lo = memdev_loop();
	struct pkt *p = mk(9);
	netdev_xmit(lo, &p, 1);
	netdev_flush(lo);
	struct pkt *rx[2];
	REQUIRE(netdev_recv(lo, rx, 2) == 1);
	CHECK_EQ(rx[0]->data[0], 9);
	pkt_free(rx[0]);
	netdev_close(lo);

	struct netdev *a, *b;
	memdev_pair(&a, &b);
	memdev_inject(a, mk(5));
	REQUIRE(netdev_recv(a, rx, 2) == 1);
	pkt_free(rx[0]);
	p = mk(6);
	netdev_xmit(a, &p, 1);
	CHECK_EQ(memdev_tx_pending(a), 1);
	struct pkt *t = memdev_take(a);
	REQUIRE(t);
	CHECK_EQ(t->data[0], 6);
	pkt_free(t);
	CHECK(memdev_take(a) == NULL);
	netdev_close(a);
	netdev_close(b);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

static unsigned run_impaired(uint64_t seed, unsigned *reordered)
{
	struct netdev *a, *b;
	memdev_pair(&a, &b);
	memdev_set_impair(a, seed, 50000, 10000, 20000);  /* 5% loss, 1% dup, 2% reorder */
	unsigned got = 0, last = 0;
	*reordered = 0;
	for (unsigned i = 1; i <= 10000; i++) {
		struct pkt *p = pkt_alloc();
		*(uint16_t *)pkt_put(p, 2) = (uint16_t)i;
		netdev_xmit(a, &p, 1);
		if (i % 4)
			continue;               /* bursts of four frames per flush */
		netdev_flush(a);
		struct pkt *rx[8];
		int n;
		while ((n = netdev_recv(b, rx, 8)) > 0)
			for (int k = 0; k < n; k++) {
				unsigned v = *(uint16_t *)rx[k]->data;
				if (v < last)
					(*reordered)++;
				last = v;
				got++;
				pkt_free(rx[k]);
			}
	}
	netdev_close(a);
	netdev_close(b);
	return got;
}

TEST(impairments_are_seeded_and_near_their_rates)
{
	unsigned r1, r2;
	unsigned g1 = run_impaired(7, &r1), g2 = run_impaired(7, &r2);
	CHECK_EQ(g1, g2);                        /* same seed, same outcome */
	CHECK_EQ(r1, r2);
	/* 10000 sent, ~5% lost, ~1% duplicated */
	CHECK(g1 > 9400 && g1 < 9800);
	CHECK(r1 > 100 && r1 < 300);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

/* A frame whose L4 checksum is left to the device: 8 bytes "header" with the
 * field at offset 2 holding seed, then payload. */
static struct pkt *mk_partial(uint16_t seed)
{
	struct pkt *p = pkt_alloc();
	uint8_t *b = pkt_put(p, ETH_HDR_LEN + 8 + 101);
	memset(b, 0, ETH_HDR_LEN);
	for (int i = 0; i < 8 + 101; i++)
		b[ETH_HDR_LEN + i] = (uint8_t)(i * 7);
	b[ETH_HDR_LEN + 2] = (uint8_t)(seed >> 8);
	b[ETH_HDR_LEN + 3] = (uint8_t)seed;
	p->flags = PKT_F_CSUM_PARTIAL;
	p->csum_start = (uint16_t)(p->data - p->buf + ETH_HDR_LEN);
	p->csum_off = 2;
	return p;
}

/* With offloads advertised the memdev completes checksums at flush, like a
 * NIC; raw, the peer gets the frame as built. */
TEST(offload_checksum_completed_unless_raw)
{
	struct netdev *a, *b;
	REQUIRE(memdev_pair(&a, &b) == 0);
	memdev_set_offload(a, NETDEV_F_TX_CSUM, 0);
	CHECK_EQ(a->features, NETDEV_F_TX_CSUM);
	struct pkt *p = mk_partial(0x1234);
	netdev_xmit(a, &p, 1);
	netdev_flush(a);
	struct pkt *rx[2];
	REQUIRE(netdev_recv(b, rx, 2) == 1);
	CHECK(!(rx[0]->flags & PKT_F_CSUM_PARTIAL));
	/* valid with the "pseudo-header" sum the field held: as a receiver checks */
	CHECK_EQ(csum_fold(csum_add(0x1234, rx[0]->data + ETH_HDR_LEN, 8 + 101)), 0);
	pkt_free(rx[0]);

	memdev_set_offload(a, NETDEV_F_TX_CSUM, 1);
	p = mk_partial(0x1234);
	netdev_xmit(a, &p, 1);
	netdev_flush(a);
	REQUIRE(netdev_recv(b, rx, 2) == 1);
	CHECK(rx[0]->flags & PKT_F_CSUM_PARTIAL);
	CHECK_EQ(rx[0]->data[ETH_HDR_LEN + 2] << 8 | rx[0]->data[ETH_HDR_LEN + 3], 0x1234);
	pkt_free(rx[0]);
	netdev_close(a);
	netdev_close(b);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

int main(void)
{
	pkt_pool_init(4096);
	RUN(pair_delivers_after_flush_in_order);
	RUN(loop_and_inject_take);
	RUN(impairments_are_seeded_and_near_their_rates);
	RUN(offload_checksum_completed_unless_raw);
	return TEST_SUMMARY();
}
