/* The packet pool: allocated once, a free list of indices, leak accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include "pkt.h"

/* One class of buffers: descriptors, their memory, a stack of free indices. */
struct pkt_class {
	struct pkt *pkts;
	uint8_t    *mem;
	uint16_t   *free_ids;   /* indices into pkts */
	unsigned    n, free_n;
	unsigned    id_base;    /* pkts[i].id == id_base + i */
	uint32_t    size;
};

static struct pkt_class small_pool, large_pool;

static int class_init(struct pkt_class *c, unsigned n, unsigned id_base, uint32_t size)
{
	if (n == 0 || id_base + n > 65535)
		return -EINVAL;
	if (c->pkts)
		return -EBUSY;
	c->pkts = calloc(n, sizeof(*c->pkts));
	c->free_ids = calloc(n, sizeof(*c->free_ids));
	/* calloc of a large block maps zero pages: untouched buffers cost no RSS */
	c->mem = calloc(n, size);
	if (!c->pkts || !c->free_ids || !c->mem) {
		free(c->pkts);
		free(c->free_ids);
		free(c->mem);
		memset(c, 0, sizeof(*c));
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		c->pkts[i].id = (uint16_t)(id_base + i);
		c->pkts[i].buf = c->mem + (size_t)i * size;
		c->pkts[i].size = size;
		c->free_ids[i] = (uint16_t)(n - 1 - i);
	}
	c->n = c->free_n = n;
	c->id_base = id_base;
	c->size = size;
	return 0;
}

static void class_fini(struct pkt_class *c)
{
	free(c->pkts);
	free(c->free_ids);
	free(c->mem);
	memset(c, 0, sizeof(*c));
}

static struct pkt *class_alloc(struct pkt_class *c)
{
	if (c->free_n == 0)
		return NULL;
	struct pkt *p = &c->pkts[c->free_ids[--c->free_n]];
	p->next = NULL;
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->flags = 0;
	p->gso_size = 0;
	p->csum_start = 0;
	p->csum_off = 0;
	p->ip_tos = 0;
	p->ip_ttl = 0;
	return p;
}

/* Allocate n packets once. Calling it again with a pool in place is an error,
 * so that nobody silently loses packets that are still out. */
int pkt_pool_init(unsigned n)
{
	return class_init(&small_pool, n, 0, PKT_SIZE);
}

int pkt_pool_init_large(unsigned n_large)
{
	if (!small_pool.pkts)
		return -EINVAL;
	return class_init(&large_pool, n_large, small_pool.n, PKT_LARGE_SIZE);
}

void pkt_pool_fini(void)
{
	class_fini(&small_pool);
	class_fini(&large_pool);
}

struct pkt *pkt_alloc(void) { return class_alloc(&small_pool); }
struct pkt *pkt_alloc_large(void) { return class_alloc(&large_pool); }

int pkt_is_large(const struct pkt *p)
{
	return large_pool.pkts && p >= large_pool.pkts && p < large_pool.pkts + large_pool.n;
}

void pkt_free(struct pkt *p)
{
	if (!p)
		return;
	struct pkt_class *c = pkt_is_large(p) ? &large_pool : &small_pool;
	assert(p >= c->pkts && p < c->pkts + c->n);
	assert(c->free_n < c->n);
	c->free_ids[c->free_n++] = (uint16_t)(p->id - c->id_base);
}

unsigned pkt_pool_in_use(void) { return small_pool.n - small_pool.free_n; }
unsigned pkt_pool_size(void) { return small_pool.n; }
unsigned pkt_pool_large_in_use(void) { return large_pool.n - large_pool.free_n; }
unsigned pkt_pool_large_size(void) { return large_pool.n; }

struct pkt *pkt_by_id(uint16_t id)
{
	if (id < small_pool.n)
		return &small_pool.pkts[id];
	if (large_pool.pkts && id >= large_pool.id_base && id < large_pool.id_base + large_pool.n)
		return &large_pool.pkts[id - large_pool.id_base];
	return NULL;
}

void *pkt_push(struct pkt *p, size_t n)
{
	if ((size_t)(p->data - p->buf) < n)
		return NULL;
	p->data -= n;
	p->len += n;
	return p->data;
}

void *pkt_pull(struct pkt *p, size_t n)
{
	if (p->len < n)
		return NULL;
	uint8_t *old = p->data;
	p->data += n;
	p->len -= n;
	return old;
}

void *pkt_put(struct pkt *p, size_t n)
{
	if (pkt_tailroom(p) < n)
		return NULL;
	uint8_t *tail = p->data + p->len;
	p->len += n;
	return tail;
}

void pkt_trim(struct pkt *p, size_t len)
{
	if (len < p->len)
		p->len = (uint32_t)len;
}

size_t pkt_headroom(const struct pkt *p) { return (size_t)(p->data - p->buf); }
size_t pkt_tailroom(const struct pkt *p) { return p->size - pkt_headroom(p) - p->len; }

void pkt_queue_push(struct pkt_queue *q, struct pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->n++;
}

struct pkt *pkt_queue_pop(struct pkt_queue *q)
{
	struct pkt *p = q->head;
	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	p->next = NULL;
	return p;
}

void pkt_queue_purge(struct pkt_queue *q)
{
	struct pkt *p;
	while ((p = pkt_queue_pop(q)))
		pkt_free(p);
}

struct pkt *pkt_clone(const struct pkt *p)
{
	struct pkt *c = pkt_is_large(p) ? pkt_alloc_large() : pkt_alloc();
	if (!c)
		return NULL;
	c->data = c->buf + (p->data - p->buf);
	c->len = p->len;
	c->flags = p->flags;
	c->gso_size = p->gso_size;
	c->csum_start = p->csum_start;
	c->csum_off = p->csum_off;
	memcpy(c->data, p->data, p->len);
	return c;
}
