/* Interposed socket calls: socket, connect, bind, listen, accept, accept4,
 * close, dup*, shutdown, getsockname, getpeername, setsockopt, getsockopt,
 * fcntl/fcntl64 and ioctl.
 *
 * A call on an fd that is not ours costs one table lookup, then the real
 * function. Arguments are checked in the kernel's order so that bad calls
 * get the kernel's errno.
 */
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "preload.h"

#ifndef NST_SIOCOUTQNSQ
#define NST_SIOCOUTQNSQ 0x894B  /* <linux/sockios.h> SIOCOUTQNSQ */
#endif

/* The interface index a link-local address of ours is scoped to (the
 * sockaddr_in6 sin6_scope_id we fill in), 0 if unknown. */
uint32_t nsa_ifindex(void)
{
	static uint32_t idx;
	static int done;
	if (!done) {
		const char *ifn = getenv("NSTACK_IF");
		idx = ifn ? if_nametoindex(ifn) : 0;
		done = 1;
	}
	return idx;
}

/* Linux tcp_v4_connect / inet_bind (AF_INET sockets) and tcp_v6_connect /
 * inet6_bind / udpv6_sendmsg (AF_INET6 ones): the length first, then the
 * family. */
int nsa_parse(const struct nsock *s, const struct sockaddr *sa, socklen_t len, int dgram,
	      struct nst_addr *a, uint16_t *port)
{
	if ((int)len < 0 || len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (!sa)
		return len ? -EFAULT : -EINVAL;
	if (s->family == AF_INET6 && !(dgram && sa->sa_family == AF_INET)) {
		if (len < 24)           /* SIN6_LEN_RFC2133: sockaddr_in6 without sin6_scope_id */
			return -EINVAL;
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
		if (sin6->sin6_family != AF_INET6)
			return -EAFNOSUPPORT;
		memcpy(a->b, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		return 0;
	}
	if (len < sizeof(struct sockaddr_in))
		return -EINVAL;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	if (sin->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*a = nst_addr_from_v4(ntohl(sin->sin_addr.s_addr));
	*port = ntohs(sin->sin_port);
	return 0;
}

int nsa_fill(const struct nsock *s, struct sockaddr *sa, socklen_t *lenp,
	     const struct nst_addr *a, uint16_t port)
{
	if (!lenp)
		return -EFAULT;
	if ((int)*lenp < 0)
		return -EINVAL;
	struct sockaddr_storage ss = { 0 };
	size_t full;
	if (s->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, a->b, 16);
		if (nst_addr_is_linklocal(a))
			sin6->sin6_scope_id = nsa_ifindex();
		full = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(nst_addr_is_v4(a) ? nst_addr_v4(a) : 0);
		sin->sin_port = htons(port);
		full = sizeof(*sin);
	}
	size_t n = *lenp < full ? *lenp : full;
	if (n) {
		if (!sa)
			return -EFAULT;
		memcpy(sa, &ss, n);
	}
	*lenp = (socklen_t)full;
	return 0;
}

int nsa_serves(const struct nsock *s, const struct nst_addr *a, int bind)
{
	if (nst_addr_is_v4(a))
		return bind ? s->ops->bind_serves(nst_addr_v4(a)) : s->ops->connect_serves(nst_addr_v4(a));
	if (nst_addr_is_unspec(a))
		return bind;    /* bind(::) is ours; connect(::) means the kernel's ::1 */
	return stack_owns_addr(eng.st, a) || stack_routes_addr(eng.st, a);
}

/* Read a sysctl (path under /proc/sys) into buf as a C string: its length,
 * or -1 if unreadable. Open, read, close: no descriptor is kept (a program
 * that closes every descriptor would pull it from under us). */
static ssize_t sysctl_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = REAL(read)(fd, buf, size - 1);
	REAL(close)(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* One unsigned sysctl value, or dflt if unreadable. */
static unsigned long sysctl_ulong(const char *path, unsigned long dflt)
{
	char b[24];
	return sysctl_read(path, b, sizeof(b)) < 0 ? dflt : strtoul(b, NULL, 10);
}

#define TCP_SYSCTL_REFRESH_US 10000

/* The per-namespace TCP sysctls the stack follows: net.ipv4.tcp_notsent_lowat
 * (the TCP_NOTSENT_LOWAT of sockets that set none), tcp_min_tso_segs (the
 * fewest segments of a transmission unit, tcp_output),
 * tcp_slow_start_after_idle (default 1, as Linux's) and tcp_timestamps
 * (default 1: RFC 7323 timestamps offered and accepted). The kernel reads them at
 * each use; we read them when a TCP socket is created, at most once every
 * TCP_SYSCTL_REFRESH_US: a program may change them after its first socket
 * (packetdrill's wire client creates its control socket, then runs the
 * script's sysctl commands, tens of milliseconds, before the script's
 * sockets), and a program creating sockets at a high rate pays the twelve
 * system calls at most a hundred times a second. An unreadable
 * tcp_notsent_lowat or tcp_min_tso_segs leaves the stack's value alone.
 * Under the lock (tcp_ops.created). */
void tcp_sysctls_refresh(void)
{
	static uint64_t read_at;
	static int done;
	uint64_t now = eng_now_us();
	if (done && now - read_at < TCP_SYSCTL_REFRESH_US)
		return;
	done = 1;
	read_at = now;
	char b[24];
	if (sysctl_read("/proc/sys/net/ipv4/tcp_notsent_lowat", b, sizeof(b)) >= 0)
		nst_set_notsent_lowat(eng.st, (uint32_t)strtoul(b, NULL, 10));
	if (sysctl_read("/proc/sys/net/ipv4/tcp_min_tso_segs", b, sizeof(b)) >= 0)
		nst_set_min_tso_segs(eng.st, (uint32_t)strtoul(b, NULL, 10));
	nst_set_slow_start_after_idle(eng.st,
		sysctl_ulong("/proc/sys/net/ipv4/tcp_slow_start_after_idle", 1) != 0);
	/* 1 (RFC 7323 timestamps) or 2 (without Linux's random per-connection
	 * offset) both mean on here: our offsets are always per connection */
	nst_set_timestamps(eng.st, sysctl_ulong("/proc/sys/net/ipv4/tcp_timestamps", 1) != 0);
}

/* The one TCP/UDP decision: the socket's ops (proto.c). */
/* May this process open an ICMP echo socket? Linux ping_init_sock: its
 * group or one of its supplementary groups within net.ipv4.ping_group_range
 * (for IPv6 too), else EACCES. */
static int ping_allowed(void)
{
	char b[64];
	unsigned long lo = 1, hi = 0;
	if (sysctl_read("/proc/sys/net/ipv4/ping_group_range", b, sizeof(b)) < 0 ||
	    sscanf(b, "%lu %lu", &lo, &hi) != 2)
		return 0;
	gid_t g = getegid();
	if (g >= lo && g <= hi)
		return 1;
	gid_t groups[64];
	int n = getgroups(64, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] >= lo && groups[i] <= hi)
			return 1;
	return 0;
}

/* May it open a raw socket? The kernel says (CAP_NET_RAW): ask it with a
 * socket of the same kind, closed at once. 0 or -errno. */
static int raw_allowed(int domain, int protocol)
{
	int fd = REAL(socket)(domain, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	REAL(close)(fd);
	return 0;
}

NST_EXPORT int socket(int domain, int type, int protocol)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int icmp = domain == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	const struct sock_ops *ops = base == SOCK_STREAM ? &tcp_ops : base == SOCK_DGRAM ? &udp_ops : NULL;
	if (protocol == icmp && (base == SOCK_DGRAM || base == SOCK_RAW))
		ops = base == SOCK_DGRAM ? &ping_ops : &raw_ops;
	if ((domain != AF_INET && domain != AF_INET6) || !ops ||
	    (protocol != 0 && protocol != ops->protocol && ops != &ping_ops && ops != &raw_ops))
		return REAL(socket)(domain, type, protocol);
	int e = eng_ensure();
	if (e == ENG_DISABLED)
		return REAL(socket)(domain, type, protocol);
	if (e < 0)
		return set_errno(e);
	if (ops == &ping_ops && !ping_allowed())
		return set_errno(-EACCES);
	if (ops == &raw_ops && (e = raw_allowed(domain, protocol)) < 0)
		return set_errno(e);

	eng_lock();
	if (!eng.st) {
		eng_unlock();
		return REAL(socket)(domain, type, protocol);
	}
	if (ops->created)
		ops->created();
	int sd = domain == AF_INET6 ? nst_socket6(eng.st, ops->nst_type)
				    : nst_socket(eng.st, ops->nst_type);
	if (sd < 0) {
		eng_unlock();
		return set_errno(sd);
	}
	fam_sock_new(sd);       /* ours from now: killed before the fd exists, fam_bury closes it */
	struct nsock *s = nsock_new(sd, ops, protocol, !!(type & SOCK_NONBLOCK));
	int fd = s ? nsock_attach(s, !!(type & SOCK_CLOEXEC)) : -ENOMEM;
	if (fd < 0) {
		nst_close(eng.st, sd, eng_now_us());
		fam_sock_put(sd);
		free(s);
	}
	eng_unlock();
	return set_errno(fd);
}

/* An address nstack does not serve, under the lock: a socket not yet
 * committed to nstack becomes a kernel socket on the same fd (1: the lock
 * is released and the caller runs the real call, unless *r < 0 says the
 * hand-off failed); a committed one fails with err (0, *r = err). */
static int sock_to_kernel(struct nsock *s, int err, int *r)
{
	if (s->committed) {
		*r = err;
		return 0;
	}
	*r = nsock_handoff(s);
	eng_unlock();
	return 1;
}

/* Blocking connect: wait for POLLOUT, then SO_ERROR (inet_wait_for_connect).
 * A socket timeout ends the wait with EINPROGRESS, like the kernel. */
static int connect_wait(int fd, struct nsock *s, const struct nst_addr *ip, uint16_t port)
{
	int64_t dl = nsock_deadline(s->sndtimeo_us);
	for (;;) {
		int w = nsock_wait(fd, s, POLLOUT, dl);
		if (w == -EBADF)
			return w;
		int e = nst_sock_error(eng.st, s->sd);
		if (e)
			return -e;
		int r = nst_connect_addr(eng.st, s->sd, ip, port, eng_now_us());
		eng_after();
		if (r == 0 || r == -EISCONN)
			return 0;
		if (r != -EALREADY && r != -EINPROGRESS)
			return r;
		/* a signal ends the wait unless nsock_wait restarted it (SA_RESTART) */
		if (w == -EINTR)
			return -EINTR;
		if (w == -ETIMEDOUT)
			return -EINPROGRESS;
	}
}

NST_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(connect)(fd, addr, len);
	struct nst_addr ip;
	uint16_t port;
	if (s->ops->disconnect && addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		r = s->ops->disconnect(s);
		eng_unlock();
		return set_errno(r);
	}
	r = nsa_parse(s, addr, len, s->ops->disconnect != NULL, &ip, &port);
	/* tcp_v6_connect: a link-local peer needs its interface (sin6_scope_id) */
	if (r == 0 && s->family == AF_INET6 && nst_addr_is_linklocal(&ip) &&
	    (len < sizeof(struct sockaddr_in6) || !((const struct sockaddr_in6 *)addr)->sin6_scope_id))
		r = -EINVAL;
	if (r == 0 && !nsa_serves(s, &ip, 0)) {
		/* Not ours to serve (e.g. 127.0.0.1 beside a TAP): kernel socket. */
		if (sock_to_kernel(s, -ENETUNREACH, &r))
			return r < 0 ? set_errno(r) : REAL(connect)(fd, addr, len);
	}
	if (r == 0) {
		s->committed = 1;
		r = nst_connect_addr(eng.st, s->sd, &ip, port, eng_now_us());
		eng_after();
		if (r == -EINPROGRESS && !s->nonblock) {
			nsock_hold(s);
			r = connect_wait(fd, s, &ip, port);
			nsock_drop(s);
		}
	}
	eng_unlock();
	return set_errno(r);
}

NST_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(bind)(fd, addr, len);
	struct nst_addr ip;
	uint16_t port;
	r = nsa_parse(s, addr, len, 0, &ip, &port);
	/* Linux inet_bind: "accept AF_UNSPEC (mapped to AF_INET) only if
	 * s_addr is INADDR_ANY" */
	if (r == -EAFNOSUPPORT && s->family == AF_INET &&
	    ((const struct sockaddr_in *)addr)->sin_family == AF_UNSPEC &&
	    ((const struct sockaddr_in *)addr)->sin_addr.s_addr == htonl(INADDR_ANY)) {
		ip = nst_addr_from_v4(INADDR_ANY);
		port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
		r = 0;
	}
	/* inet6_bind: a link-local address needs its interface */
	if (r == 0 && nst_addr_is_linklocal(&ip) &&
	    (len < sizeof(struct sockaddr_in6) || !((const struct sockaddr_in6 *)addr)->sin6_scope_id))
		r = -EINVAL;
	/* bind_serves: for TCP an address on the stack's own network stays
	 * here (proto.c) */
	if (r == 0 && !nst_addr_is_any(&ip) && !nsa_serves(s, &ip, 1)) {
		/* An address the kernel may own: let the kernel have the socket. */
		if (sock_to_kernel(s, -EINVAL, &r))
			return r < 0 ? set_errno(r) : REAL(bind)(fd, addr, len);
	}
	if (r == 0) {
		r = nst_bind_addr(eng.st, s->sd, &ip, port);
		if (r == 0)
			s->committed = 1;
	}
	eng_unlock();
	return set_errno(r);
}

