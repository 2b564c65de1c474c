/* TAP device: attach to an existing TAP interface and move Ethernet frames
 * between it and the stack through io_uring.
 *
 * The fd is opened IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, so every frame read or
 * written carries a 10-byte struct virtio_net_hdr in front. That header never
 * leaves this file: received frames reach the caller as Ethernet II at
 * pkt->data, and xmit prepends a zeroed header in the packet's headroom.
 *
 * Receive: a provided-buffer ring whose buffer id == pkt->id. Each buffer
 * starts TAP_VNET_LEN bytes before PKT_HEADROOM, so the virtio header lands
 * in the headroom and the Ethernet frame at buf + PKT_HEADROOM, where
 * pkt_alloc() would have put it. One multishot read (IORING_OP_READ_MULTISHOT,
 * kernel 6.7+, probed at run time) keeps the ring busy; without it a ring of
 * TAP_NREADS ordinary buffer-select reads stays in flight.
 * Transmit: one IORING_OP_WRITE per frame, submitted in one batch by flush().
 * wait_fd() is an eventfd registered with the ring.
 *
 * If io_uring cannot be set up (disabled, too old for buffer rings), the
 * device falls back to plain non-blocking read()/write() on the TAP fd, and
 * wait_fd() is the TAP fd itself.
 *
 * Environment (for tests and debugging):
 *   NSTACK_URING_NO_MULTISHOT=1  use the ring of ordinary reads even if the
 *                                kernel has multishot read
 *   NSTACK_URING_DISABLE=1       do not use io_uring at all (plain path)
 *   NSTACK_LOG=info|debug        say on stderr which path is in use
 *
 * Not implemented yet: offloads (TUNSETOFFLOAD); frames with a GSO type are
 * dropped and counted, which cannot happen while no offload is enabled.
 *
 * Every syscall on our own fds goes through syscall(2) directly: inside
 * libnstack.so, read/write/close/ioctl/socket resolve to the interposed
 * wrappers in preload/, which must not be re-entered under the stack lock.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <liburing.h>

#include "shim/shim.h"

#define TAP_VNET_LEN    ((int)sizeof(struct virtio_net_hdr))   /* 10: not mergeable */
#define TAP_RXBUF_OFF   (PKT_HEADROOM - TAP_VNET_LEN)          /* buffer start in pkt->buf */
#define TAP_RXBUF_LEN   (PKT_SIZE - TAP_RXBUF_OFF)             /* vnet header + frame */
#define TAP_ETH_HLEN    14

#define TAP_BR_ENTRIES  256u    /* provided buffers; a power of two */
#define TAP_BGID        0       /* buffer group; each device has its own ring */
#define TAP_SQ_ENTRIES  256u
#define TAP_CQ_ENTRIES  4096u   /* >= buffers + a few batches of writes */
#define TAP_NREADS      32u     /* ordinary reads in flight without multishot */
#define TAP_REAP_BATCH  64u
#define TAP_CLOSE_WAIT_MS 1000

/* user_data of non-write requests; writes carry their struct pkt *, which is
 * never this small. */
#define TAP_UD_READ     1ull
#define TAP_UD_CANCEL   2ull

/* Debian's liburing 2.3 headers predate IORING_OP_READ_MULTISHOT (an enum in
 * newer headers, so it cannot be tested with #ifdef); the kernel ABI number
 * is fixed at 49 since 6.7. */
#define TAP_OP_READ_MULTISHOT 49

struct tapdev {
	struct netdev dev;
	int      fd;                /* /dev/net/tun attached to the interface */
	int      efd;               /* eventfd registered with the ring, or -1 */
	bool     uring;             /* io_uring path; plain read/write otherwise */
	bool     ring_up;           /* ring initialised (for teardown) */
	bool     multishot;
	bool     ms_ok;             /* a multishot read has delivered a frame */
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t   br_bytes;
	unsigned br_count;          /* buffers given to the kernel, not yet returned */
	unsigned br_target;         /* keep this many there: a share of the pool */
	unsigned reads_armed;       /* read requests alive in the kernel */
	unsigned reads_target;      /* 1 multishot, else TAP_NREADS */
	unsigned writes_inflight;   /* write SQEs queued or submitted, not completed */
	uint8_t *inring;            /* [pool_n]: 1 while pkt id is a provided buffer */
	unsigned pool_n;
	int      rx_err;            /* fatal read error: reads are no longer armed */
	struct pkt_queue rxq;       /* received, not yet taken by recv() */
	struct pkt_queue txq;       /* plain path: frames waiting for flush() */
	struct pkt *spare;          /* plain path: the next receive buffer */
	uint64_t rx_nobuf;          /* pool exhausted while refilling the receive side */
	uint64_t rx_gso;            /* frames dropped for a GSO type */
};

