/* The family: the processes that share one stack (a process and its fork()
 * children, and theirs). The stack's whole state lives in a shared-memory
 * arena (shm.c) mapped at the same address in every member; so does this
 * file's bookkeeping, struct family:
 *
 *   members   up to FAM_MAX processes: pid, and a doorbell (below)
 *   sockets   per stack socket (sd), the set of members holding a descriptor
 *             to it: the kernel's rule that a socket lives while any
 *             descriptor to it lives in any process. fork() adds the child
 *             to every socket the parent holds; a member's last close of a
 *             socket removes it; the last member's close ends the connection
 *             (nst_close), exactly once.
 *
 * What stays private to each member: its fd table and struct nsock (fd.c),
 * the eventfd behind each of its descriptors (a child gets fresh ones on the
 * same numbers, fd_fork_child, so that each process keeps its own readiness
 * bookkeeping), its device instance (its own io_uring on the shared TAP or
 * AF_PACKET fd: shim_dev_fork), its engine thread, its epoll sets.
 *
 * Waking across processes. The stack reports events of socket sd through
 * its notify hook, in whichever member ran the stack (the one whose device
 * read the frame, or whose call changed the socket). fam_notify serves its
 * own descriptors at once (nsock_notify) and rings the doorbell of every
 * other member holding sd: a bit per socket in the member's pending set and
 * a futex word in the arena. Each member with a doorbell has a thread
 * blocked on that futex (fam_bell_main); it takes the lock and runs
 * nsock_notify for each pending socket, as if its own engine had seen the
 * event. The futex is woken only when that thread sleeps (its `sleeping`
 * flag), so a busy member costs the others nothing per event.
 *
 * Binding. The stack calls its device through st->dev; each member has its
 * own, so whoever takes the lock after another member rebinds the stack to
 * its own device (fam_bind, from eng_lock: one compare per lock).
 *
 * Exit. A member that exits releases its descriptors (those no other member
 * holds are closed: FIN) and leaves; the last member closes everything and
 * finishes what is owed, as a single process did (engine.c eng_exit).
 * Members that died without exiting (SIGKILL) are found by their pid
 * (fam_reap) and their descriptors released as the kernel would.
 */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "preload.h"
#include "shm.h"
#include "stack/pkt.h"

#define FAM_MAGIC   0x6e66616du        /* "nfam" */
#define FAM_MAX     64                 /* members: one bit each in a socket's set */
/* socket slots: TCP sds below NST_UDP_SD_BASE, UDP sds from it */
#define FAM_SLOTS   (2u * NST_UDP_SD_BASE)
#define FAM_WORDS   (FAM_SLOTS / 64)
#define FAM_SUMS    (FAM_WORDS / 64)

struct fam_member {
	int32_t  pid;           /* 0: free; < 0: reserved for a child being forked
	                         * by the member of pid -pid (fam_fork_prepare) */
	uint32_t bell;          /* futex word: bumped on every ring */
	uint32_t sleeping;      /* the doorbell thread is (about to be) in FUTEX_WAIT */
	uint32_t kick;          /* ask the member's engine to recompute its sleep */
	uint32_t leaving;       /* left (exit, exec): holds nothing; the slot is freed
	                         * once the process is gone (fam_reap), so that no new
	                         * member shares a doorbell with a thread still on it */
	uint64_t sum[FAM_SUMS]; /* bit w: pend[w] may be non-zero */
	uint64_t pend[FAM_WORDS];       /* sockets with events to deliver */
};

struct family {
	uint32_t magic;
	struct stack *st;       /* the stack, and the packet pool's state: what a process */
	void    *pool;          /* that maps the arena anew (exec, a join) takes over */
	uint8_t  mac[6];        /* the stack's MAC: every member's device answers to it */
	int32_t  holder;        /* member whose device the stack is bound to */
	uint64_t live;          /* members in use (pid > 0 or reserved) */
	int32_t  ctl_owner;     /* member serving the control socket (ctl.c), -1: none */
	uint64_t held[FAM_SLOTS];       /* per socket: members holding a descriptor */
	struct fam_member m[FAM_MAX];
};

