/* Which fds are ours, and the readiness of the eventfd behind each of them.
 *
 * Every nstack socket is a real kernel fd: an eventfd. fd_tab maps fd ->
 * struct nsock (several fds after dup), sd_map maps the stack's sd -> nsock
 * for the notify callback. The eventfd is readable exactly while the socket
 * has an event its epoll sets asked for: members count themselves per event
 * (n_in, n_out, n_any) and nsock_update() writes or drains the eventfd only
 * when the answer changes, so a busy connection costs no syscall per packet.
 *
 * A thread blocked in a call (nsock_wait) or in poll/select never sleeps on
 * that eventfd: an EPOLLOUT member keeps it readable nearly always, which
 * would make the waiter spin, and close() by another thread hands its number
 * to the next open file. It sleeps on its own per-thread wake eventfd
 * instead, listed on the socket (struct nwait) with the events it waits for;
 * nsock_notify writes it once when one of them comes up.
 *
 * A socket lives while an fd names it (refs) or a call runs on it (calls,
 * nsock_hold): the connection ends at the last of both, as Linux's last fput.
 *
 * Everything here runs under eng.lock except fd_peek(), the lock-free test
 * that keeps calls on kernel fds at one table lookup.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "preload.h"
#include "stack/tcp_state.h"

static struct nsock **fd_tab;   /* published once, never freed */
static unsigned fd_cap;
static int fd_hi = -1;          /* highest fd ever mapped: bounds the rare scans */

static struct nsock **sd_map;
static unsigned sd_cap;

/* A table of pointers indexed by fd, sized by the hard RLIMIT_NOFILE (the
 * soft limit may rise up to it); mmap'ed so untouched pages cost nothing.
 * NULL if the mapping fails. */
