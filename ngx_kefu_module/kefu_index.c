/*
 * ngx_kefu: inverted index, ranking and confidence.
 *
 * Ranking is a weighted Dice similarity between the query's and a
 * variant's term sets, with term weight = class weight * BM25 idf:
 *
 *     score = 2 M / (W_q + M + doc_pow * (W_d - M))
 *
 * M the weight of the shared terms, W_q and W_d the total weights.  It
 * rewards covering the query and penalises a variant's extra terms, which
 * is what separates a paraphrase from a lexically close distractor better
 * than BM25's saturating sum.  Candidates come from the postings of rare
 * terms (walked fully) and, for queries made only of frequent terms, from
 * the rarest frequent postings; their exact scores come from the forward
 * lists.  With multi-turn context, a variant keeps its context-aided
 * score only in the measure it matches the query's own terms; the
 * confidence model is refitted per KB on its own paraphrases.  See
 * docs/engine.md.
 */

#include <math.h>
#include <stdlib.h>

#include "kefu_index.h"


#define KEFU_TERM_NONE     0xffffffffu
#define KEFU_MAX_HITS      64
#define KEFU_MAX_RERANK    1024
#define KEFU_MAX_QTERMS    (4 * KEFU_TEXT_MAX_CPS)
#define KEFU_MAX_FREQ      0xffff   /* frequent terms (16-bit forward ids) */

/*
 * Confidence model z = w0 + w1 s1 + w2 m + w3 s1 m, m = min(s1 - s2, 0.25),
 * fitted by tools/kefu_eval --fit (logistic regression, pooled sets plus
 * cross-domain questions as negatives).
 */
#define KEFU_CONF_W0       -5.402
#define KEFU_CONF_W1        4.288
#define KEFU_CONF_W2        25.490
#define KEFU_CONF_W3       -13.962

/*
 * The evaluation KBs are large, so a big margin there comes with a good
 * match; in a small KB a weak match can have no competitor at all.  A
 * similarity gate keeps such matches from looking confident.
 */
#define KEFU_CONF_GATE_LO   0.25
#define KEFU_CONF_GATE_HI   0.60

/* pull of the self-calibration towards the shipped weights */
#define KEFU_CALIB_RIDGE    2.0

#define KEFU_DECIDE_MARGIN      0.1
#define KEFU_DECIDE_MIN_CHOICE  0.02


struct kefu_index_s {
    kefu_index_params_t   params;
    const kefu_syn_t     *syn;
    uint32_t              ndocs;
    uint32_t              nfaqs;
    uint32_t              nterms;
    uint32_t              nfreq;        /* ids below are "frequent" */
    uint32_t              rare_df;
    uint32_t              mask;         /* hash slots - 1 */
    uint32_t             *slots;        /* term id + 1, 0 = empty */
    uint32_t             *term_key;
    float                *term_w;
    uint32_t             *post_off;     /* nterms + 1 */
    unsigned char        *post;
    uint32_t             *fwd_off;      /* ndocs + 1 */
    uint16_t             *fwd;          /* frequent term ids, ascending */
    uint32_t             *doc_faq;
    float                *doc_w;
    float                 unknown_w[4]; /* weight of a term not indexed */
    double                conf[4];      /* confidence model (see above) */
    uint32_t              calib_n;      /* its own observations, or 0 */
    size_t                memory;
};


struct kefu_index_builder_s {
    kefu_alloc_t         *tmp;
    const kefu_syn_t     *syn;
    kefu_index_params_t   params;
    kefu_tokens_t        *toks;
    uint32_t             *keys;
    size_t                nkeys;
    size_t                keys_cap;
    uint32_t             *doc_off;
    uint32_t             *doc_faq;
    uint32_t              ndocs;
    uint32_t              docs_cap;
    uint32_t              nfaqs;
    int                   failed;
};


typedef struct {
    uint32_t    id;         /* term id or KEFU_TERM_NONE */
    uint32_t    key;
    float       w;
    uint16_t    tok;        /* token index in its token list */
    uint8_t     walked;
    uint8_t     ctx;        /* comes from the context text */
} kefu_qterm_t;


typedef struct {
    float       score;
    float       cov;
    float       own;        /* matched weight of the query's own terms */
    uint32_t    doc;
    uint32_t    exact;      /* same term set as the query */
} kefu_cand_t;


struct kefu_search_scratch_s {
    uint32_t        cap;
    float          *acc;
    float          *acc_own;    /* own (not context) terms, with context */
    uint16_t       *fmark;      /* frequent term id -> query term + 1 */
    uint32_t       *touched;
    kefu_tokens_t  *qt;
    kefu_tokens_t  *ct;
    kefu_qterm_t   *qterms;
    size_t          nqterms;
    uint32_t       *order;
    kefu_cand_t    *cands;
    float           wq;
    unsigned char   text[4096];     /* matched term strings */
};


static void *kefu_grow(kefu_alloc_t *a, void *old, size_t used, size_t size);
static int kefu_u32_cmp(const void *a, const void *b);
static float kefu_idf(uint32_t df, uint32_t n);
static size_t kefu_varint_len(uint32_t v);
static size_t kefu_varint_put(unsigned char *p, uint32_t v);
static uint32_t kefu_index_lookup(const kefu_index_t *idx, uint32_t key);
static int kefu_index_elliptic(const kefu_tokens_t *t, uint32_t max);
static size_t kefu_index_qterms(const kefu_index_t *idx,
    kefu_search_scratch_t *s, const kefu_tokens_t *t, size_t n, int ctx,
    float factor);
static void kefu_qterm_sort(kefu_qterm_t *q, size_t n, int by_id);
static int kefu_doc_has(const kefu_index_t *idx, uint32_t doc, uint32_t id);
static float kefu_confidence(const kefu_index_t *idx, float s1, float s2);
static int kefu_index_rank(const kefu_index_t *idx,
    kefu_search_scratch_t *s, const kefu_search_ctx_t *ctx,
    uint32_t skip_lo, uint32_t skip_hi, kefu_hit_t *hits, size_t k);
