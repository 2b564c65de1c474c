/* The shared-memory arena (shm.h; docs/ARCHITECTURE.md "Shared memory arena").
 *
 * One memfd, sized sparse with ftruncate (a few GiB of address space cost nothing
 * until touched), mapped MAP_SHARED at SHM_BASE with MAP_FIXED_NOREPLACE, so that a
 * process attaching later (an exec'd image that inherited the memfd) maps it at the
 * same address and every pointer inside stays valid. fork children need no attach:
 * they inherit the mapping. If SHM_BASE is taken, the creator maps the memfd anywhere
 * and the header records where; a later attach fails if that address is taken in the
 * attaching image.
 *
 * The header at offset 0 holds the magic, version, base and size, the allocator's
 * state (bump offset and one free list per size class, as offsets from the base),
 * the statistics, the root object and the stack's lock.
 *
 * Allocation: size classes and no in-band header (the size given to free names the
 * class), so a 4096-byte ring takes exactly 4096 bytes. Classes: 64 to 4096 bytes in
 * half steps (64, 128, 192, 256, 384, ...), then powers of two up to 1 GiB. A block
 * comes from its class's free list, else from the bump offset, aligned to its size's
 * lowest set bit, at most 4096. Blocks never split or merge: memory freed into a
 * class stays in that class. Never-used blocks are zero (fresh memfd pages); reused
 * blocks are cleared by zalloc. A freed block of >= 16 MiB gives its pages back to the
 * kernel (fallocate PUNCH_HOLE) and so reads zero again: the two words written after
 * the punch (the list link and a mark saying the punch worked) are all zalloc clears.
 *
 * Locking: a PTHREAD_PROCESS_SHARED robust mutex in the header guards the allocator
 * for a few loads and stores (memset and fallocate run outside it). A member that dies
 * holding it hands it to the next locker (EOWNERDEAD) with the lists as its last
 * store left them.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "shm.h"

#define SHM_MAGIC     0x316d68736b74736eULL   /* "nstkshm1" */
#define SHM_VERSION   1
#define SHM_PAGE      4096u
#define SHM_MIN_SIZE  (64u << 10)
/* Freed blocks this big are punched. Not the rings (at most a few MB): a
 * receive ring is freed each time a read empties it and taken again at the
 * next segment, and faulting its pages in again each time cost bulk receive
 * a tenth of its rate; glibc keeps such blocks too. */
#define SHM_PUNCH_MIN (16u << 20)
#define SHM_PUNCHED   0x646568636e7570ULL      /* "punched": the rest of the block is zero */

static const size_t shm_class[] = {
	64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
	(size_t)1 << 13, (size_t)1 << 14, (size_t)1 << 15, (size_t)1 << 16,
	(size_t)1 << 17, (size_t)1 << 18, (size_t)1 << 19, (size_t)1 << 20,
	(size_t)1 << 21, (size_t)1 << 22, (size_t)1 << 23, (size_t)1 << 24,
	(size_t)1 << 25, (size_t)1 << 26, (size_t)1 << 27, (size_t)1 << 28,
	(size_t)1 << 29, (size_t)1 << 30,
};
#define SHM_NCLASS (sizeof shm_class / sizeof shm_class[0])

/* Offset 0 of the memfd. Everything in it is position-independent but root. */
struct shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t hdr_len;                 /* sizeof(struct shm_hdr): the layout's check */
	uint64_t base;                    /* the address every member maps it at */
	uint64_t size;                    /* bytes of the memfd and of the mapping */
	pthread_mutex_t lock;             /* the allocator's: bump, free_head, used, peak */
	uint64_t bump;                    /* offset of the first byte never handed out */
	uint64_t free_head[SHM_NCLASS];   /* offset of the first free block, 0: none */
	uint64_t used, peak;              /* bytes in handed-out blocks (class sizes) */
	void *root;                       /* the first object: the stack */
	pthread_mutex_t stack_lock;       /* reserved for the stack */
};

/* A block on a free list. */
struct shm_free_blk {
	uint64_t next;                    /* offset of the next free block, 0: none */
	uint64_t punched;                 /* SHM_PUNCHED: the rest of the block reads zero */
};

