/* The control socket: how `nstack ss` and `nstack stats` see inside a
 * running preloaded process (the host's ss, netstat and /proc/net/tcp cannot:
 * these connections are not the kernel's).
 *
 * When the stack starts, the process listens on an AF_UNIX stream socket
 * $NSTACK_RUNDIR/<pid>.sock (default /run/nstack, directory mode 0700, socket
 * mode 0600: only the owner and root may look) and removes it at exit. A
 * small thread, with every signal blocked, serves one request at a time:
 *
 *   request  one line: "sockets" | "stats" | "info"
 *   reply    text lines, then the server closes the connection:
 *     sockets  "tcp|udp STATE LADDR:LPORT RADDR:RPORT key=value ..." per socket,
 *              ending "fd=N pids=P1,P2": the members holding it, and the lowest
 *              fd of the serving process's own to it (-1: none)
 *     stats    "name value" per counter (stack, device, impairment, packet
 *              buffers in use)
 *     info     "key value" (pid, interface, address, ...)
 *
 * The snapshot is taken under the stack lock and nothing else is: reading
 * the request (bounded by CTL_READ_MS) and writing the reply happen outside
 * it, so a slow or stuck client never stalls the stack. All socket calls go
 * to the real libc functions, never to our own interposed ones.
 *
 * The same file installs the TCP state-change log (NSTACK_LOG=info): one line
 * per transition with the connection's 4-tuple.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "preload.h"
#include "shm.h"
#include "shim/shim.h"
#include "stack/pkt.h"

#define CTL_DIR_DEFAULT "/run/nstack"
#define CTL_READ_MS     200     /* a client has this long to send its request */
#define CTL_REPLY_MAX   (64u << 20)     /* ~200 000 sockets of ss -i lines */

