/*
 * ngx_kefu: learned similar questions merged into a KB, and the export
 * of the merged KB as a KB file.  See kefu_learn.h.
 */

#include <stdio.h>

#include "kefu_learn.h"
#include "kefu_tap.h"


#define KEFU_LEARN_MAX_STRING  (256 * 1024)     /* as the KB loader */


static int kefu_learn_write(kefu_buf_t *out, const kefu_json_t *v,
    const kefu_kb_t *kb, int depth, long faq);
static void kefu_learn_similar(kefu_buf_t *out, const kefu_faq_t *f);


kefu_kb_t *
kefu_kb_merge(kefu_alloc_t *a, const kefu_kb_t *base,
    const kefu_learned_t *l, size_t n, uint64_t generation,
    unsigned char *kept)
{
    long                    e;
    size_t                  i, j, *extra;
    kefu_kb_t              *kb;
    kefu_faq_t             *f;
    kefu_str_t             *sim;
    kefu_arena_t            tmp;
    kefu_index_builder_t   *b;
    kefu_search_scratch_t  *s;
    unsigned char           ok1;
    unsigned char          *keep;

    kb = NULL;
    kefu_arena_init(&tmp);

    s = kefu_kb_scratch_create(&tmp.allocator, base);
    extra = kefu_calloc(&tmp.allocator, (base->nfaqs + 1) * sizeof(size_t));
    keep = kefu_alloc(&tmp.allocator, n + 1);
    if (s == NULL || extra == NULL || keep == NULL) {
        goto done;
    }

    for (i = 0; i < n; i++) {
        ok1 = 0;

        /* what the file holds already is not learned twice */
        if (l[i].faq < base->nfaqs && l[i].len <= KEFU_LEARN_MAX_LEN) {
            if (l[i].known) {
                ok1 = (l[i].known == 1);

            } else {
                e = kefu_kb_exact(base, s, l[i].text, l[i].len);
                ok1 = (e == -1);
            }
        }

        keep[i] = ok1;

        if (ok1) {
            extra[l[i].faq]++;
        }

        if (kept != NULL) {
            kept[i] = ok1;
        }
    }

    kb = kefu_alloc(a, sizeof(kefu_kb_t));
    if (kb == NULL) {
        goto done;
    }

    *kb = *base;
    kb->generation = generation;
    kb->faqs = kefu_alloc(a, base->nfaqs * sizeof(kefu_faq_t));
    if (kb->faqs == NULL) {
        kb = NULL;
        goto done;
    }

    memcpy(kb->faqs, base->faqs, base->nfaqs * sizeof(kefu_faq_t));

    for (i = 0; i < base->nfaqs; i++) {
        if (extra[i] == 0) {
            continue;
        }

        f = &kb->faqs[i];
        sim = kefu_alloc(a, (f->nsimilar + extra[i]) * sizeof(kefu_str_t));
        if (sim == NULL) {
            kb = NULL;
            goto done;
        }

        if (f->nsimilar) {
            memcpy(sim, f->similar, f->nsimilar * sizeof(kefu_str_t));
        }

        f->similar = sim;
    }

    for (i = 0; i < n; i++) {
        if (!keep[i]) {
            continue;
        }

        f = &kb->faqs[l[i].faq];
        sim = &f->similar[f->nsimilar++];
        sim->data = kefu_alloc(a, l[i].len + 1);
        if (sim->data == NULL) {
            kb = NULL;
            goto done;
        }

        memcpy(sim->data, l[i].text, l[i].len);
        sim->data[l[i].len] = '\0';
        sim->len = l[i].len;
        kb->text_bytes += l[i].len;
    }

    /* exactly what kefu_kb_load() does with a file holding them */
    b = kefu_index_builder_create(&tmp.allocator, kb->syn, NULL);
    if (b == NULL) {
        kb = NULL;
        goto done;
    }

    for (i = 0; i < kb->nfaqs; i++) {
        f = &kb->faqs[i];

        if (kefu_index_add(b, (uint32_t) i, f->question.data, f->question.len)
            != KEFU_OK)
        {
            kb = NULL;
            goto done;
        }

        for (j = 0; j < f->nsimilar; j++) {
            if (kefu_index_add(b, (uint32_t) i, f->similar[j].data,
                               f->similar[j].len)
                != KEFU_OK)
            {
                kb = NULL;
                goto done;
            }
        }
    }

    kb->index = kefu_index_build(b, a);
    if (kb->index == NULL) {
        kb = NULL;
    }

done:

    kefu_arena_free(&tmp);

    return kb;
}


