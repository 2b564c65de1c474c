/* Fault-injection middleware (NSTACK_IMPAIR): a netdev wrapped around another
 * one that loses, duplicates, reorders, corrupts and delays frames, seeded so
 * a run can be repeated, in each direction independently (what netem does on
 * a Linux qdisc, here between the stack and its device).
 *
 * Every frame of a direction goes through one "lane": the dice decide its
 * fate, then it waits in a queue ordered by release time (now + delay_us,
 * give or take jitter_us; a reordered frame is released REORDER_GAP_US later,
 * so the frames behind it overtake it; with a rate limit a frame also waits
 * until the one before it has been "serialised" at rate_bps). Due frames go
 * on at once; the earliest pending release arms a timerfd. wait_fd() is an epoll fd over the lower device's wait fd and that
 * timerfd, so the engine wakes both for received frames and for delayed ones.
 *
 * The shim may read the clock (stack/ may not): release times are
 * CLOCK_MONOTONIC microseconds.
 *
 * Limits: corruption flips one bit of the IP header or payload. A frame
 * whose checksum the device computes later (checksum offload on transmit)
 * would get a correct checksum over the corrupted bytes, so the wrapper
 * advertises no offloads and the engine opens the lower device without
 * them (NSTACK_IMPAIR implies NSTACK_OFFLOAD=0). Held frames are
 * bounded (IMPAIR_QUEUE_MAX per lane); beyond that they are dropped and
 * counted (overflow).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "shim/shim.h"
#include "shim/dev_fork.h"
#include "stack/splitmix64.h"

/* Around the interposed read/close/epoll of libnstack (as tap.c does): our own
 * fds never need the fd-table check. */
static long sys_read(int fd, void *buf, size_t n) { return syscall(SYS_read, fd, buf, n); }
static void sys_close(int fd) { if (fd >= 0) syscall(SYS_close, fd); }
static int sys_epoll_create1(int flags) { return (int)syscall(SYS_epoll_create1, flags); }
static int sys_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	return (int)syscall(SYS_epoll_ctl, ep, op, fd, ev);
}

#define IMPAIR_QUEUE_MAX  4096
#define IMPAIR_BATCH      64
#define REORDER_GAP_US    1000     /* how late a reordered frame comes */
#define ETH_HDR_LEN       14

struct impair_lane {
	struct pkt_queue q;     /* ordered by release time (pkt->next links) */
	uint64_t *due;          /* release time per pool id: pkt has no spare field */
	unsigned  loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;
	uint64_t  delay_us, jitter_us;
	double    rate_bps;     /* 0: no rate limit */
	uint64_t  busy_until;   /* rate limit: when the previous frame has left */
	uint64_t *lost, *dups, *reordered, *corrupted, *delayed;
};

struct impairdev {
	struct netdev  dev;
	struct netdev *lower;
	struct impair_lane tx, rx;
	uint64_t       rng;
	int            epfd, tfd;
	uint64_t       armed_at;    /* timerfd deadline, 0: disarmed */
	struct impair_stats stat;
	struct impair_spec spec_tx, spec_rx;   /* as given: a forked child starts afresh from them */
};


static inline struct impairdev *impairdev_of(struct netdev *dev)
{
	return (struct impairdev *)dev;
}

static uint64_t impair_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: the seeded source of every decision. */
static uint64_t impair_rand(struct impairdev *im)
{
	return splitmix64(&im->rng);
}

static int impair_chance(struct impairdev *im, unsigned ppm)
{
	return ppm && impair_rand(im) % 1000000 < ppm;
}

/* Insert p into the lane, ordered by release time `at` (stable: equal
 * times keep arrival order). Owns p. */
static void lane_insert(struct impairdev *im, struct impair_lane *l, struct pkt *p, uint64_t at)
{
	if (l->q.n >= IMPAIR_QUEUE_MAX) {
		im->stat.overflow++;
		pkt_free(p);
		return;
	}
	l->due[p->id] = at;
	p->next = NULL;
	if (!l->q.tail || l->due[l->q.tail->id] <= at) {
		pkt_queue_push(&l->q, p);
		return;
	}
	/* Rare (a reordered frame's successors): walk from the head. */
	struct pkt **pp = &l->q.head;
	while (*pp && l->due[(*pp)->id] <= at)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	l->q.n++;
}

