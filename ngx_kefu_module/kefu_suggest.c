/*
 * ngx_kefu: "猜你关心" ranking, trail format and hot counter arithmetic.
 *
 * Cost of one ranking: one exp2() per trail event, one hash lookup per
 * distinct event type, one pass over the (capped) postings of those types,
 * the scene's and the hot list, and a bounded heap of candidates.  Nothing
 * is proportional to the size of the KB: per-FAQ accumulators (16 bytes)
 * live in a per-worker scratch and are reset by a generation stamp, not
 * memset.  Reasons are worked out for the few FAQs returned only.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kefu_suggest.h"
#include "kefu_validate.h"


#define KEFU_SUGGEST_TYPE_SLOTS   1024      /* > 2 x KEFU_SUGGEST_MAX_TYPES */
#define KEFU_SUGGEST_CANDIDATES   128
#define KEFU_SUGGEST_MAX_HALVES   12        /* older events are ignored */
#define KEFU_SUGGEST_HOT_SCALE    2.0
#define KEFU_SUGGEST_MAX_NAME     255
#define KEFU_SUGGEST_MAX_RISK     256       /* risk-tier FAQs per call */

#define KEFU_ACC_TIER             0x01
#define KEFU_ACC_ASKED            0x02


typedef struct {
    uint32_t                faq;
    float                   weight;
} kefu_suggest_posting_t;


typedef struct {
    uint32_t                entry;
    float                   weight;
    uint32_t                in_cap;     /* among the entry's strongest */
} kefu_suggest_fwd_t;


typedef struct {
    const unsigned char    *name;
    uint32_t                len;
    uint32_t                hash;
    uint32_t                scene;
    uint32_t                first;      /* postings, strongest first */
    uint32_t                n;
    uint32_t                ncap;       /* min(n, KEFU_SUGGEST_MAX_POSTINGS) */
    uint32_t                rfirst;     /* risk FAQs among them */
    uint32_t                rn;
} kefu_suggest_entry_t;


struct kefu_suggest_index_s {
    const kefu_kb_t         *kb;
    kefu_suggest_entry_t    *entries;
    uint32_t                 nentries;
    uint32_t                *slots;     /* entry index + 1 */
    uint32_t                 mask;
    kefu_suggest_posting_t  *postings;
    kefu_suggest_posting_t  *risk;
    uint32_t                *fwd_first; /* per FAQ, nfaqs + 1 */
    kefu_suggest_fwd_t      *fwd;
};


typedef struct {
    uint32_t                stamp;      /* == scratch gen: valid */
    uint16_t                flags;      /* KEFU_ACC_* */
    uint16_t                risk;       /* index in scratch->risk */
    double                  score;
} kefu_suggest_acc_t;


typedef struct {
    const unsigned char         *name;
    uint32_t                     len;
    uint32_t                     hash;
    uint32_t                     stamp;
    double                       sum;       /* decayed number of events */
    int64_t                      newest;    /* smallest age */
    int64_t                      oldest_w;  /* largest age in the risk
                                               window, -1: none */
    const kefu_suggest_entry_t  *entry;
} kefu_suggest_type_t;


typedef struct {
    uint16_t                type;       /* slot of the strongest event */
    uint16_t                pattern;
    double                  value;
} kefu_suggest_risk_t;


struct kefu_suggest_scratch_s {
    size_t                  cap;
    uint32_t                gen;
    kefu_suggest_acc_t     *acc;
    uint32_t               *touched;
    size_t                  ntouched;
    size_t                  nused;
    size_t                  nrisk;
    double                  hot_top;
    uint16_t                used[KEFU_SUGGEST_MAX_TYPES];
    uint32_t                cand[KEFU_SUGGEST_CANDIDATES];
    kefu_suggest_risk_t     risk[KEFU_SUGGEST_MAX_RISK];
    kefu_suggest_type_t     types[KEFU_SUGGEST_TYPE_SLOTS];
};


/*
 * Risk patterns, strongest first.  With `first`, the pattern needs an
 * event `first` within the risk window followed (same time or later) by
 * one of `then`; without, one of `then` within the window.
 */
typedef struct {
    const char             *name;
    const char             *first;
    const char             *then[3];
} kefu_risk_pattern_t;


static const kefu_risk_pattern_t  kefu_risk_patterns[] = {
    { "new_device_transfer", "login_new_device",
      { "transfer_large", "transfer_new_payee", NULL } },
    { "fraud_keyword", NULL, { "keyword_shuadan", NULL, NULL } },
    { "phone_lost", NULL, { "phone_lost_reported", NULL, NULL } },
};

#define KEFU_RISK_NPATTERNS                                                  \
    (sizeof(kefu_risk_patterns) / sizeof(kefu_risk_patterns[0]))


static uint32_t
kefu_suggest_hash(const unsigned char *p, size_t len, uint32_t seed)
{
    size_t    i;
    uint32_t  h;

    /* FNV-1a */
    h = 2166136261u ^ seed;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }

    return h;
}


static kefu_suggest_entry_t *
kefu_suggest_lookup(const kefu_suggest_index_t *idx, const unsigned char *name,
    size_t len, uint32_t scene)
{
    uint32_t               h, slot, v;
    kefu_suggest_entry_t  *e;

    if (idx->nentries == 0 || len == 0) {
        return NULL;
    }

    h = kefu_suggest_hash(name, len, scene);
    slot = h & idx->mask;

    for ( ;; ) {
        v = idx->slots[slot];

        if (v == 0) {
            return NULL;
        }

        e = &idx->entries[v - 1];

        if (e->hash == h && e->scene == scene && e->len == len
            && memcmp(e->name, name, len) == 0)
        {
            return e;
        }

        slot = (slot + 1) & idx->mask;
    }
}


static int
kefu_suggest_posting_cmp(const void *a, const void *b)
{
    const kefu_suggest_posting_t  *x = a, *y = b;

    if (x->weight != y->weight) {
        return x->weight > y->weight ? -1 : 1;
    }

    return x->faq < y->faq ? -1 : (x->faq > y->faq);
}


