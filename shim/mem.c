/* The in-memory device: two FIFOs per pair, no OS. Used by unit tests, sims
 * and NSTACK_IF=lo. Frames transmitted on one end are received on the other
 * after flush (or on the same end for a loop device), optionally through
 * seeded loss, duplication and reordering. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shim/shim.h"
#include "shim/dev_fork.h"
#include "stack/splitmix64.h"

struct memdev {
	struct netdev     nd;        /* first: a struct netdev * is a struct memdev * */
	struct memdev    *peer;      /* receives what we flush (self for a loop) */
	struct pkt_queue  rxq;       /* frames waiting for our recv */
	struct pkt_queue  txq;       /* xmitted, not yet flushed */
	struct pkt       *held;      /* a frame being reordered (delivered after the next) */
	uint64_t          rng;
	unsigned          loss_ppm, dup_ppm, reorder_ppm;
	int               offload_raw; /* deliver TSO / partial-checksum frames as built */
};

static struct memdev *to_mem(const struct netdev *nd) { return (struct memdev *)nd; }

static uint64_t memdev_rand(struct memdev *m)
{
	return splitmix64(&m->rng);
}

static int memdev_chance(struct memdev *m, unsigned ppm)
{
	return ppm && memdev_rand(m) % 1000000 < ppm;
}

static int memdev_xmit(struct netdev *nd, struct pkt **p, int n)
{
	struct memdev *m = to_mem(nd);
	for (int i = 0; i < n; i++) {
		nd->stat.tx_frames++;
		nd->stat.tx_bytes += p[i]->len;
		pkt_queue_push(&m->txq, p[i]);
	}
	return n;
}

/* One frame to the peer, through the impairments. */
static void memdev_deliver(struct memdev *m, struct pkt *p)
{
	if (memdev_chance(m, m->loss_ppm)) {
		m->nd.stat.tx_drops++;
		pkt_free(p);
		return;
	}
	if (memdev_chance(m, m->dup_ppm)) {
		struct pkt *c = pkt_clone(p);
		if (c)
			pkt_queue_push(&m->peer->rxq, c);
	}
	if (!m->held && memdev_chance(m, m->reorder_ppm)) {
		m->held = p;
		return;
	}
	pkt_queue_push(&m->peer->rxq, p);
	if (m->held) {
		pkt_queue_push(&m->peer->rxq, m->held);
		m->held = NULL;
	}
}

/* Move flushed frames to the peer. Offloaded frames (partial checksum, TSO)
 * are finished here, as hardware would, unless the peer takes them raw. */
static int memdev_flush(struct netdev *nd)
{
	struct memdev *m = to_mem(nd);
	struct pkt *p;
	while ((p = pkt_queue_pop(&m->txq))) {
		if (!m->offload_raw && (p->gso_size || (p->flags & PKT_F_CSUM_PARTIAL))) {
			struct pkt_queue segs = { 0 };
			if (gso_segment(p, &segs) < 0)
				nd->stat.tx_drops++;
			while ((p = pkt_queue_pop(&segs)))
				memdev_deliver(m, p);
			continue;
		}
		memdev_deliver(m, p);
	}
	return 0;
}

static int memdev_recv(struct netdev *nd, struct pkt **p, int max)
{
	struct memdev *m = to_mem(nd);
	int n = 0;
	/* A frame held for reordering is released once nothing overtakes it. */
	if (!m->rxq.head && m->peer->held && m->peer != m) {
		pkt_queue_push(&m->rxq, m->peer->held);
		m->peer->held = NULL;
	}
	while (n < max && m->rxq.head) {
		p[n] = pkt_queue_pop(&m->rxq);
		nd->stat.rx_frames++;
		nd->stat.rx_bytes += p[n]->len;
		n++;
	}
	if (n < max && m->peer == m && m->held) {
		p[n++] = m->held;
		m->held = NULL;
	}
	return n;
}

static int memdev_wait_fd(struct netdev *nd)
{
	(void)nd;
	return -1;
}