static void kefu_index_calibrate(kefu_index_builder_t *b, kefu_index_t *idx);


void
kefu_index_default_params(kefu_index_params_t *p)
{
    p->w_uni = 1.0f;
    p->w_stop = 0.2f;
    p->w_bi = 1.0f;
    p->w_word = 1.0f;
    p->idf_pow = 1.0f;
    p->doc_pow = 0.5f;
    p->rare_df = 16;
    p->rare_ratio = 0.005f;
    p->min_cand = 64;
    p->walk_budget = 4096;
    p->rerank = 64;
    p->ctx_weight = 0.4f;
    p->ctx_boost = 0.15f;
    p->ctx_max_chars = 6;
    p->ctx_own = 0.3f;
    p->calib_max = 2000;
    p->calib_neg = 0.0f;
}


static void *
kefu_grow(kefu_alloc_t *a, void *old, size_t used, size_t size)
{
    void  *p;

    p = kefu_alloc(a, size);
    if (p != NULL && used > 0) {
        memcpy(p, old, used);
    }

    return p;
}


static int
kefu_u32_cmp(const void *a, const void *b)
{
    uint32_t  x, y;

    x = *(const uint32_t *) a;
    y = *(const uint32_t *) b;

    return x < y ? -1 : (x > y);
}


static float
kefu_idf(uint32_t df, uint32_t n)
{
    double  v;

    v = log(1.0 + ((double) n - df + 0.5) / ((double) df + 0.5));

    return v > 0.01 ? (float) v : 0.01f;
}


static size_t
kefu_varint_len(uint32_t v)
{
    size_t  n;

    n = 1;

    while (v >= 0x80) {
        v >>= 7;
        n++;
    }

    return n;
}


static size_t
kefu_varint_put(unsigned char *p, uint32_t v)
{
    size_t  n;

    n = 0;

    while (v >= 0x80) {
        p[n++] = (unsigned char) (v | 0x80);
        v >>= 7;
    }

    p[n++] = (unsigned char) v;

    return n;
}


#define kefu_varint_get(p, v)                                                \
    do {                                                                     \
        uint32_t  vg_s_ = 0;                                                 \
        (v) = 0;                                                             \
        while (*(p) & 0x80) {                                                \
            (v) |= (uint32_t) (*(p)++ & 0x7f) << vg_s_;                      \
            vg_s_ += 7;                                                      \
        }                                                                    \
        (v) |= (uint32_t) *(p)++ << vg_s_;                                   \
    } while (0)


kefu_index_builder_t *
kefu_index_builder_create(kefu_alloc_t *tmp, const kefu_syn_t *syn,
    const kefu_index_params_t *params)
{
    kefu_index_builder_t  *b;

    b = kefu_calloc(tmp, sizeof(kefu_index_builder_t));
    if (b == NULL) {
        return NULL;
    }

    b->tmp = tmp;
    b->syn = syn;

    if (params != NULL) {
        b->params = *params;

    } else {
        kefu_index_default_params(&b->params);
    }

    b->toks = kefu_tokens_create(tmp);
    b->keys_cap = 4096;
    b->keys = kefu_alloc(tmp, b->keys_cap * sizeof(uint32_t));
    b->docs_cap = 256;
    b->doc_off = kefu_alloc(tmp, (b->docs_cap + 1) * sizeof(uint32_t));
    b->doc_faq = kefu_alloc(tmp, b->docs_cap * sizeof(uint32_t));

    if (b->toks == NULL || b->keys == NULL || b->doc_off == NULL
        || b->doc_faq == NULL)
    {
        return NULL;
    }

    b->doc_off[0] = 0;

    return b;
}


int
kefu_index_add(kefu_index_builder_t *b, uint32_t faq,
    const unsigned char *text, size_t len)
{
    size_t          i, n, cap;
    uint32_t       *k;
    kefu_tokens_t  *t;

    if (b->failed) {
        return KEFU_ERROR;
    }

    if (b->ndocs > 0 && faq < b->doc_faq[b->ndocs - 1]) {
        return KEFU_ERROR;
    }

    if (b->ndocs >= 0x7fffffffu || faq >= 0x7fffffffu) {
        return KEFU_ERROR;
    }

    t = b->toks;

    if (kefu_tokenize(b->syn, text, len, t) != KEFU_OK) {
        return KEFU_ERROR;
    }

    if (b->ndocs == b->docs_cap) {
        cap = (size_t) b->docs_cap * 2;

        b->doc_off = kefu_grow(b->tmp, b->doc_off,
                               (b->ndocs + 1) * sizeof(uint32_t),
                               (cap + 1) * sizeof(uint32_t));
        b->doc_faq = kefu_grow(b->tmp, b->doc_faq,
                               b->ndocs * sizeof(uint32_t),
                               cap * sizeof(uint32_t));

        if (b->doc_off == NULL || b->doc_faq == NULL) {
            b->failed = 1;
            return KEFU_ERROR;
        }

        b->docs_cap = (uint32_t) cap;
    }

    if (b->nkeys + t->ntoks > b->keys_cap) {
        cap = b->keys_cap * 2 + t->ntoks;

        b->keys = kefu_grow(b->tmp, b->keys, b->nkeys * sizeof(uint32_t),
                            cap * sizeof(uint32_t));
        if (b->keys == NULL) {
            b->failed = 1;
            return KEFU_ERROR;
        }

        b->keys_cap = cap;
    }

    if (b->nkeys + t->ntoks > 0xffffffffu) {
        b->failed = 1;
        return KEFU_ERROR;
    }

    /* a document is a set of unique term keys */
    k = b->keys + b->nkeys;

    for (i = 0; i < t->ntoks; i++) {
        k[i] = t->toks[i].key;
    }

    qsort(k, t->ntoks, sizeof(uint32_t), kefu_u32_cmp);

    n = 0;

    for (i = 0; i < t->ntoks; i++) {
        if (n == 0 || k[n - 1] != k[i]) {
            k[n++] = k[i];
        }
    }

    b->nkeys += n;
    b->doc_faq[b->ndocs] = faq;
    b->ndocs++;
    b->doc_off[b->ndocs] = (uint32_t) b->nkeys;

    if (faq + 1 > b->nfaqs) {
        b->nfaqs = faq + 1;
    }

    return KEFU_OK;
}