NST_EXPORT int listen(int fd, int backlog)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(listen)(fd, backlog);
	r = nst_listen(eng.st, s->sd, backlog, eng_now_us());
	eng_after();
	if (r == 0) {
		s->committed = 1;
		s->listening = 1;
	}
	eng_unlock();
	return set_errno(r);
}

static int sock_accept(int fd, struct nsock *s, struct sockaddr *addr, socklen_t *lenp, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (addr && !lenp)
		return -EFAULT;
	if (lenp && (int)*lenp < 0)
		return -EINVAL;
	int64_t dl = -2;
	struct nst_addr ip;
	uint16_t port;
	int nsd;
	for (;;) {
		nsd = nst_accept_addr(eng.st, s->sd, &ip, &port, eng_now_us());
		if (nsd >= 0)
			fam_sock_new(nsd);      /* at once: killed before the fd exists, fam_bury
			                         * closes it (else held by nobody, never closed) */
		eng_after();
		if (nsd != -EAGAIN || s->nonblock)
			break;
		int w = nsock_wait_timeo(fd, s, POLLIN, s->rcvtimeo_us, &dl);
		if (w < 0)
			return w;       /* EINTR (SA_RESTART restarts inside nsock_wait) */
	}
	nsock_edge_sync(s);
	if (nsd < 0)
		return nsd;
	struct nsock *ns = nsock_new(nsd, s->ops, s->protocol, !!(flags & SOCK_NONBLOCK));
	int nfd = ns ? nsock_attach(ns, !!(flags & SOCK_CLOEXEC)) : -ENOMEM;
	if (nfd < 0) {
		nst_close(eng.st, nsd, eng_now_us());
		fam_sock_put(nsd);
		eng_after();
		free(ns);
		return nfd;
	}
	/* the accepted socket inherits the listener's options, as sk_clone_lock */
	ns->committed = 1;
	ns->rcvtimeo_us = s->rcvtimeo_us;
	ns->sndtimeo_us = s->sndtimeo_us;
	ns->n_opts = s->n_opts;
	memcpy(ns->opts, s->opts, sizeof(ns->opts));
	if (addr || lenp)
		nsa_fill(ns, addr, lenp, &ip, port);
	return nfd;
}