static void memdev_close(struct netdev *nd)
{
	struct memdev *m = to_mem(nd);
	pkt_queue_purge(&m->rxq);
	pkt_queue_purge(&m->txq);
	pkt_free(m->held);
	m->held = NULL;
	if (m->peer && m->peer != m)
		m->peer->peer = m->peer;  /* the survivor loops to itself, harmlessly */
	free(m);
}

static const struct netdev_ops memdev_ops = {
	.xmit = memdev_xmit,
	.flush = memdev_flush,
	.recv = memdev_recv,
	.wait_fd = memdev_wait_fd,
	.close = memdev_close,
};

static struct memdev *memdev_new(uint8_t mac_last)
{
	struct memdev *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nd.ops = &memdev_ops;
	static const uint8_t base[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x00 };
	memcpy(m->nd.mac, base, 6);
	m->nd.mac[5] = mac_last;
	m->nd.mtu = 1500;
	strcpy(m->nd.name, "mem");
	m->peer = m;
	return m;
}

int memdev_pair(struct netdev **a, struct netdev **b)
{
	struct memdev *x = memdev_new(1), *y = memdev_new(2);
	if (!x || !y) {
		free(x);
		free(y);
		return -ENOMEM;
	}
	x->peer = y;
	y->peer = x;
	*a = &x->nd;
	*b = &y->nd;
	return 0;
}

struct netdev *memdev_loop(void)
{
	struct memdev *m = memdev_new(1);
	if (m)
		strcpy(m->nd.name, "lo");
	return m ? &m->nd : NULL;
}

void memdev_inject(struct netdev *dev, struct pkt *p)
{
	pkt_queue_push(&to_mem(dev)->rxq, p);
}

struct pkt *memdev_take(struct netdev *dev)
{
	struct memdev *m = to_mem(dev);
	memdev_flush(dev);
	return pkt_queue_pop(&m->peer->rxq);
}

unsigned memdev_tx_pending(const struct netdev *dev)
{
	const struct memdev *m = to_mem(dev);
	return m->peer->rxq.n + m->txq.n;
}

void memdev_set_impair(struct netdev *dev, uint64_t seed, unsigned loss_ppm,
		       unsigned dup_ppm, unsigned reorder_ppm)
{
	struct memdev *m = to_mem(dev);
	m->rng = seed;
	m->loss_ppm = loss_ppm;
	m->dup_ppm = dup_ppm;
	m->reorder_ppm = reorder_ppm;
}

void memdev_set_offload(struct netdev *dev, uint32_t features, int raw)
{
	struct memdev *m = to_mem(dev);
	dev->features = features;
	m->offload_raw = raw;
}

/* ---- fork ---------------------------------------------------------------- */

bool memdev_is(const struct netdev *dev)
{
	return dev && dev->ops == &memdev_ops;
}

/* Our private copy of the parent's memdev: the struct is freed; the frames
 * queued in it (rxq, txq, held) are the parent's and are not freed (the
 * pool may be shared). A pair's peer is not touched (memdev_close would
 * rewire it). */
void memdev_abandon(struct netdev *inherited)
{
	free(to_mem(inherited));
}

/* A loop device (NSTACK_IF=lo): a fresh empty loop with the same name,
 * MAC, MTU, offloads and impairments (the seed mixed with our pid). A pair
 * wires two devices of one process together: no meaning after fork,
 * -EOPNOTSUPP. */
struct netdev *memdev_fork(struct netdev *inherited, int *err)
{
	struct memdev *old = to_mem(inherited), *m;

	if (old->peer != old) {
		memdev_abandon(inherited);
		*err = -EOPNOTSUPP;
		return NULL;
	}
	if (!(m = memdev_new(1))) {
		memdev_abandon(inherited);
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(m->nd.mac, old->nd.mac, sizeof(m->nd.mac));
	memcpy(m->nd.name, old->nd.name, sizeof(m->nd.name));
	m->nd.mtu = old->nd.mtu;
	m->nd.features = old->nd.features;
	m->offload_raw = old->offload_raw;
	m->loss_ppm = old->loss_ppm;
	m->dup_ppm = old->dup_ppm;
	m->reorder_ppm = old->reorder_ppm;
	m->rng = shim_seed_for_pid(old->rng, (int)getpid());
	memdev_abandon(inherited);
	*err = 0;
	return &m->nd;
}
