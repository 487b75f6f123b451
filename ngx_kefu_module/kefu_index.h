/*
 * ngx_kefu: inverted index over FAQ question variants, ranking and
 * calibrated confidence.
 *
 * Each variant (canonical question or paraphrase) is a document.  Terms are
 * token keys from kefu_tokenize(); term ids are given by falling document
 * frequency, postings are delta-varint lists of document ids, and every
 * document keeps a compact forward list of its frequent terms so that the
 * expensive postings of frequent terms need not be walked at query time.
 * The built index is read-only; all per-query state lives in a
 * kefu_search_scratch_t owned by the caller.
 */

#ifndef KEFU_INDEX_H
#define KEFU_INDEX_H

#include "kefu_core.h"
#include "kefu_text.h"


typedef struct kefu_index_s           kefu_index_t;
typedef struct kefu_index_builder_s   kefu_index_builder_t;
typedef struct kefu_search_scratch_s  kefu_search_scratch_t;


/* tunables; kefu_index_default_params() gives the shipped values */
typedef struct {
    float       w_uni;          /* class weights of a term */
    float       w_stop;
    float       w_bi;
    float       w_word;
    float       idf_pow;        /* weight = class weight * idf ^ idf_pow */
    float       doc_pow;        /* weight of a document's unmatched terms */
    uint32_t    rare_df;        /* postings up to this df are always walked */
    float       rare_ratio;     /* ... or up to this share of the docs */
    uint32_t    min_cand;       /* walk frequent terms until this many docs */
    uint32_t    walk_budget;    /* ... or this many frequent postings */
    uint32_t    rerank;         /* candidates scored exactly */
    float       ctx_weight;     /* weight of context terms in a follow-up */
    float       ctx_boost;      /* score factor for the context's topic */
    uint32_t    ctx_max_chars;  /* a query this short may be elliptic */
    float       ctx_own;        /* own-term coverage for full context */
    uint32_t    calib_max;      /* self-calibration queries, 0 = off */
    float       calib_neg;      /* weight of its "not in the KB" cases */
} kefu_index_params_t;


typedef struct {
    uint32_t    faq;
    uint32_t    doc;            /* the best-matching variant */
    float       score;          /* similarity in 0..1 */
    float       coverage;       /* share of the query's own weight
                                   (without context terms) matched */
    float       confidence;     /* calibrated P(correct) in 0..1 */
    uint32_t    exact;          /* 1: the variant has the query's term
                                   set (an exact normalised match) */
} kefu_hit_t;


/* Optional multi-turn context of a search. */
typedef struct {
    const unsigned char  *text;         /* previous topic's question */
    size_t                len;
    const uint32_t       *boost_faqs;   /* e.g. the topic's follow-ups */
    size_t                nboost;
    const uint32_t       *faq_topic;    /* topic number per FAQ, or NULL */
    uint32_t              topic;        /* boost FAQs of this topic (not 0) */
    unsigned              force:1;      /* use context even if not elliptic */
} kefu_search_ctx_t;


typedef enum {
    KEFU_DECIDE_FALLBACK = 0,
    KEFU_DECIDE_CLARIFY,
    KEFU_DECIDE_ANSWER
} kefu_decision_e;


void kefu_index_default_params(kefu_index_params_t *p);

/*
 * Building.  The builder takes its temporary memory from tmp; the index is
 * allocated from a.  Variants are added with non-decreasing faq numbers,
 * all variants of one FAQ together.
 */
kefu_index_builder_t *kefu_index_builder_create(kefu_alloc_t *tmp,
    const kefu_syn_t *syn, const kefu_index_params_t *params);
int kefu_index_add(kefu_index_builder_t *b, uint32_t faq,
    const unsigned char *text, size_t len);
kefu_index_t *kefu_index_build(kefu_index_builder_t *b, kefu_alloc_t *a);

uint32_t kefu_index_ndocs(const kefu_index_t *idx);
uint32_t kefu_index_nfaqs(const kefu_index_t *idx);
uint32_t kefu_index_nterms(const kefu_index_t *idx);
uint32_t kefu_index_doc_faq(const kefu_index_t *idx, uint32_t doc);
/* confidence model weights (4) and its self-calibration observations */
uint32_t kefu_index_calibration(const kefu_index_t *idx, double *w);
/* bytes allocated for the index */
size_t kefu_index_memory(const kefu_index_t *idx);

/* Per-caller state, good for any index with up to max_docs documents. */
kefu_search_scratch_t *kefu_search_scratch_create(kefu_alloc_t *a,
    uint32_t max_docs);
uint32_t kefu_search_scratch_capacity(const kefu_search_scratch_t *s);

/*
 * Ranks FAQs for a query; ctx may be NULL.  Writes up to k hits, best
 * first, one per FAQ, and returns their number, or KEFU_ERROR for invalid
 * UTF-8 or a scratch too small for the index.
 */
int kefu_index_search(const kefu_index_t *idx, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len, const kefu_search_ctx_t *ctx,
    kefu_hit_t *hits, size_t k);

/*
 * The normalised query terms found in a hit's variant, for the trainer's
 * console.  Valid for the last search on s; strings point into s and stay
 * valid until its next search.  Returns the number of terms written.
 */
size_t kefu_index_matched_terms(const kefu_index_t *idx,
    kefu_search_scratch_t *s, const kefu_hit_t *hit, kefu_str_t *terms,
    size_t max);

/*
 * Decision for the top hits (best first) and the tenant's thresholds:
 *   answer   the best hit is an exact match (hit.exact) and the runner-up
 *            is not, or best confidence >= high and the runner-up's is at
 *            least 0.1 lower (the margin rule);
 *   clarify  otherwise, when the confidences of the 2-3 choices add up to
 *            >= low (the chance that the right FAQ is among them);
 *   fallback otherwise.
 * For clarify, choices[] (room for 3) gets indexes into hits.
 */
kefu_decision_e kefu_decide(const kefu_hit_t *hits, size_t n, double high,
    double low, size_t *choices, size_t *nchoices);

#endif /* KEFU_INDEX_H */