NST_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *lenp, int flags)
{
	struct nsock *s;
	int r = sock_enter(fd, &s);
	if (r == 0)
		return REAL(accept4)(fd, addr, lenp, flags);
	return (int)set_errno(r < 0 ? r : sock_leave(s, sock_accept(fd, s, addr, lenp, flags)));
}

NST_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	struct nsock *s;
	int r = sock_enter(fd, &s);
	if (r == 0)
		return REAL(accept)(fd, addr, lenp);
	return (int)set_errno(r < 0 ? r : sock_leave(s, sock_accept(fd, s, addr, lenp, 0)));
}

/* SO_LINGER with a timeout (Linux inet_release -> tcp_close ->
 * sk_stream_wait_close): the last close of a TCP socket sends the FIN after
 * the queued data, then blocks until that FIN is acknowledged or the linger
 * time runs out (close returns 0 either way; the connection goes on as an
 * orphan), even for a non-blocking socket. Unread data, or data arriving
 * meanwhile, means an abort instead (nst_close sends the RST): no wait. A
 * signal ends the wait early, as in Linux. Not implemented: the linger of a
 * socket another thread's call still holds (Linux lingers at the last fput,
 * in that thread; ours ends without waiting at nsock_drop). The FIN's
 * acknowledgment is no event a waiter can ask for, so the wait sleeps in
 * steps of 100 us growing to 10 ms and asks the stack again
 * (nst_close_pending). Under the lock (tcp_ops.close_wait). */