static inline struct tapdev *tapdev_of(struct netdev *dev)
{
	return (struct tapdev *)dev;
}

static long sys_read(int fd, void *buf, size_t n)  { return syscall(SYS_read, fd, buf, n); }
static long sys_write(int fd, const void *buf, size_t n) { return syscall(SYS_write, fd, buf, n); }
static void sys_close(int fd) { if (fd >= 0) syscall(SYS_close, fd); }

/* Log one line on stderr when NSTACK_LOG is info or debug. */
static void __attribute__((format(printf, 1, 2))) tap_log(const char *fmt, ...)
{
	const char *lvl = getenv("NSTACK_LOG");
	char line[256];
	va_list ap;
	int n;

	if (!lvl || (strcmp(lvl, "info") != 0 && strcmp(lvl, "debug") != 0))
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

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v && strcmp(v, "0") != 0;
}

/* Make the eventfd readable, so the caller comes back for frames or CQEs we
 * left behind. */
static void tap_kick(struct tapdev *td)
{
	uint64_t one = 1;
	(void)sys_write(td->efd, &one, sizeof(one));
}

/* Complete a checksum the sender left to "hardware" (VIRTIO_NET_HDR_F_NEEDS_CSUM):
 * the field at start + off holds the pseudo-header sum; the one's-complement
 * sum from start to the end of the frame, complemented, goes there.
 * Returns 0, or -1 if the offsets do not fit the frame. */
static int tap_csum_complete(struct pkt *p, unsigned start, unsigned off)
{
	const uint8_t *d = p->data + start;
	uint32_t sum = 0;
	size_t n, i;
	uint16_t c;

	if (start >= p->len || (size_t)start + off + 2 > p->len)
		return -1;
	n = p->len - start;
	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)d[i] << 8 | d[i + 1];
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	p->data[start + off] = (uint8_t)(c >> 8);
	p->data[start + off + 1] = (uint8_t)c;
	return 0;
}

/* A frame of res bytes (virtio header included) has been read into p at
 * buf + TAP_RXBUF_OFF. Owns p: queues it on rxq for recv() or drops it. */
static void tap_rx_frame(struct tapdev *td, struct pkt *p, long res)
{
	struct virtio_net_hdr vh;

	p->next = NULL;
	p->flags = 0;
	if (res < TAP_VNET_LEN + TAP_ETH_HLEN || res > TAP_RXBUF_LEN)
		goto drop;
	memcpy(&vh, p->buf + TAP_RXBUF_OFF, sizeof(vh));
	p->data = p->buf + PKT_HEADROOM;
	p->len = (uint16_t)(res - TAP_VNET_LEN);
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		td->rx_gso++;           /* needs TUNSETOFFLOAD, which we never set */
		goto drop;
	}
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* virtio is little-endian on a TAP unless TUNSETVNETBE. */
		if (tap_csum_complete(p, le16toh(vh.csum_start), le16toh(vh.csum_offset)) < 0)
			goto drop;
		/* Partial checksum means the sender is the local kernel: as in
		 * Linux (CHECKSUM_PARTIAL), the data is trusted. */
		p->flags |= PKT_F_CSUM_OK;
	} else if (vh.flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		p->flags |= PKT_F_CSUM_OK;
	}
	td->dev.stat.rx_frames++;
	td->dev.stat.rx_bytes += p->len;
	pkt_queue_push(&td->rxq, p);
	return;
drop:
	td->dev.stat.rx_drops++;
	pkt_free(p);
}

/* ---- io_uring path ---------------------------------------------------- */

/* Keep the provided-buffer ring full with fresh packets from the pool. If the
 * pool is exhausted, count it and try again on the next recv(). */