static struct family *fam;      /* in the arena; NULL: no family (private stack) */
static int fam_me = -1;         /* this process's member index */
static int fam_bell_up;         /* this process's doorbell thread runs */
static int32_t fam_forker;      /* our pid when we last reserved a slot (fork) */
static pthread_t fam_bell_thread;

static inline unsigned fam_slot(int sd)
{
	return (unsigned)sd;
}

static inline int fam_sd(unsigned slot)
{
	return (int)slot;       /* the slots are the sds (UDP's from NST_UDP_SD_BASE) */
}

static inline int fam_slot_ok(int sd)
{
	return sd >= 0 && fam_slot(sd) < FAM_SLOTS;
}

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

int fam_create(void *arena, struct stack *st)
{
	fam = shm_zalloc(arena, sizeof(*fam));
	if (!fam)
		return -ENOMEM;
	fam->magic = FAM_MAGIC;
	fam->st = st;
	fam->pool = pkt_pool_state();
	memcpy(fam->mac, stack_netdev(st)->mac, 6);
	shm_set_root(arena, fam);
	fam->m[0].pid = getpid();
	fam->live = 1;
	fam->holder = 0;
	fam->ctl_owner = 0;
	fam_me = 0;
	return 0;
}

/* A new image of member `slot` (exec kept its sockets) maps the arena again:
 * the family, the stack and the pool are where they were. */
struct stack *fam_attach(void *arena, int slot)
{
	struct family *f = shm_root(arena);
	if (!f || f->magic != FAM_MAGIC || slot < 0 || slot >= FAM_MAX ||
	    !(f->live & (1ull << slot)) || f->m[slot].pid != getpid())
		return NULL;
	fam = f;
	fam_me = slot;
	fam_bell_up = 0;
	pkt_pool_attach(f->pool);
	return f->st;
}

const uint8_t *fam_mac(void)
{
	return fam ? fam->mac : NULL;
}

int fam_active(void)
{
	return fam != NULL;
}

int fam_member(void)
{
	return fam_me;
}

/* Under the lock: the stack calls through this member's device. */
void fam_bind(void)
{
	if (fam && fam->holder != fam_me && eng.dev) {
		eng_bind_stack();
		fam->holder = fam_me;
	}
}

void fam_unbind(void)
{
	if (fam && fam->holder == fam_me)
		fam->holder = -1;
}

/* A new socket of this process (socket(), accept()): held by us alone. */
void fam_sock_new(int sd)
{
	if (fam && fam_slot_ok(sd))
		fam->held[fam_slot(sd)] = 1ull << fam_me;
}

/* 1 if no other member holds sd: our close would end the connection. */
int fam_sock_last(int sd)
{
	if (!fam || !fam_slot_ok(sd))
		return 1;
	return (fam->held[fam_slot(sd)] & ~(1ull << fam_me)) == 0;
}

/* This process no longer holds sd: 1 if the connection ends now (no member
 * holds it any more), 0 if another member still does. */
int fam_sock_put(int sd)
{
	if (!fam || !fam_slot_ok(sd))
		return 1;
	uint64_t *h = &fam->held[fam_slot(sd)];
	*h &= ~(1ull << fam_me);
	return *h == 0;
}

static void fam_ring(int member, int sd, int kick)
{
	struct fam_member *m = &fam->m[member];
	if (sd >= 0) {
		unsigned s = fam_slot(sd);
		__atomic_or_fetch(&m->pend[s / 64], 1ull << (s % 64), __ATOMIC_SEQ_CST);
		__atomic_or_fetch(&m->sum[s / 4096], 1ull << ((s / 64) % 64), __ATOMIC_SEQ_CST);
	}
	if (kick)
		__atomic_store_n(&m->kick, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&m->bell, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&m->sleeping, __ATOMIC_SEQ_CST))
		futex(&m->bell, FUTEX_WAKE, INT32_MAX);
}

