/* Two stacks over the in-memory pair (memdev_pair), each with its own seeded
 * randomness, driven together in 100 µs rounds. */
#ifndef NSTACK_PAIR_HARNESS_H
#define NSTACK_PAIR_HARNESS_H

#include "stack/stack.h"
#include "stack/splitmix64.h"

#define A_ADDR 0xc6120001u      /* 198.18.0.1 */
#define B_ADDR 0xc6120002u      /* 198.18.0.2 */

static uint64_t rng_a = 1, rng_b = 2;  /* cfg.rand_ctx of A and B, with rand64 = rnd */
static inline uint64_t rnd(void *ctx)
{
	return splitmix64(ctx);
}

/* Run both stacks for a while, 100 µs per round (an RTT of a few rounds). */
static inline uint64_t pair_run(struct stack *a, struct stack *b, uint64_t now, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		now += 100;
		stack_poll(a, now);
		stack_poll(b, now);
	}
	return now;
}

#endif
