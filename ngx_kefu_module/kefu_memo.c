/*
 * ngx_kefu: a memo of knowledge-base searches (see kefu_memo.h).
 */

#include "kefu_memo.h"


typedef struct {
    uint64_t        hash;           /* 0: empty */
    const void     *kb;
    uint64_t        gen;            /* kb->generation */
    long            prev;
    uint32_t        len;
    uint32_t        k;              /* hits asked for */
    int32_t         n;              /* hits found */
    kefu_hit_t      hits[KEFU_MEMO_HITS];
    unsigned char   q[KEFU_MEMO_QMAX];
} kefu_memo_entry_t;


struct kefu_memo_s {
    kefu_memo_entry_t  *slots;
    size_t              mask;
    uint64_t            lookups;
    uint64_t            found;
};


static uint64_t kefu_memo_hash(const void *kb, long prev,
    const unsigned char *q, size_t len);


kefu_memo_t *
kefu_memo_create(kefu_alloc_t *a, size_t slots)
{
    size_t        n;
    kefu_memo_t  *m;

    for (n = 1; n < slots; n <<= 1) {
        /* void */
    }

    m = kefu_calloc(a, sizeof(kefu_memo_t));
    if (m == NULL) {
        return NULL;
    }

    m->slots = kefu_calloc(a, n * sizeof(kefu_memo_entry_t));
    if (m->slots == NULL) {
        return NULL;
    }

    m->mask = n - 1;

    return m;
}


int
kefu_memo_get(kefu_memo_t *m, const kefu_kb_t *kb, long prev,
    const unsigned char *q, size_t len, kefu_hit_t *hits, size_t k)
{
    uint64_t            h;
    kefu_memo_entry_t  *e;

    if (len > KEFU_MEMO_QMAX) {
        return -1;
    }

    m->lookups++;

    h = kefu_memo_hash(kb, prev, q, len);
    e = &m->slots[h & m->mask];

    /* a hit found with fewer asked for may lack what k wants */
    if (e->hash != h || e->kb != kb || e->gen != kb->generation
        || e->prev != prev || e->len != len
        || (e->k < k && (size_t) e->n == e->k)
        || memcmp(e->q, q, len) != 0)
    {
        return -1;
    }

    m->found++;

    if ((size_t) e->n < k) {
        k = (size_t) e->n;
    }

    memcpy(hits, e->hits, k * sizeof(kefu_hit_t));

    return (int) k;
}


void
kefu_memo_put(kefu_memo_t *m, const kefu_kb_t *kb, long prev,
    const unsigned char *q, size_t len, const kefu_hit_t *hits, int n,
    size_t k)
{
    uint64_t            h;
    kefu_memo_entry_t  *e;

    if (len > KEFU_MEMO_QMAX || n < 0 || k > KEFU_MEMO_HITS) {
        return;
    }

    h = kefu_memo_hash(kb, prev, q, len);
    e = &m->slots[h & m->mask];

    e->hash = h;
    e->kb = kb;
    e->gen = kb->generation;
    e->prev = prev;
    e->len = (uint32_t) len;
    e->k = (uint32_t) k;
    e->n = n;
    memcpy(e->hits, hits, (size_t) n * sizeof(kefu_hit_t));
    memcpy(e->q, q, len);
}


void
kefu_memo_stats(const kefu_memo_t *m, uint64_t *lookups, uint64_t *hits)
{
    *lookups = m->lookups;
    *hits = m->found;
}


/* FNV-1a over the question, then the knowledge base and the topic */
static uint64_t
kefu_memo_hash(const void *kb, long prev, const unsigned char *q,
    size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ q[i]) * 1099511628211ULL;
    }

    h = (h ^ (uint64_t) (uintptr_t) kb) * 1099511628211ULL;
    h = (h ^ (uint64_t) prev) * 1099511628211ULL;

    /* 0 marks an empty slot */
    return h ? h : 1;
}
