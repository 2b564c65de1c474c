/* A frame device over one fd that carries a struct virtio_net_hdr in front of
 * every Ethernet frame (a TAP opened IFF_VNET_HDR, an AF_PACKET socket with
 * PACKET_VNET_HDR), moved through io_uring. The header never leaves this
 * file: received frames reach the caller as Ethernet II at pkt->data, and
 * xmit writes the header in the packet's headroom from the packet's offload
 * fields (pkt->gso_size, PKT_F_CSUM_PARTIAL).
 *
 * Receive: a provided-buffer ring whose buffer id == pkt->id. Each buffer
 * starts UD_VNET_LEN bytes before PKT_HEADROOM, so the virtio header lands
 * in the headroom and the Ethernet frame at buf + PKT_HEADROOM, where
 * pkt_alloc() would have put it. With NETDEV_F_GRO the kernel may hand us
 * frames of up to 64 KB (its TSO/GRO output), so the buffers are then large
 * packets. One multishot read (IORING_OP_READ_MULTISHOT, kernel 6.7+, probed
 * at run time) keeps the ring busy; without it a ring of UD_NREADS ordinary
 * buffer-select reads stays in flight.
 * Transmit: one IORING_OP_WRITE per frame, submitted in one batch by flush().
 * wait_fd() is the ring's own fd, readable while a completion waits in the
 * CQ (no eventfd: nothing to clear before each sleep).
 *
 * If io_uring cannot be set up (disabled, too old for buffer rings), the
 * device falls back to plain non-blocking read()/write() on the fd, and
 * wait_fd() is the fd itself.
 *
 * virtio-net header fields are in the host's byte order for both a TAP
 * (unless TUNSETVNETLE/BE) and AF_PACKET (virtio "legacy" endianness); we
 * only run on little-endian hosts' conventions through le16toh/htole16,
 * which is that order on x86 and arm64.
 *
 * Options (struct shim_opts, from the configuration; for tests and debugging):
 *   uring_no_multishot (NSTACK_URING_NO_MULTISHOT=1)  use the ring of ordinary
 *                                reads even if the kernel has multishot read
 *   uring_disable (NSTACK_URING_DISABLE=1)  do not use io_uring at all (plain path)
 *   log (NSTACK_LOG=info|debug)  say on stderr which path is in use
 *
 * Every syscall on our own fds goes through syscall(2) directly: inside
 * libnstack.so, read/write/close/ioctl/socket resolve to the interposed
 * wrappers in preload/, which must not be re-entered under the stack lock.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <poll.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/virtio_net.h>
#include <liburing.h>

#include "shim/shim.h"
#include "shim/uring_dev.h"
#include "shim/dev_fork.h"

#define UD_VNET_LEN    ((int)sizeof(struct virtio_net_hdr))   /* 10: not mergeable */
#define UD_RXBUF_OFF   (PKT_HEADROOM - UD_VNET_LEN)           /* buffer start in pkt->buf */
#define UD_ETH_HLEN    14

#define UD_BR_ENTRIES  256u    /* provided buffers; a power of two */
#define UD_BR_LARGE    128u    /* at most this many large ones (GRO) */
#define UD_LARGE_MIN   64u     /* large pool size below which offloads stay off */
#define UD_BGID        0       /* buffer group; each device has its own ring */
#define UD_SQ_ENTRIES  256u
#define UD_CQ_ENTRIES  4096u   /* >= buffers + a few batches of writes */
#define UD_NREADS      32u     /* ordinary reads in flight without multishot */
#define UD_REAP_BATCH  64u
#define UD_CLOSE_WAIT_MS 1000

/* user_data of non-write requests; writes carry their struct pkt *, which is
 * never this small. */
#define UD_UD_READ     1ull    /* reads of one claimer; the next claimer's are UD_UD_READ2 */
#define UD_UD_CANCEL   2ull
#define UD_UD_KICK     3ull
#define UD_UD_READ2    4ull

/* Debian's liburing 2.3 headers predate IORING_OP_READ_MULTISHOT (an enum in
 * newer headers, so it cannot be tested with #ifdef); the kernel ABI number
 * is fixed at 49 since 6.7. */
#define UD_OP_READ_MULTISHOT 49

struct uring_dev {
	struct netdev dev;
	int32_t  owner;             /* our pid: the tag of the packets we hold (pkt.dev_owner) */
	const char *kind;           /* "tap", "packet": for log lines */
	int      fd;                /* the frame fd */
	bool     uring;             /* io_uring path; plain read/write otherwise */
	bool     ring_up;           /* ring initialised (for teardown) */
	bool     multishot;
	bool     lazy_drain;        /* sleepers call ud_wait_prepare: ud_recv leaves rxq to it */
	bool     ms_ok;             /* a multishot read has delivered a frame */
	bool     rx_large;          /* receive into large packets (NETDEV_F_GRO) */
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t   br_bytes;
	unsigned br_count;          /* buffers given to the kernel, not yet returned */
	unsigned br_target;         /* keep this many there: a share of the pool */
	unsigned reads_armed;       /* read requests alive in the kernel */
	unsigned reads_cur;         /* of them, the claimer's (user_data read_ud) */
	uint64_t read_ud;           /* UD_UD_READ or UD_UD_READ2: flips at each claim */
	uintptr_t claim_id;         /* the thread that arms reads (ud_thread_id); 0: the
	                             * shim_reads_claim one */
	unsigned reads_target;      /* 1 multishot, else UD_NREADS */
	bool     arm_asked;         /* opts.arm_wake called; cleared when the claimer arms */
	unsigned writes_inflight;   /* write SQEs queued or submitted, not completed */
	uint8_t *inring;            /* [pool_n]: 1 while pkt id is a provided buffer */
	unsigned pool_n;
	int      rx_err;            /* fatal read error: reads are no longer armed */
	struct pkt_queue rxq;       /* received, not yet taken by recv() */
	struct pkt_queue txq;       /* plain path: frames waiting for flush() */
	struct pkt *spare;          /* plain path: the next receive buffer */
	struct shim_opts opts;
};

