/*
 * libFuzzer target: normaliser, tokeniser with synonyms, index search.
 * The first byte splits the input: synonym source | query.
 */

#include "kefu_core.h"
#include "kefu_text.h"
#include "kefu_index.h"
#include "fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     n, valid;
    long                    l;
    size_t                  cut, i, nt;
    kefu_str_t              terms[8];
    kefu_hit_t              hits[4];
    kefu_arena_t            arena;
    kefu_syn_t             *syn;
    kefu_tokens_t          *t;
    kefu_index_t           *idx;
    kefu_syn_pair_t         pair;
    kefu_search_ctx_t       ctx;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s;
    unsigned char          *out;

    if (size == 0) {
        return 0;
    }

    cut = 1 + (data[0] % 16 < size - 1 ? data[0] % 16 : size - 1);

    kefu_arena_init(&arena);

    out = kefu_alloc(&arena.allocator, size + 1);
    if (out == NULL) {
        kefu_arena_free(&arena);
        return 0;
    }

    valid = kefu_utf8_valid(data, size);
    l = kefu_text_normalize(data, size, out);

    /* the normaliser agrees with the validator and never grows text */
    if ((l < 0) == valid || l > (long) size) {
        __builtin_trap();
    }

    if (l >= 0 && !kefu_utf8_valid(out, (size_t) l)) {
        __builtin_trap();
    }

    pair.from.data = (unsigned char *) data + 1;
    pair.from.len = cut - 1;
    pair.to.data = (unsigned char *) "花呗";
    pair.to.len = 6;

    syn = kefu_syn_build(&arena.allocator, &pair, 1);
    t = kefu_tokens_create(&arena.allocator);

    if (syn != NULL && t != NULL
        && kefu_tokenize(syn, data + cut, size - cut, t) == KEFU_OK)
    {
        for (i = 0; i < t->ntoks; i++) {
            if ((size_t) t->toks[i].start + t->toks[i].len > t->ncps) {
                __builtin_trap();
            }
        }
    }

    /* a tiny index built from the input itself, then searched with it */
    b = kefu_index_builder_create(&arena.allocator, syn, NULL);

    if (b != NULL && valid) {
        (void) kefu_index_add(b, 0, data, size);
        (void) kefu_index_add(b, 1, (const unsigned char *) "怎么还款", 12);
        (void) kefu_index_add(b, 1, data + cut, size - cut);
        idx = kefu_index_build(b, &arena.allocator);

        if (idx != NULL) {
            s = kefu_search_scratch_create(&arena.allocator,
                                           kefu_index_ndocs(idx));
            memset(&ctx, 0, sizeof(ctx));
            ctx.text = data;
            ctx.len = cut;
            ctx.force = 1;

            if (s != NULL) {
                n = kefu_index_search(idx, s, data + cut, size - cut,
                                      kefu_utf8_valid(data, cut) ? &ctx
                                                                 : NULL,
                                      hits, 4);

                for (i = 0; n > 0 && i < (size_t) n; i++) {
                    if (!(hits[i].confidence >= 0
                          && hits[i].confidence <= 1))
                    {
                        __builtin_trap();
                    }

                    nt = kefu_index_matched_terms(idx, s, &hits[i], terms,
                                                  8);
                    (void) nt;
                }
            }
        }
    }

    kefu_arena_free(&arena);

    return 0;
}