void tcp_close_linger(struct nsock *s)
{
	struct linger lg;
	unsigned len = sizeof(lg);
	if (s->refs != 1 || s->calls || s->sd < 0 || !eng.st || s->listening)
		return;
	if (nst_getsockopt(eng.st, s->sd, SOL_SOCKET, SO_LINGER, &lg, &len) < 0 || !lg.l_onoff ||
	    lg.l_linger <= 0 || nst_rx_avail(eng.st, s->sd) > 0)
		return;
	if (nst_shutdown(eng.st, s->sd, SHUT_WR, eng_now_us()) < 0)
		return;         /* never connected: nothing to wait for */
	eng_after();
	int64_t dl = (int64_t)eng_now_us() + (int64_t)lg.l_linger * 1000000;
	int64_t step = 100;
	s->pins++;
	while (s->sd >= 0 && nst_close_pending(eng.st, s->sd) == 1 && nst_rx_avail(eng.st, s->sd) == 0) {
		int64_t now = (int64_t)eng_now_us();
		if (now >= dl)
			break;
		eng_unlock();
		int r = eng_block(NULL, 0, now + step < dl ? now + step : dl, NULL);
		eng_lock();
		if (r == -EINTR)
			break;
		if (step < 10000)
			step *= 2;
	}
	nsock_unpin(s);
}