kefu_suggest_index_t *
kefu_suggest_index_build(kefu_alloc_t *a, const kefu_kb_t *kb)
{
    size_t                   i, j, total, size, nrisk;
    uint32_t                 h, slot, v, first, *fill, e;
    kefu_trigger_t          *tr;
    kefu_suggest_fwd_t      *fw;
    kefu_suggest_entry_t    *en;
    kefu_suggest_index_t    *idx;
    kefu_suggest_posting_t  *po;

    idx = kefu_calloc(a, sizeof(kefu_suggest_index_t));
    if (idx == NULL) {
        return NULL;
    }

    idx->kb = kb;

    total = 0;
    for (i = 0; i < kb->nfaqs; i++) {
        total += kb->faqs[i].ntriggers;
    }

    if (total > UINT32_MAX / 4 || kb->nfaqs > UINT32_MAX / 4) {
        return NULL;
    }

    idx->fwd_first = kefu_calloc(a, (kb->nfaqs + 1) * sizeof(uint32_t));
    if (idx->fwd_first == NULL) {
        return NULL;
    }

    if (total == 0) {
        return idx;
    }

    for (size = 16; size < total * 2; size <<= 1) {
        /* void */
    }

    idx->slots = kefu_calloc(a, size * sizeof(uint32_t));
    idx->entries = kefu_calloc(a, total * sizeof(kefu_suggest_entry_t));
    idx->postings = kefu_alloc(a, total * sizeof(kefu_suggest_posting_t));
    idx->risk = kefu_alloc(a, total * sizeof(kefu_suggest_posting_t));
    idx->fwd = kefu_alloc(a, total * sizeof(kefu_suggest_fwd_t));
    fill = kefu_calloc(a, (kb->nfaqs + total) * sizeof(uint32_t));
    if (idx->slots == NULL || idx->entries == NULL || idx->postings == NULL
        || idx->risk == NULL || idx->fwd == NULL || fill == NULL)
    {
        return NULL;
    }

    idx->mask = (uint32_t) size - 1;

    /* pass 1: distinct names and their posting counts */
    for (i = 0; i < kb->nfaqs; i++) {
        for (j = 0; j < kb->faqs[i].ntriggers; j++) {
            tr = &kb->faqs[i].triggers[j];
            h = kefu_suggest_hash(tr->name.data, tr->name.len, tr->scene);
            slot = h & idx->mask;

            for ( ;; ) {
                v = idx->slots[slot];

                if (v == 0) {
                    en = &idx->entries[idx->nentries++];
                    en->name = tr->name.data;
                    en->len = (uint32_t) tr->name.len;
                    en->hash = h;
                    en->scene = tr->scene;
                    en->n = 1;
                    idx->slots[slot] = idx->nentries;
                    break;
                }

                en = &idx->entries[v - 1];

                if (en->hash == h && en->scene == tr->scene
                    && en->len == tr->name.len
                    && memcmp(en->name, tr->name.data, en->len) == 0)
                {
                    en->n++;
                    break;
                }

                slot = (slot + 1) & idx->mask;
            }
        }
    }

    first = 0;
    for (e = 0; e < idx->nentries; e++) {
        idx->entries[e].first = first;
        first += idx->entries[e].n;
    }

    /* pass 2: postings, then strongest first within each name */
    for (i = 0; i < kb->nfaqs; i++) {
        for (j = 0; j < kb->faqs[i].ntriggers; j++) {
            tr = &kb->faqs[i].triggers[j];
            en = kefu_suggest_lookup(idx, tr->name.data, tr->name.len,
                                     tr->scene);
            if (en == NULL) {
                return NULL;    /* cannot happen */
            }

            e = (uint32_t) (en - idx->entries);
            po = &idx->postings[en->first + fill[kb->nfaqs + e]++];
            po->faq = (uint32_t) i;
            po->weight = (float) tr->weight;
        }
    }

    nrisk = 0;

    for (e = 0; e < idx->nentries; e++) {
        en = &idx->entries[e];
        po = &idx->postings[en->first];

        qsort(po, en->n, sizeof(kefu_suggest_posting_t),
              kefu_suggest_posting_cmp);

        en->ncap = en->n < KEFU_SUGGEST_MAX_POSTINGS
                   ? en->n : KEFU_SUGGEST_MAX_POSTINGS;
        en->rfirst = (uint32_t) nrisk;

        for (j = 0; j < en->n; j++) {
            if (kb->faqs[po[j].faq].risk) {
                idx->risk[nrisk++] = po[j];
            }
        }

        en->rn = (uint32_t) (nrisk - en->rfirst);
    }

    /* the forward map FAQ -> (name, weight), to explain a FAQ's score */
    first = 0;
    for (i = 0; i < kb->nfaqs; i++) {
        idx->fwd_first[i] = first;
        first += kb->faqs[i].ntriggers;
    }

    idx->fwd_first[kb->nfaqs] = first;

    for (e = 0; e < idx->nentries; e++) {
        en = &idx->entries[e];
        po = &idx->postings[en->first];

        for (j = 0; j < en->n; j++) {
            fw = &idx->fwd[idx->fwd_first[po[j].faq] + fill[po[j].faq]++];
            fw->entry = e;
            fw->weight = po[j].weight;
            fw->in_cap = j < en->ncap;
        }
    }

    return idx;
}


const kefu_kb_t *
kefu_suggest_index_kb(const kefu_suggest_index_t *idx)
{
    return idx->kb;
}


kefu_suggest_scratch_t *
kefu_suggest_scratch_create(kefu_alloc_t *a, size_t nfaqs)
{
    kefu_suggest_scratch_t  *s;

    if (nfaqs == 0) {
        nfaqs = 1;
    }

    s = kefu_calloc(a, sizeof(kefu_suggest_scratch_t));
    if (s == NULL) {
        return NULL;
    }

    s->acc = kefu_calloc(a, nfaqs * sizeof(kefu_suggest_acc_t));
    s->touched = kefu_alloc(a, nfaqs * sizeof(uint32_t));
    if (s->acc == NULL || s->touched == NULL) {
        return NULL;
    }

    s->cap = nfaqs;

    return s;
}


size_t
kefu_suggest_scratch_capacity(const kefu_suggest_scratch_t *s)
{
    return s->cap;
}


