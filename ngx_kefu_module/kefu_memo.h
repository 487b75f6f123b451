/*
 * ngx_kefu: a memo of knowledge-base searches.
 *
 * Customer-service questions repeat: the same wording (often a tapped
 * suggestion or a welcome question) arrives thousands of times a day.
 * A search is a pure function of the knowledge base, the previous topic
 * and the question's bytes, so its hits can be kept and handed back
 * without ranking again.  Direct-mapped: a new entry replaces whatever
 * shared its slot.  Per worker; a reload brings new workers and an empty
 * memo, so it never outlives its knowledge base.
 */

#ifndef KEFU_MEMO_H
#define KEFU_MEMO_H

#include "kefu_core.h"
#include "kefu_kb.h"


#define KEFU_MEMO_QMAX      120     /* longer questions are not kept */
#define KEFU_MEMO_HITS      8


typedef struct kefu_memo_s  kefu_memo_t;


/* slots is rounded up to a power of two; NULL for want of memory */
kefu_memo_t *kefu_memo_create(kefu_alloc_t *a, size_t slots);

/* The kept hits of (kb, prev, q): their number (>= 0), or -1.  kb is
 * known by its address and its generation (learned questions merged):
 * a list ranked against another generation is never served. */
int kefu_memo_get(kefu_memo_t *m, const kefu_kb_t *kb, long prev,
    const unsigned char *q, size_t len, kefu_hit_t *hits, size_t k);

/* Keeps n hits (at most KEFU_MEMO_HITS) found for k asked. */
void kefu_memo_put(kefu_memo_t *m, const kefu_kb_t *kb, long prev,
    const unsigned char *q, size_t len, const kefu_hit_t *hits, int n,
    size_t k);

/* lookups and hits since creation */
void kefu_memo_stats(const kefu_memo_t *m, uint64_t *lookups,
    uint64_t *hits);

#endif /* KEFU_MEMO_H */