typedef struct {
    uint32_t    df;
    uint32_t    key;
    uint32_t    tid;
} kefu_tsort_t;


static int
kefu_tsort_cmp(const void *a, const void *b)
{
    const kefu_tsort_t  *x, *y;

    x = a;
    y = b;

    if (x->df != y->df) {
        return x->df > y->df ? -1 : 1;
    }

    return x->key < y->key ? -1 : (x->key > y->key);
}


#define kefu_slot_of(key, mask)  (((key) ^ ((key) >> 13)) & (mask))


static void *
kefu_index_alloc(kefu_alloc_t *a, kefu_index_t *idx, size_t size)
{
    idx->memory += size;

    return kefu_alloc(a, size ? size : 1);
}


kefu_index_t *
kefu_index_build(kefu_index_builder_t *b, kefu_alloc_t *a)
{
    int            cls;
    size_t         i, j, nslots, tslots, bytes;
    uint32_t       nt, d, id, key, slot, tid, *tkeys, *tslot, *tdf, *remap;
    uint32_t      *last, *pos, *ids, nf, df;
    float          w, cw[4];
    kefu_tsort_t  *ts;
    kefu_index_t  *idx;

    if (b->failed) {
        return NULL;
    }

    idx = kefu_calloc(a, sizeof(kefu_index_t));
    if (idx == NULL) {
        return NULL;
    }

    idx->memory = sizeof(kefu_index_t);
    idx->params = b->params;
    idx->syn = b->syn;
    idx->ndocs = b->ndocs;
    idx->nfaqs = b->nfaqs;

    /* intern keys in a temporary table sized for the worst case */
    for (tslots = 1024; tslots < b->nkeys * 2; tslots <<= 1) {
        /* void */
    }

    tslot = kefu_calloc(b->tmp, tslots * sizeof(uint32_t));
    tkeys = kefu_alloc(b->tmp, (b->nkeys + 1) * sizeof(uint32_t));
    tdf = kefu_alloc(b->tmp, (b->nkeys + 1) * sizeof(uint32_t));
    if (tslot == NULL || tkeys == NULL || tdf == NULL) {
        return NULL;
    }

    nt = 0;

    for (i = 0; i < b->nkeys; i++) {
        key = b->keys[i];
        slot = kefu_slot_of(key, tslots - 1);

        while (tslot[slot] != 0 && tkeys[tslot[slot] - 1] != key) {
            slot = (slot + 1) & (tslots - 1);
        }

        if (tslot[slot] == 0) {
            tkeys[nt] = key;
            tdf[nt] = 0;
            tslot[slot] = ++nt;
        }

        tid = tslot[slot] - 1;
        tdf[tid]++;
        b->keys[i] = tid;       /* from now on keys hold temporary ids */
    }

    /* final ids by falling df: frequent terms get small ids */
    ts = kefu_alloc(b->tmp, (nt + 1) * sizeof(kefu_tsort_t));
    remap = kefu_alloc(b->tmp, (nt + 1) * sizeof(uint32_t));
    if (ts == NULL || remap == NULL) {
        return NULL;
    }

    for (i = 0; i < nt; i++) {
        ts[i].df = tdf[i];
        ts[i].key = tkeys[i];
        ts[i].tid = (uint32_t) i;
    }

    qsort(ts, nt, sizeof(kefu_tsort_t), kefu_tsort_cmp);

    idx->nterms = nt;
    /* postings this short are cheap to walk at any KB size; a share of
     * the FAQs, not of the variants: paraphrases (learned ones above
     * all) lengthen postings without adding answers to find */
    idx->rare_df = (uint32_t) (b->nfaqs * b->params.rare_ratio);

    if (idx->rare_df < b->params.rare_df) {
        idx->rare_df = b->params.rare_df;
    }

    for (nslots = 1024; nslots < (size_t) nt * 2; nslots <<= 1) {
        /* void */
    }

    idx->mask = (uint32_t) (nslots - 1);
    idx->slots = kefu_index_alloc(a, idx, nslots * sizeof(uint32_t));
    idx->term_key = kefu_index_alloc(a, idx, nt * sizeof(uint32_t));
    idx->term_w = kefu_index_alloc(a, idx, nt * sizeof(float));
    idx->post_off = kefu_index_alloc(a, idx, (nt + 1) * sizeof(uint32_t));
    idx->fwd_off = kefu_index_alloc(a, idx,
                                    (b->ndocs + 1) * sizeof(uint32_t));
    idx->doc_faq = kefu_index_alloc(a, idx, b->ndocs * sizeof(uint32_t));
    idx->doc_w = kefu_index_alloc(a, idx, b->ndocs * sizeof(float));

    if (idx->slots == NULL || idx->term_key == NULL || idx->term_w == NULL
        || idx->post_off == NULL || idx->fwd_off == NULL
        || idx->doc_faq == NULL || idx->doc_w == NULL)
    {
        return NULL;
    }

    memset(idx->slots, 0, nslots * sizeof(uint32_t));

    cw[KEFU_TOK_UNI] = b->params.w_uni;
    cw[KEFU_TOK_STOP] = b->params.w_stop;
    cw[KEFU_TOK_BI] = b->params.w_bi;
    cw[KEFU_TOK_WORD] = b->params.w_word;

    for (cls = 0; cls < 4; cls++) {
        idx->unknown_w[cls] = cw[cls]
                              * powf(kefu_idf(0, b->ndocs),
                                     b->params.idf_pow);
    }

    nf = 0;

    for (i = 0; i < nt; i++) {
        key = ts[i].key;
        df = ts[i].df;
        remap[ts[i].tid] = (uint32_t) i;
        idx->term_key[i] = key;
        idx->term_w[i] = cw[kefu_tok_class(key)]
                         * powf(kefu_idf(df, b->ndocs), b->params.idf_pow);

        if (df > idx->rare_df) {
            nf = (uint32_t) i + 1;
        }

        slot = kefu_slot_of(key, idx->mask);

        while (idx->slots[slot] != 0) {
            slot = (slot + 1) & idx->mask;
        }

        idx->slots[slot] = (uint32_t) i + 1;
    }

    /* forward lists hold 16-bit ids; rarer terms beyond are walked */
    idx->nfreq = nf < KEFU_MAX_FREQ ? nf : KEFU_MAX_FREQ;
    nf = idx->nfreq;

    /* map document keys to final ids, sorted, and size the postings */
    last = kefu_alloc(b->tmp, (nt + 1) * sizeof(uint32_t));
    pos = kefu_alloc(b->tmp, (nt + 1) * sizeof(uint32_t));
    if (last == NULL || pos == NULL) {
        return NULL;
    }

    memset(last, 0, nt * sizeof(uint32_t));
    memset(pos, 0, nt * sizeof(uint32_t));
    bytes = 0;

    for (d = 0; d < b->ndocs; d++) {
        ids = b->keys + b->doc_off[d];
        j = b->doc_off[d + 1] - b->doc_off[d];
        w = 0;

        for (i = 0; i < j; i++) {
            ids[i] = remap[ids[i]];
            id = ids[i];
            pos[id] += (uint32_t) kefu_varint_len(d - last[id]);
            last[id] = d;
            w += idx->term_w[id];
        }

        qsort(ids, j, sizeof(uint32_t), kefu_u32_cmp);

        idx->doc_faq[d] = b->doc_faq[d];
        idx->doc_w[d] = w;
        idx->fwd_off[d] = (uint32_t) bytes;

        for (i = 0; i < j && ids[i] < nf; i++) {
            bytes++;
        }

        if (bytes > 0xffffffffu) {
            return NULL;
        }
    }

    idx->fwd_off[b->ndocs] = (uint32_t) bytes;
    idx->fwd = kefu_index_alloc(a, idx, bytes * sizeof(uint16_t));
    if (idx->fwd == NULL) {
        return NULL;
    }

    for (d = 0; d < b->ndocs; d++) {
        ids = b->keys + b->doc_off[d];
        j = b->doc_off[d + 1] - b->doc_off[d];
        bytes = idx->fwd_off[d];

        for (i = 0; i < j && ids[i] < nf; i++) {
            idx->fwd[bytes++] = (uint16_t) ids[i];
        }
    }

    bytes = 0;

    for (i = 0; i < nt; i++) {
        idx->post_off[i] = (uint32_t) bytes;
        bytes += pos[i];

        if (bytes > 0xffffffffu) {
            return NULL;
        }

        pos[i] = idx->post_off[i];
        last[i] = 0;
    }

    idx->post_off[nt] = (uint32_t) bytes;
    idx->post = kefu_index_alloc(a, idx, bytes);
    if (idx->post == NULL) {
        return NULL;
    }

    for (d = 0; d < b->ndocs; d++) {
        for (i = b->doc_off[d]; i < b->doc_off[d + 1]; i++) {
            id = b->keys[i];
            pos[id] += (uint32_t) kefu_varint_put(idx->post + pos[id],
                                                  d - last[id]);
            last[id] = d;
        }
    }

    kefu_index_calibrate(b, idx);

    return idx;
}


