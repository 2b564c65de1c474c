/* splitmix64 (Steele, Lea, Flood): the seeded pseudo-random source of the
 * tree. The stack's fallback randomness, the engine's (seeded from
 * getrandom), the in-memory and impairment devices' decisions, and the
 * tests' seeded generators all step a 64-bit state through this one
 * function, so one seed gives the same sequence everywhere. */
#ifndef NSTACK_SPLITMIX64_H
#define NSTACK_SPLITMIX64_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
