/* The packet pool: allocated once, a free list of indices, leak accounting.
 *
 * All of its state is one block (struct pkt_pools) and the arrays it points
 * to, allocated through the nst_mem_ops given at init; the only file static
 * is the pointer to it, so a process that maps the same memory at the same
 * address can take the pool over (pkt_pool_attach). */
#include <errno.h>
#include <string.h>
#include <assert.h>
#include "pkt.h"
#include "stack.h"

/* One class of buffers: descriptors, their memory, a stack of free indices. */
struct pkt_class {
	struct pkt *pkts;
	uint8_t    *mem;
	uint16_t   *free_ids;   /* indices into pkts */
	unsigned    n, free_n;
	unsigned    inited;     /* descriptors [0, inited) made; the rest untouched */
	unsigned    id_base;    /* pkts[i].id == id_base + i */
	uint32_t    size;
};

struct pkt_pools {
	struct nst_mem_ops mem; /* where the pools and their arrays came from */
	struct pkt_class   small, large;
};

static struct pkt_pools *pools;

/* Give back c's arrays (the sizes class_init asked for), c zeroed. */
static void class_fini(const struct nst_mem_ops *m, struct pkt_class *c)
{
	if (c->pkts)
		m->free(m->ctx, c->pkts, c->n * sizeof(*c->pkts));
	if (c->free_ids)
		m->free(m->ctx, c->free_ids, c->n * sizeof(*c->free_ids));
	if (c->mem)
		m->free(m->ctx, c->mem, (size_t)c->n * c->size);
	memset(c, 0, sizeof(*c));
}

static int class_init(const struct nst_mem_ops *m, struct pkt_class *c, unsigned n,
		      unsigned id_base, uint32_t size)
{
	if (n == 0 || id_base + n > 65535)
		return -EINVAL;
	if (c->pkts)
		return -EBUSY;
	c->n = n;
	c->size = size;
	c->pkts = m->zalloc(m->ctx, n * sizeof(*c->pkts));
	c->free_ids = m->zalloc(m->ctx, n * sizeof(*c->free_ids));
	/* calloc of a large block maps zero pages: untouched buffers cost no RSS */
	c->mem = m->zalloc(m->ctx, (size_t)n * size);
	if (!c->pkts || !c->free_ids || !c->mem) {
		class_fini(m, c);
		return -ENOMEM;
	}
	c->free_n = 0;
	c->inited = 0;
	c->id_base = id_base;
	return 0;
}

/* A packet: one given back, else the next never used. Descriptors are made
 * at their first use, so a large pool costs nothing until it is needed
 * (the first socket of a process pays no page fault per descriptor). */
static struct pkt *class_alloc(struct pkt_class *c)
{
	struct pkt *p;
	if (c->free_n) {
		p = &c->pkts[c->free_ids[--c->free_n]];
	} else if (c->inited < c->n) {
		unsigned i = c->inited++;
		p = &c->pkts[i];
		p->id = (uint16_t)(c->id_base + i);
		p->buf = c->mem + (size_t)i * c->size;
		p->size = c->size;
	} else {
		return NULL;
	}
	p->next = NULL;
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->flags = 0;
	p->gso_size = 0;
	p->csum_start = 0;
	p->csum_off = 0;
	p->ip_tos = 0;
	p->ip_ttl = 0;
	p->dev_owner = 0;
	return p;
}

/* Allocate n_small small and n_large (0: none) large packets, and the state
 * that keeps them, from m (NULL: calloc/free). Calling it again with a pool
 * in place is an error (-EBUSY), so that nobody silently loses packets that
 * are still out. */
int pkt_pool_init_mem(unsigned n_small, unsigned n_large, const struct nst_mem_ops *m)
{
	if (pools)
		return -EBUSY;
	const struct nst_mem_ops mem = m && m->zalloc ? *m : nst_mem_calloc;
	if (!mem.free)
		return -EINVAL;
	struct pkt_pools *pp = mem.zalloc(mem.ctx, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->mem = mem;
	int err = class_init(&mem, &pp->small, n_small, 0, PKT_SIZE);
	if (!err && n_large)
		err = class_init(&mem, &pp->large, n_large, n_small, PKT_LARGE_SIZE);
	if (err) {
		class_fini(&mem, &pp->small);
		mem.free(mem.ctx, pp, sizeof(*pp));
		return err;
	}
	pools = pp;
	return 0;
}

int pkt_pool_init(unsigned n)
{
	return pkt_pool_init_mem(n, 0, NULL);
}

/* The large class added to a pool made without one. */
int pkt_pool_init_large(unsigned n_large)
{
	if (!pools)
		return -EINVAL;
	return class_init(&pools->mem, &pools->large, n_large, pools->small.n, PKT_LARGE_SIZE);
}

/* Everything pkt_pool_init_mem allocated, given back to where it came from. */
void pkt_pool_fini(void)
{
	struct pkt_pools *pp = pools;
	if (!pp)
		return;
	const struct nst_mem_ops mem = pp->mem;
	class_fini(&mem, &pp->small);
	class_fini(&mem, &pp->large);
	mem.free(mem.ctx, pp, sizeof(*pp));
	pools = NULL;
}

void *pkt_pool_state(void) { return pools; }

/* Use the pool state another process made (pkt_pool_state there), in memory
 * mapped here at the same address: it holds pointers. NULL: no pool. */
void pkt_pool_attach(void *state) { pools = state; }

struct pkt *pkt_alloc(void) { return pools ? class_alloc(&pools->small) : NULL; }
struct pkt *pkt_alloc_large(void) { return pools ? class_alloc(&pools->large) : NULL; }

int pkt_is_large(const struct pkt *p)
{
	const struct pkt_class *c = pools ? &pools->large : NULL;
	return c && c->pkts && p >= c->pkts && p < c->pkts + c->n;
}

void pkt_free(struct pkt *p)
{
	if (!p)
		return;
	assert(pools);
	struct pkt_class *c = pkt_is_large(p) ? &pools->large : &pools->small;
	assert(p >= c->pkts && p < c->pkts + c->n);
	assert(c->free_n < c->inited);
	p->dev_owner = 0;
	c->free_ids[c->free_n++] = (uint16_t)(p->id - c->id_base);
}

static unsigned class_reclaim(struct pkt_class *c, int32_t owner)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->inited; i++)
		if (c->pkts[i].dev_owner == owner) {
			pkt_free(&c->pkts[i]);
			n++;
		}
	return n;
}

unsigned pkt_pool_reclaim(int32_t owner)
{
	if (!pools || owner == 0)
		return 0;
	return class_reclaim(&pools->small, owner) + class_reclaim(&pools->large, owner);
}

unsigned pkt_pool_in_use(void) { return pools ? pools->small.inited - pools->small.free_n : 0; }
unsigned pkt_pool_size(void) { return pools ? pools->small.n : 0; }
unsigned pkt_pool_large_in_use(void) { return pools ? pools->large.inited - pools->large.free_n : 0; }
unsigned pkt_pool_large_size(void) { return pools ? pools->large.n : 0; }

struct pkt *pkt_by_id(uint16_t id)
{
	if (!pools)
		return NULL;
	const struct pkt_class *s = &pools->small, *l = &pools->large;
	if (id < s->n)
		return &s->pkts[id];
	if (l->pkts && id >= l->id_base && id < l->id_base + l->n)
		return &l->pkts[id - l->id_base];
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
