/* Interposed epoll_create, epoll_create1, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2.
 *
 * The epoll fd is the application's real kernel epoll; kernel fds in it are
 * the kernel's business, untouched. An nstack socket added to it is kept in
 * three places:
 *   - our member list (struct epm): the events and data the app asked for,
 *     ET/ONESHOT state; its true events come from nst_poll;
 *   - the app's epoll, registered with no event bits: the kernel validates
 *     epoll_ctl exactly (EBADF, EEXIST, ENOENT, EINVAL, EPOLLEXCLUSIVE rules)
 *     and forgets the registration when the last fd of the socket closes;
 *   - a private "shadow" epoll that holds the eventfd edge-triggered, and is
 *     itself in the app's epoll (level-triggered, data EP_MARK). An edge on
 *     any member's eventfd makes the app's epoll readable, so epoll_wait on a
 *     mixed set, and poll/select on the epoll fd, block in the kernel.
 * The socket's eventfd carries persistent interest while it is a member
 * (nsock_want), and fd.c writes it on every new edge (nsock_edge), so an
 * edge-triggered member gets an event on every arrival, as on Linux.
 *
 * An event loop that deletes and re-adds a connection's fd, or modifies its
 * interest, per request costs no system call (ep_ctl_fast): a deleted member
 * stays, dormant, with its registrations, until it is added again or closed.
 *
 * epoll_wait: drain the shadow, scan the members (userspace, under the lock),
 * ask the kernel for its own members without blocking, and block only when
 * nothing at all is ready; a wake-up by the shadow alone loops.
 *
 * Not implemented: an epoll fd with nstack members inside another epoll
 * reports only new edges of those members (level-triggered readiness that
 * was already there is seen by epoll_wait/poll on it, not by the outer
 * epoll); a dup of such an epoll fd loses the nstack members when the
 * original is closed. An application value equal to EP_MARK in a kernel
 * member's data is taken for ours.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "preload.h"

#define EP_MARK         0xffffffff4e535441ull   /* the shadow, in the app's epoll */
#define EP_MAX_EVENTS   (INT_MAX / (int)sizeof(struct epoll_event))
#define EP_DRAIN        64
/* event bits the app asks for (the rest are flags) */
#define EP_EVENT_BITS   (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | EPOLLRDBAND | \
			 EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)

struct nepoll;

/* One nstack socket (through one fd) in one epoll set. Under eng.lock. */
struct epm {
	struct nepoll *ep;
	struct nsock  *s;       /* pinned while a member */
	int            fd;
	uint32_t       events;  /* as given: event bits and EPOLLET/ONESHOT/... */
	uint64_t       data;
	uint32_t       gen_seen;/* s->gen when it last reported (ET) */
	int            disabled;/* EPOLLONESHOT fired; MOD re-arms */
	int            dormant; /* deleted by the app, registrations kept (ep_ctl_fast) */
	int            pending; /* added without its registrations yet (epm_register) */
	struct epm    *next, *prev;   /* in ep, reported members move to the tail */
	struct epm    *snext;         /* in s->ep_members */
};

/* Our side of one app epoll fd that has (or had) nstack members. */
struct nepoll {
	int         epfd;
	int         shadow;     /* private epoll of member eventfds, EPOLLET */
	struct epm *head, *tail;
	int         pins;       /* epoll_wait calls running outside the lock */
	int         closed;     /* epfd closed while pinned: free at the last unpin */
	int         turn;       /* alternate kernel-first / nstack-first */
	int         sleepers;   /* threads between their last scan and the end of a kernel wait */
	int         exported;   /* the kernel may wait on epfd for others (poll, nesting) */
	int         kmembers;   /* kernel fds in it (counted high if closed without DEL) */
	int         kunknown;   /* kmembers cannot be known (no fdinfo, a fork since) */
	unsigned    forks;      /* ep_forks when it was made */
};

/* Forks of this process since it started (a forked child adds to an epoll
 * it shares with its parent behind the parent's back). */
static unsigned ep_forks;
static void ep_atfork(void)
{
	__atomic_add_fetch(&ep_forks, 1, __ATOMIC_RELAXED);
}

