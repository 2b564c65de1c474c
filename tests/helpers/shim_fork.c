/* shim_fork: a fork() child takes over a real device with shim_dev_fork.
 * For tests/e2e/dev_fork.bats.
 *
 *   shim_fork tap|packet IFNAME OUR_ADDR PEER_ADDR [PCAP]
 *
 * Opens IFNAME the way preload's engine does (shim_dev_open with a spec:
 * offloads asked for, reads armed by the claiming thread, optional pcap
 * capture), then forks. The parent closes its device (its reads cancelled,
 * its fd closed; the child's fd keeps the TAP attached / the socket open),
 * tells the child, prints "child PID" and waits. The child calls
 * shim_dev_fork, then asks "who-has PEER_ADDR tell OUR_ADDR" (every 300 ms)
 * on its new device until the kernel's ARP reply to our MAC comes back
 * (at most 5 s), and prints "reply PEER_ADDR is-at MAC".
 *
 * Exit status (the child's): 0 the reply came; 1 setup or usage; 2
 * shim_dev_fork failed; 3 no word from the parent; 4 no reply in time;
 * 5 the child died. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "shim/shim.h"

#define ARP_FRAME 60

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static unsigned get16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* who-has peer tell us, from dev's MAC to broadcast */
static int arp_request(struct netdev *dev, struct in_addr us, struct in_addr peer)
{
	struct pkt *p = pkt_alloc();
	uint8_t *d;

	if (!p)
		return -1;
	d = pkt_put(p, ARP_FRAME);
	memset(d, 0, ARP_FRAME);
	memset(d, 0xff, 6);
	memcpy(d + 6, dev->mac, 6);
	put16(d + 12, 0x0806);
	put16(d + 14, 1);               /* Ethernet */
	put16(d + 16, 0x0800);          /* IPv4 */
	d[18] = 6;
	d[19] = 4;
	put16(d + 20, 1);               /* request */
	memcpy(d + 22, dev->mac, 6);
	memcpy(d + 28, &us, 4);
	memcpy(d + 38, &peer, 4);
	if (netdev_xmit(dev, &p, 1) != 1)
		return -1;
	return netdev_flush(dev);
}

/* 1 if p is "peer is-at X" sent to us */
static int arp_reply(const struct netdev *dev, const struct pkt *p, struct in_addr us,
		     struct in_addr peer)
{
	const uint8_t *d = p->data;

	if (p->len < 42 || get16(d + 12) != 0x0806 || get16(d + 20) != 2)
		return 0;
	if (memcmp(d, dev->mac, 6) || memcmp(d + 28, &peer, 4) || memcmp(d + 38, &us, 4))
		return 0;
	printf("reply %s is-at %02x:%02x:%02x:%02x:%02x:%02x\n", inet_ntoa(peer), d[22], d[23], d[24],
	       d[25], d[26], d[27]);
	return 1;
}

static int child(struct netdev *inherited, int go, struct in_addr us, struct in_addr peer)
{
	struct pollfd pf = { .fd = go, .events = POLLIN };
	struct netdev *dev;
	uint64_t start, last = 0;
	char c;
	int err = 0;

	dev = shim_dev_fork(inherited, &err);
	if (!dev) {
		fprintf(stderr, "shim_fork: shim_dev_fork: %s\n", strerror(-err));
		return 2;
	}
	/* Until the parent's reads are cancelled, a reply could go to them. */
	if (poll(&pf, 1, 5000) != 1 || read(go, &c, 1) != 1) {
		fprintf(stderr, "shim_fork: no word from the parent\n");
		return 3;
	}
	start = now_ms();
	while (now_ms() - start < 5000) {
		struct pkt *v[32];
		int n, i, found = 0;

		if (now_ms() - last >= 300) {
			if (arp_request(dev, us, peer) < 0)
				fprintf(stderr, "shim_fork: sending the request failed\n");
			last = now_ms();
		}
		pf.fd = netdev_wait_fd(dev);
		if (pf.fd >= 0)
			(void)poll(&pf, 1, 50);
		else
			usleep(50000);
		n = netdev_recv(dev, v, 32);
		for (i = 0; i < n; i++) {
			if (!found && arp_reply(dev, v[i], us, peer))
				found = 1;
			pkt_free(v[i]);
		}
		if (found) {
			fflush(stdout);
			netdev_close(dev);
			return 0;
		}
	}
	fprintf(stderr, "shim_fork: no ARP reply from %s in 5 s\n", inet_ntoa(peer));
	netdev_close(dev);
	return 4;
}

int main(int argc, char **argv)
{
	struct shim_dev_spec spec = { 0 };
	struct shim_dev sd;
	struct in_addr us, peer;
	int fail, err, go[2], st;
	pid_t pid;

	if (argc < 5 || argc > 6 || (strcmp(argv[1], "tap") && strcmp(argv[1], "packet")) ||
	    !inet_aton(argv[3], &us) || !inet_aton(argv[4], &peer)) {
		fprintf(stderr, "usage: shim_fork tap|packet IFNAME OUR_ADDR PEER_ADDR [PCAP]\n");
		return 1;
	}
	if (pkt_pool_init(2048) < 0 || pkt_pool_init_large(256) < 0) {
		fprintf(stderr, "shim_fork: packet pool\n");
		return 1;
	}
	spec.ifname = argv[2];
	spec.kind = strcmp(argv[1], "tap") ? SHIM_DEV_PACKET : SHIM_DEV_TAP;
	spec.opts.offloads = NETDEV_F_TX_CSUM | NETDEV_F_TSO | NETDEV_F_RX_CSUM | NETDEV_F_GRO;
	spec.opts.log = true;
	spec.opts.reads_claimed = true;
	spec.pcap = argc > 5 ? argv[5] : NULL;
	shim_reads_claim();             /* this thread (and the child's copy of it) arms the reads */
	err = shim_dev_open(&spec, &sd, &fail);
	if (err < 0) {
		fprintf(stderr, "shim_fork: open %s (part %d): %s\n", argv[2], fail, strerror(-err));
		return 1;
	}
	if (pipe(go) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(go[1]);
		_exit(child(sd.dev, go[0], us, peer));
	}
	close(go[0]);
	netdev_close(sd.dev);
	if (write(go[1], "g", 1) != 1)
		fprintf(stderr, "shim_fork: cannot tell the child\n");
	printf("child %d\n", (int)pid);
	fflush(stdout);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 5;
	return WEXITSTATUS(st);
}