/*
 * Self-calibration.  The shipped confidence model was fitted on large
 * question-matching sets full of near-duplicates; a curated KB is another
 * population.  Each KB has labelled data of its own, though: its
 * paraphrases.  A sample of variants of FAQs with 2+ variants is asked
 * with the variant itself left out (the top hit should be its FAQ) and,
 * weighted by calib_neg, with its whole FAQ left out (any top hit is
 * wrong: an in-domain question the KB cannot answer).  The logistic model
 * is refitted on these observations by a few Newton steps, with a ridge
 * pull towards the shipped weights so that a small KB stays near them.
 */
static void
kefu_index_calibrate(kefu_index_builder_t *b, kefu_index_t *idx)
{
    int                     it, r, c, e, nh;
    size_t                  i, lo, hi, nobs, cap, elig, stride, seen, t;
    uint32_t                d, id;
    double                  w[4], w0[4], g[4], h[4][5], x[4], z, pr, wt, f;
    float                  *o1, *o2, *ow;
    uint8_t                *ok;
    kefu_hit_t              hits[2];
    kefu_qterm_t           *q;
    kefu_search_scratch_t  *s;

    w0[0] = KEFU_CONF_W0;
    w0[1] = KEFU_CONF_W1;
    w0[2] = KEFU_CONF_W2;
    w0[3] = KEFU_CONF_W3;
    memcpy(idx->conf, w0, sizeof(w0));
    idx->calib_n = 0;

    if (b->params.calib_max == 0) {
        return;
    }

    elig = 0;

    for (lo = 0; lo < b->ndocs; lo = hi) {
        for (hi = lo + 1; hi < b->ndocs && b->doc_faq[hi] == b->doc_faq[lo];
             hi++)
        {
            /* void */
        }

        elig += hi - lo >= 2 ? hi - lo : 0;
    }

    if (elig < 20) {
        return;
    }

    stride = (elig + b->params.calib_max - 1) / b->params.calib_max;
    cap = 2 * (elig / stride + 1);

    s = kefu_search_scratch_create(b->tmp, b->ndocs);
    o1 = kefu_alloc(b->tmp, cap * sizeof(float));
    o2 = kefu_alloc(b->tmp, cap * sizeof(float));
    ow = kefu_alloc(b->tmp, cap * sizeof(float));
    ok = kefu_alloc(b->tmp, cap);
    if (s == NULL || o1 == NULL || o2 == NULL || ow == NULL || ok == NULL) {
        return;     /* keep the shipped model */
    }

    nobs = 0;
    seen = 0;

    for (lo = 0; lo < b->ndocs; lo = hi) {
        for (hi = lo + 1; hi < b->ndocs && b->doc_faq[hi] == b->doc_faq[lo];
             hi++)
        {
            /* void */
        }

        if (hi - lo < 2) {
            continue;
        }

        for (d = (uint32_t) lo; d < hi; d++) {
            if (seen++ % stride != 0 || nobs + 2 > cap) {
                continue;
            }

            /* the variant's own terms (final ids, ascending) as a query */
            s->nqterms = 0;

            for (i = b->doc_off[d]; i < b->doc_off[d + 1]; i++) {
                id = b->keys[i];
                q = &s->qterms[s->nqterms++];
                q->id = id;
                q->key = idx->term_key[id];
                q->w = idx->term_w[id];
                q->tok = 0;
                q->walked = 0;
                q->ctx = 0;
            }

            for (r = 0; r < (b->params.calib_neg > 0 ? 2 : 1); r++) {
                for (i = 0; i < s->nqterms; i++) {
                    s->qterms[i].walked = 0;
                }

                nh = kefu_index_rank(idx, s, NULL,
                                     r == 0 ? d : (uint32_t) lo,
                                     r == 0 ? d + 1 : (uint32_t) hi,
                                     hits, 2);
                if (nh <= 0) {
                    continue;
                }

                o1[nobs] = hits[0].score;
                o2[nobs] = nh > 1 ? hits[1].score : 0;
                ok[nobs] = r == 0 && hits[0].faq == b->doc_faq[d];
                ow[nobs] = r == 0 ? 1.0f : b->params.calib_neg;
                nobs++;
            }
        }
    }

    memcpy(w, w0, sizeof(w));

    for (it = 0; it < 12; it++) {
        /* Newton step on the penalised log-likelihood */
        for (r = 0; r < 4; r++) {
            g[r] = -KEFU_CALIB_RIDGE * (w[r] - w0[r]);

            for (c = 0; c < 4; c++) {
                h[r][c] = r == c ? KEFU_CALIB_RIDGE : 0;
            }
        }

        for (t = 0; t < nobs; t++) {
            x[0] = 1;
            x[1] = o1[t];
            x[2] = o1[t] - o2[t] < 0.25f ? o1[t] - o2[t] : 0.25f;
            x[3] = x[1] * x[2];
            z = w[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3];
            pr = 1.0 / (1.0 + exp(-z));
            wt = ow[t];

            for (r = 0; r < 4; r++) {
                g[r] += wt * (ok[t] - pr) * x[r];

                for (c = 0; c < 4; c++) {
                    h[r][c] += wt * pr * (1 - pr) * x[r] * x[c];
                }
            }
        }

        /* solve h step = g by Gaussian elimination (h is positive) */
        for (r = 0; r < 4; r++) {
            h[r][4] = g[r];
        }

        for (r = 0; r < 4; r++) {
            for (e = r + 1; e < 4; e++) {
                f = h[e][r] / h[r][r];

                for (c = r; c < 5; c++) {
                    h[e][c] -= f * h[r][c];
                }
            }
        }

        for (r = 3; r >= 0; r--) {
            f = h[r][4];

            for (c = r + 1; c < 4; c++) {
                f -= h[r][c] * g[c];
            }

            g[r] = f / h[r][r];
        }

        for (r = 0; r < 4; r++) {
            w[r] += g[r];
        }
    }

    for (r = 0; r < 4; r++) {
        if (!isfinite(w[r])) {
            return;
        }
    }

    memcpy(idx->conf, w, sizeof(w));
    idx->calib_n = (uint32_t) nobs;
}


