/* The shared-memory arena (preload/shm.c): mapping, size classes, reuse, zeroing,
 * punching, and what fork children and attaching processes see. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "preload/shm.h"
#include "test.h"

#define GiB ((size_t)1 << 30)
#define MiB ((size_t)1 << 20)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	return n == 0 || (b[0] == 0 && memcmp(b, b + 1, n - 1) == 0);
}

/* A pattern only this block at this address has (block sizes are multiples of 8
 * beyond 64 bytes, and 64-byte aligned): overlapping blocks break it. */
static uint64_t pattern(const void *p, size_t i)
{
	return ((uintptr_t)p * 0x9e3779b97f4a7c15ULL) ^ (i * 0x100000001b3ULL);
}

static void fill(void *p, size_t n)
{
	uint64_t *w = p;
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		w[i] = pattern(p, i);
	for (i *= 8; i < n; i++)
		b[i] = (uint8_t)pattern(p, i);
}

static int filled(const void *p, size_t n)
{
	const uint64_t *w = p;
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i] != pattern(p, i))
			return 0;
	for (i *= 8; i < n; i++)
		if (b[i] != (uint8_t)pattern(p, i))
			return 0;
	return 1;
}

/* The child's exit status, or -1 if it did not exit. */
static int wait_child(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static long memfd_blocks(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 ? (long)sb.st_blocks : -1;
}

TEST(create_close)
{
	struct shm_arena *a;
	uint8_t *p;

	CHECK_EQ(shm_arena_create(4096, &a), -EINVAL);
	REQUIRE(shm_arena_create(GiB, &a) == 0);
	CHECK(shm_arena_fd(a) >= 0);
	CHECK(fcntl(shm_arena_fd(a), F_GETFD) & FD_CLOEXEC);
	CHECK(shm_root(a) == NULL);
	CHECK_EQ(shm_used(a), 0);
	CHECK_EQ(shm_peak(a), 0);
	p = shm_zalloc(a, 64);
	CHECK((uintptr_t)p > SHM_BASE && (uintptr_t)p < SHM_BASE + GiB);
	shm_set_root(a, p);
	CHECK(shm_root(a) == p);
	shm_free(a, p, 64);
	shm_arena_close(a);
	/* the base is free again */
	REQUIRE(shm_arena_create(GiB, &a) == 0);
	p = shm_zalloc(a, 64);
	CHECK((uintptr_t)p > SHM_BASE && (uintptr_t)p < SHM_BASE + GiB);
	shm_arena_close(a);
}

/* A second arena while the first holds SHM_BASE: mapped elsewhere, both work. */
TEST(base_taken)
{
	struct shm_arena *a, *b;
	uint8_t *p, *q;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	REQUIRE(shm_arena_create(GiB, &b) == 0);
	p = shm_zalloc(a, 1000);
	q = shm_zalloc(b, 1000);
	REQUIRE(p && q);
	CHECK((uintptr_t)p > SHM_BASE && (uintptr_t)p < SHM_BASE + GiB);
	CHECK(!((uintptr_t)q >= SHM_BASE && (uintptr_t)q < SHM_BASE + GiB));
	fill(p, 1000);
	fill(q, 1000);
	CHECK(filled(p, 1000) && filled(q, 1000));
	shm_free(a, p, 1000);
	shm_free(b, q, 1000);
	shm_arena_close(b);
	shm_arena_close(a);
}

/* Every size from 1 byte to 8 MiB: zeroed, aligned, charged its class (never 2x). */
TEST(sizes_zeroed)
{
	static const size_t sizes[] = {
		1, 2, 63, 64, 65, 100, 127, 128, 129, 191, 192, 193, 255, 256, 257, 383, 384, 385,
		511, 512, 700, 768, 1000, 1024, 1500, 1536, 2000, 2048, 3000, 3072, 4000, 4095, 4096,
		4097, 8191, 8192, 10000, 16384, 40000, 65535, 65536, 65537, 100000, 262144,
		MiB - 1, MiB, MiB + 1, 3 * MiB, 4 * MiB, 8 * MiB - 1, 8 * MiB,
	};
	enum { N = sizeof sizes / sizeof sizes[0] };
	struct shm_arena *a;
	uint8_t *p[N];

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	CHECK(shm_zalloc(a, 0) == NULL);
	CHECK(shm_zalloc(a, GiB + 1) == NULL);
	for (int i = 0; i < N; i++) {
		size_t n = sizes[i], before = shm_used(a), cls;

		p[i] = shm_zalloc(a, n);
		REQUIRE(p[i]);
		CHECK((uintptr_t)p[i] >= SHM_BASE && (uintptr_t)p[i] + n <= SHM_BASE + GiB);
		CHECK(all_zero(p[i], n));
		cls = shm_used(a) - before;
		CHECK(cls >= n && cls >= 64);
		if (n >= 64)
			CHECK(cls < 2 * n);
		if (n >= 4096 && !(n & (n - 1)))
			CHECK_EQ(cls, n);   /* rings: exactly their size */
		CHECK_EQ((uintptr_t)p[i] % ((cls & -cls) < 4096 ? (cls & -cls) : 4096), 0);
		fill(p[i], n);
	}
	for (int i = 0; i < N; i++) {
		CHECK(filled(p[i], sizes[i]));
		shm_free(a, p[i], sizes[i]);
	}
	CHECK_EQ(shm_used(a), 0);
	shm_arena_close(a);
}

/* A freed block is the next one of its class, zeroed; small and punched alike. */
TEST(reuse_zeroed)
{
	static const size_t sizes[] = { 1, 300, 4096, 5000, 65536, 128 * 1024, 3 * MiB };
	struct shm_arena *a;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		uint8_t *p = shm_zalloc(a, n), *q, *r;

		REQUIRE(p);
		memset(p, 0xff, n);
		shm_free(a, p, n);
		q = shm_zalloc(a, n);
		CHECK(q == p);
		CHECK(all_zero(q, n));
		/* the list is empty again: the next one is a new block */
		r = shm_zalloc(a, n);
		CHECK(r && r != q);
		shm_free(a, q, n);
		shm_free(a, r, n);
	}
	CHECK_EQ(shm_used(a), 0);
	shm_arena_close(a);
}