/* close: the socket ends with its last fd (nst_close: FIN, then the stack
 * keeps the connection as an orphan); the eventfd is closed under the lock so
 * that its number is not reused while the table still names it. */
NST_EXPORT int close(int fd)
{
	if (!fd_peek(fd) && !ep_peek(fd))
		return REAL(close)(fd);
	eng_lock();
	struct nsock *s = fd_get(fd);
	if (s && s->ops->close_wait)
		s->ops->close_wait(s);
	if (fd_get(fd))
		fd_unmap(fd);
	ep_close(fd);   /* an epoll fd with nstack members (epoll.c) */
	int r = REAL(close)(fd);
	eng_unlock();
	return r;
}

NST_EXPORT int dup(int fd)
{
	if (!fd_peek(fd))
		return REAL(dup)(fd);
	eng_lock();
	int nfd = REAL(dup)(fd);
	struct nsock *s = fd_get(fd);
	if (nfd >= 0 && s && fd_map(nfd, s) < 0) {
		REAL(close)(nfd);
		nfd = set_errno(-EMFILE);
	}
	eng_unlock();
	return nfd;
}

/* dup2/dup3 onto an nstack fd close that socket's fd first (atomically in
 * the kernel; our mapping follows under the lock). */
static int dup_to(int oldfd, int newfd, int flags, int use3)
{
	if (!fd_peek(oldfd) && !fd_peek(newfd))
		return use3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	eng_lock();
	int r = use3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	if (r >= 0 && oldfd != newfd) {
		int e = errno;
		struct nsock *s = fd_get(oldfd);
		if (fd_get(newfd))
			fd_unmap(newfd);
		if (s && fd_map(newfd, s) < 0) {
			REAL(close)(newfd);
			r = -1;
			e = EMFILE;
		}
		errno = e;
	}
	eng_unlock();
	return r;
}

NST_EXPORT int dup2(int oldfd, int newfd)
{
	return dup_to(oldfd, newfd, 0, 0);
}

NST_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	return dup_to(oldfd, newfd, flags, 1);
}

NST_EXPORT int shutdown(int fd, int how)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(shutdown)(fd, how);
	if (how < SHUT_RD || how > SHUT_RDWR) {
		r = -EINVAL;
	} else {
		r = nst_shutdown(eng.st, s->sd, how, eng_now_us());
		eng_after();
		/* SHUT_RD on a listener disconnects it (Linux inet_shutdown) */
		if (r == 0 && how != SHUT_WR)
			s->listening = 0;
	}
	eng_unlock();
	return set_errno(r);
}

static int sock_name(int fd, struct sockaddr *addr, socklen_t *lenp, int peer)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r == 0)
		return peer ? REAL(getpeername)(fd, addr, lenp) : REAL(getsockname)(fd, addr, lenp);
	if (r < 0)
		return set_errno(r);
	struct nst_addr ip = { 0 };
	uint16_t port = 0;
	r = peer ? nst_getpeername_addr(eng.st, s->sd, &ip, &port)
		 : nst_getsockname_addr(eng.st, s->sd, &ip, &port);
	if (r == 0)
		r = nsa_fill(s, addr, lenp, &ip, port);
	eng_unlock();
	return set_errno(r);
}

NST_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	return sock_name(fd, addr, lenp, 0);
}

NST_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *lenp)
{
	return sock_name(fd, addr, lenp, 1);
}

/* SO_RCVBUF/SO_SNDBUF are clamped by this host's net.core.rmem_max and
 * wmem_max before the doubling, as the kernel does; read them once. Under
 * the lock. */
static void sockbuf_limits_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	nst_set_sockbuf_max(eng.st, (unsigned)sysctl_ulong("/proc/sys/net/core/rmem_max", 0),
			    (unsigned)sysctl_ulong("/proc/sys/net/core/wmem_max", 0));
}