const char *
kefu_suggest_reason_name(kefu_reason_e reason)
{
    static const char  *names[] = {
        "welcome", "hot", "scene", "event", "risk"
    };

    return (unsigned) reason < sizeof(names) / sizeof(names[0])
           ? names[reason] : "welcome";
}


static kefu_suggest_acc_t *
kefu_suggest_touch(kefu_suggest_scratch_t *s, uint32_t faq)
{
    kefu_suggest_acc_t  *a;

    a = &s->acc[faq];

    if (a->stamp != s->gen) {
        a->stamp = s->gen;
        a->flags = 0;
        a->score = 0;
        s->touched[s->ntouched++] = faq;
    }

    return a;
}


static void
kefu_suggest_add_list(kefu_suggest_scratch_t *s,
    const kefu_suggest_posting_t *po, size_t n, double mul)
{
    size_t               k;
    uint32_t             gen;
    kefu_suggest_acc_t  *a;

    gen = s->gen;

    for (k = 0; k < n; k++) {
        a = &s->acc[po[k].faq];

        if (a->stamp != gen) {
            a->stamp = gen;
            a->flags = 0;
            a->score = 0;
            s->touched[s->ntouched++] = po[k].faq;
        }

        a->score += po[k].weight * mul;
    }
}


static kefu_suggest_type_t *
kefu_suggest_type(kefu_suggest_scratch_t *s, const unsigned char *name,
    size_t len, int insert)
{
    uint32_t              h, slot;
    kefu_suggest_type_t  *t;

    h = kefu_suggest_hash(name, len, 0);
    slot = h & (KEFU_SUGGEST_TYPE_SLOTS - 1);

    for ( ;; ) {
        t = &s->types[slot];

        if (t->stamp != s->gen) {
            if (!insert || s->nused == KEFU_SUGGEST_MAX_TYPES) {
                return NULL;
            }

            t->stamp = s->gen;
            t->name = name;
            t->len = (uint32_t) len;
            t->hash = h;
            t->sum = 0;
            t->newest = INT64_MAX;
            t->oldest_w = -1;
            t->entry = NULL;
            s->used[s->nused++] = (uint16_t) slot;
            return t;
        }

        if (t->hash == h && t->len == len && memcmp(t->name, name, len) == 0)
        {
            return t;
        }

        slot = (slot + 1) & (KEFU_SUGGEST_TYPE_SLOTS - 1);
    }
}


static kefu_suggest_type_t *
kefu_suggest_type_named(kefu_suggest_scratch_t *s, const char *name)
{
    return kefu_suggest_type(s, (const unsigned char *) name, strlen(name),
                             0);
}


/* "a ranks before b" */

static int
kefu_suggest_better(const kefu_suggest_scratch_t *s, uint32_t a, uint32_t b)
{
    const kefu_suggest_acc_t  *x, *y;

    x = &s->acc[a];
    y = &s->acc[b];

    if ((x->flags ^ y->flags) & KEFU_ACC_TIER) {
        return (x->flags & KEFU_ACC_TIER) != 0;
    }

    if (x->score != y->score) {
        return x->score > y->score;
    }

    return a < b;
}


/* the FAQ got a score or a risk mark in this call */

static int
kefu_suggest_scored(const kefu_suggest_scratch_t *s, uint32_t faq)
{
    const kefu_suggest_acc_t  *a;

    a = &s->acc[faq];

    return a->stamp == s->gen
           && ((a->flags & KEFU_ACC_TIER) || a->score > 0);
}


static int
kefu_suggest_asked(const kefu_suggest_scratch_t *s, uint32_t faq)
{
    return s->acc[faq].stamp == s->gen
           && (s->acc[faq].flags & KEFU_ACC_ASKED);
}


/* min-heap on "better": the root is the weakest candidate kept */