/* The stack's notify hook: our own descriptors now, the other holders'
 * through their doorbells. Under the lock. */
void fam_notify(void *ctx, int sd)
{
	nsock_notify(ctx, sd);
	if (!fam || !fam_slot_ok(sd))
		return;
	uint64_t others = fam->held[fam_slot(sd)] & ~(1ull << fam_me);
	while (others) {
		int m = __builtin_ctzll(others);
		others &= others - 1;
		fam_ring(m, sd, 0);
	}
}

static int fam_pending(struct fam_member *m)
{
	if (__atomic_load_n(&m->kick, __ATOMIC_SEQ_CST))
		return 1;
	for (unsigned i = 0; i < FAM_SUMS; i++)
		if (__atomic_load_n(&m->sum[i], __ATOMIC_SEQ_CST))
			return 1;
	return 0;
}

/* Under the lock: 1 if this member is to serve the family's control socket
 * now (nobody does: the first member left). One control socket per family,
 * so `nstack ss` lists each socket once. */
int fam_ctl_claim(void)
{
	if (!fam || fam->ctl_owner >= 0)
		return 0;
	fam->ctl_owner = fam_me;
	return 1;
}

/* Under the lock: 1 if this member serves it. */
int fam_ctl_mine(void)
{
	return !fam || fam->ctl_owner == fam_me;
}

/* Under the lock: deliver what other members rang us for. */
static void fam_deliver(struct fam_member *m)
{
	for (unsigned i = 0; i < FAM_SUMS; i++) {
		uint64_t sum = __atomic_exchange_n(&m->sum[i], 0, __ATOMIC_SEQ_CST);
		while (sum) {
			unsigned w = i * 64 + (unsigned)__builtin_ctzll(sum);
			sum &= sum - 1;
			uint64_t bits = __atomic_exchange_n(&m->pend[w], 0, __ATOMIC_SEQ_CST);
			while (bits) {
				unsigned s = w * 64 + (unsigned)__builtin_ctzll(bits);
				bits &= bits - 1;
				nsock_notify(NULL, fam_sd(s));
			}
		}
	}
}

static void *fam_bell_main(void *arg)
{
	(void)arg;
	struct fam_member *m = &fam->m[fam_me];
	for (;;) {
		uint32_t seq = __atomic_load_n(&m->bell, __ATOMIC_SEQ_CST);
		if (!fam_pending(m)) {
			__atomic_store_n(&m->sleeping, 1, __ATOMIC_SEQ_CST);
			if (!fam_pending(m))
				futex(&m->bell, FUTEX_WAIT, seq);
			__atomic_store_n(&m->sleeping, 0, __ATOMIC_SEQ_CST);
			continue;
		}
		eng_lock();
		if (!eng.st || m->pid != getpid() || m->leaving) {
			eng_unlock();   /* we left: what is pending is not ours */
			return NULL;
		}
		fam_deliver(m);
		int ctl = 0;
		if (__atomic_exchange_n(&m->kick, 0, __ATOMIC_SEQ_CST)) {
			eng_kick_engine();
			ctl = fam_ctl_claim();
		}
		eng_unlock();
		if (ctl)
			ctl_start();
	}
	return NULL;
}

/* This process's doorbell thread, started once it shares the stack. */
static void fam_bell_start(void)
{
	if (fam_bell_up)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&fam_bell_thread, NULL, fam_bell_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		log_error("doorbell thread: %s", strerror(r));
		return;
	}
	pthread_detach(fam_bell_thread);
	fam_bell_up = 1;
}

/* ---- fork ---------------------------------------------------------------- */