static void tap_br_fill(struct tapdev *td)
{
	int added = 0;

	while (td->br_count + (unsigned)added < td->br_target) {
		struct pkt *p = pkt_alloc();

		if (!p) {
			td->rx_nobuf++;
			break;
		}
		td->inring[p->id] = 1;
		io_uring_buf_ring_add(td->br, p->buf + TAP_RXBUF_OFF, TAP_RXBUF_LEN, p->id,
				      io_uring_buf_ring_mask(TAP_BR_ENTRIES), added);
		added++;
	}
	if (added) {
		io_uring_buf_ring_advance(td->br, added);
		td->br_count += (unsigned)added;
	}
}

/* A read request ended (no IORING_CQE_F_MORE) or failed with res <= 0. */
static void tap_read_error(struct tapdev *td, int res)
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
		if (td->multishot && !td->ms_ok) {
			/* The probe said yes but the kernel refuses it for this
			 * file: fall back to a ring of ordinary reads. */
			td->multishot = false;
			td->reads_target = TAP_NREADS;
			tap_log("tap %s: multishot read refused (%d), io_uring read ring of %u",
				td->dev.name, res, TAP_NREADS);
			return;
		}
		break;
	}
	if (!td->rx_err)
		tap_log("tap %s: read failed (%d), receive stopped", td->dev.name, res);
	td->rx_err = res;
}

/* One completion: a read (frame or error), a write (frees its packet) or the
 * cancel issued by close(). */
static void tap_cqe(struct tapdev *td, const struct io_uring_cqe *cqe)
{
	struct pkt *p = NULL;

	if (cqe->user_data == TAP_UD_READ) {
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);

			if (bid < td->pool_n && td->inring[bid]) {
				td->inring[bid] = 0;
				td->br_count--;
				p = pkt_by_id(bid);
			}
		}
		if (!(cqe->flags & IORING_CQE_F_MORE))
			td->reads_armed--;
		if (cqe->res > 0 && p) {
			if (td->multishot)
				td->ms_ok = true;
			tap_rx_frame(td, p, cqe->res);
		} else if (cqe->res > 0) {
			td->dev.stat.rx_drops++;        /* no buffer of ours: cannot happen */
		} else {
			pkt_free(p);
			tap_read_error(td, cqe->res);
		}
		return;
	}
	if (cqe->user_data == TAP_UD_CANCEL)
		return;
	p = (struct pkt *)(uintptr_t)cqe->user_data;
	td->writes_inflight--;
	if (cqe->res == (int)p->len) {
		td->dev.stat.tx_frames++;
		td->dev.stat.tx_bytes += p->len - TAP_VNET_LEN;
	} else {
		td->dev.stat.tx_drops++;        /* failed or short write */
	}
	pkt_free(p);
}

/* Consume every available CQE without blocking. */
static void tap_reap(struct tapdev *td)
{
	struct io_uring_cqe *cqes[TAP_REAP_BATCH];
	unsigned n, i;

	while ((n = io_uring_peek_batch_cqe(&td->ring, cqes, TAP_REAP_BATCH)) > 0) {
		for (i = 0; i < n; i++)
			tap_cqe(td, cqes[i]);
		io_uring_cq_advance(&td->ring, n);
	}
}

/* An SQE, submitting what is queued if the SQ is full; NULL if none. */
static struct io_uring_sqe *tap_sqe(struct tapdev *td)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&td->ring);

	if (!sqe) {
		int r = io_uring_submit(&td->ring);

		if (r == -EBUSY || r == -EAGAIN) {      /* CQ overflow: make room */
			tap_reap(td);
			(void)io_uring_submit(&td->ring);
		}
		sqe = io_uring_get_sqe(&td->ring);
	}
	return sqe;
}

/* Re-arm reads up to the target while there are buffers for them; with the
 * ring empty a read would only end in -ENOBUFS, so wait for the refill. */
