/*
 * Learned similar questions: the merged KB answers them, the memo never
 * serves a list of another generation, and the exported file reloads
 * into a KB that ranks every probe question exactly the same.
 */

#include <stdio.h>
#include <stdlib.h>

#include "kefu_kb.h"
#include "kefu_learn.h"
#include "kefu_memo.h"
#include "tap.h"


#define NQ  512


static size_t
probe(const char *path, char qs[][160], char ids[][64])
{
    char    line[512], *t1, *t2, *t3;
    FILE   *f;
    size_t  n;

    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }

    n = 0;

    while (n < NQ && fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }

        t1 = strchr(line, '\t');
        t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
        if (t3 == NULL || t2 - t1 - 1 >= 160 || t3 - t2 - 1 >= 64) {
            continue;
        }

        memcpy(qs[n], t1 + 1, t2 - t1 - 1);
        qs[n][t2 - t1 - 1] = '\0';
        memcpy(ids[n], t2 + 1, t3 - t2 - 1);
        ids[n][t3 - t2 - 1] = '\0';
        n++;
    }

    fclose(f);

    return n;
}


/* hits of every question (and of the KB's own questions) are identical */
static int
same_rankings(const kefu_kb_t *a, const kefu_kb_t *b,
    kefu_search_scratch_t *s, char qs[][160], size_t nq)
{
    int          na, nb;
    size_t       i, n;
    kefu_hit_t   ha[8], hb[8];
    const char  *q;

    n = nq + a->nfaqs;

    for (i = 0; i < n; i++) {
        q = i < nq ? qs[i] : (const char *) a->faqs[i - nq].question.data;

        na = kefu_kb_search(a, s, (const unsigned char *) q, strlen(q), -1,
                            ha, 8);
        nb = kefu_kb_search(b, s, (const unsigned char *) q, strlen(q), -1,
                            hb, 8);

        if (na != nb || memcmp(ha, hb, (size_t) (na > 0 ? na : 0)
                                        * sizeof(kefu_hit_t)) != 0)
        {
            printf("# differs: \"%s\"\n", q);
            return 0;
        }
    }

    return 1;
}


