/* The engine: the device, the one lock, the engine thread, and the clock
 * (the configuration is read by config/, the device assembled by
 * shim_dev_open). This is the only file that reads the real clock
 * (CLOCK_MONOTONIC, in microseconds) and the only one that blocks
 * (eng_block, the real ppoll). Its state is struct engine (preload.h).
 *
 * The wake protocol: who watches the device, and who wakes whom.
 *
 * - The engine thread (eng_main) runs the stack under eng.lock, then sleeps
 *   in ppoll on eng.kick_fd and, normally, the device's wait fd
 *   (eng.devfd), until the stack's next deadline (eng.sleep_until).
 * - An application thread calls the stack inline under the same lock; after
 *   a call that armed a timer earlier than eng.sleep_until, eng_after writes
 *   eng.kick_fd once (eng_kick), so the engine sleeps again with the new
 *   deadline. Exit kicks it too, to stop it (eng.stop).
 * - A thread about to sleep for one of our sockets' events may take the
 *   device token (eng.dev_waiter, compare-and-swap, one thread at a time)
 *   and sleep on the device's fd itself (eng_block_dev): a frame wakes it,
 *   it runs the stack and finds its own event. While the token is held, and
 *   for ENG_DEV_GRACE_US after it is given back (eng.dev_until), the engine
 *   sleeps without the device's fd (at most ENG_DEV_SAFETY_US at a time)
 *   and keeps running the timers.
 * - A busy poller (eng_busy_poll, NSTACK_BUSY_POLL_US) drives the device in
 *   a loop; while eng.bp_active is non-zero, and until eng.bp_until after a
 *   poller found its event, the engine leaves the device alone too. Between
 *   passes the poller hands the lock to threads blocked in eng_lock
 *   (eng.lock_waiters).
 * - The engine publishes eng.dev_unwatched before it sleeps without the
 *   device. A thread that gives the device back — the token holder on its
 *   return, the last busy poller going to sleep — kicks the engine if that
 *   flag is set, so the device is never left unwatched for longer than the
 *   grace. These flags are read without the lock, with seq_cst atomics: of a
 *   thread giving the device back and the engine about to sleep without
 *   it, at least one sees the other, so one of them kicks or stays.
 * - The token holder's kick is skipped when the engine will look anyway
 *   within 2 × ENG_DEV_CHECK_US (eng.sleep_until, read under the lock): while
 *   threads keep taking the token (eng.dev_takes moves: a request/response
 *   loop takes it once per request), the engine sleeps at most
 *   ENG_DEV_CHECK_US at a time without the device, and a thread that gives
 *   the token back costs no kick, no engine wake-up and no lock contention.
 *   While the token stays with one sleeping thread, the engine's interval
 *   doubles up to ENG_DEV_SAFETY_US, so an idle process stays idle; the
 *   first release after such a sleep kicks.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "preload.h"
#include "shm.h"
#include "config/config.h"
#include "shim/shim.h"
#include "stack/pkt.h"
#include "stack/splitmix64.h"

/* the TCP and UDP sd ranges must not meet (stack.h NST_UDP_SD_BASE): the
 * TCP table holds twice max_sockets */
#define ENG_MAX_SOCKETS (NST_UDP_SD_BASE / 2)

#define ENG_PKT_POOL     16384
/* Large packets (64 KB) for TSO frames we send and GRO frames we receive:
 * calloc'ed, so only the ones ever used cost memory. */
#define ENG_PKT_POOL_LARGE 4096
#define ENG_LOOP_ROUNDS  256    /* bound on inline loopback passes per call */
#define ENG_EXIT_WAIT_S  1      /* exit never waits longer than this per step */
#define ENG_REAP_US      1000000 /* how often the engine looks for dead members */
#define ENG_EXIT_QUICK_US 20000  /* exit waits this long for what is owed before a keeper */

int nst_log_level = NST_LOG_ERROR;

struct engine eng = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.lockp = &eng.lock,
	.sleep_until = UINT64_MAX,
	.kick_fd = -1,
	.devfd = -1,
};

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

/* Early, silently: a preloaded program without NSTACK_IF prints nothing. */
__attribute__((constructor)) static void log_ctor(void)
{
	(void)nst_config_log(&nst_log_level);
}

/* The configuration's lines (nst_config_from_env), at nst_log_level. */
static void eng_config_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (level > nst_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	nst_log(level, "%s", line);
}

uint64_t eng_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* eng.lock_waiters: threads blocked in eng_lock; a busy poller hands the
 * lock over to them instead of taking it back before they could run. */
/* The shared lock is robust: a member killed while holding it leaves it
 * EOWNERDEAD to the next taker, who carries on (the stack's state is what
 * the dead member left; family.c releases its descriptors). */
static void eng_locked(int r)
{
	fam_bind();
	if (r == EOWNERDEAD) {
		pthread_mutex_consistent(eng.lockp);
		log_warn("a process sharing the stack died holding its lock");
		fam_reap();
	}
}

static void eng_lock_raw(void)
{
	int r = pthread_mutex_trylock(eng.lockp);
	if (r != 0 && r != EOWNERDEAD) {
		__atomic_add_fetch(&eng.lock_waiters, 1, __ATOMIC_SEQ_CST);
		r = pthread_mutex_lock(eng.lockp);
		__atomic_sub_fetch(&eng.lock_waiters, 1, __ATOMIC_SEQ_CST);
	}
	eng_locked(r);
}

/* The lock if it is free: 1, else 0 at once. */
static int eng_trylock(void)
{
	int r = pthread_mutex_trylock(eng.lockp);
	if (r != 0 && r != EOWNERDEAD)
		return 0;
	eng_locked(r);
	return 1;
}

void eng_lock(void)
{
	eng_join_check();
	eng_lock_raw();
}

