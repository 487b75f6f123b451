/*
 * Unit tests: index build, ranking, context, matched terms, decisions.
 */

#include <stdlib.h>

#include "tap.h"
#include "kefu_core.h"
#include "kefu_text.h"
#include "kefu_index.h"


static const char  *docs[][3] = {
    { "怎么修改登录密码", "登录密码怎么改", NULL },
    { "怎么修改支付密码", NULL, NULL },
    { "信用卡怎么还款", "如何给信用卡还钱", NULL },
    { "转账手续费是多少", NULL, NULL },
    { "转账多久能到账", "转出去的钱什么时候到", NULL },
    { "怎么开通指纹支付", NULL, NULL },
    { "怎么关闭指纹支付", NULL, NULL },
    { "红包过期了怎么办", NULL, NULL },
};


static int
top(const kefu_index_t *idx, kefu_search_scratch_t *s, const char *q,
    kefu_hit_t *h, size_t k)
{
    return kefu_index_search(idx, s, (const unsigned char *) q, strlen(q),
                             NULL, h, k);
}


int
main(void)
{
    int                     n, i, ndocs;
    size_t                  j, nt, ch[3], nch;
    float                   last;
    double                  w[4];
    kefu_str_t              terms[16];
    kefu_hit_t              h[8], h2[8];
    kefu_arena_t            tmp, arena;
    kefu_index_t           *idx;
    kefu_search_ctx_t       ctx;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s, *small;

    kefu_arena_init(&tmp);
    kefu_arena_init(&arena);

    b = kefu_index_builder_create(&tmp.allocator, NULL, NULL);
    ok(b != NULL, "builder");

    ndocs = 0;

    for (i = 0; i < (int) (sizeof(docs) / sizeof(docs[0])); i++) {
        for (j = 0; j < 3 && docs[i][j] != NULL; j++) {
            ok(kefu_index_add(b, (uint32_t) i,
                              (const unsigned char *) docs[i][j],
                              strlen(docs[i][j])) == KEFU_OK,
               "add %d/%zu", i, j);
            ndocs++;
        }
    }

    ok(kefu_index_add(b, 0, (const unsigned char *) "x", 1) == KEFU_ERROR,
       "faq numbers must not go back");
    ok(kefu_index_add(b, 9, (const unsigned char *) "\xff", 1)
       == KEFU_ERROR, "invalid utf-8 rejected");

    idx = kefu_index_build(b, &arena.allocator);
    kefu_arena_free(&tmp);

    ok(idx != NULL, "built");
    is_int(kefu_index_ndocs(idx), ndocs, "documents");
    is_int(kefu_index_nfaqs(idx), 8, "faqs");
    ok(kefu_index_memory(idx) > 0, "memory accounted");

    s = kefu_search_scratch_create(&arena.allocator, kefu_index_ndocs(idx));
    ok(s != NULL, "scratch");

    n = top(idx, s, "信用卡怎么还款", h, 5);
    ok(n >= 1 && h[0].faq == 2, "exact question ranks first");
    ok(n >= 1 && h[0].score > 0.99f, "exact question scores 1");
    ok(n >= 1 && h[0].exact == 1, "exact match flagged");
    ok(n >= 2 && h[1].exact == 0, "runner-up is not exact");
    n = top(idx, s, "信用卡怎麼還款!", h, 5);
    ok(n >= 1 && h[0].exact == 1, "exact after normalisation");

    n = top(idx, s, "怎么给信用卡还钱", h, 5);
    ok(n >= 1 && h[0].faq == 2, "paraphrase finds its FAQ");
    ok(n >= 1 && h[0].exact == 0, "a paraphrase is not exact");

    n = top(idx, s, "登錄密碼怎麼改", h, 5);
    ok(n >= 1 && h[0].faq == 0 && h[0].doc == 1,
       "traditional query finds the paraphrase variant");

    n = top(idx, s, "支付密码怎么修改", h, 5);
    ok(n >= 2 && h[0].faq == 1, "word order change");

    for (i = 1, last = h[0].score; i < n; i++) {
        if (h[i].score > last) {
            break;
        }

        last = h[i].score;
    }

    is_int(i, n, "hits sorted by score");

    for (i = 0; i < n; i++) {
        for (j = 0; j < (size_t) i; j++) {
            if (h[j].faq == h[i].faq) {
                break;
            }
        }

        if (j < (size_t) i) {
            break;
        }
    }

    is_int(i, n, "one hit per FAQ");

    /* confidence: closer paraphrases are more confident */
    n = top(idx, s, "转账多久能到账", h, 3);
    ok(n >= 1 && h[0].faq == 4 && h[0].confidence >= 0.6f,
       "exact match is confident (%.3f)", n > 0 ? h[0].confidence : 0);
    last = n > 0 ? h[0].confidence : 0;
    n = top(idx, s, "转账要多久", h, 3);
    ok(n >= 1 && h[0].faq == 4 && h[0].confidence < last,
       "looser paraphrase is less confident (%.3f)",
       n > 0 ? h[0].confidence : 0);

    for (i = 0; i < n; i++) {
        if (h[i].confidence < 0 || h[i].confidence > 1) {
            break;
        }
    }

    is_int(i, n, "confidence within 0..1");

    /* out of domain */
    n = top(idx, s, "哈哈", h, 3);
    ok(n == 0 || h[0].confidence < 0.35f, "laughter falls back");
    n = top(idx, s, "asdf", h, 3);
    ok(n == 0, "unknown latin word finds nothing");
    n = top(idx, s, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", h, 3);
    is_int(n, 0, "emoji only finds nothing");
    n = top(idx, s, "今天天气怎么样", h, 3);
    ok(n == 0 || h[0].confidence < 0.35f, "weather question falls back");
    ok(top(idx, s, "\xe4\xb8", h, 3) == KEFU_ERROR, "invalid utf-8 query");

    /* matched terms of the best variant */
    n = top(idx, s, "信用卡怎么还", h, 3);
    nt = n > 0 ? kefu_index_matched_terms(idx, s, &h[0], terms, 16) : 0;

    for (j = 0; j < nt; j++) {
        if (terms[j].len == 6 && memcmp(terms[j].data, "还款", 6) == 0) {
            break;
        }
    }

    ok(nt >= 3 && j == nt, "matched terms (%zu) exclude unmatched ones", nt);

    for (j = 0; j < nt; j++) {
        if (terms[j].len == 9 && memcmp(terms[j].data, "信用卡", 9) == 0) {
            break;
        }

        if (terms[j].len == 6 && memcmp(terms[j].data, "信用", 6) == 0) {
            break;
        }
    }

    ok(j < nt, "matched terms include a shared bigram");

    /* context: an elliptic follow-up stays in the previous topic */
    memset(&ctx, 0, sizeof(ctx));
    ctx.text = (const unsigned char *) docs[5][0];
    ctx.len = strlen(docs[5][0]);

    n = kefu_index_search(idx, s, (const unsigned char *) "那怎么关闭呢",
                          strlen("那怎么关闭呢"), &ctx, h, 3);
    ok(n >= 1 && h[0].faq == 6, "follow-up resolved in context");

    n = top(idx, s, "那怎么关闭呢", h2, 3);
    ok(n >= 1, "same query without context still answers");

    /* the context never stands in for a query that says nothing itself */
    n = kefu_index_search(idx, s, (const unsigned char *) "哈哈",
                          strlen("哈哈"), &ctx, h, 3);
    ok(n == 0 || h[0].confidence < 0.05f,
       "laughter after a topic finds nothing (%d, %.3f)", n,
       n > 0 ? h[0].confidence : 0);
    n = kefu_index_search(idx, s, (const unsigned char *) "asdf", 4, &ctx,
                          h, 3);
    is_int(n, 0, "unknown word after a topic finds nothing");
    n = kefu_index_search(idx, s, (const unsigned char *) "关闭呢",
                          strlen("关闭呢"), &ctx, h, 3);
    ok(n >= 1 && h[0].faq == 6 && h[0].coverage > 0.3f,
       "a follow-up with its own content word uses the context");

    /* the same inputs rank the same */
    n = top(idx, s, "转账手续费", h, 5);
    i = top(idx, s, "转账手续费", h2, 5);
    ok(n == i && memcmp(h, h2, n * sizeof(kefu_hit_t)) == 0,
       "deterministic");

    /* scratch too small for the index */
    small = kefu_search_scratch_create(&arena.allocator, 2);
    ok(kefu_index_search(idx, small, (const unsigned char *) "转账", 6, NULL,
                         h, 3) == KEFU_ERROR, "small scratch refused");

    /* decisions */
    memset(h, 0, sizeof(h));
    h[0].confidence = 0.9f;
    h[1].confidence = 0.1f;
    is_int(kefu_decide(h, 2, 0.6, 0.35, ch, &nch), KEFU_DECIDE_ANSWER,
           "confident and clear: answer");
    h[1].confidence = 0.85f;
    is_int(kefu_decide(h, 2, 0.6, 0.35, ch, &nch), KEFU_DECIDE_CLARIFY,
           "runner-up too close: clarify");
    is_int(nch, 2, "two choices");
    h[0].confidence = 0.4f;
    h[1].confidence = 0.1f;
    h[2].confidence = 0.05f;
    is_int(kefu_decide(h, 3, 0.6, 0.35, ch, &nch), KEFU_DECIDE_CLARIFY,
           "between thresholds: clarify");
    is_int(nch, 3, "three choices");
    h[0].confidence = 0.2f;
    h[1].confidence = 0.1f;
    h[2].confidence = 0.01f;
    is_int(kefu_decide(h, 3, 0.6, 0.35, ch, &nch), KEFU_DECIDE_FALLBACK,
           "low: fallback");
    is_int(kefu_decide(h, 0, 0.6, 0.35, ch, &nch), KEFU_DECIDE_FALLBACK,
           "no hits: fallback");
    h[0].confidence = 0.2f;
    is_int(kefu_decide(h, 3, 0.6, 0.1, ch, &nch), KEFU_DECIDE_CLARIFY,
           "a tenant's lower threshold clarifies");

    /* an exact match answers despite a close sibling, unless it ties */
    h[0].confidence = 0.55f;
    h[1].confidence = 0.5f;
    h[0].exact = 1;
    is_int(kefu_decide(h, 3, 0.6, 0.35, ch, &nch), KEFU_DECIDE_ANSWER,
           "exact wording answers");
    h[1].exact = 1;
    is_int(kefu_decide(h, 3, 0.6, 0.35, ch, &nch), KEFU_DECIDE_CLARIFY,
           "two FAQs with the same wording: clarify");
    h[0].exact = 0;
    h[1].exact = 0;
    is_int(kefu_decide(h, 3, 0.6, 0.35, ch, &nch), KEFU_DECIDE_CLARIFY,
           "without the exact match: clarify");

    /* too few paraphrases to calibrate on: the shipped model */
    ok(kefu_index_calibration(idx, w) == 0 && w[0] < -5 && w[1] > 0,
       "small index keeps the shipped confidence model");

    kefu_arena_free(&arena);

    return done_testing();
}
