/* impair_bridge: forward Ethernet frames between two interfaces through AF_PACKET sockets,
 * impairing each direction on the way (what netem does on a qdisc, which this machine does
 * not have). The lossy lab (tests/e2e/lib.bash lab_up_bridge) puts it between a kernel
 * server and either nstack (on a TAP) or a kernel client (on a veth), so both clients see
 * the same bad link.
 *
 *   impair_bridge --a IF --b IF [--ab SPEC] [--ba SPEC] [--both SPEC]
 *                 [--timeout SEC] [--stats FILE]
 *
 * SPEC is an NSTACK_IMPAIR specification (shim/impair_spec.c parses it: loss, dup,
 * reorder, corrupt, delay_us, jitter_us (uniform in [-N, +N] µs around the delay, clamped
 * at 0), rate_mbit (frames serialised at X Mbit/s, queueing behind each other), seed)
 * plus keys only the bridge knows:
 *   limit=N           frames held per direction (default 10000); beyond: tail drop
 *   reorder_gap_us=N  how late a reordered frame comes (default 1000)
 * --both gives both directions the same SPEC; the b->a seed is derived from it so the two
 * directions do not lose the same frame numbers.
 *
 * Corruption flips one byte (XOR with a non-zero value) inside the IP datagram, never in
 * the Ethernet header and never in a frame that is neither IPv4 nor IPv6 (an ARP reply with
 * a flipped MAC would poison a cache, which no real link with an FCS does): a checksum of
 * the receiver must catch it. IPv4: any byte of the datagram (the header checksum covers
 * the header, the TCP/UDP/ICMP checksum the rest). IPv6 has no header checksum (RFC 8200
 * leaves it to the link and the upper layer), so the byte is taken from the source address
 * on (offset 8 of the fixed header to the end of the payload): the addresses are in the
 * upper layer's pseudo-header, the payload under its checksum. The first 8 bytes are left
 * alone: version, traffic class, flow label and hop limit are covered by no checksum (a flip
 * there would be a corrupted frame no receiver can catch), and payload length and next
 * header only through the pseudo-header, after they have steered the parse. A single
 * changed byte always changes the Internet checksum.
 * Duplication copies a frame after its fate is decided, so `corrupted` counts the corrupted
 * frames sent, copies included.
 *
 * Offloads must be off on both interfaces (ethtool -K IF tso off gso off gro off tx off ...)
 * so every frame fits the MTU; a larger frame is dropped and counted (too_big).
 *
 * Exit: SIGTERM/SIGINT or --timeout; counters go to stderr and, with --stats, to FILE as
 * JSON (also written on SIGUSR1 while running). "impair_bridge: ready" on stderr once both
 * sockets are bound. Exit status 0, or 2 on a usage or setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "shim/shim.h"
#include "stack/splitmix64.h"

#define FRAME_MAX     2048       /* larger than any MTU-sized frame (1514 + VLAN) */
#define BATCH         32
#define LIMIT_DEFAULT 10000u
#define GAP_DEFAULT   1000u

struct frame {
	uint64_t at;             /* release time, CLOCK_MONOTONIC µs */
	uint64_t seq;            /* arrival order: equal release times keep it */
	uint16_t len;
	uint8_t  data[];
};

struct lane_stat {
	uint64_t rx, rx_bytes, tx, tx_bytes, lost, dup, reordered, corrupted, delayed,
		 overflow, too_big, tx_err, left;
};

/* One direction: frames read from `in` wait in a min-heap by release time, then go out. */
struct lane {
	const char     *name;
	int             in, out;             /* socket fds */
	struct impair_spec sp;
	uint64_t        jitter_us, gap_us, limit;
	double          rate_bps;            /* 0: unlimited */
	uint64_t        link_free_at;        /* rate limit: when the last frame has left */
	uint64_t        rng, seq;
	struct frame  **heap;
	uint64_t        n;
	struct lane_stat st;
};

