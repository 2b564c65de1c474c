/* AF_PACKET device: a raw packet socket bound to an Ethernet interface (a
 * veth end, usually), moving frames through io_uring like the TAP
 * (uring_dev.c).
 *
 * The socket is SOCK_RAW with PACKET_VNET_HDR, so every frame read or
 * written carries the same struct virtio_net_hdr as on a TAP: we may write
 * 64 KB TCP frames with a partial checksum (the kernel segments them, or
 * hands them on whole to a veth peer that takes GSO), and we read the
 * peer's TSO output unsegmented. The receive buffers are large packets
 * whenever the large pool exists, offloads or not: the kernel behind a
 * veth sends TSO frames anyway, and without NETDEV_F_GRO uring_dev.c cuts
 * them into wire segments in software.
 *
 * PACKET_IGNORE_OUTGOING keeps our own transmissions out of our receive
 * queue. No PACKET_MR_PROMISC: a veth hands every frame to its peer
 * whatever the destination MAC, and the packet socket sees frames for other
 * hosts too (eth.c filters by address). On a real NIC the stack's MAC would
 * have to be the NIC's (NSTACK_MAC) or promiscuous mode set by the
 * operator.
 *
 * The kernel keeps running its own IP layer on the interface: it must not
 * own the stack's address there (it would answer ARP for it and reset our
 * connections); the launcher checks.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "shim/shim.h"
#include "shim/uring_dev.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23       /* kernel 4.20+ */
#endif

#define PACKET_OFFLOADS (NETDEV_F_TX_CSUM | NETDEV_F_TSO | NETDEV_F_TSO6 | NETDEV_F_RX_CSUM | NETDEV_F_GRO)
/* Socket buffers: several 64 KB frames each way may be queued */
#define PACKET_SOCKBUF (8 << 20)

static void sys_close(int fd) { if (fd >= 0) syscall(SYS_close, fd); }

static int sys_setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	return (int)syscall(SYS_setsockopt, fd, level, name, v, len);
}

/* As large as allowed: FORCE (CAP_NET_ADMIN) past the sysctl caps, else
 * the plain option up to them. */
static void packet_bufs(int fd)
{
	int sz = PACKET_SOCKBUF;

	if (sys_setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)sys_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (sys_setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)sys_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

struct netdev *packetdev_open(const char *ifname, const struct shim_opts *o, int *err)
{
	struct sockaddr_ll sll;
	struct netdev *dev;
	unsigned idx;
	uint32_t features = 0;
	int fd, one = 1, r, dummy;

	if (!err)
		err = &dummy;
	if (!(idx = uring_dev_ifindex(ifname, err)))
		return NULL;
	/* Protocol 0: nothing is queued to the socket before bind() names the
	 * interface. */
	fd = (int)syscall(SYS_socket, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (sys_setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail;
	}
	if (sys_setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		shim_log(o->log, "packet %s: PACKET_IGNORE_OUTGOING unsupported; our own frames come back",
			 ifname);
	packet_bufs(fd);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (syscall(SYS_bind, fd, &sll, sizeof(sll)) < 0) {
		r = -errno;
		goto fail;
	}
	if ((o->offloads & NETDEV_F_TSO) && uring_dev_large_ok())
		features = PACKET_OFFLOADS;
	dev = uring_dev_create(fd, "packet", ifname, features, uring_dev_large_ok(), o, &r);
	if (!dev)
		goto fail;
	*err = 0;
	return dev;
fail:
	sys_close(fd);
	*err = r;
	return NULL;
}

/* An AF_PACKET socket another process of the same stack bound (see
 * tapdev_adopt): a ring of this process on it. */
struct netdev *packetdev_adopt(int fd, const char *ifname, const struct shim_opts *o, int *err)
{
	uint32_t features = 0;
	int r = 0;

	if ((o->offloads & NETDEV_F_TSO) && uring_dev_large_ok())
		features = PACKET_OFFLOADS;
	struct netdev *dev = uring_dev_create(fd, "packet", ifname, features, uring_dev_large_ok(), o, &r);
	*err = dev ? 0 : r;
	return dev;
}
