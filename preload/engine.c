/* The engine: configuration from the environment, the device, the one lock,
 * the engine thread, and the clock. This is the only file that reads the real
 * clock (CLOCK_MONOTONIC, in microseconds) and the only one that blocks
 * (eng_block, the real ppoll).
 *
 * The engine thread sleeps on the device's wait fd and a private "kick"
 * eventfd until the stack's next timer deadline, then runs stack_poll under
 * the lock. Application threads call the stack inline under the same lock and
 * kick the engine only when they armed a timer earlier than the one it sleeps
 * for.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "preload.h"
#include "shim/shim.h"
#include "stack/pkt.h"

#define ENG_PKT_POOL     8192
#define ENG_LOOP_ROUNDS  256    /* bound on inline loopback passes per call */
#define ENG_EXIT_WAIT_S  1      /* exit never waits longer than this per step */

int nst_log_level = NST_LOG_ERROR;

struct engine eng = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sleep_until = UINT64_MAX,
};

static int      eng_state;      /* ENG_ACTIVE, ENG_DISABLED or -errno, once eng_done */
static int      eng_done;
static int      kick_fd = -1;
static pthread_t eng_thread;
static int      eng_thread_up;
static int      eng_stop;
static pid_t    eng_owner;
static uint64_t rand_state;

/* Rate limit for everything but errors: a burst of NST_LOG_BURST lines, then
 * NST_LOG_RATE per second; what is dropped is counted and said once the
 * budget returns ("N messages suppressed"), like the kernel's printk_ratelimit. */
#define NST_LOG_BURST 200
#define NST_LOG_RATE  50
static int nst_log_allow(int level)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t tokens_at, suppressed;
	static double tokens = NST_LOG_BURST;
	if (level == NST_LOG_ERROR)
		return 1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	uint64_t missed = 0;
	int ok;
	pthread_mutex_lock(&mu);
	if (tokens_at)
		tokens += (double)(now - tokens_at) * NST_LOG_RATE / 1e6;
	if (tokens > NST_LOG_BURST)
		tokens = NST_LOG_BURST;
	tokens_at = now;
	ok = tokens >= 1.0;
	if (ok) {
		tokens -= 1.0;
		missed = suppressed;
		suppressed = 0;
	} else {
		suppressed++;
	}
	pthread_mutex_unlock(&mu);
	if (missed)
		fprintf(stderr, "nstack: %llu messages suppressed\n", (unsigned long long)missed);
	return ok;
}

