/* shim_rearm: a read that ends in another thread is armed again by the claimer.
 * For tests/e2e/dev_fork.bats.
 *
 *   shim_rearm IFNAME [FRAMES=600]
 *
 * The engine's arrangement (opts.reads_claimed): only the claiming thread (here
 * main) arms the device's reads; any thread may reap their completions. This
 * helper opens the TAP IFNAME that way, arms the multishot read, then floods the
 * TAP with FRAMES frames of a local experimental EtherType (0x88b5) through an
 * AF_PACKET socket on the interface, while nobody reaps: the provided buffers
 * run dry and the multishot read ends (-ENOBUFS). A second thread then does
 * what an application thread about to block does (the device's wait_prepare:
 * the device's fd cleared) and reaps that end. It cannot arm the next read;
 * the claimer, asleep as the engine sleeps (its own kick fd and the device's
 * fd), must be woken within 2 s (opts.arm_wake), arm the read again, and then
 * receive every frame the kernel still holds.
 *
 * Prints "woken", then "received N of FRAMES" and the device counters.
 * Exit status: 0 every frame came; 1 setup or usage; 3 the claimer was
 * never woken (the read stays unarmed: the stall this guards against);
 * 4 frames missing. */
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

static int kick_fd = -1;
static unsigned wakes;
static struct netdev *dev;
static unsigned got;

static void arm_wake(void)
{
	uint64_t one = 1;

	wakes++;
	if (write(kick_fd, &one, sizeof(one)) != sizeof(one))
		perror("shim_rearm: kick");
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

/* The application thread: about to sleep, it clears the device's fd and
 * reaps what is there, the read's end included. */
static void *app(void *arg)
{
	(void)arg;
	if (netdev_wait_prepare(dev) > 0)
		take();
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
	unsigned frames = argc > 2 ? (unsigned)atoi(argv[2]) : 600, i;
	int fail, err, ps;
	pthread_t th;

	if (argc < 2 || argc > 3 || !frames) {
		fprintf(stderr, "usage: shim_rearm IFNAME [FRAMES]\n");
		return 1;
	}
	if (pkt_pool_init(2048) < 0 || (kick_fd = eventfd(0, EFD_NONBLOCK)) < 0) {
		fprintf(stderr, "shim_rearm: packet pool or eventfd\n");
		return 1;
	}
	spec.ifname = argv[1];
	spec.kind = SHIM_DEV_TAP;
	spec.opts.log = true;
	spec.opts.reads_claimed = true;
	spec.opts.arm_wake = arm_wake;
	shim_reads_claim();
	if ((err = shim_dev_open(&spec, &sd, &fail)) < 0) {
		fprintf(stderr, "shim_rearm: open %s (part %d): %s\n", argv[1], fail, strerror(-err));
		return 1;
	}
	dev = sd.dev;
	take();                         /* the claimer arms the read */

	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETYPE),
				  .sll_ifindex = (int)if_nametoindex(argv[1]), .sll_halen = 6 };
	uint8_t f[FLEN] = { 0 };

	memset(ll.sll_addr, 0xff, 6);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x5e\x00\x00\x01", 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	if ((ps = socket(AF_PACKET, SOCK_RAW, htons(ETYPE))) < 0 || !ll.sll_ifindex) {
		perror("shim_rearm: packet socket");
		return 1;
	}
	for (i = 0; i < frames; i++) {
		memcpy(f + 14, &i, sizeof(i));
		if (sendto(ps, f, FLEN, 0, (struct sockaddr *)&ll, sizeof(ll)) != FLEN) {
			perror("shim_rearm: send");
			return 1;
		}
	}
	sleep_ms(200);                  /* the kernel fills every buffer; the read ends */

	if (pthread_create(&th, NULL, app, NULL) || pthread_join(th, NULL))
		return 1;

	/* asleep as the engine sleeps: its kick fd and the device's fd */
	struct pollfd pk[2] = { { kick_fd, POLLIN, 0 }, { netdev_wait_fd(dev), POLLIN, 0 } };
	if (poll(pk, 2, 2000) < 1) {
		printf("never woken: received %u of %u, reads armed %u\n", got, frames,
		       dev->stat.rx_armed);
		return 3;
	}
	printf("woken\n");
	uint64_t v;
	(void)!read(kick_fd, &v, sizeof(v));
	for (int round = 0; round < 40 && got < frames; round++) {
		take();                 /* arms the read again, then takes frames */
		struct pollfd pd = { netdev_wait_fd(dev), POLLIN, 0 };
		if (netdev_wait_prepare(dev) > 0)
			continue;
		(void)poll(&pd, 1, 50);
	}
	printf("received %u of %u; wakes %u, rearms %llu, nobuf %llu, armed %u\n", got, frames,
	       wakes, (unsigned long long)dev->stat.rx_rearms,
	       (unsigned long long)dev->stat.rx_nobuf, dev->stat.rx_armed);
	netdev_close(dev);
	return got == frames ? 0 : 4;
}
