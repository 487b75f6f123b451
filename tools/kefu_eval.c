/*
 * kefu_eval: answer quality of the retrieval engine on question-matching
 * data, against a plain BM25 over character bigrams.
 *
 *   kefu_eval --data DIR [--pairs FILE] [--limit N] [--set name=value]...
 *             [--fit]
 *   kefu_eval --kb KB.json --probe FILE [--high X] [--low Y] [-v]
 *
 * Without --pairs it runs the protocols of DIR/README.md: afqmc (first
 * 3000 queries), bq, lcqmc and ESUN.  The data is read at run time only.
 * --fit pools the top-hit features of all sets and fits the logistic
 * confidence model printed at the end (see docs/engine.md).
 *
 * --probe runs dialogues from a TSV file (session, question, expected FAQ
 * id or "-", expected decision) through kefu_dialog_ask() on a real KB and
 * reports how many turns got the right FAQ and the right decision.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kefu_core.h"
#include "kefu_json.h"
#include "kefu_text.h"
#include "kefu_index.h"
#include "kefu_kb.h"
#include "kefu_dialog.h"
#include "kefu_learn.h"
#include "kefu_tap.h"


#define EVAL_K  10


typedef struct {
    kefu_str_t     *s;          /* entries (KB questions) */
    uint32_t       *faq;        /* entry -> FAQ number */
    size_t          n;
    size_t          cap;
    kefu_str_t     *q;          /* queries */
    uint32_t       *gold;       /* query -> FAQ number */
    size_t          nq;
    size_t          qcap;
    uint32_t        nfaqs;
    uint32_t       *slots;      /* string set: entry + 1 */
    size_t          mask;
} eval_set_t;


typedef struct {
    double          build_ms;
    double          us;
    double          top1;
    double          top3;
    double          mrr;
} eval_res_t;


typedef struct {
    float           s1, s2, cov;
    int             ok;
} eval_obs_t;


typedef struct {
    kefu_arena_t         arena;
    kefu_alloc_t        *a;
    kefu_index_params_t  params;
    int                  fit;
    eval_obs_t          *obs;
    size_t               nobs;
    size_t               obs_cap;
} eval_ctx_t;


static double
eval_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}


static unsigned char *
eval_read_file(const char *path, size_t *len)
{
    long            n;
    FILE           *f;
    unsigned char  *buf;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "kefu_eval: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }

    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }

    fclose(f);
    buf[n] = '\0';
    *len = (size_t) n;

    return buf;
}


static uint32_t
eval_hash(const unsigned char *s, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ s[i]) * 16777619u;
    }

    return h ^ (h >> 15);
}


static void
eval_set_init(eval_set_t *set, size_t max)
{
    size_t  size;

    memset(set, 0, sizeof(eval_set_t));

    for (size = 1024; size < max * 2; size <<= 1) {
        /* void */
    }

    set->mask = size - 1;
    set->slots = calloc(size, sizeof(uint32_t));
    set->cap = max + 1;
    set->s = calloc(set->cap, sizeof(kefu_str_t));
    set->faq = calloc(set->cap, sizeof(uint32_t));
    set->qcap = max + 1;
    set->q = calloc(set->qcap, sizeof(kefu_str_t));
    set->gold = calloc(set->qcap, sizeof(uint32_t));

    if (set->slots == NULL || set->s == NULL || set->faq == NULL
        || set->q == NULL || set->gold == NULL)
    {
        fprintf(stderr, "kefu_eval: out of memory\n");
        exit(2);
    }
}


static void
eval_set_free(eval_set_t *set)
{
    free(set->slots);
    free(set->s);
    free(set->faq);
    free(set->q);
    free(set->gold);
}


/* entry index of a string, or -1; adds it when add is set */
static long
eval_entry(eval_set_t *set, kefu_str_t *s, int add)
{
    size_t    slot;
    uint32_t  v;

    slot = eval_hash(s->data, s->len) & set->mask;

    for ( ;; ) {
        v = set->slots[slot];

        if (v == 0) {
            break;
        }

        if (set->s[v - 1].len == s->len
            && memcmp(set->s[v - 1].data, s->data, s->len) == 0)
        {
            return (long) v - 1;
        }

        slot = (slot + 1) & set->mask;
    }

    if (!add || set->n + 1 >= set->cap) {
        return -1;
    }

    set->s[set->n] = *s;
    set->faq[set->n] = set->nfaqs++;
    set->slots[slot] = (uint32_t) ++set->n;

    return (long) set->n - 1;
}


/*
 * Splits one row into 3 fields.  CSV: quotes, doubled quotes; the text is
 * unescaped in place.  Returns the position after the row, or NULL at the
 * end of the buffer; *nf gets the number of fields.
 */
static unsigned char *
eval_row(unsigned char *p, unsigned char *end, int csv, kefu_str_t *f,
    int *nf)
{
    int             quoted;
    unsigned char  *w;

    *nf = 0;

    if (p >= end) {
        return NULL;
    }

    for ( ;; ) {
        quoted = csv && p < end && *p == '"';

        if (quoted) {
            p++;
        }

        w = p;

        if (*nf < 3) {
            f[*nf].data = w;
        }

        while (p < end) {
            if (quoted) {
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }

                    quoted = 0;
                    p++;
                    continue;
                }

                *w++ = *p++;
                continue;
            }

            if (*p == (csv ? ',' : '\t') || *p == '\n' || *p == '\r') {
                break;
            }

            *w++ = *p++;
        }

        if (*nf < 3) {
            f[*nf].len = (size_t) (w - f[*nf].data);
        }

        (*nf)++;

        if (p < end && *p == (csv ? ',' : '\t')) {
            p++;
            continue;
        }

        while (p < end && (*p == '\r' || *p == '\n')) {
            p++;
        }

        return p;
    }
}


/* The pairs protocol of data/README.md. */
static int
eval_load_pairs(const char *path, size_t limit, eval_set_t *set,
    unsigned char **keep)
{
    int             csv, nf, pass;
    size_t          len, i, npairs;
    long            e1, e2;
    kefu_str_t      f[3];
    unsigned char  *buf, *p, *end, *nl, *save;

    buf = eval_read_file(path, &len);
    if (buf == NULL) {
        return -1;
    }

    /* the copy keeps the original rows for the second pass */
    save = malloc(len + 1);
    if (save == NULL) {
        free(buf);
        return -1;
    }

    memcpy(save, buf, len + 1);

    p = buf;
    end = buf + len;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
    }

    nl = memchr(p, '\n', (size_t) (end - p));
    csv = memchr(p, '\t', nl ? (size_t) (nl - p) : (size_t) (end - p))
          == NULL;

    npairs = 0;

    for (i = 0; i < len; i++) {
        npairs += buf[i] == '\n';
    }

    eval_set_init(set, npairs * 2 + 2);

    for (pass = 0; pass < 3; pass++) {
        memcpy(buf, save, len + 1);
        p = buf + (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb
                   && buf[2] == 0xbf ? 3 : 0);

        while ((p = eval_row(p, end, csv, f, &nf)) != NULL) {
            if (nf != 3 || f[2].len != 1
                || (f[2].data[0] != '0' && f[2].data[0] != '1')
                || f[0].len == 0 || f[1].len == 0)
            {
                continue;       /* header or malformed row */
            }

            if (!kefu_utf8_valid(f[0].data, f[0].len)
                || !kefu_utf8_valid(f[1].data, f[1].len))
            {
                continue;
            }

            if (pass == 0) {
                (void) eval_entry(set, &f[0], 1);

            } else if (pass == 1) {
                if (f[2].data[0] == '0') {
                    (void) eval_entry(set, &f[1], 1);
                }

            } else if (f[2].data[0] == '1' && set->nq < limit) {
                e2 = eval_entry(set, &f[1], 0);
                e1 = eval_entry(set, &f[0], 0);

                if (e2 >= 0 || e1 < 0
                    || (f[0].len == f[1].len
                        && memcmp(f[0].data, f[1].data, f[0].len) == 0))
                {
                    continue;
                }

                if (set->nq + 1 >= set->qcap) {
                    continue;
                }

                set->q[set->nq] = f[1];
                set->gold[set->nq] = set->faq[e1];
                set->nq++;
            }
        }

        if (pass < 2) {
            /* entries point into buf: keep this pass's buffer alive */
            keep[pass] = buf;
            buf = malloc(len + 1);
            if (buf == NULL) {
                free(save);
                return -1;
            }

            end = buf + len;
        }
    }

    keep[2] = buf;
    free(save);

    return 0;
}