/* A full arena says NULL; a freed block of the class serves again. */
TEST(exhaustion)
{
	struct shm_arena *a;
	void *p[64], *q;
	int n = 0;

	REQUIRE(shm_arena_create(MiB, &a) == 0);
	CHECK(shm_zalloc(a, 2 * MiB) == NULL);
	while (n < 64 && (p[n] = shm_zalloc(a, 65536)))
		n++;
	CHECK_EQ(n, 15);   /* 16 in 1 MiB, the first taken by the header's page */
	CHECK(shm_zalloc(a, 65536) == NULL);
	shm_free(a, p[3], 65536);
	q = shm_zalloc(a, 65536);
	CHECK(q == p[3]);
	shm_arena_close(a);
}

TEST(used_peak)
{
	struct shm_arena *a;
	void *p, *q, *r;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	p = shm_zalloc(a, 100);     /* 128 */
	q = shm_zalloc(a, 4096);
	r = shm_zalloc(a, MiB);
	CHECK_EQ(shm_used(a), 128 + 4096 + MiB);
	shm_free(a, r, MiB);
	CHECK_EQ(shm_used(a), 128 + 4096);
	r = shm_zalloc(a, 200);     /* 256 */
	CHECK_EQ(shm_used(a), 128 + 4096 + 256);
	CHECK_EQ(shm_peak(a), 128 + 4096 + MiB);
	shm_free(a, p, 100);
	shm_free(a, q, 4096);
	shm_free(a, r, 200);
	CHECK_EQ(shm_used(a), 0);
	CHECK_EQ(shm_peak(a), 128 + 4096 + MiB);
	shm_arena_close(a);
}

/* Mostly small, some large sizes. */
static size_t rnd_size(void)
{
	uint64_t r = rnd();

	switch (r % 64) {
	case 0:  return 1 + (r >> 8) % (1024 * 1024);
	case 1:
	case 2:
	case 3:  return 1 + (r >> 8) % (128 * 1024);
	case 4:
	case 5:
	case 6:
	case 7:  return 4096 << ((r >> 8) % 4);
	default: return 1 + (r >> 8) % 4096;
	}
}

/* ops random allocations and frees over slots slots (sizes up to max, or of
 * rnd_size() if 0), every block patterned and checked before its free; everything
 * freed at the end. The number of failures. */
