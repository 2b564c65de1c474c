/* Packet buffers: one contiguous buffer per frame, with headroom so that each
 * layer prepends its header in place. There are no chains; `next` only links a
 * packet into a queue (ARP pending queue, device FIFOs).
 *
 * The pool is allocated once (pkt_pool_init) and never grows. It is not
 * thread-safe: every user runs under the one stack lock (preload/) or in a
 * single thread (tests). A function that takes `struct pkt *` owns it and must
 * send it or free it; `const struct pkt *` is borrowed.
 */
#ifndef NSTACK_PKT_H
#define NSTACK_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_HEADROOM 128        /* room for virtio-net + Ethernet + IP + TCP headers */
#define PKT_SIZE     2048       /* bytes in buf[]: headroom + largest frame we build/accept */
#define PKT_MAX_FRAME (PKT_SIZE - PKT_HEADROOM)

/* pkt->flags */
#define PKT_F_CSUM_OK 0x1       /* the device verified the L4 checksum (virtio DATA_VALID) */

struct pkt {
	struct pkt *next;       /* queue link, NULL when not queued */
	uint8_t    *data;       /* current header */
	uint16_t    len;        /* bytes from data to end of frame */
	uint16_t    id;         /* pool index == io_uring provided-buffer id */
	uint16_t    flags;      /* PKT_F_* */
	uint16_t    _pad;
	uint8_t     buf[PKT_SIZE];
};

int          pkt_pool_init(unsigned n);   /* once per process; 0 or -ENOMEM/-EINVAL */
void         pkt_pool_fini(void);
struct pkt  *pkt_alloc(void);             /* data = buf + PKT_HEADROOM, len = 0; NULL if exhausted */
void         pkt_free(struct pkt *p);     /* NULL is a no-op */
unsigned     pkt_pool_in_use(void);       /* leak accounting for tests */
unsigned     pkt_pool_size(void);
struct pkt  *pkt_by_id(uint16_t id);

void *pkt_push(struct pkt *p, size_t n);  /* prepend n bytes; NULL if no headroom */
void *pkt_pull(struct pkt *p, size_t n);  /* strip n bytes; returns old data; NULL if too short */
void *pkt_put(struct pkt *p, size_t n);   /* append n bytes at the tail; NULL if no room */
void  pkt_trim(struct pkt *p, size_t len);/* cut the frame to len bytes (len <= p->len) */
size_t pkt_headroom(const struct pkt *p);
size_t pkt_tailroom(const struct pkt *p);

/* A FIFO of packets linked through `next`. */
struct pkt_queue {
	struct pkt *head, *tail;
	unsigned    n;
};
void        pkt_queue_push(struct pkt_queue *q, struct pkt *p);
struct pkt *pkt_queue_pop(struct pkt_queue *q);
void        pkt_queue_purge(struct pkt_queue *q);   /* frees every packet */

#endif