static int
eval_esun(const char *dir, kefu_alloc_t *a, eval_set_t *set)
{
    char                 path[4096];
    size_t               len, i, j, n;
    long                 pid, qid, *gold_of;
    unsigned char       *buf;
    kefu_json_t         *root, *items, *q, *arr, *v, *g;
    kefu_json_limits_t   lim;
    char                 err[256];
    kefu_str_t           s;

    lim.max_depth = 16;
    lim.max_members = 100000;
    lim.max_string = 1 << 20;
    lim.max_nodes = 1 << 22;

    snprintf(path, sizeof(path), "%s/esun_faq/pid_map_content.json", dir);
    buf = eval_read_file(path, &len);
    if (buf == NULL) {
        return -1;
    }

    root = kefu_json_parse(a, buf, len, &lim, err, sizeof(err));
    free(buf);

    if (root == NULL || root->type != KEFU_JSON_OBJECT) {
        fprintf(stderr, "kefu_eval: %s: %s\n", path, root ? "not an object"
                                                          : err);
        return -1;
    }

    n = 0;

    for (i = 0; i < root->n; i++) {
        n += root->items[i]->n;
    }

    eval_set_init(set, n + 64);

    /* faq number = position of the pid; pids are decimal keys */
    for (i = 0; i < root->n; i++) {
        items = root->items[i];

        if (items->type != KEFU_JSON_ARRAY) {
            continue;
        }

        for (j = 0; j < items->n; j++) {
            q = kefu_json_get(items->items[j], "question");

            if (q == NULL || q->type != KEFU_JSON_STRING
                || set->n + 1 >= set->cap)
            {
                continue;
            }

            set->s[set->n] = q->str;
            set->faq[set->n] = (uint32_t) i;
            set->n++;
        }
    }

    set->nfaqs = (uint32_t) root->n;

    gold_of = calloc(256, sizeof(long));
    if (gold_of == NULL) {
        return -1;
    }

    snprintf(path, sizeof(path), "%s/esun_faq/ground_truths_example.json",
             dir);
    buf = eval_read_file(path, &len);
    if (buf == NULL) {
        free(gold_of);
        return -1;
    }

    g = kefu_json_parse(a, buf, len, &lim, err, sizeof(err));
    free(buf);
    arr = g ? kefu_json_get(g, "ground_truths") : NULL;

    if (arr == NULL || arr->type != KEFU_JSON_ARRAY) {
        fprintf(stderr, "kefu_eval: %s: bad file\n", path);
        free(gold_of);
        return -1;
    }

    for (i = 0; i < arr->n; i++) {
        v = kefu_json_get(arr->items[i], "qid");
        q = kefu_json_get(arr->items[i], "retrieve");

        if (v == NULL || q == NULL || !v->is_int || !q->is_int
            || v->integer < 0 || v->integer >= 256)
        {
            continue;
        }

        /* pid -> faq number */
        for (j = 0; j < root->n; j++) {
            pid = strtol((char *) root->keys[j].data, NULL, 10);

            if (pid == q->integer) {
                gold_of[v->integer] = (long) j + 1;
                break;
            }
        }
    }

    snprintf(path, sizeof(path), "%s/esun_faq/questions_example.json", dir);
    buf = eval_read_file(path, &len);
    if (buf == NULL) {
        free(gold_of);
        return -1;
    }

    g = kefu_json_parse(a, buf, len, &lim, err, sizeof(err));
    free(buf);
    arr = g ? kefu_json_get(g, "questions") : NULL;

    if (arr == NULL || arr->type != KEFU_JSON_ARRAY) {
        fprintf(stderr, "kefu_eval: %s: bad file\n", path);
        free(gold_of);
        return -1;
    }

    for (i = 0; i < arr->n; i++) {
        v = kefu_json_get(arr->items[i], "qid");
        q = kefu_json_get(arr->items[i], "query");
        g = kefu_json_get(arr->items[i], "category");

        if (v == NULL || q == NULL || g == NULL || !v->is_int
            || q->type != KEFU_JSON_STRING || g->type != KEFU_JSON_STRING
            || strcmp((char *) g->str.data, "faq") != 0)
        {
            continue;
        }

        qid = v->integer;

        if (qid < 0 || qid >= 256 || gold_of[qid] == 0
            || set->nq + 1 >= set->qcap)
        {
            continue;
        }

        s = q->str;
        set->q[set->nq] = s;
        set->gold[set->nq] = (uint32_t) (gold_of[qid] - 1);
        set->nq++;
    }

    free(gold_of);

    return 0;
}


/* ---- the baseline: BM25 (k1 1.2, b 0.75) over character bigrams ---- */

typedef struct {
    size_t          nterms;
    uint64_t       *keys;
    uint32_t       *slots;
    size_t          mask;
    uint32_t       *off;        /* postings of term t: off[t]..off[t+1] */
    uint32_t       *pdoc;
    uint16_t       *ptf;
    float          *dlen;
    float           avgdl;
    uint32_t        ndocs;
    uint32_t       *doc_faq;
} eval_bm25_t;


static size_t
eval_bigrams(const unsigned char *s, size_t len, uint64_t *out, size_t max)
{
    size_t          i, n, k;
    uint32_t        cps[KEFU_TEXT_MAX_CPS];
    unsigned char   norm[8192];
    long            l;
    const unsigned char  *p, *end;

    if (len > sizeof(norm)) {
        len = sizeof(norm);
    }

    l = kefu_text_normalize(s, len, norm);
    if (l < 0) {
        return 0;
    }

    n = 0;
    p = norm;
    end = norm + l;

    while (p < end && n < KEFU_TEXT_MAX_CPS) {
        p += kefu_utf8_decode(p, end, &cps[n++]);
    }

    k = 0;

    if (n == 1) {
        out[k++] = cps[0];
    }

    for (i = 0; i + 1 < n && k < max; i++) {
        out[k++] = ((uint64_t) cps[i] << 32) | cps[i + 1];
    }

    return k;
}


static uint32_t
eval_bm25_term(eval_bm25_t *bm, uint64_t key, int add)
{
    size_t  slot;

    slot = (size_t) ((key * 0x9e3779b97f4a7c15ull) >> 40) & bm->mask;

    while (bm->slots[slot] != 0) {
        if (bm->keys[bm->slots[slot] - 1] == key) {
            return bm->slots[slot] - 1;
        }

        slot = (slot + 1) & bm->mask;
    }

    if (!add) {
        return 0xffffffffu;
    }

    bm->keys[bm->nterms] = key;
    bm->slots[slot] = (uint32_t) ++bm->nterms;

    return (uint32_t) bm->nterms - 1;
}


static void
eval_bm25_build(eval_bm25_t *bm, const eval_set_t *set)
{
    size_t     i, j, n, total, size;
    uint32_t   t, *cnt, *pos;
    uint64_t   g[KEFU_TEXT_MAX_CPS];

    memset(bm, 0, sizeof(eval_bm25_t));

    total = 0;

    for (i = 0; i < set->n; i++) {
        total += set->s[i].len + 1;
    }

    for (size = 1024; size < total * 2; size <<= 1) {
        /* void */
    }

    bm->mask = size - 1;
    bm->slots = calloc(size, sizeof(uint32_t));
    bm->keys = calloc(total + 1, sizeof(uint64_t));
    cnt = calloc(total + 2, sizeof(uint32_t));
    pos = calloc(total + 2, sizeof(uint32_t));
    bm->dlen = calloc(set->n + 1, sizeof(float));
    bm->doc_faq = set->faq;
    bm->ndocs = (uint32_t) set->n;

    if (bm->slots == NULL || bm->keys == NULL || cnt == NULL || pos == NULL
        || bm->dlen == NULL)
    {
        fprintf(stderr, "kefu_eval: out of memory\n");
        exit(2);
    }

    /* postings with tf: count distinct (doc, term) first */
    for (i = 0; i < set->n; i++) {
        n = eval_bigrams(set->s[i].data, set->s[i].len, g,
                         KEFU_TEXT_MAX_CPS);
        bm->dlen[i] = (float) n;
        bm->avgdl += (float) n;

        for (j = 0; j < n; j++) {
            t = eval_bm25_term(bm, g[j], 1);

            if (pos[t] != i + 1) {
                pos[t] = (uint32_t) i + 1;
                cnt[t]++;
            }
        }
    }

    bm->avgdl /= set->n ? (float) set->n : 1;
    bm->off = calloc(bm->nterms + 1, sizeof(uint32_t));

    total = 0;

    for (t = 0; t < bm->nterms; t++) {
        bm->off[t] = (uint32_t) total;
        total += cnt[t];
        pos[t] = bm->off[t];
    }

    bm->off[bm->nterms] = (uint32_t) total;
    bm->pdoc = calloc(total + 1, sizeof(uint32_t));
    bm->ptf = calloc(total + 1, sizeof(uint16_t));

    if (bm->off == NULL || bm->pdoc == NULL || bm->ptf == NULL) {
        fprintf(stderr, "kefu_eval: out of memory\n");
        exit(2);
    }

    for (i = 0; i < set->n; i++) {
        n = eval_bigrams(set->s[i].data, set->s[i].len, g,
                         KEFU_TEXT_MAX_CPS);

        for (j = 0; j < n; j++) {
            t = eval_bm25_term(bm, g[j], 0);

            if (pos[t] > bm->off[t] && bm->pdoc[pos[t] - 1] == i) {
                bm->ptf[pos[t] - 1]++;
                continue;
            }

            bm->pdoc[pos[t]] = (uint32_t) i;
            bm->ptf[pos[t]] = 1;
            pos[t]++;
        }
    }

    free(cnt);
    free(pos);
}


