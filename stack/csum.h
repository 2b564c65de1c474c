/* Internet checksum (RFC 1071) helpers. Sums treat the data as big-endian
 * 16-bit words and work in host order: store the result with htons(), and a
 * received packet is valid when csum_fold(sum over it, checksum included) == 0. */
#ifndef NSTACK_CSUM_H
#define NSTACK_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add len bytes at data to a 32-bit one's-complement accumulator. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);
/* Fold an accumulator to 16 bits and complement it: the value to store. */
uint16_t csum_fold(uint32_t sum);
/* Accumulator of the IPv4 pseudo-header (RFC 9293 3.1, RFC 768); addresses in host order. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* Accumulator of the IPv6 pseudo-header (RFC 8200 8.1). */
struct nst_addr;
uint32_t csum_pseudo6(const struct nst_addr *src, const struct nst_addr *dst, uint8_t proto,
		      uint32_t len);
/* Whole checksum over data (fold of csum_add(0, ...)). */
static inline uint16_t csum(const void *data, size_t len) { return csum_fold(csum_add(0, data, len)); }

#endif