static void
kefu_suggest_sift_down(const kefu_suggest_scratch_t *s, uint32_t *h,
    size_t n, size_t i)
{
    size_t    l, r, m;
    uint32_t  tmp;

    for ( ;; ) {
        l = 2 * i + 1;
        r = l + 1;
        m = i;

        if (l < n && kefu_suggest_better(s, h[m], h[l])) {
            m = l;
        }

        if (r < n && kefu_suggest_better(s, h[m], h[r])) {
            m = r;
        }

        if (m == i) {
            return;
        }

        tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}


static void
kefu_suggest_sift_up(const kefu_suggest_scratch_t *s, uint32_t *h, size_t i)
{
    size_t    p;
    uint32_t  tmp;

    while (i > 0) {
        p = (i - 1) / 2;

        if (!kefu_suggest_better(s, h[p], h[i])) {
            return;
        }

        tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}


typedef struct {
    uint32_t    topic[KEFU_SUGGEST_MAX_LIMIT];
    size_t      count[KEFU_SUGGEST_MAX_LIMIT];
    size_t      n;
} kefu_suggest_topics_t;


static size_t
kefu_suggest_topic_count(const kefu_suggest_topics_t *tc, uint32_t topic)
{
    size_t  i;

    for (i = 0; i < tc->n; i++) {
        if (tc->topic[i] == topic) {
            return tc->count[i];
        }
    }

    return 0;
}


static void
kefu_suggest_topic_add(kefu_suggest_topics_t *tc, uint32_t topic)
{
    size_t  i;

    for (i = 0; i < tc->n; i++) {
        if (tc->topic[i] == topic) {
            tc->count[i]++;
            return;
        }
    }

    if (tc->n < KEFU_SUGGEST_MAX_LIMIT) {
        tc->topic[tc->n] = topic;
        tc->count[tc->n++] = 1;
    }
}


static int
kefu_suggest_taken(const kefu_suggest_out_t *out, uint32_t faq)
{
    size_t  i;

    for (i = 0; i < out->n; i++) {
        if (out->items[i].faq == faq) {
            return 1;
        }
    }

    return 0;
}


/*
 * Why a FAQ scored: its largest single contribution, recomputed from the
 * forward map (the same terms that kefu_suggest() added up).
 */

static void
kefu_suggest_explain(const kefu_suggest_index_t *idx,
    kefu_suggest_scratch_t *s, const kefu_suggest_params_t *p,
    const kefu_suggest_in_t *in, kefu_suggestion_t *it, unsigned *personal)
{
    size_t                       k, last;
    double                       v, best;
    const kefu_suggest_fwd_t    *fw;
    const kefu_suggest_type_t   *t;
    const kefu_suggest_entry_t  *en;

    best = 0;
    last = idx->fwd_first[it->faq + 1];

    for (k = idx->fwd_first[it->faq]; k < last; k++) {
        fw = &idx->fwd[k];

        if (!fw->in_cap) {
            continue;
        }

        en = &idx->entries[fw->entry];

        if (en->scene) {
            if (p->scene_weight > 0 && in->scene.len == en->len
                && memcmp(in->scene.data, en->name, en->len) == 0)
            {
                v = fw->weight * p->scene_weight;

                if (v > best) {
                    best = v;
                    it->reason = KEFU_REASON_SCENE;
                    it->event = in->scene;
                    it->age = 0;
                }
            }

            continue;
        }

        t = kefu_suggest_type(s, en->name, en->len, 0);
        if (t == NULL || t->entry != en || !(t->sum > 0)) {
            continue;
        }

        v = fw->weight * t->sum;
        *personal = 1;

        if (v > best) {
            best = v;
            it->reason = KEFU_REASON_EVENT;
            it->event.data = (unsigned char *) t->name;
            it->event.len = t->len;
            it->age = t->newest;
        }
    }

    for (k = 0; k < in->nhot && s->hot_top > 0 && p->hot_weight > 0; k++) {
        if (in->hot[k].faq != it->faq) {
            continue;
        }

        v = KEFU_SUGGEST_HOT_SCALE * p->hot_weight * in->hot[k].count
            / s->hot_top;

        if (v > best) {
            best = v;
            it->reason = KEFU_REASON_HOT;
            it->event.len = 0;
            it->age = 0;
        }
    }
}


static void
kefu_suggest_take(const kefu_suggest_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out, kefu_suggest_topics_t *tc, uint32_t faq)
{
    unsigned                    personal;
    kefu_suggestion_t          *it;
    const kefu_kb_t            *kb;
    const kefu_suggest_acc_t   *a;
    const kefu_suggest_risk_t  *rk;
    const kefu_suggest_type_t  *t;

    kb = idx->kb;
    it = &out->items[out->n++];
    memset(it, 0, sizeof(kefu_suggestion_t));
    it->faq = faq;
    it->reason = KEFU_REASON_WELCOME;

    kefu_suggest_topic_add(tc, kb->faq_topic[faq]);

    if (!kefu_suggest_scored(s, faq)) {
        return;
    }

    a = &s->acc[faq];
    it->score = a->score;

    if (a->flags & KEFU_ACC_TIER) {
        rk = &s->risk[a->risk];
        t = &s->types[rk->type];
        it->reason = KEFU_REASON_RISK;
        it->signal = kefu_risk_patterns[rk->pattern].name;
        it->event.data = (unsigned char *) t->name;
        it->event.len = t->len;
        it->age = t->newest == INT64_MAX ? 0 : t->newest;
        out->actions |= kb->faqs[faq].actions;
        out->personalized = 1;     /* risk comes from the user's trail */
        return;
    }

    personal = 0;
    kefu_suggest_explain(idx, s, p, in, it, &personal);

    if (personal) {
        out->personalized = 1;
    }
}


/*
 * One type of the trail summary: its newest timestamps give the ages the
 * risk patterns look at, its decayed count the sum, unless even its
 * newest event is past the decay horizon.
 */

static void
kefu_suggest_trail_sum(kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    const kefu_suggest_sum_t *sm, double max_age)
{
    size_t                k;
    double                d;
    int64_t               age, newest;
    kefu_suggest_type_t  *t;

    if (sm->type.len == 0 || sm->type.len > KEFU_SUGGEST_MAX_NAME
        || sm->nts == 0 || sm->nts > KEFU_SUGGEST_SUM_TS)
    {
        return;
    }

    t = kefu_suggest_type(s, sm->type.data, sm->type.len, 1);
    if (t == NULL) {
        return;
    }

    newest = INT64_MAX;

    for (k = 0; k < sm->nts; k++) {
        age = in->now - sm->ts[k];
        age = age < 0 ? 0 : age;

        if (age < newest) {
            newest = age;
        }

        if (age <= p->risk_window && age > t->oldest_w) {
            t->oldest_w = age;
        }
    }

    if (newest < t->newest) {
        t->newest = newest;
    }

    if ((double) newest <= max_age && sm->count > 0) {
        /* counts stored ahead of now (clock skew) are not grown */
        d = (double) (in->now - sm->ref);
        t->sum += sm->count * exp2(-(d < 0 ? 0 : d) / p->half_life);
    }
}


/* Adds up the trail's events by type and notes the risk window's ages. */

static void
kefu_suggest_trail(const kefu_suggest_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in)
{
    size_t                        i;
    double                        max_age;
    int64_t                       age;
    kefu_suggest_type_t          *t;
    const kefu_suggest_event_t   *e;

    max_age = p->half_life * KEFU_SUGGEST_MAX_HALVES;

    for (i = 0; i < in->nevents; i++) {
        e = &in->events[i];

        if (e->type.len == 0 || e->type.len > KEFU_SUGGEST_MAX_NAME) {
            continue;
        }

        t = kefu_suggest_type(s, e->type.data, e->type.len, 1);
        if (t == NULL) {
            continue;
        }

        age = e->age < 0 ? 0 : e->age;

        if (age < t->newest) {
            t->newest = age;
        }

        if (age <= p->risk_window && age > t->oldest_w) {
            t->oldest_w = age;
        }

        if ((double) age <= max_age) {
            /* repeated events add up; each halves every half-life */
            t->sum += exp2(-(double) age / p->half_life);
        }
    }

    for (i = 0; i < in->nsums; i++) {
        kefu_suggest_trail_sum(s, p, in, &in->sums[i], max_age);
    }

    for (i = 0; i < s->nused; i++) {
        t = &s->types[s->used[i]];
        t->entry = kefu_suggest_lookup(idx, t->name, t->len, 0);

        if (t->entry != NULL && t->sum > 0) {
            kefu_suggest_add_list(s, &idx->postings[t->entry->first],
                                  t->entry->ncap, t->sum);
        }
    }
}


static int
kefu_suggest_fires(kefu_suggest_scratch_t *s, const kefu_risk_pattern_t *rp)
{
    size_t                j;
    int64_t               limit;
    kefu_suggest_type_t  *t;

    limit = -1;

    if (rp->first != NULL) {
        /* the oldest login in the window; a transfer at or after it */
        t = kefu_suggest_type_named(s, rp->first);
        if (t == NULL || t->oldest_w < 0) {
            return 0;
        }

        limit = t->oldest_w;
    }

    for (j = 0; j < 3 && rp->then[j] != NULL; j++) {
        t = kefu_suggest_type_named(s, rp->then[j]);
        if (t == NULL || t->oldest_w < 0) {
            continue;
        }

        if (limit < 0 || t->newest <= limit) {
            return 1;
        }
    }

    return 0;
}


static void
kefu_suggest_risk_mark(const kefu_suggest_index_t *idx,
    kefu_suggest_scratch_t *s, size_t pattern, const char *name)
{
    size_t                         k;
    double                         v;
    kefu_suggest_acc_t            *a;
    kefu_suggest_risk_t           *rk;
    kefu_suggest_type_t           *t;
    const kefu_suggest_posting_t  *po;

    t = kefu_suggest_type_named(s, name);
    if (t == NULL || t->entry == NULL) {
        return;
    }

    po = &idx->risk[t->entry->rfirst];

    for (k = 0; k < t->entry->rn; k++) {
        /* an event past the decay horizon still names the reason */
        v = po[k].weight * (t->sum > 0 ? t->sum : 1e-9);
        a = kefu_suggest_touch(s, po[k].faq);

        if (!(a->flags & KEFU_ACC_TIER)) {
            if (s->nrisk == KEFU_SUGGEST_MAX_RISK) {
                continue;
            }

            a->flags |= KEFU_ACC_TIER;
            a->risk = (uint16_t) s->nrisk++;
            rk = &s->risk[a->risk];

        } else {
            rk = &s->risk[a->risk];

            if (v <= rk->value) {
                continue;
            }
        }

        rk->value = v;
        rk->pattern = (uint16_t) pattern;
        rk->type = (uint16_t) (t - s->types);
    }
}


static void
kefu_suggest_risk(const kefu_suggest_index_t *idx, kefu_suggest_scratch_t *s,
    kefu_suggest_out_t *out)
{
    size_t                      i, j;
    const kefu_risk_pattern_t  *rp;

    for (i = 0; i < KEFU_RISK_NPATTERNS; i++) {
        rp = &kefu_risk_patterns[i];

        if (!kefu_suggest_fires(s, rp)) {
            continue;
        }

        if (out->risk == NULL) {
            out->risk = rp->name;
        }

        if (rp->first != NULL) {
            kefu_suggest_risk_mark(idx, s, i, rp->first);
        }

        for (j = 0; j < 3 && rp->then[j] != NULL; j++) {
            kefu_suggest_risk_mark(idx, s, i, rp->then[j]);
        }
    }
}


int
kefu_suggest(const kefu_suggest_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out)
{
    size_t                       i, nheap, ncand, limit, cap, kmax;
    double                       bar;
    uint32_t                     faq, tmp, topic;
    const kefu_kb_t             *kb;
    kefu_suggest_acc_t          *a;
    kefu_suggest_entry_t        *e;
    kefu_suggest_topics_t        tc;

    kb = idx->kb;

    memset(out, 0, sizeof(kefu_suggest_out_t));

    if (s->cap < kb->nfaqs) {
        return KEFU_ERROR;
    }

    limit = in->limit;
    if (limit == 0 || limit > KEFU_SUGGEST_MAX_LIMIT) {
        limit = KEFU_SUGGEST_MAX_LIMIT;
    }

    if (++s->gen == 0) {
        /* after 2^32 calls the stamps could match again: reset them */
        for (i = 0; i < s->cap; i++) {
            s->acc[i].stamp = 0;
        }

        for (i = 0; i < KEFU_SUGGEST_TYPE_SLOTS; i++) {
            s->types[i].stamp = 0;
        }

        s->gen = 1;
    }

    s->ntouched = 0;
    s->nused = 0;
    s->nrisk = 0;
    s->hot_top = 0;

    if (p->half_life > 0) {
        kefu_suggest_trail(idx, s, p, in);
    }

    if (in->scene.len && p->scene_weight > 0) {
        e = kefu_suggest_lookup(idx, in->scene.data, in->scene.len, 1);

        if (e != NULL) {
            kefu_suggest_add_list(s, &idx->postings[e->first], e->ncap,
                                  p->scene_weight);
        }
    }

    if (in->nhot && p->hot_weight > 0) {
        for (i = 0; i < in->nhot; i++) {
            if (in->hot[i].count > s->hot_top) {
                s->hot_top = in->hot[i].count;
            }
        }

        for (i = 0; s->hot_top > 0 && i < in->nhot; i++) {
            if (in->hot[i].faq < kb->nfaqs && in->hot[i].count > 0) {
                kefu_suggest_touch(s, in->hot[i].faq)->score +=
                    KEFU_SUGGEST_HOT_SCALE * p->hot_weight
                    * in->hot[i].count / s->hot_top;
            }
        }
    }

    kefu_suggest_risk(idx, s, out);

    for (i = 0; i < in->nasked; i++) {
        if (in->asked[i] < kb->nfaqs) {
            kefu_suggest_touch(s, in->asked[i])->flags |= KEFU_ACC_ASKED;
        }
    }

    /*
     * The best candidates in a bounded heap, then sorted best first;
     * room for diversity and asked FAQs, but not more.
     */
    kmax = 4 * limit + 16;
    if (kmax > KEFU_SUGGEST_CANDIDATES) {
        kmax = KEFU_SUGGEST_CANDIDATES;
    }

    nheap = 0;
    bar = -1;     /* the root's score once the heap is full */

    for (i = 0; i < s->ntouched; i++) {
        faq = s->touched[i];
        a = &s->acc[faq];

        if (a->flags == 0) {
            /* most FAQs: no risk, not asked, and too weak */
            if (!(a->score > 0) || a->score < bar) {
                continue;
            }

        } else if (a->flags & KEFU_ACC_ASKED) {
            if ((a->flags & KEFU_ACC_TIER) || a->score > 0) {
                out->personalized = 1;
            }

            continue;
        }

        if (nheap < kmax) {
            s->cand[nheap++] = faq;
            kefu_suggest_sift_up(s, s->cand, nheap - 1);

        } else if (kefu_suggest_better(s, faq, s->cand[0])) {
            s->cand[0] = faq;
            kefu_suggest_sift_down(s, s->cand, nheap, 0);

        } else {
            continue;
        }

        if (nheap == kmax) {
            a = &s->acc[s->cand[0]];
            /* a non-risk FAQ cannot beat a risk root */
            bar = (a->flags & KEFU_ACC_TIER) ? HUGE_VAL : a->score;
        }
    }

    for (ncand = nheap; nheap > 1; /* void */) {
        tmp = s->cand[0];
        s->cand[0] = s->cand[--nheap];
        s->cand[nheap] = tmp;
        kefu_suggest_sift_down(s, s->cand, nheap, 0);
    }

    /*
     * Diversity: at most per_topic items of a topic while candidates or
     * welcome questions of other topics remain, then the rest in order.
     */
    memset(&tc, 0, sizeof(kefu_suggest_topics_t));
    cap = p->per_topic;

    for (i = 0; i < ncand && out->n < limit; i++) {
        faq = s->cand[i];
        topic = kb->faq_topic[faq];

        if (cap && topic && kefu_suggest_topic_count(&tc, topic) >= cap) {
            continue;
        }

        kefu_suggest_take(idx, s, p, in, out, &tc, faq);
    }

    for (i = 0; i < kb->nwelcome && out->n < limit; i++) {
        faq = kb->welcome[i];

        if (kefu_suggest_taken(out, faq)) {
            continue;
        }

        if (kefu_suggest_asked(s, faq)) {
            out->personalized = 1;
            continue;
        }

        topic = kb->faq_topic[faq];

        if (cap && topic && kefu_suggest_topic_count(&tc, topic) >= cap) {
            continue;
        }

        kefu_suggest_take(idx, s, p, in, out, &tc, faq);
    }

    for (i = 0; i < ncand && out->n < limit; i++) {
        if (!kefu_suggest_taken(out, s->cand[i])) {
            kefu_suggest_take(idx, s, p, in, out, &tc, s->cand[i]);
        }
    }

    for (i = 0; i < kb->nwelcome && out->n < limit; i++) {
        faq = kb->welcome[i];

        if (!kefu_suggest_taken(out, faq) && !kefu_suggest_asked(s, faq)) {
            kefu_suggest_take(idx, s, p, in, out, &tc, faq);
        }
    }

    if (out->risk != NULL && out->actions == 0) {
        out->actions = KEFU_ACT_HANDOFF;
    }

    return KEFU_OK;
}


/* --- POST /v1/events --------------------------------------------------- */


int
kefu_event_type_valid(const unsigned char *p, size_t len, size_t max)
{
    size_t         i;
    unsigned char  c;

    if (len == 0 || len > max) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '.' || c == ':' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static int
kefu_events_attrs(const kefu_json_t *v, size_t i, char *err, size_t errlen)
{
    size_t              k;
    const kefu_json_t  *x;

    if (v->type != KEFU_JSON_OBJECT) {
        snprintf(err, errlen, "events[%zu].attrs must be an object", i);
        return KEFU_ERROR;
    }

    if (v->n > KEFU_EVENT_MAX_ATTRS) {
        snprintf(err, errlen, "events[%zu].attrs has more than %d keys", i,
                 KEFU_EVENT_MAX_ATTRS);
        return KEFU_ERROR;
    }

    for (k = 0; k < v->n; k++) {
        if (!kefu_is_ident(v->keys[k].data, v->keys[k].len,
                           KEFU_EVENT_MAX_ATTR_KEY))
        {
            snprintf(err, errlen, "events[%zu].attrs keys must be 1 to %d "
                     "letters, digits or \"_.:-\"", i,
                     KEFU_EVENT_MAX_ATTR_KEY);
            return KEFU_ERROR;
        }

        x = v->items[k];

        switch (x->type) {

        case KEFU_JSON_STRING:
            if (kefu_utf8_length(x->str.data, x->str.len)
                > KEFU_EVENT_MAX_ATTR_STR)
            {
                snprintf(err, errlen, "events[%zu].attrs.%s is longer than "
                         "%d characters", i, (char *) v->keys[k].data,
                         KEFU_EVENT_MAX_ATTR_STR);
                return KEFU_ERROR;
            }

            break;

        case KEFU_JSON_NUMBER:
        case KEFU_JSON_BOOL:
            break;

        default:
            snprintf(err, errlen, "events[%zu].attrs.%s must be a string, "
                     "a number or a boolean", i, (char *) v->keys[k].data);
            return KEFU_ERROR;
        }
    }

    return KEFU_OK;
}


int
kefu_events_check(const kefu_json_t *body, int64_t now, int64_t max_age,
    kefu_event_in_t *out, size_t *n, char *err, size_t errlen)
{
    size_t              i, k;
    const kefu_json_t  *events, *ev, *v;
    const kefu_str_t   *key;

    *n = 0;

    if (body == NULL || body->type != KEFU_JSON_OBJECT) {
        snprintf(err, errlen, "body must be a JSON object");
        return KEFU_ERROR;
    }

    for (k = 0; k < body->n; k++) {
        if (strcmp((char *) body->keys[k].data, "events") != 0) {
            snprintf(err, errlen, "unknown field (only \"events\")");
            return KEFU_ERROR;
        }
    }

    events = kefu_json_get(body, "events");

    if (events == NULL || events->type != KEFU_JSON_ARRAY) {
        snprintf(err, errlen, "field \"events\" must be an array");
        return KEFU_ERROR;
    }

    if (events->n == 0 || events->n > KEFU_EVENTS_MAX_BATCH) {
        snprintf(err, errlen, "field \"events\" must have 1 to %d items",
                 KEFU_EVENTS_MAX_BATCH);
        return KEFU_ERROR;
    }

    for (i = 0; i < events->n; i++) {
        ev = events->items[i];

        if (ev->type != KEFU_JSON_OBJECT) {
            snprintf(err, errlen, "events[%zu] must be an object", i);
            return KEFU_ERROR;
        }

        for (k = 0; k < ev->n; k++) {
            key = &ev->keys[k];

            if (strcmp((char *) key->data, "type") != 0
                && strcmp((char *) key->data, "ts") != 0
                && strcmp((char *) key->data, "attrs") != 0)
            {
                snprintf(err, errlen, "events[%zu] has an unknown field "
                         "(known: type, ts, attrs)", i);
                return KEFU_ERROR;
            }
        }

        v = kefu_json_get(ev, "type");

        if (v == NULL || v->type != KEFU_JSON_STRING
            || !kefu_event_type_valid(v->str.data, v->str.len,
                                      KEFU_EVENT_MAX_TYPE))
        {
            snprintf(err, errlen, "events[%zu].type must be 1 to %d of "
                     "[a-z0-9_.:-]", i, KEFU_EVENT_MAX_TYPE);
            return KEFU_ERROR;
        }

        out[i].type = v->str;
        out[i].ts = now;
        out[i].attrs = NULL;

        v = kefu_json_get(ev, "ts");

        if (v != NULL) {
            if (v->type != KEFU_JSON_NUMBER || !v->is_int) {
                snprintf(err, errlen, "events[%zu].ts must be an integer "
                         "(unix seconds)", i);
                return KEFU_ERROR;
            }

            if (v->integer > now + KEFU_EVENT_MAX_SKEW) {
                snprintf(err, errlen, "events[%zu].ts is in the future "
                         "(unix seconds expected)", i);
                return KEFU_ERROR;
            }

            /* a trail_ttl of decades must not let 1969 in */
            if (v->integer < now - max_age || v->integer < 0) {
                snprintf(err, errlen, "events[%zu].ts is older than the "
                         "trail is kept", i);
                return KEFU_ERROR;
            }

            out[i].ts = v->integer;
        }

        v = kefu_json_get(ev, "attrs");

        if (v != NULL) {
            if (kefu_events_attrs(v, i, err, errlen) != KEFU_OK) {
                return KEFU_ERROR;
            }

            out[i].attrs = v->n ? v : NULL;
        }
    }

    *n = events->n;

    return KEFU_OK;
}


void
kefu_event_encode(kefu_buf_t *b, const kefu_event_in_t *ev)
{
    size_t              k;
    const kefu_json_t  *x;

    kefu_buf_adds(b, "{\"ts\":");
    kefu_buf_add_int(b, (long long) ev->ts);
    kefu_buf_adds(b, ",\"type\":");
    kefu_buf_add_json_str(b, ev->type.data, ev->type.len);

    if (ev->attrs != NULL) {
        kefu_buf_adds(b, ",\"attrs\":{");

        for (k = 0; k < ev->attrs->n; k++) {
            if (k) {
                kefu_buf_adds(b, ",");
            }

            kefu_buf_add_json_str(b, ev->attrs->keys[k].data,
                                  ev->attrs->keys[k].len);
            kefu_buf_adds(b, ":");

            x = ev->attrs->items[k];

            switch (x->type) {

            case KEFU_JSON_STRING:
                kefu_buf_add_json_str(b, x->str.data, x->str.len);
                break;

            case KEFU_JSON_BOOL:
                kefu_buf_adds(b, x->boolean ? "true" : "false");
                break;

            case KEFU_JSON_NUMBER:
                if (x->is_int) {
                    kefu_buf_add_int(b, (long long) x->integer);

                } else {
                    kefu_buf_addf(b, "%.17g", x->number);
                }

                break;

            default:
                kefu_buf_adds(b, "null");
                break;
            }
        }

        kefu_buf_adds(b, "}");
    }

    kefu_buf_adds(b, "}");
}


int
kefu_event_decode(const unsigned char *p, size_t len, kefu_str_t *type,
    int64_t *ts)
{
    size_t                i, start, digits;
    int64_t               v;

    static const char     head[] = "{\"ts\":";
    static const char     mid[] = ",\"type\":\"";

    if (len < sizeof(head) - 1 || memcmp(p, head, sizeof(head) - 1) != 0) {
        return KEFU_ERROR;
    }

    i = sizeof(head) - 1;
    v = 0;
    digits = 0;

    while (i < len && p[i] >= '0' && p[i] <= '9') {
        if (++digits > 15) {
            return KEFU_ERROR;
        }

        v = v * 10 + (p[i++] - '0');
    }

    if (digits == 0 || len - i < sizeof(mid) - 1
        || memcmp(p + i, mid, sizeof(mid) - 1) != 0)
    {
        return KEFU_ERROR;
    }

    i += sizeof(mid) - 1;
    start = i;

    while (i < len && p[i] != '"') {
        i++;
    }

    if (i + 1 >= len || (p[i + 1] != '}' && p[i + 1] != ',')
        || !kefu_event_type_valid(p + start, i - start, KEFU_EVENT_MAX_TYPE))
    {
        return KEFU_ERROR;
    }

    type->data = (unsigned char *) p + start;
    type->len = i - start;
    *ts = v;

    return KEFU_OK;
}


int
kefu_suggest_sum_record(const unsigned char *p, size_t len,
    kefu_suggest_sum_t *sums, size_t max, size_t *n)
{
    char                 buf[48], *end;
    size_t               i, j, k, nts;
    double               c;
    int64_t              ref, ts;
    kefu_suggest_sum_t  *sm;

    i = 0;
    ref = 0;

    while (i < len && p[i] >= '0' && p[i] <= '9' && ref < INT64_MAX / 100) {
        ref = ref * 10 + (p[i++] - '0');
    }

    if (i == 0 || (i < len && p[i] != ';')) {
        return KEFU_ERROR;
    }

    while (i < len && *n < max) {
        i++;                                /* ';' */
        sm = &sums[*n];

        /* the type */
        for (j = i; j < len && p[j] != ' ' && p[j] != ';'; j++) {
            /* void */
        }

        if (j == len || p[j] != ' '
            || !kefu_event_type_valid(p + i, j - i, KEFU_EVENT_MAX_TYPE))
        {
            return KEFU_ERROR;
        }

        sm->type.data = (unsigned char *) p + i;
        sm->type.len = j - i;
        i = j + 1;

        /* the count */
        for (j = i; j < len && p[j] != ' ' && p[j] != ';'; j++) {
            /* void */
        }

        if (j == len || p[j] != ' ' || j - i == 0 || j - i >= sizeof(buf)) {
            return KEFU_ERROR;
        }

        memcpy(buf, p + i, j - i);
        buf[j - i] = '\0';

        c = strtod(buf, &end);
        if (end != buf + (j - i) || !(c >= 0) || c > 1e300) {
            return KEFU_ERROR;
        }

        i = j;
        nts = 0;

        /* the timestamps, newest first */
        while (i < len && p[i] == ' ') {
            i++;
            ts = 0;
            k = i;

            while (i < len && p[i] >= '0' && p[i] <= '9'
                   && ts < INT64_MAX / 100)
            {
                ts = ts * 10 + (p[i++] - '0');
            }

            if (i == k || nts == KEFU_SUGGEST_SUM_TS) {
                return KEFU_ERROR;
            }

            sm->ts[nts++] = ts;
        }

        if (nts == 0 || (i < len && p[i] != ';')) {
            return KEFU_ERROR;
        }

        sm->count = c;
        sm->ref = ref;
        sm->nts = nts;
        (*n)++;
    }

    return KEFU_OK;
}


static int
kefu_suggest_sum_by_type(const void *a, const void *b)
{
    int                        c;
    size_t                     n;
    const kefu_suggest_sum_t  *x = a, *y = b;

    n = x->type.len < y->type.len ? x->type.len : y->type.len;
    c = memcmp(x->type.data, y->type.data, n);

    if (c != 0) {
        return c;
    }

    return (x->type.len > y->type.len) - (x->type.len < y->type.len);
}


static int
kefu_suggest_sum_by_newest(const void *a, const void *b)
{
    const kefu_suggest_sum_t  *x = a, *y = b;

    return (x->ts[0] < y->ts[0]) - (x->ts[0] > y->ts[0]);
}


int
kefu_suggest_sum_fold(kefu_suggest_sum_t *sums, size_t n, int64_t ref,
    double half_life, size_t cap, kefu_buf_t *out)
{
    size_t               i, j, k, m, max;
    kefu_suggest_sum_t  *d, *e;

    if (n == 0 || !(half_life > 0)) {
        return KEFU_ERROR;
    }

    qsort(sums, n, sizeof(kefu_suggest_sum_t), kefu_suggest_sum_by_type);

    /* merge each type's entries into its first one, counts as of ref */
    m = 0;

    for (i = 0; i < n; i = j) {
        d = &sums[m++];
        *d = sums[i];
        d->count = sums[i].count
                   * exp2((double) (sums[i].ref - ref) / half_life);
        max = kefu_suggest_sum_history(d->type.data, d->type.len)
              ? KEFU_SUGGEST_SUM_TS : 1;

        if (d->nts > max) {
            d->nts = max;
        }

        for (j = i + 1; j < n && kefu_suggest_sum_by_type(&sums[i], &sums[j])
                                 == 0; j++)
        {
            e = &sums[j];
            d->count += e->count * exp2((double) (e->ref - ref) / half_life);

            /* merge the two newest-first lists, distinct, max kept */
            for (k = 0; k < e->nts; k++) {
                kefu_suggest_sum_insert(d, e->ts[k], max);
            }
        }

        d->ref = ref;
    }

    /* the types seen most recently */
    qsort(sums, m, sizeof(kefu_suggest_sum_t), kefu_suggest_sum_by_newest);

    if (m > cap) {
        m = cap;
    }

    kefu_buf_add_int(out, (long long) ref);

    for (i = 0; i < m; i++) {
        kefu_buf_adds(out, ";");
        kefu_buf_add(out, sums[i].type.data, sums[i].type.len);
        kefu_buf_addf(out, " %.9g", sums[i].count);

        for (k = 0; k < sums[i].nts; k++) {
            kefu_buf_adds(out, " ");
            kefu_buf_add_int(out, (long long) sums[i].ts[k]);
        }
    }

    return out->failed ? KEFU_ERROR : KEFU_OK;
}


void
kefu_suggest_sum_insert(kefu_suggest_sum_t *sum, int64_t ts, size_t max)
{
    size_t  k;

    for (k = 0; k < sum->nts && sum->ts[k] > ts; k++) {
        /* void */
    }

    if ((k < sum->nts && sum->ts[k] == ts) || k >= max) {
        return;
    }

    if (sum->nts < max) {
        sum->nts++;
    }

    memmove(&sum->ts[k + 1], &sum->ts[k],
            (sum->nts - 1 - k) * sizeof(int64_t));
    sum->ts[k] = ts;
}


int
kefu_suggest_sum_history(const unsigned char *type, size_t len)
{
    size_t  i;

    for (i = 0; i < KEFU_RISK_NPATTERNS; i++) {
        if (kefu_risk_patterns[i].first != NULL
            && strlen(kefu_risk_patterns[i].first) == len
            && memcmp(kefu_risk_patterns[i].first, type, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* --- hot questions ----------------------------------------------------- */


int64_t
kefu_hot_generation(int64_t now, int64_t half_life)
{
    int64_t  g;

    if (half_life <= 0 || now < 0) {
        return 0;
    }

    g = half_life * KEFU_HOT_GENERATION;

    return now - now % g;
}


double
kefu_hot_increment(int64_t now, int64_t half_life, int64_t start)
{
    if (half_life <= 0) {
        return 1;
    }

    return exp2((double) (now - start) / (double) half_life);
}


double
kefu_hot_factor(int64_t now, int64_t half_life, int64_t start)
{
    if (half_life <= 0) {
        return 1;
    }

    return exp2(-(double) (now - start) / (double) half_life);
}