uint32_t
kefu_index_ndocs(const kefu_index_t *idx)
{
    return idx->ndocs;
}


uint32_t
kefu_index_nfaqs(const kefu_index_t *idx)
{
    return idx->nfaqs;
}


uint32_t
kefu_index_nterms(const kefu_index_t *idx)
{
    return idx->nterms;
}


uint32_t
kefu_index_doc_faq(const kefu_index_t *idx, uint32_t doc)
{
    return doc < idx->ndocs ? idx->doc_faq[doc] : KEFU_TERM_NONE;
}


size_t
kefu_index_memory(const kefu_index_t *idx)
{
    return idx->memory;
}


static uint32_t
kefu_index_lookup(const kefu_index_t *idx, uint32_t key)
{
    uint32_t  slot, v;

    slot = kefu_slot_of(key, idx->mask);

    for ( ;; ) {
        v = idx->slots[slot];

        if (v == 0) {
            return KEFU_TERM_NONE;
        }

        if (idx->term_key[v - 1] == key) {
            return v - 1;
        }

        slot = (slot + 1) & idx->mask;
    }
}


uint32_t
kefu_search_scratch_capacity(const kefu_search_scratch_t *s)
{
    return s->cap;
}


kefu_search_scratch_t *
kefu_search_scratch_create(kefu_alloc_t *a, uint32_t max_docs)
{
    kefu_search_scratch_t  *s;

    s = kefu_calloc(a, sizeof(kefu_search_scratch_t));
    if (s == NULL) {
        return NULL;
    }

    s->cap = max_docs;
    s->acc = kefu_calloc(a, ((size_t) max_docs + 1) * sizeof(float));
    s->acc_own = kefu_calloc(a, ((size_t) max_docs + 1) * sizeof(float));
    s->fmark = kefu_calloc(a, KEFU_MAX_FREQ * sizeof(uint16_t));
    s->touched = kefu_alloc(a, ((size_t) max_docs + 1) * sizeof(uint32_t));
    s->qt = kefu_tokens_create(a);
    s->ct = kefu_tokens_create(a);
    s->qterms = kefu_alloc(a, KEFU_MAX_QTERMS * sizeof(kefu_qterm_t));
    s->order = kefu_alloc(a, KEFU_MAX_QTERMS * sizeof(uint32_t));
    s->cands = kefu_alloc(a, KEFU_MAX_RERANK * sizeof(kefu_cand_t));

    if (s->acc == NULL || s->acc_own == NULL || s->fmark == NULL
        || s->touched == NULL || s->qt == NULL
        || s->ct == NULL || s->qterms == NULL || s->order == NULL
        || s->cands == NULL)
    {
        return NULL;
    }

    return s;
}