static inline struct uring_dev *ud_of(struct netdev *dev)
{
	return (struct uring_dev *)dev;
}

static long sys_read(int fd, void *buf, size_t n)  { return syscall(SYS_read, fd, buf, n); }
static long sys_write(int fd, const void *buf, size_t n) { return syscall(SYS_write, fd, buf, n); }
static void sys_close(int fd) { if (fd >= 0) syscall(SYS_close, fd); }

void shim_log(bool on, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (!on)
		return;
	n = snprintf(line, sizeof(line), "nstack: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	(void)sys_write(2, line, (size_t)n);
}

unsigned uring_dev_ifindex(const char *ifname, int *err)
{
	unsigned idx;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		*err = -EINVAL;
		return 0;
	}
	if (!(idx = if_nametoindex(ifname)))
		*err = -ENODEV;
	return idx;
}

bool uring_dev_large_ok(void)
{
	return pkt_pool_large_size() >= UD_LARGE_MIN;
}

static int ud_submit(struct uring_dev *ud);

/* Make the ring's fd readable, so a thread asleep on it comes back for the
 * frames we reaped and left behind (rxq): a no-op request's completion. */
static void ud_kick(struct uring_dev *ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ud->ring);

	if (!sqe) {
		(void)ud_submit(ud);
		if (!(sqe = io_uring_get_sqe(&ud->ring)))
			return;
	}
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, UD_UD_KICK);
	(void)ud_submit(ud);
}

static struct pkt *ud_rx_alloc(const struct uring_dev *ud)
{
	return ud->rx_large ? pkt_alloc_large() : pkt_alloc();
}

/* Bytes a receive buffer takes: virtio header + frame. */
static unsigned ud_rxbuf_len(const struct pkt *p)
{
	return p->size - UD_RXBUF_OFF;
}

/* A TCP aggregate the stack did not ask for (no NETDEV_F_GRO): cut it into
 * wire segments with complete checksums, as the kernel would have. */
static void ud_rx_segment(struct uring_dev *ud, struct pkt *p)
{
	struct pkt_queue segs = { 0 };
	struct pkt *s;
	int n;

	p->flags = 0;
	n = gso_segment(p, &segs);
	if (n < 0) {
		ud->dev.stat.rx_drops++;
		if (n == -ENOBUFS)
			ud->dev.stat.rx_nobuf++;
		return;
	}
	while ((s = pkt_queue_pop(&segs))) {
		s->flags = PKT_F_CSUM_OK;       /* computed just now, from trusted data */
		ud->dev.stat.rx_frames++;
		ud->dev.stat.rx_bytes += s->len;
		pkt_queue_push(&ud->rxq, s);
	}
}

/* A frame of res bytes (virtio header included) has been read into p at
 * buf + UD_RXBUF_OFF. Owns p: queues it on rxq for recv() or drops it. */
static void ud_rx_frame(struct uring_dev *ud, struct pkt *p, long res)
{
	struct virtio_net_hdr vh;

	p->next = NULL;
	p->flags = 0;
	p->gso_size = 0;
	if (res < UD_VNET_LEN + UD_ETH_HLEN || res > (long)ud_rxbuf_len(p))
		goto drop;
	memcpy(&vh, p->buf + UD_RXBUF_OFF, sizeof(vh));
	p->data = p->buf + PKT_HEADROOM;
	p->len = (uint32_t)(res - UD_VNET_LEN);
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		/* Only TCP aggregates are expected (TUN_F_TSO4/TSO6; what
		 * PACKET_VNET_HDR shows of a veth peer's TSO); anything else
		 * cannot be parsed as one segment. */
		unsigned gt = vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
		if ((gt != VIRTIO_NET_HDR_GSO_TCPV4 && gt != VIRTIO_NET_HDR_GSO_TCPV6) || !vh.gso_size) {
			ud->dev.stat.rx_gso_drops++;
			goto drop;
		}
		p->gso_size = le16toh(vh.gso_size);
		if (!(ud->dev.features & NETDEV_F_GRO)) {
			ud_rx_segment(ud, p);
			return;
		}
	}
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* Partial checksum means the sender is the local kernel: as in
		 * Linux (CHECKSUM_PARTIAL), the data is trusted. A small frame
		 * gets its checksum completed so captures and ICMP quotes show
		 * a valid one; an aggregate's would be the wire segments', and
		 * is left as the pseudo-header sum. */
		if (!p->gso_size && gso_csum_complete(p, le16toh(vh.csum_start),
						      le16toh(vh.csum_offset)) < 0)
			goto drop;
		p->flags |= PKT_F_CSUM_OK;
	} else if (vh.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->flags |= PKT_F_CSUM_OK;
	}
	ud->dev.stat.rx_frames++;
	ud->dev.stat.rx_bytes += p->len;
	pkt_queue_push(&ud->rxq, p);
	return;
