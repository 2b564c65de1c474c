/* shim_dev_fork / shim_dev_abandon: a fork() child takes its own device
 * chain over while the parent goes on with its own, untouched.
 *
 * Each test forks; the child reports through its _exit code (0: fine, else
 * the number of the check that failed, printed by the parent). The loop
 * device runs under the impairment and pcap middleware (shim_dev_open's
 * chain); the io_uring backend runs over a socketpair (every frame behind a
 * virtio-net header, as on a TAP), so no privileges are needed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "tests/unit/test.h"
#include "shim/shim.h"
#include "shim/uring_dev.h"

#define VNET_LEN   10
#define FRAME_LEN  60
#define ETHERTYPE  0x88b5      /* IEEE local experimental */

static char tmpdir[64];

/* A 60-byte Ethernet frame from dev's MAC to broadcast, tag in the payload. */
static struct pkt *frame(const struct netdev *dev, uint8_t tag)
{
	struct pkt *p = pkt_alloc();
	uint8_t *d;

	if (!p)
		return NULL;
	d = pkt_put(p, FRAME_LEN);
	memset(d, 0, FRAME_LEN);
	memset(d, 0xff, 6);
	memcpy(d + 6, dev->mac, 6);
	d[12] = ETHERTYPE >> 8;
	d[13] = ETHERTYPE & 0xff;
	d[14] = tag;
	return p;
}

static int is_frame(const uint8_t *d, size_t len, uint8_t tag)
{
	return len == FRAME_LEN && d[12] == (ETHERTYPE >> 8) && d[13] == (ETHERTYPE & 0xff) &&
	       d[14] == tag;
}

static int send1(struct netdev *dev, uint8_t tag)
{
	struct pkt *p = frame(dev, tag);

	if (!p || netdev_xmit(dev, &p, 1) != 1)
		return -1;
	return netdev_flush(dev);
}

/* Frames received and not yet claimed by recv_tag, by tag. */
static unsigned seen[256];

/* Receive frames on dev for up to ms milliseconds (waiting on its wait_fd
 * when it has one) until one carries tag; the others are counted in seen[]
 * for later calls. 1 if found. */
static int recv_tag(struct netdev *dev, uint8_t tag, int ms)
{
	for (int waited = 0; waited <= ms; waited += 10) {
		struct pkt *v[16];
		int n = netdev_recv(dev, v, 16);

		for (int i = 0; i < n; i++) {
			if (is_frame(v[i]->data, v[i]->len, v[i]->len > 14 ? v[i]->data[14] : 0))
				seen[v[i]->data[14]]++;
			pkt_free(v[i]);
		}
		if (seen[tag]) {
			seen[tag]--;
			return 1;
		}
		int fd = netdev_wait_fd(dev);
		if (fd >= 0) {
			struct pollfd pf = { .fd = fd, .events = POLLIN };
			(void)poll(&pf, 1, 10);
		} else {
			usleep(10000);
		}
	}
	return 0;
}

static unsigned seen_total(void)
{
	unsigned n = 0;

	for (int i = 0; i < 256; i++)
		n += seen[i];
	return n;
}

/* Frames in a pcap file whose payload carries tag, or -1 if the file is not
 * a valid little-endian microsecond pcap of DLT_EN10MB. *total: all records. */
static int pcap_count(const char *path, uint8_t tag, int *total)
{
	FILE *f = fopen(path, "r");
	uint32_t gh[6], rh[4];
	uint8_t buf[4096];
	int n = 0;

	*total = 0;
	if (!f)
		return -1;
	if (fread(gh, 4, 6, f) != 6 || gh[0] != 0xa1b2c3d4 || gh[5] != 1) {
		fclose(f);
		return -1;
	}
	while (fread(rh, 4, 4, f) == 4) {
		if (rh[2] > sizeof(buf) || fread(buf, 1, rh[2], f) != rh[2]) {
			fclose(f);
			return -1;
		}
		(*total)++;
		if (is_frame(buf, rh[2], tag))
			n++;
	}
	fclose(f);
	return n;
}

/* The child's status: 0, or the failed check's number (printed). */
static int child_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (!WIFEXITED(st))
		return -2;
	if (WEXITSTATUS(st))
		fprintf(stderr, "  child failed at check %d\n", WEXITSTATUS(st));
	return WEXITSTATUS(st);
}

static struct netdev *open_loop(const char *pcap, const char *impair)
{
	struct shim_dev_spec spec = { .ifname = "lo", .kind = SHIM_DEV_LOOP, .pcap = pcap };
	struct shim_dev sd;
	int fail;

