/* The default memory of the stack and the packet pool (struct nst_mem_ops
 * with zero members): calloc and free. The only libc allocation in stack/. */
#include <stdlib.h>
#include "stack.h"

static void *mem_calloc_zalloc(void *ctx, size_t size)
{
	(void)ctx;
	return calloc(1, size);
}

static void mem_calloc_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}

const struct nst_mem_ops nst_mem_calloc = { mem_calloc_zalloc, mem_calloc_free, NULL, NULL };
