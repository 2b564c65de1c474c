/* The part of the TAP and AF_PACKET backends that does not care which one
 * the fd is: both read and write Ethernet frames behind a 10-byte struct
 * virtio_net_hdr, through io_uring (multishot read into provided buffers,
 * batched writes) or plain non-blocking read()/write(). tap.c and packet.c
 * only open and configure the fd, then hand it to uring_dev_create().
 */
#ifndef NSTACK_URING_DEV_H
#define NSTACK_URING_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include "shim/shim.h"

/* Wrap fd (O_NONBLOCK, virtio-net header on every frame) in a netdev named
 * ifname. features: the NETDEV_F_* offloads the caller enabled on the fd.
 * rx_large: receive into large packets (the kernel may send TCP frames of
 * up to 64 KB); needed with NETDEV_F_GRO. Without NETDEV_F_GRO such frames
 * are cut into wire segments in software before the stack sees them. kind ("tap",
 * "packet") only names the device in log lines; o: logging and the io_uring
 * options (o->offloads is the caller's business). On success the device owns
 * fd; on failure NULL with *err = -errno and fd is left to the caller. */
struct netdev *uring_dev_create(int fd, const char *kind, const char *ifname, uint32_t features,
				bool rx_large, const struct shim_opts *o, int *err);

/* The index of the interface a backend opens: 0 with *err = -EINVAL (no
 * name, or too long) or -ENODEV (no such interface). */
unsigned uring_dev_ifindex(const char *ifname, int *err);

/* Offloads that need the large pool: only worth asking for when it has
 * enough buffers for the receive ring and some transmissions. */
bool uring_dev_large_ok(void);

/* One line on stderr when on (shim_opts.log: NSTACK_LOG is info or debug). */
void __attribute__((format(printf, 2, 3))) shim_log(bool on, const char *fmt, ...);

#endif
