/* The byte ring (ring.c): TCP's send and receive rings (tcp.h) and the
 * datagram queue of a UDP socket (udp.h). Its memory is charged to the
 * stack-wide cap (st->tcp.mem_max); tcp.h says how TCP sizes its rings. */
#ifndef NSTACK_RING_H
#define NSTACK_RING_H

#include <stdint.h>

struct stack;

/* A byte ring. head indexes the first byte, len bytes follow (wrapping). */
struct tcp_ring {
	uint8_t *buf;
	uint32_t size;
	uint32_t head;
	uint32_t len;
};

uint32_t tcp_ring_free(const struct tcp_ring *r);
void     tcp_ring_copy_out(const struct tcp_ring *r, uint32_t off, void *dst, uint32_t n);
void     tcp_ring_copy_in(struct tcp_ring *r, uint32_t off, const void *src, uint32_t n);
void     tcp_ring_consume(struct tcp_ring *r, uint32_t n);
int      tcp_ring_grow(struct stack *st, struct tcp_ring *r, uint32_t need, uint32_t cap);
void     tcp_ring_release(struct stack *st, struct tcp_ring *r);

#endif