/* Decide the fate of frame p entering lane l at `now`. Owns p. */
static void lane_enter(struct impairdev *im, struct impair_lane *l, struct pkt *p, uint64_t now)
{
	if (impair_chance(im, l->loss_ppm)) {
		(*l->lost)++;
		pkt_free(p);
		return;
	}
	if (p->len > ETH_HDR_LEN && impair_chance(im, l->corrupt_ppm)) {
		uint64_t r = impair_rand(im);
		unsigned off = ETH_HDR_LEN + (unsigned)(r % (p->len - ETH_HDR_LEN));
		p->data[off] ^= (uint8_t)(1u << ((r >> 32) & 7));
		p->flags &= (uint16_t)~PKT_F_CSUM_OK;   /* make the stack look at it */
		(*l->corrupted)++;
	}
	uint64_t at = now + l->delay_us;
	if (l->jitter_us) {
		/* uniform in [delay - jitter, delay + jitter], not before now */
		uint64_t j = impair_rand(im) % (2 * l->jitter_us + 1);
		at = at + j >= now + l->jitter_us ? at + j - l->jitter_us : now;
	}
	if (l->rate_bps > 0) {
		/* serialised behind the frame before it: len + 24 bytes of
		 * preamble, FCS and gap, at rate_bps (a bottleneck link); it
		 * goes on once its last bit is out */
		if (at < l->busy_until)
			at = l->busy_until;
		at += (uint64_t)((p->len + 24) * 8.0 * 1e6 / l->rate_bps);
		l->busy_until = at;
	}
	if (at > now)
		(*l->delayed)++;
	if (impair_chance(im, l->dup_ppm)) {
		struct pkt *c = pkt_clone(p);
		if (c) {
			(*l->dups)++;
			lane_insert(im, l, c, at);
		}
	}
	if (impair_chance(im, l->reorder_ppm)) {
		(*l->reordered)++;
		at += REORDER_GAP_US;
	}
	lane_insert(im, l, p, at);
}

/* Up to max frames of lane l due at `now`, into out. */
static int lane_take(struct impair_lane *l, struct pkt **out, int max, uint64_t now)
{
	int n = 0;
	while (n < max && l->q.head && l->due[l->q.head->id] <= now)
		out[n++] = pkt_queue_pop(&l->q);
	return n;
}