static void
eval_bm25_free(eval_bm25_t *bm)
{
    free(bm->slots);
    free(bm->keys);
    free(bm->off);
    free(bm->pdoc);
    free(bm->ptf);
    free(bm->dlen);
}


/* top-k FAQ numbers by BM25; returns their count */
static size_t
eval_bm25_search(eval_bm25_t *bm, float *acc, uint32_t *touched,
    const kefu_str_t *q, uint32_t *out, size_t k)
{
    size_t     i, j, n, nt, nh;
    uint32_t   t, d;
    uint64_t   g[KEFU_TEXT_MAX_CPS];
    float      idf, tf, sc[EVAL_K], s;
    double     df;

    n = eval_bigrams(q->data, q->len, g, KEFU_TEXT_MAX_CPS);
    nt = 0;

    for (i = 0; i < n; i++) {
        t = eval_bm25_term(bm, g[i], 0);

        if (t == 0xffffffffu) {
            continue;
        }

        /* each query bigram counts per occurrence, as plain BM25 does */
        df = bm->off[t + 1] - bm->off[t];
        idf = (float) log(1.0 + (bm->ndocs - df + 0.5) / (df + 0.5));

        for (j = bm->off[t]; j < bm->off[t + 1]; j++) {
            d = bm->pdoc[j];
            tf = bm->ptf[j];
            s = idf * tf * 2.2f
                / (tf + 1.2f * (0.25f + 0.75f * bm->dlen[d] / bm->avgdl));

            if (acc[d] == 0) {
                touched[nt++] = d;
            }

            acc[d] += s;
        }
    }

    nh = 0;

    for (i = 0; i < nt; i++) {
        d = touched[i];
        s = acc[d];
        acc[d] = 0;

        /* insertion into a small sorted list; ties keep the earlier doc */
        if (nh == k && s <= sc[k - 1]) {
            continue;
        }

        j = nh < k ? nh++ : k - 1;

        while (j > 0 && (sc[j - 1] < s
                         || (sc[j - 1] == s && out[j - 1] > d)))
        {
            sc[j] = sc[j - 1];
            out[j] = out[j - 1];
            j--;
        }

        sc[j] = s;
        out[j] = d;
    }

    for (i = 0; i < nh; i++) {
        out[i] = bm->doc_faq[out[i]];
    }

    return nh;
}


static void
eval_score(eval_res_t *r, const uint32_t *ranked, size_t n, uint32_t gold)
{
    size_t  i;

    for (i = 0; i < n && i < EVAL_K; i++) {
        if (ranked[i] == gold) {
            r->top1 += i == 0;
            r->top3 += i < 3;
            r->mrr += 1.0 / (double) (i + 1);
            return;
        }
    }
}


static void
eval_obs_add(eval_ctx_t *ec, const kefu_hit_t *h, int nh, uint32_t gold)
{
    eval_obs_t  *o;

    if (ec->nobs == ec->obs_cap) {
        ec->obs_cap = ec->obs_cap ? ec->obs_cap * 2 : 4096;
        ec->obs = realloc(ec->obs, ec->obs_cap * sizeof(eval_obs_t));

        if (ec->obs == NULL) {
            fprintf(stderr, "kefu_eval: out of memory\n");
            exit(2);
        }
    }

    o = &ec->obs[ec->nobs++];
    o->s1 = nh > 0 ? h[0].score : 0;
    o->s2 = nh > 1 ? h[1].score : 0;
    o->cov = nh > 0 ? h[0].coverage : 0;
    o->ok = nh > 0 && h[0].faq == gold;
}


/*
 * Out-of-domain queries for the fit: questions of one set asked against
 * another set's KB; any answer is wrong.
 */
static int
eval_ood(eval_ctx_t *ec, eval_set_t *kbset, eval_set_t *qset, size_t n)
{
    int                     nh;
    size_t                  i;
    kefu_hit_t              hits[EVAL_K];
    kefu_arena_t            tmp, ia;
    kefu_index_t           *idx;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s;

    kefu_arena_init(&tmp);
    kefu_arena_init(&ia);

    b = kefu_index_builder_create(&tmp.allocator, NULL, &ec->params);
    if (b == NULL) {
        return -1;
    }

    for (i = 0; i < kbset->n; i++) {
        if (kefu_index_add(b, kbset->faq[i], kbset->s[i].data,
                           kbset->s[i].len)
            != KEFU_OK)
        {
            return -1;
        }
    }

    idx = kefu_index_build(b, &ia.allocator);
    s = idx ? kefu_search_scratch_create(&ia.allocator,
                                         kefu_index_ndocs(idx))
            : NULL;
    if (s == NULL) {
        return -1;
    }

    for (i = 0; i < n && i < qset->nq; i++) {
        nh = kefu_index_search(idx, s, qset->q[i].data, qset->q[i].len,
                               NULL, hits, EVAL_K);
        eval_obs_add(ec, hits, nh < 0 ? 0 : nh, 0xffffffffu);
    }

    kefu_arena_free(&tmp);
    kefu_arena_free(&ia);

    return 0;
}


static int
eval_run(eval_ctx_t *ec, const char *name, eval_set_t *set)
{
    int                     nh;
    size_t                  i, j;
    double                  t0, t1;
    uint32_t                ranked[EVAL_K], *touched;
    float                  *acc;
    kefu_hit_t              hits[EVAL_K];
    kefu_arena_t            tmp, ia;
    kefu_index_t           *idx;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s;
    eval_res_t              r, br;
    eval_bm25_t             bm;

    memset(&r, 0, sizeof(r));
    memset(&br, 0, sizeof(br));

    kefu_arena_init(&tmp);
    kefu_arena_init(&ia);

    t0 = eval_now();

    b = kefu_index_builder_create(&tmp.allocator, NULL, &ec->params);
    if (b == NULL) {
        return -1;
    }

    for (i = 0; i < set->n; i++) {
        if (kefu_index_add(b, set->faq[i], set->s[i].data, set->s[i].len)
            != KEFU_OK)
        {
            fprintf(stderr, "kefu_eval: %s: entry %zu rejected\n", name, i);
            return -1;
        }
    }

    idx = kefu_index_build(b, &ia.allocator);
    if (idx == NULL) {
        fprintf(stderr, "kefu_eval: %s: build failed\n", name);
        return -1;
    }

    t1 = eval_now();
    r.build_ms = t1 - t0;
    kefu_arena_free(&tmp);

    kefu_arena_init(&tmp);
    s = kefu_search_scratch_create(&tmp.allocator, kefu_index_ndocs(idx));
    if (s == NULL) {
        return -1;
    }

    t0 = eval_now();

    for (i = 0; i < set->nq; i++) {
        nh = kefu_index_search(idx, s, set->q[i].data, set->q[i].len, NULL,
                               hits, EVAL_K);
        if (nh < 0) {
            nh = 0;
        }

        ranked[0] = 0;

        for (j = 0; j < (size_t) nh; j++) {
            ranked[j] = hits[j].faq;
        }

        eval_score(&r, ranked, (size_t) nh, set->gold[i]);

        if (ec->fit) {
            eval_obs_add(ec, hits, nh, set->gold[i]);
        }
    }

    t1 = eval_now();
    r.us = set->nq ? (t1 - t0) * 1e3 / set->nq : 0;

    /* baseline */
    t0 = eval_now();
    eval_bm25_build(&bm, set);
    br.build_ms = eval_now() - t0;

    acc = calloc(set->n + 1, sizeof(float));
    touched = calloc(set->n + 1, sizeof(uint32_t));
    if (acc == NULL || touched == NULL) {
        return -1;
    }

    t0 = eval_now();

    for (i = 0; i < set->nq; i++) {
        nh = (int) eval_bm25_search(&bm, acc, touched, &set->q[i], ranked,
                                    EVAL_K);
        eval_score(&br, ranked, (size_t) nh, set->gold[i]);
    }

    br.us = set->nq ? (eval_now() - t0) * 1e3 / set->nq : 0;

    free(acc);
    free(touched);
    eval_bm25_free(&bm);

    if (set->nq > 0) {
        r.top1 /= set->nq;
        r.top3 /= set->nq;
        r.mrr /= set->nq;
        br.top1 /= set->nq;
        br.top3 /= set->nq;
        br.mrr /= set->nq;
    }

    printf("%-7s %7zu %6zu %8.1f %7.2f  %.3f %.3f %.3f | %8.1f %7.2f"
           "  %.3f %.3f %.3f | %+.3f\n",
           name, set->n, set->nq, r.build_ms, r.us, r.top1, r.top3, r.mrr,
           br.build_ms, br.us, br.top1, br.top3, br.mrr, r.top1 - br.top1);
    fflush(stdout);

    kefu_arena_free(&tmp);
    kefu_arena_free(&ia);

    return 0;
}