static volatile sig_atomic_t stop_sig, dump_sig;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump_sig = 1;
	else
		stop_sig = sig;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* the seeded source of every decision of a lane, as in shim/impair.c */
static uint64_t lane_rand(struct lane *l)
{
	return splitmix64(&l->rng);
}

static int lane_chance(struct lane *l, unsigned ppm)
{
	return ppm && lane_rand(l) % 1000000 < ppm;
}

/* ---- the heap of held frames, ordered by (at, seq) ------------------------------------ */

static int frame_before(const struct frame *x, const struct frame *y)
{
	return x->at < y->at || (x->at == y->at && x->seq < y->seq);
}

static void heap_push(struct lane *l, struct frame *f)
{
	uint64_t i = l->n++;
	while (i > 0) {
		uint64_t up = (i - 1) / 2;
		if (!frame_before(f, l->heap[up]))
			break;
		l->heap[i] = l->heap[up];
		i = up;
	}
	l->heap[i] = f;
}

static struct frame *heap_pop(struct lane *l)
{
	struct frame *top = l->heap[0], *last = l->heap[--l->n];
	uint64_t i = 0;
	for (;;) {
		uint64_t c = 2 * i + 1;
		if (c >= l->n)
			break;
		if (c + 1 < l->n && frame_before(l->heap[c + 1], l->heap[c]))
			c++;
		if (!frame_before(l->heap[c], last))
			break;
		l->heap[i] = l->heap[c];
		i = c;
	}
	if (l->n)
		l->heap[i] = last;
	return top;
}

/* ---- one frame's fate ------------------------------------------------------------------ */

/* Flip one byte of the IP datagram in f, within its length: IPv4 anywhere, IPv6 from the
 * source address on (see the top of the file). Returns 0 for a frame that is neither. */
static int frame_corrupt(struct lane *l, struct frame *f)
{
	unsigned first, len, avail = f->len > ETH_HLEN ? f->len - ETH_HLEN : 0;
	uint16_t type = (uint16_t)(f->data[12] << 8 | f->data[13]);
	if (type == ETH_P_IP && avail >= 20) {
		len = (unsigned)f->data[ETH_HLEN + 2] << 8 | f->data[ETH_HLEN + 3];
		if (len < 20 || len > avail)
			len = avail;
		first = 0;
	} else if (type == ETH_P_IPV6 && avail >= 40) {
		len = 40 + ((unsigned)f->data[ETH_HLEN + 4] << 8 | f->data[ETH_HLEN + 5]);
		if (len > avail)
			len = avail;
		first = 8;
	} else {
		return 0;
	}
	uint64_t r = lane_rand(l);
	unsigned off = ETH_HLEN + first + (unsigned)(r % (len - first));
	uint8_t x = (uint8_t)(r >> 32);
	f->data[off] ^= x ? x : 0xff;
	return 1;
}

/* Hold f in lane l; it goes out at `at`. Tail drop beyond the limit. Owns f. */
static void lane_hold(struct lane *l, struct frame *f, uint64_t at)
{
	if (l->n >= l->limit) {
		l->st.overflow++;
		free(f);
		return;
	}
	f->at = at;
	f->seq = l->seq++;
	heap_push(l, f);
}

/* Serialisation at rate_bps: a frame leaves once the one before it has left. */
static uint64_t lane_rate(struct lane *l, uint64_t at, unsigned len)
{
	if (l->rate_bps <= 0)
		return at;
	if (l->link_free_at > at)
		at = l->link_free_at;
	/* 20 bytes of preamble, SFD and inter-frame gap, 4 of FCS: what a wire carries */
	at += (uint64_t)((len + 24) * 8.0 * 1e6 / l->rate_bps);
	l->link_free_at = at;
	return at;
}

