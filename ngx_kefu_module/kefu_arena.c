/*
 * ngx_kefu: malloc-backed arena for the core outside nginx.
 */

#include <stdlib.h>

#include "kefu_core.h"


#define KEFU_ARENA_BLOCK  (64 * 1024)
#define KEFU_ARENA_ALIGN  16


struct kefu_arena_block_s {
    kefu_arena_block_t  *next;
    /* payload follows, aligned by the allocation itself */
};


static void *
kefu_arena_alloc(void *ctx, size_t size)
{
    size_t               bsize, hdr;
    unsigned char       *p;
    kefu_arena_t        *arena;
    kefu_arena_block_t  *b;

    arena = ctx;
    size = (size + KEFU_ARENA_ALIGN - 1) & ~(size_t) (KEFU_ARENA_ALIGN - 1);

    if (size == 0) {
        size = KEFU_ARENA_ALIGN;
    }

    if ((size_t) (arena->end - arena->pos) >= size) {
        p = arena->pos;
        arena->pos += size;
        return p;
    }

    hdr = (sizeof(kefu_arena_block_t) + KEFU_ARENA_ALIGN - 1)
          & ~(size_t) (KEFU_ARENA_ALIGN - 1);

    /* large requests get a block of their own and keep the current one */
    bsize = size > KEFU_ARENA_BLOCK / 4 ? size : KEFU_ARENA_BLOCK;

    if (bsize > (size_t) -1 - hdr) {
        return NULL;
    }

    b = malloc(hdr + bsize);
    if (b == NULL) {
        return NULL;
    }

    b->next = arena->blocks;
    arena->blocks = b;
    arena->total += hdr + bsize;

    p = (unsigned char *) b + hdr;

    if (bsize == KEFU_ARENA_BLOCK) {
        arena->pos = p + size;
        arena->end = p + bsize;
    }

    return p;
}


void
kefu_arena_init(kefu_arena_t *arena)
{
    arena->blocks = NULL;
    arena->pos = NULL;
    arena->end = NULL;
    arena->total = 0;
    arena->allocator.alloc = kefu_arena_alloc;
    arena->allocator.ctx = arena;
}


void
kefu_arena_free(kefu_arena_t *arena)
{
    kefu_arena_block_t  *b, *next;

    for (b = arena->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    kefu_arena_init(arena);
}