void eng_unlock(void)
{
	pthread_mutex_unlock(eng.lockp);
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

/* Sleep in ppoll on the epoll fd (and perhaps the device: eng_block_dev;
 * 0 then, and the callers look again), then collect with a zero-timeout
 * epoll_wait. Not epoll_pwait: an application thread that submitted to the
 * device's io_uring gets the completion's task work, which interrupts an
 * interruptible wait; ppoll is restarted by the kernel then
 * (ERESTARTNOHAND), epoll_wait is not and would return a bogus EINTR. */
int eng_block_epoll(int epfd, struct epoll_event *ev, int n, int64_t deadline_us,
		    const sigset_t *mask)
{
	struct pollfd p[2] = { { epfd, POLLIN, 0 } };
	int r = eng_block_dev(p, 1, deadline_us, mask);
	if (r <= 0 || !(p[0].revents & POLLIN))
		return r < 0 ? r : 0;   /* the device woke us: the callers look again */
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

/* The secret of the TSval clock offsets (stack_config.ts_key): the 128
 * random bits of the kernel's boot_id, so that every nstack process of the
 * host has the same and TSvals towards a peer keep growing from one
 * process to the next, as from one connection to the next (the peer's
 * TIME-WAIT takes a new SYN on its 4-tuple only with a newer TSval; Linux's
 * secret is per boot too). Off-host peers cannot read it. Zero (a random
 * key per process) if it cannot be read. */
static void eng_ts_key(uint64_t key[2])
{
	char b[64];
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = REAL(read)(fd, b, sizeof(b) - 1);
	REAL(close)(fd);
	unsigned nib = 0;
	for (ssize_t i = 0; i < n && nib < 32; i++) {
		char c = b[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			continue;
		key[nib / 16] = key[nib / 16] << 4 | (uint64_t)v;
		nib++;
	}
	if (nib < 32)
		key[0] = key[1] = 0;
}

/* splitmix64 seeded once from getrandom(): ISS keys, ports, IP IDs. */
static uint64_t eng_rand64(void *ctx)
{
	return splitmix64(ctx);
}

static void eng_kick(void)
{
	uint64_t one = 1;
	if (eng.kick_fd >= 0)
		(void)!REAL(write)(eng.kick_fd, &one, sizeof(one));
}

/* Under the lock: the stack calls this process's functions and device
 * (family.c fam_bind, when a process other than the last one enters). */
void eng_bind_stack(void)
{
	stack_set_netdev(eng.st, eng.dev);
	stack_set_notify(eng.st, fam_notify, NULL);
	stack_set_rand(eng.st, eng_rand64, &eng.rand_state);
	if (eng.arena) {
		struct nst_mem_ops m = { shm_zalloc, shm_free, eng.arena, shm_alloc };
		stack_set_mem(eng.st, &m);
	}
	ctl_bind_stack(eng.st);
}

void eng_kick_engine(void)
{
	eng.sleep_until = 0;
	eng_kick();
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

int64_t eng_busy_poll_us;
/* While application threads busy-poll, the engine leaves the device and the
 * timers to them (Linux: napi_defer_hard_irqs, with gro_flush_timeout as the
 * safety net): waking the engine for a frame the poller reads anyway costs a
 * context switch and the poller its lock. eng.bp_active and eng.dev_unwatched are
 * read without the lock (seq_cst: a poller that stops and an engine about to
 * sleep without the device see each other, so one of them kicks or stays). */
#define ENG_BP_GRACE_MIN_US 1000/* the engine looks at the device at least this often */

static uint64_t eng_bp_grace(void)
{
	return eng_busy_poll_us > ENG_BP_GRACE_MIN_US ? (uint64_t)eng_busy_poll_us : ENG_BP_GRACE_MIN_US;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Between two passes of a busy poll: let a thread that waits for the lock
 * have it (it decrements eng.lock_waiters once it holds it); bounded. */
static void eng_busy_yield(void)
{
	eng_unlock();
	for (int i = 0; i < 10000 && __atomic_load_n(&eng.lock_waiters, __ATOMIC_SEQ_CST); i++)
		cpu_relax();
	cpu_relax();
	eng_lock();
}

/* Busy polling (Linux: SO_BUSY_POLL / net.core.busy_poll, sk_busy_loop):
 * the thread that waits reads the device itself, so a reply that arrives
 * within the budget is seen without the engine thread's wake-up and the
 * hand-off to this thread (two context switches per incoming frame). Spins
 * only while a call is about to block, never longer than the budget, so an
 * idle process still sleeps. Each pass runs the whole stack (stack_poll:
 * receive, timers), so the engine can stay asleep meanwhile. */
int eng_busy_poll(int (*ready)(void *), void *arg, int64_t deadline_us)
{
	if (eng_busy_poll_us <= 0 || !eng.st)
		return 0;
	uint64_t now = eng_now_us();
	int64_t end = (int64_t)now + eng_busy_poll_us;
	if (deadline_us >= 0 && deadline_us < end)
		end = deadline_us;
	int found = 0;
	__atomic_add_fetch(&eng.bp_active, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		eng_drive(now);
		eng_after();    /* a timer armed by this pass: the engine must know */
		if ((found = ready(arg)) != 0)
			break;
		if ((int64_t)now >= end)
			break;
		eng_busy_yield();
		if (!eng.st)
			break;
		now = eng_now_us();
	}
	if (__atomic_sub_fetch(&eng.bp_active, 1, __ATOMIC_SEQ_CST) == 0) {
		if (found) {
			eng.bp_until = now + eng_bp_grace();
		} else {
			/* this thread goes to sleep: the engine must watch the device */
			eng.bp_until = 0;
			if (__atomic_load_n(&eng.dev_unwatched, __ATOMIC_SEQ_CST))
				eng_kick();
		}
	}
	return found;
}

/* A thread about to sleep until one of our sockets has an event watches the
 * device itself (Linux: the softirq runs on the CPU the frame woke, and the
 * reader is woken once): when a frame comes it runs the stack inline and
 * finds its own event, instead of the engine waking, running the stack and
 * waking it with a second context switch. One such thread at a time
 * (eng.dev_waiter, a token), so a frame wakes one thread, not every blocked one.
 * The engine leaves the device to it while it holds the token and for
 * ENG_DEV_GRACE_US after (eng.dev_until: a request-response thread is back
 * by then, and the engine need not wake per exchange); it keeps running
 * the timers. A token that leaks (a thread cancelled in its wait) costs the
 * device ENG_DEV_SAFETY_US of latency, never a hang: the engine looks at
 * the device at least that often. */
#define ENG_DEV_GRACE_US  1000
#define ENG_DEV_SAFETY_US 200000
#define ENG_DEV_CHECK_US  2000  /* the engine's sleep without the device while the token moves */
#define ENG_TIMER_SLACK_US 1000 /* how late a due timer may run while the application holds the lock */
#define ENG_TIMER_RETRY_US 100

/* The device's receive requests follow the thread that waits for them. The
 * kernel's work for an arriving frame (the multishot read's task work: the
 * copy into our buffer, the completion) runs in the thread that armed the
 * read. Armed by the engine, every frame woke the engine, which then woke
 * the token holder through the ring's fd: two context switches per frame,
 * the costliest thing on the path (half of a blocking server's cycles went
 * to switching). A thread that takes the token ENG_CLAIM_RUN times in a row
 * takes the reads over (netdev_rx_claim, force: the engine's read is
 * cancelled, ours armed), so a frame wakes only it. When it stops arming
 * them (busy elsewhere when the read ends, or gone: the kernel cancels an
 * exiting thread's requests), the engine takes them back (eng_main,
 * netdev_rx_claim without force), woken by the reaper's arm request.
 * While the claimer is busy, frames wait for its next system call or the
 * scheduler tick: hence only a thread that keeps coming back to sleep
 * claims, and the engine takes the reads back when threads keep calling
 * but none has slept for ENG_CLAIM_IDLE_US (a server or client that is
 * never idle: sockperf under load spins between its sends, and frames sat
 * up to a tick in its task work). Under the lock. */
#define ENG_CLAIM_RUN 4
#define ENG_CLAIM_IDLE_US 2000
#define ENG_CLAIM_HOLD_US 200000   /* after the engine took them back by force */

static void eng_claim_reads(void)
{
	static __thread char me;
	if (!eng.dev || eng.loopback)
		return;
	if (eng.tok_thread != &me) {
		eng.tok_thread = &me;
		eng.tok_run = 0;
	}
	if (++eng.tok_run >= ENG_CLAIM_RUN && eng_now_us() >= eng.claim_after &&
	    netdev_rx_claim(eng.dev, 1) == 0)
		__atomic_store_n(&eng.reads_away, 1, __ATOMIC_RELAXED);
}

int eng_block_dev(struct pollfd *p, nfds_t n, int64_t deadline_us, const sigset_t *mask)
{
	int expect = 0;
	int devfd = __atomic_load_n(&eng.devfd, __ATOMIC_RELAXED);
	if (devfd < 0 || eng.loopback || !eng.thread_up ||
	    !__atomic_compare_exchange_n(&eng.dev_waiter, &expect, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return eng_block(p, n, deadline_us, mask);
	__atomic_add_fetch(&eng.dev_takes, 1, __ATOMIC_RELAXED);
	/* frames that came before the eventfd was cleared: run them, and the
	 * caller looks again instead of sleeping */
	eng_lock();
	eng_claim_reads();
	if (eng.st && eng.dev && netdev_wait_prepare(eng.dev) > 0) {
		nwait_self_pass(1);     /* the caller looks again: no self-wake */
		eng_drive(eng_now_us());
		nwait_self_pass(0);
		eng_after();
		eng.dev_until = eng_now_us() + ENG_DEV_GRACE_US;
		__atomic_store_n(&eng.dev_waiter, 0, __ATOMIC_SEQ_CST);
		eng_unlock();
		return 1;
	}
	eng_unlock();
	p[n] = (struct pollfd){ devfd, POLLIN, 0 };
	int r = eng_block(p, n + 1, deadline_us, mask);
	int dev = r > 0 && p[n].revents;
	if (dev && (p[n].revents & ~POLLIN))    /* the fd failed: the engine's alone */
		__atomic_store_n(&eng.devfd, -1, __ATOMIC_RELAXED);
	eng_lock();
	if (dev && eng.st) {
		/* the wake fd among p[0..n) is written if this pass made one
		 * of ours ready by another thread's waiter; the caller
		 * looks again either way, so its own are only marked */
		nwait_self_pass(1);
		eng_drive(eng_now_us());
		nwait_self_pass(0);
		eng_after();
	}
	eng.dev_until = eng_now_us() + ENG_DEV_GRACE_US;
	__atomic_store_n(&eng.dev_waiter, 0, __ATOMIC_SEQ_CST);
	/* The engine went to sleep without the device while we held the
	 * token, for up to ENG_DEV_SAFETY_US: wake it, so it watches the
	 * device again after the grace (a frame arriving meanwhile, say the
	 * peer's FIN after a blocking call returned, would otherwise wait up
	 * to 200 ms, and its ACK look delayed) — unless it looks soon anyway
	 * (the token moves often: see the wake protocol above). */
	if (__atomic_load_n(&eng.dev_unwatched, __ATOMIC_SEQ_CST) &&
	    eng.sleep_until > eng_now_us() + 2 * ENG_DEV_CHECK_US)
		eng_kick();
	eng_unlock();
	if (dev)
		return r > 1 ? r - 1 : 1;       /* "look again", never a timeout */
	return r;
}

void eng_after(void)
{
	if (!eng.st || !eng.dev)
		return;
	if (eng.loopback)
		eng_drive(eng_now_us());
	uint64_t d = stack_next_deadline(eng.st);
	if (d && d < eng.sleep_until) {
		eng.sleep_until = d;    /* one kick per earlier deadline */
		eng_kick();
	}
}

/* Run to completion under load. Under the lock: an application thread about
 * to look at its sockets (epoll_wait, poll) first runs the frames that wait
 * on the device, if any — a look at the completion queue in memory, no
 * system call — and keeps the engine off the device for ENG_DEV_GRACE_US
 * (eng.dev_until), as the token holder does: a server that never sleeps,
 * because its next event is always ready, then receives in its own thread
 * instead of the engine's, without the engine's wake-up, lock contention and
 * the eventfd writes of the hand-off (Linux: SO_PREFER_BUSY_POLL, where the
 * application's busy poll keeps the softirq off the queue). The engine looks
 * again once the grace passes without such a call. */
void eng_poll_inline(void)
{
	if (!eng.st || !eng.dev || eng.loopback || !eng.thread_up)
		return;
	int pending = netdev_pending(eng.dev);
	if (pending < 0)
		return;         /* the device cannot tell without a read */
	uint64_t now = eng_now_us();
	eng.dev_until = now + ENG_DEV_GRACE_US;
	if (pending) {
		eng_drive(now);
		eng_after();
	}
}

/* Before a diagnostic read of a connection (TCP_INFO): frames that have
 * reached the device but not yet the stack (their completion is the
 * engine's wake-up away) are waited for, at most ENG_SYNC_US, and run. A
 * peer that sent and then asks, through another channel, what we made of
 * it (packetdrill's wire mode) finds it done, as on the kernel. Under the
 * lock. */
#define ENG_SYNC_US 20000

void eng_sync_rx(void)
{
	if (!eng.st || !eng.dev || eng.loopback)
		return;
	if (netdev_sync(eng.dev, ENG_SYNC_US) > 0) {
		eng_drive(eng_now_us());
		eng_after();
	}
}

void eng_freshen(void)
{
	if (!eng.st)
		return;
	eng_drive(eng_now_us());
	eng_after();
}

/* The engine's sleep: device and/or kick fd, until deadline_us. */
/* 1 if a kick or the device woke it, 0 at the deadline. */
static int eng_wait(struct pollfd *p, nfds_t n, int64_t deadline_us)
{
	int r = eng_block(p, n, deadline_us, NULL);
	if (r > 0 && (p[0].revents & POLLIN)) {
		uint64_t v;
		(void)!REAL(read)(eng.kick_fd, &v, sizeof(v));
	}
	return r != 0;
}

static void *eng_main(void *arg)
{
	(void)arg;
	shim_reads_claim();     /* this thread arms the device's reads */
	int devfd = netdev_wait_fd(eng.dev);
	__atomic_store_n(&eng.devfd, devfd, __ATOMIC_RELAXED);
	struct pollfd p[2] = { { eng.kick_fd, POLLIN, 0 }, { devfd, POLLIN, 0 } };
	nfds_t n = devfd >= 0 ? 2 : 1;
	uint64_t stuck = 0, reaped = eng_now_us();

	eng_lock();
	while (!eng.stop) {
		uint64_t now = eng_now_us();
		if (eng.reads_away && netdev_rx_claim(eng.dev, 0) == 0)
			__atomic_store_n(&eng.reads_away, 0, __ATOMIC_RELAXED);   /* nobody armed them: ours */
		eng_drive(now);
		if (now - reaped > ENG_REAP_US) {
			fam_reap();     /* members killed without leaving */
			reaped = now;
		}
		uint64_t d = stack_next_deadline(eng.st);
		int64_t deadline = d ? (int64_t)d : -1;
		/* A deadline that stays in the past would spin: back off 1 ms. */
		if (d && d <= now) {
			if (d == stuck)
				deadline = (int64_t)now + 1000;
			stuck = d;
		}
		nfds_t nw = n;
		uint64_t look_due = UINT64_MAX;  /* the safety look while a token is held */
		if (n == 2 && (__atomic_load_n(&eng.dev_waiter, __ATOMIC_SEQ_CST) || now < eng.dev_until)) {
			/* a blocked thread watches the device (eng_block_dev): look
			 * again soon while the token moves, rarely while it stays */
			unsigned takes = __atomic_load_n(&eng.dev_takes, __ATOMIC_RELAXED);
			if (takes != eng.dev_takes_seen || !eng.dev_check_us)
				eng.dev_check_us = ENG_DEV_CHECK_US;
			else if (eng.dev_check_us < ENG_DEV_SAFETY_US)
				eng.dev_check_us = eng.dev_check_us * 2 < ENG_DEV_SAFETY_US ?
						   eng.dev_check_us * 2 : ENG_DEV_SAFETY_US;
			eng.dev_takes_seen = takes;
			look_due = now + eng.dev_check_us;
			uint64_t until = __atomic_load_n(&eng.dev_waiter, __ATOMIC_SEQ_CST) ?
					 now + eng.dev_check_us : eng.dev_until;
			if (deadline < 0 || (int64_t)until < deadline)
				deadline = (int64_t)until;
			nw = 1;
		}
		if (n == 2 && now < eng.bp_until) {
			/* a busy poller will be back: look again after the grace */
			if (deadline < 0 || (int64_t)eng.bp_until < deadline)
				deadline = (int64_t)eng.bp_until;
			nw = 1;
		}
		__atomic_store_n(&eng.dev_unwatched, nw < n, __ATOMIC_SEQ_CST);
		/* about to sleep on the device: frames that came before its
		 * eventfd was cleared are run first */
		/* the engine watches the device: it reads it too */
		if (nw == 2 && eng.reads_away && netdev_rx_claim(eng.dev, 1) == 0) {
			__atomic_store_n(&eng.reads_away, 0, __ATOMIC_RELAXED);
			eng.tok_run = 0;
		}
		if (nw == 2 && netdev_wait_prepare(eng.dev) > 0) {
			/* while frames keep coming, a thread that waits for the
			 * lock (a writer refilling its send buffer) gets it between
			 * passes: the loop never holds it for longer than a pass */
			if (__atomic_load_n(&eng.lock_waiters, __ATOMIC_SEQ_CST))
				eng_busy_yield();
			continue;
		}
		eng.sleep_until = deadline < 0 ? UINT64_MAX : (uint64_t)deadline;
		eng_unlock();
		int locked = 0;
		unsigned takes0 = __atomic_load_n(&eng.dev_takes, __ATOMIC_RELAXED);
		while (!eng_wait(p, nw, deadline) && nw < n && !eng.stop) {
			/* Woken at the deadline, off the device. If only the look at
			 * the device was due and the application has been back since
			 * (its calls run the frames and the stack's timers inline,
			 * eng_poll_inline, and push eng.dev_until on), sleep on
			 * without taking the lock from it: a busy client or server
			 * would otherwise meet the engine at the lock every
			 * millisecond. While a thread sleeps with the token, it
			 * watches the device: sleep on until the safety look
			 * (ENG_DEV_CHECK_US after the last one, look_due) instead of
			 * taking the lock at every grace's end (a blocking server
			 * takes the token once per connection: the engine met it at
			 * the lock about once a millisecond). A timer that comes
			 * due, a busy poller, the safety look, or the application
			 * gone for the grace: the loop. */
			uint64_t t = eng_now_us();
			uint64_t du = __atomic_load_n(&eng.dev_until, __ATOMIC_SEQ_CST);
			if (t < eng.bp_until)
				break;
			/* an application thread holds the reads, but threads keep
			 * calling and none has slept since we did: take them back
			 * (eng_claim_reads) */
			if (__atomic_load_n(&eng.reads_away, __ATOMIC_RELAXED) && t - now >= ENG_CLAIM_IDLE_US &&
			    __atomic_load_n(&eng.dev_takes, __ATOMIC_RELAXED) == takes0 &&
			    !__atomic_load_n(&eng.dev_waiter, __ATOMIC_SEQ_CST) && eng_trylock()) {
				if (netdev_rx_claim(eng.dev, 1) == 0) {
					__atomic_store_n(&eng.reads_away, 0, __ATOMIC_RELAXED);
					eng.tok_run = 0;
					/* a busy program: not again at its next sleeps */
					eng.claim_after = t + ENG_CLAIM_HOLD_US;
				}
				eng_unlock();
			}
			if (d && t >= d) {
				/* The deadline we slept to came due, but the application
				 * may have stopped or moved that timer since (a probe
				 * timer armed by each response and stopped by its ACK:
				 * the engine met the application at the lock about
				 * once per connection of a blocking server). Look with
				 * the lock only if it is free; while the application
				 * holds it, retry shortly, up to ENG_TIMER_SLACK_US
				 * late, then wait for it. */
				if (!eng_trylock()) {
					if (t - d >= ENG_TIMER_SLACK_US)
						break;
					deadline = (int64_t)(t + ENG_TIMER_RETRY_US);
					__atomic_store_n(&eng.sleep_until, (uint64_t)deadline, __ATOMIC_SEQ_CST);
					continue;
				}
				uint64_t nd = stack_next_deadline(eng.st);
				if (nd && nd <= t) {
					locked = 1;
					break;
				}
				d = nd;
				eng_unlock();
			}
			if (__atomic_load_n(&eng.dev_waiter, __ATOMIC_SEQ_CST)) {
				if (look_due == UINT64_MAX)
					look_due = t + ENG_DEV_CHECK_US;
				else if (t >= look_due)
					break;
				du = look_due;
			} else if (t >= du) {
				break;
			}
			deadline = d && d < du ? (int64_t)d : (int64_t)du;
			__atomic_store_n(&eng.sleep_until, (uint64_t)deadline, __ATOMIC_SEQ_CST);
		}
		/* a busy poller runs the stack: leave the lock to it */
		while (!locked && eng_busy_poll_us && n == 2 && !__atomic_load_n(&eng.stop, __ATOMIC_RELAXED)) {
			__atomic_store_n(&eng.dev_unwatched, 1, __ATOMIC_SEQ_CST);
			if (!__atomic_load_n(&eng.bp_active, __ATOMIC_SEQ_CST))
				break;
			eng_wait(p, 1, (int64_t)eng_now_us() + (int64_t)eng_bp_grace());
		}
		if (!locked)
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
	int r = pthread_create(&eng.thread, NULL, eng_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	eng.thread_up = 1;
	return 0;
}

/* The atfork hooks serve a fork() that did not come through our wrapper
 * (a raw clone, glibc-internal forks such as daemon(3)'s): the child never
 * touches the stack; inherited nstack fds become close-only and new
 * AF_INET sockets go to the kernel. */
static void eng_atfork_prepare(void)
{
	if (!eng.forking)
		eng_lock();
}

static void eng_atfork_parent(void)
{
	if (!eng.forking)
		eng_unlock();
}

static void eng_atfork_child(void)
{
	if (eng.forking)
		return;
	pthread_mutex_init(&eng.lock, NULL);
	eng.lockp = &eng.lock;
	eng.st = NULL;
	eng.dev = NULL;
	eng.impair = NULL;
	eng.child = 1;
	eng.thread_up = 0;
	eng.kick_fd = -1;
	eng.state = ENG_DISABLED;
	__atomic_store_n(&eng.done, 1, __ATOMIC_RELEASE);
}

/* ---- fork: the child joins the family (family.c) ----------------------- */

/* The child joins lazily: at fork it only records its member slot (a child
 * that execs at once, as most do, costs nothing more); the first time it
 * takes the lock (any call on our sockets, a new socket, a poll) it becomes
 * a full member: our copies of the parent's engine state are reset
 * (threads do not survive fork; the kick eventfd and the device's ring are
 * the parent's), the sockets get their own eventfds, then our own device
 * instance on the inherited interface (shim_dev_fork) and the engine and
 * doorbell threads. Until then the stack goes on in the other members. */
/* In a process forked from a member (a fork child, the keeper): our copy of
 * the engine's state, as if no thread of ours had ever run (threads do not
 * survive fork). */
static void eng_reset_forked(void)
{
	eng.owner = getpid();
	eng.thread_up = 0;
	eng.stop = 0;
	eng.lock_waiters = 0;
	eng.bp_active = 0;
	eng.bp_until = 0;
	eng.dev_waiter = 0;
	eng.dev_until = 0;
	eng.dev_unwatched = 0;
	eng.dev_check_us = 0;
	eng.sleep_until = UINT64_MAX;
	eng.devfd = -1;
	pthread_mutex_init(&eng.lock, NULL);
}

static void eng_fork_child(int slot)
{
	if (fam_fork_child(slot) < 0) {
		/* our parent was killed in fork() and the slot taken back
		 * (fam_reap): a child without the stack, as after a raw fork */
		eng_atfork_child();
		return;
	}
	eng_reset_forked();
	eng.dev_inherited = eng.dev;
	eng.dev = NULL;         /* never bind the stack to the parent's ring */
	__atomic_store_n(&eng.join_pending, 1, __ATOMIC_RELEASE);
}

/* The rest of joining, on the child's first entry (eng_lock, or fd_peek:
 * before any real call on an inherited fd, whose eventfd we replace). */
static __thread int eng_joining;

void eng_join(void)
{
	if (eng_joining)
		return;         /* our own calls while joining */
	eng_joining = 1;
	pthread_mutex_lock(&eng.lock);  /* one joining thread */
	if (!__atomic_load_n(&eng.join_pending, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&eng.lock);
		eng_joining = 0;
		return;
	}
	if (getrandom(&eng.rand_state, sizeof(eng.rand_state), 0) != sizeof(eng.rand_state))
		eng.rand_state ^= eng_now_us() ^ ((uint64_t)getpid() << 32);
	if (eng.kick_fd >= 0)
		REAL(close)(eng.kick_fd);
	eng.kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ctl_forked();
	fd_fork_child();
	eng_lock_raw();
	int err = 0;
	struct netdev *dev = shim_dev_fork(eng.dev_inherited, &err);
	eng.dev_inherited = NULL;
	if (!dev) {
		/* no device of our own: we cannot send; give our share back */
		log_error("fork: the child cannot open the interface: %s", strerror(-err));
		fam_leave();
		eng.st = NULL;
		eng.child = 1;
	} else {
		eng.dev = dev;
		eng.impair = shim_dev_impair(dev);
		fam_child_joined();
		fd_fork_resync();
		if ((err = eng_start_thread()) < 0)
			log_error("fork: engine thread: %s", strerror(-err));
	}
	__atomic_store_n(&eng.join_pending, 0, __ATOMIC_RELEASE);
	int ctl = dev && fam_ctl_claim();
	pthread_mutex_unlock(eng.lockp);
	pthread_mutex_unlock(&eng.lock);
	eng_joining = 0;
	if (ctl)
		ctl_start();    /* the family's control socket had nobody serving it */
}

/* fork(): the child shares the stack and every socket, as on the kernel.
 * Under the lock around the real fork, so that the child's copy of our
 * private state (fd table, nsocks) is consistent and its member slot holds
 * exactly the sockets we hold. */
NST_EXPORT pid_t fork(void)
{
	if (!__atomic_load_n(&eng.done, __ATOMIC_ACQUIRE) || eng.state != ENG_ACTIVE ||
	    !fam_active())
		return REAL(fork)();
	eng_lock();
	int slot = eng.st ? fam_fork_prepare() : -1;
	if (slot < 0) {
		eng_unlock();
		if (eng.st)
			log_warn("fork: %d processes share the stack already; the child's "
				 "inherited sockets are close-only", 64);
		return REAL(fork)();    /* the atfork hooks: a child without the stack */
	}
	eng.forking = 1;
	pid_t pid = REAL(fork)();
	if (pid == 0) {
		eng.forking = 0;
		eng_fork_child(slot);
		return 0;
	}
	int e = errno;
	eng.forking = 0;
	if (pid < 0)
		fam_fork_undo(slot);
	else
		fam_fork_parent(slot, pid);
	eng_unlock();
	errno = e;
	return pid;
}

/* Closed connections still delivering data or a FIN: the kernel would finish
 * them after the process is gone, but our stack goes with the process. So
 * exit waits while they make progress: at most ENG_EXIT_IDLE_US without any,
 * ENG_EXIT_DRAIN_US in all, then resets what is left (nst_exit_abort). Under
 * the lock; the engine thread does the work. */
#define ENG_EXIT_IDLE_US  4000000ull     /* > a few backed-off RTOs of a lost FIN */
#define ENG_EXIT_DRAIN_US 30000000ull
static void eng_exit_drain(void)
{
	uint64_t start = eng_now_us(), last = start;
	size_t left = nst_exit_pending(eng.st);
	while (left && eng.thread_up) {
		uint64_t now = eng_now_us();
		if (now - last > ENG_EXIT_IDLE_US || now - start > ENG_EXIT_DRAIN_US) {
			/* no process will retransmit them any more: tell the peers */
			unsigned n = nst_exit_abort(eng.st, now);
			log_warn("exit: %zu bytes of closed connections not delivered; %u reset",
				 left, n);
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

/* Under the lock, at the exit of a member whose family goes on: stop our
 * engine, give our device's buffers back to the shared pool, unlock. */
static void eng_member_stop(void)
{
	eng.stop = 1;
	eng_kick();
	eng_unlock();
	if (eng.thread_up) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ENG_EXIT_WAIT_S;
		if (pthread_timedjoin_np(eng.thread, NULL, &ts) == 0)
			eng.thread_up = 0;
	}
	eng_lock();
	if (!eng.thread_up && eng.dev) {
		eng_drive(eng_now_us());        /* frames our device took already */
		fam_unbind();
		netdev_close(eng.dev);
		eng.dev = NULL;
	}
	eng.st = NULL;          /* our doorbell thread ends; late calls get EBADF */
	eng_unlock();
}

/* The keeper: when the last member exits while closed connections still
 * owe data or a FIN (or datagrams wait for ARP), a process of the family
 * that does only that, as the kernel finishes them after a process is
 * gone; the exit itself does not wait. Forked from the exiting process
 * (under the lock): it keeps the arena and the device's fd, closes every
 * other descriptor (a shell's pipe must see its EOF), takes the device over
 * with a ring of its own, drains as a lone process's exit did (bounded by
 * ENG_EXIT_IDLE_US / ENG_EXIT_DRAIN_US), leaves the family and ends. It
 * serves the control socket meanwhile (it is a member), so a program that
 * starts on the interface joins it. 0 in the exiting process once the
 * keeper runs; -1 if there is none (the caller drains itself). */
static void eng_log_none(int level, const char *fmt, ...)
{
	(void)level, (void)fmt;
}

static int eng_keeper(void)
{
	if (!eng.arena || eng.loopback || !eng.dev)
		return -1;
	struct nst_config c;
	if (nst_config_from_env(&c, ENG_MAX_SOCKETS, eng_log_none) <= 0)
		return -1;
	int memfd = shm_arena_fd(eng.arena), devfd = shim_dev_fd(eng.dev);
	if (devfd < 0)
		return -1;
	int slot = fam_keeper_prepare();
	if (slot < 0)
		return -1;
	eng.forking = 1;
	pid_t pid = REAL(fork)();
	if (pid < 0) {
		eng.forking = 0;
		fam_fork_undo(slot);
		return -1;
	}
	if (pid > 0) {
		eng.forking = 0;
		fam_fork_parent(slot, pid);
		return 0;
	}
	/* the keeper; the lock stays the exiting process's until it lets go */
	eng.forking = 0;
	setsid();
	int lo = memfd < devfd ? memfd : devfd, hi = memfd < devfd ? devfd : memfd;
	syscall(SYS_close_range, 3u, (unsigned)lo - 1, 0u);
	syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0u);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2)
		REAL(close)(null);
	fd_forget_all();        /* the exiting process's sockets are not ours */
	if (fam_fork_child(slot) < 0)
		REAL(exit_)(0);         /* the exiting process died meanwhile: nothing to keep */
	eng_reset_forked();
	eng.dev = NULL;         /* the exiting process's chain: its fds are closed */
	eng.kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (getrandom(&eng.rand_state, sizeof(eng.rand_state), 0) != sizeof(eng.rand_state))
		eng.rand_state ^= eng_now_us() ^ ((uint64_t)getpid() << 32);
	struct shim_dev_spec spec = c.dev;
	spec.opts.arm_wake = eng_kick;
	spec.adopt = true;
	spec.adopt_fd = devfd;
	spec.have_mac = true;
	memcpy(spec.mac, fam_mac(), 6);
	spec.pcap = NULL;
	struct shim_dev sd;
	int fail;
	eng_lock_raw();
	if (shim_dev_open(&spec, &sd, &fail) < 0) {
		fam_leave_unjoined();
		eng_unlock();
		REAL(exit_)(0);
	}
	eng.dev = sd.dev;
	eng.impair = sd.impair;
	fam_child_joined();
	(void)eng_start_thread();
	eng_exit_drain();
	if (!fam_leave()) {
		eng.stop = 1;
		eng_kick();
	}
	eng_unlock();
	REAL(exit_)(0);
	return 0;
}

/* At exit: end every connection on the wire and stop the engine, bounded. */
static void eng_exit(void)
{
	if (getpid() != eng.owner || !eng.st)
		return;
	if (__atomic_load_n(&eng.join_pending, __ATOMIC_ACQUIRE)) {
		/* a child that never used the stack: let go of its share; join
		 * only if that closes a connection (its FIN goes through us) */
		eng_lock_raw();
		int r = fam_leave_unjoined();
		eng_unlock();
		if (r == 0)
			return;
		eng_join();
		if (!eng.st)
			return;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ENG_EXIT_WAIT_S;
	int r = pthread_mutex_timedlock(eng.lockp, &ts);
	if (r != 0 && r != EOWNERDEAD) {
		log_warn("exit: stack busy, connections not closed");
		return;
	}
	eng_locked(r);
	if (fam_leave()) {
		/* the family goes on: it finishes what our closes started */
		eng_member_stop();
		return;
	}
	nst_close_all(eng.st, eng_now_us());
	eng_after();
	/* What is owed is usually a FIN whose ACK is a round trip away: wait
	 * that long before a keeper (a fork) is worth it. */
	uint64_t quick = eng_now_us() + ENG_EXIT_QUICK_US;
	while (nst_exit_pending(eng.st) && eng.thread_up && eng_now_us() < quick) {
		eng_unlock();
		eng_block(NULL, 0, (int64_t)eng_now_us() + 500, NULL);
		eng_lock();
	}
	if (nst_exit_pending(eng.st) && eng_keeper() == 0) {
		/* a keeper finishes what is owed; the exit does not wait */
		if (fam_leave())
			eng_member_stop();
		else
			eng_unlock();
		return;
	}
	eng_exit_drain();
	eng.stop = 1;
	eng_kick();
	eng_unlock();
	if (eng.thread_up) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += ENG_EXIT_WAIT_S;
		if (pthread_timedjoin_np(eng.thread, NULL, &ts) == 0)
			eng.thread_up = 0;
	}
}

static void eng_hooks(void)
{
	static int hooks;
	if (!hooks) {
		pthread_atfork(eng_atfork_prepare, eng_atfork_parent, eng_atfork_child);
		atexit(eng_exit);
		hooks = 1;
	}
}

/* The arena's size: virtual, sparse (untouched pages cost nothing): the
 * rings' cap twice over (power-of-two blocks) and room for the tables and
 * packet pools. */
static size_t eng_arena_size(uint64_t mem_max)
{
	return (size_t)(2 * mem_max) + ((size_t)1 << 30);
}

/* exec (exec.c): what the kernel does with a process's sockets. Before the
 * real exec: let go of what exec closes (family.c fam_exec_release), then
 * stop our engine and give our device back (the new image has neither).
 * The sockets that survive (descriptors without FD_CLOEXEC) are handed to
 * the new image: the arena's memfd and the device's fd are kept open
 * across the exec (duplicates without FD_CLOEXEC), and NSTACK_FAMILY in
 * the new environment names them, our member slot and each surviving
 * fd:sd; the new image's constructor maps the arena again and goes on as
 * the same member (eng_family_ctor). Not in a vfork() child (the parent's
 * memory). Returns the environment to exec with (envp, or a copy with
 * NSTACK_FAMILY), which eng_exec_failed undoes. */
#define ENG_FAMILY_ENV "NSTACK_FAMILY"
#define ENG_FAMILY_MAX 4096     /* bytes of the variable: ~300 sockets */

static char  eng_family_var[ENG_FAMILY_MAX];
static int   eng_exec_fds[2] = { -1, -1 };

struct eng_pairs {
	char  *p, *end;
	int    n;
};

static void eng_exec_pair(int fd, int sd, void *arg)
{
	struct eng_pairs *x = arg;
	int w = snprintf(x->p, (size_t)(x->end - x->p), ";%d:%d", fd, sd);
	if (w > 0 && x->p + w < x->end) {
		x->p += w;
		x->n++;
	}
}

/* Under the lock: the variable for the new image, and the two fds kept. */
static int eng_exec_handover(int devfd)
{
	int mfd = fcntl(shm_arena_fd(eng.arena), F_DUPFD, 3);
	int dfd = devfd >= 0 ? fcntl(devfd, F_DUPFD, 3) : -1;
	if (mfd < 0 || (devfd >= 0 && dfd < 0)) {
		if (mfd >= 0)
			REAL(close)(mfd);
		return -1;
	}
	struct eng_pairs x = { eng_family_var, eng_family_var + sizeof(eng_family_var), 0 };
	x.p += snprintf(x.p, sizeof(eng_family_var), ENG_FAMILY_ENV "=%d,%d,%d,%d", (int)getpid(),
			mfd, dfd, fam_member());
	fd_each_inherited(eng_exec_pair, &x);
	eng_exec_fds[0] = mfd;
	eng_exec_fds[1] = dfd;
	return 0;
}

/* envp with our variable (any old one dropped), in a static array. */
static char *const *eng_exec_env(char *const envp[])
{
	static char *env[8192];
	size_t n = 0;
	for (size_t i = 0; envp && envp[i] && n < sizeof(env) / sizeof(env[0]) - 2; i++)
		if (strncmp(envp[i], ENG_FAMILY_ENV "=", sizeof(ENG_FAMILY_ENV)))
			env[n++] = envp[i];
	env[n++] = eng_family_var;
	env[n] = NULL;
	return env;
}

char *const *eng_before_exec(char *const envp[])
{
	if (getpid() != eng.owner || !eng.st || !fam_active())
		return envp;
	if (__atomic_load_n(&eng.join_pending, __ATOMIC_ACQUIRE)) {
		eng_lock_raw();
		int r = fam_exec_release(0);
		int keep = 0;
		if (r == 0) {
			if (fam_holds_any())
				keep = eng_exec_handover(shim_dev_fd(eng.dev_inherited)) == 0;
			else
				(void)fam_leave_unjoined();
		}
		eng_unlock();
		if (r == 0)
			return keep ? eng_exec_env(envp) : envp;
		eng_join();     /* a last close to send: through a device of ours */
		if (!eng.st)
			return envp;
	}
	eng_lock();
	fam_exec_release(1);
	int keep = 0;
	if (fam_holds_any())
		keep = eng_exec_handover(shim_dev_fd(eng.dev)) == 0;
	else
		(void)fam_leave();
	eng_member_stop();
	return keep ? eng_exec_env(envp) : envp;
}

/* The exec failed: the kept fds go (the engine stays stopped: the sockets
 * we held answer EBADF from now on, as after a failed join). */
void eng_exec_failed(void)
{
	for (int i = 0; i < 2; i++)
		if (eng_exec_fds[i] >= 0) {
			REAL(close)(eng_exec_fds[i]);
			eng_exec_fds[i] = -1;
		}
}

/* ---- a new image of a member (after exec) ------------------------------ */

static void eng_hooks(void);
static int eng_start_thread(void);

/* Map the arena (memfd) at its address, become member `slot` of the family
 * in it, take the device over (dfd: a TAP fd or AF_PACKET socket of the
 * stack), adopt the sockets "fd:sd;..." names (NULL: none). Under eng.lock.
 * ENG_ACTIVE, or -errno (both fds closed; an exec's inherited sockets stay
 * held until the process ends). */
static int eng_attach_fds(const struct nst_config *c, int mfd, int dfd, int slot,
			  const char *pairs)
{
	struct shm_arena *a = NULL;
	struct stack *st = NULL;
	int err = shm_arena_attach(mfd, &a);
	if (err < 0 || !(st = fam_attach(a, slot))) {
		log_error("cannot map the stack of interface %s: %s", c->ifname,
			  err < 0 ? strerror(-err) : "not a member");
		if (a)
			shm_arena_close(a);
		else
			REAL(close)(mfd);
		if (dfd >= 0)
			REAL(close)(dfd);
		return err < 0 ? err : -EINVAL;
	}
	eng_busy_poll_us = c->busy_poll_us;
	eng.arena = a;
	struct shim_dev_spec spec = c->dev;
	spec.opts.arm_wake = eng_kick;
	spec.adopt = true;
	spec.adopt_fd = dfd;
	spec.have_mac = true;           /* the stack's, not one derived from our pid */
	memcpy(spec.mac, fam_mac(), 6);
	char pcap[4096];
	if (spec.pcap) {
		snprintf(pcap, sizeof(pcap), "%s.%d", spec.pcap, (int)getpid());
		spec.pcap = pcap;
	}
	struct shim_dev sd;
	int fail;
	if ((err = shim_dev_open(&spec, &sd, &fail)) < 0 || (err = fd_table_init()) < 0) {
		log_error("interface %s: %s", c->ifname, strerror(-err));
		return err;
	}
	if (getrandom(&eng.rand_state, sizeof(eng.rand_state), 0) != sizeof(eng.rand_state))
		eng.rand_state = eng_now_us() ^ ((uint64_t)getpid() << 32);
	eng.kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	nwait_fd_reserve(eng.kick_fd);     /* before our threads: no RCU grace period */
	eng.st = st;
	eng.dev = sd.dev;
	eng.impair = sd.impair;
	eng.loopback = 0;
	eng.owner = getpid();
	eng.lockp = shm_stack_lock(a);
	ctl_set_ifname(c->ifname);
	eng_lock();
	fam_child_joined();
	for (const char *p = pairs; p && *p == ';';) {
		int fd, s, n = 0;
		if (sscanf(p, ";%d:%d%n", &fd, &s, &n) != 2 || n == 0)
			break;
		if (nsock_adopt(fd, s) < 0)
			log_warn("exec: fd %d: cannot adopt socket %d", fd, s);
		p += n;
	}
	fd_fork_resync();
	if ((err = eng_start_thread()) < 0)
		log_error("engine thread: %s", strerror(-err));
	int ctl = fam_ctl_claim();
	eng_unlock();
	if (ctl)
		ctl_start();
	eng_hooks();
	return ENG_ACTIVE;
}

/* NSTACK_FAMILY=pid,memfd,devfd,slot;fd:sd;...: a new image of member slot,
 * the same process (pid) as the image that exec'd. -ENOENT (nothing touched,
 * the process configures as any other) for a variable another process left. */
static int eng_attach(const char *v)
{
	int pid, mfd, dfd, slot, off = 0;
	if (sscanf(v, "%d,%d,%d,%d%n", &pid, &mfd, &dfd, &slot, &off) != 4 || pid != getpid())
		return -ENOENT; /* not ours: a program exec'd by another left it in the environment */
	struct nst_config c;
	(void)nst_config_log(&nst_log_level);
	int err = nst_config_from_env(&c, ENG_MAX_SOCKETS, eng_config_log);
	if (err <= 0 || c.dev.kind == SHIM_DEV_LOOP) {
		log_error("exec: NSTACK_IF is not set any more: inherited sockets are closed "
			  "when this process ends");
		REAL(close)(mfd);
		if (dfd >= 0)
			REAL(close)(dfd);
		return ENG_DISABLED;
	}
	err = eng_attach_fds(&c, mfd, dfd, slot, v + off);
	return err == ENG_ACTIVE ? ENG_ACTIVE : ENG_DISABLED;
}

/* Another program serves the interface: join its stack through the
 * family's control socket (ctl.c ctl_join). -ENOENT if nobody serves it;
 * -EADDRINUSE if it is served with another address; else eng_attach_fds. */
static int eng_try_join(const struct nst_config *c)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (c->dev.kind == SHIM_DEV_LOOP || ctl_join_path(c->ifname, path, sizeof(path)) < 0)
		return -ENOENT;
	memcpy(sa.sun_path, path, sizeof(path));
	int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -ENOENT;
	struct timeval tv = { 2, 0 };
	REAL(setsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (REAL(connect)(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    REAL(write)(fd, "join\n", 5) != 5) {
		REAL(close)(fd);
		return -ENOENT;
	}
	char line[96] = { 0 };
	int fds[2] = { -1, -1 };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(fds))];
	} u;
	struct iovec iov = { line, sizeof(line) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	ssize_t n = REAL(recvmsg)(fd, &m, MSG_CMSG_CLOEXEC);
	REAL(close)(fd);
	int nfd = 0;
	for (struct cmsghdr *h = n > 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			nfd = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(h), (size_t)(nfd < 2 ? nfd : 2) * sizeof(int));
		}
	int slot;
	unsigned addr, plen;
	if (n <= 0 || sscanf(line, "ok %d %u %u", &slot, &addr, &plen) != 3 || nfd < 1) {
		for (int i = 0; i < nfd && i < 2; i++)
			REAL(close)(fds[i]);
		line[strcspn(line, "\n")] = 0;
		log_error("interface %s: served by another program, which refused to share it (%s)",
			  c->ifname, n > 0 ? line : strerror(errno));
		return -EBUSY;
	}
	if (addr != c->addr || plen != c->prefix_len) {
		char a[INET_ADDRSTRLEN];
		struct in_addr ia = { htonl(addr) };
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		log_error("interface %s: served by another program as %s/%u, not the address "
			  "configured here", c->ifname, a, plen);
		REAL(close)(fds[0]);
		if (nfd > 1)
			REAL(close)(fds[1]);
		return -EADDRINUSE;
	}
	log_info("interface %s: joined the stack of another program (member %d)", c->ifname, slot);
	return eng_attach_fds(c, fds[0], nfd > 1 ? fds[1] : -1, slot, NULL);
}

__attribute__((constructor)) static void eng_family_ctor(void)
{
	const char *v = getenv(ENG_FAMILY_ENV);
	if (!v)
		return;
	char copy[ENG_FAMILY_MAX];
	snprintf(copy, sizeof(copy), "%s", v);
	unsetenv(ENG_FAMILY_ENV);       /* ours alone: not for the programs we run */
	pthread_mutex_lock(&eng.lock);
	if (!eng.done) {
		int r = eng_attach(copy);
		if (r != -ENOENT) {
			eng.state = r;
			__atomic_store_n(&eng.done, r == ENG_ACTIVE, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&eng.lock);
}

/* _exit(), _Exit(): the kernel closes a process's descriptors however it
 * ends; so do we (a forking server's child typically ends with _exit: its
 * share of the sockets, its device's buffers and the frames its device
 * took must not wait for the others to notice it is gone). Only in the
 * process that owns the engine state: a vfork() child runs in its parent's
 * memory and must touch nothing. */
NST_EXPORT void _exit(int status)
{
	if (getpid() == eng.owner) {
		ctl_stop();
		eng_exit();
	}
	REAL(exit_)(status);
	__builtin_unreachable();
}

NST_EXPORT void _Exit(int status)
{
	_exit(status);
}

/* Read NSTACK_* (config/), open the device (shim_dev_open), create the
 * stack, start the engine. Under the lock. Every failure prints one line and
 * returns -errno. */
static int eng_configure(void)
{
	struct nst_config c;
	int err;

	(void)nst_config_log(&nst_log_level);
	err = nst_config_from_env(&c, ENG_MAX_SOCKETS, eng_config_log);
	if (err <= 0)
		return err < 0 ? err : ENG_DISABLED;
	eng_busy_poll_us = c.busy_poll_us;
	/* Another program serves the interface already: share its stack, as a
	 * second program on the kernel shares the kernel's. */
	if ((err = eng_try_join(&c)) != -ENOENT)
		return err;

	struct stack_config cfg = {
		.addr = c.addr, .prefix_len = c.prefix_len, .gw = c.gw, .loopback = c.loopback,
		.mem_max = c.mem_max, .max_sockets = c.max_sockets,
		.prefix6_len = c.prefix6_len, .no_ipv6 = c.no_ipv6,
	};
	memcpy(cfg.addr6.b, c.addr6, sizeof(cfg.addr6.b));     /* NSTACK_ADDR6; ::: none */
	memcpy(cfg.gw6.b, c.gw6, sizeof(cfg.gw6.b));           /* NSTACK_GW6; ::: none */
	const char *ifname = c.ifname;
	int lo = c.loopback;

	/* The stack's memory: a shared arena (shm.c) that fork() children
	 * share, so the family has one stack (family.c); plain calloc if the
	 * arena cannot be made (then a child's inherited sockets are
	 * close-only, as a second stack would need its own interface). */
	static struct nst_mem_ops mem;
	static int pool_ready;
	if (!pool_ready) {
		struct shm_arena *a;
		err = shm_arena_create(eng_arena_size(c.mem_max), &a);
		if (err == 0) {
			eng.arena = a;
			mem = (struct nst_mem_ops){ shm_zalloc, shm_free, a, shm_alloc };
		} else {
			log_warn("shared memory: %s; a forked child will not share the stack",
				 strerror(-err));
		}
		err = pkt_pool_init_mem(ENG_PKT_POOL, ENG_PKT_POOL_LARGE, eng.arena ? &mem : NULL);
		if (err < 0) {
			log_error("packet pool: %s", strerror(-err));
			return err;
		}
		pool_ready = 1;
	}
	cfg.mem = mem;

	struct shim_dev sd;
	int fail;
	c.dev.opts.arm_wake = eng_kick;
	err = shim_dev_open(&c.dev, &sd, &fail);
	/* Two programs starting at once: the other one got the interface
	 * first and will serve it; join it once its control socket is up. */
	for (int i = 0; err == -EBUSY && fail == SHIM_FAIL_DEV && i < 20; i++) {
		if (eng.arena) {
			/* the other stack's arena goes where ours is */
			pkt_pool_attach(NULL);
			shm_arena_close(eng.arena);
			eng.arena = NULL;
			pool_ready = 0;
			memset(&mem, 0, sizeof(mem));
		}
		int j = eng_try_join(&c);
		if (j != -ENOENT) {
			if (eng.arena && j == ENG_ACTIVE)
				log_debug("joined after the interface was busy");
			return j;
		}
		usleep(50000);
	}
	if (c.impair && (!err || fail == SHIM_FAIL_PCAP))
		log_info("impairment: %s", c.impair);
	if (err < 0) {
		if (fail == SHIM_FAIL_IMPAIR)
			log_error("NSTACK_IMPAIR: %s", strerror(-err));
		else if (fail == SHIM_FAIL_PCAP)
			log_error("NSTACK_PCAP=%s: %s", c.dev.pcap, strerror(-err));
		else
			log_error("interface %s: %s", ifname, strerror(-err));
		return err;
	}
	struct netdev *dev = sd.dev;

	if (getrandom(&eng.rand_state, sizeof(eng.rand_state), 0) != sizeof(eng.rand_state))
		eng.rand_state = eng_now_us() ^ ((uint64_t)getpid() << 32);
	cfg.rand64 = eng_rand64;
	cfg.rand_ctx = &eng.rand_state;
	eng_ts_key(cfg.ts_key);

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
	eng.kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (eng.kick_fd < 0) {
		err = -errno;
		log_error("eventfd: %s", strerror(-err));
		stack_destroy(st);
		netdev_close(dev);
		return err;
	}
	if (eng.arena && (err = fam_create(eng.arena, st)) < 0) {
		log_error("cannot create the stack: %s", strerror(-err));
		stack_destroy(st);
		netdev_close(dev);
		return err;
	}
	eng.st = st;
	eng.dev = dev;
	eng.impair = sd.impair;
	eng.loopback = lo;
	stack_set_notify(st, fam_notify, NULL);
	if (eng.arena) {
		/* from here on the stack's lock is the arena's: take it before
		 * the engine thread can */
		eng.lockp = shm_stack_lock(eng.arena);
		eng_lock();
	}
	nwait_fd_reserve(eng.kick_fd);     /* before our thread: no RCU grace period */
	err = eng_start_thread();
	if (err < 0) {
		log_error("engine thread: %s", strerror(-err));
		if (eng.arena) {
			eng_unlock();
			eng.lockp = &eng.lock;
		}
		eng.st = NULL;
		stack_destroy(st);
		netdev_close(dev);
		REAL(close)(eng.kick_fd);
		eng.kick_fd = -1;
		return err;
	}
	eng.owner = getpid();
	ctl_set_ifname(ifname);
	ctl_stack_created(st);  /* ctl.c: control socket for nstack ss/stats, state log */
	eng_hooks();
	if (lo) {
		log_info("in-process loopback, 127.0.0.0/8 and ::1");
	} else {
		char a[INET_ADDRSTRLEN];
		struct in_addr ia = { htonl(cfg.addr) };
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		log_info("%s/%u on %s (%s, %s)", a, cfg.prefix_len, ifname,
			 c.dev.kind == SHIM_DEV_PACKET ? "AF_PACKET" : "TAP",
			 (dev->features & NETDEV_F_TSO) ? "offloads on" : "offloads off");
	}
	if (eng.arena)
		eng_unlock();
	return ENG_ACTIVE;
}

/* Configuration runs once, under eng.lock itself (eng.lockp moves to the
 * arena's lock on the way). */
int eng_ensure(void)
{
	if (__atomic_load_n(&eng.done, __ATOMIC_ACQUIRE))
		return eng.state;
	pthread_mutex_lock(&eng.lock);
	if (!eng.done) {
		eng.state = eng_configure();
		__atomic_store_n(&eng.done, 1, __ATOMIC_RELEASE);
	}
	int r = eng.state;
	pthread_mutex_unlock(&eng.lock);
	return r;
}
