/* Internet checksum, RFC 1071: 16-bit one's-complement sum.
 *
 * RFC 1071 2(B): the sum is independent of byte order, so the data is
 * summed as native 64-bit words (eight bytes per add, carries folded back
 * in) and the folded result swapped to the big-endian view the callers
 * expect once at the end. Loads go through memcpy: any alignment. */
#include <string.h>
#include "csum.h"
#include "stack.h"

/* 64-bit one's-complement add: the carry out goes back in at the bottom. */
static inline uint64_t add64(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

static inline uint64_t load64(const uint8_t *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

/* Fold a 64-bit accumulator to 16 bits, carries included. */
static inline uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* The sum of len bytes as native 16-bit words (the last odd byte as the
 * first byte of a word). */
static uint32_t csum_native(const uint8_t *b, size_t len)
{
	uint64_t s0 = 0, s1 = 0;

	while (len >= 32) {
		s0 = add64(s0, load64(b));
		s1 = add64(s1, load64(b + 8));
		s0 = add64(s0, load64(b + 16));
		s1 = add64(s1, load64(b + 24));
		b += 32;
		len -= 32;
	}
	while (len >= 8) {
		s0 = add64(s0, load64(b));
		b += 8;
		len -= 8;
	}
	/* s1 may be all ones after the loop: the tails add with carry too */
	if (len >= 4) {
		uint32_t v;
		memcpy(&v, b, 4);
		s1 = add64(s1, v);
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;
		memcpy(&v, b, 2);
		s1 = add64(s1, v);
		b += 2;
		len -= 2;
	}
	if (len) {
		uint8_t w[2] = { b[0], 0 };
		uint16_t v;
		memcpy(&v, w, 2);
		s1 = add64(s1, v);
	}
	return fold64(add64(s0, s1));
}

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	uint32_t n = csum_native(data, len);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	n = (uint32_t)__builtin_bswap16((uint16_t)n);
#endif
	return fold64((uint64_t)sum + n);
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	/* network order: the caller stores htons(value) */
	return (uint16_t)~sum;
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t s = 0;
	s += src >> 16;
	s += src & 0xffff;
	s += dst >> 16;
	s += dst & 0xffff;
	s += proto;
	s += len;
	return (uint32_t)s;
}

/* RFC 8200 8.1: source, destination, the 32-bit upper-layer length, three
 * zero bytes and the next header. */
uint32_t csum_pseudo6(const struct nst_addr *src, const struct nst_addr *dst, uint8_t proto,
		      uint32_t len)
{
	uint64_t s = 0;
	for (int i = 0; i < 16; i += 2) {
		s += (uint32_t)src->b[i] << 8 | src->b[i + 1];
		s += (uint32_t)dst->b[i] << 8 | dst->b[i + 1];
	}
	s += len >> 16;
	s += len & 0xffff;
	s += proto;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}