static void tap_arm_reads(struct tapdev *td)
{
	while (!td->rx_err && td->reads_armed < td->reads_target && td->br_count > 0) {
		struct io_uring_sqe *sqe = tap_sqe(td);

		if (!sqe)
			return;
		if (td->multishot)
			/* No io_uring_prep_read_multishot in liburing 2.3. */
			io_uring_prep_rw(TAP_OP_READ_MULTISHOT, sqe, td->fd, NULL, 0, 0);
		else
			io_uring_prep_read(sqe, td->fd, NULL, TAP_RXBUF_LEN, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = TAP_BGID;
		io_uring_sqe_set_data64(sqe, TAP_UD_READ);
		td->reads_armed++;
	}
}

static int tap_submit(struct tapdev *td)
{
	int r = io_uring_submit(&td->ring);

	if (r == -EBUSY || r == -EAGAIN) {
		tap_reap(td);
		r = io_uring_submit(&td->ring);
	}
	return r < 0 ? r : 0;
}

/* Reap completions, refill the buffer ring, re-arm reads, submit. */
static void tap_service(struct tapdev *td)
{
	tap_reap(td);
	tap_br_fill(td);
	tap_arm_reads(td);
	if (io_uring_sq_ready(&td->ring))
		(void)tap_submit(td);
}

/* ---- plain read()/write() path ----------------------------------------- */

/* Read up to want frames into rxq. */
static void tap_plain_rx(struct tapdev *td, int want)
{
	while (want-- > 0) {
		long r;

		if (!td->spare && !(td->spare = pkt_alloc())) {
			td->rx_nobuf++;
			return;
		}
		r = sys_read(td->fd, td->spare->buf + TAP_RXBUF_OFF, TAP_RXBUF_LEN);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;         /* EAGAIN, or an error poll() will report */
		tap_rx_frame(td, td->spare, r);
		td->spare = NULL;
	}
}

static void tap_plain_flush(struct tapdev *td)
{
	struct pkt *p;

	while ((p = pkt_queue_pop(&td->txq))) {
		long r;

		do
			r = sys_write(td->fd, p->data, p->len);
		while (r < 0 && errno == EINTR);
		if (r == (long)p->len) {
			td->dev.stat.tx_frames++;
			td->dev.stat.tx_bytes += p->len - TAP_VNET_LEN;
		} else {
			td->dev.stat.tx_drops++;
		}
		pkt_free(p);
	}
}

/* ---- netdev ops -------------------------------------------------------- */

/* Owns the n packets: each is queued (a write SQE, or txq on the plain path)
 * or dropped and counted. Returns the number queued. */
static int tap_xmit(struct netdev *dev, struct pkt **pv, int n)
{
	struct tapdev *td = tapdev_of(dev);
	int i, queued = 0;

	for (i = 0; i < n; i++) {
		struct pkt *p = pv[i];
		struct io_uring_sqe *sqe;
		void *vh = pkt_push(p, TAP_VNET_LEN);

		if (!vh)
			goto drop;
		memset(vh, 0, TAP_VNET_LEN);    /* no GSO, no checksum flags */
		if (!td->uring) {
			pkt_queue_push(&td->txq, p);
			queued++;
			continue;
		}
		if (!(sqe = tap_sqe(td)))
			goto drop;
		io_uring_prep_write(sqe, td->fd, p->data, p->len, 0);
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)p);
		td->writes_inflight++;
		queued++;
		continue;
drop:
		dev->stat.tx_drops++;
		pkt_free(p);
	}
	return queued;
}

/* Push queued frames to the wire: one io_uring_submit for the batch; reap
 * whatever has completed so written packets go back to the pool. */
static int tap_flush(struct netdev *dev)
{
	struct tapdev *td = tapdev_of(dev);
	int r = 0;

	if (!td->uring) {
		tap_plain_flush(td);
		return 0;
	}
	if (io_uring_sq_ready(&td->ring))
		r = tap_submit(td);
	tap_service(td);
	if (td->rxq.n)
		tap_kick(td);           /* frames reaped here wait for recv() */
	return r;
}

/* Up to max received frames; never blocks. The caller owns them. */
static int tap_recv(struct netdev *dev, struct pkt **out, int max)
{
	struct tapdev *td = tapdev_of(dev);
	int n = 0;

	if (td->uring) {
		uint64_t v;

		/* Drain first: a CQE posted after the reap re-signals. */
		(void)sys_read(td->efd, &v, sizeof(v));
		tap_service(td);
	} else if ((int)td->rxq.n < max) {
		tap_plain_rx(td, max - (int)td->rxq.n);
	}
	while (n < max && td->rxq.n)
		out[n++] = pkt_queue_pop(&td->rxq);
	if (td->uring && (td->rxq.n || io_uring_cq_ready(&td->ring)))
		tap_kick(td);
	return n;
}

