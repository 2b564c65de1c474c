/* Internet checksum, RFC 1071: 16-bit one's-complement sum. */
#include "csum.h"

uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *b = data;
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(b[0] << 8 | b[1]);
		b += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)b[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffff) + (s >> 32);
	/* keep within 32 bits without losing carries */
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
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