static struct nepoll **ep_tab;  /* epfd -> nepoll, published once */
static unsigned ep_cap;

static int ep_tab_init(void)
{
	if (ep_tab)
		return 0;
	unsigned n;
	void **p = fd_indexed_table(&n);
	if (!p)
		return -ENOMEM;
	pthread_atfork(ep_atfork, NULL, NULL);
	__atomic_store_n(&ep_cap, n, __ATOMIC_RELAXED);
	__atomic_store_n(&ep_tab, (struct nepoll **)p, __ATOMIC_RELEASE);
	return 0;
}

int ep_peek(int fd)
{
	struct nepoll **tab = __atomic_load_n(&ep_tab, __ATOMIC_ACQUIRE);
	if (!tab || fd < 0 || (unsigned)fd >= ep_cap)
		return 0;
	return __atomic_load_n(&tab[fd], __ATOMIC_RELAXED) != NULL;
}

static struct nepoll *ep_get(int fd)
{
	if (!ep_tab || fd < 0 || (unsigned)fd >= ep_cap)
		return NULL;
	return ep_tab[fd];
}

static void ep_unlink(struct epm *m)
{
	struct nepoll *ep = m->ep;
	if (m->prev)
		m->prev->next = m->next;
	else
		ep->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		ep->tail = m->prev;
	m->next = m->prev = NULL;
}

static void ep_append(struct nepoll *ep, struct epm *m)
{
	m->ep = ep;
	m->prev = ep->tail;
	m->next = NULL;
	if (ep->tail)
		ep->tail->next = m;
	else
		ep->head = m;
	ep->tail = m;
}

static void sock_unlink(struct epm *m)
{
	for (struct epm **pp = &m->s->ep_members; *pp; pp = &(*pp)->snext)
		if (*pp == m) {
			*pp = m->snext;
			break;
		}
	m->snext = NULL;
}

/* Persistent interest of a member on the socket's eventfd. */
static void epm_want(struct epm *m, int delta)
{
	nsock_want(m->s, (short)(m->events & EP_EVENT_BITS), delta);
	if (m->events & EPOLLET)
		m->s->n_et += delta;
}

/* Forget member m everywhere but the kernel's app epoll (the caller's
 * business), and free it. Under the lock. */
static void epm_free(struct epm *m, int shadow_del)
{
	if (shadow_del && !m->pending)
		(void)REAL(epoll_ctl)(m->ep->shadow, EPOLL_CTL_DEL, m->fd, NULL);
	ep_unlink(m);
	sock_unlink(m);
	if (!m->dormant)
		epm_want(m, -1);
	nsock_unpin(m->s);
	free(m);
}

/* A dormant member's deletion done for real: the kernel's registrations
 * go, and the member. Under the lock. */
static void epm_drop_dormant(struct epm *m)
{
	if (!m->pending)
		(void)REAL(epoll_ctl)(m->ep->epfd, EPOLL_CTL_DEL, m->fd, NULL);
	epm_free(m, !m->pending);
}

/* The registrations a member added without them gets before the kernel
 * may wait on the set: the app's epoll (no event bits) and the shadow. An
 * eventfd that is readable already queues itself in the shadow at once. */
static void epm_register(struct epm *m)
{
	if (!m->pending)
		return;
	m->pending = 0;
	struct epoll_event kev = { .events = 0, .data.u64 = (uint64_t)m->fd };
	struct epoll_event sev = { .events = EPOLLIN | EPOLLET, .data.u64 = (uint64_t)m->fd };
	if (REAL(epoll_ctl)(m->ep->epfd, EPOLL_CTL_ADD, m->fd, &kev) < 0 && errno != EEXIST)
		log_warn("epoll: fd %d not registered in epoll %d: %s", m->fd, m->ep->epfd, strerror(errno));
	if (REAL(epoll_ctl)(m->ep->shadow, EPOLL_CTL_ADD, m->fd, &sev) < 0 && errno != EEXIST)
		log_warn("epoll: fd %d not registered in the shadow: %s", m->fd, strerror(errno));
}

