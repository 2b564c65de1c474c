/* TAP device: attach to an existing TAP interface and move Ethernet frames
 * between it and the stack through io_uring (uring_dev.c).
 *
 * The fd is opened IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, so every frame read or
 * written carries a 10-byte struct virtio_net_hdr in front. With offloads
 * (TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4|TUN_F_TSO6, ECN off) the kernel takes
 * frames with a partial checksum and 64 KB TCP frames it cuts into segments
 * (virtio GSO_TCPV4, GSO_TCPV6), and hands us its own TSO output unsegmented, so the
 * receive buffers are large packets. Without the large pool, or without
 * offloads asked for (NSTACK_OFFLOAD=0), the device runs without them: one
 * wire frame per read and write, checksums computed by the stack.
 *
 * Every syscall on our own fds goes through syscall(2) directly: inside
 * libnstack.so, read/write/close/ioctl/socket resolve to the interposed
 * wrappers in preload/, which must not be re-entered under the stack lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "shim/shim.h"
#include "shim/uring_dev.h"

#define TAP_OFFLOADS (NETDEV_F_TX_CSUM | NETDEV_F_TSO | NETDEV_F_TSO6 | NETDEV_F_RX_CSUM | NETDEV_F_GRO)

static void sys_close(int fd) { if (fd >= 0) syscall(SYS_close, fd); }

/* Ask the kernel for checksum and TSO offloads (TCP over IPv4 and IPv6) on
 * the TAP; the features the device then has (0 if refused). */
static uint32_t tap_offload(int fd, const char *ifname, const struct shim_opts *o)
{
	unsigned long flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	if (!(o->offloads & NETDEV_F_TSO) || !uring_dev_large_ok())
		return 0;
	if (syscall(SYS_ioctl, fd, TUNSETOFFLOAD, flags) < 0) {
		shim_log(o->log, "tap %s: TUNSETOFFLOAD refused (%s), no offloads", ifname, strerror(errno));
		return 0;
	}
	return TAP_OFFLOADS;
}

/* Attach to the existing TAP interface ifname. NULL with *err = -errno:
 * -ENODEV no such interface, -EINVAL it is not a TAP (a veth, a TUN),
 * -EPERM/-EACCES no CAP_NET_ADMIN, -EBUSY already attached elsewhere. */
struct netdev *tapdev_open(const char *ifname, const struct shim_opts *o, int *err)
{
	struct netdev *dev;
	struct ifreq ifr;
	unsigned idx;
	uint32_t features;
	int fd = -1, hdrsz = (int)sizeof(struct virtio_net_hdr), r, dummy;

	if (!err)
		err = &dummy;
	/* TUNSETIFF would create a missing interface: refuse instead. */
	if (!(idx = uring_dev_ifindex(ifname, err)))
		return NULL;
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	/* A TAP just released by an exiting process (its io_uring is torn down
	 * asynchronously) may stay busy for a moment: retry EBUSY for up to 1 s. */
	int busy_tries = 0;
	while (syscall(SYS_ioctl, fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		if (r == -EBUSY && ++busy_tries <= 50) {
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (r == -EINVAL)
			shim_log(o->log, "tap %s: not a TAP interface", ifname);
		goto fail;
	}
	r = 0;
	/* It vanished between the check and the attach, and TUNSETIFF made a
	 * new one: closing fd destroys that (it is not persistent). */
	if (if_nametoindex(ifname) != idx) {
		r = -ENODEV;
		goto fail;
	}
	if (syscall(SYS_ioctl, fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		r = -errno;
		goto fail;
	}
	/* A previous owner's offloads stay on the interface: set ours (or none). */
	features = tap_offload(fd, ifname, o);
	if (!features)
		(void)syscall(SYS_ioctl, fd, TUNSETOFFLOAD, 0ul);
	dev = uring_dev_create(fd, "tap", ifname, features, features != 0, o, &r);
	if (!dev)
		goto fail;
	*err = 0;
	return dev;
fail:
	sys_close(fd);
	*err = r;
	return NULL;
}

/* A TAP fd another process of the same stack attached (kept over exec, or
 * handed over by the stack's control socket): the same queue, driven by a
 * ring of this process. NULL with *err = -errno; fd is the caller's then. */
struct netdev *tapdev_adopt(int fd, const char *ifname, const struct shim_opts *o, int *err)
{
	int hdrsz = (int)sizeof(struct virtio_net_hdr), r = 0;

	if (syscall(SYS_ioctl, fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		*err = -errno;
		return NULL;
	}
	uint32_t features = tap_offload(fd, ifname, o);
	if (!features)
		(void)syscall(SYS_ioctl, fd, TUNSETOFFLOAD, 0ul);
	struct netdev *dev = uring_dev_create(fd, "tap", ifname, features, features != 0, o, &r);
	*err = dev ? 0 : r;
	return dev;
}