static void fam_hold_for(struct nsock *s, void *arg)
{
	int child = *(int *)arg;
	if (s->sd >= 0 && fam_slot_ok(s->sd))
		fam->held[fam_slot(s->sd)] |= 1ull << child;
}

static void fam_drop_for(struct nsock *s, void *arg)
{
	int child = *(int *)arg;
	if (s->sd >= 0 && fam_slot_ok(s->sd))
		fam->held[fam_slot(s->sd)] &= ~(1ull << child);
}

/* Under the lock, before fork: a member slot for the child, which holds
 * every socket we hold. -1 if the family is full (the child then gets the
 * old treatment: its inherited sockets close-only). */
int fam_fork_prepare(void)
{
	int c = fam_keeper_prepare();   /* reserved for a forked process, holding nothing */
	if (c >= 0)
		fd_each_nsock(fam_hold_for, &c);
	return c;
}

/* Under the lock, in the member serving the control socket: a slot for an
 * unrelated process that joins (ctl.c "join"), holding nothing yet. -1 if
 * the family is full. */
/* Under the lock: a slot for a process we are about to fork (a fork child,
 * the keeper), holding nothing yet; its pid is ours, negated, until the
 * child claims it (fam_fork_child), and the child's copy of fam_forker tells
 * it whose reservation it is. */
int fam_keeper_prepare(void)
{
	int c = fam_join_prepare(0);
	if (c >= 0) {
		fam_forker = getpid();
		fam->m[c].pid = -fam_forker;
	}
	return c;
}

int fam_join_prepare(pid_t pid)
{
	if (!fam)
		return -1;
	fam_reap();
	uint64_t free_ = ~fam->live;
	if (!free_)
		return -1;
	int c = __builtin_ctzll(free_);
	memset(&fam->m[c], 0, sizeof(fam->m[c]));
	fam->m[c].pid = pid;
	fam->live |= 1ull << c;
	return c;
}

/* Under the lock, in the parent: the fork failed. */
void fam_fork_undo(int c)
{
	fd_each_nsock(fam_drop_for, &c);
	fam->m[c].pid = 0;
	fam->live &= ~(1ull << c);
}

/* Under the lock, in the parent, after a successful fork. */
void fam_fork_parent(int c, pid_t pid)
{
	fam->m[c].pid = pid;
	fam_bell_start();
}

/* In the child, before it takes the lock: who we are now; 0, or -1 if the
 * slot is not ours any more: our parent was killed inside fork(), before it
 * could record us, and a reaper took the slot back (fam_reap); the caller
 * then makes us a child without the stack. Claimed at once (not at join),
 * so that the reaper and we agree on whose the slot is. */
int fam_fork_child(int c)
{
	fam_bell_up = 0;        /* threads do not survive fork */
	int32_t want = -fam_forker;
	if (!__atomic_compare_exchange_n(&fam->m[c].pid, &want, (int32_t)getpid(), 0,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) && want != getpid()) {
		fam_me = -1;
		fam = NULL;
		return -1;
	}
	fam_me = c;
	return 0;
}

/* In the child, under the lock, once its device is up. */
void fam_child_joined(void)
{
	fam->m[fam_me].pid = getpid();
	fam_bind();
	fam_bell_start();
}

/* ---- leaving, and members that died -------------------------------------- */

/* Members other than us that have not left. */
static uint64_t fam_staying(void)
{
	uint64_t l = fam->live & ~(1ull << fam_me), r = 0;
	while (l) {
		int m = __builtin_ctzll(l);
		l &= l - 1;
		if (!fam->m[m].leaving)
			r |= 1ull << m;
	}
	return r;
}

static int fam_others(void)
{
	return fam_staying() != 0;
}

/* Under the lock: we leave. The slot stays ours until we are gone. */
static void fam_mark_left(void)
{
	fam->m[fam_me].leaving = 1;
	if (fam->ctl_owner == fam_me)
		fam->ctl_owner = -1;    /* a member the kick reaches takes it over */
}