/* a short query, or one that starts with "那", leans on the context */
static int
kefu_index_elliptic(const kefu_tokens_t *t, uint32_t max)
{
    size_t  i, n;

    if (t->ncps > 0 && t->cps[0] == 0x90a3) {
        return 1;
    }

    n = 0;

    for (i = 0; i < t->ncps; i++) {
        if (t->cps[i] != 0) {
            n++;
        }
    }

    return n <= max;
}




/* Appends the unique terms of t not yet present; returns the new count. */
static size_t
kefu_index_qterms(const kefu_index_t *idx, kefu_search_scratch_t *s,
    const kefu_tokens_t *t, size_t n, int ctx, float factor)
{
    size_t         i, j, k, first;
    uint32_t       key;
    kefu_qterm_t  *q;

    first = n;

    for (i = 0; i < t->ntoks && n < KEFU_MAX_QTERMS; i++) {
        q = &s->qterms[n++];
        q->key = t->toks[i].key;
        q->tok = (uint16_t) i;
        q->ctx = (uint8_t) ctx;
        q->walked = 0;
    }

    kefu_qterm_sort(s->qterms + first, n - first, 0);

    k = first;

    for (i = first; i < n; i++) {
        key = s->qterms[i].key;

        if (k > first && s->qterms[k - 1].key == key) {
            continue;
        }

        for (j = 0; j < first; j++) {
            if (s->qterms[j].key == key) {
                break;
            }
        }

        if (j < first) {
            continue;
        }

        q = &s->qterms[k];
        *q = s->qterms[i];
        q->id = kefu_index_lookup(idx, key);
        q->w = (q->id == KEFU_TERM_NONE ? idx->unknown_w[kefu_tok_class(key)]
                                        : idx->term_w[q->id])
               * factor;
        k++;
    }

    return k;
}


/*
 * Shell sort (Ciura's gaps) by key or by id: no allocation (glibc's qsort
 * may call malloc) and fast for the few hundred terms of a query.
 */
static void
kefu_qterm_sort(kefu_qterm_t *q, size_t n, int by_id)
{
    size_t        g, i, j, gap;
    uint32_t      v;
    kefu_qterm_t  t;
    static const size_t  gaps[] = { 701, 301, 132, 57, 23, 10, 4, 1 };

    for (g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        gap = gaps[g];

        for (i = gap; i < n; i++) {
            t = q[i];
            v = by_id ? t.id : t.key;

            for (j = i; j >= gap && (by_id ? q[j - gap].id
                                           : q[j - gap].key) > v; j -= gap)
            {
                q[j] = q[j - gap];
            }

            q[j] = t;
        }
    }
}


/* better first; the document number breaks ties for stable output */
static int
kefu_cand_better(const kefu_cand_t *x, const kefu_cand_t *y)
{
    if (x->score != y->score) {
        return x->score > y->score;
    }

    return x->doc < y->doc;
}


/* max-heap by kefu_cand_better; the element sinks through a hole */
static void
kefu_heap_sift_max(kefu_cand_t *h, size_t n, size_t i)
{
    size_t       c;
    kefu_cand_t  t;

    t = h[i];

    for ( ;; ) {
        c = 2 * i + 1;

        if (c >= n) {
            break;
        }

        if (c + 1 < n && kefu_cand_better(&h[c + 1], &h[c])) {
            c++;
        }

        if (!kefu_cand_better(&h[c], &t)) {
            break;
        }

        h[i] = h[c];
        i = c;
    }

    h[i] = t;
}


/* min-heap by score */
static void
kefu_heap_sift(kefu_cand_t *h, size_t n, size_t i)
{
    size_t       c;
    kefu_cand_t  t;

    t = h[i];

    for ( ;; ) {
        c = 2 * i + 1;

        if (c >= n) {
            break;
        }

        if (c + 1 < n && h[c + 1].score < h[c].score) {
            c++;
        }

        if (t.score <= h[c].score) {
            break;
        }

        h[i] = h[c];
        i = c;
    }

    h[i] = t;
}


/*
 * Calibrated confidence: a logistic model of P(top-1 correct) fitted on the
 * evaluation sets (tools/kefu_eval --fit); see docs/engine.md.
 */
static float
kefu_confidence(const kefu_index_t *idx, float s1, float s2)
{
    double  z, m, g;

    m = s1 - s2 < 0.25f ? s1 - s2 : 0.25f;
    z = idx->conf[0] + idx->conf[1] * s1 + idx->conf[2] * m
        + idx->conf[3] * s1 * m;

    g = (s1 - KEFU_CONF_GATE_LO) / (KEFU_CONF_GATE_HI - KEFU_CONF_GATE_LO);
    g = g < 0 ? 0 : (g > 1 ? 1 : g);

    return (float) (g / (1.0 + exp(-z)));
}