static int is_timeo(int level, int name, int *snd)
{
	if (level != SOL_SOCKET)
		return 0;
	*snd = 0;
	switch (name) {
	case SO_RCVTIMEO:
#if defined(SO_RCVTIMEO_NEW) && SO_RCVTIMEO_NEW != SO_RCVTIMEO
	case SO_RCVTIMEO_NEW:
#endif
		return 1;
	case SO_SNDTIMEO:
#if defined(SO_SNDTIMEO_NEW) && SO_SNDTIMEO_NEW != SO_SNDTIMEO
	case SO_SNDTIMEO_NEW:
#endif
		*snd = 1;
		return 1;
	}
	return 0;
}

/* net.ipv4.tcp_rmem[2] of this host, read once (0 if unreadable). */
static unsigned tcp_rmem_max_once(void)
{
	static unsigned v;
	static int done;
	if (!done) {
		char b[64];
		unsigned a, m, c;
		if (sysctl_read("/proc/sys/net/ipv4/tcp_rmem", b, sizeof(b)) >= 0 &&
		    sscanf(b, "%u %u %u", &a, &m, &c) == 3)
			v = c;
		done = 1;
	}
	return v;
}

/* SO_RCVLOWAT on TCP (tcp_ops.rcvlowat): tcp_set_rcvlowat caps it at half
 * of this host's tcp_rmem[2]. */
int tcp_rcvlowat(int val)
{
	unsigned cap = tcp_rmem_max_once() / 2;
	if (val < 0 || (cap && (unsigned)val > cap))
		val = cap ? (int)cap : INT_MAX;
	return val;
}

/* SO_BINDTODEVICE's argument as Linux reads it (sock_setbindtodevice): at
 * most IFNAMSIZ - 1 bytes of a name; empty (or optlen 0) unbinds (index 0),
 * a name no device has is ENODEV. */
static int bindtodevice_index(const void *val, socklen_t len, int *ifindex)
{
	char name[IF_NAMESIZE] = { 0 };
	*ifindex = 0;
	if (len > IF_NAMESIZE - 1)
		len = IF_NAMESIZE - 1;
	if (len && !val)
		return -EFAULT;
	memcpy(name, val, len);
	if (!name[0])
		return 0;
	unsigned idx = if_nametoindex(name);
	if (!idx)
		return -ENODEV;
	*ifindex = (int)idx;
	return 0;
}

NST_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(setsockopt)(fd, level, name, val, len);
	int snd, ifindex;
	if ((int)len < 0) {
		r = -EINVAL;
	} else if (is_timeo(level, name, &snd)) {
		/* sock_set_timeout: kept here, the stack never blocks */
		/* sk_setsockopt reads an int first: NULL is EFAULT from 4 bytes on */
		struct timeval tv;
		if (len >= sizeof(int) && !val) {
			r = -EFAULT;
		} else if (len < sizeof(tv)) {
			r = -EINVAL;
		} else {
			memcpy(&tv, val, sizeof(tv));
			if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) {
				r = -EDOM;
			} else {
				int64_t us = tv.tv_sec < 0 ? 0 : (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
				*(snd ? &s->sndtimeo_us : &s->rcvtimeo_us) = us;
				r = 0;
			}
		}
	} else if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
		/* the stack keeps the index (SO_BINDTOIFINDEX); names are the OS's */
		r = bindtodevice_index(val, len, &ifindex);
		if (r == 0) {
			r = nst_setsockopt(eng.st, s->sd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
					   sizeof(ifindex), eng_now_us());
			eng_after();
		}
	} else {
		if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF))
			sockbuf_limits_once();
		int lowat;
		if (level == SOL_SOCKET && name == SO_BINDTOIFINDEX && val && len >= sizeof(int)) {
			/* sock_bindtoindex: an index no device has is ENODEV */
			char name_buf[IF_NAMESIZE];
			memcpy(&ifindex, val, sizeof(ifindex));
			if (ifindex > 0 && !if_indextoname((unsigned)ifindex, name_buf)) {
				r = -ENODEV;
				goto out;
			}
		}
		if (level == SOL_SOCKET && name == SO_RCVLOWAT && s->ops->rcvlowat &&
		    val && len >= sizeof(int)) {
			memcpy(&lowat, val, sizeof(lowat));
			lowat = s->ops->rcvlowat(lowat);
			val = &lowat;
		}
		r = nst_setsockopt(eng.st, s->sd, level, name, val, len, eng_now_us());
		eng_after();
	}
out:
	if (r == 0)
		nsock_record_opt(s, level, name, val, len);
	eng_unlock();
	return set_errno(r);
}

