/* Constructors of the devices in shim/. Each returns a struct netdev whose
 * ops implement stack/netdev.h, or NULL with *err = -errno. */
#ifndef NSTACK_SHIM_H
#define NSTACK_SHIM_H

#include <stdbool.h>
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

/* Advertise offloads (NETDEV_F_*) to the stack. The device does what they
 * promise in software at flush (gso_segment: checksums completed, TSO
 * frames cut into wire segments), so the peer sees plain frames; with raw
 * the peer gets the frames as the stack built them. */
void           memdev_set_offload(struct netdev *dev, uint32_t features, int raw);

/* Offloads in software (gso.c): what a device that
 * advertises a feature but cannot do it in hardware, or a test's peer, does
 * to a frame. Frames are Ethernet II at pkt->data (IPv4, TCP for
 * segmentation).
 *
 * Complete the checksum whose field is at data + start + off: the field
 * holds the pseudo-header sum; the complemented sum of the bytes from start
 * to the end of the frame goes there. 0, or -1 if the offsets do not fit. */
int gso_csum_complete(struct pkt *p, unsigned start, unsigned off);
/* The same for a packet marked PKT_F_CSUM_PARTIAL (its csum_start and
 * csum_off); clears the flag. 0 for a packet without it. */
int gso_csum_complete_pkt(struct pkt *p);
/* Cut a TSO frame (gso_size set, partial checksum) into wire segments of
 * gso_size payload bytes each, as Linux's tcp_gso_segment does: headers
 * copied, IP length/ID/checksum and TCP sequence fixed up, FIN and PSH only
 * on the last segment, every checksum complete. Consumes p; the segments go
 * to out in order. Returns their number, or -ENOBUFS / -EINVAL (nothing
 * queued). A frame without gso_size is queued alone (checksum completed). */
int gso_segment(struct pkt *p, struct pkt_queue *out);

/* How the TAP and AF_PACKET backends run; the configuration (config/)
 * fills it from NSTACK_OFFLOAD, NSTACK_LOG and NSTACK_URING_*. */
struct shim_opts {
	uint32_t offloads;              /* NETDEV_F_* wanted (0: none) */
	bool     log;                   /* which path is in use, and trouble, on stderr */
	bool     uring_disable;         /* no io_uring: plain read/write */
	bool     uring_no_multishot;    /* a ring of ordinary reads even with multishot */
	bool     reads_claimed;         /* io_uring reads armed only by the thread that called
	                                 * shim_reads_claim (the engine thread) or took them
	                                 * over (netdev_rx_claim), never at open */
	void   (*arm_wake)(void);       /* with reads_claimed: wake the shim_reads_claim thread,
	                                 * from another thread that found a read ended (it
	                                 * cannot arm one; the device's own fd will not signal
	                                 * until someone has): it arms, or takes the reads back
	                                 * (netdev_rx_claim without force) */
};

/* The calling thread becomes the one that arms a device's io_uring reads by
 * default (devices opened with opts.reads_claimed). io_uring delivers a
 * read's completion as task work of the thread that submitted it: an
 * application thread is interrupted for every frame (or, with COOP_TASKRUN,
 * holds the frames while it computes); the engine thread only sleeps or runs
 * the stack. A thread that keeps waiting for frames takes them over with
 * netdev_rx_claim (stack/netdev.h): then a frame wakes only it. */
void shim_reads_claim(void);

/* TAP (tap.c): attach to an existing TAP interface by name. The device gets
 * the offloads in o->offloads if the kernel and the packet pools allow
 * (dev->features says). */
struct netdev *tapdev_open(const char *ifname, const struct shim_opts *o, int *err);
struct netdev *tapdev_adopt(int fd, const char *ifname, const struct shim_opts *o, int *err);

/* AF_PACKET (packet.c): a raw socket bound to an Ethernet interface (a veth
 * end), PACKET_VNET_HDR for the same offloads as the TAP. The kernel must not
 * have the stack's address on that interface. NULL with *err = -errno:
 * -ENODEV no such interface, -EPERM no CAP_NET_RAW. */
struct netdev *packetdev_open(const char *ifname, const struct shim_opts *o, int *err);
struct netdev *packetdev_adopt(int fd, const char *ifname, const struct shim_opts *o, int *err);

/* pcap middleware (pcap.c): every frame sent and received through `lower`
 * is also written to `path` (libpcap pcap_dump, DLT_EN10MB). */
struct netdev *pcapdev_wrap(struct netdev *lower, const char *path, int *err);

/* Fault injection (impair.c, impair_spec.c): NSTACK_IMPAIR. Seeded loss,
 * duplication, reordering, corruption, delay with jitter and a rate limit on
 * the frames between the stack and `lower`, in each direction independently:
 * "loss=0.01,dir=tx;delay_us=500,jitter_us=100,rate_mbit=100,dir=rx". */
