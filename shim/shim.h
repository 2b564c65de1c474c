/* Constructors of the devices in shim/. Each returns a struct netdev whose
 * ops implement stack/netdev.h, or NULL with *err = -errno. */
#ifndef NSTACK_SHIM_H
#define NSTACK_SHIM_H

#include <stdint.h>
#include "stack/netdev.h"

/* In-memory devices (mem.c): no OS, usable from unit tests and sims.
 * A pair wires two stacks back to back (frames xmitted on one are received
 * on the other after flush). A loop device receives its own frames
 * (NSTACK_IF=lo). */
int            memdev_pair(struct netdev **a, struct netdev **b);
struct netdev *memdev_loop(void);
/* Act as the peer in a test: inject a frame to be received by dev, or take
 * the next frame dev transmitted (NULL if none). Ownership moves. */
void           memdev_inject(struct netdev *dev, struct pkt *p);
struct pkt    *memdev_take(struct netdev *dev);
unsigned       memdev_tx_pending(const struct netdev *dev);   /* frames waiting in memdev_take's queue */
/* Seeded loss/duplication/reordering on frames this device transmits, in
 * parts per million. */
void           memdev_set_impair(struct netdev *dev, uint64_t seed, unsigned loss_ppm,
				 unsigned dup_ppm, unsigned reorder_ppm);

/* TAP (tap.c): attach to an existing TAP interface by name. */
struct netdev *tapdev_open(const char *ifname, int *err);

/* pcap middleware (pcap.c): every frame sent and received through `lower`
 * is also written to `path` (libpcap pcap_dump, DLT_EN10MB). */
struct netdev *pcapdev_wrap(struct netdev *lower, const char *path, int *err);

#endif