/* Every pending member of ep registered: a thread is about to sleep on it
 * in the kernel, or the kernel waits on it for someone else. */
static void ep_register_all(struct nepoll *ep)
{
	for (struct epm *m = ep->head; m; m = m->next)
		epm_register(m);
}

static struct epm *ep_find(struct nepoll *ep, int fd, struct nsock *s)
{
	for (struct epm *m = ep->head; m; m = m->next)
		if (m->fd == fd && m->s == s)
			return m;
	return NULL;
}

static void ep_free(struct nepoll *ep)
{
	while (ep->head)
		epm_free(ep->head, 0);
	REAL(close)(ep->shadow);
	free(ep);
}

/* Kernel fds already in epfd, from /proc/self/fdinfo/EPFD ("tfd:" lines),
 * not counting ours (the first member's eventfd is already registered there,
 * with no event bits), before our shadow joins; -1 if it cannot tell. */
static int ep_count_kernel(int epfd)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	if (fd < 0)
		return -1;
	ssize_t len = 0, r;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (r = REAL(read)(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += r;
	REAL(close)(fd);
	if (len >= (ssize_t)sizeof(buf) - 1)
		return -1;      /* too many to read in one go: count unknown */
	buf[len] = 0;
	for (const char *q = buf; (q = strstr(q, "tfd:")) != NULL; q += 4)
		if (!fd_peek(atoi(q + 4)))
			n++;
	return n;
}

/* The nepoll of epfd, created at its first nstack member. Under the lock. */
static int ep_make(int epfd, struct nepoll **out)
{
	struct nepoll *ep = ep_get(epfd);
	if (ep) {
		*out = ep;
		return 0;
	}
	int e = ep_tab_init();
	if (e < 0)
		return e;
	if ((unsigned)epfd >= ep_cap)
		return -EMFILE;
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->epfd = epfd;
	ep->forks = __atomic_load_n(&ep_forks, __ATOMIC_RELAXED);
	int k = ep_count_kernel(epfd);
	ep->kmembers = k > 0 ? k : 0;
	ep->kunknown = k < 0;
	ep->shadow = REAL(epoll_create1)(EPOLL_CLOEXEC);
	if (ep->shadow < 0) {
		e = -errno;
		free(ep);
		return e;
	}
	struct epoll_event sev = { .events = EPOLLIN, .data.u64 = EP_MARK };
	if (REAL(epoll_ctl)(epfd, EPOLL_CTL_ADD, ep->shadow, &sev) < 0) {
		e = -errno;
		REAL(close)(ep->shadow);
		free(ep);
		return e;
	}
	__atomic_store_n(&ep_tab[epfd], ep, __ATOMIC_RELAXED);
	*out = ep;
	return 0;
}

static void ep_unpin(struct nepoll *ep)
{
	if (--ep->pins == 0 && ep->closed)
		ep_free(ep);
}

void ep_close(int epfd)
{
	struct nepoll *ep = ep_get(epfd);
	if (!ep)
		return;
	__atomic_store_n(&ep_tab[epfd], NULL, __ATOMIC_RELAXED);
	if (ep->pins)
		ep->closed = 1;
	else
		ep_free(ep);
}

void ep_sock_gone(struct nsock *s)
{
	while (s->ep_members)
		epm_free(s->ep_members, 1);
}

void ep_handoff(struct nsock *s, int fd)
{
	struct epm **pp = &s->ep_members;
	while (*pp) {
		struct epm *m = *pp;
		if (m->fd != fd) {
			pp = &m->snext;
			continue;
		}
		if (m->dormant) {
			epm_free(m, 0);         /* not a member for the application */
			continue;
		}
		struct epoll_event ev = { .events = m->events, .data.u64 = m->data };
		if (m->disabled)
			ev.events &= ~EP_EVENT_BITS;
		if (REAL(epoll_ctl)(m->ep->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			log_warn("hand-off: fd %d lost its epoll registration: %s", fd, strerror(errno));
		else
			m->ep->kmembers++;
		epm_free(m, 0);         /* unlinks m from *pp */
	}
}

/* The events member m would report now (0: none). Under the lock. */
static uint32_t epm_events(const struct epm *m)
{
	if (m->disabled || m->dormant || !eng.st || m->s->sd < 0)
		return 0;
	uint32_t b = nst_poll(eng.st, m->s->sd), r = 0;
	if (b & NST_POLLIN)
		r |= EPOLLIN | EPOLLRDNORM;
	if (b & NST_POLLOUT)
		r |= EPOLLOUT | EPOLLWRNORM;
	r |= b & (NST_POLLPRI | NST_POLLERR | NST_POLLHUP | NST_POLLRDHUP);
	r &= (m->events & EP_EVENT_BITS) | EPOLLERR | EPOLLHUP;
	if (r && (m->events & EPOLLET) && m->gen_seen == m->s->gen)
		return 0;       /* no new edge since it last reported */
	return r;
}

/* The kernel waits on epfd for someone (poll, select, an outer epoll): from
 * now on every edge writes (ep_edge_wanted), and the members whose eventfd
 * a skipped write left unready are written now. Under the lock. */
static void ep_export(struct nepoll *ep)
{
	if (ep->exported)
		return;
	ep->exported = 1;
	for (struct epm *m = ep->head, *next; m; m = next) {
		next = m->next;
		if (m->dormant)
			epm_drop_dormant(m);    /* its edges would reach the kernel's waiter */
	}
	ep_register_all(ep);
	for (struct epm *m = ep->head; m; m = m->next)
		if (m->s->signalled && m->s->efd >= 0) {
			uint64_t one = 1;
			(void)!REAL(write)(m->s->efd, &one, sizeof(one));
		}
}

/* Empty the shadow's ready list: its entries only say "look again". */
static void ep_drain(struct nepoll *ep)
{
	struct epoll_event tmp[EP_DRAIN];
	while (REAL(epoll_wait)(ep->shadow, tmp, EP_DRAIN, 0) == EP_DRAIN)
		;
}

/* Fill up to max events from the nstack members; consume ET edges and
 * ONESHOT arms. Reported members move to the tail, so a small max still
 * serves every member in turn (as the kernel's ready list does). */
static int ep_scan(struct nepoll *ep, struct epoll_event *out, int max)
{
	int n = 0;
	struct epm *m = ep->head, *stop = NULL;
	while (m && m != stop && n < max) {
		struct epm *next = m->next;
		uint32_t r = epm_events(m);
		if (r) {
			out[n].events = r;
			out[n].data.u64 = m->data;
			n++;
			m->gen_seen = m->s->gen;
			if (m->events & EPOLLONESHOT)
				m->disabled = 1;
			if (next) {
				ep_unlink(m);
				ep_append(ep, m);
				if (!stop)
					stop = m;
			}
		}
		m = next;
	}
	return n;
}

int ep_poll_ready(int epfd)
{
	eng_lock();
	struct nepoll *ep = ep_get(epfd);
	int ready = 0;
	if (ep) {
		ep_export(ep);          /* poll/select wait on epfd in the kernel */
		ep_drain(ep);
		for (struct epm *m = ep->head; m && !ready; m = m->next)
			ready = epm_events(m) != 0;
	}
	eng_unlock();
	return ready;
}

/* Drop our shadow's mark from kernel results; the count that remains. */
static int ep_strip(struct epoll_event *ev, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 != EP_MARK)
			ev[k++] = ev[i];
	return k;
}

/* eng_busy_poll's test: a member would report. Under the lock. */
static int ep_busy_ready(void *arg)
{
	const struct nepoll *ep = arg;
	for (const struct epm *m = ep->head; m; m = m->next)
		if (epm_events(m))
			return 1;
	return ep->closed;
}

/* An edge of one of its members must write the socket's eventfd (wake the
 * shadow) only if a thread may sleep on ep in the kernel: one between its
 * last scan and the end of its wait (ep->sleepers), or the kernel on behalf
 * of a poll or an outer epoll (exported). Otherwise whoever calls epoll_wait
 * next scans the members anyway (ET edges are counted in s->gen), and a
 * server whose next event is always ready makes no eventfd write per
 * request. Under the lock. */
/* The set this thread sleeps on in the kernel (ep_wait), if any. */
static __thread const struct nepoll *ep_tls_asleep;

int ep_edge_wanted(const struct nsock *s)
{
	/* A thread that the device woke runs the pass itself and scans its
	 * set again when the pass ends (eng_block_dev, nwait_self_pass): as a
	 * sleeper it needs no write (redis-server: 0.84 eventfd writes per
	 * request, and the drains after them). */
	const struct nepoll *self = nwait_self_pass_on() ? ep_tls_asleep : NULL;
	for (const struct epm *m = s->ep_members; m; m = m->snext)
		if (!m->dormant && (m->ep->exported || m->ep->sleepers > (m->ep == self)))
			return 1;
	return 0;
}

/* The kernel may have members of ep ready: it has some, or we cannot tell. */
static int ep_has_kernel(const struct nepoll *ep)
{
	return ep->kmembers || ep->kunknown || ep->forks != __atomic_load_n(&ep_forks, __ATOMIC_RELAXED);
}

/* epoll_wait on an epoll fd that is ours; timeout_us -1: none. The shadow is
 * drained, and the members scanned once more, only on the way to a kernel
 * wait: a call that finds events does neither system call. */
static int ep_wait(struct nepoll *ep, struct epoll_event *evs, int maxev, int64_t timeout_us,
		   const sigset_t *mask)
{
	int64_t deadline = timeout_us < 0 ? -1 : (int64_t)eng_now_us() + timeout_us;
	int r, spun = 0;
	for (;;) {
		int n = 0;
		eng_lock();
		eng_poll_inline();
		int kernel = ep_has_kernel(ep);
		int kfirst = kernel && (ep->turn ^= 1);
		if (ep->exported)
			ep_drain(ep);   /* the kernel reads its readiness: keep it true */
		if (!kfirst)
			n = ep_scan(ep, evs, maxev);
		eng_unlock();
		if (kernel && n < maxev) {
			r = REAL(epoll_wait)(ep->epfd, evs + n, maxev - n, 0);
			if (r < 0)
				return -errno;
			n += ep_strip(evs + n, r);
		}
		if (kfirst && n < maxev) {
			eng_lock();
			n += ep_scan(ep, evs + n, maxev - n);
			eng_unlock();
		}
		if (n || timeout_us == 0 || (deadline >= 0 && (int64_t)eng_now_us() >= deadline))
			return n;
		/* nothing ready: drive the device inline for the busy-poll
		 * budget (once per call), then collect again */
		if (!spun && eng_busy_poll_us && ep->head) {
			spun = 1;
			eng_lock();
			(void)eng_busy_poll(ep_busy_ready, ep, deadline);
			eng_unlock();
			continue;
		}
		/* nothing ready: sleep in the kernel on kernel members + shadow.
		 * From this scan on, edges write the eventfds (ep_edge_wanted):
		 * one that comes between it and the wait wakes the wait. */
		eng_lock();
		ep->sleepers++;
		ep_register_all(ep);
		ep_drain(ep);
		n = ep_scan(ep, evs, maxev);
		if (n) {
			ep->sleepers--;
			eng_unlock();
			return n;
		}
		ep_tls_asleep = ep;
		eng_unlock();
		r = eng_block_epoll(ep->epfd, evs, maxev, deadline, mask);
		eng_lock();
		ep_tls_asleep = NULL;
		ep->sleepers--;
		if (r > 0)
			ep_drain(ep);   /* what woke us is looked at next: not left readable */
		eng_unlock();
		if (r < 0)
			return r;       /* EINTR: epoll_wait is never restarted */
		r = ep_strip(evs, r);
		if (r)
			return r;
	}
}

/* 1 with *out set if epfd is ours; 0: the real call must run. */
static int ep_wait_call(int epfd, struct epoll_event *evs, int maxev, int64_t timeout_us,
			const sigset_t *mask, int *out)
{
	if (!ep_peek(epfd))
		return 0;
	eng_lock();
	struct nepoll *ep = ep_get(epfd);
	if (!ep) {
		eng_unlock();
		return 0;
	}
	/* ep_poll's checks, in its order */
	if (maxev <= 0 || maxev > EP_MAX_EVENTS) {
		eng_unlock();
		*out = set_errno(-EINVAL);
		return 1;
	}
	if (!evs) {
		eng_unlock();
		*out = set_errno(-EFAULT);
		return 1;
	}
	ep->pins++;
	eng_unlock();
	int r = ep_wait(ep, evs, maxev, timeout_us, mask);
	eng_lock();
	ep_unpin(ep);
	eng_unlock();
	*out = set_errno(r);
	return 1;
}

/* epoll_wait on a kernel-only epoll fd in a process whose stack runs: the
 * same blocking as ours (eng_block_epoll: ppoll, then collect), because an
 * application thread that sent on an nstack socket may have io_uring task
 * work pending, which would end a real epoll_wait with a bogus EINTR. */
static int ep_wait_kernel(int epfd, struct epoll_event *evs, int maxev, int64_t timeout_us,
			  const sigset_t *mask)
{
	int r = REAL(epoll_wait)(epfd, evs, maxev, 0);
	if (r != 0 || timeout_us == 0)
		return r < 0 ? -errno : r;
	int64_t deadline = timeout_us < 0 ? -1 : (int64_t)eng_now_us() + timeout_us;
	for (;;) {
		r = eng_block_epoll(epfd, evs, maxev, deadline, mask);
		if (r != 0 || (deadline >= 0 && (int64_t)eng_now_us() >= deadline))
			return r;
	}
}

/* The stack runs in this process (not a forked child, not disabled). */
static int ep_stack_live(void)
{
	return __atomic_load_n(&eng.st, __ATOMIC_RELAXED) != NULL;
}

NST_EXPORT int epoll_create(int size)
{
	int fd = REAL(epoll_create)(size);
	if (fd >= 0 && ep_peek(fd)) {
		eng_lock();
		ep_close(fd);   /* stale: the number was closed behind our back */
		eng_unlock();
	}
	return fd;
}

NST_EXPORT int epoll_create1(int flags)
{
	int fd = REAL(epoll_create1)(flags);
	if (fd >= 0 && ep_peek(fd)) {
		eng_lock();
		ep_close(fd);
		eng_unlock();
	}
	return fd;
}

/* A kernel fd joins or leaves epfd: keep the count that lets an epoll_wait
 * with none skip asking the kernel; an epoll fd of ours nested in another is
 * waited on by the kernel (exported). */
static int ep_ctl_kernel(int epfd, int op, int fd, struct epoll_event *ev)
{
	int r = REAL(epoll_ctl)(epfd, op, fd, ev);
	if (r < 0 || op == EPOLL_CTL_MOD || (!ep_peek(epfd) && !ep_peek(fd)))
		return r;
	int e = errno;
	eng_lock();
	struct nepoll *ep = ep_get(epfd), *inner = ep_get(fd);
	if (inner && op == EPOLL_CTL_ADD)
		ep_export(inner);
	if (ep && op == EPOLL_CTL_ADD)
		ep->kmembers++;
	else if (ep && op == EPOLL_CTL_DEL && ep->kmembers > 0)
		ep->kmembers--;
	eng_unlock();
	errno = e;
	return r;
}

/* A new member: s through fd in ep. reg: its registration in the app's
 * epoll is made (by the caller's real epoll_ctl), the shadow's here; else
 * both wait (pending). 0 or -errno. Under the lock. */
static int epm_add(struct nepoll *ep, int fd, struct nsock *s, const struct epoll_event *ev, int reg)
{
	struct epm *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->s = s;
	m->fd = fd;
	m->events = ev->events;
	m->data = ev->data.u64;
	if (!s->ep_members && eng.st) {
		s->last_mask = nst_poll(eng.st, s->sd);
		s->last_rx = nst_rx_avail(eng.st, s->sd);
	}
	m->gen_seen = s->gen - 1;       /* ready at ADD: one event, ET too */
	s->pins++;
	m->snext = s->ep_members;
	s->ep_members = m;
	ep_append(ep, m);
	epm_want(m, +1);
	if (!reg) {
		m->pending = 1;
		return 0;
	}
	struct epoll_event sev = { .events = EPOLLIN | EPOLLET, .data.u64 = (uint64_t)fd };
	if (REAL(epoll_ctl)(ep->shadow, EPOLL_CTL_ADD, fd, &sev) < 0) {
		int e = -errno;
		epm_free(m, 0);
		return e;
	}
	return 0;
}

/* epoll_ctl on a member we know, without a system call. An event loop
 * (redis's ae, libevent, libuv) deletes and adds a connection's fd, or
 * modifies its interest, on every request or two: DEL leaves the member
 * dormant, its registrations in the app's epoll (no event bits) and in the
 * shadow kept, and an ADD of the same fd revives it; MOD changes what we
 * track only (the kernel's registration has no event bits to change). The
 * kernel's answers are ours to give here: ENOENT for a dormant member, EEXIST
 * for a live one. EPOLLEXCLUSIVE (its own MOD/ADD rules), a NULL event, an
 * epoll the kernel waits on for others (exported: a dormant member's edges
 * would reach it): the kernel's path. 1 and *r set when handled. Under the
 * lock. */
static int ep_ctl_fast(int epfd, int op, int fd, struct nsock *s, const struct epoll_event *ev,
		       int *r)
{
	struct nepoll *ep = ep_get(epfd);
	struct epm *m = ep && !ep->closed ? ep_find(ep, fd, s) : NULL;
	if (!m) {
		/* a new member of a set we know, no thread asleep on it: its
		 * registrations wait until one may sleep (ep_register_all) */
		if (op != EPOLL_CTL_ADD || !ep || ep->closed || ep->exported || ep->sleepers || !ev ||
		    (ev->events & EPOLLEXCLUSIVE))
			return 0;
		*r = epm_add(ep, fd, s, ev, 0);
		return 1;
	}
	if (ep->exported || (op != EPOLL_CTL_DEL && (!ev || ((ev->events | m->events) & EPOLLEXCLUSIVE)))) {
		if (m->dormant)
			epm_drop_dormant(m);    /* the kernel's path, as if deleted then */
		else
			epm_register(m);        /* the kernel's path needs its registration */
		return 0;
	}
	*r = 0;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (!m->dormant) {
			*r = -EEXIST;
			return 1;
		}
		if (!s->ep_members->snext) {    /* its only membership: a fresh base */
			s->last_mask = nst_poll(eng.st, s->sd);
			s->last_rx = nst_rx_avail(eng.st, s->sd);
		}
		m->dormant = 0;
		break;
	case EPOLL_CTL_MOD:
		if (m->dormant) {
			*r = -ENOENT;
			return 1;
		}
		epm_want(m, -1);
		break;
	case EPOLL_CTL_DEL:
		if (m->dormant) {
			*r = -ENOENT;
		} else {
			epm_want(m, -1);
			m->dormant = 1;
		}
		return 1;
	default:
		*r = -EINVAL;
		return 1;
	}
	m->events = ev->events;
	m->data = ev->data.u64;
	m->disabled = 0;
	m->gen_seen = s->gen - 1;       /* ready at ADD and MOD: one event, ET too */
	epm_want(m, +1);
	if (op == EPOLL_CTL_MOD && s->signalled && ep_edge_wanted(s)) {
		/* wake a waiter now blocked for the old interest */
		uint64_t one = 1;
		(void)!REAL(write)(s->efd, &one, sizeof(one));
	}
	return 1;
}

NST_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	if (!fd_peek(fd))
		return ep_ctl_kernel(epfd, op, fd, ev);
	eng_lock();
	struct nsock *s = fd_get(fd);
	if (!s || !eng.st || s->sd < 0) {
		/* not ours, or an inherited fd in a forked child: the eventfd */
		eng_unlock();
		return ep_ctl_kernel(epfd, op, fd, ev);
	}
	int fr;
	if (ep_ctl_fast(epfd, op, fd, s, ev, &fr)) {
		eng_unlock();
		return set_errno(fr);
	}
	/* The kernel checks the call on the real fd, with no event bits: what
	 * it accepts we accept, with its errno otherwise. */
	struct epoll_event kev = { 0 }, *kp = NULL;
	if (ev && op != EPOLL_CTL_DEL) {
		kev.events = ev->events & ~EP_EVENT_BITS;
		kev.data.u64 = ev->data.u64;
		kp = &kev;
	} else if (op == EPOLL_CTL_DEL) {
		kp = &kev;      /* ignored by the kernel */
	}
	if (REAL(epoll_ctl)(epfd, op, fd, kp) < 0) {
		int e = errno;
		eng_unlock();
		errno = e;
		return -1;
	}
	struct nepoll *ep = NULL;
	int r = 0;
	struct epm *m;
	switch (op) {
	case EPOLL_CTL_ADD:
		r = ep_make(epfd, &ep);
		if (r < 0)
			break;
		r = epm_add(ep, fd, s, ev, 1);
		break;
	case EPOLL_CTL_MOD:
		ep = ep_get(epfd);
		m = ep ? ep_find(ep, fd, s) : NULL;
		if (!m)
			break;  /* registered before it was ours: nothing to track */
		epm_want(m, -1);
		m->events = ev->events;
		m->data = ev->data.u64;
		m->disabled = 0;
		m->gen_seen = s->gen - 1;       /* ep_modify reports a ready fd at once */
		epm_want(m, +1);
		if (m->s->signalled) {
			/* wake a waiter now blocked for the old interest */
			uint64_t one = 1;
			(void)!REAL(write)(m->s->efd, &one, sizeof(one));
		}
		break;
	case EPOLL_CTL_DEL:
		ep = ep_get(epfd);
		m = ep ? ep_find(ep, fd, s) : NULL;
		if (m)
			epm_free(m, 1);
		break;
	}
	if (r < 0 && op == EPOLL_CTL_ADD)
		(void)REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
	eng_unlock();
	return set_errno(r);
}