long
kefu_kb_exact(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *q, size_t len)
{
    int         n;
    kefu_hit_t  hits[2];

    n = kefu_kb_search(kb, s, q, len, -1, hits, 2);
    if (n < 0) {
        return KEFU_LEARN_INVALID;
    }

    if (n == 0 || !hits[0].exact) {
        return -1;
    }

    return (long) hits[0].faq;
}


long
kefu_learn_auto_pick(const kefu_kb_t *kb, kefu_search_scratch_t *s,
    const unsigned char *pair, size_t len, uint64_t users,
    uint64_t min_users, kefu_str_t *q)
{
    long                  faq;
    const unsigned char  *tab;

    if (min_users < KEFU_LEARN_AUTO_MIN_USERS) {
        min_users = KEFU_LEARN_AUTO_MIN_USERS;
    }

    if (users < min_users) {
        return -1;
    }

    tab = memchr(pair, '\t', len);
    if (tab == NULL) {
        return -1;
    }

    faq = kefu_kb_find(kb, pair, (size_t) (tab - pair));
    if (faq < 0) {
        return -1;
    }

    q->data = (unsigned char *) tab + 1;
    q->len = (size_t) (pair + len - q->data);

    /* a question the tap may have cut (kefu_tap.h) is not the user's;
     * what the KB holds already, or what has no searchable text */
    if (q->len == 0 || q->len + 3 >= KEFU_TAP_MAX_Q
        || kefu_kb_exact(kb, s, q->data, q->len) != -1)
    {
        return -1;
    }

    return faq;
}


int
kefu_learn_key(kefu_alloc_t *tmp, const kefu_syn_t *syn,
    const unsigned char *q, size_t len, unsigned char *key16)
{
    size_t          i, j, n;
    uint32_t        k, *keys;
    uint64_t        h;
    kefu_tokens_t  *t;
    static const char  hex[] = "0123456789abcdef";

    t = kefu_tokens_create(tmp);
    if (t == NULL || kefu_tokenize(syn, q, len, t) != KEFU_OK
        || t->ntoks == 0)
    {
        return KEFU_ERROR;
    }

    keys = kefu_alloc(tmp, t->ntoks * sizeof(uint32_t));
    if (keys == NULL) {
        return KEFU_ERROR;
    }

    /* the term set, as the index sees a document: sorted, unique */
    n = 0;

    for (i = 0; i < t->ntoks; i++) {
        k = t->toks[i].key;

        for (j = n; j > 0 && keys[j - 1] > k; j--) {
            keys[j] = keys[j - 1];
        }

        if (j > 0 && keys[j - 1] == k) {
            memmove(&keys[j], &keys[j + 1], (n - j) * sizeof(uint32_t));
            continue;
        }

        keys[j] = k;
        n++;
    }

    h = 14695981039346656037ULL;

    for (i = 0; i < n; i++) {
        for (j = 0; j < 4; j++) {
            h ^= (keys[i] >> (8 * j)) & 0xff;
            h *= 1099511628211ULL;
        }
    }

    for (i = 0; i < 16; i++) {
        key16[i] = (unsigned char) hex[(h >> (60 - 4 * i)) & 0xf];
    }

    return KEFU_OK;
}


int
kefu_kb_export(kefu_alloc_t *tmp, const unsigned char *file, size_t len,
    const kefu_kb_t *kb, kefu_buf_t *out, char *err, size_t errlen)
{
    char                 jerr[256];
    size_t               i;
    kefu_json_t         *root, *faqs, *id;
    kefu_json_limits_t   lim;

    /* the loader's limits: what it accepted parses again */
    lim.max_depth = 8;
    lim.max_members = 1 << 22;
    lim.max_string = KEFU_LEARN_MAX_STRING;
    lim.max_nodes = 1 << 25;

    root = kefu_json_parse(tmp, file, len, &lim, jerr, sizeof(jerr));
    if (root == NULL) {
        snprintf(err, errlen, "the KB file no longer parses: %s", jerr);
        return KEFU_ERROR;
    }

    faqs = kefu_json_get(root, "faqs");

    if (root->type != KEFU_JSON_OBJECT || faqs == NULL
        || faqs->type != KEFU_JSON_ARRAY || faqs->n != kb->nfaqs)
    {
        snprintf(err, errlen, "the KB file changed since it was loaded");
        return KEFU_ERROR;
    }

    for (i = 0; i < faqs->n; i++) {
        id = kefu_json_get(faqs->items[i], "id");

        if (id == NULL || id->type != KEFU_JSON_STRING
            || id->str.len != kb->faqs[i].id.len
            || memcmp(id->str.data, kb->faqs[i].id.data, id->str.len) != 0)
        {
            snprintf(err, errlen, "the KB file changed since it was loaded");
            return KEFU_ERROR;
        }
    }

    if (kefu_learn_write(out, root, kb, 0, -1) != KEFU_OK) {
        snprintf(err, errlen, "cannot write the KB");
        return KEFU_ERROR;
    }

    kefu_buf_add(out, "\n", 1);

    if (out->failed) {
        snprintf(err, errlen, "out of memory");
        return KEFU_ERROR;
    }

    return KEFU_OK;
}