static void fam_ring_all(int kick);

/* Under the lock: member m is gone without leaving (killed): release what it
 * held, as the kernel closes a dead process's descriptors. */
static void fam_bury(int m)
{
	uint64_t bit = 1ull << m;
	if (!fam->m[m].pid)
		log_warn("member %d: its parent died forking it; its sockets are released", m);
	else if (!fam->m[m].leaving)
		log_warn("member %d (pid %d) of the stack died; its sockets are released",
			 m, (int)fam->m[m].pid);
	unsigned n = pkt_pool_reclaim(fam->m[m].pid);  /* its device's buffers */
	if (n)
		log_info("%u packet buffers of pid %d back in the pool", n, (int)fam->m[m].pid);
	/* Its sockets, then its slot; each socket closed, then let go. Killed on
	 * the way (we hold the lock), we leave the slot to the next reaper, who
	 * carries on: what is done already is a no-op again (a second close is
	 * EBADF). Freed first, the slot could go to a new child while the dead
	 * one's bits are still on sockets, which would never close. */
	for (unsigned s = 0; s < FAM_SLOTS; s++) {
		if (!(fam->held[s] & bit))
			continue;
		if (fam->held[s] == bit)
			nst_close(eng.st, fam_sd(s), eng_now_us());
		fam->held[s] &= ~bit;
	}
	fam->live &= ~bit;
	fam->m[m].pid = 0;
	if (fam->ctl_owner == m) {
		/* its control socket went with it: whoever the kick reaches first
		 * takes it over (fam_bell_main), as after a member leaves */
		fam->ctl_owner = -1;
		fam_ring_all(1);
		if (fam_bell_up)
			fam_ring(fam_me, -1, 1);
	}
	eng_after();
}

/* pid has ended: gone, or a zombie not yet waited for (a pidfd is readable
 * once its process has terminated; kill(pid, 0) still finds a zombie). */
static int fam_dead(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH || (errno == ENOSYS && kill(pid, 0) < 0 && errno == ESRCH);
	struct pollfd p = { fd, POLLIN, 0 };
	int r = REAL(poll)(&p, 1, 0);
	REAL(close)(fd);
	return r == 1;
}

/* Under the lock: find members that died without leaving. Only a member
 * bound to its own device may run the stack (fam_bury closes). */
