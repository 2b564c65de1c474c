/* preload/: the only code that knows libc. Shared declarations of its files:
 *   real.c    the real libc functions (dlsym RTLD_NEXT), resolved once
 *   fd.c      fd -> socket table, readiness of the eventfd behind each fd, waits
 *   engine.c  configuration, device, the one lock, the engine thread, the clock
 *   socket.c  socket/connect/bind/listen/accept/close/dup/fcntl/ioctl/sockopts
 *   io.c      read/write/send/recv families; the TCP byte stream (stream_*)
 *   dgram.c   UDP (dgram_*), sendmmsg/recvmmsg
 *   poll.c    poll/ppoll/select/pselect
 *   epoll.c   epoll_create*, epoll_ctl, epoll_wait/pwait/pwait2
 *   proto.c   the TCP and UDP operation tables (struct sock_ops)
 */
#ifndef NSTACK_PRELOAD_H
#define NSTACK_PRELOAD_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/epoll.h>
#include "stack/stack.h"
#include "log.h"

/* Every interposed libc symbol carries this; everything else is hidden. */
#define NST_EXPORT __attribute__((visibility("default")))

/* Convert a 0/count/-errno result to the libc convention. */
static inline long set_errno(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* ---- real.c ---------------------------------------------------------- */
struct real_fns {
	int     (*socket)(int, int, int);
	pid_t   (*fork)(void);
	void    (*exit_)(int);
	int     (*execve)(const char *, char *const[], char *const[]);
	int     (*execvpe)(const char *, char *const[], char *const[]);
	int     (*fexecve)(int, char *const[], char *const[]);
	int     (*connect)(int, const struct sockaddr *, socklen_t);
	int     (*bind)(int, const struct sockaddr *, socklen_t);
	int     (*listen)(int, int);
	int     (*accept)(int, struct sockaddr *, socklen_t *);
	int     (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int     (*close)(int);
	int     (*close_range)(unsigned, unsigned, int);
	int     (*shutdown)(int, int);
	int     (*getsockname)(int, struct sockaddr *, socklen_t *);
	int     (*getpeername)(int, struct sockaddr *, socklen_t *);
	int     (*setsockopt)(int, int, int, const void *, socklen_t);
	int     (*getsockopt)(int, int, int, void *, socklen_t *);
	int     (*fcntl)(int, int, ...);
	int     (*fcntl64)(int, int, ...);
	int     (*ioctl)(int, unsigned long, ...);
	int     (*dup)(int);
	int     (*dup2)(int, int);
	int     (*dup3)(int, int, int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*sendfile64)(int, int, off_t *, size_t);
	ssize_t (*splice)(int, loff_t *, int, loff_t *, size_t, unsigned);
	ssize_t (*read_chk)(int, void *, size_t, size_t);
	ssize_t (*recv_chk)(int, void *, size_t, size_t, int);
	ssize_t (*recvfrom_chk)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
	int     (*poll)(struct pollfd *, nfds_t, int);
	int     (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int     (*poll_chk)(struct pollfd *, nfds_t, int, size_t);
	int     (*ppoll_chk)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);
	int     (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int     (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
	int     (*epoll_create)(int);
	int     (*epoll_create1)(int);
	int     (*epoll_ctl)(int, int, int, struct epoll_event *);
	int     (*epoll_wait)(int, struct epoll_event *, int, int);
	int     (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int     (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	int     (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	int     (*recvmmsg)(int, struct mmsghdr *, unsigned, int, struct timespec *);
};

extern struct real_fns real_fns;
extern int real_ready;
void real_init(void);

/* REAL(connect)(fd, ...): the libc function behind ours. */
#define REAL(fn) (*(__atomic_load_n(&real_ready, __ATOMIC_ACQUIRE) ? (void)0 : real_init(), real_fns.fn))

/* ---- proto.c: what differs between TCP and UDP, chosen once at socket() -- */
struct nsock;

/* One table per socket type: every TCP/UDP decision of preload/ goes through
 * the ops of the socket (nsock.ops), never through its type. */
struct sock_ops {
	int type;               /* SOCK_STREAM, SOCK_DGRAM */
	int protocol;           /* IPPROTO_TCP, IPPROTO_UDP: SO_PROTOCOL, socket()'s check */
	int nst_type;           /* NST_SOCK_STREAM, NST_SOCK_DGRAM */
	/* socket(), under the lock, before the stack socket exists (or NULL) */
	void    (*created)(void);
	/* connect (bind) to ip is served by nstack; otherwise the socket goes to the kernel */
	int     (*connect_serves)(uint32_t ip);
	int     (*bind_serves)(uint32_t ip);
	/* connect(AF_UNSPEC) dissolves the association (Linux udp_disconnect), or NULL */
	int     (*disconnect)(struct nsock *s);
	/* The connection's TCP_INFO quantities (TCP_INFO, SO_MEMINFO, SIOCOUTQ), or NULL */
	int     (*tcp_info)(struct stack *st, int sd, struct nst_tcp_info *ti);
	/* SO_RCVLOWAT: the value the stack gets (tcp_set_rcvlowat's cap), or NULL */
	int     (*rcvlowat)(int val);
	/* close() of the last fd, under the lock: SO_LINGER's wait, or NULL */
	void    (*close_wait)(struct nsock *s);
	/* Under the lock with the call held: one buffer (read/write/send/recv,
	 * sock_send/sock_recv), -errno on failure */
	ssize_t (*send)(int fd, struct nsock *s, const void *buf, size_t len, int flags);
	ssize_t (*recv)(int fd, struct nsock *s, void *buf, size_t len, int flags);
	/* Under the lock: one message of sendmmsg (not held; *handoff set when
	 * the lock is gone and fd is a kernel socket) and recvmmsg (held) */
	ssize_t (*msg_send)(int fd, struct nsock *s, const struct msghdr *m, int flags, int *handoff);
	ssize_t (*msg_recv)(int fd, struct nsock *s, struct msghdr *m, int flags);
	/* Interposed calls: 1 and *out (libc convention) when fd is ours, 0 when
	 * the real function must run. Entered with nothing held. */
	int     (*sendto)(int fd, const void *buf, size_t len, int flags,
			  const struct sockaddr *to, socklen_t tolen, ssize_t *out);
	int     (*recvfrom)(int fd, void *buf, size_t len, int flags,
			    struct sockaddr *from, socklen_t *fromlen, ssize_t *out);
	int     (*readv)(int fd, const struct iovec *iov, int cnt, ssize_t *out);
	int     (*writev)(int fd, const struct iovec *iov, int cnt, ssize_t *out);
	int     (*sendmsg)(int fd, const struct msghdr *msg, int flags, ssize_t *out);
	int     (*recvmsg)(int fd, struct msghdr *msg, int flags, ssize_t *out);
};
extern const struct sock_ops tcp_ops, udp_ops, ping_ops, raw_ops;

/* The functions behind the tables. TCP: socket.c (sysctls, linger, lowat)
 * and io.c (the byte stream); sendmmsg/recvmmsg's per-message halves of
 * both, and UDP, in dgram.c. */
void    tcp_sysctls_refresh(void);
void    tcp_close_linger(struct nsock *s);
int     tcp_rcvlowat(int val);
ssize_t stream_send(int fd, struct nsock *s, const void *buf, size_t len, int flags);
ssize_t stream_recv(int fd, struct nsock *s, void *buf, size_t len, int flags);
ssize_t stream_msg_send(int fd, struct nsock *s, const struct msghdr *m, int flags, int *handoff);
ssize_t stream_msg_recv(int fd, struct nsock *s, struct msghdr *m, int flags);
int     stream_sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *to, socklen_t tolen, ssize_t *out);
int     stream_recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *from, socklen_t *fromlen, ssize_t *out);
int     stream_readv(int fd, const struct iovec *iov, int cnt, ssize_t *out);
int     stream_writev(int fd, const struct iovec *iov, int cnt, ssize_t *out);
int     stream_sendmsg(int fd, const struct msghdr *msg, int flags, ssize_t *out);
int     stream_recvmsg(int fd, struct msghdr *msg, int flags, ssize_t *out);

/* ---- engine.c -------------------------------------------------------- */
struct engine {
	pthread_mutex_t lock;       /* configuration; the one lock until the stack exists */
	pthread_mutex_t *lockp;     /* the one lock: stack, fd table, every nsock; in the
	                             * shared arena once the stack is (family.c) */
	void           *arena;      /* the shared-memory arena of the stack (shm.c), or NULL */
	int             forking;    /* fork() runs through our wrapper: atfork hooks stand aside */
	int             join_pending;   /* forked child: becomes a full member at its first
	                                 * eng_lock (engine.c eng_join) */
	struct netdev  *dev_inherited;  /* the parent's device, until then */
	struct stack   *st;         /* NULL until configured, and in a forked child */
	struct netdev  *dev;
	struct netdev  *impair;     /* the impairment layer within dev (nstack stats), or NULL */
	int             loopback;   /* NSTACK_IF=lo: the app drives the loop device inline */
	int             child;      /* forked child: inherited nstack fds are close-only */
	uint64_t        sleep_until;/* engine's wake-up time (under lock); UINT64_MAX: none */

	/* The rest is engine.c's own: configuration once, the engine thread,
	 * and who watches the device (the wake protocol, described there). */
	int             state;      /* eng_ensure's answer, once done */
	int             done;
	pid_t           owner;      /* the process that configured (exit, fork) */
	uint64_t        rand_state; /* splitmix64 state, seeded from getrandom */
	pthread_t       thread;
	int             thread_up;
	int             stop;       /* the engine thread ends its loop */
	int             kick_fd;    /* eventfd: wakes the engine thread; -1 none */
	int             devfd;      /* the device's wait fd; -1: none, or failed */
	int             lock_waiters;   /* threads blocked in eng_lock */
	int             bp_active;      /* threads in eng_busy_poll */
	uint64_t        bp_until;       /* under the lock: a busy poller will likely be back by then */
	int             dev_waiter;     /* token: an application thread sleeps on the device */
	uint64_t        dev_until;      /* the engine leaves the device alone until then */
	int             dev_unwatched;  /* the engine sleeps without the device's fd */
	unsigned        dev_takes;      /* times the token was taken (the engine's check interval) */
	const void     *tok_thread;     /* the thread that took the token last (eng_block_dev) */
	unsigned        tok_run;        /* how many times in a row it did */
	int             reads_away;     /* an application thread armed the device's reads */
	uint64_t        claim_after;    /* no claim before (the engine took the reads back) */
	unsigned        dev_takes_seen; /* engine's own: dev_takes at its last wake */
	uint64_t        dev_check_us;   /* engine's own: how long it sleeps while the token is held */
};
extern struct engine eng;

#define ENG_DISABLED 0
#define ENG_ACTIVE   1
/* Configure at the first AF_INET socket: ENG_ACTIVE, ENG_DISABLED (NSTACK_IF
 * unset, or a forked child) or -errno (misconfiguration, reported once). */
int      eng_ensure(void);
/* A forked child becomes a full member of the family on its first entry. */
void     eng_join(void);
static inline void eng_join_check(void)
{
	if (__builtin_expect(__atomic_load_n(&eng.join_pending, __ATOMIC_ACQUIRE), 0))
		eng_join();
}
void     eng_lock(void);
void     eng_unlock(void);
uint64_t eng_now_us(void);
/* Under the lock, after any nst_* call that may have sent frames or armed a
 * timer: run the loop device inline, kick the engine if it sleeps too long. */
void     eng_after(void);
/* Under the lock, before a call that reports the stack's state (TCP_INFO,
 * FIONREAD, SIOCOUTQ): take in what the device holds and run due timers, as
 * the kernel's softirq has processed a frame before any such call can see
 * it. Cheap with nothing pending. */
void     eng_freshen(void);
void     eng_poll_inline(void);
void     eng_sync_rx(void);     /* TCP_INFO: frames on the device are run first (bounded wait) */
/* NSTACK_BUSY_POLL_US: how long an application thread about to sleep on
 * nstack sockets first drives the device itself (0: never). */
extern int64_t eng_busy_poll_us;
/* Under the lock (dropped briefly between passes): run the stack inline —
 * receive frames, process them, run due timers — until ready(arg) is
 * non-zero, NSTACK_BUSY_POLL_US has passed, or deadline_us (-1: none).
 * Returns ready()'s last answer; 0 at once when busy polling is off. */
int      eng_busy_poll(int (*ready)(void *), void *arg, int64_t deadline_us);
/* Block in the real ppoll until deadline_us (-1: none). Never under the lock.
 * Returns the real ppoll result or -errno (-EINTR). */
int      eng_block(struct pollfd *p, nfds_t n, int64_t deadline_us, const sigset_t *mask);
/* eng_block for a thread waiting for our sockets' events (their wake fd is
 * among p[0..n)); p has room for n + 1. It may watch the device and run the
 * stack inline; > 0 then means "look again". Without the lock. */
int      eng_block_dev(struct pollfd *p, nfds_t n, int64_t deadline_us, const sigset_t *mask);
struct epoll_event;
/* The same for a real epoll_pwait on a kernel epoll fd. */
int      eng_block_epoll(int epfd, struct epoll_event *ev, int n, int64_t deadline_us,
			 const sigset_t *mask);
/* After a wait ended with EINTR and no socket timeout: 1 if the kernel would
 * restart the call (SA_RESTART), 0 if it returns EINTR. */
int      eng_restart_ok(void);

/* ---- family.c: the processes sharing one stack ------------------------ */
int   fam_create(void *arena, struct stack *st);   /* the first member, at configuration */
struct stack *fam_attach(void *arena, int slot);   /* a new image of member slot (exec) */
void  eng_bind_stack(void);         /* the stack calls this process's functions and device */
int   fam_active(void);
int   fam_member(void);          /* our member index */
const uint8_t *fam_mac(void);       /* the stack's MAC, for a device adopted later */
void  fam_bind(void);               /* under the lock: the stack uses our device */
void  fam_unbind(void);
void  fam_sock_new(int sd);         /* a socket of ours alone */
int   fam_sock_put(int sd);         /* we let go: 1 if nobody holds it any more */
int   fam_sock_last(int sd);        /* nobody else holds it: our close ends it */
void  fam_notify(void *ctx, int sd);/* the stack's notify hook */
int   fam_fork_prepare(void);       /* under the lock: the child's slot or -1 */
int   fam_join_prepare(pid_t pid);  /* under the lock: a slot for a joining process or -1 */
int   fam_keeper_prepare(void);     /* under the lock: the keeper's slot (holding nothing) or -1 */
void  fam_fork_undo(int c);
void  fam_fork_parent(int c, pid_t pid);
int   fam_fork_child(int c);
void  fam_child_joined(void);
void  fam_reap(void);               /* under the lock: release members that died */
int   fam_leave(void);              /* under the lock, at exit: 1 if others go on */
int   fam_leave_unjoined(void);     /* a child that never joined: 0, or -1: join first */
void  eng_kick_engine(void);
/* exec.c: before the real exec, what it closes closed and what it keeps
 * handed over; returns the environment to exec with */
char *const *eng_before_exec(char *const envp[]);
void  eng_exec_failed(void);
int   fam_exec_release(int have_dev);   /* under the lock: -1 if a close needs a device */
int   fam_holds_any(void);
int   fam_ctl_claim(void);          /* under the lock: 1 if we are to serve ctl now */
int   fam_ctl_mine(void);
int   fam_holders(int sd, pid_t *pids, int max);  /* under the lock: who holds sd */

/* ---- ctl.c ----------------------------------------------------------- */
/* Under the lock, right after the stack is created: the control socket
 * ($NSTACK_RUNDIR/<pid>.sock, for nstack ss/stats) and the state-change log. */
void     ctl_stack_created(struct stack *st);
void     ctl_start(void);
void     ctl_forked(void);      /* in a forked child: let go of the parent's socket */
void     ctl_bind_stack(struct stack *st);  /* this process's state-change log hook */
/* The stack's rendezvous for other programs on the same interface: the
 * family's control socket under the name if-<ifname>.sock (ctl.c); a
 * program that finds it joins (engine.c eng_try_join). */
void     ctl_set_ifname(const char *ifname);
int      ctl_join_path(const char *ifname, char *buf, size_t size);
void     ctl_stop(void);        /* this process stops serving it (exit, _exit) */

/* ---- fd.c ------------------------------------------------------------ */
#define NSOCK_OPTS   16
#define NSOCK_OPTLEN 32

/* A socket option applied successfully, replayed on a kernel hand-off. */
struct sockopt_rec {
	int      level, name;
	unsigned len;
	uint8_t  val[NSOCK_OPTLEN];
};

/* One nstack socket, shared by every fd dup'ed from it. All fields are
 * protected by eng.lock. */
struct nsock {
	int      sd;            /* stack socket; -1 once released */
	int      efd;           /* one fd naming the eventfd (notify writes there) */
	int      refs;          /* fds mapped to this socket */
	int      calls;         /* calls in progress (nsock_hold): keep the socket open */
	int      pins;          /* holders of the pointer only (waiters, epoll members) */
	struct nwait *waiters;  /* threads blocked on this socket (nsock_wait, poll) */
	const struct sock_ops *ops;    /* TCP or UDP (proto.c); never changes */
	int      protocol;
	int      family;        /* AF_INET or AF_INET6 (the stack's nst_sock_family) */
	int      nonblock;      /* O_NONBLOCK of the open file description */
	int      committed;     /* bind/connect/listen done on nstack: no hand-off any more */
	int      listening;
	unsigned n_in, n_out, n_any;   /* waiters per event */
	int      signalled;     /* the eventfd is readable */
	int64_t  rcvtimeo_us, sndtimeo_us;     /* SO_RCVTIMEO / SO_SNDTIMEO, 0: none */
	/* epoll: edge detection and membership (epoll.c) */
	uint32_t gen;           /* bumped on every new edge: new data or a changed mask */
	uint32_t last_mask;     /* nst_poll bits at the last notify */
	size_t   last_rx;       /* readable bytes at the last notify */
	unsigned n_et;          /* edge-triggered epoll members: re-signal on each edge */
	struct epm *ep_members; /* epoll sets holding this socket */
	unsigned n_opts;
	struct sockopt_rec opts[NSOCK_OPTS];
};

/* A thread blocked on a socket: woken through its own eventfd (wfd), never
 * through the socket's, so that readiness another interest keeps up (an
 * epoll member's EPOLLOUT) cannot make it spin. Under the lock. */
struct nwait {
	struct nwait *next;
	int           wfd;      /* the waiting thread's wake eventfd */
	uint32_t      mask;     /* NST_POLL* bits that end the wait */
	int           fired;    /* since nwait_add: 1 wfd written, 2 marked only
	                         * (the waiting thread ran the pass, nwait_wake) */
};

/* Socket addresses of either family (socket.c), with the kernel's checks
 * for s's family: an AF_INET socket takes sockaddr_in; an AF_INET6 one
 * sockaddr_in6 (at least 24 bytes) and, for datagrams (dgram 1), also
 * sockaddr_in (Linux udpv6_sendmsg, ip6_datagram_connect). 0, or -EINVAL /
 * -EAFNOSUPPORT. */
int  nsa_parse(const struct nsock *s, const struct sockaddr *sa, socklen_t len, int dgram,
	       struct nst_addr *a, uint16_t *port);
/* Fill a sockaddr of s's family like the kernel: truncated to *lenp, *lenp
 * set to the full size. IPv4 on an AF_INET6 socket is v4-mapped. */
int  nsa_fill(const struct nsock *s, struct sockaddr *sa, socklen_t *lenp,
	      const struct nst_addr *a, uint16_t port);
/* The index of NSTACK_IF (sin6_scope_id, IPV6_PKTINFO), 0 if unknown. */
uint32_t nsa_ifindex(void);
/* Is a connect (bind) to a served by nstack? Else the socket goes to the kernel. */
int  nsa_serves(const struct nsock *s, const struct nst_addr *a, int bind);

int           fd_table_init(void);
void        **fd_indexed_table(unsigned *cap);   /* fd-indexed pointer table, mmap'ed; NULL on failure */
/* Lock-free peek: non-NULL if fd may be ours (re-check under the lock). */
struct nsock *fd_peek(int fd);
/* Under the lock: the socket behind fd or NULL. */
struct nsock *fd_get(int fd);
/* Take the lock for a call on fd: 1 with the lock held and *sp live, 0 if
 * fd is not ours (lock not held), -EBADF if it is a dead socket (an
 * inherited fd in a forked child: close-only). */
int           fd_lock(int fd, struct nsock **sp);
int           fd_map(int fd, struct nsock *s);  /* under the lock; refs++; -EMFILE if out of range */
int           fd_of_sd(int sd);     /* under the lock: our lowest fd naming sd, or -1 */
/* Under the lock: forget fd; the socket closes with its last fd. Does not
 * close the fd itself. */
void          fd_unmap(int fd);

struct nsock *nsock_new(int sd, const struct sock_ops *ops, int protocol, int nonblock);
/* Create the eventfd for a fresh socket and map it; fd or -errno. */
int           nsock_attach(struct nsock *s, int cloexec);
void          nsock_unpin(struct nsock *s);
/* A call in progress keeps the socket open (Linux: the call's file
 * reference): close() of its last fd by another thread removes the fd, the
 * connection ends (nst_close) at the last nsock_drop. Under the lock; s may
 * be freed by nsock_drop. */
void          nsock_hold(struct nsock *s);
void          nsock_drop(struct nsock *s);
/* The calling thread's wake eventfd (created at first use, kept away from
 * the low fd numbers the application sees), or -errno. */
int           nwait_fd(void);
void          nwait_fd_reserve(int fd);
/* Under the lock: wait on s for events (poll bits) through wfd / stop. */
void          nwait_add(struct nsock *s, struct nwait *w, short events, int wfd);
void          nwait_del(struct nsock *s, struct nwait *w);
/* The wake fd polled POLLNVAL (the app closed it): make a new one next time. */
void          nwait_fd_lost(void);
/* Empty a wake eventfd before arming waits on it. */
void          nwait_drain(int wfd);
void          nwait_self_pass(int on);
int           nwait_self_pass_on(void);
void          nwait_seen(short revents);
void          nsock_notify(void *ctx, int sd);
void          nsock_edge_sync(struct nsock *s);   /* epoll edges: after recv/send/accept */
/* Block until socket s (reached through fd) may have one of events, or the
 * deadline passes: the thread sleeps on its own wake eventfd (struct nwait).
 * Called and returns with the lock held; 0 on a wake-up, -ETIMEDOUT, -EINTR,
 * or -EBADF if the socket went away meanwhile (only a call that did not
 * nsock_hold it). */
int           nsock_wait(int fd, struct nsock *s, short events, int64_t deadline_us);
/* The interposer's prologue for a call on fd: 1 with the lock held and the
 * call holding the socket *sp (nsock_hold), 0 if fd is not ours (the caller
 * runs the real function; nothing held), or -errno (a dead socket: an
 * inherited fd in a forked child). */
int           sock_enter(int fd, struct nsock **sp);
/* Its epilogue: end the call (nsock_drop) and unlock; returns r. */
ssize_t       sock_leave(struct nsock *s, ssize_t r);
/* The ops of the socket fd names, read without the lock (they never change
 * while an fd maps the socket); NULL if fd is not ours. */
const struct sock_ops *fd_ops(int fd);
/* One wait of a blocking call, as nsock_wait, under the socket timeout
 * timeo_us (SO_RCVTIMEO/SO_SNDTIMEO) counted from the call's first wait
 * (*dl: -2 before it, then the deadline): a timeout that passed is -EAGAIN. */
int           nsock_wait_timeo(int fd, struct nsock *s, short events, int64_t timeo_us, int64_t *dl);
/* Register (delta=+1) or drop (-1) waiters for events; under the lock. */
void          nsock_want(struct nsock *s, short events, int delta);
/* Replace every fd of s by a kernel socket with the same options; under the lock. */
int           nsock_handoff(struct nsock *s);
void          nsock_record_opt(struct nsock *s, int level, int name, const void *val, unsigned len);
/* Under the lock: fn for every socket this process holds. */
void          fd_each_nsock(void (*fn)(struct nsock *s, void *arg), void *arg);
void          fd_forget_all(void);
/* Under the lock: fn(fd, sd) for every fd of ours that an exec keeps. */
void          fd_each_inherited(void (*fn)(int fd, int sd, void *arg), void *arg);
/* Under the lock, in a new image (exec): fd names stack socket sd again. */
int           nsock_adopt(int fd, int sd);
/* Under the lock: 1 if every fd naming s is close-on-exec. */
int           nsock_all_cloexec(const struct nsock *s);
/* In a forked child that shares the stack: our copies of the parent's
 * sockets, reset (no calls, no waiters) and each given its own eventfd on
 * the same fd numbers; fd_fork_resync then, under the lock, signals them. */
void          fd_fork_child(void);
void          fd_fork_resync(void);
void          nwait_fd_forget(void);

/* Absolute deadline for a wait with a socket timeout (0: none). */
static inline int64_t nsock_deadline(int64_t timeo_us)
{
	return timeo_us > 0 ? (int64_t)eng_now_us() + timeo_us : -1;
}

/* ---- socket.c / io.c (used by each other) ---------------------------- */
ssize_t sock_send(int fd, struct nsock *s, const void *buf, size_t len, int flags);
ssize_t sock_recv(int fd, struct nsock *s, void *buf, size_t len, int flags);

/* ---- io.c ---- */
/* The bytes of cnt vectors in *total, or -errno (too_many for a bad count). */
int     iov_total(const struct iovec *iov, long cnt, size_t *total, int too_many, int bases);

/* ---- epoll.c --------------------------------------------------------- */
struct epm;
/* Under the lock, when s loses its last fd: drop it from every epoll set. */
void ep_sock_gone(struct nsock *s);
/* Under the lock, in a kernel hand-off right after the kernel socket took
 * fd's place: register fd in the app's epoll sets with the app's events. */
void ep_handoff(struct nsock *s, int fd);
/* Lock-free: non-zero if fd may be an epoll fd holding nstack sockets. */
int  ep_peek(int fd);
/* poll()/select() on such an epoll fd: 1 if an nstack member is ready
 * (consumes nothing). Takes the lock. */
int  ep_poll_ready(int epfd);
/* An edge of s must write its eventfd: a thread may sleep on one of its
 * epoll sets in the kernel. Under the lock. */
int  ep_edge_wanted(const struct nsock *s);
/* close() of an epoll fd. */
void ep_close(int epfd);
/* The next epoll membership of the same socket (s->ep_members list). */
struct epm *ep_member_next(struct epm *m);

/* ---- tcpinfo.c -------------------------------------------------------- */
int  tcpinfo_get(struct nsock *s, void *val, socklen_t *lenp);

/* ---- poll.c ---------------------------------------------------------- */
/* poll over a mixed set; timeout_us -1 = infinite. Returns count or -errno. */
int poll_mixed(struct pollfd *fds, nfds_t n, int64_t timeout_us, const sigset_t *mask);

#endif