/* One process's view of the arena. */
struct shm_arena {
	struct shm_hdr *h;                /* == the mapping's base */
	int fd;
};

/* The raw syscall: inside the library, close() is nstack's interposed one. */
static void shm_close_fd(int fd)
{
	syscall(SYS_close, fd);
}

static int shm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t at;
	int r;

	pthread_mutexattr_init(&at);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	r = pthread_mutex_init(m, &at);
	pthread_mutexattr_destroy(&at);
	return -r;
}

/* The allocator's lock. A dead owner's critical section was a few stores; go on. */
static void shm_lock(struct shm_hdr *h)
{
	if (pthread_mutex_lock(&h->lock) == EOWNERDEAD)
		pthread_mutex_consistent(&h->lock);
}

static void shm_unlock(struct shm_hdr *h)
{
	pthread_mutex_unlock(&h->lock);
}

/* The class of an n-byte request, or -1 if it is larger than the largest. */
static int shm_class_of(size_t n)
{
	for (unsigned c = 0; c < SHM_NCLASS; c++)
		if (n <= shm_class[c])
			return (int)c;
	return -1;
}

/* Map size bytes of fd exactly at want: the mapping, or MAP_FAILED with errno set.
 * Kernels before 4.17 take MAP_FIXED_NOREPLACE as a mere hint: check the address. */
static void *shm_map_at(int fd, size_t size, uintptr_t want)
{
	void *p = mmap((void *)want, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);

	if (p != MAP_FAILED && (uintptr_t)p != want) {
		munmap(p, size);
		errno = EEXIST;
		return MAP_FAILED;
	}
	return p;
}

/* A new arena of size bytes (rounded up to a page, at least 64 KiB): its memfd,
 * mapped at SHM_BASE if free, else anywhere. 0 and *out, or -errno. */
int shm_arena_create(size_t size, struct shm_arena **out)
{
	struct shm_arena *a;
	struct shm_hdr *h;
	void *p;
	int r;

	size = (size + SHM_PAGE - 1) & ~(size_t)(SHM_PAGE - 1);
	if (size < SHM_MIN_SIZE)
		return -EINVAL;
	a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->fd = memfd_create("nstack", MFD_CLOEXEC);
	if (a->fd < 0) {
		r = -errno;
		goto fail;
	}
	if (ftruncate(a->fd, (off_t)size) < 0) {
		r = -errno;
		goto fail_fd;
	}
	p = shm_map_at(a->fd, size, SHM_BASE);
	if (p == MAP_FAILED)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto fail_fd;
	}
	h = a->h = p;
	h->version = SHM_VERSION;
	h->hdr_len = sizeof *h;
	h->base = (uintptr_t)p;
	h->size = size;
	h->bump = sizeof *h;
	if ((r = shm_mutex_init(&h->lock)) || (r = shm_mutex_init(&h->stack_lock))) {
		munmap(p, size);
		goto fail_fd;
	}
	/* last: an arena with the magic is complete */
	__atomic_store_n(&h->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	*out = a;
	return 0;
fail_fd:
	shm_close_fd(a->fd);
fail:
	free(a);
	return r;
}

/* Map the arena behind fd at the address its creator recorded. On success the
 * arena owns fd. -EADDRINUSE: that address is taken here (or the arena is mapped
 * already); -EINVAL: not an arena of ours, or of another layout. */
int shm_arena_attach(int fd, struct shm_arena **out)
{
	struct shm_hdr hh;
	struct shm_arena *a;
	struct stat sb;
	void *p;

	if (pread(fd, &hh, sizeof hh, 0) != (ssize_t)sizeof hh)
		return -EINVAL;
	if (hh.magic != SHM_MAGIC || hh.version != SHM_VERSION || hh.hdr_len != sizeof hh)
		return -EINVAL;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if ((uint64_t)sb.st_size < hh.size || hh.size < SHM_MIN_SIZE)
		return -EINVAL;
	a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	p = shm_map_at(fd, hh.size, hh.base);
	if (p == MAP_FAILED) {
		int r = errno == EEXIST ? -EADDRINUSE : -errno;

		free(a);
		return r;
	}
	a->h = p;
	a->fd = fd;
	*out = a;
	return 0;
}