int
kefu_index_search(const kefu_index_t *idx, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len, const kefu_search_ctx_t *ctx,
    kefu_hit_t *hits, size_t k)
{
    int                   use_ctx;
    size_t                nq;
    const kefu_index_params_t  *pr;

    if (idx->ndocs > s->cap) {
        return KEFU_ERROR;
    }

    if (kefu_tokenize(idx->syn, q, len, s->qt) != KEFU_OK) {
        return KEFU_ERROR;
    }

    pr = &idx->params;
    s->ct->ntoks = 0;
    s->ct->ncps = 0;

    nq = kefu_index_qterms(idx, s, s->qt, 0, 0, 1.0f);

    use_ctx = 0;

    if (ctx != NULL && ctx->text != NULL && ctx->len > 0 && nq > 0
        && (ctx->force || kefu_index_elliptic(s->qt, pr->ctx_max_chars)))
    {
        if (kefu_tokenize(idx->syn, ctx->text, ctx->len, s->ct) == KEFU_OK) {
            nq = kefu_index_qterms(idx, s, s->ct, nq, 1, pr->ctx_weight);
            use_ctx = 1;
        }
    }

    s->nqterms = nq;

    return kefu_index_rank(idx, s, use_ctx ? ctx : NULL, 0, 0, hits, k);
}


/*
 * Ranks FAQs for the query terms in s->qterms (ctx not NULL: some come
 * from the context); documents skip_lo..skip_hi-1 are left out (the
 * self-calibration asks the KB's own variants).
 */
static int
kefu_index_rank(const kefu_index_t *idx, kefu_search_scratch_t *s,
    const kefu_search_ctx_t *ctx, uint32_t skip_lo, uint32_t skip_hi,
    kefu_hit_t *hits, size_t k)
{
    int                   use_ctx;
    float                 wq, wown, m, mown, wd, sc, boost, second, g, eps;
    size_t                i, j, n, nq, nt, nf, ncand, nhits, nfree, kk;
    uint32_t              d, id, gap, walked_freq, maxid, *order;
    kefu_cand_t          *c;
    const uint16_t       *fp, *fe;
    kefu_qterm_t         *qt;
    const unsigned char  *p, *end;
    const kefu_index_params_t  *pr;

    pr = &idx->params;
    nq = s->nqterms;
    use_ctx = ctx != NULL;

    if (k > KEFU_MAX_HITS) {
        k = KEFU_MAX_HITS;
    }

    /* by id: known terms first, rarest (largest id) last */
    kefu_qterm_sort(s->qterms, nq, 1);

    wq = 0;
    wown = 0;
    nt = 0;

    for (i = 0; i < nq; i++) {
        wq += s->qterms[i].w;

        if (!s->qterms[i].ctx) {
            wown += s->qterms[i].w;
        }

        if (s->qterms[i].id != KEFU_TERM_NONE) {
            nt++;
        }
    }

    s->wq = wq;

    if (nt == 0 || k == 0) {
        return 0;
    }

    n = 0;
    walked_freq = 0;

    for (i = nt; i > 0; i--) {
        qt = &s->qterms[i - 1];
        id = qt->id;

        if (id < idx->nfreq) {
            /* frequent: walk only to find enough candidates */
            if (n >= pr->min_cand) {
                continue;
            }

            if (walked_freq > 0 && walked_freq
                + (idx->post_off[id + 1] - idx->post_off[id])
                > pr->walk_budget)
            {
                continue;
            }

            walked_freq += idx->post_off[id + 1] - idx->post_off[id];
        }

        qt->walked = 1;
        p = idx->post + idx->post_off[id];
        end = idx->post + idx->post_off[id + 1];
        d = 0;

        while (p < end) {
            kefu_varint_get(p, gap);
            d += gap;

            if (d - skip_lo < skip_hi - skip_lo) {
                continue;
            }

            if (s->acc[d] == 0) {
                s->touched[n++] = d;
            }

            s->acc[d] += qt->w;

            if (use_ctx && !qt->ctx) {
                s->acc_own[d] += qt->w;
            }
        }
    }

    /* the unwalked terms, ascending ids, for a merge with forward lists */
    order = s->order;
    nf = 0;

    for (i = 0; i < nt; i++) {
        if (!s->qterms[i].walked) {
            order[nf++] = (uint32_t) i;
        }
    }

    /* keep the best candidates by partial Dice in a min-heap */
    c = s->cands;
    ncand = 0;
    nfree = pr->rerank < KEFU_MAX_RERANK ? pr->rerank : KEFU_MAX_RERANK;

    for (i = 0; i < n; i++) {
        d = s->touched[i];
        m = s->acc[d];
        s->acc[d] = 0;
        mown = m;

        if (use_ctx) {
            mown = s->acc_own[d];
            s->acc_own[d] = 0;
        }

        sc = m / (wq + idx->doc_w[d]);

        if (ncand < nfree) {
            c[ncand].score = sc;
            c[ncand].own = mown;
            c[ncand].doc = d;
            ncand++;

            if (ncand == nfree) {
                for (j = ncand / 2; j > 0; j--) {
                    kefu_heap_sift(c, ncand, j - 1);
                }
            }

        } else if (sc > c[0].score) {
            c[0].score = sc;
            c[0].own = mown;
            c[0].doc = d;
            kefu_heap_sift(c, ncand, 0);
        }
    }

    /*
     * Exact scores: add the unwalked frequent terms via forward lists, one
     * table lookup (term id -> query term) per entry.
     */
    maxid = 0;

    for (j = 0; j < nf; j++) {
        id = s->qterms[order[j]].id;
        s->fmark[id] = (uint16_t) (order[j] + 1);
        maxid = id;
    }

    for (i = 0; i < ncand; i++) {
        d = c[i].doc;
        wd = idx->doc_w[d];
        m = c[i].score * (wq + wd);
        mown = c[i].own;

        fp = idx->fwd + idx->fwd_off[d];
        fe = idx->fwd + idx->fwd_off[d + 1];

        for ( /* void */ ; nf > 0 && fp < fe && *fp <= maxid; fp++) {
            if (s->fmark[*fp]) {
                qt = &s->qterms[s->fmark[*fp] - 1];
                m += qt->w;

                if (!qt->ctx) {
                    mown += qt->w;
                }
            }
        }

        if (!use_ctx) {
            mown = m;
        }

        sc = 2 * m / (wq + m + pr->doc_pow * (wd - m));
        c[i].score = sc > 1 ? 1 : sc;
        c[i].cov = wown > 0 ? mown / wown : 0;

        /* the variant and the query (without context) have one term set */
        eps = 1e-4f * (wd + wown);
        c[i].exact = mown >= wown - eps && mown >= wd - eps;

        if (use_ctx) {
            /*
             * The context only disambiguates what the query itself says:
             * a variant gets its context-aided score in the share of the
             * query's own weight it matches, up to ctx_own.  "哈哈" or
             * "asdf" after a topic match nothing of their own and score 0.
             */
            g = c[i].cov / pr->ctx_own;
            c[i].score *= g < 1 ? g : 1;
        }
    }

    for (j = 0; j < nf; j++) {
        s->fmark[s->qterms[order[j]].id] = 0;
    }

    if (use_ctx && (ctx->nboost > 0 || ctx->topic != 0)) {
        for (i = 0; i < ncand; i++) {
            id = idx->doc_faq[c[i].doc];
            boost = 1.0f;

            if (ctx->topic != 0 && ctx->faq_topic != NULL
                && ctx->faq_topic[id] == ctx->topic)
            {
                boost += pr->ctx_boost;
            }

            /* the KB's own "asked next" list says more than a topic */
            for (j = 0; j < ctx->nboost; j++) {
                if (ctx->boost_faqs[j] == id) {
                    boost += pr->ctx_boost;
                    break;
                }
            }

            sc = c[i].score * boost;
            c[i].score = sc > 1 ? 1 : sc;
        }
    }

    /* one hit per FAQ, its best variant: pop a max-heap until k FAQs */
    second = 0;

    for (j = ncand / 2; j > 0; j--) {
        kefu_heap_sift_max(c, ncand, j - 1);
    }

    nhits = 0;
    kk = k < 2 ? 2 : k;     /* the runner-up is needed for confidence */

    while (ncand > 0 && nhits < kk && c[0].score > 0) {
        id = idx->doc_faq[c[0].doc];

        for (j = 0; j < nhits; j++) {
            if (hits[j].faq == id) {
                break;
            }
        }

        if (j == nhits) {
            if (nhits < k) {
                hits[nhits].faq = id;
                hits[nhits].doc = c[0].doc;
                hits[nhits].score = c[0].score;
                hits[nhits].coverage = c[0].cov;
                hits[nhits].exact = c[0].exact;

            } else {
                second = c[0].score;
            }

            nhits++;
        }

        c[0] = c[--ncand];
        kefu_heap_sift_max(c, ncand, 0);
    }

    if (nhits > k) {
        nhits = k;

    } else if (nhits > 1) {
        second = hits[1].score;
    }

    /* the margin speaks only for the best hit */
    for (i = 0; i < nhits; i++) {
        hits[i].confidence = kefu_confidence(idx, hits[i].score,
                                             i == 0 ? second
                                                    : hits[i].score);
    }

    return (int) nhits;
}


