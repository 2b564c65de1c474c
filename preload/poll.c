/* Interposed poll, ppoll, select, pselect, __poll_chk, __ppoll_chk.
 *
 * A set with no nstack fd goes straight to the kernel. A mixed set: compute
 * the true revents of nstack fds from nst_poll (under the lock) and of kernel
 * fds with a zero-timeout real poll; return at once if anything is ready.
 * Otherwise register the thread as a waiter on each nstack socket (struct
 * nwait: its own wake eventfd is written when one of the events it asked for
 * comes up), block in the real ppoll on the kernel fds plus that eventfd, and
 * start over: the sockets' real revents are computed again, and a spurious
 * wake-up loops with the time that remains. Not the sockets' own eventfds:
 * those are readable while an epoll member's interest is ready (EPOLLOUT,
 * most of the time), which would make this loop spin. EINTR from the real
 * ppoll is returned as is.
 *
 * Like Linux's poll (__pollwait takes a file reference), the call holds its
 * sockets (nsock_hold): a close() by another thread does not end them under
 * it.
 */
#include <stdlib.h>
#include <string.h>
#include "preload.h"

#define POLL_STACK_FDS 64       /* sets up to this size need no malloc */

extern void __chk_fail(void) __attribute__((noreturn));

/* The revents tcp_poll would give for the bits nst_poll reports. Under the lock. */
static short sock_revents(const struct nsock *s, short events)
{
	if (!eng.st || s->sd < 0)
		return POLLNVAL;
	uint32_t m = nst_poll(eng.st, s->sd);
	short r = 0;
	if (m & NST_POLLIN)
		r |= POLLIN | POLLRDNORM;
	if (m & NST_POLLOUT)
		r |= POLLOUT | POLLWRNORM;
	r |= (short)(m & (NST_POLLPRI | NST_POLLERR | NST_POLLHUP | NST_POLLRDHUP));
	return r & (events | POLLERR | POLLHUP);
}

struct busy_set {
	const struct pollfd *fds;
	struct nsock *const *sk;
	nfds_t n;
};

/* eng_busy_poll's test: an nstack fd of the set has an event. Under the lock. */
static int busy_set_ready(void *arg)
{
	const struct busy_set *b = arg;
	for (nfds_t i = 0; i < b->n; i++)
		if (b->sk[i] && sock_revents(b->sk[i], b->fds[i].events))
			return 1;
	return 0;
}

static int has_ours(const struct pollfd *fds, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (fd_peek(fds[i].fd) || ep_peek(fds[i].fd))
			return 1;
	return 0;
}

int poll_mixed(struct pollfd *fds, nfds_t n, int64_t timeout_us, const sigset_t *mask)
{
	struct pollfd kp_local[POLL_STACK_FDS + 2];     /* + the wake fd, the device */
	struct nsock *sk_local[POLL_STACK_FDS];
	struct nwait wl_local[POLL_STACK_FDS];
	char epr_local[POLL_STACK_FDS];
	struct pollfd *kp = kp_local;
	struct nsock **sk = sk_local;
	struct nwait *wl = wl_local;
	char *epr = epr_local;  /* an epoll fd (epoll.c) with an nstack member ready */
	if (n > POLL_STACK_FDS) {
		kp = malloc((n + 2) * sizeof(*kp));
		sk = malloc(n * sizeof(*sk));
		wl = malloc(n * sizeof(*wl));
		epr = malloc(n);
		if (!kp || !sk || !wl || !epr) {
			free(kp);
			free(sk);
			free(wl);
			free(epr);
			return -ENOMEM;
		}
	}
	int64_t deadline = timeout_us < 0 ? -1 : (int64_t)eng_now_us() + timeout_us;
	int nkernel = 0, nours = 0, spun = 0, r;

	/* Hold our sockets for the whole call: a close in another thread must
	 * neither free nor end what we look at. */
	eng_lock();
	for (nfds_t i = 0; i < n; i++) {
		sk[i] = fds[i].fd >= 0 ? fd_get(fds[i].fd) : NULL;
		if (sk[i]) {
			nsock_hold(sk[i]);
			nours++;
		} else if (fds[i].fd >= 0)
			nkernel++;
	}
	eng_unlock();

	for (;;) {
		int ready = 0;
		eng_lock();
		for (nfds_t i = 0; i < n; i++) {
			if (!sk[i])
				continue;
			fds[i].revents = sock_revents(sk[i], fds[i].events);
			ready += fds[i].revents != 0;
		}
		eng_unlock();

		if (nkernel) {
			/* epoll fds with nstack members: their readiness from
			 * epoll.c (which also empties their shadow first, so the
			 * kernel's answer below is not a stale wake-up) */
			for (nfds_t i = 0; i < n; i++)
				epr[i] = !sk[i] && (fds[i].events & (POLLIN | POLLRDNORM)) &&
					 ep_peek(fds[i].fd) && ep_poll_ready(fds[i].fd);
			for (nfds_t i = 0; i < n; i++) {
				kp[i].fd = sk[i] ? -1 : fds[i].fd;
				kp[i].events = fds[i].events;
				kp[i].revents = 0;
			}
			struct timespec zero = { 0, 0 };
			r = REAL(ppoll)(kp, n, &zero, NULL);
			if (r < 0) {
				r = -errno;
				break;
			}
			for (nfds_t i = 0; i < n; i++)
				if (!sk[i]) {
					fds[i].revents = kp[i].revents;
					if (epr[i])
						fds[i].revents |= fds[i].events & (POLLIN | POLLRDNORM);
					ready += fds[i].revents != 0;
				}
		}
		r = ready;
		if (ready || timeout_us == 0 || (deadline >= 0 && (int64_t)eng_now_us() >= deadline))
			break;

		/* Nothing ready: drive the device inline for the busy-poll
		 * budget (once per call), then look at every fd again. */
		if (!spun && nours && eng_busy_poll_us) {
			struct busy_set b = { fds, sk, n };
			spun = 1;
			eng_lock();
			(void)eng_busy_poll(busy_set_ready, &b, deadline);
			eng_unlock();
			continue;
		}
		/* Nothing ready: arm, block on kernel fds + our wake fd, disarm. */
		int wfd = nwait_fd();
		if (wfd < 0) {
			r = wfd;
			break;
		}
		eng_lock();
		nwait_drain(wfd);
		for (nfds_t i = 0; i < n; i++)
			if (sk[i])
				nwait_add(sk[i], &wl[i], fds[i].events, wfd);
		eng_unlock();
		for (nfds_t i = 0; i < n; i++) {
			kp[i].fd = sk[i] ? -1 : fds[i].fd;
			kp[i].events = fds[i].events;
			kp[i].revents = 0;
		}
		kp[n] = (struct pollfd){ wfd, POLLIN, 0 };
		r = eng_block_dev(kp, n + 1, deadline, mask);
		if (r > 0 && (kp[n].revents & POLLNVAL))
			nwait_fd_lost();
		eng_lock();
		nwait_seen(r > 0 ? kp[n].revents : 0);
		for (nfds_t i = 0; i < n; i++)
			if (sk[i])
				nwait_del(sk[i], &wl[i]);
		eng_unlock();
		if (r < 0)
			break;
	}

	eng_lock();
	for (nfds_t i = 0; i < n; i++)
		if (sk[i])
			nsock_drop(sk[i]);
	eng_unlock();
	if (kp != kp_local) {
		free(kp);
		free(sk);
		free(wl);
		free(epr);
	}
	return r;
}