/* Copy an option value out like the kernel: truncated to *lenp. */
static int opt_put(void *val, socklen_t *lenp, const void *v, size_t n)
{
	if (*lenp < n)
		n = *lenp;
	if (n && !val)
		return -EFAULT;
	memcpy(val, v, n);
	*lenp = (socklen_t)n;
	return 0;
}

/* SOL_SOCKET options answered from our own state; 1 if name is one. */
static int sock_int_opt(struct nsock *s, int name, int *iv)
{
	switch (name) {
	case SO_ERROR:      *iv = nst_sock_error(eng.st, s->sd); return 1;
	case SO_TYPE:       *iv = s->ops->type; return 1;
	case SO_DOMAIN:     *iv = s->family; return 1;
	case SO_PROTOCOL:   *iv = s->protocol ? s->protocol : s->ops->protocol; return 1;
	case SO_ACCEPTCONN: *iv = s->listening; return 1;
	}
	return 0;
}

/* SO_BINDTODEVICE: the bound device's name with its NUL, nothing when
 * unbound; a buffer under IFNAMSIZ is EINVAL (sock_getbindtodevice). */
static int bindtodevice_get(struct nsock *s, void *val, socklen_t *lenp)
{
	int ifindex = 0;
	unsigned n = sizeof(ifindex);
	char name[IF_NAMESIZE] = { 0 };
	if (*lenp < IF_NAMESIZE)
		return -EINVAL;
	int r = nst_getsockopt(eng.st, s->sd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex, &n);
	if (r < 0)
		return r;
	if (ifindex && !if_indextoname((unsigned)ifindex, name))
		return -ENODEV;
	return opt_put(val, lenp, name, ifindex ? strlen(name) + 1 : 0);
}

/* SO_MEMINFO: Linux's sk_get_meminfo array (SK_MEMINFO_*), as far as we
 * have its quantities: the bytes queued to read and to send stand for the
 * allocations (rmem_alloc, wmem_queued), the buffer sizes are SO_RCVBUF
 * and SO_SNDBUF; the rest (forward allocation, option memory, backlog,
 * drops) is 0. Truncated to *lenp, as Linux. */
static int meminfo_get(struct nsock *s, void *val, socklen_t *lenp)
{
	enum { RMEM_ALLOC, RCVBUF, WMEM_ALLOC, SNDBUF, FWD_ALLOC, WMEM_QUEUED, NVARS = 9 };
	uint32_t mem[NVARS] = { 0 };
	int v;
	unsigned n = sizeof(v);
	if (nst_getsockopt(eng.st, s->sd, SOL_SOCKET, SO_RCVBUF, &v, &n) == 0)
		mem[RCVBUF] = (uint32_t)v;
	n = sizeof(v);
	if (nst_getsockopt(eng.st, s->sd, SOL_SOCKET, SO_SNDBUF, &v, &n) == 0)
		mem[SNDBUF] = (uint32_t)v;
	if (s->ops->tcp_info) {
		struct nst_tcp_info ni;
		mem[RMEM_ALLOC] = (uint32_t)nst_rx_avail(eng.st, s->sd);
		if (s->ops->tcp_info(eng.st, s->sd, &ni) == 0)
			mem[WMEM_QUEUED] = ni.outq;
	}
	return opt_put(val, lenp, mem, sizeof(mem));
}

NST_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *lenp)
{
	struct nsock *s;
	int r = fd_lock(fd, &s);
	if (r <= 0)
		return r ? (int)set_errno(r) : REAL(getsockopt)(fd, level, name, val, lenp);
	int snd, iv;
	if (!lenp) {
		r = -EFAULT;
	} else if ((int)*lenp < 0) {
		r = -EINVAL;
	} else if (is_timeo(level, name, &snd)) {
		int64_t us = snd ? s->sndtimeo_us : s->rcvtimeo_us;
		struct timeval tv = { us / 1000000, us % 1000000 };
		r = opt_put(val, lenp, &tv, sizeof(tv));
	} else if (level == SOL_SOCKET && sock_int_opt(s, name, &iv)) {
		r = opt_put(val, lenp, &iv, sizeof(iv));
	} else if (level == IPPROTO_TCP && name == TCP_INFO && s->ops->tcp_info) {
		eng_sync_rx();
		r = tcpinfo_get(s, val, lenp);
	} else if (level == SOL_SOCKET && name == SO_BINDTODEVICE) {
		r = bindtodevice_get(s, val, lenp);
	} else if (level == SOL_SOCKET && name == SO_PEERNAME) {
		/* sk_getsockopt: the peer's address, no more bytes than it has */
		struct sockaddr_in sa;
		socklen_t n = sizeof(sa);
		eng_unlock();
		if (sock_name(fd, (struct sockaddr *)&sa, &n, 1) < 0)
			return -1;      /* errno ENOTCONN */
		if (*lenp > n)
			return set_errno(-EINVAL);
		if (*lenp && !val)
			return set_errno(-EFAULT);
		memcpy(val, &sa, *lenp);
		return 0;
	} else if (level == SOL_SOCKET && name == SO_MEMINFO) {
		r = meminfo_get(s, val, lenp);
	} else if (level == SOL_SOCKET && name == SO_COOKIE) {
		/* a number unique among the process's sockets (Linux: in the netns) */
		uint64_t cookie = (uint64_t)(uintptr_t)s;
		r = *lenp < sizeof(cookie) ? -EINVAL : opt_put(val, lenp, &cookie, sizeof(cookie));
	} else if (*lenp && !val && !(level == IPPROTO_TCP && name == TCP_CC_INFO)) {
		/* (TCP_CC_INFO copies 0 bytes: a NULL buffer is no fault) */
		r = -EFAULT;
	} else {
		unsigned ulen = *lenp;
		r = nst_getsockopt(eng.st, s->sd, level, name, val, &ulen);
		if (r == 0)
			*lenp = ulen;
	}
	eng_unlock();
	return set_errno(r);
}