drop:
	ud->dev.stat.rx_drops++;
	pkt_free(p);
}

/* The virtio header for p (data at the Ethernet header): checksum and
 * segmentation requests from the packet's offload fields. */
static void ud_vnet_hdr(const struct pkt *p, struct virtio_net_hdr *vh)
{
	unsigned start = p->csum_start - (unsigned)(p->data - p->buf);

	memset(vh, 0, sizeof(*vh));
	if (!(p->flags & PKT_F_CSUM_PARTIAL))
		return;
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = htole16((uint16_t)start);
	vh->csum_offset = htole16(p->csum_off);
	if (p->gso_size) {
		/* hdr_len: Ethernet + IP + TCP header with options */
		unsigned thl = start + 12 < p->len ? (p->data[start + 12] >> 4) * 4u : 20u;

		vh->gso_type = p->len > 13 && p->data[12] == 0x86 && p->data[13] == 0xdd
			       ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		vh->gso_size = htole16(p->gso_size);
		vh->hdr_len = htole16((uint16_t)(start + thl));
	}
}

/* ---- io_uring path ---------------------------------------------------- */

/* Keep the provided-buffer ring full with fresh packets from the pool. If the
 * pool is exhausted, count it and try again on the next recv(). */
static void ud_br_fill(struct uring_dev *ud)
{
	int added = 0;

	while (ud->br_count + (unsigned)added < ud->br_target) {
		struct pkt *p = ud_rx_alloc(ud);

		if (!p) {
			ud->dev.stat.rx_nobuf++;
			break;
		}
		ud->inring[p->id] = 1;
		p->dev_owner = ud->owner;
		io_uring_buf_ring_add(ud->br, p->buf + UD_RXBUF_OFF, ud_rxbuf_len(p), p->id,
				      io_uring_buf_ring_mask(UD_BR_ENTRIES), added);
		added++;
	}
	if (added) {
		io_uring_buf_ring_advance(ud->br, added);
		ud->br_count += (unsigned)added;
	}
}

/* A read request ended (no IORING_CQE_F_MORE) or failed with res <= 0. */
static void ud_read_error(struct uring_dev *ud, int res)
{
	switch (res) {
	case 0:
	case -ENOBUFS:          /* ring ran dry: re-armed after the refill */
	case -EAGAIN:
	case -EINTR:
	case -ECANCELED:        /* e.g. the submitting thread exited */
		return;
	case -EINVAL:
	case -EOPNOTSUPP:
		if (ud->multishot && !ud->ms_ok) {
			/* The probe said yes but the kernel refuses it for this
			 * file: fall back to a ring of ordinary reads. */
			ud->multishot = false;
			ud->reads_target = UD_NREADS;
			shim_log(ud->opts.log, "%s %s: multishot read refused (%d), io_uring read ring of %u",
				 ud->kind, ud->dev.name, res, UD_NREADS);
			return;
		}
		break;
	}
	if (!ud->rx_err)
		shim_log(ud->opts.log, "%s %s: read failed (%d), receive stopped", ud->kind, ud->dev.name, res);
	ud->rx_err = res;
}

/* One completion: a read (frame or error), a write (frees its packet) or the
 * cancel issued by close(). */
static void ud_cqe(struct uring_dev *ud, const struct io_uring_cqe *cqe)
{
	struct pkt *p = NULL;

	if (cqe->user_data == UD_UD_READ || cqe->user_data == UD_UD_READ2) {
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

			if (bid < ud->pool_n && ud->inring[bid]) {
				ud->inring[bid] = 0;
				ud->br_count--;
				p = pkt_by_id(bid);
			}
		}
		if (!(cqe->flags & IORING_CQE_F_MORE)) {
			ud->reads_armed--;
			if (cqe->user_data == ud->read_ud)
				ud->reads_cur--;
		}
		if (cqe->res > 0 && p) {
			if (ud->multishot)
				ud->ms_ok = true;
			ud_rx_frame(ud, p, cqe->res);
		} else if (cqe->res > 0) {
			ud->dev.stat.rx_drops++;        /* no buffer of ours: cannot happen */
		} else {
			pkt_free(p);
			ud_read_error(ud, cqe->res);
		}
		return;
	}
	if (cqe->user_data == UD_UD_CANCEL || cqe->user_data == UD_UD_KICK)
		return;
	p = (struct pkt *)(uintptr_t)cqe->user_data;
	ud->writes_inflight--;
	if (cqe->res == (int)p->len) {
		ud->dev.stat.tx_frames++;
		ud->dev.stat.tx_bytes += p->len - UD_VNET_LEN;
	} else {
		ud->dev.stat.tx_drops++;        /* failed or short write */
	}
	pkt_free(p);
}

/* Consume every available CQE without blocking. */
static void ud_reap(struct uring_dev *ud)
{
	struct io_uring_cqe *cqes[UD_REAP_BATCH];
	unsigned n, i;

	while ((n = io_uring_peek_batch_cqe(&ud->ring, cqes, UD_REAP_BATCH)) > 0) {
		for (i = 0; i < n; i++)
			ud_cqe(ud, cqes[i]);
		io_uring_cq_advance(&ud->ring, n);
	}
}

