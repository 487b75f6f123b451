/*
 * The search memo: hands back exactly what the search found, keyed by
 * knowledge base, previous topic and the question's bytes.
 */

#include <stdio.h>
#include <stdlib.h>

#include "kefu_kb.h"
#include "kefu_memo.h"
#include "tap.h"


static int
same_hits(const kefu_hit_t *a, int na, const kefu_hit_t *b, int nb)
{
    return na == nb
           && memcmp(a, b, (size_t) (na > 0 ? na : 0) * sizeof(kefu_hit_t))
              == 0;
}


int
main(void)
{
    int                     n, got;
    char                    err[256];
    size_t                  i;
    uint64_t                lookups, found;
    kefu_kb_t              *kb;
    kefu_arena_t            arena;
    kefu_memo_t            *m;
    kefu_hit_t              hits[8], memo[8];
    kefu_search_scratch_t  *s;
    unsigned char           q[200];

    static const char      *qs[] = {
        "蚁花怎么开通", "那怎么关闭呢", "提现多久到账", "怎么还款",
        "我的手机丢了怎么办", "今天天气怎么样"
    };

    kefu_arena_init(&arena);

    kb = kefu_kb_load(&arena.allocator, "demo/kb.json", err, sizeof(err));
    ok(kb != NULL, "demo KB loads (%s)", kb ? "" : err);
    if (kb == NULL) {
        return 1;
    }

    s = kefu_kb_scratch_create(&arena.allocator, kb);
    m = kefu_memo_create(&arena.allocator, 60);
    ok(s != NULL && m != NULL, "scratch and memo (60 slots -> 64)");

    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        const unsigned char  *p = (const unsigned char *) qs[i];
        size_t                len = strlen(qs[i]);

        ok(kefu_memo_get(m, kb, -1, p, len, memo, 8) == -1,
           "\"%s\": not kept yet", qs[i]);
        n = kefu_kb_search(kb, s, p, len, -1, hits, 8);
        kefu_memo_put(m, kb, -1, p, len, hits, n, 8);
        got = kefu_memo_get(m, kb, -1, p, len, memo, 8);
        ok(n >= 0 && same_hits(hits, n, memo, got),
           "\"%s\": the memo hands back the search's %d hits", qs[i], n);
    }

    /* the key is the whole of (kb, prev, bytes) */
    n = kefu_kb_search(kb, s, (const unsigned char *) "怎么还款",
                       strlen("怎么还款"), -1, hits, 8);
    ok(kefu_memo_get(m, kb, 3, (const unsigned char *) "怎么还款",
                     strlen("怎么还款"), memo, 8) == -1,
       "another previous topic is another search");
    ok(kefu_memo_get(m, (const void *) &arena, -1,
                     (const unsigned char *) "怎么还款", strlen("怎么还款"),
                     memo, 8) == -1,
       "another knowledge base is another search");
    ok(kefu_memo_get(m, kb, -1, (const unsigned char *) "怎么还",
                     strlen("怎么还"), memo, 8) == -1,
       "a prefix is another question");

    /* fewer asked: served from a longer list; more asked: only when the
     * kept list was all there was */
    got = kefu_memo_get(m, kb, -1, (const unsigned char *) "怎么还款",
                        strlen("怎么还款"), memo, 2);
    ok(got == (n < 2 ? n : 2) && same_hits(hits, got, memo, got),
       "k = 2 from a list kept for 8");
    kefu_memo_put(m, kb, -1, (const unsigned char *) "怎么还款",
                  strlen("怎么还款"), hits, 2, 2);
    ok(kefu_memo_get(m, kb, -1, (const unsigned char *) "怎么还款",
                     strlen("怎么还款"), memo, 8) == -1,
       "k = 8 is not served from a full list kept for 2");
    kefu_memo_put(m, kb, -1, (const unsigned char *) "x", 1, hits, 1, 3);
    ok(kefu_memo_get(m, kb, -1, (const unsigned char *) "x", 1, memo, 8)
       == 1, "but is from a list that ran out before its k");

    /* long questions are not kept */
    memset(q, 'a', sizeof(q));
    kefu_memo_put(m, kb, -1, q, KEFU_MEMO_QMAX + 1, hits, n, 8);
    ok(kefu_memo_get(m, kb, -1, q, KEFU_MEMO_QMAX + 1, memo, 8) == -1,
       "a question over %d bytes is not kept", KEFU_MEMO_QMAX);
    kefu_memo_put(m, kb, -1, q, KEFU_MEMO_QMAX, hits, n, 8);
    ok(kefu_memo_get(m, kb, -1, q, KEFU_MEMO_QMAX, memo, 8) == n,
       "one of %d bytes is", KEFU_MEMO_QMAX);

    /* a full memo: every answer is still exactly the search's */
    for (i = 0; i < 1000; i++) {
        int  len = snprintf((char *) q, sizeof(q), "问题%zu怎么办", i % 300);

        got = kefu_memo_get(m, kb, -1, q, (size_t) len, memo, 8);
        n = kefu_kb_search(kb, s, q, (size_t) len, -1, hits, 8);

        if (got >= 0 && !same_hits(hits, n, memo, got)) {
            break;
        }

        kefu_memo_put(m, kb, -1, q, (size_t) len, hits, n, 8);
    }
    ok(i == 1000, "1000 lookups over 300 questions in 64 slots: no wrong "
       "hits");

    kefu_memo_stats(m, &lookups, &found);
    ok(found > 0 && found < lookups, "stats: %llu of %llu lookups found",
       (unsigned long long) found, (unsigned long long) lookups);

    kefu_arena_free(&arena);

    return done_testing();
}