void **fd_indexed_table(unsigned *cap)
{
	struct rlimit rl;
	rlim_t n = 1u << 20;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		n = rl.rlim_max;
	if (n < 1024)
		n = 1024;
	void *p = mmap(NULL, n * sizeof(void *), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	*cap = (unsigned)n;
	return p;
}

int fd_table_init(void)
{
	if (fd_tab)
		return 0;
	unsigned n;
	void **p = fd_indexed_table(&n);
	if (!p)
		return -ENOMEM;
	__atomic_store_n(&fd_cap, n, __ATOMIC_RELAXED);
	__atomic_store_n(&fd_tab, (struct nsock **)p, __ATOMIC_RELEASE);
	return 0;
}

struct nsock *fd_peek(int fd)
{
	eng_join_check();
	struct nsock **tab = __atomic_load_n(&fd_tab, __ATOMIC_ACQUIRE);
	if (!tab || fd < 0 || (unsigned)fd >= fd_cap)
		return NULL;
	return __atomic_load_n(&tab[fd], __ATOMIC_RELAXED);
}

struct nsock *fd_get(int fd)
{
	if (!fd_tab || fd < 0 || (unsigned)fd >= fd_cap)
		return NULL;
	return fd_tab[fd];
}

int fd_lock(int fd, struct nsock **sp)
{
	if (!fd_peek(fd))
		return 0;
	eng_lock();
	struct nsock *s = fd_get(fd);
	if (!s) {
		eng_unlock();
		return 0;
	}
	if (!eng.st || s->sd < 0) {
		eng_unlock();
		return -EBADF;
	}
	*sp = s;
	return 1;
}

const struct sock_ops *fd_ops(int fd)
{
	struct nsock *p = fd_peek(fd);
	return p ? __atomic_load_n(&p->ops, __ATOMIC_RELAXED) : NULL;
}

int sock_enter(int fd, struct nsock **sp)
{
	int r = fd_lock(fd, sp);
	if (r > 0) {
		nsock_hold(*sp);
		eng_poll_inline();      /* frames that wait are this thread's to run */
	}
	return r;
}

ssize_t sock_leave(struct nsock *s, ssize_t r)
{
	nsock_drop(s);
	eng_unlock();
	return r;
}

int fd_map(int fd, struct nsock *s)
{
	if (fd < 0 || (unsigned)fd >= fd_cap)
		return -EMFILE;         /* beyond the table (hard RLIMIT_NOFILE > 2^20) */
	if (fd_tab[fd])
		fd_unmap(fd);   /* stale: closed behind our back (raw syscall) */
	__atomic_store_n(&fd_tab[fd], s, __ATOMIC_RELAXED);
	s->refs++;
	if (fd > fd_hi)
		fd_hi = fd;
	return 0;
}

static void nsock_free_if_unused(struct nsock *s)
{
	if (s->refs == 0 && s->pins == 0 && s->calls == 0)
		free(s);
}

static __thread int nwait_tls_fd = -1;
/* Set while this thread runs a stack pass of its own wait (eng_block_dev,
 * nwait_self_pass) after which it looks at its sockets again anyway. */
static __thread int nwait_tls_self;

void nwait_self_pass(int on)
{
	nwait_tls_self = on;
}

int nwait_self_pass_on(void)
{
	return nwait_tls_self;
}

/* Wake a waiter: write its thread's wake fd, once per wait. A waiter of the
 * thread that runs this pass itself, which looks again when the pass ends,
 * is only marked (fired 2): writing its own eventfd would cost that write
 * and the read that drains it before the next wait, two system calls per
 * wake-up of a blocking call. */
static void nwait_wake(struct nwait *w)
{
	uint64_t one = 1;
	if (w->fired)
		return;
	if (nwait_tls_self && w->wfd == nwait_tls_fd) {
		w->fired = 2;
		return;
	}
	(void)!REAL(write)(w->wfd, &one, sizeof(one));
	w->fired = 1;
}

/* The stack forgets the socket; the nsock lives on while pinned by waiters. */
static void nsock_release(struct nsock *s)
{
	if (s->sd < 0)
		return;
	if ((unsigned)s->sd < sd_cap && sd_map[s->sd] == s)
		sd_map[s->sd] = NULL;
	/* wake waiters blocked on this socket: they find it gone (EBADF) */
	for (struct nwait *w = s->waiters; w; w = w->next)
		nwait_wake(w);
	/* the connection ends with the family's last descriptor (family.c).
	 * Close before letting go: killed in between, our share is still there
	 * for fam_bury, whose second close is a no-op (EBADF); the other way
	 * round the socket would be left held by nobody, never closed. */
	if (eng.st && fam_sock_last(s->sd)) {
		nst_close(eng.st, s->sd, eng_now_us());
		eng_after();
	}
	if (eng.st)
		fam_sock_put(s->sd);
	s->sd = -1;
}

void fd_unmap(int fd)
{
	struct nsock *s = fd_get(fd);
	if (!s)
		return;
	__atomic_store_n(&fd_tab[fd], NULL, __ATOMIC_RELAXED);
	s->refs--;
	if (s->refs > 0 && s->efd == fd) {
		/* notify must write through an fd that stays open: pick another */
		for (int i = 0; i <= fd_hi; i++)
			if (fd_tab[i] == s) {
				s->efd = i;
				break;
			}
	}
	if (s->refs == 0) {
		/* no fd names it any more: the number may be reused at once */
		s->efd = -1;
		s->signalled = 0;
		if (s->ep_members) {
			/* each membership pins s: keep it alive until the loop is done */
			s->pins++;
			ep_sock_gone(s);
			s->pins--;
		}
		if (s->calls == 0)
			nsock_release(s);
		nsock_free_if_unused(s);
	}
}

void nsock_hold(struct nsock *s)
{
	s->calls++;
}

/* Linux: the blocked call's fdput is the last fput -> sock_close -> FIN. */
void nsock_drop(struct nsock *s)
{
	if (--s->calls > 0 || s->refs > 0)
		return;
	nsock_release(s);
	nsock_free_if_unused(s);
}

struct nsock *nsock_new(int sd, const struct sock_ops *ops, int protocol, int nonblock)
{
	struct nsock *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->sd = sd;
	s->efd = -1;
	s->ops = ops;
	s->protocol = protocol;
	s->nonblock = nonblock;
	s->family = eng.st && nst_sock_family(eng.st, sd) == NST_AF_INET6 ? AF_INET6 : AF_INET;
	return s;
}

int nsock_attach(struct nsock *s, int cloexec)
{
	if ((unsigned)s->sd >= sd_cap) {
		unsigned n = sd_cap ? sd_cap : 256;
		while (n <= (unsigned)s->sd)
			n *= 2;
		struct nsock **m = realloc(sd_map, n * sizeof(*m));
		if (!m)
			return -ENOMEM;
		memset(m + sd_cap, 0, (n - sd_cap) * sizeof(*m));
		sd_map = m;
		sd_cap = n;
	}
	int efd = eventfd(0, (s->nonblock ? EFD_NONBLOCK : 0) | (cloexec ? EFD_CLOEXEC : 0));
	if (efd < 0)
		return -errno;
	if ((unsigned)efd >= fd_cap) {
		REAL(close)(efd);
		return -EMFILE;
	}
	s->efd = efd;
	sd_map[s->sd] = s;
	fam_sock_new(s->sd);
	fd_map(efd, s);
	return efd;
}

static void nsock_update(struct nsock *s);
static void efd_drain(int efd);

int nsock_all_cloexec(const struct nsock *s)
{
	for (int fd = 0; fd <= fd_hi; fd++) {
		if (fd_tab[fd] != s)
			continue;
		int fl = REAL(fcntl)(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			return 0;
	}
	return 1;
}

/* In the keeper (engine.c): the exiting process's sockets are not ours;
 * forget them without a word to the stack. */
void fd_forget_all(void)
{
	if (sd_map)
		memset(sd_map, 0, sd_cap * sizeof(*sd_map));
	if (fd_tab)
		for (int fd = 0; fd <= fd_hi; fd++)
			fd_tab[fd] = NULL;
	nwait_fd_lost();
}

void fd_each_inherited(void (*fn)(int fd, int sd, void *arg), void *arg)
{
	for (int fd = 0; fd <= fd_hi; fd++) {
		struct nsock *s = fd_tab[fd];
		if (!s || s->sd < 0)
			continue;
		int fl = REAL(fcntl)(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fn(fd, s->sd, arg);
	}
}

/* A new image of a member (exec): fd, an eventfd the old image made for
 * stack socket sd, is ours again. The socket was bound, connected or
 * listening there: no kernel hand-off any more. Under the lock. */
int nsock_adopt(int fd, int sd)
{
	struct nsock *s = (unsigned)sd < sd_cap ? sd_map[sd] : NULL;
	if (!s) {
		/* what it was made as: TCP, UDP, or an ICMP socket (ping, raw) */
		int kind = nst_sock_kind(eng.st, sd);
		const struct sock_ops *ops = kind == NST_SOCK_STREAM ? &tcp_ops
					   : kind == NST_SOCK_PING ? &ping_ops
					   : kind == NST_SOCK_RAW_ICMP ? &raw_ops : &udp_ops;
		int fl = REAL(fcntl)(fd, F_GETFL);
		if (fl < 0)
			return -errno;
		if (!(s = nsock_new(sd, ops, ops->protocol, !!(fl & O_NONBLOCK))))
			return -ENOMEM;
		if ((ops == &ping_ops || ops == &raw_ops) && s->family == AF_INET6)
			s->protocol = IPPROTO_ICMPV6;
		s->committed = 1;
		struct nst_tcp_info ti;
		if (ops == &tcp_ops && nst_tcp_info(eng.st, sd, &ti) == 0 && ti.state == TCP_LISTEN)
			s->listening = 1;
		if ((unsigned)sd >= sd_cap) {
			unsigned n = sd_cap ? sd_cap : 256;
			while (n <= (unsigned)sd)
				n *= 2;
			struct nsock **m = realloc(sd_map, n * sizeof(*m));
			if (!m) {
				free(s);
				return -ENOMEM;
			}
			memset(m + sd_cap, 0, (n - sd_cap) * sizeof(*m));
			sd_map = m;
			sd_cap = n;
		}
		sd_map[sd] = s;
		s->efd = fd;
		efd_drain(fd);
	}
	return fd_map(fd, s);
}

void fd_each_nsock(void (*fn)(struct nsock *s, void *arg), void *arg)
{
	for (unsigned i = 0; i < sd_cap; i++)
		if (sd_map[i])
			fn(sd_map[i], arg);
}

/* In a forked child that joined the family, before anything else runs:
 * the nsocks are our copies of the parent's. No call is in progress and no
 * thread waits here (only the forking thread came along); the epoll
 * memberships are ours. Each socket gets a fresh eventfd on each of its fd
 * numbers (dup3, FD_CLOEXEC kept): the inherited one is the parent's, whose
 * readiness the parent's bookkeeping drives. */
void fd_fork_child(void)
{
	for (unsigned i = 0; i < sd_cap; i++) {
		struct nsock *s = sd_map[i];
		if (!s)
			continue;
		s->calls = 0;
		s->waiters = NULL;
		unsigned pins = 0;
		for (struct epm *m = s->ep_members; m; m = ep_member_next(m))
			pins++;
		s->pins = (int)pins;
		s->signalled = 0;
		int efd = eventfd(0, s->nonblock ? EFD_NONBLOCK : 0);
		if (efd < 0) {
			log_error("fork: eventfd: %s", strerror(errno));
			continue;
		}
		for (int fd = 0; fd <= fd_hi; fd++) {
			if (fd_tab[fd] != s)
				continue;
			int fdfl = REAL(fcntl)(fd, F_GETFD);
			if (REAL(dup3)(efd, fd, (fdfl > 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0)
				log_error("fork: dup3: %s", strerror(errno));
		}
		REAL(close)(efd);
	}
	nwait_fd_forget();
}

/* Then, under the lock: the fresh eventfds say what the sockets have. */
void fd_fork_resync(void)
{
	for (unsigned i = 0; i < sd_cap; i++)
		if (sd_map[i])
			nsock_update(sd_map[i]);
}

void nsock_unpin(struct nsock *s)
{
	s->pins--;
	nsock_free_if_unused(s);
}

/* Make the eventfd not readable. RWF_NOWAIT never blocks even when the app
 * made the eventfd blocking (F_SETFL is forwarded to it). */
static void efd_drain(int efd)
{
	uint64_t v;
	struct iovec iov = { &v, sizeof(v) };
	if (preadv2(efd, &iov, 1, -1, RWF_NOWAIT) >= 0 || errno == EAGAIN)
		return;
	/* kernels without RWF_NOWAIT on eventfd: check first, then read */
	struct pollfd p = { efd, POLLIN, 0 };
	if (REAL(poll)(&p, 1, 0) == 1)
		(void)!REAL(read)(efd, &v, sizeof(v));
}

static short nsock_wanted(const struct nsock *s)
{
	short m = 0;
	if (s->n_in)
		m |= POLLIN | POLLPRI | POLLRDHUP;
	if (s->n_out)
		m |= POLLOUT;
	if (s->n_in || s->n_out || s->n_any)
		m |= POLLERR | POLLHUP;
	return m;
}

static void nwait_check(struct nsock *s);

/* Recompute whether the eventfd should be readable; a syscall only on change,
 * and only if a thread may sleep on it in the kernel (ep_edge_wanted: the
 * interest is epoll's alone, whose shadow waits on the eventfd
 * edge-triggered). Without one, s->signalled follows the socket and the
 * eventfd is left as it is: a stale readable eventfd wakes no edge-triggered
 * waiter, and the first write once one sleeps makes the edge. */
static void nsock_update(struct nsock *s)
{
	int ready = 0;
	short m = nsock_wanted(s);
	if (m && s->sd >= 0 && eng.st)
		ready = (nst_poll(eng.st, s->sd) & (uint32_t)m) != 0;
	if (ready == s->signalled || s->efd < 0)
		return;
	if (s->ep_members && !ep_edge_wanted(s)) {
		s->signalled = ready;
		return;
	}
	if (ready) {
		uint64_t one = 1;
		(void)!REAL(write)(s->efd, &one, sizeof(one));
	} else {
		efd_drain(s->efd);
	}
	s->signalled = ready;
}

/* Edge detection for epoll (Linux wakes epoll on every sk_data_ready, i.e.
 * on each arrival, and on state changes): a new edge is new bytes to read or
 * a changed event mask. Each edge bumps s->gen; edge-triggered members report
 * when gen moved since they last reported. The epoll sets wait on the eventfd
 * edge-triggered (epoll.c), so an edge while the eventfd is already readable
 * needs one more write to wake them -- if one may sleep (ep_edge_wanted). */
static void nsock_edge(struct nsock *s, int was_signalled)
{
	uint32_t m = nst_poll(eng.st, s->sd);
	size_t rx = nst_rx_avail(eng.st, s->sd);
	if (m != s->last_mask || rx > s->last_rx) {
		s->gen++;
		if (was_signalled && s->signalled && s->efd >= 0 && ep_edge_wanted(s)) {
			uint64_t one = 1;
			(void)!REAL(write)(s->efd, &one, sizeof(one));
		}
	}
	s->last_mask = m;
	s->last_rx = rx;
}

/* After the application consumed data or space (recv, send, accept): what it
 * sees now is the base for the next edge, so that a new arrival after a
 * drain, or space after a full buffer, is an edge again. Under the lock. */
void nsock_edge_sync(struct nsock *s)
{
	if (!s->ep_members || !eng.st || s->sd < 0)
		return;
	s->last_mask = nst_poll(eng.st, s->sd);
	s->last_rx = nst_rx_avail(eng.st, s->sd);
}

/* stack_set_notify callback: runs under the lock inside a stack call. */
void nsock_notify(void *ctx, int sd)
{
	(void)ctx;
	if (sd < 0 || (unsigned)sd >= sd_cap || !sd_map[sd])
		return;
	struct nsock *s = sd_map[sd];
	int was = s->signalled;
	nwait_check(s);
	nsock_update(s);
	if (s->ep_members && eng.st && s->sd >= 0)
		nsock_edge(s, was);
}

/* NST_POLL* bits that end a wait for poll events (tcp_poll always reports
 * errors and hang-ups). */
static uint32_t nwait_mask(short events)
{
	uint32_t m = NST_POLLERR | NST_POLLHUP;
	if (events & (POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND))
		m |= NST_POLLIN | NST_POLLPRI | NST_POLLRDHUP;
	if (events & (POLLOUT | POLLWRNORM | POLLWRBAND))
		m |= NST_POLLOUT;
	return m;
}

static void nwait_check(struct nsock *s)
{
	if (!s->waiters)
		return;
	uint32_t m = (s->sd >= 0 && eng.st) ? nst_poll(eng.st, s->sd) : ~0u;
	for (struct nwait *w = s->waiters; w; w = w->next)
		if (!w->fired && (m & w->mask))
			nwait_wake(w);
}

static pthread_key_t nwait_key;
static pthread_once_t nwait_once = PTHREAD_ONCE_INIT;
/* Whether this thread's wake fd may be readable: a waiter of ours fired
 * (nwait_wake wrote it), or a wait saw it readable. A wait that ended
 * otherwise -- the device, a timeout, a signal -- left nothing to drain, and
 * the next wait costs no read. */
static __thread int nwait_tls_dirty;

static void nwait_fd_dtor(void *p)
{
	REAL(close)((int)(intptr_t)p - 1);
}

static int nwait_key_ok;

static void nwait_key_init(void)
{
	nwait_key_ok = pthread_key_create(&nwait_key, nwait_fd_dtor) == 0;
}

/* Where the per-thread wake fds go: up to 768, or 3/4 of RLIMIT_NOFILE. */
static long nwait_fd_base(void)
{
	struct rlimit rl;
	long base = 768;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (long)(rl.rlim_cur / 4 * 3) < base)
		base = (long)(rl.rlim_cur / 4 * 3);
	return base;
}

/* Grow the process's fd table now to hold the wake fds' numbers, with fd (any
 * fd of ours). Growing the table of a process with several threads waits
 * for an RCU grace period (the kernel's expand_fdtable: synchronize_rcu),
 * milliseconds to a hundred under load: paid in a thread's first blocking
 * call, between sending a SYN and sleeping, it delayed the wake-up by as
 * much. The table never shrinks, so once is enough; called while the
 * engine starts (often with one thread still: no grace period at all). */
void nwait_fd_reserve(int fd)
{
	int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, nwait_fd_base());
	if (hi >= 0)
		REAL(close)(hi);
}

/* One eventfd per thread, moved above the numbers applications use
 * (nwait_fd_base) so that the next socket()/open() gets the same number as
 * on the kernel. Closed when the thread exits. */
int nwait_fd(void)
{
	if (nwait_tls_fd >= 0)
		return nwait_tls_fd;
	pthread_once(&nwait_once, nwait_key_init);
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	long base = nwait_fd_base();
	if (fd < base) {
		int hi = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, base);
		if (hi >= 0) {
			REAL(close)(fd);
			fd = hi;
		}
	}
	nwait_tls_fd = fd;
	if (nwait_key_ok)
		(void)pthread_setspecific(nwait_key, (void *)(intptr_t)(fd + 1));
	return fd;
}

/* In a forked child: the forking thread's wake fd is the parent thread's
 * eventfd; close our copy and make a new one next time. */
void nwait_fd_forget(void)
{
	if (nwait_tls_fd >= 0)
		REAL(close)(nwait_tls_fd);
	nwait_fd_lost();
}

void nwait_fd_lost(void)
{
	nwait_tls_fd = -1;
	nwait_tls_dirty = 0;
	if (nwait_key_ok)
		(void)pthread_setspecific(nwait_key, NULL);     /* not ours to close any more */
}

void nwait_drain(int wfd)
{
	uint64_t v;
	if (!nwait_tls_dirty)
		return;
	(void)!REAL(read)(wfd, &v, sizeof(v));
	nwait_tls_dirty = 0;
}

/* After a wait on the wake fd: revents is what the wait said of it. */
void nwait_seen(short revents)
{
	if (revents & POLLIN)
		nwait_tls_dirty = 1;
}

void nwait_add(struct nsock *s, struct nwait *w, short events, int wfd)
{
	w->wfd = wfd;
	w->mask = nwait_mask(events);
	w->fired = 0;
	w->next = s->waiters;
	s->waiters = w;
	nwait_check(s);
}

void nwait_del(struct nsock *s, struct nwait *w)
{
	if (w->fired == 1)
		nwait_tls_dirty = 1;    /* by the waiting thread, after its wait */
	for (struct nwait **pp = &s->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

void nsock_want(struct nsock *s, short events, int delta)
{
	int any = 1;
	if (events & (POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND)) {
		s->n_in += delta;
		any = 0;
	}
	if (events & (POLLOUT | POLLWRNORM | POLLWRBAND)) {
		s->n_out += delta;
		any = 0;
	}
	if (any)
		s->n_any += delta;
	nsock_update(s);
}

struct busy_sock {
	struct nsock *s;
	uint32_t      mask;
};

/* eng_busy_poll's test: one of the events, or the socket went away. */
static int busy_sock_ready(void *arg)
{
	struct busy_sock *b = arg;
	return b->s->sd < 0 || (nst_poll(eng.st, b->s->sd) & b->mask) != 0;
}

int nsock_wait(int fd, struct nsock *s, short events, int64_t deadline_us)
{
	(void)fd;       /* not polled: close() may hand its number to a new file */
	int wfd = nwait_fd();
	if (wfd < 0)
		return wfd;
	if (eng_busy_poll_us) {
		struct busy_sock b = { s, nwait_mask(events) };
		s->pins++;      /* the lock is dropped between passes */
		int ready = eng_busy_poll(busy_sock_ready, &b, deadline_us);
		s->pins--;
		if (s->sd < 0) {
			nsock_free_if_unused(s);
			return -EBADF;
		}
		if (ready)
			return 0;       /* the caller tries again */
		if (deadline_us >= 0 && (int64_t)eng_now_us() >= deadline_us)
			return -ETIMEDOUT;
	}
	struct nwait w;
	nwait_drain(wfd);
	nwait_add(s, &w, events, wfd);
	s->pins++;
	eng_unlock();
	struct pollfd p[2] = { { wfd, POLLIN, 0 } };
	int r = eng_block_dev(p, 1, deadline_us, NULL);
	eng_lock();
	nwait_seen(r > 0 ? p[0].revents : 0);
	nwait_del(s, &w);
	s->pins--;
	if (s->sd < 0) {
		nsock_free_if_unused(s);
		return -EBADF;
	}
	/* sock_intr_errno: no timeout and SA_RESTART -> the call goes on */
	if (r == -EINTR && deadline_us < 0 && eng_restart_ok())
		return 0;
	if (r < 0)
		return r;
	if (r == 0)
		return -ETIMEDOUT;
	if (p[0].revents & POLLNVAL)
		nwait_fd_lost();        /* closed behind our back (close_range): a new one next time */
	return 0;
}

int nsock_wait_timeo(int fd, struct nsock *s, short events, int64_t timeo_us, int64_t *dl)
{
	if (*dl == -2)
		*dl = nsock_deadline(timeo_us);
	int w = nsock_wait(fd, s, events, *dl);
	return w == -ETIMEDOUT ? -EAGAIN : w;
}

void nsock_record_opt(struct nsock *s, int level, int name, const void *val, unsigned len)
{
	if (len > NSOCK_OPTLEN || !val) {
		log_debug("option %d/%d too long to record for a kernel hand-off", level, name);
		return;
	}
	unsigned i;
	for (i = 0; i < s->n_opts; i++)
		if (s->opts[i].level == level && s->opts[i].name == name)
			break;
	if (i == NSOCK_OPTS) {
		log_debug("too many options to record for a kernel hand-off");
		return;
	}
	if (i == s->n_opts)
		s->n_opts++;
	s->opts[i].level = level;
	s->opts[i].name = name;
	s->opts[i].len = len;
	memcpy(s->opts[i].val, val, len);
}

/* DESIGN "Routing": a socket whose bind/connect names an address nstack does
 * not serve becomes a kernel socket on the same fd number(s): same type and
 * flags, recorded options replayed, FD_CLOEXEC of each fd kept. */
int nsock_handoff(struct nsock *s)
{
	int kfd = REAL(socket)(s->family, s->ops->type | (s->nonblock ? SOCK_NONBLOCK : 0), s->protocol);
	if (kfd < 0)
		return -errno;
	for (unsigned i = 0; i < s->n_opts; i++) {
		struct sockopt_rec *o = &s->opts[i];
		if (REAL(setsockopt)(kfd, o->level, o->name, o->val, o->len) < 0)
			log_debug("hand-off: setsockopt(%d, %d): %s", o->level, o->name, strerror(errno));
	}
	int err = 0;
	s->pins++;      /* keep s while its fds are remapped */
	for (int fd = 0; fd <= fd_hi && s->refs > 0; fd++) {
		if (fd_tab[fd] != s)
			continue;
		int fdfl = REAL(fcntl)(fd, F_GETFD);
		if (REAL(dup3)(kfd, fd, (fdfl > 0 && (fdfl & FD_CLOEXEC)) ? O_CLOEXEC : 0) < 0) {
			err = -errno;
			break;
		}
		if (s->efd == fd)
			s->efd = -1;
		if (s->ep_members)
			ep_handoff(s, fd);
		fd_unmap(fd);   /* the last one releases the nstack socket */
	}
	REAL(close)(kfd);
	nsock_unpin(s);
	log_debug("socket handed to the kernel");
	return err;
}

/* Under the lock: the lowest of our fds naming the socket sd, or -1 (for
 * `nstack ss`, ctl.c). s->efd is one of them: only the fds below it are
 * looked at, none when it is the only one. */
int fd_of_sd(int sd)
{
	if (sd < 0 || (unsigned)sd >= sd_cap || !sd_map[sd])
		return -1;
	struct nsock *s = sd_map[sd];
	if (s->refs <= 0)
		return -1;
	int top = s->efd >= 0 && s->efd <= fd_hi && fd_tab[s->efd] == s ? s->efd : fd_hi;
	if (s->refs == 1 && top == s->efd)
		return top;
	for (int fd = 0; fd <= top; fd++)
		if (fd_tab[fd] == s)
			return fd;
	return -1;
}