	if (impair) {
		spec.impair = true;
		if (impair_parse_dirs(impair, &spec.impair_tx, &spec.impair_rx, NULL, 0) < 0)
			return NULL;
	}
	return shim_dev_open(&spec, &sd, &fail) == 0 ? sd.dev : NULL;
}

/* pcap -> impairment (tx delayed 30 ms) -> loop. When the parent forks it
 * has a frame delayed in the impairment with its timerfd armed (a1), and
 * one more delayed whose capture record is still in the FILE buffer (a3).
 * The child's chain sends and receives its own frame and captures to
 * <path>.<pid>; the parent then gets its delayed frames (its timer still
 * armed) and its capture holds its own records once each (the child did
 * not write the parent's buffer out a second time). */
TEST(loop_chain_fork_leaves_parent_alone)
{
	char path[128], cpath[160];
	int total = 0;

	memset(seen, 0, sizeof(seen));
	snprintf(path, sizeof(path), "%s/loop.pcap", tmpdir);
	struct netdev *dev = open_loop(path, "delay_us=30000,dir=tx");
	REQUIRE(dev);
	REQUIRE(send1(dev, 0xa1) == 0);             /* delayed, timer armed */
	struct pkt *p = frame(dev, 0xa3);
	REQUIRE(p);
	REQUIRE(netdev_xmit(dev, &p, 1) == 1);      /* delayed; its record not flushed */
	REQUIRE(shim_dev_impair(dev) != NULL);

	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		uint8_t mac[6];
		int err = 0;

		memcpy(mac, dev->mac, 6);
		struct netdev *c = shim_dev_fork(dev, &err);
		if (!c || err)
			_exit(1);
		if (memcmp(c->mac, mac, 6) || strcmp(c->name, "lo") || c->mtu != 1500)
			_exit(2);
		if (!shim_dev_impair(c) || netdev_wait_fd(c) < 0)
			_exit(3);
		if (send1(c, 0xc1) < 0)
			_exit(4);
		if (!recv_tag(c, 0xc1, 2000))
			_exit(5);
		usleep(50000);
		if (recv_tag(c, 0xa1, 50) || seen_total())
			_exit(6);       /* the parent's delayed frames are not ours */
		netdev_close(c);
		_exit(0);
	}
	CHECK_EQ(child_status(pid), 0);
	snprintf(cpath, sizeof(cpath), "%s.%d", path, (int)pid);
	CHECK_EQ(pcap_count(cpath, 0xc1, &total), 2);   /* sent and received */
	CHECK_EQ(total, 2);

	/* The parent's delayed frames come through its own timer. */
	CHECK(recv_tag(dev, 0xa1, 2000));
	CHECK(recv_tag(dev, 0xa3, 2000));
	CHECK(send1(dev, 0xa2) == 0);
	CHECK(recv_tag(dev, 0xa2, 2000));
	CHECK_EQ(seen_total(), 0);
	netdev_close(dev);
	CHECK_EQ(pcap_count(path, 0xa1, &total), 2);
	CHECK_EQ(pcap_count(path, 0xa3, &total), 2);
	CHECK_EQ(pcap_count(path, 0xa2, &total), 2);
	CHECK_EQ(total, 6);
	CHECK_EQ(pkt_pool_in_use(), 0);
	unlink(cpath);
	unlink(path);
}

/* A child that only abandons the inherited chain leaves the parent's
 * frames queued in the loop and its capture as they were. */
TEST(loop_abandon_leaves_parent_alone)
{
	char path[128];
	int total = 0;

	memset(seen, 0, sizeof(seen));
	snprintf(path, sizeof(path), "%s/abandon.pcap", tmpdir);
	struct netdev *dev = open_loop(path, NULL);
	REQUIRE(dev);
	struct pkt *p = frame(dev, 0xb1);
	REQUIRE(p && netdev_xmit(dev, &p, 1) == 1);
	netdev_flush(dev);                          /* queued in the loop */
	p = frame(dev, 0xb2);
	REQUIRE(p && netdev_xmit(dev, &p, 1) == 1); /* captured, not flushed */

	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		shim_dev_abandon(dev);
		_exit(0);
	}
	CHECK_EQ(child_status(pid), 0);
	CHECK(recv_tag(dev, 0xb1, 100));
	netdev_flush(dev);
	CHECK(recv_tag(dev, 0xb2, 100));
	netdev_close(dev);
	CHECK_EQ(pcap_count(path, 0xb1, &total), 2);
	CHECK_EQ(pcap_count(path, 0xb2, &total), 2);
	CHECK_EQ(total, 4);
	CHECK_EQ(pkt_pool_in_use(), 0);
	unlink(path);
}