static int       ctl_fd = -1;
static char      ctl_ifname[32];        /* the interface: the rendezvous' name */
static char      ctl_link[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pid_t     ctl_owner;
static char      ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_t ctl_thread;

/* A growing text buffer for one reply. */
struct ctl_buf {
	char  *p;
	size_t len, cap;
	int    full;
};

static const char *ctl_dir(void);

static void __attribute__((format(printf, 2, 3))) ctl_printf(struct ctl_buf *b, const char *fmt, ...)
{
	if (b->full)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *np = cap <= CTL_REPLY_MAX ? realloc(b->p, cap) : NULL;
		if (!np) {
			b->full = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

/* An address as ss(8) prints it: IPv4 dotted, an AF_INET6 socket's in
 * brackets (v4-mapped ones too), its wildcard "*" when it takes IPv4 as
 * well (not IPV6_V6ONLY). */
#define CTL_IP_LEN (INET6_ADDRSTRLEN + 2)
static const char *ctl_ip_af(const struct nst_addr *a, int af, int v6only, char *buf)
{
	if (af == NST_AF_INET6 && !v6only && nst_addr_is_unspec(a))
		return strcpy(buf, "*");
	if (af == NST_AF_INET6 && nst_addr_is_v4(a)) {
		buf[0] = '[';
		inet_ntop(AF_INET6, a->b, buf + 1, INET6_ADDRSTRLEN);
		strcat(buf, "]");
		return buf;
	}
	if (nst_addr_is_v4(a)) {
		struct in_addr ia = { htonl(nst_addr_v4(a)) };
		return inet_ntop(AF_INET, &ia, buf, CTL_IP_LEN);
	}
	buf[0] = '[';
	inet_ntop(AF_INET6, a->b, buf + 1, INET6_ADDRSTRLEN);
	strcat(buf, "]");
	return buf;
}

static const char *ctl_ip(const struct nst_addr *a, char *buf)
{
	return ctl_ip_af(a, nst_addr_is_v4(a) ? NST_AF_INET : NST_AF_INET6, 1, buf);
}

/* Who holds each socket of a snapshot: our lowest fd to it (or -1), and
 * the pids of the family members holding it (family.c), ascending, at
 * pid[off..off+np) of a flat array (most sockets have one holder). */
#define CTL_HOLDERS 64          /* a family's members at most */
struct ctl_hold {
	int fd, np;
	size_t off;
};

/* Under the lock: h for socket sd, its pids appended to *pids (*len used of
 * *cap). -1 when out of memory. */
static int ctl_holders(int sd, struct ctl_hold *h, pid_t **pids, size_t *len, size_t *cap)
{
	if (*len + CTL_HOLDERS > *cap) {
		size_t nc = *cap ? *cap * 2 : 1024;
		pid_t *np = realloc(*pids, nc * sizeof(**pids));
		if (!np)
			return -1;
		*pids = np;
		*cap = nc;
	}
	pid_t *p = *pids + *len;
	h->fd = fd_of_sd(sd);
	h->np = fam_holders(sd, p, CTL_HOLDERS);
	h->off = *len;
	*len += (size_t)h->np;
	for (int i = 1; i < h->np; i++)     /* insertion sort: a handful of pids */
		for (int j = i; j > 0 && p[j - 1] > p[j]; j--) {
			pid_t t = p[j];
			p[j] = p[j - 1];
			p[j - 1] = t;
		}
	return 0;
}

/* "sockets": snapshot under the lock, format outside it. pids= lists the
 * processes holding the socket ("-": none, an orphan); fd= is the serving
 * process's own lowest descriptor to it (-1: it holds none). */
static void ctl_sockets(struct ctl_buf *b)
{
	struct nst_sock_info *v = NULL;
	struct ctl_hold *hv = NULL;
	pid_t *pids = NULL;
	size_t plen = 0, pcap = 0;
	int n = 0;

	eng_lock();
	if (eng.st) {
		int want = nst_sock_list(eng.st, NULL, 0);
		v = want > 0 ? malloc((size_t)want * sizeof(*v)) : NULL;
		if (v)
			n = nst_sock_list(eng.st, v, want);
		if (n > want)
			n = want;
		hv = n > 0 ? malloc((size_t)n * sizeof(*hv)) : NULL;
		for (int i = 0; hv && i < n; i++)
			if (ctl_holders(v[i].sd, &hv[i], &pids, &plen, &pcap) < 0) {
				free(hv);
				hv = NULL;
			}
	}
	eng_unlock();

	for (int i = 0; i < n; i++) {
		const struct nst_sock_info *s = &v[i];
		char la[CTL_IP_LEN], ra[CTL_IP_LEN];
		ctl_printf(b, "%s %s %s:%u %s:%u recv_q=%u send_q=%u sd=%d orphan=%u mss=%u "
			   "rtt_us=%llu rttvar_us=%llu rto_us=%llu cwnd=%u ssthresh=%u "
			   "snd_wnd=%u rcv_wnd=%u retrans=%u recovery=%u bytes_acked=%llu "
			   "bytes_received=%llu total_retrans=%u delivery_rate=%llu sack=%u cc=%s",
			   s->type == NST_SOCK_DGRAM ? "udp" : s->type == NST_SOCK_PING ? "icmp" :
			   s->type == NST_SOCK_RAW_ICMP ? "raw" : "tcp",
			   nst_tcp_state_name(s->state), ctl_ip_af(&s->laddr, s->af, s->v6only, la),
			   s->lport, ctl_ip_af(&s->raddr, s->af, s->v6only, ra), s->rport, s->recv_q, s->send_q, s->sd,
			   s->orphan, s->mss, (unsigned long long)s->rtt_us,
			   (unsigned long long)s->rttvar_us, (unsigned long long)s->rto_us,
			   s->cwnd, s->ssthresh, s->snd_wnd, s->rcv_wnd, s->retrans,
			   s->in_recovery, (unsigned long long)s->bytes_acked,
			   (unsigned long long)s->bytes_received, s->total_retrans,
			   (unsigned long long)s->delivery_rate, s->sack, s->cc[0] ? s->cc : "-");
		if (hv) {
			ctl_printf(b, " fd=%d pids=", hv[i].fd);
			for (int k = 0; k < hv[i].np; k++)
				ctl_printf(b, "%s%d", k ? "," : "", (int)pids[hv[i].off + (size_t)k]);
			ctl_printf(b, "%s", hv[i].np ? "" : "-");
		}
		ctl_printf(b, "\n");
	}
	free(pids);
	free(hv);
	free(v);
}

/* "stats": every STACK_STATS counter, the device's, and the impairment's. */
static void ctl_stats(struct ctl_buf *b)
{
	struct stack_stats s = { 0 };
	struct netdev_stats d = { 0 };
	struct impair_stats im;
	int have_im = 0;
	unsigned pool = 0, pool_large = 0;

	eng_lock();
	if (eng.st) {
		s = *stack_stats(eng.st);
		d = stack_netdev(eng.st)->stat;
		have_im = impairdev_stats(eng.impair, &im) == 0;
		pool = pkt_pool_in_use();
		pool_large = pkt_pool_large_in_use();
	}
	eng_unlock();

#define CTL_STAT(name, desc) ctl_printf(b, "%s %llu\n", #name, (unsigned long long)s.name);
	STACK_STATS(CTL_STAT)
#undef CTL_STAT
	ctl_printf(b, "dev_rx_frames %llu\ndev_rx_bytes %llu\ndev_rx_drops %llu\n"
		   "dev_tx_frames %llu\ndev_tx_bytes %llu\ndev_tx_drops %llu\n",
		   (unsigned long long)d.rx_frames, (unsigned long long)d.rx_bytes,
		   (unsigned long long)d.rx_drops, (unsigned long long)d.tx_frames,
		   (unsigned long long)d.tx_bytes, (unsigned long long)d.tx_drops);
	ctl_printf(b, "dev_rx_rearms %llu\ndev_rx_nobuf %llu\ndev_rx_gso_drops %llu\n"
		   "dev_rx_claims %llu\ndev_rx_armed %u\ndev_rx_errno %d\n", (unsigned long long)d.rx_rearms,
		   (unsigned long long)d.rx_nobuf, (unsigned long long)d.rx_gso_drops,
		   (unsigned long long)d.rx_claims, (unsigned)d.rx_armed, -(int)d.rx_error);
	/* packet buffers in use (shared by a family: a leak check for tests) */
	ctl_printf(b, "pkt_pool_in_use %u\npkt_pool_large_in_use %u\n", pool, pool_large);
	if (have_im) {
#define CTL_IM(f) ctl_printf(b, "impair_%s %llu\n", #f, (unsigned long long)im.f);
		CTL_IM(tx_lost) CTL_IM(tx_dup) CTL_IM(tx_reordered) CTL_IM(tx_corrupted)
		CTL_IM(tx_delayed) CTL_IM(rx_lost) CTL_IM(rx_dup) CTL_IM(rx_reordered)
		CTL_IM(rx_corrupted) CTL_IM(rx_delayed) CTL_IM(overflow)
#undef CTL_IM
	}
}

static void ctl_info(struct ctl_buf *b)
{
	const char *v;
	ctl_printf(b, "pid %d\n", (int)getpid());
	if ((v = getenv("NSTACK_IF")))
		ctl_printf(b, "if %s\n", v);
	if ((v = getenv("NSTACK_ADDR")))
		ctl_printf(b, "addr %s\n", v);
	if ((v = getenv("NSTACK_GW")) && *v)
		ctl_printf(b, "gw %s\n", v);
	if ((v = getenv("NSTACK_IMPAIR")) && *v)
		ctl_printf(b, "impair %s\n", v);
	if ((v = getenv("NSTACK_PCAP")) && *v)
		ctl_printf(b, "pcap %s\n", v);
}

/* Read one request line, bounded in time; 0 or -errno. */
static int ctl_read_request(int c, char *req, size_t size)
{
	size_t len = 0;
	uint64_t deadline = eng_now_us() + CTL_READ_MS * 1000ull;
	while (len + 1 < size) {
		uint64_t now = eng_now_us();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd p = { c, POLLIN, 0 };
		int r = REAL(poll)(&p, 1, (int)((deadline - now + 999) / 1000));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ETIMEDOUT;
		ssize_t n = REAL(read)(c, req + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = 0;
		if (strchr(req, '\n'))
			break;
	}
	req[len] = 0;
	req[strcspn(req, "\r\n")] = 0;
	return 0;
}

/* "join": another program on the same interface becomes a member of the
 * family (preload/engine.c eng_try_join). Only the stack's own user or root
 * (SO_PEERCRED): the trust boundary is the family, as with Onload's shared
 * stacks -- a member can read and change every connection of the stack.
 * The reply is one line, "ok SLOT ADDR PREFIX", with the arena's memfd and
 * the device's fd attached (SCM_RIGHTS), or "error WHY". */
static void ctl_join(int c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char line[96];
	int fds[2] = { -1, -1 }, nfd = 0;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (cr.uid != geteuid() && cr.uid != 0)) {
		snprintf(line, sizeof(line), "error permission\n");
	} else {
		eng_lock();
		int slot = eng.st && eng.arena && eng.dev ? fam_join_prepare(cr.pid) : -1;
		if (slot >= 0) {
			uint8_t plen;
			uint32_t a = stack_addr(eng.st, &plen);
			fds[0] = shm_arena_fd(eng.arena);
			fds[1] = shim_dev_fd(eng.dev);
			nfd = fds[1] >= 0 ? 2 : 1;
			snprintf(line, sizeof(line), "ok %d %u %u\n", slot, a, plen);
		} else {
			snprintf(line, sizeof(line), "error %s\n", eng.st ? "full" : "no stack");
		}
		eng_unlock();
	}
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(fds))];
	} u;
	struct iovec iov = { line, strlen(line) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfd) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.b;
		m.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		struct cmsghdr *h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(h), fds, nfd * sizeof(int));
	}
	(void)!REAL(sendmsg)(c, &m, MSG_NOSIGNAL);
}