/* Decide the fate of a frame just read (buf, len) at `now`. */
static void lane_enter(struct lane *l, const uint8_t *buf, unsigned len, uint64_t now)
{
	l->st.rx++;
	l->st.rx_bytes += len;
	if (len > FRAME_MAX - 64) {
		l->st.too_big++;
		return;
	}
	if (lane_chance(l, l->sp.loss_ppm)) {
		l->st.lost++;
		return;
	}
	struct frame *f = malloc(sizeof(*f) + len);
	if (!f) {
		l->st.overflow++;
		return;
	}
	f->len = (uint16_t)len;
	memcpy(f->data, buf, len);
	int bad = lane_chance(l, l->sp.corrupt_ppm) && frame_corrupt(l, f);
	l->st.corrupted += bad;
	uint64_t at = now + l->sp.delay_us;
	if (l->jitter_us) {
		int64_t j = (int64_t)(lane_rand(l) % (2 * l->jitter_us + 1)) - (int64_t)l->jitter_us;
		at = (j < 0 && (uint64_t)-j > at - now) ? now : at + (uint64_t)j;
	}
	if (at > now)
		l->st.delayed++;
	if (lane_chance(l, l->sp.dup_ppm)) {
		struct frame *c = malloc(sizeof(*c) + len);
		if (c) {
			memcpy(c, f, sizeof(*c) + len);
			l->st.dup++;
			l->st.corrupted += bad;   /* counts corrupted copies sent */
			lane_hold(l, c, lane_rate(l, at, len));
		}
	}
	if (lane_chance(l, l->sp.reorder_ppm)) {
		l->st.reordered++;
		at += l->gap_us;
		lane_hold(l, f, at);   /* a late frame does not hold up the ones behind it */
		return;
	}
	lane_hold(l, f, lane_rate(l, at, len));
}

/* ---- sockets ---------------------------------------------------------------------------- */

static int packet_open(const char *ifname)
{
	int ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "impair_bridge: no interface %s\n", ifname);
		return -1;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("impair_bridge: socket(AF_PACKET)");
		return -1;
	}
	int one = 1, big = 8 << 20;
	/* our own transmissions on this interface are not input */
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		perror("impair_bridge: PACKET_IGNORE_OUTGOING");
		close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex,
	};
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("impair_bridge: bind");
		close(fd);
		return -1;
	}
	/* frames for the MAC on the other side are not addressed to this interface */
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		perror("impair_bridge: PACKET_MR_PROMISC");
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what lane l's input socket has (bounded batches, never blocks). */
static void lane_read(struct lane *l)
{
	static uint8_t bufs[BATCH][FRAME_MAX];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], FRAME_MAX };
			mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		int n = recvmmsg(l->in, mm, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
		if (n <= 0)
			return;
		uint64_t now = now_us();
		for (int i = 0; i < n; i++)
			lane_enter(l, bufs[i], mm[i].msg_len, now);
		if (n < BATCH)
			return;
	}
}

/* Send every frame of lane l due at `now`, in batches. */
static void lane_release(struct lane *l, uint64_t now)
{
	struct frame *f[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	while (l->n && l->heap[0]->at <= now) {
		int k = 0;
		while (k < BATCH && l->n && l->heap[0]->at <= now) {
			f[k] = heap_pop(l);
			iov[k] = (struct iovec){ f[k]->data, f[k]->len };
			mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
			k++;
		}
		int done = 0;
		while (done < k) {
			int r = sendmmsg(l->out, mm + done, (unsigned)(k - done), 0);
			if (r > 0) {
				for (int i = done; i < done + r; i++) {
					l->st.tx++;
					l->st.tx_bytes += f[i]->len;
				}
				done += r;
			} else if (r < 0 && errno == EINTR) {
				continue;
			} else {
				l->st.tx_err++;   /* this frame is lost; the rest go on */
				done++;
			}
		}
		for (int i = 0; i < k; i++)
			free(f[i]);
	}
}

/* ---- specification --------------------------------------------------------------------- */

static int parse_u64(const char *v, uint64_t *out)
{
	char *end;
	if (!*v || *v == '-')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 0);
	if (*end || errno)
		return -1;
	*out = x;
	return 0;
}