static int tap_wait_fd(struct netdev *dev)
{
	struct tapdev *td = tapdev_of(dev);

	return td->uring ? td->efd : td->fd;
}

/* Tear down the ring. Packets are returned to the pool only once the kernel
 * can no longer write into them; if requests outlive the wait, their packets
 * are leaked rather than reused under the kernel's feet. */
static void tap_uring_fini(struct tapdev *td)
{
	unsigned i;

	if (td->ring_up) {
		struct io_uring_sqe *sqe;
		int waited_ms = 0;

		td->rx_err = -ECANCELED;        /* no more re-arming */
		if (td->reads_armed && (sqe = tap_sqe(td))) {
			io_uring_prep_cancel64(sqe, TAP_UD_READ, IORING_ASYNC_CANCEL_ALL);
			io_uring_sqe_set_data64(sqe, TAP_UD_CANCEL);
		}
		(void)tap_submit(td);
		while ((td->reads_armed || td->writes_inflight) && waited_ms < TAP_CLOSE_WAIT_MS) {
			struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000 * 1000 };
			struct io_uring_cqe *cqe;

			if (io_uring_wait_cqe_timeout(&td->ring, &cqe, &ts) == -ETIME)
				waited_ms += 10;
			tap_reap(td);
		}
		if (td->reads_armed || td->writes_inflight)
			tap_log("tap %s: %u reads, %u writes still in flight at close; their buffers are leaked",
				td->dev.name, td->reads_armed, td->writes_inflight);
		io_uring_queue_exit(&td->ring);
		td->ring_up = false;
	}
	if (td->inring && !td->reads_armed)
		for (i = 0; i < td->pool_n; i++)
			if (td->inring[i])
				pkt_free(pkt_by_id((uint16_t)i));
	free(td->inring);
	td->inring = NULL;
	td->br_count = 0;
	if (td->br)
		munmap(td->br, td->br_bytes);
	td->br = NULL;
	sys_close(td->efd);
	td->efd = -1;
}

static void tap_close(struct netdev *dev)
{
	struct tapdev *td = tapdev_of(dev);

	if (td->uring)
		tap_uring_fini(td);
	else
		tap_plain_flush(td);
	pkt_queue_purge(&td->rxq);
	pkt_queue_purge(&td->txq);
	pkt_free(td->spare);
	sys_close(td->fd);
	free(td);
}

static const struct netdev_ops tap_ops = {
	.xmit    = tap_xmit,
	.flush   = tap_flush,
	.recv    = tap_recv,
	.wait_fd = tap_wait_fd,
	.close   = tap_close,
};

/* ---- open -------------------------------------------------------------- */

/* Set up the ring, the provided buffers and the eventfd, and arm the reads.
 * 0 or -errno (the caller then uses the plain path). */