/* ---- the learning protocol (issue 13) ---- */

typedef struct {
    double          top1, top3, mrr;
} eval_grp_res_t;


static uint32_t
eval_uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }

    return x;
}


/* a hit: a FAQ of the query's group; one rank per FAQ */
static void
eval_grp_score(eval_grp_res_t *r, const uint32_t *ranked, size_t n,
    const long *grp_of_faq, long g)
{
    size_t  i, j, rank;

    rank = 0;

    for (i = 0; i < n && rank < EVAL_K; i++) {
        for (j = 0; j < i; j++) {
            if (ranked[j] == ranked[i]) {
                break;
            }
        }

        if (j < i) {
            continue;
        }

        if (grp_of_faq[ranked[i]] == g) {
            r->top1 += rank == 0;
            r->top3 += rank < 3;
            r->mrr += 1.0 / (double) (rank + 1);
            return;
        }

        rank++;
    }
}


/*
 * The KB file the protocol's entries make (one FAQ "eN" per entry, as
 * an operator would write it), loaded as a tenant's KB is.
 */
static kefu_kb_t *
eval_kb_file(kefu_alloc_t *a, const eval_set_t *set, const char *name,
    char *err, size_t errlen)
{
    size_t          i;
    kefu_buf_t      json;
    unsigned char   nb[4 * KEFU_TEXT_MAX_CPS + 16];

    kefu_buf_init(&json, a, set->n * 64 + 1024);
    kefu_buf_adds(&json, "{\"version\":\"eval\",\"faqs\":[");

    for (i = 0; i < set->n; i++) {
        kefu_buf_addf(&json, "%s{\"id\":\"e%zu\",\"question\":",
                      i ? "," : "", i);

        /* a KB file needs searchable text (afqmc masks numbers as ***):
         * a word of its own keeps the document and matches nothing */
        if (set->s[i].len <= sizeof(nb)
            && kefu_text_normalize(set->s[i].data, set->s[i].len, nb) <= 0)
        {
            kefu_buf_addf(&json, "\"zzempty%zu\"", i);

        } else {
            kefu_buf_add_json_str(&json, set->s[i].data, set->s[i].len);
        }
        kefu_buf_adds(&json, ",\"answer\":\"-\"}");
    }

    kefu_buf_adds(&json, "]}");

    if (json.failed) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    return kefu_kb_load_buf(a, json.data, json.len, name, err, errlen);
}


/* Dice of the character-bigram sets of a and b */
static double
eval_dice(const kefu_str_t *a, const kefu_str_t *b)
{
    size_t    na, nb, i, j, m;
    uint64_t  ba[256], bb[256];

    na = eval_bigrams(a->data, a->len, ba, 256);
    nb = eval_bigrams(b->data, b->len, bb, 256);

    if (na + nb == 0) {
        return 0;
    }

    m = 0;

    for (i = 0; i < na; i++) {
        for (j = 0; j < nb; j++) {
            if (ba[i] == bb[j]) {
                m++;
                break;
            }
        }
    }

    return 2.0 * (double) m / (double) (na + nb);
}


/*
 * Paraphrase groups = connected components of the label-1 pairs with at
 * least 3 members.  In each group with a KB entry E and at least two
 * other (non-KB) members, one other member is adopted as a learned
 * similar question of E through kefu_kb_exact() + kefu_kb_merge() (what
 * POST /v1/admin/kb/similar and the workers do); the group's remaining
 * other members are asked before and after.  A hit: top-1 is a KB entry
 * of the same group.  The adopted member is the first other member seen,
 * or with medoid the one with the largest summed character-bigram Dice
 * to the rest of its group (a trainer adopts the most typical wording;
 * the engine's own score is not used, so nothing is fitted to it).
 */