void nst_log(int level, const char *fmt, ...)
{
	static const char *const tag[] = { "", "warning: ", "", "debug: " };
	char line[512];
	va_list ap;
	if (!nst_log_allow(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nstack: %s%s\n", tag[level & 3], line);
}

/* NSTACK_LOG: 0, or -EINVAL if set to something unknown. */
static int log_parse(void)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	const char *l = getenv("NSTACK_LOG");
	if (!l || !*l)
		return 0;
	for (int i = 0; i < 4; i++)
		if (!strcmp(l, names[i])) {
			nst_log_level = i;
			return 0;
		}
	return -EINVAL;
}

/* Early, silently: a preloaded program without NSTACK_IF prints nothing. */
__attribute__((constructor)) static void log_ctor(void)
{
	log_parse();
}

uint64_t eng_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void eng_lock(void)
{
	pthread_mutex_lock(&eng.lock);
}

void eng_unlock(void)
{
	pthread_mutex_unlock(&eng.lock);
}

int eng_block(struct pollfd *p, nfds_t n, int64_t deadline_us, const sigset_t *mask)
{
	struct timespec ts, *tp = NULL;
	if (deadline_us >= 0) {
		int64_t rem = deadline_us - (int64_t)eng_now_us();
		if (rem < 0)
			rem = 0;
		ts.tv_sec = rem / 1000000;
		ts.tv_nsec = (rem % 1000000) * 1000;
		tp = &ts;
	}
	int r = REAL(ppoll)(p, n, tp, mask);
	return r < 0 ? -errno : r;
}

/* Sleep in ppoll on the epoll fd, then collect with a zero-timeout
 * epoll_wait. Not epoll_pwait: an application thread that submitted to the
 * device's io_uring gets the completion's task work, which interrupts an
 * interruptible wait; ppoll is restarted by the kernel then
 * (ERESTARTNOHAND), epoll_wait is not and would return a bogus EINTR. */
int eng_block_epoll(int epfd, struct epoll_event *ev, int n, int64_t deadline_us,
		    const sigset_t *mask)
{
	struct pollfd p = { epfd, POLLIN, 0 };
	int r = eng_block(&p, 1, deadline_us, mask);
	if (r <= 0)
		return r;
	r = REAL(epoll_wait)(epfd, ev, n, 0);
	return r < 0 ? -errno : r;
}

/* A real wait returned EINTR, so a handler ran. Linux restarts recv, send,
 * accept and connect (sock_intr_errno: -ERESTARTSYS when the socket has no
 * timeout) if that handler was installed with SA_RESTART. We cannot tell
 * which signal it was, so: restart when every handler that could have run
 * (installed, signal not blocked in this thread) has SA_RESTART. Exact for
 * programs whose handlers agree (glibc's signal() always sets SA_RESTART);
 * a program mixing both kinds may see EINTR where Linux restarts. */
int eng_restart_ok(void)
{
	sigset_t cur;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sigismember(&cur, sig) == 1)
			continue;
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (!(sa.sa_flags & SA_SIGINFO) && (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
			continue;
		if (!(sa.sa_flags & SA_RESTART))
			return 0;
	}
	return 1;
}

/* splitmix64 seeded once from getrandom(): ISS keys, ports, IP IDs. */
static uint64_t eng_rand64(void *ctx)
{
	uint64_t *s = ctx;
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void eng_kick(void)
{
	uint64_t one = 1;
	if (kick_fd >= 0)
		(void)!REAL(write)(kick_fd, &one, sizeof(one));
}

/* Run the stack. On the loop device the frames a pass sends are received by
 * the next pass, so keep going until a pass finds nothing. */
static void eng_drive(uint64_t now)
{
	stack_poll(eng.st, now);
	if (eng.loopback)
		for (int i = 0; i < ENG_LOOP_ROUNDS && stack_poll(eng.st, now) > 0; i++)
			;
}

void eng_after(void)
{
	if (!eng.st)
		return;
	if (eng.loopback)
		eng_drive(eng_now_us());
	uint64_t d = stack_next_deadline(eng.st);
	if (d && d < eng.sleep_until) {
		eng.sleep_until = d;    /* one kick per earlier deadline */
		eng_kick();
	}
}

static void *eng_main(void *arg)
{
	(void)arg;
	int devfd = netdev_wait_fd(eng.dev);
	struct pollfd p[2] = { { kick_fd, POLLIN, 0 }, { devfd, POLLIN, 0 } };
	nfds_t n = devfd >= 0 ? 2 : 1;
	uint64_t stuck = 0;

	eng_lock();
	while (!eng_stop) {
		uint64_t now = eng_now_us();
		eng_drive(now);
		uint64_t d = stack_next_deadline(eng.st);
		int64_t deadline = d ? (int64_t)d : -1;
		/* A deadline that stays in the past would spin: back off 1 ms. */
		if (d && d <= now) {
			if (d == stuck)
				deadline = (int64_t)now + 1000;
			stuck = d;
		}
		eng.sleep_until = deadline < 0 ? UINT64_MAX : (uint64_t)deadline;
		eng_unlock();
		int r = eng_block(p, n, deadline, NULL);
		if (r > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			(void)!REAL(read)(kick_fd, &v, sizeof(v));
		}
		eng_lock();
	}
	eng_unlock();
	return NULL;
}

/* Start the engine thread with every signal blocked, so the application's
 * handlers run on its own threads and our ppoll is never interrupted. */
static int eng_start_thread(void)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&eng_thread, NULL, eng_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	eng_thread_up = 1;
	return 0;
}

static void eng_atfork_prepare(void)
{
	eng_lock();
}

static void eng_atfork_parent(void)
{
	eng_unlock();
}

/* The child never touches the parent's device or connections: inherited
 * nstack fds become close-only and new AF_INET sockets go to the kernel
 * (a fresh stack would need its own interface). */
static void eng_atfork_child(void)
{
	pthread_mutex_init(&eng.lock, NULL);
	eng.st = NULL;
	eng.dev = NULL;
	eng.child = 1;
	eng_thread_up = 0;
	kick_fd = -1;
	eng_state = ENG_DISABLED;
	__atomic_store_n(&eng_done, 1, __ATOMIC_RELEASE);
}

/* Closed connections still delivering data or a FIN: the kernel would finish
 * them after the process is gone, but our stack goes with the process. So
 * exit waits while they make progress: at most ENG_EXIT_IDLE_US without any,
 * ENG_EXIT_DRAIN_US in all. Under the lock; the engine thread does the work. */
#define ENG_EXIT_IDLE_US  2000000ull
#define ENG_EXIT_DRAIN_US 30000000ull
static void eng_exit_drain(void)
{
	uint64_t start = eng_now_us(), last = start;
	size_t left = nst_exit_pending(eng.st);
	while (left && eng_thread_up) {
		uint64_t now = eng_now_us();
		if (now - last > ENG_EXIT_IDLE_US || now - start > ENG_EXIT_DRAIN_US) {
			log_warn("exit: %zu bytes of closed connections not delivered", left);
			return;
		}
		eng_unlock();
		eng_block(NULL, 0, (int64_t)now + 2000, NULL);
		eng_lock();
		size_t l = nst_exit_pending(eng.st);
		if (l < left)
			last = eng_now_us();
		left = l;
	}
}

/* At exit: end every connection on the wire and stop the engine, bounded. */
static void eng_exit(void)
{
	if (getpid() != eng_owner || !eng.st)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ENG_EXIT_WAIT_S;
	if (pthread_mutex_timedlock(&eng.lock, &ts) != 0) {
		log_warn("exit: stack busy, connections not closed");
		return;
	}
	nst_close_all(eng.st, eng_now_us());
	eng_after();
	eng_exit_drain();
	eng_stop = 1;
	eng_kick();
	eng_unlock();
	if (eng_thread_up) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ENG_EXIT_WAIT_S;
		if (pthread_timedjoin_np(eng_thread, NULL, &ts) == 0)
			eng_thread_up = 0;
	}
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_cidr(const char *s, uint32_t *addr, uint8_t *plen)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	char *end;
	long n = strtol(slash + 1, &end, 10);
	if (!slash[1] || *end || n < 0 || n > 32 || parse_ipv4(buf, addr) < 0 || !*addr)
		return -EINVAL;
	*plen = (uint8_t)n;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)         /* multicast bit: not a station address */
		return -EINVAL;
	return 0;
}