static void ctl_serve(int c)
{
	char req[64];
	struct ctl_buf b = { 0 };
	if (ctl_read_request(c, req, sizeof(req)) < 0)
		return;
	if (!strcmp(req, "join")) {
		ctl_join(c);
		return;
	}
	if (!strcmp(req, "sockets"))
		ctl_sockets(&b);
	else if (!strcmp(req, "stats"))
		ctl_stats(&b);
	else if (!strcmp(req, "info"))
		ctl_info(&b);
	else
		ctl_printf(&b, "error unknown request\n");
	if (b.full && b.p) {
		/* the last whole line that leaves room for the marker, then the marker */
		static const char m[] = "error reply truncated\n";
		size_t keep = b.len + sizeof(m) <= b.cap ? b.len : b.cap - sizeof(m);
		while (keep > 0 && b.p[keep - 1] != '\n')
			keep--;
		memcpy(b.p + keep, m, sizeof(m) - 1);
		b.len = keep + sizeof(m) - 1;
	}
	for (size_t off = 0; b.p && off < b.len;) {
		ssize_t n = REAL(send)(c, b.p + off, b.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(b.p);
}

static void *ctl_main(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int c = REAL(accept4)(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (errno != EINTR && errno != ECONNABORTED)
					usleep(100000);     /* out of fds: back off, don't spin */
				continue;
			}
			return NULL;    /* shut down at exit (EINVAL), or the fd was closed under us */
		}
		/* A reply is bounded: never block on a client that does not read. */
		struct timeval tv = { 1, 0 };
		REAL(setsockopt)(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		ctl_serve(c);
		REAL(close)(c);
	}
}

/* At exit: remove the socket so `nstack ss` no longer lists the process. */
void ctl_set_ifname(const char *ifname)
{
	snprintf(ctl_ifname, sizeof(ctl_ifname), "%s", ifname ? ifname : "");
}

/* The rendezvous of the stack on ifname: one per network namespace (every
 * namespace may have its own nst0), named by the namespace's inode. */
int ctl_join_path(const char *ifname, char *buf, size_t size)
{
	struct stat ns;
	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	return (size_t)snprintf(buf, size, "%s/if-%lu-%s.sock", ctl_dir(),
				(unsigned long)ns.st_ino, ifname) < size ? 0 : -ENAMETOOLONG;
}

/* The rendezvous if-<ifname>.sock -> our <pid>.sock, replaced atomically
 * (rename), so a member taking the control socket over takes the name too. */
static void ctl_link_make(void)
{
	char tmp[sizeof(ctl_link) + 16];
	if (!ctl_ifname[0] || !strcmp(ctl_ifname, "lo") ||
	    ctl_join_path(ctl_ifname, ctl_link, sizeof(ctl_link)) < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.%d", ctl_link, (int)getpid());
	unlink(tmp);
	if (symlink(ctl_path, tmp) < 0 || rename(tmp, ctl_link) < 0) {
		log_info("control socket: %s: %s", ctl_link, strerror(errno));
		unlink(tmp);
		ctl_link[0] = 0;
	}
}

/* Remove the rendezvous if it still names our socket. */
static void ctl_link_drop(void)
{
	char t[sizeof(ctl_path)];
	ssize_t n;
	if (!ctl_link[0])
		return;
	if ((n = readlink(ctl_link, t, sizeof(t) - 1)) > 0) {
		t[n] = 0;
		if (!strcmp(t, ctl_path))
			unlink(ctl_link);
	}
	ctl_link[0] = 0;
}

void ctl_stop(void)
{
	if (ctl_fd < 0 || getpid() != ctl_owner)
		return;
	ctl_link_drop();
	unlink(ctl_path);
	REAL(shutdown)(ctl_fd, SHUT_RDWR);    /* wakes the thread's accept with EINVAL */
	ctl_owner = 0;
}

static void ctl_exit(void)
{
	ctl_stop();
}

/* In a forked child that shares the stack: the inherited listener is the
 * parent's (its thread serves it; ours did not come along). Close our copy,
 * so it dies with the parent; the child then serves its own (ctl_start). */
void ctl_forked(void)
{
	if (ctl_fd >= 0)
		REAL(close)(ctl_fd);
	ctl_fd = -1;
}

/* The directory for control sockets: NSTACK_RUNDIR or /run/nstack. */
static const char *ctl_dir(void)
{
	const char *d = getenv("NSTACK_RUNDIR");
	return d && *d ? d : CTL_DIR_DEFAULT;
}

/* Remove the sockets of processes that are gone (killed by a signal, their
 * exit handler never ran), so the directory does not fill up with them; and
 * the rendezvous links (if-*.sock, and a temporary if-*.sock.<pid> a kill
 * left before its rename) whose socket is gone: a dangling link answers a
 * joiner as no link does (ENOENT: it starts the stack), so nothing changes
 * but the clutter. */
static void ctl_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end, path[sizeof(ctl_path)];
		struct stat sb;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
			continue;
		if (!strncmp(e->d_name, "if-", 3)) {
			if (stat(path, &sb) < 0 && errno == ENOENT)
				unlink(path);
			continue;
		}
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || strcmp(end, ".sock") || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		unlink(path);
	}
	closedir(d);
}