/* A memdev_pair end has no meaning in another process. */
TEST(pair_end_does_not_fork)
{
	struct netdev *a, *b;

	REQUIRE(memdev_pair(&a, &b) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int err = 0;
		_exit(shim_dev_fork(a, &err) == NULL && err == -EOPNOTSUPP ? 0 : 1);
	}
	CHECK_EQ(child_status(pid), 0);
	netdev_close(a);
	netdev_close(b);
}

/* ---- the io_uring backend over a socketpair -------------------------------- */

static struct netdev *open_sock(int fd)
{
	struct shim_opts o = { 0 };
	int err = 0;

	return uring_dev_create(fd, "test", "lo", 0, false, &o, &err);
}

/* The peer's side: one frame behind a zero virtio header. */
static int peer_send(int fd, uint8_t tag)
{
	uint8_t b[VNET_LEN + FRAME_LEN];

	memset(b, 0, sizeof(b));
	memset(b + VNET_LEN, 0xff, 6);
	b[VNET_LEN + 12] = ETHERTYPE >> 8;
	b[VNET_LEN + 13] = ETHERTYPE & 0xff;
	b[VNET_LEN + 14] = tag;
	return write(fd, b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : -1;
}

/* The peer's side: 1 if the next frame (within a second) carries tag. */
static int peer_recv(int fd, uint8_t tag)
{
	uint8_t b[4096];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pf, 1, 1000) != 1 || (n = read(fd, b, sizeof(b))) < VNET_LEN)
		return 0;
	return is_frame(b + VNET_LEN, (size_t)n - VNET_LEN, tag);
}

/* The parent closes its device; the child's new one (own ring, same fd)
 * sends and receives. */
TEST(uring_child_takes_over)
{
	int sv[2], go[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(pipe(go) == 0);
	struct netdev *dev = open_sock(sv[0]);
	REQUIRE(dev);

	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		uint8_t mac[6], c1;
		int err = 0;

		memcpy(mac, dev->mac, 6);
		struct netdev *c = shim_dev_fork(dev, &err);
		if (!c || err)
			_exit(1);
		if (memcmp(c->mac, mac, 6) || strcmp(c->name, "lo"))
			_exit(2);
		if (read(go[0], &c1, 1) != 1)   /* the parent's reads are gone */
			_exit(3);
		if (send1(c, 0xd1) < 0 || !peer_recv(sv[1], 0xd1))
			_exit(4);
		if (peer_send(sv[1], 0xd2) < 0 || !recv_tag(c, 0xd2, 2000))
			_exit(5);
		netdev_close(c);
		_exit(0);
	}
	netdev_close(dev);              /* closes the parent's fd; the child's stays */
	CHECK(write(go[1], "g", 1) == 1);
	CHECK_EQ(child_status(pid), 0);
	close(go[0]);
	close(go[1]);
	close(sv[1]);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

/* The child forks the device, uses it and closes it (and exits); the
 * parent's ring, its armed reads and its fd work on. */
TEST(uring_parent_unaffected)
{
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
	struct netdev *dev = open_sock(sv[0]);
	REQUIRE(dev);
	REQUIRE(send1(dev, 0xe0) == 0 && peer_recv(sv[1], 0xe0));

	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int err = 0;
		struct netdev *c = shim_dev_fork(dev, &err);

		if (!c || err)
			_exit(1);
		if (send1(c, 0xe1) < 0 || !peer_recv(sv[1], 0xe1))
			_exit(2);
		netdev_close(c);
		_exit(0);
	}
	CHECK_EQ(child_status(pid), 0);
	CHECK(peer_send(sv[1], 0xe2) == 0);
	CHECK(recv_tag(dev, 0xe2, 2000));
	CHECK(send1(dev, 0xe3) == 0);
	CHECK(peer_recv(sv[1], 0xe3));
	netdev_close(dev);
	close(sv[1]);
	CHECK_EQ(pkt_pool_in_use(), 0);
}

int main(void)
{
	char t[] = "/tmp/nstack-shimfork-XXXXXX";

	if (!mkdtemp(t))
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	pkt_pool_init(1024);
	RUN(loop_chain_fork_leaves_parent_alone);
	RUN(loop_abandon_leaves_parent_alone);
	RUN(pair_end_does_not_fork);
	RUN(uring_child_takes_over);
	RUN(uring_parent_unaffected);
	rmdir(tmpdir);
	return TEST_SUMMARY();
}