/* An SQE, submitting what is queued if the SQ is full; NULL if none. */
static struct io_uring_sqe *ud_sqe(struct uring_dev *ud)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ud->ring);

	if (!sqe) {
		int r = io_uring_submit(&ud->ring);

		if (r == -EBUSY || r == -EAGAIN) {      /* CQ overflow: make room */
			ud_reap(ud);
			(void)io_uring_submit(&ud->ring);
		}
		sqe = io_uring_get_sqe(&ud->ring);
	}
	return sqe;
}

static __thread bool ud_reads_claimer;

void shim_reads_claim(void)
{
	ud_reads_claimer = true;
}

/* A thread's identity for the claim: the address of its own copy of
 * ud_reads_claimer (no system call; a fork child's thread keeps it). */
static uintptr_t ud_thread_id(void)
{
	return (uintptr_t)&ud_reads_claimer;
}

/* Whether this thread arms ud's reads: the one that took them over
 * (ud_rx_claim), else the shim_reads_claim thread. */
static bool ud_is_claimer(const struct uring_dev *ud)
{
	if (!ud->opts.reads_claimed)
		return true;
	return ud->claim_id ? ud->claim_id == ud_thread_id() : ud_reads_claimer;
}

/* Re-arm reads up to the target while there are buffers for them; with the
 * ring empty a read would only end in -ENOBUFS, so wait for the refill.
 * With opts.reads_claimed, only the claiming thread submits reads (so only
 * it receives their completions' task work, shim_reads_claim). */
static void ud_arm_reads(struct uring_dev *ud)
{
	if (!ud_is_claimer(ud))
		return;
	while (!ud->rx_err && ud->reads_cur < ud->reads_target && ud->br_count > 0) {
		struct io_uring_sqe *sqe = ud_sqe(ud);

		if (!sqe)
			return;
		if (ud->multishot)
			/* No io_uring_prep_read_multishot in liburing 2.3. */
			io_uring_prep_rw(UD_OP_READ_MULTISHOT, sqe, ud->fd, NULL, 0, 0);
		else
			io_uring_prep_read(sqe, ud->fd, NULL,
					   (ud->rx_large ? PKT_LARGE_SIZE : PKT_SIZE) - UD_RXBUF_OFF, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = UD_BGID;
		io_uring_sqe_set_data64(sqe, ud->read_ud);
		if (ud->ms_ok || !ud->multishot)
			ud->dev.stat.rx_rearms++;
		ud->reads_armed++;
		ud->reads_cur++;
		ud->arm_asked = false;
	}
}

/* The last read ended (the buffer ring ran dry: -ENOBUFS, the usual case) and
 * this thread may not arm the next. The claimer may be asleep on the ring's
 * fd, and this thread has taken the completion that made it readable: with
 * no read alive nothing would ever signal it again, and both would sleep
 * while frames pile up in the kernel. Wake the engine (opts.arm_wake), which
 * arms them or takes them over (ud_rx_claim), once per ended read. */
static void ud_arm_ask(struct uring_dev *ud)
{
	if (!ud->opts.reads_claimed || ud_is_claimer(ud) || ud->rx_err || ud->arm_asked ||
	    ud->reads_cur)      /* a read alive will signal; the claimer tops up then */
		return;
	ud->arm_asked = true;
	if (ud->opts.arm_wake)
		ud->opts.arm_wake();
}

static int ud_submit(struct uring_dev *ud)
{
	int r = io_uring_submit(&ud->ring);

	if (r == -EBUSY || r == -EAGAIN) {
		ud_reap(ud);
		r = io_uring_submit(&ud->ring);
	}
	return r < 0 ? r : 0;
}

/* Reap completions, refill the buffer ring, re-arm reads, submit. */
static void ud_service(struct uring_dev *ud)
{
	ud_reap(ud);
	ud_br_fill(ud);
	ud_arm_reads(ud);
	if (io_uring_sq_ready(&ud->ring))
		(void)ud_submit(ud);
	ud_arm_ask(ud);
	ud->dev.stat.rx_armed = ud->reads_armed;
	ud->dev.stat.rx_error = ud->rx_err;
}

/* ---- plain read()/write() path ----------------------------------------- */

/* Read up to want frames into rxq. */
static void ud_plain_rx(struct uring_dev *ud, int want)
{
	while (want-- > 0) {
		long r;

		if (!ud->spare && !(ud->spare = ud_rx_alloc(ud))) {
			ud->dev.stat.rx_nobuf++;
			return;
		}
		r = sys_read(ud->fd, ud->spare->buf + UD_RXBUF_OFF, ud_rxbuf_len(ud->spare));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;         /* EAGAIN, or an error poll() will report */
		ud_rx_frame(ud, ud->spare, r);
		ud->spare = NULL;
	}
}

static void ud_plain_flush(struct uring_dev *ud)
{
	struct pkt *p;

	while ((p = pkt_queue_pop(&ud->txq))) {
		long r;

		do
			r = sys_write(ud->fd, p->data, p->len);
		while (r < 0 && errno == EINTR);
		if (r == (long)p->len) {
			ud->dev.stat.tx_frames++;
			ud->dev.stat.tx_bytes += p->len - UD_VNET_LEN;
		} else {
			ud->dev.stat.tx_drops++;
		}
		pkt_free(p);
	}
}

/* ---- netdev ops -------------------------------------------------------- */

/* Owns the n packets: each is queued (a write SQE, or txq on the plain path)
 * or dropped and counted. Returns the number queued. No syscall here: the
 * batch goes to the kernel in flush(). */
static int ud_xmit(struct netdev *dev, struct pkt **pv, int n)
{
	struct uring_dev *ud = ud_of(dev);
	int i, queued = 0;

	for (i = 0; i < n; i++) {
		struct pkt *p = pv[i];
		struct virtio_net_hdr vh;
		struct io_uring_sqe *sqe;
		void *hp;

		if ((p->flags & PKT_F_CSUM_PARTIAL) && !(dev->features & NETDEV_F_TX_CSUM) &&
		    gso_csum_complete_pkt(p) < 0)
			goto drop;
		ud_vnet_hdr(p, &vh);
		if (!(hp = pkt_push(p, UD_VNET_LEN)))
			goto drop;
		memcpy(hp, &vh, UD_VNET_LEN);
		if (!ud->uring) {
			pkt_queue_push(&ud->txq, p);
			queued++;
			continue;
		}
		if (!(sqe = ud_sqe(ud)))
			goto drop;
		io_uring_prep_write(sqe, ud->fd, p->data, p->len, 0);
		p->dev_owner = ud->owner;
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)p);
		ud->writes_inflight++;
		queued++;
		continue;
drop:
		dev->stat.tx_drops++;
		pkt_free(p);
	}
	return queued;
}