#define IMPAIR_TX   1
#define IMPAIR_RX   2
#define IMPAIR_BOTH 3
#define IMPAIR_DELAY_MAX_US 10000000ull
struct impair_spec {
	unsigned loss_ppm, dup_ppm, reorder_ppm, corrupt_ppm;   /* parts per million per frame */
	uint64_t delay_us;
	uint64_t jitter_us;     /* each frame's delay drawn in [delay - jitter, delay + jitter], >= 0 */
	double   rate_bps;      /* serialisation rate, bits/s (24 bytes of framing per frame); 0: none */
	uint64_t seed;
	int      dir;           /* IMPAIR_TX, IMPAIR_RX or IMPAIR_BOTH */
};
struct impair_stats {
	uint64_t tx_lost, tx_dup, tx_reordered, tx_corrupted, tx_delayed;
	uint64_t rx_lost, rx_dup, rx_reordered, rx_corrupted, rx_delayed;
	uint64_t overflow;      /* frames dropped: delay queue full */
};
/* "loss=0.05,dup=0.01,...": 0, or -EINVAL with the bad item copied to bad. */
int            impair_parse(const char *spec, struct impair_spec *out, char *bad, size_t bad_len);
/* NSTACK_IMPAIR: one spec, or several separated by ';', each for the
 * directions its dir= names (a later one wins); a direction no part names is
 * not impaired (its spec has dir without that bit). */
int            impair_parse_dirs(const char *spec, struct impair_spec *tx, struct impair_spec *rx,
				 char *bad, size_t bad_len);
/* Wrap lower; on success the wrapper owns lower. NULL with *err on failure
 * (lower left open). The tx lane follows tx if tx->dir has IMPAIR_TX, the rx
 * lane rx if rx->dir has IMPAIR_RX. impairdev_wrap(l, s, e) is
 * impairdev_wrap_dirs(l, s, s, e). */
struct netdev *impairdev_wrap_dirs(struct netdev *lower, const struct impair_spec *tx,
				   const struct impair_spec *rx, int *err);
struct netdev *impairdev_wrap(struct netdev *lower, const struct impair_spec *spec, int *err);
/* Counters of the impairment device im (impairdev_wrap's result, or
 * shim_dev.impair); -ENODEV if im is NULL. */
int            impairdev_stats(const struct netdev *im, struct impair_stats *out);

/* Device assembly (dev.c): the device a configuration names, with its
 * middleware: the backend (TAP, AF_PACKET or the in-process loop), the
 * impairment next to it, the pcap capture above that, so the capture shows
 * what the stack sent (a frame lost on the way, then its retransmission). */
#define SHIM_DEV_AUTO   0       /* only in the configuration: TAP on a TAP, else AF_PACKET */
#define SHIM_DEV_TAP    1
#define SHIM_DEV_PACKET 2
#define SHIM_DEV_LOOP   3       /* NSTACK_IF=lo: memdev_loop */
struct shim_dev_spec {
	const char        *ifname;
	int                kind;        /* SHIM_DEV_TAP, _PACKET or _LOOP */
	struct shim_opts   opts;
	bool               have_mac;    /* mac replaces the device's derived one */
	uint8_t            mac[6];
	bool               impair;      /* wrap in impairdev_wrap_dirs(impair_tx, impair_rx) */
	struct impair_spec impair_tx, impair_rx;
	const char        *pcap;        /* capture file, or NULL */
	bool               adopt;       /* drive adopt_fd, a TAP fd / AF_PACKET socket another
	                                 * process of the stack set up, instead of opening */
	int                adopt_fd;
};
struct shim_dev {
	struct netdev *dev;             /* the top of the chain: what the stack drives */
	struct netdev *impair;          /* the impairment layer in it (impairdev_stats), or NULL */
};
/* Which part failed, for the caller's message. */
#define SHIM_FAIL_DEV    1
#define SHIM_FAIL_IMPAIR 2
#define SHIM_FAIL_PCAP   3
/* Open and stack the devices of spec into *out: 0, or -errno with *fail set
 * to the part that failed (nothing left open). */
int            shim_dev_open(const struct shim_dev_spec *spec, struct shim_dev *out, int *fail);

/* In a fork() child: its own device chain in place of the one it inherited
 * (shim_dev_open's, copied by fork). Same kind, name, MAC, MTU, offloads
 * and middleware; the TAP fd or AF_PACKET socket is the inherited one (the
 * same open file as the parent's: each frame goes to one reader), driven
 * through a new io_uring instance of this process (a ring belongs to the
 * task that created it), with new provided buffers from the packet pool and
 * reads armed as at open (opts.reads_claimed: by the shim_reads_claim
 * thread). The pcap layer captures to "<path>.<pid>"; the impairment layer
 * starts afresh from its specs, the seed mixed with the pid; a loop device
 * starts empty. The inherited chain is abandoned (shim_dev_abandon), on
 * success and on failure: never use it again. NULL with *err = -errno on
 * failure (-EOPNOTSUPP: a memdev_pair end). */
struct netdev *shim_dev_fork(struct netdev *inherited, int *err);
/* In a fork() child: let go of an inherited chain without touching what
 * the parent uses: only this process's copies of the structs (freed), of
 * the fds (closed: the TAP fd, the ring's, timerfd, epoll fd,
 * the capture file without flushing the parent's unwritten records) and of
 * the ring mappings (unmapped) go. The parent's io_uring requests, its
 * packets (provided buffers, writes in flight, queued, delayed frames) and
 * its timers are left alone. NULL is a no-op. */
void           shim_dev_abandon(struct netdev *inherited);
/* The TAP fd or AF_PACKET socket under a chain, -1 for a memory device. */
int            shim_dev_fd(struct netdev *top);
/* The impairment layer of a chain (as shim_dev.impair), or NULL. */
struct netdev *shim_dev_impair(struct netdev *top);

#endif
