/*
 * libFuzzer target: the KB loader from a buffer, then a few searches and
 * intents on whatever loaded.
 */

#include "kefu_core.h"
#include "kefu_kb.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     n;
    char                    err[256];
    size_t                  i, nch, ch[3];
    kefu_hit_t              hits[4];
    kefu_kb_t              *kb;
    kefu_arena_t            arena;
    kefu_search_scratch_t  *s;
    static const char      *qs[] = {
        "怎么还款", "那怎么关闭呢", "被盗了!!", "hb", "", NULL
    };

    kefu_arena_init(&arena);

    kb = kefu_kb_load_buf(&arena.allocator, data, size, "fuzz.json", err,
                          sizeof(err));

    if (kb == NULL) {
        if (err[0] == '\0') {
            __builtin_trap();       /* every failure explains itself */
        }

        kefu_arena_free(&arena);
        return 0;
    }

    s = kefu_kb_scratch_create(&arena.allocator, kb);

    for (i = 0; s != NULL && qs[i] != NULL; i++) {
        n = kefu_kb_search(kb, s, (const unsigned char *) qs[i],
                           strlen(qs[i]), (long) i - 1, hits, 4);
        if (n > 0) {
            (void) kefu_decide(hits, (size_t) n, 0.6, 0.35, ch, &nch);
            (void) kefu_kb_answer(kb, hits[0].faq,
                                  kefu_kb_emotion(kefu_kb_intents(kb,
                                      (const unsigned char *) qs[i],
                                      strlen(qs[i]))));
        }
    }

    kefu_arena_free(&arena);

    return 0;
}
