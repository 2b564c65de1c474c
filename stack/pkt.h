/* Packet buffers: one contiguous buffer per frame, with headroom so that each
 * layer prepends its header in place. There are no chains; `next` only links a
 * packet into a queue (ARP pending queue, device FIFOs).
 *
 * The pool is allocated once (pkt_pool_init_mem) and never grows. It is not
 * thread-safe: every user runs under the one stack lock (preload/) or in a
 * single thread (tests). A function that takes `struct pkt *` owns it and must
 * send it or free it; `const struct pkt *` is borrowed.
 */
#ifndef NSTACK_PKT_H
#define NSTACK_PKT_H

#include <stddef.h>
#include <stdint.h>

#define PKT_HEADROOM 128        /* room for virtio-net + Ethernet + IP + TCP headers */
#define PKT_SIZE     2048       /* a small buffer: headroom + one MTU-sized frame */
#define PKT_MAX_FRAME (PKT_SIZE - PKT_HEADROOM)
/* A large buffer holds one TSO/GSO frame we hand to the device or one
 * GRO-merged frame it hands us: a 64 KB IP datagram plus Ethernet header. */
#define PKT_LARGE_SIZE  (PKT_HEADROOM + 65536 + 256)
#define PKT_LARGE_MAX_FRAME (PKT_LARGE_SIZE - PKT_HEADROOM)

/* pkt->flags */
#define PKT_F_CSUM_OK      0x1  /* the device verified the L4 checksum (virtio DATA_VALID) */
#define PKT_F_CSUM_PARTIAL 0x2  /* the L4 checksum field holds only the pseudo-header sum;
				 * the device completes it (virtio NEEDS_CSUM) over the
				 * bytes from buf + csum_start, storing at + csum_off */

struct pkt {
	struct pkt *next;       /* queue link, NULL when not queued */
	uint8_t    *data;       /* current header */
	uint8_t    *buf;        /* this packet's buffer, `size` bytes */
	uint32_t    len;        /* bytes from data to end of frame */
	uint32_t    size;       /* PKT_SIZE or PKT_LARGE_SIZE */
	uint16_t    id;         /* pool index == io_uring provided-buffer id */
	uint16_t    flags;      /* PKT_F_* */
	uint16_t    gso_size;   /* TSO: TCP payload bytes per wire segment; 0 = one frame */
	uint16_t    csum_start; /* PKT_F_CSUM_PARTIAL: L4 header offset from buf */
	uint16_t    csum_off;   /* PKT_F_CSUM_PARTIAL: checksum field offset from csum_start */
	uint8_t     ip_tos;     /* IPv4 TOS of the socket that sent it (IP_TOS) */
	uint8_t     ip_ttl;     /* IPv4 TTL (IP_TTL); 0 = the default */
	int32_t     dev_owner;  /* the process whose device holds it (a provided buffer,
	                         * a frame not yet handed up, a write in flight); 0: none.
	                         * Set and cleared by the device; a pool shared by several
	                         * processes takes a dead one's back (pkt_pool_reclaim) */
};

struct nst_mem_ops;

/* Small packets have ids [0, n); large ones [n, n + n_large). The pool's
 * state is one block allocated from m (NULL: calloc/free) with the arrays it
 * points to; pkt_pool_fini gives them back. Once per process; 0 or
 * -ENOMEM/-EINVAL/-EBUSY. */
int          pkt_pool_init_mem(unsigned n_small, unsigned n_large, const struct nst_mem_ops *m);
int          pkt_pool_init(unsigned n);   /* pkt_pool_init_mem(n, 0, NULL) */
int          pkt_pool_init_large(unsigned n_large); /* after pkt_pool_init; optional */
void         pkt_pool_fini(void);
/* The pool's state block (NULL: none), and taking it over in a process that
 * maps the same memory at the same address (it holds pointers). */
void        *pkt_pool_state(void);
void         pkt_pool_attach(void *state);
struct pkt  *pkt_alloc(void);             /* data = buf + PKT_HEADROOM, len = 0; NULL if exhausted */
struct pkt  *pkt_alloc_large(void);       /* the same from the large pool; NULL if none */
int          pkt_is_large(const struct pkt *p);
unsigned     pkt_pool_large_in_use(void);
unsigned     pkt_pool_large_size(void);
void         pkt_free(struct pkt *p);     /* NULL is a no-op */
/* Free every packet a device of process owner holds (dev_owner): that
 * process died with them. Returns how many. */
unsigned     pkt_pool_reclaim(int32_t owner);
unsigned     pkt_pool_in_use(void);       /* leak accounting for tests */
unsigned     pkt_pool_size(void);
struct pkt  *pkt_by_id(uint16_t id);
/* A copy of p (borrowed) in a new packet of the same pool (small or large):
 * frame bytes at the same offset, flags and offload fields. NULL if that pool
 * is exhausted. The devices' duplication uses it. */
struct pkt  *pkt_clone(const struct pkt *p);

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
