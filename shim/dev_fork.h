/* What dev.c needs of each kind of device to take a chain over in a fork()
 * child (shim_dev_fork, shim_dev_abandon in shim.h). Internal to shim/.
 *
 * For each kind: _is() recognises a device of that kind (by its ops);
 * _abandon() releases what the fork copied into the child of that one
 * layer (its private structs, its copies of the fds and mappings) and
 * nothing the parent still uses (its packets, its requests in the kernel,
 * the state behind a shared fd); _fork() builds the child's own device of
 * that kind with the same settings and abandons the inherited layer (on
 * success and on failure). A middleware's _fork() wraps `lower`, the
 * child's device already built from the layer below (consumed: closed on
 * failure); dev.c walks the chain (middleware never calls back into it).
 */
#ifndef NSTACK_SHIM_DEV_FORK_H
#define NSTACK_SHIM_DEV_FORK_H

#include <stdbool.h>
#include <stdint.h>
#include "shim/shim.h"
#include "stack/splitmix64.h"

bool           uring_dev_is(const struct netdev *dev);
int            uring_dev_frame_fd(const struct netdev *dev);
struct netdev *uring_dev_fork(struct netdev *inherited, int *err);
void           uring_dev_abandon(struct netdev *inherited);

bool           memdev_is(const struct netdev *dev);
struct netdev *memdev_fork(struct netdev *inherited, int *err);
void           memdev_abandon(struct netdev *inherited);

bool           pcapdev_is(const struct netdev *dev);
struct netdev *pcapdev_lower(struct netdev *dev);
struct netdev *pcapdev_fork(struct netdev *inherited, struct netdev *lower, int *err);
void           pcapdev_abandon(struct netdev *inherited);

bool           impairdev_is(const struct netdev *dev);
struct netdev *impairdev_lower(struct netdev *dev);
struct netdev *impairdev_fork(struct netdev *inherited, struct netdev *lower, int *err);
void           impairdev_abandon(struct netdev *inherited);

/* A seed of the same spec that differs in each process: seed mixed with pid. */
static inline uint64_t shim_seed_for_pid(uint64_t seed, int pid)
{
	uint64_t x = seed ^ ((uint64_t)(uint32_t)pid << 32 | (uint32_t)pid);

	return splitmix64(&x);
}

#endif