static int
eval_learn(const char *name, const char *path, int medoid)
{
    int                     csv, nf, nh;
    char                    err[256];
    long                   *grp_of_faq, *qgrp, e, ng;
    size_t                  len, i, j, k, npairs, nl, nq, nkept, *cnt;
    uint32_t               *parent, *pa, *pb, *order, *start, r, ranked[EVAL_K];
    kefu_kb_t              *kb, *merged;
    kefu_str_t              f[3], *qs;
    kefu_hit_t              hits[EVAL_K];
    eval_set_t              set, st, set2;
    eval_bm25_t             bm;
    kefu_arena_t            arena;
    unsigned char          *buf, *p, *end, *nl_p, *keep[3], *kept;
    kefu_learned_t         *ll;
    eval_grp_res_t          before, after, bm_before, bm_after;
    kefu_search_scratch_t  *s;
    float                  *acc;
    uint32_t               *touched;

    if (eval_load_pairs(path, (size_t) -1, &set, keep) != 0) {
        return -1;
    }

    buf = eval_read_file(path, &len);
    if (buf == NULL) {
        return -1;
    }

    p = buf;
    end = buf + len;

    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        p += 3;
    }

    nl_p = memchr(p, '\n', (size_t) (end - p));
    csv = memchr(p, '\t', nl_p ? (size_t) (nl_p - p) : (size_t) (end - p))
          == NULL;

    npairs = 0;

    for (i = 0; i < len; i++) {
        npairs += buf[i] == '\n';
    }

    eval_set_init(&st, npairs * 2 + 2);
    pa = malloc((npairs + 1) * sizeof(uint32_t));
    pb = malloc((npairs + 1) * sizeof(uint32_t));
    if (pa == NULL || pb == NULL) {
        return -1;
    }

    k = 0;

    while ((p = eval_row(p, end, csv, f, &nf)) != NULL) {
        if (nf != 3 || f[2].len != 1 || f[2].data[0] != '1'
            || f[0].len == 0 || f[1].len == 0
            || !kefu_utf8_valid(f[0].data, f[0].len)
            || !kefu_utf8_valid(f[1].data, f[1].len)
            || k >= npairs)
        {
            continue;
        }

        pa[k] = (uint32_t) eval_entry(&st, &f[0], 1);
        pb[k] = (uint32_t) eval_entry(&st, &f[1], 1);
        k++;
    }

    parent = malloc((st.n + 1) * sizeof(uint32_t));
    cnt = calloc(st.n + 1, sizeof(size_t));
    order = malloc((st.n + 1) * sizeof(uint32_t));
    start = calloc(st.n + 2, sizeof(uint32_t));
    if (parent == NULL || cnt == NULL || order == NULL || start == NULL) {
        return -1;
    }

    for (i = 0; i < st.n; i++) {
        parent[i] = (uint32_t) i;
    }

    for (i = 0; i < k; i++) {
        parent[eval_uf_find(parent, pa[i])] = eval_uf_find(parent, pb[i]);
    }

    /* members by component, in first-seen order */
    for (i = 0; i < st.n; i++) {
        cnt[eval_uf_find(parent, (uint32_t) i)]++;
    }

    for (i = 0; i < st.n; i++) {
        start[i + 1] = start[i] + (uint32_t) cnt[i];
    }

    memset(cnt, 0, (st.n + 1) * sizeof(size_t));

    for (i = 0; i < st.n; i++) {
        r = eval_uf_find(parent, (uint32_t) i);
        order[start[r] + cnt[r]++] = (uint32_t) i;
    }

    grp_of_faq = malloc((set.nfaqs + 1) * sizeof(long));
    qs = malloc((st.n + 1) * sizeof(kefu_str_t));
    qgrp = malloc((st.n + 1) * sizeof(long));
    ll = malloc((st.n + 1) * sizeof(kefu_learned_t));
    kept = malloc(st.n + 1);
    if (grp_of_faq == NULL || qs == NULL || qgrp == NULL || ll == NULL
        || kept == NULL)
    {
        return -1;
    }

    for (i = 0; i < set.nfaqs; i++) {
        grp_of_faq[i] = -1;
    }

    kefu_arena_init(&arena);

    kb = eval_kb_file(&arena.allocator, &set, name, err, sizeof(err));
    if (kb == NULL) {
        printf("%-7s learning protocol skipped: %s\n", name, err);
        return 0;
    }

    s = kefu_search_scratch_create(&arena.allocator,
                                   kefu_kb_ndocs(kb) + (uint32_t) st.n + 16);
    if (s == NULL) {
        return -1;
    }

    ng = 0;
    nl = 0;
    nq = 0;

    for (r = 0; r < st.n; r++) {
        long    kbm;
        size_t  nother, first_other;

        if (start[r + 1] - start[r] < 3) {
            continue;
        }

        kbm = -1;
        nother = 0;
        first_other = 0;

        for (j = start[r]; j < start[r + 1]; j++) {
            e = eval_entry(&set, &st.s[order[j]], 0);

            if (e >= 0) {
                if (kbm < 0) {
                    kbm = e;
                }

            } else if (nother++ == 0) {
                first_other = j;
            }
        }

        /* a KB entry, one other to adopt and at least one to ask */
        if (kbm < 0 || nother < 2) {
            continue;
        }

        if (medoid) {
            double best = -1, sum;
            size_t j2;

            for (j = start[r]; j < start[r + 1]; j++) {
                if (eval_entry(&set, &st.s[order[j]], 0) >= 0) {
                    continue;
                }
                sum = 0;
                for (j2 = start[r]; j2 < start[r + 1]; j2++) {
                    if (j2 != j) {
                        sum += eval_dice(&st.s[order[j]], &st.s[order[j2]]);
                    }
                }
                if (sum > best) {
                    best = sum;
                    first_other = j;
                }
            }
        }

        for (j = start[r]; j < start[r + 1]; j++) {
            e = eval_entry(&set, &st.s[order[j]], 0);

            if (e >= 0) {
                grp_of_faq[set.faq[e]] = ng;
            }
        }

        /* what the admin API refuses as a duplicate is not adopted */
        if (kefu_kb_exact(kb, s, st.s[order[first_other]].data,
                          st.s[order[first_other]].len) == -1)
        {
            ll[nl].faq = set.faq[kbm];
            ll[nl].text = st.s[order[first_other]].data;
            ll[nl].len = st.s[order[first_other]].len;
            ll[nl].known = 0;
            nl++;
        }

        for (j = start[r]; j < start[r + 1]; j++) {
            if (j == first_other
                || eval_entry(&set, &st.s[order[j]], 0) >= 0)
            {
                continue;
            }

            qs[nq] = st.s[order[j]];
            qgrp[nq] = ng;
            nq++;
        }

        ng++;
    }

    if (ng == 0 || nq == 0) {
        printf("%-7s no paraphrase group with a KB entry and 2 others\n",
               name);
        return 0;
    }

    merged = kefu_kb_merge(&arena.allocator, kb, ll, nl, 1, kept);
    if (merged == NULL) {
        return -1;
    }

    nkept = 0;

    for (i = 0; i < nl; i++) {
        nkept += kept[i];
    }

    memset(&before, 0, sizeof(before));
    memset(&after, 0, sizeof(after));
    memset(&bm_before, 0, sizeof(bm_before));
    memset(&bm_after, 0, sizeof(bm_after));

    for (i = 0; i < nq; i++) {
        nh = kefu_kb_search(kb, s, qs[i].data, qs[i].len, -1, hits, EVAL_K);
        for (j = 0; j < (size_t) (nh > 0 ? nh : 0); j++) {
            ranked[j] = hits[j].faq;
        }
        eval_grp_score(&before, ranked, nh > 0 ? (size_t) nh : 0,
                       grp_of_faq, qgrp[i]);

        nh = kefu_kb_search(merged, s, qs[i].data, qs[i].len, -1, hits,
                            EVAL_K);
        for (j = 0; j < (size_t) (nh > 0 ? nh : 0); j++) {
            ranked[j] = hits[j].faq;
        }
        eval_grp_score(&after, ranked, nh > 0 ? (size_t) nh : 0,
                       grp_of_faq, qgrp[i]);
    }

    /* plain BM25 on the same KBs: the adopted question as one more doc */
    set2 = set;
    set2.s = malloc((set.n + nl + 1) * sizeof(kefu_str_t));
    set2.faq = malloc((set.n + nl + 1) * sizeof(uint32_t));
    acc = calloc(set.n + nl + 1, sizeof(float));
    touched = calloc(set.n + nl + 1, sizeof(uint32_t));
    if (set2.s == NULL || set2.faq == NULL || acc == NULL || touched == NULL)
    {
        return -1;
    }

    memcpy(set2.s, set.s, set.n * sizeof(kefu_str_t));
    memcpy(set2.faq, set.faq, set.n * sizeof(uint32_t));

    for (i = 0; i < nl; i++) {
        set2.s[set.n + i].data = (unsigned char *) ll[i].text;
        set2.s[set.n + i].len = ll[i].len;
        set2.faq[set.n + i] = ll[i].faq;
    }

    set2.n = set.n + nl;

    eval_bm25_build(&bm, &set);
    for (i = 0; i < nq; i++) {
        k = eval_bm25_search(&bm, acc, touched, &qs[i], ranked, EVAL_K);
        eval_grp_score(&bm_before, ranked, k, grp_of_faq, qgrp[i]);
    }
    eval_bm25_free(&bm);

    eval_bm25_build(&bm, &set2);
    for (i = 0; i < nq; i++) {
        k = eval_bm25_search(&bm, acc, touched, &qs[i], ranked, EVAL_K);
        eval_grp_score(&bm_after, ranked, k, grp_of_faq, qgrp[i]);
    }
    eval_bm25_free(&bm);

    printf("%-7s %-6s %6ld %6zu %6zu  %.3f %.3f %.3f -> %.3f %.3f %.3f"
           "  x%.2f | %.3f %.3f %.3f -> %.3f %.3f %.3f%s\n",
           name, medoid ? "medoid" : "first", ng, nkept, nq,
           before.top1 / nq, before.top3 / nq, before.mrr / nq,
           after.top1 / nq, after.top3 / nq, after.mrr / nq,
           before.top1 > 0 ? after.top1 / before.top1 : 0.0,
           bm_before.top1 / nq, bm_before.top3 / nq, bm_before.mrr / nq,
           bm_after.top1 / nq, bm_after.top3 / nq, bm_after.mrr / nq,
           before.top1 * 1.5 > (double) nq ? "  (x1.5 > 1.0: unreachable)"
                                            : "");
    fflush(stdout);

    free(set2.s);
    free(set2.faq);
    free(acc);
    free(touched);
    free(parent);
    free(cnt);
    free(order);
    free(start);
    free(grp_of_faq);
    free(qs);
    free(qgrp);
    free(ll);
    free(kept);
    free(pa);
    free(pb);
    free(buf);
    eval_set_free(&st);
    eval_set_free(&set);
    free(keep[0]);
    free(keep[1]);
    free(keep[2]);
    kefu_arena_free(&arena);

    return 0;
}


/* ---- the implicit-feedback replay (issue 13) ---- */

#define EVAL_USERS      3       /* simulated users per question */
#define EVAL_MIN_USERS  3       /* learn_min_users' default */


typedef struct {
    unsigned char  *pair;       /* "faq_id TAB normalised question" */
    size_t          len;
    uint32_t        user;
} eval_tap_t;


typedef struct {
    size_t          direct, right, top1;
} eval_replay_res_t;


static int
eval_tap_cmp(const void *a, const void *b)
{
    const eval_tap_t  *x = a, *y = b;
    int                c;

    c = memcmp(x->pair, y->pair, x->len < y->len ? x->len : y->len);
    if (c != 0) {
        return c;
    }

    if (x->len != y->len) {
        return x->len < y->len ? -1 : 1;
    }

    return x->user < y->user ? -1 : x->user > y->user;
}