void fam_reap(void)
{
	if (!fam || !eng.dev)
		return;
	uint64_t l = fam->live & ~(1ull << fam_me);
	while (l) {
		int m = __builtin_ctzll(l);
		l &= l - 1;
		pid_t pid = fam->m[m].pid;
		if (pid > 0 && fam_dead(pid))
			fam_bury(m);
		else if (pid < 0 && fam_dead(-pid)) {
			/* killed inside fork(): its child, if any, has not claimed
			 * the slot (fam_fork_child); take it back, so that the child
			 * cannot, and release the sockets reserved for it */
			int32_t want = pid;
			if (__atomic_compare_exchange_n(&fam->m[m].pid, &want, 0, 0,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				fam_bury(m);
		}
	}
	if (fam->holder >= 0 && !(fam->live & (1ull << fam->holder)))
		fam->holder = -1;
}

/* Close, then let go (as nsock_release): killed in between, fam_bury finds
 * our share and closes again, a no-op. */
static void fam_release(struct nsock *s, void *arg)
{
	(void)arg;
	if (s->sd < 0 || !fam_slot_ok(s->sd))
		return;
	if (fam_sock_last(s->sd))
		nst_close(eng.st, s->sd, eng_now_us());
	fam_sock_put(s->sd);
}

static void fam_sole(struct nsock *s, void *arg)
{
	if (s->sd >= 0 && fam_slot_ok(s->sd) && fam->held[fam_slot(s->sd)] == 1ull << fam_me)
		*(int *)arg = 1;
}

static void fam_let_go(struct nsock *s, void *arg)
{
	(void)arg;
	if (s->sd >= 0 && fam_slot_ok(s->sd))
		fam->held[fam_slot(s->sd)] &= ~(1ull << fam_me);
}

static void fam_ring_all(int kick)
{
	uint64_t l = fam_staying();
	while (l) {
		int m = __builtin_ctzll(l);
		l &= l - 1;
		fam_ring(m, -1, kick);
	}
}

/* Under the lock, at the exit of a forked child that never joined (no
 * device, so no stack call): -1 if it is the last holder of a socket (the
 * caller joins and leaves properly: that close sends a FIN), else 0 with
 * the share let go and the member slot freed. */
int fam_leave_unjoined(void)
{
	int sole = 0;
	fd_each_nsock(fam_sole, &sole);
	if (sole)
		return -1;
	fd_each_nsock(fam_let_go, NULL);
	fam_mark_left();
	return 0;
}

/* A socket exec closes: every descriptor of it close-on-exec. */
static int fam_exec_closes(struct nsock *s)
{
	return s->sd >= 0 && fam_slot_ok(s->sd) && nsock_all_cloexec(s);
}

static void fam_exec_check(struct nsock *s, void *arg)
{
	if (fam_exec_closes(s) && fam->held[fam_slot(s->sd)] == 1ull << fam_me)
		*(int *)arg = 1;        /* our close would be the last: a FIN to send */
}

static void fam_exec_put(struct nsock *s, void *arg)
{
	(void)arg;
	if (!fam_exec_closes(s))
		return;
	if (fam_sock_last(s->sd))       /* close, then let go: as fam_release */
		nst_close(eng.st, s->sd, eng_now_us());
	fam_sock_put(s->sd);
}

/* Under the lock, before exec: let go of the sockets exec closes. Without
 * a device of our own (a child that never joined) a last holder's close
 * cannot be sent: -1 then, nothing done, and the caller joins first. */
int fam_exec_release(int have_dev)
{
	if (!fam)
		return 0;
	int last = 0;
	if (!have_dev) {
		fd_each_nsock(fam_exec_check, &last);
		if (last)
			return -1;
	}
	fd_each_nsock(fam_exec_put, NULL);
	return 0;
}

static void fam_any(struct nsock *s, void *arg)
{
	if (s->sd >= 0 && fam_slot_ok(s->sd) && (fam->held[fam_slot(s->sd)] & (1ull << fam_me)))
		*(int *)arg = 1;
}

/* Under the lock: 1 if we still hold a socket. */
int fam_holds_any(void)
{
	int any = 0;
	if (fam)
		fd_each_nsock(fam_any, &any);
	return any;
}

/* Under the lock, at exit: 1 if other members go on (we released our
 * descriptors and left; they finish what is owed), 0 if we are the last
 * (the caller closes everything and drains, as a lone process). */
int fam_leave(void)
{
	if (!fam)
		return 0;
	fam_reap();
	if (!fam_others())
		return 0;
	fd_each_nsock(fam_release, NULL);
	eng_after();
	fam_mark_left();
	fam_unbind();
	/* the others' engines recompute their sleep: our timers are theirs now */
	fam_ring_all(1);
	return 1;
}

/* Under the lock: the pids of the members holding a descriptor to sd (for
 * `nstack ss`, ctl.c), at most max, in member order; without a family, ours
 * if we hold it. Returns the count. */
int fam_holders(int sd, pid_t *pids, int max)
{
	int n = 0;
	if (!fam) {
		if (max > 0 && fd_of_sd(sd) >= 0)
			pids[n++] = getpid();
		return n;
	}
	if (!fam_slot_ok(sd))
		return 0;
	uint64_t h = fam->held[fam_slot(sd)];
	for (int i = 0; i < FAM_MAX && n < max; i++)
		if ((h & (1ull << i)) && fam->m[i].pid > 0)
			pids[n++] = fam->m[i].pid;
	return n;
}