/* fcntl: O_NONBLOCK is ours (and forwarded to the eventfd); F_DUPFD* map the
 * new fd to the same socket; everything else is the eventfd's business
 * (FD_CLOEXEC lives there). */
static int fcntl_common(int (*realfn)(int, int, ...), int fd, int cmd, long arg)
{
	if (!fd_peek(fd))
		return realfn(fd, cmd, arg);
	eng_lock();
	struct nsock *s = fd_get(fd);
	int r = realfn(fd, cmd, arg);
	if (s && r >= 0) {
		switch (cmd) {
		case F_GETFL:
			r = (r & ~O_NONBLOCK) | (s->nonblock ? O_NONBLOCK : 0);
			break;
		case F_SETFL:
			s->nonblock = !!(arg & O_NONBLOCK);
			break;
		case F_DUPFD:
		case F_DUPFD_CLOEXEC:
			if (fd_map(r, s) < 0) {
				REAL(close)(r);
				r = set_errno(-EMFILE);
			}
			break;
		}
	}
	eng_unlock();
	return r;
}

NST_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

NST_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

NST_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *argp = va_arg(ap, void *);
	va_end(ap);
	if (!fd_peek(fd))
		return REAL(ioctl)(fd, req, argp);
	eng_lock();
	struct nsock *s = fd_get(fd);
	int r;
	if (!s) {
		r = REAL(ioctl)(fd, req, argp);
	} else if (req == FIONBIO) {
		if (!argp) {
			r = set_errno(-EFAULT);
		} else {
			r = REAL(ioctl)(fd, req, argp);
			if (r == 0)
				s->nonblock = *(int *)argp != 0;
		}
	} else if (req == FIONREAD) {
		if (!eng.st || s->sd < 0)
			r = set_errno(-EBADF);
		else if (s->listening)
			r = set_errno(-EINVAL);
		else if (!argp)
			r = set_errno(-EFAULT);
		else {
			eng_freshen();
			*(int *)argp = (int)nst_rx_avail(eng.st, s->sd);
			r = 0;
		}
	} else if ((req == TIOCOUTQ || req == NST_SIOCOUTQNSQ) && s->ops->tcp_info) {
		/* tcp_ioctl: SIOCOUTQ unacked + unsent, SIOCOUTQNSQ unsent */
		struct nst_tcp_info ti;
		if (!eng.st || s->sd < 0)
			r = set_errno(-EBADF);
		else if (s->listening)
			r = set_errno(-EINVAL);
		else if (!argp)
			r = set_errno(-EFAULT);
		else {
			eng_freshen();
			r = set_errno(s->ops->tcp_info(eng.st, s->sd, &ti));
			if (r == 0)
				*(int *)argp = (int)(req == TIOCOUTQ ? ti.outq : ti.notsent_bytes);
		}
	} else if ((req & 0xff00) == 0x8900) {
		/* SIOC* interface ioctls on a socket fd: ask a kernel socket */
		int kfd = REAL(socket)(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (kfd < 0) {
			r = -1;
		} else {
			r = REAL(ioctl)(kfd, req, argp);
			int e = errno;
			REAL(close)(kfd);
			errno = e;
		}
	} else {
		r = REAL(ioctl)(fd, req, argp);
	}
	eng_unlock();
	return r;
}
