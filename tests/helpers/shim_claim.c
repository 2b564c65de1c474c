/* shim_claim: the device's reads follow the thread that waits for them, and
 * come back to the engine when that thread is gone. For tests/e2e/dev_fork.bats.
 *
 *   shim_claim IFNAME [FRAMES=300]
 *
 * The engine's arrangement (opts.reads_claimed): main plays the engine (it
 * called shim_reads_claim and arms the first multishot read). A second
 * thread takes the reads over (netdev_rx_claim, force: main's read is
 * cancelled, its own armed), then receives FRAMES frames of a local
 * experimental EtherType (0x88b5) sent into the TAP through an AF_PACKET
 * socket, sleeping on the device's fd between passes as a token holder does.
 * It exits; the read it armed dies with it (the kernel ends it, -ECANCELED,
 * when the next frame comes). main sends FRAMES more, sleeps as the engine
 * sleeps (its kick fd and the device's fd), must be asked to arm within 2 s
 * (opts.arm_wake, from its own reap of that end), takes the reads back
 * (netdev_rx_claim without force) and receives every frame.
 *
 * Prints "claimed", "thread received N of FRAMES", "woken", then "received
 * N of FRAMES" and the device counters. Exit status: 0 all came; 1 setup or
 * usage; 2 the takeover failed; 3 main was never asked to arm (the reads
 * stay dead: a receive stall); 4 frames missing. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "shim/shim.h"

#define ETYPE 0x88b5
#define FLEN  60

static int kick_fd = -1, ps = -1;
static unsigned wakes, frames;
static struct netdev *dev;
static unsigned got;
static struct sockaddr_ll ll;

static void arm_wake(void)
{
	uint64_t one = 1;

	wakes++;
	if (write(kick_fd, &one, sizeof(one)) != sizeof(one))
		perror("shim_claim: kick");
}

static void take(void)
{
	struct pkt *p[64];
	int n, i;

	while ((n = netdev_recv(dev, p, 64)) > 0)
		for (i = 0; i < n; i++) {
			if (p[i]->len >= 14 && p[i]->data[12] == (ETYPE >> 8) &&
			    p[i]->data[13] == (ETYPE & 0xff))
				got++;
			pkt_free(p[i]);
		}
}

static int send_frames(unsigned n)
{
	uint8_t f[FLEN] = { 0 };

	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x5e\x00\x00\x01", 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	for (unsigned i = 0; i < n; i++) {
		memcpy(f + 14, &i, sizeof(i));
		if (sendto(ps, f, FLEN, 0, (struct sockaddr *)&ll, sizeof(ll)) != FLEN) {
			perror("shim_claim: send");
			return -1;
		}
	}
	return 0;
}

/* Receive until want frames came or 2 s passed: a pass, then a sleep on the
 * device's fd (wait_prepare first), as a thread holding the token does. */
static void receive(unsigned want)
{
	for (int round = 0; round < 40 && got < want; round++) {
		take();
		struct pollfd pd = { netdev_wait_fd(dev), POLLIN, 0 };
		if (netdev_wait_prepare(dev) > 0)
			continue;
		(void)poll(&pd, 1, 50);
	}
}

static int thread_rc;

static void *waiter(void *arg)
{
	(void)arg;
	if (netdev_rx_claim(dev, 1) != 0 || dev->stat.rx_claims != 1) {
		thread_rc = 2;
		return NULL;
	}
	printf("claimed\n");
	if (send_frames(frames) < 0) {
		thread_rc = 1;
		return NULL;
	}
	receive(frames);
	printf("thread received %u of %u\n", got, frames);
	thread_rc = got == frames ? 0 : 4;
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct shim_dev_spec spec = { 0 };
	struct shim_dev sd;
	int fail, err;
	pthread_t th;

	frames = argc > 2 ? (unsigned)atoi(argv[2]) : 300;
	if (argc < 2 || argc > 3 || !frames || frames > 900) {
		fprintf(stderr, "usage: shim_claim IFNAME [FRAMES <= 900]\n");
		return 1;
	}
	if (pkt_pool_init(2048) < 0 || (kick_fd = eventfd(0, EFD_NONBLOCK)) < 0) {
		fprintf(stderr, "shim_claim: packet pool or eventfd\n");
		return 1;
	}
	spec.ifname = argv[1];
	spec.kind = SHIM_DEV_TAP;
	spec.opts.log = true;
	spec.opts.reads_claimed = true;
	spec.opts.arm_wake = arm_wake;
	shim_reads_claim();
	if ((err = shim_dev_open(&spec, &sd, &fail)) < 0) {
		fprintf(stderr, "shim_claim: open %s (part %d): %s\n", argv[1], fail, strerror(-err));
		return 1;
	}
	dev = sd.dev;
	take();                         /* main arms the first read */
	ll = (struct sockaddr_ll){ .sll_family = AF_PACKET, .sll_protocol = htons(ETYPE),
				   .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6 };
	memset(ll.sll_addr, 0xff, 6);
	if ((ps = socket(AF_PACKET, SOCK_RAW, htons(ETYPE))) < 0 || !ll.sll_ifindex) {
		perror("shim_claim: packet socket");
		return 1;
	}

	if (pthread_create(&th, NULL, waiter, NULL) || pthread_join(th, NULL))
		return 1;
	if (thread_rc)
		return thread_rc;

	/* the thread is gone, and so is its read, once a frame comes */
	got = 0;
	if (send_frames(frames) < 0)
		return 1;
	sleep_ms(100);
	struct pollfd pk[2] = { { kick_fd, POLLIN, 0 }, { netdev_wait_fd(dev), POLLIN, 0 } };
	for (int i = 0; i < 40 && !wakes; i++) {
		if (netdev_wait_prepare(dev) > 0) {
			take();         /* the dead read's end: not ours to re-arm, so ask */
			continue;
		}
		(void)poll(pk, 2, 50);
	}
	if (!wakes) {
		printf("never asked to arm: received %u of %u, reads armed %u\n", got, frames,
		       dev->stat.rx_armed);
		return 3;
	}
	printf("woken\n");
	uint64_t v;
	(void)!read(kick_fd, &v, sizeof(v));
	if (netdev_rx_claim(dev, 0) != 0) {
		printf("could not take the reads back\n");
		return 2;
	}
	receive(frames);
	printf("received %u of %u; wakes %u, claims %llu, rearms %llu, armed %u\n", got, frames,
	       wakes, (unsigned long long)dev->stat.rx_claims,
	       (unsigned long long)dev->stat.rx_rearms, dev->stat.rx_armed);
	netdev_close(dev);
	return got == frames ? 0 : 4;
}