/* A TAP is an interface whose driver is "tun" (ethtool: works in any netns,
 * unlike /sys which shows the netns it was mounted in). */
static int is_tap(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	int fd = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		int r = REAL(ioctl)(fd, SIOCETHTOOL, &ifr);
		REAL(close)(fd);
		if (r == 0)
			return !strcmp(info.driver, "tun");
	}
	char path[64];
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);
	return access(path, F_OK) == 0;
}

/* Read NSTACK_*, open the device, create the stack, start the engine.
 * Under the lock. Every failure prints one line and returns -errno. */
static int eng_configure(void)
{
	const char *ifname = getenv("NSTACK_IF");
	if (!ifname || !*ifname)
		return ENG_DISABLED;

	if (log_parse() < 0)
		log_error("NSTACK_LOG=%s: expected error, warn, info or debug; using error", getenv("NSTACK_LOG"));

	struct stack_config cfg = { 0 };
	const char *v;
	uint8_t mac[6];
	int have_mac = 0, err = 0;
	int lo = !strcmp(ifname, "lo");

	if (strlen(ifname) >= IF_NAMESIZE) {
		log_error("interface %s: name too long", ifname);
		return -EINVAL;
	}
	if (lo) {
		cfg.loopback = 1;
		cfg.addr = INADDR_LOOPBACK;
		cfg.prefix_len = 8;
	} else {
		v = getenv("NSTACK_ADDR");
		if (!v || !*v) {
			log_error("NSTACK_ADDR is required with NSTACK_IF=%s (e.g. 198.18.0.2/24)", ifname);
			return -EINVAL;
		}
		if (parse_cidr(v, &cfg.addr, &cfg.prefix_len) < 0) {
			log_error("NSTACK_ADDR=%s: expected an IPv4 address and prefix, A.B.C.D/N", v);
			return -EINVAL;
		}
		v = getenv("NSTACK_GW");
		if (v && *v && parse_ipv4(v, &cfg.gw) < 0) {
			log_error("NSTACK_GW=%s: not an IPv4 address", v);
			return -EINVAL;
		}
	}
	v = getenv("NSTACK_MAC");
	if (v && *v) {
		if (parse_mac(v, mac) < 0) {
			log_error("NSTACK_MAC=%s: expected a unicast MAC, aa:bb:cc:dd:ee:ff", v);
			return -EINVAL;
		}
		have_mac = 1;
	}
	const char *kind = getenv("NSTACK_DEV");
	if (!kind || !*kind)
		kind = "auto";
	if (strcmp(kind, "tap") && strcmp(kind, "packet") && strcmp(kind, "auto")) {
		log_error("NSTACK_DEV=%s: expected tap, packet or auto", kind);
		return -EINVAL;
	}
	if (!lo) {
		if (if_nametoindex(ifname) == 0) {
			err = errno == ENXIO ? ENODEV : errno;
			log_error("interface %s: %s", ifname, strerror(err));
			return -err;
		}
		if (!strcmp(kind, "packet")) {
			log_error("interface %s: NSTACK_DEV=packet (AF_PACKET) is not supported yet", ifname);
			return -EOPNOTSUPP;
		}
		if (!is_tap(ifname)) {
			log_error("interface %s: not a TAP device (AF_PACKET devices are not supported yet)", ifname);
			return -EOPNOTSUPP;
		}
	}
	struct impair_spec impair;
	const char *impair_env = getenv("NSTACK_IMPAIR");
	if (impair_env && *impair_env) {
		char bad[64];
		if (impair_parse(impair_env, &impair, bad, sizeof(bad)) < 0) {
			log_error("NSTACK_IMPAIR: bad item '%s' (expected loss=P,dup=P,reorder=P,corrupt=P,delay_us=N,seed=N)", bad);
			return -EINVAL;
		}
	}

	static int pool_ready;
	if (!pool_ready) {
		err = pkt_pool_init(ENG_PKT_POOL);
		if (err < 0) {
			log_error("packet pool: %s", strerror(-err));
			return err;
		}
		pool_ready = 1;
	}

	struct netdev *dev;
	if (lo) {
		dev = memdev_loop();
		if (!dev) {
			log_error("interface lo: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
	} else {
		dev = tapdev_open(ifname, &err);
		if (!dev) {
			if (err >= 0)
				err = -ENODEV;
			log_error("interface %s: %s", ifname, strerror(-err));
			return err;
		}
	}
	if (have_mac)
		memcpy(dev->mac, mac, 6);
	/* Impairment next to the wire, capture above it: the pcap shows what the
	 * stack sent (a frame lost on the way, then its retransmission). */
	if (impair_env && *impair_env) {
		struct netdev *w = impairdev_wrap(dev, &impair, &err);
		if (!w) {
			log_error("NSTACK_IMPAIR: %s", strerror(-err));
			netdev_close(dev);
			return err;
		}
		dev = w;
		log_info("impairment: %s", impair_env);
	}
	v = getenv("NSTACK_PCAP");
	if (v && *v) {
		struct netdev *w = pcapdev_wrap(dev, v, &err);
		if (!w) {
			if (err >= 0)
				err = -EINVAL;
			log_error("NSTACK_PCAP=%s: %s", v, strerror(-err));
			netdev_close(dev);
			return err;
		}
		dev = w;
	}

	if (getrandom(&rand_state, sizeof(rand_state), 0) != sizeof(rand_state))
		rand_state = eng_now_us() ^ ((uint64_t)getpid() << 32);
	cfg.rand64 = eng_rand64;
	cfg.rand_ctx = &rand_state;

	err = fd_table_init();
	if (err < 0) {
		log_error("fd table: %s", strerror(-err));
		netdev_close(dev);
		return err;
	}
	struct stack *st = stack_create(&cfg, dev, eng_now_us());
	if (!st) {
		log_error("cannot create the stack: %s", strerror(ENOMEM));
		netdev_close(dev);
		return -ENOMEM;
	}
	kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (kick_fd < 0) {
		err = -errno;
		log_error("eventfd: %s", strerror(-err));
		stack_destroy(st);
		netdev_close(dev);
		return err;
	}
	eng.st = st;
	eng.dev = dev;
	eng.loopback = lo;
	stack_set_notify(st, nsock_notify, NULL);
	err = eng_start_thread();
	if (err < 0) {
		log_error("engine thread: %s", strerror(-err));
		eng.st = NULL;
		stack_destroy(st);
		netdev_close(dev);
		REAL(close)(kick_fd);
		kick_fd = -1;
		return err;
	}
	eng_owner = getpid();
	ctl_stack_created(st);  /* ctl.c: control socket for nstack ss/stats, state log */
	static int hooks;
	if (!hooks) {
		pthread_atfork(eng_atfork_prepare, eng_atfork_parent, eng_atfork_child);
		atexit(eng_exit);
		hooks = 1;
	}
	if (lo) {
		log_info("in-process loopback, 127.0.0.0/8");
	} else {
		char a[INET_ADDRSTRLEN];
		struct in_addr ia = { htonl(cfg.addr) };
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		log_info("%s/%u on %s (TAP)", a, cfg.prefix_len, ifname);
	}
	return ENG_ACTIVE;
}

int eng_ensure(void)
{
	if (__atomic_load_n(&eng_done, __ATOMIC_ACQUIRE))
		return eng_state;
	eng_lock();
	if (!eng_done) {
		eng_state = eng_configure();
		__atomic_store_n(&eng_done, 1, __ATOMIC_RELEASE);
	}
	int r = eng_state;
	eng_unlock();
	return r;
}