/* Push queued frames to the wire: one io_uring_submit for the batch. The
 * completions are left to the next recv (which reaps them all), unless many
 * writes are outstanding: reaping here would also take frames that arrived
 * meanwhile, and they would then need a kick (a system call per send) for
 * whoever sleeps on the ring's fd to come for them. */
#define UD_FLUSH_REAP  (UD_SQ_ENTRIES / 2)
static int ud_flush(struct netdev *dev)
{
	struct uring_dev *ud = ud_of(dev);
	int r = 0;

	if (!ud->uring) {
		ud_plain_flush(ud);
		return 0;
	}
	if (io_uring_sq_ready(&ud->ring))
		r = ud_submit(ud);
	if (ud->writes_inflight >= UD_FLUSH_REAP) {
		ud_service(ud);
		if (ud->rxq.n)
			ud_kick(ud);   /* frames reaped here wait for recv() */
	}
	return r;
}

/* Up to max received frames; never blocks. The caller owns them. */
static int ud_recv(struct netdev *dev, struct pkt **out, int max)
{
	struct uring_dev *ud = ud_of(dev);
	int n = 0;

	if (ud->uring) {
		ud_service(ud);
	} else if ((int)ud->rxq.n < max) {
		ud_plain_rx(ud, max - (int)ud->rxq.n);
	}
	while (n < max && ud->rxq.n) {
		out[n] = pkt_queue_pop(&ud->rxq);
		out[n++]->dev_owner = 0;        /* the caller's now */
	}
	if (ud->uring && !ud->lazy_drain && ud->rxq.n)
		ud_kick(ud);    /* a CQE left behind keeps the fd readable itself */
	return n;
}

static int ud_pending(struct netdev *dev)
{
	struct uring_dev *ud = ud_of(dev);

	if (!ud->uring)
		return -1;      /* plain reads: only a read tells */
	return ud->rxq.n || io_uring_cq_ready(&ud->ring);
}

/* The caller sleeps on the ring's fd next: look first. The fd is readable
 * while a completion waits in the CQ (level-triggered: nothing to clear, no
 * read before each sleep, as an eventfd needed); frames already reaped
 * (rxq) are answered here. */
static int ud_wait_prepare(struct netdev *dev)
{
	struct uring_dev *ud = ud_of(dev);

	if (!ud->uring)
		return -1;
	ud->lazy_drain = true;
	/* A read that ended while the pool was empty is armed now if the
	 * pass that followed freed buffers (the claimer); another thread
	 * asks the claimer (ud_arm_ask). */
	ud_service(ud);
	return ud->rxq.n || io_uring_cq_ready(&ud->ring);
}

/* Frames on the fd whose read completions are not posted yet (the
 * multishot read's task work runs in the thread that armed it, the
 * engine's, a wake-up away): wait for them, at most budget_us. */
static int ud_sync(struct netdev *dev, unsigned budget_us)
{
	struct uring_dev *ud = ud_of(dev);
	struct pollfd p = { ud->fd, POLLIN, 0 };
	struct timespec zero = { 0, 0 }, nap = { 0, 20000 };

	if (ud->rxq.n || (ud->uring && io_uring_cq_ready(&ud->ring)))
		return 1;
	if (syscall(SYS_ppoll, &p, 1, &zero, NULL, 0) <= 0 || !(p.revents & POLLIN))
		/* none left on the fd: a completion may have come meanwhile */
		return ud->uring && io_uring_cq_ready(&ud->ring) > 0;
	if (!ud->uring)
		return 1;       /* plain reads: recv takes them */
	for (unsigned waited = 0; waited < budget_us; waited += 20) {
		if (io_uring_cq_ready(&ud->ring))
			return 1;
		(void)syscall(SYS_nanosleep, &nap, NULL);
	}
	return io_uring_cq_ready(&ud->ring) > 0;
}