static int stress(struct shm_arena *a, int ops, int slots, size_t max)
{
	void **p = calloc((size_t)slots, sizeof *p);
	size_t *len = calloc((size_t)slots, sizeof *len);
	int bad = 0;

	for (int i = 0; i < ops; i++) {
		int s = (int)(rnd() % (uint64_t)slots);

		if (p[s]) {
			if (!filled(p[s], len[s]))
				bad++;
			shm_free(a, p[s], len[s]);
			p[s] = NULL;
			continue;
		}
		len[s] = max ? 1 + rnd() % max : rnd_size();
		p[s] = shm_zalloc(a, len[s]);
		if (!p[s] || !all_zero(p[s], len[s])) {
			bad++;
			continue;
		}
		fill(p[s], len[s]);
	}
	for (int s = 0; s < slots; s++)
		if (p[s]) {
			if (!filled(p[s], len[s]))
				bad++;
			shm_free(a, p[s], len[s]);
		}
	free(p);
	free(len);
	return bad;
}

TEST(stress)
{
	struct shm_arena *a;

	REQUIRE(shm_arena_create(8 * GiB, &a) == 0);
	CHECK_EQ(stress(a, 10000, 256, 0), 0);
	CHECK_EQ(shm_used(a), 0);
	CHECK(shm_peak(a) > 0);
	shm_arena_close(a);
}

/* A freed large block's pages go back to the kernel; reusing it touches one page. */
TEST(punch)
{
	struct shm_arena *a;
	long b0, b1, b2, b3;
	uint8_t *p, *q;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	b0 = memfd_blocks(shm_arena_fd(a));
	p = shm_zalloc(a, 32 * MiB);
	REQUIRE(p);
	memset(p, 1, 32 * MiB);
	b1 = memfd_blocks(shm_arena_fd(a));
	CHECK(b1 - b0 >= (long)(32 * MiB / 512));
	shm_free(a, p, 32 * MiB);
	b2 = memfd_blocks(shm_arena_fd(a));
	CHECK(b1 - b2 >= (long)((32 * MiB - 4096) / 512));
	q = shm_zalloc(a, 32 * MiB);
	CHECK(q == p);
	b3 = memfd_blocks(shm_arena_fd(a));
	CHECK(b3 - b2 <= 8);   /* at most the page the free list link was in */
	CHECK(all_zero(q, 32 * MiB));
	shm_free(a, q, 32 * MiB);
	shm_arena_close(a);
}

/* A ring-sized block (below the punch size) keeps its pages: shm_alloc hands
 * it back as it was, shm_zalloc cleared. */
TEST(ring_blocks_kept)
{
	struct shm_arena *a;
	uint8_t *p, *q;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	p = shm_zalloc(a, 4 * MiB);
	REQUIRE(p);
	memset(p, 1, 4 * MiB);
	long b1 = memfd_blocks(shm_arena_fd(a));
	shm_free(a, p, 4 * MiB);
	CHECK_EQ(memfd_blocks(shm_arena_fd(a)), b1);
	q = shm_alloc(a, 4 * MiB);
	CHECK(q == p);
	CHECK_EQ(q[4 * MiB - 1], 1);    /* not cleared */
	shm_free(a, q, 4 * MiB);
	q = shm_zalloc(a, 4 * MiB);
	CHECK(q == p);
	CHECK(all_zero(q, 4 * MiB));
	shm_free(a, q, 4 * MiB);
	shm_arena_close(a);
}

/* The child allocates and writes; the parent reads it through the root. */
TEST(fork_shares)
{
	struct shm_arena *a;
	pid_t pid;
	char *s, *t;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		s = shm_zalloc(a, 1000);
		if (!s)
			_exit(1);
		strcpy(s, "written by the child");
		shm_set_root(a, s);
		_exit(0);
	}
	CHECK_EQ(wait_child(pid), 0);
	s = shm_root(a);
	REQUIRE(s);
	CHECK(strcmp(s, "written by the child") == 0);
	CHECK_EQ(shm_used(a), 1024);
	/* the allocator's state is shared too: no second handing out of s */
	t = shm_zalloc(a, 1000);
	CHECK(t && t != s);
	shm_free(a, t, 1000);
	shm_free(a, s, 1000);
	CHECK_EQ(shm_used(a), 0);
	shm_arena_close(a);
}