/*
 * Writes v; depth 0 is the top level, whose "faqs" items (depth 2) are
 * FAQs: each gets kb's similar list.  One FAQ per line keeps the export
 * diffable against the old file.
 */
static int
kefu_learn_write(kefu_buf_t *out, const kefu_json_t *v, const kefu_kb_t *kb,
    int depth, long faq)
{
    char    num[64];
    int     in_faqs, has_similar;
    size_t  i;

    switch (v->type) {

    case KEFU_JSON_NULL:
        kefu_buf_adds(out, "null");
        break;

    case KEFU_JSON_BOOL:
        kefu_buf_adds(out, v->boolean ? "true" : "false");
        break;

    case KEFU_JSON_NUMBER:
        if (v->is_int) {
            kefu_buf_add_int(out, (long long) v->integer);

        } else {
            snprintf(num, sizeof(num), "%.17g", v->number);
            kefu_buf_adds(out, num);
        }

        break;

    case KEFU_JSON_STRING:
        kefu_buf_add_json_str(out, v->str.data, v->str.len);
        break;

    case KEFU_JSON_ARRAY:
        in_faqs = (depth == 1 && faq == -2);
        kefu_buf_add(out, "[", 1);

        for (i = 0; i < v->n; i++) {
            if (i > 0) {
                kefu_buf_add(out, ",", 1);
            }

            if (in_faqs) {
                kefu_buf_add(out, "\n  ", 3);
            }

            if (kefu_learn_write(out, v->items[i], kb, depth + 1,
                                 in_faqs ? (long) i : -1)
                != KEFU_OK)
            {
                return KEFU_ERROR;
            }
        }

        if (in_faqs) {
            kefu_buf_add(out, "\n", 1);
        }

        kefu_buf_add(out, "]", 1);
        break;

    case KEFU_JSON_OBJECT:
        has_similar = 0;
        kefu_buf_add(out, "{", 1);

        for (i = 0; i < v->n; i++) {
            if (i > 0) {
                kefu_buf_add(out, depth == 0 ? ",\n" : ",",
                             depth == 0 ? 2 : 1);
            }

            kefu_buf_add_json_str(out, v->keys[i].data, v->keys[i].len);
            kefu_buf_add(out, ":", 1);

            if (faq >= 0 && v->keys[i].len == 7
                && memcmp(v->keys[i].data, "similar", 7) == 0)
            {
                kefu_learn_similar(out, &kb->faqs[faq]);
                has_similar = 1;
                continue;
            }

            if (kefu_learn_write(out, v->items[i], kb, depth + 1,
                                 depth == 0 && v->keys[i].len == 4
                                 && memcmp(v->keys[i].data, "faqs", 4) == 0
                                 ? -2 : -1)
                != KEFU_OK)
            {
                return KEFU_ERROR;
            }
        }

        if (faq >= 0 && !has_similar && kb->faqs[faq].nsimilar > 0) {
            kefu_buf_adds(out, v->n ? ",\"similar\":" : "\"similar\":");
            kefu_learn_similar(out, &kb->faqs[faq]);
        }

        kefu_buf_add(out, "}", 1);
        break;
    }

    return out->failed ? KEFU_ERROR : KEFU_OK;
}


static void
kefu_learn_similar(kefu_buf_t *out, const kefu_faq_t *f)
{
    size_t  i;

    kefu_buf_add(out, "[", 1);

    for (i = 0; i < f->nsimilar; i++) {
        if (i > 0) {
            kefu_buf_add(out, ",", 1);
        }

        kefu_buf_add_json_str(out, f->similar[i].data, f->similar[i].len);
    }

    kefu_buf_add(out, "]", 1);
}