/* Arm the timerfd for the earliest frame still held (or disarm). */
static void impair_arm(struct impairdev *im)
{
	uint64_t at = 0;
	if (im->tx.q.head)
		at = im->tx.due[im->tx.q.head->id];
	if (im->rx.q.head) {
		uint64_t r = im->rx.due[im->rx.q.head->id];
		if (!at || r < at)
			at = r;
	}
	if (at == im->armed_at)
		return;
	struct itimerspec its = { 0 };
	if (at) {
		its.it_value.tv_sec = (time_t)(at / 1000000u);
		its.it_value.tv_nsec = (long)(at % 1000000u) * 1000;
	}
	timerfd_settime(im->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	im->armed_at = at;
}

/* Consume the timerfd's expiry count so the epoll fd stops being readable. */
static void impair_ack_timer(struct impairdev *im)
{
	uint64_t v;
	if (sys_read(im->tfd, &v, sizeof(v)) > 0)
		im->armed_at = 0;
}

/* The lower device's counters, plus what we dropped. */
static void impair_sync(struct impairdev *im)
{
	im->dev.stat = im->lower->stat;
	im->dev.stat.tx_drops += im->stat.tx_lost;
	im->dev.stat.rx_drops += im->stat.rx_lost;
}

/* Pass due transmit frames to the lower device. 1 if any went. */
static int impair_tx_release(struct impairdev *im, uint64_t now)
{
	struct pkt *b[IMPAIR_BATCH];
	int n, any = 0;
	while ((n = lane_take(&im->tx, b, IMPAIR_BATCH, now)) > 0) {
		netdev_xmit(im->lower, b, n);
		any = 1;
	}
	return any;
}

static int impair_xmit(struct netdev *dev, struct pkt **p, int n)
{
	struct impairdev *im = impairdev_of(dev);
	uint64_t now = impair_now_us();
	for (int i = 0; i < n; i++)
		lane_enter(im, &im->tx, p[i], now);
	impair_tx_release(im, now);
	impair_sync(im);
	return n;
}

static int impair_flush(struct netdev *dev)
{
	struct impairdev *im = impairdev_of(dev);
	impair_tx_release(im, impair_now_us());
	int r = netdev_flush(im->lower);
	impair_arm(im);
	impair_sync(im);
	return r;
}

static int impair_recv(struct netdev *dev, struct pkt **p, int max)
{
	struct impairdev *im = impairdev_of(dev);
	struct pkt *b[IMPAIR_BATCH];
	uint64_t now = impair_now_us();
	int n;

	impair_ack_timer(im);
	/* Delayed transmit frames are due too: the timer woke the engine for them. */
	if (impair_tx_release(im, now))
		netdev_flush(im->lower);
	int room = max < IMPAIR_BATCH ? max : IMPAIR_BATCH;
	n = netdev_recv(im->lower, b, room);
	for (int i = 0; i < n; i++)
		lane_enter(im, &im->rx, b[i], now);
	n = lane_take(&im->rx, p, max, now);
	impair_arm(im);
	impair_sync(im);
	return n;
}

static int impair_wait_fd(struct netdev *dev)
{
	return impairdev_of(dev)->epfd;
}

static void impair_close(struct netdev *dev)
{
	struct impairdev *im = impairdev_of(dev);
	pkt_queue_purge(&im->tx.q);
	pkt_queue_purge(&im->rx.q);
	netdev_close(im->lower);
	sys_close(im->tfd);
	sys_close(im->epfd);
	free(im->tx.due);
	free(im->rx.due);
	free(im);
}

static const struct netdev_ops impair_ops = {
	.xmit    = impair_xmit,
	.flush   = impair_flush,
	.recv    = impair_recv,
	.wait_fd = impair_wait_fd,
	.close   = impair_close,
};

static void lane_setup(struct impair_lane *l, const struct impair_spec *s, int on)
{
	if (!on)
		return;
	l->loss_ppm = s->loss_ppm;
	l->dup_ppm = s->dup_ppm;
	l->reorder_ppm = s->reorder_ppm;
	l->corrupt_ppm = s->corrupt_ppm;
	l->delay_us = s->delay_us;
	l->jitter_us = s->jitter_us;
	l->rate_bps = s->rate_bps;
}

struct netdev *impairdev_wrap(struct netdev *lower, const struct impair_spec *spec, int *err)
{
	return impairdev_wrap_dirs(lower, spec, spec, err);
}

struct netdev *impairdev_wrap_dirs(struct netdev *lower, const struct impair_spec *tx,
				   const struct impair_spec *rx, int *err)
{
	int dummy;
	if (!err)
		err = &dummy;
	if (!lower || !tx || !rx) {
		*err = -EINVAL;
		return NULL;
	}
	struct impairdev *im = calloc(1, sizeof(*im));
	unsigned npkt = pkt_pool_size() + pkt_pool_large_size();
	if (im) {
		im->tx.due = calloc(npkt ? npkt : 1, sizeof(uint64_t));
		im->rx.due = calloc(npkt ? npkt : 1, sizeof(uint64_t));
	}
	if (!im || !im->tx.due || !im->rx.due) {
		if (im) {
			free(im->tx.due);
			free(im->rx.due);
		}
		free(im);
		*err = -ENOMEM;
		return NULL;
	}
	im->epfd = sys_epoll_create1(EPOLL_CLOEXEC);
	im->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	int lfd = netdev_wait_fd(lower);
	if (im->epfd < 0 || im->tfd < 0 ||
	    sys_epoll_ctl(im->epfd, EPOLL_CTL_ADD, im->tfd, &ev) < 0 ||
	    (lfd >= 0 && sys_epoll_ctl(im->epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)) {
		*err = -errno;
		sys_close(im->epfd);
		sys_close(im->tfd);
		free(im->tx.due);
		free(im->rx.due);
		free(im);
		return NULL;
	}
	im->rng = (tx->dir & IMPAIR_TX) ? tx->seed : rx->seed;
	im->spec_tx = *tx;
	im->spec_rx = *rx;
	lane_setup(&im->tx, tx, tx->dir & IMPAIR_TX);
	lane_setup(&im->rx, rx, rx->dir & IMPAIR_RX);
	im->tx.lost = &im->stat.tx_lost;
	im->tx.dups = &im->stat.tx_dup;
	im->tx.reordered = &im->stat.tx_reordered;
	im->tx.corrupted = &im->stat.tx_corrupted;
	im->tx.delayed = &im->stat.tx_delayed;
	im->rx.lost = &im->stat.rx_lost;
	im->rx.dups = &im->stat.rx_dup;
	im->rx.reordered = &im->stat.rx_reordered;
	im->rx.corrupted = &im->stat.rx_corrupted;
	im->rx.delayed = &im->stat.rx_delayed;
	im->lower = lower;
	im->dev.ops = &impair_ops;
	memcpy(im->dev.mac, lower->mac, sizeof(im->dev.mac));
	im->dev.mtu = lower->mtu;
	/* No offloads through the impairment: a corrupted frame whose checksum
	 * the device completed would arrive valid. The engine opens the lower
	 * device without offloads when NSTACK_IMPAIR is set. */
	im->dev.features = 0;
	memcpy(im->dev.name, lower->name, sizeof(im->dev.name));
	impair_sync(im);
	*err = 0;
	return &im->dev;
}

/* Read under the stack lock (the device is only used under it). */
int impairdev_stats(const struct netdev *im, struct impair_stats *out)
{
	if (!im)
		return -ENODEV;
	*out = ((const struct impairdev *)im)->stat;
	return 0;
}

/* ---- fork ---------------------------------------------------------------- */

bool impairdev_is(const struct netdev *dev)
{
	return dev && dev->ops == &impair_ops;
}

struct netdev *impairdev_lower(struct netdev *dev)
{
	return impairdev_of(dev)->lower;
}

/* This layer only. The frames held in the lanes are the parent's (not
 * freed: the pool may be shared). The timerfd and the epoll fd are the
 * same open files as the parent's: never read, set or changed here (that
 * would disarm the parent's timer or steal its wakeup), only our fds of
 * them closed. The struct and the due[] arrays are our private copies. */
static void impairdev_abandon_self(struct impairdev *im)
{
	sys_close(im->tfd);
	sys_close(im->epfd);
	free(im->tx.due);
	free(im->rx.due);
	free(im);
}

void impairdev_abandon(struct netdev *inherited)
{
	impairdev_abandon_self(impairdev_of(inherited));
}

/* A fresh impairment state from the same specs, its seed mixed with our
 * pid (the parent's and the child's dice differ); nothing held, timer
 * disarmed, counters at zero. */
struct netdev *impairdev_fork(struct netdev *inherited, struct netdev *lower, int *err)
{
	struct impairdev *im = impairdev_of(inherited);
	struct impair_spec tx = im->spec_tx, rx = im->spec_rx, tx0 = tx, rx0 = rx;
	struct netdev *w;
	int pid = (int)getpid();

	impairdev_abandon_self(im);
	tx.seed = shim_seed_for_pid(tx.seed, pid);
	rx.seed = shim_seed_for_pid(rx.seed, pid);
	if (!(w = impairdev_wrap_dirs(lower, &tx, &rx, err))) {
		netdev_close(lower);
		return NULL;
	}
	/* A grandchild mixes its pid with the specs' own seeds, not with ours. */
	impairdev_of(w)->spec_tx = tx0;
	impairdev_of(w)->spec_rx = rx0;
	return w;
}
