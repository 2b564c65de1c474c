/* pcap middleware: a netdev wrapped around another one that also writes every
 * frame sent and received to a pcap file (libpcap pcap_dump, DLT_EN10MB).
 * Frames are Ethernet II at pkt->data on both sides of the seam, so what is
 * written is exactly what the stack sent or received (no virtio header).
 * The file is flushed after each batch, so a killed process still leaves a
 * readable capture up to its last flush() or recv().
 */
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/time.h>
#include <pcap/pcap.h>

#include "shim/shim.h"
#include "shim/dev_fork.h"

/* libpcap is loaded when a capture is asked for, not linked: it brings
 * eight more libraries (D-Bus, systemd, gcrypt, ...) whose loading every
 * preloaded process would pay at its start. */
#define PCAP_LIB "libpcap.so.0.8"
static struct {
	pcap_t        *(*open_dead)(int, int);
	pcap_dumper_t *(*dump_fopen)(pcap_t *, FILE *);
	void           (*dump)(u_char *, const struct pcap_pkthdr *, const u_char *);
	int            (*dump_flush)(pcap_dumper_t *);
	FILE          *(*dump_file)(pcap_dumper_t *);
	void           (*dump_close)(pcap_dumper_t *);
	void           (*close)(pcap_t *);
} lp;
static pthread_once_t lp_once = PTHREAD_ONCE_INIT;
static int lp_ok;