/* One new session asks q: what /v1/ask decides. */
static int
eval_replay_ask(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const eval_set_t *set, size_t i, kefu_session_t *sess,
    kefu_ask_out_t *out, eval_replay_res_t *r)
{
    kefu_ask_in_t  in;

    memset(&in, 0, sizeof(in));
    in.question = set->q[i].data;
    in.qlen = set->q[i].len;
    in.high = 0.6;
    in.low = 0.35;
    in.max_turns = 8;

    kefu_session_init(sess);

    if (kefu_dialog_ask(kb, s, sess, &in, out) != KEFU_OK) {
        return -1;
    }

    if (out->type == KEFU_REPLY_ANSWER && out->faq >= 0) {
        r->direct++;
        r->right += set->faq[out->faq] == set->gold[i];
        r->top1 += set->faq[out->faq] == set->gold[i];

    } else if (out->type == KEFU_REPLY_CLARIFY && out->nchoices > 0) {
        r->top1 += set->faq[out->choices[0]] == set->gold[i];
    }

    return 0;
}


/*
 * EVAL_USERS simulated users ask every query of the protocol, each in a
 * new session, through kefu_dialog_ask() (the /v1/ask core, default
 * thresholds).  Where the reply is a clarify offering the gold FAQ, the
 * user taps it ({"choice": id}): kefu_tap_pair() gives the pair the ask
 * turn counts, once per user.  Pairs of EVAL_MIN_USERS distinct users are
 * adopted as learn_auto_adopt does (kefu_learn_auto_pick(), one per
 * normalised key as the storing script keeps them, kefu_kb_merge()), and
 * every query is asked again.
 */
static int
eval_replay(const char *name, const eval_set_t *set)
{
    int                     r;
    long                    faq;
    char                    err[256];
    size_t                  i, j, u, ntaps, nl, users;
    kefu_kb_t              *kb, *merged;
    kefu_str_t              tq, lq;
    eval_tap_t             *taps;
    kefu_arena_t            arena;
    kefu_ask_in_t           in;
    kefu_ask_out_t          out, out2;
    kefu_session_t          sess;
    kefu_learned_t         *ll;
    eval_replay_res_t       before, after, tmp;
    kefu_search_scratch_t  *s;
    unsigned char          *keys, key[16];
    unsigned char           buf[KEFU_SESSION_MAX_Q + 1];
    char                    id[32];

    kefu_arena_init(&arena);

    kb = eval_kb_file(&arena.allocator, set, name, err, sizeof(err));
    if (kb == NULL) {
        printf("%-7s replay skipped: %s\n", name, err);
        kefu_arena_free(&arena);
        return 0;
    }

    s = kefu_kb_scratch_create(&arena.allocator, kb);
    taps = calloc(set->nq * EVAL_USERS + 1, sizeof(eval_tap_t));
    ll = calloc(set->nq * EVAL_USERS + 1, sizeof(kefu_learned_t));
    keys = malloc((set->nq * EVAL_USERS + 1) * 16);
    if (s == NULL || taps == NULL || ll == NULL || keys == NULL) {
        return -1;
    }

    memset(&before, 0, sizeof(before));
    ntaps = 0;

    for (i = 0; i < set->nq; i++) {
        for (u = 0; u < EVAL_USERS; u++) {
            memset(&tmp, 0, sizeof(tmp));

            if (eval_replay_ask(kb, s, set, i, &sess, &out,
                                u == 0 ? &before : &tmp)
                != 0)
            {
                break;
            }

            /* a new session gets the same reply for every user */
            if (out.type != KEFU_REPLY_CLARIFY) {
                break;
            }

            for (j = 0; j < out.nchoices; j++) {
                if (set->faq[out.choices[j]] == set->gold[i]) {
                    break;
                }
            }

            if (j == out.nchoices) {
                break;
            }

            /* the tap: the pair first (before the turn moves the
             * session on), then the turn itself */
            snprintf(id, sizeof(id), "e%u", out.choices[j]);
            memset(&in, 0, sizeof(in));
            in.choice = (const unsigned char *) id;
            in.choice_len = strlen(id);
            in.high = 0.6;
            in.low = 0.35;
            in.max_turns = 8;

            if (kefu_tap_pair(kb, &sess, &in, &faq, buf, &tq)) {
                taps[ntaps].len = kb->faqs[faq].id.len + 1 + tq.len;
                taps[ntaps].pair = malloc(taps[ntaps].len);
                if (taps[ntaps].pair == NULL) {
                    return -1;
                }

                memcpy(taps[ntaps].pair, kb->faqs[faq].id.data,
                       kb->faqs[faq].id.len);
                taps[ntaps].pair[kb->faqs[faq].id.len] = '\t';
                memcpy(taps[ntaps].pair + kb->faqs[faq].id.len + 1,
                       tq.data, tq.len);
                taps[ntaps].user = (uint32_t) u;
                ntaps++;
            }

            if (kefu_dialog_ask(kb, s, &sess, &in, &out2) != KEFU_OK) {
                return -1;
            }
        }
    }

    /* distinct users per pair, then what auto-adoption takes */
    qsort(taps, ntaps, sizeof(eval_tap_t), eval_tap_cmp);
    nl = 0;

    for (i = 0; i < ntaps; i = j) {
        users = 0;

        for (j = i; j < ntaps && taps[j].len == taps[i].len
             && memcmp(taps[j].pair, taps[i].pair, taps[i].len) == 0; j++)
        {
            users += j == i || taps[j].user != taps[j - 1].user;
        }

        faq = kefu_learn_auto_pick(kb, s, taps[i].pair, taps[i].len, users,
                                   EVAL_MIN_USERS, &lq);
        if (faq < 0
            || kefu_learn_key(&arena.allocator, kb->syn, lq.data, lq.len,
                              key)
               != KEFU_OK)
        {
            continue;
        }

        /* the storing script keeps one question per normalised key */
        for (u = 0; u < nl && memcmp(&keys[u * 16], key, 16) != 0; u++) {
            /* void */
        }

        if (u < nl) {
            continue;
        }

        memcpy(&keys[nl * 16], key, 16);
        ll[nl].faq = (uint32_t) faq;
        ll[nl].text = lq.data;
        ll[nl].len = lq.len;
        ll[nl].known = 0;
        nl++;
    }

    merged = kefu_kb_merge(&arena.allocator, kb, ll, nl, 1, NULL);
    if (merged == NULL) {
        return -1;
    }

    s = kefu_kb_scratch_create(&arena.allocator, merged);
    if (s == NULL) {
        return -1;
    }

    memset(&after, 0, sizeof(after));
    r = 0;

    for (i = 0; i < set->nq && r == 0; i++) {
        r = eval_replay_ask(merged, s, set, i, &sess, &out, &after);
    }

    printf("%-7s %6zu %6zu %6zu  %.3f -> %.3f   %.3f -> %.3f   "
           "%.3f -> %.3f   %.3f -> %.3f\n", name, set->nq, ntaps, nl,
           (double) before.direct / set->nq, (double) after.direct / set->nq,
           before.direct ? (double) before.right / before.direct : 0.0,
           after.direct ? (double) after.right / after.direct : 0.0,
           (double) before.right / set->nq, (double) after.right / set->nq,
           (double) before.top1 / set->nq, (double) after.top1 / set->nq);
    fflush(stdout);

    for (i = 0; i < ntaps; i++) {
        free(taps[i].pair);
    }

    free(taps);
    free(ll);
    free(keys);
    kefu_arena_free(&arena);

    return r;
}