NST_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int maxev, int timeout_ms)
{
	int r;
	int64_t us = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000;
	if (ep_wait_call(epfd, evs, maxev, us, NULL, &r))
		return r;
	if (timeout_ms != 0 && ep_stack_live())
		return set_errno(ep_wait_kernel(epfd, evs, maxev, us, NULL));
	return REAL(epoll_wait)(epfd, evs, maxev, timeout_ms);
}

NST_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int maxev, int timeout_ms,
			   const sigset_t *mask)
{
	int r;
	int64_t us = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000;
	if (ep_wait_call(epfd, evs, maxev, us, mask, &r))
		return r;
	if (timeout_ms != 0 && ep_stack_live())
		return set_errno(ep_wait_kernel(epfd, evs, maxev, us, mask));
	return REAL(epoll_pwait)(epfd, evs, maxev, timeout_ms, mask);
}

NST_EXPORT int epoll_pwait2(int epfd, struct epoll_event *evs, int maxev,
			    const struct timespec *ts, const sigset_t *mask)
{
	int64_t us = -1;
	if (ts) {
		if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
			return set_errno(-EINVAL);
		us = ts->tv_sec > INT64_MAX / 2000000 ? -1
			: (int64_t)ts->tv_sec * 1000000 + (ts->tv_nsec + 999) / 1000;
	}
	int r;
	if (ep_wait_call(epfd, evs, maxev, us, mask, &r))
		return r;
	if (us != 0 && ep_stack_live())
		return set_errno(ep_wait_kernel(epfd, evs, maxev, us, mask));
	real_init();
	if (!real_fns.epoll_pwait2)
		return set_errno(-ENOSYS);
	return real_fns.epoll_pwait2(epfd, evs, maxev, ts, mask);
}

struct epm *ep_member_next(struct epm *m)
{
	return m->snext;
}