/* The calling thread takes the reads over (netdev.h rx_claim). force: the
 * current claimer's multishot read is cancelled (its last frames still come
 * to us through it, then its final completion) and ours is armed, in one
 * submission; refused while an earlier claim's read is still ending, or for
 * a ring of ordinary reads (a cancel per read). !force: only if the claimer
 * has none alive — it stopped arming (a busy or exited thread: the kernel
 * cancels an exiting thread's requests). */
static int ud_rx_claim(struct netdev *dev, int force)
{
	struct uring_dev *ud = ud_of(dev);
	struct io_uring_sqe *sqe;

	if (!ud->uring || !ud->opts.reads_claimed || ud->rx_err)
		return -1;
	if (ud_is_claimer(ud))
		return 0;
	/* an earlier claimer's read still ending carries the user_data ours
	 * would take: wait for its last completion (and ask again after it) */
	if (ud->reads_armed != ud->reads_cur) {
		ud->arm_asked = false;
		return -1;
	}
	if (force ? !ud->multishot : ud->reads_cur != 0)
		return -1;
	if (ud->reads_cur) {
		if (!(sqe = ud_sqe(ud)))
			return -1;
		io_uring_prep_cancel64(sqe, ud->read_ud, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, UD_UD_CANCEL);
	}
	ud->read_ud = ud->read_ud == UD_UD_READ ? UD_UD_READ2 : UD_UD_READ;
	ud->reads_cur = 0;
	ud->claim_id = ud_thread_id();
	ud->arm_asked = false;
	ud->dev.stat.rx_claims++;
	ud_service(ud);         /* ours armed, the cancel submitted */
	return 0;
}

static int ud_wait_fd(struct netdev *dev)
{
	struct uring_dev *ud = ud_of(dev);

	return ud->uring ? ud->ring.ring_fd : ud->fd;
}

/* Tear down the ring. Packets are returned to the pool only once the kernel
 * can no longer write into them; if requests outlive the wait, their packets
 * are leaked rather than reused under the kernel's feet. */
static void ud_uring_fini(struct uring_dev *ud)
{
	unsigned i;

	if (ud->ring_up) {
		struct io_uring_sqe *sqe;
		int waited_ms = 0;

		ud->rx_err = -ECANCELED;        /* no more re-arming */
		for (uint64_t k = UD_UD_READ; k <= UD_UD_READ2; k += UD_UD_READ2 - UD_UD_READ)
			if (ud->reads_armed && (sqe = ud_sqe(ud))) {
				io_uring_prep_cancel64(sqe, k, IORING_ASYNC_CANCEL_ALL);
				io_uring_sqe_set_data64(sqe, UD_UD_CANCEL);
			}
		(void)ud_submit(ud);
		while ((ud->reads_armed || ud->writes_inflight) && waited_ms < UD_CLOSE_WAIT_MS) {
			struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
			struct io_uring_cqe *cqe;

			if (io_uring_wait_cqe_timeout(&ud->ring, &cqe, &ts) == -ETIME)
				waited_ms += 10;
			ud_reap(ud);
		}
		if (ud->reads_armed || ud->writes_inflight)
			shim_log(ud->opts.log, "%s %s: %u reads, %u writes still in flight at close; their buffers are leaked",
				 ud->kind, ud->dev.name, ud->reads_armed, ud->writes_inflight);
		io_uring_queue_exit(&ud->ring);
		ud->ring_up = false;
	}
	if (ud->inring && !ud->reads_armed)
		for (i = 0; i < ud->pool_n; i++)
			if (ud->inring[i])
				pkt_free(pkt_by_id((uint16_t)i));
	free(ud->inring);
	ud->inring = NULL;
	ud->br_count = 0;
	if (ud->br)
		munmap(ud->br, ud->br_bytes);
	ud->br = NULL;
}

static void ud_close(struct netdev *dev)
{
	struct uring_dev *ud = ud_of(dev);

	if (ud->uring)
		ud_uring_fini(ud);
	else
		ud_plain_flush(ud);
	pkt_queue_purge(&ud->rxq);
	pkt_queue_purge(&ud->txq);
	pkt_free(ud->spare);
	sys_close(ud->fd);
	free(ud);
}

static const struct netdev_ops ud_ops = {
	.xmit    = ud_xmit,
	.flush   = ud_flush,
	.recv    = ud_recv,
	.wait_fd = ud_wait_fd,
	.pending = ud_pending,
	.wait_prepare = ud_wait_prepare,
	.sync = ud_sync,
	.rx_claim = ud_rx_claim,
	.close   = ud_close,
};

/* ---- create ------------------------------------------------------------ */

/* Set up the ring and the provided buffers, and arm the reads.
 * 0 or -errno (the caller then uses the plain path). */