/* SPEC into lane l: the bridge's own keys here, the rest by impair_parse(). 0 or -1. */
static int lane_spec(struct lane *l, const char *spec)
{
	char buf[512], rest[512] = "";
	if (strlen(spec) >= sizeof(buf)) {
		fprintf(stderr, "impair_bridge: specification too long\n");
		return -1;
	}
	strcpy(buf, spec);
	l->limit = LIMIT_DEFAULT;
	l->gap_us = GAP_DEFAULT;
	for (char *save = NULL, *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(it, '=');
		const char *v = eq ? eq + 1 : "";
		size_t klen = eq ? (size_t)(eq - it) : strlen(it);
		int r = 0, own = 1;
		if (klen == 14 && !strncmp(it, "reorder_gap_us", klen))
			r = parse_u64(v, &l->gap_us) || l->gap_us > IMPAIR_DELAY_MAX_US;
		else if (klen == 5 && !strncmp(it, "limit", klen))
			r = parse_u64(v, &l->limit) || !l->limit || l->limit > 1000000;
		else if (klen == 3 && !strncmp(it, "dir", klen)) {
			r = 1;   /* a bridge lane is one direction already: --ab / --ba */
		} else {
			own = 0;
		}
		if (r) {
			fprintf(stderr, "impair_bridge: bad item '%s' in '%s'\n", it, spec);
			return -1;
		}
		if (!own) {
			if (*rest)
				strcat(rest, ",");
			strcat(rest, it);
		}
	}
	char bad[128];
	if (impair_parse(rest, &l->sp, bad, sizeof(bad)) < 0) {
		fprintf(stderr, "impair_bridge: bad item '%s' in '%s'\n", bad, spec);
		return -1;
	}
	l->rng = l->sp.seed;
	l->jitter_us = l->sp.jitter_us;
	l->rate_bps = l->sp.rate_bps;
	l->heap = calloc(l->limit, sizeof(*l->heap));
	if (!l->heap) {
		fprintf(stderr, "impair_bridge: out of memory\n");
		return -1;
	}
	return 0;
}

/* ---- counters --------------------------------------------------------------------------- */

#define LANE_FIELDS(X) X(rx) X(rx_bytes) X(tx) X(tx_bytes) X(lost) X(dup) X(reordered) \
	X(corrupted) X(delayed) X(overflow) X(too_big) X(tx_err) X(left)