/* logistic regression by Newton's method on (1, s1, s1 - s2, cov) */
static void
eval_fit(eval_ctx_t *ec)
{
    int        it, i, j, k;
    size_t     n;
    double     w[4], g[4], h[4][4], x[4], z, p, m[4][5], f, ll;
    eval_obs_t *o;

    memset(w, 0, sizeof(w));

    for (it = 0; it < 30; it++) {
        memset(g, 0, sizeof(g));
        memset(h, 0, sizeof(h));
        ll = 0;

        for (n = 0; n < ec->nobs; n++) {
            o = &ec->obs[n];
            x[0] = 1;
            x[1] = o->s1;
            x[2] = o->s1 - o->s2 < 0.25 ? o->s1 - o->s2 : 0.25;
            x[3] = o->s1 * x[2];
            z = 0;

            for (i = 0; i < 4; i++) {
                z += w[i] * x[i];
            }

            p = 1 / (1 + exp(-z));
            ll += o->ok ? log(p + 1e-12) : log(1 - p + 1e-12);

            for (i = 0; i < 4; i++) {
                g[i] += (o->ok - p) * x[i];

                for (j = 0; j < 4; j++) {
                    h[i][j] += p * (1 - p) * x[i] * x[j];
                }
            }
        }

        /* solve h d = g (small ridge for stability) */
        for (i = 0; i < 4; i++) {
            for (j = 0; j < 4; j++) {
                m[i][j] = h[i][j] + (i == j ? 1e-6 : 0);
            }

            m[i][4] = g[i];
        }

        for (i = 0; i < 4; i++) {
            for (k = i + 1; k < 4; k++) {
                f = m[k][i] / m[i][i];

                for (j = i; j < 5; j++) {
                    m[k][j] -= f * m[i][j];
                }
            }
        }

        for (i = 3; i >= 0; i--) {
            f = m[i][4];

            for (j = i + 1; j < 4; j++) {
                f -= m[i][j] * g[j];
            }

            g[i] = f / m[i][i];
        }

        for (i = 0; i < 4; i++) {
            w[i] += g[i];
        }

        if (it == 29) {
            printf("fit: n=%zu loglik/n=%.4f\n", ec->nobs,
                   ll / (double) ec->nobs);
        }
    }

    printf("fit: z = %.3f + %.3f*s1 + %.3f*m + %.3f*s1*m,"
           " m = min(s1-s2, 0.25)\n",
           w[0], w[1], w[2], w[3]);

    /* accuracy by top score alone, for the shape of the model */
    {
        double  cnt[10], ok[10], mg[10];
        int     b;

        memset(cnt, 0, sizeof(cnt));
        memset(ok, 0, sizeof(ok));
        memset(mg, 0, sizeof(mg));

        for (n = 0; n < ec->nobs; n++) {
            o = &ec->obs[n];
            b = (int) (o->s1 * 10);
            b = b > 9 ? 9 : b;
            cnt[b]++;
            ok[b] += o->ok;
            mg[b] += o->s1 - o->s2;
        }

        for (b = 0; b < 10; b++) {
            if (cnt[b] > 0) {
                printf("fit: score %.1f-%.1f n=%6.0f accuracy %.3f"
                       " mean margin %.3f\n", b / 10.0, (b + 1) / 10.0,
                       cnt[b], ok[b] / cnt[b], mg[b] / cnt[b]);
            }
        }
    }

    /* reliability table of the fitted model */
    {
        double  cnt[10], ok[10], pc[10];
        int     b;

        memset(cnt, 0, sizeof(cnt));
        memset(ok, 0, sizeof(ok));
        memset(pc, 0, sizeof(pc));

        for (n = 0; n < ec->nobs; n++) {
            o = &ec->obs[n];
            x[2] = o->s1 - o->s2 < 0.25 ? o->s1 - o->s2 : 0.25;
            z = w[0] + w[1] * o->s1 + w[2] * x[2] + w[3] * o->s1 * x[2];
            p = 1 / (1 + exp(-z));
            b = (int) (p * 10);
            b = b > 9 ? 9 : b;
            cnt[b]++;
            ok[b] += o->ok;
            pc[b] += p;
        }

        for (b = 0; b < 10; b++) {
            if (cnt[b] > 0) {
                printf("fit: conf %.1f-%.1f n=%6.0f mean conf %.3f"
                       " accuracy %.3f\n", b / 10.0, (b + 1) / 10.0,
                       cnt[b], pc[b] / cnt[b], ok[b] / cnt[b]);
            }
        }
    }
}


/*
 * The demo-KB probe: "session \t question \t faq-id|- \t decision" rows;
 * rows with the same session name (not "-") are one dialogue.
 */
static int
eval_probe(const char *kbfile, const char *file, double high, double low,
    int verbose)
{
    int                     nf, ok_id, ok_dec;
    char                    err[512], want[16];
    size_t                  len, n, nid, good_id, good_dec, good_both, i;
    size_t                  sess_len;
    unsigned char          *buf, *p, *end, *sess_name;
    kefu_str_t              f[4];
    kefu_kb_t              *kb;
    kefu_arena_t            arena;
    kefu_ask_in_t           in;
    kefu_ask_out_t          out;
    kefu_session_t          sess;
    kefu_search_scratch_t  *s;
    const kefu_str_t       *got;
    static const char      *types[] = { "answer", "clarify", "fallback",
                                        "handoff" };

    kefu_arena_init(&arena);

    kb = kefu_kb_load(&arena.allocator, kbfile, err, sizeof(err));
    if (kb == NULL) {
        fprintf(stderr, "kefu_eval: %s\n", err);
        return -1;
    }

    s = kefu_kb_scratch_create(&arena.allocator, kb);
    buf = eval_read_file(file, &len);
    if (s == NULL || buf == NULL) {
        return -1;
    }

    {
        double    w[4];
        uint32_t  nc;

        nc = kefu_index_calibration(kb->index, w);
        printf("probe: confidence z = %.3f + %.3f*s1 + %.3f*m + %.3f*s1*m"
               " (%u self-calibration cases)\n", w[0], w[1], w[2], w[3],
               nc);
    }

    p = buf;
    end = buf + len;
    n = nid = good_id = good_dec = good_both = 0;
    sess_name = NULL;
    sess_len = 0;
    kefu_session_init(&sess);

    while (p < end) {
        if (*p == '#' || *p == '\n') {
            p = memchr(p, '\n', (size_t) (end - p));
            p = p ? p + 1 : end;
            continue;
        }

        /* four tab-separated fields up to the end of the line */
        for (nf = 0; nf < 4 && p < end; nf++) {
            f[nf].data = p;

            while (p < end && *p != '\t' && *p != '\n') {
                p++;
            }

            f[nf].len = (size_t) (p - f[nf].data);

            if (p < end && *p == '\t') {
                p++;

            } else {
                nf++;
                break;
            }
        }

        while (p < end && *p != '\n') {
            p++;
        }

        p += p < end;

        if (nf != 4 || f[3].len >= sizeof(want)) {
            fprintf(stderr, "kefu_eval: %s: malformed row\n", file);
            return -1;
        }

        if (f[0].len == 1 && f[0].data[0] == '-') {
            kefu_session_init(&sess);
            sess_name = NULL;

        } else if (sess_name == NULL || sess_len != f[0].len
                   || memcmp(sess_name, f[0].data, sess_len) != 0)
        {
            kefu_session_init(&sess);
            sess_name = f[0].data;
            sess_len = f[0].len;
        }

        memset(&in, 0, sizeof(in));
        in.question = f[1].data;
        in.qlen = f[1].len;
        in.high = high;
        in.low = low;
        in.max_turns = 8;

        if (verbose > 1) {
            /* the ranking behind the turn, before the session moves on */
            long        prev;
            int         nh, h;
            kefu_hit_t  hits[3];

            prev = sess.topic.len ? kefu_kb_find(kb, sess.topic.data,
                                                 sess.topic.len)
                                  : -1;
            nh = kefu_kb_search(kb, s, in.question, in.qlen, prev, hits, 3);

            for (h = 0; h < nh; h++) {
                printf("   #%d %-30s score %.3f cov %.3f conf %.3f%s\n",
                       h + 1, (char *) kb->faqs[hits[h].faq].id.data,
                       hits[h].score, hits[h].coverage, hits[h].confidence,
                       hits[h].exact ? " exact" : "");
            }
        }

        if (kefu_dialog_ask(kb, s, &sess, &in, &out) != KEFU_OK) {
            fprintf(stderr, "kefu_eval: %.*s: %s\n", (int) f[1].len,
                    f[1].data, out.error);
            return -1;
        }

        /* the FAQ offered first: the answer or the first choice */
        got = NULL;

        if (out.type == KEFU_REPLY_ANSWER && out.faq >= 0) {
            got = &kb->faqs[out.faq].id;

        } else if (out.type == KEFU_REPLY_CLARIFY && out.nchoices > 0) {
            got = &kb->faqs[out.choices[0]].id;
        }

        memcpy(want, f[3].data, f[3].len);
        want[f[3].len] = '\0';
        ok_dec = strcmp(want, types[out.type]) == 0;

        if (f[2].len == 1 && f[2].data[0] == '-') {
            ok_id = out.type == KEFU_REPLY_FALLBACK
                    || out.type == KEFU_REPLY_CLARIFY;

        } else {
            nid++;
            ok_id = got != NULL && got->len == f[2].len
                    && memcmp(got->data, f[2].data, f[2].len) == 0;
            good_id += ok_id;
        }

        n++;
        good_dec += ok_dec;
        good_both += ok_id && ok_dec;

        if (verbose || !(ok_id && ok_dec)) {
            printf("%s %-4.*s %-24.*s want %-30.*s %-8s got %-30.*s %-8s"
                   " %.3f", ok_id && ok_dec ? "  " : "XX",
                   (int) f[0].len, f[0].data, (int) f[1].len, f[1].data,
                   (int) f[2].len, f[2].data, want,
                   got ? (int) got->len : 1,
                   got ? (char *) got->data : "-", types[out.type],
                   out.confidence);

            for (i = 1; i < out.nchoices; i++) {
                printf(" / %s", (char *) kb->faqs[out.choices[i]].id.data);
            }

            printf("\n");
        }
    }

    printf("probe: %zu turns; FAQ right %zu/%zu, decision right %zu/%zu,"
           " both right %zu/%zu\n", n, good_id, nid, good_dec, n, good_both,
           n);

    free(buf);
    kefu_arena_free(&arena);

    return 0;
}