static int ud_uring_init(struct uring_dev *ud)
{
	struct io_uring_params prm;
	struct io_uring_buf_reg reg;
	struct io_uring_probe *probe;
	unsigned avail, cap;
	int r;

	memset(&prm, 0, sizeof(prm));
	/* COOP_TASKRUN (5.19+) when one thread arms the reads (opts.reads_claimed,
	 * the engine thread): a completion's task work then waits for its
	 * submitter to enter the kernel instead of interrupting it with an IPI
	 * -- per frame, an application thread that armed the reads paid that
	 * (redis-benchmark at half the rate). A sleeping submitter is woken
	 * either way; the engine thread only sleeps or runs the stack, so no
	 * frame waits for a thread that computes. Without a claimer the reads
	 * may be any thread's: no COOP_TASKRUN, so a computing thread never
	 * holds the frames (up to a tick, 4 ms). Older kernels: retry without. */
	prm.flags = IORING_SETUP_CQSIZE | (ud->opts.reads_claimed ? IORING_SETUP_COOP_TASKRUN : 0);
	prm.cq_entries = UD_CQ_ENTRIES;
	r = io_uring_queue_init_params(UD_SQ_ENTRIES, &ud->ring, &prm);
	if (r == -EINVAL && (prm.flags & IORING_SETUP_COOP_TASKRUN)) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = IORING_SETUP_CQSIZE;
		prm.cq_entries = UD_CQ_ENTRIES;
		r = io_uring_queue_init_params(UD_SQ_ENTRIES, &ud->ring, &prm);
	}
	if (r < 0)
		return r;
	ud->ring_up = true;

	ud->pool_n = pkt_pool_size() + pkt_pool_large_size();
	/* Receive buffers may take at most a quarter of their pool (half of
	 * the large one, which only TSO shares): the stack needs the rest to
	 * build replies with. */
	avail = ud->rx_large ? pkt_pool_large_size() / 2 : pkt_pool_size() / 4;
	cap = ud->rx_large ? UD_BR_LARGE : UD_BR_ENTRIES;
	ud->br_target = avail < cap ? avail : cap;
	if (ud->br_target == 0)
		ud->br_target = 1;
	if (!(ud->inring = calloc(ud->pool_n ? ud->pool_n : 1, 1)))
		return -ENOMEM;
	ud->br_bytes = UD_BR_ENTRIES * sizeof(struct io_uring_buf);
	ud->br = mmap(NULL, ud->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ud->br == MAP_FAILED) {
		ud->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(ud->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)ud->br;
	reg.ring_entries = UD_BR_ENTRIES;
	reg.bgid = UD_BGID;
	if ((r = io_uring_register_buf_ring(&ud->ring, &reg, 0)) < 0)
		return r;               /* kernel < 5.19 */

	probe = io_uring_get_probe_ring(&ud->ring);
	ud->multishot = probe && io_uring_opcode_supported(probe, UD_OP_READ_MULTISHOT) &&
			!ud->opts.uring_no_multishot;
	if (probe)
		io_uring_free_probe(probe);
	ud->reads_target = ud->multishot ? 1 : UD_NREADS;

	ud_br_fill(ud);
	if (!ud->br_count)
		return -ENOBUFS;        /* the pool is empty */
	ud_arm_reads(ud);
	if ((r = ud_submit(ud)) < 0)
		return r;
	return 0;
}

/* A locally administered unicast address (02:...) from the name and pid: the
 * interface's own, kernel-side MAC is not ours. The caller may overwrite it. */
