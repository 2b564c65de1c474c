/* preload/shm.c: the shared-memory arena a family of processes keeps one stack in.
 * A memfd mapped MAP_SHARED at the same address in every member, with a small
 * size-class allocator whose state lives in the arena itself. The allocator's two
 * functions have the shape of struct nst_mem_ops (stack/stack.h): zalloc/free with
 * a context, the context being the arena handle of the calling process. */
#ifndef NSTACK_SHM_H
#define NSTACK_SHM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Where the creator maps the arena (x86_64: far below the mmap and stack areas
 * near 0x7f..., far above the program and its heap near 0x55...). */
#define SHM_BASE ((uintptr_t)0x2c0000000000)

struct shm_arena;

/* 0 and *out, or -errno. size is rounded up to a page; untouched pages cost nothing. */
int   shm_arena_create(size_t size, struct shm_arena **out);
/* Map the arena behind fd at the address it was created at; on success the arena
 * owns fd (shm_arena_close closes it). -EADDRINUSE if that address is taken,
 * -EINVAL if fd holds no arena of ours (magic, version, size). */
int   shm_arena_attach(int fd, struct shm_arena **out);
/* Unmap and close this process's view; the arena lives while any member maps it. */
void  shm_arena_close(struct shm_arena *a);
int   shm_arena_fd(const struct shm_arena *a);

/* The first object (the stack): every member finds it here. */
void *shm_root(const struct shm_arena *a);
void  shm_set_root(struct shm_arena *a, void *root);
/* Reserved for the stack's lock: process-shared and robust (EOWNERDEAD). */
pthread_mutex_t *shm_stack_lock(struct shm_arena *a);

/* Bytes in blocks handed out (by their class size), and the most ever. */
size_t shm_used(const struct shm_arena *a);
size_t shm_peak(const struct shm_arena *a);

/* struct nst_mem_ops: arena is a struct shm_arena *. Zeroed memory or NULL;
 * free takes the size given to zalloc (it picks the class). */
void *shm_zalloc(void *arena, size_t n);
void  shm_free(void *arena, void *p, size_t n);
void *shm_alloc(void *arena, size_t n);     /* not cleared (nst_mem_ops.alloc) */

#endif