int
main(void)
{
    int                     n;
    char                    err[256];
    long                    f, faq;
    size_t                  i, nq, nl, nkept;
    kefu_kb_t              *kb, *merged, *again, *merged2, *none;
    kefu_buf_t              out;
    kefu_hit_t              hits[8];
    kefu_memo_t            *m;
    kefu_arena_t            arena;
    kefu_learned_t          l[NQ];
    kefu_search_scratch_t  *s;
    unsigned char           kept[NQ], k1[16], k2[16], k3[16];
    static char             qs[NQ][160], ids[NQ][64];

    kefu_arena_init(&arena);

    kb = kefu_kb_load(&arena.allocator, "demo/kb.json", err, sizeof(err));
    ok(kb != NULL, "demo KB loads (%s)", kb ? "" : err);
    nq = probe("lua-free-tests/unit/kb/demo_probe.tsv", qs, ids);
    ok(nq > 40, "%zu probe questions", nq);
    if (kb == NULL || nq == 0) {
        return done_testing();
    }

    /* adopt every probe question that has an FAQ and is not one already */
    s = kefu_search_scratch_create(&arena.allocator, 1 << 16);
    nl = 0;

    for (i = 0; i < nq; i++) {
        faq = kefu_kb_find(kb, (const unsigned char *) ids[i],
                           strlen(ids[i]));
        if (faq < 0) {
            continue;
        }

        l[nl].faq = (uint32_t) faq;
        l[nl].text = (const unsigned char *) qs[i];
        l[nl].len = strlen(qs[i]);
        l[nl].known = 0;
        nl++;
    }

    /* and one the file holds already: it is left out */
    l[nl].faq = 0;
    l[nl].text = kb->faqs[0].question.data;
    l[nl].len = kb->faqs[0].question.len;
    l[nl].known = 0;
    nl++;

    merged = kefu_kb_merge(&arena.allocator, kb, l, nl, 7, kept);
    ok(merged != NULL, "merged %zu learned questions", nl);
    if (merged == NULL) {
        return done_testing();
    }

    ok(kept[nl - 1] == 0, "a wording the file has is not learned again");
    ok(merged->generation == 7 && kb->generation == 0, "generations");
    ok(kefu_kb_ndocs(merged) > kefu_kb_ndocs(kb), "more documents (%u > %u)",
       kefu_kb_ndocs(merged), kefu_kb_ndocs(kb));
    ok(kb->faqs != merged->faqs
       && kb->faqs[0].question.data == merged->faqs[0].question.data,
       "the file KB is untouched; answers are shared");

    nkept = 0;

    for (i = 0; i + 1 < nl; i++) {
        if (!kept[i]) {
            continue;
        }

        nkept++;
        n = kefu_kb_search(merged, s, l[i].text, l[i].len, -1, hits, 8);
        f = kefu_kb_exact(merged, s, l[i].text, l[i].len);

        if (n < 1 || hits[0].faq != l[i].faq || !hits[0].exact
            || f != (long) l[i].faq)
        {
            break;
        }
    }
    ok(i + 1 == nl && nkept > 30, "each of %zu learned questions is an exact "
       "top-1 of its FAQ", nkept);

    ok(kefu_kb_exact(merged, s, (const unsigned char *) "！！",
                     strlen("！！")) == -1, "punctuation only: no variant");
    ok(kefu_kb_exact(merged, s, (const unsigned char *) "\xff", 1)
       == KEFU_LEARN_INVALID, "invalid UTF-8");

    /* the normalised key: what the index cannot tell apart is one key */
    ok(kefu_learn_key(&arena.allocator, kb->syn,
                      (const unsigned char *) "花呗怎么还款", 18, k1)
       == KEFU_OK
       && kefu_learn_key(&arena.allocator, kb->syn,
                         (const unsigned char *) "花呗怎么还款？！", 24, k2)
          == KEFU_OK
       && kefu_learn_key(&arena.allocator, kb->syn,
                         (const unsigned char *) "花呗怎么借款", 18, k3)
          == KEFU_OK,
       "keys");
    ok(memcmp(k1, k2, 16) == 0 && memcmp(k1, k3, 16) != 0,
       "same wording, same key; another, another");
    ok(kefu_learn_key(&arena.allocator, kb->syn,
                      (const unsigned char *) "？！", 6, k3) == KEFU_ERROR,
       "no searchable text: no key");

    /* automatic adoption of a tapped pair "faq_id TAB question" */
    {
        char         pair[512];
        kefu_str_t   q;
        const char  *id = (const char *) kb->faqs[1].id.data;

        snprintf(pair, sizeof(pair), "%s\t%s", id, "我想问一个完全新的说法");
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 3, 3, &q) == 1
           && q.len == strlen("我想问一个完全新的说法")
           && memcmp(q.data, "我想问一个完全新的说法", q.len) == 0,
           "auto: 3 users of 3 adopt the question for its FAQ");
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 2, 3, &q) == -1,
           "auto: 2 users of 3 do not");
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 1, 1, &q) == -1
           && kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                   strlen(pair), 2, 1, &q) == 1,
           "auto: one user never teaches alone, whatever min_users says");
        snprintf(pair, sizeof(pair), "no-such-faq\t%s", "新的说法");
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 9, 3, &q) == -1,
           "auto: an FAQ the KB does not have: no");
        snprintf(pair, sizeof(pair), "%s\t%s", id,
                 (const char *) kb->faqs[0].question.data);
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 9, 3, &q) == -1,
           "auto: a wording the KB holds: no");
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) id,
                                strlen(id), 9, 3, &q) == -1,
           "auto: no question: no");
        snprintf(pair, sizeof(pair), "%s\t", id);
        while (strlen(pair) - strlen(id) - 1 < 198) {
            strcat(pair, "啊");
        }
        ok(kefu_learn_auto_pick(kb, s, (const unsigned char *) pair,
                                strlen(pair), 9, 3, &q) == -1,
           "auto: a question the tap may have cut (198+ bytes): no");
    }

    /* the memo never hands back a list of another generation */
    m = kefu_memo_create(&arena.allocator, 64);
    n = kefu_kb_search(kb, s, l[0].text, l[0].len, -1, hits, 8);
    kefu_memo_put(m, kb, -1, l[0].text, l[0].len, hits, n, 8);
    ok(kefu_memo_get(m, kb, -1, l[0].text, l[0].len, hits, 8) == n,
       "memo: kept for generation 0");
    merged2 = kefu_alloc(&arena.allocator, sizeof(kefu_kb_t));
    *merged2 = *kb;
    merged2->generation = 8;
    ok(kefu_memo_get(m, merged2, -1, l[0].text, l[0].len, hits, 8) == -1,
       "memo: not served to another generation at the same address");

    /* what a merge found out, passed on: the same KB without looking */
    for (i = 0; i < nl; i++) {
        l[i].known = kept[i] ? 1 : 2;
    }
    merged2 = kefu_kb_merge(&arena.allocator, kb, l, nl, 11, NULL);
    ok(merged2 != NULL && kefu_kb_ndocs(merged2) == kefu_kb_ndocs(merged)
       && same_rankings(merged, merged2, s, qs, nq),
       "merge with known flags: the same KB");
    for (i = 0; i < nl; i++) {
        l[i].known = 0;
    }

    /* nothing learned: the same rankings as the file KB */
    none = kefu_kb_merge(&arena.allocator, kb, NULL, 0, 9, NULL);
    ok(none != NULL && same_rankings(kb, none, s, qs, nq),
       "nothing learned: rankings of the file KB");

    /* export, reload: the very same rankings and confidences */
    kefu_buf_init(&out, &arena.allocator, 4096);
    {
        FILE           *fp;
        long            sz;
        unsigned char  *file;

        fp = fopen("demo/kb.json", "rb");
        fseek(fp, 0, SEEK_END);
        sz = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        file = kefu_alloc(&arena.allocator, (size_t) sz);
        ok(fread(file, 1, (size_t) sz, fp) == (size_t) sz, "file read");
        fclose(fp);

        ok(kefu_kb_export(&arena.allocator, file, (size_t) sz, merged, &out,
                          err, sizeof(err)) == KEFU_OK,
           "export (%zu bytes) %s", out.len, err);
    }

    again = kefu_kb_load_buf(&arena.allocator, out.data, out.len, "export",
                             err, sizeof(err));
    ok(again != NULL, "the export loads as a KB file (%s)",
       again ? "" : err);
    if (again == NULL) {
        return done_testing();
    }

    ok(kefu_kb_ndocs(again) == kefu_kb_ndocs(merged)
       && again->nfaqs == kb->nfaqs, "same documents (%u) and FAQs",
       kefu_kb_ndocs(again));
    ok(same_rankings(merged, again, s, qs, nq),
       "reloaded export: every ranking, score and confidence the same");

    /* the reloaded file holds them: merging them again keeps none */
    merged2 = kefu_kb_merge(&arena.allocator, again, l, nl, 10, kept);
    for (i = 0; i < nl && merged2 != NULL && !kept[i]; i++) {
        /* void */
    }
    ok(merged2 != NULL && i == nl, "after the reload none is kept apart");
    ok(merged2 != NULL && same_rankings(again, merged2, s, qs, nq),
       "and the rankings stay");

    kefu_arena_free(&arena);

    return done_testing();
}