static void lp_load(void)
{
	void *h = dlopen(PCAP_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	lp.open_dead = (pcap_t *(*)(int, int))dlsym(h, "pcap_open_dead");
	lp.dump_fopen = (pcap_dumper_t *(*)(pcap_t *, FILE *))dlsym(h, "pcap_dump_fopen");
	lp.dump = (void (*)(u_char *, const struct pcap_pkthdr *, const u_char *))dlsym(h, "pcap_dump");
	lp.dump_flush = (int (*)(pcap_dumper_t *))dlsym(h, "pcap_dump_flush");
	lp.dump_file = (FILE *(*)(pcap_dumper_t *))dlsym(h, "pcap_dump_file");
	lp.dump_close = (void (*)(pcap_dumper_t *))dlsym(h, "pcap_dump_close");
	lp.close = (void (*)(pcap_t *))dlsym(h, "pcap_close");
	lp_ok = lp.open_dead && lp.dump_fopen && lp.dump && lp.dump_flush && lp.dump_file &&
		lp.dump_close && lp.close;
}

#define pcap_open_dead  (*lp.open_dead)
#define pcap_dump_fopen (*lp.dump_fopen)
#define pcap_dump       (*lp.dump)
#define pcap_dump_flush (*lp.dump_flush)
#define pcap_dump_file  (*lp.dump_file)
#define pcap_dump_close (*lp.dump_close)
#define pcap_close      (*lp.close)

/* Whole frames, TSO and GRO ones included (a 64 KB IP datagram plus the
 * Ethernet header is more than 65535): tcpdump's default snaplen. Such
 * frames carry the pseudo-header sum as their TCP checksum, as a capture on
 * an offloading kernel interface shows them. */
#define PCAP_SNAPLEN 262144

struct pcapdev {
	struct netdev dev;
	struct netdev *lower;
	pcap_t        *pd;          /* pcap_open_dead: only a link type for the dumper */
	pcap_dumper_t *dumper;
	char          *path;        /* as given to pcapdev_wrap: a forked child writes path.<pid> */
};

static inline struct pcapdev *pcapdev_of(struct netdev *dev)
{
	return (struct pcapdev *)dev;
}

/* Borrows p: append it to the capture. */
static void pcapdev_write(struct pcapdev *pc, const struct pkt *p, const struct timeval *tv)
{
	struct pcap_pkthdr h;

	h.ts = *tv;
	h.caplen = p->len < PCAP_SNAPLEN ? p->len : PCAP_SNAPLEN;
	h.len = p->len;
	pcap_dump((u_char *)pc->dumper, &h, p->data);
}

/* The lower device's counters are the wrapper's. */
static void pcapdev_sync(struct pcapdev *pc)
{
	pc->dev.stat = pc->lower->stat;
}

/* Owns the n packets: captures each, then hands them all to the lower device. */
static int pcapdev_xmit(struct netdev *dev, struct pkt **p, int n)
{
	struct pcapdev *pc = pcapdev_of(dev);
	struct timeval tv;
	int i, r;

	gettimeofday(&tv, NULL);
	for (i = 0; i < n; i++)
		pcapdev_write(pc, p[i], &tv);
	r = netdev_xmit(pc->lower, p, n);
	pcapdev_sync(pc);
	return r;
}

static int pcapdev_flush(struct netdev *dev)
{
	struct pcapdev *pc = pcapdev_of(dev);
	int r = netdev_flush(pc->lower);

	pcap_dump_flush(pc->dumper);
	pcapdev_sync(pc);
	return r;
}

static int pcapdev_recv(struct netdev *dev, struct pkt **p, int max)
{
	struct pcapdev *pc = pcapdev_of(dev);
	int i, n = netdev_recv(pc->lower, p, max);

	if (n > 0) {
		struct timeval tv;

		gettimeofday(&tv, NULL);
		for (i = 0; i < n; i++)
			pcapdev_write(pc, p[i], &tv);
		pcap_dump_flush(pc->dumper);
	}
	pcapdev_sync(pc);
	return n;
}

static int pcapdev_wait_fd(struct netdev *dev)
{
	return netdev_wait_fd(pcapdev_of(dev)->lower);
}

static int pcapdev_pending(struct netdev *dev)
{
	return netdev_pending(pcapdev_of(dev)->lower);
}

static int pcapdev_rx_sync(struct netdev *dev, unsigned budget_us)
{
	return netdev_sync(pcapdev_of(dev)->lower, budget_us);
}

static int pcapdev_wait_prepare(struct netdev *dev)
{
	return netdev_wait_prepare(pcapdev_of(dev)->lower);
}

static int pcapdev_rx_claim(struct netdev *dev, int force)
{
	return netdev_rx_claim(pcapdev_of(dev)->lower, force);
}

static void pcapdev_close(struct netdev *dev)
{
	struct pcapdev *pc = pcapdev_of(dev);

	netdev_close(pc->lower);
	pcap_dump_close(pc->dumper);    /* flushes and closes the file */
	pcap_close(pc->pd);
	free(pc->path);
	free(pc);
}

static const struct netdev_ops pcapdev_ops = {
	.xmit    = pcapdev_xmit,
	.flush   = pcapdev_flush,
	.recv    = pcapdev_recv,
	.wait_fd = pcapdev_wait_fd,
	.pending = pcapdev_pending,
	.wait_prepare = pcapdev_wait_prepare,
	.sync = pcapdev_rx_sync,
	.rx_claim = pcapdev_rx_claim,
	.close   = pcapdev_close,
};

/* Wrap lower, capturing to file; path is what a forked child derives its
 * file name from. */
static struct netdev *pcapdev_wrap_file(struct netdev *lower, const char *file, const char *path,
					int *err)
{
	struct pcapdev *pc;
	FILE *f;
	int dummy;

	if (!err)
		err = &dummy;
	if (!lower || !file || !*file) {
		*err = -EINVAL;
		return NULL;
	}
	pthread_once(&lp_once, lp_load);
	if (!lp_ok) {
		*err = -ENOSYS;         /* "Function not implemented": no libpcap here */
		return NULL;
	}
	if (!(pc = calloc(1, sizeof(*pc))) || !(pc->path = strdup(path))) {
		free(pc);
		*err = -ENOMEM;
		return NULL;
	}
	/* fopen ourselves: pcap_dump_open does not report errno reliably. */
	if (!(f = fopen(file, "we"))) {
		*err = errno ? -errno : -EINVAL;
		free(pc->path);
		free(pc);
		return NULL;
	}
	if (!(pc->pd = pcap_open_dead(DLT_EN10MB, PCAP_SNAPLEN))) {
		fclose(f);
		free(pc->path);
		free(pc);
		*err = -ENOMEM;
		return NULL;
	}
	if (!(pc->dumper = pcap_dump_fopen(pc->pd, f))) {
		fclose(f);
		pcap_close(pc->pd);
		free(pc->path);
		free(pc);
		*err = -EINVAL;
		return NULL;
	}
	pcap_dump_flush(pc->dumper);    /* the file header, even if nothing follows */
	pc->lower = lower;
	pc->dev.ops = &pcapdev_ops;
	memcpy(pc->dev.mac, lower->mac, sizeof(pc->dev.mac));
	pc->dev.mtu = lower->mtu;
	pc->dev.features = lower->features;
	memcpy(pc->dev.name, lower->name, sizeof(pc->dev.name));
	pcapdev_sync(pc);
	*err = 0;
	return &pc->dev;
}

/* Wrap lower; on success the wrapper owns lower (close closes both). On
 * failure NULL with *err = -errno, and lower is left open for the caller. */
struct netdev *pcapdev_wrap(struct netdev *lower, const char *path, int *err)
{
	return pcapdev_wrap_file(lower, path, path, err);
}

/* ---- fork ---------------------------------------------------------------- */

bool pcapdev_is(const struct netdev *dev)
{
	return dev && dev->ops == &pcapdev_ops;
}

struct netdev *pcapdev_lower(struct netdev *dev)
{
	return pcapdev_of(dev)->lower;
}

/* This layer only. The FILE's buffer is our copy of frames the parent has
 * not flushed yet: discarded (__fpurge), or fclose would write them into
 * the parent's file a second time. Then fclose closes our fd of the file
 * (the parent's stays open) and frees our copies of the structs. */
static void pcapdev_abandon_self(struct pcapdev *pc)
{
	__fpurge(pcap_dump_file(pc->dumper));
	pcap_dump_close(pc->dumper);
	pcap_close(pc->pd);
	free(pc->path);
	free(pc);
}

void pcapdev_abandon(struct netdev *inherited)
{
	pcapdev_abandon_self(pcapdev_of(inherited));
}

/* The child captures to <path>.<pid>: two processes appending to one file
 * through their own buffers would interleave partial records. */
struct netdev *pcapdev_fork(struct netdev *inherited, struct netdev *lower, int *err)
{
	struct pcapdev *pc = pcapdev_of(inherited);
	struct netdev *w = NULL;
	char *path = pc->path, *file = NULL;

	pc->path = NULL;                /* ours now */
	pcapdev_abandon_self(pc);
	if (!path || asprintf(&file, "%s.%d", path, (int)getpid()) < 0) {
		file = NULL;
		*err = -ENOMEM;
	} else if (!(w = pcapdev_wrap_file(lower, file, path, err))) {
		*err = *err < 0 ? *err : -EINVAL;
	}
	if (!w)
		netdev_close(lower);
	free(file);
	free(path);
	return w;
}
