/* The packet pool: allocated once, a free list of indices, leak accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include "pkt.h"

static struct pkt *pool;        /* pool[0..pool_n) */
static uint16_t   *free_ids;    /* stack of free indices */
static unsigned    pool_n, free_n;

/* Allocate n packets once. Calling it again with a pool in place is an error,
 * so that nobody silently loses packets that are still out. */
int pkt_pool_init(unsigned n)
{
	if (n == 0 || n > 65535)
		return -EINVAL;
	if (pool)
		return -EBUSY;
	pool = calloc(n, sizeof(*pool));
	free_ids = calloc(n, sizeof(*free_ids));
	if (!pool || !free_ids) {
		free(pool);
		free(free_ids);
		pool = NULL;
		free_ids = NULL;
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		pool[i].id = (uint16_t)i;
		free_ids[i] = (uint16_t)(n - 1 - i);
	}
	pool_n = free_n = n;
	return 0;
}

void pkt_pool_fini(void)
{
	free(pool);
	free(free_ids);
	pool = NULL;
	free_ids = NULL;
	pool_n = free_n = 0;
}

struct pkt *pkt_alloc(void)
{
	if (free_n == 0)
		return NULL;
	struct pkt *p = &pool[free_ids[--free_n]];
	p->next = NULL;
	p->data = p->buf + PKT_HEADROOM;
	p->len = 0;
	p->flags = 0;
	return p;
}

void pkt_free(struct pkt *p)
{
	if (!p)
		return;
	assert(p >= pool && p < pool + pool_n);
	assert(free_n < pool_n);
	free_ids[free_n++] = p->id;
}

unsigned pkt_pool_in_use(void) { return pool_n - free_n; }
unsigned pkt_pool_size(void) { return pool_n; }

struct pkt *pkt_by_id(uint16_t id)
{
	return id < pool_n ? &pool[id] : NULL;
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
		p->len = (uint16_t)len;
}

size_t pkt_headroom(const struct pkt *p) { return (size_t)(p->data - p->buf); }
size_t pkt_tailroom(const struct pkt *p) { return PKT_SIZE - pkt_headroom(p) - p->len; }

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