NST_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (!fds || !has_ours(fds, n))
		return REAL(poll)(fds, n, timeout_ms);
	return set_errno(poll_mixed(fds, n, timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000, NULL));
}

/* µs from a timespec, rounded up; -1 for NULL; -EINVAL if invalid. */
static int64_t ts_us(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL - 1;
	if (ts->tv_sec > INT64_MAX / 2000000)
		return -1;
	return (int64_t)ts->tv_sec * 1000000 + (ts->tv_nsec + 999) / 1000;
}

NST_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!fds || !has_ours(fds, n))
		return REAL(ppoll)(fds, n, ts, mask);
	int64_t us = ts_us(ts);
	if (us < -1)
		return set_errno(-EINVAL);
	return set_errno(poll_mixed(fds, n, us, mask));
}

NST_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout_ms);
}

NST_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			   const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return ppoll(fds, n, ts, mask);
}

/* select as poll (fs/select.c's POLLIN_SET, POLLOUT_SET, POLLEX_SET). Only
 * FD_SETSIZE fds fit in an fd_set. timeout_us -1: none. */
static int select_mixed(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t timeout_us,
			const sigset_t *mask)
{
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	struct pollfd *p = malloc((size_t)(nfds > 0 ? nfds : 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;
		if (rd && FD_ISSET(fd, rd))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (ex && FD_ISSET(fd, ex))
			ev |= POLLPRI;
		if (ev)
			p[n++] = (struct pollfd){ fd, ev, 0 };
	}
	int r = poll_mixed(p, n, timeout_us, mask);
	if (r < 0)
		goto out;
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL) {
			r = -EBADF;
			goto out;
		}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	r = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents, ev = p[i].events;
		if ((ev & POLLIN) && (re & (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR))) {
			FD_SET(p[i].fd, rd);
			r++;
		}
		if ((ev & POLLOUT) && (re & (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR))) {
			FD_SET(p[i].fd, wr);
			r++;
		}
		if ((ev & POLLPRI) && (re & POLLPRI)) {
			FD_SET(p[i].fd, ex);
			r++;
		}
	}
out:
	free(p);
	return r;
}

static int sets_have_ours(int nfds, fd_set *rd, fd_set *wr, fd_set *ex)
{
	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	for (int fd = 0; fd < nfds; fd++)
		if (((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)))
		    && (fd_peek(fd) || ep_peek(fd)))
			return 1;
	return 0;
}

NST_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	if (nfds < 0 || !sets_have_ours(nfds, rd, wr, ex))
		return REAL(select)(nfds, rd, wr, ex, tv);
	int64_t us = -1;
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
			return set_errno(-EINVAL);
		us = (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
	}
	int64_t start = (int64_t)eng_now_us();
	int r = select_mixed(nfds, rd, wr, ex, us, NULL);
	if (tv) {
		/* Linux writes back the time not slept */
		int64_t left = us - ((int64_t)eng_now_us() - start);
		if (left < 0)
			left = 0;
		tv->tv_sec = left / 1000000;
		tv->tv_usec = left % 1000000;
	}
	return set_errno(r);
}

NST_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
		       const sigset_t *mask)
{
	if (nfds < 0 || !sets_have_ours(nfds, rd, wr, ex))
		return REAL(pselect)(nfds, rd, wr, ex, ts, mask);
	int64_t us = ts_us(ts);
	if (us < -1)
		return set_errno(-EINVAL);
	return set_errno(select_mixed(nfds, rd, wr, ex, us, mask));
}