static void lane_print(FILE *o, const struct lane *l, int json)
{
	const char *sep = "";
	if (json)
		fprintf(o, "\"%s\": {", l->name);
	else
		fprintf(o, "impair_bridge: %s", l->name);
#define X(f) \
	fprintf(o, json ? "%s\"" #f "\": %llu" : "%s " #f "=%llu", sep, (unsigned long long)l->st.f); \
	sep = json ? ", " : "";
	LANE_FIELDS(X)
#undef X
	fprintf(o, json ? "}" : "\n");
}

static void stats_write(const char *path, struct lane *ab, struct lane *ba)
{
	if (!path)
		return;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *o = fopen(tmp, "w");
	if (!o)
		return;
	fprintf(o, "{");
	lane_print(o, ab, 1);
	fprintf(o, ", ");
	lane_print(o, ba, 1);
	fprintf(o, "}\n");
	if (fclose(o) == 0)
		rename(tmp, path);   /* a reader never sees half a file */
}

static void usage(void)
{
	fprintf(stderr, "usage: impair_bridge --a IF --b IF [--ab SPEC] [--ba SPEC] [--both SPEC]"
			" [--timeout SEC] [--stats FILE]\n");
}

int main(int argc, char **argv)
{
	const char *ifa = NULL, *ifb = NULL, *spec_ab = "", *spec_ba = "", *stats = NULL;
	int both = 0;
	uint64_t timeout_s = 3600;
	static const struct option opts[] = {
		{ "a", required_argument, 0, 'a' },     { "b", required_argument, 0, 'b' },
		{ "ab", required_argument, 0, 'x' },    { "ba", required_argument, 0, 'y' },
		{ "both", required_argument, 0, 'B' },  { "timeout", required_argument, 0, 't' },
		{ "stats", required_argument, 0, 's' }, { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': ifa = optarg; break;
		case 'b': ifb = optarg; break;
		case 'x': spec_ab = optarg; break;
		case 'y': spec_ba = optarg; break;
		case 'B': spec_ab = spec_ba = optarg; both = 1; break;
		case 't':
			if (parse_u64(optarg, &timeout_s) || !timeout_s) {
				usage();
				return 2;
			}
			break;
		case 's': stats = optarg; break;
		default: usage(); return 2;
		}
	}
	if (!ifa || !ifb || optind != argc) {
		usage();
		return 2;
	}
	struct lane ab = { .name = "a_to_b" }, ba = { .name = "b_to_a" };
	if (lane_spec(&ab, spec_ab) < 0 || lane_spec(&ba, spec_ba) < 0)
		return 2;
	if (both)
		ba.rng = ab.sp.seed ^ 0x5bd1e995a5a5a5a5ull;

	/* The stop signals are delivered only inside ppoll: no frame is half handled. */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGUSR1);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	int fa = packet_open(ifa), fb = fa >= 0 ? packet_open(ifb) : -1;
	if (fa < 0 || fb < 0)
		return 2;
	ab.in = fa, ab.out = fb;
	ba.in = fb, ba.out = fa;
	fprintf(stderr, "impair_bridge: ready %s <-> %s\n", ifa, ifb);

	uint64_t end = now_us() + timeout_s * 1000000u;
	int timed_out = 0;
	while (!stop_sig) {
		uint64_t now = now_us();
		if (now >= end) {
			timed_out = 1;
			break;
		}
		uint64_t next = end;
		if (ab.n && ab.heap[0]->at < next)
			next = ab.heap[0]->at;
		if (ba.n && ba.heap[0]->at < next)
			next = ba.heap[0]->at;
		uint64_t wait = next > now ? next - now : 0;
		struct timespec ts = { (time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000 };
		struct pollfd pf[2] = { { fa, POLLIN, 0 }, { fb, POLLIN, 0 } };
		int r = ppoll(pf, 2, &ts, &waitmask);
		if (dump_sig) {
			dump_sig = 0;
			stats_write(stats, &ab, &ba);
		}
		if (r > 0) {
			if (pf[0].revents & POLLIN)
				lane_read(&ab);
			if (pf[1].revents & POLLIN)
				lane_read(&ba);
			if ((pf[0].revents | pf[1].revents) & POLLNVAL)
				break;
			/* a pending socket error (ENETDOWN while an end is down) is
			 * taken and forgotten: the link comes back, the bridge goes on */
			for (int i = 0; i < 2; i++) {
				int e;
				socklen_t el = sizeof(e);
				if (pf[i].revents & POLLERR)
					getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &e, &el);
			}
		}
		now = now_us();
		lane_release(&ab, now);
		lane_release(&ba, now);
	}
	ab.st.left = ab.n;
	ba.st.left = ba.n;
	while (ab.n)
		free(heap_pop(&ab));
	while (ba.n)
		free(heap_pop(&ba));
	if (timed_out)
		fprintf(stderr, "impair_bridge: --timeout reached\n");
	lane_print(stderr, &ab, 0);
	lane_print(stderr, &ba, 0);
	stats_write(stats, &ab, &ba);
	free(ab.heap);
	free(ba.heap);
	close(fa);
	close(fb);
	return 0;
}