/* Under the lock, when the stack has just been created. Failure is not
 * fatal: the program runs, only `nstack ss` cannot see it (said at info). */
void ctl_start(void)
{
	const char *dir = ctl_dir();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_info("control socket: %s: %s", dir, strerror(errno));
		return;
	}
	if ((size_t)snprintf(ctl_path, sizeof(ctl_path), "%s/%d.sock", dir, (int)getpid()) >=
	    sizeof(ctl_path)) {
		log_info("control socket: %s: path too long", dir);
		return;
	}
	memcpy(sa.sun_path, ctl_path, sizeof(ctl_path));
	int fd = REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_info("control socket: %s", strerror(errno));
		return;
	}
	ctl_sweep(dir);
	unlink(ctl_path);       /* left by an earlier process with our pid that was killed */
	mode_t old = umask(0177);
	int r = REAL(bind)(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(ctl_path, 0600) < 0 || REAL(listen)(fd, 8) < 0) {
		log_info("control socket %s: %s", ctl_path, strerror(errno));
		if (r == 0)
			unlink(ctl_path);
		REAL(close)(fd);
		return;
	}
	sigset_t all, prev;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &prev);
	r = pthread_create(&ctl_thread, NULL, ctl_main, (void *)(intptr_t)fd);
	pthread_sigmask(SIG_SETMASK, &prev, NULL);
	if (r) {
		log_info("control socket: thread: %s", strerror(r));
		unlink(ctl_path);
		REAL(close)(fd);
		return;
	}
	pthread_detach(ctl_thread);
	ctl_fd = fd;
	ctl_owner = getpid();
	ctl_link_make();
	static int registered;
	if (!registered) {
		atexit(ctl_exit);
		registered = 1;
	}
	log_info("control socket %s", ctl_path);
}

/* ---- the TCP state-change log ------------------------------------------ */

static void ctl_log_state(void *ctx, const struct nst_state_event *ev)
{
	(void)ctx;
	char la[CTL_IP_LEN], ra[CTL_IP_LEN];
	nst_log(NST_LOG_INFO, "tcp %s:%u %s:%u %s -> %s", ctl_ip(&ev->laddr, la), ev->lport,
		ctl_ip(&ev->raddr, ra), ev->rport, nst_tcp_state_name(ev->from),
		nst_tcp_state_name(ev->to));
}

/* Under the lock, when the stack has just been created: the state log costs
 * one test per transition when it is off. */
void ctl_bind_stack(struct stack *st)
{
	stack_set_state_hook(st, nst_log_level >= NST_LOG_INFO ? ctl_log_state : NULL, NULL);
}

void ctl_stack_created(struct stack *st)
{
	ctl_bind_stack(st);
	ctl_start();
}