static int
kefu_doc_has(const kefu_index_t *idx, uint32_t doc, uint32_t id)
{
    uint32_t              d, gap;
    const unsigned char  *p, *end;

    p = idx->post + idx->post_off[id];
    end = idx->post + idx->post_off[id + 1];
    d = 0;

    while (p < end) {
        kefu_varint_get(p, gap);
        d += gap;

        if (d >= doc) {
            return d == doc;
        }
    }

    return 0;
}


size_t
kefu_index_matched_terms(const kefu_index_t *idx, kefu_search_scratch_t *s,
    const kefu_hit_t *hit, kefu_str_t *terms, size_t max)
{
    size_t                i, n, used, l;
    kefu_qterm_t         *qt;
    const kefu_tokens_t  *t;

    n = 0;
    used = 0;

    for (i = 0; i < s->nqterms && n < max; i++) {
        qt = &s->qterms[i];

        if (qt->id == KEFU_TERM_NONE || !kefu_doc_has(idx, hit->doc, qt->id))
        {
            continue;
        }

        t = qt->ctx ? s->ct : s->qt;
        l = kefu_token_text(t, &t->toks[qt->tok], s->text + used,
                            sizeof(s->text) - used);
        if (l == 0) {
            break;
        }

        terms[n].data = s->text + used;
        terms[n].len = l;
        used += l;
        n++;
    }

    return n;
}


kefu_decision_e
kefu_decide(const kefu_hit_t *hits, size_t n, double high, double low,
    size_t *choices, size_t *nchoices)
{
    size_t  i;
    double  c1, sum;

    *nchoices = 0;

    if (n == 0) {
        return KEFU_DECIDE_FALLBACK;
    }

    c1 = hits[0].confidence;

    /*
     * A question asked exactly as one FAQ words it (same normalised term
     * set) is answered by that FAQ, whatever its siblings look like,
     * unless another FAQ has the very same wording.
     */
    if (hits[0].exact && (n < 2 || !hits[1].exact)) {
        return KEFU_DECIDE_ANSWER;
    }

    /* the margin rule: a runner-up within 0.1 makes a high best ambiguous */
    if (c1 >= high
        && (n < 2 || c1 - hits[1].confidence >= KEFU_DECIDE_MARGIN))
    {
        return KEFU_DECIDE_ANSWER;
    }

    /*
     * Each confidence estimates P(this hit is the right FAQ), so their sum
     * over the offered choices estimates P(the right one is offered).
     */
    sum = 0;

    for (i = 0; i < n && i < 3; i++) {
        if (i >= 2 && hits[i].confidence < KEFU_DECIDE_MIN_CHOICE) {
            break;
        }

        choices[i] = i;
        sum += hits[i].confidence;
    }

    if (sum < low) {
        return KEFU_DECIDE_FALLBACK;
    }

    *nchoices = i;

    return KEFU_DECIDE_CLARIFY;
}


uint32_t
kefu_index_calibration(const kefu_index_t *idx, double *w)
{
    memcpy(w, idx->conf, sizeof(idx->conf));

    return idx->calib_n;
}