static void ud_make_mac(uint8_t mac[6], const char *ifname)
{
	uint32_t h = 2166136261u;       /* FNV-1a */
	const char *s;
	pid_t pid = getpid();
	int i;

	for (s = ifname; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	for (i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(pid >> (8 * i))) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x4e;                  /* 'N' */
	mac[2] = (uint8_t)(h >> 24);
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* The interface MTU (SIOCGIFMTU), 1500 if it cannot be read. */
static unsigned ud_if_mtu(const char *ifname)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 1500;

	if (s < 0)
		return mtu;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (syscall(SYS_ioctl, s, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		mtu = (unsigned)ifr.ifr_mtu;
	sys_close(s);
	return mtu;
}

static const char *ud_offload_str(uint32_t f)
{
	if ((f & (NETDEV_F_TSO | NETDEV_F_GRO)) == (NETDEV_F_TSO | NETDEV_F_GRO))
		return "offloads: checksum, TSO, GRO";
	if (f & NETDEV_F_TX_CSUM)
		return "offloads: checksum";
	return "no offloads";
}

/* A device over fd with nothing set up yet (no MAC, MTU 0, no ring). */
static struct uring_dev *ud_new(int fd, const char *kind, const char *ifname, uint32_t features,
				bool rx_large, const struct shim_opts *o)
{
	struct uring_dev *ud = calloc(1, sizeof(*ud));

	if (!ud)
		return NULL;
	ud->dev.ops = &ud_ops;
	ud->dev.features = features;
	ud->kind = kind;
	ud->opts = *o;
	ud->fd = fd;
	ud->read_ud = UD_UD_READ;
	ud->owner = (int32_t)getpid();
	ud->rx_large = rx_large || (features & NETDEV_F_GRO);
	snprintf(ud->dev.name, sizeof(ud->dev.name), "%s", ifname);
	return ud;
}

/* Set up the io_uring path, or fall back to plain read/write; one log line
 * (why: "" or "forked: "). */
static void ud_start(struct uring_dev *ud, const char *why)
{
	const struct shim_opts *o = &ud->opts;
	const char *kind = ud->kind, *ifname = ud->dev.name;
	uint32_t features = ud->dev.features;
	int r;

	if (o->uring_disable) {
		shim_log(o->log, "%s %s: %sio_uring disabled by NSTACK_URING_DISABLE, plain read/write, %s",
			 kind, ifname, why, ud_offload_str(features));
	} else if ((r = ud_uring_init(ud)) < 0) {
		ud_uring_fini(ud);
		ud->rx_err = 0;
		ud->reads_armed = ud->reads_cur = ud->writes_inflight = 0;
		shim_log(o->log, "%s %s: %sio_uring unavailable (%s), plain read/write, %s", kind, ifname,
			 why, strerror(-r), ud_offload_str(features));
	} else {
		ud->uring = true;
		if (ud->multishot)
			shim_log(o->log, "%s %s: %sio_uring multishot read, %s", kind, ifname, why,
				 ud_offload_str(features));
		else
			shim_log(o->log, "%s %s: %sio_uring read ring of %u (no multishot), %s", kind, ifname,
				 why, UD_NREADS, ud_offload_str(features));
	}
}

struct netdev *uring_dev_create(int fd, const char *kind, const char *ifname, uint32_t features,
				bool rx_large, const struct shim_opts *o, int *err)
{
	struct uring_dev *ud = ud_new(fd, kind, ifname, features, rx_large, o);
	unsigned mtu;

	if (!ud) {
		*err = -ENOMEM;
		return NULL;
	}
	ud_make_mac(ud->dev.mac, ifname);
	mtu = ud_if_mtu(ifname);
	if (mtu > PKT_MAX_FRAME - UD_ETH_HLEN) {
		shim_log(o->log, "%s %s: MTU %u larger than a packet buffer, using %u", kind, ifname, mtu,
			 PKT_MAX_FRAME - UD_ETH_HLEN);
		mtu = PKT_MAX_FRAME - UD_ETH_HLEN;
	}
	ud->dev.mtu = (uint16_t)mtu;
	ud_start(ud, "");
	*err = 0;
	return &ud->dev;
}

/* ---- fork ---------------------------------------------------------------- */

bool uring_dev_is(const struct netdev *dev)
{
	return dev && dev->ops == &ud_ops;
}

/* Let go of the copy of the parent's device that fork() left in this
 * process, without touching what the parent still uses:
 * - the io_uring instance: never submitted to or waited on here (its
 *   requests are the parent's; a submission would even be ours to answer).
 *   io_uring_queue_exit only munmaps this process's mappings of the rings
 *   and closes this process's ring fd (liburing 2.3 to 2.x: no cancel, no
 *   io_uring_enter; it unregisters a registered ring fd, which we never
 *   register and which would be this task's table anyway). The ring lives
 *   on through the parent's fd: the kernel tears an io_uring down only at
 *   the last close of its file, and cancels requests per task, at that
 *   task's exit or exec. The parent never used IORING_SETUP_SINGLE_ISSUER
 *   (with it, io_uring_enter and io_uring_register from here would fail
 *   with -EEXIST: one more reason never to call them).
 * - the provided-buffer ring (br): our copy of the parent's MAP_PRIVATE
 *   mapping; the kernel holds the parent's pages (pinned pages are copied
 *   for the child at fork), so unmapping ours is safe.
 * - the packets the kernel holds as provided buffers or in flight (inring,
 *   writes), received ones (rxq), queued ones (txq) and the plain path's
 *   spare: the parent's, never pkt_free'd here (the pool may be shared).
 * - the frame fd (TAP fd, AF_PACKET socket): the same open file as the
 *   parent's; closed unless keep_fd (the child's new device takes it).
 * - the struct and inring: this process's private heap copies, freed. */
static void ud_abandon(struct uring_dev *ud, bool keep_fd)
{
	if (ud->ring_up)
		io_uring_queue_exit(&ud->ring);
	if (ud->br)
		munmap(ud->br, ud->br_bytes);
	free(ud->inring);
	if (!keep_fd)
		sys_close(ud->fd);
	free(ud);
}

void uring_dev_abandon(struct netdev *inherited)
{
	ud_abandon(ud_of(inherited), false);
}

/* The child's own device on the inherited fd: a new io_uring instance, new
 * provided buffers from the pool, reads armed as at open (by the claiming
 * thread with opts.reads_claimed). Same name, MAC, MTU, offloads. */
struct netdev *uring_dev_fork(struct netdev *inherited, int *err)
{
	struct uring_dev *old = ud_of(inherited), *ud;
	struct shim_opts o = old->opts;

	/* The parent found multishot refused on this fd: do not ask again. */
	if (old->uring && !old->multishot)
		o.uring_no_multishot = true;
	ud = ud_new(old->fd, old->kind, old->dev.name, old->dev.features, old->rx_large, &o);
	if (!ud) {
		ud_abandon(old, false);
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(ud->dev.mac, old->dev.mac, sizeof(ud->dev.mac));
	ud->dev.mtu = old->dev.mtu;
	ud_abandon(old, true);
	ud_start(ud, "forked: ");
	*err = 0;
	return &ud->dev;
}

int uring_dev_frame_fd(const struct netdev *dev)
{
	return ((const struct uring_dev *)dev)->fd;
}
