/*
 * ngx_kefu: shared definitions of the nginx-free core.
 *
 * The core never calls nginx.  It takes memory through kefu_alloc_t, which
 * the glue backs with an nginx pool and the unit tests with kefu_arena_t.
 * Allocations are never freed one by one: the owner drops the whole pool.
 */

#ifndef KEFU_CORE_H
#define KEFU_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


#define KEFU_VERSION  "0.1.0"

#define KEFU_OK        0
#define KEFU_ERROR    -1


typedef struct {
    void   *(*alloc)(void *ctx, size_t size);   /* returns NULL on failure */
    void    *ctx;
} kefu_alloc_t;


typedef struct {
    size_t          len;
    unsigned char  *data;
} kefu_str_t;


static inline void *
kefu_alloc(kefu_alloc_t *a, size_t size)
{
    return a->alloc(a->ctx, size);
}


static inline void *
kefu_calloc(kefu_alloc_t *a, size_t size)
{
    void  *p;

    p = a->alloc(a->ctx, size);
    if (p != NULL) {
        memset(p, 0, size);
    }

    return p;
}


/* A malloc-backed arena for code that runs without nginx (tests, tools). */

typedef struct kefu_arena_block_s  kefu_arena_block_t;

typedef struct {
    kefu_arena_block_t  *blocks;
    unsigned char       *pos;
    unsigned char       *end;
    size_t               total;     /* bytes obtained from malloc */
    kefu_alloc_t         allocator;
} kefu_arena_t;


void kefu_arena_init(kefu_arena_t *arena);
void kefu_arena_free(kefu_arena_t *arena);


#endif /* KEFU_CORE_H */