/* Unmap this process's view and close its fd. */
void shm_arena_close(struct shm_arena *a)
{
	if (!a)
		return;
	munmap(a->h, a->h->size);
	shm_close_fd(a->fd);
	free(a);
}

int shm_arena_fd(const struct shm_arena *a)
{
	return a->fd;
}

void *shm_root(const struct shm_arena *a)
{
	return __atomic_load_n(&a->h->root, __ATOMIC_ACQUIRE);
}

void shm_set_root(struct shm_arena *a, void *root)
{
	__atomic_store_n(&a->h->root, root, __ATOMIC_RELEASE);
}

pthread_mutex_t *shm_stack_lock(struct shm_arena *a)
{
	return &a->h->stack_lock;
}

size_t shm_used(const struct shm_arena *a)
{
	return __atomic_load_n(&a->h->used, __ATOMIC_RELAXED);
}

size_t shm_peak(const struct shm_arena *a)
{
	return __atomic_load_n(&a->h->peak, __ATOMIC_RELAXED);
}

static void *shm_get(void *arena, size_t n, int zero);

/* n zeroed bytes in a block of n's class: from the class's free list, else from
 * the bump offset. NULL if n is 0 or too large, or the arena is full. */
void *shm_zalloc(void *arena, size_t n)
{
	return shm_get(arena, n, 1);
}

/* The same without clearing a block used before (rings: their bytes are
 * written before they are read). */
void *shm_alloc(void *arena, size_t n)
{
	return shm_get(arena, n, 0);
}

static void *shm_get(void *arena, size_t n, int zero)
{
	struct shm_arena *a = arena;
	struct shm_hdr *h = a->h;
	uint8_t *base = (uint8_t *)h;
	struct shm_free_blk *b = NULL;
	int c = shm_class_of(n);
	size_t sz, align;
	uint64_t off;

	if (n == 0 || c < 0)
		return NULL;
	sz = shm_class[c];
	align = sz & -sz;
	if (align > SHM_PAGE)
		align = SHM_PAGE;
	shm_lock(h);
	off = h->free_head[c];
	if (off) {
		b = (struct shm_free_blk *)(base + off);
		h->free_head[c] = b->next;
	} else {
		off = (h->bump + align - 1) & ~(uint64_t)(align - 1);
		if (off > h->size || h->size - off < sz) {
			shm_unlock(h);
			return NULL;
		}
		h->bump = off + sz;   /* the padding below off is never used */
	}
	h->used += sz;
	if (h->used > h->peak)
		h->peak = h->used;
	shm_unlock(h);
	if (!b)
		return base + off;   /* never handed out: still the memfd's zeros */
	if (sz >= SHM_PUNCH_MIN && b->punched == SHM_PUNCHED)
		memset(b, 0, sizeof *b);
	else if (zero)
		memset(b, 0, sz);
	return b;
}

/* Put p, of the n given to its shm_zalloc, on its class's free list; a block of
 * >= 16 MiB first goes back to the kernel (the memfd's pages are punched out). */
void shm_free(void *arena, void *p, size_t n)
{
	struct shm_arena *a = arena;
	struct shm_hdr *h = a->h;
	struct shm_free_blk *b = p;
	int c = shm_class_of(n);
	size_t sz;

	if (!p)
		return;
	assert(n > 0 && c >= 0);   /* a size shm_zalloc handed out */
	sz = shm_class[c];
	if (sz >= SHM_PUNCH_MIN) {
		/* after the punch the pages read zero: the mark is written after it */
		int r = fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				  (off_t)((uint8_t *)p - (uint8_t *)h), (off_t)sz);
		b->punched = r == 0 ? SHM_PUNCHED : 0;
	}
	shm_lock(h);
	b->next = h->free_head[c];
	h->free_head[c] = (uint64_t)((uint8_t *)p - (uint8_t *)h);
	h->used -= sz;
	shm_unlock(h);
}