static int tap_uring_init(struct tapdev *td)
{
	struct io_uring_params prm;
	struct io_uring_buf_reg reg;
	struct io_uring_probe *probe;
	int r;

	memset(&prm, 0, sizeof(prm));
	/* COOP_TASKRUN (5.19+): completions of our writes are not delivered to
	 * the submitting application thread as task work that interrupts its
	 * blocking waits (epoll_wait would return EINTR). Older kernels: retry
	 * without it. */
	prm.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
	prm.cq_entries = TAP_CQ_ENTRIES;
	r = io_uring_queue_init_params(TAP_SQ_ENTRIES, &td->ring, &prm);
	if (r == -EINVAL) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = IORING_SETUP_CQSIZE;
		prm.cq_entries = TAP_CQ_ENTRIES;
		r = io_uring_queue_init_params(TAP_SQ_ENTRIES, &td->ring, &prm);
	}
	if (r < 0)
		return r;
	td->ring_up = true;

	td->pool_n = pkt_pool_size();
	/* Receive buffers may take at most a quarter of the pool: the stack
	 * needs the rest to build replies with. */
	td->br_target = td->pool_n / 4 < TAP_BR_ENTRIES ? td->pool_n / 4 : TAP_BR_ENTRIES;
	if (td->br_target == 0)
		td->br_target = 1;
	if (!(td->inring = calloc(td->pool_n ? td->pool_n : 1, 1)))
		return -ENOMEM;
	td->br_bytes = TAP_BR_ENTRIES * sizeof(struct io_uring_buf);
	td->br = mmap(NULL, td->br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (td->br == MAP_FAILED) {
		td->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(td->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)td->br;
	reg.ring_entries = TAP_BR_ENTRIES;
	reg.bgid = TAP_BGID;
	if ((r = io_uring_register_buf_ring(&td->ring, &reg, 0)) < 0)
		return r;               /* kernel < 5.19 */

	if ((td->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	if ((r = io_uring_register_eventfd(&td->ring, td->efd)) < 0)
		return r;

	probe = io_uring_get_probe_ring(&td->ring);
	td->multishot = probe && io_uring_opcode_supported(probe, TAP_OP_READ_MULTISHOT) &&
			!env_set("NSTACK_URING_NO_MULTISHOT");
	if (probe)
		io_uring_free_probe(probe);
	td->reads_target = td->multishot ? 1 : TAP_NREADS;

	tap_br_fill(td);
	if (!td->br_count)
		return -ENOBUFS;        /* the pool is empty */
	tap_arm_reads(td);
	if ((r = tap_submit(td)) < 0)
		return r;
	return 0;
}

/* A locally administered unicast address (02:...) from the name and pid: the
 * TAP's own, kernel-side MAC is not ours. The caller may overwrite it. */
static void tap_make_mac(uint8_t mac[6], const char *ifname)
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
static unsigned tap_if_mtu(const char *ifname)
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

/* Attach to the existing TAP interface ifname. NULL with *err = -errno:
 * -ENODEV no such interface, -EINVAL it is not a TAP (a veth, a TUN),
 * -EPERM/-EACCES no CAP_NET_ADMIN, -EBUSY already attached elsewhere. */
struct netdev *tapdev_open(const char *ifname, int *err)
{
	struct tapdev *td = NULL;
	struct ifreq ifr;
	unsigned idx, mtu;
	int fd = -1, hdrsz = TAP_VNET_LEN, r, dummy;

	if (!err)
		err = &dummy;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		*err = -EINVAL;
		return NULL;
	}
	/* TUNSETIFF would create a missing interface: refuse instead. */
	if (!(idx = if_nametoindex(ifname))) {
		*err = -ENODEV;
		return NULL;
	}
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
			tap_log("tap %s: not a TAP interface", ifname);
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
	if (!(td = calloc(1, sizeof(*td)))) {
		r = -ENOMEM;
		goto fail;
	}
	td->dev.ops = &tap_ops;
	td->fd = fd;
	td->efd = -1;
	snprintf(td->dev.name, sizeof(td->dev.name), "%s", ifname);
	tap_make_mac(td->dev.mac, ifname);
	mtu = tap_if_mtu(ifname);
	if (mtu > PKT_MAX_FRAME - TAP_ETH_HLEN) {
		tap_log("tap %s: MTU %u larger than a packet buffer, using %u", ifname, mtu,
			PKT_MAX_FRAME - TAP_ETH_HLEN);
		mtu = PKT_MAX_FRAME - TAP_ETH_HLEN;
	}
	td->dev.mtu = (uint16_t)mtu;

	if (env_set("NSTACK_URING_DISABLE")) {
		tap_log("tap %s: io_uring disabled by NSTACK_URING_DISABLE, plain read/write", ifname);
	} else if ((r = tap_uring_init(td)) < 0) {
		tap_uring_fini(td);
		td->rx_err = 0;
		td->reads_armed = td->writes_inflight = 0;
		tap_log("tap %s: io_uring unavailable (%s), plain read/write", ifname, strerror(-r));
	} else {
		td->uring = true;
		if (td->multishot)
			tap_log("tap %s: io_uring multishot read", ifname);
		else
			tap_log("tap %s: io_uring read ring of %u (no multishot)", ifname, TAP_NREADS);
	}
	*err = 0;
	return &td->dev;
fail:
	sys_close(fd);
	*err = r;
	return NULL;
}
