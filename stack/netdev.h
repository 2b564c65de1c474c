/* The device seam: the only thing stack/ knows about the wire.
 * shim/ implements it (TAP, AF_PACKET, in-memory pair, pcap and impairment
 * middleware); stack/ calls it. Frames handed across are Ethernet II frames
 * starting at pkt->data; any virtio-net header is the device's business.
 */
#ifndef NSTACK_NETDEV_H
#define NSTACK_NETDEV_H

#include <stdint.h>
#include "pkt.h"

struct netdev;

struct netdev_ops {
	/* Queue n frames for transmission; consumes all of them (sent or dropped
	 * and counted). Returns the number queued. Flushed in one batch. */
	int  (*xmit)(struct netdev *dev, struct pkt **p, int n);
	/* Push queued frames to the wire (one io_uring submit). 0 or -errno. */
	int  (*flush)(struct netdev *dev);
	/* Up to max received frames, or 0; never blocks. The caller owns them. */
	int  (*recv)(struct netdev *dev, struct pkt **p, int max);
	/* An fd that becomes readable when recv may return frames, or -1. */
	int  (*wait_fd)(struct netdev *dev);
	/* Optional, a look at memory only (no system call): 1 if recv would
	 * return frames now, 0 if not. Absent: unknown. */
	int  (*pending)(struct netdev *dev);
	/* Optional: call before sleeping on wait_fd. From the first call on,
	 * recv no longer clears the wait fd (a system call per receive pass)
	 * and this does: it clears it and answers pending(), so a frame that
	 * came before is not slept on and one after makes the fd readable. */
	int  (*wait_prepare)(struct netdev *dev);
	/* Optional, a system call: frames the kernel already holds for the
	 * device (on its fd, their completions not yet posted) are waited for,
	 * at most budget_us; 1 if recv would return frames, 0 if not. Lets a
	 * diagnostic call (TCP_INFO) see what has reached the host, as the
	 * kernel's, whose softirq has run by then, does. */
	int  (*sync)(struct netdev *dev, unsigned budget_us);
	/* Optional: the calling thread becomes the one whose receive requests
	 * serve the device (the kernel's work for each arriving frame then
	 * runs in it, not in another thread it would have to wake). force 0:
	 * only if no request of the current one is alive (it stopped arming);
	 * 1: take them over (cancel and re-arm). 0 done, -1 not possible. */
	int  (*rx_claim)(struct netdev *dev, int force);
	/* Release everything; dev is invalid afterwards. */
	void (*close)(struct netdev *dev);
};

struct netdev_stats {
	uint64_t rx_frames, rx_bytes, rx_drops;
	uint64_t tx_frames, tx_bytes, tx_drops;
	uint64_t rx_rearms;     /* read requests that ended and were armed again (io_uring) */
	uint64_t rx_nobuf;      /* receive buffers not refilled: the packet pool was empty */
	uint64_t rx_gso_drops;  /* received aggregates of a kind not enabled, dropped */
	uint64_t rx_claims;     /* receive requests taken over by another thread (rx_claim) */
	uint32_t rx_armed;      /* gauge: read requests alive in the kernel (io_uring) */
	int32_t  rx_error;      /* the error that stopped receiving (-errno), or 0 */
};

/* What a device does for the stack (netdev.features). A device without a
 * feature gets complete checksums and frames no larger than mtu + 14. */
#define NETDEV_F_TX_CSUM 0x1    /* completes PKT_F_CSUM_PARTIAL checksums */
#define NETDEV_F_TSO     0x2    /* takes TCP/IPv4 frames up to PKT_LARGE_MAX_FRAME with
				 * pkt->gso_size set (and PKT_F_CSUM_PARTIAL) and cuts them
				 * into gso_size-payload segments */
#define NETDEV_F_RX_CSUM 0x4    /* may mark received frames PKT_F_CSUM_OK */
#define NETDEV_F_GRO     0x8    /* may deliver TCP frames larger than the MTU (large pkts) */
#define NETDEV_F_TSO6    0x10   /* NETDEV_F_TSO for TCP/IPv6 frames (no extension headers) */

struct netdev {
	const struct netdev_ops *ops;
	uint32_t features;      /* NETDEV_F_* */
	uint8_t  mac[6];        /* the stack's hardware address on this device */
	uint16_t mtu;           /* IP MTU, 1500 unless the device says otherwise */
	char     name[16];
	struct netdev_stats stat;
};

static inline int netdev_xmit(struct netdev *d, struct pkt **p, int n) { return d->ops->xmit(d, p, n); }
static inline int netdev_flush(struct netdev *d) { return d->ops->flush(d); }
static inline int netdev_recv(struct netdev *d, struct pkt **p, int max) { return d->ops->recv(d, p, max); }
static inline int netdev_wait_fd(struct netdev *d) { return d->ops->wait_fd ? d->ops->wait_fd(d) : -1; }
/* 1: frames wait, 0: none, -1: the device cannot tell */
static inline int netdev_pending(struct netdev *d) { return d->ops->pending ? d->ops->pending(d) : -1; }
/* 1: frames wait, do not sleep; 0: sleep on wait_fd; -1: no such step */
static inline int netdev_wait_prepare(struct netdev *d) { return d->ops->wait_prepare ? d->ops->wait_prepare(d) : -1; }
/* 1: frames wait; 0: none came; -1: no such step */
static inline int netdev_sync(struct netdev *d, unsigned budget_us) { return d->ops->sync ? d->ops->sync(d, budget_us) : -1; }
static inline int netdev_rx_claim(struct netdev *d, int force) { return d->ops->rx_claim ? d->ops->rx_claim(d, force) : -1; }
static inline void netdev_close(struct netdev *d) { if (d) d->ops->close(d); }

#endif