/* Parent and child allocate and free at once in one arena. */
TEST(fork_concurrent)
{
	struct shm_arena *a;
	int go[2];
	pid_t pid;
	char c = 0;

	REQUIRE(shm_arena_create(8 * GiB, &a) == 0);
	REQUIRE(pipe(go) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		rng = 0x1234567887654321ULL;
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(stress(a, 10000, 128, 0) + stress(a, 100000, 64, 512) ? 1 : 0);
	}
	rng = 0xfedcba9889abcdefULL;
	CHECK(write(go[1], &c, 1) == 1);
	CHECK_EQ(stress(a, 10000, 128, 0), 0);
	CHECK_EQ(stress(a, 100000, 64, 512), 0);   /* small: the lock's turn */
	CHECK_EQ(wait_child(pid), 0);
	CHECK_EQ(shm_used(a), 0);
	close(go[0]);
	close(go[1]);
	shm_arena_close(a);
}

/* A process without the mapping (unmapped here, as after exec) attaches through
 * the fd: same address, same contents, the allocator goes on. */
TEST(attach)
{
	struct shm_arena *a, *b;
	char *s;
	pid_t pid;
	int fd;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	s = shm_zalloc(a, 100);
	REQUIRE(s);
	strcpy(s, "the parent's");
	shm_set_root(a, s);
	/* mapped here already */
	fd = dup(shm_arena_fd(a));
	CHECK_EQ(shm_arena_attach(fd, &b), -EADDRINUSE);
	close(fd);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char *t;

		fd = dup(shm_arena_fd(a));
		shm_arena_close(a);
		/* unmapped: the attach is not served by the old mapping */
		CHECK(mincore((void *)((uintptr_t)s & ~(uintptr_t)4095), 4096,
			      (unsigned char[1]){0}) < 0 && errno == ENOMEM);
		CHECK_EQ(shm_arena_attach(fd, &b), 0);
		if (test_failed_checks)
			_exit(1);
		CHECK_EQ(shm_arena_fd(b), fd);
		CHECK(shm_root(b) == s);
		CHECK(strcmp(s, "the parent's") == 0);
		CHECK_EQ(shm_used(b), 128);
		t = shm_zalloc(b, 100);
		CHECK(t && t != s);
		strcpy(t, "the child's");
		shm_set_root(b, t);
		shm_arena_close(b);
		_exit(test_failed_checks ? 1 : 0);
	}
	CHECK_EQ(wait_child(pid), 0);
	CHECK(strcmp(shm_root(a), "the child's") == 0);
	CHECK_EQ(shm_used(a), 256);
	shm_arena_close(a);
}

/* Not an arena: refused. */
TEST(attach_bad)
{
	struct shm_arena *b;
	int fd = memfd_create("not-nstack", MFD_CLOEXEC);

	REQUIRE(fd >= 0);
	CHECK_EQ(shm_arena_attach(fd, &b), -EINVAL);   /* empty */
	REQUIRE(ftruncate(fd, 1 << 20) == 0);
	CHECK_EQ(shm_arena_attach(fd, &b), -EINVAL);   /* zeros */
	close(fd);
}

/* A member that dies holding the stack's lock leaves it to the next one. */
TEST(robust_stack_lock)
{
	struct shm_arena *a;
	pthread_mutex_t *m;
	pid_t pid;

	REQUIRE(shm_arena_create(GiB, &a) == 0);
	m = shm_stack_lock(a);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(pthread_mutex_lock(m) == 0 ? 0 : 1);
	CHECK_EQ(wait_child(pid), 0);
	CHECK_EQ(pthread_mutex_lock(m), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(m), 0);
	CHECK_EQ(pthread_mutex_unlock(m), 0);
	CHECK_EQ(pthread_mutex_lock(m), 0);
	CHECK_EQ(pthread_mutex_unlock(m), 0);
	shm_arena_close(a);
}

int main(void)
{
	RUN(create_close);
	RUN(base_taken);
	RUN(sizes_zeroed);
	RUN(reuse_zeroed);
	RUN(exhaustion);
	RUN(used_peak);
	RUN(stress);
	RUN(punch);
	RUN(ring_blocks_kept);
	RUN(fork_shares);
	RUN(fork_concurrent);
	RUN(attach);
	RUN(attach_bad);
	RUN(robust_stack_lock);
	return TEST_SUMMARY();
}