static int
eval_set_param(kefu_index_params_t *p, const char *kv)
{
    const char  *v;
    double       d;

    v = strchr(kv, '=');
    if (v == NULL) {
        return -1;
    }

    d = strtod(v + 1, NULL);

#define EVAL_P(name, type)                                                    \
    if (strncmp(kv, #name "=", strlen(#name) + 1) == 0) {                     \
        p->name = (type) d;                                                   \
        return 0;                                                             \
    }

    EVAL_P(w_uni, float)
    EVAL_P(w_stop, float)
    EVAL_P(w_bi, float)
    EVAL_P(w_word, float)
    EVAL_P(idf_pow, float)
    EVAL_P(doc_pow, float)
    EVAL_P(rare_df, uint32_t)
    EVAL_P(rare_ratio, float)
    EVAL_P(ctx_weight, float)
    EVAL_P(ctx_boost, float)
    EVAL_P(min_cand, uint32_t)
    EVAL_P(walk_budget, uint32_t)
    EVAL_P(rerank, uint32_t)
    EVAL_P(ctx_own, float)
    EVAL_P(calib_max, uint32_t)
    EVAL_P(calib_neg, float)

#undef EVAL_P

    return -1;
}


int
main(int argc, char **argv)
{
    int            i, j;
    size_t         limit;
    char           path[4096];
    int            verbose;
    double         high, low;
    const char    *data, *pairs, *kbfile, *probe;
    unsigned char *keep[3], *keeps[3][3];
    eval_set_t     set, all[3];
    eval_ctx_t     ec;
    static const struct {
        const char  *name;
        const char  *file;
        size_t       limit;
    } sets[] = {
        { "afqmc", "afqmc/train.txt", 3000 },
        { "bq", "bq/dev.csv", (size_t) -1 },
        { "lcqmc", "lcqmc/dev.txt", (size_t) -1 },
    };

    memset(&ec, 0, sizeof(ec));
    kefu_index_default_params(&ec.params);
    data = NULL;
    pairs = NULL;
    kbfile = NULL;
    probe = NULL;
    verbose = 0;
    high = 0.6;
    low = 0.35;
    limit = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            data = argv[++i];

        } else if (strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
            pairs = argv[++i];

        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = strtoul(argv[++i], NULL, 10);

        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            if (eval_set_param(&ec.params, argv[++i]) != 0) {
                fprintf(stderr, "kefu_eval: unknown --set %s\n", argv[i]);
                return 2;
            }

        } else if (strcmp(argv[i], "--fit") == 0) {
            ec.fit = 1;

        } else if (strcmp(argv[i], "--kb") == 0 && i + 1 < argc) {
            kbfile = argv[++i];

        } else if (strcmp(argv[i], "--probe") == 0 && i + 1 < argc) {
            probe = argv[++i];

        } else if (strcmp(argv[i], "--high") == 0 && i + 1 < argc) {
            high = strtod(argv[++i], NULL);

        } else if (strcmp(argv[i], "--low") == 0 && i + 1 < argc) {
            low = strtod(argv[++i], NULL);

        } else if (strcmp(argv[i], "-v") == 0) {
            verbose++;

        } else {
            fprintf(stderr, "usage: kefu_eval --data DIR [--pairs FILE]"
                    " [--limit N] [--set name=value]... [--fit]\n"
                    "       kefu_eval --kb KB --probe FILE [--high X]"
                    " [--low Y] [-v]\n");
            return 2;
        }
    }

    if (kbfile != NULL || probe != NULL) {
        if (kbfile == NULL || probe == NULL) {
            fprintf(stderr, "kefu_eval: --kb and --probe go together\n");
            return 2;
        }

        return eval_probe(kbfile, probe, high, low, verbose) == 0 ? 0 : 1;
    }

    if (data == NULL && pairs == NULL) {
        fprintf(stderr, "kefu_eval: --data DIR or --pairs FILE needed\n");
        return 2;
    }

    printf("%-7s %7s %6s %8s %7s  %-5s %-5s %-5s | %8s %7s  %-5s %-5s %-5s"
           " | %s\n", "set", "entries", "qs", "build_ms", "us/q", "top1",
           "top3", "mrr", "bm25_ms", "us/q", "top1", "top3", "mrr",
           "gain");

    if (pairs != NULL) {
        if (eval_load_pairs(pairs, limit ? limit : (size_t) -1, &set, keep)
            != 0)
        {
            return 1;
        }

        if (eval_run(&ec, "pairs", &set) != 0) {
            return 1;
        }

        eval_set_free(&set);

        for (i = 0; i < 3; i++) {
            free(keep[i]);
        }

    } else {
        for (i = 0; i < (int) (sizeof(sets) / sizeof(sets[0])); i++) {
            snprintf(path, sizeof(path), "%s/%s", data, sets[i].file);

            if (eval_load_pairs(path, limit ? limit : sets[i].limit, &set,
                                keep)
                != 0)
            {
                return 1;
            }

            if (eval_run(&ec, sets[i].name, &set) != 0) {
                return 1;
            }

            all[i] = set;
            memcpy(keeps[i], keep, sizeof(keep));
        }

        /* banking KBs against general questions and the other way */
        if (ec.fit
            && (eval_ood(&ec, &all[1], &all[2], 1000) != 0
                || eval_ood(&ec, &all[2], &all[1], 1000) != 0))
        {
            return 1;
        }

        kefu_arena_init(&ec.arena);

        if (eval_esun(data, &ec.arena.allocator, &set) != 0
            || eval_run(&ec, "esun", &set) != 0)
        {
            return 1;
        }

        eval_set_free(&set);
        kefu_arena_free(&ec.arena);

        printf("\nimplicit-feedback replay: %d simulated users ask every"
               " query; a clarify offering\nthe gold FAQ is tapped; pairs of"
               " %d users are adopted (learn_auto_adopt), then\nevery query"
               " is asked again (direct: answered without a clarify;"
               " precision: right\nshare of those; resolved: answered"
               " directly and right; first: the answer or\nfirst choice is"
               " right; each a share of the queries unless said)\n"
               "%-7s %6s %6s %6s  %-14s   %-14s   %-14s   %s\n",
               EVAL_USERS, EVAL_MIN_USERS, "set", "qs", "taps", "adopt",
               "direct", "precision", "resolved", "first");

        for (i = 0; i < 3; i++) {
            if (eval_replay(sets[i].name, &all[i]) != 0) {
                return 1;
            }
        }

        for (i = 0; i < 3; i++) {
            eval_set_free(&all[i]);
            free(keeps[i][0]);
            free(keeps[i][1]);
            free(keeps[i][2]);
        }

        printf("\nlearning protocol: top-1/top-3/MRR@10 of the groups' other"
               " members, before -> after one adopted similar question per"
               " group\n(pick: the adopted member is the first other member"
               " seen, or the medoid: the most\n similar to the rest of its"
               " group by character-bigram Dice; the others are asked)\n"
               "%-7s %-6s %6s %6s %6s  %-17s    %-17s  %5s | %s\n",
               "set", "pick", "groups", "adopt", "asked", "engine before",
               "engine after", "gain", "BM25 before -> after");

        for (j = 0; j < 2; j++) {
            for (i = 0; i < (int) (sizeof(sets) / sizeof(sets[0])); i++) {
                snprintf(path, sizeof(path), "%s/%s", data, sets[i].file);

                if (eval_learn(sets[i].name, path, j) != 0) {
                    return 1;
                }
            }
        }
    }

    if (ec.fit) {
        eval_fit(&ec);
    }

    free(ec.obs);

    return 0;
}
