/*
 * ngx_kefu: "猜你关心", the ranking of suggestions for one user.
 *
 * Cost of one ranking: one exp2() per trail event, one hash lookup per
 * distinct event type, one pass over the (capped) postings of those types,
 * the scene's and the hot list, and a bounded heap of candidates.  Nothing
 * is proportional to the size of the KB: per-FAQ accumulators (16 bytes)
 * live in a per-worker scratch and are reset by a generation stamp, not
 * memset.  Reasons are worked out for the few FAQs returned only.
 */

#include <math.h>

#include "kefu_risk.h"
#include "kefu_suggest.h"


#define KEFU_SUGGEST_TYPE_SLOTS   1024      /* > 2 x KEFU_SUGGEST_MAX_TYPES */
#define KEFU_SUGGEST_CANDIDATES   128
#define KEFU_SUGGEST_MAX_HALVES   12        /* older events are ignored */
#define KEFU_SUGGEST_HOT_SCALE    2.0
#define KEFU_SUGGEST_MAX_NAME     255
#define KEFU_SUGGEST_MAX_RISK     256       /* risk-tier FAQs per call */

#define KEFU_ACC_TIER             0x01
#define KEFU_ACC_ASKED            0x02


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
    const kefu_trigger_entry_t  *entry;
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
    const kefu_trigger_posting_t *po, size_t n, double mul)
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

    h = kefu_trigger_hash(name, len, 0);
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
kefu_suggest_explain(const kefu_trigger_index_t *idx,
    kefu_suggest_scratch_t *s, const kefu_suggest_params_t *p,
    const kefu_suggest_in_t *in, kefu_suggestion_t *it, unsigned *personal)
{
    size_t                       k, n;
    double                       v, best;
    const kefu_trigger_fwd_t    *fw;
    const kefu_suggest_type_t   *t;
    const kefu_trigger_entry_t  *en;

    best = 0;
    fw = kefu_trigger_of_faq(idx, it->faq, &n);

    for (k = 0; k < n; k++, fw++) {
        if (!fw->in_cap) {
            continue;
        }

        en = kefu_trigger_entry_at(idx, fw->entry);

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
kefu_suggest_take(const kefu_trigger_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out, kefu_suggest_topics_t *tc, uint32_t faq)
{
    size_t                      n;
    unsigned                    personal;
    kefu_suggestion_t          *it;
    const kefu_kb_t            *kb;
    const kefu_suggest_acc_t   *a;
    const kefu_suggest_risk_t  *rk;
    const kefu_suggest_type_t  *t;

    kb = kefu_trigger_index_kb(idx);
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
        it->signal = kefu_risk_patterns(&n)[rk->pattern].name;
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
    const kefu_trail_sum_t *sm, double max_age)
{
    size_t                k;
    double                d;
    int64_t               age, newest;
    kefu_suggest_type_t  *t;

    if (sm->type.len == 0 || sm->type.len > KEFU_SUGGEST_MAX_NAME
        || sm->nts == 0 || sm->nts > KEFU_TRAIL_SUM_TS)
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
kefu_suggest_trail(const kefu_trigger_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in)
{
    size_t                          i, n;
    double                          max_age;
    int64_t                         age;
    kefu_suggest_type_t            *t;
    const kefu_suggest_event_t     *e;
    const kefu_trigger_posting_t   *po;

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
        t->entry = kefu_trigger_lookup(idx, t->name, t->len, 0);

        if (t->entry != NULL && t->sum > 0) {
            po = kefu_trigger_postings(idx, t->entry, &n);
            kefu_suggest_add_list(s, po, n, t->sum);
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

    for (j = 0; j < KEFU_RISK_THEN && rp->then[j] != NULL; j++) {
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
kefu_suggest_risk_mark(const kefu_trigger_index_t *idx,
    kefu_suggest_scratch_t *s, size_t pattern, const char *name)
{
    size_t                         k, n;
    double                         v;
    kefu_suggest_acc_t            *a;
    kefu_suggest_risk_t           *rk;
    kefu_suggest_type_t           *t;
    const kefu_trigger_posting_t  *po;

    t = kefu_suggest_type_named(s, name);
    if (t == NULL || t->entry == NULL) {
        return;
    }

    po = kefu_trigger_risk(idx, t->entry, &n);

    for (k = 0; k < n; k++) {
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
kefu_suggest_risk(const kefu_trigger_index_t *idx, kefu_suggest_scratch_t *s,
    kefu_suggest_out_t *out)
{
    size_t                      i, j, n;
    const kefu_risk_pattern_t  *rp;

    rp = kefu_risk_patterns(&n);

    for (i = 0; i < n; i++, rp++) {

        if (!kefu_suggest_fires(s, rp)) {
            continue;
        }

        if (out->risk == NULL) {
            out->risk = rp->name;
        }

        if (rp->first != NULL) {
            kefu_suggest_risk_mark(idx, s, i, rp->first);
        }

        for (j = 0; j < KEFU_RISK_THEN && rp->then[j] != NULL; j++) {
            kefu_suggest_risk_mark(idx, s, i, rp->then[j]);
        }
    }
}


int
kefu_suggest(const kefu_trigger_index_t *idx, kefu_suggest_scratch_t *s,
    const kefu_suggest_params_t *p, const kefu_suggest_in_t *in,
    kefu_suggest_out_t *out)
{
    size_t                         i, n, nheap, ncand, limit, cap, kmax;
    double                         bar;
    uint32_t                       faq, tmp, topic;
    const kefu_kb_t               *kb;
    kefu_suggest_acc_t            *a;
    kefu_suggest_topics_t          tc;
    const kefu_trigger_entry_t    *e;
    const kefu_trigger_posting_t  *po;

    kb = kefu_trigger_index_kb(idx);

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
        e = kefu_trigger_lookup(idx, in->scene.data, in->scene.len, 1);

        if (e != NULL) {
            po = kefu_trigger_postings(idx, e, &n);
            kefu_suggest_add_list(s, po, n, p->scene_weight);
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
